//! `sluice broker` and `sluice standalone`: start, wait for SIGINT/SIGTERM, stop cleanly;
//! [`Standalone`] runs both servers in-process.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use tokio::sync::watch;

use crate::broker::config::{split_addrs, BrokerConfig};
use crate::broker::BrokerHandle;
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
    /// The IP address the broker tells clients (brokerIP1; default 127.0.0.1, or brokerIP1
    /// from the config file). Both servers listen on every interface (bindAddress 0.0.0.0)
    /// either way; set this to the address other machines reach this host at.
    #[arg(long, value_name = "ADDR")]
    advertise: Option<std::net::IpAddr>,
    /// Serve the web dashboard on this port (dashboardPort; off unless set).
    #[arg(long, value_name = "PORT")]
    dashboard_port: Option<u16>,
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
        config.config_file = Some(path.clone());
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
    if config.controller.enable {
        // The controllers choose the role; the supervisor restarts the broker when it changes.
        let mut supervisor = tokio::spawn(crate::broker::controlled::run(config, rx));
        tokio::select! {
            done = &mut supervisor => return done.context("joining the controller-mode supervisor")?,
            _ = signalled() => {}
        }
        tracing::info!("shutting down");
        let _ = tx.send(true);
        return supervisor
            .await
            .context("joining the controller-mode supervisor")?;
    }
    let broker = crate::broker::start(config, rx).await?;
    signalled().await;
    tracing::info!("shutting down");
    let _ = tx.send(true);
    broker.join().await
}

/// A NameServer and a broker in one process: what `sluice standalone` runs, and what tests and
/// embedding programs start in-process.
pub struct Standalone {
    stop: watch::Sender<bool>,
    namesrv: namesrv::NamesrvHandle,
    broker: BrokerHandle,
}

/// `sluice standalone`'s embedded defaults for a data directory: the store in `<dir>/store`,
/// 8 queues per auto-created topic, the NameServer's KV config in `<dir>/namesrv`, both servers
/// on every interface (`bindAddress` 0.0.0.0, NameServer port 9876) and the broker advertised
/// as 127.0.0.1 (`brokerIP1`; a config file or `--advertise` may say otherwise).
pub fn defaults(data_dir: &Path) -> (BrokerConfig, NamesrvConfig) {
    let mut broker = BrokerConfig::default();
    broker.store.store_path_root_dir = data_dir.join("store");
    broker.default_topic_queue_nums = 8;
    broker.auto_create_topic_enable = true;
    broker.broker_ip1 = IpAddr::V4(Ipv4Addr::LOCALHOST);
    broker.bind_address = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    let namesrv = NamesrvConfig {
        bind_address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        kv_config_path: Some(data_dir.join("namesrv").join("kvConfig.json")),
        ..NamesrvConfig::default()
    };
    (broker, namesrv)
}

impl Standalone {
    /// Starts the NameServer, then the broker registered with it (its `namesrvAddr` is replaced
    /// by the NameServer's address). Port 0 in either config picks a free port.
    pub async fn start(broker: BrokerConfig, namesrv: NamesrvConfig) -> Result<Standalone> {
        if broker.controller.enable {
            anyhow::bail!(
                "enableControllerMode=true: run the broker with `sluice broker -c broker.conf` beside its controllers (standalone has none)"
            );
        }
        let (stop, rx) = watch::channel(false);
        let ns = namesrv::start(namesrv, rx.clone()).await?;
        let mut config = broker;
        config.namesrv_addr = vec![ns.local_addr().to_string()];
        let broker = match crate::broker::start(config, rx).await {
            Ok(b) => b,
            Err(e) => {
                let _ = stop.send(true);
                let _ = ns.join().await;
                return Err(e);
            }
        };
        Ok(Standalone {
            stop,
            namesrv: ns,
            broker,
        })
    }

    /// The NameServer's address (what clients are pointed at).
    pub fn namesrv_addr(&self) -> SocketAddr {
        self.namesrv.local_addr()
    }

    /// The broker's address as reachable from this host (the bound address, a wildcard replaced
    /// by loopback); what clients are told is [`BrokerHandle::advertised_addr`].
    pub fn broker_addr(&self) -> SocketAddr {
        self.broker.local_addr()
    }

    /// The running broker (its shared state, its analytics listener).
    pub fn broker(&self) -> &BrokerHandle {
        &self.broker
    }

    /// Stops both servers: the broker drains, unregisters and closes its store first.
    pub async fn shutdown(self) -> Result<()> {
        let _ = self.stop.send(true);
        let res = self.broker.join().await;
        let _ = self.namesrv.join().await;
        res
    }
}

/// `sluice standalone`'s two configs: [`defaults`] for the data directory, the config file on
/// top, then the flags.
fn standalone_configs(args: &StandaloneArgs) -> Result<(BrokerConfig, NamesrvConfig)> {
    let data_dir = args.data_dir.clone().unwrap_or_else(|| PathBuf::from("data"));
    let (base, mut ns_config) = defaults(&data_dir);
    let mut config = load_broker_config(args.config.as_ref(), base)?;
    if let Some(p) = args.broker_port {
        config.listen_port = p;
    }
    if let Some(ip) = args.advertise {
        config.broker_ip1 = ip;
    }
    if let Some(p) = args.dashboard_port {
        config.dashboard_port = Some(p);
    }
    ns_config.listen_port = args.namesrv_port;
    // One process, one interface choice: a bindAddress in the config file binds both servers.
    ns_config.bind_address = config.bind_address;
    Ok((config, ns_config))
}

pub async fn run_standalone(args: StandaloneArgs) -> Result<()> {
    let (config, ns_config) = standalone_configs(&args)?;
    let standalone = Standalone::start(config, ns_config).await?;
    tracing::info!(
        namesrv = %standalone.namesrv_addr(),
        broker = %standalone.broker_addr(),
        advertised = %standalone.broker().advertised_addr(),
        analytics_http = ?standalone.broker().analytics_http_addr(),
        dashboard = ?standalone.broker().dashboard_addr().map(|a| format!("http://{a}/")),
        "sluice standalone ready"
    );
    signalled().await;
    tracing::info!("shutting down");
    standalone.shutdown().await
}

/// A [`Standalone`] on a tokio runtime of its own (two `sluice-io` workers), driven from a
/// thread of its own, so that any program — synchronous, or itself inside a runtime (a
/// `#[tokio::test]`) — can start one; stopped cleanly when dropped.
pub struct Embedded {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<()>>>,
    namesrv: SocketAddr,
    broker: SocketAddr,
}

impl Embedded {
    /// Starts [`Standalone::start`] on the new runtime and waits until both servers listen.
    pub fn start(broker: BrokerConfig, namesrv: NamesrvConfig) -> Result<Embedded> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(SocketAddr, SocketAddr)>>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sluice-embedded".into())
            .spawn(move || -> Result<()> {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("sluice-io")
                    .enable_all()
                    .build()
                    .context("building the tokio runtime")?;
                runtime.block_on(async move {
                    match Standalone::start(broker, namesrv).await {
                        Ok(s) => {
                            let _ = ready_tx.send(Ok((s.namesrv_addr(), s.broker_addr())));
                            let _ = stop_rx.await;
                            s.shutdown().await
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            Ok(())
                        }
                    }
                })
            })
            .context("spawning the embedded broker's thread")?;
        match ready_rx.recv() {
            Ok(Ok((namesrv, broker))) => Ok(Embedded {
                stop: Some(stop_tx),
                thread: Some(thread),
                namesrv,
                broker,
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => match thread.join() {
                Ok(Err(e)) => Err(e),
                _ => Err(anyhow::anyhow!("the embedded broker's thread ended at start-up")),
            },
        }
    }

    pub fn namesrv_addr(&self) -> SocketAddr {
        self.namesrv
    }

    pub fn broker_addr(&self) -> SocketAddr {
        self.broker
    }

    /// Stops both servers and the runtime.
    pub fn shutdown(mut self) -> Result<()> {
        self.stop()
    }

    fn stop(&mut self) -> Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(res)) => res,
            Some(Err(_)) => Err(anyhow::anyhow!("the embedded broker's thread panicked")),
            None => Ok(()),
        }
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            tracing::error!("stopping the embedded broker: {e:#}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: StandaloneArgs,
    }

    fn configs(argv: &[&str]) -> (BrokerConfig, NamesrvConfig) {
        let cli = Cli::try_parse_from(std::iter::once("standalone").chain(argv.iter().copied()))
            .expect("flags parse");
        standalone_configs(&cli.args).expect("configs")
    }

    #[test]
    fn binds_everything_and_advertises_loopback_unless_told() {
        let any = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        let (b, n) = configs(&["--data-dir", "/tmp/d"]);
        assert_eq!((b.bind_address, n.bind_address), (any, any));
        assert_eq!(b.broker_addr().to_string(), "127.0.0.1:10911");
        assert_eq!(b.ha_server_addr().to_string(), "127.0.0.1:10912");
        assert_eq!(n.listen_port, 9876);
        assert_eq!(b.store.store_path_root_dir, Path::new("/tmp/d/store"));

        let (b, _) = configs(&["--advertise", "10.1.2.3", "--broker-port", "20911"]);
        assert_eq!(b.broker_addr().to_string(), "10.1.2.3:20911");
        assert_eq!(b.ha_server_addr().to_string(), "10.1.2.3:20912");
        assert!(Cli::try_parse_from(["standalone", "--advertise", "host.example"]).is_err());

        let dir = tempfile::tempdir().expect("tempdir");
        let conf = dir.path().join("broker.conf");
        std::fs::write(
            &conf,
            "brokerIP1=10.9.9.9\nbrokerIP2=10.8.8.8\nbindAddress=10.9.9.9\n",
        )
        .expect("write broker.conf");
        let conf = conf.to_string_lossy().into_owned();
        let (b, n) = configs(&["-c", &conf]);
        assert_eq!(b.broker_addr().to_string(), "10.9.9.9:10911");
        assert_eq!(b.ha_server_addr().to_string(), "10.8.8.8:10912");
        assert_eq!(n.bind_address, b.bind_address);
        let (b, _) = configs(&["-c", &conf, "--advertise", "10.7.7.7"]);
        assert_eq!(b.broker_addr().to_string(), "10.7.7.7:10911", "the flag wins");
    }
}
