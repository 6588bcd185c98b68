//! Controller mode, what readers see (issue #14 items 2–3): a message is readable — on the
//! master and on a slave — only once every replica of the SyncStateSet has it (the confirm
//! offset). One slave of three is paused while both others store sends it cannot acknowledge:
//! neither the master nor the running slave serves them; once the paused slave resumes and
//! catches up, both do. Without this a consumer could read, and commit an offset past, a message
//! that a master elected next never had — and then skip the new messages stored there.

use std::sync::Arc;

use sluice_remoting::codes::response;

mod common;

use common::group::{read_queue, send_until_ok, wait_for, Group};
use common::{connect, send_cmd, T};

const TOPIC: &str = "ConfirmTopic";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unconfirmed_messages_are_read_nowhere_until_every_in_sync_replica_has_them() {
    // The paused slave stays in the set (a long haMaxTimeSlaveNotCatchup); a put waits 1 s.
    let (mut g, d, master, _) = Group::with_topic(
        "inSyncReplicas=2\nhaMaxTimeSlaveNotCatchup=60000\nslaveTimeout=1000\nhaSendHeartbeatInterval=500\n",
        TOPIC,
        1,
    )
    .await;
    let d = d.as_path();
    let c = Arc::new(connect(master.parse().unwrap()).await);
    let mut acked = Vec::new();
    for i in 0..5 {
        let body = format!("a{i}");
        send_until_ok(&c, TOPIC, 0, &body, d).await;
        acked.push(body);
    }
    let slaves: Vec<String> = g
        .brokers
        .iter()
        .map(|b| b.addr.clone())
        .filter(|a| *a != master)
        .collect();
    let (paused, running) = (&slaves[0], &slaves[1]);
    // Both read everything acknowledged so far (the slave once a heartbeat names the offset).
    for at in [&master, running] {
        wait_for("the acknowledged messages readable", d, 30, async || {
            (read_queue(at, TOPIC, 0).await == acked).then_some(())
        })
        .await;
    }

    g.broker_at(paused).pause();
    let sends: Vec<_> = (0..3)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move { c.request(send_cmd(TOPIC, 0, &format!("u{i}"), ""), T).await })
        })
        .collect();
    for s in sends {
        let r = s.await.unwrap().unwrap();
        assert_eq!(r.code, response::FLUSH_SLAVE_TIMEOUT, "{:?}", r.remark);
    }
    // The running slave has the bytes (it acknowledged them), but the set's other member does
    // not: neither serves them. Two heartbeats' time for a wrong answer to show.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert_eq!(read_queue(&master, TOPIC, 0).await, acked, "the master");
    assert_eq!(read_queue(running, TOPIC, 0).await, acked, "the running slave");

    // The paused slave catches up: the stored messages become readable on both.
    g.broker_at(paused).signal(libc::SIGCONT);
    for at in [&master, running] {
        let all = wait_for("the stored messages readable once confirmed", d, 30, async || {
            let q = read_queue(at, TOPIC, 0).await;
            (q.len() == acked.len() + 3).then_some(q)
        })
        .await;
        assert_eq!(all.get(..acked.len()), Some(acked.as_slice()));
    }
}
