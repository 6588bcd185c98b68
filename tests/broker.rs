//! The broker and NameServer in-process, driven over real TCP with sluice's own remoting
//! connection: send (single, batch), heartbeat, pull with tag filters and long polling, offsets,
//! query, topic admin, bad input. Third-party clients are exercised by tests/interop/.

use std::time::{Duration, Instant};

use bytes::Bytes;
use sluice_remoting::batch::encode_record;
use sluice_remoting::body::heartbeat::{HeartbeatData, SubscriptionData};
use sluice_remoting::body::offsets::MessageRequestModeTable;
use sluice_remoting::body::JsonBody;
use sluice_remoting::codes::{request, response};
use sluice_remoting::header::pull::PullMessageResponseHeader;
use sluice_remoting::header::send::SendMessageResponseHeader;
use sluice_remoting::RemotingCommand;
use sluice_storage::record::{self, CrcCheck};

mod common;

use common::{bodies, cluster, cluster_with, pull_cmd, send_cmd, Cluster, T};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_pull_long_poll_offsets_and_query() {
    let c = cluster("ASYNC_FLUSH").await;
    // Sends auto-create the topic through TBW102.
    for i in 0..10 {
        let tag = if i % 2 == 0 { "TagA" } else { "TagB" };
        let props = format!("TAGS\u{1}{tag}\u{2}KEYS\u{1}key{i}\u{2}UNIQ_KEY\u{1}U{i}\u{2}");
        let r = c
            .client
            .request(send_cmd("Orders", 1, &format!("m{i}"), &props), T)
            .await
            .unwrap();
        assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
        let h = SendMessageResponseHeader::from_ext(&r.ext_fields).unwrap();
        assert_eq!((h.queue_id, h.queue_offset), (1, i));
        assert_eq!(h.msg_id.len(), 32);
        assert_eq!(r.ext("MSG_REGION"), Some("DefaultRegion"));
    }
    // A batch of three.
    let mut body = Vec::new();
    for i in 0..3 {
        encode_record(
            &mut body,
            0,
            format!("b{i}").as_bytes(),
            &format!("TAGS\u{1}TagC\u{2}UNIQ_KEY\u{1}B{i}\u{2}"),
        );
    }
    let mut cmd = send_cmd("Orders", 1, "", "");
    cmd.code = request::SEND_BATCH_MESSAGE;
    cmd.body = Bytes::from(body);
    let r = c.client.request(cmd, T).await.unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    assert_eq!(r.ext("msgId").unwrap().split(',').count(), 3);

    // Pull with a multi-tag filter, once every acked send is dispatched (a pull that finds some
    // of them may return just those, as RocketMQ's do; one that finds none waits).
    let store = &c.broker().state.store;
    assert!(store.wait_dispatched(store.commitlog().write_pos(), T));
    let r = c
        .client
        .request(pull_cmd("Orders", 1, 0, "TagA || TagC", 0), T)
        .await
        .unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    assert_eq!(bodies(&r), ["m0", "m2", "m4", "m6", "m8", "b0", "b1", "b2"]);
    let h = PullMessageResponseHeader::from_ext(&r.ext_fields).unwrap();
    assert_eq!((h.next_begin_offset, h.max_offset), (13, 13));

    // Long polling: a pull at the end waits until a message arrives.
    let client2 = common::connect(c.broker().local_addr()).await;
    let started = Instant::now();
    let waiting = tokio::spawn(async move {
        client2
            .request(pull_cmd("Orders", 1, 13, "*", 10_000), T * 3)
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = c
        .client
        .request(send_cmd("Orders", 1, "late", "TAGS\u{1}TagA\u{2}"), T)
        .await
        .unwrap();
    assert_eq!(r.code, response::SUCCESS);
    let r = waiting.await.unwrap().unwrap();
    assert_eq!(r.code, response::SUCCESS);
    assert_eq!(bodies(&r), ["late"]);
    assert!(started.elapsed() < Duration::from_secs(5));
    // Nothing new: PULL_NOT_FOUND after the (short) suspend.
    let r = c
        .client
        .request(pull_cmd("Orders", 1, 14, "*", 200), T)
        .await
        .unwrap();
    assert_eq!(r.code, response::PULL_NOT_FOUND);
    let r = c
        .client
        .request(pull_cmd("Orders", 1, 99, "*", 0), T)
        .await
        .unwrap();
    assert_eq!(r.code, response::PULL_OFFSET_MOVED);
    assert_eq!(r.ext("nextBeginOffset"), Some("14"));

    // Heartbeat registers the subscription; a pull without the subscription flag uses it.
    let hb = common::consumer_heartbeat(
        "127.0.0.1@test",
        "cg",
        vec![SubscriptionData::tag_expression("Orders", "TagB", 1)],
    );
    let r = c.client.request(hb, T).await.unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let mut cmd = pull_cmd("Orders", 1, 0, "", 0);
    cmd.ext_fields.insert("sysFlag".into(), "2".into());
    let r = c.client.request(cmd, T).await.unwrap();
    assert_eq!(bodies(&r), ["m1", "m3", "m5", "m7", "m9"]);

    // Offsets.
    let mut q = RemotingCommand::request(request::UPDATE_CONSUMER_OFFSET);
    for (k, v) in [
        ("consumerGroup", "cg"),
        ("topic", "Orders"),
        ("queueId", "1"),
        ("commitOffset", "7"),
    ] {
        q.ext_fields.insert(k.into(), v.into());
    }
    assert_eq!(c.client.request(q, T).await.unwrap().code, response::SUCCESS);
    let mut q = RemotingCommand::request(request::QUERY_CONSUMER_OFFSET);
    for (k, v) in [("consumerGroup", "cg"), ("topic", "Orders"), ("queueId", "1")] {
        q.ext_fields.insert(k.into(), v.into());
    }
    let r = c.client.request(q, T).await.unwrap();
    assert_eq!((r.code, r.ext("offset")), (response::SUCCESS, Some("7")));
    let mut q = RemotingCommand::request(request::GET_MAX_OFFSET);
    q.ext_fields.insert("topic".into(), "Orders".into());
    q.ext_fields.insert("queueId".into(), "1".into());
    assert_eq!(c.client.request(q, T).await.unwrap().ext("offset"), Some("14"));

    // Query by key through the index.
    let mut q = RemotingCommand::request(request::QUERY_MESSAGE);
    for (k, v) in [
        ("topic", "Orders"),
        ("key", "key3"),
        ("maxNum", "32"),
        ("beginTimestamp", "0"),
        ("endTimestamp", "9223372036854775807"),
    ] {
        q.ext_fields.insert(k.into(), v.into());
    }
    let r = c.client.request(q, T).await.unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    assert_eq!(bodies(&r), ["m3"]);

    // Bad input: unknown code, bad header, illegal topic.
    let r = c.client.request(RemotingCommand::request(9999), T).await.unwrap();
    assert_eq!(r.code, response::REQUEST_CODE_NOT_SUPPORTED);
    let r = c
        .client
        .request(RemotingCommand::request(request::PULL_MESSAGE), T)
        .await
        .unwrap();
    assert_ne!(r.code, response::SUCCESS);
    assert!(r.remark.unwrap_or_default().contains("consumerGroup"));
    let r = c
        .client
        .request(send_cmd("bad/topic", 0, "x", ""), T)
        .await
        .unwrap();
    assert_eq!(r.code, response::SYSTEM_ERROR);

    // The NameServer learned the auto-created topic.
    let ns = common::connect(c.namesrv).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut q = RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC);
        q.ext_fields.insert("topic".into(), "Orders".into());
        let r = ns.request(q, T).await.unwrap();
        if r.code == response::SUCCESS {
            let body = String::from_utf8_lossy(&r.body).into_owned();
            assert!(body.contains("broker-a"), "{body}");
            break;
        }
        assert!(Instant::now() < deadline, "route never appeared: {:?}", r.remark);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_flush_sends_are_acked() {
    let c = cluster("SYNC_FLUSH").await;
    let mut handles = Vec::new();
    for w in 0..8 {
        let client = common::connect(c.broker().local_addr()).await;
        handles.push(tokio::spawn(async move {
            for i in 0..25 {
                let r = client
                    .request(send_cmd("Sync", w % 4, &format!("{w}-{i}"), ""), T)
                    .await
                    .unwrap();
                assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let store = c.broker().state.store.clone();
    assert_eq!(
        (0..4).map(|q| store.max_queue_offset("Sync", q)).sum::<u64>(),
        200
    );
    assert!(store.flusher().durable_offset() >= store.commitlog().write_pos());
    c.shutdown().await;
}

fn req(code: i32, fields: &[(&str, &str)]) -> RemotingCommand {
    let mut c = RemotingCommand::request(code);
    for (k, v) in fields {
        c.ext_fields.insert((*k).into(), (*v).into());
    }
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_offsets_locks_and_views() {
    use sluice_remoting::body::common::{ConsumerListBody, MessageQueue};
    use sluice_remoting::body::lock::{LockBatchRequestBody, LockBatchResponseBody};
    use sluice_remoting::body::register::TopicConfigSerializeWrapper;

    let c = cluster("ASYNC_FLUSH").await;
    // UPDATE_AND_CREATE_TOPIC with 2 queues, then the route and GET_ALL_TOPIC_CONFIG show it.
    let create = req(
        request::UPDATE_AND_CREATE_TOPIC,
        &[
            ("topic", "Admin"),
            ("readQueueNums", "2"),
            ("writeQueueNums", "2"),
            ("perm", "6"),
        ],
    );
    assert_eq!(c.client.request(create, T).await.unwrap().code, response::SUCCESS);
    let bad = req(
        request::UPDATE_AND_CREATE_TOPIC,
        &[
            ("topic", "TBW102"),
            ("readQueueNums", "2"),
            ("writeQueueNums", "2"),
            ("perm", "6"),
        ],
    );
    assert_eq!(
        c.client.request(bad, T).await.unwrap().code,
        response::SYSTEM_ERROR
    );
    let r = c
        .client
        .request(req(request::GET_ALL_TOPIC_CONFIG, &[]), T)
        .await
        .unwrap();
    let all = TopicConfigSerializeWrapper::from_json(&r.body).unwrap();
    assert_eq!(all.topic_config_table["Admin"].write_queue_nums, 2);
    // A send beyond the queue count is refused; a send to queue 1 works.
    let r = c.client.request(send_cmd("Admin", 5, "x", ""), T).await.unwrap();
    assert_eq!(r.code, response::SYSTEM_ERROR);
    let before = sluice_storage::clock::now_millis();
    let mut offsets = Vec::new();
    for i in 0..3 {
        let r = c
            .client
            .request(send_cmd("Admin", 1, &format!("a{i}"), ""), T)
            .await
            .unwrap();
        assert_eq!(r.code, response::SUCCESS);
        offsets.push(r.ext("msgId").unwrap().to_owned());
    }
    let q = |code| req(code, &[("topic", "Admin"), ("queueId", "1")]);
    assert_eq!(
        c.client
            .request(q(request::GET_MIN_OFFSET), T)
            .await
            .unwrap()
            .ext("offset"),
        Some("0")
    );
    let r = c
        .client
        .request(q(request::GET_EARLIEST_MSG_STORETIME), T)
        .await
        .unwrap();
    assert!(r.ext("timestamp").unwrap().parse::<i64>().unwrap() >= before);
    let search = req(
        request::SEARCH_OFFSET_BY_TIMESTAMP,
        &[
            ("topic", "Admin"),
            ("queueId", "1"),
            ("timestamp", "9000000000000"),
        ],
    );
    assert_eq!(
        c.client.request(search, T).await.unwrap().ext("offset"),
        Some("3")
    );
    // VIEW_MESSAGE_BY_ID: the offset is the last 16 hex digits of the offsetMsgId.
    let phys = i64::from_str_radix(&offsets[2][16..], 16).unwrap();
    let r = c
        .client
        .request(
            req(request::VIEW_MESSAGE_BY_ID, &[("offset", &phys.to_string())]),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.code, response::SUCCESS);
    assert_eq!(bodies(&r), ["a2"]);
    let r = c
        .client
        .request(
            req(
                request::VIEW_MESSAGE_BY_ID,
                &[("offset", &(phys + 1).to_string())],
            ),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.code, response::SYSTEM_ERROR);

    // Consumer list, locks and unregister.
    let hb = common::consumer_heartbeat(
        "c1",
        "og",
        vec![SubscriptionData::tag_expression("Admin", "*", 1)],
    );
    assert_eq!(c.client.request(hb, T).await.unwrap().code, response::SUCCESS);
    let r = c
        .client
        .request(
            req(request::GET_CONSUMER_LIST_BY_GROUP, &[("consumerGroup", "og")]),
            T,
        )
        .await
        .unwrap();
    assert_eq!(
        ConsumerListBody::from_json(&r.body).unwrap().consumer_id_list,
        ["c1"]
    );
    let mqs: std::collections::BTreeSet<_> = (0..2)
        .map(|q| MessageQueue::new("Admin", "broker-a", q))
        .collect();
    let lock = |client: &str| {
        let body = LockBatchRequestBody {
            client_id: client.into(),
            consumer_group: "og".into(),
            mq_set: mqs.clone(),
            only_this_broker: true,
        };
        RemotingCommand::request(request::LOCK_BATCH_MQ).with_body(body.to_json())
    };
    let r = c.client.request(lock("c1"), T).await.unwrap();
    assert_eq!(
        LockBatchResponseBody::from_json(&r.body)
            .unwrap()
            .lock_ok_mq_set
            .len(),
        2
    );
    let r = c.client.request(lock("c2"), T).await.unwrap();
    assert_eq!(
        LockBatchResponseBody::from_json(&r.body)
            .unwrap()
            .lock_ok_mq_set
            .len(),
        0
    );
    let unreg = req(
        request::UNREGISTER_CLIENT,
        &[("clientID", "c1"), ("consumerGroup", "og")],
    );
    assert_eq!(c.client.request(unreg, T).await.unwrap().code, response::SUCCESS);
    let r = c.client.request(lock("c2"), T).await.unwrap();
    assert_eq!(
        LockBatchResponseBody::from_json(&r.body)
            .unwrap()
            .lock_ok_mq_set
            .len(),
        2
    );

    // DELETE_TOPIC_IN_BROKER drops the queues.
    let del = req(request::DELETE_TOPIC_IN_BROKER, &[("topic", "Admin")]);
    assert_eq!(c.client.request(del, T).await.unwrap().code, response::SUCCESS);
    assert_eq!(
        c.client
            .request(q(request::GET_MAX_OFFSET), T)
            .await
            .unwrap()
            .ext("offset"),
        Some("0")
    );
    let r = c
        .client
        .request(pull_cmd("Admin", 0, 0, "*", 0), T)
        .await
        .unwrap();
    assert_eq!(r.code, response::TOPIC_NOT_EXIST);
    // Garbage on a connection: the broker answers others as before.
    let mut raw = tokio::net::TcpStream::connect(c.broker().local_addr())
        .await
        .unwrap();
    use tokio::io::AsyncWriteExt;
    raw.write_all(&[0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4])
        .await
        .unwrap();
    raw.write_all(b"\x00\x00\x00\x10\x00\x00\x00\x08not json")
        .await
        .unwrap();
    drop(raw);
    let r = c.client.request(q(request::GET_MIN_OFFSET), T).await.unwrap();
    assert_eq!(r.code, response::SUCCESS);
    c.shutdown().await;
}

/// The group and settings commands mqadmin uses: GET_PRODUCER_CONNECTION_LIST (204),
/// CLONE_GROUP_OFFSET (314), GET_BROKER_CONSUME_STATS (317), DELETE_SUBSCRIPTIONGROUP (207),
/// GET_BROKER_CONFIG (26), UPDATE_BROKER_CONFIG (25); GET_TOPIC_CONFIG (351) of the 5.x tools.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_and_settings_admin() {
    use sluice_remoting::body::admin::{ConsumeStatsList, ProducerConnection, SubscriptionGroupWrapper};
    use sluice_remoting::body::heartbeat::ProducerData;

    let c = cluster("ASYNC_FLUSH").await;
    let ask = |cmd: RemotingCommand| c.client.request(cmd, T);
    // No producer of the group: SYSTEM_ERROR naming it; after a heartbeat, its connection.
    let pc = || req(request::GET_PRODUCER_CONNECTION_LIST, &[("producerGroup", "pg")]);
    let r = ask(pc()).await.unwrap();
    assert_eq!(r.code, response::SYSTEM_ERROR);
    assert!(r.remark.unwrap_or_default().contains("pg"));
    let hb = HeartbeatData {
        client_id: "p1".into(),
        producer_data_set: vec![ProducerData {
            group_name: "pg".into(),
        }],
        ..Default::default()
    };
    let r = ask(RemotingCommand::request(request::HEART_BEAT).with_body(hb.to_json())).await;
    assert_eq!(r.unwrap().code, response::SUCCESS);
    let r = ask(pc()).await.unwrap();
    let conns = ProducerConnection::from_json(&r.body).unwrap().connection_set;
    assert_eq!(conns.len(), 1);
    assert_eq!(
        (conns[0].client_id.as_str(), conns[0].language.as_str()),
        ("p1", "JAVA")
    );

    // Offsets of g on Orders: 3 messages in queue 0, 1 committed; clone to g2.
    for i in 0..3 {
        let r = ask(send_cmd("Orders", 0, &format!("m{i}"), "")).await.unwrap();
        assert_eq!(r.code, response::SUCCESS);
    }
    let group = |g: &str| {
        let body =
            format!(r#"{{"groupName":"{g}","consumeEnable":true,"retryQueueNums":1,"retryMaxTimes":16}}"#);
        RemotingCommand::request(request::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP).with_body(body.into_bytes())
    };
    assert_eq!(ask(group("g")).await.unwrap().code, response::SUCCESS);
    let commit = req(
        request::UPDATE_CONSUMER_OFFSET,
        &[
            ("consumerGroup", "g"),
            ("topic", "Orders"),
            ("queueId", "0"),
            ("commitOffset", "1"),
        ],
    );
    assert_eq!(ask(commit).await.unwrap().code, response::SUCCESS);
    let clone = req(
        request::CLONE_GROUP_OFFSET,
        &[
            ("srcGroup", "g"),
            ("destGroup", "g2"),
            ("topic", "Orders"),
            ("offline", "false"),
        ],
    );
    assert_eq!(ask(clone).await.unwrap().code, response::SUCCESS);
    let query = req(
        request::QUERY_CONSUMER_OFFSET,
        &[("consumerGroup", "g2"), ("topic", "Orders"), ("queueId", "0")],
    );
    assert_eq!(ask(query).await.unwrap().ext("offset"), Some("1"));

    // The broker-wide lag: g has 2 of 3 left in queue 0.
    let r = ask(req(request::GET_BROKER_CONSUME_STATS, &[("isOrder", "false")]))
        .await
        .unwrap();
    assert_eq!(r.code, response::SUCCESS);
    let stats = ConsumeStatsList::from_json(&r.body).unwrap();
    assert_eq!(stats.total_diff, 2);
    let of_g: Vec<_> = stats
        .consume_stats_list
        .iter()
        .filter_map(|m| m.get("g"))
        .collect();
    assert_eq!(of_g.len(), 1);
    assert_eq!(of_g[0].len(), 1, "one topic");

    // GET_TOPIC_CONFIG (5.x tools): one topic's config, TOPIC_NOT_EXIST for an unknown one.
    let r = ask(req(
        request::GET_TOPIC_CONFIG,
        &[("topic", "Orders"), ("lo", "false")],
    ))
    .await
    .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        (v["topicName"].as_str(), v["perm"].as_i64()),
        (Some("Orders"), Some(6))
    );
    let r = ask(req(request::GET_TOPIC_CONFIG, &[("topic", "Nope")]))
        .await
        .unwrap();
    assert_eq!(r.code, response::TOPIC_NOT_EXIST);

    // DELETE_SUBSCRIPTIONGROUP removes the config (twice: still SUCCESS).
    for _ in 0..2 {
        let del = req(request::DELETE_SUBSCRIPTIONGROUP, &[("groupName", "g")]);
        assert_eq!(ask(del).await.unwrap().code, response::SUCCESS);
    }
    let r = ask(req(request::GET_ALL_SUBSCRIPTIONGROUP_CONFIG, &[]))
        .await
        .unwrap();
    let all = SubscriptionGroupWrapper::from_json(&r.body).unwrap();
    assert!(!all.subscription_group_table.contains_key("g"));
    // A 5.x slave's metadata sync also asks for the groups' request modes: all PULL, none listed.
    let r = ask(req(request::GET_ALL_MESSAGE_REQUEST_MODE, &[]))
        .await
        .unwrap();
    assert_eq!(r.code, response::SUCCESS);
    let modes = MessageRequestModeTable::from_json(&r.body).unwrap();
    assert!(modes.message_request_mode_map.is_empty());

    // Settings: the ones in force as properties; an update to the same value is accepted, a
    // change or an unknown key refused with the reason.
    let r = ask(req(request::GET_BROKER_CONFIG, &[])).await.unwrap();
    assert_eq!(r.code, response::SUCCESS);
    let text = String::from_utf8(r.body.to_vec()).unwrap();
    assert!(text.lines().any(|l| l == "brokerName=broker-a"), "{text}");
    assert!(text.lines().any(|l| l == "flushDiskType=ASYNC_FLUSH"), "{text}");
    assert!(r.ext("version").is_some_and(|v| v.contains("counter")));
    let update = |body: &str| {
        RemotingCommand::request(request::UPDATE_BROKER_CONFIG).with_body(body.as_bytes().to_vec())
    };
    assert_eq!(
        ask(update("brokerName=broker-a\n")).await.unwrap().code,
        response::SUCCESS
    );
    for (body, why) in [
        ("brokerName=other\n", "at start only"),
        ("noSuchKey=1\n", "noSuchKey"),
        ("flushDiskType=SOMETIMES\n", "flushDiskType"),
    ] {
        let r = ask(update(body)).await.unwrap();
        assert_eq!(r.code, response::SYSTEM_ERROR, "{body}");
        assert!(
            r.remark.as_deref().is_some_and(|m| m.contains(why)),
            "{body}: {:?}",
            r.remark
        );
    }
    c.shutdown().await;
}

/// Pulls everything in (topic, queue) from offset 0 as decoded (body, reconsumeTimes,
/// physical offset, properties).
/// slaveReadEnable: a consumer behind the hot data (here any lag: accessMessageInMemoryMaxRatio=0)
/// is told to read from the group's whichBrokerWhenConsumeSlowly (1); without the key, from the
/// master (0).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_consumer_is_sent_to_the_slave_with_slave_read_enable() {
    for (props, lagging) in [
        ("slaveReadEnable=true\naccessMessageInMemoryMaxRatio=0\n", 1),
        ("accessMessageInMemoryMaxRatio=0\n", 0),
    ] {
        let c = cluster_with(props).await;
        for i in 0..3 {
            let r = c
                .client
                .request(send_cmd("SlowT", 0, &format!("m{i}"), ""), T)
                .await
                .unwrap();
            assert_eq!(r.code, response::SUCCESS);
        }
        let suggest = |r: &RemotingCommand| {
            r.decode_header::<PullMessageResponseHeader>()
                .unwrap()
                .suggest_which_broker_id
        };
        let mut pull = pull_cmd("SlowT", 0, 0, "*", 0);
        pull.ext_fields.insert("maxMsgNums".into(), "1".into());
        let r = c.client.request(pull, T).await.unwrap();
        assert_eq!(r.code, response::SUCCESS);
        assert_eq!(suggest(&r), lagging, "{props}");
        c.shutdown().await;
    }
}

async fn pull_all(c: &Cluster, topic: &str, queue: i32) -> Vec<(String, i32, u64, String)> {
    let r = c
        .client
        .request(pull_cmd(topic, queue, 0, "*", 0), T)
        .await
        .unwrap();
    if r.code != response::SUCCESS {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < r.body.len() {
        let record::Decoded::Message(m) = record::decode(&r.body[pos..], CrcCheck::Verify).unwrap() else {
            panic!("blank in a pull body")
        };
        out.push((
            String::from_utf8_lossy(m.body).into_owned(),
            m.reconsume_times,
            m.physical_offset as u64,
            m.properties.to_owned(),
        ));
        pos += m.total_size;
    }
    out
}

async fn wait_pull(c: &Cluster, topic: &str, queue: i32, n: usize) -> Vec<(String, i32, u64, String)> {
    let deadline = Instant::now() + T;
    loop {
        let got = pull_all(c, topic, queue).await;
        if got.len() >= n || Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn send_back_cmd(offset: u64, max: i32) -> RemotingCommand {
    let mut cmd = RemotingCommand::request(request::CONSUMER_SEND_MSG_BACK);
    for (k, v) in [
        ("offset", offset.to_string()),
        ("group", "cg".into()),
        ("delayLevel", "0".into()),
        ("maxReconsumeTimes", max.to_string()),
    ] {
        cmd.ext_fields.insert(k.into(), v);
    }
    cmd.version = 400;
    cmd
}

fn end_tx_cmd(group: &str, half_offset: i64, msg_id: &str, decision: i32) -> RemotingCommand {
    let (_, phys) = sluice_storage::msgid::parse_offset_msg_id(msg_id).unwrap();
    let mut cmd = RemotingCommand::request(request::END_TRANSACTION);
    for (k, v) in [
        ("producerGroup", group.to_owned()),
        ("tranStateTableOffset", half_offset.to_string()),
        ("commitLogOffset", phys.to_string()),
        ("commitOrRollback", decision.to_string()),
    ] {
        cmd.ext_fields.insert(k.into(), v);
    }
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delays_retries_dead_letters_and_transactions() {
    let c =
        cluster_with("messageDelayLevel=200ms 200ms 200ms 200ms 200ms 200ms\ntimerMaxDelaySec=60\n").await;
    // A delay-level message waits, then lands in its topic and queue.
    let sent = Instant::now();
    let r = c
        .client
        .request(send_cmd("Biz", 2, "later", "TAGS\u{1}a\u{2}DELAY\u{1}1\u{2}"), T)
        .await
        .unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    assert!(pull_all(&c, "Biz", 2).await.is_empty());
    let got = wait_pull(&c, "Biz", 2, 1).await;
    assert_eq!(got.len(), 1);
    assert!(sent.elapsed() >= Duration::from_millis(200));
    let (_, _, phys, props) = &got[0];
    assert!(!props.contains("DELAY"), "{props:?}");

    // Send-back: to %RETRY%cg after the level-3 delay, remembering the business topic...
    let r = c.client.request(send_back_cmd(*phys, 2), T).await.unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let retried = wait_pull(&c, "%RETRY%cg", 0, 1).await;
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].1, 1, "reconsumeTimes");
    assert!(
        retried[0].3.contains("RETRY_TOPIC\u{1}Biz\u{2}"),
        "{:?}",
        retried[0].3
    );
    let r = c.client.request(send_back_cmd(retried[0].2, 2), T).await.unwrap();
    assert_eq!(r.code, response::SUCCESS);
    let retried = wait_pull(&c, "%RETRY%cg", 0, 2).await;
    assert_eq!(retried[1].1, 2);
    // ... and past maxReconsumeTimes to %DLQ%cg, at once.
    let r = c.client.request(send_back_cmd(retried[1].2, 2), T).await.unwrap();
    assert_eq!(r.code, response::SUCCESS);
    let dead = wait_pull(&c, "%DLQ%cg", 0, 1).await;
    assert_eq!(dead.len(), 1);
    assert_eq!((dead[0].0.as_str(), dead[0].1), ("later", 3));
    let r = c.client.request(send_back_cmd(1 << 40, 2), T).await.unwrap();
    assert_eq!(r.code, response::SYSTEM_ERROR);

    // Transactions: commit → delivered; rollback → never; bad ends refused.
    let half = |body: &str| {
        let mut cmd = send_cmd("Pay", 0, body, "TRAN_MSG\u{1}true\u{2}PGROUP\u{1}txg\u{2}");
        cmd.ext_fields.insert("f".into(), "4".into());
        cmd
    };
    let mut halves = Vec::new();
    for body in ["commit-me", "roll-me-back"] {
        let r = c.client.request(half(body), T).await.unwrap();
        assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
        let h = SendMessageResponseHeader::from_ext(&r.ext_fields).unwrap();
        halves.push((h.queue_offset, h.msg_id));
    }
    assert!(
        pull_all(&c, "Pay", 0).await.is_empty(),
        "half messages are not delivered"
    );
    let r = c
        .client
        .request(end_tx_cmd("other", halves[0].0, &halves[0].1, 8), T)
        .await
        .unwrap();
    assert_eq!(r.code, response::SYSTEM_ERROR);
    let r = c
        .client
        .request(end_tx_cmd("txg", halves[0].0, &halves[0].1, 4), T)
        .await
        .unwrap();
    assert_eq!(r.code, response::SYSTEM_ERROR);
    for (i, decision) in [(0, 8), (1, 12)] {
        let r = c
            .client
            .request(end_tx_cmd("txg", halves[i].0, &halves[i].1, decision), T)
            .await
            .unwrap();
        assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    }
    let paid = wait_pull(&c, "Pay", 0, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let paid_later = pull_all(&c, "Pay", 0).await;
    assert_eq!(paid.len(), 1);
    assert_eq!(paid_later.len(), 1);
    assert_eq!(paid[0].0, "commit-me");
    // Committing again is harmless and delivers nothing new.
    let r = c
        .client
        .request(end_tx_cmd("txg", halves[0].0, &halves[0].1, 8), T)
        .await
        .unwrap();
    assert_eq!(r.code, response::SUCCESS);
    assert_eq!(pull_all(&c, "Pay", 0).await.len(), 1);

    // Timers: beyond timerMaxDelaySec is MESSAGE_ILLEGAL; a near one arrives on time.
    let r = c
        .client
        .request(send_cmd("Biz", 3, "too-far", "TIMER_DELAY_SEC\u{1}61\u{2}"), T)
        .await
        .unwrap();
    assert_eq!(r.code, response::MESSAGE_ILLEGAL, "{:?}", r.remark);
    let r = c
        .client
        .request(send_cmd("Biz", 3, "soon", "TIMER_DELAY_MS\u{1}300\u{2}"), T)
        .await
        .unwrap();
    assert_eq!(r.code, response::SUCCESS);
    assert!(pull_all(&c, "Biz", 3).await.is_empty());
    assert_eq!(wait_pull(&c, "Biz", 3, 1).await.len(), 1);
    // Producers may not write to the waiting topics themselves.
    let r = c
        .client
        .request(send_cmd("rmq_sys_wheel_timer", 0, "x", ""), T)
        .await
        .unwrap();
    assert_eq!(r.code, response::NO_PERMISSION);
    c.shutdown().await;
}
