//! [`PlayReport`]: what a playback did, with the [`ScheduleError`] percentiles.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::bag::{Damage, SkippedTopic};

/// Percentiles of the schedule error (publish instant minus scheduled instant), or of another
/// duration a [`PlayReport`] measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleError {
    /// Messages measured.
    pub samples: u64,
    /// Median.
    pub p50: Duration,
    /// 90th percentile.
    pub p90: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Largest.
    pub max: Duration,
}

impl ScheduleError {
    /// The percentiles of errors in nanoseconds (nearest rank); `None` without samples.
    pub fn from_nanos(samples: &mut [u64]) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        samples.sort_unstable();
        let n = samples.len();
        let rank = |p: f64| {
            let index = ((p * n as f64).ceil() as usize).clamp(1, n) - 1;
            Duration::from_nanos(samples[index])
        };
        Some(Self {
            samples: n as u64,
            p50: rank(0.50),
            p90: rank(0.90),
            p99: rank(0.99),
            max: Duration::from_nanos(samples[n - 1]),
        })
    }
}

/// Samples a [`Samples`] keeps exactly; beyond, it keeps a uniform subsample of about as many.
const MAX_KEPT: usize = 1 << 20;

/// Durations (ns) measured during a playback, in bounded memory: the first [`MAX_KEPT`] are
/// kept; when that many are held, every other one is let go and from then on only every
/// `stride`-th is kept (a uniform subsample, so the percentiles stay representative of a
/// playback of any length). The count and the maximum stay exact.
#[derive(Debug, Clone)]
pub(crate) struct Samples {
    kept: Vec<u64>,
    /// One sample in `stride` is kept (a power of two).
    stride: u64,
    seen: u64,
    max: u64,
}

impl Default for Samples {
    fn default() -> Self {
        Self {
            kept: Vec::new(),
            stride: 1,
            seen: 0,
            max: 0,
        }
    }
}

impl Samples {
    /// Records one duration in nanoseconds.
    pub fn push(&mut self, ns: u64) {
        if self.seen % self.stride == 0 {
            self.kept.push(ns);
            if self.kept.len() >= MAX_KEPT {
                let mut index = 0;
                self.kept.retain(|_| {
                    index += 1;
                    index % 2 == 1
                });
                self.stride *= 2;
            }
        }
        self.seen += 1;
        self.max = self.max.max(ns);
    }

    /// Adds what `other` recorded (its kept samples, its exact count and maximum).
    pub fn extend(&mut self, other: &Samples) {
        for &ns in &other.kept {
            self.push(ns);
        }
        self.seen += other.seen - other.kept.len() as u64;
        self.max = self.max.max(other.max);
    }

    /// The percentiles of what was recorded; `None` without samples.
    pub fn percentiles(&mut self) -> Option<ScheduleError> {
        let mut error = ScheduleError::from_nanos(&mut self.kept)?;
        error.samples = self.seen;
        error.max = Duration::from_nanos(self.max);
        Some(error)
    }
}

/// What a playback did.
#[derive(Debug, Clone, Default)]
pub struct PlayReport {
    /// Messages published (clock messages not included).
    pub published: u64,
    /// Payload bytes published.
    pub bytes: u64,
    /// Messages published per topic, by published name.
    pub per_topic: BTreeMap<String, u64>,
    /// Schedule error over the messages published while playing at a rate > 0 (steps and
    /// as-fast-as-possible messages are not measured); `None` if none was measured.
    pub schedule_error: Option<ScheduleError>,
    /// The schedule error per topic (by published name).
    pub schedule_error_per_topic: BTreeMap<String, ScheduleError>,
    /// How late the player's sleeps woke after the instant asked for (before the short
    /// busy-wait to the message's instant); `None` if it never slept.
    pub wake_lateness: Option<ScheduleError>,
    /// Per topic (by published name), how long handing a message to zenoh took.
    pub publish_time: BTreeMap<String, ScheduleError>,
    /// Selected topics that were not played, with the reason.
    pub skipped_topics: Vec<SkippedTopic>,
    /// Damage found in the log (each naming its file); what was readable was played.
    pub damage: Vec<String>,
    /// Damaged chunks skipped while playing (each naming its file, offset and messages lost).
    pub skipped: Vec<Damage>,
    /// `/clock` messages published.
    pub clock_messages: u64,
    /// Messages that zenoh refused to publish.
    pub publish_failures: u64,
    /// Times the player found its read-ahead empty and waited for the reader (the log is
    /// read slower than played: a slow disk, or `--rate 0`).
    pub read_ahead_empty: u64,
    /// Times the player waited for room in a topic's publishing queue (big messages are
    /// published from a thread per topic; nothing is dropped).
    pub publish_queue_full: u64,
    /// Complete passes over the log (more than one when looping).
    pub passes: u64,
    /// Whether playback was stopped before the end.
    pub stopped: bool,
    /// Wall time from the first message to the end.
    pub elapsed: Duration,
}

fn micros(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

impl std::fmt::Display for PlayReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.elapsed.as_secs_f64();
        write!(
            f,
            "published {} messages ({:.1} MB) in {:.2} s",
            self.published,
            self.bytes as f64 / 1e6,
            secs
        )?;
        if self.passes > 1 {
            write!(f, " over {} passes", self.passes)?;
        }
        if self.stopped {
            write!(f, " (stopped)")?;
        }
        for (topic, count) in &self.per_topic {
            write!(f, "\n  {topic}: {count}")?;
        }
        if self.clock_messages > 0 {
            write!(f, "\n  /clock: {} clock messages", self.clock_messages)?;
        }
        match &self.schedule_error {
            Some(e) => write!(
                f,
                "\nschedule error over {} messages: p50 {}, p90 {}, p99 {}, max {}",
                e.samples,
                micros(e.p50),
                micros(e.p90),
                micros(e.p99),
                micros(e.max)
            )?,
            None => write!(f, "\nschedule error: not measured")?,
        }
        if self.publish_failures > 0 {
            write!(f, "\n{} messages failed to publish", self.publish_failures)?;
        }
        if self.publish_queue_full > 0 {
            write!(
                f,
                "\nwaited {} times for a full publishing queue",
                self.publish_queue_full
            )?;
        }
        for skipped in &self.skipped_topics {
            write!(f, "\nskipped {}: {}", skipped.topic, skipped.reason)?;
        }
        for damage in &self.damage {
            write!(f, "\ndamaged log: {damage}")?;
        }
        for damage in &self.skipped {
            write!(f, "\n{damage}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut samples: Vec<u64> = (1..=100).rev().collect();
        let e = ScheduleError::from_nanos(&mut samples).expect("samples");
        assert_eq!(e.p50, Duration::from_nanos(50));
        assert_eq!(e.p90, Duration::from_nanos(90));
        assert_eq!(e.p99, Duration::from_nanos(99));
        assert_eq!(e.max, Duration::from_nanos(100));
        assert!(ScheduleError::from_nanos(&mut []).is_none());
    }

    #[test]
    fn report_prints_passes_and_unmeasured_error() {
        let report = PlayReport {
            published: 3,
            passes: 2,
            stopped: true,
            per_topic: [("/a".to_string(), 3)].into_iter().collect(),
            ..Default::default()
        };
        let text = report.to_string();
        assert!(text.starts_with("published 3 messages (0.0 MB) in 0.00 s over 2 passes (stopped)"));
        assert!(text.contains("\n  /a: 3"));
        assert!(text.contains("schedule error: not measured"));
    }

    #[test]
    fn samples_stay_bounded_with_exact_count_and_max_and_close_percentiles() {
        let mut samples = Samples::default();
        let n = 3 * MAX_KEPT as u64 + 7;
        // A ramp 0..n shuffled by a stride coprime with n: every value once.
        for i in 0..n {
            samples.push((i * 7_919) % n);
        }
        assert!(samples.kept.len() < MAX_KEPT, "{}", samples.kept.len());
        let error = samples.percentiles().expect("samples");
        assert_eq!(error.samples, n);
        assert_eq!(error.max, Duration::from_nanos(n - 1));
        let p50 = error.p50.as_nanos() as f64 / n as f64;
        let p99 = error.p99.as_nanos() as f64 / n as f64;
        assert!((p50 - 0.50).abs() < 0.01, "p50 at {p50}");
        assert!((p99 - 0.99).abs() < 0.01, "p99 at {p99}");
        // Merged: counts add up, the larger maximum wins.
        let mut other = Samples::default();
        other.push(5);
        other.push(n + 10);
        samples.extend(&other);
        let merged = samples.percentiles().expect("samples");
        assert_eq!(merged.samples, n + 2);
        assert_eq!(merged.max, Duration::from_nanos(n + 10));
    }
}
