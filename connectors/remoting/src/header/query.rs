//! QUERY_MESSAGE (12) — protocol.md §2.3.3; VIEW_MESSAGE_BY_ID (33) — §2.3.4.

use super::ext_header;

/// The extra ext field that marks a unique-key query (§2.3.3).
pub const UNIQUE_KEY_QUERY: &str = "_UNIQUE_KEY_QUERY";

ext_header! {
    /// QUERY_MESSAGE (12) request. With `_UNIQUE_KEY_QUERY=true` the broker replaces `maxNum`
    /// with `defaultQueryMaxNum` (32).
    pub struct QueryMessageRequestHeader {
        topic: req String = "topic";
        key: req String = "key";
        max_num: req i32 = "maxNum";
        begin_timestamp: req i64 = "beginTimestamp";
        end_timestamp: req i64 = "endTimestamp";
        /// `_UNIQUE_KEY_QUERY`.
        unique_key_query: def bool = "_UNIQUE_KEY_QUERY", default false;
    }
}

ext_header! {
    /// QUERY_MESSAGE (12) response: end timestamp / end phy offset of the newest index file.
    pub struct QueryMessageResponseHeader {
        index_last_update_timestamp: req i64 = "indexLastUpdateTimestamp";
        index_last_update_phyoffset: req i64 = "indexLastUpdatePhyoffset";
    }
}

ext_header! {
    /// VIEW_MESSAGE_BY_ID (33) request: the CommitLog physical offset decoded from an
    /// offsetMsgId. Response body: the stored message.
    pub struct ViewMessageRequestHeader {
        offset: req i64 = "offset";
        /// 5.x.
        topic: opt String = "topic";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_round_trip() {
        let h = QueryMessageRequestHeader {
            topic: "T".into(),
            key: "k1".into(),
            max_num: 64,
            begin_timestamp: 0,
            end_timestamp: i64::MAX,
            unique_key_query: true,
        };
        let e = h.to_ext();
        assert_eq!(e.get(UNIQUE_KEY_QUERY).map(String::as_str), Some("true"));
        assert_eq!(QueryMessageRequestHeader::from_ext(&e).unwrap(), h);
        let v = ViewMessageRequestHeader {
            offset: 1234,
            topic: None,
        };
        assert_eq!(ViewMessageRequestHeader::from_ext(&v.to_ext()).unwrap(), v);
    }
}
