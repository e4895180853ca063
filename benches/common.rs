//! Helpers shared by the benchmarks: timing (each prints a ratio against a baseline run
//! alongside), and the integration tests' message builders, scratch folders and loopback
//! nodes (`tests/common`).
#![allow(dead_code)]

#[path = "../tests/common/mod.rs"]
mod tests_common;

use std::time::{Duration, Instant};

use rosync::node::Node;
// Each benchmark uses its own subset.
#[allow(unused_imports)]
pub use tests_common::{connected_node, endpoint, header, listening_node, rgb8, scratch};

/// Waits until a raw zenoh publisher has a matching subscriber.
pub async fn wait_matching(publisher: &zenoh::pubsub::Publisher<'_>) {
    while !publisher
        .matching_status()
        .await
        .map(|s| s.matching())
        .unwrap_or(false)
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// An `Imu` message of the size the logging benchmarks record (324 bytes of CDR).
pub fn imu() -> rosync::msg::sensor_msgs::Imu {
    let mut imu = rosync::msg::sensor_msgs::Imu::default();
    imu.header.frame_id = "imu_link".into();
    imu.linear_acceleration.z = 9.81;
    imu.orientation.w = 1.0;
    imu
}

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

/// Two nodes in `domain` on loopback: `listener` listens on a free port, `connector` connects.
pub async fn node_pair(domain: u32, listener: &str, connector: &str) -> (Node, Node) {
    let ep = endpoint();
    let a = listening_node(listener, domain, &ep).await;
    let b = connected_node(connector, domain, &ep).await;
    (a, b)
}
