//! Loopback publish -> subscribe of an Image and a CameraInfo through rosync's typed API,
//! beside a raw zenoh put/receive of the same payload bytes on the same two sessions (shared
//! memory off: the network path; `--bench shm_image` measures shared memory), and where the
//! typed path's extra time goes (encoding, decoding).
//!
//! cargo bench --bench pubsub

#[path = "common.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{median_time, report};
use rosync::cdr;
use rosync::msg::{sensor_msgs, Message};
use rosync::node::{Node, SharedMemory};
use zenoh::bytes::ZBytes;

/// How long a message may take before it counts as dropped (and the next one is sent).
const LOST_AFTER: Duration = Duration::from_secs(2);

/// The times of `count` sequential publish -> receive round trips, typed.
async fn typed<T: Message>(a: &Node, b: &Node, topic: &str, msg: &T, count: u32) -> Vec<Duration> {
    let sub = b.subscriber::<T>(topic).queue_size(4).await.expect("sub");
    let publisher = a.publisher::<T>(topic).await.expect("pub");
    publisher
        .wait_for_subscribers(Duration::from_secs(10))
        .await;
    let mut times = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let start = Instant::now();
        publisher.publish(msg).await.expect("publishes");
        // A keep-last publisher may drop a message when congested: not timed, counted.
        match tokio::time::timeout(LOST_AFTER, sub.recv()).await {
            Ok(received) => std::hint::black_box(received.expect("receives")),
            Err(_) => {
                eprintln!("{topic}: typed message lost");
                continue;
            }
        };
        times.push(start.elapsed());
    }
    times
}

/// The same with plain zenoh: put of prepared bytes, receive and make them contiguous.
async fn raw(a: &Node, b: &Node, key: &str, payload: &[u8], count: u32) -> Vec<Duration> {
    let sub = b.session().declare_subscriber(key).await.expect("sub");
    let publisher = a.session().declare_publisher(key).await.expect("pub");
    common::wait_matching(&publisher).await;
    let bytes = ZBytes::from(payload.to_vec());
    let mut times = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let start = Instant::now();
        publisher.put(bytes.clone()).await.expect("puts");
        let Ok(sample) = tokio::time::timeout(LOST_AFTER, sub.recv_async()).await else {
            eprintln!("{key}: raw message lost");
            continue;
        };
        std::hint::black_box(sample.expect("receives").payload().to_bytes());
        times.push(start.elapsed());
    }
    times
}

/// The median of all the times.
fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or(Duration::MAX)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let domain = rosync::node::domain_id_from_env();
    let ep = common::endpoint();
    let a = Node::builder("bench_pub")
        .domain_id(domain)
        .listen(&ep)
        .shared_memory(SharedMemory::disabled())
        .build()
        .await
        .expect("node");
    let b = Node::builder("bench_sub")
        .domain_id(domain)
        .connect(&ep)
        .shared_memory(SharedMemory::disabled())
        .build()
        .await
        .expect("node");
    tokio::time::sleep(Duration::from_millis(300)).await;

    let (width, height) = (1920u32, 1080u32);
    let image = common::rgb8(
        Default::default(),
        width,
        height,
        (0..width * height * 3).map(|i| (i % 253) as u8).collect(),
    );
    let info = sensor_msgs::CameraInfo {
        height,
        width,
        distortion_model: "plumb_bob".into(),
        d: vec![0.1; 5],
        ..Default::default()
    };
    let image_bytes = cdr::encode(&image).expect("encodes");
    let info_bytes = cdr::encode(&info).expect("encodes");
    // Alternate rounds so both sides see the same machine conditions; the median message of
    // all rounds (a burst of the shared machine's other work moves a mean, not a median).
    let (mut t_img, mut r_img, mut t_info, mut r_info) = (vec![], vec![], vec![], vec![]);
    for round in 0..5 {
        t_img.extend(typed(&a, &b, &format!("/img{round}"), &image, 40).await);
        r_img.extend(raw(&a, &b, &format!("raw/img{round}"), &image_bytes, 40).await);
        t_info.extend(typed(&a, &b, &format!("/info{round}"), &info, 1000).await);
        r_info.extend(raw(&a, &b, &format!("raw/info{round}"), &info_bytes, 1000).await);
    }
    let (t_img, r_img, t_info, r_info) =
        (median(t_img), median(r_img), median(t_info), median(r_info));
    println!("Loopback publish -> receive, one message at a time (median time per message):");
    report(
        "Image 1920x1080 typed pub/sub",
        t_img,
        "raw zenoh put/receive",
        r_img,
    );
    report(
        "CameraInfo typed pub/sub",
        t_info,
        "raw zenoh put/receive",
        r_info,
    );
    // Where the typed path's extra time goes: the encoding (into a reused buffer, as publish
    // does) and the decoding of the same bytes (in 64 KiB pieces, as zenoh delivers them),
    // beside the round trip; the rest (attachment, queue, wake-up) is the remainder.
    let mut buf = Vec::new();
    let encode = median_time(30, || {
        buf.clear();
        buf.reserve(cdr::encoded_len(&image));
        cdr::encode_into(&image, &mut buf).expect("encodes");
        std::hint::black_box(&buf);
    });
    let pieces: Vec<&[u8]> = image_bytes.chunks(65_000).collect();
    let decode = median_time(30, || {
        std::hint::black_box(
            cdr::decode_segments::<sensor_msgs::Image>(pieces.iter().copied()).expect("decodes"),
        );
    });
    let copy = median_time(30, || {
        std::hint::black_box(ZBytes::from(image_bytes.clone()).to_bytes().len());
    });
    println!("Where the Image time goes (one message):");
    report(
        "CDR encode into a reused buffer",
        encode,
        "typed - raw round trip",
        t_img.saturating_sub(r_img),
    );
    report(
        "CDR decode from 64 KiB pieces",
        decode,
        "one copy of the payload",
        copy,
    );
    let small = median_time(2000, || {
        std::hint::black_box(cdr::decode::<sensor_msgs::CameraInfo>(&info_bytes).expect("decodes"));
    });
    report(
        "CameraInfo CDR encode + decode",
        median_time(2000, || {
            std::hint::black_box(cdr::encode(&info).expect("encodes"));
        }) + small,
        "raw round trip",
        r_info,
    );
}
