//! JSON header (serialize type 0), protocol.md §1.3.
//!
//! Output is what fastjson writes: compact, top-level keys in alphabetical order, null values
//! omitted, `language` as its name, `extFields` values as strings, plus
//! `"serializeTypeCurrentRPC":"JSON"`. Input is lenient: numbers/booleans/null inside
//! `extFields`, `remark` absent/null/`""`, unknown top-level keys, a missing
//! `serializeTypeCurrentRPC`, unknown language names.

use std::collections::BTreeMap;

use bytes::BufMut;
use serde::Deserialize;

use super::{HeaderDecodeError, RemotingCommand};
use crate::codes::language::LanguageCode;
use crate::lenient::{self, Scalar};

#[derive(Deserialize)]
struct WireHeader {
    #[serde(default, deserialize_with = "lenient::i32")]
    code: i32,
    #[serde(default)]
    language: Option<Scalar>,
    #[serde(default, deserialize_with = "lenient::i32")]
    version: i32,
    #[serde(default, deserialize_with = "lenient::i32")]
    opaque: i32,
    #[serde(default, deserialize_with = "lenient::i32")]
    flag: i32,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    remark: Option<String>,
    #[serde(default, rename = "extFields")]
    ext_fields: Option<BTreeMap<String, Scalar>>,
}

fn language_of(scalar: Option<Scalar>) -> LanguageCode {
    match scalar {
        None | Some(Scalar::Null) => LanguageCode::Java,
        Some(Scalar::Str(name)) => LanguageCode::from_name(&name),
        Some(Scalar::I64(n)) if (0..=255).contains(&n) => LanguageCode::from_byte(n as u8),
        Some(Scalar::U64(n)) if n <= 255 => LanguageCode::from_byte(n as u8),
        Some(other) => LanguageCode::UnknownName(other.into_ext_text().unwrap_or_default()),
    }
}

/// Parses a JSON header. The returned command has an empty body.
pub fn decode_json_header(header: &[u8]) -> Result<RemotingCommand, HeaderDecodeError> {
    // serde would also accept a JSON array for a struct; a header must be an object.
    if header.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(HeaderDecodeError::NotAnObject);
    }
    let wire: WireHeader = serde_json::from_slice(header)?;
    let ext_fields = wire
        .ext_fields
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| v.into_ext_text().map(|v| (k, v)))
        .collect();
    Ok(RemotingCommand {
        code: wire.code,
        language: language_of(wire.language),
        version: wire.version,
        opaque: wire.opaque,
        flag: wire.flag,
        remark: wire.remark,
        ext_fields,
        body: bytes::Bytes::new(),
    })
}

/// The code, opaque and flag of a JSON header that [`decode_json_header`] refused, when it is
/// still a JSON object with an integer `opaque` (as a number or a numeric string); `code` and
/// `flag` default to 0 when unreadable. `None` when nothing identifies the request.
pub fn salvage_json_header(header: &[u8]) -> Option<RemotingCommand> {
    let serde_json::Value::Object(map) = serde_json::from_slice(header).ok()? else {
        return None;
    };
    let int = |key: &str| -> Option<i32> {
        match map.get(key)? {
            serde_json::Value::Number(n) => n.as_i64().and_then(|n| i32::try_from(n).ok()),
            serde_json::Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    };
    let opaque = int("opaque")?;
    Some(RemotingCommand {
        code: int("code").unwrap_or(0),
        flag: int("flag").unwrap_or(0),
        opaque,
        ..RemotingCommand::request(0)
    })
}

/// Writes `cmd`'s header as fastjson would (see the module docs). `extFields` is omitted when
/// empty, `remark` when `None`.
pub fn write_json_header(cmd: &RemotingCommand, out: &mut impl BufMut) {
    out.put_slice(b"{\"code\":");
    put_int(out, i64::from(cmd.code));
    if !cmd.ext_fields.is_empty() {
        out.put_slice(b",\"extFields\":{");
        for (i, (k, v)) in cmd.ext_fields.iter().enumerate() {
            if i > 0 {
                out.put_u8(b',');
            }
            put_json_str(out, k);
            out.put_u8(b':');
            put_json_str(out, v);
        }
        out.put_u8(b'}');
    }
    out.put_slice(b",\"flag\":");
    put_int(out, i64::from(cmd.flag));
    out.put_slice(b",\"language\":");
    put_json_str(out, cmd.language.name());
    out.put_slice(b",\"opaque\":");
    put_int(out, i64::from(cmd.opaque));
    if let Some(remark) = &cmd.remark {
        out.put_slice(b",\"remark\":");
        put_json_str(out, remark);
    }
    out.put_slice(b",\"serializeTypeCurrentRPC\":\"JSON\",\"version\":");
    put_int(out, i64::from(cmd.version));
    out.put_u8(b'}');
}

fn put_int(out: &mut impl BufMut, n: i64) {
    out.put_slice(n.to_string().as_bytes());
}

/// A JSON string literal: `"` and `\` escaped, control characters as `\n`-style or `\u00XX`
/// escapes, everything else (including non-ASCII UTF-8) verbatim.
pub(crate) fn put_json_str(out: &mut impl BufMut, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.put_u8(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0x08 => Some(b"\\b"),
            0x0C => Some(b"\\f"),
            _ => None,
        };
        if escape.is_none() && b >= 0x20 {
            continue;
        }
        out.put_slice(bytes.get(start..i).unwrap_or_default());
        match escape {
            Some(e) => out.put_slice(e),
            None => {
                let hi = HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
                let lo = HEX.get(usize::from(b & 0xF)).copied().unwrap_or(b'0');
                out.put_slice(&[b'\\', b'u', b'0', b'0', hi, lo]);
            }
        }
        start = i + 1;
    }
    out.put_slice(bytes.get(start..).unwrap_or_default());
    out.put_u8(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_text(cmd: &RemotingCommand) -> String {
        let mut v = Vec::new();
        write_json_header(cmd, &mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn writes_fastjson_order() {
        let cmd = RemotingCommand::request(105)
            .with_opaque(3)
            .with_ext("topic", "T\"1\n")
            .with_ext("acceptStandardJsonOnly", "true");
        assert_eq!(
            header_text(&cmd),
            r#"{"code":105,"extFields":{"acceptStandardJsonOnly":"true","topic":"T\"1\n"},"flag":0,"language":"JAVA","opaque":3,"serializeTypeCurrentRPC":"JSON","version":409}"#
        );
        let resp = RemotingCommand::response(0).with_remark("é\u{1}");
        assert_eq!(
            header_text(&resp),
            "{\"code\":0,\"flag\":1,\"language\":\"JAVA\",\"opaque\":0,\"remark\":\"é\\u0001\",\"serializeTypeCurrentRPC\":\"JSON\",\"version\":409}"
        );
    }

    #[test]
    fn reads_client_quirks() {
        // ali-ons: numbers and booleans in extFields, no remark, no serializeTypeCurrentRPC.
        let h = br#"{"code":310,"language":"JAVA","version":121,"opaque":5,"flag":0,
            "extFields":{"a":"g","b":"T","e":0,"k":false,"g":1700000000000,"x":null,"f":1.5}}"#;
        let cmd = decode_json_header(h).unwrap();
        assert_eq!(cmd.ext("e"), Some("0"));
        assert_eq!(cmd.ext("k"), Some("false"));
        assert_eq!(cmd.ext("g"), Some("1700000000000"));
        assert_eq!(cmd.ext("f"), Some("1.5"));
        assert_eq!(cmd.ext("x"), None);
        assert_eq!(cmd.remark, None);
        // C++: empty remark, empty ACL fields, unknown top-level keys.
        let h = br#"{"code":34,"language":"CPP","version":333,"opaque":1,"flag":0,"remark":"",
            "extFields":{"Signature":"","AccessKey":"","OnsChannel":""},"unknown":{"deep":[1,2]}}"#;
        let cmd = decode_json_header(h).unwrap();
        assert_eq!(cmd.remark.as_deref(), Some(""));
        assert_eq!(cmd.language, LanguageCode::Cpp);
        assert_eq!(cmd.ext("Signature"), Some(""));
        // null remark and extFields, unknown language.
        let cmd =
            decode_json_header(br#"{"code":1,"language":"ZIG","remark":null,"extFields":null}"#).unwrap();
        assert_eq!(cmd.language, LanguageCode::UnknownName("ZIG".into()));
        assert!(cmd.ext_fields.is_empty() && cmd.remark.is_none());
        // Not an object / nested ext value / bad code → errors.
        assert!(decode_json_header(b"[1]").is_err());
        assert!(decode_json_header(br#"{"extFields":{"a":{"b":1}}}"#).is_err());
        assert!(decode_json_header(br#"{"code":"x"}"#).is_err());
        assert!(decode_json_header(b"{\"code\":1} trailing").is_err());
    }
}
