//! Nodes, publishers and subscribers over zenoh, wire-compatible with ROS 2's `rmw_zenoh`.
//!
//! A [`Node`] owns a zenoh session and announces itself, its publishers and its subscribers
//! with rmw_zenoh's liveliness tokens, so `ros2 node list` and `ros2 topic list` on a ROS 2
//! machine see it. A [`Publisher<T>`] puts CDR payloads on the topic's key expression
//! (`<domain>/<topic>/<pkg>::msg::dds_::<Type>_/<RIHS01 hash>`) with the 33-byte
//! [`Attachment`]; a [`Subscriber<T>`] decodes them into typed messages through a bounded
//! queue, which you read with [`Subscriber::recv`], as a stream, or through a callback.
//!
//! ```no_run
//! use rosync::prelude::*;
//! use rosync::msg::std_msgs;
//!
//! # async fn run() -> Result<(), rosync::Error> {
//! let node = Node::builder("listener").build().await?;
//! let sub = node.subscriber::<std_msgs::String>("/chatter").queue_size(10).await?;
//! while let Some(msg) = sub.recv().await {
//!     println!("heard {}", msg.data);
//! }
//! # Ok(()) }
//! ```

mod attachment;
pub(crate) mod buffer_pool;
pub mod clock;
mod endpoint;
pub mod graph;
mod graph_api;
mod graph_view;
mod loaned;
mod loaned_mut;
pub mod names;
mod network;
#[cfg(feature = "cli")]
mod network_args;
pub mod params;
mod publisher;
pub mod qos;
mod qos_watch;
pub mod router;
mod sequence_gaps;
pub mod service;
pub mod shm;
mod subscriber;
pub mod time_source;
pub mod timer;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use attachment::{Attachment, AttachmentError, ATTACHMENT_LEN};
pub use clock::{Clock, ClockType, Wake};
pub use endpoint::PROTOCOLS;
pub use graph::{Entity, EntityKind, TopicInfo};
pub use graph_api::{
    EndpointInfo, GraphEvent, GraphEvents, GRAPH_EVENT_CAPACITY, GRAPH_SETTLE_TIMEOUT,
};
pub use loaned::LoanedMessage;
pub use loaned_mut::{LoanableMessage, LoanedMessageMut};
pub use network::{NetworkOptions, DEFAULT_RENDEZVOUS};
#[cfg(feature = "cli")]
pub use network_args::NetworkArgs;
#[cfg(feature = "cli")]
pub use params::ParameterArgs;
pub use params::{
    FromParameterValue, OnSetParametersHandle, Parameter, ParameterDescriptor, ParameterError,
    ParameterOverrides, ParameterStore, ParameterType, ParameterValue,
};
pub use publisher::{
    Publisher, PublisherBuilder, RawPublisher, RawPublisherBuilder, SAMPLE_MISS_HEARTBEAT_PERIOD,
};
pub use qos::{
    compatibility, Durability, History, Incompatible, Liveliness, QosError, QosProfile, Reliability,
};
pub use router::{Router, RouterConfig};
pub use service::{CallError, Client, HandlerError, RawClient, ServiceServer, ServiceStats};
pub use shm::{SharedMemory, ShmStats};
pub use subscriber::{
    CallbackSubscriber, CallbackSubscriberBuilder, MessageInfo, RawMessage, RawSubscriber,
    RawSubscriberBuilder, Subscriber, SubscriberBuilder, SubscriberStats, KEEP_ALL_QUEUE_SIZE,
};
pub use timer::{Rate, Timer, TimerHandle};

use crate::error::{Error, Result};
use crate::msg::{Message, TypeIdentity};

/// The domain id from `ROS_DOMAIN_ID`, or 0 when unset or not a number.
pub fn domain_id_from_env() -> u32 {
    std::env::var("ROS_DOMAIN_ID")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Configures a [`Node`] before it joins the network.
#[derive(Debug, Clone)]
pub struct NodeBuilder {
    name: String,
    namespace: String,
    network: NetworkOptions,
    shared_memory: SharedMemory,
    parameter_overrides: ParameterOverrides,
    start_parameter_services: bool,
    allow_undeclared_parameters: bool,
    use_sim_time: bool,
}

impl NodeBuilder {
    /// Sets the start-up parameter values (`--param`, parameters files) the node declares with.
    pub fn parameter_overrides(mut self, overrides: ParameterOverrides) -> Self {
        self.parameter_overrides = overrides;
        self
    }

    /// Whether the six parameter services and the `/parameter_events` publisher start with
    /// the node's first [`declare_parameter`](Node::declare_parameter) (default true).
    pub fn start_parameter_services(mut self, start: bool) -> Self {
        self.start_parameter_services = start;
        self
    }

    /// Whether a set may name parameters the node did not declare (default false), as
    /// rclcpp's `NodeOptions::allow_undeclared_parameters`: the set declares them,
    /// dynamically typed, and the services answer for undeclared names (not set, a default
    /// descriptor) instead of nothing. The parameter services start with the node then.
    pub fn allow_undeclared_parameters(mut self, allow: bool) -> Self {
        self.allow_undeclared_parameters = allow;
        self
    }

    /// The default of the node's `use_sim_time` parameter (false; a start-up override such as
    /// `--param use_sim_time:=true` wins): with it, [`Node::now`], timers and rates follow
    /// `/clock`, a replayed log's time. Setting the parameter later switches the clock, as in
    /// ROS 2.
    pub fn use_sim_time(mut self, use_sim_time: bool) -> Self {
        self.use_sim_time = use_sim_time;
        self
    }

    /// Sets the namespace (default `/`).
    pub fn namespace(mut self, namespace: &str) -> Self {
        self.namespace = namespace.to_string();
        self
    }

    /// Sets the ROS domain id (default: `ROS_DOMAIN_ID`, else 0).
    pub fn domain_id(mut self, domain_id: u32) -> Self {
        self.network.domain_id = Some(domain_id);
        self
    }

    /// Adds an endpoint to connect to, such as `tcp/127.0.0.1:7447` (repeatable).
    pub fn connect(mut self, endpoint: &str) -> Self {
        self.network.connect.push(endpoint.to_string());
        self
    }

    /// Adds an endpoint to listen on, such as `tcp/127.0.0.1:7500` (repeatable).
    pub fn listen(mut self, endpoint: &str) -> Self {
        self.network.listen.push(endpoint.to_string());
        self
    }

    /// Whether and how big messages go through shared memory (default
    /// [`SharedMemory::default`]: on with the `shared-memory` feature, rmw_zenoh's pool size
    /// and threshold).
    pub fn shared_memory(mut self, shared_memory: SharedMemory) -> Self {
        self.shared_memory = shared_memory;
        self
    }

    /// Loads a zenoh JSON5 configuration file (for routers, multi-host setups, TLS, ...).
    pub fn config_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.network.config_file = Some(path.into());
        self
    }

    /// Replaces all network settings at once; a `domain_id` of `None` keeps the domain id
    /// already set with [`domain_id`](Self::domain_id).
    pub fn network(mut self, network: NetworkOptions) -> Self {
        let domain_id = network.domain_id.or(self.network.domain_id);
        self.network = NetworkOptions {
            domain_id,
            ..network
        };
        self
    }

    /// Opens the zenoh session and announces the node.
    pub async fn build(self) -> Result<Node> {
        names::validate_node_name(&self.name)?;
        let namespace = names::normalize_namespace(&self.namespace)?;
        let domain_id = self.network.domain_id.unwrap_or_else(domain_id_from_env);
        self.shared_memory.validate()?;
        let session = network::open_session(&self.network, &self.shared_memory).await?;
        let zid = session.zid().to_string();
        let entity = Entity {
            domain_id,
            zid: zid.clone(),
            node_id: 0,
            entity_id: 0,
            kind: EntityKind::Node,
            enclave: "/".into(),
            namespace: namespace.clone(),
            node_name: self.name.clone(),
            topic: None,
        };
        let token = session
            .liveliness()
            .declare_token(entity.token())
            .await
            .map_err(|e| Error::zenoh("cannot declare node liveliness token", e))?;
        let fqn = entity.node_fqn();
        let params = Arc::new(
            ParameterStore::new(&fqn, self.parameter_overrides.resolve(&fqn))
                .allow_undeclared(self.allow_undeclared_parameters),
        );
        tracing::debug!(node = %fqn, %zid, domain_id, "node started");
        let use_sim_time = params.declare(
            "use_sim_time",
            self.use_sim_time.into(),
            ParameterDescriptor::default(),
        )?;
        let sim = use_sim_time == ParameterValue::Bool(true);
        // Starts on the chosen time (no switch, so no jump at start).
        let clock = if sim { Clock::sim() } else { Clock::ros() };
        let node = Node {
            inner: Arc::new(NodeInner {
                param_services: tokio::sync::OnceCell::new(),
                start_parameter_services: self.start_parameter_services,
                graph: tokio::sync::OnceCell::new(),
                clock,
                time_source: std::sync::OnceLock::new(),
                session,
                shm: Arc::new(shm::ShmPool::new(self.shared_memory)),
                entity,
                next_entity_id: Arc::new(AtomicU32::new(1)),
                params,
                _use_sim_time_switch: std::sync::OnceLock::new(),
                _token: Some(token),
            }),
        };
        node.start_time_source(sim).await?;
        if self.allow_undeclared_parameters {
            // Sets from outside are what undeclared parameters are for: serve them at once.
            node.start_parameter_services().await?;
        }
        Ok(node)
    }
}

struct NodeInner {
    /// The parameter services (dropped before the session); they hold an internal handle,
    /// not this node, so the node still drops when its last user handle does.
    param_services: tokio::sync::OnceCell<params::ParameterServices>,
    /// Whether the first declared parameter starts the parameter services.
    start_parameter_services: bool,
    /// The live graph view, started by the first graph request (dropped before the session).
    graph: tokio::sync::OnceCell<graph_view::GraphView>,
    /// ROS time: `/clock` while `use_sim_time` is true, the system clock otherwise.
    clock: Clock,
    /// Subscribes to `/clock` while `use_sim_time` is true (dropped before the session; unset
    /// in an internal handle).
    time_source: std::sync::OnceLock<time_source::TimeSource>,
    session: zenoh::Session,
    /// The pool big messages are published from.
    shm: Arc<shm::ShmPool>,
    entity: Entity,
    next_entity_id: Arc<AtomicU32>,
    params: Arc<ParameterStore>,
    /// Switches the clock and the time source when `use_sim_time` changes (unset in an
    /// internal handle).
    _use_sim_time_switch: std::sync::OnceLock<OnSetParametersHandle>,
    /// The node's liveliness token (`None` in an internal handle).
    _token: Option<zenoh::liveliness::LivelinessToken>,
}

/// A ROS node: a zenoh session with a name, a namespace and a domain, announced to the graph.
///
/// Cloning is cheap and shares the session; the session closes when the last clone, publisher
/// and subscriber are dropped.
#[derive(Clone)]
pub struct Node {
    inner: Arc<NodeInner>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("name", &self.fully_qualified_name())
            .field("domain_id", &self.domain_id())
            .field("zid", &self.inner.entity.zid)
            .finish()
    }
}

impl Node {
    /// Starts configuring a node called `name`.
    pub fn builder(name: &str) -> NodeBuilder {
        NodeBuilder {
            name: name.to_string(),
            namespace: "/".to_string(),
            network: NetworkOptions::default(),
            shared_memory: SharedMemory::default(),
            parameter_overrides: ParameterOverrides::default(),
            start_parameter_services: true,
            allow_undeclared_parameters: false,
            use_sim_time: false,
        }
    }

    /// The node's name.
    pub fn name(&self) -> &str {
        &self.inner.entity.node_name
    }

    /// The node's namespace.
    pub fn namespace(&self) -> &str {
        &self.inner.entity.namespace
    }

    /// Namespace and name, such as `/robot1/camera`.
    pub fn fully_qualified_name(&self) -> String {
        self.inner.entity.node_fqn()
    }

    /// The ROS domain id.
    pub fn domain_id(&self) -> u32 {
        self.inner.entity.domain_id
    }

    /// The node's ROS time now (`/clock` with `use_sim_time`, else the system clock).
    pub fn now(&self) -> crate::time::Time {
        self.inner.clock.now()
    }

    /// The node's ROS clock (give it to filters so they follow the node's time).
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// True when the node's time follows `/clock`.
    pub fn use_sim_time(&self) -> bool {
        self.inner.clock.is_sim_time()
    }

    /// Starts the node's time source on `/clock` if `use_sim_time`, and switches it (the clock
    /// at once, the `/clock` subscription in the background) whenever the `use_sim_time`
    /// parameter changes, as rclcpp's `TimeSource` does.
    async fn start_time_source(&self, use_sim_time: bool) -> Result<()> {
        let source =
            time_source::TimeSource::start(self.internal(), self.inner.clock.clone(), use_sim_time)
                .await?;
        let inner = &self.inner;
        if inner.time_source.set(source).is_err() {
            return Ok(());
        }
        // Reads the parameter itself rather than the change: after-set callbacks of two
        // concurrent sets may run in either order, the stored value is the last one applied.
        let node = Arc::downgrade(&self.inner);
        let switch = inner
            .params
            .add_after_set(Arc::new(move |changes: &[Parameter]| {
                let Some(node) = node.upgrade() else {
                    return;
                };
                if !changes.iter().any(|p| p.name == "use_sim_time") {
                    return;
                }
                let on = node.params.get("use_sim_time") == Some(ParameterValue::Bool(true));
                if let Some(source) = node.time_source.get() {
                    source.switch(&node.clock, on);
                }
            }));
        let _ = inner._use_sim_time_switch.set(switch);
        Ok(())
    }

    /// A tick stream every `period` of the node's ROS time (see [`timer`] for the rule on
    /// missed ticks and jumps).
    pub fn timer(&self, period: Duration) -> Result<Timer> {
        Timer::new(self.inner.clock.clone(), period)
    }

    /// Calls `callback` every `period` of the node's ROS time on a tokio task, until the
    /// handle is dropped.
    pub fn create_timer(
        &self,
        period: Duration,
        callback: impl FnMut() + Send + 'static,
    ) -> Result<TimerHandle> {
        Ok(TimerHandle::spawn(self.timer(period)?, callback))
    }

    /// Calls `callback` every `period` of steady (wall) time, whatever the node's clock.
    pub fn create_wall_timer(
        &self,
        period: Duration,
        callback: impl FnMut() + Send + 'static,
    ) -> Result<TimerHandle> {
        Ok(TimerHandle::spawn(
            Timer::new(Clock::steady(), period)?,
            callback,
        ))
    }

    /// A [`Rate`] of `hz` on the node's ROS time.
    pub fn rate(&self, hz: f64) -> Result<Rate> {
        Rate::new(self.inner.clock.clone(), hz)
    }

    /// This node's shared-memory settings.
    pub fn shared_memory(&self) -> &SharedMemory {
        self.inner.shm.settings()
    }

    /// How many big messages this node's publishers wrote into shared memory, and how many
    /// took the network path instead.
    pub fn shm_stats(&self) -> ShmStats {
        self.inner.shm.stats()
    }

    pub(crate) fn shm(&self) -> &shm::ShmPool {
        &self.inner.shm
    }

    /// The underlying zenoh session, for anything rosync does not wrap.
    pub fn session(&self) -> &zenoh::Session {
        &self.inner.session
    }

    /// Resolves a topic name against this node (`chatter`, `/abs`, `~/private`).
    pub fn resolve_topic(&self, topic: &str) -> Result<String> {
        names::resolve_topic(self.namespace(), self.name(), topic)
    }

    /// Starts declaring a publisher of `T` on `topic`.
    pub fn publisher<T: Message>(&self, topic: &str) -> PublisherBuilder<T> {
        PublisherBuilder::new(self.clone(), topic)
    }

    /// Starts declaring a subscriber of `T` on `topic`.
    pub fn subscriber<T: Message>(&self, topic: &str) -> SubscriberBuilder<T> {
        SubscriberBuilder::new(self.clone(), topic)
    }

    /// Starts declaring a publisher of already encoded payloads of a type given by name and hash.
    pub fn raw_publisher(
        &self,
        topic: &str,
        type_name: &str,
        type_hash: &str,
    ) -> RawPublisherBuilder {
        RawPublisherBuilder::new(self.clone(), topic, type_name, type_hash)
    }

    /// Starts declaring a subscriber that yields payloads of one type (`Some(identity)`) or of
    /// whatever type is published on the topic (`None`).
    pub fn raw_subscriber(
        &self,
        topic: &str,
        accepted: Option<TypeIdentity>,
    ) -> RawSubscriberBuilder {
        RawSubscriberBuilder::new(self.clone(), topic, accepted)
    }

    /// Starts declaring a server of service `S` on `service` that answers with `handler`.
    pub fn service<S, F, Fut>(
        &self,
        service: &str,
        handler: F,
    ) -> service::ServiceServerBuilder<S, F>
    where
        S: crate::msg::Service,
        F: Fn(S::Request) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = std::result::Result<S::Response, HandlerError>>
            + Send
            + 'static,
    {
        service::ServiceServerBuilder::new(self.clone(), service, handler)
    }

    /// Starts declaring a client of service `S` on `service`.
    pub fn client<S: crate::msg::Service>(&self, service: &str) -> service::ClientBuilder<S> {
        service::ClientBuilder::new(self.clone(), service)
    }

    /// Starts declaring a client of a service type given by name and hash, with CDR payloads.
    pub fn raw_client(&self, service: &str, identity: TypeIdentity) -> service::RawClientBuilder {
        service::RawClientBuilder::new(self.clone(), service, identity)
    }

    /// Every graph entity (nodes, publishers, subscribers, service servers and clients) in
    /// this node's domain, its own included.
    ///
    /// The answer comes from the node's live view of the graph, a liveliness subscription
    /// with history that the first call starts and that lives as long as the node, so it does
    /// not depend on when a query reaches a router. The first call waits until the session has
    /// a router or peer link and neither its links nor the view changed for 200 ms, at most
    /// `timeout`; later calls answer at once with every entity announced and not withdrawn.
    pub async fn graph(&self, timeout: Duration) -> Result<Vec<Entity>> {
        Ok(self
            .graph_view()
            .await?
            .entities(self.session(), timeout)
            .await)
    }

    /// Waits until an entity joins or leaves this node's graph view (forever if the view
    /// cannot start; [`graph`](Self::graph) reports that error).
    pub(crate) async fn graph_changed(&self) {
        match self.graph_view().await {
            Ok(view) => view.changed().await,
            Err(_) => std::future::pending().await,
        }
    }

    /// The node's live graph view, started on first use.
    async fn graph_view(&self) -> Result<&graph_view::GraphView> {
        self.inner
            .graph
            .get_or_try_init(|| graph_view::GraphView::start(self.session(), self.domain_id()))
            .await
    }

    /// True once the node's session has a zenoh router or peer to talk to.
    #[cfg(feature = "cli")]
    pub(crate) async fn has_link(&self) -> bool {
        network::has_link(self.session()).await
    }

    /// A handle sharing this node's session, name and entity ids but not its lifetime, for
    /// what the node itself owns (its parameter services), so they hold no cycle.
    fn internal(&self) -> Node {
        let inner = &self.inner;
        Node {
            inner: Arc::new(NodeInner {
                param_services: tokio::sync::OnceCell::new(),
                start_parameter_services: false,
                graph: tokio::sync::OnceCell::new(),
                clock: inner.clock.clone(),
                time_source: std::sync::OnceLock::new(),
                session: inner.session.clone(),
                shm: inner.shm.clone(),
                entity: inner.entity.clone(),
                next_entity_id: inner.next_entity_id.clone(),
                // Not the node's store: the store's event publisher holds this handle.
                params: Arc::new(ParameterStore::new(
                    &inner.entity.node_fqn(),
                    Default::default(),
                )),
                _use_sim_time_switch: std::sync::OnceLock::new(),
                _token: None,
            }),
        }
    }

    /// Starts the parameter services and `/parameter_events` publisher once, unless they are
    /// turned off.
    async fn start_parameter_services(&self) -> Result<()> {
        if self.inner.start_parameter_services {
            self.inner
                .param_services
                .get_or_try_init(|| {
                    params::ParameterServices::start(self.internal(), self.inner.params.clone())
                })
                .await?;
        }
        Ok(())
    }

    /// Declares parameter `name` with `default` (or its start-up override) and `descriptor`;
    /// returns the value it starts with. The first declaration starts the node's parameter
    /// services and `/parameter_events` publisher (see [`params`]).
    pub async fn declare_parameter(
        &self,
        name: &str,
        default: impl Into<ParameterValue>,
        descriptor: ParameterDescriptor,
    ) -> Result<ParameterValue> {
        self.start_parameter_services().await?;
        Ok(self
            .inner
            .params
            .declare(name, default.into(), descriptor)?)
    }

    /// The value of parameter `name` as `T`, or `None` when it is not declared or holds
    /// another type.
    pub fn parameter<T: FromParameterValue>(&self, name: &str) -> Option<T> {
        self.inner.params.get(name).and_then(|v| T::from_value(&v))
    }

    /// Sets one parameter, checked as ROS 2 checks it and by the on-set callbacks.
    pub fn set_parameter(&self, parameter: Parameter) -> std::result::Result<(), ParameterError> {
        self.inner.params.set_atomically(&[parameter])
    }

    /// Sets all `parameters` or, if any is refused, none.
    pub fn set_parameters_atomically(
        &self,
        parameters: &[Parameter],
    ) -> std::result::Result<(), ParameterError> {
        self.inner.params.set_atomically(parameters)
    }

    /// Registers a callback that sees every change before it is applied and can refuse it
    /// with a reason (`Err`); it stays registered until the handle is dropped.
    pub fn on_set_parameters<F>(&self, callback: F) -> OnSetParametersHandle
    where
        F: Fn(&[Parameter]) -> std::result::Result<(), String> + Send + Sync + 'static,
    {
        self.inner.params.add_on_set(Arc::new(callback))
    }

    /// Registers a callback run after each applied change (a declaration included), such as
    /// a switch of `use_sim_time`; it stays registered until the handle is dropped.
    pub fn after_set_parameters<F>(&self, callback: F) -> OnSetParametersHandle
    where
        F: Fn(&[Parameter]) + Send + Sync + 'static,
    {
        self.inner.params.add_after_set(Arc::new(callback))
    }

    /// The node's parameter store (names, descriptors, every value).
    pub fn parameters(&self) -> &Arc<ParameterStore> {
        &self.inner.params
    }

    /// The graph entity of a new publisher or subscriber of this node.
    pub(crate) fn entity_for(&self, kind: EntityKind, topic: TopicInfo) -> Entity {
        let id = self.inner.next_entity_id.fetch_add(1, Ordering::Relaxed);
        Entity {
            entity_id: id,
            kind,
            topic: Some(topic),
            ..self.inner.entity.clone()
        }
    }
}
