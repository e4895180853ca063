//! The scheduling thread: a thin shell that does what the [`Schedule`] says, with the clock,
//! the command channel, the read-ahead queue and the publishers.
//!
//! Waiting for an instant, it sleeps (on the command channel, so a command ends the wait)
//! until [`SPIN_MARGIN`] before it, then busy-waits the rest: at most [`SPIN_MARGIN`] per
//! message, none when the sleep woke late (the thread asks the kernel to wake it on time, see
//! [`timing`](super::timing)).
//!
//! Big messages (at least [`OUTLET_MIN_BYTES`]) are handed at their instant to their topic's
//! [`Outlet`], a thread publishing them in order, so a slow hand-over to zenoh never delays
//! the next message; small ones are published here (after the big ones of their topic handed
//! over earlier, so each topic keeps its order).
//!
//! Per topic it tallies what was published, the schedule errors and how long handing each
//! message to zenoh took; and how late each sleep woke.

use std::collections::HashMap;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use super::outlet::{Outlet, OUTLET_MIN_BYTES};
use super::read_ahead::{Item, Pop, Queue};
use super::schedule::{Action, Command, Schedule};
use super::{PlayReport, Samples};
use crate::bag::BagMessage;
use crate::msg::rosgraph_msgs::Clock;
use crate::node::{Publisher, RawPublisher};

/// How long before a message's instant the player stops sleeping and busy-waits: the bound
/// of the spin per wait (at 1 kHz, at most 3% of a core).
const SPIN_MARGIN: Duration = Duration::from_micros(30);
/// How long one look at an empty read-ahead waits before `/clock` and commands are served.
const FETCH_WAIT: Duration = Duration::from_millis(20);

/// What was published on one topic, by this thread or the topic's [`Outlet`].
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Messages published.
    pub published: u64,
    /// Payload bytes published.
    pub bytes: u64,
    /// Messages zenoh refused.
    pub failures: u64,
    /// Schedule errors of the measured messages, in nanoseconds.
    pub errors: Samples,
    /// Time taken to hand each message to zenoh, in nanoseconds.
    pub publish_times: Samples,
    /// A refusal was logged (the first one only).
    warned: bool,
}

impl Tally {
    /// Publishes `message` on `publisher` now, measured against `due`.
    pub fn publish(&mut self, publisher: &RawPublisher, message: BagMessage, due: Option<Instant>) {
        let len = message.data.len() as u64;
        let at = Instant::now();
        let sent = futures::executor::block_on(publisher.publish_bytes(message.data));
        self.publish_times.push(at.elapsed().as_nanos() as u64);
        if let Some(due) = due {
            self.errors
                .push(at.saturating_duration_since(due).as_nanos() as u64);
        }
        match sent {
            Ok(()) => {
                self.published += 1;
                self.bytes += len;
            }
            Err(e) => {
                self.failures += 1;
                if !std::mem::replace(&mut self.warned, true) {
                    tracing::warn!("{e}");
                }
            }
        }
    }

    /// Adds `other`'s counts and samples.
    pub fn merge(&mut self, other: Tally) {
        self.published += other.published;
        self.bytes += other.bytes;
        self.failures += other.failures;
        self.errors.extend(&other.errors);
        self.publish_times.extend(&other.publish_times);
    }
}

/// The scheduling thread's state around its [`Schedule`].
pub(crate) struct Publishing<'a> {
    /// One per played topic, in the order of `index`'s values.
    pub publishers: &'a [Arc<RawPublisher>],
    /// Recorded topic name to its publisher's position.
    pub index: HashMap<String, usize>,
    /// `/clock`, if published.
    pub clock: Option<&'a Publisher<Clock>>,
    /// Commands from the [`PlayerControl`](super::PlayerControl) handles.
    pub rx: mpsc::Receiver<Command>,
    /// Keeps the channel open, so waiting on `rx` never fails.
    pub _tx: mpsc::Sender<Command>,
    /// The read-ahead.
    pub queue: &'a Queue,
    /// The schedule and clock.
    pub schedule: Schedule,
    /// What the playback did so far.
    pub report: PlayReport,
}

/// What the scheduling thread keeps while playing.
struct Playing {
    /// Per topic, in `publishers` order.
    tallies: Vec<Tally>,
    /// The publishing threads of the topics that have had big messages, in `publishers` order.
    outlets: Vec<Option<Outlet>>,
    /// A publishing thread could not be started: everything is published on this thread.
    no_outlets: bool,
    /// How late each sleep woke, in nanoseconds.
    wake_lateness: Samples,
}

impl Publishing<'_> {
    /// Plays until the last pass ends, the read-ahead closes or a stop; returns the report
    /// and what was published per topic (in `publishers` order).
    pub fn play(mut self) -> (PlayReport, Vec<Tally>) {
        let mut playing = Playing {
            tallies: self.publishers.iter().map(|_| Tally::default()).collect(),
            outlets: self.publishers.iter().map(|_| None).collect(),
            no_outlets: false,
            wake_lateness: Samples::default(),
        };
        let mut held: Option<BagMessage> = None;
        loop {
            while let Ok(command) = self.rx.try_recv() {
                self.schedule.command(command, Instant::now());
            }
            let now = Instant::now();
            self.tick_clock(now);
            match self.schedule.next_action(now) {
                Action::Stop => {
                    self.report.stopped = true;
                    break;
                }
                Action::Finish => break,
                Action::Fetch => match self.fetch() {
                    Pop::Empty => {}
                    Pop::Closed => break,
                    // The reader logged the skip; the report lists it.
                    Pop::Item(Item::Skipped(damage)) => self.report.skipped.push(damage),
                    Pop::Item(Item::Unreadable(damage)) => {
                        tracing::warn!("damaged log: {damage}; played everything readable");
                        self.report.damage.push(damage);
                    }
                    Pop::Item(Item::EndOfPass) => self.schedule.end_pass(),
                    Pop::Item(Item::Message(message)) => {
                        self.schedule.offer(message.log_time, Instant::now());
                        held = Some(message);
                    }
                },
                Action::Publish { .. } => {
                    if let Some(message) = held.take() {
                        self.publish(message, &mut playing);
                    }
                }
                Action::WaitUntil(until) => self.wait_until(until, &mut playing.wake_lateness),
                Action::WaitForCommand(tick) => self.wait_for_command(tick),
            }
        }
        let Playing {
            mut tallies,
            outlets,
            mut wake_lateness,
            ..
        } = playing;
        for (tally, outlet) in tallies.iter_mut().zip(outlets) {
            if let Some(outlet) = outlet {
                tally.merge(outlet.finish());
            }
        }
        for tally in &tallies {
            self.report.published += tally.published;
            self.report.bytes += tally.bytes;
            self.report.publish_failures += tally.failures;
            self.schedule.add_errors(&tally.errors);
        }
        self.report.passes = self.schedule.passes();
        self.report.schedule_error = self.schedule.schedule_error();
        self.report.wake_lateness = wake_lateness.percentiles();
        (self.report, tallies)
    }

    /// The next item of the read-ahead, counting a wait when it is empty.
    fn fetch(&mut self) -> Pop {
        match self.queue.pop(Duration::ZERO) {
            Pop::Empty => {
                self.report.read_ahead_empty += 1;
                self.queue.pop(FETCH_WAIT)
            }
            found => found,
        }
    }

    /// Publishes `message` on its topic (here or through the topic's outlet) and tells the
    /// schedule.
    fn publish(&mut self, message: BagMessage, playing: &mut Playing) {
        let Some(&i) = self.index.get(&*message.topic) else {
            self.schedule.published(Instant::now());
            return;
        };
        let due = self.schedule.handed_off();
        if let Some(outlet) = self.outlet_for(i, &message, playing) {
            if outlet.hand_over(message, due) {
                self.report.publish_queue_full += 1;
            }
            return;
        }
        if let Some(tally) = playing.tallies.get_mut(i) {
            tally.publish(&self.publishers[i], message, due);
        }
    }

    /// The outlet `message` of topic `i` goes through (started now if needed): for a big
    /// message, or any while the outlet still has earlier ones to publish; `None`: publish
    /// here.
    fn outlet_for<'p>(
        &self,
        i: usize,
        message: &BagMessage,
        playing: &'p mut Playing,
    ) -> Option<&'p Outlet> {
        let big = message.data.len() >= OUTLET_MIN_BYTES;
        let slot = playing.outlets.get_mut(i)?;
        if slot.is_none() && big && !playing.no_outlets {
            match Outlet::start(Arc::clone(&self.publishers[i])) {
                Ok(outlet) => *slot = Some(outlet),
                Err(e) => {
                    tracing::warn!(
                        "cannot start a publishing thread ({e}): publishing big messages on \
                         the player's thread"
                    );
                    playing.no_outlets = true;
                }
            }
        }
        slot.as_ref().filter(|outlet| big || !outlet.is_idle())
    }

    /// Publishes `/clock` if a tick is due.
    fn tick_clock(&mut self, now: Instant) {
        let Some(clock) = self.clock else {
            return;
        };
        let Some(log_time) = self.schedule.clock_tick(now) else {
            return;
        };
        let stamp = crate::Time::from_nanos(log_time.min(i64::MAX as u64) as i64);
        match clock.publish_now(&Clock { clock: stamp }) {
            Ok(()) => self.report.clock_messages += 1,
            Err(e) => tracing::warn!("cannot publish /clock: {e}"),
        }
    }

    /// Sleeps until [`SPIN_MARGIN`] before `until` (noting how late it woke), then busy-waits
    /// (at most that long); a command arriving ends the wait.
    fn wait_until(&mut self, until: Instant, wake_lateness: &mut Samples) {
        let wake = until.checked_sub(SPIN_MARGIN).unwrap_or(until);
        let now = Instant::now();
        if wake > now {
            if let Ok(command) = self.rx.recv_timeout(wake - now) {
                self.schedule.command(command, Instant::now());
                return;
            }
            let late = Instant::now().saturating_duration_since(wake);
            wake_lateness.push(late.as_nanos() as u64);
        }
        while Instant::now() < until {
            std::hint::spin_loop();
        }
    }

    /// Waits for a command while paused, or until the next `/clock` tick.
    fn wait_for_command(&mut self, tick: Option<Instant>) {
        let command = match tick {
            Some(tick) => self
                .rx
                .recv_timeout(tick.saturating_duration_since(Instant::now()))
                .ok(),
            None => self.rx.recv().ok(),
        };
        if let Some(command) = command {
            self.schedule.command(command, Instant::now());
        }
    }
}
