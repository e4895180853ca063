//! [`BagError`]: everything that can go wrong with a log, naming the file and what is wrong.

use std::path::PathBuf;

use super::untrusted::{quoted, shown};
use crate::cdr::CdrError;

/// Why a log could not be written, opened or read. Every variant names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BagError {
    /// The operating system refused a read, write or open.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not an MCAP file at all (empty, or another format).
    #[error("{}: not an MCAP file: {reason}", path.display())]
    NotMcap {
        /// The file.
        path: PathBuf,
        /// What was found instead.
        reason: String,
    },
    /// A record is damaged (bad length, bad CRC, undecodable chunk, bad index).
    #[error("{}: corrupt at byte {offset}: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Offset of the damaged record in the file.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// The file ends in the middle of a record or without its summary: its writer was killed,
    /// or the file was cut. Everything before `offset` was recovered.
    #[error(
        "{}: truncated at byte {offset} ({reason}); {recovered_messages} messages before it were recovered",
        path.display()
    )]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Where the readable part of the file ends.
        offset: u64,
        /// What was found there.
        reason: String,
        /// Messages readable before the damage.
        recovered_messages: u64,
    },
    /// The path is not a regular file (a FIFO, a device, a socket, or a folder where a file is
    /// expected): rosync refuses it rather than block on it or read without end.
    #[error("{}: not a regular file but {kind}; logs are read from regular files (or a rosbag2 folder)", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What it is instead (`a FIFO`, `a folder`, ...).
        kind: String,
    },
    /// A channel refers to a schema the file does not contain.
    #[error("{}: topic {}: channel {channel_id} refers to schema {schema_id}, which the file does not define", path.display(), shown(topic))]
    MissingSchema {
        /// The file.
        path: PathBuf,
        /// The channel's topic.
        topic: String,
        /// The channel id.
        channel_id: u16,
        /// The missing schema id (0 means the channel declares no schema).
        schema_id: u16,
    },
    /// A topic is not CDR with a `ros2msg` schema, so rosync cannot decode it.
    #[error("{}: topic {}: message encoding {} with schema encoding {} is not supported (rosync decodes \"cdr\" messages with \"ros2msg\" schemas)", path.display(), shown(topic), quoted(message_encoding), quoted(schema_encoding))]
    UnsupportedEncoding {
        /// The file.
        path: PathBuf,
        /// The topic.
        topic: String,
        /// The channel's message encoding.
        message_encoding: String,
        /// The schema's encoding (empty without a schema).
        schema_encoding: String,
    },
    /// A topic's type is not one rosync knows, so it cannot be decoded by name.
    #[error("{}: topic {}: unknown message type {}", path.display(), shown(topic), shown(type_name))]
    UnknownType {
        /// The file.
        path: PathBuf,
        /// The topic.
        topic: String,
        /// The type named by the schema.
        type_name: String,
    },
    /// A topic was asked for as one type but holds another.
    #[error("{}: topic {} holds {}, not {expected}", path.display(), shown(topic), shown(actual))]
    TypeMismatch {
        /// The file.
        path: PathBuf,
        /// The topic.
        topic: String,
        /// The type asked for.
        expected: String,
        /// The type in the file.
        actual: String,
    },
    /// The file has no such topic.
    #[error("{}: no topic {} in the log", path.display(), shown(topic))]
    NoSuchTopic {
        /// The file.
        path: PathBuf,
        /// The topic asked for.
        topic: String,
    },
    /// A topic was added twice with different types.
    #[error("{}: topic {} already has type {}, cannot add it as {}", path.display(), shown(topic), shown(existing), shown(requested))]
    TopicConflict {
        /// The file.
        path: PathBuf,
        /// The topic.
        topic: String,
        /// The type it was added with first.
        existing: String,
        /// The type asked for now.
        requested: String,
    },
    /// A message payload is not valid CDR for its type (or could not be encoded).
    #[error("{}: topic {}: message at log time {log_time} is not a valid {}: {source}", path.display(), shown(topic), shown(type_name))]
    Decode {
        /// The file.
        path: PathBuf,
        /// The topic.
        topic: String,
        /// The message type.
        type_name: String,
        /// The message's log time (ns).
        log_time: u64,
        /// What the CDR decoder found.
        #[source]
        source: CdrError,
    },
    /// A rosbag2 sqlite3 file (`.db3`) cannot be read: not an SQLite database, corrupt, or
    /// without the rosbag2 tables.
    #[error("{}: cannot read as a rosbag2 sqlite3 file: {reason}", path.display())]
    Sqlite {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Rows of a rosbag2 sqlite3 file's table could not be read (values of other types, a
    /// negative timestamp, an undefined topic) and were skipped; every other row is read.
    #[error("{}: skipped {skipped} of the {total} rows of the {table} table: {reason}", path.display())]
    SkippedRows {
        /// The file.
        path: PathBuf,
        /// The table (`messages`).
        table: String,
        /// Rows skipped.
        skipped: u64,
        /// Rows in the table.
        total: u64,
        /// Why, by kind of damage.
        reason: String,
    },
    /// A rosbag2 folder's `metadata.yaml` is missing, unparsable, names an unsupported
    /// storage or lists a file that does not exist.
    #[error("{}: invalid rosbag2 metadata: {reason}", path.display())]
    Metadata {
        /// The `metadata.yaml` file.
        path: PathBuf,
        /// What is wrong (the field, or the file it lists).
        reason: String,
    },
    /// The MCAP writer refused an operation (too many channels, unknown topic id, ...).
    #[error("{}: cannot write: {reason}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

impl BagError {
    /// The file the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            BagError::Io { path, .. }
            | BagError::NotMcap { path, .. }
            | BagError::Corrupt { path, .. }
            | BagError::Truncated { path, .. }
            | BagError::NotAFile { path, .. }
            | BagError::MissingSchema { path, .. }
            | BagError::UnsupportedEncoding { path, .. }
            | BagError::UnknownType { path, .. }
            | BagError::TypeMismatch { path, .. }
            | BagError::NoSuchTopic { path, .. }
            | BagError::TopicConflict { path, .. }
            | BagError::Decode { path, .. }
            | BagError::Sqlite { path, .. }
            | BagError::SkippedRows { path, .. }
            | BagError::Metadata { path, .. }
            | BagError::Write { path, .. } => path,
        }
    }

    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        BagError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn corrupt(path: &std::path::Path, offset: u64, reason: impl Into<String>) -> Self {
        BagError::Corrupt {
            path: path.to_path_buf(),
            offset,
            reason: reason.into(),
        }
    }
}

/// Results of log operations.
pub type Result<T, E = BagError> = std::result::Result<T, E>;
