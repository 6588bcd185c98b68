//! `sluice-bench broker`: one load shape or a matrix of them (`--sweep key=v1,v2 …`) against
//! each target (`--targets sluice,null,rocketmq-rust,rocketmq-java,rocketmq-java-5.3`), every point
//! on a freshly started broker (and the time from its start to a first acknowledged send);
//! fio and iperf3 as bandwidth references; a progress line on stderr; the JSON report
//! (`report.rs`) and the throughput–latency SVG (`plot.rs`) in `bench/out/`.

use std::io::{IsTerminal, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;

use crate::broker;
use crate::fio;
use crate::java_load;
use crate::load::{self, Live, Plan};
use crate::machine;
use crate::plot;
use crate::report::{
    unix_now, BrokerReport, Latency, Point, References, RunResult, CLIENT, JAVA_CLIENT, SCHEMA,
};
use crate::targets::{self, Running, Setup};
use crate::threads;
use crate::wire::{Client, Outgoing, SendOutcome};
use bytes::Bytes;
use sluice_storage::properties;

const SWEEP_KEYS: [&str; 10] = [
    "mode",
    "size",
    "producers",
    "inflight",
    "batch",
    "topics",
    "queues",
    "rate",
    "flush",
    "load",
];

#[derive(Parser, Debug, Clone)]
pub struct Args {
    /// producer, consumer, consumer-sql92 or e2e.
    #[arg(long, default_value = "producer")]
    mode: String,
    /// Body bytes per message.
    #[arg(long, default_value_t = 1024)]
    size: usize,
    /// Connections sending (consumer mode: also pulling).
    #[arg(long, default_value_t = 16)]
    producers: usize,
    /// Requests in flight per connection (1 = synchronous sender).
    #[arg(long, default_value_t = 1)]
    inflight: usize,
    /// Messages per send (> 1: SEND_BATCH_MESSAGE).
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Topics the load is spread over.
    #[arg(long, default_value_t = 1)]
    topics: usize,
    /// Queues per topic.
    #[arg(long, default_value_t = 8)]
    queues: usize,
    /// Offered messages/s over all connections (open loop); 0 = as fast as possible.
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Measured seconds per point (default 10; --quick 2).
    #[arg(long)]
    duration: Option<f64>,
    /// Unmeasured seconds before each point's window (default 1; --quick 0.5).
    #[arg(long)]
    warmup: Option<f64>,
    /// flushDiskType of the brokers: ASYNC_FLUSH or SYNC_FLUSH.
    #[arg(long, default_value = "ASYNC_FLUSH")]
    flush: String,
    /// What generates the load: `wire` (sluice's own requests to the broker port) or `java`
    /// (Apache RocketMQ's Java client 4.9.8 through the NameServer, producer mode only; built by
    /// bench/java-load.sh; needs a target with a NameServer, not `null`).
    #[arg(long, default_value = "wire")]
    load: String,
    /// A matrix over the flags above: `--sweep producers=1,4,16 inflight=1,64 size=1024`.
    /// Keys: mode, size, producers, inflight, batch, topics, queues, rate, flush, load.
    #[arg(long, num_args = 1..)]
    sweep: Vec<String>,
    /// Brokers to measure: sluice, null, rocketmq-rust, rocketmq-java (Apache RocketMQ 4.9.7; also
    /// rocketmq-java-4.9), rocketmq-java-5.3 (5.3.3) (default: sluice,null,rocketmq-rust;
    /// --quick: sluice,null); also sluice-prom (sluice with Prometheus metrics on),
    /// sluice-async-master / sluice-sync-master (a master with a
    /// slave process), sluice-controller (controller mode, inSyncReplicas=2, two replicas) and
    /// rocketmq-java-async-master / rocketmq-java-sync-master (Apache RocketMQ 4.9.7 master with
    /// a slave).
    #[arg(long, value_delimiter = ',')]
    targets: Option<Vec<String>>,
    /// A short run: 2 s points, `--sweep producers=1,16` unless a sweep is given, small
    /// references, targets sluice,null unless given.
    #[arg(long)]
    quick: bool,
    /// Skip the fio and iperf3 references.
    #[arg(long)]
    no_references: bool,
    /// Further broker.conf lines for sluice, `key=value` (RocketMQ property names), e.g.
    /// `--sluice-conf flushIntervalCommitLog=1000`.
    #[arg(long = "sluice-conf", value_name = "KEY=VALUE")]
    sluice_conf: Vec<String>,
    /// Repeat every point this many times, the targets taking turns within each round; ratios
    /// are of the medians (a noisy shared machine then slows every target alike).
    #[arg(long, default_value_t = 1)]
    rounds: u32,
    /// After each point, print where its CPU went: µs per message of each thread of the
    /// target's processes and of the load generator (always in the JSON report).
    #[arg(long)]
    cpu_by_thread: bool,
    /// Wait up to this many seconds for compilers (rustc) to finish before measuring.
    #[arg(long, default_value_t = 0.0)]
    wait_idle: f64,
    /// The sluice binary. Default: this one under `sluice bench`; else the sluice beside
    /// sluice-bench, else $CARGO_TARGET_DIR/release/sluice, else ~/.cache/sluice/target/release/sluice.
    #[arg(long)]
    sluice_bin: Option<PathBuf>,
    /// Folder with rocketmq-namesrv-rust and rocketmq-broker-rust (default: what
    /// bench/reference/rocketmq-rust.sh installs).
    #[arg(long)]
    rocketmq_rust_bin: Option<PathBuf>,
    /// Where the report and the SVG go (default: bench/out of this repository).
    #[arg(long)]
    out_dir: Option<PathBuf>,
    #[arg(long, default_value_t = 19996)]
    sluice_namesrv_port: u16,
    #[arg(long, default_value_t = 21011)]
    sluice_broker_port: u16,
    #[arg(long, default_value_t = 21111)]
    null_port: u16,
    #[arg(long, default_value_t = 29976)]
    peer_namesrv_port: u16,
    #[arg(long, default_value_t = 31011)]
    peer_broker_port: u16,
    #[arg(long, default_value_t = 25201)]
    iperf3_port: u16,
}

/// The points of the matrix: the flags' point with each swept key taking each of its values.
pub fn points(base: &Point, sweep: &[String]) -> Result<Vec<Point>> {
    let mut out = vec![base.clone()];
    for spec in sweep {
        let (key, values) = spec
            .split_once('=')
            .with_context(|| format!("--sweep {spec}: want key=v1,v2,…"))?;
        if !SWEEP_KEYS.contains(&key) {
            bail!(
                "--sweep {spec}: unknown key {key} (one of {})",
                SWEEP_KEYS.join(", ")
            );
        }
        let mut next = Vec::new();
        for p in &out {
            for v in values.split(',').map(str::trim).filter(|v| !v.is_empty()) {
                let mut q = p.clone();
                set(&mut q, key, v).with_context(|| format!("--sweep {spec}"))?;
                next.push(q);
            }
        }
        out = next;
    }
    for p in &out {
        check(p)?;
    }
    Ok(out)
}

fn set(p: &mut Point, key: &str, v: &str) -> Result<()> {
    let n = || {
        v.parse::<usize>()
            .with_context(|| format!("{key}={v}: not a whole number"))
    };
    match key {
        "mode" => p.mode = v.to_owned(),
        "size" => p.size = n()?,
        "producers" => p.producers = n()?,
        "inflight" => p.inflight = n()?,
        "batch" => p.batch = n()?,
        "topics" => p.topics = n()?,
        "queues" => p.queues = n()?,
        "rate" => p.rate = v.parse().with_context(|| format!("rate={v}: not a number"))?,
        "flush" => p.flush = v.to_ascii_uppercase(),
        "load" => p.load = v.to_owned(),
        _ => bail!("unknown key {key}"),
    }
    Ok(())
}

fn check(p: &Point) -> Result<()> {
    if !["producer", "consumer", "consumer-sql92", "e2e"].contains(&p.mode.as_str()) {
        bail!("mode {}: producer, consumer, consumer-sql92 or e2e", p.mode);
    }
    if !["ASYNC_FLUSH", "SYNC_FLUSH"].contains(&p.flush.as_str()) {
        bail!("flush {}: ASYNC_FLUSH or SYNC_FLUSH", p.flush);
    }
    if p.producers == 0 || p.inflight == 0 || p.batch == 0 || p.topics == 0 || p.queues == 0 {
        bail!("producers, inflight, batch, topics and queues must be at least 1");
    }
    if !(p.rate >= 0.0 && p.rate.is_finite()) {
        bail!("rate {}: 0 (closed loop) or a positive msgs/s", p.rate);
    }
    match p.load.as_str() {
        "wire" => {}
        "java" if p.mode == "producer" && p.rate == 0.0 => {}
        "java" => bail!("load java: the Java client load is the producer mode, closed loop (rate 0)"),
        other => bail!("load {other}: wire or java"),
    }
    Ok(())
}

fn compilers_running() -> bool {
    Command::new("pgrep")
        .args(["-x", "rustc"])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// iperf3 over 127.0.0.1 for `secs`: bytes/s the receiver saw.
pub(crate) fn iperf3_loopback(port: u16, secs: u32) -> Result<(f64, String)> {
    let mut server = Command::new("iperf3")
        .args(["-s", "-1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting iperf3 -s (install it with bench/setup.sh)")?;
    let mut last = String::new();
    let mut result = None;
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(250));
        let out = Command::new("iperf3")
            .args([
                "-c",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-t",
                &secs.to_string(),
                "-J",
            ])
            .output()
            .context("running iperf3 -c")?;
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        if let Some(bps) = v["end"]["sum_received"]["bits_per_second"].as_f64() {
            result = Some(bps / 8.0);
            break;
        }
        last = v["error"].as_str().unwrap_or("no JSON").to_owned();
    }
    let _ = server.kill();
    let _ = server.wait();
    match result {
        Some(b) => Ok((
            b,
            format!("iperf3 -c 127.0.0.1 -t {secs} (one TCP stream), receiver"),
        )),
        None => bail!("iperf3 gave no result: {last}"),
    }
}

fn measure_references(args: &Args, quick: bool) -> (References, Vec<String>) {
    let mut r = References::default();
    let mut failures = Vec::new();
    let size_mb = if quick { 128 } else { 1024 };
    eprintln!("references: fio sequential write ({size_mb} MiB, 1 MiB blocks, buffered)…");
    let dir = std::env::temp_dir();
    match fio::seq_write(&dir, size_mb, "1m", 0) {
        Ok(f) => {
            r.fio_seq_write_bytes_per_sec = Some(f.bandwidth_bytes_per_sec);
            r.fio_detail = Some(format!(
                "fio {} bs={} size={} MiB in {} (psync, direct=0)",
                f.job,
                f.block_size,
                size_mb,
                dir.display()
            ));
        }
        Err(e) => failures.push(format!("fio: {e:#}")),
    }
    eprintln!("references: iperf3 loopback…");
    match iperf3_loopback(args.iperf3_port, if quick { 1 } else { 5 }) {
        Ok((b, d)) => {
            r.iperf3_loopback_bytes_per_sec = Some(b);
            r.iperf3_detail = Some(d);
        }
        Err(e) => failures.push(format!("iperf3: {e:#}")),
    }
    (r, failures)
}

/// The progress line: elapsed, messages sent (and consumed), msgs/s over the last second, RSS.
fn progress(
    label: String,
    total: Duration,
    live: Arc<Live>,
    pid: u32,
    peak: Arc<Mutex<(u64, u64)>>,
) -> impl FnOnce() {
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let tty = std::io::stderr().is_terminal();
    let handle = std::thread::spawn(move || {
        let start = Instant::now();
        let mut last = (start, 0u64);
        while !stop2.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(200));
            let mem = broker::memory_of(pid);
            let rss = mem.vm_rss;
            if let Ok(mut p) = peak.lock() {
                p.0 = p.0.max(rss);
                p.1 = p.1.max(mem.rss_anon);
            }
            if last.0.elapsed() < Duration::from_secs(1) {
                continue;
            }
            let sent = live.sent.load(Ordering::Relaxed);
            let consumed = live.consumed.load(Ordering::Relaxed);
            let rate = (sent - last.1) as f64 / last.0.elapsed().as_secs_f64();
            last = (Instant::now(), sent);
            let el = start.elapsed().as_secs_f64();
            let frac = (el / total.as_secs_f64()).min(1.0);
            let bar: String = (0..20)
                .map(|i| if (i as f64) < frac * 20.0 { '#' } else { '.' })
                .collect();
            let mut line = format!(
                "  {label} [{bar}] {el:5.1}/{:.0}s sent {sent} ({rate:.0} msgs/s)",
                total.as_secs_f64()
            );
            if consumed > 0 {
                line += &format!(" consumed {consumed}");
            }
            let errors = live.errors.load(Ordering::Relaxed);
            if errors > 0 {
                line += &format!(" errors {errors}");
            }
            line += &format!(" rss {:.0} MiB", rss as f64 / 1048576.0);
            let mut err = std::io::stderr();
            if tty {
                let _ = write!(err, "\r\x1b[K{line}");
            } else {
                let _ = writeln!(err, "{line}");
            }
        }
        if tty {
            let _ = write!(std::io::stderr(), "\r\x1b[K");
        }
    });
    move || {
        stop.store(true, Ordering::Relaxed);
        let _ = handle.join();
    }
}

fn label(p: &Point) -> String {
    let mut s = format!(
        "{} {} B ×{} p={} inflight={}",
        p.mode, p.size, p.batch, p.producers, p.inflight
    );
    if p.rate > 0.0 {
        s += &format!(" rate={}", p.rate);
    }
    if p.flush != "ASYNC_FLUSH" {
        s += &format!(" {}", p.flush);
    }
    if p.load != "wire" {
        s += &format!(" load={}", p.load);
    }
    s
}

/// One target at one point, on a fresh broker.
fn run_point(
    rt: &tokio::runtime::Runtime,
    target: &str,
    round: u32,
    p: &Point,
    args: &Args,
    setup: &Setup,
) -> Result<RunResult> {
    let quick = args.quick;
    let duration = Duration::from_secs_f64(args.duration.unwrap_or(if quick { 2.0 } else { 10.0 }));
    let warmup = Duration::from_secs_f64(args.warmup.unwrap_or(if quick { 0.5 } else { 1.0 }));
    let mut running = Running::start(target, &p.flush, setup)?;
    let topics: Vec<String> = (0..p.topics).map(|i| format!("BenchT{i}")).collect();
    let first_ack = rt.block_on(first_ack(&running, &topics, p.queues as i32, target))?;
    let live = Arc::new(Live::default());
    let peak = Arc::new(Mutex::new((0, 0)));
    let total = match p.mode.as_str() {
        "consumer" | "consumer-sql92" => duration * 2,
        _ => warmup + duration,
    };
    let done = progress(
        format!("{target} {}", label(p)),
        total,
        live.clone(),
        running.pid,
        peak.clone(),
    );
    let cpu0 = running.cpu_secs();
    let mut processes = running.processes();
    processes.push(("load".to_owned(), std::process::id()));
    let threads0 = threads::snapshot(&processes);
    let plan = Plan {
        addr: running.addr,
        point: p.clone(),
        topics,
        warmup,
        duration,
    };
    let outcome = match p.load.as_str() {
        "java" => match targets::namesrv(target, setup) {
            Some(ns) => java_load::run(&plan, ns, live.clone()),
            None => Err(anyhow::anyhow!(
                "load java routes through a NameServer and {target} has none"
            )),
        },
        _ => rt.block_on(load::run(&plan, live.clone())),
    };
    let cpu = running.cpu_secs() - cpu0;
    let threads1 = threads::snapshot(&processes);
    // The snapshots span the warm-up too: divide by every message moved between them.
    let moved = match p.mode.as_str() {
        "consumer" | "consumer-sql92" => live.consumed.load(Ordering::Relaxed),
        _ => live.sent.load(Ordering::Relaxed),
    };
    done();
    let alive = running.check_alive();
    let end = running.memory();
    let (peak, peak_anon) = peak.lock().map(|v| *v).unwrap_or((0, 0));
    let (peak, peak_anon) = (peak.max(end.vm_rss), peak_anon.max(end.rss_anon));
    running.stop();
    alive?;
    let mut o = outcome?;
    let elapsed = o.elapsed_secs.max(1e-9);
    let msgs_per_sec = o.msgs as f64 / elapsed;
    Ok(RunResult {
        target: target.into(),
        point: p.clone(),
        elapsed_secs: o.elapsed_secs,
        msgs: o.msgs,
        requests: o.requests,
        errors: o.errors,
        first_error: o.first_error.take(),
        msgs_per_sec,
        mb_per_sec: msgs_per_sec * p.size as f64 / 1e6,
        latency_kind: o.latency_kind.into(),
        latency: Latency::of(&o.latencies),
        consumed: o.consumed,
        broker_cpu_secs: cpu,
        broker_peak_rss_bytes: peak,
        broker_peak_rss_anon_bytes: peak_anon,
        round,
        start_to_first_ack_secs: Some(first_ack),
        cpu_by_thread: threads::per_msg(&threads0, &threads1, moved),
    })
}

/// Creates the point's topics and sends one message (retrying while the broker is still
/// starting, up to 60 s); returns the seconds from the target's start to that acknowledgement.
async fn first_ack(running: &Running, topics: &[String], queues: i32, target: &str) -> Result<f64> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let attempt = async {
            let c = Client::connect(running.addr).await?;
            for t in topics {
                c.create_topic(t, queues)
                    .await
                    .with_context(|| format!("UPDATE_AND_CREATE_TOPIC {t} on {target}"))?;
            }
            let topic = topics.first().context("no topic")?;
            let outcome = c
                .send(Outgoing {
                    producer_group: "sluice_bench",
                    topic,
                    queue_id: 0,
                    sys_flag: 0,
                    born_timestamp: unix_millis(),
                    properties: properties::encode([("WAIT", "true")]),
                    body: Bytes::from_static(b"first"),
                    batch: false,
                })
                .await?;
            match outcome {
                SendOutcome::Stored(_) => anyhow::Ok(running.started.elapsed().as_secs_f64()),
                SendOutcome::Refused { code, remark } => {
                    bail!("first send refused: code {code} {remark}")
                }
            }
        };
        match attempt.await {
            Ok(secs) => return Ok(secs),
            Err(e) if Instant::now() >= deadline => return Err(e.context("no first acknowledged send")),
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

fn unix_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn print_row(r: &RunResult) {
    let p = &r.point;
    println!(
        "{:<18} {:<8} {:<11} {:>5} {:>5} {:>4} {:>5} {:>8} {:>10.0} {:>8.1} {:>8.3} {:>8.3} {:>8.3} {:>8.2} {:>6.1} {:>7.0} {:>8.0} {:>6} {:>9}",
        r.target,
        p.mode,
        p.flush,
        p.size,
        p.batch,
        p.producers,
        p.inflight,
        p.rate,
        r.msgs_per_sec,
        r.mb_per_sec,
        r.latency.p50_ms,
        r.latency.p99_ms,
        r.latency.p999_ms,
        r.latency.max_ms,
        r.broker_cpu_secs,
        r.broker_peak_rss_bytes as f64 / 1048576.0,
        r.broker_peak_rss_anon_bytes as f64 / 1048576.0,
        r.errors,
        r.start_to_first_ack_secs
            .map(|s| format!("{s:.3}"))
            .unwrap_or_else(|| "-".into())
    );
}

fn print_header() {
    println!(
        "{:<18} {:<8} {:<11} {:>5} {:>5} {:>4} {:>5} {:>8} {:>10} {:>8} {:>8} {:>8} {:>8} {:>8} {:>6} {:>7} {:>8} {:>6} {:>9}",
        "target", "mode", "flush", "size", "batch", "prod", "infl", "rate", "msgs/s", "MB/s", "p50 ms",
        "p99 ms", "p99.9 ms", "max ms", "cpu-s", "rss MiB", "anon MiB", "errors", "1st-ack s"
    );
}

/// The median of `v` (the mean of the middle two for an even count); `None` if empty.
fn median(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => v.get(n / 2).copied(),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

/// Ratios of sluice to the references at the same point (medians over the rounds), and batched
/// MB/s to min(fio, iperf3).
fn print_ratios(runs: &[RunResult], refs: &References) {
    println!();
    let mut seen: Vec<&Point> = Vec::new();
    for s in runs.iter().filter(|r| r.target == "sluice") {
        if seen.contains(&&s.point) {
            continue;
        }
        seen.push(&s.point);
        let med = |t: &str, f: &dyn Fn(&RunResult) -> Option<f64>| {
            median(
                runs.iter()
                    .filter(|r| r.target == t && r.point == s.point)
                    .filter_map(f)
                    .collect(),
            )
        };
        let rate = |t: &str| med(t, &|r| Some(r.msgs_per_sec));
        let rounds = runs
            .iter()
            .filter(|r| r.target == "sluice" && r.point == s.point)
            .count();
        let Some(mine) = rate("sluice") else { continue };
        let mut line = format!("sluice {}:", label(&s.point));
        if rounds > 1 {
            line += &format!(" (medians of {rounds} rounds)");
        }
        let mut others: Vec<&str> = Vec::new();
        for r in runs.iter().filter(|r| r.target != "sluice" && r.point == s.point) {
            if !others.contains(&r.target.as_str()) {
                others.push(&r.target);
            }
        }
        for t in &others {
            if let Some(o) = rate(t).filter(|o| *o > 0.0) {
                line += &format!("  /{t} {:.3}", mine / o);
            }
        }
        if let Some(b) = refs.bound_bytes_per_sec().filter(|_| s.point.batch > 1) {
            line += &format!("  MB/s / min(fio, iperf3) {:.3}", mine * s.point.size as f64 / b);
        }
        println!("{line}");
        // Against the reference brokers: p99, peak RSS and start to first ack as ratios too.
        for t in others.iter().filter(|t| t.starts_with("rocketmq-")) {
            let ratio = |f: &dyn Fn(&RunResult) -> Option<f64>| match (med("sluice", f), med(t, f)) {
                (Some(a), Some(b)) if b > 0.0 => format!("{:.3}", a / b),
                _ => "-".into(),
            };
            println!(
                "  sluice/{t}: msgs/s {}  p99 {}  peak RSS {}  start-to-first-ack {}",
                ratio(&|r| Some(r.msgs_per_sec)),
                ratio(&|r| Some(r.latency.p99_ms)),
                ratio(&|r| Some(r.broker_peak_rss_bytes as f64)),
                ratio(&|r| r.start_to_first_ack_secs),
            );
        }
    }
    if let Some(f) = refs.fio_seq_write_bytes_per_sec {
        println!("fio sequential write: {:.0} MB/s", f / 1e6);
    }
    if let Some(i) = refs.iperf3_loopback_bytes_per_sec {
        println!("iperf3 loopback: {:.0} MB/s", i / 1e6);
    }
}

pub fn run(args: Args) -> Result<()> {
    let quick = args.quick;
    let base = Point {
        mode: args.mode.clone(),
        size: args.size,
        producers: args.producers,
        inflight: args.inflight,
        batch: args.batch,
        topics: args.topics,
        queues: args.queues,
        rate: args.rate,
        flush: args.flush.to_ascii_uppercase(),
        load: args.load.clone(),
    };
    let sweep = if args.sweep.is_empty() && quick {
        vec!["producers=1,16".to_owned()]
    } else {
        args.sweep.clone()
    };
    let points = points(&base, &sweep)?;
    let targets = args.targets.clone().unwrap_or_else(|| {
        if quick {
            vec!["sluice".into(), "null".into()]
        } else {
            vec!["sluice".into(), "null".into(), "rocketmq-rust".into()]
        }
    });
    let mut notes = Vec::new();
    let (peer_dir, note) = targets::peer_parent();
    if targets.iter().any(|t| t == "rocketmq-rust") {
        notes.extend(note);
    }
    let setup = Setup {
        sluice_bin: args.sluice_bin.clone().unwrap_or_else(broker::default_binary),
        rocketmq_rust_bin_dir: args.rocketmq_rust_bin.clone(),
        sluice_namesrv_port: args.sluice_namesrv_port,
        sluice_broker_port: args.sluice_broker_port,
        null_port: args.null_port,
        peer_namesrv_port: args.peer_namesrv_port,
        peer_broker_port: args.peer_broker_port,
        peer_dir,
        sluice_conf: args.sluice_conf.clone(),
    };
    if targets.iter().any(|t| t == "sluice") && !setup.sluice_bin.is_file() {
        bail!(
            "no sluice binary at {} (build it with `cargo build --release --bin sluice`, or pass --sluice-bin)",
            setup.sluice_bin.display()
        );
    }
    for port in [args.sluice_broker_port, args.null_port, args.peer_broker_port] {
        let a = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        if TcpStream::connect_timeout(&a, Duration::from_millis(200)).is_ok() {
            bail!("something already listens on {a}; choose other ports");
        }
    }
    if args.wait_idle > 0.0 && compilers_running() {
        eprintln!("compilers are running; waiting up to {} s", args.wait_idle);
        let deadline = Instant::now() + Duration::from_secs_f64(args.wait_idle);
        while compilers_running() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_secs(2));
        }
    }
    let mut failures = Vec::new();
    if compilers_running() {
        eprintln!("WARNING: rustc is running; figures will be low and noisy");
        failures.push("rustc was running when the measurements started".to_owned());
    }
    let (references, ref_failures) = if args.no_references {
        (References::default(), Vec::new())
    } else {
        measure_references(&args, quick)
    };
    failures.extend(ref_failures);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench-load")
        .enable_all()
        .build()?;
    let java = points.iter().any(|p| p.load == "java");
    let wire = points.iter().any(|p| p.load == "wire");
    let client = match (wire, java) {
        (true, true) => format!("{CLIENT} and {JAVA_CLIENT}"),
        (false, true) => JAVA_CLIENT.to_owned(),
        _ => CLIENT.to_owned(),
    };
    eprintln!(
        "{} point(s) × {} target(s), client: {client}",
        points.len(),
        targets.len()
    );
    let mut runs = Vec::new();
    print_header();
    for p in &points {
        for round in 0..args.rounds.max(1) {
            for target in &targets {
                if target == "null" && p.mode != "producer" {
                    if round == 0 {
                        failures.push(format!(
                            "null {}: the null broker stores nothing to consume",
                            label(p)
                        ));
                    }
                    continue;
                }
                match run_point(&rt, target, round, p, &args, &setup) {
                    Ok(r) => {
                        print_row(&r);
                        if args.cpu_by_thread {
                            for line in threads::describe(&r.cpu_by_thread) {
                                println!("    {line}");
                            }
                        }
                        if let Some(e) = &r.first_error {
                            eprintln!("  {target}: {} errors, first: {e}", r.errors);
                        }
                        runs.push(r);
                    }
                    Err(e) => {
                        eprintln!("  {target} {}: FAILED: {e:#}", label(p));
                        failures.push(format!("{target} {}: {e:#}", label(p)));
                    }
                }
            }
        }
    }
    print_ratios(&runs, &references);

    let out_dir = args
        .out_dir
        .clone()
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("out"));
    let m = machine::describe();
    let unix = unix_now();
    let svg_name = format!("broker-{unix}.svg");
    let title = format!(
        "sluice-bench broker: {} ({} CPUs, commit {})",
        targets.join(" vs "),
        m.cpus,
        m.commit
    );
    std::fs::create_dir_all(&out_dir)?;
    std::fs::write(
        out_dir.join(&svg_name),
        plot::throughput_latency_svg(&title, &runs),
    )?;
    let report = BrokerReport {
        schema: SCHEMA.into(),
        bench: "broker".into(),
        unix,
        commit: m.commit.clone(),
        machine: m,
        client,
        client_detail: [
            wire.then_some(
                "wire: sluice-remoting's connection (bench/src/wire.rs), one TCP connection per \
                 producer straight to the broker port, no NameServer lookup, requests multiplexed \
                 by opaque; SEND_MESSAGE_V2 / SEND_BATCH_MESSAGE, PULL_MESSAGE",
            ),
            java.then_some(
                "java: one DefaultMQProducer (rocketmq-client 4.9.8, bench/java) routing through \
                 the target's NameServer, `producers` threads, retries off; synchronous send \
                 (inflight 1) or send with a callback under a per-thread window; batch > 1 the \
                 client's batch send",
            ),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("; "),
        args: std::env::args().collect(),
        targets,
        duration_secs: args.duration.unwrap_or(if quick { 2.0 } else { 10.0 }),
        warmup_secs: args.warmup.unwrap_or(if quick { 0.5 } else { 1.0 }),
        references,
        runs,
        failures,
        notes,
        svg: Some(svg_name.clone()),
    };
    let path = report.write(&out_dir)?;
    println!("report: {}", path.display());
    println!("plot:   {}", out_dir.join(&svg_name).display());
    for n in &report.notes {
        println!("note: {n}");
    }
    if !report.failures.is_empty() {
        eprintln!("not measured:");
        for f in &report.failures {
            eprintln!("  {f}");
        }
    }
    if report.runs.is_empty() {
        bail!("nothing was measured");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Point {
        Point::default()
    }

    #[test]
    fn medians_of_rounds() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(Vec::new()), None);
    }

    #[test]
    fn sweep_is_the_cartesian_product() {
        let pts = points(&base(), &["producers=1,4,16".into(), "inflight=1,64".into()]).unwrap();
        assert_eq!(pts.len(), 6);
        assert_eq!((pts[0].producers, pts[0].inflight), (1, 1));
        assert_eq!((pts[5].producers, pts[5].inflight), (16, 64));
        let pts = points(&base(), &["flush=sync_flush".into()]).unwrap();
        assert_eq!(pts[0].flush, "SYNC_FLUSH");
        assert!(points(&base(), &["colour=red".into()]).is_err());
        assert!(points(&base(), &["producers=0".into()]).is_err());
        assert!(points(&base(), &["mode=pop".into()]).is_err());
        let pts = points(&base(), &["load=wire,java".into()]).unwrap();
        assert_eq!(pts[1].load, "java");
        assert!(points(&base(), &["load=jms".into()]).is_err());
        assert!(points(&base(), &["load=java".into(), "mode=consumer".into()]).is_err());
        assert!(points(&base(), &["load=java".into(), "rate=1000".into()]).is_err());
        assert_eq!(points(&base(), &[]).unwrap(), vec![base()]);
    }
}
