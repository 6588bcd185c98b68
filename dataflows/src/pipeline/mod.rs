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
//!
//! One module per stage, each a timely operator (an extension trait on its input stream, as
//! timely's own operators are) tested alone: [`ingress`] (A, a source), [`append`] (B),
//! [`dispatch`] (C), [`waiting`] (D), [`delivery`] (E); [`acks`] answers epochs behind the
//! probe; [`submitter`] is the tokio side's door.

mod acks;
mod append;
mod delivery;
mod dispatch;
mod ingress;
mod replica;
mod submitter;
mod waiting;

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use sluice_storage::store::QueueAdvance;
use sluice_storage::{Appended, MessageStore, MessageToStore, StoreError};
use timely::dataflow::operators::probe::Handle as ProbeHandle;
use timely::dataflow::operators::Probe;

pub use delivery::Deliver;
pub use dispatch::Dispatch;
pub use replica::{ReplicaAcks, SyncReplication};
pub use submitter::Submitter;
pub use waiting::{is_waiting_topic, Schedule};

use acks::Acks;
use append::Append;
use ingress::{Ingress, Pending};

/// What a producer is told about its unit (one message or one batch).
#[derive(Debug)]
pub enum AppendReply {
    /// Stored (and durable, under SYNC_FLUSH).
    Stored(Vec<Appended>),
    /// Stored, but SYNC_FLUSH did not complete within `syncFlushTimeout` (FLUSH_DISK_TIMEOUT).
    FlushTimeout(Vec<Appended>),
    /// Stored, but no slave acknowledged it within `slaveTimeout` (SYNC_MASTER:
    /// FLUSH_SLAVE_TIMEOUT).
    SlaveTimeout(Vec<Appended>),
    /// Stored, but no slave could take it: none connected, or the best one more than
    /// `haSlaveFallbehindMax` behind (SYNC_MASTER: SLAVE_NOT_AVAILABLE).
    SlaveNotAvailable(Vec<Appended>),
    /// Refused before being written: too large, bad topic…
    Refused(StoreError),
    /// The group could not be written (I/O error) or the pipeline stopped.
    Failed(String),
}

impl AppendReply {
    /// Where the unit's messages went, when it was stored (with whatever guarantee).
    pub fn appended(&self) -> Option<&[Appended]> {
        match self {
            AppendReply::Stored(a)
            | AppendReply::FlushTimeout(a)
            | AppendReply::SlaveTimeout(a)
            | AppendReply::SlaveNotAvailable(a) => Some(a),
            AppendReply::Refused(_) | AppendReply::Failed(_) => None,
        }
    }
}

/// One unit to append and where its answer goes. The callback runs on the core thread: it
/// must only hand the reply over (e.g. a oneshot send), never block.
pub struct AppendRequest {
    pub unit: Vec<MessageToStore>,
    pub reply: ReplyFn,
    /// Whether the producer waits for the store's guarantee (its `WAIT` property,
    /// `waitStoreMsgOK`): without it the unit is answered once appended, before its group is
    /// durable (SYNC_FLUSH) or replicated (SYNC_MASTER), as 4.9 and 5.x skip both waits.
    pub wait: bool,
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

impl CorePipeline {
    /// Starts the core worker thread over `store`; `hooks` receive each dispatch's advances.
    pub fn start(
        store: Arc<MessageStore>,
        hooks: StageHooks,
        max_queued_bytes: usize,
    ) -> std::io::Result<CorePipeline> {
        Self::start_replicated(store, hooks, max_queued_bytes, None)
    }

    /// [`CorePipeline::start`] for a SYNC_MASTER: each group is also acknowledged only once a
    /// slave has it (or answered SLAVE_NOT_AVAILABLE / FLUSH_SLAVE_TIMEOUT), and every put goes
    /// through the group commit, whatever the flush mode.
    pub fn start_replicated(
        store: Arc<MessageStore>,
        hooks: StageHooks,
        max_queued_bytes: usize,
        replication: Option<SyncReplication>,
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
            sync_replication: replication.is_some(),
            redispatch: AtomicBool::new(false),
        });
        let ing = ingress.clone();
        let st = store.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("sluice-core".into())
            .spawn(move || {
                timely::execute_directly(move |worker| {
                    run_core(worker, store, ing, hooks, replication, ready_tx)
                })
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

/// Where an appended unit's answer goes.
pub type ReplyFn = Box<dyn FnOnce(AppendReply) + Send>;

fn run_core(
    worker: &mut timely::worker::Worker,
    store: Arc<MessageStore>,
    ingress: Arc<Ingress>,
    hooks: StageHooks,
    replication: Option<SyncReplication>,
    ready: std::sync::mpsc::Sender<()>,
) {
    let pending: Pending = Rc::new(RefCell::new(BTreeMap::new()));
    let acks: Acks = Rc::new(RefCell::new(BTreeMap::new()));
    let probe = ProbeHandle::<u64>::new();
    worker.dataflow::<u64, _, _>(|scope| {
        ingress::ingress(scope, ingress.clone(), pending.clone()) // (A)
            .append(store.clone(), replication, pending.clone(), acks.clone()) // (B)
            .probe_with(&probe) // "durable": acks follow its frontier
            .dispatch(store.clone()) // (C)
            .schedule(hooks.schedule.clone()) // (D)
            .deliver(hooks.delivery.clone()); // (E)
    });
    let _ = ready.send(());

    // Acks: every epoch below the "durable" probe's frontier is answered.
    loop {
        worker.step_or_park(Some(Duration::from_millis(100)));
        acks::release(&acks, probe.with_frontier(|f| f.first().copied()));
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
    use sluice_storage::{system_topics, FlushDiskType, StoreConfig};
    use std::sync::mpsc;
    use std::time::Instant;

    /// Every record a captured stream carried, in arrival order.
    pub(crate) fn captured<D>(
        rx: std::sync::mpsc::Receiver<timely::dataflow::operators::capture::Event<u64, Vec<D>>>,
    ) -> Vec<D> {
        use timely::dataflow::operators::capture::Event;
        rx.try_iter()
            .flat_map(|e| match e {
                Event::Messages(_, d) => d,
                Event::Progress(_) => Vec::new(),
            })
            .collect()
    }

    pub(crate) fn msg(topic: &str, q: u32, body: &str) -> MessageToStore {
        MessageToStore {
            properties: "TAGS\u{1}a\u{2}".into(),
            ..MessageToStore::plain(topic, q, body)
        }
    }

    /// A store in `dir` with 64 KiB CommitLog segments.
    pub(crate) fn open_store(dir: &std::path::Path, flush: FlushDiskType) -> Arc<MessageStore> {
        let mut cfg = StoreConfig {
            store_path_root_dir: dir.to_path_buf(),
            flush_disk_type: flush,
            ..StoreConfig::default()
        };
        cfg.set("mappedFileSizeCommitLog", "65536").unwrap();
        MessageStore::open(cfg).unwrap()
    }

    fn run(flush: FlushDiskType) {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path(), flush);
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
                wait: true,
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
            wait: true,
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
            wait: true,
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
    fn held_back_records_follow_a_redispatch_once_the_bound_moves() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path(), FlushDiskType::AsyncFlush);
        let mut p = CorePipeline::start(
            store.clone(),
            StageHooks {
                schedule: Arc::new(|_: &[QueueAdvance]| {}),
                delivery: Arc::new(|_: &[QueueAdvance]| {}),
            },
            1 << 20,
        )
        .unwrap();
        let sub = p.submitter();
        store.set_dispatch_bound(0);
        assert!(matches!(
            sub.append_here(vec![msg("T", 0, "held")]),
            Ok(AppendReply::Stored(_))
        ));
        let end = store.commitlog().write_pos();
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(store.dispatched_offset(), 0, "dispatched past the bound");
        // Nothing new is appended: only the bound moves, and a redispatch follows it.
        store.set_dispatch_bound(u64::MAX);
        sub.redispatch();
        assert!(store.wait_dispatched(end, Duration::from_secs(5)));
        assert_eq!(store.max_queue_offset("T", 0), 1);
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
