//! Property tests of the synchronizer policies over generated timelines.
//!
//! A timeline is 2..=9 channels, each a jittered periodic stream (its own period, phase and
//! per-message jitter below half a period, so stamps strictly increase) with random gaps
//! (dropped messages). Arrival orders interleave the channels arbitrarily or by per-channel
//! latency, always keeping each channel's own order. Payloads are `(channel, index)` ids.
//!
//! Checked:
//!
//! * ApproximateTime, ExactTime, ApproximateEpsilonTime, LatestTime: one message per channel
//!   per set, no message used twice (LatestTime repeats held messages by design, so there a
//!   message may be in several sets but never in a set and a drop), every message ends in
//!   exactly one of set / drop / pending, consecutive sets increase on every channel.
//! * ApproximateTime with a max interval and ApproximateEpsilonTime: every set's span is
//!   within the bound.
//! * ApproximateTime: sets do not depend on the cross-channel interleaving when no queue
//!   overflows. This holds, with one precision (see `approx_sets_independent_of_interleaving`):
//!   the *last* sets may still be undecided in one order and already emitted in another, so
//!   without further input the set lists agree as prefixes; after a common far-future flush
//!   message on every channel, sets and drops are identical.
//! * ApproximateTime: correct inter-message lower bounds only make sets come out earlier; with
//!   no queue overflow the sets are the same (again: prefix before a flush, equal after).
//! * ExactTime (no overflow): the sets are exactly the stamps present on every channel,
//!   whatever the interleaving.
//! * ApproximateEpsilonTime (no overflow): sets and drops do not depend on the interleaving.

use std::collections::HashSet;

use proptest::prelude::*;
use rosync::sync::{
    ApproximateEpsilonTime, ApproximateTime, DropReason, Emitted, ExactTime, LatestTime, Policy,
};

/// A message id: channel and index of the message within its channel.
type Id = (usize, usize);

const MS: i64 = 1_000_000;

/// Stamp of the far-future flush messages (about 13 days), beyond any generated stamp.
const FLUSH_STAMP: i64 = 1 << 50;

/// Index used for flush messages.
const FLUSH_INDEX: usize = usize::MAX;

/// Per-channel stamps, each channel strictly increasing.
#[derive(Debug, Clone)]
struct Timeline {
    stamps: Vec<Vec<i64>>,
}

impl Timeline {
    fn channels(&self) -> usize {
        self.stamps.len()
    }

    fn total(&self) -> usize {
        self.stamps.iter().map(Vec::len).sum()
    }

    fn longest(&self) -> usize {
        self.stamps.iter().map(Vec::len).max().unwrap_or(0)
    }

    fn stamp(&self, (ch, i): Id) -> i64 {
        if i == FLUSH_INDEX {
            FLUSH_STAMP
        } else {
            self.stamps[ch][i]
        }
    }

    /// Smallest gap between consecutive stamps of `ch`, if it has two messages.
    fn min_gap(&self, ch: usize) -> Option<i64> {
        self.stamps[ch].windows(2).map(|w| w[1] - w[0]).min()
    }

    /// Arrival order picking, at step `j`, the channel `picks[j] % available` among those
    /// with messages left (the first available one once `picks` runs out).
    fn interleave(&self, picks: &[u32]) -> Vec<Id> {
        let mut next = vec![0usize; self.channels()];
        let mut order = Vec::with_capacity(self.total());
        for j in 0.. {
            let avail: Vec<usize> = (0..self.channels())
                .filter(|&c| next[c] < self.stamps[c].len())
                .collect();
            if avail.is_empty() {
                break;
            }
            let pick = picks.get(j).copied().unwrap_or(0) as usize % avail.len();
            let ch = avail[pick];
            order.push((ch, next[ch]));
            next[ch] += 1;
        }
        order
    }

    /// Arrival order when channel `c` delivers each message `latency[c]` plus a per-message
    /// delay after its stamp (never overtaking its own predecessor); ties go to lower channels.
    fn by_latency(&self, latency: &[i64], delay: &[i64]) -> Vec<Id> {
        let mut arrivals = Vec::with_capacity(self.total());
        let mut k = 0;
        for (ch, stamps) in self.stamps.iter().enumerate() {
            let mut last = i64::MIN;
            for (i, &s) in stamps.iter().enumerate() {
                let extra = delay.get(k % delay.len().max(1)).copied().unwrap_or(0);
                k += 1;
                let at = (s + latency.get(ch).copied().unwrap_or(0) + extra).max(last);
                last = at;
                arrivals.push((at, ch, i));
            }
        }
        arrivals.sort_unstable();
        arrivals.into_iter().map(|(_, ch, i)| (ch, i)).collect()
    }
}

/// One jittered periodic channel. On the `grid`, stamps are exact multiples of 10 ms so that
/// channels share stamps (for ExactTime).
fn channel(grid: bool) -> impl Strategy<Value = Vec<i64>> {
    let period = if grid {
        prop::sample::select(vec![10 * MS, 20 * MS, 30 * MS]).boxed()
    } else {
        (1i64..=50).prop_map(|p| p * MS).boxed()
    };
    let phase = if grid {
        (0i64..3).prop_map(|p| p * 10 * MS).boxed()
    } else {
        (0i64..100 * MS).boxed()
    };
    let ticks = prop::collection::vec((0i64..500, prop::bool::weighted(0.15)), 0..40);
    (period, phase, ticks).prop_map(move |(period, phase, ticks)| {
        ticks
            .iter()
            .enumerate()
            .filter(|(_, tick)| !tick.1)
            .map(|(k, &(permille, _))| {
                let jitter = if grid { 0 } else { period * permille / 1000 };
                phase + k as i64 * period + jitter
            })
            .collect()
    })
}

fn timeline(grid: bool) -> impl Strategy<Value = Timeline> {
    prop::collection::vec(channel(grid), 2..=9).prop_map(|stamps| Timeline { stamps })
}

fn picks() -> impl Strategy<Value = Vec<u32>> {
    prop::collection::vec(any::<u32>(), 0..400)
}

/// What one replay produced.
struct Run {
    out: Emitted<Id>,
    /// For each set, the index (in the arrival order) of the message whose addition emitted it.
    emitted_at: Vec<usize>,
    pending: usize,
}

/// Feeds `order` to `policy`; with `flush`, then one far-future message per channel, in
/// channel order, after which sets and drops involving flush messages are discarded.
fn run<P: Policy<Id>>(mut policy: P, tl: &Timeline, order: &[Id], flush: bool) -> Run {
    let mut out = Emitted::new();
    let mut emitted_at = Vec::new();
    for (j, &id) in order.iter().enumerate() {
        policy.add(id.0, tl.stamp(id), id, &mut out);
        emitted_at.resize(out.sets.len(), j);
    }
    if flush {
        for ch in 0..tl.channels() {
            policy.add(ch, FLUSH_STAMP, (ch, FLUSH_INDEX), &mut out);
        }
        out.sets
            .retain(|set| set.iter().all(|&(_, i)| i != FLUSH_INDEX));
        out.drops.retain(|d| d.msg.1 != FLUSH_INDEX);
        emitted_at.clear();
    }
    Run {
        out,
        emitted_at,
        pending: policy.pending(),
    }
}

/// Drops as a sorted list of (id, reason name), for order-insensitive comparison.
fn drop_list(out: &Emitted<Id>) -> Vec<(Id, &'static str)> {
    let mut v: Vec<_> = out
        .drops
        .iter()
        .map(|d| (d.msg, d.reason.as_str()))
        .collect();
    v.sort_unstable();
    v
}

/// Every set has one message per channel in channel order; every message is used at most
/// once (or, with `repeats`, may be in several sets but then never dropped), drops carry the
/// message's own channel and stamp, and sets + drops + pending account for every message.
fn check_accounting(
    tl: &Timeline,
    out: &Emitted<Id>,
    pending: usize,
    repeats: bool,
) -> Result<(), TestCaseError> {
    let n = tl.channels();
    let mut in_sets = HashSet::new();
    for set in &out.sets {
        prop_assert_eq!(set.len(), n);
        for (ch, &id) in set.iter().enumerate() {
            prop_assert_eq!(id.0, ch, "set {:?} out of channel order", set);
            prop_assert!(in_sets.insert(id) || repeats, "{:?} in two sets", id);
        }
    }
    let mut dropped = HashSet::new();
    for d in &out.drops {
        prop_assert_eq!(d.channel, d.msg.0);
        prop_assert_eq!(d.stamp, tl.stamp(d.msg));
        prop_assert!(
            !in_sets.contains(&d.msg),
            "{:?} in a set and dropped",
            d.msg
        );
        prop_assert!(dropped.insert(d.msg), "{:?} dropped twice", d.msg);
    }
    prop_assert_eq!(in_sets.len() + dropped.len() + pending, tl.total());
    Ok(())
}

/// Consecutive sets use strictly later messages, with strictly later stamps, on every channel
/// (non-decreasing with `repeats`).
fn check_increasing(tl: &Timeline, sets: &[Vec<Id>], repeats: bool) -> Result<(), TestCaseError> {
    for pair in sets.windows(2) {
        for (&a, &b) in pair[0].iter().zip(&pair[1]) {
            if repeats {
                prop_assert!(a.1 <= b.1, "{:?} then {:?}", a, b);
            } else {
                prop_assert!(a.1 < b.1, "{:?} then {:?}", a, b);
                prop_assert!(tl.stamp(a) < tl.stamp(b));
            }
        }
    }
    Ok(())
}

/// Largest minus smallest stamp of a set.
fn span(tl: &Timeline, set: &[Id]) -> i64 {
    let stamps = set.iter().map(|&id| tl.stamp(id));
    stamps.clone().max().unwrap_or(0) - stamps.min().unwrap_or(0)
}

/// `shorter` is a prefix of `longer`.
fn check_prefix(shorter: &[Vec<Id>], longer: &[Vec<Id>]) -> Result<(), TestCaseError> {
    prop_assert!(shorter.len() <= longer.len());
    prop_assert_eq!(shorter, &longer[..shorter.len()]);
    Ok(())
}

/// ApproximateTime parameters: max interval, age penalty.
fn approx_params() -> impl Strategy<Value = (Option<i64>, f64)> {
    (
        prop::option::of(0i64..=60 * MS),
        prop::sample::select(vec![0.0, 0.1, 0.5, 2.0]),
    )
}

/// Builds an ApproximateTime; `bounds[c]` (per mille of the channel's minimum gap, so always
/// a correct lower bound) is applied when given.
fn approx(
    tl: &Timeline,
    queue: usize,
    (max_interval, penalty): (Option<i64>, f64),
    bounds: Option<&[u16]>,
) -> ApproximateTime<Id> {
    let mut p = ApproximateTime::new(tl.channels(), queue)
        .and_then(|p| p.age_penalty(penalty))
        .expect("valid config");
    if let Some(max) = max_interval {
        p = p.max_interval_duration(max).expect("valid max interval");
    }
    if let Some(bounds) = bounds {
        for ch in 0..tl.channels() {
            let permille = i64::from(bounds.get(ch).copied().unwrap_or(0).min(1000));
            // A channel with fewer than two messages has no gap; any bound is then correct.
            let gap = tl.min_gap(ch).unwrap_or(100 * MS);
            p = p
                .inter_message_lower_bound(ch, gap * permille / 1000)
                .expect("valid bound");
        }
    }
    p
}

fn bounds() -> impl Strategy<Value = Vec<u16>> {
    prop::collection::vec(0u16..=1000, 9)
}

fn latencies() -> impl Strategy<Value = (Vec<i64>, Vec<i64>)> {
    (
        prop::collection::vec(0i64..200 * MS, 9),
        prop::collection::vec(0i64..30 * MS, 1..50),
    )
}

// 256 cases per property by default; set PROPTEST_CASES for longer runs.
proptest! {
    /// ApproximateTime, any queue size (overflow included), any interleaving.
    #[test]
    fn approx_invariants(
        tl in timeline(false),
        order in picks(),
        queue in 1usize..=12,
        params in approx_params(),
        bounds in prop::option::of(bounds()),
    ) {
        let order = tl.interleave(&order);
        let mut policy = approx(&tl, queue, params, bounds.as_deref());
        let mut out = Emitted::new();
        for &id in &order {
            policy.add(id.0, tl.stamp(id), id, &mut out);
        }
        check_accounting(&tl, &out, policy.pending(), false)?;
        check_increasing(&tl, &out.sets, false)?;
        if let Some(max) = params.0 {
            for set in &out.sets {
                prop_assert!(span(&tl, set) <= max, "span {} > {}", span(&tl, set), max);
            }
        } else {
            prop_assert!(out.drops.iter().all(|d| d.reason != DropReason::OutsideMaxInterval));
        }
        for d in &out.drops {
            prop_assert!(matches!(
                d.reason,
                DropReason::QueueOverflow
                    | DropReason::OutsideMaxInterval
                    | DropReason::PivotOverflowed
                    | DropReason::Superseded
            ), "unexpected reason {:?}", d.reason);
        }
        // After a reset everything is accounted for as a set or a drop.
        policy.reset(&mut out);
        prop_assert_eq!(policy.pending(), 0);
        check_accounting(&tl, &out, 0, false)?;
    }

    /// ApproximateTime with no queue overflow: the cross-channel interleaving does not change
    /// the sets.
    ///
    /// Precisely: the policy may hold its last candidate until a later message proves it best
    /// (or a virtual search does), and whether that proof is available when the input ends
    /// depends on which channel delivered last. So without further input one order's sets are
    /// a prefix of the other's; once every channel has delivered a common far-future message,
    /// sets and drops are identical. (Checked beforehand on 20 000 random timelines with a
    /// throwaway fuzzer: exact equality fails without the flush in about 2% of them, the prefix
    /// relation never does. Overflow voids the property, since which message overflows depends
    /// on how many messages are queued when another one arrives.)
    #[test]
    fn approx_sets_independent_of_interleaving(
        tl in timeline(false),
        picks_a in picks(),
        (latency, delay) in latencies(),
        params in approx_params(),
        bounds in prop::option::of(bounds()),
    ) {
        // Each channel queues at most its own messages plus the flush message: no overflow.
        let queue = tl.longest() + 1;
        let a = tl.interleave(&picks_a);
        let b = tl.by_latency(&latency, &delay);
        let ra = run(approx(&tl, queue, params, bounds.as_deref()), &tl, &a, false);
        let rb = run(approx(&tl, queue, params, bounds.as_deref()), &tl, &b, false);
        for r in [&ra, &rb] {
            prop_assert!(r.out.drops.iter().all(|d| d.reason != DropReason::QueueOverflow));
        }
        if ra.out.sets.len() <= rb.out.sets.len() {
            check_prefix(&ra.out.sets, &rb.out.sets)?;
        } else {
            check_prefix(&rb.out.sets, &ra.out.sets)?;
        }
        let fa = run(approx(&tl, queue, params, bounds.as_deref()), &tl, &a, true);
        let fb = run(approx(&tl, queue, params, bounds.as_deref()), &tl, &b, true);
        prop_assert_eq!(&fa.out.sets, &fb.out.sets);
        prop_assert_eq!(drop_list(&fa.out), drop_list(&fb.out));
    }

    /// ApproximateTime: correct inter-message lower bounds (each at most the channel's true
    /// minimum gap) only let sets out earlier; with no overflow the sets are the same.
    #[test]
    fn approx_lower_bounds_change_only_timing(
        tl in timeline(false),
        picks in picks(),
        params in approx_params(),
        bounds in bounds(),
    ) {
        let queue = tl.longest() + 1;
        let order = tl.interleave(&picks);
        let with = run(approx(&tl, queue, params, Some(&bounds)), &tl, &order, false);
        let without = run(approx(&tl, queue, params, None), &tl, &order, false);
        // Bounds can only prove candidates earlier: the sets without bounds are a prefix of
        // those with bounds, and each of them came out no later.
        check_prefix(&without.out.sets, &with.out.sets)?;
        for (k, (&w, &wo)) in with.emitted_at.iter().zip(&without.emitted_at).enumerate() {
            prop_assert!(w <= wo, "set {} emitted at {} with bounds, {} without", k, w, wo);
        }
        let with = run(approx(&tl, queue, params, Some(&bounds)), &tl, &order, true);
        let without = run(approx(&tl, queue, params, None), &tl, &order, true);
        prop_assert_eq!(&with.out.sets, &without.out.sets);
        prop_assert_eq!(drop_list(&with.out), drop_list(&without.out));
    }

    /// ExactTime, any queue size, any interleaving: accounting, order, equal stamps per set.
    #[test]
    fn exact_invariants(tl in timeline(true), picks in picks(), queue in 1usize..=12) {
        let order = tl.interleave(&picks);
        let r = run(ExactTime::new(tl.channels(), queue).expect("valid"), &tl, &order, false);
        check_accounting(&tl, &r.out, r.pending, false)?;
        check_increasing(&tl, &r.out.sets, false)?;
        for set in &r.out.sets {
            prop_assert_eq!(span(&tl, set), 0);
        }
    }

    /// ExactTime with a queue that cannot overflow: the sets are exactly the stamps every
    /// channel has, in order, for any interleaving (a skipped incomplete stamp can never be
    /// completed later, since every channel's stamps increase).
    #[test]
    fn exact_sets_are_common_stamps(
        tl in timeline(true),
        picks in picks(),
        (latency, delay) in latencies(),
    ) {
        let queue = tl.total().max(1);
        let mut common: Vec<i64> = tl.stamps[0].clone();
        for stamps in &tl.stamps[1..] {
            common.retain(|s| stamps.contains(s));
        }
        for order in [tl.interleave(&picks), tl.by_latency(&latency, &delay)] {
            let r = run(ExactTime::new(tl.channels(), queue).expect("valid"), &tl, &order, false);
            let got: Vec<i64> = r.out.sets.iter().map(|set| tl.stamp(set[0])).collect();
            prop_assert_eq!(&got, &common);
            prop_assert!(r.out.drops.iter().all(|d| d.reason == DropReason::Superseded));
        }
    }

    /// ApproximateEpsilonTime: accounting, order, span within epsilon, and (no overflow)
    /// independence from the interleaving.
    #[test]
    fn epsilon_invariants(
        tl in timeline(false),
        picks in picks(),
        (latency, delay) in latencies(),
        queue in 1usize..=12,
        epsilon in 0i64..=30 * MS,
    ) {
        let n = tl.channels();
        let order = tl.interleave(&picks);
        let r = run(ApproximateEpsilonTime::new(n, queue, epsilon).expect("valid"), &tl, &order, false);
        check_accounting(&tl, &r.out, r.pending, false)?;
        check_increasing(&tl, &r.out.sets, false)?;
        for set in &r.out.sets {
            prop_assert!(span(&tl, set) <= epsilon);
        }
        let big = tl.longest().max(1);
        let other = tl.by_latency(&latency, &delay);
        let ra = run(ApproximateEpsilonTime::new(n, big, epsilon).expect("valid"), &tl, &order, false);
        let rb = run(ApproximateEpsilonTime::new(n, big, epsilon).expect("valid"), &tl, &other, false);
        prop_assert_eq!(&ra.out.sets, &rb.out.sets);
        prop_assert_eq!(drop_list(&ra.out), drop_list(&rb.out));
    }

    /// LatestTime (stamps as time): held messages may repeat across sets, but every message is
    /// in sets, dropped once, or pending, and sets never go back on any channel.
    #[test]
    fn latest_time_invariants(tl in timeline(false), picks in picks()) {
        let order = tl.interleave(&picks);
        let r = run(LatestTime::new(tl.channels()).expect("valid"), &tl, &order, false);
        check_accounting(&tl, &r.out, r.pending, true)?;
        check_increasing(&tl, &r.out.sets, true)?;
        prop_assert!(r.out.drops.iter().all(|d| d.reason == DropReason::Outdated));
    }
}
