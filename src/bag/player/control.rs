//! [`PlayerControl`]: the handle that pauses, resumes, steps, changes the rate of and stops a
//! running [`Player`](super::Player); it sends [`Command`]s to the publishing thread.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

use super::schedule::Command;

/// What the handles last asked for, readable without asking the publishing thread.
#[derive(Debug)]
struct Status {
    paused: AtomicBool,
    rate_bits: AtomicU64,
    stopped: AtomicBool,
}

/// Drives a running [`Player`](super::Player) from another thread or task (cheap to clone).
#[derive(Debug, Clone)]
pub struct PlayerControl {
    tx: mpsc::Sender<Command>,
    status: Arc<Status>,
}

impl PlayerControl {
    /// A handle starting in the given state, and the receiving end of its commands.
    pub(super) fn new(start_paused: bool, rate: f64) -> (Self, mpsc::Receiver<Command>) {
        let (tx, rx) = mpsc::channel();
        let control = Self {
            tx,
            status: Arc::new(Status {
                paused: AtomicBool::new(start_paused),
                rate_bits: AtomicU64::new(rate.to_bits()),
                stopped: AtomicBool::new(false),
            }),
        };
        (control, rx)
    }

    /// A sender for the publishing thread to hold, so waiting for a command never fails.
    pub(super) fn sender(&self) -> mpsc::Sender<Command> {
        self.tx.clone()
    }

    /// Whether [`stop`](Self::stop) was called.
    pub(super) fn is_stopped(&self) -> bool {
        self.status.stopped.load(Ordering::SeqCst)
    }

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

    /// Stops playback; [`Player::run`](super::Player::run) returns its report.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_send_commands_and_track_status() {
        let (control, rx) = PlayerControl::new(false, 1.0);
        assert!(control.toggle());
        assert!(control.is_paused());
        control.step();
        control.set_rate(f64::NAN);
        control.set_rate(2.5);
        assert!(!control.toggle());
        control.stop();
        assert!(control.is_stopped());
        assert_eq!(control.rate(), 2.5);
        let sent: Vec<Command> = rx.try_iter().collect();
        assert_eq!(
            sent,
            vec![
                Command::Pause,
                Command::Step,
                Command::SetRate(2.5),
                Command::Resume,
                Command::Stop
            ]
        );
    }
}
