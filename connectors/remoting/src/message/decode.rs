//! Zero-copy decoding of the stored layout: the store's recovery and reads, and every PULL,
//! QUERY and VIEW body a client receives.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{body_crc, sysflag, MessageFields, BLANK_MAGIC, FIXED_LEN_V1_IPV4, MAGIC_V1, MAGIC_V2};
use crate::reader::Reader;

/// Why bytes are not a valid record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("record truncated: {field} needs {need} bytes at position {at}, only {have} available")]
    Truncated {
        field: &'static str,
        at: usize,
        need: usize,
        have: usize,
    },
    #[error("bad magic code {0:#010x}")]
    BadMagic(u32),
    #[error("bad TOTALSIZE {0}")]
    BadTotalSize(i32),
    #[error("negative {field} length {value}")]
    NegativeLength { field: &'static str, value: i64 },
    #[error("TOTALSIZE {declared} does not match the computed length {computed}")]
    SizeMismatch { declared: usize, computed: usize },
    #[error("body CRC mismatch: stored {stored:#x}, computed {computed:#x}")]
    BodyCrc { stored: u32, computed: u32 },
    #[error("{0} is not valid UTF-8")]
    Utf8(&'static str),
}

/// A decoded record borrowing its variable parts from the buffer it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    pub total_size: usize,
    pub magic: u32,
    pub body_crc: u32,
    pub queue_id: i32,
    pub flag: i32,
    pub queue_offset: i64,
    pub physical_offset: i64,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub store_timestamp: i64,
    pub store_host: SocketAddr,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
    pub body: &'a [u8],
    pub topic: &'a str,
    pub properties: &'a str,
}

impl<'a> Record<'a> {
    /// The producer-supplied fields, e.g. to re-encode the record elsewhere.
    pub fn fields(&self) -> MessageFields<'a> {
        MessageFields {
            topic: self.topic,
            queue_id: self.queue_id,
            flag: self.flag,
            sys_flag: self.sys_flag,
            born_timestamp: self.born_timestamp,
            born_host: self.born_host,
            reconsume_times: self.reconsume_times,
            prepared_transaction_offset: self.prepared_transaction_offset,
            body: self.body,
            properties: self.properties,
        }
    }

    /// The value of property `name`.
    pub fn property(&self, name: &str) -> Option<&'a str> {
        crate::properties::get(self.properties, name)
    }
}

/// What is found at a position of a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded<'a> {
    Message(Record<'a>),
    /// The BLANK filler: the segment has no more records.
    Blank,
}

/// Whether decoding recomputes the body CRC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrcCheck {
    Verify,
    Skip,
}

/// [`Reader`] with the layout's error: a short read names the field, where it started, how
/// many bytes it needed and how many were left.
struct Cursor<'a>(Reader<'a>);

impl<'a> Cursor<'a> {
    fn truncated(&self, field: &'static str, need: usize) -> DecodeError {
        DecodeError::Truncated {
            field,
            at: self.0.pos(),
            need,
            have: self.0.remaining(),
        }
    }
    // A failed read leaves the position where it was, so the error can be built afterwards.
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        self.0.bytes(n, field).map_err(|_| self.truncated(field, n))
    }
    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        self.0.array(field).map_err(|_| self.truncated(field, N))
    }
    fn i16(&mut self, field: &'static str) -> Result<i16, DecodeError> {
        Ok(i16::from_be_bytes(self.array(field)?))
    }
    fn i32(&mut self, field: &'static str) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.array(field)?))
    }
    fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }
    fn i64(&mut self, field: &'static str) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.array(field)?))
    }
    fn host(&mut self, v6: bool, field: &'static str) -> Result<SocketAddr, DecodeError> {
        let ip = if v6 {
            IpAddr::V6(Ipv6Addr::from(self.array::<16>(field)?))
        } else {
            IpAddr::V4(Ipv4Addr::from(self.array::<4>(field)?))
        };
        let port = self.i32(field)?;
        // Java writes the port as an int; anything outside u16 is kept modulo 2^16.
        Ok(SocketAddr::new(ip, port as u16))
    }
    fn len(field: &'static str, v: i64) -> Result<usize, DecodeError> {
        usize::try_from(v).map_err(|_| DecodeError::NegativeLength { field, value: v })
    }
}

/// Reads the TOTALSIZE and MAGICCODE at the start of `buf` without decoding the rest.
pub fn peek_header(buf: &[u8]) -> Result<(i32, u32), DecodeError> {
    let mut c = Cursor(Reader::new(buf));
    Ok((c.i32("TOTALSIZE")?, c.u32("MAGICCODE")?))
}

/// Decodes the record at the start of `buf` (which may extend past it).
pub fn decode(buf: &[u8], crc: CrcCheck) -> Result<Decoded<'_>, DecodeError> {
    let (total, magic) = peek_header(buf)?;
    if magic == BLANK_MAGIC {
        return Ok(Decoded::Blank);
    }
    if magic != MAGIC_V1 && magic != MAGIC_V2 {
        return Err(DecodeError::BadMagic(magic));
    }
    if total < FIXED_LEN_V1_IPV4 as i32 {
        return Err(DecodeError::BadTotalSize(total));
    }
    let total = total as usize;
    let Some(record) = buf.get(..total) else {
        return Err(DecodeError::Truncated {
            field: "record",
            at: 0,
            need: total,
            have: buf.len(),
        });
    };
    let mut c = Cursor(Reader::at(record, 8));
    let body_crc = c.u32("BODYCRC")?;
    let queue_id = c.i32("QUEUEID")?;
    let flag = c.i32("FLAG")?;
    let queue_offset = c.i64("QUEUEOFFSET")?;
    let physical_offset = c.i64("PHYSICALOFFSET")?;
    let sys_flag = c.i32("SYSFLAG")?;
    let born_timestamp = c.i64("BORNTIMESTAMP")?;
    let born_host = c.host(sys_flag & sysflag::BORNHOST_V6 != 0, "BORNHOST")?;
    let store_timestamp = c.i64("STORETIMESTAMP")?;
    let store_host = c.host(sys_flag & sysflag::STOREHOST_V6 != 0, "STOREHOSTADDRESS")?;
    let reconsume_times = c.i32("RECONSUMETIMES")?;
    let prepared_transaction_offset = c.i64("PREPARED TRANSACTION OFFSET")?;
    let body_len = Cursor::len("BODY", i64::from(c.i32("BODYLEN")?))?;
    let body = c.take(body_len, "BODY")?;
    let topic_len = if magic == MAGIC_V2 {
        Cursor::len("TOPIC", i64::from(c.i16("TOPICLEN")?))?
    } else {
        let [len] = c.array::<1>("TOPICLEN")?;
        usize::from(len)
    };
    let topic = std::str::from_utf8(c.take(topic_len, "TOPIC")?).map_err(|_| DecodeError::Utf8("topic"))?;
    let props_len = Cursor::len("PROPERTIES", i64::from(c.i16("PROPERTIESLEN")?))?;
    let properties =
        std::str::from_utf8(c.take(props_len, "PROPERTIES")?).map_err(|_| DecodeError::Utf8("properties"))?;
    if c.0.pos() != total {
        return Err(DecodeError::SizeMismatch {
            declared: total,
            computed: c.0.pos(),
        });
    }
    if crc == CrcCheck::Verify {
        let computed = self::body_crc(body);
        if computed != body_crc {
            return Err(DecodeError::BodyCrc {
                stored: body_crc,
                computed,
            });
        }
    }
    Ok(Decoded::Message(Record {
        total_size: total,
        magic,
        body_crc,
        queue_id,
        flag,
        queue_offset,
        physical_offset,
        sys_flag,
        born_timestamp,
        born_host,
        store_timestamp,
        store_host,
        reconsume_times,
        prepared_transaction_offset,
        body,
        topic,
        properties,
    }))
}

/// Decodes a buffer that must hold exactly one message record (a read of `(offset, size)`).
pub fn decode_message(buf: &[u8], crc: CrcCheck) -> Result<Record<'_>, DecodeError> {
    match decode(buf, crc)? {
        Decoded::Message(r) if r.total_size == buf.len() => Ok(r),
        Decoded::Message(r) => Err(DecodeError::SizeMismatch {
            declared: buf.len(),
            computed: r.total_size,
        }),
        Decoded::Blank => Err(DecodeError::BadMagic(BLANK_MAGIC)),
    }
}

/// STORETIMESTAMP of the record at the start of `buf`, read without decoding the rest (its
/// position depends on the born host's family).
pub fn store_timestamp_at(buf: &[u8]) -> Result<i64, DecodeError> {
    let sys_flag = Cursor(Reader::at(buf, 36)).i32("SYSFLAG")?;
    let at = if sys_flag & sysflag::BORNHOST_V6 != 0 {
        68
    } else {
        56
    };
    Cursor(Reader::at(buf, at)).i64("STORETIMESTAMP")
}
