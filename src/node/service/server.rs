//! [`ServiceServer`]: a queryable that answers each request with an async handler.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures::FutureExt;
use tokio::sync::{mpsc, Semaphore};
use zenoh::query::Query;

use super::service_qos;
use crate::cdr;
use crate::error::{Error, Result};
use crate::msg::Service;
use crate::node::attachment::Attachment;
use crate::node::graph::{topic_key_expr, EntityKind, TopicInfo};
use crate::node::Node;

/// The error a handler returns: the request is answered to no one and the error logged.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// Counters of a server; every request received lands in exactly one of the others once done.
#[derive(Debug, Default)]
pub struct ServiceStats {
    received: AtomicU64,
    answered: AtomicU64,
    failed: AtomicU64,
    panicked: AtomicU64,
    rejected: AtomicU64,
    overflowed: AtomicU64,
}

impl ServiceStats {
    /// Requests that reached the server.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// Requests answered with a response.
    pub fn answered(&self) -> u64 {
        self.answered.load(Ordering::Relaxed)
    }

    /// Requests whose handler returned an error (answered to no one).
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    /// Requests whose handler panicked (answered to no one).
    pub fn panicked(&self) -> u64 {
        self.panicked.load(Ordering::Relaxed)
    }

    /// Requests refused before the handler: no or a bad attachment, an undecodable payload,
    /// or a response that could not be encoded or sent.
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }

    /// Requests dropped because the server's queue of waiting requests was full.
    pub fn overflowed(&self) -> u64 {
        self.overflowed.load(Ordering::Relaxed)
    }

    fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Configures a [`ServiceServer`]; `.await` it to declare the server.
#[must_use = "a service builder does nothing until awaited"]
pub struct ServiceServerBuilder<S, F> {
    node: Node,
    service: String,
    handler: F,
    max_concurrent: usize,
    queue_size: usize,
    _type: PhantomData<fn() -> S>,
}

impl<S, F, Fut> ServiceServerBuilder<S, F>
where
    S: Service,
    F: Fn(S::Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = std::result::Result<S::Response, HandlerError>> + Send + 'static,
{
    pub(crate) fn new(node: Node, service: &str, handler: F) -> Self {
        Self {
            node,
            service: service.to_string(),
            handler,
            max_concurrent: 64,
            queue_size: 1024,
            _type: PhantomData,
        }
    }

    /// How many requests the handler serves at once (default 64, at least 1).
    pub fn max_concurrent(mut self, n: usize) -> Self {
        self.max_concurrent = n.max(1);
        self
    }

    /// How many requests may wait for a free handler slot (default 1024, at least 1); more
    /// are dropped unanswered and counted in [`ServiceStats::overflowed`].
    pub fn queue_size(mut self, n: usize) -> Self {
        self.queue_size = n.max(1);
        self
    }

    async fn declare(self) -> Result<ServiceServer<S>> {
        let name = self.node.resolve_topic(&self.service)?;
        let key = topic_key_expr(self.node.domain_id(), &name, S::TYPE_NAME, S::TYPE_HASH);
        let stats = Arc::new(ServiceStats::default());
        let (tx, rx) = mpsc::channel::<Query>(self.queue_size);
        let (callback_stats, callback_name) = (stats.clone(), name.clone());
        let queryable = self
            .node
            .session()
            .declare_queryable(key.clone())
            .complete(true)
            .callback(move |query| {
                ServiceStats::count(&callback_stats.received);
                if tx.try_send(query).is_err() {
                    ServiceStats::count(&callback_stats.overflowed);
                    tracing::warn!(service = %callback_name, "request queue full: request dropped");
                }
            })
            .await
            .map_err(|e| Error::zenoh(&format!("cannot declare service {name}"), e))?;
        let entity = self.node.entity_for(
            EntityKind::ServiceServer,
            TopicInfo {
                name: name.clone(),
                type_name: S::TYPE_NAME.to_string(),
                type_hash: S::TYPE_HASH.to_string(),
                qos: service_qos(),
            },
        );
        let token = self
            .node
            .session()
            .liveliness()
            .declare_token(entity.token())
            .await
            .map_err(|e| Error::zenoh(&format!("cannot announce service {name}"), e))?;
        let dispatcher = tokio::spawn(dispatch::<S, F, Fut>(
            rx,
            Arc::new(self.handler),
            Arc::new(Semaphore::new(self.max_concurrent)),
            Served {
                key: key.clone(),
                name: name.clone(),
                stats: stats.clone(),
            },
        ));
        tracing::debug!(service = %name, %key, "service server declared");
        Ok(ServiceServer {
            name,
            key,
            stats,
            dispatcher,
            _queryable: queryable,
            _token: token,
            _node: self.node,
            _type: PhantomData,
        })
    }
}

impl<S, F, Fut> IntoFuture for ServiceServerBuilder<S, F>
where
    S: Service,
    F: Fn(S::Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = std::result::Result<S::Response, HandlerError>> + Send + 'static,
{
    type Output = Result<ServiceServer<S>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.declare())
    }
}

/// What every request task of one server shares.
#[derive(Clone)]
struct Served {
    key: String,
    name: String,
    stats: Arc<ServiceStats>,
}

/// Takes waiting requests in order and runs each in its own task once a slot is free.
async fn dispatch<S, F, Fut>(
    mut rx: mpsc::Receiver<Query>,
    handler: Arc<F>,
    slots: Arc<Semaphore>,
    served: Served,
) where
    S: Service,
    F: Fn(S::Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = std::result::Result<S::Response, HandlerError>> + Send + 'static,
{
    while let Some(query) = rx.recv().await {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let Some((request, attachment)) = read_request::<S>(&query, &served) else {
            continue;
        };
        let served = served.clone();
        let handler = handler.clone();
        tokio::spawn(async move {
            let _permit = permit;
            // A panic while making the future or while running it is caught alike.
            let work = AssertUnwindSafe(async move { (handler)(request).await });
            match work.catch_unwind().await {
                Ok(Ok(response)) => reply::<S>(query, &response, attachment, &served).await,
                Ok(Err(e)) => {
                    ServiceStats::count(&served.stats.failed);
                    tracing::error!(service = %served.name, error = %e,
                        "service handler failed: request not answered");
                }
                Err(panic) => {
                    ServiceStats::count(&served.stats.panicked);
                    let what = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_default();
                    tracing::error!(service = %served.name, panic = %what,
                        "service handler panicked: request not answered");
                }
            }
        });
    }
}

/// The request and its attachment, or `None` (counted and logged) if either is bad.
fn read_request<S: Service>(query: &Query, served: &Served) -> Option<(S::Request, Attachment)> {
    let reject = |what: String| {
        ServiceStats::count(&served.stats.rejected);
        tracing::warn!(service = %served.name, "request rejected: {what}");
        None
    };
    let attachment = match query
        .attachment()
        .map(|a| Attachment::from_bytes(&a.to_bytes()))
    {
        Some(Ok(a)) => a,
        Some(Err(e)) => return reject(e.to_string()),
        None => return reject("it has no attachment (rmw_zenoh requires one)".into()),
    };
    let payload = query.payload().map(|p| p.to_bytes()).unwrap_or_default();
    match cdr::decode::<S::Request>(&payload) {
        Ok(request) => Some((request, attachment)),
        Err(e) => reject(format!("its payload is not a {}: {e}", S::TYPE_NAME)),
    }
}

/// Sends the response with the request's sequence number and client GID.
async fn reply<S: Service>(
    query: Query,
    response: &S::Response,
    request: Attachment,
    served: &Served,
) {
    let payload = match cdr::encode(response) {
        Ok(payload) => payload,
        Err(e) => {
            ServiceStats::count(&served.stats.rejected);
            tracing::error!(service = %served.name, error = %e, "cannot encode the response");
            return;
        }
    };
    let attachment = Attachment {
        source_timestamp: crate::time::now_nanos(),
        ..request
    };
    let sent = query
        .reply(served.key.clone(), payload)
        .attachment(attachment.to_bytes().to_vec())
        .await;
    match sent {
        Ok(()) => ServiceStats::count(&served.stats.answered),
        Err(e) => {
            ServiceStats::count(&served.stats.rejected);
            tracing::warn!(service = %served.name, error = %crate::error::zenoh_text(e),
                "cannot send the response");
        }
    }
}

/// A service server: answers requests of `S` with its handler until dropped.
pub struct ServiceServer<S> {
    name: String,
    key: String,
    stats: Arc<ServiceStats>,
    dispatcher: tokio::task::JoinHandle<()>,
    _queryable: zenoh::query::Queryable<()>,
    _token: zenoh::liveliness::LivelinessToken,
    _node: Node,
    _type: PhantomData<fn() -> S>,
}

impl<S> std::fmt::Debug for ServiceServer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceServer")
            .field("name", &self.name)
            .field("key", &self.key)
            .finish()
    }
}

impl<S> ServiceServer<S> {
    /// The fully qualified service name, such as `/add_two_ints`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The zenoh key expression requests arrive on.
    pub fn key_expr(&self) -> &str {
        &self.key
    }

    /// The server's counters.
    pub fn stats(&self) -> &ServiceStats {
        &self.stats
    }
}

impl<S> Drop for ServiceServer<S> {
    fn drop(&mut self) {
        // Requests already handed to a handler still get their answer.
        self.dispatcher.abort();
    }
}
