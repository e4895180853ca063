//! rosbag2 bags written by Python `rosbags` (tests/python/bag_check.py `write-rosbags`), in
//! both storages (sqlite3 and MCAP), read through `Log`: every message typed and equal to what
//! Python wrote, topics and counts as metadata.yaml says, `.db3` files opened directly, older
//! sqlite3 layouts, broken metadata and databases rejected with errors naming the file, and
//! `rosync bag info|cat` on the folders.

mod common;

use std::path::Path;

use rosync::bag::rosbag2::Metadata;
use rosync::bag::{BagError, BagInfo, Log, SqliteReader};
use rosync::msg::{sensor_msgs, std_msgs, Message};
use serde_json::Value;

use common::{bag_check, message_rows, run_rosync, scratch, written_rows, Row};

/// Writes a rosbag2 folder with rosbags; returns what Python wrote, in log-time order.
fn write_rosbags(folder: &Path, storage: &str) -> Vec<Row> {
    let path = folder.to_str().expect("path");
    let rows = written_rows(&bag_check(&["write-rosbags", path, "--storage", storage]));
    assert_eq!(rows.len(), 9, "the samples of bag_check.py");
    rows
}

/// The rows of `topic` decoded as `T` through `Log::typed`.
fn typed_rows<T: Message>(log: &Log, topic: &str) -> Vec<Row> {
    log.typed::<T>(topic)
        .expect("typed")
        .map(|item| {
            let (log_time, msg) = item.expect("decodes");
            (
                topic.to_string(),
                log_time,
                T::TYPE_NAME.to_string(),
                serde_json::to_value(&msg).expect("JSON"),
            )
        })
        .collect()
}

fn on(rows: &[Row], topic: &str) -> Vec<Row> {
    rows.iter().filter(|r| r.0 == topic).cloned().collect()
}

/// Every message of `log` in its order, decoded by type name.
fn all_rows(log: &Log) -> Vec<Row> {
    message_rows(log.messages())
}

/// Checks a folder written by rosbags against what Python wrote and its metadata.yaml.
fn check_folder(folder: &Path, storage: &str, written: &[Row]) {
    let log = Log::open(folder).expect("opens the folder");
    assert!(log.damage().is_empty());
    assert_eq!(log.storage_id(), storage);

    // Every message, in log-time order, equal to what was written.
    assert_eq!(all_rows(&log), written);
    // Typed, per topic.
    assert_eq!(
        typed_rows::<std_msgs::String>(&log, "/chatter"),
        on(written, "/chatter")
    );
    assert_eq!(
        typed_rows::<sensor_msgs::Image>(&log, "/camera/image"),
        on(written, "/camera/image")
    );
    assert_eq!(
        typed_rows::<sensor_msgs::CameraInfo>(&log, "/camera/info"),
        on(written, "/camera/info")
    );
    // A topic subset keeps log-time order.
    let subset: Vec<String> = log
        .messages_on(&["/camera/image", "/camera/info"])
        .map(|m| m.expect("message").topic.to_string())
        .collect();
    assert_eq!(
        subset,
        [
            "/camera/image",
            "/camera/info",
            "/camera/image",
            "/camera/image"
        ]
    );
    let err = log
        .typed::<std_msgs::Header>("/chatter")
        .err()
        .expect("wrong type");
    assert!(matches!(err, BagError::TypeMismatch { .. }), "{err}");

    // Topics, types and counts as metadata.yaml says.
    let metadata = log.metadata().expect("opened through metadata.yaml");
    assert_eq!(metadata.storage_identifier, storage);
    assert_eq!(metadata.version, 9);
    let mut expected: Vec<(String, String, u64)> = metadata
        .topics
        .iter()
        .map(|t| (t.name.clone(), t.type_name.clone(), t.message_count))
        .collect();
    expected.sort();
    let topics = log.topics();
    let got: Vec<(String, String, u64)> = topics
        .iter()
        .map(|t| (t.topic.clone(), t.type_name.clone(), t.message_count))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(log.message_count(), metadata.message_count);
    assert_eq!(log.start_time(), Some(metadata.starting_time_ns as u64));
    assert_eq!(
        log.end_time(),
        Some((metadata.starting_time_ns + metadata.duration_ns) as u64)
    );
    for topic in &topics {
        assert_eq!(topic.message_encoding, "cdr");
        assert_eq!(topic.schema_encoding, "ros2msg", "{}", topic.topic);
        assert!(
            topic.definition.contains("string"),
            "{}: {}",
            topic.topic,
            topic.definition
        );
        let hash = metadata
            .topics
            .iter()
            .find(|t| t.name == topic.topic)
            .map(|t| t.type_description_hash.clone());
        assert_eq!(topic.type_hash, hash, "{}", topic.topic);
    }
    let files = log.files();
    assert_eq!(files.len(), 1);
    assert_eq!(log.size(), std::fs::metadata(files[0]).expect("file").len());
}

#[test]
fn rosbags_sqlite3_folders_are_read_typed() {
    let dir = scratch("sqlite3");
    let folder = dir.join("bag");
    let written = write_rosbags(&folder, "sqlite3");
    check_folder(&folder, "sqlite3", &written);

    // The .db3 file opened directly: the same messages, read-only (the file is unchanged).
    let db3 = folder.join("bag.db3");
    let before = std::fs::read(&db3).expect("db3");
    let log = Log::open(&db3).expect("opens the .db3");
    assert!(log.metadata().is_none());
    assert_eq!(all_rows(&log), written);
    assert_eq!(
        typed_rows::<std_msgs::String>(&log, "/chatter"),
        on(&written, "/chatter")
    );
    drop(log);
    assert_eq!(std::fs::read(&db3).expect("db3"), before);

    let reader = SqliteReader::open(&db3).expect("opens");
    assert_eq!(reader.schema_version(), Some(4));
    assert_eq!(reader.ros_distro(), "rosbags");
    assert_eq!(reader.message_count(), 9);

    // BagInfo over the folder.
    let info = BagInfo::open(&folder).expect("info");
    assert_eq!(info.storage_id, "sqlite3");
    assert_eq!(info.message_count, 9);
    let text = info.to_string();
    assert!(text.contains("Storage id:        sqlite3"), "{text}");
    assert!(
        text.contains(
            "Topic: /chatter | Type: std_msgs/msg/String | Count: 5 | Serialization Format: cdr"
        ),
        "{text}"
    );
}

#[test]
fn rosbags_mcap_folders_are_read_typed() {
    let dir = scratch("mcap");
    let folder = dir.join("bag");
    let written = write_rosbags(&folder, "mcap");
    check_folder(&folder, "mcap", &written);
    let info = BagInfo::open(&folder).expect("info");
    assert_eq!(info.storage_id, "mcap");
    assert!(info.to_string().contains("Messages:          9"), "{info}");
}

#[test]
fn a_folder_of_db3_files_without_metadata_is_read() {
    let dir = scratch("no-metadata");
    let folder = dir.join("bag");
    let written = write_rosbags(&folder, "sqlite3");
    std::fs::remove_file(folder.join("metadata.yaml")).expect("remove");
    let log = Log::open(&folder).expect("opens");
    assert!(log.metadata().is_none());
    assert_eq!(all_rows(&log), written);
}

/// A database laid out like rosbag2 before Humble (no schema, metadata nor
/// message_definitions tables, no type hash column) or like Jazzy, filled with `count`
/// messages whose timestamps tie in pairs and were inserted out of order.
fn write_db3(path: &Path, legacy: bool, count: i64) -> Vec<(u64, String)> {
    let conn = rusqlite::Connection::open(path).expect("create db3");
    if legacy {
        conn.execute_batch(
            "CREATE TABLE topics(id INTEGER PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL,
                 serialization_format TEXT NOT NULL, offered_qos_profiles TEXT NOT NULL);
             CREATE TABLE messages(id INTEGER PRIMARY KEY, topic_id INTEGER NOT NULL,
                 timestamp INTEGER NOT NULL, data BLOB NOT NULL);
             CREATE INDEX timestamp_idx ON messages (timestamp ASC);
             INSERT INTO topics VALUES (1, '/chatter', 'std_msgs/msg/String', 'cdr', '');",
        )
        .expect("legacy schema");
    } else {
        conn.execute_batch(
            "CREATE TABLE schema(schema_version INTEGER PRIMARY KEY, ros_distro TEXT NOT NULL);
             CREATE TABLE metadata(id INTEGER PRIMARY KEY, metadata_version INTEGER NOT NULL,
                 metadata TEXT NOT NULL);
             CREATE TABLE topics(id INTEGER PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL,
                 serialization_format TEXT NOT NULL, offered_qos_profiles TEXT NOT NULL,
                 type_description_hash TEXT NOT NULL);
             CREATE TABLE message_definitions(id INTEGER PRIMARY KEY, topic_type TEXT NOT NULL,
                 encoding TEXT NOT NULL, encoded_message_definition TEXT NOT NULL,
                 type_description_hash TEXT NOT NULL);
             CREATE TABLE messages(id INTEGER PRIMARY KEY, topic_id INTEGER NOT NULL,
                 timestamp INTEGER NOT NULL, data BLOB NOT NULL);
             CREATE INDEX timestamp_idx ON messages (timestamp ASC);
             INSERT INTO schema VALUES (4, 'jazzy');
             INSERT INTO topics VALUES (1, '/chatter', 'std_msgs/msg/String', 'cdr',
                 '- history: 3', 'RIHS01_abc');
             INSERT INTO message_definitions VALUES (1, 'std_msgs/msg/String', 'unknown', '', '');",
        )
        .expect("jazzy schema");
    }
    let mut expected = Vec::new();
    let mut insert = conn
        .prepare("INSERT INTO messages (id, topic_id, timestamp, data) VALUES (?1, 1, ?2, ?3)")
        .expect("prepare");
    for i in 0..count {
        // Ids ascend; timestamps descend in pairs, so the file order is not log-time order.
        let timestamp = 1_000 + (count - i) / 2 * 10;
        let text = format!("message {i}");
        let data = rosync::cdr::encode(&std_msgs::String { data: text.clone() }).expect("cdr");
        insert
            .execute(rusqlite::params![i + 1, timestamp, data])
            .expect("insert");
        expected.push((timestamp as u64, i, text));
    }
    expected.sort_by_key(|(t, i, _)| (*t, *i));
    expected.into_iter().map(|(t, _, s)| (t, s)).collect()
}

#[test]
fn older_and_jazzy_sqlite3_layouts_stream_in_timestamp_then_id_order() {
    let dir = scratch("layouts");
    for legacy in [true, false] {
        let db3 = dir.join(format!("legacy_{legacy}.db3"));
        // More than one page of rows, with ties across page boundaries.
        let expected = write_db3(&db3, legacy, 1001);
        let log = Log::open(&db3).expect("opens");
        let got: Vec<(u64, String)> = log
            .typed::<std_msgs::String>("/chatter")
            .expect("typed")
            .map(|item| item.map(|(t, m)| (t, m.data)).expect("decodes"))
            .collect();
        assert_eq!(got, expected, "legacy: {legacy}");
        let topic = &log.topics()[0];
        assert_eq!(topic.message_count, 1001);
        // No stored definition (or an "unknown" one): rosync's own.
        assert_eq!(topic.definition, std_msgs::String::DEFINITION);
        assert_eq!(topic.schema_encoding, "ros2msg");
        let reader = SqliteReader::open(&db3).expect("opens");
        if legacy {
            assert_eq!(topic.type_hash, None);
            assert_eq!(reader.schema_version(), None);
        } else {
            assert_eq!(topic.type_hash.as_deref(), Some("RIHS01_abc"));
            assert_eq!(topic.metadata["offered_qos_profiles"], "- history: 3");
            assert_eq!(reader.schema_version(), Some(4));
        }
        // A topic filter with no match yields nothing.
        assert_eq!(log.messages_on(&["/nothing"]).count(), 0);
    }
}

#[test]
fn broken_metadata_and_databases_are_clear_errors_naming_the_file() {
    let dir = scratch("broken");
    let folder = dir.join("bag");
    write_rosbags(&folder, "sqlite3");
    let yaml = folder.join("metadata.yaml");
    let text = std::fs::read_to_string(&yaml).expect("yaml");

    // metadata.yaml lists a file that is not there.
    std::fs::rename(folder.join("bag.db3"), dir.join("elsewhere.db3")).expect("move");
    let err = Log::open(&folder).expect_err("missing file");
    assert!(matches!(err, BagError::Metadata { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("metadata.yaml") && message.contains("bag.db3"),
        "{message}"
    );
    assert_eq!(err.path(), yaml);
    std::fs::rename(dir.join("elsewhere.db3"), folder.join("bag.db3")).expect("move back");

    // Garbage metadata.yaml.
    std::fs::write(&yaml, "this: [is not: a rosbag2 {metadata").expect("write");
    let err = Log::open(&folder).expect_err("garbage");
    assert!(matches!(err, BagError::Metadata { .. }), "{err}");
    assert!(err.to_string().contains("metadata.yaml"), "{err}");

    // Valid YAML without a required field: the field is named.
    std::fs::write(&yaml, text.replace("  storage_identifier: sqlite3\n", "")).expect("write");
    let err = Log::open(&folder).expect_err("no storage_identifier");
    let message = err.to_string();
    assert!(
        message.contains("metadata.yaml") && message.contains("storage_identifier"),
        "{message}"
    );
    let err = Metadata::parse(
        &yaml,
        &text.replace("storage_identifier: sqlite3", "storage_identifier: bagz"),
    )
    .expect_err("unknown storage");
    assert!(err.to_string().contains("\"bagz\""), "{err}");
    std::fs::write(&yaml, &text).expect("restore");
    Log::open(&folder).expect("opens again");

    // A .db3 that is not a database at all.
    let not_db = dir.join("notes.db3");
    std::fs::write(&not_db, "just some text, not a database\n").expect("write");
    let err = Log::open(&not_db).expect_err("not sqlite");
    assert!(matches!(err, BagError::Sqlite { .. }), "{err}");
    assert!(err.to_string().contains("notes.db3"), "{err}");

    // An empty .db3.
    let empty = dir.join("empty.db3");
    std::fs::write(&empty, b"").expect("write");
    let err = Log::open(&empty).expect_err("empty");
    assert!(
        err.to_string().contains("empty.db3") && err.to_string().contains("empty"),
        "{err}"
    );

    // A database whose pages are garbage after the header.
    let bytes = std::fs::read(folder.join("bag.db3")).expect("db3");
    let mut garbled = bytes.clone();
    for (i, b) in garbled.iter_mut().enumerate().skip(100) {
        *b = (i * 31 % 251) as u8;
    }
    let corrupt = dir.join("corrupt.db3");
    std::fs::write(&corrupt, &garbled).expect("write");
    let err = Log::open(&corrupt).expect_err("corrupt");
    assert!(matches!(err, BagError::Sqlite { .. }), "{err}");
    assert!(err.to_string().contains("corrupt.db3"), "{err}");

    // A database cut after its first page.
    let cut = dir.join("cut.db3");
    std::fs::write(&cut, &bytes[..4096]).expect("write");
    match Log::open(&cut) {
        Err(err) => assert!(err.to_string().contains("cut.db3"), "{err}"),
        Ok(log) => {
            let err = log
                .messages()
                .find_map(Result::err)
                .expect("an error while reading");
            assert!(err.to_string().contains("cut.db3"), "{err}");
        }
    }

    // A valid SQLite database that is not a rosbag2 bag.
    let other = dir.join("other.db3");
    rusqlite::Connection::open(&other)
        .expect("create")
        .execute_batch("CREATE TABLE things(id INTEGER PRIMARY KEY);")
        .expect("schema");
    let err = Log::open(&other).expect_err("no rosbag2 tables");
    let message = err.to_string();
    assert!(
        message.contains("other.db3") && message.contains("topics"),
        "{message}"
    );
}

#[test]
fn bag_info_and_cat_read_both_storages() {
    let dir = scratch("cli");
    for storage in ["sqlite3", "mcap"] {
        let folder = dir.join(format!("bag_{storage}"));
        let written = write_rosbags(&folder, storage);
        let path = folder.to_str().expect("path");

        let out = run_rosync(&["bag", "info", path]);
        let info = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{info}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            info.contains(&format!("Storage id:        {storage}")),
            "{info}"
        );
        assert!(info.contains("Messages:          9"), "{info}");
        assert!(info.contains("Duration:          0.450000000s"), "{info}");
        for (topic, ty, count) in [
            ("/chatter", "std_msgs/msg/String", 5),
            ("/camera/image", "sensor_msgs/msg/Image", 3),
            ("/camera/info", "sensor_msgs/msg/CameraInfo", 1),
        ] {
            assert!(
                info.contains(&format!(
                    "Topic: {topic} | Type: {ty} | Count: {count} | Serialization Format: cdr"
                )),
                "{info}"
            );
        }

        let out = run_rosync(&["bag", "cat", path, "--json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let printed: Vec<Row> = String::from_utf8(out.stdout)
            .expect("UTF-8")
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).expect("JSON line");
                (
                    v["topic"].as_str().expect("topic").to_string(),
                    v["log_time"].as_u64().expect("log_time"),
                    v["type"].as_str().expect("type").to_string(),
                    v["value"].clone(),
                )
            })
            .collect();
        assert_eq!(printed, written, "{storage}");

        let out = run_rosync(&["bag", "cat", path, "--topics", "/camera/info"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success());
        assert_eq!(text.matches("topic: /camera/info").count(), 1, "{text}");
        assert!(text.contains("plumb_bob"), "{text}");
    }

    // A broken folder: the CLI fails naming the file.
    let folder = dir.join("bag_sqlite3");
    std::fs::write(folder.join("metadata.yaml"), "nonsense: true\n").expect("write");
    let out = run_rosync(&["bag", "info", folder.to_str().expect("path")]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("metadata.yaml"), "{stderr}");
}

/// The names in `folder`, sorted.
fn names(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .expect("folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn reading_a_wal_mode_db3_leaves_its_folder_as_it_was() {
    let dir = scratch("wal");
    let folder = dir.join("bag");
    let written = write_rosbags(&folder, "sqlite3");
    let db3 = folder.join("bag.db3");
    // As `ros2 bag record --storage-preset-profile resilient` leaves it: WAL mode, closed.
    let conn = rusqlite::Connection::open(&db3).expect("open");
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))
        .expect("WAL");
    assert_eq!(mode, "wal");
    drop(conn);
    let before = (names(&folder), std::fs::read(&db3).expect("db3"));
    assert_eq!(before.0, ["bag.db3", "metadata.yaml"]);

    let log = Log::open(&folder).expect("opens");
    assert_eq!(all_rows(&log), written);
    drop(log);
    let out = run_rosync(&["bag", "info", folder.to_str().expect("path")]);
    assert!(out.status.success());
    assert_eq!(names(&folder), before.0, "reading created files");
    assert!(
        std::fs::read(&db3).expect("db3") == before.1,
        "reading changed the .db3"
    );
}

#[test]
fn logs_can_move_between_threads() {
    fn assert_send<T: Send>() {}
    assert_send::<Log>();
}
