//! A serde deserializer for CDR payloads held in a byte slice.
//!
//! Every read is checked against the bytes that remain, so malformed input yields a
//! [`CdrError`] naming the offset, never a panic or an allocation for more than is there.
//!
//! What it refuses, as strictly as CDR is (and as Python `rosbags` does):
//! - an encapsulation other than plain CDR (`00 00` big-endian, `00 01` little-endian); the
//!   two options bytes are ignored (XCDR1 keeps the padding count there);
//! - a sequence or string length larger than the bytes that remain, before allocating;
//! - a string of length 0 (the length counts the NUL terminator), one whose last byte is not
//!   NUL, or one that is not UTF-8 (an error, not a lossy conversion). A NUL *inside* a
//!   string is accepted: C++ `std::string` may carry one and rosbags accepts it too;
//! - a bool other than 0 or 1 (a ROS `char` or `byte` is any octet: rosidl maps both to
//!   `uint8`; ROS messages have no enums);
//! - a fixed-size array of another length, padding or data past the end;
//! - more than 3 bytes after the message ([`Deserializer::end`]): up to 3 bytes of padding
//!   to a 4-byte boundary may follow (CycloneDDS writes them, rosbags allows them), more mean
//!   the payload is of another type.
//!
//! Bounded strings and sequences (`string<=N`, `T[<=N]`) are checked by the generated code
//! ([`crate::msg::serde_helpers::bounded`]).

use std::borrow::Cow;

use serde::de::{self, DeserializeSeed, IntoDeserializer, SeqAccess, Visitor};

use super::CdrError;

const HEADER_LEN: usize = 4;

/// A payload in one piece (no allocation) or several.
#[derive(Debug)]
enum Segments<'de> {
    One(&'de [u8]),
    Many(Vec<&'de [u8]>),
}

impl<'de> Segments<'de> {
    fn get(&self, index: usize) -> &'de [u8] {
        match self {
            Self::One(only) => only,
            Self::Many(all) => all.get(index).copied().unwrap_or_default(),
        }
    }

    fn len(&self) -> usize {
        match self {
            Self::One(_) => 1,
            Self::Many(all) => all.len(),
        }
    }
}

/// Reads one message from a CDR payload held in one or more byte slices.
#[derive(Debug)]
pub struct Deserializer<'de> {
    /// The payload, whole or in pieces (zenoh delivers large samples fragmented).
    segments: Segments<'de>,
    /// The current piece and the offset in it.
    segment: usize,
    offset: usize,
    /// Bytes left from the cursor to the end of the payload.
    remaining: usize,
    /// Bytes read since the end of the encapsulation header; alignment is relative to it.
    pos: usize,
    little_endian: bool,
}

macro_rules! read_number {
    ($name:ident, $ty:ty) => {
        fn $name(&mut self) -> Result<$ty, CdrError> {
            const N: usize = std::mem::size_of::<$ty>();
            self.align(N)?;
            let bytes: [u8; N] = self.take_array(stringify!($ty))?;
            Ok(if self.little_endian {
                <$ty>::from_le_bytes(bytes)
            } else {
                <$ty>::from_be_bytes(bytes)
            })
        }
    };
}

impl<'de> Deserializer<'de> {
    /// Checks the encapsulation header and prepares to read the message after it.
    pub fn from_payload(payload: &'de [u8]) -> Result<Self, CdrError> {
        Self::new(Segments::One(payload), payload.len())
    }

    /// Like [`from_payload`](Self::from_payload) for a payload in several pieces, read
    /// without first copying them together.
    pub fn from_segments(segments: Vec<&'de [u8]>) -> Result<Self, CdrError> {
        let remaining = segments.iter().map(|s| s.len()).sum();
        Self::new(Segments::Many(segments), remaining)
    }

    fn new(segments: Segments<'de>, remaining: usize) -> Result<Self, CdrError> {
        let mut de = Self {
            segments,
            segment: 0,
            offset: 0,
            remaining,
            pos: 0,
            little_endian: true,
        };
        if remaining < HEADER_LEN {
            return Err(CdrError::MissingHeader { len: remaining });
        }
        let header = de.take(HEADER_LEN, "encapsulation header")?;
        de.little_endian = match header[..2] {
            [0x00, 0x01] => true,
            [0x00, 0x00] => false,
            [a, b] => return Err(CdrError::UnsupportedEncapsulation([a, b])),
            _ => unreachable!("the header has 4 bytes"),
        };
        de.pos = 0;
        Ok(de)
    }

    /// Checks that at most 3 bytes of padding follow the message just read.
    pub fn end(&self) -> Result<(), CdrError> {
        if self.remaining > 3 {
            return Err(CdrError::TrailingBytes {
                offset: self.offset(),
                extra: self.remaining,
            });
        }
        Ok(())
    }

    /// Bytes consumed so far, header included.
    pub fn offset(&self) -> usize {
        self.pos + HEADER_LEN
    }

    fn remaining(&self) -> usize {
        self.remaining
    }

    /// The next `n` bytes: borrowed when they lie in one piece, gathered otherwise.
    fn take(&mut self, n: usize, what: &'static str) -> Result<Cow<'de, [u8]>, CdrError> {
        if n > self.remaining {
            return Err(CdrError::Truncated {
                offset: self.offset(),
                needed: n - self.remaining,
                what,
            });
        }
        self.remaining -= n;
        self.pos += n;
        let current = self.segments.get(self.segment);
        if current.len() - self.offset >= n {
            let bytes = &current[self.offset..self.offset + n];
            self.offset += n;
            return Ok(Cow::Borrowed(bytes));
        }
        let mut gathered = Vec::with_capacity(n);
        while gathered.len() < n {
            let current = self.segments.get(self.segment);
            let available = &current[self.offset..];
            let wanted = (n - gathered.len()).min(available.len());
            gathered.extend_from_slice(&available[..wanted]);
            self.offset += wanted;
            if self.offset == current.len() && self.segment + 1 < self.segments.len() {
                self.segment += 1;
                self.offset = 0;
            }
        }
        Ok(Cow::Owned(gathered))
    }

    /// The next `N` bytes as an array, without going through `take` when they are in one piece.
    #[inline]
    fn take_array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], CdrError> {
        let current = self.segments.get(self.segment);
        if let Some(bytes) = current.get(self.offset..self.offset + N) {
            let mut out = [0u8; N];
            out.copy_from_slice(bytes);
            self.offset += N;
            self.pos += N;
            self.remaining -= N;
            return Ok(out);
        }
        let mut out = [0u8; N];
        out.copy_from_slice(&self.take(N, what)?);
        Ok(out)
    }

    #[inline]
    fn align(&mut self, n: usize) -> Result<(), CdrError> {
        let pad = (n - self.pos % n) % n;
        if pad > 0 {
            self.take(pad, "alignment padding")?;
        }
        Ok(())
    }

    read_number!(read_u16, u16);
    read_number!(read_u32, u32);
    read_number!(read_u64, u64);
    read_number!(read_i16, i16);
    read_number!(read_i32, i32);
    read_number!(read_i64, i64);
    read_number!(read_f32, f32);
    read_number!(read_f64, f64);

    fn read_u8(&mut self) -> Result<u8, CdrError> {
        Ok(self.take_array::<1>("u8")?[0])
    }

    /// Reads a sequence length and checks the payload can hold `len * min_size` bytes.
    fn read_len(&mut self, min_size: usize) -> Result<usize, CdrError> {
        let offset = self.offset();
        let len = self.read_u32()? as usize;
        if len.saturating_mul(min_size) > self.remaining() {
            return Err(CdrError::LengthExceedsPayload {
                offset,
                len,
                remaining: self.remaining(),
            });
        }
        Ok(len)
    }

    fn read_str(&mut self) -> Result<Cow<'de, str>, CdrError> {
        let offset = self.offset();
        let len = self.read_len(1)?;
        let invalid = |reason| CdrError::InvalidString { offset, reason };
        if len == 0 {
            // The length counts the NUL terminator, so even "" has length 1. A 0 here means the
            // payload is not what the type says (accepting it would shift every later field).
            return Err(invalid(
                "length 0, but a CDR string's length counts its NUL terminator (\"\" has length 1)",
            ));
        }
        let check_nul = |bytes: &[u8]| match bytes.last() {
            Some(0) => Ok(()),
            _ => Err(invalid("missing NUL terminator")),
        };
        match self.take(len, "string")? {
            Cow::Borrowed(bytes) => {
                check_nul(bytes)?;
                std::str::from_utf8(&bytes[..len - 1])
                    .map(Cow::Borrowed)
                    .map_err(|_| invalid("not valid UTF-8"))
            }
            Cow::Owned(mut bytes) => {
                check_nul(&bytes)?;
                bytes.pop();
                String::from_utf8(bytes)
                    .map(Cow::Owned)
                    .map_err(|_| invalid("not valid UTF-8"))
            }
        }
    }
}

impl<'de> de::Deserializer<'de> for &mut Deserializer<'de> {
    type Error = CdrError;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, CdrError> {
        Err(CdrError::Message(
            "CDR is not self-describing: decode into a concrete message type".into(),
        ))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CdrError> {
        let offset = self.offset();
        match self.read_u8()? {
            0 => visitor.visit_bool(false),
            1 => visitor.visit_bool(true),
            value => Err(CdrError::InvalidBool { offset, value }),
        }
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CdrError> {
        visitor.visit_i8(self.read_u8()? as i8)
    }

    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CdrError> {
        visitor.visit_u8(self.read_u8()?)
    }

    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CdrError> {
        visitor.visit_i16(self.read_i16()?)
    }

    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CdrError> {
        visitor.visit_u16(self.read_u16()?)
    }

    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CdrError> {
        visitor.visit_i32(self.read_i32()?)
    }

    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CdrError> {
        visitor.visit_u32(self.read_u32()?)
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CdrError> {
        visitor.visit_i64(self.read_i64()?)
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CdrError> {
        visitor.visit_u64(self.read_u64()?)
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CdrError> {
        visitor.visit_f32(self.read_f32()?)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CdrError> {
        visitor.visit_f64(self.read_f64()?)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CdrError> {
        visitor.visit_char(char::from(self.read_u8()?))
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CdrError> {
        match self.read_str()? {
            Cow::Borrowed(s) => visitor.visit_borrowed_str(s),
            Cow::Owned(s) => visitor.visit_string(s),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CdrError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CdrError> {
        let len = self.read_len(1)?;
        match self.take(len, "octet sequence")? {
            Cow::Borrowed(bytes) => visitor.visit_borrowed_bytes(bytes),
            Cow::Owned(bytes) => visitor.visit_byte_buf(bytes),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CdrError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, _: V) -> Result<V::Value, CdrError> {
        Err(CdrError::Message(
            "optional values are not part of ROS 2 CDR".into(),
        ))
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CdrError> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, CdrError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, CdrError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CdrError> {
        // Every ROS element takes at least one byte, so this bounds the allocation.
        let len = self.read_len(1)?;
        visitor.visit_seq(Elements {
            de: self,
            left: len,
        })
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, CdrError> {
        visitor.visit_seq(Elements {
            de: self,
            left: len,
        })
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, CdrError> {
        self.deserialize_tuple(len, visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, _: V) -> Result<V::Value, CdrError> {
        Err(CdrError::Message("maps are not part of ROS 2 CDR".into()))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, CdrError> {
        self.deserialize_tuple(fields.len(), visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, CdrError> {
        let index = self.read_u32()?;
        visitor.visit_enum(index.into_deserializer())
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, _: V) -> Result<V::Value, CdrError> {
        Err(CdrError::Message("CDR has no field identifiers".into()))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, CdrError> {
        Err(CdrError::Message(
            "CDR values cannot be skipped without their type".into(),
        ))
    }

    fn is_human_readable(&self) -> bool {
        false
    }
}

/// Gives a visitor the elements of a sequence, a fixed array or a struct.
struct Elements<'a, 'de> {
    de: &'a mut Deserializer<'de>,
    left: usize,
}

impl<'de> SeqAccess<'de> for Elements<'_, 'de> {
    type Error = CdrError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, CdrError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.de).map(Some)
    }

    /// What a `Vec` reserves up front: no more elements than 8-byte values the rest of the
    /// payload could hold, so a claimed length never reserves more than the input's size in
    /// numbers (a `Vec<f64>` at most the bytes that remain; larger elements grow as they come).
    fn size_hint(&self) -> Option<usize> {
        Some(self.left.min(self.de.remaining() / 8))
    }
}
