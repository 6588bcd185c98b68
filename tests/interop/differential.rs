//! The differential test (issue #12 item 4): one scenario per client, run against a sluice broker
//! and against Apache RocketMQ's broker (4.9.7, `scripts/rocketmq-reference.sh`), each behind a
//! sluice NameServer as the only broker of cluster `DefaultCluster`; what the client observes is
//! normalised (times, hosts, ids and which queue a producer starts on are not behaviour) and must
//! be the same. A difference is a bug unless protocol.md records why.
//!
//! The scenario: 24 messages with two tags, keys and (Java, Go) user properties to a topic
//! created on first send (TBW102), then (all but ali-ons and the C++ client) 10 more as one
//! batch; a group consuming everything; a group consuming one tag.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::harness::{body, consume_args, num, of_event, produce, Client, Ctx, T_CONSUME};

const TOPIC: &str = "InteropDiff";
const N: u64 = 24;
/// Messages of the batch sent after the N single ones.
const BATCH: u64 = 10;
/// The broker both sides run as: the only broker of its cluster.
const GROUP_CONF: &str = "brokerClusterName=DefaultCluster\nbrokerName=broker-a\nbrokerId=0\n\
                          autoCreateTopicEnable=true\nautoCreateSubscriptionGroup=true\n";
/// Properties a client or a pull adds that differ by run, not by broker.
const VOLATILE_PROPERTIES: &[&str] = &["UNIQ_KEY", "MIN_OFFSET", "MAX_OFFSET", "CONSUME_START_TIME"];

/// Whether the client's driver sets user properties (`--props`).
fn user_properties(client: Client) -> bool {
    matches!(client, Client::Java | Client::Go)
}

/// Whether the scenario sends a batch: ali-ons has no batch send, and the C++ client (PyPI
/// `rocketmq`) marks its batches `batch=1`, which Java reads as false (`Boolean.parseBoolean`,
/// protocol.md §1.8) and so stores the whole batch as one message whose body is the encoded
/// batch (apache/rocketmq-client-cpp#363). sluice reads `1` as true on purpose
/// (`sluice_remoting::ext`) and stores the messages the client sent; `cpp_client.rs` tests
/// that batch against sluice.
fn batches(client: Client) -> bool {
    !matches!(client, Client::Js | Client::Py)
}

/// What a client saw of one broker, normalised.
#[derive(Debug, PartialEq)]
struct Observed {
    /// Send status per message.
    status: BTreeMap<String, String>,
    /// How many single sends were answered with a position, and whether every queue's offsets
    /// ran 0, 1, 2, … (which queues a producer picks is the client's choice, not the broker's:
    /// rocketmq-client-rust's spread differs from run to run).
    positions: (usize, bool),
    /// How many messages the batch had and whether they got consecutive offsets in one queue.
    batch: (usize, bool),
    /// Per body, what the all-consuming group received.
    received: BTreeMap<String, Value>,
    /// The bodies the one-tag group received.
    tag_a: BTreeSet<String>,
}

fn normalise(r: &Value) -> Value {
    // Drivers name the map `properties` (Java, Go) or `props` (ali-ons, rocketmq-client-rust).
    let all = if r["properties"].is_object() {
        &r["properties"]
    } else {
        &r["props"]
    };
    let mut props: BTreeMap<String, Value> = all
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    // ali-ons reads an empty property after the last separator of a stored string that ends
    // with one, as sluice's do (every entry `name\x01value\x02`, protocol.md §3.5); Java's broker
    // stores single messages without the final `\x02`. The bytes differ, not the properties.
    props.retain(|k, _| !k.is_empty() && !VOLATILE_PROPERTIES.contains(&k.as_str()));
    json!({
        "topic": r["topic"],
        "tags": r["tags"],
        "keys": r["keys"],
        "reconsumeTimes": r["reconsumeTimes"],
        "sysFlag": r["sysFlag"],
        "properties": props,
        // Same on both sides only through the send answer it must match (checked below).
        "queue": [r["queueId"], r["queueOffset"]],
    })
}

fn observe(ctx: &mut Ctx, client: Client) -> Observed {
    let props: &[&str] = if user_properties(client) {
        &["--props", "color=red,size=7"]
    } else {
        &[]
    };
    let args: Vec<&str> = ["--tags", "TagA,TagB"].iter().chain(props).copied().collect();
    let mut sent = produce(ctx, client, "produce", TOPIC, "diff", N, &args);
    let batch = if batches(client) { BATCH } else { 0 };
    if batch > 0 {
        let size = BATCH.to_string();
        let mut args = vec!["--tags", "TagA,TagB", "--batch-size", size.as_str()];
        if user_properties(client) {
            args.extend(["--props", "color=blue"]);
        }
        sent.extend(produce(
            ctx,
            client,
            "produce-batch",
            TOPIC,
            "diffb",
            BATCH,
            &args,
        ));
    }
    let total = (N + batch).to_string();
    let all = ctx.run_ok(
        client,
        "consume",
        &consume_args(TOPIC, "g_diff_all", &total, &[]),
        T_CONSUME,
    );
    let half = ((N + batch) / 2).to_string();
    let tag_a = ctx.run_ok(
        client,
        "consume",
        &consume_args(TOPIC, "g_diff_a", &half, &["--expr", "TagA"]),
        T_CONSUME,
    );
    let sent_at: BTreeMap<String, (i64, i64)> = sent
        .iter()
        .filter_map(|s| Some((body(s), (num(&s["queueId"])?, num(&s["queueOffset"])?))))
        .collect();
    let mut received = BTreeMap::new();
    for r in of_event(&all, "recv") {
        let mut v = normalise(&r);
        // The position a message is read at is the one its send was answered with.
        let at = (
            num(&r["queueId"]).unwrap_or(-1),
            num(&r["queueOffset"]).unwrap_or(-1),
        );
        v["queue"] = json!(sent_at.get(&body(&r)) == Some(&at));
        received.insert(body(&r), v);
    }
    Observed {
        status: sent
            .iter()
            .map(|s| (body(s), s["status"].as_str().unwrap_or("?").to_owned()))
            .collect(),
        positions: {
            let mut per_queue: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
            for s in sent.iter().filter(|s| !body(s).starts_with("diffb")) {
                if let Some((q, o)) = sent_at.get(&body(s)) {
                    per_queue.entry(*q).or_default().push(*o);
                }
            }
            let count = per_queue.values().map(Vec::len).sum();
            let dense = per_queue.values_mut().all(|offs| {
                offs.sort_unstable();
                offs.iter().enumerate().all(|(i, o)| *o == i as i64)
            });
            (count, dense)
        },
        batch: {
            let at: Vec<(i64, i64)> = sent
                .iter()
                .filter(|s| body(s).starts_with("diffb"))
                .filter_map(|s| sent_at.get(&body(s)).copied())
                .collect();
            let queues: BTreeSet<i64> = at.iter().map(|(q, _)| *q).collect();
            let consecutive = at.windows(2).all(|w| w[1].1 == w[0].1 + 1);
            (at.len(), queues.len() <= 1 && consecutive)
        },
        received,
        tag_a: of_event(&tag_a, "recv").iter().map(body).collect(),
    }
}

/// The differences between what `client` saw of sluice and of Apache RocketMQ, as lines.
fn differences(sluice: &Observed, java: &Observed) -> Vec<String> {
    let mut out = Vec::new();
    let d = |v: &dyn std::fmt::Debug| format!("{v:?}");
    for (what, s, j) in [
        ("send status", d(&sluice.status), d(&java.status)),
        ("send positions", d(&sluice.positions), d(&java.positions)),
        ("batch offsets", d(&sluice.batch), d(&java.batch)),
        ("TagA group", d(&sluice.tag_a), d(&java.tag_a)),
    ] {
        if s != j {
            out.push(format!("{what}: sluice {s} java {j}"));
        }
    }
    let bodies: BTreeSet<&String> = sluice.received.keys().chain(java.received.keys()).collect();
    for b in bodies {
        let (s, j) = (sluice.received.get(b), java.received.get(b));
        if s != j {
            out.push(format!(
                "{b}: sluice {} java {}",
                s.map_or("(not received)".into(), Value::to_string),
                j.map_or("(not received)".into(), Value::to_string)
            ));
        }
    }
    out
}

fn run(client: Client) {
    let test = format!("{}_differential", client.name());
    let Some(mut ctx) = Ctx::start_cluster(&format!("{test}_sluice")) else {
        return;
    };
    ctx.add_broker("sluice", GROUP_CONF);
    let on_sluice = observe(&mut ctx, client);
    drop(ctx);
    let Some(mut ctx) = Ctx::start_cluster(&format!("{test}_java")) else {
        return;
    };
    if let Err(e) = ctx.add_java_broker("java", GROUP_CONF) {
        ctx.fail(&format!("the Java broker cannot run here: {e}"), &[]);
    }
    let on_java = observe(&mut ctx, client);
    let diff = differences(&on_sluice, &on_java);
    ctx.check(
        on_java.received.len() == on_java.status.len() && diff.is_empty(),
        || {
            format!(
                "{} saw sluice and Apache RocketMQ differ ({} of {} received from Java):\n  {}",
                client.name(),
                on_java.received.len(),
                on_java.status.len(),
                diff.join("\n  ")
            )
        },
        &[],
    );
}

#[test]
fn java_differential() {
    run(Client::Java);
}

#[test]
fn go_differential() {
    run(Client::Go);
}

#[test]
fn js_differential() {
    run(Client::Js);
}

#[test]
fn rust_differential() {
    run(Client::Rust);
}

#[test]
fn py_differential() {
    run(Client::Py);
}
