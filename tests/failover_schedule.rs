//! Controller mode, waiting messages follow the master (issue #14 item 4): delayed (delay level)
//! and timed (TIMER_DELIVER_MS) messages acknowledged by a master that is killed before they
//! are due are delivered by the master elected after it — from the replicated log and the
//! schedule progress its slaves synced.

use std::collections::BTreeSet;

use sluice_remoting::codes::response;

mod common;

use common::group::{logs, read_queue, wait_for, Group};
use common::{connect, send_cmd, T};

const TOPIC: &str = "LaterTopic";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delays_and_timers_are_delivered_by_the_next_master() {
    let (mut g, d, first, _) = Group::with_topic(
        "inSyncReplicas=2\nhaMaxTimeSlaveNotCatchup=3000\nslaveTimeout=3000\n",
        TOPIC,
        1,
    )
    .await;
    let d = d.as_path();
    let c = connect(first.parse().unwrap()).await;
    let mut want = BTreeSet::new();
    let due = sluice_storage::clock::now_millis() + 8000;
    for i in 0..10 {
        // Level 3 is 10 s; the timed ones are due in 8 s.
        let (body, props) = if i % 2 == 0 {
            (format!("delay{i}"), "DELAY\u{1}3\u{2}".to_owned())
        } else {
            (format!("timer{i}"), format!("TIMER_DELIVER_MS\u{1}{due}\u{2}"))
        };
        let r = c.request(send_cmd(TOPIC, 0, &body, &props), T).await.unwrap();
        assert_eq!(r.code, response::SUCCESS, "{:?}\n{}", r.remark, logs(d));
        want.insert(body);
    }
    assert!(read_queue(&first, TOPIC, 0).await.is_empty(), "delivered early");
    g.broker_at(&first).kill();
    let (new_master, ms) = g.new_master(&first).await;
    eprintln!("new master {new_master} in {ms} ms");
    let got = wait_for(
        "the waiting messages delivered by the new master",
        d,
        60,
        async || {
            let got: BTreeSet<String> = read_queue(&new_master, TOPIC, 0).await.into_iter().collect();
            want.is_subset(&got).then_some(got)
        },
    )
    .await;
    assert_eq!(got, want);
}
