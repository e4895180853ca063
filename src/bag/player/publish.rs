//! The publishing thread: a thin shell that does what the [`Schedule`] says, with the clock,
//! the command channel, the read-ahead queue and the publishers.
//!
//! It sleeps until about [`SPIN_MARGIN`] before the instant the schedule names, then spins;
//! a command arriving meanwhile is applied and the schedule asked again.

use std::collections::HashMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::read_ahead::{Item, Pop, Queue};
use super::schedule::{Action, Command, Schedule};
use super::PlayReport;
use crate::bag::BagMessage;
use crate::msg::rosgraph_msgs::Clock;
use crate::node::{Publisher, RawPublisher};

/// How long before a message's instant the player stops sleeping and starts spinning.
const SPIN_MARGIN: Duration = Duration::from_micros(200);
/// Below this, waiting spins without yielding the CPU.
const YIELD_MARGIN: Duration = Duration::from_micros(20);
/// How long one look at an empty read-ahead waits before `/clock` and commands are served.
const FETCH_WAIT: Duration = Duration::from_millis(20);

/// The publishing thread's state around its [`Schedule`].
pub(crate) struct Publishing<'a> {
    /// One per played topic, in the order of `index`'s values.
    pub publishers: &'a [RawPublisher],
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

impl Publishing<'_> {
    /// Plays until the last pass ends, the read-ahead closes or a stop; returns the report and
    /// the messages published per topic (in `publishers` order).
    pub fn play(mut self) -> (PlayReport, Vec<u64>) {
        let mut counts = vec![0; self.publishers.len()];
        let mut warned = vec![false; self.publishers.len()];
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
                Action::Fetch => match self.queue.pop(FETCH_WAIT) {
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
                        self.publish(message, &mut counts, &mut warned);
                    }
                }
                Action::WaitUntil(until) => self.wait_until(until),
                Action::WaitForCommand(tick) => self.wait_for_command(tick),
            }
        }
        self.report.passes = self.schedule.passes();
        self.report.schedule_error = self.schedule.schedule_error();
        (self.report, counts)
    }

    /// Publishes `message` on its topic and tells the schedule when.
    fn publish(&mut self, message: BagMessage, counts: &mut [u64], warned: &mut [bool]) {
        let Some(&i) = self.index.get(&*message.topic) else {
            self.schedule.published(Instant::now());
            return;
        };
        let len = message.data.len() as u64;
        let at = Instant::now();
        match futures::executor::block_on(self.publishers[i].publish_bytes(message.data)) {
            Ok(()) => {
                counts[i] += 1;
                self.report.published += 1;
                self.report.bytes += len;
            }
            Err(e) => {
                self.report.publish_failures += 1;
                if !std::mem::replace(&mut warned[i], true) {
                    tracing::warn!("{e}");
                }
            }
        }
        self.schedule.published(at);
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

    /// Sleeps until shortly before `until`, then spins; a command arriving ends the wait.
    fn wait_until(&mut self, until: Instant) {
        loop {
            let now = Instant::now();
            if now >= until {
                return;
            }
            let left = until - now;
            if left > SPIN_MARGIN {
                if let Ok(command) = self.rx.recv_timeout(left - SPIN_MARGIN) {
                    self.schedule.command(command, Instant::now());
                    return;
                }
            } else if left > YIELD_MARGIN {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
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
