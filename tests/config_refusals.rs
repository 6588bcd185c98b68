//! Fail closed: `sluice broker -c broker.conf` with a key that changes a guarantee sluice does not
//! implement exits non-zero, naming the key, before it serves anything.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `sluice broker -c` on `props` (plus a temporary store on any free port); returns the
/// exit status and stderr, or `None` if it was still running after 20 s (it was then killed).
fn run_broker(props: &str) -> Option<(std::process::ExitStatus, String)> {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("broker.conf");
    std::fs::write(
        &conf,
        format!(
            "listenPort=0\nbrokerIP1=127.0.0.1\nstorePathRootDir={}\n{props}",
            dir.path().join("store").display()
        ),
    )
    .unwrap();
    let mut child = Command::new(common::sluice_bin())
        .arg("broker")
        .arg("-c")
        .arg(&conf)
        .env("NAMESRV_ADDR", "127.0.0.1:1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut err);
            }
            return Some((status, err));
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn guarantee_keys_stop_the_broker_naming_the_key() {
    for (key, value) in [
        ("enableDLegerCommitLog", "true"),
        ("enableControllerMode", "true"),
        ("duplicationEnable", "true"),
        ("enableLmq", "true"),
        ("migrateAuthFromV1Enabled", "true"),
        ("storePathConsumeQueue", "/tmp/elsewhere/consumequeue"),
        ("storePathIndex", "/tmp/elsewhere/index"),
        ("storeCheckpoint", "/tmp/elsewhere/checkpoint"),
        ("abortFile", "/tmp/elsewhere/abort"),
    ] {
        let (status, stderr) = run_broker(&format!("{key}={value}\n"))
            .unwrap_or_else(|| panic!("{key}={value}: the broker started"));
        assert!(!status.success(), "{key}={value}: exit status {status}");
        assert!(
            stderr.contains(key),
            "{key}={value}: stderr does not name the key: {stderr}"
        );
    }
}
