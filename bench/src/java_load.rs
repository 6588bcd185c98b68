//! The `java` load of `sluice-bench broker`: Apache RocketMQ's Java client (rocketmq-client
//! 4.9.8, `bench/java/…/Load.java`) sends through the target's NameServer as an application
//! does, in a JVM of its own. `bench/java-load.sh` builds it (Maven; offline once cached) and
//! names its classpath. The same shape as the wire load's producer mode: `producers` threads,
//! each with up to `inflight` sends outstanding (1: the synchronous `send`), `batch` messages
//! per send, closed loop; only sends started after the warm-up count. The JVM writes each
//! counted send's latency (µs) to a file this side reads into the same histogram the wire load
//! fills, so the two loads' figures are read alike.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

use anyhow::{anyhow, bail, Context, Result};

use crate::latency::Latencies;
use crate::load::{Live, Outcome, Plan};

/// The classpath `bench/java-load.sh` prints (built once per process).
fn classpath() -> Result<&'static str> {
    static CP: OnceLock<std::result::Result<String, String>> = OnceLock::new();
    let cp = CP.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("java-load.sh");
        eprintln!("load java: building the Java client load ({})…", script.display());
        let out = Command::new("bash")
            .arg(&script)
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("running {}: {e}", script.display()))?;
        if !out.status.success() {
            return Err(format!("{} failed ({})", script.display(), out.status));
        }
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("JAVA_LOAD_CP=").map(str::to_owned))
            .ok_or_else(|| format!("{} printed no JAVA_LOAD_CP=…", script.display()))
    });
    cp.as_deref().map_err(|e| anyhow!("{e}"))
}

/// What the JVM's `done` line says.
#[derive(Debug, PartialEq)]
struct Done {
    msgs: u64,
    requests: u64,
    errors: u64,
    elapsed_secs: f64,
    sent_total: u64,
}

fn parse_done(line: &str) -> Result<Done> {
    let f: Vec<&str> = line.split_whitespace().collect();
    let [_, msgs, requests, errors, elapsed, sent] = f.as_slice() else {
        bail!("a done line of 6 fields, got {line:?}");
    };
    Ok(Done {
        msgs: msgs.parse()?,
        requests: requests.parse()?,
        errors: errors.parse()?,
        elapsed_secs: elapsed.parse()?,
        sent_total: sent.parse()?,
    })
}

/// The latency file: big-endian u64 microseconds.
fn read_latencies(bytes: &[u8]) -> Latencies {
    let mut l = Latencies::new();
    for chunk in bytes.chunks_exact(8) {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        l.record_us(i64::try_from(u64::from_be_bytes(b)).unwrap_or(i64::MAX));
    }
    l
}

/// Runs the Java producer load against the broker behind `namesrv`; `live` follows its
/// progress lines.
pub fn run(plan: &Plan, namesrv: SocketAddr, live: Arc<Live>) -> Result<Outcome> {
    let p = &plan.point;
    let cp = classpath()?;
    let dir = tempfile::Builder::new()
        .prefix("sluice-bench-java-load-")
        .tempdir()?;
    let lat_path = dir.path().join("latencies.bin");
    let java = std::env::var_os("JAVA").unwrap_or_else(|| "java".into());
    // The client's own log goes under the temporary directory, not ~/logs.
    let log_root = format!("-Drocketmq.client.logRoot={}", dir.path().display());
    let mut child = Command::new(java)
        .args([
            "-Xms256m",
            "-Xmx1g",
            "-XX:+UseG1GC",
            &log_root,
            "-cp",
            cp,
            "sluice.bench.Load",
        ])
        .arg("--namesrv")
        .arg(namesrv.to_string())
        .arg("--topics")
        .arg(plan.topics.join(","))
        .args(["--threads", &p.producers.to_string()])
        .args(["--inflight", &p.inflight.to_string()])
        .args(["--batch", &p.batch.to_string()])
        .args(["--size", &p.size.to_string()])
        .args(["--warmup-ms", &plan.warmup.as_millis().to_string()])
        .args(["--duration-ms", &plan.duration.as_millis().to_string()])
        .arg("--latencies")
        .arg(&lat_path)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting the Java client load (java on PATH, or $JAVA)")?;
    let stdout = child.stdout.take().context("the load's stdout")?;
    let stderr = child.stderr.take().context("the load's stderr")?;
    let err_tail = std::thread::spawn(move || {
        let mut tail: Vec<String> = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(|l| l.ok()) {
            tail.push(line);
            if tail.len() > 30 {
                tail.remove(0);
            }
        }
        tail.join("\n")
    });
    let mut done = None;
    let mut first_error = None;
    for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
        if let Some(rest) = line.strip_prefix("progress ") {
            let mut f = rest.split_whitespace().map(|v| v.parse::<u64>().unwrap_or(0));
            live.sent.store(f.next().unwrap_or(0), Ordering::Relaxed);
            live.errors.store(f.next().unwrap_or(0), Ordering::Relaxed);
        } else if line.starts_with("done ") {
            done = Some(parse_done(&line)?);
        } else if let Some(e) = line.strip_prefix("first-error ") {
            first_error = Some(e.to_owned());
        }
    }
    let status = child.wait()?;
    let tail = err_tail.join().unwrap_or_default();
    let Some(d) = done.filter(|_| status.success()) else {
        bail!("the Java client load failed ({status}):\n{tail}");
    };
    live.sent.store(d.sent_total, Ordering::Relaxed);
    let bytes = std::fs::read(&lat_path).with_context(|| format!("reading {}", lat_path.display()))?;
    Ok(Outcome {
        elapsed_secs: d.elapsed_secs,
        msgs: d.msgs,
        requests: d.requests,
        errors: d.errors,
        first_error,
        latencies: read_latencies(&bytes),
        latency_kind: "send",
        consumed: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_done_line_and_the_latency_file() {
        let d = parse_done("done 300 300 2 10.004 321").unwrap();
        assert_eq!(
            d,
            Done {
                msgs: 300,
                requests: 300,
                errors: 2,
                elapsed_secs: 10.004,
                sent_total: 321
            }
        );
        assert!(parse_done("done 1 2").is_err());
        let mut bytes = Vec::new();
        for us in [100u64, 200, 300, 400] {
            bytes.extend_from_slice(&us.to_be_bytes());
        }
        let l = read_latencies(&bytes);
        assert_eq!(l.len(), 4);
        assert!((l.quantile_us(0.5) - 200).abs() <= 1, "{}", l.quantile_us(0.5));
    }
}
