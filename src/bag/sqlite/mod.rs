//! [`SqliteReader`]: a rosbag2 sqlite3 file (`.db3`), as written by `ros2 bag record -s
//! sqlite3` and Python `rosbags`, read-only.
//!
//! The layouts read (rosbag2's "schema version", in the `schema` table from version 2 on):
//! - every version: `topics(id, name, type, serialization_format[, offered_qos_profiles])` and
//!   `messages(id, topic_id, timestamp, data)` with an index on `timestamp`;
//! - 3 (Humble) adds `metadata(id, metadata_version, metadata)`, the bag's `metadata.yaml`;
//! - 4 (Iron, Jazzy, and what `rosbags` 0.11 writes) adds `topics.type_description_hash` and
//!   `message_definitions(id, topic_type, encoding, encoded_message_definition,
//!   type_description_hash)`.
//!
//! Optional columns and tables are detected, not assumed from the version. A topic's
//! definition comes from `message_definitions` when it holds one, else from rosync's own
//! registry ([`crate::msg::lookup`]), else it is empty.
//!
//! Messages stream in (timestamp, id) order, as rosbag2 plays them, a page of rows at a time
//! (keyset pagination on the timestamp index), so memory is bounded by a page, not the file
//! ([`SqliteMessages`]).
//!
//! Files come from others, so nothing in one is trusted. rosync does not parse the file
//! format itself: the SQLite library (bundled with `rusqlite`) does, and is built to read
//! corrupted and malicious database files without crashing (page numbers, cell offsets,
//! varints and overflow chains are checked against the file, with `SQLITE_CORRUPT` when they
//! do not fit). On top of that rosync turns on SQLite's extra cell-size checks,
//! limits a value to the file's size, bounds every query to a number of steps proportional
//! to the file's size (so a page chain that loops back cannot hang a reader), and reads each
//! value by its actual type. Required tables and columns missing, or a topic or definition
//! holding a value of another type, is an error naming the file, the table and the column. A
//! `messages` row whose id, topic id, timestamp or data has another type, whose timestamp is
//! negative or whose topic the `topics` table does not define is skipped and counted
//! ([`SqliteReader::damage`], [`SqliteReader::skipped_messages`]), like a damaged MCAP chunk;
//! so are the rows on damaged pages of the file, which SQLite finds: at open the table is
//! counted again around the damage, and [`SqliteMessages`] reads a damaged stretch key by key,
//! reporting what it skips where it meets it.

mod census;
mod database;
mod messages;

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::bag::regular_file::check_regular_file;
use crate::bag::{BagError, LogTopic, Result};
use census::Census;
use database::{columns, table_exists, Database};
pub use messages::SqliteMessages;

/// The first 16 bytes of every SQLite database.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";
/// The files SQLite opens beside a database when they exist (rollback journal, WAL).
const SIDE_FILES: [&str; 3] = ["-journal", "-wal", "-shm"];
/// The columns rosync reads from `topics`, as rosbag2 names them.
const TOPICS_COLUMNS: [&str; 4] = ["id", "name", "type", "serialization_format"];
/// The columns rosync reads from `messages`, as rosbag2 names them.
const MESSAGES_COLUMNS: [&str; 4] = ["id", "topic_id", "timestamp", "data"];
/// The columns rosync reads from `message_definitions`, as rosbag2 names them.
const DEFINITIONS_COLUMNS: [&str; 3] = ["topic_type", "encoding", "encoded_message_definition"];

/// Whether `path` is a regular file starting with the SQLite magic bytes (unreadable files,
/// FIFOs and other non-regular files: `false`, without opening them).
pub fn is_sqlite(path: &Path) -> bool {
    let mut magic = [0u8; 16];
    std::fs::metadata(path).is_ok_and(|m| m.is_file())
        && std::fs::File::open(path)
            .and_then(|mut f| f.read_exact(&mut magic))
            .is_ok()
        && &magic == SQLITE_MAGIC
}

#[derive(Debug, Clone)]
struct Topic {
    info: LogTopic,
    topic: Arc<str>,
    type_name: Arc<str>,
}

/// An open rosbag2 sqlite3 file; see the [module docs](self).
#[derive(Debug)]
pub struct SqliteReader {
    path: PathBuf,
    file_size: u64,
    schema_version: Option<i64>,
    ros_distro: String,
    /// By the `topics.id` of the file.
    topics: BTreeMap<i64, Topic>,
    message_count: u64,
    start: Option<u64>,
    end: Option<u64>,
    /// Rows of the messages table.
    total_rows: u64,
    skipped: u64,
    damage: Option<BagError>,
}

/// A definition as stored in `message_definitions`.
struct Definition {
    encoding: String,
    text: String,
    hash: String,
}

impl SqliteReader {
    /// Opens `path` read-only and reads its topics, counts and time range.
    ///
    /// Fails with [`BagError::Sqlite`] naming the file if it is not an SQLite database, is
    /// corrupt, lacks the rosbag2 `topics` and `messages` tables or a column rosync reads, or
    /// holds a topic or definition whose values have other types (naming table and column).
    /// Fails with [`BagError::Io`] for a FIFO or other non-regular file (or such a journal or
    /// WAL file beside it), without opening it.
    /// Unreadable `messages` rows are skipped and reported by [`damage`](Self::damage).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file_size = check_regular_file(&path)?.len();
        // SQLite also opens these beside the file when they exist: a FIFO there would block.
        for suffix in SIDE_FILES {
            let mut side = path.clone().into_os_string();
            side.push(suffix);
            let side = PathBuf::from(side);
            if std::fs::symlink_metadata(&side).is_ok() {
                check_regular_file(&side)?;
            }
        }
        if !is_sqlite(&path) {
            return Err(BagError::Sqlite {
                path,
                reason: if file_size == 0 {
                    "the file is empty".into()
                } else {
                    "not an SQLite database (it does not start with \"SQLite format 3\")".into()
                },
            });
        }
        let db = Database::open(&path, file_size)?;
        let mut reader = Self {
            path,
            file_size,
            schema_version: None,
            ros_distro: String::new(),
            topics: BTreeMap::new(),
            message_count: 0,
            start: None,
            end: None,
            total_rows: 0,
            skipped: 0,
            damage: None,
        };
        for table in ["topics", "messages"] {
            if !table_exists(&db, &reader.path, table)? {
                return Err(BagError::Sqlite {
                    path: reader.path,
                    reason: format!(
                        "the database has no {table} table, so it is not a rosbag2 bag"
                    ),
                });
            }
        }
        columns(&db, &reader.path, "messages", &MESSAGES_COLUMNS)?;
        reader.read_schema(&db)?;
        let definitions = reader.read_definitions(&db)?;
        reader.read_topics(&db, &definitions)?;
        reader.count_messages(&db)?;
        Ok(reader)
    }

    /// Counts the readable messages per topic and their time range, and what is skipped.
    fn count_messages(&mut self, db: &Database) -> Result<()> {
        let census = Census::count(db, &self.path, |id| self.topics.contains_key(&id))?;
        for (id, topic) in self.topics.iter_mut() {
            topic.info.message_count = census.topics.get(id).map_or(0, |c| c.0);
        }
        self.message_count = census.topics.values().map(|c| c.0).sum();
        let to_time = |t: i64| u64::try_from(t).unwrap_or(0);
        self.start = census.topics.values().map(|c| c.1).min().map(to_time);
        self.end = census.topics.values().map(|c| c.2).max().map(to_time);
        self.skipped = census.skipped();
        self.total_rows = census.total();
        self.damage = census.damage(&self.path);
        Ok(())
    }

    fn read_schema(&mut self, db: &Database) -> Result<()> {
        if !table_exists(db, &self.path, "schema")? {
            return Ok(());
        }
        columns(db, &self.path, "schema", &["schema_version", "ros_distro"])?;
        let mut found = None;
        db.rows(
            &self.path,
            "schema",
            "SELECT schema_version, ros_distro FROM schema ORDER BY schema_version DESC LIMIT 1",
            [],
            |cells| {
                found = Some((
                    cells.integer(0, "schema_version")?,
                    cells.text(1, "ros_distro", true)?,
                ));
                Ok(())
            },
        )?;
        if let Some((version, distro)) = found {
            self.schema_version = Some(version);
            self.ros_distro = distro;
        }
        Ok(())
    }

    fn read_definitions(&self, db: &Database) -> Result<HashMap<String, Definition>> {
        let mut definitions: HashMap<String, Definition> = HashMap::new();
        if !table_exists(db, &self.path, "message_definitions")? {
            return Ok(definitions);
        }
        let names = columns(db, &self.path, "message_definitions", &DEFINITIONS_COLUMNS)?;
        let hash = if names.iter().any(|n| n == "type_description_hash") {
            "type_description_hash"
        } else {
            "''"
        };
        db.rows(
            &self.path,
            "message_definitions",
            &format!(
                "SELECT topic_type, encoding, encoded_message_definition, {hash} \
                 FROM message_definitions ORDER BY id"
            ),
            [],
            |cells| {
                let type_name = cells.text(0, "topic_type", false)?;
                let definition = Definition {
                    encoding: cells.text(1, "encoding", false)?,
                    text: cells.text(2, "encoded_message_definition", false)?,
                    hash: cells.text(3, "type_description_hash", true)?,
                };
                definitions.entry(type_name).or_insert(definition);
                Ok(())
            },
        )?;
        Ok(definitions)
    }

    fn read_topics(
        &mut self,
        db: &Database,
        definitions: &HashMap<String, Definition>,
    ) -> Result<()> {
        let topic_columns = columns(db, &self.path, "topics", &TOPICS_COLUMNS)?;
        let has = |c: &str| topic_columns.iter().any(|x| x == c);
        let qos = if has("offered_qos_profiles") {
            "offered_qos_profiles"
        } else {
            "''"
        };
        let hash = if has("type_description_hash") {
            "type_description_hash"
        } else {
            "''"
        };
        let mut topics = BTreeMap::new();
        db.rows(
            &self.path,
            "topics",
            &format!(
                "SELECT id, name, type, serialization_format, {qos}, {hash} FROM topics ORDER BY id"
            ),
            [],
            |cells| {
                let id = cells.integer(0, "id")?;
                let channel_id = u16::try_from(id).map_err(|_| {
                    format!(
                        "table topics, column id: {id} is not a topic id rosync reads (0 to 65535)"
                    )
                })?;
                let name = cells.text(1, "name", false)?;
                let type_name = cells.text(2, "type", false)?;
                let format = cells.text(3, "serialization_format", false)?;
                let qos = cells.text(4, "offered_qos_profiles", true)?;
                let topic_hash = cells.text(5, "type_description_hash", true)?;
                let info = topic_info(
                    name,
                    channel_id,
                    type_name,
                    format,
                    qos,
                    topic_hash,
                    definitions,
                );
                topics.insert(
                    id,
                    Topic {
                        topic: info.topic.as_str().into(),
                        type_name: info.type_name.as_str().into(),
                        info,
                    },
                );
                Ok(())
            },
        )?;
        self.topics = topics;
        Ok(())
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's size in bytes.
    pub fn file_size(&self) -> u64 {
        self.file_size
    }

    /// rosbag2's database schema version (the `schema` table), if the file has one.
    pub fn schema_version(&self) -> Option<i64> {
        self.schema_version
    }

    /// The ROS distribution recorded in the `schema` table (`rosbags` for Python rosbags).
    pub fn ros_distro(&self) -> &str {
        &self.ros_distro
    }

    /// Every topic, in `topics.id` order (`channel_id` is that id).
    pub fn topics(&self) -> Vec<LogTopic> {
        self.topics.values().map(|t| t.info.clone()).collect()
    }

    /// Number of messages on known topics.
    pub fn message_count(&self) -> u64 {
        self.message_count
    }

    /// Timestamp of the first message (ns), if any.
    pub fn start_time(&self) -> Option<u64> {
        self.start
    }

    /// Timestamp of the last message (ns), if any.
    pub fn end_time(&self) -> Option<u64> {
        self.end
    }

    /// Messages of the `messages` table skipped as unreadable (see [`damage`](Self::damage)).
    pub fn skipped_messages(&self) -> u64 {
        self.skipped
    }

    /// What is wrong with the file, if anything: [`BagError::SkippedRows`] when some
    /// `messages` rows are unreadable (another type, a negative timestamp, an undefined
    /// topic); every other row is still read.
    pub fn damage(&self) -> Option<&BagError> {
        self.damage.as_ref()
    }

    /// Every message in (timestamp, id) order.
    pub fn messages(&self) -> SqliteMessages<'_> {
        SqliteMessages::new(self, self.topics.keys().copied().collect())
    }

    /// The messages of some topics, in (timestamp, id) order.
    pub fn messages_on(&self, topics: &[&str]) -> SqliteMessages<'_> {
        let ids = self
            .topics
            .iter()
            .filter(|(_, t)| topics.contains(&&*t.topic))
            .map(|(id, _)| *id)
            .collect();
        SqliteMessages::new(self, ids)
    }
}

/// A topic's [`LogTopic`] from its `topics` row and the stored definitions.
fn topic_info(
    name: String,
    channel_id: u16,
    type_name: String,
    format: String,
    qos: String,
    topic_hash: String,
    definitions: &HashMap<String, Definition>,
) -> LogTopic {
    let stored = definitions
        .get(&type_name)
        .filter(|d| !d.text.is_empty() && d.encoding != "unknown");
    let known = crate::msg::lookup(&type_name);
    let (definition, schema_encoding) = match (stored, known) {
        (Some(d), _) => (d.text.clone(), d.encoding.clone()),
        (None, Some(t)) => (t.definition.to_string(), "ros2msg".to_string()),
        (None, None) => (String::new(), String::new()),
    };
    let type_hash = [
        topic_hash,
        definitions
            .get(&type_name)
            .map(|d| d.hash.clone())
            .unwrap_or_default(),
    ]
    .into_iter()
    .find(|h| !h.is_empty());
    let mut metadata = BTreeMap::new();
    metadata.insert("offered_qos_profiles".to_string(), qos);
    if let Some(h) = &type_hash {
        metadata.insert("topic_type_hash".to_string(), h.clone());
    }
    LogTopic {
        topic: name,
        channel_id,
        type_name,
        type_hash,
        definition,
        schema_encoding,
        message_encoding: format,
        metadata,
        message_count: 0,
    }
}
