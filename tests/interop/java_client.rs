//! The Apache RocketMQ Java client (`org.apache.rocketmq:rocketmq-client` 4.9.8), driver
//! `java/`: the shared scenarios, the four send modes with properties and a compressed body,
//! consumeFromWhere, DefaultLitePullConsumer, transactions, delays and timers, retry to the DLQ,
//! queries by key and id, message trace and namespaces.

use std::collections::BTreeSet;
use std::thread;
use std::time::Duration;

use serde_json::Value;

use crate::harness::{
    bodies, body, check_batches_one_queue, check_fields, check_resumed, consume_args, num, of_event, produce,
    query_until_found, Client, Ctx, T_CONSUME,
};
use crate::schedule::wall_ms;
use crate::{retry_dlq, scenarios, schedule, transaction};

const J: Client = Client::Java;

#[test]
fn java_produce_consume() {
    scenarios::produce_consume(J);
}
#[test]
fn java_tag_filter() {
    scenarios::tag_filter(J);
}
#[test]
fn java_sql92_filter() {
    scenarios::sql92_filter(J);
}
#[test]
fn java_offsets_resume() {
    scenarios::offsets_resume(J);
}
#[test]
fn java_two_consumers_split() {
    scenarios::two_consumers_split(J);
}
#[test]
fn java_two_orderly_consumers_split() {
    scenarios::two_orderly_consumers_split(J);
}
#[test]
fn java_broadcast() {
    scenarios::broadcast(J);
}
#[test]
fn java_ordered() {
    scenarios::ordered(J);
}
#[test]
fn java_delay_level() {
    schedule::scenario_schedule(
        J,
        "java_delay_level",
        "InteropDelay",
        "level:1,level:2,level:3",
        6,
    );
}
/// 5.x timer properties set on a 4.9.8 message (the client just carries them).
#[test]
fn java_timer_properties() {
    schedule::scenario_schedule(
        J,
        "java_timer_properties",
        "InteropTimer",
        "deliver:+3000,delay-sec:2,delay-ms:2500,start:+3000",
        8,
    );
}
#[test]
fn java_retry_dlq() {
    retry_dlq::scenario_retry_dlq(J);
}
#[test]
fn java_transaction() {
    transaction::scenario_transaction(J);
}

/// The body size the driver pads to: over the client's 4 KiB compression threshold.
const BIG: usize = 5000;
const PROPS: &str = "color=red,size=L";

/// Sync, async, one-way and batch sends, each with tags, keys, two user properties and a
/// 5000-byte body: everything arrives intact, with its properties, and single sends arrive
/// compressed (sysFlag bit 0) as the client stored them.
#[test]
fn java_send_modes() {
    let Some(mut ctx) = Ctx::start("java_send_modes", None) else {
        return;
    };
    let topic = "InteropSendModes";
    let big = BIG.to_string();
    let extra = [
        "--tags",
        "TagA,TagB",
        "--props",
        PROPS,
        "--body-size",
        &big,
        "--batch-size",
        "5",
    ];
    let mut sent = Vec::new();
    for (scenario, prefix) in [
        ("produce", "sync"),
        ("produce-async", "async"),
        ("produce-oneway", "oneway"),
        ("produce-batch", "batch"),
    ] {
        sent.extend(produce(&mut ctx, J, scenario, topic, prefix, 10, &extra));
    }
    let lines = ctx.run_ok(
        J,
        "consume",
        &consume_args(topic, "g_send_modes", "40", &[]),
        T_CONSUME,
    );
    let recv = of_event(&lines, "recv");
    ctx.check_none_missing(&bodies(&sent), &bodies(&recv), "lost:", &[]);
    check_fields(&ctx, &sent, &recv);
    for r in &recv {
        let b = body(r);
        ctx.check(
            r["bodyIntact"] == true && num(&r["size"]) == Some(BIG as i64),
            || format!("{b}: body of {} bytes, intact {}", r["size"], r["bodyIntact"]),
            &[],
        );
        ctx.check(
            r["properties"]["color"] == "red" && r["properties"]["size"] == "L",
            || format!("{b}: user properties lost: {}", r["properties"]),
            &[],
        );
        let compressed = num(&r["sysFlag"]).is_some_and(|f| f & 1 == 1);
        let batch = b.starts_with("batch-");
        ctx.check(
            compressed != batch,
            || {
                format!(
                    "{b}: sysFlag {} (a single send over 4 KiB is compressed, a batch is not)",
                    r["sysFlag"]
                )
            },
            &[],
        );
    }
    check_batches_one_queue(&ctx, &sent, 5);
}

/// consumeFromWhere for a new group: FIRST_OFFSET, LAST_OFFSET and TIMESTAMP all start at 0 on a
/// young queue (the broker answers QUERY_CONSUMER_OFFSET with 0, protocol.md §2.3.13, as
/// Apache RocketMQ does); once the group has committed offsets they win over consumeFromWhere.
#[test]
fn java_consume_from_where() {
    let Some(mut ctx) = Ctx::start("java_consume_from_where", None) else {
        return;
    };
    let topic = "InteropFromWhere";
    let old = produce(&mut ctx, J, "produce", topic, "old", 20, &[]);
    let want_old = bodies(&old);
    let ts = format!("timestamp-ms:{}", wall_ms());
    let mut procs = Vec::new();
    for (group, from) in [("g_first", "first"), ("g_last", "last"), ("g_ts", ts.as_str())] {
        let args = consume_args(topic, group, "20", &["--from", from, "--grace-ms", "3000"]);
        procs.push((group, ctx.spawn(J, "consume", &args)));
    }
    for (group, p) in procs.iter_mut() {
        let status = p.wait(T_CONSUME);
        let got = bodies(&p.events("recv"));
        let p: &_ = p;
        ctx.check_none_missing(
            &want_old,
            &got,
            &format!("{group} (status {status:?}) missed"),
            &[p],
        );
    }
    // Committed offsets: g_last restarted from LAST_OFFSET gets only what was sent since.
    let new = produce(&mut ctx, J, "produce", topic, "new", 10, &[]);
    let mut p = ctx.spawn(
        J,
        "consume",
        &consume_args(topic, "g_last", "1000000", &["--from", "last", "--idle", "6"]),
    );
    let _ = p.wait(T_CONSUME);
    check_resumed(&ctx, &p, &new, &want_old, "restarted g_last");
}

/// DefaultLitePullConsumer: assign (every queue, seekToBegin) and subscribe (rebalanced);
/// the subscribing group's auto-committed offsets hold across a restart.
#[test]
fn java_lite_pull() {
    let Some(mut ctx) = Ctx::start("java_lite_pull", None) else {
        return;
    };
    let topic = "InteropLitePull";
    let first = produce(&mut ctx, J, "produce", topic, "lp", 40, &["--tags", "TagA,TagB"]);
    let want = bodies(&first);
    for (group, assign) in [("g_lp_assign", true), ("g_lp_sub", false)] {
        let mut args = consume_args(topic, group, "40", &["--grace-ms", "2000"]);
        if assign {
            args.push("--assign");
        }
        let lines = ctx.run_ok(J, "lite-pull", &args, T_CONSUME);
        let recv = of_event(&lines, "recv");
        ctx.check_none_missing(&want, &bodies(&recv), &format!("{group} missed"), &[]);
        check_fields(&ctx, &first, &recv);
    }
    let second = produce(&mut ctx, J, "produce", topic, "lp2", 20, &[]);
    let mut p = ctx.spawn(
        J,
        "lite-pull",
        &consume_args(topic, "g_lp_sub", "1000000", &["--idle", "6"]),
    );
    let _ = p.wait(T_CONSUME);
    check_resumed(&ctx, &p, &second, &want, "restarted lite-pull");
}

/// queryMessage by key, viewMessage by offset id (VIEW_MESSAGE_BY_ID) and by unique id
/// (QUERY_MESSAGE with the unique-key flag), for messages the Java client sent.
#[test]
fn java_query_by_key_and_id() {
    let Some(mut ctx) = Ctx::start("java_query_by_key_and_id", None) else {
        return;
    };
    let topic = "InteropQuery";
    // Two keys a message ("qjava-k<i> qjava-x<i>"): the index has an entry for each.
    let sent = produce(&mut ctx, J, "produce", topic, "qjava", 5, &["--extra-key"]);
    let keys_of = |s: &Value| -> Vec<String> {
        s["keys"]
            .as_str()
            .unwrap_or_default()
            .split(' ')
            .map(str::to_string)
            .collect()
    };
    let mut args: Vec<String> = vec!["--topic".into(), topic.into()];
    for k in sent.iter().flat_map(keys_of) {
        args.push("--key".into());
        args.push(k);
    }
    let first = &sent[0];
    let offset_id = first["offsetMsgId"].as_str().unwrap_or_default().to_string();
    let uniq_id = first["id"].as_str().unwrap_or_default().to_string();
    args.extend([
        "--msg-id".into(),
        offset_id.clone(),
        "--uniq-id".into(),
        uniq_id.clone(),
    ]);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let last = query_until_found(&mut ctx, J, &argv);
    let found = of_event(&last, "found");
    for s in &sent {
        let keys = keys_of(s);
        ctx.check(
            keys.len() == 2,
            || format!("{}: keys {}", body(s), s["keys"]),
            &[],
        );
        for k in keys {
            ctx.check(
                found
                    .iter()
                    .any(|f| f["query"]["key"] == k.as_str() && body(f) == body(s)),
                || format!("queryMessage({k}) did not return {}", body(s)),
                &[],
            );
        }
    }
    for (tag, id) in [("msgId", &offset_id), ("uniqId", &uniq_id)] {
        ctx.check(
            found.iter().any(|f| {
                f["query"][tag] == id.as_str() && body(f) == body(first) && f["uniqKey"] == uniq_id.as_str()
            }),
            || format!("viewMessage by {tag} {id} did not return {}", body(first)),
            &[],
        );
    }
}

/// enableMsgTrace on producer and consumer: the trace records (Pub, SubBefore, SubAfter) are
/// stored in RMQ_SYS_TRACE_TOPIC and readable there, naming each message's id.
#[test]
fn java_trace() {
    let dash = crate::harness::free_port();
    let conf = format!("traceTopicEnable=true\ndashboardPort={dash}\n");
    let Some(mut ctx) = Ctx::start("java_trace", Some(&conf)) else {
        return;
    };
    let topic = "InteropTraced";
    let group = "g_traced";
    let sent = produce(&mut ctx, J, "produce", topic, "tr", 5, &["--trace"]);
    ctx.run_ok(
        J,
        "consume",
        &consume_args(topic, group, "5", &["--trace", "--grace-ms", "3000"]),
        T_CONSUME,
    );
    let ids: Vec<String> = sent
        .iter()
        .map(|s| s["id"].as_str().unwrap_or_default().to_string())
        .collect();
    // Records are split by \u{2}, their fields by \u{1}.
    let records_of = |lines: &[Value]| -> Vec<Vec<String>> {
        of_event(lines, "recv")
            .iter()
            .flat_map(|r| {
                body(r)
                    .split('\u{2}')
                    .filter(|rec| !rec.is_empty())
                    .map(|rec| rec.split('\u{1}').map(str::to_string).collect())
                    .collect::<Vec<Vec<String>>>()
            })
            .collect()
    };
    let complete = |recs: &[Vec<String>]| {
        ids.iter().all(|id| {
            ["Pub", "SubBefore", "SubAfter"]
                .iter()
                .all(|kind| recs.iter().any(|f| f[0] == *kind && f.contains(id)))
        })
    };
    let mut recs = Vec::new();
    // The trace dispatcher sends in the background: read until every record is there.
    for attempt in 0..4 {
        let lines = ctx.run_ok(
            J,
            "consume",
            &consume_args(
                "RMQ_SYS_TRACE_TOPIC",
                &format!("g_trace_reader_{attempt}"),
                "1000000",
                &["--raw", "--idle", "5", "--timeout", "40"],
            ),
            T_CONSUME,
        );
        recs = records_of(&lines);
        if complete(&recs) {
            break;
        }
        thread::sleep(Duration::from_secs(2));
    }
    for id in &ids {
        for kind in ["Pub", "SubBefore", "SubAfter"] {
            ctx.check(
                recs.iter().any(|f| f[0] == kind && f.contains(id)),
                || format!("no {kind} trace record for message {id} in RMQ_SYS_TRACE_TOPIC"),
                &[],
            );
        }
    }
    for f in recs.iter().filter(|f| f[0] == "Pub") {
        ctx.check(
            f.iter().any(|x| x == topic),
            || format!("a Pub trace record does not name topic {topic}: {f:?}"),
            &[],
        );
    }
    for f in recs.iter().filter(|f| f[0] == "SubBefore") {
        ctx.check(
            f.iter().any(|x| x == group),
            || format!("a SubBefore trace record does not name group {group}: {f:?}"),
            &[],
        );
    }
    // `sluice admin queryMsgTraceById` tells the same life: sent by the producer group to the
    // topic, then before and after consumption by the group.
    let ns = ctx.namesrv();
    let trace_of = |id: &str| {
        let out = std::process::Command::new(crate::harness::sluice_bin())
            .args(["admin", "-n", &ns, "queryMsgTraceById", "-i", id, "--json"])
            .output();
        let rows: Value = out
            .as_ref()
            .ok()
            .and_then(|o| serde_json::from_slice(&o.stdout).ok())
            .unwrap_or(Value::Null);
        (rows, out)
    };
    // What the dashboard's Trace view draws: its API's answer.
    let dashboard_trace_of = |id: &str| {
        crate::metrics::http_get(dash, &format!("/api/admin/queryMsgTraceById?i={id}"))
            .ok()
            .and_then(|(_, body)| serde_json::from_str::<Value>(&body).ok())
            .unwrap_or(Value::Null)
    };
    let has = |rows: &Value, kind: &str, group: &str| {
        rows.as_array()
            .is_some_and(|r| r.iter().any(|r| r["type"] == kind && r["group"] == group))
    };
    let complete = |rows: &Value| {
        has(rows, "Pub", "interop_java_produce")
            && has(rows, "SubBefore", group)
            && has(rows, "SubAfter", group)
    };
    for id in &ids {
        // The broker's own Pub record (traceTopicEnable) can make the topic read above look
        // complete before the producer's trace dispatcher has sent its own: ask again a while.
        let mut asked = trace_of(id);
        for _ in 0..10 {
            if complete(&asked.0) {
                break;
            }
            thread::sleep(Duration::from_secs(1));
            asked = trace_of(id);
        }
        let (rows, out) = asked;
        ctx.check(
            complete(&rows),
            || format!("queryMsgTraceById -i {id}: {rows} ({out:?})"),
            &[],
        );
        // The dashboard tells the same life, row for row (asked again if a late record came
        // between the two reads).
        let mut pair = (rows, dashboard_trace_of(id));
        for _ in 0..3 {
            if pair.0 == pair.1 {
                break;
            }
            thread::sleep(Duration::from_secs(1));
            pair = (trace_of(id).0, dashboard_trace_of(id));
        }
        ctx.check(
            pair.0 == pair.1,
            || {
                format!(
                    "the dashboard's trace of {id}: {}\nqueryMsgTraceById: {}",
                    pair.1, pair.0
                )
            },
            &[],
        );
    }
}

/// setNamespace: producer and consumer in namespace `ns1` see topic `InteropNs`; the broker
/// stores it as `ns1%InteropNs`, which a client without a namespace reads by that name.
#[test]
fn java_namespace() {
    let Some(mut ctx) = Ctx::start("java_namespace", None) else {
        return;
    };
    let topic = "InteropNs";
    let sent = produce(
        &mut ctx,
        J,
        "produce",
        topic,
        "ns",
        10,
        &["--namespace", "ns1", "--tags", "TagA,TagB"],
    );
    let lines = ctx.run_ok(
        J,
        "consume",
        &consume_args(topic, "g_ns", "10", &["--namespace", "ns1"]),
        T_CONSUME,
    );
    let recv = of_event(&lines, "recv");
    ctx.check_none_missing(&bodies(&sent), &bodies(&recv), "namespaced consumer missed", &[]);
    check_fields(&ctx, &sent, &recv);
    ctx.check(
        recv.iter().all(|r| r["topic"] == topic),
        || "the namespaced consumer saw a topic other than its own name".into(),
        &[],
    );
    let raw = "ns1%InteropNs";
    let lines = ctx.run_ok(J, "consume", &consume_args(raw, "g_ns_raw", "10", &[]), T_CONSUME);
    let recv = of_event(&lines, "recv");
    ctx.check_none_missing(&bodies(&sent), &bodies(&recv), &format!("{raw} missed"), &[]);
    ctx.check(
        recv.iter().all(|r| r["topic"] == raw),
        || format!("messages read from {raw} name another topic"),
        &[],
    );
}

/// setUnitName / setUnitMode: a unit-mode producer's send auto-creates its topic with the unit
/// topic flag, a unit-mode consumer's heartbeat creates its retry topic with the unit-sub flag
/// (as 4.9 brokers do), and every message arrives.
#[test]
fn java_unit_name_and_mode() {
    let Some(mut ctx) = Ctx::start("java_unit_name_and_mode", None) else {
        return;
    };
    let topic = "InteropUnit";
    let group = "g_unit";
    let unit = ["--unit-name", "unitA", "--unit-mode"];
    let sent = produce(&mut ctx, J, "produce", topic, "unit", 10, &unit);
    let lines = ctx.run_ok(J, "consume", &consume_args(topic, group, "10", &unit), T_CONSUME);
    let recv = of_event(&lines, "recv");
    ctx.check_none_missing(&bodies(&sent), &bodies(&recv), "unit-mode consumer missed", &[]);
    let ns = ctx.namesrv();
    let sys_flag = |t: &str| -> i64 {
        let out = std::process::Command::new(crate::harness::sluice_bin())
            .args(["admin", "-n", &ns, "topicRoute", "-t", t, "--json"])
            .output();
        out.ok()
            .and_then(|o| serde_json::from_slice::<Value>(&o.stdout).ok())
            .and_then(|v| v["queueDatas"][0]["topicSysFlag"].as_i64())
            .unwrap_or(-1)
    };
    let (t, r) = (sys_flag(topic), sys_flag(&format!("%RETRY%{group}")));
    ctx.check(t == 1, || format!("{topic} topicSysFlag {t}, not 1 (unit)"), &[]);
    ctx.check(
        r == 2,
        || format!("%RETRY%{group} topicSysFlag {r}, not 2 (unit sub)"),
        &[],
    );
}

/// An orderly listener that keeps answering SUSPEND_CURRENT_QUEUE_A_MOMENT: the client retries
/// locally (reconsumeTimes 0, 1, 2), then sends the message to `%RETRY%<group>` with
/// RECONSUME_TIME = maxReconsumeTimes, which the broker stores in `%DLQ%<group>` at once (the
/// message's delay level 3 + reconsumeTimes is dropped there, as Apache RocketMQ does; the
/// default level 5 would be a minute).
#[test]
fn java_orderly_retry_dlq() {
    let Some(mut ctx) = Ctx::start("java_orderly_retry_dlq", None) else {
        return;
    };
    let topic = "InteropOrderlyRetry";
    let group = "g_orderly_retry";
    let sent = produce(
        &mut ctx,
        J,
        "produce",
        topic,
        "oretry",
        3,
        &["--tags", "TagA,TagB"],
    );
    let want = bodies(&sent);
    let mut f = ctx.spawn(
        J,
        "consume-orderly",
        &consume_args(
            topic,
            group,
            "3",
            &[
                "--fail",
                "--max-reconsume",
                "2",
                "--stop-at-reconsume",
                "2",
                "--grace-ms",
                "3000",
                "--timeout",
                "60",
            ],
        ),
    );
    let _ = f.wait(T_CONSUME);
    let frecv = f.events("recv");
    for b in &want {
        let rts: BTreeSet<i64> = frecv
            .iter()
            .filter(|r| &body(r) == b)
            .filter_map(|r| num(&r["reconsumeTimes"]))
            .collect();
        ctx.check(
            rts == BTreeSet::from([0, 1, 2]),
            || format!("{b}: orderly deliveries with reconsumeTimes {rts:?}, want {{0, 1, 2}}"),
            &[&f],
        );
    }
    let dlq = format!("%DLQ%{group}");
    let mut d = ctx.spawn(
        J,
        "consume",
        &consume_args(&dlq, "g_orderly_dlq_reader", "3", &["--timeout", "30"]),
    );
    let _ = d.wait(T_CONSUME);
    let drecv = d.events("recv");
    ctx.check_none_missing(
        &want,
        &bodies(&drecv),
        &format!("not in {dlq} within 30 s:"),
        &[&f, &d],
    );
    check_fields(&ctx, &sent, &drecv);
    ctx.check(
        drecv.iter().all(|r| r["topic"] == dlq.as_str()),
        || format!("messages read from {dlq} name another topic"),
        &[&d],
    );
}

/// Committed offsets survive a `kill -9` of the broker: a consumer restarted after it gets
/// exactly what was sent since.
#[test]
fn java_offsets_after_broker_kill9() {
    let Some(mut ctx) = Ctx::start("java_offsets_after_broker_kill9", None) else {
        return;
    };
    let topic = "InteropResumeKill9";
    let group = "g_resume_kill9";
    let first = produce(&mut ctx, J, "produce", topic, "one", 30, &[]);
    let lines = ctx.run_ok(
        J,
        "consume",
        &consume_args(topic, group, "30", &["--grace-ms", "3000"]),
        T_CONSUME,
    );
    let want1 = bodies(&first);
    ctx.check_none_missing(&want1, &bodies(&of_event(&lines, "recv")), "run 1 missed", &[]);
    ctx.broker.kill9();
    ctx.broker.start();
    let second = produce(&mut ctx, J, "produce", topic, "two", 30, &[]);
    let mut p = ctx.spawn(
        J,
        "consume",
        &consume_args(topic, group, "1000000", &["--idle", "6"]),
    );
    let _ = p.wait(T_CONSUME);
    check_resumed(
        &ctx,
        &p,
        &second,
        &want1,
        "the consumer restarted after the broker's kill -9",
    );
}

/// The MQAdmin offset look-ups (GET_MIN_OFFSET, GET_MAX_OFFSET, GET_EARLIEST_MSG_STORETIME,
/// SEARCH_OFFSET_BY_TIMESTAMP) agree with what was sent: 8 messages, a pause, 12 more; a search
/// at the pause finds each queue's first message of the second batch (4.9's closest store time,
/// protocol.md §2.3.14).
#[test]
fn java_queue_offsets() {
    let Some(mut ctx) = Ctx::start("java_queue_offsets", None) else {
        return;
    };
    let topic = "InteropQueueOffsets";
    let first = produce(&mut ctx, J, "produce", topic, "a", 8, &[]);
    thread::sleep(Duration::from_millis(1500));
    let at = wall_ms();
    let second = produce(&mut ctx, J, "produce", topic, "b", 12, &[]);
    let at_s = at.to_string();
    let lines = ctx.run_ok(
        J,
        "queue-offsets",
        &["--topic", topic, "--at", &at_s, "--timeout", "30"],
        Duration::from_secs(60),
    );
    let queues = of_event(&lines, "queue");
    ctx.check(!queues.is_empty(), || "no queue reported".into(), &[]);
    let in_queue =
        |sent: &[Value], q: i64| sent.iter().filter(|s| num(&s["queueId"]) == Some(q)).count() as i64;
    for v in &queues {
        let q = num(&v["queueId"]).unwrap_or(-1);
        let (a, b) = (in_queue(&first, q), in_queue(&second, q));
        let got = |k: &str| num(&v[k]);
        ctx.check(
            got("minOffset") == Some(0) && got("maxOffset") == Some(a + b),
            || {
                format!(
                    "queue {q}: min/max offset {}/{}, want 0/{}",
                    v["minOffset"],
                    v["maxOffset"],
                    a + b
                )
            },
            &[],
        );
        if a > 0 && b > 0 {
            ctx.check(
                got("searchOffset") == Some(a),
                || {
                    format!(
                        "queue {q}: searchOffset({at}) = {}, want {a} (its first message sent after)",
                        v["searchOffset"]
                    )
                },
                &[],
            );
        }
        let earliest = got("earliestMsgStoreTime").unwrap_or(-1);
        let first_sent = first
            .iter()
            .chain(&second)
            .filter(|s| num(&s["queueId"]) == Some(q))
            .filter_map(|s| num(&s["ts"]))
            .min();
        if let Some(t) = first_sent {
            ctx.check(
                earliest > 0 && earliest <= t,
                || {
                    format!(
                        "queue {q}: earliestMsgStoreTime {earliest}, its first send was acknowledged at {t}"
                    )
                },
                &[],
            );
        }
    }
}

/// A SQL92 subscription (MessageSelector.bySql) while `enablePropertyFilter` is off (the
/// default) is refused at consumer start (CHECK_CLIENT_CONFIG) as Apache RocketMQ refuses it:
/// SYSTEM_ERROR (1), "The broker does not support consumer to filter message by SQL92".
#[test]
fn java_sql92_refused() {
    let Some(mut ctx) = Ctx::start("java_sql92_refused", None) else {
        return;
    };
    let topic = "InteropSql";
    produce(&mut ctx, J, "produce", topic, "sql", 1, &[]);
    let mut p = ctx.spawn(
        J,
        "consume",
        &consume_args(topic, "g_sql", "1", &["--sql", "a > 1", "--timeout", "20"]),
    );
    let status = p.wait(Duration::from_secs(60));
    let errors = p.events("error");
    let said = errors.first().map(|e| e["error"].to_string()).unwrap_or_default();
    ctx.check(
        status.is_some_and(|s| s.code() == Some(1))
            && said.contains("CODE: 1 ")
            && said.contains("filter message by SQL92"),
        || {
            format!(
                "the SQL92 consumer should fail to start with SYSTEM_ERROR; status {status:?}, error {said}"
            )
        },
        &[&p],
    );
}
