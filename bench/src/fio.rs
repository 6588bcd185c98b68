//! The disk reference: fio sequential writes into the benchmark's own directory.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::Serialize;

/// One fio measurement.
#[derive(Debug, Clone, Serialize)]
pub struct FioResult {
    pub job: String,
    pub block_size: String,
    pub fdatasync_every: u32,
    pub bytes: u64,
    pub bandwidth_bytes_per_sec: f64,
}

/// Sequential write of `size_mb` MiB with blocks of `bs`, buffered (`direct=0`); with
/// `fdatasync_every` > 0 an fdatasync follows every that many writes.
pub fn seq_write(dir: &Path, size_mb: u64, bs: &str, fdatasync_every: u32) -> Result<FioResult> {
    let file = dir.join("fio-seqwrite.dat");
    let job = if fdatasync_every == 0 {
        "seq-write-buffered".to_owned()
    } else {
        format!("seq-write-fdatasync-every-{fdatasync_every}")
    };
    let mut cmd = Command::new("fio");
    cmd.arg(format!("--name={job}"))
        .arg(format!("--filename={}", file.display()))
        .arg("--rw=write")
        .arg(format!("--bs={bs}"))
        .arg(format!("--size={size_mb}M"))
        .arg("--ioengine=psync")
        .arg("--direct=0")
        .arg("--end_fsync=0")
        .arg("--unlink=1")
        .arg("--output-format=json");
    if fdatasync_every > 0 {
        cmd.arg(format!("--fdatasync={fdatasync_every}"));
    }
    let out = cmd
        .output()
        .context("running fio (install it with bench/setup.sh)")?;
    if !out.status.success() {
        bail!("fio failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).context("parsing fio's JSON")?;
    let write = &v["jobs"][0]["write"];
    let bw = write["bw_bytes"]
        .as_f64()
        .context("fio JSON has no jobs[0].write.bw_bytes")?;
    let bytes = write["io_bytes"].as_u64().unwrap_or(size_mb << 20);
    let _ = std::fs::remove_file(&file);
    Ok(FioResult {
        job,
        block_size: bs.to_owned(),
        fdatasync_every,
        bytes,
        bandwidth_bytes_per_sec: bw,
    })
}
