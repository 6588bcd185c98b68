//! The property string (protocol.md §3.5) as a map: `sluice_remoting::properties` encodes and
//! decodes it, these adapt it to [`Message`](super::Message)'s `BTreeMap`.

use std::collections::BTreeMap;

use sluice_remoting::properties;

/// Encodes properties; entries with an empty name or value are left out.
pub fn encode_properties(props: &BTreeMap<String, String>) -> String {
    properties::encode(props.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// Decodes a property string as Java does: split on `\x02`, then at the first `\x01`;
/// entries with an empty name or value are dropped; a later duplicate wins.
pub fn decode_properties(s: &str) -> BTreeMap<String, String> {
    properties::iter(s)
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_java_rules() {
        let mut p = BTreeMap::new();
        p.insert("TAGS".to_owned(), "A".to_owned());
        p.insert("KEYS".to_owned(), "k1 k2".to_owned());
        p.insert("EMPTY".to_owned(), String::new());
        let s = encode_properties(&p);
        assert_eq!(s, "KEYS\u{1}k1 k2\u{2}TAGS\u{1}A\u{2}");
        let back = decode_properties(&s);
        assert_eq!(back.len(), 2);
        assert_eq!(back["TAGS"], "A");
        let d = decode_properties("A\u{1}1\u{2}\u{1}x\u{2}B\u{1}\u{2}A\u{1}2\u{2}junk");
        assert_eq!(d.len(), 1);
        assert_eq!(d["A"], "2");
    }
}
