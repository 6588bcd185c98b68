//! Metadata in RocksDB, one column family per kind, each in its own module with its keys and
//! values: `offsets` (consumer offsets), `configs` (topic and subscription-group configs),
//! `transactions` (transaction op-state), `schedule` (delay/timer progress and pending
//! timers), `checkpoint` (store checkpoints), `archive` (the archive manifest) and `auth`
//! (ACL 2.0 users and ACLs). This file
//! opens the database and holds the plumbing they share.
//!
//! Writes go through RocksDB's write-ahead log without `fsync` per write: they survive a killed
//! process (the WAL is in the page cache) and are not on the append path — callers on async
//! runtimes use a blocking pool. Values are big-endian integers or JSON documents whose field
//! names are RocketMQ's (`topics.json` / `subscriptionGroup.json` shapes).

use std::path::Path;

use rocksdb::{ColumnFamilyDescriptor, IteratorMode, Options, WriteOptions, DB};
use serde::{de::DeserializeOwned, Serialize};

use crate::error::StoreError;

mod archive;
mod auth;
mod checkpoint;
mod configs;
mod offsets;
mod schedule;
mod transactions;

pub use archive::{ArchiveEntry, CF_ARCHIVE_MANIFEST};
pub use auth::{AuthKind, CF_AUTH_ACLS, CF_AUTH_USERS};
pub use checkpoint::{Checkpoint, CF_CHECKPOINT};
pub use configs::{perm, SubscriptionGroupConfig, TopicConfig, CF_SUBSCRIPTION_GROUP, CF_TOPIC_CONFIG};
pub use offsets::CF_CONSUMER_OFFSETS;
pub use schedule::{TimerEntry, CF_SCHEDULE_PROGRESS, CF_TIMERS};
pub use transactions::CF_TRANSACTION_STATE;

const ALL_CFS: [&str; 10] = [
    CF_CONSUMER_OFFSETS,
    CF_TRANSACTION_STATE,
    CF_SCHEDULE_PROGRESS,
    CF_TOPIC_CONFIG,
    CF_SUBSCRIPTION_GROUP,
    CF_CHECKPOINT,
    CF_TIMERS,
    CF_ARCHIVE_MANIFEST,
    CF_AUTH_USERS,
    CF_AUTH_ACLS,
];

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

/// A big-endian u64 value; `key` names it in the error.
fn u64_value(key: &str, v: &[u8]) -> Result<u64, StoreError> {
    let a: [u8; 8] = v.try_into().map_err(|_| StoreError::MetaValue {
        key: key.to_owned(),
        reason: format!("expected 8 bytes, found {}", v.len()),
    })?;
    Ok(u64::from_be_bytes(a))
}

/// A JSON value; `key` names it in the error.
fn from_json<T: DeserializeOwned>(key: &str, v: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(v).map_err(|e| StoreError::MetaValue {
        key: key.to_owned(),
        reason: e.to_string(),
    })
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

    /// Writes `v` as JSON under `key`; `label` names it in errors.
    fn put_json_at<T: Serialize>(
        &self,
        cf: &str,
        key: &[u8],
        label: &str,
        v: &T,
        opts: &WriteOptions,
    ) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(v).map_err(|e| StoreError::MetaValue {
            key: label.to_owned(),
            reason: e.to_string(),
        })?;
        self.db.put_cf_opt(self.cf(cf)?, key, bytes, opts)?;
        Ok(())
    }

    /// The JSON value under `key`; `label` names it in errors.
    fn get_json_at<T: DeserializeOwned>(
        &self,
        cf: &str,
        key: &[u8],
        label: &str,
    ) -> Result<Option<T>, StoreError> {
        self.db
            .get_cf(self.cf(cf)?, key)?
            .map(|v| from_json(label, &v))
            .transpose()
    }

    fn put_json<T: Serialize>(&self, cf: &str, key: &str, v: &T) -> Result<(), StoreError> {
        self.put_json_at(cf, key.as_bytes(), key, v, &WriteOptions::default())
    }

    fn get_json<T: DeserializeOwned>(&self, cf: &str, key: &str) -> Result<Option<T>, StoreError> {
        self.get_json_at(cf, key.as_bytes(), key)
    }

    /// Every JSON value of `cf`, in key order.
    fn all_json<T: DeserializeOwned>(&self, cf: &str) -> Result<Vec<T>, StoreError> {
        let mut out = Vec::new();
        for item in self.db.iterator_cf(self.cf(cf)?, IteratorMode::Start) {
            let (k, v) = item?;
            out.push(from_json(&String::from_utf8_lossy(&k), &v)?);
        }
        Ok(out)
    }

    fn put_u64(&self, cf: &str, key: &[u8], v: u64) -> Result<(), StoreError> {
        self.db.put_cf(self.cf(cf)?, key, v.to_be_bytes())?;
        Ok(())
    }

    /// The big-endian u64 under `key`; `label` names it in errors.
    fn get_u64(&self, cf: &str, key: &[u8], label: &str) -> Result<Option<u64>, StoreError> {
        self.db
            .get_cf(self.cf(cf)?, key)?
            .map(|v| u64_value(label, &v))
            .transpose()
    }

    fn delete(&self, cf: &str, key: &[u8]) -> Result<(), StoreError> {
        self.db.delete_cf(self.cf(cf)?, key)?;
        Ok(())
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
}
