//! A disk that fills up: on a small tmpfs the broker answers the send that does not fit
//! SERVICE_NOT_AVAILABLE (14, as Java does, so clients retry another broker), keeps serving every
//! acknowledged message, and takes sends again as soon as space returns. Needs `mount -t tmpfs`
//! (root); skipped with a message where mounting is refused.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use sluice::namesrv::NamesrvConfig;
use sluice::standalone::Standalone;
use sluice_remoting::codes::response;

/// A tmpfs mounted for the test's lifetime.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).ok()?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .ok()?;
        if !out.status.success() {
            eprintln!(
                "SKIPPED disk_full: cannot mount a tmpfs at {} ({}); run as root to test it",
                at.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return None;
        }
        Some(Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_disk_answers_service_not_available_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let Some(fs) = Tmpfs::mount(&dir.path().join("mnt"), "24m") else {
        return;
    };
    // Ballast that is deleted later to give the space back.
    let ballast = fs.0.join("ballast");
    std::fs::write(&ballast, vec![1u8; 6 << 20]).unwrap();

    let cfg = common::broker_config(
        &fs.0,
        "mappedFileSizeConsumeQueue=60000\nmessageIndexEnable=false\nautoCreateTopicEnable=true\n",
    );
    let ns = NamesrvConfig {
        listen_port: 0,
        ..NamesrvConfig::default()
    };
    let standalone = Standalone::start(cfg, ns).await.unwrap();
    let client = common::connect(standalone.broker_addr()).await;

    let body = "x".repeat(60 * 1024);
    let mut acked = 0usize;
    let mut refusal = None;
    for i in 0..1000 {
        let r = client
            .request(
                common::send_cmd("DiskFull", 0, &format!("{i:05}{body}"), ""),
                common::T,
            )
            .await
            .unwrap();
        if r.code == response::SUCCESS {
            acked += 1;
        } else {
            refusal = Some(r);
            break;
        }
    }
    let refusal = refusal.expect("24 MiB filled without a refusal");
    assert_eq!(
        refusal.code,
        response::SERVICE_NOT_AVAILABLE,
        "{:?}",
        refusal.remark
    );
    assert!(acked > 50, "only {acked} sends fit");

    // Every acknowledged message is still served, in order.
    let mut got = Vec::new();
    let mut offset = 0i64;
    while got.len() < acked {
        let r = client
            .request(common::pull_cmd("DiskFull", 0, offset, "*", 0), common::T)
            .await
            .unwrap();
        assert_eq!(r.code, response::SUCCESS, "pull at {offset}: {:?}", r.remark);
        let b = common::bodies(&r);
        assert!(!b.is_empty());
        offset += b.len() as i64;
        got.extend(b);
    }
    assert_eq!(got.len(), acked);
    for (i, b) in got.iter().enumerate() {
        assert!(b.starts_with(&format!("{i:05}")), "message {i} out of place");
    }

    // Space returns: sends are taken again.
    std::fs::remove_file(&ballast).unwrap();
    let mut resumed = false;
    for _ in 0..50 {
        let r = client
            .request(common::send_cmd("DiskFull", 0, "after", ""), common::T)
            .await
            .unwrap();
        if r.code == response::SUCCESS {
            resumed = true;
            break;
        }
        assert_eq!(r.code, response::SERVICE_NOT_AVAILABLE, "{:?}", r.remark);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(resumed, "sends did not resume once space returned");
    eprintln!(
        "disk_full: {acked} sends acked on a 24 MiB tmpfs, then code 14 ({:?}); resumed after freeing 6 MiB",
        refusal.remark
    );
    standalone.shutdown().await.unwrap();
    drop(fs);
}
