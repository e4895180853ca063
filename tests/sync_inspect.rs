//! `rosync sync inspect`: the diagnosis names each injected fault of a deterministic
//! generator, the advice reaches 95% of the sets of the best setting a full sweep finds, and
//! the command and its HTML report work on a real log in headless Chromium.

mod common;

use common::faulty_log::{self, Fault, FAULTS};
use rosync::sync::inspect::{inspect, replay, FindingKind};
use rosync::sync::PolicyConfig;

/// The finding each fault must be diagnosed as, first.
fn expected(fault: Fault) -> Option<FindingKind> {
    match fault {
        Fault::None => None,
        Fault::ClockOffset => Some(FindingKind::ClockOffset),
        Fault::RateMismatch => Some(FindingKind::QueueTooShort),
        Fault::DroppedFrames => Some(FindingKind::DroppedFrames),
        Fault::LateStart => Some(FindingKind::LateStart),
        Fault::FutureStamps => Some(FindingKind::FutureStamps),
    }
}

/// Every ApproximateTime and ExactTime setting on a grid.
fn sweep() -> Vec<PolicyConfig> {
    let queues = [
        1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30, 40, 50, 60, 70, 80, 90, 100, 120, 150, 200, 300,
    ];
    let intervals = [
        None,
        Some(2_000_000),
        Some(5_000_000),
        Some(10_000_000),
        Some(50_000_000),
        Some(1_000_000_000),
        Some(5_000_000_000),
    ];
    let mut configs = Vec::new();
    for q in queues {
        configs.push(PolicyConfig::ExactTime { queue_size: q });
        for mi in intervals {
            for age in [0.0, 0.1, 1.0] {
                configs.push(PolicyConfig::ApproximateTime {
                    queue_size: q,
                    max_interval_ns: mi,
                    age_penalty: age,
                    inter_message_lower_bound_ns: None,
                });
            }
        }
    }
    configs
}

#[test]
fn diagnosis_names_each_injected_fault_and_advice_reaches_the_sweeps_best() {
    let configs = sweep();
    let mut failures = Vec::new();
    for fault in FAULTS {
        let recording = faulty_log::recording(fault, 8.0);
        let inspection =
            inspect(recording.clone(), &PolicyConfig::approximate_time(10)).expect("inspects");
        println!("=== {fault:?}\n{inspection}");
        let main = inspection
            .main_finding()
            .filter(|f| f.kind.is_problem())
            .map(|f| f.kind);
        if main != expected(fault) {
            failures.push(format!("{fault:?}: main finding {main:?}"));
        }
        let (best, best_config) = configs
            .iter()
            .map(|c| (replay(&recording, c).expect("replays").sets.len(), *c))
            .max_by_key(|(sets, _)| *sets)
            .expect("a setting");
        let advised = inspection.advice.recommended.sets;
        println!("sweep best {best} sets with {best_config:?}; advised {advised}");
        if (advised as f64) < best as f64 * 0.95 {
            failures.push(format!(
                "{fault:?}: advice gives {advised} sets, the sweep's best {best} ({best_config:?})"
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn a_max_interval_tighter_than_the_jitter_is_diagnosed() {
    let recording = faulty_log::recording(Fault::None, 4.0);
    let tight = PolicyConfig::ApproximateTime {
        queue_size: 10,
        max_interval_ns: Some(200_000),
        age_penalty: 0.1,
        inter_message_lower_bound_ns: None,
    };
    let inspection = inspect(recording, &tight).expect("inspects");
    let main = inspection.main_finding().expect("a finding");
    assert_eq!(main.kind, FindingKind::MaxIntervalTooTight, "{inspection}");
    assert!(
        main.text.starts_with("max interval 200 µs is tighter"),
        "{}",
        main.text
    );
    assert!(
        inspection.advice.recommended.sets as f64 >= inspection.advice.current.sets as f64 * 1.5,
        "{inspection}"
    );
}

/// Headless Chromium (Debian's `chromium`, installed by `.ci/run`).
fn chromium() -> std::process::Command {
    let mut cmd = std::process::Command::new("chromium");
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1280,1500",
    ]);
    cmd
}

/// Loads `page` in headless Chromium: the DOM after its scripts ran, and the console lines.
fn load(page: &std::path::Path) -> (String, Vec<String>) {
    let url = format!("file://{}", page.display());
    let out = chromium()
        .args(["--dump-dom", &url])
        .output()
        .expect("chromium runs (apt-get install chromium; .ci/run installs it)");
    assert!(out.status.success(), "chromium: {out:?}");
    let console = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    (String::from_utf8_lossy(&out.stdout).into_owned(), console)
}

/// The timeline's SVG element in a DOM dump, and its marks and set lines.
fn timeline(dom: &str) -> (String, usize, usize) {
    let start = dom.find("<svg id=\"timeline-svg\"").expect("timeline svg");
    let end = start + dom[start..].find("</svg>").expect("svg end");
    let svg = dom[start..end].to_string();
    let marks = svg.matches("<rect class=\"msg\"").count();
    let sets = svg.matches("<polyline class=\"set\"").count();
    (svg, marks, sets)
}

fn attribute(element: &str, name: &str) -> Option<usize> {
    let at = element.find(&format!("{name}=\""))? + name.len() + 2;
    element[at..].split('"').next()?.parse().ok()
}

#[test]
fn the_command_prints_the_diagnosis_and_its_report_renders_in_chromium() {
    let dir = common::scratch("sync-inspect-report");
    // The harness sees a page's script errors.
    let bad = dir.join("bad.html");
    std::fs::write(
        &bad,
        "<html><body><script>noSuchFunction();</script></body></html>",
    )
    .expect("writes");
    let (_, console) = load(&bad);
    assert!(
        console.iter().any(|l| l.contains("noSuchFunction")),
        "{console:?}"
    );

    let log = dir.join("clock_offset.mcap");
    faulty_log::write_log(&log, Fault::ClockOffset, 4.0).expect("writes the log");
    let report = dir.join("report.html");
    let out = common::run_rosync(&[
        "sync",
        "inspect",
        "--bag",
        log.to_str().expect("utf-8"),
        "--topic",
        faulty_log::IMAGE,
        "--topic",
        faulty_log::INFO,
        "--max-interval",
        "0.02",
        "-o",
        report.to_str().expect("utf-8"),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(
            "main problem: `/camera/camera_info` stamps are 2.31 s behind `/camera/image_raw`: different clocks?"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("recommended: --policy approx --queue"),
        "{stdout}"
    );

    let messages = faulty_log::messages(Fault::ClockOffset, 4.0).len();
    let expected_sets = {
        let config = PolicyConfig::ApproximateTime {
            queue_size: 10,
            max_interval_ns: Some(20_000_000),
            age_penalty: 0.1,
            inter_message_lower_bound_ns: None,
        };
        replay(&faulty_log::recording(Fault::ClockOffset, 4.0), &config)
            .expect("replays")
            .sets
            .len()
    };
    let (dom, console) = load(&report);
    assert!(console.is_empty(), "console: {console:?}");
    assert!(dom.contains("data-render-ms="), "the script ran to its end");
    let (svg, marks, sets) = timeline(&dom);
    assert!(svg.contains("data-mode=\"detail\""), "{}", &svg[..200]);
    assert_eq!(marks, messages, "one mark per message");
    assert_eq!(attribute(&svg, "data-messages-shown"), Some(messages));
    assert_eq!(sets, expected_sets, "one line per set");
    assert_eq!(attribute(&svg, "data-sets-shown"), Some(expected_sets));
    assert!(dom.contains("data-kind=\"clock_offset\""));

    // A window of a log too large to show whole: the overview first, each message when zoomed.
    let big = dir.join("rate_mismatch.mcap");
    faulty_log::write_log(&big, Fault::RateMismatch, 20.0).expect("writes the log");
    let big_report = dir.join("big.html");
    let out = common::run_rosync(&[
        "sync",
        "inspect",
        "--bag",
        big.to_str().expect("utf-8"),
        "--topic",
        faulty_log::IMAGE,
        "--topic",
        faulty_log::IMU,
        "--queue",
        "100",
        "-o",
        big_report.to_str().expect("utf-8"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (dom, console) = load(&big_report);
    assert!(console.is_empty(), "console: {console:?}");
    let (svg, marks, _) = timeline(&dom);
    assert!(svg.contains("data-mode=\"overview\""));
    assert_eq!(marks, 0);
    let (from, to) = (5.0, 5.5);
    let first = first_stamp(Fault::RateMismatch, 20.0);
    let seconds = |stamp: i64| ((stamp - first) / 1000) as f64 / 1e6;
    let in_window = faulty_log::messages(Fault::RateMismatch, 20.0)
        .iter()
        .filter(|m| (from..=to).contains(&seconds(m.stamp)))
        .count();
    assert!(in_window > 400, "{in_window}");
    let recording = faulty_log::recording(Fault::RateMismatch, 20.0);
    let outcome = replay(&recording, &PolicyConfig::approximate_time(100)).expect("replays");
    let sets_in_window = outcome
        .sets
        .iter()
        .filter(|set| {
            let stamps = set.iter().map(|&i| seconds(recording.messages()[i].stamp));
            let (lo, hi) = stamps.fold((f64::MAX, f64::MIN), |(lo, hi), s| (lo.min(s), hi.max(s)));
            hi >= from && lo <= to
        })
        .count();
    let zoomed = dir.join("zoomed.html");
    std::fs::copy(&big_report, &zoomed).expect("copies");
    let url = format!("{}#view={from},{to}", zoomed.display());
    let (dom, console) = load(std::path::Path::new(&url));
    assert!(console.is_empty(), "console: {console:?}");
    let (svg, marks, sets) = timeline(&dom);
    assert!(svg.contains("data-mode=\"detail\""));
    assert_eq!(marks, in_window, "one mark per message in the window");
    assert_eq!(attribute(&svg, "data-messages-shown"), Some(in_window));
    assert_eq!(sets, sets_in_window, "one line per set in the window");
    assert!(sets > 10 && attribute(&svg, "data-sets-shown") == Some(sets));

    // A screenshot of the report.
    let png = dir.join("report.png");
    let out = chromium()
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", report.display()))
        .output()
        .expect("chromium runs");
    assert!(out.status.success(), "{out:?}");
    let bytes = std::fs::read(&png).expect("screenshot written");
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
        "{}",
        bytes.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The first stamp of a generated log (the timeline's zero).
fn first_stamp(fault: Fault, seconds: f64) -> i64 {
    faulty_log::messages(fault, seconds)
        .iter()
        .map(|m| m.stamp)
        .min()
        .expect("messages")
}

/// Publishes an Image and a CameraInfo with the same stamps at 50 Hz until aborted.
async fn publish_pairs(node: rosync::node::Node) {
    use rosync::msg::sensor_msgs::{CameraInfo, Image};
    let images = node.publisher::<Image>("/insp/image").await.expect("pub");
    let infos = node
        .publisher::<CameraInfo>("/insp/info")
        .await
        .expect("pub");
    for i in 0i64.. {
        let header = common::header(faulty_log::START + i * 20_000_000, "camera");
        let image = Image {
            header: header.clone(),
            width: 4,
            height: 2,
            ..Default::default()
        };
        let info = CameraInfo {
            header,
            ..Default::default()
        };
        if images.publish(&image).await.is_err() || infos.publish(&info).await.is_err() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_topics_with_identical_stamps_are_advised_exact_time() {
    let ep = common::endpoint();
    let node = common::listening_node("inspected_camera", 91, &ep).await;
    let publishing = tokio::spawn(publish_pairs(node));
    let mut cmd = common::rosync();
    cmd.args([
        "sync",
        "inspect",
        "--topic",
        "/insp/image",
        "--topic",
        "/insp/info",
        "--seconds",
        "2",
        "--connect",
        &ep,
        "--domain",
        "91",
    ]);
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("joins")
        .expect("runs");
    publishing.abort();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let count: usize = stdout
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("message count first");
    assert!(count >= 40, "{stdout}");
    assert!(
        stdout.contains("of stamps are identical on every topic: ExactTime fits"),
        "{stdout}"
    );
    assert!(stdout.contains("recommended: --policy exact"), "{stdout}");
    // Arrival times are known live: latencies are measured.
    assert!(stdout.contains("latency median"), "{stdout}");
}

#[test]
fn bad_input_is_refused_naming_it() {
    let dir = common::scratch("sync-inspect-bad");
    let log = dir.join("healthy.mcap");
    faulty_log::write_log(&log, Fault::None, 1.0).expect("writes");
    let log = log.to_str().expect("utf-8");
    for (args, expected) in [
        (
            vec!["--bag", log, "--topic", faulty_log::IMAGE],
            "give 2 to 9 --topic options",
        ),
        (
            vec![
                "--bag",
                log,
                "--topic",
                faulty_log::IMAGE,
                "--topic",
                "/nope",
            ],
            "no topic /nope",
        ),
        (
            vec!["--bag", "/no/such.mcap", "--topic", "/a", "--topic", "/b"],
            "/no/such.mcap",
        ),
        (
            vec![
                "--bag", log, "--topic", "/a", "--topic", "/b", "--queue", "0",
            ],
            "--queue",
        ),
        (
            vec![
                "--bag",
                log,
                "--topic",
                faulty_log::IMAGE,
                "--topic",
                faulty_log::INFO,
                "-o",
                "/no/such/dir/r.html",
            ],
            "cannot write /no/such/dir/r.html",
        ),
    ] {
        let out = common::rosync()
            .args(["sync", "inspect"])
            .args(&args)
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn exact_time_on_stamps_that_differ_is_diagnosed() {
    let recording = faulty_log::recording(Fault::RateMismatch, 2.0);
    let inspection =
        inspect(recording, &PolicyConfig::ExactTime { queue_size: 10 }).expect("inspects");
    let main = inspection.main_finding().expect("a finding");
    assert_eq!(main.kind, FindingKind::StampsNotIdentical, "{inspection}");
    assert!(matches!(
        inspection.advice.recommended.config,
        PolicyConfig::ApproximateTime { .. }
    ));
}
