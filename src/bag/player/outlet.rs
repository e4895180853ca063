//! [`Outlet`]: a topic's publishing thread, so handing a big message to zenoh (a copy into
//! shared memory or onto the network, which a loaded machine can stretch to milliseconds)
//! never delays the next message's instant on the scheduling thread.
//!
//! The scheduling thread hands a message over at its instant; the outlet publishes the
//! messages of its topic in the order handed over, measuring each one's schedule error (the
//! instant it starts handing the payload to zenoh minus the scheduled instant) and publish
//! time. Its queue is bounded in messages and bytes: when full, the scheduling thread waits
//! for room (playback is reliable, nothing is dropped) and the wait is counted.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Instant;

use super::publish::Tally;
use crate::bag::BagMessage;
use crate::lock::{lock, wait};
use crate::node::RawPublisher;

/// Messages at least this long go through their topic's outlet.
pub(crate) const OUTLET_MIN_BYTES: usize = 64 * 1024;
/// Outlet bound: payload bytes queued on one topic.
const OUTLET_BYTES: usize = 32 << 20;
/// Outlet bound: messages queued on one topic.
const OUTLET_MESSAGES: usize = 256;

#[derive(Default)]
struct State {
    /// Messages waiting, with the instant each was due (`None`: not measured).
    items: VecDeque<(BagMessage, Option<Instant>)>,
    bytes: usize,
    /// A message is being handed to zenoh.
    busy: bool,
    closed: bool,
    /// The thread ended (a panic included): nothing waits for room any more.
    gone: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

/// One topic's publishing thread; see the [module docs](self).
pub(crate) struct Outlet {
    shared: Arc<Shared>,
    thread: JoinHandle<Tally>,
}

impl Outlet {
    /// Starts the thread publishing on `publisher`.
    pub fn start(publisher: Arc<RawPublisher>) -> std::io::Result<Self> {
        let shared = Arc::new(Shared::default());
        let runtime = tokio::runtime::Handle::try_current().ok();
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("rosync-play-pub".into())
                .spawn(move || {
                    let _gone = Gone(&shared);
                    let _runtime = runtime.as_ref().map(|r| r.enter());
                    super::timing::wake_on_time();
                    drain(&shared, &publisher)
                })?
        };
        Ok(Self { shared, thread })
    }

    /// Whether everything handed over was published (the next message of the topic may be
    /// published by the caller without overtaking one).
    pub fn is_idle(&self) -> bool {
        let state = self.shared.lock();
        state.items.is_empty() && !state.busy
    }

    /// Queues `message` (due at `due`), waiting while the queue is full; returns whether it
    /// had to wait.
    pub fn hand_over(&self, message: BagMessage, due: Option<Instant>) -> bool {
        let size = message.data.len();
        let mut state = self.shared.lock();
        let mut waited = false;
        while !state.gone
            && !state.items.is_empty()
            && (state.bytes + size > OUTLET_BYTES || state.items.len() >= OUTLET_MESSAGES)
        {
            waited = true;
            state = wait(&self.shared.changed, state);
        }
        state.bytes += size;
        state.items.push_back((message, due));
        self.shared.changed.notify_all();
        waited
    }

    /// Publishes what is queued, ends the thread and returns what it published.
    pub fn finish(self) -> Tally {
        self.shared.lock().closed = true;
        self.shared.changed.notify_all();
        self.thread.join().unwrap_or_else(|_| {
            let state = self.shared.lock();
            let lost = state.items.len() as u64 + u64::from(state.busy);
            tracing::warn!("a player publishing thread panicked; {lost} messages not published");
            let mut tally = Tally::default();
            tally.failures = lost;
            tally
        })
    }
}

/// Marks the outlet's thread ended when it returns or unwinds, waking a caller waiting for
/// room.
struct Gone<'a>(&'a Shared);

impl Drop for Gone<'_> {
    fn drop(&mut self) {
        self.0.lock().gone = true;
        self.0.changed.notify_all();
    }
}

/// The thread: publishes the queued messages in order until closed and empty.
fn drain(shared: &Shared, publisher: &RawPublisher) -> Tally {
    let mut tally = Tally::default();
    loop {
        let (message, due) = {
            let mut state = shared.lock();
            state.busy = false;
            shared.changed.notify_all();
            loop {
                if let Some(item) = state.items.pop_front() {
                    state.bytes -= item.0.data.len();
                    state.busy = true;
                    shared.changed.notify_all();
                    break item;
                }
                if state.closed {
                    return tally;
                }
                state = wait(&shared.changed, state);
            }
        };
        tally.publish(publisher, message, due);
    }
}
