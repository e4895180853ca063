//! Graph discovery through a zenoh router, as in a ROS 2 rmw_zenoh setup: a router process
//! (Python eclipse-zenoh, configured like `rmw_zenohd`: router mode, one loopback listener,
//! multicast scouting off) and nodes that are peers connecting only to it. The `rosync` CLI,
//! the recorder's discovery and `Node::graph` must see publishers that started before and
//! after they asked, every time. Also: `topic list` lists publishers and subscriptions only,
//! not service servers and clients.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rosync::bag::{RecordOptions, Recorder, TopicSelection};
use rosync::msg::std_msgs;
use rosync::node::{EntityKind, Node, Publisher};

use common::{connected_node, endpoint, listening_node, repo, rosync, scratch, PATIENCE};

/// How many times each command runs: one run through a router used to come back empty in
/// most tries, so a few runs expose the race.
const ROUNDS: usize = 6;

/// A `tests/python/zenoh_router.py` process, killed when dropped.
struct Router {
    child: Child,
    endpoint: String,
}

impl Router {
    fn start() -> Self {
        let endpoint = endpoint();
        let mut child = Command::new("python3")
            .arg(format!("{}/tests/python/zenoh_router.py", repo()))
            .arg(&endpoint)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the router");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("router output");
        assert_eq!(line.trim(), "ready", "the router did not start");
        Self { child, endpoint }
    }
}

impl Drop for Router {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `rosync args --connect endpoint --domain domain` to the end; fails on an error.
async fn rosync_ok(args: &[&str], endpoint: &str, domain: u32) -> String {
    let mut cmd = rosync();
    cmd.args(args)
        .args(["--connect", endpoint, "--domain", &domain.to_string()]);
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("joins")
        .expect("rosync runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "rosync {args:?} failed: {stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

/// A publisher of `topic` sending until the returned task is aborted.
async fn talking(node: &Node, topic: &str) -> tokio::task::JoinHandle<()> {
    let publisher: Publisher<std_msgs::String> = node.publisher(topic).await.expect("publisher");
    tokio::spawn(async move {
        for i in 0u64.. {
            let msg = std_msgs::String {
                data: format!("hello {i}"),
            };
            if publisher.publish(&msg).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
}

/// Waits until `node`'s graph has (or, with `present` false, lacks) a publisher of `topic`.
async fn wait_for_publisher(node: &Node, topic: &str, present: bool) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let graph = node.graph(Duration::from_secs(2)).await.expect("graph");
        let found = graph.iter().any(|e| {
            e.kind == EntityKind::Publisher && e.topic.as_ref().is_some_and(|t| t.name == topic)
        });
        if found == present {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "publisher of {topic} present={found} after {PATIENCE:?}: {graph:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_and_recorder_see_publishers_through_a_router() {
    let router = Router::start();
    let ep = router.endpoint.as_str();
    let domain = 81;
    let early = connected_node("router_early", domain, ep).await;
    let task1 = talking(&early, "/router_before").await;

    let record_dir = scratch("graph-router-record");
    let recorder_node = connected_node("router_recorder", domain, ep).await;
    let mut options = RecordOptions::new(record_dir.join("bag"));
    options.selection = TopicSelection {
        all: true,
        ..TopicSelection::default()
    };
    // Discovery must not need a second poll: the first graph answer, then graph changes.
    options.discovery_interval = Duration::from_secs(600);
    let recorder = Recorder::start(&recorder_node, options)
        .await
        .expect("recorder starts");

    for _ in 0..ROUNDS {
        let topics = rosync_ok(&["topic", "list", "-t"], ep, domain).await;
        assert!(
            lines(&topics).contains(&"/router_before [std_msgs/msg/String]"),
            "topic list through a router: {topics:?}"
        );
        let nodes = rosync_ok(&["node", "list"], ep, domain).await;
        assert!(
            lines(&nodes).contains(&"/router_early"),
            "node list through a router: {nodes:?}"
        );
    }
    let echo = rosync_ok(
        &[
            "topic",
            "echo",
            "/router_before",
            "--count",
            "1",
            "--timeout",
            "10",
        ],
        ep,
        domain,
    )
    .await;
    assert!(echo.starts_with("data: hello "), "{echo}");

    // A publisher that starts after the others asked.
    let late = connected_node("router_late", domain, ep).await;
    let task2 = talking(&late, "/router_after").await;
    for _ in 0..ROUNDS {
        let topics = rosync_ok(&["topic", "list"], ep, domain).await;
        let topics = lines(&topics);
        assert!(
            topics.contains(&"/router_before") && topics.contains(&"/router_after"),
            "topic list through a router: {topics:?}"
        );
        let nodes = rosync_ok(&["node", "list"], ep, domain).await;
        let nodes = lines(&nodes);
        assert!(
            nodes.contains(&"/router_early") && nodes.contains(&"/router_late"),
            "node list through a router: {nodes:?}"
        );
    }
    let echo = rosync_ok(
        &[
            "topic",
            "echo",
            "/router_after",
            "--count",
            "1",
            "--timeout",
            "10",
        ],
        ep,
        domain,
    )
    .await;
    assert!(echo.starts_with("data: hello "), "{echo}");

    let deadline = Instant::now() + PATIENCE;
    let mut recorded = recorder.topics();
    while recorded.len() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        recorded = recorder.topics();
    }
    recorded.sort();
    assert_eq!(
        recorded,
        ["/router_after", "/router_before"],
        "recorder discovery"
    );
    recorder.stop().await.expect("recorder stops");
    task1.abort();
    task2.abort();
    let _ = std::fs::remove_dir_all(record_dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_graph_follows_publishers_through_a_router() {
    let router = Router::start();
    let ep = router.endpoint.as_str();
    let domain = 82;
    let talker = connected_node("router_talker", domain, ep).await;
    let _before = talker
        .publisher::<std_msgs::Header>("/graph_before")
        .await
        .expect("publisher");
    for round in 0..ROUNDS {
        // A fresh node asks right after its session opened.
        let observer = connected_node(&format!("router_observer{round}"), domain, ep).await;
        let graph = observer.graph(Duration::from_secs(2)).await.expect("graph");
        assert!(
            graph.iter().any(|e| e.kind == EntityKind::Publisher
                && e.topic.as_ref().is_some_and(|t| t.name == "/graph_before")),
            "round {round}: {graph:#?}"
        );
    }
    // One node's view follows publishers that start and stop later.
    let observer = connected_node("router_observer", domain, ep).await;
    wait_for_publisher(&observer, "/graph_before", true).await;
    let after = talker
        .publisher::<std_msgs::Header>("/graph_after")
        .await
        .expect("publisher");
    wait_for_publisher(&observer, "/graph_after", true).await;
    drop(after);
    wait_for_publisher(&observer, "/graph_after", false).await;
    wait_for_publisher(&observer, "/graph_before", true).await;
}

/// A service server (`SS`) or client (`SC`) token of `node` in rmw_zenoh's format.
fn service_token(node: &Node, code: &str, entity_id: u32, mangled_name: &str) -> String {
    format!(
        "@ros2_lv/{}/{}/0/{entity_id}/{code}/%/%/{}/{mangled_name}/\
         example_interfaces::srv::dds_::AddTwoInts_/RIHS01_{}/::,10:,:,:,,",
        node.domain_id(),
        node.session().zid(),
        node.name(),
        "e1".repeat(32)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_list_shows_publishers_and_subscriptions_not_services() {
    // A direct link: this concerns what is listed, not how it is discovered.
    let ep = endpoint();
    let ep = ep.as_str();
    let domain = 83;
    let node = listening_node("service_node", domain, ep).await;
    let _publisher = node
        .publisher::<std_msgs::String>("/published")
        .await
        .expect("publisher");
    let _subscriber = node
        .subscriber::<std_msgs::String>("/subscribed")
        .await
        .expect("subscriber");
    let mut tokens = Vec::new();
    for (code, id, name) in [("SS", 100, "%add_two_ints"), ("SC", 101, "%other_service")] {
        let token = service_token(&node, code, id, name);
        tokens.push(
            node.session()
                .liveliness()
                .declare_token(token)
                .await
                .expect("token"),
        );
    }
    let topics = rosync_ok(&["topic", "list"], ep, domain).await;
    assert_eq!(lines(&topics), ["/published", "/subscribed"], "{topics}");
    // The services are in the graph, just not topics.
    let observer = connected_node("service_observer", domain, ep).await;
    let graph = observer.graph(Duration::from_secs(2)).await.expect("graph");
    let mut services: Vec<(EntityKind, String)> = graph
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                EntityKind::ServiceServer | EntityKind::ServiceClient
            )
        })
        .filter_map(|e| Some((e.kind, e.topic.as_ref()?.name.clone())))
        .collect();
    services.sort();
    assert_eq!(
        services,
        [
            (EntityKind::ServiceServer, "/add_two_ints".to_string()),
            (EntityKind::ServiceClient, "/other_service".to_string())
        ],
        "{graph:#?}"
    );
}
