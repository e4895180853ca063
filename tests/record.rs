//! `rosync record` end to end: rosync publishers over real zenoh on loopback, the `rosync`
//! binary recording into a rosbag2 folder, stopped with SIGINT (or killed with SIGKILL), and
//! the folder read back by Python `mcap` and `rosbags` (tests/python/bag_check.py) and by
//! `rosync::bag::Log`.

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use rosync::bag::rosbag2::Metadata;
use rosync::bag::Log;
use rosync::msg::{sensor_msgs, std_msgs, Message};
use rosync::node::{Durability, History, Node, Publisher, Reliability};
use serde_json::Value;

use common::{bag_check, camera_info, endpoint, header, rgb8, scratch, PATIENCE};

/// Starts `rosync record` listening on `endpoint` in `domain`.
fn start_recorder(domain: u32, endpoint: &str, args: &[&str]) -> Child {
    common::rosync()
        .args(["--listen", endpoint, "--domain", &domain.to_string()])
        .arg("record")
        .args(["--discovery-interval", "0.1"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rosync record starts")
}

/// Sends `signal` to the recorder, waits for it to exit, and returns its stderr.
fn signal_and_wait(mut child: Child, signal: i32) -> (std::process::ExitStatus, String) {
    // SAFETY: kill(2) on the pid of a child this test started and has not reaped.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    assert_eq!(rc, 0, "kill failed");
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the recorder did not exit within {PATIENCE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut stderr);
    }
    (status, stderr)
}

async fn talker(domain: u32, endpoint: &str) -> Node {
    common::connected_node("record_talker", domain, endpoint).await
}

async fn publisher<T: Message>(node: &Node, topic: &str) -> Publisher<T> {
    let publisher = node
        .publisher::<T>(topic)
        .block_when_congested(true)
        .depth(100)
        .await
        .expect("publisher");
    assert!(
        publisher.wait_for_subscribers(PATIENCE).await,
        "the recorder never subscribed to {topic}"
    );
    publisher
}

/// Per topic, the values a reader printed, in its order; plus all (log time, topic) rows.
type PerTopic = BTreeMap<String, Vec<Value>>;

fn python_per_topic(lines: &[Value], reader: &str) -> (PerTopic, Vec<u64>) {
    let mut per_topic = PerTopic::new();
    let mut times = Vec::new();
    for l in lines
        .iter()
        .filter(|l| l["reader"] == reader && l.get("kind").is_none())
    {
        per_topic
            .entry(l["topic"].as_str().expect("topic").to_string())
            .or_default()
            .push(l["value"].clone());
        times.push(l["log_time"].as_u64().expect("log_time"));
        if let Some(publish) = l.get("publish_time").and_then(Value::as_u64) {
            let log = l["log_time"].as_u64().expect("log_time");
            assert!(
                publish <= log && log - publish < 5_000_000_000,
                "publish {publish} vs log {log}"
            );
        }
    }
    (per_topic, times)
}

fn log_per_topic(path: &Path) -> (PerTopic, Vec<u64>) {
    let log = Log::open(path).expect("Log::open");
    let mut per_topic = PerTopic::new();
    let mut times = Vec::new();
    for m in log.messages() {
        let m = m.expect("message");
        let value = m.decode_json().expect("known type").expect("decodes");
        per_topic
            .entry(m.topic.to_string())
            .or_default()
            .push(value);
        times.push(m.log_time);
    }
    (per_topic, times)
}

fn assert_ordered(times: &[u64], what: &str) {
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "{what}: log times out of order"
    );
}

fn json<T: serde::Serialize>(msg: &T) -> Value {
    serde_json::to_value(msg).expect("JSON")
}

fn image(i: u32, width: u32, height: u32) -> sensor_msgs::Image {
    // Pseudo-random pixels: they do not compress, so file sizes are what they seem.
    let data = noise()[(i as usize % 1000)..][..(width * height * 3) as usize].to_vec();
    rgb8(
        header(1_000_000_000 + i64::from(i), "camera"),
        width,
        height,
        data,
    )
}

/// 1 MB of xorshift noise, made once.
fn noise() -> &'static [u8] {
    static NOISE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    NOISE.get_or_init(|| {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        (0..1_000_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    })
}

fn mcap_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("bag folder")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".mcap"))
        .collect();
    names.sort_by_key(|n| {
        n.trim_end_matches(".mcap")
            .rsplit('_')
            .next()
            .and_then(|i| i.parse::<u32>().ok())
    });
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recording_is_read_back_by_mcap_rosbags_and_log() {
    let domain = 71;
    let ep = endpoint();
    let dir = scratch("roundtrip");
    let bag = dir.join("bag");
    let recorder = start_recorder(
        domain,
        &ep,
        &[
            "/chatter",
            "/camera/image",
            "/camera/info",
            "--regex",
            "^/late",
            "--exclude",
            "_excluded$",
            "--compression",
            "zstd",
            "--chunk-size",
            "20000",
            "-o",
            bag.to_str().expect("path"),
        ],
    );
    let node = talker(domain, &ep).await;
    let chatter = publisher::<std_msgs::String>(&node, "/chatter").await;
    let images = publisher::<sensor_msgs::Image>(&node, "/camera/image").await;
    let infos = publisher::<sensor_msgs::CameraInfo>(&node, "/camera/info").await;
    let mut expected = PerTopic::new();
    let mut push = |topic: &str, value: Value| {
        expected.entry(topic.to_string()).or_default().push(value);
    };
    for i in 0..30u32 {
        let text = std_msgs::String {
            data: format!("grüße {i} – 東京 ✓"),
        };
        chatter.publish(&text).await.expect("publish");
        push("/chatter", json(&text));
        if i % 3 == 0 {
            let img = image(i, 64, 48);
            images.publish(&img).await.expect("publish");
            push("/camera/image", json(&img));
            let info = camera_info(img.header.clone(), 64, 48);
            infos.publish(&info).await.expect("publish");
            push("/camera/info", json(&info));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // A topic that appears while recording is picked up; an excluded one is not.
    let excluded = node
        .publisher::<std_msgs::String>("/late_excluded")
        .await
        .expect("publisher");
    let late = publisher::<std_msgs::String>(&node, "/late").await;
    for i in 0..5 {
        let text = std_msgs::String {
            data: format!("late {i} ☃"),
        };
        late.publish(&text).await.expect("publish");
        excluded.publish(&text).await.expect("publish");
        push("/late", json(&text));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, stderr) = signal_and_wait(recorder, libc::SIGINT);
    assert!(status.success(), "recorder failed: {stderr}");
    assert!(
        stderr.contains("/chatter (std_msgs/msg/String): received 30, written 30, dropped 0"),
        "{stderr}"
    );
    assert!(!stderr.contains("/late_excluded"), "{stderr}");

    assert!(bag.join("metadata.yaml").exists(), "no metadata.yaml");
    // The publishers' QoS from their liveliness tokens, in metadata.yaml as typed profiles.
    let metadata = Metadata::open(bag.join("metadata.yaml")).expect("metadata.yaml parses");
    assert_eq!(metadata.topics.len(), 4);
    for topic in &metadata.topics {
        assert_eq!(
            topic.offered_qos_profiles.len(),
            1,
            "{}: {:?}",
            topic.name,
            topic.offered_qos_profiles
        );
        let qos = topic.offered_qos_profiles[0];
        assert_eq!(
            (qos.reliability, qos.durability, qos.history),
            (
                Reliability::Reliable,
                Durability::Volatile,
                History::KeepLast
            ),
            "{}",
            topic.name
        );
    }
    assert_eq!(mcap_files(&bag), vec!["bag_0.mcap".to_string()]);
    let file = bag.join("bag_0.mcap");
    let lines = bag_check(&["read", file.to_str().expect("path")]);
    let (by_mcap, mcap_times) = python_per_topic(&lines, "mcap");
    assert_eq!(by_mcap, expected, "python mcap");
    assert_ordered(&mcap_times, "python mcap");
    let (by_rosbags, _) = python_per_topic(&lines, "rosbags");
    assert_eq!(by_rosbags, expected, "rosbags on the file");
    let channels: Vec<&Value> = lines.iter().filter(|l| l["kind"] == "channel").collect();
    assert_eq!(channels.len(), 4);
    for c in &channels {
        assert_eq!(c["schema_encoding"], "ros2msg");
        assert_eq!(c["message_encoding"], "cdr");
        assert!(c["metadata"]["offered_qos_profiles"]
            .as_str()
            .is_some_and(|q| q.contains("reliability: reliable")));
    }

    let lines = bag_check(&["read-folder", bag.to_str().expect("path")]);
    let (by_folder, folder_times) = python_per_topic(&lines, "rosbags-folder");
    assert_eq!(by_folder, expected, "rosbags on the folder");
    assert_ordered(&folder_times, "rosbags folder");
    let summary = lines
        .iter()
        .find(|l| l["kind"] == "summary")
        .expect("summary");
    assert_eq!(summary["message_count"], 30 + 10 + 10 + 5);
    assert_eq!(summary["topics"]["/chatter"], 30);

    let (by_log, log_times) = log_per_topic(&bag);
    assert_eq!(by_log, expected, "rosync Log");
    assert_ordered(&log_times, "rosync Log");
}

/// Small payloads (copied into the recorder's batch buffer) and large ones (shared with
/// zenoh's buffer, over 64 KiB) interleaved on two topics and published back to back: every
/// message is written, in order, byte for byte. The burst (about 24 MB, 2,080 messages) fits the
/// default buffer of 32 MiB and 65,536 messages, so nothing may be dropped however slow the
/// writer is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_small_and_large_messages_is_written_in_order() {
    let domain = 75;
    let ep = endpoint();
    let dir = scratch("burst");
    let bag = dir.join("burst");
    let recorder = start_recorder(
        domain,
        &ep,
        &[
            "/chatter",
            "/camera/image",
            "-o",
            bag.to_str().expect("path"),
        ],
    );
    let node = talker(domain, &ep).await;
    let chatter = publisher::<std_msgs::String>(&node, "/chatter").await;
    let images = publisher::<sensor_msgs::Image>(&node, "/camera/image").await;
    let mut expected = PerTopic::new();
    for i in 0..80u32 {
        for j in 0..25 {
            let text = std_msgs::String {
                data: format!("burst {i}.{j}"),
            };
            chatter.publish(&text).await.expect("publish");
            expected
                .entry("/chatter".into())
                .or_default()
                .push(json(&text));
        }
        let img = image(i, 320, 320); // 307 kB: shared, not copied
        images.publish(&img).await.expect("publish");
        expected
            .entry("/camera/image".into())
            .or_default()
            .push(json(&img));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, stderr) = signal_and_wait(recorder, libc::SIGINT);
    assert!(status.success(), "recorder failed: {stderr}");
    assert!(
        stderr.contains("/chatter (std_msgs/msg/String): received 2000, written 2000, dropped 0"),
        "{stderr}"
    );
    assert!(
        stderr
            .contains("/camera/image (sensor_msgs/msg/Image): received 80, written 80, dropped 0"),
        "{stderr}"
    );
    let (by_log, times) = log_per_topic(&bag);
    assert_eq!(by_log, expected, "rosync Log");
    assert_ordered(&times, "rosync Log");
    let lines = bag_check(&["read-folder", bag.to_str().expect("path")]);
    let (by_folder, _) = python_per_topic(&lines, "rosbags-folder");
    assert_eq!(by_folder, expected, "rosbags on the folder");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_files_read_as_one_stream() {
    let domain = 72;
    let ep = endpoint();
    let dir = scratch("split");
    let bag = dir.join("split");
    let recorder = start_recorder(
        domain,
        &ep,
        &[
            "/camera/image",
            "--max-bag-size",
            "200000",
            "--chunk-size",
            "50000",
            "--compression",
            "lz4",
            "-o",
            bag.to_str().expect("path"),
        ],
    );
    let node = talker(domain, &ep).await;
    let images = publisher::<sensor_msgs::Image>(&node, "/camera/image").await;
    let mut expected = Vec::new();
    for i in 0..30 {
        let img = image(i, 200, 100); // 60 kB
        images.publish(&img).await.expect("publish");
        expected.push(json(&img));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, stderr) = signal_and_wait(recorder, libc::SIGINT);
    assert!(status.success(), "recorder failed: {stderr}");

    let files = mcap_files(&bag);
    assert!(files.len() >= 4, "expected several files, got {files:?}");
    for (i, name) in files.iter().enumerate() {
        assert_eq!(name, &format!("split_{i}.mcap"));
        // Closed once its chunks reach 200 kB: at most one chunk (and a summary) more.
        let size = std::fs::metadata(bag.join(name)).expect("file").len();
        assert!(size < 200_000 + 60_100 + 4096, "{name}: {size} bytes");
    }
    let metadata = std::fs::read_to_string(bag.join("metadata.yaml")).expect("metadata");
    for name in &files {
        assert!(metadata.contains(&format!("- {name}")), "{metadata}");
    }

    let (by_log, times) = log_per_topic(&bag);
    assert_eq!(by_log["/camera/image"], expected, "Log::open on the folder");
    assert_ordered(&times, "Log");
    let lines = bag_check(&["read-folder", bag.to_str().expect("path")]);
    let (by_folder, _) = python_per_topic(&lines, "rosbags-folder");
    assert_eq!(
        by_folder["/camera/image"], expected,
        "rosbags on the folder"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_recorder_keeps_every_closed_chunk() {
    let domain = 73;
    let ep = endpoint();
    let dir = scratch("kill");
    let bag = dir.join("killed");
    // Default chunk size (4 MiB) and chunk age (1 s): small messages close chunks by age.
    let recorder = start_recorder(
        domain,
        &ep,
        &[
            "/chatter",
            "--compression",
            "zstd",
            "-o",
            bag.to_str().expect("path"),
        ],
    );
    let node = talker(domain, &ep).await;
    let chatter = publisher::<std_msgs::String>(&node, "/chatter").await;
    let mut sent = Vec::new();
    let start = Instant::now();
    let mut i = 0u32;
    while start.elapsed() < Duration::from_millis(3500) {
        let text = std_msgs::String {
            data: format!("before the kill {i} – ü"),
        };
        chatter.publish(&text).await.expect("publish");
        sent.push((Instant::now(), json(&text)));
        i += 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (_, stderr) = signal_and_wait(recorder, libc::SIGKILL);
    let killed_at = Instant::now();
    assert!(!bag.join("metadata.yaml").exists(), "{stderr}");

    // Read transparently from the folder: a prefix of what was sent, in order, nothing skipped.
    let (by_log, times) = log_per_topic(&bag);
    let got = by_log.get("/chatter").cloned().unwrap_or_default();
    assert_ordered(&times, "Log");
    assert_eq!(
        got.as_slice(),
        &sent.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>()[..got.len()],
        "recovered messages are not a prefix of what was sent"
    );
    // The documented bound: nothing received more than max_chunk_age (1 s) + 100 ms before
    // the kill is lost; 0.9 s more of slack for a loaded machine.
    let bound = Duration::from_millis(1000 + 100 + 900);
    let must_have = sent
        .iter()
        .filter(|(t, _)| killed_at.duration_since(*t) > bound)
        .count();
    assert!(
        got.len() >= must_have && must_have > 100,
        "recovered {} of {} sent; {} were older than {bound:?}",
        got.len(),
        sent.len(),
        must_have
    );

    // `rosync bag recover` rewrites the file into one Python mcap and rosbags read in full.
    let damaged = bag.join("killed_0.mcap");
    let fixed = dir.join("fixed.mcap");
    let out = common::rosync()
        .args(["bag", "recover"])
        .arg(&damaged)
        .arg(&fixed)
        .output()
        .expect("rosync bag recover runs");
    // The killed recorder's open chunk is lost: saved with losses, exit status 3.
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = bag_check(&["read", fixed.to_str().expect("path")]);
    let (by_mcap, _) = python_per_topic(&lines, "mcap");
    assert_eq!(by_mcap.get("/chatter"), Some(&got), "python mcap");
    let (by_rosbags, _) = python_per_topic(&lines, "rosbags");
    assert_eq!(by_rosbags.get("/chatter"), Some(&got), "rosbags");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drops_are_counted_per_topic_and_reported() {
    let domain = 74;
    let ep = endpoint();
    let dir = scratch("drops");
    let bag = dir.join("drops");
    // One message at a time (capacity 0): whatever arrives while the writer is busy is dropped.
    let recorder = start_recorder(
        domain,
        &ep,
        &[
            "/camera/image",
            "--channel-capacity",
            "0",
            "--compression",
            "zstd",
            "--chunk-size",
            "1000000",
            "-o",
            bag.to_str().expect("path"),
        ],
    );
    let node = talker(domain, &ep).await;
    let images = publisher::<sensor_msgs::Image>(&node, "/camera/image").await;
    let sent = 150u64;
    for i in 0..sent {
        images
            .publish(&image(i as u32, 640, 480))
            .await
            .expect("publish");
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, stderr) = signal_and_wait(recorder, libc::SIGINT);
    assert!(status.success(), "recorder failed: {stderr}");

    let line = stderr
        .lines()
        .find(|l| l.contains("/camera/image (sensor_msgs/msg/Image)"))
        .unwrap_or_else(|| panic!("no report line: {stderr}"));
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    // received, written, dropped (buffer full), lost (never arrived)
    let [received, written, dropped, lost] = numbers[..] else {
        panic!("unexpected report line: {line}");
    };
    assert_eq!(lost, 0, "{line}");
    assert_eq!(received, sent, "{line}");
    assert_eq!(written + dropped, sent, "{line}");
    assert!(dropped > 0, "no drops forced: {line}");
    assert!(stderr.contains("messages dropped"), "{stderr}");

    let (by_log, _) = log_per_topic(&bag);
    assert_eq!(
        by_log.get("/camera/image").map_or(0, Vec::len) as u64,
        written
    );
    let metadata = std::fs::read_to_string(bag.join("metadata.yaml")).expect("metadata");
    assert!(
        metadata.contains(&format!("message_count: {written}")),
        "{metadata}"
    );
}

/// One "received" trace line of the recorder: the message's publish time and payload size, if
/// the recorder buffered it for the writer (not dropped).
fn buffered_message(line: &str) -> Option<(u64, u64)> {
    // Without the terminal colours tracing may add (ESC [ ... m).
    let mut plain = String::with_capacity(line.len());
    let mut in_escape = false;
    for c in line.chars() {
        match c {
            '\u{1b}' => in_escape = true,
            'm' if in_escape => in_escape = false,
            _ if in_escape => {}
            c => plain.push(c),
        }
    }
    let line = plain.as_str();
    if !line.contains(" received ") || !line.contains("buffered=true") {
        return None;
    }
    let field = |name: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(name))
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some((field("publish_time=")?, field("bytes=")?))
}

/// At the maximum publishing rate of large images, a SIGKILL loses at most what the README
/// promises: the open chunk plus the recorder's buffer (`--chunk-size` + `--max-buffered-bytes`,
/// 4 + 32 MiB by default).
///
/// What the recorder received is read from its trace log: one line per message, written after
/// the message entered the buffer to the writer and before the next is taken, on an unbuffered
/// stderr that a thread of this test drains as it goes. So every message in the file has its
/// line, and a message with a line but not in the file was received and lost by the kill
/// (only one in-flight message per receiving thread can be missing from the lines: the count
/// can be low by that much, never high).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_at_maximum_rate_loses_at_most_chunk_plus_buffer() {
    let domain = 92;
    let ep = endpoint();
    let dir = scratch("kill_max_rate");
    let bag = dir.join("max_rate");
    let mut recorder = common::rosync()
        .env("RUST_LOG", "warn,rosync::bag::recorder=trace")
        .args(["--listen", &ep, "--domain", &domain.to_string()])
        .args(["record", "/camera/image", "--discovery-interval", "0.1"])
        .args(["-o", bag.to_str().expect("path")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rosync record starts");
    let stderr = recorder.stderr.take().expect("stderr");
    let lines = std::thread::spawn(move || {
        use std::io::BufRead;
        std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<String>>()
    });

    let node = talker(domain, &ep).await;
    let images = publisher::<sensor_msgs::Image>(&node, "/camera/image").await;
    let (width, height) = (1280u32, 720u32);
    let pixels: Vec<u8> = noise()
        .iter()
        .copied()
        .cycle()
        .take((width * height * 3) as usize)
        .collect();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopped = stop.clone();
    let sending = tokio::spawn(async move {
        let mut i = 0i64;
        while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
            let frame = rgb8(header(i, "camera"), width, height, pixels.clone());
            if images.publish(&frame).await.is_err() {
                break;
            }
            i += 1;
            // Publishing to no subscriber never waits: let the runtime run other tasks.
            tokio::task::yield_now().await;
        }
    });
    tokio::time::sleep(Duration::from_secs(4)).await;
    // SAFETY: kill(2) on the pid of a child this test started and has not reaped.
    let rc = unsafe { libc::kill(recorder.id() as libc::pid_t, libc::SIGKILL) };
    assert_eq!(rc, 0, "kill failed");
    let _ = recorder.wait();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = sending.await;
    let lines = lines.join().expect("stderr reader");

    let received: BTreeMap<u64, u64> = lines.iter().filter_map(|l| buffered_message(l)).collect();
    let log = Log::open(&bag).expect("Log::open on the killed recording");
    let mut saved = std::collections::BTreeSet::new();
    for m in log.messages() {
        saved.insert(m.expect("message").publish_time);
    }
    let lost: Vec<u64> = received
        .iter()
        .filter(|(t, _)| !saved.contains(t))
        .map(|(_, bytes)| *bytes)
        .collect();
    let lost_bytes: u64 = lost.iter().sum();
    let bound = (rosync::bag::DEFAULT_CHUNK_SIZE as usize
        + rosync::bag::recorder::DEFAULT_MAX_BUFFERED_BYTES) as u64;
    eprintln!(
        "received {} images ({} MB) before the kill, saved {}, lost {} ({:.1} MB); bound {:.1} MB",
        received.len(),
        received.values().sum::<u64>() / 1_000_000,
        saved.len(),
        lost.len(),
        lost_bytes as f64 / 1e6,
        bound as f64 / 1e6
    );
    assert!(
        received.len() > 40,
        "too few images to test the bound: {}; recorder log starts with {:?}",
        received.len(),
        &lines[..lines.len().min(5)]
    );
    assert!(
        saved.iter().all(|t| received.contains_key(t)),
        "a saved image has no trace line"
    );
    assert!(
        lost_bytes <= bound,
        "lost {} images, {lost_bytes} bytes > {bound}",
        lost.len()
    );
    // Hundreds of MB: leave nothing behind.
    let _ = std::fs::remove_dir_all(&dir);
}
