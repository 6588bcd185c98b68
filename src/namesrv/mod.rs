//! The NameServer (`sluice namesrv`): brokers register their topics here every 30 s, clients
//! ask it for topic routes (protocol.md §2.3.16–§2.3.18, §10.5).
//!
//! * [`config`] — `namesrv.properties` settings.
//! * [`route_table`] — clusters, brokers, topic queues, broker liveness.
//! * [`kv`] — the KV config (`kvConfig.json`).
//! * [`processor`] — request code → operation → response ([`NamesrvHandler`]).
//!
//! [`Namesrv::start`] binds the port, then runs the remoting server and the expiry scanner
//! until the shutdown signal turns true; [`run`] is the CLI entry point.

pub mod config;
pub mod kv;
pub mod processor;
pub mod route_table;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::NamesrvConfig;
pub use processor::NamesrvHandler;

use kv::KvConfig;

/// `sluice namesrv` arguments (RocketMQ's `mqnamesrv -c namesrv.properties`).
#[derive(Debug, Clone, clap::Args)]
pub struct NamesrvArgs {
    /// A namesrv.properties file (RocketMQ key names: listenPort, kvConfigPath, …).
    #[arg(short = 'c', long)]
    pub config: Option<PathBuf>,
    /// The port to listen on (overrides `listenPort`).
    #[arg(long)]
    pub listen_port: Option<u16>,
}

/// The NameServer.
#[derive(Debug)]
pub struct Namesrv;

/// A running NameServer.
#[derive(Debug)]
pub struct NamesrvHandle {
    local_addr: SocketAddr,
    server: JoinHandle<()>,
    scanner: JoinHandle<()>,
    /// The embedded controller (`enableControllerInNamesrv=true`).
    controller: Option<sluice_controller::Controller>,
}

impl Namesrv {
    /// Loads the KV config, binds `bind_address:listen_port` (port 0 = any free port), and
    /// spawns the server and the broker expiry scanner, which run until `shutdown` turns true
    /// (or its sender is dropped).
    pub async fn start(
        config: NamesrvConfig,
        shutdown: watch::Receiver<bool>,
    ) -> anyhow::Result<NamesrvHandle> {
        let kv = KvConfig::load(config.kv_config_path.clone())?;
        let controller = embedded_controller(&config).await?;
        let addr = SocketAddr::new(config.bind_address, config.listen_port);
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding the NameServer to {addr}"))?;
        let local_addr = listener
            .local_addr()
            .context("reading the NameServer's bound address")?;
        let kv_path = kv.path().map(|p| p.display().to_string());
        let acl = if config.acl_enable {
            let home = config
                .rocketmq_home
                .clone()
                .or_else(|| std::env::var_os("ROCKETMQ_HOME").map(std::path::PathBuf::from))
                .context("aclEnable=true needs rocketmqHome (or ROCKETMQ_HOME) to find conf/plain_acl.yml")?;
            let acl = Arc::new(
                crate::acl::Acl::load(crate::acl::AclFiles::under(&home)).context("aclEnable=true")?,
            );
            acl.spawn_reloader(Duration::from_secs(1), shutdown.clone());
            Some(acl)
        } else {
            None
        };
        let mut handler = NamesrvHandler::new(config, kv);
        if let Some(acl) = acl {
            handler = handler.with_acl(acl);
        }
        let handler = Arc::new(handler);
        let scanner = tokio::spawn(scan_loop(handler.clone(), shutdown.clone()));
        let server = tokio::spawn(sluice_remoting::net::serve(listener, handler.clone(), shutdown));
        tracing::info!(
            %local_addr,
            kv_config = kv_path.as_deref().unwrap_or("(in memory)"),
            "The Name Server boot success. serializeType=JSON"
        );
        Ok(NamesrvHandle {
            local_addr,
            server,
            scanner,
            controller,
        })
    }
}

/// [`Namesrv::start`].
/// Starts the controller of `enableControllerInNamesrv=true` from the file's controller keys (a
/// bad or missing key stops the NameServer from starting); warns when such keys are present but
/// the controller is not enabled.
async fn embedded_controller(
    config: &NamesrvConfig,
) -> anyhow::Result<Option<sluice_controller::Controller>> {
    if !config.enable_controller {
        for (key, _, line) in &config.controller_entries {
            tracing::warn!("line {line}: `{key}` has no effect without enableControllerInNamesrv=true");
        }
        return Ok(None);
    }
    let (cc, warnings) = sluice_controller::ControllerConfig::from_entries(config.controller_entries.clone())
        .context("enableControllerInNamesrv=true")?;
    for w in warnings {
        tracing::warn!("{w}");
    }
    let controller = sluice_controller::Controller::start(cc)
        .await
        .context("starting the embedded controller")?;
    Ok(Some(controller))
}

pub async fn start(config: NamesrvConfig, shutdown: watch::Receiver<bool>) -> anyhow::Result<NamesrvHandle> {
    Namesrv::start(config, shutdown).await
}

impl NamesrvHandle {
    /// The address to reach the server at from this host: the bound address, with a wildcard
    /// IP (`0.0.0.0`, `::`) replaced by the loopback address.
    pub fn local_addr(&self) -> SocketAddr {
        crate::config::host::reachable_locally(self.local_addr)
    }

    /// The address the listener is bound to (`bindAddress:listenPort`, the port resolved).
    pub fn bound_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Waits until the server and the scanner have stopped (after the shutdown signal).
    /// The embedded controller, when `enableControllerInNamesrv=true`.
    pub fn controller(&self) -> Option<&sluice_controller::Controller> {
        self.controller.as_ref()
    }

    pub async fn join(self) -> anyhow::Result<()> {
        self.server.await.context("the NameServer's server task failed")?;
        self.scanner
            .await
            .context("the NameServer's expiry scanner failed")?;
        if let Some(c) = self.controller {
            c.shutdown().await;
        }
        Ok(())
    }
}

/// Drops silent brokers every `scanNotActiveBrokerInterval`.
async fn scan_loop(handler: Arc<NamesrvHandler>, mut shutdown: watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow() {
            break;
        }
        let interval = handler.scan_interval();
        tokio::select! {
            _ = tokio::time::sleep(interval) => {
                handler.scan_expired(Instant::now());
            }
            changed = shutdown.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
    }
}

/// `sluice namesrv`: reads the config file, applies the flags, serves until SIGINT or SIGTERM.
pub async fn run(args: NamesrvArgs) -> anyhow::Result<()> {
    let (mut config, warnings) = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the NameServer config {}", path.display()))?;
            NamesrvConfig::from_properties(&text).with_context(|| format!("in {}", path.display()))?
        }
        None => (NamesrvConfig::default(), Vec::new()),
    };
    for w in &warnings {
        tracing::warn!("{w}");
    }
    if let Some(port) = args.listen_port {
        config.listen_port = port;
    }
    let (stop, shutdown) = watch::channel(false);
    let handle = Namesrv::start(config, shutdown).await?;
    wait_for_signal().await?;
    tracing::info!("shutting down the NameServer");
    let _ = stop.send(true);
    handle.join().await
}

pub(crate) async fn wait_for_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("waiting for SIGINT")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
    Ok(())
}
