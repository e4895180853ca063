//! [`Damage`]: a part of a log that a reader skipped, and [`Verification`]: what reading every
//! chunk of a log found.
//!
//! Every reader of a log ([`Log::messages`](crate::bag::Log::messages),
//! [`BagReader::messages`](crate::bag::BagReader::messages), and through them `bag cat`,
//! `sync simulate --bag`, `play` and `recover`) does the same with a damaged chunk: it skips
//! it, goes on with the next one, logs a warning and records a [`Damage`] naming the file, the
//! offset and the messages lost (when the file's index says how many).

use std::fmt;
use std::path::PathBuf;

/// A part of a log that could not be read and was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// The file.
    pub file: PathBuf,
    /// Where in the file.
    pub part: DamagedPart,
    /// Messages lost with it, when the file's message index says (`None`: unknown).
    pub messages_lost: Option<u64>,
    /// What is wrong with it.
    pub reason: String,
}

/// Where a [`Damage`] is: an MCAP record, or rows of a rosbag2 sqlite3 table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DamagedPart {
    /// An MCAP record (a chunk, or a message outside chunks) at this byte offset.
    Chunk {
        /// Offset of the record in the file.
        offset: u64,
    },
    /// Rows of a sqlite3 table stored on damaged pages, by their (timestamp, id) keys.
    Rows {
        /// The table (`messages`).
        table: String,
        /// Key of the first skipped row.
        first: (i64, i64),
        /// Key of the last skipped row.
        last: (i64, i64),
    },
}

impl fmt::Display for DamagedPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Chunk { offset } => write!(f, "the damaged chunk at byte {offset}"),
            Self::Rows { table, first, last } => write!(
                f,
                "rows of table {table} on damaged pages (timestamps {} to {}, ids {} to {})",
                first.0, last.0, first.1, last.1
            ),
        }
    }
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: skipped {} (", self.file.display(), self.part)?;
        match self.messages_lost {
            Some(n) => write!(f, "{n} messages lost")?,
            None => write!(f, "an unknown number of messages lost")?,
        }
        write!(f, "): {}", self.reason)
    }
}

impl Damage {
    /// The byte offset of a skipped MCAP record (`None` for sqlite3 rows).
    pub fn offset(&self) -> Option<u64> {
        match self.part {
            DamagedPart::Chunk { offset } => Some(offset),
            DamagedPart::Rows { .. } => None,
        }
    }

    /// Where the damage is, as a message says it: `FILE at byte N` or `FILE, table T rows`.
    pub fn place(&self) -> String {
        match &self.part {
            DamagedPart::Chunk { offset } => format!("{} at byte {offset}", self.file.display()),
            DamagedPart::Rows { table, first, last } => format!(
                "{} table {table} ids {} to {}",
                self.file.display(),
                first.1,
                last.1
            ),
        }
    }

    /// The messages lost in all of `damage` where known, and whether some counts are unknown.
    pub fn total_lost(damage: &[Damage]) -> (u64, bool) {
        let known = damage
            .iter()
            .filter_map(|d| d.messages_lost)
            .fold(0u64, u64::saturating_add);
        (known, damage.iter().any(|d| d.messages_lost.is_none()))
    }
}

/// What reading every chunk of a log found ([`Log::verify`](crate::bag::Log::verify)); shown
/// as `11 chunks OK, 110 messages read; 1 damaged at byte 2006 (10 messages lost)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verification {
    /// Chunks (and messages outside chunks) read and checked (decompression, CRC, records).
    pub chunks_ok: u64,
    /// Messages read.
    pub messages: u64,
    /// What could not be read.
    pub damaged: Vec<Damage>,
}

impl fmt::Display for Verification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} chunks OK, {} messages read",
            self.chunks_ok, self.messages
        )?;
        if self.damaged.is_empty() {
            return Ok(());
        }
        let places: Vec<String> = self
            .damaged
            .iter()
            .map(|d| match &d.part {
                DamagedPart::Chunk { offset } => format!("at byte {offset}"),
                DamagedPart::Rows { table, first, last } => {
                    format!("in table {table} ids {} to {}", first.1, last.1)
                }
            })
            .collect();
        write!(f, "; {} damaged {}", self.damaged.len(), places.join(", "))?;
        match Damage::total_lost(&self.damaged) {
            (n, false) => write!(f, " ({n} messages lost)"),
            (n, true) => write!(f, " (at least {n} messages lost)"),
        }
    }
}
