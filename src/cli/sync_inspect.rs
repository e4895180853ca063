//! `rosync sync inspect`: why a synchronizer does what it does, on a log or live topics; a thin
//! shell over `rosync::sync::inspect` (read the stamps, print the summary, write the report).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use clap::Args;

use super::args::{whole, Seconds};
use super::sync::{log_stamps, open_log_topics, subscribe_stamps, PolicyArgs};
use super::{fail, CliResult, NetworkArgs};
use crate::lock::lock;
use crate::sync::inspect::{html, inspect, Recording};

/// Options of `rosync sync inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A log (MCAP file or rosbag2 folder) to inspect; without it, live topics are inspected
    /// for --seconds.
    #[arg(long, value_name = "LOG")]
    bag: Option<PathBuf>,
    /// A topic to synchronize (repeat 2 to 9 times); its type must start with a Header.
    #[arg(long = "topic", value_name = "TOPIC", required = true)]
    topics: Vec<String>,
    /// Live topics: how long to listen, in seconds.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value = "10",
        conflicts_with = "bag"
    )]
    seconds: Seconds,
    /// Write the HTML report (one self-contained file that opens offline) to FILE.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Inspect at most this many messages (the first ones); more are counted and reported.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 20_000_000,
        allow_hyphen_values = true,
        value_parser = whole::<usize>(1, 1 << 32)
    )]
    max_messages: usize,
    /// The policy to inspect and its parameters (as for `sync simulate` and `sync live`).
    #[command(flatten)]
    policy: PolicyArgs,
}

/// Runs `rosync sync inspect`.
pub async fn run(args: InspectArgs, net: &NetworkArgs) -> CliResult {
    let config = args.policy.config()?;
    config
        .build::<usize>(args.topics.len().clamp(2, 9))
        .or_else(|e| fail(format!("invalid synchronizer setting: {e}")))?;
    let (recording, source, left_out, damage) = match &args.bag {
        Some(path) => {
            let (rec, left_out, damage) = read_log(path, &args.topics, args.max_messages)?;
            (rec, path.display().to_string(), left_out, damage)
        }
        None => {
            let (rec, left_out) = listen(net, &args).await?;
            let source = format!("live topics for {} s", args.seconds);
            (rec, source, left_out, None)
        }
    };
    if left_out > 0 {
        eprintln!(
            "warning: inspected the first {} messages; {left_out} more left out (--max-messages)",
            args.max_messages
        );
    }
    recording.check_every_topic_has_messages()?;
    let inspection = inspect(recording, &config)?;
    print!("{inspection}");
    if let Some(out) = &args.output {
        std::fs::write(out, html::report(&inspection, &source))
            .or_else(|e| fail(format!("cannot write {}: {e}", out.display())))?;
        println!("report: {}", out.display());
    }
    match damage {
        Some(lost) => Err(Box::new(super::damage::Damaged(format!(
            "{lost}; every readable message was inspected"
        )))),
        None => Ok(()),
    }
}

/// The stamps and log times of `topics` in a log, in log-time order, at most `max` messages;
/// also how many were left out and what a damaged log lost.
fn read_log(
    path: &Path,
    topics: &[String],
    max: usize,
) -> Result<(Recording, usize, Option<String>), Box<dyn std::error::Error + Send + Sync>> {
    let log = open_log_topics(path, topics)?;
    let mut recording = Recording::new(topics.to_vec())?;
    let mut left_out = 0;
    let skipped = log_stamps(path, &log, topics, |channel, stamp, log_time| {
        if recording.messages().len() >= max {
            left_out += 1;
        } else {
            recording.push(channel, stamp, Some(log_time))?;
        }
        Ok(())
    })?;
    let lost = super::damage::lost(path, &log.damage(), &skipped);
    Ok((recording, left_out, lost))
}

/// The stamps and arrival times of live topics for `--seconds`, at most `--max-messages`.
async fn listen(
    net: &NetworkArgs,
    args: &InspectArgs,
) -> Result<(Recording, usize), Box<dyn std::error::Error + Send + Sync>> {
    let recording = Arc::new(Mutex::new(Recording::new(args.topics.clone())?));
    let left_out = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let node = net.node("rosync_sync_inspect").await?;
    let on_stamp = {
        let (recording, left_out, max) = (
            Arc::clone(&recording),
            Arc::clone(&left_out),
            args.max_messages,
        );
        Arc::new(move |channel, stamp, arrival| {
            let mut rec = lock(&recording);
            if rec.messages().len() >= max {
                left_out.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            } else if let Err(e) = rec.push(channel, stamp, Some(arrival)) {
                tracing::warn!("{e}");
            }
        })
    };
    let (tasks, subscribers) =
        subscribe_stamps(&node, &args.topics, args.policy.queue(), on_stamp).await?;
    eprintln!(
        "listening to {} for {} s",
        args.topics.join(", "),
        args.seconds
    );
    tokio::select! {
        _ = tokio::time::sleep(args.seconds.duration()) => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    for task in tasks {
        task.abort();
    }
    for (name, sub) in args.topics.iter().zip(&subscribers) {
        let stats = sub.stats();
        if stats.dropped_queue_full > 0 || stats.lost > 0 {
            eprintln!(
                "warning: {name}: {} dropped by the subscriber (queue full), {} never arrived; they are not in the inspection",
                stats.dropped_queue_full, stats.lost
            );
        }
    }
    let recording = lock(&recording).clone();
    Ok((
        recording,
        left_out.load(std::sync::atomic::Ordering::Relaxed),
    ))
}
