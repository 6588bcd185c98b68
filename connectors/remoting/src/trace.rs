//! The message-trace record format clients with `enableMsgTrace` write into the trace topic
//! (`RMQ_SYS_TRACE_TOPIC`), and the broker's own records use too. A trace message's body holds
//! records ending with `\x02`; a record's fields are separated by `\x01`, the first names it:
//!
//! | record | fields after the type |
//! |---|---|
//! | `Pub` | time, region, producer group, topic, msgId, tags, keys, store host, body length, cost ms, message type, offsetMsgId, success |
//! | `SubBefore` | time, region, consumer group, request id, msgId, retry times, keys |
//! | `SubAfter` | request id, msgId, cost ms, success, keys, context code, time, consumer group |
//! | `EndTransaction` | time, region, producer group, topic, msgId, tags, keys, store host, message type, transaction id, state, from a check |
//!
//! Clients add fields after these in later versions; they are ignored. A record of another type
//! is skipped, and a missing field reads as empty (or 0).

/// The trace topic unless `msgTraceTopicName` (broker) or the client's trace topic says
/// otherwise.
pub const DEFAULT_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";

/// Field separator inside a record.
pub const FIELD: char = '\u{1}';
/// Record terminator.
pub const RECORD_END: char = '\u{2}';

/// The record types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceKind {
    Pub,
    SubBefore,
    SubAfter,
    EndTransaction,
}

impl TraceKind {
    pub fn name(self) -> &'static str {
        match self {
            TraceKind::Pub => "Pub",
            TraceKind::SubBefore => "SubBefore",
            TraceKind::SubAfter => "SubAfter",
            TraceKind::EndTransaction => "EndTransaction",
        }
    }

    /// The type a record's first field names.
    pub fn from_name(s: &str) -> Option<TraceKind> {
        Some(match s {
            "Pub" => TraceKind::Pub,
            "SubBefore" => TraceKind::SubBefore,
            "SubAfter" => TraceKind::SubAfter,
            "EndTransaction" => TraceKind::EndTransaction,
            _ => return None,
        })
    }
}

/// One trace record, every field its type carries; the others are empty or `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceRecord {
    pub kind: TraceKind,
    /// The traced message's id (UNIQ_KEY).
    pub msg_id: String,
    /// ms since the epoch (0 when the record has none).
    pub time: i64,
    pub region: String,
    /// Producer group (Pub, EndTransaction) or consumer group (SubBefore, SubAfter).
    pub group: String,
    pub topic: String,
    pub tags: String,
    pub keys: String,
    pub store_host: String,
    pub body_length: Option<i64>,
    pub cost_ms: Option<i64>,
    pub message_type: String,
    pub offset_msg_id: String,
    /// Pub: sent; SubAfter: consumed; None for the others.
    pub success: Option<bool>,
    /// SubBefore / SubAfter: what ties one delivery's two records together.
    pub request_id: String,
    pub retry_times: Option<i32>,
    /// SubAfter: the consume context code.
    pub context_code: Option<i32>,
    pub transaction_id: String,
    /// EndTransaction: COMMIT_MESSAGE / ROLLBACK_MESSAGE / UNKNOW.
    pub transaction_state: String,
    /// EndTransaction: the state came from a check-back.
    pub from_transaction_check: Option<bool>,
}

impl TraceRecord {
    fn empty(kind: TraceKind) -> TraceRecord {
        TraceRecord {
            kind,
            msg_id: String::new(),
            time: 0,
            region: String::new(),
            group: String::new(),
            topic: String::new(),
            tags: String::new(),
            keys: String::new(),
            store_host: String::new(),
            body_length: None,
            cost_ms: None,
            message_type: String::new(),
            offset_msg_id: String::new(),
            success: None,
            request_id: String::new(),
            retry_times: None,
            context_code: None,
            transaction_id: String::new(),
            transaction_state: String::new(),
            from_transaction_check: None,
        }
    }
}

/// Every record of a trace message's body, in order.
pub fn parse(body: &str) -> Vec<TraceRecord> {
    body.split(RECORD_END).filter_map(parse_record).collect()
}

fn parse_record(text: &str) -> Option<TraceRecord> {
    let f: Vec<&str> = text.split(FIELD).collect();
    let kind = TraceKind::from_name(f.first()?.trim_start_matches(['\n', '\r']))?;
    let s = |i: usize| f.get(i).copied().unwrap_or_default().to_owned();
    let n = |i: usize| f.get(i).and_then(|v| v.trim().parse::<i64>().ok());
    let b = |i: usize| f.get(i).and_then(|v| v.trim().parse::<bool>().ok());
    let mut r = TraceRecord::empty(kind);
    // Pub and EndTransaction begin alike: time, region, group, topic, msgId, tags, keys, host.
    if matches!(kind, TraceKind::Pub | TraceKind::EndTransaction) {
        r.time = n(1).unwrap_or(0);
        r.region = s(2);
        r.group = s(3);
        r.topic = s(4);
        r.msg_id = s(5);
        r.tags = s(6);
        r.keys = s(7);
        r.store_host = s(8);
    }
    match kind {
        TraceKind::Pub => {
            r.body_length = n(9);
            r.cost_ms = n(10);
            r.message_type = s(11);
            r.offset_msg_id = s(12);
            r.success = b(13);
        }
        TraceKind::EndTransaction => {
            r.message_type = s(9);
            r.transaction_id = s(10);
            r.transaction_state = s(11);
            r.from_transaction_check = b(12);
        }
        TraceKind::SubBefore => {
            r.time = n(1).unwrap_or(0);
            r.region = s(2);
            r.group = s(3);
            r.request_id = s(4);
            r.msg_id = s(5);
            r.retry_times = n(6).and_then(|v| i32::try_from(v).ok());
            r.keys = s(7);
        }
        TraceKind::SubAfter => {
            r.request_id = s(1);
            r.msg_id = s(2);
            r.cost_ms = n(3);
            r.success = b(4);
            r.keys = s(5);
            r.context_code = n(6).and_then(|v| i32::try_from(v).ok());
            r.time = n(7).unwrap_or(0);
            r.group = s(8);
        }
    }
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_four_record_types() {
        let body = [
            "Pub\u{1}1700000000000\u{1}DefaultRegion\u{1}pg\u{1}T\u{1}ID1\u{1}TagA\u{1}k1\u{1}127.0.0.1:10911\u{1}12\u{1}3\u{1}0\u{1}OFF1\u{1}true\u{2}",
            "SubBefore\u{1}1700000000100\u{1}DefaultRegion\u{1}cg\u{1}req\u{1}ID1\u{1}2\u{1}k1\u{2}",
            "SubAfter\u{1}req\u{1}ID1\u{1}7\u{1}false\u{1}k1\u{1}1\u{1}1700000000107\u{1}cg\u{1}extra\u{2}",
            "Other\u{1}x\u{2}",
            "EndTransaction\u{1}1700000000200\u{1}R\u{1}pg\u{1}T\u{1}ID1\u{1}\u{1}\u{1}h:1\u{1}2\u{1}tx1\u{1}COMMIT_MESSAGE\u{1}true\u{2}",
        ]
        .concat();
        let r = parse(&body);
        assert_eq!(r.len(), 4);
        assert_eq!(r[0].kind, TraceKind::Pub);
        assert_eq!((r[0].group.as_str(), r[0].topic.as_str()), ("pg", "T"));
        assert_eq!((r[0].cost_ms, r[0].success), (Some(3), Some(true)));
        assert_eq!(r[0].offset_msg_id, "OFF1");
        assert_eq!((r[1].retry_times, r[1].time), (Some(2), 1_700_000_000_100));
        assert_eq!((r[2].msg_id.as_str(), r[2].group.as_str()), ("ID1", "cg"));
        assert_eq!((r[2].success, r[2].context_code), (Some(false), Some(1)));
        assert_eq!(r[3].transaction_state, "COMMIT_MESSAGE");
        assert_eq!(r[3].from_transaction_check, Some(true));
    }

    #[test]
    fn short_and_odd_records_do_not_fail() {
        let r = parse("Pub\u{2}SubAfter\u{1}\u{1}\u{1}x\u{2}\u{2}\u{1}\u{2}garbage");
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].time, 0);
        assert_eq!(r[1].cost_ms, None);
    }
}
