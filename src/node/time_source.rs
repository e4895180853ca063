//! The node's time source: with `use_sim_time`, a `/clock` subscription that sets the node's
//! [`Clock`](super::Clock), subscribed as rclcpp's `TimeSource` does (`rclcpp::ClockQoS`:
//! best effort, keep last 1).

use super::clock::Clock;
use super::qos::QosProfile;
use super::subscriber::{RawMessage, RawSubscriber};
use super::Node;
use crate::error::Result;
use crate::msg::rosgraph_msgs;
use crate::msg::TypeIdentity;

/// The topic simulated time comes from.
pub const CLOCK_TOPIC: &str = "/clock";

/// The QoS of the `/clock` subscription (rclcpp's `ClockQoS`: best effort, keep last 1).
pub fn clock_qos() -> QosProfile {
    QosProfile::sensor_data().keep_last(1)
}

/// Subscribes `node` to `/clock`, feeding `clock`; the node holds the returned subscriber.
pub(crate) async fn subscribe_clock(node: &Node, clock: Clock) -> Result<RawSubscriber> {
    let topic = CLOCK_TOPIC;
    node.raw_subscriber(topic, Some(TypeIdentity::of::<rosgraph_msgs::Clock>()))
        .qos(clock_qos())
        .owned_by_node()
        .callback(move |raw: RawMessage| {
            let bytes = raw.payload.to_bytes();
            match crate::cdr::decode::<rosgraph_msgs::Clock>(&bytes) {
                Ok(msg) => {
                    clock.set_sim_time(msg.clock);
                }
                Err(e) => tracing::warn!("ignoring a malformed {topic} message: {e}"),
            }
        })
        .await
}
