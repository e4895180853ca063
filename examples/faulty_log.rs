//! Writes a synthetic synchronization log with one known fault (the generator of
//! `tests/sync_inspect.rs`), to try `rosync sync inspect` on:
//!
//! cargo run --example faulty_log -- clock-offset --seconds 4 -o examples/clock_offset.mcap
//! cargo run -- sync inspect --bag examples/clock_offset.mcap \
//!     --topic /camera/image_raw --topic /camera/camera_info -o report.html

#[path = "../tests/common/faulty_log.rs"]
mod faulty_log;

use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use faulty_log::Fault;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FaultName {
    /// A healthy 30 Hz camera (image and camera info).
    None,
    /// Camera info stamped by a clock 2.31 s behind the image's.
    ClockOffset,
    /// A 30 Hz camera delivered 40 ms late beside a 1 kHz IMU (`/imu`).
    RateMismatch,
    /// One image in 12 never arrives.
    DroppedFrames,
    /// Camera info starts 3 s after the image.
    LateStart,
    /// One camera info in 40 is stamped 5 s in the future.
    FutureStamps,
}

#[derive(Parser)]
#[command(about = "Write a synthetic log with a known synchronization fault")]
struct Args {
    /// The fault to inject.
    #[arg(value_enum)]
    fault: FaultName,
    /// Length of the log, in seconds.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// The MCAP file to write.
    #[arg(short = 'o', long, default_value = "faulty.mcap")]
    output: PathBuf,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if !(args.seconds.is_finite() && args.seconds > 0.0 && args.seconds <= 86_400.0) {
        return Err("--seconds must be above 0 and at most 86400".into());
    }
    let fault = match args.fault {
        FaultName::None => Fault::None,
        FaultName::ClockOffset => Fault::ClockOffset,
        FaultName::RateMismatch => Fault::RateMismatch,
        FaultName::DroppedFrames => Fault::DroppedFrames,
        FaultName::LateStart => Fault::LateStart,
        FaultName::FutureStamps => Fault::FutureStamps,
    };
    faulty_log::write_log(&args.output, fault, args.seconds)?;
    println!(
        "wrote {} ({:?}, {} s; topics {})",
        args.output.display(),
        fault,
        args.seconds,
        faulty_log::topics(fault).join(", ")
    );
    Ok(())
}
