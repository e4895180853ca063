//! Timers and rates on a [`Clock`]: [`Timer`] (an async tick stream), [`TimerHandle`] (a
//! callback on a task) and [`Rate`].
//!
//! # The rule for missed ticks and jumps
//!
//! Ticks are due on a grid: `start + k * period` of the clock's time. When a tick is served
//! late (the callback was slow, or sim time advanced several periods in one `/clock` step),
//! the timer fires **once** and the next tick is the next grid point after now: missed ticks
//! are skipped, never fired in a burst (as ROS 2's `rcl_timer_call`). While the clock does
//! not move (`/clock` paused or silent) no tick fires. When the clock jumps back (a log
//! played in a loop), or switches between `/clock` and the system time (the node's
//! `use_sim_time` changed), the timer restarts from the new time: the next tick is one period
//! after it, with no burst of ticks for the distance jumped. (On a switch rcl credits the
//! part of the period already waited; rosync restarts the whole period, as on a jump back.)

use std::time::Duration;

use super::clock::{Clock, Wake};
use crate::error::{Error, Result};
use crate::time::Time;

/// A periodic tick on a clock; [`tick`](Self::tick) waits for the next one.
#[derive(Debug)]
pub struct Timer {
    clock: Clock,
    period_ns: i64,
    next_ns: i64,
    fired: u64,
    skipped: u64,
}

impl Timer {
    /// A timer firing every `period` of `clock`'s time, first one period from now.
    pub fn new(clock: Clock, period: Duration) -> Result<Self> {
        let period_ns = i64::try_from(period.as_nanos()).unwrap_or(i64::MAX);
        if period_ns <= 0 {
            return Err(Error::Time("a timer period must be positive, not 0".into()));
        }
        let next_ns = clock.now_nanos().saturating_add(period_ns);
        Ok(Self {
            clock,
            period_ns,
            next_ns,
            fired: 0,
            skipped: 0,
        })
    }

    /// Waits for the next tick and returns the clock's time at it.
    pub async fn tick(&mut self) -> Time {
        loop {
            match self.clock.sleep_until(Time::from_nanos(self.next_ns)).await {
                Wake::Reached => break,
                Wake::JumpedBack | Wake::SourceChanged => self.reset(),
            }
        }
        let now = self.clock.now_nanos();
        self.fired += 1;
        // Next grid point after now: missed ticks are skipped, not fired in a burst.
        let behind = now.saturating_sub(self.next_ns) / self.period_ns;
        self.skipped += behind as u64;
        self.next_ns = self
            .next_ns
            .saturating_add(self.period_ns.saturating_mul(behind.saturating_add(1)));
        Time::from_nanos(now)
    }

    /// Restarts the timer: the next tick is one period from now.
    pub fn reset(&mut self) {
        self.next_ns = self.clock.now_nanos().saturating_add(self.period_ns);
    }

    /// The period.
    pub fn period(&self) -> Duration {
        Duration::from_nanos(self.period_ns as u64)
    }

    /// How many ticks fired so far.
    pub fn fired(&self) -> u64 {
        self.fired
    }

    /// How many ticks were skipped because the timer ran late.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// The clock the timer runs on.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }
}

/// A timer calling a callback on a tokio task; dropping the handle (or
/// [`cancel`](Self::cancel)) stops it.
#[derive(Debug)]
pub struct TimerHandle {
    task: tokio::task::JoinHandle<()>,
}

impl TimerHandle {
    /// Spawns a task that calls `callback` at every tick of `timer`.
    pub fn spawn(mut timer: Timer, mut callback: impl FnMut() + Send + 'static) -> Self {
        let task = tokio::spawn(async move {
            loop {
                timer.tick().await;
                callback();
            }
        });
        Self { task }
    }

    /// Stops the timer; the callback is not called again.
    pub fn cancel(&self) {
        self.task.abort();
    }
}

impl Drop for TimerHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Keeps a loop at a frequency on a clock (ROS `Rate`): [`sleep`](Self::sleep) waits until the
/// next period boundary, with the same missed-tick and jump rule as [`Timer`].
#[derive(Debug)]
pub struct Rate {
    timer: Timer,
}

impl Rate {
    /// A rate of `hz` on `clock` (`hz` positive and finite).
    pub fn new(clock: Clock, hz: f64) -> Result<Self> {
        if !(hz.is_finite() && hz > 0.0) {
            return Err(Error::Time(format!(
                "a rate must be a positive number of Hz, not {hz}"
            )));
        }
        let period = Duration::try_from_secs_f64(1.0 / hz)
            .map_err(|e| Error::Time(format!("rate {hz} Hz: {e}")))?;
        Ok(Self {
            timer: Timer::new(clock, period.max(Duration::from_nanos(1)))?,
        })
    }

    /// Waits until the next period boundary.
    pub async fn sleep(&mut self) {
        self.timer.tick().await;
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.timer.period()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: i64) -> Time {
        Time::from_nanos(n * 1_000_000)
    }

    /// Drives sim time by `steps` of `step_ms` and counts ticks of a 100 ms timer.
    async fn count_ticks(clock: &Clock, from_ms: i64, step_ms: i64, steps: i64) -> u64 {
        let fired = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = std::sync::Arc::clone(&fired);
        let timer = Timer::new(clock.clone(), Duration::from_millis(100)).expect("timer");
        let handle = TimerHandle::spawn(timer, move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        });
        for k in 1..=steps {
            clock.set_sim_time(ms(from_ms + k * step_ms));
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        drop(handle);
        fired.load(std::sync::atomic::Ordering::Relaxed)
    }

    #[tokio::test]
    async fn ticks_follow_sim_time_and_skip_missed_ones() {
        let clock = Clock::sim();
        clock.set_sim_time(ms(1000));
        // 2 s of sim time in 10 ms steps: 20 ticks.
        assert_eq!(count_ticks(&clock, 1000, 10, 200).await, 20);
        // 2 s in 500 ms steps: one tick per step, the missed ones skipped.
        assert_eq!(count_ticks(&clock, 3000, 500, 4).await, 4);
    }

    #[tokio::test]
    async fn paused_clock_fires_nothing_and_jump_back_restarts() {
        let clock = Clock::sim();
        clock.set_sim_time(ms(5000));
        let mut timer = Timer::new(clock.clone(), Duration::from_millis(100)).expect("timer");
        let waiting = tokio::time::timeout(Duration::from_millis(100), timer.tick()).await;
        assert!(waiting.is_err(), "a paused clock fired a tick");
        // Loop back to 0: next tick 100 ms after the new time, no burst.
        let ticker = tokio::spawn(async move {
            let at = timer.tick().await;
            (at, timer.fired(), timer.skipped())
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        clock.set_sim_time(ms(0));
        tokio::time::sleep(Duration::from_millis(20)).await;
        clock.set_sim_time(ms(50));
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            !ticker.is_finished(),
            "fired before one period after the jump"
        );
        clock.set_sim_time(ms(100));
        let (at, fired, skipped) = ticker.await.expect("ticker");
        assert_eq!((at, fired, skipped), (ms(100), 1, 0));
    }

    #[test]
    fn bad_periods_and_rates_are_refused() {
        assert!(Timer::new(Clock::steady(), Duration::ZERO).is_err());
        for hz in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(Rate::new(Clock::steady(), hz).is_err(), "{hz}");
        }
        assert_eq!(
            Rate::new(Clock::steady(), 10.0).expect("rate").period(),
            Duration::from_millis(100)
        );
    }
}
