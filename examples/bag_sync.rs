//! Offline synchronization: read a log and feed a synchronizer directly, with no network.
//! The same log always gives the same sets, so parameters can be tuned on recorded data.
//!
//! cargo run --example bag_sync -- [LOG] [--image-topic T] [--info-topic T] [--queue N] [--max-interval S]
//!
//! Without LOG it first writes a demo log (30 Hz camera, jittered stamps, dropped frames).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use clap::Parser;
use rosync::bag::{BagWriter, Log, WriterOptions};
use rosync::cli::args::{whole, Seconds};
use rosync::msg::sensor_msgs::{CameraInfo, Image};
use rosync::msg::Stamped;
use rosync::sync::{ApproximateTime, Synchronizer};
use rosync::Time;

#[derive(Parser)]
#[command(about = "Join Image and CameraInfo from a log with ApproximateTime, offline")]
struct Args {
    /// The log (MCAP file or rosbag2 folder); default: write and use a demo log.
    log: Option<PathBuf>,
    /// The image topic.
    #[arg(long, default_value = "/camera/image_raw")]
    image_topic: String,
    /// The camera info topic.
    #[arg(long, default_value = "/camera/camera_info")]
    info_topic: String,
    /// ApproximateTime queue size.
    #[arg(long, default_value_t = 10, allow_hyphen_values = true, value_parser = whole::<usize>(1, u32::MAX.into()))]
    queue: usize,
    /// ApproximateTime max interval duration, in seconds.
    #[arg(long, allow_hyphen_values = true)]
    max_interval: Option<Seconds>,
}

/// Ten seconds of a 30 Hz camera: stamps jittered by up to 3 ms, every 13th image missing,
/// CameraInfo stamped 1 ms after its image.
fn write_demo(path: &PathBuf) -> Result<(), Box<dyn std::error::Error>> {
    let mut bag = BagWriter::create(path, WriterOptions::default())?;
    let start: u64 = 1_700_000_000_000_000_000;
    for frame in 0..300u64 {
        let jitter = (frame * 7919 % 7) as i64 * 1_000_000 - 3_000_000;
        let stamp = Time::from_nanos(start as i64 + frame as i64 * 33_333_333 + jitter);
        let log_time = start + frame * 33_333_333 + 5_000_000;
        let mut image = Image {
            width: 4,
            height: 2,
            encoding: "mono8".into(),
            step: 4,
            ..Default::default()
        };
        image.header.stamp = stamp;
        image.data = vec![frame as u8; 8];
        let mut info = CameraInfo {
            width: 4,
            height: 2,
            ..Default::default()
        };
        info.header.stamp = Time::from_nanos(stamp.as_nanos() + 1_000_000);
        if frame % 13 != 5 {
            bag.write_message("/camera/image_raw", log_time, &image)?;
        }
        bag.write_message("/camera/camera_info", log_time + 200_000, &info)?;
    }
    bag.finish()?;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let path = match args.log {
        Some(path) => path,
        None => {
            let path = std::env::temp_dir().join("rosync_bag_sync_demo.mcap");
            write_demo(&path)?;
            println!("wrote demo log {}", path.display());
            path
        }
    };
    let log = Log::open(&path)?;

    let mut policy = ApproximateTime::new(2, args.queue)?;
    if let Some(seconds) = args.max_interval {
        policy = policy.max_interval_duration(seconds.as_nanos_i64())?;
    }
    let sync = Synchronizer::<(Image, CameraInfo)>::new(policy)?;
    let pairs = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&pairs);
    sync.register_callback(move |(image, info): (Arc<Image>, Arc<CameraInfo>)| {
        let skew = info.stamp().as_nanos() - image.stamp().as_nanos();
        if let Ok(mut pairs) = seen.lock() {
            pairs.push((image.stamp(), skew));
        }
    });
    sync.on_drop(|drop| {
        println!(
            "dropped channel {} at {} ns: {}",
            drop.channel, drop.stamp, drop.reason
        )
    });

    // Feed both topics in log-time order, decoded and typed.
    let topics = [args.image_topic.as_str(), args.info_topic.as_str()];
    for message in log.messages_on(&topics) {
        let message = message?;
        if *message.topic == *args.image_topic {
            sync.add::<0>(Arc::new(message.decode::<Image>()?));
        } else {
            sync.add::<1>(Arc::new(message.decode::<CameraInfo>()?));
        }
    }

    let pairs = pairs.lock().map_err(|_| "poisoned")?;
    for (stamp, skew) in pairs.iter().take(5) {
        println!(
            "pair at {:.6} s, camera info {:+.3} ms after the image",
            stamp.as_secs_f64(),
            *skew as f64 / 1e6
        );
    }
    let stats = sync.stats();
    println!(
        "{} pairs from {} images and {} camera infos; {} dropped; {} pending",
        stats.sets,
        stats.received[0],
        stats.received[1],
        stats.dropped_total(),
        stats.pending
    );
    Ok(())
}
