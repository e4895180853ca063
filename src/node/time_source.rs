//! The node's time source, as rclcpp's `TimeSource`: while the node's `use_sim_time` parameter
//! is true, a `/clock` subscription (`rclcpp::ClockQoS`: best effort, keep last 1) sets the
//! node's [`Clock`]; when the parameter changes at run time the clock switches
//! at once and the subscription is started or stopped.

use tokio::sync::watch;

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

/// Subscribes `node` to `/clock`, feeding `clock`; the caller holds the returned subscriber.
async fn subscribe_clock(node: &Node, clock: Clock) -> Result<RawSubscriber> {
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

/// Keeps a node's `/clock` subscription in step with its `use_sim_time`: a task that
/// subscribes when it turns true and unsubscribes when it turns false. Dropping it stops the
/// task and the subscription.
pub(crate) struct TimeSource {
    /// The wanted setting; its lock also keeps the clock's switch in step with it.
    wanted: std::sync::Mutex<watch::Sender<bool>>,
    task: tokio::task::JoinHandle<()>,
}

impl TimeSource {
    /// Starts the time source of `node` (an internal handle, so the task holds no cycle) on
    /// `clock`, subscribed now if `use_sim_time` (a subscription error is returned).
    pub(crate) async fn start(node: Node, clock: Clock, use_sim_time: bool) -> Result<Self> {
        clock.set_use_sim_time(use_sim_time);
        let mut subscription = match use_sim_time {
            true => Some(subscribe_clock(&node, clock.clone()).await?),
            false => None,
        };
        let (wanted, mut wanted_rx) = watch::channel(use_sim_time);
        let task = tokio::spawn(async move {
            while wanted_rx.changed().await.is_ok() {
                let on = *wanted_rx.borrow_and_update();
                match (on, subscription.is_some()) {
                    (true, false) => match subscribe_clock(&node, clock.clone()).await {
                        Ok(sub) => subscription = Some(sub),
                        Err(e) => tracing::error!(
                            "use_sim_time is true but {CLOCK_TOPIC} cannot be subscribed: {e}; \
                             the node's time stays at the last {CLOCK_TOPIC} time"
                        ),
                    },
                    (false, true) => subscription = None,
                    _ => {}
                }
            }
        });
        Ok(Self {
            wanted: std::sync::Mutex::new(wanted),
            task,
        })
    }

    /// Switches `clock` to `/clock` (true) or the system time (false) now, and starts or
    /// stops the subscription in the background.
    pub(crate) fn switch(&self, clock: &Clock, use_sim_time: bool) {
        let wanted = crate::lock::lock(&self.wanted);
        clock.set_use_sim_time(use_sim_time);
        wanted.send_replace(use_sim_time);
    }
}

impl Drop for TimeSource {
    fn drop(&mut self) {
        self.task.abort();
    }
}
