//! [`BagWriter`]: records messages into an MCAP file with the `ros2` profile.
//!
//! The file is what `ros2 bag record -s mcap` (rosbag2_storage_mcap, Jazzy) writes: header
//! profile `ros2`, one `ros2msg` schema per type (named `pkg/msg/Type`, data = the full
//! definition), one `cdr` channel per topic with the `offered_qos_profiles` (YAML of
//! [`QosProfile`]s) and `topic_type_hash` metadata, messages in compressed chunks, and a
//! summary with chunk and message indexes and statistics.
//!
//! # What a killed recorder loses
//!
//! Messages collect in an open chunk held in memory. When its messages reach
//! [`WriterOptions::chunk_size`] bytes (or the chunk is older than
//! [`WriterOptions::max_chunk_age`] when the next message arrives, or [`BagWriter::flush`]
//! is called), the chunk is compressed, written and handed to the operating system in one go.
//! A recorder killed with SIGKILL therefore loses at most the open chunk: at most
//! `chunk_size` bytes of messages plus the one being written (about `chunk_size / (payload +
//! 31)` messages), and never anything in an earlier chunk. The file it leaves has no summary;
//! [`super::BagReader::open`] reads every complete chunk of it and [`super::recover`] rewrites
//! them into a clean file. A machine crash or power loss can also lose what the OS had not yet
//! written to disk, unless [`WriterOptions::sync_chunks`] asks for an fsync after every chunk.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mcap::records::MessageHeader;

use super::error::{BagError, Result};
use super::rosbag2::offered_qos_profiles;
use crate::msg::Message;
use crate::node::QosProfile;

/// How chunks are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// Uncompressed chunks (rosbag2's default).
    None,
    /// LZ4 frames: fast, moderate ratio.
    Lz4,
    /// Zstandard: a better ratio at some CPU cost (the default).
    #[default]
    Zstd,
}

/// Options for [`BagWriter::create`].
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// Chunk compression.
    pub compression: Compression,
    /// Uncompressed bytes of messages after which a chunk is closed and written (default 4 MiB);
    /// the most a killed recorder can lose.
    pub chunk_size: u64,
    /// Also close the open chunk when the next message arrives this long after the chunk was
    /// started (default none: size only). Bounds the loss in time for slow topics.
    pub max_chunk_age: Option<Duration>,
    /// fsync the file after every chunk, so a power loss loses no closed chunk (default off).
    pub sync_chunks: bool,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            compression: Compression::Zstd,
            chunk_size: DEFAULT_CHUNK_SIZE,
            max_chunk_age: None,
            sync_chunks: false,
        }
    }
}

/// Default [`WriterOptions::chunk_size`]: 4 MiB.
pub const DEFAULT_CHUNK_SIZE: u64 = 4 * 1024 * 1024;

/// A topic registered in a [`BagWriter`] (the MCAP channel id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicId(pub u16);

/// What [`BagWriter::finish`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteSummary {
    /// The file.
    pub path: PathBuf,
    /// Messages written.
    pub messages: u64,
    /// Size of the finished file in bytes.
    pub bytes: u64,
}

/// A `Write + Seek` file that counts its position without flushing (mcap asks for it often).
struct CountingFile {
    inner: BufWriter<File>,
    pos: u64,
    shared: Arc<AtomicU64>,
}

impl Write for CountingFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.pos += n as u64;
        self.shared.store(self.pos, Ordering::Relaxed);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl Seek for CountingFile {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        if to == SeekFrom::Current(0) {
            return Ok(self.pos);
        }
        self.pos = self.inner.seek(to)?;
        Ok(self.pos)
    }

    fn stream_position(&mut self) -> std::io::Result<u64> {
        Ok(self.pos)
    }
}

struct Topic {
    id: TopicId,
    type_name: String,
}

/// Writes a ROS 2 MCAP log; see the [module docs](self) for the format and the loss bound.
///
/// Call [`finish`](Self::finish) to write the summary and check for errors. A writer dropped
/// without it still finishes the file (ignoring errors); a killed process leaves every closed
/// chunk readable.
pub struct BagWriter {
    path: PathBuf,
    writer: mcap::Writer<CountingFile>,
    options: WriterOptions,
    position: Arc<AtomicU64>,
    topics: HashMap<String, Topic>,
    sequences: HashMap<u16, u32>,
    open_chunk_bytes: u64,
    open_chunk_since: Option<Instant>,
    messages: u64,
}

impl std::fmt::Debug for BagWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BagWriter")
            .field("path", &self.path)
            .field("messages", &self.messages)
            .finish_non_exhaustive()
    }
}

impl BagWriter {
    /// Creates (or truncates) `path` and writes the MCAP header.
    pub fn create(path: impl AsRef<Path>, options: WriterOptions) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = File::create(&path).map_err(|e| BagError::io(&path, e))?;
        let position = Arc::new(AtomicU64::new(0));
        let sink = CountingFile {
            inner: BufWriter::with_capacity(1 << 16, file),
            pos: 0,
            shared: position.clone(),
        };
        let compression = match options.compression {
            Compression::None => None,
            Compression::Lz4 => Some(mcap::Compression::Lz4),
            Compression::Zstd => Some(mcap::Compression::Zstd),
        };
        let mcap_options = mcap::WriteOptions::new()
            .profile("ros2")
            .library(format!("rosync {}", env!("CARGO_PKG_VERSION")))
            .compression(compression)
            // rosync closes chunks itself (see `write`), so it knows when to hand them to the OS.
            .chunk_size(None)
            // Chunks are built in memory and written whole: a killed writer leaves no
            // half-written chunk with a placeholder length behind.
            .disable_seeking(true)
            .compression_threads(0);
        let writer = mcap::Writer::with_options(sink, mcap_options)
            .map_err(|e| BagError::from_mcap(&path, e))?;
        Ok(Self {
            path,
            writer,
            options,
            position,
            topics: HashMap::new(),
            sequences: HashMap::new(),
            open_chunk_bytes: 0,
            open_chunk_since: None,
            messages: 0,
        })
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Registers `topic` with its type (`pkg/msg/Type`), REP-2016 type hash (may be empty),
    /// full `ros2msg` definition and offered QoS profiles (stored as rosbag2's YAML list;
    /// [`QosProfile::default`] when `None`). Adding a topic again with the same type returns
    /// its id; with another type it is an error.
    pub fn add_topic(
        &mut self,
        topic: &str,
        type_name: &str,
        type_hash: &str,
        definition: &str,
        qos: Option<&[QosProfile]>,
    ) -> Result<TopicId> {
        let mut metadata = std::collections::BTreeMap::new();
        metadata.insert(
            "offered_qos_profiles".to_string(),
            offered_qos_profiles::to_yaml(qos.unwrap_or(&[QosProfile::default()])),
        );
        metadata.insert("topic_type_hash".to_string(), type_hash.to_string());
        self.add_channel(
            topic,
            type_name,
            "ros2msg",
            definition.as_bytes(),
            "cdr",
            &metadata,
        )
    }

    /// Registers a channel with any schema and message encoding and the given metadata (used
    /// to copy foreign channels verbatim, as [`super::recover`] does).
    pub fn add_channel(
        &mut self,
        topic: &str,
        schema_name: &str,
        schema_encoding: &str,
        schema_data: &[u8],
        message_encoding: &str,
        metadata: &std::collections::BTreeMap<String, String>,
    ) -> Result<TopicId> {
        if let Some(existing) = self.topics.get(topic) {
            if existing.type_name == schema_name {
                return Ok(existing.id);
            }
            return Err(BagError::TopicConflict {
                path: self.path.clone(),
                topic: topic.to_string(),
                existing: existing.type_name.clone(),
                requested: schema_name.to_string(),
            });
        }
        // mcap deduplicates identical schemas: one schema record per type.
        let schema_id = if schema_encoding.is_empty() && schema_data.is_empty() {
            0
        } else {
            self.writer
                .add_schema(schema_name, schema_encoding, schema_data)
                .map_err(|e| BagError::from_mcap(&self.path, e))?
        };
        let id = self
            .writer
            .add_channel(schema_id, topic, message_encoding, metadata)
            .map_err(|e| BagError::from_mcap(&self.path, e))?;
        self.topics.insert(
            topic.to_string(),
            Topic {
                id: TopicId(id),
                type_name: schema_name.to_string(),
            },
        );
        Ok(TopicId(id))
    }

    /// Writes one serialized message (a CDR payload for ROS topics) with its log (receive) and
    /// publish times in nanoseconds since the epoch.
    pub fn write(
        &mut self,
        topic: TopicId,
        log_time: u64,
        publish_time: u64,
        payload: &[u8],
    ) -> Result<()> {
        let sequence = self.sequences.entry(topic.0).or_insert(0);
        let header = MessageHeader {
            channel_id: topic.0,
            sequence: *sequence,
            log_time,
            publish_time,
        };
        self.writer
            .write_to_known_channel(&header, payload)
            .map_err(|e| BagError::from_mcap(&self.path, e))?;
        *sequence = sequence.wrapping_add(1);
        self.messages += 1;
        // Message record: opcode, length, 22-byte header, payload.
        self.open_chunk_bytes += 31 + payload.len() as u64;
        let since = *self.open_chunk_since.get_or_insert_with(Instant::now);
        let too_old = self
            .options
            .max_chunk_age
            .is_some_and(|age| since.elapsed() >= age);
        if self.open_chunk_bytes >= self.options.chunk_size || too_old {
            self.flush()?;
        }
        Ok(())
    }

    /// Serializes `msg` and writes it on `topic` (registered on first use with `T`'s type,
    /// hash, definition and [`QosProfile::default`]); the publish time is the log time.
    pub fn write_message<T: Message>(&mut self, topic: &str, log_time: u64, msg: &T) -> Result<()> {
        let id = match self.topics.get(topic) {
            Some(t) if t.type_name == T::TYPE_NAME => t.id,
            _ => self.add_topic(topic, T::TYPE_NAME, T::TYPE_HASH, T::DEFINITION, None)?,
        };
        let payload = crate::cdr::encode(msg).map_err(|source| BagError::Decode {
            path: self.path.clone(),
            topic: topic.to_string(),
            type_name: T::TYPE_NAME.to_string(),
            log_time,
            source,
        })?;
        self.write(id, log_time, log_time, &payload)
    }

    /// Closes the open chunk (if any) and hands it to the operating system (and to the disk
    /// with [`WriterOptions::sync_chunks`]). Everything written so far then survives a kill.
    pub fn flush(&mut self) -> Result<()> {
        self.writer
            .flush()
            .map_err(|e| BagError::from_mcap(&self.path, e))?;
        self.open_chunk_bytes = 0;
        self.open_chunk_since = None;
        if self.options.sync_chunks {
            // mcap's flush reached our BufWriter; sync the file underneath via a fresh handle.
            File::open(&self.path)
                .and_then(|f| f.sync_data())
                .map_err(|e| BagError::io(&self.path, e))?;
        }
        Ok(())
    }

    /// Messages written so far.
    pub fn messages_written(&self) -> u64 {
        self.messages
    }

    /// Bytes of the file written so far (closed chunks; the open chunk is still in memory).
    pub fn bytes_written(&self) -> u64 {
        self.position.load(Ordering::Relaxed)
    }

    /// Writes the last chunk, the summary (schemas, channels, statistics, indexes) and the
    /// footer, and flushes the file.
    pub fn finish(mut self) -> Result<WriteSummary> {
        self.writer
            .finish()
            .map_err(|e| BagError::from_mcap(&self.path, e))?;
        let mut sink = self.writer.into_inner();
        sink.flush().map_err(|e| BagError::io(&self.path, e))?;
        if self.options.sync_chunks {
            sink.inner
                .get_ref()
                .sync_all()
                .map_err(|e| BagError::io(&self.path, e))?;
        }
        Ok(WriteSummary {
            path: self.path,
            messages: self.messages,
            bytes: sink.pos,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What rosbag2 (Jazzy) stores for rclcpp's default publisher, byte for byte.
    const JAZZY_DEFAULT: &str = "- history: keep_last
  depth: 10
  reliability: reliable
  durability: volatile
  deadline:
    sec: 9223372036
    nsec: 854775807
  lifespan:
    sec: 9223372036
    nsec: 854775807
  liveliness: automatic
  liveliness_lease_duration:
    sec: 9223372036
    nsec: 854775807
  avoid_ros_namespace_conventions: false";

    #[test]
    fn default_qos_is_rosbag2s_text() {
        assert_eq!(
            offered_qos_profiles::to_yaml(&[QosProfile::default()]),
            JAZZY_DEFAULT
        );
    }
}
