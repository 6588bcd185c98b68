//! The scenarios every client runs (its file calls each with its `Client`).

use std::collections::{BTreeSet, HashMap};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{
    bodies, body, check_fields, consume_args, create_topic, index_of, missing, num, of_event, produce,
    Client, Ctx, Proc, T_CONSUME,
};

/// Produce with tags and keys, consume everything with "*": nothing lost, fields intact.
pub fn produce_consume(client: Client) {
    let test = format!("{}_produce_consume", client.name());
    let Some(mut ctx) = Ctx::start(&test, None) else {
        return;
    };
    let topic = "InteropBasic";
    let sent = produce(
        &mut ctx,
        client,
        "produce",
        topic,
        "basic",
        60,
        &["--tags", "TagA,TagB,TagC"],
    );
    let lines = ctx.run_ok(
        client,
        "consume",
        &consume_args(topic, "g_basic", "60", &[]),
        T_CONSUME,
    );
    let recv = of_event(&lines, "recv");
    let want = bodies(&sent);
    let got = bodies(&recv);
    ctx.check_none_missing(&want, &got, "lost messages:", &[]);
    ctx.check(
        got.iter().all(|b| want.contains(b)),
        || "received bodies that were never sent".into(),
        &[],
    );
    check_fields(&ctx, &sent, &recv);
}

/// Tag and multi-tag subscriptions: three groups at once on the same 60 messages.
pub fn tag_filter(client: Client) {
    let test = format!("{}_tag_filter", client.name());
    let Some(mut ctx) = Ctx::start(&test, None) else {
        return;
    };
    let topic = "InteropTags";
    let sent = produce(
        &mut ctx,
        client,
        "produce",
        topic,
        "tag",
        60,
        &["--tags", "TagA,TagB,TagC"],
    );
    let expect = |tags: &[&str]| -> BTreeSet<String> {
        sent.iter()
            .filter(|s| tags.contains(&s["tags"].as_str().unwrap_or("")))
            .map(body)
            .collect()
    };
    let cases: Vec<(&str, &str, BTreeSet<String>)> = vec![
        ("g_tag_a", "TagA", expect(&["TagA"])),
        ("g_tag_ab", "TagA || TagB", expect(&["TagA", "TagB"])),
        ("g_tag_all", "*", expect(&["TagA", "TagB", "TagC"])),
    ];
    consume_filtered(&mut ctx, client, topic, "--expr", &cases);
}

/// One consumer group per case, each subscribed with `flag` (`--expr` or `--sql`) and its
/// expression, stopping when idle (so stray extra messages are seen): each gets exactly its set.
fn consume_filtered(
    ctx: &mut Ctx,
    client: Client,
    topic: &str,
    flag: &str,
    cases: &[(&str, &str, BTreeSet<String>)],
) {
    let mut procs = Vec::new();
    for (group, expr, _) in cases {
        let args = consume_args(topic, group, "1000000", &[flag, expr, "--idle", "6"]);
        procs.push(ctx.spawn(client, "consume", &args));
    }
    for (p, (group, expr, want)) in procs.iter_mut().zip(cases) {
        let _ = p.wait(T_CONSUME);
        let p: &Proc = p;
        let got = bodies(&p.events("recv"));
        let extra: Vec<_> = got.difference(want).take(10).cloned().collect();
        ctx.check_none_missing(want, &got, &format!("{group} ({expr}): missing"), &[p]);
        ctx.check(
            extra.is_empty(),
            || format!("{group} ({expr}): got messages outside the filter: {extra:?}"),
            &[p],
        );
    }
}

/// SQL92 subscriptions (`enablePropertyFilter=true`): two groups with property selectors on
/// the same 45 messages get exactly the messages their expression selects, filtered on the broker.
pub fn sql92_filter(client: Client) {
    let test = format!("{}_sql92_filter", client.name());
    let Some(mut ctx) = Ctx::start(&test, Some("enablePropertyFilter=true\n")) else {
        return;
    };
    let topic = "InteropSql92";
    let eu = produce(
        &mut ctx,
        client,
        "produce",
        topic,
        "eu",
        20,
        &["--props", "region=eu,price=5"],
    );
    let us = produce(
        &mut ctx,
        client,
        "produce",
        topic,
        "us",
        15,
        &["--props", "region=us,price=50"],
    );
    let us_b = produce(
        &mut ctx,
        client,
        "produce",
        topic,
        "usb",
        10,
        &["--props", "region=us,price=7", "--tags", "TagB"],
    );
    let cases: Vec<(&str, &str, BTreeSet<String>)> = vec![
        ("g_sql_us_dear", "region = 'us' AND price > 10", bodies(&us)),
        (
            "g_sql_cheap_or_b",
            "price BETWEEN 1 AND 9 AND (region <> 'us' OR TAGS IN ('TagB'))",
            bodies(&eu).union(&bodies(&us_b)).cloned().collect(),
        ),
    ];
    consume_filtered(&mut ctx, client, topic, "--sql", &cases);
}

/// Offsets resume: a consumer that stopped after batch 1 gets exactly batch 2 when restarted.
pub fn offsets_resume(client: Client) {
    let test = format!("{}_offsets_resume", client.name());
    let Some(mut ctx) = Ctx::start(&test, None) else {
        return;
    };
    let topic = "InteropResume";
    let group = "g_resume";
    let first = produce(&mut ctx, client, "produce", topic, "one", 40, &[]);
    // The grace outlasts the clients' 5 s periodic offset commit, in addition to the commit on
    // shutdown.
    let lines = ctx.run_ok(
        client,
        "consume",
        &consume_args(topic, group, "40", &["--grace-ms", "6000"]),
        T_CONSUME,
    );
    let got1 = bodies(&of_event(&lines, "recv"));
    let want1 = bodies(&first);
    ctx.check_none_missing(&want1, &got1, "run 1 missing", &[]);
    let second = produce(&mut ctx, client, "produce", topic, "two", 40, &[]);
    let mut p = ctx.spawn(
        client,
        "consume",
        &consume_args(topic, group, "1000000", &["--idle", "6"]),
    );
    let _ = p.wait(T_CONSUME);
    let got2 = bodies(&p.events("recv"));
    let want2 = bodies(&second);
    ctx.check_none_missing(&want2, &got2, "run 2 missing", &[&p]);
    let again: Vec<_> = got2.intersection(&want1).take(10).cloned().collect();
    ctx.check(
        again.is_empty(),
        || {
            format!(
                "run 2 re-delivered {} messages of run 1 (offsets not resumed), e.g. {again:?}",
                got2.intersection(&want1).count()
            )
        },
        &[&p],
    );
}

/// Two consumers of one group split the topic's queues and together get everything.
pub fn two_consumers_split(client: Client) {
    split(client, false);
}

/// The same with orderly consumers (queue locks) and ordered sends: each consumer also keeps
/// every shard's order.
pub fn two_orderly_consumers_split(client: Client) {
    split(client, true);
}

fn split(client: Client, orderly: bool) {
    let test = if orderly {
        format!("{}_two_orderly_consumers_split", client.name())
    } else {
        format!("{}_two_consumers_split", client.name())
    };
    let Some(mut ctx) = Ctx::start(&test, None) else {
        return;
    };
    let topic = "InteropSplit";
    create_topic(&mut ctx, client, topic);
    let args = consume_args(topic, "g_split", "1000000", &["--timeout", "250"]);
    let (consume, send, extra): (&str, &str, &[&str]) = if orderly {
        (
            client.orderly_consume(),
            client.ordered_produce(),
            &["--shards", "4"],
        )
    } else {
        ("consume", "produce", &[])
    };
    let (mut a, mut b) = two_consumers(&mut ctx, client, consume, &args);
    let sent = produce(&mut ctx, client, send, topic, "split", 80, extra);
    let want = bodies(&sent);
    let handover = if orderly {
        client.lock_handover()
    } else {
        Duration::ZERO
    };
    let deadline = Instant::now() + Duration::from_secs(60) + handover;
    loop {
        let mut got = bodies(&a.events("recv"));
        got.extend(bodies(&b.events("recv")));
        if want.is_subset(&got) || Instant::now() >= deadline {
            break;
        }
        thread::sleep(Duration::from_millis(200));
    }
    thread::sleep(Duration::from_secs(1));
    a.kill();
    b.kill();
    let (ra, rb) = (a.events("recv"), b.events("recv"));
    let ga: BTreeSet<String> = bodies(&ra).intersection(&want).cloned().collect();
    let gb: BTreeSet<String> = bodies(&rb).intersection(&want).cloned().collect();
    let all: BTreeSet<String> = ga.union(&gb).cloned().collect();
    ctx.check_none_missing(&want, &all, "together they missed", &[&a, &b]);
    let only = |r: &[Value]| -> BTreeSet<i64> {
        r.iter()
            .filter(|v| want.contains(&body(v)))
            .filter_map(|v| num(&v["queueId"]))
            .collect()
    };
    let (qa, qb) = (only(&ra), only(&rb));
    ctx.check(
        !ga.is_empty() && !gb.is_empty(),
        || format!("one consumer got nothing: A {} B {} messages", ga.len(), gb.len()),
        &[&a, &b],
    );
    ctx.check(
        qa.is_disjoint(&qb),
        || format!("both consumers pulled the same queue: A {qa:?} B {qb:?}"),
        &[&a, &b],
    );
    if orderly {
        check_shard_order(&ctx, &ra, &want, 4);
        check_shard_order(&ctx, &rb, &want, 4);
    }
}

/// Two consumers of one group, both started and given the time to settle their queue assignment.
fn two_consumers(ctx: &mut Ctx, client: Client, scenario: &str, args: &[&str]) -> (Proc, Proc) {
    let mut a = ctx.spawn(client, scenario, args);
    let mut b = ctx.spawn(client, scenario, args);
    let started = |l: &[Value]| l.iter().any(|v| v["event"] == "started");
    ctx.check(
        a.wait_for(Duration::from_secs(30), started),
        || "consumer A did not start".into(),
        &[&a],
    );
    ctx.check(
        b.wait_for(Duration::from_secs(30), started),
        || "consumer B did not start".into(),
        &[&b],
    );
    thread::sleep(client.settle());
    (a, b)
}

/// Broadcasting: every consumer of the group gets every message.
pub fn broadcast(client: Client) {
    let test = format!("{}_broadcast", client.name());
    let Some(mut ctx) = Ctx::start(&test, None) else {
        return;
    };
    let topic = "InteropBroadcast";
    create_topic(&mut ctx, client, topic);
    let args = consume_args(
        topic,
        "g_broadcast",
        "1000000",
        &["--model", "broadcasting", "--timeout", "150"],
    );
    let (mut a, mut b) = two_consumers(&mut ctx, client, "consume", &args);
    let sent = produce(&mut ctx, client, "produce", topic, "bcast", 40, &[]);
    let want = bodies(&sent);
    let has_all = |l: &[Value]| want.is_subset(&bodies(&of_event(l, "recv")));
    let ok_a = a.wait_for(Duration::from_secs(60), has_all);
    let ok_b = b.wait_for(Duration::from_secs(30), has_all);
    a.kill();
    b.kill();
    let (ga, gb) = (bodies(&a.events("recv")), bodies(&b.events("recv")));
    ctx.check(
        ok_a,
        || format!("broadcast consumer A missed {:?}", missing(&want, &ga)),
        &[&a],
    );
    ctx.check(
        ok_b,
        || format!("broadcast consumer B missed {:?}", missing(&want, &gb)),
        &[&b],
    );
}

/// Ordered messages: a queue selector keyed by order id, consumed orderly, keep per-key order.
pub fn ordered(client: Client) {
    let test = format!("{}_ordered", client.name());
    let Some(mut ctx) = Ctx::start(&test, None) else {
        return;
    };
    let topic = "InteropOrdered";
    let shards = 4u64;
    let sent = produce(
        &mut ctx,
        client,
        client.ordered_produce(),
        topic,
        "ord",
        80,
        &["--shards", "4"],
    );
    // Every shard's messages went to one queue (where the producer reports the queue).
    let mut shard_queue: HashMap<u64, BTreeSet<i64>> = HashMap::new();
    for s in &sent {
        if let Some(q) = num(&s["queueId"]) {
            shard_queue
                .entry(index_of(&body(s)) % shards)
                .or_default()
                .insert(q);
        }
    }
    for (shard, qs) in &shard_queue {
        ctx.check(
            qs.len() == 1,
            || format!("shard {shard} was sent to several queues {qs:?}"),
            &[],
        );
    }
    let lines = ctx.run_ok(
        client,
        client.orderly_consume(),
        &consume_args(topic, "g_ordered", "80", &[]),
        T_CONSUME,
    );
    let recv = of_event(&lines, "recv");
    let want = bodies(&sent);
    let got = bodies(&recv);
    ctx.check_none_missing(&want, &got, "lost ordered messages", &[]);
    check_shard_order(&ctx, &recv, &want, shards);
}

/// First deliveries (of bodies in `want`), in arrival order, are increasing within each shard
/// (index % shards).
fn check_shard_order(ctx: &Ctx, recv: &[Value], want: &BTreeSet<String>, shards: u64) {
    let mut seen = BTreeSet::new();
    let mut last: HashMap<u64, u64> = HashMap::new();
    for r in recv {
        let b = body(r);
        if !want.contains(&b) || !seen.insert(b.clone()) {
            continue;
        }
        let i = index_of(&b);
        let shard = i % shards;
        if let Some(prev) = last.get(&shard) {
            ctx.check(
                i > *prev,
                || format!("shard {shard}: {b} arrived after index {prev}"),
                &[],
            );
        }
        last.insert(shard, i);
    }
}
