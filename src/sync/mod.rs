//! Message synchronizers: join 2 to 9 channels into one callback, by header stamp, with
//! ROS `message_filters` semantics.
//!
//! Policies: [`ExactTime`] and [`ApproximateTime`] (ports of ROS 1's C++ algorithms),
//! [`LatestTime`] and [`ApproximateEpsilonTime`] (as in ROS 2). [`Synchronizer`] is the typed
//! front for a tuple of message types; [`DynSynchronizer`] the one for a channel count known
//! only at run time. Both run the same pure policy core.
//!
//! A policy receives `(channel, stamp, payload)` one at a time through [`Policy::add`] and
//! appends to an [`Emitted`] the sets it forms (one payload per channel, in channel order)
//! and every message it gives up on ([`Dropped`], with a [`DropReason`]). Each message added
//! ends up exactly once in a set or a drop, or is still pending ([`Policy::pending`];
//! [`Policy::reset`] drops whatever is pending). Policies do no I/O and keep no clocks, so
//! the same call sequence always yields the same output.
//!
//! For every arrival order in which each channel's stamps increase, ExactTime's and
//! ApproximateTime's sets are identical to those of ROS 1 `message_filters` 1.15 (checked against golden vectors produced by the
//! C++ implementation, `tests/sync_golden/`). Stamps going backwards on a channel follow the
//! documented rule in [`policy`].
//!
//! [`PolicyConfig`] names a policy and its parameters and builds it for any channel count; the
//! command line and [`script`] build their policies through it. [`script`] parses the
//! plain-text sync-script timeline format and replays it.

pub mod approximate_epsilon_time;
pub mod approximate_time;
pub mod config;
pub mod exact_time;
pub mod inspect;
pub mod latest_time;
pub mod policy;
pub mod script;
pub mod synchronizer;

pub use approximate_epsilon_time::ApproximateEpsilonTime;
pub use approximate_time::ApproximateTime;
pub use config::PolicyConfig;
pub use exact_time::ExactTime;
pub use latest_time::{LatestTime, RateConfig};
pub use policy::{ConfigError, DropReason, Dropped, Emitted, Policy, DEFAULT_REWIND_RESET_NS};
pub use script::{
    build_policy, format_sets, parse_script, simulate, Script, ScriptError, ScriptErrorKind,
    ScriptMessage, ScriptPolicy,
};
pub use synchronizer::{
    Channel, ChannelMismatch, DropEvent, DynSynchronizer, EmissionDelays, MessageTuple, SyncMember,
    SyncStats, Synchronizer,
};
