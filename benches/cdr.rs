//! CDR encode/decode of a 1920x1080 rgb8 Image and a CameraInfo, beside a memcpy of the same bytes.
//!
//! cargo bench --bench cdr

#[path = "common.rs"]
mod common;

use std::hint::black_box;

use common::{header, median_time, report, rgb8};
use rosync::cdr;
use rosync::msg::sensor_msgs;

fn image() -> sensor_msgs::Image {
    let (width, height) = (1920u32, 1080u32);
    rgb8(
        header(1_700_000_000_000_000_000, "camera_optical"),
        width,
        height,
        (0..width * height * 3).map(|i| (i % 253) as u8).collect(),
    )
}

fn camera_info() -> sensor_msgs::CameraInfo {
    sensor_msgs::CameraInfo {
        header: header(1_700_000_000_000_000_000, "camera_optical"),
        height: 1080,
        width: 1920,
        distortion_model: "plumb_bob".into(),
        d: vec![-0.28, 0.07, 0.0002, 0.00002, 0.0],
        k: [1000.0, 0.0, 960.0, 0.0, 1000.0, 540.0, 0.0, 0.0, 1.0],
        r: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
        p: [
            1000.0, 0.0, 960.0, 0.0, 0.0, 1000.0, 540.0, 0.0, 0.0, 0.0, 1.0, 0.0,
        ],
        ..Default::default()
    }
}

fn main() {
    let image = image();
    let bytes = cdr::encode(&image).expect("encodes");
    println!("Image 1920x1080 rgb8: {} bytes of CDR", bytes.len());
    let memcpy = median_time(60, || {
        black_box(black_box(&bytes[..]).to_vec());
    });
    let decode = median_time(60, || {
        black_box(cdr::decode::<sensor_msgs::Image>(black_box(&bytes)).expect("decodes"));
    });
    let encode = median_time(60, || {
        black_box(cdr::encode(black_box(&image)).expect("encodes"));
    });
    report(
        "Image decode (cdr::decode)",
        decode,
        "memcpy of the payload",
        memcpy,
    );
    report(
        "Image encode (cdr::encode)",
        encode,
        "memcpy of the payload",
        memcpy,
    );

    let info = camera_info();
    let info_bytes = cdr::encode(&info).expect("encodes");
    println!(
        "CameraInfo: {} bytes of CDR (times per 1000 messages)",
        info_bytes.len()
    );
    let memcpy = median_time(200, || {
        for _ in 0..1000 {
            black_box(black_box(&info_bytes[..]).to_vec());
        }
    });
    let decode = median_time(200, || {
        for _ in 0..1000 {
            black_box(cdr::decode::<sensor_msgs::CameraInfo>(black_box(&info_bytes)).expect("ok"));
        }
    });
    let encode = median_time(200, || {
        for _ in 0..1000 {
            black_box(cdr::encode(black_box(&info)).expect("encodes"));
        }
    });
    report(
        "CameraInfo decode x1000",
        decode,
        "memcpy of the payload x1000",
        memcpy,
    );
    report(
        "CameraInfo encode x1000",
        encode,
        "memcpy of the payload x1000",
        memcpy,
    );
}
