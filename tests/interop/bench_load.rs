//! `sluice bench broker --load java` (issue #12's targets: the Java client as the benchmark's
//! load): a short run against sluice with the Java client sending synchronously and in batches,
//! the JSON report read back. The figures are not judged here (that is the benchmark's job, as
//! ratios in the same run); what is checked is that the load ran, nothing failed, and every
//! counted send has its latency.

use std::process::Command;

use serde_json::Value;

use crate::harness::{free_port, serial, sluice_bin, TempDir};

#[test]
fn java_client_load_against_sluice() {
    let test = "java_client_load_against_sluice";
    let Some(_lock) = serial(test) else {
        return;
    };
    let tmp = TempDir::new(test);
    let port = || free_port().to_string();
    let out = Command::new(sluice_bin())
        .args([
            "bench",
            "broker",
            "--load",
            "java",
            "--targets",
            "sluice",
            "--no-references",
        ])
        .args([
            "--producers",
            "4",
            "--duration",
            "2",
            "--warmup",
            "0.5",
            "--sweep",
            "batch=1,8",
        ])
        .args(["--sluice-namesrv-port", &port(), "--sluice-broker-port", &port()])
        .args([
            "--null-port",
            &port(),
            "--peer-broker-port",
            &port(),
            "--peer-namesrv-port",
            &port(),
        ])
        .arg("--out-dir")
        .arg(&tmp.0)
        .output()
        .expect("run sluice bench broker");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "sluice bench broker --load java failed:\n{text}"
    );
    let report = std::fs::read_dir(&tmp.0)
        .expect("out dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .unwrap_or_else(|| panic!("no JSON report in {}:\n{text}", tmp.0.display()));
    let v: Value =
        serde_json::from_slice(&std::fs::read(&report).expect("read report")).expect("JSON report");
    assert!(
        v["client"].as_str().is_some_and(|c| c.contains("Java client")),
        "client {}",
        v["client"]
    );
    // A compiler busy beside the run is recorded there too; it is not the load's failure.
    let failures: Vec<&Value> = v["failures"]
        .as_array()
        .expect("failures")
        .iter()
        .filter(|f| !f.as_str().is_some_and(|f| f.starts_with("rustc was running")))
        .collect();
    assert!(failures.is_empty(), "failures: {failures:?}\n{text}");
    let runs = v["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 2, "one run per batch size:\n{text}");
    for r in runs {
        let batch = r["point"]["batch"].as_u64().expect("batch");
        let (msgs, requests) = (
            r["msgs"].as_u64().unwrap_or(0),
            r["requests"].as_u64().unwrap_or(0),
        );
        assert_eq!(r["point"]["load"], "java", "{r}");
        assert_eq!(r["errors"], 0, "{r}");
        assert!(requests > 0, "no send counted: {r}");
        assert_eq!(msgs, requests * batch, "{r}");
        assert_eq!(r["latency"]["samples"].as_u64(), Some(requests), "{r}");
        assert!(r["latency"]["p50_ms"].as_f64().is_some_and(|p| p > 0.0), "{r}");
    }
    eprintln!("interop: bench --load java: {text}");
}
