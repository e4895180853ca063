//! Publishers: [`RawPublisher`] puts CDR payloads of a named type; [`Publisher<T>`] encodes `T`.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use super::attachment::Attachment;
use super::buffer_pool::{BufferPool, POOL_MIN_PAYLOAD};
use super::graph::{gid_from_token, qos_string, topic_key_expr, EntityKind, TopicInfo};
use super::qos_watch::QosWatch;
use super::Node;
use crate::cdr;
use crate::error::{Error, Result};
use crate::msg::Message;

/// Configures a [`RawPublisher`]; `.await` it to declare the publisher.
#[must_use = "a publisher builder does nothing until awaited"]
pub struct RawPublisherBuilder {
    node: Node,
    topic: String,
    type_name: String,
    type_hash: String,
    depth: usize,
    block_when_congested: bool,
}

impl RawPublisherBuilder {
    pub(crate) fn new(node: Node, topic: &str, type_name: &str, type_hash: &str) -> Self {
        Self {
            node,
            topic: topic.to_string(),
            type_name: type_name.to_string(),
            type_hash: type_hash.to_string(),
            depth: 10,
            block_when_congested: false,
        }
    }

    /// The history depth announced in the QoS (default 10, as `rclcpp::QoS(10)`).
    pub fn depth(mut self, depth: usize) -> Self {
        self.depth = depth.max(1);
        self
    }

    /// Block `publish` when the network is congested instead of dropping (rmw_zenoh's
    /// behaviour for reliable keep-all publishers; the default drops, as for keep-last).
    pub fn block_when_congested(mut self, block: bool) -> Self {
        self.block_when_congested = block;
        self
    }

    async fn declare(self) -> Result<RawPublisher> {
        let topic = self.node.resolve_topic(&self.topic)?;
        if crate::msg::dds_type_name(&self.type_name).is_none() {
            return Err(Error::UnknownType(self.type_name));
        }
        let key = topic_key_expr(
            self.node.domain_id(),
            &topic,
            &self.type_name,
            &self.type_hash,
        );
        let congestion = if self.block_when_congested {
            zenoh::qos::CongestionControl::Block
        } else {
            zenoh::qos::CongestionControl::Drop
        };
        let publisher = self
            .node
            .session()
            .declare_publisher(key.clone())
            .congestion_control(congestion)
            .await
            .map_err(|e| Error::zenoh(&format!("cannot declare publisher on {topic}"), e))?;
        let entity = self.node.entity_for(
            EntityKind::Publisher,
            TopicInfo {
                name: topic.clone(),
                type_name: self.type_name,
                type_hash: self.type_hash,
                qos: qos_string(self.depth),
            },
        );
        let token_key = entity.token();
        let token = self
            .node
            .session()
            .liveliness()
            .declare_token(token_key.clone())
            .await
            .map_err(|e| Error::zenoh(&format!("cannot announce publisher on {topic}"), e))?;
        tracing::debug!(%topic, %key, "publisher declared");
        let qos_watch = QosWatch::start(&self.node, &entity);
        Ok(RawPublisher {
            publisher,
            topic,
            key,
            gid: gid_from_token(&token_key),
            sequence: AtomicI64::new(0),
            buffers: Arc::default(),
            _token: token,
            _qos_watch: qos_watch,
            _node: self.node,
        })
    }
}

impl IntoFuture for RawPublisherBuilder {
    type Output = Result<RawPublisher>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.declare())
    }
}

/// Publishes already encoded CDR payloads of one type on one topic, with rmw_zenoh attachments.
pub struct RawPublisher {
    publisher: zenoh::pubsub::Publisher<'static>,
    topic: String,
    key: String,
    gid: [u8; 16],
    sequence: AtomicI64,
    buffers: Arc<BufferPool>,
    _token: zenoh::liveliness::LivelinessToken,
    /// Warns about subscriptions with incompatible QoS.
    _qos_watch: Option<QosWatch>,
    _node: Node,
}

impl std::fmt::Debug for RawPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawPublisher")
            .field("topic", &self.topic)
            .field("key", &self.key)
            .finish()
    }
}

impl RawPublisher {
    /// Publishes a CDR payload (encapsulation header included), handing the buffer to zenoh.
    pub async fn publish_payload(&self, payload: Vec<u8>) -> Result<()> {
        self.put(zenoh::bytes::ZBytes::from(payload)).await
    }

    /// Publishes a shared CDR payload (such as a message read from a log) without copying it.
    pub async fn publish_bytes(&self, payload: bytes::Bytes) -> Result<()> {
        self.put(zenoh::bytes::ZBytes::from(payload)).await
    }

    /// Encodes `msg`, into a reused buffer when it is large.
    fn encode<T: Message>(&self, msg: &T) -> Result<zenoh::bytes::ZBytes> {
        let len = cdr::encoded_len(msg);
        if len < POOL_MIN_PAYLOAD {
            return Ok(cdr::encode(msg)?.into());
        }
        let mut buf = self.buffers.take(len);
        cdr::encode_into(msg, &mut buf)?;
        Ok(self.buffers.share(buf))
    }

    async fn put(&self, payload: zenoh::bytes::ZBytes) -> Result<()> {
        self.put_builder(payload)
            .await
            .map_err(|e| Error::zenoh(&format!("publish on {} failed", self.topic), e))
    }

    /// The same without `.await`, for synchronous code such as synchronizer callbacks.
    fn put_now(&self, payload: zenoh::bytes::ZBytes) -> Result<()> {
        use zenoh::Wait;
        self.put_builder(payload)
            .wait()
            .map_err(|e| Error::zenoh(&format!("publish on {} failed", self.topic), e))
    }

    fn put_builder(&self, payload: zenoh::bytes::ZBytes) -> zenoh::pubsub::PublisherPutBuilder<'_> {
        let attachment = Attachment {
            sequence_number: self.sequence.fetch_add(1, Ordering::Relaxed) + 1,
            source_timestamp: crate::time::now_nanos(),
            gid: self.gid,
        };
        self.publisher
            .put(payload)
            .attachment(attachment.to_bytes().to_vec())
    }

    /// Whether at least one subscriber currently matches this publisher's key expression.
    pub async fn has_subscribers(&self) -> bool {
        self.publisher
            .matching_status()
            .await
            .map(|status| status.matching())
            .unwrap_or(false)
    }

    /// Waits until a subscriber matches, or `timeout` passes; returns whether one matched.
    pub async fn wait_for_subscribers(&self, timeout: std::time::Duration) -> bool {
        // No deadline past the end of the clock: Instant + Duration::MAX would panic.
        let deadline = tokio::time::Instant::now().checked_add(timeout);
        loop {
            if self.has_subscribers().await {
                return true;
            }
            if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// The fully qualified topic name.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The zenoh key expression the data goes to.
    pub fn key_expr(&self) -> &str {
        &self.key
    }

    /// The 16-byte GID carried in every sample's attachment.
    pub fn gid(&self) -> [u8; 16] {
        self.gid
    }

    /// How many messages were published.
    pub fn published(&self) -> u64 {
        self.sequence.load(Ordering::Relaxed).max(0) as u64
    }
}

/// Configures a [`Publisher`]; `.await` it to declare the publisher.
#[must_use = "a publisher builder does nothing until awaited"]
pub struct PublisherBuilder<T> {
    raw: RawPublisherBuilder,
    _type: PhantomData<fn(&T)>,
}

impl<T: Message> PublisherBuilder<T> {
    pub(crate) fn new(node: Node, topic: &str) -> Self {
        Self {
            raw: RawPublisherBuilder::new(node, topic, T::TYPE_NAME, T::TYPE_HASH),
            _type: PhantomData,
        }
    }

    /// The history depth announced in the QoS (default 10, as `rclcpp::QoS(10)`).
    pub fn depth(mut self, depth: usize) -> Self {
        self.raw = self.raw.depth(depth);
        self
    }

    /// Block `publish` when the network is congested instead of dropping.
    pub fn block_when_congested(mut self, block: bool) -> Self {
        self.raw = self.raw.block_when_congested(block);
        self
    }
}

impl<T: Message> IntoFuture for PublisherBuilder<T> {
    type Output = Result<Publisher<T>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            Ok(Publisher {
                raw: self.raw.declare().await?,
                _type: PhantomData,
            })
        })
    }
}

/// Publishes messages of type `T` on one topic.
pub struct Publisher<T> {
    raw: RawPublisher,
    _type: PhantomData<fn(&T)>,
}

impl<T> std::fmt::Debug for Publisher<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher").field("raw", &self.raw).finish()
    }
}

impl<T> std::ops::Deref for Publisher<T> {
    type Target = RawPublisher;

    fn deref(&self) -> &RawPublisher {
        &self.raw
    }
}

impl<T: Message> Publisher<T> {
    /// Encodes and publishes one message: the pixel data of an image is copied once, into the
    /// CDR buffer, which zenoh takes without a copy.
    pub async fn publish(&self, msg: &T) -> Result<()> {
        self.raw.put(self.raw.encode(msg)?).await
    }

    /// Publishes without `.await`, from synchronous code such as a synchronizer callback
    /// (the default drop-when-congested publisher never blocks here).
    pub fn publish_now(&self, msg: &T) -> Result<()> {
        self.raw.put_now(self.raw.encode(msg)?)
    }
}
