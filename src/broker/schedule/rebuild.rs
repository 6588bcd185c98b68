//! Messages the broker builds from a stored record: the delivered copy of a delay-level or
//! timer message (§5.1), the committed copy of a half message (§6.3), the op record of an
//! ended transaction (§6.3), and the retry / dead-letter copy of a failed message (§5.3).

use std::net::SocketAddr;

use bytes::Bytes;
use sluice_storage::msgid::offset_msg_id;
use sluice_storage::properties::{self, names};
use sluice_storage::record::{sysflag, Record};
use sluice_storage::system_topics::{OP_HALF_TOPIC, OP_TAG};
use sluice_storage::MessageToStore;

use super::route::WAIT_PROPERTIES;

/// A copy of the stored record, ready to be appended again (same body, flag, sysFlag, born
/// time and host, reconsume times, properties).
pub fn copy_of(r: &Record<'_>) -> MessageToStore {
    MessageToStore {
        topic: r.topic.to_owned(),
        queue_id: r.queue_id.max(0) as u32,
        flag: r.flag,
        sys_flag: r.sys_flag,
        born_timestamp: r.born_timestamp,
        born_host: r.born_host,
        reconsume_times: r.reconsume_times,
        prepared_transaction_offset: r.prepared_transaction_offset,
        body: Bytes::copy_from_slice(r.body),
        properties: r.properties.to_owned(),
    }
}

/// The real topic and queue a waiting record is for.
pub fn real_destination(r: &Record<'_>) -> Option<(String, u32)> {
    let topic = r.property(names::REAL_TOPIC).filter(|t| !t.is_empty())?;
    let qid = r.property(names::REAL_QID)?.trim().parse().ok()?;
    Some((topic.to_owned(), qid))
}

/// The message a due delay-level or timer record becomes: its real topic and queue, without the
/// properties that made it wait, `WAIT=false`. `None` when the record names no real topic.
pub fn delivered(r: &Record<'_>) -> Option<MessageToStore> {
    let (topic, queue_id) = real_destination(r)?;
    let mut m = copy_of(r);
    m.topic = topic;
    m.queue_id = queue_id;
    m.properties = properties::rewrite(r.properties, &WAIT_PROPERTIES, &[(names::WAIT, "false")]);
    Some(m)
}

/// The message a committed half record becomes (§6.3): its real topic and queue, transaction
/// type COMMIT, the half record's offset as PREPARED TRANSACTION OFFSET.
pub fn committed(r: &Record<'_>, half_phys_offset: u64) -> Option<MessageToStore> {
    let (topic, queue_id) = real_destination(r)?;
    let mut m = copy_of(r);
    m.topic = topic;
    m.queue_id = queue_id;
    m.sys_flag = sysflag::with_transaction_type(r.sys_flag, sysflag::TRANSACTION_COMMIT);
    m.prepared_transaction_offset = half_phys_offset as i64;
    m.properties = properties::rewrite(
        r.properties,
        &[names::REAL_TOPIC, names::REAL_QID, names::TRAN_MSG],
        &[(names::WAIT, "false")],
    );
    Some(m)
}

/// The op record marking half-queue offset `half_offset` as ended (body = its decimal text).
pub fn op_record(half_offset: u64, store_host: SocketAddr, now_ms: i64) -> MessageToStore {
    MessageToStore {
        topic: OP_HALF_TOPIC.into(),
        queue_id: 0,
        flag: 0,
        sys_flag: 0,
        born_timestamp: now_ms,
        born_host: store_host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::from(format!("{half_offset},")),
        properties: properties::encode([(names::TAGS, OP_TAG), (names::WAIT, "false")]),
    }
}

/// The half-queue offsets an op record marks as ended ("12" or "12,13,17," — empty pieces
/// ignored).
pub fn op_offsets(body: &[u8]) -> impl Iterator<Item = u64> + '_ {
    body.split(|b| *b == b',')
        .filter_map(|p| std::str::from_utf8(p).ok())
        .filter_map(|p| p.trim().parse().ok())
}

/// Where a failed message goes back to (§5.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendBack {
    /// `%RETRY%<group>` or `%DLQ%<group>`.
    pub topic: String,
    pub queue_id: u32,
    /// The delay level set on it (0 for the DLQ).
    pub delay_level: i32,
}

/// Builds the retry (or dead-letter) copy of the failed record `r`: `RETRY_TOPIC` remembers the
/// business topic on the first send-back, `ORIGIN_MESSAGE_ID` the first offsetMsgId,
/// reconsumeTimes + 1, `DELAY` = the level to wait (none for the DLQ), `WAIT=false`.
pub fn sent_back(r: &Record<'_>, to: &SendBack, store_host: SocketAddr) -> MessageToStore {
    let mut m = copy_of(r);
    m.topic = to.topic.clone();
    m.queue_id = to.queue_id;
    m.reconsume_times = r.reconsume_times.saturating_add(1);
    let retry_topic = r.property(names::RETRY_TOPIC).unwrap_or(r.topic).to_owned();
    let origin = match r.property(names::ORIGIN_MESSAGE_ID) {
        Some(o) => o.to_owned(),
        None => offset_msg_id(store_host, r.physical_offset.max(0) as u64),
    };
    let level = if to.delay_level > 0 {
        to.delay_level.to_string()
    } else {
        String::new()
    };
    // An empty value drops the entry: the DLQ copy carries no DELAY.
    m.properties = properties::rewrite(
        r.properties,
        &[names::REAL_TOPIC, names::REAL_QID, names::TIMER_OUT_MS],
        &[
            (names::RETRY_TOPIC, &retry_topic),
            (names::ORIGIN_MESSAGE_ID, &origin),
            (names::DELAY, &level),
            (names::WAIT, "false"),
        ],
    );
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_storage::record::{self, CrcCheck, MessageFields, StoreStamp};

    fn stored(topic: &str, props: &str, sys_flag: i32, reconsume: i32) -> Vec<u8> {
        let f = MessageFields {
            topic,
            queue_id: 0,
            flag: 7,
            sys_flag,
            born_timestamp: 11,
            born_host: "10.0.0.1:5".parse().unwrap(),
            reconsume_times: reconsume,
            prepared_transaction_offset: 0,
            body: b"hello",
            properties: props,
        };
        let stamp = StoreStamp {
            queue_offset: 4,
            physical_offset: 4096,
            store_timestamp: 12,
            store_host: "127.0.0.1:10911".parse().unwrap(),
        };
        let mut out = Vec::new();
        record::encode(&mut out, &f, &stamp, None).unwrap();
        out
    }

    #[test]
    fn delivered_restores_the_real_queue_and_drops_wait_properties() {
        let props = properties::encode([
            ("TAGS", "a"),
            ("UNIQ_KEY", "U"),
            ("DELAY", "3"),
            ("REAL_TOPIC", "T"),
            ("REAL_QID", "2"),
        ]);
        let bytes = stored("SCHEDULE_TOPIC_XXXX", &props, 0, 0);
        let r = record::decode_message(&bytes, CrcCheck::Verify).unwrap();
        let m = delivered(&r).unwrap();
        assert_eq!((m.topic.as_str(), m.queue_id, m.flag), ("T", 2, 7));
        assert_eq!(m.body.as_ref(), b"hello");
        assert_eq!(properties::get(&m.properties, "DELAY"), None);
        assert_eq!(properties::get(&m.properties, "UNIQ_KEY"), Some("U"));
        assert_eq!(properties::get(&m.properties, "WAIT"), Some("false"));
        let orphan = stored("SCHEDULE_TOPIC_XXXX", "TAGS\u{1}a\u{2}", 0, 0);
        assert!(delivered(&record::decode_message(&orphan, CrcCheck::Verify).unwrap()).is_none());
    }

    #[test]
    fn committed_and_op_records() {
        let props = properties::encode([
            ("TRAN_MSG", "true"),
            ("PGROUP", "pg"),
            ("REAL_TOPIC", "T"),
            ("REAL_QID", "1"),
        ]);
        let bytes = stored("RMQ_SYS_TRANS_HALF_TOPIC", &props, 0, 0);
        let r = record::decode_message(&bytes, CrcCheck::Verify).unwrap();
        let m = committed(&r, 4096).unwrap();
        assert_eq!((m.topic.as_str(), m.queue_id), ("T", 1));
        assert_eq!(sysflag::transaction_type(m.sys_flag), sysflag::TRANSACTION_COMMIT);
        assert_eq!(m.prepared_transaction_offset, 4096);
        assert_eq!(properties::get(&m.properties, "TRAN_MSG"), None);
        assert_eq!(properties::get(&m.properties, "PGROUP"), Some("pg"));
        let op = op_record(17, "127.0.0.1:1".parse().unwrap(), 5);
        assert_eq!(op_offsets(&op.body).collect::<Vec<_>>(), [17]);
        assert_eq!(op_offsets(b"1,2,,30,").collect::<Vec<_>>(), [1, 2, 30]);
    }

    #[test]
    fn send_back_remembers_the_first_topic_and_id() {
        let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
        let bytes = stored("Biz", "TAGS\u{1}a\u{2}", 0, 0);
        let r = record::decode_message(&bytes, CrcCheck::Verify).unwrap();
        let to = SendBack {
            topic: "%RETRY%g".into(),
            queue_id: 0,
            delay_level: 3,
        };
        let m = sent_back(&r, &to, host);
        assert_eq!((m.topic.as_str(), m.reconsume_times), ("%RETRY%g", 1));
        assert_eq!(properties::get(&m.properties, "RETRY_TOPIC"), Some("Biz"));
        assert_eq!(properties::get(&m.properties, "DELAY"), Some("3"));
        let origin = offset_msg_id(host, 4096);
        assert_eq!(
            properties::get(&m.properties, "ORIGIN_MESSAGE_ID"),
            Some(origin.as_str())
        );
        // A second send-back of the retry copy keeps both.
        let again = stored("%RETRY%g", &m.properties, 0, 1);
        let r2 = record::decode_message(&again, CrcCheck::Verify).unwrap();
        let dlq = SendBack {
            topic: "%DLQ%g".into(),
            queue_id: 0,
            delay_level: 0,
        };
        let m2 = sent_back(&r2, &dlq, host);
        assert_eq!(m2.reconsume_times, 2);
        assert_eq!(properties::get(&m2.properties, "RETRY_TOPIC"), Some("Biz"));
        assert_eq!(
            properties::get(&m2.properties, "ORIGIN_MESSAGE_ID"),
            Some(origin.as_str())
        );
        assert_eq!(properties::get(&m2.properties, "DELAY"), None);
    }
}
