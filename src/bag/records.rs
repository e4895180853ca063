//! Bounds-checked parsing of the MCAP records the reader needs, from untrusted bytes.
//!
//! The `mcap` crate's record parser trusts string lengths (it reserves what a corrupt length
//! claims) and can panic on a malformed attachment, so the reader parses record bodies here:
//! every length is checked against the bytes that remain, nothing panics, and nothing is
//! allocated by a length read from the file before it is checked. Chunks are decompressed
//! (zstd, lz4) and CRC-checked here too, so that a chunk whose header is damaged but whose
//! records pass the CRC is still read ([`chunk_records`]).

use std::collections::BTreeMap;

/// The 8 bytes every MCAP file starts and ends with.
pub(crate) const MAGIC: &[u8; 8] = b"\x89MCAP0\r\n";
/// Largest record or uncompressed chunk accepted (a corrupt length above it is an error).
pub(crate) const MAX_RECORD: u64 = 1 << 30;
/// Opcode + length prefix of every record.
pub(crate) const PREFIX: u64 = 9;

/// Record opcodes (MCAP specification).
pub(crate) mod op {
    pub const HEADER: u8 = 0x01;
    pub const FOOTER: u8 = 0x02;
    pub const SCHEMA: u8 = 0x03;
    pub const CHANNEL: u8 = 0x04;
    pub const MESSAGE: u8 = 0x05;
    pub const CHUNK: u8 = 0x06;
    pub const MESSAGE_INDEX: u8 = 0x07;
    pub const CHUNK_INDEX: u8 = 0x08;
    pub const STATISTICS: u8 = 0x0B;
    pub const SUMMARY_OFFSET: u8 = 0x0E;
    pub const DATA_END: u8 = 0x0F;
}

/// A cursor over a record body; every read checks what remains.
pub(crate) struct Cur<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cur<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&end| end <= self.buf.len());
        match end {
            Some(end) => {
                let out = &self.buf[self.pos..end];
                self.pos = end;
                Ok(out)
            }
            None => Err(format!(
                "{what} needs {n} bytes at byte {} of a {}-byte record",
                self.pos,
                self.buf.len()
            )),
        }
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], String> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    pub fn u8(&mut self, what: &str) -> Result<u8, String> {
        Ok(self.array::<1>(what)?[0])
    }

    pub fn u16(&mut self, what: &str) -> Result<u16, String> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    pub fn u32(&mut self, what: &str) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    pub fn u64(&mut self, what: &str) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    pub fn string(&mut self, what: &str) -> Result<String, String> {
        let len = self.u32(what)? as usize;
        let bytes = self.take(len, what)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| format!("{what} is not UTF-8"))
    }

    pub fn bytes_u32(&mut self, what: &str) -> Result<&'a [u8], String> {
        let len = self.u32(what)? as usize;
        self.take(len, what)
    }

    pub fn string_map(&mut self, what: &str) -> Result<BTreeMap<String, String>, String> {
        let len = self.u32(what)? as usize;
        let mut inner = Cur::new(self.take(len, what)?);
        let mut map = BTreeMap::new();
        while inner.pos < inner.buf.len() {
            let key = inner.string(what)?;
            let value = inner.string(what)?;
            map.insert(key, value);
        }
        Ok(map)
    }

    /// A `map<u16, u64>`.
    pub fn u16_u64_map(&mut self, what: &str) -> Result<BTreeMap<u16, u64>, String> {
        let len = self.u32(what)? as usize;
        let mut inner = Cur::new(self.take(len, what)?);
        let mut map = BTreeMap::new();
        while inner.pos < inner.buf.len() {
            let key = inner.u16(what)?;
            let value = inner.u64(what)?;
            map.insert(key, value);
        }
        Ok(map)
    }

    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }
}

/// A Header record.
pub(crate) struct Header {
    pub profile: String,
    pub library: String,
}

pub(crate) fn header(body: &[u8]) -> Result<Header, String> {
    let mut c = Cur::new(body);
    Ok(Header {
        profile: c.string("header profile")?,
        library: c.string("header library")?,
    })
}

/// A Footer record.
pub(crate) struct Footer {
    pub summary_start: u64,
    pub summary_crc: u32,
}

pub(crate) fn footer(body: &[u8]) -> Result<Footer, String> {
    let mut c = Cur::new(body);
    let summary_start = c.u64("footer summary start")?;
    let _summary_offset_start = c.u64("footer summary offset start")?;
    Ok(Footer {
        summary_start,
        summary_crc: c.u32("footer summary CRC")?,
    })
}

/// A Schema record.
#[derive(Debug, Clone)]
pub(crate) struct Schema {
    pub id: u16,
    pub name: String,
    pub encoding: String,
    pub data: Vec<u8>,
}

pub(crate) fn schema(body: &[u8]) -> Result<Schema, String> {
    let mut c = Cur::new(body);
    Ok(Schema {
        id: c.u16("schema id")?,
        name: c.string("schema name")?,
        encoding: c.string("schema encoding")?,
        data: c.bytes_u32("schema data")?.to_vec(),
    })
}

/// A Channel record.
#[derive(Debug, Clone)]
pub(crate) struct Channel {
    pub id: u16,
    pub schema_id: u16,
    pub topic: String,
    pub message_encoding: String,
    pub metadata: BTreeMap<String, String>,
}

pub(crate) fn channel(body: &[u8]) -> Result<Channel, String> {
    let mut c = Cur::new(body);
    Ok(Channel {
        id: c.u16("channel id")?,
        schema_id: c.u16("channel schema id")?,
        topic: c.string("channel topic")?,
        message_encoding: c.string("channel message encoding")?,
        metadata: c.string_map("channel metadata")?,
    })
}

/// A Message record's header; the payload follows it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MessageHeader {
    pub channel_id: u16,
    pub sequence: u32,
    pub log_time: u64,
    pub publish_time: u64,
}

pub(crate) fn message(body: &[u8]) -> Result<(MessageHeader, &[u8]), String> {
    let mut c = Cur::new(body);
    let header = MessageHeader {
        channel_id: c.u16("message channel id")?,
        sequence: c.u32("message sequence")?,
        log_time: c.u64("message log time")?,
        publish_time: c.u64("message publish time")?,
    };
    Ok((header, c.rest()))
}

/// A Chunk record's header fields the scanner needs.
pub(crate) struct ChunkHeader {
    pub start: u64,
}

pub(crate) fn chunk_header(body: &[u8]) -> Result<ChunkHeader, String> {
    let mut c = Cur::new(body);
    let start = c.u64("chunk start time")?;
    Ok(ChunkHeader { start })
}

/// A Chunk Index record.
pub(crate) struct ChunkIndex {
    pub start: u64,
    pub offset: u64,
    pub length: u64,
    pub channels: Vec<u16>,
    /// Offset and length of the chunk's Message Index records, if it has any.
    pub message_index: Option<(u64, u64)>,
}

pub(crate) fn chunk_index(body: &[u8]) -> Result<ChunkIndex, String> {
    let mut c = Cur::new(body);
    let start = c.u64("chunk index start time")?;
    let _end = c.u64("chunk index end time")?;
    let offset = c.u64("chunk index chunk offset")?;
    let length = c.u64("chunk index chunk length")?;
    let offsets = c.u16_u64_map("chunk index message index offsets")?;
    let message_index_length = c.u64("chunk index message index length")?;
    let message_index = offsets
        .values()
        .min()
        .map(|&first| (first, message_index_length));
    Ok(ChunkIndex {
        start,
        offset,
        length,
        channels: offsets.into_keys().collect(),
        message_index,
    })
}

/// A Statistics record.
pub(crate) struct Statistics {
    pub message_count: u64,
    pub start: u64,
    pub end: u64,
    pub channel_message_counts: BTreeMap<u16, u64>,
}

pub(crate) fn statistics(body: &[u8]) -> Result<Statistics, String> {
    let mut c = Cur::new(body);
    let message_count = c.u64("statistics message count")?;
    let _schemas = c.u16("statistics schema count")?;
    let _channels = c.u32("statistics channel count")?;
    let _attachments = c.u32("statistics attachment count")?;
    let _metadata = c.u32("statistics metadata count")?;
    let _chunks = c.u32("statistics chunk count")?;
    let start = c.u64("statistics start time")?;
    let end = c.u64("statistics end time")?;
    let len = c.u32("statistics channel message counts")? as usize;
    let mut inner = Cur::new(c.take(len, "statistics channel message counts")?);
    let mut channel_message_counts = BTreeMap::new();
    while inner.pos < inner.buf.len() {
        let id = inner.u16("statistics channel id")?;
        let count = inner.u64("statistics channel count")?;
        channel_message_counts.insert(id, count);
    }
    Ok(Statistics {
        message_count,
        start,
        end,
        channel_message_counts,
    })
}

/// How many messages the Message Index records in `bytes` list, counting only the channels
/// `keep` accepts (each entry is a log time and an offset: 16 bytes).
pub(crate) fn message_index_entries(
    bytes: &[u8],
    keep: impl Fn(u16) -> bool,
) -> Result<u64, String> {
    let mut count = 0u64;
    for record in split_records(bytes) {
        let (_, opcode, body) = record?;
        if opcode != op::MESSAGE_INDEX {
            continue;
        }
        let mut c = Cur::new(body);
        let channel = c.u16("message index channel id")?;
        let entries = c.u32("message index entries")?;
        if keep(channel) {
            count = count.saturating_add(u64::from(entries) / 16);
        }
    }
    Ok(count)
}

/// Splits `bytes` into records `(offset in bytes, opcode, body)`; stops with an error at the
/// first record that does not fit.
pub(crate) fn split_records(
    bytes: &[u8],
) -> impl Iterator<Item = Result<(usize, u8, &[u8]), String>> {
    let mut pos = 0usize;
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || pos >= bytes.len() {
            return None;
        }
        let start = pos;
        let result = (|| {
            let mut c = Cur::new(&bytes[pos..]);
            let opcode = c.take(1, "record opcode")?[0];
            let len = c.u64("record length")?;
            let len = usize::try_from(len).map_err(|_| format!("record length {len}"))?;
            let body = c.take(len, "record body")?;
            Ok((start, opcode, body))
        })();
        match &result {
            Ok((_, _, body)) => pos += PREFIX as usize + body.len(),
            Err(_) => failed = true,
        }
        Some(result)
    })
}

/// Decompresses and CRC-checks one whole chunk record (opcode and length included) and hands
/// every record inside it to `each` (only once the whole chunk checked out). Stops at the
/// first error.
pub(crate) fn for_each_in_chunk(
    record: &[u8],
    each: impl FnMut(u8, &[u8]) -> Result<(), String>,
) -> Result<(), String> {
    let body = record.get(PREFIX as usize..).unwrap_or_default();
    let records = chunk_records(body)?;
    for_each_record(&records, each)
}

/// Compressions a chunk may use, with the length of their name.
const COMPRESSIONS: [&str; 3] = ["", "zstd", "lz4"];

/// The records of a chunk body, decompressed and checked.
///
/// With a CRC, the CRC decides: when the header as written does not lead to records that pass
/// it (a damaged size, compression name or time field), the records are looked for where an
/// intact header would put them, with each known compression, and data that passes the CRC is
/// trusted. Without a CRC (0), the header must be consistent.
pub(crate) fn chunk_records(body: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, String> {
    let mut c = Cur::new(body);
    c.u64("chunk start time")?;
    c.u64("chunk end time")?;
    let uncompressed = c.u64("chunk uncompressed size")?;
    let crc = c.u32("chunk CRC")?;
    let as_written = (|| {
        let compression = c.string("chunk compression")?;
        let compressed = c.u64("chunk compressed size")?;
        let data = c
            .rest()
            .get(..usize::try_from(compressed).unwrap_or(usize::MAX))
            .ok_or_else(|| {
                format!(
                    "chunk claims {compressed} compressed bytes but its record holds {}",
                    c.rest().len()
                )
            })?;
        let records = decompress(&compression, data, uncompressed)?;
        if crc == 0 {
            if records.len() as u64 != uncompressed {
                return Err(format!(
                    "chunk holds {} bytes of records but declares {uncompressed}",
                    records.len()
                ));
            }
        } else if crc32(0, &records) != crc {
            return Err("chunk CRC mismatch".to_string());
        }
        Ok(records)
    })();
    let problem = match as_written {
        Ok(records) => return Ok(records),
        Err(problem) => problem,
    };
    if crc == 0 {
        return Err(problem);
    }
    // Where an intact header would put the records: after the 28 fixed bytes, the
    // compression name (4-byte length and text) and the 8-byte compressed size.
    for name in COMPRESSIONS {
        let Some(data) = body.get(28 + 4 + name.len() + 8..) else {
            continue;
        };
        if let Ok(records) = decompress(name, data, uncompressed) {
            if crc32(0, &records) == crc {
                tracing::debug!("chunk header damaged ({problem}); its records pass the CRC");
                return Ok(records);
            }
        }
    }
    Err(problem)
}

/// Decompresses a chunk's records (at most [`MAX_RECORD`] bytes); `uncompressed` is only a
/// size hint, capped (a damaged size must not allocate much more than the chunk can hold).
fn decompress<'a>(
    compression: &str,
    data: &'a [u8],
    uncompressed: u64,
) -> Result<std::borrow::Cow<'a, [u8]>, String> {
    use std::io::Read;
    const HINT_FLOOR: u64 = 8 << 20;
    let hint = uncompressed
        .min((data.len() as u64).saturating_mul(16).max(HINT_FLOOR))
        .min(MAX_RECORD) as usize;
    let mut out = Vec::with_capacity(hint);
    let read = match compression {
        "" => return Ok(std::borrow::Cow::Borrowed(data)),
        "zstd" => zstd::stream::read::Decoder::with_buffer(data)
            .and_then(|d| d.take(MAX_RECORD + 1).read_to_end(&mut out)),
        "lz4" => lz4::Decoder::new(data).and_then(|d| d.take(MAX_RECORD + 1).read_to_end(&mut out)),
        other => {
            return Err(format!(
                "unsupported chunk compression {}",
                crate::bag::untrusted::shown(other)
            ))
        }
    };
    read.map_err(|e| format!("chunk does not decompress ({compression}): {e}"))?;
    if out.len() as u64 > MAX_RECORD {
        return Err(format!(
            "chunk decompresses to more than {MAX_RECORD} bytes"
        ));
    }
    Ok(std::borrow::Cow::Owned(out))
}

/// Calls `each` with the opcode and body of every record in `records`.
fn for_each_record(
    mut records: &[u8],
    mut each: impl FnMut(u8, &[u8]) -> Result<(), String>,
) -> Result<(), String> {
    while !records.is_empty() {
        let mut c = Cur::new(records);
        let opcode = c.u8("record opcode")?;
        let len = c.u64("record length")?;
        let body = c
            .rest()
            .get(..usize::try_from(len).unwrap_or(usize::MAX))
            .ok_or_else(|| format!("a record in the chunk claims {len} bytes"))?;
        if opcode == op::CHUNK {
            return Err("chunk nested in a chunk".into());
        }
        each(opcode, body)?;
        records = &c.rest()[body.len()..];
    }
    Ok(())
}

/// CRC-32 (IEEE, as MCAP uses) of `bytes`, continuing from `crc` (start with 0).
pub(crate) fn crc32(crc: u32, bytes: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new_with_initial(crc);
    hasher.update(bytes);
    hasher.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_reference_value() {
        assert_eq!(crc32(0, b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(crc32(0, b"1234"), b"56789"), 0xCBF4_3926);
    }

    #[test]
    fn truncated_bodies_are_errors_not_panics() {
        assert!(channel(&[1, 0, 1, 0, 255, 255, 255, 255]).is_err());
        assert!(schema(&[]).is_err());
        assert!(message(&[0; 21]).is_err());
        assert!(split_records(&[5, 255, 255, 255, 255, 255, 255, 255, 255])
            .next()
            .is_some_and(|r| r.is_err()));
    }
}
