//! Decoding the stored-message layout (protocol.md §3.1) that pull, query and
//! CHECK_TRANSACTION_STATE bodies carry, and the offsetMsgId (§3.7).

use std::collections::BTreeMap;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::Bytes;

use super::{decode_properties, property, sys_flag};

const MAGIC_V1: i32 = 0xDAA3_20A7_u32 as i32;
const MAGIC_V2: i32 = 0xDAA3_20ABu32 as i32;

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
            .map(|k| k.split(' ').filter(|s| !s.is_empty()).collect())
            .unwrap_or_default()
    }
}

/// The offsetMsgId: store IP, store port, physical offset, upper-case hex (§3.7).
pub fn offset_msg_id(store_host: &SocketAddr, phy_offset: i64) -> String {
    let mut raw = Vec::with_capacity(28);
    match store_host.ip() {
        IpAddr::V4(ip) => raw.extend_from_slice(&ip.octets()),
        IpAddr::V6(ip) => raw.extend_from_slice(&ip.octets()),
    }
    raw.extend_from_slice(&i32::from(store_host.port()).to_be_bytes());
    raw.extend_from_slice(&phy_offset.to_be_bytes());
    raw.iter().map(|b| format!("{b:02X}")).collect()
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    fn i16(&mut self) -> Option<i16> {
        Some(i16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }
    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
    fn host(&mut self, v6: bool) -> Option<SocketAddr> {
        let ip = if v6 {
            let o: [u8; 16] = self.take(16)?.try_into().ok()?;
            IpAddr::V6(Ipv6Addr::from(o))
        } else {
            let o: [u8; 4] = self.take(4)?.try_into().ok()?;
            IpAddr::V4(Ipv4Addr::from(o))
        };
        let port = self.i32()?;
        Some(SocketAddr::new(ip, u16::try_from(port).unwrap_or(0)))
    }
}

/// Decodes one record at the start of `buf`; returns it and its length.
fn decode_one(buf: &[u8]) -> Option<(MessageExt, usize)> {
    let mut c = Cursor { buf, pos: 0 };
    let total = usize::try_from(c.i32()?).ok()?;
    let record = buf.get(..total)?;
    let mut c = Cursor { buf: record, pos: 4 };
    let magic = c.i32()?;
    if magic != MAGIC_V1 && magic != MAGIC_V2 {
        return None;
    }
    let _crc = c.i32()?;
    let queue_id = c.i32()?;
    let flag = c.i32()?;
    let queue_offset = c.i64()?;
    let commit_log_offset = c.i64()?;
    let mut sys = c.i32()?;
    let born_timestamp = c.i64()?;
    let born_host = c.host(sys & sys_flag::BORNHOST_V6 != 0)?;
    let store_timestamp = c.i64()?;
    let store_host = c.host(sys & sys_flag::STOREHOST_V6 != 0)?;
    let reconsume_times = c.i32()?;
    let prepared_transaction_offset = c.i64()?;
    let body_len = usize::try_from(c.i32()?).ok()?;
    let raw_body = c.take(body_len)?;
    let topic_len = if magic == MAGIC_V2 {
        usize::try_from(c.i16()?).ok()?
    } else {
        usize::from(*c.take(1)?.first()?)
    };
    let topic = String::from_utf8_lossy(c.take(topic_len)?).into_owned();
    let prop_len = usize::try_from(c.i16()?).ok()?;
    let props = String::from_utf8_lossy(c.take(prop_len)?);
    let body = if sys & sys_flag::COMPRESSED != 0 {
        let mut out = Vec::new();
        match flate2::read::ZlibDecoder::new(raw_body).read_to_end(&mut out) {
            Ok(_) => {
                sys &= !(sys_flag::COMPRESSED | sys_flag::COMPRESSION_TYPE_MASK);
                Bytes::from(out)
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot decompress message body, delivering it as stored");
                Bytes::copy_from_slice(raw_body)
            }
        }
    } else {
        Bytes::copy_from_slice(raw_body)
    };
    Some((
        MessageExt {
            topic,
            flag,
            properties: decode_properties(&props),
            body,
            queue_id,
            queue_offset,
            commit_log_offset,
            sys_flag: sys,
            born_timestamp,
            born_host,
            store_timestamp,
            offset_msg_id: offset_msg_id(&store_host, commit_log_offset),
            store_host,
            reconsume_times,
            prepared_transaction_offset,
            broker_name: String::new(),
        },
        total,
    ))
}

/// Decodes concatenated records; stops at the first one that does not decode.
pub fn decode_messages(mut buf: &[u8]) -> Vec<MessageExt> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let Some((msg, len)) = decode_one(buf) else {
            tracing::warn!(
                remaining = buf.len(),
                "undecodable message record, rest of the body ignored"
            );
            break;
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
        let total = 91 + body.len() + topic.len() + props.len();
        let mut v = Vec::new();
        v.extend_from_slice(&(total as i32).to_be_bytes());
        v.extend_from_slice(&MAGIC_V1.to_be_bytes());
        v.extend_from_slice(&0i32.to_be_bytes());
        v.extend_from_slice(&1i32.to_be_bytes()); // queue id
        v.extend_from_slice(&7i32.to_be_bytes()); // flag
        v.extend_from_slice(&queue_offset.to_be_bytes());
        v.extend_from_slice(&phy.to_be_bytes());
        v.extend_from_slice(&0i32.to_be_bytes());
        v.extend_from_slice(&11i64.to_be_bytes());
        v.extend_from_slice(&[10, 0, 0, 1]);
        v.extend_from_slice(&5555i32.to_be_bytes());
        v.extend_from_slice(&12i64.to_be_bytes());
        v.extend_from_slice(&[127, 0, 0, 1]);
        v.extend_from_slice(&10911i32.to_be_bytes());
        v.extend_from_slice(&2i32.to_be_bytes()); // reconsume
        v.extend_from_slice(&0i64.to_be_bytes());
        v.extend_from_slice(&(body.len() as i32).to_be_bytes());
        v.extend_from_slice(body);
        v.push(topic.len() as u8);
        v.extend_from_slice(topic.as_bytes());
        v.extend_from_slice(&(props.len() as i16).to_be_bytes());
        v.extend_from_slice(props.as_bytes());
        assert_eq!(v.len(), total);
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
