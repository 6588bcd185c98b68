//! Failed deliveries: redelivered through `%RETRY%<group>` at the retry delay levels, then moved
//! to `%DLQ%<group>` (issue #4).

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use serde_json::Value;

use crate::harness::{
    bodies, body, by_body, consume_args, create_topic, num, produce, Client, Ctx, T_CONSUME,
};
use crate::schedule::{delay_levels_ms, level_ms, CLOCK_MS, SCHEDULE_LATE_MS, SCHEDULE_SLACK_MS};

/// For retries: a failed delivery with reconsumeTimes n comes back after level 3 + n, here
/// 4 s for the first retry and 1 s for the second, so the two are told apart.
const RETRY_LEVELS: &str = "1s 2s 4s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s";
/// From a failed delivery to the client's CONSUMER_SEND_MSG_BACK reaching the broker.
const SEND_BACK_MS: i64 = 1500;

/// A consumer that fails every delivery: the client sends each message back
/// (CONSUMER_SEND_MSG_BACK, delay level 0 = the broker's choice, maxReconsumeTimes 2); it comes
/// back through %RETRY%<group> after delay level 3 + reconsumeTimes with reconsumeTimes one
/// higher, and after the last allowed attempt it lands in %DLQ%<group>, where a consumer of
/// another group reads it.
pub fn scenario_retry_dlq(client: Client) {
    let test = format!("{}_retry_dlq", client.name());
    let metrics_port = crate::harness::free_port();
    let conf = format!(
        "messageDelayLevel={RETRY_LEVELS}\nmetricsExporterType=PROM\n\
         metricsPromExporterHost=127.0.0.1\nmetricsPromExporterPort={metrics_port}\n"
    );
    let levels = delay_levels_ms(RETRY_LEVELS);
    let Some(mut ctx) = Ctx::start(&test, Some(conf.as_str())) else {
        return;
    };
    let topic = "InteropRetry";
    let group = "g_retry";
    let max_rt: i64 = 2;
    create_topic(&mut ctx, client, topic);
    let sent = produce(
        &mut ctx,
        client,
        "produce",
        topic,
        "retry",
        3,
        &["--tags", "TagA,TagB"],
    );
    let sent_by_body = by_body(&sent);
    let mut want = bodies(&sent);
    want.insert("warmup-0".to_string()); // the failing consumer gets (and fails) it too
    let all = want.len().to_string();
    let max_s = max_rt.to_string();
    let mut f = ctx.spawn(
        client,
        "consume",
        &consume_args(
            topic,
            group,
            &all,
            &[
                "--fail",
                "--max-reconsume",
                max_s.as_str(),
                "--stop-at-reconsume",
                max_s.as_str(),
                // After the last failure: time for its send-back (to the DLQ), and to see a
                // redelivery that should not come.
                "--grace-ms",
                "4000",
                "--timeout",
                "90",
            ],
        ),
    );
    let _ = f.wait(Duration::from_secs(120));
    let frecv: Vec<Value> = f.events("recv");
    for b in &want {
        let mine: Vec<&Value> = frecv.iter().filter(|r| &body(r) == b).collect();
        let rts: BTreeSet<i64> = mine.iter().filter_map(|r| num(&r["reconsumeTimes"])).collect();
        let expect: BTreeSet<i64> = (0..=max_rt).collect();
        ctx.check(
            rts == expect,
            || {
                format!(
                    "{b}: deliveries with reconsumeTimes {rts:?}, want {expect:?} \
                     (maxReconsumeTimes {max_rt}, then %DLQ%{group})"
                )
            },
            &[&f],
        );
        for r in &mine {
            // The clients restore the original topic from RETRY_TOPIC.
            ctx.check(
                r["topic"] == topic,
                || {
                    format!(
                        "{b}: delivery {} came with topic {}",
                        r["reconsumeTimes"], r["topic"]
                    )
                },
                &[&f],
            );
            if let Some(s) = sent_by_body.get(b) {
                ctx.check(
                    r["keys"] == s["keys"] && r["tags"] == s["tags"],
                    || format!("{b}: redelivery lost tags/keys: {r}"),
                    &[&f],
                );
            }
        }
        let of_rt = |k: i64| {
            mine.iter()
                .filter(|r| num(&r["reconsumeTimes"]) == Some(k))
                .copied()
                .collect::<Vec<&Value>>()
        };
        for k in 1..=max_rt {
            let (prev, cur) = (of_rt(k - 1), of_rt(k));
            let first_fail = prev.iter().filter_map(|r| num(&r["ts"])).min().unwrap_or(0);
            let last_fail = prev.iter().filter_map(|r| num(&r["ts"])).max().unwrap_or(0);
            let store = cur
                .iter()
                .filter_map(|r| num(&r["storeTimestamp"]))
                .min()
                .unwrap_or(0);
            let level = 3 + (k - 1);
            let d = level_ms(&levels, level);
            ctx.check(
                store >= first_fail + d,
                || {
                    format!(
                        "{b}: retry {k} was stored in %RETRY%{group} {} ms after the failed delivery \
                         {}, before delay level {level} ({d} ms)",
                        store - first_fail,
                        k - 1
                    )
                },
                &[&f],
            );
            let allowed = d + SCHEDULE_LATE_MS + SCHEDULE_SLACK_MS + SEND_BACK_MS;
            ctx.check(
                store <= last_fail + allowed,
                || {
                    format!(
                        "{b}: retry {k} was stored {} ms after the failed delivery {} \
                         (delay level {level} = {d} ms; allowed {allowed} ms)",
                        store - last_fail,
                        k - 1
                    )
                },
                &[&f],
            );
        }
    }
    let last_fail: HashMap<String, i64> = want
        .iter()
        .map(|b| {
            let t = frecv
                .iter()
                .filter(|r| &body(r) == b && num(&r["reconsumeTimes"]) == Some(max_rt))
                .filter_map(|r| num(&r["ts"]))
                .min()
                .unwrap_or(0);
            (b.clone(), t)
        })
        .collect();

    // The dead-letter queue: a 1-queue topic readable by a consumer that subscribes to it.
    let dlq = format!("%DLQ%{group}");
    let mut d = ctx.spawn(
        client,
        "consume",
        &consume_args(&dlq, "g_dlq_reader", &all, &["--timeout", "60"]),
    );
    let _ = d.wait(T_CONSUME);
    let drecv = d.events("recv");
    let got = bodies(&drecv);
    ctx.check_none_missing(&want, &got, &format!("not found in {dlq}:"), &[&f, &d]);
    for r in &drecv {
        let b = body(r);
        if !want.contains(&b) {
            continue;
        }
        ctx.check(
            r["topic"] == dlq.as_str(),
            || format!("{b}: read from {dlq} with topic {}", r["topic"]),
            &[&d],
        );
        let store = num(&r["storeTimestamp"]).unwrap_or(0);
        let failed_at = last_fail.get(&b).copied().unwrap_or(0);
        ctx.check(
            store >= failed_at - CLOCK_MS,
            || format!("{b}: stored in {dlq} at {store}, before its last failed delivery at {failed_at}"),
            &[&d],
        );
        if let Some(s) = sent_by_body.get(&b) {
            ctx.check(
                r["keys"] == s["keys"] && r["tags"] == s["tags"],
                || format!("{b}: the DLQ copy lost tags/keys: {r}"),
                &[&d],
            );
        }
    }
    let queues: BTreeSet<i64> = drecv.iter().filter_map(|r| num(&r["queueId"])).collect();
    ctx.check(
        queues.len() <= 1,
        || format!("{dlq} should have one queue; messages came from queues {queues:?}"),
        &[&d],
    );
    // `/metrics` counted each message moved to the DLQ once: as many as the DLQ holds.
    let admin = crate::metrics::Admin::connect(&ctx.broker.addr());
    let r = admin.request(
        sluice_remoting::codes::request::GET_MAX_OFFSET,
        &[("topic", dlq.as_str()), ("queueId", "0")],
    );
    let stored: f64 = r
        .ext_fields
        .get("offset")
        .and_then(|o| o.parse().ok())
        .unwrap_or(-1.0);
    let page = crate::metrics::http_get(metrics_port, "/metrics")
        .map(|(_, p)| p)
        .unwrap_or_default();
    let samples = crate::metrics::parse_page(&page);
    let moved = crate::metrics::sum(
        &samples,
        "rocketmq_send_to_dlq_messages_total",
        &[("consumer_group", group)],
    );
    ctx.check(
        stored >= want.len() as f64 && moved == stored,
        || format!("{dlq} holds {stored} messages; rocketmq_send_to_dlq_messages_total says {moved}"),
        &[],
    );
}

/// rocketmq-client-rust: ReconsumeLater, max_reconsume_times(2).
#[test]
fn rust_retry_dlq() {
    scenario_retry_dlq(Client::Rust);
}
/// ali-ons: the handler throws, maxReconsumeTimes 2.
#[test]
fn js_retry_dlq() {
    scenario_retry_dlq(Client::Js);
}
