//! [`open_regular_file`]: the one way the log readers open a file, refusing what is not a
//! regular file (a FIFO would block the reader forever, a device would never end).

use std::fs::File;
use std::path::Path;

use crate::bag::{BagError, Result};

/// Checks that `path` is a regular file (after symlinks), without opening it (opening a FIFO
/// for reading blocks until a writer appears), and returns its metadata.
pub(crate) fn check_regular_file(path: &Path) -> Result<std::fs::Metadata> {
    let metadata = std::fs::metadata(path).map_err(|e| BagError::io(path, e))?;
    if metadata.is_file() {
        return Ok(metadata);
    }
    Err(BagError::NotAFile {
        path: path.to_path_buf(),
        kind: kind_of(&metadata.file_type()).to_string(),
    })
}

/// Opens `path` for reading if it is a regular file; see [`check_regular_file`].
pub(crate) fn open_regular_file(path: &Path) -> Result<File> {
    check_regular_file(path)?;
    let file = File::open(path).map_err(|e| BagError::io(path, e))?;
    // The path may have been replaced between the check and the open: check what was opened.
    let metadata = file.metadata().map_err(|e| BagError::io(path, e))?;
    if !metadata.is_file() {
        return Err(BagError::NotAFile {
            path: path.to_path_buf(),
            kind: kind_of(&metadata.file_type()).to_string(),
        });
    }
    Ok(file)
}

fn kind_of(file_type: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if file_type.is_char_device() || file_type.is_block_device() {
            return "a device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a folder"
    } else {
        "another kind of file"
    }
}
