//! Phase 1, **lateness**: delay-level (levels 1–3) and timer (`TIMER_DELIVER_MS`, 1–10 s
//! ahead) messages sent at ~50 msg/s each while a paced background load of 1 KiB messages runs
//! at `--load-rate`; once everything is due (+ `--settle-secs`) the target topics are pulled from
//! offset 0 and each delivered record's lateness is its STORETIMESTAMP minus the due time the
//! message carries in the `BENCH_DUE` property (send time + delay). Reference, same run: the
//! store latency (STORETIMESTAMP − BORNTIMESTAMP) of the background messages.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use bytes::Bytes;
use serde::Serialize;
use sluice_storage::properties;

use super::common::{
    body_of, fmt_opt, fmt_opt1, mix, now_ms, paced, uniq_key, wait_until_ms, BrokerEnd, Dist, SendStats,
    SendSummary, DUE_PROP, ID_PROP, LOAD_QUEUES, PRODUCER_GROUP,
};
use super::delivery::{collect, lateness_row, pull_topic, Lateness, Tracker};
use super::{Params, Phase};
use crate::broker::{BrokerProcess, Memory};
use crate::latency::Latencies;
use crate::wire::{Client, Outgoing};

const LOAD_TOPIC: &str = "BenchSchedLoad";
const DELAY_TOPIC: &str = "BenchSchedDelay";
const TIMER_TOPIC: &str = "BenchSchedTimer";
const SCHED_QUEUES: i32 = 4;

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
pub(super) struct LatenessPhase {
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

impl Phase for LatenessPhase {
    fn set_broker(&mut self, end: BrokerEnd) {
        self.broker = Some(end);
    }
}

pub(super) async fn run(p: &Params, broker: &mut BrokerProcess) -> Result<LatenessPhase> {
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

pub(super) fn print(l: &LatenessPhase) {
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
