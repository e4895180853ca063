//! The tf buffer against tf2 itself (`tf2::BufferCore`, Debian `libtf2-dev`):
//! - every committed timeline in `tests/tf_golden/cases` must give the oracle's outcomes;
//! - the oracle is built from Debian packages and compared on freshly generated timelines
//!   (skipped with a note when it cannot be built, unless `ROSYNC_REQUIRE_TF_ORACLE=1`, which
//!   `.ci/run` sets).

use std::path::{Path, PathBuf};
use std::process::Command;

use rosync::tf::timeline::{Outcome, Timeline};

/// Translations and quaternions must agree this closely (quaternions up to sign).
const TOLERANCE: f64 = 1e-9;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tf_golden")
}

fn timelines(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("timeline folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "timeline"))
        .collect();
    paths.sort();
    paths
}

/// Compares rosync's outcomes with `expected` line by line; returns the disagreements and
/// counts outcome kinds into `seen`.
fn compare(
    path: &Path,
    expected: &str,
    seen: &mut std::collections::BTreeMap<String, usize>,
) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("timeline");
    let timeline = Timeline::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let ours = timeline.run();
    let theirs: Vec<&str> = expected.lines().collect();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if ours.len() != theirs.len() {
        return vec![format!(
            "{name}: {} outcomes, tf2 gave {}",
            ours.len(),
            theirs.len()
        )];
    }
    let mut problems = Vec::new();
    for (i, (mine, line)) in ours.iter().zip(&theirs).enumerate() {
        let kind = match mine {
            Outcome::Transform { .. } => "ok".to_owned(),
            other => other.to_string(),
        };
        *seen.entry(kind).or_default() += 1;
        let expected = match Outcome::parse(line) {
            Ok(o) => o,
            Err(e) => {
                problems.push(format!("{name}: command {}: {e}", i + 1));
                continue;
            }
        };
        if let Err(e) = mine.agrees_with(&expected, TOLERANCE) {
            problems.push(format!("{name}: command {}: {e}", i + 1));
        }
    }
    problems
}

fn check_all(paths: &[PathBuf], expected: impl Fn(&Path) -> String) -> usize {
    let mut seen = std::collections::BTreeMap::new();
    let mut problems = Vec::new();
    for path in paths {
        problems.extend(compare(path, &expected(path), &mut seen));
    }
    let total: usize = seen.values().sum();
    eprintln!("{} timelines, {total} outcomes: {seen:?}", paths.len());
    assert!(
        problems.is_empty(),
        "{} disagreements with tf2, first ones:\n{}",
        problems.len(),
        problems[..problems.len().min(200)].join("\n")
    );
    // Every class of outcome must be exercised, or the comparison proves little.
    for kind in [
        "ok",
        "stored",
        "rejected",
        "cleared",
        "can yes",
        "can no",
        "error lookup",
        "error connectivity",
        "error extrapolation past",
        "error extrapolation future",
        "error extrapolation nodata",
        "error invalid_argument",
    ] {
        assert!(
            seen.get(kind).is_some_and(|&n| n > 0),
            "no `{kind}` outcome in the timelines"
        );
    }
    total
}

#[test]
fn every_golden_timeline_gives_tf2s_outcomes() {
    let paths = timelines(&golden_dir().join("cases"));
    assert!(paths.len() >= 100, "only {} golden timelines", paths.len());
    let total = check_all(&paths, |p| {
        std::fs::read_to_string(p.with_extension("expected")).expect("expected outcomes")
    });
    assert!(total > 20_000, "only {total} outcomes");
}

/// Builds the oracle into `dir`, or says why it could not.
fn build_oracle(dir: &Path) -> Result<PathBuf, String> {
    let binary = dir.join("tf_oracle");
    let out = Command::new("bash")
        .arg(golden_dir().join("oracle/build.sh"))
        .arg(&binary)
        .output()
        .map_err(|e| format!("cannot run build.sh: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "build.sh failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(binary)
}

#[test]
fn fresh_timelines_agree_with_tf2_built_from_debian_packages() {
    let required = std::env::var("ROSYNC_REQUIRE_TF_ORACLE").is_ok_and(|v| v == "1");
    let dir = std::env::temp_dir().join(format!("rosync_tf_oracle_{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let oracle = match build_oracle(&dir) {
        Ok(b) => b,
        Err(why) if !required => {
            eprintln!("SKIPPED: the tf2 oracle could not be built ({why}); set ROSYNC_REQUIRE_TF_ORACLE=1 to fail instead");
            return;
        }
        Err(why) => panic!("the tf2 oracle could not be built: {why}"),
    };
    // A new seed each run (printed, to reproduce a failure with the generator).
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    eprintln!("generator seed {seed}");
    let cases = dir.join("cases");
    let status = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/gen_tf_timelines.py"))
        .args(["--out".as_ref(), cases.as_os_str()])
        .args(["--seed", &seed.to_string(), "--count", "0.5"])
        .arg("--oracle")
        .arg(&oracle)
        .status()
        .expect("runs the generator");
    assert!(status.success(), "generator failed (seed {seed})");
    let paths = timelines(&cases);
    assert!(
        paths.len() >= 50,
        "only {} timelines generated",
        paths.len()
    );
    check_all(&paths, |p| {
        std::fs::read_to_string(p.with_extension("expected")).expect("expected outcomes")
    });
    let _ = std::fs::remove_dir_all(&dir);
}
