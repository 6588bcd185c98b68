//! LOCK_BATCH_MQ (41) / UNLOCK_BATCH_MQ (42) for orderly consumers — protocol.md §2.3.12, §7.4.

use std::sync::Arc;

use sluice_remoting::body::lock::{LockBatchRequestBody, LockBatchResponseBody, UnlockBatchRequestBody};
use sluice_remoting::body::JsonBody;
use sluice_remoting::RemotingCommand;

use crate::broker::BrokerState;
use sluice_remoting::net::Outbound;

pub fn lock(state: &Arc<BrokerState>, cmd: &RemotingCommand, body: LockBatchRequestBody) -> Outbound {
    let locked = state
        .locks
        .lock(&body.consumer_group, &body.client_id, &body.mq_set);
    let reply = LockBatchResponseBody {
        lock_ok_mq_set: locked,
    };
    super::ok_with(cmd, reply.to_json())
}

pub fn unlock(state: &Arc<BrokerState>, cmd: &RemotingCommand, body: UnlockBatchRequestBody) -> Outbound {
    state
        .locks
        .unlock(&body.consumer_group, &body.client_id, &body.mq_set);
    super::ok(cmd)
}
