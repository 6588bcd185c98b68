//! Fuzzes the JSON bodies (protocol.md §2.3–§2.5) on arbitrary bytes: every body type decodes
//! or fails with an error, never panics. A body that decodes re-encodes to JSON that decodes
//! to the same value and re-encodes to the same bytes. fastjson's relaxed forms: normalising
//! is idempotent, and JSON that serde reads as it is means the same after normalising. The
//! compressed REGISTER_BROKER body and its topic-config lines round-trip the same way.
#![no_main]

use std::fmt::Debug;

use libfuzzer_sys::fuzz_target;
use sluice_remoting::body::acl::BrokerClusterAclConfig;
use sluice_remoting::body::admin::{
    BrokerStatsData, ConsumeStats, ConsumeStatsList, ConsumerConnection, ProducerConnection,
    ProducerTableInfo, ResetOffsetBody, SubscriptionGroupConfig, SubscriptionGroupWrapper, TopicStatsTable,
};
use sluice_remoting::body::auth::{AclInfo, AclInfoList, UserInfo, UserInfoList};
use sluice_remoting::body::controller::{
    BrokerNames, BrokerReplicasInfo, ElectMasterResponseBody, EpochEntryCache, SyncStateSet,
};
use sluice_remoting::body::fastjson::normalize;
use sluice_remoting::body::ha::HaRuntimeInfo;
use sluice_remoting::body::heartbeat::{CheckClientConfigBody, HeartbeatData, SubscriptionData};
use sluice_remoting::body::lock::{LockBatchRequestBody, LockBatchResponseBody, UnlockBatchRequestBody};
use sluice_remoting::body::offsets::{ConsumerOffsetTable, DelayOffsetTable};
use sluice_remoting::body::register::{
    decode_inflated, encode_inflated, RegisterBrokerBody, TopicConfig, TopicConfigSerializeWrapper,
};
use sluice_remoting::body::route::{ClusterInfo, TopicRouteData};
use sluice_remoting::body::{
    ConsumerListBody, DataVersion, GroupList, JsonBody, KvTable, MessageQueue, TopicList,
};

fn round_trip<T: JsonBody + PartialEq + Debug>(data: &[u8]) {
    let Ok(value) = T::from_json(data) else {
        return;
    };
    let json = value.to_json();
    let again = T::from_json(&json).unwrap_or_else(|e| {
        panic!(
            "{} re-encoded as {:?} does not decode: {e}",
            std::any::type_name::<T>(),
            String::from_utf8_lossy(&json)
        )
    });
    assert_eq!(again, value, "{} round trip", std::any::type_name::<T>());
    assert_eq!(
        again.to_json(),
        json,
        "{} encoded twice alike",
        std::any::type_name::<T>()
    );
}

fn relaxed_json(data: &[u8]) {
    let Ok(normal) = normalize(data) else {
        return;
    };
    let twice = normalize(&normal).expect("normalised JSON normalises");
    assert_eq!(twice, normal, "normalising is idempotent");
    if let (Ok(strict), Ok(relaxed)) = (
        serde_json::from_slice::<serde_json::Value>(data),
        serde_json::from_slice::<serde_json::Value>(&normal),
    ) {
        assert_eq!(strict, relaxed, "standard JSON means the same after normalising");
    }
}

fn register_inflated(data: &[u8]) {
    let Ok(body) = decode_inflated(data) else {
        return;
    };
    let bytes = encode_inflated(&body, !body.topic_queue_mapping_infos.is_empty());
    let again = decode_inflated(&bytes).expect("a re-encoded register body decodes");
    assert_eq!(again, body, "compressed register body round trip");
}

fn topic_line(data: &[u8]) {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(tc) = TopicConfig::decode_line(line) else {
        return;
    };
    let encoded = tc.encode_line();
    let again = TopicConfig::decode_line(&encoded).expect("an encoded topic line decodes");
    assert_eq!(again, tc, "topic config line round trip");
}

fuzz_target!(|data: &[u8]| {
    relaxed_json(data);
    register_inflated(data);
    topic_line(data);
    round_trip::<MessageQueue>(data);
    round_trip::<DataVersion>(data);
    round_trip::<KvTable>(data);
    round_trip::<TopicList>(data);
    round_trip::<GroupList>(data);
    round_trip::<ConsumerListBody>(data);
    round_trip::<HeartbeatData>(data);
    round_trip::<SubscriptionData>(data);
    round_trip::<CheckClientConfigBody>(data);
    round_trip::<TopicRouteData>(data);
    round_trip::<ClusterInfo>(data);
    round_trip::<RegisterBrokerBody>(data);
    round_trip::<TopicConfigSerializeWrapper>(data);
    round_trip::<TopicConfig>(data);
    round_trip::<HaRuntimeInfo>(data);
    round_trip::<LockBatchRequestBody>(data);
    round_trip::<UnlockBatchRequestBody>(data);
    round_trip::<LockBatchResponseBody>(data);
    round_trip::<ConsumerOffsetTable>(data);
    round_trip::<DelayOffsetTable>(data);
    round_trip::<SyncStateSet>(data);
    round_trip::<ElectMasterResponseBody>(data);
    round_trip::<BrokerReplicasInfo>(data);
    round_trip::<BrokerNames>(data);
    round_trip::<EpochEntryCache>(data);
    round_trip::<TopicStatsTable>(data);
    round_trip::<ConsumeStats>(data);
    round_trip::<ConsumeStatsList>(data);
    round_trip::<ResetOffsetBody>(data);
    round_trip::<ConsumerConnection>(data);
    round_trip::<ProducerConnection>(data);
    round_trip::<ProducerTableInfo>(data);
    round_trip::<SubscriptionGroupConfig>(data);
    round_trip::<SubscriptionGroupWrapper>(data);
    round_trip::<BrokerStatsData>(data);
    round_trip::<UserInfo>(data);
    round_trip::<UserInfoList>(data);
    round_trip::<AclInfo>(data);
    round_trip::<AclInfoList>(data);
    round_trip::<BrokerClusterAclConfig>(data);
});
