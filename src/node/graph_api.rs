//! A [`Node`]'s graph API, as rclcpp's: topic names and types, the publishers and
//! subscriptions of a topic with their node, type, hash, GID and QoS ([`EndpointInfo`]),
//! waiting for publishers or subscriptions, and [`GraphEvents`] telling when endpoints join or
//! leave. All of it reads the node's live graph view.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use tokio::sync::broadcast;

use super::graph::{gid_from_token, Entity, EntityKind};
use super::qos::{QosError, QosProfile};
use super::Node;
use crate::error::Result;

/// How long the first graph request of a node waits for its view to settle (see
/// [`Node::graph`]).
pub const GRAPH_SETTLE_TIMEOUT: Duration = Duration::from_secs(2);

/// How many graph events wait for a slow [`GraphEvents`] receiver before it misses some.
pub const GRAPH_EVENT_CAPACITY: usize = 1024;

/// One publisher or subscription of a topic, as `ros2 topic info -v` shows it (rclcpp's
/// `TopicEndpointInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointInfo {
    /// The endpoint's node name.
    pub node_name: String,
    /// The endpoint's node namespace.
    pub node_namespace: String,
    /// The topic's type, such as `std_msgs/msg/String`.
    pub topic_type: String,
    /// The type hash, `RIHS01_...`.
    pub topic_type_hash: String,
    /// [`EntityKind::Publisher`] or [`EntityKind::Subscriber`].
    pub endpoint_kind: EntityKind,
    /// The GID rmw_zenoh derives from the endpoint's liveliness token.
    pub gid: [u8; 16],
    /// The QoS the endpoint announces (an error if its token's QoS field does not parse; the
    /// text is in `entity`).
    pub qos: std::result::Result<QosProfile, QosError>,
    /// The graph entity it was read from.
    pub entity: Entity,
}

impl EndpointInfo {
    /// The endpoint info of a publisher or subscriber entity; `None` for other entities.
    pub fn from_entity(entity: &Entity) -> Option<Self> {
        if !matches!(entity.kind, EntityKind::Publisher | EntityKind::Subscriber) {
            return None;
        }
        let topic = entity.topic.as_ref()?;
        Some(Self {
            node_name: entity.node_name.clone(),
            node_namespace: entity.namespace.clone(),
            topic_type: topic.type_name.clone(),
            topic_type_hash: topic.type_hash.clone(),
            endpoint_kind: entity.kind,
            gid: gid_from_token(&entity.token()),
            qos: topic.qos_profile(),
            entity: entity.clone(),
        })
    }

    /// The GID as `ros2 topic info -v` prints it: hex bytes joined by dots.
    pub fn gid_text(&self) -> String {
        self.gid
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// A change in the graph, from [`GraphEvents`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphEvent {
    /// An entity appeared (for a topic: a publisher or subscription matched).
    Joined(Entity),
    /// An entity disappeared (for a topic: a publisher or subscription unmatched).
    Left(Entity),
    /// This many events were lost because the receiver fell behind the bounded channel.
    Missed(u64),
}

impl GraphEvent {
    /// The entity that joined or left.
    pub fn entity(&self) -> Option<&Entity> {
        match self {
            Self::Joined(e) | Self::Left(e) => Some(e),
            Self::Missed(_) => None,
        }
    }
}

/// Joins and leaves of graph entities (of one topic, or all), from [`Node::graph_events`]:
/// first a [`GraphEvent::Joined`] for each entity already in the view, then every change.
///
/// Changes wait in a bounded channel of [`GRAPH_EVENT_CAPACITY`] events; a receiver that
/// falls behind gets a [`GraphEvent::Missed`] with the count, and [`missed`](Self::missed)
/// adds them up.
#[derive(Debug)]
pub struct GraphEvents {
    replay: VecDeque<Entity>,
    receiver: broadcast::Receiver<GraphEvent>,
    topic: Option<String>,
    missed: u64,
}

impl GraphEvents {
    /// The next event; `None` once the node's graph view is gone.
    pub async fn recv(&mut self) -> Option<GraphEvent> {
        if let Some(entity) = self.replay.pop_front() {
            return Some(GraphEvent::Joined(entity));
        }
        loop {
            match self.receiver.recv().await {
                Ok(event) => {
                    if event.entity().is_some_and(|e| self.wanted(e)) {
                        return Some(event);
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    self.missed += n;
                    return Some(GraphEvent::Missed(n));
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// How many events this receiver missed by falling behind.
    pub fn missed(&self) -> u64 {
        self.missed
    }

    fn wanted(&self, entity: &Entity) -> bool {
        match &self.topic {
            None => true,
            Some(topic) => entity.topic.as_ref().is_some_and(|t| &t.name == topic),
        }
    }
}

impl Node {
    /// Every topic with a publisher or subscription in the graph (this node's included), with
    /// its types, sorted; the first graph request waits up to [`GRAPH_SETTLE_TIMEOUT`].
    pub async fn topic_names_and_types(&self) -> Result<BTreeMap<String, Vec<String>>> {
        let mut topics: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for entity in self.graph(GRAPH_SETTLE_TIMEOUT).await? {
            if !matches!(entity.kind, EntityKind::Publisher | EntityKind::Subscriber) {
                continue;
            }
            if let Some(topic) = entity.topic {
                topics
                    .entry(topic.name)
                    .or_default()
                    .insert(topic.type_name);
            }
        }
        Ok(topics
            .into_iter()
            .map(|(name, types)| (name, types.into_iter().collect()))
            .collect())
    }

    /// The publishers of `topic` (resolved against this node), as rclcpp's
    /// `get_publishers_info_by_topic`.
    pub async fn publishers_info(&self, topic: &str) -> Result<Vec<EndpointInfo>> {
        self.endpoints_info(EntityKind::Publisher, topic).await
    }

    /// The subscriptions of `topic` (resolved against this node), as rclcpp's
    /// `get_subscriptions_info_by_topic`.
    pub async fn subscriptions_info(&self, topic: &str) -> Result<Vec<EndpointInfo>> {
        self.endpoints_info(EntityKind::Subscriber, topic).await
    }

    async fn endpoints_info(&self, kind: EntityKind, topic: &str) -> Result<Vec<EndpointInfo>> {
        let topic = self.resolve_topic(topic)?;
        Ok(self
            .graph(GRAPH_SETTLE_TIMEOUT)
            .await?
            .iter()
            .filter(|e| e.kind == kind && on_topic(e, &topic))
            .filter_map(EndpointInfo::from_entity)
            .collect())
    }

    /// Waits until `topic` has at least `count` publishers (this node's included) or `timeout`
    /// passes; returns whether it has.
    pub async fn wait_for_publishers(
        &self,
        topic: &str,
        count: usize,
        timeout: Duration,
    ) -> Result<bool> {
        self.wait_for_endpoints(EntityKind::Publisher, topic, count, timeout)
            .await
    }

    /// Waits until `topic` has at least `count` subscriptions (this node's included) or
    /// `timeout` passes; returns whether it has.
    pub async fn wait_for_subscriptions(
        &self,
        topic: &str,
        count: usize,
        timeout: Duration,
    ) -> Result<bool> {
        self.wait_for_endpoints(EntityKind::Subscriber, topic, count, timeout)
            .await
    }

    async fn wait_for_endpoints(
        &self,
        kind: EntityKind,
        topic: &str,
        count: usize,
        timeout: Duration,
    ) -> Result<bool> {
        let topic = self.resolve_topic(topic)?;
        let view = self.graph_view().await?;
        let mut changes = view.watch();
        // No deadline past the end of the clock: Instant + Duration::MAX would panic.
        let deadline = tokio::time::Instant::now().checked_add(timeout);
        loop {
            changes.borrow_and_update();
            let found = view
                .current()
                .iter()
                .filter(|e| e.kind == kind && on_topic(e, &topic))
                .count();
            if found >= count {
                return Ok(true);
            }
            let changed = changes.changed();
            let outcome = match deadline {
                Some(deadline) => tokio::time::timeout_at(deadline, changed).await.ok(),
                None => Some(changed.await),
            };
            // A timeout, or the view gone (it lives as long as the node, so not expected).
            if !matches!(outcome, Some(Ok(()))) {
                return Ok(false);
            }
        }
    }

    /// Joins and leaves of graph entities: of `topic`'s publishers and subscriptions
    /// (resolved against this node), or of every entity for `None`. Starts with the entities
    /// already in the view, this node's own included.
    pub async fn graph_events(&self, topic: Option<&str>) -> Result<GraphEvents> {
        let topic = topic.map(|t| self.resolve_topic(t)).transpose()?;
        let (snapshot, receiver) = self.graph_view().await?.snapshot_and_events();
        let mut events = GraphEvents {
            replay: VecDeque::new(),
            receiver,
            topic,
            missed: 0,
        };
        let mut snapshot: Vec<Entity> = snapshot.into_iter().filter(|e| events.wanted(e)).collect();
        snapshot.sort();
        events.replay = snapshot.into();
        Ok(events)
    }
}

fn on_topic(entity: &Entity, topic: &str) -> bool {
    entity.topic.as_ref().is_some_and(|t| t.name == topic)
}
