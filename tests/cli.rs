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

/// Bad numbers on the command line: each is refused by the parser (exit 2, before any network)
/// with a message naming the option and the rule; none panics (exit 101 on today's main for
/// huge durations) or is silently accepted (NaN).
#[test]
fn bad_numbers_are_refused_with_the_option_and_the_rule() {
    const PUB: [&str; 4] = ["topic", "pub", "/x", "std_msgs/msg/String"];
    const PLAY: [&str; 2] = ["play", "/nonexistent/rosync_args.mcap"];
    const LIVE: [&str; 6] = ["sync", "live", "--topic", "/a", "--topic", "/b"];
    let finite = "must be a finite";
    let negative = "must not be negative";
    let whole = "a whole number between";
    let with = |head: &[&'static str], tail: &[&'static str]| -> Vec<&'static str> {
        head.iter().chain(tail).copied().collect()
    };
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (
            vec!["node", "list", "--timeout", "nan"],
            "--timeout",
            finite,
        ),
        (
            vec!["node", "list", "--timeout", "inf"],
            "--timeout",
            finite,
        ),
        (
            vec!["node", "list", "--timeout", "-1"],
            "--timeout",
            negative,
        ),
        (
            vec!["node", "list", "--timeout", "1e20"],
            "--timeout",
            "between 0 and 1000000000",
        ),
        (vec!["node", "list", "--timeout", ""], "--timeout", "empty"),
        (
            vec!["node", "list", "--timeout", "1s"],
            "--timeout",
            "without a unit",
        ),
        (vec!["node", "list", "--domain", "-1"], "--domain", negative),
        (
            vec!["topic", "echo", "/x", "--timeout", "1e300"],
            "--timeout",
            finite,
        ),
        (
            vec!["topic", "echo", "/x", "--timeout", "-inf"],
            "--timeout",
            finite,
        ),
        (
            vec!["topic", "echo", "/x", "--count", "-1"],
            "--count",
            negative,
        ),
        (
            vec!["topic", "echo", "/x", "--count", "1.5"],
            "--count",
            whole,
        ),
        (
            vec!["topic", "echo", "/x", "--truncate-length", "-1"],
            "--truncate-length",
            negative,
        ),
        (with(&PUB, &["--rate", "nan"]), "--rate", finite),
        (with(&PUB, &["--rate", "0"]), "--rate", "greater than 0"),
        (with(&PUB, &["--rate", "2e9"]), "--rate", "at most 1000000"),
        (with(&PUB, &["--rate", "-1"]), "--rate", negative),
        (with(&PUB, &["--wait", "1e20"]), "--wait", finite),
        (with(&PUB, &["--wait", "-0.5"]), "--wait", negative),
        (
            with(&PUB, &["--count", "99999999999999999999999"]),
            "--count",
            whole,
        ),
        (
            vec!["topic", "hz", "/x", "--window", "0"],
            "--window",
            whole,
        ),
        (
            vec!["topic", "hz", "/x", "--window", "1e9"],
            "--window",
            whole,
        ),
        (with(&PLAY, &["--rate", "nan"]), "--rate", finite),
        (
            with(&PLAY, &["--rate", "1e300"]),
            "--rate",
            "between 0 and 1000000",
        ),
        (with(&PLAY, &["--rate", "-1"]), "--rate", negative),
        (
            with(&PLAY, &["--start-offset", "1e20"]),
            "--start-offset",
            finite,
        ),
        (with(&PLAY, &["--duration", "NaN"]), "--duration", finite),
        (
            with(&PLAY, &["--wait-for-subscribers", "1e20"]),
            "--wait-for-subscribers",
            finite,
        ),
        (with(&PLAY, &["--clock", "0"]), "--clock", "greater than 0"),
        (
            with(&PLAY, &["--clock", "2e9"]),
            "--clock",
            "at most 1000000",
        ),
        (
            vec!["record", "-a", "--max-bag-duration", "1e20"],
            "--max-bag-duration",
            finite,
        ),
        (
            vec!["record", "-a", "--max-chunk-age", "-1"],
            "--max-chunk-age",
            negative,
        ),
        (
            vec!["record", "-a", "--discovery-interval", "nan"],
            "--discovery-interval",
            finite,
        ),
        (
            vec!["record", "-a", "--channel-capacity", "2000000"],
            "--channel-capacity",
            whole,
        ),
        (
            vec!["record", "-a", "--max-buffered-bytes", "-3"],
            "--max-buffered-bytes",
            negative,
        ),
        (
            vec!["record", "-a", "--chunk-size", "0"],
            "--chunk-size",
            whole,
        ),
        (with(&LIVE, &["--queue", "0"]), "--queue", whole),
        (with(&LIVE, &["--queue", "4294967296"]), "--queue", whole),
        (
            with(&LIVE, &["--max-interval", "1e300"]),
            "--max-interval",
            finite,
        ),
        (
            with(&LIVE, &["--age-penalty", "nan"]),
            "--age-penalty",
            finite,
        ),
        (with(&LIVE, &["--epsilon", "-1"]), "--epsilon", negative),
        (with(&LIVE, &["--count", "0"]), "--count", whole),
    ];
    let mut failures = Vec::new();
    for (args, option, rule) in &cases {
        let out = rosync().args(args).output().expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let named =
            stderr.contains(&format!("'{option} <")) || stderr.contains(&format!("'{option} ["));
        if out.status.code() != Some(2)
            || stderr.contains("panicked")
            || !named
            || !stderr.contains(rule)
        {
            failures.push(format!("{args:?} -> {:?}: {stderr}", out.status.code()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} bad command lines:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Good numbers at the edges of their ranges still parse: the commands fail later, on the
/// missing log, with exit 1.
#[test]
fn good_numbers_at_the_edges_are_accepted() {
    for args in [
        vec![
            "play",
            "/nonexistent/rosync_args.mcap",
            "--rate",
            "0",
            "--start-offset",
            "1e9",
        ],
        vec![
            "play",
            "/nonexistent/rosync_args.mcap",
            "--clock",
            "--rate",
            "1e6",
            "--duration",
            "0.001",
        ],
        vec![
            "play",
            "/nonexistent/rosync_args.mcap",
            "--clock",
            "1e-9",
            "--wait-for-subscribers=0",
        ],
        vec![
            "sync",
            "simulate",
            "--bag",
            "/nonexistent/rosync_args.mcap",
            "--topic",
            "/a",
            "--topic",
            "/b",
            "--queue",
            "4294967295",
            "--max-interval",
            "0.005",
            "--age-penalty",
            "0",
        ],
    ] {
        let out = rosync().args(&args).output().expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(!stderr.contains("invalid value"), "{args:?}: {stderr}");
    }
}
