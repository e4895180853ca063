//! Which topics a recording or a playback takes: names, `--all`, `--regex` and `--exclude`,
//! and the report of a selected topic that could not be taken.
//!
//! Patterns are regular expressions (the `regex` crate's syntax, which covers what users of
//! `ros2 bag record --regex` type) matched like rosbag2 matches them: a pattern selects a topic
//! if it matches **anywhere** in the name; anchor it with `^...$` for a whole-name match.

use std::fmt;

/// A `--regex` or `--exclude` pattern that does not parse: the pattern and where it is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad topic pattern `{pattern}`: {reason}")]
pub struct PatternError {
    /// The pattern as given.
    pub pattern: String,
    /// What is wrong, with the position marked (the `regex` crate's description).
    pub reason: String,
}

/// A topic name pattern: a regular expression matched anywhere in the name.
#[derive(Debug, Clone)]
pub struct TopicPattern(regex::Regex);

/// Compiled patterns above this size are refused (a pattern is typed by a user, not a program).
const PATTERN_SIZE_LIMIT: usize = 1 << 20;

impl TopicPattern {
    /// Parses `pattern`; a malformed or oversized pattern is an error naming it and the position.
    pub fn new(pattern: &str) -> Result<Self, PatternError> {
        regex::RegexBuilder::new(pattern)
            .size_limit(PATTERN_SIZE_LIMIT)
            .build()
            .map(Self)
            .map_err(|e| PatternError {
                pattern: pattern.to_string(),
                reason: match e {
                    regex::Error::Syntax(text) => text,
                    other => other.to_string(),
                },
            })
    }

    /// The pattern as given.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Whether the pattern matches anywhere in `topic`.
    pub fn is_match(&self, topic: &str) -> bool {
        self.0.is_match(topic)
    }
}

impl fmt::Display for TopicPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The topics a recording or playback takes; [`Default`] takes none.
///
/// A topic is selected when it is not excluded and it is named, or `all` is set, or it matches
/// `regex`. Names are compared as fully qualified names (`chatter` selects `/chatter`).
#[derive(Debug, Clone, Default)]
pub struct TopicSelection {
    /// Topics selected by name.
    pub topics: Vec<String>,
    /// Select every topic (still subject to `exclude`).
    pub all: bool,
    /// Also select the topics whose name matches.
    pub regex: Option<TopicPattern>,
    /// Never select the topics whose name matches.
    pub exclude: Option<TopicPattern>,
}

/// Whether `name`, as a user wrote it (a relative name is taken from the root namespace),
/// names the fully qualified `topic`.
pub(crate) fn names_topic(name: &str, topic: &str) -> bool {
    name == topic || (!name.starts_with('/') && topic.strip_prefix('/') == Some(name))
}

impl TopicSelection {
    /// Every topic.
    pub fn all() -> Self {
        Self {
            all: true,
            ..Self::default()
        }
    }

    /// These topics, by name.
    pub fn topics<I, S>(topics: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            topics: topics.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// Builds a selection from command-line style options, parsing the patterns.
    pub fn from_options(
        topics: Vec<String>,
        all: bool,
        regex: Option<&str>,
        exclude: Option<&str>,
    ) -> Result<Self, PatternError> {
        Ok(Self {
            topics,
            all,
            regex: regex.map(TopicPattern::new).transpose()?,
            exclude: exclude.map(TopicPattern::new).transpose()?,
        })
    }

    /// Whether it can select no topic at all (no name, not `all`, no `regex`).
    pub fn is_empty(&self) -> bool {
        self.topics.is_empty() && !self.all && self.regex.is_none()
    }

    /// Whether `topic` (a fully qualified name) is selected.
    pub fn selects(&self, topic: &str) -> bool {
        if self.exclude.as_ref().is_some_and(|p| p.is_match(topic)) {
            return false;
        }
        self.all
            || self.topics.iter().any(|t| names_topic(t, topic))
            || self.regex.as_ref().is_some_and(|p| p.is_match(topic))
    }
}

/// A selected topic that is not recorded or played, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedTopic {
    /// The topic name.
    pub topic: String,
    /// Its type (`pkg/msg/Type`; empty when unknown).
    pub type_name: String,
    /// Why it is skipped.
    pub reason: String,
}

impl fmt::Display for SkippedTopic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.type_name.is_empty() {
            write!(f, "{}: {}", self.topic, self.reason)
        } else {
            write!(f, "{} ({}): {}", self.topic, self.type_name, self.reason)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pattern: &str) -> TopicPattern {
        TopicPattern::new(pattern).expect("valid pattern")
    }

    #[test]
    fn patterns_match_anywhere_like_rosbag2() {
        let cases: &[(&str, &str, bool)] = &[
            ("camera", "/robot/camera/image", true),
            ("^/camera", "/robot/camera/image", false),
            ("^/robot/.*/image$", "/robot/camera/image", true),
            ("^/robot/.*/image$", "/robot/camera/image_raw", false),
            ("/(left|right)/image_raw$", "/cam/left/image_raw", true),
            ("/(left|right)/image_raw$", "/cam/center/image_raw", false),
            ("^/imu[0-9]+$", "/imu12", true),
            ("^/imu[0-9]+$", "/imu", false),
            ("^/imu\\d?$", "/imu", true),
            ("^/a{2,3}$", "/aaa", true),
            ("^/a{2,3}$", "/aaaa", false),
            ("^/[^/]+$", "/tf", true),
            ("^/[^/]+$", "/tf/x", false),
            ("rosout|parameter_events", "/parameter_events", true),
            ("^\\.x$", ".x", true),
            ("^\\.x$", "ax", false),
            ("", "/anything", true),
            // Beyond the old hand-written subset: what `ros2 bag record --regex` users type.
            (
                "^/camera/(?:left|right)/image_raw$",
                "/camera/left/image_raw",
                true,
            ),
            ("(?i)^/CAMERA", "/camera/x", true),
            ("^/tf(_static)?$", "/tf_static", true),
            ("\\bimage\\b", "/cam/image/compressed", true),
            ("^/[[:alpha:]]+$", "/tf", true),
        ];
        for &(pattern, topic, expected) in cases {
            assert_eq!(p(pattern).is_match(topic), expected, "{pattern} on {topic}");
        }
    }

    #[test]
    fn bad_patterns_name_the_pattern_and_position() {
        for bad in ["(a", "a)", "[ab", "*a", "a{2", "a\\"] {
            let err = TopicPattern::new(bad).expect_err(bad);
            let text = err.to_string();
            assert!(text.contains(&format!("`{bad}`")), "{text}");
            assert!(text.contains('^'), "position marked: {text}");
        }
        let huge = format!("^({})$", "a{1000}".repeat(50));
        assert!(TopicPattern::new(&huge).is_err(), "size limit");
    }

    #[test]
    fn selection_by_name_pattern_all_and_exclude() {
        let selection = TopicSelection {
            topics: vec!["chatter".into(), "/tf".into()],
            regex: Some(p("^/camera/")),
            exclude: Some(p("info$")),
            ..Default::default()
        };
        assert!(selection.selects("/chatter"));
        assert!(selection.selects("/tf"));
        assert!(selection.selects("/camera/image"));
        assert!(!selection.selects("/camera/info"));
        assert!(!selection.selects("/other"));
        assert!(!selection.is_empty());

        let all = TopicSelection {
            exclude: Some(p("^/rosout$")),
            ..TopicSelection::all()
        };
        assert!(all.selects("/x") && !all.selects("/rosout"));
        assert!(TopicSelection::default().is_empty());
        assert!(!TopicSelection::default().selects("/x"));
        assert!(TopicSelection::topics(["a"]).selects("/a"));
        assert!(!TopicSelection::topics(["a"]).selects("/b/a"));
        assert!(!TopicSelection::topics(["/a"]).selects("a"));
        let err = TopicSelection::from_options(vec![], false, None, Some("(")).expect_err("bad");
        assert_eq!(err.pattern, "(");
    }
}
