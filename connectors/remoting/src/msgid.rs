//! offsetMsgId: the broker-assigned message id, store host + physical offset in upper-case hex
//! (protocol.md §3.7). SEND responses, pulled messages, VIEW_MESSAGE_BY_ID and END_TRANSACTION
//! carry it.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::message::{canonical_host, put_host};
use crate::reader::Reader;

/// Why a string is not an offsetMsgId.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MsgIdError {
    #[error("message id has {0} characters; expected 32 (IPv4) or 56 (IPv6)")]
    BadLength(usize),
    #[error("message id is not hexadecimal")]
    NotHex,
}

/// The offsetMsgId of the record at `physical_offset` stored by `store_host` (an IPv4-mapped
/// host counts as IPv4, as the stored record writes it).
pub fn offset_msg_id(store_host: SocketAddr, physical_offset: u64) -> String {
    let mut bytes = Vec::with_capacity(28);
    put_host(&mut bytes, canonical_host(store_host));
    bytes.extend_from_slice(&physical_offset.to_be_bytes());
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02X}");
    }
    s
}

/// Splits an offsetMsgId into the store host and the physical offset.
pub fn parse_offset_msg_id(id: &str) -> Result<(SocketAddr, u64), MsgIdError> {
    let v6 = match id.len() {
        32 => false,
        56 => true,
        n => return Err(MsgIdError::BadLength(n)),
    };
    let mut bytes = Vec::with_capacity(id.len() / 2);
    for pair in id.as_bytes().chunks(2) {
        let s = std::str::from_utf8(pair).map_err(|_| MsgIdError::NotHex)?;
        bytes.push(u8::from_str_radix(s, 16).map_err(|_| MsgIdError::NotHex)?);
    }
    // The length was checked, so these reads cannot come up short.
    let mut r = Reader::new(&bytes);
    let short = |_| MsgIdError::BadLength(id.len());
    let ip = if v6 {
        IpAddr::V6(Ipv6Addr::from(r.array::<16>("ip").map_err(short)?))
    } else {
        IpAddr::V4(Ipv4Addr::from(r.array::<4>("ip").map_err(short)?))
    };
    let port = r.i32("port").map_err(short)?;
    let offset = r.i64("offset").map_err(short)?;
    Ok((SocketAddr::new(ip, port as u16), offset as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_ipv4() {
        let host: SocketAddr = "192.168.0.1:10911".parse().unwrap();
        let id = offset_msg_id(host, 0x000A_1B2C);
        assert_eq!(id, "C0A8000100002A9F00000000000A1B2C");
        assert_eq!(parse_offset_msg_id(&id).unwrap(), (host, 0x000A_1B2C));
        let mapped: SocketAddr = "[::ffff:192.168.0.1]:10911".parse().unwrap();
        assert_eq!(offset_msg_id(mapped, 0x000A_1B2C), id);
    }

    #[test]
    fn ipv6_round_trip_and_errors() {
        let host: SocketAddr = "[2001:db8::1]:10911".parse().unwrap();
        let id = offset_msg_id(host, 42);
        assert_eq!(id.len(), 56);
        assert_eq!(parse_offset_msg_id(&id).unwrap(), (host, 42));
        assert_eq!(parse_offset_msg_id("abc"), Err(MsgIdError::BadLength(3)));
        assert_eq!(
            parse_offset_msg_id("ZZA8000100002A9F00000000000A1B2C"),
            Err(MsgIdError::NotHex)
        );
        assert_eq!(
            parse_offset_msg_id("é8000100002A9F00000000000A1B2C0"),
            Err(MsgIdError::NotHex)
        );
    }
}
