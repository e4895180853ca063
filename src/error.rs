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
    #[error("zenoh configuration: {0}")]
    Config(String),
    /// A zenoh operation failed.
    #[error("zenoh: {0}")]
    Zenoh(String),
    /// A payload could not be encoded or decoded.
    #[error(transparent)]
    Cdr(#[from] CdrError),
    /// A message type is unknown.
    #[error("unknown message type `{0}` (expected pkg/msg/Type, e.g. std_msgs/msg/String)")]
    UnknownType(String),
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
        Self::Zenoh(format!("{context}: {e}"))
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
