//! Iteration over an MCAP file's messages in log-time order, driven by its [`Index`]: a k-way
//! merge of the blocks (chunks) whose time ranges overlap, reading and decompressing each on
//! demand.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::marker::PhantomData;
use std::sync::Arc;

use super::index::Index;
use super::records::{self, op, MAX_RECORD, PREFIX};
use crate::bag::{BagError, BagMessage, Result};
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
        }
    }

    /// Reads one block's messages into the heap; an error names what was lost.
    fn load(&mut self, rank: usize) -> Result<()> {
        let index = self.index;
        let path = &index.path;
        let block = &index.blocks[self.order[rank]];
        if self.file.is_none() {
            let file = File::open(path).map_err(|e| BagError::io(path, e))?;
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
        let declared = u64::from_le_bytes(record[1..9].try_into().unwrap_or_default());
        if declared.checked_add(PREFIX) != Some(block.length) {
            return Err(BagError::corrupt(
                path,
                block.offset,
                "the index points at a record of another length",
            ));
        }
        let mut position = 0usize;
        let block_offset = block.offset;
        let mut push = |body: &[u8],
                        heap: &mut BinaryHeap<Reverse<Pending>>|
         -> std::result::Result<(), String> {
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
            heap.push(Reverse(Pending {
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
        let heap = &mut self.heap;
        let result = match record[0] {
            op::CHUNK => records::for_each_in_chunk(record, |opcode, body| {
                if opcode == op::MESSAGE {
                    push(body, heap)?;
                }
                Ok(())
            }),
            op::MESSAGE => push(&record[PREFIX as usize..], heap),
            other => Err(format!(
                "the index points at a record with opcode {other:#04x}, not a chunk"
            )),
        };
        result.map_err(|reason| BagError::corrupt(path, block.offset, reason))
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
        while self.next_block < self.order.len() {
            let start = self.index.blocks[self.order[self.next_block]].start;
            if self.heap.peek().is_some_and(|Reverse(p)| p.key.0 < start) {
                break;
            }
            let rank = self.next_block;
            self.next_block += 1;
            if let Err(err) = self.load(rank) {
                if matches!(err, BagError::Io { .. }) && self.file.is_none() {
                    self.failed_open = true;
                }
                return Some(Err(err));
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
