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
//!
//! Files come from others, so nothing in one is trusted. The SQLite library (bundled with
//! `rusqlite`, not a parser of rosync's) checks every page number, cell offset, varint and
//! overflow chain against the file; on top of that rosync turns on its cell-size checks,
//! limits a value to the file's size, bounds every query to a number of steps proportional
//! to the file's size (so a page chain that loops back cannot hang a reader), and reads each
//! value by its actual type. Required tables and columns missing, or a topic or definition
//! holding a value of another type, is an error naming the file, the table and the column. A
//! `messages` row whose id, topic id, timestamp or data has another type, whose timestamp is
//! negative or whose topic the `topics` table does not define is skipped and counted
//! ([`SqliteReader::damage`], [`SqliteReader::skipped_messages`]), like a damaged MCAP chunk.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::untrusted::{self, quoted};
use crate::bag::{BagError, BagMessage, LogTopic, Result};

/// The first 16 bytes of every SQLite database.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";
/// Rows fetched per query while iterating.
const PAGE_ROWS: usize = 256;
/// A page stops early once it holds this many payload bytes.
const PAGE_BYTES: usize = 16 << 20;
/// The columns rosync reads from `topics`, as rosbag2 names them.
const TOPICS_COLUMNS: [&str; 4] = ["id", "name", "type", "serialization_format"];
/// The columns rosync reads from `messages`, as rosbag2 names them.
const MESSAGES_COLUMNS: [&str; 4] = ["id", "topic_id", "timestamp", "data"];
/// The columns rosync reads from `message_definitions`, as rosbag2 names them.
const DEFINITIONS_COLUMNS: [&str; 3] = ["topic_type", "encoding", "encoded_message_definition"];
/// SQL that is true for a `messages` row whose columns have the types rosbag2 stores.
const ROW_TYPES_OK: &str = "typeof(id) = 'integer' AND typeof(topic_id) = 'integer' \
     AND typeof(timestamp) = 'integer' AND typeof(data) IN ('blob', 'text')";
/// SQLite virtual-machine steps between two checks of a query's step budget.
const STEPS_PER_CHECK: i32 = 1000;
/// Steps a query may take per byte of the file (a row is at least 4 bytes of a page and takes
/// a few dozen steps), beyond [`BASE_STEPS`].
const STEPS_PER_BYTE: u64 = 16;
/// Steps any query may take, whatever the file's size.
const BASE_STEPS: u64 = 10_000_000;
/// How many unknown topic ids a damage report names.
const NAMED_IDS: usize = 5;

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
    skipped: u64,
    damage: Option<BagError>,
}

/// A read-only connection whose every query is bounded in steps (see the module docs).
struct Database {
    conn: Connection,
    /// Checks of the step budget by the running query.
    checks: Arc<AtomicU64>,
}

impl Database {
    fn open(path: &Path, file_size: u64) -> Result<Self> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| driver_error(path, "the file", e))?;
        // No value can be larger than the file holding it.
        let max_value = i32::try_from(file_size.max(1 << 20)).unwrap_or(i32::MAX);
        conn.set_limit(rusqlite::limits::Limit::SQLITE_LIMIT_LENGTH, max_value)
            .map_err(|e| driver_error(path, "the file", e))?;
        conn.execute_batch("PRAGMA cell_size_check = ON;")
            .map_err(|e| driver_error(path, "the file", e))?;
        let checks = Arc::new(AtomicU64::new(0));
        let budget =
            (BASE_STEPS + file_size.saturating_mul(STEPS_PER_BYTE)) / STEPS_PER_CHECK as u64;
        let counter = checks.clone();
        conn.progress_handler(
            STEPS_PER_CHECK,
            Some(move || counter.fetch_add(1, Ordering::Relaxed) >= budget),
        );
        Ok(Self { conn, checks })
    }

    /// The connection, with a fresh step budget for the next query.
    fn query(&self) -> &Connection {
        self.checks.store(0, Ordering::Relaxed);
        &self.conn
    }
}

/// A driver error in rosync's words: what was being read, and what SQLite found (escaped).
fn driver_error(path: &Path, reading: &str, err: rusqlite::Error) -> BagError {
    let code = err.sqlite_error_code();
    let said = untrusted::message(&err.to_string());
    let reason = match code {
        Some(ErrorCode::OperationInterrupted) => format!(
            "reading {reading} took more steps than a file of this size can need: the database's structure is damaged (a page chain loops back)"
        ),
        Some(ErrorCode::DatabaseCorrupt) => {
            format!("the database is damaged where {reading} is stored (SQLite: {said})")
        }
        Some(ErrorCode::NotADatabase) => format!("not an SQLite database (SQLite: {said})"),
        Some(ErrorCode::TooBig) => {
            format!("{reading} holds a value larger than the file (SQLite: {said})")
        }
        _ => format!("reading {reading}: {said}"),
    };
    BagError::Sqlite {
        path: path.to_path_buf(),
        reason,
    }
}

/// What a value found in the file is, for an error message.
fn describe(value: ValueRef<'_>) -> String {
    match value {
        ValueRef::Null => "NULL".into(),
        ValueRef::Integer(i) => format!("the INTEGER {i}"),
        ValueRef::Real(r) => format!("the REAL {r}"),
        ValueRef::Text(t) => format!("the TEXT {}", quoted(&String::from_utf8_lossy(t))),
        ValueRef::Blob(b) => format!("a BLOB of {} bytes", b.len()),
    }
}

/// Reads the cells of one row of one table by their actual types.
struct Cells<'r, 's> {
    row: &'r rusqlite::Row<'s>,
    table: &'static str,
}

impl Cells<'_, '_> {
    fn value(&self, index: usize, column: &str) -> std::result::Result<ValueRef<'_>, String> {
        self.row.get_ref(index).map_err(|e| {
            format!(
                "table {}, column {column}: {}",
                self.table,
                untrusted::message(&e.to_string())
            )
        })
    }

    fn integer(&self, index: usize, column: &str) -> std::result::Result<i64, String> {
        match self.value(index, column)? {
            ValueRef::Integer(i) => Ok(i),
            other => Err(format!(
                "table {}, column {column}: holds {} where rosbag2 stores an INTEGER",
                self.table,
                describe(other)
            )),
        }
    }

    /// A TEXT cell; `optional` ones may also be NULL (read as empty).
    fn text(
        &self,
        index: usize,
        column: &str,
        optional: bool,
    ) -> std::result::Result<String, String> {
        match self.value(index, column)? {
            ValueRef::Text(t) => String::from_utf8(t.to_vec()).map_err(|e| {
                format!(
                    "table {}, column {column}: holds TEXT that is not UTF-8 ({})",
                    self.table,
                    e.utf8_error()
                )
            }),
            ValueRef::Null if optional => Ok(String::new()),
            other => Err(format!(
                "table {}, column {column}: holds {} where rosbag2 stores TEXT",
                self.table,
                describe(other)
            )),
        }
    }
}

fn table_exists(db: &Database, path: &Path, table: &str) -> Result<bool> {
    db.query()
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [table],
            |row| row.get::<_, i64>(0),
        )
        .map(|n| n > 0)
        .map_err(|e| driver_error(path, "the list of tables", e))
}

/// The columns of `table` (a name of rosync's), checked to include `required`.
fn columns(db: &Database, path: &Path, table: &str, required: &[&str]) -> Result<Vec<String>> {
    let reading = format!("the columns of the {table} table");
    let names = (|| {
        let conn = db.query();
        let mut stmt = conn.prepare(&format!("PRAGMA table_info({table})"))?;
        let names = stmt.query_map([], |row| {
            Ok(match row.get_ref(1)? {
                ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                _ => String::new(),
            })
        })?;
        names.collect::<rusqlite::Result<Vec<String>>>()
    })()
    .map_err(|e| driver_error(path, &reading, e))?;
    if let Some(missing) = required.iter().find(|c| !names.iter().any(|n| n == *c)) {
        return Err(BagError::Sqlite {
            path: path.to_path_buf(),
            reason: format!(
                "table {table} has no column {missing} (rosbag2's {table} table has {}; this one has {})",
                required.join(", "),
                names.iter().map(|n| quoted(n)).collect::<Vec<_>>().join(", ")
            ),
        });
    }
    Ok(names)
}

/// A definition as stored in `message_definitions`.
struct Definition {
    encoding: String,
    text: String,
    hash: String,
}

/// What the scan of the `messages` table at open found.
#[derive(Default)]
struct Census {
    /// Readable rows by topic id: (count, first timestamp, last timestamp).
    topics: HashMap<i64, (u64, i64, i64)>,
    /// Rows whose columns do not have rosbag2's types.
    mistyped: u64,
    /// Rows with a negative timestamp.
    negative: u64,
}

impl SqliteReader {
    /// Opens `path` read-only and reads its topics, counts and time range.
    ///
    /// Fails with [`BagError::Sqlite`] naming the file if it is not an SQLite database, is
    /// corrupt, lacks the rosbag2 `topics` and `messages` tables or a column rosync reads, or
    /// holds a topic or definition whose values have other types (naming table and column).
    /// Fails with [`BagError::Io`] for a FIFO or other non-regular file, without opening it.
    /// Unreadable `messages` rows are skipped and reported by [`damage`](Self::damage).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file_size = untrusted::regular_file(&path)?.len();
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

    /// Runs `read` over the rows of `sql`, failing with an error naming `table`.
    fn rows(
        &self,
        db: &Database,
        table: &'static str,
        sql: &str,
        mut read: impl FnMut(&Cells<'_, '_>) -> std::result::Result<(), String>,
    ) -> Result<()> {
        let reading = format!("the {table} table");
        let conn = db.query();
        let mut stmt = conn
            .prepare(sql)
            .map_err(|e| driver_error(&self.path, &reading, e))?;
        let mut rows = stmt
            .query([])
            .map_err(|e| driver_error(&self.path, &reading, e))?;
        while let Some(row) = rows
            .next()
            .map_err(|e| driver_error(&self.path, &reading, e))?
        {
            read(&Cells { row, table }).map_err(|reason| BagError::Sqlite {
                path: self.path.clone(),
                reason,
            })?;
        }
        Ok(())
    }

    fn read_schema(&mut self, db: &Database) -> Result<()> {
        if !table_exists(db, &self.path, "schema")? {
            return Ok(());
        }
        columns(db, &self.path, "schema", &["schema_version", "ros_distro"])?;
        let mut found = None;
        self.rows(
            db,
            "schema",
            "SELECT schema_version, ros_distro FROM schema ORDER BY schema_version DESC LIMIT 1",
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
        self.rows(
            db,
            "message_definitions",
            &format!(
                "SELECT topic_type, encoding, encoded_message_definition, {hash} \
                 FROM message_definitions ORDER BY id"
            ),
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
        self.rows(
            db,
            "topics",
            &format!(
                "SELECT id, name, type, serialization_format, {qos}, {hash} FROM topics ORDER BY id"
            ),
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

    /// Counts the readable messages per topic and their time range in one scan, and what
    /// cannot be read.
    fn count_messages(&mut self, db: &Database) -> Result<()> {
        let mut census = Census::default();
        let mut total = 0u64;
        let (mut unknown_ids, mut unknown_count) = (Vec::new(), 0u64);
        self.rows(
            db,
            "messages",
            &format!(
                "SELECT CASE WHEN NOT ({ROW_TYPES_OK}) THEN 1 WHEN timestamp < 0 THEN 2 ELSE 0 END \
                 AS problem, topic_id, count(*), min(timestamp), max(timestamp) \
                 FROM messages GROUP BY problem, topic_id"
            ),
            |cells| {
                let problem = cells.integer(0, "problem")?;
                let count = u64::try_from(cells.integer(2, "count(*)")?).unwrap_or(0);
                total = total.saturating_add(count);
                match problem {
                    0 => {
                        let topic_id = cells.integer(1, "topic_id")?;
                        let (first, last) = (
                            cells.integer(3, "timestamp")?,
                            cells.integer(4, "timestamp")?,
                        );
                        if self.topics.contains_key(&topic_id) {
                            census.topics.insert(topic_id, (count, first, last));
                        } else {
                            unknown_count = unknown_count.saturating_add(count);
                            if unknown_ids.len() <= NAMED_IDS {
                                unknown_ids.push(topic_id);
                            }
                        }
                    }
                    2 => census.negative = census.negative.saturating_add(count),
                    _ => census.mistyped = census.mistyped.saturating_add(count),
                }
                Ok(())
            },
        )?;
        for (id, topic) in self.topics.iter_mut() {
            topic.info.message_count = census.topics.get(id).map_or(0, |c| c.0);
        }
        self.message_count = census.topics.values().map(|c| c.0).sum();
        let to_time = |t: i64| u64::try_from(t).unwrap_or(0);
        self.start = census.topics.values().map(|c| c.1).min().map(to_time);
        self.end = census.topics.values().map(|c| c.2).max().map(to_time);
        self.skipped = census.mistyped + census.negative + unknown_count;
        if self.skipped > 0 {
            let mut why = Vec::new();
            if census.mistyped > 0 {
                why.push(format!(
                    "{} whose id, topic_id, timestamp or data is not of rosbag2's type (INTEGER, INTEGER, INTEGER, BLOB)",
                    census.mistyped
                ));
            }
            if census.negative > 0 {
                why.push(format!("{} with a negative timestamp", census.negative));
            }
            if unknown_count > 0 {
                let more = if unknown_ids.len() > NAMED_IDS {
                    ", ..."
                } else {
                    ""
                };
                let ids: Vec<String> = unknown_ids
                    .iter()
                    .take(NAMED_IDS)
                    .map(i64::to_string)
                    .collect();
                why.push(format!(
                    "{unknown_count} on topic ids the topics table does not define ({}{more})",
                    ids.join(", ")
                ));
            }
            self.damage = Some(BagError::SkippedRows {
                path: self.path.clone(),
                table: "messages".into(),
                skipped: self.skipped,
                total,
                reason: why.join("; "),
            });
        }
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

/// Streams a [`SqliteReader`]'s messages a page at a time; see [`SqliteReader::messages`].
///
/// Only rows of rosbag2's types, with a timestamp of 0 or more, on a topic of the topics
/// table are read (the others are counted at open). A query that fails (a damaged page)
/// yields one error naming the file and ends the stream.
pub struct SqliteMessages<'a> {
    reader: &'a SqliteReader,
    db: Option<Database>,
    sql: String,
    /// (timestamp, id) of the last row read.
    after: (i64, i64),
    page: VecDeque<Result<BagMessage>>,
    done: bool,
}

impl<'a> SqliteMessages<'a> {
    fn new(reader: &'a SqliteReader, ids: Vec<i64>) -> Self {
        let ids = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        Self {
            reader,
            db: None,
            sql: format!(
                "SELECT id, topic_id, timestamp, data FROM messages \
                 WHERE timestamp >= ?1 AND (timestamp > ?1 OR id > ?2) AND {ROW_TYPES_OK} \
                 AND topic_id IN ({ids}) ORDER BY timestamp, id LIMIT {PAGE_ROWS}"
            ),
            after: (0, i64::MIN),
            page: VecDeque::new(),
            done: ids.is_empty(),
        }
    }

    /// Reads the next page into `self.page`; `false` at the end.
    fn fetch(&mut self) -> Result<bool> {
        let path = &self.reader.path;
        if self.db.is_none() {
            self.db = Some(Database::open(path, self.reader.file_size)?);
        }
        let Some(db) = self.db.as_ref() else {
            return Ok(false);
        };
        let reading = "the messages table";
        let conn = db.query();
        let mut stmt = conn
            .prepare_cached(&self.sql)
            .map_err(|e| driver_error(path, reading, e))?;
        let mut rows = stmt
            .query([self.after.0, self.after.1])
            .map_err(|e| driver_error(path, reading, e))?;
        let mut bytes = 0usize;
        let mut got = 0usize;
        while let Some(row) = rows.next().map_err(|e| driver_error(path, reading, e))? {
            let cells = Cells {
                row,
                table: "messages",
            };
            let read = || -> std::result::Result<_, String> {
                let data = match cells.value(3, "data")? {
                    ValueRef::Blob(b) | ValueRef::Text(b) => b.to_vec(),
                    other => {
                        return Err(format!(
                            "table messages, column data: holds {} where rosbag2 stores a BLOB",
                            describe(other)
                        ))
                    }
                };
                Ok((
                    cells.integer(0, "id")?,
                    cells.integer(1, "topic_id")?,
                    cells.integer(2, "timestamp")?,
                    data,
                ))
            };
            // The query selects only rows of these types: a failure here is a changed file.
            let (id, topic_id, timestamp, data) = read().map_err(|reason| BagError::Sqlite {
                path: path.clone(),
                reason,
            })?;
            self.after = (timestamp, id);
            got += 1;
            bytes = bytes.saturating_add(data.len());
            let (Some(topic), Ok(log_time)) =
                (self.reader.topics.get(&topic_id), u64::try_from(timestamp))
            else {
                continue;
            };
            self.page.push_back(Ok(BagMessage {
                topic: topic.topic.clone(),
                type_name: topic.type_name.clone(),
                channel_id: topic.info.channel_id,
                sequence: 0,
                log_time,
                publish_time: log_time,
                data: data.into(),
            }));
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
