//! LOCK_BATCH_MQ (41) / UNLOCK_BATCH_MQ (42) for orderly consumers — protocol.md §2.3.12, §7.4.

use std::sync::Arc;

use sluice_remoting::body::lock::{LockBatchRequestBody, LockBatchResponseBody, UnlockBatchRequestBody};
use sluice_remoting::body::JsonBody;
use sluice_remoting::RemotingCommand;

use super::system_error;
use crate::broker::BrokerState;
use crate::net::Outbound;

pub fn lock(state: &Arc<BrokerState>, cmd: &RemotingCommand) -> Outbound {
    let body = match LockBatchRequestBody::from_json(&cmd.body) {
        Ok(b) => b,
        Err(e) => return system_error(cmd, format!("bad lock body: {e}")),
    };
    let locked = state
        .locks
        .lock(&body.consumer_group, &body.client_id, &body.mq_set);
    let reply = LockBatchResponseBody {
        lock_ok_mq_set: locked,
    };
    cmd.success_response().with_body(reply.to_json()).into()
}

pub fn unlock(state: &Arc<BrokerState>, cmd: &RemotingCommand) -> Outbound {
    let body = match UnlockBatchRequestBody::from_json(&cmd.body) {
        Ok(b) => b,
        Err(e) => return system_error(cmd, format!("bad unlock body: {e}")),
    };
    state
        .locks
        .unlock(&body.consumer_group, &body.client_id, &body.mq_set);
    cmd.success_response().into()
}
