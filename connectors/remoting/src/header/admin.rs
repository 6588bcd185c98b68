//! Admin headers: UPDATE_AND_CREATE_TOPIC (17), DELETE_TOPIC_IN_BROKER (215) — protocol.md
//! §2.3.19; GET_TOPIC_STATS_INFO (202), GET_CONSUME_STATS (208), GET_CONSUMER_CONNECTION_LIST
//! (203), GET_PRODUCER_CONNECTION_LIST (204), QUERY_TOPIC_CONSUME_BY_WHO (300),
//! GET_BROKER_CONFIG (26) response, DELETE_SUBSCRIPTIONGROUP (207), CLONE_GROUP_OFFSET (314), GET_BROKER_CONSUME_STATS (317) —
//! §2.3.20; GET_CONSUMER_RUNNING_INFO (307),
//! CONSUME_MESSAGE_DIRECTLY (309), INVOKE_BROKER_TO_RESET_OFFSET (222),
//! RESET_CONSUMER_CLIENT_OFFSET (220) — §2.3.21; VIEW_BROKER_STATS_DATA (315).
//!
//! GET_ALL_TOPIC_CONFIG (21) and GET_BROKER_RUNTIME_INFO (28) have no header (5.3's paging
//! fields `topicSeq`/`maxTopicNum` for 21 are not modelled).

use super::ext_header;

/// `topicFilterType` default.
pub const SINGLE_TAG: &str = "SINGLE_TAG";

ext_header! {
    /// UPDATE_AND_CREATE_TOPIC (17) request.
    pub struct CreateTopicRequestHeader {
        topic: req String = "topic";
        /// Ignored by the broker.
        default_topic: opt String = "defaultTopic";
        read_queue_nums: req i32 = "readQueueNums";
        write_queue_nums: req i32 = "writeQueueNums";
        /// Perm bits (§2.3.22).
        perm: req i32 = "perm";
        /// `SINGLE_TAG` (default) or `MULTI_TAG`.
        topic_filter_type: def String = "topicFilterType", default SINGLE_TAG.to_owned();
        topic_sys_flag: def i32 = "topicSysFlag", default 0;
        order: def bool = "order", default false;
        /// 5.x: `+key=value,…`.
        attributes: opt String = "attributes";
        /// 5.x.
        force: def bool = "force", default false;
    }
}

ext_header! {
    /// DELETE_TOPIC_IN_BROKER (215), GET_TOPIC_STATS_INFO (202), QUERY_TOPIC_CONSUME_BY_WHO
    /// (300) and GET_TOPIC_CONFIG (351; 5.x adds `lo`, ignored) request: just the topic.
    pub struct TopicRequestHeader {
        topic: req String = "topic";
    }
}

ext_header! {
    /// GET_CONSUME_STATS (208) request. Body: ConsumeStats.
    pub struct GetConsumeStatsRequestHeader {
        consumer_group: req String = "consumerGroup";
        /// Blank = every topic the group has offsets for.
        topic: opt String = "topic";
        /// 5.x.
        topic_list: opt String = "topicList";
    }
}

ext_header! {
    /// GET_CONSUMER_CONNECTION_LIST (203) request. Offline group → CONSUMER_NOT_ONLINE.
    pub struct GetConsumerConnectionListRequestHeader {
        consumer_group: req String = "consumerGroup";
    }
}

ext_header! {
    /// GET_PRODUCER_CONNECTION_LIST (204) request.
    pub struct GetProducerConnectionListRequestHeader {
        producer_group: req String = "producerGroup";
    }
}

ext_header! {
    /// DELETE_SUBSCRIPTIONGROUP (207) request.
    pub struct DeleteSubscriptionGroupRequestHeader {
        group_name: req String = "groupName";
        /// Also drop the group's committed offsets (5.x tools send it; 4.x brokers keep them).
        clean_offset: def bool = "cleanOffset", default false;
    }
}

ext_header! {
    /// CLONE_GROUP_OFFSET (314) request: copy `srcGroup`'s committed offsets of `topic` (blank
    /// = every topic it has offsets for) to `destGroup`.
    pub struct CloneGroupOffsetRequestHeader {
        src_group: req String = "srcGroup";
        dest_group: req String = "destGroup";
        topic: opt String = "topic";
        /// false: skip topics an online `srcGroup` does not subscribe to.
        offline: def bool = "offline", default false;
    }
}

ext_header! {
    /// GET_BROKER_CONSUME_STATS (317) request. Body: ConsumeStatsList.
    pub struct GetConsumeStatsInBrokerHeader {
        /// Only topics configured as ordered.
        is_order: def bool = "isOrder", default false;
    }
}

ext_header! {
    /// GET_BROKER_CONFIG (26) response: `version` is a DataVersion JSON string.
    pub struct GetBrokerConfigResponseHeader {
        version: opt String = "version";
    }
}

ext_header! {
    /// GET_CONSUMER_RUNNING_INFO (307): forwarded by the broker to the client.
    pub struct GetConsumerRunningInfoRequestHeader {
        consumer_group: req String = "consumerGroup";
        client_id: req String = "clientId";
        jstack_enable: def bool = "jstackEnable", default false;
    }
}

ext_header! {
    /// CONSUME_MESSAGE_DIRECTLY (309): forwarded by the broker to the client; body = the
    /// stored message.
    pub struct ConsumeMessageDirectlyRequestHeader {
        consumer_group: req String = "consumerGroup";
        client_id: opt String = "clientId";
        msg_id: opt String = "msgId";
        broker_name: opt String = "brokerName";
    }
}

ext_header! {
    /// INVOKE_BROKER_TO_RESET_OFFSET (222) and RESET_CONSUMER_CLIENT_OFFSET (220) request
    /// (220 carries no `queueId`/`offset`).
    pub struct ResetOffsetRequestHeader {
        topic: req String = "topic";
        group: req String = "group";
        timestamp: req i64 = "timestamp";
        is_force: def bool = "isForce", default false;
        /// 5.x.
        queue_id: opt i32 = "queueId";
        /// 5.x.
        offset: opt i64 = "offset";
    }
}

ext_header! {
    /// VIEW_BROKER_STATS_DATA (315) request (not in protocol.md; Java's field names). Names
    /// mqadmin `statsAll` asks for: `TOPIC_PUT_NUMS` keyed by topic, `GROUP_GET_NUMS` keyed by
    /// `topic@group`. Unknown name or key → SYSTEM_ERROR. Body: BrokerStatsData.
    pub struct ViewBrokerStatsDataRequestHeader {
        stats_name: req String = "statsName";
        stats_key: req String = "statsKey";
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
    fn create_topic_defaults() {
        let h = CreateTopicRequestHeader::from_ext(&ext(&[
            ("topic", "T"),
            ("defaultTopic", "TBW102"),
            ("readQueueNums", "8"),
            ("writeQueueNums", "8"),
            ("perm", "6"),
        ]))
        .unwrap();
        assert_eq!(h.topic_filter_type, "SINGLE_TAG");
        assert!(!h.order);
        assert_eq!(CreateTopicRequestHeader::from_ext(&h.to_ext()).unwrap(), h);
        assert_eq!(
            CreateTopicRequestHeader::from_ext(&ext(&[("topic", "T"), ("readQueueNums", "8")]))
                .unwrap_err()
                .field(),
            "writeQueueNums"
        );
    }

    #[test]
    fn reset_offset() {
        let h = ResetOffsetRequestHeader::from_ext(&ext(&[
            ("topic", "T"),
            ("group", "g"),
            ("timestamp", "-1"),
            ("isForce", "true"),
        ]))
        .unwrap();
        assert!(h.is_force && h.queue_id.is_none());
        let s = GetConsumeStatsRequestHeader::from_ext(&ext(&[("consumerGroup", "g")])).unwrap();
        assert_eq!(s.topic, None);
    }
}
