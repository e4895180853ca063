//! [`BagInfo`]: a log's summary, printed like `ros2 bag info`.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::bag::{BagReader, Log, Result};

/// One topic's line in a [`BagInfo`].
#[derive(Debug, Clone, PartialEq)]
pub struct TopicSummary {
    /// The topic.
    pub topic: String,
    /// Its type (`pkg/msg/Type`).
    pub type_name: String,
    /// Messages on it.
    pub message_count: u64,
    /// Its serialization format (`cdr`).
    pub serialization_format: String,
    /// Average rate over the log's duration in Hz (0 when the duration is 0).
    pub frequency_hz: f64,
}

/// A log's summary: what `ros2 bag info` prints (`{}`), plus rates per topic (`{:#}`).
#[derive(Debug, Clone, PartialEq)]
pub struct BagInfo {
    /// The file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// First message's log time (ns), if any.
    pub start: Option<u64>,
    /// Last message's log time (ns), if any.
    pub end: Option<u64>,
    /// Messages in the log.
    pub message_count: u64,
    /// Topics, sorted by name.
    pub topics: Vec<TopicSummary>,
    /// What is wrong with the file, if anything.
    pub damage: Option<String>,
    /// The storage: `mcap` or `sqlite3`.
    pub storage_id: String,
}

impl BagInfo {
    /// Opens `path` (a file or a rosbag2 folder, see [`Log::open`]) and summarizes it.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Ok(Self::from_log(&Log::open(path)?))
    }

    /// Summarizes an open [`Log`] (all its files).
    pub fn from_log(log: &Log) -> Self {
        let topics = log
            .topics()
            .into_iter()
            .map(|t| (t.topic, t.type_name, t.message_count, t.message_encoding));
        let damage: Vec<String> = log.damage().iter().map(|d| d.to_string()).collect();
        Self::build(
            log.path(),
            log.size(),
            (log.start_time(), log.end_time()),
            log.message_count(),
            topics,
            (!damage.is_empty()).then(|| damage.join("; ")),
            log.storage_id(),
        )
    }

    /// Summarizes an open log.
    pub fn from_reader(reader: &BagReader) -> Self {
        let topics = reader
            .topics()
            .into_iter()
            .map(|t| (t.topic, t.type_name, t.message_count, t.message_encoding));
        Self::build(
            reader.path(),
            reader.file_size(),
            (reader.start_time(), reader.end_time()),
            reader.message_count(),
            topics,
            reader.damage().map(|d| d.to_string()),
            "mcap".into(),
        )
    }

    fn build(
        path: &Path,
        size: u64,
        (start, end): (Option<u64>, Option<u64>),
        message_count: u64,
        topics: impl Iterator<Item = (String, String, u64, String)>,
        damage: Option<String>,
        storage_id: String,
    ) -> Self {
        let seconds = duration_ns(start, end) as f64 / 1e9;
        let mut topics: Vec<TopicSummary> = topics
            .map(|(topic, type_name, message_count, format)| TopicSummary {
                frequency_hz: if seconds > 0.0 {
                    message_count.saturating_sub(1) as f64 / seconds
                } else {
                    0.0
                },
                topic,
                type_name,
                message_count,
                serialization_format: format,
            })
            .collect();
        topics.sort_by(|a, b| a.topic.cmp(&b.topic));
        Self {
            path: path.to_path_buf(),
            size,
            start,
            end,
            message_count,
            topics,
            damage,
            storage_id,
        }
    }

    /// Time from the first to the last message in ns.
    pub fn duration_ns(&self) -> u64 {
        duration_ns(self.start, self.end)
    }
}

fn duration_ns(start: Option<u64>, end: Option<u64>) -> u64 {
    match (start, end) {
        (Some(s), Some(e)) => e.saturating_sub(s),
        _ => 0,
    }
}

/// Bytes as `ros2 bag info` prints them (`12.3 MiB`).
fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `Nov 23 2025 20:12:00.123456789 (1763928720.123456789)` in UTC.
fn format_time(ns: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = crate::time::CivilTime::from_unix_nanos(ns);
    format!(
        "{} {:>2} {} {:02}:{:02}:{:02}.{:09} ({}.{:09})",
        MONTHS[(t.month - 1) as usize],
        t.day,
        t.year,
        t.hour,
        t.minute,
        t.second,
        t.nanosecond,
        ns / 1_000_000_000,
        t.nanosecond
    )
}

impl fmt::Display for BagInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.path.display().to_string());
        writeln!(f)?;
        writeln!(f, "Files:             {name}")?;
        writeln!(f, "Bag size:          {}", human_size(self.size))?;
        writeln!(f, "Storage id:        {}", self.storage_id)?;
        let d = self.duration_ns();
        writeln!(
            f,
            "Duration:          {}.{:09}s",
            d / 1_000_000_000,
            d % 1_000_000_000
        )?;
        if let (Some(start), Some(end)) = (self.start, self.end) {
            writeln!(f, "Start:             {}", format_time(start))?;
            writeln!(f, "End:               {}", format_time(end))?;
        }
        writeln!(f, "Messages:          {}", self.message_count)?;
        write!(f, "Topic information: ")?;
        if self.topics.is_empty() {
            writeln!(f)?;
        }
        for (i, t) in self.topics.iter().enumerate() {
            if i > 0 {
                write!(f, "                   ")?;
            }
            write!(
                f,
                "Topic: {} | Type: {} | Count: {} | Serialization Format: {}",
                t.topic, t.type_name, t.message_count, t.serialization_format
            )?;
            if f.alternate() {
                write!(f, " | Frequency: {:.2} Hz", t.frequency_hz)?;
            }
            writeln!(f)?;
        }
        if let Some(damage) = &self.damage {
            writeln!(f, "Damage:            {damage}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_sizes_print_like_ros2_bag_info() {
        assert_eq!(
            format_time(0),
            "Jan  1 1970 00:00:00.000000000 (0.000000000)"
        );
        assert_eq!(
            format_time(1_700_000_000_123_456_789),
            "Nov 14 2023 22:13:20.123456789 (1700000000.123456789)"
        );
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(3 * 1024 * 1024 / 2), "1.5 MiB");
    }
}
