//! [`Recorder`]: records live topics into a rosbag2 folder of MCAP files, as `ros2 bag record
//! -s mcap` does.
//!
//! # Layout
//!
//! `OUTPUT/OUTPUT_0.mcap`, `OUTPUT/OUTPUT_1.mcap`, ... (a new file when
//! [`RecordOptions::max_bag_size`] or [`RecordOptions::max_bag_duration`] is exceeded) and, when
//! the recording stops, `OUTPUT/metadata.yaml` in rosbag2's format version 9 (Jazzy), so Python
//! `rosbags` and `ros2 bag info` open the folder. Every file is a [`BagWriter`] file: `ros2`
//! profile, `ros2msg` schemas, `cdr` channels with `offered_qos_profiles` (the publishers' QoS
//! from the graph) and `topic_type_hash`.
//!
//! # Pipeline
//!
//! Every [`RecordOptions::discovery_interval`] the recorder lists the graph's publishers; each
//! new selected topic gets a [`RawSubscriber`](crate::node::RawSubscriber) for the exact type
//! and hash it is published with. Its receiving task pushes (topic, log time = receive time,
//! publish time = the attachment's source timestamp, payload) into a bounded channel of
//! [`RecordOptions::channel_capacity`] messages and [`RecordOptions::max_buffered_bytes`]
//! payload bytes, read by one writer thread (a `std::thread`: disk I/O never blocks the async
//! runtime). When the channel is full the message is dropped and counted for its topic; so is
//! a message the subscriber's own queue dropped. Both appear in the [`RecordReport`].
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
//! every closed chunk is still read by [`super::Log::open`] (on the folder) and
//! [`super::recover`]. A chunk is closed when its messages reach
//! [`RecordOptions::chunk_size`] bytes (default 4 MiB), or when it is older than
//! [`RecordOptions::max_chunk_age`] (default 1 s): on the next message, or within 100 ms when
//! no message comes. So what is lost is bounded by **at most `chunk_size` bytes of messages,
//! and nothing received more than `max_chunk_age` + 100 ms before the kill** (plus what was
//! still queued in the channel, at most `channel_capacity` messages). A power loss can also
//! lose what the OS had not written yet.
//!
//! # Topic selection
//!
//! [`RecordOptions::selection`] is a [`TopicSelection`]: names, `all`, and `--regex` /
//! `--exclude` patterns that match anywhere in the topic name, like rosbag2's.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::watch;

use super::error::BagError;
use super::selection::{SkippedTopic, TopicSelection};
use super::writer::{
    BagWriter, Compression, TopicId, WriterOptions, DEFAULT_CHUNK_SIZE, DEFAULT_QOS_PROFILES,
};
use crate::lock::lock;
use crate::node::{EntityKind, Node, RawMessage, RawSubscriber};

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

/// What to record and how; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct RecordOptions {
    /// The topics to record (names are resolved against the node); none by default.
    pub selection: TopicSelection,
    /// The bag folder; its last component names the files.
    pub output: PathBuf,
    /// Chunk compression (default none, as rosbag2).
    pub compression: Compression,
    /// Uncompressed bytes after which a chunk is written (default 4 MiB).
    pub chunk_size: u64,
    /// Close a chunk this old even if it is not full (default 1 s); bounds the loss in time.
    pub max_chunk_age: Option<Duration>,
    /// Start a new file once a file holds this many bytes (counting its open chunk).
    pub max_bag_size: Option<u64>,
    /// Start a new file once the log times in a file span this long.
    pub max_bag_duration: Option<Duration>,
    /// How often the graph is polled for new topics (default 500 ms).
    pub discovery_interval: Duration,
    /// Messages buffered between the receiving tasks and the writer thread (default 256).
    pub channel_capacity: usize,
    /// Queue size of each subscriber (default 500; it fills only while the receiving task
    /// waits for a CPU, but with large images that is its memory bound).
    pub queue_size: usize,
    /// Payload bytes buffered between the receiving tasks and the writer thread at most
    /// (default 512 MiB); a message that would exceed it is dropped and counted.
    pub max_buffered_bytes: usize,
}

impl RecordOptions {
    /// Defaults, writing into `output`.
    pub fn new(output: impl Into<PathBuf>) -> Self {
        Self {
            selection: TopicSelection::default(),
            output: output.into(),
            compression: Compression::None,
            chunk_size: DEFAULT_CHUNK_SIZE,
            max_chunk_age: Some(Duration::from_secs(1)),
            max_bag_size: None,
            max_bag_duration: None,
            discovery_interval: Duration::from_millis(500),
            channel_capacity: 256,
            queue_size: 500,
            max_buffered_bytes: 512 * 1024 * 1024,
        }
    }
}

/// Counters of one recorded topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicReport {
    /// The topic.
    pub topic: String,
    /// Its type.
    pub type_name: String,
    /// Messages that reached the subscriber.
    pub received: u64,
    /// Messages written to the bag.
    pub written: u64,
    /// Dropped because the subscriber's queue was full.
    pub dropped_queue: u64,
    /// Dropped because the channel to the writer was full.
    pub dropped_channel: u64,
}

impl TopicReport {
    /// All drops of this topic.
    pub fn dropped(&self) -> u64 {
        self.dropped_queue + self.dropped_channel
    }
}

/// What a recording wrote and dropped, returned by [`Recorder::stop`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordReport {
    /// The bag folder.
    pub folder: PathBuf,
    /// Per topic, in discovery order.
    pub topics: Vec<TopicReport>,
    /// Selected topics not recorded, and why.
    pub skipped: Vec<SkippedTopic>,
    /// The files written, in order.
    pub files: Vec<PathBuf>,
    /// Bytes of all files.
    pub bytes: u64,
    /// Messages written.
    pub messages: u64,
}

impl RecordReport {
    /// Drops of all topics.
    pub fn dropped(&self) -> u64 {
        self.topics.iter().map(TopicReport::dropped).sum()
    }
}

impl std::fmt::Display for RecordReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "recorded {} messages, {} bytes in {} file(s) into {}",
            self.messages,
            self.bytes,
            self.files.len(),
            self.folder.display()
        )?;
        for t in &self.topics {
            writeln!(
                f,
                "  {} ({}): received {}, written {}, dropped {} (subscriber queue {}, writer channel {})",
                t.topic,
                t.type_name,
                t.received,
                t.written,
                t.dropped(),
                t.dropped_queue,
                t.dropped_channel
            )?;
        }
        for skipped in &self.skipped {
            writeln!(f, "  skipped {skipped}")?;
        }
        Ok(())
    }
}

/// One subscribed topic, shared by its receiving task, the writer thread and the recorder.
struct TopicState {
    name: String,
    type_name: String,
    type_hash: String,
    definition: &'static str,
    qos_yaml: String,
    received: AtomicU64,
    written: AtomicU64,
    dropped_queue: AtomicU64,
    dropped_channel: AtomicU64,
}

impl TopicState {
    fn report(&self) -> TopicReport {
        TopicReport {
            topic: self.name.clone(),
            type_name: self.type_name.clone(),
            received: self.received.load(Ordering::Relaxed),
            written: self.written.load(Ordering::Relaxed),
            dropped_queue: self.dropped_queue.load(Ordering::Relaxed),
            dropped_channel: self.dropped_channel.load(Ordering::Relaxed),
        }
    }
}

/// One message on its way to the writer thread.
struct Item {
    topic: Arc<TopicState>,
    log_time: u64,
    publish_time: u64,
    payload: zenoh::bytes::ZBytes,
    /// Returns the payload's bytes to the budget when the item is written or dropped.
    _reservation: Reservation,
}

/// Bytes buffered between the receiving tasks and the writer thread, against a limit.
#[derive(Debug)]
struct Budget {
    used: AtomicUsize,
    limit: usize,
}

/// A share of the [`Budget`], released on drop.
struct Reservation {
    bytes: usize,
    budget: Arc<Budget>,
}

impl Budget {
    fn reserve(self: &Arc<Self>, bytes: usize) -> Option<Reservation> {
        let before = self.used.fetch_add(bytes, Ordering::AcqRel);
        if before.saturating_add(bytes) > self.limit && before > 0 {
            self.used.fetch_sub(bytes, Ordering::AcqRel);
            return None;
        }
        Some(Reservation {
            bytes,
            budget: Arc::clone(self),
        })
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// The receiving tasks' side of the writer channel, bounded in messages and in bytes.
#[derive(Clone)]
struct Outbox {
    tx: SyncSender<Item>,
    budget: Arc<Budget>,
}

impl Outbox {
    /// Queues a message for the writer, or counts it as dropped if the channel is full.
    fn send(
        &self,
        topic: &Arc<TopicState>,
        log_time: u64,
        publish_time: u64,
        payload: zenoh::bytes::ZBytes,
    ) {
        let Some(reservation) = self.budget.reserve(payload.len()) else {
            topic.dropped_channel.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let item = Item {
            topic: topic.clone(),
            log_time,
            publish_time,
            payload,
            _reservation: reservation,
        };
        if self.tx.try_send(item).is_err() {
            topic.dropped_channel.fetch_add(1, Ordering::Relaxed);
        }
    }
}

type Topics = Arc<Mutex<Vec<Arc<TopicState>>>>;
type Skipped = Arc<Mutex<Vec<SkippedTopic>>>;

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
        let stem = folder
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                RecordError::Options(format!("bad output folder name {}", folder.display()))
            })?
            .to_string();
        if folder.exists() {
            let mut entries = std::fs::read_dir(&folder).map_err(|e| BagError::io(&folder, e))?;
            if entries.next().is_some() {
                return Err(RecordError::Options(format!(
                    "output folder {} already exists and is not empty",
                    folder.display()
                )));
            }
        }
        std::fs::create_dir_all(&folder).map_err(|e| BagError::io(&folder, e))?;

        let topics: Topics = Arc::default();
        let skipped: Skipped = Arc::default();
        let (tx, rx) = mpsc::sync_channel::<Item>(options.channel_capacity);
        let mut thread = WriterThread {
            folder: folder.clone(),
            stem,
            writer_options: WriterOptions {
                compression: options.compression,
                chunk_size: options.chunk_size.max(1),
                max_chunk_age: options.max_chunk_age,
                sync_chunks: false,
            },
            max_bag_size: options.max_bag_size,
            max_bag_duration: options.max_bag_duration.map(|d| d.as_nanos() as u64),
            topics: topics.clone(),
            registered: 0,
            current: None,
            files: Vec::new(),
        };
        thread.open_next()?;
        let writer = std::thread::Builder::new()
            .name("rosync-record-writer".into())
            .spawn(move || thread.run(rx))
            .map_err(|e| BagError::io(&folder, e))?;

        let (stop, stop_rx) = watch::channel(false);
        let outbox = Outbox {
            tx,
            budget: Arc::new(Budget {
                used: AtomicUsize::new(0),
                limit: options.max_buffered_bytes,
            }),
        };
        let discovery = tokio::spawn(discover(
            node.clone(),
            selection,
            options.discovery_interval,
            options.queue_size,
            topics.clone(),
            skipped.clone(),
            outbox,
            stop_rx,
        ));
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
        // Discovery waits for its receiving tasks, which drain their queues, then drops the
        // last senders: the writer thread sees the channel close after the last message.
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

/// Polls the graph, subscribes to new selected topics, and on stop waits for their tasks.
#[allow(clippy::too_many_arguments)]
async fn discover(
    node: Node,
    selection: TopicSelection,
    interval: Duration,
    queue_size: usize,
    topics: Topics,
    skipped: Skipped,
    outbox: Outbox,
    mut stop: watch::Receiver<bool>,
) {
    let mut tasks = tokio::task::JoinSet::new();
    let mut seen: HashSet<String> = HashSet::new();
    let graph_timeout = interval.clamp(Duration::from_millis(200), Duration::from_secs(1));
    loop {
        if *stop.borrow() {
            break;
        }
        match node.graph(graph_timeout).await {
            Ok(entities) => {
                // Every publisher's (type, hash, qos) per topic, in graph order.
                let mut offered: HashMap<String, Vec<(String, String, String)>> = HashMap::new();
                for entity in entities {
                    if entity.kind != EntityKind::Publisher {
                        continue;
                    }
                    let Some(topic) = entity.topic else { continue };
                    if seen.contains(&topic.name) || !selection.selects(&topic.name) {
                        continue;
                    }
                    offered.entry(topic.name).or_default().push((
                        topic.type_name,
                        topic.type_hash,
                        topic.qos,
                    ));
                }
                let mut names: Vec<_> = offered.keys().cloned().collect();
                names.sort();
                for name in names {
                    let publishers = &offered[&name];
                    seen.insert(name.clone());
                    match plan_topic(&name, publishers) {
                        Err((type_name, why)) => {
                            tracing::warn!(topic = %name, %type_name, "not recording: {why}");
                            lock(&skipped).push(SkippedTopic {
                                topic: name,
                                type_name,
                                reason: why,
                            });
                        }
                        Ok((state, sub_hash)) => {
                            let sub = node
                                .raw_subscriber(
                                    &name,
                                    Some(crate::msg::TypeIdentity::new(
                                        &state.type_name,
                                        &sub_hash,
                                    )),
                                )
                                .queue_size(queue_size)
                                .await;
                            match sub {
                                Ok(sub) => {
                                    let state = Arc::new(state);
                                    lock(&topics).push(state.clone());
                                    tracing::info!(topic = %name, type_name = %state.type_name, "recording");
                                    tasks.spawn(receive(sub, state, outbox.clone(), stop.clone()));
                                }
                                Err(e) => {
                                    tracing::warn!(topic = %name, "cannot subscribe: {e}");
                                    seen.remove(&name);
                                }
                            }
                        }
                    }
                }
            }
            Err(e) => tracing::warn!("graph query failed: {e}"),
        }
        tokio::select! {
            _ = stop.changed() => break,
            _ = tokio::time::sleep(interval) => {}
        }
    }
    while tasks.join_next().await.is_some() {}
    drop(outbox);
}

/// Decides how to record a topic from its publishers: the type state and the hash to
/// subscribe with, or the type and why it is skipped.
fn plan_topic(
    name: &str,
    publishers: &[(String, String, String)],
) -> Result<(TopicState, String), (String, String)> {
    let (type_name, hash, _) = &publishers[0];
    let Some(known) = crate::msg::lookup(type_name) else {
        return Err((
            type_name.clone(),
            "rosync does not ship this type, so it has no definition to store".into(),
        ));
    };
    if hash.starts_with("RIHS01_") && hash != known.type_hash {
        return Err((
            type_name.clone(),
            format!(
                "published with type hash {hash}, rosync's definition has {}",
                known.type_hash
            ),
        ));
    }
    if publishers
        .iter()
        .any(|(t, h, _)| t != type_name || h != hash)
    {
        tracing::warn!(topic = %name, %type_name, "publishers of other types on this topic are not recorded");
    }
    let qos: BTreeSet<&str> = publishers
        .iter()
        .filter(|(t, h, _)| t == type_name && h == hash)
        .map(|(_, _, q)| q.as_str())
        .collect();
    let qos_yaml = qos
        .iter()
        .map(|q| qos_yaml_from_rmw_zenoh(q))
        .collect::<Vec<_>>()
        .join("\n");
    Ok((
        TopicState {
            name: name.to_string(),
            type_name: known.type_name.to_string(),
            type_hash: known.type_hash.to_string(),
            definition: known.definition,
            qos_yaml,
            received: AtomicU64::new(0),
            written: AtomicU64::new(0),
            dropped_queue: AtomicU64::new(0),
            dropped_channel: AtomicU64::new(0),
        },
        hash.clone(),
    ))
}

/// Moves one subscriber's messages into the writer channel until stopped, then drains it.
async fn receive(
    sub: RawSubscriber,
    topic: Arc<TopicState>,
    outbox: Outbox,
    mut stop: watch::Receiver<bool>,
) {
    let push = |raw: RawMessage| {
        let log_time = raw.info.received_timestamp.max(0) as u64;
        let publish_time = raw
            .info
            .attachment
            .map(|a| a.source_timestamp)
            .filter(|&t| t > 0)
            .map_or(log_time, |t| t as u64);
        outbox.send(&topic, log_time, publish_time, raw.payload);
    };
    let update = |sub: &RawSubscriber| {
        let stats = sub.stats();
        topic.received.store(stats.received, Ordering::Relaxed);
        topic
            .dropped_queue
            .store(stats.dropped_queue_full, Ordering::Relaxed);
    };
    loop {
        tokio::select! {
            biased;
            _ = stop.changed() => break,
            raw = sub.recv() => match raw {
                Some(raw) => push(raw),
                None => break,
            },
        }
        // Take whatever else is queued without waiting: one wake-up per burst, not per message.
        while let Some(raw) = sub.try_recv() {
            push(raw);
        }
        update(&sub);
    }
    while let Some(raw) = sub.try_recv() {
        push(raw);
    }
    update(&sub);
}

/// What the writer thread wrote.
struct WriterOutcome {
    files: Vec<PathBuf>,
    bytes: u64,
}

/// A file of the bag, as metadata.yaml lists it.
struct FileInfo {
    path: PathBuf,
    start: Option<u64>,
    end: Option<u64>,
    messages: u64,
    bytes: u64,
}

struct OpenFile {
    writer: BagWriter,
    /// Channel ids by topic (keyed by the address of its shared state).
    ids: HashMap<usize, TopicId>,
    info: FileInfo,
    /// Bytes the writer has handed to the file (closed chunks), as last seen.
    closed_bytes: u64,
    /// Estimated bytes of the open chunk (message records).
    open_bytes: u64,
    /// When the open chunk got its first message.
    open_since: Option<Instant>,
}

struct WriterThread {
    folder: PathBuf,
    stem: String,
    writer_options: WriterOptions,
    max_bag_size: Option<u64>,
    max_bag_duration: Option<u64>,
    topics: Topics,
    registered: usize,
    current: Option<OpenFile>,
    files: Vec<FileInfo>,
}

/// How long the writer thread waits for a message before checking chunk age and new topics.
const WRITER_TICK: Duration = Duration::from_millis(100);

impl WriterThread {
    fn run(mut self, rx: Receiver<Item>) -> Result<WriterOutcome, BagError> {
        let result = self.run_loop(&rx);
        // Whatever happened, close the file and describe what was written.
        let closed = self.close_current();
        result.and(closed)?;
        self.register_new_topics()?;
        self.write_metadata()?;
        Ok(WriterOutcome {
            files: self
                .files
                .iter()
                .map(|f| self.folder.join(&f.path))
                .collect(),
            bytes: self.files.iter().map(|f| f.bytes).sum(),
        })
    }

    fn run_loop(&mut self, rx: &Receiver<Item>) -> Result<(), BagError> {
        loop {
            self.register_new_topics()?;
            match rx.recv_timeout(WRITER_TICK) {
                Ok(item) => self.write(item)?,
                Err(RecvTimeoutError::Timeout) => self.flush_if_old()?,
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            }
        }
    }

    fn file_path(&self, index: usize) -> PathBuf {
        PathBuf::from(format!("{}_{index}.mcap", self.stem))
    }

    fn open_next(&mut self) -> Result<(), BagError> {
        let path = self.file_path(self.files.len());
        let writer = BagWriter::create(self.folder.join(&path), self.writer_options.clone())?;
        self.current = Some(OpenFile {
            closed_bytes: writer.bytes_written(),
            writer,
            ids: HashMap::new(),
            info: FileInfo {
                path,
                start: None,
                end: None,
                messages: 0,
                bytes: 0,
            },
            open_bytes: 0,
            open_since: None,
        });
        // Every known topic is in every file, as rosbag2 does.
        let topics: Vec<_> = lock(&self.topics).clone();
        for topic in topics.iter().take(self.registered) {
            self.register(topic)?;
        }
        Ok(())
    }

    fn close_current(&mut self) -> Result<(), BagError> {
        if let Some(file) = self.current.take() {
            let mut info = file.info;
            let summary = file.writer.finish()?;
            info.bytes = summary.bytes;
            self.files.push(info);
        }
        Ok(())
    }

    fn register(&mut self, topic: &Arc<TopicState>) -> Result<TopicId, BagError> {
        let file = self
            .current
            .as_mut()
            .expect("a file is open while recording");
        let key = Arc::as_ptr(topic) as usize;
        if let Some(id) = file.ids.get(&key) {
            return Ok(*id);
        }
        let id = file.writer.add_topic(
            &topic.name,
            &topic.type_name,
            &topic.type_hash,
            topic.definition,
            Some(&topic.qos_yaml),
        )?;
        file.ids.insert(key, id);
        Ok(id)
    }

    fn register_new_topics(&mut self) -> Result<(), BagError> {
        let topics = lock(&self.topics);
        if topics.len() == self.registered {
            return Ok(());
        }
        let new: Vec<_> = topics[self.registered..].to_vec();
        drop(topics);
        self.registered += new.len();
        if self.current.is_some() {
            for topic in &new {
                self.register(topic)?;
            }
        }
        Ok(())
    }

    fn write(&mut self, item: Item) -> Result<(), BagError> {
        if let (Some(max), Some(start)) = (
            self.max_bag_duration,
            self.current.as_ref().and_then(|f| f.info.start),
        ) {
            if item.log_time.saturating_sub(start) >= max {
                self.split()?;
            }
        }
        let id = self.register(&item.topic)?;
        let payload = item.payload.to_bytes();
        let file = self
            .current
            .as_mut()
            .expect("a file is open while recording");
        file.writer
            .write(id, item.log_time, item.publish_time, &payload)?;
        item.topic.written.fetch_add(1, Ordering::Relaxed);
        let info = &mut file.info;
        info.messages += 1;
        info.start = Some(info.start.map_or(item.log_time, |s| s.min(item.log_time)));
        info.end = Some(info.end.map_or(item.log_time, |e| e.max(item.log_time)));
        let closed = file.writer.bytes_written();
        if closed != file.closed_bytes {
            // The writer closed the chunk, this message included.
            file.closed_bytes = closed;
            file.open_bytes = 0;
            file.open_since = None;
        } else {
            file.open_bytes += 31 + payload.len() as u64;
            file.open_since.get_or_insert_with(Instant::now);
        }
        if self
            .max_bag_size
            .is_some_and(|max| file.closed_bytes + file.open_bytes >= max)
        {
            self.split()?;
        }
        Ok(())
    }

    fn split(&mut self) -> Result<(), BagError> {
        self.close_current()?;
        self.open_next()
    }

    fn flush_if_old(&mut self) -> Result<(), BagError> {
        let Some(age) = self.writer_options.max_chunk_age else {
            return Ok(());
        };
        if let Some(file) = self.current.as_mut() {
            if file.open_since.is_some_and(|t| t.elapsed() >= age) {
                file.writer.flush()?;
                file.closed_bytes = file.writer.bytes_written();
                file.open_bytes = 0;
                file.open_since = None;
            }
        }
        Ok(())
    }

    /// Writes `metadata.yaml` (rosbag2 version 9) through a temporary file.
    fn write_metadata(&self) -> Result<(), BagError> {
        let topics = lock(&self.topics).clone();
        let start = self.files.iter().filter_map(|f| f.start).min();
        let end = self.files.iter().filter_map(|f| f.end).max();
        let text = metadata_yaml(&self.files, &topics, start, end);
        let path = self.folder.join("metadata.yaml");
        let tmp = self.folder.join("metadata.yaml.tmp");
        std::fs::write(&tmp, text).map_err(|e| BagError::io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| BagError::io(&path, e))
    }
}

fn metadata_yaml(
    files: &[FileInfo],
    topics: &[Arc<TopicState>],
    start: Option<u64>,
    end: Option<u64>,
) -> String {
    use serde_yaml::{Mapping, Value};
    fn map(entries: Vec<(&str, Value)>) -> Value {
        let mut m = Mapping::new();
        for (k, v) in entries {
            m.insert(Value::from(k), v);
        }
        Value::Mapping(m)
    }
    let ns = |n: u64| map(vec![("nanoseconds", Value::from(n))]);
    let since = |n: u64| map(vec![("nanoseconds_since_epoch", Value::from(n))]);
    let start_ns = start.unwrap_or(0);
    let duration = end.unwrap_or(0).saturating_sub(start_ns);
    let topics_value: Vec<Value> = topics
        .iter()
        .map(|t| {
            let qos: Value = serde_yaml::from_str(&t.qos_yaml).unwrap_or(Value::Sequence(vec![]));
            map(vec![
                (
                    "topic_metadata",
                    map(vec![
                        ("name", Value::from(t.name.clone())),
                        ("type", Value::from(t.type_name.clone())),
                        ("serialization_format", Value::from("cdr")),
                        ("offered_qos_profiles", qos),
                        ("type_description_hash", Value::from(t.type_hash.clone())),
                    ]),
                ),
                (
                    "message_count",
                    Value::from(t.written.load(Ordering::Relaxed)),
                ),
            ])
        })
        .collect();
    let names: Vec<Value> = files
        .iter()
        .map(|f| Value::from(f.path.to_string_lossy().into_owned()))
        .collect();
    let files_value: Vec<Value> = files
        .iter()
        .map(|f| {
            let s = f.start.unwrap_or(start_ns);
            map(vec![
                ("path", Value::from(f.path.to_string_lossy().into_owned())),
                ("starting_time", since(s)),
                ("duration", ns(f.end.unwrap_or(s).saturating_sub(s))),
                ("message_count", Value::from(f.messages)),
            ])
        })
        .collect();
    let info = map(vec![
        ("version", Value::from(9)),
        ("storage_identifier", Value::from("mcap")),
        ("duration", ns(duration)),
        ("starting_time", since(start_ns)),
        (
            "message_count",
            Value::from(files.iter().map(|f| f.messages).sum::<u64>()),
        ),
        ("topics_with_message_count", Value::Sequence(topics_value)),
        ("compression_format", Value::from("")),
        ("compression_mode", Value::from("")),
        ("relative_file_paths", Value::Sequence(names)),
        ("files", Value::Sequence(files_value)),
        ("custom_data", Value::Null),
        ("ros_distro", Value::from("rosync")),
    ]);
    let doc = map(vec![("rosbag2_bagfile_information", info)]);
    serde_yaml::to_string(&doc).unwrap_or_default()
}

/// rmw_zenoh's QoS key expression part (`reliability:durability:history,depth:deadline:
/// lifespan:liveliness,lease`; empty fields are the defaults) as a rosbag2 (v9) YAML list of
/// one profile. Falls back to [`DEFAULT_QOS_PROFILES`] if it cannot be parsed.
pub fn qos_yaml_from_rmw_zenoh(qos: &str) -> String {
    const INFINITE: (u64, u64) = (9_223_372_036, 854_775_807);
    let parts: Vec<&str> = qos.split(':').collect();
    if parts.len() != 6 {
        return DEFAULT_QOS_PROFILES.to_string();
    }
    let num = |s: &str| s.parse::<u64>().ok();
    let duration = |s: &str| -> (u64, u64) {
        let mut it = s.split(',');
        match (it.next().and_then(num), it.next().and_then(num)) {
            (Some(0), Some(0)) | (None, None) => INFINITE,
            (sec, nsec) => (sec.unwrap_or(0), nsec.unwrap_or(0)),
        }
    };
    let reliability = match parts[0] {
        "2" => "best_effort",
        _ => "reliable",
    };
    let durability = match parts[1] {
        "1" => "transient_local",
        _ => "volatile",
    };
    let mut history = parts[2].split(',');
    let history_kind = match history.next() {
        Some("2") => "keep_all",
        _ => "keep_last",
    };
    let depth = history.next().and_then(num).unwrap_or(10);
    let deadline = duration(parts[3]);
    let lifespan = duration(parts[4]);
    let mut liveliness = parts[5].splitn(2, ',');
    let liveliness_kind = match liveliness.next() {
        Some("3") => "manual_by_topic",
        _ => "automatic",
    };
    let lease = duration(liveliness.next().unwrap_or(""));
    format!(
        "- history: {history_kind}
  depth: {depth}
  reliability: {reliability}
  durability: {durability}
  deadline:
    sec: {}
    nsec: {}
  lifespan:
    sec: {}
    nsec: {}
  liveliness: {liveliness_kind}
  liveliness_lease_duration:
    sec: {}
    nsec: {}
  avoid_ros_namespace_conventions: false",
        deadline.0, deadline.1, lifespan.0, lifespan.1, lease.0, lease.1
    )
}

/// rosbag2's default bag name for a start time: `rosync_YYYY_MM_DD-HH_MM_SS` (UTC).
pub fn default_bag_name(now: SystemTime) -> String {
    let t = crate::time::CivilTime::from_system_time(now);
    format!(
        "rosync_{:04}_{:02}_{:02}-{:02}_{:02}_{:02}",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_byte_budget_admits_until_full_and_releases_on_drop() {
        let budget = Arc::new(Budget {
            used: AtomicUsize::new(0),
            limit: 100,
        });
        // A message larger than the whole budget still passes when nothing else is buffered.
        let huge = budget.reserve(500).expect("an empty budget takes anything");
        assert!(budget.reserve(1).is_none(), "full");
        drop(huge);
        let a = budget.reserve(60).expect("fits");
        assert!(budget.reserve(50).is_none(), "60 + 50 > 100");
        let b = budget.reserve(40).expect("60 + 40 fits");
        assert_eq!(budget.used.load(Ordering::Relaxed), 100);
        drop((a, b));
        assert_eq!(budget.used.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn default_name_is_utc_civil_time() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_709_210_096); // 2024-02-29 12:34:56
        assert_eq!(default_bag_name(t), "rosync_2024_02_29-12_34_56");
        assert_eq!(
            default_bag_name(SystemTime::UNIX_EPOCH),
            "rosync_1970_01_01-00_00_00"
        );
    }

    #[test]
    fn qos_from_rmw_zenoh_keyexpr() {
        let yaml = qos_yaml_from_rmw_zenoh("2:1:1,5:,:,:,,");
        assert!(yaml.contains("reliability: best_effort"), "{yaml}");
        assert!(yaml.contains("durability: transient_local"), "{yaml}");
        assert!(yaml.contains("depth: 5"), "{yaml}");
        assert!(yaml.contains("sec: 9223372036"), "{yaml}");
        assert_eq!(
            qos_yaml_from_rmw_zenoh("1:2:1,10:,:,:,,"),
            DEFAULT_QOS_PROFILES
        );
    }
}
