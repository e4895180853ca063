//! ExactTime: emits a set when every channel has a message with the very same stamp.
//!
//! Behaves as ROS 1 `message_filters::sync_policies::ExactTime`:
//!
//! * messages are grouped by stamp; a group becomes a set as soon as it has one message per
//!   channel, and is emitted at once;
//! * after a set with stamp `t`, every incomplete group with a stamp at or before `t` is
//!   discarded ([`DropReason::Superseded`]);
//! * a second message with the same stamp on the same channel replaces the first
//!   ([`DropReason::Replaced`]);
//! * when more than `queue_size` groups are pending, the group with the oldest stamp is
//!   discarded with all its messages ([`DropReason::QueueOverflow`]), possibly the one that
//!   was just added to.
//!
//! Stamps that go backwards on a channel follow the rule in [`super::policy`].

use super::policy::{check_shape, Admission, ConfigError, DropReason, Emitted, Policy, StampGuard};

/// Messages sharing one stamp, one slot per channel.
#[derive(Debug)]
struct Group<M> {
    stamp: i64,
    filled: usize,
    slots: Vec<Option<M>>,
}

/// The ROS ExactTime synchronizer policy over payloads `M`.
#[derive(Debug)]
pub struct ExactTime<M> {
    channels: usize,
    queue_size: usize,
    /// Pending groups sorted by stamp (at most `queue_size`, so a vector beats a tree).
    groups: Vec<Group<M>>,
    /// Slot vectors of finished groups, reused so a new stamp costs no allocation.
    spare: Vec<Vec<Option<M>>>,
    /// The backwards-stamp rule's state.
    guard: StampGuard,
    held: usize,
}

impl<M> ExactTime<M> {
    /// Creates the policy; `channels` must be 2..=9 and `queue_size` at least 1.
    pub fn new(channels: usize, queue_size: usize) -> Result<Self, ConfigError> {
        check_shape(channels, queue_size)?;
        Ok(ExactTime {
            channels,
            queue_size,
            groups: Vec::with_capacity(queue_size + 1),
            spare: Vec::new(),
            guard: StampGuard::new(channels),
            held: 0,
        })
    }

    /// Sets how far back (ns, > 0) a stamp must jump on a channel to reset instead of being dropped.
    pub fn rewind_reset_threshold(mut self, ns: i64) -> Result<Self, ConfigError> {
        self.guard.set_rewind_threshold(ns)?;
        Ok(self)
    }

    /// The configured queue size (maximum number of pending stamps).
    pub fn queue_size(&self) -> usize {
        self.queue_size
    }

    /// Reports every message of a removed group as dropped, in channel order, and keeps its
    /// slot vector for reuse.
    fn drop_group(&mut self, mut group: Group<M>, reason: DropReason, out: &mut Emitted<M>) {
        for (channel, slot) in group.slots.iter_mut().enumerate() {
            if let Some(msg) = slot.take() {
                out.drop_msg(channel, group.stamp, msg, reason);
            }
        }
        self.held -= group.filled;
        self.spare.push(group.slots);
    }

    /// Drops every pending group, oldest stamp first.
    fn drop_all(&mut self, reason: DropReason, out: &mut Emitted<M>) {
        let groups = std::mem::take(&mut self.groups);
        for group in groups {
            self.drop_group(group, reason, out);
        }
    }

    /// The index of the group for `stamp`, creating it in stamp order if needed.
    fn group_index(&mut self, stamp: i64) -> usize {
        // Stamps mostly arrive in order: look from the newest end.
        let mut i = self.groups.len();
        while i > 0 && self.groups[i - 1].stamp > stamp {
            i -= 1;
        }
        if i > 0 && self.groups[i - 1].stamp == stamp {
            return i - 1;
        }
        let n = self.channels;
        let slots = self
            .spare
            .pop()
            .unwrap_or_else(|| (0..n).map(|_| None).collect());
        self.groups.insert(
            i,
            Group {
                stamp,
                filled: 0,
                slots,
            },
        );
        i
    }
}

impl<M> Policy<M> for ExactTime<M> {
    fn channels(&self) -> usize {
        self.channels
    }

    fn add(&mut self, channel: usize, stamp: i64, msg: M, out: &mut Emitted<M>) {
        let msg = match self.guard.admit(channel, stamp, msg, out) {
            Admission::Accept(msg) => msg,
            Admission::Rewind(msg) => {
                self.drop_all(DropReason::TimeJumpedBack, out);
                msg
            }
            Admission::Rejected => return,
        };

        let index = self.group_index(stamp);
        let group = &mut self.groups[index];
        match group.slots[channel].replace(msg) {
            Some(old) => out.drop_msg(channel, stamp, old, DropReason::Replaced),
            None => {
                group.filled += 1;
                self.held += 1;
            }
        }

        if group.filled == self.channels {
            let mut full = self.groups.remove(index);
            out.sets
                .push(full.slots.iter_mut().filter_map(Option::take).collect());
            self.held -= full.filled;
            self.spare.push(full.slots);
            // Incomplete groups at or before the emitted stamp can no longer be useful.
            let older: Vec<Group<M>> = self.groups.drain(..index).collect();
            for group in older {
                self.drop_group(group, DropReason::Superseded, out);
            }
        }

        while self.groups.len() > self.queue_size {
            let oldest = self.groups.remove(0);
            self.drop_group(oldest, DropReason::QueueOverflow, out);
        }
    }

    fn reset(&mut self, out: &mut Emitted<M>) {
        self.drop_all(DropReason::Reset, out);
        self.guard.forget();
    }

    fn time_jumps(&self) -> u64 {
        self.guard.time_jumps()
    }

    fn pending(&self) -> usize {
        self.held
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(p: &mut ExactTime<usize>, msgs: &[(usize, i64)]) -> Emitted<usize> {
        let mut out = Emitted::new();
        for (id, &(ch, st)) in msgs.iter().enumerate() {
            p.add(ch, st, id, &mut out);
        }
        out
    }

    #[test]
    fn rejects_bad_config() {
        assert_eq!(
            ExactTime::<u8>::new(1, 5).err(),
            Some(ConfigError::ChannelCount(1))
        );
        assert_eq!(
            ExactTime::<u8>::new(10, 5).err(),
            Some(ConfigError::ChannelCount(10))
        );
        assert_eq!(
            ExactTime::<u8>::new(3, 0).err(),
            Some(ConfigError::QueueSize(0))
        );
        assert!(ExactTime::<u8>::new(2, 1).is_ok());
    }

    #[test]
    fn matches_equal_stamps_and_supersedes_older() {
        let mut p = ExactTime::new(2, 10).expect("valid");
        let out = feed(&mut p, &[(0, 10), (0, 20), (1, 20), (1, 30), (0, 30)]);
        assert_eq!(out.sets, vec![vec![1, 2], vec![4, 3]]);
        assert_eq!(out.drops.len(), 1);
        assert_eq!(out.drops[0].msg, 0);
        assert_eq!(out.drops[0].reason, DropReason::Superseded);
        assert_eq!(p.pending(), 0);
    }

    #[test]
    fn overflow_evicts_oldest_group() {
        let mut p = ExactTime::new(2, 2).expect("valid");
        let out = feed(&mut p, &[(0, 1), (0, 2), (0, 3), (1, 1), (1, 3)]);
        // stamp 1 is evicted when stamp 3 arrives; channel 1's stamp 1 then starts a group that
        // is itself the oldest and is evicted at once; stamp 3 completes and supersedes 2.
        assert_eq!(out.sets, vec![vec![2, 4]]);
        let reasons: Vec<_> = out.drops.iter().map(|d| (d.msg, d.reason)).collect();
        assert_eq!(
            reasons,
            vec![
                (0, DropReason::QueueOverflow),
                (3, DropReason::QueueOverflow),
                (1, DropReason::Superseded)
            ]
        );
    }

    #[test]
    fn duplicate_stamp_replaces() {
        let mut p = ExactTime::new(2, 5).expect("valid");
        let out = feed(&mut p, &[(0, 5), (0, 5), (1, 5)]);
        assert_eq!(out.sets, vec![vec![1, 2]]);
        assert_eq!(out.drops[0].reason, DropReason::Replaced);
        assert_eq!(out.drops[0].msg, 0);
    }

    #[test]
    fn backwards_stamps() {
        let mut p = ExactTime::new(2, 5).expect("valid");
        let out = feed(
            &mut p,
            &[(0, 5_000), (0, 4_000), (0, 10_000_000_000), (0, 1_000)],
        );
        let reasons: Vec<_> = out.drops.iter().map(|d| (d.msg, d.reason)).collect();
        assert_eq!(
            reasons,
            vec![
                (1, DropReason::StampWentBack),
                (0, DropReason::TimeJumpedBack),
                (2, DropReason::TimeJumpedBack)
            ]
        );
        assert_eq!(p.pending(), 1);
        let mut out = Emitted::new();
        p.add(7, 0, 99, &mut out);
        assert_eq!(out.drops[0].reason, DropReason::UnknownChannel);
        p.reset(&mut out);
        assert_eq!(out.drops[1].msg, 3);
        assert_eq!(out.drops[1].reason, DropReason::Reset);
        assert_eq!(p.pending(), 0);
    }
}
