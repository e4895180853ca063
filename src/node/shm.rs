//! Shared memory for big messages on one host, as rmw_zenoh does it: a publisher encodes a
//! message at least [`SharedMemory::threshold`] bytes long straight into a buffer of the
//! node's shared-memory pool, and zenoh hands that buffer to subscribers on the same host
//! without a copy (peers elsewhere, or with shared memory off, get the bytes over the network:
//! zenoh falls back by itself).
//!
//! On by default with the `shared-memory` feature (default); `ZENOH_SHM_ALLOC_SIZE` and
//! `ZENOH_SHM_MESSAGE_SIZE_THRESHOLD` set the pool size and threshold as for rmw_zenoh. When
//! the pool cannot be created or is full, messages take the network path (counted).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// rmw_zenoh's default pool size (`ZENOH_SHM_ALLOC_SIZE`): 48 MiB.
pub const DEFAULT_SHM_POOL_SIZE: usize = 48 * 1024 * 1024;

/// rmw_zenoh's default threshold (`ZENOH_SHM_MESSAGE_SIZE_THRESHOLD`): messages of at least
/// 512 bytes go through shared memory.
pub const DEFAULT_SHM_THRESHOLD: usize = 512;

/// Whether and how a node publishes big messages through shared memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedMemory {
    /// Use shared memory (default true with the `shared-memory` feature); false also tells
    /// zenoh not to offer it to peers, so everything this node sends and receives goes over
    /// the network.
    pub enabled: bool,
    /// Bytes of the node's pool, created with the first big message.
    pub pool_size: usize,
    /// Messages whose CDR payload is at least this long are written into the pool.
    pub threshold: usize,
}

impl Default for SharedMemory {
    /// rmw_zenoh's settings: on (where built with the `shared-memory` feature), the pool size
    /// and threshold from `ZENOH_SHM_ALLOC_SIZE` and `ZENOH_SHM_MESSAGE_SIZE_THRESHOLD` when
    /// they hold valid numbers (a warning names a bad one), else 48 MiB and 512 bytes.
    fn default() -> Self {
        Self {
            enabled: cfg!(feature = "shared-memory"),
            pool_size: env_size("ZENOH_SHM_ALLOC_SIZE", DEFAULT_SHM_POOL_SIZE),
            threshold: env_size("ZENOH_SHM_MESSAGE_SIZE_THRESHOLD", DEFAULT_SHM_THRESHOLD),
        }
    }
}

impl SharedMemory {
    /// Shared memory off: every message takes the network path.
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }

    /// Checks the settings: a pool of at least one byte.
    pub fn validate(&self) -> Result<()> {
        if self.enabled && self.pool_size == 0 {
            return Err(Error::Config(
                "shared memory pool size must be at least 1 byte".into(),
            ));
        }
        Ok(())
    }
}

/// A positive byte count from the environment, or `default` (warning about a bad value).
fn env_size(var: &str, default: usize) -> usize {
    match std::env::var(var) {
        Err(_) => default,
        Ok(text) => match text.trim().parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                tracing::warn!("ignoring {var}={text:?}: not a positive byte count");
                default
            }
        },
    }
}

/// Counters of the shared-memory path of a node's publishers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShmStats {
    /// Messages written into shared memory.
    pub published: u64,
    /// Big messages that took the network path because the pool was full or could not be
    /// created.
    pub fell_back: u64,
}

/// A node's shared-memory pool, created with its first big message.
pub(crate) struct ShmPool {
    settings: SharedMemory,
    #[cfg(feature = "shared-memory")]
    provider: std::sync::OnceLock<Option<Provider>>,
    published: AtomicU64,
    fell_back: AtomicU64,
}

#[cfg(feature = "shared-memory")]
type Provider = zenoh::shm::ShmProvider<zenoh::shm::PosixShmProviderBackend>;

impl ShmPool {
    pub(crate) fn new(settings: SharedMemory) -> Self {
        Self {
            settings,
            #[cfg(feature = "shared-memory")]
            provider: std::sync::OnceLock::new(),
            published: AtomicU64::new(0),
            fell_back: AtomicU64::new(0),
        }
    }

    pub(crate) fn settings(&self) -> &SharedMemory {
        &self.settings
    }

    pub(crate) fn stats(&self) -> ShmStats {
        ShmStats {
            published: self.published.load(Ordering::Relaxed),
            fell_back: self.fell_back.load(Ordering::Relaxed),
        }
    }

    /// Whether a payload of `len` bytes should go through shared memory.
    pub(crate) fn wants(&self, len: usize) -> bool {
        cfg!(feature = "shared-memory") && self.settings.enabled && len >= self.settings.threshold
    }

    /// Encodes `msg` (`len` CDR bytes) once, straight into a shared-memory buffer; `None`
    /// when the pool is unavailable or full (the caller takes the network path).
    #[cfg(feature = "shared-memory")]
    pub(crate) fn encode<T: serde::Serialize + ?Sized>(
        &self,
        msg: &T,
        len: usize,
    ) -> Result<Option<zenoh::bytes::ZBytes>> {
        let Some(mut buf) = self.alloc(len) else {
            return Ok(None);
        };
        crate::cdr::encode_into_slice(msg, &mut buf[..])?;
        self.count_published();
        Ok(Some(zenoh::bytes::ZBytes::from(buf)))
    }

    /// Copies an encoded payload into a shared-memory buffer; `None` when the pool is
    /// unavailable or full (the caller takes the network path).
    #[cfg(feature = "shared-memory")]
    pub(crate) fn copy(&self, payload: &[u8]) -> Option<zenoh::bytes::ZBytes> {
        let mut buf = self.alloc(payload.len())?;
        buf[..].copy_from_slice(payload);
        self.count_published();
        Some(zenoh::bytes::ZBytes::from(buf))
    }

    /// Creates the pool now (zenoh locks its pages in memory, so they are mapped at once)
    /// rather than at the first big message: for a caller about to publish big messages on a
    /// schedule (the log player).
    #[cfg(feature = "shared-memory")]
    pub(crate) fn create_now(&self) {
        if self.settings.enabled {
            let _ = self.provider();
        }
    }

    /// Without the `shared-memory` feature there is no pool.
    #[cfg(not(feature = "shared-memory"))]
    pub(crate) fn create_now(&self) {}

    /// Without the `shared-memory` feature nothing goes through shared memory.
    #[cfg(not(feature = "shared-memory"))]
    pub(crate) fn copy(&self, _payload: &[u8]) -> Option<zenoh::bytes::ZBytes> {
        None
    }

    /// A buffer of `len` bytes from the pool (its content is whatever the pool held: the
    /// caller writes every byte); `None`, counted as a fallback, when the pool is unavailable
    /// or full. Allocation never blocks: a full pool is collected once, then given up on.
    #[cfg(feature = "shared-memory")]
    pub(crate) fn alloc(&self, len: usize) -> Option<zenoh::shm::ZShmMut> {
        use zenoh::shm::GarbageCollect;
        use zenoh::Wait;
        let Some(provider) = self.provider() else {
            self.fell_back.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        match provider.alloc(len).with_policy::<GarbageCollect>().wait() {
            Ok(buf) => Some(buf),
            Err(e) => {
                if self.fell_back.fetch_add(1, Ordering::Relaxed) == 0 {
                    tracing::warn!(
                        "shared memory pool of {} bytes cannot hold a {len}-byte message ({e:?}): \
                         sending over the network (raise ZENOH_SHM_ALLOC_SIZE)",
                        self.settings.pool_size
                    );
                }
                None
            }
        }
    }

    /// Counts a message handed to zenoh in a shared-memory buffer.
    #[cfg(feature = "shared-memory")]
    pub(crate) fn count_published(&self) {
        self.published.fetch_add(1, Ordering::Relaxed);
    }

    /// Without the `shared-memory` feature nothing goes through shared memory.
    #[cfg(not(feature = "shared-memory"))]
    pub(crate) fn encode<T: serde::Serialize + ?Sized>(
        &self,
        _msg: &T,
        _len: usize,
    ) -> Result<Option<zenoh::bytes::ZBytes>> {
        Ok(None)
    }

    #[cfg(feature = "shared-memory")]
    fn provider(&self) -> Option<&Provider> {
        self.provider
            .get_or_init(|| {
                use zenoh::Wait;
                let size = self.settings.pool_size;
                match zenoh::shm::ShmProviderBuilder::default_backend(size).wait() {
                    Ok(provider) => Some(provider),
                    Err(e) => {
                        let e = crate::error::zenoh_text(e);
                        tracing::warn!(
                            "cannot create a shared memory pool of {size} bytes ({e}): big \
                             messages go over the network"
                        );
                        None
                    }
                }
            })
            .as_ref()
    }
}

/// Whether `payload` lies in shared memory (received from a publisher on this host).
pub fn is_shared_memory(payload: &zenoh::bytes::ZBytes) -> bool {
    #[cfg(feature = "shared-memory")]
    {
        payload.as_shm().is_some()
    }
    #[cfg(not(feature = "shared-memory"))]
    {
        let _ = payload;
        false
    }
}
