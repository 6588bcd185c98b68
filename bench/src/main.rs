//! sluice benchmarks. `sluice-bench storage` measures CommitLog append throughput against the
//! same machine's sequential-write bandwidth (fio), measured in the same run.

mod fio;
mod machine;
mod storage;

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
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Storage(args) => storage::run(args),
    }
}
