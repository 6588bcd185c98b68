//! Controller mode (`enableControllerMode=true`, RocketMQ 5.x RIP-44; protocol.md §9.4): the
//! controllers decide which broker of a group is master. A supervisor ([`run`]) claims this
//! broker's id ([`identity`]), registers it with the controller leader, heartbeats every
//! controller ([`client`]), and runs the broker in the role the controller gives it:
//!
//! * **master** (registered as brokerId 0, `dataVersion.stateVersion` = its epoch): before it
//!   serves, its epoch is appended to the epoch file at the log's end; its HA listener speaks
//!   5.x's AutoSwitch packets; a put is acknowledged once every slave of the SyncStateSet has it
//!   ([`sync_set`] keeps the set);
//! * **slave** of the master the controller names: its link compares epoch files and, when this
//!   log holds bytes the master never had, stops so that the supervisor cuts the log back
//!   (`MessageStore::truncate_closed`) before following.
//!
//! A role change (the controller's NOTIFY_BROKER_ROLE_CHANGED, a periodic
//! CONTROLLER_GET_REPLICA_INFO, a refused SyncStateSet change) ends the run: the broker stops
//! (its store closed cleanly) and starts again in the new role. Clients reconnect as they do
//! after any broker restart; the store, already in the page cache, reopens in milliseconds.
//! One broker that changes roles in place would touch every component; a restart keeps each of
//! them single-role, which is what they were written and tested as.

pub mod client;
pub mod identity;
pub mod sync_set;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use sluice_remoting::body::controller::SyncStateSet;
use sluice_remoting::body::JsonBody;
use sluice_remoting::codes::{request, response};
use sluice_remoting::header::controller::{
    BrokerHeartbeatRequestHeader, ElectMasterRequestHeader, GetReplicaInfoRequestHeader,
    GetReplicaInfoResponseHeader, RegisterBrokerToControllerRequestHeader,
    RegisterBrokerToControllerResponseHeader,
};
use sluice_remoting::RemotingCommand;
use sluice_storage::epochs::EpochFile;
use sluice_storage::MessageStore;
use tokio::sync::{watch, Notify};

use self::client::ControllerClient;
use crate::broker::config::{BrokerConfig, BrokerRole};
use crate::broker::ha::master::AutoSwitch;
use crate::broker::ha::slave::SlaveAuto;

/// What one run of the broker tells its supervisor.
#[derive(Debug, Default)]
pub struct RunEvents {
    wake: Notify,
    /// The log must be cut back to this offset before following the master.
    diverged: Mutex<Option<u64>>,
    /// The controller refused this master's epoch.
    deposed: AtomicBool,
}

impl RunEvents {
    /// Ask the controllers again who is master.
    pub fn poke(&self) {
        self.wake.notify_one();
    }

    pub fn diverged(&self, at: u64) {
        *self.diverged.lock().unwrap_or_else(|e| e.into_inner()) = Some(at);
        self.wake.notify_one();
    }

    pub fn deposed(&self) {
        self.deposed.store(true, Ordering::Release);
        self.wake.notify_one();
    }
}

/// One run's role, as the controller gave it.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// This broker's id at the controller.
    pub broker_id: i64,
    pub master_id: i64,
    pub master_epoch: i32,
    pub sync_state_set: BTreeSet<i64>,
    pub sync_state_set_epoch: i32,
    /// The master's broker address (metadata syncs).
    pub master_addr: String,
    pub events: Arc<RunEvents>,
}

impl RunContext {
    pub fn is_master(&self) -> bool {
        self.master_id == self.broker_id
    }
}

/// The master's AutoSwitch side for this run: its epoch appended to the epoch file at the log's
/// end (before anything is written in it), and the SyncStateSet's slaves to wait for.
pub fn master_auto(config: &BrokerConfig, store: &Arc<MessageStore>) -> anyhow::Result<Option<AutoSwitch>> {
    let Some(run) = config.controller.run.as_ref().filter(|r| r.is_master()) else {
        return Ok(None);
    };
    let mut epochs = EpochFile::load(store.root()).context("reading the epoch file")?;
    let end = store.commitlog().write_pos();
    if epochs.last().is_none_or(|e| e.epoch != run.master_epoch) {
        epochs
            .append(run.master_epoch, end)
            .context("recording this master's epoch")?;
        tracing::info!(epoch = run.master_epoch, start = end, "master epoch begins");
    }
    let c = &config.controller;
    Ok(Some(AutoSwitch {
        master_epoch: run.master_epoch,
        epochs: epochs.entries().to_vec(),
        required: run
            .sync_state_set
            .iter()
            .filter(|id| **id != run.broker_id)
            .copied()
            .collect(),
        min_replicas: c.in_sync_replicas.max(c.min_in_sync_replicas),
    }))
}

/// The slave's AutoSwitch side for this run.
pub fn slave_auto(config: &BrokerConfig, store: &Arc<MessageStore>) -> anyhow::Result<Option<SlaveAuto>> {
    let Some(run) = config.controller.run.as_ref().filter(|r| !r.is_master()) else {
        return Ok(None);
    };
    let events = run.events.clone();
    Ok(Some(SlaveAuto {
        broker_id: run.broker_id,
        epochs: EpochFile::load(store.root()).context("reading the epoch file")?,
        on_diverged: Box::new(move |at| events.diverged(at)),
    }))
}

/// A new master's topics: every topic its log holds that its topic table lacks (created on the
/// old master after this broker's last metadata sync) is created with the queues the log
/// shows, so that clients find the topics they were using.
pub fn adopt_topics(
    config: &BrokerConfig,
    store: &MessageStore,
    topics: &crate::broker::topics::TopicManager,
) {
    if !config.controller.run.as_ref().is_some_and(|r| r.is_master()) {
        return;
    }
    let mut queues: std::collections::BTreeMap<String, u32> = std::collections::BTreeMap::new();
    for (t, q) in store.queue_ids() {
        let n = queues.entry(t).or_default();
        *n = (*n).max(q + 1);
    }
    for (topic, n) in queues {
        if topics.get(&topic).is_some() {
            continue;
        }
        match topics.ensure(&topic, n, sluice_storage::meta::perm::READ_WRITE) {
            Ok(_) => tracing::info!(topic, queues = n, "topic adopted from the replicated log"),
            Err(e) => tracing::warn!(topic, error = %e, "cannot adopt a topic from the log"),
        }
    }
}

/// A slave's master broker address for metadata syncs, from the controller.
pub fn initial_master_addr(config: &BrokerConfig) -> Option<String> {
    config
        .controller
        .run
        .as_ref()
        .filter(|r| !r.is_master())
        .map(|r| r.master_addr.clone())
}

/// A group's master as the controller leader knows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct View {
    pub master_id: Option<i64>,
    pub master_addr: Option<String>,
    pub master_epoch: i32,
    pub sync_state_set: BTreeSet<i64>,
    pub sync_state_set_epoch: i32,
}

/// CONTROLLER_GET_REPLICA_INFO.
pub async fn replica_view(client: &ControllerClient, broker_name: &str) -> anyhow::Result<View> {
    let h = GetReplicaInfoRequestHeader {
        broker_name: broker_name.to_owned(),
    };
    let r = client
        .leader_ok("CONTROLLER_GET_REPLICA_INFO", || {
            RemotingCommand::request(request::CONTROLLER_GET_REPLICA_INFO).with_header(&h)
        })
        .await?;
    let head: GetReplicaInfoResponseHeader = r
        .decode_header()
        .context("CONTROLLER_GET_REPLICA_INFO's answer")?;
    let set = SyncStateSet::from_json(&r.body).unwrap_or_default();
    Ok(View {
        master_id: head.master_broker_id.filter(|id| *id >= 0),
        master_addr: head.master_address.filter(|a| !a.is_empty()),
        master_epoch: head.master_epoch.unwrap_or(0),
        sync_state_set: set.sync_state_set,
        sync_state_set_epoch: set.sync_state_set_epoch,
    })
}

/// CONTROLLER_REGISTER_BROKER, then CONTROLLER_ELECT_MASTER while the group has no live master.
async fn register(client: &ControllerClient, config: &BrokerConfig, id: i64) -> anyhow::Result<View> {
    let h = RegisterBrokerToControllerRequestHeader {
        cluster_name: config.broker_cluster_name.clone(),
        broker_name: config.broker_name.clone(),
        broker_id: id,
        broker_address: config.broker_addr().to_string(),
        invoke_time: sluice_storage::clock::now_millis(),
    };
    let r = client
        .leader_ok("CONTROLLER_REGISTER_BROKER", || {
            RemotingCommand::request(request::CONTROLLER_REGISTER_BROKER).with_header(&h)
        })
        .await?;
    let head: RegisterBrokerToControllerResponseHeader =
        r.decode_header().context("CONTROLLER_REGISTER_BROKER's answer")?;
    if head.master_broker_id.is_some_and(|m| m >= 0) {
        return replica_view(client, &config.broker_name).await;
    }
    let e = ElectMasterRequestHeader {
        cluster_name: config.broker_cluster_name.clone(),
        broker_name: config.broker_name.clone(),
        broker_id: id,
        designate_elect: false,
        invoke_time: sluice_storage::clock::now_millis(),
    };
    let r = client
        .leader_call(|| RemotingCommand::request(request::CONTROLLER_ELECT_MASTER).with_header(&e))
        .await?;
    if r.code != response::SUCCESS && r.code != response::CONTROLLER_MASTER_STILL_EXIST {
        tracing::info!(code = r.code, remark = ?r.remark, "no master elected yet");
    }
    replica_view(client, &config.broker_name).await
}

/// The master's HA address, from its GET_BROKER_CONFIG (`brokerIP2:haListenPort`).
async fn master_ha_addr(client: &ControllerClient, master_addr: &str) -> anyhow::Result<String> {
    let cmd = RemotingCommand::request(request::GET_BROKER_CONFIG);
    let r = client
        .call(master_addr, cmd, Duration::from_secs(3))
        .await
        .with_context(|| format!("asking the master {master_addr} for its HA address"))?;
    if r.code != response::SUCCESS {
        anyhow::bail!(
            "GET_BROKER_CONFIG at {master_addr}: code {} {}",
            r.code,
            r.remark.unwrap_or_default()
        );
    }
    let text = String::from_utf8_lossy(&r.body);
    let props = crate::config::properties::parse(&text).context("the master's settings")?;
    let get = |k: &str| {
        props
            .iter()
            .find(|(key, _, _)| key == k)
            .map(|(_, v, _)| v.clone())
    };
    let port = get("haListenPort").context("the master's settings have no haListenPort")?;
    let host = get("brokerIP2")
        .or_else(|| get("brokerIP1"))
        .or_else(|| master_addr.rsplit_once(':').map(|(h, _)| h.to_owned()))
        .context("the master's settings have no address")?;
    Ok(format!("{host}:{port}"))
}

/// What the heartbeats report.
#[derive(Default)]
struct Beat {
    epoch: AtomicI32,
    max_offset: AtomicU64,
    store: Mutex<Option<Arc<MessageStore>>>,
}

async fn heartbeats(
    client: Arc<ControllerClient>,
    config: BrokerConfig,
    id: i64,
    beat: Arc<Beat>,
    mut shutdown: watch::Receiver<bool>,
) {
    let c = &config.controller;
    loop {
        if let Some(store) = beat.store.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            beat.max_offset
                .store(store.commitlog().write_pos(), Ordering::Release);
            if let Ok(f) = EpochFile::load(store.root()) {
                beat.epoch
                    .store(f.last().map_or(0, |e| e.epoch), Ordering::Release);
            }
        }
        let h = BrokerHeartbeatRequestHeader {
            cluster_name: config.broker_cluster_name.clone(),
            broker_addr: config.broker_addr().to_string(),
            broker_name: config.broker_name.clone(),
            broker_id: Some(id),
            epoch: Some(beat.epoch.load(Ordering::Acquire)),
            max_offset: Some(beat.max_offset.load(Ordering::Acquire) as i64),
            confirm_offset: None,
            heartbeat_timeout_mills: Some(c.heartbeat_timeout.as_millis() as i64),
            election_priority: Some(c.election_priority),
        };
        client.to_all(
            &RemotingCommand::request(request::BROKER_HEARTBEAT).with_header(&h),
            c.heartbeat_interval.max(Duration::from_millis(500)),
        );
        tokio::select! {
            _ = tokio::time::sleep(c.heartbeat_interval) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Why a run ended.
enum End {
    Shutdown,
    RoleChanged,
    Diverged(u64),
}

/// The broker's config for a run in the role `view` gives it.
async fn run_config(
    config: &BrokerConfig,
    client: &ControllerClient,
    id: i64,
    view: &View,
    master: i64,
    events: &Arc<RunEvents>,
) -> anyhow::Result<BrokerConfig> {
    let mut c = config.clone();
    let master_addr = view.master_addr.clone().unwrap_or_default();
    if master == id {
        // The master always waits for its in-sync replicas (5.x acts as SYNC_MASTER here).
        c.broker_role = BrokerRole::SyncMaster;
        c.broker_id = 0;
    } else {
        c.broker_role = BrokerRole::Slave;
        c.broker_id = u64::try_from(id).context("a negative broker id from the controller")?;
        c.ha.master_address = Some(master_ha_addr(client, &master_addr).await?);
    }
    c.controller.run = Some(RunContext {
        broker_id: id,
        master_id: master,
        master_epoch: view.master_epoch,
        sync_state_set: view.sync_state_set.clone(),
        sync_state_set_epoch: view.sync_state_set_epoch,
        master_addr,
        events: events.clone(),
    });
    Ok(c)
}

/// Runs the broker in controller mode until `shutdown`.
pub async fn run(config: BrokerConfig, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
    config.check_controller_mode()?;
    if config.listen_port == 0 {
        anyhow::bail!(
            "controller mode needs a fixed listenPort: the controllers know a broker by its address"
        );
    }
    let c = &config.controller;
    if !c.all_ack_in_sync_state_set {
        tracing::info!(
            "controller mode: a send is acknowledged once every replica of the SyncStateSet has it \
             (allAckInSyncStateSet=true behaviour; stronger than the false configured)"
        );
    }
    let client = Arc::new(ControllerClient::new(&config));
    let id = loop {
        match identity::obtain(&client, &config).await {
            Ok(id) => break id,
            Err(e) => tracing::warn!(error = %e, "cannot claim a broker id yet; retrying"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.changed() => return Ok(()),
        }
    };
    let beat = Arc::new(Beat::default());
    if let Ok(f) = EpochFile::load(&config.store.store_path_root_dir) {
        beat.epoch
            .store(f.last().map_or(0, |e| e.epoch), Ordering::Release);
    }
    tokio::spawn(heartbeats(
        client.clone(),
        config.clone(),
        id,
        beat.clone(),
        shutdown.clone(),
    ));
    let mut cut: Option<u64> = None;
    loop {
        if *shutdown.borrow() {
            return Ok(());
        }
        let view = match register(&client, &config, id).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "controller registration failed; retrying");
                View::default()
            }
        };
        let Some(master) = view.master_id else {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                _ = shutdown.changed() => return Ok(()),
            }
        };
        if let Some(at) = cut.take() {
            let store_config = config.store.clone();
            tokio::task::spawn_blocking(move || MessageStore::truncate_closed(&store_config, at))
                .await
                .context("joining the truncation")?
                .context("cutting the CommitLog back")?;
        }
        let events = Arc::new(RunEvents::default());
        let run_cfg = match run_config(&config, &client, id, &view, master, &events).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot prepare this broker's role yet; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        tracing::info!(
            broker_id = id,
            master,
            epoch = view.master_epoch,
            role = if master == id { "master" } else { "slave" },
            "controller mode: starting in the role the controller gave"
        );
        let (stop_tx, stop_rx) = watch::channel(false);
        let handle = match crate::broker::start(run_cfg.clone(), stop_rx.clone()).await {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(error = format!("{e:#}"), "the broker did not start; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        *beat.store.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle.state.store.clone());
        if master == id {
            if let (Some(crate::broker::ha::Ha::Master(ha)), Some(run)) =
                (&handle.state.ha, &run_cfg.controller.run)
            {
                tokio::spawn(sync_set::run(
                    ha.clone(),
                    client.clone(),
                    run.clone(),
                    config.broker_name.clone(),
                    c.check_sync_state_set_period,
                    c.max_time_slave_not_catchup,
                    stop_rx.clone(),
                ));
            }
        }
        let end = watch_role(&client, &config, id, &view, &events, &mut shutdown).await;
        let _ = stop_tx.send(true);
        let store = handle.state.store.clone();
        handle
            .join()
            .await
            .context("stopping the broker for a role change")?;
        beat.max_offset
            .store(store.commitlog().write_pos(), Ordering::Release);
        *beat.store.lock().unwrap_or_else(|e| e.into_inner()) = None;
        drop(store);
        match end {
            End::Shutdown => return Ok(()),
            End::RoleChanged => tracing::info!("controller mode: the role changed; restarting the broker"),
            End::Diverged(at) => cut = Some(at),
        }
    }
}

/// Waits until this run's role is over.
async fn watch_role(
    client: &ControllerClient,
    config: &BrokerConfig,
    id: i64,
    view: &View,
    events: &RunEvents,
    shutdown: &mut watch::Receiver<bool>,
) -> End {
    let period = config.controller.sync_broker_metadata_period;
    loop {
        tokio::select! {
            _ = shutdown.changed() => return End::Shutdown,
            _ = events.wake.notified() => {}
            _ = tokio::time::sleep(period) => {}
        }
        if let Some(at) = events.diverged.lock().unwrap_or_else(|e| e.into_inner()).take() {
            return End::Diverged(at);
        }
        if events.deposed.load(Ordering::Acquire) {
            return End::RoleChanged;
        }
        match replica_view(client, &config.broker_name).await {
            Ok(now) if now.master_id != view.master_id || now.master_epoch != view.master_epoch => {
                tracing::info!(
                    was = ?view.master_id,
                    now = ?now.master_id,
                    epoch = now.master_epoch,
                    "the group's master changed"
                );
                return End::RoleChanged;
            }
            Ok(now) if now.master_id.is_none() => {
                // No master: any broker may ask for an election (the controller picks).
                let _ = register(client, config, id).await;
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "cannot reach the controller leader"),
        }
    }
}
