//! The scheduling benchmark, against the real `sluice standalone` over its broker port:
//!
//! 1. **lateness** — delay-level (levels 1–3) and timer (`TIMER_DELIVER_MS`, 1–10 s ahead)
//!    messages sent at ~50 msg/s each while a paced background load of 1 KiB messages runs at
//!    `--load-rate`; once everything is due (+ `--settle-secs`) the target topics are pulled from
//!    offset 0 and each delivered record's lateness is its STORETIMESTAMP minus the due time the
//!    message carries in the `BENCH_DUE` property (send time + delay). Reference, same run: the
//!    store latency (STORETIMESTAMP − BORNTIMESTAMP) of the background messages.
//! 2. **timers** — `--timers` timers sent in SEND_BATCH_MESSAGE batches as fast as the broker
//!    takes them, due uniformly at random in a `--timer-window-secs` window that opens
//!    `--timer-lead-secs` after the first send; the broker's RSS before (the reference: idle),
//!    after all are pending and at the end, the RocksDB size, then lateness of every delivery.
//! 3. **tx** — `--tx-conns` connections doing synchronous sends of 1 KiB messages for
//!    `--tx-seconds`: plain, then transactional (half message + END_TRANSACTION commit each);
//!    the ratio, and GET_MAX_OFFSET of the real topic against the number committed.
//!
//! Each phase runs its own broker on a fresh data directory; its log goes to
//! `bench/out/schedule-<unix>-<phase>.log`, the report to `bench/out/schedule-<unix>.json`.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::report;
use anyhow::{bail, Context, Result};
use bytes::Bytes;
use clap::Parser;
use serde::Serialize;
use sluice_remoting::codes::response;
use sluice_storage::properties;
use sluice_storage::record::{CrcCheck, Record};
use tokio::sync::Semaphore;

use crate::broker::{self, BrokerProcess, BrokerSpec, Memory};
use crate::latency::Latencies;
use crate::machine;
use crate::wire::{decode_records, Client, Outgoing, SendOk, SendOutcome};

#[derive(Parser, Debug, Clone)]
pub struct Args {
    /// The sluice binary. Default: $CARGO_TARGET_DIR/release/sluice, else
    /// ~/.cache/sluice/target/release/sluice.
    #[arg(long)]
    sluice_bin: Option<PathBuf>,
    /// A broker.conf passed to `sluice standalone -c`.
    #[arg(long)]
    broker_conf: Option<PathBuf>,
    /// NameServer port of the broker under test.
    #[arg(long, default_value_t = 19896)]
    namesrv_port: u16,
    /// Broker port (the broker also takes this − 2).
    #[arg(long, default_value_t = 20931)]
    broker_port: u16,
    /// Parent of the per-phase data directories (default: the system temp dir).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Keep the brokers' data directories.
    #[arg(long)]
    keep_data: bool,
    /// Phases to run: lateness, timers, tx.
    #[arg(long, value_delimiter = ',', default_values = ["lateness", "timers", "tx"])]
    phases: Vec<String>,
    /// Small everything (about a minute): --duration 5 --timers 50000 --timer-window-secs 10
    /// --timer-lead-secs 15 --tx-seconds 3, unless given explicitly.
    #[arg(long)]
    quick: bool,
    /// [lateness] Seconds of background load and scheduled sends (default 30).
    #[arg(long)]
    duration: Option<f64>,
    /// [lateness] Background messages per second (default 10000).
    #[arg(long)]
    load_rate: Option<f64>,
    /// [lateness] Background connections.
    #[arg(long, default_value_t = 4)]
    load_conns: usize,
    /// [lateness] Requests in flight per background connection at most.
    #[arg(long, default_value_t = 64)]
    load_inflight: usize,
    /// [lateness] Background body size in bytes.
    #[arg(long, default_value_t = 1024)]
    load_size: usize,
    /// [lateness] Delay-level messages per second (levels 1, 2, 3 in turn).
    #[arg(long, default_value_t = 50.0)]
    delay_rate: f64,
    /// [lateness] Timer messages per second (TIMER_DELIVER_MS = now + 1..10 s).
    #[arg(long, default_value_t = 50.0)]
    timer_rate: f64,
    /// [timers] Pending timers (default 1000000).
    #[arg(long)]
    timers: Option<u64>,
    /// [timers] Messages per SEND_BATCH_MESSAGE.
    #[arg(long, default_value_t = 100)]
    timer_batch: usize,
    /// [timers] Body size in bytes.
    #[arg(long, default_value_t = 128)]
    timer_size: usize,
    /// [timers] Width of the due-time window (default 30 s).
    #[arg(long)]
    timer_window_secs: Option<f64>,
    /// [timers] The window opens this long after the first send (default 60 s).
    #[arg(long)]
    timer_lead_secs: Option<f64>,
    /// [timers] Connections sending batches.
    #[arg(long, default_value_t = 4)]
    timer_conns: usize,
    /// [timers] Batches in flight per connection.
    #[arg(long, default_value_t = 4)]
    timer_inflight: usize,
    /// [tx] Seconds of each of plain and transactional sends (default 10).
    #[arg(long)]
    tx_seconds: Option<f64>,
    /// [tx] Concurrent connections, one synchronous sender each.
    #[arg(long, default_value_t = 16)]
    tx_conns: usize,
    /// [tx] Body size in bytes.
    #[arg(long, default_value_t = 1024)]
    tx_size: usize,
    /// [tx] Send END_TRANSACTION oneway (as Java does) instead of waiting for its reply.
    #[arg(long)]
    tx_oneway: bool,
    /// Wait this long after the last due time before pulling.
    #[arg(long, default_value_t = 3.0)]
    settle_secs: f64,
    /// If messages are missing after the first pull, keep pulling for up to this long.
    #[arg(long, default_value_t = 15.0)]
    grace_secs: f64,
    /// Where the JSON report goes. Default: bench/out/schedule-<unix time>.json.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// The effective parameters (defaults or --quick resolved).
#[derive(Debug, Clone, Serialize)]
struct Params {
    phases: Vec<String>,
    quick: bool,
    duration_secs: f64,
    load_rate: f64,
    load_conns: usize,
    load_inflight: usize,
    load_size: usize,
    delay_rate: f64,
    delay_levels: Vec<i32>,
    timer_rate: f64,
    timer_min_ms: i64,
    timer_max_ms: i64,
    timers: u64,
    timer_batch: usize,
    timer_size: usize,
    timer_window_secs: f64,
    timer_lead_secs: f64,
    timer_conns: usize,
    timer_inflight: usize,
    tx_seconds: f64,
    tx_conns: usize,
    tx_size: usize,
    tx_end_oneway: bool,
    settle_secs: f64,
    grace_secs: f64,
    sluice_bin: PathBuf,
    broker_conf: Option<PathBuf>,
    namesrv_port: u16,
    broker_port: u16,
    client_runtime_threads: usize,
}

impl Params {
    fn from_args(a: &Args) -> Params {
        let q = a.quick;
        let pick = |v: Option<f64>, normal: f64, quick: f64| v.unwrap_or(if q { quick } else { normal });
        Params {
            phases: a.phases.iter().map(|p| p.trim().to_ascii_lowercase()).collect(),
            quick: q,
            duration_secs: pick(a.duration, 30.0, 5.0),
            load_rate: pick(a.load_rate, 10_000.0, 10_000.0),
            load_conns: a.load_conns.max(1),
            load_inflight: a.load_inflight.max(1),
            load_size: a.load_size,
            delay_rate: a.delay_rate,
            delay_levels: vec![1, 2, 3],
            timer_rate: a.timer_rate,
            timer_min_ms: 1_000,
            timer_max_ms: 10_000,
            timers: a.timers.unwrap_or(if q { 50_000 } else { 1_000_000 }),
            timer_batch: a.timer_batch.max(1),
            timer_size: a.timer_size,
            timer_window_secs: pick(a.timer_window_secs, 30.0, 10.0),
            timer_lead_secs: pick(a.timer_lead_secs, 60.0, 15.0),
            timer_conns: a.timer_conns.max(1),
            timer_inflight: a.timer_inflight.max(1),
            tx_seconds: pick(a.tx_seconds, 10.0, 3.0),
            tx_conns: a.tx_conns.max(1),
            tx_size: a.tx_size,
            tx_end_oneway: a.tx_oneway,
            settle_secs: a.settle_secs,
            grace_secs: a.grace_secs,
            sluice_bin: a.sluice_bin.clone().unwrap_or_else(broker::default_binary),
            broker_conf: a.broker_conf.clone(),
            namesrv_port: a.namesrv_port,
            broker_port: a.broker_port,
            client_runtime_threads: 2,
        }
    }

    fn runs(&self, phase: &str) -> bool {
        self.phases.iter().any(|p| p == phase)
    }
}

/// Delay of the default `messageDelayLevel` table's first levels (protocol.md §5.1).
fn level_delay_ms(level: i32) -> i64 {
    match level {
        1 => 1_000,
        2 => 5_000,
        3 => 10_000,
        4 => 30_000,
        _ => 60_000,
    }
}

const GROUP: &str = "sluice-bench";
const PRODUCER_GROUP: &str = "sluice-bench-producer";
const TX_GROUP: &str = "sluice-bench-tx";
const LOAD_TOPIC: &str = "BenchSchedLoad";
const DELAY_TOPIC: &str = "BenchSchedDelay";
const TIMER_TOPIC: &str = "BenchSchedTimer";
const MANY_TIMERS_TOPIC: &str = "BenchSchedTimers";
const PLAIN_TOPIC: &str = "BenchTxPlain";
const TX_TOPIC: &str = "BenchTxCommitted";
/// The property carrying the intended due time (ms) of a scheduled message.
const DUE_PROP: &str = "BENCH_DUE";
/// The property carrying a scheduled message's number within its stream.
const ID_PROP: &str = "BENCH_ID";
const LOAD_QUEUES: i32 = 8;
const SCHED_QUEUES: i32 = 4;
/// A delivered record earlier than its due time by more than this is "early" (both times are
/// whole milliseconds, so −1 can be truncation).
const EARLY_TOLERANCE_MS: i64 = 1;

fn now_ms() -> i64 {
    sluice_storage::clock::now_millis()
}

/// SplitMix64: a deterministic, dependency-free source of spread-out numbers.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

static UNIQ: AtomicU64 = AtomicU64::new(0);

/// A 32-hex-digit UNIQ_KEY shaped like a client's (protocol.md §3.7).
fn uniq_key() -> String {
    let n = UNIQ.fetch_add(1, Ordering::Relaxed);
    format!(
        "7F000001{:04X}{:08X}{:012X}",
        std::process::id() as u16,
        (now_ms() as u64 & 0xFFFF_FFFF) as u32 ^ 0x5A5A_5A5A,
        n & 0xFFFF_FFFF_FFFF
    )
}

fn body_of(size: usize) -> Bytes {
    Bytes::from((0..size).map(|i| b'a' + (i % 26) as u8).collect::<Vec<u8>>())
}

// ---------------------------------------------------------------------------------------------
// Statistics

/// A distribution summary in milliseconds (percentiles as `latency.rs` defines them).
#[derive(Debug, Clone, Serialize)]
struct Dist {
    n: usize,
    min: f64,
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
    mean: f64,
}

impl Dist {
    /// `None` without samples.
    fn of(l: &Latencies) -> Option<Dist> {
        let ms = |us: i64| us as f64 / 1000.0;
        (!l.is_empty()).then(|| Dist {
            n: l.len() as usize,
            min: ms(l.min_us()),
            p50: ms(l.quantile_us(0.50)),
            p90: ms(l.quantile_us(0.90)),
            p99: ms(l.quantile_us(0.99)),
            max: ms(l.max_us()),
            mean: l.mean_us() / 1000.0,
        })
    }
}

/// Outcomes of a stream of sends.
#[derive(Default)]
struct SendStats {
    issued: AtomicU64,
    acked: AtomicU64,
    errors: AtomicU64,
    refused: Mutex<BTreeMap<i32, u64>>,
    first_problem: Mutex<Option<String>>,
    rtt: Mutex<Latencies>,
}

#[derive(Debug, Clone, Serialize)]
struct SendSummary {
    issued: u64,
    acked: u64,
    /// Response code name → count of sends the broker answered with something other than
    /// "stored".
    refused: BTreeMap<String, u64>,
    /// Requests that got no response (timeout, connection closed).
    errors: u64,
    first_problem: Option<String>,
    send_rtt_ms: Option<Dist>,
}

impl SendStats {
    /// Records one send; the stored result if it was stored.
    fn record(&self, res: Result<SendOutcome>, rtt: Duration) -> Option<SendOk> {
        match res {
            Ok(SendOutcome::Stored(ok)) => {
                self.acked.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut l) = self.rtt.lock() {
                    l.record(rtt);
                }
                Some(ok)
            }
            Ok(SendOutcome::Refused { code, remark }) => {
                if let Ok(mut m) = self.refused.lock() {
                    *m.entry(code).or_default() += 1;
                }
                self.problem(format!("refused: code {code} ({}) {remark}", code_name(code)));
                None
            }
            Err(e) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                self.problem(format!("{e:#}"));
                None
            }
        }
    }

    fn problem(&self, what: String) {
        if let Ok(mut p) = self.first_problem.lock() {
            if p.is_none() {
                *p = Some(what);
            }
        }
    }

    fn summary(&self) -> SendSummary {
        SendSummary {
            issued: self.issued.load(Ordering::Relaxed),
            acked: self.acked.load(Ordering::Relaxed),
            refused: self
                .refused
                .lock()
                .map(|m| m.iter().map(|(c, n)| (code_name(*c), *n)).collect())
                .unwrap_or_default(),
            errors: self.errors.load(Ordering::Relaxed),
            first_problem: self.first_problem.lock().ok().and_then(|p| p.clone()),
            send_rtt_ms: self.rtt.lock().ok().and_then(|l| Dist::of(&l)),
        }
    }
}

fn code_name(code: i32) -> String {
    response::name(code)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("code {code}"))
}

/// Issues `make(i)` for i = 0, 1, … at `rate` per second for `duration`, at most `inflight`
/// outstanding; returns how many were issued once all have completed. Falls behind (and then
/// catches up) only when `inflight` requests are outstanding.
async fn paced<F, Fut>(rate: f64, duration: Duration, inflight: usize, mut make: F) -> u64
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let sem = Arc::new(Semaphore::new(inflight));
    let start = tokio::time::Instant::now();
    let mut issued = 0u64;
    if rate > 0.0 {
        while start.elapsed() < duration {
            let due = (start.elapsed().as_secs_f64() * rate) as u64 + 1;
            while issued < due && start.elapsed() < duration {
                let Ok(permit) = sem.clone().acquire_owned().await else {
                    break;
                };
                let fut = make(issued);
                tokio::spawn(async move {
                    fut.await;
                    drop(permit);
                });
                issued += 1;
            }
            tokio::time::sleep_until(start + Duration::from_secs_f64(issued as f64 / rate)).await;
        }
    }
    let _ = sem.acquire_many(inflight as u32).await;
    issued
}

// ---------------------------------------------------------------------------------------------
// Pulling and decoding

/// Pulls every queue of `topic` from `offsets` (advanced in place) until caught up.
async fn pull_topic(
    client: &Client,
    topic: &str,
    offsets: &mut [i64],
    visit: &mut impl FnMut(&Record<'_>),
) -> Result<u64> {
    let mut n = 0;
    for (q, off) in offsets.iter_mut().enumerate() {
        loop {
            let r = client.pull(GROUP, topic, q as i32, *off, 1024).await?;
            match r.code {
                response::SUCCESS => {
                    n += decode_records(&r.body, CrcCheck::Verify, visit)?;
                    if r.next_begin_offset <= *off {
                        bail!(
                            "pull {topic}/{q} at {off} returned SUCCESS without advancing (next {})",
                            r.next_begin_offset
                        );
                    }
                    *off = r.next_begin_offset;
                    if *off >= r.max_offset {
                        break;
                    }
                }
                response::PULL_NOT_FOUND => break,
                response::PULL_RETRY_IMMEDIATELY if r.next_begin_offset > *off => {
                    *off = r.next_begin_offset;
                }
                code => bail!(
                    "pull {topic}/{q} at offset {off}: {} ({}), nextBeginOffset {}, maxOffset {}",
                    code_name(code),
                    r.remark,
                    r.next_begin_offset,
                    r.max_offset
                ),
            }
        }
    }
    Ok(n)
}

/// What was delivered of a stream of scheduled messages.
#[derive(Debug, Clone, Serialize)]
struct Lateness {
    /// Messages the broker acknowledged.
    sent: u64,
    /// Distinct acknowledged messages found in the target topic.
    delivered: u64,
    missing: u64,
    /// A few missing ids with their due times.
    missing_sample: Vec<(u64, i64)>,
    duplicates: u64,
    /// Records in the topic that no acknowledged send explains.
    unexpected: u64,
    /// Lateness below −1 ms.
    early: u64,
    /// STORETIMESTAMP of the delivered record − intended due time, ms.
    lateness_ms: Option<Dist>,
    /// Whole pull passes it took (more than one = some arrived after the settle time).
    pull_passes: u32,
}

/// Tracks a stream of scheduled messages by id: due time, and whether it was seen.
struct Tracker {
    /// Due time of acknowledged id i, or i64::MIN if id i was never acknowledged.
    due: Vec<i64>,
    /// Group of id i (delay level, or 0) for the per-group breakdown.
    group: Vec<i32>,
    seen: Vec<bool>,
    /// Group → what of it was delivered.
    delivered: BTreeMap<i32, Delivered>,
    duplicates: u64,
    unexpected: u64,
}

/// The deliveries of one group.
#[derive(Default)]
struct Delivered {
    /// Lateness, µs.
    lateness: Latencies,
    /// Lateness below −`EARLY_TOLERANCE_MS`.
    early: u64,
}

impl Tracker {
    fn new(acked: &[(u64, i64, i32)]) -> Tracker {
        let n = acked.iter().map(|a| a.0 + 1).max().unwrap_or(0) as usize;
        let mut due = vec![i64::MIN; n];
        let mut group = vec![0; n];
        for &(id, d, g) in acked {
            due[id as usize] = d;
            group[id as usize] = g;
        }
        Tracker {
            due,
            group,
            seen: vec![false; n],
            delivered: BTreeMap::new(),
            duplicates: 0,
            unexpected: 0,
        }
    }

    fn visit(&mut self, r: &Record<'_>) {
        let id = r.property(ID_PROP).and_then(|v| v.parse::<usize>().ok());
        let Some(id) = id.filter(|&i| i < self.due.len() && self.due[i] != i64::MIN) else {
            self.unexpected += 1;
            return;
        };
        if std::mem::replace(&mut self.seen[id], true) {
            self.duplicates += 1;
            return;
        }
        let late = r.store_timestamp - self.due[id];
        let d = self.delivered.entry(self.group[id]).or_default();
        if late < -EARLY_TOLERANCE_MS {
            d.early += 1;
        }
        d.lateness.record_us(late.saturating_mul(1000));
    }

    fn missing(&self) -> Vec<(u64, i64)> {
        self.due
            .iter()
            .zip(&self.seen)
            .enumerate()
            .filter(|(_, (&d, &s))| d != i64::MIN && !s)
            .map(|(i, (&d, _))| (i as u64, d))
            .collect()
    }

    fn result(&self, sent: u64, passes: u32, group: Option<i32>) -> Lateness {
        let mut late = Delivered::default();
        for (_, d) in self
            .delivered
            .iter()
            .filter(|(g, _)| group.is_none_or(|want| **g == want))
        {
            late.lateness.add(&d.lateness);
            late.early += d.early;
        }
        let missing: Vec<(u64, i64)> = self
            .missing()
            .into_iter()
            .filter(|(i, _)| group.is_none_or(|want| self.group[*i as usize] == want))
            .collect();
        let sent = match group {
            None => sent,
            Some(want) => self
                .due
                .iter()
                .zip(&self.group)
                .filter(|(d, g)| **d != i64::MIN && **g == want)
                .count() as u64,
        };
        Lateness {
            sent,
            delivered: late.lateness.len(),
            missing: missing.len() as u64,
            missing_sample: missing.iter().take(10).copied().collect(),
            duplicates: if group.is_none() { self.duplicates } else { 0 },
            unexpected: if group.is_none() { self.unexpected } else { 0 },
            early: late.early,
            lateness_ms: Dist::of(&late.lateness),
            pull_passes: passes,
        }
    }
}

/// Pulls `topic` until every tracked message was seen or `grace` ran out.
async fn collect(
    client: &Client,
    topic: &str,
    queues: i32,
    tracker: &mut Tracker,
    grace: Duration,
) -> Result<u32> {
    let mut offsets = vec![0i64; queues as usize];
    let deadline = Instant::now() + grace;
    let mut passes = 0;
    loop {
        passes += 1;
        pull_topic(client, topic, &mut offsets, &mut |r| tracker.visit(r)).await?;
        let missing = tracker.missing().len();
        if missing == 0 || Instant::now() >= deadline {
            return Ok(passes);
        }
        eprintln!("  {topic}: {missing} not delivered yet; pulling again in 1 s");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Broker handling

struct Ctx {
    params: Params,
    base_dir: PathBuf,
    keep_data: bool,
    log_prefix: String,
}

impl Ctx {
    fn start(&self, phase: &str) -> Result<BrokerProcess> {
        let data_dir = self.base_dir.join(phase);
        if data_dir.exists() {
            std::fs::remove_dir_all(&data_dir).with_context(|| format!("clearing {}", data_dir.display()))?;
        }
        let log = PathBuf::from(format!("{}-{phase}.log", self.log_prefix));
        let spec = BrokerSpec {
            binary: &self.params.sluice_bin,
            data_dir: &data_dir,
            namesrv_port: self.params.namesrv_port,
            broker_port: self.params.broker_port,
            config: self.params.broker_conf.as_deref(),
            log: &log,
        };
        let b = tokio::task::block_in_place(|| BrokerProcess::start(&spec, Duration::from_secs(60)))?;
        eprintln!(
            "[{phase}] broker pid {} on {}, data {}, log {}",
            b.pid,
            b.addr,
            data_dir.display(),
            log.display()
        );
        Ok(b)
    }

    fn finish(&self, phase: &str, broker: BrokerProcess) -> BrokerEnd {
        let problems = broker.log_problems(20);
        let data_dir = broker.data_dir.clone();
        let log = broker.log.clone();
        let stop = tokio::task::block_in_place(|| broker.stop(Duration::from_secs(20)))
            .unwrap_or_else(|e| format!("stopping failed: {e:#}"));
        eprintln!("[{phase}] broker {stop}");
        if !self.keep_data {
            let _ = std::fs::remove_dir_all(&data_dir);
        }
        BrokerEnd {
            log: log.display().to_string(),
            stop,
            log_warnings: problems,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
struct BrokerEnd {
    log: String,
    stop: String,
    /// The first WARN/ERROR lines of the broker's log.
    log_warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
struct MemPoint {
    at: &'static str,
    seconds: f64,
    memory: Memory,
    /// Apparent size of the files under store/rocksdb.
    rocksdb_bytes: u64,
    /// Disk blocks allocated under the data directory.
    data_dir_allocated_bytes: u64,
}

fn mem_point(broker: &BrokerProcess, at: &'static str, since: Instant) -> MemPoint {
    let store = broker.data_dir.join("store");
    MemPoint {
        at,
        seconds: since.elapsed().as_secs_f64(),
        memory: broker.memory(),
        rocksdb_bytes: broker::dir_bytes(&store.join("rocksdb")),
        data_dir_allocated_bytes: broker::dir_allocated_bytes(&broker.data_dir),
    }
}

/// Sleeps until wall-clock `until_ms`, printing progress every 5 s and checking the broker.
async fn wait_until_ms(phase: &str, what: &str, until_ms: i64, broker: &mut BrokerProcess) -> Result<()> {
    let mut last = Instant::now();
    loop {
        let left = until_ms - now_ms();
        if left <= 0 {
            return Ok(());
        }
        broker.check_alive()?;
        if last.elapsed() >= Duration::from_secs(5) {
            eprintln!(
                "[{phase}] waiting {:.1} s more {what}; broker RSS {:.0} MiB",
                left as f64 / 1000.0,
                Memory::mib(broker.memory().vm_rss)
            );
            last = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(left.min(500) as u64)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Phase 1: lateness under load

#[derive(Debug, Clone, Serialize)]
struct LoadResult {
    target_rate: f64,
    connections: usize,
    body_bytes: usize,
    seconds: f64,
    sends: SendSummary,
    /// Acknowledged messages per second over the phase.
    achieved_rate: f64,
    /// Records found in the load topic.
    pulled: u64,
    /// STORETIMESTAMP − BORNTIMESTAMP of the background messages, ms (the reference).
    store_latency_ms: Option<Dist>,
}

#[derive(Debug, Clone, Serialize)]
struct LatenessPhase {
    load: LoadResult,
    delay_sends: SendSummary,
    timer_sends: SendSummary,
    delay: Lateness,
    delay_by_level: BTreeMap<i32, Lateness>,
    timer: Lateness,
    broker_cpu_secs: f64,
    broker_memory_end: Memory,
    broker: Option<BrokerEnd>,
}

async fn phase_lateness(ctx: &Ctx) -> Result<LatenessPhase> {
    let p = &ctx.params;
    let mut broker = ctx.start("lateness")?;
    let res = lateness_run(p, &mut broker).await;
    let end = ctx.finish("lateness", broker);
    res.map(|mut r| {
        r.broker = Some(end);
        r
    })
}

async fn lateness_run(p: &Params, broker: &mut BrokerProcess) -> Result<LatenessPhase> {
    let admin = Client::connect(broker.addr).await?;
    admin.create_topic(LOAD_TOPIC, LOAD_QUEUES).await?;
    admin.create_topic(DELAY_TOPIC, SCHED_QUEUES).await?;
    admin.create_topic(TIMER_TOPIC, SCHED_QUEUES).await?;
    let duration = Duration::from_secs_f64(p.duration_secs);
    let cpu0 = broker.cpu_secs();
    eprintln!(
        "[lateness] {:.0} s: background {:.0} msg/s of {} B over {} connections, delay levels {:?} at {} msg/s, timers at {} msg/s",
        p.duration_secs, p.load_rate, p.load_size, p.load_conns, p.delay_levels, p.delay_rate, p.timer_rate
    );

    // Background load.
    let load_stats = Arc::new(SendStats::default());
    let body = body_of(p.load_size);
    let mut tasks = Vec::new();
    let per_conn = p.load_rate / p.load_conns as f64;
    for c in 0..p.load_conns {
        let client = Arc::new(Client::connect(broker.addr).await?);
        let stats = load_stats.clone();
        let body = body.clone();
        let inflight = p.load_inflight;
        tasks.push(tokio::spawn(async move {
            paced(per_conn, duration, inflight, move |i| {
                let client = client.clone();
                let stats = stats.clone();
                let body = body.clone();
                stats.issued.fetch_add(1, Ordering::Relaxed);
                async move {
                    let msg = Outgoing {
                        producer_group: PRODUCER_GROUP,
                        topic: LOAD_TOPIC,
                        queue_id: ((i as usize * p_mod(c)) % LOAD_QUEUES as usize) as i32,
                        sys_flag: 0,
                        born_timestamp: now_ms(),
                        properties: properties::encode([("UNIQ_KEY", uniq_key().as_str())]),
                        body,
                        batch: false,
                    };
                    let t = Instant::now();
                    let res = client.send(msg).await;
                    stats.record(res, t.elapsed());
                }
            })
            .await
        }));
    }

    // Scheduled messages: delay levels and timers on one connection of their own.
    let sched = Arc::new(Client::connect(broker.addr).await?);
    let delay_stats = Arc::new(SendStats::default());
    let timer_stats = Arc::new(SendStats::default());
    let delay_acked: Arc<Mutex<Vec<(u64, i64, i32)>>> = Arc::default();
    let timer_acked: Arc<Mutex<Vec<(u64, i64, i32)>>> = Arc::default();
    let levels = p.delay_levels.clone();
    let (delay_rate, timer_rate) = (p.delay_rate.max(0.0), p.timer_rate.max(0.0));
    let delay_task = {
        let (client, stats, acked) = (sched.clone(), delay_stats.clone(), delay_acked.clone());
        tokio::spawn(async move {
            paced(delay_rate, duration, 256, move |i| {
                let (client, stats, acked) = (client.clone(), stats.clone(), acked.clone());
                let level = levels[i as usize % levels.len()];
                stats.issued.fetch_add(1, Ordering::Relaxed);
                async move {
                    let born = now_ms();
                    let due = born + level_delay_ms(level);
                    let (lv, id, d, u) = (level.to_string(), i.to_string(), due.to_string(), uniq_key());
                    let msg = Outgoing {
                        producer_group: PRODUCER_GROUP,
                        topic: DELAY_TOPIC,
                        queue_id: (i % SCHED_QUEUES as u64) as i32,
                        sys_flag: 0,
                        born_timestamp: born,
                        properties: properties::encode([
                            ("DELAY", lv.as_str()),
                            (ID_PROP, id.as_str()),
                            (DUE_PROP, d.as_str()),
                            ("UNIQ_KEY", u.as_str()),
                        ]),
                        body: Bytes::from(format!("delay level {level} message {i}")),
                        batch: false,
                    };
                    let t = Instant::now();
                    let res = client.send(msg).await;
                    if stats.record(res, t.elapsed()).is_some() {
                        if let Ok(mut a) = acked.lock() {
                            a.push((i, due, level));
                        }
                    }
                }
            })
            .await
        })
    };
    let (tmin, tmax) = (p.timer_min_ms, p.timer_max_ms);
    let timer_task = {
        let (client, stats, acked) = (sched.clone(), timer_stats.clone(), timer_acked.clone());
        tokio::spawn(async move {
            paced(timer_rate, duration, 256, move |i| {
                let (client, stats, acked) = (client.clone(), stats.clone(), acked.clone());
                stats.issued.fetch_add(1, Ordering::Relaxed);
                let ahead = tmin + (mix(i ^ 0x7133) % (tmax - tmin + 1) as u64) as i64;
                async move {
                    let born = now_ms();
                    let due = born + ahead;
                    let (id, d, u) = (i.to_string(), due.to_string(), uniq_key());
                    let msg = Outgoing {
                        producer_group: PRODUCER_GROUP,
                        topic: TIMER_TOPIC,
                        queue_id: (i % SCHED_QUEUES as u64) as i32,
                        sys_flag: 0,
                        born_timestamp: born,
                        properties: properties::encode([
                            ("TIMER_DELIVER_MS", d.as_str()),
                            (ID_PROP, id.as_str()),
                            (DUE_PROP, d.as_str()),
                            ("UNIQ_KEY", u.as_str()),
                        ]),
                        body: Bytes::from(format!("timer message {i}")),
                        batch: false,
                    };
                    let t = Instant::now();
                    let res = client.send(msg).await;
                    if stats.record(res, t.elapsed()).is_some() {
                        if let Ok(mut a) = acked.lock() {
                            a.push((i, due, 0));
                        }
                    }
                }
            })
            .await
        })
    };

    // Progress while the load runs.
    let start = Instant::now();
    let mut last_acked = 0;
    let mut last_t = start;
    while start.elapsed() < duration {
        tokio::time::sleep(Duration::from_secs(5).min(duration.saturating_sub(start.elapsed()))).await;
        broker.check_alive()?;
        let acked = load_stats.acked.load(Ordering::Relaxed);
        let now = Instant::now();
        eprintln!(
            "[lateness] {:>5.1} s: background {:.0} msg/s (acked {acked}), delay acked {}, timers acked {}, broker RSS {:.0} MiB",
            start.elapsed().as_secs_f64(),
            (acked - last_acked) as f64 / now.duration_since(last_t).as_secs_f64().max(1e-3),
            delay_stats.acked.load(Ordering::Relaxed),
            timer_stats.acked.load(Ordering::Relaxed),
            Memory::mib(broker.memory().vm_rss)
        );
        last_acked = acked;
        last_t = now;
    }
    for t in tasks {
        t.await?;
    }
    delay_task.await?;
    timer_task.await?;
    let load_secs = start.elapsed().as_secs_f64();
    let cpu_load = broker.cpu_secs() - cpu0;
    let load_sum = load_stats.summary();
    eprintln!(
        "[lateness] load done in {load_secs:.1} s: {} acked ({:.0} msg/s), refused {:?}, errors {}; broker used {cpu_load:.1} CPU s",
        load_sum.acked,
        load_sum.acked as f64 / p.duration_secs,
        load_sum.refused,
        load_sum.errors
    );

    let delay_acked = delay_acked.lock().map(|v| v.clone()).unwrap_or_default();
    let timer_acked = timer_acked.lock().map(|v| v.clone()).unwrap_or_default();
    let last_due = delay_acked
        .iter()
        .chain(&timer_acked)
        .map(|a| a.1)
        .max()
        .unwrap_or_else(now_ms);
    let until = last_due + (p.settle_secs * 1000.0) as i64;
    wait_until_ms("lateness", "for the last due time + settle", until, broker).await?;

    eprintln!("[lateness] pulling {DELAY_TOPIC} and {TIMER_TOPIC}");
    let grace = Duration::from_secs_f64(p.grace_secs);
    let mut delay_tr = Tracker::new(&delay_acked);
    let delay_passes = collect(&admin, DELAY_TOPIC, SCHED_QUEUES, &mut delay_tr, grace).await?;
    let mut timer_tr = Tracker::new(&timer_acked);
    let timer_passes = collect(&admin, TIMER_TOPIC, SCHED_QUEUES, &mut timer_tr, grace).await?;

    eprintln!("[lateness] pulling {LOAD_TOPIC} for the store-latency reference");
    let mut store_lat = Latencies::new();
    let mut offsets = vec![0i64; LOAD_QUEUES as usize];
    let pulled = pull_topic(&admin, LOAD_TOPIC, &mut offsets, &mut |r| {
        store_lat.record_us((r.store_timestamp - r.born_timestamp).saturating_mul(1000))
    })
    .await?;
    broker.check_alive()?;

    let delay_by_level = p
        .delay_levels
        .iter()
        .map(|&l| (l, delay_tr.result(0, delay_passes, Some(l))))
        .collect();
    Ok(LatenessPhase {
        load: LoadResult {
            target_rate: p.load_rate,
            connections: p.load_conns,
            body_bytes: p.load_size,
            seconds: p.duration_secs,
            achieved_rate: load_sum.acked as f64 / p.duration_secs,
            sends: load_sum,
            pulled,
            store_latency_ms: Dist::of(&store_lat),
        },
        delay: delay_tr.result(delay_acked.len() as u64, delay_passes, None),
        delay_by_level,
        timer: timer_tr.result(timer_acked.len() as u64, timer_passes, None),
        delay_sends: delay_stats.summary(),
        timer_sends: timer_stats.summary(),
        broker_cpu_secs: broker.cpu_secs() - cpu0,
        broker_memory_end: broker.memory(),
        broker: None,
    })
}

/// Spreads a connection's messages over the queues (odd strides visit every queue).
fn p_mod(c: usize) -> usize {
    2 * c + 1
}

// ---------------------------------------------------------------------------------------------
// Phase 2: a million pending timers

#[derive(Debug, Clone, Serialize)]
struct TimersPhase {
    timers: u64,
    batch: usize,
    body_bytes: usize,
    connections: usize,
    sends: SendSummary,
    /// SYSTEM_BUSY answers that were retried.
    busy_retries: u64,
    send_seconds: f64,
    send_rate: f64,
    window_start_ms: i64,
    window_secs: f64,
    /// Seconds between the last acknowledgement and the window's start (negative: the window
    /// opened before all timers were sent).
    slack_secs: f64,
    memory: Vec<MemPoint>,
    /// Broker RSS once a second through the phase.
    rss_timeline: Vec<(f64, u64)>,
    broker_cpu_secs_sending: f64,
    broker_cpu_secs_total: f64,
    lateness: Lateness,
    broker: Option<BrokerEnd>,
}

async fn phase_timers(ctx: &Ctx) -> Result<TimersPhase> {
    let mut broker = ctx.start("timers")?;
    let res = timers_run(&ctx.params, &mut broker).await;
    let end = ctx.finish("timers", broker);
    res.map(|mut r| {
        r.broker = Some(end);
        r
    })
}

async fn timers_run(p: &Params, broker: &mut BrokerProcess) -> Result<TimersPhase> {
    let since = Instant::now();
    let admin = Client::connect(broker.addr).await?;
    admin.create_topic(MANY_TIMERS_TOPIC, LOAD_QUEUES).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut memory = vec![mem_point(broker, "idle (reference)", since)];
    eprintln!(
        "[timers] idle broker: RSS {:.1} MiB (anon {:.1}, file {:.1})",
        Memory::mib(memory[0].memory.vm_rss),
        Memory::mib(memory[0].memory.rss_anon),
        Memory::mib(memory[0].memory.rss_file)
    );

    // RSS once a second.
    let sampling = Arc::new(AtomicBool::new(true));
    let timeline: Arc<Mutex<Vec<(f64, u64)>>> = Arc::default();
    let sampler = {
        let (on, tl, pid) = (sampling.clone(), timeline.clone(), broker.pid);
        tokio::spawn(async move {
            while on.load(Ordering::Relaxed) {
                let m = broker::memory_of(pid);
                if let Ok(mut v) = tl.lock() {
                    v.push((since.elapsed().as_secs_f64(), m.vm_rss));
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    };

    let total = p.timers;
    let batch = p.timer_batch as u64;
    let batches = total.div_ceil(batch);
    let window_ms = (p.timer_window_secs * 1000.0) as i64;
    let send_start = Instant::now();
    let window_start = now_ms() + (p.timer_lead_secs * 1000.0) as i64;
    eprintln!(
        "[timers] sending {total} timers in batches of {batch} over {} connections, due in [{:.0} s, {:.0} s] from now",
        p.timer_conns,
        p.timer_lead_secs,
        p.timer_lead_secs + p.timer_window_secs
    );
    let cpu0 = broker.cpu_secs();
    let stats = Arc::new(SendStats::default());
    let busy = Arc::new(AtomicU64::new(0));
    let next = Arc::new(AtomicU64::new(0));
    let acked_batches: Arc<Mutex<Vec<u64>>> = Arc::default();
    let body = body_of(p.timer_size);
    let mut workers = Vec::new();
    for c in 0..p.timer_conns {
        let client = Arc::new(Client::connect(broker.addr).await?);
        for _ in 0..p.timer_inflight {
            let (client, stats, busy, next, acked, body) = (
                client.clone(),
                stats.clone(),
                busy.clone(),
                next.clone(),
                acked_batches.clone(),
                body.clone(),
            );
            workers.push(tokio::spawn(async move {
                loop {
                    let b = next.fetch_add(1, Ordering::Relaxed);
                    if b >= batches {
                        break;
                    }
                    let first = b * batch;
                    let last = (first + batch).min(total);
                    let mut encoded = Vec::with_capacity((last - first) as usize * (body.len() + 160));
                    for id in first..last {
                        let due = window_start + (mix(id) % window_ms.max(1) as u64) as i64;
                        let (d, i, u) = (due.to_string(), id.to_string(), uniq_key());
                        let props = properties::encode([
                            ("TIMER_DELIVER_MS", d.as_str()),
                            (ID_PROP, i.as_str()),
                            (DUE_PROP, d.as_str()),
                            ("UNIQ_KEY", u.as_str()),
                        ]);
                        sluice_remoting::batch::encode_record(&mut encoded, 0, &body, &props);
                    }
                    let encoded = Bytes::from(encoded);
                    stats.issued.fetch_add(last - first, Ordering::Relaxed);
                    loop {
                        let msg = Outgoing {
                            producer_group: PRODUCER_GROUP,
                            topic: MANY_TIMERS_TOPIC,
                            queue_id: ((b + c as u64) % LOAD_QUEUES as u64) as i32,
                            sys_flag: 0,
                            born_timestamp: now_ms(),
                            properties: String::new(),
                            body: encoded.clone(),
                            batch: true,
                        };
                        let t = Instant::now();
                        match client.send(msg).await {
                            Ok(SendOutcome::Refused { code, .. }) if code == response::SYSTEM_BUSY => {
                                busy.fetch_add(1, Ordering::Relaxed);
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                            res => {
                                if stats.record(res, t.elapsed()).is_some() {
                                    // One batch acknowledged: count its messages.
                                    stats.acked.fetch_add(last - first - 1, Ordering::Relaxed);
                                    if let Ok(mut a) = acked.lock() {
                                        a.push(b);
                                    }
                                }
                                break;
                            }
                        }
                    }
                }
            }));
        }
    }
    let mut last_print = Instant::now();
    while workers.iter().any(|w| !w.is_finished()) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        broker.check_alive()?;
        if last_print.elapsed() >= Duration::from_secs(3) {
            let acked = stats.acked.load(Ordering::Relaxed);
            eprintln!(
                "[timers] {:>5.1} s: {acked}/{total} acknowledged ({:.0}/s), busy retries {}, broker RSS {:.0} MiB",
                send_start.elapsed().as_secs_f64(),
                acked as f64 / send_start.elapsed().as_secs_f64(),
                busy.load(Ordering::Relaxed),
                Memory::mib(broker.memory().vm_rss)
            );
            last_print = Instant::now();
        }
    }
    for w in workers {
        w.await?;
    }
    let send_seconds = send_start.elapsed().as_secs_f64();
    let cpu_sending = broker.cpu_secs() - cpu0;
    let sends = stats.summary();
    let slack_secs = (window_start - now_ms()) as f64 / 1000.0;
    eprintln!(
        "[timers] sent in {send_seconds:.1} s ({:.0}/s): {} acknowledged, refused {:?}, errors {}; window opens in {slack_secs:.1} s",
        sends.acked as f64 / send_seconds,
        sends.acked,
        sends.refused,
        sends.errors
    );
    if slack_secs < 0.0 {
        eprintln!(
            "[timers] WARNING: the due window opened before all timers were sent; raise --timer-lead-secs"
        );
    }
    memory.push(mem_point(broker, "all sent (pending)", since));
    eprintln!(
        "[timers] after sending: RSS {:.1} MiB (anon {:.1}, file {:.1}), rocksdb {:.1} MiB",
        Memory::mib(memory[1].memory.vm_rss),
        Memory::mib(memory[1].memory.rss_anon),
        Memory::mib(memory[1].memory.rss_file),
        Memory::mib(memory[1].rocksdb_bytes)
    );
    if window_start - now_ms() > 2_000 {
        wait_until_ms(
            "timers",
            "until just before the window opens",
            window_start - 1_000,
            broker,
        )
        .await?;
        memory.push(mem_point(broker, "window opens (pending)", since));
    }
    let window_end = window_start + window_ms;
    wait_until_ms(
        "timers",
        "for the window's end + settle",
        window_end + (p.settle_secs * 1000.0) as i64,
        broker,
    )
    .await?;
    memory.push(mem_point(broker, "all due + settle", since));

    eprintln!("[timers] pulling {MANY_TIMERS_TOPIC}");
    let acked: Vec<(u64, i64, i32)> = {
        let a = acked_batches.lock().map(|v| v.clone()).unwrap_or_default();
        let mut ids = Vec::with_capacity(a.len() * batch as usize);
        for b in a {
            for id in b * batch..((b + 1) * batch).min(total) {
                ids.push((id, window_start + (mix(id) % window_ms.max(1) as u64) as i64, 0));
            }
        }
        ids
    };
    let mut tracker = Tracker::new(&acked);
    let passes = collect(
        &admin,
        MANY_TIMERS_TOPIC,
        LOAD_QUEUES,
        &mut tracker,
        Duration::from_secs_f64(p.grace_secs),
    )
    .await?;
    broker.check_alive()?;
    memory.push(mem_point(broker, "end (after the pull)", since));
    sampling.store(false, Ordering::Relaxed);
    let _ = sampler.await;
    let lateness = tracker.result(acked.len() as u64, passes, None);
    Ok(TimersPhase {
        timers: total,
        batch: p.timer_batch,
        body_bytes: p.timer_size,
        connections: p.timer_conns,
        busy_retries: busy.load(Ordering::Relaxed),
        send_seconds,
        send_rate: sends.acked as f64 / send_seconds,
        sends,
        window_start_ms: window_start,
        window_secs: p.timer_window_secs,
        slack_secs,
        memory,
        rss_timeline: timeline.lock().map(|v| v.clone()).unwrap_or_default(),
        broker_cpu_secs_sending: cpu_sending,
        broker_cpu_secs_total: broker.cpu_secs() - cpu0,
        lateness,
        broker: None,
    })
}

// ---------------------------------------------------------------------------------------------
// Phase 3: transactional vs plain produce

#[derive(Debug, Clone, Serialize)]
struct ProduceRun {
    mode: &'static str,
    connections: usize,
    seconds: f64,
    /// Plain: stored messages; transactional: committed transactions.
    completed: u64,
    rate: f64,
    /// Per message (plain) or per transaction (half send + END_TRANSACTION), ms.
    latency_ms: Option<Dist>,
    sends: SendSummary,
    /// END_TRANSACTION answers other than SUCCESS, by code.
    end_refused: BTreeMap<String, u64>,
    end_errors: u64,
    /// Sum of GET_MAX_OFFSET over the topic's queues.
    topic_messages: i64,
    verified: bool,
    broker_cpu_secs: f64,
}

#[derive(Debug, Clone, Serialize)]
struct TxPhase {
    plain: ProduceRun,
    transactional: ProduceRun,
    ratio_tx_to_plain: f64,
    end_transaction: &'static str,
    broker: Option<BrokerEnd>,
}

async fn phase_tx(ctx: &Ctx) -> Result<TxPhase> {
    let mut broker = ctx.start("tx")?;
    let res = tx_run(&ctx.params, &mut broker).await;
    let end = ctx.finish("tx", broker);
    res.map(|mut r| {
        r.broker = Some(end);
        r
    })
}

async fn topic_count(client: &Client, topic: &str, queues: i32) -> Result<i64> {
    let mut n = 0;
    for q in 0..queues {
        n += client.max_offset(topic, q).await?;
    }
    Ok(n)
}

async fn produce(p: &Params, broker: &mut BrokerProcess, transactional: bool) -> Result<ProduceRun> {
    let topic = if transactional { TX_TOPIC } else { PLAIN_TOPIC };
    let mode = if transactional { "transactional" } else { "plain" };
    let admin = Client::connect(broker.addr).await?;
    admin.create_topic(topic, LOAD_QUEUES).await?;
    let mut clients = Vec::new();
    for _ in 0..p.tx_conns {
        clients.push(Client::connect(broker.addr).await?);
    }
    let stats = Arc::new(SendStats::default());
    let done = Arc::new(AtomicU64::new(0));
    let end_errors = Arc::new(AtomicU64::new(0));
    let end_refused: Arc<Mutex<BTreeMap<i32, u64>>> = Arc::default();
    let latencies: Arc<Mutex<Latencies>> = Arc::default();
    let body = body_of(p.tx_size);
    let seconds = Duration::from_secs_f64(p.tx_seconds);
    let oneway = p.tx_end_oneway;
    let cpu0 = broker.cpu_secs();
    let start = Instant::now();
    let deadline = start + seconds;
    let mut tasks = Vec::new();
    for (c, client) in clients.into_iter().enumerate() {
        let (stats, done, end_errors, end_refused, latencies, body) = (
            stats.clone(),
            done.clone(),
            end_errors.clone(),
            end_refused.clone(),
            latencies.clone(),
            body.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = Latencies::new();
            while Instant::now() < deadline {
                let u = uniq_key();
                let props = if transactional {
                    properties::encode([
                        ("TRAN_MSG", "true"),
                        ("PGROUP", TX_GROUP),
                        ("UNIQ_KEY", u.as_str()),
                    ])
                } else {
                    properties::encode([("UNIQ_KEY", u.as_str())])
                };
                let msg = Outgoing {
                    producer_group: if transactional { TX_GROUP } else { PRODUCER_GROUP },
                    topic,
                    queue_id: (c % LOAD_QUEUES as usize) as i32,
                    sys_flag: if transactional { 0x4 } else { 0 },
                    born_timestamp: now_ms(),
                    properties: props,
                    body: body.clone(),
                    batch: false,
                };
                stats.issued.fetch_add(1, Ordering::Relaxed);
                let t = Instant::now();
                let res = client.send(msg).await;
                let Some(ok) = stats.record(res, t.elapsed()) else {
                    // A refused or failed send: carry on, it is counted.
                    continue;
                };
                if transactional {
                    let phys = match sluice_storage::msgid::parse_offset_msg_id(&ok.msg_id) {
                        Ok((_, off)) => off as i64,
                        Err(e) => {
                            stats.problem(format!("send response msgId {:?}: {e}", ok.msg_id));
                            end_errors.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                    };
                    match client
                        .commit_transaction(TX_GROUP, ok.queue_offset, phys, &u, oneway)
                        .await
                    {
                        Ok(None) => {}
                        Ok(Some((code, _))) if code == response::SUCCESS => {}
                        Ok(Some((code, remark))) => {
                            if let Ok(mut m) = end_refused.lock() {
                                *m.entry(code).or_default() += 1;
                            }
                            stats.problem(format!("END_TRANSACTION refused: {} {remark}", code_name(code)));
                            continue;
                        }
                        Err(e) => {
                            end_errors.fetch_add(1, Ordering::Relaxed);
                            stats.problem(format!("END_TRANSACTION: {e:#}"));
                            continue;
                        }
                    }
                }
                done.fetch_add(1, Ordering::Relaxed);
                lat.record(t.elapsed());
            }
            if let Ok(mut l) = latencies.lock() {
                l.add(&lat);
            }
        }));
    }
    let mut last_print = Instant::now();
    while tasks.iter().any(|t| !t.is_finished()) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        broker.check_alive()?;
        if last_print.elapsed() >= Duration::from_secs(3) {
            eprintln!(
                "[tx] {mode}: {:>4.1} s, {} done ({:.0}/s)",
                start.elapsed().as_secs_f64(),
                done.load(Ordering::Relaxed),
                done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
            );
            last_print = Instant::now();
        }
    }
    for t in tasks {
        t.await?;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let cpu = broker.cpu_secs() - cpu0;
    let completed = done.load(Ordering::Relaxed);
    // The committed copies are stored before END_TRANSACTION is answered; with oneway ends the
    // broker may still be working through them, so wait (bounded) for the count to settle.
    let mut count = topic_count(&admin, topic, LOAD_QUEUES).await?;
    let settle = Instant::now();
    while count != completed as i64 && settle.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        count = topic_count(&admin, topic, LOAD_QUEUES).await?;
    }
    let run = ProduceRun {
        mode,
        connections: p.tx_conns,
        seconds: elapsed,
        completed,
        rate: completed as f64 / elapsed,
        latency_ms: latencies.lock().ok().and_then(|l| Dist::of(&l)),
        sends: stats.summary(),
        end_refused: end_refused
            .lock()
            .map(|m| m.iter().map(|(c, n)| (code_name(*c), *n)).collect())
            .unwrap_or_default(),
        end_errors: end_errors.load(Ordering::Relaxed),
        topic_messages: count,
        verified: count == completed as i64,
        broker_cpu_secs: cpu,
    };
    eprintln!(
        "[tx] {mode}: {} in {elapsed:.1} s = {:.0}/s; {topic} holds {count} ({}); broker used {cpu:.1} CPU s",
        run.completed,
        run.rate,
        if run.verified { "matches" } else { "MISMATCH" }
    );
    Ok(run)
}

async fn tx_run(p: &Params, broker: &mut BrokerProcess) -> Result<TxPhase> {
    eprintln!(
        "[tx] {} connections × synchronous 1 KiB sends, {:.0} s plain then {:.0} s transactional (END_TRANSACTION {})",
        p.tx_conns,
        p.tx_seconds,
        p.tx_seconds,
        if p.tx_end_oneway { "oneway" } else { "awaited" }
    );
    let plain = produce(p, broker, false).await?;
    let transactional = produce(p, broker, true).await?;
    Ok(TxPhase {
        ratio_tx_to_plain: if plain.rate > 0.0 {
            transactional.rate / plain.rate
        } else {
            0.0
        },
        plain,
        transactional,
        end_transaction: if p.tx_end_oneway { "oneway" } else { "awaited" },
        broker: None,
    })
}

// ---------------------------------------------------------------------------------------------
// Report

#[derive(Debug, Serialize)]
struct Report {
    benchmark: &'static str,
    machine: machine::Machine,
    sluice_version: String,
    started_unix: u64,
    seconds: f64,
    parameters: Params,
    lateness: Option<LatenessPhase>,
    timers: Option<TimersPhase>,
    tx: Option<TxPhase>,
    /// Phase name → the error that ended it.
    errors: BTreeMap<String, String>,
}

fn fmt_opt(d: &Option<Dist>, f: impl Fn(&Dist) -> f64) -> String {
    d.as_ref().map_or("–".into(), |d| format!("{:.0}", f(d)))
}

fn fmt_opt1(d: &Option<Dist>, f: impl Fn(&Dist) -> f64) -> String {
    d.as_ref().map_or("–".into(), |d| format!("{:.1}", f(d)))
}

fn lateness_row(name: &str, l: &Lateness) -> String {
    format!(
        "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        l.sent,
        l.delivered,
        l.missing,
        l.duplicates,
        l.early,
        fmt_opt(&l.lateness_ms, |d| d.min),
        fmt_opt(&l.lateness_ms, |d| d.p50),
        fmt_opt(&l.lateness_ms, |d| d.p99),
        fmt_opt(&l.lateness_ms, |d| d.max)
    )
}

fn print_tables(r: &Report) {
    println!();
    println!(
        "sluice-bench schedule — commit {}, {} CPUs, broker and client on the same machine",
        r.machine.commit, r.machine.cpus
    );
    if let Some(l) = &r.lateness {
        println!();
        println!(
            "### 1. Lateness under load ({:.0} s; background target {:.0} msg/s of {} B, achieved {:.0} msg/s, refused {}, errors {})",
            l.load.seconds,
            l.load.target_rate,
            l.load.body_bytes,
            l.load.achieved_rate,
            l.load.sends.refused.values().sum::<u64>(),
            l.load.sends.errors
        );
        println!();
        println!("| stream | sent | delivered | missing | dup | early | min ms | p50 ms | p99 ms | max ms |");
        println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        println!("{}", lateness_row("delay levels 1–3 (lateness)", &l.delay));
        for (level, ll) in &l.delay_by_level {
            println!(
                "{}",
                lateness_row(
                    &format!("  level {level} ({} s)", level_delay_ms(*level) / 1000),
                    ll
                )
            );
        }
        println!("{}", lateness_row("timers 1–10 s (lateness)", &l.timer));
        println!(
            "| reference: plain store latency (store − born) | {} | {} | – | – | – | {} | {} | {} | {} |",
            l.load.sends.acked,
            l.load.pulled,
            fmt_opt(&l.load.store_latency_ms, |d| d.min),
            fmt_opt(&l.load.store_latency_ms, |d| d.p50),
            fmt_opt(&l.load.store_latency_ms, |d| d.p99),
            fmt_opt(&l.load.store_latency_ms, |d| d.max)
        );
        println!(
            "| reference: background send round trip | {} | – | – | – | – | {} | {} | {} | {} |",
            l.load.sends.acked,
            fmt_opt1(&l.load.sends.send_rtt_ms, |d| d.min),
            fmt_opt1(&l.load.sends.send_rtt_ms, |d| d.p50),
            fmt_opt1(&l.load.sends.send_rtt_ms, |d| d.p99),
            fmt_opt1(&l.load.sends.send_rtt_ms, |d| d.max)
        );
        println!();
        println!("broker CPU during the phase: {:.1} s", l.broker_cpu_secs);
    }
    if let Some(t) = &r.timers {
        println!();
        println!(
            "### 2. {} pending timers ({} per batch, {} B bodies; sent in {:.1} s = {:.0}/s, busy retries {}; window {:.0} s opening {:.1} s after the last ack)",
            t.timers, t.batch, t.body_bytes, t.send_seconds, t.send_rate, t.busy_retries, t.window_secs, t.slack_secs
        );
        println!();
        println!("| point | s | VmRSS MiB | RssAnon MiB | RssFile MiB | rocksdb MiB | data on disk MiB |");
        println!("|---|---:|---:|---:|---:|---:|---:|");
        for m in &t.memory {
            println!(
                "| {} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {:.0} |",
                m.at,
                m.seconds,
                Memory::mib(m.memory.vm_rss),
                Memory::mib(m.memory.rss_anon),
                Memory::mib(m.memory.rss_file),
                Memory::mib(m.rocksdb_bytes),
                Memory::mib(m.data_dir_allocated_bytes)
            );
        }
        // The last point at which every timer was still pending.
        let pending = t.memory.iter().rev().find(|m| m.at.ends_with("(pending)"));
        if let (Some(idle), Some(pending)) = (t.memory.first(), pending) {
            let per = (pending.memory.rss_anon as f64 - idle.memory.rss_anon as f64) / t.timers.max(1) as f64;
            println!();
            println!(
                "anonymous memory added per pending timer (idle → {}): {per:.1} B; peak VmRSS (VmHWM) {:.1} MiB",
                pending.at,
                Memory::mib(t.memory.iter().map(|m| m.memory.vm_hwm).max().unwrap_or(0))
            );
        }
        println!();
        println!("| stream | sent | delivered | missing | dup | early | min ms | p50 ms | p99 ms | max ms |");
        println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        println!("{}", lateness_row("timers (lateness)", &t.lateness));
    }
    if let Some(x) = &r.tx {
        println!();
        println!(
            "### 3. Transactional vs plain produce ({} connections, synchronous, {} B; END_TRANSACTION {})",
            x.plain.connections, r.parameters.tx_size, x.end_transaction
        );
        println!();
        println!("| mode | completed | msgs/s | p50 ms | p99 ms | refused | errors | topic max offsets | verified |");
        println!("|---|---:|---:|---:|---:|---:|---:|---:|---|");
        for run in [&x.plain, &x.transactional] {
            println!(
                "| {} | {} | {:.0} | {} | {} | {} | {} | {} | {} |",
                run.mode,
                run.completed,
                run.rate,
                fmt_opt1(&run.latency_ms, |d| d.p50),
                fmt_opt1(&run.latency_ms, |d| d.p99),
                run.sends.refused.values().sum::<u64>() + run.end_refused.values().sum::<u64>(),
                run.sends.errors + run.end_errors,
                run.topic_messages,
                if run.verified { "yes" } else { "NO" }
            );
        }
        println!();
        println!("ratio transactional / plain: {:.2}", x.ratio_tx_to_plain);
    }
    for (phase, e) in &r.errors {
        println!();
        println!("**{phase} failed:** {e}");
    }
}

pub fn run(args: Args) -> Result<()> {
    let params = Params::from_args(&args);
    for ph in &params.phases {
        if !matches!(ph.as_str(), "lateness" | "timers" | "tx") {
            bail!("unknown phase {ph:?} (lateness, timers, tx)");
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(params.client_runtime_threads)
        .enable_all()
        .build()?;
    rt.block_on(run_async(args, params))
}

async fn run_async(args: Args, params: Params) -> Result<()> {
    let started = report::unix_now();
    let out = report::report_path(args.out.clone(), "schedule", started)?;
    let log_prefix = out.with_extension("").display().to_string();
    let base_dir = args
        .dir
        .clone()
        .unwrap_or_else(std::env::temp_dir)
        .join(format!("sluice-bench-schedule-{started}"));
    let version = std::process::Command::new(&params.sluice_bin)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    eprintln!(
        "schedule bench: {} ({version}), phases {:?}{}",
        params.sluice_bin.display(),
        params.phases,
        if params.quick { ", quick" } else { "" }
    );
    let ctx = Ctx {
        params: params.clone(),
        base_dir: base_dir.clone(),
        keep_data: args.keep_data,
        log_prefix,
    };
    let t0 = Instant::now();
    let mut errors = BTreeMap::new();
    let mut note = |phase: &str, e: anyhow::Error| {
        eprintln!("[{phase}] FAILED: {e:#}");
        errors.insert(phase.to_owned(), format!("{e:#}"));
    };
    let lateness = if params.runs("lateness") {
        phase_lateness(&ctx).await.map_err(|e| note("lateness", e)).ok()
    } else {
        None
    };
    let timers = if params.runs("timers") {
        phase_timers(&ctx).await.map_err(|e| note("timers", e)).ok()
    } else {
        None
    };
    let tx = if params.runs("tx") {
        phase_tx(&ctx).await.map_err(|e| note("tx", e)).ok()
    } else {
        None
    };
    if !args.keep_data {
        let _ = std::fs::remove_dir_all(&base_dir);
    }
    let report = Report {
        benchmark: "schedule",
        machine: machine::describe(),
        sluice_version: version,
        started_unix: started,
        seconds: t0.elapsed().as_secs_f64(),
        parameters: params,
        lateness,
        timers,
        tx,
        errors,
    };
    print_tables(&report);
    write_report(&out, &report)?;
    println!("\nreport: {}", out.display());
    if !report.errors.is_empty() {
        bail!(
            "{} phase(s) failed: {:?}",
            report.errors.len(),
            report.errors.keys()
        );
    }
    Ok(())
}

fn write_report(out: &Path, report: &Report) -> Result<()> {
    std::fs::write(out, serde_json::to_vec_pretty(report)?)
        .with_context(|| format!("writing {}", out.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dist_in_milliseconds() {
        let mut l = Latencies::new();
        (1..=100).for_each(|ms| l.record_us(ms * 1000));
        let d = Dist::of(&l).unwrap();
        let near = |got: f64, want: f64| (got - want).abs() <= want * 1e-3;
        assert_eq!(d.n, 100);
        for (got, want) in [
            (d.min, 1.0),
            (d.p50, 50.0),
            (d.p90, 90.0),
            (d.p99, 99.0),
            (d.max, 100.0),
        ] {
            assert!(near(got, want), "{got} vs {want}");
        }
        assert!(Dist::of(&Latencies::new()).is_none());
    }

    #[test]
    fn tracker_counts_missing_duplicate_early_and_unexpected() {
        use sluice_storage::record::{encode, MessageFields, StoreStamp};
        let host: std::net::SocketAddr = "127.0.0.1:10911".parse().unwrap();
        let rec = |id: &str, store_ts: i64| {
            let props = properties::encode([(ID_PROP, id)]);
            let fields = MessageFields {
                topic: "T",
                queue_id: 0,
                flag: 0,
                sys_flag: 0,
                born_timestamp: 0,
                born_host: host,
                reconsume_times: 0,
                prepared_transaction_offset: 0,
                body: b"x",
                properties: &props,
            };
            let stamp = StoreStamp {
                queue_offset: 0,
                physical_offset: 0,
                store_timestamp: store_ts,
                store_host: host,
            };
            let mut out = Vec::new();
            encode(&mut out, &fields, &stamp, None).unwrap();
            out
        };
        let mut body = Vec::new();
        body.extend(rec("0", 1_005));
        body.extend(rec("0", 1_006));
        body.extend(rec("2", 1_990));
        body.extend(rec("9", 5));
        let mut t = Tracker::new(&[(0, 1_000, 1), (1, 1_500, 1), (2, 2_000, 2)]);
        assert_eq!(
            decode_records(&body, CrcCheck::Verify, &mut |r| t.visit(r)).unwrap(),
            4
        );
        let all = t.result(3, 1, None);
        assert_eq!(
            (
                all.delivered,
                all.missing,
                all.duplicates,
                all.early,
                all.unexpected
            ),
            (2, 1, 1, 1, 1)
        );
        assert_eq!(all.missing_sample, vec![(1, 1_500)]);
        let level2 = t.result(0, 1, Some(2));
        assert_eq!((level2.sent, level2.delivered, level2.missing), (1, 1, 0));
    }
}
