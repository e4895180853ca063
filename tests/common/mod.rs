//! Shared helpers for integration tests: loopback endpoints and connected nodes.
#![allow(dead_code)]

use std::net::TcpListener;
use std::time::Duration;

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

/// Two nodes in one domain: the first listens on `endpoint`, the second connects to it.
pub async fn node_pair(domain_id: u32) -> (Node, Node, String) {
    let endpoint = endpoint();
    let a = Node::builder("node_a")
        .domain_id(domain_id)
        .listen(&endpoint)
        .build()
        .await
        .expect("node a starts");
    let b = Node::builder("node_b")
        .domain_id(domain_id)
        .connect(&endpoint)
        .build()
        .await
        .expect("node b starts");
    (a, b, endpoint)
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
