//! Feeding a synchronizer from a log, with no network: deterministic, and the same sets
//! whether the log is replayed through the library, `rosync sync simulate --bag`, or turned
//! into a sync script.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rosync::bag::{BagWriter, Log, WriterOptions};
use rosync::msg::{sensor_msgs, Stamped};
use rosync::sync::{ApproximateTime, Synchronizer};
use rosync::Time;

const START: u64 = 1_700_000_000_000_000_000;

fn write_log(path: &Path) {
    let mut bag = BagWriter::create(path, WriterOptions::default()).expect("creates");
    for frame in 0..200u64 {
        let jitter = (frame * 7919 % 9) as i64 * 1_000_000 - 4_000_000;
        let stamp = START as i64 + frame as i64 * 33_333_333 + jitter;
        let log_time = START + frame * 33_333_333 + 4_000_000 + frame % 3 * 1_000_000;
        let mut image = sensor_msgs::Image::default();
        image.header.stamp = Time::from_nanos(stamp);
        let mut imu = sensor_msgs::Imu::default();
        imu.header.stamp = Time::from_nanos(stamp + 2_000_000);
        if frame % 11 != 4 {
            bag.write_message("/image", log_time, &image)
                .expect("writes");
        }
        if frame % 17 != 9 {
            bag.write_message("/imu", log_time + 300_000, &imu)
                .expect("writes");
        }
    }
    bag.finish().expect("finishes");
}

/// The sets (as stamp pairs) the library forms from the log.
fn library_sets(path: &Path) -> Vec<(i64, i64)> {
    let log = Log::open(path).expect("opens");
    let sync = Synchronizer::<(sensor_msgs::Image, sensor_msgs::Imu)>::new(
        ApproximateTime::new(2, 5).expect("valid"),
    )
    .expect("two");
    let sets = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&sets);
    sync.register_callback(move |(image, imu)| {
        seen.lock()
            .expect("lock")
            .push((image.stamp().as_nanos(), imu.stamp().as_nanos()));
    });
    for message in log.messages() {
        let message = message.expect("readable");
        match &*message.topic {
            "/image" => sync.add::<0>(Arc::new(message.decode().expect("image"))),
            _ => sync.add::<1>(Arc::new(message.decode().expect("imu"))),
        }
    }
    let sets = sets.lock().expect("lock").clone();
    sets
}

/// Where `test` writes its log, in a fresh folder.
fn log_path(test: &str) -> PathBuf {
    common::scratch(&format!("bag-sync-{test}")).join("log.mcap")
}

#[test]
fn same_log_same_sets_by_every_route() {
    let path = log_path("routes");
    write_log(&path);
    let first = library_sets(&path);
    assert!(first.len() > 150, "{} sets", first.len());
    assert_eq!(
        library_sets(&path),
        first,
        "replaying the same log is deterministic"
    );

    // The CLI over the log prints one line per set with each topic's stamp.
    let out = common::rosync()
        .args(["sync", "simulate", "--bag"])
        .arg(&path)
        .args(["--topic", "/image", "--topic", "/imu", "--queue", "5"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli_sets: Vec<(i64, i64)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let ns = |s: &str| -> i64 {
                let (sec, frac) = s.split_once('.').expect("sec.nanosec");
                sec.parse::<i64>().expect("sec") * 1_000_000_000 + frac.parse::<i64>().expect("ns")
            };
            (ns(f[1]), ns(f[3]))
        })
        .collect();
    assert_eq!(cli_sets, first);

    // The log as a sync script (message ids in log-time order) gives the same pairs.
    let log = Log::open(&path).expect("opens");
    let mut script = String::from("approx 2 5 0 0.1 0\n");
    let mut stamps = Vec::new();
    for message in log.messages() {
        let message = message.expect("readable");
        let channel = usize::from(&*message.topic != "/image");
        let stamp = rosync::msg::header_stamp_from_cdr(&message.data).expect("stamp");
        script.push_str(&format!("{channel} {stamp}\n"));
        stamps.push(stamp);
    }
    let out = common::run_rosync_with_input(&["sync", "simulate", "-"], &script);
    let script_sets: Vec<(i64, i64)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            let ids: Vec<usize> = line
                .split_whitespace()
                .skip(1)
                .map(|id| id.parse().expect("id"))
                .collect();
            (stamps[ids[0]], stamps[ids[1]])
        })
        .collect();
    assert_eq!(script_sets, first);
    let _ = std::fs::remove_dir_all(path.parent().expect("dir"));
}

#[test]
fn bad_topics_and_untimed_types_are_named() {
    let path = log_path("bad");
    let mut bag = BagWriter::create(&path, WriterOptions::default()).expect("creates");
    let text = rosync::msg::std_msgs::String { data: "x".into() };
    bag.write_message("/a", 1, &text).expect("writes");
    bag.write_message("/b", 2, &text).expect("writes");
    bag.finish().expect("finishes");
    for (topics, expected) in [
        (["/a", "/missing"], "no topic /missing"),
        (["/a", "/b"], "has no std_msgs/Header"),
    ] {
        let out = common::rosync()
            .args(["sync", "simulate", "--bag"])
            .arg(&path)
            .args(["--topic", topics[0], "--topic", topics[1]])
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
    }
    let _ = std::fs::remove_dir_all(path.parent().expect("dir"));
}
