//! [`TransformListener`]: fills a [`Buffer`] from `/tf` and `/tf_static`, as tf2_ros's.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::qos::{dynamic_qos, static_listener_qos, TF_STATIC_TOPIC, TF_TOPIC};
use super::Buffer;
use crate::error::Result;
use crate::lock::lock;
use crate::msg::tf2_msgs::TFMessage;
use crate::node::{Clock, MessageInfo, Node, Subscriber, SubscriberStats};

/// How often the listener looks for a backwards jump of the node's clock between messages.
const JUMP_CHECK_PERIOD: Duration = Duration::from_millis(100);

/// What a [`TransformListener`] received and stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListenerStats {
    /// `TFMessage`s received on `/tf` and `/tf_static`.
    pub messages: u64,
    /// Transforms stored in the buffer.
    pub stored: u64,
    /// Transforms the buffer refused (repeated or too old stamps, NaN, bad quaternions, ...).
    pub refused: u64,
    /// Why the last refused transform was refused.
    pub last_refusal: Option<String>,
    /// Times the node's clock jumped back and the buffer was cleared.
    pub clears: u64,
    /// The `/tf` subscription's counters.
    pub tf: SubscriberStats,
    /// The `/tf_static` subscription's counters.
    pub tf_static: SubscriberStats,
}

#[derive(Default)]
struct Counters {
    messages: AtomicU64,
    stored: AtomicU64,
    refused: AtomicU64,
    clears: AtomicU64,
    last_refusal: Mutex<Option<String>>,
}

/// Subscribes to `/tf` (reliable, volatile, keep last 100) and `/tf_static` (reliable,
/// transient local, keep last 100: a late listener still gets every static transform) and
/// stores every transform received in a [`Buffer`], as tf2_ros's `TransformListener`.
///
/// Each transform's authority is its publisher's GID as `ros2 topic info -v` prints it
/// (`rosync tf frames` shows the node's name instead), or `unknown` for a sample without
/// rmw_zenoh's attachment. When the node's clock jumps back (sim time from a log played in
/// a loop), the buffer is cleared, static transforms excepted, as tf2_ros's buffer does on
/// a time jump; [`stats`](Self::stats) counts it. Dropping the listener unsubscribes.
pub struct TransformListener {
    buffer: Buffer,
    tf: Arc<Subscriber<TFMessage>>,
    tf_static: Arc<Subscriber<TFMessage>>,
    counters: Arc<Counters>,
    task: tokio::task::JoinHandle<()>,
}

impl TransformListener {
    /// Starts filling `buffer` (a clone shares it) from `node`'s `/tf` and `/tf_static`.
    ///
    /// Must be called inside a tokio runtime.
    pub async fn new(node: &Node, buffer: Buffer) -> Result<Self> {
        let tf = Arc::new(
            node.subscriber::<TFMessage>(TF_TOPIC)
                .qos(dynamic_qos())
                .await?,
        );
        let tf_static = Arc::new(
            node.subscriber::<TFMessage>(TF_STATIC_TOPIC)
                .qos(static_listener_qos())
                .await?,
        );
        let counters = Arc::new(Counters::default());
        let task = tokio::spawn(listen(
            buffer.clone(),
            Arc::clone(&tf),
            Arc::clone(&tf_static),
            node.clock().clone(),
            Arc::clone(&counters),
        ));
        Ok(Self {
            buffer,
            tf,
            tf_static,
            counters,
            task,
        })
    }

    /// The buffer being filled.
    pub fn buffer(&self) -> &Buffer {
        &self.buffer
    }

    /// The counters so far.
    pub fn stats(&self) -> ListenerStats {
        let c = &self.counters;
        ListenerStats {
            messages: c.messages.load(Ordering::Relaxed),
            stored: c.stored.load(Ordering::Relaxed),
            refused: c.refused.load(Ordering::Relaxed),
            last_refusal: lock(&c.last_refusal).clone(),
            clears: c.clears.load(Ordering::Relaxed),
            tf: self.tf.stats(),
            tf_static: self.tf_static.stats(),
        }
    }
}

impl Drop for TransformListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for TransformListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransformListener")
            .field("buffer", &self.buffer)
            .field("stats", &self.stats())
            .finish()
    }
}

/// The authority of a received message: its publisher's GID, dotted hex.
fn authority(info: &MessageInfo) -> String {
    match &info.attachment {
        Some(a) => a
            .gid
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join("."),
        None => "unknown".into(),
    }
}

/// The listener's task: stores what arrives, and clears the buffer when the clock jumps back.
async fn listen(
    buffer: Buffer,
    tf: Arc<Subscriber<TFMessage>>,
    tf_static: Arc<Subscriber<TFMessage>>,
    clock: Clock,
    counters: Arc<Counters>,
) {
    let mut jumps = clock.jumps_back();
    let mut check = tokio::time::interval(JUMP_CHECK_PERIOD);
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut tf_open, mut static_open) = (true, true);
    while tf_open || static_open {
        let (received, is_static) = tokio::select! {
            msg = tf.recv_with_info(), if tf_open => (msg, false),
            msg = tf_static.recv_with_info(), if static_open => (msg, true),
            _ = check.tick() => {
                clear_on_jump(&buffer, &clock, &mut jumps, &counters);
                continue;
            }
        };
        let Some((msg, info)) = received else {
            match is_static {
                true => static_open = false,
                false => tf_open = false,
            }
            continue;
        };
        // A message stamped after a jump must not be refused as older than the old history.
        clear_on_jump(&buffer, &clock, &mut jumps, &counters);
        store(&buffer, &msg, &authority(&info), is_static, &counters);
    }
}

/// Clears the buffer if the clock jumped back since the last check.
fn clear_on_jump(buffer: &Buffer, clock: &Clock, seen: &mut u64, counters: &Counters) {
    let jumps = clock.jumps_back();
    if jumps != *seen {
        *seen = jumps;
        buffer.clear();
        counters.clears.fetch_add(1, Ordering::Relaxed);
        tracing::warn!("time jumped back (sim time restarted or looped): transform buffer cleared");
    }
}

/// Stores one message's transforms and counts them.
fn store(buffer: &Buffer, msg: &TFMessage, authority: &str, is_static: bool, counters: &Counters) {
    counters.messages.fetch_add(1, Ordering::Relaxed);
    let refused = buffer.set_transforms(&msg.transforms, authority, is_static);
    let stored = msg.transforms.len() - refused.len();
    counters.stored.fetch_add(stored as u64, Ordering::Relaxed);
    if let Some(last) = refused.last() {
        counters
            .refused
            .fetch_add(refused.len() as u64, Ordering::Relaxed);
        tracing::debug!(count = refused.len(), "transforms refused: {last}");
        *lock(&counters.last_refusal) = Some(last.to_string());
    }
}
