//! Message properties: `name \x01 value \x02` repeated (protocol.md §3.5), and their names
//! (§3.6). The SEND header carries this string, the stored layout keeps it verbatim.

/// Separates a property's name from its value.
pub const NAME_VALUE_SEPARATOR: char = '\u{1}';
/// Ends every property entry, including the last.
pub const PROPERTY_SEPARATOR: char = '\u{2}';
/// Longest encoded property string a record can carry (its length field is an i16).
pub const MAX_PROPERTIES_LEN: usize = i16::MAX as usize;

/// Property names (protocol.md §3.6) the broker, the store and the client read or write.
pub mod names {
    /// Business keys, space-separated.
    pub const KEYS: &str = "KEYS";
    /// The tag.
    pub const TAGS: &str = "TAGS";
    /// Wait for the store (missing = wait).
    pub const WAIT: &str = "WAIT";
    /// Delay level.
    pub const DELAY: &str = "DELAY";
    /// The client-generated message id.
    pub const UNIQ_KEY: &str = "UNIQ_KEY";
    /// The cluster the message was sent to.
    pub const CLUSTER: &str = "CLUSTER";
    /// Ordering key.
    pub const SHARDING_KEY: &str = "__SHARDINGKEY";
    /// Original topic of a delayed / half message.
    pub const REAL_TOPIC: &str = "REAL_TOPIC";
    /// Original queue of a delayed / half message.
    pub const REAL_QID: &str = "REAL_QID";
    /// Half message marker.
    pub const TRAN_MSG: &str = "TRAN_MSG";
    /// Producer group of a half message.
    pub const PGROUP: &str = "PGROUP";
    /// Transaction id (the broker copies UNIQ_KEY).
    pub const TRANSACTION_ID: &str = "__transactionId__";
    /// How many times a half message was checked.
    pub const TRANSACTION_CHECK_TIMES: &str = "TRANSACTION_CHECK_TIMES";
    /// First transaction check not before this many seconds.
    pub const CHECK_IMMUNITY_TIME_IN_SECONDS: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";
    /// Absolute delivery time, ms (5.x timers).
    pub const TIMER_DELIVER_MS: &str = "TIMER_DELIVER_MS";
    /// Relative delay, seconds (5.x timers).
    pub const TIMER_DELAY_SEC: &str = "TIMER_DELAY_SEC";
    /// Relative delay, ms (5.x timers).
    pub const TIMER_DELAY_MS: &str = "TIMER_DELAY_MS";
    /// 5.x timers: the delivery time, ms, of a message parked in the timer topic.
    pub const TIMER_OUT_MS: &str = "TIMER_OUT_MS";
    /// ali-ons / Aliyun's absolute delivery time (ms).
    pub const START_DELIVER_TIME: &str = "__STARTDELIVERTIME";
    /// Original topic of a retried message (§5.4).
    pub const RETRY_TOPIC: &str = "RETRY_TOPIC";
    /// offsetMsgId of the first delivery.
    pub const ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";
    /// Reconsume count (a fallback resend moves it into the send header).
    pub const RECONSUME_TIME: &str = "RECONSUME_TIME";
    /// Max reconsume count (a fallback resend moves it into the send header).
    pub const MAX_RECONSUME_TIMES: &str = "MAX_RECONSUME_TIMES";
    /// Client-side: queue min offset from the pull response.
    pub const MIN_OFFSET: &str = "MIN_OFFSET";
    /// Client-side: queue max offset from the pull response.
    pub const MAX_OFFSET: &str = "MAX_OFFSET";
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
    push_verbatim(out, name, value);
}

/// Appends one entry as it is, an empty name or value included: the inverse of
/// [`verbatim_entries`] (an archive restoring a stored string byte for byte).
pub fn push_verbatim(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push(NAME_VALUE_SEPARATOR);
    out.push_str(value);
    out.push(PROPERTY_SEPARATOR);
}

/// The entries of a property string in stored order (empty values kept, nothing dropped but
/// entries without a `\x01`), and whether they re-encode with [`push_verbatim`] to exactly
/// `encoded` (false for strings no client writes: a missing separator…).
pub fn verbatim_entries(encoded: &str) -> (Vec<(&str, &str)>, bool) {
    let mut entries = Vec::new();
    let mut rest = encoded;
    let mut exact = true;
    while !rest.is_empty() {
        let (entry, tail) = match rest.split_once(PROPERTY_SEPARATOR) {
            Some(split) => split,
            None => {
                exact = false;
                (rest, "")
            }
        };
        match entry.split_once(NAME_VALUE_SEPARATOR) {
            Some((name, value)) => entries.push((name, value)),
            None => exact = false,
        }
        rest = tail;
    }
    (entries, exact)
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

    #[test]
    fn verbatim_entries_keep_order_and_say_when_they_are_not_exact() {
        let s = "A\u{1}1\u{2}B\u{1}\u{2}A\u{1}2\u{2}";
        let (e, exact) = verbatim_entries(s);
        assert_eq!(e, [("A", "1"), ("B", ""), ("A", "2")]);
        assert!(exact);
        let mut again = String::new();
        for (name, value) in e {
            push_verbatim(&mut again, name, value);
        }
        assert_eq!(again, s);
        assert_eq!(verbatim_entries(""), (vec![], true));
        assert!(!verbatim_entries("A\u{1}1").1);
        assert!(!verbatim_entries("junk\u{2}A\u{1}1\u{2}").1);
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
