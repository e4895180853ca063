//! Subscribers with a bounded queue: [`RawSubscriber`] yields CDR payloads of any or one type,
//! [`Subscriber<T>`] decodes them into `T`, read by `recv`, as a stream, or by a callback.
//!
//! A subscriber receives until it is closed ([`RawSubscriber::close`], or its zenoh session
//! closes); `recv` then returns what is still queued, then `None`, and streams end.
//!
//! A subscriber takes a [`QosProfile`]: its history sets the queue (keep last `depth`, or keep
//! all up to [`KEEP_ALL_QUEUE_SIZE`]), and transient local durability makes it a zenoh-ext
//! advanced subscriber configured like rmw_zenoh's: it queries the caches of transient-local
//! publishers for their last `depth` samples when it starts and whenever such a publisher
//! appears later, and (when reliable) recovers missed samples on their heartbeats. Volatile
//! subscribers are plain zenoh subscribers and get no history.

use std::collections::VecDeque;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::Stream;
use tokio::sync::Notify;
use zenoh::sample::Sample;
use zenoh::Wait;
use zenoh_ext::{AdvancedSubscriberBuilderExt, HistoryConfig, RecoveryConfig};

use super::attachment::Attachment;
use super::graph::{
    split_topic_key_expr, topic_key_expr, topic_key_expr_any_type, EntityKind, TopicInfo,
};
use super::loaned::LoanedMessage;
use super::qos::{History, QosProfile, Reliability};
use super::qos_watch::QosWatch;
use super::sequence_gaps::SequenceGaps;
use super::Node;
use crate::cdr;
use crate::error::{Error, Result};
use crate::lock::lock;
use crate::msg::{Message, TypeIdentity};

/// What a subscriber has seen so far; every sample that is not delivered is counted here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SubscriberStats {
    /// Samples of the right type that arrived.
    pub received: u64,
    /// Messages handed to the application.
    pub delivered: u64,
    /// Oldest samples dropped because the queue was full (in messages or in bytes).
    pub dropped_queue_full: u64,
    /// Samples that never arrived: gaps in their publishers' sequence numbers (see
    /// [`MessageInfo::attachment`]); the first sample seen from a publisher is its baseline, a
    /// sequence that goes back counts nothing.
    pub lost: u64,
    /// Publishers whose sequence was forgotten to keep at most 1024 per subscriber (the least
    /// recently heard first); one heard from again starts a new baseline.
    pub publishers_forgotten: u64,
    /// Samples whose payload failed to decode.
    pub decode_errors: u64,
    /// Publishers of another type name or type hash seen on the topic in the graph, each
    /// counted (and warned about) once while it lives: a typed subscription listens on its own
    /// type's key expression, as rmw_zenoh's, so their samples never reach it (the graph is
    /// watched on the tokio runtime the subscriber was declared on, if any). For a subscriber
    /// of any type: samples whose key expression names no ROS type.
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
    /// Shared with the subscription's graph watch, which counts publishers of another type.
    type_mismatches: Arc<AtomicU64>,
    bad_attachments: AtomicU64,
}

/// Hands a checked sample to the application on zenoh's receive thread instead of queueing
/// it; returns whether it was delivered (a payload that does not decode is not).
type Handler = Box<dyn Fn(&Shared, Received) -> bool + Send + Sync>;

/// A sample that passed the type and attachment checks.
struct Received {
    sample: Sample,
    /// When it reached this subscriber, ns since the Unix epoch (0 when nothing reads it:
    /// see [`Shared::stamp_arrivals`]).
    received_at: i64,
    attachment: Option<Attachment>,
}

impl Received {
    fn info(&self) -> MessageInfo {
        MessageInfo {
            attachment: self.attachment,
            received_timestamp: self.received_at,
        }
    }
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
        let mut state = lock(&self.state);
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

/// One sample as received: its payload, the type it was published as, and its metadata.
#[derive(Debug, Clone)]
pub struct RawMessage {
    /// The CDR payload, encapsulation header included.
    pub payload: zenoh::bytes::ZBytes,
    /// The ROS 2 type name from the key expression.
    pub type_name: String,
    /// The type hash from the key expression.
    pub type_hash: String,
    /// Attachment and reception time.
    pub info: MessageInfo,
}

/// Received samples waiting for the application, and whether more can come.
struct Queue {
    /// Checked samples, oldest first.
    samples: VecDeque<Received>,
    /// Payload bytes of `samples`.
    bytes: usize,
    /// No sample is added any more: the subscriber was closed or its session closed.
    closed: bool,
}

struct Shared {
    topic: String,
    /// The type accepted, or `None` for any type.
    accepted: Option<TypeIdentity>,
    queue: Mutex<Queue>,
    capacity: usize,
    /// Payload bytes queued at most (the newest sample is always kept).
    max_bytes: usize,
    /// When set, samples go to it instead of the queue.
    handler: Option<Handler>,
    /// Whether samples get their arrival time: not for a callback that takes the message
    /// alone (a clock read per sample saved).
    stamp_arrivals: bool,
    /// Sequence gaps per publisher: what the network lost.
    gaps: Mutex<SequenceGaps>,
    notify: Notify,
    /// Set (under the queue lock) once the queue is closed: read without the lock on the way in.
    closed: AtomicBool,
    counters: Counters,
    log: BurstLog,
}

impl Shared {
    /// Runs on zenoh's receive thread: filter by type, check the attachment, hand over or
    /// queue (dropping the oldest on overflow).
    fn on_sample(&self, sample: Sample) {
        // A typed subscription listens on its type's key only: nothing to check.
        if self.accepted.is_none() && !self.is_ros_data_key(sample.key_expr().as_str()) {
            return;
        }
        let received_at = match self.stamp_arrivals {
            true => crate::time::now_nanos(),
            false => 0,
        };
        if self.is_closed() {
            return;
        }
        self.counters.received.fetch_add(1, Ordering::Relaxed);
        let attachment = match sample.attachment() {
            None => None,
            Some(bytes) => match Attachment::from_bytes(&bytes.to_bytes()) {
                Ok(a) => {
                    lock(&self.gaps).observe(a.gid, a.sequence_number);
                    Some(a)
                }
                Err(e) => {
                    self.counters
                        .bad_attachments
                        .fetch_add(1, Ordering::Relaxed);
                    self.log.warn(&self.topic, &format!("dropping sample: {e}"));
                    return;
                }
            },
        };
        let received = Received {
            sample,
            received_at,
            attachment,
        };
        if let Some(handler) = &self.handler {
            if handler(self, received) {
                self.counters.delivered.fetch_add(1, Ordering::Relaxed);
            }
            return;
        }
        let size = received.sample.payload().len();
        let mut queue = lock(&self.queue);
        if queue.closed {
            return;
        }
        while queue.samples.len() >= self.capacity
            || (!queue.samples.is_empty() && queue.bytes.saturating_add(size) > self.max_bytes)
        {
            let Some(old) = queue.samples.pop_front() else {
                break;
            };
            queue.bytes = queue.bytes.saturating_sub(old.sample.payload().len());
            self.counters
                .dropped_queue_full
                .fetch_add(1, Ordering::Relaxed);
        }
        queue.bytes = queue.bytes.saturating_add(size);
        queue.samples.push_back(received);
        drop(queue);
        self.notify.notify_one();
    }

    /// Whether a sample a subscriber of any type received names a ROS type in its key
    /// expression; counts and logs it if not.
    fn is_ros_data_key(&self, key: &str) -> bool {
        if split_topic_key_expr(key).is_some() {
            return true;
        }
        self.counters
            .type_mismatches
            .fetch_add(1, Ordering::Relaxed);
        self.log.warn(
            &self.topic,
            &format!("ignoring sample on {key}: not a ROS data key expression"),
        );
        false
    }

    fn pop(&self) -> Option<Received> {
        let mut queue = lock(&self.queue);
        let received = queue.samples.pop_front()?;
        queue.bytes = queue.bytes.saturating_sub(received.sample.payload().len());
        Some(received)
    }

    /// Stops adding samples and wakes every waiting `recv` (what is queued stays readable).
    fn close(&self) {
        let mut queue = lock(&self.queue);
        queue.closed = true;
        self.closed.store(true, Ordering::Release);
        drop(queue);
        self.notify.notify_waiters();
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// A checked sample as a [`RawMessage`] (its type from the key expression).
    fn to_raw(&self, received: Received) -> Option<RawMessage> {
        let identity = match &self.accepted {
            Some(accepted) => accepted.clone(),
            None => split_topic_key_expr(received.sample.key_expr().as_str())?,
        };
        let info = received.info();
        Some(RawMessage {
            payload: received.sample.payload().clone(),
            type_name: identity.name,
            type_hash: identity.hash,
            info,
        })
    }

    /// Decodes a payload, counting (not returning) failures.
    fn decode<T: Message>(&self, payload: &zenoh::bytes::ZBytes) -> Option<T> {
        let mut slices = payload.slices();
        let decoded = match (slices.next(), slices.next()) {
            (Some(only), None) => cdr::decode::<T>(only),
            _ => cdr::decode_segments::<T>(payload.slices()),
        };
        match decoded {
            Ok(msg) => Some(msg),
            Err(e) => {
                self.counters.decode_errors.fetch_add(1, Ordering::Relaxed);
                self.log.warn(
                    &self.topic,
                    &format!("dropping undecodable {} payload: {e}", T::TYPE_NAME),
                );
                None
            }
        }
    }

    /// Runs the application's callback; a panic in it is logged (zenoh's receive thread goes
    /// on with later samples). Returns whether it returned normally.
    fn call(&self, callback: impl FnOnce()) -> bool {
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(callback)).is_err() {
            self.log
                .warn(&self.topic, "the subscription callback panicked");
            return false;
        }
        true
    }

    /// Waits until `take` yields an item; `None` once the queue is closed and `take` finds
    /// nothing more.
    async fn next<R>(&self, mut take: impl FnMut() -> Option<R>) -> Option<R> {
        loop {
            // Registered before looking, so a sample or a close in between still wakes us.
            let notified = self.notify.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            // Read before taking: once closed, nothing is added, so an empty take is the end.
            let closed = self.is_closed();
            if let Some(item) = take() {
                return Some(item);
            }
            if closed {
                return None;
            }
            notified.await;
        }
    }

    fn stats(&self) -> SubscriberStats {
        let c = &self.counters;
        let (lost, publishers_forgotten) = {
            let gaps = lock(&self.gaps);
            (gaps.lost, gaps.forgotten)
        };
        SubscriberStats {
            lost,
            publishers_forgotten,
            received: c.received.load(Ordering::Relaxed),
            delivered: c.delivered.load(Ordering::Relaxed),
            dropped_queue_full: c.dropped_queue_full.load(Ordering::Relaxed),
            decode_errors: c.decode_errors.load(Ordering::Relaxed),
            type_mismatches: c.type_mismatches.load(Ordering::Relaxed),
            bad_attachments: c.bad_attachments.load(Ordering::Relaxed),
        }
    }
}

/// How many messages a keep-all subscriber queues at most before it drops the oldest (counted
/// in [`SubscriberStats::dropped_queue_full`]): every queue has a size.
pub const KEEP_ALL_QUEUE_SIZE: usize = 10_000;

/// Configures a [`RawSubscriber`]; `.await` it to declare the subscriber.
#[must_use = "a subscriber builder does nothing until awaited"]
pub struct RawSubscriberBuilder {
    node: Node,
    topic: String,
    accepted: Option<TypeIdentity>,
    qos: QosProfile,
    max_queued_bytes: usize,
    handler: Option<Handler>,
    /// See [`Shared::stamp_arrivals`].
    stamp_arrivals: bool,
    /// Held by the node itself (its `/clock` time source): keeps no node clone and runs no
    /// QoS watch, so it does not keep the node alive.
    owned_by_node: bool,
}

impl RawSubscriberBuilder {
    pub(crate) fn new(node: Node, topic: &str, accepted: Option<TypeIdentity>) -> Self {
        Self {
            node,
            topic: topic.to_string(),
            accepted,
            qos: QosProfile::default(),
            max_queued_bytes: usize::MAX,
            handler: None,
            stamp_arrivals: true,
            owned_by_node: false,
        }
    }

    /// The QoS profile (default [`QosProfile::default`]: reliable, volatile, keep last 10); a
    /// later [`queue_size`](Self::queue_size) changes its depth.
    pub fn qos(mut self, qos: QosProfile) -> Self {
        self.qos = qos;
        self
    }

    /// Keep the last `queue_size` messages (default 10, min 1) before dropping the oldest: the
    /// `10` of `create_subscription(topic, 10, ...)`, a shortcut for
    /// `.qos(profile.keep_last(queue_size))`.
    pub fn queue_size(mut self, queue_size: usize) -> Self {
        self.qos = self.qos.keep_last(queue_size.max(1));
        self
    }

    /// How many payload bytes are kept at most before the oldest messages are dropped (default
    /// unlimited; the newest message is always kept, however large).
    pub fn max_queued_bytes(mut self, bytes: usize) -> Self {
        self.max_queued_bytes = bytes;
        self
    }

    /// Hands every message to `handler` on zenoh's receive thread as it arrives, instead of
    /// queueing it for `recv` (which then only returns `None` once closed). `handler` must not
    /// block: it holds up the reception of later samples.
    pub fn callback(mut self, handler: impl Fn(RawMessage) + Send + Sync + 'static) -> Self {
        self.handler = Some(Box::new(move |shared: &Shared, received| {
            match shared.to_raw(received) {
                Some(raw) => {
                    handler(raw);
                    true
                }
                None => false,
            }
        }));
        self
    }

    /// Makes a subscriber the node itself holds (see the field).
    pub(crate) fn owned_by_node(mut self) -> Self {
        self.owned_by_node = true;
        self
    }

    async fn declare(self) -> Result<RawSubscriber> {
        let topic = self.node.resolve_topic(&self.topic)?;
        let qos = self.qos.resolved();
        let capacity = match qos.history {
            History::KeepAll => KEEP_ALL_QUEUE_SIZE,
            _ => qos.depth,
        };
        // As rmw_zenoh: a typed subscription listens on its type's key expression only, so
        // zenoh matches samples by an exact key (publishers of another type are found in the
        // graph instead); a subscriber of any type listens on every type's.
        let key = match &self.accepted {
            Some(identity) => topic_key_expr(
                self.node.domain_id(),
                &topic,
                &identity.name,
                &identity.hash,
            ),
            None => topic_key_expr_any_type(self.node.domain_id(), &topic),
        };
        let shared = Arc::new(Shared {
            topic: topic.clone(),
            accepted: self.accepted.clone(),
            queue: Mutex::new(Queue {
                samples: VecDeque::with_capacity(capacity.min(1024)),
                bytes: 0,
                closed: false,
            }),
            capacity,
            max_bytes: self.max_queued_bytes,
            handler: self.handler,
            stamp_arrivals: self.stamp_arrivals,
            gaps: Mutex::new(SequenceGaps::default()),
            notify: Notify::new(),
            closed: AtomicBool::new(false),
            counters: Counters::default(),
            log: BurstLog::new(),
        });
        let feed = Feed(Arc::clone(&shared));
        let builder = self
            .node
            .session()
            .declare_subscriber(key)
            .callback(move |sample| feed.0.on_sample(sample));
        let subscriber = if qos.is_transient_local() {
            let history = HistoryConfig::default()
                .detect_late_publishers()
                .max_samples(qos.depth);
            let mut advanced = builder
                .history(history)
                .subscriber_detection()
                .query_timeout(HISTORY_QUERY_TIMEOUT);
            if qos.reliability == Reliability::Reliable {
                advanced = advanced.recovery(RecoveryConfig::default().heartbeat());
            }
            let subscriber = advanced.await.map_err(|e| {
                Error::zenoh(&format!("cannot subscribe to {topic} (transient local)"), e)
            })?;
            ZenohSubscriber::Advanced(subscriber)
        } else {
            let subscriber = builder
                .await
                .map_err(|e| Error::zenoh(&format!("cannot subscribe to {topic}"), e))?;
            ZenohSubscriber::Plain(subscriber)
        };
        // Only a typed subscription is announced: the graph has no entry for "any type".
        let (token, qos_watch) = match self.accepted {
            Some(identity) => {
                let entity = self.node.entity_for(
                    EntityKind::Subscriber,
                    TopicInfo {
                        name: topic.clone(),
                        type_name: identity.name,
                        type_hash: identity.hash,
                        qos: qos.to_rmw_zenoh(),
                    },
                );
                let token = self
                    .node
                    .session()
                    .liveliness()
                    .declare_token(entity.token())
                    .await
                    .map_err(|e| {
                        Error::zenoh(&format!("cannot announce subscriber on {topic}"), e)
                    })?;
                let watch = match self.owned_by_node {
                    true => None,
                    false => QosWatch::start(
                        &self.node,
                        &entity,
                        Some(Arc::clone(&shared.counters.type_mismatches)),
                    ),
                };
                (Some(token), watch)
            }
            None => (None, None),
        };
        tracing::debug!(%topic, qos = %qos.to_rmw_zenoh(), "subscriber declared");
        Ok(RawSubscriber {
            shared,
            qos,
            declared: Mutex::new(Some(Declared {
                subscriber,
                token,
                _qos_watch: qos_watch,
            })),
            _node: (!self.owned_by_node).then_some(self.node),
        })
    }
}

impl IntoFuture for RawSubscriberBuilder {
    type Output = Result<RawSubscriber>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.declare())
    }
}

/// Held by zenoh's callback: when zenoh drops the callback (the subscriber was undeclared or
/// its session closed), no sample can come any more, so the queue closes.
struct Feed(Arc<Shared>);

impl Drop for Feed {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// How long a transient-local subscriber waits for publishers' caches to answer its history
/// query: without end, as rmw_zenoh (the query ends when every cache has replied).
const HISTORY_QUERY_TIMEOUT: Duration = Duration::from_millis(u64::MAX);

/// The zenoh subscriber behind a [`RawSubscriber`]: plain for volatile durability, advanced
/// (history from publishers' caches) for transient local.
enum ZenohSubscriber {
    Plain(zenoh::pubsub::Subscriber<()>),
    Advanced(zenoh_ext::AdvancedSubscriber<()>),
}

impl ZenohSubscriber {
    fn undeclare(self) -> zenoh::Result<()> {
        match self {
            Self::Plain(s) => s.undeclare().wait(),
            Self::Advanced(s) => s.undeclare().wait(),
        }
    }
}

/// The zenoh declarations of an open subscriber.
struct Declared {
    subscriber: ZenohSubscriber,
    token: Option<zenoh::liveliness::LivelinessToken>,
    /// Warns about publishers with incompatible QoS, and counts those of another type.
    _qos_watch: Option<QosWatch>,
}

/// Receives CDR payloads from one topic through a bounded queue, without decoding them.
pub struct RawSubscriber {
    shared: Arc<Shared>,
    qos: QosProfile,
    /// `None` once closed.
    declared: Mutex<Option<Declared>>,
    /// Keeps the session open (`None` for a subscriber the node itself holds).
    _node: Option<Node>,
}

impl std::fmt::Debug for RawSubscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawSubscriber")
            .field("topic", &self.shared.topic)
            .field("accepted", &self.shared.accepted)
            .finish()
    }
}

impl RawSubscriber {
    /// Waits for the next sample. Returns `None` once the subscriber is closed (by
    /// [`close`](Self::close) or its session closing) and every queued sample was taken.
    pub async fn recv(&self) -> Option<RawMessage> {
        self.shared.next(|| self.try_recv()).await
    }

    /// Takes the next queued sample without waiting.
    pub fn try_recv(&self) -> Option<RawMessage> {
        let raw = self.shared.pop().and_then(|r| self.shared.to_raw(r))?;
        self.shared
            .counters
            .delivered
            .fetch_add(1, Ordering::Relaxed);
        Some(raw)
    }

    /// Stops receiving: undeclares the zenoh subscriber and its graph announcement. Samples
    /// already queued are still returned by `recv`, which then returns `None`.
    pub fn close(&self) {
        let declared = lock(&self.declared).take();
        if let Some(Declared {
            subscriber, token, ..
        }) = declared
        {
            if let Err(e) = subscriber.undeclare() {
                let e = crate::error::zenoh_text(e);
                tracing::warn!(topic = %self.shared.topic, "cannot undeclare subscriber: {e}");
            }
            if let Some(Err(e)) = token.map(|t| t.undeclare().wait()) {
                let e = crate::error::zenoh_text(e);
                tracing::warn!(topic = %self.shared.topic, "cannot withdraw subscriber token: {e}");
            }
            tracing::debug!(topic = %self.shared.topic, "subscriber closed");
        }
        self.shared.close();
    }

    /// Counters of received, delivered and dropped samples.
    pub fn stats(&self) -> SubscriberStats {
        self.shared.stats()
    }

    /// The fully qualified topic name.
    pub fn topic(&self) -> &str {
        &self.shared.topic
    }

    /// The QoS profile in use, as rmw_zenoh resolves it (and as the graph token announces it).
    pub fn qos(&self) -> &QosProfile {
        &self.qos
    }
}

/// Configures a [`Subscriber`]; `.await` it to declare the subscriber.
#[must_use = "a subscriber builder does nothing until awaited"]
pub struct SubscriberBuilder<T> {
    raw: RawSubscriberBuilder,
    _type: PhantomData<fn() -> T>,
}

impl<T: Message> SubscriberBuilder<T> {
    pub(crate) fn new(node: Node, topic: &str) -> Self {
        Self {
            raw: RawSubscriberBuilder::new(node, topic, Some(TypeIdentity::of::<T>())),
            _type: PhantomData,
        }
    }

    /// The QoS profile, as [`RawSubscriberBuilder::qos`], e.g.
    /// `.qos(QosProfile::default().transient_local())` to get a latched topic's messages.
    pub fn qos(mut self, qos: QosProfile) -> Self {
        self.raw = self.raw.qos(qos);
        self
    }

    /// Keep the last `queue_size` messages, as [`RawSubscriberBuilder::queue_size`].
    pub fn queue_size(mut self, queue_size: usize) -> Self {
        self.raw = self.raw.queue_size(queue_size);
        self
    }

    /// How many payload bytes are kept at most before the oldest messages are dropped (default
    /// unlimited; the newest message is always kept, however large).
    pub fn max_queued_bytes(mut self, bytes: usize) -> Self {
        self.raw = self.raw.max_queued_bytes(bytes);
        self
    }

    /// Decodes and hands every message to `callback` on zenoh's receive thread as it arrives
    /// (no queue, no task switch: as short a path as a raw zenoh callback), instead of through
    /// `recv`. `callback` must not block: it holds up the reception of later samples.
    pub fn callback<F>(self, callback: F) -> CallbackSubscriberBuilder<T, F>
    where
        F: FnMut(T) + Send + 'static,
    {
        CallbackSubscriberBuilder {
            inner: self,
            callback,
        }
    }

    /// Hands every message undecoded, in the buffer it arrived in, to `callback` on zenoh's
    /// receive thread (as [`callback`](Self::callback)): read it in place with
    /// [`LoanedMessage::view`], or keep it (which keeps its buffer).
    pub async fn loaned_callback<F>(mut self, callback: F) -> Result<CallbackSubscriber<T>>
    where
        F: FnMut(LoanedMessage<T>) + Send + 'static,
    {
        let callback = Mutex::new(callback);
        self.raw.handler = Some(Box::new(move |shared: &Shared, received| {
            let info = received.info();
            let loaned = LoanedMessage::new(received.sample.payload().clone(), info);
            shared.call(|| (lock(&callback))(loaned))
        }));
        Ok(CallbackSubscriber {
            subscriber: self.declare().await?,
        })
    }

    async fn declare(self) -> Result<Subscriber<T>> {
        Ok(Subscriber {
            raw: self.raw.declare().await?,
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
    raw: RawSubscriber,
    _type: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for Subscriber<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber")
            .field("raw", &self.raw)
            .finish()
    }
}

impl<T: Message> Subscriber<T> {
    /// Waits for the next message. Returns `None` once the subscriber is closed (by
    /// [`close`](Self::close) or its session closing) and every queued message was taken.
    pub async fn recv(&self) -> Option<T> {
        self.recv_with_info().await.map(|(msg, _)| msg)
    }

    /// Waits for the next message and its metadata (`None` as for [`recv`](Self::recv)).
    pub async fn recv_with_info(&self) -> Option<(T, MessageInfo)> {
        self.raw.shared.next(|| self.try_recv_with_info()).await
    }

    /// Takes the next queued message without waiting.
    pub fn try_recv(&self) -> Option<T> {
        self.try_recv_with_info().map(|(msg, _)| msg)
    }

    /// Takes the next queued message and its metadata without waiting.
    pub fn try_recv_with_info(&self) -> Option<(T, MessageInfo)> {
        let shared = &self.raw.shared;
        while let Some(received) = shared.pop() {
            if let Some(msg) = shared.decode::<T>(received.sample.payload()) {
                shared.counters.delivered.fetch_add(1, Ordering::Relaxed);
                return Some((msg, received.info()));
            }
        }
        None
    }

    /// Waits for the next message, undecoded, in the buffer it arrived in (read it in place
    /// with [`LoanedMessage::view`]); `None` as for [`recv`](Self::recv).
    pub async fn recv_loaned(&self) -> Option<LoanedMessage<T>> {
        self.raw.shared.next(|| self.try_recv_loaned()).await
    }

    /// Takes the next queued message, undecoded, without waiting.
    pub fn try_recv_loaned(&self) -> Option<LoanedMessage<T>> {
        let shared = &self.raw.shared;
        let received = shared.pop()?;
        shared.counters.delivered.fetch_add(1, Ordering::Relaxed);
        let info = received.info();
        Some(LoanedMessage::new(received.sample.payload().clone(), info))
    }

    /// Stops receiving, as [`RawSubscriber::close`]: queued messages are still returned, then
    /// `recv` returns `None` and streams end.
    pub fn close(&self) {
        self.raw.close();
    }

    /// The messages as an async stream, which ends once the subscriber is closed and drained.
    pub fn stream(&self) -> impl Stream<Item = T> + '_ {
        futures::stream::unfold(
            self,
            |sub| async move { sub.recv().await.map(|m| (m, sub)) },
        )
    }

    /// Counters of received, delivered and dropped samples.
    pub fn stats(&self) -> SubscriberStats {
        self.raw.stats()
    }

    /// The fully qualified topic name.
    pub fn topic(&self) -> &str {
        self.raw.topic()
    }

    /// The QoS profile in use, as [`RawSubscriber::qos`].
    pub fn qos(&self) -> &QosProfile {
        self.raw.qos()
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
            // zenoh may call from several receive threads: one call at a time, in order.
            let callback = Mutex::new(self.callback);
            let mut inner = self.inner;
            // The callback gets no `MessageInfo`.
            inner.raw.stamp_arrivals = false;
            inner.raw.handler = Some(Box::new(move |shared: &Shared, received| {
                let Some(msg) = shared.decode::<T>(received.sample.payload()) else {
                    return false;
                };
                shared.call(|| (lock(&callback))(msg))
            }));
            Ok(CallbackSubscriber {
                subscriber: inner.declare().await?,
            })
        })
    }
}

/// A subscriber that hands every message to a callback on zenoh's receive thread; dropping it
/// unsubscribes.
pub struct CallbackSubscriber<T: Message> {
    subscriber: Subscriber<T>,
}

impl<T: Message> CallbackSubscriber<T> {
    /// Stops receiving: once it returns, no later sample reaches the callback (one already
    /// being handed over finishes).
    pub fn close(&self) {
        self.subscriber.close();
    }

    /// Counters of received, delivered and dropped samples.
    pub fn stats(&self) -> SubscriberStats {
        self.subscriber.stats()
    }

    /// The fully qualified topic name.
    pub fn topic(&self) -> &str {
        self.subscriber.topic()
    }
}
