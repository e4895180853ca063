//! [`Database`]: a read-only SQLite connection for files from others, whose every query is
//! bounded in steps, and reading of its values by their actual types ([`Cells`]), with errors
//! in rosync's words naming the table and column.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, OpenFlags, Params};

use crate::bag::untrusted::{self, quoted};
use crate::bag::{BagError, Result};

/// SQLite virtual-machine steps between two checks of a query's step budget.
const STEPS_PER_CHECK: i32 = 1000;
/// Steps a query may take per byte of the file (a row is at least 4 bytes of a page and takes
/// a few dozen steps), beyond [`BASE_STEPS`].
const STEPS_PER_BYTE: u64 = 16;
/// Steps any query may take, whatever the file's size.
const BASE_STEPS: u64 = 10_000_000;

/// A read-only connection whose every query is bounded in steps (see the module docs).
pub(super) struct Database {
    conn: Connection,
    /// Checks of the step budget by the running query.
    checks: Arc<AtomicU64>,
}

impl Database {
    /// Opens `path` read-only, with value sizes limited to the file's and a step budget
    /// proportional to it.
    ///
    /// A WAL-mode file with no pending WAL beside it is opened as immutable, so reading
    /// creates no `-wal` and `-shm` files in the bag folder (and works in a read-only one).
    pub(super) fn open(path: &Path, file_size: u64) -> Result<Self> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = if wal_without_log(path) {
            Connection::open_with_flags(immutable_uri(path), flags | OpenFlags::SQLITE_OPEN_URI)
        } else {
            Connection::open_with_flags(path, flags)
        }
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
    pub(super) fn query(&self) -> &Connection {
        self.checks.store(0, Ordering::Relaxed);
        &self.conn
    }

    /// Runs `read` over the rows of `sql` (reading `table`), failing with an error naming
    /// `path` and the table.
    pub(super) fn rows(
        &self,
        path: &Path,
        table: &'static str,
        sql: &str,
        params: impl Params,
        mut read: impl FnMut(&Cells<'_, '_>) -> std::result::Result<(), String>,
    ) -> std::result::Result<(), Failed> {
        let reading = format!("the {table} table");
        let failed = |e| Failed::new(path, &reading, e);
        let conn = self.query();
        let mut stmt = conn.prepare_cached(sql).map_err(failed)?;
        let mut rows = stmt.query(params).map_err(failed)?;
        while let Some(row) = rows.next().map_err(failed)? {
            read(&Cells { row, table }).map_err(|reason| Failed {
                error: Box::new(BagError::Sqlite {
                    path: path.to_path_buf(),
                    reason,
                }),
                damaged: false,
            })?;
        }
        Ok(())
    }
}

/// Whether the file at `path` is in WAL mode (header bytes 18 and 19 are 2) with no
/// non-empty `-wal` file beside it.
fn wal_without_log(path: &Path) -> bool {
    let mut header = [0u8; 20];
    let wal_mode = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut header))
        .is_ok_and(|()| header[18] == 2 && header[19] == 2);
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    wal_mode && std::fs::metadata(wal).map_or(true, |m| m.len() == 0)
}

/// `path` as an SQLite URI opening it immutable (every byte but unreserved ones and `/`
/// percent-encoded).
fn immutable_uri(path: &Path) -> String {
    let mut uri = String::from("file:");
    for &byte in path.as_os_str().as_encoded_bytes() {
        if byte.is_ascii_alphanumeric() || b"/._-~".contains(&byte) {
            uri.push(char::from(byte));
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    uri.push_str("?immutable=1");
    uri
}

/// A failed query: the error to report, and whether it failed on a damaged page (or was
/// stopped for looping), so a reader can skip the damage and go on.
#[derive(Debug)]
pub(super) struct Failed {
    /// What went wrong, in rosync's words.
    pub(super) error: Box<BagError>,
    /// Whether SQLite found the file damaged.
    pub(super) damaged: bool,
}

impl Failed {
    /// The failure of a query reading `reading` in `path`.
    pub(super) fn new(path: &Path, reading: &str, err: rusqlite::Error) -> Self {
        let damaged = matches!(
            err.sqlite_error_code(),
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::OperationInterrupted)
        );
        Self {
            error: Box::new(driver_error(path, reading, err)),
            damaged,
        }
    }
}

impl From<Failed> for BagError {
    fn from(failed: Failed) -> Self {
        *failed.error
    }
}

/// A driver error in rosync's words: what was being read, and what SQLite found (escaped).
pub(super) fn driver_error(path: &Path, reading: &str, err: rusqlite::Error) -> BagError {
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
pub(super) fn describe(value: ValueRef<'_>) -> String {
    match value {
        ValueRef::Null => "NULL".into(),
        ValueRef::Integer(i) => format!("the INTEGER {i}"),
        ValueRef::Real(r) => format!("the REAL {r}"),
        ValueRef::Text(t) => format!("the TEXT {}", quoted(&String::from_utf8_lossy(t))),
        ValueRef::Blob(b) => format!("a BLOB of {} bytes", b.len()),
    }
}

/// Reads the cells of one row of one table by their actual types.
pub(super) struct Cells<'r, 's> {
    pub(super) row: &'r rusqlite::Row<'s>,
    pub(super) table: &'static str,
}

impl Cells<'_, '_> {
    pub(super) fn value(
        &self,
        index: usize,
        column: &str,
    ) -> std::result::Result<ValueRef<'_>, String> {
        self.row.get_ref(index).map_err(|e| {
            format!(
                "table {}, column {column}: {}",
                self.table,
                untrusted::message(&e.to_string())
            )
        })
    }

    pub(super) fn integer(&self, index: usize, column: &str) -> std::result::Result<i64, String> {
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
    pub(super) fn text(
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

/// Whether the database has a table named `table`.
pub(super) fn table_exists(db: &Database, path: &Path, table: &str) -> Result<bool> {
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
pub(super) fn columns(
    db: &Database,
    path: &Path,
    table: &str,
    required: &[&str],
) -> Result<Vec<String>> {
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
