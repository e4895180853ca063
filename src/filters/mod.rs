//! The message_filters connection model: filters that receive messages and pass them on.
//!
//! A filter has an output side, [`Filter`], whose [`Signal`] calls every connected callback
//! in connection order, and usually an input side, [`Input`], fed with
//! [`add`](Input::add). Connecting returns a [`Connection`]; dropping it disconnects.
//! Messages travel as `Arc<M>`: every callback and filter downstream shares one message,
//! which is never copied.
//!
//! The filters, as in ROS `message_filters`:
//!
//! - [`SubscriberFilter`] emits the messages of a topic;
//! - [`PassThrough`] emits what it is fed;
//! - [`Cache`] keeps the last N messages by stamp and answers time queries;
//! - [`TimeSequencer`] delays messages and releases them in stamp order;
//! - [`Chain`] runs filters in order as one.
//!
//! No lock is held while a callback runs, so a callback may connect, disconnect, or feed
//! other filters, or the one that called it.
//!
//! # Examples
//!
//! ```
//! use std::sync::Arc;
//! use rosync::filters::{connect_input, Cache, Filter, Input, PassThrough};
//! use rosync::msg::std_msgs::Header;
//! use rosync::Time;
//!
//! let source = PassThrough::<Header>::new();
//! let cache = Arc::new(Cache::<Header>::new(100));
//! let _link = connect_input(&source, &cache);
//! let _printer = cache.connect(|header: &Arc<Header>| println!("cached {:?}", header.stamp));
//!
//! for sec in [3, 1, 2] {
//!     source.add(Arc::new(Header { stamp: Time { sec, nanosec: 0 }, ..Default::default() }));
//! }
//! let stamps: Vec<i32> = cache
//!     .get_interval(Time { sec: 1, nanosec: 0 }, Time { sec: 2, nanosec: 0 })
//!     .iter()
//!     .map(|h| h.stamp.sec)
//!     .collect();
//! assert_eq!(stamps, [1, 2]);
//! ```
//!
//! From a topic, inside a tokio runtime:
//!
//! ```no_run
//! use std::sync::Arc;
//! use rosync::filters::{connect_input, Cache, SubscriberFilter};
//! use rosync::msg::sensor_msgs::Imu;
//! use rosync::prelude::*;
//!
//! # async fn run(node: Node) -> Result<(), rosync::Error> {
//! let imu = SubscriberFilter::<Imu>::new(&node, "/imu", 10).await?;
//! let history = Arc::new(Cache::<Imu>::new(200));
//! let _link = connect_input(&imu, &history);
//! // ... later: the IMU samples around an image's stamp.
//! let around = history.get_surrounding_interval(Time::from_nanos(1), Time::from_nanos(2));
//! # drop(around);
//! # Ok(()) }
//! ```

mod cache;
mod chain;
pub(crate) mod outbox;
mod pass_through;
mod signal;
mod subscriber_filter;
mod time_sequencer;
mod traits;

pub use cache::Cache;
pub use chain::Chain;
pub use pass_through::PassThrough;
pub use signal::{Connection, Signal};
pub use subscriber_filter::SubscriberFilter;
pub use time_sequencer::TimeSequencer;
pub use traits::{connect_input, Filter, Input};
