//! `rosync bag`: inspect, print and repair MCAP message logs.

use std::path::{Path, PathBuf};

use clap::Subcommand;

use super::damage::{finish, lost, Damaged};
use super::output::to_yaml;
use super::{fail, CliResult};
use crate::bag::{recover, recover_folder, BagInfo, Log, RecoveryReport};

/// Subcommands of `rosync bag`.
///
/// A damaged log is read the same way by every command: each damaged chunk is skipped with a
/// warning naming the file, the offset and the messages lost; everything else is used; and the
/// command exits with status 3 saying what was lost.
#[derive(Debug, Subcommand)]
pub enum BagCommand {
    /// Summarize a log: duration, start and end, size, and per topic its type, count and rate.
    ///
    /// Counts come from each file's summary, which is not checked against the chunks unless
    /// --verify is given (the output says which). Exit status 3: the log is damaged.
    Info {
        /// The log: an MCAP file, a rosbag2 sqlite3 file (.db3) or a rosbag2 folder.
        file: PathBuf,
        /// Read every chunk (decompression and CRC) and report the damaged ones and the
        /// messages they hold; takes as long as reading the whole log.
        #[arg(long)]
        verify: bool,
    },
    /// Print a log's messages in log-time order, as YAML (or JSON lines with --json).
    ///
    /// Exit status 3: the log is damaged; every readable message was printed.
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
    /// into a clean, indexed MCAP file, or a rosbag2 folder into a new folder.
    ///
    /// Exit status 0: everything was saved; 3: saved with losses (each damaged part is
    /// printed, with the messages lost where known); 1: nothing could be written.
    Recover {
        /// The damaged log: an MCAP file, or a rosbag2 folder of MCAP files (its
        /// metadata.yaml lists them; without one, every .mcap file in it).
        input: PathBuf,
        /// Where to write: a new MCAP file for a file; for a folder, a new folder that gets
        /// the recovered files under their names and a metadata.yaml (rosbag2 version 9).
        output: PathBuf,
    },
}

/// Runs a bag subcommand.
pub fn run(cmd: BagCommand) -> CliResult {
    match cmd {
        BagCommand::Info { file, verify } => info(&file, verify),
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
            if input.is_dir() {
                return recover_bag_folder(&input, &output);
            }
            let report = recover(&input, &output)?;
            match print_recovery(&report) {
                Some(_) => Err(Box::new(Damaged(format!(
                    "saved with losses (see above): everything readable is in {}",
                    output.display()
                )))),
                None => Ok(()),
            }
        }
    }
}

/// `bag info`: the summary, then what was verified.
fn info(file: &Path, verify: bool) -> CliResult {
    let log = Log::open(file)?;
    print!("{}", BagInfo::from_log(&log));
    let damage = log.damage();
    if verify {
        let verification = log.verify()?;
        println!("Verified:          {verification}");
        return finish(
            file,
            &damage,
            &verification.damaged,
            "the counts above are the summary's and include the lost messages",
        );
    }
    println!(
        "Verified:          no (counts are from the files' summaries; --verify reads every chunk)"
    );
    finish(
        file,
        &damage,
        &[],
        "the summary above counts what is readable",
    )
}

/// Prints what a recovery saved, and returns what it could not save.
fn print_recovery(report: &RecoveryReport) -> Option<String> {
    eprintln!(
        "recovered {} messages on {} topics from {} into {}",
        report.messages_recovered,
        report.topics,
        report.input.display(),
        report.output.display()
    );
    let damage: Vec<_> = report.damage.iter().collect();
    let lost = lost(&report.input, &damage, &report.skipped)?;
    eprintln!("could not save: {lost}");
    Some(lost)
}

/// `bag recover` on a rosbag2 folder: each file into a new folder, with a metadata.yaml.
fn recover_bag_folder(input: &Path, output: &Path) -> CliResult {
    let report = recover_folder(input, output)?;
    let mut lost_parts: Vec<String> = report.files.iter().filter_map(print_recovery).collect();
    for unreadable in &report.unreadable {
        eprintln!("could not save: {unreadable}");
        lost_parts.push(unreadable.to_string());
    }
    eprintln!(
        "wrote {} with {} files",
        output.join("metadata.yaml").display(),
        report.files.len()
    );
    if report.is_complete() {
        return Ok(());
    }
    Err(Box::new(Damaged(format!(
        "saved with losses ({} damaged files, see above): everything readable is in {}",
        lost_parts.len(),
        output.display()
    ))))
}

fn cat(file: &Path, topics: &[String], truncate: usize, json: bool) -> CliResult {
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
    let mut messages = if selected.is_empty() {
        reader.messages()
    } else {
        reader.messages_on(&selected)
    };
    for message in &mut messages {
        let message = message?;
        // YAML abbreviates long arrays while converting (never holding them as JSON).
        let limit = (!json && truncate > 0).then_some(truncate);
        let decoded = crate::msg::lookup(&message.type_name)
            .map(|t| t.decode_json_abbreviated(&[&message.data[..]], limit));
        let value = match decoded {
            Some(Ok(value)) => value,
            Some(Err(e)) => {
                tracing::warn!(
                    "{}: topic {}: skipping an undecodable {} message at log time {}: {e}",
                    file.display(),
                    crate::bag::shown(&message.topic),
                    crate::bag::shown(&message.type_name),
                    message.log_time
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
    finish(
        file,
        &reader.damage(),
        messages.skipped(),
        "every readable message was printed (`rosync bag recover` rewrites them into a clean log)",
    )
}
