//! The `sluice` binary: parses the command line and calls into the `sluice` library
//! (`src/lib.rs`). See README.md and ARCHITECTURE.md.

mod bench_cmd;
mod logging;

use sluice::{admin, controller_cmd, export_cmd, namesrv, standalone, store_cmd};

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "sluice",
    version,
    about = "A RocketMQ-protocol message broker on timely dataflow"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a NameServer (default 0.0.0.0:9876, every interface; `bindAddress` narrows it).
    Namesrv {
        #[command(flatten)]
        args: namesrv::NamesrvArgs,
        #[command(flatten)]
        log: logging::LogArgs,
    },
    /// Run a controller of RocketMQ 5.x controller mode (controller.conf with its
    /// controllerDLeger* keys; serves on its peer address).
    Controller {
        #[command(flatten)]
        args: controller_cmd::ControllerArgs,
        #[command(flatten)]
        log: logging::LogArgs,
    },
    /// Run a broker from a RocketMQ broker.conf (default port 10911).
    Broker {
        #[command(flatten)]
        args: standalone::BrokerArgs,
        #[command(flatten)]
        log: logging::LogArgs,
    },
    /// NameServer and broker in one process with embedded defaults (data in ./data).
    Standalone {
        #[command(flatten)]
        args: standalone::StandaloneArgs,
        #[command(flatten)]
        log: logging::LogArgs,
    },
    /// mqadmin's common commands (updateTopic, topicStatus, consumerProgress, …).
    Admin(admin::AdminArgs),
    /// Store maintenance: open (and so recover) a data directory and report on it.
    #[command(subcommand)]
    Store(store_cmd::StoreCommand),
    /// CommitLog segments → Parquet (one file per segment): a stopped broker's data dir, or a
    /// running broker's sealed segments.
    Export(export_cmd::ExportArgs),
    /// Benchmarks (those of `sluice-bench`, in this process), e.g. `bench broker --quick`.
    #[command(disable_help_flag = true)]
    Bench(bench_cmd::BenchArgs),
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let server = match &cli.command {
        Command::Namesrv { log, .. } => Some((log, "namesrv")),
        Command::Controller { log, .. } => Some((log, "controller")),
        Command::Broker { log, .. } => Some((log, "broker")),
        Command::Standalone { log, .. } => Some((log, "standalone")),
        // Tools log to stderr, as they always did.
        _ => None,
    };
    logging::init(server)?;
    match cli.command {
        Command::Store(cmd) => store_cmd::run(cmd),
        Command::Export(args) => export_cmd::run(args),
        Command::Bench(args) => std::process::exit(bench_cmd::run(args)),
        other => {
            if !matches!(other, Command::Admin(_)) {
                sluice::abort_on_panic();
            }
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("sluice-io")
                .enable_all()
                .build()?;
            rt.block_on(async move {
                match other {
                    Command::Namesrv { args, .. } => namesrv::run(args).await,
                    Command::Controller { args, .. } => controller_cmd::run(args).await,
                    Command::Broker { args, .. } => standalone::run_broker(args).await,
                    Command::Standalone { args, .. } => standalone::run_standalone(args).await,
                    Command::Admin(args) => loop {
                        match admin::execute(&args).await {
                            Ok(out) => {
                                if !out.is_empty() {
                                    println!("{out}");
                                }
                            }
                            Err(e) => {
                                eprintln!("error: {e:#}");
                                std::process::exit(1);
                            }
                        }
                        // `clusterList -i N` prints again every N seconds until stopped.
                        match args.repeat_every() {
                            Some(every) => tokio::time::sleep(every).await,
                            None => break Ok(()),
                        }
                    },
                    Command::Store(_) | Command::Export(_) | Command::Bench(_) => Ok(()),
                }
            })
        }
    }
}
