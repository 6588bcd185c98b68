//! Encoding a message into the stored layout: what the store appends, what a PULL body carries.

use std::net::SocketAddr;

use super::{
    body_crc, canonical_host, put_host, sysflag, BLANK_MAGIC, MAGIC_V1, MAGIC_V2, MAX_TOPIC_LEN,
    MAX_V1_TOPIC_LEN,
};
use crate::properties::MAX_PROPERTIES_LEN;

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

fn host_len(addr: &SocketAddr) -> usize {
    match addr {
        SocketAddr::V4(_) => 8,
        SocketAddr::V6(_) => 20,
    }
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
    // TOTALSIZE .. SYSFLAG, BORNTIMESTAMP, BORNHOST, STORETIMESTAMP, STOREHOSTADDRESS,
    // RECONSUMETIMES, PREPARED TRANSACTION OFFSET, BODYLEN + BODY, TOPIC, PROPERTIES.
    let len = (4 + 4 + 4 + 4 + 4 + 8 + 8 + 4)
        + 8
        + host_len(&canonical_host(msg.born_host))
        + 8
        + host_len(&canonical_host(store_host))
        + 4
        + 8
        + (4 + msg.body.len())
        + (topic_len_field + topic_len)
        + (2 + msg.properties.len());
    if len > i32::MAX as usize {
        return Err(EncodeError::TooLarge(len));
    }
    Ok(len)
}

/// Appends the record for `msg` to `out` and returns its length. `precomputed_crc` may be given
/// when the caller computed the body CRC already (off the append path); otherwise it is computed
/// here.
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
    // The casts below cannot truncate: `encoded_len` bounded the total, the topic and the
    // properties.
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
