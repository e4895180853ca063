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

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{watch, OnceCell};
use tokio::time::Instant;
use zenoh::sample::SampleKind;

use super::graph::{Entity, LIVELINESS_PREFIX};
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
    settled: OnceCell<()>,
    _subscriber: zenoh::pubsub::Subscriber<()>,
}

impl GraphView {
    /// Subscribes to the graph tokens of `domain_id`, the ones already declared included.
    pub(crate) async fn start(session: &zenoh::Session, domain_id: u32) -> Result<Self> {
        let entities = Arc::new(Mutex::new(HashMap::new()));
        let changes = watch::Sender::new(0u64);
        let (sink, counter) = (entities.clone(), changes.clone());
        let subscriber = session
            .liveliness()
            .declare_subscriber(format!("{LIVELINESS_PREFIX}/{domain_id}/**"))
            .history(true)
            .callback(move |sample| {
                let token = sample.key_expr().as_str();
                apply(&mut lock(&sink), token, sample.kind());
                counter.send_modify(|n| *n = n.wrapping_add(1));
            })
            .await
            .map_err(|e| Error::zenoh("cannot subscribe to the graph", e))?;
        Ok(Self {
            entities,
            changes,
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

/// Adds the entity of a declared token, or removes a withdrawn one.
fn apply(entities: &mut HashMap<String, Entity>, token: &str, kind: SampleKind) {
    match kind {
        SampleKind::Put => match Entity::parse(token) {
            Some(entity) => {
                entities.insert(token.to_string(), entity);
            }
            None => tracing::debug!("ignoring liveliness token {token}"),
        },
        SampleKind::Delete => {
            entities.remove(token);
        }
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
        apply(&mut entities, token, SampleKind::Put);
        apply(&mut entities, token, SampleKind::Put);
        apply(&mut entities, "@ros2_lv/0/not/a/token", SampleKind::Put);
        assert_eq!(entities.len(), 1);
        assert_eq!(entities[token].node_name, "talker");
        apply(&mut entities, token, SampleKind::Delete);
        assert!(entities.is_empty());
    }
}
