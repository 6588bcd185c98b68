//! Controller ↔ controller Raft RPCs over the remoting connection (`sluice_remoting::net`), under
//! sluice's private request codes 100001 (AppendEntries), 100002 (Vote) and 100003
//! (InstallSnapshot chunk). The request body is openraft's request as JSON; the SUCCESS
//! response body is `Result<response, RaftError>` as JSON. One connection per peer, made when
//! first needed and again after it breaks.
//!
//! Why the remoting connection and not a transport of its own: each controller then serves
//! brokers, admin tools and its peers on one address (as RocketMQ's DLedger controller does on
//! its peer address), with the same framing, limits and connection code as everything else.

use std::sync::Arc;
use std::time::Duration;

use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::BasicNode;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sluice_remoting::codes::{request, response};
use sluice_remoting::net::connect::refuse_requests;
use sluice_remoting::net::{connect, Connection};
use sluice_remoting::{DecoderLimits, RemotingCommand};

use crate::TypeConfig;

/// Makes one [`PeerClient`] per peer; node addresses come from the Raft membership.
#[derive(Clone, Default)]
pub struct Network;

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerClient;

    async fn new_client(&mut self, target: u64, node: &BasicNode) -> PeerClient {
        PeerClient {
            target,
            addr: node.addr.clone(),
            conn: None,
        }
    }
}

/// The connection to one peer.
pub struct PeerClient {
    target: u64,
    addr: String,
    conn: Option<Arc<Connection>>,
}

type RpcErr<E = openraft::error::Infallible> = RPCError<u64, BasicNode, RaftError<u64, E>>;

impl PeerClient {
    async fn call<Req, Resp, E>(&mut self, code: i32, req: &Req, ttl: Duration) -> Result<Resp, RpcErr<E>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let body = serde_json::to_vec(req).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let conn = match self.conn.as_ref().filter(|c| !c.is_closed()) {
            Some(c) => c.clone(),
            None => {
                let c = connect(&self.addr, ttl, raft_limits(), refuse_requests)
                    .await
                    .map_err(|e| RPCError::Unreachable(Unreachable::new(&e)))?;
                self.conn = Some(c.clone());
                c
            }
        };
        let reply = conn
            .request(RemotingCommand::request(code).with_body(body), ttl)
            .await
            .map_err(|e| {
                self.conn = None;
                RPCError::Network(NetworkError::new(&e))
            })?;
        if reply.code != response::SUCCESS {
            let e = std::io::Error::other(format!(
                "peer {} answered {}: {}",
                self.addr,
                reply.code,
                reply.remark.clone().unwrap_or_default()
            ));
            return Err(RPCError::Network(NetworkError::new(&e)));
        }
        let result: Result<Resp, RaftError<u64, E>> =
            serde_json::from_slice(&reply.body).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        result.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

/// Frame limits between controllers: a snapshot chunk is at most openraft's 3 MiB default.
pub fn raft_limits() -> DecoderLimits {
    DecoderLimits::default()
}

impl RaftNetwork<TypeConfig> for PeerClient {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<u64>, RpcErr> {
        self.call(request::SLUICE_RAFT_APPEND_ENTRIES, &rpc, option.hard_ttl())
            .await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<InstallSnapshotResponse<u64>, RpcErr<InstallSnapshotError>> {
        self.call(request::SLUICE_RAFT_INSTALL_SNAPSHOT, &rpc, option.hard_ttl())
            .await
    }

    async fn vote(&mut self, rpc: VoteRequest<u64>, option: RPCOption) -> Result<VoteResponse<u64>, RpcErr> {
        self.call(request::SLUICE_RAFT_VOTE, &rpc, option.hard_ttl())
            .await
    }
}

/// Serves one Raft RPC that reached this controller: decodes it, hands it to the local Raft
/// node, answers `Result<response, RaftError>` as JSON.
pub async fn serve_rpc(raft: &openraft::Raft<TypeConfig>, cmd: &RemotingCommand) -> RemotingCommand {
    fn answer<T: Serialize>(cmd: &RemotingCommand, result: &T) -> RemotingCommand {
        match serde_json::to_vec(result) {
            Ok(body) => RemotingCommand::response(response::SUCCESS).with_body(body),
            Err(e) => cmd.error_response(response::SYSTEM_ERROR, format!("cannot encode: {e}")),
        }
    }
    fn bad(cmd: &RemotingCommand, e: serde_json::Error) -> RemotingCommand {
        cmd.error_response(response::SYSTEM_ERROR, format!("bad Raft RPC body: {e}"))
    }
    match cmd.code {
        request::SLUICE_RAFT_APPEND_ENTRIES => match serde_json::from_slice(&cmd.body) {
            Ok(req) => answer(cmd, &raft.append_entries(req).await),
            Err(e) => bad(cmd, e),
        },
        request::SLUICE_RAFT_VOTE => match serde_json::from_slice(&cmd.body) {
            Ok(req) => answer(cmd, &raft.vote(req).await),
            Err(e) => bad(cmd, e),
        },
        request::SLUICE_RAFT_INSTALL_SNAPSHOT => match serde_json::from_slice(&cmd.body) {
            Ok(req) => answer(cmd, &raft.install_snapshot(req).await),
            Err(e) => bad(cmd, e),
        },
        _ => sluice_remoting::net::not_supported(cmd).cmd,
    }
}
