//! ApproximateTime: emits sets of one message per channel whose stamps are as close together
//! as possible, following the ROS 1 `message_filters` ApproximateTime algorithm exactly.
//!
//! # How the algorithm works (in our words)
//!
//! Each channel has a queue. Its front part is *hidden* (messages already stepped over while
//! searching, ROS's "past" vectors); the rest is *visible*. Only while every channel has a
//! visible message does the search advance:
//!
//! 1. Look at the visible head of every channel. The oldest head is the *start*, the newest
//!    head is the *end*; ties pick the lowest channel for the start and the highest for the end.
//! 2. Without a candidate: if `end - start` exceeds the max interval, or the end's channel has
//!    lost messages to overflow since it last was not the end, the start message is dropped
//!    and the search repeats. Otherwise the heads become the *candidate*, the end channel
//!    becomes the *pivot* (its stamp the pivot time), and the start message is hidden.
//! 3. With a candidate: the heads are a better candidate when
//!    `(end - cand_end) * (1 + age_penalty) < start - cand_start`; a better candidate
//!    replaces the old one (hidden messages older than it are dropped as superseded), keeping
//!    the pivot. Either way the start message is hidden.
//! 4. The candidate is published when the start was the pivot itself (every candidate that
//!    contains the pivot has been seen), or when `(end - cand_end) * (1 + age_penalty)` is at
//!    least `pivot_time - cand_start` (any later candidate must span at least
//!    `[pivot_time, end]`, which is already worse).
//! 5. Otherwise, if some channel has no visible message, a *virtual* search tries to prove the
//!    candidate optimal early: a channel with nothing visible is assumed to deliver next at
//!    `max(last hidden stamp + inter-message lower bound, pivot_time)`; the search keeps
//!    stepping over the oldest (possibly virtual) head until it either proves optimality
//!    (publish) or finds an optimistic candidate that would be better (undo the virtual steps
//!    and wait for more messages).
//!
//! Publishing un-hides everything and removes the candidate's messages (always the first
//! message of every queue). When a channel's queue (hidden plus visible) grows beyond
//! `queue_size`, the search is cancelled, that channel's oldest message is dropped, the
//! channel is marked as having lost messages, and if a candidate existed it is discarded and
//! the search restarts.
//!
//! Durations are compared exactly like ROS 1 does, including the `Duration * double`
//! conversion through floating-point seconds, so results match to the nanosecond.
//!
//! Stamps that go backwards on a channel follow the rule in [`super::policy`].

use std::collections::VecDeque;

use super::policy::{
    check_shape, Admission, ConfigError, DropReason, Emitted, Policy, StampGuard, MAX_CHANNELS,
};

const NS_PER_SEC: i64 = 1_000_000_000;

/// One queued message.
#[derive(Debug)]
struct Slot<M> {
    stamp: i64,
    msg: M,
}

/// The current best set under consideration; its messages are the first of every queue.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    pivot: usize,
    pivot_time: i64,
    start: i64,
    end: i64,
}

/// The ROS ApproximateTime synchronizer policy over payloads `M`.
#[derive(Debug)]
pub struct ApproximateTime<M> {
    channels: usize,
    queue_size: usize,
    max_interval: Option<i64>,
    age_penalty: f64,
    /// `1 + age_penalty`, the factor applied to the end-time drift.
    age_factor: f64,
    lower_bounds: Vec<i64>,
    queues: Vec<VecDeque<Slot<M>>>,
    /// Per channel, how many messages at the front of the queue are hidden.
    hidden: Vec<usize>,
    /// Per channel, whether it lost messages to overflow and may not become a pivot yet.
    lost: Vec<bool>,
    candidate: Option<Candidate>,
    /// The backwards-stamp rule's state.
    guard: StampGuard,
}

/// Scales a duration the way ROS 1 `Duration * double` does: through seconds as `f64`,
/// floored to whole seconds and rounded to nanoseconds. Out-of-range results saturate.
fn ros_scale(d: i64, factor: f64) -> i64 {
    let sec = d.div_euclid(NS_PER_SEC);
    let nsec = d.rem_euclid(NS_PER_SEC);
    let secs = sec as f64 + 1e-9 * nsec as f64;
    let scaled = secs * factor;
    let whole = scaled.floor();
    if whole.is_nan() {
        return 0;
    }
    if whole < i32::MIN as f64 {
        return i64::MIN;
    }
    if whole > i32::MAX as f64 {
        return i64::MAX;
    }
    let whole_i = whole as i64;
    let frac_ns = ((scaled - whole_i as f64) * 1e9).round() as i64;
    whole_i * NS_PER_SEC + frac_ns
}

impl<M> ApproximateTime<M> {
    /// Creates the policy; `channels` must be 2..=9 and `queue_size` at least 1.
    ///
    /// Defaults as ROS: no max interval, age penalty 0.1, no inter-message lower bounds.
    pub fn new(channels: usize, queue_size: usize) -> Result<Self, ConfigError> {
        check_shape(channels, queue_size)?;
        Ok(ApproximateTime {
            channels,
            queue_size,
            max_interval: None,
            age_penalty: 0.1,
            age_factor: 1.0 + 0.1,
            lower_bounds: vec![0; channels],
            queues: (0..channels).map(|_| VecDeque::new()).collect(),
            hidden: vec![0; channels],
            lost: vec![false; channels],
            candidate: None,
            guard: StampGuard::new(channels),
        })
    }

    /// Sets the largest allowed spread (ns, >= 0) between the stamps of one set.
    pub fn max_interval_duration(mut self, ns: i64) -> Result<Self, ConfigError> {
        if ns < 0 {
            return Err(ConfigError::MaxInterval(ns));
        }
        self.max_interval = Some(ns);
        Ok(self)
    }

    /// Sets the age penalty (finite, >= 0): how much newer sets are penalised against spread.
    pub fn age_penalty(mut self, penalty: f64) -> Result<Self, ConfigError> {
        if !penalty.is_finite() || penalty < 0.0 {
            return Err(ConfigError::AgePenalty(penalty));
        }
        self.age_penalty = penalty;
        self.age_factor = 1.0 + penalty;
        Ok(self)
    }

    /// Declares that consecutive stamps on `channel` are at least `ns` (>= 0) apart.
    pub fn inter_message_lower_bound(
        mut self,
        channel: usize,
        ns: i64,
    ) -> Result<Self, ConfigError> {
        if channel >= self.channels {
            return Err(ConfigError::ChannelIndex {
                channel,
                channels: self.channels,
            });
        }
        if ns < 0 {
            return Err(ConfigError::LowerBound(ns));
        }
        self.lower_bounds[channel] = ns;
        Ok(self)
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

    /// The configured max interval duration in ns, `None` when unlimited.
    pub fn max_interval(&self) -> Option<i64> {
        self.max_interval
    }

    /// The configured age penalty.
    pub fn penalty(&self) -> f64 {
        self.age_penalty
    }

    /// True when every channel has at least one visible message.
    fn all_visible(&self) -> bool {
        self.queues
            .iter()
            .zip(&self.hidden)
            .all(|(q, &h)| h < q.len())
    }

    /// Oldest (lowest channel on ties) and newest (highest channel on ties) of `times`.
    fn bounds(times: &[i64]) -> ((usize, i64), (usize, i64)) {
        let mut start = (0, times[0]);
        let mut end = (0, times[0]);
        for (i, &t) in times.iter().enumerate().skip(1) {
            if t < start.1 {
                start = (i, t);
            }
            if t >= end.1 {
                end = (i, t);
            }
        }
        (start, end)
    }

    /// Stamps of the visible heads; only valid when every channel has one.
    fn head_times(&self, buf: &mut [i64; MAX_CHANNELS]) {
        for (i, q) in self.queues.iter().enumerate() {
            buf[i] = q.get(self.hidden[i]).map_or(i64::MAX, |s| s.stamp);
        }
    }

    /// Drops the first visible message of `channel` (no candidate exists, so nothing is hidden).
    fn drop_head(&mut self, channel: usize, reason: DropReason, out: &mut Emitted<M>) {
        let at = self.hidden[channel];
        if let Some(slot) = self.queues[channel].remove(at) {
            out.drop_msg(channel, slot.stamp, slot.msg, reason);
        }
    }

    /// Makes the visible heads the candidate: hidden messages are older than it and are dropped.
    fn take_heads_as_candidate(&mut self, out: &mut Emitted<M>) {
        for ch in 0..self.channels {
            let older = self.hidden[ch];
            for slot in self.queues[ch].drain(..older) {
                out.drop_msg(ch, slot.stamp, slot.msg, DropReason::Superseded);
            }
            self.hidden[ch] = 0;
        }
    }

    /// Emits the candidate (the first message of every queue) and un-hides everything.
    fn publish(&mut self, out: &mut Emitted<M>) {
        self.candidate = None;
        let mut set = Vec::with_capacity(self.channels);
        for ch in 0..self.channels {
            self.hidden[ch] = 0;
            if let Some(slot) = self.queues[ch].pop_front() {
                set.push(slot.msg);
            }
        }
        out.sets.push(set);
    }

    /// Tries to prove the candidate optimal using virtual future messages; publishes if so.
    fn virtual_search(&mut self, cand: Candidate, out: &mut Emitted<M>) {
        let n = self.channels;
        let mut moved = [0usize; MAX_CHANNELS];
        let mut times = [0i64; MAX_CHANNELS];
        let need = cand.pivot_time.saturating_sub(cand.start);
        loop {
            let chans = self.queues.iter().zip(&self.hidden).zip(&self.lower_bounds);
            for (time, ((q, &h), &bound)) in times.iter_mut().zip(chans) {
                *time = match q.get(h) {
                    Some(slot) => slot.stamp,
                    None => match h.checked_sub(1).and_then(|last| q.get(last)) {
                        Some(last) => last.stamp.saturating_add(bound).max(cand.pivot_time),
                        None => cand.pivot_time,
                    },
                };
            }
            let ((start_ch, start), (_, end)) = Self::bounds(&times[..n]);
            let drift = ros_scale(end.saturating_sub(cand.end), self.age_factor);
            if drift >= need {
                self.publish(out);
                return;
            }
            let real_head = self.hidden[start_ch] < self.queues[start_ch].len();
            if drift < start.saturating_sub(cand.start) || !real_head {
                for (h, m) in self.hidden.iter_mut().zip(moved) {
                    *h -= m;
                }
                return;
            }
            self.hidden[start_ch] += 1;
            moved[start_ch] += 1;
        }
    }

    /// Advances the search while every channel has a visible message.
    fn process(&mut self, out: &mut Emitted<M>) {
        let n = self.channels;
        let mut times = [0i64; MAX_CHANNELS];
        while self.all_visible() {
            self.head_times(&mut times);
            let ((start_ch, start), (end_ch, end)) = Self::bounds(&times[..n]);
            for (ch, lost) in self.lost.iter_mut().enumerate() {
                if ch != end_ch {
                    *lost = false;
                }
            }
            let cand = match self.candidate {
                None => {
                    if self
                        .max_interval
                        .is_some_and(|max| end.saturating_sub(start) > max)
                    {
                        self.drop_head(start_ch, DropReason::OutsideMaxInterval, out);
                        continue;
                    }
                    if self.lost[end_ch] {
                        self.drop_head(start_ch, DropReason::PivotOverflowed, out);
                        continue;
                    }
                    self.take_heads_as_candidate(out);
                    Candidate {
                        pivot: end_ch,
                        pivot_time: end,
                        start,
                        end,
                    }
                }
                Some(c) => {
                    let drift = ros_scale(end.saturating_sub(c.end), self.age_factor);
                    if drift >= start.saturating_sub(c.start) {
                        c
                    } else {
                        self.take_heads_as_candidate(out);
                        Candidate { start, end, ..c }
                    }
                }
            };
            self.candidate = Some(cand);
            self.hidden[start_ch] += 1;

            // Publish once the start reached the pivot (all candidates seen), or when any
            // later candidate would have to span [pivot_time, end], already no better.
            let exhausted = start_ch == cand.pivot;
            if exhausted
                || ros_scale(end.saturating_sub(cand.end), self.age_factor)
                    >= cand.pivot_time.saturating_sub(cand.start)
            {
                self.publish(out);
            } else if !self.all_visible() {
                self.virtual_search(cand, out);
            }
        }
    }

    /// Drops every queued message with `reason` and returns to the initial state.
    fn drop_all(&mut self, reason: DropReason, out: &mut Emitted<M>) {
        for ch in 0..self.channels {
            for slot in self.queues[ch].drain(..) {
                out.drop_msg(ch, slot.stamp, slot.msg, reason);
            }
            self.hidden[ch] = 0;
            self.lost[ch] = false;
        }
        self.candidate = None;
    }
}

impl<M> Policy<M> for ApproximateTime<M> {
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
        let visible = self.queues[channel].len() - self.hidden[channel];
        if visible == 1 && self.all_visible() {
            self.process(out);
        }

        if self.queues[channel].len() > self.queue_size {
            // Cancel the search, evict the oldest message of this channel.
            self.hidden.iter_mut().for_each(|h| *h = 0);
            if let Some(slot) = self.queues[channel].pop_front() {
                out.drop_msg(channel, slot.stamp, slot.msg, DropReason::QueueOverflow);
            }
            self.lost[channel] = true;
            if self.candidate.take().is_some() {
                self.process(out);
            }
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
        self.queues.iter().map(VecDeque::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = NS_PER_SEC;

    fn run(p: &mut ApproximateTime<usize>, msgs: &[(usize, i64)]) -> Emitted<usize> {
        let mut out = Emitted::new();
        for (id, &(ch, st)) in msgs.iter().enumerate() {
            p.add(ch, st, id, &mut out);
        }
        out
    }

    #[test]
    fn rejects_bad_config() {
        assert_eq!(
            ApproximateTime::<u8>::new(1, 5).err(),
            Some(ConfigError::ChannelCount(1))
        );
        assert_eq!(
            ApproximateTime::<u8>::new(2, 0).err(),
            Some(ConfigError::QueueSize(0))
        );
        let p = ApproximateTime::<u8>::new(3, 5).expect("valid");
        assert_eq!(
            p.inter_message_lower_bound(3, 1).err(),
            Some(ConfigError::ChannelIndex {
                channel: 3,
                channels: 3
            })
        );
        let p = ApproximateTime::<u8>::new(3, 5).expect("valid");
        assert_eq!(
            p.age_penalty(-1.0).err(),
            Some(ConfigError::AgePenalty(-1.0))
        );
        let p = ApproximateTime::<u8>::new(3, 5).expect("valid");
        assert_eq!(
            p.max_interval_duration(-3).err(),
            Some(ConfigError::MaxInterval(-3))
        );
    }

    #[test]
    fn scale_matches_ros_duration_arithmetic() {
        assert_eq!(ros_scale(0, 1.1), 0);
        assert_eq!(ros_scale(S, 1.1), 1_100_000_000);
        assert_eq!(ros_scale(-S, 1.1), -1_100_000_000);
        assert_eq!(ros_scale(3, 1.5), 5);
        assert_eq!(ros_scale(-3, 1.5), -4);
        assert_eq!(ros_scale(i64::MAX / 2, 10.0), i64::MAX);
    }

    #[test]
    fn perfect_match_and_early_publish() {
        let mut p = ApproximateTime::new(2, 10).expect("valid");
        let out = run(
            &mut p,
            &[
                (0, 0),
                (1, S),
                (0, 3 * S),
                (1, 4 * S),
                (0, 6 * S),
                (1, 7 * S),
            ],
        );
        assert_eq!(out.sets, vec![vec![0, 1], vec![2, 3]]);
        let mut p = ApproximateTime::new(2, 10)
            .and_then(|p| p.inter_message_lower_bound(0, 2 * S))
            .expect("valid");
        let out = run(
            &mut p,
            &[
                (0, 0),
                (1, S),
                (0, 3 * S),
                (1, 4 * S),
                (0, 6 * S),
                (1, 7 * S),
            ],
        );
        assert_eq!(out.sets, vec![vec![0, 1], vec![2, 3], vec![4, 5]]);
    }

    #[test]
    fn max_interval_and_overflow_drops() {
        let mut p = ApproximateTime::new(2, 1)
            .and_then(|p| p.max_interval_duration(S / 2))
            .expect("valid");
        let out = run(&mut p, &[(0, 0), (1, S), (0, 2 * S), (1, 2 * S)]);
        assert_eq!(out.sets, vec![vec![2, 3]]);
        let reasons: Vec<_> = out.drops.iter().map(|d| (d.msg, d.reason)).collect();
        assert_eq!(
            reasons,
            vec![
                (0, DropReason::OutsideMaxInterval),
                (1, DropReason::OutsideMaxInterval)
            ]
        );
    }

    #[test]
    fn backwards_rule_and_accounting() {
        let mut p = ApproximateTime::new(2, 4).expect("valid");
        let out = run(
            &mut p,
            &[
                (0, 5 * S),
                (0, 5 * S - 10),
                (1, 100 * S),
                (1, 3 * S),
                (0, 3 * S),
            ],
        );
        let reasons: Vec<_> = out.drops.iter().map(|d| (d.msg, d.reason)).collect();
        // 1 is a straggler; 3 jumps back 97 s on channel 1, which resets (0 and 2 dropped);
        // then 3 and 4 form a set in the fresh state.
        assert_eq!(out.sets, vec![vec![4, 3]]);
        assert_eq!(
            reasons,
            vec![
                (1, DropReason::StampWentBack),
                (0, DropReason::TimeJumpedBack),
                (2, DropReason::TimeJumpedBack)
            ]
        );
        assert_eq!(p.pending(), 0);
        let mut out = Emitted::new();
        p.add(0, 4 * S, 10, &mut out);
        p.add(5, 4 * S, 11, &mut out);
        assert_eq!(out.drops.len(), 1);
        assert_eq!(out.drops[0].reason, DropReason::UnknownChannel);
        p.reset(&mut out);
        assert_eq!(out.drops.len(), 2);
        assert_eq!(out.drops[1].msg, 10);
        assert_eq!(out.drops[1].reason, DropReason::Reset);
    }

    #[test]
    fn looped_log_resets_once_and_resumes() {
        let mut p = ApproximateTime::new(2, 5).expect("valid");
        let mut msgs = Vec::new();
        for lap in 0..2 {
            for t in 0..5 {
                msgs.push((0, t * S + lap));
                msgs.push((1, t * S + 10 + lap));
            }
        }
        let out = run(&mut p, &msgs);
        // lap 1 publishes t=0..3 (t=4 still waits as candidate); the loop resets once,
        // dropping t=4 of both channels, then lap 2 publishes t=0..3 again.
        assert_eq!(out.sets.len(), 8);
        let jumped: Vec<_> = out
            .drops
            .iter()
            .filter(|d| d.reason == DropReason::TimeJumpedBack)
            .map(|d| d.msg)
            .collect();
        assert_eq!(jumped, vec![8, 9]);
        assert_eq!(out.drops.len(), 2);
        assert_eq!(out.sets[4], vec![10, 11]);
    }
}
