//! Consumer-group administration: GET_CONSUME_STATS (208), GET_CONSUMER_CONNECTION_LIST (203),
//! QUERY_TOPIC_CONSUME_BY_WHO (300), UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200),
//! GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201) — protocol.md §2.3.20, §2.3.24;
//! INVOKE_BROKER_TO_RESET_OFFSET (222) — §2.3.21.

use std::collections::BTreeSet;
use std::sync::Arc;

use sluice_remoting::body::admin::{
    Connection, ConsumeStats, ConsumerConnection, OffsetWrapper, ResetOffsetBody,
    SubscriptionGroupConfig as WireGroup, SubscriptionGroupWrapper,
};
use sluice_remoting::body::{GroupList, JsonBody, MessageQueue};
use sluice_remoting::codes::{request, response};
use sluice_remoting::header::admin::{
    GetConsumeStatsRequestHeader, GetConsumerConnectionListRequestHeader, ResetOffsetRequestHeader,
    TopicRequestHeader,
};
use sluice_remoting::RemotingCommand;
use sluice_storage::meta::SubscriptionGroupConfig;

use super::stats::topic_not_exist;
use crate::broker::error::BrokerError;
use crate::broker::stats::GROUP_GET_NUMS;
use crate::broker::BrokerState;
use sluice_remoting::net::Outbound;

pub fn consume_stats(
    state: &Arc<BrokerState>,
    cmd: &RemotingCommand,
    h: GetConsumeStatsRequestHeader,
) -> Result<Outbound, BrokerError> {
    let meta = state.store.meta();
    let offsets = meta
        .consumer_offsets_of_group(&h.consumer_group)
        .map_err(BrokerError::system)?;
    let mut topics: BTreeSet<String> = match (&h.topic, &h.topic_list) {
        (Some(t), _) if !t.trim().is_empty() => [t.trim().to_owned()].into(),
        (_, Some(list)) if !list.trim().is_empty() => list.split(';').map(str::to_owned).collect(),
        _ => offsets.iter().map(|(t, _, _)| t.clone()).collect(),
    };
    // Topics the online group does not subscribe to are left out.
    if let Some(g) = state.clients.group(&h.consumer_group) {
        if !g.subscriptions.is_empty() {
            topics.retain(|t| g.subscriptions.contains_key(t));
        }
    }
    let store = &state.store;
    let mut stats = ConsumeStats::default();
    for topic in &topics {
        let Some(config) = state.topics.get(topic) else {
            continue;
        };
        for q in 0..config.read_queue_nums {
            let consumer = offsets
                .iter()
                .find(|(t, qq, _)| t == topic && *qq == q)
                .map_or(0, |(_, _, o)| *o);
            let last = consumer
                .checked_sub(1)
                .and_then(|o| store.message_store_time(topic, q, o))
                .unwrap_or(0);
            stats.offset_table.insert(
                MessageQueue::new(topic, &state.config.broker_name, q as i32),
                OffsetWrapper {
                    broker_offset: store.max_queue_offset(topic, q) as i64,
                    consumer_offset: consumer as i64,
                    last_timestamp: last,
                    pull_offset: None,
                },
            );
        }
        let key = format!("{topic}@{}", h.consumer_group);
        if let Some(v) = state.stats.view(GROUP_GET_NUMS, &key) {
            stats.consume_tps += v.stats_minute.tps;
        }
    }
    Ok(super::ok_with(cmd, stats.to_json()))
}

pub fn consumer_connections(
    state: &Arc<BrokerState>,
    cmd: &RemotingCommand,
    h: GetConsumerConnectionListRequestHeader,
) -> Result<Outbound, BrokerError> {
    let group = state
        .clients
        .group(&h.consumer_group)
        .filter(|g| !g.clients.is_empty());
    let Some(g) = group else {
        return Err(BrokerError::refused(
            response::CONSUMER_NOT_ONLINE,
            format!("the consumer group[{}] not online", h.consumer_group),
        ));
    };
    let body = ConsumerConnection {
        connection_set: g
            .clients
            .iter()
            .map(|(id, c)| Connection {
                client_addr: c.conn.peer().to_string(),
                client_id: id.clone(),
                language: c.language.clone(),
                version: c.version,
            })
            .collect(),
        consume_from_where: g.consume_from_where,
        consume_type: g.consume_type,
        message_model: g.message_model,
        subscription_table: g.subscriptions.into_iter().collect(),
    };
    Ok(super::ok_with(cmd, body.to_json()))
}

pub fn consumed_by(
    state: &Arc<BrokerState>,
    cmd: &RemotingCommand,
    h: TopicRequestHeader,
) -> Result<Outbound, BrokerError> {
    let mut groups: BTreeSet<String> = state
        .clients
        .groups()
        .into_iter()
        .filter(|g| state.clients.subscription(g, &h.topic).is_some())
        .collect();
    let meta = state.store.meta();
    for g in meta.subscription_groups().map_err(BrokerError::system)? {
        let has = meta
            .consumer_offsets_of_group(&g.group_name)
            .is_ok_and(|o| o.iter().any(|(t, _, _)| *t == h.topic));
        if has {
            groups.insert(g.group_name);
        }
    }
    let body = GroupList {
        group_list: groups.into_iter().collect(),
    };
    Ok(super::ok_with(cmd, body.to_json()))
}

pub fn update_group(
    state: &Arc<BrokerState>,
    cmd: &RemotingCommand,
    g: WireGroup,
) -> Result<Outbound, BrokerError> {
    if g.group_name.trim().is_empty() {
        return Err(BrokerError::system("the group name is blank"));
    }
    let config = from_wire(g);
    state
        .store
        .meta()
        .put_subscription_group(&config)
        .map_err(BrokerError::system)?;
    Ok(super::ok(cmd))
}

/// A subscription group as the wire (and a master's GET_ALL_SUBSCRIPTIONGROUP_CONFIG) has it.
pub fn from_wire(g: WireGroup) -> SubscriptionGroupConfig {
    SubscriptionGroupConfig {
        group_name: g.group_name,
        consume_enable: g.consume_enable,
        consume_from_min_enable: g.consume_from_min_enable,
        consume_broadcast_enable: g.consume_broadcast_enable,
        retry_queue_nums: g.retry_queue_nums.max(0) as u32,
        retry_max_times: g.retry_max_times,
        broker_id: g.broker_id.max(0) as u64,
        which_broker_when_consume_slowly: g.which_broker_when_consume_slowly.max(0) as u64,
        notify_consumer_ids_changed_enable: g.notify_consumer_ids_changed_enable,
    }
}

pub fn all_groups(state: &Arc<BrokerState>, cmd: &RemotingCommand) -> Result<Outbound, BrokerError> {
    let groups = state
        .store
        .meta()
        .subscription_groups()
        .map_err(BrokerError::system)?;
    let body = SubscriptionGroupWrapper {
        data_version: state.topics.data_version(),
        forbidden_table: None,
        subscription_group_table: groups
            .into_iter()
            .map(|g| (g.group_name.clone(), to_wire(g)))
            .collect(),
    };
    Ok(super::ok_with(cmd, body.to_json()))
}

fn to_wire(g: SubscriptionGroupConfig) -> WireGroup {
    WireGroup {
        broker_id: g.broker_id as i64,
        consume_broadcast_enable: g.consume_broadcast_enable,
        consume_enable: g.consume_enable,
        consume_from_min_enable: g.consume_from_min_enable,
        notify_consumer_ids_changed_enable: g.notify_consumer_ids_changed_enable,
        retry_max_times: g.retry_max_times,
        retry_queue_nums: g.retry_queue_nums as i32,
        which_broker_when_consume_slowly: g.which_broker_when_consume_slowly as i64,
        ..WireGroup::new(g.group_name)
    }
}

/// Computes each queue's offset for the time (−1 = the queue's end; `isForce=false` only moves
/// offsets back), commits them, tells the online clients (RESET_CONSUMER_CLIENT_OFFSET,
/// oneway) and answers with the offsets. Offline groups are reset too.
pub fn reset_offset(
    state: &Arc<BrokerState>,
    cmd: &RemotingCommand,
    h: ResetOffsetRequestHeader,
) -> Result<Outbound, BrokerError> {
    let topic = state
        .topics
        .get(&h.topic)
        .ok_or_else(|| topic_not_exist(&h.topic))?;
    let store = &state.store;
    let meta = store.meta();
    let mut body = ResetOffsetBody::default();
    for q in 0..topic.read_queue_nums {
        if h.queue_id.is_some_and(|id| id != q as i32) {
            continue;
        }
        let target = match (h.queue_id, h.offset) {
            (Some(_), Some(o)) if o >= 0 => o as u64,
            _ if h.timestamp < 0 => store.max_queue_offset(&h.topic, q),
            _ => store.search_offset_by_timestamp(&h.topic, q, h.timestamp),
        };
        let current = meta
            .consumer_offset(&h.group, &h.topic, q)
            .map_err(BrokerError::system)?;
        let offset = match current {
            Some(c) if !h.is_force && target >= c => c,
            _ => target,
        };
        meta.put_consumer_offset(&h.group, &h.topic, q, offset)
            .map_err(BrokerError::system)?;
        body.offset_table.insert(
            MessageQueue::new(&h.topic, &state.config.broker_name, q as i32),
            offset as i64,
        );
    }
    if let Some(g) = state.clients.group(&h.group) {
        let header = ResetOffsetRequestHeader {
            queue_id: None,
            offset: None,
            ..h.clone()
        };
        for c in g.clients.values() {
            let push = RemotingCommand::request(request::RESET_CONSUMER_CLIENT_OFFSET)
                .with_header(&header)
                .with_body(body.to_json());
            c.conn.send_oneway(push);
        }
    }
    Ok(super::ok_with(cmd, body.to_json()))
}
