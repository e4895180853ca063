//! Typed publish/subscribe between real zenoh sessions on loopback.

mod common;

use std::time::Duration;

use common::{node_pair, PATIENCE};
use rosync::cdr;
use rosync::msg::{
    builtin_interfaces, geometry_msgs, rosgraph_msgs, sensor_msgs, std_msgs, Message, Stamped,
};
use rosync::node::{graph, EntityKind, Node};
use serde_json::Value;

/// Replaces every scalar of a default message with a non-default value, keeping the shape.
fn fill(value: Value, depth: u64) -> Value {
    match value {
        Value::Bool(_) => Value::Bool(true),
        Value::Number(n) if n.is_f64() => Value::from(1.5 + depth as f64),
        Value::Number(_) => Value::from(3 + depth),
        Value::String(_) => Value::from(format!("v{depth}_é")),
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| fill(v, depth + 1)).collect())
        }
        Value::Object(map) => Value::Object(
            map.into_iter()
                .enumerate()
                .map(|(i, (k, v))| (k, fill(v, depth + i as u64)))
                .collect(),
        ),
        other => other,
    }
}

/// A message of `T` with every scalar field set to a non-default value.
fn sample<T: Message>() -> T {
    let json = serde_json::to_value(T::default()).expect("serializes");
    serde_json::from_value(fill(json, 0)).expect("filled value fits the type")
}

async fn round_trip<T: Message>(a: &Node, b: &Node, msg: T) {
    // A topic per type: the previous round's subscriber (any type on its topic, to count
    // mismatches) may not be undeclared everywhere yet, and must not satisfy
    // wait_for_subscribers for this round.
    let topic = format!("/round_trip/{}", T::TYPE_NAME.replace('/', "_"));
    let sub = b
        .subscriber::<T>(&topic)
        .queue_size(4)
        .await
        .expect("subscriber");
    let publisher = a.publisher::<T>(&topic).await.expect("publisher");
    assert!(
        publisher.wait_for_subscribers(PATIENCE).await,
        "{}: no match",
        T::TYPE_NAME
    );
    publisher.publish(&msg).await.expect("publishes");
    let (got, info) = tokio::time::timeout(PATIENCE, sub.recv_with_info())
        .await
        .unwrap_or_else(|_| panic!("{}: nothing received", T::TYPE_NAME))
        .expect("subscriber open");
    assert_eq!(got, msg, "{} changed on the way", T::TYPE_NAME);
    let attachment = info.attachment.expect("rosync always attaches");
    assert_eq!(attachment.sequence_number, 1);
    assert_eq!(attachment.gid, publisher.gid());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_shipped_message_kind_round_trips() {
    let (a, b, _) = node_pair(11).await;
    let image = sensor_msgs::Image {
        header: std_msgs::Header {
            stamp: builtin_interfaces::Time {
                sec: 12,
                nanosec: 345,
            },
            frame_id: "camera".into(),
        },
        height: 48,
        width: 64,
        encoding: "rgb8".into(),
        is_bigendian: 0,
        step: 64 * 3,
        data: (0..64 * 48 * 3).map(|i| (i % 251) as u8).collect(),
    };
    assert_eq!(image.stamp().nanosec, 345);
    round_trip(&a, &b, image).await;
    round_trip(&a, &b, sample::<std_msgs::Header>()).await;
    round_trip(&a, &b, sample::<std_msgs::String>()).await;
    round_trip(&a, &b, sample::<std_msgs::Bool>()).await;
    round_trip(&a, &b, sample::<std_msgs::Int32>()).await;
    round_trip(&a, &b, sample::<std_msgs::Float64>()).await;
    round_trip(&a, &b, sample::<std_msgs::Empty>()).await;
    round_trip(&a, &b, sample::<std_msgs::ColorRGBA>()).await;
    round_trip(&a, &b, sample::<builtin_interfaces::Time>()).await;
    round_trip(&a, &b, sample::<builtin_interfaces::Duration>()).await;
    round_trip(&a, &b, sample::<geometry_msgs::Point>()).await;
    round_trip(&a, &b, sample::<geometry_msgs::Vector3>()).await;
    round_trip(&a, &b, sample::<geometry_msgs::Quaternion>()).await;
    round_trip(&a, &b, sample::<geometry_msgs::Pose>()).await;
    round_trip(&a, &b, sample::<geometry_msgs::PoseStamped>()).await;
    round_trip(&a, &b, sample::<geometry_msgs::PoseWithCovarianceStamped>()).await;
    round_trip(&a, &b, sample::<geometry_msgs::Twist>()).await;
    round_trip(&a, &b, sample::<geometry_msgs::TwistStamped>()).await;
    round_trip(&a, &b, sample::<geometry_msgs::Transform>()).await;
    round_trip(&a, &b, sample::<geometry_msgs::TransformStamped>()).await;
    round_trip(&a, &b, sample::<geometry_msgs::PointStamped>()).await;
    round_trip(&a, &b, sample::<sensor_msgs::CompressedImage>()).await;
    round_trip(&a, &b, sample::<sensor_msgs::CameraInfo>()).await;
    round_trip(&a, &b, sample::<sensor_msgs::RegionOfInterest>()).await;
    round_trip(&a, &b, sample::<sensor_msgs::Imu>()).await;
    round_trip(&a, &b, sample::<sensor_msgs::PointCloud2>()).await;
    round_trip(&a, &b, sample::<sensor_msgs::PointField>()).await;
    round_trip(&a, &b, sample::<sensor_msgs::LaserScan>()).await;
    round_trip(&a, &b, sample::<sensor_msgs::NavSatFix>()).await;
    round_trip(&a, &b, sample::<sensor_msgs::NavSatStatus>()).await;
    round_trip(&a, &b, sample::<rosgraph_msgs::Clock>()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_queue_drops_oldest_and_counts() {
    let (a, b, _) = node_pair(12).await;
    let sub = b
        .subscriber::<std_msgs::Int32>("/burst")
        .queue_size(3)
        .await
        .expect("sub");
    let publisher = a.publisher::<std_msgs::Int32>("/burst").await.expect("pub");
    assert!(publisher.wait_for_subscribers(PATIENCE).await);
    for i in 0..10 {
        publisher
            .publish(&std_msgs::Int32 { data: i })
            .await
            .expect("publishes");
    }
    // Wait until all ten arrived (three queued, seven dropped), then read what is left.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while sub.stats().received < 10 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut got = Vec::new();
    while let Some(msg) = sub.try_recv() {
        got.push(msg.data);
    }
    assert_eq!(got, [7, 8, 9], "the newest three survive");
    let stats = sub.stats();
    assert_eq!(
        (stats.received, stats.dropped_queue_full, stats.delivered),
        (10, 7, 3)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_bounded_in_bytes_drops_oldest_and_counts() {
    let (a, b, _) = node_pair(24).await;
    // Each payload: 4-byte CDR header, 4-byte length, 1000 bytes: 1008 bytes.
    let sub = b
        .subscriber::<std_msgs::UInt8MultiArray>("/bytes_burst")
        .queue_size(100)
        .max_queued_bytes(2_500)
        .await
        .expect("sub");
    let publisher = a
        .publisher::<std_msgs::UInt8MultiArray>("/bytes_burst")
        .block_when_congested(true)
        .await
        .expect("pub");
    assert!(publisher.wait_for_subscribers(PATIENCE).await);
    for i in 0..6u8 {
        let msg = std_msgs::UInt8MultiArray {
            data: vec![i; 1000],
            ..Default::default()
        };
        publisher.publish(&msg).await.expect("publishes");
    }
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while sub.stats().received < 6 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut got = Vec::new();
    while let Some(msg) = sub.try_recv() {
        got.push(msg.data[0]);
    }
    assert_eq!(got, [4, 5], "the newest two fit 2500 bytes");
    let stats = sub.stats();
    assert_eq!(
        (stats.received, stats.dropped_queue_full, stats.lost),
        (6, 4, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_wrong_types_are_counted_not_delivered() {
    let (a, b, _) = node_pair(13).await;
    let sub = b
        .subscriber::<std_msgs::String>("/mixed")
        .await
        .expect("sub");
    let good = a
        .publisher::<std_msgs::String>("/mixed")
        .await
        .expect("pub");
    // Two publishers of another type on the topic, found in the graph: another type name, and
    // the right name with another hash (an incompatible definition).
    let wrong_type = a.publisher::<std_msgs::Int32>("/mixed").await.expect("pub");
    let bad_hash = format!("RIHS01_{}", "0".repeat(64));
    let wrong_hash = a
        .raw_publisher("/mixed", "std_msgs/msg/String", &bad_hash)
        .await
        .expect("pub");
    assert!(good.wait_for_subscribers(PATIENCE).await);
    // Each incompatible publisher is counted once, however many samples it sends.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while sub.stats().type_mismatches < 2 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A payload with the right key expression but bytes that are not a String.
    good.publish_payload(vec![0, 1, 0, 0, 0xff, 0xff, 0xff, 0x7f])
        .await
        .expect("puts");
    for data in 0..3 {
        wrong_type
            .publish(&std_msgs::Int32 { data })
            .await
            .expect("puts");
        wrong_hash
            .publish_payload(cdr::encode(&std_msgs::String::default()).expect("enc"))
            .await
            .expect("puts");
    }
    // A sample with a malformed attachment.
    let key = good.key_expr().to_string();
    a.session()
        .put(
            key,
            cdr::encode(&std_msgs::String { data: "x".into() }).expect("enc"),
        )
        .attachment(vec![1u8, 2, 3])
        .await
        .expect("puts");
    good.publish(&std_msgs::String {
        data: "fine".into(),
    })
    .await
    .expect("publishes");
    let msg = tokio::time::timeout(PATIENCE, sub.recv())
        .await
        .expect("delivered")
        .expect("open");
    assert_eq!(msg.data, "fine");
    let stats = sub.stats();
    assert_eq!(stats.decode_errors, 1, "{stats:?}");
    assert_eq!(stats.type_mismatches, 2, "{stats:?}");
    assert_eq!(stats.bad_attachments, 1, "{stats:?}");
    assert_eq!(stats.received, 3, "{stats:?}");
    assert_eq!(stats.delivered, 1, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_and_streams_deliver_in_order() {
    use futures::StreamExt;
    let (a, b, _) = node_pair(14).await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let cb = b
        .subscriber::<std_msgs::UInt64>("/counter")
        .queue_size(100)
        .callback(move |msg: std_msgs::UInt64| {
            let _ = tx.send(msg.data);
        })
        .await
        .expect("callback subscriber");
    let streamed = b
        .subscriber::<std_msgs::UInt64>("/counter")
        .queue_size(100)
        .await
        .expect("sub");
    let publisher = a
        .publisher::<std_msgs::UInt64>("/counter")
        .await
        .expect("pub");
    assert!(publisher.wait_for_subscribers(PATIENCE).await);
    tokio::time::sleep(Duration::from_millis(200)).await;
    for i in 0..20u64 {
        publisher
            .publish(&std_msgs::UInt64 { data: i })
            .await
            .expect("publishes");
    }
    let mut via_callback = Vec::new();
    while via_callback.len() < 20 {
        let v = tokio::time::timeout(PATIENCE, rx.recv())
            .await
            .expect("callback ran")
            .expect("open");
        via_callback.push(v);
    }
    let via_stream: Vec<u64> = tokio::time::timeout(
        PATIENCE,
        streamed
            .stream()
            .map(|m| m.data)
            .take(20)
            .collect::<Vec<_>>(),
    )
    .await
    .expect("stream delivered");
    let expected: Vec<u64> = (0..20).collect();
    assert_eq!(via_callback, expected);
    assert_eq!(via_stream, expected);
    assert_eq!(cb.stats().delivered, 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_tokens_follow_rmw_zenoh() {
    let (a, b, endpoint) = node_pair(15).await;
    // A node of another domain on the same network must not show up.
    let _other = common::connected_node("other_domain", 16, &endpoint).await;
    let _pub = a
        .publisher::<sensor_msgs::Image>("camera/image")
        .await
        .expect("pub");
    let _sub = b
        .subscriber::<sensor_msgs::Image>("/camera/image")
        .await
        .expect("sub");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let entities = b
            .graph(Duration::from_millis(500))
            .await
            .expect("graph query");
        let publisher = entities.iter().find(|e| e.kind == EntityKind::Publisher);
        let subscriber = entities.iter().find(|e| e.kind == EntityKind::Subscriber);
        let mut nodes: Vec<String> = entities
            .iter()
            .filter(|e| e.kind == EntityKind::Node)
            .map(|e| e.node_fqn())
            .collect();
        nodes.sort();
        if let (Some(p), Some(s)) = (publisher, subscriber) {
            assert_eq!(nodes, ["/node_a", "/node_b"]);
            let topic = p.topic.as_ref().expect("publisher has a topic");
            assert_eq!(topic.name, "/camera/image");
            assert_eq!(topic.type_name, sensor_msgs::Image::TYPE_NAME);
            assert_eq!(topic.type_hash, sensor_msgs::Image::TYPE_HASH);
            // rmw_zenoh leaves out what equals its defaults: keep last 10 is `::,10:,:,:,,`.
            assert_eq!(topic.qos, "::,10:,:,:,,");
            assert!(p.token().starts_with("@ros2_lv/15/"), "{}", p.token());
            assert!(p
                .token()
                .contains("/MP/%/%/node_a/%camera%image/sensor_msgs::msg::dds_::Image_/"));
            assert_eq!(p.node_id, 0);
            assert!(p.entity_id > 0);
            assert_eq!(s.node_name, "node_b");
            assert_eq!(graph::gid_from_token(&p.token()), _pub.gid());
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "graph incomplete: {entities:?}"
        );
    }
}

/// Publishes `0..count` on `topic` and waits until `received` reports them all.
async fn publish_and_wait(
    publisher: &rosync::node::Publisher<std_msgs::Int32>,
    count: i32,
    received: impl Fn() -> u64,
) {
    assert!(publisher.wait_for_subscribers(PATIENCE).await);
    for i in 0..count {
        publisher
            .publish(&std_msgs::Int32 { data: i })
            .await
            .expect("publishes");
    }
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while received() < count as u64 {
        assert!(tokio::time::Instant::now() < deadline, "not all received");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_subscribers_drain_their_queue_then_end() {
    use futures::StreamExt;
    let (a, b, _) = node_pair(17).await;
    let sub = b
        .subscriber::<std_msgs::Int32>("/closing")
        .await
        .expect("sub");
    let streamed = b
        .subscriber::<std_msgs::Int32>("/closing")
        .await
        .expect("sub");
    let publisher = a
        .publisher::<std_msgs::Int32>("/closing")
        .await
        .expect("pub");
    publish_and_wait(&publisher, 3, || {
        sub.stats().received.min(streamed.stats().received)
    })
    .await;
    sub.close();
    streamed.close();
    // Nothing published after the close is received.
    publisher
        .publish(&std_msgs::Int32 { data: 99 })
        .await
        .expect("publishes");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut got = Vec::new();
    while let Some(msg) = tokio::time::timeout(PATIENCE, sub.recv())
        .await
        .expect("recv ends instead of waiting")
    {
        got.push(msg.data);
    }
    assert_eq!(got, [0, 1, 2]);
    let via_stream: Vec<i32> = tokio::time::timeout(
        PATIENCE,
        streamed.stream().map(|m| m.data).collect::<Vec<_>>(),
    )
    .await
    .expect("the stream ends");
    assert_eq!(via_stream, [0, 1, 2]);
    assert_eq!(sub.stats().received, 3);

    // A recv already waiting when the subscriber closes returns None.
    let idle = std::sync::Arc::new(
        b.raw_subscriber(
            "/idle",
            Some(rosync::msg::TypeIdentity::of::<std_msgs::Int32>()),
        )
        .await
        .expect("raw sub"),
    );
    let waiting = tokio::spawn({
        let idle = std::sync::Arc::clone(&idle);
        async move { idle.recv().await.is_none() }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    idle.close();
    let ended = tokio::time::timeout(PATIENCE, waiting)
        .await
        .expect("the waiting recv returns")
        .expect("task");
    assert!(ended);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_end_when_their_session_closes() {
    let (a, b, _) = node_pair(18).await;
    let sub = std::sync::Arc::new(
        b.subscriber::<std_msgs::Int32>("/session")
            .await
            .expect("sub"),
    );
    let publisher = a
        .publisher::<std_msgs::Int32>("/session")
        .await
        .expect("pub");
    publish_and_wait(&publisher, 1, || sub.stats().received).await;
    b.session().close().await.expect("session closes");
    let first = tokio::time::timeout(PATIENCE, sub.recv())
        .await
        .expect("queued message returned");
    assert_eq!(first.map(|m| m.data), Some(0));
    let end = tokio::time::timeout(PATIENCE, sub.recv())
        .await
        .expect("recv ends once the session is closed");
    assert_eq!(end, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_try_recv_counts_delivered() {
    let (a, b, _) = node_pair(19).await;
    let raw = b.raw_subscriber("/raw", None).await.expect("raw sub");
    let publisher = a.publisher::<std_msgs::Int32>("/raw").await.expect("pub");
    publish_and_wait(&publisher, 3, || raw.stats().received).await;
    assert!(raw.try_recv().is_some());
    assert!(raw.try_recv().is_some());
    assert_eq!(raw.stats().delivered, 2);
    let last = tokio::time::timeout(PATIENCE, raw.recv())
        .await
        .expect("queued")
        .expect("open");
    assert_eq!(last.type_name, std_msgs::Int32::TYPE_NAME);
    assert_eq!(raw.stats().delivered, 3);
    assert!(raw.try_recv().is_none());
    assert_eq!(raw.stats().delivered, 3);
}

/// A timeout past the end of the clock (`Duration::MAX`) waits, it does not panic adding it
/// to the current instant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_subscribers_takes_an_unbounded_timeout() {
    let (a, b, _) = node_pair(87).await;
    let _sub = b
        .subscriber::<std_msgs::String>("/unbounded_wait")
        .await
        .expect("subscriber");
    let publisher = a
        .publisher::<std_msgs::String>("/unbounded_wait")
        .await
        .expect("publisher");
    let matched = tokio::time::timeout(PATIENCE, publisher.wait_for_subscribers(Duration::MAX))
        .await
        .expect("a subscriber matches within PATIENCE");
    assert!(matched);
}

/// A reliable subscription handing messages to a callback loses none of a burst that a
/// reliable keep-all publisher (zenoh blocks instead of dropping, as in rmw_zenoh) sends as
/// fast as it can: the callback runs on zenoh's receive thread, with no queue in between.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reliable_callback_subscription_loses_no_message_of_a_burst() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    const COUNT: u64 = 50_000;
    let (a, b, _) = node_pair(67).await;
    let (seen, out_of_order) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (counter, disorder) = (Arc::clone(&seen), Arc::clone(&out_of_order));
    let sub = b
        .subscriber::<std_msgs::String>("/burst")
        .callback(move |msg: std_msgs::String| {
            let expected = counter.fetch_add(1, Ordering::SeqCst);
            if msg.data != format!("{expected:08}") {
                disorder.fetch_add(1, Ordering::SeqCst);
            }
        })
        .await
        .expect("callback subscriber");
    assert_eq!(sub.topic(), "/burst");
    let publisher = a
        .publisher::<std_msgs::String>("/burst")
        .qos(rosync::node::QosProfile::default().keep_all())
        .await
        .expect("pub");
    assert!(publisher.wait_for_subscribers(PATIENCE).await);
    tokio::time::sleep(Duration::from_millis(200)).await;
    for i in 0..COUNT {
        publisher
            .publish(&std_msgs::String {
                data: format!("{i:08}"),
            })
            .await
            .expect("publishes");
    }
    let deadline = tokio::time::Instant::now() + PATIENCE * 3;
    while seen.load(Ordering::SeqCst) < COUNT && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stats = sub.stats();
    assert_eq!(seen.load(Ordering::SeqCst), COUNT, "{stats:?}");
    assert_eq!(out_of_order.load(Ordering::SeqCst), 0);
    assert_eq!(stats.delivered, COUNT, "{stats:?}");
    assert_eq!(stats.dropped_queue_full, 0, "{stats:?}");
    assert_eq!(stats.lost, 0, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_and_loaned_messages_carry_their_arrival_time() {
    let (a, b, _) = node_pair(88).await;
    let queued = b
        .subscriber::<std_msgs::String>("/stamped")
        .await
        .expect("sub");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let _loaned = b
        .subscriber::<std_msgs::String>("/stamped")
        .loaned_callback(move |msg| {
            let _ = tx.send(msg.info().received_timestamp);
        })
        .await
        .expect("sub");
    let publisher = a
        .publisher::<std_msgs::String>("/stamped")
        .await
        .expect("pub");
    assert!(publisher.wait_for_subscribers(PATIENCE).await);
    let before = rosync::time::now_nanos();
    publisher
        .publish(&std_msgs::String { data: "t".into() })
        .await
        .expect("publishes");
    let (_, info) = tokio::time::timeout(PATIENCE, queued.recv_with_info())
        .await
        .expect("delivered")
        .expect("open");
    let loaned_at = tokio::time::timeout(PATIENCE, rx.recv())
        .await
        .expect("delivered")
        .expect("open");
    let after = rosync::time::now_nanos();
    for stamp in [info.received_timestamp, loaned_at] {
        assert!(
            (before..=after).contains(&stamp),
            "{stamp} not in {before}..={after}"
        );
    }
}
