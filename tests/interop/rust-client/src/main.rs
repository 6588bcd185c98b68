//! sluice interop driver for the `rocketmq-client-rust` crate (mxsm/rocketmq-rust's remoting
//! client, language RUST).
//!
//! Usage: `interop-rust-client SCENARIO --namesrv 127.0.0.1:PORT [options]`
//!
//! Every sent or received message is one JSON line on stdout:
//!   {"event":"sent"|"recv", "client":"rust", "id", "offsetMsgId", "topic", "tags", "keys",
//!    "queueId", "queueOffset", "body", ...}
//! Other lines: {"event":"started"} once a consumer is running, {"event":"send_failed",...} for a
//! failed send (with --continue-on-error), {"event":"done",...} at the end, for `query`
//! {"event":"found",...}, and for `produce-transaction` {"event":"check",...} per check-back the
//! broker sent (CHECK_TRANSACTION_STATE) with the answer the listener gave. Logs go to stderr.
//! Exit status 0 = scenario met its goal; 1 = it did
//! not (send failure, too few messages, nothing found); 2 = bad arguments or nothing listening
//! on the NameServer address. Every scenario ends by itself: a global watchdog exits the process
//! (status 3) at --timeout + 20 s whatever the client library is doing.

use std::any::Any;
use std::collections::HashMap;
use std::io::Write;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rocketmq_client_rust::{
    AclClientRPCHook, ClientConfig, ClientRuntime, ClientRuntimeConfig, ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus,
    ConsumeOrderlyContext, ConsumeOrderlyStatus, DefaultMQProducer, DefaultMQPushConsumer,
    LocalTransactionState, MQPushConsumer, MessageListenerConcurrently, MessageListenerOrderly, SendResult,
    SessionCredentials, TransactionListener, TransactionMQProducer,
};
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_model::common::message::message_single::Message;
use rocketmq_model::common::message::MessageTrait;
use rocketmq_observability::TelemetryRuntimeGuard;
use rocketmq_protocol::protocol::heartbeat::message_model::MessageModel;
use rocketmq_runtime::{RuntimeConfig, RuntimeOwner};
use serde_json::{json, Value};

const USAGE: &str = "\
usage: interop-rust-client SCENARIO --namesrv HOST:PORT [options]

scenarios:
  produce              sync sends, one message at a time
  produce-async        async sends (send_with_callback), all in flight at once
  produce-batch        send_batch in batches of --batch-size (request code 320)
  produce-ordered      send_with_selector: shard = i % --shards, queue = shard % #queues
  produce-transaction  TransactionMQProducer: message i follows --tx plan[i % len] (default: even i
                       committed, odd rolled back); stays up to answer check-backs (--await-checks)
  consume              push consumer, concurrent listener
  consume-orderly      push consumer, orderly listener (LOCK_BATCH_MQ)
  query                producer.query_message(--key) and/or view_message(--msg-id ...)
  throughput           --senders concurrent sync senders of --size byte bodies for --duration s

options (defaults in brackets):
  --namesrv HOST:PORT    NameServer address (required)
  --topic T              [InteropTopic]
  --group G              producer/consumer group [interop_rust_<scenario>]
  --count N              messages to send; for consumers: stop after N distinct bodies [100]
  --start I              index of the first message [0]
  --prefix P             body = P-<i>, keys = P-k<i> [m]
  --tags A,B,...         tag of message i = tags[i % len] [TagA]
  --shards K             order keys for produce-ordered [4]
  --batch-size B         [10]
  --interval-ms MS       pause between sync sends [0]
  --continue-on-error    keep sending after a failed send (prints send_failed lines)
  --delay SPEC,...       produce: message i gets SPEC[i % len]: none | level:N (DELAY) |
                         deliver:+MS (TIMER_DELIVER_MS = send time + MS) | delay-sec:S
                         (TIMER_DELAY_SEC) | delay-ms:MS (TIMER_DELAY_MS) |
                         start:+MS (__STARTDELIVERTIME = send time + MS) [none]
  --tx PLAN,...          produce-transaction: message i gets PLAN[i % len]: commit | rollback
                         (decided by the local transaction) | unknown-commit | unknown-rollback
                         (local transaction answers Unknown, the check-back answers commit /
                         rollback) | unknown (Unknown, check-backs answer Unknown too)
                         [commit,rollback]
  --check-answer plan|commit|rollback|unknown   how check-backs are answered [plan]
  --await-checks N       produce-transaction: after sending, wait (bounded by --timeout) until
                         N distinct messages got a commit/rollback check-back answer
                         [the number of unknown-commit/unknown-rollback messages sent]
  --linger-ms MS         produce-transaction: stay up MS more after that [1000]
  --heartbeat-ms MS      client heartbeat interval (>= 10000) [client default 30000]
  --expr EXPR            consumer subscription expression [*]
  --model clustering|broadcasting   [clustering]
  --from first|last      consumeFromWhere for a group with no stored offset [first]
  --idle S               consumer: stop S seconds after the last new message (once >=1 arrived)
  --timeout S            overall bound [60]; consumers stop then (exit 1 if --count not reached)
  --grace-ms MS          consumer: wait before shutdown so offsets are committed [1500]
  --fail                 consumer: the listener answers RECONSUME_LATER for every message
  --max-reconsume N      consumer: maxReconsumeTimes (sent with CONSUMER_SEND_MSG_BACK) [16]
  --stop-at-reconsume K  consumer: --count counts only bodies seen with reconsumeTimes >= K [0]
  --key K (repeatable)   query: QUERY_MESSAGE by key (--expect N: exact hit count)
  --msg-id ID (repeatable)   query: VIEW_MESSAGE_BY_ID with an offset message id; refused unless
                         the id's store address is on 127.0.0.0/8 (the client connects there)
  --uniq-id ID (repeatable)  query: by unique id (UNIQ_KEY), QUERY_MESSAGE with uniqKey flag
  --senders N [16]  --size BYTES [1024]  --duration S [10]   for throughput
  --no-preflight         do not check that the NameServer port accepts connections first
";

#[derive(Clone, Debug)]
struct Opts {
    scenario: String,
    namesrv: String,
    topic: String,
    group: Option<String>,
    count: u64,
    start: u64,
    prefix: String,
    tags: Vec<String>,
    shards: u64,
    batch_size: u64,
    interval_ms: u64,
    continue_on_error: bool,
    expr: String,
    broadcasting: bool,
    from_first: bool,
    idle: Option<f64>,
    timeout: f64,
    grace_ms: u64,
    keys: Vec<String>,
    msg_ids: Vec<String>,
    uniq_ids: Vec<String>,
    expect: Option<u64>,
    senders: u64,
    size: usize,
    duration: f64,
    preflight: bool,
    delay: Vec<Delay>,
    tx_plan: Vec<TxPlan>,
    check_answer: Option<TxPlan>,
    await_checks: Option<u64>,
    linger_ms: u64,
    heartbeat_ms: Option<u32>,
    fail: bool,
    max_reconsume: Option<i32>,
    stop_at_reconsume: i32,
    /// ACL: sign every request with these (the client's AclClientRPCHook).
    access_key: Option<String>,
    secret_key: Option<String>,
}

/// How message i is scheduled (--delay).
#[derive(Clone, Debug, PartialEq)]
enum Delay {
    None,
    Level(i32),
    DeliverIn(u64),
    DelaySec(u64),
    DelayMs(u64),
    StartIn(u64),
}

impl Delay {
    fn parse(s: &str) -> Result<Delay, String> {
        let s = s.trim();
        if s == "none" {
            return Ok(Delay::None);
        }
        let (kind, v) = s
            .split_once(':')
            .ok_or_else(|| format!("--delay: bad spec {s}"))?;
        let v = v.trim().trim_start_matches('+');
        let n: u64 = v.parse().map_err(|_| format!("--delay: bad number in {s}"))?;
        Ok(match kind {
            "level" => Delay::Level(i32::try_from(n).map_err(|_| format!("--delay: {s}"))?),
            "deliver" => Delay::DeliverIn(n),
            "delay-sec" => Delay::DelaySec(n),
            "delay-ms" => Delay::DelayMs(n),
            "start" => Delay::StartIn(n),
            other => return Err(format!("--delay: unknown kind {other}")),
        })
    }
}

/// What happens to transactional message i (--tx), or how check-backs answer (--check-answer).
#[derive(Clone, Copy, Debug, PartialEq)]
enum TxPlan {
    Commit,
    Rollback,
    UnknownCommit,
    UnknownRollback,
    Unknown,
}

impl TxPlan {
    fn parse(s: &str) -> Result<TxPlan, String> {
        Ok(match s.trim() {
            "commit" => TxPlan::Commit,
            "rollback" => TxPlan::Rollback,
            "unknown-commit" => TxPlan::UnknownCommit,
            "unknown-rollback" => TxPlan::UnknownRollback,
            "unknown" => TxPlan::Unknown,
            other => return Err(format!("unknown transaction plan {other}")),
        })
    }
    fn name(self) -> &'static str {
        match self {
            TxPlan::Commit => "commit",
            TxPlan::Rollback => "rollback",
            TxPlan::UnknownCommit => "unknown-commit",
            TxPlan::UnknownRollback => "unknown-rollback",
            TxPlan::Unknown => "unknown",
        }
    }
    /// The local transaction's answer when the message is sent.
    fn execute(self) -> LocalTransactionState {
        match self {
            TxPlan::Commit => LocalTransactionState::CommitMessage,
            TxPlan::Rollback => LocalTransactionState::RollbackMessage,
            _ => LocalTransactionState::Unknown,
        }
    }
    /// The answer to a check-back.
    fn check(self) -> LocalTransactionState {
        match self {
            TxPlan::Commit | TxPlan::UnknownCommit => LocalTransactionState::CommitMessage,
            TxPlan::Rollback | TxPlan::UnknownRollback => LocalTransactionState::RollbackMessage,
            TxPlan::Unknown => LocalTransactionState::Unknown,
        }
    }
    fn commits(self) -> bool {
        matches!(self, TxPlan::Commit | TxPlan::UnknownCommit)
    }
    fn needs_check(self) -> bool {
        matches!(self, TxPlan::UnknownCommit | TxPlan::UnknownRollback)
    }
}

fn parse_args() -> Result<Opts, String> {
    let mut args = std::env::args().skip(1);
    let mut o = Opts {
        scenario: String::new(),
        namesrv: String::new(),
        topic: "InteropTopic".into(),
        group: None,
        count: 100,
        start: 0,
        prefix: "m".into(),
        tags: vec!["TagA".into()],
        shards: 4,
        batch_size: 10,
        interval_ms: 0,
        continue_on_error: false,
        expr: "*".into(),
        broadcasting: false,
        from_first: true,
        idle: None,
        timeout: 60.0,
        grace_ms: 1500,
        keys: vec![],
        msg_ids: vec![],
        uniq_ids: vec![],
        expect: None,
        senders: 16,
        size: 1024,
        duration: 10.0,
        preflight: true,
        delay: vec![Delay::None],
        tx_plan: vec![TxPlan::Commit, TxPlan::Rollback],
        check_answer: None,
        await_checks: None,
        linger_ms: 1000,
        heartbeat_ms: None,
        fail: false,
        max_reconsume: None,
        stop_at_reconsume: 0,
        access_key: None,
        secret_key: None,
    };
    fn val(args: &mut impl Iterator<Item = String>, name: &str) -> Result<String, String> {
        args.next().ok_or_else(|| format!("{name} needs a value"))
    }
    fn num<T: std::str::FromStr>(s: String, name: &str) -> Result<T, String> {
        s.parse().map_err(|_| format!("{name}: not a number: {s}"))
    }
    while let Some(a) = args.next() {
        match a.as_str() {
            "-h" | "--help" => return Err(String::new()),
            "--namesrv" => o.namesrv = val(&mut args, &a)?,
            "--topic" => o.topic = val(&mut args, &a)?,
            "--group" => o.group = Some(val(&mut args, &a)?),
            "--count" => o.count = num(val(&mut args, &a)?, &a)?,
            "--start" => o.start = num(val(&mut args, &a)?, &a)?,
            "--prefix" => o.prefix = val(&mut args, &a)?,
            "--tags" => {
                o.tags = val(&mut args, &a)?
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect();
                if o.tags.is_empty() {
                    return Err("--tags: empty list".into());
                }
            }
            "--shards" => o.shards = num(val(&mut args, &a)?, &a)?,
            "--batch-size" => o.batch_size = num(val(&mut args, &a)?, &a)?,
            "--interval-ms" => o.interval_ms = num(val(&mut args, &a)?, &a)?,
            "--continue-on-error" => o.continue_on_error = true,
            "--expr" => o.expr = val(&mut args, &a)?,
            "--model" => {
                o.broadcasting = match val(&mut args, &a)?.to_ascii_lowercase().as_str() {
                    "clustering" => false,
                    "broadcasting" => true,
                    other => return Err(format!("--model: unknown {other}")),
                }
            }
            "--from" => {
                o.from_first = match val(&mut args, &a)?.as_str() {
                    "first" => true,
                    "last" => false,
                    other => return Err(format!("--from: unknown {other}")),
                }
            }
            "--idle" => o.idle = Some(num(val(&mut args, &a)?, &a)?),
            "--timeout" => o.timeout = num(val(&mut args, &a)?, &a)?,
            "--grace-ms" => o.grace_ms = num(val(&mut args, &a)?, &a)?,
            "--key" => o.keys.push(val(&mut args, &a)?),
            "--msg-id" => o.msg_ids.push(val(&mut args, &a)?),
            "--uniq-id" => o.uniq_ids.push(val(&mut args, &a)?),
            "--expect" => o.expect = Some(num(val(&mut args, &a)?, &a)?),
            "--senders" => o.senders = num(val(&mut args, &a)?, &a)?,
            "--access-key" => o.access_key = Some(val(&mut args, &a)?),
            "--secret-key" => o.secret_key = Some(val(&mut args, &a)?),
            "--size" => o.size = num(val(&mut args, &a)?, &a)?,
            "--duration" => o.duration = num(val(&mut args, &a)?, &a)?,
            "--no-preflight" => o.preflight = false,
            "--delay" => {
                o.delay = val(&mut args, &a)?
                    .split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(Delay::parse)
                    .collect::<Result<_, _>>()?;
                if o.delay.is_empty() {
                    return Err("--delay: empty list".into());
                }
            }
            "--tx" => {
                o.tx_plan = val(&mut args, &a)?
                    .split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(TxPlan::parse)
                    .collect::<Result<_, _>>()?;
                if o.tx_plan.is_empty() {
                    return Err("--tx: empty list".into());
                }
            }
            "--check-answer" => {
                let v = val(&mut args, &a)?;
                o.check_answer = match v.as_str() {
                    "plan" => None,
                    other => Some(TxPlan::parse(other)?),
                };
                if matches!(
                    o.check_answer,
                    Some(TxPlan::UnknownCommit | TxPlan::UnknownRollback)
                ) {
                    return Err("--check-answer: plan, commit, rollback or unknown".into());
                }
            }
            "--await-checks" => o.await_checks = Some(num(val(&mut args, &a)?, &a)?),
            "--linger-ms" => o.linger_ms = num(val(&mut args, &a)?, &a)?,
            "--heartbeat-ms" => o.heartbeat_ms = Some(num(val(&mut args, &a)?, &a)?),
            "--fail" => o.fail = true,
            "--max-reconsume" => o.max_reconsume = Some(num(val(&mut args, &a)?, &a)?),
            "--stop-at-reconsume" => o.stop_at_reconsume = num(val(&mut args, &a)?, &a)?,
            s if s.starts_with('-') => return Err(format!("unknown option {s}")),
            s => {
                if !o.scenario.is_empty() {
                    return Err(format!("unexpected argument {s}"));
                }
                o.scenario = s.to_string();
            }
        }
    }
    const SCENARIOS: &[&str] = &[
        "produce",
        "produce-async",
        "produce-batch",
        "produce-ordered",
        "produce-transaction",
        "consume",
        "consume-orderly",
        "query",
        "throughput",
    ];
    if o.scenario.is_empty() {
        return Err("missing SCENARIO".into());
    }
    if !SCENARIOS.contains(&o.scenario.as_str()) {
        return Err(format!("unknown scenario {}", o.scenario));
    }
    if o.namesrv.is_empty() {
        return Err("--namesrv is required".into());
    }
    if o.shards == 0 || o.batch_size == 0 || o.senders == 0 {
        return Err("--shards, --batch-size and --senders must be > 0".into());
    }
    if !(o.timeout > 0.0 && o.timeout < 3600.0) {
        return Err("--timeout must be in (0, 3600)".into());
    }
    Ok(o)
}

// ---------------------------------------------------------------------------------------------
// Output

static OUT: Mutex<()> = Mutex::new(());

fn emit(v: Value) {
    let _g = OUT.lock().unwrap_or_else(|e| e.into_inner());
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{v}");
    let _ = out.flush();
}

fn log(msg: impl AsRef<str>) {
    eprintln!("[interop-rust-client] {}", msg.as_ref());
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn body_of(o: &Opts, i: u64) -> String {
    format!("{}-{}", o.prefix, i)
}
fn key_of(o: &Opts, i: u64) -> String {
    format!("{}-k{}", o.prefix, i)
}
fn tag_of(o: &Opts, i: u64) -> String {
    o.tags[(i as usize) % o.tags.len()].clone()
}

fn build_message(o: &Opts, i: u64) -> Message {
    Message::builder()
        .topic(o.topic.as_str())
        .tags(tag_of(o, i))
        .key(key_of(o, i))
        .body_slice(body_of(o, i).as_bytes())
        .build_unchecked()
}

/// Applies --delay's spec for message i (just before sending: absolute times are computed from
/// now) and returns the fields the sent line reports about it.
fn apply_delay(o: &Opts, i: u64, m: &mut Message) -> Vec<(&'static str, Value)> {
    let d = &o.delay[(i as usize) % o.delay.len()];
    let now = now_ms();
    let mut f: Vec<(&'static str, Value)> = vec![("sendTs", json!(now))];
    match *d {
        Delay::None => return f,
        Delay::Level(l) => {
            MessageTrait::set_delay_time_level(m, l);
            f.push(("delay", json!(format!("level:{l}"))));
            f.push(("delayLevel", json!(l)));
        }
        Delay::DeliverIn(ms) => {
            m.set_deliver_time_ms(now + ms);
            f.push(("delay", json!(format!("deliver:+{ms}"))));
            f.push(("deliverAt", json!(now + ms)));
        }
        Delay::DelaySec(s) => {
            m.set_delay_time_sec(s);
            f.push(("delay", json!(format!("delay-sec:{s}"))));
            f.push(("delayMs", json!(s * 1000)));
        }
        Delay::DelayMs(ms) => {
            m.set_delay_time_ms(ms);
            f.push(("delay", json!(format!("delay-ms:{ms}"))));
            f.push(("delayMs", json!(ms)));
        }
        Delay::StartIn(ms) => {
            MessageTrait::put_property(m, "__STARTDELIVERTIME".into(), (now + ms).to_string().into());
            f.push(("delay", json!(format!("start:+{ms}"))));
            f.push(("deliverAt", json!(now + ms)));
        }
    }
    f
}

fn sent_line(o: &Opts, i: u64, r: &SendResult, extra: &[(&str, Value)]) -> Value {
    let mut v = json!({
        "event": "sent",
        "client": "rust",
        "index": i,
        "id": r.msg_id.as_ref().map(|s| s.to_string()),
        "offsetMsgId": r.offset_msg_id.clone(),
        "topic": o.topic,
        "tags": tag_of(o, i),
        "keys": key_of(o, i),
        "queueId": r.message_queue.as_ref().map(|q| q.queue_id()),
        "queueOffset": r.queue_offset,
        "status": format!("{:?}", r.send_status),
        "body": body_of(o, i),
        "ts": now_ms(),
    });
    for (k, x) in extra {
        v[*k] = x.clone();
    }
    v
}

fn msg_line(event: &str, m: &MessageExt) -> Value {
    let inner = m.message_inner();
    let uniq = m
        .properties()
        .iter()
        .find(|(k, _)| k.as_str() == "UNIQ_KEY")
        .map(|(_, v)| v.to_string());
    let body = m
        .body()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let props: serde_json::Map<String, Value> = m
        .properties()
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v.to_string())))
        .collect();
    json!({
        "event": event,
        "client": "rust",
        "id": uniq.clone().unwrap_or_else(|| m.msg_id().to_string()),
        "uniqKey": uniq,
        "offsetMsgId": m.msg_id().to_string(),
        "topic": m.topic().to_string(),
        "tags": inner.tags().map(|s| s.to_string()),
        "keys": inner.keys().map(|k| k.join(" ")),
        "queueId": m.queue_id(),
        "queueOffset": m.queue_offset(),
        "reconsumeTimes": m.reconsume_times(),
        "bornTimestamp": m.born_timestamp(),
        "storeTimestamp": m.store_timestamp(),
        "retryTopic": props.get("RETRY_TOPIC").cloned(),
        "props": props,
        "body": body,
        "ts": now_ms(),
    })
}

// ---------------------------------------------------------------------------------------------
// Client plumbing

fn client_config(o: &Opts, role: &str) -> ClientConfig {
    let mut cfg = ClientConfig::new();
    cfg.set_namesrv_addr(o.namesrv.as_str().into());
    cfg.set_client_ip("127.0.0.1".into());
    cfg.set_instance_name(format!("interop-{}-{}", role, std::process::id()).into());
    // Learn new routes (topics created mid-test) sooner than the 30 s default; 10 s is the
    // smallest value the client accepts.
    cfg.set_poll_name_server_interval(10_000);
    if let Some(ms) = o.heartbeat_ms {
        cfg.set_heartbeat_broker_interval(ms);
    }
    cfg
}

fn group(o: &Opts) -> String {
    o.group
        .clone()
        .unwrap_or_else(|| format!("interop_rust_{}", o.scenario.replace('-', "_")))
}

/// The client's ACL hook for --access-key/--secret-key (the Java ≥ 4.9.4 field set).
fn acl_hook(o: &Opts) -> Option<Arc<AclClientRPCHook>> {
    let (ak, sk) = (o.access_key.as_deref()?, o.secret_key.as_deref()?);
    Some(Arc::new(AclClientRPCHook::new(SessionCredentials::with_keys(ak, sk))))
}

fn producer(rt: &Arc<ClientRuntime>, o: &Opts) -> DefaultMQProducer {
    let mut b = DefaultMQProducer::builder(rt.clone())
        .client_config(client_config(o, "p"))
        .producer_group(group(o))
        .send_msg_timeout(3000);
    if let Some(hook) = acl_hook(o) {
        b = b.rpc_hook(hook);
    }
    b.build()
}

fn preflight(addr: &str) -> Result<(), String> {
    let addrs: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map_err(|e| format!("bad --namesrv {addr}: {e}"))?
        .collect();
    let a = addrs.first().ok_or_else(|| format!("bad --namesrv {addr}"))?;
    TcpStream::connect_timeout(a, Duration::from_secs(3))
        .map(|_| ())
        .map_err(|e| format!("nothing accepts connections on NameServer {addr}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// Producer scenarios

async fn run_produce(rt: Arc<ClientRuntime>, o: Opts) -> Result<bool, String> {
    let mut p = producer(&rt, &o);
    p.start().await.map_err(|e| format!("producer start: {e:?}"))?;
    let mut ok = 0u64;
    let mut failed = 0u64;
    let deadline = Instant::now() + Duration::from_secs_f64(o.timeout);
    for i in o.start..o.start + o.count {
        if Instant::now() > deadline {
            log("timeout while sending");
            failed += o.start + o.count - i;
            break;
        }
        let mut sched: Vec<(&str, Value)> = vec![("sendTs", json!(now_ms()))];
        let r = match o.scenario.as_str() {
            "produce-ordered" => {
                let shard = i % o.shards;
                p.send_with_selector(
                    build_message(&o, i),
                    |mqs: &[_], _m: &Message, arg: &u64| {
                        if mqs.is_empty() {
                            None
                        } else {
                            Some(mqs[(*arg as usize) % mqs.len()].clone())
                        }
                    },
                    shard,
                )
                .await
                .map(|r| (r, Some(shard)))
            }
            _ => {
                let mut m = build_message(&o, i);
                sched = apply_delay(&o, i, &mut m);
                p.send_with_timeout(m, 3000).await.map(|r| (r, None))
            }
        };
        match r {
            Ok((Some(r), shard)) => {
                ok += 1;
                let mut extra: Vec<(&str, Value)> =
                    shard.map(|s| vec![("shard", json!(s))]).unwrap_or_default();
                extra.append(&mut sched);
                emit(sent_line(&o, i, &r, &extra));
            }
            Ok((None, _)) => {
                failed += 1;
                emit(
                    json!({"event":"send_failed","client":"rust","index":i,"body":body_of(&o, i),"error":"no send result"}),
                );
                if !o.continue_on_error {
                    break;
                }
            }
            Err(e) => {
                failed += 1;
                emit(
                    json!({"event":"send_failed","client":"rust","index":i,"body":body_of(&o, i),"error":e.to_string()}),
                );
                if !o.continue_on_error {
                    log(format!("send {i} failed: {e}"));
                    break;
                }
            }
        }
        if o.interval_ms > 0 {
            tokio::time::sleep(Duration::from_millis(o.interval_ms)).await;
        }
    }
    p.shutdown().await;
    emit(json!({"event":"done","client":"rust","scenario":o.scenario,"sent":ok,"failed":failed}));
    Ok(failed == 0 || (o.continue_on_error && ok > 0))
}

async fn run_produce_async(rt: Arc<ClientRuntime>, o: Opts) -> Result<bool, String> {
    let mut p = producer(&rt, &o);
    p.start().await.map_err(|e| format!("producer start: {e:?}"))?;
    let done = Arc::new(AtomicU64::new(0));
    let ok = Arc::new(AtomicU64::new(0));
    let mut submit_failed = 0u64;
    for i in o.start..o.start + o.count {
        let (o2, done2, ok2) = (o.clone(), done.clone(), ok.clone());
        let cb = move |r: Option<&SendResult>, e: Option<&rocketmq_client_rust::ClientError>| {
            match (r, e) {
                (Some(r), None) => {
                    ok2.fetch_add(1, Ordering::SeqCst);
                    emit(sent_line(&o2, i, r, &[("mode", json!("async"))]));
                }
                (_, e) => emit(
                    json!({"event":"send_failed","client":"rust","index":i,"body":body_of(&o2, i),
                                       "error": e.map(|e| e.to_string()).unwrap_or_else(|| "no result".into())}),
                ),
            }
            done2.fetch_add(1, Ordering::SeqCst);
        };
        if let Err(e) = p.send_with_callback(build_message(&o, i), cb).await {
            submit_failed += 1;
            done.fetch_add(1, Ordering::SeqCst);
            emit(
                json!({"event":"send_failed","client":"rust","index":i,"body":body_of(&o, i),"error":e.to_string()}),
            );
        }
    }
    let deadline = Instant::now() + Duration::from_secs_f64(o.timeout);
    while done.load(Ordering::SeqCst) < o.count && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    p.shutdown().await;
    let okn = ok.load(Ordering::SeqCst);
    emit(
        json!({"event":"done","client":"rust","scenario":o.scenario,"sent":okn,
                "failed": o.count - okn, "submitFailed": submit_failed}),
    );
    Ok(okn == o.count)
}

async fn run_produce_batch(rt: Arc<ClientRuntime>, o: Opts) -> Result<bool, String> {
    let mut p = producer(&rt, &o);
    p.start().await.map_err(|e| format!("producer start: {e:?}"))?;
    let mut ok = 0u64;
    let mut failed = 0u64;
    let end = o.start + o.count;
    let mut i = o.start;
    while i < end {
        let j = (i + o.batch_size).min(end);
        let msgs: Vec<Message> = (i..j).map(|k| build_message(&o, k)).collect();
        match p.send_batch_with_timeout(msgs, 3000).await {
            Ok(r) => {
                // A batch result carries comma-separated ids and the first message's offset.
                let ids: Vec<String> = r
                    .msg_id
                    .as_ref()
                    .map(|s| s.as_str().split(',').map(str::to_string).collect())
                    .unwrap_or_default();
                let offs: Vec<String> = r
                    .offset_msg_id
                    .as_ref()
                    .map(|s| s.as_str().split(',').map(str::to_string).collect())
                    .unwrap_or_default();
                for (n, k) in (i..j).enumerate() {
                    let mut line = sent_line(&o, k, &r, &[("mode", json!("batch"))]);
                    line["id"] = json!(ids.get(n));
                    line["offsetMsgId"] = json!(offs.get(n));
                    line["queueOffset"] = json!(r.queue_offset + n as u64);
                    emit(line);
                }
                ok += j - i;
            }
            Err(e) => {
                failed += j - i;
                for k in i..j {
                    emit(
                        json!({"event":"send_failed","client":"rust","index":k,"body":body_of(&o, k),"error":e.to_string()}),
                    );
                }
                if !o.continue_on_error {
                    log(format!("batch send failed: {e}"));
                    break;
                }
            }
        }
        i = j;
    }
    p.shutdown().await;
    emit(json!({"event":"done","client":"rust","scenario":o.scenario,"sent":ok,"failed":failed}));
    Ok(failed == 0)
}

/// Check-backs answered so far: body -> number of checks, and the bodies answered commit/rollback.
#[derive(Default)]
struct TxChecks {
    count: Mutex<HashMap<String, u64>>,
    decided: Mutex<std::collections::HashSet<String>>,
}

struct TxListener {
    plan: Vec<TxPlan>,
    /// Overrides the plan for check-backs (--check-answer).
    answer: Option<TxPlan>,
    checks: Arc<TxChecks>,
}

impl TxListener {
    fn plan_of(&self, index: u64) -> TxPlan {
        self.plan[(index as usize) % self.plan.len()]
    }
}

fn state_name(s: LocalTransactionState) -> &'static str {
    match s {
        LocalTransactionState::CommitMessage => "commit",
        LocalTransactionState::RollbackMessage => "rollback",
        LocalTransactionState::Unknown => "unknown",
    }
}

impl TransactionListener for TxListener {
    fn execute_local_transaction(
        &self,
        _msg: &dyn MessageTrait,
        arg: Option<&(dyn Any + Send + Sync)>,
    ) -> LocalTransactionState {
        match arg.and_then(|a| a.downcast_ref::<TxPlan>()) {
            Some(p) => p.execute(),
            None => LocalTransactionState::RollbackMessage,
        }
    }

    fn check_local_transaction(&self, msg: &MessageExt) -> LocalTransactionState {
        let body = msg
            .body()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let index: Option<u64> = body.rsplit('-').next().and_then(|s| s.parse().ok());
        let state = match (self.answer, index) {
            (Some(a), _) => a.check(),
            (None, Some(i)) => self.plan_of(i).check(),
            (None, None) => LocalTransactionState::RollbackMessage,
        };
        let n = {
            let mut c = self.checks.count.lock().unwrap_or_else(|e| e.into_inner());
            let n = c.entry(body.clone()).or_insert(0);
            *n += 1;
            *n
        };
        if state != LocalTransactionState::Unknown {
            self.checks
                .decided
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(body.clone());
        }
        let prop = |k: &str| {
            msg.properties()
                .iter()
                .find(|(pk, _)| pk.as_str() == k)
                .map(|(_, v)| v.to_string())
        };
        emit(json!({
            "event": "check",
            "client": "rust",
            "body": body,
            "id": prop("UNIQ_KEY"),
            "transactionId": prop("__transactionId__"),
            "checkTimes": prop("TRANSACTION_CHECK_TIMES"),
            "topic": msg.topic().to_string(),
            "answer": state_name(state),
            "n": n,
            "ts": now_ms(),
        }));
        state
    }
}

async fn run_produce_transaction(rt: Arc<ClientRuntime>, o: Opts) -> Result<bool, String> {
    let checks = Arc::new(TxChecks::default());
    let mut p = TransactionMQProducer::builder(rt.clone())
        .client_config(client_config(&o, "tx"))
        .producer_group(group(&o))
        // Routes fetched at start: the client then heartbeats the broker (registering the group
        // for check-backs) even when it sends nothing (--count 0).
        .topics(vec![o.topic.clone()])
        .transaction_listener(TxListener {
            plan: o.tx_plan.clone(),
            answer: o.check_answer,
            checks: checks.clone(),
        })
        .build();
    p.start()
        .await
        .map_err(|e| format!("transaction producer start: {e:?}"))?;
    emit(json!({"event":"started","client":"rust","group":group(&o),"topic":o.topic}));
    let deadline = Instant::now() + Duration::from_secs_f64(o.timeout);
    let mut ok = 0u64;
    let mut failed = 0u64;
    let mut awaiting = 0u64;
    for i in o.start..o.start + o.count {
        let plan = o.tx_plan[(i as usize) % o.tx_plan.len()];
        let send_ts = now_ms();
        match p
            .send_message_in_transaction::<TxPlan, _>(build_message(&o, i), Some(plan))
            .await
        {
            Ok(r) => {
                ok += 1;
                if plan.needs_check() {
                    awaiting += 1;
                }
                let state = r.local_transaction_state.map(|s| format!("{s:?}"));
                let extra = [
                    ("transaction", json!(state)),
                    ("tx", json!(plan.name())),
                    ("commit", json!(plan.commits())),
                    ("sendTs", json!(send_ts)),
                ];
                match r.send_result.as_ref() {
                    Some(sr) => emit(sent_line(&o, i, sr, &extra)),
                    None => {
                        let mut v = json!({"event":"sent","client":"rust","index":i,"body":body_of(&o, i),
                                           "ts": now_ms()});
                        for (k, x) in extra {
                            v[k] = x;
                        }
                        emit(v)
                    }
                }
            }
            Err(e) => {
                failed += 1;
                emit(
                    json!({"event":"send_failed","client":"rust","index":i,"body":body_of(&o, i),"error":e.to_string()}),
                );
                if !o.continue_on_error {
                    break;
                }
            }
        }
    }
    // Stay up for the broker's check-backs of the messages left Unknown.
    let want = o.await_checks.unwrap_or(awaiting);
    let decided = || checks.decided.lock().unwrap_or_else(|e| e.into_inner()).len() as u64;
    while decided() < want && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let checks_met = decided() >= want;
    if !checks_met {
        log(format!("only {} of {want} messages were checked back", decided()));
    }
    // Linger: END_TRANSACTION after a check is one-way; let it go out, and see later checks.
    let linger_end = Instant::now() + Duration::from_millis(o.linger_ms);
    while Instant::now() < linger_end {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let total_checks: u64 = checks
        .count
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .values()
        .sum();
    p.shutdown().await;
    emit(
        json!({"event":"done","client":"rust","scenario":o.scenario,"sent":ok,"failed":failed,
                "checks":total_checks,"decidedByCheck":decided(),"awaitedChecks":want}),
    );
    Ok(failed == 0 && checks_met)
}

async fn run_query(rt: Arc<ClientRuntime>, o: Opts) -> Result<bool, String> {
    if o.keys.is_empty() && o.msg_ids.is_empty() && o.uniq_ids.is_empty() {
        return Err("query needs --key and/or --msg-id".into());
    }
    let mut p = producer(&rt, &o);
    p.start().await.map_err(|e| format!("producer start: {e:?}"))?;
    let mut all_ok = true;
    let end = now_ms() + 60_000;
    for k in &o.keys {
        match p.query_message(&o.topic, k, 64, 0, end).await {
            Ok(res) => {
                let n = res.message_list().len() as u64;
                for m in res.message_list() {
                    let mut v = msg_line("found", m);
                    v["query"] = json!({"key": k});
                    emit(v);
                }
                emit(json!({"event":"query_done","client":"rust","key":k,"found":n}));
                if n == 0 || o.expect.is_some_and(|e| e != n) {
                    all_ok = false;
                }
            }
            Err(e) => {
                emit(json!({"event":"query_failed","client":"rust","key":k,"error":e.to_string()}));
                all_ok = false;
            }
        }
    }
    for id in &o.msg_ids {
        // view_message connects to the address encoded in the id: only ever loopback.
        if let Err(e) = offset_id_is_loopback(id) {
            emit(json!({"event":"query_failed","client":"rust","msgId":id,"error":e}));
            all_ok = false;
            continue;
        }
        match p.view_message(&o.topic, id).await {
            Ok(m) => {
                let mut v = msg_line("found", &m);
                v["query"] = json!({"msgId": id});
                emit(v);
            }
            Err(e) => {
                emit(json!({"event":"query_failed","client":"rust","msgId":id,"error":e.to_string()}));
                all_ok = false;
            }
        }
    }
    for id in &o.uniq_ids {
        let r = match p.default_mq_producer_impl() {
            Some(imp) => imp
                .query_message_by_uniq_key(&o.topic, id)
                .await
                .map_err(|e| e.to_string()),
            None => Err("producer not started".to_string()),
        };
        match r {
            Ok(m) => {
                let mut v = msg_line("found", &m);
                v["query"] = json!({"uniqId": id});
                emit(v);
            }
            Err(e) => {
                emit(json!({"event":"query_failed","client":"rust","uniqId":id,"error":e}));
                all_ok = false;
            }
        }
    }
    p.shutdown().await;
    Ok(all_ok)
}

/// An IPv4 offset message id is 32 hex digits: store IP (8), store port (8), commit-log offset (16).
fn offset_id_is_loopback(id: &str) -> Result<(), String> {
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("{id} is not an IPv4 offset message id"));
    }
    let first = u8::from_str_radix(&id[0..2], 16).map_err(|e| e.to_string())?;
    if first != 127 {
        let ip: Vec<String> = (0..4)
            .map(|i| {
                u8::from_str_radix(&id[2 * i..2 * i + 2], 16)
                    .unwrap_or(0)
                    .to_string()
            })
            .collect();
        return Err(format!(
            "{id} encodes store host {}, not loopback; refusing to connect",
            ip.join(".")
        ));
    }
    Ok(())
}

async fn run_throughput(rt: Arc<ClientRuntime>, o: Opts) -> Result<bool, String> {
    let mut p = producer(&rt, &o);
    p.start().await.map_err(|e| format!("producer start: {e:?}"))?;
    // Route warm-up (and topic auto-creation) outside the measured window.
    let warm = Message::builder()
        .topic(o.topic.as_str())
        .tags("warmup")
        .body_slice(&vec![b'w'; o.size])
        .build_unchecked();
    p.send_with_timeout(warm, 5000)
        .await
        .map_err(|e| format!("warm-up send: {e}"))?;
    let p = Arc::new(p);
    let msgs = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let body = bytes_body(o.size);
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for s in 0..o.senders {
        let (p, msgs, errors, stop, body, topic) = (
            p.clone(),
            msgs.clone(),
            errors.clone(),
            stop.clone(),
            body.clone(),
            o.topic.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let m = Message::builder()
                    .topic(topic.as_str())
                    .tags("bench")
                    .key(format!("s{s}-{n}"))
                    .body_slice(&body)
                    .build_unchecked();
                n += 1;
                match p.send_with_timeout(m, 3000).await {
                    Ok(Some(_)) => {
                        msgs.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(o.duration)).await;
    stop.store(true, Ordering::Relaxed);
    let secs_at_stop = t0.elapsed().as_secs_f64();
    let n_at_stop = msgs.load(Ordering::Relaxed);
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
    }
    let errs = errors.load(Ordering::Relaxed);
    emit(json!({
        "event": "throughput",
        "client": "rust",
        "senders": o.senders,
        "size": o.size,
        "msgs": n_at_stop,
        "secs": (secs_at_stop * 1000.0).round() / 1000.0,
        "msgs_per_sec": ((n_at_stop as f64 / secs_at_stop) * 10.0).round() / 10.0,
        "errors": errs,
    }));
    match Arc::try_unwrap(p) {
        Ok(mut p) => p.shutdown().await,
        Err(_) => log("producer still shared at exit; skipping shutdown"),
    }
    Ok(n_at_stop > 0)
}

fn bytes_body(size: usize) -> Arc<Vec<u8>> {
    Arc::new((0..size).map(|i| b'a' + (i % 26) as u8).collect())
}

// ---------------------------------------------------------------------------------------------
// Consumer scenarios

#[derive(Default)]
struct ConsumeState {
    distinct: Mutex<HashMap<String, u64>>,
    total: AtomicU64,
    last_new_ms: AtomicU64,
    /// --fail: every message is answered RECONSUME_LATER.
    fail: bool,
    /// --stop-at-reconsume: deliveries with fewer reconsumeTimes do not count towards --count.
    min_reconsume: i32,
}

impl ConsumeState {
    fn record(&self, msgs: &[&MessageExt]) {
        for m in msgs {
            let mut line = msg_line("recv", m);
            if self.fail {
                line["failed"] = json!(true);
            }
            let body = line["body"].as_str().unwrap_or_default().to_string();
            emit(line);
            self.total.fetch_add(1, Ordering::SeqCst);
            if m.reconsume_times() < self.min_reconsume {
                continue;
            }
            let mut d = self.distinct.lock().unwrap_or_else(|e| e.into_inner());
            let c = d.entry(body).or_insert(0);
            if *c == 0 {
                self.last_new_ms.store(now_ms(), Ordering::SeqCst);
            }
            *c += 1;
        }
    }
    fn distinct(&self) -> u64 {
        self.distinct.lock().unwrap_or_else(|e| e.into_inner()).len() as u64
    }
}

struct Concurrent(Arc<ConsumeState>);
impl MessageListenerConcurrently for Concurrent {
    fn consume_message(
        &self,
        msgs: &[&MessageExt],
        _ctx: &ConsumeConcurrentlyContext,
    ) -> rocketmq_client_rust::ClientResult<ConsumeConcurrentlyStatus> {
        self.0.record(msgs);
        if self.0.fail {
            // delay_level_when_next_consume stays 0: the broker picks the retry delay.
            return Ok(ConsumeConcurrentlyStatus::ReconsumeLater);
        }
        Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
    }
}

struct Orderly(Arc<ConsumeState>);
impl MessageListenerOrderly for Orderly {
    fn consume_message(
        &self,
        msgs: &[&MessageExt],
        ctx: &mut ConsumeOrderlyContext,
    ) -> rocketmq_client_rust::ClientResult<ConsumeOrderlyStatus> {
        ctx.set_auto_commit(true);
        self.0.record(msgs);
        Ok(ConsumeOrderlyStatus::Success)
    }
}

async fn run_consume(rt: Arc<ClientRuntime>, o: Opts) -> Result<bool, String> {
    let model = if o.broadcasting {
        MessageModel::Broadcasting
    } else {
        MessageModel::Clustering
    };
    let from = if o.from_first {
        ConsumeFromWhere::ConsumeFromFirstOffset
    } else {
        ConsumeFromWhere::ConsumeFromLastOffset
    };
    let mut b = DefaultMQPushConsumer::builder(rt.clone())
        .client_config(client_config(&o, "c"))
        .consumer_group(group(&o))
        .message_model(model)
        .consume_from_where(from);
    if let Some(n) = o.max_reconsume {
        b = b.max_reconsume_times(n);
    }
    if let Some(hook) = acl_hook(&o) {
        b = b.rpc_hook(Some(hook));
    }
    let mut c = b.build();
    c.set_consume_from_where(from);
    if o.fail && o.scenario == "consume-orderly" {
        return Err("--fail is only supported by the concurrent listener (consume)".into());
    }
    let state = Arc::new(ConsumeState {
        fail: o.fail,
        min_reconsume: o.stop_at_reconsume,
        ..ConsumeState::default()
    });
    c.subscribe(o.topic.as_str(), o.expr.as_str())
        .await
        .map_err(|e| format!("subscribe: {e:?}"))?;
    if o.scenario == "consume-orderly" {
        c.register_message_listener_orderly(Orderly(state.clone()));
    } else {
        c.register_message_listener_concurrently(Concurrent(state.clone()));
    }
    let t0 = Instant::now();
    c.start().await.map_err(|e| format!("consumer start: {e:?}"))?;
    emit(
        json!({"event":"started","client":"rust","group":group(&o),"topic":o.topic,"expr":o.expr,
                "model": if o.broadcasting {"BROADCASTING"} else {"CLUSTERING"}}),
    );
    let deadline = t0 + Duration::from_secs_f64(o.timeout);
    let mut reason = "timeout";
    while Instant::now() < deadline {
        if state.distinct() >= o.count {
            reason = "count";
            break;
        }
        if let Some(idle) = o.idle {
            let last = state.last_new_ms.load(Ordering::SeqCst);
            if last > 0 && now_ms().saturating_sub(last) as f64 >= idle * 1000.0 {
                reason = "idle";
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Let the client record the last offsets before shutdown persists them.
    tokio::time::sleep(Duration::from_millis(o.grace_ms)).await;
    let _ = tokio::time::timeout(Duration::from_secs(15), c.shutdown()).await;
    let distinct = state.distinct();
    emit(
        json!({"event":"done","client":"rust","scenario":o.scenario,"received":state.total.load(Ordering::SeqCst),
                "distinct":distinct,"reason":reason}),
    );
    Ok(reason == "count" || (o.idle.is_some() && reason == "idle") || (o.count == u64::MAX))
}

// ---------------------------------------------------------------------------------------------

fn main() -> ExitCode {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            if e.is_empty() {
                print!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            eprintln!("interop-rust-client: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let level = std::env::var("INTEROP_LOG").unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::new(level))
        .try_init();
    // Faster rebalancing than the 20 s default so split/broadcast tests settle quickly; the
    // variable is read by the client when the consumer starts.
    if std::env::var_os("rocketmq.client.rebalance.waitInterval").is_none() {
        std::env::set_var("rocketmq.client.rebalance.waitInterval", "2000");
    }
    if o.preflight {
        if let Err(e) = preflight(&o.namesrv) {
            eprintln!("interop-rust-client: {e}");
            emit(json!({"event":"error","client":"rust","error":e}));
            return ExitCode::from(2);
        }
    }
    // Hard bound on the whole process, whatever the library does.
    let hard = Duration::from_secs_f64(
        o.timeout + o.duration.max(0.0) * (o.scenario == "throughput") as u8 as f64 + 20.0,
    );
    std::thread::spawn(move || {
        std::thread::sleep(hard);
        eprintln!("interop-rust-client: watchdog: still running after {hard:?}, exiting");
        let _ = std::io::stdout().flush();
        std::process::exit(3);
    });

    // The default profile admits only 16 × cores queued blocking tasks per lane; the push
    // consumer runs every listener call on one, and on a 2-core machine a backlog of a few
    // dozen messages fails consumes with `runtime.capacity.exhausted` (the client then sends
    // them back for a delayed retry). A deeper queue keeps the listener calls flowing.
    let mut runtime_config = RuntimeConfig::default();
    for lane in [
        &mut runtime_config.blocking_lane_policies.storage_io,
        &mut runtime_config.blocking_lane_policies.metadata_io,
        &mut runtime_config.blocking_lane_policies.cpu_crypto,
    ] {
        lane.max_queue_depth = lane.max_queue_depth.max(4096);
    }
    let owner = match RuntimeOwner::plan(runtime_config)
        .map_err(|e| e.to_string())
        .and_then(|plan| plan.build().map_err(|e| e.to_string()))
    {
        Ok(o) => o,
        Err(e) => {
            eprintln!("interop-rust-client: runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let telemetry = TelemetryRuntimeGuard::noop();
    let rt = match ClientRuntime::try_new(
        owner.root_context().component("interop-client"),
        ClientRuntimeConfig::default(),
        telemetry.handle(),
    ) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("interop-rust-client: client runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = owner.block_on(async {
        let r = match o.scenario.as_str() {
            "produce" | "produce-ordered" => run_produce(rt.clone(), o.clone()).await,
            "produce-async" => run_produce_async(rt.clone(), o.clone()).await,
            "produce-batch" => run_produce_batch(rt.clone(), o.clone()).await,
            "produce-transaction" => run_produce_transaction(rt.clone(), o.clone()).await,
            "consume" | "consume-orderly" => run_consume(rt.clone(), o.clone()).await,
            "query" => run_query(rt.clone(), o.clone()).await,
            "throughput" => run_throughput(rt.clone(), o.clone()).await,
            _ => Err("unreachable scenario".into()),
        };
        let _ = tokio::time::timeout(Duration::from_secs(10), rt.shutdown()).await;
        r
    });
    let _ = owner.shutdown_runtime_blocking();
    let _ = std::io::stdout().flush();
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("interop-rust-client: {e}");
            emit(json!({"event":"error","client":"rust","error":e}));
            ExitCode::from(1)
        }
    }
}
