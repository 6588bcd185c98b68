//! The `sluice` binary. Today: store maintenance (`sluice store inspect`). The NameServer,
//! broker and `standalone` subcommands arrive with the wire protocol (see README.md).

mod store_cmd;

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
    /// Store maintenance: open (and so recover) a data directory and report on it.
    #[command(subcommand)]
    Store(store_cmd::StoreCommand),
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Store(cmd) => store_cmd::run(cmd),
    }
}
