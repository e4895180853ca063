//! Camera + tf fusion: a simulated robot drives a circle, broadcasting `odom -> base_link` at
//! 50 Hz and a static `base_link -> camera_optical`, and its camera publishes images with
//! their camera info. A fusion node passes the images through the tf message filter (each
//! waits until `odom -> camera_optical` is known at its stamp), joins them with their camera
//! info by exact stamp, and prints where the camera was for each fused frame.
//!
//! cargo run --release --example camera_tf -- [--seconds N] [--fps HZ] [--tf-rate HZ] [--connect/--listen ENDPOINT]
//!
//! All nodes run in this process on zenoh peer mode (loopback rendezvous, no router).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use rosync::cli::args::{whole, Hz};
use rosync::filters::{connect_input, SubscriberFilter};
use rosync::image_transport::CameraPublisher;
use rosync::msg::geometry_msgs::TransformStamped;
use rosync::msg::sensor_msgs::{CameraInfo, Image};
use rosync::msg::std_msgs::Header;
use rosync::node::NetworkArgs;
use rosync::prelude::*;
use rosync::sync::{ExactTime, Synchronizer};
use rosync::tf::{
    Buffer, MessageFilter, RigidTransform, StaticTransformBroadcaster, TransformBroadcaster,
    TransformListener,
};

#[derive(Parser, Clone)]
#[command(about = "Simulated robot with a camera + tf message filter + ExactTime fusion node")]
struct Args {
    #[command(flatten)]
    network: NetworkArgs,
    /// Run for this many seconds (0: until Ctrl-C).
    #[arg(long, default_value_t = 10, allow_hyphen_values = true, value_parser = whole::<u64>(0, u64::MAX))]
    seconds: u64,
    /// Frame rate of the simulated camera.
    #[arg(long, default_value = "30", allow_hyphen_values = true)]
    fps: Hz,
    /// Rate of the odom -> base_link broadcast.
    #[arg(long, default_value = "50", allow_hyphen_values = true)]
    tf_rate: Hz,
}

/// Radius (m) and angular speed (rad/s) of the robot's circle.
const RADIUS: f64 = 2.0;
const OMEGA: f64 = 0.5;

/// A transform `parent -> child` at `stamp`.
fn transform(parent: &str, child: &str, stamp: Time, v: [f64; 3], q: [f64; 4]) -> TransformStamped {
    TransformStamped {
        header: Header {
            stamp,
            frame_id: parent.into(),
        },
        child_frame_id: child.into(),
        transform: RigidTransform {
            translation: v,
            rotation: q,
        }
        .to_msg(),
    }
}

/// The robot: the camera mount (static) and its pose on the circle at `rate`.
async fn run_robot(node: Node, rate: Hz) -> Result<(), rosync::Error> {
    let statics = StaticTransformBroadcaster::new(&node).await?;
    // The optical frame looks along base_link's x axis: z forward, x right, y down.
    let optical = [-0.5, 0.5, -0.5, 0.5];
    let mount = transform(
        "base_link",
        "camera_optical",
        Time::default(),
        [0.2, 0.0, 0.5],
        optical,
    );
    statics.send_transform(&mount).await?;
    let odom = TransformBroadcaster::new(&node).await?;
    let mut tick = tokio::time::interval(rate.period());
    loop {
        tick.tick().await;
        let now = Time::from_nanos(rosync::time::now_nanos());
        let angle = OMEGA * now.as_secs_f64() % std::f64::consts::TAU;
        let yaw = angle + std::f64::consts::FRAC_PI_2;
        let pose = transform(
            "odom",
            "base_link",
            now,
            [RADIUS * angle.cos(), RADIUS * angle.sin(), 0.0],
            [0.0, 0.0, (yaw / 2.0).sin(), (yaw / 2.0).cos()],
        );
        odom.send_transform(&pose).await?;
    }
}

/// The camera: 320x240 rgb8 frames and their calibration under one header.
async fn run_camera(node: Node, fps: Hz) -> Result<(), rosync::Error> {
    let camera = CameraPublisher::new(&node, "/camera").await?;
    camera.wait_for_subscribers(Duration::from_secs(5)).await;
    let (width, height) = (320u32, 240u32);
    let mut image = Image {
        height,
        width,
        encoding: "rgb8".into(),
        step: width * 3,
        data: vec![0; (width * height * 3) as usize],
        ..Default::default()
    };
    let info = CameraInfo {
        height,
        width,
        distortion_model: "plumb_bob".into(),
        d: vec![-0.28, 0.07, 0.0, 0.0, 0.0],
        k: [262.5, 0.0, 160.0, 0.0, 262.5, 120.0, 0.0, 0.0, 1.0],
        ..Default::default()
    };
    let mut tick = tokio::time::interval(fps.period());
    for frame in 1u64.. {
        tick.tick().await;
        image.header = Header {
            stamp: Time::from_nanos(rosync::time::now_nanos()),
            frame_id: "camera_optical".into(),
        };
        image.data.fill((frame % 256) as u8);
        camera.publish(&image, &info).await?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter("info,zenoh=warn")
        .init();
    let args = Args::parse();
    let robot = args.network.build_node("robot").await?;
    let camera = args.network.build_node("camera").await?;
    let fusion = args.network.build_node("fusion").await?;

    // The fusion node: images -> tf filter (odom) -> ExactTime <- camera info.
    let listener = TransformListener::new(&fusion, Buffer::default()).await?;
    let buffer = listener.buffer().clone();
    let images = SubscriberFilter::<Image>::new(&fusion, "/camera/image_raw", 10).await?;
    let infos = SubscriberFilter::<CameraInfo>::new(&fusion, "/camera/camera_info", 10).await?;
    let tf_filter = Arc::new(
        MessageFilter::<Image>::builder(buffer.clone(), ["odom"])
            .queue_size(10)
            .timeout(Duration::from_secs(1))
            .build(),
    );
    let _image_link = connect_input(&images, &tf_filter);
    let sync = Synchronizer::<(Image, CameraInfo)>::new(ExactTime::new(2, 10)?)?;
    let _links = (
        sync.connect_input::<0, _>(&*tf_filter),
        sync.connect_input::<1, _>(&infos),
    );
    tf_filter.on_drop(|drop| {
        println!(
            "tf filter dropped an image stamped {:.6} s ({}){}",
            drop.stamp.as_secs_f64(),
            drop.reason,
            drop.error
                .as_ref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        );
    });
    let fused = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&fused);
    sync.register_callback(move |(image, info): (Arc<Image>, Arc<CameraInfo>)| {
        let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
        if n % 30 != 1 {
            return;
        }
        // The filter guaranteed this lookup succeeds at the image's stamp.
        match buffer.lookup_transform("odom", image.frame_id(), image.stamp()) {
            Ok(t) => {
                let p = t.transform.translation;
                println!(
                    "fused #{n}: {}x{} image + {} info at {:.3} s, camera at ({:.3}, {:.3}, {:.3}) in odom",
                    image.width,
                    image.height,
                    info.distortion_model,
                    image.stamp().as_secs_f64(),
                    p.x,
                    p.y,
                    p.z
                );
            }
            Err(e) => println!("fused #{n}: lookup failed: {e}"),
        }
    });
    sync.on_drop(|drop| {
        let channel = ["image", "camera_info"].get(drop.channel).unwrap_or(&"?");
        println!(
            "synchronizer dropped {channel} stamped {:.6} s ({})",
            drop.stamp as f64 * 1e-9,
            drop.reason
        );
    });

    let robot_task = tokio::spawn(run_robot(robot, args.tf_rate));
    let camera_task = tokio::spawn(run_camera(camera, args.fps));
    let mut second = tokio::time::interval(Duration::from_secs(1));
    second.tick().await;
    let mut elapsed = 0;
    loop {
        tokio::select! {
            _ = second.tick() => {
                elapsed += 1;
                let (sets, tf) = (sync.stats(), tf_filter.stats());
                let tf_stats = listener.stats();
                println!(
                    "[{elapsed:>3} s] fused {} | tf filter passed {} held {} dropped {} | transforms {} | sync dropped {}",
                    sets.sets,
                    tf.passed,
                    tf.pending,
                    tf.dropped_total(),
                    tf_stats.stored,
                    sets.dropped_total()
                );
                if args.seconds > 0 && elapsed >= args.seconds {
                    break;
                }
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    robot_task.abort();
    camera_task.abort();
    let (sets, tf) = (sync.stats(), tf_filter.stats());
    println!(
        "done: {} fused frames, tf filter dropped {}, synchronizer dropped {}",
        sets.sets,
        tf.dropped_total(),
        sets.dropped_total()
    );
    Ok(())
}
