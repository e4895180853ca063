//! Text timelines of transforms and lookups, and their outcomes: the format of the conformance
//! tests against tf2 (`tests/tf_golden`, where the format is described) and of the lookup
//! benchmark. One command a line:
//!
//! ```text
//! cache_time 10000000000
//! set 1000000000 odom base_link 1 0 0 0 0 0 1 dynamic
//! lookup odom base_link 1000000000
//! lookup_full odom 0 base_link 1000000000 map
//! can odom base_link 0
//! clear
//! ```
//!
//! Each command except `cache_time` has one outcome line, written by [`Outcome`]'s `Display`:
//! `stored`, `rejected`, `cleared`, `can yes|no`, `ok STAMP TX TY TZ QX QY QZ QW` or
//! `error CLASS [past|future|nodata]`.

use std::fmt;

use super::errors::Extrapolation;
use super::{Buffer, RigidTransform, TfError};
use crate::msg::geometry_msgs::TransformStamped;
use crate::msg::std_msgs::Header;
use crate::time::Time;

/// One line of a timeline.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `set STAMP PARENT CHILD TX TY TZ QX QY QZ QW static|dynamic`.
    Set {
        /// The transform.
        transform: TransformStamped,
        /// Whether it is static.
        is_static: bool,
    },
    /// `lookup TARGET SOURCE TIME`.
    Lookup {
        /// Target frame.
        target: String,
        /// Source frame.
        source: String,
        /// Time (ns).
        time: Time,
    },
    /// `lookup_full TARGET TARGET_TIME SOURCE SOURCE_TIME FIXED`.
    LookupFull {
        /// Target frame.
        target: String,
        /// Target time.
        target_time: Time,
        /// Source frame.
        source: String,
        /// Source time.
        source_time: Time,
        /// Fixed frame.
        fixed: String,
    },
    /// `can TARGET SOURCE TIME`.
    Can {
        /// Target frame.
        target: String,
        /// Source frame.
        source: String,
        /// Time (ns).
        time: Time,
    },
    /// `clear`.
    Clear,
}

impl Command {
    /// Whether it is a query (lookup, lookup_full or can), the commands a benchmark times.
    pub fn is_query(&self) -> bool {
        matches!(
            self,
            Self::Lookup { .. } | Self::LookupFull { .. } | Self::Can { .. }
        )
    }
}

/// A parsed timeline: the buffer's cache time and the commands in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// The buffer's cache time (default 10 s).
    pub cache_time: std::time::Duration,
    /// The commands.
    pub commands: Vec<Command>,
}

/// A line that is not a valid command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("timeline line {line}: {reason}")]
pub struct TimelineError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

fn nanos(field: &str, what: &str) -> Result<Time, String> {
    field
        .parse::<i64>()
        .map(Time::from_nanos)
        .map_err(|_| format!("{what} `{field}` is not an integer number of nanoseconds"))
}

fn float(field: &str) -> Result<f64, String> {
    field
        .parse::<f64>()
        .map_err(|_| format!("`{field}` is not a number"))
}

fn parse_line(fields: &[&str]) -> Result<Option<Command>, String> {
    let expect = |n: usize| {
        if fields.len() == n {
            Ok(())
        } else {
            Err(format!(
                "`{}` takes {} fields, found {}",
                fields[0],
                n - 1,
                fields.len() - 1
            ))
        }
    };
    let frame = |s: &str| {
        if s == "\"\"" {
            String::new()
        } else {
            s.to_owned()
        }
    };
    Ok(Some(match fields[0] {
        "set" => {
            expect(12)?;
            let v: Vec<f64> = fields[4..11]
                .iter()
                .map(|f| float(f))
                .collect::<Result<_, _>>()?;
            let is_static = match fields[11] {
                "static" => true,
                "dynamic" => false,
                other => return Err(format!("expected static or dynamic, found `{other}`")),
            };
            let transform = TransformStamped {
                header: Header {
                    stamp: nanos(fields[1], "stamp")?,
                    frame_id: frame(fields[2]),
                },
                child_frame_id: frame(fields[3]),
                transform: RigidTransform {
                    translation: [v[0], v[1], v[2]],
                    rotation: [v[3], v[4], v[5], v[6]],
                }
                .to_msg(),
            };
            Command::Set {
                transform,
                is_static,
            }
        }
        "lookup" => {
            expect(4)?;
            Command::Lookup {
                target: frame(fields[1]),
                source: frame(fields[2]),
                time: nanos(fields[3], "time")?,
            }
        }
        "lookup_full" => {
            expect(6)?;
            Command::LookupFull {
                target: frame(fields[1]),
                target_time: nanos(fields[2], "target time")?,
                source: frame(fields[3]),
                source_time: nanos(fields[4], "source time")?,
                fixed: frame(fields[5]),
            }
        }
        "can" => {
            expect(4)?;
            Command::Can {
                target: frame(fields[1]),
                source: frame(fields[2]),
                time: nanos(fields[3], "time")?,
            }
        }
        "clear" => {
            expect(1)?;
            Command::Clear
        }
        other => return Err(format!("unknown command `{other}`")),
    }))
}

impl Timeline {
    /// Parses a timeline (blank lines and `#` comments are skipped; `""` is an empty frame id).
    pub fn parse(text: &str) -> Result<Self, TimelineError> {
        let mut timeline = Timeline {
            cache_time: super::DEFAULT_CACHE_TIME,
            commands: Vec::new(),
        };
        for (i, line) in text.lines().enumerate() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.is_empty() || fields[0].starts_with('#') {
                continue;
            }
            let error = |reason| TimelineError {
                line: i + 1,
                reason,
            };
            if fields[0] == "cache_time" {
                let ns = match fields[..] {
                    [_, ns] => ns.parse::<u64>().map_err(|_| {
                        error(format!("cache_time `{ns}` is not a number of nanoseconds"))
                    })?,
                    _ => return Err(error("`cache_time` takes 1 field".into())),
                };
                timeline.cache_time = std::time::Duration::from_nanos(ns);
                continue;
            }
            if let Some(command) = parse_line(&fields).map_err(error)? {
                timeline.commands.push(command);
            }
        }
        Ok(timeline)
    }

    /// Runs every command on a new buffer and returns their outcomes in order.
    pub fn run(&self) -> Vec<Outcome> {
        let buffer = Buffer::new(self.cache_time);
        self.commands.iter().map(|c| run(&buffer, c)).collect()
    }
}

/// Runs one command on `buffer`.
pub fn run(buffer: &Buffer, command: &Command) -> Outcome {
    let lookup = |r: Result<TransformStamped, TfError>| match r {
        Ok(t) => Outcome::Transform {
            stamp: t.header.stamp,
            transform: RigidTransform::from_msg(&t.transform),
        },
        Err(e) => Outcome::Error {
            class: e.class().to_owned(),
            detail: match e {
                TfError::Extrapolation { kind, .. } => Some(
                    match kind {
                        Extrapolation::Past { .. } => "past",
                        Extrapolation::Future { .. } => "future",
                        Extrapolation::NoData => "nodata",
                    }
                    .to_owned(),
                ),
                _ => None,
            },
        },
    };
    match command {
        Command::Set {
            transform,
            is_static,
        } => match buffer.set_transform(transform, "timeline", *is_static) {
            Ok(()) => Outcome::Stored,
            Err(_) => Outcome::Rejected,
        },
        Command::Lookup {
            target,
            source,
            time,
        } => lookup(buffer.lookup_transform(target, source, *time)),
        Command::LookupFull {
            target,
            target_time,
            source,
            source_time,
            fixed,
        } => {
            lookup(buffer.lookup_transform_full(target, *target_time, source, *source_time, fixed))
        }
        Command::Can {
            target,
            source,
            time,
        } => Outcome::Can(buffer.can_transform(target, source, *time)),
        Command::Clear => {
            buffer.clear();
            Outcome::Cleared
        }
    }
}

/// The result of one command, as a line of text.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `stored`: `set` kept the transform.
    Stored,
    /// `rejected`: `set` refused it.
    Rejected,
    /// `cleared`.
    Cleared,
    /// `can yes` / `can no`.
    Can(bool),
    /// `ok STAMP TX TY TZ QX QY QZ QW`: a lookup's result.
    Transform {
        /// The result's stamp.
        stamp: Time,
        /// The transform.
        transform: RigidTransform,
    },
    /// `error CLASS [DETAIL]`: a lookup's error class (`lookup`, `connectivity`,
    /// `extrapolation`, `invalid_argument`) and for extrapolation `past`, `future` or `nodata`.
    Error {
        /// The class.
        class: String,
        /// The extrapolation's direction.
        detail: Option<String>,
    },
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stored => f.write_str("stored"),
            Self::Rejected => f.write_str("rejected"),
            Self::Cleared => f.write_str("cleared"),
            Self::Can(yes) => f.write_str(if *yes { "can yes" } else { "can no" }),
            Self::Transform { stamp, transform } => {
                write!(f, "ok {}", stamp.as_nanos())?;
                for v in transform.translation.iter().chain(&transform.rotation) {
                    write!(f, " {v:e}")?;
                }
                Ok(())
            }
            Self::Error { class, detail } => {
                write!(f, "error {class}")?;
                if let Some(d) = detail {
                    write!(f, " {d}")?;
                }
                Ok(())
            }
        }
    }
}

impl Outcome {
    /// Parses an outcome line.
    pub fn parse(line: &str) -> Result<Self, String> {
        let fields: Vec<&str> = line.split_whitespace().collect();
        Ok(match fields.as_slice() {
            ["stored"] => Self::Stored,
            ["rejected"] => Self::Rejected,
            ["cleared"] => Self::Cleared,
            ["can", "yes"] => Self::Can(true),
            ["can", "no"] => Self::Can(false),
            ["ok", stamp, rest @ ..] if rest.len() == 7 => {
                let v: Vec<f64> = rest.iter().map(|f| float(f)).collect::<Result<_, _>>()?;
                Self::Transform {
                    stamp: nanos(stamp, "stamp")?,
                    transform: RigidTransform {
                        translation: [v[0], v[1], v[2]],
                        rotation: [v[3], v[4], v[5], v[6]],
                    },
                }
            }
            ["error", class] => Self::Error {
                class: (*class).to_owned(),
                detail: None,
            },
            ["error", class, detail] => Self::Error {
                class: (*class).to_owned(),
                detail: Some((*detail).to_owned()),
            },
            _ => return Err(format!("not an outcome line: `{line}`")),
        })
    }

    /// Whether `self` (rosync's) agrees with `expected` (tf2's): the same kind and error class,
    /// the same stamp, translations within `tolerance` and quaternions within `tolerance` up
    /// to sign. Returns what differs.
    pub fn agrees_with(&self, expected: &Outcome, tolerance: f64) -> Result<(), String> {
        match (self, expected) {
            (
                Self::Transform {
                    stamp: s1,
                    transform: a,
                },
                Self::Transform {
                    stamp: s2,
                    transform: b,
                },
            ) => {
                let near = |x: &[f64], y: &[f64], sign: f64| {
                    x.iter()
                        .zip(y)
                        .all(|(p, q)| (p - sign * q).abs() <= tolerance)
                };
                let translation = near(&a.translation, &b.translation, 1.0);
                let rotation =
                    near(&a.rotation, &b.rotation, 1.0) || near(&a.rotation, &b.rotation, -1.0);
                if s1 == s2 && translation && rotation {
                    Ok(())
                } else {
                    Err(format!("rosync `{self}`, tf2 `{expected}`"))
                }
            }
            _ if self == expected => Ok(()),
            // tf2's message cannot order times less than ~240 ns apart (see the oracle).
            (
                Self::Error {
                    class: c1,
                    detail: Some(d1),
                },
                Self::Error {
                    class: c2,
                    detail: Some(d2),
                },
            ) if c1 == c2 && d2 == "near" && (d1 == "past" || d1 == "future") => Ok(()),
            _ => Err(format!("rosync `{self}`, tf2 `{expected}`")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_runs_and_prints() {
        let text = "# a chain\ncache_time 5000000000\n\
            set 1000000000 odom base 1 0 0 0 0 0 1 dynamic\n\
            set 2000000000 odom base 3 0 0 0 0 0 1 dynamic\n\
            lookup odom base 1500000000\n\
            lookup odom base 3000000000\n\
            can base odom 0\n\
            lookup odom nowhere 0\n\
            lookup \"\" base 0\n";
        let timeline = Timeline::parse(text).unwrap();
        assert_eq!(timeline.cache_time, std::time::Duration::from_secs(5));
        let lines: Vec<String> = timeline.run().iter().map(|o| o.to_string()).collect();
        assert_eq!(lines[0], "stored");
        assert!(lines[2].starts_with("ok 1500000000 2e0 0e0 0e0"));
        assert_eq!(lines[3], "error extrapolation future");
        assert_eq!(lines[4], "can yes");
        assert_eq!(lines[5], "error lookup");
        assert_eq!(lines[6], "error invalid_argument");
        for line in &lines {
            assert_eq!(Outcome::parse(line).unwrap().to_string(), *line);
        }
    }

    #[test]
    fn bad_lines_name_their_number() {
        let e = Timeline::parse("clear\nset 1 a b 0 0 0 0 0 0 1 maybe\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(Timeline::parse("lookup a b x").is_err());
        assert!(Timeline::parse("teleport a").is_err());
    }

    #[test]
    fn quaternions_agree_up_to_sign() {
        let t = |w: f64| Outcome::Transform {
            stamp: Time::from_nanos(1),
            transform: RigidTransform {
                translation: [0.0; 3],
                rotation: [0.0, 0.0, 0.0, w],
            },
        };
        assert!(t(1.0).agrees_with(&t(-1.0), 1e-9).is_ok());
        assert!(t(1.0).agrees_with(&t(0.5), 1e-9).is_err());
        assert!(Outcome::Stored
            .agrees_with(&Outcome::Rejected, 1e-9)
            .is_err());
    }
}
