//! [`SqliteMessages`]: a rosbag2 sqlite3 file's messages streamed in (timestamp, id) order, a
//! page of rows at a time (keyset pagination on the timestamp index), going on past damage.
//!
//! Only rows of rosbag2's types, with a timestamp of 0 or more, on a topic of the topics table
//! are read (the others are counted at open, see [`SqliteReader::damage`]). When a page's query
//! meets a damaged page of the file, the page is read again key by key: the keys come from
//! the timestamp index alone, each row is then read by its id, and the rows that cannot be
//! read are skipped and recorded as one [`Damage`] ([`SqliteMessages::skipped`]), as a reader
//! of MCAP records a damaged chunk; the stream goes on with the next page. Only a damaged
//! timestamp index ends the stream, with one error.

use std::collections::VecDeque;

use rusqlite::types::ValueRef;

use super::census::ROW_TYPES_OK;
use super::database::{describe, Cells, Database, Failed};
use super::SqliteReader;
use crate::bag::{BagError, BagMessage, Damage, DamagedPart, Result};

/// Rows fetched per query while iterating.
const PAGE_ROWS: usize = 256;
/// A page stops early once it holds this many payload bytes.
const PAGE_BYTES: usize = 16 << 20;

/// Streams a [`SqliteReader`]'s messages a page at a time, going on past damaged pages (each
/// skipped stretch is one [`Damage`] in [`skipped`](Self::skipped)); see
/// [`SqliteReader::messages`].
pub struct SqliteMessages<'a> {
    reader: &'a SqliteReader,
    db: Option<Database>,
    /// The next page of rows.
    page_sql: String,
    /// The next page of keys, from the timestamp index alone.
    keys_sql: String,
    /// One row by id.
    row_sql: String,
    /// (timestamp, id) of the last row read.
    after: (i64, i64),
    page: VecDeque<Result<BagMessage>>,
    done: bool,
    /// The stretches of rows skipped so far.
    skipped: Vec<Damage>,
}

impl<'a> SqliteMessages<'a> {
    /// The messages of the topics with these ids.
    pub(super) fn new(reader: &'a SqliteReader, ids: Vec<i64>) -> Self {
        let ids = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let after = "timestamp >= ?1 AND (timestamp > ?1 OR id > ?2)";
        Self {
            reader,
            db: None,
            page_sql: format!(
                "SELECT id, topic_id, timestamp, data FROM messages \
                 WHERE {after} AND {ROW_TYPES_OK} AND topic_id IN ({ids}) \
                 ORDER BY timestamp, id LIMIT {PAGE_ROWS}"
            ),
            keys_sql: format!(
                "SELECT timestamp, id FROM messages WHERE {after} \
                 AND typeof(timestamp) = 'integer' AND typeof(id) = 'integer' \
                 ORDER BY timestamp, id LIMIT {PAGE_ROWS}"
            ),
            row_sql: format!(
                "SELECT id, topic_id, timestamp, data FROM messages \
                 WHERE id = ?1 AND {ROW_TYPES_OK} AND topic_id IN ({ids})"
            ),
            after: (0, i64::MIN),
            page: VecDeque::new(),
            done: ids.is_empty(),
            skipped: Vec::new(),
        }
    }

    /// The stretches of rows on damaged pages skipped so far (each naming the file, the keys
    /// and the messages lost), in the order they were met.
    pub fn skipped(&self) -> &[Damage] {
        &self.skipped
    }

    /// Reads the next page into `self.page`; `false` at the end.
    fn fetch(&mut self) -> Result<bool> {
        if self.db.is_none() {
            self.db = Some(Database::open(&self.reader.path, self.reader.file_size)?);
        }
        let Some(db) = self.db.take() else {
            return Ok(false);
        };
        let result = match self.fetch_page(&db) {
            Err(failed) if failed.damaged => {
                tracing::debug!("{}; reading this page key by key", failed.error);
                self.fetch_by_key(&db)
            }
            other => other.map_err(BagError::from),
        };
        self.db = Some(db);
        result
    }

    /// One page of rows in one query, ending early once it holds [`PAGE_BYTES`].
    fn fetch_page(&mut self, db: &Database) -> std::result::Result<bool, Failed> {
        let path = self.reader.path.clone();
        let failed = |e| Failed::new(&path, "the messages table", e);
        let conn = db.query();
        let mut stmt = conn.prepare_cached(&self.page_sql).map_err(failed)?;
        let mut rows = stmt.query(self.after_params()).map_err(failed)?;
        let mut bytes = 0usize;
        let mut got = 0usize;
        while let Some(row) = rows.next().map_err(failed)? {
            let cells = Cells {
                row,
                table: "messages",
            };
            // The query selects only rows of these types: a failure here is a changed file.
            let (message, key, size) = self.message(&cells).map_err(|reason| Failed {
                error: Box::new(BagError::Sqlite {
                    path: path.clone(),
                    reason,
                }),
                damaged: false,
            })?;
            self.after = key;
            got += 1;
            bytes = bytes.saturating_add(size);
            self.page.extend(message.map(Ok));
            if bytes >= PAGE_BYTES {
                return Ok(true);
            }
        }
        Ok(got == PAGE_ROWS)
    }

    /// One page key by key, skipping the rows that cannot be read.
    fn fetch_by_key(&mut self, db: &Database) -> Result<bool> {
        let path = self.reader.path.clone();
        let mut keys = Vec::new();
        db.rows(
            &path,
            "messages",
            &self.keys_sql,
            self.after_params(),
            |cells| {
                keys.push((cells.integer(0, "timestamp")?, cells.integer(1, "id")?));
                Ok(())
            },
        )?;
        let mut lost: Vec<(i64, i64)> = Vec::new();
        let row_sql = self.row_sql.clone();
        for key in &keys {
            let read = db.rows(&path, "messages", &row_sql, [key.1], |cells| {
                let (message, _, _) = self.message(cells)?;
                self.page.extend(message.map(Ok));
                Ok(())
            });
            match read {
                Ok(()) => {}
                Err(failed) if failed.damaged => lost.push(*key),
                Err(failed) => return Err(*failed.error),
            }
            self.after = *key;
        }
        if let (Some(&first), Some(&last)) = (lost.first(), lost.last()) {
            let damage = Damage {
                file: path,
                part: DamagedPart::Rows {
                    table: "messages".into(),
                    first,
                    last,
                },
                messages_lost: Some(lost.len() as u64),
                reason: "the rows are stored on damaged pages of the file".into(),
            };
            tracing::warn!("{damage}");
            self.skipped.push(damage);
        }
        Ok(keys.len() == PAGE_ROWS)
    }

    fn after_params(&self) -> [i64; 2] {
        [self.after.0, self.after.1]
    }

    /// The message in `cells` (`None` on a topic no longer known), its key and payload size.
    #[allow(clippy::type_complexity)]
    fn message(
        &self,
        cells: &Cells<'_, '_>,
    ) -> std::result::Result<(Option<BagMessage>, (i64, i64), usize), String> {
        let data = match cells.value(3, "data")? {
            ValueRef::Blob(b) | ValueRef::Text(b) => b.to_vec(),
            other => {
                return Err(format!(
                    "table messages, column data: holds {} where rosbag2 stores a BLOB",
                    describe(other)
                ))
            }
        };
        let id = cells.integer(0, "id")?;
        let topic_id = cells.integer(1, "topic_id")?;
        let timestamp = cells.integer(2, "timestamp")?;
        let size = data.len();
        let message = match (self.reader.topics.get(&topic_id), u64::try_from(timestamp)) {
            (Some(topic), Ok(log_time)) => Some(BagMessage {
                topic: topic.topic.clone(),
                type_name: topic.type_name.clone(),
                channel_id: topic.info.channel_id,
                sequence: 0,
                log_time,
                publish_time: log_time,
                data: data.into(),
            }),
            _ => None,
        };
        Ok((message, (timestamp, id), size))
    }
}

impl Iterator for SqliteMessages<'_> {
    type Item = Result<BagMessage>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.page.is_empty() && !self.done {
            match self.fetch() {
                Ok(more) => self.done = !more,
                Err(err) => {
                    // The timestamp index itself is damaged: nothing orders the rest.
                    self.done = true;
                    return Some(Err(err));
                }
            }
        }
        self.page.pop_front()
    }
}
