//! The broker: a RocketMQ-protocol server in front of the store and the core pipeline.
//!
//! * [`config`] — broker.conf.
//! * [`topics`], [`clients`], [`locks`], [`long_poll`], [`stats`] — broker state.
//! * [`request`] — requests decoded once into typed values, and the per-code route table.
//! * [`processor`] — one file per request family; [`processor::dispatch`] routes by code.
//! * [`error`] — [`error::BrokerError`], what a failed request answers.
//! * [`put`] — the put service every write goes through (route, store, count).
//! * [`migrate`] — taking over a store directory Apache RocketMQ wrote (config/*.json).
//! * [`ha`] — master/slave replication (the HA listener and links, SYNC_MASTER acks).
//! * [`controlled`] — controller mode: the supervisor that runs the broker in the role the
//!   controllers give it, heartbeats, the SyncStateSet, the epoch file and cutting back.
//! * [`register`] — REGISTER_BROKER to every NameServer every 30 s and after topic changes.
//! * [`schedule`] — messages that wait (delay levels, timers, half messages) and the retry /
//!   DLQ copies: the `sluice-schedule` thread, fed by the pipeline's stage (D).
//! * [`http`] — the HTTP servers (axum): `/metrics`, the analytics `/jobs` routes
//!   (`analyticsHttpPort`) and the web dashboard (`dashboardPort`).
//! * [`metrics`] — Prometheus metrics (`metricsExporterType=PROM`), served by [`http`] (axum).

pub mod authz;
pub mod clients;
pub mod config;
pub mod controlled;
pub mod error;
pub mod filter;
pub mod ha;
pub mod http;
pub mod locks;
pub mod long_poll;
pub mod metrics;
pub mod migrate;
pub mod processor;
pub mod put;
pub mod register;
pub mod request;
pub mod schedule;
pub mod stats;
pub mod topics;
pub mod trace;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::broker::schedule::{Scheduler, TransactionLog, Waker};
use anyhow::Context;
use sluice_dataflows::analytics::{AnalyticsConfig, AnalyticsRuntime};
use sluice_dataflows::{CorePipeline, ReplicaAcks, StageHooks, Submitter, SyncReplication};
use sluice_parquet::{Archiver, ExportOptions};
use sluice_remoting::{DecoderLimits, RemotingCommand};
use sluice_storage::MessageStore;
use tokio::net::TcpListener;
use tokio::sync::watch;

use self::clients::ClientManager;
use self::config::{BrokerConfig, BrokerRole};
use self::locks::QueueLocks;
use self::long_poll::LongPolls;
use self::topics::TopicManager;
use sluice_remoting::net::{Connection, Handler, Outbound};

/// Everything the request handlers share.
pub struct BrokerState {
    pub config: BrokerConfig,
    pub store: Arc<MessageStore>,
    pub pipeline: std::sync::Mutex<Option<CorePipeline>>,
    /// Queues units into the pipeline without taking the lock above (the send path).
    pub submitter: Submitter,
    /// Stage (D)'s thread: delay levels, timers, transaction checks.
    pub scheduler: std::sync::Mutex<Option<Scheduler>>,
    /// Transaction op-state, shared by END_TRANSACTION and the checker.
    pub transactions: Arc<TransactionLog>,
    pub topics: TopicManager,
    pub clients: ClientManager,
    pub long_polls: Arc<LongPolls>,
    pub locks: QueueLocks,
    /// Registration rounds: asked for (topic changes), counted (a topic change answers once the
    /// NameServers know it).
    pub rounds: register::Rounds,
    /// Put / get counters for the admin requests.
    pub stats: stats::BrokerStats,
    /// When the broker started (ms since the epoch).
    pub boot_timestamp: i64,
    /// The second timely runtime (`sluice-analytics`): jobs attached to topics.
    pub analytics: Arc<AnalyticsRuntime>,
    /// The Parquet archiver retention consults (`archiveEnable`); QUERY_MESSAGE and
    /// VIEW_MESSAGE_BY_ID fall back to its files.
    pub archiver: Option<Arc<Archiver>>,
    /// Replication: a master's HA listener, or a slave's link to its master.
    pub ha: Option<ha::Ha>,
    /// A SYNC_MASTER under ASYNC_FLUSH: sends append on their caller's thread, then await a
    /// slave's report here.
    pub replica_wait: Option<Arc<ha::HaMaster>>,
    /// A slave's master (`brokerAddr`), as the NameServer last said: where metadata syncs from.
    pub master_addr: std::sync::Mutex<Option<String>>,
    /// A slave's consumer offsets committed by clients, for its master (`ha/commits.rs`).
    pub slave_commits: ha::commits::SlaveCommits,
    /// Compiled SQL92 selectors (`enablePropertyFilter`).
    pub sql92: filter::Sql92Cache,
    /// ACL 1.0 (`aclEnable=true`): every request is checked against it.
    pub acl: Option<Arc<crate::acl::Acl>>,
    /// ACL 2.0: users and ACLs (always open: its admin requests are served even when
    /// `authenticationEnabled`/`authorizationEnabled` are off, as 5.3 does).
    pub auth: crate::auth::Auth,
    /// The broker's own trace records (`traceTopicEnable`).
    pub tracer: Option<Arc<trace::Tracer>>,
    /// `brokerPermission` in force: read at start, changed live by UPDATE_BROKER_CONFIG (the
    /// drain: 4 stops writes, 6 restores them).
    pub broker_permission: std::sync::atomic::AtomicI32,
}

impl BrokerState {
    /// `brokerPermission` now.
    pub fn permission(&self) -> i32 {
        self.broker_permission.load(std::sync::atomic::Ordering::Acquire)
    }
}

impl BrokerState {
    /// `brokerIP1:listenPort`, the address in offsetMsgIds and routes.
    pub fn broker_addr(&self) -> SocketAddr {
        self.config.broker_addr()
    }

    /// Waits (at most 100 ms) until every record appended before the call is dispatched to
    /// its ConsumeQueue and indexes, so a read after a send's ack sees the message. Returns
    /// whether there was anything to wait for.
    pub async fn dispatch_caught_up(&self) -> bool {
        let target = self.store.commitlog().write_pos();
        if self.store.dispatched_offset() >= target {
            return false;
        }
        let store = &self.store;
        self.long_polls
            .wait_dispatched(
                || store.dispatched_offset() >= target,
                std::time::Duration::from_millis(100),
            )
            .await;
        true
    }
}

struct BrokerHandler {
    state: Arc<BrokerState>,
}

impl Handler for BrokerHandler {
    async fn handle(&self, conn: &Arc<Connection>, cmd: RemotingCommand) -> Option<Outbound> {
        processor::dispatch(&self.state, conn, cmd).await
    }

    fn handle_now(
        &self,
        conn: &Arc<Connection>,
        cmd: RemotingCommand,
    ) -> Result<Option<Outbound>, RemotingCommand> {
        processor::dispatch_now(&self.state, conn, cmd)
    }

    fn on_close(&self, conn: &Arc<Connection>) {
        for group in self.state.clients.connection_closed(conn.id()) {
            self.state.clients.notify_ids_changed(&group);
        }
    }

    fn limits(&self) -> DecoderLimits {
        DecoderLimits {
            max_frame: 16 << 20,
            max_body: self.state.config.store.max_message_size + 64 * 1024,
        }
    }
}

/// A running broker.
pub struct BrokerHandle {
    pub state: Arc<BrokerState>,
    local_addr: SocketAddr,
    analytics_http: Option<SocketAddr>,
    dashboard_http: Option<SocketAddr>,
    metrics_http: Option<SocketAddr>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl BrokerHandle {
    /// The address to reach the broker at from this host: the bound address, with a wildcard
    /// IP (`0.0.0.0`, `::`) replaced by the loopback address.
    pub fn local_addr(&self) -> SocketAddr {
        crate::config::host::reachable_locally(self.local_addr)
    }

    /// The address the listener is bound to (`bindAddress:listenPort`, the port resolved).
    pub fn bound_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address the broker tells the NameServers and clients: `brokerIP1:listenPort`.
    pub fn advertised_addr(&self) -> SocketAddr {
        self.state.broker_addr()
    }

    /// Where the analytics HTTP listener is bound, if `analyticsHttpPort` is set.
    pub fn analytics_http_addr(&self) -> Option<SocketAddr> {
        self.analytics_http
    }

    /// Where `/metrics` is served, with `metricsExporterType=PROM`.
    pub fn dashboard_addr(&self) -> Option<SocketAddr> {
        self.dashboard_http
    }

    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_http
    }

    /// Waits for the server tasks (after shutdown was signalled), then stops the pipeline,
    /// unregisters from the NameServers and closes the store.
    pub async fn join(self) -> anyhow::Result<()> {
        for t in self.tasks {
            let _ = t.await;
        }
        register::unregister_all(&self.state).await;
        let state = self.state.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            if let Some(ha) = &state.ha {
                ha.stop();
            }
            if let Ok(mut s) = state.scheduler.lock() {
                if let Some(mut s) = s.take() {
                    s.shutdown();
                }
            }
            if let Ok(mut p) = state.pipeline.lock() {
                if let Some(mut p) = p.take() {
                    p.shutdown();
                }
            }
            state.analytics.shutdown();
            if let Some(a) = &state.archiver {
                a.stop();
            }
            state.store.close().context("closing the store")?;
            Ok(())
        })
        .await
        .context("joining the shutdown task")??;
        tracing::info!("broker stopped");
        Ok(())
    }
}

/// The ACL when `aclEnable=true`: its files must exist and parse, or the broker does not start.
fn load_acl(config: &BrokerConfig) -> anyhow::Result<Option<Arc<crate::acl::Acl>>> {
    if !config.acl.enable {
        return Ok(None);
    }
    if config.auth.enabled() {
        anyhow::bail!(
            "aclEnable=true (ACL 1.0) and authenticationEnabled/authorizationEnabled (ACL 2.0) are both set: choose one"
        );
    }
    let home = config
        .acl
        .home()
        .context("aclEnable=true needs rocketmqHome (or ROCKETMQ_HOME) to find conf/plain_acl.yml")?;
    let acl = crate::acl::Acl::load(crate::acl::AclFiles::under(&home)).context("aclEnable=true")?;
    Ok(Some(Arc::new(acl)))
}

/// Binds `listenPort`, opens the store (recovering it), starts the pipeline and the scheduler,
/// and registers with the NameServers.
pub async fn start(config: BrokerConfig, shutdown: watch::Receiver<bool>) -> anyhow::Result<BrokerHandle> {
    // Bound first so that a `listenPort=0` broker writes its real port into every record's
    // store host (offsetMsgIds).
    let bind = config.bind_addr(config.listen_port);
    let listener = TcpListener::bind(bind)
        .await
        .with_context(|| format!("binding the broker port {bind} (bindAddress:listenPort)"))?;
    let local_addr = listener.local_addr()?;
    let mut config = config;
    if config.controller.enable && config.controller.run.is_none() {
        anyhow::bail!("enableControllerMode=true: the broker runs under its controller-mode supervisor (`sluice broker`), which gives it its role");
    }
    config.check_placement()?;
    config.check_controller_mode()?;
    let acl = load_acl(&config)?;
    if let Some(warning) = config.check_role()? {
        tracing::warn!("{warning}");
    }
    // An ephemeral broker port takes an ephemeral HA port too.
    if config.listen_port == 0 && config.ha_listen_port.is_none() {
        config.ha_listen_port = Some(0);
    }
    config.listen_port = local_addr.port();
    if let Some(w) = config.address_warning() {
        tracing::warn!("{w}");
    }
    let mut store_config = config.store.clone();
    store_config.store_host = config.broker_addr();
    let store = tokio::task::spawn_blocking(move || MessageStore::open(store_config))
        .await
        .context("joining the store open task")?
        .context("opening the store")?;
    let report = store.open_report();
    tracing::info!(
        root = %store.root().display(),
        unclean = report.unclean,
        end = report.commitlog.end,
        recovered = report.commitlog.records,
        "store open"
    );
    let auth = crate::auth::Auth::open(config.auth.clone(), store.meta().clone())
        .context("loading the ACL 2.0 users and ACLs")?;
    if auth.settings().enabled() {
        tracing::info!(
            authentication = auth.settings().authentication,
            authorization = auth.settings().authorization,
            users = auth.users("").map_or(0, |u| u.len()),
            "ACL 2.0 on"
        );
    }
    let archiver = state_archiver(&store, &config.msg_trace_topic_name);
    if let Some(done) =
        migrate::import_rocketmq_config(&store).context("importing RocketMQ's config/*.json")?
    {
        tracing::info!(
            ?done,
            "took over an Apache RocketMQ store: config/*.json imported"
        );
    }
    let topics = TopicManager::load(
        store.meta().clone(),
        &config.broker_cluster_name,
        &config.broker_name,
        config.auto_create_topic_enable,
        config.default_topic_queue_nums,
    )?;
    controlled::adopt_topics(&config, &store, &topics);
    if config.trace_topic_enable {
        // As 4.9 creates it: one queue, readable and writable.
        topics
            .ensure(
                &config.msg_trace_topic_name,
                1,
                sluice_storage::meta::perm::READ_WRITE,
            )
            .context("creating the message-trace topic")?;
    }
    let long_polls = Arc::new(LongPolls::default());
    let lp = long_polls.clone();
    let waker = Arc::new(Waker::default());
    let analytics = {
        let store = store.clone();
        let config = AnalyticsConfig {
            state_dir: Some(store.root().join("analytics")),
            ..AnalyticsConfig::default()
        };
        tokio::task::spawn_blocking(move || AnalyticsRuntime::start(store, config))
            .await
            .context("joining the analytics start task")?
            .context("starting the analytics runtime")?
    };
    let analytics = Arc::new(analytics);
    let analytics_waker = analytics.waker();
    let ha_master = start_ha_master(&mut config, &store, local_addr).await?;
    // A SYNC_MASTER waits for its slave in the pipeline's group commit under SYNC_FLUSH; under
    // ASYNC_FLUSH its sends keep the caller-append path and await the slave's report there
    // (`put::store`): the core thread's two extra hops cost more than the wait itself.
    let sync_flush = config.store.flush_disk_type == sluice_storage::FlushDiskType::SyncFlush;
    let (replication, replica_wait) = match (&ha_master, config.broker_role) {
        (Some(m), BrokerRole::SyncMaster) if sync_flush => (
            Some(SyncReplication {
                acks: m.clone(),
                timeout: config.ha.slave_timeout,
            }),
            None,
        ),
        (Some(m), BrokerRole::SyncMaster) => (None, Some(m.clone())),
        _ => (None, None),
    };
    let feed = ha_master.clone();
    let pipeline = CorePipeline::start_replicated(
        store.clone(),
        StageHooks {
            schedule: waker.hook(),
            delivery: Arc::new(move |adv| {
                lp.notify(adv);
                analytics_waker.notify(adv);
                if let Some(m) = &feed {
                    // ASYNC_MASTER: slaves get new data as soon as it is dispatched.
                    m.offer(0);
                }
            }),
        },
        config.max_ingress_bytes,
        replication,
    )
    .context("starting the core pipeline")?;
    let submitter = pipeline.submitter();
    if let Some(m) = ha_master.as_ref().filter(|m| m.is_auto()) {
        // Records held back by the confirm offset are dispatched once it moves.
        let s = submitter.clone();
        m.on_advance(Box::new(move || s.redispatch()));
    }
    let ha = match ha_master {
        Some(m) => Some(ha::Ha::Master(m)),
        None if config.broker_role.is_slave() => Some(ha::Ha::Slave(
            ha::HaSlave::start(
                store.clone(),
                submitter.clone(),
                config.ha.clone(),
                controlled::slave_auto(&config, &store)?,
            )
            .context("starting the replication link")?,
        )),
        None => None,
    };
    let transactions = Arc::new(TransactionLog::new(store.meta().clone()));
    let prom = config.metrics_exporter_type == metrics::ExporterType::Prom;
    let (cluster, node_id) = (config.broker_cluster_name.clone(), config.broker_name.clone());
    let (tracer, trace_rx) = if config.trace_topic_enable {
        let (t, rx) = trace::Tracer::new(&config.msg_trace_topic_name);
        (Some(Arc::new(t)), Some(rx))
    } else {
        (None, None)
    };
    let permission = config.broker_permission;
    let initial_master = controlled::initial_master_addr(&config);
    let state = Arc::new_cyclic(|weak| BrokerState {
        config,
        store,
        pipeline: std::sync::Mutex::new(Some(pipeline)),
        submitter: submitter.clone(),
        scheduler: std::sync::Mutex::new(None),
        transactions,
        topics,
        clients: ClientManager::default(),
        long_polls,
        locks: QueueLocks::default(),
        rounds: register::Rounds::default(),
        stats: stats::BrokerStats::new(
            prom.then(|| Arc::new(metrics::BrokerMetrics::new(&cluster, &node_id, weak.clone()))),
        ),
        boot_timestamp: sluice_storage::clock::now_millis(),
        analytics,
        archiver,
        ha,
        replica_wait,
        master_addr: std::sync::Mutex::new(initial_master),
        slave_commits: ha::commits::SlaveCommits::default(),
        sql92: filter::Sql92Cache::default(),
        acl,
        auth,
        tracer,
        broker_permission: std::sync::atomic::AtomicI32::new(permission),
    });
    if let Some(acl) = &state.acl {
        acl.spawn_reloader(std::time::Duration::from_secs(1), shutdown.clone());
    }
    if state.config.broker_role.is_slave() {
        // Delays, timers and transaction checks belong to the master (protocol.md §9.0 item 9).
        tracing::info!(broker = %state.config.broker_name, id = state.config.broker_id, "SLAVE: no scheduler; replicating");
    } else {
        start_scheduler(&state, submitter, waker)?;
    }
    let mut tasks = Vec::new();
    if let Some(rx) = trace_rx {
        tasks.push(tokio::spawn(trace::run(
            Arc::downgrade(&state),
            rx,
            shutdown.clone(),
        )));
    }
    let handler = Arc::new(BrokerHandler { state: state.clone() });
    // The "VIP" port listenPort − 2 that old Java clients (vipChannelEnabled) send to.
    if let Some(vip_port) = local_addr.port().checked_sub(2).filter(|p| *p > 0) {
        match TcpListener::bind(state.config.bind_addr(vip_port)).await {
            Ok(vip) => tasks.push(tokio::spawn(sluice_remoting::net::serve(
                vip,
                handler.clone(),
                shutdown.clone(),
            ))),
            Err(e) => {
                tracing::warn!(port = vip_port, error = %e, "cannot bind the VIP port (listenPort - 2)")
            }
        }
    }
    tasks.push(tokio::spawn(sluice_remoting::net::serve(
        listener,
        handler,
        shutdown.clone(),
    )));
    let analytics_http = match state.config.analytics_http_port {
        Some(port) => {
            let addr = SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, port));
            let listener = http::bind(addr, "analyticsHttpPort").await?;
            let addr = listener.local_addr()?;
            tracing::info!(%addr, "analytics HTTP listening");
            let routes = http::analytics::routes(state.analytics.clone());
            tasks.push(tokio::spawn(http::serve(listener, routes, shutdown.clone())));
            Some(addr)
        }
        None => None,
    };
    let metrics_http = match state.stats.metrics() {
        Some(m) => {
            let cfg = &state.config;
            let ip = cfg.metrics_prom_exporter_host.unwrap_or(cfg.bind_address);
            let addr = SocketAddr::new(ip, cfg.metrics_prom_exporter_port);
            let listener = http::bind(addr, "metricsPromExporterHost:metricsPromExporterPort").await?;
            let addr = listener.local_addr()?;
            tracing::info!(%addr, "metrics (Prometheus) listening on /metrics");
            let routes = http::metrics::routes(m.clone());
            tasks.push(tokio::spawn(http::serve(listener, routes, shutdown.clone())));
            Some(addr)
        }
        None => None,
    };
    let dashboard_http = match state.config.dashboard_port {
        Some(port) => {
            let addr = state.config.bind_addr(port);
            let listener = http::bind(addr, "bindAddress:dashboardPort").await?;
            let addr = listener.local_addr()?;
            tracing::info!(url = %format!("http://{addr}/"), "dashboard listening");
            let (routes, sampler) = http::dashboard::start(state.clone(), shutdown.clone());
            tasks.push(sampler);
            tasks.push(tokio::spawn(http::serve(listener, routes, shutdown.clone())));
            Some(addr)
        }
        None => None,
    };
    tasks.push(tokio::spawn(register::run(state.clone(), shutdown.clone())));
    if state.config.broker_role.is_slave() {
        tasks.push(tokio::spawn(ha::sync::run(state.clone(), shutdown.clone())));
    }
    if let Some(m) = state.replica_wait.clone() {
        tasks.push(tokio::spawn(expire_replica_waits(m, shutdown.clone())));
    }
    tasks.push(tokio::spawn(expire_clients(state.clone(), shutdown)));
    tracing::info!(
        bind = %local_addr,
        advertised = %state.broker_addr(),
        ha_server_addr = %state.config.ha_server_addr(),
        broker = %state.config.broker_name,
        "broker listening"
    );
    Ok(BrokerHandle {
        state,
        local_addr,
        analytics_http,
        metrics_http,
        dashboard_http,
        tasks,
    })
}

/// Stage (D)'s thread: delay levels, timers, transaction checks (masters only).
fn start_scheduler(state: &Arc<BrokerState>, submitter: Submitter, waker: Arc<Waker>) -> anyhow::Result<()> {
    let weak = Arc::downgrade(state);
    let scheduler = Scheduler::start(
        state.store.clone(),
        submitter,
        state.config.schedule.clone(),
        Arc::new(move |req| match weak.upgrade() {
            Some(state) => processor::transaction::send_check(&state, req),
            None => false,
        }),
        waker,
        state.transactions.clone(),
    )
    .context("starting the scheduler")?;
    if let Ok(mut s) = state.scheduler.lock() {
        *s = Some(scheduler);
    }
    Ok(())
}

/// A master's HA listener on `haListenPort` (the broker's address, port + 1 by default); a
/// master that cannot bind it does not start.
async fn start_ha_master(
    config: &mut BrokerConfig,
    store: &Arc<MessageStore>,
    local_addr: SocketAddr,
) -> anyhow::Result<Option<Arc<ha::HaMaster>>> {
    if config.broker_role.is_slave() {
        return Ok(None);
    }
    let addr = SocketAddr::new(local_addr.ip(), config.ha_port());
    let auto = controlled::master_auto(config, store)?;
    let listener = match TcpListener::bind(addr).await.and_then(|l| l.into_std()) {
        Ok(l) => l,
        // A master no slave can reach would drop replication silently: refuse to start.
        Err(e) => {
            return Err(anyhow::anyhow!(
                "binding the HA port {addr} (haListenPort) of this {}: {e}",
                config.broker_role.as_str()
            ))
        }
    };
    let (st, ha_config) = (store.clone(), config.ha.clone());
    let started = tokio::task::spawn_blocking(move || ha::HaMaster::start(st, ha_config, listener, auto))
        .await
        .context("joining the HA start task")?;
    match started {
        Ok(m) => {
            config.ha_listen_port = Some(m.local_addr().port());
            Ok(Some(m))
        }
        // A master no slave can reach would drop replication silently: refuse to start.
        Err(e) => Err(anyhow::anyhow!(
            "binding the HA port {addr} (haListenPort) of this {}: {e}",
            config.broker_role.as_str()
        )),
    }
}

/// With `archiveEnable`, the archiver that retention must pass before deleting a segment; the
/// trace topic's records also become trace rows.
fn state_archiver(store: &Arc<MessageStore>, trace_topic: &str) -> Option<Arc<Archiver>> {
    let config = store.config();
    if !config.archive_enable {
        return None;
    }
    let archiver = Arc::new(Archiver::new(
        store.meta().clone(),
        config.archive_dir(),
        ExportOptions {
            trace_topic: Some(trace_topic.to_owned()),
            ..ExportOptions::default()
        },
    ));
    store.set_segment_hold(archiver.clone());
    tracing::info!(dir = %config.archive_dir().display(), "segments are archived as Parquet before deletion");
    Some(archiver)
}

/// Answers FLUSH_SLAVE_TIMEOUT to the inline sends a slave has not reported within
/// `slaveTimeout` (checked every 20 ms).
async fn expire_replica_waits(master: Arc<ha::HaMaster>, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => master.expire_waiters(),
            _ = shutdown.changed() => return,
        }
    }
}

async fn expire_clients(state: Arc<BrokerState>, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(10)) => {}
            _ = shutdown.changed() => return,
        }
        for group in state.clients.expire(Instant::now()) {
            tracing::info!(group, "consumer expired");
            state.clients.notify_ids_changed(&group);
        }
    }
}
