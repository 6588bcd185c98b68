//! notebooks/throughput.ipynb executed headless on a small report written through the bench's
//! own report module: the notebook must read the schema `sluice-bench broker` writes and draw
//! its curves. Installs the notebooks' venv first (notebooks/setup.sh, under ~/.cache/sluice/).

use std::path::{Path, PathBuf};
use std::process::Command;

use sluice_bench::machine;
use sluice_bench::report::{BrokerReport, Latency, Point, References, RunResult, CLIENT, SCHEMA};

fn repo() -> PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned()))
        .parent()
        .expect("bench/ has a parent")
        .to_owned()
}

fn run(target: &str, producers: usize, msgs_per_sec: f64, p99_ms: f64) -> RunResult {
    let point = Point {
        producers,
        ..Point::default()
    };
    RunResult {
        target: target.into(),
        elapsed_secs: 2.0,
        msgs: (msgs_per_sec * 2.0) as u64,
        requests: (msgs_per_sec * 2.0) as u64,
        errors: 0,
        first_error: None,
        msgs_per_sec,
        mb_per_sec: msgs_per_sec * point.size as f64 / 1e6,
        latency_kind: "send".into(),
        latency: Latency {
            samples: 1000,
            mean_ms: p99_ms / 3.0,
            p50_ms: p99_ms / 4.0,
            p90_ms: p99_ms / 2.0,
            p99_ms,
            p999_ms: p99_ms * 2.0,
            max_ms: p99_ms * 3.0,
        },
        consumed: 0,
        broker_cpu_secs: 1.5,
        broker_peak_rss_bytes: 64 << 20,
        broker_peak_rss_anon_bytes: 40 << 20,
        round: 0,
        start_to_first_ack_secs: None,
        cpu_by_thread: Vec::new(),
        point,
    }
}

fn synthetic_report() -> BrokerReport {
    BrokerReport {
        schema: SCHEMA.into(),
        bench: "broker".into(),
        unix: 1_700_000_000,
        commit: "synthetic".into(),
        machine: machine::describe(),
        client: CLIENT.into(),
        client_detail: "synthetic report written by bench/tests/notebook.rs".into(),
        args: vec!["sluice-bench".into(), "broker".into()],
        targets: vec!["sluice".into(), "null".into(), "rocketmq-rust".into()],
        duration_secs: 2.0,
        warmup_secs: 0.5,
        references: References {
            fio_seq_write_bytes_per_sec: Some(400e6),
            fio_detail: Some("synthetic".into()),
            iperf3_loopback_bytes_per_sec: Some(3e9),
            iperf3_detail: Some("synthetic".into()),
        },
        runs: vec![
            run("sluice", 1, 6_000.0, 0.3),
            run("sluice", 16, 25_000.0, 1.4),
            run("null", 1, 22_000.0, 0.1),
            run("null", 16, 38_000.0, 0.9),
            run("rocketmq-rust", 1, 700.0, 2.0),
            run("rocketmq-rust", 16, 1_500.0, 14.0),
        ],
        failures: Vec::new(),
        notes: vec!["synthetic".into()],
        svg: None,
    }
}

#[test]
fn throughput_notebook_executes_on_a_generated_report() {
    let dir = tempfile::tempdir().expect("temp dir");
    let report = synthetic_report();
    let path = report.write(dir.path()).expect("writing the report");
    let back = BrokerReport::read(&path).expect("reading it back");
    assert_eq!(back.runs.len(), 6);

    let notebook = repo().join("notebooks/throughput.ipynb");
    let plot = dir.path().join("throughput.png");
    // Installs the venv, then executes every cell; a cell that raises fails the run.
    let out = Command::new(repo().join("notebooks/run.sh"))
        .arg(&notebook)
        .arg("120")
        .env("BENCH_REPORTS", dir.path())
        .env("BENCH_PLOT", &plot)
        .env("MPLBACKEND", "Agg")
        .output()
        .expect("running the notebook");
    assert!(
        out.status.success(),
        "the notebook failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let size = std::fs::metadata(&plot).map(|m| m.len()).unwrap_or(0);
    assert!(size > 1000, "the notebook drew no plot at {}", plot.display());
}
