//! SEND_MESSAGE (10), SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320) and the reply variants
//! (324, 325): protocol.md §2.3.1.
//!
//! One request type reads both spellings: the long names of code 10 (Go, C++ fallback, old
//! Java) and the single-letter V2 keys `a`…`n` (Java default, ali-ons, C++, all batches).
//! Whether a send is a batch is decided by the `batch`/`m` flag, not by the code (§2.3.1).

use crate::ext::{self, ExtFields, ExtValue, HeaderError};

use super::CommandHeader;

/// `defaultTopic` when a client leaves it out (§2.3.23).
pub const DEFAULT_TOPIC: &str = "TBW102";
/// `defaultTopicQueueNums` when a client leaves it out (Java and Go send 4).
pub const DEFAULT_TOPIC_QUEUE_NUMS: i32 = 4;
/// `MSG_REGION` default (§2.3.1).
pub const DEFAULT_REGION: &str = "DefaultRegion";

/// Long name, V2 key (and, for `brokerName`, the 5.x V1 key `bname`).
struct Key {
    long: &'static str,
    v2: &'static str,
}

const PRODUCER_GROUP: Key = Key {
    long: "producerGroup",
    v2: "a",
};
const TOPIC: Key = Key {
    long: "topic",
    v2: "b",
};
const DEFAULT_TOPIC_KEY: Key = Key {
    long: "defaultTopic",
    v2: "c",
};
const DEFAULT_TOPIC_QUEUE_NUMS_KEY: Key = Key {
    long: "defaultTopicQueueNums",
    v2: "d",
};
const QUEUE_ID: Key = Key {
    long: "queueId",
    v2: "e",
};
const SYS_FLAG: Key = Key {
    long: "sysFlag",
    v2: "f",
};
const BORN_TIMESTAMP: Key = Key {
    long: "bornTimestamp",
    v2: "g",
};
const FLAG: Key = Key {
    long: "flag",
    v2: "h",
};
const PROPERTIES: Key = Key {
    long: "properties",
    v2: "i",
};
const RECONSUME_TIMES: Key = Key {
    long: "reconsumeTimes",
    v2: "j",
};
const UNIT_MODE: Key = Key {
    long: "unitMode",
    v2: "k",
};
const MAX_RECONSUME_TIMES: Key = Key {
    long: "maxReconsumeTimes",
    v2: "l",
};
const BATCH: Key = Key {
    long: "batch",
    v2: "m",
};
/// On code 10, 5.x Java and Go send `bname`; `brokerName` is accepted too.
const BROKER_NAME: Key = Key {
    long: "bname",
    v2: "n",
};
const BROKER_NAME_ALT: &str = "brokerName";

/// Reads a field under its long name or its V2 key; errors name the key that was present.
fn lookup<T: ExtValue>(ext: &ExtFields, key: &Key) -> Result<Option<T>, HeaderError> {
    match ext::first_of(ext, &[key.long, key.v2]) {
        None => Ok(None),
        Some((_, raw)) if raw.is_empty() && T::empty_is_absent() => Ok(None),
        Some((name, raw)) => T::parse_ext(name, raw).map(Some),
    }
}

fn required<T: ExtValue>(ext: &ExtFields, key: &Key) -> Result<T, HeaderError> {
    lookup(ext, key)?.ok_or(HeaderError::Missing { field: key.long })
}

/// The send request header (§2.3.1).
///
/// Required (error when missing): `producerGroup`/`a`, `topic`/`b`, `queueId`/`e`. Lenient
/// defaults for the rest: `defaultTopic` = `TBW102`, `defaultTopicQueueNums` = 4, `sysFlag`,
/// `bornTimestamp`, `flag` = 0, `unitMode`, `batch` = false.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendMessageRequestHeader {
    /// `producerGroup` / `a`.
    pub producer_group: String,
    /// `topic` / `b`.
    pub topic: String,
    /// `defaultTopic` / `c`: template topic for auto-creation (always `TBW102` in practice).
    pub default_topic: String,
    /// `defaultTopicQueueNums` / `d`.
    pub default_topic_queue_nums: i32,
    /// `queueId` / `e`: `< 0` ⇒ the broker picks a queue.
    pub queue_id: i32,
    /// `sysFlag` / `f`: message sysFlag (§3.3).
    pub sys_flag: i32,
    /// `bornTimestamp` / `g`, ms.
    pub born_timestamp: i64,
    /// `flag` / `h`: user flag, stored verbatim.
    pub flag: i32,
    /// `properties` / `i`: encoded property string (§3.5).
    pub properties: Option<String>,
    /// `reconsumeTimes` / `j`.
    pub reconsume_times: Option<i32>,
    /// `unitMode` / `k`.
    pub unit_mode: bool,
    /// `maxReconsumeTimes` / `l`.
    pub max_reconsume_times: Option<i32>,
    /// `batch` / `m`: the body is a batch (§3.9).
    pub batch: bool,
    /// `bname` (V1, 5.x) / `n`: target broker name.
    pub broker_name: Option<String>,
}

impl SendMessageRequestHeader {
    /// Reads either spelling (long names or V2 keys).
    pub fn from_ext(ext: &ExtFields) -> Result<Self, HeaderError> {
        let broker_name = match lookup::<String>(ext, &BROKER_NAME)? {
            Some(name) => Some(name),
            None => ext::get_opt::<String>(ext, BROKER_NAME_ALT)?,
        };
        Ok(SendMessageRequestHeader {
            producer_group: required(ext, &PRODUCER_GROUP)?,
            topic: required(ext, &TOPIC)?,
            default_topic: lookup(ext, &DEFAULT_TOPIC_KEY)?.unwrap_or_else(|| DEFAULT_TOPIC.to_owned()),
            default_topic_queue_nums: lookup(ext, &DEFAULT_TOPIC_QUEUE_NUMS_KEY)?
                .unwrap_or(DEFAULT_TOPIC_QUEUE_NUMS),
            queue_id: required(ext, &QUEUE_ID)?,
            sys_flag: lookup(ext, &SYS_FLAG)?.unwrap_or(0),
            born_timestamp: lookup(ext, &BORN_TIMESTAMP)?.unwrap_or(0),
            flag: lookup(ext, &FLAG)?.unwrap_or(0),
            properties: lookup(ext, &PROPERTIES)?,
            reconsume_times: lookup(ext, &RECONSUME_TIMES)?,
            unit_mode: lookup(ext, &UNIT_MODE)?.unwrap_or(false),
            max_reconsume_times: lookup(ext, &MAX_RECONSUME_TIMES)?,
            batch: lookup(ext, &BATCH)?.unwrap_or(false),
            broker_name,
        })
    }

    fn render(&self, v2: bool) -> ExtFields {
        let name = |k: &Key| if v2 { k.v2 } else { k.long };
        let mut e = ExtFields::new();
        ext::put(&mut e, name(&PRODUCER_GROUP), &self.producer_group);
        ext::put(&mut e, name(&TOPIC), &self.topic);
        ext::put(&mut e, name(&DEFAULT_TOPIC_KEY), &self.default_topic);
        ext::put(
            &mut e,
            name(&DEFAULT_TOPIC_QUEUE_NUMS_KEY),
            &self.default_topic_queue_nums,
        );
        ext::put(&mut e, name(&QUEUE_ID), &self.queue_id);
        ext::put(&mut e, name(&SYS_FLAG), &self.sys_flag);
        ext::put(&mut e, name(&BORN_TIMESTAMP), &self.born_timestamp);
        ext::put(&mut e, name(&FLAG), &self.flag);
        ext::put_opt(&mut e, name(&PROPERTIES), &self.properties);
        ext::put_opt(&mut e, name(&RECONSUME_TIMES), &self.reconsume_times);
        ext::put(&mut e, name(&UNIT_MODE), &self.unit_mode);
        ext::put_opt(&mut e, name(&MAX_RECONSUME_TIMES), &self.max_reconsume_times);
        ext::put(&mut e, name(&BATCH), &self.batch);
        ext::put_opt(&mut e, name(&BROKER_NAME), &self.broker_name);
        e
    }

    /// Long names, for code 10 (`brokerName` as `bname`).
    pub fn to_ext(&self) -> ExtFields {
        self.render(false)
    }

    /// Single-letter V2 keys, for codes 310, 320 and 325.
    pub fn to_ext_v2(&self) -> ExtFields {
        self.render(true)
    }

    /// The keys `code` uses: V2 for 310/320/325, long names otherwise.
    pub fn to_ext_for(&self, code: i32) -> ExtFields {
        self.render(crate::codes::request::uses_send_v2_header(code))
    }

    /// Transaction type bits of `sysFlag` (§3.3): 0 not-tx, 4 prepared, 8 commit, 12 rollback.
    pub fn transaction_type(&self) -> i32 {
        self.sys_flag & 0xC
    }

    /// `reconsumeTimes`, 0 when absent.
    pub fn reconsume_times_or_zero(&self) -> i32 {
        self.reconsume_times.unwrap_or(0)
    }
}

impl CommandHeader for SendMessageRequestHeader {
    fn from_ext(ext: &ExtFields) -> Result<Self, HeaderError> {
        SendMessageRequestHeader::from_ext(ext)
    }
    fn to_ext(&self) -> ExtFields {
        SendMessageRequestHeader::to_ext(self)
    }
}

/// The send response header (§2.3.1), carried by SUCCESS and by the three "stored but…"
/// codes 10/11/12. [`to_ext`](Self::to_ext) always adds `MSG_REGION` and `TRACE_ON`, which
/// Java clients read unconditionally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendMessageResponseHeader {
    /// `msgId`: offsetMsgId of the stored message; for batches the comma-joined list.
    pub msg_id: String,
    /// `queueId`: the actual queue.
    pub queue_id: i32,
    /// `queueOffset`: ConsumeQueue offset of the (first) message.
    pub queue_offset: i64,
    /// `transactionId` (5.x): the `UNIQ_KEY`.
    pub transaction_id: Option<String>,
    /// `batchUniqId` (5.x inner batch only).
    pub batch_uniq_id: Option<String>,
    /// `recallHandle` (5.3 timer messages).
    pub recall_handle: Option<String>,
    /// `MSG_REGION`: the broker's `regionId`.
    pub msg_region: String,
    /// `TRACE_ON`: the broker's `traceOn`.
    pub trace_on: bool,
}

impl SendMessageResponseHeader {
    /// A response header with the default region and tracing on.
    pub fn new(msg_id: impl Into<String>, queue_id: i32, queue_offset: i64) -> Self {
        SendMessageResponseHeader {
            msg_id: msg_id.into(),
            queue_id,
            queue_offset,
            transaction_id: None,
            batch_uniq_id: None,
            recall_handle: None,
            msg_region: DEFAULT_REGION.to_owned(),
            trace_on: true,
        }
    }

    /// Reads the header; `MSG_REGION` defaults to `DefaultRegion`, `TRACE_ON` to true.
    pub fn from_ext(ext: &ExtFields) -> Result<Self, HeaderError> {
        Ok(SendMessageResponseHeader {
            msg_id: ext::get(ext, "msgId")?,
            queue_id: ext::get(ext, "queueId")?,
            queue_offset: ext::get(ext, "queueOffset")?,
            transaction_id: ext::get_opt(ext, "transactionId")?,
            batch_uniq_id: ext::get_opt(ext, "batchUniqId")?,
            recall_handle: ext::get_opt(ext, "recallHandle")?,
            msg_region: ext::get_or(ext, "MSG_REGION", DEFAULT_REGION.to_owned())?,
            trace_on: ext::get_bool_or(ext, "TRACE_ON", true),
        })
    }

    /// Renders the header, always with `MSG_REGION` and `TRACE_ON`.
    pub fn to_ext(&self) -> ExtFields {
        let mut e = ExtFields::new();
        ext::put(&mut e, "msgId", &self.msg_id);
        ext::put(&mut e, "queueId", &self.queue_id);
        ext::put(&mut e, "queueOffset", &self.queue_offset);
        ext::put_opt(&mut e, "transactionId", &self.transaction_id);
        ext::put_opt(&mut e, "batchUniqId", &self.batch_uniq_id);
        ext::put_opt(&mut e, "recallHandle", &self.recall_handle);
        ext::put(&mut e, "MSG_REGION", &self.msg_region);
        ext::put(&mut e, "TRACE_ON", &self.trace_on);
        e
    }
}

impl CommandHeader for SendMessageResponseHeader {
    fn from_ext(ext: &ExtFields) -> Result<Self, HeaderError> {
        SendMessageResponseHeader::from_ext(ext)
    }
    fn to_ext(&self) -> ExtFields {
        SendMessageResponseHeader::to_ext(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(pairs: &[(&str, &str)]) -> ExtFields {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn sample() -> SendMessageRequestHeader {
        SendMessageRequestHeader {
            producer_group: "pg".into(),
            topic: "T".into(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 4,
            queue_id: 2,
            sys_flag: 4,
            born_timestamp: 1_700_000_000_000,
            flag: 0,
            properties: Some("TAGS\u{1}a\u{2}".into()),
            reconsume_times: Some(0),
            unit_mode: false,
            max_reconsume_times: Some(16),
            batch: true,
            broker_name: Some("broker-a".into()),
        }
    }

    #[test]
    fn both_spellings_round_trip() {
        let h = sample();
        assert_eq!(SendMessageRequestHeader::from_ext(&h.to_ext()).unwrap(), h);
        assert_eq!(SendMessageRequestHeader::from_ext(&h.to_ext_v2()).unwrap(), h);
        let v2 = h.to_ext_for(310);
        assert_eq!(v2.get("a").map(String::as_str), Some("pg"));
        assert_eq!(v2.get("n").map(String::as_str), Some("broker-a"));
        let v1 = h.to_ext_for(10);
        assert_eq!(v1.get("bname").map(String::as_str), Some("broker-a"));
        assert_eq!(h.transaction_type(), 4);
    }

    #[test]
    fn ali_ons_minimal_v2() {
        // a…l only, numbers/booleans already canonicalised by the frame decoder.
        let e = ext(&[
            ("a", "pg"),
            ("b", "T"),
            ("c", "TBW102"),
            ("d", "4"),
            ("e", "0"),
            ("f", "0"),
            ("g", "1700000000000"),
            ("h", "0"),
            ("i", "KEYS\u{1}k\u{2}"),
            ("j", "0"),
            ("k", "false"),
            ("l", "16"),
        ]);
        let h = SendMessageRequestHeader::from_ext(&e).unwrap();
        assert!(!h.batch && h.broker_name.is_none());
        assert_eq!(h.max_reconsume_times, Some(16));
    }

    #[test]
    fn missing_and_malformed_fields_are_named() {
        let err = SendMessageRequestHeader::from_ext(&ext(&[("b", "T"), ("e", "1")])).unwrap_err();
        assert_eq!(err.field(), "producerGroup");
        let err =
            SendMessageRequestHeader::from_ext(&ext(&[("a", "g"), ("b", "T"), ("e", "x")])).unwrap_err();
        assert_eq!(err.field(), "e");
        // Defaults for the lenient fields.
        let h = SendMessageRequestHeader::from_ext(&ext(&[
            ("producerGroup", "g"),
            ("topic", "T"),
            ("queueId", "-1"),
        ]))
        .unwrap();
        assert_eq!(
            (h.default_topic.as_str(), h.default_topic_queue_nums, h.queue_id),
            ("TBW102", 4, -1)
        );
        let h = SendMessageRequestHeader::from_ext(&ext(&[
            ("a", "g"),
            ("b", "T"),
            ("e", "0"),
            ("brokerName", "b1"),
            ("m", "1"),
        ]))
        .unwrap();
        assert_eq!(h.broker_name.as_deref(), Some("b1"));
        assert!(h.batch);
    }

    #[test]
    fn response_always_has_region_and_trace() {
        let r = SendMessageResponseHeader::new("C0A8000100002A9F00000000000A1B2C", 1, 17);
        let e = r.to_ext();
        assert_eq!(e.get("MSG_REGION").map(String::as_str), Some("DefaultRegion"));
        assert_eq!(e.get("TRACE_ON").map(String::as_str), Some("true"));
        assert_eq!(SendMessageResponseHeader::from_ext(&e).unwrap(), r);
    }
}
