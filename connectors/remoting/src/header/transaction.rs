//! Transactions and send-back: END_TRANSACTION (37) — protocol.md §2.3.8;
//! CHECK_TRANSACTION_STATE (39) — §2.3.9; CONSUMER_SEND_MSG_BACK (36) — §2.3.7.

use super::ext_header;

/// `commitOrRollback` / sysFlag transaction type values (§2.3.8, §3.3).
pub mod transaction_type {
    /// Unknown / not a transaction. The broker stays silent on it.
    pub const NOT_TYPE: i32 = 0;
    /// Half message (invalid in END_TRANSACTION).
    pub const PREPARED: i32 = 0x4;
    pub const COMMIT: i32 = 0x8;
    pub const ROLLBACK: i32 = 0xC;
}

/// The decision carried by END_TRANSACTION.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionResolution {
    /// 0: the producer does not know yet.
    Unknown,
    /// 8.
    Commit,
    /// 12.
    Rollback,
}

ext_header! {
    /// END_TRANSACTION (37) request (Java and C++ send it oneway). `remark` may carry the
    /// producer's local exception text.
    pub struct EndTransactionRequestHeader {
        /// Must equal the half message's `PGROUP`.
        producer_group: req String = "producerGroup";
        /// Half-queue offset.
        tran_state_table_offset: req i64 = "tranStateTableOffset";
        /// Physical offset of the half message.
        commit_log_offset: req i64 = "commitLogOffset";
        /// 0, 8 or 12; see [`EndTransactionRequestHeader::resolution`].
        commit_or_rollback: req i32 = "commitOrRollback";
        /// True when answering CHECK_TRANSACTION_STATE.
        from_transaction_check: def bool = "fromTransactionCheck", default false;
        /// UNIQ_KEY (or offsetMsgId).
        msg_id: opt String = "msgId";
        transaction_id: opt String = "transactionId";
        /// 5.x.
        topic: opt String = "topic";
        /// 5.x.
        broker_name: opt String = "bname";
    }
}

impl EndTransactionRequestHeader {
    /// The decision, or `None` for any value other than 0/8/12 (which must be rejected).
    pub fn resolution(&self) -> Option<TransactionResolution> {
        match self.commit_or_rollback {
            transaction_type::NOT_TYPE => Some(TransactionResolution::Unknown),
            transaction_type::COMMIT => Some(TransactionResolution::Commit),
            transaction_type::ROLLBACK => Some(TransactionResolution::Rollback),
            _ => None,
        }
    }
}

ext_header! {
    /// CHECK_TRANSACTION_STATE (39), broker → producer, oneway. Body: the half message
    /// re-encoded with its real topic and queue (§3.10).
    pub struct CheckTransactionStateRequestHeader {
        tran_state_table_offset: req i64 = "tranStateTableOffset";
        commit_log_offset: req i64 = "commitLogOffset";
        /// UNIQ_KEY.
        msg_id: opt String = "msgId";
        /// = UNIQ_KEY.
        transaction_id: opt String = "transactionId";
        offset_msg_id: opt String = "offsetMsgId";
        /// 5.x.
        topic: opt String = "topic";
        /// 5.x.
        broker_name: opt String = "bname";
    }
}

ext_header! {
    /// CONSUMER_SEND_MSG_BACK (36) request: a failed message goes to retry / DLQ (§5.3).
    pub struct ConsumerSendMsgBackRequestHeader {
        /// CommitLog physical offset of the failed message.
        offset: req i64 = "offset";
        group: req String = "group";
        delay_level: req i32 = "delayLevel";
        origin_msg_id: opt String = "originMsgId";
        origin_topic: opt String = "originTopic";
        unit_mode: def bool = "unitMode", default false;
        max_reconsume_times: opt i32 = "maxReconsumeTimes";
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext::ExtFields;

    #[test]
    fn end_transaction() {
        let e: ExtFields = [
            ("producerGroup", "pg"),
            ("tranStateTableOffset", "3"),
            ("commitLogOffset", "4096"),
            ("commitOrRollback", "8"),
            ("fromTransactionCheck", "true"),
            ("msgId", "ABC"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let h = EndTransactionRequestHeader::from_ext(&e).unwrap();
        assert_eq!(h.resolution(), Some(TransactionResolution::Commit));
        assert!(h.from_transaction_check);
        let mut bad = h.clone();
        bad.commit_or_rollback = 4;
        assert_eq!(bad.resolution(), None);
        assert_eq!(EndTransactionRequestHeader::from_ext(&h.to_ext()).unwrap(), h);
    }

    #[test]
    fn send_back() {
        let h = ConsumerSendMsgBackRequestHeader {
            offset: 10,
            group: "g".into(),
            delay_level: 0,
            origin_msg_id: Some("X".into()),
            origin_topic: None,
            unit_mode: false,
            max_reconsume_times: Some(16),
        };
        assert_eq!(
            ConsumerSendMsgBackRequestHeader::from_ext(&h.to_ext()).unwrap(),
            h
        );
        let c = CheckTransactionStateRequestHeader {
            tran_state_table_offset: 1,
            commit_log_offset: 2,
            msg_id: Some("U".into()),
            transaction_id: Some("U".into()),
            offset_msg_id: Some("O".into()),
            topic: None,
            broker_name: None,
        };
        assert_eq!(
            CheckTransactionStateRequestHeader::from_ext(&c.to_ext()).unwrap(),
            c
        );
    }
}
