//! The topics a [`Player`](super::Player) publishes: [`PlayTopic`], and how a recorded
//! channel's type name and type hash are resolved ([`HashSource`]).

use crate::bag::rosbag2::offered_qos_profiles;
use crate::bag::LogTopic;
use crate::msg::hash_from_definition;
use crate::msg::{TypeIdentity, TypeKind, TypeName};
use crate::node::{Durability, QosProfile};

/// Where a played topic's type hash came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashSource {
    /// The channel's `topic_type_hash` metadata.
    Recorded,
    /// rosync's message registry.
    Registry,
    /// Computed from the `ros2msg` definition stored in the log.
    Definition,
}

/// A topic the player publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayTopic {
    /// The recorded name.
    pub topic: String,
    /// The fully qualified name it is published under (after remapping).
    pub published_as: String,
    /// The type, `pkg/msg/Type`.
    pub type_name: String,
    /// The REP-2016 type hash announced.
    pub type_hash: String,
    /// Where the hash came from.
    pub hash_source: HashSource,
    /// Recorded messages on it (in the whole log).
    pub message_count: u64,
}

/// The type name and hash to publish a recorded topic with, or why it cannot be played.
pub(crate) fn resolve_type(info: &LogTopic) -> Result<(TypeIdentity, HashSource), String> {
    if info.message_encoding != "cdr" {
        return Err(format!(
            "its messages are encoded as {}, not cdr",
            crate::bag::untrusted::quoted(&info.message_encoding)
        ));
    }
    if info.type_name.is_empty() {
        return Err("its channel has no schema, so its type is unknown".to_string());
    }
    let type_name = TypeName::parse(&info.type_name)
        .ok()
        .filter(|t| t.kind == TypeKind::Msg)
        .ok_or_else(|| {
            format!(
                "its type {} is not of the form pkg/msg/Type",
                crate::bag::untrusted::quoted(&info.type_name)
            )
        })?
        .to_string();
    let identity = |hash: &str| TypeIdentity {
        name: type_name.clone(),
        hash: hash.to_string(),
    };
    if let Some(hash) = info.type_hash.as_ref().filter(|h| h.starts_with("RIHS01_")) {
        return Ok((identity(hash), HashSource::Recorded));
    }
    if let Some(known) = crate::msg::lookup(&type_name) {
        return Ok((identity(known.type_hash), HashSource::Registry));
    }
    if info.schema_encoding != "ros2msg" {
        return Err(format!(
            "type {type_name} is unknown to rosync and its schema is {}, not ros2msg",
            crate::bag::untrusted::quoted(&info.schema_encoding)
        ));
    }
    let hash = hash_from_definition(&type_name, &info.definition).map_err(|e| {
        format!("type {type_name} is unknown to rosync and its hash cannot be computed: {e}")
    })?;
    Ok((identity(&hash), HashSource::Definition))
}

/// The QoS a recorded topic is played with, as rosbag2 plays: reliable (the player blocks
/// rather than drop), and transient local keeping the deepest recorded publisher's depth when
/// every recorded publisher was transient local, so a late subscriber still gets
/// `/tf_static`; volatile otherwise, or when the log recorded no profile.
pub(crate) fn playback_qos(info: &LogTopic) -> QosProfile {
    let offered = info
        .metadata
        .get("offered_qos_profiles")
        .map(|text| {
            offered_qos_profiles::from_yaml(text).unwrap_or_else(|e| {
                tracing::warn!(topic = %info.topic, "playing with the default QoS: {e}");
                Vec::new()
            })
        })
        .unwrap_or_default();
    QosProfile {
        durability: Durability::BestAvailable,
        ..QosProfile::default()
    }
    .adapted_to(&offered)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::{std_msgs, Message};

    fn channel(type_name: &str, type_hash: Option<&str>, definition: &str) -> LogTopic {
        LogTopic {
            topic: "/t".into(),
            channel_id: 1,
            type_name: type_name.into(),
            type_hash: type_hash.map(str::to_string),
            definition: definition.into(),
            schema_encoding: "ros2msg".into(),
            message_encoding: "cdr".into(),
            metadata: Default::default(),
            message_count: 0,
        }
    }

    #[test]
    fn hashes_come_from_the_log_then_the_registry_then_the_definition() {
        let recorded = format!("RIHS01_{}", "ab".repeat(32));
        let info = channel("my_pkg/Thing", Some(&recorded), "");
        assert_eq!(
            resolve_type(&info),
            Ok((
                TypeIdentity::new("my_pkg/msg/Thing", &recorded),
                HashSource::Recorded
            ))
        );
        let info = channel(std_msgs::String::TYPE_NAME, Some("RIHS00_old"), "");
        assert_eq!(
            resolve_type(&info),
            Ok((TypeIdentity::of::<std_msgs::String>(), HashSource::Registry))
        );
        let info = channel("my_pkg/msg/Point2", None, "float64 x\nfloat64 y\n");
        let (identity, source) = resolve_type(&info).expect("computed");
        assert_eq!(
            (identity.name.as_str(), source),
            ("my_pkg/msg/Point2", HashSource::Definition)
        );
        assert!(identity.hash.starts_with("RIHS01_"));
        let dds = channel("my_pkg::msg::dds_::Point2_", None, "float64 x\nfloat64 y\n");
        assert_eq!(resolve_type(&dds).expect("computed").0, identity);
        let service = channel("my_pkg/srv/Point2", None, "float64 x\n");
        assert!(resolve_type(&service)
            .unwrap_err()
            .contains("not of the form"));
    }

    #[test]
    fn unplayable_channels_say_why() {
        let mut json = channel("my_pkg/msg/Thing", None, "");
        json.message_encoding = "json".into();
        assert!(resolve_type(&json).unwrap_err().contains("json"));
        assert!(resolve_type(&channel("", None, ""))
            .unwrap_err()
            .contains("no schema"));
        assert!(resolve_type(&channel("Thing", None, ""))
            .unwrap_err()
            .contains("not of the form"));
        let mut idl = channel("my_pkg/msg/Thing", None, "struct Thing {};");
        idl.schema_encoding = "ros2idl".into();
        assert!(resolve_type(&idl).unwrap_err().contains("ros2idl"));
        assert!(resolve_type(&channel("my_pkg/msg/Thing", None, ""))
            .unwrap_err()
            .contains("cannot be computed"));
    }
}
