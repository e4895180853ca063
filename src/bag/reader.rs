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
//! iterating is skipped: iteration continues with the next chunk, and the skip is logged and
//! reported as a [`Damage`] by [`Messages::skipped`] (naming the file, the offset and the
//! messages lost).

use std::collections::HashSet;
use std::path::Path;

use super::index::Index;
use crate::bag::{BagError, Damage, LogTopic, Messages, Result, Typed, Verification};
use crate::msg::{Message, TypeName};

/// An open MCAP log; see the [module docs](self).
#[derive(Debug)]
pub struct BagReader {
    index: Index,
}

impl BagReader {
    /// Opens `path`: reads its summary, or scans it when it has none (see the module docs).
    ///
    /// Fails only if nothing can be read: the file cannot be opened, is empty, is not MCAP, or
    /// its header is damaged. Damage further on is reported by [`damage`](Self::damage).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Index::open(path.as_ref()).map(|index| Self { index })
    }
}

impl BagReader {
    /// The file.
    pub fn path(&self) -> &Path {
        &self.index.path
    }

    /// The file's size in bytes.
    pub fn file_size(&self) -> u64 {
        self.index.file_size
    }

    /// The header's profile (`ros2` for ROS 2 logs).
    pub fn profile(&self) -> &str {
        &self.index.profile
    }

    /// The header's library (the writer, such as `rosync 0.1.0`).
    pub fn library(&self) -> &str {
        &self.index.library
    }

    /// Whether the file was opened through its summary (`false`: it was scanned).
    pub fn is_indexed(&self) -> bool {
        self.index.indexed
    }

    /// What is wrong with the file, if anything: messages after this point were not recovered
    /// (or, for [`BagError::Corrupt`] with intact framing, the damaged record was skipped).
    pub fn damage(&self) -> Option<&BagError> {
        self.index.damage.as_ref()
    }

    /// The damaged chunks skipped when the file was scanned (it had no usable summary). A file
    /// opened through its summary is checked only as it is read: see [`verify`](Self::verify)
    /// and [`Messages::skipped`].
    pub fn skipped(&self) -> &[Damage] {
        &self.index.skipped
    }

    /// Reads every chunk (decompression, CRC, records) instead of trusting the summary, and
    /// reports what is damaged. Fails only if the file cannot be read at all.
    pub fn verify(&self) -> Result<Verification> {
        let mut messages = self.messages();
        let mut count = 0u64;
        for item in &mut messages {
            item?;
            count += 1;
        }
        Ok(Verification {
            chunks_ok: messages.blocks_ok(),
            messages: count,
            damaged: messages.skipped().to_vec(),
        })
    }

    /// Consumes the reader, returning its [`damage`](Self::damage).
    pub fn into_damage(self) -> Option<BagError> {
        self.index.damage
    }

    /// Every topic (channel), in channel id order.
    pub fn topics(&self) -> Vec<LogTopic> {
        self.index
            .channels
            .values()
            .map(|c| c.info.clone())
            .collect()
    }

    /// Number of (readable) messages.
    pub fn message_count(&self) -> u64 {
        self.index.message_count
    }

    /// Log time of the first message (ns), if any.
    pub fn start_time(&self) -> Option<u64> {
        self.index.start
    }

    /// Log time of the last message (ns), if any.
    pub fn end_time(&self) -> Option<u64> {
        self.index.end
    }

    /// Every message in log-time order (file order for equal times).
    pub fn messages(&self) -> Messages<'_> {
        Messages::new(&self.index, None)
    }

    /// The messages of the given topics, in log-time order.
    pub fn messages_on(&self, topics: &[&str]) -> Messages<'_> {
        let ids = self
            .index
            .channels
            .iter()
            .filter(|(_, c)| topics.contains(&&*c.topic))
            .map(|(id, _)| *id)
            .collect();
        Messages::new(&self.index, Some(ids))
    }

    /// The messages of `topic` decoded as `T`, with their log times, in log-time order.
    ///
    /// Fails up front if the log has no such topic, or if the topic is not CDR with a
    /// `ros2msg` schema naming `T`'s type.
    pub fn typed<T: Message>(&self, topic: &str) -> Result<Typed<'_, T>> {
        let mut ids = HashSet::new();
        for (id, c) in self
            .index
            .channels
            .iter()
            .filter(|(_, c)| &*c.topic == topic)
        {
            self.check_decodable(&c.info)?;
            if !names_type::<T>(&c.info.type_name) {
                return Err(BagError::TypeMismatch {
                    path: self.index.path.clone(),
                    topic: topic.to_string(),
                    expected: T::TYPE_NAME.to_string(),
                    actual: c.info.type_name.clone(),
                });
            }
            if let Some(hash) = &c.info.type_hash {
                if hash != T::TYPE_HASH {
                    tracing::warn!(
                        "{}: topic {topic}: type hash {hash} differs from rosync's {} for {}; decoding anyway",
                        self.index.path.display(),
                        T::TYPE_HASH,
                        T::TYPE_NAME
                    );
                }
            }
            ids.insert(*id);
        }
        if ids.is_empty() {
            return Err(BagError::NoSuchTopic {
                path: self.index.path.clone(),
                topic: topic.to_string(),
            });
        }
        Ok(Typed::new(Messages::new(&self.index, Some(ids))))
    }

    /// Checks that a topic can be decoded by rosync: CDR messages with a `ros2msg` schema.
    pub fn check_decodable(&self, topic: &LogTopic) -> Result<()> {
        let schema_ok = matches!(topic.schema_encoding.as_str(), "ros2msg");
        if topic.message_encoding != "cdr" || !schema_ok {
            if topic.schema_encoding.is_empty() && topic.message_encoding == "cdr" {
                let schema_id = 0;
                return Err(BagError::MissingSchema {
                    path: self.index.path.clone(),
                    topic: topic.topic.clone(),
                    channel_id: topic.channel_id,
                    schema_id,
                });
            }
            return Err(BagError::UnsupportedEncoding {
                path: self.index.path.clone(),
                topic: topic.topic.clone(),
                message_encoding: topic.message_encoding.clone(),
                schema_encoding: topic.schema_encoding.clone(),
            });
        }
        Ok(())
    }
}

/// Whether a schema's type name (`pkg/msg/Type`, or `pkg/Type` as some tools write) is `T`'s.
fn names_type<T: Message>(name: &str) -> bool {
    TypeName::parse(name).is_ok_and(|parsed| parsed.to_string() == T::TYPE_NAME)
}
