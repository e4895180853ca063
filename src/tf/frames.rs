//! [`FrameInfo`]: one frame of the tree as `tf frames` shows it.

use super::time_cache::FrameCache;
use crate::time::{Duration, Time};

/// A snapshot of one frame: its parent now, who sends it, and its history.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameInfo {
    /// The frame.
    pub frame: String,
    /// Its parent (in the newest sample).
    pub parent: String,
    /// Whether it is a static transform.
    pub is_static: bool,
    /// Who sent its last stored transform (the publishing node, for a listener).
    pub authority: Option<String>,
    /// The newest sample's stamp (0 for a static transform).
    pub most_recent: Time,
    /// The oldest sample's stamp (0 for a static transform).
    pub oldest: Time,
    /// How many samples it holds (1 for a static transform).
    pub samples: usize,
    /// The time from the oldest to the newest sample.
    pub buffer_length: Duration,
    /// Average samples per second over the history (none with fewer than two samples).
    pub average_rate: Option<f64>,
}

impl FrameInfo {
    pub(crate) fn new(
        frame: &str,
        parent: &str,
        authority: Option<&str>,
        cache: &FrameCache,
    ) -> Self {
        let (newest, oldest) = (cache.latest_stamp(), cache.oldest_stamp());
        let span = newest.saturating_sub(oldest);
        let samples = cache.len();
        let average_rate =
            (samples >= 2 && span > 0).then(|| (samples - 1) as f64 / (span as f64 * 1e-9));
        Self {
            frame: frame.to_owned(),
            parent: parent.to_owned(),
            is_static: cache.is_static(),
            authority: authority.map(str::to_owned),
            most_recent: Time::from_nanos(newest),
            oldest: Time::from_nanos(oldest),
            samples,
            buffer_length: Duration::from_nanos(span),
            average_rate,
        }
    }
}
