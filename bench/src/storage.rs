//! The storage benchmark: CommitLog append throughput by record size, flush mode and group size,
//! each printed beside fio's buffered sequential write measured in the same run.
//!
//! A "group" is what the broker pipeline appends per epoch: `group` records encoded into one
//! buffer and written with one `pwrite`. Under SYNC_FLUSH a group counts only once the flusher
//! reports it durable; up to `--sync-window` groups may wait for their fdatasync while the next
//! ones are appended (the hand-over the pipeline uses), `--sync-window 1` is strictly serial.

use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::report;
use anyhow::{Context, Result};
use bytes::Bytes;
use clap::Parser;
use serde::Serialize;
use sluice_storage::{FlushDiskType, MessageStore, MessageToStore, StoreConfig};

use crate::fio::{self, FioResult};
use crate::machine;

#[derive(Parser, Debug, Clone)]
pub struct Args {
    /// Directory on the disk under test (fio writes there too). Default: target/bench-storage.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Record body sizes in bytes.
    #[arg(long, value_delimiter = ',', default_values_t = [128usize, 1024, 16384])]
    sizes: Vec<usize>,
    /// Records per group (one write per group).
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 16, 256, 1024])]
    groups: Vec<usize>,
    /// Flush modes to run: async, sync.
    #[arg(long, value_delimiter = ',', default_values = ["async", "sync"])]
    modes: Vec<String>,
    /// Stop a run after this many MiB appended...
    #[arg(long, default_value_t = 1024)]
    max_mb: u64,
    /// ...or after this many seconds.
    #[arg(long, default_value_t = 3.0)]
    max_secs: f64,
    /// Runs per configuration; the report keeps the median run (by MB/s) and the spread.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// SYNC_FLUSH groups that may await their fdatasync while later ones are appended.
    #[arg(long, default_value_t = 4)]
    sync_window: usize,
    /// CommitLog segment size (mappedFileSizeCommitLog).
    #[arg(long, default_value_t = 1 << 30)]
    segment_size: u64,
    /// MiB fio writes for the reference (default: --max-mb, the most a run writes).
    #[arg(long)]
    fio_mb: Option<u64>,
    /// Where the JSON report goes. Default: bench/out/storage-<unix time>.json.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
struct RunResult {
    record_size: usize,
    encoded_record_bytes: usize,
    flush: &'static str,
    group: usize,
    sync_window: usize,
    records: u64,
    bytes: u64,
    seconds: f64,
    mb_per_sec: f64,
    records_per_sec: f64,
    fdatasync_rounds: u64,
    ratio_to_fio_buffered: f64,
    /// MB/s of every repetition, the median above.
    mb_per_sec_runs: Vec<f64>,
}

#[derive(Debug, Serialize)]
struct Report {
    benchmark: &'static str,
    machine: machine::Machine,
    parameters: serde_json::Value,
    fio: Vec<FioResult>,
    fio_buffered_reference_bytes_per_sec: f64,
    runs: Vec<RunResult>,
}

fn message(size: usize, i: usize) -> MessageToStore {
    MessageToStore {
        topic: "BenchTopic".into(),
        queue_id: (i % 8) as u32,
        flag: 0,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: "127.0.0.1:50000".parse().expect("literal address"),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::from(vec![b'x'; size]),
        properties: format!("UNIQ_KEY\u{1}7F000001000000000000000000{i:06}\u{2}WAIT\u{1}true\u{2}"),
    }
}

fn one_run(
    dir: &std::path::Path,
    args: &Args,
    size: usize,
    mode: FlushDiskType,
    group: usize,
) -> Result<RunResult> {
    let store_dir = dir.join("store");
    let _ = std::fs::remove_dir_all(&store_dir);
    settle();
    let mut cfg = StoreConfig {
        store_path_root_dir: store_dir.clone(),
        flush_disk_type: mode,
        mapped_file_size_commit_log: args.segment_size,
        message_index_enable: false,
        ..StoreConfig::default()
    };
    cfg.set("flushIntervalCommitLog", "500")?;
    let store = MessageStore::open(cfg)?;
    let units: Vec<Vec<MessageToStore>> = (0..group).map(|i| vec![message(size, i)]).collect();
    let max_bytes = args.max_mb << 20;
    let max_time = Duration::from_secs_f64(args.max_secs);
    let start_syncs = store.flusher().sync_rounds();
    let start = Instant::now();
    let mut records = 0u64;
    let mut encoded = 0usize;
    let mut window: VecDeque<u64> = VecDeque::new();
    let begin = store.commitlog().write_pos();
    loop {
        let out = store.append(&units)?;
        for u in &out.units {
            let a = u.as_ref().map_err(|e| anyhow::anyhow!("append refused: {e}"))?;
            encoded = a[0].size as usize;
        }
        records += group as u64;
        if mode == FlushDiskType::SyncFlush {
            store.flusher().request(out.end_offset);
            window.push_back(out.end_offset);
            while window.len() >= args.sync_window.max(1) {
                let oldest = window.pop_front().unwrap_or(0);
                store.flusher().wait_durable(oldest, Duration::from_secs(30))?;
            }
        }
        if out.end_offset - begin >= max_bytes || start.elapsed() >= max_time {
            if let Some(&last) = window.back() {
                store.flusher().wait_durable(last, Duration::from_secs(30))?;
            }
            break;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let bytes = store.commitlog().write_pos() - begin;
    let syncs = store.flusher().sync_rounds() - start_syncs;
    store.close()?;
    drop(store);
    std::fs::remove_dir_all(&store_dir).context("removing the run's store")?;
    Ok(RunResult {
        record_size: size,
        encoded_record_bytes: encoded,
        flush: match mode {
            FlushDiskType::AsyncFlush => "ASYNC_FLUSH",
            FlushDiskType::SyncFlush => "SYNC_FLUSH",
        },
        group,
        sync_window: if mode == FlushDiskType::SyncFlush {
            args.sync_window
        } else {
            0
        },
        records,
        bytes,
        seconds: secs,
        mb_per_sec: bytes as f64 / secs / 1e6,
        records_per_sec: records as f64 / secs,
        fdatasync_rounds: syncs,
        ratio_to_fio_buffered: 0.0,
        mb_per_sec_runs: Vec::new(),
    })
}

/// Writes back every dirty page so each measurement starts from the same page-cache state.
pub fn settle() {
    let _ = std::process::Command::new("sync").status();
}

fn human_size(n: usize) -> String {
    if n >= 1024 && n.is_multiple_of(1024) {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} B")
    }
}

pub fn run(args: Args) -> Result<()> {
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("target/bench-storage"));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let modes: Vec<FlushDiskType> = args
        .modes
        .iter()
        .map(|m| match m.to_ascii_lowercase().as_str() {
            "async" | "async_flush" => Ok(FlushDiskType::AsyncFlush),
            "sync" | "sync_flush" => Ok(FlushDiskType::SyncFlush),
            other => Err(anyhow::anyhow!("unknown flush mode {other:?} (async, sync)")),
        })
        .collect::<Result<_>>()?;
    let total = args.sizes.len() * modes.len() * args.groups.len();
    eprintln!(
        "storage bench in {}: {total} runs, fio reference before and after",
        dir.display()
    );

    let fio_mb = args.fio_mb.unwrap_or(args.max_mb);
    eprintln!("[fio] buffered sequential write, {fio_mb} MiB, bs=1M ...");
    settle();
    let mut fio_results = vec![fio::seq_write(&dir, fio_mb, "1M", 0)?];
    eprintln!("[fio] sequential write with fdatasync every 256 KiB ...");
    settle();
    fio_results.push(fio::seq_write(&dir, 256, "256k", 1)?);

    let mut runs = Vec::new();
    let mut n = 0;
    let half = total / 2;
    for &size in &args.sizes {
        for &mode in &modes {
            for &group in &args.groups {
                n += 1;
                eprint!("[{n}/{total}] {} {:?} group {group} ... ", human_size(size), mode);
                std::io::stderr().flush().ok();
                let mut reps = Vec::new();
                for _ in 0..args.repeat.max(1) {
                    reps.push(one_run(&dir, &args, size, mode, group)?);
                }
                let all: Vec<f64> = reps.iter().map(|r| r.mb_per_sec).collect();
                reps.sort_by(|a, b| a.mb_per_sec.total_cmp(&b.mb_per_sec));
                let mut r = reps.swap_remove(reps.len() / 2);
                r.mb_per_sec_runs = all;
                eprintln!(
                    "{:.0} MB/s, {:.0} rec/s (median of {:?})",
                    r.mb_per_sec,
                    r.records_per_sec,
                    r.mb_per_sec_runs.iter().map(|v| v.round()).collect::<Vec<_>>()
                );
                runs.push(r);
                if n == half {
                    eprintln!("[fio] buffered sequential write (mid-run) ...");
                    settle();
                    fio_results.push(fio::seq_write(&dir, fio_mb, "1M", 0)?);
                }
            }
        }
    }
    eprintln!("[fio] buffered sequential write again ...");
    settle();
    fio_results.push(fio::seq_write(&dir, fio_mb, "1M", 0)?);
    let buffered: Vec<f64> = fio_results
        .iter()
        .filter(|f| f.fdatasync_every == 0)
        .map(|f| f.bandwidth_bytes_per_sec)
        .collect();
    // The median: buffered fio swings with the page cache's writeback state (seen here: 0.8 to
    // 5.6 GB/s within one run), and the median of the three spread-out runs resists that.
    let mut sorted = buffered.clone();
    sorted.sort_by(f64::total_cmp);
    let reference = sorted.get(sorted.len() / 2).copied().unwrap_or(1.0);
    for r in &mut runs {
        r.ratio_to_fio_buffered = r.mb_per_sec * 1e6 / reference;
    }

    println!();
    for f in &fio_results {
        println!(
            "fio {:<34} bs={:<5} {:>8.0} MB/s",
            f.job,
            f.block_size,
            f.bandwidth_bytes_per_sec / 1e6
        );
    }
    println!(
        "reference (median of buffered fio runs): {:.0} MB/s",
        reference / 1e6
    );
    println!();
    println!("| record | flush | group | MB/s (median) | records/s | fdatasyncs | vs fio buffered | MB/s of each run |");
    println!("|---|---|---|---:|---:|---:|---:|---|");
    for r in &runs {
        println!(
            "| {} | {}{} | {} | {:.0} | {:.0} | {} | {:.2} | {} |",
            human_size(r.record_size),
            r.flush,
            if r.sync_window > 0 {
                format!(" (window {})", r.sync_window)
            } else {
                String::new()
            },
            r.group,
            r.mb_per_sec,
            r.records_per_sec,
            r.fdatasync_rounds,
            r.ratio_to_fio_buffered,
            r.mb_per_sec_runs
                .iter()
                .map(|v| format!("{v:.0}"))
                .collect::<Vec<_>>()
                .join(" / ")
        );
    }
    let report = Report {
        benchmark: "storage-append",
        machine: machine::describe(),
        parameters: serde_json::json!({
            "sizes": args.sizes, "groups": args.groups, "modes": args.modes,
            "max_mb": args.max_mb, "max_secs": args.max_secs, "sync_window": args.sync_window, "repeat": args.repeat,
            "segment_size": args.segment_size, "fio_mb": fio_mb,
        }),
        fio: fio_results,
        fio_buffered_reference_bytes_per_sec: reference,
        runs,
    };
    let out = report::report_path(args.out.clone(), "storage", report::unix_now())?;
    std::fs::write(&out, serde_json::to_vec_pretty(&report)?)?;
    println!("\nreport: {}", out.display());
    Ok(())
}
