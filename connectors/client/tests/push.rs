//! The push consumer against the real broker: every message of a 4-queue topic, two
//! consumers splitting a group's queues, send-back through `%RETRY%` with the topic restored,
//! BROADCASTING, and orderly consumption with per-key order.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Broker;
use sluice_client::consumer::push::{
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, ConsumeOrderlyContext, ConsumeOrderlyStatus,
};
use sluice_client::consumer::{ConsumeFrom, PushConfig, PushConsumer};
use sluice_client::producer::SelectByKey;
use sluice_client::{ClientConfig, Message, MessageExt, MessageQueue, Producer, ProducerConfig};
use sluice_remoting::body::MessageModel;

const FAST_RETRY: &str = "messageDelayLevel=1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s\n";

fn config(group: &str) -> PushConfig {
    let mut c = PushConfig::new(group);
    c.consume_from = ConsumeFrom::FirstOffset;
    c.rebalance_interval = Duration::from_secs(1);
    c.persist_interval = Duration::from_secs(1);
    c.lock_interval = Duration::from_secs(2);
    c.suspend_time = Duration::from_secs(2);
    c
}

async fn produce(broker: &Broker, topic: &str, n: usize, prefix: &str) -> Producer {
    let p = Producer::new(
        ClientConfig::new([broker.namesrv.clone()]),
        ProducerConfig::new("pg"),
    )
    .unwrap();
    for i in 0..n {
        p.send(&mut Message::new(topic, format!("{prefix}-{i}")))
            .await
            .unwrap();
    }
    p
}

type Seen = Arc<Mutex<Vec<MessageExt>>>;
/// key → (sequence, reconsumeTimes) in consume order.
type OrderLog = Arc<Mutex<BTreeMap<String, Vec<(u32, i32)>>>>;

/// A listener that records every message and succeeds.
fn recorder(
    seen: Seen,
) -> impl Fn(&[MessageExt], &mut ConsumeConcurrentlyContext) -> ConsumeConcurrentlyStatus {
    move |msgs, _ctx| {
        seen.lock().unwrap().extend(msgs.iter().cloned());
        ConsumeConcurrentlyStatus::ConsumeSuccess
    }
}

fn bodies(seen: &Seen) -> Vec<String> {
    seen.lock()
        .unwrap()
        .iter()
        .map(|m| String::from_utf8_lossy(&m.body).into_owned())
        .collect()
}

async fn wait_for(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_consumer_receives_every_message_of_four_queues() {
    let broker = Broker::start("");
    let topic = "PushAll";
    let producer = produce(&broker, topic, 40, "m").await;
    let consumer =
        PushConsumer::new(ClientConfig::new([broker.namesrv.clone()]), config("push-all")).unwrap();
    consumer.subscribe(topic, "*");
    let seen: Seen = Arc::default();
    consumer.start_concurrently(recorder(seen.clone())).await.unwrap();
    wait_for("40 messages", Duration::from_secs(30), || {
        bodies(&seen).len() >= 40
    })
    .await;
    let got: BTreeSet<String> = bodies(&seen).into_iter().collect();
    assert_eq!(got.len(), 40);
    let queues: BTreeSet<i32> = seen.lock().unwrap().iter().map(|m| m.queue_id).collect();
    assert_eq!(queues.len(), 4, "messages came from every queue");
    let topic_queues: Vec<MessageQueue> = consumer
        .assigned_queues()
        .into_iter()
        .filter(|q| q.topic == topic)
        .collect();
    assert_eq!(topic_queues.len(), 4);
    // Offsets are committed on shutdown: a new consumer of the group gets nothing again.
    consumer.shutdown().await;
    let again = PushConsumer::new(ClientConfig::new([broker.namesrv.clone()]), config("push-all")).unwrap();
    again.subscribe(topic, "*");
    let seen2: Seen = Arc::default();
    again.start_concurrently(recorder(seen2.clone())).await.unwrap();
    producer.send(&mut Message::new(topic, "late")).await.unwrap();
    wait_for("the late message", Duration::from_secs(20), || {
        !bodies(&seen2).is_empty()
    })
    .await;
    assert_eq!(bodies(&seen2), ["late"]);
    again.shutdown().await;
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_consumers_of_a_group_split_the_queues_and_receive_everything_once() {
    let broker = Broker::start("");
    let topic = "PushSplit";
    let producer = produce(&broker, topic, 1, "warmup").await;
    let client = ClientConfig::new([broker.namesrv.clone()]);
    let (seen_a, seen_b): (Seen, Seen) = (Arc::default(), Arc::default());
    let a = PushConsumer::new(client.clone(), config("split")).unwrap();
    a.subscribe(topic, "*");
    a.start_concurrently(recorder(seen_a.clone())).await.unwrap();
    let b = PushConsumer::new(client, config("split")).unwrap();
    b.subscribe(topic, "*");
    b.start_concurrently(recorder(seen_b.clone())).await.unwrap();
    let mine = |c: &PushConsumer| -> BTreeSet<MessageQueue> {
        c.assigned_queues()
            .into_iter()
            .filter(|q| q.topic == topic)
            .collect()
    };
    wait_for("a 2 + 2 split", Duration::from_secs(20), || {
        let (qa, qb) = (mine(&a), mine(&b));
        qa.len() == 2 && qb.len() == 2 && qa.is_disjoint(&qb)
    })
    .await;
    for i in 0..40 {
        producer
            .send(&mut Message::new(topic, format!("m-{i}")))
            .await
            .unwrap();
    }
    let count = |s: &Seen| bodies(s).iter().filter(|b| b.starts_with("m-")).count();
    wait_for("40 messages", Duration::from_secs(30), || {
        count(&seen_a) + count(&seen_b) >= 40
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut all: Vec<String> = bodies(&seen_a)
        .into_iter()
        .chain(bodies(&seen_b))
        .filter(|b| b.starts_with("m-"))
        .collect();
    all.sort();
    let unique: BTreeSet<&String> = all.iter().collect();
    assert_eq!((all.len(), unique.len()), (40, 40), "each message exactly once");
    assert!(
        count(&seen_a) > 0 && count(&seen_b) > 0,
        "both consumers got a share"
    );
    a.shutdown().await;
    b.shutdown().await;
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_message_comes_back_through_the_retry_topic() {
    let broker = Broker::start(FAST_RETRY);
    let topic = "PushRetry";
    let producer = produce(&broker, topic, 1, "fail-once").await;
    let consumer =
        PushConsumer::new(ClientConfig::new([broker.namesrv.clone()]), config("retrying")).unwrap();
    consumer.subscribe(topic, "*");
    let seen: Seen = Arc::default();
    let s = seen.clone();
    consumer
        .start_concurrently(
            move |msgs: &[MessageExt], _ctx: &mut ConsumeConcurrentlyContext| {
                s.lock().unwrap().extend(msgs.iter().cloned());
                if msgs.iter().any(|m| m.reconsume_times == 0) {
                    ConsumeConcurrentlyStatus::ReconsumeLater
                } else {
                    ConsumeConcurrentlyStatus::ConsumeSuccess
                }
            },
        )
        .await
        .unwrap();
    wait_for("the redelivery", Duration::from_secs(40), || {
        seen.lock().unwrap().len() >= 2
    })
    .await;
    let seen = seen.lock().unwrap().clone();
    let (first, again) = (&seen[0], &seen[1]);
    assert_eq!((first.topic.as_str(), first.reconsume_times), (topic, 0));
    assert_eq!(again.topic, topic, "original topic restored from RETRY_TOPIC");
    assert_eq!(again.reconsume_times, 1);
    assert_eq!(again.body, first.body);
    assert_eq!(again.property("RETRY_TOPIC"), Some(topic));
    assert_eq!(again.msg_id(), first.msg_id());
    consumer.shutdown().await;
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcasting_consumers_each_receive_everything() {
    let broker = Broker::start("");
    let topic = "PushBroadcast";
    let producer = produce(&broker, topic, 20, "b").await;
    let dir = tempfile::tempdir().unwrap();
    let client = ClientConfig::new([broker.namesrv.clone()]);
    let mut consumers = Vec::new();
    let mut seens = Vec::new();
    for _ in 0..2 {
        let mut c = config("broadcast");
        c.message_model = MessageModel::Broadcasting;
        c.offset_store_dir = Some(dir.path().to_path_buf());
        let consumer = PushConsumer::new(client.clone(), c).unwrap();
        consumer.subscribe(topic, "*");
        let seen: Seen = Arc::default();
        consumer.start_concurrently(recorder(seen.clone())).await.unwrap();
        consumers.push(consumer);
        seens.push(seen);
    }
    for seen in &seens {
        wait_for("20 messages each", Duration::from_secs(30), || {
            bodies(seen).len() >= 20
        })
        .await;
        assert_eq!(bodies(seen).into_iter().collect::<BTreeSet<_>>().len(), 20);
    }
    for c in &consumers {
        assert!(
            c.assigned_queues().iter().all(|q| q.topic == topic),
            "no retry topic in BROADCASTING"
        );
        c.shutdown().await;
    }
    let files: Vec<_> = walk(dir.path());
    assert_eq!(files.len(), 2, "one offset file per client: {files:?}");
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(text.contains("offsetTable") && text.contains(topic));
    producer.shutdown().await;
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.file_name().is_some_and(|n| n == "offsets.json") {
            out.push(p);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orderly_consumer_keeps_per_key_order() {
    let broker = Broker::start("");
    let topic = "PushOrderly";
    let producer = Producer::new(
        ClientConfig::new([broker.namesrv.clone()]),
        ProducerConfig::new("pg"),
    )
    .unwrap();
    let keys = ["k0", "k1", "k2", "k3", "k4"];
    for seq in 0..10 {
        for k in keys {
            let mut m = Message::new(topic, format!("{k}:{seq}"));
            producer
                .send_ordered(&mut m, &SelectByKey(k.into()))
                .await
                .unwrap();
        }
    }
    let mut c = config("orderly");
    c.suspend_current_queue_time = Duration::from_millis(200);
    let consumer = PushConsumer::new(ClientConfig::new([broker.namesrv.clone()]), c).unwrap();
    consumer.subscribe(topic, "*");
    let order: OrderLog = Arc::default();
    let o = order.clone();
    consumer
        .start_orderly(move |msgs: &[MessageExt], _ctx: &mut ConsumeOrderlyContext| {
            for m in msgs {
                let body = String::from_utf8_lossy(&m.body).into_owned();
                let Some((k, seq)) = body.split_once(':') else {
                    continue;
                };
                let seq: u32 = seq.parse().unwrap();
                if body == "k0:3" && m.reconsume_times == 0 {
                    // Fails once: the queue pauses and the same message comes back first.
                    return ConsumeOrderlyStatus::SuspendCurrentQueueAMoment;
                }
                o.lock()
                    .unwrap()
                    .entry(k.to_owned())
                    .or_default()
                    .push((seq, m.reconsume_times));
            }
            ConsumeOrderlyStatus::Success
        })
        .await
        .unwrap();
    let total = || order.lock().unwrap().values().map(Vec::len).sum::<usize>();
    wait_for("50 messages", Duration::from_secs(30), || total() >= 50).await;
    let order = order.lock().unwrap().clone();
    for k in keys {
        let seqs: Vec<u32> = order[k].iter().map(|(s, _)| *s).collect();
        assert_eq!(seqs, (0..10).collect::<Vec<_>>(), "order of {k}");
    }
    assert_eq!(order["k0"][3], (3, 1), "retried locally with reconsumeTimes 1");
    consumer.shutdown().await;
    producer.shutdown().await;
}
