//! `sluice bench replication`: an ASYNC_MASTER's replication to its slave (`sluice-async-master`:
//! the master and a slave process), in one run:
//!
//! - **lag**: a closed-loop load finds the master's maximum rate; open-loop loads then offer
//!   fractions of it (`--rates`, default 50 % and 90 %) while the master's GET_BROKER_HA_STATUS
//!   is sampled every `--sample-ms`. Each sample gives the master's end `M` and the offset `A`
//!   the slave last reported. The lag in bytes is `M − A`; the lag in ms is how long the master
//!   has held the first byte the slave lacks: the sample's time minus the time of the first
//!   sample whose `M` passed `A` (0 when `A = M`; resolution one sample interval).
//! - **catch-up**: the slave stopped, `--catch-up-mb` MiB written to the master, the slave
//!   started again on its own store: the bytes it fetched over the time from its first report
//!   to its report of the master's end, against iperf3 over loopback and fio's buffered
//!   sequential write of the same size, both measured in the same run.
//!
//! The JSON report goes to `--out` (default `bench/out/replication-<unix>.json`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Serialize;
use sluice_remoting::body::ha::HaRuntimeInfo;
use sluice_remoting::body::JsonBody;
use sluice_remoting::codes::request;
use sluice_remoting::RemotingCommand;

use crate::load::{self, Live, Plan};
use crate::machine::Machine;
use crate::report::{unix_now, Point};
use crate::targets::{Running, Setup};
use crate::wire::Client;

const TARGET: &str = "sluice-async-master";
const TOPIC: &str = "BenchRepl";

#[derive(clap::Args)]
pub struct Args {
    /// Seconds of each load (the maximum, then each fraction).
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Connections sending.
    #[arg(long, default_value_t = 16)]
    producers: usize,
    /// Sends in flight per connection.
    #[arg(long, default_value_t = 1)]
    inflight: usize,
    /// Body bytes per message.
    #[arg(long, default_value_t = 1024)]
    size: usize,
    /// Fractions of the maximum rate the lag is measured at.
    #[arg(long, value_delimiter = ',', default_values_t = [0.5, 0.9])]
    rates: Vec<f64>,
    /// How often the master's HA status is sampled, in ms.
    #[arg(long, default_value_t = 10)]
    sample_ms: u64,
    /// MiB written to the master while its slave is stopped (and fio's file size).
    #[arg(long, default_value_t = 1024)]
    catch_up_mb: u64,
    /// Skip the iperf3 and fio references.
    #[arg(long)]
    no_references: bool,
    /// The sluice binary (default as for `broker`).
    #[arg(long)]
    sluice_bin: Option<PathBuf>,
    /// Where the JSON report goes (default: bench/out/replication-<unix>.json).
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, default_value_t = 19996)]
    sluice_namesrv_port: u16,
    #[arg(long, default_value_t = 21011)]
    sluice_broker_port: u16,
    #[arg(long, default_value_t = 25201)]
    iperf3_port: u16,
}

/// Percentiles of one quantity over the samples of a load.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Spread {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

impl Spread {
    fn of(mut v: Vec<f64>) -> Spread {
        if v.is_empty() {
            return Spread::default();
        }
        v.sort_by(f64::total_cmp);
        let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
        Spread {
            p50: at(0.50),
            p99: at(0.99),
            max: at(1.0),
        }
    }
}

/// The lag under one offered rate.
#[derive(Debug, Clone, Serialize)]
pub struct LagPoint {
    /// Fraction of the maximum rate offered (1.0: the closed-loop maximum itself).
    pub fraction: f64,
    pub offered_msgs_per_sec: f64,
    pub acked_msgs_per_sec: f64,
    pub samples: usize,
    pub lag_bytes: Spread,
    pub lag_ms: Spread,
}

/// The slave's catch-up.
#[derive(Debug, Clone, Serialize)]
pub struct CatchUp {
    pub bytes: u64,
    /// From the slave's first report to its report of the master's end.
    pub secs: f64,
    pub bytes_per_sec: f64,
    /// From spawning the slave process to its report of the master's end.
    pub secs_from_spawn: f64,
    pub ratio_to_iperf3: Option<f64>,
    pub ratio_to_fio: Option<f64>,
    /// Against the smaller of the two (issue #13's target: ≥ 0.30).
    pub ratio_to_smaller: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReplicationReport {
    pub schema: &'static str,
    pub bench: &'static str,
    pub unix: u64,
    pub machine: Machine,
    pub args: Vec<String>,
    pub target: &'static str,
    pub size: usize,
    pub producers: usize,
    pub inflight: usize,
    pub max_msgs_per_sec: f64,
    pub lag: Vec<LagPoint>,
    pub catch_up: Option<CatchUp>,
    pub iperf3_loopback_bytes_per_sec: Option<f64>,
    pub fio_seq_write_bytes_per_sec: Option<f64>,
    pub failures: Vec<String>,
}

/// One HA status sample: when, the master's end, the slave's last report.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Instant,
    master_end: u64,
    slave_acked: Option<u64>,
}

async fn sample(c: &Client) -> Result<Sample> {
    let reply = c
        .request(RemotingCommand::request(request::GET_BROKER_HA_STATUS))
        .await?;
    let info = HaRuntimeInfo::from_json(&reply.body).map_err(|e| anyhow::anyhow!("HA status: {e}"))?;
    Ok(Sample {
        at: Instant::now(),
        master_end: info.master_commit_log_max_offset.max(0) as u64,
        slave_acked: info
            .ha_connection_info
            .iter()
            .map(|s| s.slave_ack_offset.max(0) as u64)
            .max(),
    })
}

/// Lag in bytes and ms per sample (samples without a connected slave are left out).
fn lags(samples: &[Sample]) -> (Vec<f64>, Vec<f64>) {
    let mut bytes = Vec::new();
    let mut ms = Vec::new();
    for (i, s) in samples.iter().enumerate() {
        let Some(a) = s.slave_acked else { continue };
        bytes.push(s.master_end.saturating_sub(a) as f64);
        let seen = samples.get(..=i).unwrap_or_default();
        // Master ends only grow: the first sample past `a` is found by bisection.
        let first = seen.partition_point(|p| p.master_end <= a);
        let lag = seen
            .get(first)
            .map_or(0.0, |p| s.at.duration_since(p.at).as_secs_f64() * 1000.0);
        ms.push(lag);
    }
    (bytes, ms)
}

/// Samples the master's HA status every `every` until `stop` resolves.
async fn sample_while<F: std::future::Future>(
    c: &Client,
    every: Duration,
    stop: F,
) -> Result<(Vec<Sample>, F::Output)> {
    let mut out = Vec::new();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            r = &mut stop => return Ok((out, r)),
            _ = tick.tick() => out.push(sample(c).await?),
        }
    }
}

fn point(args: &Args, rate: f64) -> Point {
    Point {
        size: args.size,
        producers: args.producers,
        inflight: args.inflight,
        queues: 8,
        rate,
        ..Point::default()
    }
}

/// Runs a load of `p` for `secs` while sampling; returns the acked msgs/s and the samples.
async fn measured(
    addr: SocketAddr,
    status: &Client,
    p: Point,
    secs: f64,
    every: Duration,
) -> Result<(f64, Vec<Sample>)> {
    let plan = Plan {
        addr,
        point: p,
        topics: vec![TOPIC.to_owned()],
        warmup: Duration::from_secs(1),
        duration: Duration::from_secs_f64(secs),
    };
    let (samples, outcome) = sample_while(status, every, load::run(&plan, Arc::new(Live::default()))).await?;
    let o = outcome?;
    if o.errors > 0 {
        bail!(
            "{} sends failed, first: {}",
            o.errors,
            o.first_error.unwrap_or_default()
        );
    }
    Ok((o.msgs as f64 / o.elapsed_secs.max(1e-9), samples))
}

fn lag_point(fraction: f64, offered: f64, acked: f64, samples: &[Sample]) -> LagPoint {
    let (bytes, ms) = lags(samples);
    LagPoint {
        fraction,
        offered_msgs_per_sec: offered,
        acked_msgs_per_sec: acked,
        samples: bytes.len(),
        lag_bytes: Spread::of(bytes),
        lag_ms: Spread::of(ms),
    }
}

/// Stops the slave, writes `mb` MiB to the master, starts the slave again and times its
/// catch-up.
async fn catch_up(
    running: &mut Running,
    setup: &Setup,
    status: &Client,
    mb: u64,
    every: Duration,
) -> Result<(u64, f64, f64)> {
    running.stop_slave()?;
    let start = sample(status).await?.master_end;
    let want = start + mb * 1024 * 1024;
    let fill = Point {
        size: 16 * 1024,
        producers: 8,
        inflight: 4,
        queues: 8,
        ..Point::default()
    };
    eprintln!("catch-up: writing {mb} MiB to the master with its slave stopped…");
    while sample(status).await?.master_end < want {
        let plan = Plan {
            addr: running.addr,
            point: fill.clone(),
            topics: vec![TOPIC.to_owned()],
            warmup: Duration::ZERO,
            duration: Duration::from_secs(2),
        };
        load::run(&plan, Arc::new(Live::default())).await?;
    }
    let end = sample(status).await?.master_end;
    let spawned = Instant::now();
    running.restart_slave("ASYNC_FLUSH", setup)?;
    eprintln!("catch-up: slave restarted; the master's end is {end}");
    let deadline = spawned + Duration::from_secs(600);
    let mut first: Option<(Instant, u64)> = None;
    loop {
        let s = sample(status).await?;
        if let Some(a) = s.slave_acked {
            let (t0, a0) = *first.get_or_insert((s.at, a));
            if a >= end {
                let secs = s.at.duration_since(t0).as_secs_f64();
                return Ok((end - a0, secs, s.at.duration_since(spawned).as_secs_f64()));
            }
        }
        if Instant::now() > deadline {
            bail!("the slave did not catch up within 600 s");
        }
        tokio::time::sleep(every).await;
    }
}

pub fn run(args: Args) -> Result<()> {
    let every = Duration::from_millis(args.sample_ms.max(1));
    let setup = Setup {
        sluice_bin: args
            .sluice_bin
            .clone()
            .unwrap_or_else(crate::broker::default_binary),
        rocketmq_rust_bin_dir: None,
        sluice_namesrv_port: args.sluice_namesrv_port,
        sluice_broker_port: args.sluice_broker_port,
        null_port: 0,
        peer_namesrv_port: 0,
        peer_broker_port: 0,
        peer_dir: std::env::temp_dir(),
        sluice_conf: Vec::new(),
    };
    if !setup.sluice_bin.is_file() {
        bail!(
            "no sluice binary at {} (pass --sluice-bin)",
            setup.sluice_bin.display()
        );
    }
    let mut failures = Vec::new();
    let (mut iperf3, mut fio) = (None, None);
    if !args.no_references {
        eprintln!("references: iperf3 loopback…");
        match crate::sweep::iperf3_loopback(args.iperf3_port, 5) {
            Ok((b, _)) => iperf3 = Some(b),
            Err(e) => failures.push(format!("iperf3: {e:#}")),
        }
        eprintln!(
            "references: fio sequential write ({} MiB, 1 MiB blocks, buffered)…",
            args.catch_up_mb
        );
        match crate::fio::seq_write(&std::env::temp_dir(), args.catch_up_mb, "1m", 0) {
            Ok(f) => fio = Some(f.bandwidth_bytes_per_sec),
            Err(e) => failures.push(format!("fio: {e:#}")),
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    eprintln!("starting {TARGET} (master + slave)…");
    let mut running = Running::start(TARGET, "ASYNC_FLUSH", &setup)?;
    let addr = running.addr;
    let result = rt.block_on(async {
        let status = Client::connect(addr).await?;
        status.create_topic(TOPIC, 8).await?;
        eprintln!("lag: the closed-loop maximum ({} s)…", args.duration);
        let (max, samples) = measured(addr, &status, point(&args, 0.0), args.duration, every).await?;
        let mut lag = vec![lag_point(1.0, 0.0, max, &samples)];
        for &f in &args.rates {
            let offered = max * f;
            eprintln!(
                "lag: {:.0} % of the maximum, {offered:.0} msgs/s ({} s)…",
                f * 100.0,
                args.duration
            );
            let (acked, samples) =
                measured(addr, &status, point(&args, offered), args.duration, every).await?;
            lag.push(lag_point(f, offered, acked, &samples));
        }
        let caught = catch_up(&mut running, &setup, &status, args.catch_up_mb, every).await;
        anyhow::Ok((max, lag, caught))
    });
    let alive = running.check_alive();
    running.stop();
    let (max, lag, caught) = result?;
    alive?;
    let catch_up = match caught {
        Ok((bytes, secs, from_spawn)) => {
            let bps = bytes as f64 / secs.max(1e-9);
            let smaller = match (iperf3, fio) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            Some(CatchUp {
                bytes,
                secs,
                bytes_per_sec: bps,
                secs_from_spawn: from_spawn,
                ratio_to_iperf3: iperf3.map(|r| bps / r),
                ratio_to_fio: fio.map(|r| bps / r),
                ratio_to_smaller: smaller.map(|r| bps / r),
            })
        }
        Err(e) => {
            failures.push(format!("catch-up: {e:#}"));
            None
        }
    };
    let report = ReplicationReport {
        schema: "sluice-bench/replication/1",
        bench: "replication",
        unix: unix_now(),
        machine: crate::machine::describe(),
        args: std::env::args().collect(),
        target: TARGET,
        size: args.size,
        producers: args.producers,
        inflight: args.inflight,
        max_msgs_per_sec: max,
        lag,
        catch_up,
        iperf3_loopback_bytes_per_sec: iperf3,
        fio_seq_write_bytes_per_sec: fio,
        failures,
    };
    print_report(&report);
    let path = crate::report::report_path(args.out, "replication", report.unix)?;
    std::fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    println!("report: {}", path.display());
    Ok(())
}

fn print_report(r: &ReplicationReport) {
    println!(
        "{} {}×{} {} B: maximum {:.0} msgs/s",
        r.target, r.producers, r.inflight, r.size, r.max_msgs_per_sec
    );
    println!(
        "{:>9} {:>10} {:>10} {:>8} {:>12} {:>12} {:>12} {:>9} {:>9} {:>9}",
        "offered",
        "msgs/s",
        "acked/s",
        "samples",
        "lag B p50",
        "lag B p99",
        "lag B max",
        "ms p50",
        "ms p99",
        "ms max"
    );
    for l in &r.lag {
        println!(
            "{:>8.0}% {:>10.0} {:>10.0} {:>8} {:>12.0} {:>12.0} {:>12.0} {:>9.1} {:>9.1} {:>9.1}",
            l.fraction * 100.0,
            l.offered_msgs_per_sec,
            l.acked_msgs_per_sec,
            l.samples,
            l.lag_bytes.p50,
            l.lag_bytes.p99,
            l.lag_bytes.max,
            l.lag_ms.p50,
            l.lag_ms.p99,
            l.lag_ms.max
        );
    }
    if let Some(c) = &r.catch_up {
        let mb = |b: f64| b / 1e6;
        println!(
            "catch-up: {:.0} MB in {:.2} s = {:.0} MB/s ({:.2} s from spawn); iperf3 {} MB/s, fio {} MB/s; ratio to the smaller {}",
            mb(c.bytes as f64),
            c.secs,
            mb(c.bytes_per_sec),
            c.secs_from_spawn,
            r.iperf3_loopback_bytes_per_sec.map_or("-".into(), |b| format!("{:.0}", mb(b))),
            r.fio_seq_write_bytes_per_sec.map_or("-".into(), |b| format!("{:.0}", mb(b))),
            c.ratio_to_smaller.map_or("-".into(), |x| format!("{x:.2}")),
        );
    }
    for f in &r.failures {
        println!("failure: {f}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(base: Instant, ms: u64, master_end: u64, slave_acked: Option<u64>) -> Sample {
        Sample {
            at: base + Duration::from_millis(ms),
            master_end,
            slave_acked,
        }
    }

    #[test]
    fn lag_in_bytes_and_in_time_held() {
        let t = Instant::now();
        let s = [
            at(t, 0, 100, Some(100)),  // caught up
            at(t, 10, 300, Some(100)), // byte 100 held since this sample
            at(t, 20, 500, Some(300)), // byte 300 held since 20 ms (first end past 300)
            at(t, 30, 500, None),      // no slave: left out
            at(t, 40, 600, Some(250)), // byte 250 held since 10 ms
        ];
        let (bytes, ms) = lags(&s);
        assert_eq!(bytes, vec![0.0, 200.0, 200.0, 350.0]);
        assert_eq!(ms, vec![0.0, 0.0, 0.0, 30.0]);
    }

    #[test]
    fn spread_of_samples() {
        let s = Spread::of((1..=100).map(f64::from).collect());
        assert_eq!((s.p50, s.p99, s.max), (51.0, 99.0, 100.0));
        assert_eq!(Spread::of(Vec::new()), Spread::default());
    }
}
