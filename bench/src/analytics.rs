//! The analytics benchmark, against the real `sluice standalone` with `analyticsHttpPort` set:
//!
//! 1. **freshness** — a `count` job by topic attached "from now"; one message at a time is sent
//!    (synchronously) and the job's results are polled over HTTP until they count it. Reported:
//!    send → visible (what a producer sees) and ack → visible (the analytics runtime's own
//!    delay), p50 / p99 / max over `--samples`; polls 0.1 ms apart.
//! 2. **throughput** — `--conns` connections × `--inflight` closed-loop sends of `--body`-byte
//!    messages with a random key among `--keys`, for `--seconds` per period; periods alternate
//!    without analytics and with a heavy analytic attached (count by key per 1 s window, top-10
//!    keys, count by tag — all from the earliest offset, so they also chew the backlog), `--rounds`
//!    times, in one broker process. The ratio of the medians is the figure (target ≥ 0.9).
//!
//! Report: `bench/out/analytics-<unix>.json`, broker log beside it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::report;
use anyhow::{bail, Context, Result};
use bytes::Bytes;
use clap::Parser;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::broker::{self, BrokerProcess, BrokerSpec};
use crate::latency::Latencies;
use crate::machine;
use crate::wire::{Client, Outgoing, SendOutcome};

#[derive(Parser, Debug, Clone, Serialize)]
pub struct Args {
    /// The sluice binary (default: the running sluice under `sluice bench`, else the sluice
    /// beside sluice-bench, else $CARGO_TARGET_DIR/release/sluice).
    #[arg(long)]
    sluice_bin: Option<PathBuf>,
    #[arg(long, default_value_t = 19796)]
    namesrv_port: u16,
    #[arg(long, default_value_t = 20831)]
    broker_port: u16,
    #[arg(long, default_value_t = 20840)]
    http_port: u16,
    /// [freshness] Messages sent one at a time.
    #[arg(long, default_value_t = 500)]
    samples: usize,
    /// [throughput] Seconds per period.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// [throughput] Periods of each kind (without / with the analytic), alternating.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    #[arg(long, default_value_t = 4)]
    conns: usize,
    #[arg(long, default_value_t = 32)]
    inflight: usize,
    #[arg(long, default_value_t = 256)]
    body: usize,
    /// [throughput] Distinct message keys.
    #[arg(long, default_value_t = 100_000)]
    keys: u64,
    /// Where the JSON report goes (default bench/out/analytics-<unix>.json).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
struct Percentiles {
    p50_us: f64,
    p99_us: f64,
    max_us: f64,
}

impl Percentiles {
    fn of(l: &Latencies) -> Percentiles {
        Percentiles {
            p50_us: l.quantile_us(0.5) as f64,
            p99_us: l.quantile_us(0.99) as f64,
            max_us: l.max_us() as f64,
        }
    }
}

#[derive(Debug, Serialize)]
struct Period {
    analytic: bool,
    msgs_per_s: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    benchmark: &'static str,
    machine: machine::Machine,
    started_unix: u64,
    parameters: Args,
    freshness_send_to_visible: Percentiles,
    freshness_ack_to_visible: Percentiles,
    periods: Vec<Period>,
    median_without: f64,
    median_with: f64,
    ratio: f64,
    heavy_job_rows: usize,
}

pub fn run(args: Args) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run_async(args))
}

async fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> Result<(u16, Value)> {
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await?;
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text.split_once("\r\n\r\n").context("malformed answer")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("status")?;
    Ok((status, serde_json::from_str(body).context("json")?))
}

fn total(v: &Value) -> i64 {
    v["rows"]
        .as_array()
        .map(|rows| rows.iter().filter_map(|r| r["value"].as_i64()).sum())
        .unwrap_or(0)
}

fn outgoing(topic: &str, key: u64, tag: u64, body: Bytes) -> Outgoing<'_> {
    Outgoing {
        producer_group: "bench-analytics",
        topic,
        queue_id: -1,
        sys_flag: 0,
        born_timestamp: sluice_storage::clock::now_millis(),
        properties: format!("TAGS\u{1}t{tag}\u{2}KEYS\u{1}k{key}\u{2}WAIT\u{1}true\u{2}"),
        body,
        batch: false,
    }
}

async fn run_async(args: Args) -> Result<()> {
    let started = report::unix_now();
    let out = report::report_path(args.out.clone(), "analytics", started)?;
    let data = tempfile::tempdir()?;
    let conf = data.path().join("broker.conf");
    // 128 MiB segments: the CommitLog reserves whole segments, and a few periods write ~0.5 GB.
    std::fs::write(
        &conf,
        format!(
            "analyticsHttpPort={}\nmappedFileSizeCommitLog=134217728\n",
            args.http_port
        ),
    )?;
    let binary = args.sluice_bin.clone().unwrap_or_else(broker::default_binary);
    let log = out.with_extension("log");
    let mut b = BrokerProcess::start(
        &BrokerSpec {
            binary: &binary,
            data_dir: &data.path().join("store"),
            namesrv_port: args.namesrv_port,
            broker_port: args.broker_port,
            config: Some(&conf),
            log: &log,
        },
        Duration::from_secs(30),
    )?;
    let http_addr = SocketAddr::from(([127, 0, 0, 1], args.http_port));
    let result = phases(&args, b.addr, http_addr).await;
    b.check_alive()?;
    let _ = b.stop(Duration::from_secs(20));
    let (fresh_send, fresh_ack, periods, rows) = result?;
    let med = |with: bool| {
        let mut v: Vec<f64> = periods
            .iter()
            .filter(|p| p.analytic == with)
            .map(|p| p.msgs_per_s)
            .collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    let (without, with) = (med(false), med(true));
    let report = Report {
        benchmark: "analytics",
        machine: machine::describe(),
        started_unix: started,
        parameters: args,
        freshness_send_to_visible: Percentiles::of(&fresh_send),
        freshness_ack_to_visible: Percentiles::of(&fresh_ack),
        periods,
        median_without: without,
        median_with: with,
        ratio: if without > 0.0 { with / without } else { 0.0 },
        heavy_job_rows: rows,
    };
    println!(
        "analytics freshness (append → result visible over HTTP), {} samples:",
        report.parameters.samples
    );
    for (what, p) in [
        ("send → visible", &report.freshness_send_to_visible),
        ("ack → visible", &report.freshness_ack_to_visible),
    ] {
        println!(
            "  {what:<15} p50 {:>8.0} µs  p99 {:>8.0} µs  max {:>8.0} µs",
            p.p50_us, p.p99_us, p.max_us
        );
    }
    println!(
        "produce throughput ({} conns × {} in flight, {} B):",
        report.parameters.conns, report.parameters.inflight, report.parameters.body
    );
    for p in &report.periods {
        println!(
            "  {:<16} {:>10.0} msg/s",
            if p.analytic { "with analytic" } else { "without" },
            p.msgs_per_s
        );
    }
    println!(
        "  median without {:.0} msg/s, with {:.0} msg/s: ratio {:.3} (target ≥ 0.9)",
        without, with, report.ratio
    );
    std::fs::write(&out, serde_json::to_vec_pretty(&report)?)?;
    println!("report: {}", out.display());
    Ok(())
}

type Phases = (Latencies, Latencies, Vec<Period>, usize);

async fn phases(args: &Args, broker: SocketAddr, http_addr: SocketAddr) -> Result<Phases> {
    let client = Arc::new(Client::connect(broker).await?);
    let topic = "BenchAnalytics";
    client.create_topic(topic, 8).await?;
    client.create_topic("BenchFresh", 4).await?;

    // 1. freshness
    let spec = json!({"name": "fresh", "topic": "BenchFresh", "kind": "count", "by": "topic",
                      "window_ms": 3_600_000, "start": "now"});
    let (status, v) = http(http_addr, "POST", "/jobs", Some(&spec)).await?;
    if status != 201 {
        bail!("attaching the freshness job: {status} {v}");
    }
    let (mut from_send, mut from_ack) = (Latencies::new(), Latencies::new());
    for i in 0..args.samples {
        let t0 = Instant::now();
        match client
            .send(outgoing("BenchFresh", i as u64, 0, Bytes::from_static(b"x")))
            .await?
        {
            SendOutcome::Stored(_) => {}
            SendOutcome::Refused { code, remark } => bail!("send refused: {code} {remark}"),
        }
        let acked = Instant::now();
        let deadline = acked + Duration::from_secs(10);
        loop {
            let (_, v) = http(http_addr, "GET", "/jobs/fresh", None).await?;
            if total(&v) > i as i64 {
                break;
            }
            if Instant::now() > deadline {
                bail!("message {i} did not show up in the results within 10 s");
            }
            // A short pause between polls: a tight poll loop would take the CPU from the
            // (low-priority) analytics thread it measures. Resolution: ~0.1 ms.
            std::thread::sleep(Duration::from_micros(100));
        }
        let seen = Instant::now();
        from_send.record(seen - t0);
        from_ack.record(seen - acked);
    }
    eprintln!("freshness: {} samples", args.samples);

    // 2. throughput, alternating
    let body = Bytes::from(vec![b'a'; args.body]);
    let mut periods = Vec::new();
    let heavy = [
        json!({"name": "heavy-count", "topic": topic, "kind": "count", "by": "key", "window_ms": 1000}),
        json!({"name": "heavy-top", "topic": topic, "kind": "top_n", "by": "key", "n": 10}),
        json!({"name": "heavy-tag", "topic": topic, "kind": "count", "by": "tag", "window_ms": 1000}),
    ];
    let mut rows = 0;
    for round in 0..args.rounds * 2 {
        let with = round % 2 == 1;
        if with {
            for spec in &heavy {
                let (status, v) = http(http_addr, "POST", "/jobs", Some(spec)).await?;
                if status != 201 {
                    bail!("attaching {spec}: {status} {v}");
                }
            }
        }
        let rate = load(&client, topic, &body, args).await?;
        eprintln!(
            "period {round}: {} {rate:.0} msg/s",
            if with { "with analytic" } else { "without" }
        );
        periods.push(Period {
            analytic: with,
            msgs_per_s: rate,
        });
        if with {
            let (_, v) = http(http_addr, "GET", "/jobs/heavy-count", None).await?;
            rows = rows.max(v["rows"].as_array().map(|r| r.len()).unwrap_or(0));
            for name in ["heavy-count", "heavy-top", "heavy-tag"] {
                http(http_addr, "DELETE", &format!("/jobs/{name}"), None).await?;
            }
        }
    }
    Ok((from_send, from_ack, periods, rows))
}

/// Closed-loop sends for `args.seconds`; messages per second.
async fn load(client: &Arc<Client>, topic: &str, body: &Bytes, args: &Args) -> Result<f64> {
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let mut conns = vec![client.clone()];
    for _ in 1..args.conns {
        conns.push(Arc::new(Client::connect(client_addr(args)).await?));
    }
    let mut tasks = Vec::new();
    let t0 = Instant::now();
    for (c, conn) in conns.iter().enumerate() {
        for j in 0..args.inflight {
            let (conn, stop, sent, body, topic) = (
                conn.clone(),
                stop.clone(),
                sent.clone(),
                body.clone(),
                topic.to_owned(),
            );
            let keys = args.keys.max(1);
            tasks.push(tokio::spawn(async move {
                let mut x: u64 = (c * 1000 + j) as u64 * 0x9E37_79B9_7F4A_7C15 + 1;
                while !stop.load(Ordering::Relaxed) {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let msg = outgoing(&topic, x % keys, x % 16, body.clone());
                    match conn.send(msg).await {
                        Ok(SendOutcome::Stored(_)) => {
                            sent.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(SendOutcome::Refused { .. }) => tokio::time::sleep(Duration::from_millis(1)).await,
                        Err(e) => return Err(e),
                    }
                }
                Ok(())
            }));
        }
    }
    tokio::time::sleep(Duration::from_secs_f64(args.seconds)).await;
    let n = sent.load(Ordering::Relaxed);
    let elapsed = t0.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await??;
    }
    Ok(n as f64 / elapsed)
}

fn client_addr(args: &Args) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], args.broker_port))
}
