//! The core pipeline: a timely dataflow on one worker thread (`sluice-core`).
//!
//! ```text
//!  tokio handlers ──submit──▶ ingress queue ──activate──▶ (A) ingress   drain all → epoch e
//!                                                          (B) append   store.append(units of e);
//!                                                                        SYNC_FLUSH holds e until
//!                                                                        the flusher reports it durable
//!                                              probe "durable" ◀┘  acks for every epoch < frontier
//!                                                          (C) dispatch ConsumeQueue + IndexFile
//!                                                          (D) schedule new waiting messages (delay
//!                                                                        levels, timers, half messages)
//!                                                                        go to the scheduler as data;
//!                                                                        due ones come back via ingress
//!                                                          (E) delivery wake long polls of advanced queues
//! ```
//! Requests and their reply callbacks never travel through timely: the ingress keeps them in a
//! side table keyed by epoch, and only epoch numbers and offsets flow between stages.
//!
//! Under ASYNC_FLUSH stage (B) is deliberately not where the append happens: the caller appends
//! on its own thread ([`Submitter::append_here`] / [`Submitter::put`]) and is answered at once,
//! because on 2 cores the two thread hops of a trip through the core thread cost more than the
//! append itself (16 synchronous senders: 0.50 → 0.82 of the null broker when appends moved to
//! the caller). Stage (A) then emits dispatch-only epochs. SYNC_FLUSH keeps the group commit
//! here, where an epoch is the group that one fdatasync covers. Either way each flush mode has
//! one writer path, which sends and the scheduler's re-entries share, and a SYSTEM_BUSY bound:
//! the ingress queue's bytes (SYNC_FLUSH), or dispatch lag (ASYNC_FLUSH).

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sluice_storage::store::QueueAdvance;
use sluice_storage::system_topics;
use sluice_storage::{Appended, FlushDiskType, MessageStore, MessageToStore, StoreError};
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::probe::Handle as ProbeHandle;
use timely::dataflow::operators::Probe;
use timely::scheduling::SyncActivator;

/// What a producer is told about its unit (one message or one batch).
#[derive(Debug)]
pub enum AppendReply {
    /// Stored (and durable, under SYNC_FLUSH).
    Stored(Vec<Appended>),
    /// Stored, but SYNC_FLUSH did not complete within `syncFlushTimeout` (FLUSH_DISK_TIMEOUT).
    FlushTimeout(Vec<Appended>),
    /// Refused before being written: too large, bad topic…
    Refused(StoreError),
    /// The group could not be written (I/O error) or the pipeline stopped.
    Failed(String),
}

/// One unit to append and where its answer goes. The callback runs on the core thread: it
/// must only hand the reply over (e.g. a oneshot send), never block.
pub struct AppendRequest {
    pub unit: Vec<MessageToStore>,
    pub reply: ReplyFn,
}

impl std::fmt::Debug for AppendRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppendRequest")
            .field("messages", &self.unit.len())
            .finish()
    }
}

/// Why a request was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("[REJECTREQUEST]system busy: {queued} bytes are waiting to be stored")]
    Busy { queued: usize },
    /// ASYNC_FLUSH's bound: appends by callers outran dispatch (the core thread is stalled or
    /// gone) by more than the ingress bound, so an ack would promise what no consumer sees.
    #[error("[PC_SYNCHRONIZED]broker busy: dispatch is {behind} bytes behind the CommitLog")]
    DispatchBehind { behind: u64 },
    #[error("the broker is shutting down")]
    Stopped,
}

/// State shared between tokio handlers and the core thread.
struct Ingress {
    /// Queued requests with the bytes each was counted for.
    /// Queued requests with the bytes each was counted for; `None` once the core thread has
    /// taken its last look (a request pushed after that would never be answered).
    queue: Mutex<Option<VecDeque<(AppendRequest, usize)>>>,
    queued_bytes: AtomicUsize,
    max_bytes: usize,
    armed: AtomicBool,
    activator: Mutex<Option<SyncActivator>>,
    stopping: AtomicBool,
    /// The end of the log after the last unit appended by its caller (ASYNC_FLUSH, see
    /// [`Submitter::append_here`]); stage (A) turns an advance of it into a dispatch-only epoch.
    appended_end: AtomicU64,
    /// Set while a wake-up for `appended_end` is pending or deliberately deferred.
    dispatch_armed: AtomicBool,
}

/// After a dispatch-only epoch, further appends by callers wait this long for the next one
/// instead of waking the core thread each: under load the core thread wakes on its own timer
/// a few thousand times a second rather than on a futex per few messages (what a reader sees
/// is at most this much later; a lone append after a quiet spell still wakes it at once).
const DISPATCH_BATCH: Duration = Duration::from_micros(500);

impl Ingress {
    /// Called after an append by its caller: wakes stage (A) unless a wake is pending.
    fn appended(&self, end: u64) {
        self.appended_end.fetch_max(end, Ordering::AcqRel);
        if !self.dispatch_armed.swap(true, Ordering::AcqRel) {
            self.activate();
        }
    }

    fn wake(&self) {
        if !self.armed.swap(true, Ordering::AcqRel) {
            self.activate();
        }
    }

    fn activate(&self) {
        if let Ok(a) = self.activator.lock() {
            if let Some(a) = a.as_ref() {
                let _ = a.activate();
            }
        }
    }
}

/// Called with the queues that became readable (stage E); wakes long polls.
pub type DeliveryHook = Arc<dyn Fn(&[QueueAdvance]) + Send + Sync>;

/// Called by stage (D) with the advances of the broker's own waiting topics (delay levels,
/// timers, half messages): the scheduler learns about new waiting messages from it.
pub type ScheduleHook = Arc<dyn Fn(&[QueueAdvance]) + Send + Sync>;

/// Where the pipeline's stages hand their results.
#[derive(Clone)]
pub struct StageHooks {
    pub schedule: ScheduleHook,
    pub delivery: DeliveryHook,
}

/// The running core pipeline.
pub struct CorePipeline {
    ingress: Arc<Ingress>,
    store: Arc<MessageStore>,
    thread: Option<JoinHandle<()>>,
}

/// A handle that queues units into a running pipeline (the scheduler re-enters due messages
/// through it). Cloneable; refused with [`PipelineError::Stopped`] once the pipeline stops.
#[derive(Clone)]
pub struct Submitter {
    ingress: Arc<Ingress>,
    store: Arc<MessageStore>,
}

impl Submitter {
    /// Whether units are appended by their caller ([`Submitter::append_here`]): under
    /// ASYNC_FLUSH the ack needs nothing but the copy into the mapping, and a hop to the core
    /// thread and back would cost two wake-ups per request. Under SYNC_FLUSH units go through
    /// [`Submitter::submit`] to the core thread's group commit.
    pub fn appends_in_caller(&self) -> bool {
        self.store.config().flush_disk_type == FlushDiskType::AsyncFlush
    }

    /// Appends a unit on the calling thread and wakes stage (A) to dispatch it (stages C–E run
    /// on the core thread as for any unit). Meant for ASYNC_FLUSH: nothing waits for a sync.
    /// Refused with [`PipelineError::DispatchBehind`] while dispatch lags the log by more than
    /// the ingress bound (the same bound SYNC_FLUSH's queue has).
    pub fn append_here(&self, unit: Vec<MessageToStore>) -> Result<AppendReply, PipelineError> {
        self.admit()?;
        self.append_admitted(unit)
    }

    /// Whether an append by its caller may go ahead: not while stopping, nor while dispatch
    /// lags the log by more than the ingress bound.
    fn admit(&self) -> Result<(), PipelineError> {
        if self.ingress.stopping.load(Ordering::Acquire) {
            return Err(PipelineError::Stopped);
        }
        let behind = self
            .store
            .commitlog()
            .write_pos()
            .saturating_sub(self.store.dispatched_offset());
        if behind > self.ingress.max_bytes as u64 {
            return Err(PipelineError::DispatchBehind { behind });
        }
        Ok(())
    }

    fn append_admitted(&self, unit: Vec<MessageToStore>) -> Result<AppendReply, PipelineError> {
        let ingress = &self.ingress;
        let reply = match self.store.append(std::slice::from_ref(&unit)) {
            Ok(outcome) => {
                ingress.appended(outcome.end_offset);
                match outcome.units.into_iter().next() {
                    Some(Ok(a)) => AppendReply::Stored(a),
                    Some(Err(e)) => AppendReply::Refused(e),
                    None => AppendReply::Stored(Vec::new()),
                }
            }
            Err(StoreError::Closed) => return Err(PipelineError::Stopped),
            Err(e) => {
                tracing::error!(error = %e, "appending a unit failed");
                AppendReply::Failed(e.to_string())
            }
        };
        Ok(reply)
    }

    /// Queues a unit; its reply callback runs once it is stored (or refused).
    pub fn submit(&self, req: AppendRequest) -> Result<(), (PipelineError, AppendRequest)> {
        let ingress = &self.ingress;
        if ingress.stopping.load(Ordering::Acquire) {
            return Err((PipelineError::Stopped, req));
        }
        let bytes = unit_bytes(&req.unit);
        let queued = ingress.queued_bytes.fetch_add(bytes, Ordering::AcqRel);
        if queued > 0 && queued + bytes > ingress.max_bytes {
            ingress.queued_bytes.fetch_sub(bytes, Ordering::AcqRel);
            return Err((PipelineError::Busy { queued }, req));
        }
        match ingress.queue.lock().as_deref_mut() {
            Ok(Some(q)) => q.push_back((req, bytes)),
            _ => {
                ingress.queued_bytes.fetch_sub(bytes, Ordering::AcqRel);
                return Err((PipelineError::Stopped, req));
            }
        }
        ingress.wake();
        Ok(())
    }

    /// Stores a unit by the writer path of the store's flush mode — appended right here under
    /// ASYNC_FLUSH ([`Submitter::append_here`], the callback runs before this returns), queued
    /// for the core thread's group commit under SYNC_FLUSH ([`Submitter::submit`]). Sends and
    /// the scheduler's re-entries both come through here, so each mode has one writer path.
    pub fn put(&self, req: AppendRequest) -> Result<(), (PipelineError, AppendRequest)> {
        if !self.appends_in_caller() {
            return self.submit(req);
        }
        if let Err(e) = self.admit() {
            return Err((e, req));
        }
        let AppendRequest { unit, reply } = req;
        match self.append_admitted(unit) {
            Ok(r) => reply(r),
            Err(e) => reply(AppendReply::Failed(e.to_string())),
        }
        Ok(())
    }

    /// Puts a unit ([`Submitter::put`]) and blocks until its reply (`None` if none came within
    /// `timeout`) and, once stored, until it is dispatched, so that a read after the call sees
    /// it (under ASYNC_FLUSH the ack precedes the dispatch). For threads outside tokio: tools
    /// and tests.
    pub fn store_wait(
        &self,
        unit: Vec<MessageToStore>,
        timeout: Duration,
    ) -> Result<Option<AppendReply>, PipelineError> {
        let (tx, rx) = std::sync::mpsc::channel();
        let req = AppendRequest {
            unit,
            reply: Box::new(move |r| {
                let _ = tx.send(r);
            }),
        };
        let deadline = Instant::now() + timeout;
        self.put(req).map_err(|(e, _)| e)?;
        let reply = rx.recv_timeout(timeout).ok();
        if let Some(AppendReply::Stored(a) | AppendReply::FlushTimeout(a)) = &reply {
            if let Some(end) = a.iter().map(|m| m.phys_offset + u64::from(m.size)).max() {
                self.store
                    .wait_dispatched(end, deadline.saturating_duration_since(Instant::now()));
            }
        }
        Ok(reply)
    }
}

fn unit_bytes(unit: &[MessageToStore]) -> usize {
    unit.iter()
        .map(|m| m.body.len() + m.properties.len() + m.topic.len() + 64)
        .sum()
}

impl CorePipeline {
    /// Starts the core worker thread over `store`; `hooks` receive each dispatch's advances.
    pub fn start(
        store: Arc<MessageStore>,
        hooks: StageHooks,
        max_queued_bytes: usize,
    ) -> std::io::Result<CorePipeline> {
        let ingress = Arc::new(Ingress {
            queue: Mutex::new(Some(VecDeque::new())),
            queued_bytes: AtomicUsize::new(0),
            max_bytes: max_queued_bytes,
            armed: AtomicBool::new(false),
            activator: Mutex::new(None),
            stopping: AtomicBool::new(false),
            appended_end: AtomicU64::new(0),
            dispatch_armed: AtomicBool::new(false),
        });
        let ing = ingress.clone();
        let st = store.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("sluice-core".into())
            .spawn(move || {
                timely::execute_directly(move |worker| run_core(worker, store, ing, hooks, ready_tx))
            })?;
        // Wait until the dataflow is built (the ingress activator exists).
        let _ = ready_rx.recv_timeout(Duration::from_secs(10));
        Ok(CorePipeline {
            ingress,
            store: st,
            thread: Some(thread),
        })
    }

    /// Queues a unit; its reply callback runs once it is stored (or refused).
    pub fn submit(&self, req: AppendRequest) -> Result<(), (PipelineError, AppendRequest)> {
        self.submitter().submit(req)
    }

    /// A cloneable handle for submitting from other threads.
    pub fn submitter(&self) -> Submitter {
        Submitter {
            ingress: self.ingress.clone(),
            store: self.store.clone(),
        }
    }

    /// Stops accepting requests, stores what is queued, acks it, and joins the core thread.
    pub fn shutdown(&mut self) {
        self.ingress.stopping.store(true, Ordering::Release);
        self.ingress.armed.store(false, Ordering::Release);
        self.ingress.wake();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for CorePipeline {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A group appended under SYNC_FLUSH, waiting for its fdatasync.
struct AwaitingFlush {
    end: u64,
    since: Instant,
    cap: timely::dataflow::operators::Capability<u64>,
}

/// What stage (A) hands stage (B) for one epoch: units to append, and how far units appended
/// by their callers (ASYNC_FLUSH) reach, to be dispatched as well.
struct EpochWork {
    requests: Vec<AppendRequest>,
    appended_end: u64,
}

/// Where an appended unit's answer goes.
pub type ReplyFn = Box<dyn FnOnce(AppendReply) + Send>;

type Acks = Rc<RefCell<BTreeMap<u64, Vec<(ReplyFn, AppendReply)>>>>;

fn run_core(
    worker: &mut timely::worker::Worker,
    store: Arc<MessageStore>,
    ingress: Arc<Ingress>,
    hooks: StageHooks,
    ready: std::sync::mpsc::Sender<()>,
) {
    // Work of each epoch, between ingress and append.
    let by_epoch: Rc<RefCell<BTreeMap<u64, EpochWork>>> = Rc::new(RefCell::new(BTreeMap::new()));
    // Replies of each epoch, sent once the "durable" probe passes it.
    let acks: Acks = Rc::new(RefCell::new(BTreeMap::new()));
    let sync = store.config().flush_disk_type == FlushDiskType::SyncFlush;
    let sync_timeout = store.config().sync_flush_timeout;
    let probe = ProbeHandle::<u64>::new();

    worker.dataflow::<u64, _, _>(|scope| {
        // (A) ingress
        let ing = ingress.clone();
        let pending = by_epoch.clone();
        let epochs = source(scope, "ingress", move |cap, info| {
            let activator = scope.worker().sync_activator_for(info.address.to_vec());
            if let Ok(mut a) = ing.activator.lock() {
                *a = Some(activator);
            }
            let mut cap = Some(cap);
            let mut seen_appended_end = 0;
            let delayed = scope.activator_for(info.address.clone());
            move |output| {
                ing.armed.store(false, Ordering::Release);
                ing.dispatch_armed.store(false, Ordering::Release);
                let appended_end = ing.appended_end.load(Ordering::Acquire);
                let mut bytes = 0;
                let drained: Vec<AppendRequest> = match ing.queue.lock().as_deref_mut() {
                    Ok(Some(q)) => q
                        .drain(..)
                        .map(|(r, b)| {
                            bytes += b;
                            r
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                ing.queued_bytes.fetch_sub(bytes, Ordering::AcqRel);
                if let Some(c) = cap.as_mut() {
                    if appended_end > seen_appended_end {
                        // Hold further wake-ups for appends back; look again after a while.
                        ing.dispatch_armed.store(true, Ordering::Release);
                        delayed.activate_after(DISPATCH_BATCH);
                    }
                    if !drained.is_empty() || appended_end > seen_appended_end {
                        seen_appended_end = appended_end;
                        let epoch = *c.time();
                        pending.borrow_mut().insert(
                            epoch,
                            EpochWork {
                                requests: drained,
                                appended_end,
                            },
                        );
                        output.session(c).give(epoch);
                        c.downgrade(&(epoch + 1));
                    }
                }
                if ing.stopping.load(Ordering::Acquire)
                    && ing
                        .queue
                        .lock()
                        .map(|q| q.as_ref().is_none_or(VecDeque::is_empty))
                        .unwrap_or(true)
                {
                    cap = None;
                }
            }
        })
        .container::<Vec<u64>>();

        // (B) append
        let st = store.clone();
        let pending = by_epoch.clone();
        let acks_b = acks.clone();
        let appended = epochs.unary_frontier(Pipeline, "append", move |_cap, info| {
            let activator = scope.worker().sync_activator_for(info.address.to_vec());
            if sync {
                st.flusher().on_durable(move |_| {
                    let _ = activator.activate();
                });
            }
            let timer = scope.activator_for(info.address.clone());
            let mut awaiting: VecDeque<AwaitingFlush> = VecDeque::new();
            move |(input, _frontier), output| {
                input.for_each_time(|time, data| {
                    for epoch in data.flat_map(|d| d.drain(..)) {
                        let Some(work) = pending.borrow_mut().remove(&epoch) else {
                            continue;
                        };
                        if work.requests.is_empty() {
                            // Appended by their callers already: only dispatch.
                            output.session(&time).give((epoch, work.appended_end));
                            continue;
                        }
                        let reqs = work.requests;
                        let (units, callbacks): (Vec<Vec<MessageToStore>>, Vec<ReplyFn>) =
                            reqs.into_iter().map(|r| (r.unit, r.reply)).unzip();
                        let replies: Vec<AppendReply> = match st.append(&units) {
                            Ok(outcome) => {
                                if sync {
                                    st.flusher().request(outcome.end_offset);
                                    awaiting.push_back(AwaitingFlush {
                                        end: outcome.end_offset,
                                        since: Instant::now(),
                                        cap: time.retain(0),
                                    });
                                } else {
                                    let end = outcome.end_offset.max(work.appended_end);
                                    output.session(&time).give((epoch, end));
                                }
                                outcome
                                    .units
                                    .into_iter()
                                    .map(|r| match r {
                                        Ok(a) => AppendReply::Stored(a),
                                        Err(e) => AppendReply::Refused(e),
                                    })
                                    .collect()
                            }
                            Err(e) => {
                                tracing::error!(error = %e, "appending a group failed");
                                output.session(&time).give((epoch, work.appended_end));
                                units.iter().map(|_| AppendReply::Failed(e.to_string())).collect()
                            }
                        };
                        acks_b
                            .borrow_mut()
                            .insert(epoch, callbacks.into_iter().zip(replies).collect());
                    }
                });
                // Release every group the flusher has made durable (or that timed out).
                let durable = st.flusher().durable_offset();
                while let Some(front) = awaiting.front() {
                    let timed_out = front.since.elapsed() >= sync_timeout;
                    if front.end > durable && !timed_out {
                        timer.activate_after(sync_timeout.saturating_sub(front.since.elapsed()));
                        break;
                    }
                    let Some(a) = awaiting.pop_front() else { break };
                    let epoch = *a.cap.time();
                    if a.end > durable {
                        if let Some(list) = acks_b.borrow_mut().get_mut(&epoch) {
                            for (_, reply) in list.iter_mut() {
                                if let AppendReply::Stored(v) = reply {
                                    *reply = AppendReply::FlushTimeout(std::mem::take(v));
                                }
                            }
                        }
                    }
                    output.session(&a.cap).give((epoch, a.end));
                }
            }
        });
        let appended = appended.container::<Vec<(u64, u64)>>().probe_with(&probe);

        // (C) dispatch
        let st = store.clone();
        let advances = appended.unary(Pipeline, "dispatch", move |_cap, _info| {
            move |input, output| {
                input.for_each_time(|time, data| {
                    let end = data
                        .flat_map(|d| d.drain(..))
                        .map(|(_, end)| end)
                        .max()
                        .unwrap_or(0);
                    match st.dispatch_to(end) {
                        Ok(adv) if !adv.is_empty() => {
                            output.session(&time).give_iterator(adv.into_iter());
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::error!(error = %e, "dispatch failed; will retry with the next group")
                        }
                    }
                });
            }
        });
        // (D) schedule: advances of the waiting topics (delay levels, timers, half messages)
        // go to the scheduler, which keeps each waiting message as data with its due time and
        // re-enters due ones through the ingress. Nothing here holds a capability for a wait.
        let schedule = hooks.schedule.clone();
        let advances =
            advances
                .container::<Vec<QueueAdvance>>()
                .unary(Pipeline, "schedule", move |_cap, _info| {
                    move |input, output| {
                        input.for_each_time(|time, data| {
                            let mut waiting = Vec::new();
                            let mut session = output.session(&time);
                            for adv in data.flat_map(|d| d.drain(..)) {
                                if adv.topic == system_topics::HALF_TOPIC
                                    || system_topics::is_schedule_topic(&adv.topic)
                                {
                                    waiting.push(adv);
                                } else {
                                    session.give(adv);
                                }
                            }
                            if !waiting.is_empty() {
                                schedule(&waiting);
                            }
                        });
                    }
                });

        // (E) delivery
        let hook = hooks.delivery.clone();
        advances
            .container::<Vec<QueueAdvance>>()
            .sink(Pipeline, "delivery", move |(input, _frontier)| {
                let mut batch = Vec::new();
                input.for_each(|_time, data| batch.append(data));
                if !batch.is_empty() {
                    hook(&batch);
                }
            });
    });
    let _ = ready.send(());

    // Acks: every epoch below the "durable" probe's frontier is answered.
    loop {
        worker.step_or_park(Some(Duration::from_millis(100)));
        let frontier = probe.with_frontier(|f| f.first().copied());
        let done: Vec<u64> = {
            let a = acks.borrow();
            a.keys()
                .copied()
                .take_while(|e| frontier.is_none_or(|f| *e < f))
                .collect()
        };
        for epoch in done {
            if let Some(list) = acks.borrow_mut().remove(&epoch) {
                for (reply_to, reply) in list {
                    reply_to(reply);
                }
            }
        }
        if !worker.has_dataflows() {
            break;
        }
    }
    // Close the queue; anything still in it is refused.
    let rest = ingress.queue.lock().ok().and_then(|mut q| q.take());
    for (req, _) in rest.into_iter().flatten() {
        (req.reply)(AppendReply::Failed("the broker is shutting down".into()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use sluice_storage::StoreConfig;
    use std::sync::mpsc;

    fn msg(topic: &str, q: u32, body: &str) -> MessageToStore {
        MessageToStore {
            topic: topic.into(),
            queue_id: q,
            flag: 0,
            sys_flag: 0,
            born_timestamp: 1,
            born_host: "127.0.0.1:1".parse().unwrap(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: Bytes::from(body.to_owned()),
            properties: "TAGS\u{1}a\u{2}".into(),
        }
    }

    fn run(flush: FlushDiskType) {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = StoreConfig {
            store_path_root_dir: dir.path().to_path_buf(),
            flush_disk_type: flush,
            ..StoreConfig::default()
        };
        cfg.set("mappedFileSizeCommitLog", "65536").unwrap();
        let store = MessageStore::open(cfg).unwrap();
        let woken = Arc::new(Mutex::new(Vec::new()));
        let w2 = woken.clone();
        let scheduled = Arc::new(Mutex::new(Vec::new()));
        let s2 = scheduled.clone();
        let mut p = CorePipeline::start(
            store.clone(),
            StageHooks {
                schedule: Arc::new(move |adv: &[QueueAdvance]| {
                    s2.lock().unwrap().extend(adv.iter().cloned())
                }),
                delivery: Arc::new(move |adv: &[QueueAdvance]| {
                    w2.lock().unwrap().extend(adv.iter().cloned())
                }),
            },
            1 << 20,
        )
        .unwrap();
        let (tx, rx) = mpsc::channel();
        let n = 500;
        for i in 0..n {
            let tx = tx.clone();
            let req = AppendRequest {
                unit: vec![msg("T", (i % 4) as u32, &format!("m{i}"))],
                reply: Box::new(move |r| {
                    let _ = tx.send((i, r));
                }),
            };
            p.submit(req).map_err(|(e, _)| e).unwrap();
        }
        let mut per_queue = [0u64; 4];
        for _ in 0..n {
            let (i, r) = rx.recv_timeout(Duration::from_secs(10)).unwrap();
            let AppendReply::Stored(a) = r else {
                panic!("{r:?}")
            };
            assert!(a[0].queue_offset < n as u64 / 4, "{i}");
            per_queue[i % 4] += 1;
            if flush == FlushDiskType::SyncFlush {
                assert!(store.flusher().durable_offset() >= a[0].phys_offset + u64::from(a[0].size));
            }
        }
        assert_eq!(per_queue, [125; 4]);
        // Dispatch ran and delivery saw every queue advance to 125.
        let deadline = Instant::now() + Duration::from_secs(5);
        while store.max_queue_offset("T", 3) < 125 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(store.max_queue_offset("T", 3), 125);
        assert!(woken
            .lock()
            .unwrap()
            .iter()
            .any(|a| a.queue_id == 3 && a.max_offset == 125));
        // A waiting message's advance goes to the schedule hook, not to delivery.
        let waiting = msg(system_topics::SCHEDULE_TOPIC, 2, "later");
        let reply = p.submitter().store_wait(vec![waiting], Duration::from_secs(5));
        assert!(matches!(reply, Ok(Some(AppendReply::Stored(_)))));
        let deadline = Instant::now() + Duration::from_secs(5);
        while scheduled.lock().unwrap().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(
            scheduled.lock().unwrap().as_slice(),
            [QueueAdvance {
                topic: system_topics::SCHEDULE_TOPIC.into(),
                queue_id: 2,
                max_offset: 1
            }]
        );
        assert!(!woken
            .lock()
            .unwrap()
            .iter()
            .any(|a| a.topic == system_topics::SCHEDULE_TOPIC));
        // A too-large message is refused alone.
        let big = MessageToStore {
            body: Bytes::from(vec![0u8; 5 << 20]),
            ..msg("T", 0, "")
        };
        let reply = p.submitter().store_wait(vec![big], Duration::from_secs(5));
        assert!(matches!(reply, Ok(Some(AppendReply::Refused(_)))));
        p.shutdown();
        let (tx, _rx) = mpsc::channel::<AppendReply>();
        let late = AppendRequest {
            unit: vec![msg("T", 0, "late")],
            reply: Box::new(move |r| {
                let _ = tx.send(r);
            }),
        };
        assert!(matches!(p.submit(late), Err((PipelineError::Stopped, _))));
    }

    /// ASYNC_FLUSH's SYSTEM_BUSY bound: with the core thread held inside the delivery hook,
    /// appends by callers are refused once dispatch is more than the bound behind, and taken
    /// again once it catches up.
    #[test]
    fn async_flush_refuses_appends_while_dispatch_is_stalled() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = StoreConfig {
            store_path_root_dir: dir.path().to_path_buf(),
            ..StoreConfig::default()
        };
        let store = MessageStore::open(cfg).unwrap();
        let (entered_tx, entered_rx) = mpsc::channel::<()>();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let entered_tx = Mutex::new(entered_tx);
        let release_rx = Mutex::new(release_rx);
        let stall = AtomicBool::new(true);
        let mut p = CorePipeline::start(
            store.clone(),
            StageHooks {
                schedule: Arc::new(|_: &[QueueAdvance]| {}),
                delivery: Arc::new(move |_: &[QueueAdvance]| {
                    if stall.swap(false, Ordering::AcqRel) {
                        let _ = entered_tx.lock().unwrap().send(());
                        let _ = release_rx.lock().unwrap().recv();
                    }
                }),
            },
            4096,
        )
        .unwrap();
        let sub = p.submitter();
        assert!(matches!(
            sub.append_here(vec![msg("T", 0, "first")]),
            Ok(AppendReply::Stored(_))
        ));
        entered_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        // The core thread is parked in the hook: nothing more is dispatched.
        let body = "x".repeat(512);
        let mut refused = None;
        for i in 0..64 {
            match sub.append_here(vec![msg("T", 0, &body)]) {
                Ok(AppendReply::Stored(_)) => {}
                Err(e) => {
                    refused = Some((i, e));
                    break;
                }
                Ok(other) => panic!("{other:?}"),
            }
        }
        let (i, e) = refused.expect("appends are refused while dispatch is stalled");
        assert!(
            matches!(e, PipelineError::DispatchBehind { behind } if behind > 4096),
            "{e}"
        );
        assert!(
            i <= 8,
            "refused after {i} appends of ~600 bytes with a 4096-byte bound"
        );
        // The scheduler's path (put) is refused the same way.
        let (tx, _rx) = mpsc::channel::<AppendReply>();
        let req = AppendRequest {
            unit: vec![msg("T", 0, "via put")],
            reply: Box::new(move |r| {
                let _ = tx.send(r);
            }),
        };
        assert!(matches!(
            sub.put(req),
            Err((PipelineError::DispatchBehind { .. }, _))
        ));
        release_tx.send(()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while store.dispatched_offset() < store.commitlog().write_pos() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(matches!(
            sub.append_here(vec![msg("T", 0, "after")]),
            Ok(AppendReply::Stored(_))
        ));
        p.shutdown();
    }

    #[test]
    fn async_flush_acks_and_dispatches() {
        run(FlushDiskType::AsyncFlush);
    }

    #[test]
    fn sync_flush_acks_only_durable_groups() {
        run(FlushDiskType::SyncFlush);
    }
}
