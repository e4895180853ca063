//! [`Schedule`]: the player's clock and schedule as a pure state machine.
//!
//! It never reads the clock: the publishing thread passes the monotonic `now` in (as
//! [`Policy::add_at`](crate::sync::Policy::add_at) takes the arrival time), with the
//! log time of each message it holds ([`Schedule::offer`]), the [`Command`]s of the
//! [`PlayerControl`](super::PlayerControl) handles and the ends of passes. It answers what to
//! do now ([`Schedule::next_action`]), the playback (log) time for `/clock`
//! ([`Schedule::playback_time`], [`Schedule::clock_tick`]) and keeps the schedule error of
//! every message published on time.
//!
//! Message *i* is due at `anchor_wall + (log_time_i - anchor_log) / rate`. The anchor is the
//! first message of a pass (each pass of a loop re-anchors), and is moved to "now, at the
//! current playback time" on resume and on rate changes, so playback time never jumps. While
//! paused, playback time stands still; a step publishes the next message at once and moves
//! playback time to it. At rate 0 every message is due at once and playback time is the last
//! published message's.

use std::time::{Duration, Instant};

use super::{PlayOptions, Samples, ScheduleError};

/// A request from a [`PlayerControl`](super::PlayerControl) to the publishing thread.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Command {
    /// Stop playback time.
    Pause,
    /// Go on from where playback was paused.
    Resume,
    /// While paused, publish the next message at once.
    Step,
    /// Change the speed factor (0: as fast as possible).
    SetRate(f64),
    /// End playback.
    Stop,
}

/// What the publishing thread does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Take the next item from the read-ahead: a message ([`Schedule::offer`]) or the end of a
    /// pass ([`Schedule::end_pass`]).
    Fetch,
    /// Publish the message held now, then call [`Schedule::published`]; `due` is the instant it
    /// was scheduled for (`None`: a step or rate 0, not measured).
    Publish {
        /// The scheduled instant, when the schedule error is measured.
        due: Option<Instant>,
    },
    /// Wait until this instant (the message's due instant or the next `/clock` tick, whichever
    /// comes first), or until a command arrives.
    WaitUntil(Instant),
    /// Paused: wait for a command, or until the next `/clock` tick if there is one.
    WaitForCommand(Option<Instant>),
    /// A pass ended and no other follows.
    Finish,
    /// Stopped by a command.
    Stop,
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
        later(self.wall, Duration::from_nanos(ahead as u64))
    }
}

/// `base + d`, or a century later if that overflows (a rate close to 0).
fn later(base: Instant, d: Duration) -> Instant {
    base.checked_add(d)
        .or_else(|| base.checked_add(Duration::from_secs(100 * 365 * 86_400)))
        .unwrap_or(base)
}

/// The playback schedule and clock of one playback; see the [module docs](self).
#[derive(Debug)]
pub(crate) struct Schedule {
    rate: f64,
    loop_playback: bool,
    paused: bool,
    /// The playback time while paused.
    paused_log: u64,
    stopped: bool,
    finished: bool,
    /// Steps asked for while paused and not yet taken.
    steps: u32,
    timeline: Option<Timeline>,
    /// The log time of the message held (offered, not yet published).
    next: Option<u64>,
    /// The log time of the last message published.
    last_log: Option<u64>,
    /// The playback time before the first message: the window's start.
    window_start: u64,
    pass_messages: u64,
    passes: u64,
    clock_period: Option<Duration>,
    /// When the next `/clock` tick is due (`None`: no `/clock`).
    next_clock: Option<Instant>,
    /// Schedule errors of the measured messages, in nanoseconds.
    errors: Samples,
}

impl Schedule {
    /// A schedule for `options` whose playback time starts at `window_start` (log time), the
    /// first `/clock` tick due at `now`.
    pub fn new(options: &PlayOptions, window_start: u64, now: Instant) -> Self {
        let clock_period = options.clock_hz.map(|hz| {
            Duration::try_from_secs_f64(1.0 / hz).unwrap_or(Duration::from_secs(u32::MAX.into()))
        });
        Self {
            rate: options.rate,
            loop_playback: options.loop_playback,
            paused: options.start_paused,
            paused_log: window_start,
            stopped: false,
            finished: false,
            steps: 0,
            timeline: None,
            next: None,
            last_log: None,
            window_start,
            pass_messages: 0,
            passes: 0,
            clock_period,
            next_clock: clock_period.map(|_| now),
            errors: Samples::default(),
        }
    }

    /// What to do at `now`.
    pub fn next_action(&self, now: Instant) -> Action {
        if self.stopped {
            return Action::Stop;
        }
        let Some(log_time) = self.next else {
            return if self.finished {
                Action::Finish
            } else {
                Action::Fetch
            };
        };
        if self.paused {
            return if self.steps > 0 {
                Action::Publish { due: None }
            } else {
                Action::WaitForCommand(self.next_clock_tick())
            };
        }
        match self.due(log_time) {
            Some(due) if now >= due => Action::Publish { due: Some(due) },
            Some(due) => {
                Action::WaitUntil(self.next_clock_tick().map_or(due, |tick| tick.min(due)))
            }
            None => Action::Publish { due: None },
        }
    }

    /// When a message logged at `log_time` is due, if it is scheduled (playing at a rate > 0).
    fn due(&self, log_time: u64) -> Option<Instant> {
        match &self.timeline {
            Some(t) if !self.paused && self.rate > 0.0 => Some(t.due(log_time)),
            _ => None,
        }
    }

    /// The publishing thread now holds the next message, logged at `log_time`, taken from the
    /// read-ahead at `now` (the first of a pass anchors the timeline).
    pub fn offer(&mut self, log_time: u64, now: Instant) {
        self.pass_messages += 1;
        if self.timeline.is_none() {
            self.timeline = Some(Timeline {
                wall: now,
                log: log_time,
                rate: self.rate,
            });
            if self.paused {
                self.paused_log = log_time;
            }
        }
        self.next = Some(log_time);
    }

    /// The message held was handed to the network at `at` (after [`Action::Publish`]).
    pub fn published(&mut self, at: Instant) {
        if let Some(due) = self.handed_off() {
            self.errors
                .push(at.saturating_duration_since(due).as_nanos() as u64);
        }
    }

    /// The message held went to a publishing thread (after [`Action::Publish`]), which
    /// measures its schedule error against the instant returned (`None`: not measured) and
    /// gives it back with [`add_errors`](Self::add_errors).
    pub fn handed_off(&mut self) -> Option<Instant> {
        let log_time = self.next.take()?;
        self.last_log = Some(log_time);
        if self.paused {
            self.steps = self.steps.saturating_sub(1);
            self.paused_log = log_time;
            None
        } else {
            self.due(log_time)
        }
    }

    /// Adds schedule errors (in nanoseconds) measured by a publishing thread.
    pub fn add_errors(&mut self, errors: &Samples) {
        self.errors.extend(errors);
    }

    /// A pass over the log ended: another starts (re-anchored) when looping and this one
    /// played something, else playback finishes.
    pub fn end_pass(&mut self) {
        self.passes += 1;
        if !self.loop_playback || self.pass_messages == 0 {
            self.finished = true;
        } else {
            self.pass_messages = 0;
            self.timeline = None;
        }
    }

    /// Applies a command received at `now`.
    pub fn command(&mut self, command: Command, now: Instant) {
        match command {
            Command::Pause if !self.paused => {
                let mut at = self.playback_time(now);
                if let Some(next) = self.next {
                    at = at.min(next);
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
                let at = self.playback_time(now);
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

    /// The playback (log) time at `now`: it stands still while paused, never passes the
    /// message held, and at rate 0 is the last published message's.
    pub fn playback_time(&self, now: Instant) -> u64 {
        if self.paused {
            return self.paused_log;
        }
        match &self.timeline {
            Some(t) if self.rate > 0.0 => match self.next {
                Some(next) => t.log_at(now).min(next),
                None => t.log_at(now),
            },
            _ => self.last_log.unwrap_or(self.window_start),
        }
    }

    /// If a `/clock` tick is due at `now`, the playback time to publish (and the next tick is
    /// scheduled one period later, or one period after `now` if that is already past).
    pub fn clock_tick(&mut self, now: Instant) -> Option<u64> {
        let (Some(due), Some(period)) = (self.next_clock, self.clock_period) else {
            return None;
        };
        if now < due {
            return None;
        }
        let next = later(due, period);
        self.next_clock = Some(if next <= now {
            later(now, period)
        } else {
            next
        });
        Some(self.playback_time(now))
    }

    /// When the next `/clock` tick is due (`None`: no `/clock`).
    pub fn next_clock_tick(&self) -> Option<Instant> {
        self.next_clock
    }

    /// Complete passes so far.
    pub fn passes(&self) -> u64 {
        self.passes
    }

    /// The percentiles of the schedule errors measured so far.
    pub fn schedule_error(&mut self) -> Option<ScheduleError> {
        self.errors.percentiles()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;
    const MS: u64 = 1_000_000;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn options(rate: f64) -> PlayOptions {
        PlayOptions {
            rate,
            ..Default::default()
        }
    }

    /// Offers `log_time` at `now` and publishes it at `at`, checking it is due then.
    fn play(s: &mut Schedule, log_time: u64, now: Instant, due: Option<Instant>) {
        s.offer(log_time, now);
        assert_eq!(s.next_action(now), Action::Publish { due });
        s.published(now);
    }

    #[test]
    fn messages_are_due_at_their_recorded_offsets() {
        let t0 = Instant::now();
        let mut s = Schedule::new(&options(1.0), 10 * S, t0);
        assert_eq!(s.next_action(t0), Action::Fetch);
        assert_eq!(s.playback_time(t0), 10 * S);
        // The first message anchors the timeline: due at once.
        s.offer(10 * S, t0);
        assert_eq!(s.next_action(t0), Action::Publish { due: Some(t0) });
        s.published(t0 + Duration::from_micros(30));
        s.offer(10 * S + 500 * MS, t0 + ms(1));
        assert_eq!(s.next_action(t0 + ms(1)), Action::WaitUntil(t0 + ms(500)));
        assert_eq!(s.playback_time(t0 + ms(200)), 10 * S + 200 * MS);
        // Playback time does not pass a message not yet published.
        assert_eq!(s.playback_time(t0 + ms(900)), 10 * S + 500 * MS);
        let due = t0 + ms(500);
        assert_eq!(s.next_action(due), Action::Publish { due: Some(due) });
        s.published(due + Duration::from_micros(10));
        assert_eq!(s.next_action(due), Action::Fetch);
        s.end_pass();
        assert_eq!(s.next_action(due), Action::Finish);
        assert_eq!(s.passes(), 1);
        let error = s.schedule_error().expect("measured");
        assert_eq!(error.samples, 2);
        assert_eq!(error.p50, Duration::from_micros(10));
        assert_eq!(error.max, Duration::from_micros(30));
    }

    #[test]
    fn a_handed_off_message_gives_its_due_instant_and_its_error_comes_back() {
        let t0 = Instant::now();
        let mut s = Schedule::new(&options(1.0), 0, t0);
        s.offer(0, t0);
        assert_eq!(s.handed_off(), Some(t0));
        s.offer(S, t0);
        assert_eq!(s.next_action(t0), Action::WaitUntil(t0 + ms(1000)));
        // Handed off, the message is no longer held: playback goes on to the next one.
        assert_eq!(s.handed_off(), Some(t0 + ms(1000)));
        assert_eq!(s.next_action(t0 + ms(1000)), Action::Fetch);
        assert!(
            s.schedule_error().is_none(),
            "measured by the publishing thread"
        );
        let mut measured = Samples::default();
        measured.push(7);
        measured.push(3);
        s.add_errors(&measured);
        let error = s.schedule_error().expect("given back");
        assert_eq!((error.samples, error.max), (2, Duration::from_nanos(7)));
        // A step while paused is not measured.
        s.command(Command::Pause, t0 + ms(1000));
        s.command(Command::Step, t0 + ms(1000));
        s.offer(2 * S, t0 + ms(1000));
        assert_eq!(s.next_action(t0 + ms(1000)), Action::Publish { due: None });
        assert_eq!(s.handed_off(), None);
        assert_eq!(s.playback_time(t0 + ms(1000)), 2 * S);
    }

    #[test]
    fn pause_stops_playback_time_and_resume_goes_on_from_there() {
        let t0 = Instant::now();
        let mut s = Schedule::new(&options(1.0), 0, t0);
        play(&mut s, 0, t0, Some(t0));
        s.offer(S, t0);
        assert_eq!(s.next_action(t0), Action::WaitUntil(t0 + ms(1000)));
        s.command(Command::Pause, t0 + ms(300));
        s.command(Command::Pause, t0 + ms(600));
        for later in [300, 999, 5_000] {
            let now = t0 + ms(later);
            assert_eq!(s.playback_time(now), 300 * MS);
            assert_eq!(s.next_action(now), Action::WaitForCommand(None));
        }
        // 700 ms of log time were left: due 700 ms after resuming.
        let resumed = t0 + ms(10_000);
        s.command(Command::Resume, resumed);
        s.command(Command::Resume, resumed + ms(100));
        assert_eq!(s.playback_time(resumed), 300 * MS);
        assert_eq!(s.playback_time(resumed + ms(200)), 500 * MS);
        assert_eq!(s.next_action(resumed), Action::WaitUntil(resumed + ms(700)));
        let due = resumed + ms(700);
        assert_eq!(s.next_action(due), Action::Publish { due: Some(due) });
    }

    #[test]
    fn pause_never_goes_back_before_the_last_message() {
        let t0 = Instant::now();
        let mut s = Schedule::new(&options(0.0), 0, t0);
        play(&mut s, 5 * S, t0, None);
        s.command(Command::Pause, t0 + ms(1));
        assert_eq!(s.playback_time(t0 + ms(1)), 5 * S);
    }

    #[test]
    fn start_paused_waits_at_the_first_message() {
        let t0 = Instant::now();
        let options = PlayOptions {
            start_paused: true,
            ..Default::default()
        };
        let mut s = Schedule::new(&options, 2 * S, t0);
        assert_eq!(s.playback_time(t0), 2 * S);
        assert_eq!(s.next_action(t0), Action::Fetch);
        s.offer(3 * S, t0);
        assert_eq!(s.playback_time(t0), 3 * S);
        assert_eq!(s.next_action(t0 + ms(5_000)), Action::WaitForCommand(None));
        s.command(Command::Resume, t0 + ms(5_000));
        let due = t0 + ms(5_000);
        assert_eq!(s.next_action(due), Action::Publish { due: Some(due) });
    }

    #[test]
    fn a_step_publishes_one_message_at_once_and_is_not_measured() {
        let t0 = Instant::now();
        let options = PlayOptions {
            start_paused: true,
            ..Default::default()
        };
        let mut s = Schedule::new(&options, S, t0);
        s.offer(S, t0);
        assert_eq!(s.next_action(t0), Action::WaitForCommand(None));
        s.command(Command::Step, t0 + ms(1_000));
        assert_eq!(s.next_action(t0 + ms(1_000)), Action::Publish { due: None });
        s.published(t0 + ms(1_000));
        assert_eq!(s.next_action(t0 + ms(1_000)), Action::Fetch);
        // One step, one message: the next waits, however far its log time.
        s.offer(3 * S, t0 + ms(1_000));
        assert_eq!(s.next_action(t0 + ms(9_000)), Action::WaitForCommand(None));
        assert_eq!(s.playback_time(t0 + ms(9_000)), S);
        // Two steps: two messages; playback time follows them.
        s.command(Command::Step, t0 + ms(9_000));
        s.command(Command::Step, t0 + ms(9_000));
        assert_eq!(s.next_action(t0 + ms(9_000)), Action::Publish { due: None });
        s.published(t0 + ms(9_000));
        assert_eq!(s.playback_time(t0 + ms(9_000)), 3 * S);
        play(&mut s, 4 * S, t0 + ms(9_000), None);
        s.offer(5 * S, t0 + ms(9_000));
        assert_eq!(s.next_action(t0 + ms(9_000)), Action::WaitForCommand(None));
        assert_eq!(s.playback_time(t0 + ms(9_500)), 4 * S);
        assert_eq!(s.schedule_error(), None);
        // Resuming goes on from the last stepped message; steps are ignored while playing.
        let resumed = t0 + ms(10_000);
        s.command(Command::Resume, resumed);
        s.command(Command::Step, resumed);
        assert_eq!(
            s.next_action(resumed),
            Action::WaitUntil(resumed + ms(1_000))
        );
        let due = resumed + ms(1_000);
        assert_eq!(s.next_action(due), Action::Publish { due: Some(due) });
        s.published(due);
        assert_eq!(s.schedule_error().map(|e| e.samples), Some(1));
    }

    #[test]
    fn a_rate_change_stretches_what_is_left_without_a_jump() {
        let t0 = Instant::now();
        let mut s = Schedule::new(&options(1.0), 0, t0);
        play(&mut s, 0, t0, Some(t0));
        s.offer(S, t0);
        assert_eq!(s.next_action(t0), Action::WaitUntil(t0 + ms(1_000)));
        // At 400 ms, twice as fast: the 600 ms left take 300 ms.
        s.command(Command::SetRate(2.0), t0 + ms(400));
        assert_eq!(s.playback_time(t0 + ms(400)), 400 * MS);
        assert_eq!(s.playback_time(t0 + ms(500)), 600 * MS);
        assert_eq!(s.next_action(t0 + ms(400)), Action::WaitUntil(t0 + ms(700)));
        // At 500 ms (playback 600 ms), half speed: the 400 ms left take 800 ms.
        s.command(Command::SetRate(0.5), t0 + ms(500));
        assert_eq!(s.playback_time(t0 + ms(500)), 600 * MS);
        assert_eq!(s.playback_time(t0 + ms(700)), 700 * MS);
        assert_eq!(
            s.next_action(t0 + ms(700)),
            Action::WaitUntil(t0 + ms(1_300))
        );
        let due = t0 + ms(1_300);
        assert_eq!(s.next_action(due), Action::Publish { due: Some(due) });
        s.published(due);
        // While paused, a new rate applies from the resume.
        s.command(Command::Pause, due);
        s.command(Command::SetRate(4.0), due + ms(100));
        assert_eq!(s.playback_time(due + ms(500)), S);
        s.offer(2 * S, due + ms(500));
        s.command(Command::Resume, due + ms(1_000));
        assert_eq!(
            s.next_action(due + ms(1_000)),
            Action::WaitUntil(due + ms(1_250))
        );
    }

    #[test]
    fn rate_zero_publishes_at_once_unmeasured() {
        let t0 = Instant::now();
        let mut s = Schedule::new(&options(0.0), S, t0);
        assert_eq!(s.playback_time(t0), S);
        play(&mut s, 5 * S, t0, None);
        assert_eq!(s.playback_time(t0 + ms(1)), 5 * S);
        play(&mut s, 9 * S, t0 + ms(1), None);
        assert_eq!(s.playback_time(t0 + ms(500)), 9 * S);
        assert_eq!(s.schedule_error(), None);
        // Back to the recorded speed from the last message published.
        s.command(Command::SetRate(1.0), t0 + ms(2));
        s.offer(10 * S, t0 + ms(3));
        assert_eq!(s.next_action(t0 + ms(3)), Action::WaitUntil(t0 + ms(1_002)));
        // And as fast as possible again, mid-wait.
        s.command(Command::SetRate(0.0), t0 + ms(500));
        assert_eq!(s.next_action(t0 + ms(500)), Action::Publish { due: None });
    }

    #[test]
    fn each_pass_of_a_loop_is_anchored_anew_and_an_empty_pass_ends() {
        let t0 = Instant::now();
        let options = PlayOptions {
            loop_playback: true,
            ..Default::default()
        };
        let mut s = Schedule::new(&options, S, t0);
        for pass in 0..2 {
            let start = t0 + ms(5_000 * pass);
            play(&mut s, S, start, Some(start));
            assert_eq!(s.playback_time(start), S);
            s.offer(2 * S, start);
            assert_eq!(s.next_action(start), Action::WaitUntil(start + ms(1_000)));
            let due = start + ms(1_000);
            assert_eq!(s.next_action(due), Action::Publish { due: Some(due) });
            s.published(due);
            s.end_pass();
            assert_eq!(s.next_action(due), Action::Fetch);
            assert_eq!(s.passes(), pass + 1);
        }
        s.end_pass();
        assert_eq!(s.next_action(t0 + ms(20_000)), Action::Finish);
        assert_eq!(s.passes(), 3);
        assert_eq!(s.schedule_error().map(|e| e.samples), Some(4));

        let mut once = Schedule::new(&PlayOptions::default(), 0, t0);
        play(&mut once, 0, t0, Some(t0));
        once.end_pass();
        assert_eq!(once.next_action(t0), Action::Finish);
        assert_eq!(once.passes(), 1);
    }

    #[test]
    fn a_start_offset_starts_playback_time_at_the_window_and_the_first_message_at_once() {
        // The reader skips what the window excludes (see `window`); the schedule starts
        // playback time at the window's start and anchors on the first message played.
        let t0 = Instant::now();
        let window = super::super::window::Window::new(Some(S), ms(1_500), Some(ms(1_000)));
        let mut s = Schedule::new(&PlayOptions::default(), window.start, t0);
        assert_eq!(s.playback_time(t0), 2_500 * MS);
        play(&mut s, 2_700 * MS, t0, Some(t0));
        s.offer(3_500 * MS, t0);
        assert_eq!(s.next_action(t0), Action::WaitUntil(t0 + ms(800)));
    }

    #[test]
    fn stop_wins_over_everything() {
        let t0 = Instant::now();
        let mut fresh = Schedule::new(&PlayOptions::default(), 0, t0);
        fresh.command(Command::Stop, t0);
        assert_eq!(fresh.next_action(t0), Action::Stop);

        let mut waiting = Schedule::new(&PlayOptions::default(), 0, t0);
        play(&mut waiting, 0, t0, Some(t0));
        waiting.offer(S, t0);
        waiting.command(Command::Stop, t0 + ms(10));
        assert_eq!(waiting.next_action(t0 + ms(2_000)), Action::Stop);

        let paused = PlayOptions {
            start_paused: true,
            ..Default::default()
        };
        let mut stepping = Schedule::new(&paused, 0, t0);
        stepping.offer(0, t0);
        stepping.command(Command::Step, t0);
        stepping.command(Command::Stop, t0);
        assert_eq!(stepping.next_action(t0), Action::Stop);
    }

    #[test]
    fn clock_ticks_carry_playback_time_and_freeze_while_paused() {
        let t0 = Instant::now();
        let options = PlayOptions {
            clock_hz: Some(4.0),
            ..Default::default()
        };
        let mut s = Schedule::new(&options, 7 * S, t0);
        assert_eq!(s.next_clock_tick(), Some(t0));
        assert_eq!(s.clock_tick(t0), Some(7 * S));
        assert_eq!(s.next_clock_tick(), Some(t0 + ms(250)));
        assert_eq!(s.clock_tick(t0 + ms(100)), None);
        play(&mut s, 8 * S, t0 + ms(100), Some(t0 + ms(100)));
        s.offer(9 * S, t0 + ms(100));
        // The tick comes first, then the message.
        assert_eq!(s.next_action(t0 + ms(100)), Action::WaitUntil(t0 + ms(250)));
        assert_eq!(s.clock_tick(t0 + ms(250)), Some(8 * S + 150 * MS));
        // A late tick: the next one is a period after it.
        assert_eq!(s.clock_tick(t0 + ms(900)), Some(8 * S + 800 * MS));
        assert_eq!(s.next_clock_tick(), Some(t0 + ms(1_150)));
        assert_eq!(
            s.next_action(t0 + ms(900)),
            Action::WaitUntil(t0 + ms(1_100))
        );
        // Paused: the same time on every tick, and the wait ends at the next tick.
        s.command(Command::Pause, t0 + ms(900));
        assert_eq!(s.clock_tick(t0 + ms(1_150)), Some(8 * S + 800 * MS));
        assert_eq!(s.clock_tick(t0 + ms(1_400)), Some(8 * S + 800 * MS));
        assert_eq!(
            s.next_action(t0 + ms(1_400)),
            Action::WaitForCommand(Some(t0 + ms(1_650)))
        );

        let mut silent = Schedule::new(&PlayOptions::default(), 0, t0);
        assert_eq!(silent.next_clock_tick(), None);
        assert_eq!(silent.clock_tick(t0), None);
    }

    #[test]
    fn extreme_rates_do_not_overflow() {
        let t0 = Instant::now();
        let mut s = Schedule::new(&options(1e-300), 0, t0);
        play(&mut s, 0, t0, Some(t0));
        s.offer(S, t0);
        assert!(matches!(s.next_action(t0), Action::WaitUntil(at) if at > t0 + ms(1_000)));
        let tiny_clock = PlayOptions {
            clock_hz: Some(1e-300),
            ..Default::default()
        };
        let mut c = Schedule::new(&tiny_clock, 0, t0);
        assert_eq!(c.clock_tick(t0), Some(0));
        assert!(c.next_clock_tick().is_some_and(|at| at > t0));
    }
}
