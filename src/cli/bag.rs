//! `rosync bag`: inspect, print and repair MCAP message logs.

use std::path::PathBuf;

use clap::Subcommand;

use super::output::to_yaml;
use super::{fail, CliResult};
use crate::bag::{recover, BagInfo, Log};

/// Subcommands of `rosync bag`.
#[derive(Debug, Subcommand)]
pub enum BagCommand {
    /// Summarize a log: duration, start and end, size, and per topic its type, count and rate.
    Info {
        /// The log: an MCAP file, a rosbag2 sqlite3 file (.db3) or a rosbag2 folder.
        file: PathBuf,
    },
    /// Print a log's messages in log-time order, as YAML (or JSON lines with --json).
    Cat {
        /// The log: an MCAP file, a rosbag2 sqlite3 file (.db3) or a rosbag2 folder.
        file: PathBuf,
        /// Only these topics (repeatable; default: all).
        #[arg(long = "topics", value_name = "TOPIC", num_args = 1..)]
        topics: Vec<String>,
        /// Arrays longer than this print as '<sequence type: T, length: N>', longer strings are
        /// cut with '...' (0: everything in full).
        #[arg(long, default_value_t = 128, value_name = "N")]
        truncate_length: usize,
        /// Print each message as one line of JSON with its topic and log time (in full).
        #[arg(long)]
        json: bool,
    },
    /// Rewrite every readable message of a damaged log (e.g. a recorder killed with SIGKILL)
    /// into a clean, indexed MCAP file.
    Recover {
        /// The damaged MCAP file.
        input: PathBuf,
        /// Where to write the recovered file.
        output: PathBuf,
    },
}

/// Runs a bag subcommand.
pub fn run(cmd: BagCommand) -> CliResult {
    match cmd {
        BagCommand::Info { file } => {
            let info = BagInfo::from_log(&Log::open(&file)?);
            print!("{info}");
            Ok(())
        }
        BagCommand::Cat {
            file,
            topics,
            truncate_length,
            json,
        } => cat(&file, &topics, truncate_length, json),
        BagCommand::Recover { input, output } => {
            if input == output {
                return fail("the recovered file must not overwrite the damaged one");
            }
            let report = recover(&input, &output)?;
            eprintln!(
                "recovered {} messages on {} topics from {} into {}",
                report.messages_recovered,
                report.topics,
                input.display(),
                output.display()
            );
            if let Some(damage) = &report.damage {
                eprintln!("damage: {damage}");
            }
            Ok(())
        }
    }
}

fn cat(file: &PathBuf, topics: &[String], truncate: usize, json: bool) -> CliResult {
    let reader = Log::open(file)?;
    let known: Vec<String> = reader.topics().into_iter().map(|t| t.topic).collect();
    if let Some(missing) = topics.iter().find(|t| !known.contains(t)) {
        return fail(format!(
            "{}: no topic {missing} (topics: {})",
            file.display(),
            known.join(", ")
        ));
    }
    let selected: Vec<&str> = topics.iter().map(String::as_str).collect();
    let messages = if selected.is_empty() {
        reader.messages()
    } else {
        reader.messages_on(&selected)
    };
    for message in messages {
        let message = message?;
        // YAML abbreviates long arrays while converting (never holding them as JSON).
        let limit = (!json && truncate > 0).then_some(truncate);
        let decoded = crate::msg::lookup(&message.type_name)
            .map(|t| t.decode_json_abbreviated(&[&message.data[..]], limit));
        let value = match decoded {
            Some(Ok(value)) => value,
            Some(Err(e)) => {
                eprintln!(
                    "{}: skipping undecodable {} message: {e}",
                    message.topic, message.type_name
                );
                continue;
            }
            None => {
                serde_json::json!({ "unknown_type": &*message.type_name, "bytes": message.data.len() })
            }
        };
        if json {
            let line = serde_json::json!({
                "topic": &*message.topic,
                "log_time": message.log_time,
                "type": &*message.type_name,
                "value": value,
            });
            println!("{line}");
        } else {
            println!(
                "topic: {}\nlog_time: {}.{:09}\ntype: {}",
                message.topic,
                message.log_time / 1_000_000_000,
                message.log_time % 1_000_000_000,
                message.type_name
            );
            print!("{}", to_yaml(&serde_json::json!({ "message": value })));
            println!("---");
        }
    }
    let damage = reader.damage();
    if !damage.is_empty() {
        let damage = damage
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("; ");
        return fail(format!(
            "{damage} (every message before the damage was printed; `rosync bag recover` repairs the file)"
        ));
    }
    Ok(())
}
