//! The values a log is read as: its topics ([`LogTopic`]) and messages ([`BagMessage`]),
//! shared by every storage (MCAP, sqlite3) and by the player and recorder.

use std::collections::BTreeMap;
use std::sync::Arc;

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
    /// Decodes the CDR payload as `T` (without checking the type name; see
    /// [`BagReader::typed`](crate::bag::BagReader::typed)).
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

/// `span` (first and last log time, ns) widened to hold `log_time`.
pub(crate) fn widen_span(span: Option<(u64, u64)>, log_time: u64) -> Option<(u64, u64)> {
    Some(span.map_or((log_time, log_time), |(start, end)| {
        (start.min(log_time), end.max(log_time))
    }))
}
