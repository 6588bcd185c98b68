//! [`MessageStore`]: the CommitLog with its ConsumeQueues, IndexFiles, flusher, checkpoints and
//! RocksDB metadata, opened with recovery and closed cleanly. This file holds the facade — the
//! struct, its accessors and the one-call write path [`MessageStore::put`]; each step lives in
//! its own module:
//!
//! * `append` — [`MessageStore::append`], queue offsets and record encoding.
//! * `dispatch` — [`MessageStore::dispatch_to`], ConsumeQueue units and index entries.
//! * `queues` — the (topic, queue id) map of ConsumeQueues.
//! * `query` — lookups by key through the IndexFiles.
//! * `recovery` — open with recovery, checkpoints, clean close.
//! * `background` — the checkpoint, prefault and retention threads.
//! * `live` — the settings that change while the store runs ([`MessageStore::retune`]).
//! * `truncate` — cutting a closed store's CommitLog back (controller mode).
//!
//! The write path has two steps the broker pipeline runs as separate stages:
//! 1. [`MessageStore::append`] writes a whole group (one epoch) and returns each message's
//!    offsets; under SYNC_FLUSH the caller hands the group's end to [`MessageStore::flusher`] and
//!    acks its producers when the durable offset passes it.
//! 2. [`MessageStore::dispatch_to`] reads the new records back from the CommitLog and writes
//!    ConsumeQueue units and index entries; recovery replays the same code over the log's tail.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use crate::commitlog::{CommitLog, Recovered};
use crate::config::StoreConfig;
use crate::error::StoreError;
use crate::flush::{FlushDiskType, Flusher};
use crate::index::IndexService;
use crate::meta::{Checkpoint, MetaStore};
use crate::retention::SegmentHold;

mod append;
mod background;
mod dispatch;
pub(crate) mod live;
mod query;
mod queues;
mod recovery;
mod truncate;

pub use append::{AppendOutcome, Appended, MessageToStore};
pub use dispatch::QueueAdvance;
pub use live::{LiveSettings, LIVE_KEYS};

/// What opening the store found.
#[derive(Debug, Clone)]
pub struct OpenReport {
    /// The previous run did not shut down cleanly (the `abort` file was there).
    pub unclean: bool,
    pub commitlog: Recovered,
    pub checkpoint: Checkpoint,
}

/// The message store.
pub struct MessageStore {
    config: StoreConfig,
    root: PathBuf,
    commitlog: Arc<CommitLog>,
    flusher: Flusher,
    queues: RwLock<queues::QueueMap>,
    index: Mutex<IndexService>,
    meta: Arc<MetaStore>,
    /// Next queue offset per (topic, queue); the append lock.
    queue_offsets: Mutex<append::NextQueueOffsets>,
    dispatch_lock: Mutex<()>,
    dispatched: AtomicU64,
    /// Dispatch never passes this offset (controller mode: a master's confirm offset, so no
    /// reader sees a message a newly elected master might not have). `u64::MAX`: no bound.
    dispatch_bound: AtomicU64,
    /// The highest limit any [`MessageStore::dispatch_to`] asked for: a dispatch held back by
    /// the bound is resumed by the next call, whatever that call's own limit.
    dispatch_wanted: AtomicU64,
    last_dispatched_timestamp: AtomicI64,
    pub(crate) hold: RwLock<Option<Arc<dyn SegmentHold>>>,
    pub(crate) hot_bytes: u64,
    /// Retention policy and background periods in force (see `live`).
    live: RwLock<LiveSettings>,
    sync_flush_timeout: live::AtomicMillis,
    background: Mutex<Vec<JoinHandle<()>>>,
    stop: Arc<background::StopSignal>,
    closed: AtomicBool,
    _lock_file: File,
    report: OpenReport,
}

impl std::fmt::Debug for MessageStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageStore").field("root", &self.root).finish()
    }
}

impl MessageStore {
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn commitlog(&self) -> &Arc<CommitLog> {
        &self.commitlog
    }

    pub fn flusher(&self) -> &Flusher {
        &self.flusher
    }

    pub fn meta(&self) -> &Arc<MetaStore> {
        &self.meta
    }

    /// What [`open`](Self::open) found.
    pub fn open_report(&self) -> &OpenReport {
        &self.report
    }

    /// Messages closer than this to the CommitLog end are "hot" (in memory):
    /// `accessMessageInMemoryMaxRatio` of physical memory.
    pub fn hot_distance(&self) -> u64 {
        self.hot_bytes
    }

    /// Appends, dispatches and (under SYNC_FLUSH) waits for durability: the whole write path in
    /// one call, for tools and tests. The broker runs the steps as pipeline stages instead.
    pub fn put(&self, units: &[Vec<MessageToStore>]) -> Result<AppendOutcome, StoreError> {
        let outcome = self.append(units)?;
        self.dispatch_to(outcome.end_offset)?;
        if self.config.flush_disk_type == FlushDiskType::SyncFlush {
            self.flusher
                .wait_durable(outcome.end_offset, self.sync_flush_timeout())?;
        }
        Ok(outcome)
    }
}
