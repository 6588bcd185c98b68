//! The stored-message record, byte for byte as RocketMQ lays it out (protocol.md §3.1–§3.3).
//!
//! The same bytes are the CommitLog's content and the body of pull / query / view responses
//! (and CHECK_TRANSACTION_STATE requests), so the broker's store and every client read them with
//! this one codec. A decoded [`Record`] borrows everything from the buffer it was decoded from
//! (an mmap'd segment slice or a response body) and copies nothing.
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

use std::net::{IpAddr, SocketAddr};

mod decode;
mod encode;

pub use decode::{
    decode, decode_message, peek_header, store_timestamp_at, CrcCheck, DecodeError, Decoded, Record,
};
pub use encode::{encode, encode_blank, encoded_len, EncodeError, MessageFields, StoreStamp};

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
    /// The body is compressed (zlib unless the compression type bits say otherwise).
    pub const COMPRESSED: i32 = 0x1;
    pub const MULTI_TAGS: i32 = 0x2;
    pub const TRANSACTION_MASK: i32 = 0xC;
    pub const TRANSACTION_NOT_TYPE: i32 = 0x0;
    /// A half message.
    pub const TRANSACTION_PREPARED: i32 = 0x4;
    pub const TRANSACTION_COMMIT: i32 = 0x8;
    pub const TRANSACTION_ROLLBACK: i32 = 0xC;
    /// BORNHOST is IPv6.
    pub const BORNHOST_V6: i32 = 0x10;
    /// STOREHOSTADDRESS is IPv6.
    pub const STOREHOST_V6: i32 = 0x20;
    /// 5.x compression type bits.
    pub const COMPRESSION_TYPE_MASK: i32 = 0x700;

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

/// Appends a host as the layout writes it: the address octets, then the port as an i32.
pub(crate) fn put_host(out: &mut Vec<u8>, addr: SocketAddr) {
    match addr {
        SocketAddr::V4(a) => out.extend_from_slice(&a.ip().octets()),
        SocketAddr::V6(a) => out.extend_from_slice(&a.ip().octets()),
    }
    out.extend_from_slice(&i32::from(addr.port()).to_be_bytes());
}
