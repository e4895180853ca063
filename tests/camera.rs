//! Camera helpers over real zenoh sessions: a `CameraPublisher` publishes each image with its
//! camera info under one header, a `CameraSubscriber` joins them by exact stamp into one
//! callback, with configurable topic names, and reports an image whose info never came.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{camera_info, header, node_pair, rgb8, PATIENCE};
use rosync::image_transport::{CameraPublisher, CameraSubscriber, CameraTopics};
use rosync::msg::sensor_msgs::{CameraInfo, Image};
use rosync::msg::Stamped;
use rosync::sync::DropReason;

type Pair = (Arc<Image>, Arc<CameraInfo>);
type Pairs = Arc<Mutex<Vec<Pair>>>;

/// Waits until `pairs` holds `n` pairs, at most [`PATIENCE`].
async fn wait_for(pairs: &Pairs, n: usize) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while pairs.lock().unwrap().len() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {n} pairs",
            pairs.lock().unwrap().len()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn collector() -> (Pairs, impl Fn(Pair) + Send + Sync + 'static) {
    let pairs: Pairs = Arc::default();
    let sink = Arc::clone(&pairs);
    (pairs, move |pair| sink.lock().unwrap().push(pair))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_arrive_with_the_info_of_their_stamp() {
    let (a, b, _) = node_pair(71).await;
    let (pairs, callback) = collector();
    let sub = CameraSubscriber::new(&b, "camera", 10, callback)
        .await
        .expect("camera subscriber");
    assert_eq!(sub.image_topic(), "/camera/image_raw");
    assert_eq!(sub.info_topic(), "/camera/camera_info");
    let camera = CameraPublisher::new(&a, "camera").await.expect("publisher");
    assert!(camera.wait_for_subscribers(PATIENCE).await);

    for i in 0..5i64 {
        let stamp = 1_000_000_000 + i * 33_000_000;
        let image = rgb8(header(stamp, "camera_optical"), 4, 2, vec![i as u8; 24]);
        // The info's own header is replaced by the image's.
        let info = camera_info(header(0, "wrong_frame"), 4, 2);
        camera.publish(&image, &info).await.expect("publishes");
    }
    wait_for(&pairs, 5).await;
    let pairs = pairs.lock().unwrap();
    for (i, (image, info)) in pairs.iter().enumerate() {
        assert_eq!(
            image.stamp().as_nanos(),
            1_000_000_000 + i as i64 * 33_000_000
        );
        assert_eq!(info.header, image.header);
        assert_eq!(info.frame_id(), "camera_optical");
        assert_eq!(image.data, vec![i as u8; 24]);
        assert_eq!(info.distortion_model, "plumb_bob");
    }
    let stats = sub.stats();
    assert_eq!(stats.sync.sets, 5);
    assert_eq!(stats.sync.dropped_total(), 0);
    assert_eq!((stats.image.delivered, stats.info.delivered), (5, 5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_names_are_configurable_and_unpaired_images_are_reported() {
    let (a, b, _) = node_pair(72).await;
    let topics = CameraTopics::new("left")
        .image_name("image_rect")
        .info_name("info");
    let (pairs, callback) = collector();
    let sub = CameraSubscriber::new(&b, topics.clone(), 1, callback)
        .await
        .expect("camera subscriber");
    assert_eq!(sub.image_topic(), "/left/image_rect");
    assert_eq!(sub.info_topic(), "/left/info");
    let drops = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&drops);
    sub.on_drop(move |d| sink.lock().unwrap().push(*d));

    let camera = CameraPublisher::new(&a, topics).await.expect("publisher");
    assert!(camera.wait_for_subscribers(PATIENCE).await);
    // An image alone on the image topic (no info with its stamp), then a full pair: with a
    // queue of one stamp the lone image is pushed out, reported as a queue overflow.
    let lone = rgb8(header(5_000_000_000, "cam"), 2, 1, vec![1; 6]);
    camera
        .image_publisher()
        .publish(&lone)
        .await
        .expect("publishes");
    // Give the lone image time to arrive before the pair (they use two topics).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let image = rgb8(header(6_000_000_000, "cam"), 2, 1, vec![2; 6]);
    camera
        .publish(&image, &camera_info(header(0, ""), 2, 1))
        .await
        .expect("publishes");
    wait_for(&pairs, 1).await;
    assert_eq!(pairs.lock().unwrap()[0].0.stamp().as_nanos(), 6_000_000_000);
    let drops = drops.lock().unwrap().clone();
    assert_eq!(drops.len(), 1, "{drops:?}");
    assert_eq!(
        (drops[0].channel, drops[0].stamp, drops[0].reason),
        (0, 5_000_000_000, DropReason::QueueOverflow)
    );
    assert_eq!(sub.stats().sync.dropped_on(0), 1);
}
