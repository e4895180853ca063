//! tf over real zenoh sessions: rosync's broadcasters fill a listener that joins late (the
//! static transforms are latched), a Python `eclipse-zenoh` peer written from the wire
//! description publishes and receives `/tf_static` like rmw_zenoh, a backwards jump of sim
//! time clears the listener's buffer (static transforms stay), and the `rosync tf echo` and
//! `rosync tf frames` commands.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{connected_node, endpoint, header, listening_node, repo, PATIENCE};
use rosync::msg::geometry_msgs::TransformStamped;
use rosync::msg::{rosgraph_msgs, tf2_msgs, Message};
use rosync::node::{Node, Publisher, QosProfile};
use rosync::tf::{
    Buffer, RigidTransform, StaticTransformBroadcaster, TransformBroadcaster, TransformListener,
};
use rosync::Time;

const SEC: i64 = 1_000_000_000;

/// `parent -> child` at `nanos`: translation `v`, a rotation of `yaw` about z.
fn transform(parent: &str, child: &str, nanos: i64, v: [f64; 3], yaw: f64) -> TransformStamped {
    TransformStamped {
        header: header(nanos, parent),
        child_frame_id: child.into(),
        transform: RigidTransform {
            translation: v,
            rotation: [0.0, 0.0, (yaw / 2.0).sin(), (yaw / 2.0).cos()],
        }
        .to_msg(),
    }
}

/// The GID as the listener records it (dotted hex, as `ros2 topic info -v` prints it).
fn gid_text(gid: [u8; 16]) -> String {
    gid.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(".")
}

/// Sends odom -> base_link (x = 1, y = 2, yaw 90 degrees) stamped with the system time at
/// 20 Hz until dropped.
fn broadcast_odom(broadcaster: TransformBroadcaster) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let t = transform(
                "odom",
                "base_link",
                rosync::time::now_nanos(),
                [1.0, 2.0, 0.0],
                std::f64::consts::FRAC_PI_2,
            );
            if broadcaster.send_transform(&t).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
}

/// A static broadcaster that sent base_link -> camera_optical, then base_link -> laser.
async fn static_frames(node: &Node) -> StaticTransformBroadcaster {
    let statics = StaticTransformBroadcaster::new(node).await.expect("static");
    for (child, x) in [("camera_optical", 0.2), ("laser", -0.1)] {
        statics
            .send_transform(&transform("base_link", child, 0, [x, 0.0, 0.5], 0.0))
            .await
            .expect("sends");
    }
    statics
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_listener_gets_the_latched_statics_and_the_live_transforms() {
    let ep = endpoint();
    let robot = listening_node("tf_robot", 121, &ep).await;
    let statics = static_frames(&robot).await;
    assert_eq!(statics.transforms().len(), 2);
    assert_eq!(statics.publisher().published(), 2);
    let odom = TransformBroadcaster::new(&robot)
        .await
        .expect("broadcaster");
    let odom_gid = odom.publisher().gid();
    let _task = broadcast_odom(odom);
    // A second static broadcaster, in another node: a late listener gets both latched sets.
    let arm_node = connected_node("tf_arm", 121, &ep).await;
    let arm = StaticTransformBroadcaster::new(&arm_node)
        .await
        .expect("static");
    arm.send_transform(&transform("base_link", "arm", 0, [0.0, 0.3, 0.4], 0.0))
        .await
        .expect("sends");
    tokio::time::sleep(Duration::from_secs(2)).await;

    let node = connected_node("tf_listener", 121, &ep).await;
    let listener = TransformListener::new(&node, Buffer::default())
        .await
        .expect("listener");
    let buffer = listener.buffer().clone();
    // Through the chain odom -> base_link -> camera_optical, at the latest common time.
    let t = buffer
        .wait_for_transform("odom", "camera_optical", Time::default(), PATIENCE)
        .await
        .expect("the transform arrives");
    let v = t.transform.translation;
    // camera at (0.2, 0, 0.5) in base_link, rotated 90 degrees and moved by (1, 2, 0).
    assert!(
        (v.x - 1.0).abs() < 1e-9 && (v.y - 2.2).abs() < 1e-9 && (v.z - 0.5).abs() < 1e-9,
        "{v:?}"
    );
    assert!(buffer.can_transform("laser", "camera_optical", Time::default()));
    buffer
        .wait_for_transform("arm", "laser", Time::default(), PATIENCE)
        .await
        .expect("the other node's static transform arrives too");

    let frames = buffer.all_frames();
    let by_name = |name: &str| frames.iter().find(|f| f.frame == name).expect(name).clone();
    let (camera, laser, base) = (
        by_name("camera_optical"),
        by_name("laser"),
        by_name("base_link"),
    );
    assert!(camera.is_static && laser.is_static && !base.is_static);
    assert_eq!(base.parent, "odom");
    assert_eq!(camera.authority, Some(gid_text(statics.publisher().gid())));
    assert_eq!(base.authority, Some(gid_text(odom_gid)));
    assert_eq!(
        by_name("arm").authority,
        Some(gid_text(arm.publisher().gid()))
    );
    // The counters follow the buffer closely (a message is counted once stored).
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while listener.stats().stored < 4 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            listener.stats()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let stats = listener.stats();
    assert_eq!((stats.refused, stats.clears), (0, 0));
    // One latched message per static broadcaster, the first holding both of its transforms.
    assert_eq!(stats.tf_static.delivered, 2, "{stats:?}");

    // The graph announces tf2_ros's QoS for each endpoint.
    let qos = |infos: Vec<rosync::node::EndpointInfo>| -> Vec<QosProfile> {
        infos.into_iter().map(|i| i.qos.expect("parses")).collect()
    };
    let static_subs = qos(node.subscriptions_info("/tf_static").await.expect("graph"));
    assert_eq!(static_subs, [rosync::tf::qos::static_listener_qos()]);
    assert_eq!(
        static_subs[0],
        QosProfile::default().transient_local().keep_last(100)
    );
    let static_pubs = qos(node.publishers_info("/tf_static").await.expect("graph"));
    assert_eq!(
        static_pubs,
        vec![QosProfile::default().transient_local().keep_last(1); 2]
    );
    let tf_subs = qos(node.subscriptions_info("/tf").await.expect("graph"));
    assert_eq!(tf_subs, [QosProfile::default().keep_last(100)]);
}

fn peer() -> Command {
    let mut cmd = Command::new("python3");
    cmd.arg(format!("{}/tests/python/zenoh_peer.py", repo()));
    cmd.stdin(Stdio::null());
    cmd
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
async fn a_python_static_broadcaster_fills_a_late_rosync_listener() {
    let ep = endpoint();
    // One latched TFMessage with two transforms (the peer suffixes child frames with "1").
    let message = tf2_msgs::TFMessage {
        transforms: vec![
            transform("base_link", "camera_", 0, [0.1, 0.0, 0.3], 0.0),
            transform(
                "base_link",
                "laser_",
                0,
                [0.0, 0.0, 0.2],
                std::f64::consts::PI,
            ),
        ],
    };
    let mut python = Peer(
        peer()
            .args([
                "--listen",
                &ep,
                "--domain",
                "122",
                "pub",
                "--topic",
                "/tf_static",
            ])
            .args(["--type", tf2_msgs::TFMessage::TYPE_NAME])
            .args(["--json", &serde_json::to_string(&message).expect("JSON")])
            .args(["--count", "1", "--wait", "0.2", "--linger", "30"])
            .args(["--transient-local", "--depth", "1", "--announce"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 starts"),
    );
    let stdout = python.0.stdout.take().expect("stdout");
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    });
    let line = tokio::time::timeout(PATIENCE * 2, line)
        .await
        .expect("python publishes in time")
        .expect("joins")
        .expect("reads");
    assert_eq!(line.trim(), "published 1");
    tokio::time::sleep(Duration::from_secs(1)).await;

    let node = connected_node("tf_listener", 122, &ep).await;
    let listener = TransformListener::new(&node, Buffer::default())
        .await
        .expect("listener");
    let t = listener
        .buffer()
        .wait_for_transform("camera_1", "laser_1", Time::default(), PATIENCE)
        .await
        .expect("both statics arrive");
    // laser at (0, 0, 0.2) turned half a turn, seen from the camera at (0.1, 0, 0.3).
    let v = t.transform.translation;
    assert!(
        (v.x + 0.1).abs() < 1e-9 && v.y.abs() < 1e-9 && (v.z + 0.1).abs() < 1e-9,
        "{v:?}"
    );
    assert!((t.transform.rotation.z.abs() - 1.0).abs() < 1e-9);
    let frames = listener.buffer().all_frames();
    assert_eq!(frames.len(), 2);
    assert!(frames.iter().all(|f| f.is_static && f.authority.is_some()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_python_subscriber_gets_the_whole_static_set_in_one_message() {
    let ep = endpoint();
    let robot = listening_node("tf_robot", 123, &ep).await;
    let statics = static_frames(&robot).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let out = tokio::task::spawn_blocking(move || {
        peer()
            .args([
                "--connect",
                &ep,
                "--domain",
                "123",
                "sub",
                "--topic",
                "/tf_static",
            ])
            .args(["--type", tf2_msgs::TFMessage::TYPE_NAME])
            .args([
                "--count",
                "1",
                "--timeout",
                "20",
                "--transient-local",
                "--depth",
                "100",
            ])
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
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    // Only the latest message is kept (keep last 1), and it holds both transforms.
    assert_eq!(lines[0]["seq"], 2);
    let msg: tf2_msgs::TFMessage =
        serde_json::from_value(lines[0]["value"].clone()).expect("fits TFMessage");
    assert_eq!(msg.transforms, statics.transforms());
    let childs: Vec<&str> = msg
        .transforms
        .iter()
        .map(|t| t.child_frame_id.as_str())
        .collect();
    assert_eq!(childs, ["camera_optical", "laser"]);
    drop(robot);
}

/// Publishes `/clock` = `ns` until `node` reads it.
async fn set_clock(clock: &Publisher<rosgraph_msgs::Clock>, node: &Node, ns: i64) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while node.now().as_nanos() != ns {
        assert!(
            tokio::time::Instant::now() < deadline,
            "/clock = {ns} never read"
        );
        let msg = rosgraph_msgs::Clock {
            clock: Time::from_nanos(ns),
        };
        clock.publish(&msg).await.expect("publishes /clock");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backwards_sim_time_jump_clears_the_buffer_but_not_the_statics() {
    let ep = endpoint();
    let robot = listening_node("sim_robot", 124, &ep).await;
    let clock = robot
        .publisher::<rosgraph_msgs::Clock>("/clock")
        .await
        .expect("clock");
    let statics = static_frames(&robot).await;
    let odom = TransformBroadcaster::new(&robot)
        .await
        .expect("broadcaster");
    let node = Node::builder("sim_listener")
        .domain_id(124)
        .connect(&ep)
        .use_sim_time(true)
        .build()
        .await
        .expect("node");
    let listener = TransformListener::new(&node, Buffer::default())
        .await
        .expect("listener");
    let buffer = listener.buffer().clone();
    set_clock(&clock, &node, 100 * SEC).await;
    assert!(odom.publisher().wait_for_subscribers(PATIENCE).await);
    for s in [99, 100] {
        let t = transform("odom", "base_link", s * SEC, [s as f64, 0.0, 0.0], 0.0);
        odom.send_transform(&t).await.expect("sends");
    }
    buffer
        .wait_for_transform(
            "odom",
            "camera_optical",
            Time::from_nanos(100 * SEC),
            PATIENCE,
        )
        .await
        .expect("the log's first loop");

    // The log loops: /clock goes back to 50 s and the transforms start again from 49 s.
    set_clock(&clock, &node, 50 * SEC).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while listener.stats().clears == 0 {
        assert!(tokio::time::Instant::now() < deadline, "never cleared");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(buffer
        .lookup_transform("odom", "base_link", Time::default())
        .is_err());
    // Without the clear, 49 s would be refused as older than the kept history (tf2's
    // TF_OLD_DATA) and lookups in the new loop would fail for the cache time.
    for s in [49, 50] {
        let t = transform("odom", "base_link", s * SEC, [s as f64, 0.0, 0.0], 0.0);
        odom.send_transform(&t).await.expect("sends");
    }
    let t = buffer
        .wait_for_transform(
            "odom",
            "camera_optical",
            Time::from_nanos(50 * SEC),
            PATIENCE,
        )
        .await
        .expect("the second loop, with the static transforms still there");
    assert!((t.transform.translation.x - 50.2).abs() < 1e-9);
    let stats = listener.stats();
    assert_eq!((stats.clears, stats.refused), (1, 0), "{stats:?}");
    drop(statics);
}

/// Runs `rosync --connect ep --domain domain tf ARGS` to the end.
async fn rosync_tf(ep: &str, domain: u32, args: &[&str]) -> std::process::Output {
    let mut cmd = common::rosync();
    cmd.args(["--connect", ep, "--domain", &domain.to_string(), "tf"])
        .args(args);
    tokio::time::timeout(
        PATIENCE * 3,
        tokio::task::spawn_blocking(move || cmd.output()),
    )
    .await
    .expect("rosync tf exits")
    .expect("joins")
    .expect("rosync runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rosync_tf_echo_and_frames() {
    let ep = endpoint();
    let robot = listening_node("tf_robot", 125, &ep).await;
    let _statics = static_frames(&robot).await;
    let _task = broadcast_odom(
        TransformBroadcaster::new(&robot)
            .await
            .expect("broadcaster"),
    );

    let out = rosync_tf(
        &ep,
        125,
        &[
            "echo",
            "odom",
            "base_link",
            "--rate",
            "10",
            "--count",
            "2",
            "--timeout",
            "10",
        ],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.matches("At time ").count(), 2, "{stdout}");
    assert!(
        stdout.contains("- Translation: [1.000, 2.000, 0.000]\n"),
        "{stdout}"
    );
    assert!(stdout.contains("- Rotation: in Quaternion (xyzw) [0.000, 0.000, 0.707, 0.707]\n"));
    assert!(stdout.contains("- Rotation: in RPY (degree) [0.000, 0.000, 90.000]\n"));
    assert!(
        stdout.contains("- Matrix:\n   0.000  -1.000   0.000   1.000\n"),
        "{stdout}"
    );

    // Numbers are checked before anything starts.
    let out = rosync_tf(&ep, 125, &["echo", "odom", "base_link", "--rate", "0"]).await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--rate") && stderr.contains("greater than 0"),
        "{stderr}"
    );

    // A frame nobody broadcasts: the reason on stderr, then exit 1 at the timeout.
    let out = rosync_tf(&ep, 125, &["echo", "odom", "nowhere", "--timeout", "1.5"]).await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Waiting for transform odom -> nowhere"),
        "{stderr}"
    );
    assert!(stderr.contains("\"nowhere\""), "{stderr}");

    let dir = common::scratch("tf_frames");
    let (dot, svg) = (dir.join("frames.dot"), dir.join("frames.svg"));
    let out = rosync_tf(
        &ep,
        125,
        &[
            "frames",
            "--wait",
            "1.5",
            "--dot",
            dot.to_str().unwrap(),
            "--svg",
            svg.to_str().unwrap(),
        ],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert_eq!(lines[0], "odom");
    assert!(
        lines[1].starts_with("└── base_link: broadcaster /tf_robot, "),
        "{stdout}"
    );
    assert!(lines[1].contains(" Hz, most recent "), "{stdout}");
    assert_eq!(
        lines[2],
        "    ├── camera_optical: broadcaster /tf_robot, static"
    );
    assert_eq!(lines[3], "    └── laser: broadcaster /tf_robot, static");
    let dot = std::fs::read_to_string(&dot).expect("dot written");
    assert!(dot.contains("\"odom\" -> \"base_link\""), "{dot}");
    assert!(
        dot.contains("\"base_link\" -> \"laser\" [label=\"Broadcaster: /tf_robot\\lStatic\\l\"]"),
        "{dot}"
    );
    let svg = std::fs::read_to_string(&svg).expect("svg written");
    assert!(svg.starts_with("<svg ") && svg.contains(">camera_optical</text>"));

    // Nothing on /tf at all: a clear error.
    let empty = endpoint();
    let _quiet = listening_node("quiet", 126, &empty).await;
    let out = rosync_tf(&empty, 126, &["frames", "--wait", "0.5"]).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("no transforms received on /tf or /tf_static within 0.5 s"));
}
