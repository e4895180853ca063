//! `rosync topic`: list, info, echo, pub and hz.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use clap::Subcommand;

use super::args::{whole, Hz, Seconds};
use super::output::{parse_value, to_yaml};
use super::qos_args::QosArgs;
use super::{fail, CliResult, NetworkArgs};
use crate::msg::{lookup, DynType};
use crate::node::{Durability, EntityKind, Node, QosProfile, Reliability};

/// How long graph queries wait for answers.
const GRAPH_TIMEOUT: Duration = Duration::from_millis(1000);

/// Subcommands of `rosync topic`.
#[derive(Debug, Subcommand)]
pub enum TopicCommand {
    /// List topics that have a publisher or a subscriber in the graph.
    List {
        /// Show each topic's type.
        #[arg(short = 't', long)]
        show_types: bool,
    },
    /// Show a topic's type and how many publishers and subscriptions it has; with -v (here:
    /// not a log level) every endpoint with its node, type, hash, GID and QoS, like
    /// `ros2 topic info -v`.
    Info {
        /// The topic, e.g. /chatter.
        topic: String,
    },
    /// Print messages of a topic as YAML (a `---` line after each).
    Echo {
        /// The topic, e.g. /chatter.
        topic: String,
        /// The message type (default: the type its publishers announce in the graph).
        #[arg(long = "type", value_name = "TYPE")]
        type_name: Option<String>,
        /// Exit after this many messages.
        #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = whole::<u64>(1, u64::MAX))]
        count: Option<u64>,
        /// Give up with an error if no message arrives for this many seconds.
        #[arg(long, value_name = "SECONDS", allow_hyphen_values = true)]
        timeout: Option<Seconds>,
        /// Arrays longer than this print as '<sequence type: T, length: N>', and longer strings
        /// are cut with '...', as in `ros2 topic echo`.
        #[arg(long, default_value = "128", value_name = "N", allow_hyphen_values = true, value_parser = whole::<usize>(0, u32::MAX.into()))]
        truncate_length: usize,
        /// Print every array and string in full (memory and output grow with the message).
        #[arg(long)]
        full_length: bool,
        /// Print each message as one line of JSON instead of YAML (abbreviated the same way).
        #[arg(long)]
        json: bool,
        /// Without QoS options, echo adapts to the topic's publishers as `ros2 topic echo`
        /// does: reliable unless one is best effort, transient local (printing the messages
        /// they kept for late subscribers) if every one is.
        #[command(flatten)]
        qos: QosArgs,
    },
    /// Publish a message given as YAML or JSON, repeatedly or a fixed number of times.
    Pub {
        /// The topic, e.g. /chatter.
        topic: String,
        /// The message type, e.g. std_msgs/msg/String.
        #[arg(value_name = "TYPE")]
        type_name: String,
        /// The message as YAML or JSON, e.g. '{data: hello}' (missing fields take defaults).
        #[arg(default_value = "{}")]
        value: String,
        /// Publishing rate in Hz.
        #[arg(
            long,
            default_value = "1",
            value_name = "HZ",
            allow_hyphen_values = true
        )]
        rate: Hz,
        /// Publish this many messages, then exit (default: until Ctrl-C).
        #[arg(long, value_name = "N", conflicts_with = "once", allow_hyphen_values = true, value_parser = whole::<u64>(1, u64::MAX))]
        count: Option<u64>,
        /// Publish one message and exit.
        #[arg(long)]
        once: bool,
        /// Before the first message, wait up to this many seconds for a subscriber to match.
        #[arg(
            long,
            default_value = "2",
            value_name = "SECONDS",
            allow_hyphen_values = true
        )]
        wait: Seconds,
        /// After the last message, stay up this many seconds (a transient-local publisher
        /// serves its kept messages to late subscribers meanwhile).
        #[arg(
            long,
            default_value = "0.1",
            value_name = "SECONDS",
            allow_hyphen_values = true
        )]
        keep_alive: Seconds,
        /// The publisher's QoS (default: reliable, volatile, keep last 10); e.g.
        /// `--qos-durability transient_local` latches the last --qos-depth messages.
        #[command(flatten)]
        qos: QosArgs,
    },
    /// Measure the publishing rate of a topic (any type).
    Hz {
        /// The topic, e.g. /camera/image.
        topic: String,
        /// How many recent intervals the statistics cover.
        #[arg(long, default_value = "10000", value_name = "N", allow_hyphen_values = true, value_parser = whole::<usize>(2, 1_000_000))]
        window: usize,
        /// Exit after this many messages.
        #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = whole::<u64>(1, u64::MAX))]
        count: Option<u64>,
    },
}

/// Runs a topic subcommand; `verbose` (-v) makes `topic info` list every endpoint.
pub async fn run(cmd: TopicCommand, net: &NetworkArgs, verbose: bool) -> CliResult {
    match cmd {
        TopicCommand::List { show_types } => list(net, show_types).await,
        TopicCommand::Info { topic } => super::topic_info::info(net, &topic, verbose).await,
        TopicCommand::Echo {
            topic,
            type_name,
            count,
            timeout,
            truncate_length,
            full_length,
            json,
            qos,
        } => {
            let node = net.node("rosync_topic_echo").await?;
            let topic = node.resolve_topic(&topic)?;
            let ty = match resolve_type(&node, &topic, type_name.as_deref()).await {
                Ok(ty) => ty,
                Err(e) => {
                    net.check_reached(&node).await?;
                    return Err(e);
                }
            };
            let limit = (!full_length).then_some(truncate_length);
            let qos = echo_qos(&node, &topic, &qos).await?;
            echo(&node, &topic, ty, qos, count, timeout, limit, json).await
        }
        TopicCommand::Pub {
            topic,
            type_name,
            value,
            rate,
            count,
            once,
            wait,
            keep_alive,
            qos,
        } => {
            let Some(ty) = lookup(&type_name) else {
                return fail(format!(
                    "unknown message type `{type_name}` (see `rosync interface list`)"
                ));
            };
            let value = parse_value(&value)?;
            let payload = ty
                .encode_json(value)
                .or_else(|e| fail(format!("the message does not fit {}: {e}", ty.type_name)))?;
            let count = if once { Some(1) } else { count };
            let node = net.node("rosync_topic_pub").await?;
            let publisher = node
                .raw_publisher(&topic, ty.type_name, ty.type_hash)
                .qos(qos.profile())
                .await?;
            publish(&publisher, payload, rate, count, wait, keep_alive).await
        }
        TopicCommand::Hz {
            topic,
            window,
            count,
        } => {
            let node = net.node("rosync_topic_hz").await?;
            hz(&node, &topic, window.max(2), count).await
        }
    }
}

async fn list(net: &NetworkArgs, show_types: bool) -> CliResult {
    let node = net.node("rosync_topic_list").await?;
    let own_zid = node.session().zid().to_string();
    let mut topics: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let entities = node.graph(GRAPH_TIMEOUT).await?;
    net.check_reached(&node).await?;
    for entity in entities {
        // Like `ros2 topic list`: topics of publishers and subscriptions, not services.
        let is_topic = matches!(entity.kind, EntityKind::Publisher | EntityKind::Subscriber);
        if entity.zid == own_zid || !is_topic {
            continue;
        }
        if let Some(topic) = entity.topic {
            topics
                .entry(topic.name)
                .or_default()
                .insert(topic.type_name);
        }
    }
    for (name, types) in topics {
        if show_types {
            let types: Vec<String> = types.into_iter().collect();
            println!("{name} [{}]", types.join(", "));
        } else {
            println!("{name}");
        }
    }
    Ok(())
}

/// The type to use on `topic`: the one given, else the one its publishers announce.
async fn resolve_type(
    node: &Node,
    topic: &str,
    given: Option<&str>,
) -> Result<&'static DynType, Box<dyn std::error::Error + Send + Sync>> {
    if let Some(name) = given {
        return lookup(name).map_or_else(
            || {
                fail(format!(
                    "unknown message type `{name}` (see `rosync interface list`)"
                ))
            },
            Ok,
        );
    }
    let types: BTreeSet<String> = node
        .graph(GRAPH_TIMEOUT)
        .await?
        .into_iter()
        .filter(|e| e.kind == EntityKind::Publisher)
        .filter_map(|e| e.topic)
        .filter(|t| t.name == topic)
        .map(|t| t.type_name)
        .collect();
    match types.len() {
        0 => fail(format!(
            "no publisher announces topic {topic}; pass --type TYPE to listen anyway"
        )),
        1 => {
            let name = types.iter().next().map(String::as_str).unwrap_or_default();
            lookup(name).map_or_else(
                || {
                    fail(format!(
                        "topic {topic} has type {name}, which rosync does not ship"
                    ))
                },
                Ok,
            )
        }
        _ => fail(format!(
            "topic {topic} is published with several types ({}); pick one with --type",
            types.into_iter().collect::<Vec<_>>().join(", ")
        )),
    }
}

/// The QoS `topic echo` subscribes with: the options given, with reliability and durability
/// left to the publishers (best available) unless given, as `ros2 topic echo` adapts to them.
async fn echo_qos(
    node: &Node,
    topic: &str,
    args: &QosArgs,
) -> Result<QosProfile, Box<dyn std::error::Error + Send + Sync>> {
    let mut wanted = args.profile();
    if args.qos_reliability.is_none() {
        wanted.reliability = Reliability::BestAvailable;
    }
    if args.qos_durability.is_none() {
        wanted.durability = Durability::BestAvailable;
    }
    let publishers: Vec<QosProfile> = node
        .graph(GRAPH_TIMEOUT)
        .await?
        .into_iter()
        .filter(|e| e.kind == EntityKind::Publisher)
        .filter_map(|e| e.topic)
        .filter(|t| t.name == topic)
        .filter_map(|t| t.qos_profile().ok())
        .collect();
    let qos = wanted.best_available_for(&publishers);
    // As ros2 topic echo: say when only some publishers offer the stricter policy.
    let reliable = publishers
        .iter()
        .filter(|p| p.resolved().reliability == Reliability::Reliable)
        .count();
    if wanted.reliability == Reliability::BestAvailable
        && reliable > 0
        && reliable < publishers.len()
    {
        eprintln!(
            "topic echo: some, but not all, publishers of {topic} are reliable: falling back to \
             best effort, which receives from all of them"
        );
    }
    let latched = publishers.iter().filter(|p| p.is_transient_local()).count();
    if wanted.durability == Durability::BestAvailable && latched > 0 && latched < publishers.len() {
        eprintln!(
            "topic echo: some, but not all, publishers of {topic} are transient local: falling \
             back to volatile, which receives from all of them (without their kept messages)"
        );
    }
    tracing::debug!(%topic, qos = %qos.to_rmw_zenoh(), "echo QoS");
    Ok(qos)
}

#[allow(clippy::too_many_arguments)]
async fn echo(
    node: &Node,
    topic: &str,
    ty: &'static DynType,
    qos: QosProfile,
    count: Option<u64>,
    timeout: Option<Seconds>,
    limit: Option<usize>,
    json: bool,
) -> CliResult {
    let sub = node
        .raw_subscriber(topic, Some(ty.identity()))
        .qos(qos)
        .max_queued_bytes(ECHO_QUEUE_BYTES)
        .await?;
    let result = echo_until_done(&sub, topic, ty, count, timeout, limit, json).await;
    report_losses("topic echo", topic, &sub.stats());
    result
}

/// Payload bytes `topic echo` and `topic hz` keep waiting at most (the newest message is always
/// kept): with the message being printed, memory stays a small multiple of the message size.
const ECHO_QUEUE_BYTES: usize = 64 * 1024 * 1024;

/// Tells on stderr what a command's subscriber dropped and what never arrived, if anything.
fn report_losses(command: &str, topic: &str, stats: &crate::node::SubscriberStats) {
    if stats.dropped_queue_full > 0 || stats.lost > 0 {
        eprintln!(
            "{command}: {topic}: received {}, dropped {} (queue full), lost {} (never arrived)",
            stats.received, stats.dropped_queue_full, stats.lost
        );
    }
}

async fn echo_until_done(
    sub: &crate::node::RawSubscriber,
    topic: &str,
    ty: &'static DynType,
    count: Option<u64>,
    timeout: Option<Seconds>,
    limit: Option<usize>,
    json: bool,
) -> CliResult {
    let mut printed = 0u64;
    let timeout = timeout.map(Seconds::duration);
    loop {
        if count.is_some_and(|n| printed >= n) {
            return Ok(());
        }
        let next = async {
            match timeout {
                Some(t) => tokio::time::timeout(t, sub.recv()).await.ok().flatten(),
                None => sub.recv().await,
            }
        };
        let raw = tokio::select! {
            raw = next => raw,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        let Some(raw) = raw else {
            return fail(format!(
                "no message on {topic} within {:.1} s",
                timeout.unwrap_or_default().as_secs_f64()
            ));
        };
        let segments: Vec<&[u8]> = raw.payload.slices().collect();
        let decoded = ty.decode_json_abbreviated(&segments, limit);
        drop(segments);
        drop(raw);
        match decoded {
            Ok(value) if json => println!("{value}"),
            Ok(value) => println!("{}---", to_yaml(&value)),
            Err(e) => {
                tracing::warn!(%topic, "skipping undecodable {} message: {e}", ty.type_name);
                continue;
            }
        }
        printed += 1;
    }
}

async fn publish(
    publisher: &crate::node::RawPublisher,
    payload: Vec<u8>,
    rate: Hz,
    count: Option<u64>,
    wait: Seconds,
    keep_alive: Seconds,
) -> CliResult {
    if !wait.duration().is_zero() {
        publisher.wait_for_subscribers(wait.duration()).await;
    }
    let mut ticker = tokio::time::interval(rate.period());
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sent = 0u64;
    while count.is_none_or(|n| sent < n) {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = tokio::signal::ctrl_c() => break,
        }
        publisher.publish_payload(payload.clone()).await?;
        sent += 1;
        eprintln!("publishing #{sent} on {}", publisher.topic());
    }
    // Give the last sample time to leave (and late subscribers time to get what a
    // transient-local publisher kept) before the session closes.
    tokio::select! {
        _ = tokio::time::sleep(keep_alive.duration()) => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}

async fn hz(node: &Node, topic: &str, window: usize, count: Option<u64>) -> CliResult {
    let sub = node
        .raw_subscriber(topic, None)
        .queue_size(1000)
        .max_queued_bytes(ECHO_QUEUE_BYTES)
        .await?;
    let result = hz_until_done(&sub, topic, window, count).await;
    report_losses("topic hz", topic, &sub.stats());
    result
}

async fn hz_until_done(
    sub: &crate::node::RawSubscriber,
    topic: &str,
    window: usize,
    count: Option<u64>,
) -> CliResult {
    let mut stamps: std::collections::VecDeque<Instant> = std::collections::VecDeque::new();
    let mut received = 0u64;
    let mut report = tokio::time::interval(Duration::from_secs(1));
    report.tick().await;
    loop {
        tokio::select! {
            raw = sub.recv() => {
                if raw.is_none() {
                    return Ok(());
                }
                received += 1;
                stamps.push_back(Instant::now());
                if stamps.len() > window + 1 {
                    stamps.pop_front();
                }
                if count.is_some_and(|n| received >= n) {
                    print_rate(&stamps);
                    return Ok(());
                }
            }
            _ = report.tick() => {
                if stamps.len() < 2 {
                    eprintln!("no new messages on {topic}");
                } else {
                    print_rate(&stamps);
                }
                report_losses("topic hz", topic, &sub.stats());
            }
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

fn print_rate(stamps: &std::collections::VecDeque<Instant>) {
    let intervals: Vec<f64> = stamps
        .iter()
        .zip(stamps.iter().skip(1))
        .map(|(a, b)| b.duration_since(*a).as_secs_f64())
        .collect();
    if intervals.is_empty() {
        return;
    }
    let n = intervals.len() as f64;
    let mean = intervals.iter().sum::<f64>() / n;
    let min = intervals.iter().copied().fold(f64::INFINITY, f64::min);
    let max = intervals.iter().copied().fold(0.0, f64::max);
    let std_dev = (intervals.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
    let rate = if mean > 0.0 {
        1.0 / mean
    } else {
        f64::INFINITY
    };
    println!(
        "average rate: {rate:.3}\n\tmin: {min:.6}s max: {max:.6}s std dev: {std_dev:.5}s window: {}",
        intervals.len()
    );
}
