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

    /// The master's reader (master.rs `read_reports`): bytes arrive in any pieces, and after
    /// each piece the newest whole report is taken and the whole reports are dropped.
    fn read_in_pieces(stream: &[u8], cuts: &[usize]) -> (Vec<i64>, usize) {
        let mut buf = Vec::new();
        let mut seen = Vec::new();
        let mut at = 0;
        for &cut in cuts.iter().chain(std::iter::once(&stream.len())) {
            let end = cut.clamp(at, stream.len());
            buf.extend_from_slice(&stream[at..end]);
            at = end;
            if let Some((offset, whole)) = last_report(&buf) {
                seen.push(offset);
                buf.drain(..whole);
            }
        }
        (seen, buf.len())
    }

    proptest::proptest! {
        #[test]
        fn headers_round_trip(offset in 0..=i64::MAX as u64, size in 0..=i32::MAX as u32, max in 0usize..1 << 32) {
            let parsed = parse_header(&header(offset, size), max);
            if size as usize <= max {
                proptest::prop_assert_eq!(parsed, Ok(Header { offset, size: size as usize }));
            } else {
                proptest::prop_assert_eq!(parsed, Err(HeaderError::BadSize(size as i32, max)));
            }
        }

        #[test]
        fn any_header_parses_or_is_refused(h in proptest::array::uniform12(proptest::num::u8::ANY), max in 0usize..1 << 20) {
            if let Ok(parsed) = parse_header(&h, max) {
                proptest::prop_assert!(parsed.size <= max);
                proptest::prop_assert_eq!(header(parsed.offset, parsed.size as u32), h);
            }
        }

        #[test]
        fn reports_read_in_any_pieces(
            offsets in proptest::collection::vec(proptest::num::u64::ANY, 0..6),
            tail in 0usize..8,
            mut cuts in proptest::collection::vec(0usize..64, 0..8),
        ) {
            let mut stream: Vec<u8> = offsets.iter().flat_map(|&o| report(o)).collect();
            stream.extend(std::iter::repeat_n(0xA5, tail));
            cuts.sort_unstable();
            let (seen, left) = read_in_pieces(&stream, &cuts);
            // Every report taken is one that was sent, in order, and the newest is the last.
            let sent: Vec<i64> = offsets.iter().map(|&o| o as i64).collect();
            let mut rest = sent.iter();
            for s in &seen {
                proptest::prop_assert!(rest.any(|o| o == s), "{:?} not in order in {:?}", seen, sent);
            }
            proptest::prop_assert_eq!(seen.last(), sent.last());
            proptest::prop_assert_eq!(left, tail);
        }
    }
}
