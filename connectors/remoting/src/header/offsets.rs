//! Consumer offsets and queue offset queries: QUERY_CONSUMER_OFFSET (14),
//! UPDATE_CONSUMER_OFFSET (15) — protocol.md §2.3.13; SEARCH_OFFSET_BY_TIMESTAMP (29),
//! GET_MAX_OFFSET (30), GET_MIN_OFFSET (31), GET_EARLIEST_MSG_STORETIME (32) — §2.3.14.

use super::ext_header;

ext_header! {
    /// QUERY_CONSUMER_OFFSET (14) request. Response: [`OffsetResponseHeader`] or
    /// QUERY_NOT_FOUND.
    pub struct QueryConsumerOffsetRequestHeader {
        consumer_group: req String = "consumerGroup";
        topic: req String = "topic";
        queue_id: req i32 = "queueId";
        /// 5.x; treated as true when absent (4.9 behaviour, §2.3.13).
        set_zero_if_not_found: opt bool = "setZeroIfNotFound";
    }
}

ext_header! {
    /// UPDATE_CONSUMER_OFFSET (15) request (usually oneway; Go does not set the bit).
    pub struct UpdateConsumerOffsetRequestHeader {
        consumer_group: req String = "consumerGroup";
        topic: req String = "topic";
        queue_id: req i32 = "queueId";
        commit_offset: req i64 = "commitOffset";
    }
}

ext_header! {
    /// The `offset` response header of QUERY_CONSUMER_OFFSET (14), SEARCH_OFFSET_BY_TIMESTAMP
    /// (29), GET_MAX_OFFSET (30) and GET_MIN_OFFSET (31).
    pub struct OffsetResponseHeader {
        offset: req i64 = "offset";
    }
}

ext_header! {
    /// GET_MAX_OFFSET (30) request. Response: [`OffsetResponseHeader`] (next offset to be
    /// assigned; 0 if none).
    pub struct GetMaxOffsetRequestHeader {
        topic: req String = "topic";
        queue_id: req i32 = "queueId";
        /// 5.x; default true.
        committed: def bool = "committed", default true;
    }
}

ext_header! {
    /// GET_MIN_OFFSET (31) request. Response: [`OffsetResponseHeader`].
    pub struct GetMinOffsetRequestHeader {
        topic: req String = "topic";
        queue_id: req i32 = "queueId";
    }
}

ext_header! {
    /// GET_EARLIEST_MSG_STORETIME (32) request. Response:
    /// [`GetEarliestMsgStoretimeResponseHeader`].
    pub struct GetEarliestMsgStoretimeRequestHeader {
        topic: req String = "topic";
        queue_id: req i32 = "queueId";
    }
}

ext_header! {
    /// GET_EARLIEST_MSG_STORETIME (32) response: store time of the message at the min offset,
    /// −1 when the queue is empty.
    pub struct GetEarliestMsgStoretimeResponseHeader {
        timestamp: req i64 = "timestamp";
    }
}

/// `boundaryType` value: first offset with storeTime ≥ ts (the default).
pub const BOUNDARY_LOWER: &str = "lower";
/// `boundaryType` value: last offset with storeTime ≤ ts.
pub const BOUNDARY_UPPER: &str = "upper";

ext_header! {
    /// SEARCH_OFFSET_BY_TIMESTAMP (29) request. Response: [`OffsetResponseHeader`].
    pub struct SearchOffsetRequestHeader {
        topic: req String = "topic";
        queue_id: req i32 = "queueId";
        timestamp: req i64 = "timestamp";
        /// 5.x: `lower` (default) or `upper`. Absent → 4.9 "closest" semantics are the
        /// broker's choice.
        boundary_type: opt String = "boundaryType";
    }
}

impl SearchOffsetRequestHeader {
    /// True when `boundaryType` is `upper` (any case).
    pub fn is_upper_boundary(&self) -> bool {
        self.boundary_type
            .as_deref()
            .is_some_and(|b| b.eq_ignore_ascii_case(BOUNDARY_UPPER))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext::ExtFields;

    fn ext(pairs: &[(&str, &str)]) -> ExtFields {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn round_trips_and_defaults() {
        let q = QueryConsumerOffsetRequestHeader::from_ext(&ext(&[
            ("consumerGroup", "g"),
            ("topic", "T"),
            ("queueId", "1"),
        ]))
        .unwrap();
        assert_eq!(q.set_zero_if_not_found, None);
        let u = UpdateConsumerOffsetRequestHeader {
            consumer_group: "g".into(),
            topic: "T".into(),
            queue_id: 2,
            commit_offset: 99,
        };
        assert_eq!(
            UpdateConsumerOffsetRequestHeader::from_ext(&u.to_ext()).unwrap(),
            u
        );
        let m = GetMaxOffsetRequestHeader::from_ext(&ext(&[("topic", "T"), ("queueId", "0")])).unwrap();
        assert!(m.committed);
        let s = SearchOffsetRequestHeader::from_ext(&ext(&[
            ("topic", "T"),
            ("queueId", "0"),
            ("timestamp", "1700000000000"),
            ("boundaryType", "UPPER"),
        ]))
        .unwrap();
        assert!(s.is_upper_boundary());
        assert_eq!(
            OffsetResponseHeader { offset: 7 }
                .to_ext()
                .get("offset")
                .map(String::as_str),
            Some("7")
        );
        let err = UpdateConsumerOffsetRequestHeader::from_ext(&ext(&[
            ("consumerGroup", "g"),
            ("topic", "T"),
            ("queueId", "1"),
            ("commitOffset", "1.5"),
        ]))
        .unwrap_err();
        assert_eq!(err.field(), "commitOffset");
    }
}
