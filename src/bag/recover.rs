//! [`recover`]: rewrites every readable message of a damaged log into a clean, indexed one.

use std::path::{Path, PathBuf};

use crate::bag::{BagError, BagReader, BagWriter, Result, TopicId, WriterOptions};

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
    /// Damaged chunks met while copying (each skipped, its messages lost).
    pub skipped: Vec<BagError>,
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
    let mut skipped = Vec::new();
    for message in reader.messages() {
        match message {
            Ok(m) => {
                if let Some(id) = ids.get(&m.channel_id) {
                    writer.write(*id, m.log_time, m.publish_time, &m.data)?;
                }
            }
            Err(err) => skipped.push(err),
        }
    }
    let summary = writer.finish()?;
    Ok(RecoveryReport {
        input: reader.path().to_path_buf(),
        output: summary.path,
        messages_recovered: summary.messages,
        topics: topics.len(),
        damage: reader.into_damage(),
        skipped,
    })
}
