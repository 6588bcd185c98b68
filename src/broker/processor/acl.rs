//! 4.9's ACL admin requests (UPDATE_AND_CREATE_ACL_CONFIG, DELETE_ACL_CONFIG,
//! UPDATE_GLOBAL_WHITE_ADDRS_CONFIG): edit the ACL files ([`crate::acl::edit`]) and apply them at
//! once. Admin accounts only (the route table's `acl` column); refused when ACL is off.

use sluice_remoting::net::Outbound;
use sluice_remoting::RemotingCommand;

use super::ok;
use crate::acl::edit::AccessConfig;
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
