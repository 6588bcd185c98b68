//! Controller mode against Apache RocketMQ 5.3.3: three `sluice controller` processes are the
//! controller group of two Java 5.3.3 brokers (`enableControllerMode=true`) under a sluice
//! NameServer. The brokers take their ids from sluice, the first becomes master, the master
//! adds its slave to the SyncStateSet; Java mqadmin 5.3.3 reads `getControllerMetaData` and
//! `getSyncStateSet` from sluice; `kill -9` of the Java master → sluice elects the slave (in the
//! set) and the slave registers as brokerId 0 at the NameServer; the killed broker returns as a
//! slave; SIGSTOP of the master → the other is elected (epoch 3), and when the paused one resumes
//! brokerId 0 stays with the newer epoch; `kill -9` of the controller leader → the other two
//! keep the state and keep serving.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sluice_remoting::body::controller::{BrokerNames, BrokerReplicasInfo, ReplicasInfo};
use sluice_remoting::body::route::ClusterInfo;
use sluice_remoting::body::JsonBody;
use sluice_remoting::codes::{request, response};
use sluice_remoting::header::controller::GetMetaDataResponseHeader;
use sluice_remoting::net::connect::refuse_requests;
use sluice_remoting::{DecoderLimits, RemotingCommand};

use crate::harness::{controller_conf, free_port, serial, sluice_bin};
use crate::mqadmin::{rocketmq5_home, DISK_GUARD};

/// Children killed (SIGKILL) when the test ends, whatever happens.
struct Procs(BTreeMap<String, Child>);

impl Procs {
    fn spawn(&mut self, name: &str, mut cmd: Command, dir: &Path) {
        let log = File::create(dir.join(format!("{name}.out"))).expect("log file");
        let child = cmd
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        self.0.insert(name.to_owned(), child);
    }

    fn kill9(&mut self, name: &str) {
        if let Some(mut c) = self.0.remove(name) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        for c in self.0.values_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn wait_port(addr: &str, what: &str, dir: &Path) {
    let sa: SocketAddr = addr.parse().expect("address");
    let deadline = Instant::now() + Duration::from_secs(120);
    while std::net::TcpStream::connect_timeout(&sa, Duration::from_millis(200)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not open {addr}\n{}",
            logs(dir)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn logs(dir: &Path) -> String {
    let mut out = String::new();
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "out") {
            let text = fs::read_to_string(&p).unwrap_or_default();
            let tail: String = text
                .chars()
                .rev()
                .take(2500)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            out.push_str(&format!("--- {} ---\n{tail}\n", p.display()));
        }
    }
    out
}

/// One request over a fresh connection (None: no answer).
fn ask(rt: &tokio::runtime::Runtime, addr: &str, cmd: RemotingCommand) -> Option<RemotingCommand> {
    rt.block_on(async {
        let conn = sluice_remoting::net::connect(
            addr,
            Duration::from_secs(2),
            DecoderLimits::default(),
            refuse_requests,
        )
        .await
        .ok()?;
        let r = conn.request(cmd, Duration::from_secs(5)).await.ok();
        conn.close();
        r
    })
}

/// broker-a as the controller group's leader (found through any live controller) holds it.
fn replicas(rt: &tokio::runtime::Runtime, controllers: &[String]) -> Option<ReplicasInfo> {
    for c in controllers {
        let Some(meta) = ask(
            rt,
            c,
            RemotingCommand::request(request::CONTROLLER_GET_METADATA_INFO),
        ) else {
            continue;
        };
        let Ok(meta) = meta.decode_header::<GetMetaDataResponseHeader>() else {
            continue;
        };
        let Some(leader) = meta.controller_leader_address else {
            continue;
        };
        let cmd = RemotingCommand::request(request::CONTROLLER_GET_SYNC_STATE_DATA)
            .with_body(BrokerNames(vec!["broker-a".into()]).to_json());
        let reply = ask(rt, &leader, cmd)?;
        if reply.code != response::SUCCESS {
            return None;
        }
        let mut info = BrokerReplicasInfo::from_json(&reply.body).ok()?;
        return info.replicas_info_table.remove("broker-a");
    }
    None
}

/// brokerId → address of broker-a at the NameServer.
fn routes(rt: &tokio::runtime::Runtime, namesrv: &str) -> BTreeMap<i64, String> {
    ask(
        rt,
        namesrv,
        RemotingCommand::request(request::GET_BROKER_CLUSTER_INFO),
    )
    .filter(|r| r.code == response::SUCCESS)
    .and_then(|r| ClusterInfo::from_json(&r.body).ok())
    .and_then(|mut i| i.broker_addr_table.remove("broker-a"))
    .map(|d| d.broker_addrs.into_iter().collect())
    .unwrap_or_default()
}

fn wait_until<T>(what: &str, dir: &Path, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\n{}",
            logs(dir)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn mqadmin(home: &Path, dir: &Path, args: &[&str]) -> String {
    let out = Command::new(home.join("bin/mqadmin"))
        .args(args)
        .current_dir(dir)
        .env("ROCKETMQ_LOG_DIR", dir.join("logs"))
        .env("ROCKETMQ_USER_HOME", dir)
        .stdin(Stdio::null())
        .output()
        .expect("running mqadmin");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn java_5_brokers_fail_over_through_sluice_controllers() {
    let Some(_guard) = serial("controller::java_5_brokers_fail_over_through_sluice_controllers") else {
        return;
    };
    let home: PathBuf = rocketmq5_home().unwrap_or_else(|e| panic!("Apache RocketMQ 5.3 reference: {e}"));
    let tmp = tempfile::Builder::new()
        .prefix("sluice-interop-controller")
        .tempdir()
        .expect("temp dir");
    // SLUICE_INTEROP_KEEP=1 keeps the logs (as the harness's own temp dirs do).
    let kept = std::env::var_os("SLUICE_INTEROP_KEEP")
        .is_some()
        .then(|| tmp.path().to_owned());
    let dir = tmp.path();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut procs = Procs(BTreeMap::new());

    // Three controllers and a NameServer, all sluice.
    let controllers: Vec<String> = (0..3).map(|_| format!("127.0.0.1:{}", free_port())).collect();
    let peers = sluice_controller::config::peers_value(&controllers);
    for i in 0..3 {
        let conf = controller_conf(dir, "group1", &peers, i);
        let mut cmd = Command::new(sluice_bin());
        cmd.arg("controller").arg("-c").arg(&conf);
        procs.spawn(&format!("controller{i}"), cmd, dir);
    }
    let namesrv = format!("127.0.0.1:{}", free_port());
    let mut cmd = Command::new(sluice_bin());
    cmd.args([
        "namesrv",
        "--listen-port",
        namesrv.rsplit(':').next().unwrap_or("0"),
    ]);
    procs.spawn("namesrv", cmd, dir);
    wait_port(&namesrv, "the NameServer", dir);

    // Two Java 5.3.3 brokers of broker-a in controller mode.
    let ports = [free_port(), free_port()];
    let brokers: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let start_broker = |procs: &mut Procs, b: usize| {
        let bdir = dir.join(format!("broker{b}"));
        fs::create_dir_all(&bdir).expect("broker dir");
        fs::write(
            bdir.join("broker.conf"),
            format!(
                "brokerClusterName=DefaultCluster\nbrokerName=broker-a\nbrokerIP1=127.0.0.1\n\
                 listenPort={}\nnamesrvAddr={namesrv}\nstorePathRootDir={root}\n\
                 storePathCommitLog={root}/commitlog\nenableControllerMode=true\n\
                 controllerAddr={}\n",
                ports[b - 1],
                controllers.join(";"),
                root = bdir.join("store").display()
            ),
        )
        .expect("broker conf");
        let mut cmd = Command::new(home.join("bin/broker"));
        cmd.arg("-c")
            .arg(bdir.join("broker.conf"))
            .env("ROCKETMQ_LOG_DIR", bdir.join("logs"))
            .env("ROCKETMQ_USER_HOME", &bdir)
            .env("JAVA_HEAP", "-Xms256m -Xmx256m -XX:MaxDirectMemorySize=256m")
            .env("JAVA_OPTS_EXTRA", DISK_GUARD);
        procs.spawn(&format!("broker{b}"), cmd, dir);
    };
    for b in 1..=2 {
        start_broker(&mut procs, b);
        // The first broker to ask becomes the first master: start them one after the other.
        let want = b;
        wait_until(
            &format!("broker {b} registered with the controllers"),
            dir,
            Duration::from_secs(120),
            || {
                replicas(&rt, &controllers).filter(|r| {
                    r.in_sync_replicas.len() + r.not_in_sync_replicas.len() >= want
                        && r.master_broker_id == Some(1)
                })
            },
        );
    }
    // The Java master reports its caught-up slave: the SyncStateSet becomes {1, 2}.
    let r = wait_until("the SyncStateSet {1, 2}", dir, Duration::from_secs(90), || {
        replicas(&rt, &controllers).filter(|r| r.in_sync_replicas.len() == 2)
    });
    assert_eq!(r.master_address.as_deref(), Some(brokers[0].as_str()));
    assert_eq!(r.master_epoch, 1);
    wait_until(
        "broker-a brokerId 0 at the NameServer",
        dir,
        Duration::from_secs(60),
        || (routes(&rt, &namesrv).get(&0) == Some(&brokers[0])).then_some(()),
    );

    // Apache mqadmin 5.3.3 reads the controller.
    let meta = mqadmin(&home, dir, &["getControllerMetaData", "-a", &controllers[0]]);
    assert!(
        meta.contains("#ControllerLeaderAddress") && meta.contains("#ControllerGroup\tgroup1"),
        "{meta}"
    );
    let set = mqadmin(
        &home,
        dir,
        &["getSyncStateSet", "-a", &controllers[1], "-b", "broker-a"],
    );
    assert!(set.contains("#MasterEpoch\t1"), "{set}");
    assert_eq!(set.matches("InSyncReplica:").count(), 2, "{set}");

    // kill -9 of the Java master: sluice elects the slave; it registers as brokerId 0.
    procs.kill9("broker1");
    let t0 = Instant::now();
    let r = wait_until("a new master elected", dir, Duration::from_secs(60), || {
        replicas(&rt, &controllers).filter(|r| r.master_broker_id == Some(2))
    });
    let elected = t0.elapsed();
    assert_eq!(r.master_epoch, 2);
    assert_eq!(r.master_address.as_deref(), Some(brokers[1].as_str()));
    wait_until(
        "the new master as brokerId 0 at the NameServer",
        dir,
        Duration::from_secs(60),
        || (routes(&rt, &namesrv).get(&0) == Some(&brokers[1])).then_some(()),
    );
    let registered = t0.elapsed();
    eprintln!(
        "interop controller: Java master kill -9 → sluice controller elected the slave in {} ms, \
         the slave registered as brokerId 0 in {} ms",
        elected.as_millis(),
        registered.as_millis()
    );

    // sluice admin getBrokerEpoch asks the Java broker for its epoch list (with no message
    // written, the new epoch starts where epoch 1 did and Java keeps the one entry).
    let epochs = rt
        .block_on(async {
            use clap::Parser;
            #[derive(clap::Parser)]
            struct Cli {
                #[command(flatten)]
                admin: sluice::admin::AdminArgs,
            }
            let cli = Cli::try_parse_from([
                "admin",
                "-n",
                &namesrv,
                "--json",
                "getBrokerEpoch",
                "-b",
                "broker-a",
            ])
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            sluice::admin::execute(&cli.admin).await
        })
        .unwrap_or_else(|e| panic!("getBrokerEpoch: {e:#}\n{}", logs(dir)));
    let epochs: serde_json::Value = serde_json::from_str(&epochs).expect("JSON");
    let cache = &epochs[0]["cache"];
    assert_eq!(epochs[0]["brokerAddr"], brokers[1].as_str(), "{epochs}");
    let list: Vec<i64> = cache["epochList"]
        .as_array()
        .expect("epochList")
        .iter()
        .filter_map(|e| e["epoch"].as_i64())
        .collect();
    assert!(
        !list.is_empty() && list.iter().all(|e| (1..=2).contains(e)),
        "{epochs}"
    );
    assert_eq!(
        cache["epochList"]
            .as_array()
            .and_then(|l| l.last())
            .map(|e| &e["endOffset"]),
        Some(&cache["maxOffset"])
    );

    // Broker 1 comes back: it rejoins as a slave and the master puts it back in the set.
    start_broker(&mut procs, 1);
    wait_until(
        "broker 1 back in the SyncStateSet",
        dir,
        Duration::from_secs(120),
        || {
            replicas(&rt, &controllers)
                .filter(|r| r.master_broker_id == Some(2) && r.in_sync_replicas.len() == 2)
        },
    );
    // SIGSTOP of the master for longer than its heartbeat timeout: broker 1 is elected…
    let paused = procs
        .0
        .get("broker2")
        .map(|c| c.id() as libc::pid_t)
        .expect("broker 2");
    // SAFETY: signalling a child this test started.
    unsafe { libc::kill(paused, libc::SIGSTOP) };
    let t0 = Instant::now();
    let r = wait_until(
        "broker 1 elected while broker 2 is paused",
        dir,
        Duration::from_secs(60),
        || replicas(&rt, &controllers).filter(|r| r.master_broker_id == Some(1)),
    );
    assert_eq!(r.master_epoch, 3);
    wait_until(
        "broker 1 as brokerId 0 at the NameServer",
        dir,
        Duration::from_secs(60),
        || (routes(&rt, &namesrv).get(&0) == Some(&brokers[0])).then_some(()),
    );
    eprintln!(
        "interop controller: Java master SIGSTOP → the other broker is brokerId 0 at epoch 3 in {} ms",
        t0.elapsed().as_millis()
    );
    // …and when the paused one resumes (still believing it is master at epoch 2), brokerId 0
    // stays with the epoch-3 master: the controller fences it, the NameServer keeps the newer
    // stateVersion.
    // SAFETY: as above.
    unsafe { libc::kill(paused, libc::SIGCONT) };
    let until = Instant::now() + Duration::from_secs(15);
    while Instant::now() < until {
        let r = routes(&rt, &namesrv);
        assert_eq!(
            r.get(&0),
            Some(&brokers[0]),
            "brokerId 0 moved back to the resumed old master: {r:?}\n{}",
            logs(dir)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let r = replicas(&rt, &controllers).expect("replica info");
    assert_eq!((r.master_broker_id, r.master_epoch), (Some(1), 3));

    // kill -9 of the controller leader: the other two keep the state and serve it.
    let leader = ask(
        &rt,
        &controllers[0],
        RemotingCommand::request(request::CONTROLLER_GET_METADATA_INFO),
    )
    .and_then(|m| m.decode_header::<GetMetaDataResponseHeader>().ok())
    .and_then(|m| m.controller_leader_address)
    .expect("a controller leader");
    let li = controllers
        .iter()
        .position(|c| *c == leader)
        .expect("the leader is a peer");
    procs.kill9(&format!("controller{li}"));
    let rest: Vec<String> = controllers.iter().filter(|c| **c != leader).cloned().collect();
    let r = wait_until(
        "the surviving controllers serving",
        dir,
        Duration::from_secs(30),
        || replicas(&rt, &rest).filter(|r| r.master_broker_id == Some(1)),
    );
    assert_eq!(r.master_epoch, 3);
    assert!(
        r.in_sync_replicas.iter().any(|x| x.broker_id == 1 && x.alive),
        "{r:?}"
    );
    drop(procs);
    if let Some(k) = kept {
        let _ = tmp.keep();
        eprintln!("interop: kept {}", k.display());
    }
}
