//! [`Outbox`]: a filter's output, emitted in the order the filter produced it.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

/// A filter's output not yet emitted, emitted in order by one call at a time.
///
/// A filter pushes under its own lock, so the pushes follow its order, then calls
/// [`dispatch`](Self::dispatch) without that lock. One call emits at a time: a call made
/// meanwhile (from another thread, or from a callback that feeds the filter again) returns at
/// once, and the call already running emits its items after the earlier ones.
pub(crate) struct Outbox<T> {
    state: Mutex<State<T>>,
}

struct State<T> {
    items: VecDeque<T>,
    /// Whether some call is emitting.
    dispatching: bool,
}

impl<T> Outbox<T> {
    /// An empty outbox.
    pub(crate) fn new() -> Self {
        Self {
            state: Mutex::new(State {
                items: VecDeque::new(),
                dispatching: false,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        crate::lock::lock(&self.state)
    }

    /// Queues `item` behind the items not yet emitted.
    pub(crate) fn push(&self, item: T) {
        self.lock().items.push_back(item);
    }

    /// Emits every queued item with `emit`, oldest first, unless another call is emitting
    /// already (it emits them). No lock is held while `emit` runs.
    pub(crate) fn dispatch(&self, mut emit: impl FnMut(T)) {
        {
            let mut state = self.lock();
            if state.dispatching || state.items.is_empty() {
                return;
            }
            state.dispatching = true;
        }
        let mut guard = DispatchGuard {
            outbox: self,
            armed: true,
        };
        loop {
            let next = {
                let mut state = self.lock();
                let next = state.items.pop_front();
                if next.is_none() {
                    // Cleared under the same lock that saw the outbox empty, so nothing
                    // pushed afterwards is left without a dispatcher.
                    state.dispatching = false;
                    guard.armed = false;
                }
                next
            };
            match next {
                Some(item) => emit(item),
                None => break,
            }
        }
    }
}

/// Clears the dispatching flag if `emit` panics, so later output is not stuck.
struct DispatchGuard<'a, T> {
    outbox: &'a Outbox<T>,
    armed: bool,
}

impl<T> Drop for DispatchGuard<'_, T> {
    fn drop(&mut self) {
        if self.armed {
            self.outbox.lock().dispatching = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[test]
    fn a_call_from_inside_emit_is_emitted_after_the_earlier_items() {
        let outbox = Outbox::new();
        let seen = RefCell::new(Vec::new());
        outbox.push(1);
        outbox.push(2);
        outbox.dispatch(|item| {
            seen.borrow_mut().push(item);
            if item == 1 {
                outbox.push(3);
                outbox.dispatch(|_| panic!("a second dispatcher ran"));
            }
        });
        assert_eq!(*seen.borrow(), [1, 2, 3]);
    }

    #[test]
    fn a_panic_in_emit_leaves_the_rest_for_the_next_dispatch() {
        let outbox = Outbox::new();
        outbox.push(1);
        outbox.push(2);
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            outbox.dispatch(|_| panic!("callback failed"))
        }));
        assert!(panicked.is_err());
        let mut seen = Vec::new();
        outbox.dispatch(|item| seen.push(item));
        assert_eq!(seen, [2]);
    }
}
