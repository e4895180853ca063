//! The generated custom package: defaults, constants, traits, CDR and hashes checked
//! against Python rosbags parsing the same .msg files.

use custom_msgs_example::my_robot_msgs::{Detection, Status};
use rosync::cdr;
use rosync::msg::{Message, Stamped};

#[test]
fn defaults_and_constants_follow_the_msg_files() {
    let status = Status::default();
    assert_eq!(status.battery_voltage, 12.5);
    assert_eq!(status.codes, vec![1, 2]);
    assert_eq!(status.level, Status::LEVEL_OK);
    assert_eq!(Status::SOURCE_DEFAULT, "base");
    assert_eq!(
        status.pose.orientation.w, 1.0,
        "nested rosync types keep their defaults"
    );
    assert_eq!(Detection::TYPE_NAME, "my_robot_msgs/msg/Detection");
    assert!(Detection::DEFINITION.contains("MSG: my_robot_msgs/Status"));
    assert!(Detection::DEFINITION.contains("MSG: geometry_msgs/Pose"));
}

#[test]
fn custom_messages_are_stamped_and_round_trip() {
    let mut d = Detection {
        label: "box".into(),
        confidence: 0.5,
        bbox: [1.0, 2.0, 3.0, 4.0],
        ..Default::default()
    };
    d.header.stamp = rosync::Time::from_nanos(42);
    d.source.messages = vec!["hot".into()];
    assert_eq!(d.stamp().as_nanos(), 42);
    let bytes = cdr::encode(&d).expect("encodes");
    assert_eq!(cdr::decode::<Detection>(&bytes).expect("decodes"), d);
}

#[test]
fn hashes_match_rosbags_on_the_same_files() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/msgs/my_robot_msgs");
    let script = format!(
        r#"
from pathlib import Path
from rosbags.typesys import Stores, get_typestore, get_types_from_msg
ts = get_typestore(Stores.ROS2_JAZZY)
types = {{}}
for name in ["Status", "Detection"]:
    text = Path("{dir}/" + name + ".msg").read_text()
    types.update(get_types_from_msg(text, "my_robot_msgs/msg/" + name))
ts.register(types)
print(ts.hash_rihs01("my_robot_msgs/msg/Status"))
print(ts.hash_rihs01("my_robot_msgs/msg/Detection"))
"#
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let hashes: Vec<&str> = text.lines().collect();
    assert_eq!(hashes, [Status::TYPE_HASH, Detection::TYPE_HASH]);
}
