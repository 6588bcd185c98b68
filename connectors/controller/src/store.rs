//! Durable Raft state in RocksDB under `controllerStorePath`: the log (column family `log`,
//! key = index big-endian), the vote, the committed and purged log ids and the last snapshot
//! (`meta`). Every write that Raft relies on (vote, appended entries, truncation) is a
//! synchronous (fsync'ed WAL) write before openraft is told it is done.
//!
//! Why RocksDB and not files: the broker already links it, a `WriteBatch` makes "append these
//! entries" and "truncate from here" atomic, and range deletes make purging cheap; a hand-written
//! log file would need its own torn-write recovery.
//!
//! The state machine itself lives in memory ([`StateMachineStore`]); on start it is the last
//! snapshot, and openraft re-applies the committed entries after it.

// openraft's storage traits return its `StorageError` (224 bytes); the helpers here return the
// same so that `?` carries it unchanged. Storage errors are rare and end the Raft node anyway.
#![allow(clippy::result_large_err)]

use std::fmt::Debug;
use std::io::Cursor;
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::{Arc, RwLock};

use openraft::storage::{LogFlushed, LogState, RaftLogStorage, RaftStateMachine, Snapshot};
use openraft::{
    Entry, EntryPayload, LogId, OptionalSend, RaftLogReader, RaftSnapshotBuilder, SnapshotMeta, StorageError,
    StorageIOError, StoredMembership, Vote,
};
use rocksdb::{ColumnFamilyDescriptor, Direction, IteratorMode, Options, WriteBatch, WriteOptions, DB};
use serde::{Deserialize, Serialize};

use crate::state::{Applied, ControllerState};
use crate::TypeConfig;

type SErr = StorageError<u64>;

const CF_LOG: &str = "log";
const CF_META: &str = "meta";
const KEY_VOTE: &[u8] = b"vote";
const KEY_COMMITTED: &[u8] = b"committed";
const KEY_PURGED: &[u8] = b"purged";
const KEY_SNAPSHOT: &[u8] = b"snapshot";

/// Opens (or creates) the controller's database.
pub fn open(path: &Path) -> Result<Arc<DB>, rocksdb::Error> {
    let mut opts = Options::default();
    opts.create_if_missing(true);
    opts.create_missing_column_families(true);
    let cfs = [CF_LOG, CF_META].map(|n| ColumnFamilyDescriptor::new(n, Options::default()));
    Ok(Arc::new(DB::open_cf_descriptors(&opts, path, cfs)?))
}

fn synced() -> WriteOptions {
    let mut w = WriteOptions::default();
    w.set_sync(true);
    w
}

fn cf<'a>(db: &'a DB, name: &str) -> Result<&'a rocksdb::ColumnFamily, SErr> {
    db.cf_handle(name).ok_or_else(|| {
        StorageIOError::read(&std::io::Error::other(format!("column family {name} missing"))).into()
    })
}

fn read_json<T: for<'de> Deserialize<'de>>(db: &DB, key: &[u8]) -> Result<Option<T>, SErr> {
    let raw = db
        .get_cf(cf(db, CF_META)?, key)
        .map_err(|e| StorageIOError::read(&e))?;
    raw.map(|b| serde_json::from_slice(&b).map_err(|e| StorageIOError::read(&e).into()))
        .transpose()
}

fn write_json<T: Serialize>(db: &DB, key: &[u8], value: &T) -> Result<(), SErr> {
    let bytes = serde_json::to_vec(value).map_err(|e| StorageIOError::write(&e))?;
    db.put_cf_opt(cf(db, CF_META)?, key, bytes, &synced())
        .map_err(|e| StorageIOError::write(&e).into())
}

/// The Raft log and vote.
#[derive(Clone)]
pub struct LogStore {
    db: Arc<DB>,
}

impl LogStore {
    pub fn new(db: Arc<DB>) -> Self {
        LogStore { db }
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>, SErr> {
        let start = match range.start_bound() {
            Bound::Included(s) => *s,
            Bound::Excluded(s) => s.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let log = cf(&self.db, CF_LOG)?;
        let mut out = Vec::new();
        let from = start.to_be_bytes();
        for item in self
            .db
            .iterator_cf(log, IteratorMode::From(&from, Direction::Forward))
        {
            let (k, v) = item.map_err(|e| StorageIOError::read_logs(&e))?;
            let index = u64::from_be_bytes(
                k.as_ref()
                    .try_into()
                    .map_err(|_| StorageIOError::read_logs(&std::io::Error::other("bad log key")))?,
            );
            if !range.contains(&index) {
                break;
            }
            out.push(serde_json::from_slice(&v).map_err(|e| StorageIOError::read_logs(&e))?);
        }
        Ok(out)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, SErr> {
        let last_purged: Option<LogId<u64>> = read_json(&self.db, KEY_PURGED)?;
        let log = cf(&self.db, CF_LOG)?;
        let last = match self.db.iterator_cf(log, IteratorMode::End).next() {
            Some(item) => {
                let (_, v) = item.map_err(|e| StorageIOError::read_logs(&e))?;
                let e: Entry<TypeConfig> =
                    serde_json::from_slice(&v).map_err(|e| StorageIOError::read_logs(&e))?;
                Some(e.log_id)
            }
            None => None,
        };
        Ok(LogState {
            last_purged_log_id: last_purged,
            last_log_id: last.or(last_purged),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<u64>) -> Result<(), SErr> {
        write_json(&self.db, KEY_VOTE, vote)
            .map_err(|_| StorageIOError::write_vote(&std::io::Error::other("vote write failed")).into())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<u64>>, SErr> {
        read_json(&self.db, KEY_VOTE)
    }

    async fn save_committed(&mut self, committed: Option<LogId<u64>>) -> Result<(), SErr> {
        write_json(&self.db, KEY_COMMITTED, &committed)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<u64>>, SErr> {
        Ok(read_json::<Option<LogId<u64>>>(&self.db, KEY_COMMITTED)?.flatten())
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> Result<(), SErr>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let log = cf(&self.db, CF_LOG)?;
        let mut batch = WriteBatch::default();
        for e in entries {
            let v = serde_json::to_vec(&e).map_err(|err| StorageIOError::write_logs(&err))?;
            batch.put_cf(log, e.log_id.index.to_be_bytes(), v);
        }
        let result = self.db.write_opt(batch, &synced());
        let io = result
            .as_ref()
            .map(|_| ())
            .map_err(|e| std::io::Error::other(e.to_string()));
        callback.log_io_completed(io);
        result.map_err(|e| StorageIOError::write_logs(&e).into())
    }

    async fn truncate(&mut self, log_id: LogId<u64>) -> Result<(), SErr> {
        let log = cf(&self.db, CF_LOG)?;
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(log, log_id.index.to_be_bytes(), u64::MAX.to_be_bytes());
        batch.delete_cf(log, u64::MAX.to_be_bytes());
        self.db
            .write_opt(batch, &synced())
            .map_err(|e| StorageIOError::write_logs(&e).into())
    }

    async fn purge(&mut self, log_id: LogId<u64>) -> Result<(), SErr> {
        write_json(&self.db, KEY_PURGED, &log_id)?;
        let log = cf(&self.db, CF_LOG)?;
        self.db
            .delete_range_cf(log, 0u64.to_be_bytes(), (log_id.index + 1).to_be_bytes())
            .map_err(|e| StorageIOError::write_logs(&e).into())
    }
}

/// The applied state and what openraft needs to know about it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StateMachineData {
    pub last_applied: Option<LogId<u64>>,
    pub last_membership: StoredMembership<u64, openraft::BasicNode>,
    pub state: ControllerState,
}

/// A snapshot as stored: its meta and the serialized [`StateMachineData`].
#[derive(Serialize, Deserialize)]
struct StoredSnapshot {
    meta: SnapshotMeta<u64, openraft::BasicNode>,
    data: Vec<u8>,
}

/// The state machine: in memory, readable by the request handlers through [`Self::shared`].
#[derive(Clone)]
pub struct StateMachineStore {
    db: Arc<DB>,
    sm: Arc<RwLock<StateMachineData>>,
}

impl StateMachineStore {
    /// The state machine as of the last stored snapshot.
    pub fn new(db: Arc<DB>) -> Result<Self, SErr> {
        let mut data = StateMachineData::default();
        if let Some(snap) = read_json::<StoredSnapshot>(&db, KEY_SNAPSHOT)? {
            data = serde_json::from_slice(&snap.data).map_err(|e| StorageIOError::read_snapshot(None, &e))?;
        }
        Ok(StateMachineStore {
            db,
            sm: Arc::new(RwLock::new(data)),
        })
    }

    /// The live state, for reads.
    pub fn shared(&self) -> Arc<RwLock<StateMachineData>> {
        self.sm.clone()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, StateMachineData> {
        self.sm.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, StateMachineData> {
        self.sm.write().unwrap_or_else(|p| p.into_inner())
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachineStore {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, SErr> {
        let (data, last_applied, membership) = {
            let sm = self.read();
            let data = serde_json::to_vec(&*sm).map_err(|e| StorageIOError::write_snapshot(None, &e))?;
            (data, sm.last_applied, sm.last_membership.clone())
        };
        let snapshot_id = match last_applied {
            Some(l) => format!("{}-{}-{}", l.leader_id.term, l.leader_id.node_id, l.index),
            None => "empty".to_owned(),
        };
        let meta = SnapshotMeta {
            last_log_id: last_applied,
            last_membership: membership,
            snapshot_id,
        };
        write_json(
            &self.db,
            KEY_SNAPSHOT,
            &StoredSnapshot {
                meta: meta.clone(),
                data: data.clone(),
            },
        )?;
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachineStore {
    type SnapshotBuilder = Self;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<u64>>, StoredMembership<u64, openraft::BasicNode>), SErr> {
        let sm = self.read();
        Ok((sm.last_applied, sm.last_membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Applied>, SErr>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut sm = self.write();
        let mut out = Vec::new();
        for e in entries {
            sm.last_applied = Some(e.log_id);
            match e.payload {
                EntryPayload::Blank => out.push(Ok(Default::default())),
                EntryPayload::Normal(cmd) => {
                    let result = sm.state.apply(&cmd);
                    match &result {
                        Ok(g) => {
                            tracing::info!(log = e.log_id.index, ?cmd, master = ?g.master, master_epoch = g.master_epoch, sync_state_set = ?g.sync_state_set, "controller: applied")
                        }
                        Err(r) => {
                            tracing::info!(log = e.log_id.index, ?cmd, code = r.code, remark = %r.remark, "controller: refused")
                        }
                    }
                    out.push(result);
                }
                EntryPayload::Membership(m) => {
                    sm.last_membership = StoredMembership::new(Some(e.log_id), m);
                    out.push(Ok(Default::default()));
                }
            }
        }
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, SErr> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<u64, openraft::BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), SErr> {
        let bytes = snapshot.into_inner();
        let data: StateMachineData = serde_json::from_slice(&bytes)
            .map_err(|e| StorageIOError::read_snapshot(Some(meta.signature()), &e))?;
        write_json(
            &self.db,
            KEY_SNAPSHOT,
            &StoredSnapshot {
                meta: meta.clone(),
                data: bytes,
            },
        )?;
        *self.write() = data;
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, SErr> {
        Ok(
            read_json::<StoredSnapshot>(&self.db, KEY_SNAPSHOT)?.map(|s| Snapshot {
                meta: s.meta,
                snapshot: Box::new(Cursor::new(s.data)),
            }),
        )
    }
}
