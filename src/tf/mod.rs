//! tf2 for rosync: a transform [`Buffer`] with tf2's semantics (`BufferCore`), checked against
//! tf2 itself (`tests/tf_golden`).
//!
//! - `buffer.rs`: [`Buffer`] — set transforms, look them up (also through a fixed frame),
//!   `can_transform`, `wait_for_transform`, change notification, the frame tree snapshot.
//! - `time_cache.rs`: one frame's history (dynamic, or static), interpolation.
//! - `errors.rs`: [`TfError`], tf2's error classes with frames and times.
//! - `math.rs`: quaternion and rigid-transform arithmetic as tf2 computes it.
//! - `frames.rs`: [`FrameInfo`] for `tf frames`.
//! - `timeline.rs`: the text timelines of the conformance tests and the benchmark.
//! - `listener.rs`, `broadcaster.rs`, `qos.rs`: [`TransformListener`],
//!   [`TransformBroadcaster`], [`StaticTransformBroadcaster`] on `/tf` and `/tf_static`.
//! - `message_filter.rs`: [`MessageFilter`], which holds messages until their transforms are
//!   available.

mod buffer;
#[cfg(test)]
mod buffer_tests;
mod errors;
mod frames;
pub mod math;
mod time_cache;
pub mod timeline;

pub use buffer::{Buffer, DEFAULT_CACHE_TIME};
pub use errors::{code, Extrapolation, Rejection, TfError};
pub use frames::FrameInfo;
pub use math::RigidTransform;

// On top of the buffer: the network side, the message filter, tf2_ros's topics and QoS.
mod broadcaster;
mod listener;
mod message_filter;
pub mod qos;

pub use broadcaster::{StaticTransformBroadcaster, TransformBroadcaster};
pub use listener::{ListenerStats, TransformListener};
pub use message_filter::{
    MessageFilter, MessageFilterBuilder, TfDropEvent, TfDropReason, TfFilterStats,
};
