//! A message log as users name it: one MCAP file, one rosbag2 sqlite3 file, or a rosbag2
//! folder (several files), read as one stream in log-time order.
//!
//! [`Log::open`] accepts
//! - a rosbag2 folder with a `metadata.yaml` (written by `ros2 bag record`, Python `rosbags`
//!   or `rosync record` with splitting): its `storage_identifier` (`mcap` or `sqlite3`) and
//!   `relative_file_paths` say which files to read ([`rosbag2::Metadata`]);
//! - a folder without `metadata.yaml`: every `.mcap` and `.db3` file in it;
//! - an `.mcap` file, or a `.db3` file (any file starting with the SQLite magic bytes).
//!
//! The files are merged by log time, so a split recording plays as one.

use std::path::{Path, PathBuf};

use super::regular_file::check_regular_file;
use super::rosbag2::{self, Metadata};
use super::sqlite::{self as sqlite_storage, SqliteMessages};
use crate::bag::{
    BagError, BagMessage, BagReader, Damage, LogTopic, Messages, Result, SqliteReader, Verification,
};
use crate::msg::Message;

/// One file of a log.
#[derive(Debug)]
enum Source {
    Mcap(BagReader),
    Sqlite(SqliteReader),
}

impl Source {
    fn topics(&self) -> Vec<LogTopic> {
        match self {
            Self::Mcap(reader) => reader.topics(),
            Self::Sqlite(reader) => reader.topics(),
        }
    }

    fn messages<'a>(&'a self, topics: &[&str]) -> SourceMessages<'a> {
        match self {
            Self::Mcap(reader) if topics.is_empty() => SourceMessages::Mcap(reader.messages()),
            Self::Mcap(reader) => SourceMessages::Mcap(reader.messages_on(topics)),
            Self::Sqlite(reader) if topics.is_empty() => SourceMessages::Sqlite(reader.messages()),
            Self::Sqlite(reader) => SourceMessages::Sqlite(reader.messages_on(topics)),
        }
    }

    fn message_count(&self) -> u64 {
        match self {
            Self::Mcap(reader) => reader.message_count(),
            Self::Sqlite(reader) => reader.message_count(),
        }
    }

    fn time_range(&self) -> (Option<u64>, Option<u64>) {
        match self {
            Self::Mcap(reader) => (reader.start_time(), reader.end_time()),
            Self::Sqlite(reader) => (reader.start_time(), reader.end_time()),
        }
    }

    fn damage(&self) -> Option<&BagError> {
        match self {
            Self::Mcap(reader) => reader.damage(),
            Self::Sqlite(reader) => reader.damage(),
        }
    }

    fn path(&self) -> &Path {
        match self {
            Self::Mcap(reader) => reader.path(),
            Self::Sqlite(reader) => reader.path(),
        }
    }

    fn file_size(&self) -> u64 {
        match self {
            Self::Mcap(reader) => reader.file_size(),
            Self::Sqlite(reader) => reader.file_size(),
        }
    }

    fn storage_id(&self) -> &'static str {
        match self {
            Self::Mcap(_) => "mcap",
            Self::Sqlite(_) => "sqlite3",
        }
    }

    /// Opens one file: sqlite3 if it says so (or starts with the SQLite magic), else MCAP.
    /// Refuses what is not a regular file (a FIFO would block, a device never end).
    fn open(file: &Path, storage: Option<&str>) -> Result<Self> {
        check_regular_file(file)?;
        let sqlite = match storage {
            Some(id) => id == "sqlite3",
            None => file.extension().is_some_and(|x| x == "db3") || sqlite_storage::is_sqlite(file),
        };
        if sqlite {
            SqliteReader::open(file).map(Self::Sqlite)
        } else {
            BagReader::open(file).map(Self::Mcap)
        }
    }
}

/// A message log: one or more files read as a single log-time-ordered stream.
///
/// A rosbag2 folder with a `metadata.yaml` is read through it (its `storage_identifier` and
/// `relative_file_paths`); a folder without one, through every `.mcap` and `.db3` file in it.
#[derive(Debug)]
pub struct Log {
    path: PathBuf,
    sources: Vec<Source>,
    metadata: Option<Metadata>,
}

fn io_error(path: &Path, source: std::io::Error) -> BagError {
    BagError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Log {
    /// Opens an MCAP file, a rosbag2 sqlite3 file (`.db3`), or a folder: a rosbag2 bag with a
    /// `metadata.yaml`, or a folder of `.mcap`/`.db3` files (see [`Log`]).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let metadata = std::fs::metadata(path).map_err(|e| io_error(path, e))?;
        let yaml = path.join("metadata.yaml");
        // A metadata.yaml that is there but not a regular file is refused, not skipped.
        if metadata.is_dir() && std::fs::symlink_metadata(&yaml).is_ok() {
            let bag = rosbag2::Metadata::open(&yaml)?;
            let sources = bag
                .file_paths()?
                .iter()
                .map(|file| Source::open(file, Some(&bag.storage_identifier)))
                .collect::<Result<Vec<_>>>()?;
            return Ok(Self {
                path: path.to_path_buf(),
                sources,
                metadata: Some(bag),
            });
        }
        let files = if metadata.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| io_error(path, e))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "mcap" || x == "db3"))
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(BagError::NotMcap {
                    path: path.to_path_buf(),
                    reason: "the folder holds no metadata.yaml, .mcap or .db3 file".into(),
                });
            }
            files
        } else {
            vec![path.to_path_buf()]
        };
        let sources = files
            .iter()
            .map(|file| Source::open(file, None))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            path: path.to_path_buf(),
            sources,
            metadata: None,
        })
    }

    /// The rosbag2 `metadata.yaml` the log was opened through, if any.
    pub fn metadata(&self) -> Option<&Metadata> {
        self.metadata.as_ref()
    }

    /// The files read, in the order opened.
    pub fn files(&self) -> Vec<&Path> {
        self.sources.iter().map(Source::path).collect()
    }

    /// The total size of the files in bytes.
    pub fn size(&self) -> u64 {
        self.sources
            .iter()
            .map(Source::file_size)
            .fold(0, u64::saturating_add)
    }

    /// The storage of the files: `mcap` or `sqlite3` (`mcap+sqlite3` for a folder of both).
    pub fn storage_id(&self) -> String {
        let mut ids: Vec<&str> = self.sources.iter().map(Source::storage_id).collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            "mcap".to_string()
        } else {
            ids.join("+")
        }
    }

    /// The file or folder opened.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The topics of every file, merged by name (counts added up). A type hash the files do
    /// not hold (rosbags' MCAP channels) is taken from `metadata.yaml`.
    pub fn topics(&self) -> Vec<LogTopic> {
        let mut merged: Vec<LogTopic> = Vec::new();
        for topic in self.sources.iter().flat_map(Source::topics) {
            match merged.iter_mut().find(|t| t.topic == topic.topic) {
                // Counts come from the files' summaries: saturate, never overflow.
                Some(existing) => {
                    existing.message_count =
                        existing.message_count.saturating_add(topic.message_count)
                }
                None => merged.push(topic),
            }
        }
        if let Some(metadata) = &self.metadata {
            for topic in merged.iter_mut().filter(|t| t.type_hash.is_none()) {
                topic.type_hash = metadata
                    .topics
                    .iter()
                    .find(|t| t.name == topic.topic && t.type_name == topic.type_name)
                    .map(|t| t.type_description_hash.clone())
                    .filter(|h| !h.is_empty());
            }
        }
        merged.sort_by(|a, b| a.topic.cmp(&b.topic));
        merged
    }

    /// Messages in all files.
    pub fn message_count(&self) -> u64 {
        self.sources
            .iter()
            .map(Source::message_count)
            .fold(0, u64::saturating_add)
    }

    /// Log time of the first message, ns since the epoch.
    pub fn start_time(&self) -> Option<u64> {
        self.sources.iter().filter_map(|s| s.time_range().0).min()
    }

    /// Log time of the last message, ns since the epoch.
    pub fn end_time(&self) -> Option<u64> {
        self.sources.iter().filter_map(|s| s.time_range().1).max()
    }

    /// What is wrong with each damaged file (everything before the damage is still read).
    pub fn damage(&self) -> Vec<&BagError> {
        self.sources.iter().filter_map(Source::damage).collect()
    }

    /// [`damage`](Self::damage) without the damaged chunks that reading skips and reports
    /// itself (in [`LogMessages::skipped`]), so a reader that reports both names each once.
    pub fn damage_beyond_skipped(&self) -> Vec<&BagError> {
        self.sources
            .iter()
            .filter_map(|source| {
                let damage = source.damage()?;
                let skipped = match (source, damage) {
                    (Source::Mcap(reader), BagError::Corrupt { offset, .. }) => {
                        reader.skipped().iter().any(|d| d.offset() == Some(*offset))
                    }
                    _ => false,
                };
                (!skipped).then_some(damage)
            })
            .collect()
    }

    /// Reads every chunk of every file (decompression, CRC, records) instead of trusting the
    /// files' summaries, and reports what is damaged (sqlite3 files are read through).
    pub fn verify(&self) -> Result<Verification> {
        let mut messages = self.messages();
        let mut count = 0u64;
        for item in &mut messages {
            item?;
            count += 1;
        }
        let chunks_ok = messages
            .streams
            .iter()
            .map(|s| s.messages.blocks_ok())
            .sum();
        Ok(Verification {
            chunks_ok,
            messages: count,
            damaged: messages.skipped().to_vec(),
        })
    }

    /// Every message, in log-time order across files.
    pub fn messages(&self) -> LogMessages<'_> {
        self.messages_on(&[])
    }

    /// The messages of some topics (all when `topics` is empty), in log-time order.
    pub fn messages_on(&self, topics: &[&str]) -> LogMessages<'_> {
        LogMessages {
            streams: self
                .sources
                .iter()
                .map(|s| Stream {
                    messages: s.messages(topics),
                    next: None,
                    reported: 0,
                })
                .collect(),
            skipped: Vec::new(),
        }
    }

    /// The messages of `topic` decoded as `T`, with their log times; errors if the topic is
    /// missing or has another type.
    pub fn typed<T: Message>(
        &self,
        topic: &str,
    ) -> Result<impl Iterator<Item = Result<(u64, T)>> + '_> {
        let info = self
            .topics()
            .into_iter()
            .find(|t| t.topic == topic)
            .ok_or_else(|| BagError::NoSuchTopic {
                path: self.path.clone(),
                topic: topic.to_string(),
            })?;
        if info.type_name != T::TYPE_NAME {
            return Err(BagError::TypeMismatch {
                path: self.path.clone(),
                topic: topic.to_string(),
                expected: T::TYPE_NAME.to_string(),
                actual: info.type_name,
            });
        }
        let path = self.path.clone();
        Ok(self.messages_on(&[topic]).map(move |item| {
            let message = item?;
            let decoded = message.decode::<T>().map_err(|e| BagError::Decode {
                path: path.clone(),
                topic: message.topic.to_string(),
                type_name: message.type_name.to_string(),
                log_time: message.log_time,
                source: e,
            })?;
            Ok((message.log_time, decoded))
        }))
    }
}

/// One file's messages.
enum SourceMessages<'a> {
    Mcap(Messages<'a>),
    Sqlite(SqliteMessages<'a>),
}

impl SourceMessages<'_> {
    fn next(&mut self) -> Option<Result<BagMessage>> {
        match self {
            Self::Mcap(m) => m.next(),
            Self::Sqlite(m) => m.next(),
        }
    }

    fn skipped(&self) -> &[Damage] {
        match self {
            Self::Mcap(m) => m.skipped(),
            Self::Sqlite(m) => m.skipped(),
        }
    }

    fn blocks_ok(&self) -> u64 {
        match self {
            Self::Mcap(m) => m.blocks_ok(),
            Self::Sqlite(_) => 0,
        }
    }
}

/// One file's messages, with the next one looked at.
struct Stream<'a> {
    messages: SourceMessages<'a>,
    next: Option<Result<BagMessage>>,
    /// How many of the file's skipped chunks were copied into [`LogMessages::skipped`].
    reported: usize,
}

impl Stream<'_> {
    /// The next message, read if needed; what the read skipped is added to `skipped`.
    fn peek(&mut self, skipped: &mut Vec<Damage>) -> Option<&Result<BagMessage>> {
        if self.next.is_none() {
            self.next = self.messages.next();
            let new = self
                .messages
                .skipped()
                .get(self.reported..)
                .unwrap_or_default();
            skipped.extend_from_slice(new);
            self.reported += new.len();
        }
        self.next.as_ref()
    }
}

/// The messages of a [`Log`] in log-time order (ties keep file order).
///
/// Like [`Messages`], it skips a damaged chunk and goes on; [`skipped`](Self::skipped) lists
/// what was skipped in every file.
pub struct LogMessages<'a> {
    streams: Vec<Stream<'a>>,
    skipped: Vec<Damage>,
}

impl LogMessages<'_> {
    /// The damaged chunks skipped so far, in every file (each naming its file, its offset and
    /// the messages lost where known), in the order they were met.
    pub fn skipped(&self) -> &[Damage] {
        &self.skipped
    }
}

impl Iterator for LogMessages<'_> {
    type Item = Result<BagMessage>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut best: Option<(usize, u64)> = None;
        for (index, stream) in self.streams.iter_mut().enumerate() {
            match stream.peek(&mut self.skipped) {
                // Report an error as soon as a file yields one.
                Some(Err(_)) => return stream.next.take(),
                Some(Ok(message)) if best.is_none_or(|(_, t)| message.log_time < t) => {
                    best = Some((index, message.log_time));
                }
                Some(Ok(_)) => {}
                None => {}
            }
        }
        let (index, _) = best?;
        self.streams[index].next.take()
    }
}
