//! Transactional messages (issue #4): END_TRANSACTION, check-backs and their limit.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

use crate::harness::{
    bodies, body, by_body, consume_args, create_topic, of_event, positions, Client, Ctx, T_CONSUME,
};

/// Transactional messages (rocketmq-client-rust here; the Java and Go clients' tests call
/// `scenario_transaction` too): a committed half is delivered once; a
/// rolled-back one never; one left Unknown is checked back (CHECK_TRANSACTION_STATE) after
/// transactionTimeOut and the producer's answer (commit or rollback) is applied; one whose
/// check-backs keep answering Unknown is checked at most transactionCheckMax times and never
/// delivered. Halves decided by END_TRANSACTION are never checked.
#[test]
fn rust_transaction() {
    scenario_transaction(Client::Rust);
}

/// The transaction scenario for `client` (its driver's `produce-transaction` and `consume`).
pub fn scenario_transaction(client: Client) {
    let test = format!("{}_transaction", client.name());
    let check_max = 3;
    let conf =
        format!("transactionTimeOut=1000\ntransactionCheckInterval=1000\ntransactionCheckMax={check_max}\n");
    let Some(mut ctx) = Ctx::start(&test, Some(conf.as_str())) else {
        return;
    };
    let topic = "InteropTx";
    create_topic(&mut ctx, client, topic);
    let mut p = ctx.spawn(
        client,
        "produce-transaction",
        &[
            "--topic",
            topic,
            "--group",
            "g_tx_producer",
            "--prefix",
            "tx",
            "--count",
            "20",
            "--tags",
            "TagA,TagB",
            "--tx",
            "commit,rollback,unknown-commit,unknown-rollback,unknown",
            // After the Unknown ones are answered: long enough to see every check-back of the
            // ones that stay Unknown (one per second or so, at most transactionCheckMax).
            "--linger-ms",
            "6000",
            "--timeout",
            "60",
        ],
    );
    let status = p.wait(Duration::from_secs(90));
    let lines = p.snapshot();
    let sent = of_event(&lines, "sent");
    ctx.check(
        sent.len() == 20,
        || {
            format!(
                "{} of 20 transactional sends acknowledged (status {status:?})",
                sent.len()
            )
        },
        &[&p],
    );
    let checks = of_event(&lines, "check");
    fn plan_of(s: &Value) -> String {
        s["tx"].as_str().unwrap_or_default().to_string()
    }
    let with_plan = |plans: &[&str]| -> BTreeSet<String> {
        sent.iter()
            .filter(|s| plans.contains(&plan_of(s).as_str()))
            .map(body)
            .collect()
    };
    let committed = with_plan(&["commit", "unknown-commit"]);
    let not_committed = with_plan(&["rollback", "unknown-rollback", "unknown"]);
    for s in &sent {
        let b = body(s);
        let plan = plan_of(s);
        let mine: Vec<&Value> = checks.iter().filter(|c| body(c) == b).collect();
        match plan.as_str() {
            "commit" | "rollback" => ctx.check(
                mine.is_empty(),
                || format!("{b} was decided ({plan}) by END_TRANSACTION but checked back {} times", mine.len()),
                &[&p],
            ),
            "unknown-commit" | "unknown-rollback" => {
                let answer = if plan == "unknown-commit" { "commit" } else { "rollback" };
                ctx.check(
                    mine.iter().any(|c| c["answer"] == answer),
                    || format!("{b} was left Unknown but never checked back (checks: {mine:?})"),
                    &[&p],
                );
            }
            _ => ctx.check(
                !mine.is_empty() && mine.len() <= check_max,
                || {
                    format!(
                        "{b} stays Unknown: checked back {} times, want 1..={check_max} (transactionCheckMax)",
                        mine.len()
                    )
                },
                &[&p],
            ),
        }
        for c in mine {
            ctx.check(
                c["topic"] == topic && c["id"] == s["id"],
                || {
                    format!(
                        "{b}: check-back names topic {} and UNIQ_KEY {}, sent {topic} / {}",
                        c["topic"], c["id"], s["id"]
                    )
                },
                &[&p],
            );
        }
    }
    let mut c = ctx.spawn(
        client,
        "consume",
        &consume_args(topic, "g_tx", "1000000", &["--idle", "8", "--timeout", "60"]),
    );
    let _ = c.wait(T_CONSUME);
    let recv = c.events("recv");
    let got = bodies(&recv);
    ctx.check_none_missing(&committed, &got, "committed but not delivered:", &[&p, &c]);
    let leaked: Vec<_> = got.intersection(&not_committed).cloned().collect();
    ctx.check(
        leaked.is_empty(),
        || format!("rolled back (or never committed) but delivered: {leaked:?}"),
        &[&p, &c],
    );
    let sent_by_body = by_body(&sent);
    for b in &committed {
        let copies: Vec<&Value> = recv.iter().filter(|r| &body(r) == b).collect();
        let stored = positions(&copies);
        ctx.check(
            stored.len() == 1,
            || {
                format!(
                    "{b} was committed into the topic {} times: {stored:?}",
                    stored.len()
                )
            },
            &[&c],
        );
        let (Some(r), Some(s)) = (copies.first(), sent_by_body.get(b)) else {
            continue;
        };
        ctx.check(
            r["tags"] == s["tags"] && r["keys"] == s["keys"] && r["uniqKey"] == s["id"],
            || {
                format!(
                    "{b}: sent tags/keys/id {}/{}/{} received {}/{}/{}",
                    s["tags"], s["keys"], s["id"], r["tags"], r["keys"], r["uniqKey"]
                )
            },
            &[&c],
        );
    }
}
