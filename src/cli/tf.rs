//! `rosync tf`: print a transform as it changes (`echo`, like `tf2_echo`) and the frame tree
//! (`frames`, like `view_frames`).

use std::collections::HashMap;
use std::path::PathBuf;

use clap::Subcommand;

use super::args::{whole, Hz, Seconds};
use super::tf_echo::format_transform;
use super::tf_frames::{dot, svg, text_tree, FrameRow};
use super::{fail, CliResult, NetworkArgs};
use crate::node::Node;
use crate::tf::qos::{TF_STATIC_TOPIC, TF_TOPIC};
use crate::tf::{Buffer, TransformListener};
use crate::time::Time;

/// Subcommands of `rosync tf`.
#[derive(Debug, Subcommand)]
pub enum TfCommand {
    /// Print the transform of TARGET in SOURCE (the transform that maps data in TARGET into
    /// SOURCE, as `tf2_echo SOURCE TARGET` prints it) at the latest common time: translation,
    /// rotation as quaternion and roll/pitch/yaw, and the 4x4 matrix; until Ctrl-C.
    ///
    /// While the transform is not available, a line saying why goes to standard error.
    Echo {
        /// The frame the result is expressed in, e.g. odom.
        source: String,
        /// The frame whose pose is printed, e.g. base_link.
        target: String,
        /// How often to print, in Hz.
        #[arg(
            long,
            default_value = "1",
            value_name = "HZ",
            allow_hyphen_values = true
        )]
        rate: Hz,
        /// Decimals printed for each number.
        #[arg(long, default_value = "3", value_name = "N", allow_hyphen_values = true, value_parser = whole::<usize>(0, 17))]
        precision: usize,
        /// Exit after printing the transform this many times.
        #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = whole::<u64>(1, u64::MAX))]
        count: Option<u64>,
        /// Give up (exit status 1) if no transform could be printed for this many seconds
        /// (default: wait forever).
        #[arg(long, value_name = "SECONDS", allow_hyphen_values = true)]
        timeout: Option<Seconds>,
    },
    /// Listen to /tf and /tf_static for a while, then print the frame tree: each frame under
    /// its parent with its broadcaster (node), average rate, most recent transform and buffer
    /// length (static transforms marked); optionally write it as Graphviz DOT and SVG.
    Frames {
        /// How long to listen before printing, in seconds.
        #[arg(
            long,
            default_value = "5",
            value_name = "SECONDS",
            allow_hyphen_values = true
        )]
        wait: Seconds,
        /// Also write the tree as a Graphviz DOT file (render with `dot -Tpdf FILE`).
        #[arg(long, value_name = "FILE")]
        dot: Option<PathBuf>,
        /// Also write the tree as an SVG image (drawn by rosync, no Graphviz needed).
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
    },
}

/// Runs a tf subcommand.
pub async fn run(cmd: TfCommand, net: &NetworkArgs) -> CliResult {
    match cmd {
        TfCommand::Echo {
            source,
            target,
            rate,
            precision,
            count,
            timeout,
        } => {
            let node = net.node("rosync_tf_echo").await?;
            echo(&node, &source, &target, rate, precision, count, timeout).await
        }
        TfCommand::Frames { wait, dot, svg } => {
            let node = net.node("rosync_tf_frames").await?;
            frames(&node, wait, dot, svg).await
        }
    }
}

async fn echo(
    node: &Node,
    source: &str,
    target: &str,
    rate: Hz,
    precision: usize,
    count: Option<u64>,
    timeout: Option<Seconds>,
) -> CliResult {
    let listener = TransformListener::new(node, Buffer::default()).await?;
    let buffer = listener.buffer();
    let mut ticker = tokio::time::interval(rate.period());
    let mut printed = 0u64;
    let mut last_success = tokio::time::Instant::now();
    let mut last_error = String::new();
    loop {
        ticker.tick().await;
        // tf2_echo SOURCE TARGET looks up (target frame = SOURCE, source frame = TARGET).
        match buffer.lookup_transform(source, target, Time::default()) {
            Ok(t) => {
                println!(
                    "{}",
                    format_transform(t.header.stamp, &t.transform, precision)
                );
                printed += 1;
                last_success = tokio::time::Instant::now();
                if count.is_some_and(|n| printed >= n) {
                    return Ok(());
                }
            }
            Err(e) => {
                let text = e.to_string();
                if text != last_error {
                    eprintln!("Waiting for transform {source} -> {target}: {text}");
                    last_error = text;
                }
                if timeout.is_some_and(|t| last_success.elapsed() >= t.duration()) {
                    return fail(format!(
                        "no transform {source} -> {target} within {} s: {e}",
                        timeout.map_or(0.0, Seconds::as_secs_f64)
                    ));
                }
            }
        }
    }
}

async fn frames(
    node: &Node,
    wait: Seconds,
    dot_file: Option<PathBuf>,
    svg_file: Option<PathBuf>,
) -> CliResult {
    let listener = TransformListener::new(node, Buffer::default()).await?;
    tokio::time::sleep(wait.duration()).await;
    let names = broadcaster_names(node).await;
    let rows: Vec<FrameRow> = listener
        .buffer()
        .all_frames()
        .into_iter()
        .map(|f| {
            let authority = f.authority.unwrap_or_else(|| "unknown".into());
            FrameRow {
                broadcaster: names.get(&authority).cloned().unwrap_or(authority),
                frame: f.frame,
                parent: f.parent,
                is_static: f.is_static,
                rate_hz: f.average_rate.unwrap_or(0.0),
                most_recent: f.most_recent,
                buffer_length: f.buffer_length.as_nanos() as f64 / 1e9,
            }
        })
        .collect();
    if rows.is_empty() {
        let stats = listener.stats();
        return fail(format!(
            "no transforms received on {TF_TOPIC} or {TF_STATIC_TOPIC} within {} s \
             ({} messages, {} transforms refused{})",
            wait.as_secs_f64(),
            stats.messages,
            stats.refused,
            stats
                .last_refusal
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ));
    }
    let now = node.now();
    print!("{}", text_tree(&rows, now));
    if let Some(path) = dot_file {
        write_file(&path, &dot(&rows, now))?;
    }
    if let Some(path) = svg_file {
        write_file(&path, &svg(&rows, now))?;
    }
    Ok(())
}

/// The node names of `/tf` and `/tf_static` publishers by GID text (the listener's authority).
async fn broadcaster_names(node: &Node) -> HashMap<String, String> {
    let mut names = HashMap::new();
    for topic in [TF_TOPIC, TF_STATIC_TOPIC] {
        for info in node.publishers_info(topic).await.unwrap_or_default() {
            let name = match info.node_namespace.as_str() {
                "/" => format!("/{}", info.node_name),
                ns => format!("{ns}/{}", info.node_name),
            };
            names.insert(info.gid_text(), name);
        }
    }
    names
}

fn write_file(path: &std::path::Path, text: &str) -> CliResult {
    std::fs::write(path, text).or_else(|e| fail(format!("cannot write {}: {e}", path.display())))
}
