//! `kill -9` of the broker and a restart on the same data directory: acknowledged sends under
//! SYNC_FLUSH, and scheduled messages and open transaction halves.

use std::collections::BTreeSet;
use std::thread;
use std::time::Duration;

use serde_json::Value;

use crate::harness::{
    bodies, body, consume_args, create_topic, missing, of_event, produce, Client, Ctx, T_CONSUME, T_PRODUCE,
};
use crate::schedule::{check_schedule, delay_levels_ms, due_of, wall_ms, SchedCheck};

/// SYNC_FLUSH: a producer sends in the background, the broker is killed with SIGKILL
/// mid-stream and restarted on the same data directory and ports; every message whose send the
/// producer saw acknowledged must be consumable afterwards.
#[test]
fn durability_sync_flush_kill9() {
    let test = "durability_sync_flush_kill9";
    let Some(mut ctx) = Ctx::start(test, Some("flushDiskType=SYNC_FLUSH\n")) else {
        return;
    };
    let topic = "InteropDurable";
    create_topic(&mut ctx, Client::Rust, topic);
    let mut producer = ctx.spawn(
        Client::Rust,
        "produce",
        &[
            "--topic",
            topic,
            "--prefix",
            "dur",
            "--count",
            "600",
            "--interval-ms",
            "20",
            "--continue-on-error",
            "--timeout",
            "100",
        ],
    );
    let acked = |n: usize| move |l: &[Value]| l.iter().filter(|v| v["event"] == "sent").count() >= n;
    ctx.check(
        producer.wait_for(Duration::from_secs(60), acked(150)),
        || "producer did not get 150 acks".into(),
        &[&producer],
    );
    let before_kill = producer.events("sent").len();
    ctx.broker.kill9();
    eprintln!("interop: {test}: broker killed with SIGKILL after {before_kill} acknowledged sends");
    thread::sleep(Duration::from_millis(500));
    ctx.broker.start();
    eprintln!("interop: {test}: broker restarted");
    let status = producer.wait(Duration::from_secs(120));
    let sent = producer.events("sent");
    let failed = producer.events("send_failed").len();
    eprintln!(
        "interop: {test}: producer {status:?}: {} acknowledged, {failed} failed",
        sent.len()
    );
    // Appends continue after the restart. The producer that lived through the kill may not
    // reconnect in time (rocketmq-client-rust opens a circuit breaker after failed connects), so
    // a fresh producer must get every send acknowledged.
    let mut after = ctx.spawn(
        Client::Rust,
        "produce",
        &[
            "--topic",
            topic,
            "--prefix",
            "after",
            "--count",
            "20",
            "--timeout",
            "60",
        ],
    );
    let _ = after.wait(Duration::from_secs(90));
    let sent_after = after.events("sent");
    ctx.check(
        sent_after.len() == 20,
        || {
            format!(
                "only {} of 20 sends acknowledged after the restart",
                sent_after.len()
            )
        },
        &[&after],
    );
    let mut want = bodies(&sent);
    want.extend(bodies(&sent_after));
    let mut c = ctx.spawn(
        Client::Rust,
        "consume",
        &consume_args(topic, "g_durable", "620", &["--idle", "10", "--timeout", "90"]),
    );
    let _ = c.wait(T_CONSUME);
    let got = bodies(&c.events("recv"));
    let lost = missing(&want, &got);
    ctx.check(
        lost.is_empty(),
        || {
            format!(
                "{} acknowledged messages lost after kill -9 (e.g. {lost:?})",
                want.difference(&got).count()
            )
        },
        &[&producer, &c],
    );
}

/// Scheduled work survives `kill -9`: delay-level and timer messages not yet due and half
/// messages not yet resolved when the broker is killed are all there after the restart on the
/// same data directory: every delayed/timer message is delivered (not before its time), every
/// half left Unknown is checked back and committed by a new producer of the same group, and the
/// halves committed or rolled back before the kill are neither checked again nor resurrected.
#[test]
fn durability_schedule_kill9() {
    let test = "durability_schedule_kill9";
    // Level 11 = 15 s: due well after the restart.
    let table = "1s 2s 3s 4s 5s 6s 7s 8s 9s 10s 15s 20s 30s 1m 2m 3m 4m 5m";
    let levels = delay_levels_ms(table);
    let conf = format!(
        "messageDelayLevel={table}\ntransactionTimeOut=1000\ntransactionCheckInterval=1000\n\
         transactionCheckMax=100\n"
    );
    let Some(mut ctx) = Ctx::start(test, Some(conf.as_str())) else {
        return;
    };
    let topic = "InteropSchedDurable";
    let tx_group = "g_tx_durable";
    create_topic(&mut ctx, Client::Rust, topic);
    // Halves: decided ones, and ones left Unknown by a producer that then goes away (its
    // check-back answer, should one come before it exits, is Unknown too).
    let tx = ctx.run_ok(
        Client::Rust,
        "produce-transaction",
        &[
            "--topic",
            topic,
            "--group",
            tx_group,
            "--prefix",
            "txd",
            "--count",
            "9",
            "--tx",
            "commit,rollback,unknown-commit",
            "--check-answer",
            "unknown",
            "--await-checks",
            "0",
            "--linger-ms",
            "0",
            "--timeout",
            "60",
        ],
        T_PRODUCE,
    );
    let tx_sent = of_event(&tx, "sent");
    ctx.check(
        tx_sent.len() == 9,
        || format!("{} of 9 transactional sends acknowledged", tx_sent.len()),
        &[],
    );
    let tx_with =
        |plan: &str| -> BTreeSet<String> { tx_sent.iter().filter(|s| s["tx"] == plan).map(body).collect() };
    let (tx_commit, tx_rollback, tx_open) =
        (tx_with("commit"), tx_with("rollback"), tx_with("unknown-commit"));
    // Timers through ali-ons (__STARTDELIVERTIME), then delay levels and timers through the Rust
    // client (the last sends, closest to the kill).
    let mut sched = produce(
        &mut ctx,
        Client::Js,
        "produce",
        topic,
        "startd",
        4,
        &["--delay", "start:+15000"],
    );
    sched.extend(produce(
        &mut ctx,
        Client::Rust,
        "produce",
        topic,
        "sched",
        8,
        &["--delay", "level:11,deliver:+15000,delay-sec:15,delay-ms:15000"],
    ));
    thread::sleep(Duration::from_secs(1));
    let kill_at = wall_ms();
    let pending = sched
        .iter()
        .filter(|s| due_of(s, &levels).is_some_and(|d| d.earliest > kill_at + 1000))
        .count();
    eprintln!(
        "interop: {test}: {pending} of {} scheduled messages and {} open halves pending at the kill",
        sched.len(),
        tx_open.len()
    );
    ctx.check(
        pending > 0,
        || {
            "every scheduled message was already due at the kill (the machine is too slow for this test)"
                .into()
        },
        &[],
    );
    ctx.broker.kill9();
    eprintln!("interop: {test}: broker killed with SIGKILL");
    thread::sleep(Duration::from_millis(500));
    ctx.broker.start();
    let up_at = wall_ms();
    eprintln!("interop: {test}: broker restarted");
    // A new transactional producer of the same group answers every check-back with commit.
    let open_n = tx_open.len().to_string();
    let mut txp = ctx.spawn(
        Client::Rust,
        "produce-transaction",
        &[
            "--topic",
            topic,
            "--group",
            tx_group,
            "--count",
            "0",
            "--check-answer",
            "commit",
            "--await-checks",
            open_n.as_str(),
            "--linger-ms",
            "3000",
            "--timeout",
            "60",
        ],
    );
    let mut want = bodies(&sched);
    want.extend(tx_commit.iter().cloned());
    want.extend(tx_open.iter().cloned());
    let all = (want.len() + 1).to_string(); // and the warm-up message
    let mut c = ctx.spawn(
        Client::Rust,
        "consume",
        &consume_args(
            topic,
            "g_sched_durable",
            &all,
            &["--grace-ms", "3000", "--timeout", "80"],
        ),
    );
    let _ = c.wait(T_CONSUME);
    let _ = txp.wait(Duration::from_secs(90));
    let recv = c.events("recv");
    let got = bodies(&recv);
    let leaked: Vec<_> = got.intersection(&tx_rollback).cloned().collect();
    ctx.check(
        leaked.is_empty(),
        || format!("rolled back before the kill but delivered after it: {leaked:?}"),
        &[&txp, &c],
    );
    ctx.check_none_missing(&want, &got, "lost across kill -9:", &[&txp, &c]);
    check_schedule(
        &ctx,
        &sched,
        &recv,
        &SchedCheck {
            levels: &levels,
            restarted_at: Some(up_at),
            wall_upper: false,
        },
        &[&c],
    );
    let checks = txp.events("check");
    for b in &tx_open {
        ctx.check(
            checks.iter().any(|c| &body(c) == b),
            || format!("{b} was open at the kill but the new producer was never asked about it"),
            &[&txp],
        );
    }
    let decided: Vec<String> = checks
        .iter()
        .map(body)
        .filter(|b| tx_commit.contains(b) || tx_rollback.contains(b))
        .collect();
    ctx.check(
        decided.is_empty(),
        || format!("halves decided before the kill were checked back after it: {decided:?}"),
        &[&txp],
    );
}
