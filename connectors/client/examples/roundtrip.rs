//! A round trip through any RocketMQ remoting broker with this SDK, as a conformance check:
//!
//! 1. sends `--count` messages of one run — a third one by one (sync), a third as one
//!    SEND_BATCH_MESSAGE, the rest concurrently (async) — each with a tag naming how it was sent
//!    and a key of its own; the first sync body is 8 KiB, so it travels zlib-compressed;
//! 2. pulls every queue of the topic from offset 0 with the pull consumer and checks each
//!    message of the run: body, tag, key and message id (UNIQ_KEY) as sent, each exactly once;
//! 3. starts a CLUSTERING push consumer with a concurrent listener (new group, from the first
//!    offset) that must receive every one of them;
//! 4. sends one transactional message whose local transaction commits; the push consumer must
//!    receive it too.
//!
//! ```text
//! cargo run --release -p sluice-client --example roundtrip -- \
//!     --namesrv 127.0.0.1:9876 --topic RoundTrip --count 30 [--timeout 60] [--wire]
//! ```
//!
//! Prints one JSON line (the summary) on stdout and exits 1 when anything is missing or differs,
//! 2 on bad arguments. The SDK's warnings go to stderr; `--wire` adds one stderr line per
//! exchanged command (request code, response code, remark) for comparison with protocol.md.
//! The topic must exist or the broker must create topics on first send.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use sluice_client::consumer::push::{ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus};
use sluice_client::consumer::{ConsumeFrom, PullConsumer, PullStatus, PushConfig, PushConsumer};
use sluice_client::producer::{LocalTransactionState, TransactionListener, TransactionProducer};
use sluice_client::transport::WIRE_TARGET;
use sluice_client::{ClientConfig, Message, MessageExt, MessageQueue, Producer, ProducerConfig, SendResult};

struct Args {
    namesrv: String,
    topic: String,
    count: usize,
    timeout: Duration,
    wire: bool,
}

const USAGE: &str =
    "usage: roundtrip --namesrv HOST:PORT[;HOST:PORT] --topic TOPIC [--count N] [--timeout SECS] [--wire]";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        namesrv: String::new(),
        topic: String::new(),
        count: 30,
        timeout: Duration::from_secs(60),
        wire: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--namesrv" => args.namesrv = value()?,
            "--topic" => args.topic = value()?,
            "--count" => args.count = value()?.parse().map_err(|e| format!("--count: {e}"))?,
            "--timeout" => {
                let secs: u64 = value()?.parse().map_err(|e| format!("--timeout: {e}"))?;
                args.timeout = Duration::from_secs(secs);
            }
            "--wire" => args.wire = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.namesrv.is_empty() || args.topic.is_empty() {
        return Err("--namesrv and --topic are required".into());
    }
    if args.count < 3 {
        return Err("--count must be at least 3 (sync, batch and async)".into());
    }
    Ok(args)
}

/// What one sent message must look like when it comes back.
#[derive(Debug, Clone)]
struct Expected {
    tag: &'static str,
    key: String,
    msg_id: String,
}

/// How the received copies of the run compare with what was sent.
#[derive(Debug, Default)]
struct Tally {
    /// Body → how often it arrived.
    seen: BTreeMap<String, usize>,
    /// One line per message whose tag, key, id or topic differs.
    mismatches: Vec<String>,
}

impl Tally {
    fn add(&mut self, m: &MessageExt, topic: &str, expected: &BTreeMap<String, Expected>) {
        let body = String::from_utf8_lossy(&m.body).into_owned();
        *self.seen.entry(body.clone()).or_default() += 1;
        let Some(e) = expected.get(&body) else {
            return;
        };
        let mut wrong = Vec::new();
        if m.topic != topic {
            wrong.push(format!("topic {:?}", m.topic));
        }
        if m.tags() != Some(e.tag) {
            wrong.push(format!("tag {:?} (sent {:?})", m.tags(), e.tag));
        }
        if m.keys() != [e.key.as_str()] {
            wrong.push(format!("keys {:?} (sent {:?})", m.keys(), e.key));
        }
        if m.msg_id() != e.msg_id {
            wrong.push(format!("msgId {:?} (sent {:?})", m.msg_id(), e.msg_id));
        }
        if !wrong.is_empty() {
            let short: String = body.chars().take(48).collect();
            self.mismatches.push(format!("{short}: {}", wrong.join(", ")));
        }
    }

    fn missing<'a>(&self, expected: &'a BTreeMap<String, Expected>) -> Vec<&'a str> {
        expected
            .keys()
            .filter(|b| !self.seen.contains_key(*b))
            .map(String::as_str)
            .collect()
    }

    fn duplicates(&self) -> usize {
        self.seen.values().map(|n| n.saturating_sub(1)).sum()
    }

    fn unexpected(&self, expected: &BTreeMap<String, Expected>) -> Vec<&str> {
        self.seen
            .keys()
            .filter(|b| !expected.contains_key(*b))
            .map(String::as_str)
            .collect()
    }

    fn report(&self, expected: &BTreeMap<String, Expected>, strict_once: bool) -> (bool, Value) {
        let missing = self.missing(expected);
        let unexpected = self.unexpected(expected);
        let dups = self.duplicates();
        let ok = missing.is_empty()
            && self.mismatches.is_empty()
            && unexpected.is_empty()
            && (!strict_once || dups == 0);
        let short = |b: &&str| b.chars().take(48).collect::<String>();
        let missing_first: Vec<String> = missing.iter().take(5).map(short).collect();
        let unexpected_first: Vec<String> = unexpected.iter().take(5).map(short).collect();
        let mismatches: Vec<String> = self
            .mismatches
            .iter()
            .take(5)
            .map(|m| m.chars().take(300).collect())
            .collect();
        let v = json!({
            "ok": ok,
            "received": self.seen.len(),
            "expected": expected.len(),
            "duplicates": dups,
            "missing": missing.len(),
            "missing_first": missing_first,
            "unexpected": unexpected_first,
            "mismatches": mismatches,
        });
        (ok, v)
    }
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

/// Sends the run's messages; returns body → expectation of every message the broker accepted
/// and one line per failed send.
async fn send_all(
    producer: &Producer,
    topic: &str,
    run: &str,
    count: usize,
) -> (BTreeMap<String, Expected>, Value, Vec<String>) {
    let mut expected = BTreeMap::new();
    let mut errors = Vec::new();
    let n_sync = count / 3;
    let n_batch = count / 3;
    let n_async = count - n_sync - n_batch;
    let message = |tag: &'static str, i: usize| {
        let mut body = format!("{run}-{tag}-{i}");
        if tag == "sync" && i == 0 {
            // Over ProducerConfig::compress_over: stored zlib-compressed, inflated on the way in.
            body.push('-');
            body.push_str(&"z".repeat(8192));
        }
        let key = format!("key-{run}-{tag}-{i}");
        (
            Message::new(topic, body.clone())
                .with_tags(tag)
                .with_keys([key.clone()]),
            body,
            key,
        )
    };

    let mut sync_ok = 0;
    for i in 0..n_sync {
        let (mut m, body, key) = message("sync", i);
        match producer.send(&mut m).await {
            Ok(r) => {
                sync_ok += 1;
                expected.insert(
                    body,
                    Expected {
                        tag: "sync",
                        key,
                        msg_id: r.msg_id,
                    },
                );
            }
            Err(e) => errors.push(format!("sync send {i}: {e}")),
        }
    }

    let mut batch_ok = 0;
    let (mut batch, rest): (Vec<Message>, Vec<(String, String)>) = (0..n_batch)
        .map(|i| {
            let (m, body, key) = message("batch", i);
            (m, (body, key))
        })
        .unzip();
    match producer.send_batch(&mut batch).await {
        Ok(r) => {
            let ids: Vec<&str> = r.msg_id.split(',').collect();
            if ids.len() != batch.len() {
                errors.push(format!(
                    "batch send: {} ids for {} messages",
                    ids.len(),
                    batch.len()
                ));
            }
            for (m, (body, key)) in batch.iter().zip(rest) {
                batch_ok += 1;
                let msg_id = m.uniq_key().unwrap_or_default().to_owned();
                expected.insert(
                    body,
                    Expected {
                        tag: "batch",
                        key,
                        msg_id,
                    },
                );
            }
        }
        Err(e) => errors.push(format!("batch send: {e}")),
    }

    let mut handles = Vec::new();
    for i in 0..n_async {
        let (m, body, key) = message("async", i);
        handles.push((i, body, key, producer.send_async(m)));
    }
    let mut async_ok = 0;
    for (i, body, key, h) in handles {
        match h.await {
            Ok(Ok(r)) => {
                async_ok += 1;
                expected.insert(
                    body,
                    Expected {
                        tag: "async",
                        key,
                        msg_id: r.msg_id,
                    },
                );
            }
            Ok(Err(e)) => errors.push(format!("async send {i}: {e}")),
            Err(e) => errors.push(format!("async send {i}: task {e}")),
        }
    }
    let summary = json!({
        "ok": errors.is_empty(),
        "sync": [sync_ok, n_sync],
        "batch": [batch_ok, n_batch],
        "async": [async_ok, n_async],
    });
    (expected, summary, errors)
}

/// Pulls every queue of `topic` from offset 0 until every expected body arrived, the queues
/// are exhausted, or `within` passed.
async fn pull_all(
    consumer: &PullConsumer,
    topic: &str,
    run: &str,
    expected: &BTreeMap<String, Expected>,
    within: Duration,
) -> (Tally, Vec<String>) {
    let deadline = Instant::now() + within;
    let mut tally = Tally::default();
    let mut errors = Vec::new();
    let mut offsets: BTreeMap<MessageQueue, i64> = BTreeMap::new();
    let mut found_all = false;
    while !found_all && Instant::now() < deadline {
        let queues = match consumer.queues(topic).await {
            Ok(q) => q,
            Err(e) => {
                errors.push(format!("route of {topic}: {e}"));
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        for mq in queues {
            loop {
                let off = offsets.get(&mq).copied().unwrap_or(0);
                let r = match consumer.pull(&mq, off).await {
                    Ok(r) => r,
                    Err(e) => {
                        errors.push(format!("pull {}:{} at {off}: {e}", mq.broker_name, mq.queue_id));
                        break;
                    }
                };
                let progressed = r.next_begin_offset > off;
                if matches!(r.status, PullStatus::Found | PullStatus::OffsetIllegal)
                    || (r.status == PullStatus::NoMatchedMessage && progressed)
                {
                    offsets.insert(mq.clone(), r.next_begin_offset);
                }
                for m in r.messages.iter().filter(|m| m.body.starts_with(run.as_bytes())) {
                    tally.add(m, topic, expected);
                }
                if r.status != PullStatus::Found || !progressed {
                    break;
                }
            }
        }
        found_all = tally.missing(expected).is_empty();
        if !found_all {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    errors.dedup();
    errors.truncate(5);
    (tally, errors)
}

struct Commit;

impl TransactionListener for Commit {
    fn execute_local_transaction(&self, _msg: &Message, _send: &SendResult) -> LocalTransactionState {
        LocalTransactionState::Commit
    }
    fn check_local_transaction(&self, _msg: &MessageExt) -> LocalTransactionState {
        LocalTransactionState::Commit
    }
}

type Received = Arc<Mutex<Vec<MessageExt>>>;

async fn wait_until(within: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Stderr log of the SDK's `tracing` events: WARN and above, plus the wire events when asked.
struct StderrLog {
    wire: bool,
    started: Instant,
}

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = if field.name() == "message" {
            write!(self.0, " {value:?}")
        } else {
            write!(self.0, " {}={value:?}", field.name())
        };
    }
}

impl tracing::Subscriber for StderrLog {
    fn enabled(&self, meta: &tracing::Metadata<'_>) -> bool {
        if meta.target() == WIRE_TARGET {
            return self.wire;
        }
        meta.target().starts_with("sluice_client") && *meta.level() <= tracing::Level::WARN
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let meta = event.metadata();
        let mut line = format!(
            "{:>8.3}s {} {}:",
            self.started.elapsed().as_secs_f64(),
            meta.level(),
            meta.target()
        );
        event.record(&mut Fields(&mut line));
        eprintln!("{line}");
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("roundtrip: {e}");
            }
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    let _ = tracing::subscriber::set_global_default(StderrLog {
        wire: args.wire,
        started: Instant::now(),
    });
    let ok = run(&args).await;
    std::process::exit(if ok { 0 } else { 1 });
}

async fn run(args: &Args) -> bool {
    let started = Instant::now();
    let run = format!("rt{:x}", now_ms());
    let topic = args.topic.as_str();
    let client = ClientConfig::new(args.namesrv.split(';').map(str::to_owned));
    let mut errors: Vec<String> = Vec::new();
    let mut summary = json!({
        "namesrv": args.namesrv,
        "topic": topic,
        "run": run,
        "count": args.count,
    });

    // 1. Sends.
    let phase = Instant::now();
    let producer = match Producer::new(client.clone(), ProducerConfig::new(format!("{run}_pg"))) {
        Ok(p) => p,
        Err(e) => {
            summary["ok"] = json!(false);
            summary["errors"] = json!([format!("producer: {e}")]);
            println!("{summary}");
            return false;
        }
    };
    let (expected, sent, send_errors) = send_all(&producer, topic, &run, args.count).await;
    let send_ok = send_errors.is_empty();
    summary["send"] = sent;
    summary["send"]["ms"] = json!(phase.elapsed().as_millis());
    errors.extend(send_errors.into_iter().take(5));

    // 2. Pull everything back.
    let phase = Instant::now();
    let pull_ok = match PullConsumer::new(client.clone(), format!("{run}_pull")) {
        Ok(consumer) => {
            let (tally, pull_errors) = pull_all(&consumer, topic, &run, &expected, args.timeout).await;
            let (ok, mut v) = tally.report(&expected, true);
            v["ms"] = json!(phase.elapsed().as_millis());
            summary["pull"] = v;
            if !ok {
                errors.extend(pull_errors);
            }
            consumer.shutdown().await;
            ok
        }
        Err(e) => {
            errors.push(format!("pull consumer: {e}"));
            false
        }
    };

    // 3. Push consumer, and 4. a committed transaction delivered to it.
    let phase = Instant::now();
    let received: Received = Arc::default();
    let mut config = PushConfig::new(format!("{run}_push"));
    config.consume_from = ConsumeFrom::FirstOffset;
    let push = match PushConsumer::new(client.clone(), config) {
        Ok(c) => Some(c),
        Err(e) => {
            errors.push(format!("push consumer: {e}"));
            None
        }
    };
    let mut push_ok = false;
    let mut tx_ok = false;
    if let Some(push) = &push {
        push.subscribe(topic, "*");
        let sink = received.clone();
        let prefix = run.clone();
        let listener = move |msgs: &[MessageExt], _ctx: &mut ConsumeConcurrentlyContext| {
            if let Ok(mut r) = sink.lock() {
                r.extend(
                    msgs.iter()
                        .filter(|m| m.body.starts_with(prefix.as_bytes()))
                        .cloned(),
                );
            }
            ConsumeConcurrentlyStatus::ConsumeSuccess
        };
        if let Err(e) = push.start_concurrently(listener).await {
            errors.push(format!("push consumer start: {e}"));
        } else {
            let tally_of = |received: &Received| {
                let mut t = Tally::default();
                if let Ok(r) = received.lock() {
                    for m in r.iter() {
                        t.add(m, topic, &expected);
                    }
                }
                t
            };
            let all = wait_until(args.timeout, || tally_of(&received).missing(&expected).is_empty()).await;
            // A moment for wrong extra deliveries to show.
            tokio::time::sleep(Duration::from_millis(if all { 1000 } else { 0 })).await;
            let (ok, mut v) = tally_of(&received).report(&expected, false);
            push_ok = ok;
            v["ms"] = json!(phase.elapsed().as_millis());
            v["queues"] = json!(push.assigned_queues().iter().filter(|q| q.topic == topic).count());
            summary["push"] = v;

            // 4. Transaction.
            let phase = Instant::now();
            let mut tx = json!({ "ok": false });
            match TransactionProducer::new(
                client.clone(),
                ProducerConfig::new(format!("{run}_txpg")),
                Arc::new(Commit),
            ) {
                Ok(txp) => {
                    let body = format!("{run}-tx-0");
                    let m = Message::new(topic, body.clone())
                        .with_tags("tx")
                        .with_keys([format!("key-{run}-tx")]);
                    match txp.send_in_transaction(m).await {
                        Ok(r) => {
                            tx["state"] = json!(format!("{:?}", r.state));
                            tx["queue"] = json!(r.send.queue.queue_id);
                            let delivered = wait_until(args.timeout, || {
                                received
                                    .lock()
                                    .map(|r| r.iter().any(|m| m.body == body.as_bytes()))
                                    .unwrap_or(false)
                            })
                            .await;
                            tx_ok = delivered && r.state == LocalTransactionState::Commit;
                            tx["delivered"] = json!(delivered);
                            if let Some(m) = received
                                .lock()
                                .ok()
                                .and_then(|r| r.iter().find(|m| m.body == body.as_bytes()).cloned())
                            {
                                let tag_ok = m.tags() == Some("tx") && m.msg_id() == r.send.msg_id;
                                tx_ok &= tag_ok;
                                tx["tag_and_id_ok"] = json!(tag_ok);
                            }
                            if !delivered {
                                errors.push("the committed transactional message was not delivered".into());
                            }
                        }
                        Err(e) => errors.push(format!("transactional send: {e}")),
                    }
                    txp.shutdown().await;
                }
                Err(e) => errors.push(format!("transaction producer: {e}")),
            }
            tx["ok"] = json!(tx_ok);
            tx["ms"] = json!(phase.elapsed().as_millis());
            summary["transaction"] = tx;
        }
        push.shutdown().await;
    }
    producer.shutdown().await;

    let ok = send_ok && pull_ok && push_ok && tx_ok;
    summary["ok"] = json!(ok);
    summary["errors"] = json!(errors);
    summary["elapsed_ms"] = json!(started.elapsed().as_millis());
    println!("{summary}");
    ok
}
