//! [`Cache`]: keeps the last N messages sorted by stamp and answers time queries, like ROS 1
//! `message_filters::Cache`.
//!
//! The boundaries follow ROS's `cache.h` exactly:
//!
//! | query | returns |
//! |---|---|
//! | [`get_interval(start, end)`](Cache::get_interval) | every message with `start <= stamp <= end` |
//! | [`get_elem_before_time(t)`](Cache::get_elem_before_time) | the latest message with `stamp < t` (strictly) |
//! | [`get_elem_after_time(t)`](Cache::get_elem_after_time) | the earliest message with `stamp > t` (strictly) |
//! | [`get_surrounding_interval(start, end)`](Cache::get_surrounding_interval) | from the latest message with `stamp <= start` (or the oldest) to the earliest with `stamp >= end` (or the newest) |
//!
//! Messages with equal stamps keep their arrival order.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::signal::Signal;
use super::traits::{Filter, Input};
use crate::msg::Stamped;
use crate::time::Time;

/// Holds the last `cache_size` messages sorted by stamp, and passes every message on.
pub struct Cache<M: Stamped> {
    signal: Signal<M>,
    entries: Mutex<VecDeque<(Time, Arc<M>)>>,
    capacity: usize,
    dropped: AtomicU64,
}

impl<M: Stamped> Cache<M> {
    /// Creates an empty cache holding at most `cache_size` messages (at least 1).
    pub fn new(cache_size: usize) -> Self {
        let capacity = cache_size.max(1);
        Self {
            signal: Signal::new(),
            entries: Mutex::new(VecDeque::with_capacity(capacity.min(1024))),
            capacity,
            dropped: AtomicU64::new(0),
        }
    }

    /// Locks the entries; a poisoned lock still holds a sorted deque (no callback runs under it).
    fn lock(&self) -> MutexGuard<'_, VecDeque<(Time, Arc<M>)>> {
        crate::lock::lock(&self.entries)
    }

    /// Every cached message with `start <= stamp <= end`, in stamp order.
    pub fn get_interval(&self, start: Time, end: Time) -> Vec<Arc<M>> {
        let entries = self.lock();
        let first = entries.partition_point(|(stamp, _)| *stamp < start);
        let past = entries
            .partition_point(|(stamp, _)| *stamp <= end)
            .max(first);
        entries
            .range(first..past)
            .map(|(_, m)| Arc::clone(m))
            .collect()
    }

    /// The smallest run of cached messages that surrounds `start..=end`, in stamp order.
    ///
    /// As in ROS, it starts at the latest message with `stamp <= start` (the oldest message
    /// if there is none) and ends at the earliest message at or after that one with
    /// `stamp >= end` (the newest message if there is none). Empty only if the cache is.
    pub fn get_surrounding_interval(&self, start: Time, end: Time) -> Vec<Arc<M>> {
        let entries = self.lock();
        let Some(last) = entries.len().checked_sub(1) else {
            return Vec::new();
        };
        let first = entries
            .partition_point(|(stamp, _)| *stamp <= start)
            .saturating_sub(1);
        let through = entries
            .partition_point(|(stamp, _)| *stamp < end)
            .min(last)
            .max(first);
        entries
            .range(first..=through)
            .map(|(_, m)| Arc::clone(m))
            .collect()
    }

    /// The latest cached message with `stamp < time` (strictly before, as in ROS).
    pub fn get_elem_before_time(&self, time: Time) -> Option<Arc<M>> {
        let entries = self.lock();
        let past = entries.partition_point(|(stamp, _)| *stamp < time);
        past.checked_sub(1)
            .and_then(|i| entries.get(i))
            .map(|(_, m)| Arc::clone(m))
    }

    /// The earliest cached message with `stamp > time` (strictly after, as in ROS).
    pub fn get_elem_after_time(&self, time: Time) -> Option<Arc<M>> {
        let entries = self.lock();
        let first = entries.partition_point(|(stamp, _)| *stamp <= time);
        entries.get(first).map(|(_, m)| Arc::clone(m))
    }

    /// The stamp of the oldest cached message, or `None` if the cache is empty.
    pub fn get_oldest_time(&self) -> Option<Time> {
        self.lock().front().map(|(stamp, _)| *stamp)
    }

    /// The stamp of the newest cached message, or `None` if the cache is empty.
    pub fn get_latest_time(&self) -> Option<Time> {
        self.lock().back().map(|(stamp, _)| *stamp)
    }

    /// How many messages are cached.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no message is cached.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// How many messages were dropped (the oldest) because the cache was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl<M: Stamped> fmt::Debug for Cache<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .field("dropped", &self.dropped())
            .finish()
    }
}

impl<M: Stamped + Send + Sync> Input<M> for Cache<M> {
    /// Stores `msg` in stamp order, dropping the oldest first if full, then passes it on.
    ///
    /// As in ROS, the oldest message is dropped before the new one is placed, even if the
    /// new one is older still (it then becomes the oldest).
    fn add(&self, msg: Arc<M>) {
        let stamp = msg.stamp();
        {
            let mut entries = self.lock();
            while entries.len() >= self.capacity {
                entries.pop_front();
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            let at = entries.partition_point(|(s, _)| *s <= stamp);
            entries.insert(at, (stamp, Arc::clone(&msg)));
        }
        self.signal.emit(&msg);
    }
}

impl<M: Stamped + Send + Sync> Filter<M> for Cache<M> {
    fn signal(&self) -> &Signal<M> {
        &self.signal
    }
}
