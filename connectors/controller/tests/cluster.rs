//! A 3-controller group in-process over real TCP on loopback, with real RocksDB stores: leader
//! election, broker ids, master election, SyncStateSet changes, loss of the leader, a master
//! whose heartbeats stop, and recovery of a controller's state from its disk.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use sluice_controller::{Controller, ControllerConfig};
use sluice_remoting::body::controller::{BrokerNames, BrokerReplicasInfo, SyncStateSet};
use sluice_remoting::body::JsonBody;
use sluice_remoting::codes::{request, response};
use sluice_remoting::header::controller::*;
use sluice_remoting::net::connect::refuse_requests;
use sluice_remoting::net::{connect, Connection, Handler, Outbound};
use sluice_remoting::{DecoderLimits, RemotingCommand};

/// Broker 2 is a real listener (it records what the controllers send it); the others are
/// addresses nobody listens on.
static BROKER2_PORT: OnceLock<u16> = OnceLock::new();
static RECEIVED: Mutex<Vec<RemotingCommand>> = Mutex::new(Vec::new());

fn broker_addr(id: i64) -> String {
    match (id, BROKER2_PORT.get()) {
        (2, Some(p)) => format!("127.0.0.1:{p}"),
        _ => format!("127.0.0.1:{}", 10900 + id),
    }
}

struct Recorder;

impl Handler for Recorder {
    async fn handle(&self, _conn: &Arc<Connection>, cmd: RemotingCommand) -> Option<Outbound> {
        RECEIVED.lock().unwrap().push(cmd);
        None
    }
}

async fn start_broker2() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    BROKER2_PORT.set(listener.local_addr().unwrap().port()).unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    std::mem::forget(stop);
    tokio::spawn(sluice_remoting::net::serve(listener, Arc::new(Recorder), stopped));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Group {
    dir: tempfile::TempDir,
    peers: String,
    addrs: Vec<String>,
    nodes: Vec<Option<Controller>>,
}

fn config(dir: &Path, peers: &str, i: usize, scan_ms: u64) -> ControllerConfig {
    let text = format!(
        "controllerDLegerGroup=g1\ncontrollerDLegerPeers={peers}\ncontrollerDLegerSelfId=n{i}\n\
         controllerStorePath={}\nscanNotActiveBrokerInterval={scan_ms}\n",
        dir.join(format!("n{i}")).display()
    );
    let entries = text.lines().enumerate().filter_map(|(n, l)| {
        l.split_once('=')
            .map(|(k, v)| (k.to_owned(), v.to_owned(), n + 1))
    });
    ControllerConfig::from_entries(entries).unwrap().0
}

impl Group {
    async fn start() -> Group {
        let dir = tempfile::tempdir().unwrap();
        let addrs: Vec<String> = (0..3).map(|_| format!("127.0.0.1:{}", free_port())).collect();
        let peers = sluice_controller::config::peers_value(&addrs);
        let mut g = Group {
            dir,
            peers,
            addrs,
            nodes: Vec::new(),
        };
        for i in 0..3 {
            let c = g.boot(i).await;
            g.nodes.push(Some(c));
        }
        g
    }

    async fn boot(&self, i: usize) -> Controller {
        // A node just shut down may still hold its store's lock for a moment.
        for _ in 0..100 {
            match Controller::start(config(self.dir.path(), &self.peers, i, 200)).await {
                Ok(c) => return c,
                Err(e) => {
                    eprintln!("start n{i}: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        panic!("controller n{i} did not start");
    }

    /// The leader all running nodes agree on.
    async fn leader(&self, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            let running: Vec<&Controller> = self.nodes.iter().flatten().collect();
            let leaders: BTreeSet<Option<u64>> = running.iter().map(|c| c.leader()).collect();
            if leaders.len() == 1 {
                if let Some(Some(l)) = leaders.into_iter().next() {
                    if self.nodes[l as usize].is_some() {
                        return l as usize;
                    }
                }
            }
            assert!(Instant::now() < deadline, "no leader within {timeout:?}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    async fn kill(&mut self, i: usize) {
        if let Some(c) = self.nodes[i].take() {
            c.shutdown().await;
        }
    }
}

async fn client(addr: &str) -> Arc<Connection> {
    connect(
        addr,
        Duration::from_secs(5),
        DecoderLimits::default(),
        refuse_requests,
    )
    .await
    .unwrap()
}

async fn call(conn: &Connection, cmd: RemotingCommand) -> RemotingCommand {
    conn.request(cmd, Duration::from_secs(10)).await.unwrap()
}

fn heartbeat(id: i64, timeout_ms: i64) -> RemotingCommand {
    RemotingCommand::request(request::BROKER_HEARTBEAT).with_header(&BrokerHeartbeatRequestHeader {
        cluster_name: "c".into(),
        broker_addr: broker_addr(id),
        broker_name: "broker-a".into(),
        broker_id: Some(id),
        epoch: Some(1),
        max_offset: Some(100 * id),
        confirm_offset: None,
        heartbeat_timeout_mills: Some(timeout_ms),
        election_priority: None,
    })
}

/// Heartbeats brokers `ids` to every address until the returned sender is dropped.
fn heartbeats(addrs: Vec<String>, ids: Vec<i64>) -> tokio::sync::oneshot::Sender<()> {
    let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let mut conns: Vec<Option<Arc<Connection>>> = vec![None; addrs.len()];
        loop {
            for (i, a) in addrs.iter().enumerate() {
                if conns[i].as_ref().is_none_or(|c| c.is_closed()) {
                    conns[i] = connect(
                        a,
                        Duration::from_millis(200),
                        DecoderLimits::default(),
                        refuse_requests,
                    )
                    .await
                    .ok();
                }
                if let Some(c) = &conns[i] {
                    for id in &ids {
                        c.send_oneway(heartbeat(*id, 1500));
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                _ = &mut rx => break,
            }
        }
    });
    tx
}

async fn apply_id(conn: &Connection, id: i64) {
    let next = call(
        conn,
        RemotingCommand::request(request::CONTROLLER_GET_NEXT_BROKER_ID).with_header(
            &GetNextBrokerIdRequestHeader {
                cluster_name: "c".into(),
                broker_name: "broker-a".into(),
            },
        ),
    )
    .await;
    assert_eq!(next.code, response::SUCCESS, "{:?}", next.remark);
    let next: GetNextBrokerIdResponseHeader = next.decode_header().unwrap();
    assert_eq!(next.next_broker_id, id);
    let applied = call(
        conn,
        RemotingCommand::request(request::CONTROLLER_APPLY_BROKER_ID).with_header(
            &ApplyBrokerIdRequestHeader {
                cluster_name: "c".into(),
                broker_name: "broker-a".into(),
                applied_broker_id: id,
                register_check_code: format!("{};{id}", broker_addr(id)),
            },
        ),
    )
    .await;
    assert_eq!(applied.code, response::SUCCESS, "{:?}", applied.remark);
    let reg = call(
        conn,
        RemotingCommand::request(request::CONTROLLER_REGISTER_BROKER).with_header(
            &RegisterBrokerToControllerRequestHeader {
                cluster_name: "c".into(),
                broker_name: "broker-a".into(),
                broker_id: id,
                broker_address: broker_addr(id),
                invoke_time: 0,
            },
        ),
    )
    .await;
    assert_eq!(reg.code, response::SUCCESS, "{:?}", reg.remark);
}

async fn replica_info(conn: &Connection) -> (GetReplicaInfoResponseHeader, SyncStateSet) {
    let r = call(
        conn,
        RemotingCommand::request(request::CONTROLLER_GET_REPLICA_INFO).with_header(
            &GetReplicaInfoRequestHeader {
                broker_name: "broker-a".into(),
            },
        ),
    )
    .await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    (
        r.decode_header().unwrap(),
        SyncStateSet::from_json(&r.body).unwrap(),
    )
}

fn alter(master_epoch: i32, set_epoch: i32, set: &[i64]) -> RemotingCommand {
    RemotingCommand::request(request::CONTROLLER_ALTER_SYNC_STATE_SET)
        .with_header(&AlterSyncStateSetRequestHeader {
            broker_name: "broker-a".into(),
            master_broker_id: 1,
            master_epoch,
            invoke_time: 0,
        })
        .with_body(
            SyncStateSet {
                sync_state_set: set.iter().copied().collect(),
                sync_state_set_epoch: set_epoch,
            }
            .to_json(),
        )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_controllers_elect_serve_survive_the_leader_and_recover_from_disk() {
    start_broker2().await;
    let mut g = Group::start().await;
    let leader = g.leader(Duration::from_secs(20)).await;
    let lconn = client(&g.addrs[leader]).await;

    // Metadata from any controller names the leader.
    let follower = (leader + 1) % 3;
    let fconn = client(&g.addrs[follower]).await;
    let meta = call(
        &fconn,
        RemotingCommand::request(request::CONTROLLER_GET_METADATA_INFO),
    )
    .await;
    let meta: GetMetaDataResponseHeader = meta.decode_header().unwrap();
    assert_eq!(
        meta.controller_leader_address.as_deref(),
        Some(g.addrs[leader].as_str())
    );
    assert!(!meta.is_leader);
    assert_eq!(meta.group.as_deref(), Some("g1"));

    // A follower refuses leader work and names the leader.
    let r = call(
        &fconn,
        RemotingCommand::request(request::CONTROLLER_GET_REPLICA_INFO).with_header(
            &GetReplicaInfoRequestHeader {
                broker_name: "broker-a".into(),
            },
        ),
    )
    .await;
    assert_eq!(r.code, response::CONTROLLER_NOT_LEADER);
    assert_eq!(r.ext("controllerLeaderAddress"), Some(g.addrs[leader].as_str()));

    // Three brokers take ids 1, 2, 3 and heartbeat every controller.
    for id in 1..=3 {
        apply_id(&lconn, id).await;
    }
    let beats_23 = heartbeats(g.addrs.clone(), vec![2, 3]);
    let beats_1 = heartbeats(g.addrs.clone(), vec![1]);
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Broker 1 asks first: it becomes the first master.
    let elect = |id: i64| {
        RemotingCommand::request(request::CONTROLLER_ELECT_MASTER).with_header(&ElectMasterRequestHeader {
            cluster_name: "c".into(),
            broker_name: "broker-a".into(),
            broker_id: id,
            designate_elect: false,
            invoke_time: 0,
        })
    };
    let r = call(&lconn, elect(1)).await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let h: ElectMasterResponseHeader = r.decode_header().unwrap();
    assert_eq!((h.master_broker_id, h.master_epoch), (Some(1), Some(1)));
    // Asking again finds it alive.
    assert_eq!(
        call(&lconn, elect(2)).await.code,
        response::CONTROLLER_MASTER_STILL_EXIST
    );

    // The master adds broker 2 to the SyncStateSet; a stale epoch is refused.
    let r = call(&lconn, alter(1, 1, &[1, 2])).await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let h: AlterSyncStateSetResponseHeader = r.decode_header().unwrap();
    assert_eq!(h.new_sync_state_set_epoch, 2);
    assert_eq!(
        call(&lconn, alter(1, 1, &[1, 2, 3])).await.code,
        response::CONTROLLER_FENCED_SYNC_STATE_SET_EPOCH
    );
    assert_eq!(
        call(&lconn, alter(0, 2, &[1, 2, 3])).await.code,
        response::CONTROLLER_FENCED_MASTER_EPOCH
    );

    // mqadmin getSyncStateSet's request.
    let r = call(
        &lconn,
        RemotingCommand::request(request::CONTROLLER_GET_SYNC_STATE_DATA)
            .with_body(BrokerNames(vec!["broker-a".into(), "nobody".into()]).to_json()),
    )
    .await;
    let info = BrokerReplicasInfo::from_json(&r.body).unwrap();
    let a = &info.replicas_info_table["broker-a"];
    assert_eq!(a.master_broker_id, Some(1));
    assert_eq!(
        a.in_sync_replicas.iter().map(|r| r.broker_id).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(
        a.not_in_sync_replicas
            .iter()
            .map(|r| r.broker_id)
            .collect::<Vec<_>>(),
        [3]
    );
    assert!(a.in_sync_replicas.iter().all(|r| r.alive));
    assert_eq!(info.replicas_info_table.len(), 1);

    // The leader dies; the other two elect a new one and keep serving the same state.
    drop(lconn);
    g.kill(leader).await;
    let new_leader = g.leader(Duration::from_secs(20)).await;
    assert_ne!(new_leader, leader);
    let nconn = client(&g.addrs[new_leader]).await;
    let (h, set) = replica_info(&nconn).await;
    assert_eq!((h.master_broker_id, h.master_epoch), (Some(1), Some(1)));
    assert_eq!(set.sync_state_set, BTreeSet::from([1, 2]));

    // The master's heartbeats stop: the scan elects 2 (in the set), never 3 (not in it, and
    // with the larger offset).
    drop(beats_1);
    let deadline = Instant::now() + Duration::from_secs(15);
    let (h, set) = loop {
        let (h, set) = replica_info(&nconn).await;
        if h.master_broker_id != Some(1) {
            break (h, set);
        }
        assert!(
            Instant::now() < deadline,
            "no election after the master's heartbeats stopped"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!((h.master_broker_id, h.master_epoch), (Some(2), Some(2)));
    assert_eq!(set.sync_state_set, BTreeSet::from([2]));
    assert_eq!(h.master_address, Some(broker_addr(2)));
    // The new master was told at once (NOTIFY_BROKER_ROLE_CHANGED), not left to its next poll
    // (as every live broker of the group was told of the first election).
    let deadline = Instant::now() + Duration::from_secs(5);
    let notify = loop {
        let got = RECEIVED
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.code == request::NOTIFY_BROKER_ROLE_CHANGED)
            .find(|c| c.ext("masterEpoch") == Some("2"))
            .cloned();
        if let Some(n) = got {
            break n;
        }
        assert!(Instant::now() < deadline, "broker 2 was not notified");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(notify.is_oneway());
    let n: NotifyBrokerRoleChangedRequestHeader = notify.decode_header().unwrap();
    assert_eq!((n.master_broker_id, n.master_epoch), (Some(2), Some(2)));
    assert_eq!(n.master_address, Some(broker_addr(2)));
    assert_eq!(
        SyncStateSet::from_json(&notify.body).unwrap().sync_state_set,
        BTreeSet::from([2])
    );

    // The old leader comes back and catches up from the others.
    let back = g.boot(leader).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while back.group("broker-a").map(|s| s.master_epoch) != Some(2) {
        assert!(Instant::now() < deadline, "restarted controller did not catch up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    g.nodes[leader] = Some(back);

    // A snapshot on one node, then every node stops; one restarted alone has the state from
    // its own disk (snapshot + log), before any peer could tell it anything.
    let snap_node = g.nodes[follower].as_ref().unwrap();
    snap_node.raft().trigger().snapshot().await.unwrap();
    let mut metrics = snap_node.raft().metrics();
    let deadline = Instant::now() + Duration::from_secs(10);
    while metrics.borrow().snapshot.is_none() {
        assert!(Instant::now() < deadline, "no snapshot");
        let _ = tokio::time::timeout(Duration::from_millis(100), metrics.changed()).await;
    }
    drop(beats_23);
    drop(nconn);
    drop(fconn);
    for i in 0..3 {
        g.kill(i).await;
    }
    for i in [follower, (follower + 1) % 3] {
        let alone = g.boot(i).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let s = alone.group("broker-a");
            if let Some(s) = s.filter(|s| s.master_epoch == 2) {
                assert_eq!(s.master, Some(2));
                assert_eq!(s.sync_state_set, BTreeSet::from([2]));
                assert_eq!(s.brokers.len(), 3);
                break;
            }
            assert!(
                Instant::now() < deadline,
                "n{i} did not recover its state from disk"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        g.nodes[i] = Some(alone);
    }
    // Two of three form a quorum again and serve.
    let leader = g.leader(Duration::from_secs(20)).await;
    let conn = client(&g.addrs[leader]).await;
    let (h, _) = replica_info(&conn).await;
    assert_eq!((h.master_broker_id, h.master_epoch), (Some(2), Some(2)));
    for i in 0..3 {
        g.kill(i).await;
    }
}

/// Leader loss → a new leader, 5 trials (printed; the bound is loose for a loaded machine).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_failover_time() {
    let mut g = Group::start().await;
    let mut times = Vec::new();
    for _ in 0..5 {
        let old = g.leader(Duration::from_secs(20)).await;
        g.kill(old).await;
        let t0 = Instant::now();
        let new = g.leader(Duration::from_secs(20)).await;
        let ms = t0.elapsed().as_millis();
        assert_ne!(new, old);
        times.push(ms);
        let back = g.boot(old).await;
        g.nodes[old] = Some(back);
        // Let it rejoin as a follower before the next trial.
        let _ = g.leader(Duration::from_secs(20)).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    eprintln!("controller leader failover ms (kill → new leader agreed by both survivors): {times:?}");
    assert!(times.iter().all(|ms| *ms < 10_000), "{times:?}");
    for i in 0..3 {
        g.kill(i).await;
    }
}

/// A leader cut off from both followers answers a change with an error within the propose
/// timeout (never success, never silence).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_without_quorum_refuses_changes_in_bounded_time() {
    let mut g = Group::start().await;
    let leader = g.leader(Duration::from_secs(20)).await;
    let conn = client(&g.addrs[leader]).await;
    for i in (0..3).filter(|i| *i != leader) {
        g.kill(i).await;
    }
    let t0 = Instant::now();
    let reply = conn
        .request(
            RemotingCommand::request(request::CONTROLLER_APPLY_BROKER_ID).with_header(
                &ApplyBrokerIdRequestHeader {
                    cluster_name: "c".into(),
                    broker_name: "broker-q".into(),
                    applied_broker_id: 1,
                    register_check_code: "127.0.0.1:1;1".into(),
                },
            ),
            Duration::from_secs(15),
        )
        .await
        .unwrap();
    assert!(
        matches!(
            reply.code,
            response::CONTROLLER_JRAFT_INTERNAL_ERROR | response::CONTROLLER_NOT_LEADER
        ),
        "{} {:?}",
        reply.code,
        reply.remark
    );
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    assert!(g.nodes[leader].as_ref().unwrap().group("broker-q").is_none());
    g.kill(leader).await;
}

/// A follower that was down while the leader snapshotted and purged its log gets the state as a
/// snapshot, over the InstallSnapshot RPC.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_behind_a_purged_log_is_sent_a_snapshot() {
    let mut g = Group::start().await;
    let leader = g.leader(Duration::from_secs(20)).await;
    let f = (leader + 1) % 3;
    g.kill(f).await;
    let conn = client(&g.addrs[leader]).await;
    for id in 1..=3 {
        apply_id(&conn, id).await;
    }
    let l = g.nodes[leader].as_ref().unwrap();
    l.raft().trigger().snapshot().await.unwrap();
    let mut metrics = l.raft().metrics();
    let deadline = Instant::now() + Duration::from_secs(10);
    let snap = loop {
        if let Some(s) = metrics.borrow().snapshot {
            break s;
        }
        assert!(Instant::now() < deadline, "no snapshot");
        let _ = tokio::time::timeout(Duration::from_millis(100), metrics.changed()).await;
    };
    l.raft().trigger().purge_log(snap.index).await.unwrap();
    while metrics.borrow().purged.is_none_or(|p| p.index < snap.index) {
        assert!(Instant::now() < deadline, "log not purged");
        let _ = tokio::time::timeout(Duration::from_millis(100), metrics.changed()).await;
    }
    let back = g.boot(f).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while back.group("broker-a").map(|s| s.brokers.len()) != Some(3) {
        assert!(Instant::now() < deadline, "the follower never got the state");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let installed = back.raft().metrics().borrow().snapshot;
    assert!(installed.is_some_and(|s| s.index >= snap.index), "{installed:?}");
    g.nodes[f] = Some(back);
    for i in 0..3 {
        g.kill(i).await;
    }
}
