//! Master/slave groups of real processes (a NameServer, a master and a slave, each its own
//! `sluice` process) driven by a third-party client: what replication promises survives
//! `kill -9` of the master with its store deleted.

use std::fs;
use std::thread;
use std::time::Duration;

use serde_json::Value;

use crate::harness::{bodies, consume_args, missing, sluice_bin, Client, Ctx, T_CONSUME};

const GROUP: &str = "brokerName=broker-rep\nbrokerClusterName=RepCluster\n";

/// Waits until `sluice admin haStatus <target> --json` satisfies `ok` (a sluice master lists
/// its slave, or a sluice slave is connected).
fn wait_ha(ctx: &Ctx, target: &[&str], ok: impl Fn(&Value) -> bool, what: &str) {
    let ns = ctx.namesrv();
    for _ in 0..120 {
        let mut args = vec!["admin", "-n", &ns, "haStatus"];
        args.extend_from_slice(target);
        args.push("--json");
        if let Ok(out) = std::process::Command::new(sluice_bin()).args(&args).output() {
            let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
            if ok(&v[0]) {
                return;
            }
        }
        thread::sleep(Duration::from_millis(500));
    }
    ctx.fail(&format!("never replicating: {what}"), &[]);
}

/// Waits until the master of `RepCluster` lists a connected slave.
fn wait_replicating(ctx: &Ctx) {
    wait_ha(
        ctx,
        &["-c", "RepCluster"],
        |v| {
            v["haConnectionInfo"]
                .as_array()
                .is_some_and(|c| c.iter().any(|s| s["inSync"] == true))
        },
        "the master lists no slave in sync",
    );
}

/// What a master kill left: the acknowledged sends, when the kill came, and what the slave
/// served afterwards.
struct AfterKill {
    send_ok: Vec<Value>,
    killed_at_ms: i64,
    got: std::collections::BTreeSet<String>,
}

/// A master of `role` and its slave; a producer sends continuously; after 150 acks the master
/// is killed with SIGKILL and its store deleted (the machine is gone); then a fresh consumer
/// reads the topic — from the slave, the only broker left in the route.
fn kill_master_mid_stream(test: &str, role: &str) -> Option<(Ctx, AfterKill)> {
    let mut ctx = Ctx::start_cluster(test)?;
    let test = ctx.test.clone();
    let master = ctx.add_broker("master", &format!("{GROUP}brokerRole={role}\nbrokerId=0\n"));
    ctx.add_broker("slave", &format!("{GROUP}brokerRole=SLAVE\nbrokerId=1\n"));
    let topic = "InteropReplicated";
    wait_replicating(&ctx);
    let mut producer = ctx.spawn(
        Client::Rust,
        "produce",
        &[
            "--topic",
            topic,
            "--prefix",
            "rep",
            "--count",
            "400",
            "--interval-ms",
            "10",
            "--continue-on-error",
            "--timeout",
            "60",
        ],
    );
    let acked = |l: &[Value]| l.iter().filter(|v| v["event"] == "sent").count() >= 150;
    ctx.check(
        producer.wait_for(Duration::from_secs(60), acked),
        || "the producer did not get 150 acks".into(),
        &[&producer],
    );
    let killed_at_ms = now_ms();
    ctx.nodes[master].kill9();
    let store = ctx.tmp_path().join("master");
    fs::remove_dir_all(&store).unwrap_or_else(|e| panic!("deleting {}: {e}", store.display()));
    eprintln!("interop: {test}: master killed with SIGKILL, its store deleted");
    let _ = producer.wait(Duration::from_secs(90));
    let sent = producer.events("sent");
    let send_ok: Vec<Value> = sent.iter().filter(|l| l["status"] == "SendOk").cloned().collect();
    let weaker = sent.len() - send_ok.len();
    eprintln!(
        "interop: {test}: {} sends answered SEND_OK, {weaker} with a weaker status, {} failed",
        send_ok.len(),
        producer.events("send_failed").len()
    );
    ctx.check(
        send_ok.len() >= 150,
        || format!("only {} SEND_OK", send_ok.len()),
        &[&producer],
    );
    let got = read_all(&mut ctx, topic, send_ok.len());
    Some((
        ctx,
        AfterKill {
            send_ok,
            killed_at_ms,
            got,
        },
    ))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// SYNC_MASTER: every message acknowledged with SEND_OK is consumed from the slave, intact.
#[test]
fn replication_sync_master_kill9_store_deleted() {
    let Some((ctx, after)) =
        kill_master_mid_stream("replication_sync_master_kill9_store_deleted", "SYNC_MASTER")
    else {
        return;
    };
    let want = bodies(&after.send_ok);
    let lost = missing(&want, &after.got);
    ctx.check(
        lost.is_empty(),
        || {
            format!(
                "{} messages acknowledged with SEND_OK are not on the slave (e.g. {lost:?})",
                want.difference(&after.got).count()
            )
        },
        &[],
    );
}

/// ASYNC_MASTER: acknowledged at once, replicated right after; what a master kill can lose is
/// bounded by the replication lag — only messages acknowledged in the last moments before the
/// kill may be missing from the slave (here at most those of the last second; the measured
/// loss is printed).
#[test]
fn replication_async_master_kill9_loss_bounded_by_lag() {
    let Some((ctx, after)) = kill_master_mid_stream(
        "replication_async_master_kill9_loss_bounded_by_lag",
        "ASYNC_MASTER",
    ) else {
        return;
    };
    let lost: Vec<&Value> = after
        .send_ok
        .iter()
        .filter(|l| !after.got.contains(l["body"].as_str().unwrap_or_default()))
        .collect();
    let oldest_lost_ms = lost.iter().filter_map(|l| l["ts"].as_i64()).min();
    eprintln!(
        "interop: async master: {} of {} acknowledged messages lost; the oldest lost was acknowledged {:?} ms before the kill",
        lost.len(),
        after.send_ok.len(),
        oldest_lost_ms.map(|t| after.killed_at_ms - t)
    );
    ctx.check(
        oldest_lost_ms.is_none_or(|t| after.killed_at_ms - t <= 1000),
        || {
            format!(
                "a message acknowledged {:?} ms before the kill was lost",
                oldest_lost_ms.map(|t| after.killed_at_ms - t)
            )
        },
        &[],
    );
}

/// Sends `n` messages with the Rust client and returns those answered SEND_OK (all must be).
fn send_all(ctx: &mut Ctx, topic: &str, n: u64) -> Vec<Value> {
    send_prefixed(ctx, topic, "x", n)
}

/// [`send_all`] with bodies `<prefix>-<i>`.
fn send_prefixed(ctx: &mut Ctx, topic: &str, prefix: &str, n: u64) -> Vec<Value> {
    let n_s = n.to_string();
    let lines = ctx.run_ok(
        Client::Rust,
        "produce",
        &[
            "--topic",
            topic,
            "--prefix",
            prefix,
            "--count",
            &n_s,
            "--timeout",
            "60",
        ],
        Duration::from_secs(90),
    );
    let ok: Vec<Value> = lines
        .iter()
        .filter(|l| l["event"] == "sent" && l["status"] == "SendOk")
        .cloned()
        .collect();
    ctx.check(
        ok.len() as u64 == n,
        || format!("{} of {n} sends answered SEND_OK", ok.len()),
        &[],
    );
    ok
}

/// What a fresh consumer group reads of `topic` (up to `n` messages, stopping after 15 s idle).
fn read_all(ctx: &mut Ctx, topic: &str, n: usize) -> std::collections::BTreeSet<String> {
    let count = n.to_string();
    let args = consume_args(
        topic,
        "g_from_slave",
        &count,
        &["--idle", "15", "--timeout", "90"],
    );
    let mut c = ctx.spawn(Client::Rust, "consume", &args);
    let _ = c.wait(T_CONSUME);
    bodies(&c.events("recv"))
}

/// After the master's kill, a fresh consumer reads every acknowledged message from the slave.
fn consume_from_slave(ctx: &mut Ctx, topic: &str, want: &[Value]) {
    let want = bodies(want);
    let got = read_all(ctx, topic, want.len());
    let lost = missing(&want, &got);
    ctx.check(
        lost.is_empty(),
        || format!("not served by the slave: {lost:?}"),
        &[],
    );
}

/// A foreign SYNC_MASTER (`start` adds it to group `name` of cluster `cluster`) and a sluice
/// slave: the master's SEND_OK needs the sluice slave's reports; after the master's `kill -9`
/// the sluice slave serves every acknowledged message.
fn foreign_master_sluice_slave(
    test: &str,
    (cluster, name): (&str, &str),
    start: impl FnOnce(&mut Ctx) -> Result<usize, String>,
    topic: &str,
) {
    let Some(mut ctx) = Ctx::start_cluster(test) else {
        return;
    };
    let master = match start(&mut ctx) {
        Ok(i) => i,
        Err(e) => ctx.fail(&format!("the master cannot run here: {e}"), &[]),
    };
    let slave = ctx.add_broker(
        "sluice-slave",
        &format!("brokerClusterName={cluster}\nbrokerName={name}\nbrokerRole=SLAVE\nbrokerId=1\n"),
    );
    let slave_addr = ctx.nodes[slave].addr();
    wait_ha(
        &ctx,
        &["-b", &slave_addr],
        |v| v["haClientRuntimeInfo"]["isActivated"] == true,
        "the sluice slave never connected to its master",
    );
    // Made on the master first, as an operator would (the test does not rely on the
    // master's auto-creation).
    let master_addr = ctx.nodes[master].addr();
    create_topic(&ctx, &master_addr, topic);
    let sent = send_all(&mut ctx, topic, 100);
    // The slave syncs its master's topics every 10 s: one sync lets it register the topic
    // with the NameServer once the master is gone.
    thread::sleep(Duration::from_secs(12));
    ctx.nodes[master].kill9();
    consume_from_slave(&mut ctx, topic, &sent);
}

/// A sluice SYNC_MASTER of group `broker-s` and a foreign slave (`start` adds it): SEND_OK
/// needs the foreign slave's reports; it syncs the topic from sluice and, after the sluice
/// master's `kill -9`, serves every message. `before_kill` (given the slave's index) runs once
/// the messages are acknowledged and a topic sync has passed.
fn sluice_master_foreign_slave(
    test: &str,
    start: impl FnOnce(&mut Ctx) -> Result<usize, String>,
    topic: &str,
    before_kill: impl FnOnce(&mut Ctx, usize),
) {
    let Some(mut ctx) = Ctx::start_cluster(test) else {
        return;
    };
    let master = ctx.add_broker(
        "sluice-master",
        "brokerClusterName=RepCluster\nbrokerName=broker-s\nbrokerRole=SYNC_MASTER\nbrokerId=0\n",
    );
    let slave = match start(&mut ctx) {
        Ok(i) => i,
        Err(e) => ctx.fail(&format!("the slave cannot run here: {e}"), &[]),
    };
    wait_replicating(&ctx);
    let sent = send_all(&mut ctx, topic, 100);
    // The slave syncs topics every 10 s (Java after 3 s): let one sync pass.
    thread::sleep(Duration::from_secs(14));
    before_kill(&mut ctx, slave);
    ctx.nodes[master].kill9();
    consume_from_slave(&mut ctx, topic, &sent);
}

/// Apache RocketMQ 4.9.7 as SYNC_MASTER, a sluice slave.
#[test]
fn replication_java_master_sluice_slave() {
    foreign_master_sluice_slave(
        "replication_java_master_sluice_slave",
        ("RepJ", "broker-j"),
        |ctx| {
            ctx.add_java_broker(
                "java-master",
                "brokerClusterName=RepJ\nbrokerName=broker-j\nbrokerId=0\nbrokerRole=SYNC_MASTER\n",
            )
        },
        "InteropJavaMaster",
    );
}

/// A sluice SYNC_MASTER, an Apache RocketMQ 4.9.7 slave (topics synced over the VIP port).
#[test]
fn replication_sluice_master_java_slave() {
    sluice_master_foreign_slave(
        "replication_sluice_master_java_slave",
        |ctx| {
            ctx.add_java_broker(
                "java-slave",
                "brokerClusterName=RepCluster\nbrokerName=broker-s\nbrokerId=1\nbrokerRole=SLAVE\n",
            )
        },
        "InteropJavaSlave",
        |_, _| {},
    );
}

/// rocketmq-rust 1.0 as SYNC_MASTER, a sluice slave.
#[test]
fn replication_rocketmq_rust_master_sluice_slave() {
    foreign_master_sluice_slave(
        "replication_rocketmq_rust_master_sluice_slave",
        ("RepR", "broker-r"),
        |ctx| ctx.add_rocketmq_rust_broker("rust-master", ("RepR", "broker-r", 0), "SYNC_MASTER"),
        "InteropRustMaster",
    );
}

/// A sluice SYNC_MASTER, a rocketmq-rust 1.0 slave (its metadata sync reads sluice's
/// 5.x-style offsets and groups). 1.0.0's slave appends what it receives but never wakes its
/// dispatch for it (its reput service waits for a notification that only local puts and its
/// start send), so it builds ConsumeQueues from replicated bytes only when it starts: the
/// test restarts it before the master goes (restarted after, it would register with no
/// master beside it, and a 4.9 NameServer takes topics from masters only), and then every
/// message the sluice master acknowledged must be served from the bytes it replicated.
#[test]
fn replication_sluice_master_rocketmq_rust_slave() {
    sluice_master_foreign_slave(
        "replication_sluice_master_rocketmq_rust_slave",
        |ctx| ctx.add_rocketmq_rust_broker("rust-slave", ("RepCluster", "broker-s", 1), "SLAVE"),
        "InteropRustSlave",
        |ctx, slave| {
            ctx.nodes[slave].stop();
            ctx.nodes[slave].start();
            wait_replicating(ctx);
        },
    );
}

/// `sluice admin updateTopic` on the broker at `addr` (8 queues).
fn create_topic(ctx: &Ctx, addr: &str, topic: &str) {
    let out = std::process::Command::new(sluice_bin())
        .args([
            "admin",
            "-n",
            &ctx.namesrv(),
            "updateTopic",
            "-b",
            addr,
            "-t",
            topic,
        ])
        .output();
    match out {
        Ok(o) if o.status.success() => {}
        Ok(o) => ctx.fail(
            &format!(
                "updateTopic {topic} on {addr}: {}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
            &[],
        ),
        Err(e) => ctx.fail(&format!("running sluice admin: {e}"), &[]),
    }
}

/// RocketMQ issue #1094 end to end, with Apache RocketMQ's Java client: while the master is gone
/// its consumers keep consuming from the slave, resuming from the offsets the slave synced, and
/// commit there; the master that comes back (its store kept, `kill -9`) learns those offsets
/// from its slave instead of sending the group back to its own older ones. Each message is
/// consumed once across the master's loss and return.
#[test]
fn replication_offsets_committed_on_the_slave_survive_the_master_return() {
    let test = "replication_offsets_committed_on_the_slave_survive_the_master_return";
    let Some(mut ctx) = Ctx::start_cluster(test) else {
        return;
    };
    let master = ctx.add_broker("master", &format!("{GROUP}brokerRole=SYNC_MASTER\nbrokerId=0\n"));
    ctx.add_broker("slave", &format!("{GROUP}brokerRole=SLAVE\nbrokerId=1\n"));
    wait_replicating(&ctx);
    let topic = "InteropOffsetsFollow";
    let group = "g_follow";

    // A: consumed on the master, its offsets committed there.
    let a = send_prefixed(&mut ctx, topic, "a", 30);
    consume_exactly(&mut ctx, topic, group, &a, "A, from the master");
    let b = send_prefixed(&mut ctx, topic, "b", 30);
    // One metadata sync period (10 s) and a margin: the slave has the group's offsets for A.
    thread::sleep(Duration::from_secs(12));

    // B: the master dies; the group resumes on the slave where A ended and commits there.
    ctx.nodes[master].kill9();
    eprintln!("interop: {test}: master killed with SIGKILL (its store kept)");
    consume_exactly(&mut ctx, topic, group, &b, "B, from the slave");

    // The master returns and learns, from its slave, the offsets committed there.
    ctx.nodes[master].start();
    wait_replicating(&ctx);
    let ns = ctx.namesrv();
    let mut committed = 0;
    for _ in 0..60 {
        let out = std::process::Command::new(sluice_bin())
            .args(["admin", "-n", &ns, "consumerProgress", "-g", group, "--json"])
            .output();
        let v: Value = out
            .ok()
            .and_then(|o| serde_json::from_slice(&o.stdout).ok())
            .unwrap_or(Value::Null);
        committed = v["queues"].as_array().map_or(0, |q| {
            q.iter().filter_map(|r| r["consumerOffset"].as_i64()).sum::<i64>()
        });
        if committed == 60 {
            break;
        }
        thread::sleep(Duration::from_millis(500));
    }
    ctx.check(
        committed == 60,
        || format!("the returned master's offsets for {group} add up to {committed}, not 60"),
        &[],
    );

    // C: the group goes on from the master with nothing of B again.
    let c = send_prefixed(&mut ctx, topic, "c", 20);
    consume_exactly(&mut ctx, topic, group, &c, "C, from the returned master");
}

/// A Java push consumer of `group` gets exactly `want` (and nothing else within 8 s of idleness).
fn consume_exactly(ctx: &mut Ctx, topic: &str, group: &str, want: &[Value], what: &str) {
    let count = want.len().to_string();
    let args = consume_args(topic, group, &count, &["--idle", "8"]);
    let mut c = ctx.spawn(Client::Java, "consume", &args);
    let _ = c.wait(T_CONSUME);
    let got = bodies(&c.events("recv"));
    let want = bodies(want);
    let lost = missing(&want, &got);
    let extra: Vec<&String> = got.difference(&want).collect();
    eprintln!(
        "interop: {what}: {} received, {} missing, {} not expected",
        got.len(),
        lost.len(),
        extra.len()
    );
    ctx.check(
        lost.is_empty() && extra.is_empty(),
        || format!("{what}: missing {lost:?}, consumed again {extra:?}"),
        &[&c],
    );
}
