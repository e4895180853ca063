//! Discovery: whenever the node's graph view changes, and at least every
//! [`RecordOptions::discovery_interval`](super::RecordOptions), the [`Discovery`] task lists the
//! graph's publishers, decides for each new selected topic how to record it ([`plan_topic`]:
//! rosync must ship its type, with the same hash) and subscribes with a callback that hands
//! each message, on arrival, to the [`Outbox`](super::outbox::Outbox): no subscriber queue
//! holds messages besides the outbox's byte budget. On stop it closes the subscribers, which
//! drops their handles on the outbox.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::watch;
use zenoh::bytes::ZBytes;

use super::outbox::{Incoming, Outbox, INLINE_MAX};
use super::topic::{RecordedTopic, Topics};
use crate::bag::{SkippedTopic, TopicSelection};
use crate::lock::lock;
use crate::msg::TypeIdentity;
use crate::node::{
    Durability, Entity, EntityKind, Node, QosProfile, RawMessage, RawSubscriber, Reliability,
    TopicInfo,
};

/// The selected topics that are not recorded, and why.
pub(crate) type Skipped = Arc<Mutex<Vec<SkippedTopic>>>;

/// How to record a topic: its state and the type hash to subscribe with.
#[derive(Debug)]
pub(crate) struct TopicPlan {
    /// The topic as it is stored.
    pub topic: RecordedTopic,
    /// The hash its publishers use (what the subscriber accepts).
    pub subscribe_hash: String,
}

/// Decides how to record `name` from its publishers (at least one; the first one's type
/// wins): the type must be one rosync ships, published with rosync's `RIHS01_` hash for it.
/// The stored QoS is one profile per distinct QoS of the publishers of that type.
pub(crate) fn plan_topic(name: &str, publishers: &[TopicInfo]) -> Result<TopicPlan, SkippedTopic> {
    let skip = |type_name: &str, reason: String| SkippedTopic {
        topic: name.to_string(),
        type_name: type_name.to_string(),
        reason,
    };
    let Some(first) = publishers.first() else {
        return Err(skip("", "no publisher".into()));
    };
    let (type_name, hash) = (&first.type_name, &first.type_hash);
    let Some(known) = crate::msg::lookup(type_name) else {
        return Err(skip(
            type_name,
            "rosync does not ship this type, so it has no definition to store".into(),
        ));
    };
    if hash.starts_with("RIHS01_") && hash != known.type_hash {
        return Err(skip(
            type_name,
            format!(
                "published with type hash {hash}, rosync's definition has {}",
                known.type_hash
            ),
        ));
    }
    let same = |p: &&TopicInfo| &p.type_name == type_name && &p.type_hash == hash;
    if publishers.iter().any(|p| !same(&p)) {
        tracing::warn!(topic = %name, %type_name, "publishers of other types on this topic are not recorded");
    }
    let offered: BTreeSet<&str> = publishers
        .iter()
        .filter(same)
        .map(|p| p.qos.as_str())
        .collect();
    let qos = offered
        .into_iter()
        .map(|text| {
            QosProfile::parse_rmw_zenoh(text).unwrap_or_else(|e| {
                tracing::warn!(topic = %name, "storing the default QoS: {e}");
                QosProfile::default()
            })
        })
        .collect();
    Ok(TopicPlan {
        topic: RecordedTopic::new(
            name,
            known.type_name,
            known.type_hash,
            known.definition,
            qos,
        ),
        subscribe_hash: hash.clone(),
    })
}

/// The QoS a topic is recorded with, adapted to its publishers' `offered` profiles as rosbag2
/// adapts: reliable unless one is best effort, transient local (asking for the deepest
/// publisher's history, so `/tf_static` published before the recording is in it) when every
/// one is.
pub(crate) fn recording_qos(offered: &[QosProfile]) -> QosProfile {
    QosProfile {
        reliability: Reliability::BestAvailable,
        durability: Durability::BestAvailable,
        ..QosProfile::default()
    }
    .adapted_to(offered)
}

/// The publishers of each topic not yet `seen` that `selection` takes, by topic name.
fn offers(
    entities: Vec<Entity>,
    seen: &HashSet<String>,
    selection: &TopicSelection,
) -> BTreeMap<String, Vec<TopicInfo>> {
    let mut offered: BTreeMap<String, Vec<TopicInfo>> = BTreeMap::new();
    for entity in entities {
        if entity.kind != EntityKind::Publisher {
            continue;
        }
        let Some(topic) = entity.topic else { continue };
        if !seen.contains(&topic.name) && selection.selects(&topic.name) {
            offered.entry(topic.name.clone()).or_default().push(topic);
        }
    }
    offered
}

/// The discovery task's state; see the [module docs](self).
pub(crate) struct Discovery {
    /// The recording node.
    pub node: Node,
    /// The topics to record, names resolved.
    pub selection: TopicSelection,
    /// How often the graph is polled.
    pub interval: Duration,
    /// The topics subscribed so far (shared with the writer thread and the recorder).
    pub topics: Topics,
    /// The topics skipped so far (shared with the recorder).
    pub skipped: Skipped,
    /// Where the subscriber callbacks put messages.
    pub outbox: Outbox,
    /// Becomes true when the recording stops.
    pub stop: watch::Receiver<bool>,
}

impl Discovery {
    /// Polls the graph and subscribes until stopped, then closes the subscribers (which drops
    /// the last senders of the writer channel).
    pub async fn run(mut self) {
        let mut subscribers = Vec::new();
        let mut seen = HashSet::new();
        let graph_timeout = self
            .interval
            .clamp(Duration::from_millis(200), Duration::from_secs(1));
        while !*self.stop.borrow() {
            match self.node.graph(graph_timeout).await {
                Ok(entities) => {
                    for (name, publishers) in offers(entities, &seen, &self.selection) {
                        seen.insert(name.clone());
                        if !self.start_topic(&name, &publishers, &mut subscribers).await {
                            seen.remove(&name);
                        }
                    }
                }
                Err(e) => tracing::warn!("graph query failed: {e}"),
            }
            update_lost(&subscribers);
            tokio::select! {
                _ = self.stop.changed() => break,
                _ = tokio::time::sleep(self.interval) => {}
                _ = self.node.graph_changed() => {}
            }
        }
        for (sub, _) in &subscribers {
            sub.close();
        }
        update_lost(&subscribers);
    }

    /// Records `name` or reports it skipped; false if subscribing failed (tried again later).
    async fn start_topic(
        &self,
        name: &str,
        publishers: &[TopicInfo],
        subscribers: &mut Vec<(RawSubscriber, Arc<RecordedTopic>)>,
    ) -> bool {
        let plan = match plan_topic(name, publishers) {
            Ok(plan) => plan,
            Err(skipped) => {
                tracing::warn!(topic = %name, type_name = %skipped.type_name, "not recording: {}", skipped.reason);
                lock(&self.skipped).push(skipped);
                return true;
            }
        };
        let accepted = TypeIdentity::new(&plan.topic.type_name, &plan.subscribe_hash);
        let qos = recording_qos(&plan.topic.qos);
        let topic = Arc::new(plan.topic);
        let (outbox, receiving) = (self.outbox.clone(), topic.clone());
        match self
            .node
            .raw_subscriber(name, Some(accepted))
            .qos(qos)
            .callback(move |raw| push(&outbox, &receiving, raw))
            .await
        {
            Ok(sub) => {
                lock(&self.topics).push(topic.clone());
                tracing::info!(topic = %name, type_name = %topic.type_name, "recording");
                subscribers.push((sub, topic));
                true
            }
            Err(e) => {
                tracing::warn!(topic = %name, "cannot subscribe: {e}");
                false
            }
        }
    }
}

/// A payload stored in one piece, lent to [`Bytes`] without copying.
struct Contiguous(ZBytes);

impl AsRef<[u8]> for Contiguous {
    fn as_ref(&self) -> &[u8] {
        self.0.slices().next().unwrap_or(&[])
    }
}

/// A large payload as [`Bytes`]: shared, not copied, when it is in one piece (the usual
/// case); copied once when zenoh holds it in several.
fn payload_bytes(payload: ZBytes) -> Bytes {
    match payload.slices().take(2).count() {
        0 => Bytes::new(),
        1 => Bytes::from_owner(Contiguous(payload)),
        _ => Bytes::from(payload.to_bytes().into_owned()),
    }
}

/// Hands one received message to the outbox (on zenoh's receive thread): a small payload is
/// copied into the outbox's batch, so zenoh's receive buffer is released at once; a large one
/// is shared.
fn push(outbox: &Outbox, topic: &Arc<RecordedTopic>, raw: RawMessage) {
    topic.received.fetch_add(1, Ordering::Relaxed);
    let log_time = raw.info.received_timestamp.max(0) as u64;
    let publish_time = raw
        .info
        .attachment
        .map(|a| a.source_timestamp)
        .filter(|&t| t > 0)
        .map_or(log_time, |t| t as u64);
    let bytes = raw.payload.len();
    let buffered = if bytes <= INLINE_MAX {
        let contiguous = raw.payload.to_bytes();
        outbox.send(topic, log_time, publish_time, Incoming::Copy(&contiguous))
    } else {
        let shared = payload_bytes(raw.payload);
        outbox.send(topic, log_time, publish_time, Incoming::Share(shared))
    };
    // One line per message at trace level: what a test compares with the file after a kill.
    tracing::trace!(topic = %topic.name, publish_time, bytes, buffered, "received");
}

/// Copies each subscriber's count of messages that never arrived into its topic.
fn update_lost(subscribers: &[(RawSubscriber, Arc<RecordedTopic>)]) {
    for (sub, topic) in subscribers {
        topic.lost.store(sub.stats().lost, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::{std_msgs, Message};

    fn publisher(type_name: &str, type_hash: &str, qos: &str) -> TopicInfo {
        TopicInfo {
            name: "/chatter".into(),
            type_name: type_name.into(),
            type_hash: type_hash.into(),
            qos: qos.into(),
        }
    }

    const STRING: &str = "std_msgs/msg/String";

    #[test]
    fn a_shipped_type_is_planned_with_its_publishers_qos() {
        let hash = std_msgs::String::TYPE_HASH;
        let plan = plan_topic(
            "/chatter",
            &[
                publisher(STRING, hash, "1:2:1,10:,:,:,,"),
                publisher(STRING, hash, "2:2:1,5:,:,:,,"),
                publisher(STRING, hash, "1:2:1,10:,:,:,,"),
                publisher("std_msgs/msg/Int32", "RIHS01_00", "1:2:1,1:,:,:,,"),
            ],
        )
        .expect("planned");
        assert_eq!(plan.subscribe_hash, hash);
        assert_eq!(plan.topic.type_name, STRING);
        assert_eq!(plan.topic.definition, std_msgs::String::DEFINITION);
        // One profile per distinct QoS of the publishers of the recorded type.
        assert_eq!(
            plan.topic.qos,
            [QosProfile::default(), QosProfile::sensor_data()]
        );

        // A hash that is not REP-2016 (an older stack) is accepted; bad QoS stores the default.
        let plan = plan_topic(
            "/chatter",
            &[publisher(STRING, "TypeHashNotSupported", "?")],
        )
        .expect("planned");
        assert_eq!(plan.subscribe_hash, "TypeHashNotSupported");
        assert_eq!(plan.topic.type_hash, hash);
        assert_eq!(plan.topic.qos, [QosProfile::default()]);
    }

    #[test]
    fn unknown_types_and_other_hashes_are_skipped_with_the_reason() {
        let skipped = plan_topic("/x", &[publisher("my_pkg/msg/Mystery", "RIHS01_ab", "")])
            .expect_err("unknown type");
        assert_eq!(
            (skipped.topic.as_str(), skipped.type_name.as_str()),
            ("/x", "my_pkg/msg/Mystery")
        );
        assert!(
            skipped.reason.contains("does not ship"),
            "{}",
            skipped.reason
        );

        let skipped =
            plan_topic("/x", &[publisher(STRING, "RIHS01_ab", "")]).expect_err("other hash");
        assert!(skipped.reason.contains("RIHS01_ab"), "{}", skipped.reason);
    }

    #[test]
    fn offers_take_new_selected_publishers_only() {
        let entity = |kind, topic: &str| Entity {
            domain_id: 0,
            zid: "z".into(),
            node_id: 0,
            entity_id: 1,
            kind,
            enclave: "/".into(),
            namespace: "/".into(),
            node_name: "n".into(),
            topic: Some(TopicInfo {
                name: topic.into(),
                ..publisher(STRING, "h", "")
            }),
        };
        let entities = vec![
            entity(EntityKind::Publisher, "/b"),
            entity(EntityKind::Publisher, "/a"),
            entity(EntityKind::Publisher, "/a"),
            entity(EntityKind::Subscriber, "/c"),
            entity(EntityKind::Publisher, "/seen"),
            entity(EntityKind::Publisher, "/other"),
        ];
        let selection = TopicSelection {
            topics: vec!["/a".into(), "/b".into(), "/c".into(), "/seen".into()],
            ..TopicSelection::default()
        };
        let seen = HashSet::from(["/seen".to_string()]);
        let offered = offers(entities, &seen, &selection);
        let names: Vec<(&str, usize)> =
            offered.iter().map(|(k, v)| (k.as_str(), v.len())).collect();
        assert_eq!(names, [("/a", 2), ("/b", 1)]);
    }

    #[test]
    fn contiguous_payloads_are_shared_not_copied() {
        let payload = ZBytes::from(vec![1u8, 2, 3]);
        let address = payload.slices().next().expect("a slice").as_ptr();
        let bytes = payload_bytes(payload);
        assert_eq!(&bytes[..], [1, 2, 3]);
        assert_eq!(bytes.as_ptr(), address, "the same memory");
        assert!(payload_bytes(ZBytes::new()).is_empty());
    }
}
