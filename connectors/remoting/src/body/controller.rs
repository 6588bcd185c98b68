//! Controller-mode bodies (RocketMQ 5.x, protocol.md §9.4), and the broker's epoch list.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::serde_body;

/// `{"syncStateSet":[1,2],"syncStateSetEpoch":3}`: a group's in-sync replicas (broker ids) and
/// the epoch of that set. Body of 1001 (request and response), 1003 and 1004 responses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncStateSet {
    #[serde(default)]
    pub sync_state_set: BTreeSet<i64>,
    #[serde(default)]
    pub sync_state_set_epoch: i32,
}

/// A group's brokers by id (`brokerAddrs` keys are broker ids).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerMemberGroup {
    #[serde(default)]
    pub broker_addrs: BTreeMap<i64, String>,
    #[serde(default)]
    pub broker_name: String,
    #[serde(default)]
    pub cluster: String,
}

/// CONTROLLER_ELECT_MASTER (1002) response body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ElectMasterResponseBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker_member_group: Option<BrokerMemberGroup>,
    #[serde(default)]
    pub sync_state_set: BTreeSet<i64>,
}

/// One replica of a group in [`ReplicasInfo`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaIdentity {
    #[serde(default)]
    pub alive: bool,
    #[serde(default)]
    pub broker_address: String,
    #[serde(default)]
    pub broker_id: i64,
    #[serde(default)]
    pub broker_name: String,
}

/// A group's replication state as the controller holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicasInfo {
    #[serde(default)]
    pub in_sync_replicas: Vec<ReplicaIdentity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_broker_id: Option<i64>,
    #[serde(default)]
    pub master_epoch: i32,
    #[serde(default)]
    pub not_in_sync_replicas: Vec<ReplicaIdentity>,
    #[serde(default)]
    pub sync_state_set_epoch: i32,
}

/// CONTROLLER_GET_SYNC_STATE_DATA (1006) response body (mqadmin `getSyncStateSet`); the request
/// body is a JSON array of brokerNames ([`BrokerNames`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerReplicasInfo {
    #[serde(default)]
    pub replicas_info_table: BTreeMap<String, ReplicasInfo>,
}

/// CONTROLLER_GET_SYNC_STATE_DATA (1006) request body: `["broker-a","broker-b"]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BrokerNames(pub Vec<String>);

/// One epoch of a broker's CommitLog: messages in `[startOffset, endOffset)` were written under
/// master epoch `epoch` (the last entry's end is the log's end).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EpochEntry {
    #[serde(default = "end_unbounded")]
    pub end_offset: i64,
    #[serde(default)]
    pub epoch: i32,
    #[serde(default)]
    pub start_offset: i64,
}

fn end_unbounded() -> i64 {
    i64::MAX
}

/// GET_BROKER_EPOCH_CACHE (1007) response body, broker → admin (mqadmin `getBrokerEpoch`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EpochEntryCache {
    #[serde(default)]
    pub broker_id: i64,
    #[serde(default)]
    pub broker_name: String,
    #[serde(default)]
    pub cluster_name: String,
    #[serde(default)]
    pub epoch_list: Vec<EpochEntry>,
    #[serde(default)]
    pub max_offset: i64,
}

serde_body!(
    EpochEntryCache,
    SyncStateSet,
    ElectMasterResponseBody,
    BrokerReplicasInfo,
    BrokerNames
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::JsonBody;

    #[test]
    fn java_shapes() {
        let s = SyncStateSet {
            sync_state_set: [1, 2].into(),
            sync_state_set_epoch: 3,
        };
        assert_eq!(
            String::from_utf8(s.to_json()).unwrap(),
            r#"{"syncStateSet":[1,2],"syncStateSetEpoch":3}"#
        );
        assert_eq!(SyncStateSet::from_json(&s.to_json()).unwrap(), s);
        // fastjson writes map keys of a Long map unquoted.
        let b = ElectMasterResponseBody::from_json(
            br#"{"brokerMemberGroup":{"brokerAddrs":{1:"127.0.0.1:10911"},"brokerName":"b","cluster":"c"},"syncStateSet":[1]}"#,
        )
        .unwrap();
        assert_eq!(b.broker_member_group.unwrap().broker_addrs[&1], "127.0.0.1:10911");
        let names = BrokerNames::from_json(br#"["broker-a"]"#).unwrap();
        assert_eq!(names.0, ["broker-a"]);
        let info = BrokerReplicasInfo::from_json(
            br#"{"replicasInfoTable":{"broker-a":{"masterBrokerId":1,"masterEpoch":2,"inSyncReplicas":[{"brokerId":1,"alive":true}]}}}"#,
        )
        .unwrap();
        assert_eq!(info.replicas_info_table["broker-a"].master_epoch, 2);
        let cache = EpochEntryCache::from_json(
            br#"{"brokerId":2,"brokerName":"broker-a","clusterName":"c","epochList":[{"epoch":1,"startOffset":0,"endOffset":300},{"epoch":2,"startOffset":300}],"maxOffset":500}"#,
        )
        .unwrap();
        assert_eq!(cache.epoch_list[1].end_offset, i64::MAX);
        assert_eq!((cache.epoch_list[0].end_offset, cache.max_offset), (300, 500));
    }
}
