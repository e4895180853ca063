//! [`LoanedMessage`]: a received message kept in the buffer it arrived in, read in place.

use std::marker::PhantomData;

use zenoh::bytes::ZBytes;

use super::subscriber::MessageInfo;
use crate::cdr::{self, CdrError};
use crate::msg::views::MessageView;
use crate::msg::Message;

/// A received message of type `T`, not decoded: [`view`](Self::view) reads it in place (its
/// byte arrays borrowed from the buffer it arrived in: the publisher's shared-memory buffer
/// when it is on this host), [`decode`](Self::decode) makes the owned message.
///
/// Holding it holds that buffer (a shared-memory buffer goes back to its publisher's pool once
/// every subscriber dropped its loan).
pub struct LoanedMessage<T> {
    payload: ZBytes,
    /// The payload in one piece, when it arrived in several (over the network).
    joined: Option<Vec<u8>>,
    info: MessageInfo,
    _type: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for LoanedMessage<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoanedMessage")
            .field("len", &self.payload.len())
            .field(
                "shared_memory",
                &super::shm::is_shared_memory(&self.payload),
            )
            .field("info", &self.info)
            .finish()
    }
}

impl<T: Message> LoanedMessage<T> {
    /// Keeps `payload`, joining it once if it came in pieces (a view needs one slice).
    pub(crate) fn new(payload: ZBytes, info: MessageInfo) -> Self {
        let mut slices = payload.slices();
        let joined = match (slices.next(), slices.next()) {
            (_, None) => None,
            _ => Some(payload.to_bytes().into_owned()),
        };
        Self {
            payload,
            joined,
            info,
            _type: PhantomData,
        }
    }

    /// The CDR payload (encapsulation header included), in place.
    pub fn bytes(&self) -> &[u8] {
        match &self.joined {
            Some(joined) => joined,
            None => self.payload.slices().next().unwrap_or_default(),
        }
    }

    /// Reads the message as view `V` (such as
    /// [`ImageView`](crate::msg::views::ImageView)), borrowing its byte arrays from the
    /// buffer: no copy of the pixels. Fails with the offset and reason on a malformed payload.
    pub fn view<'a, V: MessageView<'a, Message = T>>(&'a self) -> Result<V, CdrError> {
        cdr::decode_view(self.bytes())
    }

    /// Decodes the owned message (copying its byte arrays out of the buffer).
    pub fn decode(&self) -> Result<T, CdrError> {
        cdr::decode(self.bytes())
    }

    /// The attachment and reception time.
    pub fn info(&self) -> &MessageInfo {
        &self.info
    }

    /// Whether the message lies in shared memory (sent by a publisher on this host).
    pub fn is_shared_memory(&self) -> bool {
        super::shm::is_shared_memory(&self.payload)
    }
}
