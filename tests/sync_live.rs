//! Synchronizing real topics over zenoh: three publishers in this process, `rosync sync live`
//! in another process joining them with each policy.

mod common;

use std::process::Command;
use std::time::Duration;

use common::endpoint;
use rosync::msg::{sensor_msgs, std_msgs};
use rosync::node::Node;
use rosync::Time;

/// Publishes an Image, a CameraInfo and an Imu with the same stamps at 50 Hz until aborted;
/// every 7th Imu is skipped so some sets cannot form.
async fn publish_three(node: Node) {
    let images = node
        .publisher::<sensor_msgs::Image>("/cam/image")
        .await
        .expect("pub");
    let infos = node
        .publisher::<sensor_msgs::CameraInfo>("/cam/info")
        .await
        .expect("pub");
    let imus = node
        .publisher::<sensor_msgs::Imu>("/imu")
        .await
        .expect("pub");
    for i in 0i64.. {
        let header = std_msgs::Header {
            stamp: Time::from_nanos(1_700_000_000_000_000_000 + i * 20_000_000),
            frame_id: "base".into(),
        };
        let image = sensor_msgs::Image {
            header: header.clone(),
            width: 4,
            height: 2,
            ..Default::default()
        };
        let info = sensor_msgs::CameraInfo {
            header: header.clone(),
            ..Default::default()
        };
        let imu = sensor_msgs::Imu {
            header,
            ..Default::default()
        };
        if images.publish(&image).await.is_err() || infos.publish(&info).await.is_err() {
            return;
        }
        if i % 7 != 3 && imus.publish(&imu).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn run_live(ep: &str, policy: &str, extra: &[&str]) -> (String, String) {
    let mut cmd = common::rosync();
    cmd.args([
        "sync",
        "live",
        "--topic",
        "/cam/image",
        "--topic",
        "/cam/info",
        "--topic",
        "/imu",
    ])
    .args([
        "--policy",
        policy,
        "--count",
        "12",
        "--connect",
        ep,
        "--domain",
        "51",
    ])
    .args(extra);
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("joins")
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_topics_are_joined_by_stamp() {
    let ep = endpoint();
    let node = common::listening_node("three_sensors", 51, &ep).await;
    let publishing = tokio::spawn(publish_three(node));
    for (policy, extra) in [
        ("exact", vec![]),
        ("approx", vec!["--max-interval", "0.005"]),
    ] {
        let (stdout, stderr) = run_live(&ep, policy, &extra).await;
        let sets: Vec<&str> = stdout.lines().collect();
        assert_eq!(sets.len(), 12, "{policy}: {stdout}");
        for line in &sets {
            // Same stamps on all three topics: the spread is zero. (The publisher runs since
            // the test began, so the seconds depend on how fast `sync live` starts.)
            assert!(
                line.contains("/cam/image 17000000") && line.contains("/imu "),
                "{line}"
            );
            assert!(line.ends_with("spread 0.000 ms"), "{policy}: {line}");
            let stamps: Vec<&str> = line.split_whitespace().skip(1).step_by(2).take(3).collect();
            assert!(stamps.windows(2).all(|w| w[0] == w[1]), "{line}");
        }
        assert!(stderr.contains("sets: 12"), "{stderr}");
        assert!(stderr.contains("/imu: received"), "{stderr}");
        assert!(stderr.contains("emission delay"), "{stderr}");
    }
    publishing.abort();
}

#[test]
fn live_rejects_bad_settings() {
    for (args, expected) in [
        (vec!["--topic", "/a"], "give 2 to 9 --topic options"),
        (
            vec!["--topic", "/a", "--topic", "/b", "--queue", "0"],
            "queue",
        ),
        (
            vec!["--topic", "/a", "--topic", "/b", "--max-interval=-1"],
            "--max-interval",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_rosync"))
            .args(["sync", "live", "--listen", &endpoint()])
            .args(&args)
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        // 2: refused by the argument parser (a number out of its range); 1: by the command.
        assert!(
            matches!(out.status.code(), Some(1 | 2)),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_synchronizer_over_subscriber_filters_publishes_from_its_callback() {
    use std::sync::Arc;

    use rosync::filters::SubscriberFilter;
    use rosync::sync::{ApproximateTime, Synchronizer};

    let ep = endpoint();
    let sensors = common::listening_node("sensors", 52, &ep).await;
    let fusion = common::connected_node("fusion", 52, &ep).await;
    let images = SubscriberFilter::<sensor_msgs::Image>::new(&fusion, "/cam/image", 10)
        .await
        .expect("f");
    let infos = SubscriberFilter::<sensor_msgs::CameraInfo>::new(&fusion, "/cam/info", 10)
        .await
        .expect("f");
    let imus = SubscriberFilter::<sensor_msgs::Imu>::new(&fusion, "/imu", 10)
        .await
        .expect("f");
    let sync = Synchronizer::<(
        sensor_msgs::Image,
        sensor_msgs::CameraInfo,
        sensor_msgs::Imu,
    )>::new(ApproximateTime::new(3, 10).expect("valid"))
    .expect("three");
    let _links = (
        sync.connect_input::<0, _>(&images),
        sync.connect_input::<1, _>(&infos),
        sync.connect_input::<2, _>(&imus),
    );
    let fused_pub = Arc::new(
        fusion
            .publisher::<std_msgs::Header>("/fused")
            .await
            .expect("pub"),
    );
    let publisher = Arc::clone(&fused_pub);
    sync.register_callback(move |(image, info, imu)| {
        assert_eq!(image.header.stamp, info.header.stamp);
        assert_eq!(image.header.stamp, imu.header.stamp);
        // Publishing from inside the callback must not deadlock.
        publisher.publish_now(&image.header).expect("publishes");
    });
    let fused = sensors
        .subscriber::<std_msgs::Header>("/fused")
        .queue_size(100)
        .await
        .expect("sub");
    let publishing = tokio::spawn(publish_three(sensors.clone()));
    let mut stamps = Vec::new();
    while stamps.len() < 10 {
        let header = tokio::time::timeout(common::PATIENCE, fused.recv())
            .await
            .expect("fused headers arrive")
            .expect("open");
        stamps.push(header.stamp.as_nanos());
    }
    publishing.abort();
    assert!(
        stamps.windows(2).all(|w| w[0] < w[1]),
        "sets strictly increase: {stamps:?}"
    );
    // Every 7th Imu is missing, so its image and camera info can never join a set.
    let skipped: Vec<i64> = stamps
        .windows(2)
        .map(|w| (w[1] - w[0]) / 20_000_000)
        .collect();
    assert!(skipped.iter().all(|&k| k == 1 || k == 2), "{skipped:?}");
    let stats = sync.stats();
    assert!(stats.sets >= 10);
    assert_eq!(stats.dropped_on(2), 0, "no Imu is dropped: {stats:?}");
}
