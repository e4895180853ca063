//! [`recover`]: rewrites every readable message of a damaged log into a clean, indexed one;
//! [`recover_folder`] does it for each file of a rosbag2 folder.

use std::path::{Path, PathBuf};

use super::rosbag2::{self, offered_qos_profiles, FileInfo, Metadata, TopicMetadata};
use super::types::widen_span;
use crate::bag::{BagError, BagReader, BagWriter, Damage, Log, Result, TopicId, WriterOptions};

/// What [`recover`] did.
#[derive(Debug)]
pub struct RecoveryReport {
    /// The damaged file.
    pub input: PathBuf,
    /// The clean file written.
    pub output: PathBuf,
    /// Messages copied into `output`.
    pub messages_recovered: u64,
    /// Topics copied.
    pub topics: usize,
    /// What was wrong with `input` (`None`: it was intact, and was simply copied).
    pub damage: Option<BagError>,
    /// Damaged chunks skipped (found when `input` was scanned, or while copying), each with
    /// the messages lost where known.
    pub skipped: Vec<Damage>,
    /// Time range of the recovered messages (ns), if any.
    pub time_range: Option<(u64, u64)>,
}

impl RecoveryReport {
    /// Whether everything in `input` was saved: no damage, nothing skipped.
    pub fn is_complete(&self) -> bool {
        self.damage.is_none() && self.skipped.is_empty()
    }
}

/// Copies every recoverable message of `input` (in log-time order, with its channel's schema
/// and metadata unchanged) into a new, finished and indexed MCAP file at `output`.
///
/// Fails if `input` cannot be opened at all (see [`BagReader::open`]) or `output` cannot be
/// written; damage inside `input` is reported in the [`RecoveryReport`].
pub fn recover(input: impl AsRef<Path>, output: impl AsRef<Path>) -> Result<RecoveryReport> {
    recover_with(input, output, WriterOptions::default())
}

/// [`recover`] with the given writer options for `output`.
pub fn recover_with(
    input: impl AsRef<Path>,
    output: impl AsRef<Path>,
    options: WriterOptions,
) -> Result<RecoveryReport> {
    let reader = BagReader::open(input.as_ref())?;
    if input.as_ref().canonicalize().ok() == output.as_ref().canonicalize().ok()
        && output.as_ref().exists()
    {
        return Err(BagError::Write {
            path: output.as_ref().to_path_buf(),
            reason: "the output would overwrite the input".into(),
        });
    }
    let mut writer = BagWriter::create(output.as_ref(), options)?;
    let mut ids = std::collections::HashMap::<u16, TopicId>::new();
    let topics = reader.topics();
    for t in &topics {
        let id = writer.add_channel(
            &t.topic,
            &t.type_name,
            &t.schema_encoding,
            t.definition.as_bytes(),
            &t.message_encoding,
            &t.metadata,
        )?;
        ids.insert(t.channel_id, id);
    }
    let mut messages = reader.messages();
    let mut time_range: Option<(u64, u64)> = None;
    for message in &mut messages {
        // An error here means the file cannot be read any more.
        let m = message?;
        if let Some(id) = ids.get(&m.channel_id) {
            writer.write(*id, m.log_time, m.publish_time, &m.data)?;
            time_range = widen_span(time_range, m.log_time);
        }
    }
    let skipped = messages.skipped().to_vec();
    let summary = writer.finish()?;
    Ok(RecoveryReport {
        input: reader.path().to_path_buf(),
        output: summary.path,
        messages_recovered: summary.messages,
        topics: topics.len(),
        damage: reader.into_damage(),
        skipped,
        time_range,
    })
}

/// What [`recover_folder`] did.
#[derive(Debug)]
pub struct FolderRecovery {
    /// The folder written, with its `metadata.yaml`.
    pub output: PathBuf,
    /// One report per file recovered, in the bag's order.
    pub files: Vec<RecoveryReport>,
    /// Files that could not be opened at all, or are not MCAP (nothing of them was saved).
    pub unreadable: Vec<BagError>,
}

impl FolderRecovery {
    /// Whether everything in the input folder was saved.
    pub fn is_complete(&self) -> bool {
        self.unreadable.is_empty() && self.files.iter().all(RecoveryReport::is_complete)
    }
}

/// Recovers each MCAP file of a rosbag2 folder (the files its `metadata.yaml` lists, else
/// every `.mcap` file in it) with [`recover`] into a new folder `output` of files with the
/// same names, and writes a `metadata.yaml` for them (version 9, as the recorder does: topics
/// with their QoS profiles and type hashes, files with their counts and times). A file that
/// cannot be opened at all is reported in [`FolderRecovery::unreadable`].
///
/// Fails if `input` is not a folder of MCAP files, none of them can be opened, or `output`
/// exists or cannot be written.
pub fn recover_folder(input: impl AsRef<Path>, output: impl AsRef<Path>) -> Result<FolderRecovery> {
    let (input, output) = (input.as_ref(), output.as_ref());
    let yaml = input.join("metadata.yaml");
    let old = if yaml.is_file() {
        Some(Metadata::open(&yaml)?)
    } else {
        None
    };
    let files = match &old {
        Some(m) if m.storage_identifier != "mcap" => {
            return Err(BagError::Metadata {
                path: yaml,
                reason: format!(
                    "storage_identifier {}: recover rewrites MCAP bags only",
                    super::untrusted::quoted(&m.storage_identifier)
                ),
            })
        }
        Some(m) => m.file_paths()?,
        None => {
            let mut files: Vec<PathBuf> = std::fs::read_dir(input)
                .map_err(|e| BagError::io(input, e))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "mcap" || x == "db3"))
                .collect();
            files.sort();
            files
        }
    };
    // A sqlite3 file in a folder of MCAP files is not rewritten: say so, never drop it silently.
    let (files, sqlite): (Vec<PathBuf>, Vec<PathBuf>) = files
        .into_iter()
        .partition(|p| p.extension().is_none_or(|x| x != "db3"));
    if files.is_empty() {
        return Err(BagError::NotMcap {
            path: input.to_path_buf(),
            reason: "the folder holds no metadata.yaml or .mcap file to recover".into(),
        });
    }
    if output.exists() {
        return Err(BagError::Write {
            path: output.to_path_buf(),
            reason: "the output folder already exists".into(),
        });
    }
    std::fs::create_dir_all(output).map_err(|e| BagError::io(output, e))?;
    let mut report = FolderRecovery {
        output: output.to_path_buf(),
        files: Vec::new(),
        unreadable: sqlite
            .into_iter()
            .map(|path| BagError::NotMcap {
                path,
                reason: "a rosbag2 sqlite3 file: recover rewrites MCAP files only".into(),
            })
            .collect(),
    };
    for file in &files {
        let Some(name) = file.file_name() else {
            continue;
        };
        match recover(file, output.join(name)) {
            Ok(r) => report.files.push(r),
            Err(e) if e.path() == file.as_path() => report.unreadable.push(e),
            Err(e) => return Err(e),
        }
    }
    if report.files.is_empty() && !report.unreadable.is_empty() {
        // Nothing could be read: there is no bag to describe.
        return Err(report.unreadable.swap_remove(0));
    }
    folder_metadata(output, &report.files, old.as_ref())?.write()?;
    Ok(report)
}

/// The `metadata.yaml` of a recovered folder: the recovered files and their topics, with the
/// QoS profiles and type hashes of the old metadata (else of the files' channels).
fn folder_metadata(
    output: &Path,
    files: &[RecoveryReport],
    old: Option<&Metadata>,
) -> Result<Metadata> {
    let to_i64 = |ns: u64| i64::try_from(ns).unwrap_or(i64::MAX);
    let infos: Vec<FileInfo> = files
        .iter()
        .map(|r| {
            let (start, end) = r.time_range.unwrap_or((0, 0));
            FileInfo {
                path: r
                    .output
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                starting_time_ns: to_i64(start),
                duration_ns: to_i64(end.saturating_sub(start)),
                message_count: r.messages_recovered,
            }
        })
        .collect();
    let ranges: Vec<(u64, u64)> = files.iter().filter_map(|r| r.time_range).collect();
    let start = ranges.iter().map(|r| r.0).min().unwrap_or(0);
    let end = ranges.iter().map(|r| r.1).max().unwrap_or(0);
    let mut topics = Vec::new();
    if !files.is_empty() {
        let log = Log::open(output)?;
        for t in log.topics() {
            let known = old.and_then(|m| {
                m.topics
                    .iter()
                    .find(|k| k.topic_metadata.name == t.topic)
                    .map(|k| k.topic_metadata.clone())
            });
            let topic_metadata = known.unwrap_or_else(|| TopicMetadata {
                name: t.topic.clone(),
                type_name: t.type_name.clone(),
                serialization_format: t.message_encoding.clone(),
                offered_qos_profiles: t
                    .metadata
                    .get("offered_qos_profiles")
                    .and_then(|text| offered_qos_profiles::from_yaml(text).ok())
                    .unwrap_or_default(),
                type_description_hash: t.type_hash.clone().unwrap_or_default(),
            });
            topics.push(rosbag2::TopicWithCount {
                topic_metadata,
                message_count: t.message_count,
            });
        }
    }
    Ok(Metadata {
        path: output.join("metadata.yaml"),
        version: rosbag2::WRITE_VERSION,
        storage_identifier: "mcap".into(),
        duration_ns: to_i64(end.saturating_sub(start)),
        starting_time_ns: to_i64(start),
        message_count: infos.iter().map(|f| f.message_count).sum(),
        topics,
        compression_format: String::new(),
        compression_mode: String::new(),
        relative_file_paths: infos.iter().map(|f| f.path.clone()).collect(),
        files: infos,
        custom_data: old.and_then(|m| m.custom_data.clone()),
        ros_distro: old.map_or_else(|| "rosync".to_string(), |m| m.ros_distro.clone()),
    })
}
