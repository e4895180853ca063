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
//!
//! A cache built [`with_max_age`](Cache::with_max_age) also forgets messages whose stamp is
//! more than the max age before its clock's time (the node's clock, so a `use_sim_time` node
//! measures age in `/clock` time): they are evicted on every add and before every query, and
//! counted ([`Cache::expired`]).

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::signal::Signal;
use super::traits::{Filter, Input};
use crate::msg::Stamped;
use crate::node::Clock;
use crate::time::Time;

/// The longest a message stays in a cache, on a clock.
struct MaxAge {
    nanos: i64,
    clock: Clock,
}

/// Holds the last `cache_size` messages sorted by stamp, and passes every message on.
pub struct Cache<M: Stamped> {
    signal: Signal<M>,
    entries: Mutex<VecDeque<(Time, Arc<M>)>>,
    capacity: usize,
    max_age: Option<MaxAge>,
    dropped: AtomicU64,
    expired: AtomicU64,
}

impl<M: Stamped> Cache<M> {
    /// Creates an empty cache holding at most `cache_size` messages (at least 1).
    pub fn new(cache_size: usize) -> Self {
        Self::build(cache_size, None)
    }

    /// As [`new`](Self::new), also forgetting messages stamped more than `max_age` before
    /// `clock`'s time (e.g. `node.clock().clone()`).
    pub fn with_max_age(cache_size: usize, max_age: Duration, clock: Clock) -> Self {
        let nanos = i64::try_from(max_age.as_nanos()).unwrap_or(i64::MAX);
        Self::build(cache_size, Some(MaxAge { nanos, clock }))
    }

    fn build(cache_size: usize, max_age: Option<MaxAge>) -> Self {
        let capacity = cache_size.max(1);
        Self {
            signal: Signal::new(),
            entries: Mutex::new(VecDeque::with_capacity(capacity.min(1024))),
            capacity,
            max_age,
            dropped: AtomicU64::new(0),
            expired: AtomicU64::new(0),
        }
    }

    /// Locks the entries, evicting the expired ones first; a poisoned lock still holds a
    /// sorted deque (no callback runs under it).
    fn lock(&self) -> MutexGuard<'_, VecDeque<(Time, Arc<M>)>> {
        let mut entries = crate::lock::lock(&self.entries);
        if let Some(max_age) = &self.max_age {
            let oldest_kept = max_age.clock.now_nanos().saturating_sub(max_age.nanos);
            let expired = entries.partition_point(|(stamp, _)| stamp.as_nanos() < oldest_kept);
            if expired > 0 {
                entries.drain(..expired);
                self.expired.fetch_add(expired as u64, Ordering::Relaxed);
            }
        }
        entries
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

    /// Whether a message stamped `stamp` is older than the max age now.
    fn is_expired(&self, stamp: Time) -> bool {
        self.max_age
            .as_ref()
            .is_some_and(|a| stamp.as_nanos() < a.clock.now_nanos().saturating_sub(a.nanos))
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

    /// How many messages were evicted because they were older than the max age.
    pub fn expired(&self) -> u64 {
        self.expired.load(Ordering::Relaxed)
    }

    /// The max age, if the cache has one.
    pub fn max_age(&self) -> Option<Duration> {
        self.max_age
            .as_ref()
            .map(|a| Duration::from_nanos(u64::try_from(a.nanos).unwrap_or(u64::MAX)))
    }
}

impl<M: Stamped> fmt::Debug for Cache<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .field("max_age", &self.max_age())
            .field("dropped", &self.dropped())
            .field("expired", &self.expired())
            .finish()
    }
}

impl<M: Stamped + Send + Sync> Input<M> for Cache<M> {
    /// Stores `msg` in stamp order, dropping the oldest first if full, then passes it on.
    ///
    /// As in ROS, the oldest message is dropped before the new one is placed, even if the
    /// new one is older still (it then becomes the oldest). With a max age, a message already
    /// too old is counted as expired and not stored, but still passed on.
    fn add(&self, msg: Arc<M>) {
        let stamp = msg.stamp();
        {
            let mut entries = self.lock();
            if self.is_expired(stamp) {
                self.expired.fetch_add(1, Ordering::Relaxed);
            } else {
                while entries.len() >= self.capacity {
                    entries.pop_front();
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                }
                let at = entries.partition_point(|(s, _)| *s <= stamp);
                entries.insert(at, (stamp, Arc::clone(&msg)));
            }
        }
        self.signal.emit(&msg);
    }
}

impl<M: Stamped + Send + Sync> Filter<M> for Cache<M> {
    fn signal(&self) -> &Signal<M> {
        &self.signal
    }
}
