//! Java `String.hashCode()`, the hash RocketMQ uses for tag codes (protocol.md §3.8: the
//! ConsumeQueue's tags code and a subscription's `codeSet`), ordered sends by key, and IndexFile
//! keys (§4.4). It runs over UTF-16 code units, so non-ASCII strings hash as Java does.

/// `String.hashCode()` of `s` as Java computes it: `h = 31·h + c` over UTF-16 code units.
pub fn java_string_hash(s: &str) -> i32 {
    hash_utf16(s.encode_utf16())
}

/// `h = 31·h + c` over UTF-16 code units, Java's string hash.
fn hash_utf16(units: impl Iterator<Item = u16>) -> i32 {
    units.fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// The ConsumeQueue tags code of a message: the tag's hash sign-extended to i64, 0 without a tag.
pub fn tags_code(tag: Option<&str>) -> i64 {
    match tag {
        Some(t) if !t.is_empty() => i64::from(java_string_hash(t)),
        _ => 0,
    }
}

/// The IndexFile key hash: `|hashCode("topic#key")|`, with `Integer.MIN_VALUE` mapped to 0.
pub fn index_key_hash(topic: &str, key: &str) -> i32 {
    let h = hash_utf16(
        topic
            .encode_utf16()
            .chain("#".encode_utf16())
            .chain(key.encode_utf16()),
    );
    if h == i32::MIN {
        0
    } else {
        h.abs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_java_values() {
        // Values computed by java.lang.String#hashCode.
        assert_eq!(java_string_hash("TagA"), 2_598_919);
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("hello"), 99_162_322);
        // "polygenelubricants" is the classic string whose hash is Integer.MIN_VALUE.
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        // Non-ASCII: U+00E9 is one UTF-16 unit (233), U+1F600 is a surrogate pair.
        assert_eq!(java_string_hash("é"), 233);
        assert_eq!(java_string_hash("\u{1F600}"), 0xD83D * 31 + 0xDE00);
    }

    #[test]
    fn tags_code_is_sign_extended() {
        assert_eq!(tags_code(None), 0);
        assert_eq!(tags_code(Some("")), 0);
        assert_eq!(tags_code(Some("TagA")), 2_598_919);
        let neg = java_string_hash("zzzzzzzz");
        assert!(neg < 0);
        assert_eq!(tags_code(Some("zzzzzzzz")), i64::from(neg));
    }

    #[test]
    fn index_hash_is_non_negative() {
        assert_eq!(index_key_hash("T", "k"), java_string_hash("T#k").abs());
        assert!(index_key_hash("polygene", "lubricants") >= 0);
    }
}
