//! MCAP logs against independent implementations: what rosync writes is read back by Python
//! `mcap` (Foxglove's reference library) and `rosbags` (tests/python/bag_check.py), what they
//! write is read by rosync; killed writers, cut, corrupted and foreign files are recovered up to
//! the damage or rejected with an error naming the file, never with a panic.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use proptest::prelude::*;
use rosync::bag::{recover, BagError, BagInfo, BagReader, BagWriter, Compression, WriterOptions};
use rosync::msg::{sensor_msgs, std_msgs, Message};
use serde_json::Value;

use common::{bag_check, camera_info, header, message_rows, rgb8, row, scratch, Row};

/// Writes a log with Strings (non-ASCII), Images and CameraInfos, some log times out of
/// order; returns what was written, sorted by log time.
fn write_sample(path: &Path, options: WriterOptions) -> Vec<Row> {
    let mut bag = BagWriter::create(path, options).expect("create");
    let mut rows = Vec::new();
    for i in 0..40u32 {
        let t = 1_000_000_000 + u64::from(i) * 10_000_000;
        let s = std_msgs::String {
            data: format!("grüße {i} – 東京 ✓"),
        };
        bag.write_message("/chatter", t, &s).expect("write");
        rows.push(row("/chatter", t, &s));
        if i % 4 == 0 {
            let image = rgb8(
                header(1_000_000_000 + i64::from(i), "camera"),
                5,
                4,
                (0..60).map(|k| (k * 3 + i) as u8).collect(),
            );
            // Written late: its log time is earlier than the String just written.
            bag.write_message("/camera/image", t - 5_000_000, &image)
                .expect("write");
            rows.push(row("/camera/image", t - 5_000_000, &image));
            let info = camera_info(header(1_000_000_000 + i64::from(i), "camera"), 5, 4);
            bag.write_message("/camera/info", t + 1, &info)
                .expect("write");
            rows.push(row("/camera/info", t + 1, &info));
        }
    }
    let summary = bag.finish().expect("finish");
    assert_eq!(summary.messages, rows.len() as u64);
    assert_eq!(summary.bytes, std::fs::metadata(path).expect("file").len());
    rows.sort_by_key(|r| r.1);
    rows
}

fn small_chunks(compression: Compression) -> WriterOptions {
    WriterOptions {
        compression,
        chunk_size: 1024,
        ..Default::default()
    }
}

/// The messages a Python reader printed, as rows in its order.
fn python_rows(lines: &[Value], reader: &str) -> Vec<Row> {
    lines
        .iter()
        .filter(|l| l["reader"] == reader && l.get("kind").is_none())
        .map(|l| {
            (
                l["topic"].as_str().expect("topic").to_string(),
                l["log_time"].as_u64().expect("log_time"),
                l["type"].as_str().expect("type").to_string(),
                l["value"].clone(),
            )
        })
        .collect()
}

/// What rosync reads from `path`: every message in log-time order, decoded by type name.
fn rosync_rows(path: &Path) -> Vec<Row> {
    message_rows(BagReader::open(path).expect("open").messages())
}

fn sorted(mut rows: Vec<Row>) -> Vec<Row> {
    rows.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    rows
}

#[test]
fn rosync_logs_are_read_back_by_python_mcap_and_rosbags() {
    let dir = scratch("roundtrip");
    for compression in [Compression::None, Compression::Lz4, Compression::Zstd] {
        let path = dir.join(format!("{compression:?}.mcap"));
        let written = write_sample(&path, small_chunks(compression));
        let lines = bag_check(&["read", path.to_str().expect("path")]);

        // Channels carry what rosbag2's MCAP plugin writes.
        let channels: BTreeMap<&str, &Value> = lines
            .iter()
            .filter(|l| l["kind"] == "channel")
            .map(|l| (l["topic"].as_str().expect("topic"), l))
            .collect();
        assert_eq!(channels.len(), 3, "{compression:?}");
        let image = channels["/camera/image"];
        assert_eq!(image["type"], sensor_msgs::Image::TYPE_NAME);
        assert_eq!(image["schema_encoding"], "ros2msg");
        assert_eq!(image["message_encoding"], "cdr");
        assert_eq!(
            image["metadata"]["topic_type_hash"],
            sensor_msgs::Image::TYPE_HASH
        );
        let qos = image["metadata"]["offered_qos_profiles"]
            .as_str()
            .expect("qos");
        assert!(
            qos.contains("reliability: reliable") && qos.contains("depth: 10"),
            "{qos}"
        );

        // Both readers see every message with equal content; mcap in log-time order.
        let by_mcap = python_rows(&lines, "mcap");
        assert_eq!(by_mcap, written, "{compression:?}: python mcap");
        let by_rosbags = python_rows(&lines, "rosbags");
        assert_eq!(
            sorted(by_rosbags),
            sorted(written.clone()),
            "{compression:?}: rosbags"
        );

        // And rosync reads its own file the same way.
        assert_eq!(rosync_rows(&path), written, "{compression:?}: rosync");
    }
}

#[test]
fn files_written_by_python_mcap_are_read_typed() {
    let dir = scratch("python-mcap");
    let path = dir.join("python.mcap");
    let lines = bag_check(&["write", path.to_str().expect("path")]);
    let written = python_rows(&lines, "written");
    assert_eq!(written.len(), 9);

    let bag = BagReader::open(&path).expect("open");
    assert_eq!(bag.profile(), "ros2");
    assert!(bag.is_indexed());
    assert!(bag.damage().is_none());
    assert_eq!(bag.message_count(), 9);
    assert_eq!(rosync_rows(&path), sorted(written.clone()));

    let strings: Vec<(u64, std_msgs::String)> = bag
        .typed::<std_msgs::String>("/chatter")
        .expect("typed")
        .collect::<Result<_, _>>()
        .expect("decodes");
    assert_eq!(strings.len(), 5);
    assert_eq!(strings[0].0, 1_000_000_000);
    assert_eq!(strings[0].1.data, "grüße 0 – 東京");
    let images: Vec<(u64, sensor_msgs::Image)> = bag
        .typed::<sensor_msgs::Image>("/camera/image")
        .expect("typed")
        .collect::<Result<_, _>>()
        .expect("decodes");
    assert_eq!(images.len(), 3);
    assert_eq!(images[2].1.data.len(), 18);
    let infos: Vec<(u64, sensor_msgs::CameraInfo)> = bag
        .typed::<sensor_msgs::CameraInfo>("/camera/info")
        .expect("typed")
        .collect::<Result<_, _>>()
        .expect("decodes");
    assert_eq!(infos[0].1.k[2], 320.0);
    let topics = bag.topics();
    let chatter = topics
        .iter()
        .find(|t| t.topic == "/chatter")
        .expect("chatter");
    assert_eq!(
        chatter.type_hash.as_deref(),
        Some(std_msgs::String::TYPE_HASH)
    );
    assert_eq!(chatter.message_count, 5);
}

#[test]
fn rosbag2_folders_written_by_rosbags_are_read() {
    let dir = scratch("rosbags");
    let folder = dir.join("bag");
    let lines = bag_check(&[
        "write-rosbags",
        folder.to_str().expect("path"),
        "--storage",
        "mcap",
    ]);
    let written = python_rows(&lines, "written");
    assert!(folder.join("metadata.yaml").exists());
    let mcap = std::fs::read_dir(&folder)
        .expect("folder")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|e| e == "mcap"))
        .expect("an .mcap in the folder");
    assert_eq!(rosync_rows(&mcap), sorted(written));
    let bag = BagReader::open(&mcap).expect("open");
    assert!(bag.damage().is_none());
    let strings = bag.typed::<std_msgs::String>("/chatter").expect("typed");
    assert_eq!(strings.count(), 5);

    // A sqlite3 rosbag2 file is not MCAP: a clear error naming it.
    let folder = dir.join("bag_sqlite");
    bag_check(&[
        "write-rosbags",
        folder.to_str().expect("path"),
        "--storage",
        "sqlite3",
    ]);
    let db3 = folder.join("bag_sqlite.db3");
    let err = BagReader::open(&db3).expect_err("not MCAP");
    assert!(matches!(err, BagError::NotMcap { .. }), "{err}");
    assert!(err.to_string().contains("bag_sqlite.db3"), "{err}");
}

#[test]
fn non_mcap_empty_and_missing_files_are_clear_errors() {
    let dir = scratch("not-mcap");
    let empty = dir.join("empty.mcap");
    std::fs::write(&empty, b"").expect("write");
    let err = BagReader::open(&empty).expect_err("empty");
    assert!(matches!(err, BagError::NotMcap { .. }));
    assert!(
        err.to_string().contains("empty.mcap") && err.to_string().contains("empty"),
        "{err}"
    );

    let text = dir.join("notes.mcap");
    std::fs::write(&text, b"this is not a log at all\n").expect("write");
    let err = BagReader::open(&text).expect_err("text");
    assert!(matches!(err, BagError::NotMcap { .. }));
    assert!(
        err.to_string().contains("notes.mcap") && err.to_string().contains("magic"),
        "{err}"
    );

    let missing = dir.join("missing.mcap");
    let err = BagReader::open(&missing).expect_err("missing");
    assert!(matches!(err, BagError::Io { .. }));
    assert!(err.to_string().contains("missing.mcap"), "{err}");
    assert_eq!(err.path(), missing);
}

/// The chunks of a finished file: (offset, end, messages in it), from the `mcap` crate.
fn chunk_layout(bytes: &[u8]) -> Vec<(u64, u64, usize)> {
    let summary = mcap::Summary::read(bytes)
        .expect("summary")
        .expect("has one");
    let mut chunks: Vec<(u64, u64, usize)> = summary
        .chunk_indexes
        .iter()
        .map(|c| {
            let count = summary.stream_chunk(bytes, c).expect("chunk").count();
            (
                c.chunk_start_offset,
                c.chunk_start_offset + c.chunk_length,
                count,
            )
        })
        .collect();
    chunks.sort();
    chunks
}

#[test]
fn cut_files_keep_every_complete_chunk() {
    let dir = scratch("cut");
    let full = dir.join("full.mcap");
    let written = write_sample(&full, small_chunks(Compression::Zstd));
    let bytes = std::fs::read(&full).expect("read");
    let chunks = chunk_layout(&bytes);
    assert!(chunks.len() >= 5, "{} chunks", chunks.len());
    let data_end = chunks.last().expect("chunks").1;

    let mut cuts = vec![
        chunks[0].0 + 3,
        chunks[1].1,
        chunks[2].0 + 40,
        data_end,
        bytes.len() as u64 - 1,
    ];
    cuts.extend(chunks.iter().map(|c| c.1 - 1));
    for (i, cut) in cuts.into_iter().enumerate() {
        let path = dir.join(format!("cut{i}.mcap"));
        std::fs::write(&path, &bytes[..cut as usize]).expect("write");
        let expected: usize = chunks.iter().filter(|c| c.1 <= cut).map(|c| c.2).sum();
        let bag = BagReader::open(&path).expect("a cut file opens");
        assert!(!bag.is_indexed());
        match bag.damage() {
            Some(BagError::Truncated {
                recovered_messages,
                path: p,
                ..
            }) => {
                assert_eq!(*recovered_messages, expected as u64, "cut at {cut}");
                assert_eq!(p, &path);
            }
            other => panic!("cut at {cut}: expected Truncated, got {other:?}"),
        }
        assert_eq!(bag.message_count(), expected as u64, "cut at {cut}");
        let read: Vec<_> = bag.messages().collect::<Result<_, _>>().expect("no errors");
        assert_eq!(read.len(), expected);
        assert!(read.windows(2).all(|w| w[0].log_time <= w[1].log_time));
    }

    // A file cut inside its header cannot be opened, and says why.
    let path = dir.join("header-cut.mcap");
    std::fs::write(&path, &bytes[..12]).expect("write");
    let err = BagReader::open(&path).expect_err("header cut");
    assert!(err.to_string().contains("header-cut.mcap"), "{err}");

    // Recovery of a cut file gives a clean file that Python reads entirely.
    let cut = chunks[3].1 + 10;
    let path = dir.join("recover-me.mcap");
    std::fs::write(&path, &bytes[..cut as usize]).expect("write");
    let out = dir.join("recovered.mcap");
    let report = recover(&path, &out).expect("recover");
    let expected: usize = chunks.iter().take(4).map(|c| c.2).sum();
    assert_eq!(report.messages_recovered, expected as u64);
    assert!(matches!(report.damage, Some(BagError::Truncated { .. })));
    assert!(report.skipped.is_empty());
    let clean = BagReader::open(&out).expect("open recovered");
    assert!(clean.is_indexed() && clean.damage().is_none());
    let lines = bag_check(&["read", out.to_str().expect("path")]);
    let by_mcap = python_rows(&lines, "mcap");
    assert_eq!(by_mcap.len(), expected);
    assert_eq!(
        sorted(python_rows(&lines, "rosbags")),
        sorted(by_mcap.clone())
    );
    for r in &by_mcap {
        assert!(
            written.contains(r),
            "recovered message {r:?} was never written"
        );
    }
}

/// Writes `count` messages with 1 KiB chunks; returns how many were in closed chunks.
fn write_then_vanish(path: &Path, count: u32, announce: bool) -> u64 {
    let mut bag = BagWriter::create(path, small_chunks(Compression::Lz4)).expect("create");
    let mut durable = 0;
    let mut last_bytes = bag.bytes_written();
    for i in 0..count {
        let msg = std_msgs::String {
            data: format!("message {i} {}", "x".repeat(40)),
        };
        bag.write_message("/log", 1_000 + u64::from(i), &msg)
            .expect("write");
        if bag.bytes_written() != last_bytes {
            last_bytes = bag.bytes_written();
            durable = bag.messages_written();
            if announce {
                println!("durable {durable}");
            }
        }
    }
    assert!(
        bag.messages_written() > durable,
        "the last chunk must still be open"
    );
    std::mem::forget(bag); // no summary, no flush: what SIGKILL leaves
    durable
}

#[test]
fn a_writer_that_vanishes_loses_only_its_open_chunk() {
    let dir = scratch("vanish");
    let path = dir.join("killed.mcap");
    let durable = write_then_vanish(&path, 203, false);
    // Lost: at most chunk_size bytes of message records (plus the one that closed it).
    let lost = 203 - durable;
    // Each record here is at least 88 bytes and the open chunk holds under 1024.
    assert!(lost * 88 < 1024, "lost {lost}");
    let bag = BagReader::open(&path).expect("open");
    assert_eq!(bag.message_count(), durable);
    assert!(
        matches!(bag.damage(), Some(BagError::Truncated { .. })),
        "{:?}",
        bag.damage()
    );
    let got: Vec<_> = bag
        .typed::<std_msgs::String>("/log")
        .expect("typed")
        .collect::<Result<_, _>>()
        .expect("decodes");
    assert_eq!(got.len() as u64, durable);
    for (i, (t, m)) in got.iter().enumerate() {
        assert_eq!(*t, 1_000 + i as u64);
        assert!(m.data.starts_with(&format!("message {i} ")));
    }
    let out = dir.join("recovered.mcap");
    let report = recover(&path, &out).expect("recover");
    assert_eq!(report.messages_recovered, durable);
    let lines = bag_check(&["read", out.to_str().expect("path")]);
    assert_eq!(python_rows(&lines, "mcap").len() as u64, durable);
    assert_eq!(python_rows(&lines, "rosbags").len() as u64, durable);
}

/// Run as a child process by `a_killed_recorder_process_loses_only_its_open_chunk` (ignored,
/// so it is not counted as a test of its own).
#[test]
#[ignore = "child process of a_killed_recorder_process_loses_only_its_open_chunk"]
fn child_writer_that_aborts() {
    let Ok(path) = std::env::var("ROSYNC_BAG_ABORT_CHILD") else {
        return;
    };
    write_then_vanish(Path::new(&path), 157, true);
    std::process::abort();
}

#[test]
fn a_killed_recorder_process_loses_only_its_open_chunk() {
    let dir = scratch("abort");
    let path = dir.join("aborted.mcap");
    let out = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--ignored",
            "--exact",
            "child_writer_that_aborts",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("ROSYNC_BAG_ABORT_CHILD", &path)
        .output()
        .expect("child runs");
    assert!(!out.status.success(), "the child must die");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let durable: u64 = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("durable "))
        .next_back()
        .and_then(|n| n.trim().parse().ok())
        .expect("the child reported closed chunks");
    let bag = BagReader::open(&path).expect("open");
    assert_eq!(bag.message_count(), durable);
    assert!(matches!(bag.damage(), Some(BagError::Truncated { .. })));
    assert_eq!(bag.messages().filter(|m| m.is_ok()).count() as u64, durable);
}

#[test]
fn a_corrupt_chunk_is_skipped_reported_and_the_rest_is_read() {
    let dir = scratch("corrupt");
    let full = dir.join("full.mcap");
    let written = write_sample(&full, small_chunks(Compression::None));
    let mut bytes = std::fs::read(&full).expect("read");
    let chunks = chunk_layout(&bytes);
    let (start, end, lost) = chunks[2];
    // Flip a byte in the middle of the chunk's records: the chunk CRC no longer matches.
    bytes[((start + end) / 2) as usize] ^= 0x5A;
    let path = dir.join("corrupt.mcap");
    std::fs::write(&path, &bytes).expect("write");

    // Through the summary: the damaged chunk is skipped and reported with the messages its
    // message index lists; every other message is read.
    let bag = BagReader::open(&path).expect("open");
    assert!(bag.is_indexed());
    let mut messages = bag.messages();
    let items: Vec<_> = messages
        .by_ref()
        .collect::<Result<_, _>>()
        .expect("no error item");
    assert_eq!(items.len(), written.len() - lost);
    let skipped = messages.skipped();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(skipped[0].offset(), Some(start));
    assert_eq!(skipped[0].messages_lost, Some(lost as u64));
    assert!(skipped[0].to_string().contains("corrupt.mcap"));

    // Without the summary (scan): the chunk is skipped and reported as the damage.
    let data_end = chunks.last().expect("chunks").1 as usize;
    let path = dir.join("corrupt-cut.mcap");
    std::fs::write(&path, &bytes[..data_end]).expect("write");
    let bag = BagReader::open(&path).expect("open");
    assert!(matches!(bag.damage(), Some(BagError::Corrupt { offset, .. }) if *offset == start));
    assert_eq!(bag.message_count() as usize, written.len() - lost);
    assert_eq!(bag.skipped().len(), 1);
    assert_eq!(bag.skipped()[0].messages_lost, Some(lost as u64));
    let mut messages = bag.messages();
    assert!(messages.by_ref().all(|m| m.is_ok()));
    assert_eq!(messages.skipped(), bag.skipped());
}

#[test]
fn types_and_encodings_are_checked_per_topic() {
    let dir = scratch("types");
    let path = dir.join("mixed.mcap");
    let mut bag = BagWriter::create(&path, WriterOptions::default()).expect("create");
    bag.write_message("/chatter", 5, &std_msgs::String { data: "a".into() })
        .expect("write");
    let json = bag
        .add_channel(
            "/json",
            "my/Thing",
            "jsonschema",
            b"{}",
            "json",
            &BTreeMap::new(),
        )
        .expect("channel");
    bag.write(json, 6, 6, br#"{"x": 1}"#).expect("write");
    let err = bag
        .add_topic("/chatter", "std_msgs/msg/Int32", "", "int32 data", None)
        .expect_err("conflict");
    assert!(matches!(err, BagError::TopicConflict { .. }), "{err}");
    bag.finish().expect("finish");

    let bag = BagReader::open(&path).expect("open");
    let err = bag
        .typed::<sensor_msgs::Image>("/chatter")
        .err()
        .expect("mismatch");
    assert!(matches!(err, BagError::TypeMismatch { .. }), "{err}");
    assert!(err.to_string().contains("std_msgs/msg/String"), "{err}");
    let err = bag
        .typed::<std_msgs::String>("/nope")
        .err()
        .expect("missing");
    assert!(matches!(err, BagError::NoSuchTopic { .. }), "{err}");
    let err = bag.typed::<std_msgs::String>("/json").err().expect("json");
    assert!(matches!(err, BagError::UnsupportedEncoding { .. }), "{err}");
    // Raw iteration still returns both, in log-time order.
    let raw: Vec<_> = bag.messages().collect::<Result<_, _>>().expect("raw");
    assert_eq!(raw.len(), 2);
    assert_eq!(&*raw[1].topic, "/json");
    assert_eq!(&raw[1].data[..], br#"{"x": 1}"#);
    let only: Vec<_> = bag
        .messages_on(&["/json"])
        .collect::<Result<_, _>>()
        .expect("raw");
    assert_eq!(only.len(), 1);
}

#[test]
fn info_prints_like_ros2_bag_info() {
    let dir = scratch("info");
    let path = dir.join("info.mcap");
    write_sample(&path, WriterOptions::default());
    let info = BagInfo::open(&path).expect("info");
    assert_eq!(info.message_count, 60);
    let text = info.to_string();
    assert!(text.contains("Files:             info.mcap"), "{text}");
    assert!(text.contains("Storage id:        mcap"), "{text}");
    assert!(text.contains("Duration:          0.395000000s"), "{text}");
    assert!(text.contains("Messages:          60"), "{text}");
    assert!(
        text.contains("Topic information: Topic: /camera/image | Type: sensor_msgs/msg/Image | Count: 10 | Serialization Format: cdr"),
        "{text}"
    );
    assert!(
        text.contains("                   Topic: /chatter | Type: std_msgs/msg/String | Count: 40"),
        "{text}"
    );
    assert!(format!("{info:#}").contains("Frequency:"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Corrupted or cut files never panic: open, iterate, decode and recover all return.
    #[test]
    fn corruption_never_panics(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..6),
        cut in proptest::option::of(any::<prop::sample::Index>()),
        zstd in any::<bool>(),
    ) {
        let original = corruption_sample(zstd);
        let mut bytes = original.clone();
        for (at, xor) in &flips {
            let i = at.index(bytes.len());
            bytes[i] ^= xor;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        let dir = std::env::temp_dir().join(format!("rosync-bag-{}-prop", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("case.mcap");
        std::fs::write(&path, &bytes).expect("write");
        if let Ok(bag) = BagReader::open(&path) {
            let _ = bag.topics();
            for m in bag.messages().take(10_000).flatten() {
                let _ = m.decode_json();
            }
            if let Ok(typed) = bag.typed::<std_msgs::String>("/chatter") {
                for item in typed.take(10_000) {
                    let _ = item;
                }
            }
            let _ = BagInfo::from_reader(&bag).to_string();
            let _ = recover(&path, dir.join("recovered.mcap"));
        }
    }
}

/// A small finished log with several chunks, written once per compression.
fn corruption_sample(zstd: bool) -> Vec<u8> {
    static SAMPLES: std::sync::OnceLock<(Vec<u8>, Vec<u8>)> = std::sync::OnceLock::new();
    let (lz4, zst) = SAMPLES.get_or_init(|| {
        let dir = scratch("prop-sample");
        let mut out = Vec::new();
        for compression in [Compression::Lz4, Compression::Zstd] {
            let path = dir.join("sample.mcap");
            let mut bag = BagWriter::create(
                &path,
                WriterOptions {
                    chunk_size: 300,
                    compression,
                    ..Default::default()
                },
            )
            .expect("create");
            for i in 0..30u32 {
                bag.write_message(
                    "/chatter",
                    u64::from(i),
                    &std_msgs::String {
                        data: format!("m{i}"),
                    },
                )
                .expect("write");
                if i % 5 == 0 {
                    let image = sensor_msgs::Image {
                        width: 2,
                        height: 1,
                        step: 2,
                        data: vec![1, 2],
                        ..Default::default()
                    };
                    bag.write_message("/image", u64::from(i), &image)
                        .expect("write");
                }
            }
            bag.finish().expect("finish");
            out.push(std::fs::read(&path).expect("read"));
        }
        let zst = out.pop().expect("zstd");
        let lz4 = out.pop().expect("lz4");
        (lz4, zst)
    });
    if zstd {
        zst.clone()
    } else {
        lz4.clone()
    }
}

/// Uncompressed chunks get their CRC also when they are written as they fill (1 MiB blocks)
/// and when their last payload is written from the caller's buffer: every
/// chunk's CRC is present and matches its records (read with the `mcap` crate, independently
/// of rosync's reader), and Python `mcap` and `rosbags` read every message.
#[test]
fn uncompressed_chunks_carry_their_crc_however_they_are_written() {
    let dir = scratch("chunk_crcs");
    let path = dir.join("crcs.mcap");
    let mut bag = BagWriter::create(
        &path,
        WriterOptions {
            compression: Compression::None,
            chunk_size: 2 << 20,
            ..Default::default()
        },
    )
    .expect("create");
    let mut log_time = 1_000u64;
    let mut next = || {
        log_time += 1;
        log_time
    };
    // About 2.4 MB of small messages: one chunk closes at 2 MiB, written as it fills.
    for i in 0..2400 {
        let msg = std_msgs::String {
            data: format!("{i:04} {}", "s".repeat(1000)),
        };
        bag.write_message("/small", next(), &msg).expect("write");
    }
    // Three 3 MB images: each closes a chunk as its tail.
    for i in 0..3u8 {
        let image = rgb8(Default::default(), 1000, 1000, vec![i; 1000 * 1000 * 3]);
        bag.write_message("/image", next(), &image).expect("write");
    }
    // A short last chunk (CRC computed before writing).
    bag.write_message(
        "/small",
        next(),
        &std_msgs::String {
            data: "last".into(),
        },
    )
    .expect("write");
    let written = bag.finish().expect("finish").messages;
    assert_eq!(written, 2404);

    let bytes = std::fs::read(&path).expect("read");
    let mut chunks = 0;
    for record in mcap::read::LinearReader::new(&bytes).expect("mcap") {
        if let mcap::records::Record::Chunk { header, data } = record.expect("record") {
            chunks += 1;
            assert_eq!(header.compression, "");
            assert_ne!(header.uncompressed_crc, 0, "chunk {chunks} has no CRC");
            assert_eq!(
                header.uncompressed_crc,
                crc32fast::hash(&data),
                "chunk {chunks}: CRC does not match its records"
            );
        }
    }
    assert!(chunks >= 5, "{chunks} chunks");
    let reader = BagReader::open(&path).expect("open");
    assert!(reader.damage().is_none(), "{:?}", reader.damage());
    assert_eq!(reader.message_count(), written);
    let lines = bag_check(&["read", path.to_str().expect("path")]);
    assert_eq!(python_rows(&lines, "mcap").len() as u64, written);
    assert_eq!(python_rows(&lines, "rosbags").len() as u64, written);
    let _ = std::fs::remove_dir_all(&dir);
}

/// An uncompressed chunk is written to the file as it fills, after a placeholder header: a
/// writer that vanishes in the middle of one leaves it cut short (truncated, its messages
/// lost) and every chunk before it intact, and the file recovers.
#[test]
fn a_writer_that_vanishes_mid_uncompressed_chunk_keeps_every_closed_chunk() {
    let dir = scratch("vanish_streamed");
    let path = dir.join("killed.mcap");
    let mut bag = BagWriter::create(
        &path,
        WriterOptions {
            compression: Compression::None,
            chunk_size: 4 << 20,
            ..Default::default()
        },
    )
    .expect("create");
    let (mut durable, mut last_bytes) = (0, bag.bytes_written());
    // 10 KiB messages: 2.5 chunks of 4 MiB, the open one partly in the file (1 MiB blocks).
    for i in 0..1000u64 {
        let msg = std_msgs::String {
            data: format!("{i:04} {}", "m".repeat(10 * 1024)),
        };
        bag.write_message("/log", 1_000 + i, &msg).expect("write");
        if bag.bytes_written() != last_bytes {
            last_bytes = bag.bytes_written();
            durable = bag.messages_written();
        }
    }
    assert!(
        (780..840).contains(&durable),
        "two chunks closed: {durable} messages"
    );
    // The open chunk's blocks are written by a thread: give it a moment.
    let file_len = || std::fs::metadata(&path).expect("metadata").len();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while file_len() <= last_bytes + (1 << 20) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let file_len = file_len();
    assert!(
        file_len > last_bytes + (1 << 20),
        "the open chunk is partly written: {file_len} bytes, {last_bytes} closed"
    );
    std::mem::forget(bag); // no summary, no flush: what SIGKILL leaves

    let bag = BagReader::open(&path).expect("open");
    assert_eq!(bag.message_count(), durable);
    assert!(
        matches!(bag.damage(), Some(BagError::Truncated { offset, .. }) if *offset == last_bytes),
        "{:?}",
        bag.damage()
    );
    let out = dir.join("recovered.mcap");
    let report = recover(&path, &out).expect("recover");
    assert_eq!(report.messages_recovered, durable);
    let lines = bag_check(&["read", out.to_str().expect("path")]);
    assert_eq!(python_rows(&lines, "mcap").len() as u64, durable);
    assert_eq!(python_rows(&lines, "rosbags").len() as u64, durable);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `BagWriter` reserves file space ahead of its writes (Linux `fallocate`, where the file
/// system can); a finished log gives back what it did not use.
#[test]
fn a_finished_log_holds_no_reserved_space_past_its_end() {
    use std::os::unix::fs::MetadataExt;
    let dir = scratch("reserved");
    let path = dir.join("finished.mcap");
    let mut bag = BagWriter::create(
        &path,
        WriterOptions {
            compression: Compression::None,
            ..Default::default()
        },
    )
    .expect("create");
    // 3 MiB of 10 KiB messages: written by the block thread, space reserved 32 MiB ahead.
    for i in 0..300u64 {
        let msg = std_msgs::String {
            data: format!("{i:04} {}", "m".repeat(10 * 1024)),
        };
        bag.write_message("/log", 1_000 + i, &msg).expect("write");
    }
    let summary = bag.finish().expect("finish");
    let meta = std::fs::metadata(&path).expect("metadata");
    assert_eq!(meta.len(), summary.bytes);
    let on_disk = meta.blocks() * 512;
    assert!(
        on_disk <= meta.len() + 64 * 1024,
        "{on_disk} bytes on disk for a {}-byte file",
        meta.len()
    );
    assert_eq!(BagReader::open(&path).expect("open").message_count(), 300);
    let _ = std::fs::remove_dir_all(&dir);
}
