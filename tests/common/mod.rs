//! Shared helpers for integration tests: loopback endpoints and connected nodes, message
//! builders, scratch folders, the `rosync` command and log rows to compare.
#![allow(dead_code)]

pub mod faulty_log;

use std::io::Write;
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use rosync::bag::BagMessage;
use rosync::msg::{builtin_interfaces, sensor_msgs, std_msgs, Message};
use rosync::node::Node;

/// A free TCP port on 127.0.0.1, so tests can run in parallel.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A loopback endpoint on a free port.
pub fn endpoint() -> String {
    format!("tcp/127.0.0.1:{}", free_port())
}

/// A node named `name` in `domain_id` listening on `endpoint`.
pub async fn listening_node(name: &str, domain_id: u32, endpoint: &str) -> Node {
    Node::builder(name)
        .domain_id(domain_id)
        .listen(endpoint)
        .build()
        .await
        .unwrap_or_else(|e| panic!("node {name} starts: {e}"))
}

/// A node named `name` in `domain_id` connecting to `endpoint`.
pub async fn connected_node(name: &str, domain_id: u32, endpoint: &str) -> Node {
    Node::builder(name)
        .domain_id(domain_id)
        .connect(endpoint)
        .build()
        .await
        .unwrap_or_else(|e| panic!("node {name} starts: {e}"))
}

/// Two nodes in one domain: the first listens on `endpoint`, the second connects to it.
pub async fn node_pair(domain_id: u32) -> (Node, Node, String) {
    let endpoint = endpoint();
    let a = listening_node("node_a", domain_id, &endpoint).await;
    let b = connected_node("node_b", domain_id, &endpoint).await;
    (a, b, endpoint)
}

/// A header stamped `nanos` ns since the epoch.
pub fn header(nanos: i64, frame: &str) -> std_msgs::Header {
    std_msgs::Header {
        stamp: builtin_interfaces::Time::from_nanos(nanos),
        frame_id: frame.into(),
    }
}

/// An rgb8 image of `width` x `height` holding `data`.
pub fn rgb8(
    header: std_msgs::Header,
    width: u32,
    height: u32,
    data: Vec<u8>,
) -> sensor_msgs::Image {
    sensor_msgs::Image {
        header,
        height,
        width,
        encoding: "rgb8".into(),
        is_bigendian: 0,
        step: width * 3,
        data,
    }
}

/// A plumb-bob CameraInfo of `width` x `height` with the principal point at the centre.
pub fn camera_info(header: std_msgs::Header, width: u32, height: u32) -> sensor_msgs::CameraInfo {
    sensor_msgs::CameraInfo {
        header,
        height,
        width,
        distortion_model: "plumb_bob".into(),
        d: vec![0.1, -0.25, 1e-3, 0.0, 0.0],
        k: [
            500.0,
            0.0,
            f64::from(width) / 2.0,
            0.0,
            500.0,
            f64::from(height) / 2.0,
            0.0,
            0.0,
            1.0,
        ],
        ..Default::default()
    }
}

/// The `rosync` binary, with stdin closed and no `ROS_DOMAIN_ID` or `RUST_LOG` inherited.
pub fn rosync() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rosync"));
    cmd.stdin(Stdio::null())
        .env_remove("ROS_DOMAIN_ID")
        .env_remove("RUST_LOG");
    cmd
}

/// Runs `rosync args` to the end, capturing its output.
pub fn run_rosync(args: &[&str]) -> Output {
    rosync().args(args).output().expect("rosync runs")
}

/// Runs `rosync args` with `input` on its stdin, capturing its output.
pub fn run_rosync_with_input(args: &[&str], input: &str) -> Output {
    let mut child = rosync()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rosync starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("writes");
    child.wait_with_output().expect("rosync finishes")
}

/// Generous upper bound for anything that should happen promptly on loopback.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// The repository root.
pub fn repo() -> &'static str {
    env!("CARGO_MANIFEST_DIR")
}

/// A fresh, empty directory for one test (named after the test binary's pid and `name`).
pub fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rosync-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Runs `tests/python/bag_check.py` (Python `mcap` and `rosbags`) and parses its JSON lines.
pub fn bag_check(args: &[&str]) -> Vec<serde_json::Value> {
    let out = std::process::Command::new("python3")
        .arg(format!("{}/tests/python/bag_check.py", repo()))
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "bag_check.py {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

/// One message as (topic, log time, type, JSON value).
pub type Row = (String, u64, String, serde_json::Value);

/// The row of `msg` written on `topic` at `log_time`.
pub fn row<T: Message>(topic: &str, log_time: u64, msg: &T) -> Row {
    (
        topic.into(),
        log_time,
        T::TYPE_NAME.into(),
        serde_json::to_value(msg).expect("JSON"),
    )
}

/// Rows of read messages, in their order, decoded by type name.
pub fn message_rows(messages: impl Iterator<Item = rosync::bag::Result<BagMessage>>) -> Vec<Row> {
    messages
        .map(|m| {
            let m = m.expect("message");
            let value = m.decode_json().expect("known type").expect("decodes");
            (
                m.topic.to_string(),
                m.log_time,
                m.type_name.to_string(),
                value,
            )
        })
        .collect()
}

/// The messages a bag_check.py writer reports as `written`, in log-time order.
pub fn written_rows(lines: &[serde_json::Value]) -> Vec<Row> {
    let mut rows: Vec<Row> = lines
        .iter()
        .filter(|l| l["reader"] == "written")
        .map(|l| {
            (
                l["topic"].as_str().expect("topic").to_string(),
                l["log_time"].as_u64().expect("log_time"),
                l["type"].as_str().expect("type").to_string(),
                l["value"].clone(),
            )
        })
        .collect();
    rows.sort_by_key(|r| r.1);
    rows
}
