//! The brokers `sluice-bench broker` measures, each started fresh (new data directory) for
//! every sweep point and stopped after it:
//!
//! - `sluice`: the real `sluice standalone` (`broker.rs`) with a broker.conf holding
//!   `flushDiskType`;
//! - `sluice-async-master` / `sluice-sync-master`: the same as the master of a replicated
//!   group (`brokerRole`), with a slave (`sluice broker`, brokerRole=SLAVE) replicating from it
//!   in a second process; measured once the master lists the slave;
//! - `null`: `sluice-bench null-broker` (`null_broker.rs`) as a child process;
//! - `rocketmq-rust`: the crates.io `rocketmq-namesrv` / `rocketmq-broker` binaries that
//!   `bench/reference/rocketmq-rust.sh` installs under ~/.cache/sluice, configured as that
//!   folder's `throughput-pair.sh` does. Its topics are created with UPDATE_AND_CREATE_TOPIC.
//!
//! CPU and memory are those of the broker process (for rocketmq-rust: the broker, not its
//! NameServer).

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
    sluice: Option<BrokerProcess>,
    children: Vec<Child>,
    /// The data directory (and logs), removed on drop once the processes are gone.
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
        let parent = if name == "rocketmq-rust" {
            setup.peer_dir.clone()
        } else {
            std::env::temp_dir()
        };
        let dir = tempfile::Builder::new()
            .prefix(&format!("sluice-bench-{name}-"))
            .tempdir_in(parent)?;
        match name {
            "sluice" | "sluice-async-master" | "sluice-sync-master" => {
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
                    pid: child.id(),
                    addr: SocketAddr::from((Ipv4Addr::LOCALHOST, setup.null_port)),
                    dir,
                    sluice: None,
                    children: vec![child],
                })
            }
            "rocketmq-rust" => start_rocketmq_rust(dir, flush, setup),
            other => bail!(
                "unknown target {other} (sluice, sluice-async-master, sluice-sync-master, null, rocketmq-rust)"
            ),
        }
    }

    /// CPU seconds the broker process has used so far.
    pub fn cpu_secs(&self) -> f64 {
        broker::cpu_secs_of(self.pid)
    }

    /// Its memory now.
    pub fn memory(&self) -> broker::Memory {
        broker::memory_of(self.pid)
    }

    /// Errors if the broker has died.
    pub fn check_alive(&mut self) -> Result<()> {
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
    wait_port(&mut child, port, Duration::from_secs(30), &log).context("slave")?;
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

fn start_rocketmq_rust(dir: tempfile::TempDir, flush: &str, setup: &Setup) -> Result<Running> {
    let bin = rocketmq_rust_bin_dir(setup.rocketmq_rust_bin_dir.as_deref())?;
    let (ns_port, br_port) = (setup.peer_namesrv_port, setup.peer_broker_port);
    for p in [ns_port, br_port, br_port - 2, br_port + 1] {
        if port_open(p) {
            bail!("something already listens on 127.0.0.1:{p}");
        }
    }
    let d = dir.path();
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
    let mut ns = spawn(
        "rocketmq-namesrv-rust",
        &[
            "-c".into(),
            format!("{dd}/namesrv.toml"),
            "--listenPort".into(),
            ns_port.to_string(),
            "--bindAddress".into(),
            "127.0.0.1".into(),
        ],
        &ns_log,
        ns_port + 4,
    )?;
    if let Err(e) = wait_port(&mut ns, ns_port, Duration::from_secs(30), &ns_log) {
        terminate(&mut ns, Duration::from_secs(5));
        return Err(e.context("rocketmq-rust namesrv"));
    }
    let br_log = d.join("broker.log");
    let mut br = match spawn(
        "rocketmq-broker-rust",
        &[
            "-c".into(),
            format!("{dd}/broker.toml"),
            "-n".into(),
            format!("127.0.0.1:{ns_port}"),
        ],
        &br_log,
        ns_port + 5,
    ) {
        Ok(c) => c,
        Err(e) => {
            terminate(&mut ns, Duration::from_secs(5));
            return Err(e);
        }
    };
    if let Err(e) = wait_port(&mut br, br_port, Duration::from_secs(60), &br_log) {
        terminate(&mut br, Duration::from_secs(5));
        terminate(&mut ns, Duration::from_secs(5));
        return Err(e.context("rocketmq-rust broker"));
    }
    // Registration with its NameServer and the rest of its start-up.
    std::thread::sleep(Duration::from_secs(3));
    Ok(Running {
        name: "rocketmq-rust".into(),
        pid: br.id(),
        addr: SocketAddr::from((Ipv4Addr::LOCALHOST, br_port)),
        dir,
        sluice: None,
        // Dropped in reverse: the broker first, then its NameServer.
        children: vec![ns, br],
    })
}
