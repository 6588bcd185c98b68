//! Group administration: GET_CONSUME_STATS (208), GET_CONSUMER_CONNECTION_LIST (203),
//! GET_PRODUCER_CONNECTION_LIST (204), QUERY_TOPIC_CONSUME_BY_WHO (300),
//! UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200), GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201),
//! DELETE_SUBSCRIPTIONGROUP (207), CLONE_GROUP_OFFSET (314), GET_BROKER_CONSUME_STATS (317) —
//! protocol.md §2.3.20, §2.3.24;
//! INVOKE_BROKER_TO_RESET_OFFSET (222) — §2.3.21.

use std::collections::BTreeSet;
use std::sync::Arc;

use sluice_remoting::body::admin::{
    Connection, ConsumeStats, ConsumeStatsList, ConsumerConnection, OffsetWrapper, ProducerConnection,
    ProducerInfo, ProducerTableInfo, ResetOffsetBody, SubscriptionGroupConfig as WireGroup,
    SubscriptionGroupWrapper,
};
use sluice_remoting::body::{GroupList, JsonBody, MessageQueue};
use sluice_remoting::codes::{request, response};
use sluice_remoting::header::admin::{
    CloneGroupOffsetRequestHeader, DeleteSubscriptionGroupRequestHeader, GetConsumeStatsInBrokerHeader,
    GetConsumeStatsRequestHeader, GetConsumerConnectionListRequestHeader,
    GetProducerConnectionListRequestHeader, ResetOffsetRequestHeader, TopicRequestHeader,
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
    let mut stats = ConsumeStats::default();
    for topic in &topics {
        if let Some(one) = topic_consume_stats(state, &h.consumer_group, topic, &offsets) {
            stats.offset_table.extend(one.offset_table);
            stats.consume_tps += one.consume_tps;
        }
    }
    Ok(super::ok_with(cmd, stats.to_json()))
}

/// `group`'s lag on each queue of `topic` (`offsets`: the group's committed offsets); `None`
/// when this broker does not have the topic.
fn topic_consume_stats(
    state: &BrokerState,
    group: &str,
    topic: &str,
    offsets: &[(String, u32, u64)],
) -> Option<ConsumeStats> {
    let config = state.topics.get(topic)?;
    let store = &state.store;
    let mut stats = ConsumeStats::default();
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
    if let Some(v) = state.stats.view(GROUP_GET_NUMS, &format!("{topic}@{group}")) {
        stats.consume_tps = v.stats_minute.tps;
    }
    Some(stats)
}

/// Every subscription group's lag on each topic it has offsets for (with `isOrder`, ordered
/// topics only; topics an online group with subscriptions does not subscribe to are left out),
/// and the sum of all lags.
pub fn broker_consume_stats(
    state: &Arc<BrokerState>,
    cmd: &RemotingCommand,
    h: GetConsumeStatsInBrokerHeader,
) -> Result<Outbound, BrokerError> {
    let meta = state.store.meta();
    let mut body = ConsumeStatsList {
        broker_addr: state.config.broker_addr().to_string(),
        ..ConsumeStatsList::default()
    };
    for g in meta.subscription_groups().map_err(BrokerError::system)? {
        let group = g.group_name;
        let offsets = meta
            .consumer_offsets_of_group(&group)
            .map_err(BrokerError::system)?;
        let topics: BTreeSet<&String> = offsets.iter().map(|(t, _, _)| t).collect();
        let online = state.clients.group(&group);
        let mut list = Vec::new();
        for topic in topics {
            if h.is_order && !state.topics.get(topic).is_some_and(|c| c.order) {
                continue;
            }
            let unsubscribed = online
                .as_ref()
                .is_some_and(|o| !o.subscriptions.is_empty() && !o.subscriptions.contains_key(topic));
            if unsubscribed {
                continue;
            }
            if let Some(stats) = topic_consume_stats(state, &group, topic, &offsets) {
                body.total_diff += stats
                    .offset_table
                    .values()
                    .map(|o| (o.broker_offset - o.consumer_offset).max(0))
                    .sum::<i64>();
                list.push(stats);
            }
        }
        body.consume_stats_list.push([(group, list)].into());
    }
    Ok(super::ok_with(cmd, body.to_json()))
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

/// The live clients of a producer group; none → SYSTEM_ERROR, as Java's brokers answer.
pub fn producer_connections(
    state: &Arc<BrokerState>,
    cmd: &RemotingCommand,
    h: GetProducerConnectionListRequestHeader,
) -> Result<Outbound, BrokerError> {
    let clients = state.clients.producers(&h.producer_group);
    if clients.is_empty() {
        return Err(BrokerError::system(format!(
            "the producer group[{}] not exist",
            h.producer_group
        )));
    }
    let body = ProducerConnection {
        connection_set: clients
            .into_iter()
            .map(|(id, c)| Connection {
                client_addr: c.conn.peer().to_string(),
                client_id: id,
                language: c.language,
                version: c.version,
            })
            .collect(),
    };
    Ok(super::ok_with(cmd, body.to_json()))
}

/// GET_ALL_PRODUCER_INFO (328): every producer group's live clients.
pub fn all_producers(state: &Arc<BrokerState>, cmd: &RemotingCommand) -> Outbound {
    let now = std::time::Instant::now();
    let epoch_now = sluice_storage::clock::now_millis();
    let body = ProducerTableInfo {
        data: state
            .clients
            .producer_groups()
            .into_iter()
            .map(|(group, clients)| {
                let infos = clients
                    .into_iter()
                    .map(|(id, c)| ProducerInfo {
                        client_id: id,
                        remote_ip: c.conn.peer().to_string(),
                        language: c.language,
                        version: c.version,
                        last_update_timestamp: epoch_now
                            - now.duration_since(c.last_heartbeat).as_millis() as i64,
                    })
                    .collect();
                (group, infos)
            })
            .collect(),
    };
    super::ok_with(cmd, body.to_json())
}

/// Removes the group's config (and, with `cleanOffset`, its committed offsets). Deleting a
/// group that does not exist succeeds, as on Java's brokers.
pub fn delete_group(
    state: &Arc<BrokerState>,
    cmd: &RemotingCommand,
    h: DeleteSubscriptionGroupRequestHeader,
) -> Result<Outbound, BrokerError> {
    let meta = state.store.meta();
    meta.delete_subscription_group(&h.group_name)
        .map_err(BrokerError::system)?;
    if h.clean_offset {
        meta.delete_consumer_offsets(&h.group_name, None)
            .map_err(BrokerError::system)?;
    }
    Ok(super::ok(cmd))
}

/// Copies `srcGroup`'s committed offsets of the topic (or of each topic it has offsets for) to
/// `destGroup`. Topics this broker does not have are skipped, and so, unless `offline`, are
/// topics an online `srcGroup` with subscriptions does not subscribe to.
pub fn clone_group_offset(
    state: &Arc<BrokerState>,
    cmd: &RemotingCommand,
    h: CloneGroupOffsetRequestHeader,
) -> Result<Outbound, BrokerError> {
    let meta = state.store.meta();
    let offsets = meta
        .consumer_offsets_of_group(&h.src_group)
        .map_err(BrokerError::system)?;
    let topics: BTreeSet<String> = match h.topic.as_deref().map(str::trim) {
        Some(t) if !t.is_empty() => [t.to_owned()].into(),
        _ => offsets.iter().map(|(t, _, _)| t.clone()).collect(),
    };
    let online = state.clients.group(&h.src_group);
    for topic in &topics {
        if state.topics.get(topic).is_none() {
            continue;
        }
        let unsubscribed = online
            .as_ref()
            .is_some_and(|g| !g.subscriptions.is_empty() && !g.subscriptions.contains_key(topic));
        if !h.offline && unsubscribed {
            continue;
        }
        for (_, q, o) in offsets.iter().filter(|(t, _, _)| t == topic) {
            meta.put_consumer_offset(&h.dest_group, topic, *q, *o)
                .map_err(BrokerError::system)?;
        }
    }
    Ok(super::ok(cmd))
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
        // 5.x's wrapper always has it (rocketmq-rust's slaves refuse a sync without it).
        forbidden_table: Some(serde_json::json!({})),
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
