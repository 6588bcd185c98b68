//! Column families `topic_config` and `subscription_group`: RocketMQ's `TopicConfig` and
//! `SubscriptionGroupConfig` as JSON documents keyed by topic or group name.

use serde::{Deserialize, Serialize};

use super::MetaStore;
use crate::error::StoreError;

pub const CF_TOPIC_CONFIG: &str = "topic_config";
pub const CF_SUBSCRIPTION_GROUP: &str = "subscription_group";

/// Permission bits of a topic (`perm`), wire format (protocol.md §2.3.22).
pub use sluice_remoting::perm;

/// A topic's configuration, as RocketMQ's `TopicConfig` serialises it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicConfig {
    pub topic_name: String,
    pub read_queue_nums: u32,
    pub write_queue_nums: u32,
    pub perm: i32,
    pub topic_filter_type: String,
    pub topic_sys_flag: i32,
    pub order: bool,
}

impl Default for TopicConfig {
    fn default() -> Self {
        TopicConfig {
            topic_name: String::new(),
            read_queue_nums: 16,
            write_queue_nums: 16,
            perm: perm::READ_WRITE,
            topic_filter_type: "SINGLE_TAG".into(),
            topic_sys_flag: 0,
            order: false,
        }
    }
}

/// A consumer group's configuration, as RocketMQ's `SubscriptionGroupConfig` serialises it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionGroupConfig {
    pub group_name: String,
    pub consume_enable: bool,
    pub consume_from_min_enable: bool,
    pub consume_broadcast_enable: bool,
    pub retry_queue_nums: u32,
    pub retry_max_times: i32,
    pub broker_id: u64,
    pub which_broker_when_consume_slowly: u64,
    pub notify_consumer_ids_changed_enable: bool,
}

impl Default for SubscriptionGroupConfig {
    fn default() -> Self {
        SubscriptionGroupConfig {
            group_name: String::new(),
            consume_enable: true,
            consume_from_min_enable: true,
            consume_broadcast_enable: true,
            retry_queue_nums: 1,
            retry_max_times: 16,
            broker_id: 0,
            which_broker_when_consume_slowly: 1,
            notify_consumer_ids_changed_enable: true,
        }
    }
}

impl MetaStore {
    pub fn put_topic_config(&self, config: &TopicConfig) -> Result<(), StoreError> {
        self.put_json(CF_TOPIC_CONFIG, &config.topic_name, config)
    }

    pub fn topic_config(&self, topic: &str) -> Result<Option<TopicConfig>, StoreError> {
        self.get_json(CF_TOPIC_CONFIG, topic)
    }

    pub fn topic_configs(&self) -> Result<Vec<TopicConfig>, StoreError> {
        self.all_json(CF_TOPIC_CONFIG)
    }

    pub fn delete_topic_config(&self, topic: &str) -> Result<(), StoreError> {
        self.delete(CF_TOPIC_CONFIG, topic.as_bytes())
    }

    pub fn put_subscription_group(&self, config: &SubscriptionGroupConfig) -> Result<(), StoreError> {
        self.put_json(CF_SUBSCRIPTION_GROUP, &config.group_name, config)
    }

    pub fn subscription_group(&self, group: &str) -> Result<Option<SubscriptionGroupConfig>, StoreError> {
        self.get_json(CF_SUBSCRIPTION_GROUP, group)
    }

    pub fn subscription_groups(&self) -> Result<Vec<SubscriptionGroupConfig>, StoreError> {
        self.all_json(CF_SUBSCRIPTION_GROUP)
    }

    pub fn delete_subscription_group(&self, group: &str) -> Result<(), StoreError> {
        self.delete(CF_SUBSCRIPTION_GROUP, group.as_bytes())
    }
}
