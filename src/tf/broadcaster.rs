//! [`TransformBroadcaster`] (`/tf`) and [`StaticTransformBroadcaster`] (`/tf_static`,
//! latched), as in tf2_ros.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::qos::{dynamic_qos, static_broadcaster_qos, TF_STATIC_TOPIC, TF_TOPIC};
use crate::error::Result;
use crate::lock::lock;
use crate::msg::geometry_msgs::TransformStamped;
use crate::msg::tf2_msgs::TFMessage;
use crate::node::{Node, Publisher};

/// Publishes changing transforms on `/tf` (reliable, volatile, keep last 100).
#[derive(Debug)]
pub struct TransformBroadcaster {
    publisher: Publisher<TFMessage>,
}

impl TransformBroadcaster {
    /// A broadcaster on `node`.
    pub async fn new(node: &Node) -> Result<Self> {
        let publisher = node
            .publisher::<TFMessage>(TF_TOPIC)
            .qos(dynamic_qos())
            .await?;
        Ok(Self { publisher })
    }

    /// Publishes one transform.
    pub async fn send_transform(&self, transform: &TransformStamped) -> Result<()> {
        self.send_transforms(std::slice::from_ref(transform)).await
    }

    /// Publishes several transforms in one `TFMessage`.
    pub async fn send_transforms(&self, transforms: &[TransformStamped]) -> Result<()> {
        self.publisher.publish(&message(transforms)).await
    }

    /// Publishes several transforms without waiting (from synchronous code).
    pub fn send_transforms_now(&self, transforms: &[TransformStamped]) -> Result<()> {
        self.publisher.publish_now(&message(transforms))
    }

    /// The publisher (for its counters and subscriber matching).
    pub fn publisher(&self) -> &Publisher<TFMessage> {
        &self.publisher
    }
}

/// Publishes static transforms on `/tf_static`, latched (transient local, keep last 1).
///
/// As tf2_ros's, it remembers every static transform sent (the last one per child frame)
/// and each send publishes all of them in one message, so the one latched message holds the
/// broadcaster's whole set for listeners that join later.
#[derive(Debug)]
pub struct StaticTransformBroadcaster {
    publisher: Publisher<TFMessage>,
    /// The transforms sent so far, by child frame.
    sent: Mutex<BTreeMap<String, TransformStamped>>,
}

impl StaticTransformBroadcaster {
    /// A static broadcaster on `node`.
    pub async fn new(node: &Node) -> Result<Self> {
        let publisher = node
            .publisher::<TFMessage>(TF_STATIC_TOPIC)
            .qos(static_broadcaster_qos())
            .await?;
        Ok(Self {
            publisher,
            sent: Mutex::new(BTreeMap::new()),
        })
    }

    /// Adds (or replaces, by child frame) one static transform and publishes the whole set.
    pub async fn send_transform(&self, transform: &TransformStamped) -> Result<()> {
        self.send_transforms(std::slice::from_ref(transform)).await
    }

    /// Adds (or replaces) several static transforms and publishes the whole set.
    pub async fn send_transforms(&self, transforms: &[TransformStamped]) -> Result<()> {
        let all = self.remember(transforms);
        self.publisher.publish(&all).await
    }

    /// Every static transform sent so far, in child frame order.
    pub fn transforms(&self) -> Vec<TransformStamped> {
        lock(&self.sent).values().cloned().collect()
    }

    /// The publisher (for its counters and subscriber matching).
    pub fn publisher(&self) -> &Publisher<TFMessage> {
        &self.publisher
    }

    /// Records `transforms` and returns the message holding the whole set.
    fn remember(&self, transforms: &[TransformStamped]) -> TFMessage {
        let mut sent = lock(&self.sent);
        for t in transforms {
            sent.insert(t.child_frame_id.clone(), t.clone());
        }
        TFMessage {
            transforms: sent.values().cloned().collect(),
        }
    }
}

/// A `TFMessage` holding `transforms`.
fn message(transforms: &[TransformStamped]) -> TFMessage {
    TFMessage {
        transforms: transforms.to_vec(),
    }
}
