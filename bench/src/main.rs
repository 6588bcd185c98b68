//! sluice benchmarks. `sluice-bench storage` measures CommitLog append throughput against the
//! same machine's sequential-write bandwidth (fio), measured in the same run. `sluice-bench
//! schedule` drives the real `sluice standalone` over the wire: delay-level and timer lateness
//! under load, memory with a million pending timers, transactional against plain produce.

mod broker;
mod fio;
mod machine;
mod schedule;
mod storage;
mod wire;

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
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Storage(args) => storage::run(args),
        Command::Schedule(args) => schedule::run(args),
    }
}
