//! [`SequenceGaps`]: counts samples that never arrived, from the per-publisher sequence numbers
//! of rmw_zenoh's attachment.
//!
//! # The rule
//!
//! Each publisher (keyed by its GID) numbers its samples 1, 2, 3, ... (rmw_zenoh and rosync;
//! ros-z starts at 0). For every publisher a subscriber hears from:
//!
//! - the first sample seen is the baseline: nothing before it counts as lost (the subscriber
//!   may have joined late, and a start at 0 or 1 makes no difference);
//! - a sample numbered `n` after the newest `m` counts `n - m - 1` lost samples;
//! - a sample numbered at or below the newest is a duplicate or arrived out of order: nothing
//!   is counted and the newest stays (a gap it fills stays counted);
//! - a forward jump of more than [`MAX_GAP`] is not a plausible loss (a corrupt or reset
//!   counter): it becomes the new baseline and nothing is counted.
//!
//! A restarted publisher has a new GID, so it starts a new baseline. At most
//! [`MAX_PUBLISHERS`] publishers are remembered; the one heard from least recently is forgotten
//! (and counted) to make room, and starts a new baseline if it is heard from again.
//!
//! The publisher heard from last is kept beside the map, so a steady stream from one
//! publisher (the common case) costs no hashing per sample.

use std::collections::HashMap;

/// Publishers remembered per subscriber.
pub(crate) const MAX_PUBLISHERS: usize = 1024;

/// The largest forward jump in sequence numbers counted as loss.
pub(crate) const MAX_GAP: i64 = 1 << 32;

/// Per-publisher newest sequence numbers and the gaps between them; see the [module docs](self).
#[derive(Debug, Default)]
pub(crate) struct SequenceGaps {
    /// The publisher heard from last: its GID and newest sequence number (not in `newest`).
    recent: Option<([u8; 16], i64)>,
    /// Newest sequence number and the tick it was seen at, per other publisher GID.
    newest: HashMap<[u8; 16], (i64, u64)>,
    /// Counts calls, to find the publisher heard from least recently.
    tick: u64,
    /// Samples that never arrived.
    pub lost: u64,
    /// Publishers forgotten to keep the map within [`MAX_PUBLISHERS`].
    pub forgotten: u64,
}

impl SequenceGaps {
    /// Notes sample `sequence` of publisher `gid`; returns how many samples it shows lost.
    pub fn observe(&mut self, gid: [u8; 16], sequence: i64) -> u64 {
        self.tick += 1;
        let newest = match self.recent {
            Some((recent, newest)) if recent == gid => Some(newest),
            _ => self.make_recent(gid),
        };
        let Some(newest) = newest else {
            self.recent = Some((gid, sequence));
            return 0;
        };
        if sequence <= newest {
            return 0;
        }
        self.recent = Some((gid, sequence));
        let gap = sequence.saturating_sub(newest).saturating_sub(1);
        if gap > MAX_GAP {
            return 0;
        }
        let gap = gap as u64;
        self.lost += gap;
        gap
    }

    /// Moves the previous recent publisher into the map and `gid` out of it; returns `gid`'s
    /// newest sequence number if it was known. Makes room in the map when it is full.
    fn make_recent(&mut self, gid: [u8; 16]) -> Option<i64> {
        let known = self.newest.remove(&gid).map(|(newest, _)| newest);
        if let Some((previous, newest)) = self.recent.take() {
            if self.newest.len() + 1 >= MAX_PUBLISHERS {
                self.forget_least_recent();
            }
            self.newest.insert(previous, (newest, self.tick - 1));
        }
        known
    }

    /// Forgets the publisher heard from least recently (never the recent one).
    fn forget_least_recent(&mut self) {
        let oldest = self
            .newest
            .iter()
            .min_by_key(|(_, (_, seen))| *seen)
            .map(|(gid, _)| *gid);
        if let Some(oldest) = oldest {
            self.newest.remove(&oldest);
            self.forgotten += 1;
        }
    }

    /// Publishers remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.newest.len() + usize::from(self.recent.is_some())
    }

    /// Whether publisher `gid` is remembered.
    #[cfg(test)]
    fn knows(&self, gid: &[u8; 16]) -> bool {
        self.newest.contains_key(gid) || self.recent.is_some_and(|(recent, _)| &recent == gid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gid(n: u8) -> [u8; 16] {
        [n; 16]
    }

    #[test]
    fn gaps_are_counted_per_publisher_from_the_first_sample_seen() {
        let mut gaps = SequenceGaps::default();
        // Joined late: 5 is the baseline.
        for seq in [5, 6, 9, 10] {
            gaps.observe(gid(1), seq);
        }
        assert_eq!(gaps.lost, 2, "7 and 8");
        // Another publisher, starting at 0 (ros-z), interleaved.
        for seq in [0, 1, 3] {
            gaps.observe(gid(2), seq);
        }
        assert_eq!(gaps.lost, 3, "2 of the second publisher");
        // Duplicates and late samples count nothing and keep the newest.
        assert_eq!(gaps.observe(gid(1), 8), 0);
        assert_eq!(gaps.observe(gid(1), 10), 0);
        assert_eq!(gaps.observe(gid(1), 11), 0);
        // A restarted publisher has a new GID and starts at 1 again.
        assert_eq!(gaps.observe(gid(3), 1), 0);
        assert_eq!(gaps.observe(gid(3), 2), 0);
        // Implausible jumps are a new baseline, not loss.
        assert_eq!(gaps.observe(gid(3), i64::MAX), 0);
        assert_eq!(gaps.observe(gid(3), i64::MIN), 0);
        assert_eq!(gaps.lost, 3);
        assert_eq!(gaps.forgotten, 0);
    }

    #[test]
    fn the_least_recently_heard_publisher_is_forgotten_and_counted() {
        let mut gaps = SequenceGaps::default();
        let many = |i: usize| {
            let mut g = [0u8; 16];
            g[..8].copy_from_slice(&(i as u64).to_le_bytes());
            g
        };
        for i in 0..MAX_PUBLISHERS {
            gaps.observe(many(i), 1);
        }
        // Publisher 0 is heard again, so publisher 1 is the least recent.
        gaps.observe(many(0), 2);
        gaps.observe(many(MAX_PUBLISHERS), 1);
        assert_eq!(gaps.forgotten, 1);
        assert_eq!(gaps.len(), MAX_PUBLISHERS);
        assert!(!gaps.knows(&many(1)));
        // Publisher 0 is still tracked: a gap counts.
        assert_eq!(gaps.observe(many(0), 4), 1);
        // Publisher 1 starts a new baseline.
        assert_eq!(gaps.observe(many(1), 50), 0);
        assert_eq!(gaps.forgotten, 2);
    }
}
