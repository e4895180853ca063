//! Typed subscribers with a bounded queue, read by `recv`, as a stream, or by a callback.

use std::collections::VecDeque;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::Stream;
use tokio::sync::Notify;
use zenoh::sample::Sample;

use super::attachment::Attachment;
use super::graph::{
    qos_string, split_topic_key_expr, topic_key_expr_any_type, EntityKind, TopicInfo,
};
use super::Node;
use crate::cdr;
use crate::error::{Error, Result};
use crate::msg::Message;

/// What a subscriber has seen so far; every sample that is not delivered is counted here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SubscriberStats {
    /// Samples of the right type that arrived.
    pub received: u64,
    /// Messages handed to the application.
    pub delivered: u64,
    /// Oldest samples dropped because the queue was full.
    pub dropped_queue_full: u64,
    /// Samples whose payload failed to decode.
    pub decode_errors: u64,
    /// Samples on the topic with another type or type hash.
    pub type_mismatches: u64,
    /// Samples whose attachment was present but malformed.
    pub bad_attachments: u64,
}

/// Metadata of a received message, from rmw_zenoh's attachment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageInfo {
    /// The publisher's attachment, if the sample carried one (plain zenoh publishers do not).
    pub attachment: Option<Attachment>,
    /// When the sample reached this subscriber, ns since the Unix epoch.
    pub received_timestamp: i64,
}

#[derive(Default)]
struct Counters {
    received: AtomicU64,
    delivered: AtomicU64,
    dropped_queue_full: AtomicU64,
    decode_errors: AtomicU64,
    type_mismatches: AtomicU64,
    bad_attachments: AtomicU64,
}

/// Logs the first problem of a burst and counts the rest until the burst is over.
struct BurstLog {
    state: Mutex<(Option<Instant>, u64)>,
}

const BURST_QUIET: Duration = Duration::from_secs(5);

impl BurstLog {
    fn new() -> Self {
        Self {
            state: Mutex::new((None, 0)),
        }
    }

    fn warn(&self, topic: &str, what: &str) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let now = Instant::now();
        match state.0 {
            Some(last) if now.duration_since(last) < BURST_QUIET => state.1 += 1,
            _ => {
                let suppressed = std::mem::take(&mut state.1);
                if suppressed > 0 {
                    tracing::warn!(%topic, "{what} ({suppressed} more since the last warning)");
                } else {
                    tracing::warn!(%topic, "{what}");
                }
                state.0 = Some(now);
            }
        }
    }
}

struct Shared {
    topic: String,
    type_hash: &'static str,
    type_name: &'static str,
    queue: Mutex<VecDeque<(Sample, i64)>>,
    capacity: usize,
    notify: Notify,
    counters: Counters,
    log: BurstLog,
}

impl Shared {
    /// Runs on zenoh's receive thread: filter by type, queue, drop the oldest on overflow.
    fn on_sample(&self, sample: Sample) {
        let key = sample.key_expr().as_str();
        let matches = match split_topic_key_expr(key) {
            Some((type_name, hash)) => type_name == self.type_name && hash == self.type_hash,
            None => false,
        };
        if !matches {
            self.counters
                .type_mismatches
                .fetch_add(1, Ordering::Relaxed);
            self.log.warn(
                &self.topic,
                &format!(
                    "ignoring sample on {key}: expected type {} with hash {}",
                    self.type_name, self.type_hash
                ),
            );
            return;
        }
        self.counters.received.fetch_add(1, Ordering::Relaxed);
        let received_at = crate::time::now_nanos();
        let Ok(mut queue) = self.queue.lock() else {
            return;
        };
        if queue.len() >= self.capacity {
            queue.pop_front();
            self.counters
                .dropped_queue_full
                .fetch_add(1, Ordering::Relaxed);
        }
        queue.push_back((sample, received_at));
        drop(queue);
        self.notify.notify_one();
    }

    fn pop(&self) -> Option<(Sample, i64)> {
        self.queue.lock().ok()?.pop_front()
    }

    /// Decodes one queued sample, counting (not returning) failures.
    fn decode<T: Message>(&self, sample: &Sample, received_at: i64) -> Option<(T, MessageInfo)> {
        let attachment = match sample.attachment() {
            None => None,
            Some(bytes) => match Attachment::from_bytes(&bytes.to_bytes()) {
                Ok(a) => Some(a),
                Err(e) => {
                    self.counters
                        .bad_attachments
                        .fetch_add(1, Ordering::Relaxed);
                    self.log.warn(&self.topic, &format!("dropping sample: {e}"));
                    return None;
                }
            },
        };
        match cdr::decode::<T>(&sample.payload().to_bytes()) {
            Ok(msg) => {
                self.counters.delivered.fetch_add(1, Ordering::Relaxed);
                let info = MessageInfo {
                    attachment,
                    received_timestamp: received_at,
                };
                Some((msg, info))
            }
            Err(e) => {
                self.counters.decode_errors.fetch_add(1, Ordering::Relaxed);
                self.log.warn(
                    &self.topic,
                    &format!("dropping undecodable {} payload: {e}", self.type_name),
                );
                None
            }
        }
    }

    fn stats(&self) -> SubscriberStats {
        let c = &self.counters;
        SubscriberStats {
            received: c.received.load(Ordering::Relaxed),
            delivered: c.delivered.load(Ordering::Relaxed),
            dropped_queue_full: c.dropped_queue_full.load(Ordering::Relaxed),
            decode_errors: c.decode_errors.load(Ordering::Relaxed),
            type_mismatches: c.type_mismatches.load(Ordering::Relaxed),
            bad_attachments: c.bad_attachments.load(Ordering::Relaxed),
        }
    }
}

/// Configures a [`Subscriber`]; `.await` it to declare the subscriber.
#[must_use = "a subscriber builder does nothing until awaited"]
pub struct SubscriberBuilder<T> {
    node: Node,
    topic: String,
    queue_size: usize,
    _type: PhantomData<fn() -> T>,
}

impl<T: Message> SubscriberBuilder<T> {
    pub(crate) fn new(node: Node, topic: &str) -> Self {
        Self {
            node,
            topic: topic.to_string(),
            queue_size: 10,
            _type: PhantomData,
        }
    }

    /// How many received messages are kept before the oldest is dropped (default 10, min 1).
    pub fn queue_size(mut self, queue_size: usize) -> Self {
        self.queue_size = queue_size.max(1);
        self
    }

    /// Delivers every message to `callback` on a tokio task instead of through `recv`.
    pub fn callback<F>(self, callback: F) -> CallbackSubscriberBuilder<T, F>
    where
        F: FnMut(T) + Send + 'static,
    {
        CallbackSubscriberBuilder {
            inner: self,
            callback,
        }
    }

    async fn declare(self) -> Result<Subscriber<T>> {
        let topic = self.node.resolve_topic(&self.topic)?;
        let shared = Arc::new(Shared {
            topic: topic.clone(),
            type_hash: T::TYPE_HASH,
            type_name: T::TYPE_NAME,
            queue: Mutex::new(VecDeque::with_capacity(self.queue_size.min(1024))),
            capacity: self.queue_size,
            notify: Notify::new(),
            counters: Counters::default(),
            log: BurstLog::new(),
        });
        // Subscribe to every type on the topic so mismatched types are seen and counted.
        let key = topic_key_expr_any_type(self.node.domain_id(), &topic);
        let on_sample = Arc::clone(&shared);
        let subscriber = self
            .node
            .session()
            .declare_subscriber(key)
            .callback(move |sample| on_sample.on_sample(sample))
            .await
            .map_err(|e| Error::zenoh(&format!("cannot subscribe to {topic}"), e))?;
        let entity = self.node.entity_for(
            EntityKind::Subscriber,
            TopicInfo {
                name: topic.clone(),
                type_name: T::TYPE_NAME.to_string(),
                type_hash: T::TYPE_HASH.to_string(),
                qos: qos_string(self.queue_size),
            },
        );
        let token = self
            .node
            .session()
            .liveliness()
            .declare_token(entity.token())
            .await
            .map_err(|e| Error::zenoh(&format!("cannot announce subscriber on {topic}"), e))?;
        tracing::debug!(%topic, "subscriber declared");
        Ok(Subscriber {
            shared,
            _subscriber: subscriber,
            _token: token,
            _node: self.node,
            _type: PhantomData,
        })
    }
}

impl<T: Message> IntoFuture for SubscriberBuilder<T> {
    type Output = Result<Subscriber<T>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.declare())
    }
}

/// Receives messages of type `T` from one topic through a bounded queue.
pub struct Subscriber<T> {
    shared: Arc<Shared>,
    _subscriber: zenoh::pubsub::Subscriber<()>,
    _token: zenoh::liveliness::LivelinessToken,
    _node: Node,
    _type: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for Subscriber<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber")
            .field("topic", &self.shared.topic)
            .field("type", &self.shared.type_name)
            .finish()
    }
}

impl<T: Message> Subscriber<T> {
    /// Waits for the next message. Returns `None` only if the subscriber can no longer receive.
    pub async fn recv(&self) -> Option<T> {
        self.recv_with_info().await.map(|(msg, _)| msg)
    }

    /// Waits for the next message and its metadata.
    pub async fn recv_with_info(&self) -> Option<(T, MessageInfo)> {
        loop {
            if let Some(item) = self.try_recv_with_info() {
                return Some(item);
            }
            self.shared.notify.notified().await;
        }
    }

    /// Takes the next queued message without waiting.
    pub fn try_recv(&self) -> Option<T> {
        self.try_recv_with_info().map(|(msg, _)| msg)
    }

    /// Takes the next queued message and its metadata without waiting.
    pub fn try_recv_with_info(&self) -> Option<(T, MessageInfo)> {
        while let Some((sample, received_at)) = self.shared.pop() {
            if let Some(item) = self.shared.decode::<T>(&sample, received_at) {
                return Some(item);
            }
        }
        None
    }

    /// The messages as an async stream.
    pub fn stream(&self) -> impl Stream<Item = T> + '_ {
        futures::stream::unfold(
            self,
            |sub| async move { sub.recv().await.map(|m| (m, sub)) },
        )
    }

    /// Counters of received, delivered and dropped samples.
    pub fn stats(&self) -> SubscriberStats {
        self.shared.stats()
    }

    /// The fully qualified topic name.
    pub fn topic(&self) -> &str {
        &self.shared.topic
    }
}

/// Configures a [`CallbackSubscriber`]; `.await` it to declare the subscriber.
#[must_use = "a subscriber builder does nothing until awaited"]
pub struct CallbackSubscriberBuilder<T, F> {
    inner: SubscriberBuilder<T>,
    callback: F,
}

impl<T: Message, F: FnMut(T) + Send + 'static> IntoFuture for CallbackSubscriberBuilder<T, F> {
    type Output = Result<CallbackSubscriber<T>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let mut callback = self.callback;
            let subscriber = Arc::new(self.inner.declare().await?);
            let reader = Arc::clone(&subscriber);
            let task = tokio::spawn(async move {
                while let Some(msg) = reader.recv().await {
                    callback(msg);
                }
            });
            Ok(CallbackSubscriber { subscriber, task })
        })
    }
}

/// A subscriber that hands every message to a callback; dropping it unsubscribes.
pub struct CallbackSubscriber<T: Message> {
    subscriber: Arc<Subscriber<T>>,
    task: tokio::task::JoinHandle<()>,
}

impl<T: Message> CallbackSubscriber<T> {
    /// Counters of received, delivered and dropped samples.
    pub fn stats(&self) -> SubscriberStats {
        self.subscriber.stats()
    }

    /// The fully qualified topic name.
    pub fn topic(&self) -> &str {
        self.subscriber.topic()
    }
}

impl<T: Message> Drop for CallbackSubscriber<T> {
    fn drop(&mut self) {
        self.task.abort();
    }
}
