//! GET_ROUTEINFO_BY_TOPIC (105) body TopicRouteData — protocol.md §2.3.16; GET_BROKER_CLUSTER_INFO
//! (106) body ClusterInfo — §2.3.18; the `brokerAddrs` key quirk — §2.4.
//!
//! `brokerAddrs` is keyed by broker id (0 = master). Java writes the keys **unquoted**
//! (`{0:"ip:port"}`) to route clients older than 4.9.4 (version < 401) and always in
//! ClusterInfo; quoted (`{"0":"ip:port"}`, non-ASCII escaped) to clients ≥ 401 or asking with
//! `acceptStandardJsonOnly`. Every client parses both; Go needs compact output (it slices the
//! raw text). Both forms are read back.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::fastjson::{self, JsonStyle};
use super::{BodyError, JsonBody};
use crate::lenient;

/// Broker id of a master.
pub const MASTER_ID: i64 = 0;

/// One broker's queues of a topic:
/// `{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueData {
    #[serde(rename = "brokerName", default, deserialize_with = "lenient::string")]
    pub broker_name: String,
    /// Topic perm (§2.3.22), possibly AND-ed with the broker's own.
    #[serde(default, deserialize_with = "lenient::i32")]
    pub perm: i32,
    #[serde(rename = "readQueueNums", default, deserialize_with = "lenient::i32")]
    pub read_queue_nums: i32,
    /// Java before 4.9 spelled it `topicSynFlag` (accepted on input).
    #[serde(
        rename = "topicSysFlag",
        alias = "topicSynFlag",
        default,
        deserialize_with = "lenient::i32"
    )]
    pub topic_sys_flag: i32,
    #[serde(rename = "writeQueueNums", default, deserialize_with = "lenient::i32")]
    pub write_queue_nums: i32,
}

/// One broker name and its addresses by broker id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerData {
    /// Broker id → `ip:port`.
    #[serde(rename = "brokerAddrs", default, deserialize_with = "lenient::null_default")]
    pub broker_addrs: BTreeMap<i64, String>,
    #[serde(rename = "brokerName", default, deserialize_with = "lenient::string")]
    pub broker_name: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub cluster: String,
    /// 5.x.
    #[serde(
        rename = "enableActingMaster",
        default,
        deserialize_with = "lenient::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub enable_acting_master: Option<bool>,
    /// 5.x, only if set.
    #[serde(
        rename = "zoneName",
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub zone_name: Option<String>,
}

impl BrokerData {
    /// The master's address (id 0), if registered.
    pub fn master_addr(&self) -> Option<&str> {
        self.broker_addrs.get(&MASTER_ID).map(String::as_str)
    }

    /// Where reads go: the master, else the slave with the lowest id (as Java clients read
    /// from a slave when the master is gone).
    pub fn read_addr(&self) -> Option<&str> {
        self.master_addr().or_else(|| {
            self.broker_addrs
                .iter()
                .min_by_key(|(id, _)| **id)
                .map(|(_, a)| a.as_str())
        })
    }
}

/// The GET_ROUTEINFO_BY_TOPIC (105) body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TopicRouteData {
    #[serde(rename = "brokerDatas", default, deserialize_with = "lenient::null_default")]
    pub broker_datas: Vec<BrokerData>,
    #[serde(
        rename = "filterServerTable",
        default,
        deserialize_with = "lenient::null_default"
    )]
    pub filter_server_table: BTreeMap<String, Vec<String>>,
    /// `brokerName:count;…`, only if the ORDER_TOPIC_CONFIG KV is set.
    #[serde(
        rename = "orderTopicConf",
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub order_topic_conf: Option<String>,
    #[serde(rename = "queueDatas", default, deserialize_with = "lenient::null_default")]
    pub queue_datas: Vec<QueueData>,
    /// 5.x static topics, passed through untouched; only if set.
    #[serde(
        rename = "topicQueueMappingByBroker",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub topic_queue_mapping_by_broker: Option<serde_json::Value>,
}

impl TopicRouteData {
    /// The body for a client: `standard_json` (see
    /// [`GetRouteInfoRequestHeader::wants_standard_json`](crate::header::route::GetRouteInfoRequestHeader::wants_standard_json))
    /// → quoted keys with non-ASCII escaped (BrowserCompatible); otherwise fastjson's
    /// unquoted integer keys.
    pub fn to_json_for(&self, standard_json: bool) -> Vec<u8> {
        let style = if standard_json {
            JsonStyle::BROWSER_COMPATIBLE
        } else {
            JsonStyle::FASTJSON
        };
        fastjson::to_vec(self, style)
    }
}

impl JsonBody for TopicRouteData {
    /// The standard (quoted-key) form.
    fn to_json(&self) -> Vec<u8> {
        self.to_json_for(true)
    }
    fn from_json(bytes: &[u8]) -> Result<Self, BodyError> {
        fastjson::from_slice(bytes)
    }
}

/// The GET_BROKER_CLUSTER_INFO (106) body. Java writes the `brokerAddrs` keys unquoted
/// regardless of the client version, and so does [`JsonBody::to_json`] here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ClusterInfo {
    #[serde(
        rename = "brokerAddrTable",
        default,
        deserialize_with = "lenient::null_default"
    )]
    pub broker_addr_table: BTreeMap<String, BrokerData>,
    #[serde(
        rename = "clusterAddrTable",
        default,
        deserialize_with = "lenient::null_default"
    )]
    pub cluster_addr_table: BTreeMap<String, BTreeSet<String>>,
}

impl JsonBody for ClusterInfo {
    fn to_json(&self) -> Vec<u8> {
        fastjson::to_vec(self, JsonStyle::FASTJSON)
    }
    fn from_json(bytes: &[u8]) -> Result<Self, BodyError> {
        fastjson::from_slice(bytes)
    }
}
