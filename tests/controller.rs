//! Controller mode from the outside: three `sluice controller -c controller.conf` processes,
//! mqadmin's getControllerMetaData / getSyncStateSet through `sluice admin`, `kill -9` of the
//! leader process; a NameServer with `enableControllerInNamesrv=true`; start-up refusals.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sluice::namesrv::{Namesrv, NamesrvConfig};
use sluice_remoting::codes::{request, response};
use sluice_remoting::header::controller::*;
use sluice_remoting::RemotingCommand;

mod common;

fn controller_conf(dir: &Path, peers: &str, i: usize) -> String {
    format!(
        "controllerDLegerGroup=g1\ncontrollerDLegerPeers={peers}\ncontrollerDLegerSelfId=n{i}\n\
         controllerStorePath={}\nenableElectUncleanMaster=false\n",
        dir.join(format!("n{i}")).display()
    )
}

fn spawn(conf: &Path) -> Child {
    Command::new(common::sluice_bin())
        .args(["controller", "-c"])
        .arg(conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn admin_json(args: &[&str]) -> anyhow::Result<serde_json::Value> {
    let mut a = args.to_vec();
    a.push("--json");
    let out = common::admin("127.0.0.1:1", &a).await?;
    Ok(serde_json::from_str(&out)?)
}

/// The leader address the controller at `addr` reports, once it knows one.
async fn leader_of(addr: &str, not: Option<&str>) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(m) = admin_json(&["getControllerMetaData", "-a", addr]).await {
            if let Some(l) = m["controllerLeaderAddress"].as_str() {
                if Some(l) != not {
                    return l.to_owned();
                }
            }
        }
        assert!(Instant::now() < deadline, "{addr} reports no leader");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sends `cmd` to the leader the controllers report until it answers SUCCESS: right after an
/// election a node may already name a leader that does not serve yet ("not in leader state"),
/// or leadership may move once more, and a broker retries then too. The leader that answered.
async fn ok_at_leader(addrs: &[String], cmd: RemotingCommand) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let leader = leader_of(&addrs[0], None).await;
        let conn = common::connect(leader.parse().unwrap()).await;
        let reply = conn.request(cmd.clone(), Duration::from_secs(10)).await.unwrap();
        if reply.code == response::SUCCESS {
            return leader;
        }
        assert!(
            Instant::now() < deadline,
            "{leader} answered {}: {:?}",
            reply.code,
            reply.remark
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn ok(addr: &str, cmd: RemotingCommand) -> RemotingCommand {
    let conn = common::connect(addr.parse().unwrap()).await;
    let reply = conn.request(cmd, Duration::from_secs(10)).await.unwrap();
    assert_eq!(reply.code, response::SUCCESS, "{:?}", reply.remark);
    reply
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_controller_processes_survive_kill_9_of_the_leader() {
    let dir = tempfile::tempdir().unwrap();
    let addrs: Vec<String> = (0..3)
        .map(|_| format!("127.0.0.1:{}", common::free_port()))
        .collect();
    let peers = sluice_controller::config::peers_value(&addrs);
    let mut children = Vec::new();
    for i in 0..3 {
        let conf = dir.path().join(format!("controller{i}.conf"));
        std::fs::write(&conf, controller_conf(dir.path(), &peers, i)).unwrap();
        children.push(spawn(&conf));
    }
    let leader = leader_of(&addrs[0], None).await;
    let meta = admin_json(&["getControllerMetaData", "-a", &addrs[1]])
        .await
        .unwrap();
    assert_eq!(meta["group"], "g1");
    assert_eq!(meta["peers"].as_array().unwrap().len(), 3);
    let text = common::admin("127.0.0.1:1", &["getControllerMetaData", "-a", &addrs[2]])
        .await
        .unwrap();
    assert!(
        text.contains("#ControllerLeaderAddress") && text.contains(&leader),
        "{text}"
    );

    // One broker takes id 1, heartbeats and becomes the first master.
    let leader = ok_at_leader(
        &addrs,
        RemotingCommand::request(request::CONTROLLER_APPLY_BROKER_ID).with_header(
            &ApplyBrokerIdRequestHeader {
                cluster_name: "c".into(),
                broker_name: "broker-a".into(),
                applied_broker_id: 1,
                register_check_code: "127.0.0.1:10911;1".into(),
            },
        ),
    )
    .await;
    for a in &addrs {
        let conn = common::connect(a.parse().unwrap()).await;
        conn.send_oneway(RemotingCommand::request(request::BROKER_HEARTBEAT).with_header(
            &BrokerHeartbeatRequestHeader {
                cluster_name: "c".into(),
                broker_addr: "127.0.0.1:10911".into(),
                broker_name: "broker-a".into(),
                broker_id: Some(1),
                epoch: Some(0),
                max_offset: Some(0),
                confirm_offset: None,
                heartbeat_timeout_mills: Some(60_000),
                election_priority: None,
            },
        ));
    }
    ok(
        &leader,
        RemotingCommand::request(request::CONTROLLER_ELECT_MASTER).with_header(&ElectMasterRequestHeader {
            cluster_name: "c".into(),
            broker_name: "broker-a".into(),
            broker_id: 1,
            designate_elect: false,
            invoke_time: 0,
        }),
    )
    .await;

    // getSyncStateSet asked of a follower is answered by the leader.
    let follower = addrs.iter().find(|a| **a != leader).unwrap().clone();
    // A follower learns who leads with the leader's first append to it: ask until it knows.
    let deadline = Instant::now() + Duration::from_secs(10);
    let set = loop {
        match admin_json(&["getSyncStateSet", "-a", &follower, "-b", "broker-a"]).await {
            Ok(set) => break set,
            Err(e) if e.to_string().contains("knows no leader") && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("getSyncStateSet of the follower: {e:#}"),
        }
    };
    let a = &set["replicasInfoTable"]["broker-a"];
    assert_eq!(a["masterBrokerId"], 1);
    assert_eq!(a["masterEpoch"], 1);
    assert_eq!(a["inSyncReplicas"][0]["brokerAddress"], "127.0.0.1:10911");

    // kill -9 of the leader process: the other two elect a leader and still hold the state.
    let li = addrs.iter().position(|a| *a == leader).unwrap();
    children[li].kill().unwrap();
    children[li].wait().unwrap();
    let t0 = Instant::now();
    let new_leader = leader_of(&follower, Some(&leader)).await;
    eprintln!(
        "controller process kill -9 → new leader reported in {} ms",
        t0.elapsed().as_millis()
    );
    assert_ne!(new_leader, leader);
    let text = common::admin(
        "127.0.0.1:1",
        &["getSyncStateSet", "-a", &follower, "-b", "broker-a"],
    )
    .await
    .unwrap();
    assert!(
        text.contains("#MasterEpoch") && text.contains("InSyncReplica"),
        "{text}"
    );

    for mut c in children {
        let _ = c.kill();
        let _ = c.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namesrv_embeds_a_controller_and_refuses_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let addr = format!("127.0.0.1:{}", common::free_port());
    let text = format!(
        "listenPort=0\nenableControllerInNamesrv=true\n{}",
        controller_conf(dir.path(), &format!("n0-{addr}"), 0)
    );
    let (config, _) = NamesrvConfig::from_properties(&text).unwrap();
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    let ns = Namesrv::start(config, shutdown).await.unwrap();
    assert!(ns.controller().is_some());
    // A group of one elects itself.
    assert_eq!(leader_of(&addr, None).await, addr);

    // Missing controller keys, or a key the controller does not know: the NameServer does not start.
    for bad in [
        "listenPort=0\nenableControllerInNamesrv=true\ncontrollerDLegerGroup=g\n".to_owned(),
        format!("listenPort=0\nenableControllerInNamesrv=true\ncontrollerDLegerFoo=1\n{text}"),
    ] {
        let (config, _) = NamesrvConfig::from_properties(&bad).unwrap();
        let (_stop, shutdown) = tokio::sync::watch::channel(false);
        let err = Namesrv::start(config, shutdown).await.unwrap_err();
        assert!(format!("{err:#}").contains("controller"), "{err:#}");
    }
}

#[test]
fn a_controller_conf_with_an_unknown_key_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("controller.conf");
    let port = common::free_port();
    std::fs::write(
        &conf,
        format!(
            "{}isAutoSwitchSomething=true\n",
            controller_conf(dir.path(), &format!("n0-127.0.0.1:{port}"), 0)
        ),
    )
    .unwrap();
    let out = Command::new(common::sluice_bin())
        .args(["controller", "-c"])
        .arg(&conf)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("isAutoSwitchSomething"), "{err}");
}
