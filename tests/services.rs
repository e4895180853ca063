//! Services: rosync servers and clients with each other and with an independent rmw_zenoh
//! service peer written on Python `eclipse-zenoh` (`tests/python/service_peer.py`), over real
//! zenoh sessions on loopback; service type hashes against rosbags
//! (`tests/python/service_hashes.py`).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{endpoint, node_pair, repo, run_rosync, PATIENCE};
use rosync::msg::example_interfaces::{AddTwoInts, AddTwoInts_Request, AddTwoInts_Response};
use rosync::msg::{service_registry, Service};
use rosync::node::{CallError, HandlerError, Node};

fn request(a: i64, b: i64) -> AddTwoInts_Request {
    AddTwoInts_Request { a, b }
}

/// The server's answered count once it reaches `n` (or after [`PATIENCE`]): a reply is counted
/// once zenoh took it, which may be just after the client got it.
async fn answered<S: rosync::msg::Service>(server: &rosync::node::ServiceServer<S>, n: u64) -> u64 {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while server.stats().answered() < n && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    server.stats().answered()
}

async fn adder(node: &Node) -> rosync::node::ServiceServer<AddTwoInts> {
    node.service::<AddTwoInts, _, _>("add_two_ints", |req| async move {
        Ok(AddTwoInts_Response { sum: req.a + req.b })
    })
    .await
    .expect("server")
}

/// A running Python peer and its stdout, killed if a test fails before it exits.
struct Peer(
    std::process::Child,
    Option<BufReader<std::process::ChildStdout>>,
);

/// Starts the peer with `args`, its stdout piped.
fn spawn_peer(args: &[&str]) -> Peer {
    let mut child = service_peer()
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 starts");
    let out = child.stdout.take().map(BufReader::new);
    Peer(child, out)
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn service_peer() -> Command {
    let mut cmd = Command::new("python3");
    cmd.arg(format!("{}/tests/python/service_peer.py", repo()));
    cmd.stdin(Stdio::null());
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rosync_client_calls_rosync_server() {
    let (server_node, client_node, _) = node_pair(41).await;
    let server = adder(&server_node).await;
    let client = client_node
        .client::<AddTwoInts>("/add_two_ints")
        .await
        .expect("client");
    assert!(client.wait_for_service(PATIENCE).await, "server never seen");
    let response = client
        .call(&request(2, 40), PATIENCE)
        .await
        .expect("response");
    assert_eq!(response.sum, 42);
    assert_eq!(
        server.key_expr(),
        format!(
            "41/add_two_ints/example_interfaces::srv::dds_::AddTwoInts_/{}",
            AddTwoInts::TYPE_HASH
        )
    );
    assert_eq!(answered(&server, 1).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_clients_are_all_answered_with_bounded_concurrency() {
    let (server_node, client_node, _) = node_pair(42).await;
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (r, m) = (running.clone(), most.clone());
    let server = server_node
        .service::<AddTwoInts, _, _>("add_two_ints", move |req| {
            let (running, most) = (r.clone(), m.clone());
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                Ok(AddTwoInts_Response { sum: req.a + req.b })
            }
        })
        .max_concurrent(3)
        .await
        .expect("server");
    let mut clients = Vec::new();
    for _ in 0..6 {
        let client = client_node
            .client::<AddTwoInts>("add_two_ints")
            .await
            .expect("client");
        assert!(client.wait_for_service(PATIENCE).await);
        clients.push(Arc::new(client));
    }
    let mut calls = Vec::new();
    for (c, client) in clients.iter().enumerate() {
        for i in 0..10i64 {
            let client = client.clone();
            let a = c as i64 * 100 + i;
            calls.push(tokio::spawn(async move {
                (a, client.call(&request(a, 1), PATIENCE).await)
            }));
        }
    }
    for call in calls {
        let (a, response) = call.await.expect("joins");
        assert_eq!(response.expect("answered").sum, a + 1);
    }
    assert_eq!(answered(&server, 60).await, 60);
    assert_eq!(server.stats().received(), 60);
    let most = most.load(Ordering::SeqCst);
    assert!((2..=3).contains(&most), "{most} handlers ran at once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_or_panicking_handler_answers_no_one_and_the_server_keeps_serving() {
    let (server_node, client_node, _) = node_pair(43).await;
    let server = server_node
        .service::<AddTwoInts, _, _>("add_two_ints", |req| async move {
            match req.a {
                1 => Err(HandlerError::from("a is 1")),
                2 => panic!("a is 2"),
                _ => Ok(AddTwoInts_Response { sum: req.a + req.b }),
            }
        })
        .await
        .expect("server");
    let client = client_node
        .client::<AddTwoInts>("add_two_ints")
        .await
        .expect("client");
    assert!(client.wait_for_service(PATIENCE).await);
    for a in [1, 2] {
        let err = client
            .call(&request(a, 0), PATIENCE)
            .await
            .expect_err("no answer");
        assert!(matches!(err, CallError::NoResponse { .. }), "{err}");
    }
    let response = client.call(&request(3, 4), PATIENCE).await.expect("served");
    assert_eq!(response.sum, 7);
    answered(&server, 1).await;
    let stats = server.stats();
    assert_eq!(
        (stats.failed(), stats.panicked(), stats.answered()),
        (1, 1, 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_times_out_when_the_handler_is_slow() {
    let (server_node, client_node, _) = node_pair(44).await;
    let _server = server_node
        .service::<AddTwoInts, _, _>("slow", |req| async move {
            tokio::time::sleep(Duration::from_secs(3)).await;
            Ok(AddTwoInts_Response { sum: req.a + req.b })
        })
        .await
        .expect("server");
    let client = client_node
        .client::<AddTwoInts>("slow")
        .await
        .expect("client");
    assert!(client.wait_for_service(PATIENCE).await);
    let timeout = Duration::from_millis(300);
    let err = client
        .call(&request(1, 1), timeout)
        .await
        .expect_err("too slow");
    assert!(
        matches!(err, CallError::Timeout { timeout: t, .. } if t == timeout),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_service_sees_a_server_that_starts_later() {
    let (server_node, client_node, _) = node_pair(45).await;
    let client = client_node
        .client::<AddTwoInts>("add_two_ints")
        .await
        .expect("client");
    assert!(!client.wait_for_service(Duration::from_millis(500)).await);
    // A server of another type on the same name is not the service.
    let _other = server_node
        .service::<rosync::msg::std_srvs::Trigger, _, _>("add_two_ints", |_| async move {
            Ok(Default::default())
        })
        .await
        .expect("other server");
    assert!(!client.wait_for_service(Duration::from_millis(500)).await);
    let later = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        adder(&server_node).await
    });
    assert!(client.wait_for_service(PATIENCE).await);
    let _server = later.await.expect("joins");
    assert_eq!(
        client
            .call(&request(5, 6), PATIENCE)
            .await
            .expect("served")
            .sum,
        11
    );
}

/// Reads the peer's JSON lines until `done` says enough.
fn read_lines(
    peer: &mut Peer,
    mut done: impl FnMut(&serde_json::Value) -> bool,
) -> Vec<serde_json::Value> {
    let Some(stdout) = peer.1.as_mut() else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    for line in stdout.lines() {
        let line = line.expect("a line");
        let value: serde_json::Value = serde_json::from_str(&line).expect("JSON line");
        assert!(value.get("error").is_none(), "python peer: {line}");
        let finished = done(&value);
        lines.push(value);
        if finished {
            break;
        }
    }
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rosync_client_calls_python_server() {
    let ep = endpoint();
    let mut python = spawn_peer(&["server", "--listen", &ep, "--domain", "46", "--count", "3"]);
    let mut python = tokio::task::spawn_blocking(move || {
        let ready = read_lines(&mut python, |v| v["ready"] == true);
        assert_eq!(ready.len(), 1);
        python
    })
    .await
    .expect("joins");
    let node = Node::builder("caller")
        .domain_id(46)
        .connect(&ep)
        .build()
        .await
        .expect("node");
    let client = node
        .client::<AddTwoInts>("add_two_ints")
        .await
        .expect("client");
    assert!(
        client.wait_for_service(PATIENCE).await,
        "the Python server's SS token was not seen"
    );
    for i in 0..3 {
        let response = client
            .call(&request(10, i), PATIENCE)
            .await
            .expect("python answers");
        assert_eq!(response.sum, 10 + i);
    }
    let gid = client.raw().gid();
    let key = client.raw().key_expr().to_string();
    let (lines, status) = tokio::task::spawn_blocking(move || {
        let lines = read_lines(&mut python, |_| false);
        (lines, python.0.wait().expect("python exits"))
    })
    .await
    .expect("joins");
    assert!(status.success());
    assert_eq!(lines.len(), 3);
    let hex: String = gid.iter().map(|b| format!("{b:02x}")).collect();
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["sequence_number"], i as i64 + 1);
        assert_eq!(line["gid"], hex);
        assert_eq!(line["b"], i as i64);
        assert_eq!(line["query_key"], key);
        assert!(line["source_timestamp"].as_i64().unwrap_or(0) > 1_600_000_000_000_000_000);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_client_calls_rosync_server() {
    let ep = endpoint();
    let node = Node::builder("adder")
        .domain_id(47)
        .listen(&ep)
        .build()
        .await
        .expect("node");
    let server = adder(&node).await;
    let (lines, status) = tokio::task::spawn_blocking(move || {
        let mut python = spawn_peer(&[
            "client",
            "--connect",
            &ep,
            "--domain",
            "47",
            "--count",
            "3",
            "--a",
            "20",
            "--b",
            "1",
        ]);
        let lines = read_lines(&mut python, |_| false);
        (lines, python.0.wait().expect("python exits"))
    })
    .await
    .expect("joins");
    assert!(status.success(), "{lines:?}");
    let zid = node.session().zid().to_string();
    let ss_token = format!(
        "@ros2_lv/47/{zid}/0/1/SS/%/%/adder/%add_two_ints/example_interfaces::srv::dds_::AddTwoInts_/{}/::,10:,:,:,,",
        AddTwoInts::TYPE_HASH
    );
    assert_eq!(lines[0]["server_token"], ss_token);
    assert_eq!(lines.len(), 4);
    for (i, line) in lines[1..].iter().enumerate() {
        assert_eq!(line["sum"], 21 + i as i64);
        assert_eq!(line["sequence_number"], i as i64 + 1);
        assert_eq!(line["gid_matches"], true);
        assert_eq!(line["key"], server.key_expr());
    }
    assert_eq!(answered(&server, 3).await, 3);
}

#[test]
fn every_shipped_service_hash_matches_rosbags() {
    let out = Command::new("python3")
        .arg(format!("{}/tests/python/service_hashes.py", repo()))
        .arg(format!("{}/msgs", repo()))
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let expected: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(n, h)| (n.to_string(), h.to_string()))
        .collect();
    let shipped: Vec<(String, String)> = service_registry()
        .map(|s| (s.type_name.to_string(), s.type_hash.to_string()))
        .collect();
    assert_eq!(shipped.len(), 14);
    let mut sorted = shipped.clone();
    sorted.sort();
    assert_eq!(sorted, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_lists_types_and_calls_services() {
    let ep = endpoint();
    let mut python = spawn_peer(&["server", "--listen", &ep, "--domain", "48", "--count", "1"]);
    let mut python = tokio::task::spawn_blocking(move || {
        read_lines(&mut python, |v| v["ready"] == true);
        python
    })
    .await
    .expect("joins");
    let node = Node::builder("trigger_server")
        .domain_id(48)
        .connect(&ep)
        .build()
        .await
        .expect("node");
    let _trigger = node
        .service::<rosync::msg::std_srvs::Trigger, _, _>("/robot/reset", |_| async move {
            Ok(rosync::msg::std_srvs::Trigger_Response {
                success: true,
                message: "done: \"ok\"".into(),
            })
        })
        .await
        .expect("server");
    let run = move |args: &[&str]| {
        let connect = ["--connect", ep.as_str(), "--domain", "48"];
        let all: Vec<&str> = connect.iter().chain(args).copied().collect();
        let out = run_rosync(&all);
        assert!(
            out.status.success(),
            "rosync {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let list = tokio::task::spawn_blocking(move || {
        let list = run(&["service", "list", "-t"]);
        let plain = run(&["service", "list"]);
        let kind = run(&["service", "type", "/add_two_ints"]);
        let call = run(&[
            "service",
            "call",
            "/add_two_ints",
            "example_interfaces/srv/AddTwoInts",
            "{a: 2, b: 3}",
        ]);
        let trigger = run(&["service", "call", "/robot/reset", "std_srvs/srv/Trigger"]);
        (list, plain, kind, call, trigger)
    })
    .await
    .expect("joins");
    let (list, plain, kind, call, trigger) = list;
    assert!(
        list.lines()
            .any(|l| l == "/add_two_ints [example_interfaces/srv/AddTwoInts]"),
        "{list}"
    );
    assert!(
        list.lines()
            .any(|l| l == "/robot/reset [std_srvs/srv/Trigger]"),
        "{list}"
    );
    assert!(plain.lines().any(|l| l == "/add_two_ints"), "{plain}");
    assert_eq!(kind.trim(), "example_interfaces/srv/AddTwoInts");
    assert!(call.contains("sum: 5"), "{call}");
    assert!(trigger.contains("success: true"), "{trigger}");
    let status = tokio::task::spawn_blocking(move || python.0.wait().expect("exits"))
        .await
        .expect("joins");
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_without_attachment_or_with_a_bad_payload_are_rejected_and_counted() {
    let (server_node, client_node, _) = node_pair(49).await;
    let server = adder(&server_node).await;
    let client = client_node
        .client::<AddTwoInts>("add_two_ints")
        .await
        .expect("client");
    assert!(client.wait_for_service(PATIENCE).await);
    // A plain zenoh query without rmw_zenoh's attachment gets no reply.
    let payload = rosync::cdr::encode(&request(1, 2)).expect("encodes");
    let replies = client_node
        .session()
        .get(server.key_expr())
        .payload(payload)
        .await
        .expect("query sent");
    let mut answered = 0;
    while let Ok(reply) = replies.recv_async().await {
        answered += usize::from(reply.result().is_ok());
    }
    assert_eq!(answered, 0);
    // A request that is not an AddTwoInts request (too short) gets none either.
    let err = client
        .raw()
        .call_payload(vec![0, 1, 0, 0, 7], PATIENCE)
        .await
        .expect_err("not answered");
    assert!(matches!(err, CallError::NoResponse { .. }), "{err}");
    assert_eq!(server.stats().rejected(), 2);
    assert_eq!(
        client
            .call(&request(1, 2), PATIENCE)
            .await
            .expect("served")
            .sum,
        3
    );
}
