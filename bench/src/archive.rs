//! The archive benchmark: how fast a sealed CommitLog segment becomes Parquet, against how fast
//! the same segment file can merely be read sequentially (same run, same file, same cache
//! state), and how large the Parquet file is against the segment.
//!
//! A store with `--segment-mb` segments is filled with order-like messages (topics, tags, keys,
//! UNIQ_KEY, JSON-ish bodies of `--body` bytes with random fields) until its first segment is
//! sealed. Then, `--runs` times: the segment's pages are dropped from the page cache
//! (`posix_fadvise(DONTNEED)`), it is read sequentially (1 MiB reads), dropped again and
//! exported (fsync of the Parquet file included); then both again with the file cached.

use std::fs::File;
use std::io::Read;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::report;
use anyhow::{Context, Result};
use bytes::Bytes;
use clap::Parser;
use serde::Serialize;
use sluice_parquet::{export_segment, ExportOptions};
use sluice_storage::{MessageStore, MessageToStore, StoreConfig};

use crate::machine;

#[derive(Parser, Debug, Clone)]
pub struct Args {
    /// Directory for the store and the Parquet files. Default: a temp dir.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Segment size in MiB (mappedFileSizeCommitLog).
    #[arg(long, default_value_t = 256)]
    segment_mb: u64,
    /// Body size in bytes.
    #[arg(long, default_value_t = 1024)]
    body: usize,
    /// Bodies: `json` (text with random fields) or `random` (incompressible bytes).
    #[arg(long, default_value = "json")]
    bodies: String,
    /// Measurements of each kind; the table shows the median.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Where the JSON report goes. Default: bench/out/archive-<unix time>.json.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
struct Report {
    bench: &'static str,
    machine: machine::Machine,
    segment_bytes: u64,
    records: u64,
    body_bytes: usize,
    bodies: String,
    parquet_bytes: u64,
    /// MB/s (10^6 bytes of segment per second), per run.
    raw_cold: Vec<f64>,
    export_cold: Vec<f64>,
    raw_warm: Vec<f64>,
    export_warm: Vec<f64>,
}

/// A small deterministic generator (xorshift64*), enough for message contents.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn body(g: &mut Gen, size: usize, kind: &str) -> Vec<u8> {
    if kind == "random" {
        return (0..size).map(|_| g.next() as u8).collect();
    }
    let mut s = format!(
        r#"{{"order":{},"user":"u-{}","amount":{}.{:02},"currency":"EUR","status":"{}","items":["#,
        g.next() % 100_000_000,
        g.next() % 1_000_000,
        g.next() % 10_000,
        g.next() % 100,
        ["NEW", "PAID", "SHIPPED", "CANCELLED"][(g.next() % 4) as usize]
    );
    while s.len() + 40 < size {
        s.push_str(&format!(
            r#"{{"sku":"SKU-{:06}","qty":{}}},"#,
            g.next() % 1_000_000,
            g.next() % 9 + 1
        ));
    }
    s.push_str(r#"{}]}"#);
    let mut b = s.into_bytes();
    b.resize(size, b' ');
    b
}

fn message(g: &mut Gen, i: u64, size: usize, kind: &str) -> MessageToStore {
    let topic = ["orders", "payments", "shipments", "audit"][(i % 4) as usize];
    let tag = ["created", "paid", "shipped", "cancelled", "refunded"][(g.next() % 5) as usize];
    MessageToStore {
        topic: topic.into(),
        queue_id: (i % 8) as u32,
        flag: 0,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000 + i as i64,
        born_host: "10.0.0.17:53412".parse().expect("literal address"),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::from(body(g, size, kind)),
        properties: format!(
            "KEYS\u{1}order-{}\u{2}UNIQ_KEY\u{1}0A00001100002A9F{:016X}\u{2}TAGS\u{1}{tag}\u{2}WAIT\u{1}true\u{2}",
            g.next() % 100_000_000,
            i
        ),
    }
}

fn drop_cache(path: &Path) -> Result<()> {
    let f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    // SAFETY: fadvise on a descriptor we own; a hint that drops the file's clean cached pages.
    let rc = unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    anyhow::ensure!(rc == 0, "posix_fadvise failed: {rc}");
    Ok(())
}

/// Seconds to read `path` sequentially, 1 MiB at a time.
fn read_sequentially(path: &Path) -> Result<f64> {
    let mut f = File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let start = Instant::now();
    let mut sum = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        sum = sum.wrapping_add(u64::from(buf[n - 1]));
    }
    std::hint::black_box(sum);
    Ok(start.elapsed().as_secs_f64())
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    s.get(s.len() / 2).copied().unwrap_or(0.0)
}

pub fn run(args: Args) -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let dir = args.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    let data = dir.join("store");
    let config = StoreConfig {
        store_path_root_dir: data.clone(),
        mapped_file_size_commit_log: args.segment_mb << 20,
        // The bench never queries by key: small IndexFiles (the default reserves 420 MB).
        max_hash_slot_num: 100_000,
        max_index_num: 400_000,
        ..StoreConfig::default()
    };
    eprintln!(
        "filling a {} MiB segment with {} B {} bodies…",
        args.segment_mb, args.body, args.bodies
    );
    let store = MessageStore::open(config).context("opening the store")?;
    let mut g = Gen(0x9E37_79B9_7F4A_7C15);
    let mut i = 0u64;
    while store.commitlog().segments().len() < 2 {
        let group: Vec<Vec<MessageToStore>> = (0..256)
            .map(|k| vec![message(&mut g, i + k, args.body, &args.bodies)])
            .collect();
        i += 256;
        store.append(&group)?;
    }
    let segment = store.commitlog().segments()[0].path().to_path_buf();
    store.close()?;
    drop(store);
    File::open(&segment)?.sync_all()?;
    let size = std::fs::metadata(&segment)?.len();
    let out_dir = dir.join("archive");
    let opts = ExportOptions::default();
    let mut report = Report {
        bench: "archive",
        machine: machine::describe(),
        segment_bytes: 0,
        records: 0,
        body_bytes: args.body,
        bodies: args.bodies.clone(),
        parquet_bytes: 0,
        raw_cold: Vec::new(),
        export_cold: Vec::new(),
        raw_warm: Vec::new(),
        export_warm: Vec::new(),
    };
    let export = |report: &mut Report| -> Result<f64> {
        let start = Instant::now();
        let stats = export_segment(&segment, &out_dir, &opts, &mut |_| true)?;
        let secs = start.elapsed().as_secs_f64();
        report.segment_bytes = stats.segment_bytes;
        report.records = stats.records;
        report.parquet_bytes = stats.file_bytes;
        Ok(stats.segment_bytes as f64 / secs / 1e6)
    };
    for run in 0..args.runs.max(1) {
        drop_cache(&segment)?;
        report
            .raw_cold
            .push(size as f64 / read_sequentially(&segment)? / 1e6);
        drop_cache(&segment)?;
        let cold = export(&mut report)?;
        report.export_cold.push(cold);
        report
            .raw_warm
            .push(size as f64 / read_sequentially(&segment)? / 1e6);
        let warm = export(&mut report)?;
        report.export_warm.push(warm);
        eprintln!(
            "run {}: raw cold {:.0} MB/s, export cold {:.0} MB/s, raw warm {:.0} MB/s, export warm {:.0} MB/s",
            run + 1,
            report.raw_cold[run],
            cold,
            report.raw_warm[run],
            warm
        );
    }
    let (rc, ec, rw, ew) = (
        median(&report.raw_cold),
        median(&report.export_cold),
        median(&report.raw_warm),
        median(&report.export_warm),
    );
    println!(
        "segment {} MiB file, {} MB of {} records ({} B {} bodies) → Parquet {} MB = {:.1} % of the segment's records",
        size >> 20,
        report.segment_bytes / 1_000_000,
        report.records,
        args.body,
        args.bodies,
        report.parquet_bytes / 1_000_000,
        report.parquet_bytes as f64 * 100.0 / report.segment_bytes.max(1) as f64
    );
    println!(
        "{:<22} {:>10} {:>10} {:>8}",
        "median of runs", "raw read", "export", "ratio"
    );
    println!(
        "{:<22} {:>7.0} MB/s {:>5.0} MB/s {:>7.1} %",
        "page cache dropped",
        rc,
        ec,
        ec * 100.0 / rc
    );
    println!(
        "{:<22} {:>7.0} MB/s {:>5.0} MB/s {:>7.1} %",
        "page cache warm",
        rw,
        ew,
        ew * 100.0 / rw
    );
    println!(
        "export: {:.0} k records/s (warm)",
        report.records as f64 / (report.segment_bytes as f64 / (ew * 1e6)) / 1e3
    );
    let out = report::report_path(args.out, "archive", report::unix_now())?;
    std::fs::write(&out, serde_json::to_vec_pretty(&report)?)?;
    eprintln!("report: {}", out.display());
    Ok(())
}
