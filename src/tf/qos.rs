//! tf2_ros's topics and QoS profiles (`tf2_ros/qos.hpp`).

use crate::node::QosProfile;

/// The topic of changing transforms.
pub const TF_TOPIC: &str = "/tf";

/// The topic of static transforms (latched).
pub const TF_STATIC_TOPIC: &str = "/tf_static";

/// `/tf` for listeners and broadcasters: reliable, volatile, keep last 100
/// (`DynamicListenerQoS`, `DynamicBroadcasterQoS`).
pub fn dynamic_qos() -> QosProfile {
    QosProfile::default().keep_last(100)
}

/// `/tf_static` for listeners: reliable, transient local, keep last 100
/// (`StaticListenerQoS`), so a listener that starts late gets every static broadcaster's
/// transforms.
pub fn static_listener_qos() -> QosProfile {
    QosProfile::default().transient_local().keep_last(100)
}

/// `/tf_static` for broadcasters: reliable, transient local, keep last 1
/// (`StaticBroadcasterQoS`); each message carries every static transform of the broadcaster.
pub fn static_broadcaster_qos() -> QosProfile {
    QosProfile::default().transient_local().keep_last(1)
}
