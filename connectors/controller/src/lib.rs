//! The controller of RocketMQ 5.x controller mode (protocol.md §9.3–§9.4; issue #14): per broker
//! group the broker ids, the master, its epoch and the SyncStateSet, replicated on `openraft`
//! across the controllers named in `controllerDLegerPeers` (3 controllers survive the loss of
//! one). Runs standalone (`sluice controller -c controller.conf`) or inside a NameServer
//! (`enableControllerInNamesrv=true`). Nothing here touches the broker.
//!
//! * [`config`] — RocketMQ's controller keys.
//! * [`state`] — the replicated state, its commands and rules, the election policy.
//! * [`store`] — Raft log, vote and snapshots in RocksDB; the in-memory state machine.
//! * [`network`] — Raft RPCs between controllers over the remoting connection.
//! * [`heartbeats`] — broker liveness (not replicated).
//! * [`server`] — the request handler (broker, admin and peer requests on one listener).

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod config;
pub mod heartbeats;
pub mod network;
pub mod server;
pub mod state;
pub mod store;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use openraft::{BasicNode, Raft};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::ControllerConfig;
use server::ControllerService;
use state::{Applied, Command, GroupState};

openraft::declare_raft_types!(
    /// openraft's types for the controller.
    pub TypeConfig:
        D = Command,
        R = Applied,
        NodeId = u64,
        Node = BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = std::io::Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

/// Raft timing: leaders heartbeat every 100 ms; a follower that hears nothing for 400–800 ms
/// stands for election.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_millis(100);
pub const ELECTION_TIMEOUT_MIN: Duration = Duration::from_millis(400);
/// Snapshot bytes per InstallSnapshot RPC.
pub const SNAPSHOT_CHUNK: usize = 512 * 1024;

/// Why a controller could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("controller store {path}: {source}")]
    Store { path: String, source: rocksdb::Error },
    #[error("controller state: {0}")]
    State(String),
    #[error("controller: cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("controller Raft: {0}")]
    Raft(String),
}

/// A running controller.
pub struct Controller {
    raft: Raft<TypeConfig>,
    service: Arc<ControllerService>,
    addrs: Vec<SocketAddr>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// The store, to know when openraft's tasks have let go of it.
    db: std::sync::Weak<rocksdb::DB>,
}

impl std::fmt::Debug for Controller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller")
            .field("id", &self.service.config.self_id)
            .field("addrs", &self.addrs)
            .finish_non_exhaustive()
    }
}

fn listen_addr(config: &ControllerConfig, port: u16) -> SocketAddr {
    SocketAddr::new(config.bind_address, port)
}

fn port_of(addr: &str) -> u16 {
    addr.rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or(0)
}

impl Controller {
    /// Opens the store, starts the Raft node, listens on this controller's peer address (and on
    /// `listenPort` when that differs) and starts the heartbeat scan. The first start of a
    /// group initialises the membership from the peers list on every node (the same on all).
    pub async fn start(config: ControllerConfig) -> Result<Controller, StartError> {
        let config = Arc::new(config);
        std::fs::create_dir_all(&config.store_path).map_err(|e| StartError::State(e.to_string()))?;
        let db = store::open(&config.store_path).map_err(|source| StartError::Store {
            path: config.store_path.display().to_string(),
            source,
        })?;
        let weak_db = Arc::downgrade(&db);
        let log = store::LogStore::new(db.clone());
        let sm = store::StateMachineStore::new(db).map_err(|e| StartError::State(e.to_string()))?;
        let shared = sm.shared();
        let raft_config = openraft::Config {
            cluster_name: config.group.clone(),
            heartbeat_interval: HEARTBEAT_INTERVAL.as_millis() as u64,
            election_timeout_min: ELECTION_TIMEOUT_MIN.as_millis() as u64,
            election_timeout_max: 2 * ELECTION_TIMEOUT_MIN.as_millis() as u64,
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(1000),
            max_in_snapshot_log_to_keep: 1000,
            // A chunk travels as a JSON array of numbers (≤ 4 bytes a byte) and must stay under
            // the remoting frame's 4 MiB body limit.
            snapshot_max_chunk_size: SNAPSHOT_CHUNK as u64,
            ..Default::default()
        }
        .validate()
        .map_err(|e| StartError::Raft(e.to_string()))?;
        let raft = Raft::new(
            config.self_node(),
            Arc::new(raft_config),
            network::Network,
            log,
            sm,
        )
        .await
        .map_err(|e| StartError::Raft(e.to_string()))?;

        let mut ports = vec![port_of(config.self_addr())];
        if let Some(p) = config.listen_port.filter(|p| !ports.contains(p)) {
            ports.push(p);
        }
        let service = Arc::new(ControllerService {
            raft: raft.clone(),
            sm: shared,
            config: config.clone(),
            heartbeats: Default::default(),
            notify_conns: Default::default(),
            leading_since: Default::default(),
        });
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Vec::new();
        let mut addrs = Vec::new();
        for port in ports {
            let addr = listen_addr(&config, port);
            let listener = TcpListener::bind(addr).await.map_err(|source| StartError::Bind {
                addr: addr.to_string(),
                source,
            })?;
            addrs.push(listener.local_addr().unwrap_or(addr));
            tasks.push(tokio::spawn(sluice_remoting::net::serve(
                listener,
                service.clone(),
                stopped.clone(),
            )));
        }

        let initialized = raft
            .is_initialized()
            .await
            .map_err(|e| StartError::Raft(e.to_string()))?;
        if !initialized {
            let members: BTreeMap<u64, BasicNode> = config
                .peers
                .iter()
                .enumerate()
                .map(|(i, p)| (i as u64, BasicNode::new(p.addr.clone())))
                .collect();
            if let Err(e) = raft.initialize(members).await {
                // Another controller may have initialised the group first: that is fine.
                tracing::info!(error = %e, "controller: membership not initialised here");
            }
        }

        let scanner = service.clone();
        let mut scan_stop = stopped.clone();
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(scanner.config.scan_interval);
            loop {
                tokio::select! {
                    _ = tick.tick() => scanner.scan().await,
                    _ = scan_stop.changed() => break,
                }
            }
        }));
        tracing::info!(
            id = %config.self_id,
            group = %config.group,
            listen = ?addrs,
            "controller started"
        );
        Ok(Controller {
            raft,
            service,
            addrs,
            stop,
            tasks,
            db: weak_db,
        })
    }

    /// The addresses the controller listens on (the peer address first).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// The Raft node id of the current leader, if known.
    pub fn leader(&self) -> Option<u64> {
        self.raft.metrics().borrow().current_leader
    }

    /// This controller's Raft node id.
    pub fn node_id(&self) -> u64 {
        self.service.config.self_node()
    }

    /// The replicated state of one broker group as this controller has applied it.
    pub fn group(&self, broker_name: &str) -> Option<GroupState> {
        let sm = self.service.sm.read().unwrap_or_else(|p| p.into_inner());
        sm.state.groups.get(broker_name).cloned()
    }

    /// openraft's handle (metrics, snapshots).
    pub fn raft(&self) -> &Raft<TypeConfig> {
        &self.raft
    }

    /// Stops serving and stops the Raft node; the store is closed once the node is gone.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.raft.shutdown().await {
            tracing::warn!(error = %e, "controller: Raft shutdown");
        }
        for t in self.tasks {
            let _ = t.await;
        }
        // openraft's storage tasks end shortly after the core: wait for the store to close, so
        // that a restart in this process can open it again.
        drop(self.service);
        drop(self.raft);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while self.db.strong_count() > 0 && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if self.db.strong_count() > 0 {
            tracing::warn!("controller: the store is still open 5 s after shutdown");
        }
        tracing::info!("controller stopped");
    }
}
