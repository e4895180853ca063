//! The filter connection model: signals and connections, PassThrough, Cache (with ROS 1's
//! boundary semantics), Chain, TimeSequencer, and SubscriberFilter over real zenoh sessions.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use common::{node_pair, PATIENCE};
use rosync::filters::{
    connect_input, Cache, Chain, Connection, Filter, Input, PassThrough, Signal, SubscriberFilter,
    TimeSequencer,
};
use rosync::msg::std_msgs::Header;
use rosync::node::Clock;
use rosync::time::now_nanos;
use rosync::Time;

fn t(ns: i64) -> Time {
    Time::from_nanos(ns)
}

fn header(ns: i64, frame: &str) -> Arc<Header> {
    Arc::new(common::header(ns, frame))
}

/// The frame ids of `msgs`, to compare results at a glance.
fn frames(msgs: &[Arc<Header>]) -> Vec<String> {
    msgs.iter().map(|m| m.frame_id.clone()).collect()
}

/// A callback that appends each message's frame id to `log`, prefixed with `tag`.
fn record(log: &Arc<Mutex<Vec<String>>>, tag: &str) -> impl Fn(&Arc<Header>) + Send + Sync {
    let log = Arc::clone(log);
    let tag = tag.to_string();
    move |m: &Arc<Header>| log.lock().unwrap().push(format!("{tag}:{}", m.frame_id))
}

fn new_log() -> Arc<Mutex<Vec<String>>> {
    Arc::new(Mutex::new(Vec::new()))
}

fn taken(log: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
    std::mem::take(&mut *log.lock().unwrap())
}

// ---------------------------------------------------------------- Signal and Connection

#[test]
fn callbacks_run_in_connection_order() {
    let signal = Signal::<Header>::new();
    let log = new_log();
    let _a = signal.connect(record(&log, "a"));
    let _b = signal.connect(record(&log, "b"));
    let _c = signal.connect(record(&log, "c"));
    assert_eq!(signal.connection_count(), 3);
    signal.emit(&header(1, "m1"));
    signal.emit(&header(2, "m2"));
    assert_eq!(
        taken(&log),
        ["a:m1", "b:m1", "c:m1", "a:m2", "b:m2", "c:m2"]
    );
}

#[test]
fn every_callback_gets_the_same_arc() {
    let signal = Signal::<Header>::default();
    let seen = Arc::new(Mutex::new(Vec::<Arc<Header>>::new()));
    let conns: Vec<Connection> = (0..3)
        .map(|_| {
            let seen = Arc::clone(&seen);
            signal.connect(move |m| seen.lock().unwrap().push(Arc::clone(m)))
        })
        .collect();
    let msg = header(7, "shared");
    signal.emit(&msg);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|m| Arc::ptr_eq(m, &msg)));
    drop(conns);
}

#[test]
fn disconnect_explicitly_and_on_drop() {
    let signal = Signal::<Header>::new();
    let log = new_log();
    let a = signal.connect(record(&log, "a"));
    let b = signal.connect(record(&log, "b"));
    let c = signal.connect(record(&log, "c"));
    assert!(a.is_connected() && b.is_connected() && c.is_connected());

    b.disconnect();
    assert_eq!(signal.connection_count(), 2);
    signal.emit(&header(1, "m1"));
    assert_eq!(taken(&log), ["a:m1", "c:m1"]);

    drop(a);
    assert!(c.is_connected());
    assert_eq!(signal.connection_count(), 1);
    signal.emit(&header(2, "m2"));
    assert_eq!(taken(&log), ["c:m2"]);

    drop(c);
    assert_eq!(signal.connection_count(), 0);
    signal.emit(&header(3, "m3"));
    assert!(taken(&log).is_empty());
}

#[test]
fn disconnecting_drops_the_callback_and_what_it_captured() {
    let signal = Signal::<Header>::new();
    let captured = Arc::new(());
    let held = Arc::clone(&captured);
    let conn = signal.connect(move |_| {
        let _ = &held;
    });
    assert_eq!(Arc::strong_count(&captured), 2);
    drop(conn);
    assert_eq!(Arc::strong_count(&captured), 1);
}

#[test]
fn forget_keeps_the_callback_for_the_signals_lifetime() {
    let signal = Signal::<Header>::new();
    let log = new_log();
    signal.connect(record(&log, "kept")).forget();
    assert_eq!(signal.connection_count(), 1);
    signal.emit(&header(1, "m1"));
    assert_eq!(taken(&log), ["kept:m1"]);
}

#[test]
fn a_connection_outlives_its_signal_harmlessly() {
    let signal = Signal::<Header>::new();
    let a = signal.connect(|_| {});
    let b = signal.connect(|_| {});
    assert!(a.is_connected());
    drop(signal);
    assert!(!a.is_connected());
    a.disconnect();
    drop(b);
}

#[test]
fn a_callback_connected_during_emit_is_called_from_the_next_emit() {
    let signal = Arc::new(Signal::<Header>::new());
    let log = new_log();
    let added = Arc::new(Mutex::new(Vec::<Connection>::new()));
    let _adder = {
        let weak: Weak<Signal<Header>> = Arc::downgrade(&signal);
        let log = Arc::clone(&log);
        let added = Arc::clone(&added);
        signal.connect(move |m| {
            log.lock().unwrap().push(format!("adder:{}", m.frame_id));
            if let Some(signal) = weak.upgrade() {
                let tag = format!("new{}", m.frame_id);
                added
                    .lock()
                    .unwrap()
                    .push(signal.connect(record(&log, &tag)));
            }
        })
    };
    signal.emit(&header(1, "1"));
    assert_eq!(taken(&log), ["adder:1"]);
    signal.emit(&header(2, "2"));
    assert_eq!(taken(&log), ["adder:2", "new1:2"]);
    assert_eq!(signal.connection_count(), 3);
}

#[test]
fn a_callback_may_disconnect_itself_and_later_callbacks() {
    let signal = Signal::<Header>::new();
    let log = new_log();
    let own: Arc<Mutex<Option<Connection>>> = Arc::new(Mutex::new(None));
    let later: Arc<Mutex<Option<Connection>>> = Arc::new(Mutex::new(None));
    let first = {
        let log = Arc::clone(&log);
        let own = Arc::clone(&own);
        let later = Arc::clone(&later);
        signal.connect(move |m| {
            log.lock().unwrap().push(format!("first:{}", m.frame_id));
            // Take the connections out of their mutexes before dropping them, as dropping
            // runs the disconnect.
            let mine = own.lock().unwrap().take();
            let theirs = later.lock().unwrap().take();
            drop(mine);
            drop(theirs);
        })
    };
    *own.lock().unwrap() = Some(first);
    *later.lock().unwrap() = Some(signal.connect(record(&log, "second")));
    let _third = signal.connect(record(&log, "third"));

    signal.emit(&header(1, "m1"));
    // "second" was disconnected by "first" during this emit, so it is not called.
    assert_eq!(taken(&log), ["first:m1", "third:m1"]);
    signal.emit(&header(2, "m2"));
    assert_eq!(taken(&log), ["third:m2"]);
    assert_eq!(signal.connection_count(), 1);
}

#[test]
fn a_callback_may_feed_its_own_filter_and_others() {
    let source = Arc::new(PassThrough::<Header>::new());
    let other = Arc::new(PassThrough::<Header>::new());
    let log = new_log();
    let _echo = {
        let weak = Arc::downgrade(&source);
        let other = Arc::clone(&other);
        let log = Arc::clone(&log);
        source.connect(move |m| {
            log.lock().unwrap().push(format!("source:{}", m.frame_id));
            other.add(Arc::clone(m));
            // Re-enter the filter that is emitting, three levels deep.
            if m.frame_id.len() < 3 {
                if let Some(source) = weak.upgrade() {
                    source.add(header(0, &format!("{}+", m.frame_id)));
                }
            }
        })
    };
    let _other = other.connect(record(&log, "other"));
    source.add(header(0, "x"));
    assert_eq!(
        taken(&log),
        [
            "source:x",
            "other:x",
            "source:x+",
            "other:x+",
            "source:x++",
            "other:x++"
        ]
    );
}

#[test]
fn emitting_from_many_threads_while_connecting_does_not_deadlock() {
    let signal = Arc::new(Signal::<Header>::new());
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = {
        let calls = Arc::clone(&calls);
        signal.connect(move |_| {
            calls.fetch_add(1, Ordering::Relaxed);
        })
    };
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let signal = Arc::clone(&signal);
            std::thread::spawn(move || {
                for n in 0..500 {
                    if i % 2 == 0 {
                        signal.emit(&header(n, "m"));
                    } else {
                        let conn = signal.connect(|_| {});
                        signal.emit(&header(n, "m"));
                        drop(conn);
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("no thread panicked");
    }
    assert_eq!(calls.load(Ordering::Relaxed), 2000);
    assert_eq!(signal.connection_count(), 1);
    drop(counted);
}

// ---------------------------------------------------------------- traits and PassThrough

#[test]
fn pass_through_passes_the_same_arc_on() {
    let pass = PassThrough::<Header>::new();
    let got = Arc::new(Mutex::new(None));
    let _conn = {
        let got = Arc::clone(&got);
        pass.connect(move |m| *got.lock().unwrap() = Some(Arc::clone(m)))
    };
    let msg = header(5, "p");
    pass.add(Arc::clone(&msg));
    let got = got.lock().unwrap().clone().expect("passed on");
    assert!(Arc::ptr_eq(&got, &msg));
    assert_eq!(pass.signal().connection_count(), 1);
}

#[test]
fn connect_input_holds_its_target_until_disconnected() {
    let source = PassThrough::<Header>::new();
    let cache = Arc::new(Cache::<Header>::new(10));
    let link = connect_input(&source, &cache);
    let weak = Arc::downgrade(&cache);
    drop(cache);
    source.add(header(1, "a"));
    let cache = weak
        .upgrade()
        .expect("the connection keeps the target alive");
    assert_eq!(cache.len(), 1);
    drop(cache);
    link.disconnect();
    assert!(
        weak.upgrade().is_none(),
        "disconnecting released the target"
    );
    source.add(header(2, "b"));
}

// ---------------------------------------------------------------- Cache

/// A cache holding stamps 10, 20, 20, 30, 40 (ns), added out of order.
fn cache_10_to_40() -> Cache<Header> {
    let cache = Cache::new(10);
    for (ns, frame) in [(30, "30"), (10, "10"), (20, "20a"), (40, "40"), (20, "20b")] {
        cache.add(header(ns, frame));
    }
    cache
}

#[test]
fn cache_keeps_stamp_order_with_ties_in_arrival_order() {
    let cache = cache_10_to_40();
    assert_eq!(cache.len(), 5);
    assert!(!cache.is_empty());
    assert_eq!(
        frames(&cache.get_interval(t(i64::MIN), t(i64::MAX))),
        ["10", "20a", "20b", "30", "40"]
    );
    assert_eq!(cache.get_oldest_time(), Some(t(10)));
    assert_eq!(cache.get_latest_time(), Some(t(40)));
    assert_eq!(cache.dropped(), 0);
}

#[test]
fn cache_get_interval_includes_both_ends() {
    let cache = cache_10_to_40();
    assert_eq!(
        frames(&cache.get_interval(t(20), t(30))),
        ["20a", "20b", "30"]
    );
    assert_eq!(frames(&cache.get_interval(t(11), t(29))), ["20a", "20b"]);
    assert_eq!(frames(&cache.get_interval(t(40), t(40))), ["40"]);
    assert_eq!(frames(&cache.get_interval(t(0), t(10))), ["10"]);
    assert!(cache.get_interval(t(21), t(29)).is_empty());
    assert!(cache.get_interval(t(41), t(100)).is_empty());
    assert!(
        cache.get_interval(t(30), t(20)).is_empty(),
        "start after end"
    );
}

#[test]
fn cache_elem_before_and_after_are_strict() {
    let cache = cache_10_to_40();
    let before = |ns| {
        cache
            .get_elem_before_time(t(ns))
            .map(|m| m.frame_id.clone())
    };
    let after = |ns| cache.get_elem_after_time(t(ns)).map(|m| m.frame_id.clone());
    // Latest with stamp < t.
    assert_eq!(before(10), None);
    assert_eq!(before(11).as_deref(), Some("10"));
    assert_eq!(before(20).as_deref(), Some("10"));
    assert_eq!(before(21).as_deref(), Some("20b"));
    assert_eq!(before(1000).as_deref(), Some("40"));
    // Earliest with stamp > t.
    assert_eq!(after(40), None);
    assert_eq!(after(39).as_deref(), Some("40"));
    assert_eq!(after(10).as_deref(), Some("20a"));
    assert_eq!(after(19).as_deref(), Some("20a"));
    assert_eq!(after(-5).as_deref(), Some("10"));
}

#[test]
fn cache_surrounding_interval_follows_ros() {
    let cache = cache_10_to_40();
    let around = |a, b| frames(&cache.get_surrounding_interval(t(a), t(b)));
    // Exact matches at both ends: from the latest <= start to the earliest >= end.
    assert_eq!(around(20, 30), ["20b", "30"]);
    // Strictly inside: widened to the neighbours.
    assert_eq!(around(25, 35), ["20b", "30", "40"]);
    assert_eq!(around(15, 25), ["10", "20a", "20b", "30"]);
    // Before everything: starts at the oldest.
    assert_eq!(around(0, 15), ["10", "20a"]);
    // After everything: ends at the newest.
    assert_eq!(around(35, 100), ["30", "40"]);
    assert_eq!(around(50, 60), ["40"]);
    assert_eq!(around(0, 5), ["10"]);
    // Start after end: one element, the latest <= start.
    assert_eq!(around(30, 10), ["30"]);
    assert!(Cache::<Header>::new(3)
        .get_surrounding_interval(t(0), t(10))
        .is_empty());
}

#[test]
fn empty_cache_answers_none() {
    let cache = Cache::<Header>::new(3);
    assert!(cache.is_empty());
    assert_eq!(cache.len(), 0);
    assert_eq!(cache.get_oldest_time(), None);
    assert_eq!(cache.get_latest_time(), None);
    assert!(cache.get_elem_before_time(t(5)).is_none());
    assert!(cache.get_elem_after_time(t(5)).is_none());
    assert!(cache.get_interval(t(0), t(10)).is_empty());
}

#[test]
fn full_cache_drops_the_oldest_and_counts_it() {
    let cache = Cache::<Header>::new(3);
    for ns in 1..=5 {
        cache.add(header(ns * 10, &ns.to_string()));
    }
    assert_eq!(cache.len(), 3);
    assert_eq!(cache.dropped(), 2);
    assert_eq!(frames(&cache.get_interval(t(0), t(100))), ["3", "4", "5"]);
    // As in ROS, the oldest goes first even if the newcomer is older still.
    cache.add(header(5, "old"));
    assert_eq!(cache.dropped(), 3);
    assert_eq!(frames(&cache.get_interval(t(0), t(100))), ["old", "4", "5"]);
    // A size of 0 means 1.
    let tiny = Cache::<Header>::new(0);
    tiny.add(header(1, "a"));
    tiny.add(header(2, "b"));
    assert_eq!((tiny.len(), tiny.dropped()), (1, 1));
}

#[test]
fn cache_with_a_max_age_on_a_sim_clock_forgets_old_messages_and_counts_them() {
    let clock = Clock::sim();
    clock.set_sim_time(t(1_000));
    let cache = Cache::<Header>::with_max_age(10, Duration::from_nanos(100), clock.clone());
    assert_eq!(cache.max_age(), Some(Duration::from_nanos(100)));
    let passed = new_log();
    let _conn = {
        let passed = Arc::clone(&passed);
        cache.connect(move |m| passed.lock().expect("lock").push(m.frame_id.clone()))
    };
    for (ns, frame) in [(950, "a"), (980, "b"), (1_000, "c")] {
        cache.add(header(ns, frame));
    }
    // Already older than 100 ns of clock time: passed on, counted, not stored.
    cache.add(header(899, "stale"));
    assert_eq!(cache.expired(), 1);
    assert_eq!(frames(&cache.get_interval(t(0), t(2_000))), ["a", "b", "c"]);
    assert_eq!(*passed.lock().expect("lock"), ["a", "b", "c", "stale"]);
    // The clock moves on (a paused clock would keep them): queries no longer see expired ones.
    clock.set_sim_time(t(1_060));
    assert_eq!(cache.get_oldest_time(), Some(t(980)));
    assert_eq!(cache.expired(), 2);
    clock.set_sim_time(t(1_100));
    assert_eq!(cache.len(), 1);
    assert!(cache.get_elem_before_time(t(1_000)).is_none(), "b expired");
    assert_eq!(
        (cache.expired(), cache.dropped()),
        (3, 0),
        "expired, not dropped"
    );
    // Without a max age nothing expires, whatever the stamps.
    let plain = Cache::<Header>::new(10);
    plain.add(header(1, "ancient"));
    assert_eq!(
        (plain.len(), plain.expired(), plain.max_age()),
        (1, 0, None)
    );
}

#[test]
fn cache_passes_messages_on_and_may_be_queried_from_its_callback() {
    let cache = Arc::new(Cache::<Header>::new(5));
    let seen = new_log();
    let _conn = {
        let weak = Arc::downgrade(&cache);
        let seen = Arc::clone(&seen);
        cache.connect(move |m| {
            let latest = weak.upgrade().and_then(|c| c.get_latest_time());
            seen.lock()
                .unwrap()
                .push(format!("{}@{:?}", m.frame_id, latest.map(|t| t.as_nanos())));
        })
    };
    cache.add(header(10, "a"));
    cache.add(header(5, "b"));
    assert_eq!(taken(&seen), ["a@Some(10)", "b@Some(10)"]);
}

// ---------------------------------------------------------------- Chain

#[test]
fn empty_chain_passes_straight_through() {
    let chain = Chain::<Header>::new();
    let log = new_log();
    let _conn = chain.connect(record(&log, "out"));
    chain.add(header(1, "m"));
    assert_eq!(taken(&log), ["out:m"]);
}

#[test]
fn chain_with_one_filter_emits_what_it_emits() {
    let chain = Chain::<Header>::new();
    let cache = Arc::new(Cache::<Header>::new(2));
    chain.add_filter(Arc::clone(&cache));
    let log = new_log();
    let _conn = chain.connect(record(&log, "out"));
    chain.add(header(1, "a"));
    chain.add(header(2, "b"));
    assert_eq!(taken(&log), ["out:a", "out:b"]);
    assert_eq!(cache.len(), 2);
}

#[test]
fn chain_with_two_filters_feeds_them_in_order_and_emits_once() {
    let chain = Chain::<Header>::new();
    let first = Arc::new(PassThrough::<Header>::new());
    let second = Arc::new(Cache::<Header>::new(10));
    let log = new_log();
    let _out = chain.connect(record(&log, "out"));
    let _first = first.connect(record(&log, "first"));
    let _second = second.connect(record(&log, "second"));
    chain.add_filter(Arc::clone(&first));
    chain.add(header(1, "a"));
    chain.add_filter(Arc::clone(&second));
    chain.add(header(2, "b"));
    assert_eq!(
        taken(&log),
        ["first:a", "out:a", "first:b", "second:b", "out:b"]
    );
    assert_eq!(frames(&second.get_interval(t(0), t(10))), ["b"]);
    // Dropping the chain disconnects its filters from each other and from its output.
    drop(chain);
    assert_eq!(first.signal().connection_count(), 1);
    assert_eq!(second.signal().connection_count(), 1);
}

#[test]
fn chains_nest() {
    let inner = Arc::new(Chain::<Header>::new());
    inner.add_filter(Arc::new(PassThrough::new()));
    let outer = Chain::<Header>::new();
    outer.add_filter(Arc::new(PassThrough::new()));
    outer.add_filter(inner);
    let log = new_log();
    let _out = outer.connect(record(&log, "out"));
    outer.add(header(1, "a"));
    assert_eq!(taken(&log), ["out:a"]);
}

// ---------------------------------------------------------------- TimeSequencer

/// Stamps an hour ahead, so the real clock (timer task, `add`) never releases them.
fn future() -> i64 {
    now_nanos() + 3_600_000_000_000
}

const MS: i64 = 1_000_000;

#[tokio::test]
async fn time_sequencer_releases_in_stamp_order_after_the_delay() {
    let base = future();
    let seq = TimeSequencer::<Header>::new(Duration::from_millis(100), Duration::from_secs(1), 10);
    let log = new_log();
    let _out = seq.connect(record(&log, "out"));
    for (offset, frame) in [(30, "30"), (10, "10"), (20, "20a"), (20, "20b")] {
        seq.add(header(base + offset * MS, frame));
    }
    seq.release_until(base + 109 * MS);
    assert!(taken(&log).is_empty(), "not due before stamp + delay");
    seq.release_until(base + 110 * MS);
    assert_eq!(taken(&log), ["out:10"], "due exactly at stamp + delay");
    seq.release_until(base + 125 * MS);
    assert_eq!(taken(&log), ["out:20a", "out:20b"]);
    seq.release_until(base + 1000 * MS);
    assert_eq!(taken(&log), ["out:30"]);
    assert_eq!(seq.dropped(), 0);
}

#[tokio::test]
async fn time_sequencer_drops_late_messages_and_overflow() {
    let base = future();
    let seq = TimeSequencer::<Header>::new(Duration::ZERO, Duration::from_secs(1), 3);
    let log = new_log();
    let _out = seq.connect(record(&log, "out"));
    seq.add(header(base + 20 * MS, "20"));
    seq.release_until(base + 20 * MS);
    assert_eq!(taken(&log), ["out:20"]);

    seq.add(header(base + 19 * MS, "late"));
    assert_eq!(seq.dropped(), 1, "older than the last released stamp");
    seq.add(header(base + 20 * MS, "same"));
    assert_eq!(seq.dropped(), 1, "the same stamp is still accepted");

    // A queue of 3 already holding "same": the third newcomer pushes out the oldest.
    seq.add(header(base + 40 * MS, "40"));
    seq.add(header(base + 30 * MS, "30"));
    assert_eq!(seq.dropped(), 1);
    seq.add(header(base + 50 * MS, "50"));
    assert_eq!(seq.dropped(), 2);
    seq.release_until(base + 100 * MS);
    assert_eq!(taken(&log), ["out:30", "out:40", "out:50"]);
    // Over the queue size, a newcomer older than everything held is the one dropped.
    seq.add(header(base + 200 * MS, "200"));
    seq.add(header(base + 300 * MS, "300"));
    seq.add(header(base + 400 * MS, "400"));
    seq.add(header(base + 150 * MS, "150"));
    assert_eq!(seq.dropped(), 3);
    seq.release_until(base + 1000 * MS);
    assert_eq!(taken(&log), ["out:200", "out:300", "out:400"]);
}

#[tokio::test]
async fn time_sequencer_callback_may_add_to_it_and_order_is_kept() {
    let base = future();
    let seq = Arc::new(TimeSequencer::<Header>::new(
        Duration::ZERO,
        Duration::from_secs(1),
        10,
    ));
    let log = new_log();
    let _feedback = {
        let weak = Arc::downgrade(&seq);
        let log = Arc::clone(&log);
        seq.connect(move |m| {
            log.lock().unwrap().push(m.frame_id.clone());
            if m.frame_id == "1" {
                if let Some(seq) = weak.upgrade() {
                    seq.add(header(m.stamp.as_nanos() + 5 * MS, "from callback"));
                    seq.release_until(m.stamp.as_nanos() + 100 * MS);
                }
            }
        })
    };
    seq.add(header(base + 10 * MS, "1"));
    seq.add(header(base + 20 * MS, "2"));
    seq.release_until(base + 10 * MS);
    assert_eq!(taken(&log), ["1", "from callback", "2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_sequencer_runs_on_the_real_clock() {
    let seq = TimeSequencer::<Header>::new(Duration::from_millis(60), Duration::from_millis(5), 10);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, i64)>();
    let _out = seq.connect(move |m| {
        let _ = tx.send((m.frame_id.clone(), now_nanos() - m.stamp.as_nanos()));
    });
    let now = now_nanos();
    seq.add(header(now + 2 * MS, "b"));
    seq.add(header(now, "a"));
    seq.add(header(now + 4 * MS, "c"));
    let mut got = Vec::new();
    while got.len() < 3 {
        let item = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("released within 5 s")
            .expect("sender alive");
        got.push(item);
    }
    let order: Vec<&str> = got.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(order, ["a", "b", "c"]);
    for (frame, waited) in &got {
        assert!(
            *waited >= 60 * MS,
            "{frame} released after {waited} ns, before the delay"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_sequencer_on_a_sim_clock_waits_for_sim_time_and_restarts_on_a_jump_back() {
    let clock = Clock::sim();
    clock.set_sim_time(t(10_000 * MS));
    let seq = TimeSequencer::<Header>::with_clock(
        Duration::from_millis(500),
        Duration::from_millis(5),
        10,
        clock.clone(),
    );
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let _out = seq.connect(move |m| {
        let _ = tx.send(m.frame_id.clone());
    });
    seq.add(header(10_000 * MS, "a"));
    // Sim time stands still (a paused /clock): however long the wall clock runs, nothing is due.
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(
        rx.try_recv().is_err(),
        "released before sim time reached stamp + delay"
    );
    clock.set_sim_time(t(10_499 * MS));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(rx.try_recv().is_err(), "released 1 ms of sim time early");
    clock.set_sim_time(t(10_500 * MS));
    let got = tokio::time::timeout(PATIENCE, rx.recv()).await;
    assert_eq!(got.ok().flatten().as_deref(), Some("a"));
    // The log loops: sim time jumps back to 1 s; a message stamped 1 s is no straggler.
    clock.set_sim_time(t(1_000 * MS));
    seq.add(header(1_000 * MS, "b"));
    clock.set_sim_time(t(1_500 * MS));
    let got = tokio::time::timeout(PATIENCE, rx.recv()).await;
    assert_eq!(got.ok().flatten().as_deref(), Some("b"));
    assert_eq!(seq.dropped(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_time_sequencer_stops_its_timer() {
    let seq = TimeSequencer::<Header>::new(Duration::from_millis(50), Duration::from_millis(5), 10);
    let calls = Arc::new(AtomicUsize::new(0));
    let conn = {
        let calls = Arc::clone(&calls);
        seq.connect(move |_| {
            calls.fetch_add(1, Ordering::Relaxed);
        })
    };
    seq.add(header(now_nanos(), "never"));
    drop(seq);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(calls.load(Ordering::Relaxed), 0);
    assert!(!conn.is_connected());
}

#[test]
fn time_sequencer_outside_a_runtime_still_releases_on_demand() {
    let seq = TimeSequencer::<Header>::new(Duration::from_millis(10), Duration::ZERO, 0);
    let log = new_log();
    let _out = seq.connect(record(&log, "out"));
    let base = future();
    seq.add(header(base, "a"));
    seq.release_until(base + 10 * MS);
    assert_eq!(taken(&log), ["out:a"]);
}

// ---------------------------------------------------------------- SubscriberFilter

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriber_filter_feeds_a_cache_over_zenoh() {
    let (a, b, _) = node_pair(41).await;
    let filter = SubscriberFilter::<Header>::new(&b, "/filters/headers", 20)
        .await
        .expect("subscriber filter");
    let cache = Arc::new(Cache::<Header>::new(3));
    let _link = connect_input(&filter, &cache);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let _tap = cache.connect(move |m| {
        let _ = tx.send(m.frame_id.clone());
    });

    let publisher = a
        .publisher::<Header>("/filters/headers")
        .await
        .expect("publisher");
    assert!(publisher.wait_for_subscribers(PATIENCE).await, "no match");
    for i in 1..=5_i64 {
        let msg = Header {
            stamp: t(i * 1_000_000_000),
            frame_id: format!("f{i}"),
        };
        publisher.publish(&msg).await.expect("publishes");
    }
    let mut got = Vec::new();
    while got.len() < 5 {
        let frame = tokio::time::timeout(PATIENCE, rx.recv())
            .await
            .expect("all five arrive")
            .expect("cache alive");
        got.push(frame);
    }
    assert_eq!(got, ["f1", "f2", "f3", "f4", "f5"]);
    assert_eq!(cache.len(), 3);
    assert_eq!(cache.dropped(), 2);
    assert_eq!(
        frames(&cache.get_interval(t(0), t(10_000_000_000))),
        ["f3", "f4", "f5"]
    );
    let stats = filter.stats();
    assert_eq!((stats.received, stats.delivered), (5, 5));

    // Once the filter is dropped nothing more reaches the cache.
    drop(filter);
    tokio::time::sleep(Duration::from_millis(100)).await;
    publisher
        .publish(&Header {
            stamp: t(9_000_000_000),
            frame_id: "late".into(),
        })
        .await
        .expect("publishes");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(rx.try_recv().is_err(), "nothing after the filter is gone");
    assert_eq!(cache.get_latest_time(), Some(t(5_000_000_000)));
}
