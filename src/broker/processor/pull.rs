//! PULL_MESSAGE (11) / LITE_PULL_MESSAGE (361) — protocol.md §2.3.2, §4.11, §7.1.
//!
//! Served from the store's mmap on the tokio side (the records are zero-copy slices written
//! straight to the socket); a pull that finds nothing is parked until the pipeline's delivery
//! stage reports its queue grew, or until the client's suspend timeout.

use std::sync::Arc;
use std::time::Duration;

use sluice_remoting::body::heartbeat::SubscriptionData;
use sluice_remoting::codes::response;
use sluice_remoting::header::pull::{PullMessageRequestHeader, PullMessageResponseHeader};
use sluice_remoting::RemotingCommand;
use sluice_storage::meta::perm;
use sluice_storage::pull::{GetMessageResult, GetMessageStatus};

use crate::broker::filter::PullFilter;
use crate::broker::BrokerState;
use sluice_remoting::net::{Connection, Outbound};

/// PullSysFlag bits.
pub mod pull_flag {
    pub const COMMIT_OFFSET: i32 = 0x1;
    pub const SUSPEND: i32 = 0x2;
    pub const SUBSCRIPTION: i32 = 0x4;
}

fn error(cmd: &RemotingCommand, code: i32, remark: impl Into<String>) -> Outbound {
    let mut r = cmd.error_response(code, remark);
    // Java unboxes these four into primitives whatever the code.
    r.ext_fields.extend(
        PullMessageResponseHeader {
            suggest_which_broker_id: 0,
            next_begin_offset: 0,
            min_offset: 0,
            max_offset: 0,
            offset_delta: None,
            topic_sys_flag: None,
            group_sys_flag: None,
            forbidden_type: None,
        }
        .to_ext(),
    );
    r.into()
}

/// Handles one pull. Its refusals carry the four offset fields Java clients unbox whatever
/// the code, so they are built here rather than from a `BrokerError`.
pub async fn pull(
    state: &Arc<BrokerState>,
    conn: &Connection,
    cmd: &RemotingCommand,
    h: PullMessageRequestHeader,
) -> Outbound {
    if state.permission() & perm::READ == 0 {
        return error(
            cmd,
            response::NO_PERMISSION,
            format!(
                "the broker[{}] pulling message is forbidden",
                state.config.broker_name
            ),
        );
    }
    let Some(topic) = state
        .topics
        .get(&h.topic)
        .or_else(|| replicated_topic(state, &h.topic))
    else {
        return error(
            cmd,
            response::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist, apply first please!", h.topic),
        );
    };
    if topic.perm & perm::READ == 0 {
        return error(
            cmd,
            response::NO_PERMISSION,
            format!("the topic[{}] pulling message is forbidden", h.topic),
        );
    }
    if h.queue_id < 0 || h.queue_id as u32 >= topic.read_queue_nums {
        return error(
            cmd,
            response::SYSTEM_ERROR,
            format!(
                "queueId[{}] is illegal, topic:[{}] topicConfig.readQueueNums:[{}]",
                h.queue_id, h.topic, topic.read_queue_nums
            ),
        );
    }
    let sub = if h.sys_flag & pull_flag::SUBSCRIPTION != 0 {
        let expression = h.subscription.clone().unwrap_or_else(|| "*".into());
        let mut s = SubscriptionData::tag_expression(h.topic.clone(), &expression, h.sub_version);
        if let Some(t) = &h.expression_type {
            s.expression_type = t.clone();
        }
        s
    } else {
        match state.clients.subscription(&h.consumer_group, &h.topic) {
            Some(s) => s,
            None => {
                return error(
                    cmd,
                    response::SUBSCRIPTION_NOT_EXIST,
                    format!(
                        "the consumer's subscription not exist, group: {}",
                        h.consumer_group
                    ),
                )
            }
        }
    };
    let filter = match PullFilter::new(state, &h.consumer_group, &h.topic, &sub) {
        Ok(f) => f,
        Err(e) => return error(cmd, e.code(), e.to_string()),
    };
    if h.sys_flag & pull_flag::COMMIT_OFFSET != 0 && h.commit_offset >= 0 {
        if let Err(e) = state.store.meta().put_consumer_offset(
            &h.consumer_group,
            &h.topic,
            h.queue_id as u32,
            h.commit_offset as u64,
        ) {
            tracing::warn!(error = %e, "storing a commit offset failed");
        } else if state.config.broker_role.is_slave() {
            state.slave_commits.committed(
                &h.consumer_group,
                &h.topic,
                h.queue_id as u32,
                h.commit_offset as u64,
            );
        }
    }
    let queue_id = h.queue_id as u32;
    let offset = h.queue_offset.max(0) as u64;
    let max = h.max_msg_nums.clamp(1, 1024) as usize;
    let mut read_time = std::time::Duration::ZERO;
    let mut read = || {
        let started = std::time::Instant::now();
        let res = state.store.get_messages_matching(
            &h.topic,
            queue_id,
            offset,
            max,
            &|code| filter.by_tags_code(code),
            &|record| filter.by_record(record),
        );
        read_time = read_time.max(started.elapsed());
        res
    };
    let mut res = read();
    if not_found(&res, offset) && state.dispatch_caught_up().await {
        res = read();
    }
    let suspend = h.sys_flag & pull_flag::SUSPEND != 0;
    if suspend && not_found(&res, offset) {
        let timeout = if state.config.long_polling_enable {
            Duration::from_millis(h.suspend_timeout_millis.clamp(0, 60_000) as u64)
        } else {
            Duration::from_millis(state.config.short_polling_time_mills)
        };
        let deadline = tokio::time::Instant::now() + timeout;
        let mut at = offset;
        loop {
            let wake = state.long_polls.park(&h.topic, queue_id, at);
            // Re-check after parking: a dispatch between the read and the park is not lost.
            let timed_out = state.store.max_queue_offset(&h.topic, queue_id) <= at
                && tokio::time::timeout_at(deadline, wake).await.is_err();
            if conn.is_closed() {
                // The consumer left while its pull was parked: nobody gets this answer, so
                // nothing is read (or counted as delivered).
                return error(cmd, response::SYSTEM_ERROR, "the connection closed");
            }
            res = read();
            // Woken by messages this subscription does not want: wait on for one it does.
            match res.status {
                GetMessageStatus::NoMatchedMessage
                    if !timed_out
                        && res.next_begin_offset > at
                        && res.next_begin_offset >= res.max_offset =>
                {
                    at = res.next_begin_offset;
                }
                _ => break,
            }
        }
    }
    let next = match res.status {
        GetMessageStatus::Found => res.next_begin_offset,
        _ => offset,
    };
    if let (Some(t), GetMessageStatus::Found) = (&state.tracer, &res.status) {
        if t.traces(&h.topic) {
            t.delivered(&h.consumer_group, res.messages.iter().map(|m| &m[..]));
        }
    }
    state.stats.record_get(
        &h.topic,
        &h.consumer_group,
        &state.config.broker_cluster_name,
        queue_id,
        (res.messages.len() as u64, res.bytes() as u64),
        next,
        read_time,
    );
    let suggest = suggest_broker(state, &h.consumer_group, &res);
    respond(cmd, res, offset, suggest)
}

/// `suggestWhichBrokerId`: with `slaveReadEnable`, a master sends a consumer that lags past the
/// hot data (`accessMessageInMemoryMaxRatio`) to the group's `whichBrokerWhenConsumeSlowly`
/// (4.9's rule); otherwise the master (0).
fn suggest_broker(state: &BrokerState, group: &str, res: &GetMessageResult) -> i64 {
    if !state.config.slave_read_enable
        || state.config.broker_role.is_slave()
        || !res.suggest_pulling_from_slave
    {
        return 0;
    }
    state
        .store
        .meta()
        .subscription_group(group)
        .ok()
        .flatten()
        .map_or(1, |g| g.which_broker_when_consume_slowly as i64)
}

/// Whether a result is "nothing yet" (eligible for long polling).
fn not_found(res: &GetMessageResult, offset: u64) -> bool {
    match res.status {
        GetMessageStatus::OffsetOverflowOne => true,
        GetMessageStatus::NoMessageInQueue | GetMessageStatus::NoMatchedLogicQueue => offset == 0,
        _ => false,
    }
}

fn respond(cmd: &RemotingCommand, res: GetMessageResult, offset: u64, suggest: i64) -> Outbound {
    use GetMessageStatus::*;
    let (code, next) = match res.status {
        Found => (response::SUCCESS, res.next_begin_offset),
        NoMessageInQueue | NoMatchedLogicQueue => {
            if offset != 0 {
                (response::PULL_OFFSET_MOVED, 0)
            } else {
                (response::PULL_NOT_FOUND, 0)
            }
        }
        OffsetTooSmall => (response::PULL_OFFSET_MOVED, res.next_begin_offset),
        OffsetOverflowOne => (response::PULL_NOT_FOUND, offset),
        OffsetOverflowBadly => (response::PULL_OFFSET_MOVED, res.next_begin_offset),
        OffsetFoundNull => (response::PULL_NOT_FOUND, res.next_begin_offset),
        NoMatchedMessage | MessageWasRemoving => (response::PULL_RETRY_IMMEDIATELY, res.next_begin_offset),
    };
    let header = PullMessageResponseHeader {
        suggest_which_broker_id: suggest,
        next_begin_offset: next as i64,
        min_offset: res.min_offset as i64,
        max_offset: res.max_offset as i64,
        offset_delta: None,
        topic_sys_flag: None,
        group_sys_flag: None,
        forbidden_type: None,
    };
    let mut reply = cmd.response_to(code, Some(format!("{:?}", res.status)));
    reply.ext_fields = header.to_ext();
    Outbound {
        cmd: reply,
        extra_body: res.messages.into_iter().map(|m| m.into_bytes()).collect(),
    }
}

/// On a slave (or any broker in controller mode), a topic its log holds but its topic table
/// does not know yet (the master died before the next metadata sync): its queues are in the
/// replicated log, so it is served, and remembered with as many queues as the log has.
fn replicated_topic(state: &BrokerState, topic: &str) -> Option<sluice_storage::meta::TopicConfig> {
    // A slave, or in controller mode any replica: a master elected before its last metadata
    // sync lacks topics created just before the switch, yet its log has their messages.
    if !state.config.broker_role.is_slave() && state.config.controller.run.is_none() {
        return None;
    }
    let queues = state
        .store
        .queue_ids()
        .into_iter()
        .filter(|(t, _)| t == topic)
        .map(|(_, q)| q + 1)
        .max()?;
    let queues = queues.max(state.config.default_topic_queue_nums);
    let (config, created) = state.topics.ensure(topic, queues, 6).ok()?;
    if created {
        tracing::info!(topic, queues, "topic learned from the replicated log");
    }
    Some(config)
}
