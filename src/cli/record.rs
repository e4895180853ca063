//! `rosync record`: record topics into a rosbag2 folder of MCAP files until Ctrl-C or SIGTERM.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use clap::{Args, ValueEnum};

use super::args::{whole, Seconds};
use super::{CliResult, NetworkArgs};
use crate::bag::recorder::{
    default_bag_name, DEFAULT_CHANNEL_CAPACITY, DEFAULT_MAX_BUFFERED_BYTES,
};
use crate::bag::{Compression, RecordOptions, Recorder, TopicSelection, DEFAULT_CHUNK_SIZE};

/// Chunk compression on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CompressionArg {
    /// Uncompressed chunks (rosbag2's default; the fastest).
    None,
    /// LZ4 frames.
    Lz4,
    /// Zstandard.
    Zstd,
}

/// Arguments of `rosync record`.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Topics to record, e.g. /camera/image_raw (recorded once a publisher appears).
    #[arg(value_name = "TOPIC")]
    topics: Vec<String>,
    /// Record every topic with a publisher, including ones that appear later.
    #[arg(short, long)]
    all: bool,
    /// Also record topics whose name matches this pattern (anywhere; anchor with ^ and $).
    #[arg(short = 'e', long, value_name = "REGEX")]
    regex: Option<String>,
    /// Never record topics whose name matches this pattern.
    #[arg(short = 'x', long, value_name = "REGEX")]
    exclude: Option<String>,
    /// The bag folder to create (default rosync_YYYY_MM_DD-HH_MM_SS, UTC).
    #[arg(short, long, value_name = "OUTPUT")]
    output: Option<PathBuf>,
    /// Chunk compression.
    #[arg(long, value_enum, default_value_t = CompressionArg::None)]
    compression: CompressionArg,
    /// Start a new file once a file reaches this many bytes.
    #[arg(long, value_name = "BYTES", allow_hyphen_values = true, value_parser = whole::<u64>(1, u64::MAX))]
    max_bag_size: Option<u64>,
    /// Start a new file once a file spans this many seconds.
    #[arg(long, value_name = "SECONDS", allow_hyphen_values = true)]
    max_bag_duration: Option<Seconds>,
    /// Uncompressed bytes of messages per chunk (the most a killed recorder loses).
    #[arg(
        long,
        value_name = "BYTES",
        default_value_t = DEFAULT_CHUNK_SIZE,
        allow_hyphen_values = true,
        value_parser = whole::<u64>(1, u32::MAX.into())
    )]
    chunk_size: u64,
    /// Also write a chunk once it is this many seconds old (0: only when full).
    #[arg(
        long,
        value_name = "SECONDS",
        default_value = "1",
        allow_hyphen_values = true
    )]
    max_chunk_age: Seconds,
    /// Messages buffered between receiving and the disk writer, the batch being written
    /// included (0 or 1: one at a time); more are dropped and counted.
    #[arg(
        long,
        value_name = "N",
        default_value_t = DEFAULT_CHANNEL_CAPACITY,
        allow_hyphen_values = true,
        value_parser = whole::<usize>(0, 1_000_000)
    )]
    channel_capacity: usize,
    /// Payload bytes buffered between receiving and the disk writer at most (the only buffer
    /// before the open chunk); beyond it messages are dropped and counted. A killed recorder
    /// loses at most --chunk-size + --max-buffered-bytes of messages (default 36 MiB).
    #[arg(
        long,
        default_value_t = DEFAULT_MAX_BUFFERED_BYTES,
        value_name = "BYTES",
        allow_hyphen_values = true,
        value_parser = whole::<usize>(1, u64::MAX)
    )]
    max_buffered_bytes: usize,
    /// How often to look for new topics, in seconds.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value = "0.5",
        allow_hyphen_values = true
    )]
    discovery_interval: Seconds,
}

/// Runs `rosync record`.
pub async fn run(args: RecordArgs, net: &NetworkArgs) -> CliResult {
    let output = args
        .output
        .unwrap_or_else(|| PathBuf::from(default_bag_name(SystemTime::now())));
    let max_chunk_age = args.max_chunk_age.duration();
    let mut options = RecordOptions::new(output);
    options.selection = TopicSelection::from_options(
        args.topics,
        args.all,
        args.regex.as_deref(),
        args.exclude.as_deref(),
    )?;
    options.compression = match args.compression {
        CompressionArg::None => Compression::None,
        CompressionArg::Lz4 => Compression::Lz4,
        CompressionArg::Zstd => Compression::Zstd,
    };
    options.chunk_size = args.chunk_size;
    options.max_chunk_age = (!max_chunk_age.is_zero()).then_some(max_chunk_age);
    options.max_bag_size = args.max_bag_size;
    options.max_bag_duration = args.max_bag_duration.map(Seconds::duration);
    options.channel_capacity = args.channel_capacity;
    options.max_buffered_bytes = args.max_buffered_bytes;
    options.discovery_interval = args
        .discovery_interval
        .duration()
        .max(Duration::from_millis(10));

    let node = net.node("rosync_record").await?;
    let recorder = Recorder::start(&node, options).await?;
    eprintln!(
        "recording into {} (Ctrl-C to stop)",
        recorder.folder().display()
    );
    wait_for_signal().await?;
    eprintln!("stopping");
    let report = recorder.stop().await?;
    eprint!("{report}");
    if report.dropped() > 0 {
        eprintln!("warning: {} messages dropped", report.dropped());
    }
    if report.lost() > 0 {
        eprintln!(
            "warning: {} messages lost on the way (never arrived)",
            report.lost()
        );
    }
    Ok(())
}

/// Waits for Ctrl-C (SIGINT) or SIGTERM.
pub(super) async fn wait_for_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
