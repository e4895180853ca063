//! Services on rmw_zenoh's wire: a [`ServiceServer`] answers requests with an async handler, a
//! [`Client`] calls it.
//!
//! A server is a zenoh queryable declared `complete` on the service's key expression,
//! `<domain>/<service>/<pkg>::srv::dds_::<Type>_/<RIHS01 hash of the service type>`, and a
//! liveliness token of kind `SS`; a client is a token of kind `SC` and sends each request as a
//! query to all complete queryables, CDR request as payload and the 33-byte [`Attachment`]
//! (sequence number, source timestamp, the client's GID). The server answers with the CDR
//! response and an attachment carrying the request's sequence number and client GID, as
//! rmw_zenoh does; a server that does not answer (its handler failed) ends the query without
//! a reply.
//!
//! ```no_run
//! use rosync::prelude::*;
//! use rosync::msg::example_interfaces::{AddTwoInts, AddTwoInts_Response};
//! use std::time::Duration;
//!
//! # async fn run() -> Result<(), rosync::Error> {
//! let node = Node::builder("adder").build().await?;
//! let _server = node
//!     .service::<AddTwoInts, _, _>("add_two_ints", |req| async move {
//!         Ok(AddTwoInts_Response { sum: req.a + req.b })
//!     })
//!     .await?;
//! let client = node.client::<AddTwoInts>("add_two_ints").await?;
//! client.wait_for_service(Duration::from_secs(5)).await;
//! # Ok(()) }
//! ```
//!
//! [`Attachment`]: super::Attachment

mod client;
mod server;

pub use client::{CallError, Client, ClientBuilder, RawClient, RawClientBuilder};
pub use server::{HandlerError, ServiceServer, ServiceServerBuilder, ServiceStats};

use super::graph::qos_string;

/// The QoS field of service tokens: rmw's services default (reliable, volatile, keep last 10).
pub(crate) fn service_qos() -> String {
    qos_string(10)
}
