//! fastjson compatibility (protocol.md §2.4).
//!
//! fastjson 1.x, which the Java side uses, writes map keys that are not strings **without
//! quotes** (`{0:"ip:port"}`) and keys that are beans as JSON objects
//! (`{{"brokerName":"b","queueId":0,"topic":"T"}:{…}}`). It also parses leniently.
//!
//! * [`to_vec`] serialises any serde value with a [`JsonStyle`]: standard, fastjson's unquoted
//!   integer keys, or `BrowserCompatible` (`\uXXXX` for non-ASCII).
//! * [`write_mq_map`] writes a `MessageQueue`-keyed map in the object-key form Java tools
//!   require; [`deserialize_mq_map`] reads it back (after [`normalize`]).
//! * [`from_slice`] parses standard JSON, and falls back to [`normalize`] (unquoted keys,
//!   object keys, single quotes) when that fails.

use std::collections::BTreeMap;
use std::io;

use serde::de::{DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::ser::{CharEscape, CompactFormatter, Formatter};

use super::common::MessageQueue;
use super::BodyError;
use crate::frame::json_header::put_json_str;

/// How to write JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonStyle {
    /// Write integer map keys without quotes (fastjson's default for `Map<Long,…>` etc.).
    pub unquoted_int_keys: bool,
    /// Escape every non-ASCII character as `\uXXXX` (fastjson `BrowserCompatible`).
    pub escape_non_ascii: bool,
}

impl JsonStyle {
    /// Standard, compact JSON.
    pub const STANDARD: JsonStyle = JsonStyle {
        unquoted_int_keys: false,
        escape_non_ascii: false,
    };
    /// fastjson default: integer map keys unquoted.
    pub const FASTJSON: JsonStyle = JsonStyle {
        unquoted_int_keys: true,
        escape_non_ascii: false,
    };
    /// fastjson with `BrowserCompatible`, used for route data sent to clients ≥ 4.9.4:
    /// quoted keys, non-ASCII escaped.
    pub const BROWSER_COMPATIBLE: JsonStyle = JsonStyle {
        unquoted_int_keys: false,
        escape_non_ascii: true,
    };
}

/// A compact formatter that can leave integer keys unquoted and escape non-ASCII text.
struct StyleFormatter {
    style: JsonStyle,
    in_key: bool,
    /// A key's opening quote is held back until we know whether the key is a number.
    quote_pending: bool,
    numeric_key: bool,
}

impl StyleFormatter {
    fn flush_quote<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        if self.quote_pending {
            self.quote_pending = false;
            w.write_all(b"\"")?;
        }
        Ok(())
    }

    /// Called before an integer is written: inside a held-back key it becomes a bare key.
    fn before_int(&mut self) {
        if self.quote_pending {
            self.quote_pending = false;
            self.numeric_key = true;
        }
    }
}

macro_rules! int_writers {
    ($($method:ident: $t:ty),*) => {$(
        fn $method<W: ?Sized + io::Write>(&mut self, w: &mut W, value: $t) -> io::Result<()> {
            self.before_int();
            CompactFormatter.$method(w, value)
        }
    )*};
}

impl Formatter for StyleFormatter {
    int_writers!(
        write_i8: i8, write_i16: i16, write_i32: i32, write_i64: i64, write_i128: i128,
        write_u8: u8, write_u16: u16, write_u32: u32, write_u64: u64, write_u128: u128
    );

    fn begin_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.in_key = true;
        CompactFormatter.begin_object_key(w, first)
    }

    fn end_object_key<W: ?Sized + io::Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.in_key = false;
        Ok(())
    }

    fn begin_string<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        if self.in_key && self.style.unquoted_int_keys {
            self.quote_pending = true;
            Ok(())
        } else {
            w.write_all(b"\"")
        }
    }

    fn end_string<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        if self.numeric_key {
            self.numeric_key = false;
            Ok(())
        } else {
            // An empty string key never flushed its opening quote.
            self.flush_quote(w)?;
            w.write_all(b"\"")
        }
    }

    fn write_string_fragment<W: ?Sized + io::Write>(&mut self, w: &mut W, fragment: &str) -> io::Result<()> {
        self.flush_quote(w)?;
        if !self.style.escape_non_ascii || fragment.is_ascii() {
            return w.write_all(fragment.as_bytes());
        }
        let mut units = [0u16; 2];
        for c in fragment.chars() {
            if c.is_ascii() {
                w.write_all(&[c as u8])?;
            } else {
                for unit in c.encode_utf16(&mut units).iter() {
                    write!(w, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }

    fn write_char_escape<W: ?Sized + io::Write>(&mut self, w: &mut W, escape: CharEscape) -> io::Result<()> {
        self.flush_quote(w)?;
        CompactFormatter.write_char_escape(w, escape)
    }
}

/// Serialises `value` as compact JSON in `style`.
///
/// Serialising the types of this crate cannot fail (the writer is a `Vec` and every map is
/// keyed by strings or integers); should a foreign `Serialize` impl fail, the partial output
/// is returned and a debug build asserts.
pub fn to_vec<T: Serialize + ?Sized>(value: &T, style: JsonStyle) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    append(&mut out, value, style);
    out
}

/// Appends `value` as compact JSON in `style` (see [`to_vec`]).
pub fn append<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T, style: JsonStyle) {
    let formatter = StyleFormatter {
        style,
        in_key: false,
        quote_pending: false,
        numeric_key: false,
    };
    let mut ser = serde_json::Serializer::with_formatter(&mut *out, formatter);
    let result = value.serialize(&mut ser);
    debug_assert!(result.is_ok(), "serialising a body failed: {result:?}");
}

/// Writes `{MessageQueue:value,…}` with the keys as JSON objects, as fastjson does for
/// `Map<MessageQueue,…>` (§2.4): `{{"brokerName":"b","queueId":0,"topic":"T"}:{…}}`. Java
/// tools accept nothing else.
pub fn write_mq_map<V: Serialize>(out: &mut Vec<u8>, map: &BTreeMap<MessageQueue, V>) {
    out.push(b'{');
    for (i, (mq, value)) in map.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        append(out, mq, JsonStyle::STANDARD);
        out.push(b':');
        append(out, value, JsonStyle::STANDARD);
    }
    out.push(b'}');
}

/// Writes `"key":` (a quoted key and the colon).
pub(crate) fn write_key(out: &mut Vec<u8>, key: &str) {
    put_json_str(out, key);
    out.push(b':');
}

/// serde `deserialize_with` for a `MessageQueue`-keyed map. After [`normalize`], object keys
/// arrive as strings holding the key's JSON, which is parsed here.
pub fn deserialize_mq_map<'de, D, V>(d: D) -> Result<BTreeMap<MessageQueue, V>, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de>,
{
    let raw = Option::<BTreeMap<String, V>>::deserialize(d)?.unwrap_or_default();
    let mut out = BTreeMap::new();
    for (key, value) in raw {
        let mq: MessageQueue = from_slice(key.as_bytes()).map_err(serde::de::Error::custom)?;
        out.insert(mq, value);
    }
    Ok(out)
}

/// Parses `bytes` as JSON; when that fails, as fastjson's relaxed JSON (see [`normalize`]).
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BodyError> {
    match serde_json::from_slice(bytes) {
        Ok(v) => Ok(v),
        Err(first) if first.is_syntax() || first.is_eof() => {
            let normal = normalize(bytes)?;
            Ok(serde_json::from_slice(&normal)?)
        }
        Err(other) => Err(other.into()),
    }
}

/// Deepest nesting [`normalize`] follows.
pub const MAX_DEPTH: usize = 128;

/// Rewrites fastjson's relaxed JSON as standard JSON:
///
/// * unquoted keys (`{0:"a"}`, `{key:1}`) are quoted;
/// * object or array keys (`{{"topic":"T"}:1}`) become strings holding their compact JSON;
/// * single-quoted strings become double-quoted;
/// * whitespace outside strings is dropped.
///
/// Values are otherwise copied; the result still has to be parsed (by serde_json) to be
/// validated. Nesting deeper than [`MAX_DEPTH`] is an error, so is anything that is not one
/// value.
pub fn normalize(bytes: &[u8]) -> Result<Vec<u8>, BodyError> {
    let mut n = Normalizer { src: bytes, pos: 0 };
    let mut out = Vec::with_capacity(bytes.len() + 16);
    n.value(&mut out, 0)?;
    n.skip_ws();
    if n.pos < bytes.len() {
        return Err(n.error("trailing characters"));
    }
    Ok(out)
}

struct Normalizer<'a> {
    src: &'a [u8],
    pos: usize,
}

fn is_bare(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+' | b'.' | b'$')
}

impl Normalizer<'_> {
    fn error(&self, reason: &'static str) -> BodyError {
        BodyError::Syntax {
            offset: self.pos,
            reason,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn next(&mut self) -> Result<u8, BodyError> {
        let b = self.peek().ok_or_else(|| self.error("unexpected end"))?;
        self.pos += 1;
        Ok(b)
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn value(&mut self, out: &mut Vec<u8>, depth: usize) -> Result<(), BodyError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        self.skip_ws();
        match self.peek() {
            None => Err(self.error("unexpected end")),
            Some(b'{') => self.object(out, depth),
            Some(b'[') => self.array(out, depth),
            Some(b'"') => self.double_quoted(out),
            Some(b'\'') => self.single_quoted(out),
            Some(_) => {
                let token = self.bare()?;
                out.extend_from_slice(token);
                Ok(())
            }
        }
    }

    fn bare(&mut self) -> Result<&[u8], BodyError> {
        let start = self.pos;
        while self.peek().is_some_and(is_bare) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.error("unexpected character"));
        }
        self.src
            .get(start..self.pos)
            .ok_or_else(|| self.error("unexpected end"))
    }

    fn object(&mut self, out: &mut Vec<u8>, depth: usize) -> Result<(), BodyError> {
        self.pos += 1;
        out.push(b'{');
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            out.push(b'}');
            return Ok(());
        }
        loop {
            self.key(out, depth)?;
            self.skip_ws();
            if self.next()? != b':' {
                return Err(self.error("expected ':'"));
            }
            out.push(b':');
            self.value(out, depth + 1)?;
            self.skip_ws();
            match self.next()? {
                b',' => out.push(b','),
                b'}' => {
                    out.push(b'}');
                    return Ok(());
                }
                _ => return Err(self.error("expected ',' or '}'")),
            }
        }
    }

    fn array(&mut self, out: &mut Vec<u8>, depth: usize) -> Result<(), BodyError> {
        self.pos += 1;
        out.push(b'[');
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            out.push(b']');
            return Ok(());
        }
        loop {
            self.value(out, depth + 1)?;
            self.skip_ws();
            match self.next()? {
                b',' => out.push(b','),
                b']' => {
                    out.push(b']');
                    return Ok(());
                }
                _ => return Err(self.error("expected ',' or ']'")),
            }
        }
    }

    fn key(&mut self, out: &mut Vec<u8>, depth: usize) -> Result<(), BodyError> {
        self.skip_ws();
        match self.peek() {
            Some(b'"') => self.double_quoted(out),
            Some(b'\'') => self.single_quoted(out),
            Some(b'{' | b'[') => {
                let mut inner = Vec::new();
                self.value(&mut inner, depth + 1)?;
                let text = std::str::from_utf8(&inner).map_err(|_| self.error("key is not UTF-8"))?;
                put_json_str(out, text);
                Ok(())
            }
            _ => {
                let token = self.bare()?;
                out.push(b'"');
                out.extend_from_slice(token);
                out.push(b'"');
                Ok(())
            }
        }
    }

    fn double_quoted(&mut self, out: &mut Vec<u8>) -> Result<(), BodyError> {
        let start = self.pos;
        self.pos += 1;
        loop {
            match self.next()? {
                b'\\' => {
                    self.next()?;
                }
                b'"' => break,
                _ => {}
            }
        }
        out.extend_from_slice(self.src.get(start..self.pos).unwrap_or_default());
        Ok(())
    }

    fn single_quoted(&mut self, out: &mut Vec<u8>) -> Result<(), BodyError> {
        self.pos += 1;
        out.push(b'"');
        loop {
            match self.next()? {
                b'\\' => match self.next()? {
                    b'\'' => out.push(b'\''),
                    other => out.extend_from_slice(&[b'\\', other]),
                },
                b'\'' => break,
                b'"' => out.extend_from_slice(b"\\\""),
                other => out.push(other),
            }
        }
        out.push(b'"');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquoted_int_keys() {
        let mut m = BTreeMap::new();
        m.insert(0i64, "a:1".to_string());
        m.insert(1i64, "b".to_string());
        let mut outer = BTreeMap::new();
        outer.insert("x", m);
        assert_eq!(to_vec(&outer, JsonStyle::FASTJSON), br#"{"x":{0:"a:1",1:"b"}}"#);
        assert_eq!(
            to_vec(&outer, JsonStyle::STANDARD),
            br#"{"x":{"0":"a:1","1":"b"}}"#
        );
        let mut e = BTreeMap::new();
        e.insert(String::new(), 1);
        e.insert("q\"".into(), 2);
        assert_eq!(to_vec(&e, JsonStyle::FASTJSON), br#"{"":1,"q\"":2}"#);
    }

    #[test]
    fn browser_compatible_escapes() {
        let v = vec!["é€😀", "a\n"];
        assert_eq!(
            to_vec(&v, JsonStyle::BROWSER_COMPATIBLE),
            br#"["\u00e9\u20ac\ud83d\ude00","a\n"]"#
        );
        let back: Vec<String> = serde_json::from_slice(&to_vec(&v, JsonStyle::BROWSER_COMPATIBLE)).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn normalizes_fastjson() {
        let n =
            normalize(br#" {0:"ip:1", 'k' : 'it''s', {"topic":"T","queueId":0}: [1, -2.5e3, true, null] } "#);
        assert!(n.is_err()); // '' inside a single-quoted string ends it
        let n = normalize(br#"{0:"ip:1",'k':'it\'s "x"',{"topic":"T","queueId":0}:[1,-2.5e3,true,null]}"#)
            .unwrap();
        assert_eq!(
            String::from_utf8(n).unwrap(),
            r#"{"0":"ip:1","k":"it's \"x\"","{\"topic\":\"T\",\"queueId\":0}":[1,-2.5e3,true,null]}"#
        );
        assert!(normalize(b"{").is_err());
        assert!(normalize(b"{a}").is_err());
        assert!(normalize(b"[1,]").is_err());
        assert!(normalize(b"1 2").is_err());
        let deep = "[".repeat(MAX_DEPTH + 10);
        assert!(normalize(deep.as_bytes()).is_err());
    }

    #[test]
    fn from_slice_falls_back() {
        let m: BTreeMap<i64, String> = from_slice(br#"{0:"a",1:"b"}"#).unwrap();
        assert_eq!(m.get(&1).map(String::as_str), Some("b"));
        let m: BTreeMap<i64, String> = from_slice(br#"{"0":"a"}"#).unwrap();
        assert_eq!(m.len(), 1);
        assert!(from_slice::<BTreeMap<i64, String>>(br#"{x:"a"}"#).is_err());
    }
}
