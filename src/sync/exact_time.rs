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
//! ExactTime is keyed by stamp, so a message that arrives out of order on its channel still
//! joins its group, as in ROS: only a stamp at or before the last emitted set is dropped at
//! once ([`DropReason::Superseded`], the reason ROS gives such a group when it clears it).
//! A stamp earlier than its channel's newest by the rewind threshold or more resets the
//! policy, as in every policy (see [`super::policy`]).

use std::collections::VecDeque;

use super::policy::{
    check_shape, ConfigError, DropReason, Emitted, Policy, StampCheck, StampGuard,
};

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
    /// Pending groups sorted by stamp, found among the newest 8 or else by binary search
    /// (ROS keeps a map): a stamp newer or older than every pending one is added at its end
    /// in O(1), the oldest group is evicted in O(1) and a completed group near either end is
    /// removed in O(1); only a new stamp between pending ones moves the groups on its nearer
    /// side.
    groups: VecDeque<Group<M>>,
    /// Slot vectors of finished groups, reused so a new stamp costs no allocation.
    spare: Vec<Vec<Option<M>>>,
    /// The newest stamp per channel, for the jump-back reset.
    guard: StampGuard,
    /// The stamp of the last emitted set (forgotten on reset).
    last_emitted: Option<i64>,
    held: usize,
}

impl<M> ExactTime<M> {
    /// Creates the policy; `channels` must be 2..=9 and `queue_size` at least 1.
    pub fn new(channels: usize, queue_size: usize) -> Result<Self, ConfigError> {
        check_shape(channels, queue_size)?;
        Ok(ExactTime {
            channels,
            queue_size,
            // Any 32-bit queue size is accepted, as in ROS: grow on demand, never up front.
            groups: VecDeque::new(),
            spare: Vec::new(),
            guard: StampGuard::new(channels),
            last_emitted: None,
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

    /// Where `stamp` is among the newest few groups (stamps arrive nearly in order): `Ok` its
    /// group, `Err` where it goes; `None` if it is older than all of them.
    fn recent_index(&self, stamp: i64) -> Option<Result<usize, usize>> {
        const RECENT: usize = 8;
        let len = self.groups.len();
        (len.saturating_sub(RECENT)..len).rev().find_map(|i| {
            let pending = self.groups[i].stamp;
            match pending.cmp(&stamp) {
                std::cmp::Ordering::Equal => Some(Ok(i)),
                std::cmp::Ordering::Less => Some(Err(i + 1)),
                std::cmp::Ordering::Greater => None,
            }
        })
    }

    /// The index of the group for `stamp`, creating it in stamp order if needed.
    fn group_index(&mut self, stamp: i64) -> usize {
        let found = match self.groups.back() {
            // Stamps mostly arrive in order: a new newest stamp needs no search.
            Some(newest) if newest.stamp < stamp => Err(self.groups.len()),
            Some(newest) if newest.stamp == stamp => Ok(self.groups.len() - 1),
            _ => self
                .recent_index(stamp)
                .unwrap_or_else(|| self.groups.binary_search_by_key(&stamp, |g| g.stamp)),
        };
        match found {
            Ok(index) => index,
            Err(index) => {
                let n = self.channels;
                let slots = self
                    .spare
                    .pop()
                    .unwrap_or_else(|| (0..n).map(|_| None).collect());
                self.groups.insert(
                    index,
                    Group {
                        stamp,
                        filled: 0,
                        slots,
                    },
                );
                index
            }
        }
    }
}

impl<M> Policy<M> for ExactTime<M> {
    fn channels(&self) -> usize {
        self.channels
    }

    fn add(&mut self, channel: usize, stamp: i64, msg: M, out: &mut Emitted<M>) {
        if channel >= self.channels {
            out.drop_msg(channel, stamp, msg, DropReason::UnknownChannel);
            return;
        }
        match self.guard.check(channel, stamp) {
            StampCheck::Accept => self.guard.accept(channel, stamp, false),
            // Out of order on its channel but still matchable: keyed by stamp, as in ROS.
            StampCheck::Straggler => {}
            StampCheck::Rewind => {
                self.guard.accept(channel, stamp, true);
                self.last_emitted = None;
                self.drop_all(DropReason::TimeJumpedBack, out);
            }
        }
        if self.last_emitted.is_some_and(|last| stamp <= last) {
            out.drop_msg(channel, stamp, msg, DropReason::Superseded);
            return;
        }

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
            self.last_emitted = Some(stamp);
            out.sets
                .push(group.slots.iter_mut().filter_map(Option::take).collect());
            self.held -= self.channels;
            if let Some(full) = self.groups.remove(index) {
                self.spare.push(full.slots);
            }
            // Incomplete groups before the emitted stamp can no longer be useful.
            for _ in 0..index {
                if let Some(older) = self.groups.pop_front() {
                    self.drop_group(older, DropReason::Superseded, out);
                }
            }
        }

        while self.groups.len() > self.queue_size {
            let Some(oldest) = self.groups.pop_front() else {
                break;
            };
            self.drop_group(oldest, DropReason::QueueOverflow, out);
        }
    }

    fn reset(&mut self, out: &mut Emitted<M>) {
        self.drop_all(DropReason::Reset, out);
        self.guard.forget();
        self.last_emitted = None;
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
    fn out_of_order_arrivals_still_match_until_a_later_set() {
        let mut p = ExactTime::new(2, 10).expect("valid");
        // Channel 0 delivers 30 before 20; channel 1 delivers in order.
        let out = feed(
            &mut p,
            &[(0, 10), (0, 30), (0, 20), (1, 10), (1, 20), (1, 30)],
        );
        assert_eq!(out.sets, vec![vec![0, 3], vec![2, 4], vec![1, 5]]);
        assert!(out.drops.is_empty(), "{:?}", out.drops);

        // A stamp at or before the last emitted set can never be part of one.
        let mut out = Emitted::new();
        p.add(0, 25, 6, &mut out);
        p.add(1, 30, 7, &mut out);
        p.add(0, 40, 8, &mut out);
        p.add(1, 35, 9, &mut out);
        let drops: Vec<_> = out.drops.iter().map(|d| (d.msg, d.reason)).collect();
        assert_eq!(
            drops,
            vec![(6, DropReason::Superseded), (7, DropReason::Superseded)]
        );
        assert_eq!(p.pending(), 2, "40 and 35 wait for their partners");
        let out = feed(&mut p, &[(1, 40)]);
        assert_eq!(
            out.sets,
            vec![vec![8, 0]],
            "message 8 with the new one (id 0 of this feed)"
        );
        assert_eq!(
            out.drops[0].reason,
            DropReason::Superseded,
            "35 is older than 40"
        );
    }

    #[test]
    fn a_stamp_older_than_every_pending_one_is_kept_in_order() {
        let mut p = ExactTime::new(2, 3).expect("valid");
        // 10 arrives after 20 and 30 (added at the front); 40 overflows the queue of 3 and
        // evicts 10, the oldest; 30 completes and supersedes 20; 40 waits.
        let out = feed(&mut p, &[(0, 20), (0, 30), (1, 10), (0, 40), (1, 30)]);
        assert_eq!(out.sets, vec![vec![1, 4]]);
        let drops: Vec<_> = out.drops.iter().map(|d| (d.msg, d.reason)).collect();
        assert_eq!(
            drops,
            vec![(2, DropReason::QueueOverflow), (0, DropReason::Superseded)]
        );
        assert_eq!(p.pending(), 1);
    }

    #[test]
    fn any_32_bit_queue_size_is_accepted_without_allocating_it() {
        for queue_size in [u32::MAX as usize, 1_000_000_000, usize::MAX] {
            let mut p = ExactTime::new(3, queue_size).expect("valid");
            let out = feed(&mut p, &[(0, 1), (1, 1), (2, 1), (0, 2)]);
            assert_eq!(out.sets.len(), 1);
            assert_eq!(p.pending(), 1);
        }
    }

    #[test]
    fn backwards_stamps() {
        let mut p = ExactTime::new(2, 5).expect("valid");
        let out = feed(
            &mut p,
            &[(0, 5_000), (0, 4_000), (0, 10_000_000_000), (0, 1_000)],
        );
        let reasons: Vec<_> = out.drops.iter().map(|d| (d.msg, d.reason)).collect();
        // 4 µs after 5 µs is kept (keyed by stamp); 1 µs after 10 s resets.
        assert_eq!(
            reasons,
            vec![
                (1, DropReason::TimeJumpedBack),
                (0, DropReason::TimeJumpedBack),
                (2, DropReason::TimeJumpedBack)
            ]
        );
        assert_eq!(p.time_jumps(), 1);
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
