//! Phase 3, **tx**: `--tx-conns` connections doing synchronous sends of 1 KiB messages for
//! `--tx-seconds`: plain, then transactional (half message + END_TRANSACTION commit each); the
//! ratio, and GET_MAX_OFFSET of the real topic against the number committed.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;
use sluice_remoting::codes::response;
use sluice_storage::properties;

use super::common::{
    body_of, code_name, fmt_opt1, now_ms, uniq_key, BrokerEnd, Dist, SendStats, SendSummary, LOAD_QUEUES,
    PRODUCER_GROUP,
};
use super::{Params, Phase};
use crate::broker::BrokerProcess;
use crate::latency::Latencies;
use crate::wire::{Client, Outgoing};

const TX_GROUP: &str = "sluice-bench-tx";
const PLAIN_TOPIC: &str = "BenchTxPlain";
const TX_TOPIC: &str = "BenchTxCommitted";

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
pub(super) struct TxPhase {
    plain: ProduceRun,
    transactional: ProduceRun,
    ratio_tx_to_plain: f64,
    end_transaction: &'static str,
    broker: Option<BrokerEnd>,
}

impl Phase for TxPhase {
    fn set_broker(&mut self, end: BrokerEnd) {
        self.broker = Some(end);
    }
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

pub(super) async fn run(p: &Params, broker: &mut BrokerProcess) -> Result<TxPhase> {
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

pub(super) fn print(x: &TxPhase, tx_size: usize) {
    println!();
    println!(
        "### 3. Transactional vs plain produce ({} connections, synchronous, {} B; END_TRANSACTION {})",
        x.plain.connections, tx_size, x.end_transaction
    );
    println!();
    println!(
        "| mode | completed | msgs/s | p50 ms | p99 ms | refused | errors | topic max offsets | verified |"
    );
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
