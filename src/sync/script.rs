//! Sync scripts: a plain-text arrival timeline replayed through a policy without a network.
//!
//! Format (see `shared/sync-script.md`): a header line
//! `approx N QUEUE MAX_INTERVAL_NS AGE_PENALTY LOWER_BOUND_NS` or `exact N QUEUE`, then one
//! `CHANNEL STAMP_NS` line per message in arrival order. A message's id is its index among
//! message lines. Blank lines are ignored and do not count as messages. `MAX_INTERVAL_NS` of
//! 0 means unlimited; `LOWER_BOUND_NS` applies to every channel, 0 meaning none.
//!
//! Output: one `SET id0 id1 ...` line per emitted set, ids in channel order.

use std::fmt;

use super::config::PolicyConfig;
use super::policy::{ConfigError, Emitted, Policy, MAX_CHANNELS, MIN_CHANNELS};

/// Which policy a script runs, with its parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScriptPolicy {
    /// ROS ExactTime.
    Exact {
        /// Maximum number of pending stamps.
        queue_size: usize,
    },
    /// ROS ApproximateTime.
    Approx {
        /// Per-channel queue size.
        queue_size: usize,
        /// Max interval duration in ns; 0 means unlimited.
        max_interval_ns: i64,
        /// Age penalty.
        age_penalty: f64,
        /// Inter-message lower bound in ns for every channel; 0 means none.
        lower_bound_ns: i64,
    },
}

/// One scripted message arrival.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScriptMessage {
    /// Channel index (0-based).
    pub channel: usize,
    /// Header stamp in ns.
    pub stamp: i64,
}

/// A parsed sync script.
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    /// Number of channels (2..=9).
    pub channels: usize,
    /// Policy and parameters.
    pub policy: ScriptPolicy,
    /// Messages in arrival order; the index is the message id.
    pub messages: Vec<ScriptMessage>,
}

/// What was wrong with a script line.
#[derive(Debug, Clone, PartialEq)]
pub enum ScriptErrorKind {
    /// The text has no header line.
    MissingHeader,
    /// The header's first word is neither `exact` nor `approx`.
    UnknownPolicy(String),
    /// A line has the wrong number of fields.
    FieldCount {
        /// Fields expected.
        expected: usize,
        /// Fields found.
        found: usize,
    },
    /// A field is not a valid number of the expected kind.
    BadNumber {
        /// Which field.
        field: &'static str,
        /// The text found.
        text: String,
    },
    /// A header value is out of range.
    Config(ConfigError),
    /// A message names a channel that does not exist.
    ChannelOutOfRange {
        /// The channel given.
        channel: usize,
        /// The script's channel count.
        channels: usize,
    },
}

/// A script parse error: the 1-based line number and what was wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptError {
    /// 1-based line number in the text.
    pub line: usize,
    /// What was wrong.
    pub kind: ScriptErrorKind,
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: ", self.line)?;
        match &self.kind {
            ScriptErrorKind::MissingHeader => write!(f, "missing header line"),
            ScriptErrorKind::UnknownPolicy(p) => {
                write!(f, "unknown policy {p:?} (expected \"exact\" or \"approx\")")
            }
            ScriptErrorKind::FieldCount { expected, found } => {
                write!(f, "expected {expected} fields, found {found}")
            }
            ScriptErrorKind::BadNumber { field, text } => {
                write!(f, "{field}: invalid number {text:?}")
            }
            ScriptErrorKind::Config(e) => write!(f, "{e}"),
            ScriptErrorKind::ChannelOutOfRange { channel, channels } => {
                write!(f, "channel {channel} out of range (channels: {channels})")
            }
        }
    }
}

impl std::error::Error for ScriptError {}

/// Parses one numeric field, naming it in the error.
fn num<T: std::str::FromStr>(
    line: usize,
    field: &'static str,
    text: &str,
) -> Result<T, ScriptError> {
    text.parse().map_err(|_| ScriptError {
        line,
        kind: ScriptErrorKind::BadNumber {
            field,
            text: text.to_string(),
        },
    })
}

/// Error helper for a wrong field count.
fn count_err(line: usize, expected: usize, found: usize) -> ScriptError {
    ScriptError {
        line,
        kind: ScriptErrorKind::FieldCount { expected, found },
    }
}

/// Parses the header line into the channel count and policy.
fn parse_header(line: usize, fields: &[&str]) -> Result<(usize, ScriptPolicy), ScriptError> {
    let cfg = |e| ScriptError {
        line,
        kind: ScriptErrorKind::Config(e),
    };
    let (expected, kind) = match fields.first() {
        Some(&"exact") => (3, true),
        Some(&"approx") => (6, false),
        Some(other) => {
            return Err(ScriptError {
                line,
                kind: ScriptErrorKind::UnknownPolicy(other.to_string()),
            })
        }
        None => {
            return Err(ScriptError {
                line,
                kind: ScriptErrorKind::MissingHeader,
            })
        }
    };
    if fields.len() != expected {
        return Err(count_err(line, expected, fields.len()));
    }
    let channels: usize = num(line, "channel count", fields[1])?;
    let queue_size: usize = num(line, "queue size", fields[2])?;
    if !(MIN_CHANNELS..=MAX_CHANNELS).contains(&channels) {
        return Err(cfg(ConfigError::ChannelCount(channels)));
    }
    if queue_size == 0 {
        return Err(cfg(ConfigError::QueueSize(queue_size)));
    }
    if kind {
        return Ok((channels, ScriptPolicy::Exact { queue_size }));
    }
    let max_interval_ns: i64 = num(line, "max interval", fields[3])?;
    let age_penalty: f64 = num(line, "age penalty", fields[4])?;
    let lower_bound_ns: i64 = num(line, "lower bound", fields[5])?;
    if max_interval_ns < 0 {
        return Err(cfg(ConfigError::MaxInterval(max_interval_ns)));
    }
    if !age_penalty.is_finite() || age_penalty < 0.0 {
        return Err(cfg(ConfigError::AgePenalty(age_penalty)));
    }
    if lower_bound_ns < 0 {
        return Err(cfg(ConfigError::LowerBound(lower_bound_ns)));
    }
    Ok((
        channels,
        ScriptPolicy::Approx {
            queue_size,
            max_interval_ns,
            age_penalty,
            lower_bound_ns,
        },
    ))
}

/// Parses sync-script text into a [`Script`], validating every value.
pub fn parse_script(text: &str) -> Result<Script, ScriptError> {
    let mut header: Option<(usize, ScriptPolicy)> = None;
    let mut messages = Vec::new();
    for (idx, raw) in text.lines().enumerate() {
        let line = idx + 1;
        let fields: Vec<&str> = raw.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        let Some((channels, _)) = header else {
            header = Some(parse_header(line, &fields)?);
            continue;
        };
        if fields.len() != 2 {
            return Err(count_err(line, 2, fields.len()));
        }
        let channel: usize = num(line, "channel", fields[0])?;
        let stamp: i64 = num(line, "stamp", fields[1])?;
        if channel >= channels {
            return Err(ScriptError {
                line,
                kind: ScriptErrorKind::ChannelOutOfRange { channel, channels },
            });
        }
        messages.push(ScriptMessage { channel, stamp });
    }
    match header {
        Some((channels, policy)) => Ok(Script {
            channels,
            policy,
            messages,
        }),
        None => Err(ScriptError {
            line: 1,
            kind: ScriptErrorKind::MissingHeader,
        }),
    }
}

/// Builds the policy a script describes, with message ids as payloads.
pub fn build_policy(script: &Script) -> Result<Box<dyn Policy<usize> + Send>, ConfigError> {
    PolicyConfig::from(script.policy).build(script.channels)
}

/// Replays a script and returns everything emitted: sets and drops, payloads being message ids.
///
/// Messages still queued at the end are not reported (no reset is performed).
pub fn simulate(script: &Script) -> Result<Emitted<usize>, ConfigError> {
    let mut policy = build_policy(script)?;
    let mut out = Emitted::new();
    for (id, m) in script.messages.iter().enumerate() {
        policy.add(m.channel, m.stamp, id, &mut out);
    }
    Ok(out)
}

/// Formats sets as `SET a b c` lines, each ending with a newline.
pub fn format_sets(sets: &[Vec<usize>]) -> String {
    let mut s = String::new();
    for set in sets {
        s.push_str("SET");
        for id in set {
            s.push(' ');
            s.push_str(&id.to_string());
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::super::policy::DropReason;
    use super::*;

    /// Runs a script text and formats its sets.
    fn sets_of(text: &str) -> String {
        let script = parse_script(text).expect("script parses");
        format_sets(&simulate(&script).expect("valid config").sets)
    }

    #[test]
    fn parses_and_formats() {
        let s = parse_script("approx 2 10 0 0.1 0\n0 5\n\n1 6  \n").expect("parses");
        assert_eq!(s.channels, 2);
        assert_eq!(s.messages.len(), 2);
        assert_eq!(
            s.messages[1],
            ScriptMessage {
                channel: 1,
                stamp: 6
            }
        );
        assert_eq!(format_sets(&[vec![0, 1], vec![2, 3]]), "SET 0 1\nSET 2 3\n");
        assert_eq!(sets_of("exact 3 5\n0 1\n1 1\n2 1\n"), "SET 0 1 2\n");
    }

    #[test]
    fn reports_errors_with_lines() {
        let e = parse_script("fuzzy 2 3").expect_err("bad policy");
        assert_eq!(e.line, 1);
        assert_eq!(e.kind, ScriptErrorKind::UnknownPolicy("fuzzy".into()));
        let e = parse_script("exact 12 3").expect_err("bad count");
        assert_eq!(
            e.kind,
            ScriptErrorKind::Config(ConfigError::ChannelCount(12))
        );
        let e = parse_script("exact 2 0").expect_err("bad queue");
        assert_eq!(e.kind, ScriptErrorKind::Config(ConfigError::QueueSize(0)));
        let e = parse_script("approx 2 3 0 -1 0").expect_err("bad penalty");
        assert_eq!(
            e.kind,
            ScriptErrorKind::Config(ConfigError::AgePenalty(-1.0))
        );
        let e = parse_script("exact 2 3\n0 1\n2 5\n").expect_err("bad channel");
        assert_eq!(e.line, 3);
        assert_eq!(
            e.kind,
            ScriptErrorKind::ChannelOutOfRange {
                channel: 2,
                channels: 2
            }
        );
        let e = parse_script("exact 2 3\n0 x\n").expect_err("bad stamp");
        assert_eq!(e.line, 2);
        assert!(matches!(
            e.kind,
            ScriptErrorKind::BadNumber { field: "stamp", .. }
        ));
        let e = parse_script("exact 2 3\n0 1 2\n").expect_err("bad fields");
        assert_eq!(
            e.kind,
            ScriptErrorKind::FieldCount {
                expected: 2,
                found: 3
            }
        );
        assert_eq!(
            parse_script("\n\n").expect_err("empty").kind,
            ScriptErrorKind::MissingHeader
        );
        assert!(e.to_string().starts_with("line 2:"));
    }

    /// Checks that every message id is either in a set, dropped, or still pending, once.
    fn assert_accounted(text: &str) {
        let script = parse_script(text).expect("parses");
        let mut policy = build_policy(&script).expect("valid");
        let mut out = Emitted::new();
        for (id, m) in script.messages.iter().enumerate() {
            policy.add(m.channel, m.stamp, id, &mut out);
        }
        policy.reset(&mut out);
        let mut seen = vec![0u32; script.messages.len()];
        for set in &out.sets {
            for &id in set {
                seen[id] += 1;
            }
        }
        for d in &out.drops {
            seen[d.msg] += 1;
            assert_eq!(d.channel, script.messages[d.msg].channel);
            assert_eq!(d.stamp, script.messages[d.msg].stamp);
        }
        assert!(
            seen.iter().all(|&c| c == 1),
            "unaccounted or double-counted: {seen:?}"
        );
        assert!(out.drops.iter().any(|d| d.reason == DropReason::Reset) || policy.pending() == 0);
    }

    /// The ROS 2 message_filters directed ApproximateTime cases; expected sets come from the
    /// ROS 1 C++ oracle (see `tests/sync_golden/cases/directed_*`).
    const DIRECTED: &[(&str, &str, &str)] = &[
        (
            "exact_match",
            "approx 2 10 0 0.1 0\n0 0\n1 0\n0 3000000000\n1 3000000000\n0 6000000000\n1 6000000000\n",
            "SET 0 1\nSET 2 3\nSET 4 5\n",
        ),
        (
            "perfect_match",
            "approx 2 10 0 0.1 0\n0 0\n1 1000000000\n0 3000000000\n1 4000000000\n0 6000000000\n1 7000000000\n",
            "SET 0 1\nSET 2 3\n",
        ),
        (
            "imperfect_match",
            "approx 2 10 0 0.1 0\n0 0\n1 1000000000\n0 2000000000\n0 3000000000\n1 5000000000\n0 6000000000\n1 7000000000\n",
            "SET 0 1\nSET 5 4\n",
        ),
        (
            "acceleration",
            "approx 2 10 0 0.1 0\n0 0\n1 7000000000\n0 12000000000\n1 15000000000\n0 17000000000\n1 18000000000\n",
            "SET 2 1\nSET 4 5\n",
        ),
        (
            "dropped_messages_q1",
            "approx 2 1 0 0.1 0\n0 0\n1 1000000000\n1 3000000000\n0 4000000000\n1 7000000000\n0 8000000000\n0 10000000000\n1 11000000000\n0 13000000000\n1 14000000000\n",
            "SET 3 2\nSET 6 7\n",
        ),
        (
            "dropped_messages_q2",
            "approx 2 2 0 0.1 0\n0 0\n1 1000000000\n1 3000000000\n0 4000000000\n1 7000000000\n0 8000000000\n0 10000000000\n1 11000000000\n0 13000000000\n1 14000000000\n",
            "SET 0 1\nSET 3 2\nSET 5 4\nSET 6 7\n",
        ),
        (
            "long_queue",
            "approx 2 5 0 0.1 0\n0 0\n0 1000000000\n0 2000000000\n0 3000000000\n0 4000000000\n0 5000000000\n0 6000000000\n0 7000000000\n0 8000000000\n1 3000000000\n0 9000000000\n0 10000000000\n0 11000000000\n0 12000000000\n1 10000000000\n0 13000000000\n",
            "SET 11 14\n",
        ),
        (
            "double_publish",
            "approx 2 10 0 0.1 0\n0 0\n1 1000000000\n1 3000000000\n0 3000000000\n",
            "SET 0 1\nSET 3 2\n",
        ),
        (
            "four_topics",
            "approx 4 10 0 0.1 0\n0 0\n1 1000000000\n2 2000000000\n3 3000000000\n0 5000000000\n3 5000000000\n1 6000000000\n2 6000000000\n0 8000000000\n1 9000000000\n2 10000000000\n3 11000000000\n0 10000000000\n0 13000000000\n1 14000000000\n",
            "SET 0 1 2 3\nSET 4 6 7 5\nSET 12 9 10 11\n",
        ),
        (
            "early_publish",
            "approx 4 10 0 0.1 0\n0 0\n1 1000000000\n2 2000000000\n3 3000000000\n0 7000000000\n",
            "SET 0 1 2 3\n",
        ),
        (
            "rate_bound_1_5",
            "approx 2 10 0 0.1 1500000000\n0 0\n1 1000000000\n0 3000000000\n1 4000000000\n0 6000000000\n1 7000000000\n",
            "SET 0 1\nSET 2 3\n",
        ),
        (
            "rate_bound_2",
            "approx 2 10 0 0.1 2000000000\n0 0\n1 1000000000\n0 3000000000\n1 4000000000\n0 6000000000\n1 7000000000\n",
            "SET 0 1\nSET 2 3\nSET 4 5\n",
        ),
    ];

    #[test]
    fn ros2_directed_cases_match_oracle() {
        for (name, script, expected) in DIRECTED {
            assert_eq!(sets_of(script), *expected, "case {name}");
            assert_accounted(script);
        }
    }

    /// Replays every golden timeline in `tests/sync_golden/cases` (expected sets produced by the
    /// ROS 1 C++ implementation) and checks sets and drop accounting. Skipped when the crate
    /// directory is unknown at compile time.
    #[test]
    fn golden_cases_match_ros_oracle() {
        let root = env!("CARGO_MANIFEST_DIR");
        let dir = std::path::Path::new(root).join("tests/sync_golden/cases");
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .expect("golden case directory")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "txt"))
            .collect();
        paths.sort();
        assert!(
            paths.len() >= 300,
            "expected at least 300 golden cases, found {}",
            paths.len()
        );
        let mut failed = Vec::new();
        for path in &paths {
            let text = std::fs::read_to_string(path).expect("case text");
            let expected =
                std::fs::read_to_string(path.with_extension("expected")).expect("expected");
            if sets_of(&text) != expected {
                failed.push(path.display().to_string());
            }
            assert_accounted(&text);
        }
        assert!(
            failed.is_empty(),
            "{} of {} golden cases differ: {failed:?}",
            failed.len(),
            paths.len()
        );
    }
}
