//! Scheduled messages (issue #4): delay levels and timers, with a fast level table in
//! broker.conf; when a scheduled message is due and the checks that it was stored and delivered
//! then (also used after a `kill -9` by `durability.rs`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::harness::{
    body, consume_args, create_topic, num, positions, produce, Client, Ctx, Proc, T_CONSUME,
};

/// A quick `messageDelayLevel` table: level 1 = 1 s, 2 = 2 s, 3 = 3 s, every other level 1 s.
const FAST_LEVELS: &str = "1s 2s 3s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s";

/// A scheduled message must be stored in its real topic at its time and within this after it.
pub const SCHEDULE_LATE_MS: i64 = 1000;
/// On top of that: timing noise on a loaded 2-core machine.
pub const SCHEDULE_SLACK_MS: i64 = 500;
/// From being stored in the real topic to a long-polling consumer's listener (client pull
/// scheduling; the broker itself should wake the parked pull at once).
const CONSUME_LATENCY_MS: i64 = 3000;
/// Tolerance when comparing clocks read by different processes (all read the same wall clock).
pub const CLOCK_MS: i64 = 50;

/// Milliseconds since the epoch, the clock the drivers print.
pub fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A `messageDelayLevel` value ("1s 2s 500ms 1m 2h 1d") as milliseconds, level 1 first.
pub fn delay_levels_ms(table: &str) -> Vec<i64> {
    table
        .split_whitespace()
        .map(|t| {
            let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
            let (n, unit) = t.split_at(split);
            let n: i64 = n.parse().unwrap_or_else(|_| panic!("bad delay level {t}"));
            n * match unit {
                "ms" => 1,
                "s" => 1000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                _ => panic!("bad delay level unit in {t}"),
            }
        })
        .collect()
}

pub fn level_ms(levels: &[i64], level: i64) -> i64 {
    let i = level.clamp(1, levels.len() as i64) - 1;
    levels[i as usize]
}

/// When a scheduled message (a driver's sent line with --delay) may be stored in its topic.
pub struct Due {
    what: String,
    /// Not before this (epoch ms).
    pub earliest: i64,
    /// At the latest this + SCHEDULE_LATE_MS (+ slack).
    latest: i64,
    /// Relative delays: storeTimestamp - bornTimestamp is at least this.
    relative: Option<i64>,
}

pub fn due_of(s: &Value, levels: &[i64]) -> Option<Due> {
    let send = num(&s["sendTs"])?;
    let ack = num(&s["ts"]).unwrap_or(send);
    let what = s["delay"].as_str()?.to_string();
    if let Some(at) = num(&s["deliverAt"]) {
        return Some(Due {
            what,
            earliest: at,
            latest: at.max(ack),
            relative: None,
        });
    }
    let d = match num(&s["delayLevel"]) {
        Some(l) => level_ms(levels, l),
        None => num(&s["delayMs"])?,
    };
    Some(Due {
        what,
        earliest: send + d,
        latest: ack + d,
        relative: Some(d),
    })
}

pub struct SchedCheck<'a> {
    pub levels: &'a [i64],
    /// After a restart: when the broker accepted connections again (overdue messages are due
    /// then), and whether duplicates are tolerated.
    pub restarted_at: Option<i64>,
    /// Check the consumer's receive time against the upper bound too.
    pub wall_upper: bool,
}

/// Every scheduled message among `sent` reached the consumer (`recv`) through its real topic,
/// stored not before its time and within SCHEDULE_LATE_MS after it (both by storeTimestamp and,
/// more loosely, by the consumer's wall clock), with body, tags, keys, unique id and born
/// timestamp kept.
pub fn check_schedule(ctx: &Ctx, sent: &[Value], recv: &[Value], how: &SchedCheck, procs: &[&Proc]) {
    let mut checked = 0;
    for s in sent {
        let Some(due) = due_of(s, how.levels) else {
            continue;
        };
        checked += 1;
        let b = body(s);
        let topic = s["topic"].as_str().unwrap_or_default();
        let copies: Vec<&Value> = recv
            .iter()
            .filter(|r| body(r) == b && r["topic"] == topic)
            .collect();
        ctx.check(
            !copies.is_empty(),
            || format!("{b} ({}) was never delivered to {topic}", due.what),
            procs,
        );
        let stored = positions(&copies);
        if how.restarted_at.is_none() {
            ctx.check(
                stored.len() == 1,
                || {
                    format!(
                        "{b} ({}) was stored {} times in {topic}: {stored:?}",
                        due.what,
                        stored.len()
                    )
                },
                procs,
            );
        } else if stored.len() > 1 {
            eprintln!(
                "interop: {}: {b} stored {} times after the restart",
                ctx.test,
                stored.len()
            );
        }
        let Some(r) = copies
            .iter()
            .min_by_key(|r| num(&r["storeTimestamp"]).unwrap_or(i64::MAX))
            .copied()
        else {
            continue;
        };
        let (Some(store), Some(born), Some(at)) =
            (num(&r["storeTimestamp"]), num(&r["bornTimestamp"]), num(&r["ts"]))
        else {
            ctx.fail(
                &format!("{b}: the consumer did not report timestamps: {r}"),
                procs,
            );
        };
        let send = num(&s["sendTs"]).unwrap_or(0);
        let ack = num(&s["ts"]).unwrap_or(send);
        let latest = due.latest.max(how.restarted_at.unwrap_or(0));
        let recovery = if how.restarted_at.is_some() { 2000 } else { 0 };
        ctx.check(
            store >= due.earliest,
            || {
                format!(
                    "{b} ({}) was stored in {topic} at {store}, {} ms before its time {}",
                    due.what,
                    due.earliest - store,
                    due.earliest
                )
            },
            procs,
        );
        if let Some(d) = due.relative {
            ctx.check(
                store - born >= d,
                || {
                    format!(
                        "{b} ({}): storeTimestamp - bornTimestamp = {} ms, less than the delay {d} ms",
                        due.what,
                        store - born
                    )
                },
                procs,
            );
        }
        ctx.check(
            store <= latest + SCHEDULE_LATE_MS + SCHEDULE_SLACK_MS + recovery,
            || {
                format!(
                    "{b} ({}) was stored at {store}, {} ms after its time {latest} (allowed: {} ms)",
                    due.what,
                    store - latest,
                    SCHEDULE_LATE_MS + SCHEDULE_SLACK_MS + recovery
                )
            },
            procs,
        );
        ctx.check(
            born >= send - CLOCK_MS && born <= ack + CLOCK_MS,
            || {
                format!(
                    "{b} ({}): bornTimestamp {born} is not the producer's (sent between {send} and {ack})",
                    due.what
                )
            },
            procs,
        );
        ctx.check(
            at >= due.earliest,
            || {
                format!(
                    "{b} ({}) reached the consumer at {at}, {} ms before its time",
                    due.what,
                    due.earliest - at
                )
            },
            procs,
        );
        if how.wall_upper {
            let bound = latest + SCHEDULE_LATE_MS + SCHEDULE_SLACK_MS + CONSUME_LATENCY_MS;
            ctx.check(
                at <= bound,
                || {
                    format!(
                        "{b} ({}) reached the consumer at {at}, {} ms after its time {latest} \
                         (allowed {} ms; stored at {store})",
                        due.what,
                        at - latest,
                        bound - latest
                    )
                },
                procs,
            );
        }
        ctx.check(
            r["tags"] == s["tags"] && r["keys"] == s["keys"],
            || {
                format!(
                    "{b}: tags/keys sent {}/{} received {}/{}",
                    s["tags"], s["keys"], r["tags"], r["keys"]
                )
            },
            procs,
        );
        // A delay level keeps the queue the producer chose (REAL_QID); where a timer lands is
        // the broker's choice.
        if let (Some(_), Some(sq), Some(rq)) = (num(&s["delayLevel"]), num(&s["queueId"]), num(&r["queueId"]))
        {
            ctx.check(
                sq == rq,
                || {
                    format!(
                        "{b} ({}): sent to queue {sq}, delivered from queue {rq}",
                        due.what
                    )
                },
                procs,
            );
        }
        // ali-ons does not report the unique id of what it sent.
        if s["client"] != "js" {
            ctx.check(
                s["id"].is_string() && r["uniqKey"] == s["id"],
                || format!("{b}: UNIQ_KEY sent {} received {}", s["id"], r["uniqKey"]),
                procs,
            );
        }
    }
    ctx.check(
        checked > 0,
        || "no scheduled message among the sent lines".into(),
        procs,
    );
}

/// Scheduled messages (`delay`: the drivers' --delay specs) sent by `client` to a consumer of
/// the same client that is already long-polling; checked by `check_schedule`.
pub fn scenario_schedule(client: Client, test: &str, topic: &str, delay: &str, n: u64) {
    let conf = format!("messageDelayLevel={FAST_LEVELS}\n");
    let levels = delay_levels_ms(FAST_LEVELS);
    let Some(mut ctx) = Ctx::start(test, Some(conf.as_str())) else {
        return;
    };
    create_topic(&mut ctx, client, topic);
    let all = (n + 1).to_string(); // and the warm-up message
    let mut c = ctx.spawn(
        client,
        "consume",
        &consume_args(topic, "g_sched", &all, &["--timeout", "70", "--grace-ms", "500"]),
    );
    // Once it has the warm-up message the consumer owns the topic's queues and long-polls them.
    let ready = c.wait_for(Duration::from_secs(45), |l| {
        l.iter().any(|v| v["event"] == "recv" && body(v) == "warmup-0")
    });
    ctx.check(
        ready,
        || "the consumer did not get the warm-up message".into(),
        &[&c],
    );
    let sent = produce(
        &mut ctx,
        client,
        "produce",
        topic,
        "sched",
        n,
        &["--delay", delay, "--tags", "TagA,TagB"],
    );
    let _ = c.wait(T_CONSUME);
    let recv = c.events("recv");
    check_schedule(
        &ctx,
        &sent,
        &recv,
        &SchedCheck {
            levels: &levels,
            restarted_at: None,
            wall_upper: true,
        },
        &[&c],
    );
}

/// Delay levels (DELAY property) from each client, with a fast level table in broker.conf.
#[test]
fn rust_delay_level() {
    scenario_schedule(
        Client::Rust,
        "rust_delay_level",
        "InteropDelay",
        "level:1,level:2,level:3",
        6,
    );
}
#[test]
fn py_delay_level() {
    scenario_schedule(Client::Py, "py_delay_level", "InteropDelay", "level:2,level:3", 4);
}
#[test]
fn js_delay_level() {
    scenario_schedule(Client::Js, "js_delay_level", "InteropDelay", "level:2,level:3", 4);
}

/// Timers: TIMER_DELIVER_MS (absolute), TIMER_DELAY_SEC, TIMER_DELAY_MS and __STARTDELIVERTIME
/// (absolute) set through rocketmq-client-rust's message API.
#[test]
fn rust_timer_properties() {
    scenario_schedule(
        Client::Rust,
        "rust_timer_properties",
        "InteropTimer",
        "deliver:+3000,delay-sec:2,delay-ms:2500,start:+3000",
        8,
    );
}
/// ali-ons's own timer API: Message#setStartDeliverTime (property __STARTDELIVERTIME).
#[test]
fn js_timer_start_deliver_time() {
    scenario_schedule(
        Client::Js,
        "js_timer_start_deliver_time",
        "InteropTimer",
        "start:+3000,start:+2000",
        4,
    );
}
/// TIMER_DELIVER_MS as a user property of the C++ client (it has no timer API of its own).
#[test]
fn py_timer_deliver_ms() {
    scenario_schedule(
        Client::Py,
        "py_timer_deliver_ms",
        "InteropTimer",
        "deliver:+3000,deliver:+2000",
        4,
    );
}
