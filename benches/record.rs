//! Record throughput: the writer path alone (`BagWriter`, what the recorder's writer thread
//! runs) and the whole `Recorder` fed over zenoh on loopback, each beside a raw
//! `std::fs::File` write of the same bytes in the same run; then four 1920x1080 rgb8 topics at
//! 30 Hz for 5 s through the `Recorder` (target: zero drops).
//!
//! cargo bench --bench record            (-- --quick: shorter; -- --writer-only: the writer
//!                                          path against raw file writes, no zenoh)

#[path = "common.rs"]
mod common;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use rosync::bag::{BagWriter, Compression, RecordOptions, Recorder, WriterOptions};
use rosync::cdr;
use rosync::msg::{sensor_msgs, Message};
use rosync::node::Node;

const MB: f64 = 1e6;

/// Noise pixels: a recorder should not look good because its input compresses.
fn image(width: u32, height: u32, seed: u64) -> sensor_msgs::Image {
    let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ seed;
    let data = (0..width * height * 3)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    common::rgb8(Default::default(), width, height, data)
}

fn row(what: &str, messages: u64, bytes: u64, elapsed: Duration) -> (f64, f64) {
    let secs = elapsed.as_secs_f64().max(1e-9);
    let (mbs, mps) = (bytes as f64 / MB / secs, messages as f64 / secs);
    println!(
        "{what:<46} {mbs:>9.1} MB/s {mps:>12.0} msgs/s   ({messages} msgs, {:.1} MB in {:.3} s)",
        bytes as f64 / MB,
        secs
    );
    (mbs, mps)
}

/// Raw baseline: the payloads written to a file through a 1 MiB BufWriter, then flushed;
/// with `preallocate`, the file's space is reserved first (`fallocate`, as `BagWriter` does
/// ahead of its writes), to show what that alone is worth.
fn raw_file(path: &Path, payload: &[u8], count: u64, preallocate: bool) -> Duration {
    let start = Instant::now();
    let file = std::fs::File::create(path).expect("create");
    if preallocate {
        use std::os::fd::AsRawFd;
        let len = (payload.len() as u64 * count) as libc::off_t;
        // SAFETY: fallocate reads no memory of ours; the descriptor is open.
        let rc = unsafe { libc::fallocate(file.as_raw_fd(), libc::FALLOC_FL_KEEP_SIZE, 0, len) };
        if rc != 0 {
            println!(
                "(preallocating the raw file failed: {})",
                std::io::Error::last_os_error()
            );
        }
    }
    let mut file = std::io::BufWriter::with_capacity(1 << 20, file);
    for _ in 0..count {
        file.write_all(payload).expect("write");
    }
    file.flush().expect("flush");
    drop(file);
    let elapsed = start.elapsed();
    let _ = std::fs::remove_file(path);
    elapsed
}

/// The recorder's writer path: BagWriter with the recorder's defaults (no compression, 4 MiB
/// chunks), finished.
fn writer_path<T: Message>(path: &Path, payload: &[u8], count: u64) -> Duration {
    let start = Instant::now();
    let mut writer = BagWriter::create(
        path,
        WriterOptions {
            compression: Compression::None,
            ..WriterOptions::default()
        },
    )
    .expect("create");
    let id = writer
        .add_topic("/t", T::TYPE_NAME, T::TYPE_HASH, T::DEFINITION, None)
        .expect("topic");
    for i in 0..count {
        writer.write(id, i, i, payload).expect("write");
    }
    writer.finish().expect("finish");
    let elapsed = start.elapsed();
    let _ = std::fs::remove_file(path);
    elapsed
}

/// Messages of a writer-path run: `count`, or more to make at least 64 MB, so that one run
/// is not over in a few milliseconds.
fn writer_count(count: u64, payload_len: usize) -> u64 {
    count.max(64_000_000 / payload_len.max(1) as u64)
}

/// `--writer-only`: the writer-path targets alone, without zenoh.
fn writer_only(dir: &Path, quick: bool) {
    let imu = cdr::encode(&common::imu()).expect("encode");
    let count = writer_count(if quick { 20_000 } else { 200_000 }, imu.len());
    writer_vs_raw::<sensor_msgs::Imu>("Imu (small)", dir, &imu, count, 0.8);
    let six_mb = cdr::encode(&image(2048, 1024, 7)).expect("encode");
    let count = writer_count(if quick { 20 } else { 50 }, six_mb.len());
    writer_vs_raw::<sensor_msgs::Image>("Image 6 MB", dir, &six_mb, count, 0.9);
}

/// The writer path beside a raw file write of the same payload bytes, in alternating rounds
/// (best of each, so page-cache warm-up and other processes favour neither); prints one row
/// each and the target line; returns (raw MB/s, writer MB/s).
fn writer_vs_raw<T: Message>(
    what: &str,
    dir: &Path,
    payload: &[u8],
    count: u64,
    target: f64,
) -> (f64, f64) {
    let bytes = payload.len() as u64 * count;
    let rounds = if std::env::args().any(|a| a == "--quick") {
        5
    } else {
        9
    };
    let (mut raw, mut reserved, mut writer) = (Duration::MAX, Duration::MAX, Duration::MAX);
    let mut ratios = Vec::new();
    for _ in 0..rounds {
        let r = raw_file(&dir.join("raw.bin"), payload, count, false);
        let w = writer_path::<T>(&dir.join("writer.mcap"), payload, count);
        let p = raw_file(&dir.join("raw.bin"), payload, count, true);
        ratios.push(r.as_secs_f64() / w.as_secs_f64().max(1e-9));
        raw = raw.min(r);
        reserved = reserved.min(p);
        writer = writer.min(w);
    }
    let (raw_mbs, _) = row(
        "raw std::fs::File write (BufWriter 1 MiB)",
        count,
        bytes,
        raw,
    );
    let (reserved_mbs, _) = row(
        "the same into preallocated space (fallocate)",
        count,
        bytes,
        reserved,
    );
    let (w_mbs, _) = row(
        "BagWriter path (recorder's writer thread)",
        count,
        bytes,
        writer,
    );
    ratios.sort_by(f64::total_cmp);
    println!(
        "writer path {what}: rosync {w_mbs:.0} MB/s, baseline raw file write {raw_mbs:.0} MB/s, ratio {:.2}x (target {target}x; {count} x {} B, best of {rounds} alternating rounds; per-round ratios {:.2}-{:.2}x)",
        w_mbs / raw_mbs,
        payload.len(),
        ratios[0],
        ratios[ratios.len() - 1]
    );
    println!(
        "  (BagWriter reserves the file's space ahead of its writes; against a raw write into preallocated space: {:.2}x)",
        w_mbs / reserved_mbs
    );
    (raw_mbs, w_mbs)
}

async fn nodes() -> (Node, Node) {
    common::node_pair(77, "bench_pub", "bench_rec").await
}

fn options(dir: &Path, name: &str, topics: &[&str]) -> RecordOptions {
    let mut options = RecordOptions::new(dir.join(name));
    options.selection = rosync::bag::TopicSelection::topics(topics.iter().copied());
    options.discovery_interval = Duration::from_millis(100);
    options
}

/// The whole recorder over loopback: `count` messages published back to back (blocking when
/// congested), from the first publish until `stop` has closed the files.
async fn recorder_loopback<T: Message>(
    pub_node: &Node,
    rec_node: &Node,
    dir: &Path,
    name: &str,
    msg: &T,
    count: u64,
) -> (Duration, u64, u64) {
    let topic = format!("/bench/{name}");
    let recorder = Recorder::start(rec_node, options(dir, name, &[&topic]))
        .await
        .expect("recorder");
    let publisher = pub_node
        .publisher::<T>(&topic)
        .block_when_congested(true)
        .depth(100)
        .await
        .expect("publisher");
    assert!(
        publisher
            .wait_for_subscribers(Duration::from_secs(10))
            .await
    );
    let start = Instant::now();
    for _ in 0..count {
        publisher.publish(msg).await.expect("publish");
    }
    // Wait until every message is written or dropped.
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let p = recorder.progress();
        if p.iter().map(|t| t.written + t.dropped()).sum::<u64>() >= count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let report = recorder.stop().await.expect("stop");
    let elapsed = start.elapsed();
    let _ = std::fs::remove_dir_all(dir.join(name));
    for t in &report.topics {
        if t.dropped() > 0 {
            println!(
                "  {}: dropped {} (buffer full), lost {} (never arrived)",
                t.topic, t.dropped_buffer_full, t.lost
            );
        }
    }
    (elapsed, report.messages, report.dropped())
}

async fn throughput<T: Message>(
    what: &str,
    pub_node: &Node,
    rec_node: &Node,
    dir: &Path,
    msg: &T,
    count: u64,
    target: f64,
) {
    let payload = cdr::encode(msg).expect("encode");
    println!("\n{what}: {count} x {} bytes", payload.len());
    let (raw_mbs, w_mbs) = writer_vs_raw::<T>(
        what,
        dir,
        &payload,
        writer_count(count, payload.len()),
        target,
    );
    let name = what.split_whitespace().next().unwrap_or("x").to_lowercase();
    let (elapsed, written, dropped) =
        recorder_loopback(pub_node, rec_node, dir, &name, msg, count).await;
    let (r_mbs, _) = row(
        "Recorder over zenoh loopback (publish->stop)",
        written,
        payload.len() as u64 * written,
        elapsed,
    );
    println!(
        "  ratios: writer/raw {:.2}x, recorder/raw {:.2}x, recorder/writer {:.2}x; recorder dropped {dropped}",
        w_mbs / raw_mbs,
        r_mbs / raw_mbs,
        r_mbs / w_mbs
    );
}

/// Four 1920x1080 rgb8 topics at 30 Hz for `seconds` through the Recorder.
async fn four_cameras(pub_node: &Node, rec_node: &Node, dir: &Path, seconds: u64) {
    let topics = [
        "/cam0/image_raw",
        "/cam1/image_raw",
        "/cam2/image_raw",
        "/cam3/image_raw",
    ];
    let recorder = Recorder::start(rec_node, options(dir, "four_cameras", &topics))
        .await
        .expect("recorder");
    let frame = image(1920, 1080, 1);
    let payload = cdr::encode(&frame).expect("encode");
    let mut publishers = Vec::new();
    for topic in topics {
        let p = pub_node
            .publisher::<sensor_msgs::Image>(topic)
            .block_when_congested(true)
            .await
            .expect("publisher");
        assert!(p.wait_for_subscribers(Duration::from_secs(10)).await);
        publishers.push(p);
    }
    println!(
        "\nfour 1920x1080 rgb8 topics at 30 Hz for {seconds} s: {} bytes each, {:.0} MB/s offered",
        payload.len(),
        payload.len() as f64 * 4.0 * 30.0 / MB
    );
    let frames = 30 * seconds;
    let start = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / 30.0));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    for _ in 0..frames {
        tick.tick().await;
        let sends = publishers.iter().map(|p| p.publish(&frame));
        for r in futures::future::join_all(sends).await {
            r.expect("publish");
        }
    }
    let publish_time = start.elapsed();
    // Let the last frames in flight arrive: until all are written or dropped (or 10 s).
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline
        && recorder
            .progress()
            .iter()
            .map(|t| t.written + t.dropped())
            .sum::<u64>()
            < frames * 4
    {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let report = recorder.stop().await.expect("stop");
    let elapsed = start.elapsed();
    let written_bytes = report.messages * payload.len() as u64;
    for t in &report.topics {
        println!(
            "  {}: received {}, written {}, dropped {} (buffer full), lost {} (never arrived)",
            t.topic,
            t.received,
            t.written,
            t.dropped(),
            t.lost
        );
    }
    println!(
        "  published {} frames in {:.2} s (publisher side {:.0} MB/s), written {} ({:.0} MB/s over {:.2} s), dropped {}, files {:.1} MB",
        frames * 4,
        publish_time.as_secs_f64(),
        (frames * 4 * payload.len() as u64) as f64 / MB / publish_time.as_secs_f64(),
        report.messages,
        written_bytes as f64 / MB / elapsed.as_secs_f64(),
        elapsed.as_secs_f64(),
        report.dropped(),
        report.bytes as f64 / MB
    );
    let raw = raw_file(&dir.join("raw4.bin"), &payload, frames * 4, false);
    row(
        "  raw std::fs::File write of the same bytes",
        frames * 4,
        frames * 4 * payload.len() as u64,
        raw,
    );
    let _ = std::fs::remove_dir_all(dir.join("four_cameras"));
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let dir = common::scratch("record");
    if std::env::args().any(|a| a == "--writer-only") {
        writer_only(&dir, quick);
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (pub_node, rec_node) = nodes().await;
        let small = if quick { 20_000 } else { 200_000 };
        throughput(
            "Imu (small)",
            &pub_node,
            &rec_node,
            &dir,
            &common::imu(),
            small,
            0.8,
        )
        .await;
        let big = if quick { 20 } else { 50 };
        let six_mb = image(2048, 1024, 7); // 6.29 MB
        throughput("Image 6 MB", &pub_node, &rec_node, &dir, &six_mb, big, 0.9).await;
        four_cameras(&pub_node, &rec_node, &dir, if quick { 2 } else { 5 }).await;
    });
    runtime.shutdown_timeout(Duration::from_millis(200));
    let _ = std::fs::remove_dir_all(&dir);
}
