//! A controller-mode broker group of real processes on loopback (issue #14): three
//! `sluice controller` processes, a NameServer in the test's process, and `sluice broker`
//! processes of `broker-a` with `enableControllerMode=true`, each logging to a file that a
//! failed wait prints. Used by the `failover*` scenarios, one per file.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sluice::namesrv::{NamesrvConfig, NamesrvHandle};
use sluice_remoting::body::controller::EpochEntryCache;
use sluice_remoting::body::route::ClusterInfo;
use sluice_remoting::body::JsonBody;
use sluice_remoting::codes::{request, response};
use sluice_remoting::RemotingCommand;
use tokio::sync::watch;

use super::{connect, pull_cmd, T};

fn spawn(args: &[&str], conf: &Path, log: &Path) -> Child {
    let out = std::fs::File::create(log).unwrap();
    Command::new(super::sluice_bin())
        .args(args)
        .arg(conf)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(out)
        .spawn()
        .unwrap()
}

pub struct Broker {
    conf: PathBuf,
    log: PathBuf,
    pub addr: String,
    child: Option<Child>,
    starts: usize,
}

impl Broker {
    pub fn start(&mut self) {
        self.starts += 1;
        let log = PathBuf::from(format!("{}-run{}.log", self.log.display(), self.starts));
        self.child = Some(spawn(&["broker", "-c"], &self.conf, &log));
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Every log the processes wrote, for a failed assertion.
pub fn logs(dir: &Path) -> String {
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
pub async fn master_at_namesrv(ns: &str) -> Option<String> {
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
pub async fn sync_state(ctrl: &str) -> Option<(String, i64, usize)> {
    let out = super::admin(
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

pub async fn wait_for<T>(what: &str, dir: &Path, secs: u64, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out: {what}\n{}", logs(dir));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sends `body` to queue `q` of `topic` over `c` until it is acknowledged (a send answered
/// otherwise may have been stored: at-least-once).
pub async fn send_until_ok(c: &super::Connection, topic: &str, q: i32, body: &str, dir: &Path) {
    wait_for("an acknowledged send", dir, 60, async || {
        let r = c.request(super::send_cmd(topic, q, body, ""), T).await.ok()?;
        (r.code == response::SUCCESS).then_some(())
    })
    .await;
}

/// The bodies of queue `q` at `addr`, from offset 0.
pub async fn read_queue(addr: &str, topic: &str, q: i32) -> Vec<String> {
    let c = connect(addr.parse().unwrap()).await;
    let mut out = Vec::new();
    loop {
        let r = c
            .request(pull_cmd(topic, q, out.len() as i64, "*", 0), T)
            .await
            .unwrap();
        if r.code != response::SUCCESS {
            return out;
        }
        let got = super::bodies(&r);
        if got.is_empty() {
            return out;
        }
        out.extend(got);
    }
}

pub async fn epoch_cache(addr: &str) -> Option<EpochEntryCache> {
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

impl Broker {
    /// Sends `sig` (SIGSTOP, SIGCONT) to the running process.
    pub fn signal(&self, sig: i32) {
        if let Some(c) = &self.child {
            // SAFETY: kill(2) on a child's pid; no memory involved.
            unsafe {
                libc::kill(c.id() as i32, sig);
            }
        }
    }
}

impl Broker {
    /// SIGSTOP, and waits until the process is stopped (the signal is delivered asynchronously).
    pub fn pause(&self) {
        self.signal(libc::SIGSTOP);
        let Some(pid) = self.child.as_ref().map(|c| c.id()) else {
            return;
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // The state follows the command name in parentheses: "pid (comm) T ...".
            if stat
                .rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('T'))
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!("process {pid} did not stop");
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.signal(libc::SIGCONT);
        self.kill();
    }
}

/// Three controllers, a NameServer and `n` broker configs (not started) of `broker-a`, with
/// short timeouts: 3 s heartbeat timeout, 0.5 s scans and heartbeats, `extra` broker.conf lines.
pub struct Group {
    pub dir: tempfile::TempDir,
    pub ctrls: Vec<String>,
    controllers: Vec<Child>,
    _ns: NamesrvHandle,
    ns_stop: watch::Sender<bool>,
    pub ns_addr: String,
    pub brokers: Vec<Broker>,
}

impl Group {
    pub async fn new(n: usize, extra: &str) -> Group {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let ctrls: Vec<String> = (0..3)
            .map(|_| format!("127.0.0.1:{}", super::free_port()))
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
        let brokers = (0..n)
            .map(|i| {
                let port = super::free_port();
                let conf = d.join(format!("broker{i}.conf"));
                std::fs::write(
                    &conf,
                    format!(
                        "brokerClusterName=c\nbrokerName=broker-a\nbrokerIP1=127.0.0.1\nbindAddress=127.0.0.1\n\
                         listenPort={port}\nnamesrvAddr={ns_addr}\nstorePathRootDir={}\n\
                         mappedFileSizeCommitLog=1048576\nregisterNameServerPeriod=1000\n\
                         maxHashSlotNum=5000\nmaxIndexNum=20000\n\
                         enableControllerMode=true\ncontrollerAddr={}\n\
                         controllerHeartBeatTimeoutMills=3000\nbrokerHeartbeatInterval=500\n\
                         syncBrokerMetadataPeriod=1000\nhaSendHeartbeatInterval=1000\n{extra}",
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
        Group {
            dir,
            ctrls,
            controllers,
            _ns: ns,
            ns_stop,
            ns_addr,
            brokers,
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Starts broker 0, waits until it is master, starts the others and waits until all are
    /// in the SyncStateSet: (master address, master epoch).
    pub async fn start_all(&mut self) -> (String, i64) {
        let d = self.dir.path().to_path_buf();
        self.brokers[0].start();
        let first = self.brokers[0].addr.clone();
        let ns = self.ns_addr.clone();
        wait_for("the first master registered", &d, 60, async || {
            master_at_namesrv(&ns).await.filter(|m| *m == first)
        })
        .await;
        for b in self.brokers.iter_mut().skip(1) {
            b.start();
        }
        let n = self.brokers.len();
        let ctrl = self.ctrls[0].clone();
        let (master, epoch, _) = wait_for("every replica in sync", &d, 60, async || {
            sync_state(&ctrl).await.filter(|s| s.2 == n)
        })
        .await;
        assert_eq!(master, first);
        (master, epoch)
    }

    /// Waits until the NameServer's brokerId 0 is another address than `old`: (new master,
    /// milliseconds waited).
    pub async fn new_master(&self, old: &str) -> (String, u128) {
        let t0 = Instant::now();
        let ns = self.ns_addr.clone();
        let m = wait_for(
            "a new master at the NameServer",
            self.dir.path(),
            60,
            async || master_at_namesrv(&ns).await.filter(|m| m != old),
        )
        .await;
        (m, t0.elapsed().as_millis())
    }

    /// [`Group::start_all`], then `topic` with `queues` queues on the master: (master address,
    /// master epoch).
    /// A group of three brokers with `extra` in their broker.conf, all started, `topic` made
    /// with `queues` queues: the group, its directory, the master's address and epoch.
    pub async fn with_topic(extra: &str, topic: &str, queues: u32) -> (Group, PathBuf, String, i64) {
        let mut g = Group::new(3, extra).await;
        let dir = g.dir().to_path_buf();
        let (master, epoch) = g.start_with_topic(topic, queues).await;
        (g, dir, master, epoch)
    }

    pub async fn start_with_topic(&mut self, topic: &str, queues: u32) -> (String, i64) {
        let (first, epoch) = self.start_all().await;
        let q = queues.to_string();
        let create = super::admin(
            &self.ns_addr,
            &["updateTopic", "-b", &first, "-t", topic, "-r", &q, "-w", &q],
        )
        .await;
        assert!(create.is_ok(), "{create:?}");
        (first, epoch)
    }

    /// Waits until the broker at `old` has the log of the master at `new` (same end, same
    /// epochs) and then the same queue 0 of `topic`; that queue.
    pub async fn same_log(&self, new: &str, old: &str, topic: &str) -> Vec<String> {
        let d = self.dir.path();
        wait_for("the old master follows the new one", d, 60, async || {
            let m = epoch_cache(new).await?;
            let o = epoch_cache(old).await?;
            (o.max_offset == m.max_offset && o.epoch_list == m.epoch_list).then_some(())
        })
        .await;
        let on_new = read_queue(new, topic, 0).await;
        let on_old = wait_for("the old master's queue", d, 30, async || {
            let q = read_queue(old, topic, 0).await;
            (q.len() >= on_new.len()).then_some(q)
        })
        .await;
        assert_eq!(on_old, on_new);
        on_new
    }

    pub fn broker_at(&mut self, addr: &str) -> &mut Broker {
        self.brokers.iter_mut().find(|b| b.addr == addr).unwrap()
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.brokers.clear();
        for c in &mut self.controllers {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = self.ns_stop.send(true);
    }
}
