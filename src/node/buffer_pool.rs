//! Reusable encode buffers for large payloads, handed to zenoh without a copy.
//!
//! Allocating a fresh multi-megabyte buffer per message makes the allocator map and unmap
//! memory each time (page faults on every publish). A publisher keeps a few buffers instead:
//! zenoh gets each one as `bytes::Bytes` (zero-copy) and it returns to the pool when zenoh
//! releases it.

use std::sync::{Arc, Mutex};

use zenoh::bytes::ZBytes;

/// Payloads at least this large are encoded into pooled buffers.
pub(crate) const POOL_MIN_PAYLOAD: usize = 64 * 1024;

/// At most this many idle buffers are kept per publisher (memory bound: this many payloads).
const POOL_MAX_IDLE: usize = 4;

/// A small free list of byte buffers.
#[derive(Debug, Default)]
pub(crate) struct BufferPool {
    idle: Mutex<Vec<Vec<u8>>>,
}

/// A buffer on its way through zenoh; returns to its pool when dropped.
#[derive(Debug)]
struct Pooled {
    buf: Vec<u8>,
    pool: Arc<BufferPool>,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Ok(mut idle) = self.pool.idle.lock() {
            if idle.len() < POOL_MAX_IDLE {
                idle.push(std::mem::take(&mut self.buf));
            }
        }
    }
}

impl BufferPool {
    /// An empty buffer with room for `capacity` bytes, reused if one is idle.
    pub(crate) fn take(&self, capacity: usize) -> Vec<u8> {
        let mut buf = self
            .idle
            .lock()
            .ok()
            .and_then(|mut idle| idle.pop())
            .unwrap_or_default();
        buf.clear();
        buf.reserve(capacity);
        buf
    }

    /// Hands `buf` to zenoh; it comes back to this pool once zenoh is done with it.
    pub(crate) fn share(self: &Arc<Self>, buf: Vec<u8>) -> ZBytes {
        ZBytes::from(self.share_bytes(buf))
    }

    /// Shares `buf` as `Bytes` (sliceable without copies); it comes back to this pool once
    /// every slice is dropped.
    pub(crate) fn share_bytes(self: &Arc<Self>, buf: Vec<u8>) -> bytes::Bytes {
        bytes::Bytes::from_owner(Pooled {
            buf,
            pool: Arc::clone(self),
        })
    }

    #[cfg(test)]
    fn idle(&self) -> usize {
        self.idle.lock().map(|i| i.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_and_are_bounded() {
        let pool = Arc::new(BufferPool::default());
        let shared: Vec<ZBytes> = (0..6)
            .map(|i| {
                let mut buf = pool.take(16);
                buf.extend_from_slice(&[i; 16]);
                pool.share(buf)
            })
            .collect();
        assert_eq!(shared[3].to_bytes().as_ref(), &[3u8; 16]);
        assert_eq!(pool.idle(), 0);
        drop(shared);
        assert_eq!(pool.idle(), POOL_MAX_IDLE);
        assert!(pool.take(8).is_empty());
    }
}
