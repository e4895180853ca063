//! A 1920x1080 rgb8 `Image` from a publisher process to a subscriber process on this host:
//! publish-to-callback latency (p50) through rosync's typed API with shared memory (a borrowed
//! view, and the owned message), beside raw zenoh with shared memory (the publisher fills a
//! shared-memory buffer with the same CDR bytes) and raw zenoh over TCP loopback (shared memory
//! off on both sessions), alternating rounds in one run.
//!
//! cargo bench --bench shm_image
//!
//! The bench starts itself again as the publisher process (`SHM_IMAGE_PEER` set). Latency is
//! the subscriber's system time at the callback minus the publisher's system time written
//! into the image's header stamp just before publishing (one clock: the same host).

#[path = "common.rs"]
mod common;

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rosync::msg::builtin_interfaces::Time;
use rosync::msg::sensor_msgs::Image;
use rosync::msg::views::ImageView;
use rosync::node::{Node, SharedMemory};
use rosync::time::now_nanos;
use zenoh::bytes::ZBytes;
use zenoh::Wait;

const WIDTH: u32 = 1920;
const HEIGHT: u32 = 1080;
/// Images per round; the first few (pool creation, first mapping) are not counted.
const IMAGES: usize = 60;
const WARM_UP: usize = 5;
const PERIOD: Duration = Duration::from_millis(25);
const ROUNDS: usize = 3;

fn image() -> Image {
    common::rgb8(
        Default::default(),
        WIDTH,
        HEIGHT,
        (0..WIDTH * HEIGHT * 3).map(|i| (i % 251) as u8).collect(),
    )
}

/// Writes `nanos` as the header stamp of a CDR-encoded image (bytes 4..12 after the
/// encapsulation header: sec i32, nanosec u32, little-endian).
fn stamp_cdr(payload: &mut [u8], nanos: i64) {
    let time = Time::from_nanos(nanos);
    payload[4..8].copy_from_slice(&time.sec.to_le_bytes());
    payload[8..12].copy_from_slice(&time.nanosec.to_le_bytes());
}

/// The stamp of a CDR-encoded image, read back.
fn read_stamp(payload: &[u8]) -> Option<i64> {
    let sec = i32::from_le_bytes(payload.get(4..8)?.try_into().ok()?);
    let nanosec = u32::from_le_bytes(payload.get(8..12)?.try_into().ok()?);
    Some(Time { sec, nanosec }.as_nanos())
}

/// The publisher process: `IMAGES` images, one per `PERIOD`, once a subscriber matches.
async fn publisher(role: &str, endpoint: &str) {
    let shared_memory = match role {
        "raw-tcp" => SharedMemory::disabled(),
        _ => SharedMemory::default(),
    };
    let node = Node::builder("shm_image_pub")
        .connect(endpoint)
        .shared_memory(shared_memory)
        .build()
        .await
        .expect("node");
    let mut msg = image();
    match role {
        "typed" => {
            let publisher = node.publisher::<Image>("/image").await.expect("pub");
            publisher
                .wait_for_subscribers(Duration::from_secs(10))
                .await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            for _ in 0..IMAGES {
                msg.header.stamp = Time::from_nanos(now_nanos());
                publisher.publish(&msg).await.expect("publishes");
                tokio::time::sleep(PERIOD).await;
            }
            assert!(
                node.shm_stats().published >= IMAGES as u64,
                "{:?}",
                node.shm_stats()
            );
        }
        "raw-tcp" | "raw-shm" => {
            let mut payload = rosync::cdr::encode(&msg).expect("encodes");
            let publisher = node
                .session()
                .declare_publisher("raw/image")
                .await
                .expect("pub");
            while !publisher
                .matching_status()
                .await
                .map(|s| s.matching())
                .unwrap_or(false)
            {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            let provider = (role == "raw-shm").then(|| {
                zenoh::shm::ShmProviderBuilder::default_backend(
                    rosync::node::shm::DEFAULT_SHM_POOL_SIZE,
                )
                .wait()
                .expect("shared memory pool")
            });
            for _ in 0..IMAGES {
                stamp_cdr(&mut payload, now_nanos());
                let bytes = match &provider {
                    Some(provider) => {
                        let mut buf = provider
                            .alloc(payload.len())
                            .with_policy::<zenoh::shm::BlockOn<zenoh::shm::GarbageCollect>>()
                            .wait()
                            .expect("shared memory buffer");
                        buf.copy_from_slice(&payload);
                        ZBytes::from(buf)
                    }
                    None => ZBytes::from(payload.clone()),
                };
                publisher.put(bytes).await.expect("puts");
                tokio::time::sleep(PERIOD).await;
            }
        }
        other => panic!("unknown role {other}"),
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
}

/// Latencies (ns) seen by a subscriber callback, and how many arrived through shared memory.
#[derive(Default)]
struct Latencies {
    ns: Mutex<Vec<i64>>,
}

impl Latencies {
    fn add(&self, stamp: Option<i64>) {
        if let Some(stamp) = stamp {
            let latency = now_nanos() - stamp;
            self.ns.lock().expect("latencies").push(latency);
        }
    }

    fn p50(&self) -> Duration {
        let mut ns: Vec<i64> = self
            .ns
            .lock()
            .expect("latencies")
            .iter()
            .skip(WARM_UP)
            .copied()
            .collect();
        ns.sort();
        let p50 = ns.get(ns.len() / 2).copied().unwrap_or(i64::MAX);
        Duration::from_nanos(p50.max(0) as u64)
    }
}

fn run_publisher(role: &str, endpoint: &str) {
    let status = Command::new(std::env::current_exe().expect("bench binary"))
        .env("SHM_IMAGE_PEER", role)
        .env("SHM_IMAGE_ENDPOINT", endpoint)
        .stdin(Stdio::null())
        .status()
        .expect("publisher process");
    assert!(status.success(), "publisher process {role} failed");
}

/// Runs the publisher process for one variant and waits for it to end.
async fn publish_from_process(role: &'static str, endpoint: &str) {
    let endpoint = endpoint.to_string();
    tokio::task::spawn_blocking(move || run_publisher(role, &endpoint))
        .await
        .expect("publisher thread");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if let Ok(role) = std::env::var("SHM_IMAGE_PEER") {
        let endpoint = std::env::var("SHM_IMAGE_ENDPOINT").expect("SHM_IMAGE_ENDPOINT");
        publisher(&role, &endpoint).await;
        return;
    }
    let (shm_endpoint, tcp_endpoint) = (common::endpoint(), common::endpoint());
    let shm_node = Node::builder("shm_image_sub")
        .listen(&shm_endpoint)
        .build()
        .await
        .expect("node");
    let tcp_node = Node::builder("tcp_image_sub")
        .listen(&tcp_endpoint)
        .shared_memory(SharedMemory::disabled())
        .build()
        .await
        .expect("node");
    let mut best = [Duration::MAX; 4];
    let mut in_shm = [0u64; 4];
    for _ in 0..ROUNDS {
        // Raw zenoh over TCP loopback.
        let lat = Arc::new(Latencies::default());
        let (l, shm_count) = (
            Arc::clone(&lat),
            Arc::new(std::sync::atomic::AtomicU64::new(0)),
        );
        let counted = Arc::clone(&shm_count);
        let sub = tcp_node
            .session()
            .declare_subscriber("raw/image")
            .callback(move |sample| {
                let first = sample.payload().slices().next().unwrap_or_default();
                l.add(read_stamp(first));
                if rosync::node::shm::is_shared_memory(sample.payload()) {
                    counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            })
            .await
            .expect("sub");
        publish_from_process("raw-tcp", &tcp_endpoint).await;
        drop(sub);
        best[0] = best[0].min(lat.p50());
        in_shm[0] += shm_count.load(std::sync::atomic::Ordering::Relaxed);

        // Raw zenoh with shared memory.
        let lat = Arc::new(Latencies::default());
        let (l, shm_count) = (
            Arc::clone(&lat),
            Arc::new(std::sync::atomic::AtomicU64::new(0)),
        );
        let counted = Arc::clone(&shm_count);
        let sub = shm_node
            .session()
            .declare_subscriber("raw/image")
            .callback(move |sample| {
                let first = sample.payload().slices().next().unwrap_or_default();
                l.add(read_stamp(first));
                if rosync::node::shm::is_shared_memory(sample.payload()) {
                    counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            })
            .await
            .expect("sub");
        publish_from_process("raw-shm", &shm_endpoint).await;
        drop(sub);
        best[1] = best[1].min(lat.p50());
        in_shm[1] += shm_count.load(std::sync::atomic::Ordering::Relaxed);

        // rosync, borrowed view.
        let lat = Arc::new(Latencies::default());
        let (l, shm_count) = (
            Arc::clone(&lat),
            Arc::new(std::sync::atomic::AtomicU64::new(0)),
        );
        let counted = Arc::clone(&shm_count);
        let sub = shm_node
            .subscriber::<Image>("/image")
            .loaned_callback(move |loaned| {
                let view: ImageView = loaned.view().expect("an image");
                std::hint::black_box(view.data[view.data.len() / 2]);
                l.add(Some(view.header.stamp.as_nanos()));
                if loaned.is_shared_memory() {
                    counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            })
            .await
            .expect("sub");
        publish_from_process("typed", &shm_endpoint).await;
        drop(sub);
        best[2] = best[2].min(lat.p50());
        in_shm[2] += shm_count.load(std::sync::atomic::Ordering::Relaxed);

        // rosync, owned message.
        let lat = Arc::new(Latencies::default());
        let l = Arc::clone(&lat);
        let sub = shm_node
            .subscriber::<Image>("/image")
            .callback(move |image: Image| {
                std::hint::black_box(image.data[image.data.len() / 2]);
                l.add(Some(image.header.stamp.as_nanos()));
            })
            .await
            .expect("sub");
        publish_from_process("typed", &shm_endpoint).await;
        drop(sub);
        best[3] = best[3].min(lat.p50());
    }
    let received = (ROUNDS * IMAGES) as u64;
    println!(
        "1920x1080 rgb8 Image, publisher process -> subscriber callback, p50 (best of {ROUNDS} rounds; \
         in shared memory: raw tcp {}/{received}, raw shm {}/{received}, view {}/{received}):",
        in_shm[0], in_shm[1], in_shm[2]
    );
    common::report("borrowed view (shm)", best[2], "raw zenoh shm", best[1]);
    common::report("borrowed view (shm)", best[2], "raw zenoh tcp", best[0]);
    common::report("owned Image (shm)", best[3], "raw zenoh tcp", best[0]);
    common::report("raw zenoh shm", best[1], "raw zenoh tcp", best[0]);
}
