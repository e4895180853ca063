//! Borrowed views of big messages: the same CDR layout as the owned message, with byte arrays
//! (and strings) read in place from the received buffer instead of copied, for
//! [`LoanedMessage::view`](crate::node::LoanedMessage::view).
//!
//! A view of any other message is a struct with the message's fields in order, `&'a [u8]`
//! for its `uint8[]` fields (with `#[serde(borrow)]`), implementing [`MessageView`].
//!
//! ```
//! use rosync::msg::{sensor_msgs::Image, views::ImageView};
//! let image = Image { width: 2, height: 1, encoding: "mono8".into(), step: 2, data: vec![7, 9], ..Default::default() };
//! let payload = rosync::cdr::encode(&image).unwrap();
//! let view: ImageView = rosync::cdr::decode_view(&payload).unwrap();
//! assert_eq!(view.data, &[7, 9]);
//! assert_eq!(view.data.as_ptr(), payload[payload.len() - 2..].as_ptr());
//! ```

use serde::Deserialize;

use super::{sensor_msgs, std_msgs, Message};

/// A borrowed form of [`Self::Message`](MessageView::Message): deserializes from the same CDR
/// payload, borrowing its big fields from it.
pub trait MessageView<'a>: Deserialize<'a> {
    /// The owned message type whose payload this view reads.
    type Message: Message;
}

/// `sensor_msgs/msg/Image` with its pixels borrowed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ImageView<'a> {
    /// Acquisition time and camera frame.
    pub header: std_msgs::Header,
    /// Rows.
    pub height: u32,
    /// Columns.
    pub width: u32,
    /// Pixel encoding, such as `rgb8`.
    pub encoding: &'a str,
    /// Whether the data is big-endian.
    pub is_bigendian: u8,
    /// Row length in bytes.
    pub step: u32,
    /// The pixels, in the received buffer.
    #[serde(borrow)]
    pub data: &'a [u8],
}

impl<'a> MessageView<'a> for ImageView<'a> {
    type Message = sensor_msgs::Image;
}

/// `sensor_msgs/msg/CompressedImage` with its data borrowed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CompressedImageView<'a> {
    /// Acquisition time and camera frame.
    pub header: std_msgs::Header,
    /// Compression format, such as `jpeg`.
    pub format: &'a str,
    /// The compressed image, in the received buffer.
    #[serde(borrow)]
    pub data: &'a [u8],
}

impl<'a> MessageView<'a> for CompressedImageView<'a> {
    type Message = sensor_msgs::CompressedImage;
}

/// `sensor_msgs/msg/PointCloud2` with its points borrowed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PointCloud2View<'a> {
    /// Acquisition time and sensor frame.
    pub header: std_msgs::Header,
    /// Rows (1 for an unordered cloud).
    pub height: u32,
    /// Points per row.
    pub width: u32,
    /// The layout of one point.
    pub fields: Vec<sensor_msgs::PointField>,
    /// Whether the data is big-endian.
    pub is_bigendian: bool,
    /// Bytes per point.
    pub point_step: u32,
    /// Bytes per row.
    pub row_step: u32,
    /// The points, in the received buffer.
    #[serde(borrow)]
    pub data: &'a [u8],
    /// Whether every point is valid.
    pub is_dense: bool,
}

impl<'a> MessageView<'a> for PointCloud2View<'a> {
    type Message = sensor_msgs::PointCloud2;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cdr;

    fn header() -> std_msgs::Header {
        std_msgs::Header {
            stamp: crate::msg::builtin_interfaces::Time::from_nanos(1_500_000_007),
            frame_id: "cam".into(),
        }
    }

    #[test]
    fn views_read_what_the_owned_messages_hold_in_place() {
        let image = sensor_msgs::Image {
            header: header(),
            height: 2,
            width: 3,
            encoding: "rgb8".into(),
            is_bigendian: 0,
            step: 9,
            data: (0..18).collect(),
        };
        let payload = cdr::encode(&image).expect("encodes");
        let view: ImageView = cdr::decode_view(&payload).expect("view");
        assert_eq!(view.header, image.header);
        assert_eq!((view.height, view.width, view.step), (2, 3, 9));
        assert_eq!(view.encoding, "rgb8");
        assert_eq!(view.data, &image.data[..]);
        let range = payload.as_ptr_range();
        assert!(range.contains(&view.data.as_ptr()), "pixels read in place");

        let cloud = sensor_msgs::PointCloud2 {
            header: header(),
            height: 1,
            width: 2,
            fields: vec![sensor_msgs::PointField {
                name: "x".into(),
                offset: 0,
                datatype: sensor_msgs::PointField::FLOAT32,
                count: 1,
            }],
            is_bigendian: false,
            point_step: 4,
            row_step: 8,
            data: vec![1, 2, 3, 4, 5, 6, 7, 8],
            is_dense: true,
        };
        let payload = cdr::encode(&cloud).expect("encodes");
        let view: PointCloud2View = cdr::decode_view(&payload).expect("view");
        assert_eq!(view.fields, cloud.fields);
        assert_eq!(view.data, &cloud.data[..]);
        assert!(view.is_dense);
        assert!(payload.as_ptr_range().contains(&view.data.as_ptr()));

        let jpeg = sensor_msgs::CompressedImage {
            header: header(),
            format: "jpeg".into(),
            data: vec![0xff, 0xd8, 0xff],
        };
        let payload = cdr::encode(&jpeg).expect("encodes");
        let view: CompressedImageView = cdr::decode_view(&payload).expect("view");
        assert_eq!((view.format, view.data), ("jpeg", &jpeg.data[..]));
    }

    #[test]
    fn a_truncated_payload_is_an_error_not_a_panic() {
        let image = sensor_msgs::Image {
            encoding: "mono8".into(),
            data: vec![1; 64],
            ..Default::default()
        };
        let payload = cdr::encode(&image).expect("encodes");
        for cut in [0, 3, 10, payload.len() - 1] {
            assert!(
                cdr::decode_view::<ImageView>(&payload[..cut]).is_err(),
                "cut at {cut}"
            );
        }
    }
}
