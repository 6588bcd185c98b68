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
            .ensure(&retry, group.retry_queue_nums.max(1), perm::READ_WRITE)
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
        state.register_now.notify_one();
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

/// Only non-TAG (SQL92) subscriptions need checking; sluice filters by TAG only, so it answers
/// them as Apache RocketMQ does with property filtering disabled: SYSTEM_ERROR naming the
/// expression type (§2.3.15). A body that does not decode is SYSTEM_ERROR too.
pub fn check_client_config(cmd: &RemotingCommand) -> Result<Outbound, BrokerError> {
    let body = CheckClientConfigBody::from_json(&cmd.body)
        .map_err(|e| BrokerError::body("CHECK_CLIENT_CONFIG", e))?;
    match body.subscription_data {
        Some(sub) if !sub.is_tag() => Err(BrokerError::system(format!(
            "The broker does not support consumer to filter message by {}",
            sub.expression_type
        ))),
        _ => Ok(super::ok(cmd)),
    }
}

#[cfg(test)]
mod tests {
    use sluice_remoting::codes::request;

    use super::*;

    fn check(body: &str) -> Result<Outbound, BrokerError> {
        let mut cmd = RemotingCommand::request(request::CHECK_CLIENT_CONFIG);
        cmd.body = body.as_bytes().to_vec().into();
        check_client_config(&cmd)
    }

    #[test]
    fn sql92_is_refused_with_system_error_and_tag_is_accepted() {
        let sub = |ty: &str, expr: &str| {
            format!(
                r#"{{"clientId":"c","group":"g","subscriptionData":{{"expressionType":"{ty}","subString":"{expr}","topic":"T"}}}}"#
            )
        };
        let Err(e) = check(&sub("SQL92", "a > 1")) else {
            panic!("a SQL92 subscription was accepted");
        };
        assert_eq!(e.code(), response::SYSTEM_ERROR);
        assert!(e.to_string().contains("by SQL92"), "{e}");
        // A tag that happens to read SQL92 is a TAG subscription.
        assert!(check(&sub("TAG", "SQL92")).is_ok());
        assert!(check(r#"{"clientId":"c","group":"g"}"#).is_ok());
    }
}
