//! The brokers `sluice-bench broker` measures, each started fresh (new data directory) for
//! every sweep point and stopped after it:
//!
//! - `sluice`: the real `sluice standalone` (`broker.rs`) with a broker.conf holding
//!   `flushDiskType`;
//! - `sluice-async-master` / `sluice-sync-master`: the same as the master of a replicated
//!   group (`brokerRole`), with a slave (`sluice broker`, brokerRole=SLAVE) replicating from it
//!   in a second process; measured once the master lists the slave;
//! - `sluice-prom`: `sluice` with its Prometheus metrics on (`metricsExporterType=PROM`, any
//!   free port, not scraped): what counting every message costs the send path;
//! - `sluice-controller`: the master of a controller-mode group of two (`inSyncReplicas=2`),
//!   with its NameServer, one controller and the slave as processes of their own;
//! - `null`: `sluice-bench null-broker` (`null_broker.rs`) as a child process;
//! - `rocketmq-rust`: the crates.io `rocketmq-namesrv` / `rocketmq-broker` binaries that
//!   `bench/reference/rocketmq-rust.sh` installs under ~/.cache/sluice, configured as that
//!   folder's `throughput-pair.sh` does. Its topics are created with UPDATE_AND_CREATE_TOPIC.
//! - `rocketmq-java` (= `rocketmq-java-4.9`) and `rocketmq-java-5.3`: Apache RocketMQ's own
//!   NameServer and broker (4.9.7; 5.3.3), installed from Maven Central by
//!   `scripts/rocketmq-reference.sh` and started through its wrappers (512 MiB heap, loopback).
//! - `rocketmq-java-async-master` / `rocketmq-java-sync-master`: the 4.9.7 broker as the master
//!   of a replicated group, with a 4.9.7 slave (brokerId 1) in a JVM of its own; measured once
//!   the slave holds what the master holds.
//!
//! CPU and memory are those of the broker process (for rocketmq-rust and rocketmq-java: the
//! broker, not its NameServer). `Running::started` is taken just before the first process is
//! spawned, for the start-to-first-acknowledged-send figure.

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::broker::{self, BrokerProcess, BrokerSpec};

/// Ports and binaries.
#[derive(Debug, Clone)]
pub struct Setup {
    pub sluice_bin: PathBuf,
    pub rocketmq_rust_bin_dir: Option<PathBuf>,
    pub sluice_namesrv_port: u16,
    pub sluice_broker_port: u16,
    pub null_port: u16,
    pub peer_namesrv_port: u16,
    pub peer_broker_port: u16,
    /// Parent of rocketmq-rust's data directories (see [`peer_parent`]).
    pub peer_dir: PathBuf,
    /// Further `key=value` lines for sluice's broker.conf (`--sluice-conf`).
    pub sluice_conf: Vec<String>,
}

/// Share of `dir`'s file system not available to unprivileged writers, 0..1.
fn used_share(dir: &Path) -> Option<f64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs writes into the zeroed struct we pass; `c` is a valid C string.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 || st.f_blocks == 0 {
        return None;
    }
    Some(1.0 - st.f_bavail as f64 / st.f_blocks as f64)
}

/// Where rocketmq-rust keeps its store: the temp dir, unless that file system is 85 % or more
/// used (counting what only root may use). rocketmq-rust 1.0.0 refuses to start when the store's
/// disk is above 90 % (its `diskSpaceWarningLevelRatio` is capped there), so then /dev/shm
/// (tmpfs) is used; the returned note says so, for the report.
pub fn peer_parent() -> (PathBuf, Option<String>) {
    let tmp = std::env::temp_dir();
    match used_share(&tmp) {
        Some(u) if u >= 0.85 && Path::new("/dev/shm").is_dir() => (
            PathBuf::from("/dev/shm"),
            Some(format!(
                "rocketmq-rust's store is on /dev/shm (tmpfs): {} is {:.0} % used and rocketmq-rust 1.0.0 \
                 will not start above 90 %; its figures are therefore not disk-bound",
                tmp.display(),
                u * 100.0
            )),
        ),
        _ => (tmp, None),
    }
}

/// A started target.
pub struct Running {
    pub name: String,
    pub pid: u32,
    pub addr: SocketAddr,
    /// Just before its first process was spawned.
    pub started: Instant,
    sluice: Option<BrokerProcess>,
    children: Vec<Child>,
    /// The data directory (and logs), removed on drop once the processes are gone — unless a
    /// process died ([`Running::check_alive`]).
    pub dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        for c in self.children.iter_mut().rev() {
            terminate(c, Duration::from_secs(10));
        }
    }
}

fn terminate(c: &mut Child, timeout: Duration) {
    if let Ok(Some(_)) = c.try_wait() {
        return;
    }
    // SAFETY: kill(2) on a child we spawned and have not reaped.
    unsafe {
        libc::kill(c.id() as libc::pid_t, libc::SIGTERM);
    }
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = c.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = c.kill();
    let _ = c.wait();
}

fn port_open(port: u16) -> bool {
    let a = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&a, Duration::from_millis(200)).is_ok()
}

fn wait_port(child: &mut Child, port: u16, timeout: Duration, log: &Path) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            bail!(
                "exited during start-up ({status}); log {}:\n{}",
                log.display(),
                tail(log, 30)
            );
        }
        if port_open(port) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "port {port} did not open within {timeout:?}; log:\n{}",
                tail(log, 30)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The rocketmq-rust binaries' folder: given, or from `bench/reference/rocketmq-rust.sh`
/// (which installs them on first use; that build takes a while).
pub fn rocketmq_rust_bin_dir(given: Option<&Path>) -> Result<PathBuf> {
    if let Some(d) = given {
        return Ok(d.to_owned());
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("reference/rocketmq-rust.sh");
    let out = Command::new(&script)
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !out.status.success() {
        bail!("{} failed ({})", script.display(), out.status);
    }
    let dir = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_owned();
    Ok(PathBuf::from(dir))
}

impl Running {
    /// Starts target `name` with `flush` (ASYNC_FLUSH / SYNC_FLUSH).
    pub fn start(name: &str, flush: &str, setup: &Setup) -> Result<Running> {
        let parent = if name == "rocketmq-rust" || java_line(name).is_some() {
            setup.peer_dir.clone()
        } else {
            std::env::temp_dir()
        };
        let dir = tempfile::Builder::new()
            .prefix(&format!("sluice-bench-{name}-"))
            .tempdir_in(parent)?;
        if let Some(line) = java_line(name) {
            return start_rocketmq_java(name, line, dir, flush, setup);
        }
        let started = Instant::now();
        match name {
            "sluice" | "sluice-prom" | "sluice-async-master" | "sluice-sync-master" => {
                let role = match name {
                    "sluice-async-master" => Some("ASYNC_MASTER"),
                    "sluice-sync-master" => Some("SYNC_MASTER"),
                    _ => None,
                };
                let conf = dir.path().join("broker.conf");
                let mut text = format!("brokerIP1=127.0.0.1\nflushDiskType={flush}\n");
                if let Some(role) = role {
                    text += &format!("brokerRole={role}\n");
                }
                if name == "sluice-prom" {
                    text += "metricsExporterType=PROM\nmetricsPromExporterHost=127.0.0.1\nmetricsPromExporterPort=0\n";
                }
                for line in &setup.sluice_conf {
                    text += line;
                    text.push('\n');
                }
                std::fs::write(&conf, text)?;
                let data = dir.path().join("data");
                let log = dir.path().join("sluice.log");
                let b = BrokerProcess::start(
                    &BrokerSpec {
                        binary: &setup.sluice_bin,
                        data_dir: &data,
                        namesrv_port: setup.sluice_namesrv_port,
                        broker_port: setup.sluice_broker_port,
                        config: Some(&conf),
                        log: &log,
                    },
                    Duration::from_secs(30),
                )?;
                let children = match role {
                    Some(_) => vec![start_slave(dir.path(), flush, setup, b.addr)?],
                    None => Vec::new(),
                };
                Ok(Running {
                    name: name.into(),
                    started,
                    pid: b.pid,
                    addr: b.addr,
                    dir,
                    sluice: Some(b),
                    children,
                })
            }
            "null" => {
                if port_open(setup.null_port) {
                    bail!("something already listens on 127.0.0.1:{}", setup.null_port);
                }
                let log = dir.path().join("null.log");
                let mut child = crate::self_command()?
                    .args(["null-broker", "--port", &setup.null_port.to_string()])
                    .stdin(Stdio::null())
                    .stdout(File::create(&log)?)
                    .stderr(File::create(&log)?)
                    .spawn()
                    .context("starting the null broker")?;
                wait_port(&mut child, setup.null_port, Duration::from_secs(10), &log)
                    .context("null broker")?;
                Ok(Running {
                    name: name.into(),
                    started,
                    pid: child.id(),
                    addr: SocketAddr::from((Ipv4Addr::LOCALHOST, setup.null_port)),
                    dir,
                    sluice: None,
                    children: vec![child],
                })
            }
            "rocketmq-rust" => start_rocketmq_rust(dir, flush, setup, started),
            "sluice-controller" => start_controller_group(dir, flush, setup, started),
            other => bail!(
                "unknown target {other} (sluice, sluice-prom, sluice-async-master, sluice-sync-master, \
                 sluice-controller, null, rocketmq-rust, rocketmq-java, rocketmq-java-4.9, rocketmq-java-5.3, \
                 rocketmq-java-async-master, rocketmq-java-sync-master)"
            ),
        }
    }

    /// The target's processes, labelled for [`crate::threads`]: `target` (the one serving
    /// `addr`), then `child<N>-<name>` for the others in the order they started.
    pub fn processes(&self) -> Vec<(String, u32)> {
        let mut out = vec![("target".to_owned(), self.pid)];
        let others = self.children.iter().map(Child::id).filter(|&pid| pid != self.pid);
        for (i, pid) in others.enumerate() {
            let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            out.push((format!("child{}-{}", i + 1, name.trim()), pid));
        }
        out
    }

    /// CPU seconds the broker process has used so far.
    pub fn cpu_secs(&self) -> f64 {
        broker::cpu_secs_of(self.pid)
    }

    /// Its memory now.
    pub fn memory(&self) -> broker::Memory {
        broker::memory_of(self.pid)
    }

    /// Errors if the broker has died; its directory (logs, store) is then kept for a look.
    pub fn check_alive(&mut self) -> Result<()> {
        let alive = self.children_alive();
        if alive.is_err() {
            self.dir.disable_cleanup(true);
        }
        alive
    }

    fn children_alive(&mut self) -> Result<()> {
        if let Some(b) = self.sluice.as_mut() {
            return b.check_alive();
        }
        for c in &mut self.children {
            if let Some(status) = c.try_wait()? {
                bail!(
                    "{} died ({status}); logs in {}",
                    self.name,
                    self.dir.path().display()
                );
            }
        }
        Ok(())
    }

    /// `sluice-async-master` / `sluice-sync-master`: stops the slave process (SIGTERM).
    pub fn stop_slave(&mut self) -> Result<()> {
        if self.sluice.is_none() || self.children.len() != 1 {
            bail!("{} has no slave process of its own", self.name);
        }
        if let Some(mut c) = self.children.pop() {
            terminate(&mut c, Duration::from_secs(15));
        }
        Ok(())
    }

    /// Starts the slave that [`Running::stop_slave`] stopped again, on its own store; returns
    /// once its port is open (it connects to the master by itself).
    pub fn restart_slave(&mut self, flush: &str, setup: &Setup) -> Result<()> {
        if self.sluice.is_none() || !self.children.is_empty() {
            bail!("{} has no stopped slave", self.name);
        }
        let (child, _) = spawn_slave(self.dir.path(), flush, setup)?;
        self.children.push(child);
        Ok(())
    }

    /// Stops it (SIGTERM, then SIGKILL).
    pub fn stop(mut self) {
        if let Some(b) = self.sluice.take() {
            let _ = b.stop(Duration::from_secs(15));
        }
    }
}

/// A slave of the sluice master at `master` (a `sluice broker` process on the broker port +
/// 20), returned once the master lists it as connected (GET_BROKER_HA_STATUS).
fn start_slave(dir: &Path, flush: &str, setup: &Setup, master: SocketAddr) -> Result<Child> {
    let (mut child, log) = spawn_slave(dir, flush, setup)?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !has_slave(master)? {
        if Instant::now() > deadline {
            terminate(&mut child, Duration::from_secs(5));
            bail!("the master never listed its slave; log {}", log.display());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(child)
}

/// The slave process of [`start_slave`] (its store under `dir/slave`, so a slave started
/// again resumes from its own end), returned once its port is open.
fn spawn_slave(dir: &Path, flush: &str, setup: &Setup) -> Result<(Child, PathBuf)> {
    let port = setup.sluice_broker_port + 20;
    if port_open(port) {
        bail!("something already listens on 127.0.0.1:{port} (the slave's port)");
    }
    let conf = dir.join("slave.conf");
    std::fs::write(
        &conf,
        format!(
            "brokerIP1=127.0.0.1\nbrokerRole=SLAVE\nbrokerId=1\nflushDiskType={flush}\nlistenPort={port}\n\
             storePathRootDir={}\n",
            dir.join("slave").display()
        ),
    )?;
    let log = dir.join("slave.log");
    let mut child = Command::new(&setup.sluice_bin)
        .args(["broker", "-c"])
        .arg(&conf)
        .args(["-n", &format!("127.0.0.1:{}", setup.sluice_namesrv_port)])
        .stdin(Stdio::null())
        .stdout(File::create(&log)?)
        .stderr(File::create(&log)?)
        .spawn()
        .context("starting the slave")?;
    if let Err(e) = wait_port(&mut child, port, Duration::from_secs(30), &log) {
        terminate(&mut child, Duration::from_secs(5));
        return Err(e.context("slave"));
    }
    Ok((child, log))
}

/// `sluice-controller`: a controller-mode group of two (`inSyncReplicas=2`: every send waits
/// for the slave) — a `sluice namesrv`, one `sluice controller`, the master on the broker port
/// (started first, so the controller makes it master) and its slave on the broker port + 20 —
/// returned once the master lists its slave and the set has had a moment to take it in.
fn start_controller_group(
    dir: tempfile::TempDir,
    flush: &str,
    setup: &Setup,
    started: Instant,
) -> Result<Running> {
    let (ns_port, port) = (setup.sluice_namesrv_port, setup.sluice_broker_port);
    let (ctrl_port, slave_port) = (port + 30, port + 20);
    for p in [ns_port, port, port + 1, ctrl_port, slave_port, slave_port + 1] {
        if port_open(p) {
            bail!("something already listens on 127.0.0.1:{p}");
        }
    }
    let d = dir.path().to_owned();
    let spawn = |name: &str, args: &[String]| -> Result<(Child, PathBuf)> {
        let log = d.join(format!("{name}.log"));
        let child = Command::new(&setup.sluice_bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(File::create(&log)?)
            .stderr(File::create(&log)?)
            .spawn()
            .with_context(|| format!("starting the {name}"))?;
        Ok((child, log))
    };
    let mut children = Vec::new();
    let (mut ns, log) = spawn(
        "namesrv",
        &["namesrv".into(), "--listen-port".into(), ns_port.to_string()],
    )?;
    let up = wait_port(&mut ns, ns_port, Duration::from_secs(30), &log);
    children.push(ns);
    up.context("namesrv")?;
    let conf = d.join("controller.conf");
    std::fs::write(
        &conf,
        format!(
            "controllerDLegerGroup=bench\ncontrollerDLegerPeers=n0-127.0.0.1:{ctrl_port}\n\
             controllerDLegerSelfId=n0\ncontrollerStorePath={}\n",
            d.join("controller").display()
        ),
    )?;
    let (mut ctrl, log) = spawn(
        "controller",
        &["controller".into(), "-c".into(), conf.display().to_string()],
    )?;
    let up = wait_port(&mut ctrl, ctrl_port, Duration::from_secs(30), &log);
    children.push(ctrl);
    up.context("controller")?;
    let mut pid = 0;
    for (name, p) in [("master", port), ("slave", slave_port)] {
        let conf = d.join(format!("{name}.conf"));
        let mut text = format!(
            "brokerIP1=127.0.0.1\nlistenPort={p}\nflushDiskType={flush}\nstorePathRootDir={}\n\
             enableControllerMode=true\ncontrollerAddr=127.0.0.1:{ctrl_port}\ninSyncReplicas=2\n",
            d.join(name).display()
        );
        for line in &setup.sluice_conf {
            text += line;
            text.push('\n');
        }
        std::fs::write(&conf, text)?;
        let (mut b, log) = spawn(
            name,
            &[
                "broker".into(),
                "-c".into(),
                conf.display().to_string(),
                "-n".into(),
                format!("127.0.0.1:{ns_port}"),
            ],
        )?;
        let up = wait_port(&mut b, p, Duration::from_secs(60), &log);
        if name == "master" {
            pid = b.id();
        }
        children.push(b);
        up.context(name.to_owned())?;
    }
    let master = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !has_slave(master)? {
        if Instant::now() > deadline {
            bail!("the master never listed its slave; logs in {}", d.display());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(1));
    Ok(Running {
        name: "sluice-controller".into(),
        started,
        pid,
        addr: master,
        dir,
        sluice: None,
        // Dropped in reverse: slave, master, controller, NameServer.
        children,
    })
}

/// Whether the master at `addr` lists a connected slave.
fn has_slave(addr: SocketAddr) -> Result<bool> {
    use sluice_remoting::body::ha::HaRuntimeInfo;
    use sluice_remoting::body::JsonBody;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let c = crate::wire::Client::connect(addr).await?;
        let reply = c
            .request(sluice_remoting::RemotingCommand::request(
                sluice_remoting::codes::request::GET_BROKER_HA_STATUS,
            ))
            .await?;
        let info = HaRuntimeInfo::from_json(&reply.body).map_err(|e| anyhow::anyhow!("HA status: {e}"))?;
        Ok(!info.ha_connection_info.is_empty())
    })
}

/// How a reference NameServer + broker pair is started: its name, when its start began, its
/// directory, how long the broker may take to open its port and then to settle.
struct Pair<'a> {
    name: &'a str,
    started: Instant,
    dir: tempfile::TempDir,
    broker_timeout: Duration,
    settle: Duration,
}

/// Spawns a NameServer, waits for its port, then its broker and waits for that port (then
/// `settle`); on any failure stops what was started.
fn start_pair(
    pair: Pair<'_>,
    (spawn_ns, ns_port, ns_log): (impl FnOnce() -> Result<Child>, u16, &Path),
    (spawn_br, br_port, br_log): (impl FnOnce() -> Result<Child>, u16, &Path),
) -> Result<Running> {
    let name = pair.name;
    let mut ns = spawn_ns()?;
    if let Err(e) = wait_port(&mut ns, ns_port, Duration::from_secs(60), ns_log) {
        terminate(&mut ns, Duration::from_secs(10));
        return Err(e.context(format!("{name} namesrv")));
    }
    let mut br = match spawn_br() {
        Ok(c) => c,
        Err(e) => {
            terminate(&mut ns, Duration::from_secs(10));
            return Err(e);
        }
    };
    if let Err(e) = wait_port(&mut br, br_port, pair.broker_timeout, br_log) {
        terminate(&mut br, Duration::from_secs(15));
        terminate(&mut ns, Duration::from_secs(10));
        return Err(e.context(format!("{name} broker")));
    }
    std::thread::sleep(pair.settle);
    Ok(Running {
        name: name.into(),
        started: pair.started,
        pid: br.id(),
        addr: SocketAddr::from((Ipv4Addr::LOCALHOST, br_port)),
        dir: pair.dir,
        sluice: None,
        // Dropped in reverse: the broker first, then its NameServer.
        children: vec![ns, br],
    })
}

fn start_rocketmq_rust(
    dir: tempfile::TempDir,
    flush: &str,
    setup: &Setup,
    started: Instant,
) -> Result<Running> {
    let bin = rocketmq_rust_bin_dir(setup.rocketmq_rust_bin_dir.as_deref())?;
    let (ns_port, br_port) = (setup.peer_namesrv_port, setup.peer_broker_port);
    for p in [ns_port, br_port, br_port - 2, br_port + 1] {
        if port_open(p) {
            bail!("something already listens on 127.0.0.1:{p}");
        }
    }
    let d = dir.path().to_owned();
    for sub in ["home", "namesrv", "store"] {
        std::fs::create_dir_all(d.join(sub))?;
    }
    let dd = d.display();
    std::fs::write(
        d.join("namesrv.toml"),
        format!(
            "rocketmqHome = \"{dd}/home\"\nkvConfigPath = \"{dd}/namesrv/kvConfig.json\"\n\
             configStorePath = \"{dd}/namesrv/rocketmq-namesrv.properties\"\n"
        ),
    )?;
    std::fs::write(
        d.join("broker.toml"),
        format!(
            "[broker]\nnamesrvAddr = \"127.0.0.1:{ns_port}\"\nbrokerIp1 = \"127.0.0.1\"\n\
             listenPort = {br_port}\nstorePathRootDir = \"{dd}/store\"\n\n\
             [broker.brokerServerConfig]\nbindAddress = \"127.0.0.1\"\n\n\
             [broker.brokerIdentity]\nbrokerName = \"bench-peer\"\nbrokerClusterName = \"DefaultCluster\"\n\
             brokerId = 0\n\n[store]\nstoreType = \"LocalFile\"\nbrokerRole = \"ASYNC_MASTER\"\n\
             flushDiskType = \"{flush}\"\nstorePathRootDir = \"{dd}/store\"\n\
             haListenAddress = \"127.0.0.1\"\nhaListenPort = {}\n",
            br_port + 1
        ),
    )?;
    let spawn = |exe: &str, args: &[String], log: &Path, probe: u16| -> Result<Child> {
        Command::new(bin.join(exe))
            .args(args)
            .env("ROCKETMQ_HOME", d.join("home"))
            // It refuses to start with a listener off loopback unless told this profile.
            .env("ROCKETMQ_SECURITY_PROFILE", "development-insecure-loopback")
            .env("ROCKETMQ_HEALTH_BIND_ADDR", format!("127.0.0.1:{probe}"))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(File::create(log)?)
            .stderr(File::create(log)?)
            .spawn()
            .with_context(|| format!("starting {}", bin.join(exe).display()))
    };
    let ns_log = d.join("namesrv.log");
    let br_log = d.join("broker.log");
    let ns_args = [
        "-c".into(),
        format!("{dd}/namesrv.toml"),
        "--listenPort".into(),
        ns_port.to_string(),
        "--bindAddress".into(),
        "127.0.0.1".into(),
    ];
    let br_args = [
        "-c".into(),
        format!("{dd}/broker.toml"),
        "-n".into(),
        format!("127.0.0.1:{ns_port}"),
    ];
    let pair = Pair {
        name: "rocketmq-rust",
        started,
        dir,
        broker_timeout: Duration::from_secs(60),
        // Registration with its NameServer and the rest of its start-up.
        settle: Duration::from_secs(3),
    };
    start_pair(
        pair,
        (
            || spawn("rocketmq-namesrv-rust", &ns_args, &ns_log, ns_port + 4),
            ns_port,
            &ns_log,
        ),
        (
            || spawn("rocketmq-broker-rust", &br_args, &br_log, ns_port + 5),
            br_port,
            &br_log,
        ),
    )
}

/// The NameServer a target runs beside its broker (what a client library routes through);
/// `None` for the null broker, which has none.
pub fn namesrv(name: &str, setup: &Setup) -> Option<SocketAddr> {
    let port = match name {
        "sluice" | "sluice-prom" | "sluice-async-master" | "sluice-sync-master" | "sluice-controller" => {
            setup.sluice_namesrv_port
        }
        "rocketmq-rust" => setup.peer_namesrv_port,
        n if java_line(n).is_some() => setup.peer_namesrv_port,
        _ => return None,
    };
    Some(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
}

/// The Apache RocketMQ line a target name means: `rocketmq-java`, `rocketmq-java-4`,
/// `rocketmq-java-4.9`, `rocketmq-java-4.9.7` and the replicated pairs
/// `rocketmq-java-{async,sync}-master` the 4.x line ("4"); `rocketmq-java-5`,
/// `rocketmq-java-5.3` and `rocketmq-java-5.3.3` the 5.3 line ("5"). `None` for other names.
pub fn java_line(name: &str) -> Option<&'static str> {
    match name {
        "rocketmq-java" | "rocketmq-java-4" | "rocketmq-java-4.9" | "rocketmq-java-4.9.7" => Some("4"),
        "rocketmq-java-async-master" | "rocketmq-java-sync-master" => Some("4"),
        "rocketmq-java-5" | "rocketmq-java-5.3" | "rocketmq-java-5.3.3" => Some("5"),
        _ => None,
    }
}

/// The installed Apache RocketMQ `line` ("4" or "5"): the folder with `bin/namesrv`,
/// `bin/broker` and `bin/mqadmin` that `scripts/rocketmq-reference.sh` writes (installing it
/// from Maven Central on first use, about 30 s).
pub fn rocketmq_java_dir(line: &str) -> Result<PathBuf> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/rocketmq-reference.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(line)
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !out.status.success() {
        bail!("{} {line} failed ({})", script.display(), out.status);
    }
    let key = format!("ROCKETMQ_JAVA_{line}=");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix(&key).map(|d| PathBuf::from(d.trim())))
        .with_context(|| format!("{} printed no {key}…", script.display()))
}

fn start_rocketmq_java(
    name: &str,
    line: &str,
    dir: tempfile::TempDir,
    flush: &str,
    setup: &Setup,
) -> Result<Running> {
    let home = rocketmq_java_dir(line)?;
    let (ns_port, br_port) = (setup.peer_namesrv_port, setup.peer_broker_port);
    let role = match name {
        "rocketmq-java-async-master" => Some("ASYNC_MASTER"),
        "rocketmq-java-sync-master" => Some("SYNC_MASTER"),
        _ => None,
    };
    let slave_port = br_port + 20;
    let mut ports = vec![ns_port, br_port, br_port - 2, br_port + 1];
    if role.is_some() {
        ports.extend([slave_port, slave_port - 2, slave_port + 1]);
    }
    // The broker also listens on listenPort - 2 (its "VIP" channel) and + 1 (HA).
    for p in ports {
        if port_open(p) {
            bail!("something already listens on 127.0.0.1:{p}");
        }
    }
    let d = dir.path().to_owned();
    std::fs::create_dir_all(d.join("store"))?;
    let dd = d.display();
    // 4.9 has no bindAddress (it listens on all addresses of a machine that here has only
    // loopback); 5.x reads it from both files.
    std::fs::write(
        d.join("namesrv.properties"),
        format!("listenPort={ns_port}\nbindAddress=127.0.0.1\nkvConfigPath={dd}/namesrv/kvConfig.json\n"),
    )?;
    // A slave is brokerId 1 of the same brokerName; it learns the master's HA address from
    // the NameServer's answer to its registration.
    let conf = |id: u8, port: u16, role: &str, store: &str| {
        format!(
            "brokerClusterName=DefaultCluster\nbrokerName=bench-java\nbrokerId={id}\n\
             brokerIP1=127.0.0.1\nbindAddress=127.0.0.1\nnamesrvAddr=127.0.0.1:{ns_port}\n\
             listenPort={port}\nhaListenPort={}\nstorePathRootDir={dd}/{store}\n\
             storePathCommitLog={dd}/{store}/commitlog\nbrokerRole={role}\n\
             flushDiskType={flush}\nautoCreateTopicEnable=true\n",
            port + 1
        )
    };
    std::fs::write(
        d.join("broker.conf"),
        conf(0, br_port, role.unwrap_or("ASYNC_MASTER"), "store"),
    )?;
    if role.is_some() {
        std::fs::create_dir_all(d.join("slave"))?;
        std::fs::write(d.join("slave.conf"), conf(1, slave_port, "SLAVE", "slave"))?;
    }
    let spawn = |exe: &str, conf: &str, log: &Path| -> Result<Child> {
        Command::new(home.join("bin").join(exe))
            .args(["-c", conf])
            .current_dir(&d)
            .env("ROCKETMQ_LOG_DIR", d.join("logs"))
            .env("ROCKETMQ_USER_HOME", &d)
            // It refuses sends once the store's disk is 90 % full (sluice has no such guard).
            .env(
                "JAVA_OPTS_EXTRA",
                "-Drocketmq.broker.diskSpaceWarningLevelRatio=0.98 \
                 -Drocketmq.broker.diskSpaceCleanForciblyRatio=0.97",
            )
            .stdin(Stdio::null())
            .stdout(File::create(log)?)
            .stderr(File::create(log)?)
            .spawn()
            .with_context(|| format!("starting {}", home.join("bin").join(exe).display()))
    };
    let started = Instant::now();
    let ns_log = d.join("namesrv.out");
    let br_log = d.join("broker.out");
    let (ns_conf, br_conf) = (format!("{dd}/namesrv.properties"), format!("{dd}/broker.conf"));
    // The broker opens its port after its store has started: sends are taken from then on.
    let pair = Pair {
        name,
        started,
        dir,
        broker_timeout: Duration::from_secs(120),
        settle: Duration::ZERO,
    };
    let mut running = start_pair(
        pair,
        (|| spawn("namesrv", &ns_conf, &ns_log), ns_port, &ns_log),
        (|| spawn("broker", &br_conf, &br_log), br_port, &br_log),
    )?;
    if role.is_some() {
        let log = d.join("slave.out");
        let mut child = spawn("broker", &format!("{dd}/slave.conf"), &log)?;
        let up = wait_port(&mut child, slave_port, Duration::from_secs(120), &log);
        running.children.push(child);
        up.context("the Java slave")?;
        let slave = SocketAddr::from((Ipv4Addr::LOCALHOST, slave_port));
        replicating(running.addr, slave, Duration::from_secs(90))
            .with_context(|| format!("the Java slave never caught up; logs in {dd}"))?;
    }
    Ok(running)
}

/// Waits until the slave at `slave` holds what its master at `master` holds after a probe
/// message (both brokers' `commitLogMaxOffset`, GET_BROKER_RUNTIME_INFO): replication runs.
fn replicating(master: SocketAddr, slave: SocketAddr, timeout: Duration) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let deadline = Instant::now() + timeout;
        loop {
            // Either broker may still be starting (a JVM's port opens before it answers).
            let attempt = async {
                let m = crate::wire::Client::connect(master).await?;
                let probe = crate::wire::Outgoing {
                    producer_group: "bench_probe",
                    topic: "BenchReplicaProbe",
                    queue_id: 0,
                    sys_flag: 0,
                    born_timestamp: 0,
                    properties: String::new(),
                    body: bytes::Bytes::from_static(b"probe"),
                    batch: false,
                };
                m.send(probe).await?;
                let want = commit_log_max(&m).await?;
                let s = crate::wire::Client::connect(slave).await?;
                for _ in 0..20 {
                    if commit_log_max(&s).await? >= want {
                        return anyhow::Ok(true);
                    }
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Ok(false)
            };
            match attempt.await {
                Ok(true) => return Ok(()),
                Err(e) if Instant::now() > deadline => return Err(e),
                _ if Instant::now() > deadline => {
                    bail!("the slave is not at its master's end after {timeout:?}")
                }
                _ => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
    })
}

/// A broker's `commitLogMaxOffset` (GET_BROKER_RUNTIME_INFO).
async fn commit_log_max(c: &crate::wire::Client) -> Result<u64> {
    use sluice_remoting::body::common::KvTable;
    use sluice_remoting::body::JsonBody;
    let reply = c
        .request(sluice_remoting::RemotingCommand::request(
            sluice_remoting::codes::request::GET_BROKER_RUNTIME_INFO,
        ))
        .await?;
    if reply.code != sluice_remoting::codes::response::SUCCESS {
        bail!(
            "runtime info: code {} {}",
            reply.code,
            reply.remark.unwrap_or_default()
        );
    }
    let kv = KvTable::from_json(&reply.body).map_err(|e| anyhow::anyhow!("runtime info: {e}"))?;
    kv.table
        .get("commitLogMaxOffset")
        .and_then(|v| v.parse().ok())
        .context("runtime info without commitLogMaxOffset")
}
