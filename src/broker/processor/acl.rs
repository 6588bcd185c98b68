//! 4.9's ACL admin requests (UPDATE_AND_CREATE_ACL_CONFIG, DELETE_ACL_CONFIG,
//! UPDATE_GLOBAL_WHITE_ADDRS_CONFIG): edit the ACL files ([`crate::acl::edit`]) and apply them at
//! once; admin accounts only (the route table's `acl` column). And the reads: the files'
//! versions (GET_BROKER_CLUSTER_ACL_INFO) and the accounts in force
//! (GET_BROKER_CLUSTER_ACL_CONFIG). All refused when ACL is off.

use sluice_remoting::body::acl::{BrokerClusterAclConfig, PlainAccessConfig};
use sluice_remoting::body::{DataVersion, JsonBody};
use sluice_remoting::net::Outbound;
use sluice_remoting::RemotingCommand;

use super::{ok, ok_with};
use crate::acl::edit::AccessConfig;
use crate::acl::perm::{self, RETRY_PREFIX};
use crate::acl::Acl;
use crate::broker::error::BrokerError;
use crate::broker::BrokerState;

fn enabled(state: &BrokerState) -> Result<&Acl, BrokerError> {
    state
        .acl
        .as_deref()
        .ok_or_else(|| BrokerError::system("The broker does not enable acl (aclEnable=false)"))
}

/// Applies an edit: the files are re-read at once rather than at the next poll.
fn applied(acl: &Acl, edited: Result<(), crate::acl::AclError>, code: i32) -> Result<(), BrokerError> {
    edited.map_err(|e| BrokerError::refused(code, e.to_string()))?;
    acl.reload_if_changed()
        .map(|_| ())
        .map_err(|e| BrokerError::refused(code, e.to_string()))
}

/// UPDATE_AND_CREATE_ACL_CONFIG (50).
pub fn upsert(state: &BrokerState, cmd: &RemotingCommand, a: &AccessConfig) -> Result<Outbound, BrokerError> {
    let acl = enabled(state)?;
    // 209: 4.9's UPDATE_AND_CREATE_ACL_CONFIG_FAILED.
    applied(acl, acl.files().upsert_account(a), 209)?;
    tracing::info!(access_key = %a.access_key, "ACL account created or updated");
    Ok(ok(cmd))
}

/// DELETE_ACL_CONFIG (51).
pub fn delete(state: &BrokerState, cmd: &RemotingCommand, access_key: &str) -> Result<Outbound, BrokerError> {
    let acl = enabled(state)?;
    // 210: DELETE_ACL_CONFIG_FAILED.
    match acl.files().delete_account(access_key) {
        Ok(true) => applied(acl, Ok(()), 210)?,
        Ok(false) => {
            return Err(BrokerError::refused(
                210,
                format!("No acl config for {access_key}"),
            ))
        }
        Err(e) => return Err(BrokerError::refused(210, e.to_string())),
    }
    tracing::info!(%access_key, "ACL account deleted");
    Ok(ok(cmd))
}

/// UPDATE_GLOBAL_WHITE_ADDRS_CONFIG (53).
pub fn global_white(
    state: &BrokerState,
    cmd: &RemotingCommand,
    addrs: &[String],
) -> Result<Outbound, BrokerError> {
    let acl = enabled(state)?;
    // 211: UPDATE_GLOBAL_WHITE_ADDRS_CONFIG_FAILED.
    applied(acl, acl.files().set_global_white(addrs), 211)?;
    tracing::info!(?addrs, "ACL global whitelist replaced");
    Ok(ok(cmd))
}

fn data_version(v: crate::acl::FileVersion) -> DataVersion {
    DataVersion {
        counter: v.counter,
        state_version: 0,
        timestamp: v.timestamp_ms,
    }
}

/// GET_BROKER_CLUSTER_ACL_INFO (52): response header `version` (the main file's DataVersion),
/// `allAclFileVersion` (path → DataVersion), `brokerName`, `brokerAddr`, `clusterName`.
pub fn versions(state: &BrokerState, cmd: &RemotingCommand) -> Result<Outbound, BrokerError> {
    let acl = enabled(state)?;
    let (all, main) = acl.versions();
    let all: std::collections::BTreeMap<String, DataVersion> = all
        .into_iter()
        .map(|(p, v)| (p.display().to_string(), data_version(v)))
        .collect();
    let all_json = serde_json::to_string(&all).map_err(BrokerError::system)?;
    let main = data_version(main.unwrap_or(crate::acl::FileVersion {
        counter: 0,
        timestamp_ms: 0,
    }));
    let reply = cmd
        .success_response()
        .with_ext("version", String::from_utf8_lossy(&main.to_json()))
        .with_ext("allAclFileVersion", all_json)
        .with_ext("brokerName", &state.config.broker_name)
        .with_ext("brokerAddr", state.config.broker_addr().to_string())
        .with_ext("clusterName", &state.config.broker_cluster_name);
    Ok(reply.into())
}

/// GET_BROKER_CLUSTER_ACL_CONFIG (54): the merged accounts and global whitelist in force.
pub fn config(state: &BrokerState, cmd: &RemotingCommand) -> Result<Outbound, BrokerError> {
    let acl = enabled(state)?.snapshot();
    let mut accounts: Vec<&crate::acl::Account> = acl.accounts.values().collect();
    accounts.sort_by(|a, b| a.access_key.cmp(&b.access_key));
    let body = BrokerClusterAclConfig {
        global_white_addrs: acl.global_white.texts().to_vec(),
        plain_access_configs: accounts
            .into_iter()
            .map(|a| {
                let mut topics = Vec::new();
                let mut groups = Vec::new();
                let mut perms: Vec<(&String, &u8)> = a.perms.iter().collect();
                perms.sort();
                for (name, p) in perms {
                    match name.strip_prefix(RETRY_PREFIX) {
                        Some(g) => groups.push(format!("{g}={}", perm::name(*p))),
                        None => topics.push(format!("{name}={}", perm::name(*p))),
                    }
                }
                let white = a.white_remote_address.texts().join(",");
                PlainAccessConfig {
                    access_key: a.access_key.clone(),
                    secret_key: a.secret_key.clone(),
                    admin: a.admin,
                    white_remote_address: (!white.is_empty()).then_some(white),
                    default_topic_perm: Some(perm::name(a.default_topic_perm).to_owned()),
                    default_group_perm: Some(perm::name(a.default_group_perm).to_owned()),
                    topic_perms: topics,
                    group_perms: groups,
                }
            })
            .collect(),
    };
    Ok(ok_with(cmd, body.to_json()))
}
