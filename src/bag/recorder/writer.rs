//! The writer thread: takes [`Batch`]es of messages from the [`Inbox`] (the writer's end of
//! the [`Outbox`](super::outbox::Outbox)) and writes each whole batch into numbered MCAP
//! files (`STEM_0.mcap`, `STEM_1.mcap`, ...), starting a new file past
//! [`RecordOptions::max_bag_size`] or [`RecordOptions::max_bag_duration`], closing a chunk
//! older than [`RecordOptions::max_chunk_age`] even when no message comes, and writing
//! `metadata.yaml` at the end. Every known topic is registered in every file, as
//! rosbag2 does. Plain byte payloads in, files out: no network involved.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::metadata::bag_metadata;
use super::options::RecordOptions;
use super::outbox::{Batch, Entry, Inbox, Progress, Taken, RELEASE_BYTES, RELEASE_EVERY};
use super::topic::{RecordedTopic, Topics};
use crate::bag::rosbag2::FileInfo;
use crate::bag::types::widen_span;
use crate::bag::{BagError, BagWriter, TopicId, WriterOptions};
use crate::lock::lock;

/// How long the writer thread waits for a message before checking chunk age and new topics
/// (it also checks after every batch).
const WRITER_TICK: Duration = Duration::from_millis(100);

/// Bytes of a message record besides its payload (opcode, length, 22-byte header).
const MESSAGE_RECORD_OVERHEAD: u64 = 31;

/// What the writer thread wrote.
#[derive(Debug)]
pub(crate) struct WriterOutcome {
    /// The files, in order.
    pub files: Vec<PathBuf>,
    /// Their total size.
    pub bytes: u64,
}

/// The file being written.
struct OpenFile {
    writer: BagWriter,
    /// The file, relative to the folder.
    path: String,
    /// Channel ids by topic (keyed by the address of its shared state).
    ids: HashMap<usize, TopicId>,
    /// The last topic written and its id: consecutive messages of one topic skip the map.
    last: Option<(usize, TopicId)>,
    /// Log times of its first and last message.
    span: Option<(u64, u64)>,
    messages: u64,
    /// Bytes the writer has handed to the file (closed chunks), as last seen.
    closed_bytes: u64,
    /// Estimated bytes of the open chunk (message records).
    open_bytes: u64,
    /// When the open chunk got its first message.
    open_since: Option<Instant>,
}

impl OpenFile {
    /// Notes that the writer closed the open chunk.
    fn chunk_closed(&mut self) {
        self.closed_bytes = self.writer.bytes_written();
        self.open_bytes = 0;
        self.open_since = None;
    }
}

/// Writes a recording's files; see the [module docs](self).
pub(crate) struct WriterThread {
    folder: PathBuf,
    stem: String,
    writer_options: WriterOptions,
    max_bag_size: Option<u64>,
    max_bag_duration: Option<u64>,
    topics: Topics,
    /// How many of `topics` are registered in the open file.
    registered: usize,
    current: Option<OpenFile>,
    /// The closed files.
    files: Vec<FileInfo>,
    bytes: u64,
}

impl WriterThread {
    /// Opens `folder/STEM_0.mcap` (STEM: the folder's name) for the topics listed in `topics`
    /// now and later.
    pub fn create(
        folder: PathBuf,
        stem: String,
        options: &RecordOptions,
        topics: Topics,
    ) -> Result<Self, BagError> {
        let mut thread = Self {
            folder,
            stem,
            writer_options: WriterOptions {
                compression: options.compression,
                chunk_size: options.chunk_size.max(1),
                max_chunk_age: options.max_chunk_age,
                sync_chunks: false,
            },
            max_bag_size: options.max_bag_size,
            max_bag_duration: options
                .max_bag_duration
                .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
            topics,
            registered: 0,
            current: None,
            files: Vec::new(),
            bytes: 0,
        };
        thread.open_next()?;
        Ok(thread)
    }

    /// Writes every message until the outbox closes, then closes the last file and writes
    /// `metadata.yaml` (also after an error, which is then returned).
    pub fn run(mut self, mut inbox: Inbox) -> Result<WriterOutcome, BagError> {
        let result = self.run_loop(&mut inbox);
        self.finish(result)
    }

    fn run_loop(&mut self, inbox: &mut Inbox) -> Result<(), BagError> {
        let progress = inbox.progress();
        loop {
            self.register_new_topics()?;
            match inbox.take(WRITER_TICK) {
                Taken::Batch(batch) => {
                    let now = Instant::now();
                    self.write_batch(batch, &progress, now)?;
                    self.flush_if_old(now)?;
                }
                Taken::Timeout => self.flush_if_old(Instant::now())?,
                Taken::Closed => return Ok(()),
            }
        }
    }

    /// Writes a batch of messages received by `now`, in order, giving back the room of written
    /// messages every [`RELEASE_EVERY`] messages or [`RELEASE_BYTES`] bytes as it goes.
    fn write_batch(
        &mut self,
        batch: &Batch,
        progress: &Progress,
        now: Instant,
    ) -> Result<(), BagError> {
        let (mut messages, mut bytes) = (0, 0);
        for (entry, payload) in batch.iter() {
            self.write(entry, payload, now)?;
            messages += 1;
            bytes += payload.len();
            if messages == RELEASE_EVERY || bytes >= RELEASE_BYTES {
                progress.written(messages, bytes);
                (messages, bytes) = (0, 0);
            }
        }
        Ok(())
    }

    /// Closes the file, writes `metadata.yaml` and reports, after the loop ended with `result`.
    fn finish(mut self, result: Result<(), BagError>) -> Result<WriterOutcome, BagError> {
        let closed = self.close_current();
        result.and(closed)?;
        let topics: Vec<Arc<RecordedTopic>> = lock(&self.topics).clone();
        bag_metadata(&self.folder, &self.files, &topics).write()?;
        Ok(WriterOutcome {
            files: self
                .files
                .iter()
                .map(|f| self.folder.join(&f.path))
                .collect(),
            bytes: self.bytes,
        })
    }

    fn open_next(&mut self) -> Result<(), BagError> {
        let path = format!("{}_{}.mcap", self.stem, self.files.len());
        let writer = BagWriter::create(self.folder.join(&path), self.writer_options.clone())?;
        self.current = Some(OpenFile {
            closed_bytes: writer.bytes_written(),
            writer,
            path,
            ids: HashMap::new(),
            last: None,
            span: None,
            messages: 0,
            open_bytes: 0,
            open_since: None,
        });
        // Every known topic is in every file, as rosbag2 does.
        let topics: Vec<_> = lock(&self.topics).clone();
        for topic in topics.iter().take(self.registered) {
            self.register(topic)?;
        }
        Ok(())
    }

    fn close_current(&mut self) -> Result<(), BagError> {
        if let Some(file) = self.current.take() {
            let summary = file.writer.finish()?;
            self.bytes += summary.bytes;
            let (start, end) = file.span.unwrap_or((0, 0));
            self.files.push(FileInfo {
                path: file.path,
                starting_time_ns: i64::try_from(start).unwrap_or(i64::MAX),
                duration_ns: i64::try_from(end - start).unwrap_or(i64::MAX),
                message_count: file.messages,
            });
        }
        Ok(())
    }

    /// The open file; there is one from [`create`](Self::create) until [`finish`](Self::finish).
    fn file(&mut self) -> Result<&mut OpenFile, BagError> {
        let folder = &self.folder;
        self.current.as_mut().ok_or_else(|| BagError::Write {
            path: folder.clone(),
            reason: "the recorder's writer has no open file".into(),
        })
    }

    fn register(&mut self, topic: &Arc<RecordedTopic>) -> Result<TopicId, BagError> {
        let file = self.file()?;
        let key = Arc::as_ptr(topic) as usize;
        if let Some((last, id)) = file.last {
            if last == key {
                return Ok(id);
            }
        }
        if let Some(&id) = file.ids.get(&key) {
            file.last = Some((key, id));
            return Ok(id);
        }
        let id = file.writer.add_topic(
            &topic.name,
            &topic.type_name,
            &topic.type_hash,
            topic.definition,
            Some(&topic.qos),
        )?;
        file.ids.insert(key, id);
        file.last = Some((key, id));
        Ok(id)
    }

    /// Registers topics discovered since the last call in the open file.
    fn register_new_topics(&mut self) -> Result<(), BagError> {
        let new: Vec<_> = lock(&self.topics)[self.registered..].to_vec();
        self.registered += new.len();
        for topic in &new {
            self.register(topic)?;
        }
        Ok(())
    }

    /// Writes one message received at `now`, starting a new file first or after as the limits
    /// say.
    fn write(&mut self, item: &Entry, payload: &[u8], now: Instant) -> Result<(), BagError> {
        let start = self.current.as_ref().and_then(|f| f.span).map(|s| s.0);
        if let (Some(max), Some(start)) = (self.max_bag_duration, start) {
            if item.log_time.saturating_sub(start) >= max {
                self.split()?;
            }
        }
        let id = self.register(&item.topic)?;
        let file = self.file()?;
        file.writer
            .write(id, item.log_time, item.publish_time, payload)?;
        item.topic.written.fetch_add(1, Ordering::Relaxed);
        file.messages += 1;
        file.span = widen_span(file.span, item.log_time);
        if file.writer.bytes_written() != file.closed_bytes {
            // The writer closed the chunk, this message included.
            file.chunk_closed();
        } else {
            file.open_bytes += MESSAGE_RECORD_OVERHEAD + payload.len() as u64;
            file.open_since.get_or_insert(now);
        }
        let size = file.closed_bytes + file.open_bytes;
        if self.max_bag_size.is_some_and(|max| size >= max) {
            self.split()?;
        }
        Ok(())
    }

    fn split(&mut self) -> Result<(), BagError> {
        self.close_current()?;
        self.open_next()
    }

    /// Closes the open chunk if it is older than the chunk age limit at `now`.
    fn flush_if_old(&mut self, now: Instant) -> Result<(), BagError> {
        let Some(age) = self.writer_options.max_chunk_age else {
            return Ok(());
        };
        let file = self.file()?;
        if file
            .open_since
            .is_some_and(|t| now.saturating_duration_since(t) >= age)
        {
            file.writer.flush()?;
            file.chunk_closed();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::bag::recorder::outbox::{Incoming, Outbox};
    use crate::bag::rosbag2::Metadata;
    use crate::bag::BagReader;
    use crate::msg::{std_msgs, Message};
    use crate::node::QosProfile;

    const MS: u64 = 1_000_000;

    /// An empty scratch folder for one test.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir()
            .join(format!("rosync-recorder-{}", std::process::id()))
            .join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch folder");
        dir
    }

    fn string_topic(name: &str) -> Arc<RecordedTopic> {
        Arc::new(RecordedTopic::new(
            name,
            std_msgs::String::TYPE_NAME,
            std_msgs::String::TYPE_HASH,
            std_msgs::String::DEFINITION,
            vec![QosProfile::sensor_data()],
        ))
    }

    fn payload(text: &str) -> Vec<u8> {
        let msg = std_msgs::String { data: text.into() };
        crate::cdr::encode(&msg).expect("encodes")
    }

    /// Records `messages` (topic index, log time) through a writer thread into `folder`.
    fn record(
        folder: &Path,
        options: &RecordOptions,
        topics: &[Arc<RecordedTopic>],
        messages: &[(usize, u64)],
    ) -> WriterOutcome {
        let shared: Topics = Arc::new(std::sync::Mutex::new(topics.to_vec()));
        let thread = WriterThread::create(folder.to_path_buf(), "bag".into(), options, shared)
            .expect("creates");
        let (outbox, inbox) = Outbox::new(messages.len().max(1), usize::MAX);
        let text = payload(&"x".repeat(100));
        for &(topic, time) in messages {
            assert!(outbox.send(&topics[topic], time, time + 1, Incoming::Copy(&text)));
        }
        drop(outbox);
        thread.run(inbox).expect("writes")
    }

    fn file_names(outcome: &WriterOutcome) -> Vec<String> {
        outcome
            .files
            .iter()
            .map(|f| f.file_name().expect("name").to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn size_splits_produce_numbered_files_listing_every_topic() {
        let folder = scratch("size");
        let mut options = RecordOptions::new(&folder);
        options.chunk_size = 600;
        options.max_bag_size = Some(2_000);
        let topics = [string_topic("/a"), string_topic("/b")];
        let messages: Vec<(usize, u64)> =
            (0..60).map(|i| (0, i * MS)).chain([(1, 60 * MS)]).collect();
        let outcome = record(&folder, &options, &topics, &messages);

        let names = file_names(&outcome);
        assert!(names.len() >= 3, "{names:?}");
        for (i, name) in names.iter().enumerate() {
            assert_eq!(name, &format!("bag_{i}.mcap"));
        }
        let mut total = 0;
        for file in &outcome.files {
            let bag = BagReader::open(file).expect("a clean file");
            assert!(bag.damage().is_none(), "{}", file.display());
            let listed: Vec<String> = bag.topics().into_iter().map(|t| t.topic).collect();
            assert_eq!(listed, ["/a", "/b"], "{}", file.display());
            total += bag.message_count();
        }
        assert_eq!(total, 61);
        let bytes: u64 = outcome
            .files
            .iter()
            .map(|f| std::fs::metadata(f).expect("file").len())
            .sum();
        assert_eq!(outcome.bytes, bytes);

        let metadata = Metadata::open(folder.join("metadata.yaml")).expect("metadata");
        assert_eq!(metadata.relative_file_paths, names);
        assert_eq!(metadata.message_count, 61);
        assert_eq!(
            metadata.files.iter().map(|f| f.message_count).sum::<u64>(),
            61
        );
        assert_eq!(
            (metadata.starting_time_ns, metadata.duration_ns),
            (0, 60 * MS as i64)
        );
        let counts: Vec<(&str, u64)> = metadata
            .topics
            .iter()
            .map(|t| (t.name.as_str(), t.message_count))
            .collect();
        assert_eq!(counts, [("/a", 60), ("/b", 1)]);
        assert_eq!(
            metadata.topics[0].offered_qos_profiles,
            [QosProfile::sensor_data()]
        );
        assert_eq!(
            metadata.topics[0].type_description_hash,
            std_msgs::String::TYPE_HASH
        );
        let _ = std::fs::remove_dir_all(&folder);
    }

    #[test]
    fn duration_splits_follow_log_times() {
        let folder = scratch("duration");
        let mut options = RecordOptions::new(&folder);
        options.max_bag_duration = Some(Duration::from_secs(1));
        let topics = [string_topic("/a")];
        let times = [0, 500, 1_000, 1_600, 2_100].map(|ms| (0, ms * MS));
        let outcome = record(&folder, &options, &topics, &times);
        assert_eq!(
            file_names(&outcome),
            ["bag_0.mcap", "bag_1.mcap", "bag_2.mcap"]
        );

        let metadata = Metadata::open(folder.join("metadata.yaml")).expect("metadata");
        let files: Vec<(i64, i64, u64)> = metadata
            .files
            .iter()
            .map(|f| (f.starting_time_ns, f.duration_ns, f.message_count))
            .collect();
        let ms = MS as i64;
        assert_eq!(
            files,
            [
                (0, 500 * ms, 2),
                (1_000 * ms, 600 * ms, 2),
                (2_100 * ms, 0, 1)
            ]
        );
        assert_eq!(metadata.duration_ns, 2_100 * ms);
        let _ = std::fs::remove_dir_all(&folder);
    }

    #[test]
    fn an_old_chunk_is_closed_without_a_new_message() {
        let folder = scratch("chunk_age");
        let mut options = RecordOptions::new(&folder);
        options.max_chunk_age = Some(Duration::from_secs(1));
        let topic = string_topic("/a");
        let shared: Topics = Arc::new(std::sync::Mutex::new(vec![topic.clone()]));
        let mut thread =
            WriterThread::create(folder.clone(), "bag".into(), &options, shared).expect("creates");
        thread.register_new_topics().expect("registers");
        let (outbox, mut inbox) = Outbox::new(1, usize::MAX);
        let progress = inbox.progress();
        outbox.send(&topic, 5, 5, Incoming::Copy(&payload("hello")));
        let Taken::Batch(batch) = inbox.take(Duration::from_secs(1)) else {
            panic!("queued");
        };

        let path = folder.join("bag_0.mcap");
        let on_disk = || std::fs::metadata(&path).expect("file").len();
        let t0 = Instant::now();
        thread.write_batch(batch, &progress, t0).expect("writes");
        let before = on_disk();
        thread
            .flush_if_old(t0 + Duration::from_millis(999))
            .expect("checks");
        assert_eq!(on_disk(), before, "the chunk is younger than its age limit");
        thread
            .flush_if_old(t0 + Duration::from_secs(1))
            .expect("flushes");
        assert!(on_disk() > before, "the chunk is written");

        // What a killed recorder leaves (no summary, no metadata.yaml) holds the message.
        let bag = BagReader::open(&path).expect("readable without a summary");
        assert_eq!(bag.message_count(), 1);
        drop((thread, outbox, inbox));
        let _ = std::fs::remove_dir_all(&folder);
    }
}
