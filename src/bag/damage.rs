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
    /// Offset of the skipped record (a chunk, or a message outside chunks) in the file.
    pub offset: u64,
    /// Messages lost with it, when the file's message index says (`None`: unknown).
    pub messages_lost: Option<u64>,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: skipped the damaged chunk at byte {} (",
            self.file.display(),
            self.offset
        )?;
        match self.messages_lost {
            Some(n) => write!(f, "{n} messages lost")?,
            None => write!(f, "an unknown number of messages lost")?,
        }
        write!(f, "): {}", self.reason)
    }
}

impl Damage {
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
        let offsets: Vec<String> = self.damaged.iter().map(|d| d.offset.to_string()).collect();
        write!(
            f,
            "; {} damaged at byte {}",
            self.damaged.len(),
            offsets.join(", ")
        )?;
        match Damage::total_lost(&self.damaged) {
            (n, false) => write!(f, " ({n} messages lost)"),
            (n, true) => write!(f, " (at least {n} messages lost)"),
        }
    }
}
