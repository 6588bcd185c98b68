//! Automatic failover (controller mode, issue #14), kill -9 of the master: a group of three
//! (`inSyncReplicas=2`) whose master is killed → the controllers elect a slave of the
//! SyncStateSet, which registers as brokerId 0 with a higher epoch; every message acknowledged
//! before the kill is read from it, in order, once; it takes sends again; the old master,
//! restarted, follows it until its log is the new master's.

use std::collections::BTreeMap;

use sluice_remoting::codes::response;

mod common;

use common::group::{epoch_cache, logs, read_queue, send_until_ok, sync_state, wait_for, Group};
use common::{connect, send_cmd, T};

const TOPIC: &str = "FailoverTopic";
const QUEUES: i32 = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_the_master_elects_a_slave_that_has_every_acknowledged_message() {
    let (mut g, d, first, epoch1) = Group::with_topic(
        "inSyncReplicas=2\nhaMaxTimeSlaveNotCatchup=3000\nslaveTimeout=3000\n",
        TOPIC,
        QUEUES as u32,
    )
    .await;
    let d = d.as_path();
    let ctrls = g.ctrls.clone();

    // Acknowledged sends: each SEND_OK waited for both slaves.
    let c = connect(first.parse().unwrap()).await;
    let mut acked: BTreeMap<i32, Vec<String>> = BTreeMap::new();
    for i in 0..200 {
        let q = i % QUEUES;
        let body = format!("m{i}");
        let r = match c.request(send_cmd(TOPIC, q, &body, ""), T).await {
            Ok(r) => r,
            Err(e) => panic!("send {i}: {e}\n{}", logs(d)),
        };
        assert_eq!(r.code, response::SUCCESS, "send {i}: {:?}\n{}", r.remark, logs(d));
        acked.entry(q).or_default().push(body);
    }

    // kill -9 of the master: a slave of the set is elected and registers as brokerId 0.
    g.broker_at(&first).kill();
    let (new_master, elected_ms) = g.new_master(&first).await;
    let (m, epoch2, _) = wait_for("the controller names the new master", d, 30, async || {
        sync_state(&ctrls[1]).await.filter(|s| s.0 == new_master)
    })
    .await;
    assert_eq!(m, new_master);
    assert!(epoch2 > epoch1, "epoch {epoch2} after {epoch1}");
    eprintln!(
        "master kill -9 → new master {new_master} registered in {elected_ms} ms (epoch {epoch1} → {epoch2})"
    );

    // Every acknowledged message is on the new master, in order, once.
    for (q, want) in &acked {
        let got = wait_for("the new master serves its queues", d, 30, async || {
            let got = read_queue(&new_master, TOPIC, *q).await;
            (got.len() >= want.len()).then_some(got)
        })
        .await;
        assert_eq!(&got, want, "queue {q}");
    }

    // It takes sends once the remaining slave follows it (inSyncReplicas=2).
    let c2 = connect(new_master.parse().unwrap()).await;
    let t1 = std::time::Instant::now();
    let mut after = Vec::new();
    for i in 0..20 {
        let body = format!("n{i}");
        send_until_ok(&c2, TOPIC, 0, &body, d).await;
        after.push(body);
    }
    eprintln!(
        "first SEND_OK at the new master {} ms after it registered",
        t1.elapsed().as_millis()
    );

    // The old master comes back as a slave and ends with the new master's log.
    g.broker_at(&first).start();
    let on_new = g.same_log(&new_master, &first, TOPIC).await;
    let epochs = epoch_cache(&first).await.unwrap().epoch_list;
    assert!(epochs.len() >= 2, "{epochs:?}");
    // A send answered other than SUCCESS may have been stored before its retry
    // (at-least-once), so the new sends are compared without repeats.
    let mut want0 = acked[&0].clone();
    want0.extend(after);
    let mut once = on_new.clone();
    once.dedup();
    assert_eq!(once, want0, "{} repeats", on_new.len() - once.len());
    wait_for("three replicas in sync again", d, 60, async || {
        sync_state(&ctrls[0])
            .await
            .filter(|s| s.2 == 3 && s.0 == new_master)
    })
    .await;
}
