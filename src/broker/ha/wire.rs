//! The HA socket's two packets (protocol.md §9.1; no remoting framing): the slave's 8-byte
//! report (its CommitLog max offset) and the master's 12-byte transfer header (offset of the
//! first byte, byte count; 0 bytes = heartbeat) followed by raw CommitLog bytes. Big-endian,
//! as Java's `ByteBuffer`.

/// A slave's report.
pub const REPORT_LEN: usize = 8;
/// A transfer header.
pub const HEADER_LEN: usize = 12;

/// A report of `offset` (the slave's max CommitLog offset).
pub fn report(offset: u64) -> [u8; REPORT_LEN] {
    (offset as i64).to_be_bytes()
}

/// The last complete report in `buf` (the master acts on the newest only, §9.1), and how many
/// bytes of `buf` were whole reports.
pub fn last_report(buf: &[u8]) -> Option<(i64, usize)> {
    let whole = buf.len() - buf.len() % REPORT_LEN;
    let last = buf.get(whole.checked_sub(REPORT_LEN)?..whole)?;
    let mut b = [0u8; REPORT_LEN];
    b.copy_from_slice(last);
    Some((i64::from_be_bytes(b), whole))
}

/// A transfer header for `size` bytes from `offset`.
pub fn header(offset: u64, size: u32) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(&(offset as i64).to_be_bytes());
    h[8..].copy_from_slice(&(size as i32).to_be_bytes());
    h
}

/// A transfer header as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub offset: u64,
    pub size: usize,
}

/// Why a header cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HeaderError {
    #[error("transfer header with a negative offset {0}")]
    NegativeOffset(i64),
    #[error("transfer header with a size of {0} bytes (at most {1})")]
    BadSize(i32, usize),
}

/// Reads a header, refusing sizes over `max` (a sane master sends at most its batch size).
pub fn parse_header(h: &[u8; HEADER_LEN], max: usize) -> Result<Header, HeaderError> {
    let mut o = [0u8; 8];
    o.copy_from_slice(&h[..8]);
    let mut s = [0u8; 4];
    s.copy_from_slice(&h[8..]);
    let offset = i64::from_be_bytes(o);
    let size = i32::from_be_bytes(s);
    if offset < 0 {
        return Err(HeaderError::NegativeOffset(offset));
    }
    if size < 0 || size as usize > max {
        return Err(HeaderError::BadSize(size, max));
    }
    Ok(Header {
        offset: offset as u64,
        size: size as usize,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_and_headers_round_trip_big_endian() {
        assert_eq!(report(0x0102), [0, 0, 0, 0, 0, 0, 1, 2]);
        let mut buf = Vec::new();
        buf.extend_from_slice(&report(10));
        buf.extend_from_slice(&report(4096));
        buf.extend_from_slice(&[0, 0, 0]); // part of a third
        assert_eq!(last_report(&buf), Some((4096, 16)));
        assert_eq!(last_report(&buf[..5]), None);
        let h = header(1 << 33, 32 * 1024);
        assert_eq!(
            parse_header(&h, 32 * 1024),
            Ok(Header {
                offset: 1 << 33,
                size: 32 * 1024
            })
        );
        assert_eq!(parse_header(&header(7, 0), 1), Ok(Header { offset: 7, size: 0 }));
        assert!(parse_header(&h, 1024).is_err());
        let mut neg = header(0, 1);
        neg[0] = 0x80;
        assert!(matches!(
            parse_header(&neg, 10),
            Err(HeaderError::NegativeOffset(_))
        ));
    }
}
