//! The ROS graph as rmw_zenoh announces it: liveliness tokens for nodes, publishers and
//! subscribers under `@ros2_lv/<domain>/...`, and key expressions for topic data.

use super::names::{demangle, mangle};
use super::qos::{QosError, QosProfile};
use crate::msg::{dds_type_name, ros_type_name, TypeIdentity};

/// Prefix of every graph liveliness token.
pub const LIVELINESS_PREFIX: &str = "@ros2_lv";

/// What a liveliness token announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntityKind {
    /// A node (`NN`).
    Node,
    /// A publisher (`MP`).
    Publisher,
    /// A subscriber (`MS`).
    Subscriber,
    /// A service server (`SS`).
    ServiceServer,
    /// A service client (`SC`).
    ServiceClient,
}

impl EntityKind {
    /// The two-letter code in tokens.
    pub fn code(self) -> &'static str {
        match self {
            Self::Node => "NN",
            Self::Publisher => "MP",
            Self::Subscriber => "MS",
            Self::ServiceServer => "SS",
            Self::ServiceClient => "SC",
        }
    }

    fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "NN" => Self::Node,
            "MP" => Self::Publisher,
            "MS" => Self::Subscriber,
            "SS" => Self::ServiceServer,
            "SC" => Self::ServiceClient,
            _ => return None,
        })
    }
}

/// The topic part of a publisher or subscriber token.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicInfo {
    /// The fully qualified topic name, such as `/chatter`.
    pub name: String,
    /// The ROS 2 type name, such as `std_msgs/msg/String`.
    pub type_name: String,
    /// The type hash, `RIHS01_...`.
    pub type_hash: String,
    /// The QoS as rmw_zenoh encodes it, kept verbatim so a token renders back exactly (see
    /// [`TopicInfo::qos_profile`]).
    pub qos: String,
}

impl TopicInfo {
    /// The QoS parsed from rmw_zenoh's token field.
    pub fn qos_profile(&self) -> Result<QosProfile, QosError> {
        QosProfile::parse_rmw_zenoh(&self.qos)
    }
}

/// One entity of the graph, parsed from (or rendered to) a liveliness token.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Entity {
    /// The ROS domain id.
    pub domain_id: u32,
    /// The zenoh session id, as zenoh prints it.
    pub zid: String,
    /// The node's id within its session.
    pub node_id: u32,
    /// This entity's id within its session (equal to `node_id` for a node).
    pub entity_id: u32,
    /// What it is.
    pub kind: EntityKind,
    /// The security enclave (`/` by default).
    pub enclave: String,
    /// The node's namespace (`/` for the root).
    pub namespace: String,
    /// The node's name.
    pub node_name: String,
    /// Topic, type and QoS for publishers and subscribers.
    pub topic: Option<TopicInfo>,
}

impl Entity {
    /// The liveliness token key expression in rmw_zenoh's format.
    pub fn token(&self) -> String {
        let mut key = format!(
            "{LIVELINESS_PREFIX}/{}/{}/{}/{}/{}/{}/{}/{}",
            self.domain_id,
            self.zid,
            self.node_id,
            self.entity_id,
            self.kind.code(),
            mangle(&self.enclave),
            mangle(&self.namespace),
            mangle(&self.node_name),
        );
        if let Some(topic) = &self.topic {
            let dds = dds_type_name(&topic.type_name).unwrap_or_else(|| topic.type_name.clone());
            key.push_str(&format!(
                "/{}/{}/{}/{}",
                mangle(&topic.name),
                dds,
                topic.type_hash,
                topic.qos
            ));
        }
        key
    }

    /// Parses a token; `None` if it is not a well-formed rmw_zenoh graph token.
    pub fn parse(token: &str) -> Option<Self> {
        let parts: Vec<&str> = token.split('/').collect();
        if parts.len() < 9 || parts[0] != LIVELINESS_PREFIX || parts.iter().any(|p| p.is_empty()) {
            return None;
        }
        let kind = EntityKind::from_code(parts[5])?;
        let topic = match (kind, parts.len()) {
            (EntityKind::Node, 9) => None,
            (EntityKind::Node, _) => return None,
            (_, 13) => Some(TopicInfo {
                name: demangle(parts[9]),
                type_name: ros_type_name(parts[10]).unwrap_or_else(|| parts[10].to_string()),
                type_hash: parts[11].to_string(),
                qos: parts[12].to_string(),
            }),
            _ => return None,
        };
        Some(Self {
            domain_id: parts[1].parse().ok()?,
            zid: parts[2].to_string(),
            node_id: parts[3].parse().ok()?,
            entity_id: parts[4].parse().ok()?,
            kind,
            enclave: demangle(parts[6]),
            namespace: demangle(parts[7]),
            node_name: demangle(parts[8]),
            topic,
        })
    }

    /// The node's fully qualified name, such as `/robot1/camera`.
    pub fn node_fqn(&self) -> String {
        if self.namespace == "/" {
            format!("/{}", self.node_name)
        } else {
            format!("{}/{}", self.namespace, self.node_name)
        }
    }
}

/// The data key expression of a topic: `<domain>/<topic>/<pkg>::msg::dds_::<Type>_/<hash>`.
pub fn topic_key_expr(domain_id: u32, topic: &str, type_name: &str, type_hash: &str) -> String {
    let dds = dds_type_name(type_name).unwrap_or_else(|| type_name.to_string());
    format!("{domain_id}/{}/{dds}/{type_hash}", topic.trim_matches('/'))
}

/// The key expression matching a topic's data of any type: `<domain>/<topic>/*/*`.
pub fn topic_key_expr_any_type(domain_id: u32, topic: &str) -> String {
    format!("{domain_id}/{}/*/*", topic.trim_matches('/'))
}

/// The type (name and hash) of a topic's data key expression, if it is one.
pub fn split_topic_key_expr(key: &str) -> Option<TypeIdentity> {
    let mut parts = key.rsplitn(3, '/');
    let hash = parts.next()?;
    let dds = parts.next()?;
    Some(TypeIdentity {
        name: ros_type_name(dds)?,
        hash: hash.to_string(),
    })
}

/// rmw_zenoh's QoS token field for the default profile keeping the last `depth` messages (or
/// all for 0): `QosProfile::default().keep_last(depth).to_rmw_zenoh()`.
pub fn qos_string(depth: usize) -> String {
    let qos = if depth == 0 {
        QosProfile::default().keep_all()
    } else {
        QosProfile::default().keep_last(depth)
    };
    qos.to_rmw_zenoh()
}

/// The publisher GID rmw_zenoh derives from a token: XXH3-128 of the key, low half first.
pub fn gid_from_token(token: &str) -> [u8; 16] {
    xxhash_rust::xxh3::xxh3_128(token.as_bytes()).to_le_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn talker(kind: EntityKind, entity_id: u32, topic: Option<TopicInfo>) -> Entity {
        Entity {
            domain_id: 0,
            zid: "8b20917502ee955ac4476e0266340d5c".into(),
            node_id: 0,
            entity_id,
            kind,
            enclave: "/".into(),
            namespace: "/".into(),
            node_name: "talker".into(),
            topic,
        }
    }

    #[test]
    fn tokens_match_rmw_zenoh_examples() {
        let node = talker(EntityKind::Node, 0, None);
        assert_eq!(
            node.token(),
            "@ros2_lv/0/8b20917502ee955ac4476e0266340d5c/0/0/NN/%/%/talker"
        );
        let publisher = talker(
            EntityKind::Publisher,
            1,
            Some(TopicInfo {
                name: "/chatter".into(),
                type_name: "std_msgs/msg/String".into(),
                type_hash:
                    "RIHS01_df668c740482bbd48fb39d76a70dfd4bd59db1288021743503259e948f6b1a18".into(),
                qos: qos_string(10),
            }),
        );
        let token = publisher.token();
        assert_eq!(
            token,
            "@ros2_lv/0/8b20917502ee955ac4476e0266340d5c/0/1/MP/%/%/talker/%chatter/\
             std_msgs::msg::dds_::String_/\
             RIHS01_df668c740482bbd48fb39d76a70dfd4bd59db1288021743503259e948f6b1a18/::,10:,:,:,,"
        );
        assert_eq!(Entity::parse(&token).as_ref(), Some(&publisher));
        let topic = publisher.topic.as_ref().expect("a topic");
        assert_eq!(topic.qos_profile(), Ok(QosProfile::default()));
        // A token from rmw_zenoh, which leaves out fields equal to its defaults, renders back
        // exactly and its QoS parses.
        let foreign = token.replace("/::,10:,:,:,,", "/::,7:,:,:,,");
        let entity = Entity::parse(&foreign).expect("parses");
        assert_eq!(entity.token(), foreign);
        let qos = entity.topic.expect("a topic").qos_profile().expect("qos");
        assert_eq!(qos, QosProfile::default().keep_last(7));
        assert_eq!(Entity::parse(&node.token()), Some(node));
        assert_eq!(Entity::parse("@ros2_lv/0/x"), None);
        assert_eq!(Entity::parse("@ros2_lv/0/z/0/0/XX/%/%/n"), None);
    }

    #[test]
    fn key_expressions() {
        let ke = topic_key_expr(3, "/robot1/chatter", "std_msgs/msg/String", "RIHS01_ab");
        assert_eq!(
            ke,
            "3/robot1/chatter/std_msgs::msg::dds_::String_/RIHS01_ab"
        );
        assert_eq!(
            split_topic_key_expr(&ke),
            Some(TypeIdentity::new("std_msgs/msg/String", "RIHS01_ab"))
        );
        assert_eq!(topic_key_expr_any_type(0, "/a/b"), "0/a/b/*/*");
    }
}
