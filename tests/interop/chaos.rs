//! Chaos (issue #14 item 5, OpenMessaging-Chaos's method on one machine): a controller-mode
//! group — three `sluice controller` processes, a `sluice namesrv`, three `sluice broker`
//! processes of `broker-a` with `inSyncReplicas=2` — under a workload of third-party clients
//! (rocketmq-client-rust: ordered sync sends over 8 keys, an orderly consumer group), while
//! faults are injected cycle after cycle: `kill -9` of the master, SIGSTOP of the master past
//! the heartbeat timeout, a network partition of the master (its host cut off past the
//! heartbeat timeout, then joined again), `kill -9` of a slave, a partition of a slave,
//! `kill -9` of a controller. Partitions need the brokers on hosts of their own: each runs in a
//! network namespace of its own behind a veth pair ([`crate::netns`]); where namespaces cannot
//! be made (not root, no iproute2) the brokers run on loopback and the report says the
//! partitions were not injected, and why. Two more consumer
//! groups run Apache RocketMQ's Java client (4.9.8) and Go client (rocketmq-client-go/v2), both
//! orderly. Checkers, per consumer group:
//! messages acknowledged (SEND_OK) and never consumed (must be 0), duplicates (reported),
//! per-key order among acknowledged messages, recovery time per fault (the fault → the first send started
//! after it that was acknowledged).
//!
//! `SLUICE_CHAOS_CYCLES` (default 1) sets the cycles; the JSON report is written to the test's
//! directory and to `SLUICE_CHAOS_REPORT` when set (`bench/chaos.sh` runs long campaigns).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::{
    body, consume_args, controller_conf, free_port, index_of, sluice_bin, Broker, Client, Ctx, Proc,
};
use crate::netns::Net;
use crate::schedule::wall_ms;

const TOPIC: &str = "ChaosTopic";
const SHARDS: u64 = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Fault {
    KillMaster,
    PauseMaster,
    PartitionMaster,
    KillSlave,
    PartitionSlave,
    KillController,
}

impl Fault {
    fn name(self) -> &'static str {
        match self {
            Fault::KillMaster => "kill -9 master",
            Fault::PauseMaster => "SIGSTOP master 6 s",
            Fault::PartitionMaster => "partition master 8 s",
            Fault::PartitionSlave => "partition slave 8 s",
            Fault::KillSlave => "kill -9 slave",
            Fault::KillController => "kill -9 controller",
        }
    }
}

/// The group: controllers and brokers as processes, by label.
struct Group {
    ctrls: Vec<(String, Broker)>,
    brokers: Vec<Broker>,
    /// The brokers' hosts (broker i on host i), or why there are none.
    net: Result<Net, String>,
}

/// `sluice admin getSyncStateSet` at any live controller: (master address, in-sync count).
fn sync_state(ctrls: &[(String, Broker)]) -> Option<(String, usize)> {
    for (addr, b) in ctrls {
        if !b.running() {
            continue;
        }
        let out = Command::new(sluice_bin())
            .args([
                "admin",
                "-n",
                "127.0.0.1:1",
                "getSyncStateSet",
                "-a",
                addr,
                "-b",
                "broker-a",
                "--json",
            ])
            .output()
            .ok()?;
        let Ok(v) = serde_json::from_slice::<Value>(&out.stdout) else {
            continue;
        };
        let a = &v["replicasInfoTable"]["broker-a"];
        let alive_in_sync = a["inSyncReplicas"]
            .as_array()
            .map_or(0, |s| s.iter().filter(|r| r["alive"] == true).count());
        if let Some(m) = a["masterAddress"].as_str() {
            return Some((m.to_owned(), alive_in_sync));
        }
    }
    None
}

fn wait_until<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            eprintln!("interop: chaos: timed out waiting for {what}");
            return None;
        }
        thread::sleep(Duration::from_millis(200));
    }
}

impl Group {
    fn start(ctx: &mut Ctx) -> Group {
        let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let addrs: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let peers = sluice_controller::config::peers_value(&addrs);
        let dir = ctx.tmp_path().to_path_buf();
        let net = Net::create(3);
        if let Err(e) = &net {
            eprintln!("interop: chaos: no network namespaces, so no partitions: {e}");
        }
        // Brokers in namespaces reach the controllers through the bridge.
        let ctrl_ip = net.as_ref().map_or("127.0.0.1", |n| n.gateway.as_str());
        let ctrl_addrs: Vec<String> = ports.iter().map(|p| format!("{ctrl_ip}:{p}")).collect();
        let mut ctrls = Vec::new();
        for (i, port) in ports.iter().enumerate() {
            let conf = controller_conf(&dir, "chaos", &peers, i);
            let args = vec!["controller".into(), "-c".into(), conf.display().to_string()];
            let mut b = Broker::process(&dir, &format!("controller{i}"), args, vec![*port], 0);
            b.start();
            ctrls.push((addrs[i].clone(), b));
        }
        let conf = format!(
            "brokerClusterName=chaos\nbrokerName=broker-a\nenableControllerMode=true\ncontrollerAddr={}\n\
             inSyncReplicas=2\ncontrollerHeartBeatTimeoutMills=4000\nbrokerHeartbeatInterval=1000\n\
             syncBrokerMetadataPeriod=2000\nhaMaxTimeSlaveNotCatchup=5000\nslaveTimeout=3000\n\
             haSendHeartbeatInterval=1000\nmappedFileSizeCommitLog=4194304\nregisterNameServerPeriod=5000\n\
             maxHashSlotNum=50000\nmaxIndexNum=200000\n",
            ctrl_addrs.join(";")
        );
        for i in 0..3 {
            let host = net.as_ref().ok().map(|n| (&n.hosts[i], n.gateway.as_str()));
            ctx.add_broker_on(&format!("broker{i}"), &conf, host);
        }
        let brokers = std::mem::take(&mut ctx.nodes);
        Group { ctrls, brokers, net }
    }

    fn index_of(&self, addr: &str) -> Option<usize> {
        self.brokers.iter().position(|b| b.addr() == addr)
    }

    /// Cuts broker `i`'s host off for `hold`, then joins it again; with `until`, holds on
    /// (up to 60 s) until `until` says the group noticed.
    fn partition(&self, i: usize, hold: Duration, until: impl FnMut() -> Option<String>) -> Option<()> {
        let net = self.net.as_ref().ok()?;
        net.cut(i).map_err(|e| eprintln!("interop: chaos: {e}")).ok()?;
        let started = Instant::now();
        let noticed = wait_until(
            "the group to notice the partition",
            Duration::from_secs(60),
            until,
        );
        thread::sleep(hold.saturating_sub(started.elapsed()));
        net.join(i).map_err(|e| eprintln!("interop: chaos: {e}")).ok()?;
        noticed.map(|_| ())
    }

    fn broker_at(&mut self, addr: &str) -> Option<&mut Broker> {
        self.brokers.iter_mut().find(|b| b.addr() == addr)
    }

    /// Every broker and controller up, the master's set holding all three brokers.
    fn healthy(&self) -> Option<String> {
        let (m, n) = sync_state(&self.ctrls)?;
        (n == 3).then_some(m)
    }
}

/// One fault of a kind, undone; the time it was injected (ms since the epoch).
fn inject(g: &mut Group, fault: Fault, cycle: u32) -> Option<i64> {
    let master = wait_until("a healthy group", Duration::from_secs(120), || g.healthy())?;
    let t = wall_ms();
    eprintln!(
        "interop: chaos: cycle {cycle}: {} (master {master})",
        fault.name()
    );
    match fault {
        Fault::KillMaster => {
            let b = g.broker_at(&master)?;
            b.kill9();
            wait_until("a new master", Duration::from_secs(60), || {
                sync_state(&g.ctrls).filter(|(m, _)| *m != master)
            })?;
            g.broker_at(&master)?.start();
        }
        Fault::PauseMaster => {
            g.broker_at(&master)?.signal(libc::SIGSTOP);
            thread::sleep(Duration::from_secs(6));
            g.broker_at(&master)?.signal(libc::SIGCONT);
        }
        Fault::PartitionMaster => {
            let i = g.index_of(&master)?;
            let ctrls = &g.ctrls;
            g.partition(i, Duration::from_secs(8), || {
                sync_state(ctrls).filter(|(m, _)| *m != master).map(|(m, _)| m)
            })?;
        }
        Fault::PartitionSlave => {
            let slave = g.brokers.iter().map(|b| b.addr()).find(|a| *a != master)?;
            let i = g.index_of(&slave)?;
            g.partition(i, Duration::from_secs(8), || Some(String::new()))?;
        }
        Fault::KillSlave => {
            let slave = g.brokers.iter().map(|b| b.addr()).find(|a| *a != master)?;
            g.broker_at(&slave)?.kill9();
            thread::sleep(Duration::from_secs(2));
            g.broker_at(&slave)?.start();
        }
        Fault::KillController => {
            let i = cycle as usize % g.ctrls.len();
            g.ctrls[i].1.kill9();
            thread::sleep(Duration::from_secs(2));
            g.ctrls[i].1.start();
        }
    }
    Some(t)
}

/// The first acknowledged send started after `t` (ms since the epoch), waiting for it.
fn recovered_after(producer: &mut Proc, t: i64) -> Option<i64> {
    let first = |lines: &[Value]| {
        lines
            .iter()
            .filter(|v| v["event"] == "sent")
            .filter_map(|v| v["sendTs"].as_i64())
            .filter(|ts| *ts >= t)
            .min()
    };
    producer.wait_for(Duration::from_secs(90), |l| first(l).is_some());
    first(&producer.snapshot()).map(|ts| ts - t)
}

#[test]
fn chaos_controller_group() {
    let test = "chaos_controller_group";
    let cycles: u32 = std::env::var("SLUICE_CHAOS_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let Some(mut ctx) = Ctx::start_cluster(test) else {
        return;
    };
    let mut g = Group::start(&mut ctx);
    let Some(master) = wait_until("three replicas in sync", Duration::from_secs(90), || g.healthy()) else {
        let logs: Vec<String> = g.brokers.iter().map(Broker::describe).collect();
        ctx.fail(&format!("the group did not come up\n{}", logs.join("\n")), &[]);
    };
    let ns = ctx.namesrv();
    let created = Command::new(sluice_bin())
        .args([
            "admin",
            "-n",
            &ns,
            "updateTopic",
            "-b",
            &master,
            "-t",
            TOPIC,
            "-r",
            "4",
            "-w",
            "4",
        ])
        .status();
    ctx.check(
        created.is_ok_and(|s| s.success()),
        || "updateTopic failed".into(),
        &[],
    );
    // Topic configs reach the slaves within a metadata sync (2 s in controller mode).
    thread::sleep(Duration::from_secs(3));

    let shards = SHARDS.to_string();
    let mut consumers: Vec<(&str, Proc)> = [
        (Client::Rust, "g_chaos"),
        (Client::Java, "g_chaos_java"),
        (Client::Go, "g_chaos_go"),
    ]
    .into_iter()
    .map(|(client, group)| {
        let p = ctx.spawn(
            client,
            client.orderly_consume(),
            &consume_args(TOPIC, group, "100000000", &["--timeout", "3500"]),
        );
        (group, p)
    })
    .collect();
    let mut producer = ctx.spawn(
        Client::Rust,
        "produce-ordered",
        &[
            "--topic",
            TOPIC,
            "--prefix",
            "c",
            "--count",
            "100000000",
            "--shards",
            &shards,
            "--interval-ms",
            "20",
            "--continue-on-error",
            "--timeout",
            "3500",
        ],
    );
    let sent = |n: usize| move |l: &[Value]| l.iter().filter(|v| v["event"] == "sent").count() >= n;
    ctx.check(
        producer.wait_for(Duration::from_secs(90), sent(50)),
        || "the producer got no 50 acknowledgements".into(),
        &[&producer],
    );

    let mut recoveries: BTreeMap<Fault, Vec<i64>> = BTreeMap::new();
    let started = Instant::now();
    for cycle in 0..cycles {
        for fault in [
            Fault::KillMaster,
            Fault::PauseMaster,
            Fault::PartitionMaster,
            Fault::KillSlave,
            Fault::PartitionSlave,
            Fault::KillController,
        ] {
            if matches!(fault, Fault::PartitionMaster | Fault::PartitionSlave) && g.net.is_err() {
                continue;
            }
            let Some(t) = inject(&mut g, fault, cycle) else {
                let logs: Vec<String> = g.brokers.iter().map(Broker::describe).collect();
                ctx.fail(
                    &format!("{} did not complete\n{}", fault.name(), logs.join("\n")),
                    &[&producer],
                );
            };
            match recovered_after(&mut producer, t) {
                Some(ms) => recoveries.entry(fault).or_default().push(ms),
                None => ctx.fail(
                    &format!("no acknowledged send after {}", fault.name()),
                    &[&producer],
                ),
            }
        }
    }
    wait_until("a healthy group at the end", Duration::from_secs(120), || {
        g.healthy()
    });
    producer.kill();
    let acked: Vec<Value> = producer.events("sent");
    let failures = producer.events("send_failed");
    let failed = failures.len();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for f in &failures {
        let e = f["error"].as_str().unwrap_or("?");
        *reasons.entry(e.chars().take(100).collect()).or_default() += 1;
    }
    let want: BTreeSet<String> = acked.iter().map(body).collect();

    // Everything acknowledged is consumed, by each group.
    let got =
        |l: &[Value]| -> BTreeSet<String> { l.iter().filter(|v| v["event"] == "recv").map(body).collect() };
    let mut groups = Vec::new();
    let mut all_lost = 0;
    let mut all_violations = 0;
    for (group, consumer) in &mut consumers {
        consumer.wait_for(Duration::from_secs(180), |l| want.is_subset(&got(l)));
        consumer.kill();
        let recv: Vec<Value> = consumer.events("recv");
        let consumed: BTreeSet<String> = recv.iter().map(body).collect();
        let lost: Vec<&String> = want.difference(&consumed).collect();
        // Per-key order among acknowledged messages, first deliveries.
        let mut last: BTreeMap<u64, u64> = BTreeMap::new();
        let mut seen = BTreeSet::new();
        let mut order_violations = 0;
        for r in &recv {
            let b = body(r);
            if !want.contains(&b) || !seen.insert(b.clone()) {
                continue;
            }
            let i = index_of(&b);
            let shard = i % SHARDS;
            if last.get(&shard).is_some_and(|p| i < *p) {
                order_violations += 1;
            }
            last.insert(shard, i);
        }
        all_lost += lost.len();
        all_violations += order_violations;
        groups.push(
            json!({"group": group, "consumed_distinct": consumed.len(), "lost": lost.len(),
            "lost_sample": lost.iter().take(20).collect::<Vec<_>>(),
            "duplicates": recv.len() - consumed.len(), "order_violations": order_violations}),
        );
    }

    let rows: Vec<Value> = recoveries
        .iter()
        .map(|(f, ms)| {
            let mut s = ms.clone();
            s.sort_unstable();
            json!({"fault": f.name(), "cycles": s.len(), "recovery_ms_p50": s[s.len() / 2],
                   "recovery_ms_max": s[s.len() - 1]})
        })
        .collect();
    let report = json!({
        "cycles": cycles, "seconds": started.elapsed().as_secs(), "acknowledged": acked.len(),
        "send_failed": failed, "lost": all_lost, "order_violations": all_violations,
        "consumers": groups, "faults": rows, "send_failed_reasons": reasons,
        "partitions": g.net.as_ref().map_or_else(|e| format!("not injected: {e}"), |_| "injected".into()),
    });
    let text = serde_json::to_string_pretty(&report).unwrap_or_default();
    let _ = fs::write(ctx.tmp_path().join("chaos-report.json"), &text);
    if let Ok(p) = std::env::var("SLUICE_CHAOS_REPORT") {
        let _ = fs::write(p, &text);
    }
    eprintln!("interop: chaos report\n{text}");
    let procs: Vec<&Proc> = consumers.iter().map(|(_, p)| p).collect();
    ctx.check(
        all_lost == 0,
        || format!("acknowledged messages never consumed: {text}"),
        &procs,
    );
    ctx.check(
        all_violations == 0,
        || format!("per-key order violations: {text}"),
        &procs,
    );
}
