//! The real broker under test: `sluice standalone` started as a child process, its memory and
//! CPU read from /proc, stopped with SIGTERM (SIGKILL if it does not exit, and on drop).

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Serialize;

/// Where the `sluice` binary is by default: under `sluice bench`, the running executable; under
/// `sluice-bench`, the `sluice` built beside it, else `$CARGO_TARGET_DIR/release/sluice`, else
/// `~/.cache/sluice/target/release/sluice` (where the project's scripts build it).
pub fn default_binary() -> PathBuf {
    let exe = std::env::current_exe().ok();
    if crate::host() == crate::Host::Sluice {
        if let Some(exe) = exe {
            return exe;
        }
    }
    let beside = exe
        .and_then(|e| e.parent().map(|d| d.join("sluice")))
        .filter(|p| p.is_file());
    beside.unwrap_or_else(|| {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                let home = std::env::var_os("HOME")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from("."));
                home.join(".cache/sluice/target")
            });
        target.join("release/sluice")
    })
}

/// Broker memory from /proc/<pid>/status, in bytes.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Memory {
    pub vm_rss: u64,
    pub rss_anon: u64,
    pub rss_file: u64,
    pub rss_shmem: u64,
    pub vm_hwm: u64,
}

impl Memory {
    pub fn mib(v: u64) -> f64 {
        v as f64 / (1024.0 * 1024.0)
    }
}

/// A running `sluice standalone`.
pub struct BrokerProcess {
    child: Option<Child>,
    pub pid: u32,
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub log: PathBuf,
}

/// How to start one.
pub struct BrokerSpec<'a> {
    pub binary: &'a Path,
    pub data_dir: &'a Path,
    pub namesrv_port: u16,
    pub broker_port: u16,
    pub config: Option<&'a Path>,
    pub log: &'a Path,
}

impl BrokerProcess {
    /// Starts the broker and waits until its port accepts connections.
    pub fn start(spec: &BrokerSpec<'_>, ready_timeout: Duration) -> Result<BrokerProcess> {
        if !spec.binary.is_file() {
            bail!(
                "no sluice binary at {} (build it with `cargo build --release --bin sluice`, or pass --sluice-bin)",
                spec.binary.display()
            );
        }
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, spec.broker_port));
        for port in [spec.broker_port, spec.namesrv_port] {
            let a = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            if TcpStream::connect_timeout(&a, Duration::from_millis(200)).is_ok() {
                bail!("something already listens on {a}; choose other ports (--namesrv-port, --broker-port)");
            }
        }
        std::fs::create_dir_all(spec.data_dir)?;
        let log = File::create(spec.log).with_context(|| format!("creating {}", spec.log.display()))?;
        let mut cmd = Command::new(spec.binary);
        cmd.arg("standalone")
            .arg("--data-dir")
            .arg(spec.data_dir)
            .arg("--namesrv-port")
            .arg(spec.namesrv_port.to_string())
            .arg("--broker-port")
            .arg(spec.broker_port.to_string());
        if let Some(c) = spec.config {
            cmd.arg("-c").arg(c);
        }
        // Plain text in the log file (tracing-subscriber colours its output unless NO_COLOR).
        cmd.env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", spec.binary.display()))?;
        let mut broker = BrokerProcess {
            pid: child.id(),
            child: Some(child),
            addr,
            data_dir: spec.data_dir.to_owned(),
            log: spec.log.to_owned(),
        };
        let deadline = Instant::now() + ready_timeout;
        loop {
            if let Some(status) = broker.exited()? {
                bail!(
                    "the broker exited during start-up ({status}); its log {}:\n{}",
                    broker.log.display(),
                    broker.log_tail(40)
                );
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(broker);
            }
            if Instant::now() >= deadline {
                bail!(
                    "the broker port {addr} did not accept within {ready_timeout:?}; log:\n{}",
                    broker.log_tail(40)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `Some(status)` once the process has exited.
    pub fn exited(&mut self) -> Result<Option<std::process::ExitStatus>> {
        match self.child.as_mut() {
            Some(c) => Ok(c.try_wait()?),
            None => bail!("the broker was already stopped"),
        }
    }

    /// Errors (with the log's tail) if the broker is no longer running.
    pub fn check_alive(&mut self) -> Result<()> {
        if let Some(status) = self.exited()? {
            bail!(
                "the broker died ({status}); its log {}:\n{}",
                self.log.display(),
                self.log_tail(60)
            );
        }
        Ok(())
    }

    /// The last `n` lines of the broker's log.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Lines of the log at WARN or ERROR level (at most `n`, the first ones).
    pub fn log_problems(&self, n: usize) -> Vec<String> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .map(strip_ansi)
            .filter(|l| l.contains(" WARN ") || l.contains(" ERROR ") || l.contains("panicked"))
            .take(n)
            .collect()
    }

    /// VmRSS and its parts.
    pub fn memory(&self) -> Memory {
        memory_of(self.pid)
    }

    /// User + system CPU seconds the broker has used so far.
    pub fn cpu_secs(&self) -> f64 {
        cpu_secs_of(self.pid)
    }

    /// Sends SIGTERM and waits up to `timeout` for a clean exit, then SIGKILL.
    pub fn stop(mut self, timeout: Duration) -> Result<String> {
        let Some(mut child) = self.child.take() else {
            return Ok("already stopped".into());
        };
        if let Some(status) = child.try_wait()? {
            return Ok(format!("had already exited: {status}"));
        }
        // SAFETY: kill(2) with a pid we spawned and still own (not yet reaped).
        unsafe {
            libc::kill(self.pid as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(format!("stopped by SIGTERM: {status}"));
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let status = child.wait()?;
                return Ok(format!(
                    "did not exit within {timeout:?} of SIGTERM; killed: {status}"
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `line` without ANSI escape sequences (`ESC [ … letter`).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// User + system CPU seconds process `pid` has used so far (0 once it is gone).
pub fn cpu_secs_of(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let ticks = crate::threads::parse_stat(&stat).map_or(0, |(_, t)| t);
    ticks as f64 / crate::threads::ticks_per_sec()
}

/// VmRSS and its parts of process `pid` (zeros once it is gone).
pub fn memory_of(pid: u32) -> Memory {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .unwrap_or(0)
    };
    Memory {
        vm_rss: field("VmRSS:"),
        rss_anon: field("RssAnon:"),
        rss_file: field("RssFile:"),
        rss_shmem: field("RssShmem:"),
        vm_hwm: field("VmHWM:"),
    }
}

/// Apparent size of every file under `dir`.
pub fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Disk space allocated to every file under `dir` (sparse CommitLog segments count only the
/// blocks they hold).
pub fn dir_allocated_bytes(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_allocated_bytes(&e.path()),
            Ok(m) => m.blocks() * 512,
            Err(_) => 0,
        })
        .sum()
}
