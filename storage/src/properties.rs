//! Message properties: `name \x01 value \x02` repeated (protocol.md §3.5), and the names sluice reads.

/// Separates a property's name from its value.
pub const NAME_VALUE_SEPARATOR: char = '\u{1}';
/// Ends every property entry, including the last.
pub const PROPERTY_SEPARATOR: char = '\u{2}';
/// Longest encoded property string a record can carry (its length field is an i16).
pub const MAX_PROPERTIES_LEN: usize = i16::MAX as usize;

/// Property names used by the store (protocol.md §3.6).
pub mod names {
    pub const KEYS: &str = "KEYS";
    pub const TAGS: &str = "TAGS";
    pub const WAIT: &str = "WAIT";
    pub const DELAY: &str = "DELAY";
    pub const UNIQ_KEY: &str = "UNIQ_KEY";
    pub const CLUSTER: &str = "CLUSTER";
    pub const REAL_TOPIC: &str = "REAL_TOPIC";
    pub const REAL_QID: &str = "REAL_QID";
    pub const TRAN_MSG: &str = "TRAN_MSG";
    pub const PGROUP: &str = "PGROUP";
    pub const TRANSACTION_ID: &str = "__transactionId__";
    pub const TRANSACTION_CHECK_TIMES: &str = "TRANSACTION_CHECK_TIMES";
    pub const CHECK_IMMUNITY_TIME_IN_SECONDS: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";
    pub const TIMER_DELIVER_MS: &str = "TIMER_DELIVER_MS";
    pub const TIMER_DELAY_SEC: &str = "TIMER_DELAY_SEC";
    pub const TIMER_DELAY_MS: &str = "TIMER_DELAY_MS";
    pub const TIMER_OUT_MS: &str = "TIMER_OUT_MS";
    /// ali-ons / Aliyun's absolute delivery time (ms).
    pub const START_DELIVER_TIME: &str = "__STARTDELIVERTIME";
    pub const RETRY_TOPIC: &str = "RETRY_TOPIC";
    pub const ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";
    pub const RECONSUME_TIME: &str = "RECONSUME_TIME";
    pub const MAX_RECONSUME_TIMES: &str = "MAX_RECONSUME_TIMES";
}

/// Encodes `(name, value)` pairs the way Java does: entries with an empty value are skipped.
pub fn encode<'a, I>(pairs: I) -> String
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let mut out = String::new();
    for (name, value) in pairs {
        push(&mut out, name, value);
    }
    out
}

/// Iterates the entries of an encoded property string with Java's rules: split on `\x02`, then at
/// the first `\x01`; entries with an empty name or empty value are dropped.
pub fn iter(encoded: &str) -> impl Iterator<Item = (&str, &str)> {
    encoded.split(PROPERTY_SEPARATOR).filter_map(|entry| {
        let (name, value) = entry.split_once(NAME_VALUE_SEPARATOR)?;
        (!name.is_empty() && !value.is_empty()).then_some((name, value))
    })
}

/// The value of `name`; when a name repeats, the last occurrence wins (as in Java's HashMap).
pub fn get<'a>(encoded: &'a str, name: &str) -> Option<&'a str> {
    iter(encoded).filter(|(n, _)| *n == name).map(|(_, v)| v).last()
}

/// Re-encodes `encoded` without the entries named in `drop` or in `set`, then appends `set`
/// (entries with an empty value are left out, as [`encode`] does).
pub fn rewrite(encoded: &str, drop: &[&str], set: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(encoded.len() + 64);
    for (name, value) in iter(encoded) {
        if drop.contains(&name) || set.iter().any(|(n, _)| *n == name) {
            continue;
        }
        push(&mut out, name, value);
    }
    for (name, value) in set {
        push(&mut out, name, value);
    }
    out
}

/// `base` (kept as it is) followed by the entries of `extra` whose names it does not have yet;
/// entries with an empty value are left out.
pub fn append_missing(base: &str, extra: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(base.len() + 32);
    out.push_str(base);
    if !out.is_empty() && !out.ends_with(PROPERTY_SEPARATOR) {
        out.push(PROPERTY_SEPARATOR);
    }
    for (name, value) in extra {
        if get(base, name).is_none() {
            push(&mut out, name, value);
        }
    }
    out
}

fn push(out: &mut String, name: &str, value: &str) {
    if name.is_empty() || value.is_empty() {
        return;
    }
    out.push_str(name);
    out.push(NAME_VALUE_SEPARATOR);
    out.push_str(value);
    out.push(PROPERTY_SEPARATOR);
}

/// The non-empty keys of a `KEYS` property (separated by single spaces).
pub fn split_keys(keys: &str) -> impl Iterator<Item = &str> {
    keys.split(' ').filter(|k| !k.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn encodes_with_trailing_separator() {
        let s = encode([("TAGS", "A"), ("KEYS", "k1 k2"), ("EMPTY", "")]);
        assert_eq!(s, "TAGS\u{1}A\u{2}KEYS\u{1}k1 k2\u{2}");
        assert_eq!(get(&s, "TAGS"), Some("A"));
        assert_eq!(get(&s, "EMPTY"), None);
        assert_eq!(split_keys("k1  k2 ").collect::<Vec<_>>(), ["k1", "k2"]);
    }

    #[test]
    fn decoding_drops_malformed_entries_and_last_wins() {
        let s = "A\u{1}1\u{2}junk\u{2}\u{1}x\u{2}B\u{1}\u{2}A\u{1}2\u{2}C\u{1}v\u{1}w";
        let all: Vec<_> = iter(s).collect();
        assert_eq!(all, [("A", "1"), ("A", "2"), ("C", "v\u{1}w")]);
        assert_eq!(get(s, "A"), Some("2"));
    }

    #[test]
    fn rewrite_drops_replaces_and_appends() {
        let s = encode([("TAGS", "A"), ("DELAY", "3"), ("KEYS", "k")]);
        let r = rewrite(&s, &["DELAY"], &[("TAGS", "B"), ("REAL_QID", "2"), ("X", "")]);
        assert_eq!(r, "KEYS\u{1}k\u{2}TAGS\u{1}B\u{2}REAL_QID\u{1}2\u{2}");
    }

    proptest! {
        #[test]
        fn round_trip(pairs in proptest::collection::vec(("[A-Za-z_]{1,12}", "[^\u{1}\u{2}]{1,20}"), 0..8)) {
            let enc = encode(pairs.iter().map(|(a, b)| (a.as_str(), b.as_str())));
            let dec: Vec<(String, String)> = iter(&enc).map(|(a, b)| (a.to_owned(), b.to_owned())).collect();
            prop_assert_eq!(dec, pairs);
        }
    }
}
