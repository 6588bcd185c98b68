//! Admin / statistics bodies — protocol.md §2.3.20, §2.3.21, §2.4.
//!
//! Java keys several of these by `MessageQueue` objects, written as JSON-object keys
//! (`{{"brokerName":"b","queueId":0,"topic":"T"}:{…}}`); Java tools accept nothing else, so
//! [`JsonBody::to_json`] writes exactly that ([`fastjson::write_mq_map`]) and `from_json`
//! reads it back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::common::{DataVersion, MessageQueue};
use super::enums::{ConsumeFromWhere, ConsumeType, MessageModel};
use super::fastjson::{self, write_key, JsonStyle};
use super::heartbeat::SubscriptionData;
use super::{serde_body, BodyError, JsonBody};
use crate::lenient;

/// Keys of the GET_BROKER_RUNTIME_INFO (28) KVTable that mqadmin reads (§2.3.20). Supply all
/// of them with plausible values.
pub const BROKER_RUNTIME_KEYS: &[&str] = &[
    "brokerVersionDesc",
    "brokerVersion",
    "msgPutTotalYesterdayMorning",
    "msgPutTotalTodayMorning",
    "msgPutTotalTodayNow",
    "msgGetTotalYesterdayMorning",
    "msgGetTotalTodayMorning",
    "msgGetTotalTodayNow",
    "putTps",
    "getTransferedTps",
    "commitLogDiskRatio",
    "consumeQueueDiskRatio",
    "commitLogMinOffset",
    "commitLogMaxOffset",
    "earliestMessageTimeStamp",
    "pageCacheLockTimeMills",
    "dispatchBehindBytes",
    "bootTimestamp",
    "runtime",
    "sendThreadPoolQueueSize",
    "sendThreadPoolQueueCapacity",
    "pullThreadPoolQueueSize",
    "pullThreadPoolQueueCapacity",
    "startAcceptSendRequestTimeStamp",
    "remainHowManyDataToFlush",
    "remainHowManyDataToCommit",
    "remainTransientStoreBufferNumbs",
    "commitLogDirCapacity",
];

/// Per-queue offsets of GET_TOPIC_STATS_INFO: `{"lastUpdateTimestamp":…,"maxOffset":10,"minOffset":0}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TopicOffset {
    /// Store time of message `maxOffset-1`, 0 if empty.
    #[serde(rename = "lastUpdateTimestamp", default, deserialize_with = "lenient::i64")]
    pub last_update_timestamp: i64,
    #[serde(rename = "maxOffset", default, deserialize_with = "lenient::i64")]
    pub max_offset: i64,
    #[serde(rename = "minOffset", default, deserialize_with = "lenient::i64")]
    pub min_offset: i64,
}

/// The GET_TOPIC_STATS_INFO (202) body: one entry per queue.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
pub struct TopicStatsTable {
    #[serde(
        rename = "offsetTable",
        default,
        deserialize_with = "fastjson::deserialize_mq_map"
    )]
    pub offset_table: BTreeMap<MessageQueue, TopicOffset>,
}

impl JsonBody for TopicStatsTable {
    fn to_json(&self) -> Vec<u8> {
        let mut out = b"{".to_vec();
        write_key(&mut out, "offsetTable");
        fastjson::write_mq_map(&mut out, &self.offset_table);
        out.push(b'}');
        out
    }
    fn from_json(bytes: &[u8]) -> Result<Self, BodyError> {
        fastjson::from_slice(bytes)
    }
}

/// Per-queue lag of GET_CONSUME_STATS:
/// `{"brokerOffset":10,"consumerOffset":8,"lastTimestamp":…,"pullOffset":…}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct OffsetWrapper {
    /// Queue max offset.
    #[serde(rename = "brokerOffset", default, deserialize_with = "lenient::i64")]
    pub broker_offset: i64,
    /// Committed offset, 0 if none.
    #[serde(rename = "consumerOffset", default, deserialize_with = "lenient::i64")]
    pub consumer_offset: i64,
    /// Store time of message `consumerOffset-1`.
    #[serde(rename = "lastTimestamp", default, deserialize_with = "lenient::i64")]
    pub last_timestamp: i64,
    /// 5.x.
    #[serde(
        rename = "pullOffset",
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub pull_offset: Option<i64>,
}

/// The GET_CONSUME_STATS (208) body.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
pub struct ConsumeStats {
    #[serde(rename = "consumeTps", default, deserialize_with = "lenient::f64")]
    pub consume_tps: f64,
    #[serde(
        rename = "offsetTable",
        default,
        deserialize_with = "fastjson::deserialize_mq_map"
    )]
    pub offset_table: BTreeMap<MessageQueue, OffsetWrapper>,
}

impl JsonBody for ConsumeStats {
    fn to_json(&self) -> Vec<u8> {
        let mut out = b"{".to_vec();
        write_key(&mut out, "consumeTps");
        fastjson::append(&mut out, &self.consume_tps, JsonStyle::STANDARD);
        out.push(b',');
        write_key(&mut out, "offsetTable");
        fastjson::write_mq_map(&mut out, &self.offset_table);
        out.push(b'}');
        out
    }
    fn from_json(bytes: &[u8]) -> Result<Self, BodyError> {
        fastjson::from_slice(bytes)
    }
}

/// The GET_BROKER_CONSUME_STATS (317) body: for each subscription group, its ConsumeStats per
/// topic, and the summed lag:
/// `{"brokerAddr":"ip:port","consumeStatsList":[{"g":[ConsumeStats,…]},…],"totalDiff":3}`.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
pub struct ConsumeStatsList {
    #[serde(rename = "brokerAddr", default, deserialize_with = "lenient::string")]
    pub broker_addr: String,
    #[serde(rename = "consumeStatsList", default)]
    pub consume_stats_list: Vec<BTreeMap<String, Vec<ConsumeStats>>>,
    #[serde(rename = "totalDiff", default, deserialize_with = "lenient::i64")]
    pub total_diff: i64,
}

impl JsonBody for ConsumeStatsList {
    fn to_json(&self) -> Vec<u8> {
        let mut out = b"{".to_vec();
        write_key(&mut out, "brokerAddr");
        fastjson::append(&mut out, &self.broker_addr, JsonStyle::STANDARD);
        out.extend_from_slice(b",");
        write_key(&mut out, "consumeStatsList");
        out.push(b'[');
        for (i, groups) in self.consume_stats_list.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'{');
            for (j, (group, stats)) in groups.iter().enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                write_key(&mut out, group);
                out.push(b'[');
                for (k, s) in stats.iter().enumerate() {
                    if k > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(&s.to_json());
                }
                out.push(b']');
            }
            out.push(b'}');
        }
        out.extend_from_slice(b"],");
        write_key(&mut out, "totalDiff");
        fastjson::append(&mut out, &self.total_diff, JsonStyle::STANDARD);
        out.push(b'}');
        out
    }
    fn from_json(bytes: &[u8]) -> Result<Self, BodyError> {
        fastjson::from_slice(bytes)
    }
}

/// The RESET_CONSUMER_CLIENT_OFFSET (220) / INVOKE_BROKER_TO_RESET_OFFSET (222) body:
/// `{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:123}}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
pub struct ResetOffsetBody {
    #[serde(
        rename = "offsetTable",
        default,
        deserialize_with = "fastjson::deserialize_mq_map"
    )]
    pub offset_table: BTreeMap<MessageQueue, i64>,
}

impl JsonBody for ResetOffsetBody {
    fn to_json(&self) -> Vec<u8> {
        let mut out = b"{".to_vec();
        write_key(&mut out, "offsetTable");
        fastjson::write_mq_map(&mut out, &self.offset_table);
        out.push(b'}');
        out
    }
    fn from_json(bytes: &[u8]) -> Result<Self, BodyError> {
        fastjson::from_slice(bytes)
    }
}

/// One client connection: `{"clientAddr":"ip:port","clientId":"…","language":"JAVA","version":409}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Connection {
    #[serde(rename = "clientAddr", default, deserialize_with = "lenient::string")]
    pub client_addr: String,
    #[serde(rename = "clientId", default, deserialize_with = "lenient::string")]
    pub client_id: String,
    /// The [`LanguageCode`](crate::LanguageCode) name.
    #[serde(default, deserialize_with = "lenient::string")]
    pub language: String,
    #[serde(default, deserialize_with = "lenient::i32")]
    pub version: i32,
}

/// The GET_CONSUMER_CONNECTION_LIST (203) body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ConsumerConnection {
    #[serde(rename = "connectionSet", default, deserialize_with = "lenient::null_default")]
    pub connection_set: Vec<Connection>,
    #[serde(rename = "consumeFromWhere", default)]
    pub consume_from_where: ConsumeFromWhere,
    #[serde(rename = "consumeType", default)]
    pub consume_type: ConsumeType,
    #[serde(rename = "messageModel", default)]
    pub message_model: MessageModel,
    /// Topic → subscription.
    #[serde(
        rename = "subscriptionTable",
        default,
        deserialize_with = "lenient::null_default"
    )]
    pub subscription_table: BTreeMap<String, SubscriptionData>,
}

/// The GET_PRODUCER_CONNECTION_LIST (204) body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ProducerConnection {
    #[serde(rename = "connectionSet", default, deserialize_with = "lenient::null_default")]
    pub connection_set: Vec<Connection>,
}

/// One producer client (GET_ALL_PRODUCER_INFO 328, RocketMQ 5.x).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ProducerInfo {
    #[serde(rename = "clientId", default, deserialize_with = "lenient::string")]
    pub client_id: String,
    /// `ip:port` of the client's connection.
    #[serde(rename = "remoteIP", default, deserialize_with = "lenient::string")]
    pub remote_ip: String,
    /// The [`LanguageCode`](crate::LanguageCode) name.
    #[serde(default, deserialize_with = "lenient::string")]
    pub language: String,
    #[serde(default, deserialize_with = "lenient::i32")]
    pub version: i32,
    /// Its last heartbeat (ms since the epoch).
    #[serde(rename = "lastUpdateTimestamp", default)]
    pub last_update_timestamp: i64,
}

/// The GET_ALL_PRODUCER_INFO (328) body: producer group → its clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ProducerTableInfo {
    #[serde(default)]
    pub data: BTreeMap<String, Vec<ProducerInfo>>,
}

/// A subscription group's config (§2.3.24), with Java's defaults from
/// [`SubscriptionGroupConfig::new`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionGroupConfig {
    /// 5.x.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<BTreeMap<String, String>>,
    #[serde(rename = "brokerId", default, deserialize_with = "lenient::i64")]
    pub broker_id: i64,
    #[serde(
        rename = "consumeBroadcastEnable",
        default = "yes",
        deserialize_with = "lenient::bool"
    )]
    pub consume_broadcast_enable: bool,
    #[serde(rename = "consumeEnable", default = "yes", deserialize_with = "lenient::bool")]
    pub consume_enable: bool,
    #[serde(
        rename = "consumeFromMinEnable",
        default = "yes",
        deserialize_with = "lenient::bool"
    )]
    pub consume_from_min_enable: bool,
    /// 5.x.
    #[serde(rename = "consumeMessageOrderly", default, deserialize_with = "lenient::bool")]
    pub consume_message_orderly: bool,
    /// 5.x.
    #[serde(
        rename = "consumeTimeoutMinute",
        default = "fifteen",
        deserialize_with = "lenient::i32"
    )]
    pub consume_timeout_minute: i32,
    #[serde(rename = "groupName", default, deserialize_with = "lenient::string")]
    pub group_name: String,
    /// 5.x, passed through.
    #[serde(rename = "groupRetryPolicy", default, skip_serializing_if = "Option::is_none")]
    pub group_retry_policy: Option<serde_json::Value>,
    /// 5.x.
    #[serde(rename = "groupSysFlag", default, deserialize_with = "lenient::i32")]
    pub group_sys_flag: i32,
    #[serde(
        rename = "notifyConsumerIdsChangedEnable",
        default = "yes",
        deserialize_with = "lenient::bool"
    )]
    pub notify_consumer_ids_changed_enable: bool,
    #[serde(
        rename = "retryMaxTimes",
        default = "sixteen",
        deserialize_with = "lenient::i32"
    )]
    pub retry_max_times: i32,
    #[serde(rename = "retryQueueNums", default = "one", deserialize_with = "lenient::i32")]
    pub retry_queue_nums: i32,
    #[serde(
        rename = "whichBrokerWhenConsumeSlowly",
        default = "one_i64",
        deserialize_with = "lenient::i64"
    )]
    pub which_broker_when_consume_slowly: i64,
}

fn yes() -> bool {
    true
}
fn one() -> i32 {
    1
}
fn one_i64() -> i64 {
    1
}
fn sixteen() -> i32 {
    16
}
fn fifteen() -> i32 {
    15
}

impl SubscriptionGroupConfig {
    /// The §2.3.24 defaults for an auto-created group.
    pub fn new(group_name: impl Into<String>) -> Self {
        SubscriptionGroupConfig {
            attributes: None,
            broker_id: 0,
            consume_broadcast_enable: true,
            consume_enable: true,
            consume_from_min_enable: true,
            consume_message_orderly: false,
            consume_timeout_minute: 15,
            group_name: group_name.into(),
            group_retry_policy: None,
            group_sys_flag: 0,
            notify_consumer_ids_changed_enable: true,
            retry_max_times: 16,
            retry_queue_nums: 1,
            which_broker_when_consume_slowly: 1,
        }
    }
}

/// The GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201) body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SubscriptionGroupWrapper {
    #[serde(rename = "dataVersion", default, deserialize_with = "lenient::null_default")]
    pub data_version: DataVersion,
    /// 5.x, passed through.
    #[serde(rename = "forbiddenTable", default, skip_serializing_if = "Option::is_none")]
    pub forbidden_table: Option<serde_json::Value>,
    #[serde(
        rename = "subscriptionGroupTable",
        default,
        deserialize_with = "lenient::null_default"
    )]
    pub subscription_group_table: BTreeMap<String, SubscriptionGroupConfig>,
}

/// One window of a broker statistic: `{"avgpt":0.5,"sum":120,"tps":2.0}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct BrokerStatsItem {
    /// Average of the value per recorded event in the window.
    #[serde(default, deserialize_with = "lenient::f64")]
    pub avgpt: f64,
    #[serde(default, deserialize_with = "lenient::i64")]
    pub sum: i64,
    #[serde(default, deserialize_with = "lenient::f64")]
    pub tps: f64,
}

/// The VIEW_BROKER_STATS_DATA (315) body: the last minute, hour and day of one statistic.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct BrokerStatsData {
    #[serde(rename = "statsDay", default)]
    pub stats_day: BrokerStatsItem,
    #[serde(rename = "statsHour", default)]
    pub stats_hour: BrokerStatsItem,
    #[serde(rename = "statsMinute", default)]
    pub stats_minute: BrokerStatsItem,
}

serde_body!(
    BrokerStatsData,
    ConsumerConnection,
    ProducerConnection,
    ProducerTableInfo,
    SubscriptionGroupConfig,
    SubscriptionGroupWrapper
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mq_keyed_bodies_use_object_keys() {
        let mut t = TopicStatsTable::default();
        t.offset_table.insert(
            MessageQueue::new("T", "b", 0),
            TopicOffset {
                last_update_timestamp: 5,
                max_offset: 10,
                min_offset: 0,
            },
        );
        let json = t.to_json();
        assert_eq!(
            json,
            br#"{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:{"lastUpdateTimestamp":5,"maxOffset":10,"minOffset":0}}}"#
        );
        assert_eq!(TopicStatsTable::from_json(&json).unwrap(), t);

        let mut c = ConsumeStats {
            consume_tps: 1.5,
            ..Default::default()
        };
        c.offset_table.insert(
            MessageQueue::new("T", "b", 1),
            OffsetWrapper {
                broker_offset: 10,
                consumer_offset: 8,
                last_timestamp: 7,
                pull_offset: None,
            },
        );
        c.offset_table
            .insert(MessageQueue::new("T", "b", 0), OffsetWrapper::default());
        let json = c.to_json();
        assert!(json
            .starts_with(br#"{"consumeTps":1.5,"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:"#));
        assert_eq!(ConsumeStats::from_json(&json).unwrap(), c);

        let mut r = ResetOffsetBody::default();
        r.offset_table.insert(MessageQueue::new("T", "b", 0), 123);
        assert_eq!(
            r.to_json(),
            br#"{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:123}}"#
        );
        assert_eq!(ResetOffsetBody::from_json(&r.to_json()).unwrap(), r);
    }

    #[test]
    fn connections_and_groups() {
        let cc = ConsumerConnection {
            connection_set: vec![Connection {
                client_addr: "1.2.3.4:5".into(),
                client_id: "c".into(),
                language: "JAVA".into(),
                version: 409,
            }],
            ..Default::default()
        };
        assert_eq!(
            cc.to_json(),
            br#"{"connectionSet":[{"clientAddr":"1.2.3.4:5","clientId":"c","language":"JAVA","version":409}],"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","subscriptionTable":{}}"#
        );
        let g = SubscriptionGroupConfig::from_json(br#"{"groupName":"g"}"#).unwrap();
        assert_eq!(g, SubscriptionGroupConfig::new("g"));
    }
}
