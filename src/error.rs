//! The crate's error type.

use crate::cdr::CdrError;

/// Anything that can go wrong in rosync, each naming what was wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A node, namespace or topic name is not a valid ROS name.
    #[error("invalid name `{name}`: {reason}")]
    InvalidName {
        /// The name given.
        name: String,
        /// Why it is invalid.
        reason: String,
    },
    /// The zenoh configuration could not be built or loaded.
    #[error("network configuration: {0}")]
    Config(String),
    /// A clock, timer or rate was given a value it cannot run with.
    #[error("time: {0}")]
    Time(String),
    /// A zenoh operation failed.
    #[error("zenoh: {0}")]
    Zenoh(String),
    /// A payload could not be encoded or decoded.
    #[error(transparent)]
    Cdr(#[from] CdrError),
    /// A message type is unknown.
    #[error("unknown message type `{0}` (expected pkg/msg/Type, e.g. std_msgs/msg/String)")]
    UnknownType(String),
    /// A parameter could not be declared or set, or its start-up values were malformed.
    #[error(transparent)]
    Parameter(#[from] crate::node::ParameterError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn zenoh(context: &str, e: impl std::fmt::Display) -> Self {
        Self::Zenoh(format!("{context}: {}", zenoh_text(e)))
    }
}

/// A zenoh error's text for a user: without the source locations zenoh appends
/// (` at /path/to/zenoh-x/src/file.rs:42.`) and without the debug wrapping of its JSON errors.
pub(crate) fn zenoh_text(e: impl std::fmt::Display) -> String {
    static LOCATION: std::sync::LazyLock<Option<regex::Regex>> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"\s+at \S+\.rs:\d+\.?").ok());
    static DEBUG_MESSAGE: std::sync::LazyLock<Option<regex::Regex>> =
        std::sync::LazyLock::new(|| regex::Regex::new(r#"Message \{ msg: "(.*?)", .*\}"#).ok());
    let mut text = e.to_string();
    if let Some(re) = LOCATION.as_ref() {
        text = re.replace_all(&text, "").into_owned();
    }
    if let Some(re) = DEBUG_MESSAGE.as_ref() {
        text = re.replace_all(&text, "$1").into_owned();
    }
    text.trim().to_string()
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
