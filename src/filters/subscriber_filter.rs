//! [`SubscriberFilter`]: a topic subscription as the source of a filter graph.

use std::fmt;
use std::sync::Arc;

use super::signal::Signal;
use super::traits::Filter;
use crate::error::Result;
use crate::msg::Message;
use crate::node::{Node, Subscriber, SubscriberStats};

struct Shared<M> {
    signal: Signal<M>,
    subscriber: Subscriber<M>,
}

/// Subscribes to a topic and emits every received message, as an `Arc`, to what is connected.
///
/// Messages are emitted from a tokio task, one at a time in arrival order; the task and the
/// subscription end when the filter is dropped.
pub struct SubscriberFilter<M: Message> {
    shared: Arc<Shared<M>>,
    task: tokio::task::JoinHandle<()>,
}

impl<M: Message> SubscriberFilter<M> {
    /// Subscribes `node` to `topic`, keeping up to `queue_size` messages (at least 1) not yet emitted.
    ///
    /// Must be called inside a tokio runtime (it spawns the task that emits).
    pub async fn new(node: &Node, topic: &str, queue_size: usize) -> Result<Self> {
        let subscriber = node.subscriber::<M>(topic).queue_size(queue_size).await?;
        let shared = Arc::new(Shared {
            signal: Signal::new(),
            subscriber,
        });
        let reader = Arc::clone(&shared);
        let task = tokio::spawn(async move {
            while let Some(msg) = reader.subscriber.recv().await {
                reader.signal.emit(&Arc::new(msg));
            }
        });
        Ok(Self { shared, task })
    }

    /// The subscriber's counters of received, delivered and dropped messages, and of messages
    /// lost on the way (gaps in the publishers' sequence numbers).
    pub fn stats(&self) -> SubscriberStats {
        self.shared.subscriber.stats()
    }
}

impl<M: Message> Drop for SubscriberFilter<M> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl<M: Message> fmt::Debug for SubscriberFilter<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubscriberFilter")
            .field("topic", &self.shared.subscriber.topic())
            .field("signal", &self.shared.signal)
            .finish()
    }
}

impl<M: Message> Filter<M> for SubscriberFilter<M> {
    fn signal(&self) -> &Signal<M> {
        &self.shared.signal
    }
}
