//! `sluice controller -c controller.conf`: a standalone controller (RocketMQ 5.x's
//! `mqcontroller`), configured with RocketMQ's keys (see `sluice_controller::config`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sluice_controller::{Controller, ControllerConfig};

#[derive(Debug, Clone, clap::Args)]
pub struct ControllerArgs {
    /// The controller's properties file.
    #[arg(short = 'c', long)]
    pub config: PathBuf,
}

/// Reads a controller properties file; returns the config and its warnings.
pub fn load(path: &Path) -> Result<(ControllerConfig, Vec<String>)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the controller config {}", path.display()))?;
    let entries =
        crate::config::properties::parse(&text).with_context(|| format!("in {}", path.display()))?;
    ControllerConfig::from_entries(entries).with_context(|| format!("in {}", path.display()))
}

/// Runs a controller until SIGINT / SIGTERM.
pub async fn run(args: ControllerArgs) -> Result<()> {
    let (config, warnings) = load(&args.config)?;
    for w in &warnings {
        tracing::warn!("{w}");
    }
    let controller = Controller::start(config).await?;
    crate::namesrv::wait_for_signal().await?;
    tracing::info!("shutting down the controller");
    controller.shutdown().await;
    Ok(())
}
