//! Measurements of a recording: per topic rate, stamp jitter, gaps, receive latency and
//! stamps far ahead of the rest; offsets between topics; the spread of the sets a policy made.

use super::recording::Recording;
use super::replay::Outcome;

/// Order statistics of a sample, ns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spread {
    /// Smallest value.
    pub min: i64,
    /// 5th percentile.
    pub p05: i64,
    /// Median.
    pub median: i64,
    /// 95th percentile.
    pub p95: i64,
    /// Largest value.
    pub max: i64,
}

impl Spread {
    /// The order statistics of `values` (sorted in place), or `None` when empty.
    pub fn of(values: &mut [i64]) -> Option<Spread> {
        if values.is_empty() {
            return None;
        }
        values.sort_unstable();
        let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
        Some(Spread {
            min: values[0],
            p05: at(0.05),
            median: at(0.5),
            p95: at(0.95),
            max: values[values.len() - 1],
        })
    }
}

/// Measurements of one topic.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicStats {
    /// Messages received.
    pub count: usize,
    /// Rate from the median stamp interval, Hz (0 with fewer than two messages).
    pub rate_hz: f64,
    /// Median interval between consecutive stamps, ns.
    pub period_ns: i64,
    /// Standard deviation of the stamp intervals, gaps left out, ns.
    pub jitter_ns: i64,
    /// Intervals longer than 1.5 periods (dropped frames).
    pub gaps: usize,
    /// Messages missing in those gaps, estimated from the period.
    pub missing: usize,
    /// First and last stamp, ns (outliers ahead left out).
    pub stamps: (i64, i64),
    /// First receive time, ns, when known.
    pub first_received: Option<i64>,
    /// Receive time minus stamp, ns, when receive times are known.
    pub latency: Option<Spread>,
    /// Messages whose stamp is far ahead of the topic's usual stamp-to-receive relation.
    pub ahead: usize,
    /// How far the worst of them is ahead, ns.
    pub ahead_max_ns: i64,
    /// Messages whose stamp is earlier than the one before on the topic.
    pub went_back: usize,
}

/// Offset of one topic's stamps from the reference topic's.
#[derive(Debug, Clone, PartialEq)]
pub struct Offset {
    /// The topic.
    pub channel: usize,
    /// The reference topic (the one whose stamps are closest to their receive times).
    pub reference: usize,
    /// How far this topic's stamps are ahead (negative: behind) of the reference's for
    /// messages received at the same time: the difference of median latencies, or with no
    /// receive times the median of the nearest-stamp differences, ns.
    pub clock_ns: i64,
    /// Each message's stamp minus the nearest stamp of the reference topic, ns.
    pub nearest: Vec<i64>,
}

/// Everything measured on a recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// Per topic, in channel order.
    pub topics: Vec<TopicStats>,
    /// Per topic other than the reference.
    pub offsets: Vec<Offset>,
    /// First to last receive time (or stamp), ns.
    pub duration_ns: i64,
    /// Spread of the stamps in each set the inspected setting made.
    pub set_spread: Option<Spread>,
    /// Sets per second of the inspected setting.
    pub sets_per_second: f64,
    /// Share of the least frequent topic's messages whose stamp every other topic also has.
    pub identical: f64,
}

impl Stats {
    /// From how far apart (ns) two topics' clocks count as different: 0.2 s, or three periods
    /// of the slowest topic when longer.
    pub fn clock_offset_limit(&self) -> i64 {
        let slowest = self.topics.iter().map(|t| t.period_ns).max().unwrap_or(0);
        200_000_000i64.max(slowest.saturating_mul(3))
    }

    /// The offset whose clock differs most from its reference's, beyond
    /// [`Stats::clock_offset_limit`].
    pub fn clock_offset(&self) -> Option<&Offset> {
        self.offsets
            .iter()
            .filter(|o| o.clock_ns.saturating_abs() > self.clock_offset_limit())
            .max_by_key(|o| o.clock_ns.saturating_abs())
    }
}

/// Stamp this far ahead of a topic's usual latency (and 3 periods) counts as ahead, ns.
const AHEAD_NS: i64 = 100_000_000;

/// Measures every topic of `recording`, and the sets of `outcome`.
pub fn measure(recording: &Recording, outcome: &Outcome) -> Stats {
    let channels = recording.topics().len();
    let topics: Vec<TopicStats> = (0..channels).map(|c| topic_stats(recording, c)).collect();
    let reference = (0..channels)
        .min_by_key(|&c| {
            topics[c]
                .latency
                .map_or(i64::MAX, |l| l.median.saturating_abs())
        })
        .unwrap_or(0);
    let offsets = (0..channels)
        .filter(|&c| c != reference)
        .map(|c| offset(recording, &topics, c, reference))
        .collect();
    let duration_ns = duration(recording);
    let set_spread = Spread::of(&mut outcome.spreads(recording));
    let sets_per_second = if duration_ns > 0 {
        outcome.sets.len() as f64 / (duration_ns as f64 / 1e9)
    } else {
        0.0
    };
    Stats {
        identical: identical_share(recording, &topics),
        topics,
        offsets,
        duration_ns,
        set_spread,
        sets_per_second,
    }
}

fn identical_share(recording: &Recording, topics: &[TopicStats]) -> f64 {
    let Some(rarest) = (0..topics.len()).min_by_key(|&c| topics[c].count) else {
        return 0.0;
    };
    let mut stamps: Vec<Vec<i64>> = (0..topics.len())
        .map(|c| recording.on(c).map(|(_, m)| m.stamp).collect())
        .collect();
    stamps.iter_mut().for_each(|s| s.sort_unstable());
    let shared = stamps[rarest]
        .iter()
        .filter(|s| stamps.iter().all(|other| other.binary_search(s).is_ok()))
        .count();
    shared as f64 / stamps[rarest].len().max(1) as f64
}

fn duration(recording: &Recording) -> i64 {
    let times = recording
        .messages()
        .iter()
        .map(|m| m.received.unwrap_or(m.stamp));
    let (lo, hi) = times.fold((i64::MAX, i64::MIN), |(lo, hi), t| (lo.min(t), hi.max(t)));
    hi.saturating_sub(lo).max(0)
}

fn topic_stats(recording: &Recording, channel: usize) -> TopicStats {
    let messages: Vec<_> = recording.on(channel).map(|(_, m)| *m).collect();
    let mut latencies: Vec<i64> = messages
        .iter()
        .filter_map(|m| m.received.map(|r| r.saturating_sub(m.stamp)))
        .collect();
    let latency = Spread::of(&mut latencies.clone());
    let first_received = messages.iter().find_map(|m| m.received);
    // A rough period first (all stamps), to judge which stamps are far ahead.
    let rough = median_interval(messages.iter().map(|m| m.stamp));
    let ahead_limit = AHEAD_NS.max(rough.saturating_mul(3));
    let mut ahead = 0;
    let mut ahead_max_ns = 0;
    let is_ahead = |m: &super::Observed| match (m.received, latency) {
        (Some(r), Some(l)) => {
            let by = l.median.saturating_sub(r.saturating_sub(m.stamp));
            (by > ahead_limit).then_some(by)
        }
        _ => None,
    };
    // Stamps kept, each with how many stamps ahead were left out just before it.
    let mut kept: Vec<(i64, usize)> = Vec::with_capacity(messages.len());
    let mut left_out = 0;
    for m in &messages {
        match is_ahead(m) {
            Some(by) => {
                ahead += 1;
                left_out += 1;
                ahead_max_ns = ahead_max_ns.max(by);
            }
            None => {
                kept.push((m.stamp, left_out));
                left_out = 0;
            }
        }
    }
    latencies.clear();
    let went_back = kept.windows(2).filter(|w| w[1].0 < w[0].0).count();
    let period_ns = median_interval(kept.iter().map(|k| k.0));
    let (mut gaps, mut missing, mut regular) = (0, 0, Vec::new());
    for w in kept.windows(2) {
        let interval = w[1].0.saturating_sub(w[0].0);
        if period_ns > 0 && interval.saturating_mul(2) > period_ns.saturating_mul(3) {
            let periods = (interval as f64 / period_ns as f64).round() as usize;
            // Stamps left out as ahead were received: they are not missing.
            let lost = periods.saturating_sub(1).saturating_sub(w[1].1);
            if lost > 0 {
                gaps += 1;
                missing += lost;
            }
        } else if interval >= 0 {
            regular.push(interval as f64);
        }
    }
    let jitter_ns = if regular.len() > 1 {
        let mean = regular.iter().sum::<f64>() / regular.len() as f64;
        let var = regular.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / regular.len() as f64;
        var.sqrt().round() as i64
    } else {
        0
    };
    let stamps = (
        kept.iter().map(|k| k.0).min().unwrap_or(0),
        kept.iter().map(|k| k.0).max().unwrap_or(0),
    );
    TopicStats {
        count: messages.len(),
        rate_hz: if period_ns > 0 {
            1e9 / period_ns as f64
        } else {
            0.0
        },
        period_ns,
        jitter_ns,
        gaps,
        missing,
        stamps,
        first_received,
        latency,
        ahead,
        ahead_max_ns,
        went_back,
    }
}

/// The median of the positive intervals between consecutive values, 0 when there is none.
fn median_interval(stamps: impl Iterator<Item = i64>) -> i64 {
    let stamps: Vec<i64> = stamps.collect();
    let mut intervals: Vec<i64> = stamps
        .windows(2)
        .map(|w| w[1].saturating_sub(w[0]))
        .filter(|&d| d > 0)
        .collect();
    Spread::of(&mut intervals).map_or(0, |s| s.median)
}

fn offset(
    recording: &Recording,
    topics: &[TopicStats],
    channel: usize,
    reference: usize,
) -> Offset {
    let mut reference_stamps: Vec<i64> = recording.on(reference).map(|(_, m)| m.stamp).collect();
    reference_stamps.sort_unstable();
    let nearest: Vec<i64> = recording
        .on(channel)
        .filter_map(|(_, m)| {
            let i = reference_stamps.partition_point(|&s| s < m.stamp);
            let after = reference_stamps.get(i).map(|&s| m.stamp.saturating_sub(s));
            let before = i
                .checked_sub(1)
                .and_then(|j| reference_stamps.get(j))
                .map(|&s| m.stamp.saturating_sub(s));
            match (before, after) {
                (Some(b), Some(a)) => Some(if b.saturating_abs() <= a.saturating_abs() {
                    b
                } else {
                    a
                }),
                (b, a) => b.or(a),
            }
        })
        .collect();
    let clock_ns = match (topics[channel].latency, topics[reference].latency) {
        (Some(l), Some(r)) => r.median.saturating_sub(l.median),
        _ => Spread::of(&mut nearest.clone()).map_or(0, |s| s.median),
    };
    Offset {
        channel,
        reference,
        clock_ns,
        nearest,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{replay, Recording};
    use super::*;
    use crate::sync::PolicyConfig;

    #[test]
    fn rates_gaps_latency_and_clock_offsets() {
        let mut rec = Recording::new(vec!["/cam".into(), "/info".into()]).expect("rec");
        let period = 33_333_333;
        for i in 0..100i64 {
            let t = 1_000_000_000 + i * period;
            if i % 10 != 5 {
                rec.push(0, t, Some(t + 2_000_000)).expect("cam");
            }
            // 2.31 s behind, received at the same time.
            rec.push(1, t - 2_310_000_000, Some(t + 2_000_000))
                .expect("info");
        }
        let outcome = replay(&rec, &PolicyConfig::approximate_time(10)).expect("replay");
        let stats = measure(&rec, &outcome);
        let cam = &stats.topics[0];
        assert_eq!((cam.count, cam.gaps, cam.missing), (90, 10, 10));
        assert!((cam.rate_hz - 30.0).abs() < 0.1, "{}", cam.rate_hz);
        assert_eq!(cam.latency.map(|l| l.median), Some(2_000_000));
        assert_eq!(stats.offsets.len(), 1);
        assert_eq!(stats.offsets[0].reference, 0);
        assert_eq!(stats.offsets[0].clock_ns, -2_310_000_000);
        assert_eq!(stats.topics[1].ahead, 0);
    }
}
