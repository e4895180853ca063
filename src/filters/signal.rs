//! [`Signal`], a thread-safe list of callbacks, and [`Connection`], the handle that removes one.
//!
//! Emitting never holds a lock while a callback runs: [`Signal::emit`] takes a snapshot of
//! the list (a reference count, not a copy) and calls each callback that is still connected,
//! in connection order. A callback may therefore connect, disconnect, emit into other
//! filters or add to the filter that called it.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

/// The type-erased callback a [`Signal`] stores.
type Callback<M> = Box<dyn Fn(&Arc<M>) + Send + Sync>;

/// One connected callback.
struct Slot<M> {
    id: u64,
    connected: AtomicBool,
    callback: Callback<M>,
}

/// The callbacks, replaced (copy on write) on every connect and disconnect.
type SlotList<M> = Arc<Vec<Arc<Slot<M>>>>;

struct Inner<M> {
    slots: Mutex<SlotList<M>>,
    next_id: AtomicU64,
}

impl<M> Inner<M> {
    /// Locks the list; a poisoned lock is still consistent (it is only ever swapped whole).
    fn lock(&self) -> MutexGuard<'_, SlotList<M>> {
        crate::lock::lock(&self.slots)
    }
}

/// What a [`Connection`] needs from its signal, without knowing the message type.
trait Disconnect: Send + Sync {
    /// Removes the callback `id`, if it is still connected.
    fn disconnect(&self, id: u64);
    /// Whether the callback `id` is still connected.
    fn is_connected(&self, id: u64) -> bool;
}

impl<M> Disconnect for Inner<M> {
    fn disconnect(&self, id: u64) {
        let old = {
            let mut slots = self.lock();
            let Some(pos) = slots.iter().position(|s| s.id == id) else {
                return;
            };
            slots[pos].connected.store(false, Ordering::Release);
            let mut remaining = Vec::with_capacity(slots.len() - 1);
            remaining.extend(
                slots
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != pos)
                    .map(|(_, s)| Arc::clone(s)),
            );
            std::mem::replace(&mut *slots, Arc::new(remaining))
        };
        // The removed callback (and whatever it captured) is dropped here, outside the lock,
        // so its destructor may touch this signal again.
        drop(old);
    }

    fn is_connected(&self, id: u64) -> bool {
        self.lock().iter().any(|s| s.id == id)
    }
}

/// A thread-safe list of callbacks, called in connection order by [`emit`](Signal::emit).
pub struct Signal<M> {
    inner: Arc<Inner<M>>,
}

impl<M> Signal<M> {
    /// Creates a signal with no callbacks.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                slots: Mutex::new(Arc::new(Vec::new())),
                next_id: AtomicU64::new(0),
            }),
        }
    }

    /// Connects `f`; it is called for every emitted message until the [`Connection`] is dropped.
    ///
    /// A callback connected while the signal is emitting is first called on the next emit.
    pub fn connect<F>(&self, f: F) -> Connection
    where
        F: Fn(&Arc<M>) + Send + Sync + 'static,
        M: 'static,
    {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let slot = Arc::new(Slot {
            id,
            connected: AtomicBool::new(true),
            callback: Box::new(f),
        });
        let old = {
            let mut slots = self.inner.lock();
            let mut grown = Vec::with_capacity(slots.len() + 1);
            grown.extend(slots.iter().cloned());
            grown.push(slot);
            std::mem::replace(&mut *slots, Arc::new(grown))
        };
        drop(old);
        let weak: Weak<Inner<M>> = Arc::downgrade(&self.inner);
        let weak: Weak<dyn Disconnect> = weak;
        Connection {
            link: Some((weak, id)),
        }
    }

    /// Calls every connected callback with `msg`, in connection order, holding no lock.
    ///
    /// A callback disconnected by an earlier callback of the same emit is not called.
    pub fn emit(&self, msg: &Arc<M>) {
        let snapshot = Arc::clone(&*self.inner.lock());
        for slot in snapshot.iter() {
            if slot.connected.load(Ordering::Acquire) {
                (slot.callback)(msg);
            }
        }
    }

    /// How many callbacks are connected.
    pub fn connection_count(&self) -> usize {
        self.inner.lock().len()
    }
}

impl<M> Default for Signal<M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M> fmt::Debug for Signal<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal")
            .field("connections", &self.connection_count())
            .finish()
    }
}

/// A connected callback; dropping it (or calling [`disconnect`](Connection::disconnect)) disconnects.
///
/// The connection refers to its signal weakly: it keeps nothing alive, and disconnecting
/// after the signal is gone does nothing. Disconnecting does not wait for a call that is
/// already running on another thread.
#[must_use = "dropping a Connection disconnects its callback; call forget() to keep it"]
pub struct Connection {
    link: Option<(Weak<dyn Disconnect>, u64)>,
}

impl Connection {
    /// Disconnects the callback now (the same as dropping the connection).
    pub fn disconnect(mut self) {
        self.disconnect_now();
    }

    /// Keeps the callback connected for as long as the signal lives, dropping only the handle.
    pub fn forget(mut self) {
        self.link = None;
    }

    /// Whether the callback is still connected (false once disconnected or the signal is gone).
    pub fn is_connected(&self) -> bool {
        match &self.link {
            Some((signal, id)) => signal.upgrade().is_some_and(|s| s.is_connected(*id)),
            None => false,
        }
    }

    fn disconnect_now(&mut self) {
        if let Some((signal, id)) = self.link.take() {
            if let Some(signal) = signal.upgrade() {
                signal.disconnect(id);
            }
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.disconnect_now();
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("connected", &self.is_connected())
            .finish()
    }
}
