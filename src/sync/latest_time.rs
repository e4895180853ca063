//! LatestTime: emits the newest message of every channel each time the fastest channel (the
//! *pivot*) delivers, following ROS 2 `message_filters` LatestTime. Slower channels are
//! repeated (zero-order hold) until they deliver something newer.
//!
//! # How the algorithm works (in our words)
//!
//! The policy holds at most one message per channel, the newest one, and estimates every
//! channel's rate from the times its messages arrive:
//!
//! * The first message on a channel is only stored; it also starts that channel's rate clock.
//! * Every later message replaces the stored one, then updates the channel's rate estimate.
//!   The first interval sets the rate (`1 / period`); the second sets the *error* (how far the
//!   new instantaneous rate is from the estimate); from then on the rate and the error are
//!   exponential moving averages (defaults: rate weight 0.9, error weight 0.3). When an
//!   instantaneous rate differs from the estimate by more than `margin * error` (default
//!   margin 10), a step change is assumed and the estimate restarts from that interval alone.
//!   An interval that is not positive leaves the estimate untouched and makes the update
//!   invalid.
//! * After a valid update, the pivot is chosen: channels sorted by estimated rate, fastest
//!   first (lower channel first on equal rates); the first one that has a rate and is not
//!   *late* is the pivot. A channel is late when its error is known and its estimated rate
//!   exceeds `1 / (time since its last message)` by more than `margin * error`; a channel
//!   that received a message at this very instant is never late.
//! * When the channel that just delivered is the pivot and every channel holds a message, a
//!   set of the held messages is emitted.
//!
//! # Time source
//!
//! ROS 2 reads a clock (`rclcpp::Clock::now()`) when a message arrives. To keep this core pure
//! and replayable, time is an explicit input: [`Policy::add_at`] takes the arrival time in
//! nanoseconds (a [`Synchronizer`](super::Synchronizer) built
//! [`with_clock`](super::Synchronizer::with_clock) passes its clock at reception, such as the
//! node clock), and [`Policy::add`] uses the message stamp as the arrival time, so rates are
//! then estimated from header stamps.
//!
//! # Accounting
//!
//! Because held messages are repeated, one message can be part of several sets. A message
//! counts as *delivered* once it is in at least one set; it is then never reported as dropped.
//! A held message that is replaced before any set used it is dropped with
//! [`DropReason::Outdated`]. [`Policy::pending`] counts held messages not used by any set yet,
//! so every message added is in one or more sets, in exactly one drop, or pending.
//! [`Policy::reset`] drops the unused held messages and silently releases the used ones.
//!
//! # Differences from ROS 2
//!
//! * ROS 2 allocates rate estimators in the order channels first deliver but looks them up by
//!   channel index; here each channel has its own estimator.
//! * Stamps going backwards follow the rule in [`super::policy`]. Additionally, an arrival
//!   time at least the rewind threshold before the channel's last rate update (a restarted
//!   clock) resets the policy like a stamp jump; smaller arrival-time regressions behave as in
//!   ROS 2 (invalid update, no set).

use std::cmp::Ordering;

use super::policy::{
    check_shape, check_stamp, ConfigError, DropReason, Emitted, Policy, StampCheck, StampGuard,
};

/// Rate-estimator parameters of one channel (ROS 2 `RateConfig`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateConfig {
    /// Weight of the newest interval in the moving average of the rate (ROS 2 default 0.9).
    pub rate_ema_alpha: f64,
    /// Weight of the newest deviation in the moving average of the rate error (default 0.3).
    pub error_ema_alpha: f64,
    /// How many mean errors a rate may deviate before it counts as a step change or as late
    /// (default 10).
    pub step_change_margin: f64,
}

impl Default for RateConfig {
    fn default() -> Self {
        RateConfig {
            rate_ema_alpha: 0.9,
            error_ema_alpha: 0.3,
            step_change_margin: 10.0,
        }
    }
}

impl RateConfig {
    /// Checks that every value is finite and non-negative, naming the first bad one.
    fn check(&self) -> Result<(), ConfigError> {
        for (name, value) in [
            ("rate_ema_alpha", self.rate_ema_alpha),
            ("error_ema_alpha", self.error_ema_alpha),
            ("step_change_margin", self.step_change_margin),
        ] {
            if !value.is_finite() || value < 0.0 {
                return Err(ConfigError::RateSetting { name, value });
            }
        }
        Ok(())
    }
}

/// Online rate estimate of one channel.
#[derive(Debug, Clone, Copy)]
struct Rate {
    /// Arrival time of the last message that updated the estimate (or started it).
    prev: i64,
    hz: f64,
    error: f64,
    need_hz: bool,
    need_error: bool,
    cfg: RateConfig,
}

/// Seconds from `from` to `to`, as ROS computes `(to - from).seconds()`.
fn seconds_between(from: i64, to: i64) -> f64 {
    to.saturating_sub(from) as f64 / 1e9
}

impl Rate {
    /// Starts an estimate at the arrival time of a channel's first message.
    fn new(start: i64, cfg: RateConfig) -> Self {
        Rate {
            prev: start,
            hz: 0.0,
            error: 0.0,
            need_hz: true,
            need_error: true,
            cfg,
        }
    }

    /// Folds in a message arriving at `now`; false when the interval is not positive.
    fn update(&mut self, now: i64) -> bool {
        let period = seconds_between(self.prev, now);
        if period <= 0.0 {
            return false;
        }
        // At most two rounds: a detected step change restarts the estimate from this interval.
        loop {
            if self.need_hz {
                self.hz = 1.0 / period;
                self.need_hz = false;
                break;
            }
            let deviation = (self.hz - 1.0 / period).abs();
            if self.need_error {
                self.error = deviation;
                self.need_error = false;
            } else if deviation > self.cfg.step_change_margin * self.error {
                self.need_hz = true;
                self.need_error = true;
                continue;
            } else {
                let a = self.cfg.error_ema_alpha;
                self.error = a * deviation + (1.0 - a) * self.error;
            }
            let a = self.cfg.rate_ema_alpha;
            self.hz = a / period + (1.0 - a) * self.hz;
            break;
        }
        self.prev = now;
        true
    }

    /// True when the channel has been silent for clearly longer than its rate predicts.
    fn is_late(&self, now: i64) -> bool {
        if self.need_error {
            return false;
        }
        let period = seconds_between(self.prev, now);
        self.hz - 1.0 / period > self.cfg.step_change_margin * self.error
    }
}

/// The newest message of one channel.
#[derive(Debug)]
struct Held<M> {
    stamp: i64,
    msg: M,
    /// Whether some set already contained this message.
    used: bool,
}

/// The ROS 2 LatestTime synchronizer policy over payloads `M`.
#[derive(Debug)]
pub struct LatestTime<M> {
    channels: usize,
    configs: Vec<RateConfig>,
    held: Vec<Option<Held<M>>>,
    rates: Vec<Option<Rate>>,
    /// The backwards-stamp rule's state (also applied to arrival times).
    guard: StampGuard,
}

impl<M> LatestTime<M> {
    /// Creates the policy for `channels` (2..=9) with ROS 2's default rate parameters.
    pub fn new(channels: usize) -> Result<Self, ConfigError> {
        check_shape(channels, 1)?;
        Ok(LatestTime {
            channels,
            configs: vec![RateConfig::default(); channels],
            held: (0..channels).map(|_| None).collect(),
            rates: vec![None; channels],
            guard: StampGuard::new(channels),
        })
    }

    /// Uses `config` (finite, non-negative values) for every channel's rate estimator.
    pub fn rate_config(mut self, config: RateConfig) -> Result<Self, ConfigError> {
        config.check()?;
        self.configs.iter_mut().for_each(|c| *c = config);
        Ok(self)
    }

    /// Uses `config` (finite, non-negative values) for the rate estimator of `channel` only.
    pub fn channel_rate_config(
        mut self,
        channel: usize,
        config: RateConfig,
    ) -> Result<Self, ConfigError> {
        if channel >= self.channels {
            return Err(ConfigError::ChannelIndex {
                channel,
                channels: self.channels,
            });
        }
        config.check()?;
        self.configs[channel] = config;
        Ok(self)
    }

    /// Sets how far back (ns, > 0) a stamp or arrival time must jump on a channel to reset.
    pub fn rewind_reset_threshold(mut self, ns: i64) -> Result<Self, ConfigError> {
        self.guard.set_rewind_threshold(ns)?;
        Ok(self)
    }

    /// The estimated rate of `channel` in Hz, once it has one.
    pub fn estimated_hz(&self, channel: usize) -> Option<f64> {
        self.rates
            .get(channel)
            .copied()
            .flatten()
            .filter(|r| !r.need_hz)
            .map(|r| r.hz)
    }

    /// Number of held messages, including those already emitted in a set.
    pub fn held(&self) -> usize {
        self.held.iter().flatten().count()
    }

    /// The channel that drives emission at time `now`, if any (ROS 2 `find_pivot`).
    fn pivot(&self, now: i64) -> Option<usize> {
        let mut order: Vec<(usize, f64)> = self
            .rates
            .iter()
            .enumerate()
            .filter_map(|(ch, r)| r.map(|r| (ch, r.hz)))
            .collect();
        // Stable sort: equal rates keep channel order.
        order.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(Ordering::Equal));
        order.into_iter().find_map(|(ch, hz)| {
            let rate = self.rates[ch]?;
            let fresh = rate.prev == now;
            if hz > 0.0 && (fresh || !rate.is_late(now)) {
                Some(ch)
            } else {
                None
            }
        })
    }

    /// Drops unused held messages with `reason` and forgets rates.
    fn drop_all(&mut self, reason: DropReason, out: &mut Emitted<M>) {
        for (ch, slot) in self.held.iter_mut().enumerate() {
            if let Some(h) = slot.take() {
                if !h.used {
                    out.drop_msg(ch, h.stamp, h.msg, reason);
                }
            }
        }
        self.rates.iter_mut().for_each(|r| *r = None);
    }
}

impl<M: Clone> Policy<M> for LatestTime<M> {
    fn channels(&self) -> usize {
        self.channels
    }

    /// Feeds one message, taking its stamp as the arrival time (see the module documentation).
    fn add(&mut self, channel: usize, stamp: i64, msg: M, out: &mut Emitted<M>) {
        self.add_at(channel, stamp, stamp, msg, out);
    }

    /// Feeds one message that arrived at `arrival_ns` (the time ROS 2 would read from its
    /// clock); rates are estimated from arrival times.
    fn add_at(
        &mut self,
        channel: usize,
        stamp: i64,
        arrival_ns: i64,
        msg: M,
        out: &mut Emitted<M>,
    ) {
        if channel >= self.channels {
            out.drop_msg(channel, stamp, msg, DropReason::UnknownChannel);
            return;
        }
        let stamp_check = self.guard.check(channel, stamp);
        let last_update = self.rates[channel].map(|r| r.prev);
        let arrival_check = check_stamp(last_update, arrival_ns, self.guard.rewind_ns());
        let rewind = stamp_check == StampCheck::Rewind || arrival_check == StampCheck::Rewind;
        if rewind {
            self.drop_all(DropReason::TimeJumpedBack, out);
        } else if stamp_check == StampCheck::Straggler {
            out.drop_msg(channel, stamp, msg, DropReason::StampWentBack);
            return;
        }
        self.guard.accept(channel, stamp, rewind);

        let fresh = Held {
            stamp,
            msg,
            used: false,
        };
        if let Some(old) = self.held[channel].replace(fresh) {
            if !old.used {
                out.drop_msg(channel, old.stamp, old.msg, DropReason::Outdated);
            }
        }
        let valid = match self.rates[channel].as_mut() {
            Some(rate) => rate.update(arrival_ns),
            // First message since the start (or a reset): it only starts the rate clock.
            None => {
                self.rates[channel] = Some(Rate::new(arrival_ns, self.configs[channel]));
                return;
            }
        };
        let full = self.held.iter().all(Option::is_some);
        if valid && full && self.pivot(arrival_ns) == Some(channel) {
            let mut set = Vec::with_capacity(self.channels);
            for h in self.held.iter_mut().flatten() {
                h.used = true;
                set.push(h.msg.clone());
            }
            out.sets.push(set);
        }
    }

    fn reset(&mut self, out: &mut Emitted<M>) {
        self.drop_all(DropReason::Reset, out);
        self.guard.forget();
    }

    fn pending(&self) -> usize {
        self.held.iter().flatten().filter(|h| !h.used).count()
    }

    fn time_jumps(&self) -> u64 {
        self.guard.time_jumps()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = 1_000_000;

    /// Replays the ROS 2 LatestTime test fixture: three channels `p`, `q`, `r`, one loop
    /// iteration every 20 ms. `adds(idx)` lists the `(channel, data)` messages added in
    /// iteration `idx`, in order; `gap` is the arrival spacing of adds within one iteration
    /// (a few microseconds of wall time in the real-time tests, zero under simulated time).
    /// `check(idx, count, last)` sees the callback count and last set after each iteration.
    fn replay(
        iterations: usize,
        gap: i64,
        adds: impl Fn(usize) -> Vec<(usize, usize)>,
        check: impl Fn(usize, usize, Option<&Vec<usize>>),
    ) {
        let mut p = LatestTime::new(3).expect("valid");
        let mut out = Emitted::new();
        let mut arrivals = 0;
        for idx in 0..iterations {
            for (k, (ch, data)) in adds(idx).into_iter().enumerate() {
                let now = idx as i64 * 20 * MS + k as i64 * gap;
                arrivals += 1;
                // Stamps are irrelevant to ROS 2's LatestTime; keep them increasing.
                p.add_at(ch, arrivals, now, data, &mut out);
            }
            check(idx, out.sets.len(), out.sets.last());
        }
        // Accounting: every message is in a set, dropped once, or pending.
        let mut seen = std::collections::HashSet::new();
        for set in &out.sets {
            for (ch, &data) in set.iter().enumerate() {
                seen.insert((ch, data));
            }
        }
        for d in &out.drops {
            assert!(seen.insert((d.channel, d.msg)), "reported twice: {d:?}");
        }
        assert_eq!(seen.len() + p.pending(), arrivals as usize);
    }

    const WALL_GAP: i64 = 10_000;

    #[test]
    fn rejects_bad_config() {
        assert_eq!(
            LatestTime::<u8>::new(1).err(),
            Some(ConfigError::ChannelCount(1))
        );
        assert_eq!(
            LatestTime::<u8>::new(10).err(),
            Some(ConfigError::ChannelCount(10))
        );
        let p = LatestTime::<u8>::new(2).expect("valid");
        let bad = RateConfig {
            rate_ema_alpha: f64::NAN,
            ..RateConfig::default()
        };
        assert!(matches!(
            p.rate_config(bad).err(),
            Some(ConfigError::RateSetting { name: "rate_ema_alpha", value }) if value.is_nan()
        ));
        let p = LatestTime::<u8>::new(2).expect("valid");
        assert_eq!(
            p.channel_rate_config(2, RateConfig::default()).err(),
            Some(ConfigError::ChannelIndex {
                channel: 2,
                channels: 2
            })
        );
        let p = LatestTime::<u8>::new(2).expect("valid");
        let bad = RateConfig {
            step_change_margin: -1.0,
            ..RateConfig::default()
        };
        assert_eq!(
            p.channel_rate_config(1, bad).err(),
            Some(ConfigError::RateSetting {
                name: "step_change_margin",
                value: -1.0
            })
        );
        let p = LatestTime::<u8>::new(2).expect("valid");
        assert_eq!(
            p.rewind_reset_threshold(-5).err(),
            Some(ConfigError::RewindThreshold(-5))
        );
    }

    /// ROS 2 test `LatestTimePolicy.Leading`: q and r arrive before p in each iteration;
    /// p (fastest) drives every set from the second iteration on.
    #[test]
    fn ros2_leading() {
        replay(
            8,
            WALL_GAP,
            |idx| {
                let mut v = Vec::new();
                if idx % 2 == 0 {
                    v.push((1, idx));
                }
                if idx % 4 == 0 {
                    v.push((2, idx));
                }
                v.push((0, idx));
                v
            },
            |idx, count, last| {
                assert_eq!(count, idx, "iteration {idx}");
                if idx > 0 {
                    let want = vec![idx, idx / 2 * 2, idx / 4 * 4];
                    assert_eq!(last, Some(&want), "iteration {idx}");
                }
            },
        );
    }

    /// ROS 2 test `LatestTimePolicy.Trailing`: q and r first arrive late; nothing is emitted
    /// until every channel has delivered, then p drives every set.
    #[test]
    fn ros2_trailing() {
        replay(
            8,
            WALL_GAP,
            |idx| {
                let mut v = Vec::new();
                if idx % 2 == 1 {
                    v.push((1, idx - 1));
                }
                if idx % 4 == 3 {
                    v.push((2, idx - 3));
                }
                v.push((0, idx));
                v
            },
            |idx, count, last| {
                if idx > 2 {
                    assert_eq!(count, idx - 2, "iteration {idx}");
                    let want = vec![idx, (idx - 1) / 2 * 2, (idx - 3) / 4 * 4];
                    assert_eq!(last, Some(&want), "iteration {idx}");
                } else {
                    assert_eq!(count, 0, "iteration {idx}");
                }
            },
        );
    }

    /// ROS 2 test `LatestTimePolicy.ChangeRateLeading` (simulated time): p slows down from
    /// iteration 4 on; once p is found late, q becomes the pivot.
    #[test]
    fn ros2_change_rate_leading() {
        replay(
            12,
            0,
            |idx| {
                let mut v = Vec::new();
                if idx % 2 == 0 {
                    v.push((1, idx));
                }
                if idx % 4 == 0 {
                    v.push((2, idx));
                }
                if idx < 4 {
                    v.push((0, idx));
                } else if idx % 3 == 0 {
                    // p[4], p[5], ... at idx 6, 9, ...
                    v.push((0, 4 + (idx - 6) / 3));
                }
                v
            },
            |idx, count, last| {
                if (1..4).contains(&idx) {
                    assert_eq!(count, idx, "iteration {idx}");
                    let want = vec![idx, idx / 2 * 2, idx / 4 * 4];
                    assert_eq!(last, Some(&want), "iteration {idx}");
                } else if (4..6).contains(&idx) {
                    assert_eq!(count, (idx + 2) / 2, "iteration {idx}");
                    assert_eq!(last, Some(&vec![3, 2, 0]), "iteration {idx}");
                } else if idx >= 6 {
                    assert_eq!(count, (idx + 2) / 2, "iteration {idx}");
                    let want = vec![idx / 2, idx / 2 * 2, (idx - 2) / 4 * 4];
                    assert_eq!(last, Some(&want), "iteration {idx}");
                } else {
                    assert_eq!(count, 0, "iteration {idx}");
                }
            },
        );
    }

    /// ROS 2 test `LatestTimePolicy.ChangeRateTrailing` (simulated time): p slows down from
    /// iteration 5 on; q takes over as pivot at iteration 7.
    #[test]
    fn ros2_change_rate_trailing() {
        replay(
            12,
            0,
            |idx| {
                let mut v = Vec::new();
                if idx % 2 == 1 {
                    v.push((1, idx - 1));
                }
                if idx % 4 == 3 {
                    v.push((2, idx - 3));
                }
                if idx < 4 {
                    v.push((0, idx));
                } else if idx % 3 == 1 {
                    // p[4], p[5], ... at idx 4, 7, 10
                    v.push((0, 4 + (idx - 4) / 3));
                }
                v
            },
            |idx, count, last| {
                if idx > 2 && idx <= 4 {
                    assert_eq!(count, idx - 2, "iteration {idx}");
                    let want = vec![idx, (idx - 1) / 2 * 2, (idx - 3) / 4 * 4];
                    assert_eq!(last, Some(&want), "iteration {idx}");
                } else if idx > 4 && idx < 7 {
                    assert_eq!(count, 2, "iteration {idx}");
                    assert_eq!(last, Some(&vec![4, 2, 0]), "iteration {idx}");
                } else if idx >= 7 {
                    assert_eq!(count, (idx - 1) / 2, "iteration {idx}");
                    let want = vec![idx.div_ceil(2), (idx - 1) / 2 * 2, (idx - 5) / 4 * 4];
                    assert_eq!(last, Some(&want), "iteration {idx}");
                } else {
                    assert_eq!(count, 0, "iteration {idx}");
                }
            },
        );
    }

    #[test]
    fn add_uses_stamps_as_time_and_reports_outdated() {
        let mut p = LatestTime::new(2).expect("valid");
        let mut out = Emitted::new();
        // Channel 0 at 100 Hz, channel 1 at 10 Hz, stamps as the only clock.
        let mut id = 0;
        let mut feed = Vec::new();
        for k in 0..30 {
            feed.push((10 * MS * k, 0));
            if k % 10 == 5 {
                feed.push((10 * MS * k + 1, 1));
            }
        }
        for &(t, ch) in &feed {
            p.add(ch, t, id, &mut out);
            id += 1;
        }
        assert!(p
            .estimated_hz(0)
            .is_some_and(|hz| (hz - 100.0).abs() < 1e-6));
        // Channel 0's first messages (before channel 1 delivered) were never used.
        assert!(out
            .drops
            .iter()
            .all(|d| d.channel == 0 && d.reason == DropReason::Outdated));
        assert!(!out.sets.is_empty());
        assert!(out.sets.iter().all(|s| s.len() == 2));
        let used: std::collections::HashSet<usize> = out.sets.iter().flatten().copied().collect();
        assert_eq!(used.len() + out.drops.len() + p.pending(), id);
        assert_eq!(p.pending(), 0);
        // Reset releases used messages silently.
        let mut rest = Emitted::new();
        p.reset(&mut rest);
        assert!(rest.is_empty());
        assert_eq!(p.held(), 0);
    }

    #[test]
    fn backwards_stamps_arrivals_and_unknown_channel() {
        let s = 1_000_000_000;
        let mut p = LatestTime::new(2).expect("valid");
        let mut out = Emitted::new();
        p.add_at(0, 5 * s, 5 * s, 0, &mut out);
        p.add_at(0, 5 * s - 1, 5 * s + 1, 1, &mut out); // straggler stamp
        p.add_at(3, 0, 0, 2, &mut out);
        p.add_at(1, 5 * s, 5 * s, 3, &mut out);
        p.add_at(1, 6 * s, 2 * s, 4, &mut out); // arrival clock restarted
        let dropped: Vec<_> = out.drops.iter().map(|d| (d.msg, d.reason)).collect();
        assert_eq!(
            dropped,
            vec![
                (1, DropReason::StampWentBack),
                (2, DropReason::UnknownChannel),
                (0, DropReason::TimeJumpedBack),
                (3, DropReason::TimeJumpedBack)
            ]
        );
        assert_eq!(p.time_jumps(), 1);
        assert_eq!(p.pending(), 1);
        // Same arrival time twice: invalid update, no set, like ROS 2.
        p.add_at(0, 6 * s, 2 * s, 5, &mut out);
        p.add_at(0, 6 * s + 1, 2 * s, 6, &mut out);
        assert!(out.sets.is_empty());
        assert_eq!(
            out.drops.last().map(|d| (d.msg, d.reason)),
            Some((5, DropReason::Outdated))
        );
    }
}
