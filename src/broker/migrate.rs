//! Taking over a store directory Apache RocketMQ 4.9 wrote (issue #12 item 5). The CommitLog
//! is the same format byte for byte, so recovery reads it in place and rebuilds ConsumeQueues
//! and IndexFiles from it. What RocketMQ keeps in `<storePathRootDir>/config/*.json` sluice
//! keeps in RocksDB: on the first start over such a directory the files are imported once —
//! topics, subscription groups, committed consumer offsets and delay-level progress (so
//! pending delayed messages are delivered from where RocketMQ stood). Imported once: a later
//! start keeps sluice's own state; the files are left as they were.

use std::path::Path;

use anyhow::{Context, Result};
use sluice_remoting::body::admin::SubscriptionGroupWrapper;
use sluice_remoting::body::offsets::{ConsumerOffsetTable, DelayOffsetTable};
use sluice_remoting::body::register::TopicConfigSerializeWrapper;
use sluice_remoting::body::JsonBody;
use sluice_storage::MessageStore;

use super::processor::consumer_admin;
use super::{schedule, topics};

/// The RocksDB progress name that says the import happened.
const MARKER: &str = "migrated:rocketmq-config";

/// What one import took over.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Imported {
    pub topics: usize,
    pub groups: usize,
    pub offsets: usize,
    pub delay_levels: usize,
}

fn read(dir: &Path, name: &str) -> Result<Option<Vec<u8>>> {
    let path = dir.join(name);
    match std::fs::read(&path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Imports `config/*.json` of a RocketMQ store at `store`'s root, once. `None` when there is
/// nothing to import (no RocketMQ files, or imported before).
pub fn import_rocketmq_config(store: &MessageStore) -> Result<Option<Imported>> {
    let dir = store.root().join("config");
    let meta = store.meta();
    if meta.schedule_progress(MARKER)?.is_some() {
        return Ok(None);
    }
    let Some(topics_json) = read(&dir, "topics.json")? else {
        return Ok(None);
    };
    let mut done = Imported::default();
    let wrapper = TopicConfigSerializeWrapper::from_json(&topics_json).context("config/topics.json")?;
    for t in wrapper.topic_config_table.values() {
        meta.put_topic_config(&topics::from_wire(t))?;
        done.topics += 1;
    }
    if let Some(b) = read(&dir, "subscriptionGroup.json")? {
        let groups = SubscriptionGroupWrapper::from_json(&b).context("config/subscriptionGroup.json")?;
        for g in groups.subscription_group_table.into_values() {
            meta.put_subscription_group(&consumer_admin::from_wire(g))?;
            done.groups += 1;
        }
    }
    if let Some(b) = read(&dir, "consumerOffset.json")? {
        let table = ConsumerOffsetTable::from_json(&b).context("config/consumerOffset.json")?;
        for (key, queues) in &table.offset_table {
            let Some((topic, group)) = ConsumerOffsetTable::split_key(key) else {
                continue;
            };
            for (&q, &offset) in queues {
                if let (Ok(q), Ok(offset)) = (u32::try_from(q), u64::try_from(offset)) {
                    meta.put_consumer_offset(group, topic, q, offset)?;
                    done.offsets += 1;
                }
            }
        }
    }
    if let Some(b) = read(&dir, "delayOffset.json")? {
        let table = DelayOffsetTable::from_json(&b).context("config/delayOffset.json")?;
        let levels: Vec<(i32, u64)> = table
            .offset_table
            .into_iter()
            .filter_map(|(level, next)| u64::try_from(next).ok().map(|n| (level, n)))
            .collect();
        done.delay_levels = levels.len();
        schedule::delay::set_offsets(store, &levels);
    }
    meta.put_schedule_progress(MARKER, 1)?;
    Ok(Some(done))
}
