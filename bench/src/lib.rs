//! sluice benchmarks, as a library so that both `sluice-bench` (`main.rs`) and `sluice bench`
//! (the broker binary) run them in-process through [`main`]. `storage` measures CommitLog
//! append throughput against the same machine's sequential-write bandwidth (fio), measured in
//! the same run. `schedule` drives the real `sluice standalone` over the wire: delay-level and
//! timer lateness under load, memory with a million pending timers, transactional against plain
//! produce. `broker` sweeps producer / consumer / end-to-end load over sluice, the null broker
//! and the rocketmq-rust broker, with fio and iperf3 as references (`sweep.rs`). `archive`
//! measures exporting a sealed segment to Parquet against reading the same file sequentially
//! (`archive.rs`). `analytics` measures analytics freshness and produce throughput with a heavy
//! analytic attached (`analytics.rs`).
//!
//! Public beyond the command line, for the tests: the broker benchmark's report schema
//! (`report`), its SVG chart (`plot`), the machine facts every report records (`machine`) and
//! the latency histogram every latency figure comes from (`latency`), and the per-thread CPU
//! accounting a report's points carry (`threads`).

mod analytics;
mod archive;
mod broker;
mod fio;
mod java_load;
pub mod latency;
mod load;
pub mod machine;
mod null_broker;
pub mod plot;
mod replication;
pub mod report;
mod schedule;
mod storage;
mod sweep;
mod targets;
pub mod threads;
mod wire;

use std::ffi::OsString;
use std::sync::OnceLock;

use anyhow::Result;
use clap::error::ErrorKind;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "sluice-bench",
    about = "sluice benchmarks, each with a reference measured in the same run"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
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
    /// An ASYNC_MASTER's replication: the slave's lag (bytes, ms) at fractions of the maximum
    /// rate, and its catch-up speed against iperf3 over loopback and fio in the same run.
    Replication(replication::Args),
    /// A broker that answers every request with SUCCESS and stores nothing (started by
    /// `broker --targets null`).
    #[command(hide = true)]
    NullBroker(null_broker::Args),
}

/// The executable the benchmarks run in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    /// `sluice-bench …`
    SluiceBench,
    /// `sluice bench …`: the broker binary.
    Sluice,
}

impl Host {
    /// The command line's name, as help and errors show it.
    fn name(self) -> &'static str {
        match self {
            Host::SluiceBench => "sluice-bench",
            Host::Sluice => "sluice bench",
        }
    }
}

static HOST: OnceLock<Host> = OnceLock::new();

pub(crate) fn host() -> Host {
    HOST.get().copied().unwrap_or(Host::SluiceBench)
}

/// A command that runs this executable's benchmarks again (`sluice-bench` or `sluice bench`),
/// for a benchmark's helper process; the caller adds the benchmark's arguments.
pub(crate) fn self_command() -> Result<std::process::Command> {
    let mut cmd = std::process::Command::new(std::env::current_exe()?);
    if host() == Host::Sluice {
        cmd.arg("bench");
    }
    Ok(cmd)
}

/// Runs one benchmark.
pub fn run(command: Command) -> Result<()> {
    match command {
        Command::Storage(args) => storage::run(args),
        Command::Schedule(args) => schedule::run(args),
        Command::Broker(args) => sweep::run(args),
        Command::Archive(args) => archive::run(args),
        Command::Analytics(args) => analytics::run(args),
        Command::Replication(args) => replication::run(args),
        Command::NullBroker(args) => null_broker::run(args),
    }
}

/// The whole command line as `host` has it: parses `args` (what follows `sluice-bench` or
/// `sluice bench`), runs the benchmark and returns the exit code. `--help` prints and returns
/// 0; a mistake in the arguments or a failed benchmark prints one `error: …` line and returns 1.
pub fn main(host: Host, args: impl IntoIterator<Item = OsString>) -> i32 {
    let host = *HOST.get_or_init(|| host);
    let argv = std::iter::once(OsString::from(host.name())).chain(args);
    let cli = Cli::command()
        .bin_name(host.name())
        .try_get_matches_from(argv)
        .and_then(|mut m| Cli::from_arg_matches_mut(&mut m));
    let cli = match cli {
        Ok(cli) => cli,
        Err(e) => {
            return match e.kind() {
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    let _ = e.print();
                    e.exit_code()
                }
                _ => {
                    let text = e.render().to_string();
                    eprintln!("{}", text.lines().next().unwrap_or("error: bad arguments"));
                    1
                }
            };
        }
    };
    match run(cli.command) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}
