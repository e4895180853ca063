//! [`PlayOptions`]: what to play and how, and their validation.

use std::time::Duration;

use super::PlayError;
use crate::bag::selection::names_topic;
use crate::bag::TopicSelection;

/// What to play and how; [`Default`] plays everything once at the recorded speed.
#[derive(Debug, Clone)]
pub struct PlayOptions {
    /// Speed factor (1.0: as recorded; 2.0: twice as fast); 0 publishes as fast as possible.
    pub rate: f64,
    /// Start again from the beginning after the end, until stopped.
    pub loop_playback: bool,
    /// Skip the messages logged in the first `start_offset` of the log.
    pub start_offset: Duration,
    /// Play only this much log time (from the start offset).
    pub duration: Option<Duration>,
    /// The recorded topics to play (default: all).
    pub selection: TopicSelection,
    /// Publish a recorded topic (first) under another name (second).
    pub remaps: Vec<(String, String)>,
    /// Publish `rosgraph_msgs/msg/Clock` on `/clock` at this many Hz (wall time).
    pub clock_hz: Option<f64>,
    /// Start paused; [`PlayerControl::resume`] or [`PlayerControl::step`] go on.
    ///
    /// [`PlayerControl::resume`]: super::PlayerControl::resume
    /// [`PlayerControl::step`]: super::PlayerControl::step
    pub start_paused: bool,
    /// Before the first message, wait up to this long for every topic to have a subscriber
    /// (zero: start at once). Declarations take a moment to reach other processes.
    pub wait_for_subscribers: Duration,
}

impl Default for PlayOptions {
    fn default() -> Self {
        Self {
            rate: 1.0,
            loop_playback: false,
            start_offset: Duration::ZERO,
            duration: None,
            selection: TopicSelection::all(),
            remaps: Vec::new(),
            clock_hz: None,
            start_paused: false,
            wait_for_subscribers: Duration::ZERO,
        }
    }
}

impl PlayOptions {
    /// The name a recorded topic is published under.
    pub fn remapped(&self, topic: &str) -> String {
        self.remaps
            .iter()
            .find(|(from, _)| names_topic(from, topic))
            .map_or_else(|| topic.to_string(), |(_, to)| to.clone())
    }

    /// Checks the ranges of the rate and the clock rate.
    pub(crate) fn validate(&self) -> Result<(), PlayError> {
        if !(self.rate.is_finite() && self.rate >= 0.0) {
            return Err(PlayError::InvalidOption(format!(
                "the rate must be a finite number >= 0 (0: as fast as possible), not {}",
                self.rate
            )));
        }
        if let Some(hz) = self.clock_hz {
            if !(hz.is_finite() && hz > 0.0) {
                return Err(PlayError::InvalidOption(format!(
                    "the clock rate must be a positive number of Hz, not {hz}"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remapping_and_default_selection() {
        let options = PlayOptions {
            remaps: vec![("chatter".into(), "/talk".into())],
            ..Default::default()
        };
        assert_eq!(options.remapped("/chatter"), "/talk");
        assert_eq!(options.remapped("/camera/image"), "/camera/image");
        assert!(PlayOptions::default().selection.selects("/x"));
    }

    #[test]
    fn rates_are_validated() {
        assert!(PlayOptions::default().validate().is_ok());
        for rate in [-1.0, f64::NAN, f64::INFINITY] {
            let options = PlayOptions {
                rate,
                ..Default::default()
            };
            assert!(options.validate().is_err(), "rate {rate}");
        }
        let fast = PlayOptions {
            rate: 0.0,
            ..Default::default()
        };
        assert!(fast.validate().is_ok());
        for hz in [0.0, -5.0, f64::NAN] {
            let options = PlayOptions {
                clock_hz: Some(hz),
                ..Default::default()
            };
            assert!(options.validate().is_err(), "clock {hz}");
        }
    }
}
