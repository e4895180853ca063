//! rosync: ROS-style robotics nodes in Rust.
//!
//! Typed ROS 2 messages ([`msg`]) are encoded as CDR ([`cdr`]) and published over zenoh by
//! [`node::Node`]s, byte-compatible with ROS 2 nodes that run `rmw_zenoh`.
//!
//! ```no_run
//! use rosync::prelude::*;
//! use rosync::msg::std_msgs;
//!
//! # async fn run() -> Result<(), rosync::Error> {
//! let node = Node::builder("talker").build().await?;
//! let publisher = node.publisher::<std_msgs::String>("/chatter").await?;
//! publisher.publish(&std_msgs::String { data: "hello".into() }).await?;
//! # Ok(()) }
//! ```

pub mod bag;
pub mod cdr;
#[cfg(feature = "cli")]
pub mod cli;
pub mod filters;
pub mod image_transport;
pub mod msg;
pub mod time;

pub use time::{Duration, Time};

/// Re-exports for generated code; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use serde;
}

/// Includes the message packages a build script generated with `rosync_msggen::generate`.
#[macro_export]
macro_rules! include_msgs {
    () => {
        include!(concat!(env!("OUT_DIR"), "/rosync_msgs.rs"));
    };
}

mod error;
mod lock;
pub mod node;
pub mod sync;
pub mod tf;

pub use error::{Error, Result};

/// The types most nodes need.
pub mod prelude {
    pub use crate::msg::{Message, Service, Stamped};
    pub use crate::node::{Node, Publisher, Subscriber};
    pub use crate::time::{Duration, Time};
}

/// The README's code blocks, compiled as doc tests so they stay true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
