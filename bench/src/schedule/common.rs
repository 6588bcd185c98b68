//! What the phases share: the ids and names they send under, send statistics and the
//! distribution summary, pacing, and the broker each phase starts and stops (`Ctx`).

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bytes::Bytes;
use serde::Serialize;
use sluice_remoting::codes::response;
use tokio::sync::Semaphore;

use super::Params;
use crate::broker::{BrokerProcess, BrokerSpec, Memory};
use crate::latency::Latencies;
use crate::wire::{SendOk, SendOutcome};

pub(super) const GROUP: &str = "sluice-bench";
pub(super) const PRODUCER_GROUP: &str = "sluice-bench-producer";
/// The property carrying the intended due time (ms) of a scheduled message.
pub(super) const DUE_PROP: &str = "BENCH_DUE";
/// The property carrying a scheduled message's number within its stream.
pub(super) const ID_PROP: &str = "BENCH_ID";
pub(super) const LOAD_QUEUES: i32 = 8;

pub(super) fn now_ms() -> i64 {
    sluice_storage::clock::now_millis()
}

/// SplitMix64: a deterministic, dependency-free source of spread-out numbers.
pub(super) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

static UNIQ: AtomicU64 = AtomicU64::new(0);

/// A 32-hex-digit UNIQ_KEY shaped like a client's (protocol.md §3.7).
pub(super) fn uniq_key() -> String {
    let n = UNIQ.fetch_add(1, Ordering::Relaxed);
    format!(
        "7F000001{:04X}{:08X}{:012X}",
        std::process::id() as u16,
        (now_ms() as u64 & 0xFFFF_FFFF) as u32 ^ 0x5A5A_5A5A,
        n & 0xFFFF_FFFF_FFFF
    )
}

pub(super) fn body_of(size: usize) -> Bytes {
    Bytes::from((0..size).map(|i| b'a' + (i % 26) as u8).collect::<Vec<u8>>())
}

// ---------------------------------------------------------------------------------------------
// Statistics

/// A distribution summary in milliseconds (percentiles as `latency.rs` defines them).
#[derive(Debug, Clone, Serialize)]
pub(super) struct Dist {
    pub(super) n: usize,
    pub(super) min: f64,
    pub(super) p50: f64,
    pub(super) p90: f64,
    pub(super) p99: f64,
    pub(super) max: f64,
    pub(super) mean: f64,
}

impl Dist {
    /// `None` without samples.
    pub(super) fn of(l: &Latencies) -> Option<Dist> {
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
pub(super) struct SendStats {
    pub(super) issued: AtomicU64,
    pub(super) acked: AtomicU64,
    pub(super) errors: AtomicU64,
    pub(super) refused: Mutex<BTreeMap<i32, u64>>,
    pub(super) first_problem: Mutex<Option<String>>,
    pub(super) rtt: Mutex<Latencies>,
}

#[derive(Debug, Clone, Serialize)]
pub(super) struct SendSummary {
    pub(super) issued: u64,
    pub(super) acked: u64,
    /// Response code name → count of sends the broker answered with something other than
    /// "stored".
    pub(super) refused: BTreeMap<String, u64>,
    /// Requests that got no response (timeout, connection closed).
    pub(super) errors: u64,
    pub(super) first_problem: Option<String>,
    pub(super) send_rtt_ms: Option<Dist>,
}

impl SendStats {
    /// Records one send; the stored result if it was stored.
    pub(super) fn record(&self, res: Result<SendOutcome>, rtt: Duration) -> Option<SendOk> {
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

    pub(super) fn problem(&self, what: String) {
        if let Ok(mut p) = self.first_problem.lock() {
            if p.is_none() {
                *p = Some(what);
            }
        }
    }

    pub(super) fn summary(&self) -> SendSummary {
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

pub(super) fn code_name(code: i32) -> String {
    response::name(code)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("code {code}"))
}

/// Issues `make(i)` for i = 0, 1, … at `rate` per second for `duration`, at most `inflight`
/// outstanding; returns how many were issued once all have completed. Falls behind (and then
/// catches up) only when `inflight` requests are outstanding.
pub(super) async fn paced<F, Fut>(rate: f64, duration: Duration, inflight: usize, mut make: F) -> u64
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

pub(super) fn fmt_opt(d: &Option<Dist>, f: impl Fn(&Dist) -> f64) -> String {
    d.as_ref().map_or("–".into(), |d| format!("{:.0}", f(d)))
}

pub(super) fn fmt_opt1(d: &Option<Dist>, f: impl Fn(&Dist) -> f64) -> String {
    d.as_ref().map_or("–".into(), |d| format!("{:.1}", f(d)))
}

// ---------------------------------------------------------------------------------------------
// Broker handling

pub(super) struct Ctx {
    pub(super) params: Params,
    pub(super) base_dir: PathBuf,
    pub(super) keep_data: bool,
    pub(super) log_prefix: String,
}

impl Ctx {
    pub(super) fn start(&self, phase: &str) -> Result<BrokerProcess> {
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

    pub(super) fn finish(&self, phase: &str, broker: BrokerProcess) -> BrokerEnd {
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
pub(super) struct BrokerEnd {
    log: String,
    stop: String,
    /// The first WARN/ERROR lines of the broker's log.
    log_warnings: Vec<String>,
}

/// Sleeps until wall-clock `until_ms`, printing progress every 5 s and checking the broker.
pub(super) async fn wait_until_ms(
    phase: &str,
    what: &str,
    until_ms: i64,
    broker: &mut BrokerProcess,
) -> Result<()> {
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
}
