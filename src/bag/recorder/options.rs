//! What a recording takes ([`RecordOptions`]) and what it did ([`RecordReport`]), and
//! rosbag2's default bag name.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::bag::{Compression, SkippedTopic, TopicSelection, DEFAULT_CHUNK_SIZE};

/// The recorder's default buffer between subscribers and the writer: 32 MiB, eight default
/// chunks. It holds a burst of four 1920x1080 rgb8 frames arriving together (25 MB) with room,
/// and absorbs a writer stall of tens of milliseconds at camera rates; with the open chunk it
/// bounds a kill's loss to 36 MiB. Raise it to absorb longer stalls, lower it to lose less.
pub const DEFAULT_MAX_BUFFERED_BYTES: usize = 32 * 1024 * 1024;

/// The recorder's default bound in messages between subscribers and the writer: 131,072, more
/// than [`DEFAULT_MAX_BUFFERED_BYTES`] holds of 324-byte `Imu` messages (103,000: 310 ms at
/// 330,000 msgs/s), so for such messages the byte budget decides. Each message slot costs 56
/// bytes besides the payload (7 MiB at this bound, twice with the batch being written).
pub const DEFAULT_CHANNEL_CAPACITY: usize = 131_072;

/// What to record and how; see the [module docs](super).
#[derive(Debug, Clone)]
pub struct RecordOptions {
    /// The topics to record (names are resolved against the node); none by default.
    pub selection: TopicSelection,
    /// The bag folder; its last component names the files.
    pub output: PathBuf,
    /// Chunk compression (default none, as rosbag2).
    pub compression: Compression,
    /// Uncompressed bytes after which a chunk is written (default 4 MiB).
    pub chunk_size: u64,
    /// Close a chunk this old even if it is not full (default 1 s); bounds the loss in time.
    pub max_chunk_age: Option<Duration>,
    /// Start a new file once a file holds this many bytes (counting its open chunk).
    pub max_bag_size: Option<u64>,
    /// Start a new file once the log times in a file span this long.
    pub max_bag_duration: Option<Duration>,
    /// How often the graph is polled for new topics when it does not signal a change (default
    /// 500 ms).
    pub discovery_interval: Duration,
    /// Messages buffered between the subscribers and the writer thread at most (default
    /// [`DEFAULT_CHANNEL_CAPACITY`]); a message past it is dropped and counted.
    pub channel_capacity: usize,
    /// Payload bytes buffered between the subscribers and the writer thread at most (default
    /// [`DEFAULT_MAX_BUFFERED_BYTES`]); a message that would exceed it is dropped and counted
    /// (one message larger than it passes when nothing else is buffered). With `chunk_size` it
    /// bounds what a killed recorder loses.
    pub max_buffered_bytes: usize,
}

impl RecordOptions {
    /// Defaults, writing into `output`.
    pub fn new(output: impl Into<PathBuf>) -> Self {
        Self {
            selection: TopicSelection::default(),
            output: output.into(),
            compression: Compression::None,
            chunk_size: DEFAULT_CHUNK_SIZE,
            max_chunk_age: Some(Duration::from_secs(1)),
            max_bag_size: None,
            max_bag_duration: None,
            discovery_interval: Duration::from_millis(500),
            channel_capacity: DEFAULT_CHANNEL_CAPACITY,
            max_buffered_bytes: DEFAULT_MAX_BUFFERED_BYTES,
        }
    }
}

/// Counters of one recorded topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicReport {
    /// The topic.
    pub topic: String,
    /// Its type.
    pub type_name: String,
    /// Messages that reached the subscriber.
    pub received: u64,
    /// Messages written to the bag.
    pub written: u64,
    /// Dropped because the buffer to the writer was full (in messages or bytes).
    pub dropped_buffer_full: u64,
    /// Never arrived: gaps in the publishers' sequence numbers (see
    /// [`SubscriberStats::lost`](crate::node::SubscriberStats::lost)).
    pub lost: u64,
}

impl TopicReport {
    /// All drops of this topic (what arrived and was not written).
    pub fn dropped(&self) -> u64 {
        self.dropped_buffer_full
    }
}

/// What a recording wrote and dropped, returned by [`Recorder::stop`](super::Recorder::stop).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordReport {
    /// The bag folder.
    pub folder: PathBuf,
    /// Per topic, in discovery order.
    pub topics: Vec<TopicReport>,
    /// Selected topics not recorded, and why.
    pub skipped: Vec<SkippedTopic>,
    /// The files written, in order.
    pub files: Vec<PathBuf>,
    /// Bytes of all files.
    pub bytes: u64,
    /// Messages written.
    pub messages: u64,
}

impl RecordReport {
    /// Drops of all topics.
    pub fn dropped(&self) -> u64 {
        self.topics.iter().map(TopicReport::dropped).sum()
    }

    /// Messages of all topics that never arrived.
    pub fn lost(&self) -> u64 {
        self.topics.iter().map(|t| t.lost).sum()
    }
}

impl std::fmt::Display for RecordReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "recorded {} messages, {} bytes in {} file(s) into {}",
            self.messages,
            self.bytes,
            self.files.len(),
            self.folder.display()
        )?;
        for t in &self.topics {
            writeln!(
                f,
                "  {} ({}): received {}, written {}, dropped {} (buffer full), lost {} (never arrived)",
                t.topic,
                t.type_name,
                t.received,
                t.written,
                t.dropped(),
                t.lost
            )?;
        }
        for skipped in &self.skipped {
            writeln!(f, "  skipped {skipped}")?;
        }
        Ok(())
    }
}

/// rosbag2's default bag name for a start time: `rosync_YYYY_MM_DD-HH_MM_SS` (UTC).
pub fn default_bag_name(now: SystemTime) -> String {
    let t = crate::time::CivilTime::from_system_time(now);
    format!(
        "rosync_{:04}_{:02}_{:02}-{:02}_{:02}_{:02}",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_name_is_utc_civil_time() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_709_210_096); // 2024-02-29 12:34:56
        assert_eq!(default_bag_name(t), "rosync_2024_02_29-12_34_56");
        assert_eq!(
            default_bag_name(SystemTime::UNIX_EPOCH),
            "rosync_1970_01_01-00_00_00"
        );
    }
}
