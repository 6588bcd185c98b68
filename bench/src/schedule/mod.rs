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
//!
//! Layout: `common` (ids, send statistics, pacing, the broker a phase runs against), `delivery`
//! (pulling and tracking scheduled deliveries), and one module per phase: `lateness`, `timers`,
//! `tx`.

mod common;
mod delivery;
mod lateness;
mod timers;
mod tx;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;
use serde::Serialize;

use crate::broker::{self, BrokerProcess};
use crate::{machine, report};
use common::{BrokerEnd, Ctx};

#[derive(Parser, Debug, Clone)]
pub struct Args {
    /// The sluice binary. Default: this one under `sluice bench`; else the sluice beside
    /// sluice-bench, else $CARGO_TARGET_DIR/release/sluice, else ~/.cache/sluice/target/release/sluice.
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

#[derive(Debug, Serialize)]
struct Report {
    benchmark: &'static str,
    machine: machine::Machine,
    sluice_version: String,
    started_unix: u64,
    seconds: f64,
    parameters: Params,
    lateness: Option<lateness::LatenessPhase>,
    timers: Option<timers::TimersPhase>,
    tx: Option<tx::TxPhase>,
    /// Phase name → the error that ended it.
    errors: BTreeMap<String, String>,
}

/// A phase's result, which records how its broker ended.
trait Phase {
    fn set_broker(&mut self, end: BrokerEnd);
}

impl Ctx {
    /// Runs `phase` (if asked for) against a broker of its own; an error is printed and noted in
    /// `errors`.
    async fn phase<T: Phase>(
        &self,
        phase: &str,
        run: impl AsyncFnOnce(&Params, &mut BrokerProcess) -> Result<T>,
        errors: &mut BTreeMap<String, String>,
    ) -> Option<T> {
        if !self.params.runs(phase) {
            return None;
        }
        let res = async {
            let mut broker = self.start(phase)?;
            let res = run(&self.params, &mut broker).await;
            let end = self.finish(phase, broker);
            res.map(|mut r| {
                r.set_broker(end);
                r
            })
        }
        .await;
        res.map_err(|e| {
            eprintln!("[{phase}] FAILED: {e:#}");
            errors.insert(phase.to_owned(), format!("{e:#}"));
        })
        .ok()
    }
}

fn print_tables(r: &Report) {
    println!();
    println!(
        "sluice-bench schedule — commit {}, {} CPUs, broker and client on the same machine",
        r.machine.commit, r.machine.cpus
    );
    if let Some(l) = &r.lateness {
        lateness::print(l);
    }
    if let Some(t) = &r.timers {
        timers::print(t);
    }
    if let Some(x) = &r.tx {
        tx::print(x, r.parameters.tx_size);
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
    let lateness = ctx.phase("lateness", lateness::run, &mut errors).await;
    let timers = ctx.phase("timers", timers::run, &mut errors).await;
    let tx = ctx.phase("tx", tx::run, &mut errors).await;
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
