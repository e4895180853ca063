//! `rosync topic echo` stays small on big messages: a real publisher sends 33 MB images, the
//! `rosync` binary echoes them with long arrays abbreviated (`<sequence type: uint8, length:
//! N>`, as `ros2 topic echo --no-arr` prints them) in memory a small multiple of one message;
//! `--full-length` prints every item. Alone in its file: the peak memory measured is that of
//! this file's children (getrusage(RUSAGE_CHILDREN)).

mod common;

use std::process::Stdio;
use std::time::Duration;

use rosync::msg::sensor_msgs;
use rosync::node::Publisher;

use common::{endpoint, header, rgb8, PATIENCE};

/// Publishes `image` every 100 ms until aborted.
fn keep_publishing(
    publisher: Publisher<sensor_msgs::Image>,
    image: sensor_msgs::Image,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if publisher.publish(&image).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

/// Runs `rosync topic echo ARGS` connected to `ep` until it exits; its stdout and stderr.
async fn echo(ep: &str, domain: u32, args: &[&str]) -> (String, String) {
    let child = common::rosync()
        .args(["--connect", ep, "--domain", &domain.to_string()])
        .args(["topic", "echo"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rosync topic echo starts");
    let out = tokio::time::timeout(
        PATIENCE * 3,
        tokio::task::spawn_blocking(move || child.wait_with_output()),
    )
    .await
    .expect("topic echo exits")
    .expect("join")
    .expect("output");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "topic echo failed: {stderr}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

/// The largest resident set of any child this process waited for, in bytes.
fn children_peak_rss() -> u64 {
    // SAFETY: getrusage fills the zeroed struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    assert_eq!(rc, 0, "getrusage failed");
    usage.ru_maxrss as u64 * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_of_a_large_image_is_abbreviated_and_small_in_memory() {
    let domain = 93;
    let ep = endpoint();
    let node = common::listening_node("big_talker", domain, &ep).await;
    let (width, height) = (3840u32, 2880u32);
    let size = (width * height * 3) as usize;
    let big = rgb8(header(7, "camera"), width, height, vec![200u8; size]);
    let publisher = node
        .publisher::<sensor_msgs::Image>("/camera/big")
        .block_when_congested(true)
        .await
        .expect("publisher");
    let sending = keep_publishing(publisher, big);

    let (stdout, _) = echo(
        &ep,
        domain,
        &[
            "/camera/big",
            "--type",
            "sensor_msgs/msg/Image",
            "--count",
            "2",
        ],
    )
    .await;
    let peak = children_peak_rss();
    sending.abort();
    eprintln!(
        "echo of two {:.1} MB images: {} bytes of output, peak RSS {:.1} MB",
        size as f64 / 1e6,
        stdout.len(),
        peak as f64 / 1e6
    );
    let line = format!("data: '<sequence type: uint8, length: {size}>'");
    assert_eq!(stdout.matches(&line).count(), 2, "{stdout}");
    assert!(stdout.contains("width: 3840\n"), "{stdout}");
    assert!(stdout.len() < 4096, "{} bytes of output", stdout.len());
    assert!(
        peak < 10 * size as u64,
        "peak RSS {peak} bytes is more than 10x the {size}-byte message"
    );

    // --full-length prints every byte (on a smaller image, to keep the output reasonable).
    let (width, height) = (320u32, 240u32);
    let pixels: Vec<u8> = (0..width * height * 3).map(|i| (i % 251) as u8).collect();
    let small = rgb8(header(8, "camera"), width, height, pixels.clone());
    let publisher = node
        .publisher::<sensor_msgs::Image>("/camera/small")
        .block_when_congested(true)
        .await
        .expect("publisher");
    let sending = keep_publishing(publisher, small);
    let (stdout, _) = echo(
        &ep,
        domain,
        &[
            "/camera/small",
            "--type",
            "sensor_msgs/msg/Image",
            "--count",
            "1",
            "--full-length",
        ],
    )
    .await;
    sending.abort();
    let items: Vec<u8> = stdout
        .lines()
        .skip_while(|l| *l != "data:")
        .skip(1)
        .map_while(|l| l.strip_prefix("- "))
        .map(|v| v.parse().expect("a byte"))
        .collect();
    assert_eq!(items, pixels);
}
