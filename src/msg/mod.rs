//! Typed ROS 2 messages: the [`Message`] and [`Stamped`] traits and the generated packages.
//!
//! Every package under `msgs/` becomes a module here (`std_msgs`, `geometry_msgs`,
//! `sensor_msgs`, `builtin_interfaces`, `rosgraph_msgs`, `tf2_msgs`, `rcl_interfaces`,
//! `service_msgs`, `unique_identifier_msgs`, `std_srvs`, `example_interfaces`), generated at
//! build time from the `.msg` and `.srv` files by `rosync-msggen`; a `.srv` gives
//! `Name_Request`, `Name_Response` and a [`Service`] type `Name`. Each type knows its ROS 2
//! type name, its REP-2016 type hash and its full definition, so it can be published with
//! rmw_zenoh's key expressions and recorded into MCAP with the `ros2msg` schema encoding.
//!
//! Type names in any of their forms (`pkg/Type`, `pkg/msg/Type`, rmw_zenoh's
//! `pkg::msg::dds_::Type_`) are parsed by [`TypeName`]; a type as the wire identifies it (name
//! and hash) is a [`TypeIdentity`]; [`lookup`] finds a shipped type by name at run time.
//!
//! ```
//! use rosync::msg::{sensor_msgs::Image, Message, Stamped};
//! let image = Image { width: 640, height: 480, ..Default::default() };
//! assert_eq!(Image::TYPE_NAME, "sensor_msgs/msg/Image");
//! assert_eq!(image.stamp().as_nanos(), 0);
//! ```

pub mod abbreviate;
pub(crate) mod definition;
mod dynamic;
mod identity;
pub mod serde_helpers;
mod service;
mod type_name;
pub mod views;

use std::fmt::Debug;

use serde::{de::DeserializeOwned, Serialize};

pub use definition::hash_from_definition;
pub use dynamic::{lookup, registry, DynType};
pub use identity::TypeIdentity;
pub use service::{lookup_service, service_registry, DynService, Service};
pub use type_name::{TypeKind, TypeName, TypeNameError};

include!(concat!(env!("OUT_DIR"), "/rosync_msgs.rs"));

/// A ROS 2 message type: serializable to CDR, with its ROS type name, hash and definition.
pub trait Message:
    Serialize + DeserializeOwned + Clone + Debug + PartialEq + Default + Send + Sync + 'static
{
    /// The ROS 2 type name, such as `sensor_msgs/msg/Image`.
    const TYPE_NAME: &'static str;
    /// The REP-2016 type hash, `RIHS01_` and 64 hex digits.
    const TYPE_HASH: &'static str;
    /// The `.msg` text followed by every referenced type's, as MCAP `ros2msg` schemas hold it.
    const DEFINITION: &'static str;
}

/// A message with a `std_msgs/Header header` field; implemented by the generator.
pub trait Stamped {
    /// The message's header.
    fn header(&self) -> &std_msgs::Header;

    /// The header's stamp.
    fn stamp(&self) -> builtin_interfaces::Time {
        self.header().stamp
    }

    /// The header's frame id.
    fn frame_id(&self) -> &str {
        &self.header().frame_id
    }
}

/// A bare header is its own stamp, so `Header` streams can be synchronized too.
impl Stamped for std_msgs::Header {
    fn header(&self) -> &std_msgs::Header {
        self
    }
}

/// Whether a `ros2msg` definition's first field is `std_msgs/Header header`, so the stamp
/// of any message of that type can be read from its CDR bytes without knowing the type.
pub fn definition_starts_with_header(definition: &str) -> bool {
    definition
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .find(|line| !line.is_empty() && !line.contains('='))
        .is_some_and(|first| {
            let mut words = first.split_whitespace();
            matches!(
                (words.next(), words.next()),
                (
                    Some("std_msgs/Header" | "std_msgs/msg/Header" | "Header"),
                    Some("header")
                )
            )
        })
}

/// The header stamp of a CDR payload whose message starts with a `std_msgs/Header`, in ns.
pub fn header_stamp_from_cdr(payload: &[u8]) -> Option<i64> {
    let little_endian = match payload.get(..2)? {
        [0, 1] => true,
        [0, 0] => false,
        _ => return None,
    };
    let sec: [u8; 4] = payload.get(4..8)?.try_into().ok()?;
    let nanosec: [u8; 4] = payload.get(8..12)?.try_into().ok()?;
    let (sec, nanosec) = if little_endian {
        (i32::from_le_bytes(sec), u32::from_le_bytes(nanosec))
    } else {
        (i32::from_be_bytes(sec), u32::from_be_bytes(nanosec))
    };
    Some(sec as i64 * 1_000_000_000 + nanosec as i64)
}

/// Writes `stamp` as the header stamp of a CDR payload whose message starts with a
/// `std_msgs/Header`, in the payload's byte order; `None` (nothing written) when the payload
/// is too short or not CDR.
pub fn set_header_stamp_in_cdr(payload: &mut [u8], stamp: builtin_interfaces::Time) -> Option<()> {
    let little_endian = match payload.get(..2)? {
        [0, 1] => true,
        [0, 0] => false,
        _ => return None,
    };
    let (sec, nanosec) = match little_endian {
        true => (stamp.sec.to_le_bytes(), stamp.nanosec.to_le_bytes()),
        false => (stamp.sec.to_be_bytes(), stamp.nanosec.to_be_bytes()),
    };
    let stamp_bytes = payload.get_mut(4..12)?;
    stamp_bytes[..4].copy_from_slice(&sec);
    stamp_bytes[4..].copy_from_slice(&nanosec);
    Some(())
}

/// The DDS-style type name rmw_zenoh uses in key expressions: `pkg::msg::dds_::Type_`.
///
/// Returns `None` if `type_name` is not a type name ([`TypeName::parse`]).
pub fn dds_type_name(type_name: &str) -> Option<String> {
    TypeName::parse(type_name).ok().map(|t| t.dds())
}

/// The ROS 2 type name back from a DDS-style one: `pkg::msg::dds_::Type_` to `pkg/msg/Type`.
///
/// Returns `None` if `dds_name` is not a type name ([`TypeName::parse`]).
pub fn ros_type_name(dds_name: &str) -> Option<String> {
    TypeName::parse(dds_name).ok().map(|t| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dds_names_round_trip() {
        let dds = dds_type_name("sensor_msgs/msg/Image").expect("valid name");
        assert_eq!(dds, "sensor_msgs::msg::dds_::Image_");
        assert_eq!(
            ros_type_name(&dds).as_deref(),
            Some("sensor_msgs/msg/Image")
        );
        assert_eq!(dds_type_name("Image"), None);
        assert_eq!(ros_type_name("garbage"), None);
    }

    #[test]
    fn header_stamps_are_read_from_any_stamped_payload() {
        assert!(definition_starts_with_header(
            sensor_msgs::Image::DEFINITION
        ));
        assert!(!definition_starts_with_header(std_msgs::String::DEFINITION));
        assert!(!definition_starts_with_header(
            sensor_msgs::NavSatStatus::DEFINITION
        ));
        let mut imu = sensor_msgs::Imu::default();
        imu.header.stamp = builtin_interfaces::Time { sec: 7, nanosec: 9 };
        let bytes = crate::cdr::encode(&imu).expect("encodes");
        assert_eq!(header_stamp_from_cdr(&bytes), Some(7_000_000_009));
        assert_eq!(header_stamp_from_cdr(&bytes[..6]), None);
    }

    #[test]
    fn header_stamps_are_written_in_the_payloads_byte_order() {
        let stamp = builtin_interfaces::Time {
            sec: 12,
            nanosec: 345,
        };
        let mut le = vec![0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9];
        let mut be = vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9];
        assert_eq!(set_header_stamp_in_cdr(&mut le, stamp), Some(()));
        assert_eq!(set_header_stamp_in_cdr(&mut be, stamp), Some(()));
        assert_eq!(header_stamp_from_cdr(&le), Some(12_000_000_345));
        assert_eq!(header_stamp_from_cdr(&be), Some(12_000_000_345));
        assert_eq!(le[12], 9, "nothing past the stamp written");
        let mut short = vec![0, 1, 0, 0, 0, 0, 0, 0];
        assert_eq!(set_header_stamp_in_cdr(&mut short, stamp), None);
        assert_eq!(short, [0, 1, 0, 0, 0, 0, 0, 0], "nothing written");
        let mut not_cdr = vec![7; 12];
        assert_eq!(set_header_stamp_in_cdr(&mut not_cdr, stamp), None);
    }

    #[test]
    fn defaults_follow_the_msg_files() {
        let q = geometry_msgs::Quaternion::default();
        assert_eq!((q.x, q.y, q.z, q.w), (0.0, 0.0, 0.0, 1.0));
        assert_eq!(
            sensor_msgs::NavSatStatus::default().status,
            sensor_msgs::NavSatStatus::STATUS_UNKNOWN
        );
        assert_eq!(sensor_msgs::CameraInfo::default().k, [0.0; 9]);
    }
}
