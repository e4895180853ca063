//! What the decoder refuses and what it accepts, byte by byte (see [`super::de`]).

use super::{decode, decode_segments, encode, CdrError};
use crate::msg::sensor_msgs::{CameraInfo, Image};
use crate::msg::std_msgs;

fn string(payload: &[u8]) -> Result<String, CdrError> {
    decode::<std_msgs::String>(payload).map(|m| m.data)
}

#[test]
fn up_to_three_bytes_of_padding_may_follow_a_message_but_no_more() {
    let hi = [0, 1, 0, 0, 3, 0, 0, 0, b'h', b'i', 0];
    for pad in 0..=3 {
        let mut bytes = hi.to_vec();
        bytes.extend(std::iter::repeat_n(0, pad));
        assert_eq!(
            string(&bytes).as_deref(),
            Ok("hi"),
            "{pad} bytes of padding"
        );
    }
    let mut bytes = hi.to_vec();
    bytes.extend([0; 4]);
    assert_eq!(
        string(&bytes),
        Err(CdrError::TrailingBytes {
            offset: 11,
            extra: 4
        })
    );
    // A message of another type: an Image payload read as a String.
    let image = encode(&Image::default()).expect("encodes");
    let err = decode::<std_msgs::Header>(&image).expect_err("not a Header");
    assert!(matches!(err, CdrError::TrailingBytes { .. }), "{err}");
    let pieces = [&bytes[..6], &bytes[6..]];
    assert!(matches!(
        decode_segments::<std_msgs::String>(pieces),
        Err(CdrError::TrailingBytes { .. })
    ));
}

#[test]
fn big_endian_and_the_options_bytes_are_accepted() {
    assert_eq!(
        string(&[0, 0, 0, 0, 0, 0, 0, 3, b'h', b'i', 0]).as_deref(),
        Ok("hi")
    );
    // XCDR1 keeps the padding count in the options; rosbags ignores them, and so does rosync.
    assert_eq!(
        string(&[0, 1, 0, 1, 3, 0, 0, 0, b'h', b'i', 0, 0]).as_deref(),
        Ok("hi")
    );
    for other in [[0, 2], [0, 3], [0, 6], [0, 7], [1, 1]] {
        let bytes = [other[0], other[1], 0, 0, 1, 0, 0, 0, 0];
        assert_eq!(
            string(&bytes),
            Err(CdrError::UnsupportedEncapsulation(other))
        );
    }
}

#[test]
fn strings_must_end_with_their_nul_and_be_utf8() {
    let no_nul = string(&[0, 1, 0, 0, 2, 0, 0, 0, b'h', b'i']).expect_err("no NUL");
    assert!(no_nul.to_string().contains("NUL"), "{no_nul}");
    let latin1 = string(&[0, 1, 0, 0, 2, 0, 0, 0, 0xe9, 0]).expect_err("not UTF-8");
    assert!(latin1.to_string().contains("UTF-8"), "{latin1}");
    // A NUL inside is kept (C++ std::string can carry one; rosbags accepts it too).
    assert_eq!(
        string(&[0, 1, 0, 0, 4, 0, 0, 0, b'a', 0, b'b', 0]).as_deref(),
        Ok("a\0b")
    );
}

#[test]
fn bools_are_zero_or_one() {
    assert_eq!(
        decode::<std_msgs::Bool>(&[0, 1, 0, 0, 1]).map(|b| b.data),
        Ok(true)
    );
    assert_eq!(
        decode::<std_msgs::Bool>(&[0, 1, 0, 0, 2]),
        Err(CdrError::InvalidBool {
            offset: 4,
            value: 2
        })
    );
}

#[test]
fn a_huge_length_prefix_errors_at_once_for_every_sequence_kind() {
    // Image: frame_id's length (after the 8-byte stamp), then data's length.
    let mut image = encode(&Image::default()).expect("encodes");
    image[12..16].copy_from_slice(&[0xff; 4]);
    assert!(matches!(
        decode::<Image>(&image),
        Err(CdrError::LengthExceedsPayload { offset: 12, .. })
    ));
    let mut image = encode(&Image::default()).expect("encodes");
    let data_len = image.len() - 4;
    image[data_len..].copy_from_slice(&[0xff; 4]);
    assert!(matches!(
        decode::<Image>(&image),
        Err(CdrError::LengthExceedsPayload { .. })
    ));
    // CameraInfo: d (float64[]) claiming 2^32 - 1 values with 8 bytes left.
    let info = encode(&CameraInfo::default()).expect("encodes");
    // Header (stamp, frame_id "" and padding), height, width, distortion_model "" and padding.
    let d_at = 4 + 16 + 4 + 4 + 8;
    let mut cut = info[..d_at].to_vec();
    cut.extend([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert!(matches!(
        decode::<CameraInfo>(&cut),
        Err(CdrError::LengthExceedsPayload { .. })
    ));
    assert!(matches!(
        decode::<std_msgs::String>(&[0, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]),
        Err(CdrError::LengthExceedsPayload { .. })
    ));
}

#[test]
fn padding_past_the_end_is_truncation() {
    // An Image cut right after frame_id's NUL (byte 17): height needs 3 bytes of padding first.
    let image = encode(&Image::default()).expect("encodes");
    let err = decode::<Image>(&image[..17]).expect_err("cut");
    assert!(
        matches!(
            err,
            CdrError::Truncated {
                what: "alignment padding",
                ..
            }
        ),
        "{err}"
    );
    let err = decode::<std_msgs::Int64>(&[0, 1, 0, 0, 1, 2, 3]).expect_err("cut");
    assert!(matches!(err, CdrError::Truncated { .. }), "{err}");
}
