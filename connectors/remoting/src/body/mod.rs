//! JSON bodies (protocol.md §2.3, §2.5), with serde; field names exactly as on the wire and
//! declared in alphabetical order so the output matches fastjson's (§2.4).
//!
//! * Output is compact. Bodies that Java writes with non-standard JSON have dedicated
//!   encoders: `brokerAddrs` with unquoted integer keys ([`route`]), maps keyed by
//!   `MessageQueue` objects ([`admin`]).
//! * Input is lenient like fastjson: unquoted and object keys and single-quoted strings are
//!   normalised ([`fastjson::normalize`]); client-sent bodies accept numbers for strings,
//!   strings for numbers and enum names or ordinals ([`crate::lenient`], [`enums`]).
//!
//! | file | bodies |
//! |---|---|
//! | [`common`] | MessageQueue, DataVersion, KVTable, TopicList, GroupList, ConsumerListBody |
//! | [`heartbeat`] | HeartbeatData, SubscriptionData, CheckClientConfigBody |
//! | [`route`] | TopicRouteData, QueueData, BrokerData, ClusterInfo |
//! | [`register`] | RegisterBrokerBody, TopicConfigSerializeWrapper, TopicConfig |
//! | [`ha`] | HARuntimeInfo (GET_BROKER_HA_STATUS) |
//! | [`lock`] | LockBatchRequestBody, LockBatchResponseBody, UnlockBatchRequestBody |
//! | [`offsets`] | consumerOffset.json, delayOffset.json (a slave's copies of its master's) |
//! | [`controller`] | SyncStateSet, ElectMasterResponseBody, BrokerReplicasInfo, BrokerNames, EpochEntryCache (5.x controller mode) |
//! | [`acl`] | PlainAccessConfig, BrokerClusterAclConfig (ACL 1.0 admin) |
//! | [`auth`] | UserInfo, AclInfo (ACL 2.0 admin, 5.3) |
//! | [`admin`] | TopicStatsTable, ConsumeStats, ConsumerConnection, ProducerConnection, SubscriptionGroupWrapper, ResetOffsetBody |

pub mod acl;
pub mod admin;
pub mod auth;
pub mod common;
pub mod controller;
pub mod enums;
pub mod fastjson;
pub mod ha;
pub mod heartbeat;
pub mod lock;
pub mod offsets;
pub mod register;
pub mod route;

pub use common::{ConsumerListBody, DataVersion, GroupList, KvTable, MessageQueue, TopicList};
pub use enums::{ConsumeFromWhere, ConsumeType, MessageModel, TopicFilterType};

/// A body that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// Valid JSON (after normalisation) of the wrong shape, or invalid JSON.
    #[error("JSON body: {0}")]
    Json(#[from] serde_json::Error),
    /// Not even fastjson would accept it.
    #[error("malformed JSON body at byte {offset}: {reason}")]
    Syntax { offset: usize, reason: &'static str },
    /// A binary body (e.g. the compressed register form) is malformed.
    #[error("malformed body: {0}")]
    Invalid(String),
}

/// A JSON body.
pub trait JsonBody: Sized {
    /// Compact JSON as the Java side writes it.
    fn to_json(&self) -> Vec<u8>;
    /// Parses standard JSON or fastjson's relaxed forms.
    fn from_json(bytes: &[u8]) -> Result<Self, BodyError>;
}

/// Implements [`JsonBody`] through serde with the standard style.
macro_rules! serde_body {
    ($($ty:ty),* $(,)?) => {$(
        impl $crate::body::JsonBody for $ty {
            fn to_json(&self) -> Vec<u8> {
                $crate::body::fastjson::to_vec(self, $crate::body::fastjson::JsonStyle::STANDARD)
            }
            fn from_json(bytes: &[u8]) -> Result<Self, $crate::body::BodyError> {
                $crate::body::fastjson::from_slice(bytes)
            }
        }
    )*};
}
pub(crate) use serde_body;
