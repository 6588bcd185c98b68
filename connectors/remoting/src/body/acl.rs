//! ACL 1.0 admin bodies (protocol.md §8): GET_BROKER_CLUSTER_ACL_CONFIG's response (5.0–5.2's
//! `GetBrokerClusterAclConfigResponseBody`), the accounts and global whitelist in force.

use serde::{Deserialize, Serialize};

use super::serde_body;
use crate::lenient;

/// One account of plain_acl.yml as 4.9's `PlainAccessConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PlainAccessConfig {
    #[serde(rename = "accessKey", default, deserialize_with = "lenient::string")]
    pub access_key: String,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub admin: bool,
    #[serde(
        rename = "defaultGroupPerm",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub default_group_perm: Option<String>,
    #[serde(
        rename = "defaultTopicPerm",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub default_topic_perm: Option<String>,
    /// `group=PERM` items.
    #[serde(rename = "groupPerms", default, deserialize_with = "lenient::null_default")]
    pub group_perms: Vec<String>,
    #[serde(rename = "secretKey", default, deserialize_with = "lenient::string")]
    pub secret_key: String,
    /// `topic=PERM` items.
    #[serde(rename = "topicPerms", default, deserialize_with = "lenient::null_default")]
    pub topic_perms: Vec<String>,
    #[serde(
        rename = "whiteRemoteAddress",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub white_remote_address: Option<String>,
}

/// `{"globalWhiteAddrs":[…],"plainAccessConfigs":[PlainAccessConfig…]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct BrokerClusterAclConfig {
    #[serde(
        rename = "globalWhiteAddrs",
        default,
        deserialize_with = "lenient::null_default"
    )]
    pub global_white_addrs: Vec<String>,
    #[serde(
        rename = "plainAccessConfigs",
        default,
        deserialize_with = "lenient::null_default"
    )]
    pub plain_access_configs: Vec<PlainAccessConfig>,
}

serde_body!(BrokerClusterAclConfig);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::JsonBody;

    #[test]
    fn round_trip_as_5_1_writes_it() {
        let b = BrokerClusterAclConfig::from_json(
            br#"{"globalWhiteAddrs":["10.10.103.*"],"plainAccessConfigs":[{"accessKey":"RocketMQ","admin":false,"defaultGroupPerm":"SUB","defaultTopicPerm":"DENY","groupPerms":["groupA=DENY"],"secretKey":"12345678","topicPerms":["topicA=DENY","topicB=PUB|SUB"],"whiteRemoteAddress":"192.168.0.*"}]}"#,
        )
        .unwrap();
        assert_eq!(b.plain_access_configs[0].topic_perms.len(), 2);
        assert_eq!(BrokerClusterAclConfig::from_json(&b.to_json()).unwrap(), b);
    }
}
