//! Crash consistency: [`MessageStore::open`] locks the directory, replays the CommitLog's tail
//! past the last [`Checkpoint`] into the ConsumeQueues and index, and makes what survived
//! durable; [`MessageStore::checkpoint_now`] records where the files are consistent;
//! [`MessageStore::close`] is the clean shutdown that removes the `abort` marker.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::Duration;

use super::dispatch::PendingUnits;
use super::live::{AtomicMillis, LiveSettings};
use super::queues::load_queues;
use super::{MessageStore, OpenReport};
use crate::commitlog::{CommitLog, WriteMode};
use crate::config::StoreConfig;
use crate::consume_queue::ConsumeQueue;
use crate::error::{io_err, StoreError};
use crate::flush::{FlushDiskType, Flusher};
use crate::index::IndexService;
use crate::meta::{Checkpoint, MetaStore};
use crate::record::CrcCheck;

pub(super) fn lock_dir(root: &Path) -> Result<File, StoreError> {
    let path = root.join("lock");
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io_err(format!("opening {}", path.display())))?;
    // SAFETY: flock on a descriptor we own; no memory is involved.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        return Err(StoreError::Locked(root.to_path_buf()));
    }
    Ok(file)
}

fn total_memory() -> u64 {
    // SAFETY: sysinfo fills the zeroed struct we pass.
    let mut info: libc::sysinfo = unsafe { std::mem::zeroed() };
    if unsafe { libc::sysinfo(&mut info) } == 0 {
        info.totalram as u64 * u64::from(info.mem_unit.max(1))
    } else {
        8 << 30
    }
}

impl MessageStore {
    /// Opens the store under `config.store_path_root_dir`, recovering after a crash, and starts
    /// its background threads (CommitLog flush, ConsumeQueue/index flush with checkpoints,
    /// retention).
    pub fn open(config: StoreConfig) -> Result<Arc<MessageStore>, StoreError> {
        let root = config.store_path_root_dir.clone();
        std::fs::create_dir_all(&root).map_err(io_err(format!("creating {}", root.display())))?;
        let lock_file = lock_dir(&root)?;
        let abort = root.join("abort");
        let unclean = abort.exists();
        if unclean {
            tracing::warn!(root = %root.display(), "the previous run did not shut down cleanly; recovering");
        }
        File::create(&abort).map_err(io_err(format!("creating {}", abort.display())))?;

        let meta = Arc::new(MetaStore::open(&root.join("rocksdb"))?);
        let checkpoint = meta.checkpoint()?.unwrap_or_default();

        // ConsumeQueues first: recovery re-dispatches into them.
        let units_per_file = config.consume_queue_units_per_file();
        let cq_root = root.join("consumequeue");
        let mut queues = load_queues(&cq_root, units_per_file)?;
        let mut index = IndexService::open(
            &root.join("index"),
            config.max_hash_slot_num,
            config.max_index_num,
        )?;

        let scan_from = checkpoint
            .consume_queue_offset
            .min(checkpoint.index_offset)
            .min(checkpoint.commitlog_flushed_offset);
        let mut replay_err: Option<StoreError> = None;
        let mut pending: PendingUnits = Vec::new();
        let mut last_ts = checkpoint.logics_msg_timestamp;
        let crc = if config.check_crc_on_recover {
            CrcCheck::Verify
        } else {
            CrcCheck::Skip
        };
        let (commitlog, recovered) = CommitLog::open_checked(
            &config.commit_log_dir(),
            config.mapped_file_size_commit_log,
            scan_from,
            checkpoint.commitlog_flushed_offset,
            crc,
            |offset, r| {
                if replay_err.is_some() {
                    return;
                }
                last_ts = r.store_timestamp;
                let mut queue = |t: &str, q: u32| Self::queue_in(&cq_root, units_per_file, &mut queues, t, q);
                let res = Self::dispatch_record(&mut queue, &mut pending, &mut index, &config, offset, r)
                    .and_then(|_| {
                        if pending.iter().map(|p| p.2.len()).sum::<usize>() >= 4096 {
                            Self::write_pending(&mut pending)
                        } else {
                            Ok(())
                        }
                    });
                if let Err(e) = res {
                    replay_err = Some(e);
                }
            },
        )?;
        if let Some(e) = replay_err {
            return Err(e);
        }
        Self::write_pending(&mut pending)?;
        let end = recovered.end;
        let cl_min = commitlog.min_offset();
        for cq in queues.values().flat_map(|m| m.values()) {
            cq.truncate_beyond(end)?;
            cq.correct_min(cl_min)?;
        }
        if recovered.records > 0 || recovered.discarded_tail.is_some() {
            tracing::info!(
                from = recovered.scanned_from,
                end,
                records = recovered.records,
                "CommitLog recovered"
            );
        }
        let mut commitlog = commitlog;
        commitlog.set_write_mode(match config.flush_disk_type {
            FlushDiskType::AsyncFlush => WriteMode::Mapped,
            FlushDiskType::SyncFlush => WriteMode::Pwrite,
        });
        let commitlog = Arc::new(commitlog);
        // What survived the crash in the page cache is made durable before anything is acked.
        for seg in commitlog.segments_in(checkpoint.commitlog_flushed_offset.min(end), end) {
            seg.sync()?;
        }
        let flusher = Flusher::start(
            commitlog.clone(),
            config.flush_disk_type,
            config.flush_interval_commit_log,
            end,
        )?;
        let hot_bytes = total_memory() / 100 * u64::from(config.access_message_in_memory_max_ratio);
        let store = Arc::new(MessageStore {
            root: root.clone(),
            commitlog,
            flusher,
            queues: RwLock::new(queues),
            index: Mutex::new(index),
            meta,
            queue_offsets: Mutex::new(HashMap::new()),
            dispatch_lock: Mutex::new(()),
            dispatched: AtomicU64::new(end),
            dispatch_bound: AtomicU64::new(u64::MAX),
            dispatch_wanted: AtomicU64::new(end),
            last_dispatched_timestamp: AtomicI64::new(last_ts),
            hold: RwLock::new(None),
            hot_bytes,
            live: RwLock::new(LiveSettings::of(&config)),
            sync_flush_timeout: AtomicMillis::new(config.sync_flush_timeout),
            background: Mutex::new(Vec::new()),
            stop: Arc::new((Mutex::new(false), Condvar::new())),
            closed: AtomicBool::new(false),
            _lock_file: lock_file,
            report: OpenReport {
                unclean,
                commitlog: recovered,
                checkpoint,
            },
            config,
        });
        store.checkpoint_now()?;
        store.start_background()?;
        Ok(store)
    }

    /// Syncs ConsumeQueues and IndexFiles and records a checkpoint in RocksDB.
    pub fn checkpoint_now(&self) -> Result<Checkpoint, StoreError> {
        let dispatched = self.dispatched_offset();
        let logics_ts = self.last_dispatched_timestamp.load(Ordering::Acquire);
        let flushed = self.flusher.durable_offset();
        let queues: Vec<Arc<ConsumeQueue>> = self
            .queues
            .read()
            .map_err(|_| StoreError::Closed)?
            .values()
            .flat_map(|m| m.values().cloned())
            .collect();
        for q in queues {
            q.sync()?;
        }
        self.index.lock().map_err(|_| StoreError::Closed)?.flush()?;
        let cp = Checkpoint {
            commitlog_flushed_offset: flushed,
            physic_msg_timestamp: if flushed >= dispatched { logics_ts } else { 0 },
            consume_queue_offset: dispatched,
            index_offset: dispatched,
            logics_msg_timestamp: logics_ts,
        };
        self.meta.put_checkpoint(&cp)?;
        Ok(cp)
    }

    /// Flushes everything, writes a final checkpoint, removes the `abort` marker and stops the
    /// background threads. Appends after this fail with [`StoreError::Closed`].
    pub fn close(&self) -> Result<(), StoreError> {
        if !self.stop_background() {
            return Ok(());
        }
        // Wait for any append in progress, then make everything durable.
        drop(self.queue_offsets.lock());
        let end = self.commitlog.write_pos();
        self.dispatch_to(end)?;
        self.flusher.wait_durable(end, Duration::from_secs(60))?;
        self.checkpoint_now()?;
        self.meta.flush()?;
        let abort = self.root.join("abort");
        std::fs::remove_file(&abort).map_err(io_err(format!("removing {}", abort.display())))?;
        Ok(())
    }

    /// Stops the background threads and refuses further appends *without* the clean-shutdown
    /// steps (no final dispatch, checkpoint or removal of the `abort` marker): the state a
    /// killed process leaves behind, short of losing the page cache. For crash tests.
    pub fn halt(&self) {
        self.stop_background();
    }
}

impl Drop for MessageStore {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            tracing::error!(error = %e, "closing the store failed");
        }
    }
}
