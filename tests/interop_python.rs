//! rosync against an independent rmw_zenoh-style peer written in Python (`eclipse-zenoh` +
//! `rosbags` from PyPI, `tests/python/zenoh_peer.py`): it builds key expressions,
//! attachments and CDR bytes on its own, and decodes ours.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{endpoint, repo, PATIENCE};
use rosync::msg::{sensor_msgs, std_msgs, Message};
use rosync::node::Node;

fn peer() -> Command {
    let mut cmd = Command::new("python3");
    cmd.arg(format!("{}/tests/python/zenoh_peer.py", repo()));
    cmd.stdin(Stdio::null());
    cmd
}

fn golden_image_json() -> serde_json::Value {
    let text = std::fs::read_to_string(format!("{}/tests/golden/cdr/image.json", repo()))
        .expect("golden image");
    let case: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    case["value"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_publisher_reaches_rosync_subscriber() {
    let ep = endpoint();
    let node = common::listening_node("rosync_listener", 21, &ep).await;
    let strings = node
        .subscriber::<std_msgs::String>("/py_chatter")
        .queue_size(50)
        .await
        .expect("sub");
    let images = node
        .subscriber::<sensor_msgs::Image>("/py_image")
        .queue_size(50)
        .await
        .expect("sub");
    let image_json = golden_image_json();
    let string_pub = peer()
        .args([
            "--connect",
            &ep,
            "--domain",
            "21",
            "pub",
            "--topic",
            "/py_chatter",
        ])
        .args([
            "--type",
            "std_msgs/msg/String",
            "--json",
            r#"{"data": "hello from python ü"}"#,
        ])
        .args(["--count", "5", "--rate", "20", "--wait", "1.0"])
        .output();
    let image_pub = peer()
        .args([
            "--connect",
            &ep,
            "--domain",
            "21",
            "pub",
            "--topic",
            "/py_image",
        ])
        .args([
            "--type",
            "sensor_msgs/msg/Image",
            "--json",
            &image_json.to_string(),
        ])
        .args(["--count", "3", "--rate", "20", "--wait", "1.0"])
        .output();
    for out in [string_pub, image_pub] {
        let out = out.expect("python3 runs");
        assert!(
            out.status.success(),
            "peer failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut got = Vec::new();
    for _ in 0..5 {
        let (msg, info) = tokio::time::timeout(PATIENCE, strings.recv_with_info())
            .await
            .expect("string arrives")
            .expect("open");
        let attachment = info.attachment.expect("python peer attaches");
        got.push((msg.data, attachment.sequence_number));
    }
    let expected: Vec<(String, i64)> = (1..=5)
        .map(|i| (format!("hello from python ü {i}"), i))
        .collect();
    assert_eq!(got, expected);
    let expected_image: sensor_msgs::Image = serde_json::from_value(image_json).expect("fits");
    for _ in 0..3 {
        let image = tokio::time::timeout(PATIENCE, images.recv())
            .await
            .expect("image")
            .expect("open");
        assert_eq!(image, expected_image);
    }
    assert_eq!(
        strings.stats().decode_errors + images.stats().decode_errors,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rosync_publisher_is_decoded_by_python() {
    let ep = endpoint();
    let node = common::listening_node("rosync_talker", 22, &ep).await;
    let publisher = node
        .publisher::<sensor_msgs::Image>("/to_python")
        .await
        .expect("pub");
    let image: sensor_msgs::Image = serde_json::from_value(golden_image_json()).expect("fits");
    let python = peer()
        .args([
            "--connect",
            &ep,
            "--domain",
            "22",
            "sub",
            "--topic",
            "/to_python",
        ])
        .args([
            "--type",
            "sensor_msgs/msg/Image",
            "--count",
            "3",
            "--timeout",
            "20",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 starts");
    assert!(
        publisher
            .wait_for_subscribers(Duration::from_secs(20))
            .await,
        "python never subscribed"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..3 {
        publisher.publish(&image).await.expect("publishes");
    }
    let out = tokio::task::spawn_blocking(move || python.wait_with_output())
        .await
        .expect("joins")
        .expect("python finishes");
    assert!(
        out.status.success(),
        "python sub failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 3);
    let gid_hex: String = publisher.gid().iter().map(|b| format!("{b:02x}")).collect();
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["seq"], (i + 1) as i64);
        assert_eq!(line["gid"], gid_hex.as_str());
        let decoded: sensor_msgs::Image =
            serde_json::from_value(line["value"].clone()).expect("python's JSON fits Image");
        assert_eq!(decoded, image);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sees_rosync_liveliness_tokens() {
    let ep = endpoint();
    let node = Node::builder("announcer")
        .namespace("/robot1")
        .domain_id(23)
        .listen(&ep)
        .build()
        .await
        .expect("node");
    let publisher = node
        .publisher::<std_msgs::String>("chatter")
        .await
        .expect("pub");
    let out = tokio::task::spawn_blocking(move || {
        peer()
            .args(["--connect", &ep, "liveliness", "--timeout", "2"])
            .output()
    })
    .await
    .expect("joins")
    .expect("python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tokens = String::from_utf8_lossy(&out.stdout).to_string();
    let zid = node.session().zid().to_string();
    let node_token = format!("@ros2_lv/23/{zid}/0/0/NN/%/%robot1/announcer");
    let pub_token = format!(
        "@ros2_lv/23/{zid}/0/1/MP/%/%robot1/announcer/%robot1%chatter/std_msgs::msg::dds_::String_/{}/::,10:,:,:,,",
        std_msgs::String::TYPE_HASH
    );
    assert!(
        tokens.lines().any(|l| l == node_token),
        "{node_token} not in:\n{tokens}"
    );
    assert!(
        tokens.lines().any(|l| l == pub_token),
        "{pub_token} not in:\n{tokens}"
    );
    assert_eq!(
        publisher.key_expr(),
        format!(
            "23/robot1/chatter/std_msgs::msg::dds_::String_/{}",
            std_msgs::String::TYPE_HASH
        )
    );
}

/// Runs `rosync ARGS` connecting to `ep` in `domain`, stdout and stderr captured.
fn rosync_connected(ep: &str, domain: u32, args: &[&str]) -> std::process::Child {
    common::rosync()
        .args(["--connect", ep, "--domain", &domain.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rosync starts")
}

/// Waits for a child started by [`rosync_connected`] (after `signal`, if any) and returns its
/// stdout and stderr.
fn finish(mut child: std::process::Child, signal: Option<i32>) -> (String, String) {
    if let Some(signal) = signal {
        // SAFETY: kill(2) on the pid of a child this test started and has not reaped.
        unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    }
    let deadline = std::time::Instant::now() + PATIENCE;
    while child.try_wait().expect("wait").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A Python publisher whose sequence numbers have gaps (samples lost on the way): every rosync
/// receiver counts them as `lost` — subscriber stats, `topic echo`, `topic hz`, and the
/// recorder's report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gaps_in_a_publishers_sequence_numbers_are_counted_as_lost() {
    let ep = endpoint();
    let domain = 91;
    let (count, skipped) = (20u64, [5u64, 6, 12]);
    let delivered = count - skipped.len() as u64;
    let dir = common::scratch("lost");
    let bag = dir.join("lost_bag");
    // The Python peer listens; every rosync receiver connects to it.
    let python = peer()
        .args(["--listen", &ep, "--domain", &domain.to_string(), "pub"])
        .args(["--topic", "/py_gaps", "--type", "std_msgs/msg/String"])
        .args(["--json", r#"{"data": "gap"}"#, "--announce"])
        .args(["--count", &count.to_string(), "--rate", "20", "--wait", "5"])
        .args(["--skip", "5,6,12"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let node = common::connected_node("lost_listener", domain, &ep).await;
    let sub = node
        .subscriber::<std_msgs::String>("/py_gaps")
        .queue_size(100)
        .await
        .expect("sub");
    let n = delivered.to_string();
    let echo = rosync_connected(
        &ep,
        domain,
        &[
            "topic",
            "echo",
            "/py_gaps",
            "--type",
            "std_msgs/msg/String",
            "--count",
            &n,
        ],
    );
    let hz = rosync_connected(&ep, domain, &["topic", "hz", "/py_gaps", "--count", &n]);
    let record = rosync_connected(
        &ep,
        domain,
        &[
            "record",
            "/py_gaps",
            "--discovery-interval",
            "0.1",
            "-o",
            bag.to_str().expect("path"),
        ],
    );
    let out = tokio::task::spawn_blocking(move || python.wait_with_output())
        .await
        .expect("join")
        .expect("python exits");
    assert!(
        out.status.success(),
        "peer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for _ in 0..delivered {
        tokio::time::timeout(PATIENCE, sub.recv())
            .await
            .expect("message arrives")
            .expect("open");
    }
    let stats = sub.stats();
    assert_eq!((stats.received, stats.lost), (delivered, 3), "{stats:?}");

    let lost_line = format!("received {delivered}, dropped 0 (queue full), lost 3 (never arrived)");
    let (stdout, stderr) = tokio::task::spawn_blocking(move || finish(echo, None))
        .await
        .expect("join");
    assert_eq!(stdout.matches("---").count() as u64, delivered, "{stdout}");
    assert!(stderr.contains(&lost_line), "topic echo: {stderr}");
    let (_, stderr) = tokio::task::spawn_blocking(move || finish(hz, None))
        .await
        .expect("join");
    assert!(stderr.contains(&lost_line), "topic hz: {stderr}");
    let (_, stderr) = tokio::task::spawn_blocking(move || finish(record, Some(libc::SIGINT)))
        .await
        .expect("join");
    assert!(
        stderr.contains(&format!(
            "/py_gaps (std_msgs/msg/String): received {delivered}, written {delivered}, dropped 0 (buffer full), lost 3 (never arrived)"
        )),
        "record: {stderr}"
    );
    assert!(stderr.contains("3 messages lost"), "record: {stderr}");
}
