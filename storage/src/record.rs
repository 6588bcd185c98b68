//! The stored-message record, byte for byte as RocketMQ lays it out (protocol.md §3.1–§3.3).
//!
//! The same bytes are the CommitLog's content and the body of pull / query / view responses, so a
//! decoded [`Record`] borrows everything from the buffer it was decoded from (an mmap'd segment
//! slice in practice) and copies nothing.
//!
//! ```text
//!  off  size   field
//!  0    4      TOTALSIZE          i32, whole record
//!  4    4      MAGICCODE          0xDAA320A7 (v1, 1-byte topic length) / 0xDAA320AB (v2, i16)
//!  8    4      BODYCRC            crc32(body) & 0x7FFFFFFF
//!  12   4      QUEUEID
//!  16   4      FLAG
//!  20   8      QUEUEOFFSET
//!  28   8      PHYSICALOFFSET
//!  36   4      SYSFLAG
//!  40   8      BORNTIMESTAMP
//!  48   8|20   BORNHOST           IPv4 (4) or IPv6 (16) + port i32; v6 iff SYSFLAG & 0x10
//!  ..   8      STORETIMESTAMP
//!  ..   8|20   STOREHOSTADDRESS   v6 iff SYSFLAG & 0x20
//!  ..   4      RECONSUMETIMES
//!  ..   8      PREPARED TRANSACTION OFFSET
//!  ..   4      BODYLEN, then BODY
//!  ..   1|2    TOPICLEN, then TOPIC
//!  ..   2      PROPERTIESLEN, then PROPERTIES
//! ```
//! All integers are big-endian. A segment's unused tail starts with an 8-byte BLANK record:
//! TOTALSIZE = bytes left in the segment, MAGICCODE = 0xCBD43194.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::properties::MAX_PROPERTIES_LEN;

/// Magic of a normal record with a one-byte topic length.
pub const MAGIC_V1: u32 = 0xDAA3_20A7;
/// Magic of a record with a two-byte topic length (topics longer than 127 bytes).
pub const MAGIC_V2: u32 = 0xDAA3_20AB;
/// Magic of the filler that ends a segment.
pub const BLANK_MAGIC: u32 = 0xCBD4_3194;
/// Length of the BLANK filler actually written (TOTALSIZE + MAGICCODE).
pub const BLANK_LEN: usize = 8;
/// Longest topic that still uses the v1 layout.
pub const MAX_V1_TOPIC_LEN: usize = 127;
/// Longest topic a v2 record can carry.
pub const MAX_TOPIC_LEN: usize = i16::MAX as usize;

/// Fixed part of a v1 record with IPv4 hosts: everything but body, topic and properties.
pub const FIXED_LEN_V1_IPV4: usize = 91;

/// Message `SYSFLAG` bits (protocol.md §3.3).
pub mod sysflag {
    pub const COMPRESSED: i32 = 0x1;
    pub const MULTI_TAGS: i32 = 0x2;
    pub const TRANSACTION_MASK: i32 = 0xC;
    pub const TRANSACTION_NOT_TYPE: i32 = 0x0;
    pub const TRANSACTION_PREPARED: i32 = 0x4;
    pub const TRANSACTION_COMMIT: i32 = 0x8;
    pub const TRANSACTION_ROLLBACK: i32 = 0xC;
    pub const BORNHOST_V6: i32 = 0x10;
    pub const STOREHOST_V6: i32 = 0x20;

    /// The transaction type bits of `flag`.
    pub fn transaction_type(flag: i32) -> i32 {
        flag & TRANSACTION_MASK
    }

    /// `flag` with its transaction type set to `kind`.
    pub fn with_transaction_type(flag: i32, kind: i32) -> i32 {
        (flag & !TRANSACTION_MASK) | (kind & TRANSACTION_MASK)
    }

    /// `flag` with its transaction type reset to NOT_TYPE.
    pub fn reset_transaction_type(flag: i32) -> i32 {
        with_transaction_type(flag, TRANSACTION_NOT_TYPE)
    }
}

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

/// Why a message cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("topic is {0} bytes; at most {MAX_TOPIC_LEN} are allowed")]
    TopicTooLong(usize),
    #[error("topic is empty")]
    EmptyTopic,
    #[error("properties are {0} bytes; at most {MAX_PROPERTIES_LEN} are allowed")]
    PropertiesTooLong(usize),
    #[error("record would be {0} bytes, more than an i32 can describe")]
    TooLarge(usize),
}

/// `crc32(body) & 0x7FFFFFFF`, RocketMQ's body CRC.
pub fn body_crc(body: &[u8]) -> u32 {
    crc32fast::hash(body) & 0x7FFF_FFFF
}

/// An IPv4-mapped IPv6 peer is written as IPv4 (ali-ons and Go only read IPv4 hosts).
pub fn canonical_host(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), v6.port()),
            None => addr,
        },
        v4 => v4,
    }
}

fn host_len(addr: &SocketAddr) -> usize {
    match addr {
        SocketAddr::V4(_) => 8,
        SocketAddr::V6(_) => 20,
    }
}

/// The message fields a producer supplies; the store adds offsets, store time and store host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageFields<'a> {
    pub topic: &'a str,
    pub queue_id: i32,
    pub flag: i32,
    /// SYSFLAG bits other than the host-v6 bits, which the encoder sets from the hosts.
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
    pub body: &'a [u8],
    pub properties: &'a str,
}

/// What the store stamps on a record when it appends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreStamp {
    pub queue_offset: i64,
    pub physical_offset: i64,
    pub store_timestamp: i64,
    pub store_host: SocketAddr,
}

/// The encoded length of `msg` stored from `store_host`, checking the format's limits.
pub fn encoded_len(msg: &MessageFields<'_>, store_host: SocketAddr) -> Result<usize, EncodeError> {
    let topic_len = msg.topic.len();
    if topic_len == 0 {
        return Err(EncodeError::EmptyTopic);
    }
    if topic_len > MAX_TOPIC_LEN {
        return Err(EncodeError::TopicTooLong(topic_len));
    }
    if msg.properties.len() > MAX_PROPERTIES_LEN {
        return Err(EncodeError::PropertiesTooLong(msg.properties.len()));
    }
    let topic_len_field = if topic_len > MAX_V1_TOPIC_LEN { 2 } else { 1 };
    let len = 4
        + 4
        + 4
        + 4
        + 4
        + 8
        + 8
        + 4
        + 8
        + host_len(&canonical_host(msg.born_host))
        + 8
        + host_len(&canonical_host(store_host))
        + 4
        + 8
        + 4
        + msg.body.len()
        + topic_len_field
        + topic_len
        + 2
        + msg.properties.len();
    if len > i32::MAX as usize {
        return Err(EncodeError::TooLarge(len));
    }
    Ok(len)
}

fn put_host(out: &mut Vec<u8>, addr: SocketAddr) {
    match addr {
        SocketAddr::V4(a) => out.extend_from_slice(&a.ip().octets()),
        SocketAddr::V6(a) => out.extend_from_slice(&a.ip().octets()),
    }
    out.extend_from_slice(&i32::from(addr.port()).to_be_bytes());
}

/// Appends the record for `msg` to `out` and returns its length. `body_crc` may be given when the
/// caller computed it already (off the append path); otherwise it is computed here.
pub fn encode(
    out: &mut Vec<u8>,
    msg: &MessageFields<'_>,
    stamp: &StoreStamp,
    precomputed_crc: Option<u32>,
) -> Result<usize, EncodeError> {
    let born = canonical_host(msg.born_host);
    let store = canonical_host(stamp.store_host);
    let total = encoded_len(msg, store)?;
    let v2 = msg.topic.len() > MAX_V1_TOPIC_LEN;
    let mut sys_flag = msg.sys_flag & !(sysflag::BORNHOST_V6 | sysflag::STOREHOST_V6);
    if born.is_ipv6() {
        sys_flag |= sysflag::BORNHOST_V6;
    }
    if store.is_ipv6() {
        sys_flag |= sysflag::STOREHOST_V6;
    }
    let crc = precomputed_crc.unwrap_or_else(|| body_crc(msg.body));
    let start = out.len();
    out.reserve(total);
    out.extend_from_slice(&(total as i32).to_be_bytes());
    out.extend_from_slice(&(if v2 { MAGIC_V2 } else { MAGIC_V1 }).to_be_bytes());
    out.extend_from_slice(&crc.to_be_bytes());
    out.extend_from_slice(&msg.queue_id.to_be_bytes());
    out.extend_from_slice(&msg.flag.to_be_bytes());
    out.extend_from_slice(&stamp.queue_offset.to_be_bytes());
    out.extend_from_slice(&stamp.physical_offset.to_be_bytes());
    out.extend_from_slice(&sys_flag.to_be_bytes());
    out.extend_from_slice(&msg.born_timestamp.to_be_bytes());
    put_host(out, born);
    out.extend_from_slice(&stamp.store_timestamp.to_be_bytes());
    put_host(out, store);
    out.extend_from_slice(&msg.reconsume_times.to_be_bytes());
    out.extend_from_slice(&msg.prepared_transaction_offset.to_be_bytes());
    out.extend_from_slice(&(msg.body.len() as i32).to_be_bytes());
    out.extend_from_slice(msg.body);
    if v2 {
        out.extend_from_slice(&(msg.topic.len() as i16).to_be_bytes());
    } else {
        out.push(msg.topic.len() as u8);
    }
    out.extend_from_slice(msg.topic.as_bytes());
    out.extend_from_slice(&(msg.properties.len() as i16).to_be_bytes());
    out.extend_from_slice(msg.properties.as_bytes());
    debug_assert_eq!(out.len() - start, total);
    Ok(total)
}

/// Appends a BLANK filler claiming `remaining` bytes.
pub fn encode_blank(out: &mut Vec<u8>, remaining: usize) {
    out.extend_from_slice(&(remaining as i32).to_be_bytes());
    out.extend_from_slice(&BLANK_MAGIC.to_be_bytes());
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

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        match end {
            Some(end) => {
                let s = &self.buf[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(DecodeError::Truncated {
                field,
                at: self.pos,
                need: n,
                have: self.buf.len().saturating_sub(self.pos),
            }),
        }
    }
    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let s = self.take(N, field)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
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
    fn len(&mut self, field: &'static str, v: i64) -> Result<usize, DecodeError> {
        usize::try_from(v).map_err(|_| DecodeError::NegativeLength { field, value: v })
    }
}

/// Reads the TOTALSIZE and MAGICCODE at the start of `buf` without decoding the rest.
pub fn peek_header(buf: &[u8]) -> Result<(i32, u32), DecodeError> {
    let mut c = Cursor { buf, pos: 0 };
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
    if total > buf.len() {
        return Err(DecodeError::Truncated {
            field: "record",
            at: 0,
            need: total,
            have: buf.len(),
        });
    }
    let mut c = Cursor {
        buf: &buf[..total],
        pos: 8,
    };
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
    let body_len = c.i32("BODYLEN")?;
    let body_len = c.len("BODY", i64::from(body_len))?;
    let body = c.take(body_len, "BODY")?;
    let topic_len = if magic == MAGIC_V2 {
        let l = c.i16("TOPICLEN")?;
        c.len("TOPIC", i64::from(l))?
    } else {
        usize::from(c.array::<1>("TOPICLEN")?[0])
    };
    let topic = std::str::from_utf8(c.take(topic_len, "TOPIC")?).map_err(|_| DecodeError::Utf8("topic"))?;
    let props_len = c.i16("PROPERTIESLEN")?;
    let props_len = c.len("PROPERTIES", i64::from(props_len))?;
    let properties =
        std::str::from_utf8(c.take(props_len, "PROPERTIES")?).map_err(|_| DecodeError::Utf8("properties"))?;
    if c.pos != total {
        return Err(DecodeError::SizeMismatch {
            declared: total,
            computed: c.pos,
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

/// Position of STORETIMESTAMP inside a record, which depends on the born host's family.
pub fn store_timestamp_at(buf: &[u8]) -> Result<i64, DecodeError> {
    let mut c = Cursor { buf, pos: 36 };
    let sys_flag = c.i32("SYSFLAG")?;
    c.pos = if sys_flag & sysflag::BORNHOST_V6 != 0 {
        68
    } else {
        56
    };
    c.i64("STORETIMESTAMP")
}
