//! [`TimeSequencer`]: delays messages and releases them in stamp order, like ROS 1
//! `message_filters::TimeSequencer`.
//!
//! A message with stamp `s` is released once the sequencer's clock reaches `s + delay`: the
//! system clock by default, the node's clock with [`TimeSequencer::with_clock`] (so a
//! `use_sim_time` node delays by the played log's time). Releases are checked every
//! `update_rate` of wall time by a tokio task and on every [`add`](Input::add); tests can
//! drive them deterministically with [`TimeSequencer::release_until`]. When the clock jumps
//! back (a looped log), the "older than the last released" rule restarts.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use super::outbox::Outbox;
use super::signal::Signal;
use super::traits::{Filter, Input};
use crate::msg::Stamped;
use crate::node::Clock;
use crate::time::Time;

/// The shortest timer period; tokio's timer has millisecond resolution anyway.
const MIN_UPDATE_RATE: Duration = Duration::from_millis(1);

struct State<M> {
    /// Messages not yet due, sorted by stamp (equal stamps in arrival order).
    waiting: VecDeque<(Time, Arc<M>)>,
    /// The stamp of the last released message; older arrivals are dropped.
    last_released: Option<Time>,
    /// The clock's backward jumps already seen (a new one forgets `last_released`).
    jumps_seen: u64,
}

struct Shared<M> {
    signal: Signal<M>,
    delay_ns: i64,
    queue_size: usize,
    state: Mutex<State<M>>,
    /// Released messages not yet emitted, in release order.
    outbox: Outbox<Arc<M>>,
    dropped: AtomicU64,
    clock: Clock,
}

impl<M> Shared<M> {
    /// Locks the state; no callback ever runs under this lock.
    fn lock(&self) -> MutexGuard<'_, State<M>> {
        crate::lock::lock(&self.state)
    }

    /// Moves every message due at `now_ns` to the outbox, then emits the outbox in order.
    fn release_until(&self, now_ns: i64) {
        {
            let mut state = self.lock();
            while let Some((stamp, _)) = state.waiting.front() {
                if stamp.as_nanos().saturating_add(self.delay_ns) > now_ns {
                    break;
                }
                let Some((stamp, msg)) = state.waiting.pop_front() else {
                    break;
                };
                state.last_released = Some(stamp);
                self.outbox.push(msg);
            }
        }
        // Another call (possibly one up this very stack, from a callback) may be emitting:
        // it emits these too, after the earlier ones.
        self.outbox.dispatch(|msg| self.signal.emit(&msg));
    }
}

/// Holds messages for `delay` past their stamp, then passes them on in stamp order.
///
/// Create it inside a tokio runtime: it spawns the task that checks for due messages every
/// `update_rate`, which stops when the sequencer is dropped. Created outside a runtime it
/// logs a warning and has no timer; messages are then released only by `add` and
/// [`release_until`](TimeSequencer::release_until).
pub struct TimeSequencer<M: Stamped> {
    shared: Arc<Shared<M>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl<M: Stamped + Send + Sync + 'static> TimeSequencer<M> {
    /// Creates a sequencer that releases a message `delay` after its stamp, checking every `update_rate`.
    ///
    /// `queue_size` bounds the messages held (at least 1; unlike ROS, 0 does not mean
    /// unbounded). `update_rate` is at least 1 ms.
    pub fn new(delay: Duration, update_rate: Duration, queue_size: usize) -> Self {
        Self::with_clock(delay, update_rate, queue_size, Clock::system())
    }

    /// As [`new`](Self::new), with messages due on `clock`'s time (e.g. `node.clock()`).
    pub fn with_clock(
        delay: Duration,
        update_rate: Duration,
        queue_size: usize,
        clock: Clock,
    ) -> Self {
        let shared = Arc::new(Shared {
            signal: Signal::new(),
            delay_ns: i64::try_from(delay.as_nanos()).unwrap_or(i64::MAX),
            queue_size: queue_size.max(1),
            state: Mutex::new(State {
                waiting: VecDeque::new(),
                last_released: None,
                jumps_seen: clock.jumps_back(),
            }),
            outbox: Outbox::new(),
            dropped: AtomicU64::new(0),
            clock,
        });
        let task = match tokio::runtime::Handle::try_current() {
            Ok(runtime) => Some(runtime.spawn(tick(
                Arc::downgrade(&shared),
                update_rate.max(MIN_UPDATE_RATE),
            ))),
            Err(_) => {
                tracing::warn!(
                    "TimeSequencer created outside a tokio runtime: no timer, messages are \
                     released only when added or by release_until"
                );
                None
            }
        };
        Self { shared, task }
    }

    /// Releases, in stamp order, every held message with `stamp + delay <= now_ns`.
    ///
    /// The timer task calls this with the sequencer's clock; call
    /// it directly to drive the sequencer with any clock. If another thread is already
    /// emitting, that thread emits these messages too, after its own, and this call
    /// returns without waiting.
    pub fn release_until(&self, now_ns: i64) {
        self.shared.release_until(now_ns);
    }

    /// How many messages were dropped: older than the last released one, or over `queue_size`.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }
}

/// The timer: releases due messages every `period` until the sequencer is gone.
async fn tick<M>(shared: Weak<Shared<M>>, period: Duration) {
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        shared.release_until(shared.clock.now_nanos());
    }
}

impl<M: Stamped> Drop for TimeSequencer<M> {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl<M: Stamped> fmt::Debug for TimeSequencer<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let waiting = self.shared.lock().waiting.len();
        f.debug_struct("TimeSequencer")
            .field("delay_ns", &self.shared.delay_ns)
            .field("queue_size", &self.shared.queue_size)
            .field("waiting", &waiting)
            .field("dropped", &self.shared.dropped.load(Ordering::Relaxed))
            .finish()
    }
}

impl<M: Stamped + Send + Sync + 'static> Input<M> for TimeSequencer<M> {
    /// Holds `msg` until it is due, then releases whatever is due now.
    ///
    /// A message older than the last released one is dropped (one with the same stamp is
    /// kept, as in ROS). Over `queue_size`, the oldest held message is dropped; ROS drops
    /// every message sharing that oldest stamp, this drops exactly one.
    fn add(&self, msg: Arc<M>) {
        let stamp = msg.stamp();
        {
            let mut state = self.shared.lock();
            let jumps = self.shared.clock.jumps_back();
            if jumps != state.jumps_seen {
                state.jumps_seen = jumps;
                state.last_released = None;
            }
            if state.last_released.is_some_and(|last| stamp < last) {
                drop(state);
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(
                    stamp = stamp.as_nanos(),
                    "TimeSequencer dropped a message older than the last released one"
                );
            } else {
                let at = state.waiting.partition_point(|(s, _)| *s <= stamp);
                state.waiting.insert(at, (stamp, msg));
                if state.waiting.len() > self.shared.queue_size {
                    state.waiting.pop_front();
                    self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        self.shared.release_until(self.shared.clock.now_nanos());
    }
}

impl<M: Stamped + Send + Sync + 'static> Filter<M> for TimeSequencer<M> {
    fn signal(&self) -> &Signal<M> {
        &self.shared.signal
    }
}
