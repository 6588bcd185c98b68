//! Request handlers, one file per request family, and the routing by request code.

pub mod admin;
pub mod consumer_admin;
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

use sluice_dataflows::{AppendReply, AppendRequest, PipelineError};
use sluice_remoting::codes::{request, response};
use sluice_remoting::{HeaderError, RemotingCommand};
use sluice_storage::{MessageToStore, StoreError};
use tokio::sync::oneshot;

use super::BrokerState;
use crate::net::{Connection, Outbound};

/// Answers a request on the calling thread if it needs no waiting: sends whose units their
/// caller appends (ASYNC_FLUSH). Anything else is handed back for [`dispatch`].
pub fn dispatch_now(
    state: &Arc<BrokerState>,
    conn: &Arc<Connection>,
    cmd: RemotingCommand,
) -> Result<Option<Outbound>, RemotingCommand> {
    let is_send = matches!(
        cmd.code,
        request::SEND_MESSAGE | request::SEND_MESSAGE_V2 | request::SEND_BATCH_MESSAGE
    );
    if !is_send || !state.submitter.appends_in_caller() {
        return Err(cmd);
    }
    let out = send::send_now(state, conn, &cmd);
    Ok((!cmd.is_oneway()).then_some(out))
}

/// Routes one request. `None` = no reply now (oneway, or answered later).
pub async fn dispatch(
    state: &Arc<BrokerState>,
    conn: &Arc<Connection>,
    cmd: RemotingCommand,
) -> Option<Outbound> {
    if reads_queue_state(cmd.code) {
        state.dispatch_caught_up().await;
    }
    let out = match cmd.code {
        request::SEND_MESSAGE | request::SEND_MESSAGE_V2 | request::SEND_BATCH_MESSAGE => {
            send::send(state, conn, &cmd).await
        }
        request::PULL_MESSAGE | request::LITE_PULL_MESSAGE => pull::pull(state, &cmd).await,
        request::HEART_BEAT => heartbeat::heartbeat(state, conn, &cmd),
        request::UNREGISTER_CLIENT => heartbeat::unregister_client(state, &cmd),
        request::GET_CONSUMER_LIST_BY_GROUP => heartbeat::consumer_list(state, &cmd),
        request::CHECK_CLIENT_CONFIG => heartbeat::check_client_config(&cmd),
        request::QUERY_CONSUMER_OFFSET => offsets::query_consumer_offset(state, &cmd).await,
        request::UPDATE_CONSUMER_OFFSET => offsets::update_consumer_offset(state, &cmd).await,
        request::GET_MAX_OFFSET => offsets::max_offset(state, &cmd),
        request::GET_MIN_OFFSET => offsets::min_offset(state, &cmd),
        request::GET_EARLIEST_MSG_STORETIME => offsets::earliest_store_time(state, &cmd),
        request::SEARCH_OFFSET_BY_TIMESTAMP => offsets::search_by_timestamp(state, &cmd),
        request::LOCK_BATCH_MQ => lock::lock(state, &cmd),
        request::UNLOCK_BATCH_MQ => lock::unlock(state, &cmd),
        request::QUERY_MESSAGE => query::query_message(state, &cmd).await,
        request::VIEW_MESSAGE_BY_ID => query::view_message(state, &cmd).await,
        request::UPDATE_AND_CREATE_TOPIC => admin::create_topic(state, &cmd),
        request::DELETE_TOPIC_IN_BROKER => admin::delete_topic(state, &cmd).await,
        request::GET_ALL_TOPIC_CONFIG => admin::all_topic_config(state, &cmd),
        request::GET_TOPIC_STATS_INFO => stats::topic_stats(state, &cmd),
        request::GET_BROKER_RUNTIME_INFO => stats::runtime_info(state, &cmd),
        request::VIEW_BROKER_STATS_DATA => stats::view_stats(state, &cmd),
        request::GET_CONSUME_STATS => consumer_admin::consume_stats(state, &cmd),
        request::GET_CONSUMER_CONNECTION_LIST => consumer_admin::consumer_connections(state, &cmd),
        request::QUERY_TOPIC_CONSUME_BY_WHO => consumer_admin::consumed_by(state, &cmd),
        request::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP => consumer_admin::update_group(state, &cmd),
        request::GET_ALL_SUBSCRIPTIONGROUP_CONFIG => consumer_admin::all_groups(state, &cmd),
        request::INVOKE_BROKER_TO_RESET_OFFSET => consumer_admin::reset_offset(state, &cmd),
        request::CONSUMER_SEND_MSG_BACK => retry::send_back(state, &cmd).await,
        request::END_TRANSACTION => match transaction::end_transaction(state, conn, &cmd).await {
            Some(out) => out,
            // Unknown state: Java brokers stay silent even when the request wanted a reply.
            None => return None,
        },
        _ => crate::net::server::not_supported(&cmd),
    };
    (!cmd.is_oneway()).then_some(out)
}

/// Requests whose answer depends on ConsumeQueues or indexes: they first wait for the records
/// acked before them to be dispatched (pulls do so only when they find nothing).
fn reads_queue_state(code: i32) -> bool {
    matches!(
        code,
        request::GET_MAX_OFFSET
            | request::GET_MIN_OFFSET
            | request::GET_EARLIEST_MSG_STORETIME
            | request::SEARCH_OFFSET_BY_TIMESTAMP
            | request::QUERY_MESSAGE
            | request::GET_TOPIC_STATS_INFO
            | request::GET_CONSUME_STATS
            | request::INVOKE_BROKER_TO_RESET_OFFSET
    )
}

/// The reply to a header that does not parse.
pub fn bad_header(cmd: &RemotingCommand, e: &HeaderError) -> Outbound {
    cmd.header_error_response(e).into()
}

/// SYSTEM_ERROR with a remark.
pub fn system_error(cmd: &RemotingCommand, remark: impl std::fmt::Display) -> Outbound {
    cmd.error_response(response::SYSTEM_ERROR, remark.to_string())
        .into()
}

/// Stores a unit and returns its ack: appended right here under ASYNC_FLUSH, handed to the core
/// pipeline's group commit (acked after fdatasync) under SYNC_FLUSH.
pub async fn store_unit(
    state: &BrokerState,
    unit: Vec<MessageToStore>,
) -> Result<AppendReply, PipelineError> {
    if state.submitter.appends_in_caller() {
        return state.submitter.append_here(unit);
    }
    let (tx, rx) = oneshot::channel();
    let req = AppendRequest {
        unit,
        reply: Box::new(move |r| {
            let _ = tx.send(r);
        }),
    };
    state.submitter.submit(req).map_err(|(e, _)| e)?;
    rx.await.map_err(|_| PipelineError::Stopped)
}

/// The reply for a pipeline that did not take a unit.
pub fn not_taken(cmd: &RemotingCommand, e: PipelineError) -> Outbound {
    let code = match e {
        PipelineError::Busy { .. } => response::SYSTEM_BUSY,
        PipelineError::Stopped => response::SERVICE_NOT_AVAILABLE,
    };
    cmd.error_response(code, e.to_string()).into()
}

/// The reply for a unit the store refused.
pub fn refused(cmd: &RemotingCommand, e: StoreError) -> Outbound {
    let code = match e {
        StoreError::MessageTooLarge { .. } | StoreError::LargerThanSegment { .. } | StoreError::Encode(_) => {
            response::MESSAGE_ILLEGAL
        }
        StoreError::Closed => response::SERVICE_NOT_AVAILABLE,
        _ => response::SYSTEM_ERROR,
    };
    cmd.error_response(code, e.to_string()).into()
}

/// Maps a pipeline answer to "stored" or the error reply (flush timeouts count as stored).
pub fn stored_or_reply(
    cmd: &RemotingCommand,
    answer: Result<AppendReply, PipelineError>,
) -> Result<Vec<sluice_storage::Appended>, Box<Outbound>> {
    let reply = match answer {
        Ok(AppendReply::Stored(a)) | Ok(AppendReply::FlushTimeout(a)) => return Ok(a),
        Ok(AppendReply::Refused(e)) => refused(cmd, e),
        Ok(AppendReply::Failed(e)) => cmd.error_response(response::SERVICE_NOT_AVAILABLE, e).into(),
        Err(e) => not_taken(cmd, e),
    };
    Err(Box::new(reply))
}
