//! [`CameraSubscriber`]: an image topic and its camera info joined by exact stamp.

use std::sync::Arc;

use super::CameraTopics;
use crate::error::Result;
use crate::msg::sensor_msgs::{CameraInfo, Image};
use crate::node::{CallbackSubscriber, Node, SubscriberStats};
use crate::sync::{DropEvent, ExactTime, SyncStats, Synchronizer};

/// The pairs a [`CameraSubscriber`] formed and what it received and dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CameraStats {
    /// The ExactTime synchronizer's counters: pairs (`sets`), and drops per channel
    /// (0: image, 1: camera info) and reason.
    pub sync: SyncStats,
    /// The image subscription's counters.
    pub image: SubscriberStats,
    /// The camera info subscription's counters.
    pub info: SubscriberStats,
}

/// Subscribes to a camera's image and camera info topics and calls back with each image and
/// the info of the very same stamp, as image_transport's `CameraSubscriber` does.
///
/// The pairs are formed by the [`ExactTime`] synchronizer with `queue_size` pending stamps;
/// a message whose partner never comes is dropped and reported like any synchronizer drop
/// ([`on_drop`](Self::on_drop), [`stats`](Self::stats)). Dropping the subscriber unsubscribes.
pub struct CameraSubscriber {
    sync: Synchronizer<(Image, CameraInfo)>,
    image: CallbackSubscriber<Image>,
    info: CallbackSubscriber<CameraInfo>,
}

impl CameraSubscriber {
    /// Subscribes to `topics` (a base name such as `"camera"`, or [`CameraTopics`]), keeping
    /// up to `queue_size` (at least 1) unpaired stamps and messages per topic, and calls
    /// `callback` with every pair.
    ///
    /// Must be called inside a tokio runtime.
    pub async fn new(
        node: &Node,
        topics: impl Into<CameraTopics>,
        queue_size: usize,
        callback: impl Fn((Arc<Image>, Arc<CameraInfo>)) + Send + Sync + 'static,
    ) -> Result<Self> {
        let topics = topics.into();
        let queue_size = queue_size.max(1);
        // Two channels and a queue of at least 1: the only shapes ExactTime refuses are excluded.
        let policy = ExactTime::new(2, queue_size).expect("2 channels, queue size >= 1");
        let sync = Synchronizer::<(Image, CameraInfo)>::new(policy)
            .expect("a 2-channel policy for a 2-tuple");
        sync.register_callback(callback);
        // The synchronizer is complete before the subscriptions start, so no early message
        // passes by unseen.
        let image_sync = sync.clone();
        let image = node
            .subscriber::<Image>(&topics.image_topic())
            .queue_size(queue_size)
            .callback(move |image| image_sync.add::<0>(Arc::new(image)))
            .await?;
        let info_sync = sync.clone();
        let info = node
            .subscriber::<CameraInfo>(&topics.info_topic())
            .queue_size(queue_size)
            .callback(move |info| info_sync.add::<1>(Arc::new(info)))
            .await?;
        Ok(Self { sync, image, info })
    }

    /// Calls `f` with every image or camera info dropped without a partner (channel 0: image,
    /// 1: camera info).
    pub fn on_drop(&self, f: impl Fn(&DropEvent) + Send + Sync + 'static) {
        self.sync.on_drop(f);
    }

    /// The counters so far.
    pub fn stats(&self) -> CameraStats {
        CameraStats {
            sync: self.sync.stats(),
            image: self.image.stats(),
            info: self.info.stats(),
        }
    }

    /// The resolved image topic.
    pub fn image_topic(&self) -> &str {
        self.image.topic()
    }

    /// The resolved camera info topic.
    pub fn info_topic(&self) -> &str {
        self.info.topic()
    }
}

impl std::fmt::Debug for CameraSubscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CameraSubscriber")
            .field("image", &self.image.topic())
            .field("info", &self.info.topic())
            .finish()
    }
}
