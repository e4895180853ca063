//! Loopback publish -> subscribe of an Image and a CameraInfo through rosync's typed API,
//! beside a raw zenoh put/receive of the same payload bytes on the same two sessions.
//!
//! cargo bench --bench pubsub

#[path = "common.rs"]
mod common;

use std::time::{Duration, Instant};

use common::report;
use rosync::cdr;
use rosync::msg::{sensor_msgs, Message};
use rosync::node::Node;
use zenoh::bytes::ZBytes;

/// Mean time per message of `count` sequential publish -> receive round trips, typed.
async fn typed<T: Message>(a: &Node, b: &Node, topic: &str, msg: &T, count: u32) -> Duration {
    let sub = b.subscriber::<T>(topic).queue_size(4).await.expect("sub");
    let publisher = a.publisher::<T>(topic).await.expect("pub");
    publisher
        .wait_for_subscribers(Duration::from_secs(10))
        .await;
    let start = Instant::now();
    for _ in 0..count {
        publisher.publish(msg).await.expect("publishes");
        std::hint::black_box(sub.recv().await.expect("receives"));
    }
    start.elapsed() / count
}

/// The same with plain zenoh: put of prepared bytes, receive and make them contiguous.
async fn raw(a: &Node, b: &Node, key: &str, payload: &[u8], count: u32) -> Duration {
    let sub = b.session().declare_subscriber(key).await.expect("sub");
    let publisher = a.session().declare_publisher(key).await.expect("pub");
    while !publisher
        .matching_status()
        .await
        .map(|s| s.matching())
        .unwrap_or(false)
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let bytes = ZBytes::from(payload.to_vec());
    let start = Instant::now();
    for _ in 0..count {
        publisher.put(bytes.clone()).await.expect("puts");
        let sample = sub.recv_async().await.expect("receives");
        std::hint::black_box(sample.payload().to_bytes());
    }
    start.elapsed() / count
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let domain = rosync::node::domain_id_from_env();
    let (a, b) = common::node_pair(domain, "bench_pub", "bench_sub").await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let (width, height) = (1920u32, 1080u32);
    let image = common::rgb8(
        Default::default(),
        width,
        height,
        (0..width * height * 3).map(|i| (i % 253) as u8).collect(),
    );
    let info = sensor_msgs::CameraInfo {
        height,
        width,
        distortion_model: "plumb_bob".into(),
        d: vec![0.1; 5],
        ..Default::default()
    };
    let image_bytes = cdr::encode(&image).expect("encodes");
    let info_bytes = cdr::encode(&info).expect("encodes");
    // Alternate rounds so both sides see the same machine conditions; keep the best round.
    let (mut t_img, mut r_img, mut t_info, mut r_info) =
        (Duration::MAX, Duration::MAX, Duration::MAX, Duration::MAX);
    for round in 0..3 {
        t_img = t_img.min(typed(&a, &b, &format!("/img{round}"), &image, 60).await);
        r_img = r_img.min(raw(&a, &b, &format!("raw/img{round}"), &image_bytes, 60).await);
        t_info = t_info.min(typed(&a, &b, &format!("/info{round}"), &info, 2000).await);
        r_info = r_info.min(raw(&a, &b, &format!("raw/info{round}"), &info_bytes, 2000).await);
    }
    println!("Loopback publish -> receive, one message at a time (time per message):");
    report(
        "Image 1920x1080 typed pub/sub",
        t_img,
        "raw zenoh put/receive",
        r_img,
    );
    report(
        "CameraInfo typed pub/sub",
        t_info,
        "raw zenoh put/receive",
        r_info,
    );
}
