//! [`QosWatch`]: warns, once per pair, when a publisher or subscription of this node sees in
//! the graph an endpoint of its topic whose QoS is incompatible with its own (by ROS 2's rules,
//! [`qos::compatibility`](super::qos::compatibility)), as ROS 2 nodes do. A subscription's
//! watch also warns, once per publisher, about publishers on its topic with another type name
//! or type hash, and counts them: a subscription listens on its own type's key expression (as
//! rmw_zenoh), so their samples never reach it.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::graph::{Entity, EntityKind};
use super::graph_api::GraphEvent;
use super::qos::compatibility;
use super::Node;

/// The background task of one endpoint's watch; it ends when the watch is dropped.
pub(crate) struct QosWatch(tokio::task::JoinHandle<()>);

impl Drop for QosWatch {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl QosWatch {
    /// Starts watching the graph for endpoints incompatible with `own` (a publisher or
    /// subscriber entity of `node`); `None` outside a tokio runtime or for other entities.
    /// Publishers of another type are counted in `type_mismatches`, if given (a subscriber's).
    pub(crate) fn start(
        node: &Node,
        own: &Entity,
        type_mismatches: Option<Arc<AtomicU64>>,
    ) -> Option<Self> {
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        let peer_kind = match own.kind {
            EntityKind::Publisher => EntityKind::Subscriber,
            EntityKind::Subscriber => EntityKind::Publisher,
            _ => return None,
        };
        let topic = own.topic.clone()?;
        let own_qos = topic.qos_profile().ok()?;
        let (node, own_token) = (node.clone(), own.token());
        Some(Self(runtime.spawn(async move {
            let mut events = match node.graph_events(Some(&topic.name)).await {
                Ok(events) => events,
                Err(e) => {
                    tracing::debug!(topic = %topic.name, "no QoS check: {e}");
                    return;
                }
            };
            // Peers already warned about, by token; a peer that leaves is forgotten, so the set
            // holds at most the topic's endpoints.
            let mut warned: HashSet<String> = HashSet::new();
            while let Some(event) = events.recv().await {
                let peer = match event {
                    GraphEvent::Joined(peer) => peer,
                    GraphEvent::Left(peer) => {
                        warned.remove(&peer.token());
                        continue;
                    }
                    GraphEvent::Missed(n) => {
                        tracing::debug!(topic = %topic.name, "QoS check missed {n} graph events");
                        continue;
                    }
                };
                let token = peer.token();
                if peer.kind != peer_kind || token == own_token || warned.contains(&token) {
                    continue;
                }
                if let (Some(count), Some(theirs)) = (&type_mismatches, &peer.topic) {
                    if (&theirs.type_name, &theirs.type_hash)
                        != (&topic.type_name, &topic.type_hash)
                    {
                        warned.insert(token);
                        count.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(
                            "subscription on {} of type {} ({}): publisher of node {} has type \
                             {} ({}); its messages do not reach this subscription",
                            topic.name,
                            topic.type_name,
                            topic.type_hash,
                            peer.node_fqn(),
                            theirs.type_name,
                            theirs.type_hash
                        );
                        continue;
                    }
                }
                let Some(Ok(peer_qos)) = peer.topic.as_ref().map(|t| t.qos_profile()) else {
                    continue;
                };
                let (offered, requested) = if peer_kind == EntityKind::Subscriber {
                    (own_qos, peer_qos)
                } else {
                    (peer_qos, own_qos)
                };
                let Err(policy) = compatibility(&offered, &requested) else {
                    continue;
                };
                warned.insert(token);
                let peer_node = peer.node_fqn();
                if peer_kind == EntityKind::Subscriber {
                    tracing::warn!(
                        "publisher on {}: subscription of node {peer_node} requests incompatible \
                         QoS: {policy}; ROS 2 does not match them, so it may get no messages",
                        topic.name
                    );
                } else {
                    tracing::warn!(
                        "subscription on {}: publisher of node {peer_node} offers incompatible \
                         QoS: {policy}; ROS 2 does not match them, so its messages may not arrive",
                        topic.name
                    );
                }
            }
        })))
    }
}
