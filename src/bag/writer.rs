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
//! is called), the chunk is compressed, written and handed to the operating system before
//! `write` (or `flush`) returns.
//! A recorder killed with SIGKILL therefore loses at most the open chunk: at most
//! `chunk_size` bytes of messages plus the one being written (about `chunk_size / (payload +
//! 31)` messages), and never anything in an earlier chunk. The file it leaves has no summary;
//! [`super::BagReader::open`] reads every complete chunk of it and [`super::recover`] rewrites
//! them into a clean file. A machine crash or power loss can also lose what the OS had not yet
//! written to disk, unless [`WriterOptions::sync_chunks`] asks for an fsync after every chunk.
//!
//! # How it writes
//!
//! rosync writes the MCAP records itself (`write_records`, `open_chunk`): a message costs a
//! 31-byte record header and a 16-byte index entry appended to the open chunk, and a copy of
//! its payload, unless it closes an uncompressed chunk (an image larger than `chunk_size`,
//! say), whose payload is written from the caller's buffer. An uncompressed chunk is written
//! as it fills, 1 MiB at a time by a second thread, after a placeholder header that the real
//! one replaces when the chunk closes (before `write` returns; until then readers see the
//! chunk cut short); a compressed chunk is held in memory until it closes. The file's space
//! is reserved ahead of the writes, 32 MiB at a time, and what is left of it freed when the
//! writer finishes (`preallocate`; Linux, the `preallocate` feature). Chunk CRCs are
//! computed while the records are in the cache. The Data End record's data-section CRC is 0
//! ("not computed", as the MCAP specification allows); every chunk and the summary carry
//! their own.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{IoSlice, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::error::{BagError, Result};
use super::open_chunk::{index_has_room, write_all_vectored, CloseBuffers, Compressor, OpenChunk};
use super::records::{op, MAGIC};
use super::rosbag2::offered_qos_profiles;
use super::types::widen_span;
use super::write_records::{self, Statistics, MESSAGE_OVERHEAD};
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

/// A registered topic.
struct Topic {
    id: TopicId,
    type_name: String,
}

/// Per-channel counters, indexed by channel id.
#[derive(Default, Clone, Copy)]
struct ChannelState {
    registered: bool,
    sequence: u32,
    messages: u64,
}

/// Writes a ROS 2 MCAP log; see the [module docs](self) for the format and the loss bound.
///
/// Call [`finish`](Self::finish) to write the summary and check for errors. A writer dropped
/// without it still finishes the file (ignoring errors); a killed process leaves every closed
/// chunk readable.
pub struct BagWriter {
    path: PathBuf,
    file: File,
    options: WriterOptions,
    /// Bytes handed to the operating system: the header and every closed chunk.
    position: u64,
    topics: HashMap<String, Topic>,
    channels: Vec<ChannelState>,
    /// Schema ids by (name, encoding, data): one schema record per distinct schema.
    schema_ids: HashMap<(String, String, Vec<u8>), u16>,
    /// The summary's Schema and Channel records, in id order.
    summary_schemas: Vec<u8>,
    summary_channels: Vec<u8>,
    /// The summary's Chunk Index records.
    chunk_indexes: Vec<u8>,
    chunks: u32,
    chunk: OpenChunk,
    compressor: Compressor,
    buffers: CloseBuffers,
    /// Message-record bytes in the open chunk (what `chunk_size` measures).
    open_chunk_bytes: u64,
    open_chunk_since: Option<Instant>,
    bounds: Option<(u64, u64)>,
    messages: u64,
    /// Set once the summary is written (or the writer failed): nothing more is written.
    done: bool,
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
        let mut file = File::create(&path).map_err(|e| BagError::io(&path, e))?;
        let compressor =
            Compressor::new(options.compression).map_err(|e| BagError::io(&path, e))?;
        let mut start = MAGIC.to_vec();
        write_records::header(
            &mut start,
            "ros2",
            &format!("rosync {}", env!("CARGO_PKG_VERSION")),
        );
        file.write_all(&start).map_err(|e| BagError::io(&path, e))?;
        Ok(Self {
            path,
            file,
            chunk: OpenChunk::new(options.chunk_size, options.compression),
            options,
            position: start.len() as u64,
            topics: HashMap::new(),
            channels: vec![ChannelState::default()],
            schema_ids: HashMap::new(),
            summary_schemas: Vec::new(),
            summary_channels: Vec::new(),
            chunk_indexes: Vec::new(),
            chunks: 0,
            compressor,
            buffers: CloseBuffers::default(),
            open_chunk_bytes: 0,
            open_chunk_since: None,
            bounds: None,
            messages: 0,
            done: false,
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
        let mut metadata = BTreeMap::new();
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
        metadata: &BTreeMap<String, String>,
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
        self.usable()?;
        let lengths = [
            (topic.len(), "topic name"),
            (schema_name.len(), "schema name"),
            (schema_encoding.len(), "schema encoding"),
            (schema_data.len(), "schema data"),
            (message_encoding.len(), "message encoding"),
            (
                metadata.iter().map(|(k, v)| 8 + k.len() + v.len()).sum(),
                "channel metadata",
            ),
        ];
        for (len, what) in lengths {
            write_records::check_len(len, what).map_err(|reason| self.refused(reason))?;
        }
        let Ok(id) = u16::try_from(self.channels.len()) else {
            return Err(self.refused(format!(
                "too many topics: MCAP channel ids are 16-bit; cannot add {topic}"
            )));
        };
        // One schema record per distinct schema; no schema (id 0) without encoding and data.
        let schema_id = if schema_encoding.is_empty() && schema_data.is_empty() {
            0
        } else {
            let key = (
                schema_name.to_string(),
                schema_encoding.to_string(),
                schema_data.to_vec(),
            );
            match self.schema_ids.get(&key) {
                Some(&id) => id,
                None => {
                    let Ok(schema_id) = u16::try_from(self.schema_ids.len() + 1) else {
                        return Err(self.refused(format!(
                            "too many schemas: MCAP schema ids are 16-bit; cannot add {schema_name}"
                        )));
                    };
                    let encode = |out: &mut Vec<u8>| {
                        write_records::schema(
                            out,
                            schema_id,
                            schema_name,
                            schema_encoding,
                            schema_data,
                        )
                    };
                    self.chunk.push_record(encode);
                    encode(&mut self.summary_schemas);
                    self.schema_ids.insert(key, schema_id);
                    schema_id
                }
            }
        };
        let channel = write_records::Channel {
            id,
            schema_id,
            topic,
            message_encoding,
            metadata,
        };
        self.chunk
            .push_record(|out| write_records::channel(out, &channel));
        write_records::channel(&mut self.summary_channels, &channel);
        self.channels.push(ChannelState {
            registered: true,
            ..ChannelState::default()
        });
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
        self.usable()?;
        let channel = match self.channels.get_mut(usize::from(topic.0)) {
            Some(c) if c.registered => c,
            _ => {
                return Err(self.refused(format!(
                    "topic id {} was not returned by add_topic or add_channel",
                    topic.0
                )))
            }
        };
        let header = write_records::message_header(
            topic.0,
            channel.sequence,
            log_time,
            publish_time,
            payload.len(),
        );
        channel.sequence = channel.sequence.wrapping_add(1);
        channel.messages += 1;
        self.messages += 1;
        self.bounds = widen_span(self.bounds, log_time);
        self.open_chunk_bytes += (MESSAGE_OVERHEAD + payload.len()) as u64;
        let since = *self.open_chunk_since.get_or_insert_with(Instant::now);
        let too_old = self
            .options
            .max_chunk_age
            .is_some_and(|age| since.elapsed() >= age);
        let closes = self.open_chunk_bytes >= self.options.chunk_size
            || too_old
            || !index_has_room(self.chunk.messages() + 1);
        if closes && matches!(self.compressor, Compressor::None) {
            // The chunk is written now: its last payload goes from the caller's buffer.
            self.chunk.push_message(&header, topic.0, log_time, None);
            self.close_chunk(payload)
        } else {
            self.chunk
                .push_message(&header, topic.0, log_time, Some(payload));
            if closes {
                self.close_chunk(&[])
            } else {
                self.chunk.stream(&mut self.file).map_err(|e| {
                    self.done = true;
                    BagError::io(&self.path, e)
                })
            }
        }
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
        self.usable()?;
        if self.chunk.is_empty() {
            return Ok(());
        }
        self.close_chunk(&[])
    }

    /// Messages written so far.
    pub fn messages_written(&self) -> u64 {
        self.messages
    }

    /// Bytes of the file written so far (closed chunks; the open chunk is still in memory).
    pub fn bytes_written(&self) -> u64 {
        self.position
    }

    /// Writes the last chunk, the summary (schemas, channels, statistics, indexes) and the
    /// footer, and flushes the file.
    pub fn finish(mut self) -> Result<WriteSummary> {
        self.finish_file()?;
        Ok(WriteSummary {
            path: self.path.clone(),
            messages: self.messages,
            bytes: self.position,
        })
    }

    /// An error for an operation the writer refuses (`reason` says why).
    fn refused(&self, reason: String) -> BagError {
        BagError::Write {
            path: self.path.clone(),
            reason,
        }
    }

    /// Whether the writer can still write: not finished, and no earlier write failed (after
    /// a failed write the file's end is unknown, so nothing more is appended).
    fn usable(&self) -> Result<()> {
        if self.done {
            return Err(
                self.refused("the log is finished, or an earlier write to it failed".to_string())
            );
        }
        Ok(())
    }

    /// Closes the open chunk, whose last message's payload is `tail`, and writes it.
    fn close_chunk(&mut self, tail: &[u8]) -> Result<()> {
        let index = self.chunk.close(
            tail,
            self.position,
            &mut self.compressor,
            &mut self.buffers,
            &mut self.file,
        );
        self.open_chunk_bytes = 0;
        self.open_chunk_since = None;
        let index = match index {
            Ok(index) => index,
            Err(e) => {
                self.done = true;
                return Err(BagError::io(&self.path, e));
            }
        };
        self.position += index.length + index.message_index_length;
        write_records::chunk_index(&mut self.chunk_indexes, &index);
        self.chunks += 1;
        if self.options.sync_chunks {
            self.file
                .sync_data()
                .map_err(|e| BagError::io(&self.path, e))?;
        }
        Ok(())
    }

    /// Writes the last chunk, Data End, the summary and the footer (once).
    fn finish_file(&mut self) -> Result<()> {
        self.usable()?;
        if !self.chunk.is_empty() {
            self.close_chunk(&[])?;
        }
        let end = summary(self);
        self.done = true;
        write_all_vectored(&mut self.file, &[IoSlice::new(&end)])
            .and_then(|()| {
                release_reserved_space(&self.file, &self.path);
                if self.options.sync_chunks {
                    self.file.sync_all()
                } else {
                    Ok(())
                }
            })
            .map_err(|e| BagError::io(&self.path, e))?;
        self.position += end.len() as u64;
        Ok(())
    }
}

/// Frees the disk space reserved past the end of `file` (at `path`) while it was written
/// ([`super::preallocate`]); its size stays as it is. The log is complete either way, so a
/// failure is only logged.
fn release_reserved_space(file: &File, path: &Path) {
    if let Err(e) = file.metadata().and_then(|m| file.set_len(m.len())) {
        tracing::warn!(
            "{}: could not free the disk space reserved past its end: {e}",
            path.display()
        );
    }
}

impl Drop for BagWriter {
    fn drop(&mut self) {
        if !self.done {
            if let Err(e) = self.finish_file() {
                tracing::warn!("{e}");
            }
        }
    }
}

/// The end of the file after the last chunk: Data End, the summary (schemas, channels,
/// statistics, chunk indexes, summary offsets), the footer and the closing magic.
fn summary(w: &BagWriter) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        64 + w.summary_schemas.len() + w.summary_channels.len() + w.chunk_indexes.len(),
    );
    // The data section's CRC is optional (0); every chunk carries its own.
    write_records::data_end(&mut out, 0);
    let summary_start = w.position + out.len() as u64;
    let from = out.len();
    let counts: BTreeMap<u16, u64> = w
        .channels
        .iter()
        .enumerate()
        .filter(|(_, c)| c.messages > 0)
        .map(|(id, c)| (u16::try_from(id).unwrap_or(u16::MAX), c.messages))
        .collect();
    let (start, end) = w.bounds.unwrap_or((0, 0));
    let mut groups = Vec::new();
    let mut group = |out: &mut Vec<u8>, opcode: u8, bytes: &dyn Fn(&mut Vec<u8>)| {
        let at = out.len();
        bytes(out);
        if out.len() > at {
            groups.push((opcode, w.position + at as u64, (out.len() - at) as u64));
        }
    };
    group(&mut out, op::SCHEMA, &|out| {
        out.extend_from_slice(&w.summary_schemas)
    });
    group(&mut out, op::CHANNEL, &|out| {
        out.extend_from_slice(&w.summary_channels)
    });
    group(&mut out, op::STATISTICS, &|out| {
        write_records::statistics(
            out,
            &Statistics {
                message_count: w.messages,
                schema_count: u16::try_from(w.schema_ids.len()).unwrap_or(u16::MAX),
                channel_count: (w.channels.len() - 1) as u32,
                chunk_count: w.chunks,
                start,
                end,
                channel_message_counts: &counts,
            },
        )
    });
    group(&mut out, op::CHUNK_INDEX, &|out| {
        out.extend_from_slice(&w.chunk_indexes)
    });
    let summary_offset_start = w.position + out.len() as u64;
    for (opcode, start, length) in groups {
        write_records::summary_offset(&mut out, opcode, start, length);
    }
    write_records::footer_without_crc(&mut out, summary_start, summary_offset_start);
    let crc = super::records::crc32(0, &out[from..]);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(MAGIC);
    out
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
