//! `rosync sync`: run a synchronizer policy on a sync script or on live topics.

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Subcommand, ValueEnum};

use super::{fail, CliResult, NetworkArgs};
use crate::msg::lookup;
use crate::sync::{
    build_policy, format_sets, parse_script, ApproximateEpsilonTime, ApproximateTime,
    DynSynchronizer, Emitted, ExactTime, LatestTime, Policy,
};

/// Subcommands of `rosync sync`.
#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Replay a sync script (see the sync-script format) and print the sets as `SET id id ...`.
    Simulate {
        /// The script file, or `-` (the default) for standard input.
        #[arg(default_value = "-", value_name = "FILE|-")]
        file: String,
        /// Print `sets N messages N elapsed_ns NS` instead of the sets, timing only the
        /// policy's add calls (like the ROS oracle's --bench).
        #[arg(long)]
        bench: bool,
        /// Also print every dropped message to standard error: `DROP id channel reason`.
        #[arg(long)]
        drops: bool,
    },
    /// Synchronize live topics, print each set's stamps and spread, and a summary on Ctrl-C.
    Live {
        /// A topic to synchronize (repeat 2 to 9 times); its type must start with a Header.
        #[arg(long = "topic", value_name = "TOPIC", required = true)]
        topics: Vec<String>,
        /// The synchronization policy.
        #[arg(long, value_enum, default_value_t = PolicyKind::Approx)]
        policy: PolicyKind,
        /// The policy's queue size per channel.
        #[arg(long = "queue", default_value_t = 10, value_name = "N")]
        queue: usize,
        /// ApproximateTime: largest spread of stamps in a set, in seconds (default: unlimited).
        #[arg(long, value_name = "SECONDS")]
        max_interval: Option<f64>,
        /// ApproximateTime: age penalty (ROS default 0.1).
        #[arg(long, default_value_t = 0.1, value_name = "X")]
        age_penalty: f64,
        /// ApproximateEpsilonTime: largest stamp difference in a set, in seconds.
        #[arg(long, value_name = "SECONDS")]
        epsilon: Option<f64>,
        /// Stop after this many sets (default: until Ctrl-C).
        #[arg(long, value_name = "N")]
        count: Option<u64>,
    },
}

/// The policies `rosync sync live` can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyKind {
    /// ApproximateTime (ROS C++ algorithm).
    Approx,
    /// ExactTime: identical stamps.
    Exact,
    /// LatestTime (ROS 2): the latest message of each topic.
    Latest,
    /// ApproximateEpsilonTime (ROS 2): stamps within --epsilon.
    Epsilon,
}

/// Runs a sync subcommand.
pub async fn run(cmd: SyncCommand, net: &NetworkArgs) -> CliResult {
    match cmd {
        SyncCommand::Simulate { file, bench, drops } => simulate(&file, bench, drops),
        SyncCommand::Live {
            topics,
            policy,
            queue,
            max_interval,
            age_penalty,
            epsilon,
            count,
        } => {
            let config = LiveConfig {
                policy,
                queue,
                max_interval,
                age_penalty,
                epsilon,
            };
            live(net, &topics, &config, count).await
        }
    }
}

fn simulate(file: &str, bench: bool, print_drops: bool) -> CliResult {
    let text = if file == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .or_else(|e| fail(format!("cannot read standard input: {e}")))?;
        text
    } else {
        std::fs::read_to_string(file).or_else(|e| fail(format!("cannot read {file}: {e}")))?
    };
    let name = if file == "-" { "<stdin>" } else { file };
    let script = parse_script(&text).or_else(|e| fail(format!("{name}: {e}")))?;
    let mut policy = build_policy(&script).or_else(|e| fail(format!("{name}: {e}")))?;
    let mut out = Emitted::new();
    if bench {
        let mut sets = 0usize;
        let start = Instant::now();
        for (id, m) in script.messages.iter().enumerate() {
            policy.add(m.channel, m.stamp, id, &mut out);
            sets += out.sets.len();
            out.clear();
        }
        let elapsed = start.elapsed();
        println!(
            "sets {sets} messages {} elapsed_ns {}",
            script.messages.len(),
            elapsed.as_nanos()
        );
        return Ok(());
    }
    let mut text = String::new();
    for (id, m) in script.messages.iter().enumerate() {
        policy.add(m.channel, m.stamp, id, &mut out);
        text.push_str(&format_sets(&out.sets));
        if print_drops {
            for d in &out.drops {
                eprintln!("DROP {} {} {}", d.msg, d.channel, d.reason);
            }
        }
        out.clear();
    }
    print!("{text}");
    Ok(())
}

/// Parameters of `rosync sync live`.
struct LiveConfig {
    policy: PolicyKind,
    queue: usize,
    max_interval: Option<f64>,
    age_penalty: f64,
    epsilon: Option<f64>,
}

/// What the live synchronizer carries per message: arrival time and stamp, in ns.
type Arrival = (i64, i64);

fn secs_to_ns(name: &str, s: f64) -> Result<i64, Box<dyn std::error::Error + Send + Sync>> {
    if !(s.is_finite() && s >= 0.0) {
        return fail(format!(
            "--{name} must be a non-negative number of seconds, not {s}"
        ));
    }
    Ok((s * 1e9).round() as i64)
}

fn live_policy(
    channels: usize,
    c: &LiveConfig,
) -> Result<Box<dyn Policy<Arrival> + Send>, Box<dyn std::error::Error + Send + Sync>> {
    let bad = |e: crate::sync::ConfigError| format!("invalid synchronizer setting: {e}");
    Ok(match c.policy {
        PolicyKind::Exact => Box::new(ExactTime::new(channels, c.queue).or_else(|e| fail(bad(e)))?),
        PolicyKind::Approx => {
            let mut p = ApproximateTime::new(channels, c.queue)
                .and_then(|p| p.age_penalty(c.age_penalty))
                .or_else(|e| fail(bad(e)))?;
            if let Some(s) = c.max_interval {
                p = p
                    .max_interval_duration(secs_to_ns("max-interval", s)?)
                    .or_else(|e| fail(bad(e)))?;
            }
            Box::new(p)
        }
        PolicyKind::Latest => Box::new(LatestTime::new(channels).or_else(|e| fail(bad(e)))?),
        PolicyKind::Epsilon => {
            let Some(epsilon) = c.epsilon else {
                return fail("--policy epsilon needs --epsilon SECONDS");
            };
            let epsilon = secs_to_ns("epsilon", epsilon)?;
            Box::new(
                ApproximateEpsilonTime::new(channels, c.queue, epsilon)
                    .or_else(|e| fail(bad(e)))?,
            )
        }
    })
}

/// Reads the header stamp of a CDR payload whose message starts with `std_msgs/Header`.
fn header_stamp(payload: &[u8]) -> Option<i64> {
    let sec = i32::from_le_bytes(payload.get(4..8)?.try_into().ok()?);
    let nanosec = u32::from_le_bytes(payload.get(8..12)?.try_into().ok()?);
    Some(sec as i64 * 1_000_000_000 + nanosec as i64)
}

#[derive(Default)]
struct Delays {
    samples: Vec<i64>,
}

async fn live(
    net: &NetworkArgs,
    topics: &[String],
    c: &LiveConfig,
    count: Option<u64>,
) -> CliResult {
    if !(2..=9).contains(&topics.len()) {
        return fail(format!("give 2 to 9 --topic options, not {}", topics.len()));
    }
    let policy = live_policy(topics.len(), c)?;
    let node = net.node("rosync_sync_live").await?;
    let sync: DynSynchronizer<Arrival> = DynSynchronizer::from_boxed(policy);
    let delays = Arc::new(Mutex::new(Delays::default()));
    let names: Arc<Vec<String>> = Arc::new(topics.to_vec());
    let (set_tx, mut set_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    {
        let delays = Arc::clone(&delays);
        let names = Arc::clone(&names);
        sync.register_callback(move |set: &[Arrival]| {
            let now = crate::time::now_nanos();
            let newest_arrival = set.iter().map(|a| a.0).max().unwrap_or(now);
            let (lo, hi) = set.iter().fold((i64::MAX, i64::MIN), |(lo, hi), a| {
                (lo.min(a.1), hi.max(a.1))
            });
            let stamps: Vec<String> = names
                .iter()
                .zip(set)
                .map(|(n, a)| {
                    format!(
                        "{n} {}.{:09}",
                        a.1.div_euclid(1_000_000_000),
                        a.1.rem_euclid(1_000_000_000)
                    )
                })
                .collect();
            println!(
                "{}  spread {:.3} ms",
                stamps.join("  "),
                (hi - lo) as f64 / 1e6
            );
            if let Ok(mut d) = delays.lock() {
                d.samples.push(now - newest_arrival);
            }
            let _ = set_tx.send(());
        });
    }
    let mut tasks = Vec::new();
    for (channel, topic) in topics.iter().enumerate() {
        let topic = node.resolve_topic(topic)?;
        let sub = node
            .raw_subscriber(&topic, None)
            .queue_size(c.queue.max(10))
            .await?;
        let sync = sync.clone();
        tasks.push(tokio::spawn(async move {
            let mut warned = false;
            while let Some(raw) = sub.recv().await {
                let has_header = lookup(&raw.type_name)
                    .is_none_or(|t| t.definition.lines().any(|l| l.trim() == "std_msgs/Header header"));
                match header_stamp(&raw.payload.to_bytes()).filter(|_| has_header) {
                    Some(stamp) => sync.add(channel, stamp, (crate::time::now_nanos(), stamp)),
                    None if !warned => {
                        warned = true;
                        tracing::warn!(%topic, "{} has no header stamp; ignoring it", raw.type_name);
                    }
                    None => {}
                }
            }
        }));
    }
    let mut sets = 0u64;
    let started = Instant::now();
    loop {
        tokio::select! {
            got = set_rx.recv() => {
                if got.is_none() { break; }
                sets += 1;
                if count.is_some_and(|n| sets >= n) { break; }
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    for task in tasks {
        task.abort();
    }
    print_summary(&sync, &names, &delays, started.elapsed());
    Ok(())
}

fn print_summary(
    sync: &DynSynchronizer<Arrival>,
    names: &[String],
    delays: &Mutex<Delays>,
    elapsed: Duration,
) {
    let stats = sync.stats();
    eprintln!("--- summary after {:.1} s", elapsed.as_secs_f64());
    eprintln!("sets: {}", stats.sets);
    for (channel, name) in names.iter().enumerate() {
        let received = stats.received.get(channel).copied().unwrap_or(0);
        eprintln!(
            "{name}: received {received}, dropped {}",
            stats.dropped_on(channel)
        );
    }
    for (channel, reason, n) in stats.dropped_sorted() {
        let name = names.get(channel).map(String::as_str).unwrap_or("?");
        eprintln!("  dropped {n} on {name}: {reason}");
    }
    if let Ok(d) = delays.lock() {
        let mut s = d.samples.clone();
        s.sort_unstable();
        if let (Some(first), Some(last)) = (s.first(), s.last()) {
            let p50 = s[s.len() / 2];
            eprintln!(
                "emission delay (set out - last member in): min {:.3} ms, median {:.3} ms, max {:.3} ms",
                *first as f64 / 1e6,
                p50 as f64 / 1e6,
                *last as f64 / 1e6
            );
        }
    }
}
