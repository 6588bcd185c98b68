//! crates.io `rocketmq-client-rust`, driver `rust-client/`: the shared scenarios, batch and async
//! sends, queries by key and by id, and a throughput probe.

use std::time::Duration;

use serde_json::Value;

use crate::harness::{
    bodies, body, check_batches_one_queue, check_fields, consume_args, of_event, produce, query_until_found,
    Client, Ctx, T_CONSUME,
};
use crate::scenarios;

#[test]
fn rust_produce_consume() {
    scenarios::produce_consume(Client::Rust);
}
#[test]
fn rust_tag_filter() {
    scenarios::tag_filter(Client::Rust);
}
#[test]
fn rust_offsets_resume() {
    scenarios::offsets_resume(Client::Rust);
}
#[test]
fn rust_two_consumers_split() {
    scenarios::two_consumers_split(Client::Rust);
}
#[test]
fn rust_broadcast() {
    scenarios::broadcast(Client::Rust);
}
#[test]
fn rust_ordered() {
    scenarios::ordered(Client::Rust);
}

/// send_batch (SEND_BATCH_MESSAGE) and async sends: everything arrives, offsets match.
#[test]
fn rust_batch_and_async() {
    let test = "rust_batch_and_async";
    let Some(mut ctx) = Ctx::start(test, None) else {
        return;
    };
    let topic = "InteropBatchAsync";
    let mut sent = produce(
        &mut ctx,
        Client::Rust,
        "produce-batch",
        topic,
        "batch",
        50,
        &["--batch-size", "10", "--tags", "TagA,TagB"],
    );
    sent.extend(produce(
        &mut ctx,
        Client::Rust,
        "produce-async",
        topic,
        "async",
        50,
        &["--tags", "TagA,TagB"],
    ));
    let lines = ctx.run_ok(
        Client::Rust,
        "consume",
        &consume_args(topic, "g_batch_async", "100", &[]),
        T_CONSUME,
    );
    let recv = of_event(&lines, "recv");
    let (want, got) = (bodies(&sent), bodies(&recv));
    ctx.check_none_missing(&want, &got, "lost", &[]);
    check_fields(&ctx, &sent, &recv);
    // A batch lands contiguously in one queue.
    check_batches_one_queue(&ctx, &sent, 10);
}

/// QUERY_MESSAGE by key and VIEW_MESSAGE_BY_ID (offset id and unique id) — for messages sent by
/// each of the three clients (the broker indexes KEYS and UNIQ_KEY whoever sent them).
#[test]
fn rust_query_by_key_and_id() {
    let test = "rust_query_by_key_and_id";
    let Some(mut ctx) = Ctx::start(test, None) else {
        return;
    };
    let topic = "InteropQuery";
    let mut sent = produce(&mut ctx, Client::Rust, "produce", topic, "qrust", 5, &[]);
    sent.extend(produce(&mut ctx, Client::Js, "produce", topic, "qjs", 3, &[]));
    sent.extend(produce(&mut ctx, Client::Py, "produce", topic, "qpy", 3, &[]));
    // The index is built asynchronously after the append: allow a few tries.
    let keys: Vec<String> = sent
        .iter()
        .map(|s| s["keys"].as_str().unwrap_or_default().to_string())
        .collect();
    let mut args: Vec<String> = vec!["--topic".into(), topic.into()];
    for k in &keys {
        args.push("--key".into());
        args.push(k.clone());
    }
    // (option, id field, query tag) per message looked up by id: the offset id (store address +
    // commit-log offset, VIEW_MESSAGE_BY_ID) and the unique id (UNIQ_KEY, QUERY_MESSAGE with the
    // unique-key flag). ali-ons reports only the offset id; the C++ client only the unique id.
    let mut by_id: Vec<(&'static str, String, Value)> = Vec::new();
    for s in &sent {
        let first_of_client = sent.iter().find(|x| x["client"] == s["client"]).map(body) == Some(body(s));
        if !first_of_client {
            continue;
        }
        let fields: &[(&str, &str, &str)] = match s["client"].as_str() {
            Some("rust") => &[
                ("--msg-id", "offsetMsgId", "msgId"),
                ("--uniq-id", "id", "uniqId"),
            ],
            Some("js") => &[("--msg-id", "offsetMsgId", "msgId")],
            _ => &[("--uniq-id", "id", "uniqId")],
        };
        for (opt, field, tag) in fields {
            if let Some(id) = s[*field].as_str() {
                args.push(opt.to_string());
                args.push(id.to_string());
                by_id.push((tag, id.to_string(), s.clone()));
            }
        }
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let last = query_until_found(&mut ctx, Client::Rust, &argv);
    let found = of_event(&last, "found");
    for s in &sent {
        let k = s["keys"].as_str().unwrap_or_default();
        let hit = found.iter().any(|f| f["query"]["key"] == k && body(f) == body(s));
        ctx.check(
            hit,
            || {
                format!(
                    "query by key {k} ({} sent it) did not return {}",
                    s["client"],
                    body(s)
                )
            },
            &[],
        );
    }
    for (tag, id, s) in &by_id {
        let hit = found
            .iter()
            .any(|f| f["query"][*tag] == id.as_str() && body(f) == body(s));
        ctx.check(
            hit,
            || {
                format!(
                    "lookup by {tag} {id} ({} sent it) did not return {}",
                    s["client"],
                    body(s)
                )
            },
            &[],
        );
    }
}

/// Not a pass/fail test: 16 concurrent sync senders of 1 KiB for 10 s; prints the summary.
/// `cargo test --test interop -- --ignored --nocapture rust_throughput`
#[test]
#[ignore]
fn rust_throughput() {
    let test = "rust_throughput";
    let Some(mut ctx) = Ctx::start(test, None) else {
        return;
    };
    let lines = ctx.run_ok(
        Client::Rust,
        "throughput",
        &[
            "--topic",
            "InteropBench",
            "--senders",
            "16",
            "--size",
            "1024",
            "--duration",
            "10",
            "--timeout",
            "30",
        ],
        Duration::from_secs(90),
    );
    for l in of_event(&lines, "throughput") {
        eprintln!("interop: throughput {l}");
        println!("{l}");
    }
}
