//! A 1920x1080 rgb8 `Image` from a publisher process to a subscriber process on this host:
//! publish-to-callback latency (p50) through rosync's typed API with shared memory (a borrowed
//! view, and the owned message), beside raw zenoh with shared memory (the publisher fills a
//! shared-memory buffer with the same CDR bytes) and raw zenoh over TCP loopback (shared memory
//! off on both sessions), alternating rounds in one run.
//!
//! cargo bench --bench shm_image
//!
//! Two definitions of the span, each applied to rosync and raw zenoh alike:
//! - copy inside: the stamp is taken before the publisher writes the pixels (`publish(&image)`;
//!   raw zenoh allocates a buffer, copies the payload in, `put`s it);
//! - loaned (zero-copy publishing, as a camera driver writing its pixels straight into a
//!   loaned message): the pixels are written first, the stamp is taken at the publish call of
//!   the complete message (`borrow_loaned_message`, fill, `publish`; raw zenoh allocates,
//!   fills, then `put`s).
//!
//! The bench starts itself again as the publisher process (`SHM_IMAGE_PEER` set), which also
//! reports how long its own steps took. Latency is the subscriber's system time at the callback
//! minus the publisher's system time written into the image's header stamp (one clock: the same
//! host); each figure is the median of every image of every round (after a warm-up per round).

#[path = "common.rs"]
mod common;

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
const IMAGES: usize = 50;
const WARM_UP: usize = 5;
const PERIOD: Duration = Duration::from_millis(25);
const ROUNDS: usize = 4;

fn image() -> Image {
    common::rgb8(
        Default::default(),
        WIDTH,
        HEIGHT,
        (0..WIDTH * HEIGHT * 3).map(|i| (i % 251) as u8).collect(),
    )
}

/// Writes `nanos` as the header stamp of a CDR-encoded image.
fn stamp_cdr(payload: &mut [u8], nanos: i64) {
    rosync::msg::set_header_stamp_in_cdr(payload, Time::from_nanos(nanos)).expect("an image");
}

/// How the publisher process publishes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Role {
    /// Raw zenoh, shared memory off: `put` of a copy of the payload.
    RawTcp,
    /// Raw zenoh: stamp, allocate a shared-memory buffer, copy the payload in, `put`.
    RawShm,
    /// Raw zenoh: allocate, copy the payload in, stamp, `put`.
    RawShmFilled,
    /// rosync: stamp, `publish(&image)`.
    Typed,
    /// rosync: `borrow_loaned_message`, write the pixels, stamp, `publish`.
    TypedLoaned,
}

impl Role {
    const ALL: [Role; 5] = [
        Role::RawTcp,
        Role::RawShm,
        Role::RawShmFilled,
        Role::Typed,
        Role::TypedLoaned,
    ];

    fn name(self) -> &'static str {
        match self {
            Role::RawTcp => "raw-tcp",
            Role::RawShm => "raw-shm",
            Role::RawShmFilled => "raw-shm-filled",
            Role::Typed => "typed",
            Role::TypedLoaned => "typed-loaned",
        }
    }

    fn from_name(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == name)
    }
}

/// Medians of the publisher's own steps, in µs: getting the buffer, writing the pixels
/// into it, and the publish call.
#[derive(Debug, Default, Clone, Copy)]
struct Steps {
    buffer: f64,
    write: f64,
    call: f64,
}

/// Per-image step times of the publisher process, printed as one line for the parent.
#[derive(Default)]
struct StepTimes {
    buffer: Vec<f64>,
    write: Vec<f64>,
    call: Vec<f64>,
}

impl StepTimes {
    fn median(values: &mut [f64]) -> f64 {
        values.sort_by(f64::total_cmp);
        values.get(values.len() / 2).copied().unwrap_or(0.0)
    }

    fn print(mut self) {
        println!(
            "steps {:.1} {:.1} {:.1}",
            Self::median(&mut self.buffer),
            Self::median(&mut self.write),
            Self::median(&mut self.call)
        );
    }
}

fn micros(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e6
}

/// The publisher process: `IMAGES` images, one per `PERIOD`, once a subscriber matches.
async fn publisher(role: Role, endpoint: &str) {
    let shared_memory = match role {
        Role::RawTcp => SharedMemory::disabled(),
        _ => SharedMemory::default(),
    };
    let node = Node::builder("shm_image_pub")
        .connect(endpoint)
        .shared_memory(shared_memory)
        .build()
        .await
        .expect("node");
    let mut msg = image();
    let mut steps = StepTimes::default();
    match role {
        Role::Typed | Role::TypedLoaned => {
            let publisher = node.publisher::<Image>("/image").await.expect("pub");
            publisher
                .wait_for_subscribers(Duration::from_secs(10))
                .await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            let template = Image {
                data: Vec::new(),
                ..msg.clone()
            };
            for _ in 0..IMAGES {
                if role == Role::Typed {
                    msg.header.stamp = Time::from_nanos(now_nanos());
                    let start = Instant::now();
                    publisher.publish(&msg).await.expect("publishes");
                    steps.call.push(micros(start));
                } else {
                    let start = Instant::now();
                    let mut loan = publisher
                        .borrow_loaned_message(template.clone(), msg.data.len())
                        .expect("a loan");
                    steps.buffer.push(micros(start));
                    let start = Instant::now();
                    loan.data_mut().copy_from_slice(&msg.data);
                    steps.write.push(micros(start));
                    loan.set_stamp(Time::from_nanos(now_nanos()));
                    let start = Instant::now();
                    loan.publish().await.expect("publishes");
                    steps.call.push(micros(start));
                }
                tokio::time::sleep(PERIOD).await;
            }
            assert!(
                node.shm_stats().published >= IMAGES as u64,
                "{:?}",
                node.shm_stats()
            );
        }
        Role::RawTcp | Role::RawShm | Role::RawShmFilled => {
            let mut payload = rosync::cdr::encode(&msg).expect("encodes");
            let publisher = node
                .session()
                .declare_publisher("raw/image")
                .await
                .expect("pub");
            common::wait_matching(&publisher).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            let provider = (role != Role::RawTcp).then(|| {
                zenoh::shm::ShmProviderBuilder::default_backend(
                    rosync::node::shm::DEFAULT_SHM_POOL_SIZE,
                )
                .wait()
                .expect("shared memory pool")
            });
            for _ in 0..IMAGES {
                let bytes = match &provider {
                    Some(provider) => {
                        if role == Role::RawShm {
                            stamp_cdr(&mut payload, now_nanos());
                        }
                        let start = Instant::now();
                        let mut buf = provider
                            .alloc(payload.len())
                            .with_policy::<zenoh::shm::BlockOn<zenoh::shm::GarbageCollect>>()
                            .wait()
                            .expect("shared memory buffer");
                        steps.buffer.push(micros(start));
                        let start = Instant::now();
                        buf.copy_from_slice(&payload);
                        steps.write.push(micros(start));
                        if role == Role::RawShmFilled {
                            stamp_cdr(&mut buf, now_nanos());
                        }
                        ZBytes::from(buf)
                    }
                    None => {
                        stamp_cdr(&mut payload, now_nanos());
                        ZBytes::from(payload.clone())
                    }
                };
                let start = Instant::now();
                publisher.put(bytes).await.expect("puts");
                steps.call.push(micros(start));
                tokio::time::sleep(PERIOD).await;
            }
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    steps.print();
}

/// Latencies (ns) seen by a subscriber callback, after each round's warm-up.
#[derive(Default)]
struct Latencies {
    ns: Mutex<Vec<i64>>,
    /// Of the samples seen, how many arrived through shared memory.
    in_shm: AtomicU64,
    /// Samples seen.
    seen: AtomicU64,
    /// rosync only: the attachment's source timestamp (taken in the publish call) to zenoh's
    /// callback in the subscriber, and that to the user's callback (ns).
    transport: Mutex<Vec<i64>>,
    dispatch: Mutex<Vec<i64>>,
}

impl Latencies {
    fn add(&self, stamp: Option<i64>, in_shm: bool) {
        self.seen.fetch_add(1, Ordering::Relaxed);
        if in_shm {
            self.in_shm.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(stamp) = stamp {
            let latency = now_nanos() - stamp;
            self.ns.lock().expect("latencies").push(latency);
        }
    }

    /// Splits a rosync message's latency at the publish call and zenoh's callback.
    fn split(&self, info: &rosync::node::MessageInfo) {
        if let Some(attachment) = &info.attachment {
            let now = now_nanos();
            let received = info.received_timestamp;
            let transport = received - attachment.source_timestamp;
            self.transport.lock().expect("split").push(transport);
            self.dispatch.lock().expect("split").push(now - received);
        }
    }

    /// This round's latencies without its warm-up.
    fn counted(&self) -> Vec<i64> {
        let ns = self.ns.lock().expect("latencies");
        ns.iter().skip(WARM_UP).copied().collect()
    }
}

fn p50(ns: &mut [i64]) -> Duration {
    ns.sort();
    let p50 = ns.get(ns.len() / 2).copied().unwrap_or(i64::MAX);
    Duration::from_nanos(p50.max(0) as u64)
}

/// Runs the publisher process for one variant and returns its step times.
fn run_publisher(role: Role, endpoint: &str) -> Steps {
    let output = Command::new(std::env::current_exe().expect("bench binary"))
        .env("SHM_IMAGE_PEER", role.name())
        .env("SHM_IMAGE_ENDPOINT", endpoint)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .expect("publisher process");
    assert!(output.status.success(), "publisher process {role:?} failed");
    let text = String::from_utf8_lossy(&output.stdout);
    let values: Vec<f64> = text
        .lines()
        .find_map(|l| l.strip_prefix("steps "))
        .map(|l| l.split(' ').filter_map(|v| v.parse().ok()).collect())
        .unwrap_or_default();
    match values[..] {
        [buffer, write, call] => Steps {
            buffer,
            write,
            call,
        },
        _ => Steps::default(),
    }
}

/// What the subscriber does with each image.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Receive {
    /// A raw zenoh callback reading the stamp.
    Raw,
    /// rosync's `loaned_callback`, reading an `ImageView`.
    View,
    /// rosync's `callback`, decoding the owned `Image`.
    Owned,
}

/// One measured variant: who publishes how, who receives how, and whether over TCP only.
struct Variant {
    name: &'static str,
    role: Role,
    receive: Receive,
    tcp_only: bool,
    latencies: Vec<i64>,
    round_p50: Vec<Duration>,
    transport: Vec<i64>,
    dispatch: Vec<i64>,
    in_shm: u64,
    seen: u64,
    steps: Vec<Steps>,
}

impl Variant {
    fn new(name: &'static str, role: Role, receive: Receive) -> Self {
        Self {
            name,
            role,
            receive,
            tcp_only: role == Role::RawTcp,
            latencies: Vec::new(),
            round_p50: Vec::new(),
            transport: Vec::new(),
            dispatch: Vec::new(),
            in_shm: 0,
            seen: 0,
            steps: Vec::new(),
        }
    }

    fn p50(&self) -> Duration {
        p50(&mut self.latencies.clone())
    }
}

/// Subscribes as `receive` asks, runs the publisher process, and returns what was seen.
async fn measure(node: &Node, variant: &Variant, endpoint: &str) -> (Arc<Latencies>, Steps) {
    let lat = Arc::new(Latencies::default());
    let l = Arc::clone(&lat);
    // Each subscription lives until the publisher process ended.
    let _guard: Box<dyn std::any::Any + Send> = match variant.receive {
        Receive::Raw => Box::new(
            node.session()
                .declare_subscriber("raw/image")
                .callback(move |sample| {
                    let first = sample.payload().slices().next().unwrap_or_default();
                    l.add(
                        rosync::msg::header_stamp_from_cdr(first),
                        rosync::node::shm::is_shared_memory(sample.payload()),
                    );
                })
                .await
                .expect("sub"),
        ),
        Receive::View => Box::new(
            node.subscriber::<Image>("/image")
                .loaned_callback(move |loaned| {
                    l.split(loaned.info());
                    let view: ImageView = loaned.view().expect("an image");
                    std::hint::black_box(view.data[view.data.len() / 2]);
                    l.add(
                        Some(view.header.stamp.as_nanos()),
                        loaned.is_shared_memory(),
                    );
                })
                .await
                .expect("sub"),
        ),
        Receive::Owned => Box::new(
            node.subscriber::<Image>("/image")
                .callback(move |image: Image| {
                    std::hint::black_box(image.data[image.data.len() / 2]);
                    l.add(Some(image.header.stamp.as_nanos()), false);
                })
                .await
                .expect("sub"),
        ),
    };
    let (role, endpoint) = (variant.role, endpoint.to_string());
    let steps = tokio::task::spawn_blocking(move || run_publisher(role, &endpoint))
        .await
        .expect("publisher thread");
    (lat, steps)
}

/// Prints one target line: `name: rosync X, baseline Y, ratio Zx (target ...)`.
fn target_line(name: &str, rosync: &Variant, baseline: &Variant, target: &str) {
    let (a, b) = (rosync.p50(), baseline.p50());
    println!(
        "{name}: rosync {:.3} ms, baseline {} {:.3} ms, ratio {:.2}x (target {target})",
        a.as_secs_f64() * 1e3,
        baseline.name,
        b.as_secs_f64() * 1e3,
        a.as_secs_f64() / b.as_secs_f64().max(1e-12)
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if let Ok(role) = std::env::var("SHM_IMAGE_PEER") {
        let endpoint = std::env::var("SHM_IMAGE_ENDPOINT").expect("SHM_IMAGE_ENDPOINT");
        let role = Role::from_name(&role).expect("a known role");
        publisher(role, &endpoint).await;
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
    let mut variants = [
        Variant::new("raw zenoh tcp", Role::RawTcp, Receive::Raw),
        Variant::new("raw zenoh shm", Role::RawShm, Receive::Raw),
        Variant::new("view", Role::Typed, Receive::View),
        Variant::new("owned", Role::Typed, Receive::Owned),
        Variant::new("raw zenoh shm, filled", Role::RawShmFilled, Receive::Raw),
        Variant::new("view, loaned", Role::TypedLoaned, Receive::View),
        Variant::new("owned, loaned", Role::TypedLoaned, Receive::Owned),
    ];
    for round in 0..ROUNDS {
        // Alternate the order, so that no variant always follows the same one.
        let order: Vec<usize> = match round % 2 {
            0 => (0..variants.len()).collect(),
            _ => (0..variants.len()).rev().collect(),
        };
        for i in order {
            let variant = &mut variants[i];
            let (node, endpoint) = match variant.tcp_only {
                true => (&tcp_node, &tcp_endpoint),
                false => (&shm_node, &shm_endpoint),
            };
            let (lat, steps) = measure(node, variant, endpoint).await;
            let mut counted = lat.counted();
            variant.round_p50.push(p50(&mut counted.clone()));
            variant.latencies.append(&mut counted);
            variant
                .transport
                .extend(lat.transport.lock().expect("split").iter().skip(WARM_UP));
            variant
                .dispatch
                .extend(lat.dispatch.lock().expect("split").iter().skip(WARM_UP));
            variant.in_shm += lat.in_shm.load(Ordering::Relaxed);
            variant.seen += lat.seen.load(Ordering::Relaxed);
            variant.steps.push(steps);
        }
    }
    println!(
        "1920x1080 rgb8 Image, publisher process -> subscriber callback, p50 of {} images \
         per variant ({ROUNDS} alternating rounds):",
        ROUNDS * (IMAGES - WARM_UP)
    );
    for v in &variants {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let rounds: Vec<String> = v
            .round_p50
            .iter()
            .map(|d| format!("{:.3}", ms(*d)))
            .collect();
        let steps = |f: fn(&Steps) -> f64| {
            let mut values: Vec<f64> = v.steps.iter().map(f).collect();
            values.sort_by(f64::total_cmp);
            values.get(values.len() / 2).copied().unwrap_or(0.0)
        };
        let mut shm = match v.receive {
            Receive::Owned => String::new(),
            _ => format!(", {}/{} in shared memory", v.in_shm, v.seen),
        };
        if !v.transport.is_empty() {
            let us = |ns: &Vec<i64>| p50(&mut ns.clone()).as_secs_f64() * 1e6;
            shm += &format!(
                " (publish call -> zenoh callback {:.0} us, -> view {:.0} us)",
                us(&v.transport),
                us(&v.dispatch)
            );
        }
        println!(
            "  {:<22} p50 {:.3} ms (rounds {}){shm}; publisher: buffer {:.0} us, write {:.0} us, \
             publish call {:.0} us",
            v.name,
            ms(v.p50()),
            rounds.join(" "),
            steps(|s| s.buffer),
            steps(|s| s.write),
            steps(|s| s.call),
        );
    }
    let [tcp, shm, view, owned, shm_filled, view_loaned, owned_loaned] = &variants;
    println!("copy inside the span (stamp, then write the pixels and publish):");
    target_line("borrowed view vs raw shm", view, shm, "1.2x");
    target_line("borrowed view vs raw tcp", view, tcp, "0.10x");
    target_line("owned Image vs raw tcp", owned, tcp, "0.20x");
    target_line("raw shm vs raw tcp (reference)", shm, tcp, "none");
    println!("loaned, zero-copy publishing (write the pixels, stamp, publish):");
    target_line(
        "loaned, borrowed view vs raw shm filled",
        view_loaned,
        shm_filled,
        "1.2x",
    );
    target_line(
        "loaned, borrowed view vs raw tcp",
        view_loaned,
        tcp,
        "0.10x",
    );
    target_line("loaned, owned Image vs raw tcp", owned_loaned, tcp, "0.20x");
}
