//! A deterministic generator of synchronization logs with known faults, for `sync inspect`'s
//! tests and examples: a 30 Hz camera (image and camera info) or a camera and a 1 kHz IMU,
//! with stamp jitter and receive latency, and one injected fault.
//!
//! Uses only rosync's public API, so examples can include it with `#[path]`.
#![allow(dead_code)]

use std::path::Path;

use rosync::bag::{BagWriter, WriterOptions};
use rosync::msg::sensor_msgs::{CameraInfo, Image, Imu};
use rosync::sync::inspect::Recording;
use rosync::Time;

/// The fault a generated log carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// None: a healthy 30 Hz camera.
    None,
    /// Camera info stamped by a clock 2.31 s behind the image's.
    ClockOffset,
    /// A 30 Hz camera delivered 40 ms late beside a 1 kHz IMU delivered at once.
    RateMismatch,
    /// One image in 12 (pseudo-randomly) never arrives.
    DroppedFrames,
    /// Camera info starts 3 s after the image.
    LateStart,
    /// One camera info in 40 is stamped 5 s in the future.
    FutureStamps,
}

/// Every fault, the healthy case first.
pub const FAULTS: [Fault; 6] = [
    Fault::None,
    Fault::ClockOffset,
    Fault::RateMismatch,
    Fault::DroppedFrames,
    Fault::LateStart,
    Fault::FutureStamps,
];

/// Image topic.
pub const IMAGE: &str = "/camera/image_raw";
/// Camera info topic.
pub const INFO: &str = "/camera/camera_info";
/// IMU topic.
pub const IMU: &str = "/imu";

/// First stamp of every log, ns (2023-11-14).
pub const START: i64 = 1_700_000_000_000_000_000;

/// One generated message: topic index, header stamp and log (receive) time, ns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Synthetic {
    /// Index into [`topics`].
    pub channel: usize,
    /// Header stamp.
    pub stamp: i64,
    /// Log time.
    pub log_time: i64,
}

/// The topics of a log with `fault`.
pub fn topics(fault: Fault) -> [&'static str; 2] {
    match fault {
        Fault::RateMismatch => [IMAGE, IMU],
        _ => [IMAGE, INFO],
    }
}

/// xorshift64*: the same numbers on every run.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [-half, half].
    fn jitter(&mut self, half: i64) -> i64 {
        if half == 0 {
            return 0;
        }
        (self.next() % (2 * half as u64 + 1)) as i64 - half
    }
}

/// The messages of `seconds` of a log with `fault`, in log-time order.
pub fn messages(fault: Fault, seconds: f64) -> Vec<Synthetic> {
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    let mut out = Vec::new();
    let end = START + (seconds * 1e9) as i64;
    let camera_period = 33_333_333;
    let camera_latency = if fault == Fault::RateMismatch {
        40_000_000
    } else {
        15_000_000
    };
    let mut frame = 0i64;
    loop {
        let nominal = START + frame * camera_period;
        if nominal >= end {
            break;
        }
        let stamp = nominal + noise.jitter(2_000_000);
        let log_time = stamp + camera_latency + noise.jitter(3_000_000);
        let dropped = fault == Fault::DroppedFrames && noise.next() % 12 == 0;
        if !dropped {
            out.push(Synthetic {
                channel: 0,
                stamp,
                log_time,
            });
        }
        if fault != Fault::RateMismatch {
            let mut info_stamp = stamp + noise.jitter(1_000_000);
            let info_log = log_time + 1_000_000 + noise.jitter(500_000);
            match fault {
                Fault::ClockOffset => info_stamp -= 2_310_000_000,
                Fault::FutureStamps if frame % 40 == 17 => info_stamp += 5_000_000_000,
                _ => {}
            }
            let late = fault == Fault::LateStart && nominal < START + 3_000_000_000;
            if !late {
                out.push(Synthetic {
                    channel: 1,
                    stamp: info_stamp,
                    log_time: info_log,
                });
            }
        }
        frame += 1;
    }
    if fault == Fault::RateMismatch {
        let mut i = 0i64;
        loop {
            let stamp = START + i * 1_000_000 + noise.jitter(50_000);
            if stamp >= end {
                break;
            }
            out.push(Synthetic {
                channel: 1,
                stamp,
                log_time: stamp + 1_000_000 + noise.jitter(300_000),
            });
            i += 1;
        }
    }
    out.sort_by_key(|m| (m.log_time, m.channel));
    out
}

/// The inspector's recording of `seconds` of a log with `fault`.
pub fn recording(fault: Fault, seconds: f64) -> Recording {
    let names = topics(fault).iter().map(|t| t.to_string()).collect();
    let mut rec = Recording::new(names).expect("two topics");
    for m in messages(fault, seconds) {
        rec.push(m.channel, m.stamp, Some(m.log_time))
            .expect("known topic");
    }
    rec
}

/// Writes `seconds` of a log with `fault` as an MCAP file of tiny images, camera infos and
/// IMU messages.
pub fn write_log(path: &Path, fault: Fault, seconds: f64) -> rosync::bag::Result<()> {
    let mut bag = BagWriter::create(path, WriterOptions::default())?;
    let names = topics(fault);
    for m in messages(fault, seconds) {
        let topic = names[m.channel];
        let log_time = u64::try_from(m.log_time).unwrap_or(0);
        let stamp = Time::from_nanos(m.stamp);
        match topic {
            IMAGE => {
                let mut image = Image {
                    width: 4,
                    height: 2,
                    encoding: "mono8".into(),
                    step: 4,
                    data: vec![0; 8],
                    ..Default::default()
                };
                image.header.stamp = stamp;
                image.header.frame_id = "camera".into();
                bag.write_message(topic, log_time, &image)?;
            }
            INFO => {
                let mut info = CameraInfo {
                    width: 4,
                    height: 2,
                    distortion_model: "plumb_bob".into(),
                    ..Default::default()
                };
                info.header.stamp = stamp;
                info.header.frame_id = "camera".into();
                bag.write_message(topic, log_time, &info)?;
            }
            _ => {
                let mut imu = Imu::default();
                imu.header.stamp = stamp;
                imu.header.frame_id = "imu".into();
                bag.write_message(topic, log_time, &imu)?;
            }
        }
    }
    bag.finish()?;
    Ok(())
}
