//! Request handlers, one file per request family, and the dispatch: decode once through the
//! route table ([`super::request::ROUTES`]), hand the typed [`Request`] to its handler, and
//! turn a [`BrokerError`] into its response.

pub mod acl;
pub mod admin;
pub mod auth;
pub mod broker_config;
pub mod client_forward;
pub mod consumer_admin;
pub mod ha;
pub mod heartbeat;
pub mod lock;
pub mod offsets;
pub mod pull;
pub mod query;
pub mod retry;
pub mod send;
pub mod stats;
pub mod transaction;

use std::sync::Arc;
use std::time::Instant;

use sluice_remoting::RemotingCommand;

use super::error::BrokerError;
use super::request::{route_of, Request};
use super::{authz, BrokerState};
use crate::acl::perm::Rule;
use sluice_remoting::net::{Connection, Outbound};

/// What a handler produces: the reply, or `None` for no reply (END_TRANSACTION with an
/// unknown state: Java brokers stay silent).
pub type Handled = Result<Option<Outbound>, BrokerError>;

/// Answers a request on the calling thread if its route says it may and nothing needs waiting
/// for: sends whose units their caller appends (ASYNC_FLUSH). Anything else is handed back for
/// [`dispatch`].
pub fn dispatch_now(
    state: &Arc<BrokerState>,
    conn: &Arc<Connection>,
    cmd: RemotingCommand,
) -> Result<Option<Outbound>, RemotingCommand> {
    let Some(route) = route_of(cmd.code).filter(|r| r.inline) else {
        return Err(cmd);
    };
    if !state.submitter.appends_in_caller() {
        return Err(cmd);
    }
    let started = state.stats.metrics().map(|_| Instant::now());
    let out = match (route.decode)(&cmd) {
        Ok(req) => {
            let allowed = authorise(state, conn, &cmd, &req, || (route.acl)(&cmd, &req));
            let Request::Send(h) = req else {
                return Err(cmd);
            };
            match &state.replica_wait {
                None => allowed.and_then(|()| send::send_now(state, conn, &cmd, *h).map(Some)),
                Some(master) => allowed.and_then(|()| {
                    // Answered later, by the HA thread that reads the slave's report.
                    // Weak: the answer waits in the HA master, which the state holds.
                    let (state2, conn2) = (Arc::downgrade(state), conn.clone());
                    let (code, opaque, oneway) = (cmd.code, cmd.opaque, cmd.is_oneway());
                    let later = move |out: Outbound| {
                        if let Some(state) = state2.upgrade() {
                            observe(&state, code, out.cmd.code, started);
                        }
                        if !oneway {
                            sluice_remoting::net::respond(&conn2, out, opaque);
                        }
                    };
                    send::send_replicated_now(state, conn, &cmd, *h, master, later)
                }),
            }
        }
        Err(e) => authenticate(state, conn, &cmd).and(Err(e)),
    };
    let deferred = matches!(out, Ok(None));
    let out = reply(&cmd, out);
    if !deferred {
        observe(state, cmd.code, out.as_ref().map_or(-1, |o| o.cmd.code), started);
    }
    Ok(out)
}

/// `rocketmq_rpc_latency`: one request answered `started` ago (metrics on only).
fn observe(state: &BrokerState, code: i32, response_code: i32, started: Option<Instant>) {
    let (Some(m), Some(started)) = (state.stats.metrics(), started) else {
        return;
    };
    let long_poll = code == sluice_remoting::codes::request::PULL_MESSAGE
        || code == sluice_remoting::codes::request::LITE_PULL_MESSAGE;
    m.rpc(
        code,
        response_code,
        long_poll,
        started.elapsed().as_secs_f64() * 1000.0,
    );
}

/// A refusal: NO_PERMISSION with the reason, logged with the peer.
fn denied(conn: &Connection, cmd: &RemotingCommand, reason: String) -> BrokerError {
    tracing::info!(peer = %conn.peer(), code = cmd.code, %reason, "ACL refused a request");
    BrokerError::refused(sluice_remoting::codes::response::NO_PERMISSION, reason)
}

/// ACL 1.0 (`aclEnable`): `cmd` must come from an account (or address) allowed what `rule`
/// derives from the decoded request. ACL 2.0 (`authenticationEnabled` /
/// `authorizationEnabled`): a known user's signature, then its ACL for every resource
/// [`authz::needs`] names. Else NO_PERMISSION naming what was missing.
fn authorise(
    state: &BrokerState,
    conn: &Connection,
    cmd: &RemotingCommand,
    req: &Request,
    rule: impl FnOnce() -> Rule,
) -> Result<(), BrokerError> {
    if let Some(checker) = &state.acl {
        checker
            .check(conn.peer().ip(), cmd, &rule())
            .map_err(|d| denied(conn, cmd, d.0))?;
    }
    let auth = &state.auth;
    if auth.settings().enabled() {
        auth.authenticate(cmd).map_err(|d| denied(conn, cmd, d.0))?;
        if auth.settings().authorization {
            let needs = authz::needs(req, &state.config.broker_cluster_name);
            auth.authorize(conn.peer().ip(), cmd, &needs)
                .map_err(|d| denied(conn, cmd, d.0))?;
        }
    }
    Ok(())
}

/// For a request that did not decode or that the broker does not serve: the signature only.
fn authenticate(state: &BrokerState, conn: &Connection, cmd: &RemotingCommand) -> Result<(), BrokerError> {
    if let Some(checker) = &state.acl {
        checker
            .check(conn.peer().ip(), cmd, &Rule::Signature)
            .map_err(|d| denied(conn, cmd, d.0))?;
    }
    state.auth.authenticate(cmd).map_err(|d| denied(conn, cmd, d.0))
}

/// Routes one request. `None` = no reply now (oneway, or answered later).
pub async fn dispatch(
    state: &Arc<BrokerState>,
    conn: &Arc<Connection>,
    cmd: RemotingCommand,
) -> Option<Outbound> {
    let Some(route) = route_of(cmd.code) else {
        if let Err(e) = authenticate(state, conn, &cmd) {
            return reply(&cmd, Err(e));
        }
        return (!cmd.is_oneway()).then(|| sluice_remoting::net::not_supported(&cmd));
    };
    let started = state.stats.metrics().map(|_| Instant::now());
    let handled = match (route.decode)(&cmd) {
        Ok(req) => match authorise(state, conn, &cmd, &req, || (route.acl)(&cmd, &req)) {
            Ok(()) => {
                if route.reads_queue_state {
                    state.dispatch_caught_up().await;
                }
                handle(state, conn, &cmd, req).await
            }
            Err(e) => Err(e),
        },
        Err(e) => authenticate(state, conn, &cmd).and(Err(e)),
    };
    let out = reply(&cmd, handled);
    observe(state, cmd.code, out.as_ref().map_or(-1, |o| o.cmd.code), started);
    out
}

/// The reply to send for a handled request (none for oneways).
fn reply(cmd: &RemotingCommand, handled: Handled) -> Option<Outbound> {
    let out = match handled {
        Ok(out) => out,
        Err(e) => {
            tracing::debug!(code = cmd.code, error = %e, "request refused");
            Some(e.response_to(cmd).into())
        }
    };
    out.filter(|_| !cmd.is_oneway())
}

async fn handle(
    state: &Arc<BrokerState>,
    conn: &Arc<Connection>,
    cmd: &RemotingCommand,
    req: Request,
) -> Handled {
    let out = match req {
        Request::Send(h) => send::send(state, conn, cmd, *h).await?,
        Request::Pull(h) => pull::pull(state, conn, cmd, *h).await,
        Request::Heartbeat(data) => heartbeat::heartbeat(state, conn, cmd, *data)?,
        Request::UnregisterClient(h) => heartbeat::unregister_client(state, cmd, h),
        Request::ConsumerList(h) => heartbeat::consumer_list(state, cmd, h)?,
        Request::CheckClientConfig => heartbeat::check_client_config(state, cmd)?,
        Request::QueryConsumerOffset(h) => offsets::query_consumer_offset(state, cmd, h)?,
        Request::UpdateConsumerOffset(h) => offsets::update_consumer_offset(state, cmd, h)?,
        Request::MaxOffset(h) => offsets::max_offset(state, cmd, h),
        Request::MinOffset(h) => offsets::min_offset(state, cmd, h),
        Request::EarliestStoreTime(h) => offsets::earliest_store_time(state, cmd, h),
        Request::SearchOffset(h) => offsets::search_by_timestamp(state, cmd, h),
        Request::Lock(body) => lock::lock(state, cmd, body),
        Request::Unlock(body) => lock::unlock(state, cmd, body),
        Request::QueryMessage(h) => query::query_message(state, cmd, h).await?,
        Request::ViewMessage(h) => query::view_message(state, cmd, h).await?,
        Request::CreateTopic(h) => admin::create_topic(state, cmd, *h).await?,
        Request::DeleteTopic(h) => admin::delete_topic(state, cmd, h).await?,
        Request::AllTopicConfig => admin::all_topic_config(state, cmd),
        Request::TopicConfig(h) => admin::topic_config(state, cmd, h)?,
        Request::TopicStats(h) => stats::topic_stats(state, cmd, h)?,
        Request::RuntimeInfo => stats::runtime_info(state, cmd),
        Request::ViewStats(h) => stats::view_stats(state, cmd, h)?,
        Request::ConsumeStats(h) => consumer_admin::consume_stats(state, cmd, h)?,
        Request::BrokerConsumeStats(h) => consumer_admin::broker_consume_stats(state, cmd, h)?,
        Request::ConsumerConnections(h) => consumer_admin::consumer_connections(state, cmd, h)?,
        Request::ProducerConnections(h) => consumer_admin::producer_connections(state, cmd, h)?,
        Request::ConsumedBy(h) => consumer_admin::consumed_by(state, cmd, h)?,
        Request::DeleteGroup(h) => consumer_admin::delete_group(state, cmd, h)?,
        Request::CloneGroupOffset(h) => consumer_admin::clone_group_offset(state, cmd, *h)?,
        Request::BrokerConfig => broker_config::get_broker_config(state, cmd)?,
        Request::UpdateBrokerConfig => broker_config::update_broker_config(state, cmd)?,
        Request::UpdateGroup(g) => consumer_admin::update_group(state, cmd, *g)?,
        Request::AllGroups => consumer_admin::all_groups(state, cmd)?,
        Request::AllConsumerOffsets => offsets::all_consumer_offsets(state, cmd)?,
        Request::AllDelayOffsets => offsets::all_delay_offsets(state, cmd)?,
        Request::AllRequestModes => offsets::all_request_modes(cmd),
        Request::HaStatus => ha::ha_status(state, cmd),
        Request::EpochCache => ha::epoch_cache(state, cmd)?,
        Request::RoleChanged => ha::role_changed(state, cmd),
        Request::ResetOffset(h) => consumer_admin::reset_offset(state, cmd, *h)?,
        Request::AllProducers => consumer_admin::all_producers(state, cmd),
        Request::ConsumerRunningInfo(h) => client_forward::running_info(state, cmd, *h).await?,
        Request::ConsumeDirectly(h) => client_forward::consume_directly(state, cmd, *h).await?,
        Request::SendBack(h) => retry::send_back(state, cmd, *h).await?,
        Request::EndTransaction(h) => return transaction::end_transaction(state, conn, cmd, *h).await,
        Request::AclUpsert(a) => acl::upsert(state, cmd, &a)?,
        Request::AclDelete(ak) => acl::delete(state, cmd, &ak)?,
        Request::AclGlobalWhite(addrs) => acl::global_white(state, cmd, &addrs)?,
        Request::AclVersion => acl::versions(state, cmd)?,
        Request::AclConfig => acl::config(state, cmd)?,
        Request::Auth(a) => auth::handle(state, cmd, *a)?,
    };
    Ok(Some(out))
}

/// SUCCESS with no body.
pub fn ok(cmd: &RemotingCommand) -> Outbound {
    cmd.success_response().into()
}

/// SUCCESS with a body.
pub fn ok_with(cmd: &RemotingCommand, body: Vec<u8>) -> Outbound {
    cmd.success_response().with_body(body).into()
}
