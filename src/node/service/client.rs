//! Service clients: [`RawClient`] sends CDR requests of a service type given by name and hash;
//! [`Client<S>`] encodes `S::Request` and decodes `S::Response`.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use tokio::time::Instant;
use zenoh::query::{ConsolidationMode, QueryTarget};

use super::service_qos;
use crate::cdr::{self, CdrError};
use crate::error::{Error, Result};
use crate::msg::{Service, TypeIdentity};
use crate::node::attachment::Attachment;
use crate::node::graph::{gid_from_token, topic_key_expr, EntityKind, TopicInfo};
use crate::node::Node;

/// Why a service call returned no response.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// No response came within the timeout.
    #[error("service {service}: no response within {timeout:?}")]
    Timeout {
        /// The service called.
        service: String,
        /// The timeout given.
        timeout: Duration,
    },
    /// Every server reached ended the request without a response (no server, or the
    /// server's handler failed).
    #[error("service {service}: no server answered (none is available, or its handler failed)")]
    NoResponse {
        /// The service called.
        service: String,
    },
    /// The request could not be encoded or the response decoded.
    #[error("service {service}: {source}")]
    Cdr {
        /// The service called.
        service: String,
        /// The CDR error.
        source: CdrError,
    },
    /// The server answered with an error (a zenoh error reply).
    #[error("service {service}: the server replied with an error: {reason}")]
    ErrorReply {
        /// The service called.
        service: String,
        /// The error's payload as text.
        reason: String,
    },
    /// The query could not be sent.
    #[error("service {service}: {reason}")]
    Zenoh {
        /// The service called.
        service: String,
        /// What went wrong.
        reason: String,
    },
}

/// Configures a [`RawClient`]; `.await` it to declare the client.
#[must_use = "a client builder does nothing until awaited"]
pub struct RawClientBuilder {
    node: Node,
    service: String,
    identity: TypeIdentity,
}

impl RawClientBuilder {
    pub(crate) fn new(node: Node, service: &str, identity: TypeIdentity) -> Self {
        Self {
            node,
            service: service.to_string(),
            identity,
        }
    }

    async fn declare(self) -> Result<RawClient> {
        let name = self.node.resolve_topic(&self.service)?;
        if crate::msg::dds_type_name(&self.identity.name).is_none() {
            return Err(Error::UnknownType(self.identity.name));
        }
        let key = topic_key_expr(
            self.node.domain_id(),
            &name,
            &self.identity.name,
            &self.identity.hash,
        );
        let entity = self.node.entity_for(
            EntityKind::ServiceClient,
            TopicInfo {
                name: name.clone(),
                type_name: self.identity.name.clone(),
                type_hash: self.identity.hash.clone(),
                qos: service_qos(),
            },
        );
        let token_key = entity.token();
        let token = self
            .node
            .session()
            .liveliness()
            .declare_token(token_key.clone())
            .await
            .map_err(|e| Error::zenoh(&format!("cannot announce client of {name}"), e))?;
        tracing::debug!(service = %name, %key, "service client declared");
        Ok(RawClient {
            name,
            key,
            identity: self.identity,
            gid: gid_from_token(&token_key),
            sequence: AtomicI64::new(0),
            _token: token,
            node: self.node,
        })
    }
}

impl IntoFuture for RawClientBuilder {
    type Output = Result<RawClient>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.declare())
    }
}

/// Calls a service of a type given by name and hash with CDR payloads.
pub struct RawClient {
    name: String,
    key: String,
    identity: TypeIdentity,
    gid: [u8; 16],
    sequence: AtomicI64,
    _token: zenoh::liveliness::LivelinessToken,
    node: Node,
}

impl std::fmt::Debug for RawClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawClient")
            .field("name", &self.name)
            .field("key", &self.key)
            .finish()
    }
}

impl RawClient {
    /// The fully qualified service name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The zenoh key expression requests are sent on.
    pub fn key_expr(&self) -> &str {
        &self.key
    }

    /// The client's 16-byte GID, carried in every request's attachment.
    pub fn gid(&self) -> [u8; 16] {
        self.gid
    }

    /// Sends a CDR request and returns the CDR response, waiting at most `timeout`.
    pub async fn call_payload(
        &self,
        request: Vec<u8>,
        timeout: Duration,
    ) -> std::result::Result<Vec<u8>, CallError> {
        let sequence_number = self.sequence.fetch_add(1, Ordering::Relaxed) + 1;
        let attachment = Attachment {
            sequence_number,
            source_timestamp: crate::time::now_nanos(),
            gid: self.gid,
        };
        let service = || self.name.clone();
        let call = async {
            let replies = self
                .node
                .session()
                .get(self.key.as_str())
                .payload(request)
                .attachment(attachment.to_bytes().to_vec())
                .target(QueryTarget::AllComplete)
                .consolidation(ConsolidationMode::None)
                // zenoh's own deadline comes after ours, so a late answer is a `Timeout`.
                .timeout(timeout.saturating_add(Duration::from_secs(1)))
                .await
                .map_err(|e| CallError::Zenoh {
                    service: service(),
                    reason: crate::error::zenoh_text(e),
                })?;
            while let Ok(reply) = replies.recv_async().await {
                let sample = match reply.result() {
                    Ok(sample) => sample,
                    Err(e) => {
                        return Err(CallError::ErrorReply {
                            service: service(),
                            reason: String::from_utf8_lossy(&e.payload().to_bytes()).into_owned(),
                        })
                    }
                };
                let answered = sample
                    .attachment()
                    .and_then(|a| Attachment::from_bytes(&a.to_bytes()).ok());
                match answered {
                    Some(a) if a.sequence_number == sequence_number && a.gid == self.gid => {
                        return Ok(sample.payload().to_bytes().into_owned());
                    }
                    other => tracing::warn!(service = %self.name, attachment = ?other,
                        "reply ignored: it does not carry this request's sequence number and GID"),
                }
            }
            Err(CallError::NoResponse { service: service() })
        };
        match tokio::time::timeout(timeout, call).await {
            Ok(result) => result,
            Err(_) => Err(CallError::Timeout {
                service: service(),
                timeout,
            }),
        }
    }

    /// Waits until a server of this service and type is in the graph, at most `timeout`;
    /// true if one is.
    pub async fn wait_for_service(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let changed = self.node.graph_changed();
            let left = deadline.saturating_duration_since(Instant::now());
            if let Ok(entities) = self.node.graph(left).await {
                let found = entities.iter().any(|e| {
                    e.kind == EntityKind::ServiceServer
                        && e.topic.as_ref().is_some_and(|t| {
                            t.name == self.name
                                && t.type_name == self.identity.name
                                && t.type_hash == self.identity.hash
                        })
                });
                if found {
                    return true;
                }
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return false;
            }
        }
    }
}

/// Configures a [`Client<S>`]; `.await` it to declare the client.
#[must_use = "a client builder does nothing until awaited"]
pub struct ClientBuilder<S> {
    raw: RawClientBuilder,
    _type: PhantomData<fn() -> S>,
}

impl<S: Service> ClientBuilder<S> {
    pub(crate) fn new(node: Node, service: &str) -> Self {
        Self {
            raw: RawClientBuilder::new(
                node,
                service,
                TypeIdentity::new(S::TYPE_NAME, S::TYPE_HASH),
            ),
            _type: PhantomData,
        }
    }
}

impl<S: Service> IntoFuture for ClientBuilder<S> {
    type Output = Result<Client<S>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            Ok(Client {
                raw: self.raw.await?,
                _type: PhantomData,
            })
        })
    }
}

/// Calls a service of type `S`.
pub struct Client<S> {
    raw: RawClient,
    _type: PhantomData<fn() -> S>,
}

impl<S> std::fmt::Debug for Client<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.raw.fmt(f)
    }
}

impl<S: Service> Client<S> {
    /// Sends `request` and waits at most `timeout` for the response.
    pub async fn call(
        &self,
        request: &S::Request,
        timeout: Duration,
    ) -> std::result::Result<S::Response, CallError> {
        let cdr_error = |source| CallError::Cdr {
            service: self.raw.name.clone(),
            source,
        };
        let payload = cdr::encode(request).map_err(cdr_error)?;
        let response = self.raw.call_payload(payload, timeout).await?;
        cdr::decode(&response).map_err(cdr_error)
    }

    /// Waits until a server of this service is in the graph, at most `timeout`; true if one is.
    pub async fn wait_for_service(&self, timeout: Duration) -> bool {
        self.raw.wait_for_service(timeout).await
    }

    /// The untyped client underneath.
    pub fn raw(&self) -> &RawClient {
        &self.raw
    }
}
