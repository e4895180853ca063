//! [`MessageFilter`]: holds each message until the transforms from its frame to the target
//! frames at its stamp are available, as tf2_ros's `MessageFilter`.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use tokio::time::Instant;

use super::{Buffer, Extrapolation, TfError};
use crate::filters::outbox::Outbox;
use crate::filters::{Filter, Input, Signal};
use crate::msg::Stamped;
use crate::time::Time;

/// The longest a held message's timeout is checked late (the timer's period at most).
const TIMEOUT_CHECK_PERIOD: Duration = Duration::from_millis(20);

/// Why a [`MessageFilter`] gave up on a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TfDropReason {
    /// `queue_size` messages were already waiting; the oldest one was pushed out.
    QueueOverflow,
    /// The message's `frame_id` is empty.
    EmptyFrameId,
    /// The stamp is before the oldest transform kept for a frame on the path (extrapolation
    /// into the past): that data will never arrive (tf2_ros: "out the back").
    TooOld,
    /// The timeout passed while the message's frame (or a target frame) was still unknown.
    UnknownFrame,
    /// The timeout passed while the transform was still unavailable (not connected, or no
    /// data yet at the stamp).
    Timeout,
    /// A lookup error that waiting cannot fix (a malformed frame id, a loop in the tree).
    InvalidFrame,
}

impl TfDropReason {
    /// Short stable name of the reason, for logs and counters.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::QueueOverflow => "queue_overflow",
            Self::EmptyFrameId => "empty_frame_id",
            Self::TooOld => "too_old",
            Self::UnknownFrame => "unknown_frame",
            Self::Timeout => "timeout",
            Self::InvalidFrame => "invalid_frame",
        }
    }
}

impl fmt::Display for TfDropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A message a [`MessageFilter`] dropped: its stamp and frame, why, and the last lookup error.
#[derive(Debug, Clone, PartialEq)]
pub struct TfDropEvent {
    /// The message's stamp.
    pub stamp: Time,
    /// The message's `frame_id`.
    pub frame_id: String,
    /// Why it was dropped.
    pub reason: TfDropReason,
    /// The last lookup error for it, naming frames and times (none for an overflow of a
    /// message never checked, or an empty frame id).
    pub error: Option<TfError>,
}

/// Counters of a [`MessageFilter`] since it was created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TfFilterStats {
    /// Messages added.
    pub received: u64,
    /// Messages passed on.
    pub passed: u64,
    /// Messages dropped, per reason.
    pub dropped: HashMap<TfDropReason, u64>,
    /// Messages waiting now.
    pub pending: usize,
}

impl TfFilterStats {
    /// Messages dropped in total.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.values().sum()
    }

    /// Messages dropped for `reason`.
    pub fn dropped_for(&self, reason: TfDropReason) -> u64 {
        self.dropped.get(&reason).copied().unwrap_or(0)
    }
}

/// A message waiting for its transforms.
struct Held<M> {
    msg: Arc<M>,
    arrived: Instant,
    last_error: Option<TfError>,
}

enum Output<M> {
    Pass(Arc<M>),
    Drop(TfDropEvent),
}

struct State<M> {
    held: VecDeque<Held<M>>,
    stats: TfFilterStats,
}

type DropCallback = Arc<dyn Fn(&TfDropEvent) + Send + Sync>;

struct Shared<M> {
    buffer: Buffer,
    targets: Vec<String>,
    tolerance_ns: i64,
    timeout: Option<Duration>,
    queue_size: usize,
    signal: Signal<M>,
    state: Mutex<State<M>>,
    outbox: Outbox<Output<M>>,
    on_drop: Mutex<Vec<DropCallback>>,
}

/// What a check found for one message.
enum Verdict {
    Ready,
    Wait(TfError),
    Drop(TfDropReason, Option<TfError>),
}

impl<M: Stamped + Send + Sync + 'static> Shared<M> {
    fn lock(&self) -> MutexGuard<'_, State<M>> {
        crate::lock::lock(&self.state)
    }

    /// Whether every target frame can be reached from `msg`'s frame at its stamp (plus the
    /// tolerance).
    fn check(&self, msg: &M) -> Verdict {
        let frame = msg.frame_id();
        if frame.is_empty() {
            return Verdict::Drop(TfDropReason::EmptyFrameId, None);
        }
        let time = Time::from_nanos(msg.stamp().as_nanos().saturating_add(self.tolerance_ns));
        for target in &self.targets {
            match self.buffer.check_transform(target, frame, time) {
                Ok(()) => {}
                Err(
                    e @ TfError::Extrapolation {
                        kind: Extrapolation::Past { .. },
                        ..
                    },
                ) => return Verdict::Drop(TfDropReason::TooOld, Some(e)),
                Err(e) if e.may_resolve_later() => return Verdict::Wait(e),
                Err(e) => return Verdict::Drop(TfDropReason::InvalidFrame, Some(e)),
            }
        }
        Verdict::Ready
    }

    /// Queues a drop for delivery and counts it.
    fn drop_msg(
        &self,
        state: &mut State<M>,
        msg: &M,
        reason: TfDropReason,
        error: Option<TfError>,
    ) {
        *state.stats.dropped.entry(reason).or_insert(0) += 1;
        self.outbox.push(Output::Drop(TfDropEvent {
            stamp: msg.stamp(),
            frame_id: msg.frame_id().to_string(),
            reason,
            error,
        }));
    }

    /// Checks a new message: passes it on, drops it, or holds it (pushing out the oldest
    /// held message over `queue_size`). Held messages are checked first, so that of messages
    /// ready at the same time the older leave first (a synchronizer downstream would drop an
    /// older stamp arriving after a newer set).
    fn add(&self, msg: Arc<M>) {
        {
            let mut state = self.lock();
            let state = &mut *state;
            let now = Instant::now();
            if !state.held.is_empty() {
                self.recheck_held(state, now);
            }
            state.stats.received += 1;
            match self.check(&msg) {
                Verdict::Ready => {
                    state.stats.passed += 1;
                    self.outbox.push(Output::Pass(msg));
                }
                Verdict::Drop(reason, error) => self.drop_msg(state, &msg, reason, error),
                Verdict::Wait(error) => {
                    state.held.push_back(Held {
                        msg,
                        arrived: now,
                        last_error: Some(error),
                    });
                    if state.held.len() > self.queue_size {
                        if let Some(oldest) = state.held.pop_front() {
                            self.drop_msg(
                                state,
                                &oldest.msg,
                                TfDropReason::QueueOverflow,
                                oldest.last_error,
                            );
                        }
                    }
                }
            }
        }
        self.dispatch();
    }

    /// Checks every held message again (transforms arrived, or time passed), then emits.
    fn recheck(&self, now: Instant) {
        self.recheck_held(&mut self.lock(), now);
        self.dispatch();
    }

    /// Passes on the held messages that are ready, in arrival order, and drops the hopeless
    /// and the timed-out ones.
    fn recheck_held(&self, state: &mut State<M>, now: Instant) {
        let held = std::mem::take(&mut state.held);
        for mut h in held {
            match self.check(&h.msg) {
                Verdict::Ready => {
                    state.stats.passed += 1;
                    self.outbox.push(Output::Pass(h.msg));
                }
                Verdict::Drop(reason, error) => self.drop_msg(state, &h.msg, reason, error),
                Verdict::Wait(error) => {
                    let expired = self
                        .timeout
                        .is_some_and(|t| now.saturating_duration_since(h.arrived) >= t);
                    if expired {
                        let reason = match error {
                            TfError::UnknownFrame { .. } => TfDropReason::UnknownFrame,
                            _ => TfDropReason::Timeout,
                        };
                        self.drop_msg(state, &h.msg, reason, Some(error));
                    } else {
                        h.last_error = Some(error);
                        state.held.push_back(h);
                    }
                }
            }
        }
    }

    /// Emits queued output in order, unless another call is already doing so.
    fn dispatch(&self) {
        self.outbox.dispatch(|next| match next {
            Output::Pass(msg) => self.signal.emit(&msg),
            Output::Drop(event) => {
                tracing::debug!(
                    frame = %event.frame_id,
                    stamp = event.stamp.as_nanos(),
                    reason = %event.reason,
                    "tf message filter dropped a message"
                );
                let callbacks = crate::lock::lock(&self.on_drop).clone();
                for callback in callbacks {
                    callback(&event);
                }
            }
        });
    }
}

/// Configures a [`MessageFilter`]; [`build`](Self::build) starts it.
pub struct MessageFilterBuilder<M> {
    buffer: Buffer,
    targets: Vec<String>,
    queue_size: usize,
    tolerance: Duration,
    timeout: Option<Duration>,
    _type: PhantomData<fn() -> M>,
}

impl<M> fmt::Debug for MessageFilterBuilder<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageFilterBuilder")
            .field("targets", &self.targets)
            .field("queue_size", &self.queue_size)
            .field("tolerance", &self.tolerance)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl<M: Stamped + Send + Sync + 'static> MessageFilterBuilder<M> {
    /// How many messages may wait at once (default 10, at least 1); over it the oldest is
    /// dropped ([`TfDropReason::QueueOverflow`]).
    pub fn queue_size(mut self, queue_size: usize) -> Self {
        self.queue_size = queue_size.max(1);
        self
    }

    /// Waits for the transforms at `stamp + tolerance` instead of `stamp` (default 0), so
    /// that data a little past each message is available too, as tf2_ros's `setTolerance`.
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Drops a message still waiting `timeout` after it arrived (default: never; it then
    /// waits until pushed out of the queue), as tf2_ros's `buffer_timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Starts the filter. Inside a tokio runtime it re-checks held messages whenever the
    /// buffer changes and expires them on time; outside one it warns and re-checks only when
    /// a message is added.
    pub fn build(self) -> MessageFilter<M> {
        let shared = Arc::new(Shared {
            buffer: self.buffer,
            targets: self.targets,
            tolerance_ns: i64::try_from(self.tolerance.as_nanos()).unwrap_or(i64::MAX),
            timeout: self.timeout,
            queue_size: self.queue_size,
            signal: Signal::new(),
            state: Mutex::new(State {
                held: VecDeque::new(),
                stats: TfFilterStats::default(),
            }),
            outbox: Outbox::new(),
            on_drop: Mutex::new(Vec::new()),
        });
        // Subscribed before any message can be added, so no change is missed while the task
        // has not started yet.
        let changes = shared.buffer.subscribe_changes();
        let task = match tokio::runtime::Handle::try_current() {
            Ok(runtime) => Some(runtime.spawn(watch(Arc::downgrade(&shared), changes))),
            Err(_) => {
                tracing::warn!(
                    "tf MessageFilter created outside a tokio runtime: held messages are \
                     checked again only when a message is added"
                );
                None
            }
        };
        MessageFilter { shared, task }
    }
}

/// Holds each message until the transform from its `frame_id` to every target frame at its
/// stamp is available in a [`Buffer`], then passes it on (as tf2_ros's `MessageFilter`).
///
/// Feed it from any filter ([`crate::filters::connect_input`]) or with [`Input::add`]; its
/// output is a [`Filter`], so it can feed a synchronizer input: "image + camera info +
/// transform available" is one chain. Every message it gives up on is reported with its
/// reason ([`on_drop`](Self::on_drop), [`stats`](Self::stats)): queue overflow, too old
/// (before the buffer's history), unknown frame or timeout (when a timeout is set), empty or
/// invalid frame id. A message is checked when added and again each time the buffer
/// changes; no lock is held while callbacks run.
///
/// ```
/// use std::sync::Arc;
/// use rosync::filters::{Filter, Input};
/// use rosync::msg::{geometry_msgs::TransformStamped, std_msgs::Header};
/// use rosync::tf::{Buffer, MessageFilter};
/// use rosync::Time;
///
/// let buffer = Buffer::default();
/// let filter = MessageFilter::builder(buffer.clone(), ["base_link"]).queue_size(5).build();
/// let _print = filter.connect(|h: &Arc<Header>| println!("{} at {:?} is ready", h.frame_id, h.stamp));
/// filter.add(Arc::new(Header { stamp: Time { sec: 1, nanosec: 0 }, frame_id: "camera".into() }));
/// assert_eq!(filter.stats().pending, 1); // no camera -> base_link transform yet
/// ```
pub struct MessageFilter<M: Stamped + Send + Sync + 'static> {
    shared: Arc<Shared<M>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl<M: Stamped + Send + Sync + 'static> MessageFilter<M> {
    /// Starts configuring a filter waiting for transforms into each of `target_frames`.
    pub fn builder<I, S>(buffer: Buffer, target_frames: I) -> MessageFilterBuilder<M>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        MessageFilterBuilder {
            buffer,
            targets: target_frames.into_iter().map(Into::into).collect(),
            queue_size: 10,
            tolerance: Duration::ZERO,
            timeout: None,
            _type: PhantomData,
        }
    }

    /// Calls `f` with every dropped message.
    pub fn on_drop(&self, f: impl Fn(&TfDropEvent) + Send + Sync + 'static) {
        crate::lock::lock(&self.shared.on_drop).push(Arc::new(f));
    }

    /// The counters so far.
    pub fn stats(&self) -> TfFilterStats {
        let state = self.shared.lock();
        let mut stats = state.stats.clone();
        stats.pending = state.held.len();
        stats
    }

    /// The target frames.
    pub fn target_frames(&self) -> &[String] {
        &self.shared.targets
    }

    /// Checks every held message now (the filter's task does this whenever the buffer
    /// changes; call it to drive a filter without a runtime).
    pub fn recheck(&self) {
        self.shared.recheck(Instant::now());
    }
}

/// The filter's task: re-checks held messages on every buffer change, and expires them.
async fn watch<M: Stamped + Send + Sync + 'static>(
    shared: Weak<Shared<M>>,
    mut changes: tokio::sync::watch::Receiver<u64>,
) {
    let timeout = match shared.upgrade() {
        Some(s) => s.timeout,
        None => return,
    };
    let period = timeout.map_or(TIMEOUT_CHECK_PERIOD, |t| (t / 4).min(TIMEOUT_CHECK_PERIOD));
    let mut tick = tokio::time::interval(period.max(Duration::from_millis(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            changed = changes.changed() => if changed.is_err() { return },
            _ = tick.tick(), if timeout.is_some() => {}
        }
        let Some(shared) = shared.upgrade() else {
            return;
        };
        if shared.lock().held.is_empty() {
            continue;
        }
        shared.recheck(Instant::now());
    }
}

impl<M: Stamped + Send + Sync + 'static> Drop for MessageFilter<M> {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl<M: Stamped + Send + Sync + 'static> fmt::Debug for MessageFilter<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageFilter")
            .field("targets", &self.shared.targets)
            .field("stats", &self.stats())
            .finish()
    }
}

impl<M: Stamped + Send + Sync + 'static> Input<M> for MessageFilter<M> {
    /// Passes `msg` on at once if its transforms are available, else holds it.
    fn add(&self, msg: Arc<M>) {
        self.shared.add(msg);
    }
}

impl<M: Stamped + Send + Sync + 'static> Filter<M> for MessageFilter<M> {
    fn signal(&self) -> &Signal<M> {
        &self.shared.signal
    }
}
