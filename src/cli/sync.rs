//! `rosync sync`: run a synchronizer policy on a sync script or on live topics.

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};

use super::args::{whole, Factor, Seconds};
use super::{fail, CliResult, NetworkArgs};
use crate::bag::{Damage, Log};
use crate::msg::{definition_starts_with_header, header_stamp_from_cdr, lookup};
use crate::node::RawSubscriber;
use crate::sync::{
    build_policy, format_sets, parse_script, DynSynchronizer, Emitted, Policy, PolicyConfig,
};

/// Subcommands of `rosync sync`.
#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Replay a sync script and print its sets as `SET id id ...` (like the ROS oracle), or
    /// with --bag run a policy over topics of a recorded log and show its sets and drops.
    /// With --bag a message's log time is its arrival time (LatestTime estimates rates from
    /// arrival times, as ROS 2 does from the node clock).
    ///
    /// With --bag, exit status 3: the log is damaged (each damaged chunk is skipped with a
    /// warning naming the file and offset); every readable message was used.
    Simulate {
        /// The script file, or `-` (the default) for standard input; unused with --bag.
        #[arg(default_value = "-", value_name = "FILE|-")]
        file: String,
        /// Print `sets N messages N elapsed_ns NS` instead of the sets, timing only the
        /// policy's add calls (like the ROS oracle's --bench).
        #[arg(long, conflicts_with = "bag")]
        bench: bool,
        /// Also print every dropped message to standard error: `DROP id channel reason`.
        #[arg(long)]
        drops: bool,
        /// A log (MCAP file or rosbag2 folder) to synchronize offline instead of a script.
        #[arg(long, value_name = "LOG", requires = "topics")]
        bag: Option<PathBuf>,
        /// With --bag: a topic to synchronize (repeat 2 to 9 times).
        #[arg(long = "topic", value_name = "TOPIC")]
        topics: Vec<String>,
        /// With --bag: the policy and its parameters.
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Show why a policy does what it does on a log (--bag) or live topics: per-topic rates,
    /// jitter, latency and offsets, drops by reason, a diagnosis of the main problem, advice
    /// (settings re-run on the same data) and with -o a self-contained HTML report.
    ///
    /// With --bag, exit status 3: the log is damaged (each damaged chunk is skipped with a
    /// warning naming the file and offset); every readable message was used.
    Inspect(super::sync_inspect::InspectArgs),
    /// Synchronize live topics, print each set's stamps and spread, and a summary on Ctrl-C.
    Live {
        /// A topic to synchronize (repeat 2 to 9 times); its type must start with a Header.
        #[arg(long = "topic", value_name = "TOPIC", required = true)]
        topics: Vec<String>,
        /// The policy and its parameters.
        #[command(flatten)]
        policy: PolicyArgs,
        /// Stop after this many sets (default: until Ctrl-C).
        #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = whole::<u64>(1, u64::MAX))]
        count: Option<u64>,
        /// Run on the time of /clock (rosgraph_msgs/msg/Clock, e.g. from `rosync play
        /// --clock`) instead of the system clock: arrival times and emission delays are then
        /// in the played log's time (the node's use_sim_time).
        #[arg(long)]
        use_sim_time: bool,
    },
}

/// The synchronizer policy and its parameters, for live topics and logs.
#[derive(Debug, Clone, Args)]
pub struct PolicyArgs {
    /// The synchronization policy.
    #[arg(long, value_enum, default_value_t = PolicyKind::Approx)]
    policy: PolicyKind,
    /// The policy's queue size per channel.
    #[arg(
        long = "queue",
        default_value_t = 10,
        value_name = "N",
        allow_hyphen_values = true,
        value_parser = whole::<usize>(1, u32::MAX.into())
    )]
    queue: usize,
    /// ApproximateTime: largest spread of stamps in a set, in seconds (default: unlimited).
    #[arg(long, value_name = "SECONDS", allow_hyphen_values = true)]
    max_interval: Option<Seconds>,
    /// ApproximateTime: age penalty (ROS default 0.1).
    #[arg(
        long,
        default_value = "0.1",
        value_name = "X",
        allow_hyphen_values = true
    )]
    age_penalty: Factor,
    /// ApproximateEpsilonTime: largest stamp difference in a set, in seconds.
    #[arg(long, value_name = "SECONDS", allow_hyphen_values = true)]
    epsilon: Option<Seconds>,
}

impl PolicyArgs {
    /// The library's policy configuration these arguments describe.
    pub fn config(&self) -> Result<PolicyConfig, Box<dyn std::error::Error + Send + Sync>> {
        Ok(match self.policy {
            PolicyKind::Exact => PolicyConfig::ExactTime {
                queue_size: self.queue,
            },
            PolicyKind::Approx => PolicyConfig::ApproximateTime {
                queue_size: self.queue,
                max_interval_ns: self.max_interval.map(Seconds::as_nanos_i64),
                age_penalty: self.age_penalty.get(),
                inter_message_lower_bound_ns: None,
            },
            PolicyKind::Latest => PolicyConfig::LatestTime,
            PolicyKind::Epsilon => {
                let Some(epsilon) = self.epsilon else {
                    return fail("--policy epsilon needs --epsilon SECONDS");
                };
                PolicyConfig::ApproximateEpsilonTime {
                    queue_size: self.queue,
                    epsilon_ns: epsilon.as_nanos_i64(),
                }
            }
        })
    }

    /// The queue size given.
    pub fn queue(&self) -> usize {
        self.queue
    }

    /// Builds the policy for `channels` topics, with a command-line message on a bad value.
    fn build<M: Clone + Send + 'static>(
        &self,
        channels: usize,
    ) -> Result<Box<dyn Policy<M> + Send>, Box<dyn std::error::Error + Send + Sync>> {
        self.config()?
            .build(channels)
            .or_else(|e| fail(format!("invalid synchronizer setting: {e}")))
    }
}

/// The policies `rosync sync` can run on topics.
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
        SyncCommand::Simulate {
            bag: Some(bag),
            topics,
            policy,
            drops,
            ..
        } => simulate_log(&bag, &topics, &policy, drops),
        SyncCommand::Simulate {
            file,
            bench,
            drops,
            topics,
            ..
        } => {
            if !topics.is_empty() {
                return fail("--topic selects topics of a log: give the log with --bag");
            }
            simulate(&file, bench, drops)
        }
        SyncCommand::Live {
            topics,
            policy,
            count,
            use_sim_time,
        } => live(net, &topics, &policy, count, use_sim_time).await,
        SyncCommand::Inspect(args) => super::sync_inspect::run(args, net).await,
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

/// What the live synchronizer carries per message: arrival time and stamp, in ns.
type Arrival = (i64, i64);

#[derive(Default)]
struct Delays {
    samples: Vec<i64>,
}

/// Prints every set (each topic's stamp, and the spread) and collects emission delays:
/// `clock()` at emission minus the arrival of the set's newest member.
fn print_sets(
    sync: &DynSynchronizer<Arrival>,
    names: &Arc<Vec<String>>,
    clock: Arc<dyn Fn() -> i64 + Send + Sync>,
) -> Arc<Mutex<Delays>> {
    let delays = Arc::new(Mutex::new(Delays::default()));
    let (record, names) = (Arc::clone(&delays), Arc::clone(names));
    sync.register_callback(move |set: &[Arrival]| {
        let now = clock();
        let newest_arrival = set.iter().map(|a| a.0).max().unwrap_or(now);
        let (lo, hi) = set.iter().fold((i64::MAX, i64::MIN), |(lo, hi), a| {
            (lo.min(a.1), hi.max(a.1))
        });
        let stamps: Vec<String> = names
            .iter()
            .zip(set)
            .map(|(n, a)| format!("{n} {}", format_stamp(a.1)))
            .collect();
        println!(
            "{}  spread {:.3} ms",
            stamps.join("  "),
            (hi - lo) as f64 / 1e6
        );
        if let Ok(mut d) = record.lock() {
            d.samples.push(now - newest_arrival);
        }
    });
    delays
}

fn format_stamp(ns: i64) -> String {
    format!(
        "{}.{:09}",
        ns.div_euclid(1_000_000_000),
        ns.rem_euclid(1_000_000_000)
    )
}

/// Opens a log and checks it has 2 to 9 `topics`, each of a type that starts with a Header.
pub(super) fn open_log_topics(
    path: &Path,
    topics: &[String],
) -> Result<Log, Box<dyn std::error::Error + Send + Sync>> {
    if !(2..=9).contains(&topics.len()) {
        return fail(format!("give 2 to 9 --topic options, not {}", topics.len()));
    }
    let log = Log::open(path)?;
    let available = log.topics();
    // Every topic must exist before any type is judged (the first error names a missing one).
    let mut infos = Vec::new();
    for topic in topics {
        let Some(info) = available.iter().find(|t| &t.topic == topic) else {
            let names: Vec<&str> = available.iter().map(|t| t.topic.as_str()).collect();
            return fail(format!(
                "{}: no topic {topic} (topics: {})",
                path.display(),
                names.join(", ")
            ));
        };
        infos.push(info);
    }
    for info in infos {
        let registered = lookup(&info.type_name).map(|t| t.definition);
        if !definition_starts_with_header(&info.definition)
            && !registered.is_some_and(definition_starts_with_header)
        {
            return fail(format!(
                "{}: topic {} has type {}, which has no std_msgs/Header to synchronize on",
                path.display(),
                info.topic,
                info.type_name
            ));
        }
    }
    Ok(log)
}

/// `rosync sync simulate --bag`: runs a policy over topics of a log, in log-time order.
fn simulate_log(path: &Path, topics: &[String], c: &PolicyArgs, print_drops: bool) -> CliResult {
    let log = open_log_topics(path, topics)?;
    let sync: DynSynchronizer<Arrival> = DynSynchronizer::from_boxed(c.build(topics.len())?);
    let names: Arc<Vec<String>> = Arc::new(topics.to_vec());
    // Emission delays are measured in log time: the log time of the message that let the set out.
    let log_clock = Arc::new(std::sync::atomic::AtomicI64::new(0));
    let clock = Arc::clone(&log_clock);
    let delays = print_sets(
        &sync,
        &names,
        Arc::new(move || clock.load(std::sync::atomic::Ordering::Relaxed)),
    );
    if print_drops {
        let names = Arc::clone(&names);
        sync.on_drop(move |d| {
            let topic = names.get(d.channel).map(String::as_str).unwrap_or("?");
            eprintln!("DROP {topic} {} {}", format_stamp(d.stamp), d.reason);
        });
    }
    let started = Instant::now();
    let skipped = log_stamps(path, &log, topics, |channel, stamp, log_time| {
        log_clock.store(log_time, std::sync::atomic::Ordering::Relaxed);
        // The log time is when the recorder received it: the arrival time.
        sync.add_at(channel, stamp, log_time, (log_time, stamp));
        Ok(())
    })?;
    print_summary(&sync, &names, &delays, started.elapsed());
    super::damage::finish(
        path,
        &log.damage(),
        &skipped,
        "every readable message was used",
    )
}

/// Calls `on_stamp(channel, stamp, log_time)` for every message of `topics` in `log`, in
/// log-time order (a message too short for a header is skipped with a warning); returns what
/// the reader skipped as damaged.
pub(super) fn log_stamps(
    path: &Path,
    log: &Log,
    topics: &[String],
    mut on_stamp: impl FnMut(usize, i64, i64) -> Result<(), Box<dyn std::error::Error + Send + Sync>>,
) -> Result<Vec<Damage>, Box<dyn std::error::Error + Send + Sync>> {
    let selected: Vec<&str> = topics.iter().map(String::as_str).collect();
    let mut messages = log.messages_on(&selected);
    for message in &mut messages {
        let message = message?;
        let Some(channel) = topics.iter().position(|t| **t == *message.topic) else {
            continue;
        };
        let log_time = i64::try_from(message.log_time).unwrap_or(i64::MAX);
        match header_stamp_from_cdr(&message.data) {
            Some(stamp) => on_stamp(channel, stamp, log_time)?,
            None => tracing::warn!(
                "{}: topic {}: message at log time {log_time} is too short for a header",
                path.display(),
                crate::bag::shown(&message.topic)
            ),
        }
    }
    Ok(messages.skipped().to_vec())
}

async fn live(
    net: &NetworkArgs,
    topics: &[String],
    c: &PolicyArgs,
    count: Option<u64>,
    use_sim_time: bool,
) -> CliResult {
    if !(2..=9).contains(&topics.len()) {
        return fail(format!("give 2 to 9 --topic options, not {}", topics.len()));
    }
    let policy = c.build(topics.len())?;
    let node = crate::node::Node::builder(&format!("rosync_sync_live_{}", std::process::id()))
        .network(net.options())
        .use_sim_time(use_sim_time)
        .build()
        .await?;
    let clock = node.clock().clone();
    let sync: DynSynchronizer<Arrival> = DynSynchronizer::from_boxed(policy);
    let names: Arc<Vec<String>> = Arc::new(topics.to_vec());
    let (set_tx, mut set_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let emission_clock = clock.clone();
    let delays = print_sets(&sync, &names, Arc::new(move || emission_clock.now_nanos()));
    sync.register_callback(move |_| {
        let _ = set_tx.send(());
    });
    let on_stamp = {
        let sync = sync.clone();
        Arc::new(move |channel, stamp, arrival| {
            sync.add_at(channel, stamp, arrival, (arrival, stamp))
        })
    };
    let (tasks, subscribers) = subscribe_stamps(&node, topics, c.queue, on_stamp).await?;
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
    for (name, sub) in names.iter().zip(&subscribers) {
        let stats = sub.stats();
        eprintln!(
            "{name} subscriber: received {}, dropped {} (queue full), lost {} (never arrived)",
            stats.received, stats.dropped_queue_full, stats.lost
        );
    }
    Ok(())
}

/// What live topics feed: `(channel, header stamp, arrival time on the node clock)`, in ns.
pub(super) type OnStamp = Arc<dyn Fn(usize, i64, i64) + Send + Sync>;

/// Subscribes to each of `topics` (raw, any type) and calls `on_stamp` with every message's
/// header stamp and arrival time; a type without a header is ignored with one warning per
/// topic. Returns the feeding tasks and the subscribers (for their counters).
pub(super) async fn subscribe_stamps(
    node: &crate::node::Node,
    topics: &[String],
    queue: usize,
    on_stamp: OnStamp,
) -> Result<(Vec<tokio::task::JoinHandle<()>>, Vec<Arc<RawSubscriber>>), crate::Error> {
    let clock = node.clock().clone();
    let mut tasks = Vec::new();
    let mut subscribers = Vec::new();
    for (channel, topic) in topics.iter().enumerate() {
        let topic = node.resolve_topic(topic)?;
        let sub = Arc::new(
            node.raw_subscriber(&topic, None)
                .queue_size(queue.max(10))
                .await?,
        );
        subscribers.push(Arc::clone(&sub));
        let (on_stamp, clock) = (Arc::clone(&on_stamp), clock.clone());
        tasks.push(tokio::spawn(async move {
            let mut warned = false;
            while let Some(raw) = sub.recv().await {
                let has_header = lookup(&raw.type_name)
                    .is_none_or(|t| definition_starts_with_header(t.definition));
                match header_stamp_from_cdr(&raw.payload.to_bytes()).filter(|_| has_header) {
                    Some(stamp) => on_stamp(channel, stamp, clock.now_nanos()),
                    None if !warned => {
                        warned = true;
                        tracing::warn!(%topic, "{} has no header stamp; ignoring it", raw.type_name);
                    }
                    None => {}
                }
            }
        }));
    }
    Ok((tasks, subscribers))
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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Command {
        #[command(flatten)]
        policy: PolicyArgs,
    }

    fn config(args: &[&str]) -> Result<PolicyConfig, String> {
        let argv = std::iter::once("rosync").chain(args.iter().copied());
        let command = Command::try_parse_from(argv).map_err(|e| e.to_string())?;
        command.policy.config().map_err(|e| e.to_string())
    }

    #[test]
    fn policy_arguments_become_a_policy_config() {
        assert_eq!(config(&[]), Ok(PolicyConfig::approximate_time(10)));
        assert_eq!(
            config(&[
                "--policy",
                "approx",
                "--queue",
                "3",
                "--max-interval",
                "0.02"
            ]),
            Ok(PolicyConfig::ApproximateTime {
                queue_size: 3,
                max_interval_ns: Some(20_000_000),
                age_penalty: 0.1,
                inter_message_lower_bound_ns: None,
            })
        );
        assert_eq!(
            config(&["--policy", "exact"]),
            Ok(PolicyConfig::ExactTime { queue_size: 10 })
        );
        assert_eq!(
            config(&["--policy", "latest"]),
            Ok(PolicyConfig::LatestTime)
        );
        assert_eq!(
            config(&["--policy", "epsilon", "--epsilon", "0.001"]),
            Ok(PolicyConfig::ApproximateEpsilonTime {
                queue_size: 10,
                epsilon_ns: 1_000_000,
            })
        );
    }

    #[test]
    fn bad_policy_arguments_name_the_option() {
        assert_eq!(
            config(&["--policy", "epsilon"]),
            Err("--policy epsilon needs --epsilon SECONDS".to_string())
        );
        let err = config(&["--max-interval=-0.5"]).expect_err("negative");
        assert!(
            err.contains("--max-interval") && err.contains("must not be negative"),
            "{err}"
        );
        let err = config(&["--queue", "0"]).expect_err("queue 0");
        assert!(
            err.contains("--queue") && err.contains("between 1 and 4294967295"),
            "{err}"
        );
        let err = config(&["--age-penalty", "nan"]).expect_err("NaN");
        assert!(
            err.contains("--age-penalty") && err.contains("finite"),
            "{err}"
        );
    }
}
