//! The 33-byte attachment rmw_zenoh puts on every sample: sequence number, source time, GID.

/// Length of the attachment in bytes.
pub const ATTACHMENT_LEN: usize = 33;

/// The metadata rmw_zenoh attaches to each published sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attachment {
    /// Per-publisher sequence number, from 1.
    pub sequence_number: i64,
    /// Publication time in nanoseconds since the Unix epoch (system clock).
    pub source_timestamp: i64,
    /// The publisher's 16-byte global id.
    pub gid: [u8; 16],
}

/// Why an attachment could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttachmentError {
    /// The sample carried no attachment.
    #[error("sample has no attachment (rmw_zenoh requires one)")]
    Missing,
    /// The attachment has the wrong length (the pre-0.2.4 labelled format is 77 bytes).
    #[error("attachment is {0} bytes, expected 33")]
    Length(usize),
    /// The GID length prefix is not 16.
    #[error("attachment GID length byte is {0:#04x}, expected 0x10")]
    GidLength(u8),
}

impl Attachment {
    /// The wire form: i64 LE sequence, i64 LE timestamp, 0x10, 16 GID bytes.
    pub fn to_bytes(&self) -> [u8; ATTACHMENT_LEN] {
        let mut out = [0u8; ATTACHMENT_LEN];
        out[..8].copy_from_slice(&self.sequence_number.to_le_bytes());
        out[8..16].copy_from_slice(&self.source_timestamp.to_le_bytes());
        out[16] = 0x10;
        out[17..].copy_from_slice(&self.gid);
        out
    }

    /// Parses the wire form.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AttachmentError> {
        let bytes: &[u8; ATTACHMENT_LEN] = bytes
            .try_into()
            .map_err(|_| AttachmentError::Length(bytes.len()))?;
        if bytes[16] != 0x10 {
            return Err(AttachmentError::GidLength(bytes[16]));
        }
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&bytes[..8]);
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&bytes[8..16]);
        let mut gid = [0u8; 16];
        gid.copy_from_slice(&bytes[17..]);
        Ok(Self {
            sequence_number: i64::from_le_bytes(seq),
            source_timestamp: i64::from_le_bytes(ts),
            gid,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_rmw_zenoh() {
        let gid: [u8; 16] = std::array::from_fn(|i| i as u8);
        let a = Attachment {
            sequence_number: 1,
            source_timestamp: 1_700_000_000_123_456_789,
            gid,
        };
        let bytes = a.to_bytes();
        assert_eq!(&bytes[..8], &[1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            &bytes[8..16],
            &[0x15, 0xcd, 0x85, 0x3d, 0xfe, 0x9c, 0x97, 0x17]
        );
        assert_eq!(bytes[16], 0x10);
        assert_eq!(Attachment::from_bytes(&bytes), Ok(a));
        assert_eq!(
            Attachment::from_bytes(&bytes[..32]),
            Err(AttachmentError::Length(32))
        );
        let mut bad = bytes;
        bad[16] = 0;
        assert_eq!(
            Attachment::from_bytes(&bad),
            Err(AttachmentError::GidLength(0))
        );
    }
}
