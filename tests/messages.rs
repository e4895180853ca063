//! Messages and CDR against independent references: Python `rosbags` (Jazzy typestore).
//!
//! The vectors in `tests/golden/` come from `tests/python/make_cdr_golden.py` and
//! `tests/python/make_type_hashes.py`; rosync must decode them to equal values and encode the
//! same values to the same bytes, and compute the same RIHS01 hash for every shipped type.

use std::path::Path;

use proptest::prelude::*;
use rosync::cdr;
use rosync::msg::{
    builtin_interfaces, geometry_msgs, registry, rosgraph_msgs, sensor_msgs, std_msgs, Message,
};

fn golden_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden"))
}

/// Decodes the rosbags bytes and encodes the JSON value, and compares both ways.
fn check_case<T: Message>(name: &str, value: serde_json::Value, bytes: &[u8]) {
    let expected: T = serde_json::from_value(value)
        .unwrap_or_else(|e| panic!("{name}: JSON does not fit {}: {e}", T::TYPE_NAME));
    let decoded: T = cdr::decode(bytes).unwrap_or_else(|e| panic!("{name}: decode failed: {e}"));
    assert_eq!(decoded, expected, "{name}: decoded value differs");
    let encoded = cdr::encode(&expected).unwrap_or_else(|e| panic!("{name}: encode failed: {e}"));
    assert_eq!(encoded, bytes, "{name}: encoding differs from rosbags");
}

#[test]
fn cdr_matches_rosbags_both_ways() {
    let mut checked = 0;
    let dir = golden_dir().join("cdr");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/golden/cdr exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    entries.sort();
    for json_path in entries {
        let name = json_path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("?")
            .to_string();
        let case: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json_path).expect("readable"))
                .expect("valid JSON");
        let bytes = std::fs::read(json_path.with_extension("cdr")).expect("matching .cdr file");
        let value = case["value"].clone();
        let type_name = case["type"].as_str().expect("type field");
        match type_name {
            "std_msgs/msg/Header" => check_case::<std_msgs::Header>(&name, value, &bytes),
            "std_msgs/msg/String" => check_case::<std_msgs::String>(&name, value, &bytes),
            "std_msgs/msg/Empty" => check_case::<std_msgs::Empty>(&name, value, &bytes),
            "std_msgs/msg/Float64MultiArray" => {
                check_case::<std_msgs::Float64MultiArray>(&name, value, &bytes)
            }
            "sensor_msgs/msg/Image" => check_case::<sensor_msgs::Image>(&name, value, &bytes),
            "sensor_msgs/msg/CameraInfo" => {
                check_case::<sensor_msgs::CameraInfo>(&name, value, &bytes)
            }
            "sensor_msgs/msg/Imu" => check_case::<sensor_msgs::Imu>(&name, value, &bytes),
            "sensor_msgs/msg/PointCloud2" => {
                check_case::<sensor_msgs::PointCloud2>(&name, value, &bytes)
            }
            "sensor_msgs/msg/LaserScan" => {
                check_case::<sensor_msgs::LaserScan>(&name, value, &bytes)
            }
            "sensor_msgs/msg/NavSatFix" => {
                check_case::<sensor_msgs::NavSatFix>(&name, value, &bytes)
            }
            "sensor_msgs/msg/JointState" => {
                check_case::<sensor_msgs::JointState>(&name, value, &bytes)
            }
            "geometry_msgs/msg/PoseWithCovarianceStamped" => {
                check_case::<geometry_msgs::PoseWithCovarianceStamped>(&name, value, &bytes)
            }
            "geometry_msgs/msg/TransformStamped" => {
                check_case::<geometry_msgs::TransformStamped>(&name, value, &bytes)
            }
            "rosgraph_msgs/msg/Clock" => check_case::<rosgraph_msgs::Clock>(&name, value, &bytes),
            other => panic!("{name}: no typed check for {other}; add it here"),
        }
        checked += 1;
    }
    assert!(checked >= 17, "only {checked} golden cases found");
}

#[test]
fn camera_info_float_sequence_is_padded_like_ros() {
    // The `d` sequence length ends on a 4-byte boundary, so its float64s need 4 bytes of padding.
    let bytes = std::fs::read(golden_dir().join("cdr/camera_info.cdr")).expect("golden file");
    let info: sensor_msgs::CameraInfo = cdr::decode(&bytes).expect("decodes");
    assert_eq!(info.d.len(), 5);
    assert_eq!(info.distortion_model, "plumb_bob");
}

#[test]
fn every_type_hash_matches_rosbags() {
    let text = std::fs::read_to_string(golden_dir().join("type_hashes.json")).expect("readable");
    let mut expected: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&text).expect("valid JSON");
    // rosbags hashes `char` as the IDL char type (13); rosidl turns a .msg `char` into uint8
    // (3), and ROS 2 itself publishes std_msgs/Char with this hash (as the generated type
    // tables of other rmw_zenoh-compatible projects record).
    expected.insert(
        "std_msgs/msg/Char".into(),
        "RIHS01_3ad2d04dd29ba19d04b16659afa3ccaedd691914b02a64e82e252f2fa6a586a9".into(),
    );
    // The same deviation for its `char[16] client_gid`.
    expected.insert(
        "service_msgs/msg/ServiceEventInfo".into(),
        "RIHS01_41bcbbe07a75c9b52bc96bfd5c24d7f0fc0a08c0cb7921b3373c5732345a6f45".into(),
    );
    // Services' requests and responses are checked by tests/services.rs.
    let ours: std::collections::BTreeMap<String, String> = registry()
        .filter(|t| t.type_name.contains("/msg/"))
        .map(|t| (t.type_name.to_string(), t.type_hash.to_string()))
        .collect();
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "shipped types differ from rosbags' Jazzy typestore"
    );
    for (name, hash) in &ours {
        assert_eq!(
            hash, &expected[name],
            "type hash of {name} differs from rosbags"
        );
    }
    assert_eq!(
        std_msgs::String::TYPE_HASH,
        "RIHS01_df668c740482bbd48fb39d76a70dfd4bd59db1288021743503259e948f6b1a18"
    );
}

#[test]
fn definitions_list_dependencies_like_rosbag2() {
    let def = geometry_msgs::PoseStamped::DEFINITION;
    assert!(def.starts_with("# "), "{def}");
    let sections: Vec<&str> = def.lines().filter(|l| l.starts_with("MSG: ")).collect();
    assert_eq!(
        sections,
        [
            "MSG: std_msgs/Header",
            "MSG: builtin_interfaces/Time",
            "MSG: geometry_msgs/Pose",
            "MSG: geometry_msgs/Point",
            "MSG: geometry_msgs/Quaternion"
        ]
    );
    assert!(builtin_interfaces::Time::DEFINITION.contains("uint32 nanosec"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Random bytes never panic the decoder; they decode or give a typed error.
    #[test]
    fn random_payloads_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        if bytes.len() >= 2 && bytes[0] % 2 == 0 {
            // Make half of the inputs carry a valid header so the body is exercised.
            bytes[0] = 0;
            bytes[1] = 1;
        }
        let _ = cdr::decode::<sensor_msgs::Image>(&bytes);
        let _ = cdr::decode::<sensor_msgs::CameraInfo>(&bytes);
        let _ = cdr::decode::<sensor_msgs::PointCloud2>(&bytes);
        let _ = cdr::decode::<std_msgs::String>(&bytes);
        let _ = cdr::decode::<geometry_msgs::PoseWithCovarianceStamped>(&bytes);
    }

    /// Every prefix of a valid payload is rejected with an error, never accepted or a panic.
    #[test]
    fn truncated_payloads_are_errors(cut in 0usize..100) {
        let info = sensor_msgs::CameraInfo {
            distortion_model: "plumb_bob".into(),
            d: vec![0.1, 0.2, 0.3, 0.4, 0.5],
            ..Default::default()
        };
        let bytes = cdr::encode(&info).expect("encodes");
        let cut = cut.min(bytes.len() - 1);
        prop_assert!(cdr::decode::<sensor_msgs::CameraInfo>(&bytes[..cut]).is_err());
    }
}

#[test]
fn msg_files_match_rosbags_jazzy_typestore() {
    // Fields, types, bounds and constants of every .msg file against rosbags' Jazzy types.
    let out = std::process::Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/python/check_msgs.py"
        ))
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "check_msgs.py failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
