//! CDR (XCDR1) encoding and decoding of messages, as ROS 2 puts them on the wire.
//!
//! A payload is the 4-byte encapsulation header (`00 01 00 00` for little-endian CDR) followed
//! by the message, each primitive aligned to its size relative to the end of the header.
//!
//! Encoding uses the [`cdr`](https://docs.rs/cdr) crate's serializer. Decoding uses rosync's
//! own serde deserializer over a byte slice ([`de`]): the `cdr` 0.2 deserializer allocates
//! the length a sequence *claims* before checking it against the payload (a 12-byte
//! malformed payload can ask for 4 GiB) and reads through `io::Read` one primitive at a time;
//! ours checks every length against the bytes that remain and copies `uint8[]` data in one go.
//! Both directions are checked byte for byte against Python `rosbags` in `tests/cdr_golden.rs`.

pub mod de;
#[cfg(test)]
mod strict_tests;

use serde::{de::DeserializeOwned, Serialize};

/// The encapsulation header of little-endian plain CDR, which rosync writes.
pub const CDR_LE_HEADER: [u8; 4] = [0x00, 0x01, 0x00, 0x00];

/// Why a payload could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CdrError {
    /// The payload is shorter than the encapsulation header.
    #[error("payload of {len} bytes is shorter than the 4-byte CDR encapsulation header")]
    MissingHeader {
        /// The payload's length.
        len: usize,
    },
    /// The encapsulation header names a representation other than plain CDR.
    #[error("unsupported CDR encapsulation {0:02x?} (expected 00 00 or 00 01: plain CDR)")]
    UnsupportedEncapsulation([u8; 2]),
    /// The payload ends before the message does.
    #[error("payload truncated at byte {offset}: {needed} more bytes needed for {what}")]
    Truncated {
        /// Offset in the payload (header included) where data ran out.
        offset: usize,
        /// Bytes missing.
        needed: usize,
        /// What was being read.
        what: &'static str,
    },
    /// A bool is neither 0 nor 1.
    #[error("invalid bool value {value} at byte {offset}")]
    InvalidBool {
        /// Offset in the payload.
        offset: usize,
        /// The byte found.
        value: u8,
    },
    /// A string is not UTF-8 or not NUL-terminated.
    #[error("invalid string at byte {offset}: {reason}")]
    InvalidString {
        /// Offset of the string's length in the payload.
        offset: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A sequence length exceeds what the payload can hold.
    #[error("sequence at byte {offset} claims {len} elements but only {remaining} bytes remain")]
    LengthExceedsPayload {
        /// Offset of the length in the payload.
        offset: usize,
        /// The length claimed.
        len: usize,
        /// Bytes left in the payload.
        remaining: usize,
    },
    /// More bytes follow the message than the at most 3 bytes of padding CDR allows.
    #[error(
        "{extra} bytes follow the message at byte {offset} (at most 3 bytes of padding may): \
         the payload is not of this type"
    )]
    TrailingBytes {
        /// Offset in the payload (header included) where the message ended.
        offset: usize,
        /// Bytes after it.
        extra: usize,
    },
    /// The value cannot be represented in CDR, or another error raised by serde.
    #[error("{0}")]
    Message(String),
}

impl serde::de::Error for CdrError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Self::Message(msg.to_string())
    }
}

/// Encodes `msg` as a little-endian CDR payload, header included.
pub fn encode<T: Serialize + ?Sized>(msg: &T) -> Result<Vec<u8>, CdrError> {
    let mut buf = Vec::with_capacity(encoded_len(msg));
    encode_into(msg, &mut buf)?;
    Ok(buf)
}

/// Appends the CDR payload of `msg` to `buf` (reserve [`encoded_len`] first to avoid growth).
pub fn encode_into<T: Serialize + ?Sized>(msg: &T, buf: &mut Vec<u8>) -> Result<(), CdrError> {
    cdr::serialize_into::<_, _, _, cdr::CdrLe>(buf, msg, cdr::Infinite)
        .map_err(|e| CdrError::Message(format!("CDR encoding failed: {e}")))
}

/// Writes the CDR payload of `msg` into `buf`, which must be exactly [`encoded_len`] long
/// (such as a shared-memory buffer): the message is encoded once, in place.
pub fn encode_into_slice<T: Serialize + ?Sized>(msg: &T, buf: &mut [u8]) -> Result<(), CdrError> {
    let len = buf.len();
    let mut rest = &mut buf[..];
    cdr::serialize_into::<_, _, _, cdr::CdrLe>(&mut rest, msg, cdr::Infinite)
        .map_err(|e| CdrError::Message(format!("CDR encoding failed: {e}")))?;
    match rest.len() {
        0 => Ok(()),
        left => Err(CdrError::Message(format!(
            "CDR encoding wrote {} of the {len} bytes planned",
            len - left
        ))),
    }
}

/// Decodes a CDR payload held in one piece into a view that borrows from it: `&[u8]` and
/// `&str` fields point into `payload` (no copy of the pixels of an image view).
pub fn decode_view<'a, T: serde::Deserialize<'a>>(payload: &'a [u8]) -> Result<T, CdrError> {
    let mut de = de::Deserializer::from_payload(payload)?;
    let msg = T::deserialize(&mut de)?;
    de.end()?;
    Ok(msg)
}

/// The exact length of `msg`'s CDR payload, header included.
pub fn encoded_len<T: Serialize + ?Sized>(msg: &T) -> usize {
    cdr::calc_serialized_size(msg) as usize
}

/// Decodes a CDR payload (header included) into a message; see [`de`] for what is refused.
pub fn decode<T: DeserializeOwned>(payload: &[u8]) -> Result<T, CdrError> {
    let mut de = de::Deserializer::from_payload(payload)?;
    let msg = T::deserialize(&mut de)?;
    de.end()?;
    Ok(msg)
}

/// Decodes a payload that arrived in pieces, copying each byte once, straight into the message.
pub fn decode_segments<'a, T: DeserializeOwned>(
    segments: impl IntoIterator<Item = &'a [u8]>,
) -> Result<T, CdrError> {
    let mut de = de::Deserializer::from_segments(segments.into_iter().collect())?;
    let msg = T::deserialize(&mut de)?;
    de.end()?;
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::std_msgs;

    #[test]
    fn string_round_trip_has_the_ros_layout() {
        let msg = std_msgs::String { data: "hi".into() };
        let bytes = encode(&msg).expect("encodes");
        assert_eq!(bytes, [0, 1, 0, 0, 3, 0, 0, 0, b'h', b'i', 0]);
        assert_eq!(encoded_len(&msg), bytes.len());
        assert_eq!(decode::<std_msgs::String>(&bytes), Ok(msg));
    }

    #[test]
    fn bad_headers_are_typed_errors() {
        assert_eq!(
            decode::<std_msgs::String>(&[0, 1]),
            Err(CdrError::MissingHeader { len: 2 })
        );
        assert_eq!(
            decode::<std_msgs::String>(&[0, 7, 0, 0, 1, 0, 0, 0, 0]),
            Err(CdrError::UnsupportedEncapsulation([0, 7]))
        );
    }

    #[test]
    fn fragmented_payloads_decode_at_every_split() {
        let info = crate::msg::sensor_msgs::CameraInfo {
            distortion_model: "plumb_bob".into(),
            d: vec![0.5, -0.25, 0.125],
            ..Default::default()
        };
        let bytes = encode(&info).expect("encodes");
        for a in 0..bytes.len() {
            for b in a..bytes.len() {
                let pieces = [&bytes[..a], &bytes[a..b], &bytes[b..]];
                assert_eq!(
                    decode_segments(pieces),
                    Ok(info.clone()),
                    "split at {a}, {b}"
                );
            }
        }
        let cut = &bytes[..bytes.len() - 3];
        assert!(
            decode_segments::<crate::msg::sensor_msgs::CameraInfo>([&cut[..7], &cut[7..]]).is_err()
        );
    }

    #[test]
    fn a_string_of_length_zero_is_rejected() {
        // "" is length 1 followed by its NUL terminator.
        let empty = encode(&std_msgs::String::default()).expect("encodes");
        assert_eq!(empty, [0, 1, 0, 0, 1, 0, 0, 0, 0]);
        assert_eq!(decode::<std_msgs::String>(&empty).expect("valid").data, "");
        let err = decode::<std_msgs::String>(&[0, 1, 0, 0, 0, 0, 0, 0]).expect_err("length 0");
        assert!(
            matches!(err, CdrError::InvalidString { offset: 4, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("length 0"), "{err}");
        // In a larger message the bad string is reported, not decoded with every later field
        // shifted by four bytes.
        let mut image = crate::msg::sensor_msgs::Image {
            header: crate::msg::std_msgs::Header {
                frame_id: "camera".into(),
                ..Default::default()
            },
            height: 3,
            width: 4,
            encoding: "mono8".into(),
            step: 4,
            data: vec![7; 12],
            ..Default::default()
        };
        let valid = encode(&image).expect("encodes");
        assert_eq!(
            decode::<crate::msg::sensor_msgs::Image>(&valid).expect("valid"),
            image
        );
        image.header.frame_id.clear();
        let mut bytes = encode(&image).expect("encodes");
        // frame_id follows the 8-byte stamp: length 1 + NUL + 3 bytes of padding. Make it
        // length 0, as a broken writer would, keeping the rest of the payload.
        assert_eq!(&bytes[12..17], &[1, 0, 0, 0, 0]);
        bytes[12] = 0;
        bytes.drain(16..20);
        let err = decode::<crate::msg::sensor_msgs::Image>(&bytes).expect_err("length 0");
        assert!(
            matches!(err, CdrError::InvalidString { offset: 12, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn huge_claimed_lengths_do_not_allocate() {
        let bytes = [0, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 2];
        let err = decode::<std_msgs::UInt8MultiArray>(&bytes).expect_err("malformed");
        assert!(
            matches!(err, CdrError::LengthExceedsPayload { .. }),
            "{err}"
        );
    }
}
