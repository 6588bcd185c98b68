//! Stage (D): messages that wait — delay levels, timers, transactional half messages — and the
//! retry / dead-letter copies of failed messages (protocol.md §5–§6, design.md §2).
//!
//! A waiting message is data with a due time, never a held capability: it is appended like any
//! message (to `SCHEDULE_TOPIC_XXXX`, the timer topic or the half topic, see [`route`]), and the
//! `sluice-schedule` thread keeps, per stream, how far it has delivered:
//!
//! * [`delay`] — one stream per delay level; each level's ConsumeQueue is in due order, its
//!   tags code being the due time, so only each level's head is looked at;
//! * [`timer`] — timers are indexed from the timer topic's ConsumeQueue into a RocksDB column
//!   family keyed by (due ms, CommitLog offset): the due ones are a prefix, so millions of
//!   pending timers cost nothing until they are due;
//! * [`transaction`] — the half queue, op-state in RocksDB, CHECK_TRANSACTION_STATE check-back.
//!
//! Due messages re-enter the pipeline through its ingress ([`Submitter`]); progress is written
//! to RocksDB after they are acknowledged, so `kill -9` loses nothing and re-delivers at most
//! the last unpersisted step. The core dataflow's "schedule" operator wakes this thread when
//! one of the waiting topics advances.

pub mod delay;
pub mod rebuild;
pub mod route;
pub mod timer;
pub mod transaction;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sluice_storage::record::{self, CrcCheck, Record};
use sluice_storage::store::QueueAdvance;
use sluice_storage::{Appended, MessageStore, MessageToStore, StoreError};

use sluice_dataflows::pipeline::{AppendReply, AppendRequest, ScheduleHook, Submitter};
pub use transaction::{CheckBack, CheckRequest, TransactionLog, TxState};

/// Transaction-check settings (BrokerConfig names).
#[derive(Debug, Clone)]
pub struct ScheduleConfig {
    /// `transactionTimeOut` (6 s): a half message is not checked before this age.
    pub transaction_timeout: Duration,
    /// `transactionCheckInterval` (30 s): how often the half queue is scanned.
    pub transaction_check_interval: Duration,
    /// `transactionCheckMax` (15): checks before a half message is discarded.
    pub transaction_check_max: u32,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            transaction_timeout: Duration::from_millis(6000),
            transaction_check_interval: Duration::from_millis(30_000),
            transaction_check_max: 15,
        }
    }
}

/// Wakes the scheduler thread; the pipeline's stage (D) holds one as its hook.
#[derive(Default)]
pub struct Waker {
    woken: Mutex<bool>,
    cv: Condvar,
    stop: AtomicBool,
}

impl Waker {
    pub fn wake(&self) {
        if let Ok(mut w) = self.woken.lock() {
            *w = true;
            self.cv.notify_one();
        }
    }

    /// The hook for [`sluice_dataflows::pipeline::StageHooks::schedule`].
    pub fn hook(self: &Arc<Self>) -> ScheduleHook {
        let me = self.clone();
        Arc::new(move |_adv: &[QueueAdvance]| me.wake())
    }

    fn sleep(&self, timeout: Duration) {
        if let Ok(mut w) = self.woken.lock() {
            if !*w {
                if let Ok((g, _)) = self.cv.wait_timeout(w, timeout) {
                    w = g;
                } else {
                    return;
                }
            }
            *w = false;
        }
    }
}

/// What became of one unit handed back to the pipeline.
#[derive(Debug)]
pub enum Reentered {
    Stored(Vec<Appended>),
    /// Refused for good (too large, bad topic…): logged and passed over.
    Refused(String),
    /// Not stored now (busy, I/O, stopping): try again later.
    Retry,
}

impl From<AppendReply> for Reentered {
    fn from(reply: AppendReply) -> Reentered {
        match reply {
            AppendReply::Stored(a)
            | AppendReply::FlushTimeout(a)
            | AppendReply::SlaveTimeout(a)
            | AppendReply::SlaveNotAvailable(a) => Reentered::Stored(a),
            AppendReply::Refused(e) => Reentered::Refused(e.to_string()),
            AppendReply::Failed(_) => Reentered::Retry,
        }
    }
}

impl Reentered {
    /// Whether the stream can move past this unit.
    pub fn is_settled(&self) -> bool {
        !matches!(self, Reentered::Retry)
    }
}

/// Hands units back to the pipeline and waits for their acks.
#[derive(Clone)]
pub struct Reentry {
    submitter: Submitter,
}

/// How long a re-entered group may wait for its ack before it is retried.
const ACK_TIMEOUT: Duration = Duration::from_secs(30);

impl Reentry {
    pub fn new(submitter: Submitter) -> Reentry {
        Reentry { submitter }
    }

    /// Submits every unit and waits for all answers. Units after a refused submit (busy,
    /// stopping) are not submitted and come back as [`Reentered::Retry`].
    pub fn put_all(&self, units: Vec<Vec<MessageToStore>>) -> Vec<Reentered> {
        let n = units.len();
        let (tx, rx) = mpsc::channel();
        let mut submitted = 0;
        for (i, unit) in units.into_iter().enumerate() {
            let tx = tx.clone();
            let req = AppendRequest {
                unit,
                reply: Box::new(move |r| {
                    let _ = tx.send((i, r));
                }),
                wait: true,
            };
            match self.submitter.put(req) {
                Ok(()) => submitted += 1,
                Err((_, _)) => break,
            }
        }
        drop(tx);
        let mut out: Vec<Reentered> = (0..n).map(|_| Reentered::Retry).collect();
        let deadline = Instant::now() + ACK_TIMEOUT;
        for _ in 0..submitted {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok((i, reply)) = rx.recv_timeout(left) else {
                break;
            };
            out[i] = Reentered::from(reply);
        }
        out
    }

    /// Submits one unit and waits for its answer.
    pub fn put(&self, unit: Vec<MessageToStore>) -> Reentered {
        self.put_all(vec![unit]).pop().unwrap_or(Reentered::Retry)
    }
}

/// Reads and decodes the record at `phys_offset`, handing it to `f`.
pub fn with_record<T>(
    store: &MessageStore,
    phys_offset: u64,
    f: impl FnOnce(&Record<'_>) -> T,
) -> Result<T, StoreError> {
    let slice = store.read_message_at(phys_offset)?;
    let r = record::decode_message(&slice, CrcCheck::Skip).map_err(|reason| StoreError::Corrupted {
        offset: phys_offset,
        file: store.commitlog().dir().to_path_buf(),
        reason,
    })?;
    Ok(f(&r))
}

/// The running `sluice-schedule` thread.
pub struct Scheduler {
    waker: Arc<Waker>,
    thread: Option<JoinHandle<()>>,
    transactions: Arc<TransactionLog>,
}

/// How long the thread sleeps at most between looks (when nothing is due sooner).
const IDLE: Duration = Duration::from_millis(500);
/// Pause after a step that could not be stored.
const RETRY_PAUSE: Duration = Duration::from_millis(100);

impl Scheduler {
    /// Starts the thread. `waker` must be the one whose hook the pipeline got; `transactions`
    /// is shared with the END_TRANSACTION handler.
    pub fn start(
        store: Arc<MessageStore>,
        submitter: Submitter,
        config: ScheduleConfig,
        check_back: CheckBack,
        waker: Arc<Waker>,
        transactions: Arc<TransactionLog>,
    ) -> std::io::Result<Scheduler> {
        let w = waker.clone();
        let log = transactions.clone();
        let thread = std::thread::Builder::new()
            .name("sluice-schedule".into())
            .spawn(move || run(store, Reentry::new(submitter), config, check_back, log, w))?;
        Ok(Scheduler {
            waker,
            thread: Some(thread),
            transactions,
        })
    }

    /// The transaction op-state shared with the END_TRANSACTION handler.
    pub fn transactions(&self) -> &Arc<TransactionLog> {
        &self.transactions
    }

    /// Stops the thread (before the pipeline stops).
    pub fn shutdown(&mut self) {
        self.waker.stop.store(true, Ordering::Release);
        self.waker.wake();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn run(
    store: Arc<MessageStore>,
    reentry: Reentry,
    config: ScheduleConfig,
    check_back: CheckBack,
    log: Arc<TransactionLog>,
    waker: Arc<Waker>,
) {
    let mut delays = delay::DelayLevels::load(&store);
    let mut timers = timer::Timers::load(&store);
    let mut checker = transaction::Checker::load(&store, config.clone());
    let mut next_check = Instant::now() + config.transaction_check_interval.min(Duration::from_secs(1));
    while !waker.stop.load(Ordering::Acquire) {
        let now = sluice_storage::clock::now_millis();
        let mut wait = IDLE;
        let mut consider = |next: Step| match next {
            Step::Idle => {}
            Step::DueAt(t) => {
                wait = wait.min(Duration::from_millis((t - now).clamp(1, i64::MAX) as u64));
            }
            Step::Retry => wait = wait.min(RETRY_PAUSE),
            Step::More => wait = Duration::ZERO,
        };
        consider(delays.run(&store, &reentry, now));
        consider(timers.run(&store, &reentry, now));
        if Instant::now() >= next_check {
            checker.round(&store, &reentry, &log, &check_back, now);
            next_check = Instant::now() + config.transaction_check_interval;
        }
        wait = wait.min(next_check.saturating_duration_since(Instant::now()));
        if !wait.is_zero() {
            waker.sleep(wait);
        }
    }
    delays.persist(&store);
}

/// What a stream wants next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Nothing waiting.
    Idle,
    /// The earliest waiting message is due at this time (ms).
    DueAt(i64),
    /// Something could not be stored; look again shortly.
    Retry,
    /// More is due right now (the step was capped).
    More,
}

impl Step {
    /// The more urgent of two.
    pub fn min(self, other: Step) -> Step {
        use Step::*;
        match (self, other) {
            (More, _) | (_, More) => More,
            (Retry, _) | (_, Retry) => Retry,
            (DueAt(a), DueAt(b)) => DueAt(a.min(b)),
            (DueAt(a), Idle) | (Idle, DueAt(a)) => DueAt(a),
            (Idle, Idle) => Idle,
        }
    }
}
