//! [`Window`]: which log times are played, from [`PlayOptions::start_offset`] and
//! [`PlayOptions::duration`].
//!
//! [`PlayOptions::start_offset`]: super::PlayOptions::start_offset
//! [`PlayOptions::duration`]: super::PlayOptions::duration

use std::time::Duration;

/// Where a log time falls relative to a [`Window`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    /// Before the start offset: skipped.
    Before,
    /// Inside: played.
    Inside,
    /// After the end of the duration: this and every later message end the pass.
    After,
}

/// The span of log time played (bounds included), in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    /// The first log time played: the log's start plus the start offset.
    pub start: u64,
    /// The last log time played, if a duration is given.
    pub end: Option<u64>,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Window {
    /// The window of a log starting at `log_start` (`None`: an empty log, taken as 0).
    pub fn new(log_start: Option<u64>, start_offset: Duration, duration: Option<Duration>) -> Self {
        let start = log_start.unwrap_or(0).saturating_add(nanos(start_offset));
        Self {
            start,
            end: duration.map(|d| start.saturating_add(nanos(d))),
        }
    }

    /// Where `log_time` falls.
    pub fn place(&self, log_time: u64) -> Placement {
        if log_time < self.start {
            Placement::Before
        } else if self.end.is_some_and(|end| log_time > end) {
            Placement::After
        } else {
            Placement::Inside
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn played(window: &Window, log_times: &[u64]) -> Vec<u64> {
        // As the reader thread does: skip before, stop at the first after.
        let mut out = Vec::new();
        for &t in log_times {
            match window.place(t) {
                Placement::Before => continue,
                Placement::Inside => out.push(t),
                Placement::After => break,
            }
        }
        out
    }

    #[test]
    fn start_offset_and_duration_select_log_times() {
        let times: Vec<u64> = (0..10).map(|i| 1_000 + i * 100).collect();
        let all = Window::new(Some(1_000), Duration::ZERO, None);
        assert_eq!(played(&all, &times), times);

        let offset = Window::new(Some(1_000), Duration::from_nanos(250), None);
        assert_eq!(offset.start, 1_250);
        assert_eq!(offset.end, None);
        assert_eq!(
            played(&offset, &times),
            vec![1_300, 1_400, 1_500, 1_600, 1_700, 1_800, 1_900]
        );

        // Both bounds included.
        let span = Window::new(
            Some(1_000),
            Duration::from_nanos(300),
            Some(Duration::from_nanos(200)),
        );
        assert_eq!(
            span,
            Window {
                start: 1_300,
                end: Some(1_500)
            }
        );
        assert_eq!(played(&span, &times), vec![1_300, 1_400, 1_500]);

        let nothing = Window::new(Some(1_000), Duration::from_secs(1), None);
        assert!(played(&nothing, &times).is_empty());
        let zero = Window::new(Some(1_000), Duration::ZERO, Some(Duration::ZERO));
        assert_eq!(played(&zero, &times), vec![1_000]);
    }

    #[test]
    fn windows_saturate() {
        let empty_log = Window::new(None, Duration::from_nanos(5), None);
        assert_eq!(empty_log.start, 5);
        let huge = Window::new(Some(u64::MAX - 1), Duration::MAX, Some(Duration::MAX));
        assert_eq!(
            huge,
            Window {
                start: u64::MAX,
                end: Some(u64::MAX)
            }
        );
        assert_eq!(huge.place(u64::MAX), Placement::Inside);
    }
}
