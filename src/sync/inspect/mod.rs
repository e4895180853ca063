//! Why a synchronizer does what it does: statistics of the topics it joins, a plain-language
//! diagnosis, parameter advice found by re-running the policies, and an HTML report
//! (`rosync sync inspect`).
//!
//! The input is a [`Recording`]: the header stamp and (when known) the receive time of every
//! message of 2 to 9 topics, in arrival order, read from a log (receive time = log time) or
//! collected live. [`inspect`] replays the given policy over it ([`replay`](mod@replay)),
//! measures each topic ([`stats`]), names what goes wrong ([`diagnosis`]) and sweeps settings
//! for the one to use ([`advice`]); [`html::report`] renders the result as one self-contained
//! HTML file.
//! Everything is deterministic: the same recording always gives the same inspection.

pub mod advice;
pub mod diagnosis;
pub mod histogram;
pub mod html;
pub mod recording;
pub mod replay;
pub mod stats;
mod summary;

pub use advice::{advise, queue_need, Advice, Alternative, QueueNeed, Trial};
pub use diagnosis::{diagnose, Finding, FindingKind};
pub use recording::{InspectError, Observed, Recording};
pub use replay::{replay, Fate, Outcome};
pub use stats::{measure, Offset, Spread, Stats, TopicStats};

use super::PolicyConfig;

/// Everything `rosync sync inspect` reports about one recording and one policy setting.
#[derive(Debug, Clone)]
pub struct Inspection {
    /// The messages inspected.
    pub recording: Recording,
    /// Per-topic and between-topic measurements.
    pub stats: Stats,
    /// What the given setting does on the recording: every set and every drop.
    pub outcome: Outcome,
    /// Problems found, the main one first.
    pub findings: Vec<Finding>,
    /// The recommended setting and the alternatives, each with what it gives on this data.
    pub advice: Advice,
}

/// Inspects `recording` under the policy `config`: replay, statistics, diagnosis and advice.
/// Fails when a topic has no message, or the setting is out of range.
pub fn inspect(recording: Recording, config: &PolicyConfig) -> Result<Inspection, InspectError> {
    recording.check_every_topic_has_messages()?;
    let outcome = replay(&recording, config)?;
    let stats = measure(&recording, &outcome);
    let advice = advise(&recording, &stats, config, &outcome)?;
    let findings = diagnose(&recording, &stats, config, &outcome, &advice);
    Ok(Inspection {
        recording,
        stats,
        outcome,
        findings,
        advice,
    })
}

impl Inspection {
    /// The main problem found, if any.
    pub fn main_finding(&self) -> Option<&Finding> {
        self.findings.first()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extreme_stamps_and_empty_topics_never_panic() {
        let stamps = [
            i64::MIN,
            i64::MAX,
            0,
            -5,
            i64::MAX - 1,
            i64::MIN + 1,
            7,
            7,
            7,
        ];
        for config in [
            PolicyConfig::approximate_time(1),
            PolicyConfig::ExactTime { queue_size: 2 },
            PolicyConfig::LatestTime,
        ] {
            let mut rec = Recording::new(vec!["/a".into(), "/b".into(), "/c".into()]).expect("rec");
            for (i, &s) in stamps.iter().enumerate() {
                let received = (i % 2 == 0).then_some(stamps[(i + 3) % stamps.len()]);
                rec.push(i % 3, s, received).expect("push");
            }
            let inspection = inspect(rec, &config).expect("inspects");
            let _ = inspection.to_string();
            let _ = html::report(&inspection, "extreme");
        }
        let mut rec = Recording::new(vec!["/a".into(), "/b".into()]).expect("rec");
        rec.push(0, 1, None).expect("push");
        assert_eq!(
            inspect(rec, &PolicyConfig::LatestTime).err(),
            Some(InspectError::NoMessages("/b".into()))
        );
    }
}
