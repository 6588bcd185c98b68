//! Controller mode, a master paused past the heartbeat timeout (issue #14 item 3, fencing): the
//! master of a group of three is stopped with SIGSTOP until the controllers have elected another
//! and that one takes sends, then continued. Sends that reach the old master after it resumes
//! are never acknowledged (its set's slaves follow the new master now), it learns that its
//! epoch is over, cuts back what it stored meanwhile, and follows the new master.

use sluice_remoting::codes::response;

mod common;

use common::group::{send_until_ok, Group};
use common::{connect, send_cmd, T};

const TOPIC: &str = "PauseTopic";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_master_acknowledges_nothing_once_another_is_elected() {
    let (mut g, d, first, _) = Group::with_topic(
        "inSyncReplicas=2\nhaMaxTimeSlaveNotCatchup=3000\nslaveTimeout=2000\n",
        TOPIC,
        1,
    )
    .await;
    let d = d.as_path();
    let c = connect(first.parse().unwrap()).await;
    let mut acked = Vec::new();
    for i in 0..20 {
        let body = format!("a{i}");
        send_until_ok(&c, TOPIC, 0, &body, d).await;
        acked.push(body);
    }

    g.broker_at(&first).pause();
    let (new_master, ms) = g.new_master(&first).await;
    eprintln!("master paused → {new_master} registered in {ms} ms");
    let c2 = connect(new_master.parse().unwrap()).await;
    for i in 0..10 {
        let body = format!("b{i}");
        send_until_ok(&c2, TOPIC, 0, &body, d).await;
        acked.push(body);
    }

    // The old master resumes: what reaches it is not acknowledged.
    g.broker_at(&first).signal(libc::SIGCONT);
    let mut refused = Vec::new();
    for i in 0..5 {
        match c.request(send_cmd(TOPIC, 0, &format!("p{i}"), ""), T).await {
            Ok(r) => {
                assert_ne!(r.code, response::SUCCESS, "the old master acknowledged p{i}");
                refused.push(r.code);
            }
            Err(_) => refused.push(-1), // restarting in its new role
        }
    }
    eprintln!("answers of the resumed old master: {refused:?}");

    let on_new = g.same_log(&new_master, &first, TOPIC).await;
    assert!(on_new.iter().all(|b| !b.starts_with('p')), "{on_new:?}");
    let mut once = on_new.clone();
    once.dedup();
    assert_eq!(once, acked);
}
