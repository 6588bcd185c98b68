//! The load generator of `sluice-bench broker`: `wire.rs` (typed requests on `sluice-remoting`'s connection) talking
//! to a broker port directly, no NameServer, no client library.
//!
//! - **producer**: `producers` connections, each keeping up to `inflight` sends outstanding.
//!   Closed loop (`rate` 0): a new send as soon as the window has room. Open loop: sends are due
//!   at fixed intervals (`rate` split evenly over the connections) and each latency is measured
//!   from the moment the send was due, so a broker that falls behind is charged for the queue it
//!   causes (no coordinated omission). `batch` > 1 sends SEND_BATCH_MESSAGE of that many messages.
//! - **consumer**: fills the topics for `duration` (closed loop), then `producers` connections
//!   pull every queue from offset 0 (32 per pull) until drained or `duration` passes; latency is
//!   the pull round trip.
//! - **consumer-sql92**: the consumer mode with a SQL92 selector that keeps 1 message in 10:
//!   the fill gives message *i* the property `sel = i % 10`, the pulls subscribe `sel = 0`
//!   (the broker needs `enablePropertyFilter=true`, e.g. `--sluice-conf enablePropertyFilter=true`).
//!   `msgs` counts queue entries drained (each examined by the broker's filter), `consumed` the
//!   messages delivered; compare its msgs/s with the consumer mode's in the same run.
//! - **e2e**: the producer load plus one long-polling puller per queue; latency is delivery time
//!   minus the send time the producer wrote into the first 8 bytes of each body (µs since the
//!   epoch, same host).
//!
//! Only requests due inside the measured window (after `warmup`) count.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Result};
use bytes::Bytes;
use sluice_remoting::batch::encode_record;
use sluice_remoting::codes::response;
use sluice_storage::properties;
use sluice_storage::record::CrcCheck;
use tokio::task::JoinSet;
use tokio::time::sleep_until;

use crate::latency::Latencies;
use crate::report::Point;
use crate::wire::{decode_records, Client, Outgoing, SendOutcome, Subscription};

const GROUP: &str = "sluice_bench";
const PULL_BATCH: i32 = 32;
/// The consumer-sql92 mode's selector: one message in ten (`sel` = index % 10).
const SELECTIVE_SQL92: &str = "sel = 0";

/// Counters the progress line reads while a point runs.
#[derive(Default)]
pub struct Live {
    pub sent: AtomicU64,
    pub consumed: AtomicU64,
    pub errors: AtomicU64,
}

/// What one point measured.
#[derive(Debug, Default)]
pub struct Outcome {
    pub elapsed_secs: f64,
    pub msgs: u64,
    pub requests: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub latencies: Latencies,
    pub latency_kind: &'static str,
    pub consumed: u64,
}

impl Outcome {
    fn error(&mut self, e: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(e);
        }
    }

    fn merge(&mut self, o: Outcome) {
        self.msgs += o.msgs;
        self.requests += o.requests;
        self.errors += o.errors;
        if self.first_error.is_none() {
            self.first_error = o.first_error;
        }
        self.latencies.add(&o.latencies);
        self.consumed += o.consumed;
    }
}

/// Where to send and for how long.
pub struct Plan {
    pub addr: std::net::SocketAddr,
    pub point: Point,
    pub topics: Vec<String>,
    pub warmup: Duration,
    pub duration: Duration,
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// A body of `size` bytes whose first 8 hold the current time (µs since the epoch).
fn body(size: usize) -> Vec<u8> {
    let mut b = vec![b'x'; size.max(8)];
    b[..8].copy_from_slice(&now_us().to_be_bytes());
    b
}

fn uniq_key(producer: usize, seq: u64) -> String {
    format!("{:08X}{:08X}{:016X}", std::process::id(), producer, seq)
}

/// Runs the point's mode.
pub async fn run(plan: &Plan, live: Arc<Live>) -> Result<Outcome> {
    match plan.point.mode.as_str() {
        "producer" => produce(plan, live, plan.warmup, plan.duration).await,
        "consumer" => consume(plan, live, None).await,
        "consumer-sql92" => consume(plan, live, Some(SELECTIVE_SQL92)).await,
        "e2e" => end_to_end(plan, live).await,
        m => Err(anyhow!(
            "unknown mode {m} (producer, consumer, consumer-sql92, e2e)"
        )),
    }
}

/// The producer load: returns send latencies and acknowledged messages in the window.
async fn produce(plan: &Plan, live: Arc<Live>, warmup: Duration, duration: Duration) -> Result<Outcome> {
    let p = &plan.point;
    let mut clients = Vec::with_capacity(p.producers);
    for _ in 0..p.producers.max(1) {
        clients.push(Arc::new(Client::connect(plan.addr).await?));
    }
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + duration;
    let topics: Arc<Vec<Arc<str>>> = Arc::new(plan.topics.iter().map(|t| Arc::from(t.as_str())).collect());
    let mut tasks = JoinSet::new();
    for (i, client) in clients.into_iter().enumerate() {
        let shape = p.clone();
        let (topics, live) = (topics.clone(), live.clone());
        tasks.spawn(producer(i, client, shape, topics, live, start, measure_from, end));
    }
    let mut out = Outcome {
        latency_kind: "send",
        ..Outcome::default()
    };
    while let Some(r) = tasks.join_next().await {
        out.merge(r.map_err(|e| anyhow!("producer task: {e}"))?);
    }
    out.elapsed_secs = duration.as_secs_f64();
    Ok(out)
}

type SendDone = (Instant, u64, Result<SendOutcome>);

#[allow(clippy::too_many_arguments)]
async fn producer(
    index: usize,
    client: Arc<Client>,
    p: Point,
    topics: Arc<Vec<Arc<str>>>,
    live: Arc<Live>,
    start: Instant,
    measure_from: Instant,
    end: Instant,
) -> Outcome {
    let mut out = Outcome::default();
    let interval = (p.rate > 0.0).then(|| Duration::from_secs_f64(p.producers.max(1) as f64 / p.rate));
    // Connections' due times are spread over one interval.
    let mut next =
        start + interval.map_or(Duration::ZERO, |iv| iv * index as u32 / p.producers.max(1) as u32);
    let mut window: JoinSet<SendDone> = JoinSet::new();
    let mut seq = 0u64;
    let queues = p.queues.max(1);
    let record = |out: &mut Outcome, done: SendDone| {
        let (due, n, res) = done;
        let counted = due >= measure_from && due < end;
        match res {
            Ok(SendOutcome::Stored(_)) => {
                live.sent.fetch_add(n, Ordering::Relaxed);
                if counted {
                    out.msgs += n;
                    out.requests += 1;
                    out.latencies.record(due.elapsed());
                }
            }
            Ok(SendOutcome::Refused { code, remark }) => {
                live.errors.fetch_add(1, Ordering::Relaxed);
                out.error(format!("refused: code {code} {remark}"));
            }
            Err(e) => {
                live.errors.fetch_add(1, Ordering::Relaxed);
                out.error(format!("{e:#}"));
            }
        }
    };
    loop {
        let now = Instant::now();
        let more = match interval {
            Some(_) => next < end,
            None => now < end,
        };
        if !more && window.is_empty() {
            break;
        }
        if more && window.len() < p.inflight.max(1) {
            let due = match interval {
                Some(iv) => {
                    if next > now {
                        tokio::select! {
                            _ = sleep_until(next.into()) => {}
                            Some(done) = window.join_next(), if !window.is_empty() => {
                                if let Ok(done) = done {
                                    record(&mut out, done);
                                }
                                continue;
                            }
                        }
                    }
                    let due = next;
                    next += iv;
                    due
                }
                None => now,
            };
            let i = seq as usize * p.producers.max(1) + index;
            let topic = topics[i % topics.len()].clone();
            let queue_id = ((i / topics.len()) % queues) as i32;
            let batch = p.batch.max(1);
            let size = p.size;
            let first_key = seq;
            seq += 1;
            let client = client.clone();
            let selective = p.mode == "consumer-sql92";
            window.spawn(async move {
                let props_of = |key: &str, n: u64| {
                    let sel = (n % 10).to_string();
                    let mut pairs = vec![("UNIQ_KEY", key), ("WAIT", "true")];
                    if selective {
                        pairs.push(("sel", sel.as_str()));
                    }
                    properties::encode(pairs)
                };
                let (payload, props) = if batch > 1 {
                    let mut v = Vec::with_capacity(batch * (size + 64));
                    for k in 0..batch as u64 {
                        let n = first_key * batch as u64 + k;
                        encode_record(&mut v, 0, &body(size), &props_of(&uniq_key(index, n), n));
                    }
                    (v, properties::encode([("WAIT", "true")]))
                } else {
                    (body(size), props_of(&uniq_key(index, first_key), first_key))
                };
                let res = client
                    .send(Outgoing {
                        producer_group: GROUP,
                        topic: &topic,
                        queue_id,
                        sys_flag: 0,
                        born_timestamp: (now_us() / 1000) as i64,
                        properties: props,
                        body: Bytes::from(payload),
                        batch: batch > 1,
                    })
                    .await;
                (due, batch as u64, res)
            });
        } else if let Some(done) = window.join_next().await {
            if let Ok(done) = done {
                record(&mut out, done);
            }
        } else {
            break;
        }
    }
    out
}

/// Bodies' send times (µs) of the records in a pull body; counts the records.
fn sent_times(body: &[u8], mut visit: impl FnMut(u64)) -> Result<u64> {
    decode_records(body, CrcCheck::Skip, &mut |rec| {
        if let Some(ts) = rec.body.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
            visit(u64::from_be_bytes(ts));
        }
    })
}

/// Fills the topics (closed loop, `duration`), then drains them with `producers` pulling
/// connections (subscribed to `sql92` when given, else `*`); latency = pull round trip.
async fn consume(plan: &Plan, live: Arc<Live>, sql92: Option<&'static str>) -> Result<Outcome> {
    let p = &plan.point;
    let mut fill = Plan {
        addr: plan.addr,
        point: p.clone(),
        topics: plan.topics.clone(),
        warmup: Duration::ZERO,
        duration: plan.duration,
    };
    fill.point.rate = 0.0;
    let filled = produce(&fill, live.clone(), Duration::ZERO, plan.duration).await?;
    let mut clients = Vec::new();
    for _ in 0..p.producers.max(1) {
        clients.push(Arc::new(Client::connect(plan.addr).await?));
    }
    let start = Instant::now();
    let end = start + plan.duration;
    let mut tasks = JoinSet::new();
    let mut n = 0;
    for topic in &plan.topics {
        for q in 0..p.queues.max(1) as i32 {
            let client = clients[n % clients.len()].clone();
            n += 1;
            let (topic, live) = (topic.clone(), live.clone());
            tasks.spawn(async move {
                let mut out = Outcome::default();
                let mut offset = 0i64;
                let subscription = match sql92 {
                    Some(expr) => Subscription::Sql92(expr),
                    None => Subscription::All,
                };
                while Instant::now() < end {
                    let t0 = Instant::now();
                    match client
                        .pull(GROUP, &topic, q, offset, PULL_BATCH, subscription)
                        .await
                    {
                        Ok(r) if r.code == response::SUCCESS => {
                            out.latencies.record(t0.elapsed());
                            out.requests += 1;
                            match sent_times(&r.body, |_| {}) {
                                Ok(k) => {
                                    out.consumed += k;
                                    live.consumed.fetch_add(k, Ordering::Relaxed);
                                }
                                Err(e) => out.error(format!("{e:#}")),
                            }
                            out.msgs += (r.next_begin_offset - offset).max(0) as u64;
                            offset = r.next_begin_offset;
                        }
                        Ok(r) if r.code == response::PULL_OFFSET_MOVED => offset = r.next_begin_offset,
                        Ok(r) if r.code == response::PULL_NOT_FOUND => break,
                        // Nothing matched in what the broker scanned: go on past it.
                        Ok(r) if r.code == response::PULL_RETRY_IMMEDIATELY => {
                            out.latencies.record(t0.elapsed());
                            out.requests += 1;
                            out.msgs += (r.next_begin_offset - offset).max(0) as u64;
                            offset = r.next_begin_offset;
                        }
                        Ok(r) => {
                            out.error(format!("pull: code {} {}", r.code, r.remark));
                            break;
                        }
                        Err(e) => {
                            out.error(format!("{e:#}"));
                            break;
                        }
                    }
                }
                out
            });
        }
    }
    let mut out = Outcome {
        latency_kind: "pull",
        ..Outcome::default()
    };
    while let Some(r) = tasks.join_next().await {
        out.merge(r.map_err(|e| anyhow!("consumer task: {e}"))?);
    }
    out.elapsed_secs = start.elapsed().as_secs_f64().min(plan.duration.as_secs_f64());
    if filled.first_error.is_some() && out.first_error.is_none() {
        out.first_error = filled.first_error.map(|e| format!("while filling: {e}"));
    }
    Ok(out)
}

/// The producer load plus long-polling pullers; latency = delivery − send time in the body.
async fn end_to_end(plan: &Plan, live: Arc<Live>) -> Result<Outcome> {
    let p = &plan.point;
    let stop = Arc::new(AtomicBool::new(false));
    let samples: Arc<Mutex<Latencies>> = Arc::default();
    let window_from = now_us() + plan.warmup.as_micros() as u64;
    let window_to = window_from + plan.duration.as_micros() as u64;
    let mut pullers = JoinSet::new();
    for topic in &plan.topics {
        for q in 0..p.queues.max(1) as i32 {
            let client = Client::connect(plan.addr).await?;
            let (topic, live, stop, samples) = (topic.clone(), live.clone(), stop.clone(), samples.clone());
            pullers.spawn(async move {
                let mut offset = 0i64;
                let mut errors = Vec::new();
                let mut got = Vec::with_capacity(1024);
                while !stop.load(Ordering::Relaxed) {
                    match client
                        .pull_suspended(GROUP, &topic, q, offset, PULL_BATCH, 200)
                        .await
                    {
                        Ok(r) if r.code == response::SUCCESS => {
                            let now = now_us();
                            got.clear();
                            let res = sent_times(&r.body, |ts| {
                                if ts >= window_from && ts < window_to {
                                    got.push(now.saturating_sub(ts));
                                }
                            });
                            match res {
                                Ok(k) => {
                                    live.consumed.fetch_add(k, Ordering::Relaxed);
                                }
                                Err(e) => errors.push(format!("{e:#}")),
                            }
                            if let Ok(mut s) = samples.lock() {
                                for &us in &got {
                                    s.record(Duration::from_micros(us));
                                }
                            }
                            offset = r.next_begin_offset;
                        }
                        Ok(r) if r.code == response::PULL_OFFSET_MOVED => offset = r.next_begin_offset,
                        Ok(r)
                            if r.code == response::PULL_NOT_FOUND
                                || r.code == response::PULL_RETRY_IMMEDIATELY => {}
                        Ok(r) => {
                            errors.push(format!("pull: code {} {}", r.code, r.remark));
                            break;
                        }
                        Err(e) => {
                            errors.push(format!("{e:#}"));
                            break;
                        }
                    }
                }
                errors
            });
        }
    }
    let mut out = produce(plan, live.clone(), plan.warmup, plan.duration).await?;
    // Let the pullers catch up with what was sent (bounded).
    let sent = live.sent.load(Ordering::Relaxed);
    let grace = Instant::now() + Duration::from_secs(5);
    while live.consumed.load(Ordering::Relaxed) < sent && Instant::now() < grace {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let drain = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(r) = pullers.join_next().await {
            if let Ok(errors) = r {
                for e in errors {
                    out.error(e);
                }
            }
        }
    })
    .await;
    if drain.is_err() {
        pullers.abort_all();
    }
    out.consumed = live.consumed.load(Ordering::Relaxed);
    out.latencies = samples
        .lock()
        .map(|mut s| std::mem::take(&mut *s))
        .unwrap_or_default();
    out.latency_kind = "end-to-end";
    Ok(out)
}
