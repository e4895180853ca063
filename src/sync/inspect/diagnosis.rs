//! The diagnosis: what goes wrong, in plain language, the main problem first.

use crate::sync::{DropReason, PolicyConfig};

use super::advice::{queue_need, rate_ratio, Advice, LATEST_TIME_RATIO};
use super::recording::Recording;
use super::replay::Outcome;
use super::stats::Stats;
use super::summary::duration;

/// What kind of problem a finding is about, in the order findings are ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FindingKind {
    /// One topic's stamps are offset from another's by far more than a period.
    ClockOffset,
    /// Some stamps are far ahead of the rest of their topic.
    FutureStamps,
    /// One topic starts long after the others.
    LateStart,
    /// ExactTime on stamps that are mostly not identical.
    StampsNotIdentical,
    /// The queue holds less stamp time than sets need.
    QueueTooShort,
    /// The max interval (or epsilon) is tighter than the spread of matching stamps.
    MaxIntervalTooTight,
    /// A topic misses messages (gaps of several periods).
    DroppedFrames,
    /// Stamps go back on a topic.
    StampsWentBack,
    /// The setting gives no set at all, for no reason found above.
    NoSets,
    /// Note: rates differ by an order of magnitude or more.
    RateMismatch,
    /// Note: stamps are identical on every topic.
    IdenticalStamps,
}

impl FindingKind {
    /// Short stable name, such as `clock_offset`.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::ClockOffset => "clock_offset",
            FindingKind::FutureStamps => "future_stamps",
            FindingKind::LateStart => "late_start",
            FindingKind::StampsNotIdentical => "stamps_not_identical",
            FindingKind::QueueTooShort => "queue_too_short",
            FindingKind::MaxIntervalTooTight => "max_interval_too_tight",
            FindingKind::DroppedFrames => "dropped_frames",
            FindingKind::StampsWentBack => "stamps_went_back",
            FindingKind::NoSets => "no_sets",
            FindingKind::RateMismatch => "rate_mismatch",
            FindingKind::IdenticalStamps => "identical_stamps",
        }
    }

    /// True for problems, false for notes.
    pub fn is_problem(self) -> bool {
        self < FindingKind::RateMismatch
    }
}

/// One thing the diagnosis found.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// What kind of problem.
    pub kind: FindingKind,
    /// The topic it is about, when one is.
    pub channel: Option<usize>,
    /// The plain-language sentence.
    pub text: String,
}

/// Finds what goes wrong in `outcome`, ranked by kind (root causes first).
pub fn diagnose(
    recording: &Recording,
    stats: &Stats,
    config: &PolicyConfig,
    outcome: &Outcome,
    advice: &Advice,
) -> Vec<Finding> {
    let topics = recording.topics();
    let name = |c: usize| format!("`{}`", topics[c]);
    let slowest_period = stats.topics.iter().map(|t| t.period_ns).max().unwrap_or(0);
    let mut found = Vec::new();
    let mut add = |kind, channel, text: String| {
        found.push(Finding {
            kind,
            channel,
            text,
        })
    };

    for offset in &stats.offsets {
        if offset.clock_ns.saturating_abs() > stats.clock_offset_limit() {
            let side = if offset.clock_ns < 0 {
                "behind"
            } else {
                "ahead of"
            };
            add(
                FindingKind::ClockOffset,
                Some(offset.channel),
                format!(
                    "{} stamps are {} {side} {}: different clocks?",
                    name(offset.channel),
                    duration(offset.clock_ns.saturating_abs()),
                    name(offset.reference)
                ),
            );
        }
    }
    for (c, t) in stats.topics.iter().enumerate() {
        if t.ahead > 0 {
            add(
                FindingKind::FutureStamps,
                Some(c),
                format!(
                    "{} of {} messages of {} have stamps up to {} ahead of the topic's others (stamps in the future?); {} reset the synchronizer ({})",
                    t.ahead,
                    t.count,
                    name(c),
                    duration(t.ahead_max_ns),
                    outcome.time_jumps,
                    DropReason::TimeJumpedBack
                ),
            );
        }
    }
    let first = stats.topics.iter().filter_map(|t| t.first_received).min();
    if let Some(first) = first {
        let limit = 1_000_000_000i64.max(slowest_period.saturating_mul(5));
        for (c, t) in stats.topics.iter().enumerate() {
            let Some(start) = t.first_received else {
                continue;
            };
            let late = start.saturating_sub(first);
            if late > limit {
                let before = recording
                    .messages()
                    .iter()
                    .filter(|m| m.channel != c && m.received.is_some_and(|r| r < start))
                    .count();
                let earliest = (0..topics.len())
                    .find(|&o| stats.topics[o].first_received == Some(first))
                    .unwrap_or(0);
                add(
                    FindingKind::LateStart,
                    Some(c),
                    format!(
                        "{} starts {} after {}: the {before} messages of other topics received before it cannot be in any set",
                        name(c),
                        duration(late),
                        name(earliest)
                    ),
                );
            }
        }
    }
    if matches!(config, PolicyConfig::ExactTime { .. }) && stats.identical < 0.5 {
        add(
            FindingKind::StampsNotIdentical,
            None,
            format!(
                "ExactTime needs identical stamps, and only {:.0}% are identical on every topic: use ApproximateTime",
                stats.identical * 100.0
            ),
        );
    }
    if let Some(queue) = queue_size(config)
        .filter(|_| !matches!(config, PolicyConfig::ExactTime { .. }) || stats.identical >= 0.5)
    {
        let short = (0..topics.len())
            .map(|c| (c, queue_need(stats, c)))
            .filter(|(_, need)| need.queue > queue)
            .max_by_key(|(_, need)| need.queue);
        let lost = (advice.recommended.sets as f64) > advice.current.sets as f64 / 0.95;
        if let (Some((c, need)), true) = (short, lost) {
            let t = &stats.topics[c];
            let slowest = (0..topics.len())
                .filter(|&o| stats.topics[o].rate_hz > 0.0)
                .min_by(|&a, &b| stats.topics[a].rate_hz.total_cmp(&stats.topics[b].rate_hz))
                .unwrap_or(c);
            let ratio = t.rate_hz / stats.topics[slowest].rate_hz.max(f64::MIN_POSITIVE);
            let rate = if ratio >= 2.0 && ratio.is_finite() {
                format!(
                    "{:.0} Hz, {ratio:.0}x the rate of {}",
                    t.rate_hz,
                    name(slowest)
                )
            } else {
                format!("{:.0} Hz", t.rate_hz)
            };
            add(
                FindingKind::QueueTooShort,
                Some(c),
                format!(
                    "queue {queue} holds {} of {} ({rate}); sets need {} (queue {})",
                    duration(t.period_ns.saturating_mul(queue as i64)),
                    name(c),
                    duration(need.span_ns),
                    need.queue
                ),
            );
        }
    }
    let limit = match *config {
        PolicyConfig::ApproximateTime {
            max_interval_ns: Some(mi),
            ..
        } => Some(("max interval", mi, DropReason::OutsideMaxInterval)),
        PolicyConfig::ApproximateEpsilonTime { epsilon_ns, .. } => {
            Some(("epsilon", epsilon_ns, DropReason::OutsideEpsilon))
        }
        _ => None,
    };
    if let Some((what, ns, reason)) = limit {
        let dropped = outcome.dropped_for(reason);
        let share = dropped as f64 / recording.messages().len().max(1) as f64;
        if share >= 0.05 {
            let jitter = stats.topics.iter().map(|t| t.jitter_ns).max().unwrap_or(0);
            add(
                FindingKind::MaxIntervalTooTight,
                None,
                format!(
                    "{what} {} is tighter than the spread of stamps that belong together (p95 {}, stamp jitter up to {}): {:.0}% of messages dropped ({reason})",
                    duration(ns),
                    advice
                        .matching_spread
                        .map_or("-".into(), |s| duration(s.p95)),
                    duration(jitter),
                    share * 100.0
                ),
            );
        }
    }
    for (c, t) in stats.topics.iter().enumerate() {
        if t.missing >= 2 && t.missing * 100 >= t.count + t.missing {
            add(
                FindingKind::DroppedFrames,
                Some(c),
                format!(
                    "{} misses about {} messages in {} gaps (period {}): their partners on other topics have no match",
                    name(c),
                    t.missing,
                    t.gaps,
                    duration(t.period_ns)
                ),
            );
        }
        if t.went_back > 0 {
            add(
                FindingKind::StampsWentBack,
                Some(c),
                format!(
                    "{} stamps go back {} times: those messages are dropped ({})",
                    name(c),
                    t.went_back,
                    DropReason::StampWentBack
                ),
            );
        }
    }
    if let Some((fast, slow, ratio)) = rate_ratio(stats) {
        if ratio >= LATEST_TIME_RATIO {
            add(
                FindingKind::RateMismatch,
                Some(fast),
                format!(
                    "{} runs at {:.0} Hz, {ratio:.0}x {} ({:.0} Hz): ApproximateTime keeps one {} message per set and drops the rest; LatestTime emits at the fast rate",
                    name(fast),
                    stats.topics[fast].rate_hz,
                    name(slow),
                    stats.topics[slow].rate_hz,
                    name(fast)
                ),
            );
        }
    }
    if stats.identical >= 0.9 {
        add(
            FindingKind::IdenticalStamps,
            None,
            format!(
                "{:.0}% of stamps are identical on every topic: ExactTime fits",
                stats.identical * 100.0
            ),
        );
    }
    if outcome.sets.is_empty() && !found.iter().any(|f| f.kind.is_problem()) {
        found.push(Finding {
            kind: FindingKind::NoSets,
            channel: None,
            text:
                "no set at all, and no cause found in the stamps: check the topics and the policy"
                    .to_string(),
        });
    }
    found.sort_by_key(|f| f.kind);
    found
}

fn queue_size(config: &PolicyConfig) -> Option<usize> {
    match *config {
        PolicyConfig::ApproximateTime { queue_size, .. }
        | PolicyConfig::ExactTime { queue_size }
        | PolicyConfig::ApproximateEpsilonTime { queue_size, .. } => Some(queue_size),
        PolicyConfig::LatestTime => None,
    }
}
