//! The two sides of a filter: [`Filter`] (what it emits) and [`Input`] (what it is fed),
//! and [`connect_input`], which joins one filter's output to another's input.

use std::sync::Arc;

use super::signal::{Connection, Signal};

/// The output side of a filter: a [`Signal`] that callbacks and other filters connect to.
pub trait Filter<M>: Send + Sync {
    /// The signal this filter emits its output through.
    fn signal(&self) -> &Signal<M>;

    /// Connects `f` to this filter's output; dropping the returned [`Connection`] disconnects it.
    fn connect<F>(&self, f: F) -> Connection
    where
        Self: Sized,
        F: Fn(&Arc<M>) + Send + Sync + 'static,
        M: 'static,
    {
        self.signal().connect(f)
    }
}

/// The input side of a filter: messages are fed in with [`add`](Input::add).
pub trait Input<M>: Send + Sync {
    /// Feeds one message into the filter.
    fn add(&self, msg: Arc<M>);
}

/// Forwards everything `source` emits into `target.add`, until the returned connection is dropped.
///
/// The connection holds `target` strongly: the target lives at least as long as the
/// connection, so `connect_input(&source, &Arc::new(Cache::new(10)))` keeps the cache alive.
/// Messages are passed on as the same `Arc`, never copied.
pub fn connect_input<M, S, T>(source: &S, target: &Arc<T>) -> Connection
where
    S: Filter<M>,
    T: Input<M> + 'static,
    M: Send + Sync + 'static,
{
    let target = Arc::clone(target);
    source
        .signal()
        .connect(move |msg: &Arc<M>| target.add(Arc::clone(msg)))
}
