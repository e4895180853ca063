//! [`Player`]: replays a [`Log`] onto the network with the recorded timing, as `ros2 bag play`.
//!
//! One [`RawPublisher`] is declared per selected topic with the recorded type name and type
//! hash (the channel's `topic_type_hash`, else rosync's registry, else computed from the
//! `ros2msg` definition stored in the log); a topic whose type cannot be resolved is skipped
//! with a warning naming it.
//!
//! Message *i* is published at `start + (log_time_i - first_log_time) / rate` on the monotonic
//! clock: the player thread sleeps until about 200 µs before that instant, then spins, and
//! records the schedule error (the instant the payload is handed to zenoh minus the scheduled
//! instant) of every message; [`PlayReport`] gives its percentiles. A separate reader thread
//! reads and decompresses ahead (up to 64 MiB), so reading never delays publishing.
//!
//! [`PlayerControl`] pauses, resumes, steps and changes the rate while playing (the CLI maps it
//! to the keyboard). With [`PlayOptions::clock_hz`], `rosgraph_msgs/msg/Clock` is published on
//! `/clock` with the current playback time at that wall-clock rate.
//!
//! `--regex` and `--exclude` are [`TopicPattern`]s, matched anywhere in the name unless
//! anchored, as in `rosync record` and rosbag2.
//!
//! ```no_run
//! use rosync::bag::{Log, PlayOptions, Player};
//! use rosync::node::Node;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let node = Node::builder("player").build().await?;
//! let log = Log::open("drive.mcap")?;
//! let player = Player::new(&node, log, PlayOptions { rate: 2.0, ..Default::default() }).await?;
//! let control = player.control();
//! let report = player.run().await?;
//! println!("{report}");
//! # drop(control); Ok(()) }
//! ```

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use rosync_msggen::hash::Resolve;
use rosync_msggen::parse::{parse_msg, BaseType, MsgSpec};

use super::log::Log;
use super::pattern::TopicPattern;
use crate::bag::{BagMessage, LogTopic};
use crate::msg::rosgraph_msgs::Clock;
use crate::node::{Node, Publisher, RawPublisher};

/// How long before a message's instant the player stops sleeping and starts spinning.
const SPIN_MARGIN: Duration = Duration::from_micros(200);
/// Read-ahead bound: bytes of payload queued between the reader and the player.
const QUEUE_BYTES: usize = 64 << 20;
/// Read-ahead bound: messages queued between the reader and the player.
const QUEUE_MESSAGES: usize = 8192;

/// Why a [`Player`] could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlayError {
    /// An option is out of range.
    #[error("{0}")]
    InvalidOption(String),
    /// Declaring a publisher failed.
    #[error(transparent)]
    Node(#[from] crate::Error),
    /// The playback thread panicked or was cancelled.
    #[error("the playback thread failed: {0}")]
    Thread(String),
}

/// What to play and how; [`Default`] plays everything once at the recorded speed.
#[derive(Debug, Clone)]
pub struct PlayOptions {
    /// Speed factor (1.0: as recorded; 2.0: twice as fast); 0 publishes as fast as possible.
    pub rate: f64,
    /// Start again from the beginning after the end, until stopped.
    pub loop_playback: bool,
    /// Skip the messages logged in the first `start_offset` of the log.
    pub start_offset: Duration,
    /// Play only this much log time (from the start offset).
    pub duration: Option<Duration>,
    /// Topics to play (with `regex`: either selects). Empty with no `regex`: every topic.
    pub topics: Vec<String>,
    /// Also play the topics whose name matches.
    pub regex: Option<TopicPattern>,
    /// Never play the topics whose name matches.
    pub exclude: Option<TopicPattern>,
    /// Publish a recorded topic (first) under another name (second).
    pub remaps: Vec<(String, String)>,
    /// Publish `rosgraph_msgs/msg/Clock` on `/clock` at this many Hz (wall time).
    pub clock_hz: Option<f64>,
    /// Start paused; [`PlayerControl::resume`] or [`PlayerControl::step`] go on.
    pub start_paused: bool,
    /// Before the first message, wait up to this long for every topic to have a subscriber
    /// (zero: start at once). Declarations take a moment to reach other processes.
    pub wait_for_subscribers: Duration,
}

impl Default for PlayOptions {
    fn default() -> Self {
        Self {
            rate: 1.0,
            loop_playback: false,
            start_offset: Duration::ZERO,
            duration: None,
            topics: Vec::new(),
            regex: None,
            exclude: None,
            remaps: Vec::new(),
            clock_hz: None,
            start_paused: false,
            wait_for_subscribers: Duration::ZERO,
        }
    }
}

fn absolute(topic: &str) -> String {
    if topic.starts_with('/') {
        topic.to_string()
    } else {
        format!("/{topic}")
    }
}

impl PlayOptions {
    /// Whether a recorded topic is played.
    pub fn selects(&self, topic: &str) -> bool {
        let wanted = (self.topics.is_empty() && self.regex.is_none())
            || self
                .topics
                .iter()
                .any(|t| t == topic || absolute(t) == topic)
            || self.regex.as_ref().is_some_and(|r| r.is_match(topic));
        wanted && !self.exclude.as_ref().is_some_and(|r| r.is_match(topic))
    }

    /// The name a recorded topic is published under.
    pub fn remapped(&self, topic: &str) -> String {
        self.remaps
            .iter()
            .find(|(from, _)| from == topic || absolute(from) == topic)
            .map_or_else(|| topic.to_string(), |(_, to)| to.clone())
    }

    fn validate(&self) -> Result<(), PlayError> {
        if !(self.rate.is_finite() && self.rate >= 0.0) {
            return Err(PlayError::InvalidOption(format!(
                "the rate must be a finite number >= 0 (0: as fast as possible), not {}",
                self.rate
            )));
        }
        if let Some(hz) = self.clock_hz {
            if !(hz.is_finite() && hz > 0.0) {
                return Err(PlayError::InvalidOption(format!(
                    "the clock rate must be a positive number of Hz, not {hz}"
                )));
            }
        }
        Ok(())
    }
}

/// Where a played topic's type hash came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashSource {
    /// The channel's `topic_type_hash` metadata.
    Recorded,
    /// rosync's message registry.
    Registry,
    /// Computed from the `ros2msg` definition stored in the log.
    Definition,
}

/// A topic the player publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayTopic {
    /// The recorded name.
    pub topic: String,
    /// The fully qualified name it is published under (after remapping).
    pub published_as: String,
    /// The type, `pkg/msg/Type`.
    pub type_name: String,
    /// The REP-2016 type hash announced.
    pub type_hash: String,
    /// Where the hash came from.
    pub hash_source: HashSource,
    /// Recorded messages on it (in the whole log).
    pub message_count: u64,
}

/// A selected topic the player cannot publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedTopic {
    /// The recorded name.
    pub topic: String,
    /// Its recorded type (may be empty).
    pub type_name: String,
    /// Why it is skipped.
    pub reason: String,
}

/// Percentiles of the schedule error: publish instant minus scheduled instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleError {
    /// Messages measured.
    pub samples: u64,
    /// Median.
    pub p50: Duration,
    /// 90th percentile.
    pub p90: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Largest.
    pub max: Duration,
}

impl ScheduleError {
    /// The percentiles of errors in nanoseconds (nearest rank); `None` without samples.
    pub fn from_nanos(samples: &mut [u64]) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        samples.sort_unstable();
        let n = samples.len();
        let rank = |p: f64| {
            let index = ((p * n as f64).ceil() as usize).clamp(1, n) - 1;
            Duration::from_nanos(samples[index])
        };
        Some(Self {
            samples: n as u64,
            p50: rank(0.50),
            p90: rank(0.90),
            p99: rank(0.99),
            max: Duration::from_nanos(samples[n - 1]),
        })
    }
}

/// What a playback did.
#[derive(Debug, Clone, Default)]
pub struct PlayReport {
    /// Messages published (clock messages not included).
    pub published: u64,
    /// Payload bytes published.
    pub bytes: u64,
    /// Messages published per topic, by published name.
    pub per_topic: BTreeMap<String, u64>,
    /// Schedule error over the messages published while playing at a rate > 0 (steps and
    /// as-fast-as-possible messages are not measured); `None` if none was measured.
    pub schedule_error: Option<ScheduleError>,
    /// Selected topics that were not played, with the reason.
    pub skipped_topics: Vec<SkippedTopic>,
    /// Damage found in the log (each naming its file); what was readable was played.
    pub damage: Vec<String>,
    /// `/clock` messages published.
    pub clock_messages: u64,
    /// Messages that zenoh refused to publish.
    pub publish_failures: u64,
    /// Complete passes over the log (more than one when looping).
    pub passes: u64,
    /// Whether playback was stopped before the end.
    pub stopped: bool,
    /// Wall time from the first message to the end.
    pub elapsed: Duration,
}

fn micros(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

impl std::fmt::Display for PlayReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.elapsed.as_secs_f64();
        write!(
            f,
            "published {} messages ({:.1} MB) in {:.2} s",
            self.published,
            self.bytes as f64 / 1e6,
            secs
        )?;
        if self.passes > 1 {
            write!(f, " over {} passes", self.passes)?;
        }
        if self.stopped {
            write!(f, " (stopped)")?;
        }
        for (topic, count) in &self.per_topic {
            write!(f, "\n  {topic}: {count}")?;
        }
        if self.clock_messages > 0 {
            write!(f, "\n  /clock: {} clock messages", self.clock_messages)?;
        }
        match &self.schedule_error {
            Some(e) => write!(
                f,
                "\nschedule error over {} messages: p50 {}, p90 {}, p99 {}, max {}",
                e.samples,
                micros(e.p50),
                micros(e.p90),
                micros(e.p99),
                micros(e.max)
            )?,
            None => write!(f, "\nschedule error: not measured")?,
        }
        if self.publish_failures > 0 {
            write!(f, "\n{} messages failed to publish", self.publish_failures)?;
        }
        for skipped in &self.skipped_topics {
            write!(f, "\nskipped {}: {}", skipped.topic, skipped.reason)?;
        }
        for damage in &self.damage {
            write!(f, "\ndamaged log: {damage}")?;
        }
        Ok(())
    }
}

/// `pkg/msg/Type` or `pkg/Type` as (`pkg`, `Type`).
fn split_type_name(type_name: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = type_name.trim().split('/').collect();
    match parts.as_slice() {
        [pkg, name] | [pkg, "msg", name] if !pkg.is_empty() && !name.is_empty() => {
            Some((pkg.to_string(), name.to_string()))
        }
        _ => None,
    }
}

/// The sections of a `ros2msg` definition: the main type's text, then each `MSG: pkg/Type`.
fn definition_sections(definition: &str) -> Vec<(Option<String>, String)> {
    let mut sections = Vec::new();
    let mut current: Option<String> = None;
    let mut text = String::new();
    let mut after_separator = false;
    for line in definition.lines() {
        let trimmed = line.trim();
        if trimmed.len() >= 3 && trimmed.chars().all(|c| c == '=') {
            sections.push((current.take(), std::mem::take(&mut text)));
            after_separator = true;
            continue;
        }
        if after_separator {
            if let Some(name) = trimmed.strip_prefix("MSG:") {
                current = Some(name.trim().to_string());
                after_separator = false;
                continue;
            }
            if trimmed.is_empty() {
                continue;
            }
            after_separator = false;
        }
        text.push_str(line);
        text.push('\n');
    }
    sections.push((current, text));
    sections
}

#[derive(Default)]
struct Specs(HashMap<(String, String), MsgSpec>);

impl Resolve for Specs {
    fn resolve(&self, package: &str, name: &str) -> Option<&MsgSpec> {
        self.0.get(&(package.to_string(), name.to_string()))
    }
}

impl Specs {
    /// Adds every `MSG:` section of a definition not yet known.
    fn add_sections(&mut self, definition: &str) -> Result<(), String> {
        for (name, text) in definition_sections(definition).into_iter().skip(1) {
            let Some((pkg, ty)) = name.as_deref().and_then(split_type_name) else {
                continue;
            };
            if self.0.contains_key(&(pkg.clone(), ty.clone())) {
                continue;
            }
            let spec = parse_msg(&pkg, &ty, &text).map_err(|e| e.to_string())?;
            self.0.insert((pkg, ty), spec);
        }
        Ok(())
    }

    /// Nested types referenced by known specs but missing.
    fn missing(&self, main: &MsgSpec) -> Vec<(String, String)> {
        let mut missing = Vec::new();
        for spec in std::iter::once(main).chain(self.0.values()) {
            for field in &spec.fields {
                if let BaseType::Nested { package, name } = &field.ty.base {
                    let key = (package.clone(), name.clone());
                    if !self.0.contains_key(&key) && !missing.contains(&key) {
                        missing.push(key);
                    }
                }
            }
        }
        missing
    }
}

/// The REP-2016 hash of a type from its `ros2msg` definition (the main text followed by
/// `MSG: pkg/Type` sections); nested types the definition lacks are taken from rosync's
/// registry.
pub fn hash_from_definition(type_name: &str, definition: &str) -> Result<String, String> {
    let (pkg, ty) = split_type_name(type_name)
        .ok_or_else(|| format!("`{type_name}` is not a type name of the form pkg/msg/Type"))?;
    let sections = definition_sections(definition);
    let main_text = sections.first().map(|(_, t)| t.as_str()).unwrap_or("");
    if main_text.trim().is_empty() {
        return Err("the log holds no definition for it".to_string());
    }
    let main = parse_msg(&pkg, &ty, main_text).map_err(|e| e.to_string())?;
    let mut specs = Specs::default();
    specs.add_sections(definition)?;
    loop {
        let missing = specs.missing(&main);
        let mut added = false;
        for (package, name) in missing {
            if let Some(known) = crate::msg::lookup(&format!("{package}/msg/{name}")) {
                let main_text = definition_sections(known.definition)
                    .into_iter()
                    .next()
                    .map(|(_, t)| t)
                    .unwrap_or_default();
                let spec = parse_msg(&package, &name, &main_text).map_err(|e| e.to_string())?;
                specs.0.insert((package, name), spec);
                specs.add_sections(known.definition)?;
                added = true;
            }
        }
        if !added {
            break;
        }
    }
    rosync_msggen::hash::rihs01(&main, &specs)
}

/// The type name and hash to publish a recorded topic with.
fn resolve_type(info: &LogTopic) -> Result<(String, String, HashSource), String> {
    if info.message_encoding != "cdr" {
        return Err(format!(
            "its messages are encoded as {:?}, not cdr",
            info.message_encoding
        ));
    }
    if info.type_name.is_empty() {
        return Err("its channel has no schema, so its type is unknown".to_string());
    }
    let (pkg, ty) = split_type_name(&info.type_name).ok_or_else(|| {
        format!(
            "its type `{}` is not of the form pkg/msg/Type",
            info.type_name
        )
    })?;
    let type_name = format!("{pkg}/msg/{ty}");
    if let Some(hash) = info.type_hash.as_ref().filter(|h| h.starts_with("RIHS01_")) {
        return Ok((type_name, hash.clone(), HashSource::Recorded));
    }
    if let Some(known) = crate::msg::lookup(&type_name) {
        return Ok((type_name, known.type_hash.to_string(), HashSource::Registry));
    }
    if info.schema_encoding != "ros2msg" {
        return Err(format!(
            "type {type_name} is unknown to rosync and its schema is {:?}, not ros2msg",
            info.schema_encoding
        ));
    }
    let hash = hash_from_definition(&type_name, &info.definition).map_err(|e| {
        format!("type {type_name} is unknown to rosync and its hash cannot be computed: {e}")
    })?;
    Ok((type_name, hash, HashSource::Definition))
}

enum Command {
    Pause,
    Resume,
    Step,
    SetRate(f64),
    Stop,
}

#[derive(Debug)]
struct Status {
    paused: AtomicBool,
    rate_bits: AtomicU64,
    stopped: AtomicBool,
}

/// Drives a running [`Player`] from another thread or task (cheap to clone).
#[derive(Debug, Clone)]
pub struct PlayerControl {
    tx: mpsc::Sender<Command>,
    status: Arc<Status>,
}

impl PlayerControl {
    fn send(&self, command: Command) {
        // The player may have finished: nothing to control then.
        let _ = self.tx.send(command);
    }

    /// Pauses playback (the playback time stops; `/clock` keeps publishing it).
    pub fn pause(&self) {
        self.status.paused.store(true, Ordering::SeqCst);
        self.send(Command::Pause);
    }

    /// Resumes playback from where it was paused.
    pub fn resume(&self) {
        self.status.paused.store(false, Ordering::SeqCst);
        self.send(Command::Resume);
    }

    /// Pauses if playing, resumes if paused; returns whether it is now paused.
    pub fn toggle(&self) -> bool {
        let paused = !self.status.paused.fetch_xor(true, Ordering::SeqCst);
        self.send(if paused {
            Command::Pause
        } else {
            Command::Resume
        });
        paused
    }

    /// While paused, publishes the next message at once (ignored while playing).
    pub fn step(&self) {
        self.send(Command::Step);
    }

    /// Changes the speed factor (0: as fast as possible); invalid values are ignored.
    pub fn set_rate(&self, rate: f64) {
        if rate.is_finite() && rate >= 0.0 {
            self.status
                .rate_bits
                .store(rate.to_bits(), Ordering::SeqCst);
            self.send(Command::SetRate(rate));
        }
    }

    /// Stops playback; [`Player::run`] returns its report.
    pub fn stop(&self) {
        self.status.stopped.store(true, Ordering::SeqCst);
        self.send(Command::Stop);
    }

    /// Whether playback is (or was last asked to be) paused.
    pub fn is_paused(&self) -> bool {
        self.status.paused.load(Ordering::SeqCst)
    }

    /// The current (last requested) speed factor.
    pub fn rate(&self) -> f64 {
        f64::from_bits(self.status.rate_bits.load(Ordering::SeqCst))
    }
}

/// Replays a [`Log`]; see the [module docs](self).
pub struct Player {
    log: Log,
    options: PlayOptions,
    topics: Vec<PlayTopic>,
    publishers: Vec<RawPublisher>,
    clock: Option<Publisher<Clock>>,
    skipped: Vec<SkippedTopic>,
    damage: Vec<String>,
    rx: mpsc::Receiver<Command>,
    control: PlayerControl,
}

impl std::fmt::Debug for Player {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Player")
            .field("log", &self.log.path())
            .field("topics", &self.topics)
            .field("skipped", &self.skipped)
            .finish()
    }
}

impl Player {
    /// Selects the topics of `log` and declares their publishers (and `/clock`'s) on `node`.
    ///
    /// Topics whose type cannot be resolved are skipped with a warning naming them (see
    /// [`skipped`](Self::skipped)); damage already known in the log is warned about too.
    pub async fn new(node: &Node, log: Log, options: PlayOptions) -> Result<Self, PlayError> {
        options.validate()?;
        let damage: Vec<String> = log.damage().iter().map(|e| e.to_string()).collect();
        for d in &damage {
            tracing::warn!("damaged log: {d}; playing everything readable");
        }
        let mut topics = Vec::new();
        let mut publishers = Vec::new();
        let mut skipped = Vec::new();
        for info in log.topics() {
            if !options.selects(&info.topic) {
                continue;
            }
            match resolve_type(&info) {
                Ok((type_name, type_hash, hash_source)) => {
                    let publisher = node
                        .raw_publisher(&options.remapped(&info.topic), &type_name, &type_hash)
                        .block_when_congested(true)
                        .await?;
                    topics.push(PlayTopic {
                        topic: info.topic.clone(),
                        published_as: publisher.topic().to_string(),
                        type_name,
                        type_hash,
                        hash_source,
                        message_count: info.message_count,
                    });
                    publishers.push(publisher);
                }
                Err(reason) => {
                    tracing::warn!(
                        "{}: not playing topic {}: {reason}",
                        log.path().display(),
                        info.topic
                    );
                    skipped.push(SkippedTopic {
                        topic: info.topic.clone(),
                        type_name: info.type_name.clone(),
                        reason,
                    });
                }
            }
        }
        let clock = match options.clock_hz {
            Some(_) => Some(node.publisher::<Clock>("/clock").await?),
            None => None,
        };
        let (tx, rx) = mpsc::channel();
        let control = PlayerControl {
            tx,
            status: Arc::new(Status {
                paused: AtomicBool::new(options.start_paused),
                rate_bits: AtomicU64::new(options.rate.to_bits()),
                stopped: AtomicBool::new(false),
            }),
        };
        Ok(Self {
            log,
            options,
            topics,
            publishers,
            clock,
            skipped,
            damage,
            rx,
            control,
        })
    }

    /// A handle to pause, resume, step, change the rate or stop while [`run`](Self::run) runs.
    pub fn control(&self) -> PlayerControl {
        self.control.clone()
    }

    /// The topics that will be published.
    pub fn topics(&self) -> &[PlayTopic] {
        &self.topics
    }

    /// The selected topics that will not be published, with the reason.
    pub fn skipped(&self) -> &[SkippedTopic] {
        &self.skipped
    }

    /// Plays the log (once, or until stopped when looping) and reports what happened.
    pub async fn run(self) -> Result<PlayReport, PlayError> {
        let wait = self.options.wait_for_subscribers;
        if !wait.is_zero() {
            let deadline = tokio::time::Instant::now() + wait;
            for publisher in &self.publishers {
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                if !publisher.wait_for_subscribers(left).await {
                    tracing::info!("no subscriber on {} yet; playing anyway", publisher.topic());
                }
            }
        }
        tokio::task::spawn_blocking(move || self.play_blocking())
            .await
            .map_err(|e| PlayError::Thread(e.to_string()))
    }

    fn play_blocking(self) -> PlayReport {
        let Player {
            log,
            options,
            topics,
            publishers,
            clock,
            skipped,
            damage,
            rx,
            control,
        } = self;
        let mut report = PlayReport {
            skipped_topics: skipped,
            damage,
            ..Default::default()
        };
        if publishers.is_empty() {
            return report;
        }
        let queue = Arc::new(Queue::default());
        let names: Vec<String> = topics.iter().map(|t| t.topic.clone()).collect();
        let window_start = log
            .start_time()
            .unwrap_or(0)
            .saturating_add(options.start_offset.as_nanos() as u64);
        let window_end = options
            .duration
            .map(|d| window_start.saturating_add(d.as_nanos() as u64));
        let reader = {
            let queue = Arc::clone(&queue);
            let loop_playback = options.loop_playback;
            std::thread::Builder::new()
                .name("rosync-play-read".into())
                .spawn(move || {
                    read_passes(
                        &log,
                        &names,
                        window_start,
                        window_end,
                        loop_playback,
                        &queue,
                    )
                })
        };
        let reader = match reader {
            Ok(handle) => Some(handle),
            Err(e) => {
                report
                    .damage
                    .push(format!("cannot start the reader thread: {e}"));
                None
            }
        };
        let index: HashMap<String, usize> = topics
            .iter()
            .enumerate()
            .map(|(i, t)| (t.topic.clone(), i))
            .collect();
        let mut engine = Engine {
            publishers: &publishers,
            index,
            counts: vec![0; publishers.len()],
            clock: clock.as_ref(),
            clock_period: options.clock_hz.map(|hz| Duration::from_secs_f64(1.0 / hz)),
            next_clock: Instant::now(),
            rx,
            _tx: control.tx.clone(),
            queue: &queue,
            loop_playback: options.loop_playback,
            paused: options.start_paused,
            paused_log: window_start,
            rate: options.rate,
            stopped: control.status.stopped.load(Ordering::SeqCst),
            steps: 0,
            timeline: None,
            last_log: None,
            window_start,
            next: None,
            errors: Vec::new(),
            warned: vec![false; publishers.len()],
            report,
        };
        let started = Instant::now();
        engine.play();
        let (mut report, counts) = engine.finish();
        report.elapsed = started.elapsed();
        queue.close();
        if let Some(reader) = reader {
            let _ = reader.join();
        }
        for (topic, count) in topics.iter().zip(counts) {
            *report
                .per_topic
                .entry(topic.published_as.clone())
                .or_default() += count;
        }
        report
    }
}

enum Item {
    Message(BagMessage),
    Damage(String),
    EndOfPass,
}

#[derive(Default)]
struct QueueState {
    items: VecDeque<Item>,
    bytes: usize,
    closed: bool,
}

/// A queue bounded in messages and bytes between the reader thread and the player thread.
#[derive(Default)]
struct Queue {
    state: Mutex<QueueState>,
    changed: Condvar,
}

enum Pop {
    Item(Item),
    Empty,
    Closed,
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        crate::lock::lock(&self.state)
    }

    /// Waits for room, then queues; `false` if the consumer is gone.
    fn push(&self, item: Item) -> bool {
        let size = match &item {
            Item::Message(m) => m.data.len(),
            _ => 0,
        };
        let mut state = self.lock();
        while !state.closed
            && !state.items.is_empty()
            && (state.bytes + size > QUEUE_BYTES || state.items.len() >= QUEUE_MESSAGES)
        {
            state = crate::lock::wait(&self.changed, state);
        }
        if state.closed {
            return false;
        }
        state.bytes += size;
        state.items.push_back(item);
        self.changed.notify_all();
        true
    }

    fn pop(&self, timeout: Duration) -> Pop {
        let mut state = self.lock();
        if state.items.is_empty() && !state.closed {
            state = crate::lock::wait_timeout(&self.changed, state, timeout);
        }
        match state.items.pop_front() {
            Some(item) => {
                if let Item::Message(m) = &item {
                    state.bytes -= m.data.len();
                }
                self.changed.notify_all();
                Pop::Item(item)
            }
            None if state.closed => Pop::Closed,
            None => Pop::Empty,
        }
    }

    /// Ends the exchange: the producer's pushes fail, the consumer sees the rest then `Closed`.
    fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }
}

/// The reader thread: the selected messages of the window, pass after pass when looping.
fn read_passes(
    log: &Log,
    topics: &[String],
    window_start: u64,
    window_end: Option<u64>,
    loop_playback: bool,
    queue: &Queue,
) {
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    loop {
        let mut played = 0u64;
        for item in log.messages_on(&names) {
            let item = match item {
                Ok(m) if m.log_time < window_start => continue,
                Ok(m) if window_end.is_some_and(|end| m.log_time > end) => break,
                Ok(m) => {
                    played += 1;
                    Item::Message(m)
                }
                Err(e) => Item::Damage(e.to_string()),
            };
            if !queue.push(item) {
                return;
            }
        }
        if !queue.push(Item::EndOfPass) || !loop_playback || played == 0 {
            break;
        }
    }
    queue.close();
}

/// Maps playback (log) time to the monotonic clock from an anchor.
#[derive(Debug, Clone, Copy)]
struct Timeline {
    wall: Instant,
    log: u64,
    rate: f64,
}

impl Timeline {
    fn log_at(&self, now: Instant) -> u64 {
        let elapsed = now.saturating_duration_since(self.wall).as_nanos() as f64;
        self.log.saturating_add((elapsed * self.rate) as u64)
    }

    fn due(&self, log_time: u64) -> Instant {
        let ahead = log_time.saturating_sub(self.log) as f64 / self.rate;
        self.wall + Duration::from_nanos(ahead as u64)
    }
}

/// The player thread's state.
struct Engine<'a> {
    publishers: &'a [RawPublisher],
    index: HashMap<String, usize>,
    counts: Vec<u64>,
    clock: Option<&'a Publisher<Clock>>,
    clock_period: Option<Duration>,
    next_clock: Instant,
    rx: mpsc::Receiver<Command>,
    /// Keeps the channel open, so waiting on `rx` never fails.
    _tx: mpsc::Sender<Command>,
    queue: &'a Queue,
    loop_playback: bool,
    paused: bool,
    paused_log: u64,
    rate: f64,
    stopped: bool,
    steps: u32,
    timeline: Option<Timeline>,
    last_log: Option<u64>,
    window_start: u64,
    next: Option<BagMessage>,
    errors: Vec<u64>,
    warned: Vec<bool>,
    report: PlayReport,
}

impl Engine<'_> {
    fn play(&mut self) {
        let mut pass_messages = 0u64;
        loop {
            while let Ok(command) = self.rx.try_recv() {
                self.handle(command);
            }
            if self.stopped {
                self.report.stopped = true;
                break;
            }
            if self.next.is_none() {
                match self.queue.pop(Duration::from_millis(20)) {
                    Pop::Empty => {
                        self.tick_clock(Instant::now());
                        continue;
                    }
                    Pop::Closed => break,
                    Pop::Item(Item::Damage(damage)) => {
                        tracing::warn!("damaged log: {damage}; playing everything readable");
                        self.report.damage.push(damage);
                        continue;
                    }
                    Pop::Item(Item::EndOfPass) => {
                        self.report.passes += 1;
                        if !self.loop_playback || pass_messages == 0 {
                            break;
                        }
                        pass_messages = 0;
                        self.timeline = None;
                        continue;
                    }
                    Pop::Item(Item::Message(message)) => {
                        pass_messages += 1;
                        if self.timeline.is_none() {
                            self.timeline = Some(Timeline {
                                wall: Instant::now(),
                                log: message.log_time,
                                rate: self.rate,
                            });
                            if self.paused {
                                self.paused_log = message.log_time;
                            }
                        }
                        self.next = Some(message);
                    }
                }
            }
            let log_time = self.next.as_ref().map_or(0, |m| m.log_time);
            if self.paused {
                if self.steps > 0 {
                    self.steps -= 1;
                    self.paused_log = log_time;
                    self.publish(None);
                } else {
                    self.wait_paused();
                }
                continue;
            }
            match self.timeline {
                Some(timeline) if self.rate > 0.0 => {
                    let deadline = timeline.due(log_time);
                    if self.wait_until(deadline) {
                        self.publish(Some(deadline));
                    }
                }
                _ => {
                    self.tick_clock(Instant::now());
                    self.publish(None);
                }
            }
        }
    }

    /// The playback (log) time now.
    fn log_now(&self, now: Instant) -> u64 {
        if self.paused {
            return self.paused_log;
        }
        match &self.timeline {
            // Playback time does not pass a message that is not published yet.
            Some(t) if self.rate > 0.0 => match &self.next {
                Some(next) => t.log_at(now).min(next.log_time),
                None => t.log_at(now),
            },
            _ => self.last_log.unwrap_or(self.window_start),
        }
    }

    fn handle(&mut self, command: Command) {
        let now = Instant::now();
        match command {
            Command::Pause if !self.paused => {
                let mut at = self.log_now(now);
                if let Some(next) = &self.next {
                    at = at.min(next.log_time);
                }
                self.paused_log = at.max(self.last_log.unwrap_or(0));
                self.paused = true;
            }
            Command::Resume if self.paused => {
                self.paused = false;
                self.steps = 0;
                if self.timeline.is_some() {
                    self.timeline = Some(Timeline {
                        wall: now,
                        log: self.paused_log,
                        rate: self.rate,
                    });
                }
            }
            Command::Step if self.paused => self.steps += 1,
            Command::SetRate(rate) => {
                let at = self.log_now(now);
                self.rate = rate;
                if !self.paused && self.timeline.is_some() {
                    self.timeline = Some(Timeline {
                        wall: now,
                        log: at,
                        rate,
                    });
                } else if let Some(t) = &mut self.timeline {
                    t.rate = rate;
                }
            }
            Command::Stop => self.stopped = true,
            Command::Pause | Command::Resume | Command::Step => {}
        }
    }

    /// Publishes `/clock` if a tick is due.
    fn tick_clock(&mut self, now: Instant) {
        let (Some(clock), Some(period)) = (self.clock, self.clock_period) else {
            return;
        };
        if now < self.next_clock {
            return;
        }
        let stamp = crate::Time::from_nanos(self.log_now(now).min(i64::MAX as u64) as i64);
        match clock.publish_now(&Clock { clock: stamp }) {
            Ok(()) => self.report.clock_messages += 1,
            Err(e) => tracing::warn!("cannot publish /clock: {e}"),
        }
        self.next_clock += period;
        if self.next_clock <= now {
            self.next_clock = now + period;
        }
    }

    /// Waits for a command (or the next clock tick) while paused.
    fn wait_paused(&mut self) {
        let command = if self.clock.is_some() {
            let left = self.next_clock.saturating_duration_since(Instant::now());
            self.rx.recv_timeout(left).ok()
        } else {
            self.rx.recv().ok()
        };
        if let Some(command) = command {
            self.handle(command);
        }
        self.tick_clock(Instant::now());
    }

    /// Sleeps until shortly before `deadline`, then spins; publishes clock ticks on the way.
    /// Returns `false` if a command arrived (the caller re-evaluates).
    fn wait_until(&mut self, deadline: Instant) -> bool {
        loop {
            let now = Instant::now();
            self.tick_clock(now);
            if now >= deadline {
                return true;
            }
            let wake = match self.clock_period {
                Some(_) => deadline.min(self.next_clock),
                None => deadline,
            };
            let left = wake.saturating_duration_since(now);
            if left > SPIN_MARGIN {
                if let Ok(command) = self.rx.recv_timeout(left - SPIN_MARGIN) {
                    self.handle(command);
                    return false;
                }
            } else if left > Duration::from_micros(20) {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
    }

    fn publish(&mut self, deadline: Option<Instant>) {
        let Some(message) = self.next.take() else {
            return;
        };
        self.last_log = Some(message.log_time);
        let Some(&i) = self.index.get(&*message.topic) else {
            return;
        };
        let len = message.data.len() as u64;
        let at = Instant::now();
        match futures::executor::block_on(self.publishers[i].publish_bytes(message.data)) {
            Ok(()) => {
                self.counts[i] += 1;
                self.report.published += 1;
                self.report.bytes += len;
            }
            Err(e) => {
                self.report.publish_failures += 1;
                if !std::mem::replace(&mut self.warned[i], true) {
                    tracing::warn!("{e}");
                }
            }
        }
        if let Some(deadline) = deadline {
            self.errors
                .push(at.saturating_duration_since(deadline).as_nanos() as u64);
        }
    }

    /// The report and the messages published per topic (in `publishers` order).
    fn finish(mut self) -> (PlayReport, Vec<u64>) {
        let mut report = std::mem::take(&mut self.report);
        report.schedule_error = ScheduleError::from_nanos(&mut self.errors);
        (report, self.counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::{sensor_msgs, std_msgs, Message};

    #[test]
    fn selection_and_remapping() {
        let options = PlayOptions {
            topics: vec!["chatter".into()],
            regex: Some(TopicPattern::new("^/camera/").expect("valid")),
            exclude: Some(TopicPattern::new("info$").expect("valid")),
            remaps: vec![("chatter".into(), "/talk".into())],
            ..Default::default()
        };
        assert!(options.selects("/chatter"));
        assert!(options.selects("/camera/image"));
        assert!(!options.selects("/camera/info"));
        assert!(!options.selects("/other"));
        assert_eq!(options.remapped("/chatter"), "/talk");
        assert_eq!(options.remapped("/camera/image"), "/camera/image");
        assert!(PlayOptions::default().selects("/x"));
    }

    #[test]
    fn hashes_are_computed_from_definitions() {
        for (name, hash, definition) in [
            (
                sensor_msgs::Image::TYPE_NAME,
                sensor_msgs::Image::TYPE_HASH,
                sensor_msgs::Image::DEFINITION,
            ),
            (
                sensor_msgs::CameraInfo::TYPE_NAME,
                sensor_msgs::CameraInfo::TYPE_HASH,
                sensor_msgs::CameraInfo::DEFINITION,
            ),
            (
                std_msgs::String::TYPE_NAME,
                std_msgs::String::TYPE_HASH,
                std_msgs::String::DEFINITION,
            ),
        ] {
            assert_eq!(hash_from_definition(name, definition).as_deref(), Ok(hash));
        }
        // Only the main text: nested types come from the registry.
        let main = definition_sections(sensor_msgs::Image::DEFINITION)[0]
            .1
            .clone();
        assert_eq!(
            hash_from_definition("sensor_msgs/Image", &main).as_deref(),
            Ok(sensor_msgs::Image::TYPE_HASH)
        );
        assert!(hash_from_definition("my_pkg/msg/Thing", "").is_err());
        assert!(hash_from_definition("my_pkg/msg/Thing", "other_pkg/Missing m\n").is_err());
        assert!(hash_from_definition("my_pkg/msg/Point2", "float64 x\nfloat64 y\n").is_ok());
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut samples: Vec<u64> = (1..=100).rev().collect();
        let e = ScheduleError::from_nanos(&mut samples).expect("samples");
        assert_eq!(e.p50, Duration::from_nanos(50));
        assert_eq!(e.p90, Duration::from_nanos(90));
        assert_eq!(e.p99, Duration::from_nanos(99));
        assert_eq!(e.max, Duration::from_nanos(100));
        assert!(ScheduleError::from_nanos(&mut []).is_none());
    }
}
