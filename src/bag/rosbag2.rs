//! A rosbag2 folder's `metadata.yaml` (`rosbag2_bagfile_information`), as written by
//! `ros2 bag record` and Python `rosbags`, versions 1 to 9; one set of types reads it and
//! writes it (version 9, as the [`Recorder`](super::Recorder) does).
//!
//! What rosync uses: `version`, `storage_identifier` (`sqlite3` or `mcap`),
//! `relative_file_paths` (relative to the folder), `topics_with_message_count`
//! (`topic_metadata{name, type, serialization_format, offered_qos_profiles,
//! type_description_hash}` and `message_count`), `starting_time`, `duration`, `message_count`
//! and the compression fields. Fields added by later versions (`files` in 5,
//! `custom_data` in 6, `type_description_hash` in 7, `ros_distro` in 8) are optional. The
//! QoS profiles are a YAML string before version 9 and a YAML list from 9 on; both are read
//! into [`QosProfile`]s ([`offered_qos_profiles`]), and written as a list.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::{BagError, Result};
use super::regular_file::check_regular_file;
use super::untrusted::{self, quoted};
use crate::node::QosProfile;

/// The newest `metadata.yaml` version rosync reads.
pub const MAX_VERSION: u32 = 9;

/// The `metadata.yaml` version rosync writes.
pub const WRITE_VERSION: u32 = 9;

/// The largest `metadata.yaml` rosync reads (a bag with thousands of topics needs a few MiB).
pub const MAX_METADATA_BYTES: u64 = 64 << 20;

/// A topic as `topic_metadata` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicMetadata {
    /// The topic name.
    pub name: String,
    /// Its type (`pkg/msg/Type`).
    #[serde(rename = "type")]
    pub type_name: String,
    /// Its serialization format (`cdr`).
    #[serde(default)]
    pub serialization_format: String,
    /// The QoS profiles its publishers offered (empty when absent).
    #[serde(default, with = "offered_qos_profiles")]
    pub offered_qos_profiles: Vec<QosProfile>,
    /// The REP-2016 type hash (`RIHS01_...`), empty before version 7.
    #[serde(default)]
    pub type_description_hash: String,
}

/// One topic of a rosbag2 bag with its message count, from `topics_with_message_count`. Its
/// [`TopicMetadata`] fields read through it (`topic.name`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicWithCount {
    /// The topic.
    pub topic_metadata: TopicMetadata,
    /// Messages on the topic.
    pub message_count: u64,
}

impl std::ops::Deref for TopicWithCount {
    type Target = TopicMetadata;

    fn deref(&self) -> &TopicMetadata {
        &self.topic_metadata
    }
}

/// One entry of `files` (version 5 on).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    /// The file, relative to the folder.
    pub path: String,
    /// Log time of its first message (ns).
    #[serde(rename = "starting_time", default, with = "since_epoch")]
    pub starting_time_ns: i64,
    /// Time from its first to its last message (ns).
    #[serde(rename = "duration", default, with = "nanoseconds")]
    pub duration_ns: i64,
    /// Messages in it.
    #[serde(default)]
    pub message_count: u64,
}

/// A `metadata.yaml`, read by [`Metadata::open`] and written by [`Metadata::write`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// The `metadata.yaml` file read or written.
    #[serde(skip)]
    pub path: PathBuf,
    /// The format version (1 to [`MAX_VERSION`]).
    pub version: u32,
    /// The storage plugin: `sqlite3` or `mcap`.
    pub storage_identifier: String,
    /// Time from the first to the last message (ns).
    #[serde(rename = "duration", default, with = "nanoseconds")]
    pub duration_ns: i64,
    /// Log time of the first message (ns).
    #[serde(rename = "starting_time", default, with = "since_epoch")]
    pub starting_time_ns: i64,
    /// Messages in the bag.
    #[serde(default)]
    pub message_count: u64,
    /// The topics, in file order.
    #[serde(rename = "topics_with_message_count")]
    pub topics: Vec<TopicWithCount>,
    /// `zstd` for compressed bags, empty otherwise.
    #[serde(default)]
    pub compression_format: String,
    /// `FILE`, `MESSAGE`, or empty / `NONE`.
    #[serde(default)]
    pub compression_mode: String,
    /// The bag's files, relative to its folder, in recording order.
    pub relative_file_paths: Vec<String>,
    /// Per-file details (version 5 on; empty before).
    #[serde(default)]
    pub files: Vec<FileInfo>,
    /// Free-form key/values stored with the bag (version 6 on).
    #[serde(default)]
    pub custom_data: Option<BTreeMap<String, String>>,
    /// The ROS distribution that recorded the bag (version 8 on; `rosbags` for Python rosbags).
    #[serde(default)]
    pub ros_distro: String,
}

/// The file's single top-level key.
#[derive(Serialize, Deserialize)]
struct Document<M> {
    rosbag2_bagfile_information: M,
}

/// Serde for a time as `{nanoseconds_since_epoch: n}`.
mod since_epoch {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Time {
        nanoseconds_since_epoch: i64,
    }

    pub fn serialize<S: Serializer>(ns: &i64, serializer: S) -> Result<S::Ok, S::Error> {
        Time {
            nanoseconds_since_epoch: *ns,
        }
        .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
        Ok(Time::deserialize(deserializer)?.nanoseconds_since_epoch)
    }
}

/// Serde for a duration as `{nanoseconds: n}`.
mod nanoseconds {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Duration {
        nanoseconds: i64,
    }

    pub fn serialize<S: Serializer>(ns: &i64, serializer: S) -> Result<S::Ok, S::Error> {
        Duration { nanoseconds: *ns }.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
        Ok(Duration::deserialize(deserializer)?.nanoseconds)
    }
}

/// Serde for `offered_qos_profiles`: written as a YAML list (version 9); read from a list, from
/// the YAML text of one (before version 9), or from nothing (an empty string or `~`).
pub mod offered_qos_profiles {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::node::QosProfile;

    /// Writes the profiles as a YAML list.
    pub fn serialize<S: Serializer>(
        profiles: &[QosProfile],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        profiles.serialize(serializer)
    }

    /// Reads the profiles from a list or from YAML text.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<QosProfile>, D::Error> {
        match Option::<serde_yaml::Value>::deserialize(deserializer)? {
            None => Ok(Vec::new()),
            Some(serde_yaml::Value::String(text)) => {
                from_yaml(&text).map_err(serde::de::Error::custom)
            }
            Some(value) => Vec::<QosProfile>::deserialize(value)
                .map_err(|e| serde::de::Error::custom(format!("offered_qos_profiles: {e}"))),
        }
    }

    /// The profiles as the YAML text rosbag2 stores in an MCAP channel's metadata (no final
    /// newline).
    pub fn to_yaml(profiles: &[QosProfile]) -> String {
        if profiles.is_empty() {
            return String::new();
        }
        let text = serde_yaml::to_string(profiles).unwrap_or_default();
        text.trim_end_matches('\n').to_string()
    }

    /// Profiles from YAML text (a list; empty text is none).
    pub fn from_yaml(text: &str) -> Result<Vec<QosProfile>, String> {
        if text.trim().is_empty() {
            return Ok(Vec::new());
        }
        serde_yaml::from_str::<Option<Vec<QosProfile>>>(text)
            .map(Option::unwrap_or_default)
            .map_err(|e| format!("offered_qos_profiles: {e}"))
    }
}

impl Metadata {
    /// Reads and checks `path` (a `metadata.yaml`).
    ///
    /// Only a regular file is read (a FIFO would block), of at most [`MAX_METADATA_BYTES`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        use std::io::Read;
        let path = path.as_ref();
        let size = check_regular_file(path)?.len();
        if size > MAX_METADATA_BYTES {
            return Err(BagError::Metadata {
                path: path.to_path_buf(),
                reason: format!(
                    "the file holds {size} bytes, more than the {MAX_METADATA_BYTES} a metadata.yaml may have"
                ),
            });
        }
        let mut text = String::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_METADATA_BYTES).read_to_string(&mut text))
            .map_err(|e| BagError::io(path, e))?;
        Self::parse(path, &text)
    }

    /// Parses the text of a `metadata.yaml`; `path` names it in errors.
    pub fn parse(path: impl AsRef<Path>, text: &str) -> Result<Self> {
        let path = path.as_ref();
        let fail = |reason: String| BagError::Metadata {
            path: path.to_path_buf(),
            reason,
        };
        // serde_yaml quotes the file's text in its messages: escape and cap it.
        let doc: Document<Self> =
            serde_yaml::from_str(text).map_err(|e| fail(untrusted::message(&e.to_string())))?;
        let mut metadata = doc.rosbag2_bagfile_information;
        metadata.path = path.to_path_buf();
        if metadata.version == 0 || metadata.version > MAX_VERSION {
            return Err(fail(format!(
                "rosbag2_bagfile_information.version: {} is not a version rosync reads (1 to {MAX_VERSION})",
                metadata.version
            )));
        }
        if metadata.relative_file_paths.is_empty() {
            return Err(fail(
                "rosbag2_bagfile_information.relative_file_paths: the bag lists no file".into(),
            ));
        }
        if !matches!(metadata.storage_identifier.as_str(), "sqlite3" | "mcap") {
            return Err(fail(format!(
                "rosbag2_bagfile_information.storage_identifier: {} is not supported (rosync reads \"sqlite3\" and \"mcap\")",
                quoted(&metadata.storage_identifier)
            )));
        }
        if metadata.is_compressed() {
            return Err(fail(format!(
                "rosbag2_bagfile_information.compression_mode: compressed bags ({} compression of each {}) are not supported; decompress with `ros2 bag convert`",
                quoted(&metadata.compression_format),
                quoted(&metadata.compression_mode.to_lowercase())
            )));
        }
        metadata.check_paths().map_err(fail)?;
        metadata.check_times().map_err(fail)?;
        Ok(metadata)
    }

    /// The text of this metadata as `metadata.yaml`.
    pub fn to_yaml(&self) -> String {
        let doc = Document {
            rosbag2_bagfile_information: self,
        };
        // Plain data with string keys: serializing cannot fail.
        serde_yaml::to_string(&doc).unwrap_or_default()
    }

    /// Writes this metadata to [`path`](Self::path) through a temporary file, so a reader never
    /// sees half of it.
    pub fn write(&self) -> Result<()> {
        let tmp = self.path.with_extension("yaml.tmp");
        std::fs::write(&tmp, self.to_yaml()).map_err(|e| BagError::io(&tmp, e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| BagError::io(&self.path, e))
    }

    /// Whether the bag's files or messages are compressed (`compression_mode` FILE or MESSAGE).
    pub fn is_compressed(&self) -> bool {
        !matches!(
            self.compression_mode.to_ascii_uppercase().as_str(),
            "" | "NONE"
        )
    }

    /// The folder holding the bag (the one holding `metadata.yaml`).
    pub fn folder(&self) -> &Path {
        match self.path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        }
    }

    /// Checks that every file the bag lists is a plain relative path (not empty, not absolute,
    /// no `..`), so the bag cannot name a file outside its folder.
    fn check_paths(&self) -> std::result::Result<(), String> {
        let listed = self
            .relative_file_paths
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("relative_file_paths[{i}]"), p))
            .chain(
                self.files
                    .iter()
                    .enumerate()
                    .map(|(i, f)| (format!("files[{i}].path"), &f.path)),
            );
        for (field, relative) in listed {
            let path = Path::new(relative);
            let why = if relative.is_empty() {
                "is empty"
            } else if path.has_root() || path.is_absolute() {
                "is an absolute path"
            } else if path.components().any(|c| c == Component::ParentDir) {
                "leaves the bag folder (it has a `..` component)"
            } else if path
                .components()
                .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
            {
                "is not a plain relative path"
            } else {
                continue;
            };
            return Err(format!(
                "rosbag2_bagfile_information.{field}: {} {why}; a bag's files must be inside its folder",
                quoted(relative)
            ));
        }
        Ok(())
    }

    /// Checks that times and durations are not negative and the end time is representable.
    fn check_times(&self) -> std::result::Result<(), String> {
        let spans = std::iter::once((String::new(), self.starting_time_ns, self.duration_ns))
            .chain(
                self.files
                    .iter()
                    .enumerate()
                    .map(|(i, f)| (format!("files[{i}]."), f.starting_time_ns, f.duration_ns)),
            );
        for (field, start, duration) in spans {
            let why = if start < 0 {
                format!("starting_time: {start} ns is before 1970")
            } else if duration < 0 {
                format!("duration: {duration} ns is negative")
            } else if start.checked_add(duration).is_none() {
                format!(
                    "duration: {duration} ns after a starting_time of {start} ns ends after the year 2262"
                )
            } else {
                continue;
            };
            return Err(format!("rosbag2_bagfile_information.{field}{why}"));
        }
        Ok(())
    }

    /// The bag's files as paths, each checked to exist inside the bag folder (a symlink that
    /// resolves outside it is refused) and to be a regular file; a missing or refused one is
    /// an error naming it.
    pub fn file_paths(&self) -> Result<Vec<PathBuf>> {
        let folder = self.folder();
        let fail = |reason: String| BagError::Metadata {
            path: self.path.clone(),
            reason,
        };
        let inside = std::fs::canonicalize(folder).map_err(|e| BagError::io(folder, e))?;
        self.relative_file_paths
            .iter()
            .map(|relative| {
                let direct = folder.join(relative);
                // Before version 4, rosbag2 wrote paths relative to the folder's parent.
                let legacy = folder
                    .parent()
                    .map(|parent| parent.join(relative))
                    .filter(|legacy| self.version < 4 && !direct.exists() && legacy.exists());
                let file = legacy.unwrap_or(direct);
                let Ok(resolved) = std::fs::canonicalize(&file) else {
                    return Err(fail(format!(
                        "rosbag2_bagfile_information.relative_file_paths lists {}, which does not exist in {}",
                        quoted(relative),
                        folder.display()
                    )));
                };
                if !resolved.starts_with(&inside) {
                    return Err(fail(format!(
                        "rosbag2_bagfile_information.relative_file_paths lists {}, which resolves to {}, outside the bag folder {} (through a symbolic link); rosync reads only files inside a bag's folder",
                        quoted(relative),
                        quoted(&resolved.to_string_lossy()),
                        inside.display()
                    )));
                }
                check_regular_file(&file)?;
                Ok(file)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V4: &str = "rosbag2_bagfile_information:
  version: 4
  storage_identifier: sqlite3
  relative_file_paths:
    - bag_0.db3
  duration:
    nanoseconds: 5
  starting_time:
    nanoseconds_since_epoch: 10
  message_count: 2
  topics_with_message_count:
    - topic_metadata:
        name: /chatter
        type: std_msgs/msg/String
        serialization_format: cdr
        offered_qos_profiles: \"- history: 3\\n  depth: 0\\n\"
      message_count: 2
  compression_format: \"\"
  compression_mode: \"\"
";

    #[test]
    fn version_4_with_qos_as_a_string() {
        let m = Metadata::parse("b/metadata.yaml", V4).expect("parses");
        assert_eq!(m.version, 4);
        assert_eq!(m.storage_identifier, "sqlite3");
        assert_eq!(m.relative_file_paths, ["bag_0.db3"]);
        assert_eq!(
            (m.starting_time_ns, m.duration_ns, m.message_count),
            (10, 5, 2)
        );
        assert_eq!(m.topics[0].name, "/chatter");
        assert_eq!(m.topics[0].type_name, "std_msgs/msg/String");
        let qos = &m.topics[0].offered_qos_profiles;
        assert_eq!(qos.len(), 1);
        assert_eq!(qos[0].history, crate::node::History::Unknown);
        assert_eq!(qos[0].depth, 0);
        assert_eq!(m.topics[0].type_description_hash, "");
        assert!(m.files.is_empty());
    }

    #[test]
    fn errors_name_the_file_and_field() {
        let err = Metadata::parse(
            "b/metadata.yaml",
            &V4.replace("  storage_identifier: sqlite3\n", ""),
        )
        .expect_err("missing field");
        let text = err.to_string();
        assert!(
            text.contains("b/metadata.yaml") && text.contains("storage_identifier"),
            "{text}"
        );

        let err = Metadata::parse("b/metadata.yaml", &V4.replace("sqlite3", "rosbag_v1"))
            .expect_err("bad storage");
        assert!(err.to_string().contains("storage_identifier"), "{err}");

        let err = Metadata::parse("b/metadata.yaml", &V4.replace("version: 4", "version: 42"))
            .expect_err("bad version");
        assert!(err.to_string().contains("version: 42"), "{err}");

        let err = Metadata::parse(
            "b/metadata.yaml",
            &V4.replace("compression_mode: \"\"", "compression_mode: FILE")
                .replace("compression_format: \"\"", "compression_format: zstd"),
        )
        .expect_err("compressed");
        assert!(err.to_string().contains("compress"), "{err}");

        let err = Metadata::parse("b/metadata.yaml", "{{{ not yaml").expect_err("garbage");
        assert!(err.to_string().contains("b/metadata.yaml"), "{err}");
    }

    #[test]
    fn times_counts_and_versions_near_integer_limits_are_checked_not_trusted() {
        let field = |from: &str, to: &str| V4.replace(from, to);
        for (text, named) in [
            (
                field("nanoseconds: 5", "nanoseconds: -5"),
                "duration: -5 ns is negative",
            ),
            (
                field("nanoseconds_since_epoch: 10", "nanoseconds_since_epoch: -1"),
                "starting_time: -1 ns is before 1970",
            ),
            (
                field(
                    "nanoseconds_since_epoch: 10",
                    "nanoseconds_since_epoch: 9223372036854775807",
                ),
                "ends after the year 2262",
            ),
            (
                field("nanoseconds: 5", "nanoseconds: 9223372036854775808"),
                "duration",
            ),
            (
                field("message_count: 2\n  topics", "message_count: -2\n  topics"),
                "message_count",
            ),
            (
                field(
                    "message_count: 2\n  topics",
                    "message_count: 18446744073709551616\n  topics",
                ),
                "message_count",
            ),
            (field("version: 4", "version: 4294967296"), "version"),
            (field("version: 4", "version: -4"), "version"),
            (field("nanoseconds: 5", "nanoseconds: 1e300"), "duration"),
        ] {
            let err = Metadata::parse("b/metadata.yaml", &text).expect_err(named);
            let message = err.to_string();
            assert!(
                message.contains("b/metadata.yaml") && message.contains(named),
                "{named}: {message}"
            );
        }
        // The largest values that fit are read as they are.
        let m = Metadata::parse(
            "b/metadata.yaml",
            &field(
                "message_count: 2\n  topics",
                "message_count: 18446744073709551615\n  topics",
            )
            .replace("nanoseconds: 5", "nanoseconds: 9223372036854775797"),
        )
        .expect("parses");
        assert_eq!((m.message_count, m.duration_ns), (u64::MAX, i64::MAX - 10));
    }

    #[test]
    fn listed_files_must_be_plain_relative_paths() {
        for (path, why) in [
            ("/etc/passwd", "absolute"),
            ("../x.db3", "`..`"),
            ("a/../../x.db3", "`..`"),
            ("", "empty"),
        ] {
            let text = V4.replace("    - bag_0.db3", &format!("    - {path:?}"));
            let err = Metadata::parse("b/metadata.yaml", &text).expect_err(path);
            let message = err.to_string();
            assert!(
                message.contains("relative_file_paths[0]") && message.contains(why),
                "{path}: {message}"
            );
        }
        for path in ["bag_0.db3", "./sub/bag_0.db3", "b/bag_0.db3"] {
            let text = V4.replace("    - bag_0.db3", &format!("    - {path:?}"));
            Metadata::parse("b/metadata.yaml", &text).expect(path);
        }
    }

    const V9: &str = "rosbag2_bagfile_information:
  version: 9
  storage_identifier: mcap
  duration:
    nanoseconds: 20
  starting_time:
    nanoseconds_since_epoch: 100
  message_count: 3
  topics_with_message_count:
  - topic_metadata:
      name: /chatter
      type: std_msgs/msg/String
      serialization_format: cdr
      offered_qos_profiles:
      - history: keep_last
        depth: 5
        reliability: best_effort
        durability: transient_local
        deadline:
          sec: 9223372036
          nsec: 854775807
        lifespan:
          sec: 9223372036
          nsec: 854775807
        liveliness: automatic
        liveliness_lease_duration:
          sec: 9223372036
          nsec: 854775807
        avoid_ros_namespace_conventions: false
      type_description_hash: RIHS01_ab
    message_count: 3
  compression_format: ''
  compression_mode: ''
  relative_file_paths:
  - b_0.mcap
  files:
  - path: b_0.mcap
    starting_time:
      nanoseconds_since_epoch: 100
    duration:
      nanoseconds: 20
    message_count: 3
  custom_data: null
  ros_distro: rosync
";

    #[test]
    fn version_9_reads_and_writes_back_the_same_text() {
        let m = Metadata::parse("b/metadata.yaml", V9).expect("parses");
        let qos = &m.topics[0].offered_qos_profiles;
        assert_eq!(
            qos.as_slice(),
            [QosProfile {
                reliability: crate::node::Reliability::BestEffort,
                durability: crate::node::Durability::TransientLocal,
                ..QosProfile::default().keep_last(5)
            }]
        );
        assert_eq!(m.files[0].message_count, 3);
        assert_eq!(m.files[0].starting_time_ns, 100);
        assert_eq!(m.to_yaml(), V9);
    }

    #[test]
    fn qos_as_text_and_as_a_list_read_the_same() {
        let list = Metadata::parse("b/metadata.yaml", V9).expect("parses");
        let text = offered_qos_profiles::to_yaml(&list.topics[0].offered_qos_profiles);
        let mut doc: serde_yaml::Value = serde_yaml::from_str(V9).expect("yaml");
        doc["rosbag2_bagfile_information"]["topics_with_message_count"][0]["topic_metadata"]
            ["offered_qos_profiles"] = serde_yaml::Value::String(text);
        let as_text = serde_yaml::to_string(&doc).expect("yaml");
        let from_text = Metadata::parse("b/metadata.yaml", &as_text).expect("parses");
        assert_eq!(from_text.topics, list.topics);

        let bad = V9.replace("reliability: best_effort", "reliability: sometimes");
        let err = Metadata::parse("b/metadata.yaml", &bad).expect_err("bad QoS");
        let text = err.to_string();
        assert!(
            text.contains("b/metadata.yaml") && text.contains("reliability"),
            "{text}"
        );
    }
}
