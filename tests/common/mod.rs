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
