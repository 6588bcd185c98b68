//! The Apache RocketMQ Go client (`github.com/apache/rocketmq-client-go/v2`, pinned in
//! `go/go.mod`), driver `go/`: the shared scenarios, batch and async sends, delay levels,
//! transactions and the pull consumer.

use crate::harness::{
    bodies, check_batches_one_queue, check_fields, consume_args, of_event, produce, Client, Ctx, T_CONSUME,
};
use crate::{retry_dlq, scenarios, schedule, transaction};

const G: Client = Client::Go;

#[test]
fn go_produce_consume() {
    scenarios::produce_consume(G);
}
#[test]
fn go_tag_filter() {
    scenarios::tag_filter(G);
}
#[test]
fn go_sql92_filter() {
    scenarios::sql92_filter(G);
}
#[test]
fn go_offsets_resume() {
    scenarios::offsets_resume(G);
}
#[test]
fn go_two_consumers_split() {
    scenarios::two_consumers_split(G);
}
#[test]
fn go_broadcast() {
    scenarios::broadcast(G);
}
#[test]
fn go_ordered() {
    scenarios::ordered(G);
}
#[test]
fn go_delay_level() {
    schedule::scenario_schedule(G, "go_delay_level", "InteropDelay", "level:1,level:2,level:3", 6);
}
#[test]
fn go_timer_properties() {
    schedule::scenario_schedule(
        G,
        "go_timer_properties",
        "InteropTimer",
        "deliver:+3000,delay-sec:2,delay-ms:2500,start:+3000",
        8,
    );
}
#[test]
fn go_retry_dlq() {
    retry_dlq::scenario_retry_dlq(G);
}
#[test]
fn go_two_orderly_consumers_split() {
    scenarios::two_orderly_consumers_split(G);
}
#[test]
fn go_transaction() {
    transaction::scenario_transaction(G);
}

/// A batch (several messages in one SendSync) and async sends: everything arrives, a batch
/// lands contiguously in one queue.
#[test]
fn go_batch_and_async() {
    let Some(mut ctx) = Ctx::start("go_batch_and_async", None) else {
        return;
    };
    let topic = "InteropBatchAsync";
    let extra = ["--batch-size", "10", "--tags", "TagA,TagB"];
    let mut sent = produce(&mut ctx, G, "produce-batch", topic, "batch", 50, &extra);
    sent.extend(produce(&mut ctx, G, "produce-async", topic, "async", 50, &extra));
    let lines = ctx.run_ok(
        G,
        "consume",
        &consume_args(topic, "g_batch_async", "100", &[]),
        T_CONSUME,
    );
    let recv = of_event(&lines, "recv");
    ctx.check_none_missing(&bodies(&sent), &bodies(&recv), "lost", &[]);
    check_fields(&ctx, &sent, &recv);
    check_batches_one_queue(&ctx, &sent, 10);
}

/// The pull consumer (Subscribe, Poll, ACK): everything arrives with its fields.
#[test]
fn go_pull() {
    let Some(mut ctx) = Ctx::start("go_pull", None) else {
        return;
    };
    let topic = "InteropPull";
    let sent = produce(
        &mut ctx,
        G,
        "produce",
        topic,
        "pull",
        40,
        &["--tags", "TagA,TagB"],
    );
    let lines = ctx.run_ok(G, "pull", &consume_args(topic, "g_pull", "40", &[]), T_CONSUME);
    let recv = of_event(&lines, "recv");
    ctx.check_none_missing(&bodies(&sent), &bodies(&recv), "lost", &[]);
    check_fields(&ctx, &sent, &recv);
}
