//! Controller mode, half messages follow the master (issue #14 item 4): a transaction committed
//! on a master and one still open when it is killed. The next master replays the replicated op
//! records (its own op-state starts empty), so it never checks the committed one again; it
//! checks back the open one with the producer connected to it, and delivers it once committed.

use std::sync::{Arc, Mutex};

use sluice_remoting::body::heartbeat::{HeartbeatData, ProducerData};
use sluice_remoting::body::JsonBody;
use sluice_remoting::codes::{request, response};
use sluice_remoting::header::send::SendMessageResponseHeader;
use sluice_remoting::header::transaction::CheckTransactionStateRequestHeader;
use sluice_remoting::net::Connection;
use sluice_remoting::{DecoderLimits, RemotingCommand};

mod common;

use common::group::{logs, read_queue, wait_for, Group};
use common::{send_cmd, T};

const TOPIC: &str = "TxTopic";
const GROUP: &str = "txpg";

type Checks = Arc<Mutex<Vec<CheckTransactionStateRequestHeader>>>;

/// A producer of [`GROUP`] connected to `addr` (registered by a heartbeat); the broker's
/// CHECK_TRANSACTION_STATE requests land in `checks`.
async fn producer(addr: &str, checks: &Checks) -> Arc<Connection> {
    let sink = checks.clone();
    let c = sluice_remoting::net::connect(addr, T, DecoderLimits::default(), move |_, cmd| {
        if cmd.code == request::CHECK_TRANSACTION_STATE {
            if let Ok(h) = cmd.decode_header::<CheckTransactionStateRequestHeader>() {
                sink.lock().unwrap().push(h);
            }
        }
    })
    .await
    .unwrap();
    let hb = HeartbeatData {
        client_id: "tx-producer".into(),
        producer_data_set: vec![ProducerData {
            group_name: GROUP.into(),
        }],
        ..Default::default()
    };
    let r = c
        .request(
            RemotingCommand::request(request::HEART_BEAT).with_body(hb.to_json()),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.code, response::SUCCESS);
    c
}

/// END_TRANSACTION with `decision` (8 commit) for the half message at (`half`, `phys`).
fn end_tx(half: i64, phys: i64, decision: i32, from_check: bool) -> RemotingCommand {
    let mut cmd = RemotingCommand::request(request::END_TRANSACTION);
    for (k, v) in [
        ("producerGroup", GROUP.to_owned()),
        ("tranStateTableOffset", half.to_string()),
        ("commitLogOffset", phys.to_string()),
        ("commitOrRollback", decision.to_string()),
        ("fromTransactionCheck", from_check.to_string()),
    ] {
        cmd.ext_fields.insert(k.into(), v);
    }
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_transaction_is_checked_back_by_the_next_master() {
    let (mut g, d, first, _) = Group::with_topic(
        "inSyncReplicas=2\nhaMaxTimeSlaveNotCatchup=3000\nslaveTimeout=3000\n\
         transactionTimeOut=1000\ntransactionCheckInterval=1000\n",
        TOPIC,
        1,
    )
    .await;
    let d = d.as_path();
    let checks: Checks = Arc::default();
    let p = producer(&first, &checks).await;
    let mut halves = Vec::new();
    for body in ["committed", "open"] {
        let mut cmd = send_cmd(
            TOPIC,
            0,
            body,
            &format!("TRAN_MSG\u{1}true\u{2}PGROUP\u{1}{GROUP}\u{2}"),
        );
        cmd.ext_fields.insert("f".into(), "4".into());
        // Born now (SEND_MESSAGE_V2's `g`): a half message older than fileReservedTime is
        // discarded unchecked.
        cmd.ext_fields
            .insert("g".into(), sluice_storage::clock::now_millis().to_string());
        let r = p.request(cmd, T).await.unwrap();
        assert_eq!(r.code, response::SUCCESS, "{:?}\n{}", r.remark, logs(d));
        let h = SendMessageResponseHeader::from_ext(&r.ext_fields).unwrap();
        let (_, phys) = sluice_storage::msgid::parse_offset_msg_id(&h.msg_id).unwrap();
        halves.push((h.queue_offset, phys as i64));
    }
    let r = p
        .request(end_tx(halves[0].0, halves[0].1, 8, false), T)
        .await
        .unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    wait_for("the committed message on the master", d, 30, async || {
        (read_queue(&first, TOPIC, 0).await == ["committed"]).then_some(())
    })
    .await;

    g.broker_at(&first).kill();
    let (new_master, _) = g.new_master(&first).await;
    let checks2: Checks = Arc::default();
    let p2 = producer(&new_master, &checks2).await;
    let check = wait_for("a check-back from the new master", d, 60, async || {
        checks2.lock().unwrap().first().cloned()
    })
    .await;
    assert_eq!(check.tran_state_table_offset, halves[1].0);
    let r = p2
        .request(
            end_tx(check.tran_state_table_offset, check.commit_log_offset, 8, true),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    wait_for("both messages delivered by the new master", d, 30, async || {
        (read_queue(&new_master, TOPIC, 0).await == ["committed", "open"]).then_some(())
    })
    .await;
    // The committed one was never checked again.
    assert!(
        checks2
            .lock()
            .unwrap()
            .iter()
            .all(|c| c.tran_state_table_offset == halves[1].0),
        "the new master checked back an ended transaction"
    );
}
