//! [`CameraPublisher`]: publishes an image and its camera info with one header.

use super::CameraTopics;
use crate::error::Result;
use crate::msg::sensor_msgs::{CameraInfo, Image};
use crate::node::{Node, Publisher, QosProfile};

/// Publishes images and their camera info on a camera's two topics, as image_transport's
/// `CameraPublisher` does.
#[derive(Debug)]
pub struct CameraPublisher {
    image: Publisher<Image>,
    info: Publisher<CameraInfo>,
}

impl CameraPublisher {
    /// Publishers of `topics` (a base name such as `"camera"`, or [`CameraTopics`]) with the
    /// default QoS.
    pub async fn new(node: &Node, topics: impl Into<CameraTopics>) -> Result<Self> {
        Self::with_qos(node, topics, QosProfile::default()).await
    }

    /// Publishers of `topics` with `qos` for both.
    pub async fn with_qos(
        node: &Node,
        topics: impl Into<CameraTopics>,
        qos: QosProfile,
    ) -> Result<Self> {
        let topics = topics.into();
        let image = node
            .publisher::<Image>(&topics.image_topic())
            .qos(qos)
            .await?;
        let info = node
            .publisher::<CameraInfo>(&topics.info_topic())
            .qos(qos)
            .await?;
        Ok(Self { image, info })
    }

    /// Publishes `image`, then `info` with the image's header (stamp and frame id), so a
    /// [`CameraSubscriber`](super::CameraSubscriber) pairs them; `info`'s own header is not used.
    pub async fn publish(&self, image: &Image, info: &CameraInfo) -> Result<()> {
        let info = with_header_of(image, info);
        self.image.publish(image).await?;
        self.info.publish(&info).await
    }

    /// The same without waiting (for callbacks outside async code).
    pub fn publish_now(&self, image: &Image, info: &CameraInfo) -> Result<()> {
        let info = with_header_of(image, info);
        self.image.publish_now(image)?;
        self.info.publish_now(&info)
    }

    /// Waits until both topics have a subscription, at most `timeout`; true if they do.
    pub async fn wait_for_subscribers(&self, timeout: std::time::Duration) -> bool {
        self.image.wait_for_subscribers(timeout).await
            && self.info.wait_for_subscribers(timeout).await
    }

    /// The image publisher.
    pub fn image_publisher(&self) -> &Publisher<Image> {
        &self.image
    }

    /// The camera info publisher.
    pub fn info_publisher(&self) -> &Publisher<CameraInfo> {
        &self.info
    }
}

/// `info` with `image`'s header.
fn with_header_of(image: &Image, info: &CameraInfo) -> CameraInfo {
    CameraInfo {
        header: image.header.clone(),
        ..info.clone()
    }
}
