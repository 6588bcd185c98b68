//! Controller mode, a master with bytes nobody else has (issue #14 item 3): both slaves of a
//! group of three are paused (SIGSTOP) while the master stores sends it cannot acknowledge
//! (FLUSH_SLAVE_TIMEOUT), then the master is killed and the slaves resumed. A slave is elected
//! without those bytes; the old master, restarted, finds that its log runs past the last epoch
//! it shares with the new master, cuts it back there, and then follows until both logs are the
//! same — the unacknowledged messages gone, every acknowledged one still there. While stored
//! but unconfirmed, those messages were never readable on the master.

use std::sync::Arc;

use sluice_remoting::codes::response;

mod common;

use common::group::{epoch_cache, logs, read_queue, send_until_ok, Group};
use common::{connect, send_cmd, T};

const TOPIC: &str = "CutBackTopic";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_master_cuts_back_what_it_never_had_acknowledged() {
    // Slaves stay in the set while paused (a long haMaxTimeSlaveNotCatchup); a put waits 1 s.
    let (mut g, d, first, _) = Group::with_topic(
        "inSyncReplicas=2\nhaMaxTimeSlaveNotCatchup=60000\nslaveTimeout=1000\n",
        TOPIC,
        1,
    )
    .await;
    let d = d.as_path();
    let c = connect(first.parse().unwrap()).await;
    // The slaves' first transfer records the epoch (an fsync each) on a busy machine: a warm-up
    // send on another topic until one is acknowledged within the 1 s this test allows.
    send_until_ok(&c, "WarmUp", 0, "w", d).await;
    let mut acked = Vec::new();
    for i in 0..50 {
        let body = format!("a{i}");
        let t0 = std::time::Instant::now();
        let r = c.request(send_cmd(TOPIC, 0, &body, ""), T).await.unwrap();
        assert_eq!(
            r.code,
            response::SUCCESS,
            "send {i} after {:?}: {:?}\n{}",
            t0.elapsed(),
            r.remark,
            logs(d)
        );
        acked.push(body);
    }

    // Both slaves paused: ten sends of 900 KB are stored on the master, none acknowledged. The
    // master keeps writing to the paused slaves until their sockets' buffers are full (a few
    // MiB on loopback); the slaves take that much when they resume, but not all 9 MB.
    let slaves: Vec<String> = g
        .brokers
        .iter()
        .map(|b| b.addr.clone())
        .filter(|a| *a != first)
        .collect();
    for s in &slaves {
        g.broker_at(s).pause();
    }
    let c = Arc::new(c);
    let sends: Vec<_> = (0..10)
        .map(|i| {
            let c = c.clone();
            let body = format!("u{i}-{}", "x".repeat(900_000));
            tokio::spawn(async move { c.request(send_cmd(TOPIC, 0, &body, ""), T).await })
        })
        .collect();
    for s in sends {
        let r = s.await.unwrap().unwrap();
        assert_eq!(r.code, response::FLUSH_SLAVE_TIMEOUT, "{:?}", r.remark);
    }
    // Stored but not confirmed by the SyncStateSet: no consumer may read them (or commit an
    // offset past them), since a master elected next may never have had them.
    let readable = read_queue(&first, TOPIC, 0).await;
    assert_eq!(readable, acked, "the master serves messages its replicas lack");
    let master_end = epoch_cache(&first).await.unwrap().max_offset;
    g.broker_at(&first).kill();
    for s in &slaves {
        g.broker_at(s).signal(libc::SIGCONT);
    }

    let (new_master, ms) = g.new_master(&first).await;
    assert!(slaves.contains(&new_master));
    let new_start = epoch_cache(&new_master)
        .await
        .unwrap()
        .epoch_list
        .last()
        .unwrap()
        .start_offset;
    assert!(
        new_start < master_end,
        "the new epoch starts at {new_start}, the old master ended at {master_end}"
    );
    eprintln!(
        "elected in {ms} ms; the old master holds {} bytes past the new epoch's start",
        master_end - new_start
    );
    // Every acknowledged message is there; of the rest, at most what a slave got before it
    // stopped.
    let on_new = read_queue(&new_master, TOPIC, 0).await;
    assert_eq!(on_new.get(..acked.len()), Some(acked.as_slice()));
    let unacked_on_new = on_new.len() - acked.len();
    assert!(
        on_new[acked.len()..].iter().all(|b| b.starts_with('u')),
        "{unacked_on_new} messages past the acknowledged ones, not all unacknowledged"
    );
    assert!(
        unacked_on_new < 10,
        "the new master has every unacknowledged message"
    );

    // New sends, then the old master returns: cut back, then the same log as the new master.
    let c2 = connect(new_master.parse().unwrap()).await;
    for i in 0..10 {
        send_until_ok(&c2, TOPIC, 0, &format!("b{i}"), d).await;
    }
    g.broker_at(&first).start();
    let on_old = g.same_log(&new_master, &first, TOPIC).await;
    // The old master kept only the unacknowledged messages the new master also has.
    let unacked_on_old = on_old.iter().filter(|b| b.starts_with('u')).count();
    assert_eq!(unacked_on_old, unacked_on_new);
    let mut once = on_old.clone();
    once.dedup();
    assert_eq!(once.get(..acked.len()), Some(acked.as_slice()));
    let text = logs(d);
    assert!(text.contains("CommitLog cut back"), "{text}");
}
