//! [`Census`]: what the `messages` table of a rosbag2 sqlite3 file holds, counted at open in
//! one scan: readable messages per topic with their time range, and the rows rosync skips
//! (values of other types, negative timestamps, undefined topics, rows on damaged pages).
//!
//! The scan is one `GROUP BY` query. If SQLite finds a damaged page on the way, the table is
//! scanned again in rowid order, a batch at a time; a batch that meets the damage is resumed
//! after it (the first rowid from which a row reads again is found by doubling, then
//! halving, the jump), so every readable row is still counted. A damaged page can also hand
//! back rows with rowids before the resume point (the same ones on every resume): those are
//! not counted again, and after [`MAX_STALLS`] resumes that count no row the scan stops. The
//! rows lost with the damaged pages are the table's row count (from the timestamp index, which
//! holds every row) less the rows read.

use std::collections::HashMap;
use std::path::Path;

use super::database::{Cells, Database, Failed};
use crate::bag::{BagError, Result};

/// SQL that is true for a `messages` row whose columns have the types rosbag2 stores.
pub(super) const ROW_TYPES_OK: &str = "typeof(id) = 'integer' AND typeof(topic_id) = 'integer' \
     AND typeof(timestamp) = 'integer' AND typeof(data) IN ('blob', 'text')";
/// How many unknown topic ids a damage report names.
const NAMED_IDS: usize = 5;
/// Rows per query when scanning around damaged pages.
const BATCH_ROWS: usize = 4096;
/// Resumes in a row that may count no new row before the scan around damage gives up (what
/// was counted stands; the rest is reported as lost).
const MAX_STALLS: usize = 64;

/// What the `messages` table holds; see the [module docs](self).
#[derive(Debug, Default)]
pub(super) struct Census {
    /// Readable rows by topic id: (count, first timestamp, last timestamp).
    pub(super) topics: HashMap<i64, (u64, i64, i64)>,
    /// Rows in the table, if known (the timestamp index may be damaged too).
    total: Option<u64>,
    /// Rows read.
    seen: u64,
    /// Rows whose columns do not have rosbag2's types.
    mistyped: u64,
    /// Rows with a negative timestamp.
    negative: u64,
    /// Rows on topic ids the topics table does not define, and the first few of those ids.
    unknown: (u64, Vec<i64>),
    /// Whether SQLite found damaged pages.
    damaged_pages: bool,
}

impl Census {
    /// Counts the `messages` table of `path`; `known` says which topic ids the topics table
    /// defines.
    pub(super) fn count(db: &Database, path: &Path, known: impl Fn(i64) -> bool) -> Result<Self> {
        let mut census = Census::default();
        let grouped = db.rows(
            path,
            "messages",
            &format!(
                "SELECT CASE WHEN NOT ({ROW_TYPES_OK}) THEN 1 WHEN timestamp < 0 THEN 2 ELSE 0 END \
                 AS problem, topic_id, count(*), min(timestamp), max(timestamp) \
                 FROM messages GROUP BY problem, topic_id"
            ),
            [],
            |cells| {
                let count = u64::try_from(cells.integer(2, "count(*)")?).unwrap_or(0);
                census.add(cells, count, &known)
            },
        );
        match grouped {
            Ok(()) => {
                census.total = Some(census.seen);
                Ok(census)
            }
            Err(failed) if failed.damaged => {
                tracing::debug!(
                    "{}; counting the readable rows around the damage",
                    failed.error
                );
                Self::count_around_damage(db, path, &known)
            }
            Err(failed) => Err(*failed.error),
        }
    }

    /// Counts row by row in rowid order, resuming after each damaged stretch.
    fn count_around_damage(
        db: &Database,
        path: &Path,
        known: &impl Fn(i64) -> bool,
    ) -> Result<Self> {
        let mut census = Census {
            damaged_pages: true,
            ..Census::default()
        };
        census.total = db
            .query()
            .query_row("SELECT count(*) FROM messages", [], |row| {
                row.get::<_, i64>(0)
            })
            .ok()
            .and_then(|n| u64::try_from(n).ok());
        let sql = format!(
            "SELECT CASE WHEN NOT ({ROW_TYPES_OK}) THEN 1 WHEN timestamp < 0 THEN 2 ELSE 0 END, \
             topic_id, 1, timestamp, timestamp, rowid FROM messages WHERE rowid >= ?1 \
             ORDER BY rowid LIMIT {BATCH_ROWS}"
        );
        // The first rowid not read yet (None: past the largest).
        let mut from = Some(i64::MIN);
        // Resumes in a row that counted no row (a damaged page can hand back rows whose
        // rowids lie before the resume point, the same ones each time).
        let mut stalls = 0;
        while let Some(start) = from {
            let (mut read, mut counted) = (0usize, 0usize);
            let batch = db.rows(path, "messages", &sql, [start], |cells| {
                read += 1;
                let rowid = cells.integer(5, "rowid")?;
                // Only rows past the ones counted, so none is counted twice.
                if from.is_some_and(|next| rowid >= next) {
                    census.add(cells, 1, known)?;
                    from = rowid.checked_add(1);
                    counted += 1;
                }
                Ok(())
            });
            stalls = if counted > 0 { 0 } else { stalls + 1 };
            if stalls > MAX_STALLS {
                tracing::debug!(
                    "{}: no readable row past rowid {start} after {MAX_STALLS} tries; \
                     counting stops there",
                    path.display()
                );
                break;
            }
            match batch {
                Ok(()) if read < BATCH_ROWS => break,
                Ok(()) if counted > 0 => {}
                Ok(()) | Err(Failed { damaged: true, .. }) => {
                    let Some(start) = from else { break };
                    from = match first_readable_from(db, &sql, start) {
                        // Never the same start twice without counting a row.
                        Some(next) if next == start && counted == 0 => start.checked_add(1),
                        next => next,
                    };
                }
                Err(failed) => return Err(*failed.error),
            }
        }
        Ok(census)
    }

    /// Adds `count` rows described by `cells` (problem, topic_id, count, first, last).
    fn add(
        &mut self,
        cells: &Cells<'_, '_>,
        count: u64,
        known: &impl Fn(i64) -> bool,
    ) -> std::result::Result<(), String> {
        self.seen = self.seen.saturating_add(count);
        match cells.integer(0, "problem")? {
            0 => {
                let topic_id = cells.integer(1, "topic_id")?;
                let (first, last) = (
                    cells.integer(3, "timestamp")?,
                    cells.integer(4, "timestamp")?,
                );
                if known(topic_id) {
                    let entry = self.topics.entry(topic_id).or_insert((0, first, last));
                    if entry.0 > 0 {
                        entry.1 = entry.1.min(first);
                        entry.2 = entry.2.max(last);
                    }
                    entry.0 = entry.0.saturating_add(count);
                } else {
                    self.unknown.0 = self.unknown.0.saturating_add(count);
                    if self.unknown.1.len() <= NAMED_IDS && !self.unknown.1.contains(&topic_id) {
                        self.unknown.1.push(topic_id);
                    }
                }
            }
            2 => self.negative = self.negative.saturating_add(count),
            _ => self.mistyped = self.mistyped.saturating_add(count),
        }
        Ok(())
    }

    /// Rows on damaged pages, if known.
    fn lost(&self) -> Option<u64> {
        self.total.map(|total| total.saturating_sub(self.seen))
    }

    /// Rows in the table (those read if the count is unknown).
    pub(super) fn total(&self) -> u64 {
        self.total.unwrap_or(self.seen)
    }

    /// Rows skipped (those on damaged pages where known).
    pub(super) fn skipped(&self) -> u64 {
        self.mistyped
            .saturating_add(self.negative)
            .saturating_add(self.unknown.0)
            .saturating_add(self.lost().unwrap_or(0))
    }

    /// The skipped rows as a [`BagError::SkippedRows`] naming `path`, if any.
    pub(super) fn damage(&self, path: &Path) -> Option<BagError> {
        let mut why = Vec::new();
        if self.damaged_pages {
            why.push(match self.lost() {
                Some(n) => format!("{n} stored on damaged pages of the file"),
                None => "an unknown number stored on damaged pages of the file (the timestamp index is damaged too)".into(),
            });
        }
        if self.mistyped > 0 {
            why.push(format!(
                "{} whose id, topic_id, timestamp or data is not of rosbag2's type (INTEGER, INTEGER, INTEGER, BLOB)",
                self.mistyped
            ));
        }
        if self.negative > 0 {
            why.push(format!("{} with a negative timestamp", self.negative));
        }
        let (unknown, ids) = &self.unknown;
        if *unknown > 0 {
            let more = if ids.len() > NAMED_IDS { ", ..." } else { "" };
            let ids: Vec<String> = ids.iter().take(NAMED_IDS).map(i64::to_string).collect();
            why.push(format!(
                "{unknown} on topic ids the topics table does not define ({}{more})",
                ids.join(", ")
            ));
        }
        (!why.is_empty()).then(|| BagError::SkippedRows {
            path: path.to_path_buf(),
            table: "messages".into(),
            skipped: self.skipped(),
            total: self.total(),
            reason: why.join("; "),
        })
    }
}

/// The smallest rowid from `start` on from which `sql` (a batch from `?1` on) reads a row or
/// reaches the end, jumping over a damaged stretch: doubling the jump until a read succeeds,
/// then halving back to the smallest one that does. `None` if none does.
fn first_readable_from(db: &Database, sql: &str, start: i64) -> Option<i64> {
    let reads = |x: i64| {
        db.query()
            .prepare_cached(sql)
            .and_then(|mut stmt| stmt.query([x]).and_then(|mut rows| rows.next().map(|_| ())))
            .is_ok()
    };
    if reads(start) {
        return Some(start);
    }
    let (mut bad, mut step) = (start, 1i64);
    let mut good = loop {
        let x = bad.checked_add(step)?;
        if reads(x) {
            break x;
        }
        bad = x;
        step = step.saturating_mul(2);
    };
    while good - bad > 1 {
        let mid = bad + (good - bad) / 2;
        if reads(mid) {
            good = mid;
        } else {
            bad = mid;
        }
    }
    Some(good)
}
