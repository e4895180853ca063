//! Simulated time end to end: a node with `use_sim_time` follows `/clock` from a publisher
//! (pause, jump back, wall timers unaffected, `use_sim_time` switched at run time both ways),
//! and from the real `rosync play --rate R --clock` at rates 0.2, 1 and 5: its 10 Hz timer
//! ticks 10 times per simulated second and its synchronizers (ApproximateTime and LatestTime
//! on the node clock), fed by subscriber filters, emit the same sets as `rosync sync simulate
//! --bag` on the same log.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{camera_info, endpoint, header, rgb8, scratch, PATIENCE};
use rosync::bag::{BagWriter, WriterOptions};
use rosync::filters::SubscriberFilter;
use rosync::msg::Stamped;
use rosync::msg::{rosgraph_msgs, sensor_msgs};
use rosync::node::{EntityKind, Node, Parameter, Publisher};
use rosync::sync::{ApproximateTime, LatestTime, Synchronizer};
use rosync::Time;

const MS: i64 = 1_000_000;
const S: i64 = 1_000_000_000;

async fn sim_node(name: &str, domain: u32, ep: &str) -> Node {
    Node::builder(name)
        .domain_id(domain)
        .connect(ep)
        .use_sim_time(true)
        .build()
        .await
        .expect("sim-time node starts")
}

/// Publishes `/clock` = `ns` until `node` reads it.
async fn set_clock(clock: &Publisher<rosgraph_msgs::Clock>, node: &Node, ns: i64) {
    let msg = rosgraph_msgs::Clock {
        clock: Time::from_nanos(ns),
    };
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        clock.publish(&msg).await.expect("publishes /clock");
        for _ in 0..20 {
            if node.now().as_nanos() == ns {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the node never read /clock = {ns} (now {})",
            node.now().as_nanos()
        );
    }
}

/// Waits until `counter` reaches `n` (at most PATIENCE).
async fn reaches(counter: &AtomicU64, n: u64) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while counter.load(Ordering::Relaxed) < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "counter stuck at {}, expected {n}",
            counter.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sim_time_node_follows_clock_messages_pauses_and_restarts_on_a_jump_back() {
    let ep = endpoint();
    let driver = common::listening_node("clock_driver", 81, &ep).await;
    let node = sim_node("sim_listener", 81, &ep).await;
    assert!(node.use_sim_time());
    assert_eq!(node.now().as_nanos(), 0, "ROS time is 0 before any /clock");
    let wall = common::connected_node("wall_listener", 81, &ep).await;
    assert!(!wall.use_sim_time());
    assert!(wall.now().as_nanos() > 1_600_000_000 * S, "system time");

    let clock = driver
        .publisher::<rosgraph_msgs::Clock>("/clock")
        .await
        .expect("publisher");
    set_clock(&clock, &node, 100 * S).await;

    let ticks = Arc::new(Mutex::new(Vec::<i64>::new()));
    let count = Arc::new(AtomicU64::new(0));
    let _timer = {
        let (ticks, count, at) = (Arc::clone(&ticks), Arc::clone(&count), node.clone());
        node.create_timer(Duration::from_millis(100), move || {
            ticks.lock().expect("lock").push(at.now().as_nanos());
            count.fetch_add(1, Ordering::Relaxed);
        })
        .expect("timer")
    };
    // Two simulated seconds in 10 ms steps: a tick every 100 ms of sim time.
    for k in 1..=200 {
        set_clock(&clock, &node, 100 * S + k * 10 * MS).await;
    }
    reaches(&count, 20).await;
    let got = ticks.lock().expect("lock").clone();
    assert_eq!(got.len(), 20, "ticks at {got:?}");
    // Each tick is due on the 100 ms grid; the callback reads the clock when it runs, which
    // may be some /clock steps later on a loaded machine, but before the next tick is due
    // (a tick that late would have replaced the next one, and the count above would fail).
    for (i, at) in got.iter().enumerate() {
        let due = 100 * S + (i as i64 + 1) * 100 * MS;
        assert!((due..due + 100 * MS).contains(at), "tick {i} at {got:?}");
    }

    // Paused: /clock keeps repeating 102 s; the sim timer is still while a wall timer runs.
    let wall_ticks = Arc::new(AtomicU64::new(0));
    let _wall_timer = {
        let wall_ticks = Arc::clone(&wall_ticks);
        node.create_wall_timer(Duration::from_millis(20), move || {
            wall_ticks.fetch_add(1, Ordering::Relaxed);
        })
        .expect("wall timer")
    };
    for _ in 0..30 {
        set_clock(&clock, &node, 102 * S).await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    reaches(&wall_ticks, 3).await;
    assert_eq!(
        count.load(Ordering::Relaxed),
        20,
        "ticked while /clock was paused"
    );

    // The log loops back to 50 s: no burst, the next tick one period after the jump.
    set_clock(&clock, &node, 50 * S).await;
    set_clock(&clock, &node, 50 * S + 99 * MS).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        count.load(Ordering::Relaxed),
        20,
        "ticked early after the jump back"
    );
    set_clock(&clock, &node, 50 * S + 100 * MS).await;
    reaches(&count, 21).await;
    assert_eq!(ticks.lock().expect("lock")[20], 50 * S + 100 * MS);
    assert_eq!(node.clock().jumps_back(), 1);
}

const T0: i64 = 1_700_000_000 * S;
/// The log lasts 2 s: played at rate 0.2 it takes 10 s of wall time.
const LOG_SECONDS: i64 = 2;

/// A deterministic jitter in [-span, span] ns for frame `i` (a small LCG hash).
fn jitter(i: i64, salt: i64, span: i64) -> i64 {
    let h =
        (i.wrapping_mul(6_364_136_223_846_793_005) ^ salt).wrapping_mul(1_442_695_040_888_963_407);
    (h >> 33).rem_euclid(2 * span + 1) - span
}

/// Writes one message of the log.
type WriteRow = Box<dyn FnOnce(&mut BagWriter)>;

/// 2 s of log from `T0`: 30 Hz images and camera infos with jittered stamps (every 17th info
/// missing), for ApproximateTime; a 5 Hz `/imu` and a 1 Hz `/gps`, 100 ms of log time apart,
/// for LatestTime (the fast one is the pivot, so its sets do not depend on the rate). LatestTime
/// reads the node clock when a message reaches it: two `/imu` messages read the same time, and
/// the second makes no set (as in ROS 2), when one waits for the other in the subscriber, so
/// they are 40 ms of wall time apart even at rate 5 (at 10 Hz, 20 ms were not enough under load).
fn write_loop_log(file: &std::path::Path) {
    let mut bag = BagWriter::create(file, WriterOptions::default()).expect("create");
    let mut rows: Vec<(i64, WriteRow)> = Vec::new();
    for i in 0..LOG_SECONDS * 30 {
        let stamp = T0 + 5 * MS + i * S / 30 + jitter(i, 1, 3 * MS);
        let info_stamp = stamp + jitter(i, 2, 2 * MS);
        rows.push((
            stamp + MS,
            Box::new(move |bag| {
                let image = rgb8(header(stamp, "cam"), 2, 2, vec![i as u8; 12]);
                bag.write_message("/camera/image", (stamp + MS) as u64, &image)
                    .expect("write");
            }),
        ));
        if i % 17 != 5 {
            rows.push((
                info_stamp + 2 * MS,
                Box::new(move |bag| {
                    let info = camera_info(header(info_stamp, "cam"), 2, 2);
                    bag.write_message("/camera/info", (info_stamp + 2 * MS) as u64, &info)
                        .expect("write");
                }),
            ));
        }
    }
    for k in 0..LOG_SECONDS * 5 {
        let at = T0 + 100 * MS + k * 200 * MS;
        rows.push((
            at,
            Box::new(move |bag| {
                let imu = sensor_msgs::Imu {
                    header: header(at - 2 * MS, "imu"),
                    ..Default::default()
                };
                bag.write_message("/imu", at as u64, &imu).expect("write");
            }),
        ));
    }
    for k in 0..LOG_SECONDS {
        let at = T0 + k * 1000 * MS;
        rows.push((
            at,
            Box::new(move |bag| {
                let fix = sensor_msgs::NavSatFix {
                    header: header(at - 20 * MS, "gps"),
                    ..Default::default()
                };
                bag.write_message("/gps", at as u64, &fix).expect("write");
            }),
        ));
    }
    // In log-time order, as a recorder writes them.
    rows.sort_by_key(|(at, _)| *at);
    for (_, write) in rows {
        write(&mut bag);
    }
    bag.finish().expect("finish");
}

/// The sets `rosync sync simulate --bag` finds on two topics: the two stamps of each set.
fn simulated_sets(file: &std::path::Path, topics: [&str; 2], policy: &str) -> Vec<(i64, i64)> {
    let out = common::rosync()
        .args(["sync", "simulate", "--bag"])
        .arg(file)
        .args(["--topic", topics[0], "--topic", topics[1]])
        .args(["--policy", policy, "--queue", "10"])
        .output()
        .expect("rosync runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stamp = |s: &str| -> i64 {
        let (sec, nsec) = s.split_once('.').expect("sec.nsec");
        sec.parse::<i64>().expect("sec") * S + nsec.parse::<i64>().expect("nsec")
    };
    stdout
        .lines()
        .filter(|l| l.contains("spread"))
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            // "TOPIC SEC.NSEC  TOPIC SEC.NSEC  spread X ms"
            (stamp(words[1]), stamp(words[3]))
        })
        .collect()
}

/// Collects the (stamp, stamp) pairs a two-channel synchronizer emits.
fn collect_pairs<A, B>(sync: &Synchronizer<(A, B)>) -> Arc<Mutex<Vec<(i64, i64)>>>
where
    A: Stamped + Send + Sync + 'static,
    B: Stamped + Send + Sync + 'static,
{
    let sets = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&sets);
    sync.register_callback(move |(a, b): (Arc<A>, Arc<B>)| {
        let pair = (a.stamp().as_nanos(), b.stamp().as_nanos());
        sink.lock().expect("lock").push(pair);
    });
    sets
}

/// The whole loop at one rate: the real `rosync play --rate RATE --clock` plays the 2 s log to
/// a `use_sim_time` node whose subscriber filters feed an ApproximateTime and a LatestTime
/// synchronizer on the node clock, and which runs a 10 Hz timer. The sets equal those of
/// `rosync sync simulate --bag` (the same at every rate) and each simulated second gets
/// 10 ± 1 ticks. On wall time the tick counts fail (0 per simulated second).
async fn loop_at_rate(rate: &str, domain: u32) {
    let dir = scratch(&format!("sim_time_loop_{domain}"));
    let file = dir.join("loop.mcap");
    write_loop_log(&file);
    let camera = ["/camera/image", "/camera/info"];
    let expected_approx = simulated_sets(&file, camera, "approx");
    let expected_latest = simulated_sets(&file, ["/imu", "/gps"], "latest");
    assert!(
        expected_approx.len() > 50,
        "{} sets offline",
        expected_approx.len()
    );
    assert!(
        expected_latest.len() >= 8,
        "{} LatestTime sets offline",
        expected_latest.len()
    );

    let ep = endpoint();
    let node = Node::builder(&format!("sim_loop_{domain}"))
        .domain_id(domain)
        .listen(&ep)
        .use_sim_time(true)
        .build()
        .await
        .expect("node");
    let ticks = Arc::new(Mutex::new(Vec::<i64>::new()));
    let _timer = {
        let (ticks, at) = (Arc::clone(&ticks), node.clone());
        node.create_timer(Duration::from_millis(100), move || {
            ticks.lock().expect("lock").push(at.now().as_nanos());
        })
        .expect("timer")
    };
    let images = SubscriberFilter::<sensor_msgs::Image>::new(&node, camera[0], 100)
        .await
        .expect("filter");
    let infos = SubscriberFilter::<sensor_msgs::CameraInfo>::new(&node, camera[1], 100)
        .await
        .expect("filter");
    let imu = SubscriberFilter::<sensor_msgs::Imu>::new(&node, "/imu", 100)
        .await
        .expect("filter");
    let gps = SubscriberFilter::<sensor_msgs::NavSatFix>::new(&node, "/gps", 100)
        .await
        .expect("filter");
    let approx = Synchronizer::<(sensor_msgs::Image, sensor_msgs::CameraInfo)>::with_clock(
        ApproximateTime::new(2, 10).expect("valid"),
        node.clock().clone(),
    )
    .expect("two");
    let latest = Synchronizer::<(sensor_msgs::Imu, sensor_msgs::NavSatFix)>::with_clock(
        LatestTime::new(2).expect("valid"),
        node.clock().clone(),
    )
    .expect("two");
    let _links = (
        approx.connect_input::<0, _>(&images),
        approx.connect_input::<1, _>(&infos),
        latest.connect_input::<0, _>(&imu),
        latest.connect_input::<1, _>(&gps),
    );
    let approx_sets = collect_pairs(&approx);
    let latest_sets = collect_pairs(&latest);

    let out = tokio::task::spawn_blocking({
        let (file, ep, rate, domain) = (file.clone(), ep.clone(), rate.to_string(), domain);
        move || {
            common::rosync()
                .arg("play")
                .arg(&file)
                .args(["--rate", &rate, "--clock"])
                .args(["--connect", &ep, "--domain", &domain.to_string()])
                .args(["--wait-for-subscribers", "10"])
                .output()
                .expect("rosync runs")
        }
    })
    .await
    .expect("joins");
    assert!(
        out.status.success(),
        "rosync play failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Let the last messages through the filters.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while (approx_sets.lock().expect("lock").len() < expected_approx.len()
        || latest_sets.lock().expect("lock").len() < expected_latest.len())
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;

    let got = approx_sets.lock().expect("lock").clone();
    assert_eq!(
        got, expected_approx,
        "rate {rate}: ApproximateTime live vs offline"
    );
    let got = latest_sets.lock().expect("lock").clone();
    assert_eq!(
        got, expected_latest,
        "rate {rate}: LatestTime live vs offline"
    );

    // Timer ticks per simulated second, over the log's whole seconds.
    let ticks = ticks.lock().expect("lock").clone();
    let mut per_second: BTreeMap<i64, u32> = BTreeMap::new();
    for t in &ticks {
        *per_second.entry(t.div_euclid(S)).or_default() += 1;
    }
    for second in T0 / S..T0 / S + LOG_SECONDS {
        let n = per_second.get(&second).copied().unwrap_or(0);
        assert!(
            (9..=11).contains(&n),
            "rate {rate}: {n} ticks in simulated second {second} ({per_second:?})"
        );
    }
    assert!(
        ticks
            .iter()
            .all(|t| (T0..=T0 + LOG_SECONDS * S).contains(t)),
        "rate {rate}: ticks outside the log's time: {ticks:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn played_at_rate_5_a_sim_time_node_ticks_and_syncs_as_offline() {
    loop_at_rate("5", 82).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn played_at_rate_1_a_sim_time_node_ticks_and_syncs_as_offline() {
    loop_at_rate("1", 86).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn played_at_rate_0_2_a_sim_time_node_ticks_and_syncs_as_offline() {
    loop_at_rate("0.2", 87).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_live_with_use_sim_time_measures_emission_delays_in_clock_time() {
    let ep = endpoint();
    let node = common::listening_node("sim_camera_driver", 83, &ep).await;
    let clock = node
        .publisher::<rosgraph_msgs::Clock>("/clock")
        .await
        .expect("pub");
    let images = node
        .publisher::<sensor_msgs::Image>("/camera/image")
        .await
        .expect("pub");
    let infos = node
        .publisher::<sensor_msgs::CameraInfo>("/camera/info")
        .await
        .expect("pub");
    let mut cmd = common::rosync();
    cmd.args(["sync", "live", "--use-sim-time"])
        .args(["--topic", "/camera/image", "--topic", "/camera/info"])
        .args(["--count", "4", "--connect", &ep, "--domain", "83"]);
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut live = Running(cmd.spawn().expect("rosync runs"));
    for publisher_ready in [
        clock.wait_for_subscribers(PATIENCE).await,
        images.wait_for_subscribers(PATIENCE).await,
        infos.wait_for_subscribers(PATIENCE).await,
    ] {
        assert!(publisher_ready, "rosync sync live did not subscribe");
    }
    // One frame per simulated second, the info stamped 10 ms after the image; /clock moves to
    // the frame's time before it is sent, so a set (emitted once the next frame shows no
    // better match can come) waited exactly 1 s of sim time.
    for k in 0..8i64 {
        let stamp = T0 + k * S;
        clock
            .publish(&rosgraph_msgs::Clock {
                clock: Time::from_nanos(stamp),
            })
            .await
            .expect("clock");
        tokio::time::sleep(Duration::from_millis(60)).await;
        let image = rgb8(header(stamp, "cam"), 2, 2, vec![0; 12]);
        images.publish(&image).await.expect("image");
        infos
            .publish(&camera_info(header(stamp + 10 * MS, "cam"), 2, 2))
            .await
            .expect("info");
        tokio::time::sleep(Duration::from_millis(140)).await;
        if live.0.try_wait().expect("status").is_some() {
            break;
        }
    }
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = live.0.try_wait().expect("status") {
            break status;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "sync live did not stop after --count sets"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let mut stderr = String::new();
    if let Some(mut pipe) = live.0.stderr.take() {
        std::io::Read::read_to_string(&mut pipe, &mut stderr).expect("stderr");
    }
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "emission delay (set out - last member in): min 1000.000 ms, median 1000.000 ms, \
             max 1000.000 ms"
        ),
        "{stderr}"
    );
}

/// A child process killed (and reaped) when the test ends, passed or failed.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `use_sim_time` is the node's parameter: a start-up override (`--param use_sim_time:=true`)
/// switches the clock as `NodeBuilder::use_sim_time` does, and the parameter says which.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_use_sim_time_parameter_override_selects_the_clock() {
    let ep = endpoint();
    let mut overrides = rosync::node::ParameterOverrides::default();
    overrides.arg("use_sim_time:=true").expect("override");
    let node = Node::builder("sim_by_param")
        .domain_id(84)
        .listen(&ep)
        .parameter_overrides(overrides)
        .build()
        .await
        .expect("node starts");
    assert!(node.use_sim_time());
    assert_eq!(node.parameter::<bool>("use_sim_time"), Some(true));
    assert_eq!(node.now().as_nanos(), 0, "ROS time is 0 before any /clock");
    let plain = common::connected_node("wall_by_param", 84, &ep).await;
    assert!(!plain.use_sim_time());
    assert_eq!(plain.parameter::<bool>("use_sim_time"), Some(false));
}

/// Whether `node`'s graph view shows a `/clock` subscription of the node called `name`.
async fn subscribes_to_clock(node: &Node, name: &str) -> bool {
    node.graph(PATIENCE).await.expect("graph").iter().any(|e| {
        e.kind == EntityKind::Subscriber
            && e.node_name == name
            && e.topic.as_ref().is_some_and(|t| t.name == "/clock")
    })
}

/// Waits until `node`'s graph shows (or no longer shows) `name`'s `/clock` subscription.
async fn clock_subscription_becomes(node: &Node, name: &str, present: bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while subscribes_to_clock(node, name).await != present {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name}'s /clock subscription never became present = {present}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs `rosync param set /switching use_sim_time VALUE` against domain 85.
async fn param_set_use_sim_time(ep: &str, value: &str) {
    let args: Vec<String> = [
        "--connect",
        ep,
        "--domain",
        "85",
        "param",
        "set",
        "/switching",
        "use_sim_time",
        value,
    ]
    .map(String::from)
    .to_vec();
    let out = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        common::run_rosync(&args)
    })
    .await
    .expect("joins");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("Set parameter successful"),
        "param set use_sim_time {value}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `use_sim_time` switches at run time, as rclcpp's TimeSource does: set true (from code), the
/// node subscribes to `/clock` and its clock and timers follow it; set false (through `rosync
/// param set`), the subscription goes and the clock is the system time again; set true once
/// more through the CLI. Each switch restarts the timers with no burst of ticks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn use_sim_time_switches_at_run_time_both_ways() {
    let ep = endpoint();
    let driver = common::listening_node("switch_driver", 85, &ep).await;
    let clock = driver
        .publisher::<rosgraph_msgs::Clock>("/clock")
        .await
        .expect("publisher");
    let node = common::connected_node("switching", 85, &ep).await;
    // A parameter of its own starts the parameter services `rosync param` talks to.
    node.declare_parameter("gain", 1.0, Default::default())
        .await
        .expect("declares");
    assert!(!node.use_sim_time());
    assert!(!subscribes_to_clock(&driver, "switching").await);
    let ticks = Arc::new(Mutex::new(Vec::<i64>::new()));
    let _timer = {
        let (ticks, at) = (Arc::clone(&ticks), node.clone());
        node.create_timer(Duration::from_millis(100), move || {
            ticks.lock().expect("lock").push(at.now().as_nanos());
        })
        .expect("timer")
    };
    let taken = |ticks: &Mutex<Vec<i64>>| std::mem::take(&mut *ticks.lock().expect("lock"));
    tokio::time::sleep(Duration::from_millis(350)).await;
    let wall = taken(&ticks);
    assert!(!wall.is_empty(), "no tick on system time");
    assert!(wall.iter().all(|t| *t > 1_600_000_000 * S), "{wall:?}");

    // On: the clock switches at once (0 until the first /clock), then follows /clock.
    node.set_parameter(Parameter::new("use_sim_time", true))
        .expect("switch on");
    assert!(node.use_sim_time());
    assert!(
        node.now().as_nanos() < 1_600_000_000 * S,
        "still system time"
    );
    clock_subscription_becomes(&driver, "switching", true).await;
    set_clock(&clock, &node, 100 * S).await;
    for k in 1..=200 {
        set_clock(&clock, &node, 100 * S + k * 10 * MS).await;
    }
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while ticks.lock().expect("lock").last() != Some(&(102 * S))
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Paused /clock: no tick, however long the wall clock runs.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sim = taken(&ticks);
    // One late tick at the first /clock (a forward jump of 100 s fires once, never a burst),
    // then one every 100 ms of sim time: 100.1 s .. 102 s.
    let on_grid: Vec<i64> = (1..=20).map(|k| 100 * S + k * 100 * MS).collect();
    let late: Vec<i64> = sim
        .iter()
        .copied()
        .filter(|t| *t < 100 * S + 100 * MS)
        .collect();
    assert!(late.len() <= 1, "a burst after the switch: {sim:?}");
    let rest: Vec<i64> = sim
        .iter()
        .copied()
        .filter(|t| *t >= 100 * S + 100 * MS)
        .collect();
    assert_eq!(rest.len(), 20, "ticks on sim time: {sim:?}");
    for (at, due) in rest.iter().zip(&on_grid) {
        assert!(
            (*due..due + 100 * MS).contains(at),
            "tick at {at}, due {due}: {sim:?}"
        );
    }

    // Off, through the CLI: system time again, the /clock subscription goes away.
    param_set_use_sim_time(&ep, "false").await;
    assert_eq!(node.parameter::<bool>("use_sim_time"), Some(false));
    assert!(!node.use_sim_time());
    assert!(node.now().as_nanos() > 1_600_000_000 * S);
    clock_subscription_becomes(&driver, "switching", false).await;
    let start = std::time::Instant::now();
    taken(&ticks);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let wall = taken(&ticks);
    let most = start.elapsed().as_millis() as usize / 100 + 1;
    assert!(
        !wall.is_empty() && wall.len() <= most,
        "{} ticks in {:?} after switching back (a burst?)",
        wall.len(),
        start.elapsed()
    );
    assert!(wall.iter().all(|t| *t > 1_600_000_000 * S), "{wall:?}");

    // On again, through the CLI: the node follows /clock once more.
    param_set_use_sim_time(&ep, "true").await;
    assert!(node.use_sim_time());
    clock_subscription_becomes(&driver, "switching", true).await;
    set_clock(&clock, &node, 200 * S).await;
    taken(&ticks);
    for k in 1..=50 {
        set_clock(&clock, &node, 200 * S + k * 10 * MS).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let sim = taken(&ticks);
    assert!(
        (5..=6).contains(&sim.len()) && sim.iter().all(|t| (200 * S..=201 * S).contains(t)),
        "ticks after switching on again: {sim:?}"
    );
}
