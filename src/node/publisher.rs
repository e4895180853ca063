//! Publishers: [`RawPublisher`] puts CDR payloads of a named type; [`Publisher<T>`] encodes `T`.
//!
//! A publisher takes a [`QosProfile`] and maps it to zenoh as rmw_zenoh does: zenoh's
//! reliability from the profile's, congestion control blocking only for reliable keep-all, and
//! for transient local durability zenoh-ext's advanced publisher: a cache of the last `depth`
//! samples, publisher detection, and (when reliable) sporadic heartbeats for sample-miss
//! detection. Volatile publishers are plain zenoh publishers.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use zenoh_ext::{AdvancedPublisherBuilderExt, CacheConfig, MissDetectionConfig};

use super::attachment::Attachment;
use super::buffer_pool::{BufferPool, POOL_MIN_PAYLOAD};
use super::graph::{gid_from_token, topic_key_expr, EntityKind, TopicInfo};
use super::qos::{QosProfile, Reliability};
use super::qos_watch::QosWatch;
use super::Node;
use crate::cdr;
use crate::error::{Error, Result};
use crate::msg::Message;

/// Period of the heartbeats a reliable transient-local publisher sends (when it published
/// since the last one) so subscribers can recover missed samples from its cache: rmw_zenoh's
/// `SAMPLE_MISS_DETECTION_HEARTBEAT_PERIOD`.
pub const SAMPLE_MISS_HEARTBEAT_PERIOD: Duration = Duration::from_millis(500);

/// Configures a [`RawPublisher`]; `.await` it to declare the publisher.
#[must_use = "a publisher builder does nothing until awaited"]
pub struct RawPublisherBuilder {
    node: Node,
    topic: String,
    type_name: String,
    type_hash: String,
    qos: QosProfile,
    block_when_congested: Option<bool>,
}

impl RawPublisherBuilder {
    pub(crate) fn new(node: Node, topic: &str, type_name: &str, type_hash: &str) -> Self {
        Self {
            node,
            topic: topic.to_string(),
            type_name: type_name.to_string(),
            type_hash: type_hash.to_string(),
            qos: QosProfile::default(),
            block_when_congested: None,
        }
    }

    /// The QoS profile (default [`QosProfile::default`]: reliable, volatile, keep last 10, as
    /// `rclcpp::QoS(10)`); a later [`depth`](Self::depth) changes its depth.
    pub fn qos(mut self, qos: QosProfile) -> Self {
        self.qos = qos;
        self
    }

    /// Keep the last `depth` messages (min 1): the `10` of `create_publisher(topic, 10)`, a
    /// shortcut for `.qos(profile.keep_last(depth))`.
    pub fn depth(mut self, depth: usize) -> Self {
        self.qos = self.qos.keep_last(depth.max(1));
        self
    }

    /// Overrides whether `publish` blocks when the network is congested instead of dropping.
    /// Without it the QoS decides, as in rmw_zenoh: reliable keep-all blocks, the rest drops.
    pub fn block_when_congested(mut self, block: bool) -> Self {
        self.block_when_congested = Some(block);
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
        let qos = self.qos.resolved();
        let congestion = match self.block_when_congested {
            Some(true) => zenoh::qos::CongestionControl::Block,
            Some(false) => zenoh::qos::CongestionControl::Drop,
            None => qos.congestion_control(),
        };
        let builder = self
            .node
            .session()
            .declare_publisher(key.clone())
            .reliability(qos.zenoh_reliability())
            .congestion_control(congestion);
        let publisher = if qos.is_transient_local() {
            let mut advanced = builder
                .cache(CacheConfig::default().max_samples(qos.depth))
                .publisher_detection();
            if qos.reliability == Reliability::Reliable {
                advanced = advanced.sample_miss_detection(
                    MissDetectionConfig::default().sporadic_heartbeat(SAMPLE_MISS_HEARTBEAT_PERIOD),
                );
            }
            let publisher = advanced.await.map_err(|e| {
                // zenoh-ext orders a cache without sequence numbers (best effort) by timestamps.
                let hint = if qos.reliability == Reliability::BestEffort {
                    " (best effort needs `timestamping: { enabled: true }` in the zenoh config)"
                } else {
                    ""
                };
                let what = format!("cannot declare transient-local publisher on {topic}{hint}");
                Error::zenoh(&what, e)
            })?;
            ZenohPublisher::Advanced(publisher)
        } else {
            let publisher = builder
                .await
                .map_err(|e| Error::zenoh(&format!("cannot declare publisher on {topic}"), e))?;
            ZenohPublisher::Plain(publisher)
        };
        let entity = self.node.entity_for(
            EntityKind::Publisher,
            TopicInfo {
                name: topic.clone(),
                type_name: self.type_name,
                type_hash: self.type_hash,
                qos: qos.to_rmw_zenoh(),
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
        tracing::debug!(%topic, %key, qos = %qos.to_rmw_zenoh(), "publisher declared");
        let qos_watch = QosWatch::start(&self.node, &entity, None);
        Ok(RawPublisher {
            publisher,
            topic,
            key,
            qos,
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

/// The zenoh publisher behind a [`RawPublisher`]: plain for volatile durability, advanced (with
/// a cache for late joiners) for transient local.
enum ZenohPublisher {
    Plain(zenoh::pubsub::Publisher<'static>),
    Advanced(zenoh_ext::AdvancedPublisher<'static>),
}

/// Publishes already encoded CDR payloads of one type on one topic, with rmw_zenoh attachments.
pub struct RawPublisher {
    publisher: ZenohPublisher,
    topic: String,
    key: String,
    qos: QosProfile,
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
            .field("qos", &self.qos)
            .finish()
    }
}

impl RawPublisher {
    /// Publishes a CDR payload (encapsulation header included), handing the buffer to zenoh.
    pub async fn publish_payload(&self, payload: Vec<u8>) -> Result<()> {
        self.put(zenoh::bytes::ZBytes::from(payload)).await
    }

    /// Publishes a shared CDR payload (such as a message read from a log) without copying it.
    /// A big payload (see [`SharedMemory`](super::SharedMemory)) is copied once into shared
    /// memory instead, so subscribers on this host get it without the network path.
    pub async fn publish_bytes(&self, payload: bytes::Bytes) -> Result<()> {
        let shm = self._node.shm();
        if shm.wants(payload.len()) {
            if let Some(shared) = shm.copy(&payload) {
                return self.put(shared).await;
            }
        }
        self.put(zenoh::bytes::ZBytes::from(payload)).await
    }

    /// Encodes `msg`: once, straight into shared memory when it is big (and shared memory is
    /// on), else into a reused buffer when it is large.
    fn encode<T: Message>(&self, msg: &T) -> Result<zenoh::bytes::ZBytes> {
        let len = cdr::encoded_len(msg);
        let shm = self._node.shm();
        if shm.wants(len) {
            if let Some(payload) = shm.encode(msg, len)? {
                return Ok(payload);
            }
        }
        if len < POOL_MIN_PAYLOAD {
            let mut buf = Vec::with_capacity(len);
            cdr::encode_into(msg, &mut buf)?;
            return Ok(buf.into());
        }
        let mut buf = self.buffers.take(len);
        cdr::encode_into(msg, &mut buf)?;
        Ok(self.buffers.share(buf))
    }

    pub(super) async fn put(&self, payload: zenoh::bytes::ZBytes) -> Result<()> {
        let attachment = self.next_attachment();
        let sent = match &self.publisher {
            ZenohPublisher::Plain(p) => p.put(payload).attachment(attachment).await,
            ZenohPublisher::Advanced(p) => p.put(payload).attachment(attachment).await,
        };
        sent.map_err(|e| Error::zenoh(&format!("publish on {} failed", self.topic), e))
    }

    /// The same without `.await`, for synchronous code such as synchronizer callbacks.
    pub(super) fn put_now(&self, payload: zenoh::bytes::ZBytes) -> Result<()> {
        use zenoh::Wait;
        let attachment = self.next_attachment();
        let sent = match &self.publisher {
            ZenohPublisher::Plain(p) => p.put(payload).attachment(attachment).wait(),
            ZenohPublisher::Advanced(p) => p.put(payload).attachment(attachment).wait(),
        };
        sent.map_err(|e| Error::zenoh(&format!("publish on {} failed", self.topic), e))
    }

    /// The node this publisher belongs to.
    pub(super) fn node(&self) -> &Node {
        &self._node
    }

    /// rmw_zenoh's attachment for the next sample.
    fn next_attachment(&self) -> Vec<u8> {
        let attachment = Attachment {
            sequence_number: self.sequence.fetch_add(1, Ordering::Relaxed) + 1,
            source_timestamp: crate::time::now_nanos(),
            gid: self.gid,
        };
        attachment.to_bytes().to_vec()
    }

    /// Whether at least one subscriber currently matches this publisher's key expression.
    pub async fn has_subscribers(&self) -> bool {
        let status = match &self.publisher {
            ZenohPublisher::Plain(p) => p.matching_status().await,
            ZenohPublisher::Advanced(p) => p.matching_status().await,
        };
        status.map(|status| status.matching()).unwrap_or(false)
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

    /// The QoS profile in use, as rmw_zenoh resolves it (and as the graph token announces it).
    pub fn qos(&self) -> &QosProfile {
        &self.qos
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

    /// The QoS profile, as [`RawPublisherBuilder::qos`], e.g.
    /// `.qos(QosProfile::default().transient_local())` for a latched topic.
    pub fn qos(mut self, qos: QosProfile) -> Self {
        self.raw = self.raw.qos(qos);
        self
    }

    /// Keep the last `depth` messages, as [`RawPublisherBuilder::depth`].
    pub fn depth(mut self, depth: usize) -> Self {
        self.raw = self.raw.depth(depth);
        self
    }

    /// Overrides blocking when congested, as [`RawPublisherBuilder::block_when_congested`].
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
    /// (a keep-last publisher drops instead of blocking when congested, so never blocks here).
    pub fn publish_now(&self, msg: &T) -> Result<()> {
        self.raw.put_now(self.raw.encode(msg)?)
    }
}
