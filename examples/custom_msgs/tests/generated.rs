//! The generated custom package: defaults, constants, traits, CDR and hashes checked
//! against Python rosbags parsing the same .msg files.

use custom_msgs_example::my_robot_msgs::{Detection, Status, Tags};
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
for name in ["Status", "Detection", "Tags"]:
    text = Path("{dir}/" + name + ".msg").read_text()
    types.update(get_types_from_msg(text, "my_robot_msgs/msg/" + name))
ts.register(types)
print(ts.hash_rihs01("my_robot_msgs/msg/Status"))
print(ts.hash_rihs01("my_robot_msgs/msg/Detection"))
print(ts.hash_rihs01("my_robot_msgs/msg/Tags"))
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
    assert_eq!(
        hashes,
        [Status::TYPE_HASH, Detection::TYPE_HASH, Tags::TYPE_HASH]
    );
}

/// `Tags` without its bounds: the same CDR layout, so it writes what a peer that does not check
/// bounds could send.
#[derive(rosync::__private::serde::Serialize, Clone)]
#[serde(crate = "rosync::__private::serde")]
struct LooseTags {
    names: Vec<String>,
    codes: Vec<String>,
    pair: [String; 2],
    #[serde(with = "rosync::msg::serde_helpers::bytes")]
    flags: Vec<u8>,
    scores: Vec<f64>,
}

impl From<&Tags> for LooseTags {
    fn from(t: &Tags) -> Self {
        Self {
            names: t.names.clone(),
            codes: t.codes.clone(),
            pair: t.pair.clone(),
            flags: t.flags.clone(),
            scores: t.scores.clone(),
        }
    }
}

#[test]
fn bounded_fields_are_enforced_when_encoding_and_decoding() {
    let full = Tags {
        names: vec!["12345678".into(), "a".into(), "".into()],
        codes: vec!["abcd".into(); 5],
        pair: ["wxyz".into(), "".into()],
        flags: vec![1, 2, 3, 4],
        scores: vec![0.5, 1.5],
    };
    let bytes = cdr::encode(&full).expect("values at their bounds encode");
    assert_eq!(
        cdr::encode(&LooseTags::from(&full)).expect("encodes"),
        bytes
    );
    assert_eq!(cdr::decode::<Tags>(&bytes).expect("decodes"), full);

    type Grow = fn(&mut Tags);
    let over: [(&str, Grow); 7] = [
        ("Tags.names", |t| t.names.push("x".into())),
        ("Tags.names", |t| t.names[0].push('9')),
        ("Tags.codes", |t| t.codes[4].push('e')),
        ("Tags.pair", |t| t.pair[1] = "12345".into()),
        ("Tags.flags", |t| t.flags.push(5)),
        ("Tags.scores", |t| t.scores.push(2.5)),
        ("Tags.names", |t| t.names = vec!["é".repeat(5)]),
    ];
    for (field, grow) in over {
        let mut tags = full.clone();
        grow(&mut tags);
        let e = cdr::encode(&tags).expect_err("over its bound");
        assert!(e.to_string().contains(field), "{field}: {e}");
        let loose = cdr::encode(&LooseTags::from(&tags)).expect("no bound without the check");
        let e = cdr::decode::<Tags>(&loose).expect_err("over its bound");
        assert!(e.to_string().contains(field), "{field}: {e}");
        assert!(e.to_string().contains("bound"), "{field}: {e}");
    }

    // The bounds of the existing types too: string<=32 label and int32[<=4] codes.
    let mut d = Detection {
        label: "x".repeat(33),
        ..Default::default()
    };
    assert!(cdr::encode(&d).is_err());
    d.label.pop();
    d.source.codes = vec![0; 5];
    let e = cdr::encode(&d).expect_err("5 codes");
    assert!(e.to_string().contains("Status.codes"), "{e}");
    // JSON (rosync topic pub) is checked too.
    let json = serde_json::json!({"codes": [1, 2, 3, 4, 5]});
    assert!(rosync::msg::DynType::of::<Status>()
        .encode_json(json)
        .is_err());
}
