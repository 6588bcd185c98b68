//! Topic configs: kept in memory, persisted in RocksDB, created on demand through `TBW102`
//! (protocol.md §2.3.19, §2.3.22, §2.3.23), with a data version the NameServer sees.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

use sluice_remoting::body::common::DataVersion;
use sluice_remoting::body::register::{TopicConfig as WireTopicConfig, TopicConfigSerializeWrapper};
use sluice_storage::meta::{perm, MetaStore, TopicConfig};
use sluice_storage::{system_topics, StoreError};

/// The auto-creation template topic.
pub const TBW102: &str = "TBW102";
pub const SELF_TEST_TOPIC: &str = "SELF_TEST_TOPIC";
pub const OFFSET_MOVED_EVENT: &str = "OFFSET_MOVED_EVENT";
pub const RETRY_PREFIX: &str = "%RETRY%";
pub const DLQ_PREFIX: &str = "%DLQ%";

/// Why a topic name is refused (`Topic::validateTopic` rules: `^[%|a-zA-Z0-9_-]+$`, ≤ 127 chars).
pub fn validate_topic_name(topic: &str) -> Result<(), String> {
    if topic.is_empty() {
        return Err("the specified topic is blank".into());
    }
    if topic.len() > 127 {
        return Err(format!(
            "the specified topic is longer than topic max length 127: {topic}"
        ));
    }
    if !topic
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'%' || b == b'|' || b == b'_' || b == b'-')
    {
        return Err(format!(
            "the specified topic[{topic}] contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"
        ));
    }
    Ok(())
}

/// Topics that clients may not create or change through UPDATE_AND_CREATE_TOPIC.
pub fn is_system_topic(topic: &str) -> bool {
    matches!(
        topic,
        TBW102
            | SELF_TEST_TOPIC
            | OFFSET_MOVED_EVENT
            | system_topics::SCHEDULE_TOPIC
            | system_topics::TIMER_TOPIC
            | system_topics::HALF_TOPIC
            | system_topics::OP_HALF_TOPIC
            | system_topics::TRANS_CHECK_MAX_TIME_TOPIC
    )
}

/// The topic table of one broker.
pub struct TopicManager {
    meta: Arc<MetaStore>,
    topics: RwLock<HashMap<String, TopicConfig>>,
    version_counter: AtomicI64,
    version_timestamp: AtomicI64,
}

impl TopicManager {
    /// Loads the persisted topics and makes sure the system topics exist.
    pub fn load(
        meta: Arc<MetaStore>,
        cluster: &str,
        broker_name: &str,
        auto_create: bool,
        default_queues: u32,
    ) -> Result<TopicManager, StoreError> {
        let mut topics = HashMap::new();
        for t in meta.topic_configs()? {
            topics.insert(t.topic_name.clone(), t);
        }
        let tm = TopicManager {
            meta,
            topics: RwLock::new(topics),
            version_counter: AtomicI64::new(0),
            version_timestamp: AtomicI64::new(sluice_storage::clock::now_millis()),
        };
        let system = |name: &str, queues: u32, p: i32| TopicConfig {
            topic_name: name.into(),
            read_queue_nums: queues,
            write_queue_nums: queues,
            perm: p,
            ..TopicConfig::default()
        };
        if auto_create {
            tm.put(system(TBW102, default_queues, perm::READ_WRITE | perm::INHERIT))?;
        }
        tm.put(system(SELF_TEST_TOPIC, 1, perm::READ_WRITE))?;
        tm.put(system(cluster, 16, perm::READ_WRITE))?;
        tm.put(system(broker_name, 1, perm::READ_WRITE))?;
        tm.put(system(OFFSET_MOVED_EVENT, 1, perm::READ_WRITE))?;
        Ok(tm)
    }

    pub fn get(&self, topic: &str) -> Option<TopicConfig> {
        self.topics.read().ok()?.get(topic).cloned()
    }

    pub fn all(&self) -> Vec<TopicConfig> {
        let mut v: Vec<_> = self
            .topics
            .read()
            .map(|t| t.values().cloned().collect())
            .unwrap_or_default();
        v.sort_by(|a, b| a.topic_name.cmp(&b.topic_name));
        v
    }

    /// A new data version: the NameServers take the topic table again at the next registration
    /// (what a change of `brokerPermission` needs, as 4.9 does).
    pub fn bump(&self) {
        self.version_counter.fetch_add(1, Ordering::AcqRel);
        self.version_timestamp
            .store(sluice_storage::clock::now_millis(), Ordering::Release);
    }

    /// Creates or replaces a topic config; returns whether anything changed.
    pub fn put(&self, config: TopicConfig) -> Result<bool, StoreError> {
        if self.get(&config.topic_name).as_ref() == Some(&config) {
            return Ok(false);
        }
        self.meta.put_topic_config(&config)?;
        if let Ok(mut t) = self.topics.write() {
            t.insert(config.topic_name.clone(), config);
        }
        self.bump();
        Ok(true)
    }

    pub fn delete(&self, topic: &str) -> Result<bool, StoreError> {
        let existed = self
            .topics
            .write()
            .map(|mut t| t.remove(topic).is_some())
            .unwrap_or(false);
        if existed {
            self.meta.delete_topic_config(topic)?;
            self.bump();
        }
        Ok(existed)
    }

    /// The topic's config, creating it from the template `default_topic` (TBW102) when the
    /// topic is unknown and the template allows it. `None`: unknown and not creatable.
    pub fn get_or_create_for_send(
        &self,
        topic: &str,
        default_topic: &str,
        queue_nums: i32,
        sys_flag: i32,
    ) -> Result<(Option<TopicConfig>, bool), StoreError> {
        if let Some(t) = self.get(topic) {
            return Ok((Some(t), false));
        }
        let Some(template) = self.get(default_topic) else {
            return Ok((None, false));
        };
        if template.perm & perm::INHERIT == 0 {
            return Ok((None, false));
        }
        let queues = (queue_nums.max(1) as u32).min(template.write_queue_nums.max(1));
        let config = TopicConfig {
            topic_name: topic.into(),
            read_queue_nums: queues,
            write_queue_nums: queues,
            perm: template.perm & !perm::INHERIT,
            topic_filter_type: template.topic_filter_type.clone(),
            topic_sys_flag: sys_flag,
            order: false,
        };
        self.put(config.clone())?;
        tracing::info!(topic, queues, "auto-created topic");
        Ok((Some(config), true))
    }

    /// A retry / DLQ / internal topic with `queues` queues, created if missing.
    pub fn ensure(&self, topic: &str, queues: u32, p: i32) -> Result<(TopicConfig, bool), StoreError> {
        self.ensure_with_flag(topic, queues, p, 0)
    }

    /// The same, created with `sys_flag` (a unit-mode consumer's retry topic: [`UNIT_SUB`]).
    pub fn ensure_with_flag(
        &self,
        topic: &str,
        queues: u32,
        p: i32,
        sys_flag: i32,
    ) -> Result<(TopicConfig, bool), StoreError> {
        if let Some(t) = self.get(topic) {
            return Ok((t, false));
        }
        let config = TopicConfig {
            topic_name: topic.into(),
            read_queue_nums: queues,
            write_queue_nums: queues,
            perm: p,
            topic_sys_flag: sys_flag,
            ..TopicConfig::default()
        };
        let created = self.put(config.clone())?;
        Ok((config, created))
    }

    pub fn data_version(&self) -> DataVersion {
        DataVersion {
            counter: self.version_counter.load(Ordering::Acquire),
            state_version: 0,
            timestamp: self.version_timestamp.load(Ordering::Acquire),
        }
    }

    /// The topic table as REGISTER_BROKER and GET_ALL_TOPIC_CONFIG carry it.
    pub fn wrapper(&self) -> TopicConfigSerializeWrapper {
        // The static-topic mapping tables are always written empty, as 5.x brokers do: 5.x
        // NameServers (rocketmq-rust's among them) refuse a registration without them.
        let mut w = TopicConfigSerializeWrapper {
            data_version: self.data_version(),
            mapping_data_version: Some(self.data_version()),
            topic_queue_mapping_detail_map: Some(serde_json::json!({})),
            topic_queue_mapping_info_map: Some(serde_json::json!({})),
            ..Default::default()
        };
        for t in self.all() {
            w.topic_config_table.insert(t.topic_name.clone(), to_wire(&t));
        }
        w
    }
}

/// TopicSysFlag: a topic auto-created by a unit-mode producer (`unitMode` in its send).
pub const UNIT: i32 = 0x1;
/// TopicSysFlag: a unit-mode consumer's retry topic.
pub const UNIT_SUB: i32 = 0x2;

/// A topic config as the wire (a master's GET_ALL_TOPIC_CONFIG) has it.
pub fn from_wire(w: &WireTopicConfig) -> TopicConfig {
    TopicConfig {
        topic_name: w.topic_name.clone(),
        read_queue_nums: w.read_queue_nums.max(0) as u32,
        write_queue_nums: w.write_queue_nums.max(0) as u32,
        perm: w.perm,
        topic_filter_type: TopicConfig::default().topic_filter_type,
        topic_sys_flag: w.topic_sys_flag,
        order: w.order,
    }
}

/// The wire form of a topic config.
pub fn to_wire(t: &TopicConfig) -> WireTopicConfig {
    let mut w = WireTopicConfig::new(t.topic_name.clone(), t.read_queue_nums as i32);
    w.read_queue_nums = t.read_queue_nums as i32;
    w.write_queue_nums = t.write_queue_nums as i32;
    w.perm = t.perm;
    w.topic_sys_flag = t.topic_sys_flag;
    w.order = t.order;
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_auto_creation() {
        assert!(validate_topic_name("Topic_A-1%x|y").is_ok());
        assert!(validate_topic_name("a/b").is_err());
        assert!(validate_topic_name("").is_err());
        assert!(validate_topic_name(&"x".repeat(128)).is_err());
        let dir = tempfile::tempdir().unwrap();
        let meta = Arc::new(MetaStore::open(dir.path()).unwrap());
        let tm = TopicManager::load(meta.clone(), "C", "b", true, 8).unwrap();
        let (t, created) = tm.get_or_create_for_send("New", TBW102, 4, 0).unwrap();
        assert!(created);
        let t = t.unwrap();
        assert_eq!((t.read_queue_nums, t.write_queue_nums, t.perm), (4, 4, 6));
        assert!(tm.wrapper().topic_config_table.contains_key("New"));
        drop(tm);
        let tm = TopicManager::load(meta, "C", "b", false, 8).unwrap();
        assert!(tm.get("New").is_some());
        assert!(tm.delete("New").unwrap());
        assert!(tm.get("New").is_none());
    }
}
