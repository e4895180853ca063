//! The typed and dynamic synchronizer fronts: tuples of 2 to 9 types, callbacks that re-enter,
//! drop reporting, and memory bounded by queue_size whatever the input.

mod common;

use std::sync::{Arc, Mutex};

use proptest::prelude::*;
use rosync::msg::{geometry_msgs, sensor_msgs, std_msgs};
use rosync::node::Clock;
use rosync::sync::{
    ApproximateTime, DropReason, DynSynchronizer, Emitted, ExactTime, LatestTime, Policy,
    Synchronizer,
};
use rosync::Time;

fn image(ns: i64) -> Arc<sensor_msgs::Image> {
    Arc::new(sensor_msgs::Image {
        header: common::header(ns, ""),
        ..Default::default()
    })
}

fn info(ns: i64) -> Arc<sensor_msgs::CameraInfo> {
    let mut msg = sensor_msgs::CameraInfo::default();
    msg.header.stamp = Time::from_nanos(ns);
    Arc::new(msg)
}

fn header(ns: i64) -> Arc<std_msgs::Header> {
    Arc::new(common::header(ns, ""))
}

#[test]
fn typed_pairs_share_messages_and_report_drops() {
    let sync = Synchronizer::<(sensor_msgs::Image, sensor_msgs::CameraInfo)>::new(
        ApproximateTime::new(2, 5).expect("valid"),
    )
    .expect("two channels");
    let pairs = Arc::new(Mutex::new(Vec::new()));
    let drops = Arc::new(Mutex::new(Vec::new()));
    let (p, d) = (Arc::clone(&pairs), Arc::clone(&drops));
    sync.register_callback(move |(img, inf)| {
        p.lock().expect("lock").push((
            img.header.stamp.as_nanos(),
            inf.header.stamp.as_nanos(),
            img,
        ))
    });
    sync.on_drop(move |event| d.lock().expect("lock").push(*event));
    let first = image(100);
    sync.add::<0>(Arc::clone(&first));
    sync.add::<1>(info(101));
    sync.add::<1>(info(200)); // its image never comes
    sync.add::<0>(image(300));
    sync.add::<1>(info(300));
    sync.add::<0>(image(400));
    sync.add::<1>(info(400));
    let pairs = pairs.lock().expect("lock");
    let stamps: Vec<(i64, i64)> = pairs.iter().map(|(a, b, _)| (*a, *b)).collect();
    assert_eq!(stamps, [(100, 101), (300, 300), (400, 400)]);
    assert!(
        Arc::ptr_eq(&pairs[0].2, &first),
        "the callback gets the same Arc, not a copy"
    );
    let drops = drops.lock().expect("lock");
    assert_eq!(drops.len(), 1);
    assert_eq!((drops[0].channel, drops[0].stamp), (1, 200));
    let stats = sync.stats();
    assert_eq!(stats.sets, 3);
    assert_eq!(stats.received, [3, 4]);
    assert_eq!(stats.dropped_on(1), 1);
    assert_eq!(stats.pending, 0);
}

#[test]
fn nine_channels_of_different_types() {
    type Nine = (
        sensor_msgs::Image,
        sensor_msgs::CameraInfo,
        std_msgs::Header,
        sensor_msgs::Imu,
        geometry_msgs::PoseStamped,
        geometry_msgs::TwistStamped,
        sensor_msgs::LaserScan,
        sensor_msgs::PointCloud2,
        sensor_msgs::NavSatFix,
    );
    let sync = Synchronizer::<Nine>::new(ExactTime::new(9, 3).expect("valid")).expect("nine");
    let count = Arc::new(Mutex::new(0));
    let c = Arc::clone(&count);
    sync.register_callback(move |set| {
        assert_eq!(set.8.header.stamp.as_nanos(), 7);
        *c.lock().expect("lock") += 1;
    });
    fn stamped<T: Default>(ns: i64, set: impl Fn(&mut T, Time)) -> Arc<T> {
        let mut msg = T::default();
        set(&mut msg, Time::from_nanos(ns));
        Arc::new(msg)
    }
    sync.add::<0>(image(7));
    sync.add::<1>(info(7));
    sync.add::<2>(header(7));
    sync.add::<3>(stamped(7, |m: &mut sensor_msgs::Imu, t| m.header.stamp = t));
    sync.add::<4>(stamped(7, |m: &mut geometry_msgs::PoseStamped, t| {
        m.header.stamp = t
    }));
    sync.add::<5>(stamped(7, |m: &mut geometry_msgs::TwistStamped, t| {
        m.header.stamp = t
    }));
    sync.add::<6>(stamped(7, |m: &mut sensor_msgs::LaserScan, t| {
        m.header.stamp = t
    }));
    sync.add::<7>(stamped(7, |m: &mut sensor_msgs::PointCloud2, t| {
        m.header.stamp = t
    }));
    assert_eq!(*count.lock().expect("lock"), 0);
    sync.add::<8>(stamped(7, |m: &mut sensor_msgs::NavSatFix, t| {
        m.header.stamp = t
    }));
    assert_eq!(*count.lock().expect("lock"), 1);
}

/// LatestTime estimates rates from arrival times: a synchronizer built with a clock reads it
/// at each add (as ROS 2 reads the node clock), one without a clock uses the stamps.
#[test]
fn latest_time_with_a_clock_takes_arrival_times_from_the_clock_not_the_stamps() {
    const MS: i64 = 1_000_000;
    type Pair = (sensor_msgs::Image, sensor_msgs::CameraInfo);
    let run = |clock: Option<&Clock>, moving: bool| -> u64 {
        let policy = LatestTime::new(2).expect("valid");
        let sync = match clock {
            Some(clock) => Synchronizer::<Pair>::with_clock(policy, clock.clone()),
            None => Synchronizer::<Pair>::new(policy),
        }
        .expect("two channels");
        for i in 0..30i64 {
            if let (Some(clock), true) = (clock, moving) {
                clock.set_sim_time(Time::from_nanos(1_000 * MS + i * 10 * MS));
            }
            if i % 6 == 0 {
                sync.add::<1>(info(i * 10 * MS));
            }
            sync.add::<0>(image(i * 10 * MS));
        }
        sync.stats().sets
    };
    let by_stamp = run(None, false);
    assert!(by_stamp >= 20, "{by_stamp} sets by stamp");
    // The clock moves with the messages (a constant offset from the stamps): the same sets.
    let sim = Clock::sim();
    assert_eq!(run(Some(&sim), true), by_stamp);
    // A paused clock: every message arrives at the same instant, so no rate update is valid
    // and, as in ROS 2, no set goes out, whatever the stamps say.
    let paused = Clock::sim();
    paused.set_sim_time(Time::from_nanos(5 * MS));
    assert_eq!(run(Some(&paused), false), 0);
}

/// A typed synchronizer with a clock measures how long each set waited: from its newest
/// member's arrival to the set going out, on that clock (here sim time).
#[test]
fn emission_delays_are_measured_on_the_synchronizers_clock() {
    const MS: i64 = 1_000_000;
    type Pair = (sensor_msgs::Image, sensor_msgs::CameraInfo);
    let clock = Clock::sim();
    let timed = Synchronizer::<Pair>::with_clock(
        ApproximateTime::new(2, 10).expect("valid"),
        clock.clone(),
    )
    .expect("two channels");
    let untimed =
        Synchronizer::<Pair>::new(ApproximateTime::new(2, 10).expect("valid")).expect("two");
    // One frame per simulated second, the info 10 ms after the image: a set goes out when the
    // next frame's image shows no better match can come, 1 s of sim time after its info.
    for k in 0..6i64 {
        clock.set_sim_time(Time::from_nanos(10_000 * MS + k * 1_000 * MS));
        for sync in [&timed, &untimed] {
            sync.add::<0>(image(k * 1_000 * MS));
            sync.add::<1>(info(k * 1_000 * MS + 10 * MS));
        }
    }
    let stats = timed.stats();
    assert_eq!(stats.sets, 5);
    let delays = stats.emission_delays;
    assert_eq!(
        (delays.count, delays.min_ns, delays.max_ns, delays.mean_ns()),
        (5, 1_000 * MS, 1_000 * MS, Some(1_000 * MS))
    );
    // Without a clock nothing is measured.
    assert_eq!(untimed.stats().sets, 5);
    assert_eq!(untimed.stats().emission_delays.count, 0);
    assert_eq!(untimed.stats().emission_delays.mean_ns(), None);
}

#[test]
fn wrong_channel_count_is_an_error() {
    let err = Synchronizer::<(std_msgs::Header, std_msgs::Header)>::new(
        ExactTime::new(3, 5).expect("valid"),
    )
    .err()
    .expect("mismatch");
    assert_eq!((err.policy, err.tuple), (3, 2));
}

#[test]
fn callbacks_may_add_to_the_same_synchronizer() {
    // Each set feeds the next pair from inside the callback: no deadlock, sets stay ordered.
    let sync = Synchronizer::<(std_msgs::Header, std_msgs::Header)>::new(
        ExactTime::new(2, 5).expect("valid"),
    )
    .expect("two");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (s, inner) = (Arc::clone(&seen), sync.clone());
    sync.register_callback(move |(a, _)| {
        let t = a.stamp.as_nanos();
        s.lock().expect("lock").push(t);
        if t < 5 {
            inner.add::<0>(header(t + 1));
            inner.add::<1>(header(t + 1));
        }
    });
    sync.add::<0>(header(0));
    sync.add::<1>(header(0));
    assert_eq!(*seen.lock().expect("lock"), [0, 1, 2, 3, 4, 5]);
}

#[test]
fn concurrent_adds_deliver_every_set_once() {
    let sync: DynSynchronizer<i64> = DynSynchronizer::new(ExactTime::new(2, 1000).expect("valid"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&seen);
    sync.register_callback(move |set| s.lock().expect("lock").push(set[0]));
    let threads: Vec<_> = (0..2)
        .map(|channel| {
            let sync = sync.clone();
            std::thread::spawn(move || {
                for t in 0..500 {
                    sync.add(channel, t, t);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let mut seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 500);
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 500);
    assert_eq!(sync.stats().dropped_total(), 0);
}

#[test]
fn time_jump_back_resets_instead_of_stalling() {
    let sync: DynSynchronizer<u32> =
        DynSynchronizer::new(ApproximateTime::new(2, 5).expect("valid"));
    let sets = Arc::new(Mutex::new(0));
    let s = Arc::clone(&sets);
    sync.register_callback(move |_| *s.lock().expect("lock") += 1);
    let second = 1_000_000_000;
    for t in 0..5 {
        sync.add(0, 100 * second + t * second, 0);
        sync.add(1, 100 * second + t * second, 0);
    }
    sync.add(0, 105 * second, 0); // left waiting for a partner when the log loops
    let before = *sets.lock().expect("lock");
    // A looped log: stamps restart 100 s earlier; sets must resume.
    for t in 0..5 {
        sync.add(0, t * second, 0);
        sync.add(1, t * second, 0);
    }
    let stats = sync.stats();
    assert_eq!(stats.time_jumps, 1, "{stats:?}");
    assert_eq!(
        stats.dropped.get(&(0, DropReason::TimeJumpedBack)),
        Some(&1),
        "{stats:?}"
    );
    assert!(
        *sets.lock().expect("lock") >= before + 4,
        "sets resumed after the jump"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Whatever arrives (any channel, any stamp, backwards or not), a policy never holds more
    /// than channels x queue_size messages, and every message is accounted for.
    #[test]
    fn memory_is_bounded_by_queue_size(
        channels in 2usize..=9,
        queue in 1usize..8,
        inputs in proptest::collection::vec((0usize..9, -1_000_000i64..1_000_000_000_000), 1..400),
    ) {
        let mut policies: Vec<Box<dyn Policy<usize>>> = vec![
            Box::new(ApproximateTime::new(channels, queue).expect("valid")),
            Box::new(ExactTime::new(channels, queue).expect("valid")),
        ];
        for policy in &mut policies {
            let mut out = Emitted::new();
            let mut in_sets = 0;
            for (id, &(channel, stamp)) in inputs.iter().enumerate() {
                policy.add(channel % channels, stamp, id, &mut out);
                prop_assert!(policy.pending() <= channels * queue,
                    "{} held > {channels} x {queue}", policy.pending());
                in_sets += out.sets.iter().map(Vec::len).sum::<usize>();
                prop_assert_eq!(in_sets + out.drops.len() + policy.pending(), id + 1);
                out.sets.clear();
            }
        }
    }
}

/// Counts the warnings logged while it is the thread's tracing subscriber.
struct WarningCounter(Arc<Mutex<usize>>);

impl tracing::Subscriber for WarningCounter {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        if *event.metadata().level() == tracing::Level::WARN {
            *self.0.lock().expect("lock") += 1;
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn one_time_jump_logs_one_warning_whatever_is_queued() {
    let warnings = Arc::new(Mutex::new(0));
    let counter = WarningCounter(Arc::clone(&warnings));
    tracing::subscriber::with_default(counter, || {
        let sync: DynSynchronizer<u32> =
            DynSynchronizer::new(ApproximateTime::new(2, 5).expect("valid"));
        let second = 1_000_000_000;
        // Three messages wait for partners that never come, then the stamps restart.
        for t in 0..3 {
            sync.add(0, 100 * second + t * second, 0);
        }
        sync.add(0, 0, 0);
        let stats = sync.stats();
        assert_eq!(stats.time_jumps, 1, "{stats:?}");
        assert_eq!(
            stats.dropped.get(&(0, DropReason::TimeJumpedBack)),
            Some(&3),
            "{stats:?}"
        );
    });
    assert_eq!(*warnings.lock().expect("lock"), 1, "one jump, one warning");
}
