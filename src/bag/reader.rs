//! [`BagReader`]: opens an MCAP log (rosync's, rosbag2's, or any ROS 2 MCAP) and iterates its
//! messages in log-time order, raw or typed.
//!
//! Opening reads the summary at the end of the file when there is a valid one (schemas,
//! channels, statistics, chunk indexes: nothing else is read). Without one (a recorder that
//! was killed, a cut file, a corrupt summary, an unchunked file) it scans the file once from
//! the start, checking every chunk's CRC, and keeps every message of every complete record
//! before the damage; [`BagReader::damage`] says what was wrong and where.
//!
//! Iteration streams: chunks are read from the file and decompressed on demand, and only
//! chunks whose time ranges overlap are held in memory at once (a k-way merge), so memory is
//! bounded by the chunk size, not the file size. A chunk that turns out to be corrupt while
//! iterating yields one error (naming the file and offset) and iteration continues with the
//! next chunk.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::{BagError, Result};
use super::index::Block;
use super::messages::{Messages, Typed};
use super::records::{self, op, MAGIC};
use crate::msg::Message;

/// A topic (MCAP channel) of a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogTopic {
    /// The topic name.
    pub topic: String,
    /// The MCAP channel id.
    pub channel_id: u16,
    /// The message type as the schema names it (`pkg/msg/Type`); empty without a schema.
    pub type_name: String,
    /// The REP-2016 type hash from the `topic_type_hash` channel metadata, if any.
    pub type_hash: Option<String>,
    /// The schema's text (the `ros2msg` definition for ROS topics).
    pub definition: String,
    /// The schema encoding (`ros2msg` for ROS topics); empty without a schema.
    pub schema_encoding: String,
    /// The message encoding (`cdr` for ROS topics).
    pub message_encoding: String,
    /// The channel metadata (`offered_qos_profiles`, `topic_type_hash`, ...).
    pub metadata: BTreeMap<String, String>,
    /// Messages on this channel (readable ones, for a damaged file).
    pub message_count: u64,
}

/// One message read from a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BagMessage {
    /// Its topic.
    pub topic: Arc<str>,
    /// Its type (`pkg/msg/Type`), from the channel's schema.
    pub type_name: Arc<str>,
    /// The MCAP channel id.
    pub channel_id: u16,
    /// The sequence number the writer gave it.
    pub sequence: u32,
    /// Log (receive) time, ns since the epoch.
    pub log_time: u64,
    /// Publish time, ns since the epoch.
    pub publish_time: u64,
    /// The serialized message (CDR for ROS topics), shared with the chunk it was read from.
    pub data: bytes::Bytes,
}

impl BagMessage {
    /// Decodes the CDR payload as `T` (without checking the type name; see [`BagReader::typed`]).
    pub fn decode<T: Message>(&self) -> std::result::Result<T, crate::cdr::CdrError> {
        crate::cdr::decode(&self.data)
    }

    /// Decodes the payload to JSON by its type name, if rosync knows the type.
    pub fn decode_json(
        &self,
    ) -> Option<std::result::Result<serde_json::Value, crate::cdr::CdrError>> {
        crate::msg::lookup(&self.type_name).map(|t| t.decode_json(&self.data))
    }
}

#[derive(Debug, Clone)]
pub(super) struct ChannelEntry {
    pub(super) info: LogTopic,
    pub(super) topic: Arc<str>,
    pub(super) type_name: Arc<str>,
}

/// An open MCAP log; see the [module docs](self).
#[derive(Debug)]
pub struct BagReader {
    pub(super) path: PathBuf,
    pub(super) file_size: u64,
    /// Offset of the first record after the header.
    pub(super) data_start: u64,
    pub(super) profile: String,
    pub(super) library: String,
    pub(super) channels: BTreeMap<u16, ChannelEntry>,
    pub(super) blocks: Vec<Block>,
    pub(super) message_count: u64,
    pub(super) start: Option<u64>,
    pub(super) end: Option<u64>,
    pub(super) indexed: bool,
    pub(super) damage: Option<BagError>,
}

impl BagReader {
    /// Opens `path`: reads its summary, or scans it when it has none (see the module docs).
    ///
    /// Fails only if nothing can be read: the file cannot be opened, is empty, is not MCAP, or
    /// its header is damaged. Damage further on is reported by [`damage`](Self::damage).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let mut file = File::open(&path).map_err(|e| BagError::io(&path, e))?;
        let file_size = file.metadata().map_err(|e| BagError::io(&path, e))?.len();
        let mut magic = [0u8; 8];
        let got = read_up_to(&mut file, &mut magic).map_err(|e| BagError::io(&path, e))?;
        if file_size == 0 {
            return Err(BagError::NotMcap {
                path,
                reason: "the file is empty".into(),
            });
        }
        if got < 8 || &magic != MAGIC {
            return Err(BagError::NotMcap {
                path,
                reason: format!(
                    "it does not start with the MCAP magic bytes (found {:02x?})",
                    &magic[..got]
                ),
            });
        }
        let mut reader = BagReader {
            path,
            file_size,
            data_start: 8,
            profile: String::new(),
            library: String::new(),
            channels: BTreeMap::new(),
            blocks: Vec::new(),
            message_count: 0,
            start: None,
            end: None,
            indexed: false,
            damage: None,
        };
        reader.read_header(&mut file)?;
        match reader.read_summary(&mut file) {
            Ok(true) => reader.indexed = true,
            Ok(false) => reader.scan(&mut file, None)?,
            Err(problem) => reader.scan(&mut file, Some(problem))?,
        }
        Ok(reader)
    }

    fn read_header(&mut self, file: &mut File) -> Result<()> {
        let mut prefix = [0u8; 9];
        let got = read_up_to(file, &mut prefix).map_err(|e| BagError::io(&self.path, e))?;
        let len = u64::from_le_bytes(prefix[1..9].try_into().unwrap_or_default());
        if got < 9 || 17 + len > self.file_size {
            return Err(BagError::Truncated {
                path: self.path.clone(),
                offset: 8,
                reason: "the file ends inside its header record".into(),
                recovered_messages: 0,
            });
        }
        if prefix[0] != op::HEADER {
            return Err(BagError::corrupt(
                &self.path,
                8,
                format!("first record has opcode {:#04x}, not a header", prefix[0]),
            ));
        }
        let mut body = vec![0u8; len as usize];
        file.read_exact(&mut body)
            .map_err(|e| BagError::io(&self.path, e))?;
        let header = records::header(&body).map_err(|r| BagError::corrupt(&self.path, 8, r))?;
        self.data_start = 17 + len;
        self.profile = header.profile;
        self.library = header.library;
        Ok(())
    }
}

impl BagReader {
    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's size in bytes.
    pub fn file_size(&self) -> u64 {
        self.file_size
    }

    /// The header's profile (`ros2` for ROS 2 logs).
    pub fn profile(&self) -> &str {
        &self.profile
    }

    /// The header's library (the writer, such as `rosync 0.1.0`).
    pub fn library(&self) -> &str {
        &self.library
    }

    /// Whether the file was opened through its summary (`false`: it was scanned).
    pub fn is_indexed(&self) -> bool {
        self.indexed
    }

    /// What is wrong with the file, if anything: messages after this point were not recovered
    /// (or, for [`BagError::Corrupt`] with intact framing, the damaged record was skipped).
    pub fn damage(&self) -> Option<&BagError> {
        self.damage.as_ref()
    }

    /// Consumes the reader, returning its [`damage`](Self::damage).
    pub fn into_damage(self) -> Option<BagError> {
        self.damage
    }

    /// Every topic (channel), in channel id order.
    pub fn topics(&self) -> Vec<LogTopic> {
        self.channels.values().map(|c| c.info.clone()).collect()
    }

    /// Number of (readable) messages.
    pub fn message_count(&self) -> u64 {
        self.message_count
    }

    /// Log time of the first message (ns), if any.
    pub fn start_time(&self) -> Option<u64> {
        self.start
    }

    /// Log time of the last message (ns), if any.
    pub fn end_time(&self) -> Option<u64> {
        self.end
    }

    /// Every message in log-time order (file order for equal times).
    pub fn messages(&self) -> Messages<'_> {
        Messages::new(self, None)
    }

    /// The messages of the given topics, in log-time order.
    pub fn messages_on(&self, topics: &[&str]) -> Messages<'_> {
        let ids = self
            .channels
            .iter()
            .filter(|(_, c)| topics.contains(&&*c.topic))
            .map(|(id, _)| *id)
            .collect();
        Messages::new(self, Some(ids))
    }

    /// The messages of `topic` decoded as `T`, with their log times, in log-time order.
    ///
    /// Fails up front if the log has no such topic, or if the topic is not CDR with a
    /// `ros2msg` schema naming `T`'s type.
    pub fn typed<T: Message>(&self, topic: &str) -> Result<Typed<'_, T>> {
        let mut ids = HashSet::new();
        for (id, c) in self.channels.iter().filter(|(_, c)| &*c.topic == topic) {
            self.check_decodable(&c.info)?;
            if normalize_type(&c.info.type_name) != T::TYPE_NAME {
                return Err(BagError::TypeMismatch {
                    path: self.path.clone(),
                    topic: topic.to_string(),
                    expected: T::TYPE_NAME.to_string(),
                    actual: c.info.type_name.clone(),
                });
            }
            if let Some(hash) = &c.info.type_hash {
                if hash != T::TYPE_HASH {
                    tracing::warn!(
                        "{}: topic {topic}: type hash {hash} differs from rosync's {} for {}; decoding anyway",
                        self.path.display(),
                        T::TYPE_HASH,
                        T::TYPE_NAME
                    );
                }
            }
            ids.insert(*id);
        }
        if ids.is_empty() {
            return Err(BagError::NoSuchTopic {
                path: self.path.clone(),
                topic: topic.to_string(),
            });
        }
        Ok(Typed::new(Messages::new(self, Some(ids))))
    }

    /// Checks that a topic can be decoded by rosync: CDR messages with a `ros2msg` schema.
    pub fn check_decodable(&self, topic: &LogTopic) -> Result<()> {
        let schema_ok = matches!(topic.schema_encoding.as_str(), "ros2msg");
        if topic.message_encoding != "cdr" || !schema_ok {
            if topic.schema_encoding.is_empty() && topic.message_encoding == "cdr" {
                let schema_id = 0;
                return Err(BagError::MissingSchema {
                    path: self.path.clone(),
                    topic: topic.topic.clone(),
                    channel_id: topic.channel_id,
                    schema_id,
                });
            }
            return Err(BagError::UnsupportedEncoding {
                path: self.path.clone(),
                topic: topic.topic.clone(),
                message_encoding: topic.message_encoding.clone(),
                schema_encoding: topic.schema_encoding.clone(),
            });
        }
        Ok(())
    }
}

/// `pkg/Type` (ROS 1 style, some tools) to `pkg/msg/Type`.
fn normalize_type(name: &str) -> String {
    let parts: Vec<&str> = name.split('/').collect();
    match parts.as_slice() {
        [pkg, ty] => format!("{pkg}/msg/{ty}"),
        _ => name.to_string(),
    }
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}
