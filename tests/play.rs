//! `rosync play` against real files and real subscribers: logs written by Python `rosbags`
//! (MCAP and sqlite3 storage) and `mcap` (tests/python/bag_check.py) and by rosync's writer
//! are played by the `rosync` binary (or the library `Player`) over zenoh on loopback, and
//! rosync subscribers in this process check that every message arrives with the right type,
//! equal content and in order. No timing thresholds here: schedule-error figures belong in
//! benches/play.rs.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{endpoint, header, rgb8, scratch, written_rows, Row, PATIENCE};
use rosync::bag::{BagWriter, Log, PlayOptions, Player, WriterOptions};
use rosync::msg::{rosgraph_msgs, sensor_msgs, std_msgs, Message};
use rosync::node::{Node, Subscriber};
use serde_json::Value;

/// Runs tests/python/bag_check.py; returns the `written` rows: (topic, log_time, type, value).
fn bag_check(args: &[&str]) -> Vec<Row> {
    written_rows(&common::bag_check(args))
}

fn values_on(rows: &[Row], topic: &str) -> Vec<Value> {
    rows.iter()
        .filter(|r| r.0 == topic)
        .map(|r| r.3.clone())
        .collect()
}

/// `rosync play FILE ARGS --connect EP --domain D` with a generous subscriber wait.
fn play(file: &Path, args: &[&str], ep: &str, domain: u32) -> Command {
    let mut cmd = common::rosync();
    cmd.arg("play")
        .arg(file)
        .args(args)
        .args(["--connect", ep, "--domain", &domain.to_string()])
        .args(["--wait-for-subscribers", "10"]);
    cmd
}

fn spawn(mut cmd: Command) -> tokio::task::JoinHandle<Output> {
    tokio::task::spawn_blocking(move || cmd.output().expect("rosync runs"))
}

async fn finished(handle: tokio::task::JoinHandle<Output>) -> String {
    let out = handle.await.expect("joins");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "rosync play failed:\n{stderr}");
    stderr
}

async fn listener(ep: &str, domain: u32) -> Node {
    common::listening_node("play_test", domain, ep).await
}

async fn subscribe<T: Message>(node: &Node, topic: &str) -> Subscriber<T> {
    node.subscriber::<T>(topic)
        .queue_size(100_000)
        .await
        .expect("subscriber")
}

async fn take<T: Message>(sub: &Subscriber<T>, n: usize) -> Vec<T> {
    let mut got = Vec::with_capacity(n);
    for _ in 0..n {
        let msg = tokio::time::timeout(PATIENCE, sub.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{}: {} of {n} messages arrived ({:?})",
                    sub.topic(),
                    got.len(),
                    sub.stats()
                )
            })
            .expect("open");
        got.push(msg);
    }
    got
}

fn json<T: Message>(msgs: &[T]) -> Vec<Value> {
    msgs.iter()
        .map(|m| serde_json::to_value(m).expect("JSON"))
        .collect()
}

/// Nothing more arrives on `sub` (the player has exited).
async fn nothing_more<T: Message>(sub: &Subscriber<T>) {
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        sub.try_recv().is_none(),
        "{}: unexpected message",
        sub.topic()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rosbags_folders_play_every_message_with_its_type_and_content() {
    let dir = scratch("rosbags");
    let ep = endpoint();
    let node = listener(&ep, 61).await;
    let chatter = subscribe::<std_msgs::String>(&node, "/chatter").await;
    let images = subscribe::<sensor_msgs::Image>(&node, "/camera/image").await;
    let infos = subscribe::<sensor_msgs::CameraInfo>(&node, "/camera/info").await;
    for storage in ["mcap", "sqlite3"] {
        let folder = dir.join(format!("bag_{storage}"));
        let written = bag_check(&[
            "write-rosbags",
            folder.to_str().expect("path"),
            "--storage",
            storage,
        ]);
        let player = spawn(play(&folder, &[], &ep, 61));
        assert_eq!(
            json(&take(&chatter, 5).await),
            values_on(&written, "/chatter"),
            "{storage}"
        );
        assert_eq!(
            json(&take(&images, 3).await),
            values_on(&written, "/camera/image"),
            "{storage}"
        );
        assert_eq!(
            json(&take(&infos, 1).await),
            values_on(&written, "/camera/info"),
            "{storage}"
        );
        let stderr = finished(player).await;
        assert!(
            stderr.contains("published 9 messages"),
            "{storage}: {stderr}"
        );
        assert!(
            stderr.contains("schedule error over 9 messages"),
            "{storage}: {stderr}"
        );
        nothing_more(&chatter).await;
    }
    for sub in [chatter.stats(), images.stats(), infos.stats()] {
        assert_eq!(sub.type_mismatches + sub.decode_errors, 0, "{sub:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_mcap_file_plays_selected_topics_under_remapped_names() {
    let dir = scratch("python-mcap");
    let file = dir.join("python.mcap");
    let written = bag_check(&["write", file.to_str().expect("path")]);
    let ep = endpoint();
    let node = listener(&ep, 62).await;
    let talk = subscribe::<std_msgs::String>(&node, "/talk").await;
    let chatter = subscribe::<std_msgs::String>(&node, "/chatter").await;
    let images = subscribe::<sensor_msgs::Image>(&node, "/camera/image").await;
    let infos = subscribe::<sensor_msgs::CameraInfo>(&node, "/camera/info").await;
    let player = spawn(play(
        &file,
        &[
            "--topics",
            "/chatter",
            "camera/info",
            "--remap",
            "/chatter:=/talk",
        ],
        &ep,
        62,
    ));
    assert_eq!(json(&take(&talk, 5).await), values_on(&written, "/chatter"));
    assert_eq!(
        json(&take(&infos, 1).await),
        values_on(&written, "/camera/info")
    );
    let stderr = finished(player).await;
    assert!(stderr.contains("/talk: 5"), "{stderr}");
    nothing_more(&chatter).await;
    nothing_more(&images).await;
    nothing_more(&talk).await;

    // --regex and --exclude select the same way.
    let player = spawn(play(
        &file,
        &["--regex", "^/camera/", "--exclude", "info$"],
        &ep,
        62,
    ));
    assert_eq!(
        json(&take(&images, 3).await),
        values_on(&written, "/camera/image")
    );
    let stderr = finished(player).await;
    assert!(stderr.contains("published 3 messages"), "{stderr}");
    nothing_more(&chatter).await;
    nothing_more(&infos).await;
}

fn image(nanos: i64, width: u32, height: u32) -> sensor_msgs::Image {
    let data = (0..width * height * 3)
        .map(|k| (k as i64 + nanos / 1000) as u8)
        .collect();
    rgb8(header(nanos, "camera"), width, height, data)
}

fn imu(nanos: i64) -> sensor_msgs::Imu {
    sensor_msgs::Imu {
        header: header(nanos, "imu"),
        angular_velocity: rosync::msg::geometry_msgs::Vector3 {
            x: nanos as f64 * 1e-9,
            y: 1.0,
            z: -1.0,
        },
        ..Default::default()
    }
}

const T0: i64 = 1_700_000_000_000_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_zero_plays_a_log_of_images_completely() {
    let dir = scratch("rate0");
    let file = dir.join("images.mcap");
    let mut bag = BagWriter::create(&file, WriterOptions::default()).expect("create");
    let mut stamps = Vec::new();
    for i in 0..1000i64 {
        let t = T0 + i * 1_000_000;
        bag.write_message("/imu", t as u64, &imu(t)).expect("write");
        if i % 25 == 0 {
            bag.write_message("/camera/image", t as u64 + 1, &image(t + 1, 640, 480))
                .expect("write");
            stamps.push(t + 1);
        }
    }
    bag.finish().expect("finish");

    let ep = endpoint();
    let node = listener(&ep, 63).await;
    let imus = subscribe::<sensor_msgs::Imu>(&node, "/imu").await;
    let images = subscribe::<sensor_msgs::Image>(&node, "/camera/image").await;
    let player = spawn(play(&file, &["--rate", "0"], &ep, 63));
    let got_images = take(&images, stamps.len()).await;
    let got_imus = take(&imus, 1000).await;
    let stderr = finished(player).await;
    assert!(stderr.contains("published 1040 messages"), "{stderr}");
    assert!(stderr.contains("schedule error: not measured"), "{stderr}");
    for (i, msg) in got_imus.iter().enumerate() {
        assert_eq!(msg, &imu(T0 + i as i64 * 1_000_000));
    }
    for (msg, &t) in got_images.iter().zip(&stamps) {
        assert_eq!(msg, &image(t, 640, 480));
    }
    nothing_more(&images).await;
    assert_eq!(images.stats().dropped_queue_full, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clock_publishes_the_playback_time() {
    let dir = scratch("clock");
    let file = dir.join("python.mcap");
    let written = bag_check(&["write", file.to_str().expect("path")]);
    let (first, last) = (written[0].1 as i64, written[written.len() - 1].1 as i64);
    let ep = endpoint();
    let node = listener(&ep, 64).await;
    let clock = subscribe::<rosgraph_msgs::Clock>(&node, "/clock").await;
    let chatter = subscribe::<std_msgs::String>(&node, "/chatter").await;
    let _images = subscribe::<sensor_msgs::Image>(&node, "/camera/image").await;
    let _infos = subscribe::<sensor_msgs::CameraInfo>(&node, "/camera/info").await;
    // Half speed: about 0.9 s of playback, so a 200 Hz clock ticks many times.
    let player = spawn(play(&file, &["--clock", "200", "--rate", "0.5"], &ep, 64));
    take(&chatter, 5).await;
    let stderr = finished(player).await;
    let mut times = Vec::new();
    while let Some(c) = clock.try_recv() {
        times.push(c.clock.as_nanos());
    }
    assert!(times.len() >= 5, "{} clock messages\n{stderr}", times.len());
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "clock went back: {times:?}"
    );
    assert!(
        times.iter().all(|&t| (first..=last).contains(&t)),
        "clock outside the log's [{first}, {last}]: {times:?}"
    );
    assert!(stderr.contains("clock messages"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playing_at_the_recorded_rate_keeps_order_across_topics() {
    let dir = scratch("timing");
    let file = dir.join("imu_camera.mcap");
    let options = WriterOptions {
        chunk_size: 64 * 1024,
        ..Default::default()
    };
    let mut bag = BagWriter::create(&file, options).expect("create");
    let mut expected = Vec::new();
    // 0.6 s: a 500 Hz IMU and a 30 Hz camera.
    for i in 0..300i64 {
        let t = T0 + i * 2_000_000;
        bag.write_message("/imu", t as u64, &imu(t)).expect("write");
        expected.push(("/imu".to_string(), t));
    }
    for i in 0..18i64 {
        let t = T0 + i * 33_333_333 + 500_000;
        bag.write_message("/camera/image", t as u64, &image(t, 64, 48))
            .expect("write");
        expected.push(("/camera/image".to_string(), t));
    }
    bag.finish().expect("finish");
    expected.sort_by_key(|e| e.1);

    let ep = endpoint();
    let node = listener(&ep, 65).await;
    // One zenoh subscriber for every topic of the domain sees the global arrival order.
    let arrived: Arc<Mutex<Vec<(String, i64)>>> = Arc::default();
    let sink = Arc::clone(&arrived);
    let _all = node
        .session()
        .declare_subscriber("65/**")
        .callback(move |sample| {
            let key = sample.key_expr().as_str().to_string();
            let payload = sample.payload().to_bytes();
            let stamp = rosync::msg::header_stamp_from_cdr(&payload).expect("stamp");
            let topic = if key.starts_with("65/imu/") {
                "/imu"
            } else {
                "/camera/image"
            };
            sink.lock().expect("lock").push((topic.to_string(), stamp));
        })
        .await
        .expect("wildcard subscriber");
    // Typed subscribers too, so the player's wait for subscribers is satisfied and types check.
    let imus = subscribe::<sensor_msgs::Imu>(&node, "/imu").await;
    let images = subscribe::<sensor_msgs::Image>(&node, "/camera/image").await;
    let player = spawn(play(&file, &[], &ep, 65));
    take(&imus, 300).await;
    take(&images, 18).await;
    let stderr = finished(player).await;
    assert!(
        stderr.contains("schedule error over 318 messages"),
        "{stderr}"
    );
    let arrived = arrived.lock().expect("lock").clone();
    assert_eq!(arrived, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_library_player_pauses_steps_and_resumes() {
    let dir = scratch("control");
    let file = dir.join("chatter.mcap");
    let mut bag = BagWriter::create(&file, WriterOptions::default()).expect("create");
    for i in 0..20u64 {
        let msg = std_msgs::String {
            data: format!("message {i}"),
        };
        bag.write_message("/chatter", 1_000_000_000 + i * 10_000_000, &msg)
            .expect("write");
    }
    bag.finish().expect("finish");

    let (a, b, _) = common::node_pair(66).await;
    let sub = subscribe::<std_msgs::String>(&b, "/chatter").await;
    let options = PlayOptions {
        start_paused: true,
        remaps: vec![("/chatter".into(), "chatter".into())],
        wait_for_subscribers: PATIENCE,
        ..Default::default()
    };
    let player = Player::new(&a, Log::open(&file).expect("open"), options)
        .await
        .expect("player");
    assert_eq!(player.topics().len(), 1);
    let control = player.control();
    let running = tokio::spawn(player.run());
    control.step();
    control.step();
    let stepped = take(&sub, 2).await;
    assert_eq!(stepped[0].data, "message 0");
    assert_eq!(stepped[1].data, "message 1");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(sub.try_recv().is_none(), "paused, yet a message arrived");
    control.set_rate(4.0);
    control.resume();
    let rest = take(&sub, 18).await;
    assert_eq!(rest[17].data, "message 19");
    let report = running.await.expect("joins").expect("plays");
    assert_eq!(report.published, 20);
    assert_eq!(report.per_topic.get("/chatter"), Some(&20));
    // Stepped messages are not measured.
    assert_eq!(report.schedule_error.expect("measured").samples, 18);

    // Stop ends a looping playback with its report.
    let options = PlayOptions {
        loop_playback: true,
        rate: 0.0,
        ..Default::default()
    };
    let player = Player::new(&a, Log::open(&file).expect("open"), options)
        .await
        .expect("player");
    let control = player.control();
    let running = tokio::spawn(player.run());
    tokio::time::sleep(Duration::from_millis(300)).await;
    control.stop();
    let report = tokio::time::timeout(PATIENCE, running)
        .await
        .expect("stops")
        .expect("joins")
        .expect("plays");
    assert!(report.stopped);
    assert!(report.passes >= 1, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_log_with_unknown_types_plays_what_it_can() {
    let dir = scratch("damaged");
    let whole = dir.join("whole.mcap");
    let options = WriterOptions {
        chunk_size: 2048,
        ..Default::default()
    };
    let mut bag = BagWriter::create(&whole, options).expect("create");
    let custom = bag
        .add_topic(
            "/custom",
            "my_pkg/msg/Point2",
            "",
            "# a custom type rosync does not ship\nfloat64 x\nfloat64 y\n",
            None,
        )
        .expect("topic");
    let weird = bag
        .add_topic("/weird", "my_pkg/msg/Mystery", "", "", None)
        .expect("topic");
    let mut point = vec![0u8, 1, 0, 0];
    point.extend_from_slice(&1.5f64.to_le_bytes());
    point.extend_from_slice(&(-2.5f64).to_le_bytes());
    for i in 0..200u64 {
        let t = 1_000_000_000 + i * 1_000_000;
        let msg = std_msgs::String {
            data: format!("message {i} with some padding to fill chunks"),
        };
        bag.write_message("/chatter", t, &msg).expect("write");
        if i % 10 == 0 {
            bag.write(custom, t + 1, t + 1, &point).expect("write");
            bag.write(weird, t + 2, t + 2, &[0, 1, 0, 0])
                .expect("write");
        }
    }
    bag.finish().expect("finish");
    let bytes = std::fs::read(&whole).expect("read");
    let cut = dir.join("cut.mcap");
    std::fs::write(&cut, &bytes[..bytes.len() * 6 / 10]).expect("write cut");
    let log = Log::open(&cut).expect("a cut log opens");
    assert!(!log.damage().is_empty());
    let readable = |topic: &str| log.messages_on(&[topic]).filter(|m| m.is_ok()).count();
    let (chatters, customs) = (readable("/chatter"), readable("/custom"));
    assert!(chatters > 0 && chatters < 200, "{chatters}");

    let ep = endpoint();
    let node = listener(&ep, 67).await;
    let chatter = subscribe::<std_msgs::String>(&node, "/chatter").await;
    let points = node
        .raw_subscriber("/custom", None)
        .queue_size(1000)
        .await
        .expect("raw subscriber");
    let player = spawn(play(&cut, &["--rate", "0"], &ep, 67));
    let got = take(&chatter, chatters).await;
    assert_eq!(got[0].data, "message 0 with some padding to fill chunks");
    for _ in 0..customs {
        let raw = tokio::time::timeout(PATIENCE, points.recv())
            .await
            .expect("a custom message arrives")
            .expect("open");
        assert_eq!(raw.type_name, "my_pkg/msg/Point2");
        assert!(
            raw.type_hash.starts_with("RIHS01_") && raw.type_hash.len() == 71,
            "{}",
            raw.type_hash
        );
        assert_eq!(raw.payload.to_bytes().as_ref(), point.as_slice());
    }
    // Everything readable played; the cut end is reported with exit status 3.
    let out = player.await.expect("joins");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("truncated"), "{stderr}");
    assert!(stderr.contains("/weird"), "{stderr}");
    assert!(stderr.contains("my_pkg/msg/Mystery"), "{stderr}");
    assert!(stderr.contains("cut.mcap"), "{stderr}");
    nothing_more(&chatter).await;

    // Nothing playable: a one-line error naming the file.
    let out = spawn(play(&cut, &["--topics", "/weird"], &ep, 67))
        .await
        .expect("joins");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cut.mcap: no topic to play"), "{stderr}");
}

/// Big messages are published from their topic's own thread: a topic mixing big and small
/// messages still arrives in order (as fast as possible, where overtaking would show), every
/// message's schedule error is counted at rate > 0, and big raw payloads go through shared
/// memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_and_small_messages_of_one_topic_keep_their_order() {
    let dir = scratch("play_mixed");
    let file = dir.join("mixed.mcap");
    let mut bag = BagWriter::create(&file, WriterOptions::default()).expect("create");
    for i in 0..24u64 {
        // Even: 320x240 rgb8, 230 KB (through the topic's publishing thread); odd: 4x4.
        let (width, height) = if i % 2 == 0 { (320, 240) } else { (4, 4) };
        let t = 1_000_000_000 + i * 5_000_000;
        let data = vec![i as u8; (width * height * 3) as usize];
        let image = rgb8(header(t as i64, "camera"), width, height, data);
        bag.write_message("/camera/image", t, &image)
            .expect("write");
    }
    bag.finish().expect("finish");

    let (a, b, _) = common::node_pair(96).await;
    let sub = subscribe::<sensor_msgs::Image>(&b, "/camera/image").await;
    for rate in [0.0, 4.0] {
        let shm_before = a.shm_stats().published;
        let options = PlayOptions {
            rate,
            wait_for_subscribers: PATIENCE,
            ..Default::default()
        };
        let player = Player::new(&a, Log::open(&file).expect("open"), options)
            .await
            .expect("player");
        let report = player.run().await.expect("plays");
        let got = take(&sub, 24).await;
        let order: Vec<u8> = got.iter().map(|m| m.data[0]).collect();
        assert_eq!(order, (0..24).collect::<Vec<u8>>(), "rate {rate}");
        assert_eq!(report.published, 24, "{report}");
        assert_eq!(report.per_topic.get("/camera/image"), Some(&24));
        if rate > 0.0 {
            assert_eq!(report.schedule_error.expect("measured").samples, 24);
            let topic = &report.schedule_error_per_topic["/camera/image"];
            assert_eq!(topic.samples, 24);
        }
        assert_eq!(report.publish_time["/camera/image"].samples, 24);
        if cfg!(feature = "shared-memory") {
            // The 230 KB images; the 4x4 ones are below the 512-byte threshold.
            assert_eq!(a.shm_stats().published - shm_before, 12, "rate {rate}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
