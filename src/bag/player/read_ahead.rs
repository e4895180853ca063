//! The read-ahead: a reader thread reads and decompresses the selected messages of the
//! [`Window`] (pass after pass when looping) into a [`Queue`] bounded in messages and bytes,
//! so reading never delays publishing. A full queue holds the reader until a quarter of it
//! was played, so the reader works in batches instead of waking with every message played.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use super::window::{Placement, Window};
use crate::bag::{BagMessage, Damage, Log};
use crate::lock::{lock, wait, wait_timeout};

/// Read-ahead bound: bytes of payload queued between the reader and the player.
const QUEUE_BYTES: usize = 64 << 20;
/// Read-ahead bound: messages queued between the reader and the player.
const QUEUE_MESSAGES: usize = 8192;
/// A full read-ahead wakes the reader when it is down to these many messages ...
const REFILL_MESSAGES: usize = QUEUE_MESSAGES / 4 * 3;
/// ... and bytes.
const REFILL_BYTES: usize = QUEUE_BYTES / 4 * 3;

/// What the reader thread hands the publishing thread.
pub(crate) enum Item {
    /// The next message to play.
    Message(BagMessage),
    /// A damaged chunk skipped while reading (naming its file and offset).
    Skipped(Damage),
    /// Why the log cannot be read any more (naming its file).
    Unreadable(String),
    /// The end of one pass over the window.
    EndOfPass,
}

#[derive(Default)]
struct QueueState {
    items: VecDeque<Item>,
    bytes: usize,
    closed: bool,
}

/// A queue bounded in messages and bytes between the reader thread and the player thread.
#[derive(Default)]
pub(crate) struct Queue {
    state: Mutex<QueueState>,
    changed: Condvar,
}

/// What [`Queue::pop`] found.
pub(crate) enum Pop {
    /// The next item.
    Item(Item),
    /// Nothing arrived in time.
    Empty,
    /// Nothing more will arrive.
    Closed,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        lock(&self.state)
    }

    /// Waits for room, then queues; `false` if the consumer is gone.
    pub fn push(&self, item: Item) -> bool {
        let size = match &item {
            Item::Message(m) => m.data.len(),
            _ => 0,
        };
        let mut state = self.lock();
        while !state.closed
            && !state.items.is_empty()
            && (state.bytes + size > QUEUE_BYTES || state.items.len() >= QUEUE_MESSAGES)
        {
            state = wait(&self.changed, state);
        }
        if state.closed {
            return false;
        }
        state.bytes += size;
        state.items.push_back(item);
        self.changed.notify_all();
        true
    }

    /// The next item, waiting up to `timeout` for one.
    pub fn pop(&self, timeout: Duration) -> Pop {
        let mut state = self.lock();
        if state.items.is_empty() && !state.closed {
            state = wait_timeout(&self.changed, state, timeout);
        }
        match state.items.pop_front() {
            Some(item) => {
                if let Item::Message(m) = &item {
                    state.bytes -= m.data.len();
                }
                // The reader refills from three quarters full: woken once per quarter of
                // the queue, not once per message, it stays off the player's CPU and lock
                // between refills, and the queue stays deep if the disk stalls.
                if state.items.len() <= REFILL_MESSAGES && state.bytes <= REFILL_BYTES {
                    self.changed.notify_all();
                }
                Pop::Item(item)
            }
            None if state.closed => Pop::Closed,
            None => Pop::Empty,
        }
    }

    /// Ends the exchange: the producer's pushes fail, the consumer sees the rest then `Closed`.
    pub fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }
}

/// The reader thread: the selected messages of the window, pass after pass when looping
/// (until a pass plays nothing or the queue is closed).
pub(crate) fn read_passes(
    log: &Log,
    topics: &[String],
    window: Window,
    loop_playback: bool,
    queue: &Queue,
) {
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    loop {
        let mut played = 0u64;
        let mut messages = log.messages_on(&names);
        let mut reported = 0;
        while let Some(item) = messages.next() {
            let skipped = messages.skipped().get(reported..).unwrap_or_default();
            reported += skipped.len();
            for damage in skipped {
                if !queue.push(Item::Skipped(damage.clone())) {
                    return;
                }
            }
            let item = match item {
                Ok(m) => match window.place(m.log_time) {
                    Placement::Before => continue,
                    Placement::After => break,
                    Placement::Inside => {
                        played += 1;
                        Item::Message(m)
                    }
                },
                // The file cannot be read any more: the last item of the pass.
                Err(e) => Item::Unreadable(e.to_string()),
            };
            if !queue.push(item) {
                return;
            }
        }
        for damage in messages.skipped().get(reported..).unwrap_or_default() {
            if !queue.push(Item::Skipped(damage.clone())) {
                return;
            }
        }
        if !queue.push(Item::EndOfPass) || !loop_playback || played == 0 {
            break;
        }
    }
    queue.close();
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn message(log_time: u64, size: usize) -> Item {
        Item::Message(BagMessage {
            topic: Arc::from("/t"),
            type_name: Arc::from("std_msgs/msg/String"),
            channel_id: 1,
            sequence: 0,
            log_time,
            publish_time: log_time,
            data: bytes::Bytes::from(vec![0u8; size]),
        })
    }

    fn log_time(pop: Pop) -> Option<u64> {
        match pop {
            Pop::Item(Item::Message(m)) => Some(m.log_time),
            _ => None,
        }
    }

    #[test]
    fn the_queue_hands_items_in_order_then_reports_closed() {
        let queue = Queue::default();
        assert!(matches!(queue.pop(Duration::ZERO), Pop::Empty));
        assert!(queue.push(message(1, 10)));
        assert!(queue.push(Item::EndOfPass));
        queue.close();
        assert!(!queue.push(message(2, 10)));
        assert_eq!(log_time(queue.pop(Duration::ZERO)), Some(1));
        assert!(matches!(
            queue.pop(Duration::ZERO),
            Pop::Item(Item::EndOfPass)
        ));
        assert!(matches!(queue.pop(Duration::ZERO), Pop::Closed));
    }

    #[test]
    fn a_full_queue_holds_the_reader_until_the_player_takes() {
        let queue = Arc::new(Queue::default());
        // One message larger than the byte bound still goes in when the queue is empty.
        assert!(queue.push(message(0, QUEUE_BYTES + 1)));
        let reader = {
            let queue = Arc::clone(&queue);
            std::thread::spawn(move || queue.push(message(1, 1)))
        };
        std::thread::sleep(Duration::from_millis(20));
        assert!(!reader.is_finished(), "pushed past the byte bound");
        assert_eq!(log_time(queue.pop(Duration::ZERO)), Some(0));
        assert!(reader.join().expect("reader"));
        assert_eq!(log_time(queue.pop(Duration::from_secs(1))), Some(1));
    }

    #[test]
    fn a_full_queue_wakes_the_reader_only_once_a_quarter_was_taken() {
        let queue = Arc::new(Queue::default());
        for t in 0..QUEUE_MESSAGES as u64 {
            assert!(queue.push(message(t, 1)));
        }
        let reader = {
            let queue = Arc::clone(&queue);
            std::thread::spawn(move || queue.push(message(u64::MAX, 1)))
        };
        // Let the reader find the queue full and wait.
        std::thread::sleep(Duration::from_millis(20));
        for t in 0..(QUEUE_MESSAGES - REFILL_MESSAGES - 1) as u64 {
            assert_eq!(log_time(queue.pop(Duration::ZERO)), Some(t));
        }
        std::thread::sleep(Duration::from_millis(20));
        assert!(!reader.is_finished(), "woken before a quarter was taken");
        queue.pop(Duration::ZERO);
        assert!(reader.join().expect("reader"));
    }
}
