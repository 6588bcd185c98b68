//! Phase 2, **timers**: `--timers` timers sent in SEND_BATCH_MESSAGE batches as fast as the
//! broker takes them, due uniformly at random in a `--timer-window-secs` window that opens
//! `--timer-lead-secs` after the first send; the broker's RSS before (the reference: idle), after
//! all are pending and at the end, the RocksDB size, then lateness of every delivery.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use bytes::Bytes;
use serde::Serialize;
use sluice_remoting::codes::response;
use sluice_storage::properties;

use super::common::{
    body_of, mix, now_ms, uniq_key, wait_until_ms, BrokerEnd, SendStats, SendSummary, DUE_PROP, ID_PROP,
    LOAD_QUEUES, PRODUCER_GROUP,
};
use super::delivery::{collect, lateness_row, Lateness, Tracker};
use super::{Params, Phase};
use crate::broker::{self, BrokerProcess, Memory};
use crate::wire::{Client, Outgoing, SendOutcome};

const MANY_TIMERS_TOPIC: &str = "BenchSchedTimers";

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

#[derive(Debug, Clone, Serialize)]
pub(super) struct TimersPhase {
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

impl Phase for TimersPhase {
    fn set_broker(&mut self, end: BrokerEnd) {
        self.broker = Some(end);
    }
}

pub(super) async fn run(p: &Params, broker: &mut BrokerProcess) -> Result<TimersPhase> {
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

pub(super) fn print(t: &TimersPhase) {
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
