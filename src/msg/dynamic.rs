//! Message types looked up by name at run time, for tools that learn the type from the graph.

use super::abbreviate::to_abbreviated_json;
use super::{Message, TypeIdentity, TypeName};
use crate::cdr::{self, CdrError};

/// Decodes CDR segments into JSON, abbreviating what is longer than the limit.
type DecodeAbbreviated = fn(&[&[u8]], Option<usize>) -> Result<serde_json::Value, CdrError>;

/// A message type known by name: its hash and definition, and conversions between CDR and JSON.
#[derive(Clone, Copy)]
pub struct DynType {
    /// The ROS 2 type name, such as `std_msgs/msg/String`.
    pub type_name: &'static str,
    /// The REP-2016 type hash.
    pub type_hash: &'static str,
    /// The full `ros2msg` definition.
    pub definition: &'static str,
    decode: fn(&[u8]) -> Result<serde_json::Value, CdrError>,
    decode_abbreviated: DecodeAbbreviated,
    encode: fn(serde_json::Value) -> Result<Vec<u8>, String>,
}

impl std::fmt::Debug for DynType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynType")
            .field("type_name", &self.type_name)
            .field("type_hash", &self.type_hash)
            .finish()
    }
}

fn decode_json<T: Message>(bytes: &[u8]) -> Result<serde_json::Value, CdrError> {
    let msg: T = cdr::decode(bytes)?;
    serde_json::to_value(&msg).map_err(|e| CdrError::Message(e.to_string()))
}

fn decode_abbreviated<T: Message>(
    segments: &[&[u8]],
    limit: Option<usize>,
) -> Result<serde_json::Value, CdrError> {
    let msg: T = cdr::decode_segments(segments.iter().copied())?;
    to_abbreviated_json(&msg, limit).map_err(|e| CdrError::Message(e.to_string()))
}

fn encode_json<T: Message>(value: serde_json::Value) -> Result<Vec<u8>, String> {
    let msg: T = serde_json::from_value(value).map_err(|e| e.to_string())?;
    cdr::encode(&msg).map_err(|e| e.to_string())
}

impl DynType {
    /// The entry for `T`.
    pub const fn of<T: Message>() -> Self {
        Self {
            type_name: T::TYPE_NAME,
            type_hash: T::TYPE_HASH,
            definition: T::DEFINITION,
            decode: decode_json::<T>,
            decode_abbreviated: decode_abbreviated::<T>,
            encode: encode_json::<T>,
        }
    }

    /// Its name and hash.
    pub fn identity(&self) -> TypeIdentity {
        TypeIdentity {
            name: self.type_name.to_string(),
            hash: self.type_hash.to_string(),
        }
    }

    /// Decodes a CDR payload into JSON with the ROS field names.
    pub fn decode_json(&self, payload: &[u8]) -> Result<serde_json::Value, CdrError> {
        (self.decode)(payload)
    }

    /// Decodes a CDR payload held in `segments` (as zenoh delivers it, without joining them)
    /// into JSON with arrays and strings longer than `limit` abbreviated (see
    /// [`to_abbreviated_json`]); `None` keeps everything. Memory: the message, and JSON for
    /// what is shown.
    pub fn decode_json_abbreviated(
        &self,
        segments: &[&[u8]],
        limit: Option<usize>,
    ) -> Result<serde_json::Value, CdrError> {
        (self.decode_abbreviated)(segments, limit)
    }

    /// Encodes a JSON value (missing fields take their defaults) into a CDR payload.
    pub fn encode_json(&self, value: serde_json::Value) -> Result<Vec<u8>, String> {
        (self.encode)(value)
    }
}

/// Every message type rosync ships.
pub fn registry() -> impl Iterator<Item = &'static DynType> {
    [
        super::builtin_interfaces::TYPES,
        super::std_msgs::TYPES,
        super::geometry_msgs::TYPES,
        super::sensor_msgs::TYPES,
        super::rosgraph_msgs::TYPES,
        super::service_msgs::TYPES,
        super::unique_identifier_msgs::TYPES,
        super::rcl_interfaces::TYPES,
        super::std_srvs::TYPES,
        super::example_interfaces::TYPES,
        super::tf2_msgs::TYPES,
    ]
    .into_iter()
    .flatten()
}

/// Finds a shipped type by `pkg/msg/Type`, the short `pkg/Type` or the DDS form
/// `pkg::msg::dds_::Type_` ([`TypeName::parse`]).
pub fn lookup(type_name: &str) -> Option<&'static DynType> {
    let full = TypeName::parse(type_name).ok()?.to_string();
    registry().find(|t| t.type_name == full)
}
