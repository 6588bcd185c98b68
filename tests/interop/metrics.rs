//! Operating a broker: `/metrics` (`metricsExporterType=PROM`) after a known workload driven by
//! the Java client, the GET_BROKER_RUNTIME_INFO keys apache/rocketmq-exporter parses (parsed by
//! its rules), VIEW_BROKER_STATS_DATA's seven names, GET_ALL_PRODUCER_INFO, and the broker →
//! client forwards GET_CONSUMER_RUNNING_INFO / CONSUME_MESSAGE_DIRECTLY answered by a live Java
//! consumer; and the server's logs (JSON lines, no colour codes in a pipe, `--log-dir`).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use sluice_remoting::body::admin::{BrokerStatsData, ConsumerConnection, ProducerTableInfo};
use sluice_remoting::body::{JsonBody, KvTable};
use sluice_remoting::codes::{request, response};
use sluice_remoting::net::connect::refuse_requests;
use sluice_remoting::net::{connect, Connection};
use sluice_remoting::{DecoderLimits, RemotingCommand};

use crate::harness::{self, consume_args, of_event, produce, Client, Ctx, T_CONSUME};

const T: Duration = Duration::from_secs(15);

/// One sample of the `/metrics` page: name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

/// GET `path` over HTTP/1.1 from 127.0.0.1:`port`: (status, body).
pub(crate) fn http_get(port: u16, path: &str) -> Result<(u16, String), String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect :{port}: {e}"))?;
    s.set_read_timeout(Some(T)).map_err(|e| e.to_string())?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).map_err(|e| e.to_string())?;
    let (head, body) = raw.split_once("\r\n\r\n").ok_or("no header end")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("bad status line: {head}"))?;
    Ok((status, body.to_owned()))
}

/// Parses the Prometheus text format (label values without escaped quotes or commas).
pub(crate) fn parse_page(page: &str) -> Vec<Sample> {
    page.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let value: f64 = value.parse().ok()?;
            let (name, labels) = match series.split_once('{') {
                Some((n, rest)) => {
                    let labels = rest
                        .trim_end_matches('}')
                        .split("\",")
                        .filter(|p| !p.is_empty())
                        .filter_map(|p| {
                            let (k, v) = p.split_once("=\"")?;
                            Some((k.to_owned(), v.trim_end_matches('"').to_owned()))
                        })
                        .collect();
                    (n.to_owned(), labels)
                }
                None => (series.to_owned(), BTreeMap::new()),
            };
            Some((name, labels, value))
        })
        .collect()
}

/// `name`'s samples whose labels include all of `want`.
fn matching<'s>(
    samples: &'s [Sample],
    name: &'s str,
    want: &'s [(&str, &str)],
) -> impl Iterator<Item = &'s Sample> {
    samples.iter().filter(move |(n, l, _)| {
        n == name
            && want
                .iter()
                .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
    })
}

pub(crate) fn sum(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> f64 {
    matching(samples, name, want).map(|(_, _, v)| v).sum()
}

fn count(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> usize {
    matching(samples, name, want).count()
}

fn scrape(ctx: &Ctx, port: u16) -> (String, Vec<Sample>) {
    match http_get(port, "/metrics") {
        Ok((200, page)) => {
            let samples = parse_page(&page);
            (page, samples)
        }
        other => ctx.fail(&format!("GET /metrics: {other:?}"), &[]),
    }
}

/// A remoting connection of the test's own (admin requests to the broker).
pub(crate) struct Admin {
    rt: tokio::runtime::Runtime,
    conn: Arc<Connection>,
}

impl Admin {
    pub(crate) fn connect(addr: &str) -> Admin {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let conn = rt
            .block_on(connect(addr, T, DecoderLimits::default(), refuse_requests))
            .unwrap_or_else(|e| panic!("connecting to {addr}: {e}"));
        Admin { rt, conn }
    }

    pub(crate) fn request(&self, code: i32, ext: &[(&str, &str)]) -> RemotingCommand {
        let mut cmd = RemotingCommand::request(code);
        for (k, v) in ext {
            cmd.ext_fields.insert((*k).into(), (*v).into());
        }
        self.rt
            .block_on(self.conn.request(cmd, T))
            .unwrap_or_else(|e| panic!("request {code}: {e}"))
    }
}

/// The GET_BROKER_RUNTIME_INFO keys apache/rocketmq-exporter reads with `Long.parseLong`.
const EXPORTER_LONGS: &[&str] = &[
    "msgPutTotalTodayNow",
    "msgGetTotalTodayNow",
    "msgPutTotalTodayMorning",
    "msgGetTotalTodayMorning",
    "msgPutTotalYesterdayMorning",
    "msgGetTotalYesterdayMorning",
    "sendThreadPoolQueueHeadWaitTimeMills",
    "queryThreadPoolQueueHeadWaitTimeMills",
    "pullThreadPoolQueueHeadWaitTimeMills",
    "queryThreadPoolQueueSize",
    "pullThreadPoolQueueSize",
    "sendThreadPoolQueueSize",
    "sendThreadPoolQueueCapacity",
    "pullThreadPoolQueueCapacity",
    "queryThreadPoolQueueCapacity",
    "bootTimestamp",
    "commitLogMinOffset",
    "commitLogMaxOffset",
    "dispatchMaxBuffer",
    "pageCacheLockTimeMills",
    "getMessageEntireTimeMax",
    "putMessageTimesTotal",
    "startAcceptSendRequestTimeStamp",
    "putMessageEntireTimeMax",
    "earliestMessageTimeStamp",
    "remainTransientStoreBufferNumbs",
    "dispatchBehindBytes",
    "putMessageSizeTotal",
];
/// … with `Double.parseDouble`.
const EXPORTER_DOUBLES: &[&str] = &[
    "consumeQueueDiskRatio",
    "commitLogDiskRatio",
    "putMessageAverageSize",
];
/// … as three space-separated doubles (10 s, 1 min, 10 min).
const EXPORTER_TPS: &[&str] = &[
    "putTps",
    "getMissTps",
    "getTransferedTps",
    "getTotalTps",
    "getFoundTps",
];
/// The `putMessageDistributeTime` buckets the exporter reads by name.
const PMDT: &[&str] = &[
    "<=0ms",
    "0~10ms",
    "10~50ms",
    "50~100ms",
    "100~200ms",
    "200~500ms",
    "500ms~1s",
    "1~2s",
    "2~3s",
    "3~4s",
    "4~5s",
    "5~10s",
    "10s~",
];

/// `X GiB`-style sizes as the exporter reads them.
fn bytes_of(n: &str, unit: &str) -> Option<f64> {
    let n: f64 = n.parse().ok()?;
    let exp = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        .iter()
        .position(|u| *u == unit)?;
    Some(n * 1024f64.powi(exp as i32))
}

/// Checks the runtime table by the exporter's parsing rules; returns the problems.
fn exporter_problems(t: &BTreeMap<String, String>) -> Vec<String> {
    let mut bad = Vec::new();
    for k in EXPORTER_LONGS {
        if t.get(*k).and_then(|v| v.parse::<i64>().ok()).is_none() {
            bad.push(format!("{k}={:?} is not a long", t.get(*k)));
        }
    }
    for k in EXPORTER_DOUBLES {
        if t.get(*k).and_then(|v| v.parse::<f64>().ok()).is_none() {
            bad.push(format!("{k}={:?} is not a double", t.get(*k)));
        }
    }
    for k in EXPORTER_TPS {
        let ok = t
            .get(*k)
            .is_some_and(|v| v.split(' ').count() == 3 && v.split(' ').all(|x| x.parse::<f64>().is_ok()));
        if !ok {
            bad.push(format!("{k}={:?} is not three doubles", t.get(*k)));
        }
    }
    if t.get("brokerVersion")
        .and_then(|v| v.parse::<i32>().ok())
        .is_none()
    {
        bad.push("brokerVersion is not an int".into());
    }
    // `remainHowManyDataToFlush`: a double before the first space.
    let flush = t
        .get("remainHowManyDataToFlush")
        .map(|v| v.split(' ').next().unwrap_or(""));
    if flush.and_then(|v| v.parse::<f64>().ok()).is_none() {
        bad.push(format!("remainHowManyDataToFlush={flush:?}"));
    }
    // `Total : X GiB, Free : Y GiB.` split on spaces: [2] [3 minus ','] and [6] [7 minus '.'].
    let cap = t.get("commitLogDirCapacity").cloned().unwrap_or_default();
    let w: Vec<&str> = cap.split(' ').collect();
    let parsed = (w.len() == 8)
        .then(|| {
            let total = bytes_of(w[2], w[3].strip_suffix(',')?)?;
            let free = bytes_of(w[6], w[7].strip_suffix('.')?)?;
            Some((total, free))
        })
        .flatten();
    match parsed {
        Some((total, free)) if total > 0.0 && free <= total => {}
        _ => bad.push(format!("commitLogDirCapacity={cap:?}")),
    }
    // pmdt: `[name]:count` words, every bucket present.
    let pmdt: BTreeMap<String, i64> = t
        .get("putMessageDistributeTime")
        .map(|v| {
            v.split(' ')
                .filter_map(|w| {
                    let (k, n) = w.split_once(':')?;
                    Some((k.replace(['[', ']'], ""), n.parse().ok()?))
                })
                .collect()
        })
        .unwrap_or_default();
    for b in PMDT {
        if !pmdt.contains_key(*b) {
            bad.push(format!("putMessageDistributeTime lacks {b}"));
        }
    }
    for (k, v) in t.iter().filter(|(k, _)| k.starts_with("scheduleMessageOffset")) {
        let ok = v.split(',').count() == 2 && v.split(',').all(|x| x.parse::<i64>().is_ok());
        if !ok {
            bad.push(format!("{k}={v:?}"));
        }
    }
    bad
}

#[test]
fn java_prometheus_metrics_and_exporter_requests() {
    let port = harness::free_port();
    let conf = format!(
        "metricsExporterType=PROM\nmetricsPromExporterHost=127.0.0.1\nmetricsPromExporterPort={port}\n"
    );
    let Some(mut ctx) = Ctx::start("java_prometheus_metrics", Some(&conf)) else {
        return;
    };
    let (ta, tb, g1, g2) = ("MetricsA", "MetricsB", "MetricsG1", "MetricsG2");
    // Phase 1: 30 small messages to A, all consumed by G1.
    produce(
        &mut ctx,
        Client::Java,
        "produce",
        ta,
        "a1",
        30,
        &["--body-size", "100"],
    );
    let recv = ctx.run_ok(
        Client::Java,
        "consume",
        &consume_args(ta, g1, "30", &[]),
        T_CONSUME,
    );
    ctx.check(
        of_event(&recv, "recv").len() == 30,
        || "G1 did not get 30 messages of A".into(),
        &[],
    );
    let (page, s) = scrape(&ctx, port);
    let a = [("topic", ta)];
    let ag1 = [("topic", ta), ("consumer_group", g1)];
    ctx.check(
        sum(&s, "rocketmq_messages_in_total", &a) == 30.0
            && sum(&s, "rocketmq_messages_out_total", &ag1) == 30.0
            && sum(&s, "rocketmq_throughput_in_total", &a) == sum(&s, "rocketmq_throughput_out_total", &ag1)
            && sum(&s, "rocketmq_throughput_in_total", &a) > 30.0 * 100.0,
        || format!("after 30 in and 30 out of A:\n{page}"),
        &[],
    );

    // Phase 2: 20 larger messages to A (G1 is gone: its lag is 20), 40 to B, consumed by G2,
    // which stays online for the forwards.
    produce(
        &mut ctx,
        Client::Java,
        "produce",
        ta,
        "a2",
        20,
        &["--body-size", "2000"],
    );
    // Under 4 KiB: the Java client compresses larger bodies.
    let sent_b = produce(
        &mut ctx,
        Client::Java,
        "produce",
        tb,
        "b",
        40,
        &["--body-size", "3000"],
    );
    let mut consumer = ctx.spawn(
        Client::Java,
        "consume",
        &consume_args(tb, g2, "40", &["--grace-ms", "15000"]),
    );
    let admin = Admin::connect(&ctx.broker.addr());
    let deadline = Instant::now() + Duration::from_secs(60);
    let client_id = loop {
        let r = admin.request(request::GET_CONSUMER_CONNECTION_LIST, &[("consumerGroup", g2)]);
        let id = (r.code == response::SUCCESS)
            .then(|| ConsumerConnection::from_json(&r.body).ok())
            .flatten()
            .and_then(|c| c.connection_set.first().map(|c| c.client_id.clone()));
        if let Some(id) = id.filter(|_| {
            consumer
                .snapshot()
                .iter()
                .filter(|l| l["event"] == "recv")
                .count()
                >= 40
        }) {
            break id;
        }
        if Instant::now() > deadline {
            ctx.fail("G2 did not come online and consume B", &[&consumer]);
        }
        thread::sleep(Duration::from_millis(300));
    };
    let (_, s) = scrape(&ctx, port);
    ctx.check(
        sum(
            &s,
            "rocketmq_consumer_connections",
            &[("consumer_group", g2), ("language", "JAVA")],
        ) == 1.0,
        || {
            format!(
                "consumer connections of G2: {:?}",
                s.iter()
                    .filter(|x| x.0 == "rocketmq_consumer_connections")
                    .collect::<Vec<_>>()
            )
        },
        &[&consumer],
    );
    // GET_CONSUMER_RUNNING_INFO, answered by the Java client through the broker.
    let r = admin.request(
        request::GET_CONSUMER_RUNNING_INFO,
        &[
            ("consumerGroup", g2),
            ("clientId", &client_id),
            ("jstackEnable", "false"),
        ],
    );
    // fastjson's body (object keys in `mqTable`): read as text.
    let info = String::from_utf8_lossy(&r.body);
    ctx.check(
        r.code == response::SUCCESS
            && info.contains(&format!("\"consumerGroup\":\"{g2}\""))
            && info.contains("\"subscriptionSet\"")
            && info.contains(&format!("\"topic\":\"{tb}\"")),
        || {
            format!(
                "GET_CONSUMER_RUNNING_INFO: code {} remark {:?} body {}",
                r.code,
                r.remark,
                String::from_utf8_lossy(&r.body)
            )
        },
        &[&consumer],
    );
    let offline = admin.request(
        request::GET_CONSUMER_RUNNING_INFO,
        &[
            ("consumerGroup", g2),
            ("clientId", "nobody@1"),
            ("jstackEnable", "false"),
        ],
    );
    ctx.check(
        offline.code == response::SYSTEM_ERROR
            && offline
                .remark
                .as_deref()
                .is_some_and(|r| r.contains("not online")),
        || format!("an unknown client: {} {:?}", offline.code, offline.remark),
        &[],
    );
    // CONSUME_MESSAGE_DIRECTLY: one message of B, consumed by that client on request.
    let msg_id = sent_b[0]["offsetMsgId"].as_str().unwrap_or_default().to_owned();
    let r = admin.request(
        request::CONSUME_MESSAGE_DIRECTLY,
        &[
            ("consumerGroup", g2),
            ("clientId", &client_id),
            ("msgId", &msg_id),
            ("brokerName", "broker-a"),
        ],
    );
    let direct = String::from_utf8_lossy(&r.body);
    ctx.check(
        r.code == response::SUCCESS && direct.contains("\"consumeResult\":\"CR_SUCCESS\""),
        || {
            format!(
                "CONSUME_MESSAGE_DIRECTLY {msg_id}: code {} remark {:?} body {}",
                r.code,
                r.remark,
                String::from_utf8_lossy(&r.body)
            )
        },
        &[&consumer],
    );
    // GET_ALL_PRODUCER_INFO: answered (the producers have exited: no groups).
    let r = admin.request(request::GET_ALL_PRODUCER_INFO, &[]);
    ctx.check(
        r.code == response::SUCCESS && ProducerTableInfo::from_json(&r.body).is_ok(),
        || {
            format!(
                "GET_ALL_PRODUCER_INFO: {} {:?}",
                r.code,
                String::from_utf8_lossy(&r.body)
            )
        },
        &[],
    );
    let _ = consumer.wait(Duration::from_secs(60));

    // The page after the workload: exact counters, plausible gauges (G1 may commit late).
    let b = [("topic", tb)];
    let deadline = Instant::now() + Duration::from_secs(20);
    let (page, s) = loop {
        let (page, s) = scrape(&ctx, port);
        let settled = sum(&s, "rocketmq_consumer_lag_messages", &ag1) == 20.0
            && sum(
                &s,
                "rocketmq_consumer_lag_messages",
                &[("topic", tb), ("consumer_group", g2)],
            ) == 0.0;
        if settled || Instant::now() > deadline {
            break (page, s);
        }
        thread::sleep(Duration::from_millis(500));
    };
    eprintln!("interop: /metrics after the workload:\n{page}");
    let problems: Vec<String> = [
        (sum(&s, "rocketmq_messages_in_total", &a), 50.0, "messages in, A"),
        (sum(&s, "rocketmq_messages_in_total", &b), 40.0, "messages in, B"),
        (
            sum(&s, "rocketmq_messages_out_total", &ag1),
            30.0,
            "messages out, A/G1",
        ),
        (
            sum(
                &s,
                "rocketmq_messages_out_total",
                &[("topic", tb), ("consumer_group", g2)],
            ),
            40.0,
            "messages out, B/G2",
        ),
        (sum(&s, "rocketmq_consumer_lag_messages", &ag1), 20.0, "lag A/G1"),
        (
            sum(&s, "rocketmq_consumer_ready_messages", &ag1),
            20.0,
            "ready A/G1",
        ),
        (
            sum(
                &s,
                "rocketmq_consumer_lag_messages",
                &[("topic", tb), ("consumer_group", g2)],
            ),
            0.0,
            "lag B/G2",
        ),
        // Sizes: A's 30 small records ≤ 1 KiB, its 20 others ≤ 4 KiB; B's 40 in (1, 4] KiB.
        (
            sum(
                &s,
                "rocketmq_message_size_bucket",
                &[("topic", ta), ("le", "1024")],
            ),
            30.0,
            "A ≤ 1 KiB",
        ),
        (
            sum(
                &s,
                "rocketmq_message_size_bucket",
                &[("topic", ta), ("le", "4096")],
            ),
            50.0,
            "A ≤ 4 KiB",
        ),
        (
            sum(
                &s,
                "rocketmq_message_size_bucket",
                &[("topic", tb), ("le", "1024")],
            ),
            0.0,
            "B ≤ 1 KiB",
        ),
        (
            sum(
                &s,
                "rocketmq_message_size_bucket",
                &[("topic", tb), ("le", "4096")],
            ),
            40.0,
            "B ≤ 4 KiB",
        ),
        (sum(&s, "rocketmq_message_size_count", &b), 40.0, "B sizes"),
        (
            sum(
                &s,
                "rocketmq_rpc_latency_count",
                &[("request_code", "310"), ("response_code", "0")],
            ) + sum(
                &s,
                "rocketmq_rpc_latency_count",
                &[("request_code", "10"), ("response_code", "0")],
            ),
            90.0,
            "sends answered",
        ),
        (
            sum(&s, "rocketmq_consumer_connections", &[("consumer_group", g2)]),
            0.0,
            "G2 gone",
        ),
    ]
    .into_iter()
    .filter(|(got, want, _)| got != want)
    .map(|(got, want, what)| format!("{what}: {got} ≠ {want}"))
    .collect();
    ctx.check(problems.is_empty(), || format!("{problems:?}\n{page}"), &[]);
    let positive = [
        "rocketmq_consumer_lag_latency",
        "rocketmq_storage_size",
        "rocketmq_topic_number",
        "rocketmq_consumer_group_number",
    ];
    for name in positive {
        let want: &[(&str, &str)] = if name == "rocketmq_consumer_lag_latency" {
            &ag1
        } else {
            &[]
        };
        ctx.check(
            sum(&s, name, want) > 0.0,
            || format!("{name} is not positive"),
            &[],
        );
    }
    for name in [
        "rocketmq_storage_flush_behind_bytes",
        "rocketmq_storage_dispatch_behind_bytes",
    ] {
        ctx.check(count(&s, name, &[]) == 1, || format!("{name} missing"), &[]);
    }
    ctx.check(
        count(
            &s,
            "rocketmq_messages_in_total",
            &[
                ("cluster", "DefaultCluster"),
                ("node_id", "broker-a"),
                ("node_type", "broker"),
            ],
        ) >= 2,
        || "the broker's labels are missing".into(),
        &[],
    );

    // GET_BROKER_RUNTIME_INFO by the exporter's rules, and its figures against the page's.
    let r = admin.request(request::GET_BROKER_RUNTIME_INFO, &[]);
    let table = KvTable::from_json(&r.body).map(|t| t.table).unwrap_or_default();
    let mut problems = exporter_problems(&table);
    let num = |k: &str| table.get(k).and_then(|v| v.parse::<f64>().ok()).unwrap_or(-1.0);
    let stored = sum(&s, "rocketmq_throughput_in_total", &[]);
    for (k, want) in [
        ("msgPutTotalTodayNow", 90.0),
        ("putMessageTimesTotal", 90.0),
        ("msgGetTotalTodayNow", 70.0),
        ("putMessageSizeTotal", stored),
        // Nothing but these sends wrote to the log.
        ("commitLogMaxOffset", stored),
    ] {
        if num(k) != want {
            problems.push(format!("{k}={:?}, expected {want}", table.get(k)));
        }
    }
    let pmdt_total: i64 = table
        .get("putMessageDistributeTime")
        .map(|v| {
            v.split(' ')
                .filter_map(|w| w.split_once(':')?.1.parse::<i64>().ok())
                .sum()
        })
        .unwrap_or(0);
    if pmdt_total != 90 {
        problems.push(format!(
            "putMessageDistributeTime counts {pmdt_total} puts, not 90"
        ));
    }
    ctx.check(
        problems.is_empty(),
        || format!("runtime info: {problems:?}\n{table:#?}"),
        &[],
    );

    // VIEW_BROKER_STATS_DATA, the seven names the exporter asks for.
    let sum_of = |name: &str, key: &str| -> Result<i64, String> {
        let r = admin.request(
            request::VIEW_BROKER_STATS_DATA,
            &[("statsName", name), ("statsKey", key)],
        );
        if r.code != response::SUCCESS {
            return Err(format!("{name} {key}: {} {:?}", r.code, r.remark));
        }
        BrokerStatsData::from_json(&r.body)
            .map(|d| d.stats_day.sum)
            .map_err(|e| e.to_string())
    };
    let ga = format!("{ta}@{g1}");
    let checks = [
        ("TOPIC_PUT_NUMS", ta, Some(50)),
        ("TOPIC_PUT_SIZE", ta, None),
        ("GROUP_GET_NUMS", ga.as_str(), Some(30)),
        ("GROUP_GET_SIZE", ga.as_str(), None),
        ("BROKER_PUT_NUMS", "DefaultCluster", Some(90)),
        ("BROKER_GET_NUMS", "DefaultCluster", Some(70)),
    ];
    for (name, key, want) in checks {
        let got = sum_of(name, key);
        let ok = match (&got, want) {
            (Ok(n), Some(w)) => *n == w,
            (Ok(n), None) => *n > 0,
            _ => false,
        };
        ctx.check(
            ok,
            || format!("VIEW_BROKER_STATS_DATA {name} {key}: {got:?}, expected {want:?}"),
            &[],
        );
    }
    // No consumer sent a message back: Java's broker answers SYSTEM_ERROR for a key never seen.
    let r = admin.request(
        request::VIEW_BROKER_STATS_DATA,
        &[
            ("statsName", "SNDBCK_PUT_NUMS"),
            ("statsKey", &format!("%RETRY%{g1}@{g1}")),
        ],
    );
    ctx.check(
        r.code == response::SYSTEM_ERROR && r.remark.as_deref().is_some_and(|m| m.contains("not exist")),
        || format!("SNDBCK_PUT_NUMS: {} {:?}", r.code, r.remark),
        &[],
    );
}

/// `--namesrv-port N --broker-port B`, free, with B's neighbours (VIP B − 2, HA B + 1) clear of N.
fn ports() -> [String; 4] {
    // Blocks of ports never overlap (`harness::free_port`).
    let (np, bp) = (harness::free_port(), harness::free_port());
    [
        "--namesrv-port".into(),
        np.to_string(),
        "--broker-port".into(),
        bp.to_string(),
    ]
}

#[test]
fn metrics_exporter_types_sluice_cannot_serve_are_refused_at_start() {
    let Some(_serial) = harness::serial("metrics_refused_exporter") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let conf = tmp.path().join("otlp.conf");
    std::fs::write(&conf, "metricsExporterType=OTLP_GRPC\n").expect("write conf");
    let out = Command::new(harness::sluice_bin())
        .arg("standalone")
        .arg("--data-dir")
        .arg(tmp.path().join("data"))
        .args(ports())
        .arg("-c")
        .arg(&conf)
        .stdin(Stdio::null())
        .output()
        .expect("run sluice");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("metricsExporterType") && err.contains("PROM"),
        "OTLP_GRPC was not refused: {} {err}",
        out.status
    );
}

/// `sluice standalone` started in `dir` with `args`, its stderr a pipe into a file; the process
/// and that file.
fn start_logging(dir: &Path, label: &str, args: &[&str]) -> (Child, PathBuf) {
    let err = dir.join(format!("{label}.stderr"));
    let file = std::fs::File::create(&err).expect("stderr file");
    let child = Command::new(harness::sluice_bin())
        .arg("standalone")
        .arg("--data-dir")
        .arg(dir.join(format!("{label}-data")))
        .args(ports())
        .args(args)
        .env("RUST_LOG", "info")
        .env_remove("ROCKETMQ_HOME")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(file)
        .spawn()
        .expect("spawn sluice");
    (child, err)
}

/// SIGTERM, then SIGKILL after 30 s.
fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Waits (30 s at most) until `path` contains `needle`; its text.
fn wait_for_text(path: &Path, needle: &str) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains(needle) {
            return Some(text);
        }
        thread::sleep(Duration::from_millis(200));
    }
    None
}

#[test]
fn server_logs_json_lines_files_and_no_colour_in_pipes() {
    let Some(_serial) = harness::serial("server_logs") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    // Text on a pipe: no ANSI escapes.
    let (child, err) = start_logging(dir, "text", &[]);
    let text = wait_for_text(&err, "broker listening");
    stop(child);
    let text = text.expect("the text-logging broker did not start");
    assert!(!text.contains("\x1b["), "ANSI codes on a pipe:\n{text}");

    // JSON lines: every line parses, with timestamp, level and message.
    let (child, err) = start_logging(dir, "json", &["--log-format", "json"]);
    let text = wait_for_text(&err, "broker listening");
    stop(child);
    let text = text.expect("the JSON-logging broker did not start");
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let parsed: Vec<Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(
        !lines.is_empty()
            && parsed.len() == lines.len()
            && parsed
                .iter()
                .all(|v| v["level"].is_string() && v["timestamp"].is_string())
            && parsed.iter().any(|v| v["message"] == "broker listening"),
        "not JSON lines:\n{text}"
    );

    // --log-dir: the log goes to a dated file there, not to stderr.
    let logs = dir.join("logs");
    let (child, err) = start_logging(dir, "dir", &["--log-dir", &logs.display().to_string()]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut found = None;
    while found.is_none() && Instant::now() < deadline {
        found = std::fs::read_dir(&logs).ok().and_then(|mut d| {
            d.find_map(|e| {
                let p = e.ok()?.path();
                let name = p.file_name()?.to_str()?.to_owned();
                let text = std::fs::read_to_string(&p).ok()?;
                (name.starts_with("standalone.log.") && text.contains("broker listening"))
                    .then_some((name, text))
            })
        });
        thread::sleep(Duration::from_millis(200));
    }
    stop(child);
    let stderr = std::fs::read_to_string(&err).unwrap_or_default();
    let (name, text) = found.unwrap_or_else(|| {
        panic!(
            "no standalone.log.<date> in {} (stderr: {stderr})",
            logs.display()
        )
    });
    assert!(
        !text.contains("\x1b[") && !stderr.contains("broker listening"),
        "{name}: {text}\nstderr: {stderr}"
    );
}
