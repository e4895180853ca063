//! The [`Outbox`]: the subscribers' side of the channel to the writer thread, bounded in
//! messages and in payload bytes; a message that does not fit is dropped and counted for its
//! topic. It is the recorder's only buffer before the writer's open chunk: subscribers hand
//! each message to it on arrival, so its byte budget bounds what a kill can lose.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::Arc;

use bytes::Bytes;

use super::topic::RecordedTopic;

/// One message on its way to the writer thread.
pub(crate) struct Item {
    /// Its topic.
    pub topic: Arc<RecordedTopic>,
    /// Receive time, ns since the epoch.
    pub log_time: u64,
    /// Publish time (the publisher's source timestamp), ns since the epoch.
    pub publish_time: u64,
    /// The serialized message.
    pub payload: Bytes,
    /// Returns the payload's bytes to the budget when the item is written or dropped.
    _reservation: Reservation,
}

/// Bytes buffered between the subscribers and the writer thread, against a limit.
#[derive(Debug)]
struct Budget {
    used: AtomicUsize,
    limit: usize,
}

/// A share of the [`Budget`], released on drop.
struct Reservation {
    bytes: usize,
    budget: Arc<Budget>,
}

impl Budget {
    /// Takes `bytes` if they fit (anything fits an empty budget), else `None`.
    fn reserve(self: &Arc<Self>, bytes: usize) -> Option<Reservation> {
        let before = self.used.fetch_add(bytes, Ordering::AcqRel);
        if before.saturating_add(bytes) > self.limit && before > 0 {
            self.used.fetch_sub(bytes, Ordering::AcqRel);
            return None;
        }
        Some(Reservation {
            bytes,
            budget: Arc::clone(self),
        })
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// The sending side of the writer channel, bounded in messages and in bytes.
#[derive(Clone)]
pub(crate) struct Outbox {
    tx: SyncSender<Item>,
    budget: Arc<Budget>,
}

impl Outbox {
    /// A channel of at most `capacity` messages and `max_bytes` payload bytes, and its
    /// receiving end for the writer thread.
    pub fn new(capacity: usize, max_bytes: usize) -> (Self, Receiver<Item>) {
        let (tx, rx) = mpsc::sync_channel(capacity);
        let budget = Arc::new(Budget {
            used: AtomicUsize::new(0),
            limit: max_bytes,
        });
        (Self { tx, budget }, rx)
    }

    /// Queues a message for the writer (true), or counts it as dropped if the channel is full
    /// in messages or bytes (false).
    pub fn send(
        &self,
        topic: &Arc<RecordedTopic>,
        log_time: u64,
        publish_time: u64,
        payload: Bytes,
    ) -> bool {
        let Some(reservation) = self.budget.reserve(payload.len()) else {
            topic.dropped_buffer_full.fetch_add(1, Ordering::Relaxed);
            return false;
        };
        let item = Item {
            topic: topic.clone(),
            log_time,
            publish_time,
            payload,
            _reservation: reservation,
        };
        if self.tx.try_send(item).is_err() {
            topic.dropped_buffer_full.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_byte_budget_admits_until_full_and_releases_on_drop() {
        let budget = Arc::new(Budget {
            used: AtomicUsize::new(0),
            limit: 100,
        });
        // A message larger than the whole budget still passes when nothing else is buffered.
        let huge = budget.reserve(500).expect("an empty budget takes anything");
        assert!(budget.reserve(1).is_none(), "full");
        drop(huge);
        let a = budget.reserve(60).expect("fits");
        assert!(budget.reserve(50).is_none(), "60 + 50 > 100");
        let b = budget.reserve(40).expect("60 + 40 fits");
        assert_eq!(budget.used.load(Ordering::Relaxed), 100);
        drop((a, b));
        assert_eq!(budget.used.load(Ordering::Relaxed), 0);
    }

    fn topic(name: &str) -> Arc<RecordedTopic> {
        Arc::new(RecordedTopic::new(
            name,
            "std_msgs/msg/String",
            "",
            "",
            Vec::new(),
        ))
    }

    #[test]
    fn drops_are_counted_per_topic_when_full() {
        let (outbox, rx) = Outbox::new(2, 1 << 20);
        let (a, b) = (topic("/a"), topic("/b"));
        for i in 0..3 {
            outbox.send(&a, i, i, Bytes::from_static(b"x"));
        }
        outbox.send(&b, 9, 9, Bytes::from_static(b"y"));
        assert_eq!(
            a.dropped_buffer_full.load(Ordering::Relaxed),
            1,
            "2 fit, 1 dropped"
        );
        assert_eq!(b.dropped_buffer_full.load(Ordering::Relaxed), 1);
        let first = rx.recv().expect("queued");
        assert_eq!((first.log_time, &first.payload[..]), (0, &b"x"[..]));
        drop(first);
        outbox.send(&b, 10, 10, Bytes::from_static(b"y"));
        assert_eq!(
            b.dropped_buffer_full.load(Ordering::Relaxed),
            1,
            "room again"
        );

        // Bounded in bytes: a second large payload waits for the first to be written.
        let (outbox, rx) = Outbox::new(10, 100);
        outbox.send(&a, 0, 0, Bytes::from(vec![0u8; 80]));
        outbox.send(&b, 0, 0, Bytes::from(vec![0u8; 80]));
        assert_eq!(b.dropped_buffer_full.load(Ordering::Relaxed), 2);
        drop(rx.recv().expect("queued"));
        outbox.send(&b, 0, 0, Bytes::from(vec![0u8; 80]));
        assert_eq!(
            b.dropped_buffer_full.load(Ordering::Relaxed),
            2,
            "released on write"
        );
    }
}
