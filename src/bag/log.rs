//! A message log as users name it: one MCAP file, or a rosbag2 folder (several files), read as
//! one stream in log-time order.
//!
//! [`Log::open`] accepts an `.mcap` file or a folder holding `.mcap` files (a rosbag2 bag
//! written by `ros2 bag record`, Python `rosbags` or `rosync record` with splitting). The
//! files are merged by log time, so a split recording plays as one.

use std::path::{Path, PathBuf};

use super::error::{BagError, Result};
use super::reader::{BagMessage, BagReader, TopicInfo};
use crate::msg::Message;

/// One file of a log.
#[derive(Debug)]
enum Source {
    Mcap(BagReader),
}

impl Source {
    fn topics(&self) -> Vec<TopicInfo> {
        match self {
            Self::Mcap(reader) => reader.topics(),
        }
    }

    fn messages<'a>(
        &'a self,
        topics: &[&str],
    ) -> Box<dyn Iterator<Item = Result<BagMessage>> + 'a> {
        match self {
            Self::Mcap(reader) if topics.is_empty() => Box::new(reader.messages()),
            Self::Mcap(reader) => Box::new(reader.messages_on(topics)),
        }
    }

    fn message_count(&self) -> u64 {
        match self {
            Self::Mcap(reader) => reader.message_count(),
        }
    }

    fn time_range(&self) -> (Option<u64>, Option<u64>) {
        match self {
            Self::Mcap(reader) => (reader.start_time(), reader.end_time()),
        }
    }

    fn damage(&self) -> Option<&BagError> {
        match self {
            Self::Mcap(reader) => reader.damage(),
        }
    }
}

/// A message log: one or more files read as a single log-time-ordered stream.
#[derive(Debug)]
pub struct Log {
    path: PathBuf,
    sources: Vec<Source>,
}

fn io_error(path: &Path, source: std::io::Error) -> BagError {
    BagError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Log {
    /// Opens an MCAP file or a folder of MCAP files (a rosbag2 bag).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let metadata = std::fs::metadata(path).map_err(|e| io_error(path, e))?;
        let files = if metadata.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| io_error(path, e))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "mcap"))
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(BagError::NotMcap {
                    path: path.to_path_buf(),
                    reason: "the folder holds no .mcap file".into(),
                });
            }
            files
        } else {
            vec![path.to_path_buf()]
        };
        let sources = files
            .iter()
            .map(|file| BagReader::open(file).map(Source::Mcap))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            path: path.to_path_buf(),
            sources,
        })
    }

    /// The file or folder opened.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The topics of every file, merged by name (counts added up).
    pub fn topics(&self) -> Vec<TopicInfo> {
        let mut merged: Vec<TopicInfo> = Vec::new();
        for topic in self.sources.iter().flat_map(Source::topics) {
            match merged.iter_mut().find(|t| t.topic == topic.topic) {
                Some(existing) => existing.message_count += topic.message_count,
                None => merged.push(topic),
            }
        }
        merged.sort_by(|a, b| a.topic.cmp(&b.topic));
        merged
    }

    /// Messages in all files.
    pub fn message_count(&self) -> u64 {
        self.sources.iter().map(Source::message_count).sum()
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
                .map(|s| s.messages(topics).peekable())
                .collect(),
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

type Stream<'a> = std::iter::Peekable<Box<dyn Iterator<Item = Result<BagMessage>> + 'a>>;

/// The messages of a [`Log`] in log-time order (ties keep file order).
pub struct LogMessages<'a> {
    streams: Vec<Stream<'a>>,
}

impl Iterator for LogMessages<'_> {
    type Item = Result<BagMessage>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut best: Option<(usize, u64)> = None;
        for (index, stream) in self.streams.iter_mut().enumerate() {
            match stream.peek() {
                // Report an error as soon as a file yields one.
                Some(Err(_)) => return stream.next(),
                Some(Ok(message)) if best.is_none_or(|(_, t)| message.log_time < t) => {
                    best = Some((index, message.log_time));
                }
                Some(Ok(_)) => {}
                None => {}
            }
        }
        let (index, _) = best?;
        self.streams[index].next()
    }
}
