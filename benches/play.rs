//! Playback: schedule error of `Player` at rate 1 on a log with a 1 kHz Imu and a 30 Hz
//! 640x480 rgb8 Image (played to subscribers on loopback), beside a plain sleep-until loop on
//! the same schedule that publishes nothing, in alternating rounds (baseline, then Player; a
//! 4 s log each, so every round has ~4,100 samples for its p99); and as-fast-as-possible
//! replay throughput of a log of 1920x1080 rgb8 images, beside reading the same file's bytes,
//! from the page cache and from the disk (the file evicted with `posix_fadvise(DONTNEED)`
//! before each cold run).
//!
//! Each round prints both p99s and their ratio, with what the Player measured about itself
//! (its p99 per topic; how late its sleeps woke, p50/p99; how long handing a message to zenoh
//! took per topic, p50/p99, and the Imu's max), how many images went through shared memory and how often the
//! read-ahead was found empty ("dry"); the summary line gives the medians over the rounds.
//! All in µs.
//!
//! cargo bench --bench play [-- --schedule-only] [--rounds N]

#[path = "common.rs"]
mod common;

use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rosync::bag::{
    BagWriter, Compression, Log, PlayOptions, PlayReport, Player, ScheduleError, WriterOptions,
};
use rosync::msg::{sensor_msgs, std_msgs};
use rosync::node::Node;

const T0: u64 = 1_700_000_000_000_000_000;

fn header(t: u64, frame: &str) -> std_msgs::Header {
    common::header(t as i64, frame)
}

fn image(t: u64, width: u32, height: u32) -> sensor_msgs::Image {
    let data = (0..width * height * 3)
        .map(|k| (k as u64).wrapping_mul(2_654_435_761).wrapping_add(t) as u8 >> 2)
        .collect();
    common::rgb8(header(t, "camera"), width, height, data)
}

/// Seconds of log played per round.
const ROUND_SECS: u64 = 4;

/// A `ROUND_SECS` log: Imu at 1 kHz, 640x480 rgb8 Image at 30 Hz; returns its log times.
fn write_imu_camera(path: &Path) -> Vec<u64> {
    let mut bag = BagWriter::create(path, WriterOptions::default()).expect("create");
    let mut times = Vec::new();
    let frame = image(T0, 640, 480);
    for i in 0..ROUND_SECS * 1000 {
        let t = T0 + i * 1_000_000;
        let imu = sensor_msgs::Imu {
            header: header(t, "imu"),
            ..Default::default()
        };
        bag.write_message("/imu", t, &imu).expect("write");
        times.push(t);
        if i % 33 == 0 && i / 33 < ROUND_SECS * 30 {
            let t = T0 + (i / 33) * 33_333_333 + 100_000;
            let mut frame = frame.clone();
            frame.header = header(t, "camera");
            bag.write_message("/camera/image", t, &frame)
                .expect("write");
            times.push(t);
        }
    }
    bag.finish().expect("finish");
    times.sort_unstable();
    times
}

/// `count` 1920x1080 rgb8 images at 30 Hz, uncompressed chunks (as a recorder keeping up with
/// cameras writes them).
fn write_large_images(path: &Path, count: u64) -> u64 {
    let options = WriterOptions {
        compression: Compression::None,
        ..Default::default()
    };
    let mut bag = BagWriter::create(path, options).expect("create");
    let frame = image(T0, 1920, 1080);
    for i in 0..count {
        let t = T0 + i * 33_333_333;
        let mut frame = frame.clone();
        frame.header = header(t, "camera");
        bag.write_message("/camera/image", t, &frame)
            .expect("write");
    }
    bag.finish().expect("finish").bytes
}

/// Two nodes on loopback and raw subscribers draining every topic; returns the player's node
/// and a count of the bytes received.
async fn network(
    topics: &[&str],
) -> (Node, Node, Arc<AtomicU64>, Vec<tokio::task::JoinHandle<()>>) {
    let (a, b) = common::node_pair(69, "bench_player", "bench_sink").await;
    let received = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for topic in topics {
        let sub = b
            .raw_subscriber(topic, None)
            .queue_size(100_000)
            .await
            .expect("subscriber");
        let received = Arc::clone(&received);
        tasks.push(tokio::spawn(async move {
            while let Some(raw) = sub.recv().await {
                received.fetch_add(raw.payload.len() as u64, Ordering::Relaxed);
            }
        }));
    }
    (a, b, received, tasks)
}

async fn play(node: &Node, path: &Path, rate: f64) -> PlayReport {
    let options = PlayOptions {
        rate,
        wait_for_subscribers: Duration::from_secs(10),
        ..Default::default()
    };
    let player = Player::new(node, Log::open(path).expect("open"), options)
        .await
        .expect("player");
    player.run().await.expect("plays")
}

/// The same schedule with `std::thread::sleep` until each instant, publishing nothing.
fn sleep_until_baseline(times: &[u64]) -> ScheduleError {
    let start = Instant::now();
    let mut errors = Vec::with_capacity(times.len());
    for &t in times {
        let deadline = start + Duration::from_nanos(t - times[0]);
        let now = Instant::now();
        if deadline > now {
            std::thread::sleep(deadline - now);
        }
        errors.push(
            Instant::now()
                .saturating_duration_since(deadline)
                .as_nanos() as u64,
        );
    }
    ScheduleError::from_nanos(&mut errors).expect("samples")
}

/// `--rounds N` (default 7).
fn rounds() -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(7)
}

/// The median of `values` (the upper one of an even count).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Drops the file's pages from the page cache (it is clean), so the next read hits the disk.
fn evict_from_page_cache(path: &Path) {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(path).expect("open");
    // SAFETY: an open file descriptor; the advice only affects caching.
    unsafe {
        libc::fdatasync(file.as_raw_fd());
        libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED);
    }
}

fn read_file_bytes(path: &Path) -> (u64, Duration) {
    let start = Instant::now();
    let mut file = std::fs::File::open(path).expect("open");
    let mut buf = vec![0u8; 8 << 20];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        total += n as u64;
        std::hint::black_box(&buf[..n]);
    }
    (total, start.elapsed())
}

fn read_log_messages(path: &Path) -> (u64, Duration) {
    let start = Instant::now();
    let log = Log::open(path).expect("open");
    let bytes = log
        .messages()
        .map(|m| m.expect("message").data.len() as u64)
        .sum();
    (bytes, start.elapsed())
}

fn mbps(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / 1e6 / elapsed.as_secs_f64()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = common::scratch("play");

    // 1. Schedule error at rate 1, in alternating rounds.
    let rounds = rounds();
    let log = dir.join("imu_camera.mcap");
    let times = Arc::new(write_imu_camera(&log));
    let (a, _b, received, tasks) = network(&["/imu", "/camera/image"]).await;
    println!(
        "rate 1, {ROUND_SECS} s log per round, 1 kHz Imu + 30 Hz 640x480 rgb8 Image ({} messages); \
         schedule error in µs, {rounds} rounds of baseline then Player",
        times.len()
    );
    println!(
        "{:<6} {:>20} {:>20} {:>7} {:>15} {:>11} {:>18} {:>13} {:>9} {:>5}",
        "round",
        "baseline p50/p99/max",
        "Player p50/p99/max",
        "p99 x",
        "p99 Imu/Image",
        "wake late",
        "publish Imu p50/p99/max",
        "publish Image",
        "image shm",
        "dry"
    );
    let mut ratios = Vec::new();
    let mut player_p99 = Vec::new();
    let mut baseline_p99 = Vec::new();
    let mut published = 0;
    for round in 1..=rounds {
        let baseline = {
            let times = Arc::clone(&times);
            tokio::task::spawn_blocking(move || sleep_until_baseline(&times))
                .await
                .expect("joins")
        };
        let shm_before = a.shm_stats().published;
        let report = play(&a, &log, 1.0).await;
        let shm = a.shm_stats().published - shm_before;
        published += report.bytes;
        let player = report.schedule_error.expect("measured");
        let ratio = us(player.p99) / us(baseline.p99).max(1e-3);
        let pair = |e: Option<&ScheduleError>| {
            e.map_or("-".to_string(), |e| {
                format!("{:.0}/{:.0}", us(e.p50), us(e.p99))
            })
        };
        let triple =
            |e: &ScheduleError| format!("{:.0}/{:.0}/{:.0}", us(e.p50), us(e.p99), us(e.max));
        let p99 = |topic: &str| {
            report
                .schedule_error_per_topic
                .get(topic)
                .map_or("-".to_string(), |e| format!("{:.0}", us(e.p99)))
        };
        println!(
            "{round:<6} {:>20} {:>20} {:>6.2}x {:>15} {:>11} {:>18} {:>13} {:>5}/{:<3} {:>5}{}",
            triple(&baseline),
            triple(&player),
            ratio,
            format!("{}/{}", p99("/imu"), p99("/camera/image")),
            pair(report.wake_lateness.as_ref()),
            report
                .publish_time
                .get("/imu")
                .map_or("-".to_string(), triple),
            pair(report.publish_time.get("/camera/image")),
            shm,
            report.per_topic.get("/camera/image").copied().unwrap_or(0),
            report.read_ahead_empty,
            if report.publish_failures > 0 {
                format!(" ({} failed)", report.publish_failures)
            } else {
                String::new()
            }
        );
        ratios.push(ratio);
        player_p99.push(us(player.p99));
        baseline_p99.push(us(baseline.p99));
    }
    println!(
        "play rate 1 schedule error p99 (median of {rounds} rounds): rosync {:.0} µs, baseline {:.0} µs, \
         ratio {:.2}x (per-round ratios {}; target <= 1.0x)",
        median(&mut player_p99),
        median(&mut baseline_p99),
        median(&mut ratios.clone()),
        ratios
            .iter()
            .map(|r| format!("{r:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    println!(
        "received {:.1} MB of {:.1} MB published",
        received.load(Ordering::Relaxed) as f64 / 1e6,
        published as f64 / 1e6
    );
    for task in tasks {
        task.abort();
    }
    drop(a);
    if std::env::args().any(|a| a == "--schedule-only") {
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }

    // 2. As-fast-as-possible replay of large images, from the page cache and from the disk.
    let big = dir.join("images_1080p.mcap");
    let file_bytes = write_large_images(&big, 120);
    let (a, _b, received, tasks) = network(&["/camera/image"]).await;
    println!();
    println!(
        "rate 0, 120 x 1920x1080 rgb8 images, {:.0} MB file (MB/s of payload or file bytes):",
        file_bytes as f64 / 1e6
    );
    println!("{:<52} {:>12} {:>12}", "", "page cache", "disk (cold)");
    let mut rows: Vec<(&str, [f64; 2])> = vec![
        ("raw read of the file's bytes", [0.0; 2]),
        ("Log::messages (read + copy payloads, no network)", [0.0; 2]),
        ("Player --rate 0 to a loopback subscriber", [0.0; 2]),
    ];
    let mut published = 0;
    for (column, cold) in [false, true].into_iter().enumerate() {
        let evict = || {
            if cold {
                evict_from_page_cache(&big);
            }
        };
        evict();
        let (bytes, time) = read_file_bytes(&big);
        rows[0].1[column] = mbps(bytes, time);
        evict();
        let (bytes, time) = read_log_messages(&big);
        rows[1].1[column] = mbps(bytes, time);
        evict();
        let report = play(&a, &big, 0.0).await;
        rows[2].1[column] = mbps(report.bytes, report.elapsed);
        published += report.bytes;
    }
    for (name, [warm, cold]) in &rows {
        println!("{name:<52} {warm:>12.0} {cold:>12.0}");
    }
    println!(
        "{:<52} {:>12.2} {:>12.2}",
        "ratio Player / raw read",
        rows[2].1[0] / rows[0].1[0],
        rows[2].1[1] / rows[0].1[1]
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    println!(
        "received {:.0} of {:.0} MB published",
        received.load(Ordering::Relaxed) as f64 / 1e6,
        published as f64 / 1e6
    );
    for task in tasks {
        task.abort();
    }
    let _ = std::fs::remove_dir_all(&dir);
}
