//! Automatic failover (controller mode, issue #14): three `sluice controller` processes, a
//! NameServer, and three `sluice broker` processes of one group with `enableControllerMode=true`
//! and `inSyncReplicas=2`. The first broker becomes master, the others join its SyncStateSet;
//! `kill -9` of the master → the controllers elect a slave of the set, which registers as
//! brokerId 0 with a higher epoch; every message acknowledged before the kill is read from it,
//! in order, once; it takes sends again; the old master, restarted, follows it (cutting back
//! what it wrote that was never acknowledged) until its log is the new master's.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sluice::namesrv::NamesrvConfig;
use sluice_remoting::body::controller::EpochEntryCache;
use sluice_remoting::body::route::ClusterInfo;
use sluice_remoting::body::JsonBody;
use sluice_remoting::codes::{request, response};
use sluice_remoting::RemotingCommand;
use tokio::sync::watch;

mod common;

use common::{connect, pull_cmd, send_cmd, T};

const TOPIC: &str = "FailoverTopic";
const QUEUES: i32 = 2;

/// A free port whose neighbour (the HA port, listenPort + 1) is free too.
fn free_pair() -> u16 {
    loop {
        let p = common::free_port();
        if p < 65000 && std::net::TcpListener::bind(("127.0.0.1", p + 1)).is_ok() {
            return p;
        }
    }
}

fn spawn(args: &[&str], conf: &Path, log: &Path) -> Child {
    let out = std::fs::File::create(log).unwrap();
    Command::new(common::sluice_bin())
        .args(args)
        .arg(conf)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(out)
        .spawn()
        .unwrap()
}

struct Broker {
    conf: PathBuf,
    log: PathBuf,
    addr: String,
    child: Option<Child>,
    starts: usize,
}

impl Broker {
    fn start(&mut self) {
        self.starts += 1;
        let log = PathBuf::from(format!("{}-run{}.log", self.log.display(), self.starts));
        self.child = Some(spawn(&["broker", "-c"], &self.conf, &log));
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Every log the processes wrote, for a failed assertion.
fn logs(dir: &Path) -> String {
    let mut out = String::new();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".log"))
        .collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(40).collect();
        out.push_str(&format!("==== {}\n", f.display()));
        for l in tail.iter().rev() {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

/// The NameServer's brokerId 0 of broker-a, if any.
async fn master_at_namesrv(ns: &str) -> Option<String> {
    let c = connect(ns.parse().unwrap()).await;
    let r = c
        .request(RemotingCommand::request(request::GET_BROKER_CLUSTER_INFO), T)
        .await
        .ok()?;
    let info = ClusterInfo::from_json(&r.body).ok()?;
    info.broker_addr_table
        .get("broker-a")?
        .broker_addrs
        .get(&0)
        .cloned()
}

/// The controller's view of broker-a: master address, epoch, in-sync replica count.
async fn sync_state(ctrl: &str) -> Option<(String, i64, usize)> {
    let out = common::admin(
        "127.0.0.1:1",
        &["getSyncStateSet", "-a", ctrl, "-b", "broker-a", "--json"],
    )
    .await
    .ok()?;
    let v: serde_json::Value = serde_json::from_str(&out).ok()?;
    let a = &v["replicasInfoTable"]["broker-a"];
    Some((
        a["masterAddress"].as_str()?.to_owned(),
        a["masterEpoch"].as_i64()?,
        a["inSyncReplicas"].as_array()?.len(),
    ))
}

async fn wait_for<T>(what: &str, dir: &Path, secs: u64, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out: {what}\n{}", logs(dir));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The bodies of queue `q` at `addr`, from offset 0.
async fn read_queue(addr: &str, q: i32) -> Vec<String> {
    let c = connect(addr.parse().unwrap()).await;
    let mut out = Vec::new();
    loop {
        let r = c
            .request(pull_cmd(TOPIC, q, out.len() as i64, "*", 0), T)
            .await
            .unwrap();
        if r.code != response::SUCCESS {
            return out;
        }
        let got = common::bodies(&r);
        if got.is_empty() {
            return out;
        }
        out.extend(got);
    }
}

async fn epoch_cache(addr: &str) -> Option<EpochEntryCache> {
    let c = sluice_remoting::net::connect(
        addr,
        T,
        sluice_remoting::DecoderLimits::default(),
        sluice_remoting::net::connect::refuse_requests,
    )
    .await
    .ok()?;
    let r = c
        .request(RemotingCommand::request(request::GET_BROKER_EPOCH_CACHE), T)
        .await
        .ok()?;
    (r.code == response::SUCCESS)
        .then(|| EpochEntryCache::from_json(&r.body).ok())
        .flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_the_master_elects_a_slave_that_has_every_acknowledged_message() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // Three controllers.
    let ctrls: Vec<String> = (0..3)
        .map(|_| format!("127.0.0.1:{}", common::free_port()))
        .collect();
    let peers = sluice_controller::config::peers_value(&ctrls);
    let mut controllers = Vec::new();
    for i in 0..3 {
        let conf = d.join(format!("controller{i}.conf"));
        std::fs::write(
            &conf,
            format!(
                "controllerDLegerGroup=g1\ncontrollerDLegerPeers={peers}\ncontrollerDLegerSelfId=n{i}\n\
                 controllerStorePath={}\nscanNotActiveBrokerInterval=500\n",
                d.join(format!("ctrl{i}")).display()
            ),
        )
        .unwrap();
        controllers.push(spawn(
            &["controller", "-c"],
            &conf,
            &d.join(format!("controller{i}.log")),
        ));
    }

    // A NameServer in this process.
    let (ns_stop, rx) = watch::channel(false);
    let ns = sluice::namesrv::start(
        NamesrvConfig {
            listen_port: 0,
            bind_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            ..NamesrvConfig::default()
        },
        rx,
    )
    .await
    .unwrap();
    let ns_addr = ns.local_addr().to_string();

    // Three brokers of broker-a.
    let mut brokers: Vec<Broker> = (0..3)
        .map(|i| {
            let port = free_pair();
            let conf = d.join(format!("broker{i}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "brokerClusterName=c\nbrokerName=broker-a\nbrokerIP1=127.0.0.1\nbindAddress=127.0.0.1\n\
                     listenPort={port}\nnamesrvAddr={ns_addr}\nstorePathRootDir={}\n\
                     mappedFileSizeCommitLog=1048576\nregisterNameServerPeriod=1000\n\
                     enableControllerMode=true\ncontrollerAddr={}\ninSyncReplicas=2\n\
                     controllerHeartBeatTimeoutMills=3000\nbrokerHeartbeatInterval=500\n\
                     syncBrokerMetadataPeriod=1000\nhaMaxTimeSlaveNotCatchup=3000\n\
                     haSendHeartbeatInterval=1000\nslaveTimeout=3000\n",
                    d.join(format!("store{i}")).display(),
                    ctrls.join(";")
                ),
            )
            .unwrap();
            Broker {
                conf,
                log: d.join(format!("broker{i}")),
                addr: format!("127.0.0.1:{port}"),
                child: None,
                starts: 0,
            }
        })
        .collect();

    // The first broker is the first master; the others join its SyncStateSet.
    brokers[0].start();
    let first = brokers[0].addr.clone();
    wait_for("the first master registered", d, 60, async || {
        master_at_namesrv(&ns_addr).await.filter(|m| *m == first)
    })
    .await;
    brokers[1].start();
    brokers[2].start();
    let (master, epoch1, _) = wait_for("three replicas in sync", d, 60, async || {
        sync_state(&ctrls[0]).await.filter(|s| s.2 == 3)
    })
    .await;
    assert_eq!(master, first);

    // Acknowledged sends: each SEND_OK waited for both slaves.
    let c = connect(first.parse().unwrap()).await;
    let create = common::admin(
        &ns_addr,
        &["updateTopic", "-b", &first, "-t", TOPIC, "-r", "2", "-w", "2"],
    )
    .await;
    assert!(create.is_ok(), "{create:?}");
    let mut acked: BTreeMap<i32, Vec<String>> = BTreeMap::new();
    for i in 0..200 {
        let q = i % QUEUES;
        let body = format!("m{i}");
        let r = match c.request(send_cmd(TOPIC, q, &body, ""), T).await {
            Ok(r) => r,
            Err(e) => panic!("send {i}: {e}\n{}", logs(d)),
        };
        assert_eq!(r.code, response::SUCCESS, "send {i}: {:?}\n{}", r.remark, logs(d));
        acked.entry(q).or_default().push(body);
    }

    // kill -9 of the master: a slave of the set is elected and registers as brokerId 0.
    brokers[0].kill();
    let t0 = Instant::now();
    let new_master = wait_for("a new master at the NameServer", d, 60, async || {
        master_at_namesrv(&ns_addr).await.filter(|m| *m != first)
    })
    .await;
    let elected_ms = t0.elapsed().as_millis();
    let (m, epoch2, _) = wait_for("the controller names the new master", d, 30, async || {
        sync_state(&ctrls[1]).await.filter(|s| s.0 == new_master)
    })
    .await;
    assert_eq!(m, new_master);
    assert!(epoch2 > epoch1, "epoch {epoch2} after {epoch1}");
    eprintln!(
        "master kill -9 → new master {new_master} registered in {elected_ms} ms (epoch {epoch1} → {epoch2})"
    );

    // Every acknowledged message is on the new master, in order, once.
    for (q, want) in &acked {
        let got = wait_for("the new master serves its queues", d, 30, async || {
            let got = read_queue(&new_master, *q).await;
            (got.len() >= want.len()).then_some(got)
        })
        .await;
        assert_eq!(&got, want, "queue {q}");
    }

    // It takes sends once the remaining slave follows it (inSyncReplicas=2).
    let c2 = connect(new_master.parse().unwrap()).await;
    let t1 = Instant::now();
    let mut after = Vec::new();
    for i in 0..20 {
        let body = format!("n{i}");
        wait_for("a send to the new master", d, 60, async || {
            let r = c2.request(send_cmd(TOPIC, 0, &body, ""), T).await.ok()?;
            (r.code == response::SUCCESS).then_some(())
        })
        .await;
        after.push(body);
    }
    eprintln!(
        "first SEND_OK at the new master {} ms after it registered",
        t1.elapsed().as_millis()
    );

    // The old master comes back as a slave and ends with the new master's log.
    brokers[0].start();
    let m_cache = wait_for("the old master follows the new one", d, 60, async || {
        let m = epoch_cache(&new_master).await?;
        let o = epoch_cache(&first).await?;
        (o.max_offset == m.max_offset && o.epoch_list.last()?.epoch == m.epoch_list.last()?.epoch)
            .then_some(m)
    })
    .await;
    assert!(m_cache.epoch_list.len() >= 2, "{:?}", m_cache.epoch_list);
    // Same queue on both; a send answered other than SUCCESS may have been stored before its
    // retry (at-least-once), so the new sends are compared without repeats.
    let mut want0 = acked[&0].clone();
    want0.extend(after);
    let on_new = read_queue(&new_master, 0).await;
    let on_old = wait_for("the old master's queue matches", d, 30, async || {
        let q = read_queue(&first, 0).await;
        (q.len() >= on_new.len()).then_some(q)
    })
    .await;
    assert_eq!(on_old, on_new);
    let mut once = on_new.clone();
    once.dedup();
    assert_eq!(once, want0, "{} repeats", on_new.len() - once.len());
    eprintln!("sends repeated after a refusal: {}", on_new.len() - once.len());
    wait_for("three replicas in sync again", d, 60, async || {
        sync_state(&ctrls[0])
            .await
            .filter(|s| s.2 == 3 && s.0 == new_master)
    })
    .await;

    for b in &mut brokers {
        b.kill();
    }
    for mut c in controllers {
        let _ = c.kill();
        let _ = c.wait();
    }
    let _ = ns_stop.send(true);
}
