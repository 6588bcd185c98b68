//! The controller's request handler: RocketMQ's controller codes (904, 1001–1006, 1012, 1013;
//! protocol.md §9.4) and the Raft RPCs of its peers (`network`), all on one listener.
//!
//! Heartbeats (904) and metadata (1005) are answered by every controller; every other request
//! is the leader's: a follower answers CONTROLLER_NOT_LEADER (2007) naming the leader in the
//! remark and in `controllerLeaderId` / `controllerLeaderAddress`, as brokers re-read the
//! metadata and retry. Changes go through the Raft log (`state::Command`) and are answered with
//! what the state machine made of them.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use std::time::Instant;

use openraft::error::{ClientWriteError, RaftError};
use openraft::Raft;
use sluice_remoting::body::controller::{
    BrokerMemberGroup, BrokerNames, BrokerReplicasInfo, ElectMasterResponseBody, ReplicaIdentity,
    ReplicasInfo, SyncStateSet,
};
use sluice_remoting::body::JsonBody;
use sluice_remoting::codes::{request, response};
use sluice_remoting::header::controller::*;
use sluice_remoting::net::connect::refuse_requests;
use sluice_remoting::net::{Connection, Handler, Outbound};
use sluice_remoting::{DecoderLimits, HeaderError, RemotingCommand};

use crate::config::ControllerConfig;
use crate::heartbeats::Heartbeats;
use crate::state::{choose_master, Choice, Command, GroupState, Refusal};
use crate::store::StateMachineData;
use crate::{network, TypeConfig};

/// Serves one controller.
pub struct ControllerService {
    pub(crate) raft: Raft<TypeConfig>,
    pub(crate) sm: Arc<RwLock<StateMachineData>>,
    pub(crate) config: Arc<ControllerConfig>,
    pub(crate) heartbeats: Arc<Heartbeats>,
    /// Connections to brokers for NOTIFY_BROKER_ROLE_CHANGED, by address.
    pub(crate) notify_conns: Arc<Mutex<HashMap<String, Arc<Connection>>>>,
    /// When this controller's scan first saw itself leader (None while it is not).
    pub(crate) leading_since: Mutex<Option<Instant>>,
}

/// How long a change may wait to be committed (a leader cut off from its quorum answers
/// CONTROLLER_JRAFT_INTERNAL_ERROR instead of holding the request forever).
pub const PROPOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a request got no ordinary answer.
enum Fail {
    NotLeader(Option<u64>),
    Refused(Refusal),
    Header(HeaderError),
    Body(String),
    Raft(String),
}

impl From<HeaderError> for Fail {
    fn from(e: HeaderError) -> Self {
        Fail::Header(e)
    }
}

impl From<Refusal> for Fail {
    fn from(r: Refusal) -> Self {
        Fail::Refused(r)
    }
}

type Answer = Result<RemotingCommand, Fail>;

fn ok() -> RemotingCommand {
    RemotingCommand::response(response::SUCCESS)
}

impl Handler for ControllerService {
    async fn handle(&self, conn: &Arc<Connection>, cmd: RemotingCommand) -> Option<Outbound> {
        let answer = match cmd.code {
            c if request::is_raft(c) => Ok(network::serve_rpc(&self.raft, &cmd).await),
            request::BROKER_HEARTBEAT => self.heartbeat(&cmd, conn.id()),
            request::CONTROLLER_GET_METADATA_INFO => Ok(self.metadata()),
            _ => self.leader_request(&cmd).await,
        };
        Some(match answer {
            Ok(reply) => reply.into(),
            Err(fail) => self.failure(&cmd, fail).into(),
        })
    }

    /// A broker's heartbeat connection closed (a killed broker's does at once): it has
    /// `heartbeats::CLOSED_GRACE` to heartbeat again before the scan counts it gone.
    fn on_close(&self, conn: &Arc<Connection>) {
        self.heartbeats.connection_closed(conn.id(), Instant::now());
    }
}

impl ControllerService {
    fn state(&self) -> std::sync::RwLockReadGuard<'_, StateMachineData> {
        self.sm.read().unwrap_or_else(|p| p.into_inner())
    }

    fn group(&self, broker_name: &str) -> Option<GroupState> {
        self.state().state.groups.get(broker_name).cloned()
    }

    fn leader(&self) -> Option<u64> {
        self.raft.metrics().borrow().current_leader
    }

    fn failure(&self, cmd: &RemotingCommand, fail: Fail) -> RemotingCommand {
        match fail {
            Fail::NotLeader(leader) => {
                let peer = leader.and_then(|l| self.config.peer(l));
                let remark = match peer {
                    Some(p) => format!(
                        "The controller is not in leader state; the leader is {} at {}",
                        p.id, p.addr
                    ),
                    None => "The controller is not in leader state; no leader is known yet".to_owned(),
                };
                let mut reply = cmd.error_response(response::CONTROLLER_NOT_LEADER, remark);
                if let Some(p) = peer {
                    reply = reply
                        .with_ext("controllerLeaderId", p.id.clone())
                        .with_ext("controllerLeaderAddress", p.addr.clone());
                }
                reply
            }
            Fail::Refused(r) => cmd.error_response(r.code, r.remark),
            Fail::Header(e) => cmd.header_error_response(&e),
            Fail::Body(e) => cmd.error_response(response::CONTROLLER_INVALID_REQUEST, e),
            Fail::Raft(e) => cmd.error_response(response::CONTROLLER_JRAFT_INTERNAL_ERROR, e),
        }
    }

    /// CONTROLLER_GET_METADATA_INFO (1005): any controller answers.
    fn metadata(&self) -> RemotingCommand {
        let leader = self.leader().and_then(|l| self.config.peer(l));
        ok().with_header(&GetMetaDataResponseHeader {
            group: Some(self.config.group.clone()),
            controller_leader_id: leader.map(|p| p.id.clone()),
            controller_leader_address: leader.map(|p| p.addr.clone()),
            is_leader: self.leader() == Some(self.config.self_node()),
            peers: Some(self.config.peers_text()),
        })
    }

    /// BROKER_HEARTBEAT (904): every controller records it.
    fn heartbeat(&self, cmd: &RemotingCommand, conn: u64) -> Answer {
        let h: BrokerHeartbeatRequestHeader = cmd.decode_header()?;
        let id = h.broker_id.or_else(|| {
            let g = self.group(&h.broker_name)?;
            g.brokers
                .iter()
                .find(|(_, b)| b.addr == h.broker_addr)
                .map(|(id, _)| *id)
        });
        match id {
            Some(id) => self.heartbeats.beat(&h, id, Instant::now(), Some(conn)),
            None => tracing::debug!(broker = %h.broker_addr, "heartbeat from a broker without an id ignored"),
        }
        Ok(ok())
    }

    async fn ensure_leader(&self) -> Result<(), Fail> {
        if self.config.linearizable_reads {
            return match self.raft.ensure_linearizable().await {
                Ok(_) => Ok(()),
                Err(_) => Err(Fail::NotLeader(self.leader())),
            };
        }
        match self.leader() {
            Some(l) if l == self.config.self_node() => Ok(()),
            other => Err(Fail::NotLeader(other)),
        }
    }

    /// Appends `cmd` to the Raft log and returns what the state machine made of it.
    async fn propose(&self, cmd: Command) -> Result<GroupState, Fail> {
        let written = tokio::time::timeout(PROPOSE_TIMEOUT, self.raft.client_write(cmd))
            .await
            .map_err(|_| Fail::Raft(format!("not committed within {PROPOSE_TIMEOUT:?} (no quorum?)")))?;
        match written {
            Ok(resp) => Ok(resp.data?),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => {
                Err(Fail::NotLeader(f.leader_id))
            }
            Err(e) => Err(Fail::Raft(e.to_string())),
        }
    }

    async fn leader_request(&self, cmd: &RemotingCommand) -> Answer {
        match cmd.code {
            request::CONTROLLER_GET_NEXT_BROKER_ID
            | request::CONTROLLER_APPLY_BROKER_ID
            | request::CONTROLLER_REGISTER_BROKER
            | request::CONTROLLER_ELECT_MASTER
            | request::CONTROLLER_GET_REPLICA_INFO
            | request::CONTROLLER_ALTER_SYNC_STATE_SET
            | request::CONTROLLER_GET_SYNC_STATE_DATA => {}
            _ => return Ok(sluice_remoting::net::not_supported(cmd).cmd),
        }
        self.ensure_leader().await?;
        match cmd.code {
            request::CONTROLLER_GET_NEXT_BROKER_ID => {
                let h: GetNextBrokerIdRequestHeader = cmd.decode_header()?;
                let next = self
                    .group(&h.broker_name)
                    .map_or(crate::state::FIRST_BROKER_ID, |g| g.next_broker_id());
                Ok(ok().with_header(&GetNextBrokerIdResponseHeader {
                    cluster_name: Some(h.cluster_name),
                    broker_name: Some(h.broker_name),
                    next_broker_id: next,
                }))
            }
            request::CONTROLLER_APPLY_BROKER_ID => {
                let h: ApplyBrokerIdRequestHeader = cmd.decode_header()?;
                let addr = h
                    .register_check_code
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                self.propose(Command::ApplyBrokerId {
                    cluster: h.cluster_name.clone(),
                    broker_name: h.broker_name.clone(),
                    broker_id: h.applied_broker_id,
                    addr,
                    check_code: h.register_check_code,
                })
                .await?;
                Ok(ok().with_header(&ApplyBrokerIdResponseHeader {
                    cluster_name: Some(h.cluster_name),
                    broker_name: Some(h.broker_name),
                }))
            }
            request::CONTROLLER_REGISTER_BROKER => self.register(cmd).await,
            request::CONTROLLER_ELECT_MASTER => {
                let h: ElectMasterRequestHeader = cmd.decode_header()?;
                let requester = (h.broker_id >= 0).then_some(h.broker_id);
                let designated = requester.filter(|_| h.designate_elect);
                self.elect(&h.broker_name, requester, designated).await
            }
            request::CONTROLLER_GET_REPLICA_INFO => {
                let h: GetReplicaInfoRequestHeader = cmd.decode_header()?;
                let g = self.group(&h.broker_name).ok_or_else(|| Refusal {
                    code: response::CONTROLLER_BROKER_METADATA_NOT_EXIST,
                    remark: format!("no metadata for broker group {}", h.broker_name),
                })?;
                Ok(ok()
                    .with_header(&GetReplicaInfoResponseHeader {
                        master_broker_id: g.master,
                        master_address: g.master.and_then(|m| g.addr_of(m)).map(str::to_owned),
                        master_epoch: Some(g.master_epoch),
                    })
                    .with_body(sync_state_set(&g).to_json()))
            }
            request::CONTROLLER_ALTER_SYNC_STATE_SET => self.alter(cmd).await,
            _ => self.sync_state_data(cmd),
        }
    }

    /// CONTROLLER_REGISTER_BROKER (1003).
    async fn register(&self, cmd: &RemotingCommand) -> Answer {
        let h: RegisterBrokerToControllerRequestHeader = cmd.decode_header()?;
        let need = |what: String| Refusal {
            code: response::CONTROLLER_BROKER_NEED_TO_BE_REGISTERED,
            remark: what,
        };
        let mut g = self
            .group(&h.broker_name)
            .ok_or_else(|| need(format!("broker group {} has not been registered", h.broker_name)))?;
        let known = g.addr_of(h.broker_id).ok_or_else(|| {
            need(format!(
                "broker id {} has not applied in {}",
                h.broker_id, h.broker_name
            ))
        })?;
        if known != h.broker_address {
            g = self
                .propose(Command::UpdateAddress {
                    broker_name: h.broker_name.clone(),
                    broker_id: h.broker_id,
                    addr: h.broker_address.clone(),
                })
                .await?;
        }
        let live_master = g.master.filter(|m| self.alive(&h.broker_name, *m));
        Ok(ok()
            .with_header(&RegisterBrokerToControllerResponseHeader {
                cluster_name: Some(h.cluster_name),
                broker_name: Some(h.broker_name),
                master_broker_id: live_master,
                master_address: live_master.and_then(|m| g.addr_of(m)).map(str::to_owned),
                master_epoch: live_master.map(|_| g.master_epoch),
                sync_state_set_epoch: live_master.map(|_| g.sync_state_set_epoch),
            })
            .with_body(sync_state_set(&g).to_json()))
    }

    fn alive(&self, broker_name: &str, id: i64) -> bool {
        self.heartbeats
            .liveness(broker_name, id, Instant::now())
            .is_some()
    }

    /// Elects a master for `broker_name` (CONTROLLER_ELECT_MASTER, or the scan after the master
    /// expired: `requester` None).
    async fn elect(&self, broker_name: &str, requester: Option<i64>, designated: Option<i64>) -> Answer {
        let g = self.group(broker_name).ok_or_else(|| Refusal {
            code: response::CONTROLLER_BROKER_NEED_TO_BE_REGISTERED,
            remark: format!("broker group {broker_name} has not been registered"),
        })?;
        let now = Instant::now();
        let alive = |id: i64| self.heartbeats.liveness(broker_name, id, now);
        let choice = choose_master(&g, &alive, self.config.elect_unclean, requester, designated);
        let header = |g: &GroupState| ElectMasterResponseHeader {
            master_broker_id: g.master,
            master_address: g.master.and_then(|m| g.addr_of(m)).map(str::to_owned),
            master_epoch: Some(g.master_epoch),
            sync_state_set_epoch: Some(g.sync_state_set_epoch),
        };
        let body = |g: &GroupState| ElectMasterResponseBody {
            broker_member_group: Some(BrokerMemberGroup {
                broker_addrs: g.brokers.iter().map(|(id, b)| (*id, b.addr.clone())).collect(),
                broker_name: broker_name.to_owned(),
                cluster: g.cluster.clone(),
            }),
            sync_state_set: g.sync_state_set.clone(),
        };
        let (new_master, why) = match choice {
            Choice::Keep(m) => {
                return Ok(RemotingCommand::response(response::CONTROLLER_MASTER_STILL_EXIST)
                    .with_remark(format!("master {m} of {broker_name} is still alive"))
                    .with_header(&header(&g))
                    .with_body(body(&g).to_json()));
            }
            Choice::Elect(id, why) => (Some(id), why),
            Choice::None => (None, "no live broker may be elected"),
        };
        if new_master.is_none() && requester.is_some() {
            return Err(Fail::Refused(Refusal {
                code: response::CONTROLLER_ELECT_MASTER_FAILED,
                remark: format!("failed to elect a master for {broker_name}: {why}"),
            }));
        }
        let after = self
            .propose(Command::ElectMaster {
                broker_name: broker_name.to_owned(),
                new_master,
                expected_master_epoch: g.master_epoch,
                unclean_allowed: self.config.elect_unclean,
            })
            .await?;
        match new_master {
            Some(id) => {
                tracing::info!(broker_name, master = id, epoch = after.master_epoch, old = ?g.master, why, "controller: master elected");
                if self.config.notify_role_changed {
                    self.notify_role_changed(broker_name, &after);
                }
                Ok(ok()
                    .with_header(&header(&after))
                    .with_body(body(&after).to_json()))
            }
            None => {
                tracing::warn!(broker_name, old = ?g.master, why, "controller: the master is gone and none could be elected");
                Err(Fail::Refused(Refusal {
                    code: response::CONTROLLER_MASTER_NOT_AVAILABLE,
                    remark: format!("the master of {broker_name} is down and none could be elected: {why}"),
                }))
            }
        }
    }

    /// CONTROLLER_ALTER_SYNC_STATE_SET (1001): only from the current master at the current
    /// epochs (checked by the state machine), with live replicas (checked here).
    async fn alter(&self, cmd: &RemotingCommand) -> Answer {
        let h: AlterSyncStateSetRequestHeader = cmd.decode_header()?;
        let set =
            SyncStateSet::from_json(&cmd.body).map_err(|e| Fail::Body(format!("SyncStateSet body: {e}")))?;
        if let Some(dead) = set
            .sync_state_set
            .iter()
            .find(|id| !self.alive(&h.broker_name, **id))
        {
            return Err(Fail::Refused(Refusal {
                code: response::CONTROLLER_BROKER_NOT_ALIVE,
                remark: format!("replica {dead} of {} is not alive", h.broker_name),
            }));
        }
        let g = self
            .propose(Command::AlterSyncStateSet {
                broker_name: h.broker_name.clone(),
                master: h.master_broker_id,
                master_epoch: h.master_epoch,
                sync_state_set_epoch: set.sync_state_set_epoch,
                new_set: set.sync_state_set.clone(),
            })
            .await?;
        Ok(ok()
            .with_header(&AlterSyncStateSetResponseHeader {
                new_sync_state_set_epoch: g.sync_state_set_epoch,
            })
            .with_body(sync_state_set(&g).to_json()))
    }

    /// CONTROLLER_GET_SYNC_STATE_DATA (1006, mqadmin `getSyncStateSet`).
    fn sync_state_data(&self, cmd: &RemotingCommand) -> Answer {
        let names =
            BrokerNames::from_json(&cmd.body).map_err(|e| Fail::Body(format!("broker names body: {e}")))?;
        let mut out = BrokerReplicasInfo::default();
        for name in names.0 {
            let Some(g) = self.group(&name) else { continue };
            let identity = |id: i64| ReplicaIdentity {
                alive: self.alive(&name, id),
                broker_address: g.addr_of(id).unwrap_or_default().to_owned(),
                broker_id: id,
                broker_name: name.clone(),
            };
            let (in_sync, not_in_sync): (BTreeSet<i64>, BTreeSet<i64>) =
                g.brokers.keys().partition(|id| g.sync_state_set.contains(id));
            out.replicas_info_table.insert(
                name.clone(),
                ReplicasInfo {
                    in_sync_replicas: in_sync.into_iter().map(identity).collect(),
                    master_address: g.master.and_then(|m| g.addr_of(m)).map(str::to_owned),
                    master_broker_id: g.master,
                    master_epoch: g.master_epoch,
                    not_in_sync_replicas: not_in_sync.into_iter().map(identity).collect(),
                    sync_state_set_epoch: g.sync_state_set_epoch,
                },
            );
        }
        Ok(ok().with_body(out.to_json()))
    }

    /// One scan (every `scanNotActiveBrokerInterval`): forgets brokers whose heartbeat
    /// expired and, on the leader, elects anew where one of them was the master.
    pub(crate) async fn scan(&self) {
        let now = Instant::now();
        let expired = self.heartbeats.expire(now);
        for (broker_name, id) in &expired {
            tracing::info!(
                broker_name,
                broker_id = id,
                "controller: broker heartbeat expired"
            );
        }
        let leading = self.leader() == Some(self.config.self_node());
        let since = {
            let mut since = self.leading_since.lock().unwrap_or_else(|p| p.into_inner());
            if !leading {
                *since = None;
                return;
            }
            *since.get_or_insert(now)
        };
        let settled = now.saturating_duration_since(since) >= crate::heartbeats::DEFAULT_TIMEOUT;
        let lost = {
            let sm = self.state();
            let alive = |name: &str, id: i64| self.heartbeats.liveness(name, id, now).is_some();
            crate::heartbeats::lost_masters(&sm.state, &alive, &expired, settled)
        };
        for broker_name in lost {
            tracing::info!(broker_name, "controller: the master is not alive; electing");
            for attempt in 1..=self.config.elect_max_retry.max(1) {
                match self.elect(&broker_name, None, None).await {
                    Ok(_) => break,
                    Err(Fail::Refused(r)) if r.code == response::CONTROLLER_MASTER_NOT_AVAILABLE => break,
                    Err(_) => tracing::warn!(broker_name, attempt, "controller: election failed; retrying"),
                }
            }
        }
    }
}

impl ControllerService {
    /// NOTIFY_BROKER_ROLE_CHANGED (oneway) to every live broker of the group, on a task of its
    /// own: a broker that cannot be reached learns it at its next poll (1004) anyway.
    fn notify_role_changed(&self, broker_name: &str, g: &GroupState) {
        let now = Instant::now();
        let targets: Vec<String> = g
            .brokers
            .iter()
            .filter(|(id, _)| self.heartbeats.liveness(broker_name, **id, now).is_some())
            .map(|(_, b)| b.addr.clone())
            .collect();
        let cmd = RemotingCommand::request(request::NOTIFY_BROKER_ROLE_CHANGED)
            .with_header(&NotifyBrokerRoleChangedRequestHeader {
                master_address: g.master.and_then(|m| g.addr_of(m)).map(str::to_owned),
                master_epoch: Some(g.master_epoch),
                sync_state_set_epoch: Some(g.sync_state_set_epoch),
                master_broker_id: g.master,
            })
            .with_body(sync_state_set(g).to_json());
        let conns = self.notify_conns.clone();
        tokio::spawn(async move {
            for addr in targets {
                let cached = conns
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(&addr)
                    .filter(|c| !c.is_closed())
                    .cloned();
                let conn = match cached {
                    Some(c) => c,
                    None => match sluice_remoting::net::connect(
                        &addr,
                        Duration::from_secs(3),
                        DecoderLimits::default(),
                        refuse_requests,
                    )
                    .await
                    {
                        Ok(c) => {
                            conns
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .insert(addr.clone(), c.clone());
                            c
                        }
                        Err(e) => {
                            tracing::info!(broker = %addr, error = %e, "controller: cannot notify a broker of the role change");
                            continue;
                        }
                    },
                };
                conn.send_oneway(cmd.clone());
            }
        });
    }
}

fn sync_state_set(g: &GroupState) -> SyncStateSet {
    SyncStateSet {
        sync_state_set: g.sync_state_set.clone(),
        sync_state_set_epoch: g.sync_state_set_epoch,
    }
}
