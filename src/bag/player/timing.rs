//! How the player's threads ask the kernel to wake them on time (Linux, with the
//! `precise-timing` feature, on by default; otherwise nothing changes). Both settings belong
//! to the calling thread, so only the player's own threads (started for one playback) call
//! [`wake_on_time`].
//!
//! - Timer slack cut to [`TIMER_SLACK`]: by default the kernel may wake a sleeping thread up to
//!   50 µs after the instant asked for (to batch wake-ups).
//! - A short time slice ([`SLICE`], Linux 6.12 and later; ignored before): under EEVDF a
//!   waking thread with a shorter slice than the running one preempts it, so on a loaded
//!   machine the player runs when its instant comes instead of after another task's slice
//!   (several milliseconds). It changes when the thread runs, not how much CPU it gets.

use std::time::Duration;

/// The timer slack asked for (the kernel's default is 50 µs).
#[cfg_attr(
    not(all(target_os = "linux", feature = "precise-timing")),
    allow(dead_code)
)]
pub(crate) const TIMER_SLACK: Duration = Duration::from_micros(1);
/// The time slice asked for (the kernel's smallest; the default is about 3 ms).
#[cfg_attr(
    not(all(target_os = "linux", feature = "precise-timing")),
    allow(dead_code)
)]
pub(crate) const SLICE: Duration = Duration::from_micros(100);

/// Tightens the calling thread's timer slack and shortens its time slice; failures are logged
/// at debug level (the thread then just wakes less precisely).
pub(crate) fn wake_on_time() {
    #[cfg(all(target_os = "linux", feature = "precise-timing"))]
    {
        tighten_timer_slack();
        shorten_slice();
    }
}

#[cfg(all(target_os = "linux", feature = "precise-timing"))]
fn tighten_timer_slack() {
    let slack = TIMER_SLACK.as_nanos() as libc::c_ulong;
    // SAFETY: PR_SET_TIMERSLACK takes a number and only changes the calling thread's slack.
    if unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, slack, 0, 0, 0) } != 0 {
        tracing::debug!(
            "cannot tighten the player's timer slack: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// Sets the slice of a normal (`SCHED_OTHER`) thread, keeping its nice value; a thread the
/// user made real-time, batch or idle is left alone.
#[cfg(all(target_os = "linux", feature = "precise-timing"))]
fn shorten_slice() {
    let size = std::mem::size_of::<libc::sched_attr>();
    // SAFETY: sched_attr is plain integers; all zeros is a valid value.
    let mut attr: libc::sched_attr = unsafe { std::mem::zeroed() };
    // SAFETY: the kernel writes at most `size` bytes into `attr`, which is that large; pid 0
    // is the calling thread.
    let got = unsafe {
        libc::syscall(
            libc::SYS_sched_getattr,
            0,
            &mut attr as *mut libc::sched_attr,
            size as libc::c_uint,
            0,
        )
    };
    if got != 0 {
        tracing::debug!(
            "cannot read the player's scheduling attributes: {}",
            std::io::Error::last_os_error()
        );
        return;
    }
    if attr.sched_policy != libc::SCHED_OTHER as u32 {
        return;
    }
    attr.size = size as u32;
    attr.sched_flags &= libc::SCHED_FLAG_RESET_ON_FORK as u64;
    attr.sched_runtime = SLICE.as_nanos() as u64;
    // SAFETY: `attr` is a filled sched_attr of the size it announces; pid 0 is this thread.
    let set = unsafe {
        libc::syscall(
            libc::SYS_sched_setattr,
            0,
            &attr as *const libc::sched_attr,
            0,
        )
    };
    if set != 0 {
        tracing::debug!(
            "cannot shorten the player's time slice: {}",
            std::io::Error::last_os_error()
        );
    }
}
