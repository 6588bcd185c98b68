//! LOCK_BATCH_MQ (41) / UNLOCK_BATCH_MQ (42) bodies — protocol.md §2.3.12. Both requests have
//! an empty header.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::common::MessageQueue;
use super::serde_body;
use crate::lenient;

/// The LOCK_BATCH_MQ request body:
/// `{"clientId":"…","consumerGroup":"g","mqSet":[MessageQueue…],"onlyThisBroker":false}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LockBatchRequestBody {
    #[serde(rename = "clientId", default, deserialize_with = "lenient::string")]
    pub client_id: String,
    #[serde(rename = "consumerGroup", default, deserialize_with = "lenient::string")]
    pub consumer_group: String,
    #[serde(rename = "mqSet", default, deserialize_with = "lenient::null_default")]
    pub mq_set: BTreeSet<MessageQueue>,
    /// 5.x: false makes the broker forward the lock to the other replicas.
    #[serde(rename = "onlyThisBroker", default, deserialize_with = "lenient::bool")]
    pub only_this_broker: bool,
}

/// The UNLOCK_BATCH_MQ request body (same shape; Java may send it oneway).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct UnlockBatchRequestBody {
    #[serde(rename = "clientId", default, deserialize_with = "lenient::string")]
    pub client_id: String,
    #[serde(rename = "consumerGroup", default, deserialize_with = "lenient::string")]
    pub consumer_group: String,
    #[serde(rename = "mqSet", default, deserialize_with = "lenient::null_default")]
    pub mq_set: BTreeSet<MessageQueue>,
    #[serde(rename = "onlyThisBroker", default, deserialize_with = "lenient::bool")]
    pub only_this_broker: bool,
}

/// The LOCK_BATCH_MQ response body: the subset now locked by the client,
/// `{"lockOKMQSet":[MessageQueue…]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LockBatchResponseBody {
    #[serde(rename = "lockOKMQSet", default, deserialize_with = "lenient::null_default")]
    pub lock_ok_mq_set: BTreeSet<MessageQueue>,
}

serde_body!(
    LockBatchRequestBody,
    UnlockBatchRequestBody,
    LockBatchResponseBody
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::JsonBody;

    #[test]
    fn lock_bodies() {
        let req = LockBatchRequestBody::from_json(
            br#"{"consumerGroup":"g","clientId":"ip@pid#t","onlyThisBroker":false,
                 "mqSet":[{"topic":"T","brokerName":"broker-a","queueId":0},{"topic":"T","brokerName":"broker-a","queueId":"1"}]}"#,
        )
        .unwrap();
        assert_eq!(req.mq_set.len(), 2);
        let resp = LockBatchResponseBody {
            lock_ok_mq_set: req.mq_set.clone(),
        };
        assert_eq!(
            resp.to_json(),
            br#"{"lockOKMQSet":[{"brokerName":"broker-a","queueId":0,"topic":"T"},{"brokerName":"broker-a","queueId":1,"topic":"T"}]}"#
        );
        let un = UnlockBatchRequestBody::from_json(&req.to_json()).unwrap();
        assert_eq!(un.mq_set, req.mq_set);
    }
}
