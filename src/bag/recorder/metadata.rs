//! The recording's `metadata.yaml`: a [`rosbag2::Metadata`] (version 9) describing the files
//! written and the topics recorded.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::topic::RecordedTopic;
use crate::bag::rosbag2::{self, FileInfo, Metadata, TopicMetadata, TopicWithCount};

/// The metadata of a recording into `folder` of `files` (closed, in order) and `topics`.
/// A file without messages is given the bag's starting time and no duration.
pub(crate) fn bag_metadata(
    folder: &Path,
    files: &[FileInfo],
    topics: &[Arc<RecordedTopic>],
) -> Metadata {
    let with_messages = || files.iter().filter(|f| f.message_count > 0);
    let start = with_messages()
        .map(|f| f.starting_time_ns)
        .min()
        .unwrap_or(0);
    let end = with_messages()
        .map(|f| f.starting_time_ns.saturating_add(f.duration_ns))
        .max()
        .unwrap_or(0);
    let files: Vec<FileInfo> = files
        .iter()
        .map(|f| match f.message_count {
            0 => FileInfo {
                starting_time_ns: start,
                duration_ns: 0,
                ..f.clone()
            },
            _ => f.clone(),
        })
        .collect();
    Metadata {
        path: folder.join("metadata.yaml"),
        version: rosbag2::WRITE_VERSION,
        storage_identifier: "mcap".into(),
        duration_ns: end.saturating_sub(start).max(0),
        starting_time_ns: start,
        message_count: files.iter().map(|f| f.message_count).sum(),
        topics: topics
            .iter()
            .map(|t| TopicWithCount {
                topic_metadata: TopicMetadata {
                    name: t.name.clone(),
                    type_name: t.type_name.clone(),
                    serialization_format: "cdr".into(),
                    offered_qos_profiles: t.qos.clone(),
                    type_description_hash: t.type_hash.clone(),
                },
                message_count: t.written.load(Ordering::Relaxed),
            })
            .collect(),
        compression_format: String::new(),
        compression_mode: String::new(),
        relative_file_paths: files.iter().map(|f| f.path.clone()).collect(),
        files,
        custom_data: None,
        ros_distro: "rosync".into(),
    }
}
