//! [`RecordedTopic`]: one subscribed topic, shared by its subscriber callback, the writer thread
//! and the recorder, with its counters.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::options::TopicReport;
use crate::node::QosProfile;

/// One recorded topic: what is stored for it in every file, and its counters.
#[derive(Debug)]
pub(crate) struct RecordedTopic {
    /// The topic name.
    pub name: String,
    /// Its type (`pkg/msg/Type`).
    pub type_name: String,
    /// Its REP-2016 type hash.
    pub type_hash: String,
    /// Its full `ros2msg` definition.
    pub definition: &'static str,
    /// The QoS profiles its publishers offered (one per distinct profile).
    pub qos: Vec<QosProfile>,
    /// Messages that reached the subscriber.
    pub received: AtomicU64,
    /// Messages written to the bag.
    pub written: AtomicU64,
    /// Dropped because the buffer to the writer was full (in messages or bytes).
    pub dropped_buffer_full: AtomicU64,
    /// Never arrived: gaps in the publishers' sequence numbers, as last read.
    pub lost: AtomicU64,
}

impl RecordedTopic {
    /// A topic with zeroed counters.
    pub fn new(
        name: &str,
        type_name: &str,
        type_hash: &str,
        definition: &'static str,
        qos: Vec<QosProfile>,
    ) -> Self {
        Self {
            name: name.to_string(),
            type_name: type_name.to_string(),
            type_hash: type_hash.to_string(),
            definition,
            qos,
            received: AtomicU64::new(0),
            written: AtomicU64::new(0),
            dropped_buffer_full: AtomicU64::new(0),
            lost: AtomicU64::new(0),
        }
    }

    /// The counters so far.
    pub fn report(&self) -> TopicReport {
        TopicReport {
            topic: self.name.clone(),
            type_name: self.type_name.clone(),
            received: self.received.load(Ordering::Relaxed),
            written: self.written.load(Ordering::Relaxed),
            dropped_buffer_full: self.dropped_buffer_full.load(Ordering::Relaxed),
            lost: self.lost.load(Ordering::Relaxed),
        }
    }
}

/// The recorded topics in discovery order; the writer registers new ones in every file.
pub(crate) type Topics = Arc<Mutex<Vec<Arc<RecordedTopic>>>>;
