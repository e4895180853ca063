//! [`BlockWriter`]: a thread that appends the blocks of an open uncompressed chunk to the file,
//! so that the kernel's copy of one block overlaps the filling of the next.
//!
//! The thread reserves the file's space ahead of its blocks ([`super::preallocate`]). At most
//! [`BLOCKS`] blocks are in flight. The thread writes through a clone of the file
//! handle, which shares its position: nothing else may write to the file until [`drain`]
//! says every block is in it. A chunk is closed by handing the thread its last block, then its
//! real header to write over the placeholder ([`BlockWriter::send_at`]), and draining: the
//! chunk is only counted as written after that, so the thread changes nothing about what a
//! killed writer loses (the open chunk).
//!
//! [`drain`]: BlockWriter::drain

use std::fs::File;
use std::io::{self, Seek, Write};
use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use super::open_chunk::write_at;
use super::preallocate::Preallocator;

/// Blocks handed to the thread and not yet written, at most.
const BLOCKS: usize = 4;

/// A written block and how writing it went.
type Written = (Vec<u8>, io::Result<()>);

/// Bytes for the thread to write: appended at the file's end, or at a byte offset.
type Job = (Vec<u8>, Option<u64>);

/// See the [module docs](self).
pub(crate) struct BlockWriter {
    to_thread: Option<SyncSender<Job>>,
    from_thread: Receiver<Written>,
    in_flight: usize,
    /// Written blocks, for reuse.
    spare: Vec<Vec<u8>>,
    /// Blocks are kept for reuse when their capacity is in this range.
    keep_capacity: std::ops::RangeInclusive<usize>,
    thread: Option<JoinHandle<()>>,
}

impl BlockWriter {
    /// Starts the thread, writing to a clone of `file`'s handle; blocks of about
    /// `block_size` bytes are kept for reuse.
    pub fn new(file: &File, block_size: usize) -> io::Result<Self> {
        let mut file = file.try_clone()?;
        let (to_thread, blocks) = sync_channel::<Job>(BLOCKS);
        let (written, from_thread) = channel::<Written>();
        let thread = std::thread::Builder::new()
            .name("rosync-bag-write".into())
            .spawn(move || {
                let mut space = Preallocator::default();
                for (block, at) in blocks {
                    let result = match at {
                        None => {
                            if let Ok(start) = file.stream_position() {
                                space.reserve(&file, start, start + block.len() as u64);
                            }
                            file.write_all(&block)
                        }
                        Some(offset) => write_at(&file, &block, offset),
                    };
                    if written.send((block, result)).is_err() {
                        break;
                    }
                }
            })?;
        Ok(Self {
            to_thread: Some(to_thread),
            from_thread,
            in_flight: 0,
            spare: Vec::new(),
            keep_capacity: block_size..=block_size.saturating_mul(4),
            thread: Some(thread),
        })
    }

    /// Hands `block` to the thread to append to the file and returns an empty buffer to fill
    /// next; reports a failed write of an earlier block.
    pub fn send(&mut self, block: Vec<u8>) -> io::Result<Vec<u8>> {
        self.hand_over((block, None))?;
        Ok(self.spare.pop().unwrap_or_default())
    }

    /// Hands `bytes` to the thread to write at byte `offset`, after every block handed over
    /// before; reports a failed write of an earlier block.
    pub fn send_at(&mut self, bytes: Vec<u8>, offset: u64) -> io::Result<()> {
        self.hand_over((bytes, Some(offset)))
    }

    fn hand_over(&mut self, job: Job) -> io::Result<()> {
        let mut failed = None;
        while let Ok(done) = self.from_thread.try_recv() {
            self.take_back(done, &mut failed);
        }
        if self.in_flight >= BLOCKS {
            let done = self.from_thread.recv().map_err(|_| gone())?;
            self.take_back(done, &mut failed);
        }
        if let Some(e) = failed {
            return Err(e);
        }
        let to_thread = self.to_thread.as_ref().ok_or_else(gone)?;
        to_thread.send(job).map_err(|_| gone())?;
        self.in_flight += 1;
        Ok(())
    }

    /// Waits until every block handed over is in the file; reports the first failed write.
    pub fn drain(&mut self) -> io::Result<()> {
        let mut failed = None;
        while self.in_flight > 0 {
            let done = self.from_thread.recv().map_err(|_| gone())?;
            self.take_back(done, &mut failed);
        }
        failed.map_or(Ok(()), Err)
    }

    fn take_back(&mut self, (mut block, result): Written, failed: &mut Option<io::Error>) {
        self.in_flight -= 1;
        if let Err(e) = result {
            failed.get_or_insert(e);
        }
        if self.keep_capacity.contains(&block.capacity()) && self.spare.len() <= BLOCKS {
            block.clear();
            self.spare.push(block);
        }
    }
}

impl Drop for BlockWriter {
    fn drop(&mut self) {
        // Closing the channel ends the thread once it has written what it holds.
        drop(self.to_thread.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The error when the thread is gone (it only ends when the writer drops it).
fn gone() -> io::Error {
    io::Error::other("the log's write thread ended")
}
