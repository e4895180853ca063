//! Types shared by every synchronizer policy: the [`Policy`] trait, what a policy
//! hands back ([`Emitted`], [`Dropped`], [`DropReason`]) and configuration errors.
//!
//! # Stamps
//!
//! Stamps are signed nanoseconds (`i64`), normally nanoseconds since the Unix epoch.
//! Durations between stamps saturate instead of overflowing.
//!
//! # Stamps that go backwards on a channel
//!
//! The ROS policies assume that each channel delivers increasing stamps. Every policy here
//! applies one rule when a message's stamp is *earlier* than the newest stamp already accepted
//! on the same channel:
//!
//! * if it is earlier by less than the rewind threshold (default [`DEFAULT_REWIND_RESET_NS`],
//!   one second), the message alone is rejected and reported with
//!   [`DropReason::StampWentBack`] (a straggler delivered out of order) — except in
//!   ExactTime, which is keyed by stamp like ROS's and still matches it, dropping only a stamp
//!   at or before its last emitted set ([`DropReason::Superseded`]);
//! * if it is earlier by the threshold or more (a looped log, a restarted simulation clock),
//!   the policy resets: every queued message is reported with [`DropReason::TimeJumpedBack`],
//!   the per-channel memory of "newest stamp" is forgotten on all channels, and the new message
//!   is then added to the fresh state.
//!
//! A stamp *equal* to the channel's newest stamp is not a regression: ApproximateTime queues
//! it like ROS does and ExactTime lets it replace the earlier message, like ROS does.
//! Whenever every channel's stamps increase, neither rule ever fires, so the sets are exactly
//! those of ROS 1 `message_filters`.

use std::fmt;

/// Default distance (1 s) from which a backwards stamp resets the policy instead of being dropped.
pub const DEFAULT_REWIND_RESET_NS: i64 = 1_000_000_000;

/// Smallest number of channels a policy accepts.
pub const MIN_CHANNELS: usize = 2;

/// Largest number of channels a policy accepts (as in ROS 1 `message_filters`).
pub const MAX_CHANNELS: usize = 9;

/// Why a message left a policy without being part of a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// The channel already held `queue_size` messages; the oldest one was evicted
    /// (ExactTime: the oldest incomplete stamp was evicted with all of its messages).
    QueueOverflow,
    /// ApproximateTime: the message was the oldest head and the spread between it and the
    /// newest head already exceeded the max interval duration, so no set can contain it.
    OutsideMaxInterval,
    /// ApproximateTime: the message was the oldest head while the channel that would anchor
    /// the set (the newest head's channel) had lost messages to queue overflow, so no set
    /// through it could be proven best; ROS skips it.
    PivotOverflowed,
    /// A set of newer messages was chosen instead: ApproximateTime found a better candidate
    /// made of later messages, or ExactTime emitted a set whose stamp is at or after this
    /// message's (incomplete) stamp.
    Superseded,
    /// ExactTime: another message with the same stamp arrived on the same channel and took
    /// this one's place.
    Replaced,
    /// The stamp was earlier than the newest stamp accepted on its channel, by less than the
    /// rewind threshold; only this message is rejected.
    StampWentBack,
    /// A stamp jumped back on some channel by at least the rewind threshold; the policy reset
    /// and dropped everything it held.
    TimeJumpedBack,
    /// [`Policy::reset`] was called while the message was queued.
    Reset,
    /// The channel index was not below the policy's channel count.
    UnknownChannel,
    /// LatestTime: a newer message arrived on the same channel before any set used this one.
    Outdated,
    /// ApproximateEpsilonTime: the message was a head within epsilon of the oldest head while
    /// another channel's head was not, so (as in ROS 2) it was discarded.
    OutsideEpsilon,
}

impl DropReason {
    /// Short stable name of the reason, suitable for logs and counters.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::QueueOverflow => "queue_overflow",
            DropReason::OutsideMaxInterval => "outside_max_interval",
            DropReason::PivotOverflowed => "pivot_overflowed",
            DropReason::Superseded => "superseded",
            DropReason::Replaced => "replaced",
            DropReason::StampWentBack => "stamp_went_back",
            DropReason::TimeJumpedBack => "time_jumped_back",
            DropReason::Reset => "reset",
            DropReason::UnknownChannel => "unknown_channel",
            DropReason::Outdated => "outdated",
            DropReason::OutsideEpsilon => "outside_epsilon",
        }
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A message that will never be part of a set, with where it came from and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Dropped<M> {
    /// Channel the message was added on.
    pub channel: usize,
    /// Stamp the message was added with, in nanoseconds.
    pub stamp: i64,
    /// The payload given to [`Policy::add`].
    pub msg: M,
    /// Why it was dropped.
    pub reason: DropReason,
}

/// Output collected from policy calls: sets and drops, each in the order they happened.
#[derive(Debug, Clone, PartialEq)]
pub struct Emitted<M> {
    /// Synchronized sets, one payload per channel in channel order.
    pub sets: Vec<Vec<M>>,
    /// Messages dropped, each reported exactly once.
    pub drops: Vec<Dropped<M>>,
}

impl<M> Emitted<M> {
    /// Creates an empty collector.
    pub fn new() -> Self {
        Emitted {
            sets: Vec::new(),
            drops: Vec::new(),
        }
    }

    /// True when neither sets nor drops were collected.
    pub fn is_empty(&self) -> bool {
        self.sets.is_empty() && self.drops.is_empty()
    }

    /// Forgets collected sets and drops, keeping allocations.
    pub fn clear(&mut self) {
        self.sets.clear();
        self.drops.clear();
    }

    /// Records a drop.
    pub(crate) fn drop_msg(&mut self, channel: usize, stamp: i64, msg: M, reason: DropReason) {
        self.drops.push(Dropped {
            channel,
            stamp,
            msg,
            reason,
        });
    }
}

impl<M> Default for Emitted<M> {
    fn default() -> Self {
        Self::new()
    }
}

/// A synchronizer policy: takes stamped messages per channel and emits matched sets.
///
/// Policies are pure and deterministic: output depends only on the sequence of calls.
pub trait Policy<M> {
    /// Number of input channels.
    fn channels(&self) -> usize;

    /// Feeds one message; resulting sets and drops are appended to `out`.
    fn add(&mut self, channel: usize, stamp: i64, msg: M, out: &mut Emitted<M>);

    /// Feeds one message that arrived at `arrival_ns` (the time ROS 2 would read from the
    /// node's clock at reception). Only policies that use arrival times (LatestTime) read it;
    /// the others are the same as [`add`](Self::add).
    fn add_at(
        &mut self,
        channel: usize,
        stamp: i64,
        arrival_ns: i64,
        msg: M,
        out: &mut Emitted<M>,
    ) {
        let _ = arrival_ns;
        self.add(channel, stamp, msg, out);
    }

    /// Drops every held message (reason [`DropReason::Reset`]) and forgets all state except
    /// the configuration.
    fn reset(&mut self, out: &mut Emitted<M>);

    /// Number of messages currently held by the policy.
    fn pending(&self) -> usize;

    /// How many times a stamp jumped back far enough to reset the policy.
    fn time_jumps(&self) -> u64 {
        0
    }
}

/// A policy configuration value that was out of range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ConfigError {
    /// Channel count outside 2..=9.
    ChannelCount(usize),
    /// Queue size of zero.
    QueueSize(usize),
    /// A channel index not below the channel count.
    ChannelIndex {
        /// The index given.
        channel: usize,
        /// The policy's channel count.
        channels: usize,
    },
    /// A negative max interval duration, in nanoseconds.
    MaxInterval(i64),
    /// A negative or non-finite age penalty.
    AgePenalty(f64),
    /// A negative inter-message lower bound, in nanoseconds.
    LowerBound(i64),
    /// A rewind threshold that is not positive, in nanoseconds.
    RewindThreshold(i64),
    /// A negative epsilon (ApproximateEpsilonTime), in nanoseconds.
    Epsilon(i64),
    /// A LatestTime rate-estimation setting that is negative or not finite.
    RateSetting {
        /// Which setting.
        name: &'static str,
        /// The value given.
        value: f64,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::ChannelCount(n) => {
                write!(
                    f,
                    "channel count {n} is outside {MIN_CHANNELS}..={MAX_CHANNELS}"
                )
            }
            ConfigError::QueueSize(q) => write!(f, "queue size {q} must be at least 1"),
            ConfigError::ChannelIndex { channel, channels } => {
                write!(f, "channel {channel} does not exist (channels: {channels})")
            }
            ConfigError::MaxInterval(ns) => write!(f, "max interval {ns} ns is negative"),
            ConfigError::AgePenalty(p) => write!(f, "age penalty {p} must be finite and >= 0"),
            ConfigError::LowerBound(ns) => {
                write!(f, "inter-message lower bound {ns} ns is negative")
            }
            ConfigError::RewindThreshold(ns) => write!(f, "rewind threshold {ns} ns must be > 0"),
            ConfigError::Epsilon(ns) => write!(f, "epsilon {ns} ns is negative"),
            ConfigError::RateSetting { name, value } => {
                write!(f, "rate setting {name} = {value} must be finite and >= 0")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

/// Checks the channel count and queue size shared by the policies.
pub(crate) fn check_shape(channels: usize, queue_size: usize) -> Result<(), ConfigError> {
    if !(MIN_CHANNELS..=MAX_CHANNELS).contains(&channels) {
        return Err(ConfigError::ChannelCount(channels));
    }
    if queue_size == 0 {
        return Err(ConfigError::QueueSize(queue_size));
    }
    Ok(())
}

/// What to do with an incoming stamp given the newest stamp accepted on its channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StampCheck {
    /// Not earlier than the channel's newest stamp (or nothing seen yet): accept.
    Accept,
    /// Slightly earlier: drop only this message.
    Straggler,
    /// Earlier by at least the threshold: reset the policy, then accept.
    Rewind,
}

/// Applies the backwards-stamp rule described in the module documentation.
pub(crate) fn check_stamp(newest: Option<i64>, stamp: i64, threshold: i64) -> StampCheck {
    match newest {
        Some(last) if stamp < last => {
            if last.saturating_sub(stamp) >= threshold {
                StampCheck::Rewind
            } else {
                StampCheck::Straggler
            }
        }
        _ => StampCheck::Accept,
    }
}

/// The backwards-stamp rule every policy applies: newest stamp per channel, threshold, count.
#[derive(Debug, Clone)]
pub(crate) struct StampGuard {
    newest: Vec<Option<i64>>,
    rewind_ns: i64,
    time_jumps: u64,
}

/// What [`StampGuard::admit`] decided about a message.
pub(crate) enum Admission<M> {
    /// Accept the message.
    Accept(M),
    /// A stamp jumped back: drop everything held (`TimeJumpedBack`), then accept the message.
    Rewind(M),
    /// Already reported as dropped (unknown channel or a straggler).
    Rejected,
}

impl StampGuard {
    /// A guard for `channels` channels with the default threshold.
    pub(crate) fn new(channels: usize) -> Self {
        Self {
            newest: vec![None; channels],
            rewind_ns: DEFAULT_REWIND_RESET_NS,
            time_jumps: 0,
        }
    }

    /// Sets the distance (ns, > 0) from which a backwards stamp resets instead of being dropped.
    pub(crate) fn set_rewind_threshold(&mut self, ns: i64) -> Result<(), ConfigError> {
        if ns <= 0 {
            return Err(ConfigError::RewindThreshold(ns));
        }
        self.rewind_ns = ns;
        Ok(())
    }

    /// The threshold in ns.
    pub(crate) fn rewind_ns(&self) -> i64 {
        self.rewind_ns
    }

    /// Resets counted so far.
    pub(crate) fn time_jumps(&self) -> u64 {
        self.time_jumps
    }

    /// Forgets every channel's newest stamp.
    pub(crate) fn forget(&mut self) {
        self.newest.iter_mut().for_each(|s| *s = None);
    }

    /// How `stamp` on `channel` compares with the channel's newest (the channel must exist).
    pub(crate) fn check(&self, channel: usize, stamp: i64) -> StampCheck {
        check_stamp(self.newest[channel], stamp, self.rewind_ns)
    }

    /// Records `stamp` as `channel`'s newest; after a rewind, forgets all other channels'.
    pub(crate) fn accept(&mut self, channel: usize, stamp: i64, rewind: bool) {
        if rewind {
            self.time_jumps += 1;
            self.forget();
        }
        self.newest[channel] = Some(stamp);
    }

    /// Applies the rule to a new message, reporting rejected ones in `out`.
    pub(crate) fn admit<M>(
        &mut self,
        channel: usize,
        stamp: i64,
        msg: M,
        out: &mut Emitted<M>,
    ) -> Admission<M> {
        if channel >= self.newest.len() {
            out.drop_msg(channel, stamp, msg, DropReason::UnknownChannel);
            return Admission::Rejected;
        }
        match self.check(channel, stamp) {
            StampCheck::Accept => {
                self.accept(channel, stamp, false);
                Admission::Accept(msg)
            }
            StampCheck::Straggler => {
                out.drop_msg(channel, stamp, msg, DropReason::StampWentBack);
                Admission::Rejected
            }
            StampCheck::Rewind => {
                self.accept(channel, stamp, true);
                Admission::Rewind(msg)
            }
        }
    }
}
