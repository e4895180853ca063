//! Network messages of the `rosync` binary a user can act on: bad endpoints and config files
//! fail naming what was wrong (never zenoh's source paths), an unreachable endpoint is named
//! (zenoh's own lines only with -v), and the default loopback rendezvous is quiet.

mod common;

use std::net::TcpListener;
use std::process::Output;
use std::time::Duration;

use common::{free_port, rosync, run_rosync, scratch};
use rosync::node::Node;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// No zenoh source path (`.../zenoh-protocol-1.10.2/src/core/endpoint.rs:615`) and no zenoh
/// log line.
fn assert_own_words(text: &str, what: &str) {
    for internal in ["zenoh-", ".rs:", "zenoh::", "Scouting delay"] {
        assert!(!text.contains(internal), "{what}: `{internal}` in {text}");
    }
}

#[test]
fn bad_endpoints_and_configs_fail_naming_what_is_wrong() {
    let dir = scratch("cli-network-config");
    let unknown_key = dir.join("unknown_key.json5");
    std::fs::write(&unknown_key, "{ mode: \"peer\", nonsense: 3 }").expect("write");
    let syntax = dir.join("syntax.json5");
    std::fs::write(&syntax, "{ mode: ").expect("write");
    let bad_port = dir.join("bad_port.json5");
    std::fs::write(
        &bad_port,
        r#"{ mode: "peer", listen: { endpoints: ["tcp/127.0.0.1:99999"] } }"#,
    )
    .expect("write");
    let held = TcpListener::bind("127.0.0.1:0").expect("bind");
    let held = format!("tcp/{}", held.local_addr().expect("address"));
    let path = |p: &std::path::Path| p.to_str().expect("UTF-8").to_string();
    let cases: Vec<([String; 2], Vec<String>)> = vec![
        (
            ["--connect".into(), "tcp/127.0.0.1:99999".into()],
            vec![
                "`tcp/127.0.0.1:99999`".into(),
                "port 99999 is out of range".into(),
            ],
        ),
        (
            ["--listen".into(), "tcp/127.0.0.1:70000".into()],
            vec![
                "`tcp/127.0.0.1:70000`".into(),
                "port 70000 is out of range".into(),
            ],
        ),
        (
            ["--connect".into(), "not-an-endpoint".into()],
            vec!["`not-an-endpoint`".into(), "PROTOCOL/HOST:PORT".into()],
        ),
        (
            ["--connect".into(), "tcp/127.0.0.1".into()],
            vec!["`tcp/127.0.0.1`".into(), "no port".into()],
        ),
        (
            ["--connect".into(), "quic/127.0.0.1:7447".into()],
            vec!["unsupported protocol `quic`".into()],
        ),
        (
            ["--listen".into(), held.clone()],
            vec![
                format!("listening on {held}"),
                "Address already in use".into(),
            ],
        ),
        (
            ["--config".into(), path(&unknown_key)],
            vec![path(&unknown_key), "unknown field `nonsense`".into()],
        ),
        (
            ["--config".into(), path(&syntax)],
            vec![path(&syntax), "at line:column 1:9".into()],
        ),
        (
            ["--config".into(), path(&bad_port)],
            vec![path(&bad_port), "`tcp/127.0.0.1:99999`".into()],
        ),
        (
            ["--config".into(), path(&dir.join("missing.json5"))],
            vec!["missing.json5: No such file".into()],
        ),
    ];
    for (args, expected) in cases {
        let out = run_rosync(&["node", "list", &args[0], &args[1]]);
        let text = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {text}");
        assert_eq!(text.lines().count(), 1, "{args:?}: {text}");
        for part in expected {
            assert!(text.contains(&part), "{args:?}: no `{part}` in {text}");
        }
        assert_own_words(&text, &args[1]);
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_unreachable_endpoint_is_named_and_zenoh_lines_need_verbose() {
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    for command in [&["node", "list"][..], &["topic", "list"][..]] {
        let out = run_rosync(&[command, &["--connect", &endpoint]].concat());
        let text = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{command:?}: {text}");
        assert!(
            text.contains(&format!("cannot reach {endpoint}")),
            "{command:?}: {text}"
        );
        assert_own_words(&text, command[0]);
    }
    // zenoh's own account is there for whoever asks for it.
    let out = run_rosync(&["node", "list", "-v", "--connect", &endpoint]);
    assert!(stderr(&out).contains("Scouting delay"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_joining_the_default_rendezvous_are_quiet() {
    // This node (or whichever process already holds tcp/127.0.0.1:7447) is the first one;
    // the two commands below join it with no network option at all.
    let _first = Node::builder("quiet_first")
        .domain_id(0)
        .build()
        .await
        .expect("a node on the default rendezvous");
    let topic = format!("/quiet_chatter_{}", std::process::id());
    let mut publisher = rosync();
    publisher.args([
        "topic",
        "pub",
        &topic,
        "std_msgs/msg/String",
        "{data: quiet}",
        "--rate",
        "20",
        "--count",
        "100",
    ]);
    let talker = tokio::task::spawn_blocking(move || publisher.output());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut echo = rosync();
    echo.args(["topic", "echo", &topic, "--count", "1", "--timeout", "10"]);
    let heard = tokio::task::spawn_blocking(move || echo.output())
        .await
        .expect("joins")
        .expect("echo runs");
    let talked = talker.await.expect("joins").expect("pub runs");
    for (name, out) in [("topic echo", &heard), ("topic pub", &talked)] {
        let text = stderr(out);
        assert!(out.status.success(), "{name}: {text}");
        assert!(!text.contains("Address already in use"), "{name}: {text}");
        assert!(!text.contains("WARN"), "{name}: {text}");
    }
    assert_eq!(String::from_utf8_lossy(&heard.stdout), "data: quiet\n---\n");
}
