//! [`Recorder`]: records live topics into a rosbag2 folder of MCAP files, as `ros2 bag record
//! -s mcap` does.
//!
//! # Layout
//!
//! `OUTPUT/OUTPUT_0.mcap`, `OUTPUT/OUTPUT_1.mcap`, ... (a new file when
//! [`RecordOptions::max_bag_size`] or [`RecordOptions::max_bag_duration`] is exceeded) and, when
//! the recording stops, `OUTPUT/metadata.yaml` in rosbag2's format version 9 (Jazzy), so Python
//! `rosbags` and `ros2 bag info` open the folder. Every file is a
//! [`BagWriter`](crate::bag::BagWriter) file: `ros2` profile, `ros2msg` schemas, `cdr` channels
//! with `offered_qos_profiles` (the publishers' QoS from their graph tokens, as
//! [`QosProfile`](crate::node::QosProfile)s) and `topic_type_hash`.
//!
//! # Pipeline
//!
//! Whenever its graph view changes, and at least every [`RecordOptions::discovery_interval`],
//! the recorder lists the graph's publishers; each
//! new selected topic gets a [`RawSubscriber`](crate::node::RawSubscriber) for the exact type
//! and hash it is published with. Its callback pushes (topic, log time = receive time,
//! publish time = the attachment's source timestamp, payload) straight from zenoh's receive
//! thread onto one pending batch, bounded at [`RecordOptions::channel_capacity`] messages
//! (default 131,072) and [`RecordOptions::max_buffered_bytes`] payload bytes (default 32 MiB)
//! together with the batch being written (no subscriber queue in between). Payloads up to
//! 64 KiB are copied into the batch's one contiguous buffer (zenoh's receive buffer is
//! released at once); larger ones are shared. One writer thread (a `std::thread`: disk I/O
//! never blocks the async runtime) swaps the whole batch out per wake-up and writes it; a
//! subscriber wakes it only when it sleeps on an empty buffer, and after a batch it lingers
//! 1 ms (unless 1 MiB or 4096 messages wait) so a stream of small messages gathers into
//! batches instead of costing a wake-up per message; it gives
//! back the room of written messages every 1024 messages or 1 MiB, so a backlog taken at once
//! after a stall, or a few images, do not hold the whole bound until the batch's end. When the
//! buffer is full the message is dropped and counted for its topic; messages that never
//! arrived (gaps in the publishers' sequence numbers) are counted as lost. Both appear in the
//! [`RecordReport`] and in [`Recorder::progress`].
//!
//! Memory: at most `max_buffered_bytes` of payloads wait at once; the two batch buffers that
//! take turns (pending, being written) grow to at most `max_buffered_bytes` each, and 56
//! bytes per message slot up to `channel_capacity` each (default: 2 x 32 MiB + 2 x 7 MiB).
//!
//! # Types
//!
//! The schema stored for a topic is the definition from rosync's registry
//! ([`crate::msg::lookup`]). A topic of a type rosync does not ship, or published with a
//! `RIHS01_` hash other than rosync's for that type, is **skipped with a warning** naming the
//! topic and type (and listed in [`RecordReport::skipped`]): rosbag2 writes such topics with
//! an empty definition of encoding `unknown`, which the `ros2` MCAP profile does not allow and
//! which makes Python `rosbags` fail on the whole file, not just that topic.
//!
//! # What a killed recorder loses
//!
//! A recorder killed with SIGKILL leaves no `metadata.yaml`, and its last file has no summary;
//! every closed chunk is still read by [`Log::open`](crate::bag::Log::open) (on the folder) and
//! [`recover`](crate::bag::recover()). A chunk is closed when its messages reach
//! [`RecordOptions::chunk_size`] bytes (default 4 MiB), or when it is older than
//! [`RecordOptions::max_chunk_age`] (default 1 s): on the next message, or within 100 ms when
//! no message comes. Before the writer, messages wait only in the batches, bounded by
//! [`RecordOptions::max_buffered_bytes`] (default 32 MiB). So what is lost is bounded by **at
//! most `chunk_size` + `max_buffered_bytes` bytes of messages (default 4 + 32 = 36 MiB; one
//! message more when a single message is larger than the buffer) at any message rate, and,
//! while the writer keeps up, nothing received more than `max_chunk_age` + 100 ms before the
//! kill**. A power loss can also
//! lose what the OS had not written yet.
//!
//! # Topic selection
//!
//! [`RecordOptions::selection`] is a [`TopicSelection`]: names, `all`, and `--regex` /
//! `--exclude` patterns that match anywhere in the topic name, like rosbag2's.
//!
//! # Parts
//!
//! - `options`: [`RecordOptions`], [`RecordReport`], [`TopicReport`], [`default_bag_name`];
//! - `discovery`: the graph polling, the per-topic decision and the subscribers, whose
//!   callbacks fill the outbox (zenoh);
//! - `outbox`: the batches handed to the writer thread, bounded in messages and bytes;
//! - `writer`: the writer thread (files, splitting, chunk age), fed batches of plain bytes;
//! - `metadata`: the `metadata.yaml` it writes, a
//!   [`rosbag2::Metadata`](crate::bag::rosbag2::Metadata).

mod discovery;
mod metadata;
mod options;
mod outbox;
mod topic;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::watch;

pub use options::{
    default_bag_name, RecordOptions, RecordReport, TopicReport, DEFAULT_CHANNEL_CAPACITY,
    DEFAULT_MAX_BUFFERED_BYTES,
};

use crate::bag::{BagError, TopicSelection};
use crate::lock::lock;
use crate::node::Node;
use discovery::{Discovery, Skipped};
use outbox::Outbox;
use topic::Topics;
use writer::{WriterOutcome, WriterThread};

/// Why recording could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The options are inconsistent (nothing selected, a bad pattern, ...).
    #[error("{0}")]
    Options(String),
    /// The node could not subscribe or query the graph.
    #[error(transparent)]
    Node(#[from] crate::Error),
    /// A file could not be written.
    #[error(transparent)]
    Bag(#[from] BagError),
}

/// Records topics into a rosbag2 folder until [`stop`](Self::stop); see the [module docs](self).
pub struct Recorder {
    folder: PathBuf,
    topics: Topics,
    skipped: Skipped,
    stop: watch::Sender<bool>,
    discovery: tokio::task::JoinHandle<()>,
    writer: std::thread::JoinHandle<Result<WriterOutcome, BagError>>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("folder", &self.folder)
            .finish_non_exhaustive()
    }
}

/// The name of the bag folder (its files' stem); an error for a path without one.
fn folder_stem(folder: &Path) -> Result<String, RecordError> {
    folder
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .ok_or_else(|| RecordError::Options(format!("bad output folder name {}", folder.display())))
}

/// Creates the bag folder; it must not exist, or be empty.
fn create_folder(folder: &Path) -> Result<(), RecordError> {
    if folder.exists() {
        let mut entries = std::fs::read_dir(folder).map_err(|e| BagError::io(folder, e))?;
        if entries.next().is_some() {
            return Err(RecordError::Options(format!(
                "output folder {} already exists and is not empty",
                folder.display()
            )));
        }
    }
    std::fs::create_dir_all(folder).map_err(|e| BagError::io(folder, e))?;
    Ok(())
}

impl Recorder {
    /// Creates the output folder (it must not exist, or be empty), starts the writer thread and
    /// discovery, and returns at once; topics are subscribed as their publishers appear.
    pub async fn start(node: &Node, options: RecordOptions) -> Result<Self, RecordError> {
        if options.selection.is_empty() {
            return Err(RecordError::Options(
                "nothing to record: name topics, or use --all or --regex".into(),
            ));
        }
        let selection = TopicSelection {
            topics: options
                .selection
                .topics
                .iter()
                .map(|t| node.resolve_topic(t))
                .collect::<crate::Result<_>>()?,
            ..options.selection.clone()
        };
        let folder = options.output.clone();
        let stem = folder_stem(&folder)?;
        create_folder(&folder)?;

        let topics: Topics = Arc::default();
        let skipped: Skipped = Arc::default();
        let (outbox, inbox) = Outbox::new(options.channel_capacity, options.max_buffered_bytes);
        let thread = WriterThread::create(folder.clone(), stem, &options, topics.clone())?;
        let writer = std::thread::Builder::new()
            .name("rosync-record-writer".into())
            .spawn(move || thread.run(inbox))
            .map_err(|e| BagError::io(&folder, e))?;

        let (stop, stop_rx) = watch::channel(false);
        let discovery = tokio::spawn(
            Discovery {
                node: node.clone(),
                selection,
                interval: options.discovery_interval,
                topics: topics.clone(),
                skipped: skipped.clone(),
                outbox,
                stop: stop_rx,
            }
            .run(),
        );
        Ok(Self {
            folder: options.output,
            topics,
            skipped,
            stop,
            discovery,
            writer,
        })
    }

    /// The bag folder.
    pub fn folder(&self) -> &Path {
        &self.folder
    }

    /// The topics subscribed so far.
    pub fn topics(&self) -> Vec<String> {
        lock(&self.topics).iter().map(|t| t.name.clone()).collect()
    }

    /// The counters so far, per topic.
    pub fn progress(&self) -> Vec<TopicReport> {
        lock(&self.topics).iter().map(|t| t.report()).collect()
    }

    /// Stops receiving, writes what was received, closes the last file with its summary and
    /// index, writes `metadata.yaml`, and reports.
    pub async fn stop(self) -> Result<RecordReport, RecordError> {
        let _ = self.stop.send(true);
        // Discovery closes its subscribers (zenoh then drops their callbacks, each holding a
        // sender) and drops its own: the writer thread sees the channel close after the last
        // message.
        let _ = self.discovery.await;
        let writer = self.writer;
        let outcome = tokio::task::spawn_blocking(move || writer.join())
            .await
            .map_err(|e| RecordError::Options(format!("writer thread: {e}")))?
            .map_err(|_| RecordError::Options("the writer thread panicked".into()))??;
        let topics: Vec<TopicReport> = lock(&self.topics).iter().map(|t| t.report()).collect();
        Ok(RecordReport {
            folder: self.folder,
            messages: topics.iter().map(|t| t.written).sum(),
            topics,
            skipped: lock(&self.skipped).clone(),
            files: outcome.files,
            bytes: outcome.bytes,
        })
    }
}
