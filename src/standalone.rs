//! `sluice broker` and `sluice standalone`: start, wait for SIGINT/SIGTERM, stop cleanly.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use tokio::sync::watch;

use crate::broker::config::{split_addrs, BrokerConfig};
use crate::namesrv::{self, NamesrvConfig};

#[derive(Args, Debug)]
pub struct BrokerArgs {
    /// A RocketMQ broker.conf (Java properties with RocketMQ's names).
    #[arg(short = 'c', long = "config")]
    config: PathBuf,
    /// NameServer address(es), `a;b`; overrides namesrvAddr and NAMESRV_ADDR.
    #[arg(short = 'n', long = "namesrv-addr")]
    namesrv_addr: Option<String>,
}

#[derive(Args, Debug)]
pub struct StandaloneArgs {
    /// A broker.conf applied on top of the embedded defaults.
    #[arg(short = 'c', long = "config")]
    config: Option<PathBuf>,
    /// Where the store lives (storePathRootDir); default ./data.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// NameServer port (default 9876).
    #[arg(long, default_value_t = 9876)]
    namesrv_port: u16,
    /// Broker port (default 10911; listenPort in the config file also sets it).
    #[arg(long)]
    broker_port: Option<u16>,
}

fn load_broker_config(path: Option<&PathBuf>, base: BrokerConfig) -> Result<BrokerConfig> {
    let mut config = base;
    if let Some(path) = path {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let warnings = config
            .apply_properties(&text)
            .with_context(|| format!("in {}", path.display()))?;
        for w in warnings {
            tracing::warn!("{}: {w}", path.display());
        }
    }
    Ok(config)
}

/// Resolves on SIGINT or SIGTERM.
async fn signalled() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(t) => t,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

pub async fn run_broker(args: BrokerArgs) -> Result<()> {
    let mut config = load_broker_config(Some(&args.config), BrokerConfig::default())?;
    if let Some(n) = args.namesrv_addr.or_else(|| {
        std::env::var("NAMESRV_ADDR")
            .ok()
            .filter(|_| config.namesrv_addr.is_empty())
    }) {
        config.namesrv_addr = split_addrs(&n);
    }
    let (tx, rx) = watch::channel(false);
    let broker = crate::broker::start(config, rx).await?;
    signalled().await;
    tracing::info!("shutting down");
    let _ = tx.send(true);
    broker.join().await
}

pub async fn run_standalone(args: StandaloneArgs) -> Result<()> {
    let data_dir = args.data_dir.clone().unwrap_or_else(|| PathBuf::from("data"));
    let mut base = BrokerConfig::default();
    base.store.store_path_root_dir = data_dir.join("store");
    base.default_topic_queue_nums = 8;
    base.auto_create_topic_enable = true;
    let mut config = load_broker_config(args.config.as_ref(), base)?;
    if let Some(p) = args.broker_port {
        config.listen_port = p;
    }
    let (tx, rx) = watch::channel(false);
    let ns_config = NamesrvConfig {
        listen_port: args.namesrv_port,
        bind_address: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        kv_config_path: Some(data_dir.join("namesrv").join("kvConfig.json")),
        ..NamesrvConfig::default()
    };
    let ns = namesrv::start(ns_config, rx.clone()).await?;
    config.namesrv_addr = vec![ns.local_addr().to_string()];
    let broker = match crate::broker::start(config, rx).await {
        Ok(b) => b,
        Err(e) => {
            let _ = tx.send(true);
            let _ = ns.join().await;
            return Err(e);
        }
    };
    tracing::info!(
        namesrv = %ns.local_addr(),
        broker = %broker.local_addr(),
        analytics_http = ?broker.analytics_http_addr(),
        "sluice standalone ready"
    );
    signalled().await;
    tracing::info!("shutting down");
    let _ = tx.send(true);
    let res = broker.join().await;
    let _ = ns.join().await;
    res
}
