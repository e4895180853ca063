//! [`BlockWriter`]: a thread that appends the blocks of an open uncompressed chunk to the file,
//! so that the kernel's copy of one block overlaps the filling of the next.
//!
//! At most [`BLOCKS`] blocks are in flight. The thread writes through a clone of the file
//! handle, which shares its position: nothing else may write to the file until [`drain`]
//! says every block is in it. A chunk is only closed (and counted as written) after that, so
//! the thread changes nothing about what a killed writer loses: the open chunk.
//!
//! [`drain`]: BlockWriter::drain

use std::fs::File;
use std::io::{self, Write};
use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

/// Blocks handed to the thread and not yet written, at most.
const BLOCKS: usize = 4;

/// A written block and how writing it went.
type Written = (Vec<u8>, io::Result<()>);

/// See the [module docs](self).
pub(crate) struct BlockWriter {
    to_thread: Option<SyncSender<Vec<u8>>>,
    from_thread: Receiver<Written>,
    in_flight: usize,
    /// Written blocks, for reuse.
    spare: Vec<Vec<u8>>,
    /// Blocks larger than this are not kept for reuse.
    keep_capacity: usize,
    thread: Option<JoinHandle<()>>,
}

impl BlockWriter {
    /// Starts the thread, writing to a clone of `file`'s handle; blocks of about
    /// `block_size` bytes are kept for reuse.
    pub fn new(file: &File, block_size: usize) -> io::Result<Self> {
        let mut file = file.try_clone()?;
        let (to_thread, blocks) = sync_channel::<Vec<u8>>(BLOCKS);
        let (written, from_thread) = channel::<Written>();
        let thread = std::thread::Builder::new()
            .name("rosync-bag-write".into())
            .spawn(move || {
                for block in blocks {
                    let result = file.write_all(&block);
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
            keep_capacity: block_size.saturating_mul(4),
            thread: Some(thread),
        })
    }

    /// Hands `block` to the thread and returns an empty buffer to fill next; reports a failed
    /// write of an earlier block.
    pub fn send(&mut self, block: Vec<u8>) -> io::Result<Vec<u8>> {
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
        to_thread.send(block).map_err(|_| gone())?;
        self.in_flight += 1;
        Ok(self.spare.pop().unwrap_or_default())
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
        if block.capacity() <= self.keep_capacity {
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
