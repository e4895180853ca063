//! `rosync sync simulate` against ROS 1 message_filters: every golden timeline in
//! `tests/sync_golden/cases` (made by the C++ oracle) must give exactly the oracle's sets.

mod common;

use std::path::PathBuf;

use common::{rosync, run_rosync_with_input};

fn cases() -> Vec<PathBuf> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/sync_golden/cases"
    ));
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("golden cases")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    paths.sort();
    paths
}

#[test]
fn every_golden_timeline_gives_the_oracles_sets() {
    let paths = cases();
    assert!(paths.len() >= 300, "only {} cases", paths.len());
    let directed = paths
        .iter()
        .filter(|p| p.to_string_lossy().contains("directed_"))
        .count();
    assert!(directed >= 10, "directed ROS 2 cases missing");
    let mut failed = Vec::new();
    for path in &paths {
        let out = rosync()
            .args(["sync", "simulate"])
            .arg(path)
            .output()
            .expect("runs");
        let expected = std::fs::read_to_string(path.with_extension("expected")).expect("expected");
        if !out.status.success() || String::from_utf8_lossy(&out.stdout) != expected {
            failed.push(path.file_name().map(|n| n.to_string_lossy().into_owned()));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} differ: {failed:?}",
        failed.len(),
        paths.len()
    );
}

#[test]
fn reads_standard_input_and_benchmarks() {
    let path = cases()
        .into_iter()
        .find(|p| p.to_string_lossy().contains("directed_"))
        .expect("a case");
    let text = std::fs::read_to_string(&path).expect("case");
    let expected = std::fs::read_to_string(path.with_extension("expected")).expect("expected");
    for args in [
        vec!["sync", "simulate"],
        vec!["sync", "simulate", "-"],
        vec!["sync", "simulate", "--bench"],
    ] {
        let out = run_rosync_with_input(&args, &text);
        assert!(out.status.success());
        let stdout = String::from_utf8_lossy(&out.stdout);
        if args.contains(&"--bench") {
            let fields: Vec<&str> = stdout.split_whitespace().collect();
            assert_eq!(fields.len(), 6, "{stdout}");
            assert_eq!(
                (fields[0], fields[2], fields[4]),
                ("sets", "messages", "elapsed_ns")
            );
            assert_eq!(
                fields[1].parse::<usize>().ok(),
                Some(expected.lines().count())
            );
            let messages = text
                .lines()
                .skip(1)
                .filter(|l| !l.trim().is_empty())
                .count();
            assert_eq!(fields[3].parse::<usize>().ok(), Some(messages));
        } else {
            assert_eq!(stdout, expected);
        }
    }
}

#[test]
fn bad_scripts_name_the_line() {
    let cases: [(&str, &str); 4] = [
        ("approx 2 10 0 0.1 0\n0 100\n0 abc\n", "line 3"),
        ("approx 12 10 0 0.1 0\n", "line 1"),
        ("exact 2 10\n5 100\n", "line 2"),
        ("", "line 1"),
    ];
    for (script, expected) in cases {
        let out = run_rosync_with_input(&["sync", "simulate"], script);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{script:?}: {stderr}");
        assert!(stderr.contains(expected), "{script:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    let out = rosync()
        .args(["sync", "simulate", "/no/such/file"])
        .output()
        .expect("runs");
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/file"));
}
