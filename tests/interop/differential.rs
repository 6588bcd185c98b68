//! The differential test (issue #12 item 4): one scenario per client, run against a sluice broker
//! and against Apache RocketMQ's broker (4.9.7, `scripts/rocketmq-reference.sh`), each behind a
//! sluice NameServer as the only broker of cluster `DefaultCluster`; what the client observes is
//! normalised (times, hosts, ids and which queue a producer starts on are not behaviour) and must
//! be the same. A difference is a bug unless protocol.md records why.
//!
//! The scenario: 24 messages with two tags, keys and user properties to a topic created on first
//! send (TBW102), then 10 more as one batch; a group consuming everything; a group consuming one
//! tag.

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

/// What a client saw of one broker, normalised.
#[derive(Debug, PartialEq)]
struct Observed {
    /// Send status per message.
    status: BTreeMap<String, String>,
    /// The (queueId, queueOffset) pairs the single sends were answered with: which queue a
    /// producer starts on is random, the pairs over all sends are not.
    positions: BTreeSet<(i64, i64)>,
    /// The batch's queue offsets, and whether it landed in one queue (which one is random).
    batch: (Vec<i64>, bool),
    /// Per body, what the all-consuming group received.
    received: BTreeMap<String, Value>,
    /// The bodies the one-tag group received.
    tag_a: BTreeSet<String>,
}

fn normalise(r: &Value) -> Value {
    let mut props: BTreeMap<String, Value> = r["properties"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    props.retain(|k, _| !VOLATILE_PROPERTIES.contains(&k.as_str()));
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
    let sent = produce(
        ctx,
        client,
        "produce",
        TOPIC,
        "diff",
        N,
        &["--tags", "TagA,TagB", "--props", "color=red,size=7"],
    );
    let mut sent = sent;
    sent.extend(produce(
        ctx,
        client,
        "produce-batch",
        TOPIC,
        "diffb",
        BATCH,
        &[
            "--tags",
            "TagA,TagB",
            "--batch-size",
            &BATCH.to_string(),
            "--props",
            "color=blue",
        ],
    ));
    let total = (N + BATCH).to_string();
    let all = ctx.run_ok(
        client,
        "consume",
        &consume_args(TOPIC, "g_diff_all", &total, &[]),
        T_CONSUME,
    );
    let half = ((N + BATCH) / 2).to_string();
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
        positions: sent
            .iter()
            .filter(|s| !body(s).starts_with("diffb"))
            .filter_map(|s| sent_at.get(&body(s)).copied())
            .collect(),
        batch: {
            let at: Vec<(i64, i64)> = sent
                .iter()
                .filter(|s| body(s).starts_with("diffb"))
                .filter_map(|s| sent_at.get(&body(s)).copied())
                .collect();
            let queues: BTreeSet<i64> = at.iter().map(|(q, _)| *q).collect();
            (at.iter().map(|(_, o)| *o).collect(), queues.len() == 1)
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
        on_java.received.len() == (N + BATCH) as usize && diff.is_empty(),
        || {
            format!(
                "{} saw sluice and Apache RocketMQ differ ({} of {} received from Java):\n  {}",
                client.name(),
                on_java.received.len(),
                N + BATCH,
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
