//! The terminal summary of an inspection, and the duration format every text uses.

use std::fmt;

use crate::sync::PolicyConfig;

use super::advice::Trial;
use super::Inspection;

/// A duration in ns as text: `2.31 s`, `12.5 ms` or `850 µs`.
pub fn duration(ns: i64) -> String {
    let abs = ns.unsigned_abs();
    if abs >= 1_000_000_000 {
        format!("{:.2} s", ns as f64 / 1e9)
    } else if abs >= 1_000_000 {
        format!("{:.1} ms", ns as f64 / 1e6)
    } else {
        format!("{:.0} µs", ns as f64 / 1e3)
    }
}

/// A policy setting in the command line's words, such as `approx --queue 10 --max-interval 0.02`.
pub fn setting(config: &PolicyConfig) -> String {
    match *config {
        PolicyConfig::ExactTime { queue_size } => format!("--policy exact --queue {queue_size}"),
        PolicyConfig::ApproximateTime {
            queue_size,
            max_interval_ns,
            age_penalty,
            inter_message_lower_bound_ns: _,
        } => {
            let mut s = format!("--policy approx --queue {queue_size}");
            if let Some(mi) = max_interval_ns {
                s.push_str(&format!(" --max-interval {}", mi as f64 / 1e9));
            }
            if age_penalty != 0.1 {
                s.push_str(&format!(" --age-penalty {age_penalty}"));
            }
            s
        }
        PolicyConfig::LatestTime => "--policy latest".to_string(),
        PolicyConfig::ApproximateEpsilonTime {
            queue_size,
            epsilon_ns,
        } => format!(
            "--policy epsilon --queue {queue_size} --epsilon {}",
            epsilon_ns as f64 / 1e9
        ),
    }
}

/// One line for a trial: its setting, sets (per second) and drops.
pub fn trial_line(trial: &Trial, seconds: f64, topics: &[String]) -> String {
    let per_topic: Vec<String> = topics
        .iter()
        .zip(&trial.drops)
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    let rate = if seconds > 0.0 {
        trial.sets as f64 / seconds
    } else {
        0.0
    };
    format!(
        "{}: {} sets ({rate:.1}/s), dropped {}",
        setting(&trial.config),
        trial.sets,
        per_topic.join(", ")
    )
}

impl fmt::Display for Inspection {
    /// The terminal summary: topics, offsets, sets and drops, diagnosis and advice.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let topics = self.recording.topics();
        let seconds = self.stats.duration_ns as f64 / 1e9;
        writeln!(
            f,
            "{} messages on {} topics over {seconds:.2} s",
            self.recording.messages().len(),
            topics.len()
        )?;
        writeln!(f, "topics:")?;
        for (c, t) in self.stats.topics.iter().enumerate() {
            let latency = t.latency.map_or("unknown".into(), |l| {
                format!(
                    "median {} (p5 {}, p95 {})",
                    duration(l.median),
                    duration(l.p05),
                    duration(l.p95)
                )
            });
            writeln!(
                f,
                "  {}: {} msgs, {:.2} Hz, stamp jitter {}, {} gaps ({} missing), latency {latency}",
                topics[c],
                t.count,
                t.rate_hz,
                duration(t.jitter_ns),
                t.gaps,
                t.missing
            )?;
        }
        for o in &self.stats.offsets {
            writeln!(
                f,
                "offset {} vs {}: {} (by receive time); nearest stamps {}",
                topics[o.channel],
                topics[o.reference],
                duration(o.clock_ns),
                super::Spread::of(&mut o.nearest.clone())
                    .map_or("-".into(), |s| format!("median {}", duration(s.median)))
            )?;
        }
        let o = &self.outcome;
        writeln!(
            f,
            "sets: {} ({:.2}/s) with {}; spread {}",
            o.sets.len(),
            self.stats.sets_per_second,
            setting(&o.config),
            self.stats.set_spread.map_or("-".into(), |s| format!(
                "median {}, max {}",
                duration(s.median),
                duration(s.max)
            ))
        )?;
        for (c, reason, n) in o.drops_sorted() {
            writeln!(f, "  dropped {n} on {}: {reason}", topics[c])?;
        }
        writeln!(f, "diagnosis:")?;
        if self.findings.is_empty() {
            writeln!(f, "  no problem found")?;
        }
        for (i, finding) in self.findings.iter().enumerate() {
            let mark = if i == 0 && finding.kind.is_problem() {
                "main problem: "
            } else if finding.kind.is_problem() {
                ""
            } else {
                "note: "
            };
            writeln!(f, "  {mark}{}", finding.text)?;
        }
        let a = &self.advice;
        writeln!(
            f,
            "advice (from {} settings replayed on this data):",
            a.tried
        )?;
        writeln!(
            f,
            "  current:     {}",
            trial_line(&a.current, seconds, topics)
        )?;
        writeln!(
            f,
            "  recommended: {}",
            trial_line(&a.recommended, seconds, topics)
        )?;
        for why in &a.why {
            writeln!(f, "    {why}")?;
        }
        for alt in &a.alternatives {
            writeln!(
                f,
                "  alternative: {}\n    {}",
                trial_line(&alt.trial, seconds, topics),
                alt.note
            )?;
        }
        Ok(())
    }
}
