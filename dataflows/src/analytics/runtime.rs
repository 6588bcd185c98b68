//! The analytics runtime: one timely worker on its own thread (`sluice-analytics`), separate from
//! the core's, so a heavy job never delays an append or an ack.
//!
//! Commands (attach, detach) reach the worker through a channel plus an unpark; the core's
//! delivery hook reaches it through [`AnalyticsWaker::notify`], which costs one atomic swap when
//! the worker is already armed and one unpark otherwise. Every job is its own dataflow, built and
//! dropped while the others keep running. After each step the worker publishes, for each job, the
//! updates of the rounds its probe has passed ([`super::results::Results`]).
//!
//! Built-in jobs are written to `<state_dir>/jobs.json` and attached again at the next start,
//! reading again from their recorded start offsets, so their results after a restart are those
//! of the same messages.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, RwLock};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use serde::Serialize;
use sluice_storage::store::QueueAdvance;
use sluice_storage::MessageStore;
use timely::dataflow::operators::probe::Handle as ProbeHandle;

use super::builtin::{lag_rows, JobKind, JobSpec, StartAt};
use super::results::{JobResults, Results, Row, Table};
use super::source::{topic_queues, topic_source, SourceHandle, StartOffsets};
use super::Analytic;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    #[error("a job named {0} is already attached")]
    Exists(String),
    #[error("no job named {0}")]
    NotFound(String),
    #[error("invalid job: {0}")]
    Invalid(String),
    #[error("the analytics runtime has stopped")]
    Stopped,
    #[error("saving the jobs file: {0}")]
    Io(#[from] std::io::Error),
}

/// How the runtime is set up.
#[derive(Debug, Clone)]
pub struct AnalyticsConfig {
    /// Where `jobs.json` lives (None: built-in jobs are not remembered across restarts).
    pub state_dir: Option<PathBuf>,
    /// The longest the worker parks without a wake-up.
    pub idle_tick: Duration,
    /// Run the worker thread under `SCHED_IDLE` (Linux): it gets the CPU only when appends,
    /// acks, pulls and the network have none to use, and any of them preempts it at once. On a
    /// saturated machine analytics then fall behind and catch up when the load drops.
    pub idle_priority: bool,
    /// The shortest time between two rounds while messages arrive in batches.
    pub busy_round_interval: Duration,
}

/// A round that read more messages than this marks the source busy.
const BUSY_ROUND: usize = 8;

impl Default for AnalyticsConfig {
    fn default() -> Self {
        AnalyticsConfig {
            state_dir: None,
            idle_tick: Duration::from_millis(500),
            idle_priority: true,
            busy_round_interval: Duration::from_millis(2),
        }
    }
}

/// An attached job as listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobInfo {
    pub name: String,
    pub topic: String,
    /// `count`, `top_n`, `lag` or `custom`.
    pub kind: String,
    /// The spec of a built-in job (with resolved start offsets).
    pub spec: Option<JobSpec>,
}

/// A user-defined job: any [`Analytic`] over a topic.
pub struct CustomJob {
    pub name: String,
    pub topic: String,
    pub start: StartAt,
    pub analytic: Box<dyn Analytic>,
}

enum Command {
    Attach(NewJob, mpsc::Sender<Result<JobInfo, AnalyticsError>>),
    Detach(String, mpsc::Sender<Result<(), AnalyticsError>>),
}

enum NewJob {
    Builtin(JobSpec),
    Custom(CustomJob),
}

struct Shared {
    armed: AtomicBool,
    attached: AtomicUsize,
    topics: RwLock<HashSet<String>>,
    stopping: AtomicBool,
    thread: Mutex<Option<Thread>>,
    jobs: RwLock<Vec<JobInfo>>,
}

impl Shared {
    fn unpark(&self) {
        if let Ok(t) = self.thread.lock() {
            if let Some(t) = t.as_ref() {
                t.unpark();
            }
        }
    }
}

/// The second consumer of the core's delivery hook: wakes the analytics worker when a topic with
/// an attached job advanced. Cheap: nothing when no job is attached or a wake-up is pending.
#[derive(Clone)]
pub struct AnalyticsWaker {
    shared: Arc<Shared>,
}

impl AnalyticsWaker {
    pub fn notify(&self, advances: &[QueueAdvance]) {
        let s = &self.shared;
        if s.attached.load(Ordering::Acquire) == 0 || s.armed.load(Ordering::Acquire) {
            return;
        }
        let relevant = match s.topics.read() {
            Ok(t) => advances.iter().any(|a| t.contains(&a.topic)),
            Err(_) => false,
        };
        if relevant && !s.armed.swap(true, Ordering::AcqRel) {
            s.unpark();
        }
    }
}

/// The running analytics runtime.
pub struct AnalyticsRuntime {
    shared: Arc<Shared>,
    commands: mpsc::Sender<Command>,
    results: Results,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl AnalyticsRuntime {
    /// Starts the worker thread over `store` and attaches the jobs remembered in `state_dir`.
    pub fn start(store: Arc<MessageStore>, config: AnalyticsConfig) -> std::io::Result<AnalyticsRuntime> {
        let shared = Arc::new(Shared {
            armed: AtomicBool::new(false),
            attached: AtomicUsize::new(0),
            topics: RwLock::new(HashSet::new()),
            stopping: AtomicBool::new(false),
            thread: Mutex::new(None),
            jobs: RwLock::new(Vec::new()),
        });
        let restored = match &config.state_dir {
            Some(dir) => load_jobs(dir)?,
            None => Vec::new(),
        };
        let (tx, rx) = mpsc::channel();
        let results = Results::default();
        let worker_state = WorkerState {
            store,
            shared: shared.clone(),
            commands: Mutex::new(rx),
            results: results.clone(),
            config,
        };
        let (ready_tx, ready_rx) = mpsc::channel::<()>();
        let ready_tx = Mutex::new(ready_tx);
        let idle_priority = worker_state.config.idle_priority;
        let thread = std::thread::Builder::new()
            .name("sluice-analytics".into())
            .spawn(move || {
                if idle_priority {
                    run_when_idle();
                }
                timely::execute_directly(move |worker| worker_state.run(worker, restored, ready_tx))
            })?;
        // The remembered jobs are attached (and listed) once this returns.
        let _ = ready_rx.recv_timeout(Duration::from_secs(30));
        if let Ok(mut t) = shared.thread.lock() {
            *t = Some(thread.thread().clone());
        }
        Ok(AnalyticsRuntime {
            shared,
            commands: tx,
            results,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// The hook to call with each dispatch's advances (next to the long polls').
    pub fn waker(&self) -> AnalyticsWaker {
        AnalyticsWaker {
            shared: self.shared.clone(),
        }
    }

    /// Every job's published results.
    pub fn results(&self) -> &Results {
        &self.results
    }

    /// The attached jobs.
    pub fn jobs(&self) -> Vec<JobInfo> {
        self.shared.jobs.read().map(|j| j.clone()).unwrap_or_default()
    }

    /// Attaches a built-in job (remembered across restarts when the runtime has a state dir).
    pub fn attach(&self, spec: JobSpec) -> Result<JobInfo, AnalyticsError> {
        spec.validate().map_err(AnalyticsError::Invalid)?;
        self.call(|tx| Command::Attach(NewJob::Builtin(spec), tx))?
    }

    /// Attaches a user-defined job (not remembered across restarts: it is code).
    pub fn attach_custom(&self, job: CustomJob) -> Result<JobInfo, AnalyticsError> {
        self.call(|tx| Command::Attach(NewJob::Custom(job), tx))?
    }

    /// Drops a job's dataflow and its results.
    pub fn detach(&self, name: &str) -> Result<(), AnalyticsError> {
        self.call(|tx| Command::Detach(name.to_owned(), tx))?
    }

    fn call<R>(&self, cmd: impl FnOnce(mpsc::Sender<R>) -> Command) -> Result<R, AnalyticsError> {
        let (tx, rx) = mpsc::channel();
        self.commands.send(cmd(tx)).map_err(|_| AnalyticsError::Stopped)?;
        self.shared.unpark();
        rx.recv_timeout(Duration::from_secs(30))
            .map_err(|_| AnalyticsError::Stopped)
    }

    /// Drops every job and joins the worker thread.
    pub fn shutdown(&self) {
        self.shared.stopping.store(true, Ordering::Release);
        self.shared.unpark();
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(t) = thread {
            let _ = t.join();
        }
    }
}

impl Drop for AnalyticsRuntime {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// One attached job on the worker.
struct Job {
    info: JobInfo,
    dataflow: usize,
    probe: ProbeHandle<u64>,
    source: SourceHandle,
    has_offsets: bool,
    pending: Rc<RefCell<Vec<(Row, u64, isize)>>>,
    table: Table,
    through: BTreeMap<u32, u64>,
    window_ms: Option<u64>,
    published: bool,
}

impl Job {
    /// Applies the updates of every round the probe passed; publishes if anything changed.
    fn publish(&mut self, results: &Results) {
        let frontier = self.probe.with_frontier(|f| f.first().copied());
        let done = |t: u64| frontier.is_none_or(|f| t < f);
        let mut changed = !self.published;
        {
            let mut pending = self.pending.borrow_mut();
            if pending.iter().any(|(_, t, _)| done(*t)) {
                let (ready, rest): (Vec<_>, Vec<_>) = pending.drain(..).partition(|(_, t, _)| done(*t));
                *pending = rest;
                self.table.apply(ready.into_iter().map(|(r, _, d)| (r, d)));
                changed = true;
            }
        }
        if self.has_offsets {
            let mut prog = self.source.progress.borrow_mut();
            let mut last = None;
            while let Some((&round, _)) = prog.rounds.first_key_value() {
                if !done(round) {
                    break;
                }
                last = prog.rounds.pop_first().map(|(_, c)| c);
            }
            let through = if prog.rounds.is_empty() {
                Some(prog.cursors.clone())
            } else {
                last
            };
            if let Some(t) = through {
                if t != self.through {
                    self.through = t;
                    changed = true;
                }
            }
        }
        if changed {
            self.published = true;
            results.publish(JobResults {
                name: self.info.name.clone(),
                rows: self.table.snapshot(),
                through: self.through.clone(),
                rounds: frontier.unwrap_or(u64::MAX),
                window_ms: self.window_ms,
                updated_ms: sluice_storage::clock::now_millis(),
            });
        }
    }
}

struct WorkerState {
    store: Arc<MessageStore>,
    shared: Arc<Shared>,
    commands: Mutex<mpsc::Receiver<Command>>,
    results: Results,
    config: AnalyticsConfig,
}

impl WorkerState {
    fn run(
        self,
        worker: &mut timely::worker::Worker,
        restored: Vec<JobSpec>,
        ready: Mutex<mpsc::Sender<()>>,
    ) {
        let mut jobs: BTreeMap<String, Job> = BTreeMap::new();
        let mut last_wake = Instant::now();
        let mut deferred_until: Option<Instant> = None;
        for spec in restored {
            let name = spec.name.clone();
            if let Err(e) = self.attach(worker, &mut jobs, NewJob::Builtin(spec)) {
                tracing::warn!(job = name, error = %e, "re-attaching an analytics job");
            }
        }
        tracing::info!(jobs = jobs.len(), "analytics runtime started");
        if let Ok(r) = ready.lock() {
            let _ = r.send(());
        }
        loop {
            // A deferred wake-up parks only until it is due.
            let park = match deferred_until {
                Some(t) => t
                    .saturating_duration_since(Instant::now())
                    .min(self.config.idle_tick),
                None => self.config.idle_tick,
            };
            worker.step_or_park(Some(park));
            if self.shared.stopping.load(Ordering::Acquire) {
                break;
            }
            loop {
                let cmd = match self.commands.lock() {
                    Ok(rx) => rx.try_recv(),
                    Err(_) => break,
                };
                match cmd {
                    Ok(Command::Attach(job, reply)) => {
                        let _ = reply.send(self.attach(worker, &mut jobs, job));
                    }
                    Ok(Command::Detach(name, reply)) => {
                        let _ = reply.send(self.detach(worker, &mut jobs, &name));
                    }
                    Err(_) => break,
                }
            }
            // Under load, rounds are coalesced: when the last round of a job read a batch, the next
            // starts at least `busy_round_interval` after it (fewer, larger rounds cost less per
            // message). A lone message is read at once.
            let busy = jobs
                .values()
                .any(|j| j.source.progress.borrow().last_read > BUSY_ROUND);
            let now = Instant::now();
            let due = !busy || now >= last_wake + self.config.busy_round_interval;
            if due && self.shared.armed.swap(false, Ordering::AcqRel) {
                deferred_until = None;
                last_wake = now;
                for job in jobs.values() {
                    job.source.wake();
                }
            } else if !due && self.shared.armed.load(Ordering::Acquire) {
                deferred_until = Some(last_wake + self.config.busy_round_interval);
            }
            for job in jobs.values_mut() {
                job.publish(&self.results);
            }
        }
        for (_, job) in std::mem::take(&mut jobs) {
            worker.drop_dataflow(job.dataflow);
        }
        tracing::info!("analytics runtime stopped");
    }

    fn attach(
        &self,
        worker: &mut timely::worker::Worker,
        jobs: &mut BTreeMap<String, Job>,
        job: NewJob,
    ) -> Result<JobInfo, AnalyticsError> {
        let (name, topic) = match &job {
            NewJob::Builtin(s) => (s.name.clone(), s.topic.clone()),
            NewJob::Custom(c) => (c.name.clone(), c.topic.clone()),
        };
        if jobs.contains_key(&name) {
            return Err(AnalyticsError::Exists(name));
        }
        let source = SourceHandle::new();
        let pending: Rc<RefCell<Vec<(Row, u64, isize)>>> = Rc::new(RefCell::new(Vec::new()));
        let probe = ProbeHandle::<u64>::new();
        let dataflow = worker.next_dataflow_index();
        let store = self.store.clone();
        let (info, has_offsets, window_ms) = match job {
            NewJob::Builtin(mut spec) => {
                if spec.start == StartAt::Now && spec.start_offsets.is_empty() {
                    spec.start_offsets = now_offsets(&store, &spec.topic);
                }
                let kind = match &spec.kind {
                    JobKind::Count { .. } => "count",
                    JobKind::TopN { .. } => "top_n",
                    JobKind::Lag { .. } => "lag",
                };
                let window_ms = spec.window_ms();
                let (pend, pr, src) = (pending.clone(), probe.clone(), source.clone());
                let has_offsets = match (&spec.kind, spec.analytic()) {
                    (
                        JobKind::Lag {
                            group,
                            window_ms,
                            keep,
                        },
                        _,
                    ) => {
                        let (g, w, k, t) = (group.clone(), *window_ms, *keep, spec.topic.clone());
                        worker.dataflow_named::<u64, _, _>(&name, move |scope| {
                            lag_rows(scope, store, t, g, w, k, &src)
                                .inspect_batch(move |_, upds| pend.borrow_mut().extend_from_slice(upds))
                                .probe_with(&pr);
                        });
                        false
                    }
                    (_, Some(analytic)) => {
                        let start = StartOffsets {
                            queues: spec.start_offsets.clone(),
                        };
                        build_message_job(
                            worker,
                            &name,
                            store,
                            spec.topic.clone(),
                            start,
                            analytic,
                            &src,
                            pend,
                            pr,
                        );
                        true
                    }
                    (_, None) => return Err(AnalyticsError::Invalid("no analytic for this kind".into())),
                };
                let info = JobInfo {
                    name: name.clone(),
                    topic: topic.clone(),
                    kind: kind.into(),
                    spec: Some(spec),
                };
                (info, has_offsets, window_ms)
            }
            NewJob::Custom(c) => {
                let start = StartOffsets {
                    queues: match c.start {
                        StartAt::Now => now_offsets(&store, &c.topic),
                        StartAt::Earliest => BTreeMap::new(),
                    },
                };
                build_message_job(
                    worker,
                    &name,
                    store,
                    c.topic.clone(),
                    start,
                    c.analytic,
                    &source,
                    pending.clone(),
                    probe.clone(),
                );
                let info = JobInfo {
                    name: name.clone(),
                    topic: topic.clone(),
                    kind: "custom".into(),
                    spec: None,
                };
                (info, true, None)
            }
        };
        jobs.insert(
            name.clone(),
            Job {
                info: info.clone(),
                dataflow,
                probe,
                source,
                has_offsets,
                pending,
                table: Table::default(),
                through: BTreeMap::new(),
                window_ms,
                published: false,
            },
        );
        self.jobs_changed(jobs)?;
        tracing::info!(job = name, topic, "analytics job attached");
        Ok(info)
    }

    fn detach(
        &self,
        worker: &mut timely::worker::Worker,
        jobs: &mut BTreeMap<String, Job>,
        name: &str,
    ) -> Result<(), AnalyticsError> {
        let job = jobs
            .remove(name)
            .ok_or_else(|| AnalyticsError::NotFound(name.to_owned()))?;
        worker.drop_dataflow(job.dataflow);
        self.results.remove(name);
        self.jobs_changed(jobs)?;
        tracing::info!(job = name, "analytics job detached");
        Ok(())
    }

    /// Mirrors the job list for readers and the waker, and saves the built-in specs.
    fn jobs_changed(&self, jobs: &BTreeMap<String, Job>) -> Result<(), AnalyticsError> {
        let infos: Vec<JobInfo> = jobs.values().map(|j| j.info.clone()).collect();
        if let Ok(mut t) = self.shared.topics.write() {
            *t = infos.iter().map(|i| i.topic.clone()).collect();
        }
        self.shared.attached.store(infos.len(), Ordering::Release);
        if let Some(dir) = &self.config.state_dir {
            let specs: Vec<&JobSpec> = infos.iter().filter_map(|i| i.spec.as_ref()).collect();
            save_jobs(dir, &specs)?;
        }
        if let Ok(mut j) = self.shared.jobs.write() {
            *j = infos;
        }
        Ok(())
    }
}

#[allow(clippy::too_many_arguments)]
fn build_message_job(
    worker: &mut timely::worker::Worker,
    name: &str,
    store: Arc<MessageStore>,
    topic: String,
    start: StartOffsets,
    analytic: Box<dyn Analytic>,
    source: &SourceHandle,
    pending: Rc<RefCell<Vec<(Row, u64, isize)>>>,
    probe: ProbeHandle<u64>,
) {
    let with_body = analytic.needs_body();
    worker.dataflow_named::<u64, _, _>(name, move |scope| {
        let messages = topic_source(scope, store, topic, start, with_body, source);
        analytic
            .build(messages)
            .inspect_batch(move |_, upds| pending.borrow_mut().extend_from_slice(upds))
            .probe_with(&probe);
    });
}

/// Each queue's max offset: where a `now` job starts.
fn now_offsets(store: &MessageStore, topic: &str) -> BTreeMap<u32, u64> {
    topic_queues(store, topic)
        .into_iter()
        .map(|q| (q, store.max_queue_offset(topic, q)))
        .collect()
}

/// Puts the calling thread under `SCHED_IDLE` (Linux); a failure is only logged.
fn run_when_idle() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: `param` is a valid sched_param for the duration of the call; pid 0 is the
        // calling thread.
        let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
        if rc != 0 {
            tracing::warn!(error = %std::io::Error::last_os_error(), "SCHED_IDLE for the analytics thread");
        }
    }
}

const JOBS_FILE: &str = "jobs.json";

fn load_jobs(dir: &std::path::Path) -> std::io::Result<Vec<JobSpec>> {
    match std::fs::read(dir.join(JOBS_FILE)) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {e}", dir.join(JOBS_FILE).display()),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Writes the specs atomically (temporary file, fsync, rename).
fn save_jobs(dir: &std::path::Path, specs: &[&JobSpec]) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!("{JOBS_FILE}.tmp"));
    let json = serde_json::to_vec_pretty(specs).map_err(std::io::Error::other)?;
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&json)?;
    f.sync_all()?;
    std::fs::rename(&tmp, dir.join(JOBS_FILE))
}
