//! PyPI `rocketmq` (the Apache C++ client), driver `py/driver.py`: the shared scenarios and the
//! C++ client's batch send.

use serde_json::Value;

use crate::harness::{
    bodies, check_fields, consume_args, create_topic, of_event, produce, Client, Ctx, T_CONSUME,
};
use crate::scenarios;

#[test]
fn py_produce_consume() {
    scenarios::produce_consume(Client::Py);
}
#[test]
fn py_tag_filter() {
    scenarios::tag_filter(Client::Py);
}
#[test]
fn py_offsets_resume() {
    scenarios::offsets_resume(Client::Py);
}
#[test]
fn py_two_consumers_split() {
    scenarios::two_consumers_split(Client::Py);
}
#[test]
fn py_broadcast() {
    scenarios::broadcast(Client::Py);
}
#[test]
fn py_ordered() {
    scenarios::ordered(Client::Py);
}

/// The C++ client's batch send (its own batch encoding) arrives complete.
#[test]
fn py_batch() {
    let test = "py_batch";
    let Some(mut ctx) = Ctx::start(test, None) else {
        return;
    };
    let topic = "InteropPyBatch";
    create_topic(&mut ctx, Client::Py, topic);
    let sent = produce(
        &mut ctx,
        Client::Py,
        "produce-batch",
        topic,
        "pybatch",
        40,
        &["--batch-size", "8", "--tags", "TagA,TagB"],
    );
    let lines = ctx.run_ok(
        Client::Py,
        "consume",
        &consume_args(topic, "g_pybatch", "40", &["--expr", "TagA || TagB"]),
        T_CONSUME,
    );
    let recv = of_event(&lines, "recv");
    let (want, got) = (bodies(&sent), bodies(&recv));
    ctx.check_none_missing(&want, &got, "lost batch messages", &[]);
    // Tags and keys survive the C++ client's batch encoding (its batch result's offsets are not
    // compared: they are per batch, not per message).
    let tags_keys: Vec<Value> = sent
        .iter()
        .map(|s| {
            let mut s = s.clone();
            s["queueOffset"] = Value::Null;
            s
        })
        .collect();
    check_fields(&ctx, &tags_keys, &recv);
}
