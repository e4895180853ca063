//! Small messages between two processes: 8-byte `std_msgs/String` from a publisher process to
//! a subscriber process (throughput, loss) and a 1 kHz ping-pong (round trip), each through
//! rosync's typed API (callback subscribers) beside raw zenoh (callback subscribers, puts of
//! the same CDR bytes with the same 33-byte attachment) on the same two sessions, alternating
//! rounds (each round starts with the other path). Both paths use the same sessions, reliable
//! delivery and keys of the same shape and length. Throughput is measured twice: with the
//! default publisher (keep last 10: zenoh drops at the publisher when congested, as rmw_zenoh
//! maps it) and with a publisher that blocks when congested (rmw_zenoh's keep-all mapping),
//! where nothing may be lost. The ping-pong runs each path alone (the target's row), then
//! both at once with their pings taking turns every half period, so both see the same machine
//! conditions. Each line prints `rosync X, raw zenoh Y, ratio Z`.
//!
//! cargo bench --bench small_msgs
//!
//! The bench starts itself again as the other process (`SMALL_MSGS_PEER` set).

#[path = "common.rs"]
mod common;

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rosync::msg::std_msgs;
use rosync::node::Node;
use zenoh::bytes::ZBytes;
use zenoh::qos::{CongestionControl, Reliability};
use zenoh::Wait;

/// Messages the publisher process sends per throughput round.
const BURST: u64 = 300_000;
/// Pings per round trip round (3 s at 1 kHz).
const PINGS: usize = 3_000;
const PING_PERIOD: Duration = Duration::from_millis(1);
const ROUNDS: usize = 5;

/// The key expression raw zenoh uses for `topic`: the shape and length rosync's typed
/// `std_msgs/String` data key has on a topic of the same length (`<domain>/<topic>/<type>/<hash>`),
/// so zenoh matches, maps and sends keys of the same size on both paths.
fn raw_key(topic: &str) -> String {
    rosync::node::graph::topic_key_expr(
        0,
        topic,
        <std_msgs::String as rosync::msg::Message>::TYPE_NAME,
        <std_msgs::String as rosync::msg::Message>::TYPE_HASH,
    )
}

/// The 8-byte string every message carries (a ping carries its index in it).
fn text(i: u64) -> String {
    format!("{:08}", i % 100_000_000)
}

/// The same 33 bytes of metadata rosync attaches to every sample (rmw_zenoh's attachment:
/// sequence number, source time, GID), so both sides put the same bytes on the wire.
fn attachment() -> Vec<u8> {
    rosync::node::Attachment {
        sequence_number: 1,
        source_timestamp: rosync::time::now_nanos(),
        gid: [7; 16],
    }
    .to_bytes()
    .to_vec()
}

/// What the other process does, named in `SMALL_MSGS_PEER`.
async fn peer(role: &str, endpoint: &str) {
    let node = common::connected_node("small_msgs_peer", 0, endpoint).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    match role {
        "typed-pub" | "typed-pub-block" => {
            let publisher = node
                .publisher::<std_msgs::String>("/small")
                .block_when_congested(role == "typed-pub-block")
                .await
                .expect("pub");
            publisher
                .wait_for_subscribers(Duration::from_secs(10))
                .await;
            tokio::time::sleep(Duration::from_millis(200)).await;
            let msg = std_msgs::String { data: text(0) };
            for _ in 0..BURST {
                publisher.publish_now(&msg).expect("publishes");
            }
        }
        "raw-pub" | "raw-pub-block" => {
            let congestion = match role {
                "raw-pub-block" => CongestionControl::Block,
                _ => CongestionControl::Drop,
            };
            let publisher = node
                .session()
                .declare_publisher(raw_key("/smal2"))
                .reliability(Reliability::Reliable)
                .congestion_control(congestion)
                .await
                .expect("pub");
            common::wait_matching(&publisher).await;
            tokio::time::sleep(Duration::from_millis(200)).await;
            let payload = ZBytes::from(
                rosync::cdr::encode(&std_msgs::String { data: text(0) }).expect("encodes"),
            );
            for _ in 0..BURST {
                publisher
                    .put(payload.clone())
                    .attachment(attachment())
                    .wait()
                    .expect("puts");
            }
        }
        "typed-echo" => {
            let pong = Arc::new(
                node.publisher::<std_msgs::String>("/pong")
                    .await
                    .expect("pub"),
            );
            let echo = Arc::clone(&pong);
            let _sub = node
                .subscriber::<std_msgs::String>("/ping")
                .callback(move |msg: std_msgs::String| {
                    let _ = echo.publish_now(&msg);
                })
                .await
                .expect("sub");
            wait_for_parent().await;
        }
        "raw-echo" => {
            let pong = node
                .session()
                .declare_publisher(raw_key("/pon2"))
                .await
                .expect("pub");
            let _sub = node
                .session()
                .declare_subscriber(raw_key("/pin2"))
                .callback(move |sample| {
                    let _ = pong
                        .put(sample.payload().clone())
                        .attachment(attachment())
                        .wait();
                })
                .await
                .expect("sub");
            wait_for_parent().await;
        }
        other => panic!("unknown peer role {other}"),
    }
    // Let the last samples leave before the session closes.
    tokio::time::sleep(Duration::from_millis(300)).await;
}

/// Returns once the parent closes our stdin.
async fn wait_for_parent() {
    tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await
    .expect("stdin reader");
}

fn spawn_peer(role: &str, endpoint: &str) -> Child {
    Command::new(std::env::current_exe().expect("bench binary"))
        .env("SMALL_MSGS_PEER", role)
        .env("SMALL_MSGS_ENDPOINT", endpoint)
        .stdin(Stdio::piped())
        .spawn()
        .expect("peer process starts")
}

/// Arrivals counted by a subscriber callback: how many, first and last time.
#[derive(Default)]
struct Arrivals {
    count: AtomicU64,
    span: Mutex<Option<(Instant, Instant)>>,
}

impl Arrivals {
    fn hit(&self) {
        self.count.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let mut span = self.span.lock().expect("span");
        let first = span.map_or(now, |(first, _)| first);
        *span = Some((first, now));
    }

    /// Messages per second between the first and the last arrival, and how many arrived.
    fn rate(&self) -> (f64, u64) {
        let count = self.count.load(Ordering::Relaxed);
        let span = *self.span.lock().expect("span");
        let secs = span.map_or(0.0, |(a, b)| (b - a).as_secs_f64());
        (count.saturating_sub(1) as f64 / secs.max(1e-9), count)
    }
}

/// CPU time used so far by this process and by its ended child processes.
fn cpu_times() -> (Duration, Duration) {
    let used = |who| {
        // SAFETY: getrusage only writes the struct it is given.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::getrusage(who, &mut usage) };
        let time = |t: libc::timeval| {
            Duration::from_secs(t.tv_sec.max(0) as u64)
                + Duration::from_micros(t.tv_usec.max(0) as u64)
        };
        time(usage.ru_utime) + time(usage.ru_stime)
    };
    (used(libc::RUSAGE_SELF), used(libc::RUSAGE_CHILDREN))
}

/// One throughput round: the arrival rate, how many arrived, and the CPU time per message of
/// the subscriber process (this one, per message received) and of the publisher process (per
/// message sent, its start-up included).
struct Round {
    rate: f64,
    got: u64,
    sub_cpu: Duration,
    pub_cpu: Duration,
}

/// Waits for the publisher process to end and the last arrivals to come in; the round.
async fn finish(mut child: Child, arrivals: &Arrivals) -> Round {
    let before = cpu_times();
    let _ = tokio::task::spawn_blocking(move || child.wait()).await;
    let mut last = u64::MAX;
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = arrivals.count.load(Ordering::Relaxed);
        if now == last {
            break;
        }
        last = now;
    }
    let after = cpu_times();
    let (rate, got) = arrivals.rate();
    Round {
        rate,
        got,
        sub_cpu: (after.0 - before.0) / got.max(1) as u32,
        pub_cpu: (after.1 - before.1) / BURST as u32,
    }
}

/// Throughput of the typed path: publisher process -> callback subscriber here; the publisher
/// blocks when congested if `block` (as a reliable keep-all one does), else drops (keep last).
async fn typed_throughput(node: &Node, endpoint: &str, block: bool) -> Round {
    let arrivals = Arc::new(Arrivals::default());
    let hits = Arc::clone(&arrivals);
    let sub = node
        .subscriber::<std_msgs::String>("/small")
        .callback(move |msg: std_msgs::String| {
            std::hint::black_box(msg);
            hits.hit();
        })
        .await
        .expect("sub");
    let role = if block {
        "typed-pub-block"
    } else {
        "typed-pub"
    };
    let round = finish(spawn_peer(role, endpoint), &arrivals).await;
    let stats = sub.stats();
    assert_eq!(stats.delivered, arrivals.count.load(Ordering::Relaxed));
    round
}

/// The same with raw zenoh.
async fn raw_throughput(node: &Node, endpoint: &str, block: bool) -> Round {
    let arrivals = Arc::new(Arrivals::default());
    let hits = Arc::clone(&arrivals);
    let _sub = node
        .session()
        .declare_subscriber(raw_key("/smal2"))
        .callback(move |sample| {
            std::hint::black_box(sample.payload().len());
            hits.hit();
        })
        .await
        .expect("sub");
    let role = if block { "raw-pub-block" } else { "raw-pub" };
    finish(spawn_peer(role, endpoint), &arrivals).await
}

/// Send times of the pings, by index, and the round trips measured so far.
struct PingLog {
    start: Instant,
    sent_ns: Vec<AtomicU64>,
    rtts: Mutex<Vec<Duration>>,
}

impl PingLog {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            start: Instant::now(),
            sent_ns: (0..PINGS).map(|_| AtomicU64::new(0)).collect(),
            rtts: Mutex::new(Vec::with_capacity(PINGS)),
        })
    }

    fn sent(&self, i: usize) {
        self.sent_ns[i].store(self.start.elapsed().as_nanos() as u64, Ordering::SeqCst);
    }

    fn pong(&self, data: &[u8]) {
        let Some(i) = std::str::from_utf8(data)
            .ok()
            .and_then(|s| s.trim_end_matches('\0').parse::<usize>().ok())
        else {
            return;
        };
        let Some(sent) = self.sent_ns.get(i).map(|t| t.load(Ordering::SeqCst)) else {
            return;
        };
        let now = self.start.elapsed().as_nanos() as u64;
        self.rtts
            .lock()
            .expect("rtts")
            .push(Duration::from_nanos(now.saturating_sub(sent)));
    }

    /// The median round trip and how many pongs came back.
    fn p50(&self) -> (Duration, usize) {
        let mut rtts = self.rtts.lock().expect("rtts").clone();
        rtts.sort();
        (
            rtts.get(rtts.len() / 2).copied().unwrap_or(Duration::MAX),
            rtts.len(),
        )
    }
}

/// Sends `PINGS` pings at 1 kHz on each path, from one thread with deadlines as a timer
/// would; with several paths, their pings take turns, evenly spaced within each period.
async fn ping_loop(paths: Vec<Sender>) {
    tokio::task::spawn_blocking(move || {
        let step = PING_PERIOD / paths.len().max(1) as u32;
        let mut next = Instant::now();
        for i in 0..PINGS {
            for send in &paths {
                send(i);
                next += step;
                if let Some(wait) = next.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
            }
        }
    })
    .await
    .expect("ping thread");
    tokio::time::sleep(Duration::from_millis(200)).await;
}

/// Sends ping `i` on one path.
type Sender = Box<dyn Fn(usize) + Send>;

/// One ping-pong path, ready: its log, how to send a ping, its echo process, and what must
/// live while it runs.
struct PingPath {
    log: Arc<PingLog>,
    send: Sender,
    echo: Child,
    _keep: Box<dyn std::any::Any + Send>,
}

/// The typed path: ping here -> echo process -> pong here.
async fn typed_ping_path(node: &Node, endpoint: &str) -> PingPath {
    let log = PingLog::new();
    let on_pong = Arc::clone(&log);
    let pongs = node
        .subscriber::<std_msgs::String>("/pong")
        .callback(move |msg: std_msgs::String| on_pong.pong(msg.data.as_bytes()))
        .await
        .expect("sub");
    let ping = Arc::new(
        node.publisher::<std_msgs::String>("/ping")
            .await
            .expect("pub"),
    );
    let echo = spawn_peer("typed-echo", endpoint);
    ping.wait_for_subscribers(Duration::from_secs(10)).await;
    let (sender, sent) = (Arc::clone(&ping), Arc::clone(&log));
    PingPath {
        log,
        send: Box::new(move |i| {
            sent.sent(i);
            let _ = sender.publish_now(&std_msgs::String {
                data: text(i as u64),
            });
        }),
        echo,
        _keep: Box::new((pongs, ping)),
    }
}

/// The same with raw zenoh (the CDR bytes of the same strings).
async fn raw_ping_path(node: &Node, endpoint: &str) -> PingPath {
    let log = PingLog::new();
    let on_pong = Arc::clone(&log);
    let pongs = node
        .session()
        .declare_subscriber(raw_key("/pon2"))
        .callback(move |sample| {
            let bytes = sample.payload().to_bytes();
            // CDR string: 4-byte header, 4-byte length, the characters, NUL.
            if let Some(chars) = bytes.get(8..bytes.len().saturating_sub(1)) {
                on_pong.pong(chars);
            }
        })
        .await
        .expect("sub");
    let ping = node
        .session()
        .declare_publisher(raw_key("/pin2"))
        .await
        .expect("pub");
    let echo = spawn_peer("raw-echo", endpoint);
    common::wait_matching(&ping).await;
    let sent = Arc::clone(&log);
    PingPath {
        log,
        send: Box::new(move |i| {
            sent.sent(i);
            let cdr = rosync::cdr::encode(&std_msgs::String {
                data: text(i as u64),
            })
            .expect("encodes");
            let _ = ping.put(cdr).attachment(attachment()).wait();
        }),
        echo,
        _keep: Box::new(pongs),
    }
}

/// Runs the pings of `paths` together; each path's median round trip.
async fn ping_pong(paths: Vec<PingPath>) -> Vec<Duration> {
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut logs = Vec::new();
    let mut sends = Vec::new();
    let mut rest = Vec::new();
    for path in paths {
        logs.push(path.log);
        sends.push(path.send);
        rest.push((path.echo, path._keep));
    }
    ping_loop(sends).await;
    for (echo, keep) in rest {
        end(echo).await;
        drop(keep);
    }
    logs.iter().map(|log| log.p50().0).collect()
}

/// Closes the echo process's stdin and waits for it to end.
async fn end(mut child: Child) {
    drop(child.stdin.take());
    let _ = tokio::task::spawn_blocking(move || child.wait()).await;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if let Ok(role) = std::env::var("SMALL_MSGS_PEER") {
        let endpoint = std::env::var("SMALL_MSGS_ENDPOINT").expect("SMALL_MSGS_ENDPOINT");
        peer(&role, &endpoint).await;
        return;
    }
    let endpoint = common::endpoint();
    let node = common::listening_node("small_msgs", 0, &endpoint).await;
    let mut dropping = Throughput::default();
    let mut blocking = Throughput::default();
    let (mut typed_rtt, mut raw_rtt) = (Duration::MAX, Duration::MAX);
    let mut interleaved = (Duration::MAX, Duration::MAX);
    // Alternating rounds, each starting with the other path, so neither always runs first.
    for round in 0..ROUNDS {
        let typed_first = round % 2 == 0;
        for typed in [typed_first, !typed_first] {
            for (block, into) in [(false, &mut dropping), (true, &mut blocking)] {
                if typed {
                    into.typed
                        .add(typed_throughput(&node, &endpoint, block).await);
                } else {
                    into.raw.add(raw_throughput(&node, &endpoint, block).await);
                }
            }
        }
        for typed in [typed_first, !typed_first] {
            if typed {
                let path = typed_ping_path(&node, &endpoint).await;
                typed_rtt = typed_rtt.min(ping_pong(vec![path]).await[0]);
            } else {
                let path = raw_ping_path(&node, &endpoint).await;
                raw_rtt = raw_rtt.min(ping_pong(vec![path]).await[0]);
            }
        }
        // Both paths at once, pings taking turns every half period: the same conditions.
        let paths = vec![
            typed_ping_path(&node, &endpoint).await,
            raw_ping_path(&node, &endpoint).await,
        ];
        let rtts = ping_pong(paths).await;
        interleaved.0 = interleaved.0.min(rtts[0]);
        interleaved.1 = interleaved.1.min(rtts[1]);
    }
    println!("8-byte std_msgs/String between two processes, best of {ROUNDS} alternating rounds:");
    dropping.print(
        "throughput, keep-last publisher (drops when congested)",
        "target 0.9x",
    );
    blocking.print(
        "throughput, keep-all publisher (blocks when congested)",
        "target 0.9x, nothing lost",
    );
    println!(
        "ping-pong p50 at 1 kHz: rosync {:.3} ms, raw zenoh {:.3} ms, ratio {:.2}x (target 1.1x)",
        typed_rtt.as_secs_f64() * 1e3,
        raw_rtt.as_secs_f64() * 1e3,
        typed_rtt.as_secs_f64() / raw_rtt.as_secs_f64().max(1e-12)
    );
    println!(
        "ping-pong p50 at 1 kHz, both paths at once (pings alternating): rosync {:.3} ms, \
         raw zenoh {:.3} ms, ratio {:.2}x (target 1.1x)",
        interleaved.0.as_secs_f64() * 1e3,
        interleaved.1.as_secs_f64() * 1e3,
        interleaved.0.as_secs_f64() / interleaved.1.as_secs_f64().max(1e-12)
    );
}

/// The best rate of one path's throughput rounds, the most messages one round missed, and
/// the least CPU time per message each process used.
struct Best {
    rate: f64,
    not_received: u64,
    sub_cpu: Duration,
    pub_cpu: Duration,
}

impl Default for Best {
    fn default() -> Self {
        Self {
            rate: 0.0,
            not_received: 0,
            sub_cpu: Duration::MAX,
            pub_cpu: Duration::MAX,
        }
    }
}

impl Best {
    fn add(&mut self, round: Round) {
        self.rate = self.rate.max(round.rate);
        self.not_received = self.not_received.max(BURST.saturating_sub(round.got));
        self.sub_cpu = self.sub_cpu.min(round.sub_cpu);
        self.pub_cpu = self.pub_cpu.min(round.pub_cpu);
    }
}

/// Both paths' throughput with one kind of publisher.
#[derive(Default)]
struct Throughput {
    typed: Best,
    raw: Best,
}

impl Throughput {
    fn print(&self, what: &str, target: &str) {
        println!(
            "{what}: rosync {:.0} msgs/s, raw zenoh {:.0} msgs/s, ratio {:.2}x ({target}; \
             not received of {BURST}, worst round: rosync {}, raw {})",
            self.typed.rate,
            self.raw.rate,
            self.typed.rate / self.raw.rate.max(1e-9),
            self.typed.not_received,
            self.raw.not_received
        );
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        println!(
            "  where the time goes: CPU per message, subscriber process rosync {:.2} us, raw {:.2} us; \
             publisher process (start-up included) rosync {:.2} us, raw {:.2} us",
            us(self.typed.sub_cpu),
            us(self.raw.sub_cpu),
            us(self.typed.pub_cpu),
            us(self.raw.pub_cpu)
        );
    }
}
