//! PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361): protocol.md §2.3.2.

use super::ext_header;

/// PullSysFlag bits of the request's `sysFlag` (§2.3.2).
pub mod sys_flag {
    /// Store `commitOffset` for the group (masters only).
    pub const COMMIT_OFFSET: i32 = 0x01;
    /// Long polling allowed.
    pub const SUSPEND: i32 = 0x02;
    /// Use the request's `subscription`/`expressionType` instead of the heartbeat-registered
    /// one.
    pub const SUBSCRIPTION: i32 = 0x04;
    /// Obsolete class filter.
    pub const CLASS_FILTER: i32 = 0x08;
    /// 5.x lite pull consumer (Java then uses code 361).
    pub const LITE_PULL: i32 = 0x10;

    /// Composes a sysFlag.
    pub fn build(commit_offset: bool, suspend: bool, subscription: bool, class_filter: bool) -> i32 {
        let mut f = 0;
        if commit_offset {
            f |= COMMIT_OFFSET;
        }
        if suspend {
            f |= SUSPEND;
        }
        if subscription {
            f |= SUBSCRIPTION;
        }
        if class_filter {
            f |= CLASS_FILTER;
        }
        f
    }
}

/// The expression type when `expressionType` is absent (§2.3.2, §7.7).
pub const EXPRESSION_TYPE_TAG: &str = "TAG";
/// SQL92 property filter.
pub const EXPRESSION_TYPE_SQL92: &str = "SQL92";

ext_header! {
    /// PULL_MESSAGE / LITE_PULL_MESSAGE request header (§2.3.2).
    ///
    /// Required: `consumerGroup`, `topic`, `queueId`, `queueOffset`. Lenient defaults:
    /// `maxMsgNums` 32, `sysFlag` 0, `commitOffset` 0, `suspendTimeoutMillis` 15000 (Java,
    /// ali-ons; Go sends 20000), `subVersion` 0.
    pub struct PullMessageRequestHeader {
        consumer_group: req String = "consumerGroup";
        /// May be `%RETRY%<group>`.
        topic: req String = "topic";
        queue_id: req i32 = "queueId";
        /// Logical offset to start from.
        queue_offset: req i64 = "queueOffset";
        /// Batch size (Java, Go, ali-ons: 32).
        max_msg_nums: def i32 = "maxMsgNums", default 32;
        /// [`sys_flag`] bits.
        sys_flag: def i32 = "sysFlag", default 0;
        /// The consumer's in-memory committed offset.
        commit_offset: def i64 = "commitOffset", default 0;
        /// Long-poll hold time.
        suspend_timeout_millis: def i64 = "suspendTimeoutMillis", default 15_000;
        /// Subscription expression (only with the SUBSCRIPTION bit).
        subscription: opt String = "subscription";
        /// Subscription version (Java: ms timestamp; Go: 0).
        sub_version: def i64 = "subVersion", default 0;
        /// `TAG` (default when absent) or `SQL92`.
        expression_type: opt String = "expressionType";
        /// 5.x.
        max_msg_bytes: opt i32 = "maxMsgBytes";
        /// 5.x proxy.
        request_source: opt i32 = "requestSource";
        /// 5.x proxy (the wire spelling is "Froward").
        proxy_forward_client_id: opt String = "proxyFrowardClientId";
    }
}

impl PullMessageRequestHeader {
    /// COMMIT_OFFSET bit.
    pub fn has_commit_offset(&self) -> bool {
        self.sys_flag & sys_flag::COMMIT_OFFSET != 0
    }
    /// SUSPEND bit (long polling allowed).
    pub fn has_suspend(&self) -> bool {
        self.sys_flag & sys_flag::SUSPEND != 0
    }
    /// SUBSCRIPTION bit (use this request's subscription).
    pub fn has_subscription(&self) -> bool {
        self.sys_flag & sys_flag::SUBSCRIPTION != 0
    }
    /// CLASS_FILTER bit.
    pub fn has_class_filter(&self) -> bool {
        self.sys_flag & sys_flag::CLASS_FILTER != 0
    }
    /// LITE_PULL bit.
    pub fn is_lite_pull(&self) -> bool {
        self.sys_flag & sys_flag::LITE_PULL != 0
    }
    /// `expressionType`, or `TAG` when absent or empty.
    pub fn expression_type_or_tag(&self) -> &str {
        match self.expression_type.as_deref() {
            Some(t) if !t.is_empty() => t,
            _ => EXPRESSION_TYPE_TAG,
        }
    }
}

ext_header! {
    /// PULL_MESSAGE response header (§2.3.2). Always send the four required fields, whatever
    /// the response code: Java unboxes them into primitives.
    pub struct PullMessageResponseHeader {
        /// 0 (master) or the slave to use next.
        suggest_which_broker_id: req i64 = "suggestWhichBrokerId";
        next_begin_offset: req i64 = "nextBeginOffset";
        min_offset: req i64 = "minOffset";
        /// Next offset to be written.
        max_offset: req i64 = "maxOffset";
        /// 5.x static topics.
        offset_delta: opt i64 = "offsetDelta";
        /// 5.x.
        topic_sys_flag: opt i32 = "topicSysFlag";
        /// 5.x.
        group_sys_flag: opt i32 = "groupSysFlag";
        /// 5.x.
        forbidden_type: opt i32 = "forbiddenType";
    }
}

impl PullMessageResponseHeader {
    /// The four required fields; the 5.x extras unset.
    pub fn new(
        suggest_which_broker_id: i64,
        next_begin_offset: i64,
        min_offset: i64,
        max_offset: i64,
    ) -> Self {
        PullMessageResponseHeader {
            suggest_which_broker_id,
            next_begin_offset,
            min_offset,
            max_offset,
            offset_delta: None,
            topic_sys_flag: None,
            group_sys_flag: None,
            forbidden_type: None,
        }
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
    fn go_style_pull() {
        let e = ext(&[
            ("consumerGroup", "g"),
            ("topic", "T"),
            ("queueId", "3"),
            ("queueOffset", "100"),
            ("maxMsgNums", "32"),
            ("sysFlag", "3"),
            ("commitOffset", "90"),
            ("suspendTimeoutMillis", "20000"),
            ("subVersion", "0"),
            ("expressionType", "TAG"),
            ("bname", "broker-a"),
        ]);
        let h = PullMessageRequestHeader::from_ext(&e).unwrap();
        assert!(h.has_commit_offset() && h.has_suspend() && !h.has_subscription());
        assert_eq!(h.suspend_timeout_millis, 20_000);
        assert_eq!(h.expression_type_or_tag(), "TAG");
        let back = PullMessageRequestHeader::from_ext(&h.to_ext()).unwrap();
        assert_eq!(back, h);
    }

    #[test]
    fn defaults_and_errors() {
        let h = PullMessageRequestHeader::from_ext(&ext(&[
            ("consumerGroup", "g"),
            ("topic", "T"),
            ("queueId", "0"),
            ("queueOffset", "0"),
        ]))
        .unwrap();
        assert_eq!(
            (h.max_msg_nums, h.sys_flag, h.suspend_timeout_millis),
            (32, 0, 15_000)
        );
        assert_eq!(h.expression_type_or_tag(), "TAG");
        let err =
            PullMessageRequestHeader::from_ext(&ext(&[("consumerGroup", "g"), ("topic", "T")])).unwrap_err();
        assert_eq!(err.field(), "queueId");
        assert_eq!(sys_flag::build(true, true, true, false), 7);
    }

    #[test]
    fn response_carries_required_fields() {
        let e = PullMessageResponseHeader::new(0, 5, 0, 5).to_ext();
        assert_eq!(e.len(), 4);
        assert_eq!(e.get("nextBeginOffset").map(String::as_str), Some("5"));
    }
}
