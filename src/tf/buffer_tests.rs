//! Unit tests of [`super::Buffer`]: lookups, errors, waiting and the frame snapshot.

use super::math::{from_rpy, rotate};
use super::*;
use crate::msg::geometry_msgs::TransformStamped;
use crate::time::Time;

const S: i64 = 1_000_000_000;

fn tf(parent: &str, child: &str, stamp: i64, xyz: [f64; 3], yaw: f64) -> TransformStamped {
    let mut t = TransformStamped::default();
    t.header.frame_id = parent.into();
    t.header.stamp = Time::from_nanos(stamp);
    t.child_frame_id = child.into();
    t.transform = RigidTransform {
        translation: xyz,
        rotation: from_rpy(0.0, 0.0, yaw),
    }
    .to_msg();
    t
}

fn xyz(t: &TransformStamped) -> [f64; 3] {
    let v = &t.transform.translation;
    [v.x, v.y, v.z]
}

fn close(a: [f64; 3], b: [f64; 3]) -> bool {
    a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-12)
}

/// map -> odom (static), odom -> base (dynamic at 1 s and 2 s), base -> laser (static).
fn robot() -> Buffer {
    let b = Buffer::default();
    b.set_transform(&tf("map", "odom", 0, [10.0, 0.0, 0.0], 0.0), "a", true)
        .unwrap();
    b.set_transform(&tf("odom", "base", S, [1.0, 0.0, 0.0], 0.0), "a", false)
        .unwrap();
    b.set_transform(&tf("odom", "base", 2 * S, [3.0, 0.0, 0.0], 0.0), "a", false)
        .unwrap();
    b.set_transform(
        &tf(
            "base",
            "laser",
            0,
            [0.0, 1.0, 0.0],
            std::f64::consts::FRAC_PI_2,
        ),
        "a",
        true,
    )
    .unwrap();
    b
}

#[test]
fn chains_and_interpolates_through_the_tree() {
    let b = robot();
    let t = b
        .lookup_transform("map", "laser", Time::from_nanos(S + S / 2))
        .unwrap();
    assert!(close(xyz(&t), [12.0, 1.0, 0.0]));
    assert_eq!(t.header.frame_id, "map");
    assert_eq!(t.child_frame_id, "laser");
    assert_eq!(t.header.stamp.as_nanos(), S + S / 2);
    // The other way round maps map's origin into laser.
    let inv = b
        .lookup_transform("laser", "map", Time::from_nanos(S + S / 2))
        .unwrap();
    let q = RigidTransform::from_msg(&inv.transform);
    assert!(close(q.apply(&[12.0, 1.0, 0.0]), [0.0; 3]));
    // A point on the laser's x axis is on map's y axis (the laser is turned by 90°).
    let fwd = RigidTransform::from_msg(&t.transform);
    assert!(close(
        rotate(&fwd.rotation, &[1.0, 0.0, 0.0]),
        [0.0, 1.0, 0.0]
    ));
}

#[test]
fn time_zero_is_the_latest_common_time() {
    let b = robot();
    let t = b.lookup_transform("map", "laser", Time::default()).unwrap();
    assert_eq!(t.header.stamp.as_nanos(), 2 * S);
    assert!(close(xyz(&t), [13.0, 1.0, 0.0]));
    // Only static transforms on the path: stamp 0.
    let s = b.lookup_transform("odom", "map", Time::default()).unwrap();
    assert_eq!(s.header.stamp.as_nanos(), 0);
}

#[test]
fn errors_have_tf2s_classes() {
    let b = robot();
    b.set_transform(&tf("world", "moon", S, [0.0; 3], 0.0), "a", false)
        .unwrap();
    let at = |t| Time::from_nanos(t);
    let e = b.lookup_transform("map", "mars", at(S)).unwrap_err();
    assert!(matches!(e, TfError::UnknownFrame { .. }), "{e}");
    assert!(e.to_string().contains("mars"));
    let e = b.lookup_transform("map", "moon", at(S)).unwrap_err();
    assert!(matches!(e, TfError::Connectivity { .. }), "{e}");
    let e = b.lookup_transform("map", "base", at(S / 2)).unwrap_err();
    assert!(
        matches!(&e, TfError::Extrapolation { kind: Extrapolation::Past { earliest }, frame, .. }
            if earliest.as_nanos() == S && frame == "base"),
        "{e}"
    );
    assert!(e.to_string().contains("into the past"), "{e}");
    let e = b.lookup_transform("map", "base", at(3 * S)).unwrap_err();
    assert!(matches!(
        e,
        TfError::Extrapolation {
            kind: Extrapolation::Future { .. },
            ..
        }
    ));
    assert_eq!(e.code(), code::EXTRAPOLATION_ERROR);
    for bad in ["", "/map"] {
        let e = b.lookup_transform(bad, "base", at(S)).unwrap_err();
        assert_eq!(e.class(), "invalid_argument", "{e}");
    }
    // The same frame is the identity, even an unknown one (as tf2).
    assert!(b.lookup_transform("mars", "mars", at(S)).is_ok());
    assert!(b.can_transform("map", "laser", at(S)));
    assert!(!b.can_transform("map", "laser", at(5 * S)));
    assert!(matches!(
        b.check_transform("map", "moon", at(S)),
        Err(TfError::Connectivity { .. })
    ));
}

#[test]
fn lookup_through_a_fixed_frame() {
    let b = robot();
    // Where the laser was at 1 s, seen from base at 2 s (the robot moved 2 m forward).
    let t = b
        .lookup_transform_full(
            "base",
            Time::from_nanos(2 * S),
            "laser",
            Time::from_nanos(S),
            "odom",
        )
        .unwrap();
    assert!(close(xyz(&t), [-2.0, 1.0, 0.0]));
    assert_eq!(t.header.stamp.as_nanos(), 2 * S);
    assert!(b.can_transform_full(
        "base",
        Time::from_nanos(2 * S),
        "laser",
        Time::from_nanos(S),
        "odom"
    ));
    let e = b
        .lookup_transform_full(
            "base",
            Time::from_nanos(2 * S),
            "laser",
            Time::from_nanos(S),
            "nowhere",
        )
        .unwrap_err();
    assert!(matches!(e, TfError::UnknownFrame { .. }));
}

#[test]
fn refused_transforms_say_why() {
    let b = Buffer::new(std::time::Duration::from_secs(1));
    let reason = |t: &TransformStamped| match b.set_transform(t, "x", false) {
        Err(TfError::Rejected { reason, .. }) => Some(reason),
        _ => None,
    };
    assert_eq!(
        reason(&tf("a", "a", S, [0.0; 3], 0.0)),
        Some(Rejection::SelfTransform)
    );
    assert_eq!(
        reason(&tf("a", "", S, [0.0; 3], 0.0)),
        Some(Rejection::NoChildFrameId)
    );
    assert_eq!(
        reason(&tf("", "b", S, [0.0; 3], 0.0)),
        Some(Rejection::NoFrameId)
    );
    assert_eq!(
        reason(&tf("a", "b", S, [f64::NAN, 0.0, 0.0], 0.0)),
        Some(Rejection::NanInput)
    );
    let mut long = tf("a", "b", S, [0.0; 3], 0.0);
    long.transform.rotation.w = 2.0;
    assert_eq!(reason(&long), Some(Rejection::DenormalizedQuaternion));
    assert_eq!(reason(&tf("/a", "/b", 5 * S, [0.0; 3], 0.0)), None);
    assert!(b.frame_exists("a") && b.frame_exists("b") && !b.frame_exists("/a"));
    assert_eq!(
        reason(&tf("a", "b", 5 * S, [0.0; 3], 0.0)),
        Some(Rejection::RepeatedData)
    );
    assert!(matches!(
        reason(&tf("a", "b", 3 * S, [0.0; 3], 0.0)),
        Some(Rejection::OldData { .. })
    ));
}

#[test]
fn clear_keeps_static_transforms() {
    let b = robot();
    b.clear();
    assert!(b
        .lookup_transform("map", "odom", Time::from_nanos(S))
        .is_ok());
    let e = b
        .lookup_transform("odom", "base", Time::from_nanos(S))
        .unwrap_err();
    assert!(
        matches!(
            e,
            TfError::Extrapolation {
                kind: Extrapolation::NoData,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn frame_snapshot_for_tf_frames() {
    let b = robot();
    let frames = b.all_frames();
    let names: Vec<&str> = frames.iter().map(|f| f.frame.as_str()).collect();
    assert_eq!(names, ["base", "laser", "odom"]);
    let base = &frames[0];
    assert_eq!(base.parent, "odom");
    assert!(!base.is_static);
    assert_eq!(base.authority.as_deref(), Some("a"));
    assert_eq!(base.samples, 2);
    assert_eq!(base.most_recent.as_nanos(), 2 * S);
    assert_eq!(base.buffer_length.as_nanos(), S);
    assert_eq!(base.average_rate, Some(1.0));
    assert!(frames[1].is_static && frames[1].average_rate.is_none());
}

#[tokio::test]
async fn wait_for_transform_resolves_when_data_arrives() {
    let b = Buffer::default();
    let mut changes = b.subscribe_changes();
    let writer = b.clone();
    let waiter = tokio::spawn(async move {
        b.wait_for_transform(
            "odom",
            "base",
            Time::from_nanos(S),
            std::time::Duration::from_secs(30),
        )
        .await
    });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    writer
        .set_transform(&tf("odom", "base", S, [1.0, 0.0, 0.0], 0.0), "a", false)
        .unwrap();
    let t = waiter.await.unwrap().unwrap();
    assert!(close(xyz(&t), [1.0, 0.0, 0.0]));
    assert!(changes.has_changed().unwrap());
    changes.borrow_and_update();
    writer.clear();
    assert!(changes.has_changed().unwrap());
}

#[tokio::test]
async fn wait_for_transform_times_out_with_the_last_error() {
    let b = robot();
    let e = b
        .wait_for_transform(
            "map",
            "base",
            Time::from_nanos(9 * S),
            std::time::Duration::from_millis(20),
        )
        .await
        .unwrap_err();
    match e {
        TfError::Timeout { last, .. } => assert_eq!(last.class(), "extrapolation"),
        other => panic!("expected a timeout, got {other}"),
    }
    // Waiting cannot fix a malformed frame id: it fails at once.
    let e = b
        .wait_for_transform(
            "/map",
            "base",
            Time::from_nanos(S),
            std::time::Duration::from_secs(30),
        )
        .await
        .unwrap_err();
    assert_eq!(e.class(), "invalid_argument");
}

#[test]
fn a_parent_loop_is_reported_not_followed_forever() {
    let b = Buffer::default();
    b.set_transform(&tf("a", "b", S, [0.0; 3], 0.0), "x", false)
        .unwrap();
    b.set_transform(&tf("b", "c", S, [0.0; 3], 0.0), "x", false)
        .unwrap();
    b.set_transform(&tf("c", "a", S, [0.0; 3], 0.0), "x", false)
        .unwrap();
    b.set_transform(&tf("z", "y", S, [0.0; 3], 0.0), "x", false)
        .unwrap();
    for time in [0, S] {
        let e = b
            .lookup_transform("y", "a", Time::from_nanos(time))
            .unwrap_err();
        assert!(matches!(e, TfError::Loop { .. }), "{e}");
        assert_eq!(e.class(), "lookup");
    }
}
