//! [`Chain`]: an ordered list of filters that acts as one filter.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use super::signal::{Connection, Signal};
use super::traits::{Filter, Input};

/// A filter with both sides, as a chain stores it.
trait Link<M>: Filter<M> + Input<M> {}

impl<M, T: Filter<M> + Input<M>> Link<M> for T {}

struct Links<M> {
    /// Filter `i`'s output to filter `i + 1`'s input (dropped, so disconnected, first).
    joints: Vec<Connection>,
    /// The last filter's output to the chain's own signal.
    output: Option<Connection>,
    /// The filters, in order, each held strongly by the chain.
    filters: Vec<Arc<dyn Link<M>>>,
}

struct Shared<M> {
    signal: Signal<M>,
    links: Mutex<Links<M>>,
}

impl<M> Shared<M> {
    /// Locks the links; no callback ever runs under this lock.
    fn lock(&self) -> MutexGuard<'_, Links<M>> {
        crate::lock::lock(&self.links)
    }
}

/// Filters connected in order: input goes into the first, output comes from the last.
///
/// With no filters, a chain passes messages straight through. The chain holds its filters
/// and the connections between them; dropping it disconnects them.
pub struct Chain<M> {
    shared: Arc<Shared<M>>,
}

impl<M: Send + Sync + 'static> Chain<M> {
    /// Creates an empty chain, which passes messages straight through.
    pub fn new() -> Self {
        Self {
            shared: Arc::new(Shared {
                signal: Signal::new(),
                links: Mutex::new(Links {
                    joints: Vec::new(),
                    output: None,
                    filters: Vec::new(),
                }),
            }),
        }
    }

    /// Appends `filter`: the previous last filter's output now feeds its input.
    pub fn add_filter<F>(&self, filter: Arc<F>)
    where
        F: Filter<M> + Input<M> + 'static,
    {
        // Only the chain's own signal is held weakly, so the chain and its last filter
        // do not keep each other alive.
        let weak: Weak<Shared<M>> = Arc::downgrade(&self.shared);
        let output = filter.signal().connect(move |msg: &Arc<M>| {
            if let Some(shared) = weak.upgrade() {
                shared.signal.emit(msg);
            }
        });
        let mut links = self.shared.lock();
        // Stop the old last filter's output first, so no message reaches the chain's signal
        // twice. Its callback captured only a weak reference, so dropping it under the lock
        // runs no other code.
        if let Some(old_output) = links.output.take() {
            old_output.disconnect();
        }
        if let Some(last) = links.filters.last() {
            let next = Arc::clone(&filter);
            let joint = last
                .signal()
                .connect(move |msg: &Arc<M>| next.add(Arc::clone(msg)));
            links.joints.push(joint);
        }
        links.filters.push(filter);
        links.output = Some(output);
    }
}

impl<M: Send + Sync + 'static> Default for Chain<M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M> fmt::Debug for Chain<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let filters = self.shared.lock().filters.len();
        f.debug_struct("Chain").field("filters", &filters).finish()
    }
}

impl<M: Send + Sync + 'static> Input<M> for Chain<M> {
    fn add(&self, msg: Arc<M>) {
        let first = self.shared.lock().filters.first().cloned();
        match first {
            Some(first) => first.add(msg),
            None => self.shared.signal.emit(&msg),
        }
    }
}

impl<M: Send + Sync + 'static> Filter<M> for Chain<M> {
    fn signal(&self) -> &Signal<M> {
        &self.shared.signal
    }
}
