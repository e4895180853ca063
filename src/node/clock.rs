//! [`Clock`]: ROS time, system time and steady time, as `rclcpp::Clock` offers them.
//!
//! - [`ClockType::RosTime`] follows `/clock` (`rosgraph_msgs/msg/Clock`) when sim time is on
//!   ([`Clock::sim`], what a node built with `use_sim_time` uses); it is 0 until the first
//!   `/clock` message. With sim time off it is the system time.
//! - [`ClockType::SystemTime`] is the system (wall) clock, nanoseconds since the Unix epoch.
//! - [`ClockType::SteadyTime`] never jumps: nanoseconds since the process first read it.
//!   Use it for timeouts.
//!
//! A clock jumps back when a `/clock` message carries an earlier time than the previous one
//! (a log played in a loop, or restarted); [`Clock::sleep_until`] returns
//! [`Wake::JumpedBack`] then, so timers can restart from the new time. A ROS-time clock can
//! switch between `/clock` and the system time while it runs ([`Clock::set_use_sim_time`],
//! what a change of the node's `use_sim_time` parameter does); sleepers wake with
//! [`Wake::SourceChanged`].

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use tokio::sync::watch;

use crate::time::{Duration, Time};

/// Which time a [`Clock`] reads (ROS 2 `rcl_clock_type_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockType {
    /// ROS time: `/clock` when sim time is on, the system time otherwise.
    RosTime,
    /// The system (wall) clock.
    SystemTime,
    /// A monotonic clock that never jumps (for timeouts).
    SteadyTime,
}

/// Why a [`Clock::sleep_until`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The clock reached the requested time.
    Reached,
    /// The clock jumped back before reaching it (sim time restarted, or the system clock was
    /// set back); the caller decides whether to wait again.
    JumpedBack,
    /// Sim time was switched on or off (the node's `use_sim_time` changed): the time jumped
    /// to the other source; the caller decides whether to wait again.
    SourceChanged,
}

/// The state of a ROS-time clock, shared by its clones: whether it follows `/clock`, the last
/// `/clock` time, and how many backward jumps and source switches happened.
#[derive(Debug, Clone, Copy, Default)]
struct RosTime {
    sim: bool,
    sim_nanos: i64,
    jumps: u64,
    switches: u64,
}

impl RosTime {
    /// The time this state reads: the last `/clock` time with sim time on, else the system time.
    fn now_nanos(&self) -> i64 {
        match self.sim {
            true => self.sim_nanos,
            false => crate::time::now_nanos(),
        }
    }
}

/// A clock: cheap to clone, clones share the same time source (and see a switch of sim time).
#[derive(Clone)]
pub struct Clock {
    kind: ClockType,
    /// The switchable state of a ROS-time clock (`None` for system and steady clocks).
    ros: Option<Arc<watch::Sender<RosTime>>>,
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clock")
            .field("kind", &self.kind)
            .field("sim_time", &self.is_sim_time())
            .field("now", &self.now_nanos())
            .finish()
    }
}

/// The instant steady time counts from.
fn steady_origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

/// How often a system-time sleep re-reads the clock (to notice it being set back).
const SYSTEM_RECHECK: std::time::Duration = std::time::Duration::from_millis(250);

impl Clock {
    /// The system clock (the default clock of filters); sim time cannot be switched on.
    pub fn system() -> Self {
        Self {
            kind: ClockType::SystemTime,
            ros: None,
        }
    }

    /// ROS time on the system clock (a node without `use_sim_time`); sim time can be switched
    /// on later with [`set_use_sim_time`](Self::set_use_sim_time).
    pub fn ros() -> Self {
        Self::ros_with(false)
    }

    /// Steady time, for timeouts and wall timers.
    pub fn steady() -> Self {
        Self {
            kind: ClockType::SteadyTime,
            ros: None,
        }
    }

    /// ROS time with sim time on: 0 until [`set_sim_time`](Self::set_sim_time) (a node feeds
    /// it from `/clock`).
    pub fn sim() -> Self {
        Self::ros_with(true)
    }

    /// ROS time with sim time on or off.
    fn ros_with(sim: bool) -> Self {
        Self {
            kind: ClockType::RosTime,
            ros: Some(Arc::new(watch::Sender::new(RosTime {
                sim,
                ..RosTime::default()
            }))),
        }
    }

    /// Which time this clock reads.
    pub fn clock_type(&self) -> ClockType {
        self.kind
    }

    /// True when this clock follows `/clock`.
    pub fn is_sim_time(&self) -> bool {
        self.ros.as_ref().is_some_and(|r| r.borrow().sim)
    }

    /// Switches sim time on or off (what a change of the node's `use_sim_time` does, as
    /// rclcpp's `TimeSource`): on, the clock reads the last `/clock` time (0 before the first
    /// one); off, the system time. Every clone sees the switch, and sleepers wake with
    /// [`Wake::SourceChanged`]. Returns false for a system or steady clock, which cannot
    /// switch; switching to the current setting changes nothing.
    pub fn set_use_sim_time(&self, on: bool) -> bool {
        let Some(ros) = &self.ros else {
            return false;
        };
        ros.send_if_modified(|s| {
            if s.sim == on {
                return false;
            }
            let before = s.now_nanos();
            s.sim = on;
            s.switches += 1;
            let after = s.now_nanos();
            if after < before {
                s.jumps += 1;
            }
            tracing::debug!(
                use_sim_time = on,
                from = before,
                to = after,
                "clock source switched"
            );
            true
        });
        true
    }

    /// Sets the simulated time (what a `/clock` message does); an earlier time than the
    /// current one is a backward jump. Ignored (returns false) when sim time is off.
    pub fn set_sim_time(&self, time: Time) -> bool {
        let Some(ros) = &self.ros else {
            return false;
        };
        let nanos = time.as_nanos();
        ros.send_if_modified(|s| {
            if !s.sim {
                return false;
            }
            if nanos < s.sim_nanos {
                s.jumps += 1;
                tracing::debug!(from = s.sim_nanos, to = nanos, "sim time jumped back");
            }
            s.sim_nanos = nanos;
            true
        })
    }

    /// How many times the clock jumped back so far, a switch to an earlier sim time included
    /// (ROS-time clocks only; 0 otherwise).
    pub fn jumps_back(&self) -> u64 {
        self.ros.as_ref().map_or(0, |r| r.borrow().jumps)
    }

    /// The time now, in nanoseconds.
    pub fn now_nanos(&self) -> i64 {
        match (&self.ros, self.kind) {
            (Some(ros), _) => ros.borrow().now_nanos(),
            (None, ClockType::SteadyTime) => {
                i64::try_from(steady_origin().elapsed().as_nanos()).unwrap_or(i64::MAX)
            }
            (None, _) => crate::time::now_nanos(),
        }
    }

    /// The time now.
    pub fn now(&self) -> Time {
        Time::from_nanos(self.now_nanos())
    }

    /// Waits until the clock reads `until` or later, until it jumps back, or until sim time is
    /// switched on or off.
    ///
    /// On sim time this waits for `/clock` messages: it never returns while `/clock` is
    /// paused or silent.
    pub async fn sleep_until(&self, until: Time) -> Wake {
        let until = until.as_nanos();
        let Some(ros) = &self.ros else {
            return self.sleep_until_untracked(until).await;
        };
        let mut rx = ros.subscribe();
        let start = *rx.borrow_and_update();
        let mut last = start.now_nanos();
        loop {
            let state = *rx.borrow_and_update();
            if state.switches != start.switches {
                return Wake::SourceChanged;
            }
            if state.jumps != start.jumps {
                return Wake::JumpedBack;
            }
            let now = state.now_nanos();
            if !state.sim && now < last {
                return Wake::JumpedBack;
            }
            last = now;
            if now >= until {
                return Wake::Reached;
            }
            if state.sim {
                if rx.changed().await.is_err() {
                    // Cannot happen while `self` holds the sender; wait forever like a paused clock.
                    std::future::pending::<()>().await;
                }
            } else {
                let nap = std::time::Duration::from_nanos((until - now) as u64).min(SYSTEM_RECHECK);
                tokio::select! {
                    _ = rx.changed() => {}
                    _ = tokio::time::sleep(nap) => {}
                }
            }
        }
    }

    /// [`sleep_until`](Self::sleep_until) for the system and steady clocks.
    async fn sleep_until_untracked(&self, until: i64) -> Wake {
        let mut last = self.now_nanos();
        loop {
            let now = self.now_nanos();
            if now < last {
                return Wake::JumpedBack;
            }
            last = now;
            if now >= until {
                return Wake::Reached;
            }
            let left = std::time::Duration::from_nanos((until - now) as u64);
            let nap = match self.kind {
                ClockType::SteadyTime => left,
                _ => left.min(SYSTEM_RECHECK),
            };
            tokio::time::sleep(nap).await;
        }
    }

    /// Waits for `duration` of this clock's time (see [`sleep_until`](Self::sleep_until)).
    pub async fn sleep_for(&self, duration: impl Into<Duration>) -> Wake {
        let until = self.now_nanos().saturating_add(duration.into().as_nanos());
        self.sleep_until(Time::from_nanos(until)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Time {
        Time::from_nanos((s * 1e9) as i64)
    }

    #[tokio::test]
    async fn sim_time_follows_set_and_counts_jumps() {
        let clock = Clock::sim();
        assert_eq!(clock.now_nanos(), 0);
        assert!(clock.set_sim_time(secs(10.0)));
        assert_eq!(clock.now(), secs(10.0));
        clock.set_sim_time(secs(10.0)); // paused: no jump
        assert_eq!(clock.jumps_back(), 0);
        clock.set_sim_time(secs(2.0));
        assert_eq!(clock.jumps_back(), 1);
        assert!(!Clock::system().set_sim_time(secs(1.0)));
    }

    #[tokio::test]
    async fn sim_sleep_waits_for_the_clock_and_wakes_on_jump_back() {
        let clock = Clock::sim();
        clock.set_sim_time(secs(1.0));
        let sleeper = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep_until(secs(2.0)).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        clock.set_sim_time(secs(1.5));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!sleeper.is_finished(), "woke before the time was reached");
        clock.set_sim_time(secs(2.0));
        assert_eq!(sleeper.await.ok(), Some(Wake::Reached));

        let sleeper = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep_for(std::time::Duration::from_secs(5)).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        clock.set_sim_time(secs(0.5));
        assert_eq!(sleeper.await.ok(), Some(Wake::JumpedBack));
    }

    #[tokio::test]
    async fn ros_clock_switches_between_sim_and_system_time_and_wakes_sleepers() {
        let clock = Clock::ros();
        let copy = clock.clone();
        assert!(!clock.is_sim_time());
        assert!(!clock.set_sim_time(secs(3.0)), "sim time is off");
        assert!(clock.now_nanos() > 1_000_000_000_000_000_000, "system time");
        // A sleeper on system time wakes when sim time is switched on.
        let sleeper = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep_for(std::time::Duration::from_secs(60)).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(copy.set_use_sim_time(true));
        assert_eq!(sleeper.await.ok(), Some(Wake::SourceChanged));
        assert!(clock.is_sim_time(), "clones share the switch");
        assert_eq!(clock.now_nanos(), 0, "0 until the first /clock");
        assert_eq!(
            clock.jumps_back(),
            1,
            "switching to an earlier time is a jump back"
        );
        assert!(clock.set_sim_time(secs(3.0)));
        assert_eq!(clock.now(), secs(3.0));
        // A sleeper on sim time wakes when sim time is switched off.
        let sleeper = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep_until(secs(4.0)).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!sleeper.is_finished());
        clock.set_use_sim_time(false);
        assert_eq!(sleeper.await.ok(), Some(Wake::SourceChanged));
        assert!(
            clock.now_nanos() > 1_000_000_000_000_000_000,
            "system time again"
        );
        assert_eq!(
            clock.jumps_back(),
            1,
            "switching forward is not a jump back"
        );
        // Back on: the last /clock time, as rclcpp keeps it.
        clock.set_use_sim_time(true);
        assert_eq!(clock.now(), secs(3.0));
        assert!(!Clock::system().set_use_sim_time(true));
        assert!(!Clock::steady().set_use_sim_time(true));
    }

    #[tokio::test]
    async fn steady_and_system_sleep_reach_their_time() {
        for clock in [Clock::steady(), Clock::system(), Clock::ros()] {
            let before = clock.now_nanos();
            let wake = clock.sleep_for(std::time::Duration::from_millis(20)).await;
            assert_eq!(wake, Wake::Reached);
            assert!(clock.now_nanos() - before >= 20_000_000, "{clock:?}");
        }
    }
}
