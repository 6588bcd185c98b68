//! Typed access to `extFields`, the flat string→string "custom header" (protocol.md §1.8).
//!
//! Rules, chosen to be as lenient as Java where that is harmless:
//!
//! * Integers are decimal text (`+`/`-` allowed, no spaces). Malformed → [`HeaderError::Invalid`]
//!   naming the field. An *empty* value of an optional field counts as absent (Java's
//!   `parseInt("")` fails and leaves the field null, which then takes its default).
//! * Booleans: `true` ignoring case → true, `1` → true; anything else (`false`, `0`, empty,
//!   garbage) → false. Java treats `"1"` as false; accepting it as true is deliberate (clients
//!   that send JSON numbers for flags, e.g. ali-ons, mean 1 = true).
//! * Missing required field → [`HeaderError::Missing`] naming the field (4.9 behaviour; the
//!   broker turns the error into a response remark). Optional fields take their §2 default.
//! * Extra keys are ignored.

use std::collections::BTreeMap;

/// The `extFields` map. Sorted, so encoded headers are deterministic.
pub type ExtFields = BTreeMap<String, String>;

/// A header field that could not be read. `Display` is suitable as a response remark.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// A required field is absent.
    #[error("the custom field <{field}> is null")]
    Missing { field: &'static str },
    /// A field's text does not parse as its type.
    #[error("the custom field <{field}> is not a valid {expected}: {value:?}")]
    Invalid {
        field: &'static str,
        expected: &'static str,
        value: String,
    },
}

impl HeaderError {
    /// The wire name of the offending field.
    pub fn field(&self) -> &'static str {
        match self {
            HeaderError::Missing { field } | HeaderError::Invalid { field, .. } => field,
        }
    }

    fn invalid(field: &'static str, expected: &'static str, raw: &str) -> Self {
        // Keep remarks short even when a client sends a huge value.
        let value: String = raw.chars().take(64).collect();
        HeaderError::Invalid {
            field,
            expected,
            value,
        }
    }
}

/// A type that can live in `extFields`: parsed from and rendered to its canonical text.
pub trait ExtValue: Sized {
    /// Parses `raw`, the value of `field`.
    fn parse_ext(field: &'static str, raw: &str) -> Result<Self, HeaderError>;
    /// The canonical text.
    fn render_ext(&self) -> String;
    /// Whether an empty value means "absent" for optional fields (numbers and booleans do).
    fn empty_is_absent() -> bool {
        true
    }
}

impl ExtValue for String {
    fn parse_ext(_field: &'static str, raw: &str) -> Result<Self, HeaderError> {
        Ok(raw.to_owned())
    }
    fn render_ext(&self) -> String {
        self.clone()
    }
    fn empty_is_absent() -> bool {
        false
    }
}

impl ExtValue for i32 {
    fn parse_ext(field: &'static str, raw: &str) -> Result<Self, HeaderError> {
        raw.parse().map_err(|_| HeaderError::invalid(field, "int", raw))
    }
    fn render_ext(&self) -> String {
        self.to_string()
    }
}

impl ExtValue for i64 {
    fn parse_ext(field: &'static str, raw: &str) -> Result<Self, HeaderError> {
        raw.parse().map_err(|_| HeaderError::invalid(field, "long", raw))
    }
    fn render_ext(&self) -> String {
        self.to_string()
    }
}

impl ExtValue for bool {
    fn parse_ext(_field: &'static str, raw: &str) -> Result<Self, HeaderError> {
        Ok(parse_bool(raw))
    }
    fn render_ext(&self) -> String {
        if *self { "true" } else { "false" }.to_owned()
    }
}

/// §1.8 boolean text: `true` (any case) or `1` → true, everything else → false.
pub fn parse_bool(raw: &str) -> bool {
    raw.eq_ignore_ascii_case("true") || raw == "1"
}

/// A required field.
pub fn get<T: ExtValue>(ext: &ExtFields, field: &'static str) -> Result<T, HeaderError> {
    match ext.get(field) {
        Some(raw) => T::parse_ext(field, raw),
        None => Err(HeaderError::Missing { field }),
    }
}

/// An optional field: `None` when absent (or empty, for numbers and booleans).
pub fn get_opt<T: ExtValue>(ext: &ExtFields, field: &'static str) -> Result<Option<T>, HeaderError> {
    match ext.get(field) {
        None => Ok(None),
        Some(raw) if raw.is_empty() && T::empty_is_absent() => Ok(None),
        Some(raw) => T::parse_ext(field, raw).map(Some),
    }
}

/// An optional field with a default.
pub fn get_or<T: ExtValue>(ext: &ExtFields, field: &'static str, default: T) -> Result<T, HeaderError> {
    Ok(get_opt(ext, field)?.unwrap_or(default))
}

/// The first of several alias keys that is present (e.g. `producerGroup` / `a`), as
/// `(key, value)`.
pub fn first_of<'a>(ext: &'a ExtFields, keys: &[&'static str]) -> Option<(&'static str, &'a str)> {
    keys.iter().find_map(|k| ext.get(*k).map(|v| (*k, v.as_str())))
}

/// Required string field.
pub fn get_str<'a>(ext: &'a ExtFields, field: &'static str) -> Result<&'a str, HeaderError> {
    ext.get(field)
        .map(String::as_str)
        .ok_or(HeaderError::Missing { field })
}

/// Optional string field.
pub fn get_opt_str<'a>(ext: &'a ExtFields, field: &'static str) -> Option<&'a str> {
    ext.get(field).map(String::as_str)
}

/// Required i32 field.
pub fn get_i32(ext: &ExtFields, field: &'static str) -> Result<i32, HeaderError> {
    get(ext, field)
}

/// Optional i32 field.
pub fn get_opt_i32(ext: &ExtFields, field: &'static str) -> Result<Option<i32>, HeaderError> {
    get_opt(ext, field)
}

/// Required i64 field.
pub fn get_i64(ext: &ExtFields, field: &'static str) -> Result<i64, HeaderError> {
    get(ext, field)
}

/// Optional i64 field.
pub fn get_opt_i64(ext: &ExtFields, field: &'static str) -> Result<Option<i64>, HeaderError> {
    get_opt(ext, field)
}

/// Required boolean field (lenient text, see the module docs).
pub fn get_bool(ext: &ExtFields, field: &'static str) -> Result<bool, HeaderError> {
    get(ext, field)
}

/// Optional boolean field with a default.
pub fn get_bool_or(ext: &ExtFields, field: &'static str, default: bool) -> bool {
    match ext.get(field) {
        Some(raw) if !raw.is_empty() => parse_bool(raw),
        _ => default,
    }
}

/// Inserts `value` rendered as text.
pub fn put<T: ExtValue>(ext: &mut ExtFields, field: &str, value: &T) {
    ext.insert(field.to_owned(), value.render_ext());
}

/// Inserts `value` if it is `Some`.
pub fn put_opt<T: ExtValue>(ext: &mut ExtFields, field: &str, value: &Option<T>) {
    if let Some(v) = value {
        put(ext, field, v);
    }
}

/// `extFields` from literal pairs (tests).
#[cfg(test)]
pub(crate) fn from_pairs(pairs: &[(&str, &str)]) -> ExtFields {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(pairs: &[(&str, &str)]) -> ExtFields {
        from_pairs(pairs)
    }

    #[test]
    fn integers() {
        let e = ext(&[("a", "12"), ("b", "-3"), ("c", "x1"), ("d", ""), ("e", "+7")]);
        assert_eq!(get_i32(&e, "a"), Ok(12));
        assert_eq!(get_i64(&e, "b"), Ok(-3));
        assert_eq!(get_i32(&e, "e"), Ok(7));
        let err = get_i32(&e, "c").unwrap_err();
        assert_eq!(err.field(), "c");
        assert!(err.to_string().contains("<c>"));
        assert_eq!(get_opt_i32(&e, "d"), Ok(None));
        assert!(get_i32(&e, "d").is_err());
        assert_eq!(get_i32(&e, "zz"), Err(HeaderError::Missing { field: "zz" }));
        assert_eq!(get_or(&e, "zz", 5i64), Ok(5));
        assert!(get_i32(&ext(&[("x", "2147483648")]), "x").is_err());
    }

    #[test]
    fn booleans() {
        for (raw, want) in [
            ("true", true),
            ("TRUE", true),
            ("True", true),
            ("1", true),
            ("0", false),
            ("false", false),
        ] {
            assert_eq!(get_bool(&ext(&[("k", raw)]), "k"), Ok(want), "{raw}");
        }
        assert_eq!(get_bool(&ext(&[("k", "yes")]), "k"), Ok(false));
        assert!(get_bool_or(&ext(&[("k", "")]), "k", true));
        assert!(!get_bool_or(&ext(&[]), "k", false));
    }

    #[test]
    fn strings_and_aliases() {
        let e = ext(&[("Signature", ""), ("a", "grp")]);
        assert_eq!(get_str(&e, "Signature"), Ok(""));
        assert_eq!(get_opt::<String>(&e, "Signature"), Ok(Some(String::new())));
        assert_eq!(first_of(&e, &["producerGroup", "a"]), Some(("a", "grp")));
        let long = "9".repeat(1000);
        let err = get_i32(&ext(&[("q", &long)]), "q").unwrap_err();
        assert!(err.to_string().len() < 200);
    }
}
