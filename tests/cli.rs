//! The `rosync` binary against real nodes in this process and in other processes.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{endpoint, rosync, PATIENCE};
use rosync::msg::std_msgs;

async fn run(mut cmd: Command) -> std::process::Output {
    tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("joins")
        .expect("rosync runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_pub_in_another_process_reaches_a_subscriber() {
    let ep = endpoint();
    let node = common::listening_node("cli_listener", 31, &ep).await;
    let sub = node
        .subscriber::<std_msgs::String>("/cli_chatter")
        .await
        .expect("sub");
    let mut cmd = rosync();
    cmd.args([
        "topic",
        "pub",
        "/cli_chatter",
        "std_msgs/msg/String",
        "{data: 'hi there'}",
    ])
    .args([
        "--rate",
        "20",
        "--count",
        "5",
        "--connect",
        &ep,
        "--domain",
        "31",
    ]);
    let publisher = tokio::task::spawn_blocking(move || cmd.output());
    for _ in 0..5 {
        let msg = tokio::time::timeout(PATIENCE, sub.recv())
            .await
            .expect("arrives")
            .expect("open");
        assert_eq!(msg.data, "hi there");
    }
    let out = publisher.await.expect("joins").expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_list_and_hz_see_a_publisher() {
    let ep = endpoint();
    let node = common::listening_node("cli_talker", 32, &ep).await;
    let publisher = node
        .publisher::<std_msgs::Header>("/cli_header")
        .await
        .expect("pub");
    let talking = tokio::spawn(async move {
        for i in 0.. {
            let msg = std_msgs::Header {
                stamp: rosync::Time::from_nanos(i * 1_000_000_000 + 5),
                frame_id: "map: odd".into(),
            };
            if publisher.publish(&msg).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let net = ["--connect", ep.as_str(), "--domain", "32"];

    let mut echo = rosync();
    echo.args([
        "topic",
        "echo",
        "/cli_header",
        "--count",
        "2",
        "--timeout",
        "10",
    ])
    .args(net);
    let out = run(echo).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches("---\n").count(), 2, "{text}");
    assert!(text.contains("stamp:\n  sec: "), "{text}");
    assert!(text.contains("frame_id: 'map: odd'\n"), "{text}");

    let mut list = rosync();
    list.args(["topic", "list", "-t"]).args(net);
    let out = run(list).await;
    assert!(String::from_utf8_lossy(&out.stdout).contains("/cli_header [std_msgs/msg/Header]"));

    let mut nodes = rosync();
    nodes.args(["node", "list"]).args(net);
    let out = run(nodes).await;
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "/cli_talker");

    let mut hz = rosync();
    hz.args(["topic", "hz", "/cli_header", "--count", "15"])
        .args(net);
    let out = run(hz).await;
    let text = String::from_utf8_lossy(&out.stdout);
    let rate: f64 = text
        .split_whitespace()
        .nth(2)
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("no rate in {text}"));
    assert!(rate > 1.0 && rate < 1000.0, "implausible rate {rate}");
    talking.abort();
}

#[test]
fn bad_input_is_one_line_and_non_zero() {
    let ep = endpoint();
    let cases: [(&[&str], &str); 5] = [
        (
            &["topic", "pub", "/x", "no_such/msg/Type", "{}"],
            "unknown message type `no_such/msg/Type`",
        ),
        (
            &["topic", "pub", "/x", "std_msgs/msg/String", "{data: [1"],
            "invalid YAML/JSON",
        ),
        (
            &["topic", "pub", "/x", "std_msgs/msg/String", "{datta: 1}"],
            "unknown field `datta`",
        ),
        (
            &["topic", "echo", "/nobody_publishes", "--listen", &ep],
            "no publisher announces topic /nobody_publishes",
        ),
        (
            &[
                "topic",
                "pub",
                "bad topic",
                "std_msgs/msg/String",
                "{}",
                "--listen",
                &ep,
            ],
            "invalid name `bad topic`",
        ),
    ];
    for (args, expected) in cases {
        let out = rosync().args(args).output().expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    let help = rosync()
        .args(["topic", "echo", "--help"])
        .output()
        .expect("runs");
    assert!(String::from_utf8_lossy(&help.stdout).contains("--truncate-length"));
}
