//! The [`Outbox`]: the subscribers' side of the buffer to the writer thread, and the
//! [`Inbox`], the writer's side. Subscribers append each message to one pending [`Batch`]
//! (a small payload is copied into the batch's contiguous buffer, so no zenoh receive buffer
//! stays held; a large one is shared, not copied); the writer thread swaps the whole batch out
//! at each wake-up and writes it, instead of receiving one channel message per sample.
//!
//! The buffer is bounded in messages and in payload bytes: the pending batch and the batch the
//! writer is writing count together until the writer has written it. A message that does not
//! fit is dropped and counted for its topic. It is the recorder's only buffer before the
//! writer's open chunk, so its byte budget bounds what a kill can lose.
//!
//! Wake-ups: a subscriber wakes the writer only when the writer sleeps on an empty buffer.
//! After writing a batch the writer lingers [`LINGER`] before looking again, unless 4096
//! messages or 1 MiB already wait, so under a steady stream of small messages they gather into
//! batches without a wake-up (a system call) per message.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::topic::RecordedTopic;
use crate::lock::{lock, wait_timeout};

/// Payloads up to this size are copied into the batch's buffer; larger ones (which zenoh
/// reassembles into a buffer of their own) are shared.
pub(crate) const INLINE_MAX: usize = 64 * 1024;

/// How long the writer waits after a batch before taking the next, when that batch was small:
/// under a stream of small messages this turns a wake-up per message into one per [`LINGER`].
pub(crate) const LINGER: Duration = Duration::from_millis(1);

/// A batch of this many messages, or [`FULL_BATCH_BYTES`], is taken at once, without lingering.
const FULL_BATCH: usize = 4096;

/// See [`FULL_BATCH`]: a waiting image is taken at once.
const FULL_BATCH_BYTES: usize = 1024 * 1024;

/// The writer gives back the room of written messages once they are this many, or hold
/// [`RELEASE_BYTES`], so a large batch (a backlog after a stall, a few big images) does not
/// hold the whole bound until its last message is written.
pub(crate) const RELEASE_EVERY: usize = 1024;

/// See [`RELEASE_EVERY`]: every large message (an image) gives back its room once written.
pub(crate) const RELEASE_BYTES: usize = 1024 * 1024;

/// A received payload as handed to [`Outbox::send`].
pub(crate) enum Incoming<'a> {
    /// Copied into the batch's buffer (for payloads up to [`INLINE_MAX`] bytes).
    Copy(&'a [u8]),
    /// Kept as it is (for larger payloads, already in a buffer of their own).
    Share(Bytes),
}

impl Incoming<'_> {
    /// Its size in bytes.
    fn len(&self) -> usize {
        match self {
            Self::Copy(bytes) => bytes.len(),
            Self::Share(bytes) => bytes.len(),
        }
    }
}

/// Where a message's bytes are.
enum Payload {
    /// `len` bytes at `start` in the batch's buffer.
    Inline { start: usize, len: usize },
    /// A large payload, shared with zenoh's buffer.
    Shared(Bytes),
}

/// One message waiting for the writer.
pub(crate) struct Entry {
    /// Its topic.
    pub topic: Arc<RecordedTopic>,
    /// Receive time, ns since the epoch.
    pub log_time: u64,
    /// Publish time (the publisher's source timestamp), ns since the epoch.
    pub publish_time: u64,
    payload: Payload,
}

/// Messages in arrival order, small payloads in one contiguous buffer.
#[derive(Default)]
pub(crate) struct Batch {
    data: Vec<u8>,
    entries: Vec<Entry>,
    /// Payload bytes of `entries` (inline and shared).
    bytes: usize,
}

impl Batch {
    /// The messages with their payloads, in arrival order.
    pub fn iter(&self) -> impl Iterator<Item = (&Entry, &[u8])> {
        self.entries.iter().map(|e| {
            let payload = match &e.payload {
                Payload::Inline { start, len } => &self.data[*start..*start + *len],
                Payload::Shared(bytes) => &bytes[..],
            };
            (e, payload)
        })
    }

    /// How many messages it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds no message.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Empties it, keeping its allocations for reuse.
    fn clear(&mut self) {
        self.data.clear();
        self.entries.clear();
        self.bytes = 0;
    }

    /// Copies `payload` into the buffer, growing it by doubling but never past `max_bytes`
    /// (or one payload when a single one is larger), so each buffer's allocation is bounded.
    fn append_inline(&mut self, payload: &[u8], max_bytes: usize) -> Payload {
        let start = self.data.len();
        let needed = start + payload.len();
        if needed > self.data.capacity() {
            let target = (self.data.capacity() * 2)
                .max(needed)
                .max(16 * 1024)
                .min(max_bytes.max(needed));
            self.data.reserve_exact(target - start);
        }
        self.data.extend_from_slice(payload);
        Payload::Inline {
            start,
            len: payload.len(),
        }
    }
}

/// The buffer's state, under one lock.
struct State {
    /// Messages not yet taken by the writer.
    pending: Batch,
    /// Messages and bytes of the batch the writer holds (still counted against the bounds).
    writing: (usize, usize),
    /// The writer sleeps on an empty buffer and must be woken.
    waiting: bool,
    /// Live [`Outbox`] handles: none left means no message can come any more.
    senders: usize,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    capacity: usize,
    max_bytes: usize,
}

/// The subscribers' handle on the buffer to the writer, bounded in messages and in bytes.
pub(crate) struct Outbox {
    shared: Arc<Shared>,
}

/// The writer thread's handle on the bounds: gives back the room of written messages.
pub(crate) struct Progress(Arc<Shared>);

/// The writer thread's handle: takes the pending batch.
pub(crate) struct Inbox {
    shared: Arc<Shared>,
    /// The batch being written (empty when none); swapped with the pending one.
    current: Batch,
}

/// What [`Inbox::take`] found.
pub(crate) enum Taken<'a> {
    /// Messages to write (at least one).
    Batch(&'a Batch),
    /// None within the timeout.
    Timeout,
    /// None, and none can come: every [`Outbox`] handle is gone.
    Closed,
}

impl Outbox {
    /// A buffer of at most `capacity` messages and `max_bytes` payload bytes, and the writer's
    /// end of it.
    pub fn new(capacity: usize, max_bytes: usize) -> (Self, Inbox) {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                pending: Batch::default(),
                writing: (0, 0),
                waiting: false,
                senders: 1,
            }),
            wake: Condvar::new(),
            capacity: capacity.max(1),
            max_bytes,
        });
        let inbox = Inbox {
            shared: Arc::clone(&shared),
            current: Batch::default(),
        };
        (Self { shared }, inbox)
    }

    /// Appends a message for the writer (true), or counts it as dropped if the buffer is full
    /// in messages or bytes (false). A message larger than the whole byte budget passes when
    /// nothing else is buffered.
    pub fn send(
        &self,
        topic: &Arc<RecordedTopic>,
        log_time: u64,
        publish_time: u64,
        payload: Incoming<'_>,
    ) -> bool {
        let size = payload.len();
        let limits = &self.shared;
        let mut state = lock(&limits.state);
        let (count, bytes) = (
            state.pending.len() + state.writing.0,
            state.pending.bytes + state.writing.1,
        );
        if count >= limits.capacity || (count > 0 && bytes.saturating_add(size) > limits.max_bytes)
        {
            drop(state);
            topic.dropped_buffer_full.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        let payload = match payload {
            Incoming::Copy(bytes) => state.pending.append_inline(bytes, limits.max_bytes),
            Incoming::Share(bytes) => Payload::Shared(bytes),
        };
        state.pending.entries.push(Entry {
            topic: Arc::clone(topic),
            log_time,
            publish_time,
            payload,
        });
        state.pending.bytes += size;
        let wake = std::mem::take(&mut state.waiting);
        drop(state);
        if wake {
            limits.wake.notify_one();
        }
        true
    }
}

impl Clone for Outbox {
    fn clone(&self) -> Self {
        lock(&self.shared.state).senders += 1;
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        let mut state = lock(&self.shared.state);
        state.senders -= 1;
        if state.senders == 0 {
            drop(state);
            self.shared.wake.notify_all();
        }
    }
}

impl Progress {
    /// Gives back the room of `messages` written messages of `bytes` payload bytes, from the
    /// batch the writer holds.
    pub fn written(&self, messages: usize, bytes: usize) {
        let mut state = lock(&self.0.state);
        state.writing.0 = state.writing.0.saturating_sub(messages);
        state.writing.1 = state.writing.1.saturating_sub(bytes);
    }
}

impl Inbox {
    /// A handle to give back room while writing the batch [`take`](Self::take) returned.
    pub fn progress(&self) -> Progress {
        Progress(Arc::clone(&self.shared))
    }

    /// Releases the batch written since the last call and takes the pending messages: at
    /// once when there are many, after [`LINGER`] when there are few, or waiting up to
    /// `timeout` for the first one.
    pub fn take(&mut self, timeout: Duration) -> Taken<'_> {
        let shared = Arc::clone(&self.shared);
        let had_batch = !self.current.is_empty();
        self.current.clear();
        let mut state = lock(&shared.state);
        state.writing = (0, 0);
        let full = state.pending.len() >= FULL_BATCH || state.pending.bytes >= FULL_BATCH_BYTES;
        if !full && (had_batch || !state.pending.is_empty()) {
            // A stream is going on: let it gather instead of taking a message or two.
            drop(state);
            std::thread::sleep(LINGER);
            state = lock(&shared.state);
        }
        let deadline = Instant::now() + timeout;
        while state.pending.is_empty() {
            if state.senders == 0 {
                return Taken::Closed;
            }
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return Taken::Timeout;
            };
            state.waiting = true;
            state = wait_timeout(&shared.wake, state, left);
        }
        state.waiting = false;
        std::mem::swap(&mut state.pending, &mut self.current);
        state.writing = (self.current.len(), self.current.bytes);
        drop(state);
        Taken::Batch(&self.current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(name: &str) -> Arc<RecordedTopic> {
        Arc::new(RecordedTopic::new(
            name,
            "std_msgs/msg/String",
            "",
            "",
            Vec::new(),
        ))
    }

    fn send(outbox: &Outbox, topic: &Arc<RecordedTopic>, time: u64, payload: &[u8]) -> bool {
        outbox.send(topic, time, time, Incoming::Copy(payload))
    }

    /// The payloads and log times of the next batch.
    fn take(inbox: &mut Inbox) -> Vec<(u64, Vec<u8>)> {
        match inbox.take(Duration::from_millis(10)) {
            Taken::Batch(batch) => batch
                .iter()
                .map(|(e, p)| (e.log_time, p.to_vec()))
                .collect(),
            Taken::Timeout => Vec::new(),
            Taken::Closed => panic!("closed"),
        }
    }

    #[test]
    fn drops_are_counted_per_topic_when_full_in_messages() {
        let (outbox, mut inbox) = Outbox::new(2, 1 << 20);
        let (a, b) = (topic("/a"), topic("/b"));
        for i in 0..3 {
            send(&outbox, &a, i, b"x");
        }
        assert!(!send(&outbox, &b, 9, b"y"));
        assert_eq!(a.dropped_buffer_full.load(Ordering::Relaxed), 1, "2 fit");
        assert_eq!(b.dropped_buffer_full.load(Ordering::Relaxed), 1);
        assert_eq!(take(&mut inbox), [(0, b"x".to_vec()), (1, b"x".to_vec())]);
        // The batch being written still counts until the writer comes back for more.
        assert!(!send(&outbox, &b, 10, b"y"));
        assert_eq!(take(&mut inbox), []);
        assert!(send(&outbox, &b, 11, b"y"), "room again once written");
        assert_eq!(b.dropped_buffer_full.load(Ordering::Relaxed), 2);
        assert_eq!(take(&mut inbox), [(11, b"y".to_vec())]);
    }

    #[test]
    fn the_byte_budget_admits_until_full_and_releases_once_written() {
        let (outbox, mut inbox) = Outbox::new(100, 100);
        let (a, b) = (topic("/a"), topic("/b"));
        // A message larger than the whole budget still passes when nothing else is buffered.
        assert!(send(&outbox, &a, 0, &[1; 500]));
        assert!(!send(&outbox, &b, 1, &[2; 1]), "full");
        assert_eq!(take(&mut inbox), [(0, vec![1; 500])]);
        assert!(!send(&outbox, &b, 2, &[2; 1]), "still being written");
        assert_eq!(take(&mut inbox), []);
        assert!(send(&outbox, &a, 3, &[3; 60]));
        assert!(!send(&outbox, &b, 4, &[4; 50]), "60 + 50 > 100");
        assert!(send(&outbox, &a, 5, &[5; 40]), "60 + 40 fits");
        assert_eq!(b.dropped_buffer_full.load(Ordering::Relaxed), 3);
        assert_eq!(take(&mut inbox), [(3, vec![3; 60]), (5, vec![5; 40])]);
    }

    #[test]
    fn written_messages_give_back_their_room_before_the_batch_ends() {
        let (outbox, mut inbox) = Outbox::new(3, 100);
        let t = topic("/t");
        for i in 0..3 {
            assert!(send(&outbox, &t, i, &[0; 30]));
        }
        let progress = inbox.progress();
        assert_eq!(take(&mut inbox).len(), 3);
        assert!(!send(&outbox, &t, 3, &[0; 30]), "the batch holds the bound");
        progress.written(1, 30);
        assert!(
            send(&outbox, &t, 4, &[0; 30]),
            "one message written, one slot free"
        );
        assert!(!send(&outbox, &t, 5, &[0; 30]));
        progress.written(2, 60);
        assert!(send(&outbox, &t, 6, &[0; 60]));
        assert_eq!(take(&mut inbox), [(4, vec![0; 30]), (6, vec![0; 60])]);
    }

    #[test]
    fn large_payloads_are_shared_and_small_ones_copied_in_order() {
        let (outbox, mut inbox) = Outbox::new(10, usize::MAX);
        let t = topic("/t");
        let large = Bytes::from(vec![7u8; INLINE_MAX + 1]);
        let address = large.as_ptr();
        assert!(outbox.send(&t, 1, 1, Incoming::Share(large)));
        assert!(send(&outbox, &t, 2, b"small"));
        let Taken::Batch(batch) = inbox.take(Duration::from_millis(10)) else {
            panic!("a batch");
        };
        let payloads: Vec<&[u8]> = batch.iter().map(|(_, p)| p).collect();
        assert_eq!(payloads[0].as_ptr(), address, "the same memory");
        assert_eq!(payloads[1], b"small");
        assert_eq!(batch.len(), 2);
        // What the documented memory bound counts per message slot.
        assert!(std::mem::size_of::<Entry>() <= 56);
    }

    #[test]
    fn the_writer_is_woken_by_a_message_and_sees_the_last_sender_go() {
        let (outbox, mut inbox) = Outbox::new(10, 1 << 20);
        let t = topic("/t");
        let (sender, sending) = (outbox.clone(), t.clone());
        let thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            send(&sender, &sending, 1, b"late");
        });
        let start = Instant::now();
        assert_eq!(take(&mut inbox), [], "times out first");
        let Taken::Batch(batch) = inbox.take(Duration::from_secs(10)) else {
            panic!("woken with a batch");
        };
        assert_eq!(batch.len(), 1);
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "woken, not timed out"
        );
        thread.join().expect("sender");
        drop(outbox);
        assert!(matches!(inbox.take(Duration::from_secs(10)), Taken::Closed));
    }
}
