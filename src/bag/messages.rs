//! Iteration over an MCAP file's messages in log-time order, driven by its [`Index`]: a k-way
//! merge of the blocks (chunks) whose time ranges overlap, reading and decompressing each on
//! demand.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::marker::PhantomData;
use std::sync::Arc;

use super::index::{Block, Index};
use super::records::{self, op, MAX_RECORD, PREFIX};
use super::regular_file::open_regular_file;
use crate::bag::{BagError, BagMessage, Damage, DamagedPart, Result};
use crate::msg::Message;
use crate::node::buffer_pool::BufferPool;

/// A message waiting in the merge, ordered by (log time, block offset, index in block).
struct Pending {
    key: (u64, u64, usize),
    message: BagMessage,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

/// Iterator over a log's messages in log-time order; see
/// [`BagReader::messages`](crate::bag::BagReader::messages).
///
/// A damaged chunk is skipped: iteration goes on with the next one, a warning is logged and
/// a [`Damage`] is added to [`skipped`](Self::skipped). An item is an error only when the
/// file cannot be read at all (it is then the last item).
pub struct Messages<'a> {
    index: &'a Index,
    file: Option<BufReader<File>>,
    /// Block indexes in (start time, offset) order.
    order: Vec<usize>,
    next_block: usize,
    heap: BinaryHeap<Reverse<Pending>>,
    filter: Option<HashSet<u16>>,
    failed_open: bool,
    /// Buffers for the blocks being read, reused once their messages are dropped.
    pool: Arc<BufferPool>,
    /// What was skipped: damage found when the file was opened, then while reading.
    skipped: Vec<Damage>,
    /// Blocks read without damage.
    blocks_ok: u64,
    /// Whether the damage found at open was warned about (on the first item).
    warned_known: bool,
}

impl<'a> Messages<'a> {
    pub(super) fn new(index: &'a Index, filter: Option<HashSet<u16>>) -> Self {
        let mut order: Vec<usize> = (0..index.blocks.len())
            .filter(|&i| {
                let b = &index.blocks[i];
                match &filter {
                    Some(ids) if !b.channels.is_empty() => {
                        b.channels.iter().any(|c| ids.contains(c))
                    }
                    _ => true,
                }
            })
            .collect();
        order.sort_by_key(|&i| (index.blocks[i].start, index.blocks[i].offset));
        Self {
            index,
            file: None,
            order,
            next_block: 0,
            heap: BinaryHeap::new(),
            filter,
            failed_open: false,
            pool: Arc::default(),
            skipped: index.skipped.clone(),
            blocks_ok: 0,
            warned_known: false,
        }
    }

    /// The damaged chunks skipped so far (those found when the file was opened first), each
    /// naming the file, the offset and the messages lost where known.
    pub fn skipped(&self) -> &[Damage] {
        &self.skipped
    }

    /// Chunks (and messages outside chunks) read without damage so far.
    pub(super) fn blocks_ok(&self) -> u64 {
        self.blocks_ok
    }

    /// Records a damaged block as skipped, with the messages its Message Index lists.
    fn skip(&mut self, rank: usize, err: BagError) {
        let block = &self.index.blocks[self.order[rank]];
        let reason = match err {
            BagError::Corrupt { reason, .. } => reason,
            other => other.to_string(),
        };
        let damage = Damage {
            file: self.index.path.clone(),
            part: DamagedPart::Chunk {
                offset: block.offset,
            },
            messages_lost: self.messages_in(block),
            reason,
        };
        tracing::warn!("{damage}");
        self.skipped.push(damage);
    }

    /// How many selected messages a block holds, from its Message Index records (`None`:
    /// unknown, or the index is unreadable).
    fn messages_in(&mut self, block: &Block) -> Option<u64> {
        if !block.is_chunk {
            return Some(1);
        }
        let (offset, length) = block.message_index?;
        let end = offset.checked_add(length)?;
        if length > MAX_RECORD || end > self.index.file_size {
            return None;
        }
        let file = self.file.as_mut()?;
        let mut bytes = vec![0u8; usize::try_from(length).ok()?];
        file.seek(SeekFrom::Start(offset))
            .and_then(|_| file.read_exact(&mut bytes))
            .ok()?;
        let filter = &self.filter;
        records::message_index_entries(&bytes, |channel| {
            filter.as_ref().is_none_or(|ids| ids.contains(&channel))
        })
        .ok()
    }

    /// Reads one block's messages into the heap; an error names what was lost.
    fn load(&mut self, rank: usize) -> Result<()> {
        let index = self.index;
        let path = &index.path;
        let block = &index.blocks[self.order[rank]];
        if self.file.is_none() {
            let file = open_regular_file(path)?;
            self.file = Some(BufReader::with_capacity(1 << 16, file));
        }
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        let length = usize::try_from(block.length)
            .ok()
            .filter(|&l| l as u64 <= MAX_RECORD + PREFIX)
            .ok_or_else(|| {
                BagError::corrupt(
                    path,
                    block.offset,
                    format!("record of {} bytes", block.length),
                )
            })?;
        // Blocks are read into pooled buffers: messages are slices of them (no copy), and a
        // buffer is reused once every message from it is dropped, so there is no fresh
        // multi-megabyte allocation (and its page faults) per chunk.
        let mut record = self.pool.take(length);
        let read = file.seek(SeekFrom::Start(block.offset)).and_then(|_| {
            let got = (&mut *file).take(length as u64).read_to_end(&mut record)?;
            if got < length {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            Ok(())
        });
        let record = self.pool.share_bytes(record);
        self.load_record(rank, &record, read)
    }

    /// Parses one block read into `record` (or reports why it could not be read).
    fn load_record(
        &mut self,
        rank: usize,
        record: &bytes::Bytes,
        read: std::io::Result<()>,
    ) -> Result<()> {
        let index = self.index;
        let path = &index.path;
        let block = &index.blocks[self.order[rank]];
        read.map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => {
                BagError::corrupt(path, block.offset, "record runs past the end of the file")
            }
            _ => BagError::io(path, e),
        })?;
        let declared = record
            .get(1..9)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u64::from_le_bytes);
        // A chunk the index points at is read by the index's length (its CRC decides).
        if !block.is_chunk && declared.checked_add(PREFIX) != Some(block.length) {
            return Err(BagError::corrupt(
                path,
                block.offset,
                "the index points at a record of another length",
            ));
        }
        let mut position = 0usize;
        let block_offset = block.offset;
        let mut push =
            |body: &[u8], found: &mut Vec<Reverse<Pending>>| -> std::result::Result<(), String> {
                let (h, data) = records::message(body)?;
                position += 1;
                if self
                    .filter
                    .as_ref()
                    .is_some_and(|ids| !ids.contains(&h.channel_id))
                {
                    return Ok(());
                }
                let Some(channel) = index.channels.get(&h.channel_id) else {
                    return Err(format!(
                        "a message refers to unknown channel {}",
                        h.channel_id
                    ));
                };
                found.push(Reverse(Pending {
                    key: (h.log_time, block_offset, position),
                    message: BagMessage {
                        topic: channel.topic.clone(),
                        type_name: channel.type_name.clone(),
                        channel_id: h.channel_id,
                        sequence: h.sequence,
                        log_time: h.log_time,
                        publish_time: h.publish_time,
                        data: share(record, data),
                    },
                }));
                Ok(())
            };
        // All or nothing: a block's messages join the merge only once all of it was read.
        let mut found = Vec::new();
        let result = match record.first().copied().unwrap_or_default() {
            _ if block.is_chunk => records::for_each_in_chunk(record, |opcode, body| {
                if opcode == op::MESSAGE {
                    push(body, &mut found)?;
                }
                Ok(())
            }),
            op::MESSAGE => push(
                record.get(PREFIX as usize..).unwrap_or_default(),
                &mut found,
            ),
            other => Err(format!(
                "the index points at a record with opcode {other:#04x}, not a message"
            )),
        };
        result.map_err(|reason| BagError::corrupt(path, block.offset, reason))?;
        self.heap.extend(found);
        Ok(())
    }
}

/// `data` as a slice of `record` when it lies inside it (uncompressed chunks), else a copy.
fn share(record: &bytes::Bytes, data: &[u8]) -> bytes::Bytes {
    let inside = record.as_ptr_range();
    let range = data.as_ptr_range();
    if !data.is_empty() && inside.start <= range.start && range.end <= inside.end {
        record.slice_ref(data)
    } else {
        bytes::Bytes::copy_from_slice(data)
    }
}

impl Iterator for Messages<'_> {
    type Item = Result<BagMessage>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed_open {
            return None;
        }
        if !self.warned_known {
            self.warned_known = true;
            for damage in &self.skipped {
                tracing::warn!("{damage}");
            }
        }
        while self.next_block < self.order.len() {
            let start = self.index.blocks[self.order[self.next_block]].start;
            if self.heap.peek().is_some_and(|Reverse(p)| p.key.0 < start) {
                break;
            }
            let rank = self.next_block;
            self.next_block += 1;
            match self.load(rank) {
                Ok(()) => self.blocks_ok += 1,
                Err(err) if self.file.is_none() => {
                    // The file cannot be opened (any more): nothing else can be read.
                    self.failed_open = true;
                    return Some(Err(err));
                }
                Err(err) => self.skip(rank, err),
            }
        }
        self.heap.pop().map(|Reverse(p)| Ok(p.message))
    }
}

/// Iterator over one topic's messages decoded as `T`; see
/// [`BagReader::typed`](crate::bag::BagReader::typed).
pub struct Typed<'a, T> {
    inner: Messages<'a>,
    _type: PhantomData<fn() -> T>,
}

impl<'a, T> Typed<'a, T> {
    pub(super) fn new(inner: Messages<'a>) -> Self {
        Self {
            inner,
            _type: PhantomData,
        }
    }
}

impl<T> Typed<'_, T> {
    /// The damaged chunks skipped so far; see [`Messages::skipped`].
    pub fn skipped(&self) -> &[Damage] {
        self.inner.skipped()
    }
}

impl<T: Message> Iterator for Typed<'_, T> {
    type Item = Result<(u64, T)>;

    fn next(&mut self) -> Option<Self::Item> {
        let message = match self.inner.next()? {
            Ok(m) => m,
            Err(e) => return Some(Err(e)),
        };
        Some(
            crate::cdr::decode::<T>(&message.data)
                .map(|msg| (message.log_time, msg))
                .map_err(|source| BagError::Decode {
                    path: self.inner.index.path.clone(),
                    topic: message.topic.to_string(),
                    type_name: T::TYPE_NAME.to_string(),
                    log_time: message.log_time,
                    source,
                }),
        )
    }
}
