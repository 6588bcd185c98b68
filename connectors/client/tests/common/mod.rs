//! Starts the real `sluice standalone` for the integration tests.
//!
//! The binary belongs to another crate of the workspace, so `CARGO_BIN_EXE_*` is not
//! available: it is built once per test binary with `cargo build --bin sluice` (same
//! `CARGO_TARGET_DIR`), or taken from `SLUICE_BIN`. Each broker gets free loopback ports and a
//! temporary data directory and is killed when dropped.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
static SERIAL: Mutex<()> = Mutex::new(());

fn workspace_root() -> PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned()))
        .join("../..")
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

fn build_binary() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("SLUICE_BIN") {
        return Ok(PathBuf::from(p));
    }
    let bin = target_dir().join("debug/sluice");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--quiet", "--bin", "sluice"])
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() && !bin.exists() {
        return Err(format!("cargo build --bin sluice failed ({status})"));
    }
    if !status.success() {
        eprintln!(
            "cargo build --bin sluice failed; using the existing {}",
            bin.display()
        );
    }
    Ok(bin)
}

/// An ephemeral loopback port whose neighbours P-2 (VIP channel) and P+1 (HA) can be bound too.
pub fn free_port() -> u16 {
    let bindable = |p: u16| TcpListener::bind(("127.0.0.1", p)).is_ok();
    (0..200)
        .filter_map(|_| TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok())
        .map(|a| a.port())
        .find(|&p| (1027..65534).contains(&p) && bindable(p - 2) && bindable(p + 1))
        .expect("no free loopback port")
}

fn accepts(port: u16) -> bool {
    TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(300),
    )
    .is_ok()
}

/// A running `sluice standalone`; tests holding one run one at a time.
pub struct Broker {
    child: Child,
    pub namesrv: String,
    _dir: tempfile::TempDir,
    _serial: MutexGuard<'static, ()>,
}

impl Broker {
    /// Starts a broker with the given broker.conf lines.
    pub fn start(conf: &str) -> Broker {
        let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let bin = match BINARY.get_or_init(build_binary) {
            Ok(b) => b.clone(),
            Err(e) => panic!("{e}"),
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let np = free_port();
        let mut bp = free_port();
        while bp.abs_diff(np) <= 2 {
            bp = free_port();
        }
        let conf_path = dir.path().join("broker.conf");
        std::fs::write(&conf_path, conf).expect("write conf");
        let log = std::fs::File::create(dir.path().join("broker.log")).expect("log");
        let child = Command::new(&bin)
            .arg("standalone")
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("--namesrv-port")
            .arg(np.to_string())
            .arg("--broker-port")
            .arg(bp.to_string())
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", bin.display()));
        let mut broker = Broker {
            child,
            namesrv: format!("127.0.0.1:{np}"),
            _dir: dir,
            _serial: serial,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !(accepts(np) && accepts(bp)) {
            if let Ok(Some(status)) = broker.child.try_wait() {
                panic!("sluice exited at start-up ({status})");
            }
            assert!(Instant::now() < deadline, "broker did not start within 30 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        // Registration with the in-process NameServer.
        std::thread::sleep(Duration::from_millis(500));
        broker
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
