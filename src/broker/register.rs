//! Keeping the NameServers informed: REGISTER_BROKER to each of them every
//! `registerNameServerPeriod` (30 s) and right after a topic change; UNREGISTER_BROKER on
//! shutdown (protocol.md §2.3.17).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use sluice_remoting::body::register::RegisterBrokerBody;
use sluice_remoting::body::JsonBody;
use sluice_remoting::codes::{request, response};
use sluice_remoting::header::route::{
    RegisterBrokerRequestHeader, RegisterBrokerResponseHeader, UnregisterBrokerRequestHeader,
};
use sluice_remoting::net::connect::refuse_requests;
use sluice_remoting::net::{connect, Connection};
use sluice_remoting::{DecoderLimits, RemotingCommand};
use tokio::sync::watch;

use super::BrokerState;

const TIMEOUT: Duration = Duration::from_secs(3);

type Clients = HashMap<String, Arc<Connection>>;

/// A connection to the NameServer at `addr` (which sends us no requests).
async fn open(addr: &str) -> std::io::Result<Arc<Connection>> {
    let limits = DecoderLimits {
        max_frame: 16 << 20,
        max_body: 16 << 20,
    };
    connect(addr, TIMEOUT, limits, refuse_requests).await
}

async fn client_for<'a>(clients: &'a mut Clients, addr: &str) -> Option<&'a Arc<Connection>> {
    if clients.get(addr).is_none_or(|c| c.is_closed()) {
        match open(addr).await {
            Ok(c) => {
                clients.insert(addr.to_owned(), c);
            }
            Err(e) => {
                tracing::warn!(namesrv = addr, error = %e, "cannot reach the NameServer");
                return None;
            }
        }
    }
    clients.get(addr)
}

fn register_command(state: &BrokerState) -> RemotingCommand {
    let mut wrapper = state.topics.wrapper();
    // Controller mode: the master epoch, so that a NameServer prefers the newer master when an
    // old one still registers as brokerId 0 (protocol.md §9.4).
    if let Some(run) = &state.config.controller.run {
        wrapper.data_version.state_version = i64::from(run.master_epoch);
    }
    // As 4.9 registers: a broker that is not both readable and writable gives every topic its
    // own permission, so the NameServer's routes steer clients away (the drain).
    let permission = state.permission();
    if permission & sluice_storage::meta::perm::READ_WRITE != sluice_storage::meta::perm::READ_WRITE {
        for t in wrapper.topic_config_table.values_mut() {
            t.perm = permission;
        }
    }
    let body = RegisterBrokerBody {
        topic_config_serialize_wrapper: wrapper,
        ..Default::default()
    }
    .to_json();
    let cfg = &state.config;
    let addr = state.broker_addr();
    let header = RegisterBrokerRequestHeader {
        broker_name: cfg.broker_name.clone(),
        broker_addr: addr.to_string(),
        cluster_name: cfg.broker_cluster_name.clone(),
        ha_server_addr: cfg.ha_server_addr().to_string(),
        broker_id: cfg.broker_id as i64,
        compressed: false,
        body_crc32: (crc32fast::hash(&body) & 0x7FFF_FFFF) as i32,
        heartbeat_timeout_millis: Some(120_000),
        enable_acting_master: false,
    };
    RemotingCommand::request(request::REGISTER_BROKER)
        .with_header(&header)
        .with_body(body)
}

/// Registers with every NameServer once.
pub async fn register_all(state: &BrokerState, clients: &mut Clients) {
    for addr in state.config.namesrv_addr.clone() {
        let Some(client) = client_for(clients, &addr).await else {
            continue;
        };
        let mut cmd = register_command(state);
        state.config.sign_own(&mut cmd);
        match client.request(cmd, TIMEOUT).await {
            Ok(r) if r.code == response::SUCCESS => {
                tracing::debug!(namesrv = addr, "registered");
                learn_master(state, &r);
            }
            Ok(r) => {
                tracing::warn!(namesrv = addr, code = r.code, remark = ?r.remark, "registration refused")
            }
            Err(e) => tracing::warn!(namesrv = addr, error = %e, "registration failed"),
        }
    }
}

/// A slave learns its master from the registration's answer: the master's HA address (for
/// the replication link, unless `haMasterAddress` is set) and its broker address (metadata).
fn learn_master(state: &BrokerState, reply: &RemotingCommand) {
    let Some(super::ha::Ha::Slave(slave)) = &state.ha else {
        return;
    };
    if state.config.controller.run.is_some() {
        // Controller mode: the controllers say who the master is, not the NameServer.
        return;
    }
    let Ok(h) = reply.decode_header::<RegisterBrokerResponseHeader>() else {
        return;
    };
    let master = h.master_addr.filter(|a| !a.is_empty());
    slave.set_master_from_namesrv(h.ha_server_addr.filter(|a| !a.is_empty()));
    if let Ok(mut m) = state.master_addr.lock() {
        if *m != master {
            tracing::info!(master = ?master, "master broker address from the NameServer");
            *m = master;
        }
    }
}

/// Registration rounds with the NameServers, counted, so that a request that changed the
/// topics can answer once the NameServers know (4.9 registers before it answers
/// UPDATE_AND_CREATE_TOPIC: a script's next command finds the topic in the route); and the
/// wake that starts one before the period is up.
#[derive(Default)]
pub struct Rounds {
    started: std::sync::atomic::AtomicU64,
    completed: tokio::sync::watch::Sender<u64>,
    wake: tokio::sync::Notify,
}

impl Rounds {
    /// Asks for a round soon (what the NameServers know changed: a topic, a group, a setting).
    pub fn request(&self) {
        self.wake.notify_one();
    }

    /// Asks for a round and waits, at most `timeout`, until one that began after this call has
    /// completed. Rounds start one after another, so the first to start after the call carries
    /// every change made before it.
    pub async fn registered(&self, timeout: Duration) -> bool {
        let after = self.started.load(std::sync::atomic::Ordering::Acquire);
        let mut rx = self.completed.subscribe();
        self.request();
        tokio::time::timeout(timeout, rx.wait_for(|done| *done > after))
            .await
            .is_ok_and(|r| r.is_ok())
    }
}

/// How soon a slave registers again while the NameServer names no master for it.
const MASTERLESS_RETRY: Duration = Duration::from_secs(2);

/// How long a topic change waits for the NameServers before answering anyway.
pub const REGISTERED_WAIT: Duration = Duration::from_secs(3);

/// The registration loop.
pub async fn run(state: Arc<BrokerState>, mut shutdown: watch::Receiver<bool>) {
    let mut clients = HashMap::new();
    let period = Duration::from_millis(state.config.register_name_server_period.max(1000));
    loop {
        let round = state
            .rounds
            .started
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel)
            + 1;
        register_all(&state, &mut clients).await;
        state.rounds.completed.send_replace(round);
        // A slave the NameServer named no master to asks again soon, not a period later: it
        // replicates nothing until it knows one (a slave started just before its master).
        let masterless =
            state.config.broker_role.is_slave() && state.master_addr.lock().is_ok_and(|m| m.is_none());
        let wait = if masterless {
            period.min(MASTERLESS_RETRY)
        } else {
            period
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = state.rounds.wake.notified() => {}
            _ = shutdown.changed() => break,
        }
    }
    for c in clients.values() {
        c.close();
    }
}

/// UNREGISTER_BROKER to every NameServer (clean shutdown).
pub async fn unregister_all(state: &BrokerState) {
    let cfg = &state.config;
    let header = UnregisterBrokerRequestHeader {
        broker_name: cfg.broker_name.clone(),
        broker_addr: state.broker_addr().to_string(),
        cluster_name: cfg.broker_cluster_name.clone(),
        broker_id: cfg.broker_id as i64,
    };
    for addr in &cfg.namesrv_addr {
        if let Ok(c) = open(addr).await {
            let mut cmd = RemotingCommand::request(request::UNREGISTER_BROKER).with_header(&header);
            cfg.sign_own(&mut cmd);
            let _ = c.request(cmd, TIMEOUT).await;
            c.close();
        }
    }
}
