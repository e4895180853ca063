//! The log player: [`Player`] replays a [`Log`] onto the network with the recorded timing, as
//! `ros2 bag play`.
//!
//! One [`RawPublisher`] is declared per selected topic with the recorded type name and type
//! hash (the channel's `topic_type_hash`, else rosync's registry, else computed from the
//! `ros2msg` definition stored in the log, see [`hash_from_definition`]); a topic whose type
//! cannot be resolved is skipped with a warning naming it.
//!
//! Message *i* is published at `start + (log_time_i - first_log_time) / rate` on the monotonic
//! clock: the player's own thread sleeps until shortly (30 µs) before that instant, then
//! busy-waits, and records the schedule error (the instant the payload is handed to zenoh
//! minus the scheduled instant) of every message; [`PlayReport`] gives its percentiles. A
//! separate reader thread reads and decompresses ahead (up to 64 MiB), so reading never
//! delays publishing.
//!
//! [`PlayerControl`] pauses, resumes, steps and changes the rate while playing (the CLI maps it
//! to the keyboard). With [`PlayOptions::clock_hz`], `rosgraph_msgs/msg/Clock` is published on
//! `/clock` with the current playback time at that wall-clock rate.
//!
//! Which topics are played is a [`TopicSelection`](crate::bag::TopicSelection), as in
//! `rosync record`; [`PlayOptions::start_offset`] and [`PlayOptions::duration`] choose the
//! span of log time played.
//!
//! The parts, one job each:
//! - `schedule`: the schedule and clock as a pure state machine, fed `now`, the next
//!   message's log time and the commands; it says what to do (publish now, wait until an
//!   instant, wait for a command while paused, fetch the next message or pass, finish) and
//!   gives the playback time for `/clock` and the schedule errors. Unit-tested without a
//!   network or a clock.
//! - `window`: which log times are played (start offset and duration).
//! - `read_ahead`: the reader thread and the bounded queue it fills.
//! - `publish`: the scheduling thread, a thin shell doing what the schedule says.
//! - `outlet`: a topic's publishing thread for big messages, so handing them to zenoh never
//!   delays the next message's instant.
//! - `timing`: how the player's threads ask the kernel to wake them on time (Linux).
//! - `control`: [`PlayerControl`], the handle sending commands to that thread.
//! - `options`, `report`, `topic`: [`PlayOptions`], [`PlayReport`] with [`ScheduleError`],
//!   [`PlayTopic`] with [`HashSource`].
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

mod control;
mod options;
mod outlet;
mod publish;
mod read_ahead;
mod report;
mod schedule;
mod timing;
mod topic;
mod window;

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Instant;

pub use self::control::PlayerControl;
pub use self::options::PlayOptions;
pub(crate) use self::report::Samples;
pub use self::report::{PlayReport, ScheduleError};
pub use self::topic::{HashSource, PlayTopic};
pub use crate::msg::hash_from_definition;

use self::publish::Publishing;
use self::read_ahead::{read_passes, Queue};
use self::schedule::{Command, Schedule};
use self::topic::{playback_qos, resolve_type};
use self::window::Window;
use crate::bag::{Log, SkippedTopic};
use crate::msg::rosgraph_msgs::Clock;
use crate::msg::TypeIdentity;
use crate::node::{Node, Publisher, RawPublisher};

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

/// Replays a [`Log`]; see the [module docs](self).
pub struct Player {
    log: Log,
    options: PlayOptions,
    topics: Vec<PlayTopic>,
    publishers: Vec<Arc<RawPublisher>>,
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
        let damage: Vec<String> = log
            .damage_beyond_skipped()
            .iter()
            .map(|e| e.to_string())
            .collect();
        for d in &damage {
            tracing::warn!("damaged log: {d}; playing everything readable");
        }
        let mut topics = Vec::new();
        let mut publishers = Vec::new();
        let mut skipped = Vec::new();
        for info in log.topics() {
            if !options.selection.selects(&info.topic) {
                continue;
            }
            match resolve_type(&info) {
                Ok((identity, hash_source)) => {
                    let TypeIdentity {
                        name: type_name,
                        hash: type_hash,
                    } = identity;
                    let publisher = node
                        .raw_publisher(&options.remapped(&info.topic), &type_name, &type_hash)
                        .qos(playback_qos(&info))
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
                    publishers.push(Arc::new(publisher));
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
        // A log of big messages (by its mean size) publishes through shared memory: create
        // the pool now rather than while playing.
        let mean = log.size() / log.message_count().max(1);
        if !publishers.is_empty() && node.shm().wants(mean.try_into().unwrap_or(usize::MAX)) {
            let node = node.clone();
            let _ = tokio::task::spawn_blocking(move || node.shm().create_now()).await;
        }
        let clock = match options.clock_hz {
            Some(_) => Some(node.publisher::<Clock>("/clock").await?),
            None => None,
        };
        let (control, rx) = PlayerControl::new(options.start_paused, options.rate);
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
            // A wait past the end of the clock (Instant + Duration::MAX panics) waits unbounded.
            let deadline = tokio::time::Instant::now().checked_add(wait);
            for publisher in &self.publishers {
                let left = deadline.map_or(wait, |d| {
                    d.saturating_duration_since(tokio::time::Instant::now())
                });
                if !publisher.wait_for_subscribers(left).await {
                    tracing::info!("no subscriber on {} yet; playing anyway", publisher.topic());
                }
            }
        }
        // A thread of its own: its timer slack is changed, and it sleeps and wakes on time
        // without waiting behind the blocking pool's other work.
        let (done, report) = tokio::sync::oneshot::channel();
        let runtime = tokio::runtime::Handle::current();
        std::thread::Builder::new()
            .name("rosync-play".into())
            .spawn(move || {
                let _runtime = runtime.enter();
                timing::wake_on_time();
                let _ = done.send(self.play_blocking());
            })
            .map_err(|e| PlayError::Thread(format!("cannot start it: {e}")))?;
        report
            .await
            .map_err(|_| PlayError::Thread("it panicked".into()))
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
        let window = Window::new(log.start_time(), options.start_offset, options.duration);
        let reader = {
            let queue = Arc::clone(&queue);
            let loop_playback = options.loop_playback;
            std::thread::Builder::new()
                .name("rosync-play-read".into())
                .spawn(move || read_passes(&log, &names, window, loop_playback, &queue))
        };
        let reader = match reader {
            Ok(handle) => Some(handle),
            Err(e) => {
                report
                    .damage
                    .push(format!("cannot start the reader thread: {e}"));
                // Nothing will be read: let the publishing thread end at once.
                queue.close();
                None
            }
        };
        let index: HashMap<String, usize> = topics
            .iter()
            .enumerate()
            .map(|(i, t)| (t.topic.clone(), i))
            .collect();
        let started = Instant::now();
        let mut schedule = Schedule::new(&options, window.start, started);
        if control.is_stopped() {
            schedule.command(Command::Stop, started);
        }
        let publishing = Publishing {
            publishers: &publishers,
            index,
            clock: clock.as_ref(),
            rx,
            _tx: control.sender(),
            queue: &queue,
            schedule,
            report,
        };
        let (mut report, tallies) = publishing.play();
        report.elapsed = started.elapsed();
        queue.close();
        if let Some(reader) = reader {
            let _ = reader.join();
        }
        for (topic, mut tally) in topics.iter().zip(tallies) {
            let name = &topic.published_as;
            *report.per_topic.entry(name.clone()).or_default() += tally.published;
            if let Some(error) = tally.errors.percentiles() {
                report.schedule_error_per_topic.insert(name.clone(), error);
            }
            if let Some(time) = tally.publish_times.percentiles() {
                report.publish_time.insert(name.clone(), time);
            }
        }
        report
    }
}
