//! Simulated time end to end: a node with `use_sim_time` follows `/clock` from a publisher
//! (pause, jump back, wall timers unaffected), and from the real `rosync play --rate 5
//! --clock`: its 10 Hz timer ticks 10 times per simulated second and its synchronizer, fed by
//! subscriber filters, emits the same sets as `rosync sync simulate --bag` on the same log.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{camera_info, endpoint, header, rgb8, scratch, PATIENCE};
use rosync::bag::{BagWriter, WriterOptions};
use rosync::filters::SubscriberFilter;
use rosync::msg::{rosgraph_msgs, sensor_msgs};
use rosync::node::{Node, Publisher};
use rosync::sync::{ApproximateTime, Synchronizer};
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
    // may be a /clock step or two later.
    for (i, at) in got.iter().enumerate() {
        let due = 100 * S + (i as i64 + 1) * 100 * MS;
        assert!((due..due + 50 * MS).contains(at), "tick {i} at {got:?}");
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
const FRAMES: i64 = 300; // 10 s at 30 Hz

/// A deterministic jitter in [-span, span] ns for frame `i` (a small LCG hash).
fn jitter(i: i64, salt: i64, span: i64) -> i64 {
    let h =
        (i.wrapping_mul(6_364_136_223_846_793_005) ^ salt).wrapping_mul(1_442_695_040_888_963_407);
    (h >> 33).rem_euclid(2 * span + 1) - span
}

/// 10 s of 30 Hz images and camera infos with jittered stamps; every 17th info is missing.
fn write_camera_log(file: &std::path::Path) {
    let mut bag = BagWriter::create(file, WriterOptions::default()).expect("create");
    for i in 0..FRAMES {
        let stamp = T0 + i * S / 30 + jitter(i, 1, 3 * MS);
        let info_stamp = stamp + jitter(i, 2, 2 * MS);
        let image = rgb8(header(stamp, "cam"), 2, 2, vec![i as u8; 12]);
        bag.write_message("/camera/image", (stamp + MS) as u64, &image)
            .expect("write");
        if i % 17 != 5 {
            let info = camera_info(header(info_stamp, "cam"), 2, 2);
            bag.write_message("/camera/info", (info_stamp + 2 * MS) as u64, &info)
                .expect("write");
        }
    }
    bag.finish().expect("finish");
}

/// The sets `rosync sync simulate --bag` finds: (image stamp, info stamp) per set.
fn simulated_sets(file: &std::path::Path) -> Vec<(i64, i64)> {
    let out = common::rosync()
        .args(["sync", "simulate", "--bag"])
        .arg(file)
        .args(["--topic", "/camera/image", "--topic", "/camera/info"])
        .args(["--policy", "approx", "--queue", "10"])
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
            // "/camera/image SEC.NSEC  /camera/info SEC.NSEC  spread X ms"
            (stamp(words[1]), stamp(words[3]))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn played_at_rate_5_a_sim_time_node_ticks_10_hz_of_log_time_and_syncs_as_offline() {
    let dir = scratch("sim_time_loop");
    let file = dir.join("camera.mcap");
    write_camera_log(&file);
    let expected = simulated_sets(&file);
    assert!(expected.len() > 250, "{} sets offline", expected.len());

    let ep = endpoint();
    let node = Node::builder("sim_camera")
        .domain_id(82)
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
    let images = SubscriberFilter::<sensor_msgs::Image>::new(&node, "/camera/image", 100)
        .await
        .expect("filter");
    let infos = SubscriberFilter::<sensor_msgs::CameraInfo>::new(&node, "/camera/info", 100)
        .await
        .expect("filter");
    let sync = Synchronizer::<(sensor_msgs::Image, sensor_msgs::CameraInfo)>::new(
        ApproximateTime::new(2, 10).expect("valid"),
    )
    .expect("two");
    let _links = (
        sync.connect_input::<0, _>(&images),
        sync.connect_input::<1, _>(&infos),
    );
    let sets = Arc::new(Mutex::new(Vec::<(i64, i64)>::new()));
    {
        let sets = Arc::clone(&sets);
        sync.register_callback(move |(image, info)| {
            let pair = (image.header.stamp.as_nanos(), info.header.stamp.as_nanos());
            sets.lock().expect("lock").push(pair);
        });
    }

    let out = tokio::task::spawn_blocking({
        let (file, ep) = (file.clone(), ep.clone());
        move || {
            common::rosync()
                .arg("play")
                .arg(&file)
                .args(["--rate", "5", "--clock"])
                .args(["--connect", &ep, "--domain", "82"])
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
    while sets.lock().expect("lock").len() < expected.len()
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;

    let got = sets.lock().expect("lock").clone();
    assert_eq!(got.len(), expected.len(), "sets live vs offline");
    assert_eq!(got, expected, "live sets differ from the offline ones");

    // Timer ticks per simulated second, over the whole seconds inside the log.
    let ticks = ticks.lock().expect("lock").clone();
    let mut per_second: BTreeMap<i64, u32> = BTreeMap::new();
    for t in &ticks {
        *per_second.entry(t.div_euclid(S)).or_default() += 1;
    }
    let first = T0 / S;
    for second in first + 1..first + 9 {
        let n = per_second.get(&second).copied().unwrap_or(0);
        assert!(
            (9..=11).contains(&n),
            "{n} ticks in simulated second {second} ({per_second:?})"
        );
    }
    assert!(
        ticks.iter().all(|t| (T0..=T0 + 11 * S).contains(t)),
        "ticks outside the log's time: {ticks:?}"
    );
    assert!(
        (95..=105).contains(&ticks.len()),
        "{} ticks over 10 s of log time",
        ticks.len()
    );
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
    // The clock is chosen at start: a later switch is refused with the reason, not ignored.
    let refused = plain
        .set_parameter(rosync::node::Parameter::new("use_sim_time", true))
        .expect_err("refused");
    assert!(
        refused.to_string().contains("restart the node"),
        "{refused}"
    );
    assert_eq!(plain.parameter::<bool>("use_sim_time"), Some(false));
    assert!(!plain.use_sim_time());
    plain
        .set_parameter(rosync::node::Parameter::new("use_sim_time", false))
        .expect("setting the same value is fine");
}
