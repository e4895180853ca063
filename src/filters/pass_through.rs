//! [`PassThrough`]: emits every message it is fed, unchanged.

use std::fmt;
use std::sync::Arc;

use super::signal::Signal;
use super::traits::{Filter, Input};

/// A filter that passes every message on unchanged; a fan-out point or a placeholder.
pub struct PassThrough<M> {
    signal: Signal<M>,
}

impl<M> PassThrough<M> {
    /// Creates a pass-through with nothing connected.
    pub fn new() -> Self {
        Self {
            signal: Signal::new(),
        }
    }
}

impl<M> Default for PassThrough<M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M> fmt::Debug for PassThrough<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PassThrough")
            .field("signal", &self.signal)
            .finish()
    }
}

impl<M> Input<M> for PassThrough<M> {
    fn add(&self, msg: Arc<M>) {
        self.signal.emit(&msg);
    }
}

impl<M> Filter<M> for PassThrough<M> {
    fn signal(&self) -> &Signal<M> {
        &self.signal
    }
}
