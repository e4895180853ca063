//! An MCAP file's [`Index`]: what opening it learns, from the summary section or by
//! scanning the file.
//!
//! The index is the list of blocks that hold messages (chunks, or messages outside chunks),
//! with their offsets and earliest log times, plus the channels, message counts, time range
//! and damage. A scan checks every chunk completely (decompression and CRC) and stops at the
//! first record that does not fit in the file.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::records::{self, op, MAGIC, MAX_RECORD, PREFIX};
use super::regular_file::open_regular_file;
use crate::bag::{BagError, Damage, DamagedPart, LogTopic, Result};

/// A channel of the file: its topic, with the names messages share (no copy per message).
#[derive(Debug, Clone)]
pub(super) struct ChannelEntry {
    /// The topic as [`BagReader::topics`](crate::bag::BagReader::topics) reports it.
    pub(super) info: LogTopic,
    /// The topic name, shared by its messages.
    pub(super) topic: Arc<str>,
    /// The type name, shared by its messages.
    pub(super) type_name: Arc<str>,
}

/// A part of the file that holds messages: a chunk record, or one message outside chunks.
#[derive(Debug, Clone)]
pub(super) struct Block {
    /// Offset of the record (opcode) in the file.
    pub(super) offset: u64,
    /// Length of the whole record, prefix included.
    pub(super) length: u64,
    /// Earliest log time in it.
    pub(super) start: u64,
    /// Channels with messages in it; empty if unknown.
    pub(super) channels: Vec<u16>,
    /// Whether it is a chunk (else one message outside chunks).
    pub(super) is_chunk: bool,
    /// Offset and length of the chunk's Message Index records (from the chunk index), which
    /// say how many messages are lost if the chunk is damaged.
    pub(super) message_index: Option<(u64, u64)>,
}

/// What opening an MCAP file learned: header, channels, blocks, counts, times and damage.
#[derive(Debug)]
pub(super) struct Index {
    /// The file.
    pub(super) path: PathBuf,
    /// Its size in bytes.
    pub(super) file_size: u64,
    /// Offset of the first record after the header.
    pub(super) data_start: u64,
    /// The header's profile.
    pub(super) profile: String,
    /// The header's library.
    pub(super) library: String,
    /// Channels by id.
    pub(super) channels: BTreeMap<u16, ChannelEntry>,
    /// The parts of the file that hold messages, in file order.
    pub(super) blocks: Vec<Block>,
    /// Messages that can be read.
    pub(super) message_count: u64,
    /// Earliest log time, ns.
    pub(super) start: Option<u64>,
    /// Latest log time, ns.
    pub(super) end: Option<u64>,
    /// Whether the summary was used (`false`: the file was scanned).
    pub(super) indexed: bool,
    /// What is wrong with the file, if anything.
    pub(super) damage: Option<BagError>,
    /// Chunks skipped while scanning (damaged, with intact framing around them).
    pub(super) skipped: Vec<Damage>,
}

impl Index {
    /// Opens `path`: reads its header, then its summary, or scans it when it has none.
    ///
    /// Fails only if nothing can be read: the file cannot be opened, is empty, is not MCAP, or
    /// its header is damaged. Damage further on is kept in [`damage`](Self::damage).
    pub(super) fn open(path: &Path) -> Result<Self> {
        let path = path.to_path_buf();
        let mut file = open_regular_file(&path)?;
        let file_size = file.metadata().map_err(|e| BagError::io(&path, e))?.len();
        let mut magic = [0u8; 8];
        let got = read_up_to(&mut file, &mut magic).map_err(|e| BagError::io(&path, e))?;
        if file_size == 0 {
            return Err(BagError::NotMcap {
                path,
                reason: "the file is empty".into(),
            });
        }
        if got < 8 || &magic != MAGIC {
            return Err(BagError::NotMcap {
                path,
                reason: "it does not start with the MCAP magic bytes".into(),
            });
        }
        let mut index = Index {
            path,
            file_size,
            data_start: 8,
            profile: String::new(),
            library: String::new(),
            channels: BTreeMap::new(),
            blocks: Vec::new(),
            message_count: 0,
            start: None,
            end: None,
            indexed: false,
            damage: None,
            skipped: Vec::new(),
        };
        index.read_header(&mut file)?;
        match index.read_summary(&mut file) {
            Ok(true) => index.indexed = true,
            Ok(false) => index.scan(&mut file, None)?,
            Err(problem) => index.scan(&mut file, Some(problem))?,
        }
        Ok(index)
    }

    fn read_header(&mut self, file: &mut File) -> Result<()> {
        let mut prefix = [0u8; 9];
        let got = read_up_to(file, &mut prefix).map_err(|e| BagError::io(&self.path, e))?;
        let len = u64::from_le_bytes(prefix[1..9].try_into().unwrap_or_default());
        // Checked against the file's size before anything is allocated for it.
        if got < 9 || len > self.file_size.saturating_sub(17) {
            return Err(BagError::Truncated {
                path: self.path.clone(),
                offset: 8,
                reason: "the file ends inside its header record".into(),
                recovered_messages: 0,
            });
        }
        if prefix[0] != op::HEADER {
            return Err(BagError::corrupt(
                &self.path,
                8,
                format!("first record has opcode {:#04x}, not a header", prefix[0]),
            ));
        }
        if len > MAX_RECORD {
            return Err(BagError::corrupt(
                &self.path,
                8,
                format!("header record claims {len} bytes"),
            ));
        }
        let mut body = vec![0u8; usize::try_from(len).unwrap_or(0)];
        file.read_exact(&mut body)
            .map_err(|e| BagError::io(&self.path, e))?;
        let header = records::header(&body).map_err(|r| BagError::corrupt(&self.path, 8, r))?;
        self.data_start = 17 + len;
        self.profile = header.profile;
        self.library = header.library;
        Ok(())
    }

    /// Reads the summary section. `Ok(false)`: no summary or one without chunk indexes (the
    /// file must be scanned); `Err`: damage that makes the summary unusable.
    fn read_summary(&mut self, file: &mut File) -> std::result::Result<bool, BagError> {
        let path = self.path.clone();
        // Footer record (9 + 20 bytes) then the end magic.
        let min = 8 + 9 + 29 + 8;
        if self.file_size < min {
            return Err(self.truncated_at(self.file_size, "the file is too short to hold a footer"));
        }
        let footer_offset = self.file_size - 8 - 29;
        let mut tail = [0u8; 37];
        file.seek(SeekFrom::Start(footer_offset))
            .and_then(|_| file.read_exact(&mut tail))
            .map_err(|e| BagError::io(&path, e))?;
        if &tail[29..] != MAGIC {
            return Err(self.truncated_at(
                self.file_size,
                "the file does not end with the MCAP magic (writer killed, or file cut)",
            ));
        }
        if tail[0] != op::FOOTER || tail[1..9] != 20u64.to_le_bytes() {
            return Err(BagError::corrupt(&path, footer_offset, "bad footer record"));
        }
        let footer = records::footer(&tail[9..29])
            .map_err(|r| BagError::corrupt(&path, footer_offset, r))?;
        if footer.summary_start == 0 {
            return Ok(false);
        }
        if footer.summary_start < 8 || footer.summary_start > footer_offset {
            return Err(BagError::corrupt(
                &path,
                footer_offset,
                format!(
                    "footer points at summary offset {} outside the file",
                    footer.summary_start
                ),
            ));
        }
        let summary_len = footer_offset - footer.summary_start;
        if summary_len > MAX_RECORD / 4 {
            return Err(BagError::corrupt(
                &path,
                footer_offset,
                format!("footer claims a summary of {summary_len} bytes"),
            ));
        }
        let mut summary = vec![0u8; usize::try_from(summary_len).unwrap_or(0)];
        file.seek(SeekFrom::Start(footer.summary_start))
            .and_then(|_| file.read_exact(&mut summary))
            .map_err(|e| BagError::io(&path, e))?;
        if footer.summary_crc != 0 {
            // The CRC covers the summary and the footer up to its CRC field.
            let crc = records::crc32(records::crc32(0, &summary), &tail[..9 + 16]);
            if crc != footer.summary_crc {
                return Err(BagError::corrupt(
                    &path,
                    footer.summary_start,
                    format!(
                        "summary CRC mismatch (stored {:08x}, computed {crc:08x})",
                        footer.summary_crc
                    ),
                ));
            }
        }
        let mut schemas = HashMap::new();
        let mut channels = Vec::new();
        let mut stats = None;
        let mut blocks = Vec::new();
        for record in records::split_records(&summary) {
            let (at, opcode, body) =
                record.map_err(|r| BagError::corrupt(&path, footer.summary_start, r))?;
            let at = footer.summary_start.saturating_add(at as u64);
            let bad = |r: String| BagError::corrupt(&path, at, r);
            match opcode {
                op::SCHEMA => {
                    let s = records::schema(body).map_err(bad)?;
                    schemas.insert(s.id, s);
                }
                op::CHANNEL => channels.push(records::channel(body).map_err(bad)?),
                op::STATISTICS => stats = Some(records::statistics(body).map_err(bad)?),
                op::CHUNK_INDEX => {
                    let c = records::chunk_index(body).map_err(bad)?;
                    let fits = c.offset.checked_add(c.length).is_some_and(|end| {
                        c.offset >= 8 && end <= footer.summary_start && c.length > PREFIX
                    });
                    if !fits {
                        return Err(bad(format!(
                            "chunk index points at bytes {}+{} outside the data section",
                            c.offset, c.length
                        )));
                    }
                    blocks.push(Block {
                        offset: c.offset,
                        length: c.length,
                        start: c.start,
                        channels: c.channels,
                        is_chunk: true,
                        message_index: c.message_index,
                    });
                }
                _ => {}
            }
        }
        let Some(stats) = stats else { return Ok(false) };
        if stats.message_count > 0 && (blocks.is_empty() || channels.is_empty()) {
            // Messages outside chunks, or channels only in the data section: scan.
            return Ok(false);
        }
        for channel in channels {
            self.add_channel(channel, &schemas);
        }
        for (id, count) in &stats.channel_message_counts {
            if let Some(entry) = self.channels.get_mut(id) {
                entry.info.message_count = *count;
            }
        }
        self.message_count = stats.message_count;
        if stats.message_count > 0 {
            self.start = Some(stats.start);
            self.end = Some(stats.end);
        }
        self.blocks = blocks;
        Ok(true)
    }

    fn truncated_at(&self, offset: u64, reason: &str) -> BagError {
        BagError::Truncated {
            path: self.path.clone(),
            offset,
            reason: reason.into(),
            recovered_messages: self.message_count,
        }
    }

    fn add_channel(&mut self, c: records::Channel, schemas: &HashMap<u16, records::Schema>) {
        let schema = schemas.get(&c.schema_id);
        let type_name = schema.map(|s| s.name.clone()).unwrap_or_default();
        let info = LogTopic {
            topic: c.topic.clone(),
            channel_id: c.id,
            type_hash: c
                .metadata
                .get("topic_type_hash")
                .filter(|h| !h.is_empty())
                .cloned(),
            definition: schema
                .map(|s| String::from_utf8_lossy(&s.data).into_owned())
                .unwrap_or_default(),
            schema_encoding: schema.map(|s| s.encoding.clone()).unwrap_or_default(),
            message_encoding: c.message_encoding,
            metadata: c.metadata,
            message_count: 0,
            type_name: type_name.clone(),
        };
        if c.schema_id != 0 && schema.is_none() && self.damage.is_none() {
            self.damage = Some(BagError::MissingSchema {
                path: self.path.clone(),
                topic: c.topic.clone(),
                channel_id: c.id,
                schema_id: c.schema_id,
            });
        }
        self.channels.insert(
            c.id,
            ChannelEntry {
                topic: c.topic.into(),
                type_name: type_name.into(),
                info,
            },
        );
    }

    /// Reads the file from the start, indexing every complete record before the damage.
    fn scan(&mut self, file: &mut File, summary_problem: Option<BagError>) -> Result<()> {
        let path = self.path.clone();
        file.seek(SeekFrom::Start(self.data_start))
            .map_err(|e| BagError::io(&path, e))?;
        let mut input = BufReader::with_capacity(1 << 16, &mut *file);
        let mut offset = self.data_start;
        let mut schemas: HashMap<u16, records::Schema> = HashMap::new();
        let mut damage: Option<BagError> = None;
        let mut saw_end = false;
        let mut body = Vec::new();
        // The skipped chunk whose Message Index records (which follow it) are being counted.
        let mut counting: Option<usize> = None;
        loop {
            let remaining = self.file_size.saturating_sub(offset);
            if remaining == 0 {
                break;
            }
            let mut prefix = [0u8; 9];
            if remaining < PREFIX {
                damage = Some(
                    self.truncated_at(offset, "the file ends inside a record's length prefix"),
                );
                break;
            }
            input
                .read_exact(&mut prefix)
                .map_err(|e| BagError::io(&path, e))?;
            let opcode = prefix[0];
            let len = u64::from_le_bytes(prefix[1..].try_into().unwrap_or_default());
            if len > remaining - PREFIX {
                let what = if opcode == op::CHUNK {
                    "a chunk"
                } else {
                    "a record"
                };
                damage = Some(self.truncated_at(
                    offset,
                    &format!("the file ends inside {what} of {len} bytes (writer killed while it was open, or file cut)"),
                ));
                break;
            }
            if opcode != op::MESSAGE_INDEX {
                counting = None;
            }
            let wanted = matches!(opcode, op::SCHEMA | op::CHANNEL | op::MESSAGE | op::CHUNK)
                || (opcode == op::MESSAGE_INDEX && counting.is_some());
            if !wanted {
                // `len` fits in the file, so in an i64.
                input
                    .seek_relative(i64::try_from(len).unwrap_or(i64::MAX))
                    .map_err(|e| BagError::io(&path, e))?;
                let record_offset = offset;
                offset += PREFIX + len;
                if opcode == op::DATA_END || opcode == op::FOOTER {
                    saw_end = true;
                    break;
                }
                if opcode == op::HEADER || opcode == 0 {
                    damage = Some(BagError::corrupt(
                        &path,
                        record_offset,
                        format!("unexpected record opcode {opcode:#04x} in the data section"),
                    ));
                    break;
                }
                continue;
            }
            if len > MAX_RECORD {
                damage = Some(BagError::corrupt(
                    &path,
                    offset,
                    format!("record claims {len} bytes"),
                ));
                break;
            }
            body.clear();
            body.extend_from_slice(&prefix);
            // `len` was checked against the bytes left in the file and MAX_RECORD.
            body.resize(PREFIX as usize + usize::try_from(len).unwrap_or(0), 0);
            input
                .read_exact(&mut body[PREFIX as usize..])
                .map_err(|e| BagError::io(&path, e))?;
            let record_offset = offset;
            offset += PREFIX + len;
            let content = &body[PREFIX as usize..];
            let result = match opcode {
                op::SCHEMA => records::schema(content).map(|s| {
                    schemas.insert(s.id, s);
                }),
                op::CHANNEL => records::channel(content).map(|c| {
                    if !self.channels.contains_key(&c.id) {
                        self.add_channel(c, &schemas);
                    }
                }),
                op::MESSAGE => records::message(content).map(|(h, _)| {
                    self.count_message(h.channel_id, h.log_time);
                    self.blocks.push(Block {
                        offset: record_offset,
                        length: PREFIX + len,
                        start: h.log_time,
                        channels: vec![h.channel_id],
                        is_chunk: false,
                        message_index: None,
                    });
                }),
                op::MESSAGE_INDEX => {
                    if let (Some(i), Ok(n)) =
                        (counting, records::message_index_entries(&body, |_| true))
                    {
                        let lost = &mut self.skipped[i].messages_lost;
                        *lost = Some(lost.unwrap_or(0).saturating_add(n));
                    }
                    Ok(())
                }
                _ => self.scan_chunk(record_offset, &body, &mut schemas),
            };
            if let Err(reason) = result {
                // The framing is intact, so later records can still be read.
                if matches!(opcode, op::CHUNK | op::MESSAGE) {
                    self.skipped.push(Damage {
                        file: path.clone(),
                        part: DamagedPart::Chunk {
                            offset: record_offset,
                        },
                        messages_lost: (opcode == op::MESSAGE).then_some(1),
                        reason: reason.clone(),
                    });
                }
                if opcode == op::CHUNK {
                    counting = Some(self.skipped.len() - 1);
                }
                if damage.is_none() {
                    damage = Some(BagError::corrupt(&path, record_offset, reason));
                }
            }
        }
        drop(input);
        if damage.is_none() && !saw_end {
            damage = Some(self.truncated_at(
                offset,
                "the file ends without a data-end record or summary (writer killed?)",
            ));
        }
        // Damage found while scanning comes first; then a bad summary (harmless when the data
        // section is complete: everything was read, but the file is still damaged).
        if let Some(found) = damage.or(summary_problem) {
            self.damage = Some(match found {
                BagError::Truncated {
                    path,
                    offset,
                    reason,
                    ..
                } => BagError::Truncated {
                    path,
                    offset,
                    reason,
                    recovered_messages: self.message_count,
                },
                other => other,
            });
        }
        Ok(())
    }

    fn count_message(&mut self, channel_id: u16, log_time: u64) {
        self.message_count += 1;
        self.start = Some(self.start.map_or(log_time, |s| s.min(log_time)));
        self.end = Some(self.end.map_or(log_time, |e| e.max(log_time)));
        if let Some(entry) = self.channels.get_mut(&channel_id) {
            entry.info.message_count += 1;
        }
    }

    /// Checks a whole chunk (decompression, CRC, records) and indexes it; all or nothing.
    fn scan_chunk(
        &mut self,
        offset: u64,
        record: &[u8],
        schemas: &mut HashMap<u16, records::Schema>,
    ) -> std::result::Result<(), String> {
        let header = records::chunk_header(&record[PREFIX as usize..])?;
        let mut new_schemas = Vec::new();
        let mut new_channels = Vec::new();
        let mut messages = Vec::new();
        records::for_each_in_chunk(record, |opcode, body| {
            match opcode {
                op::SCHEMA => new_schemas.push(records::schema(body)?),
                op::CHANNEL => new_channels.push(records::channel(body)?),
                op::MESSAGE => messages.push(records::message(body)?.0),
                _ => {}
            }
            Ok(())
        })?;
        for s in new_schemas {
            schemas.insert(s.id, s);
        }
        for c in new_channels {
            if !self.channels.contains_key(&c.id) {
                self.add_channel(c, schemas);
            }
        }
        let mut channels = Vec::new();
        let mut start = messages.first().map_or(header.start, |m| m.log_time);
        for m in &messages {
            if !self.channels.contains_key(&m.channel_id) {
                return Err(format!(
                    "a message refers to channel {}, which is not defined before it",
                    m.channel_id
                ));
            }
        }
        for m in &messages {
            self.count_message(m.channel_id, m.log_time);
            start = start.min(m.log_time);
            if !channels.contains(&m.channel_id) {
                channels.push(m.channel_id);
            }
        }
        if !messages.is_empty() {
            self.blocks.push(Block {
                offset,
                length: record.len() as u64,
                start,
                channels,
                is_chunk: true,
                message_index: None,
            });
        }
        Ok(())
    }
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}
