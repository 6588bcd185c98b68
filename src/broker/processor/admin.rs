//! Topic administration: UPDATE_AND_CREATE_TOPIC (17), DELETE_TOPIC_IN_BROKER (215),
//! GET_ALL_TOPIC_CONFIG (21) — protocol.md §2.3.19; GET_TOPIC_CONFIG (351, 5.x tools'
//! `topicStatus`).

use std::sync::Arc;

use sluice_remoting::body::JsonBody;
use sluice_remoting::header::admin::{CreateTopicRequestHeader, TopicRequestHeader};
use sluice_remoting::RemotingCommand;
use sluice_storage::meta::TopicConfig;

use crate::broker::error::BrokerError;
use crate::broker::BrokerState;
use crate::broker::{register, topics};
use sluice_remoting::net::Outbound;

pub async fn create_topic(
    state: &Arc<BrokerState>,
    cmd: &RemotingCommand,
    h: CreateTopicRequestHeader,
) -> Result<Outbound, BrokerError> {
    topics::validate_topic_name(&h.topic).map_err(BrokerError::system)?;
    if topics::is_system_topic(&h.topic) || h.topic == state.config.broker_cluster_name {
        return Err(BrokerError::system(format!(
            "The topic[{}] is conflict with system topic.",
            h.topic
        )));
    }
    if !(1..=1024).contains(&h.read_queue_nums) || !(1..=1024).contains(&h.write_queue_nums) {
        return Err(BrokerError::system(
            "readQueueNums and writeQueueNums must be within 1–1024",
        ));
    }
    if !(0..=7).contains(&h.perm) {
        return Err(BrokerError::system(format!("perm {} is not within 0–7", h.perm)));
    }
    let config = TopicConfig {
        topic_name: h.topic.clone(),
        read_queue_nums: h.read_queue_nums as u32,
        write_queue_nums: h.write_queue_nums as u32,
        perm: h.perm,
        topic_filter_type: h.topic_filter_type.clone(),
        topic_sys_flag: h.topic_sys_flag,
        order: h.order,
    };
    state.topics.put(config).map_err(BrokerError::system)?;
    registered(state).await;
    Ok(super::ok(cmd))
}

pub async fn delete_topic(
    state: &Arc<BrokerState>,
    cmd: &RemotingCommand,
    h: TopicRequestHeader,
) -> Result<Outbound, BrokerError> {
    if h.topic.trim().is_empty() || topics::is_system_topic(&h.topic) {
        return Err(BrokerError::system(format!(
            "The topic[{}] cannot be deleted.",
            h.topic
        )));
    }
    let st = state.clone();
    let topic = h.topic.clone();
    let res = tokio::task::spawn_blocking(move || -> Result<(), sluice_storage::StoreError> {
        st.topics.delete(&topic)?;
        st.store.delete_topic(&topic)?;
        for group in st.clients.groups() {
            st.store.meta().delete_consumer_offsets(&group, Some(&topic))?;
        }
        Ok(())
    })
    .await;
    res.map_err(BrokerError::system)?.map_err(BrokerError::system)?;
    registered(state).await;
    Ok(super::ok(cmd))
}

/// Registers the topic change with the NameServers before the answer, as 4.9 does (a
/// NameServer that does not answer within [`register::REGISTERED_WAIT`] only delays it).
async fn registered(state: &BrokerState) {
    let rounds = &state.rounds;
    if !rounds.registered(register::REGISTERED_WAIT).await {
        tracing::warn!("the NameServers did not take the topic change within 3 s; answering anyway");
    }
}

/// One topic's config as JSON (5.x: TopicConfigAndQueueMapping, whose queue mapping sluice never
/// has); TOPIC_NOT_EXIST for a topic this broker does not have.
pub fn topic_config(
    state: &Arc<BrokerState>,
    cmd: &RemotingCommand,
    h: TopicRequestHeader,
) -> Result<Outbound, BrokerError> {
    let config = state
        .topics
        .get(&h.topic)
        .ok_or_else(|| super::stats::topic_not_exist(&h.topic))?;
    let body = serde_json::to_vec(&topics::to_wire(&config)).map_err(BrokerError::system)?;
    Ok(super::ok_with(cmd, body))
}

pub fn all_topic_config(state: &Arc<BrokerState>, cmd: &RemotingCommand) -> Outbound {
    super::ok_with(cmd, state.topics.wrapper().to_json())
}
