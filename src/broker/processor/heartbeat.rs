//! HEART_BEAT (34), UNREGISTER_CLIENT (35), GET_CONSUMER_LIST_BY_GROUP (38),
//! CHECK_CLIENT_CONFIG (46) — protocol.md §2.3.5, §2.3.6, §2.3.11, §2.3.15.

use std::sync::Arc;

use sluice_remoting::body::common::ConsumerListBody;
use sluice_remoting::body::heartbeat::{CheckClientConfigBody, HeartbeatData};
use sluice_remoting::body::JsonBody;
use sluice_remoting::codes::response;
use sluice_remoting::header::heartbeat::{
    GetConsumerListByGroupRequestHeader, UnregisterClientRequestHeader,
};
use sluice_remoting::RemotingCommand;
use sluice_storage::meta::{perm, SubscriptionGroupConfig};

use crate::broker::error::BrokerError;
use crate::broker::filter;
use crate::broker::topics::RETRY_PREFIX;
use crate::broker::BrokerState;
use sluice_remoting::net::{Connection, Outbound};

/// The group's config, created with the defaults when auto-creation is on.
pub fn ensure_group(state: &BrokerState, group: &str) -> Option<SubscriptionGroupConfig> {
    let meta = state.store.meta();
    match meta.subscription_group(group) {
        Ok(Some(g)) => Some(g),
        Ok(None) if state.config.auto_create_subscription_group => {
            let g = SubscriptionGroupConfig {
                group_name: group.to_owned(),
                ..SubscriptionGroupConfig::default()
            };
            if let Err(e) = meta.put_subscription_group(&g) {
                tracing::warn!(group, error = %e, "persisting a subscription group failed");
            }
            Some(g)
        }
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(group, error = %e, "reading a subscription group failed");
            None
        }
    }
}

pub fn heartbeat(
    state: &Arc<BrokerState>,
    conn: &Arc<Connection>,
    cmd: &RemotingCommand,
    data: HeartbeatData,
) -> Result<Outbound, BrokerError> {
    let mut new_topics = false;
    for c in &data.consumer_data_set {
        let Some(group) = ensure_group(state, &c.group_name) else {
            return Err(BrokerError::refused(
                response::SUBSCRIPTION_GROUP_NOT_EXIST,
                format!("subscription group [{}] does not exist", c.group_name),
            ));
        };
        let retry = format!("{RETRY_PREFIX}{}", c.group_name);
        let (_, created) = state
            .topics
            .ensure_with_flag(
                &retry,
                group.retry_queue_nums.max(1),
                perm::READ_WRITE,
                if c.unit_mode {
                    crate::broker::topics::UNIT_SUB
                } else {
                    0
                },
            )
            .map_err(BrokerError::system)?;
        new_topics |= created;
        let changed =
            state
                .clients
                .register_consumer(c, &data.client_id, conn, (cmd.language.name(), cmd.version));
        if changed && group.notify_consumer_ids_changed_enable {
            tracing::info!(group = %c.group_name, client = %data.client_id, "consumer joined");
            state.clients.notify_ids_changed(&c.group_name);
        }
    }
    for p in &data.producer_data_set {
        state.clients.register_producer(
            &p.group_name,
            &data.client_id,
            conn,
            (cmd.language.name(), cmd.version),
        );
    }
    if new_topics {
        state.rounds.request();
    }
    Ok(super::ok(cmd))
}

pub fn unregister_client(
    state: &Arc<BrokerState>,
    cmd: &RemotingCommand,
    h: UnregisterClientRequestHeader,
) -> Outbound {
    if let Some(g) = h.producer_group.as_deref().filter(|g| !g.is_empty()) {
        state.clients.unregister_producer(g, &h.client_id);
    }
    if let Some(g) = h.consumer_group.as_deref().filter(|g| !g.is_empty()) {
        if state.clients.unregister_consumer(g, &h.client_id) {
            state.locks.release_client(&h.client_id);
            state.clients.notify_ids_changed(g);
        }
    }
    super::ok(cmd)
}

pub fn consumer_list(
    state: &Arc<BrokerState>,
    cmd: &RemotingCommand,
    h: GetConsumerListByGroupRequestHeader,
) -> Result<Outbound, BrokerError> {
    let ids = state.clients.consumer_ids(&h.consumer_group);
    if ids.is_empty() {
        return Err(BrokerError::system(format!(
            "no consumer for this group, {}",
            h.consumer_group
        )));
    }
    let body = ConsumerListBody {
        consumer_id_list: ids,
    };
    Ok(super::ok_with(cmd, body.to_json()))
}

/// Only non-TAG (SQL92) subscriptions need checking (`filter::check`): SYSTEM_ERROR naming the
/// expression type while `enablePropertyFilter` is off, as Apache RocketMQ answers (§2.3.15);
/// SUBSCRIPTION_PARSE_FAILED with the parser's message for an expression that does not compile.
/// A body that does not decode is SYSTEM_ERROR too.
pub fn check_client_config(state: &BrokerState, cmd: &RemotingCommand) -> Result<Outbound, BrokerError> {
    let body = CheckClientConfigBody::from_json(&cmd.body)
        .map_err(|e| BrokerError::body("CHECK_CLIENT_CONFIG", e))?;
    if let Some(sub) = &body.subscription_data {
        filter::check(state, sub)?;
    }
    Ok(super::ok(cmd))
}
