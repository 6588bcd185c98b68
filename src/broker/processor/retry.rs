//! CONSUMER_SEND_MSG_BACK (36) — protocol.md §2.3.7, §5.3: a message a consumer failed to
//! process goes back to `%RETRY%<group>` with a delay level (3 + reconsumeTimes unless the
//! client names one), or to `%DLQ%<group>` once it was retried `maxReconsumeTimes` times.

use std::sync::Arc;

use crate::broker::schedule::rebuild::{self, SendBack};
use crate::broker::schedule::with_record;
use sluice_remoting::codes::response;
use sluice_remoting::header::transaction::ConsumerSendMsgBackRequestHeader;
use sluice_remoting::RemotingCommand;
use sluice_storage::meta::perm;
use sluice_storage::StoreError;

use super::heartbeat::ensure_group;
use crate::broker::error::BrokerError;
use crate::broker::put;
use crate::broker::stats;
use crate::broker::topics::{DLQ_PREFIX, RETRY_PREFIX};
use crate::broker::BrokerState;
use sluice_remoting::net::Outbound;

/// Client versions from this one on send a `maxReconsumeTimes` the broker honours (V3_4_9).
const VERSION_WITH_MAX_RECONSUME: i32 = 121;

/// Creates the group's DLQ topic if missing (1 queue, readable and writable); its name.
pub fn ensure_dlq(state: &BrokerState, group: &str) -> Result<String, StoreError> {
    let topic = format!("{DLQ_PREFIX}{group}");
    let (_, created) = state.topics.ensure(&topic, 1, perm::READ_WRITE)?;
    if created {
        state.rounds.request();
    }
    Ok(topic)
}

pub async fn send_back(
    state: &Arc<BrokerState>,
    cmd: &RemotingCommand,
    h: ConsumerSendMsgBackRequestHeader,
) -> Result<Outbound, BrokerError> {
    let Some(group) = ensure_group(state, &h.group) else {
        return Err(BrokerError::refused(
            response::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!("subscription group not exist, {}", h.group),
        ));
    };
    put::check_writable(state)?;
    if group.retry_queue_nums == 0 {
        return Ok(super::ok(cmd));
    }
    let retry_topic = format!("{RETRY_PREFIX}{}", h.group);
    let (t, created) = state
        .topics
        .ensure_with_flag(
            &retry_topic,
            group.retry_queue_nums,
            perm::READ_WRITE,
            if h.unit_mode {
                crate::broker::topics::UNIT_SUB
            } else {
                0
            },
        )
        .map_err(BrokerError::system)?;
    if created {
        state.rounds.request();
    }
    if t.perm & perm::WRITE == 0 {
        return Err(BrokerError::refused(
            response::NO_PERMISSION,
            format!("the topic[{retry_topic}] sending message is forbidden"),
        ));
    }
    let not_found = || BrokerError::system(format!("look message by offset failed, {}", h.offset));
    let offset = u64::try_from(h.offset).map_err(|_| not_found())?;
    let max = match h.max_reconsume_times {
        Some(m) if cmd.version >= VERSION_WITH_MAX_RECONSUME => m,
        _ => group.retry_max_times,
    };
    let host = state.broker_addr();
    let store = state.store.clone();
    let retry_queues = group.retry_queue_nums.max(1);
    let reconsumed = with_record(&store, offset, |r| r.reconsume_times).map_err(|_| not_found())?;
    let to = (reconsumed < max && h.delay_level >= 0).then(|| SendBack {
        topic: retry_topic.clone(),
        queue_id: (sluice_storage::clock::now_millis().unsigned_abs() % u64::from(retry_queues)) as u32,
        delay_level: if h.delay_level == 0 {
            3 + reconsumed
        } else {
            h.delay_level
        },
    });
    let to = match to {
        Some(to) => to,
        None => SendBack {
            topic: ensure_dlq(state, &h.group).map_err(BrokerError::system)?,
            queue_id: 0,
            delay_level: 0,
        },
    };
    let msg = with_record(&store, offset, |r| rebuild::sent_back(r, &to, host)).map_err(|_| not_found())?;
    let mut unit = vec![msg];
    put::route(state, &mut unit)?;
    if to.delay_level == 0 {
        tracing::info!(group = %h.group, offset, "message moved to the dead-letter queue");
    }
    put::store(state, unit).await?;
    // Java's key: the topic the message went to, `@`, the group.
    let key = format!("{}@{}", to.topic, h.group);
    state.stats.add(stats::SNDBCK_PUT_NUMS, &key, 1);
    if to.topic.starts_with(DLQ_PREFIX) {
        if let Some(m) = state.stats.metrics() {
            m.sent_to_dlq(&h.group, 1);
        }
    }
    Ok(super::ok(cmd))
}
