//! A rosbag2 folder's `metadata.yaml` (`rosbag2_bagfile_information`), as written by
//! `ros2 bag record` and Python `rosbags`, versions 4 to 9.
//!
//! What rosync uses: `version`, `storage_identifier` (`sqlite3` or `mcap`),
//! `relative_file_paths` (relative to the folder), `topics_with_message_count`
//! (`topic_metadata{name, type, serialization_format, offered_qos_profiles,
//! type_description_hash}` and `message_count`), `starting_time`, `duration`, `message_count`
//! and the compression fields. Fields added by later versions (`files` in 5,
//! `custom_data` in 6, `type_description_hash` in 7, `ros_distro` in 8) are optional; the
//! QoS profiles are a YAML string before version 9 and a YAML list from 9 on, and are kept as
//! text either way.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::error::{BagError, Result};

/// The newest `metadata.yaml` version rosync reads.
pub const MAX_VERSION: u32 = 9;

/// One topic of a rosbag2 bag, from `topics_with_message_count`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicWithCount {
    /// The topic name.
    pub name: String,
    /// Its type (`pkg/msg/Type`).
    pub type_name: String,
    /// Its serialization format (`cdr`).
    pub serialization_format: String,
    /// The offered QoS profiles as YAML text (empty when absent).
    pub offered_qos_profiles: String,
    /// The REP-2016 type hash (`RIHS01_...`), empty before version 7.
    pub type_description_hash: String,
    /// Messages on the topic.
    pub message_count: u64,
}

/// One entry of `files` (version 5 on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    /// The file, relative to the folder.
    pub path: String,
    /// Log time of its first message (ns).
    pub starting_time_ns: i64,
    /// Time from its first to its last message (ns).
    pub duration_ns: i64,
    /// Messages in it.
    pub message_count: u64,
}

/// A parsed `metadata.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// The `metadata.yaml` file read.
    pub path: PathBuf,
    /// The format version (1 to [`MAX_VERSION`]).
    pub version: u32,
    /// The storage plugin: `sqlite3` or `mcap`.
    pub storage_identifier: String,
    /// The bag's files, relative to its folder, in recording order.
    pub relative_file_paths: Vec<String>,
    /// Per-file details (version 5 on; empty before).
    pub files: Vec<FileInfo>,
    /// Log time of the first message (ns).
    pub starting_time_ns: i64,
    /// Time from the first to the last message (ns).
    pub duration_ns: i64,
    /// Messages in the bag.
    pub message_count: u64,
    /// The topics, in file order.
    pub topics: Vec<TopicWithCount>,
    /// `zstd` for compressed bags, empty otherwise.
    pub compression_format: String,
    /// `FILE`, `MESSAGE`, or empty / `NONE`.
    pub compression_mode: String,
    /// The ROS distribution that recorded the bag (version 8 on; `rosbags` for Python rosbags).
    pub ros_distro: String,
}

#[derive(Deserialize)]
struct Document {
    rosbag2_bagfile_information: Raw,
}

#[derive(Deserialize)]
struct Raw {
    version: u32,
    storage_identifier: String,
    relative_file_paths: Vec<String>,
    topics_with_message_count: Vec<RawTopicWithCount>,
    #[serde(default)]
    files: Option<Vec<RawFile>>,
    #[serde(default)]
    starting_time: Option<RawTime>,
    #[serde(default)]
    duration: Option<RawDuration>,
    #[serde(default)]
    message_count: Option<u64>,
    #[serde(default)]
    compression_format: Option<String>,
    #[serde(default)]
    compression_mode: Option<String>,
    #[serde(default)]
    ros_distro: Option<String>,
}

#[derive(Deserialize)]
struct RawTopicWithCount {
    topic_metadata: RawTopic,
    message_count: u64,
}

#[derive(Deserialize)]
struct RawTopic {
    name: String,
    #[serde(rename = "type")]
    type_name: String,
    #[serde(default)]
    serialization_format: Option<String>,
    #[serde(default)]
    offered_qos_profiles: Option<serde_yaml::Value>,
    #[serde(default)]
    type_description_hash: Option<String>,
}

#[derive(Deserialize)]
struct RawFile {
    path: String,
    #[serde(default)]
    starting_time: Option<RawTime>,
    #[serde(default)]
    duration: Option<RawDuration>,
    #[serde(default)]
    message_count: Option<u64>,
}

#[derive(Deserialize)]
struct RawTime {
    nanoseconds_since_epoch: i64,
}

#[derive(Deserialize)]
struct RawDuration {
    nanoseconds: i64,
}

/// QoS profiles as text: a string stays as is, a list is written back as YAML.
fn qos_text(value: Option<serde_yaml::Value>) -> String {
    match value {
        None | Some(serde_yaml::Value::Null) => String::new(),
        Some(serde_yaml::Value::String(s)) => s,
        Some(serde_yaml::Value::Sequence(s)) if s.is_empty() => String::new(),
        Some(other) => serde_yaml::to_string(&other).unwrap_or_default(),
    }
}

impl Metadata {
    /// Reads and checks `path` (a `metadata.yaml`).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| BagError::io(path, e))?;
        Self::parse(path, &text)
    }

    /// Parses the text of a `metadata.yaml`; `path` names it in errors.
    pub fn parse(path: impl AsRef<Path>, text: &str) -> Result<Self> {
        let path = path.as_ref();
        let fail = |reason: String| BagError::Metadata {
            path: path.to_path_buf(),
            reason,
        };
        let doc: Document = serde_yaml::from_str(text).map_err(|e| fail(e.to_string()))?;
        let raw = doc.rosbag2_bagfile_information;
        if raw.version == 0 || raw.version > MAX_VERSION {
            return Err(fail(format!(
                "rosbag2_bagfile_information.version: {} is not a version rosync reads (1 to {MAX_VERSION})",
                raw.version
            )));
        }
        if raw.relative_file_paths.is_empty() {
            return Err(fail(
                "rosbag2_bagfile_information.relative_file_paths: the bag lists no file".into(),
            ));
        }
        let metadata = Self {
            path: path.to_path_buf(),
            version: raw.version,
            storage_identifier: raw.storage_identifier,
            relative_file_paths: raw.relative_file_paths,
            files: raw
                .files
                .unwrap_or_default()
                .into_iter()
                .map(|f| FileInfo {
                    path: f.path,
                    starting_time_ns: f.starting_time.map_or(0, |t| t.nanoseconds_since_epoch),
                    duration_ns: f.duration.map_or(0, |d| d.nanoseconds),
                    message_count: f.message_count.unwrap_or(0),
                })
                .collect(),
            starting_time_ns: raw.starting_time.map_or(0, |t| t.nanoseconds_since_epoch),
            duration_ns: raw.duration.map_or(0, |d| d.nanoseconds),
            topics: raw
                .topics_with_message_count
                .into_iter()
                .map(|t| TopicWithCount {
                    name: t.topic_metadata.name,
                    type_name: t.topic_metadata.type_name,
                    serialization_format: t.topic_metadata.serialization_format.unwrap_or_default(),
                    offered_qos_profiles: qos_text(t.topic_metadata.offered_qos_profiles),
                    type_description_hash: t
                        .topic_metadata
                        .type_description_hash
                        .unwrap_or_default(),
                    message_count: t.message_count,
                })
                .collect(),
            message_count: raw.message_count.unwrap_or(0),
            compression_format: raw.compression_format.unwrap_or_default(),
            compression_mode: raw.compression_mode.unwrap_or_default(),
            ros_distro: raw.ros_distro.unwrap_or_default(),
        };
        if !matches!(metadata.storage_identifier.as_str(), "sqlite3" | "mcap") {
            return Err(fail(format!(
                "rosbag2_bagfile_information.storage_identifier: {:?} is not supported (rosync reads \"sqlite3\" and \"mcap\")",
                metadata.storage_identifier
            )));
        }
        if metadata.is_compressed() {
            return Err(fail(format!(
                "rosbag2_bagfile_information.compression_mode: compressed bags ({} compression of each {}) are not supported; decompress with `ros2 bag convert`",
                metadata.compression_format,
                metadata.compression_mode.to_lowercase()
            )));
        }
        Ok(metadata)
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
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// The bag's files as paths, each checked to exist; a missing one is an error naming it.
    pub fn file_paths(&self) -> Result<Vec<PathBuf>> {
        let folder = self.folder();
        self.relative_file_paths
            .iter()
            .map(|relative| {
                let direct = folder.join(relative);
                if direct.is_file() {
                    return Ok(direct);
                }
                // Before version 4, rosbag2 wrote paths relative to the folder's parent.
                if let Some(parent) = folder.parent() {
                    let legacy = parent.join(relative);
                    if self.version < 4 && legacy.is_file() {
                        return Ok(legacy);
                    }
                }
                Err(BagError::Metadata {
                    path: self.path.clone(),
                    reason: format!(
                        "rosbag2_bagfile_information.relative_file_paths lists {relative}, but {} does not exist",
                        direct.display()
                    ),
                })
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
        assert_eq!(
            m.topics[0].offered_qos_profiles,
            "- history: 3\n  depth: 0\n"
        );
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
}
