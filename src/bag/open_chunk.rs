//! [`OpenChunk`]: the chunk a [`super::BagWriter`] is filling, in memory, and how it is closed
//! into the bytes of a Chunk record and its Message Index records.
//!
//! The chunk's CRC (of its uncompressed records) is computed as the records arrive, 64 KiB at
//! a time while they are still in the cache, instead of in a second pass over the whole chunk
//! at the end. A message that closes an uncompressed chunk need not be copied into it: it is
//! passed to [`OpenChunk::close`] as the chunk's `tail` and written from the caller's buffer.

use std::collections::BTreeMap;
use std::io::{self, IoSlice};

use super::write_records::{self, ChunkHeader, ChunkIndex, INDEX_ENTRY, MESSAGE_OVERHEAD};
use super::Compression;

/// Records are added to the CRC in blocks of this many bytes (large enough for the SIMD path,
/// small enough to still be in the cache).
const CRC_BLOCK: usize = 64 * 1024;

/// A tail at least this long has its CRC computed in two halves on two threads.
const PARALLEL_CRC: usize = 1 << 20;

/// How chunks are compressed, with the state the compressor keeps between chunks.
pub(crate) enum Compressor {
    /// Records are written as they are.
    None,
    /// A zstd context reused for every chunk (zstd's default level).
    Zstd(Box<zstd::bulk::Compressor<'static>>),
    /// LZ4 frames (lz4's default level, no block checksums: the chunk has a CRC).
    Lz4,
}

impl Compressor {
    /// The compressor for `compression`.
    pub fn new(compression: Compression) -> io::Result<Self> {
        Ok(match compression {
            Compression::None => Self::None,
            Compression::Zstd => Self::Zstd(Box::new(zstd::bulk::Compressor::new(0)?)),
            Compression::Lz4 => Self::Lz4,
        })
    }

    /// The name a Chunk record gives this compression.
    fn name(&self) -> &'static str {
        match self {
            Self::None => "",
            Self::Zstd(_) => "zstd",
            Self::Lz4 => "lz4",
        }
    }

    /// Compresses `records` into `out` (cleared first).
    fn compress(&mut self, records: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        out.clear();
        match self {
            Self::None => out.extend_from_slice(records),
            Self::Zstd(z) => {
                out.reserve(zstd::compress_bound(records.len()));
                z.compress_to_buffer(records, out)?;
            }
            Self::Lz4 => {
                let mut encoder = lz4::EncoderBuilder::new()
                    .block_checksum(lz4::liblz4::BlockChecksum::NoBlockChecksum)
                    .build(std::mem::take(out))?;
                io::Write::write_all(&mut encoder, records)?;
                let (buf, result) = encoder.finish();
                *out = buf;
                result?;
            }
        }
        Ok(())
    }
}

/// Buffers reused from chunk to chunk when closing one.
#[derive(Default)]
pub(crate) struct CloseBuffers {
    head: Vec<u8>,
    compressed: Vec<u8>,
    index: Vec<u8>,
}

/// The chunk being filled; see the [module docs](self).
pub(crate) struct OpenChunk {
    /// The uncompressed records.
    records: Vec<u8>,
    /// CRC of `records[..crc_done]`.
    crc: crc32fast::Hasher,
    crc_done: usize,
    /// Log times of the first and last message (min and max).
    bounds: Option<(u64, u64)>,
    /// Message Index entries by channel id.
    index: Vec<Vec<u8>>,
    messages: usize,
    /// Capacity kept for `records` between chunks.
    keep_capacity: usize,
}

impl OpenChunk {
    /// An empty chunk expected to hold about `chunk_size` bytes.
    pub fn new(chunk_size: u64) -> Self {
        let keep_capacity = usize::try_from(chunk_size)
            .unwrap_or(usize::MAX)
            .saturating_add(64 * 1024)
            .min(64 << 20);
        Self {
            records: Vec::new(),
            crc: crc32fast::Hasher::new(),
            crc_done: 0,
            bounds: None,
            index: Vec::new(),
            messages: 0,
            keep_capacity,
        }
    }

    /// Whether the chunk holds no record.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Messages in the chunk.
    pub fn messages(&self) -> usize {
        self.messages
    }

    /// Adds a record that `encode` appends (a schema or a channel).
    pub fn push_record(&mut self, encode: impl FnOnce(&mut Vec<u8>)) {
        encode(&mut self.records);
        self.crc_catch_up();
    }

    /// Adds a message record: its header and, unless it is to be the chunk's tail, its payload.
    pub fn push_message(
        &mut self,
        header: &[u8; MESSAGE_OVERHEAD],
        channel_id: u16,
        log_time: u64,
        payload: Option<&[u8]>,
    ) {
        let channel = usize::from(channel_id);
        if self.index.len() <= channel {
            self.index.resize_with(channel + 1, Vec::new);
        }
        let entries = &mut self.index[channel];
        entries.extend_from_slice(&log_time.to_le_bytes());
        entries.extend_from_slice(&(self.records.len() as u64).to_le_bytes());
        self.bounds = Some(match self.bounds {
            None => (log_time, log_time),
            Some((start, end)) => (start.min(log_time), end.max(log_time)),
        });
        self.messages += 1;
        if self.records.capacity() == 0 {
            self.records.reserve(self.keep_capacity);
        }
        self.records.extend_from_slice(header);
        if let Some(payload) = payload {
            self.records.extend_from_slice(payload);
        }
        self.crc_catch_up();
    }

    /// Adds the records not yet in the CRC once they make a block.
    fn crc_catch_up(&mut self) {
        if self.records.len() - self.crc_done >= CRC_BLOCK {
            self.crc.update(&self.records[self.crc_done..]);
            self.crc_done = self.records.len();
        }
    }

    /// Closes the chunk, which starts at byte `offset` of the file, followed by `tail` (the
    /// payload of its last message, whose header was pushed without it): hands the Chunk
    /// record and its Message Index records to `write` and returns the chunk's index entry.
    /// The chunk is empty afterwards, also when compressing or `write` failed.
    pub fn close(
        &mut self,
        tail: &[u8],
        offset: u64,
        compressor: &mut Compressor,
        buffers: &mut CloseBuffers,
        write: impl FnOnce(&[IoSlice<'_>]) -> io::Result<()>,
    ) -> io::Result<ChunkIndex> {
        let result = self.close_inner(tail, offset, compressor, buffers, write);
        self.reset();
        result
    }

    fn close_inner(
        &mut self,
        tail: &[u8],
        offset: u64,
        compressor: &mut Compressor,
        buffers: &mut CloseBuffers,
        write: impl FnOnce(&[IoSlice<'_>]) -> io::Result<()>,
    ) -> io::Result<ChunkIndex> {
        let mut crc = std::mem::replace(&mut self.crc, crc32fast::Hasher::new());
        crc.update(&self.records[self.crc_done..]);
        crc.combine(&crc_of(tail));
        let crc = crc.finalize();
        let uncompressed_size = (self.records.len() + tail.len()) as u64;
        let compression = compressor.name();
        let CloseBuffers {
            head,
            compressed,
            index,
        } = buffers;
        let data: [&[u8]; 2] = if let Compressor::None = compressor {
            [&self.records[..], tail]
        } else {
            self.records.extend_from_slice(tail);
            compressor.compress(&self.records, compressed)?;
            [&compressed[..], &[]]
        };
        let compressed_size = (data[0].len() + data[1].len()) as u64;
        let (start, end) = self.bounds.unwrap_or((0, 0));
        head.clear();
        write_records::chunk_header(
            head,
            &ChunkHeader {
                start,
                end,
                uncompressed_size,
                crc,
                compression,
                compressed_size,
            },
        );
        let length = head.len() as u64 + compressed_size;
        index.clear();
        let mut message_index_offsets = BTreeMap::new();
        for (channel, entries) in self.index.iter().enumerate() {
            if entries.is_empty() {
                continue;
            }
            // Channel ids are u16 (the index grows only to a channel id).
            let channel = u16::try_from(channel).unwrap_or(u16::MAX);
            message_index_offsets.insert(channel, offset + length + index.len() as u64);
            write_records::message_index(index, channel, entries);
        }
        write(&[
            IoSlice::new(head),
            IoSlice::new(data[0]),
            IoSlice::new(data[1]),
            IoSlice::new(index),
        ])?;
        Ok(ChunkIndex {
            start,
            end,
            offset,
            length,
            message_index_offsets,
            message_index_length: index.len() as u64,
            compression,
            compressed_size,
            uncompressed_size,
        })
    }

    /// Empties the chunk, keeping its buffers (up to the expected chunk size).
    fn reset(&mut self) {
        self.records.clear();
        if self.records.capacity() > self.keep_capacity.saturating_mul(2) {
            self.records = Vec::new();
        }
        self.crc = crc32fast::Hasher::new();
        self.crc_done = 0;
        self.bounds = None;
        for entries in &mut self.index {
            entries.clear();
        }
        self.messages = 0;
    }
}

/// Whether a chunk holding `messages` messages can take one more on one channel without its
/// Message Index record outgrowing its `u32` length.
pub(crate) fn index_has_room(messages: usize) -> bool {
    messages < (u32::MAX as usize / INDEX_ENTRY) - 1
}

/// The CRC of `bytes`, computed in two halves on two threads when it is long.
fn crc_of(bytes: &[u8]) -> crc32fast::Hasher {
    let mut first = crc32fast::Hasher::new();
    if bytes.len() < PARALLEL_CRC {
        first.update(bytes);
        return first;
    }
    let (a, b) = bytes.split_at(bytes.len() / 2);
    let second = std::thread::scope(|s| {
        let second = s.spawn(|| {
            let mut h = crc32fast::Hasher::new();
            h.update(b);
            h
        });
        first.update(a);
        second.join()
    });
    match second {
        Ok(second) => first.combine(&second),
        // The thread cannot panic; should it, compute the half here.
        Err(_) => first.update(b),
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_crc_in_two_halves_equals_the_crc_in_one_pass() {
        let bytes: Vec<u8> = (0..(PARALLEL_CRC * 3 + 17))
            .map(|i| (i * 7 + i / 251) as u8)
            .collect();
        let mut one = crc32fast::Hasher::new();
        one.update(&bytes);
        assert_eq!(crc_of(&bytes).finalize(), one.finalize());
    }
}
