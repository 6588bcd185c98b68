//! Producing through sluice-client into the real broker and reading it back with the pull
//! consumer: sync, async, oneway, batch, ordered sends; offsets; transactions.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Broker;
use sluice_client::consumer::{PullConsumer, PullStatus};
use sluice_client::producer::{LocalTransactionState, SelectByKey, TransactionListener, TransactionProducer};
use sluice_client::{ClientConfig, Message, MessageExt, MessageQueue, Producer, ProducerConfig, SendResult};

/// Everything in `topic`, by body, pulling every queue from offset 0 until `want` arrived.
async fn drain(
    consumer: &PullConsumer,
    topic: &str,
    want: usize,
    within: Duration,
) -> BTreeMap<String, MessageExt> {
    let deadline = Instant::now() + within;
    let mut got = BTreeMap::new();
    let mut offsets: BTreeMap<MessageQueue, i64> = BTreeMap::new();
    while got.len() < want && Instant::now() < deadline {
        let queues = consumer.queues(topic).await.unwrap_or_default();
        for mq in queues {
            let off = *offsets.get(&mq).unwrap_or(&0);
            let Ok(r) = consumer.pull(&mq, off).await else {
                continue;
            };
            if r.status == PullStatus::Found || r.status == PullStatus::OffsetIllegal {
                offsets.insert(mq.clone(), r.next_begin_offset);
            }
            for m in r.messages {
                got.insert(String::from_utf8_lossy(&m.body).into_owned(), m);
            }
        }
        if got.len() < want {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_async_oneway_batch_and_ordered_sends_are_pulled_back() {
    let broker = Broker::start("");
    let client = ClientConfig::new([broker.namesrv.clone()]);
    let producer = Producer::new(client.clone(), ProducerConfig::new("pg")).unwrap();
    let topic = "ClientTopic";

    let mut ids = Vec::new();
    for i in 0..5 {
        let mut m = Message::new(topic, format!("sync-{i}"))
            .with_tags("A")
            .with_keys([format!("k{i}")]);
        let r: SendResult = producer.send(&mut m).await.unwrap();
        assert_eq!(r.msg_id.len(), 32);
        assert_eq!(Some(r.msg_id.as_str()), m.uniq_key());
        ids.push(r.msg_id);
    }
    let handles: Vec<_> = (0..5)
        .map(|i| producer.send_async(Message::new(topic, format!("async-{i}")).with_tags("B")))
        .collect();
    for h in handles {
        h.await.unwrap().unwrap();
    }
    producer
        .send_oneway(&mut Message::new(topic, "oneway-0").with_tags("B"))
        .await
        .unwrap();
    let mut batch: Vec<Message> = (0..4)
        .map(|i| Message::new(topic, format!("batch-{i}")))
        .collect();
    let r = producer.send_batch(&mut batch).await.unwrap();
    assert_eq!(r.msg_id.split(',').count(), 4);
    let mut ordered_queue = None;
    for i in 0..6 {
        let mut m = Message::new(topic, format!("ordered-{i}"));
        let r = producer
            .send_ordered(&mut m, &SelectByKey("order-1".into()))
            .await
            .unwrap();
        assert!(ordered_queue.is_none() || ordered_queue.as_ref() == Some(&r.queue));
        ordered_queue = Some(r.queue);
    }
    // A large body is compressed on the way out and decompressed on the way in.
    let big = "z".repeat(10_000);
    producer
        .send(&mut Message::new(topic, big.clone()))
        .await
        .unwrap();

    let consumer = PullConsumer::new(client, "cg").unwrap();
    let got = drain(&consumer, topic, 22, Duration::from_secs(20)).await;
    assert_eq!(got.len(), 22, "got {:?}", got.keys().collect::<Vec<_>>());
    assert_eq!(got["sync-3"].keys(), ["k3"]);
    assert_eq!(got["sync-3"].msg_id(), ids[3]);
    assert_eq!(got["async-1"].tags(), Some("B"));
    assert!(got.contains_key(&big));
    let q = ordered_queue.unwrap();
    let ordered: Vec<i64> = (0..6)
        .map(|i| got[&format!("ordered-{i}")].queue_offset)
        .collect();
    assert!(ordered.windows(2).all(|w| w[0] < w[1]), "{ordered:?}");
    assert!((0..6).all(|i| got[&format!("ordered-{i}")].queue_id == q.queue_id));

    // Offsets: none yet, then committed and read back.
    assert_eq!(consumer.fetch_offset(&q).await.unwrap().unwrap_or(0), 0);
    consumer.commit_offset(&q, 3).await.unwrap();
    assert_eq!(consumer.fetch_offset(&q).await.unwrap(), Some(3));
    assert!(consumer.max_offset(&q).await.unwrap() >= 6);
    assert_eq!(consumer.min_offset(&q).await.unwrap(), 0);
    // Tag filtering.
    let opts = sluice_client::consumer::PullOptions {
        expression: "A".into(),
        ..Default::default()
    };
    let mut tagged = 0;
    for mq in consumer.queues(topic).await.unwrap() {
        let r = consumer.pull_with(&mq, 0, &opts).await.unwrap();
        assert!(r.messages.iter().all(|m| m.tags() == Some("A")));
        tagged += r.messages.len();
    }
    assert_eq!(tagged, 5);
    producer.shutdown().await;
    consumer.shutdown().await;
}

struct Listener;

impl TransactionListener for Listener {
    fn execute_local_transaction(&self, msg: &Message, _send: &SendResult) -> LocalTransactionState {
        match &msg.body[..] {
            b"commit" => LocalTransactionState::Commit,
            b"rollback" => LocalTransactionState::Rollback,
            _ => LocalTransactionState::Unknown,
        }
    }
    fn check_local_transaction(&self, msg: &MessageExt) -> LocalTransactionState {
        match &msg.body[..] {
            b"unknown-then-commit" => LocalTransactionState::Commit,
            _ => LocalTransactionState::Rollback,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_commit_rollback_and_check_back() {
    let broker = Broker::start("transactionTimeOut=1000\ntransactionCheckInterval=1000\n");
    let client = ClientConfig::new([broker.namesrv.clone()]);
    let producer =
        TransactionProducer::new(client.clone(), ProducerConfig::new("txg"), Arc::new(Listener)).unwrap();
    let topic = "TxTopic";
    for body in [
        "commit",
        "rollback",
        "unknown-then-commit",
        "unknown-then-rollback",
    ] {
        let r = producer
            .send_in_transaction(Message::new(topic, body))
            .await
            .unwrap();
        assert_eq!(
            r.state == LocalTransactionState::Unknown,
            body.starts_with("unknown"),
            "{body}"
        );
    }
    // The broker knows the producer group only from heartbeats: send one now so the check-back
    // finds this producer.
    producer.producer().instance().heartbeat_all().await;
    let consumer = PullConsumer::new(client, "txcg").unwrap();
    let got = drain(&consumer, topic, 2, Duration::from_secs(30)).await;
    // Give a wrong extra delivery a chance to show up.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let got_more = drain(&consumer, topic, 3, Duration::from_secs(1)).await;
    let bodies: Vec<&str> = got_more.keys().map(String::as_str).collect();
    assert_eq!(
        bodies,
        ["commit", "unknown-then-commit"],
        "first pass {:?}",
        got.keys()
    );
    producer.shutdown().await;
    consumer.shutdown().await;
}
