//! The tf message filter on a real transform buffer: messages wait for their transforms and
//! pass once the data arrives; every drop is reported with its reason (too old, queue
//! overflow, unknown frame or timeout, empty frame id); the tolerance and several target
//! frames; and the chain image -> tf filter -> synchronizer with camera info.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{camera_info, header, rgb8, PATIENCE};
use rosync::filters::{connect_input, Filter, Input, PassThrough};
use rosync::msg::geometry_msgs::{Quaternion, Transform, TransformStamped, Vector3};
use rosync::msg::sensor_msgs::{CameraInfo, Image};
use rosync::msg::std_msgs::Header;
use rosync::sync::{ExactTime, Synchronizer};
use rosync::tf::{Buffer, MessageFilter, TfDropEvent, TfDropReason};

const SEC: i64 = 1_000_000_000;

/// `parent -> child` at `nanos`, a translation of `x` along x.
fn transform(parent: &str, child: &str, nanos: i64, x: f64) -> TransformStamped {
    TransformStamped {
        header: header(nanos, parent),
        child_frame_id: child.into(),
        transform: Transform {
            translation: Vector3 { x, y: 0.0, z: 0.0 },
            rotation: Quaternion::default(),
        },
    }
}

fn set(buffer: &Buffer, parent: &str, child: &str, nanos: i64) {
    buffer
        .set_transform(&transform(parent, child, nanos, 1.0), "test", false)
        .expect("stored");
}

type Log<T> = Arc<Mutex<Vec<T>>>;

/// The frame filter's passed messages (their stamps, s) and drops, collected.
fn watch(filter: &MessageFilter<Header>) -> (Log<i64>, Log<TfDropEvent>, impl Sized) {
    let passed: Log<i64> = Arc::default();
    let drops: Log<TfDropEvent> = Arc::default();
    let sink = Arc::clone(&passed);
    let connection =
        filter.connect(move |h: &Arc<Header>| sink.lock().unwrap().push(h.stamp.as_nanos() / SEC));
    let sink = Arc::clone(&drops);
    filter.on_drop(move |d| sink.lock().unwrap().push(d.clone()));
    (passed, drops, connection)
}

fn msg(sec: i64, frame: &str) -> Arc<Header> {
    Arc::new(header(sec * SEC, frame))
}

/// Waits until `cond` holds, at most [`PATIENCE`].
async fn until(what: &str, cond: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn reasons(drops: &Log<TfDropEvent>) -> Vec<(i64, TfDropReason)> {
    drops
        .lock()
        .unwrap()
        .iter()
        .map(|d| (d.stamp.as_nanos() / SEC, d.reason))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_wait_for_their_transform_then_pass() {
    let buffer = Buffer::default();
    let filter = MessageFilter::builder(buffer.clone(), ["base_link"]).build();
    let (passed, drops, _c) = watch(&filter);
    set(&buffer, "base_link", "camera", 10 * SEC);

    // Available at once: passes inside `add`.
    filter.add(msg(10, "camera"));
    assert_eq!(*passed.lock().unwrap(), [10]);
    // After the newest data: held until data at or after its stamp arrives.
    filter.add(msg(11, "camera"));
    filter.add(msg(12, "camera"));
    assert_eq!(filter.stats().pending, 2);
    set(&buffer, "base_link", "camera", 11_500_000_000);
    until("11 passes", || passed.lock().unwrap().len() == 2).await;
    assert_eq!(filter.stats().pending, 1);
    set(&buffer, "base_link", "camera", 13 * SEC);
    until("12 passes", || passed.lock().unwrap().len() == 3).await;
    assert_eq!(*passed.lock().unwrap(), [10, 11, 12]);
    let stats = filter.stats();
    assert_eq!((stats.received, stats.passed, stats.pending), (3, 3, 0));
    assert!(drops.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_drop_has_its_reason() {
    let buffer = Buffer::default();
    let filter = MessageFilter::builder(buffer.clone(), ["base_link"])
        .queue_size(2)
        .build();
    let (passed, drops, _c) = watch(&filter);
    set(&buffer, "base_link", "camera", 20 * SEC);
    set(&buffer, "base_link", "camera", 21 * SEC);

    // Before the oldest data kept: it will never come.
    filter.add(msg(19, "camera"));
    // No frame id at all.
    filter.add(Arc::new(header(21 * SEC, "")));
    // Three waiting with room for two: the oldest goes.
    for s in [30, 31, 32] {
        filter.add(msg(s, "camera"));
    }
    assert_eq!(
        reasons(&drops),
        [
            (19, TfDropReason::TooOld),
            (21, TfDropReason::EmptyFrameId),
            (30, TfDropReason::QueueOverflow)
        ]
    );
    let too_old = drops.lock().unwrap()[0]
        .error
        .clone()
        .expect("the lookup error");
    assert!(too_old.to_string().contains("into the past"), "{too_old}");
    assert!(passed.lock().unwrap().is_empty());
    let stats = filter.stats();
    assert_eq!(stats.dropped_total(), 3);
    assert_eq!(stats.dropped_for(TfDropReason::QueueOverflow), 1);
    assert_eq!(stats.pending, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_timeout_names_an_unknown_frame_or_missing_data() {
    let buffer = Buffer::default();
    let filter = MessageFilter::builder(buffer.clone(), ["base_link"])
        .timeout(Duration::from_millis(200))
        .build();
    let (passed, drops, _c) = watch(&filter);
    set(&buffer, "base_link", "camera", 5 * SEC);
    filter.add(msg(6, "lidar")); // a frame nobody broadcasts
    filter.add(msg(7, "camera")); // a known frame, but no data at 7 s yet
    until("both expire", || drops.lock().unwrap().len() == 2).await;
    assert_eq!(
        reasons(&drops),
        [(6, TfDropReason::UnknownFrame), (7, TfDropReason::Timeout)]
    );
    assert!(passed.lock().unwrap().is_empty());
    assert_eq!(filter.stats().pending, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tolerance_and_several_target_frames() {
    let buffer = Buffer::default();
    let filter = MessageFilter::builder(buffer.clone(), ["base_link", "odom"])
        .tolerance(Duration::from_millis(500))
        .build();
    let (passed, _drops, _c) = watch(&filter);
    set(&buffer, "base_link", "camera", 10 * SEC);
    set(&buffer, "base_link", "camera", 11 * SEC);
    set(&buffer, "odom", "base_link", 10 * SEC);
    set(&buffer, "odom", "base_link", 11 * SEC);
    // Data covers 10..11 s, but the filter wants 10.8 + 0.5 s.
    filter.add(Arc::new(header(10_800_000_000, "camera")));
    assert_eq!(filter.stats().pending, 1);
    // camera -> base_link now reaches 12 s, odom -> base_link still not: both targets count.
    set(&buffer, "base_link", "camera", 12 * SEC);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(passed.lock().unwrap().is_empty());
    set(&buffer, "odom", "base_link", 12 * SEC);
    until("passes", || passed.lock().unwrap().len() == 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_reach_the_synchronizer_once_their_transform_is_known() {
    let buffer = Buffer::default();
    let images = PassThrough::<Image>::new();
    let infos = PassThrough::<CameraInfo>::new();
    let tf_filter = Arc::new(
        MessageFilter::<Image>::builder(buffer.clone(), ["odom"])
            .queue_size(5)
            .build(),
    );
    let _in = connect_input(&images, &tf_filter);
    let sync = Synchronizer::<(Image, CameraInfo)>::new(ExactTime::new(2, 5).expect("policy"))
        .expect("sync");
    let _links = (
        sync.connect_input::<0, _>(&*tf_filter),
        sync.connect_input::<1, _>(&infos),
    );
    let sets: Log<i64> = Arc::default();
    let sink = Arc::clone(&sets);
    sync.register_callback(move |(image, info): (Arc<Image>, Arc<CameraInfo>)| {
        assert_eq!(image.header, info.header);
        sink.lock()
            .unwrap()
            .push(image.header.stamp.as_nanos() / SEC);
    });

    buffer
        .set_transform(
            &transform("base_link", "camera_optical", 0, 0.2),
            "test",
            true,
        )
        .expect("static");
    for s in 1..=3 {
        let h = header(s * SEC, "camera_optical");
        images.add(Arc::new(rgb8(h.clone(), 2, 1, vec![0; 6])));
        infos.add(Arc::new(camera_info(h, 2, 1)));
    }
    // No odom -> base_link yet: nothing is joined.
    assert!(sets.lock().unwrap().is_empty());
    assert_eq!(tf_filter.stats().pending, 3);
    set(&buffer, "odom", "base_link", 0);
    set(&buffer, "odom", "base_link", 2 * SEC);
    until("two sets", || sets.lock().unwrap().len() == 2).await;
    set(&buffer, "odom", "base_link", 3 * SEC);
    until("three sets", || sets.lock().unwrap().len() == 3).await;
    assert_eq!(*sets.lock().unwrap(), [1, 2, 3]);
    assert_eq!(sync.stats().dropped_total(), 0);
}

/// Without a runtime the filter has no task: held messages are checked when a message is
/// added, before it, so messages ready together leave in arrival order (a synchronizer fed
/// by the filter would otherwise drop the older one as superseded).
#[test]
fn held_messages_leave_before_a_newer_ready_one() {
    let buffer = Buffer::default();
    let filter = MessageFilter::builder(buffer.clone(), ["base_link"]).build();
    let (passed, drops, _c) = watch(&filter);
    set(&buffer, "base_link", "camera", 10 * SEC);
    filter.add(msg(11, "camera"));
    assert_eq!(filter.stats().pending, 1);
    set(&buffer, "base_link", "camera", 13 * SEC);
    filter.add(msg(12, "camera"));
    assert_eq!(*passed.lock().unwrap(), [11, 12]);
    // And `recheck` drives it by hand.
    filter.add(msg(14, "camera"));
    set(&buffer, "base_link", "camera", 15 * SEC);
    assert_eq!(filter.stats().pending, 1);
    filter.recheck();
    assert_eq!(*passed.lock().unwrap(), [11, 12, 14]);
    assert!(drops.lock().unwrap().is_empty());
}
