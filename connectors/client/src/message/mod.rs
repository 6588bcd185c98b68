//! Messages: what a producer sends ([`Message`]), what a consumer receives ([`MessageExt`]),
//! the property string (protocol.md §3.5), the stored layout (§3.1) and message ids (§3.7).

pub(crate) mod decode;
mod properties;
mod uniq;

pub use decode::{decode_messages, offset_msg_id, MessageExt};
pub use properties::{decode_properties, encode_properties};
pub use uniq::UniqKeyGenerator;

use std::collections::BTreeMap;

use bytes::Bytes;

/// Property names the client reads or writes (§3.6).
pub mod property {
    /// Business keys, space-separated.
    pub const KEYS: &str = "KEYS";
    /// The tag.
    pub const TAGS: &str = "TAGS";
    /// Wait for the store (missing = wait).
    pub const WAIT: &str = "WAIT";
    /// Delay level.
    pub const DELAY: &str = "DELAY";
    /// The client-generated message id.
    pub const UNIQ_KEY: &str = "UNIQ_KEY";
    /// Ordering key.
    pub const SHARDING_KEY: &str = "__SHARDINGKEY";
    /// Half message marker.
    pub const TRAN_MSG: &str = "TRAN_MSG";
    /// Producer group of a half message.
    pub const PGROUP: &str = "PGROUP";
    /// First transaction check not before this many seconds.
    pub const CHECK_IMMUNITY_TIME_IN_SECONDS: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";
    /// Transaction id (broker copies UNIQ_KEY).
    pub const TRANSACTION_ID: &str = "__transactionId__";
    /// Absolute delivery time, ms (5.x timers).
    pub const TIMER_DELIVER_MS: &str = "TIMER_DELIVER_MS";
    /// Relative delay, seconds (5.x timers).
    pub const TIMER_DELAY_SEC: &str = "TIMER_DELAY_SEC";
    /// Relative delay, ms (5.x timers).
    pub const TIMER_DELAY_MS: &str = "TIMER_DELAY_MS";
    /// Original topic of a retried message (§5.4).
    pub const RETRY_TOPIC: &str = "RETRY_TOPIC";
    /// offsetMsgId of the first delivery.
    pub const ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";
    /// Original topic of a delayed / half message.
    pub const REAL_TOPIC: &str = "REAL_TOPIC";
    /// Original queue of a delayed / half message.
    pub const REAL_QID: &str = "REAL_QID";
    /// Client-side: queue min offset from the pull response.
    pub const MIN_OFFSET: &str = "MIN_OFFSET";
    /// Client-side: queue max offset from the pull response.
    pub const MAX_OFFSET: &str = "MAX_OFFSET";
    /// Client-side, fallback resend: reconsume count moved into the send header.
    pub const RECONSUME_TIME: &str = "RECONSUME_TIME";
    /// Client-side, fallback resend: max reconsume count moved into the send header.
    pub const MAX_RECONSUME_TIMES: &str = "MAX_RECONSUME_TIMES";
}

/// Message sysFlag bits (§3.3).
pub mod sys_flag {
    /// Body is compressed.
    pub const COMPRESSED: i32 = 0x1;
    /// Transaction type mask.
    pub const TRANSACTION_MASK: i32 = 0xC;
    /// Half message.
    pub const TRANSACTION_PREPARED: i32 = 0x4;
    /// Born host is IPv6.
    pub const BORNHOST_V6: i32 = 0x10;
    /// Store host is IPv6.
    pub const STOREHOST_V6: i32 = 0x20;
    /// 5.x compression type bits.
    pub const COMPRESSION_TYPE_MASK: i32 = 0x700;
}

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// Target topic.
    pub topic: String,
    /// User flag, stored verbatim.
    pub flag: i32,
    /// Properties (§3.6).
    pub properties: BTreeMap<String, String>,
    /// Payload.
    pub body: Bytes,
}

impl Message {
    /// A message for `topic` with `body`.
    pub fn new(topic: impl Into<String>, body: impl Into<Bytes>) -> Self {
        Message {
            topic: topic.into(),
            body: body.into(),
            ..Default::default()
        }
    }

    /// Builder: the tag.
    pub fn with_tags(self, tags: impl Into<String>) -> Self {
        self.with_property(property::TAGS, tags)
    }

    /// Builder: business keys (joined with a space).
    pub fn with_keys<I: IntoIterator<Item = S>, S: AsRef<str>>(self, keys: I) -> Self {
        let joined = keys
            .into_iter()
            .map(|k| k.as_ref().to_owned())
            .collect::<Vec<_>>()
            .join(" ");
        self.with_property(property::KEYS, joined)
    }

    /// Builder: any property.
    pub fn with_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(name.into(), value.into());
        self
    }

    /// Builder: user flag.
    pub fn with_flag(mut self, flag: i32) -> Self {
        self.flag = flag;
        self
    }

    /// Builder: delay level 1..=18 (§5.1: 1s 5s 10s 30s 1m 2m … 2h).
    pub fn with_delay_level(self, level: i32) -> Self {
        self.with_property(property::DELAY, level.to_string())
    }

    /// Builder: 5.x timer, absolute delivery time in ms since the epoch (§5.2).
    pub fn with_deliver_time_ms(self, at_ms: i64) -> Self {
        self.with_property(property::TIMER_DELIVER_MS, at_ms.to_string())
    }

    /// Builder: 5.x timer, relative delay in seconds (§5.2).
    pub fn with_delay_sec(self, secs: i64) -> Self {
        self.with_property(property::TIMER_DELAY_SEC, secs.to_string())
    }

    /// Builder: 5.x timer, relative delay in ms (§5.2).
    pub fn with_delay_ms(self, ms: i64) -> Self {
        self.with_property(property::TIMER_DELAY_MS, ms.to_string())
    }

    /// One property.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.get(name).map(String::as_str)
    }

    /// The tag, if any.
    pub fn tags(&self) -> Option<&str> {
        self.property(property::TAGS)
    }

    /// The keys, if any.
    pub fn keys(&self) -> Vec<&str> {
        self.property(property::KEYS)
            .map(|k| k.split(' ').filter(|s| !s.is_empty()).collect())
            .unwrap_or_default()
    }

    /// The client-generated id, once assigned by a send.
    pub fn uniq_key(&self) -> Option<&str> {
        self.property(property::UNIQ_KEY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_set_properties() {
        let m = Message::new("T", "x")
            .with_tags("TagA")
            .with_keys(["k1", "k2"])
            .with_delay_level(3)
            .with_delay_sec(10);
        assert_eq!(m.tags(), Some("TagA"));
        assert_eq!(m.keys(), ["k1", "k2"]);
        assert_eq!(m.property(property::DELAY), Some("3"));
        assert_eq!(m.property(property::TIMER_DELAY_SEC), Some("10"));
        let m = m.with_deliver_time_ms(1_700_000_000_000).with_delay_ms(5);
        assert_eq!(m.property(property::TIMER_DELIVER_MS), Some("1700000000000"));
        assert_eq!(m.property(property::TIMER_DELAY_MS), Some("5"));
    }
}
