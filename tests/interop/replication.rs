//! Master/slave groups of real processes (a NameServer, a master and a slave, each its own
//! `sluice` process) driven by a third-party client: what replication promises survives
//! `kill -9` of the master with its store deleted.

use std::fs;
use std::thread;
use std::time::Duration;

use serde_json::Value;

use crate::harness::{bodies, consume_args, missing, Client, Ctx, T_CONSUME, T_PRODUCE};

const GROUP: &str = "brokerName=broker-rep\nbrokerClusterName=RepCluster\n";

/// Sends one message until the master answers SEND_OK, i.e. until its slave is connected and
/// caught up (SLAVE_NOT_AVAILABLE before).
fn wait_replicating(ctx: &mut Ctx, topic: &str) {
    for attempt in 0..30 {
        let lines = ctx.run_ok(
            Client::Rust,
            "produce",
            &[
                "--topic",
                topic,
                "--count",
                "1",
                "--prefix",
                &format!("warm{attempt}"),
                "--timeout",
                "30",
            ],
            T_PRODUCE,
        );
        let ok = lines
            .iter()
            .any(|l| l["event"] == "sent" && l["status"] == "SendOk");
        if ok {
            return;
        }
        thread::sleep(Duration::from_millis(500));
    }
    ctx.fail(
        "the master never answered SEND_OK: its slave did not connect",
        &[],
    );
}

/// SYNC_MASTER + slave: a producer sends continuously, the master is killed with SIGKILL and
/// its store deleted (the machine is gone); every message acknowledged with SEND_OK is then
/// consumed from the slave, intact — the route still lists the slave, and a consumer that asks
/// for the master's queues is served by it.
#[test]
fn replication_sync_master_kill9_store_deleted() {
    let test = "replication_sync_master_kill9_store_deleted";
    let Some(mut ctx) = Ctx::start_cluster(test) else {
        return;
    };
    let master = ctx.add_broker("master", &format!("{GROUP}brokerRole=SYNC_MASTER\nbrokerId=0\n"));
    ctx.add_broker("slave", &format!("{GROUP}brokerRole=SLAVE\nbrokerId=1\n"));
    let topic = "InteropReplicated";
    wait_replicating(&mut ctx, topic);
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
    let want = bodies(&send_ok);
    let count = want.len().to_string();
    let mut c = ctx.spawn(
        Client::Rust,
        "consume",
        &consume_args(
            topic,
            "g_replicated",
            &count,
            &["--idle", "15", "--timeout", "90"],
        ),
    );
    let _ = c.wait(T_CONSUME);
    let got = bodies(&c.events("recv"));
    let lost = missing(&want, &got);
    ctx.check(
        lost.is_empty(),
        || {
            format!(
                "{} messages acknowledged with SEND_OK are not on the slave (e.g. {lost:?})",
                want.difference(&got).count()
            )
        },
        &[&producer, &c],
    );
}
