//! Small shared shapes, protocol.md §2.5.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::serde_body;

/// `{"brokerName":"broker-a","queueId":0,"topic":"T"}`. Ordered by topic, broker, queue.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct MessageQueue {
    #[serde(rename = "brokerName", default, deserialize_with = "crate::lenient::string")]
    pub broker_name: String,
    #[serde(rename = "queueId", default, deserialize_with = "crate::lenient::i32")]
    pub queue_id: i32,
    #[serde(default, deserialize_with = "crate::lenient::string")]
    pub topic: String,
}

impl MessageQueue {
    /// A queue.
    pub fn new(topic: impl Into<String>, broker_name: impl Into<String>, queue_id: i32) -> Self {
        MessageQueue {
            broker_name: broker_name.into(),
            queue_id,
            topic: topic.into(),
        }
    }
}

impl Ord for MessageQueue {
    fn cmp(&self, other: &Self) -> Ordering {
        (&self.topic, &self.broker_name, self.queue_id).cmp(&(
            &other.topic,
            &other.broker_name,
            other.queue_id,
        ))
    }
}

impl PartialOrd for MessageQueue {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// `{"counter":3,"stateVersion":0,"timestamp":1700000000000}`: a broker's topic-config
/// version, compared by the namesrv on registration (§2.3.17).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct DataVersion {
    #[serde(default, deserialize_with = "crate::lenient::i64")]
    pub counter: i64,
    #[serde(rename = "stateVersion", default, deserialize_with = "crate::lenient::i64")]
    pub state_version: i64,
    #[serde(default, deserialize_with = "crate::lenient::i64")]
    pub timestamp: i64,
}

/// `{"table":{"k":"v"}}` — GET_BROKER_RUNTIME_INFO (28), GET_KVLIST_BY_NAMESPACE (219), the
/// REGISTER_BROKER response (§2.3.17, §2.3.18, §2.3.20).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct KvTable {
    #[serde(default)]
    pub table: BTreeMap<String, String>,
}

/// `{"topicList":["a","b"]}` — GET_ALL_TOPIC_LIST_FROM_NAMESERVER (206), GET_TOPICS_BY_CLUSTER
/// (224). 5.x may add `brokerAddr`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TopicList {
    #[serde(rename = "brokerAddr", default, skip_serializing_if = "Option::is_none")]
    pub broker_addr: Option<String>,
    #[serde(rename = "topicList", default)]
    pub topic_list: Vec<String>,
}

/// `{"groupList":["g1","g2"]}` — QUERY_TOPIC_CONSUME_BY_WHO (300).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct GroupList {
    #[serde(rename = "groupList", default)]
    pub group_list: Vec<String>,
}

/// `{"consumerIdList":["ip@pid#t1",…]}` — GET_CONSUMER_LIST_BY_GROUP (38) response (§2.3.11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ConsumerListBody {
    #[serde(rename = "consumerIdList", default)]
    pub consumer_id_list: Vec<String>,
}

serde_body!(
    MessageQueue,
    DataVersion,
    KvTable,
    TopicList,
    GroupList,
    ConsumerListBody
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::JsonBody;

    #[test]
    fn golden_shapes() {
        assert_eq!(
            MessageQueue::new("T", "broker-a", 0).to_json(),
            br#"{"brokerName":"broker-a","queueId":0,"topic":"T"}"#
        );
        let dv = DataVersion {
            counter: 3,
            state_version: 0,
            timestamp: 1_700_000_000_000,
        };
        assert_eq!(
            dv.to_json(),
            br#"{"counter":3,"stateVersion":0,"timestamp":1700000000000}"#
        );
        let mut kv = KvTable::default();
        kv.table.insert("k".into(), "v".into());
        assert_eq!(kv.to_json(), br#"{"table":{"k":"v"}}"#);
        let tl = TopicList {
            broker_addr: None,
            topic_list: vec!["a".into(), "b".into()],
        };
        assert_eq!(tl.to_json(), br#"{"topicList":["a","b"]}"#);
        let cl = ConsumerListBody {
            consumer_id_list: vec!["1.2.3.4@1#2".into()],
        };
        assert_eq!(cl.to_json(), br#"{"consumerIdList":["1.2.3.4@1#2"]}"#);
        assert_eq!(ConsumerListBody::from_json(&cl.to_json()).unwrap(), cl);
        // Lenient: string queue id, unquoted keys.
        let mq = MessageQueue::from_json(br#"{topic:"T",brokerName:"b",queueId:"3"}"#).unwrap();
        assert_eq!(mq, MessageQueue::new("T", "b", 3));
    }
}
