//! ROCKETMQ binary header (serialize type 1), protocol.md §1.4.
//!
//! ```text
//!  offset size  field
//!  0      2     code        i16 BE
//!  2      1     language    u8
//!  3      2     version     i16 BE
//!  5      4     opaque      i32 BE
//!  9      4     flag        i32 BE
//!  13     4     remark_len  i32 BE  (0 = null)
//!  17     R     remark      UTF-8
//!  17+R   4     ext_len     i32 BE  (0 = none)
//!  21+R   E     ext map     { key_len i16 BE, key, val_len i32 BE, val }*
//! ```
//!
//! Decoding is strict about lengths: every length must be non-negative and fit, the entries
//! must fill `ext_len` exactly and nothing may follow the map.

use bytes::BufMut;

use super::{EncodeError, HeaderDecodeError, RemotingCommand};
use crate::codes::language::LanguageCode;
use crate::ext::ExtFields;
use crate::reader::Reader;

fn length(r: &mut Reader<'_>, what: &'static str) -> Result<usize, HeaderDecodeError> {
    let len = r.i32(what)?;
    usize::try_from(len).map_err(|_| HeaderDecodeError::NegativeLength { what, len })
}

fn text(r: &mut Reader<'_>, len: usize, what: &'static str) -> Result<String, HeaderDecodeError> {
    let raw = r.bytes(len, what)?;
    std::str::from_utf8(raw)
        .map(str::to_owned)
        .map_err(|_| HeaderDecodeError::Utf8 { what })
}

/// The code, opaque and flag of a binary header that [`decode_rocketmq_header`] refused (they
/// sit at fixed offsets): `None` when the header is shorter than 13 bytes.
pub fn salvage_rocketmq_header(header: &[u8]) -> Option<RemotingCommand> {
    let mut r = Reader::new(header);
    let code = i32::from(r.i16("code").ok()?);
    r.u8("language").ok()?;
    r.i16("version").ok()?;
    let opaque = r.i32("opaque").ok()?;
    let flag = r.i32("flag").ok()?;
    Some(RemotingCommand {
        code,
        opaque,
        flag,
        ..RemotingCommand::request(0)
    })
}

/// Parses a ROCKETMQ binary header. The returned command has an empty body.
pub fn decode_rocketmq_header(header: &[u8]) -> Result<RemotingCommand, HeaderDecodeError> {
    let mut r = Reader::new(header);
    let code = i32::from(r.i16("code")?);
    let language = LanguageCode::from_byte(r.u8("language")?);
    let version = i32::from(r.i16("version")?);
    let opaque = r.i32("opaque")?;
    let flag = r.i32("flag")?;
    let remark_len = length(&mut r, "remark length")?;
    let remark = if remark_len == 0 {
        None
    } else {
        Some(text(&mut r, remark_len, "remark")?)
    };
    let ext_len = length(&mut r, "ext map length")?;
    let map = r.bytes(ext_len, "ext map")?;
    if r.remaining() > 0 {
        return Err(HeaderDecodeError::TrailingBytes(r.remaining()));
    }
    let mut ext_fields = ExtFields::new();
    let mut m = Reader::new(map);
    while m.remaining() > 0 {
        let key_len = m.i16("ext key length")?;
        let key_len = usize::try_from(key_len).map_err(|_| HeaderDecodeError::NegativeLength {
            what: "ext key",
            len: i32::from(key_len),
        })?;
        let key = text(&mut m, key_len, "ext key")?;
        let val_len = length(&mut m, "ext value length")?;
        let val = text(&mut m, val_len, "ext value")?;
        ext_fields.insert(key, val);
    }
    Ok(RemotingCommand {
        code,
        language,
        version,
        opaque,
        flag,
        remark,
        ext_fields,
        body: bytes::Bytes::new(),
    })
}

fn i16_field(what: &'static str, value: i64) -> Result<i16, EncodeError> {
    i16::try_from(value).map_err(|_| EncodeError::OutOfRange { what, value })
}

fn i32_len(what: &'static str, len: usize) -> Result<i32, EncodeError> {
    i32::try_from(len).map_err(|_| EncodeError::OutOfRange {
        what,
        value: len as i64,
    })
}

/// Writes `cmd`'s header in the ROCKETMQ binary form. Fails when `code` or `version` do not
/// fit an i16 (pop codes, §2.1) or a length overflows its field. `Some("")` remarks are
/// written as length 0 and so decode as `None`.
pub fn write_rocketmq_header(cmd: &RemotingCommand, out: &mut impl BufMut) -> Result<(), EncodeError> {
    let code = i16_field("code", i64::from(cmd.code))?;
    let version = i16_field("version", i64::from(cmd.version))?;
    let remark = cmd.remark.as_deref().unwrap_or("");
    let remark_len = i32_len("remark length", remark.len())?;
    let mut ext_len = 0usize;
    for (k, v) in &cmd.ext_fields {
        i16_field("ext key length", k.len() as i64)?;
        i32_len("ext value length", v.len())?;
        ext_len = ext_len.saturating_add(2 + k.len() + 4 + v.len());
    }
    let ext_len_i32 = i32_len("ext map length", ext_len)?;
    out.put_i16(code);
    out.put_u8(cmd.language.byte());
    out.put_i16(version);
    out.put_i32(cmd.opaque);
    out.put_i32(cmd.flag);
    out.put_i32(remark_len);
    out.put_slice(remark.as_bytes());
    out.put_i32(ext_len_i32);
    for (k, v) in &cmd.ext_fields {
        out.put_i16(k.len() as i16);
        out.put_slice(k.as_bytes());
        out.put_i32(v.len() as i32);
        out.put_slice(v.as_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_lengths() {
        let mut good = Vec::new();
        let cmd = RemotingCommand::request(11).with_remark("r").with_ext("k", "v");
        write_rocketmq_header(&cmd, &mut good).unwrap();
        assert_eq!(decode_rocketmq_header(&good).unwrap(), cmd);
        // Every truncation fails cleanly.
        for n in 0..good.len() {
            assert!(decode_rocketmq_header(&good[..n]).is_err(), "prefix {n}");
        }
        // Trailing byte.
        let mut long = good.clone();
        long.push(0);
        assert!(matches!(
            decode_rocketmq_header(&long),
            Err(HeaderDecodeError::TrailingBytes(1))
        ));
        // Negative remark length.
        let mut neg = good.clone();
        neg[13..17].copy_from_slice(&(-1i32).to_be_bytes());
        assert!(matches!(
            decode_rocketmq_header(&neg),
            Err(HeaderDecodeError::NegativeLength { .. })
        ));
        // Code out of i16 range cannot be encoded.
        let pop = RemotingCommand::request(200_050);
        assert!(write_rocketmq_header(&pop, &mut Vec::new()).is_err());
    }
}
