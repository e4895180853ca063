//! `rosync topic info [-v] TOPIC`: a topic's type and endpoint counts, and with -v every
//! endpoint with its node, type, hash, GID and QoS, in `ros2 topic info -v`'s layout.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::time::Duration;

use super::{fail, CliResult, NetworkArgs};
use crate::node::{EndpointInfo, EntityKind, QosProfile};

/// How long the graph request waits for the view to settle.
const GRAPH_TIMEOUT: Duration = Duration::from_millis(1000);

/// Prints the info of `topic`; fails if no endpoint announces it.
pub(super) async fn info(net: &NetworkArgs, topic: &str, verbose: bool) -> CliResult {
    let node = net.node("rosync_topic_info").await?;
    let topic = node.resolve_topic(topic)?;
    node.graph(GRAPH_TIMEOUT).await?;
    net.check_reached(&node).await?;
    let publishers = node.publishers_info(&topic).await?;
    let subscriptions = node.subscriptions_info(&topic).await?;
    if publishers.is_empty() && subscriptions.is_empty() {
        return fail(format!(
            "unknown topic {topic}: no publisher or subscription announces it"
        ));
    }
    print!("{}", render(&publishers, &subscriptions, verbose));
    Ok(())
}

/// The text `ros2 topic info [-v]` prints for these endpoints.
fn render(publishers: &[EndpointInfo], subscriptions: &[EndpointInfo], verbose: bool) -> String {
    let types: BTreeSet<&str> = publishers
        .iter()
        .chain(subscriptions)
        .map(|e| e.topic_type.as_str())
        .collect();
    let mut out = format!(
        "Type: {}\n",
        types.into_iter().collect::<Vec<_>>().join("; ")
    );
    if verbose {
        out.push('\n');
    }
    for (label, endpoints) in [("Publisher", publishers), ("Subscription", subscriptions)] {
        let _ = writeln!(out, "{label} count: {}", endpoints.len());
        if verbose {
            out.push('\n');
            for endpoint in endpoints {
                out.push_str(&endpoint_text(endpoint));
                out.push('\n');
            }
        }
    }
    out
}

/// One endpoint's block, as rclpy's `TopicEndpointInfo` prints it.
fn endpoint_text(e: &EndpointInfo) -> String {
    let kind = match e.endpoint_kind {
        EntityKind::Publisher => "PUBLISHER",
        EntityKind::Subscriber => "SUBSCRIPTION",
        _ => "INVALID",
    };
    let mut out = String::new();
    let _ = writeln!(out, "Node name: {}", e.node_name);
    let _ = writeln!(out, "Node namespace: {}", e.node_namespace);
    let _ = writeln!(out, "Topic type: {}", e.topic_type);
    let _ = writeln!(out, "Topic type hash: {}", e.topic_type_hash);
    let _ = writeln!(out, "Endpoint type: {kind}");
    let _ = writeln!(out, "GID: {}", e.gid_text());
    out.push_str("QoS profile:\n");
    match &e.qos {
        Ok(qos) => {
            let upper = |name: &str| name.to_uppercase();
            let _ = writeln!(out, "  Reliability: {}", upper(qos.reliability.name()));
            let _ = writeln!(
                out,
                "  History (Depth): {} ({})",
                upper(qos.history.name()),
                qos.depth
            );
            let _ = writeln!(out, "  Durability: {}", upper(qos.durability.name()));
            let _ = writeln!(out, "  Lifespan: {}", duration(qos.lifespan));
            let _ = writeln!(out, "  Deadline: {}", duration(qos.deadline));
            let _ = writeln!(out, "  Liveliness: {}", upper(qos.liveliness.name()));
            let _ = writeln!(
                out,
                "  Liveliness lease duration: {}",
                duration(qos.liveliness_lease_duration)
            );
        }
        Err(err) => {
            let _ = writeln!(out, "  (unreadable: {err})");
        }
    }
    out
}

/// A QoS duration as ros2cli prints it: `Infinite` or a count of nanoseconds.
fn duration(d: Duration) -> String {
    if d == QosProfile::INFINITE {
        "Infinite".into()
    } else {
        format!("{} nanoseconds", d.as_nanos())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::Entity;

    #[test]
    fn verbose_lists_every_endpoint_like_ros2() {
        let token = "@ros2_lv/0/8b20917502ee955ac4476e0266340d5c/0/1/MP/%/%/talker/%chatter/\
                     std_msgs::msg::dds_::String_/RIHS01_df66/2:1:1,5:,:0,100000000:,,";
        let entity = Entity::parse(token).expect("token");
        let publisher = EndpointInfo::from_entity(&entity).expect("endpoint");
        let text = render(&[publisher], &[], true);
        assert!(
            text.starts_with("Type: std_msgs/msg/String\n\nPublisher count: 1\n\n"),
            "{text}"
        );
        for line in [
            "Node name: talker\n",
            "Node namespace: /\n",
            "Topic type hash: RIHS01_df66\n",
            "Endpoint type: PUBLISHER\n",
            "  Reliability: BEST_EFFORT\n",
            "  History (Depth): KEEP_LAST (5)\n",
            "  Durability: TRANSIENT_LOCAL\n",
            "  Lifespan: 100000000 nanoseconds\n",
            "  Deadline: Infinite\n",
            "  Liveliness: AUTOMATIC\n",
            "\nSubscription count: 0\n",
        ] {
            assert!(text.contains(line), "{line:?} in {text}");
        }
        assert!(
            !text.contains("\n\n\n"),
            "one blank line between blocks: {text}"
        );
        assert!(
            text.ends_with("Infinite\n\nSubscription count: 0\n\n"),
            "{text}"
        );
        let gid = text.lines().find(|l| l.starts_with("GID: ")).expect("GID");
        assert_eq!(gid.len(), "GID: ".len() + 16 * 3 - 1, "{gid}");
        assert_eq!(
            render(&[], &[], false),
            "Type: \nPublisher count: 0\nSubscription count: 0\n"
        );
    }
}
