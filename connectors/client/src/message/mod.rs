//! Messages: what a producer sends ([`Message`]), what a consumer receives ([`MessageExt`]),
//! the property string (protocol.md §3.5), the stored layout (§3.1) and message ids (§3.7).

pub(crate) mod decode;
mod properties;
mod uniq;

pub use decode::{decode_messages, MessageExt};
pub use properties::{decode_properties, encode_properties};
pub use uniq::UniqKeyGenerator;

use std::collections::BTreeMap;

use bytes::Bytes;
use sluice_remoting::properties::split_keys;

/// Message sysFlag bits (§3.3).
pub use sluice_remoting::message::sysflag as sys_flag;
/// The offsetMsgId of a stored record (§3.7).
pub use sluice_remoting::msgid::offset_msg_id;
/// Property names (§3.6).
pub use sluice_remoting::properties::names as property;

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
            .map(|k| split_keys(k).collect())
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
