//! Synchronizers: a policy behind a thread-safe front that calls back with each set and drop.
//!
//! [`DynSynchronizer<M>`] takes `(channel, stamp, message)` for a channel count known at run
//! time; [`Synchronizer<T>`] is the typed front for a tuple of 2 to 9 message types, whose
//! callback receives a tuple of `Arc`s (messages are shared, never deep-copied). Both run the
//! same pure [`Policy`] core, so a synchronizer fed from live topics, from a log on disk or
//! from a script forms the same sets.
//!
//! A synchronizer built `with_clock` reads that clock when a message is added and gives the
//! policy this arrival time ([`Policy::add_at`]): LatestTime estimates rates from it, as ROS 2
//! does from the node clock. Give it the node's clock ([`Node::clock`](crate::node::Node::clock))
//! so a `use_sim_time` node follows `/clock`. Without a clock, arrival times are the stamps,
//! so sets depend only on the messages (replayable offline).
//!
//! Callbacks run outside every lock: a callback may publish, add more messages to the same
//! synchronizer, or connect filters without deadlocking. Sets and drops are delivered in the
//! order the policy produced them, even when several threads add at once (whichever thread
//! finds no delivery in progress delivers everything queued).

use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use super::policy::{DropReason, Dropped, Emitted, Policy};
use crate::filters::{Connection, Filter};
use crate::lock::lock;
use crate::msg::Stamped;
use crate::node::Clock;

/// A message the synchronizer gave up on: which channel, which stamp, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DropEvent {
    /// The channel it was added on.
    pub channel: usize,
    /// Its stamp in nanoseconds.
    pub stamp: i64,
    /// Why it was dropped.
    pub reason: DropReason,
}

/// Counters of a synchronizer since it was created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncStats {
    /// Sets emitted.
    pub sets: u64,
    /// Messages added, per channel.
    pub received: Vec<u64>,
    /// Messages dropped, per (channel, reason).
    pub dropped: HashMap<(usize, DropReason), u64>,
    /// Messages currently held by the policy.
    pub pending: usize,
    /// Times a stamp jumped back (a looped log, a restarted sensor) and the policy reset.
    pub time_jumps: u64,
    /// How long sets waited on the synchronizer's clock: from the arrival of a set's newest
    /// member to the set going out (typed synchronizers built `with_clock`; empty otherwise).
    pub emission_delays: EmissionDelays,
}

/// Emission delays of a synchronizer's sets, in nanoseconds of its clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EmissionDelays {
    /// Sets measured.
    pub count: u64,
    /// The shortest delay.
    pub min_ns: i64,
    /// The longest delay.
    pub max_ns: i64,
    /// The sum of all delays (for the mean).
    pub sum_ns: i128,
}

impl EmissionDelays {
    /// Adds one set's delay.
    pub fn record(&mut self, delay_ns: i64) {
        if self.count == 0 {
            (self.min_ns, self.max_ns) = (delay_ns, delay_ns);
        } else {
            self.min_ns = self.min_ns.min(delay_ns);
            self.max_ns = self.max_ns.max(delay_ns);
        }
        self.count += 1;
        self.sum_ns += i128::from(delay_ns);
    }

    /// The mean delay, or `None` before the first set.
    pub fn mean_ns(&self) -> Option<i64> {
        let mean = self.sum_ns.checked_div(i128::from(self.count))?;
        Some(i64::try_from(mean).unwrap_or(i64::MAX))
    }
}

impl SyncStats {
    /// Messages dropped on `channel`, all reasons together.
    pub fn dropped_on(&self, channel: usize) -> u64 {
        self.dropped
            .iter()
            .filter(|((c, _), _)| *c == channel)
            .map(|(_, n)| n)
            .sum()
    }

    /// Messages dropped in total.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.values().sum()
    }

    /// The drop counters sorted by channel then reason, for printing.
    pub fn dropped_sorted(&self) -> Vec<(usize, DropReason, u64)> {
        let mut rows: Vec<_> = self.dropped.iter().map(|(&(c, r), &n)| (c, r, n)).collect();
        rows.sort_by_key(|&(c, r, _)| (c, r.as_str()));
        rows
    }
}

type SetCallback<M> = Arc<dyn Fn(&[M]) + Send + Sync>;
type DropCallback = Arc<dyn Fn(&DropEvent) + Send + Sync>;

enum Output<M> {
    Set(Vec<M>),
    Drop(DropEvent),
}

struct State<M> {
    policy: Box<dyn Policy<M> + Send>,
    scratch: Emitted<M>,
    stats: SyncStats,
    queue: VecDeque<Output<M>>,
    delivering: bool,
}

struct Core<M> {
    state: Mutex<State<M>>,
    /// Read at each `add` for the arrival time (`None`: the stamp is the arrival time).
    clock: Option<Clock>,
    /// Reads a held message's arrival time, to measure emission delays (with a clock).
    arrival_of: Option<fn(&M) -> i64>,
    on_set: Mutex<Vec<SetCallback<M>>>,
    on_drop: Mutex<Vec<DropCallback>>,
}

/// A synchronizer over `M` payloads with a channel count known at run time.
pub struct DynSynchronizer<M> {
    core: Arc<Core<M>>,
}

impl<M> Clone for DynSynchronizer<M> {
    fn clone(&self) -> Self {
        Self {
            core: Arc::clone(&self.core),
        }
    }
}

impl<M: Send + 'static> DynSynchronizer<M> {
    /// A synchronizer running `policy` (ExactTime, ApproximateTime, ...).
    pub fn new(policy: impl Policy<M> + Send + 'static) -> Self {
        Self::from_boxed(Box::new(policy))
    }

    /// A synchronizer running `policy` with arrival times read from `clock` at each
    /// [`add`](Self::add) (see the module documentation).
    pub fn with_clock(policy: impl Policy<M> + Send + 'static, clock: Clock) -> Self {
        Self::build(Box::new(policy), Some(clock), None)
    }

    /// The same for a boxed policy.
    pub fn from_boxed(policy: Box<dyn Policy<M> + Send>) -> Self {
        Self::build(policy, None, None)
    }

    /// The same for a boxed policy, with arrival times read from `clock`.
    pub fn from_boxed_with_clock(policy: Box<dyn Policy<M> + Send>, clock: Clock) -> Self {
        Self::build(policy, Some(clock), None)
    }

    /// `arrival_of` reads a held message's arrival time, so that sets' emission delays are
    /// measured on `clock`.
    fn build(
        policy: Box<dyn Policy<M> + Send>,
        clock: Option<Clock>,
        arrival_of: Option<fn(&M) -> i64>,
    ) -> Self {
        let channels = policy.channels();
        Self {
            core: Arc::new(Core {
                state: Mutex::new(State {
                    policy,
                    scratch: Emitted::new(),
                    stats: SyncStats {
                        received: vec![0; channels],
                        ..SyncStats::default()
                    },
                    queue: VecDeque::new(),
                    delivering: false,
                }),
                clock,
                arrival_of,
                on_set: Mutex::new(Vec::new()),
                on_drop: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        lock(&self.core.state).policy.channels()
    }

    /// Calls `f` with every set, one message per channel in channel order.
    pub fn register_callback(&self, f: impl Fn(&[M]) + Send + Sync + 'static) {
        lock(&self.core.on_set).push(Arc::new(f));
    }

    /// Calls `f` with every dropped message.
    pub fn on_drop(&self, f: impl Fn(&DropEvent) + Send + Sync + 'static) {
        lock(&self.core.on_drop).push(Arc::new(f));
    }

    /// Adds a message with its stamp (ns) on `channel`; sets and drops it causes are delivered
    /// before this returns, unless another thread is delivering (then that thread does). The
    /// arrival time is the synchronizer's clock now, or the stamp without a clock.
    pub fn add(&self, channel: usize, stamp: i64, msg: M) {
        let arrival_ns = self.core.clock.as_ref().map_or(stamp, Clock::now_nanos);
        self.add_at(channel, stamp, arrival_ns, msg);
    }

    /// Adds a message that arrived at `arrival_ns` (for logs, whose log time is the arrival
    /// time; see [`Policy::add_at`]).
    pub fn add_at(&self, channel: usize, stamp: i64, arrival_ns: i64, msg: M) {
        {
            let mut state = lock(&self.core.state);
            let state = &mut *state;
            if let Some(count) = state.stats.received.get_mut(channel) {
                *count += 1;
            }
            let jumps = state.policy.time_jumps();
            state
                .policy
                .add_at(channel, stamp, arrival_ns, msg, &mut state.scratch);
            if state.policy.time_jumps() > jumps {
                state.stats.time_jumps += 1;
                let dropped = state
                    .scratch
                    .drops
                    .iter()
                    .filter(|d| d.reason == DropReason::TimeJumpedBack)
                    .count();
                tracing::warn!(
                    channel,
                    stamp,
                    dropped,
                    "stamp jumped back in time (looped log or restarted sensor): synchronizer reset"
                );
            }
            self.collect(state);
        }
        self.deliver();
    }

    /// Drops everything the policy holds (reason `Reset`).
    pub fn reset(&self) {
        {
            let mut state = lock(&self.core.state);
            let state = &mut *state;
            state.policy.reset(&mut state.scratch);
            self.collect(state);
        }
        self.deliver();
    }

    /// The clock arrival times are read from, if any.
    pub fn clock(&self) -> Option<&Clock> {
        self.core.clock.as_ref()
    }

    /// The counters so far.
    pub fn stats(&self) -> SyncStats {
        let state = lock(&self.core.state);
        let mut stats = state.stats.clone();
        stats.pending = state.policy.pending();
        stats
    }

    /// Moves the policy's fresh output into the delivery queue and counts it (with the
    /// emission delay of each set when measured).
    fn collect(&self, state: &mut State<M>) {
        for Dropped {
            channel,
            stamp,
            reason,
            ..
        } in state.scratch.drops.drain(..)
        {
            *state.stats.dropped.entry((channel, reason)).or_insert(0) += 1;
            state.queue.push_back(Output::Drop(DropEvent {
                channel,
                stamp,
                reason,
            }));
        }
        let measure = match (&self.core.clock, self.core.arrival_of) {
            (Some(clock), Some(arrival_of)) if !state.scratch.sets.is_empty() => {
                Some((clock.now_nanos(), arrival_of))
            }
            _ => None,
        };
        for set in state.scratch.sets.drain(..) {
            state.stats.sets += 1;
            if let Some((now, arrival_of)) = measure {
                if let Some(newest) = set.iter().map(arrival_of).max() {
                    state
                        .stats
                        .emission_delays
                        .record(now.saturating_sub(newest));
                }
            }
            state.queue.push_back(Output::Set(set));
        }
    }

    /// Delivers queued output unless another call is already delivering.
    fn deliver(&self) {
        {
            let mut state = lock(&self.core.state);
            if state.delivering {
                return;
            }
            state.delivering = true;
        }
        loop {
            let next = {
                let mut state = lock(&self.core.state);
                match state.queue.pop_front() {
                    Some(output) => output,
                    None => {
                        state.delivering = false;
                        return;
                    }
                }
            };
            match next {
                Output::Set(set) => {
                    let callbacks = lock(&self.core.on_set).clone();
                    for callback in callbacks {
                        callback(&set);
                    }
                }
                Output::Drop(event) => {
                    let callbacks = lock(&self.core.on_drop).clone();
                    for callback in callbacks {
                        callback(&event);
                    }
                }
            }
        }
    }
}

/// A message inside a typed [`Synchronizer`] (what its policy holds): the message, type
/// erased, and when it arrived on the synchronizer's clock (its stamp without a clock).
#[derive(Clone)]
pub struct SyncMember {
    arrival_ns: i64,
    msg: Arc<dyn Any + Send + Sync>,
}

impl SyncMember {
    /// When the message arrived, in nanoseconds of the synchronizer's clock.
    pub fn arrival_ns(&self) -> i64 {
        self.arrival_ns
    }

    /// The message as `T`, if it is one.
    pub fn downcast<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        Arc::clone(&self.msg).downcast::<T>().ok()
    }
}

impl std::fmt::Debug for SyncMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncMember")
            .field("arrival_ns", &self.arrival_ns)
            .finish_non_exhaustive()
    }
}

/// What a typed synchronizer's policy holds.
type Erased = SyncMember;

/// A tuple of 2 to 9 message types a [`Synchronizer`] joins; implemented for tuples.
pub trait MessageTuple: Send + Sync + 'static {
    /// Number of channels.
    const CHANNELS: usize;
    /// The tuple of shared messages a callback receives: `(Arc<A>, Arc<B>, ...)`.
    type Set: Send + 'static;
    /// Rebuilds the typed set from erased messages in channel order.
    #[doc(hidden)]
    fn typed_set(set: &[Erased]) -> Option<Self::Set>;
}

/// Channel `I` of a tuple: its message type.
pub trait Channel<const I: usize>: MessageTuple {
    /// The message type on channel `I`.
    type Msg: Stamped + Send + Sync + 'static;
}

/// A synchronizer joining one message of each type in `T` (a tuple of 2 to 9 types).
///
/// ```
/// use std::sync::Arc;
/// use rosync::msg::sensor_msgs::{CameraInfo, Image};
/// use rosync::sync::{ApproximateTime, Synchronizer};
///
/// let sync = Synchronizer::<(Image, CameraInfo)>::new(ApproximateTime::new(2, 10)?)?;
/// sync.register_callback(|(image, info): (Arc<Image>, Arc<CameraInfo>)| {
///     println!("{}x{} with {}", image.width, image.height, info.distortion_model);
/// });
/// sync.add::<0>(Arc::new(Image::default()));
/// sync.add::<1>(Arc::new(CameraInfo::default()));
/// assert_eq!(sync.stats().sets, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Synchronizer<T: MessageTuple> {
    inner: DynSynchronizer<Erased>,
    _types: PhantomData<fn(T)>,
}

impl<T: MessageTuple> Clone for Synchronizer<T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            _types: PhantomData,
        }
    }
}

/// The policy's channel count differs from the tuple's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the policy has {policy} channels but the synchronizer's message tuple has {tuple}")]
pub struct ChannelMismatch {
    /// Channels of the policy.
    pub policy: usize,
    /// Types in the tuple.
    pub tuple: usize,
}

impl<T: MessageTuple> Synchronizer<T> {
    /// A synchronizer running `policy`, which must have `T::CHANNELS` channels.
    pub fn new(policy: impl Policy<Erased> + Send + 'static) -> Result<Self, ChannelMismatch> {
        Self::build(Box::new(policy), None)
    }

    /// A synchronizer running `policy` with arrival times read from `clock` (such as
    /// `node.clock().clone()`) when each message is added.
    pub fn with_clock(
        policy: impl Policy<Erased> + Send + 'static,
        clock: Clock,
    ) -> Result<Self, ChannelMismatch> {
        Self::build(Box::new(policy), Some(clock))
    }

    fn build(
        policy: Box<dyn Policy<Erased> + Send>,
        clock: Option<Clock>,
    ) -> Result<Self, ChannelMismatch> {
        if policy.channels() != T::CHANNELS {
            return Err(ChannelMismatch {
                policy: policy.channels(),
                tuple: T::CHANNELS,
            });
        }
        Ok(Self {
            inner: DynSynchronizer::build(policy, clock, Some(SyncMember::arrival_ns)),
            _types: PhantomData,
        })
    }

    /// Calls `f` with every set, as a tuple of shared messages.
    pub fn register_callback(&self, f: impl Fn(T::Set) + Send + Sync + 'static) {
        self.inner
            .register_callback(move |set| match T::typed_set(set) {
                Some(typed) => f(typed),
                None => tracing::error!("synchronizer set did not match its types"),
            });
    }

    /// Calls `f` with every dropped message.
    pub fn on_drop(&self, f: impl Fn(&DropEvent) + Send + Sync + 'static) {
        self.inner.on_drop(f);
    }

    /// Adds a message on channel `I`, stamped by its header, arriving now on the
    /// synchronizer's clock (at its stamp without a clock).
    pub fn add<const I: usize>(&self, msg: Arc<<T as Channel<I>>::Msg>)
    where
        T: Channel<I>,
    {
        let stamp = msg.stamp().as_nanos();
        let arrival_ns = self
            .inner
            .core
            .clock
            .as_ref()
            .map_or(stamp, Clock::now_nanos);
        self.inner
            .add_at(I, stamp, arrival_ns, SyncMember { arrival_ns, msg });
    }

    /// Feeds channel `I` from a filter (a subscriber filter, a cache, a chain, ...).
    pub fn connect_input<const I: usize, F>(&self, filter: &F) -> Connection
    where
        T: Channel<I>,
        F: Filter<<T as Channel<I>>::Msg>,
    {
        let sync = self.clone();
        filter.connect(move |msg| sync.add::<I>(Arc::clone(msg)))
    }

    /// Drops everything the policy holds (reason `Reset`).
    pub fn reset(&self) {
        self.inner.reset();
    }

    /// The counters so far.
    pub fn stats(&self) -> SyncStats {
        self.inner.stats()
    }
}

macro_rules! impl_tuple {
    ($n:expr; $($idx:tt $ty:ident),+) => {
        impl<$($ty),+> MessageTuple for ($($ty,)+)
        where
            $($ty: Stamped + Send + Sync + 'static),+
        {
            const CHANNELS: usize = $n;
            type Set = ($(Arc<$ty>,)+);

            fn typed_set(set: &[Erased]) -> Option<Self::Set> {
                if set.len() != $n {
                    return None;
                }
                Some(($(set[$idx].downcast::<$ty>()?,)+))
            }
        }
        impl_tuple!(@channels ($($ty),+); $($idx $ty),+);
    };
    (@channels $all:tt; $($idx:tt $ty:ident),+) => {
        $( impl_tuple!(@channel $all; $idx $ty); )+
    };
    (@channel ($($all:ident),+); $idx:tt $ty:ident) => {
        impl<$($all),+> Channel<$idx> for ($($all,)+)
        where
            $($all: Stamped + Send + Sync + 'static),+
        {
            type Msg = $ty;
        }
    };
}

impl_tuple!(2; 0 A, 1 B);
impl_tuple!(3; 0 A, 1 B, 2 C);
impl_tuple!(4; 0 A, 1 B, 2 C, 3 D);
impl_tuple!(5; 0 A, 1 B, 2 C, 3 D, 4 E);
impl_tuple!(6; 0 A, 1 B, 2 C, 3 D, 4 E, 5 F);
impl_tuple!(7; 0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G);
impl_tuple!(8; 0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H);
impl_tuple!(9; 0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I);
