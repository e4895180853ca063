//! `rosync bag info | cat | recover` on real MCAP files written by rosync's BagWriter.

mod common;

use std::path::Path;

use common::{header, run_rosync, scratch};
use rosync::bag::{BagWriter, WriterOptions};
use rosync::msg::std_msgs;

/// 40 String and 40 Header messages, in chunks of about 1 KiB.
fn write_log(path: &Path) {
    let options = WriterOptions {
        chunk_size: 1024,
        ..WriterOptions::default()
    };
    let mut writer = BagWriter::create(path, options).expect("creates");
    for i in 0..40u64 {
        let t = 1_700_000_000_000_000_000 + i * 10_000_000;
        let text = std_msgs::String {
            data: format!("message {i} ü"),
        };
        writer.write_message("/chatter", t, &text).expect("writes");
        writer
            .write_message("/header", t + 1, &header(t as i64, "map"))
            .expect("writes");
    }
    writer.finish().expect("finishes");
}

#[test]
fn info_cat_and_recover() {
    let dir = scratch("bag-cli");
    let log = dir.join("log.mcap");
    write_log(&log);
    let path = log.to_str().expect("utf-8 path");

    let out = run_rosync(&["bag", "info", path]);
    assert!(out.status.success());
    let info = String::from_utf8_lossy(&out.stdout);
    assert!(info.contains("Messages:          80"), "{info}");
    assert!(
        info.contains("Topic: /chatter | Type: std_msgs/msg/String | Count: 40"),
        "{info}"
    );

    let out = run_rosync(&["bag", "cat", path, "--json", "--topics", "/chatter"]);
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(lines.len(), 40);
    assert_eq!(lines[3]["value"]["data"], "message 3 ü");
    let out = run_rosync(&["bag", "cat", path]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches("---\n").count(), 80);
    assert!(text.contains("topic: /header\n"), "{text}");

    let out = run_rosync(&["bag", "cat", path, "--topics", "/nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no topic /nope"));

    // A recorder killed mid-file: cut the log, then repair it.
    let bytes = std::fs::read(&log).expect("reads");
    let cut = dir.join("cut.mcap");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).expect("writes");
    let cut_path = cut.to_str().expect("utf-8");
    let out = run_rosync(&["bag", "cat", cut_path, "--json"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "damage is exit status 3 after printing what is readable"
    );
    let readable = String::from_utf8_lossy(&out.stdout).lines().count();
    assert!(readable > 5 && readable < 80, "{readable}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("truncated"));
    let fixed = dir.join("fixed.mcap");
    let fixed_path = fixed.to_str().expect("utf-8");
    let out = run_rosync(&["bag", "recover", cut_path, fixed_path]);
    // Saved with losses (the cut end): status 3, naming what could not be saved.
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("could not save"));
    let out = run_rosync(&["bag", "cat", fixed_path, "--json"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        readable
    );

    for bad in [
        vec!["bag", "info", "/no/such.mcap"],
        vec!["bag", "cat", "/no/such.mcap"],
    ] {
        let out = run_rosync(&bad);
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such.mcap"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
