//! The real NameServer on 127.0.0.1:0, driven over TCP with `sluice_remoting::net`'s connection.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use sluice_remoting::body::register::{RegisterBrokerBody, TopicConfig};
use sluice_remoting::body::route::ClusterInfo;
use sluice_remoting::body::{JsonBody, TopicList};
use sluice_remoting::codes::{request, response};
use sluice_remoting::header::route::{RegisterBrokerRequestHeader, UnregisterBrokerRequestHeader};
use sluice_remoting::net::connect::refuse_requests;
use sluice_remoting::net::Connection;
use sluice_remoting::{DecoderLimits, RemotingCommand};
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;

use sluice::namesrv::{Namesrv, NamesrvConfig, NamesrvHandle};

const TIMEOUT: Duration = Duration::from_secs(5);
const BROKER_ADDR: &str = "127.0.0.1:10911";

async fn start() -> (NamesrvHandle, watch::Sender<bool>) {
    let config = NamesrvConfig {
        listen_port: 0,
        bind_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
        ..NamesrvConfig::default()
    };
    let (stop, shutdown) = watch::channel(false);
    let handle = Namesrv::start(config, shutdown).await.expect("namesrv starts");
    (handle, stop)
}

async fn connect(addr: SocketAddr) -> Arc<Connection> {
    sluice_remoting::net::connect(
        &addr.to_string(),
        TIMEOUT,
        DecoderLimits::default(),
        refuse_requests,
    )
    .await
    .expect("connect")
}

async fn call(client: &Connection, cmd: RemotingCommand) -> RemotingCommand {
    client.request(cmd, TIMEOUT).await.expect("reply")
}

fn register_request() -> RemotingCommand {
    let mut body = RegisterBrokerBody::default();
    let table = &mut body.topic_config_serialize_wrapper.topic_config_table;
    table.insert("TopicA".into(), TopicConfig::new("TopicA", 4));
    let mut b = TopicConfig::new("TopicB", 8);
    b.write_queue_nums = 2;
    b.perm = 4;
    table.insert("TopicB".into(), b);
    body.topic_config_serialize_wrapper.data_version.counter = 3;
    RemotingCommand::request(request::REGISTER_BROKER)
        .with_header(&RegisterBrokerRequestHeader {
            broker_name: "broker-a".into(),
            broker_addr: BROKER_ADDR.into(),
            cluster_name: "DefaultCluster".into(),
            ha_server_addr: "127.0.0.1:10912".into(),
            broker_id: 0,
            compressed: false,
            body_crc32: 0,
            heartbeat_timeout_millis: None,
            enable_acting_master: false,
        })
        .with_body(body.to_json())
}

fn route_request(topic: &str) -> RemotingCommand {
    RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC)
        .with_ext("topic", topic)
        .with_version(409)
}

#[tokio::test]
async fn register_route_unregister() {
    let (ns, stop) = start().await;
    let broker = connect(ns.local_addr()).await;
    let client = connect(ns.local_addr()).await;

    let r = call(&broker, register_request()).await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    assert!(r.is_response());
    assert_eq!(r.ext("masterAddr"), None);

    // Standard JSON for a 4.9.8 client.
    let r = call(&client, route_request("TopicB")).await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let route: Value = serde_json::from_slice(&r.body).expect("standard JSON route");
    assert_eq!(route["brokerDatas"][0]["brokerAddrs"]["0"], BROKER_ADDR);
    assert_eq!(route["brokerDatas"][0]["brokerName"], "broker-a");
    assert_eq!(route["brokerDatas"][0]["cluster"], "DefaultCluster");
    let qd = &route["queueDatas"][0];
    assert_eq!(qd["brokerName"], "broker-a");
    assert_eq!(qd["perm"], 4);
    assert_eq!(qd["readQueueNums"], 8);
    assert_eq!(qd["writeQueueNums"], 2);
    assert_eq!(qd["topicSysFlag"], 0);
    assert_eq!(route["filterServerTable"], serde_json::json!({}));
    assert!(route.get("orderTopicConf").is_none());

    // fastjson's unquoted keys for an old client (Go v2 sends 317).
    let r = call(&client, route_request("TopicA").with_version(317)).await;
    let text = String::from_utf8(r.body.to_vec()).expect("utf-8");
    assert!(text.contains(r#""brokerAddrs":{0:"127.0.0.1:10911"}"#), "{text}");
    assert!(text.contains(r#""perm":6,"readQueueNums":4"#), "{text}");

    let r = call(
        &client,
        RemotingCommand::request(request::GET_BROKER_CLUSTER_INFO),
    )
    .await;
    assert_eq!(r.code, response::SUCCESS);
    let info = ClusterInfo::from_json(&r.body).expect("cluster info");
    assert_eq!(
        info.broker_addr_table["broker-a"].master_addr(),
        Some(BROKER_ADDR)
    );
    assert!(info.cluster_addr_table["DefaultCluster"].contains("broker-a"));

    let r = call(
        &client,
        RemotingCommand::request(request::GET_ALL_TOPIC_LIST_FROM_NAMESERVER),
    )
    .await;
    assert_eq!(
        TopicList::from_json(&r.body).expect("topic list").topic_list,
        ["TopicA", "TopicB"]
    );

    let unregister =
        RemotingCommand::request(request::UNREGISTER_BROKER).with_header(&UnregisterBrokerRequestHeader {
            broker_name: "broker-a".into(),
            broker_addr: BROKER_ADDR.into(),
            cluster_name: "DefaultCluster".into(),
            broker_id: 0,
        });
    assert_eq!(call(&broker, unregister).await.code, response::SUCCESS);
    let r = call(&client, route_request("TopicA")).await;
    assert_eq!(r.code, response::TOPIC_NOT_EXIST);
    assert_eq!(
        r.remark.as_deref(),
        Some("No topic route info in name server for the topic: TopicA")
    );

    stop.send(true).expect("stop");
    tokio::time::timeout(TIMEOUT, ns.join())
        .await
        .expect("stops in time")
        .expect("clean stop");
}

#[tokio::test]
async fn closing_the_broker_connection_removes_it() {
    let (ns, _stop) = start().await;
    let broker = connect(ns.local_addr()).await;
    let client = connect(ns.local_addr()).await;
    assert_eq!(call(&broker, register_request()).await.code, response::SUCCESS);
    assert_eq!(
        call(&client, route_request("TopicA")).await.code,
        response::SUCCESS
    );
    broker.close();
    eventually(|| async {
        match call(&client, route_request("TopicA")).await.code {
            response::TOPIC_NOT_EXIST => Ok(()),
            _ => Err("broker still routed after its connection closed".to_owned()),
        }
    })
    .await;
}

/// Polls `check` every 20 ms until it is `Ok`; fails with its last error after [`TIMEOUT`]
/// (a closed connection is noticed asynchronously).
async fn eventually<F, Fut>(mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        match check().await {
            Ok(()) => return,
            Err(e) => assert!(tokio::time::Instant::now() < deadline, "{e}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn unknown_codes_and_garbage() {
    let (ns, _stop) = start().await;
    let client = connect(ns.local_addr()).await;
    let r = call(&client, RemotingCommand::request(999)).await;
    assert_eq!(r.code, response::REQUEST_CODE_NOT_SUPPORTED);
    assert_eq!(r.remark.as_deref(), Some(" request type 999 not supported"));
    // A missing required header field: SYSTEM_ERROR naming it, connection still usable.
    let r = call(&client, RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC)).await;
    assert_eq!(r.code, response::SYSTEM_ERROR);
    assert!(r.remark.unwrap_or_default().contains("topic"));
    // A register body that is not JSON.
    let bad = register_request().with_body(&b"\x00\x01garbage"[..]);
    assert_eq!(call(&client, bad).await.code, response::SYSTEM_ERROR);

    // Raw garbage on another connection: the server drops that connection and keeps serving.
    for garbage in [
        &b"\xff\xff\xff\xffnot a frame at all"[..],
        &b"\x00\x00\x00\x10\x00\x00\x00\x08{{{{{{{{\x00\x00\x00\x00"[..],
        &b"\x7f\xff\xff\xff"[..],
    ] {
        let mut raw = tokio::net::TcpStream::connect(ns.local_addr())
            .await
            .expect("raw connect");
        raw.write_all(garbage).await.expect("write garbage");
        raw.flush().await.expect("flush");
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(raw);
    }
    let other = connect(ns.local_addr()).await;
    let r = call(&other, route_request("Nope")).await;
    assert_eq!(r.code, response::TOPIC_NOT_EXIST);
    let r = call(
        &client,
        RemotingCommand::request(request::GET_BROKER_CLUSTER_INFO),
    )
    .await;
    assert_eq!(r.code, response::SUCCESS);
}

const SLAVE_ADDR: &str = "127.0.0.1:20911";
const MASTER_HA: &str = "127.0.0.1:10912";

/// [`register_request`] from another member of broker-a: `broker_id` at `addr` (HA at
/// `addr`'s host, port + 1), its own topic `own_topic` in the body.
fn register_as(addr: &str, broker_id: i64, own_topic: &str) -> RemotingCommand {
    let mut body = RegisterBrokerBody::default();
    body.topic_config_serialize_wrapper
        .topic_config_table
        .insert(own_topic.into(), TopicConfig::new(own_topic, 2));
    register_request()
        .with_ext("brokerAddr", addr)
        .with_ext("brokerId", broker_id.to_string())
        .with_ext("haServerAddr", format!("{addr}-ha"))
        .with_body(body.to_json())
}

/// broker-a's addresses by id, from the cluster info.
async fn members(client: &Connection) -> Vec<(i64, String)> {
    let r = call(client, RemotingCommand::request(request::GET_BROKER_CLUSTER_INFO)).await;
    assert_eq!(r.code, response::SUCCESS);
    let info = ClusterInfo::from_json(&r.body).expect("cluster info");
    info.broker_addr_table
        .get("broker-a")
        .map(|b| b.broker_addrs.clone().into_iter().collect())
        .unwrap_or_default()
}

/// Polls [`members`] until it is `want`.
async fn members_become(client: &Connection, want: &[(i64, &str)]) {
    let want: Vec<(i64, String)> = want.iter().map(|(i, a)| (*i, (*a).to_owned())).collect();
    eventually(|| async {
        let got = members(client).await;
        if got == want {
            Ok(())
        } else {
            Err(format!("broker-a is {got:?}, expected {want:?}"))
        }
    })
    .await;
}

/// issue #13 item 7: a slave sits beside its master in routes and cluster info, is told the
/// master's address and HA address, defines no queues; a closed connection drops just that
/// member, and a master that comes back finds its slave still there.
#[tokio::test]
async fn slaves_register_beside_their_master() {
    let (ns, _stop) = start().await;
    let client = connect(ns.local_addr()).await;

    // A slave before its master: registered, but nobody to replicate from yet.
    let slave = connect(ns.local_addr()).await;
    let r = call(&slave, register_as(SLAVE_ADDR, 1, "SlaveOnly")).await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    assert_eq!((r.ext("masterAddr"), r.ext("haServerAddr")), (None, None));
    assert_eq!(members(&client).await, [(1, SLAVE_ADDR.to_owned())]);
    assert_eq!(
        call(&client, route_request("SlaveOnly")).await.code,
        response::TOPIC_NOT_EXIST,
        "a slave's topic configs define no queues"
    );

    let master = connect(ns.local_addr()).await;
    let r = call(&master, register_request()).await;
    assert_eq!(r.code, response::SUCCESS);
    assert_eq!((r.ext("masterAddr"), r.ext("haServerAddr")), (None, None));

    // The slave's next registration is answered with where to replicate from.
    let r = call(&slave, register_as(SLAVE_ADDR, 1, "SlaveOnly")).await;
    assert_eq!(r.ext("masterAddr"), Some(BROKER_ADDR));
    assert_eq!(r.ext("haServerAddr"), Some(MASTER_HA));

    // Routes list both (standard JSON and fastjson's unquoted ids), queues come from the master.
    let r = call(&client, route_request("TopicA")).await;
    let route: Value = serde_json::from_slice(&r.body).expect("route");
    assert_eq!(
        route["brokerDatas"][0]["brokerAddrs"],
        serde_json::json!({"0": BROKER_ADDR, "1": SLAVE_ADDR})
    );
    assert_eq!(route["queueDatas"].as_array().map(Vec::len), Some(1));
    assert_eq!(route["queueDatas"][0]["writeQueueNums"], 4);
    let r = call(&client, route_request("TopicA").with_version(317)).await;
    let text = String::from_utf8(r.body.to_vec()).expect("utf-8");
    assert!(
        text.contains(&format!(
            r#""brokerAddrs":{{0:"{BROKER_ADDR}",1:"{SLAVE_ADDR}"}}"#
        )),
        "{text}"
    );
    assert_eq!(
        call(&client, route_request("SlaveOnly")).await.code,
        response::TOPIC_NOT_EXIST
    );
    members_become(&client, &[(0, BROKER_ADDR), (1, SLAVE_ADDR)]).await;

    // The master dies (its connection closes): the slave stays, and so do broker-a's queues,
    // so consumers keep reading from the slave.
    master.close();
    members_become(&client, &[(1, SLAVE_ADDR)]).await;
    let r = call(&client, route_request("TopicB")).await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let route: Value = serde_json::from_slice(&r.body).expect("route");
    assert_eq!(
        route["brokerDatas"][0]["brokerAddrs"],
        serde_json::json!({"1": SLAVE_ADDR})
    );
    assert_eq!(route["queueDatas"][0]["readQueueNums"], 8);
    let r = call(&slave, register_as(SLAVE_ADDR, 1, "SlaveOnly")).await;
    assert_eq!((r.ext("masterAddr"), r.ext("haServerAddr")), (None, None));

    // It comes back on a new connection and finds its slave beside it.
    let master = connect(ns.local_addr()).await;
    assert_eq!(call(&master, register_request()).await.code, response::SUCCESS);
    members_become(&client, &[(0, BROKER_ADDR), (1, SLAVE_ADDR)]).await;
    let r = call(&slave, register_as(SLAVE_ADDR, 1, "SlaveOnly")).await;
    assert_eq!(r.ext("masterAddr"), Some(BROKER_ADDR));
    // Re-registering (the 30 s renewal) keeps the slave too.
    assert_eq!(call(&master, register_request()).await.code, response::SUCCESS);
    assert_eq!(
        members(&client).await,
        [(0, BROKER_ADDR.to_owned()), (1, SLAVE_ADDR.to_owned())]
    );

    // The slave goes: the master stays alone.
    slave.close();
    members_become(&client, &[(0, BROKER_ADDR)]).await;
    assert_eq!(
        call(&client, route_request("TopicA")).await.code,
        response::SUCCESS
    );
}

/// A member whose connection stays open but who stops registering is dropped after the expiry
/// (120 s by default; 300 ms here); one that keeps registering stays.
#[tokio::test]
async fn silent_members_expire() {
    let config = NamesrvConfig {
        listen_port: 0,
        bind_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
        broker_expiry: Duration::from_millis(300),
        scan_interval: Duration::from_millis(50),
        ..NamesrvConfig::default()
    };
    let (_stop, shutdown) = watch::channel(false);
    let ns = Namesrv::start(config, shutdown).await.expect("namesrv starts");
    let client = connect(ns.local_addr()).await;
    let master = connect(ns.local_addr()).await;
    let slave = connect(ns.local_addr()).await;
    assert_eq!(call(&master, register_request()).await.code, response::SUCCESS);
    let r = call(&slave, register_as(SLAVE_ADDR, 1, "SlaveOnly")).await;
    assert_eq!(r.ext("masterAddr"), Some(BROKER_ADDR));

    // Only the slave renews; the master's connection stays open.
    let started = tokio::time::Instant::now();
    loop {
        let r = call(&slave, register_as(SLAVE_ADDR, 1, "SlaveOnly")).await;
        if r.ext("masterAddr").is_none() {
            break;
        }
        assert!(started.elapsed() < TIMEOUT, "the silent master never expired");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
    assert!(!master.is_closed());
    assert_eq!(members(&client).await, [(1, SLAVE_ADDR.to_owned())]);
    assert_eq!(
        call(&client, route_request("TopicA")).await.code,
        response::SUCCESS,
        "the slave still serves broker-a's queues"
    );
}
