//! Received messages: the stored layout (protocol.md §3.1) that pull, query and
//! CHECK_TRANSACTION_STATE bodies carry, decoded by `sluice_remoting::message` into owned
//! [`MessageExt`]s (bodies inflated), with their offsetMsgId (§3.7).

use std::collections::BTreeMap;
use std::io::Read;
use std::net::SocketAddr;

use bytes::Bytes;
use sluice_remoting::message::{self as stored, CrcCheck, DecodeError, Decoded};
use sluice_remoting::msgid::offset_msg_id;
use sluice_remoting::properties::split_keys;

use super::{decode_properties, property, sys_flag};

/// A received message: the stored record's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageExt {
    /// Topic (after §5.4 restoration when delivered by a push consumer).
    pub topic: String,
    /// User flag.
    pub flag: i32,
    /// Properties.
    pub properties: BTreeMap<String, String>,
    /// Body, decompressed.
    pub body: Bytes,
    /// Queue id.
    pub queue_id: i32,
    /// ConsumeQueue offset.
    pub queue_offset: i64,
    /// CommitLog offset.
    pub commit_log_offset: i64,
    /// sysFlag (compression bit cleared after decompression).
    pub sys_flag: i32,
    /// Born timestamp, ms.
    pub born_timestamp: i64,
    /// Born host.
    pub born_host: SocketAddr,
    /// Store timestamp, ms.
    pub store_timestamp: i64,
    /// Store host.
    pub store_host: SocketAddr,
    /// How many times it was consumed before.
    pub reconsume_times: i32,
    /// Commit records: CommitLog offset of the half message.
    pub prepared_transaction_offset: i64,
    /// The offsetMsgId (§3.7).
    pub offset_msg_id: String,
    /// The broker it was pulled from (set by the consumer).
    pub broker_name: String,
}

impl MessageExt {
    /// One property.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.get(name).map(String::as_str)
    }

    /// The message id as Java reports it: UNIQ_KEY, else the offsetMsgId.
    pub fn msg_id(&self) -> &str {
        self.property(property::UNIQ_KEY).unwrap_or(&self.offset_msg_id)
    }

    /// The tag, if any.
    pub fn tags(&self) -> Option<&str> {
        self.property(property::TAGS)
    }

    /// The keys.
    pub fn keys(&self) -> Vec<&str> {
        self.property(property::KEYS)
            .map(|k| split_keys(k).collect())
            .unwrap_or_default()
    }
}

/// Decodes one record at the start of `buf` (the body CRC is the broker's business); returns
/// it and its length. A compressed body is inflated; one that does not inflate is delivered as
/// stored.
fn decode_one(buf: &[u8]) -> Result<(MessageExt, usize), DecodeError> {
    let Decoded::Message(r) = stored::decode(buf, CrcCheck::Skip)? else {
        return Err(DecodeError::BadMagic(stored::BLANK_MAGIC));
    };
    let mut sys = r.sys_flag;
    let body = if sys & sys_flag::COMPRESSED != 0 {
        let mut out = Vec::new();
        match flate2::read::ZlibDecoder::new(r.body).read_to_end(&mut out) {
            Ok(_) => {
                sys &= !(sys_flag::COMPRESSED | sys_flag::COMPRESSION_TYPE_MASK);
                Bytes::from(out)
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot decompress message body, delivering it as stored");
                Bytes::copy_from_slice(r.body)
            }
        }
    } else {
        Bytes::copy_from_slice(r.body)
    };
    Ok((
        MessageExt {
            topic: r.topic.to_owned(),
            flag: r.flag,
            properties: decode_properties(r.properties),
            body,
            queue_id: r.queue_id,
            queue_offset: r.queue_offset,
            commit_log_offset: r.physical_offset,
            sys_flag: sys,
            born_timestamp: r.born_timestamp,
            born_host: r.born_host,
            store_timestamp: r.store_timestamp,
            offset_msg_id: offset_msg_id(r.store_host, r.physical_offset as u64),
            store_host: r.store_host,
            reconsume_times: r.reconsume_times,
            prepared_transaction_offset: r.prepared_transaction_offset,
            broker_name: String::new(),
        },
        r.total_size,
    ))
}

/// Decodes concatenated records; stops at the first one that does not decode.
pub fn decode_messages(mut buf: &[u8]) -> Vec<MessageExt> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let (msg, len) = match decode_one(buf) {
            Ok(decoded) => decoded,
            Err(error) => {
                tracing::warn!(
                    remaining = buf.len(),
                    %error,
                    "undecodable message record, rest of the body ignored"
                );
                break;
            }
        };
        out.push(msg);
        buf = buf.get(len..).unwrap_or_default();
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Encodes a v1 IPv4 record as a broker stores it (test helper).
    pub(crate) fn encode_record(
        topic: &str,
        body: &[u8],
        props: &str,
        queue_offset: i64,
        phy: i64,
    ) -> Vec<u8> {
        let msg = stored::MessageFields {
            topic,
            queue_id: 1,
            flag: 7,
            sys_flag: 0,
            born_timestamp: 11,
            born_host: "10.0.0.1:5555".parse().unwrap(),
            reconsume_times: 2,
            prepared_transaction_offset: 0,
            body,
            properties: props,
        };
        let stamp = stored::StoreStamp {
            queue_offset,
            physical_offset: phy,
            store_timestamp: 12,
            store_host: "127.0.0.1:10911".parse().unwrap(),
        };
        let mut v = Vec::new();
        stored::encode(&mut v, &msg, &stamp, None).unwrap();
        v
    }

    #[test]
    fn decodes_records_and_ids() {
        let mut buf = encode_record("T", b"hello", "TAGS\u{1}A\u{2}UNIQ_KEY\u{1}U1\u{2}", 3, 4096);
        buf.extend(encode_record("T", b"x", "", 4, 8192));
        buf.extend_from_slice(&[0, 0]); // trailing junk is ignored
        let msgs = decode_messages(&buf);
        assert_eq!(msgs.len(), 2);
        let m = &msgs[0];
        assert_eq!(
            (m.topic.as_str(), &m.body[..], m.queue_id, m.queue_offset),
            ("T", &b"hello"[..], 1, 3)
        );
        assert_eq!(
            (m.flag, m.reconsume_times, m.born_timestamp, m.store_timestamp),
            (7, 2, 11, 12)
        );
        assert_eq!(m.tags(), Some("A"));
        assert_eq!(m.msg_id(), "U1");
        assert_eq!(m.offset_msg_id, "7F00000100002A9F0000000000001000");
        assert_eq!(msgs[1].msg_id(), "7F00000100002A9F0000000000002000");
        assert_eq!(m.born_host.to_string(), "10.0.0.1:5555");
    }

    #[test]
    fn decompresses_zlib_bodies() {
        use std::io::Write;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(5));
        z.write_all(b"compressed body").unwrap();
        let packed = z.finish().unwrap();
        let mut rec = encode_record("T", &packed, "", 0, 0);
        rec[36..40].copy_from_slice(&0x301i32.to_be_bytes());
        let m = &decode_messages(&rec)[0];
        assert_eq!(&m.body[..], b"compressed body");
        assert_eq!(m.sys_flag, 0);
    }
}
