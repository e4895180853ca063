//! [`GraphView`]: a node's live view of the ROS graph, kept by a liveliness subscriber with
//! history, so graph answers do not depend on when a one-shot query reaches a router.
//!
//! A view starts with the first graph request of a node and lives as long as the node: tokens
//! the network declares are added and withdrawn tokens removed, so it holds at most what the
//! network announces, and it follows publishers that start or stop later.
//!
//! Through a router the view fills in steps: the router link comes up, the router tells the
//! node of the other peers (gossip), the node links to them and they send their tokens. The
//! first request therefore *settles* the view: it waits until the session has a router or peer
//! link and neither its links nor the view changed for [`QUIET`], at most for the request's
//! timeout. Later requests answer from the view at once.
//!
//! Every change is also sent as a [`GraphEvent`] on a bounded broadcast channel
//! ([`GRAPH_EVENT_CAPACITY`]); a receiver that falls behind is told how many it missed.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{broadcast, watch, OnceCell};
use tokio::time::Instant;
use zenoh::sample::SampleKind;

use super::graph::{Entity, LIVELINESS_PREFIX};
use super::graph_api::{GraphEvent, GRAPH_EVENT_CAPACITY};
use crate::error::{Error, Result};
use crate::lock::lock;

/// How long the links and the view must stay unchanged before the first answer.
pub(crate) const QUIET: Duration = Duration::from_millis(200);

/// How often settling looks at the links and the view.
const POLL: Duration = Duration::from_millis(10);

/// A node's live view of one domain's graph; see the [module docs](self).
pub(crate) struct GraphView {
    /// Every live entity, by its token.
    entities: Arc<Mutex<HashMap<String, Entity>>>,
    /// Counts changes to `entities`.
    changes: watch::Sender<u64>,
    /// Each change as an event, sent while `entities` is locked.
    events: broadcast::Sender<GraphEvent>,
    settled: OnceCell<()>,
    _subscriber: zenoh::pubsub::Subscriber<()>,
}

impl GraphView {
    /// Subscribes to the graph tokens of `domain_id`, the ones already declared included.
    pub(crate) async fn start(session: &zenoh::Session, domain_id: u32) -> Result<Self> {
        let entities = Arc::new(Mutex::new(HashMap::new()));
        let changes = watch::Sender::new(0u64);
        let (events, _) = broadcast::channel(GRAPH_EVENT_CAPACITY);
        let (sink, counter, sender) = (entities.clone(), changes.clone(), events.clone());
        let subscriber = session
            .liveliness()
            .declare_subscriber(format!("{LIVELINESS_PREFIX}/{domain_id}/**"))
            .history(true)
            .callback(move |sample| {
                let token = sample.key_expr().as_str();
                let mut entities = lock(&sink);
                if let Some(event) = apply(&mut entities, token, sample.kind()) {
                    // No receiver is fine: nobody asked for events.
                    let _ = sender.send(event);
                }
                drop(entities);
                counter.send_modify(|n| *n = n.wrapping_add(1));
            })
            .await
            .map_err(|e| Error::zenoh("cannot subscribe to the graph", e))?;
        Ok(Self {
            entities,
            changes,
            events,
            settled: OnceCell::new(),
            _subscriber: subscriber,
        })
    }

    /// Every entity in the view, sorted; the first call settles the view, waiting at most
    /// `timeout`.
    pub(crate) async fn entities(
        &self,
        session: &zenoh::Session,
        timeout: Duration,
    ) -> Vec<Entity> {
        self.settled
            .get_or_init(|| self.settle(session, timeout))
            .await;
        let mut entities: Vec<Entity> = lock(&self.entities).values().cloned().collect();
        entities.sort();
        entities
    }

    /// Every entity in the view now, unsorted and without settling, and a receiver of every
    /// change after that snapshot.
    pub(crate) fn snapshot_and_events(&self) -> (Vec<Entity>, broadcast::Receiver<GraphEvent>) {
        let entities = lock(&self.entities);
        let receiver = self.events.subscribe();
        (entities.values().cloned().collect(), receiver)
    }

    /// A receiver that sees every later change of the view.
    pub(crate) fn watch(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Every entity in the view now, without settling.
    pub(crate) fn current(&self) -> Vec<Entity> {
        lock(&self.entities).values().cloned().collect()
    }

    /// Waits until the view changes (a token declared or withdrawn).
    pub(crate) async fn changed(&self) {
        let mut changes = self.changes.subscribe();
        // The sender lives as long as `self`, so this returns only on a change.
        let _ = changes.changed().await;
    }

    /// Waits until the session has a link and its links and the view were unchanged for
    /// [`QUIET`], or until `timeout` passed.
    async fn settle(&self, session: &zenoh::Session, timeout: Duration) {
        let start = Instant::now();
        let deadline = start + timeout;
        let mut seen = (links(session).await, *self.changes.borrow());
        let mut last_change = start;
        loop {
            let now = Instant::now();
            if !seen.0.is_empty() && now.duration_since(last_change) >= QUIET {
                break;
            }
            if now >= deadline {
                if seen.0.is_empty() {
                    tracing::debug!("graph view: no router or peer link within {timeout:?}");
                } else {
                    tracing::debug!("graph view: still changing after {timeout:?}");
                }
                break;
            }
            tokio::time::sleep(POLL.min(deadline - now)).await;
            let now_seen = (links(session).await, *self.changes.borrow());
            if now_seen != seen {
                seen = now_seen;
                last_change = Instant::now();
            }
        }
        tracing::debug!(
            links = seen.0.len(),
            entities = lock(&self.entities).len(),
            waited = ?start.elapsed(),
            "graph view settled"
        );
    }
}

/// Adds the entity of a declared token, or removes a withdrawn one; the event, if the view
/// changed.
fn apply(
    entities: &mut HashMap<String, Entity>,
    token: &str,
    kind: SampleKind,
) -> Option<GraphEvent> {
    match kind {
        SampleKind::Put => match Entity::parse(token) {
            Some(entity) => entities
                .insert(token.to_string(), entity.clone())
                .is_none()
                .then_some(GraphEvent::Joined(entity)),
            None => {
                tracing::debug!("ignoring liveliness token {token}");
                None
            }
        },
        SampleKind::Delete => entities.remove(token).map(GraphEvent::Left),
    }
}

/// The zenoh ids of the session's routers and peers.
async fn links(session: &zenoh::Session) -> BTreeSet<String> {
    let info = session.info();
    let routers = info.routers_zid().await;
    let peers = info.peers_zid().await;
    routers.chain(peers).map(|zid| zid.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_added_and_withdrawn() {
        let token = "@ros2_lv/0/8b20917502ee955ac4476e0266340d5c/0/0/NN/%/%/talker";
        let mut entities = HashMap::new();
        let joined = apply(&mut entities, token, SampleKind::Put);
        assert!(matches!(joined, Some(GraphEvent::Joined(e)) if e.node_name == "talker"));
        assert_eq!(apply(&mut entities, token, SampleKind::Put), None);
        assert_eq!(
            apply(&mut entities, "@ros2_lv/0/not/a/token", SampleKind::Put),
            None
        );
        assert_eq!(entities.len(), 1);
        assert_eq!(entities[token].node_name, "talker");
        let left = apply(&mut entities, token, SampleKind::Delete);
        assert!(matches!(left, Some(GraphEvent::Left(e)) if e.node_name == "talker"));
        assert_eq!(apply(&mut entities, token, SampleKind::Delete), None);
        assert!(entities.is_empty());
    }
}
