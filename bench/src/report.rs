//! The broker benchmark's JSON report (`bench/out/broker-<unix>.json`): what was measured, on
//! which machine and commit, with which client, every sweep point of every target, and the
//! references (fio, iperf3) measured in the same run. `notebooks/throughput.ipynb` reads it;
//! [`SCHEMA`] changes whenever a field changes meaning.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::latency::Latencies;
use crate::machine::Machine;

/// The report's schema name and version.
pub const SCHEMA: &str = "sluice-bench/broker/1";

/// The load generator of the `wire` load (each point's `load` says which one it used).
pub const CLIENT: &str = "sluice-bench wire client";

/// The `java` load's generator (`--load java`).
pub const JAVA_CLIENT: &str = "Apache RocketMQ Java client 4.9.8";

/// One `sluice-bench broker` invocation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BrokerReport {
    pub schema: String,
    /// Always `"broker"`.
    pub bench: String,
    pub unix: u64,
    pub commit: String,
    pub machine: Machine,
    /// The load generator, e.g. [`CLIENT`], and how it reaches the broker.
    pub client: String,
    pub client_detail: String,
    /// The command line as given.
    pub args: Vec<String>,
    pub targets: Vec<String>,
    pub duration_secs: f64,
    pub warmup_secs: f64,
    pub references: References,
    pub runs: Vec<RunResult>,
    /// Targets or points that could not be measured, with why.
    pub failures: Vec<String>,
    /// Anything a reader must know to interpret the figures (e.g. where a target kept its data).
    #[serde(default)]
    pub notes: Vec<String>,
    /// The SVG drawn from `runs`, relative to the report's folder.
    pub svg: Option<String>,
}

/// Bandwidth references measured in the same run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct References {
    /// fio buffered sequential write on the disk that holds the brokers' data.
    pub fio_seq_write_bytes_per_sec: Option<f64>,
    pub fio_detail: Option<String>,
    /// iperf3 TCP over 127.0.0.1, receiver side.
    pub iperf3_loopback_bytes_per_sec: Option<f64>,
    pub iperf3_detail: Option<String>,
}

impl References {
    /// min(fio, iperf3): the bandwidth a broker on this machine cannot exceed (if both known).
    pub fn bound_bytes_per_sec(&self) -> Option<f64> {
        match (
            self.fio_seq_write_bytes_per_sec,
            self.iperf3_loopback_bytes_per_sec,
        ) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// One point of a sweep: the load's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// `producer`, `consumer` or `e2e`.
    pub mode: String,
    /// Body bytes per message.
    pub size: usize,
    /// Connections sending (in consumer mode also the connections pulling).
    pub producers: usize,
    /// Requests in flight per connection at most (1 = synchronous sender).
    pub inflight: usize,
    /// Messages per request (> 1: SEND_BATCH_MESSAGE).
    pub batch: usize,
    pub topics: usize,
    /// Queues per topic.
    pub queues: usize,
    /// Offered messages/s over all connections (open loop); 0 = as fast as possible (closed loop).
    pub rate: f64,
    /// `ASYNC_FLUSH` or `SYNC_FLUSH` (the broker's flushDiskType).
    pub flush: String,
    /// What generates the load: `wire` (sluice's own requests straight to the broker port) or
    /// `java` (Apache RocketMQ's Java client through the NameServer, as applications send).
    #[serde(default = "wire_load")]
    pub load: String,
}

fn wire_load() -> String {
    "wire".into()
}

impl Default for Point {
    /// 16 synchronous senders of 1 KiB messages, one topic of 8 queues, ASYNC_FLUSH.
    fn default() -> Point {
        Point {
            mode: "producer".into(),
            size: 1024,
            producers: 16,
            inflight: 1,
            batch: 1,
            topics: 1,
            queues: 8,
            rate: 0.0,
            flush: "ASYNC_FLUSH".into(),
            load: wire_load(),
        }
    }
}

/// Latency percentiles in milliseconds over `samples` requests (or deliveries), as `latency.rs`
/// defines them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Latency {
    pub samples: u64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    pub fn of(l: &Latencies) -> Latency {
        let ms = |us: i64| us as f64 / 1000.0;
        Latency {
            samples: l.len(),
            mean_ms: l.mean_us() / 1000.0,
            p50_ms: ms(l.quantile_us(0.50)),
            p90_ms: ms(l.quantile_us(0.90)),
            p99_ms: ms(l.quantile_us(0.99)),
            p999_ms: ms(l.quantile_us(0.999)),
            max_ms: ms(l.max_us()),
        }
    }
}

/// One target at one point.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunResult {
    /// `sluice`, `null`, `rocketmq-rust` or `rocketmq-java[-4.9|-5.3]`.
    pub target: String,
    pub point: Point,
    /// Length of the measured window.
    pub elapsed_secs: f64,
    /// Messages the broker acknowledged (producer, e2e) or delivered (consumer).
    pub msgs: u64,
    pub requests: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub msgs_per_sec: f64,
    /// Body bytes per second, MB = 10^6.
    pub mb_per_sec: f64,
    /// What `latency` measures: `send` (request → response), `pull` (request → response) or
    /// `end-to-end` (send → delivered to the consumer).
    pub latency_kind: String,
    pub latency: Latency,
    /// Messages the consumers received (e2e), else 0.
    pub consumed: u64,
    /// Broker process CPU seconds (user + system) during the measured window.
    pub broker_cpu_secs: f64,
    /// Highest VmRSS sampled (every 200 ms) while the point ran. It includes the pages of
    /// mapped store files the process has touched (RssFile + RssShmem).
    pub broker_peak_rss_bytes: u64,
    /// Highest RssAnon sampled: the process's own heap and stacks, without mapped files.
    #[serde(default)]
    pub broker_peak_rss_anon_bytes: u64,
    /// Which of the `--rounds` repetitions of the point this is (0-based); targets alternate
    /// within a round so slow spells of a shared machine fall on all of them.
    #[serde(default)]
    pub round: u32,
    /// Seconds from spawning the target's first process (for rocketmq-java: its NameServer) to
    /// the acknowledgement of a first send over a new connection (topic creation included).
    #[serde(default)]
    pub start_to_first_ack_secs: Option<f64>,
    /// CPU per message of each thread (by name) of the target's processes and of the load
    /// generator, over the warm-up and the measured window, per message sent (consumed, in
    /// the consumer modes) meanwhile (`threads.rs`); empty in reports from before it.
    #[serde(default)]
    pub cpu_by_thread: Vec<crate::threads::ThreadCpu>,
}

impl BrokerReport {
    /// Writes the report as `broker-<unix>.json` into `dir`.
    pub fn write(&self, dir: &Path) -> Result<PathBuf> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(format!("broker-{}.json", self.unix));
        let text = serde_json::to_string_pretty(self)?;
        std::fs::write(&path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    /// Reads a report back, checking its schema.
    pub fn read(path: &Path) -> Result<BrokerReport> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let r: BrokerReport =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        anyhow::ensure!(
            r.schema == SCHEMA,
            "{}: schema {} (want {SCHEMA})",
            path.display(),
            r.schema
        );
        Ok(r)
    }
}

/// Seconds since the Unix epoch (0 if the clock is before it): report names and timestamps.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Where a benchmark's JSON report goes: `explicit`, else `bench/out/<name>-<started>.json` in
/// this repository. Its folder is created.
pub fn report_path(explicit: Option<PathBuf>, name: &str, started: u64) -> std::io::Result<PathBuf> {
    let out = explicit
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("out/{name}-{started}.json")));
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_in_milliseconds() {
        let mut us = Latencies::new();
        (1..=1000).for_each(|v| us.record_us(v));
        let l = Latency::of(&us);
        assert_eq!(l.samples, 1000);
        assert_eq!((l.p50_ms, l.p99_ms, l.p999_ms, l.max_ms), (0.5, 0.99, 0.999, 1.0));
        assert!((l.mean_ms - 0.5005).abs() < 1e-9, "{}", l.mean_ms);
        assert_eq!(Latency::of(&Latencies::new()).samples, 0);
    }
}
