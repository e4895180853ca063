//! Transient local durability as rmw_zenoh implements it (zenoh-ext's advanced publisher and
//! subscriber): a late-joining transient-local subscription receives the publisher's last
//! `depth` messages, from a rosync publisher and from an independent Python `eclipse-zenoh`
//! peer configured like rmw_zenoh (`tests/python/zenoh_peer.py`), and the reverse; a volatile
//! subscription gets no history.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{connected_node, endpoint, listening_node, repo, PATIENCE};
use rosync::msg::{builtin_interfaces, geometry_msgs, std_msgs, tf2_msgs, Message};
use rosync::node::{Durability, EntityKind, Node, Publisher, QosProfile, Subscriber};

/// How long the subscriber joins after the publisher published (the "2 s later").
const LATE: Duration = Duration::from_secs(2);

/// How long a subscriber is watched for messages that must not come.
const QUIET: Duration = Duration::from_millis(1500);

/// The static transform world -> `child`, as `/tf_static` carries it.
fn static_transform(child: &str) -> tf2_msgs::TFMessage {
    tf2_msgs::TFMessage {
        transforms: vec![geometry_msgs::TransformStamped {
            header: std_msgs::Header {
                stamp: builtin_interfaces::Time { sec: 1, nanosec: 0 },
                frame_id: "world".into(),
            },
            child_frame_id: child.into(),
            transform: geometry_msgs::Transform {
                translation: geometry_msgs::Vector3 {
                    x: 1.0,
                    y: 0.0,
                    z: 0.0,
                },
                rotation: geometry_msgs::Quaternion {
                    x: 0.0,
                    y: 0.0,
                    z: 0.0,
                    w: 1.0,
                },
            },
        }],
    }
}

/// The child frames of the messages received.
fn children(messages: &[tf2_msgs::TFMessage]) -> Vec<String> {
    messages
        .iter()
        .flat_map(|m| m.transforms.iter().map(|t| t.child_frame_id.clone()))
        .collect()
}

/// Publishes one static transform per child on `/tf_static` with `qos`, from a node listening
/// on the returned endpoint.
async fn latched_publisher(
    domain: u32,
    qos: QosProfile,
    childs: &[&str],
) -> (Node, Publisher<tf2_msgs::TFMessage>, String) {
    let ep = endpoint();
    let node = listening_node("static_broadcaster", domain, &ep).await;
    let publisher = node
        .publisher::<tf2_msgs::TFMessage>("/tf_static")
        .qos(qos)
        .await
        .expect("publisher");
    for child in childs {
        publisher
            .publish(&static_transform(child))
            .await
            .expect("publishes");
    }
    (node, publisher, ep)
}

/// A subscriber of `/tf_static` with `qos` on a new node connecting to `ep`.
async fn late_subscriber(
    domain: u32,
    ep: &str,
    qos: QosProfile,
) -> (Node, Subscriber<tf2_msgs::TFMessage>) {
    let node = connected_node("late_listener", domain, ep).await;
    let subscriber = node
        .subscriber::<tf2_msgs::TFMessage>("/tf_static")
        .qos(qos)
        .await
        .expect("subscriber");
    (node, subscriber)
}

/// Receives `n` messages, each within [`PATIENCE`].
async fn receive(sub: &Subscriber<tf2_msgs::TFMessage>, n: usize) -> Vec<tf2_msgs::TFMessage> {
    let mut got = Vec::new();
    while got.len() < n {
        match tokio::time::timeout(PATIENCE, sub.recv()).await {
            Ok(Some(msg)) => got.push(msg),
            _ => panic!("received {:?}, expected {n} messages", children(&got)),
        }
    }
    got
}

/// Asserts that nothing more arrives for [`QUIET`].
async fn assert_quiet(sub: &Subscriber<tf2_msgs::TFMessage>) {
    if let Ok(Some(msg)) = tokio::time::timeout(QUIET, sub.recv()).await {
        panic!("unexpected message {:?}", children(&[msg]));
    }
}

fn latched(depth: usize) -> QosProfile {
    QosProfile::default().transient_local().keep_last(depth)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_subscriber_gets_a_rosync_publishers_static_transforms() {
    let (_pub_node, publisher, ep) = latched_publisher(61, latched(3), &["a", "b", "c"]).await;
    assert_eq!(publisher.published(), 3);
    tokio::time::sleep(LATE).await;
    let (node, sub) = late_subscriber(61, &ep, latched(10)).await;
    assert_eq!(children(&receive(&sub, 3).await), ["a", "b", "c"]);
    assert_quiet(&sub).await;
    // Messages published after the subscriber joined still arrive, once.
    publisher
        .publish(&static_transform("d"))
        .await
        .expect("publishes");
    assert_eq!(children(&receive(&sub, 1).await), ["d"]);
    assert_eq!(sub.stats().lost, 0);

    // The graph announces both endpoints with their QoS as rmw_zenoh writes it.
    let graph = node.graph(PATIENCE).await.expect("graph");
    let qos_of = |kind: EntityKind| {
        graph
            .iter()
            .filter(|e| e.kind == kind)
            .filter_map(|e| e.topic.as_ref())
            .find(|t| t.name == "/tf_static")
            .map(|t| t.qos.clone())
    };
    assert_eq!(
        qos_of(EntityKind::Publisher).as_deref(),
        Some(":1:,3:,:,:,,")
    );
    assert_eq!(
        qos_of(EntityKind::Subscriber).as_deref(),
        Some(":1:,10:,:,:,,")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_volatile_subscriber_gets_no_history() {
    let (_pub_node, publisher, ep) = latched_publisher(62, latched(3), &["a", "b", "c"]).await;
    tokio::time::sleep(LATE).await;
    let (_node, sub) = late_subscriber(62, &ep, QosProfile::default()).await;
    assert_eq!(sub.qos().durability, Durability::Volatile);
    assert_quiet(&sub).await;
    // It does receive: what it missed is history, not a broken link.
    assert!(publisher.wait_for_subscribers(PATIENCE).await);
    publisher
        .publish(&static_transform("live"))
        .await
        .expect("publishes");
    assert_eq!(children(&receive(&sub, 1).await), ["live"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_last_2_keeps_only_the_last_2() {
    let (_pub_node, _publisher, ep) = latched_publisher(63, latched(2), &["a", "b", "c"]).await;
    tokio::time::sleep(LATE).await;
    let (_node, sub) = late_subscriber(63, &ep, latched(10)).await;
    assert_eq!(children(&receive(&sub, 2).await), ["b", "c"]);
    assert_quiet(&sub).await;
    // A transient-local subscriber closes like any other: `recv` then returns `None`.
    sub.close();
    let end = tokio::time::timeout(PATIENCE, sub.recv()).await;
    assert!(matches!(end, Ok(None)), "{end:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_best_effort_latched_topic_is_replayed_too() {
    let qos = latched(3).best_effort();
    let (_pub_node, _publisher, ep) = latched_publisher(64, qos, &["a", "b", "c"]).await;
    tokio::time::sleep(LATE).await;
    let (_node, sub) = late_subscriber(64, &ep, qos).await;
    assert_eq!(children(&receive(&sub, 3).await), ["a", "b", "c"]);
}

fn peer() -> Command {
    let mut cmd = Command::new("python3");
    cmd.arg(format!("{}/tests/python/zenoh_peer.py", repo()));
    cmd.stdin(Stdio::null());
    cmd
}

/// The JSON of one static transform world -> `child` (the peer appends its sequence number).
fn transform_json(child: &str) -> String {
    serde_json::to_string(&static_transform(child)).expect("JSON")
}

/// Kills a peer that is still running when the test ends.
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_rosync_subscriber_gets_a_python_publishers_static_transforms() {
    let ep = endpoint();
    let mut python = Peer(
        peer()
            .args([
                "--listen",
                &ep,
                "--domain",
                "65",
                "pub",
                "--topic",
                "/tf_static",
            ])
            .args(["--type", tf2_msgs::TFMessage::TYPE_NAME])
            .args(["--json", &transform_json("py_")])
            .args(["--count", "3", "--rate", "50", "--wait", "0.2"])
            .args(["--linger", "30", "--transient-local", "--depth", "3"])
            .arg("--announce")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 starts"),
    );
    let stdout = python.0.stdout.take().expect("stdout");
    let first_line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    });
    let line = tokio::time::timeout(PATIENCE * 2, first_line)
        .await
        .expect("python publishes in time")
        .expect("joins")
        .expect("reads");
    assert_eq!(line.trim(), "published 3");
    tokio::time::sleep(LATE).await;
    let (node, sub) = late_subscriber(65, &ep, latched(10)).await;
    assert_eq!(children(&receive(&sub, 3).await), ["py_1", "py_2", "py_3"]);
    assert_quiet(&sub).await;
    // The Python peer's token, written as rmw_zenoh writes it, parses to its QoS.
    let graph = node.graph(PATIENCE).await.expect("graph");
    let qos = graph
        .iter()
        .filter(|e| e.kind == EntityKind::Publisher)
        .find_map(|e| e.topic.as_ref().filter(|t| t.name == "/tf_static"))
        .expect("the python publisher is announced")
        .qos_profile()
        .expect("its QoS parses");
    assert_eq!(qos, latched(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_python_subscriber_gets_a_rosync_publishers_static_transforms() {
    let (_pub_node, publisher, ep) = latched_publisher(66, latched(3), &["a", "b", "c"]).await;
    tokio::time::sleep(LATE).await;
    let out = tokio::task::spawn_blocking(move || {
        peer()
            .args([
                "--connect",
                &ep,
                "--domain",
                "66",
                "sub",
                "--topic",
                "/tf_static",
            ])
            .args(["--type", tf2_msgs::TFMessage::TYPE_NAME])
            .args(["--count", "3", "--timeout", "20", "--transient-local"])
            .args(["--depth", "10"])
            .output()
    })
    .await
    .expect("joins")
    .expect("python runs");
    assert!(
        out.status.success(),
        "python sub failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let gid_hex: String = publisher.gid().iter().map(|b| format!("{b:02x}")).collect();
    let mut got = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["seq"], (i + 1) as i64, "{line}");
        assert_eq!(line["gid"], gid_hex.as_str());
        let msg: tf2_msgs::TFMessage =
            serde_json::from_value(line["value"].clone()).expect("python's JSON fits TFMessage");
        got.push(msg);
    }
    assert_eq!(children(&got), ["a", "b", "c"]);
}

/// Runs `rosync --connect ep --domain domain topic echo ARGS` to the end; its stdout and stderr.
async fn rosync_echo(ep: &str, domain: u32, args: &[&str]) -> (String, String) {
    let mut cmd = common::rosync();
    cmd.args(["--connect", ep, "--domain", &domain.to_string()])
        .args(["topic", "echo"])
        .args(args);
    let out = tokio::time::timeout(
        PATIENCE * 2,
        tokio::task::spawn_blocking(move || cmd.output()),
    )
    .await
    .expect("topic echo exits")
    .expect("joins")
    .expect("rosync runs");
    assert!(
        out.status.success(),
        "topic echo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The values of `key: value` lines of YAML output.
fn yaml_values(text: &str, key: &str) -> Vec<String> {
    let prefix = format!("{key}: ");
    text.lines()
        .filter_map(|l| l.trim().strip_prefix(&prefix))
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_echo_started_late_prints_the_latched_messages() {
    let (_pub_node, _publisher, ep) = latched_publisher(67, latched(3), &["a", "b", "c"]).await;
    tokio::time::sleep(LATE).await;
    // No QoS option: echo takes transient local from the publisher's QoS in the graph.
    let (out, _) = rosync_echo(&ep, 67, &["/tf_static", "--count", "3", "--timeout", "10"]).await;
    assert_eq!(
        yaml_values(&out, "child_frame_id"),
        ["a", "b", "c"],
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_pub_latches_for_a_late_topic_echo() {
    let ep = endpoint();
    let mut publisher = Peer(
        common::rosync()
            .args([
                "--listen", &ep, "--domain", "68", "topic", "pub", "/latched",
            ])
            .args(["std_msgs/msg/String", "{data: kept}", "--count", "3"])
            .args(["--rate", "20", "--wait", "0", "--keep-alive", "60"])
            .args(["--qos-durability", "transient_local", "--qos-depth", "3"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("rosync topic pub starts"),
    );
    let stderr = publisher.0.stderr.take().expect("stderr");
    let published = tokio::task::spawn_blocking(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .any(|line| line.starts_with("publishing #3"))
    });
    assert!(
        tokio::time::timeout(PATIENCE * 2, published)
            .await
            .expect("topic pub publishes in time")
            .expect("joins"),
        "topic pub never published its third message"
    );
    tokio::time::sleep(LATE).await;
    let (out, _) = rosync_echo(&ep, 68, &["/latched", "--count", "3", "--timeout", "10"]).await;
    assert_eq!(yaml_values(&out, "data"), ["kept", "kept", "kept"], "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_echo_of_mixed_publishers_falls_back_to_volatile_and_says_so() {
    let (node, _latched, ep) = latched_publisher(69, latched(3), &["old"]).await;
    let volatile = node
        .publisher::<tf2_msgs::TFMessage>("/tf_static")
        .await
        .expect("publisher");
    let live = tokio::spawn(async move {
        loop {
            if volatile.publish(&static_transform("live")).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let (out, err) = rosync_echo(&ep, 69, &["/tf_static", "--count", "2", "--timeout", "10"]).await;
    live.abort();
    // Volatile, as ros2 topic echo: only live messages, never the kept one.
    assert_eq!(
        yaml_values(&out, "child_frame_id"),
        ["live", "live"],
        "{out}"
    );
    assert!(
        err.contains("some, but not all, publishers of /tf_static are transient local"),
        "{err}"
    );
}

#[test]
fn topic_pub_refuses_bad_qos_options() {
    for (args, needle) in [
        (&["--qos-depth", "0"][..], "--qos-depth"),
        (&["--qos-durability", "latched"][..], "transient_local"),
        (&["--qos-reliability", "sometimes"][..], "best_effort"),
        (&["--qos-profile", "fast"][..], "sensor_data"),
    ] {
        let out = common::rosync()
            .args(["topic", "pub", "/x", "std_msgs/msg/String", "{}", "--once"])
            .args(args)
            .output()
            .expect("rosync runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} accepted");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// `rosync record` (the library's `Recorder`) adapts to a transient-local publisher as rosbag2
/// does, so the static transforms published before it started are in the log with their QoS;
/// `play` republishes a topic recorded from transient-local publishers as transient local, so
/// a subscriber that joins during playback still gets `/tf_static`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_keeps_and_play_relatches_static_transforms() {
    use rosync::bag::{
        BagWriter, Log, PlayOptions, Player, RecordOptions, Recorder, TopicSelection,
    };

    let dir = common::scratch("latched-bag");
    let (_pub_node, _publisher, ep) = latched_publisher(66, latched(3), &["a", "b", "c"]).await;
    let recorder_node = connected_node("latched_recorder", 66, &ep).await;
    let mut options = RecordOptions::new(dir.join("recorded"));
    options.selection = TopicSelection {
        topics: vec!["/tf_static".into()],
        ..TopicSelection::default()
    };
    let recorder = Recorder::start(&recorder_node, options)
        .await
        .expect("recorder");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while recorder.progress().iter().map(|t| t.received).sum::<u64>() < 3
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let report = recorder.stop().await.expect("stops");
    let log = Log::open(dir.join("recorded")).expect("recorded log");
    let recorded: Vec<(u64, tf2_msgs::TFMessage)> = log
        .typed::<tf2_msgs::TFMessage>("/tf_static")
        .expect("topic")
        .collect::<Result<_, _>>()
        .expect("readable");
    let messages: Vec<tf2_msgs::TFMessage> = recorded.iter().map(|(_, m)| m.clone()).collect();
    assert_eq!(children(&messages), ["a", "b", "c"], "{report:?}");
    let info = log
        .topics()
        .into_iter()
        .find(|t| t.topic == "/tf_static")
        .expect("topic");
    let offered = info.metadata.get("offered_qos_profiles").expect("QoS");
    assert!(offered.contains("durability: transient_local"), "{offered}");

    // A log of those messages and, 4 s later, one on another topic, so playback still runs
    // when the late subscriber joins.
    let path = dir.join("play.mcap");
    let mut writer = BagWriter::create(&path, Default::default()).expect("writer");
    let tf = writer
        .add_topic(
            "/tf_static",
            tf2_msgs::TFMessage::TYPE_NAME,
            tf2_msgs::TFMessage::TYPE_HASH,
            tf2_msgs::TFMessage::DEFINITION,
            Some(&[latched(3)]),
        )
        .expect("topic");
    let start = recorded[0].0;
    for (i, message) in messages.iter().enumerate() {
        let payload = rosync::cdr::encode(message).expect("encodes");
        writer
            .write(tf, start + i as u64, start + i as u64, &payload)
            .expect("writes");
    }
    let later = std_msgs::String { data: "end".into() };
    writer
        .write_message("/chatter", start + 4_000_000_000, &later)
        .expect("writes");
    writer.finish().expect("finishes");

    let play_ep = endpoint();
    let play_node = listening_node("latched_player", 67, &play_ep).await;
    let player = Player::new(
        &play_node,
        Log::open(&path).expect("log"),
        PlayOptions::default(),
    )
    .await
    .expect("player");
    let playing = tokio::spawn(player.run());
    tokio::time::sleep(LATE).await;
    let (_node, sub) = late_subscriber(67, &play_ep, latched(10)).await;
    assert_eq!(children(&receive(&sub, 3).await), ["a", "b", "c"]);
    playing.await.expect("joins").expect("plays");
    let _ = std::fs::remove_dir_all(&dir);
}
