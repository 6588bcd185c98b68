//! Stage (D) end to end on a real store: delay levels, timers and transaction checks come back
//! out on time, and a restart without a clean shutdown loses none of them and repeats none.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use sluice::broker::schedule::route::route_for_put;
use sluice::broker::schedule::{CheckRequest, ScheduleConfig, Scheduler, TransactionLog, TxState, Waker};
use sluice_dataflows::{AppendReply, CorePipeline, StageHooks};
use sluice_storage::properties;
use sluice_storage::record::{self, CrcCheck};
use sluice_storage::store::QueueAdvance;
use sluice_storage::{MessageStore, MessageToStore, StoreConfig};

struct Broker {
    store: Arc<MessageStore>,
    pipeline: CorePipeline,
    scheduler: Scheduler,
    log: Arc<TransactionLog>,
    checks: Arc<Mutex<Vec<CheckRequest>>>,
}

fn start(dir: &std::path::Path) -> Broker {
    let mut cfg = StoreConfig {
        store_path_root_dir: dir.to_path_buf(),
        ..StoreConfig::default()
    };
    cfg.set("mappedFileSizeCommitLog", "1048576").unwrap();
    cfg.set("messageDelayLevel", "300ms 900ms").unwrap();
    let store = MessageStore::open(cfg).unwrap();
    let waker = Arc::new(Waker::default());
    let pipeline = CorePipeline::start(
        store.clone(),
        StageHooks {
            schedule: waker.hook(),
            delivery: Arc::new(|_: &[QueueAdvance]| {}),
        },
        64 << 20,
    )
    .unwrap();
    let checks = Arc::new(Mutex::new(Vec::new()));
    let c2 = checks.clone();
    let log = Arc::new(TransactionLog::new(store.meta().clone()));
    let scheduler = Scheduler::start(
        store.clone(),
        pipeline.submitter(),
        ScheduleConfig {
            transaction_timeout: Duration::from_millis(200),
            transaction_check_interval: Duration::from_millis(200),
            transaction_check_max: 3,
        },
        Arc::new(move |req| {
            c2.lock().unwrap().push(req);
            true
        }),
        waker,
        log.clone(),
    )
    .unwrap();
    Broker {
        store,
        pipeline,
        scheduler,
        log,
        checks,
    }
}

fn msg(body: &str, props: &[(&str, &str)]) -> MessageToStore {
    MessageToStore {
        topic: "T".into(),
        queue_id: 1,
        flag: 0,
        sys_flag: 0,
        born_timestamp: sluice_storage::clock::now_millis(),
        born_host: "127.0.0.1:1".parse().unwrap(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::from(body.to_owned()),
        properties: properties::encode(props.iter().copied()),
    }
}

fn put(b: &Broker, mut m: MessageToStore) {
    route_for_put(&mut m, b.store.config(), sluice_storage::clock::now_millis()).unwrap();
    let reply = b.pipeline.submitter().store_wait(vec![m], Duration::from_secs(5));
    assert!(matches!(reply, Ok(Some(AppendReply::Stored(_)))), "{reply:?}");
}

/// (body, store timestamp, born timestamp) of every message in T/1.
fn delivered(store: &MessageStore) -> Vec<(String, i64, i64)> {
    let Some(cq) = store.consume_queue("T", 1) else {
        return Vec::new();
    };
    (cq.min_offset()..cq.max_offset())
        .filter_map(|o| cq.get(o))
        .map(|u| {
            let slice = store.read_message_at(u.phys_offset as u64).unwrap();
            let r = record::decode_message(&slice, CrcCheck::Verify).unwrap();
            assert!(properties::get(r.properties, "REAL_TOPIC").is_some());
            assert_eq!(properties::get(r.properties, "DELAY"), None);
            (
                String::from_utf8_lossy(r.body).into_owned(),
                r.store_timestamp,
                r.born_timestamp,
            )
        })
        .collect()
}

fn wait_for(store: &MessageStore, n: usize, timeout: Duration) -> Vec<(String, i64, i64)> {
    let deadline = Instant::now() + timeout;
    loop {
        let got = delivered(store);
        if got.len() >= n || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn delays_timers_and_checks() {
    let dir = tempfile::tempdir().unwrap();
    let b = start(dir.path());
    let now = sluice_storage::clock::now_millis();
    let at = (now + 700).to_string();
    put(&b, msg("d1", &[("DELAY", "1"), ("UNIQ_KEY", "U1")]));
    put(&b, msg("t1", &[("TIMER_DELIVER_MS", &at)]));
    put(&b, msg("t0", &[("TIMER_DELAY_MS", "150")]));
    put(
        &b,
        msg(
            "half",
            &[("TRAN_MSG", "true"), ("PGROUP", "pg"), ("UNIQ_KEY", "H1")],
        ),
    );
    assert!(delivered(&b.store).is_empty(), "nothing is due yet");
    let got = wait_for(&b.store, 3, Duration::from_secs(5));
    let bodies: Vec<&str> = got.iter().map(|g| g.0.as_str()).collect();
    assert_eq!(bodies, ["t0", "d1", "t1"], "delivered in due order");
    for (body, stored, born) in &got {
        let wait = stored - born;
        let (min, max) = match body.as_str() {
            "t0" => (150, 1150),
            "d1" => (300, 1300),
            _ => (700 - (born - now), 1700),
        };
        assert!(
            wait >= min && wait <= max,
            "{body} waited {wait} ms, expected {min}..{max}"
        );
    }
    // The half message is checked once it is older than transactionTimeOut, with its offsets.
    let deadline = Instant::now() + Duration::from_secs(5);
    while b.checks.lock().unwrap().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let check = b.checks.lock().unwrap()[0].clone();
    assert_eq!(check.producer_group, "pg");
    assert_eq!(check.half_offset, 0);
    assert_eq!(check.msg_id.as_deref(), Some("H1"));
    let r = record::decode_message(&check.body, CrcCheck::Verify).unwrap();
    assert_eq!((r.topic, r.queue_id, r.body), ("T", 1, &b"half"[..]));
    // Not answered: discarded after transactionCheckMax checks.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !b.log.state(0).unwrap().is_ended() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(matches!(
        b.log.state(0).unwrap(),
        TxState::Discarded | TxState::Ended
    ));
    // The discarded copy is acked before it is dispatched (ASYNC_FLUSH): wait for the dispatch.
    let end = b.store.commitlog().write_pos();
    assert!(b.store.wait_dispatched(end, Duration::from_secs(5)));
    assert_eq!(b.checks.lock().unwrap().len(), 3);
    assert_eq!(b.store.max_queue_offset("TRANS_CHECK_MAX_TIME_TOPIC", 0), 1);
    assert_eq!(
        delivered(&b.store).len(),
        3,
        "a half message never reaches its topic"
    );
}

#[test]
fn a_crash_loses_no_waiting_message_and_repeats_none() {
    let dir = tempfile::tempdir().unwrap();
    let n = 200;
    {
        let mut b = start(dir.path());
        for i in 0..n {
            let body = format!("m{i}");
            match i % 3 {
                0 => put(&b, msg(&body, &[("DELAY", "2")])),
                1 => put(&b, msg(&body, &[("TIMER_DELAY_MS", "1200")])),
                _ => put(&b, msg(&body, &[("TIMER_DELAY_MS", &(i * 5).to_string())])),
            }
        }
        // Part of them are delivered; then the process "dies": no clean shutdown.
        std::thread::sleep(Duration::from_millis(400));
        b.scheduler.shutdown();
        b.pipeline.shutdown();
        b.store.halt();
    }
    let b = start(dir.path());
    let got = wait_for(&b.store, n, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(500));
    let got_after = delivered(&b.store);
    assert_eq!(
        got.len(),
        n,
        "every waiting message is delivered after the restart"
    );
    assert_eq!(got_after.len(), n, "and none twice");
    let mut bodies: Vec<String> = got_after.into_iter().map(|g| g.0).collect();
    bodies.sort();
    bodies.dedup();
    assert_eq!(bodies.len(), n);
}
