//! Master/slave replication in one process: a NameServer, a master and a slave on loopback, each
//! with its own store (protocol.md §9.1). The slave finds its master through the NameServer's
//! answer to its registration, as a RocketMQ slave does. Faults with real processes are in the
//! interop suite; here: what SYNC_MASTER answers, byte-for-byte logs, an empty slave joining a
//! master with several segments, a restarted slave resuming, a slave refusing sends.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice::broker::config::BrokerConfig;
use sluice::broker::ha::Ha;
use sluice::broker::BrokerHandle;
use sluice::namesrv::{NamesrvConfig, NamesrvHandle};
use sluice_remoting::codes::{request, response};
use sluice_remoting::header::offsets::UpdateConsumerOffsetRequestHeader;
use sluice_remoting::net::Connection;
use sluice_remoting::RemotingCommand;
use sluice_storage::MessageStore;
use tokio::sync::watch;

mod common;

use common::{connect, send_cmd, T};

struct Node {
    handle: Option<BrokerHandle>,
    stop: watch::Sender<bool>,
}

impl Node {
    async fn start(dir: &Path, namesrv: &str, props: &str) -> Node {
        let mut cfg = BrokerConfig {
            listen_port: 0,
            broker_ip1: IpAddr::V4(Ipv4Addr::LOCALHOST),
            ..BrokerConfig::default()
        };
        cfg.store.store_path_root_dir = dir.to_path_buf();
        cfg.apply_properties(&format!(
            "namesrvAddr={namesrv}\nmappedFileSizeCommitLog=65536\nregisterNameServerPeriod=1000\n{props}"
        ))
        .unwrap();
        let (stop, rx) = watch::channel(false);
        let handle = sluice::broker::start(cfg, rx).await.unwrap();
        Node {
            handle: Some(handle),
            stop,
        }
    }

    fn handle(&self) -> &BrokerHandle {
        self.handle.as_ref().unwrap()
    }

    fn store(&self) -> &Arc<MessageStore> {
        &self.handle().state.store
    }

    async fn client(&self) -> Arc<Connection> {
        connect(self.handle().local_addr()).await
    }

    /// Waits until this master has `n` slaves connected.
    async fn wait_slaves(&self, n: usize) {
        let Some(Ha::Master(m)) = &self.handle().state.ha else {
            panic!("not a master")
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        // Connected and reported at least once (only then can it acknowledge).
        while m.slaves().len() != n || !m.slaves().iter().all(|s| s.reported) {
            assert!(
                Instant::now() < deadline,
                "{} slaves, expected {n}",
                m.slaves().len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(h) = self.handle.take() {
            h.join().await.unwrap();
        }
    }
}

/// A NameServer and a master started with `master_conf` (stores under `dir`).
async fn with_master(dir: &Path, master_conf: &str) -> (NamesrvHandle, watch::Sender<bool>, String, Node) {
    let (ns, ns_stop) = namesrv().await;
    let ns_addr = ns.local_addr().to_string();
    let master = Node::start(&dir.join("m"), &ns_addr, master_conf).await;
    (ns, ns_stop, ns_addr, master)
}

async fn namesrv() -> (NamesrvHandle, watch::Sender<bool>) {
    let (stop, rx) = watch::channel(false);
    let cfg = NamesrvConfig {
        listen_port: 0,
        bind_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
        ..NamesrvConfig::default()
    };
    (sluice::namesrv::start(cfg, rx).await.unwrap(), stop)
}

async fn send(c: &Connection, topic: &str, queue: i32, body: &str) -> i32 {
    c.request(send_cmd(topic, queue, body, "TAGS\u{1}a\u{2}"), T)
        .await
        .unwrap()
        .code
}

async fn commit(c: &Connection, group: &str, topic: &str, queue: i32, offset: i64) {
    let h = UpdateConsumerOffsetRequestHeader {
        consumer_group: group.into(),
        topic: topic.into(),
        queue_id: queue,
        commit_offset: offset,
    };
    let cmd = RemotingCommand::request(request::UPDATE_CONSUMER_OFFSET).with_header(&h);
    assert_eq!(c.request(cmd, T).await.unwrap().code, response::SUCCESS);
}

/// Waits until the slave's log and queues match the master's.
async fn caught_up(master: &Node, slave: &Node, topic: &str, queues: u32) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (m, s) = (master.store(), slave.store());
        let same_log = s.commitlog().write_pos() == m.commitlog().write_pos();
        let same_queues = (0..queues).all(|q| s.max_queue_offset(topic, q) == m.max_queue_offset(topic, q));
        if same_log && same_queues {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "slave at {} (queues {:?}), master at {} (queues {:?})",
            s.commitlog().write_pos(),
            (0..queues)
                .map(|q| s.max_queue_offset(topic, q))
                .collect::<Vec<_>>(),
            m.commitlog().write_pos(),
            (0..queues)
                .map(|q| m.max_queue_offset(topic, q))
                .collect::<Vec<_>>(),
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The two logs hold the same bytes from the slave's first offset on.
fn same_bytes(master: &MessageStore, slave: &MessageStore) {
    let (m, s) = (master.commitlog(), slave.commitlog());
    let seg = m.segment_size();
    let mut pos = s.min_offset();
    while pos < s.write_pos() {
        let n = (seg - pos % seg).min(s.write_pos() - pos) as usize;
        assert_eq!(
            &*m.read(pos, n).unwrap(),
            &*s.read(pos, n).unwrap(),
            "bytes at {pos}"
        );
        pos += n as u64;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_master_acks_once_its_slave_has_the_message() {
    let dir = tempfile::tempdir().unwrap();
    let (ns, ns_stop, ns_addr, master) =
        with_master(dir.path(), "brokerRole=SYNC_MASTER\nslaveTimeout=2000\n").await;
    let c = master.client().await;
    // No slave yet: stored, but the producer is told it is not replicated.
    assert_eq!(send(&c, "Rep", 0, "alone").await, response::SLAVE_NOT_AVAILABLE);
    // A producer that does not wait for the store (`waitStoreMsgOK=false`) is answered at once.
    let no_wait = send_cmd("Rep", 0, "no-wait", "TAGS\u{1}a\u{2}WAIT\u{1}false\u{2}");
    assert_eq!(c.request(no_wait, T).await.unwrap().code, response::SUCCESS);

    let slave = Node::start(&dir.path().join("s"), &ns_addr, "brokerRole=SLAVE\nbrokerId=1\n").await;
    master.wait_slaves(1).await;
    for i in 0..200 {
        let code = send(&c, "Rep", i % 4, &format!("m{i}")).await;
        assert_eq!(code, response::SUCCESS, "send {i}");
        // SUCCESS means the slave has it (one producer: the master's end is this message's).
        assert!(slave.store().commitlog().write_pos() >= master.store().commitlog().write_pos());
    }
    caught_up(&master, &slave, "Rep", 4).await;
    same_bytes(master.store(), slave.store());
    assert_eq!(slave.store().max_queue_offset("Rep", 0), 52);

    // haStatus: the master lists its slave, acknowledged up to the master's end.
    let end = master.store().commitlog().write_pos().to_string();
    let m_addr = master.handle().state.broker_addr().to_string();
    let out = common::admin(&ns_addr, &["haStatus", "-b", &m_addr])
        .await
        .unwrap();
    assert!(out.contains("#InSyncSlaveNum") && out.contains(&end), "{out}");
    let status: serde_json::Value = serde_json::from_str(
        &common::admin(&ns_addr, &["haStatus", "-b", &m_addr, "--json"])
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(status[0]["haConnectionInfo"][0]["diff"], 0, "{status}");
    let s_addr = slave.handle().state.broker_addr().to_string();
    let out = common::admin(&ns_addr, &["brokerStatus", "-b", &s_addr])
        .await
        .unwrap();
    assert!(
        out.contains("SLAVE") && out.contains("haReplicationLagBytes"),
        "{out}"
    );

    // Metadata: the slave learns the master's topics and committed offsets (first sync after
    // 3 s), and an offset committed on the slave is never rolled back by an older master's.
    commit(&c, "g1", "Rep", 0, 40).await;
    let sc = slave.client().await;
    let meta = slave.store().meta().clone();
    let deadline = Instant::now() + Duration::from_secs(20);
    while slave.handle().state.topics.get("Rep").is_none()
        || meta.consumer_offset("g1", "Rep", 0).unwrap() != Some(40)
    {
        assert!(
            Instant::now() < deadline,
            "the slave never synced topics and offsets"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    commit(&sc, "g1", "Rep", 0, 45).await;
    tokio::time::sleep(Duration::from_secs(11)).await; // one more sync period
    assert_eq!(meta.consumer_offset("g1", "Rep", 0).unwrap(), Some(45));
    // ... and the master learns it from the slave (#1094: a master back from an absence
    // must not send consumers back to its older offsets).
    let master_meta = master.store().meta();
    assert_eq!(master_meta.consumer_offset("g1", "Rep", 0).unwrap(), Some(45));

    // A slave refuses sends; the master names the slave's weaker guarantee once it is gone.
    assert_eq!(
        send(&sc, "Rep", 0, "to the slave").await,
        response::SERVICE_NOT_AVAILABLE
    );
    slave.stop().await;
    master.wait_slaves(0).await;
    assert_eq!(send(&c, "Rep", 0, "after").await, response::SLAVE_NOT_AVAILABLE);
    master.stop().await;
    let _ = ns_stop.send(true);
    ns.join().await.unwrap();
}

/// A slave started before its master (the NameServer names no master in its registration's
/// answer) asks again every 2 s, not once per `registerNameServerPeriod` (30 s here): it
/// replicates within seconds of the master's start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slave_started_before_its_master_finds_it_within_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let (ns, ns_stop) = namesrv().await;
    let ns_addr = ns.local_addr().to_string();
    let slave = Node::start(
        &dir.path().join("s"),
        &ns_addr,
        "brokerRole=SLAVE\nbrokerId=1\nregisterNameServerPeriod=30000\n",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let master = Node::start(&dir.path().join("m"), &ns_addr, "brokerRole=SYNC_MASTER\n").await;
    let started = Instant::now();
    master.wait_slaves(1).await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let c = master.client().await;
    assert_eq!(send(&c, "Rep", 0, "found").await, response::SUCCESS);
    slave.stop().await;
    master.stop().await;
    let _ = ns_stop.send(true);
    ns.join().await.unwrap();
}

/// A slave that stays connected but stops reporting: a SYNC_MASTER's sends (ASYNC_FLUSH: each
/// appended by its caller, answered when the slave's report comes) are stored and answered
/// FLUSH_SLAVE_TIMEOUT once `slaveTimeout` has passed, without holding up each other; once the
/// slave reports again the next send is SEND_OK.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_master_answers_flush_slave_timeout_when_its_slave_goes_silent() {
    use sluice_remoting::ha_stream::report;
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let (ns, ns_stop, _, master) =
        with_master(dir.path(), "brokerRole=SYNC_MASTER\nslaveTimeout=1000\n").await;
    let c = master.client().await;
    let Some(Ha::Master(m)) = &master.handle().state.ha else {
        panic!("not a master")
    };
    // The silent slave: one report of the master's end, then nothing.
    let mut slave = std::net::TcpStream::connect(m.local_addr()).unwrap();
    let end = master.store().commitlog().write_pos();
    slave.write_all(&report(end)).unwrap();
    master.wait_slaves(1).await;
    let started = Instant::now();
    let (a, b) = tokio::join!(send(&c, "Rep", 0, "a"), send(&c, "Rep", 0, "b"));
    let waited = started.elapsed();
    assert_eq!(
        (a, b),
        (response::FLUSH_SLAVE_TIMEOUT, response::FLUSH_SLAVE_TIMEOUT)
    );
    assert!(
        waited >= Duration::from_millis(1000) && waited < Duration::from_millis(2500),
        "answered after {waited:?}"
    );
    // Stored all the same.
    let deadline = Instant::now() + Duration::from_secs(10);
    while master.store().max_queue_offset("Rep", 0) != 2 {
        assert!(Instant::now() < deadline, "the two sends were not stored");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The slave reports what the next send appended: SEND_OK, long before the timeout.
    let appended = master.store().commitlog().write_pos();
    let started = Instant::now();
    let next = tokio::spawn({
        let c = c.clone();
        async move { send(&c, "Rep", 0, "c").await }
    });
    while master.store().commitlog().write_pos() == appended {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the send was not appended"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    slave
        .write_all(&report(master.store().commitlog().write_pos()))
        .unwrap();
    assert_eq!(next.await.unwrap(), response::SUCCESS);
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    drop(slave);
    master.stop().await;
    let _ = ns_stop.send(true);
    ns.join().await.unwrap();
}

/// Under SYNC_FLUSH a send goes through the pipeline's group commit, which waits for the flush
/// and the slave: one that does not wait (`waitStoreMsgOK=false`) is answered once appended,
/// SEND_OK with no slave, as 4.9 skips both waits for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_flush_sync_master_answers_a_producer_that_does_not_wait_once_appended() {
    let dir = tempfile::tempdir().unwrap();
    let (ns, ns_stop, _, master) = with_master(
        dir.path(),
        "brokerRole=SYNC_MASTER\nflushDiskType=SYNC_FLUSH\nslaveTimeout=2000\n",
    )
    .await;
    let c = master.client().await;
    assert_eq!(send(&c, "Rep", 0, "waits").await, response::SLAVE_NOT_AVAILABLE);
    let no_wait = send_cmd("Rep", 0, "no-wait", "TAGS\u{1}a\u{2}WAIT\u{1}false\u{2}");
    assert_eq!(c.request(no_wait, T).await.unwrap().code, response::SUCCESS);
    // Both stored (dispatch follows the group's flush, after the answer).
    let deadline = Instant::now() + Duration::from_secs(5);
    while master.store().max_queue_offset("Rep", 0) < 2 {
        assert!(Instant::now() < deadline, "the two sends were not both stored");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    master.stop().await;
    let _ = ns_stop.send(true);
    ns.join().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_slave_starts_at_the_last_segment_and_a_restarted_one_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let (ns, ns_stop, ns_addr, master) = with_master(dir.path(), "brokerRole=ASYNC_MASTER\n").await;
    let c = master.client().await;
    let body = "x".repeat(1000);
    // Several 64 KiB segments before any slave exists.
    for i in 0..200 {
        assert_eq!(send(&c, "Seg", i % 2, &body).await, response::SUCCESS);
    }
    let end = master.store().commitlog().write_pos();
    assert!(end > 3 * 65536, "{end}");
    let slave = Node::start(&dir.path().join("s"), &ns_addr, "brokerRole=SLAVE\nbrokerId=1\n").await;
    master.wait_slaves(1).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while slave.store().commitlog().write_pos() < end {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(slave.store().commitlog().min_offset(), end - end % 65536);
    same_bytes(master.store(), slave.store());
    // Its queues hold what its log holds: the messages from the master's last segment on.
    let deadline = Instant::now() + Duration::from_secs(20);
    while slave.store().max_queue_offset("Seg", 1) < 100 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Stopped, then restarted on its own store: it resumes from its end.
    slave.stop().await;
    master.wait_slaves(0).await;
    for i in 0..50 {
        assert_eq!(send(&c, "Seg", i % 2, &body).await, response::SUCCESS);
    }
    let slave = Node::start(&dir.path().join("s"), &ns_addr, "brokerRole=SLAVE\nbrokerId=1\n").await;
    master.wait_slaves(1).await;
    // Live data reaches it too, without waiting for a poll.
    for i in 0..20 {
        assert_eq!(send(&c, "Seg", i % 2, &body).await, response::SUCCESS);
    }
    caught_up(&master, &slave, "Seg", 2).await;
    same_bytes(master.store(), slave.store());
    slave.stop().await;
    master.stop().await;
    let _ = ns_stop.send(true);
    ns.join().await.unwrap();
}

/// SYNC_MASTER under SYNC_FLUSH: the pipeline's group commit waits for the fdatasync and for
/// the slave's report (the ASYNC_FLUSH test above takes the caller-append path).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_master_under_sync_flush_acks_through_the_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let (ns, ns_stop, ns_addr, master) = with_master(
        dir.path(),
        "brokerRole=SYNC_MASTER\nflushDiskType=SYNC_FLUSH\nslaveTimeout=2000\n",
    )
    .await;
    let c = master.client().await;
    assert_eq!(
        send(&c, "RepSync", 0, "alone").await,
        response::SLAVE_NOT_AVAILABLE
    );
    let slave = Node::start(
        &dir.path().join("s"),
        &ns_addr,
        "brokerRole=SLAVE\nbrokerId=1\nflushDiskType=SYNC_FLUSH\n",
    )
    .await;
    master.wait_slaves(1).await;
    for i in 0..50 {
        assert_eq!(
            send(&c, "RepSync", i % 2, &format!("m{i}")).await,
            response::SUCCESS
        );
        assert!(slave.store().commitlog().write_pos() >= master.store().commitlog().write_pos());
        assert!(slave.store().flusher().durable_offset() >= master.store().commitlog().write_pos());
    }
    caught_up(&master, &slave, "RepSync", 2).await;
    same_bytes(master.store(), slave.store());
    slave.stop().await;
    master.stop().await;
    let _ = ns_stop.send(true);
    ns.join().await.unwrap();
}

/// A master with `master_conf`, a topic created on it signed with `keys`, and two slaves: one
/// with `signing` (credentials it signs its metadata syncs with) and one with `unsigned`. The
/// signing slave gets the master's topic; the unsigned one is refused and gets nothing.
async fn slave_syncs_only_when_signed(
    master_conf: &str,
    signing: &str,
    unsigned: &str,
    keys: (&str, &str),
    topic: &str,
) {
    let dir = tempfile::tempdir().unwrap();
    let (ns, ns_stop, ns_addr, master) = with_master(dir.path(), master_conf).await;
    let c = master.client().await;
    let signed = |mut cmd: RemotingCommand| {
        sluice_remoting::acl::sign(&mut cmd, keys.0, keys.1);
        cmd
    };
    let create = RemotingCommand::request(request::UPDATE_AND_CREATE_TOPIC)
        .with_ext("topic", topic)
        .with_ext("defaultTopic", "TBW102")
        .with_ext("readQueueNums", "2")
        .with_ext("writeQueueNums", "2")
        .with_ext("perm", "6")
        .with_ext("topicFilterType", "SINGLE_TAG");
    let r = c.request(signed(create), T).await.unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let signing = Node::start(&dir.path().join("s1"), &ns_addr, signing).await;
    let unsigned = Node::start(&dir.path().join("s2"), &ns_addr, unsigned).await;
    let topics_of = |node: &Node| {
        let c = node.handle().local_addr();
        async move {
            let c = connect(c).await;
            let r = c
                .request(signed(RemotingCommand::request(request::GET_ALL_TOPIC_CONFIG)), T)
                .await
                .unwrap();
            String::from_utf8_lossy(&r.body).into_owned()
        }
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !topics_of(&signing).await.contains(topic) {
        assert!(
            Instant::now() < deadline,
            "the signing slave never got the master's topics"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The unsigned slave has had the same time (and more: it started at once).
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !topics_of(&unsigned).await.contains(topic),
        "a slave that does not sign must be refused by a master with ACL on"
    );
    signing.stop().await;
    unsigned.stop().await;
    master.stop().await;
    let _ = ns_stop.send(true);
    ns.join().await.unwrap();
}

/// With `aclEnable=true` on master and slaves, a slave signs its metadata syncs with the
/// `accessKey`/`secretKey` of its broker.conf, so it gets the master's topics; a slave without
/// them is refused and gets nothing (RocketMQ 4.9 brokers never sign: issue #3115).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_acl_on_a_slave_syncs_metadata_signed() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join("conf")).unwrap();
    std::fs::write(
        home.path().join("conf/plain_acl.yml"),
        "accounts:\n  - accessKey: brokerAdmin\n    secretKey: brokerSecret1\n    admin: true\n",
    )
    .unwrap();
    let acl = format!("aclEnable=true\nrocketmqHome={}\n", home.path().display());
    let keys = "accessKey=brokerAdmin\nsecretKey=brokerSecret1\n";
    slave_syncs_only_when_signed(
        &format!("brokerRole=ASYNC_MASTER\n{acl}{keys}"),
        &format!("brokerRole=SLAVE\nbrokerId=1\n{acl}{keys}"),
        &format!("brokerRole=SLAVE\nbrokerId=2\n{acl}"),
        ("brokerAdmin", "brokerSecret1"),
        "AclRepl",
    )
    .await;
}

/// The same with ACL 2.0: master and slaves with `authenticationEnabled` /
/// `authorizationEnabled`; a slave with `innerClientAuthenticationCredentials` (a Super user each
/// broker makes at start) signs its metadata syncs with them and gets the master's topics; a
/// slave without them is refused and gets nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_acl_2_on_a_slave_syncs_metadata_signed_as_its_inner_user() {
    let auth = "authenticationEnabled=true\nauthorizationEnabled=true\n\
                initAuthenticationUser={\"username\":\"root\",\"password\":\"rootSecret1\"}\n";
    let inner = "innerClientAuthenticationCredentials={\"accessKey\":\"brokerInner\",\"secretKey\":\"innerSecret1\"}\n";
    slave_syncs_only_when_signed(
        &format!("brokerRole=ASYNC_MASTER\n{auth}{inner}"),
        &format!("brokerRole=SLAVE\nbrokerId=1\n{auth}{inner}"),
        &format!("brokerRole=SLAVE\nbrokerId=2\n{auth}"),
        ("root", "rootSecret1"),
        "Acl2Repl",
    )
    .await;
}
