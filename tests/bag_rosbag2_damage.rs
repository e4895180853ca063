//! rosbag2 bags from others, damaged or hostile, read through `Log`, `rosync bag info|cat`
//! and `rosync play`: a `metadata.yaml` cannot make rosync open a file outside the bag folder,
//! FIFOs are refused instead of blocking, a `.db3` with unexpected tables, columns or value
//! types is a clear error in rosync's words naming the file, table and column, unreadable
//! `messages` rows are skipped and reported while every other message is read, errors never
//! print raw bytes of the file, and byte flips or integers near their limits in a real `.db3`
//! written by Python `rosbags` never panic or hang (each case runs under a time bound).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use proptest::prelude::*;
use rosync::bag::{BagError, BagInfo, Log, SqliteReader};
use rosync::msg::{sensor_msgs, std_msgs, Message};

use common::{bag_check, message_rows, rosync, scratch, written_rows, Row, PATIENCE};

/// Writes a rosbag2 folder with Python rosbags; returns what Python wrote, in log-time order.
fn write_rosbags(folder: &Path, storage: &str) -> Vec<Row> {
    let path = folder.to_str().expect("path");
    let rows = written_rows(&bag_check(&["write-rosbags", path, "--storage", storage]));
    assert_eq!(rows.len(), 9, "the samples of bag_check.py");
    rows
}

/// Runs `f` on another thread; fails the test if it panics or takes longer than `limit`.
fn within<T: Send + 'static>(
    limit: Duration,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(value) => value,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: still running after {limit:?}"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what}: panicked"),
    }
}

/// Runs `rosync args` to the end, killing it (and failing) if it runs longer than `PATIENCE`.
fn run_bounded(args: &[&str]) -> Output {
    let child = rosync()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rosync starts");
    let pid = child.id() as libc::pid_t;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(PATIENCE) {
        Ok(out) => out.expect("rosync finishes"),
        Err(_) => {
            // SAFETY: kill(2) on the pid of a child this test started and has not reaped.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("rosync {args:?} still running after {PATIENCE:?}");
        }
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().expect("path")).expect("no NUL");
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
}

/// `metadata.yaml` of `folder` with its file list replaced by `entry`.
fn list_file(folder: &Path, entry: &str) {
    let yaml = folder.join("metadata.yaml");
    let text = std::fs::read_to_string(&yaml).expect("yaml");
    let text = text
        .replace("  - bag.db3\n", &format!("  - {entry}\n"))
        .replace("    path: bag.db3\n", &format!("    path: {entry}\n"));
    std::fs::write(&yaml, text).expect("write");
}

#[test]
fn metadata_cannot_name_files_outside_the_bag_folder() {
    let dir = scratch("escape");
    let folder = dir.join("bag");
    write_rosbags(&folder, "sqlite3");
    let original = std::fs::read_to_string(folder.join("metadata.yaml")).expect("yaml");
    // Another valid bag next to it, which the crafted entries point at.
    let other = dir.join("other");
    write_rosbags(&other, "sqlite3");
    let outside = other.join("other.db3");
    assert!(Log::open(&outside).is_ok());
    let absolute = outside.to_str().expect("path").to_string();

    for (entry, why) in [
        ("../other/other.db3", "`..`"),
        ("sub/../../other/other.db3", "`..`"),
        (absolute.as_str(), "absolute"),
    ] {
        std::fs::write(folder.join("metadata.yaml"), &original).expect("restore");
        list_file(&folder, entry);
        let err = Log::open(&folder).expect_err(entry);
        assert!(matches!(err, BagError::Metadata { .. }), "{entry}: {err}");
        let text = err.to_string();
        assert!(
            text.contains("metadata.yaml")
                && text.contains("relative_file_paths[0]")
                && text.contains(entry)
                && text.contains(why),
            "{entry}: {text}"
        );
        let out = run_bounded(&["bag", "info", folder.to_str().expect("path")]);
        assert!(!out.status.success(), "{entry}");
        assert!(
            stderr(&out).contains("relative_file_paths[0]"),
            "{}",
            stderr(&out)
        );
        assert!(
            out.stdout.is_empty(),
            "{entry}: nothing of the other bag is printed"
        );
    }

    // `files[].path` is checked too, even though rosync opens relative_file_paths.
    std::fs::write(
        folder.join("metadata.yaml"),
        original.replace("    path: bag.db3\n", "    path: /etc/passwd\n"),
    )
    .expect("write");
    let err = Log::open(&folder).expect_err("files[0].path");
    assert!(err.to_string().contains("files[0].path"), "{err}");

    // A symbolic link inside the folder that resolves outside it is refused as well; one
    // that stays inside is followed.
    std::fs::write(folder.join("metadata.yaml"), &original).expect("restore");
    std::os::unix::fs::symlink(&outside, folder.join("link.db3")).expect("symlink");
    list_file(&folder, "link.db3");
    let err = Log::open(&folder).expect_err("escaping symlink");
    let text = err.to_string();
    assert!(
        text.contains("link.db3") && text.contains("outside the bag folder"),
        "{text}"
    );
    std::fs::remove_file(folder.join("link.db3")).expect("rm");
    std::os::unix::fs::symlink("bag.db3", folder.join("link.db3")).expect("symlink");
    assert_eq!(Log::open(&folder).expect("inside link").message_count(), 9);
}

#[test]
fn fifos_are_refused_not_waited_on() {
    let dir = scratch("fifo");
    // A FIFO named like a .db3, opened directly.
    let fifo = dir.join("pipe.db3");
    mkfifo(&fifo);
    let out = run_bounded(&["bag", "info", fifo.to_str().expect("path")]);
    assert!(!out.status.success());
    let text = stderr(&out);
    assert!(text.contains("pipe.db3") && text.contains("FIFO"), "{text}");
    let path = fifo.clone();
    let err = within(PATIENCE, "SqliteReader::open(FIFO)", move || {
        SqliteReader::open(&path).map(|_| ())
    })
    .expect_err("a FIFO");
    assert!(err.to_string().contains("not a regular file"), "{err}");

    // A FIFO where SQLite looks for the file's rollback journal.
    let db3 = dir.join("journaled.db3");
    write_rosbags(&dir.join("source"), "sqlite3");
    std::fs::copy(dir.join("source").join("source.db3"), &db3).expect("copy");
    mkfifo(&dir.join("journaled.db3-journal"));
    let out = run_bounded(&["bag", "info", db3.to_str().expect("path")]);
    assert!(!out.status.success());
    let text = stderr(&out);
    assert!(
        text.contains("journaled.db3-journal") && text.contains("FIFO"),
        "{text}"
    );

    // A folder whose metadata.yaml is a FIFO: refused, not skipped.
    let folder = dir.join("bag");
    write_rosbags(&folder, "sqlite3");
    let yaml = folder.join("metadata.yaml");
    let text = std::fs::read_to_string(&yaml).expect("yaml");
    std::fs::remove_file(&yaml).expect("rm");
    mkfifo(&yaml);
    for command in ["info", "cat"] {
        let out = run_bounded(&["bag", command, folder.to_str().expect("path")]);
        assert!(!out.status.success(), "{command}");
        let text = stderr(&out);
        assert!(
            text.contains("metadata.yaml") && text.contains("FIFO"),
            "{text}"
        );
    }

    // A FIFO listed as the bag's file.
    std::fs::remove_file(&yaml).expect("rm");
    std::fs::write(&yaml, text).expect("yaml");
    mkfifo(&folder.join("pipe.db3"));
    list_file(&folder, "pipe.db3");
    let path = folder.clone();
    let err = within(PATIENCE, "Log::open(folder listing a FIFO)", move || {
        Log::open(&path).map(|_| ())
    })
    .expect_err("a FIFO");
    let text = err.to_string();
    assert!(text.contains("pipe.db3") && text.contains("FIFO"), "{text}");
}

/// A copy of the rosbags `.db3` in `dir` as `name`, changed by `sql`.
fn altered(source: &Path, dir: &Path, name: &str, sql: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::copy(source, &path).expect("copy");
    rusqlite::Connection::open(&path)
        .expect("open")
        .execute_batch(sql)
        .expect("alter");
    path
}

/// Rebuilds `topics` without declared types (nor NOT NULL), so a test can store any value.
const UNTYPED_TOPICS: &str = "ALTER TABLE topics RENAME TO typed_topics; \
     CREATE TABLE topics(id, name, type, serialization_format, offered_qos_profiles, \
         type_description_hash); \
     INSERT INTO topics SELECT * FROM typed_topics; DROP TABLE typed_topics;";

fn sqlite_error(path: &Path) -> String {
    let err = Log::open(path).expect_err("refused");
    assert!(matches!(err, BagError::Sqlite { .. }), "{err}");
    assert_eq!(err.path(), path);
    err.to_string()
}

#[test]
fn unexpected_tables_columns_and_types_are_named_in_rosyncs_words() {
    let dir = scratch("columns");
    let folder = dir.join("bag");
    let written = write_rosbags(&folder, "sqlite3");
    let db3 = folder.join("bag.db3");

    // messages without a timestamp column.
    let path = altered(
        &db3,
        &dir,
        "no_timestamp.db3",
        "DROP INDEX timestamp_idx; ALTER TABLE messages DROP COLUMN timestamp;",
    );
    let text = sqlite_error(&path);
    assert!(
        text.contains("no_timestamp.db3")
            && text.contains("table messages has no column timestamp")
            && text.contains("\"data\""),
        "{text}"
    );

    // topics without a type column.
    let path = altered(
        &db3,
        &dir,
        "no_type.db3",
        "ALTER TABLE topics DROP COLUMN type;",
    );
    let text = sqlite_error(&path);
    assert!(text.contains("table topics has no column type"), "{text}");

    // Extra columns are ignored: every message still reads.
    let path = altered(
        &db3,
        &dir,
        "extra.db3",
        "ALTER TABLE topics ADD COLUMN colour TEXT; ALTER TABLE messages ADD COLUMN note BLOB;",
    );
    assert_eq!(
        message_rows(Log::open(&path).expect("opens").messages()),
        written
    );

    // A topic id that is TEXT where rosbag2 stores an INTEGER.
    let path = altered(
        &db3,
        &dir,
        "text_id.db3",
        &format!("{UNTYPED_TOPICS} UPDATE topics SET id = 'one' WHERE id = 1;"),
    );
    let text = sqlite_error(&path);
    assert!(
        text.contains("text_id.db3")
            && text.contains(
                "table topics, column id: holds the TEXT \"one\" where rosbag2 stores an INTEGER"
            ),
        "{text}"
    );

    // A topic name that is a BLOB, and a type that is NULL.
    let path = altered(
        &db3,
        &dir,
        "blob_name.db3",
        "UPDATE topics SET name = x'00ff' WHERE id = 1;",
    );
    let text = sqlite_error(&path);
    assert!(
        text.contains(
            "table topics, column name: holds a BLOB of 2 bytes where rosbag2 stores TEXT"
        ),
        "{text}"
    );
    let path = altered(
        &db3,
        &dir,
        "null_type.db3",
        &format!("{UNTYPED_TOPICS} UPDATE topics SET type = NULL WHERE id = 1;"),
    );
    assert!(sqlite_error(&path).contains("table topics, column type: holds NULL"));

    // message_definitions with a definition of another type.
    let path = altered(
        &db3,
        &dir,
        "definition.db3",
        "UPDATE message_definitions SET encoded_message_definition = x'2a';",
    );
    let text = sqlite_error(&path);
    assert!(
        text.contains("table message_definitions, column encoded_message_definition: holds a BLOB of 1 bytes where rosbag2 stores TEXT"),
        "{text}"
    );

    // The same through the CLI: rosync's words, naming file, table and column.
    let out = run_bounded(&[
        "bag",
        "info",
        dir.join("no_timestamp.db3").to_str().expect("path"),
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no_timestamp.db3: cannot read as a rosbag2 sqlite3 file: table messages has no column timestamp"),
        "{}",
        stderr(&out)
    );
}

/// `text` as a double-quoted YAML scalar (control characters as `\xNN`).
fn yaml_quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[test]
fn errors_escape_and_cap_what_the_file_says() {
    let dir = scratch("escape-text");
    let folder = dir.join("bag");
    write_rosbags(&folder, "sqlite3");
    let db3 = folder.join("bag.db3");
    let yaml = folder.join("metadata.yaml");
    let original = std::fs::read_to_string(&yaml).expect("yaml");
    let hostile = format!("\u{1b}]0;pwned\u{7}\u{1b}[2J{}", "A".repeat(5000));
    let check = |what: &str, text: &str| {
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{what}: raw control bytes in {text:?}"
        );
        assert!(text.len() < 2000, "{what}: {} bytes of error", text.len());
    };

    // metadata.yaml: an unknown storage, a QoS enum value, a missing file, all hostile text.
    let quoted = yaml_quoted(&hostile);
    let cases = [
        original.replace(
            "storage_identifier: sqlite3",
            &format!("storage_identifier: {quoted}"),
        ),
        original.replace(
            "offered_qos_profiles: []",
            &format!("offered_qos_profiles: [{{reliability: {quoted}}}]"),
        ),
        original.replace("  - bag.db3\n", &format!("  - {quoted}\n")),
    ];
    for (i, text) in cases.iter().enumerate() {
        std::fs::write(&yaml, text).expect("write");
        let err = Log::open(&folder).expect_err("refused");
        check(&format!("metadata case {i}"), &err.to_string());
        assert!(err.to_string().contains("metadata.yaml"), "{err}");
        let out = run_bounded(&["bag", "info", folder.to_str().expect("path")]);
        assert!(!out.status.success());
        check(&format!("CLI metadata case {i}"), &stderr(&out));
    }
    std::fs::write(&yaml, &original).expect("restore");

    // A .db3 whose topic id and definition hold the hostile text.
    let sql = format!("{UNTYPED_TOPICS} UPDATE topics SET id = '{hostile}' WHERE id = 1;");
    let path = altered(&db3, &dir, "hostile.db3", &sql);
    let text = sqlite_error(&path);
    check("topics.id", &text);
    assert!(
        text.contains("\\u{1b}]0;pwned"),
        "escaped, not dropped: {text}"
    );
    let out = run_bounded(&["bag", "cat", path.to_str().expect("path")]);
    assert!(!out.status.success());
    check("CLI topics.id", &stderr(&out));
}

#[test]
fn unreadable_rows_are_skipped_and_reported_and_the_rest_is_read() {
    let dir = scratch("rows");
    let folder = dir.join("bag");
    let written = write_rosbags(&folder, "sqlite3");
    let db3 = folder.join("bag.db3");
    // Four damaged rows among the nine good ones: a TEXT timestamp, an INTEGER payload, a negative
    // timestamp and an undefined topic.
    rusqlite::Connection::open(&db3)
        .expect("open")
        .execute_batch(
            "INSERT INTO messages (topic_id, timestamp, data) VALUES
                 (1, 'soon', x'00010000'),
                 (1, 1100000000, 42),
                 (1, -5, x'00010000'),
                 (77, 1200000000, x'00010000');",
        )
        .expect("insert");

    let log = Log::open(&folder).expect("opens despite the damage");
    assert_eq!(message_rows(log.messages()), written);
    assert_eq!(log.message_count(), 9);
    assert_eq!(
        log.typed::<std_msgs::String>("/chatter")
            .expect("typed")
            .count(),
        5
    );
    let damage = log.damage();
    assert_eq!(damage.len(), 1, "{damage:?}");
    let text = damage[0].to_string();
    assert!(
        text.contains("bag.db3")
            && text.contains("skipped 4 of the 13 rows of the messages table")
            && text.contains("2 whose id, topic_id, timestamp or data")
            && text.contains("1 with a negative timestamp")
            && text.contains("1 on topic ids the topics table does not define (77)"),
        "{text}"
    );
    let reader = SqliteReader::open(&db3).expect("opens");
    assert_eq!(reader.skipped_messages(), 4);
    assert!(matches!(
        reader.damage(),
        Some(BagError::SkippedRows {
            skipped: 4,
            total: 13,
            ..
        })
    ));

    // bag info reports it; bag cat prints every good message and the damage, naming the file.
    let info = BagInfo::open(&folder).expect("info");
    assert!(
        info.to_string().contains("skipped 4 of the 13 rows"),
        "{info}"
    );
    let out = run_bounded(&["bag", "info", folder.to_str().expect("path")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Messages:          9"), "{stdout}");
    assert!(
        format!("{stdout}{}", stderr(&out)).contains("skipped 4 of the 13 rows"),
        "{stdout}{}",
        stderr(&out)
    );
    let out = run_bounded(&["bag", "cat", folder.to_str().expect("path"), "--json"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 9, "{stdout}{}", stderr(&out));
    let text = stderr(&out);
    assert!(
        text.contains("bag.db3") && text.contains("skipped 4"),
        "{text}"
    );
    // Status 3 as for a damaged MCAP chunk: everything readable was printed, something was lost.
    assert_eq!(out.status.code(), Some(3), "{text}");
}

/// The `.db3` a fuzz case starts from, written once: Python rosbags' (one page of messages),
/// or one of 300 messages over many pages (`many`).
fn fuzz_sample(many: bool) -> &'static [u8] {
    static ROSBAGS: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    static MANY: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    if many {
        return MANY.get_or_init(|| {
            let path = scratch("fuzz-many").join("many.db3");
            write_many(&path, 300);
            std::fs::read(path).expect("db3")
        });
    }
    ROSBAGS.get_or_init(|| {
        let folder = scratch("fuzz-sample").join("bag");
        write_rosbags(&folder, "sqlite3");
        std::fs::read(folder.join("bag.db3")).expect("db3")
    })
}

/// Opens `path` and reads everything, as the commands do; the first error, if any.
fn read_everything(path: &Path) -> Option<BagError> {
    let log = match Log::open(path) {
        Ok(log) => log,
        Err(err) => return Some(err),
    };
    let _ = BagInfo::from_log(&log).to_string();
    let mut first = log.damage().first().map(|d| d.to_string());
    for message in log.messages().take(100_000) {
        match message {
            Ok(m) => {
                let _ = m.decode_json();
            }
            Err(err) if first.is_none() => first = Some(err.to_string()),
            Err(_) => {}
        }
    }
    if let Ok(typed) = log.typed::<std_msgs::String>("/chatter") {
        typed.take(100_000).for_each(drop);
    }
    first.map(|reason| BagError::Sqlite {
        path: path.to_path_buf(),
        reason,
    })
}

/// Values at the edges of 1-, 2-, 4- and 8-byte big-endian integers (SQLite's encoding).
fn edge(width: usize, kind: u8) -> Vec<u8> {
    let value: u64 = match kind % 5 {
        0 => 0,
        1 => 1,
        2 => u64::MAX >> (64 - 8 * width + 1), // largest signed
        3 => 1 << (8 * width - 1),             // smallest signed
        _ => u64::MAX >> (64 - 8 * width),     // all ones
    };
    value.to_be_bytes()[8 - width..].to_vec()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Byte flips, integers near their limits and cuts in a real .db3 never panic or hang;
    /// every error names the file and holds no raw control character.
    #[test]
    fn damaged_db3_files_never_panic_or_hang(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 0..4),
        edges in proptest::collection::vec(
            (any::<prop::sample::Index>(), prop::sample::select(vec![1usize, 2, 4, 8]), any::<u8>()),
            0..4,
        ),
        cut in proptest::option::of(any::<prop::sample::Index>()),
        many in any::<bool>(),
    ) {
        let mut bytes = fuzz_sample(many).to_vec();
        for (at, xor) in &flips {
            let i = at.index(bytes.len());
            bytes[i] ^= xor;
        }
        for (at, width, kind) in &edges {
            let i = at.index(bytes.len() - width);
            bytes[i..i + width].copy_from_slice(&edge(*width, *kind));
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len() + 1).max(16));
        }
        let dir = std::env::temp_dir().join(format!("rosync-db3-{}-prop", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("case.db3");
        std::fs::write(&path, &bytes).expect("write");
        let probe = path.clone();
        if let Some(err) = within(Duration::from_secs(30), "reading a damaged .db3", move || read_everything(&probe)) {
            let text = err.to_string();
            prop_assert!(text.contains("case.db3"), "{}", text);
            prop_assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{:?}", text);
        }
    }
}

/// Writes a rosbag2 (Jazzy layout) `.db3` of `count` `/chatter` strings, ids and timestamps
/// ascending; returns (log time, text) in order.
fn write_many(path: &Path, count: i64) -> Vec<(u64, String)> {
    let conn = rusqlite::Connection::open(path).expect("create db3");
    conn.execute_batch(
        "CREATE TABLE schema(schema_version INTEGER PRIMARY KEY, ros_distro TEXT NOT NULL);
         CREATE TABLE topics(id INTEGER PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL,
             serialization_format TEXT NOT NULL, offered_qos_profiles TEXT NOT NULL,
             type_description_hash TEXT NOT NULL);
         CREATE TABLE messages(id INTEGER PRIMARY KEY, topic_id INTEGER NOT NULL,
             timestamp INTEGER NOT NULL, data BLOB NOT NULL);
         CREATE INDEX timestamp_idx ON messages (timestamp ASC);
         INSERT INTO schema VALUES (4, 'jazzy');
         INSERT INTO topics VALUES (1, '/chatter', 'std_msgs/msg/String', 'cdr', '', '');
         BEGIN;",
    )
    .expect("schema");
    let mut rows = Vec::new();
    for i in 0..count {
        let text = format!("message {i:05} {}", "x".repeat(150));
        let data = rosync::cdr::encode(&std_msgs::String { data: text.clone() }).expect("cdr");
        conn.execute(
            "INSERT INTO messages (id, topic_id, timestamp, data) VALUES (?1, 1, ?2, ?3)",
            rusqlite::params![i + 1, 1_000 + i * 10, data],
        )
        .expect("insert");
        rows.push((1_000 + i as u64 * 10, text));
    }
    conn.execute_batch("COMMIT;").expect("commit");
    rows
}

/// The leaf pages of the table b-tree rooted at page `root`, and the file's page size.
fn table_leaves(bytes: &[u8], root: u32) -> (usize, Vec<u32>) {
    let page_size = match u16::from_be_bytes([bytes[16], bytes[17]]) {
        1 => 65_536,
        n => usize::from(n),
    };
    let mut leaves = Vec::new();
    let mut pending = vec![root];
    while let Some(page) = pending.pop() {
        let start = (page as usize - 1) * page_size;
        let header = if page == 1 { start + 100 } else { start };
        match bytes[header] {
            0x0d => leaves.push(page),
            0x05 => {
                let cells = usize::from(u16::from_be_bytes([bytes[header + 3], bytes[header + 4]]));
                let be32 = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4"));
                for c in 0..cells {
                    let at = header + 12 + 2 * c;
                    let cell = start + usize::from(u16::from_be_bytes([bytes[at], bytes[at + 1]]));
                    pending.push(be32(cell));
                }
                pending.push(be32(header + 8));
            }
            other => panic!("page {page}: not a table b-tree page ({other:#x})"),
        }
    }
    leaves.sort_unstable();
    (page_size, leaves)
}

#[test]
fn rows_on_a_damaged_page_are_skipped_and_reported_and_the_rest_is_read() {
    let dir = scratch("pages");
    let folder = dir.join("bag");
    std::fs::create_dir_all(&folder).expect("dir");
    let db3 = folder.join("bag.db3");
    let written = write_many(&db3, 2000);
    let conn = rusqlite::Connection::open(&db3).expect("open");
    // One more row, with a TEXT timestamp: skipped as mistyped, on the last leaf.
    conn.execute_batch(
        "INSERT INTO messages (id, topic_id, timestamp, data) VALUES (2001, 1, 'soon', x'00');",
    )
    .expect("insert");
    let root: u32 = conn
        .query_row(
            "SELECT rootpage FROM sqlite_master WHERE name = 'messages'",
            [],
            |row| row.get(0),
        )
        .expect("root page");
    drop(conn);
    let original = std::fs::read(&db3).expect("read");
    let (page_size, leaves) = table_leaves(&original, root);
    assert!(leaves.len() > 20, "{} leaves", leaves.len());
    // Break one leaf (the first, one in the middle, the last): an invalid page type.
    for leaf in [
        leaves[0],
        leaves[leaves.len() / 2],
        leaves[leaves.len() - 1],
    ] {
        let mut bytes = original.clone();
        let start = (leaf as usize - 1) * page_size;
        let cells = usize::from(u16::from_be_bytes([bytes[start + 3], bytes[start + 4]]));
        assert!(cells > 1);
        bytes[start] = 0x00;
        std::fs::write(&db3, &bytes).expect("write");
        // The TEXT-timestamp row is lost with the last leaf, else skipped as mistyped.
        let last = leaf == leaves[leaves.len() - 1];
        let (lost, skipped) = if last {
            (cells - 1, cells)
        } else {
            (cells, cells + 1)
        };
        check_damaged_page(&db3, &written, lost, cells, skipped);
    }
}

/// `db3` (of `written` and one mistyped row) has lost `lost` messages with the `cells` rows of
/// one damaged page (`skipped` rows in all): the rest is read in order, the loss is reported
/// by `Log::damage`, by iteration where it meets it and by `bag info`.
fn check_damaged_page(
    db3: &Path,
    written: &[(u64, String)],
    lost: usize,
    cells: usize,
    skipped: usize,
) {
    let log = within(PATIENCE, "opening a .db3 with a damaged page", {
        let path = db3.to_path_buf();
        move || Log::open(&path)
    })
    .expect("opens despite the damaged page");
    assert_eq!(log.message_count(), (2000 - lost) as u64);
    let damage: Vec<String> = log.damage().iter().map(|d| d.to_string()).collect();
    assert_eq!(damage.len(), 1, "{damage:?}");
    assert!(
        damage[0].contains("bag.db3")
            && damage[0].contains(&format!("skipped {skipped} of the 2001 rows"))
            && damage[0].contains(&format!("{cells} stored on damaged pages")),
        "{damage:?}"
    );

    // Iteration reads every other message in order, with no error item, and records the
    // skipped ones as damage (as a damaged MCAP chunk) where it meets them.
    let mut read = Vec::new();
    let mut messages = log.messages();
    for item in &mut messages {
        let m = item.expect("no error item: the damaged rows are skipped");
        let msg: std_msgs::String = m.decode().expect("decodes");
        read.push((m.log_time, msg.data));
    }
    let reported: u64 = messages
        .skipped()
        .iter()
        .map(|d| {
            assert_eq!(d.file, db3);
            assert!(d.offset().is_none(), "rows, not a chunk: {d}");
            d.messages_lost.expect("counted")
        })
        .sum();
    assert_eq!(reported, lost as u64);
    assert_eq!(read.len(), 2000 - lost);
    let expected: Vec<(u64, String)> = written
        .iter()
        .filter(|row| read.binary_search(row).is_ok())
        .cloned()
        .collect();
    assert_eq!(read, expected, "in order, each as written");
    // The lost rows are one contiguous stretch (one leaf).
    let first_missing = written
        .iter()
        .position(|row| read.binary_search(row).is_err());
    let first_missing = first_missing.expect("some rows are missing");
    assert!(written[first_missing..first_missing + lost]
        .iter()
        .all(|row| read.binary_search(row).is_err()));

    // `bag info` says so, naming the file.
    let out = run_bounded(&["bag", "info", db3.to_str().expect("path")]);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(
        text.contains(&format!("Messages:          {}", 2000 - lost))
            && text.contains(&format!("skipped {skipped} of the 2001 rows")),
        "{text}"
    );

    // `bag cat` goes on past the damaged page, as past a damaged MCAP chunk, and ends with
    // status 3 naming the file.
    let out = run_bounded(&["bag", "cat", db3.to_str().expect("path"), "--json"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 2000 - lost, "{}", stderr(&out));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("bag.db3"), "{}", stderr(&out));
}

/// Receives `n` messages of `T` on `topic` within `PATIENCE` each, as JSON values.
async fn receive<T: Message>(
    sub: &rosync::node::Subscriber<T>,
    n: usize,
) -> Vec<serde_json::Value> {
    let mut got = Vec::new();
    for _ in 0..n {
        let msg = tokio::time::timeout(PATIENCE, sub.recv())
            .await
            .unwrap_or_else(|_| panic!("{}: {} of {n} arrived", sub.topic(), got.len()))
            .expect("open");
        got.push(serde_json::to_value(&msg).expect("JSON"));
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn play_sends_every_readable_message_of_a_damaged_db3_and_reports_the_rest() {
    let dir = scratch("play");
    let folder = dir.join("bag");
    let written = write_rosbags(&folder, "sqlite3");
    rusqlite::Connection::open(folder.join("bag.db3"))
        .expect("open")
        .execute_batch(
            "INSERT INTO messages (topic_id, timestamp, data) VALUES
                 (1, 'soon', x'00010000'), (77, 1200000000, x'00010000');",
        )
        .expect("insert");
    let ep = common::endpoint();
    let node = common::listening_node("play_damaged", 171, &ep).await;
    let chatter = node
        .subscriber::<std_msgs::String>("/chatter")
        .queue_size(100)
        .await
        .expect("subscriber");
    let images = node
        .subscriber::<sensor_msgs::Image>("/camera/image")
        .queue_size(100)
        .await
        .expect("subscriber");
    let infos = node
        .subscriber::<sensor_msgs::CameraInfo>("/camera/info")
        .queue_size(100)
        .await
        .expect("subscriber");
    let mut player = rosync();
    player
        .arg("play")
        .arg(&folder)
        .args([
            "--connect",
            &ep,
            "--domain",
            "171",
            "--wait-for-subscribers",
            "10",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let player = tokio::task::spawn_blocking(move || player.output().expect("rosync runs"));
    let on = |topic: &str| -> Vec<serde_json::Value> {
        written
            .iter()
            .filter(|r| r.0 == topic)
            .map(|r| r.3.clone())
            .collect()
    };
    assert_eq!(receive(&chatter, 5).await, on("/chatter"));
    assert_eq!(receive(&images, 3).await, on("/camera/image"));
    assert_eq!(receive(&infos, 1).await, on("/camera/info"));
    let out = tokio::time::timeout(PATIENCE * 3, player)
        .await
        .expect("play ends")
        .expect("joins");
    let text = stderr(&out);
    // Status 3: everything readable was played, but the log lost something (as for MCAP).
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("published 9 messages"), "{text}");
    assert!(
        text.contains("bag.db3") && text.contains("skipped 2 of the 11 rows"),
        "{text}"
    );
}

/// A leaf whose header and first cell pointers are overwritten (found by the property test
/// above: cell pointers 0 and 1 point into the page header) makes SQLite hand back bogus rows,
/// some with rowids before those already read, the same ones on every resume. Opening used
/// to resume there forever; now it ends, counts every row once and keeps timestamps apart
/// from rowids.
#[test]
fn a_leaf_whose_cells_point_into_its_header_is_read_to_the_end() {
    let dir = scratch("bogus-cells");
    let db3 = dir.join("case.db3");
    write_many(&db3, 300);
    let conn = rusqlite::Connection::open(&db3).expect("open");
    let root: u32 = conn
        .query_row(
            "SELECT rootpage FROM sqlite_master WHERE name = 'messages'",
            [],
            |row| row.get(0),
        )
        .expect("root page");
    drop(conn);
    let mut bytes = std::fs::read(&db3).expect("read");
    let (page_size, leaves) = table_leaves(&bytes, root);
    assert!(leaves.len() > 4, "{} leaves", leaves.len());
    for leaf in [leaves[1], leaves[leaves.len() / 2]] {
        let start = (leaf as usize - 1) * page_size;
        let mut damaged = bytes.clone();
        // Content start 0, no fragments, cell pointers 0 and 1.
        damaged[start + 5..start + 13].copy_from_slice(&1u64.to_be_bytes());
        std::fs::write(&db3, &damaged).expect("write");
        let probe = db3.clone();
        let info = within(
            Duration::from_secs(30),
            "opening the damaged .db3",
            move || {
                let log = Log::open(&probe).expect("a damaged file still opens");
                let info = BagInfo::from_log(&log);
                // Reading every message ends too.
                let read = log.messages().take(100_000).filter(|m| m.is_ok()).count();
                (info, read)
            },
        );
        let (info, read) = info;
        assert!(info.message_count <= 300, "{}", info.message_count);
        assert!(read as u64 <= info.message_count, "{read} read");
        let (start, end) = (info.start.expect("start"), info.end.expect("end"));
        assert!(start <= end, "start {start} after end {end}");
        // write_many stamps 1_000 + 10 i ns.
        assert!((1_000..=3_990).contains(&start) && (1_000..=3_990).contains(&end));
        assert!(info.damage.is_some(), "the damage is reported");
    }
    bytes.clear();
    let _ = std::fs::remove_dir_all(&dir);
}
