//! Camera helpers in the style of ROS `image_transport`: an image topic and its
//! `camera_info` topic published together and received as one pair.
//!
//! [`CameraTopics`] names the two topics (`<base>/image_raw` and `<base>/camera_info` by
//! default); [`CameraPublisher`] publishes an image and its info with the same header;
//! [`CameraSubscriber`] joins them by exact stamp (the ExactTime synchronizer) into one
//! callback and reports every message that found no partner.
//!
//! ```no_run
//! use std::sync::Arc;
//! use rosync::image_transport::{CameraPublisher, CameraSubscriber, CameraTopics};
//! use rosync::msg::sensor_msgs::{CameraInfo, Image};
//! use rosync::prelude::*;
//!
//! # async fn run(node: Node) -> Result<(), rosync::Error> {
//! let camera = CameraPublisher::new(&node, "camera").await?;
//! camera.publish(&Image::default(), &CameraInfo::default()).await?;
//!
//! let topics = CameraTopics::new("camera").image_name("image_rect");
//! let _sub = CameraSubscriber::new(&node, topics, 5, |(image, info): (Arc<Image>, Arc<CameraInfo>)| {
//!     println!("{}x{} at {:?} with {}", image.width, image.height, image.stamp(), info.distortion_model);
//! })
//! .await?;
//! # Ok(()) }
//! ```

mod camera_publisher;
mod camera_subscriber;
mod camera_topics;

pub use camera_publisher::CameraPublisher;
pub use camera_subscriber::{CameraStats, CameraSubscriber};
pub use camera_topics::CameraTopics;
