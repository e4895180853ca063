//! The synchronizer in the live path: `SubscriberFilter`s on 2 and 9 `Imu` topics feeding an
//! ExactTime `Synchronizer`, published from another node over loopback.
//!
//! Each subscriber filter first calls a probe that notes when the message arrived, then the
//! synchronizer. Per message, the subscriber's own delivery latency (publish call -> arrival
//! at the subscriber filter) is the baseline; per set, what the synchronizer adds is the time
//! from the arrival of the set's last message to the synchronized callback starting. Target:
//! the synchronizer adds at most 10% of the delivery latency at p99.
//!
//! cargo bench --bench sync_live [-- --quick]

#[path = "common.rs"]
mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rosync::filters::{Filter, SubscriberFilter};
use rosync::msg::sensor_msgs::Imu;
use rosync::msg::Stamped;
use rosync::node::{Node, Publisher};
use rosync::sync::{ExactTime, Synchronizer};

/// Stamp of round 0; round `k` is stamped `T0 + k` ms.
const T0: i64 = 1_700_000_000_000_000_000;
const MS: i64 = 1_000_000;
/// Rounds per second (every channel publishes once per round).
const RATE_HZ: u64 = 500;
const NOT_YET: u64 = u64::MAX;

/// Instants (ns since `base`) noted for every round: per channel, publish and arrival; per
/// round, when the synchronized callback started.
struct Marks {
    base: Instant,
    channels: usize,
    published: Vec<AtomicU64>,
    arrived: Vec<AtomicU64>,
    synced: Vec<AtomicU64>,
}

impl Marks {
    fn new(channels: usize, rounds: usize) -> Arc<Self> {
        let slots = |n| (0..n).map(|_| AtomicU64::new(NOT_YET)).collect();
        Arc::new(Self {
            base: Instant::now(),
            channels,
            published: slots(channels * rounds),
            arrived: slots(channels * rounds),
            synced: slots(rounds),
        })
    }

    fn now(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }

    /// The round of a message, from its stamp.
    fn round(msg: &Imu) -> usize {
        ((msg.stamp().as_nanos() - T0) / MS) as usize
    }

    fn note(slots: &[AtomicU64], index: usize, at: u64) {
        if let Some(slot) = slots.get(index) {
            slot.store(at, Ordering::Relaxed);
        }
    }
}

fn percentile(samples: &mut [u64], p: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    samples.sort_unstable();
    let rank = ((p / 100.0) * samples.len() as f64).ceil() as usize;
    samples[rank.clamp(1, samples.len()) - 1] as f64 / 1e3
}

/// Connects `filters[i]` to channel `i` of `sync`, a probe noting arrivals first.
macro_rules! wire {
    ($sync:expr, $filters:expr, $marks:expr, $connections:expr; $($i:tt)+) => {
        $(
            let marks = Arc::clone(&$marks);
            $connections.push($filters[$i].connect(move |msg: &Arc<Imu>| {
                let round = Marks::round(msg);
                Marks::note(&marks.arrived, round * marks.channels + $i, marks.now());
            }));
            $connections.push($sync.connect_input::<$i, _>(&$filters[$i]));
        )+
    };
}

/// One measurement: `channels` topics, `rounds` rounds at [`RATE_HZ`].
async fn measure(publisher_node: &Node, subscriber_node: &Node, channels: usize, rounds: usize) {
    let topics: Vec<String> = (0..channels)
        .map(|i| format!("/bench/sync_live_{channels}/imu{i}"))
        .collect();
    let mut filters = Vec::new();
    for topic in &topics {
        filters.push(
            SubscriberFilter::<Imu>::new(subscriber_node, topic, 10_000)
                .await
                .expect("subscriber filter"),
        );
    }
    let mut publishers: Vec<Publisher<Imu>> = Vec::new();
    for topic in &topics {
        let publisher = publisher_node
            .publisher::<Imu>(topic)
            .block_when_congested(true)
            .depth(1_000)
            .await
            .expect("publisher");
        assert!(
            publisher
                .wait_for_subscribers(Duration::from_secs(10))
                .await,
            "no subscriber on {topic}"
        );
        publishers.push(publisher);
    }

    let marks = Marks::new(channels, rounds);
    let policy = || ExactTime::new(channels, 100).expect("policy");
    let mut connections = Vec::new();
    let sets = Arc::new(AtomicU64::new(0));
    macro_rules! synchronize {
        ($($ty:ty),+; $($i:tt)+) => {{
            let sync = Synchronizer::<($($ty,)+)>::new(policy()).expect("synchronizer");
            let (m, s) = (Arc::clone(&marks), Arc::clone(&sets));
            sync.register_callback(move |set| {
                let at = m.now();
                Marks::note(&m.synced, Marks::round(&set.0), at);
                s.fetch_add(1, Ordering::Relaxed);
            });
            wire!(sync, filters, marks, connections; $($i)+);
            Box::new(sync) as Box<dyn std::any::Any>
        }};
    }
    let _sync = match channels {
        2 => synchronize!(Imu, Imu; 0 1),
        9 => synchronize!(Imu, Imu, Imu, Imu, Imu, Imu, Imu, Imu, Imu; 0 1 2 3 4 5 6 7 8),
        _ => unreachable!("2 or 9 channels"),
    };
    // Let discovery settle before the first measured round.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut tick = tokio::time::interval(Duration::from_nanos(1_000_000_000 / RATE_HZ));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut msg = Imu::default();
    msg.header.frame_id = "imu".into();
    for round in 0..rounds {
        tick.tick().await;
        msg.header = common::header(T0 + round as i64 * MS, "imu");
        for (channel, publisher) in publishers.iter().enumerate() {
            Marks::note(&marks.published, round * channels + channel, marks.now());
            publisher.publish(&msg).await.expect("publish");
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while sets.load(Ordering::Relaxed) < rounds as u64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    drop(connections);

    // Per message: publish -> arrival. Per complete set: last arrival -> callback start, and
    // the last message's publish -> callback start.
    let load = |slots: &[AtomicU64], i: usize| slots[i].load(Ordering::Relaxed);
    let mut delivery = Vec::new();
    let mut added = Vec::new();
    let mut end_to_end = Vec::new();
    let mut incomplete = 0;
    for round in 0..rounds {
        let range = round * channels..(round + 1) * channels;
        let mut last_arrival = 0;
        let mut last_publish = 0;
        for i in range {
            let (p, a) = (load(&marks.published, i), load(&marks.arrived, i));
            if a != NOT_YET && p != NOT_YET {
                delivery.push(a.saturating_sub(p));
            }
            last_arrival = last_arrival.max(a);
            last_publish = last_publish.max(p);
        }
        let synced = load(&marks.synced, round);
        if synced == NOT_YET || last_arrival == NOT_YET {
            incomplete += 1;
            continue;
        }
        added.push(synced.saturating_sub(last_arrival));
        end_to_end.push(synced.saturating_sub(last_publish));
    }
    let stats: Vec<_> = filters.iter().map(|f| f.stats()).collect();
    let dropped: u64 = stats.iter().map(|s| s.dropped_queue_full + s.lost).sum();
    println!(
        "\n{channels} channels, ExactTime, {rounds} rounds at {RATE_HZ} Hz: {} sets, {incomplete} rounds without a set, subscriber drops + losses {dropped}",
        added.len()
    );
    println!(
        "{:<58} {:>9} {:>9} {:>9}",
        "latency (µs)", "p50", "p90", "p99"
    );
    let (d50, d90, d99) = (
        percentile(&mut delivery, 50.0),
        percentile(&mut delivery, 90.0),
        percentile(&mut delivery, 99.0),
    );
    let (a50, a90, a99) = (
        percentile(&mut added, 50.0),
        percentile(&mut added, 90.0),
        percentile(&mut added, 99.0),
    );
    let (e50, e90, e99) = (
        percentile(&mut end_to_end, 50.0),
        percentile(&mut end_to_end, 90.0),
        percentile(&mut end_to_end, 99.0),
    );
    for (name, (p50, p90, p99)) in [
        (
            "baseline: subscriber delivery (publish -> arrival)",
            (d50, d90, d99),
        ),
        (
            "synchronizer: last arrival of a set -> callback",
            (a50, a90, a99),
        ),
        (
            "last message's publish -> synchronized callback",
            (e50, e90, e99),
        ),
    ] {
        println!("{name:<58} {p50:>9.1} {p90:>9.1} {p99:>9.1}");
    }
    println!(
        "synchronizer added / delivery at p99: {:.1}% (target <= 10%: {})",
        100.0 * a99 / d99,
        if a99 <= 0.1 * d99 { "met" } else { "MISSED" }
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let rounds = if quick { 500 } else { 2_500 };
    let (a, b) = common::node_pair(81, "bench_sync_pub", "bench_sync_sub").await;
    for channels in [2, 9] {
        measure(&a, &b, channels, rounds).await;
    }
}
