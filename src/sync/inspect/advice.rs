//! Parameter advice: re-runs the policies over the recording with settings derived from its
//! measurements (queue sizes that hold the stamp span sets need, a max interval just above the
//! spread of matching stamps, ROS's age penalties, ExactTime when stamps are identical) and
//! recommends the simplest setting within 2% of the most sets any of them gives.

use crate::sync::{DropReason, PolicyConfig};

use super::recording::{InspectError, Recording};
use super::replay::{replay, Outcome};
use super::stats::{Spread, Stats};

/// Share of the most sets a simpler setting may give up and still be recommended.
const SIMPLER_WITHIN: f64 = 0.98;

/// Rate ratio from which LatestTime is offered.
pub const LATEST_TIME_RATIO: f64 = 10.0;

/// What one setting gives on the recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Trial {
    /// The setting.
    pub config: PolicyConfig,
    /// Sets emitted.
    pub sets: usize,
    /// Messages dropped, per topic in channel order.
    pub drops: Vec<usize>,
    /// Messages dropped by the most frequent reason, with it.
    pub main_drop: Option<(DropReason, usize)>,
    /// Spread of the stamps in its sets.
    pub spread: Option<Spread>,
}

impl Trial {
    /// Summarizes an outcome.
    pub fn of(recording: &Recording, outcome: &Outcome) -> Trial {
        let channels = recording.topics().len();
        let main_drop = outcome.drops_by_reason().first().copied();
        Trial {
            config: outcome.config,
            sets: outcome.sets.len(),
            drops: (0..channels).map(|c| outcome.dropped_on(c)).collect(),
            main_drop,
            spread: Spread::of(&mut outcome.spreads(recording)),
        }
    }

    /// Messages dropped on every topic together.
    pub fn dropped_total(&self) -> usize {
        self.drops.iter().sum()
    }
}

/// A setting offered beside the recommendation, with what it is for.
#[derive(Debug, Clone, PartialEq)]
pub struct Alternative {
    /// What it gives.
    pub trial: Trial,
    /// When to prefer it.
    pub note: String,
}

/// The advice: the current setting, the recommended one and why, and alternatives.
#[derive(Debug, Clone, PartialEq)]
pub struct Advice {
    /// The setting inspected.
    pub current: Trial,
    /// The recommended setting.
    pub recommended: Trial,
    /// One line per recommended parameter, saying why.
    pub why: Vec<String>,
    /// Other settings worth knowing about (LatestTime for very different rates).
    pub alternatives: Vec<Alternative>,
    /// Spread of matching stamps: the sets of ApproximateTime with the recommended queue and
    /// no max interval.
    pub matching_spread: Option<Spread>,
    /// Settings replayed to find the recommendation.
    pub tried: usize,
}

/// How much stamp time a topic's queue must hold for sets to form, and the queue size that
/// holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueNeed {
    /// Stamp span the queue must cover, ns: how much later than this topic the latest topic
    /// delivers matching stamps, plus one period of the slowest other topic.
    pub span_ns: i64,
    /// Queue size holding that span at the topic's rate.
    pub queue: usize,
}

/// The queue `channel` needs (see [`QueueNeed`]).
pub fn queue_need(stats: &Stats, channel: usize) -> QueueNeed {
    let latency = |c: usize| stats.topics[c].latency.map_or(0, |l| l.median);
    let latest = (0..stats.topics.len()).map(latency).max().unwrap_or(0);
    let slowest_other = (0..stats.topics.len())
        .filter(|&c| c != channel)
        .map(|c| stats.topics[c].period_ns)
        .max()
        .unwrap_or(0);
    let span_ns = latest
        .saturating_sub(latency(channel))
        .saturating_add(slowest_other)
        .max(0);
    let period = stats.topics[channel].period_ns;
    let queue = if period > 0 {
        usize::try_from(span_ns.div_euclid(period) + 2).unwrap_or(usize::MAX)
    } else {
        1
    };
    QueueNeed {
        span_ns,
        queue: queue.max(1),
    }
}

/// The largest queue the advice tries.
const MAX_QUEUE: usize = 20_000;

/// Finds the recommended setting for `recording` (see the module documentation).
pub fn advise(
    recording: &Recording,
    stats: &Stats,
    current: &PolicyConfig,
    current_outcome: &Outcome,
) -> Result<Advice, InspectError> {
    let channels = recording.topics().len();
    let needed = (0..channels)
        .map(|c| queue_need(stats, c).queue)
        .max()
        .unwrap_or(1)
        .min(MAX_QUEUE);
    let current_queue = match *current {
        PolicyConfig::ApproximateTime { queue_size, .. }
        | PolicyConfig::ExactTime { queue_size }
        | PolicyConfig::ApproximateEpsilonTime { queue_size, .. } => Some(queue_size),
        PolicyConfig::LatestTime => None,
    };
    let cap = (needed * 2).clamp(20, MAX_QUEUE);
    let mut queues: Vec<usize> = [
        1, 2, 3, 5, 8, 10, 15, 20, 30, 50, 80, 100, 150, 200, 300, 500,
    ]
    .into_iter()
    .chain([1000, 2000, 5000, 10_000, 20_000])
    .filter(|&q| q <= cap)
    .chain([
        needed,
        needed + needed / 4 + 1,
        needed + needed / 2,
        needed * 2,
    ])
    .chain(current_queue.filter(|&q| q <= MAX_QUEUE))
    .filter(|&q| (1..=MAX_QUEUE).contains(&q))
    .collect();
    queues.sort_unstable();
    queues.dedup();

    let mut trials: Vec<Trial> = Vec::new();
    let run = |config: PolicyConfig, trials: &mut Vec<Trial>| -> Result<Trial, InspectError> {
        if let Some(t) = trials.iter().find(|t| t.config == config) {
            return Ok(t.clone());
        }
        let trial = Trial::of(recording, &replay(recording, &config)?);
        trials.push(trial.clone());
        Ok(trial)
    };
    let current_trial = Trial::of(recording, current_outcome);
    trials.push(current_trial.clone());

    // Stage 1: queue sizes, ROS defaults otherwise.
    let mut by_queue = Vec::new();
    for &q in &queues {
        by_queue.push((q, run(PolicyConfig::approximate_time(q), &mut trials)?));
    }
    let most = by_queue.iter().map(|(_, t)| t.sets).max().unwrap_or(0);
    let queue = by_queue
        .iter()
        .find(|(_, t)| t.sets as f64 >= most as f64 * SIMPLER_WITHIN)
        .map_or(10, |(q, _)| *q);
    let unlimited = run(PolicyConfig::approximate_time(queue), &mut trials)?;
    let matching_spread = unlimited.spread;

    // Stage 2: a max interval just above the spread of matching stamps.
    let outcome = replay(recording, &PolicyConfig::approximate_time(queue))?;
    let mut spreads = outcome.spreads(recording);
    spreads.sort_unstable();
    let interval = spreads
        .get(((spreads.len() as f64 * 0.99) as usize).min(spreads.len().saturating_sub(1)))
        .map(|&p99| nice_ceiling(p99.saturating_add(p99 / 4).max(1_000_000)));
    let mut intervals = vec![None];
    intervals.extend(interval.map(Some));
    if let PolicyConfig::ApproximateTime {
        max_interval_ns: Some(mi),
        ..
    } = *current
    {
        intervals.push(Some(mi));
    }
    for &mi in &intervals {
        for age in [0.1, 0.0, 1.0] {
            for q in [queue, needed.max(queue)] {
                run(
                    PolicyConfig::ApproximateTime {
                        queue_size: q,
                        max_interval_ns: mi,
                        age_penalty: age,
                        inter_message_lower_bound_ns: None,
                    },
                    &mut trials,
                )?;
            }
        }
    }
    // Stage 3: ExactTime when stamps are identical.
    let identical = stats.identical >= 0.9;
    if identical {
        for q in [queue, needed.max(queue)] {
            run(PolicyConfig::ExactTime { queue_size: q }, &mut trials)?;
        }
    }

    let best = trials
        .iter()
        .filter(|t| !matches!(t.config, PolicyConfig::LatestTime))
        .map(|t| t.sets)
        .max()
        .unwrap_or(0);
    let recommended = trials
        .iter()
        .filter(|t| !matches!(t.config, PolicyConfig::LatestTime))
        .filter(|t| best > 0 && t.sets as f64 >= best as f64 * SIMPLER_WITHIN)
        .min_by(|a, b| {
            simplicity(a, identical, needed).total_cmp(&simplicity(b, identical, needed))
        })
        .cloned()
        .unwrap_or_else(|| current_trial.clone());
    let why = reasons(recording, stats, &recommended, identical, best);

    let mut alternatives = Vec::new();
    if let Some((fast, slow, ratio)) = rate_ratio(stats) {
        if ratio >= LATEST_TIME_RATIO {
            let trial = run(PolicyConfig::LatestTime, &mut trials)?;
            let topics = recording.topics();
            alternatives.push(Alternative {
                note: format!(
                    "LatestTime: a set per `{}` message ({:.0} Hz, {ratio:.0}x `{}`), holding the latest of the slower topics; sets are not stamp-aligned",
                    topics[fast], stats.topics[fast].rate_hz, topics[slow]
                ),
                trial,
            });
        }
    }
    Ok(Advice {
        current: current_trial,
        recommended,
        why,
        alternatives,
        matching_spread,
        tried: trials.len(),
    })
}

/// The fastest and slowest topic and their rate ratio.
pub fn rate_ratio(stats: &Stats) -> Option<(usize, usize, f64)> {
    let rated = || (0..stats.topics.len()).filter(|&c| stats.topics[c].rate_hz > 0.0);
    let fast =
        rated().max_by(|&a, &b| stats.topics[a].rate_hz.total_cmp(&stats.topics[b].rate_hz))?;
    let slow =
        rated().min_by(|&a, &b| stats.topics[a].rate_hz.total_cmp(&stats.topics[b].rate_hz))?;
    Some((
        fast,
        slow,
        stats.topics[fast].rate_hz / stats.topics[slow].rate_hz,
    ))
}

/// Lower is simpler: ExactTime first when stamps are identical, then a max interval set,
/// then a small queue but not below the one the measurements call for (`needed`, a margin
/// against bursts), then ROS's default age penalty.
fn simplicity(t: &Trial, identical: bool, needed: usize) -> f64 {
    let below = |queue_size: usize| if queue_size < needed { 1e10 } else { 0.0 };
    match t.config {
        PolicyConfig::ExactTime { queue_size } => {
            (if identical { 0.0 } else { 4e12 }) + below(queue_size) + queue_size as f64
        }
        PolicyConfig::ApproximateTime {
            queue_size,
            max_interval_ns,
            age_penalty,
            ..
        } => {
            1e12 + if max_interval_ns.is_some() { 0.0 } else { 1e11 }
                + below(queue_size)
                + queue_size as f64 * 10.0
                + if age_penalty == 0.1 { 0.0 } else { 1.0 }
        }
        PolicyConfig::ApproximateEpsilonTime { queue_size, .. } => 3e12 + queue_size as f64,
        PolicyConfig::LatestTime => 5e12,
    }
}

/// Rounds `ns` up to 1, 2 or 5 times a power of ten.
fn nice_ceiling(ns: i64) -> i64 {
    let mut unit: i64 = 1;
    loop {
        for m in [1, 2, 5] {
            if let Some(v) = unit.checked_mul(m) {
                if v >= ns {
                    return v;
                }
            } else {
                return ns;
            }
        }
        match unit.checked_mul(10) {
            Some(u) => unit = u,
            None => return ns,
        }
    }
}

fn reasons(
    recording: &Recording,
    stats: &Stats,
    t: &Trial,
    identical: bool,
    best: usize,
) -> Vec<String> {
    let topics = recording.topics();
    let mut why = Vec::new();
    if best == 0 {
        why.push("no setting tried gives any set: see the diagnosis".to_string());
        return why;
    }
    if let Some(o) = stats.clock_offset() {
        why.push(format!(
            "`{}` stamps are {} off `{}`'s: these settings pair equal stamps, which are not the same moments; fix that clock first, then re-inspect",
            topics[o.channel],
            super::summary::duration(o.clock_ns.saturating_abs()),
            topics[o.reference]
        ));
    }
    match t.config {
        PolicyConfig::ExactTime { queue_size } => {
            if identical {
                why.push(format!(
                    "ExactTime: {:.0}% of stamps are identical on every topic",
                    stats.identical * 100.0
                ));
            }
            why.push(format!(
                "queue {queue_size}: the smallest that keeps the sets"
            ));
        }
        PolicyConfig::ApproximateTime {
            queue_size,
            max_interval_ns,
            age_penalty,
            ..
        } => {
            let c = (0..topics.len())
                .max_by_key(|&c| queue_need(stats, c).queue)
                .unwrap_or(0);
            let need = queue_need(stats, c);
            why.push(format!(
                "queue {queue_size}: holds {} of `{}` ({:.0} Hz); sets need {}",
                super::summary::duration(
                    stats.topics[c].period_ns.saturating_mul(queue_size as i64)
                ),
                topics[c],
                stats.topics[c].rate_hz,
                super::summary::duration(need.span_ns)
            ));
            match max_interval_ns {
                Some(mi) => why.push(format!(
                    "max interval {}: above the spread of stamps in matching sets (p95 {}), so sets further apart are refused",
                    super::summary::duration(mi),
                    t.spread.map_or("-".into(), |s| super::summary::duration(s.p95))
                )),
                None => why.push(
                    "no max interval: the max intervals tried lose sets on this data".to_string(),
                ),
            }
            why.push(if age_penalty == 0.1 {
                "age penalty 0.1 (ROS default): other values give no more sets".to_string()
            } else {
                format!("age penalty {age_penalty}: gives more sets than ROS's 0.1 here")
            });
        }
        PolicyConfig::ApproximateEpsilonTime { .. } | PolicyConfig::LatestTime => {}
    }
    why
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ceilings() {
        assert_eq!(nice_ceiling(1), 1);
        assert_eq!(nice_ceiling(12_300_000), 20_000_000);
        assert_eq!(nice_ceiling(4_000_000), 5_000_000);
        assert_eq!(nice_ceiling(5_000_001), 10_000_000);
        assert_eq!(nice_ceiling(i64::MAX - 3), i64::MAX - 3);
    }
}
