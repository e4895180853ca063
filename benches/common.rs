//! Helpers shared by the benchmarks: timing (each prints a ratio against a baseline run
//! alongside), message builders, scratch folders and loopback nodes.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use rosync::msg::{builtin_interfaces, sensor_msgs, std_msgs};
use rosync::node::Node;

/// The median time of `runs` calls of `f`, after a short warm-up.
pub fn median_time(runs: usize, mut f: impl FnMut()) -> Duration {
    for _ in 0..runs.min(5) {
        f();
    }
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// Prints one row: the measured time, the baseline time, and their ratio.
pub fn report(what: &str, measured: Duration, baseline_name: &str, baseline: Duration) {
    println!(
        "{what:<38} {:>10.3} ms   {baseline_name:<28} {:>10.3} ms   ratio {:>5.2}x",
        measured.as_secs_f64() * 1e3,
        baseline.as_secs_f64() * 1e3,
        measured.as_secs_f64() / baseline.as_secs_f64().max(1e-12)
    );
}

/// A loopback TCP endpoint on a free port.
pub fn endpoint() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    format!("tcp/127.0.0.1:{port}")
}

/// Two nodes in `domain` on loopback: `listener` listens on a free port, `connector` connects.
pub async fn node_pair(domain: u32, listener: &str, connector: &str) -> (Node, Node) {
    let ep = endpoint();
    let a = Node::builder(listener)
        .domain_id(domain)
        .listen(&ep)
        .build()
        .await
        .expect("node");
    let b = Node::builder(connector)
        .domain_id(domain)
        .connect(&ep)
        .build()
        .await
        .expect("node");
    (a, b)
}

/// A fresh, empty folder for one benchmark run.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rosync-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A header stamped `nanos` ns since the epoch.
pub fn header(nanos: i64, frame: &str) -> std_msgs::Header {
    std_msgs::Header {
        stamp: builtin_interfaces::Time::from_nanos(nanos),
        frame_id: frame.into(),
    }
}

/// An rgb8 image of `width` x `height` holding `data`.
pub fn rgb8(
    header: std_msgs::Header,
    width: u32,
    height: u32,
    data: Vec<u8>,
) -> sensor_msgs::Image {
    sensor_msgs::Image {
        header,
        height,
        width,
        encoding: "rgb8".into(),
        is_bigendian: 0,
        step: width * 3,
        data,
    }
}
