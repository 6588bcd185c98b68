//! The admin commands' library functions against an in-process NameServer and broker (real
//! TCP), checking tables and JSON, a missing topic and an unreachable NameServer; plus
//! Java-shaped admin requests sent raw and the exact shapes of the bodies the broker answers.

use std::time::Duration;

use sluice_remoting::body::admin::BROKER_RUNTIME_KEYS;
use sluice_remoting::codes::{request, response};
use sluice_remoting::RemotingCommand;

mod common;

use common::cluster;

async fn run(ns: &str, args: &[&str]) -> anyhow::Result<String> {
    common::admin(ns, args).await
}

async fn json(ns: &str, args: &[&str]) -> serde_json::Value {
    let mut a = args.to_vec();
    a.push("--json");
    let out = run(ns, &a).await.unwrap();
    serde_json::from_str(&out).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_against_a_broker() {
    let c = cluster("ASYNC_FLUSH").await;
    let ns = c.namesrv.to_string();
    let state = c.broker().state.clone();
    let addr = state.broker_addr().to_string();
    let bname = state.config.broker_name.clone();

    let out = run(
        &ns,
        &["updateTopic", "-b", &addr, "-t", "AdminT", "-r", "2", "-w", "2"],
    )
    .await
    .unwrap();
    assert!(out.contains(&format!("create topic to {addr} success.")), "{out}");
    // The broker re-registers at once; wait for the route.
    let mut route = Err(anyhow::anyhow!("no route yet"));
    for _ in 0..50 {
        route = run(&ns, &["topicRoute", "-t", "AdminT"]).await;
        if route.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let route = route.unwrap();
    assert!(route.starts_with("#ClusterName"), "{route}");
    assert!(route.contains(&bname) && route.contains("RW-"), "{route}");

    let sent = json(
        &ns,
        &[
            "sendMessage",
            "-t",
            "AdminT",
            "-p",
            "hello",
            "-k",
            "k1",
            "-c",
            "TagA",
        ],
    )
    .await;
    assert_eq!(sent["sendStatus"], "SEND_OK");
    assert_eq!(sent["queueId"], 0);
    let msg_id = sent["offsetMsgId"].as_str().unwrap().to_owned();
    assert_eq!(
        sent["msgId"].as_str().unwrap().len(),
        32,
        "the client's UNIQ_KEY: {sent}"
    );
    let table = run(
        &ns,
        &[
            "sendMessage",
            "-t",
            "AdminT",
            "-p",
            "second",
            "-b",
            &bname,
            "-i",
            "1",
        ],
    )
    .await
    .unwrap();
    assert!(
        table.starts_with("#Broker Name") && table.contains("SEND_OK"),
        "{table}"
    );

    let status = json(&ns, &["topicStatus", "-t", "AdminT"]).await;
    assert_eq!(status.as_array().unwrap().len(), 2);
    assert_eq!(status[0]["maxOffset"], 1);
    assert_eq!(status[0]["minOffset"], 0);
    let status = run(&ns, &["topicStatus", "-t", "AdminT"]).await.unwrap();
    assert!(
        status.starts_with("#Broker Name  #QID  #Min Offset  #Max Offset"),
        "{status}"
    );

    let by_id = run(&ns, &["queryMsgById", "-i", &msg_id]).await.unwrap();
    assert!(by_id.contains("Message Body    : hello"), "{by_id}");
    assert!(by_id.contains("Tags            : [TagA]"), "{by_id}");
    let by_offset = json(
        &ns,
        &[
            "queryMsgByOffset",
            "-t",
            "AdminT",
            "-b",
            &bname,
            "-i",
            "1",
            "-o",
            "0",
        ],
    )
    .await;
    assert_eq!(by_offset["body"], "second");
    let mut by_key = serde_json::Value::Null;
    for _ in 0..50 {
        by_key = json(&ns, &["queryMsgByKey", "-t", "AdminT", "-k", "k1"]).await;
        if by_key.as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // (In-process brokers bound to port 0 store that port in the record, so compare bodies.)
    assert_eq!(by_key[0]["body"], "hello");

    let printed = run(&ns, &["printMsg", "-t", "AdminT", "-s", "TagA"])
        .await
        .unwrap();
    assert!(printed.starts_with("MSGID: "), "{printed}");
    assert!(
        printed.contains("BODY: hello") && !printed.contains("second"),
        "{printed}"
    );
    let consumed = json(&ns, &["consumeMessage", "-t", "AdminT", "-c", "1"]).await;
    assert_eq!(consumed.as_array().unwrap().len(), 1);

    let out = run(&ns, &["updateSubGroup", "-b", &addr, "-g", "G1", "-r", "3"])
        .await
        .unwrap();
    assert!(out.contains("create subscription group to"), "{out}");
    assert_eq!(
        state
            .store
            .meta()
            .subscription_group("G1")
            .unwrap()
            .unwrap()
            .retry_max_times,
        3
    );
    let reset = json(&ns, &["resetOffsetByTime", "-g", "G1", "-t", "AdminT", "-s", "0"]).await;
    assert_eq!(reset["offsets"].as_array().unwrap().len(), 2);
    assert_eq!(reset["offsets"][0]["offset"], 0);
    let progress = json(&ns, &["consumerProgress", "-g", "G1", "-t", "AdminT"]).await;
    assert_eq!(progress["diffTotal"], 2);
    assert_eq!(progress["queues"][0]["brokerOffset"], 1);
    let progress = run(&ns, &["consumerProgress", "-g", "G1"]).await.unwrap();
    assert!(progress.contains("Consume Diff Total: 2"), "{progress}");
    // Replay to the end: the lag is gone.
    run(
        &ns,
        &["resetOffsetByTime", "-g", "G1", "-t", "AdminT", "-s", "now"],
    )
    .await
    .unwrap();
    let progress = json(&ns, &["consumerProgress", "-g", "G1", "-t", "AdminT"]).await;
    assert_eq!(progress["diffTotal"], 0);

    let err = run(&ns, &["consumerConnection", "-g", "G1"]).await.unwrap_err();
    assert_eq!(format!("{err:#}"), "consumer group G1 is not online");

    let clusters = json(&ns, &["clusterList"]).await;
    assert_eq!(clusters[0]["brokerName"], bname.as_str());
    assert_eq!(clusters[0]["inTotalToday"], 2);
    let broker = json(&ns, &["brokerStatus", "-b", &addr]).await;
    for k in BROKER_RUNTIME_KEYS {
        assert!(broker.get(*k).is_some(), "runtime info lacks {k}");
    }
    let text = run(&ns, &["brokerStatus", "-b", &addr]).await.unwrap();
    assert!(text.contains("msgPutTotalTodayNow"), "{text}");

    let stats = json(&ns, &["statsAll", "-t", "AdminT"]).await;
    assert_eq!(stats[0]["inMsg24Hour"], 2);
    assert_eq!(stats[0]["consumerGroup"], "G1");
    let topics = json(&ns, &["topicList"]).await;
    assert!(topics.as_array().unwrap().iter().any(|t| t == "AdminT"));

    // Errors: one line, naming the problem.
    let err = run(&ns, &["topicStatus", "-t", "Nope"]).await.unwrap_err();
    assert_eq!(format!("{err:#}"), "topic Nope does not exist");
    // sendMessage to a new topic creates it through TBW102, as mqadmin's does.
    let created = json(&ns, &["sendMessage", "-t", "AutoNew", "-p", "x"]).await;
    assert_eq!(created["sendStatus"], "SEND_OK", "{created}");
    let err = run("127.0.0.1:1", &["topicList"]).await.unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.starts_with("no NameServer reachable (connection to 127.0.0.1:1: "),
        "{msg}"
    );
    assert!(!msg.contains('\n'));
    let err = run(&ns, &["brokerStatus", "-b", "127.0.0.1:1"])
        .await
        .unwrap_err();
    assert!(
        format!("{err:#}").starts_with("connection to 127.0.0.1:1: "),
        "{err:#}"
    );

    let out = run(&ns, &["deleteTopic", "-t", "AdminT"]).await.unwrap();
    assert!(out.contains("from NameServer success"), "{out}");
    let err = run(&ns, &["topicRoute", "-t", "AdminT"]).await.unwrap_err();
    assert_eq!(format!("{err:#}"), "topic AdminT does not exist");
    c.shutdown().await;
}

/// Requests as Java's admin tools build them (fastjson bodies, string ext fields) and the
/// exact body shapes Java tools parse.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_shaped_admin_requests() {
    let c = cluster("ASYNC_FLUSH").await;
    let state = c.broker().state.clone();
    let bname = state.config.broker_name.clone();
    let t = Duration::from_secs(5);
    let create = RemotingCommand::request(request::UPDATE_AND_CREATE_TOPIC)
        .with_ext("topic", "JT")
        .with_ext("defaultTopic", "TBW102")
        .with_ext("readQueueNums", "1")
        .with_ext("writeQueueNums", "1")
        .with_ext("perm", "6")
        .with_ext("topicFilterType", "SINGLE_TAG")
        .with_ext("topicSysFlag", "0")
        .with_ext("order", "false");
    assert_eq!(c.client.request(create, t).await.unwrap().code, response::SUCCESS);

    // mqadmin updateSubGroup's body, as fastjson writes SubscriptionGroupConfig (4.9).
    let group = br#"{"brokerId":0,"consumeBroadcastEnable":true,"consumeEnable":true,"consumeFromMinEnable":true,"groupName":"JG","notifyConsumerIdsChangedEnable":true,"retryMaxTimes":5,"retryQueueNums":1,"whichBrokerWhenConsumeSlowly":1}"#;
    let cmd = RemotingCommand::request(request::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP).with_body(&group[..]);
    assert_eq!(c.client.request(cmd, t).await.unwrap().code, response::SUCCESS);
    let all = c
        .client
        .request(
            RemotingCommand::request(request::GET_ALL_SUBSCRIPTIONGROUP_CONFIG),
            t,
        )
        .await
        .unwrap();
    let all: serde_json::Value = serde_json::from_slice(&all.body).unwrap();
    assert_eq!(all["subscriptionGroupTable"]["JG"]["retryMaxTimes"], 5);

    let stats = RemotingCommand::request(request::GET_TOPIC_STATS_INFO).with_ext("topic", "JT");
    let r = c.client.request(stats, t).await.unwrap();
    assert_eq!(
        String::from_utf8_lossy(&r.body),
        format!(
            r#"{{"offsetTable":{{{{"brokerName":"{bname}","queueId":0,"topic":"JT"}}:{{"lastUpdateTimestamp":0,"maxOffset":0,"minOffset":0}}}}}}"#
        )
    );
    let missing = RemotingCommand::request(request::GET_TOPIC_STATS_INFO).with_ext("topic", "Nope");
    assert_eq!(
        c.client.request(missing, t).await.unwrap().code,
        response::TOPIC_NOT_EXIST
    );

    let cs = RemotingCommand::request(request::GET_CONSUME_STATS)
        .with_ext("consumerGroup", "JG")
        .with_ext("topic", "JT");
    let r = c.client.request(cs, t).await.unwrap();
    let body = String::from_utf8_lossy(&r.body).into_owned();
    assert!(
        body.starts_with(r#"{"consumeTps":"#)
            && body.contains(&format!(
                r#""offsetTable":{{{{"brokerName":"{bname}","queueId":0,"topic":"JT"}}:{{"brokerOffset":0,"consumerOffset":0,"lastTimestamp":0}}}}"#
            )),
        "{body}"
    );

    let reset = RemotingCommand::request(request::INVOKE_BROKER_TO_RESET_OFFSET)
        .with_ext("topic", "JT")
        .with_ext("group", "JG")
        .with_ext("timestamp", "0")
        .with_ext("isForce", "true");
    let r = c.client.request(reset, t).await.unwrap();
    assert_eq!(
        String::from_utf8_lossy(&r.body),
        format!(r#"{{"offsetTable":{{{{"brokerName":"{bname}","queueId":0,"topic":"JT"}}:0}}}}"#)
    );

    let conn =
        RemotingCommand::request(request::GET_CONSUMER_CONNECTION_LIST).with_ext("consumerGroup", "JG");
    let r = c.client.request(conn, t).await.unwrap();
    assert_eq!(r.code, response::CONSUMER_NOT_ONLINE);

    let rt = c
        .client
        .request(RemotingCommand::request(request::GET_BROKER_RUNTIME_INFO), t)
        .await
        .unwrap();
    let rt: serde_json::Value = serde_json::from_slice(&rt.body).unwrap();
    for k in BROKER_RUNTIME_KEYS {
        assert!(rt["table"][*k].is_string(), "runtime info lacks {k}");
    }
    assert_eq!(rt["table"]["putTps"].as_str().unwrap().split(' ').count(), 3);

    let view = RemotingCommand::request(request::VIEW_BROKER_STATS_DATA)
        .with_ext("statsName", "TOPIC_PUT_NUMS")
        .with_ext("statsKey", "JT");
    assert_eq!(
        c.client.request(view, t).await.unwrap().code,
        response::SYSTEM_ERROR
    );
    state.stats.add(sluice::broker::stats::TOPIC_PUT_NUMS, "JT", 2);
    let view = RemotingCommand::request(request::VIEW_BROKER_STATS_DATA)
        .with_ext("statsName", "TOPIC_PUT_NUMS")
        .with_ext("statsKey", "JT");
    let r = c.client.request(view, t).await.unwrap();
    let body = String::from_utf8_lossy(&r.body).into_owned();
    assert!(
        body.starts_with(r#"{"statsDay":{"avgpt":2.0,"sum":2,"tps":"#),
        "{body}"
    );
    assert!(
        body.contains(r#""statsHour":{"#) && body.contains(r#""statsMinute":{"#),
        "{body}"
    );

    let who = RemotingCommand::request(request::QUERY_TOPIC_CONSUME_BY_WHO).with_ext("topic", "JT");
    let r = c.client.request(who, t).await.unwrap();
    assert_eq!(&r.body[..], br#"{"groupList":["JG"]}"#);
    c.shutdown().await;
}
/// queryMsgById / queryMsgByKey find a message whose segment was archived and deleted: the
/// broker answers from the Parquet archive (archiveEnable).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_msg_reads_archived_segments() {
    let c =
        common::cluster_with("archiveEnable=true\nfileReservedTime=0\nmappedFileSizeCommitLog=65536\n").await;
    let ns = c.namesrv.to_string();
    let state = c.broker().state.clone();
    let addr = state.broker_addr().to_string();
    run(
        &ns,
        &["updateTopic", "-b", &addr, "-t", "ArchT", "-r", "1", "-w", "1"],
    )
    .await
    .unwrap();
    let mut sent = serde_json::Value::Null;
    for _ in 0..50 {
        match run(
            &ns,
            &[
                "sendMessage",
                "-t",
                "ArchT",
                "-p",
                "hello-archive",
                "-k",
                "ak1",
                "--json",
            ],
        )
        .await
        {
            Ok(out) => {
                sent = serde_json::from_str(&out).unwrap();
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    assert_eq!(sent["sendStatus"], "SEND_OK", "{sent}");
    let msg_id = sent["offsetMsgId"].as_str().unwrap().to_owned();
    assert_eq!(
        sent["msgId"].as_str().unwrap().len(),
        32,
        "the client's UNIQ_KEY: {sent}"
    );
    // Fill segments until the first one is sealed twice over, then let retention archive it.
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || {
        let filler = |i: usize| sluice_storage::MessageToStore {
            topic: "ArchT".into(),
            queue_id: 0,
            flag: 0,
            sys_flag: 0,
            born_timestamp: 1,
            born_host: "127.0.0.1:1".parse().unwrap(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: bytes::Bytes::from(vec![b'f'; 8000]),
            properties: format!("KEYS\u{1}fill{i}\u{2}"),
        };
        let mut i = 0;
        while store.commitlog().segments().len() < 3 {
            store.put(&[vec![filler(i)]]).unwrap();
            i += 1;
        }
        let report = store
            .run_retention_with(std::time::SystemTime::now(), true, 10.0)
            .unwrap();
        assert!(!report.deleted.is_empty(), "{report:?}");
        assert!(store.commitlog().min_offset() > 0);
        assert!(!store.meta().archive_entries().unwrap().is_empty());
    })
    .await
    .unwrap();

    let by_id = run(&ns, &["queryMsgById", "-i", &msg_id]).await.unwrap();
    assert!(by_id.contains("Message Body    : hello-archive"), "{by_id}");
    let by_key = json(&ns, &["queryMsgByKey", "-t", "ArchT", "-k", "ak1"]).await;
    assert_eq!(by_key[0]["body"], "hello-archive", "{by_key}");
    let none = json(&ns, &["queryMsgByKey", "-t", "ArchT", "-k", "no-such-key"]).await;
    assert_eq!(none.as_array().map(Vec::len), Some(0), "{none}");
    c.shutdown().await;
}

/// clusterList shows a master and its slave, one row each with its broker id (mqadmin's
/// `#BID`), masters first; a member that does not answer is listed as unreachable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_list_shows_masters_and_slaves() {
    let c = cluster("ASYNC_FLUSH").await;
    let ns = c.namesrv.to_string();
    let master = c.broker().state.broker_addr().to_string();
    // A slave of broker-a that registered and then stopped answering (its NameServer
    // connection stays open, so it stays listed).
    let slave_addr = "127.0.0.1:1";
    let slave = common::connect(c.namesrv).await;
    let r = slave
        .request(common::slave_registration(slave_addr), common::T)
        .await
        .unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);

    let mut rows = Vec::new();
    for _ in 0..50 {
        rows = json(&ns, &["clusterList"])
            .await
            .as_array()
            .cloned()
            .unwrap_or_default();
        if rows.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(rows.len(), 2, "{rows:?}");
    for (row, id, addr) in [(&rows[0], 0, master.as_str()), (&rows[1], 1, slave_addr)] {
        assert_eq!(row["clusterName"], "DefaultCluster");
        assert_eq!(row["brokerName"], "broker-a");
        assert_eq!(row["brokerId"], id);
        assert_eq!(row["addr"], addr);
    }
    assert_ne!(rows[0]["version"], "unreachable");
    assert_eq!(rows[1]["version"], "unreachable");

    let text = run(&ns, &["clusterList"]).await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header[..7],
        ["#Cluster", "Name", "#Broker", "Name", "#BID", "#Addr", "#Version"],
        "{text}"
    );
    let slave_row: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(
        slave_row[..4],
        ["DefaultCluster", "broker-a", "1", slave_addr],
        "{text}"
    );
    assert!(run(&ns, &["clusterList", "-c", "Nope"]).await.is_ok());

    // `-i N`, as mqadmin: the table again every N seconds until stopped.
    let mut repeat = std::process::Command::new(common::sluice_bin())
        .args(["admin", "-n", &ns, "clusterList", "-i", "1"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    repeat.kill().unwrap();
    let out = repeat.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let tables = text.lines().filter(|l| l.starts_with("#Cluster Name")).count();
    assert!((2..=4).contains(&tables), "{tables} tables in 2.5 s:\n{text}");
    slave.close();
    c.shutdown().await;
}

/// The rest of mqadmin's everyday commands: topic permissions and clusters, broker settings,
/// group deletion and offset cloning, producer connections, one broker's consume stats, the
/// unique-key lookup, the NameServer's write permission (drain) and KV config.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_mqadmin_commands() {
    let c = cluster("ASYNC_FLUSH").await;
    let ns = c.namesrv.to_string();
    let state = c.broker().state.clone();
    let addr = state.broker_addr().to_string();
    let bname = state.config.broker_name.clone();
    run(
        &ns,
        &["updateTopic", "-b", &addr, "-t", "MoreT", "-r", "2", "-w", "2"],
    )
    .await
    .unwrap();

    // updateTopicPerm: read-only, visible in the route; again is a no-op; then writable.
    let out = run(&ns, &["updateTopicPerm", "-b", &addr, "-t", "MoreT", "-p", "4"])
        .await
        .unwrap();
    assert!(out.contains("update topic perm from 6 to 4"), "{out}");
    let route = json(&ns, &["topicRoute", "-t", "MoreT"]).await;
    assert_eq!(route["queueDatas"][0]["perm"], 4, "{route}");
    let out = run(&ns, &["updateTopicPerm", "-b", &addr, "-t", "MoreT", "-p", "4"])
        .await
        .unwrap();
    assert!(out.contains("equals to the old one"), "{out}");
    assert!(
        run(&ns, &["updateTopicPerm", "-b", &addr, "-t", "MoreT", "-p", "5"])
            .await
            .is_err()
    );
    run(
        &ns,
        &[
            "updateTopicPerm",
            "-c",
            "DefaultCluster",
            "-t",
            "MoreT",
            "-p",
            "6",
        ],
    )
    .await
    .unwrap();
    let clusters = json(&ns, &["topicClusterList", "-t", "MoreT"]).await;
    assert_eq!(clusters, serde_json::json!(["DefaultCluster"]));

    // getBrokerConfig shows the settings in force; updateBrokerConfig refuses a live change with
    // the reason and accepts the value in force.
    let conf = json(&ns, &["getBrokerConfig", "-b", &addr]).await;
    assert_eq!(conf[&addr]["config"]["brokerName"], bname.as_str(), "{conf}");
    let refused = run(
        &ns,
        &[
            "updateBrokerConfig",
            "-b",
            &addr,
            "-k",
            "flushDiskType",
            "-v",
            "SYNC_FLUSH",
        ],
    )
    .await;
    assert!(refused.unwrap_err().to_string().contains("restart"));
    let same = run(
        &ns,
        &[
            "updateBrokerConfig",
            "-b",
            &addr,
            "-k",
            "brokerName",
            "-v",
            &bname,
        ],
    )
    .await;
    assert!(same.unwrap().contains("update broker config success"));

    // Messages, a producer connection, a group with an offset; clone it; delete the group.
    let sent = c
        .client
        .request(
            common::send_cmd(
                "MoreT",
                0,
                "more-body",
                "UNIQ_KEY\u{1}7F0000010001ABCDEF0123456789\u{2}",
            ),
            common::T,
        )
        .await
        .unwrap();
    assert_eq!(sent.code, response::SUCCESS);
    let hb = RemotingCommand::request(request::HEART_BEAT).with_body(
        serde_json::to_vec(&serde_json::json!({
            "clientID": "more-producer", "consumerDataSet": [],
            "producerDataSet": [{"groupName": "more_pg"}]
        }))
        .unwrap(),
    );
    assert_eq!(
        c.client.request(hb, common::T).await.unwrap().code,
        response::SUCCESS
    );
    let pc = run(&ns, &["producerConnection", "-g", "more_pg", "-t", "MoreT"])
        .await
        .unwrap();
    assert!(pc.contains("more-producer"), "{pc}");
    let commit = RemotingCommand::request(request::UPDATE_CONSUMER_OFFSET)
        .with_ext("consumerGroup", "more_g")
        .with_ext("topic", "MoreT")
        .with_ext("queueId", "0")
        .with_ext("commitOffset", "1");
    assert_eq!(
        c.client.request(commit, common::T).await.unwrap().code,
        response::SUCCESS
    );
    run(
        &ns,
        &["cloneGroupOffset", "-s", "more_g", "-d", "more_g2", "-t", "MoreT"],
    )
    .await
    .unwrap();
    let progress = json(&ns, &["consumerProgress", "-g", "more_g2", "-t", "MoreT"]).await;
    assert!(
        progress.to_string().contains("\"consumerOffset\":1"),
        "{progress}"
    );
    // skipAccumulatedMessage: to the end of each queue.
    c.client
        .request(common::send_cmd("MoreT", 0, "later", ""), common::T)
        .await
        .unwrap();
    run(&ns, &["skipAccumulatedMessage", "-g", "more_g2", "-t", "MoreT"])
        .await
        .unwrap();
    let progress = json(&ns, &["consumerProgress", "-g", "more_g2", "-t", "MoreT"]).await;
    assert!(
        progress.to_string().contains("\"consumerOffset\":2"),
        "{progress}"
    );
    let progress = json(&ns, &["consumerProgress", "-g", "more_g", "-t", "MoreT"]).await;
    assert!(
        progress.to_string().contains("\"consumerOffset\":1"),
        "{progress}"
    );
    run(&ns, &["updateSubGroup", "-b", &addr, "-g", "more_g"])
        .await
        .unwrap();
    let stats = json(&ns, &["brokerConsumeStats", "-b", &addr]).await;
    assert!(stats.to_string().contains("more_g"), "{stats}");
    let out = run(
        &ns,
        &["deleteSubGroup", "-b", &addr, "-g", "more_g", "-r", "true"],
    )
    .await
    .unwrap();
    assert!(out.contains("delete subscription group [more_g]"), "{out}");

    // printMsgByQueue: one queue, counted per tag.
    let q = json(
        &ns,
        &[
            "printMsgByQueue",
            "-t",
            "MoreT",
            "-a",
            &bname,
            "-i",
            "0",
            "-f",
            "true",
        ],
    )
    .await;
    assert_eq!(q["count"], 2, "{q}");
    let text = run(
        &ns,
        &[
            "printMsgByQueue",
            "-t",
            "MoreT",
            "-a",
            &bname,
            "-i",
            "0",
            "-f",
            "true",
            "-p",
            "true",
            "-d",
            "true",
        ],
    )
    .await
    .unwrap();
    assert!(
        text.contains("Count: 2") && text.contains("BODY: more-body"),
        "{text}"
    );
    // The client's msgId (UNIQ_KEY) finds the message.
    let found = json(
        &ns,
        &[
            "queryMsgByUniqueKey",
            "-i",
            "7F0000010001ABCDEF0123456789",
            "-t",
            "MoreT",
        ],
    )
    .await;
    assert_eq!(found["body"], "more-body", "{found}");
    assert!(run(&ns, &["queryMsgByUniqueKey", "-i", "NOPE", "-t", "MoreT"])
        .await
        .is_err());

    // Drain: the NameServer marks the broker's topics read-only, then writable again.
    let out = run(&ns, &["wipeWritePerm", "-b", &bname]).await.unwrap();
    assert!(
        out.contains("wipe write perm of broker") && out.contains("OK"),
        "{out}"
    );
    let route = json(&ns, &["topicRoute", "-t", "MoreT"]).await;
    assert_eq!(route["queueDatas"][0]["perm"], 4, "{route}");
    run(&ns, &["addWritePerm", "-b", &bname]).await.unwrap();
    let route = json(&ns, &["topicRoute", "-t", "MoreT"]).await;
    assert_eq!(route["queueDatas"][0]["perm"], 6, "{route}");

    // KV config on the NameServer.
    run(
        &ns,
        &[
            "updateKvConfig",
            "-s",
            "ORDER_TOPIC_CONFIG",
            "-k",
            "MoreT",
            "-v",
            "broker-a:2",
        ],
    )
    .await
    .unwrap();
    let get = c_namesrv_kv(&ns).await;
    assert_eq!(get.as_deref(), Some("broker-a:2"));
    run(
        &ns,
        &["deleteKvConfig", "-s", "ORDER_TOPIC_CONFIG", "-k", "MoreT"],
    )
    .await
    .unwrap();
    assert_eq!(c_namesrv_kv(&ns).await, None);
    c.shutdown().await;
}

/// GET_KV_CONFIG of ORDER_TOPIC_CONFIG/MoreT on the NameServer.
async fn c_namesrv_kv(ns: &str) -> Option<String> {
    let conn = common::connect(ns.parse().unwrap()).await;
    let r = conn
        .request(
            RemotingCommand::request(request::GET_KV_CONFIG)
                .with_ext("namespace", "ORDER_TOPIC_CONFIG")
                .with_ext("key", "MoreT"),
            common::T,
        )
        .await
        .unwrap();
    (r.code == response::SUCCESS).then(|| r.ext("value").unwrap_or_default().to_owned())
}

/// A standalone started from `<dir>/broker.conf` (holding `file`; the config is `props`), with
/// topic `topic` (one queue) created: the standalone, NameServer and broker addresses, and a
/// connection to the broker.
async fn started_from_file(
    dir: &std::path::Path,
    file: &str,
    props: &str,
    topic: &str,
) -> (
    sluice::standalone::Standalone,
    String,
    String,
    std::sync::Arc<sluice_remoting::net::Connection>,
) {
    let conf = dir.join("broker.conf");
    std::fs::write(&conf, file).unwrap();
    let mut cfg = common::broker_config(dir, props);
    cfg.config_file = Some(conf);
    let ns_cfg = sluice::namesrv::NamesrvConfig {
        listen_port: 0,
        ..Default::default()
    };
    let s = sluice::standalone::Standalone::start(cfg, ns_cfg).await.unwrap();
    let ns = s.namesrv_addr().to_string();
    let addr = s.broker().advertised_addr().to_string();
    let client = common::connect(s.broker_addr()).await;
    run(
        &ns,
        &["updateTopic", "-b", &addr, "-t", topic, "-r", "1", "-w", "1"],
    )
    .await
    .unwrap();
    (s, ns, addr, client)
}

/// The standard drain through updateBrokerConfig: brokerPermission=4 stops sends at once,
/// reaches the NameServer's routes, shows in getBrokerConfig and is written back to the
/// broker.conf the broker started from; 6 restores writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_by_broker_permission() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("broker.conf");
    let file = "# a comment kept\nbrokerPermission = 6\nbrokerName=broker-a\n";
    let (s, ns, addr, client) = started_from_file(dir.path(), file, "", "DrainT").await;
    let send = || common::send_cmd("DrainT", 0, "x", "");
    assert_eq!(
        client.request(send(), common::T).await.unwrap().code,
        response::SUCCESS
    );

    run(
        &ns,
        &[
            "updateBrokerConfig",
            "-b",
            &addr,
            "-k",
            "brokerPermission",
            "-v",
            "4",
        ],
    )
    .await
    .unwrap();
    let r = client.request(send(), common::T).await.unwrap();
    assert_eq!(r.code, response::NO_PERMISSION, "{:?}", r.remark);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let route = json(&ns, &["topicRoute", "-t", "DrainT"]).await;
        if route["queueDatas"][0]["perm"] == 4 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the route never became read-only: {route}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let shown = json(&ns, &["getBrokerConfig", "-b", &addr]).await;
    assert_eq!(shown[&addr]["config"]["brokerPermission"], "4", "{shown}");
    let file = std::fs::read_to_string(&conf).unwrap();
    assert!(
        file.contains("brokerPermission=4") && file.contains("# a comment kept"),
        "{file}"
    );
    assert!(run(
        &ns,
        &[
            "updateBrokerConfig",
            "-b",
            &addr,
            "-k",
            "brokerPermission",
            "-v",
            "5"
        ]
    )
    .await
    .is_err());
    run(
        &ns,
        &[
            "updateBrokerConfig",
            "-b",
            &addr,
            "-k",
            "brokerPermission",
            "-v",
            "6",
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        client.request(send(), common::T).await.unwrap().code,
        response::SUCCESS
    );
    s.shutdown().await.unwrap();
}

/// Retention settings through updateBrokerConfig, in force without a restart: segments kept for
/// `fileReservedTime=72` go once it is 0 at an hour `deleteWhen` names; getBrokerConfig and the
/// broker.conf show the new values; a key read at start only is refused and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_settings_change_live() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("broker.conf");
    // Forcible cleaning off: a full disk on the test machine must not delete segments early.
    let props = "fileReservedTime=72\ncleanResourceInterval=100\ncleanFileForciblyEnable=false\n";
    let (s, ns, addr, client) = started_from_file(dir.path(), "fileReservedTime=72\n", props, "KeepT").await;
    let body = "k".repeat(100_000);
    for _ in 0..35 {
        let r = client
            .request(common::send_cmd("KeepT", 0, &body, ""), common::T)
            .await
            .unwrap();
        assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    }
    let segments = || {
        std::fs::read_dir(dir.path().join("store/commitlog"))
            .unwrap()
            .count()
    };
    assert!(segments() >= 4, "{} segments", segments());
    let update = |k: &'static str, v: String| {
        let ns = ns.clone();
        let addr = addr.clone();
        async move { run(&ns, &["updateBrokerConfig", "-b", &addr, "-k", k, "-v", &v]).await }
    };
    let every_hour: Vec<String> = (0..24).map(|h| format!("{h:02}")).collect();
    update("deleteWhen", every_hour.join(";")).await.unwrap();
    update("flushIntervalCommitLog", "100".into()).await.unwrap();
    // Still within fileReservedTime: nothing goes.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let before = segments();
    assert!(before >= 4, "{before} segments");

    let refused = update("mappedFileSizeCommitLog", "2097152".into()).await;
    assert!(
        refused.unwrap_err().to_string().contains("restart"),
        "a layout key is not live"
    );
    update("fileReservedTime", "0".into()).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while segments() > 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "{} of {before} segments still there",
            segments()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let shown = json(&ns, &["getBrokerConfig", "-b", &addr]).await;
    let c = &shown[&addr]["config"];
    assert_eq!(c["fileReservedTime"], "0", "{shown}");
    assert_eq!(c["deleteWhen"], every_hour.join(";").as_str(), "{shown}");
    assert_eq!(c["flushIntervalCommitLog"], "100", "{shown}");
    assert_eq!(c["mappedFileSizeCommitLog"], "1048576", "{shown}");
    let file = std::fs::read_to_string(&conf).unwrap();
    assert!(file.contains("fileReservedTime=0\n"), "{file}");
    assert!(!file.contains("fileReservedTime=72"), "{file}");
    assert!(file.contains("flushIntervalCommitLog=100\n"), "{file}");
    assert!(
        file.contains(&format!("deleteWhen={}\n", every_hour.join(";"))),
        "{file}"
    );
    assert!(!file.contains("mappedFileSizeCommitLog"), "{file}");
    // The store still serves its end.
    let r = client
        .request(common::send_cmd("KeepT", 0, "after", ""), common::T)
        .await
        .unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    s.shutdown().await.unwrap();
}
