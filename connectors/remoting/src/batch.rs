//! The SEND_BATCH_MESSAGE body (protocol.md §3.9): concatenated per-message records.
//!
//! ```text
//!  off  size  field
//!  0    4     TOTALSIZE   i32   (ignored on input, like Java; written as 22 + N + P)
//!  4    4     MAGICCODE   i32 = 0 (ignored)
//!  8    4     BODYCRC     i32 = 0 (ignored; the broker recomputes it)
//!  12   4     FLAG        i32
//!  16   4     BODYLEN     i32 = N
//!  20   N     BODY
//!  20+N 2     PROPLEN     i16 = P
//!  22+N P     PROPERTIES  (the record's own properties, §3.5)
//! ```
//!
//! §3.9 gives TOTALSIZE as `20 + N + P`, but its own layout, the Java client and C++'s
//! `BatchMessage::encode` make a record `22 + N + P` bytes long. Java's broker never reads
//! TOTALSIZE (it walks the fields), so neither does this decoder: records are delimited by
//! BODYLEN and PROPLEN, both checked against the bytes that remain.

use bytes::Bytes;

use crate::reader::Reader;

/// Fixed bytes of a record: TOTALSIZE, MAGICCODE, BODYCRC, FLAG, BODYLEN, PROPLEN.
pub const RECORD_OVERHEAD: usize = 22;

/// One message of a batch. `body` shares the request body's memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRecord {
    /// User flag.
    pub flag: i32,
    /// The message body (zero-copy slice of the request body).
    pub body: Bytes,
    /// The record's own encoded properties (§3.5).
    pub properties: String,
}

/// A batch body that does not decode. `index` is the 0-based record, `offset` its start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// A batch must hold at least one record.
    #[error("empty batch body")]
    Empty,
    /// The body ends inside a record.
    #[error("batch record {index} at byte {offset} is truncated ({what})")]
    Truncated {
        index: usize,
        offset: usize,
        what: &'static str,
    },
    /// BODYLEN or PROPLEN is negative.
    #[error("batch record {index} at byte {offset} has negative {what} {len}")]
    NegativeLength {
        index: usize,
        offset: usize,
        what: &'static str,
        len: i32,
    },
    /// PROPERTIES is not UTF-8.
    #[error("batch record {index} at byte {offset} has properties that are not UTF-8")]
    PropertiesNotUtf8 { index: usize, offset: usize },
}

/// Iterates over the records of a batch body; stops after the first error.
pub struct BatchIter<'a> {
    body: &'a Bytes,
    pos: usize,
    index: usize,
    done: bool,
}

impl<'a> BatchIter<'a> {
    /// Iterates over `body`.
    pub fn new(body: &'a Bytes) -> Self {
        BatchIter {
            body,
            pos: 0,
            index: 0,
            done: false,
        }
    }

    fn record(&mut self) -> Result<BatchRecord, BatchError> {
        let (index, offset) = (self.index, self.pos);
        let rest = self.body.get(offset..).unwrap_or_default();
        let mut r = Reader::new(rest);
        let truncated = |s: crate::reader::Short| BatchError::Truncated {
            index,
            offset,
            what: s.what,
        };
        let negative = |what, len| BatchError::NegativeLength {
            index,
            offset,
            what,
            len,
        };
        let _total_size = r.i32("TOTALSIZE").map_err(truncated)?;
        let _magic = r.i32("MAGICCODE").map_err(truncated)?;
        let _body_crc = r.i32("BODYCRC").map_err(truncated)?;
        let flag = r.i32("FLAG").map_err(truncated)?;
        let body_len = r.i32("BODYLEN").map_err(truncated)?;
        let body_len = usize::try_from(body_len).map_err(|_| negative("BODYLEN", body_len))?;
        let body_start = offset + r.pos();
        r.bytes(body_len, "BODY").map_err(truncated)?;
        let prop_len = r.i16("PROPLEN").map_err(truncated)?;
        let prop_len = usize::try_from(prop_len).map_err(|_| negative("PROPLEN", i32::from(prop_len)))?;
        let props = r.bytes(prop_len, "PROPERTIES").map_err(truncated)?;
        let properties = std::str::from_utf8(props)
            .map_err(|_| BatchError::PropertiesNotUtf8 { index, offset })?
            .to_owned();
        // The reader proved body_start + body_len lies within the body.
        let body = self.body.slice(body_start..body_start + body_len);
        self.pos = offset + r.pos();
        self.index += 1;
        Ok(BatchRecord {
            flag,
            body,
            properties,
        })
    }
}

impl Iterator for BatchIter<'_> {
    type Item = Result<BatchRecord, BatchError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.pos >= self.body.len() {
            return None;
        }
        let item = self.record();
        if item.is_err() {
            self.done = true;
        }
        Some(item)
    }
}

/// Decodes a whole batch body; any malformed record fails the batch.
pub fn decode_batch(body: &Bytes) -> Result<Vec<BatchRecord>, BatchError> {
    if body.is_empty() {
        return Err(BatchError::Empty);
    }
    BatchIter::new(body).collect()
}

/// Appends one record in the client's encoding (TOTALSIZE = 22 + N + P, magic and CRC 0).
/// Returns `false` (and writes nothing) when the properties exceed 32767 bytes or the body
/// exceeds i32.
pub fn encode_record(out: &mut Vec<u8>, flag: i32, body: &[u8], properties: &str) -> bool {
    let (Ok(prop_len), Ok(body_len)) = (i16::try_from(properties.len()), i32::try_from(body.len())) else {
        return false;
    };
    let Ok(total) = i32::try_from(RECORD_OVERHEAD + body.len() + properties.len()) else {
        return false;
    };
    out.extend_from_slice(&total.to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes());
    out.extend_from_slice(&flag.to_be_bytes());
    out.extend_from_slice(&body_len.to_be_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&prop_len.to_be_bytes());
    out.extend_from_slice(properties.as_bytes());
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Bytes {
        let mut v = Vec::new();
        assert!(encode_record(&mut v, 1, b"hello", "UNIQ_KEY\u{1}A\u{2}"));
        assert!(encode_record(&mut v, 0, b"", ""));
        assert!(encode_record(
            &mut v,
            7,
            &[0u8; 300],
            "TAGS\u{1}t\u{2}KEYS\u{1}k\u{2}"
        ));
        Bytes::from(v)
    }

    #[test]
    fn golden_record() {
        let mut v = Vec::new();
        assert!(encode_record(&mut v, 3, b"ab", "K\u{1}V\u{2}"));
        let want: Vec<u8> = [
            &[0, 0, 0, 28][..], // 22 + 2 + 4
            &[0, 0, 0, 0],
            &[0, 0, 0, 0],
            &[0, 0, 0, 3],
            &[0, 0, 0, 2],
            b"ab",
            &[0, 4],
            b"K\x01V\x02",
        ]
        .concat();
        assert_eq!(v, want);
        let recs = decode_batch(&Bytes::from(v)).unwrap();
        assert_eq!(
            recs,
            vec![BatchRecord {
                flag: 3,
                body: Bytes::from_static(b"ab"),
                properties: "K\u{1}V\u{2}".into()
            }]
        );
    }

    #[test]
    fn decodes_zero_copy() {
        let body = sample();
        let recs = decode_batch(&body).unwrap();
        assert_eq!(recs.len(), 3);
        assert_eq!(&recs[0].body[..], b"hello");
        assert_eq!(recs[2].properties, "TAGS\u{1}t\u{2}KEYS\u{1}k\u{2}");
        let base = body.as_ptr() as usize;
        let at = recs[2].body.as_ptr() as usize;
        assert!(at >= base && at < base + body.len(), "body was copied");
    }

    #[test]
    fn every_truncation_fails_cleanly() {
        let body = sample();
        for n in 1..body.len() {
            let cut = body.slice(..n);
            // A cut exactly at a record boundary is a valid shorter batch.
            if let Ok(recs) = decode_batch(&cut) {
                assert!(recs.len() < 3);
            }
        }
        assert_eq!(decode_batch(&Bytes::new()), Err(BatchError::Empty));
    }

    #[test]
    fn negative_lengths() {
        let mut v = Vec::new();
        encode_record(&mut v, 0, b"x", "");
        v[16..20].copy_from_slice(&(-5i32).to_be_bytes());
        assert!(matches!(
            decode_batch(&Bytes::from(v)),
            Err(BatchError::NegativeLength { what: "BODYLEN", .. })
        ));
        let mut v = Vec::new();
        encode_record(&mut v, 0, b"x", "");
        let p = v.len() - 2;
        v[p..].copy_from_slice(&(-1i16).to_be_bytes());
        assert!(matches!(
            decode_batch(&Bytes::from(v)),
            Err(BatchError::NegativeLength { what: "PROPLEN", .. })
        ));
        let mut v = Vec::new();
        encode_record(&mut v, 0, b"", "\u{1}");
        let p = v.len() - 1;
        v[p] = 0xFF;
        assert!(matches!(
            decode_batch(&Bytes::from(v)),
            Err(BatchError::PropertiesNotUtf8 { .. })
        ));
    }
}
