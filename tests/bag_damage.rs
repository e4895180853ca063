//! One story for damaged logs: the same damaged file (a flipped byte inside one chunk of a
//! rosync-written, zstd-compressed log) read by every command and the library gives the same
//! messages (all but the damaged chunk's), and each reports the skip naming the file, the
//! offset and the messages lost; a chunk whose header only is damaged is read fully (as
//! Python `mcap` reads it); non-regular files are refused at once; lengths and offsets near
//! the integer limits never panic.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{endpoint, header, scratch, PATIENCE};
use proptest::prelude::*;
use rosync::bag::{
    recover, recover_folder, BagError, BagInfo, BagReader, BagWriter, Compression, Log,
    WriterOptions,
};
use rosync::msg::sensor_msgs;

const T0: u64 = 1_700_000_000_000_000_000;
const FRAMES: u64 = 60;

/// (topic, log time) of a message.
type Key = (String, u64);

fn imu(stamp: u64) -> sensor_msgs::Imu {
    sensor_msgs::Imu {
        header: header(stamp as i64, "imu"),
        ..Default::default()
    }
}

fn image(stamp: u64) -> sensor_msgs::Image {
    sensor_msgs::Image {
        header: header(stamp as i64, "cam"),
        height: 1,
        width: 2,
        encoding: "mono8".into(),
        step: 2,
        data: vec![stamp as u8, 7],
        ..Default::default()
    }
}

/// A finished zstd log of /image and /imu (one of each per frame, same stamp) in many chunks.
fn write_log(path: &Path) -> Vec<Key> {
    let options = WriterOptions {
        chunk_size: 2048,
        compression: Compression::Zstd,
        ..WriterOptions::default()
    };
    let mut bag = BagWriter::create(path, options).expect("create");
    let mut keys = Vec::new();
    for i in 0..FRAMES {
        let stamp = T0 + i * 10_000_000;
        bag.write_message("/image", stamp, &image(stamp))
            .expect("write");
        bag.write_message("/imu", stamp + 1_000, &imu(stamp))
            .expect("write");
        keys.push(("/image".to_string(), stamp));
        keys.push(("/imu".to_string(), stamp + 1_000));
    }
    bag.finish().expect("finish");
    keys
}

/// The chunks of a finished file: (offset, length, messages in it as keys), by the `mcap` crate.
fn chunks(bytes: &[u8]) -> Vec<(u64, u64, Vec<Key>)> {
    let summary = mcap::Summary::read(bytes)
        .expect("summary")
        .expect("has one");
    let mut out: Vec<(u64, u64, Vec<Key>)> = summary
        .chunk_indexes
        .iter()
        .map(|c| {
            let keys = summary
                .stream_chunk(bytes, c)
                .expect("chunk")
                .map(|m| {
                    let m = m.expect("message");
                    (m.channel.topic.clone(), m.log_time)
                })
                .collect();
            (c.chunk_start_offset, c.chunk_length, keys)
        })
        .collect();
    out.sort_by_key(|c| c.0);
    out
}

/// A damaged log: `flip` applied to a copy of a fresh log; returns its path, the keys still
/// readable, the damaged chunk's offset and the keys lost.
struct Damaged {
    dir: PathBuf,
    path: PathBuf,
    readable: Vec<Key>,
    offset: u64,
    lost: usize,
    chunks: usize,
}

/// Flips a byte in the middle of chunk 2's compressed records.
fn damaged_log(name: &str) -> Damaged {
    let dir = scratch(name);
    let original = dir.join("original.mcap");
    let written = write_log(&original);
    let mut bytes = std::fs::read(&original).expect("read");
    let layout = chunks(&bytes);
    assert!(layout.len() >= 5, "{} chunks", layout.len());
    let (offset, length, lost) = &layout[2];
    bytes[(offset + length - length / 3) as usize] ^= 0x5A;
    let path = dir.join("damaged.mcap");
    std::fs::write(&path, &bytes).expect("write");
    let lost: BTreeSet<&Key> = lost.iter().collect();
    Damaged {
        readable: written
            .iter()
            .filter(|k| !lost.contains(k))
            .cloned()
            .collect(),
        lost: lost.len(),
        offset: *offset,
        chunks: layout.len(),
        path,
        dir,
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The report every command gives for the damaged chunk: the file, the offset, the loss.
fn assert_reports_skip(stderr: &str, d: &Damaged) {
    let file = d.path.display().to_string();
    assert!(stderr.contains(&file), "names the file:\n{stderr}");
    assert!(
        stderr.contains(&format!("at byte {}", d.offset)),
        "names the offset {}:\n{stderr}",
        d.offset
    );
    assert!(
        stderr.contains(&format!("{} messages lost", d.lost)),
        "counts {} messages lost:\n{stderr}",
        d.lost
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn sorted(mut keys: Vec<Key>) -> Vec<Key> {
    keys.sort();
    keys
}

#[test]
fn the_library_skips_the_damaged_chunk_and_reports_it() {
    let d = damaged_log("damage-lib");
    let log = Log::open(&d.path).expect("open");
    let mut messages = log.messages();
    let keys: Vec<Key> = messages
        .by_ref()
        .map(|m| {
            let m = m.expect("no error item: the damaged chunk is skipped");
            (m.topic.to_string(), m.log_time)
        })
        .collect();
    assert_eq!(sorted(keys), sorted(d.readable.clone()));
    let skipped = messages.skipped();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(skipped[0].file, d.path);
    assert_eq!(skipped[0].offset(), Some(d.offset));
    assert_eq!(skipped[0].messages_lost, Some(d.lost as u64));
    assert_reports_skip(&skipped[0].to_string(), &d);

    // One topic: only its lost messages are counted.
    let mut images = log.messages_on(&["/image"]);
    let n = images.by_ref().count();
    assert_eq!(n, d.readable.iter().filter(|k| k.0 == "/image").count());
    assert_eq!(
        images.skipped()[0].messages_lost,
        Some(FRAMES - n as u64),
        "only /image messages are counted"
    );

    // verify() reads every chunk: the summary is not trusted.
    let verification = log.verify().expect("verify");
    assert_eq!(verification.damaged, skipped);
    assert_eq!(verification.messages, d.readable.len() as u64);
    let reader = BagReader::open(&d.path).expect("open");
    assert_eq!(reader.verify().expect("verify"), verification);

    // recover(): the same messages, and the loss in its report.
    let report = recover(&d.path, d.dir.join("recovered.mcap")).expect("recover");
    assert!(!report.is_complete());
    assert_eq!(report.skipped, skipped);
    assert_eq!(report.messages_recovered, d.readable.len() as u64);
    let _ = std::fs::remove_dir_all(&d.dir);
}

#[test]
fn bag_info_cat_and_recover_agree_on_a_damaged_chunk() {
    let d = damaged_log("damage-cli");
    let path = d.path.to_str().expect("utf-8");

    // info trusts the summary unless asked to verify, and says which it did.
    let out = common::run_rosync(&["bag", "info", path]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(stdout.contains("Verified:          no"), "{stdout}");
    let out = common::run_rosync(&["bag", "info", "--verify", path]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(3), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!(
            "Verified:          {} chunks OK, {} messages read; 1 damaged at byte {} ({} messages lost)",
            d.chunks - 1,
            d.readable.len(),
            d.offset,
            d.lost
        )),
        "{stdout}"
    );
    assert_reports_skip(&stderr, &d);

    // cat prints every readable message, warns naming the file, and exits 2.
    let out = common::run_rosync(&["bag", "cat", "--json", path]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let keys: Vec<Key> = text(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("JSON");
            (
                v["topic"].as_str().expect("topic").to_string(),
                v["log_time"].as_u64().expect("log_time"),
            )
        })
        .collect();
    assert_eq!(sorted(keys), sorted(d.readable.clone()));
    assert_reports_skip(&text(&out.stderr), &d);

    // recover saves the same messages, prints what it could not save, and exits 2.
    let fixed = d.dir.join("fixed.mcap");
    let out = common::run_rosync(&["bag", "recover", path, fixed.to_str().expect("utf-8")]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("could not save"), "{stderr}");
    assert_reports_skip(&stderr, &d);
    let fixed_log = Log::open(&fixed).expect("open");
    let keys: Vec<Key> = fixed_log
        .messages()
        .map(|m| {
            let m = m.expect("clean");
            (m.topic.to_string(), m.log_time)
        })
        .collect();
    assert_eq!(sorted(keys), sorted(d.readable.clone()));
    let out = common::run_rosync(&["bag", "info", "--verify", fixed.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let _ = std::fs::remove_dir_all(&d.dir);
}

#[test]
fn sync_simulate_uses_every_readable_message_and_reports_the_skip() {
    let d = damaged_log("damage-sync");
    let out = common::rosync()
        .args(["sync", "simulate", "--bag"])
        .arg(&d.path)
        .args(["--topic", "/image", "--topic", "/imu", "--policy", "exact"])
        .output()
        .expect("runs");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert_reports_skip(&stderr, &d);
    // ExactTime pairs each stamp present on both topics: one set per such frame.
    let stamps = |topic: &str, shift: u64| -> BTreeSet<u64> {
        d.readable
            .iter()
            .filter(|k| k.0 == topic)
            .map(|k| k.1 - shift)
            .collect()
    };
    let both = stamps("/image", 0)
        .intersection(&stamps("/imu", 1_000))
        .count();
    let sets = text(&out.stdout)
        .lines()
        .filter(|l| l.contains("/image"))
        .count();
    assert!(both < FRAMES as usize);
    assert_eq!(sets, both, "{}", text(&out.stdout));
    let _ = std::fs::remove_dir_all(&d.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn play_publishes_every_readable_message_and_reports_the_skip() {
    let d = damaged_log("damage-play");
    let ep = endpoint();
    let node = common::listening_node("damage_play", 71, &ep).await;
    let images = node
        .subscriber::<sensor_msgs::Image>("/image")
        .queue_size(10_000)
        .await
        .expect("subscriber");
    let imus = node
        .subscriber::<sensor_msgs::Imu>("/imu")
        .queue_size(10_000)
        .await
        .expect("subscriber");
    let mut cmd = common::rosync();
    cmd.arg("play")
        .arg(&d.path)
        .args(["--rate", "0", "--connect", &ep, "--domain", "71"])
        .args(["--wait-for-subscribers", "10"]);
    let player = tokio::task::spawn_blocking(move || cmd.output().expect("rosync runs"));
    let expect = |topic: &str| d.readable.iter().filter(|k| k.0 == topic).count();
    let mut got_images = Vec::new();
    for _ in 0..expect("/image") {
        let m = tokio::time::timeout(PATIENCE, images.recv())
            .await
            .expect("an image in time")
            .expect("open");
        got_images.push(m.header.stamp.as_nanos() as u64);
    }
    let mut got_imus = 0;
    for _ in 0..expect("/imu") {
        tokio::time::timeout(PATIENCE, imus.recv())
            .await
            .expect("an imu in time")
            .expect("open");
        got_imus += 1;
    }
    let out = player.await.expect("joins");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert_reports_skip(&stderr, &d);
    let readable_images: Vec<u64> = d
        .readable
        .iter()
        .filter(|k| k.0 == "/image")
        .map(|k| k.1)
        .collect();
    assert_eq!(got_images, readable_images);
    assert_eq!(got_imus, expect("/imu"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(images.try_recv().is_none(), "nothing more is played");
    let _ = std::fs::remove_dir_all(&d.dir);
}

/// `bytes` cut before its Data End record: no summary and no footer, so readers scan it.
fn without_summary(bytes: &[u8]) -> Vec<u8> {
    let mut at = 8;
    while at + 9 <= bytes.len() {
        let length = u64::from_le_bytes(bytes[at + 1..at + 9].try_into().expect("8 bytes"));
        if bytes[at] == 0x0F {
            return bytes[..at].to_vec();
        }
        at += 9 + length as usize;
    }
    panic!("no Data End record");
}

#[test]
fn play_names_a_chunk_skipped_in_a_log_without_summary_once() {
    let d = damaged_log("damage-play-scan");
    let scanned = d.dir.join("scanned.mcap");
    let bytes = std::fs::read(&d.path).expect("read");
    std::fs::write(&scanned, without_summary(&bytes)).expect("write");
    let out = common::rosync()
        .arg("play")
        .arg(&scanned)
        .args(["--rate", "0", "--listen", &endpoint(), "--domain", "72"])
        .output()
        .expect("rosync runs");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let last = stderr.lines().last().expect("a final line");
    let at = format!("at byte {}", d.offset);
    assert_eq!(last.matches(&at).count(), 1, "named once:\n{stderr}");
    assert!(
        last.contains(&format!("{} messages lost", d.lost)),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&d.dir);
}

#[test]
fn recover_rewrites_a_rosbag2_folder_with_its_metadata() {
    let d = damaged_log("damage-folder");
    let folder = d.dir.join("bag");
    std::fs::create_dir_all(&folder).expect("dir");
    std::fs::rename(&d.path, folder.join("bag_0.mcap")).expect("move");
    let intact = write_log(&folder.join("bag_1.mcap"));
    let out_dir = d.dir.join("recovered");
    let out = common::run_rosync(&[
        "bag",
        "recover",
        folder.to_str().expect("utf-8"),
        out_dir.to_str().expect("utf-8"),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("could not save"), "{stderr}");
    assert!(stderr.contains("bag_0.mcap"), "{stderr}");
    assert!(
        stderr.contains(&format!("at byte {}", d.offset)),
        "{stderr}"
    );

    // The recovered folder has a metadata.yaml that rosbags reads, with every saved message.
    let total = d.readable.len() + intact.len();
    let lines = common::bag_check(&["read-folder", out_dir.to_str().expect("utf-8")]);
    let summary = lines
        .iter()
        .find(|l| l["kind"] == "summary")
        .expect("summary line");
    assert_eq!(summary["message_count"], total as u64, "{summary}");
    assert_eq!(
        lines
            .iter()
            .filter(|l| l["reader"] == "rosbags-folder" && l.get("kind").is_none())
            .count(),
        total
    );
    let log = Log::open(&out_dir).expect("open");
    assert!(log.metadata().is_some());
    assert_eq!(log.message_count(), total as u64);

    // Recovering the clean folder (through its metadata.yaml) saves everything: status 0.
    let again = d.dir.join("again");
    let report = recover_folder(&out_dir, &again).expect("recover");
    assert!(report.is_complete(), "{report:?}");
    let out = common::run_rosync(&[
        "bag",
        "recover",
        out_dir.to_str().expect("utf-8"),
        d.dir.join("third").to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // A sqlite3 file among MCAP files is not rewritten, and the report says so.
    let mixed = d.dir.join("mixed");
    std::fs::create_dir_all(&mixed).expect("dir");
    write_log(&mixed.join("a.mcap"));
    std::fs::write(mixed.join("b.db3"), b"").expect("write");
    let report = recover_folder(&mixed, d.dir.join("mixed-out")).expect("recover");
    assert!(!report.is_complete());
    assert_eq!(report.unreadable.len(), 1, "{report:?}");
    assert!(report.unreadable[0].to_string().contains("b.db3"));
    let _ = std::fs::remove_dir_all(&d.dir);
}

/// Messages Python `mcap` reads from `path` (through its summary), as keys.
fn python_mcap_keys(path: &Path) -> Vec<Key> {
    let script = r#"
import sys, json
from mcap.reader import make_reader
with open(sys.argv[1], "rb") as f:
    for schema, channel, message in make_reader(f).iter_messages():
        print(json.dumps([channel.topic, message.log_time]))
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect()
}

#[test]
fn a_chunk_whose_header_only_is_damaged_is_read_fully_as_python_mcap_reads_it() {
    let dir = scratch("damage-header");
    let original = dir.join("original.mcap");
    let written = write_log(&original);
    let bytes = std::fs::read(&original).expect("read");
    let layout = chunks(&bytes);
    let offset = layout[2].0 as usize;
    // Chunk record: opcode, length (8), start (8), end (8), uncompressed size (8), CRC (4),
    // compression (4 + 4 for "zstd"), compressed size (8), records.
    for (name, at) in [
        ("uncompressed-size", offset + 9 + 16 + 2),
        ("start-time", offset + 9 + 2),
    ] {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x5A;
        let path = dir.join(format!("{name}.mcap"));
        std::fs::write(&path, &damaged).expect("write");
        let python = python_mcap_keys(&path);
        assert_eq!(
            sorted(python.clone()),
            sorted(written.clone()),
            "{name}: Python reads all"
        );
        let log = Log::open(&path).expect("open");
        let mut messages = log.messages();
        let keys: Vec<Key> = messages
            .by_ref()
            .map(|m| {
                let m = m.expect("readable");
                (m.topic.to_string(), m.log_time)
            })
            .collect();
        assert_eq!(
            sorted(keys),
            sorted(python),
            "{name}: rosync reads what Python reads"
        );
        assert!(
            messages.skipped().is_empty(),
            "{name}: {:?}",
            messages.skipped()
        );
    }
    // Damaged compression name and compressed size (which Python cannot read past): the
    // records are found where an intact header puts them, and pass the chunk's CRC.
    for (name, at) in [
        ("compression-length", offset + 9 + 28),
        ("compression-name", offset + 9 + 33),
        ("compressed-size", offset + 9 + 39),
    ] {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x5A;
        let path = dir.join(format!("{name}.mcap"));
        std::fs::write(&path, &damaged).expect("write");
        let log = Log::open(&path).expect("open");
        let verification = log.verify().expect("verify");
        assert!(verification.damaged.is_empty(), "{name}: {verification}");
        assert_eq!(verification.messages, written.len() as u64, "{name}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `rosync args`, failing the test if it has not finished within `PATIENCE`.
fn run_with_deadline(args: &[&std::ffi::OsStr]) -> Output {
    let mut child = common::rosync()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rosync starts");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > PATIENCE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("rosync {args:?} still runs after {PATIENCE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

#[test]
fn fifos_and_folders_where_a_file_is_expected_are_refused_at_once() {
    let dir = scratch("damage-fifo");
    let fifo = dir.join("log.mcap");
    let db3 = dir.join("log.db3");
    for path in [&fifo, &db3] {
        let status = Command::new("mkfifo").arg(path).status().expect("mkfifo");
        assert!(status.success());
    }
    for path in [&fifo, &db3] {
        for command in [
            vec!["bag", "info"],
            vec!["bag", "cat"],
            vec!["bag", "recover"],
            vec!["play"],
        ] {
            let mut args: Vec<&std::ffi::OsStr> = command.iter().map(|a| a.as_ref()).collect();
            args.push(path.as_os_str());
            let out_path = dir.join("out.mcap");
            if command == ["bag", "recover"] {
                args.push(out_path.as_os_str());
            }
            let out = run_with_deadline(&args);
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{command:?}: {stderr}");
            assert!(
                stderr.contains("not a regular file but a FIFO"),
                "{command:?}: {stderr}"
            );
            assert!(stderr.contains(&path.display().to_string()), "{stderr}");
        }
    }
    let err = Log::open(&fifo).expect_err("a FIFO");
    assert!(matches!(err, BagError::NotAFile { .. }), "{err}");
    let err = BagReader::open(&fifo).expect_err("a FIFO");
    assert!(matches!(err, BagError::NotAFile { .. }), "{err}");
    // A folder named like a file inside a bag folder.
    let folder = dir.join("bag");
    std::fs::create_dir_all(folder.join("inner.mcap")).expect("dir");
    let err = Log::open(&folder).expect_err("a folder where a file is expected");
    assert!(
        err.to_string().contains("not a regular file but a folder"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_17_byte_file_claiming_a_huge_header_is_an_error_not_a_panic() {
    let dir = scratch("damage-huge");
    for len in [
        u64::MAX,
        u64::MAX - 8,
        u64::MAX - 16,
        i64::MAX as u64,
        1 << 63,
        100,
    ] {
        let mut bytes = b"\x89MCAP0\r\n\x01".to_vec();
        bytes.extend_from_slice(&len.to_le_bytes());
        assert_eq!(bytes.len(), 17);
        let path = dir.join("huge.mcap");
        std::fs::write(&path, &bytes).expect("write");
        let err = Log::open(&path).expect_err("no header");
        assert!(err.to_string().contains("huge.mcap"), "{err}");
        let out = common::run_rosync(&["bag", "info", path.to_str().expect("utf-8")]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{len}: {stderr}");
        assert!(!stderr.contains("panicked"), "{len}: {stderr}");
        assert!(!stderr.contains("capacity overflow"), "{len}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A small finished log with several chunks (lz4 or zstd), and where its length and offset
/// fields are: every record's length, the chunk sizes, the chunk index offsets and lengths,
/// the summary offsets, the footer.
fn limit_sample(zstd: bool) -> (Vec<u8>, Vec<usize>) {
    static SAMPLES: std::sync::OnceLock<Vec<(Vec<u8>, Vec<usize>)>> = std::sync::OnceLock::new();
    let samples = SAMPLES.get_or_init(|| {
        let dir = scratch("damage-limits-sample");
        [Compression::Lz4, Compression::Zstd]
            .into_iter()
            .map(|compression| {
                let path = dir.join("sample.mcap");
                let mut bag = BagWriter::create(
                    &path,
                    WriterOptions {
                        chunk_size: 400,
                        compression,
                        ..Default::default()
                    },
                )
                .expect("create");
                for i in 0..20u64 {
                    bag.write_message("/imu", T0 + i, &imu(T0 + i))
                        .expect("write");
                }
                bag.finish().expect("finish");
                let bytes = std::fs::read(&path).expect("read");
                let fields = length_fields(&bytes);
                (bytes, fields)
            })
            .collect()
    });
    samples[usize::from(zstd)].clone()
}

/// Positions of the 8-byte length and offset fields of a file's top-level records.
fn length_fields(bytes: &[u8]) -> Vec<usize> {
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8"));
    let mut fields = Vec::new();
    let mut pos = 8;
    while pos + 9 <= bytes.len() - 8 {
        let opcode = bytes[pos];
        let len = u64_at(pos + 1) as usize;
        let body = pos + 9;
        fields.push(pos + 1);
        match opcode {
            // Chunk: uncompressed size, compressed size.
            0x06 => {
                let name = u32::from_le_bytes(bytes[body + 28..body + 32].try_into().expect("4"));
                fields.extend([body + 16, body + 32 + name as usize]);
            }
            // Chunk index: chunk offset and length, then (after the offsets map) the message
            // index length, compressed and uncompressed sizes.
            0x08 => {
                fields.extend([body + 16, body + 24]);
                let map = u32::from_le_bytes(bytes[body + 32..body + 36].try_into().expect("4"));
                let after = body + 36 + map as usize;
                fields.push(after);
                if map >= 10 {
                    fields.push(body + 36 + 2);
                }
            }
            // Message index: the offset of its first entry.
            0x07 => fields.push(body + 2 + 4 + 8),
            // Footer: summary start, summary offset start.
            0x02 => fields.extend([body, body + 8]),
            // Summary offset: group start and length.
            0x0E => fields.extend([body + 1, body + 9]),
            _ => {}
        }
        pos = body + len;
    }
    fields.retain(|&f| f + 8 <= bytes.len());
    fields
}

/// Values near the integer limits, and lengths just past the file's end.
fn limit_values(file_len: u64) -> Vec<u64> {
    vec![
        u64::MAX,
        u64::MAX - 1,
        u64::MAX - 8,
        u64::MAX - 16,
        usize::MAX as u64,
        i64::MAX as u64,
        i64::MAX as u64 + 1,
        i64::MIN as u64 - 1,
        u32::MAX as u64,
        u32::MAX as u64 + 1,
        file_len,
        file_len + 1,
        file_len * 2,
        1 << 40,
    ]
}

/// Opens, iterates, verifies, summarizes (and with `recovery`, recovers) `bytes` as a file:
/// none may panic.
fn read_every_way(bytes: &[u8], dir: &Path, recovery: bool) {
    let path = dir.join("case.mcap");
    std::fs::write(&path, bytes).expect("write");
    if let Ok(bag) = BagReader::open(&path) {
        for m in bag.messages().take(10_000).flatten() {
            let _ = m.decode_json();
        }
        let _ = bag.verify();
        let _ = BagInfo::from_reader(&bag).to_string();
        if recovery {
            let _ = recover(&path, dir.join("recovered.mcap"));
        }
    }
    if let Ok(log) = Log::open(&path) {
        let _ = log.verify();
        let _ = BagInfo::from_log(&log).to_string();
    }
}

#[test]
fn every_length_and_offset_field_at_every_limit_never_panics() {
    let dir = scratch("damage-limits-all");
    for zstd in [false, true] {
        let (original, fields) = limit_sample(zstd);
        assert!(fields.contains(&9), "the header's length is a field");
        for &at in &fields {
            for value in limit_values(original.len() as u64) {
                let mut bytes = original.clone();
                bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
                read_every_way(&bytes, &dir, false);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Two length or offset fields (or any 8 bytes) set near the integer limits (or past the
    /// file's end) never panic: opening, iterating, verifying, summarizing and recovering.
    #[test]
    fn lengths_and_offsets_near_the_limits_never_panic(
        zstd in any::<bool>(),
        edits in proptest::collection::vec(
            (any::<prop::sample::Index>(), any::<prop::sample::Index>(), any::<bool>()),
            1..3,
        ),
    ) {
        let (mut bytes, fields) = limit_sample(zstd);
        let values = limit_values(bytes.len() as u64);
        for (field, value, anywhere) in &edits {
            let at = if *anywhere {
                field.index(bytes.len() - 8)
            } else {
                fields[field.index(fields.len())]
            };
            bytes[at..at + 8].copy_from_slice(&values[value.index(values.len())].to_le_bytes());
        }
        let dir = std::env::temp_dir().join(format!("rosync-damage-{}-limits", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        read_every_way(&bytes, &dir, true);
    }
}
