//! [`LoanedMessageMut`]: a big message written in place, then published. A camera driver
//! borrows a message from its publisher, writes the pixels straight into the buffer that
//! subscribers on this host will read (the node's shared-memory pool), and publishes it:
//! nothing is encoded or copied at publish time.
//!
//! ```no_run
//! # async fn camera(node: rosync::node::Node) -> rosync::Result<()> {
//! use rosync::msg::sensor_msgs::Image;
//! let publisher = node.publisher::<Image>("/camera/image_raw").await?;
//! let (width, height) = (1920, 1080);
//! let info = Image { width, height, step: width * 3, encoding: "rgb8".into(), ..Default::default() };
//! let mut image = publisher.borrow_loaned_message(info, (width * 3 * height) as usize)?;
//! image.data_mut().fill(128); // the driver writes its pixels here
//! image.set_stamp(rosync::msg::builtin_interfaces::Time::from_nanos(rosync::time::now_nanos()));
//! image.publish().await?;
//! # Ok(()) }
//! ```

use std::ops::Range;

use super::publisher::{Publisher, RawPublisher};
use crate::cdr::CdrError;
use crate::error::Result;
use crate::msg::builtin_interfaces::Time;
use crate::msg::{sensor_msgs, Message, Stamped};

/// A message with one big `uint8[]` field that a publisher can lend for writing in place
/// ([`Publisher::borrow_loaned_message`]). Its first field is `std_msgs/Header header`.
pub trait LoanableMessage: Message + Stamped {
    /// The big byte array written in place, such as an image's `data`.
    fn loaned_field(&mut self) -> &mut Vec<u8>;

    /// How many bytes that array must hold given the other fields, when they fix it (an
    /// image's `height * step`); `None` when any length will do.
    fn loaned_len(&self) -> Option<usize> {
        None
    }
}

impl LoanableMessage for sensor_msgs::Image {
    fn loaned_field(&mut self) -> &mut Vec<u8> {
        &mut self.data
    }

    fn loaned_len(&self) -> Option<usize> {
        (self.height as usize).checked_mul(self.step as usize)
    }
}

impl LoanableMessage for sensor_msgs::PointCloud2 {
    fn loaned_field(&mut self) -> &mut Vec<u8> {
        &mut self.data
    }

    fn loaned_len(&self) -> Option<usize> {
        (self.height as usize).checked_mul(self.row_step as usize)
    }
}

impl LoanableMessage for sensor_msgs::CompressedImage {
    fn loaned_field(&mut self) -> &mut Vec<u8> {
        &mut self.data
    }
}

/// Where a loaned message is written: a buffer of the node's shared-memory pool, or (shared
/// memory off, the message under the threshold, or the pool full) an ordinary one that
/// goes over the network.
enum LoanBuffer {
    #[cfg(feature = "shared-memory")]
    Shared(zenoh::shm::ZShmMut),
    Heap(Vec<u8>),
}

impl LoanBuffer {
    /// A buffer of `len` bytes from the pool, when a message that long goes there and the
    /// pool has room.
    #[cfg(feature = "shared-memory")]
    fn shared(shm: &super::shm::ShmPool, len: usize) -> Option<Self> {
        if !shm.wants(len) {
            return None;
        }
        shm.alloc(len).map(Self::Shared)
    }

    /// Without the `shared-memory` feature every buffer is an ordinary one.
    #[cfg(not(feature = "shared-memory"))]
    fn shared(_shm: &super::shm::ShmPool, _len: usize) -> Option<Self> {
        None
    }

    fn bytes(&self) -> &[u8] {
        match self {
            #[cfg(feature = "shared-memory")]
            Self::Shared(buf) => &buf[..],
            Self::Heap(buf) => buf,
        }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        match self {
            #[cfg(feature = "shared-memory")]
            Self::Shared(buf) => &mut buf[..],
            Self::Heap(buf) => buf,
        }
    }
}

/// A message of type `T` lent by a [`Publisher`], complete but for its big byte array, which
/// is written in place through [`data_mut`](Self::data_mut) before [`publish`](Self::publish)
/// hands the buffer to zenoh as it is. Dropping it unpublished returns the buffer.
pub struct LoanedMessageMut<'a, T> {
    publisher: &'a Publisher<T>,
    buffer: LoanBuffer,
    /// Where the byte array lies in the CDR payload.
    data: Range<usize>,
}

impl<T> std::fmt::Debug for LoanedMessageMut<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoanedMessageMut")
            .field("topic", &self.publisher.topic())
            .field("len", &self.buffer.bytes().len())
            .field("data", &self.data)
            .field(
                "shared_memory",
                &!matches!(self.buffer, LoanBuffer::Heap(_)),
            )
            .finish()
    }
}

impl<T: LoanableMessage> Publisher<T> {
    /// Lends a message to write in place: `template`'s fields (header, size, encoding...)
    /// are encoded now, its big byte array (an image's pixels) is `data_len` bytes to fill
    /// through [`LoanedMessageMut::data_mut`] (its content in `template` is ignored). The
    /// buffer comes from the node's shared-memory pool when the message is big enough (else,
    /// or when the pool is full, an ordinary buffer: publishing falls back to the network).
    ///
    /// Fails when `data_len` does not fit the other fields (an image's `height * step`) or
    /// CDR's 32-bit length.
    pub fn borrow_loaned_message(
        &self,
        mut template: T,
        data_len: usize,
    ) -> Result<LoanedMessageMut<'_, T>> {
        if let Some(expected) = template.loaned_len() {
            if expected != data_len {
                return Err(CdrError::Message(format!(
                    "a loaned {} needs {expected} bytes of data for its other fields, not \
                     {data_len}",
                    T::TYPE_NAME
                ))
                .into());
            }
        }
        let layout = Layout::of(&mut template, data_len)?;
        let len = layout.len(data_len);
        let raw: &RawPublisher = self;
        let mut buffer = LoanBuffer::shared(raw.node().shm(), len)
            .unwrap_or_else(|| LoanBuffer::Heap(vec![0; len]));
        let data = layout.write(buffer.bytes_mut(), data_len);
        Ok(LoanedMessageMut {
            publisher: self,
            buffer,
            data,
        })
    }
}

impl<'a, T: LoanableMessage> LoanedMessageMut<'a, T> {
    /// The big byte array, in place, to fill (from the pool, it holds whatever an earlier
    /// message left there: write every byte).
    pub fn data_mut(&mut self) -> &mut [u8] {
        let data = self.data.clone();
        &mut self.buffer.bytes_mut()[data]
    }

    /// The big byte array as written so far.
    pub fn data(&self) -> &[u8] {
        &self.buffer.bytes()[self.data.clone()]
    }

    /// Sets the header's stamp (such as the time the frame was complete).
    pub fn set_stamp(&mut self, stamp: Time) {
        // The buffer holds a whole encoded message starting with its header: always written.
        let written = crate::msg::set_header_stamp_in_cdr(self.buffer.bytes_mut(), stamp);
        debug_assert!(
            written.is_some(),
            "a loaned message's buffer holds its header"
        );
    }

    /// The complete CDR payload (encapsulation header included).
    pub fn bytes(&self) -> &[u8] {
        self.buffer.bytes()
    }

    /// Whether the message lies in the shared-memory pool (else it goes over the network).
    pub fn is_shared_memory(&self) -> bool {
        match self.buffer {
            #[cfg(feature = "shared-memory")]
            LoanBuffer::Shared(_) => true,
            LoanBuffer::Heap(_) => false,
        }
    }

    /// Publishes the message as written: zenoh takes the buffer without a copy.
    pub async fn publish(self) -> Result<()> {
        let (publisher, payload) = self.into_payload();
        publisher.put(payload).await
    }

    /// The same without `.await`, for synchronous code (as [`Publisher::publish_now`]).
    pub fn publish_now(self) -> Result<()> {
        let (publisher, payload) = self.into_payload();
        publisher.put_now(payload)
    }

    /// The publisher and the buffer as a zenoh payload (counted when in shared memory).
    fn into_payload(self) -> (&'a RawPublisher, zenoh::bytes::ZBytes) {
        let publisher: &'a RawPublisher = self.publisher;
        let payload = match self.buffer {
            #[cfg(feature = "shared-memory")]
            LoanBuffer::Shared(buf) => {
                publisher.node().shm().count_published();
                zenoh::bytes::ZBytes::from(buf)
            }
            LoanBuffer::Heap(buf) => zenoh::bytes::ZBytes::from(buf),
        };
        (publisher, payload)
    }
}

/// The CDR bytes of a loanable message around its byte array: `prefix` (ending with the
/// array's length), the array, then `suffix`. CDR aligns each field to its size relative to
/// the start, and at most to 8, so the bytes after an array of `n` bytes are those after an
/// array of `n % 8` bytes.
struct Layout {
    prefix: Vec<u8>,
    suffix: Vec<u8>,
}

impl Layout {
    /// Encodes `template` with a byte array of `data_len % 8` and of `data_len % 8 + 8`
    /// bytes: the first byte where the two differ starts the array's length.
    fn of<T: LoanableMessage>(template: &mut T, data_len: usize) -> Result<Self> {
        if !crate::msg::definition_starts_with_header(T::DEFINITION) {
            return Err(CdrError::Message(format!(
                "{} cannot be loaned: its first field is not a std_msgs/Header",
                T::TYPE_NAME
            ))
            .into());
        }
        if u32::try_from(data_len).is_err() {
            return Err(CdrError::Message(format!(
                "a loaned {} of {data_len} bytes exceeds CDR's 32-bit sequence length",
                T::TYPE_NAME
            ))
            .into());
        }
        let short = data_len % 8;
        *template.loaned_field() = vec![0; short];
        let a = crate::cdr::encode(template)?;
        *template.loaned_field() = vec![0; short + 8];
        let b = crate::cdr::encode(template)?;
        let start = a.iter().zip(&b).position(|(x, y)| x != y);
        let layout = start.and_then(|start| {
            let data = start + 4;
            let suffix = a.get(data + short..)?;
            let consistent = a.get(start..data)? == (short as u32).to_le_bytes()
                && b.get(data + short + 8..)? == suffix;
            consistent.then(|| Self {
                prefix: a[..data].to_vec(),
                suffix: suffix.to_vec(),
            })
        });
        layout.ok_or_else(|| {
            CdrError::Message(format!(
                "{}'s loaned field is not a uint8[] sequence",
                T::TYPE_NAME
            ))
            .into()
        })
    }

    /// The payload's length with an array of `data_len` bytes.
    fn len(&self, data_len: usize) -> usize {
        self.prefix.len() + data_len + self.suffix.len()
    }

    /// Writes everything but the array into `buf` ([`len`](Self::len) bytes); returns where
    /// the array goes.
    fn write(&self, buf: &mut [u8], data_len: usize) -> Range<usize> {
        let start = self.prefix.len();
        buf[..start].copy_from_slice(&self.prefix);
        buf[start - 4..start].copy_from_slice(&(data_len as u32).to_le_bytes());
        buf[start + data_len..].copy_from_slice(&self.suffix);
        start..start + data_len
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::std_msgs::Header;

    fn header() -> Header {
        Header {
            stamp: Time::from_nanos(1_700_000_000_000_000_001),
            frame_id: "sensor".into(),
        }
    }

    /// Writes `msg` through its layout, the byte array filled in place, and checks the
    /// result is byte for byte the CDR payload of `msg`.
    fn written_in_place_equals_encoded<T: LoanableMessage>(mut msg: T) {
        let data = msg.loaned_field().clone();
        let expected = crate::cdr::encode(&msg).expect("encodes");
        let mut template = msg.clone();
        *template.loaned_field() = vec![0xEE; 3];
        let layout = Layout::of(&mut template, data.len()).expect("layout");
        let mut buf = vec![0x55; layout.len(data.len())];
        let range = layout.write(&mut buf, data.len());
        buf[range].copy_from_slice(&data);
        assert_eq!(buf, expected, "{} with {} bytes", T::TYPE_NAME, data.len());
        assert_eq!(crate::cdr::decode::<T>(&buf).as_ref(), Ok(&msg));
    }

    #[test]
    fn every_length_is_laid_out_as_the_encoder_lays_it_out() {
        for len in (0..=17).chain([640 * 3 * 2 + 5]) {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 + 1) as u8).collect();
            written_in_place_equals_encoded(sensor_msgs::Image {
                header: header(),
                height: 1,
                width: len as u32,
                encoding: "mono8".into(),
                is_bigendian: 0,
                step: len as u32,
                data: data.clone(),
            });
            written_in_place_equals_encoded(sensor_msgs::CompressedImage {
                header: header(),
                format: "jpeg".into(),
                data: data.clone(),
            });
            // A field follows the array: its bytes move with the array's length.
            written_in_place_equals_encoded(sensor_msgs::PointCloud2 {
                header: header(),
                height: 1,
                width: len as u32,
                fields: vec![sensor_msgs::PointField {
                    name: "intensity".into(),
                    offset: 0,
                    datatype: sensor_msgs::PointField::UINT8,
                    count: 1,
                }],
                is_bigendian: false,
                point_step: 1,
                row_step: len as u32,
                data,
                is_dense: true,
            });
        }
    }

    #[test]
    fn a_length_beyond_cdr_is_an_error() {
        let mut image = sensor_msgs::Image::default();
        let err = Layout::of(&mut image, u32::MAX as usize + 1)
            .err()
            .expect("too long");
        assert!(err.to_string().contains("32-bit"), "{err}");
    }
}
