//! How every command ends on a damaged log: everything readable was used, each skipped chunk
//! was warned about as it was met (naming the file, offset and messages lost), and the command
//! exits with status 3 and one line saying what was lost.

use std::path::Path;

use crate::bag::{BagError, Damage};

/// Exit status of a command that finished on a damaged log, having used everything readable
/// (not 2, which clap gives a bad command line).
pub(crate) const DAMAGED_EXIT: u8 = 3;

/// A command finished on a damaged log (exit status 3); the message says what was lost.
#[derive(Debug)]
pub(crate) struct Damaged(pub(crate) String);

impl std::fmt::Display for Damaged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Damaged {}

/// What was lost from `log`: the chunks skipped, and damage found when it was opened (a
/// truncated end, a missing schema) that is not one of them; `None` if nothing.
pub(crate) fn lost(log: &Path, damage: &[&BagError], skipped: &[Damage]) -> Option<String> {
    let mut parts = Vec::new();
    if !skipped.is_empty() {
        let (known, unknown) = Damage::total_lost(skipped);
        let places: Vec<String> = skipped.iter().map(Damage::place).collect();
        parts.push(format!(
            "skipped {} damaged part{} ({}; {}{known} messages lost)",
            skipped.len(),
            if skipped.len() == 1 { "" } else { "s" },
            places.join(", "),
            if unknown { "at least " } else { "" },
        ));
    }
    for d in damage {
        let listed = matches!(d, BagError::Corrupt { path, offset, .. }
            if skipped.iter().any(|s| s.file == *path && s.offset() == Some(*offset)));
        if !listed {
            parts.push(d.to_string());
        }
    }
    (!parts.is_empty()).then(|| format!("{}: damaged log: {}", log.display(), parts.join("; ")))
}

/// Ends a command: status 3 with what was lost and what was done anyway, else success.
pub(crate) fn finish(
    log: &Path,
    damage: &[&BagError],
    skipped: &[Damage],
    done: &str,
) -> super::CliResult {
    match lost(log, damage, skipped) {
        Some(lost) => Err(Box::new(Damaged(format!("{lost}; {done}")))),
        None => Ok(()),
    }
}
