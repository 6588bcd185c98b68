//! Metadata in RocksDB, one column family per kind: consumer offsets, transaction op-state,
//! delay/timer progress, topic configs, subscription-group configs, store checkpoints and the
//! archive manifest.
//!
//! Writes go through RocksDB's write-ahead log without `fsync` per write: they survive a killed
//! process (the WAL is in the page cache) and are not on the append path — callers on async
//! runtimes use a blocking pool. Values are big-endian integers or JSON documents whose field
//! names are RocketMQ's (`topics.json` / `subscriptionGroup.json` shapes).

use std::path::Path;

use rocksdb::{ColumnFamilyDescriptor, Direction, IteratorMode, Options, WriteBatch, DB};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::error::StoreError;

pub const CF_CONSUMER_OFFSETS: &str = "consumer_offsets";
pub const CF_TRANSACTION_STATE: &str = "transaction_state";
pub const CF_SCHEDULE_PROGRESS: &str = "schedule_progress";
pub const CF_TOPIC_CONFIG: &str = "topic_config";
pub const CF_SUBSCRIPTION_GROUP: &str = "subscription_group";
pub const CF_CHECKPOINT: &str = "checkpoint";
pub const CF_TIMERS: &str = "timers";
pub const CF_ARCHIVE_MANIFEST: &str = "archive_manifest";

const ALL_CFS: [&str; 8] = [
    CF_CONSUMER_OFFSETS,
    CF_TRANSACTION_STATE,
    CF_SCHEDULE_PROGRESS,
    CF_TOPIC_CONFIG,
    CF_SUBSCRIPTION_GROUP,
    CF_CHECKPOINT,
    CF_TIMERS,
    CF_ARCHIVE_MANIFEST,
];

/// A pending timer: a record in the timer topic and when it is due. Keys sort by due time, so
/// the due ones are a prefix of the column family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimerEntry {
    pub due_ms: u64,
    pub phys_offset: u64,
    pub size: u32,
}

impl TimerEntry {
    fn key(&self) -> [u8; 16] {
        let mut k = [0u8; 16];
        k[..8].copy_from_slice(&self.due_ms.to_be_bytes());
        k[8..].copy_from_slice(&self.phys_offset.to_be_bytes());
        k
    }

    fn from_kv(k: &[u8], v: &[u8]) -> Result<TimerEntry, StoreError> {
        let bad = || StoreError::MetaValue {
            key: "timer".into(),
            reason: format!("key of {} bytes, value of {}", k.len(), v.len()),
        };
        let due: [u8; 8] = k.get(..8).and_then(|b| b.try_into().ok()).ok_or_else(bad)?;
        let phys: [u8; 8] = k.get(8..16).and_then(|b| b.try_into().ok()).ok_or_else(bad)?;
        let size: [u8; 4] = v.try_into().map_err(|_| bad())?;
        Ok(TimerEntry {
            due_ms: u64::from_be_bytes(due),
            phys_offset: u64::from_be_bytes(phys),
            size: u32::from_be_bytes(size),
        })
    }
}

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

/// Where the store's files were known to be consistent, for recovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Checkpoint {
    /// CommitLog bytes below this offset were `fdatasync`ed.
    pub commitlog_flushed_offset: u64,
    /// Store time of the last record below `commitlog_flushed_offset` (RocketMQ's physicMsgTimestamp).
    pub physic_msg_timestamp: i64,
    /// Records below this offset are in ConsumeQueues that were synced.
    pub consume_queue_offset: u64,
    /// Records below this offset are in IndexFiles that were flushed.
    pub index_offset: u64,
    /// Store time of the last record dispatched (RocketMQ's logicsMsgTimestamp).
    pub logics_msg_timestamp: i64,
}

/// One archived CommitLog segment: where its Parquet file is and what it holds. Keyed by the
/// segment's start offset, so entries come out in log order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ArchiveEntry {
    /// Global offset of the segment's first byte (its file name).
    pub segment_start: u64,
    /// Global offset one past the segment's last byte.
    pub segment_end: u64,
    /// The Parquet file.
    pub file: String,
    pub rows: u64,
    /// Size of the Parquet file.
    pub bytes: u64,
    /// Smallest and largest STORETIMESTAMP among the rows (0 when there are none).
    pub min_store_timestamp: i64,
    pub max_store_timestamp: i64,
}

/// The RocksDB metadata store.
pub struct MetaStore {
    db: DB,
}

impl std::fmt::Debug for MetaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetaStore")
            .field("path", &self.db.path())
            .finish()
    }
}

fn offset_key(group: &str, topic: &str, queue_id: u32) -> Vec<u8> {
    let mut k = Vec::with_capacity(group.len() + topic.len() + 6);
    k.extend_from_slice(group.as_bytes());
    k.push(0);
    k.extend_from_slice(topic.as_bytes());
    k.push(0);
    k.extend_from_slice(&queue_id.to_be_bytes());
    k
}

fn u64_value(key: &str, v: &[u8]) -> Result<u64, StoreError> {
    let a: [u8; 8] = v.try_into().map_err(|_| StoreError::MetaValue {
        key: key.to_owned(),
        reason: format!("expected 8 bytes, found {}", v.len()),
    })?;
    Ok(u64::from_be_bytes(a))
}

impl MetaStore {
    /// Opens (creating) the database at `path` with every column family.
    pub fn open(path: &Path) -> Result<MetaStore, StoreError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_max_background_jobs(2);
        opts.set_keep_log_file_num(4);
        let cfs = ALL_CFS
            .iter()
            .map(|name| ColumnFamilyDescriptor::new(*name, Options::default()));
        let db = DB::open_cf_descriptors(&opts, path, cfs)?;
        Ok(MetaStore { db })
    }

    fn cf(&self, name: &str) -> Result<&rocksdb::ColumnFamily, StoreError> {
        self.db
            .cf_handle(name)
            .ok_or_else(|| StoreError::Layout(format!("column family {name} is missing")))
    }

    fn put_json<T: Serialize>(&self, cf: &str, key: &str, v: &T) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(v).map_err(|e| StoreError::MetaValue {
            key: key.to_owned(),
            reason: e.to_string(),
        })?;
        self.db.put_cf(self.cf(cf)?, key.as_bytes(), bytes)?;
        Ok(())
    }

    fn get_json<T: DeserializeOwned>(&self, cf: &str, key: &str) -> Result<Option<T>, StoreError> {
        match self.db.get_cf(self.cf(cf)?, key.as_bytes())? {
            None => Ok(None),
            Some(v) => serde_json::from_slice(&v)
                .map(Some)
                .map_err(|e| StoreError::MetaValue {
                    key: key.to_owned(),
                    reason: e.to_string(),
                }),
        }
    }

    fn all_json<T: DeserializeOwned>(&self, cf: &str) -> Result<Vec<T>, StoreError> {
        let mut out = Vec::new();
        for item in self.db.iterator_cf(self.cf(cf)?, IteratorMode::Start) {
            let (k, v) = item?;
            out.push(serde_json::from_slice(&v).map_err(|e| StoreError::MetaValue {
                key: String::from_utf8_lossy(&k).into_owned(),
                reason: e.to_string(),
            })?);
        }
        Ok(out)
    }

    // ---- consumer offsets -------------------------------------------------------------------

    /// Commits `offset` (the next offset to consume) for (group, topic, queue).
    pub fn put_consumer_offset(
        &self,
        group: &str,
        topic: &str,
        queue_id: u32,
        offset: u64,
    ) -> Result<(), StoreError> {
        self.db.put_cf(
            self.cf(CF_CONSUMER_OFFSETS)?,
            offset_key(group, topic, queue_id),
            offset.to_be_bytes(),
        )?;
        Ok(())
    }

    /// The committed offset of (group, topic, queue), if any.
    pub fn consumer_offset(
        &self,
        group: &str,
        topic: &str,
        queue_id: u32,
    ) -> Result<Option<u64>, StoreError> {
        self.db
            .get_cf(self.cf(CF_CONSUMER_OFFSETS)?, offset_key(group, topic, queue_id))?
            .map(|v| u64_value("consumer offset", &v))
            .transpose()
    }

    /// Every committed offset of `group`: (topic, queue id, offset).
    pub fn consumer_offsets_of_group(&self, group: &str) -> Result<Vec<(String, u32, u64)>, StoreError> {
        let mut prefix = group.as_bytes().to_vec();
        prefix.push(0);
        let mut out = Vec::new();
        let iter = self.db.iterator_cf(
            self.cf(CF_CONSUMER_OFFSETS)?,
            IteratorMode::From(&prefix, Direction::Forward),
        );
        for item in iter {
            let (k, v) = item?;
            let Some(rest) = k.strip_prefix(prefix.as_slice()) else {
                break;
            };
            if rest.len() < 5 || rest[rest.len() - 5] != 0 {
                continue;
            }
            let topic = String::from_utf8_lossy(&rest[..rest.len() - 5]).into_owned();
            let mut q = [0u8; 4];
            q.copy_from_slice(&rest[rest.len() - 4..]);
            out.push((topic, u32::from_be_bytes(q), u64_value("consumer offset", &v)?));
        }
        Ok(out)
    }

    /// Forgets every offset of `group` (optionally only for `topic`).
    pub fn delete_consumer_offsets(&self, group: &str, topic: Option<&str>) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        let cf = self.cf(CF_CONSUMER_OFFSETS)?;
        for (t, q, _) in self.consumer_offsets_of_group(group)? {
            if topic.is_none_or(|x| x == t) {
                batch.delete_cf(cf, offset_key(group, &t, q));
            }
        }
        self.db.write(batch)?;
        Ok(())
    }

    // ---- topic and subscription-group configs ------------------------------------------------

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
        self.db.delete_cf(self.cf(CF_TOPIC_CONFIG)?, topic.as_bytes())?;
        Ok(())
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
        self.db
            .delete_cf(self.cf(CF_SUBSCRIPTION_GROUP)?, group.as_bytes())?;
        Ok(())
    }

    // ---- transaction op-state and schedule progress ------------------------------------------

    /// Records the op-state of the half message at half-queue offset `half_offset`.
    pub fn put_transaction_state(&self, half_offset: u64, state: &[u8]) -> Result<(), StoreError> {
        self.db
            .put_cf(self.cf(CF_TRANSACTION_STATE)?, half_offset.to_be_bytes(), state)?;
        Ok(())
    }

    pub fn transaction_state(&self, half_offset: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .db
            .get_cf(self.cf(CF_TRANSACTION_STATE)?, half_offset.to_be_bytes())?)
    }

    pub fn delete_transaction_state(&self, half_offset: u64) -> Result<(), StoreError> {
        self.db
            .delete_cf(self.cf(CF_TRANSACTION_STATE)?, half_offset.to_be_bytes())?;
        Ok(())
    }

    /// Forgets the op-state of every half message below `half_offset` (the checker moved past).
    pub fn delete_transaction_states_below(&self, half_offset: u64) -> Result<(), StoreError> {
        self.db.delete_range_cf(
            self.cf(CF_TRANSACTION_STATE)?,
            0u64.to_be_bytes(),
            half_offset.to_be_bytes(),
        )?;
        Ok(())
    }

    /// Every recorded transaction op-state, in half-message offset order.
    pub fn transaction_states(&self) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let mut out = Vec::new();
        for item in self
            .db
            .iterator_cf(self.cf(CF_TRANSACTION_STATE)?, IteratorMode::Start)
        {
            let (k, v) = item?;
            out.push((u64_value("transaction state key", &k)?, v.into_vec()));
        }
        Ok(out)
    }

    /// Records progress of a schedule stream (a delay level, the timer wheel…).
    pub fn put_schedule_progress(&self, name: &str, offset: u64) -> Result<(), StoreError> {
        self.db.put_cf(
            self.cf(CF_SCHEDULE_PROGRESS)?,
            name.as_bytes(),
            offset.to_be_bytes(),
        )?;
        Ok(())
    }

    pub fn schedule_progress(&self, name: &str) -> Result<Option<u64>, StoreError> {
        self.db
            .get_cf(self.cf(CF_SCHEDULE_PROGRESS)?, name.as_bytes())?
            .map(|v| u64_value(name, &v))
            .transpose()
    }

    // ---- timers --------------------------------------------------------------------------------

    /// Adds timers and moves the progress named `progress` to `next` in one atomic write, so a
    /// crash leaves either both or neither.
    pub fn add_timers(&self, timers: &[TimerEntry], progress: &str, next: u64) -> Result<(), StoreError> {
        let cf = self.cf(CF_TIMERS)?;
        let mut batch = WriteBatch::default();
        for t in timers {
            batch.put_cf(cf, t.key(), t.size.to_be_bytes());
        }
        batch.put_cf(
            self.cf(CF_SCHEDULE_PROGRESS)?,
            progress.as_bytes(),
            next.to_be_bytes(),
        );
        self.db.write(batch)?;
        Ok(())
    }

    /// Up to `limit` timers due at or before `now_ms`, earliest first, starting the search at
    /// `from_ms` (every timer before it is known to be gone), and the first timer not yet due.
    pub fn due_timers(
        &self,
        from_ms: u64,
        now_ms: u64,
        limit: usize,
    ) -> Result<(Vec<TimerEntry>, Option<TimerEntry>), StoreError> {
        let mut due = Vec::new();
        let start = from_ms.to_be_bytes();
        let iter = self.db.iterator_cf(
            self.cf(CF_TIMERS)?,
            IteratorMode::From(&start, Direction::Forward),
        );
        for item in iter {
            let (k, v) = item?;
            let t = TimerEntry::from_kv(&k, &v)?;
            if t.due_ms > now_ms {
                return Ok((due, Some(t)));
            }
            due.push(t);
            if due.len() >= limit {
                break;
            }
        }
        Ok((due, None))
    }

    /// Removes delivered timers.
    pub fn remove_timers(&self, timers: &[TimerEntry]) -> Result<(), StoreError> {
        let cf = self.cf(CF_TIMERS)?;
        let mut batch = WriteBatch::default();
        for t in timers {
            batch.delete_cf(cf, t.key());
        }
        self.db.write(batch)?;
        Ok(())
    }

    /// RocksDB's estimate of the pending timers.
    pub fn timers_estimate(&self) -> u64 {
        self.cf(CF_TIMERS)
            .ok()
            .and_then(|cf| {
                self.db
                    .property_int_value_cf(cf, "rocksdb.estimate-num-keys")
                    .ok()
                    .flatten()
            })
            .unwrap_or(0)
    }

    // ---- archive manifest ----------------------------------------------------------------------

    /// Records an archived segment with a synced write: once this returns, the entry survives a
    /// power loss, and retention may delete the segment.
    pub fn put_archive_entry(&self, entry: &ArchiveEntry) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(entry).map_err(|e| StoreError::MetaValue {
            key: format!("archive {}", entry.segment_start),
            reason: e.to_string(),
        })?;
        let mut opts = rocksdb::WriteOptions::default();
        opts.set_sync(true);
        self.db.put_cf_opt(
            self.cf(CF_ARCHIVE_MANIFEST)?,
            entry.segment_start.to_be_bytes(),
            bytes,
            &opts,
        )?;
        Ok(())
    }

    /// The manifest entry of the segment starting at `segment_start`.
    pub fn archive_entry(&self, segment_start: u64) -> Result<Option<ArchiveEntry>, StoreError> {
        match self
            .db
            .get_cf(self.cf(CF_ARCHIVE_MANIFEST)?, segment_start.to_be_bytes())?
        {
            None => Ok(None),
            Some(v) => serde_json::from_slice(&v)
                .map(Some)
                .map_err(|e| StoreError::MetaValue {
                    key: format!("archive {segment_start}"),
                    reason: e.to_string(),
                }),
        }
    }

    /// Every archived segment, oldest first.
    pub fn archive_entries(&self) -> Result<Vec<ArchiveEntry>, StoreError> {
        self.all_json(CF_ARCHIVE_MANIFEST)
    }

    // ---- checkpoint --------------------------------------------------------------------------

    pub fn put_checkpoint(&self, cp: &Checkpoint) -> Result<(), StoreError> {
        self.put_json(CF_CHECKPOINT, "store", cp)
    }

    pub fn checkpoint(&self) -> Result<Option<Checkpoint>, StoreError> {
        self.get_json(CF_CHECKPOINT, "store")
    }

    /// Flushes RocksDB's memtables and WAL (clean shutdown).
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush_wal(true)?;
        for name in ALL_CFS {
            self.db.flush_cf(self.cf(name)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_come_out_in_due_order_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let t = |due, phys| TimerEntry {
            due_ms: due,
            phys_offset: phys,
            size: 100,
        };
        {
            let m = MetaStore::open(dir.path()).unwrap();
            m.add_timers(&[t(300, 1), t(100, 2), t(200, 3), t(100, 0)], "timer", 4)
                .unwrap();
        }
        let m = MetaStore::open(dir.path()).unwrap();
        assert_eq!(m.schedule_progress("timer").unwrap(), Some(4));
        let (due, next) = m.due_timers(0, 200, 10).unwrap();
        assert_eq!(due, [t(100, 0), t(100, 2), t(200, 3)]);
        assert_eq!(next, Some(t(300, 1)));
        let (due, _) = m.due_timers(0, 200, 2).unwrap();
        assert_eq!(due.len(), 2);
        m.remove_timers(&due).unwrap();
        let (due, next) = m.due_timers(150, 1000, 10).unwrap();
        assert_eq!(due, [t(200, 3), t(300, 1)]);
        assert_eq!(next, None);
        m.put_transaction_state(3, b"a").unwrap();
        m.put_transaction_state(9, b"b").unwrap();
        m.delete_transaction_states_below(5).unwrap();
        assert_eq!(m.transaction_states().unwrap(), [(9, b"b".to_vec())]);
    }

    #[test]
    fn everything_round_trips_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let m = MetaStore::open(dir.path()).unwrap();
            m.put_consumer_offset("g", "T", 0, 5).unwrap();
            m.put_consumer_offset("g", "T", 1, 7).unwrap();
            m.put_consumer_offset("g", "U", 0, 9).unwrap();
            m.put_consumer_offset("g2", "T", 0, 1).unwrap();
            m.put_consumer_offset("g", "T", 0, 6).unwrap();
            m.put_topic_config(&TopicConfig {
                topic_name: "T".into(),
                read_queue_nums: 4,
                write_queue_nums: 4,
                ..Default::default()
            })
            .unwrap();
            m.put_subscription_group(&SubscriptionGroupConfig {
                group_name: "g".into(),
                ..Default::default()
            })
            .unwrap();
            m.put_transaction_state(42, b"commit").unwrap();
            m.put_schedule_progress("delay-level-3", 17).unwrap();
            m.put_checkpoint(&Checkpoint {
                commitlog_flushed_offset: 100,
                ..Default::default()
            })
            .unwrap();
            // No flush: reopen must still see everything (WAL).
        }
        let m = MetaStore::open(dir.path()).unwrap();
        assert_eq!(m.consumer_offset("g", "T", 0).unwrap(), Some(6));
        assert_eq!(m.consumer_offset("g", "T", 2).unwrap(), None);
        assert_eq!(
            m.consumer_offsets_of_group("g").unwrap(),
            [
                ("T".to_string(), 0, 6),
                ("T".to_string(), 1, 7),
                ("U".to_string(), 0, 9)
            ]
        );
        m.delete_consumer_offsets("g", Some("T")).unwrap();
        assert_eq!(m.consumer_offsets_of_group("g").unwrap().len(), 1);
        assert_eq!(m.consumer_offsets_of_group("g2").unwrap().len(), 1);
        assert_eq!(m.topic_config("T").unwrap().unwrap().read_queue_nums, 4);
        assert_eq!(m.topic_configs().unwrap().len(), 1);
        assert!(m.subscription_group("g").unwrap().unwrap().consume_enable);
        assert_eq!(m.transaction_states().unwrap(), [(42, b"commit".to_vec())]);
        assert_eq!(m.schedule_progress("delay-level-3").unwrap(), Some(17));
        assert_eq!(m.checkpoint().unwrap().unwrap().commitlog_flushed_offset, 100);
        let json = serde_json::to_string(&m.topic_config("T").unwrap().unwrap()).unwrap();
        assert_eq!(
            json,
            r#"{"topicName":"T","readQueueNums":4,"writeQueueNums":4,"perm":6,"topicFilterType":"SINGLE_TAG","topicSysFlag":0,"order":false}"#
        );
        m.flush().unwrap();
    }

    #[test]
    fn archive_manifest_in_segment_order() {
        let dir = tempfile::tempdir().unwrap();
        let e = |start: u64| ArchiveEntry {
            segment_start: start,
            segment_end: start + 4096,
            file: format!("{start:020}.parquet"),
            rows: 3,
            bytes: 100,
            min_store_timestamp: 1,
            max_store_timestamp: 2,
        };
        {
            let m = MetaStore::open(dir.path()).unwrap();
            m.put_archive_entry(&e(8192)).unwrap();
            m.put_archive_entry(&e(4096)).unwrap();
        }
        let m = MetaStore::open(dir.path()).unwrap();
        assert_eq!(m.archive_entries().unwrap(), [e(4096), e(8192)]);
        assert_eq!(m.archive_entry(8192).unwrap(), Some(e(8192)));
        assert_eq!(m.archive_entry(0).unwrap(), None);
    }
}
