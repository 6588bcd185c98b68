//! serde helpers that accept JSON the way fastjson does (protocol.md §1.3, §2.4): numbers for
//! strings, strings for numbers, `0`/`1` for booleans, `null` for "default".
//!
//! Use with `#[serde(default, deserialize_with = "crate::lenient::i32")]` and friends on fields
//! of bodies that clients send (heartbeats, lock bodies, register bodies), and for `extFields`
//! values in JSON headers ([`Scalar::into_ext_text`]).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};

/// Any JSON scalar, as read from the input.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    Str(String),
}

impl Scalar {
    /// fastjson's coercion of a JSON scalar to text: numbers and booleans in their canonical
    /// form (`0`, `12`, `1.5`, `false`), strings verbatim, `null` → `None` (ignored).
    pub fn into_ext_text(self) -> Option<String> {
        match self {
            Scalar::Null => None,
            Scalar::Bool(b) => Some(if b { "true" } else { "false" }.to_owned()),
            Scalar::I64(n) => Some(n.to_string()),
            Scalar::U64(n) => Some(n.to_string()),
            Scalar::F64(f) => Some(f.to_string()),
            Scalar::Str(s) => Some(s),
        }
    }

    fn to_i64(&self) -> Result<i64, String> {
        match self {
            Scalar::Null => Ok(0),
            Scalar::Bool(b) => Ok(i64::from(*b)),
            Scalar::I64(n) => Ok(*n),
            Scalar::U64(n) => i64::try_from(*n).map_err(|_| format!("{n} is out of range")),
            Scalar::F64(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(*f as i64),
            Scalar::F64(f) => Err(format!("{f} is not an integer")),
            Scalar::Str(s) => {
                let t = s.trim();
                if t.is_empty() {
                    Ok(0)
                } else {
                    t.parse().map_err(|_| format!("{t:?} is not an integer"))
                }
            }
        }
    }

    fn to_i32(&self) -> Result<i32, String> {
        let n = self.to_i64()?;
        i32::try_from(n).map_err(|_| format!("{n} is out of the int range"))
    }

    fn to_bool(&self) -> bool {
        match self {
            Scalar::Null => false,
            Scalar::Bool(b) => *b,
            Scalar::I64(n) => *n != 0,
            Scalar::U64(n) => *n != 0,
            Scalar::F64(f) => *f != 0.0,
            Scalar::Str(s) => crate::ext::parse_bool(s.trim()),
        }
    }

    fn to_f64(&self) -> Result<f64, String> {
        match self {
            Scalar::Null => Ok(0.0),
            Scalar::Bool(b) => Ok(f64::from(u8::from(*b))),
            Scalar::I64(n) => Ok(*n as f64),
            Scalar::U64(n) => Ok(*n as f64),
            Scalar::F64(f) => Ok(*f),
            Scalar::Str(s) => {
                let t = s.trim();
                if t.is_empty() {
                    Ok(0.0)
                } else {
                    // JSON has no infinity or NaN (they would write back as null): as serde_json
                    // refuses 1e400, so is "1e400", "inf" or "NaN".
                    t.parse::<f64>()
                        .ok()
                        .filter(|f| f.is_finite())
                        .ok_or_else(|| format!("{t:?} is not a finite number"))
                }
            }
        }
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, number, boolean or null")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::I64(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar::U64(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar::F64(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
        Ok(Scalar::Str(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scalar, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

/// An i32 from a number, numeric string, boolean or null (→ 0).
pub fn i32<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    Scalar::deserialize(d)?.to_i32().map_err(de::Error::custom)
}

/// An i64 from a number, numeric string, boolean or null (→ 0).
pub fn i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    Scalar::deserialize(d)?.to_i64().map_err(de::Error::custom)
}

/// An f64 from a number, numeric string, boolean or null (→ 0).
pub fn f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Scalar::deserialize(d)?.to_f64().map_err(de::Error::custom)
}

/// A bool from a boolean, `0`/`1`, `"true"`/`"false"` (any case) or null (→ false).
pub fn bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Scalar::deserialize(d)?.to_bool())
}

/// A string from a string, number or boolean; null → empty.
pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Scalar::deserialize(d)?.into_ext_text().unwrap_or_default())
}

/// An optional string from a string, number or boolean; null → `None`.
pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Scalar::deserialize(d)?.into_ext_text())
}

/// An optional i64; null → `None`.
pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Scalar::deserialize(d)? {
        Scalar::Null => Ok(None),
        s => s.to_i64().map(Some).map_err(de::Error::custom),
    }
}

/// An optional bool; null → `None`.
pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Scalar::deserialize(d)? {
        Scalar::Null => Ok(None),
        s => Ok(Some(s.to_bool())),
    }
}

/// Any deserializable value, with `null` read as its `Default` (fastjson leaves the field
/// unset, i.e. empty).
pub fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

struct SeqOf<F>(F, &'static str);

impl<'de, T, F: Fn(Scalar) -> Result<T, String>> Visitor<'de> for SeqOf<F> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an array of {} or null", self.1)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Vec<T>, E> {
        Ok(Vec::new())
    }
    fn visit_none<E: de::Error>(self) -> Result<Vec<T>, E> {
        Ok(Vec::new())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        // No pre-allocation from a size hint: the input decides the length.
        let mut out = Vec::new();
        while let Some(s) = seq.next_element::<Scalar>()? {
            out.push((self.0)(s).map_err(de::Error::custom)?);
        }
        Ok(out)
    }
}

/// An array of i32 whose elements may be numbers or numeric strings (Go sends `codeSet` as
/// strings, §2.3.5); null → empty.
pub fn vec_i32<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i32>, D::Error> {
    d.deserialize_any(SeqOf(|s: Scalar| s.to_i32(), "integers"))
}

/// An array of strings whose elements may be numbers or booleans; nulls are dropped; a null
/// array → empty.
pub fn vec_string<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let v = d.deserialize_any(SeqOf(|s: Scalar| Ok(s.into_ext_text()), "strings"))?;
    Ok(v.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize, Debug, PartialEq)]
    struct T {
        #[serde(default, deserialize_with = "super::i32")]
        a: i32,
        #[serde(default, deserialize_with = "super::i64")]
        b: i64,
        #[serde(default, deserialize_with = "super::bool")]
        c: bool,
        #[serde(default, deserialize_with = "super::string")]
        d: String,
        #[serde(default, deserialize_with = "super::vec_i32")]
        e: Vec<i32>,
        #[serde(default, deserialize_with = "super::opt_i64")]
        f: Option<i64>,
    }

    #[test]
    fn accepts_fastjson_typing() {
        let t: T = serde_json::from_str(r#"{"a":"12","b":7,"c":1,"d":5,"e":["1",2],"f":null}"#).unwrap();
        assert_eq!(
            t,
            T {
                a: 12,
                b: 7,
                c: true,
                d: "5".into(),
                e: vec![1, 2],
                f: None
            }
        );
        let t: T = serde_json::from_str(r#"{"a":null,"c":"TRUE","d":false,"e":null,"f":"9"}"#).unwrap();
        assert_eq!(
            t,
            T {
                a: 0,
                b: 0,
                c: true,
                d: "false".into(),
                e: vec![],
                f: Some(9)
            }
        );
        assert!(serde_json::from_str::<T>(r#"{"a":"x"}"#).is_err());
        assert!(serde_json::from_str::<T>(r#"{"a":4294967296}"#).is_err());
        assert!(serde_json::from_str::<T>(r#"{"a":{}}"#).is_err());
    }

    #[test]
    fn doubles_are_finite() {
        #[derive(Debug, Deserialize)]
        struct D {
            #[serde(deserialize_with = "super::f64")]
            v: f64,
        }
        let v = |json: &str| serde_json::from_str::<D>(json).map(|d| d.v);
        assert_eq!(v(r#"{"v":" 2.5 "}"#).unwrap(), 2.5);
        assert_eq!(v(r#"{"v":""}"#).unwrap(), 0.0);
        for bad in [
            r#"{"v":"1e400"}"#,
            r#"{"v":"inf"}"#,
            r#"{"v":"NaN"}"#,
            r#"{"v":1e400}"#,
        ] {
            assert!(v(bad).is_err(), "{bad}");
        }
    }
}
