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
//! (keyset pagination on the timestamp index), so memory is bounded by a page, not the file.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{Connection, OpenFlags};

use crate::bag::{BagError, BagMessage, LogTopic, Result};

/// The first 16 bytes of every SQLite database.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";
/// Rows fetched per query while iterating.
const PAGE_ROWS: usize = 256;
/// A page stops early once it holds this many payload bytes.
const PAGE_BYTES: usize = 16 << 20;

/// Whether `path` starts with the SQLite magic bytes (unreadable files: `false`).
pub fn is_sqlite(path: &Path) -> bool {
    let mut magic = [0u8; 16];
    std::fs::File::open(path)
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
}

fn sql_error(path: &Path, err: rusqlite::Error) -> BagError {
    BagError::Sqlite {
        path: path.to_path_buf(),
        reason: err.to_string(),
    }
}

fn open_connection(path: &Path) -> Result<Connection> {
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| sql_error(path, e))
}

fn table_exists(conn: &Connection, table: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [table],
        |row| row.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

fn columns(conn: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(&format!("PRAGMA table_info({table})"))?;
    let names = stmt.query_map([], |row| row.get::<_, String>(1))?;
    names.collect()
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
    /// corrupt, or lacks the rosbag2 `topics` and `messages` tables.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file_size = std::fs::metadata(&path)
            .map_err(|e| BagError::io(&path, e))?
            .len();
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
        let conn = open_connection(&path)?;
        let mut reader = Self {
            path,
            file_size,
            schema_version: None,
            ros_distro: String::new(),
            topics: BTreeMap::new(),
            message_count: 0,
            start: None,
            end: None,
        };
        for table in ["topics", "messages"] {
            if !table_exists(&conn, table).map_err(|e| sql_error(&reader.path, e))? {
                return Err(BagError::Sqlite {
                    path: reader.path,
                    reason: format!(
                        "the database has no {table} table, so it is not a rosbag2 bag"
                    ),
                });
            }
        }
        reader
            .read_tables(&conn)
            .map_err(|e| sql_error(&reader.path, e))?;
        Ok(reader)
    }

    fn read_tables(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        if table_exists(conn, "schema")? {
            if let Some((version, distro)) = conn
                .query_row(
                    "SELECT schema_version, ros_distro FROM schema ORDER BY schema_version DESC LIMIT 1",
                    [],
                    |row| Ok((row.get::<_, i64>(0)?, row.get::<_, Option<String>>(1)?)),
                )
                .map(Some)
                .or_else(|e| match e {
                    rusqlite::Error::QueryReturnedNoRows => Ok(None),
                    e => Err(e),
                })?
            {
                self.schema_version = Some(version);
                self.ros_distro = distro.unwrap_or_default();
            }
        }

        let mut definitions: HashMap<String, Definition> = HashMap::new();
        if table_exists(conn, "message_definitions")? {
            let mut stmt = conn.prepare(
                "SELECT topic_type, encoding, encoded_message_definition, type_description_hash \
                 FROM message_definitions ORDER BY id",
            )?;
            let rows = stmt.query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    Definition {
                        encoding: row.get(1)?,
                        text: row.get(2)?,
                        hash: row.get::<_, Option<String>>(3)?.unwrap_or_default(),
                    },
                ))
            })?;
            for row in rows {
                let (type_name, definition) = row?;
                definitions.entry(type_name).or_insert(definition);
            }
        }

        let topic_columns = columns(conn, "topics")?;
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
        let mut counts: HashMap<i64, u64> = HashMap::new();
        {
            let mut stmt =
                conn.prepare("SELECT topic_id, count(*) FROM messages GROUP BY topic_id")?;
            let rows =
                stmt.query_map([], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)))?;
            for row in rows {
                let (id, n) = row?;
                counts.insert(id, u64::try_from(n).unwrap_or(0));
            }
        }
        let mut stmt = conn.prepare(&format!(
            "SELECT id, name, type, serialization_format, {qos}, {hash} FROM topics ORDER BY id"
        ))?;
        let rows = stmt.query_map([], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, Option<String>>(4)?.unwrap_or_default(),
                row.get::<_, Option<String>>(5)?.unwrap_or_default(),
            ))
        })?;
        for row in rows {
            let (id, name, type_name, format, qos, topic_hash) = row?;
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
            let info = LogTopic {
                topic: name.clone(),
                channel_id: u16::try_from(id).unwrap_or(u16::MAX),
                type_name: type_name.clone(),
                type_hash,
                definition,
                schema_encoding,
                message_encoding: format,
                metadata,
                message_count: counts.get(&id).copied().unwrap_or(0),
            };
            self.topics.insert(
                id,
                Topic {
                    info,
                    topic: name.into(),
                    type_name: type_name.into(),
                },
            );
        }
        self.message_count = self.topics.values().map(|t| t.info.message_count).sum();
        let (start, end) = conn.query_row(
            "SELECT min(timestamp), max(timestamp) FROM messages",
            [],
            |row| Ok((row.get::<_, Option<i64>>(0)?, row.get::<_, Option<i64>>(1)?)),
        )?;
        self.start = start.map(|t| u64::try_from(t).unwrap_or(0));
        self.end = end.map(|t| u64::try_from(t).unwrap_or(0));
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

    /// Every message in (timestamp, id) order.
    pub fn messages(&self) -> SqliteMessages<'_> {
        SqliteMessages::new(self, None)
    }

    /// The messages of some topics, in (timestamp, id) order.
    pub fn messages_on(&self, topics: &[&str]) -> SqliteMessages<'_> {
        let ids = self
            .topics
            .iter()
            .filter(|(_, t)| topics.contains(&&*t.topic))
            .map(|(id, _)| *id)
            .collect();
        SqliteMessages::new(self, Some(ids))
    }
}

/// Streams a [`SqliteReader`]'s messages a page at a time; see [`SqliteReader::messages`].
pub struct SqliteMessages<'a> {
    reader: &'a SqliteReader,
    conn: Option<Connection>,
    sql: String,
    /// (timestamp, id) of the last row read.
    after: (i64, i64),
    page: VecDeque<Result<BagMessage>>,
    done: bool,
}

impl<'a> SqliteMessages<'a> {
    fn new(reader: &'a SqliteReader, filter: Option<Vec<i64>>) -> Self {
        let filter = match &filter {
            None => String::new(),
            Some(ids) => format!(
                " AND topic_id IN ({})",
                ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
            ),
        };
        Self {
            reader,
            conn: None,
            sql: format!(
                "SELECT id, topic_id, timestamp, data FROM messages \
                 WHERE timestamp >= ?1 AND (timestamp > ?1 OR id > ?2){filter} \
                 ORDER BY timestamp, id LIMIT {PAGE_ROWS}"
            ),
            after: (i64::MIN, i64::MIN),
            page: VecDeque::new(),
            done: filter.ends_with("()"),
        }
    }

    /// Reads the next page into `self.page`; `false` at the end.
    fn fetch(&mut self) -> Result<bool> {
        let path = &self.reader.path;
        if self.conn.is_none() {
            self.conn = Some(open_connection(path)?);
        }
        let Some(conn) = self.conn.as_ref() else {
            return Ok(false);
        };
        let mut stmt = conn
            .prepare_cached(&self.sql)
            .map_err(|e| sql_error(path, e))?;
        let mut rows = stmt
            .query([self.after.0, self.after.1])
            .map_err(|e| sql_error(path, e))?;
        let mut bytes = 0usize;
        let mut got = 0usize;
        while let Some(row) = rows.next().map_err(|e| sql_error(path, e))? {
            let read = |row: &rusqlite::Row<'_>| -> rusqlite::Result<(i64, i64, i64, Vec<u8>)> {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            };
            let (id, topic_id, timestamp, data) = read(row).map_err(|e| sql_error(path, e))?;
            self.after = (timestamp, id);
            got += 1;
            bytes += data.len();
            let message = match (self.reader.topics.get(&topic_id), u64::try_from(timestamp)) {
                (None, _) => Err(BagError::Sqlite {
                    path: path.clone(),
                    reason: format!("message {id} refers to topic {topic_id}, which the topics table does not define"),
                }),
                (_, Err(_)) => Err(BagError::Sqlite {
                    path: path.clone(),
                    reason: format!("message {id} has a negative timestamp {timestamp}"),
                }),
                (Some(topic), Ok(log_time)) => Ok(BagMessage {
                    topic: topic.topic.clone(),
                    type_name: topic.type_name.clone(),
                    channel_id: topic.info.channel_id,
                    sequence: 0,
                    log_time,
                    publish_time: log_time,
                    data: data.into(),
                }),
            };
            self.page.push_back(message);
            if bytes >= PAGE_BYTES {
                return Ok(true);
            }
        }
        Ok(got == PAGE_ROWS)
    }
}

impl Iterator for SqliteMessages<'_> {
    type Item = Result<BagMessage>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.page.is_empty() && !self.done {
            match self.fetch() {
                Ok(more) => self.done = !more,
                Err(err) => {
                    // A damaged page cannot be skipped by key: stop after reporting it.
                    self.done = true;
                    return Some(Err(err));
                }
            }
        }
        self.page.pop_front()
    }
}
