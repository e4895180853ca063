//! The inspector's input: stamps and receive times of 2 to 9 topics, in arrival order.

use std::fmt;

use crate::sync::policy::{ConfigError, MAX_CHANNELS, MIN_CHANNELS};

/// One message as the inspector sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observed {
    /// Index of its topic in [`Recording::topics`].
    pub channel: usize,
    /// Header stamp, ns.
    pub stamp: i64,
    /// Receive time (log time in a log, arrival time live), ns, when known.
    pub received: Option<i64>,
}

/// Messages of 2 to 9 topics, in the order they arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    topics: Vec<String>,
    messages: Vec<Observed>,
}

/// Why a recording cannot be inspected.
#[derive(Debug, Clone, PartialEq)]
pub enum InspectError {
    /// Not 2 to 9 topics.
    TopicCount(usize),
    /// A message on a topic index the recording does not have.
    UnknownChannel {
        /// The index given.
        channel: usize,
        /// The recording's topic count.
        topics: usize,
    },
    /// A topic without any message.
    NoMessages(String),
    /// A policy setting out of range.
    Config(ConfigError),
}

impl fmt::Display for InspectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InspectError::TopicCount(n) => write!(
                f,
                "give {MIN_CHANNELS} to {MAX_CHANNELS} topics to inspect, not {n}"
            ),
            InspectError::UnknownChannel { channel, topics } => {
                write!(f, "topic index {channel} does not exist (topics: {topics})")
            }
            InspectError::NoMessages(topic) => write!(f, "topic {topic} has no message"),
            InspectError::Config(e) => write!(f, "invalid synchronizer setting: {e}"),
        }
    }
}

impl std::error::Error for InspectError {}

impl From<ConfigError> for InspectError {
    fn from(e: ConfigError) -> Self {
        InspectError::Config(e)
    }
}

impl Recording {
    /// An empty recording of `topics` (2 to 9 names).
    pub fn new(topics: Vec<String>) -> Result<Self, InspectError> {
        if !(MIN_CHANNELS..=MAX_CHANNELS).contains(&topics.len()) {
            return Err(InspectError::TopicCount(topics.len()));
        }
        Ok(Recording {
            topics,
            messages: Vec::new(),
        })
    }

    /// Appends a message that arrived after every message pushed before.
    pub fn push(
        &mut self,
        channel: usize,
        stamp: i64,
        received: Option<i64>,
    ) -> Result<(), InspectError> {
        if channel >= self.topics.len() {
            return Err(InspectError::UnknownChannel {
                channel,
                topics: self.topics.len(),
            });
        }
        self.messages.push(Observed {
            channel,
            stamp,
            received,
        });
        Ok(())
    }

    /// The topic names, in channel order.
    pub fn topics(&self) -> &[String] {
        &self.topics
    }

    /// Every message, in arrival order.
    pub fn messages(&self) -> &[Observed] {
        &self.messages
    }

    /// The messages of one topic with their indices in [`Recording::messages`].
    pub fn on(&self, channel: usize) -> impl Iterator<Item = (usize, &Observed)> {
        self.messages
            .iter()
            .enumerate()
            .filter(move |(_, m)| m.channel == channel)
    }

    /// Fails naming the first topic without any message.
    pub fn check_every_topic_has_messages(&self) -> Result<(), InspectError> {
        let mut seen = vec![false; self.topics.len()];
        for m in &self.messages {
            seen[m.channel] = true;
        }
        match seen.iter().position(|s| !s) {
            Some(c) => Err(InspectError::NoMessages(self.topics[c].clone())),
            None => Ok(()),
        }
    }
}
