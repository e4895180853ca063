//! Text from logs written by others (names, or a parser's message that may quote the file):
//! escaped and cut short before it goes into an error message, so an error never prints raw
//! bytes of a file. Files themselves are opened through [`regular_file`](super::regular_file).

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

/// A name read from a file (topic, type, encoding), as a message shows it: as is when it is a
/// plain name (letters, digits, `/_~-.:`) of at most [`QUOTE_CHARS`] characters, else
/// [`quoted`].
pub(crate) fn shown(name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_~-.:".contains(c));
    if plain && name.len() <= QUOTE_CHARS {
        name.to_string()
    } else {
        quoted(name)
    }
}
