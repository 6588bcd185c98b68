//! [`MessageStore`]: the CommitLog with its ConsumeQueues, IndexFiles, flusher, checkpoints and
//! RocksDB metadata, opened with recovery and closed cleanly.
//!
//! The write path has two steps the broker pipeline runs as separate stages:
//! 1. [`MessageStore::append`] writes a whole group (one epoch) and returns each message's
//!    offsets; under SYNC_FLUSH the caller hands the group's end to [`MessageStore::flusher`] and
//!    acks its producers when the durable offset passes it.
//! 2. [`MessageStore::dispatch_to`] reads the new records back from the CommitLog and writes
//!    ConsumeQueue units and index entries; recovery replays the same code over the log's tail.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::clock;
use crate::commitlog::{CommitLog, Recovered, ScanStep};
use crate::config::StoreConfig;
use crate::consume_queue::{ConsumeQueue, CqUnit};
use crate::error::{io_err, StoreError};
use crate::flush::{FlushDiskType, Flusher};
use crate::hash::tags_code;
use crate::index::IndexService;
use crate::meta::{Checkpoint, MetaStore};
use crate::properties::names;
use crate::record::{self, sysflag, CrcCheck, MessageFields, Record, StoreStamp};
use crate::retention::SegmentHold;
use crate::system_topics;

/// A message to append: what the producer sent, plus routing the broker decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageToStore {
    pub topic: String,
    pub queue_id: u32,
    pub flag: i32,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: std::net::SocketAddr,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
    pub body: Bytes,
    pub properties: String,
}

impl MessageToStore {
    fn fields(&self) -> MessageFields<'_> {
        MessageFields {
            topic: &self.topic,
            queue_id: self.queue_id as i32,
            flag: self.flag,
            sys_flag: self.sys_flag,
            born_timestamp: self.born_timestamp,
            born_host: self.born_host,
            reconsume_times: self.reconsume_times,
            prepared_transaction_offset: self.prepared_transaction_offset,
            body: &self.body,
            properties: &self.properties,
        }
    }

    /// Whether the record takes a queue offset (prepared and rolled-back transactions do not).
    pub fn takes_queue_offset(&self) -> bool {
        matches!(
            sysflag::transaction_type(self.sys_flag),
            sysflag::TRANSACTION_NOT_TYPE | sysflag::TRANSACTION_COMMIT
        )
    }
}

/// Where one message landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub phys_offset: u64,
    pub size: u32,
    pub queue_offset: u64,
    pub store_timestamp: i64,
}

/// The outcome of appending a group: per unit (a single message or a batch, written
/// contiguously) either where its messages landed or why it was refused.
#[derive(Debug)]
pub struct AppendOutcome {
    pub units: Vec<Result<Vec<Appended>, StoreError>>,
    /// The end of the log after this group: durable once the flusher passes it.
    pub end_offset: u64,
}

/// A queue whose max offset moved during a dispatch (long polls on it can be woken).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueAdvance {
    pub topic: String,
    pub queue_id: u32,
    pub max_offset: u64,
}

/// What opening the store found.
#[derive(Debug, Clone)]
pub struct OpenReport {
    /// The previous run did not shut down cleanly (the `abort` file was there).
    pub unclean: bool,
    pub commitlog: Recovered,
    pub checkpoint: Checkpoint,
}

type QueueMap = HashMap<String, HashMap<u32, Arc<ConsumeQueue>>>;

/// The message store.
pub struct MessageStore {
    config: StoreConfig,
    root: PathBuf,
    commitlog: Arc<CommitLog>,
    flusher: Flusher,
    queues: RwLock<QueueMap>,
    index: Mutex<IndexService>,
    meta: Arc<MetaStore>,
    /// Next queue offset per (topic, queue); the append lock.
    queue_offsets: Mutex<HashMap<String, HashMap<u32, u64>>>,
    dispatch_lock: Mutex<()>,
    dispatched: AtomicU64,
    last_dispatched_timestamp: AtomicI64,
    pub(crate) hold: RwLock<Option<Arc<dyn SegmentHold>>>,
    pub(crate) hot_bytes: u64,
    background: Mutex<Vec<JoinHandle<()>>>,
    stop: Arc<(Mutex<bool>, Condvar)>,
    closed: AtomicBool,
    _lock_file: File,
    report: OpenReport,
}

impl std::fmt::Debug for MessageStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageStore").field("root", &self.root).finish()
    }
}

fn lock_dir(root: &Path) -> Result<File, StoreError> {
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

/// The ConsumeQueue tags code of a stored record: the tag hash, except in the topics where
/// messages wait for a time, where it is the delivery time in ms (protocol.md §5.1, §5.2).
fn cq_tags_code(config: &StoreConfig, r: &Record<'_>) -> i64 {
    if r.topic == system_topics::SCHEDULE_TOPIC {
        let delay = config
            .delay_of_level(r.queue_id + 1)
            .unwrap_or_default()
            .as_millis() as i64;
        return r.store_timestamp.saturating_add(delay);
    }
    if r.topic == system_topics::TIMER_TOPIC {
        return r
            .property(names::TIMER_OUT_MS)
            .and_then(|v| v.parse().ok())
            .unwrap_or(r.store_timestamp);
    }
    tags_code(r.property(names::TAGS))
}

fn dispatches_to_queue(sys_flag: i32) -> bool {
    matches!(
        sysflag::transaction_type(sys_flag),
        sysflag::TRANSACTION_NOT_TYPE | sysflag::TRANSACTION_COMMIT
    )
}

/// Finds (creating) the ConsumeQueue of (topic, queue id) during a dispatch.
type QueueLookup<'a> = dyn FnMut(&str, u32) -> Result<Arc<ConsumeQueue>, StoreError> + 'a;

/// CQ units gathered during one dispatch, per queue: (queue, first offset, units).
type PendingUnits = Vec<(Arc<ConsumeQueue>, u64, Vec<CqUnit>)>;

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
        let mut queues: QueueMap = HashMap::new();
        let cq_root = root.join("consumequeue");
        if let Ok(topics) = std::fs::read_dir(&cq_root) {
            for t in topics.flatten() {
                let Some(topic) = t.file_name().to_str().map(str::to_owned) else {
                    continue;
                };
                let Ok(qs) = std::fs::read_dir(t.path()) else {
                    continue;
                };
                for q in qs.flatten() {
                    let Some(qid) = q.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                        continue;
                    };
                    let cq = ConsumeQueue::open(&cq_root, &topic, qid, units_per_file)?;
                    queues.entry(topic.clone()).or_default().insert(qid, Arc::new(cq));
                }
            }
        }
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
        let (commitlog, recovered) = CommitLog::open(
            &root.join("commitlog"),
            config.mapped_file_size_commit_log,
            scan_from,
            checkpoint.commitlog_flushed_offset,
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
            FlushDiskType::AsyncFlush => crate::commitlog::WriteMode::Mapped,
            FlushDiskType::SyncFlush => crate::commitlog::WriteMode::Pwrite,
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
            last_dispatched_timestamp: AtomicI64::new(last_ts),
            hold: RwLock::new(None),
            hot_bytes,
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

    fn start_background(self: &Arc<Self>) -> Result<(), StoreError> {
        let mut threads = self.background.lock().map_err(|_| StoreError::Closed)?;
        let weak = Arc::downgrade(self);
        let stop = self.stop.clone();
        let period = self.config.flush_interval_consume_queue;
        threads.push(
            std::thread::Builder::new()
                .name("sluice-checkpoint".into())
                .spawn(move || {
                    while !wait_stop(&stop, period) {
                        let Some(store) = weak.upgrade() else { return };
                        if let Err(e) = store.checkpoint_now() {
                            tracing::error!(error = %e, "checkpoint failed");
                        }
                    }
                })
                .map_err(io_err("starting the checkpoint thread"))?,
        );
        let log = self.commitlog.clone();
        let stop = self.stop.clone();
        let weak = Arc::downgrade(self);
        threads.push(
            std::thread::Builder::new()
                .name("sluice-prefault".into())
                .spawn(move || {
                    let mut ahead = crate::prefault::Prefault::default();
                    let mut released_at = Instant::now();
                    while !wait_stop(&stop, Duration::from_millis(10)) {
                        ahead.advance(&log);
                        if released_at.elapsed() >= Duration::from_millis(100) {
                            released_at = Instant::now();
                            crate::prefault::release_behind(&log);
                            let Some(store) = weak.upgrade() else { return };
                            let keep = store.config.commit_log_page_cache_bytes;
                            if keep > 0 {
                                crate::prefault::evict_behind(&log, store.flusher().durable_offset(), keep);
                            }
                        }
                    }
                })
                .map_err(io_err("starting the prefault thread"))?,
        );
        let weak = Arc::downgrade(self);
        let stop = self.stop.clone();
        let period = self.config.clean_resource_interval;
        threads.push(
            std::thread::Builder::new()
                .name("sluice-retention".into())
                .spawn(move || {
                    while !wait_stop(&stop, period) {
                        let Some(store) = weak.upgrade() else { return };
                        match store.run_retention(std::time::SystemTime::now(), false) {
                            Ok(r) if !r.deleted.is_empty() => {
                                tracing::info!(
                                    deleted = r.deleted.len(),
                                    "retention deleted CommitLog segments"
                                )
                            }
                            Ok(_) => {}
                            Err(e) => tracing::error!(error = %e, "retention failed"),
                        }
                    }
                })
                .map_err(io_err("starting the retention thread"))?,
        );
        Ok(())
    }

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

    /// Everything below this CommitLog offset has been dispatched to queues and indexes.
    pub fn dispatched_offset(&self) -> u64 {
        self.dispatched.load(Ordering::Acquire)
    }

    /// The queue of (topic, queue id) if it exists.
    pub fn consume_queue(&self, topic: &str, queue_id: u32) -> Option<Arc<ConsumeQueue>> {
        self.queues.read().ok()?.get(topic)?.get(&queue_id).cloned()
    }

    /// Every (topic, queue id) with a ConsumeQueue.
    pub fn queue_ids(&self) -> Vec<(String, u32)> {
        let Ok(q) = self.queues.read() else {
            return Vec::new();
        };
        let mut out: Vec<_> = q
            .iter()
            .flat_map(|(t, m)| m.keys().map(move |qid| (t.clone(), *qid)))
            .collect();
        out.sort();
        out
    }

    fn queue_or_create(&self, topic: &str, queue_id: u32) -> Result<Arc<ConsumeQueue>, StoreError> {
        if let Some(q) = self.consume_queue(topic, queue_id) {
            return Ok(q);
        }
        let mut queues = self.queues.write().map_err(|_| StoreError::Closed)?;
        Self::queue_in(
            &self.root.join("consumequeue"),
            self.config.consume_queue_units_per_file(),
            &mut queues,
            topic,
            queue_id,
        )
    }

    fn queue_in(
        cq_root: &Path,
        units_per_file: u64,
        queues: &mut QueueMap,
        topic: &str,
        queue_id: u32,
    ) -> Result<Arc<ConsumeQueue>, StoreError> {
        if let Some(q) = queues.get(topic).and_then(|m| m.get(&queue_id)) {
            return Ok(q.clone());
        }
        let cq = Arc::new(ConsumeQueue::open(cq_root, topic, queue_id, units_per_file)?);
        queues
            .entry(topic.to_owned())
            .or_default()
            .insert(queue_id, cq.clone());
        Ok(cq)
    }

    /// The next queue offset of (topic, queue): its ConsumeQueue's max offset once dispatched.
    pub fn max_queue_offset(&self, topic: &str, queue_id: u32) -> u64 {
        self.consume_queue(topic, queue_id)
            .map(|q| q.max_offset())
            .unwrap_or(0)
    }

    /// The first queue offset still readable.
    pub fn min_queue_offset(&self, topic: &str, queue_id: u32) -> u64 {
        self.consume_queue(topic, queue_id)
            .map(|q| q.min_offset())
            .unwrap_or(0)
    }

    /// Appends a group of units (each a single message or a batch written contiguously) with one
    /// write. Units that are refused (too large, bad topic…) are reported in their slot and the
    /// rest still go in. An I/O failure fails the whole group, and nothing of it is published.
    pub fn append(&self, units: &[Vec<MessageToStore>]) -> Result<AppendOutcome, StoreError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::Closed);
        }
        let mut offsets = self.queue_offsets.lock().map_err(|_| StoreError::Closed)?;
        let mut session = self.commitlog.begin()?;
        let store_host = self.config.store_host;
        let now = clock::now_millis();
        let mut results = Vec::with_capacity(units.len());
        for unit in units {
            results.push(self.append_unit(&mut session, &mut offsets, unit, now, store_host));
        }
        match session.commit() {
            Ok(end) => Ok(AppendOutcome {
                units: results,
                end_offset: end,
            }),
            Err(e) => {
                // Nothing was published: give back the queue offsets this group took.
                for (unit, res) in units.iter().zip(&results) {
                    if res.is_err() {
                        continue;
                    }
                    for m in unit.iter().filter(|m| m.takes_queue_offset()) {
                        if let Some(next) = offsets
                            .get_mut(m.topic.as_str())
                            .and_then(|q| q.get_mut(&m.queue_id))
                        {
                            *next -= 1;
                        }
                    }
                }
                Err(e)
            }
        }
    }

    fn append_unit(
        &self,
        session: &mut crate::commitlog::AppendSession<'_>,
        offsets: &mut HashMap<String, HashMap<u32, u64>>,
        unit: &[MessageToStore],
        now: i64,
        store_host: std::net::SocketAddr,
    ) -> Result<Vec<Appended>, StoreError> {
        let max = self.config.max_message_size;
        let mut lens = Vec::with_capacity(unit.len());
        for m in unit {
            if m.body.len() > max {
                return Err(StoreError::MessageTooLarge {
                    size: m.body.len(),
                    max,
                });
            }
            crate::consume_queue::check_topic_dir_name(&m.topic)?;
            lens.push(record::encoded_len(&m.fields(), store_host)?);
        }
        let total: usize = lens.iter().sum();
        if unit.len() > 1 && total > max {
            return Err(StoreError::MessageTooLarge { size: total, max });
        }
        let mut phys = session.reserve(total)?;
        let mut out = Vec::with_capacity(unit.len());
        for (m, len) in unit.iter().zip(lens) {
            let queue_offset = if m.takes_queue_offset() {
                let per_topic = match offsets.get_mut(m.topic.as_str()) {
                    Some(p) => p,
                    None => offsets.entry(m.topic.clone()).or_default(),
                };
                let next = match per_topic.get_mut(&m.queue_id) {
                    Some(n) => n,
                    None => per_topic
                        .entry(m.queue_id)
                        .or_insert_with(|| self.max_queue_offset(&m.topic, m.queue_id)),
                };
                let qo = *next;
                *next += 1;
                qo
            } else {
                0
            };
            let stamp = StoreStamp {
                queue_offset: queue_offset as i64,
                physical_offset: phys as i64,
                store_timestamp: now,
                store_host,
            };
            record::encode(session.buffer(), &m.fields(), &stamp, None)?;
            out.push(Appended {
                phys_offset: phys,
                size: len as u32,
                queue_offset,
                store_timestamp: now,
            });
            phys += len as u64;
        }
        Ok(out)
    }

    /// Writes ConsumeQueue units and index entries for every record appended below `limit`
    /// (and not yet dispatched). Returns the queues that advanced.
    pub fn dispatch_to(&self, limit: u64) -> Result<Vec<QueueAdvance>, StoreError> {
        let _guard = self.dispatch_lock.lock().map_err(|_| StoreError::Closed)?;
        let limit = limit.min(self.commitlog.write_pos());
        let mut pos = self.dispatched.load(Ordering::Acquire);
        if pos >= limit {
            return Ok(Vec::new());
        }
        let mut pending: PendingUnits = Vec::new();
        let mut index = self.index.lock().map_err(|_| StoreError::Closed)?;
        let mut queue = |t: &str, q: u32| self.queue_or_create(t, q);
        let mut last_ts = None;
        while pos < limit {
            match self.commitlog.scan_at(pos, CrcCheck::Skip) {
                Ok(Some(ScanStep::SkipTo(next))) => pos = next,
                Ok(Some(ScanStep::Record { offset, slice })) => {
                    let r = record::decode_message(&slice, CrcCheck::Skip).map_err(|reason| {
                        StoreError::Corrupted {
                            offset,
                            file: self.commitlog.dir().to_path_buf(),
                            reason,
                        }
                    })?;
                    Self::dispatch_record(&mut queue, &mut pending, &mut index, &self.config, offset, &r)?;
                    last_ts = Some(r.store_timestamp);
                    pos = offset + r.total_size as u64;
                }
                Ok(None) => break,
                Err(crate::commitlog::ScanError::Zeros) => break,
                Err(crate::commitlog::ScanError::Decode(reason)) => {
                    return Err(StoreError::Corrupted {
                        offset: pos,
                        file: self.commitlog.dir().to_path_buf(),
                        reason,
                    })
                }
            }
        }
        drop(index);
        let advances = pending
            .iter()
            .map(|(cq, start, units)| QueueAdvance {
                topic: cq.topic().to_owned(),
                queue_id: cq.queue_id(),
                max_offset: start + units.len() as u64,
            })
            .collect();
        Self::write_pending(&mut pending)?;
        if let Some(ts) = last_ts {
            self.last_dispatched_timestamp.store(ts, Ordering::Release);
        }
        self.dispatched.store(pos, Ordering::Release);
        Ok(advances)
    }

    fn dispatch_record(
        queue: &mut QueueLookup<'_>,
        pending: &mut PendingUnits,
        index: &mut IndexService,
        config: &StoreConfig,
        offset: u64,
        r: &Record<'_>,
    ) -> Result<(), StoreError> {
        let index_enabled = config.message_index_enable;
        if dispatches_to_queue(r.sys_flag) {
            let unit = CqUnit {
                phys_offset: offset as i64,
                size: r.total_size as i32,
                tags_code: cq_tags_code(config, r),
            };
            let qid = r.queue_id as u32;
            let qo = r.queue_offset as u64;
            let slot = pending.iter_mut().rev().find(|(cq, start, units)| {
                cq.queue_id() == qid && cq.topic() == r.topic && start + units.len() as u64 == qo
            });
            match slot {
                Some((_, _, units)) => units.push(unit),
                None => {
                    let cq = queue(r.topic, qid)?;
                    pending.push((cq, qo, vec![unit]));
                }
            }
        }
        if index_enabled && sysflag::transaction_type(r.sys_flag) != sysflag::TRANSACTION_ROLLBACK {
            index.put_message(
                r.topic,
                r.property(names::UNIQ_KEY),
                r.property(names::KEYS),
                offset as i64,
                r.store_timestamp,
            )?;
        }
        Ok(())
    }

    fn write_pending(pending: &mut PendingUnits) -> Result<(), StoreError> {
        for (cq, start, units) in pending.drain(..) {
            cq.put(start, &units)?;
        }
        Ok(())
    }

    /// Appends, dispatches and (under SYNC_FLUSH) waits for durability: the whole write path in
    /// one call, for tools and tests. The broker runs the steps as pipeline stages instead.
    pub fn put(&self, units: &[Vec<MessageToStore>]) -> Result<AppendOutcome, StoreError> {
        let outcome = self.append(units)?;
        self.dispatch_to(outcome.end_offset)?;
        if self.config.flush_disk_type == FlushDiskType::SyncFlush {
            self.flusher
                .wait_durable(outcome.end_offset, self.config.sync_flush_timeout)?;
        }
        Ok(outcome)
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

    /// Candidate messages for `topic#key` (a KEYS token or the UNIQ_KEY) stored in
    /// `[begin, end]`, newest first, checked against the messages' real keys.
    pub fn query_by_key(
        &self,
        topic: &str,
        key: &str,
        max: usize,
        begin: i64,
        end: i64,
    ) -> Result<Vec<crate::segment::SegmentSlice>, StoreError> {
        let offsets = self.index.lock().map_err(|_| StoreError::Closed)?.query(
            topic,
            key,
            max.saturating_mul(2).max(max),
            begin,
            end,
        );
        let mut out = Vec::new();
        for off in offsets {
            if out.len() >= max {
                break;
            }
            let Ok(slice) = self.commitlog.read_record(off, CrcCheck::Skip) else {
                continue;
            };
            let Ok(r) = record::decode_message(&slice, CrcCheck::Skip) else {
                continue;
            };
            let matches = r.topic == topic
                && (r.property(names::UNIQ_KEY) == Some(key)
                    || r.property(names::KEYS)
                        .is_some_and(|ks| crate::properties::split_keys(ks).any(|k| k == key)));
            if matches {
                out.push(slice);
            }
        }
        Ok(out)
    }

    pub(crate) fn remove_index_below(&self, commitlog_min: u64) -> Result<usize, StoreError> {
        Ok(self
            .index
            .lock()
            .map_err(|_| StoreError::Closed)?
            .remove_below(commitlog_min)?
            .len())
    }

    /// Deletes a topic's ConsumeQueues (its records stay in the CommitLog until retention).
    pub fn delete_topic(&self, topic: &str) -> Result<(), StoreError> {
        let mut offsets = self.queue_offsets.lock().map_err(|_| StoreError::Closed)?;
        let removed = self.queues.write().map_err(|_| StoreError::Closed)?.remove(topic);
        offsets.remove(topic);
        if let Some(qs) = removed {
            for q in qs.values() {
                q.destroy()?;
            }
        }
        let dir = self.root.join("consumequeue").join(topic);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(format!("removing {}", dir.display()))(e)),
        }
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

    /// Marks the store closed and joins its background threads; false if it was closed already.
    fn stop_background(&self) -> bool {
        if self.closed.swap(true, Ordering::AcqRel) {
            return false;
        }
        let (lock, cv) = &*self.stop;
        if let Ok(mut s) = lock.lock() {
            *s = true;
        }
        cv.notify_all();
        let threads: Vec<_> = self
            .background
            .lock()
            .map(|mut t| t.drain(..).collect())
            .unwrap_or_default();
        for t in threads {
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
        true
    }

    /// Waits up to `timeout` for `offset` to be dispatched (tests, tools).
    pub fn wait_dispatched(&self, offset: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.dispatched_offset() < offset {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        true
    }
}

impl Drop for MessageStore {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            tracing::error!(error = %e, "closing the store failed");
        }
    }
}

/// Sleeps for `period` or until stop is signalled; returns whether to stop.
fn wait_stop(stop: &(Mutex<bool>, Condvar), period: Duration) -> bool {
    let (lock, cv) = stop;
    let Ok(guard) = lock.lock() else { return true };
    if *guard {
        return true;
    }
    match cv.wait_timeout(guard, period) {
        Ok((g, _)) => *g,
        Err(_) => true,
    }
}
