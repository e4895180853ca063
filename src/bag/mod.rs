//! MCAP message logs ("bags") with the `ros2` profile, readable by Foxglove, the `mcap` CLI,
//! Python `rosbags` and `ros2 bag`, and reading what they write.
//!
//! - [`BagWriter`] records: `ros2msg` schemas, `cdr` channels with rosbag2's metadata,
//!   zstd/lz4/uncompressed chunks closed every [`WriterOptions::chunk_size`] bytes, so a
//!   killed recorder loses at most its open chunk (see [`writer`]).
//! - [`BagReader`] plays: topics, counts, times, messages in log-time order, raw
//!   ([`BagReader::messages`]) or typed ([`BagReader::typed`]). A file whose writer was killed,
//!   a cut or corrupted file is read up to the damage, which [`BagReader::damage`] describes;
//!   a damaged chunk is skipped and reported as a [`Damage`] ([`Messages::skipped`]), and
//!   [`BagReader::verify`] reads every chunk.
//! - [`recover`] rewrites what is readable in a damaged file into a clean one.
//! - [`BagInfo`] prints a summary like `ros2 bag info`.
//! - [`Log`] reads a file or a rosbag2 folder of several files as one log-time-ordered stream.
//! - [`Recorder`] records live topics into a rosbag2 folder (split files, `metadata.yaml`);
//!   [`Player`] replays a [`Log`] onto the network with its recorded timing. Both take a
//!   [`TopicSelection`] and report the selected topics they skip as [`SkippedTopic`]s.
//! - [`SqliteReader`] reads rosbag2 sqlite3 files (`.db3`); [`rosbag2::Metadata`] reads and
//!   writes a rosbag2 folder's `metadata.yaml`.
//!
//! ```no_run
//! use rosync::bag::{BagReader, BagWriter, WriterOptions};
//! use rosync::msg::std_msgs;
//!
//! # fn run() -> Result<(), rosync::bag::BagError> {
//! let mut bag = BagWriter::create("chatter.mcap", WriterOptions::default())?;
//! bag.write_message("/chatter", 1_000, &std_msgs::String { data: "hello".into() })?;
//! bag.finish()?;
//!
//! let bag = BagReader::open("chatter.mcap")?;
//! for item in bag.typed::<std_msgs::String>("/chatter")? {
//!     let (log_time, msg) = item?;
//!     println!("{log_time}: {}", msg.data);
//! }
//! # Ok(()) }
//! ```

mod block_writer;
mod damage;
mod error;
mod index;
pub mod info;
mod log;
mod messages;
mod open_chunk;
pub mod player;
mod preallocate;
pub mod reader;
pub mod recorder;
mod records;
mod recover;
mod regular_file;
pub mod rosbag2;
mod selection;
pub mod sqlite;
mod types;
mod untrusted;
mod write_records;
pub mod writer;

pub use damage::{Damage, DamagedPart, Verification};
pub use error::{BagError, Result};
pub use info::{BagInfo, TopicSummary};
pub use log::{Log, LogMessages};
pub use messages::{Messages, Typed};
pub use player::{
    PlayError, PlayOptions, PlayReport, PlayTopic, Player, PlayerControl, ScheduleError,
};
pub use reader::BagReader;
pub use recorder::{RecordError, RecordOptions, RecordReport, Recorder, TopicReport};
pub use recover::{recover, recover_folder, recover_with, FolderRecovery, RecoveryReport};
pub use selection::{PatternError, SkippedTopic, TopicPattern, TopicSelection};
pub use sqlite::SqliteReader;
pub use types::{BagMessage, LogTopic};
#[cfg(feature = "cli")]
pub(crate) use untrusted::shown;
pub use writer::{
    BagWriter, Compression, TopicId, WriteSummary, WriterOptions, DEFAULT_CHUNK_SIZE,
};
