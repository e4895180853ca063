//! Encoding of the MCAP records [`super::BagWriter`] writes: the inverse of
//! [`super::records`], field for field as the MCAP specification lays them out (little-endian
//! integers, `u32`-prefixed strings, byte arrays and maps).
//!
//! Every length written here is checked by the caller to fit its field (strings and schema
//! data are limited to `u32::MAX` bytes by [`check_len`]).

use std::collections::BTreeMap;

use super::records::op;

/// Bytes of a Message record besides its payload: opcode, length, then channel id (2),
/// sequence (4), log time (8) and publish time (8).
pub(crate) const MESSAGE_OVERHEAD: usize = 31;

/// Bytes of one Message Index entry: a log time and an offset.
pub(crate) const INDEX_ENTRY: usize = 16;

/// Whether `len` bytes fit a `u32`-prefixed field; `what` names it in the error.
pub(crate) fn check_len(len: usize, what: &str) -> Result<(), String> {
    if u32::try_from(len).is_ok() {
        Ok(())
    } else {
        Err(format!(
            "{what} is {len} bytes, more than MCAP's 4 GiB limit"
        ))
    }
}

/// Appends one record: its opcode, its body's length, then the body `body` appends.
pub(crate) fn record(out: &mut Vec<u8>, opcode: u8, body: impl FnOnce(&mut Vec<u8>)) {
    out.push(opcode);
    let len_at = out.len();
    out.extend_from_slice(&[0; 8]);
    body(out);
    let len = (out.len() - len_at - 8) as u64;
    out[len_at..len_at + 8].copy_from_slice(&len.to_le_bytes());
}

fn u32_len(out: &mut Vec<u8>, len: usize) {
    // Callers checked the length with `check_len`; saturate rather than wrap regardless.
    out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes());
}

fn string(out: &mut Vec<u8>, s: &str) {
    u32_len(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

/// A `u32`-prefixed array whose elements `body` appends.
fn prefixed(out: &mut Vec<u8>, body: impl FnOnce(&mut Vec<u8>)) {
    let len_at = out.len();
    out.extend_from_slice(&[0; 4]);
    body(out);
    let len = out.len() - len_at - 4;
    out[len_at..len_at + 4].copy_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes());
}

fn u16_u64_map(out: &mut Vec<u8>, map: &BTreeMap<u16, u64>) {
    prefixed(out, |out| {
        for (k, v) in map {
            out.extend_from_slice(&k.to_le_bytes());
            out.extend_from_slice(&v.to_le_bytes());
        }
    });
}

/// A Header record.
pub(crate) fn header(out: &mut Vec<u8>, profile: &str, library: &str) {
    record(out, op::HEADER, |out| {
        string(out, profile);
        string(out, library);
    });
}

/// A Schema record.
pub(crate) fn schema(out: &mut Vec<u8>, id: u16, name: &str, encoding: &str, data: &[u8]) {
    record(out, op::SCHEMA, |out| {
        out.extend_from_slice(&id.to_le_bytes());
        string(out, name);
        string(out, encoding);
        u32_len(out, data.len());
        out.extend_from_slice(data);
    });
}

/// What a Channel record holds.
pub(crate) struct Channel<'a> {
    pub id: u16,
    pub schema_id: u16,
    pub topic: &'a str,
    pub message_encoding: &'a str,
    pub metadata: &'a BTreeMap<String, String>,
}

/// A Channel record.
pub(crate) fn channel(out: &mut Vec<u8>, c: &Channel<'_>) {
    record(out, op::CHANNEL, |out| {
        out.extend_from_slice(&c.id.to_le_bytes());
        out.extend_from_slice(&c.schema_id.to_le_bytes());
        string(out, c.topic);
        string(out, c.message_encoding);
        prefixed(out, |out| {
            for (k, v) in c.metadata {
                string(out, k);
                string(out, v);
            }
        });
    });
}

/// The first [`MESSAGE_OVERHEAD`] bytes of a Message record whose payload is `payload_len`
/// bytes.
pub(crate) fn message_header(
    channel_id: u16,
    sequence: u32,
    log_time: u64,
    publish_time: u64,
    payload_len: usize,
) -> [u8; MESSAGE_OVERHEAD] {
    let mut h = [0u8; MESSAGE_OVERHEAD];
    h[0] = op::MESSAGE;
    h[1..9].copy_from_slice(&(22 + payload_len as u64).to_le_bytes());
    h[9..11].copy_from_slice(&channel_id.to_le_bytes());
    h[11..15].copy_from_slice(&sequence.to_le_bytes());
    h[15..23].copy_from_slice(&log_time.to_le_bytes());
    h[23..31].copy_from_slice(&publish_time.to_le_bytes());
    h
}

/// What a Chunk record's header says about the records that follow it.
pub(crate) struct ChunkHeader {
    pub start: u64,
    pub end: u64,
    pub uncompressed_size: u64,
    pub crc: u32,
    pub compression: &'static str,
    pub compressed_size: u64,
}

/// A Chunk record up to its records: the `compressed_size` bytes of records follow.
pub(crate) fn chunk_header(out: &mut Vec<u8>, h: &ChunkHeader) {
    out.push(op::CHUNK);
    let body = 8 + 8 + 8 + 4 + 4 + h.compression.len() as u64 + 8 + h.compressed_size;
    out.extend_from_slice(&body.to_le_bytes());
    out.extend_from_slice(&h.start.to_le_bytes());
    out.extend_from_slice(&h.end.to_le_bytes());
    out.extend_from_slice(&h.uncompressed_size.to_le_bytes());
    out.extend_from_slice(&h.crc.to_le_bytes());
    string(out, h.compression);
    out.extend_from_slice(&h.compressed_size.to_le_bytes());
}

/// A Message Index record: `entries` are [`INDEX_ENTRY`]-byte (log time, offset) pairs.
pub(crate) fn message_index(out: &mut Vec<u8>, channel_id: u16, entries: &[u8]) {
    record(out, op::MESSAGE_INDEX, |out| {
        out.extend_from_slice(&channel_id.to_le_bytes());
        u32_len(out, entries.len());
        out.extend_from_slice(entries);
    });
}

/// What a Chunk Index record holds.
pub(crate) struct ChunkIndex {
    pub start: u64,
    pub end: u64,
    pub offset: u64,
    pub length: u64,
    pub message_index_offsets: BTreeMap<u16, u64>,
    pub message_index_length: u64,
    pub compression: &'static str,
    pub compressed_size: u64,
    pub uncompressed_size: u64,
}

/// A Chunk Index record.
pub(crate) fn chunk_index(out: &mut Vec<u8>, c: &ChunkIndex) {
    record(out, op::CHUNK_INDEX, |out| {
        out.extend_from_slice(&c.start.to_le_bytes());
        out.extend_from_slice(&c.end.to_le_bytes());
        out.extend_from_slice(&c.offset.to_le_bytes());
        out.extend_from_slice(&c.length.to_le_bytes());
        u16_u64_map(out, &c.message_index_offsets);
        out.extend_from_slice(&c.message_index_length.to_le_bytes());
        string(out, c.compression);
        out.extend_from_slice(&c.compressed_size.to_le_bytes());
        out.extend_from_slice(&c.uncompressed_size.to_le_bytes());
    });
}

/// What a Statistics record holds.
pub(crate) struct Statistics<'a> {
    pub message_count: u64,
    pub schema_count: u16,
    pub channel_count: u32,
    pub chunk_count: u32,
    pub start: u64,
    pub end: u64,
    pub channel_message_counts: &'a BTreeMap<u16, u64>,
}

/// A Statistics record (no attachments, no metadata).
pub(crate) fn statistics(out: &mut Vec<u8>, s: &Statistics<'_>) {
    record(out, op::STATISTICS, |out| {
        out.extend_from_slice(&s.message_count.to_le_bytes());
        out.extend_from_slice(&s.schema_count.to_le_bytes());
        out.extend_from_slice(&s.channel_count.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes()); // attachments
        out.extend_from_slice(&0u32.to_le_bytes()); // metadata
        out.extend_from_slice(&s.chunk_count.to_le_bytes());
        out.extend_from_slice(&s.start.to_le_bytes());
        out.extend_from_slice(&s.end.to_le_bytes());
        u16_u64_map(out, s.channel_message_counts);
    });
}

/// A Summary Offset record: where the summary's group of `group_opcode` records lies.
pub(crate) fn summary_offset(out: &mut Vec<u8>, group_opcode: u8, start: u64, length: u64) {
    record(out, op::SUMMARY_OFFSET, |out| {
        out.push(group_opcode);
        out.extend_from_slice(&start.to_le_bytes());
        out.extend_from_slice(&length.to_le_bytes());
    });
}

/// A Data End record; a CRC of 0 means "not computed" (the specification allows it).
pub(crate) fn data_end(out: &mut Vec<u8>, data_section_crc: u32) {
    record(out, op::DATA_END, |out| {
        out.extend_from_slice(&data_section_crc.to_le_bytes());
    });
}

/// A Footer record up to its CRC field: the CRC (of the summary up to here) follows.
pub(crate) fn footer_without_crc(out: &mut Vec<u8>, summary_start: u64, summary_offset_start: u64) {
    out.push(op::FOOTER);
    out.extend_from_slice(&20u64.to_le_bytes());
    out.extend_from_slice(&summary_start.to_le_bytes());
    out.extend_from_slice(&summary_offset_start.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::super::records;
    use super::*;

    #[test]
    fn records_parse_back_with_the_readers_parser() {
        let mut out = Vec::new();
        let mut metadata = BTreeMap::new();
        metadata.insert("k".to_string(), "v".to_string());
        channel(
            &mut out,
            &Channel {
                id: 3,
                schema_id: 2,
                topic: "/t",
                message_encoding: "cdr",
                metadata: &metadata,
            },
        );
        let (_, opcode, body) = records::split_records(&out)
            .next()
            .expect("a record")
            .expect("fits");
        assert_eq!(opcode, op::CHANNEL);
        let c = records::channel(body).expect("parses");
        assert_eq!((c.id, c.schema_id, c.topic.as_str()), (3, 2, "/t"));
        assert_eq!(c.metadata, metadata);

        let mut out = message_header(7, 9, 100, 99, 3).to_vec();
        out.extend_from_slice(b"abc");
        let (_, opcode, body) = records::split_records(&out)
            .next()
            .expect("a record")
            .expect("fits");
        assert_eq!(opcode, op::MESSAGE);
        let (h, payload) = records::message(body).expect("parses");
        assert_eq!(
            (h.channel_id, h.sequence, h.log_time, h.publish_time),
            (7, 9, 100, 99)
        );
        assert_eq!(payload, b"abc");
    }

    #[test]
    fn lengths_past_u32_are_refused() {
        assert!(check_len(u32::MAX as usize, "x").is_ok());
        assert!(check_len(u32::MAX as usize + 1, "schema data").is_err());
    }
}
