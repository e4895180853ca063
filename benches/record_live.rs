//! The recorder fed from another process: `sensor_msgs/Imu` messages (324 bytes of CDR)
//! published by a publisher process for 5 s (reliable, blocking when congested), received
//! here by a raw zenoh callback subscriber on the topic's key expression (the baseline: how
//! fast zenoh delivers to this process) and by rosync's `Recorder`, in alternating rounds:
//!
//! 1. raw zenoh subscriber, publisher as fast as it can: the rate the raw subscriber receives;
//! 2. raw zenoh subscriber, publisher paced at 0.9x that rate: what a paced publisher reaches;
//! 3. `Recorder`, publisher paced at 0.9x that rate: received, written, dropped (target: 0);
//! 4. `Recorder`, publisher as fast as it can: the recorder's own maximum, drops counted.
//!
//! The publisher blocks when the subscriber's side is congested, so a round's rate is what the
//! receiving side sustains; the recorder drops only when its writer falls behind, and counts
//! every drop.
//!
//! cargo bench --bench record_live            (3 rounds, about 110 s)
//! cargo bench --bench record_live -- --quick (1 round)
//!
//! The bench starts itself again as the publisher process (`RECORD_LIVE_PEER` set).

#[path = "common.rs"]
mod common;

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rosync::bag::{RecordOptions, RecordReport, Recorder, TopicSelection};
use rosync::msg::sensor_msgs;
use rosync::node::Node;

/// How long the publisher process publishes per round.
const BURST: Duration = Duration::from_secs(5);
const TOPIC: &str = "/bench/record_live";
const DOMAIN: u32 = 0;

/// The publisher process: publishes Imu messages for [`BURST`] at `rate` msgs/s (0: as fast
/// as it can; else what is due, back to back, every millisecond), blocking when congested,
/// then prints `published COUNT SECONDS`.
async fn peer(endpoint: &str, rate: f64) {
    let node = common::connected_node("record_live_pub", DOMAIN, endpoint).await;
    let publisher = node
        .publisher::<sensor_msgs::Imu>(TOPIC)
        .block_when_congested(true)
        .await
        .expect("publisher");
    assert!(
        publisher
            .wait_for_subscribers(Duration::from_secs(20))
            .await,
        "no subscriber came"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (count, elapsed) = tokio::task::spawn_blocking(move || {
        let msg = common::imu();
        let start = Instant::now();
        let mut sent = 0u64;
        loop {
            let elapsed = start.elapsed();
            if elapsed >= BURST {
                break;
            }
            if rate > 0.0 && sent as f64 >= elapsed.as_secs_f64() * rate {
                std::thread::sleep(Duration::from_millis(1));
                continue;
            }
            publisher.publish_now(&msg).expect("publishes");
            sent += 1;
        }
        (sent, start.elapsed())
    })
    .await
    .expect("publisher thread");
    println!("published {count} {}", elapsed.as_secs_f64());
    // Let the last samples leave before the session closes.
    tokio::time::sleep(Duration::from_millis(500)).await;
}

/// What the publisher process reported: messages and seconds.
struct Published {
    count: u64,
    secs: f64,
}

impl Published {
    fn rate(&self) -> f64 {
        self.count as f64 / self.secs.max(1e-9)
    }
}

fn spawn_peer(endpoint: &str, rate: f64) -> Child {
    Command::new(std::env::current_exe().expect("bench binary"))
        .env("RECORD_LIVE_PEER", rate.to_string())
        .env("RECORD_LIVE_ENDPOINT", endpoint)
        .stdout(Stdio::piped())
        .spawn()
        .expect("publisher process starts")
}

/// Waits for the publisher process to end and parses what it reported.
async fn published(child: Child) -> Published {
    let output = tokio::task::spawn_blocking(move || {
        let mut child = child;
        let mut out = String::new();
        if let Some(mut stdout) = child.stdout.take() {
            let _ = stdout.read_to_string(&mut out);
        }
        let _ = child.wait();
        out
    })
    .await
    .expect("waiter");
    let line = output
        .lines()
        .find_map(|l| l.strip_prefix("published "))
        .unwrap_or_else(|| panic!("the publisher process reported nothing: {output:?}"));
    let mut parts = line.split_whitespace();
    let count = parts.next().and_then(|c| c.parse().ok()).expect("count");
    let secs = parts.next().and_then(|s| s.parse().ok()).expect("seconds");
    Published { count, secs }
}

/// Waits until `count()` stops moving (checked every 300 ms).
async fn settle(count: impl Fn() -> u64) {
    let mut last = u64::MAX;
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = count();
        if now == last {
            return;
        }
        last = now;
    }
}

/// Arrivals at the raw subscriber: a count and the first and last arrival (ns from `base`).
struct Arrivals {
    base: Instant,
    count: AtomicU64,
    first: AtomicU64,
    last: AtomicU64,
}

impl Arrivals {
    fn hit(&self) {
        let now = self.base.elapsed().as_nanos() as u64;
        if self.count.fetch_add(1, Ordering::Relaxed) == 0 {
            self.first.store(now, Ordering::Relaxed);
        }
        self.last.store(now, Ordering::Relaxed);
    }

    /// Messages per second between the first and the last arrival.
    fn rate(&self) -> f64 {
        let count = self.count.load(Ordering::Relaxed);
        let span = self
            .last
            .load(Ordering::Relaxed)
            .saturating_sub(self.first.load(Ordering::Relaxed));
        count.saturating_sub(1) as f64 / (span as f64 / 1e9).max(1e-9)
    }
}

/// Rounds 1 and 2: a raw zenoh callback subscriber on the topic's data key expression, the
/// publisher at `rate` (0: as fast as it can). Returns the rate received and what was
/// received of what was published.
async fn raw_round(node: &Node, endpoint: &str, rate: f64) -> (f64, u64, Published) {
    let arrivals = Arc::new(Arrivals {
        base: Instant::now(),
        count: AtomicU64::new(0),
        first: AtomicU64::new(0),
        last: AtomicU64::new(0),
    });
    let hits = Arc::clone(&arrivals);
    // The Imu data key itself, as the Recorder (like rmw_zenoh) subscribes: a wildcard would
    // make zenoh match every sample against it and slow the baseline down.
    let key = rosync::node::graph::topic_key_expr(
        DOMAIN,
        TOPIC,
        <sensor_msgs::Imu as rosync::msg::Message>::TYPE_NAME,
        <sensor_msgs::Imu as rosync::msg::Message>::TYPE_HASH,
    );
    let sub = node
        .session()
        .declare_subscriber(key)
        .callback(move |sample| {
            std::hint::black_box(sample.payload().len());
            hits.hit();
        })
        .await
        .expect("raw subscriber");
    let published = published(spawn_peer(endpoint, rate)).await;
    settle(|| arrivals.count.load(Ordering::Relaxed)).await;
    drop(sub);
    (
        arrivals.rate(),
        arrivals.count.load(Ordering::Relaxed),
        published,
    )
}

/// Rounds 3 and 4: the `Recorder` with its default options, the publisher at `rate` (0: as
/// fast as it can).
async fn recorder_round(
    node: &Node,
    endpoint: &str,
    dir: &std::path::Path,
    rate: f64,
) -> (RecordReport, Published) {
    let output = dir.join("bag");
    let _ = std::fs::remove_dir_all(&output);
    let mut options = RecordOptions::new(&output);
    options.selection = TopicSelection::topics([TOPIC]);
    options.discovery_interval = Duration::from_millis(100);
    let recorder = Recorder::start(node, options).await.expect("recorder");
    let published = published(spawn_peer(endpoint, rate)).await;
    settle(|| {
        recorder
            .progress()
            .iter()
            .map(|t| t.received + t.written)
            .sum()
    })
    .await;
    let report = recorder.stop().await.expect("stop");
    let _ = std::fs::remove_dir_all(&output);
    (report, published)
}

/// One line of a recorder round.
fn describe(what: &str, report: &RecordReport, published: &Published) {
    let (received, lost) = report
        .topics
        .iter()
        .fold((0, 0), |(r, l), t| (r + t.received, l + t.lost));
    println!(
        "  {what}: published {} at {:.0} msgs/s; received {received}, written {}, dropped {} (buffer full), lost {lost} (never arrived)",
        published.count,
        published.rate(),
        report.messages,
        report.dropped(),
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if let Ok(rate) = std::env::var("RECORD_LIVE_PEER") {
        let endpoint = std::env::var("RECORD_LIVE_ENDPOINT").expect("RECORD_LIVE_ENDPOINT");
        peer(&endpoint, rate.parse().expect("a rate")).await;
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let rounds = if quick { 1 } else { 3 };
    let endpoint = common::endpoint();
    let node = common::listening_node("record_live", DOMAIN, &endpoint).await;
    let dir = common::scratch("record_live");
    let payload = rosync::cdr::encode(&common::imu()).expect("encodes").len();
    println!(
        "sensor_msgs/Imu ({payload} bytes) from a publisher process for {} s per round, {rounds} round(s):",
        BURST.as_secs()
    );
    let mut rows = Vec::new();
    for round in 1..=rounds {
        let (raw_rate, raw_received, raw_published) = raw_round(&node, &endpoint, 0.0).await;
        println!(
            "round {round}: raw zenoh subscriber received {raw_received} of {} at {raw_rate:.0} msgs/s",
            raw_published.count
        );
        let target = 0.9 * raw_rate;
        let (_, paced_raw_received, paced_raw) = raw_round(&node, &endpoint, target).await;
        println!(
            "  raw zenoh subscriber, publisher paced at {target:.0} msgs/s: published {} at {:.0} msgs/s, received {paced_raw_received}",
            paced_raw.count,
            paced_raw.rate()
        );
        let (paced, paced_published) = recorder_round(&node, &endpoint, &dir, target).await;
        describe(
            &format!("Recorder, publisher paced at {target:.0} msgs/s (0.9x raw)"),
            &paced,
            &paced_published,
        );
        let (flood, flood_published) = recorder_round(&node, &endpoint, &dir, 0.0).await;
        describe(
            "Recorder, publisher as fast as it can",
            &flood,
            &flood_published,
        );
        rows.push((
            raw_rate,
            paced_raw.rate(),
            paced_published.rate(),
            paced.dropped(),
            flood_published.rate(),
            flood.dropped(),
            flood.topics.iter().map(|t| t.received).sum::<u64>(),
        ));
    }
    for (raw, raw_paced, paced, paced_dropped, flood, flood_dropped, flood_received) in rows {
        println!(
            "record_live Imu from another process: rosync Recorder {paced:.0} msgs/s with {paced_dropped} dropped, \
             baseline raw zenoh subscriber {raw:.0} msgs/s, ratio {:.2}x (target: 0 dropped at 0.9x; \
             the paced publisher reached {:.2}x with the raw subscriber); \
             Recorder flat out {flood:.0} msgs/s ({:.2}x), {flood_dropped} dropped of {flood_received}",
            paced / raw.max(1e-9),
            raw_paced / raw.max(1e-9),
            flood / raw.max(1e-9),
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
