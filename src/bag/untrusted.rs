//! Care for what comes from logs written by others: only regular files are opened (a FIFO
//! would block forever, a device never ends), and text from a file or from a parser that
//! quotes it is escaped and capped before it goes into an error message.

use std::path::Path;

use crate::bag::{BagError, Result};

/// Longest text from a file quoted in an error, in characters.
const QUOTE_CHARS: usize = 80;

/// Longest parser or driver message (which may quote the file) kept in an error, in characters.
const MESSAGE_CHARS: usize = 400;

/// `text` (from a file) in double quotes, with control characters and quotes escaped, cut to
/// [`QUOTE_CHARS`] characters with its full length said.
pub(crate) fn quoted(text: &str) -> String {
    format!("\"{}\"", escaped(text, QUOTE_CHARS))
}

/// A parser's or driver's message (which may quote bytes of the file), with control
/// characters escaped and cut to [`MESSAGE_CHARS`] characters.
pub(crate) fn message(text: &str) -> String {
    escaped(text, MESSAGE_CHARS)
}

fn escaped(text: &str, max_chars: usize) -> String {
    let mut out = String::new();
    for (count, c) in text.chars().enumerate() {
        if count == max_chars {
            out.push_str(&format!("... ({} bytes in all)", text.len()));
            break;
        }
        match c {
            '"' => out.push_str("\\\""),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

/// Checks that `path` (following symlinks) is a regular file, not a FIFO, socket, device or
/// folder, before anything opens it.
pub(crate) fn regular_file(path: &Path) -> Result<std::fs::Metadata> {
    let metadata = std::fs::metadata(path).map_err(|e| BagError::io(path, e))?;
    if metadata.is_file() {
        return Ok(metadata);
    }
    let kind = file_kind(&metadata.file_type());
    Err(BagError::io(
        path,
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("is {kind}, not a regular file; rosync reads logs only from regular files"),
        ),
    ))
}

fn file_kind(file_type: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_char_device() || file_type.is_block_device() {
            return "a device";
        }
    }
    if file_type.is_dir() {
        "a folder"
    } else {
        "not a regular file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_escape_control_characters_and_cap_the_length() {
        assert_eq!(quoted("a\"b\x1b[31m\n"), "\"a\\\"b\\u{1b}[31m\\n\"");
        let long = "x".repeat(1000);
        let q = quoted(&long);
        assert!(q.len() < 120 && q.contains("1000 bytes in all"), "{q}");
        assert_eq!(message("ok"), "ok");
    }

    #[test]
    fn only_regular_files_pass() {
        let dir = std::env::temp_dir().join(format!("rosync-untrusted-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("f");
        std::fs::write(&file, b"x").expect("write");
        assert!(regular_file(&file).is_ok());
        let err = regular_file(&dir).expect_err("a folder");
        assert!(err.to_string().contains("a folder"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
