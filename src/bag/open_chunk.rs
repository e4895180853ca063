//! [`OpenChunk`]: the chunk a [`super::BagWriter`] is filling and how it is closed into a
//! Chunk record and its Message Index records.
//!
//! A compressed chunk is held in memory until it closes; its CRC (of the uncompressed
//! records) is computed as the records arrive, 64 KiB at a time while they are in the cache.
//!
//! An uncompressed chunk is written as it fills, 1 MiB at a time (its CRC computed just
//! before, while the block is in the cache), by a second thread ([`super::block_writer`]) so
//! that writing one block overlaps filling the next: first a placeholder header whose length
//! runs past the end of the file, then the records. When the chunk closes, the rest of it and
//! its Message Index records go to that thread as a last block, then the real header to write
//! over the placeholder, and [`OpenChunk::close`] returns once the thread has written them. A
//! process killed before that leaves a chunk that readers see cut short (truncated), as if
//! the file had been cut there; nothing before it is touched. A message that closes an
//! uncompressed chunk with a large payload (the chunk's `tail`, an image larger than the
//! chunk size, say) is not copied: the thread's blocks are waited for, then the payload is
//! written from the caller's buffer while a second thread computes its CRC.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, IoSlice, Write};

use super::block_writer::BlockWriter;
use super::preallocate::Preallocator;
use super::types::widen_span;
use super::write_records::{self, ChunkHeader, ChunkIndex};
use super::write_records::{INDEX_ENTRY, MESSAGE_OVERHEAD};
use super::Compression;

/// Records of a compressed chunk are added to its CRC in blocks of this many bytes as they
/// arrive (large enough for the SIMD path, small enough to be still in the cache).
const CRC_BLOCK: usize = 64 * 1024;

/// An uncompressed chunk is written in blocks of this many bytes as it fills (the kernel's
/// cost per write falls up to about 1 MiB; small enough to be still in the cache when it
/// copies the block).
const STREAM_BLOCK: usize = 1024 * 1024;

/// Room for the message that completes a block.
const STREAM_SLACK: usize = 64 * 1024;

/// When the bytes not yet in the CRC of an uncompressed chunk are at least this many, their
/// CRC is computed while the chunk is written (a thread costs more than the CRC of fewer).
const OVERLAPPED_CRC: usize = 256 * 1024;

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
    /// Whether the chunk is written as it fills (uncompressed chunks, see the module docs);
    /// otherwise its CRC is computed as records arrive.
    streams: bool,
    /// Bytes of records already handed to the file, after the placeholder header.
    streamed: u64,
    /// The thread writing them (started on the first block).
    writer: Option<BlockWriter>,
    /// Space reserved ahead of the chunks written from this thread (the write thread keeps
    /// its own).
    space: Preallocator,
    /// Log times of the first and last message (min and max).
    bounds: Option<(u64, u64)>,
    /// Message Index entries by channel id.
    index: Vec<Vec<u8>>,
    messages: usize,
    /// Capacity kept for `records` between chunks.
    keep_capacity: usize,
}

impl OpenChunk {
    /// An empty chunk expected to hold about `chunk_size` bytes, to be compressed with
    /// `compression`.
    pub fn new(chunk_size: u64, compression: Compression) -> Self {
        let streams = compression == Compression::None && cfg!(unix);
        let keep_capacity = if streams {
            STREAM_BLOCK + STREAM_SLACK
        } else {
            usize::try_from(chunk_size)
                .unwrap_or(usize::MAX)
                .saturating_add(64 * 1024)
                .min(64 << 20)
        };
        Self {
            records: Vec::new(),
            crc: crc32fast::Hasher::new(),
            crc_done: 0,
            streams,
            streamed: 0,
            writer: None,
            space: Preallocator::default(),
            bounds: None,
            index: Vec::new(),
            messages: 0,
            keep_capacity,
        }
    }

    /// Whether the chunk holds no record (in memory or written already).
    pub fn is_empty(&self) -> bool {
        self.records.is_empty() && self.streamed == 0
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
        let mut entry = [0u8; INDEX_ENTRY];
        entry[..8].copy_from_slice(&log_time.to_le_bytes());
        entry[8..].copy_from_slice(&(self.streamed + self.records.len() as u64).to_le_bytes());
        self.index[channel].extend_from_slice(&entry);
        self.bounds = widen_span(self.bounds, log_time);
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

    /// Adds the records not yet in the CRC once they make a block (compressed chunks).
    fn crc_catch_up(&mut self) {
        if !self.streams && self.records.len() - self.crc_done >= CRC_BLOCK {
            self.crc.update(&self.records[self.crc_done..]);
            self.crc_done = self.records.len();
        }
    }

    /// Writes the records of an uncompressed chunk to the end of `file` once they make a block
    /// (after a placeholder header, the first time).
    pub fn stream(&mut self, file: &mut File) -> io::Result<()> {
        if !self.streams || self.records.len() < STREAM_BLOCK {
            return Ok(());
        }
        self.crc.update(&self.records);
        let writer = match &mut self.writer {
            Some(writer) => writer,
            None => self
                .writer
                .insert(BlockWriter::new(file, STREAM_BLOCK + STREAM_SLACK)?),
        };
        if self.streamed == 0 {
            let mut placeholder = Vec::new();
            write_records::chunk_header(
                &mut placeholder,
                &ChunkHeader {
                    start: 0,
                    end: 0,
                    uncompressed_size: 0,
                    crc: 0,
                    compression: "",
                    compressed_size: 0,
                },
            );
            // A length past any file's end: readers see the chunk cut short until it closes.
            placeholder[1..9].copy_from_slice(&u64::MAX.to_le_bytes());
            writer.send(placeholder)?;
        }
        self.streamed += self.records.len() as u64;
        // A reused block, or an empty one that `push_message` gives its capacity.
        self.records = writer.send(std::mem::take(&mut self.records))?;
        Ok(())
    }

    /// Closes the chunk, which starts at byte `offset` of `file`, followed by
    /// `tail` (the payload of its last message, whose header was pushed without it): writes
    /// the Chunk record and its Message Index records and returns the chunk's index entry.
    /// The chunk is empty afterwards, also when compressing or writing failed.
    pub fn close(
        &mut self,
        tail: &[u8],
        offset: u64,
        compressor: &mut Compressor,
        buffers: &mut CloseBuffers,
        file: &mut File,
    ) -> io::Result<ChunkIndex> {
        let result = self.close_inner(tail, offset, compressor, buffers, file);
        self.reset();
        result
    }

    fn close_inner(
        &mut self,
        tail: &[u8],
        offset: u64,
        compressor: &mut Compressor,
        buffers: &mut CloseBuffers,
        file: &mut File,
    ) -> io::Result<ChunkIndex> {
        if self.streamed > 0 && tail.len() < OVERLAPPED_CRC {
            return self.close_streamed(tail, offset);
        }
        // The blocks already handed over go first, and nothing else may write meanwhile.
        self.drain()?;
        let uncompressed_size = self.streamed + (self.records.len() + tail.len()) as u64;
        let compression = compressor.name();
        let CloseBuffers {
            head,
            compressed,
            index,
        } = buffers;
        let mut crc = std::mem::replace(&mut self.crc, crc32fast::Hasher::new());
        let uncompressed = matches!(compressor, Compressor::None);
        // The CRC of what is left is computed while it is written, or before.
        let left = self.records.len() - self.crc_done + tail.len();
        let overlapped = uncompressed && left >= OVERLAPPED_CRC && cfg!(unix);
        if !overlapped {
            crc.update(&self.records[self.crc_done..]);
            crc.update(tail);
        }
        let data: [&[u8]; 2] = if uncompressed {
            [&self.records[..], tail]
        } else {
            self.records.extend_from_slice(tail);
            compressor.compress(&self.records, compressed)?;
            [&compressed[..], &[]]
        };
        let compressed_size = self.streamed + (data[0].len() + data[1].len()) as u64;
        let (start, end) = self.bounds.unwrap_or((0, 0));
        let mut header = ChunkHeader {
            start,
            end,
            uncompressed_size,
            crc: if overlapped {
                0
            } else {
                crc.clone().finalize()
            },
            compression,
            compressed_size,
        };
        head.clear();
        write_records::chunk_header(head, &header);
        let length = head.len() as u64 + compressed_size;
        index.clear();
        let message_index_offsets = message_indexes(&self.index, index, offset + length);
        // Streamed chunks have their placeholder header in the file already.
        let head_now: &[u8] = if self.streamed == 0 { head } else { &[] };
        let slices = [
            IoSlice::new(head_now),
            IoSlice::new(data[0]),
            IoSlice::new(data[1]),
            IoSlice::new(index),
        ];
        self.space
            .reserve(file, offset, offset + length + index.len() as u64);
        if overlapped {
            let pending = [&self.records[self.crc_done..], tail];
            header.crc = write_overlapped(file, &slices, crc, pending)?;
        } else {
            write_all_vectored(file, &slices)?;
        }
        if overlapped || self.streamed > 0 {
            head.clear();
            write_records::chunk_header(head, &header);
            write_at(file, head, offset)?;
        }
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

    /// Closes a chunk whose blocks the write thread is writing: the rest of the records,
    /// `tail` and the Message Index records go to the thread as a last block, then the real
    /// header to write over the placeholder at `offset`, and the thread is waited for.
    fn close_streamed(&mut self, tail: &[u8], offset: u64) -> io::Result<ChunkIndex> {
        self.crc.update(&self.records);
        self.crc.update(tail);
        self.records.extend_from_slice(tail);
        let size = self.streamed + self.records.len() as u64;
        let (start, end) = self.bounds.unwrap_or((0, 0));
        let header = ChunkHeader {
            start,
            end,
            uncompressed_size: size,
            crc: std::mem::replace(&mut self.crc, crc32fast::Hasher::new()).finalize(),
            compression: "",
            compressed_size: size,
        };
        let mut head = Vec::new();
        write_records::chunk_header(&mut head, &header);
        let length = head.len() as u64 + size;
        let index_start = self.records.len();
        let message_index_offsets =
            message_indexes(&self.index, &mut self.records, offset + length);
        let message_index_length = (self.records.len() - index_start) as u64;
        let writer = self.writer.as_mut().ok_or_else(|| {
            io::Error::other("a streamed chunk has no write thread (a bug in rosync)")
        })?;
        let block = std::mem::take(&mut self.records);
        self.records = writer.send(block)?;
        writer.send_at(head, offset)?;
        // A closed chunk is in the file when `close` returns: a killed writer loses only its
        // open chunk.
        writer.drain()?;
        Ok(ChunkIndex {
            start,
            end,
            offset,
            length,
            message_index_offsets,
            message_index_length,
            compression: "",
            compressed_size: size,
            uncompressed_size: size,
        })
    }

    /// Waits until the write thread has written every block handed to it; reports the first
    /// write that failed.
    fn drain(&mut self) -> io::Result<()> {
        match &mut self.writer {
            Some(writer) => writer.drain(),
            None => Ok(()),
        }
    }

    /// Empties the chunk, keeping its buffers (up to the expected chunk size).
    fn reset(&mut self) {
        self.records.clear();
        self.crc = crc32fast::Hasher::new();
        self.crc_done = 0;
        self.streamed = 0;
        if self.records.capacity() > self.keep_capacity.saturating_mul(2) {
            self.records = Vec::new();
        }
        self.bounds = None;
        for entries in &mut self.index {
            entries.clear();
        }
        self.messages = 0;
    }
}

/// Appends the Message Index record of each channel with entries in `index` (by channel id)
/// to `out`, whose next byte goes to file offset `at`; returns each record's offset.
fn message_indexes(index: &[Vec<u8>], out: &mut Vec<u8>, at: u64) -> BTreeMap<u16, u64> {
    let start = out.len();
    let mut offsets = BTreeMap::new();
    for (channel, entries) in index.iter().enumerate() {
        if entries.is_empty() {
            continue;
        }
        // Channel ids are u16 (the index grows only to a channel id).
        let channel = u16::try_from(channel).unwrap_or(u16::MAX);
        offsets.insert(channel, at + (out.len() - start) as u64);
        write_records::message_index(out, channel, entries);
    }
    offsets
}

/// Whether a chunk holding `messages` messages can take one more on one channel without its
/// Message Index record outgrowing its `u32` length.
pub(crate) fn index_has_room(messages: usize) -> bool {
    messages < (u32::MAX as usize / INDEX_ENTRY) - 1
}

/// `crc` continued over `parts`, finished.
fn crc_of(mut crc: crc32fast::Hasher, parts: &[&[u8]]) -> u32 {
    for part in parts {
        crc.update(part);
    }
    crc.finalize()
}

/// Writes `slices` while a second thread continues `crc` over `pending` (the records not in
/// it yet); returns the CRC.
fn write_overlapped(
    file: &mut File,
    slices: &[IoSlice<'_>],
    crc: crc32fast::Hasher,
    pending: [&[u8]; 2],
) -> io::Result<u32> {
    std::thread::scope(|s| {
        let thread_crc = crc.clone();
        let job = s.spawn(move || crc_of(thread_crc, &pending));
        let written = write_all_vectored(file, slices);
        // The CRC thread cannot panic; if it did, compute the CRC here.
        let crc = job.join().unwrap_or_else(|_| crc_of(crc, &pending));
        written.map(|()| crc)
    })
}

/// Writes `bytes` at byte `offset` of `file` (a chunk's header, over its placeholder).
#[cfg(unix)]
pub(super) fn write_at(file: &File, bytes: &[u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, bytes, offset)
}

/// Never called: chunks are written in one piece without positioned writes (see
/// `OpenChunk::new` and `close_inner`).
#[cfg(not(unix))]
pub(super) fn write_at(_file: &File, _bytes: &[u8], _offset: u64) -> io::Result<()> {
    Err(io::Error::other("positioned writes need a Unix system"))
}

/// Writes every byte of `slices` to `file`, in as few system calls as the OS allows.
pub(crate) fn write_all_vectored(file: &mut File, slices: &[IoSlice<'_>]) -> io::Result<()> {
    let mut owned: Vec<IoSlice<'_>> = slices.iter().filter(|s| !s.is_empty()).copied().collect();
    let mut slices = &mut owned[..];
    while !slices.is_empty() {
        match file.write_vectored(slices) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
