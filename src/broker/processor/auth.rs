//! ACL 2.0 admin requests (AUTH_CREATE_USER … AUTH_LIST_ACL, 3001–3010; protocol.md §8.4):
//! users and ACLs edited and read through [`crate::auth::Auth`], answered as 5.3 answers them
//! (NO_PERMISSION with the reason for a refused edit, INVALID_PARAMETER for a blank username,
//! SUCCESS with no body when a user or ACL is absent). Served whether or not authentication is
//! on, so that users can be made before it is turned on; who may call them is the route
//! table's business (a Super user, or an ACL allowing `Cluster` Update / Get).

use sluice_remoting::body::auth::{AclInfoList, UserInfoList};
use sluice_remoting::body::JsonBody;
use sluice_remoting::codes::response;
use sluice_remoting::net::Outbound;
use sluice_remoting::RemotingCommand;

use super::{ok, ok_with};
use crate::auth::model::UserEdit;
use crate::auth::AuthError;
use crate::broker::error::BrokerError;
use crate::broker::request::AuthAdmin;
use crate::broker::BrokerState;

impl From<AuthError> for BrokerError {
    fn from(e: AuthError) -> BrokerError {
        match e {
            AuthError::Refused(m) => BrokerError::refused(response::NO_PERMISSION, m),
            AuthError::Store(e) => {
                tracing::error!(error = %e, "ACL 2.0 store");
                BrokerError::refused(
                    response::SYSTEM_ERROR,
                    "An system error occurred, please try again later.",
                )
            }
        }
    }
}

fn blank_username() -> BrokerError {
    BrokerError::refused(response::INVALID_PARAMETER, "The username is blank")
}

/// Handles one ACL 2.0 admin request.
pub fn handle(state: &BrokerState, cmd: &RemotingCommand, req: AuthAdmin) -> Result<Outbound, BrokerError> {
    let auth = &state.auth;
    match req {
        AuthAdmin::CreateUser(name, info) => {
            if name.is_empty() {
                return Err(blank_username());
            }
            let caller_super = auth.is_super_caller(cmd)?;
            auth.create_user(&UserEdit::from_info(&name, &info), Some(caller_super))?;
            tracing::info!(user = %name, "ACL 2.0 user created");
            Ok(ok(cmd))
        }
        AuthAdmin::UpdateUser(name, info) => {
            if name.is_empty() {
                return Err(blank_username());
            }
            let caller_super = auth.is_super_caller(cmd)?;
            auth.update_user(&UserEdit::from_info(&name, &info), caller_super)?;
            tracing::info!(user = %name, "ACL 2.0 user updated");
            Ok(ok(cmd))
        }
        AuthAdmin::DeleteUser(name) => {
            if name.is_empty() {
                return Err(AuthError::Refused("username can not be blank".into()).into());
            }
            let caller_super = auth.is_super_caller(cmd)?;
            auth.delete_user(&name, caller_super)?;
            tracing::info!(user = %name, "ACL 2.0 user deleted");
            Ok(ok(cmd))
        }
        AuthAdmin::GetUser(name) => {
            if name.is_empty() {
                return Err(blank_username());
            }
            Ok(match auth.user(&name)? {
                Some(u) => ok_with(cmd, u.info().to_json()),
                None => ok(cmd),
            })
        }
        AuthAdmin::ListUsers(filter) => {
            let users = auth.users(&filter)?;
            Ok(if users.is_empty() {
                ok(cmd)
            } else {
                ok_with(
                    cmd,
                    UserInfoList(users.iter().map(|u| u.info()).collect()).to_json(),
                )
            })
        }
        AuthAdmin::PutAcl(subject, info) => {
            auth.put_acl(&subject, &info)?;
            tracing::info!(%subject, "ACL 2.0 policies merged");
            Ok(ok(cmd))
        }
        AuthAdmin::DeleteAcl {
            subject,
            policy_type,
            resource,
        } => {
            auth.delete_acl(&subject, policy_type.as_deref(), resource.as_deref())?;
            tracing::info!(%subject, ?resource, "ACL 2.0 policy deleted");
            Ok(ok(cmd))
        }
        AuthAdmin::GetAcl(subject) => Ok(match auth.acl(&subject)? {
            Some(a) => ok_with(cmd, a.info().to_json()),
            None => ok(cmd),
        }),
        AuthAdmin::ListAcls {
            subject_filter,
            resource_filter,
        } => {
            let acls = auth.acls(&subject_filter, &resource_filter)?;
            Ok(if acls.is_empty() {
                ok(cmd)
            } else {
                ok_with(
                    cmd,
                    AclInfoList(acls.iter().map(|a| a.info()).collect()).to_json(),
                )
            })
        }
    }
}
