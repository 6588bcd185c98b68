//! sluice benchmarks. `sluice-bench storage` measures CommitLog append throughput against the
//! same machine's sequential-write bandwidth (fio), measured in the same run. `sluice-bench
//! schedule` drives the real `sluice standalone` over the wire: delay-level and timer lateness
//! under load, memory with a million pending timers, transactional against plain produce.
//! `sluice-bench broker` (also `sluice bench broker`) sweeps producer / consumer / end-to-end
//! load over sluice, the null broker and the rocketmq-rust broker, with fio and iperf3 as
//! references (`sweep.rs`). `sluice-bench archive` measures exporting a sealed segment to
//! Parquet against reading the same file sequentially (`archive.rs`). `sluice-bench analytics`
//! measures analytics freshness and produce throughput with a heavy analytic attached
//! (`analytics.rs`).

mod analytics;
mod archive;
mod broker;
mod fio;
mod load;
mod null_broker;
mod schedule;
mod storage;
mod sweep;
mod targets;
mod wire;

use sluice_bench::{latency, machine, plot, report};

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "sluice-bench",
    about = "sluice benchmarks, each with a reference measured in the same run"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// CommitLog append throughput (MB/s, records/s) for record sizes × flush modes × group sizes,
    /// each as a ratio to fio's buffered sequential write on the same disk.
    Storage(storage::Args),
    /// Delay-level and timer lateness under background load (reference: plain store latency),
    /// broker memory with a million pending timers (reference: the idle broker), transactional
    /// vs plain produce throughput. Starts the real `sluice standalone`.
    Schedule(schedule::Args),
    /// Throughput and latency of producer, consumer and end-to-end load (sweeps over a matrix)
    /// against sluice, the null broker and the rocketmq-rust broker, with fio and iperf3 as
    /// references; a JSON report and an SVG of the throughput–latency curves in bench/out/.
    Broker(sweep::Args),
    /// Export speed of a sealed CommitLog segment to Parquet against the raw sequential read of
    /// the same file (page cache dropped and warm), and the Parquet size against the segment.
    Archive(archive::Args),
    /// Analytics freshness (append → result visible over HTTP) p50/p99, and produce throughput
    /// with a heavy analytic attached against without, alternating in one broker process.
    Analytics(analytics::Args),
    /// A broker that answers every request with SUCCESS and stores nothing (started by
    /// `broker --targets null`).
    #[command(hide = true)]
    NullBroker(null_broker::Args),
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Storage(args) => storage::run(args),
        Command::Schedule(args) => schedule::run(args),
        Command::Broker(args) => sweep::run(args),
        Command::Archive(args) => archive::run(args),
        Command::Analytics(args) => analytics::run(args),
        Command::NullBroker(args) => null_broker::run(args),
    }
}
