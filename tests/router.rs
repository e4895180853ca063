//! `rosync router` (a zenoh router configured as ROS 2's `rmw_zenohd`) with nodes that know
//! only the router: data flows to an independent Python eclipse-zenoh subscriber, the graph
//! (the `Node` graph API, `topic list`, `topic info -v`) sees endpoints of rosync and of an
//! independent Python peer declaring rmw_zenoh tokens (`tests/python/graph_peer.py`), and
//! incompatible QoS is warned about once per pair. Tests listen on loopback only.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rosync::msg::std_msgs;
use rosync::node::{EntityKind, GraphEvent, Node, Publisher, QosProfile, Reliability};

use common::{connected_node, endpoint, repo, rosync, PATIENCE};

const STRING_HASH: &str = "RIHS01_df668c740482bbd48fb39d76a70dfd4bd59db1288021743503259e948f6b1a18";

/// A `rosync router` process; stopped with SIGTERM when dropped.
struct RosyncRouter {
    child: Child,
    endpoint: String,
    zid: String,
}

impl RosyncRouter {
    /// Starts `rosync router --listen endpoint`; `None` if it could not listen there.
    fn start_on(endpoint: &str) -> Option<Self> {
        let mut child = rosync()
            .args(["router", "--listen", endpoint])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("rosync router starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("router output");
        if line.trim() != format!("listening on {endpoint}") {
            let _ = child.wait();
            let mut err = String::new();
            let _ = child
                .stderr
                .take()
                .expect("stderr")
                .read_to_string(&mut err);
            eprintln!("router did not start on {endpoint}: {line}{err}");
            return None;
        }
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let mut line = String::new();
        stderr.read_line(&mut line).expect("router stderr");
        let zid = line
            .strip_prefix("router ")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("router line: {line}"))
            .to_string();
        // Keep draining stderr so the router never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = stderr.read_to_string(&mut rest);
        });
        Some(Self {
            child,
            endpoint: endpoint.to_string(),
            zid,
        })
    }

    fn start() -> Self {
        Self::start_on(&endpoint()).expect("router listens on a free loopback port")
    }

    /// Stops the router with `signal` and returns whether it exited cleanly (status 0).
    fn stop(mut self, signal: i32) -> bool {
        let pid = self.child.id() as i32;
        // SAFETY: sending a signal to our own child process.
        unsafe { libc::kill(pid, signal) };
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.success();
            }
            assert!(Instant::now() < deadline, "router ignored signal {signal}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RosyncRouter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `tests/python/graph_peer.py` process holding rmw_zenoh tokens until dropped.
struct GraphPeer {
    child: Child,
    tokens: Vec<String>,
}

impl GraphPeer {
    fn start(endpoint: &str, spec: serde_json::Value) -> Self {
        let mut child = Command::new("python3")
            .arg(format!("{}/tests/python/graph_peer.py", repo()))
            .args([endpoint, &spec.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs graph_peer.py");
        let mut tokens = Vec::new();
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        loop {
            let mut line = String::new();
            assert!(
                out.read_line(&mut line).expect("peer output") > 0,
                "peer died"
            );
            if line.trim() == "ready" {
                break;
            }
            tokens.push(line.trim().to_string());
        }
        Self { child, tokens }
    }
}

impl Drop for GraphPeer {
    /// Closes the peer's stdin so it withdraws its tokens; kills it if it lingers.
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `rosync args --connect endpoint --domain domain` to the end.
async fn rosync_run(args: &[&str], endpoint: &str, domain: u32) -> std::process::Output {
    let mut cmd = rosync();
    cmd.args(args)
        .args(["--connect", endpoint, "--domain", &domain.to_string()]);
    tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("joins")
        .expect("rosync runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A publisher of `topic` sending every 20 ms until the returned task is aborted.
async fn talking(node: &Node, topic: &str) -> (tokio::task::JoinHandle<()>, [u8; 16]) {
    let publisher: Publisher<std_msgs::String> = node.publisher(topic).await.expect("publisher");
    let gid = publisher.gid();
    let task = tokio::spawn(async move {
        for i in 0u64.. {
            let msg = std_msgs::String {
                data: format!("hello {i}"),
            };
            if publisher.publish(&msg).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    (task, gid)
}

fn gid_text(gid: &[u8; 16]) -> String {
    gid.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(".")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_router_relays_data_and_graph_between_nodes_that_know_only_it() {
    let router = RosyncRouter::start();
    let ep = router.endpoint.clone();
    let domain = 91;
    let talker = connected_node("router_talker", domain, &ep).await;
    let (task, gid) = talking(&talker, "/router_chatter").await;

    // An independent Python subscriber that also knows only the router. As with rmw_zenohd
    // (no failover brokering), the router introduces the peers (gossip) and they link
    // directly, so the subscriber gossips too.
    let mut sub = Command::new("python3");
    sub.arg(format!("{}/tests/python/zenoh_peer.py", repo()))
        .stdin(Stdio::null())
        .args([
            "--connect",
            &ep,
            "--gossip",
            "--domain",
            &domain.to_string(),
        ])
        .args(["sub", "--topic", "/router_chatter"])
        .args(["--type", "std_msgs/msg/String", "--count", "3"]);
    let out = tokio::task::spawn_blocking(move || sub.output())
        .await
        .expect("joins")
        .expect("python3 runs");
    assert!(out.status.success(), "python sub: {}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 3);
    for line in &lines {
        assert!(line["value"]["data"]
            .as_str()
            .is_some_and(|d| d.starts_with("hello ")));
        assert_eq!(line["gid"], hex(&gid));
    }

    let out = rosync_run(&["topic", "list"], &ep, domain).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "/router_chatter\n");

    let out = rosync_run(&["topic", "info", "-v", "/router_chatter"], &ep, domain).await;
    let info = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for line in [
        "Type: std_msgs/msg/String\n\nPublisher count: 1\n\n".to_string(),
        "Node name: router_talker\n".to_string(),
        format!("Topic type hash: {STRING_HASH}\n"),
        "Endpoint type: PUBLISHER\n".to_string(),
        // The graph's GID is the one the publisher puts in every attachment.
        format!("GID: {}\n", gid_text(&gid)),
        "  Reliability: RELIABLE\n  History (Depth): KEEP_LAST (10)\n".to_string(),
        "Subscription count: 0\n".to_string(),
    ] {
        assert!(info.contains(&line), "{line:?} in:\n{info}");
    }
    task.abort();
    assert!(
        router.stop(libc::SIGTERM),
        "the router exits cleanly on SIGTERM"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_api_sees_endpoints_before_and_after_through_the_router() {
    let router = RosyncRouter::start();
    let ep = router.endpoint.clone();
    let domain = 92;
    let early = connected_node("graph_early", domain, &ep).await;
    let (early_task, _) = talking(&early, "/graph_before").await;

    let observer = connected_node("graph_observer", domain, &ep).await;
    assert!(observer
        .wait_for_publishers("/graph_before", 1, PATIENCE)
        .await
        .expect("wait"));
    // Nothing subscribes: the wait gives up and says so.
    assert!(!observer
        .wait_for_subscriptions("/graph_before", 1, Duration::from_millis(300))
        .await
        .expect("wait"));

    let mut events = observer
        .graph_events(Some("/graph_after"))
        .await
        .expect("events");
    let late = connected_node("graph_late", domain, &ep).await;
    let (late_task, _) = talking(&late, "/graph_after").await;
    let joined = next_event(&mut events).await;
    let GraphEvent::Joined(entity) = &joined else {
        panic!("expected a join, got {joined:?}");
    };
    assert_eq!(entity.kind, EntityKind::Publisher);
    assert_eq!(entity.node_name, "graph_late");

    let topics = observer.topic_names_and_types().await.expect("topics");
    for topic in ["/graph_before", "/graph_after"] {
        assert_eq!(
            topics.get(topic).map(Vec::as_slice),
            Some(&["std_msgs/msg/String".to_string()][..]),
            "{topics:?}"
        );
    }
    let publishers = observer
        .publishers_info("/graph_after")
        .await
        .expect("info");
    assert_eq!(publishers.len(), 1, "{publishers:?}");
    assert_eq!(publishers[0].node_name, "graph_late");
    assert_eq!(publishers[0].topic_type_hash, STRING_HASH);
    assert_eq!(publishers[0].qos, Ok(QosProfile::default()));

    // A subscription declared by an independent peer, best effort, in rmw_zenoh's format.
    let peer = GraphPeer::start(
        &ep,
        serde_json::json!({
            "domain": domain, "node": "py_listener", "namespace": "/robot",
            "endpoints": [{"kind": "MS", "topic": "/graph_after", "type": "std_msgs/msg/String",
                           "hash": STRING_HASH, "qos": "2:2:1,5:,:,:,,"}]
        }),
    );
    assert!(observer
        .wait_for_subscriptions("/graph_after", 1, PATIENCE)
        .await
        .expect("wait"));
    let joined = next_event(&mut events).await;
    assert!(
        matches!(&joined, GraphEvent::Joined(e) if e.kind == EntityKind::Subscriber),
        "{joined:?}"
    );
    let subscriptions = observer
        .subscriptions_info("/graph_after")
        .await
        .expect("info");
    assert_eq!(subscriptions.len(), 1, "{subscriptions:?}");
    assert_eq!(subscriptions[0].node_name, "py_listener");
    assert_eq!(subscriptions[0].node_namespace, "/robot");
    assert_eq!(subscriptions[0].entity.token(), peer.tokens[1]);
    let qos = subscriptions[0].qos.clone().expect("qos parses");
    assert_eq!(qos.reliability, Reliability::BestEffort);
    assert_eq!(qos.depth, 5);

    // Unmatched: the late publisher goes away.
    late_task.abort();
    let _ = late_task.await;
    drop(late);
    let left = loop {
        match next_event(&mut events).await {
            GraphEvent::Left(e) if e.kind == EntityKind::Publisher => break e,
            GraphEvent::Missed(n) => panic!("missed {n} events"),
            _ => {}
        }
    };
    assert_eq!(left.node_name, "graph_late");
    assert_eq!(events.missed(), 0);
    drop(peer);
    early_task.abort();
}

async fn next_event(events: &mut rosync::node::GraphEvents) -> GraphEvent {
    tokio::time::timeout(PATIENCE, events.recv())
        .await
        .expect("an event in time")
        .expect("the view lives")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_info_verbose_shows_the_endpoints_of_an_independent_peer() {
    let router = RosyncRouter::start();
    let ep = router.endpoint.clone();
    let domain = 93;
    let _peer = GraphPeer::start(
        &ep,
        serde_json::json!({
            "domain": domain, "node": "py_node", "namespace": "/",
            "endpoints": [
                // Best effort, transient local, keep last 5, lifespan 0.1 s.
                {"kind": "MP", "topic": "/py_info", "type": "std_msgs/msg/String",
                 "hash": STRING_HASH, "qos": "2:1:1,5:,:0,100000000:,,"},
                // rmw_zenoh leaves out fields equal to its defaults (keep last 7 here).
                {"kind": "MS", "topic": "/py_info", "type": "std_msgs/msg/String",
                 "hash": STRING_HASH, "qos": "::,7:,:,:,,"},
            ]
        }),
    );
    let out = rosync_run(&["topic", "info", "/py_info"], &ep, domain).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "Type: std_msgs/msg/String\nPublisher count: 1\nSubscription count: 1\n"
    );
    let out = rosync_run(&["topic", "info", "-v", "/py_info"], &ep, domain).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    // GIDs are hashes of the tokens: check their shape, then the rest exactly.
    let gids: Vec<&str> = stdout.lines().filter(|l| l.starts_with("GID: ")).collect();
    assert_eq!(gids.len(), 2, "{stdout}");
    for gid in &gids {
        let bytes: Vec<&str> = gid["GID: ".len()..].split('.').collect();
        assert_eq!(bytes.len(), 16, "{gid}");
        assert!(bytes
            .iter()
            .all(|b| b.len() == 2 && u8::from_str_radix(b, 16).is_ok()));
    }
    let without_gids: String = stdout
        .lines()
        .filter(|l| !l.starts_with("GID: "))
        .map(|l| format!("{l}\n"))
        .collect();
    let endpoint = |kind: &str, qos: &str| {
        format!(
            "Node name: py_node\nNode namespace: /\nTopic type: std_msgs/msg/String\n\
             Topic type hash: {STRING_HASH}\nEndpoint type: {kind}\nQoS profile:\n{qos}\n"
        )
    };
    let expected = format!(
        "Type: std_msgs/msg/String\n\nPublisher count: 1\n\n{}Subscription count: 1\n\n{}",
        endpoint(
            "PUBLISHER",
            "  Reliability: BEST_EFFORT\n  History (Depth): KEEP_LAST (5)\n  \
             Durability: TRANSIENT_LOCAL\n  Lifespan: 100000000 nanoseconds\n  \
             Deadline: Infinite\n  Liveliness: AUTOMATIC\n  Liveliness lease duration: Infinite\n"
        ),
        endpoint(
            "SUBSCRIPTION",
            "  Reliability: RELIABLE\n  History (Depth): KEEP_LAST (7)\n  \
             Durability: VOLATILE\n  Lifespan: Infinite\n  \
             Deadline: Infinite\n  Liveliness: AUTOMATIC\n  Liveliness lease duration: Infinite\n"
        ),
    );
    assert_eq!(without_gids, expected);

    let out = rosync_run(&["topic", "info", "/nobody_here"], &ep, domain).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("unknown topic /nobody_here"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incompatible_qos_is_warned_about_once_per_pair() {
    let router = RosyncRouter::start();
    let ep = router.endpoint.clone();
    let domain = 94;
    let peer = |node: &str, kind: &str, qos: &str, publish: bool| {
        let mut spec = serde_json::json!({
            "domain": domain, "node": node,
            "endpoints": [{"kind": kind, "topic": "/qos_clash", "type": "std_msgs/msg/String",
                           "hash": STRING_HASH, "qos": qos}]
        });
        if publish {
            spec["publish"] = serde_json::json!(node);
        }
        GraphPeer::start(&ep, spec)
    };
    // A best-effort publisher (incompatible with echo's reliable subscription) and a reliable
    // one (compatible); both send data.
    let best_effort = peer("py_best_effort", "MP", "2:2:1,5:,:,:,,", true);
    let reliable = peer("py_reliable", "MP", "1:2:1,5:,:,:,,", true);
    let out = rosync_run(
        &[
            "topic",
            "echo",
            "/qos_clash",
            "--type",
            "std_msgs/msg/String",
            // Reliable on purpose: by default echo adapts to the publishers (best effort
            // here, as ros2 topic echo), and nothing would be incompatible.
            "--qos-reliability",
            "reliable",
            "--count",
            "20",
            "--timeout",
            "10",
        ],
        &ep,
        domain,
    )
    .await;
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stderr.matches("incompatible QoS").count(),
        1,
        "one warning, for the best-effort publisher only:\n{stderr}"
    );
    assert!(
        stderr.contains(
            "subscription on /qos_clash: publisher of node /py_best_effort offers \
             incompatible QoS: RELIABILITY"
        ),
        "{stderr}"
    );
    drop((best_effort, reliable));

    // The publisher side: a volatile `topic pub` and a transient-local subscription.
    let _latched = peer("py_latched", "MS", "1:1:1,1:,:,:,,", false);
    let out = rosync_run(
        &[
            "topic",
            "pub",
            "/qos_clash",
            "std_msgs/msg/String",
            "{data: x}",
            "--count",
            "3",
            "--rate",
            "10",
        ],
        &ep,
        domain,
    )
    .await;
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stderr.matches("incompatible QoS").count(), 1, "{stderr}");
    assert!(
        stderr.contains(
            "publisher on /qos_clash: subscription of node /py_latched requests \
             incompatible QoS: DURABILITY"
        ),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_on_the_default_rendezvous_finds_the_router() {
    // Only when the rendezvous port is free on this machine: another test or program may hold
    // it, and then this says so and checks nothing.
    if std::net::TcpListener::bind("127.0.0.1:7447").is_err() {
        eprintln!("skipped: tcp/127.0.0.1:7447 is taken");
        return;
    }
    let Some(router) = RosyncRouter::start_on("tcp/127.0.0.1:7447") else {
        eprintln!("skipped: tcp/127.0.0.1:7447 was taken before the router started");
        return;
    };
    let node = Node::builder("rendezvous_node")
        .domain_id(95)
        .build()
        .await
        .expect("a node with no network option");
    let deadline = Instant::now() + PATIENCE;
    loop {
        let routers: Vec<String> = node
            .session()
            .info()
            .routers_zid()
            .await
            .map(|z| z.to_string())
            .collect();
        if routers.contains(&router.zid) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "router {} not among {routers:?}",
            router.zid
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(node);
    assert!(
        router.stop(libc::SIGINT),
        "the router exits cleanly on SIGINT"
    );
}

#[test]
fn a_router_that_cannot_listen_says_where() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let port = taken.local_addr().expect("address").port();
    let ep = format!("tcp/127.0.0.1:{port}");
    let out = rosync()
        .args(["router", "--listen", &ep])
        .output()
        .expect("rosync runs");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot start a router listening on {ep}"))
            && stderr.contains("Address already in use"),
        "{stderr}"
    );
    assert!(!stderr.contains(".rs:"), "{stderr}");
    assert!(text(&out.stdout).is_empty());
}
