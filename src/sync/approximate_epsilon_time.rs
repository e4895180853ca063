//! ApproximateEpsilonTime: emits sets of one message per channel whose stamps all lie within
//! `epsilon` of each other, following ROS 2 `message_filters` ApproximateEpsilonTime.
//!
//! # How the algorithm works (in our words)
//!
//! Every channel keeps a FIFO of queued messages. Nothing happens until every channel holds
//! at least one message; then, as long as that stays true:
//!
//! 1. Find the *oldest head*: the smallest stamp among the first message of every channel
//!    (the lowest channel wins ties).
//! 2. If every head's stamp is at most `oldest + epsilon`, the heads form a set: it is
//!    emitted and every head is removed.
//! 3. Otherwise at least one head lies beyond `oldest + epsilon`. Every head that lies
//!    *within* `oldest + epsilon` (the oldest one included) is discarded
//!    ([`DropReason::OutsideEpsilon`]) and the search repeats.
//!
//! Step 3 is greedy, exactly like ROS 2: a discarded head other than the oldest could, in
//! principle, still have matched a later message of the oldest head's channel. This port keeps
//! that behaviour so that sets are the ones ROS 2 emits.
//!
//! While some channel is empty, a channel whose queue grows beyond `queue_size` loses its
//! oldest message ([`DropReason::QueueOverflow`]). Because the search always runs until some
//! channel is empty again, no queue ever holds more than `queue_size` messages after a call.
//!
//! Unlike ApproximateTime, the choice is not optimal and there is no look-ahead: a set is
//! emitted as soon as the heads fit within epsilon.
//!
//! Stamps that go backwards on a channel follow the rule in [`super::policy`] (ROS 2 does not
//! check; with increasing stamps per channel the rule never fires and the sets are ROS 2's).

use std::collections::VecDeque;

use super::policy::{check_shape, Admission, ConfigError, DropReason, Emitted, Policy, StampGuard};

/// One queued message.
#[derive(Debug)]
struct Slot<M> {
    stamp: i64,
    msg: M,
}

/// The ROS 2 ApproximateEpsilonTime synchronizer policy over payloads `M`.
#[derive(Debug)]
pub struct ApproximateEpsilonTime<M> {
    channels: usize,
    queue_size: usize,
    epsilon: i64,
    queues: Vec<VecDeque<Slot<M>>>,
    /// The backwards-stamp rule's state.
    guard: StampGuard,
}

impl<M> ApproximateEpsilonTime<M> {
    /// Creates the policy: `channels` in 2..=9, `queue_size` >= 1, `epsilon_ns` >= 0.
    pub fn new(channels: usize, queue_size: usize, epsilon_ns: i64) -> Result<Self, ConfigError> {
        check_shape(channels, queue_size)?;
        if epsilon_ns < 0 {
            return Err(ConfigError::Epsilon(epsilon_ns));
        }
        Ok(ApproximateEpsilonTime {
            channels,
            queue_size,
            epsilon: epsilon_ns,
            queues: (0..channels).map(|_| VecDeque::new()).collect(),
            guard: StampGuard::new(channels),
        })
    }

    /// Sets how far back (ns, > 0) a stamp must jump on a channel to reset instead of being dropped.
    pub fn rewind_reset_threshold(mut self, ns: i64) -> Result<Self, ConfigError> {
        self.guard.set_rewind_threshold(ns)?;
        Ok(self)
    }

    /// The configured queue size (per channel).
    pub fn queue_size(&self) -> usize {
        self.queue_size
    }

    /// The configured epsilon in nanoseconds.
    pub fn epsilon(&self) -> i64 {
        self.epsilon
    }

    /// True when every channel has at least one queued message.
    fn all_non_empty(&self) -> bool {
        self.queues.iter().all(|q| !q.is_empty())
    }

    /// Runs the search while every channel has a head (see the module documentation).
    fn process(&mut self, out: &mut Emitted<M>) {
        while self.all_non_empty() {
            // Oldest head; the lowest channel wins ties (strict comparison).
            let mut oldest = i64::MAX;
            for q in &self.queues {
                if let Some(head) = q.front() {
                    if head.stamp < oldest {
                        oldest = head.stamp;
                    }
                }
            }
            let limit = oldest.saturating_add(self.epsilon);
            let fits = self
                .queues
                .iter()
                .all(|q| q.front().is_some_and(|head| head.stamp <= limit));
            if fits {
                let set = self
                    .queues
                    .iter_mut()
                    .filter_map(|q| q.pop_front().map(|slot| slot.msg))
                    .collect();
                out.sets.push(set);
            } else {
                for (ch, q) in self.queues.iter_mut().enumerate() {
                    if q.front().is_some_and(|head| head.stamp <= limit) {
                        if let Some(slot) = q.pop_front() {
                            out.drop_msg(ch, slot.stamp, slot.msg, DropReason::OutsideEpsilon);
                        }
                    }
                }
            }
        }
    }

    /// Drops every queued message with `reason`.
    fn drop_all(&mut self, reason: DropReason, out: &mut Emitted<M>) {
        for (ch, q) in self.queues.iter_mut().enumerate() {
            for slot in q.drain(..) {
                out.drop_msg(ch, slot.stamp, slot.msg, reason);
            }
        }
    }
}

impl<M> Policy<M> for ApproximateEpsilonTime<M> {
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

        self.queues[channel].push_back(Slot { stamp, msg });
        if self.all_non_empty() {
            self.process(out);
        } else if self.queues[channel].len() > self.queue_size {
            if let Some(slot) = self.queues[channel].pop_front() {
                out.drop_msg(channel, slot.stamp, slot.msg, DropReason::QueueOverflow);
            }
        }
    }

    fn reset(&mut self, out: &mut Emitted<M>) {
        self.drop_all(DropReason::Reset, out);
        self.guard.forget();
    }

    fn pending(&self) -> usize {
        self.queues.iter().map(VecDeque::len).sum()
    }

    fn time_jumps(&self) -> u64 {
        self.guard.time_jumps()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    /// Feeds `(channel, stamp)` pairs with their index as payload.
    fn run(p: &mut ApproximateEpsilonTime<usize>, msgs: &[(usize, i64)]) -> Emitted<usize> {
        let mut out = Emitted::new();
        for (id, &(ch, st)) in msgs.iter().enumerate() {
            p.add(ch, st, id, &mut out);
        }
        out
    }

    /// Stamps of every emitted set, given the fed messages.
    fn set_stamps(msgs: &[(usize, i64)], out: &Emitted<usize>) -> Vec<Vec<i64>> {
        out.sets
            .iter()
            .map(|set| set.iter().map(|&id| msgs[id].1).collect())
            .collect()
    }

    #[test]
    fn rejects_bad_config() {
        assert_eq!(
            ApproximateEpsilonTime::<u8>::new(1, 5, 0).err(),
            Some(ConfigError::ChannelCount(1))
        );
        assert_eq!(
            ApproximateEpsilonTime::<u8>::new(10, 5, 0).err(),
            Some(ConfigError::ChannelCount(10))
        );
        assert_eq!(
            ApproximateEpsilonTime::<u8>::new(2, 0, 0).err(),
            Some(ConfigError::QueueSize(0))
        );
        assert_eq!(
            ApproximateEpsilonTime::<u8>::new(2, 3, -1).err(),
            Some(ConfigError::Epsilon(-1))
        );
        let p = ApproximateEpsilonTime::<u8>::new(9, 1, 0).expect("valid");
        assert_eq!((p.queue_size(), p.epsilon()), (1, 0));
        assert_eq!(
            p.rewind_reset_threshold(0).err(),
            Some(ConfigError::RewindThreshold(0))
        );
    }

    /// ROS 2 test `ApproxTimeSync.ExactMatch` (epsilon 0.5 s, queue 10).
    #[test]
    fn ros2_exact_match() {
        let msgs = [
            (0, 0),
            (1, 0),
            (0, 3 * S),
            (1, 3 * S),
            (0, 6 * S),
            (1, 6 * S),
        ];
        let mut p = ApproximateEpsilonTime::new(2, 10, S / 2).expect("valid");
        let out = run(&mut p, &msgs);
        assert_eq!(
            set_stamps(&msgs, &out),
            vec![vec![0, 0], vec![3 * S, 3 * S], vec![6 * S, 6 * S]]
        );
        assert!(out.drops.is_empty());
        assert_eq!(p.pending(), 0);
    }

    /// ROS 2 test `ApproxTimeSync.PerfectMatch` (epsilon 1.5 s, queue 10).
    #[test]
    fn ros2_perfect_match() {
        let msgs = [
            (0, 0),
            (1, S),
            (0, 3 * S),
            (1, 4 * S),
            (0, 6 * S),
            (1, 7 * S),
        ];
        let mut p = ApproximateEpsilonTime::new(2, 10, 3 * S / 2).expect("valid");
        let out = run(&mut p, &msgs);
        assert_eq!(
            set_stamps(&msgs, &out),
            vec![vec![0, S], vec![3 * S, 4 * S], vec![6 * S, 7 * S]]
        );
        assert!(out.drops.is_empty());
    }

    /// ROS 2 test `ApproxTimeSync.ImperfectMatch` (epsilon 1.5 s, queue 10): `x` is skipped.
    #[test]
    fn ros2_imperfect_match() {
        let msgs = [
            (0, 0),
            (1, S),
            (0, 2 * S),
            (0, 3 * S),
            (1, 4 * S),
            (0, 6 * S),
            (1, 7 * S),
        ];
        let mut p = ApproximateEpsilonTime::new(2, 10, 3 * S / 2).expect("valid");
        let out = run(&mut p, &msgs);
        assert_eq!(
            set_stamps(&msgs, &out),
            vec![vec![0, S], vec![3 * S, 4 * S], vec![6 * S, 7 * S]]
        );
        assert_eq!(out.drops.len(), 1);
        assert_eq!(out.drops[0].msg, 2);
        assert_eq!(out.drops[0].reason, DropReason::OutsideEpsilon);
        assert_eq!(p.pending(), 0);
    }

    #[test]
    fn drops_every_head_near_the_oldest() {
        // Heads 0, 1 s, 2 s with epsilon 1.5 s: the 2 s head is out of reach, so both the
        // 0 and 1 s heads go (ROS 2 is greedy), even though {1 s, 2 s} would fit.
        let msgs = [
            (0, 0),
            (1, S),
            (2, 2 * S),
            (0, 5 * S / 2),
            (1, 3 * S),
            (2, 3 * S),
        ];
        let mut p = ApproximateEpsilonTime::new(3, 10, 3 * S / 2).expect("valid");
        let out = run(&mut p, &msgs);
        let dropped: Vec<_> = out.drops.iter().map(|d| (d.msg, d.reason)).collect();
        assert_eq!(
            dropped,
            vec![
                (0, DropReason::OutsideEpsilon),
                (1, DropReason::OutsideEpsilon)
            ]
        );
        // Next round: heads 2.5 s, 3 s, 2 s -> all within 1.5 s of 2 s.
        assert_eq!(out.sets, vec![vec![3, 4, 2]]);
        assert_eq!(p.pending(), 1);
        let mut rest = Emitted::new();
        p.reset(&mut rest);
        assert_eq!(rest.drops.len(), 1);
        assert_eq!(
            (rest.drops[0].msg, rest.drops[0].reason),
            (5, DropReason::Reset)
        );
        assert_eq!(p.pending(), 0);
    }

    #[test]
    fn overflow_only_while_some_channel_is_empty() {
        let mut p = ApproximateEpsilonTime::new(2, 2, 0).expect("valid");
        let msgs = [(0, 1), (0, 2), (0, 3), (1, 3)];
        let out = run(&mut p, &msgs);
        let dropped: Vec<_> = out.drops.iter().map(|d| (d.msg, d.reason)).collect();
        // 1 overflows; then heads 2 and 3: 2 is dropped as outside epsilon; then 3 == 3.
        assert_eq!(
            dropped,
            vec![
                (0, DropReason::QueueOverflow),
                (1, DropReason::OutsideEpsilon)
            ]
        );
        assert_eq!(out.sets, vec![vec![2, 3]]);
    }

    #[test]
    fn backwards_stamps_and_unknown_channel() {
        let mut p = ApproximateEpsilonTime::new(2, 5, 10).expect("valid");
        let msgs = [(0, 5 * S), (0, 5 * S - 1), (0, 100 * S), (0, S), (1, S)];
        let out = run(&mut p, &msgs);
        let dropped: Vec<_> = out.drops.iter().map(|d| (d.msg, d.reason)).collect();
        assert_eq!(
            dropped,
            vec![
                (1, DropReason::StampWentBack),
                (0, DropReason::TimeJumpedBack),
                (2, DropReason::TimeJumpedBack)
            ]
        );
        assert_eq!(out.sets, vec![vec![3, 4]]);
        assert_eq!(p.time_jumps(), 1);
        let mut out = Emitted::new();
        p.add(2, 0, 9, &mut out);
        assert_eq!(out.drops[0].reason, DropReason::UnknownChannel);
        assert_eq!(p.pending(), 0);
    }

    #[test]
    fn saturates_near_the_end_of_time() {
        let mut p = ApproximateEpsilonTime::new(2, 5, i64::MAX).expect("valid");
        let out = run(&mut p, &[(0, i64::MAX - 1), (1, i64::MAX)]);
        assert_eq!(out.sets, vec![vec![0, 1]]);
    }
}
