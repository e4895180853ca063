//! Camera fusion: a simulated camera publishes `Image` and `CameraInfo` with the same stamps
//! on separate topics; a fusion node joins them with ApproximateTime, like a ROS 2
//! `message_filters` node, printing fused pairs and a stats line per second.
//!
//! cargo run --release --example camera_sync -- [--seconds N] [--drop-every N] [--connect/--listen ENDPOINT]
//!
//! Both nodes run in this process on zenoh peer mode (loopback rendezvous, no router).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use rand::Rng;
use rosync::cli::args::{whole, Factor, Hz};
use rosync::filters::SubscriberFilter;
use rosync::msg::sensor_msgs::{CameraInfo, Image};
use rosync::msg::std_msgs::Header;
use rosync::node::NetworkArgs;
use rosync::prelude::*;
use rosync::sync::{ApproximateTime, Synchronizer};

#[derive(Parser, Clone)]
#[command(about = "Simulated camera + ApproximateTime fusion node")]
struct Args {
    #[command(flatten)]
    network: NetworkArgs,
    /// Run for this many seconds (0: until Ctrl-C).
    #[arg(long, default_value_t = 10, allow_hyphen_values = true, value_parser = whole::<u64>(0, u64::MAX))]
    seconds: u64,
    /// Frame rate of the simulated camera.
    #[arg(long, default_value = "30", allow_hyphen_values = true)]
    fps: Hz,
    /// Drop every Nth image (never its CameraInfo) to show unmatched messages (0: never).
    #[arg(long, default_value_t = 25, allow_hyphen_values = true, value_parser = whole::<u64>(0, u64::MAX))]
    drop_every: u64,
    /// Stamp jitter of the camera in milliseconds.
    #[arg(long, default_value = "2", allow_hyphen_values = true)]
    jitter_ms: Factor,
}

/// The simulated camera: 640x480 rgb8 frames and their calibration, same stamps.
async fn run_camera(node: Node, args: &Args) -> Result<(), rosync::Error> {
    let images = node.publisher::<Image>("/camera/image_raw").await?;
    let infos = node.publisher::<CameraInfo>("/camera/camera_info").await?;
    images.wait_for_subscribers(Duration::from_secs(5)).await;
    infos.wait_for_subscribers(Duration::from_secs(5)).await;
    let (width, height) = (640u32, 480u32);
    let mut image = Image {
        height,
        width,
        encoding: "rgb8".into(),
        step: width * 3,
        data: vec![0; (width * height * 3) as usize],
        ..Default::default()
    };
    let mut info = CameraInfo {
        height,
        width,
        distortion_model: "plumb_bob".into(),
        d: vec![-0.28, 0.07, 0.0, 0.0, 0.0],
        k: [525.0, 0.0, 320.0, 0.0, 525.0, 240.0, 0.0, 0.0, 1.0],
        ..Default::default()
    };
    let period = args.fps.period();
    let mut tick = tokio::time::interval(period);
    for frame in 1u64.. {
        tick.tick().await;
        let jitter =
            rand::thread_rng().gen_range(-args.jitter_ms.get()..=args.jitter_ms.get()) * 1e6;
        let header = Header {
            stamp: Time::from_nanos(rosync::time::now_nanos() + jitter as i64),
            frame_id: "camera_optical".into(),
        };
        image.header = header.clone();
        image.data.fill((frame % 256) as u8);
        info.header = header;
        if args.drop_every == 0 || frame % args.drop_every != 0 {
            images.publish(&image).await?;
        }
        infos.publish(&info).await?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter("info,zenoh=warn")
        .init();
    let args = Args::parse();
    let camera = args.network.build_node("camera").await?;
    let fusion = args.network.build_node("fusion").await?;

    // The fusion node: two subscriber filters feeding an ApproximateTime synchronizer.
    let image_sub = SubscriberFilter::<Image>::new(&fusion, "/camera/image_raw", 10).await?;
    let info_sub = SubscriberFilter::<CameraInfo>::new(&fusion, "/camera/camera_info", 10).await?;
    let sync = Synchronizer::<(Image, CameraInfo)>::new(ApproximateTime::new(2, 10)?)?;
    let _image_link = sync.connect_input::<0, _>(&image_sub);
    let _info_link = sync.connect_input::<1, _>(&info_sub);
    let fused = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&fused);
    sync.register_callback(move |(image, info): (Arc<Image>, Arc<CameraInfo>)| {
        let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
        if n % 30 == 1 {
            let skew = image.stamp().as_nanos() - info.stamp().as_nanos();
            println!(
                "fused #{n}: image {}x{} {} + camera_info {} at {:.3} s (skew {} ns)",
                image.width,
                image.height,
                image.encoding,
                info.distortion_model,
                image.stamp().as_secs_f64(),
                skew
            );
        }
    });
    sync.on_drop(|drop| {
        let channel = ["image", "camera_info"].get(drop.channel).unwrap_or(&"?");
        println!(
            "dropped {channel} stamped {:.6} s ({})",
            drop.stamp as f64 * 1e-9,
            drop.reason
        );
    });

    let camera_args = args.clone();
    let camera_task = tokio::spawn(async move { run_camera(camera, &camera_args).await });
    let mut second = tokio::time::interval(Duration::from_secs(1));
    second.tick().await;
    let mut elapsed = 0;
    loop {
        tokio::select! {
            _ = second.tick() => {
                elapsed += 1;
                let stats = sync.stats();
                println!(
                    "[{elapsed:>3} s] sets {} | received image {} info {} | dropped image {} info {} | pending {}",
                    stats.sets,
                    stats.received[0],
                    stats.received[1],
                    stats.dropped_on(0),
                    stats.dropped_on(1),
                    stats.pending
                );
                if args.seconds > 0 && elapsed >= args.seconds {
                    break;
                }
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    camera_task.abort();
    let stats = sync.stats();
    println!(
        "done: {} fused pairs, {} drops",
        stats.sets,
        stats.dropped_total()
    );
    Ok(())
}
