//! ACL 2.0 (RocketMQ 5.3's auth: `authenticationEnabled`, `authorizationEnabled`; protocol.md
//! §8.4): users and per-subject ACLs ([`model`]), kept in the broker's RocksDB (column families
//! `auth_users` / `auth_acls`, synced writes) and in memory for the per-request decisions.
//!
//! * Authentication: the `AccessKey` names a user; its password keys the same HmacSHA1
//!   signature as ACL 1.0 (`sluice_remoting::acl`); a disabled or unknown user is refused.
//! * Authorisation: a Super user may do anything; anyone else needs, for every resource the
//!   request touches (`broker::authz`), a deciding entry in their ACL that allows it
//!   ([`model::Acl::deciding_entry`]).
//! * Refusals are NO_PERMISSION (16) with 5.3's messages; request codes in
//!   `authenticationWhitelist` / `authorizationWhitelist` skip the respective step.
//! * `initAuthenticationUser` and `innerClientAuthenticationCredentials` create Super users at
//!   start when absent; the broker signs its own requests with the latter.

pub mod ip;
pub mod model;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use sluice_remoting::acl::{self as sign, ACCESS_KEY};
use sluice_remoting::body::auth::{AclInfo, UserInfo};
use sluice_remoting::RemotingCommand;
use sluice_storage::meta::{AuthKind, MetaStore};

use model::{Acl, Action, Decision, PolicyType, Resource, User, UserEdit, UserStatus, UserType};

/// ACL 2.0's broker.conf keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthSettings {
    /// `authenticationEnabled`: every request must be signed by a known, enabled user.
    pub authentication: bool,
    /// `authorizationEnabled`: every request must be allowed by the user's ACL.
    pub authorization: bool,
    /// `authenticationWhitelist`: request codes that skip authentication.
    pub authentication_whitelist: Vec<i32>,
    /// `authorizationWhitelist`: request codes that skip authorisation.
    pub authorization_whitelist: Vec<i32>,
    /// `initAuthenticationUser` (`{"username":…,"password":…}`): a Super user made at start.
    pub init_user: Option<(String, String)>,
    /// `innerClientAuthenticationCredentials` (`{"accessKey":…,"secretKey":…}`): a Super user
    /// made at start, and what the broker signs its own requests with.
    pub inner_credentials: Option<(String, String)>,
}

impl AuthSettings {
    pub fn enabled(&self) -> bool {
        self.authentication || self.authorization
    }
}

/// A refused request: the remark (answered NO_PERMISSION).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Denied(pub String);

/// Why an ACL 2.0 admin request failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// 5.3's AuthenticationException / AuthorizationException: NO_PERMISSION with the message.
    #[error("{0}")]
    Refused(String),
    #[error("auth store: {0}")]
    Store(#[from] sluice_storage::StoreError),
}

impl From<model::Invalid> for AuthError {
    fn from(e: model::Invalid) -> AuthError {
        AuthError::Refused(e.0)
    }
}

fn refused(s: impl Into<String>) -> AuthError {
    AuthError::Refused(s.into())
}

/// One resource a request touches and the actions it performs on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub resource: Resource,
    pub actions: Vec<Action>,
}

impl Need {
    pub fn new(resource: Resource, actions: &[Action]) -> Need {
        Need {
            resource,
            actions: actions.to_vec(),
        }
    }
}

#[derive(Debug, Default)]
struct Tables {
    users: BTreeMap<String, User>,
    /// By subject key (`User:<name>`).
    acls: BTreeMap<String, Acl>,
}

/// The live ACL 2.0 state of a broker.
#[derive(Debug)]
pub struct Auth {
    settings: AuthSettings,
    meta: Arc<MetaStore>,
    tables: RwLock<Tables>,
}

impl Auth {
    /// Loads the users and ACLs from `meta` and creates the configured Super users.
    pub fn open(settings: AuthSettings, meta: Arc<MetaStore>) -> Result<Auth, AuthError> {
        let mut tables = Tables::default();
        for (name, info) in meta.all_auth::<UserInfo>(AuthKind::User)? {
            match User::from_stored(&info) {
                Some(u) => {
                    tables.users.insert(name, u);
                }
                None => tracing::warn!(user = %name, "stored ACL 2.0 user is unreadable; ignored"),
            }
        }
        for (subject, info) in meta.all_auth::<AclInfo>(AuthKind::Acl)? {
            match Acl::from_info(&subject, &info) {
                Ok(a) => {
                    tables.acls.insert(subject, a);
                }
                Err(e) => {
                    tracing::warn!(%subject, error = %e, "stored ACL 2.0 policy is unreadable; ignored")
                }
            }
        }
        let auth = Auth {
            settings,
            meta,
            tables: RwLock::new(tables),
        };
        let initial = [&auth.settings.init_user, &auth.settings.inner_credentials];
        for (name, password) in initial.into_iter().flatten() {
            if auth.user(name)?.is_none() {
                auth.create_user(
                    &UserEdit {
                        username: name.clone(),
                        password: Some(password.clone()),
                        user_type: Some(UserType::Super),
                        status: None,
                    },
                    None,
                )?;
                tracing::info!(user = %name, "ACL 2.0: initial Super user created");
            }
        }
        Ok(auth)
    }

    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    fn read(&self) -> Result<std::sync::RwLockReadGuard<'_, Tables>, AuthError> {
        self.tables.read().map_err(|_| refused("auth state unavailable"))
    }

    fn write(&self) -> Result<std::sync::RwLockWriteGuard<'_, Tables>, AuthError> {
        self.tables.write().map_err(|_| refused("auth state unavailable"))
    }

    /// 5.3's authentication of one request (`authenticationEnabled`).
    pub fn authenticate(&self, cmd: &RemotingCommand) -> Result<(), Denied> {
        if !self.settings.authentication || self.settings.authentication_whitelist.contains(&cmd.code) {
            return Ok(());
        }
        let Some(name) = cmd.ext(ACCESS_KEY).filter(|s| !s.is_empty()) else {
            return Err(Denied("username cannot be null.".into()));
        };
        let tables = self.read().map_err(|e| Denied(e.to_string()))?;
        let Some(user) = tables.users.get(name) else {
            return Err(Denied(format!("User:{name} is not found.")));
        };
        if user.status == UserStatus::Disable {
            return Err(Denied(format!("User:{name} is disabled.")));
        }
        if !sign::verify(&user.password, cmd) {
            return Err(Denied("check signature failed.".into()));
        }
        Ok(())
    }

    /// 5.3's authorisation of one request touching `needs` (`authorizationEnabled`).
    pub fn authorize(&self, peer: IpAddr, cmd: &RemotingCommand, needs: &[Need]) -> Result<(), Denied> {
        if !self.settings.authorization
            || self.settings.authorization_whitelist.contains(&cmd.code)
            || needs.is_empty()
        {
            return Ok(());
        }
        let Some(name) = cmd.ext(ACCESS_KEY).filter(|s| !s.is_empty()) else {
            return Err(Denied(format!(
                "Authorization failed: request code {} carries no AccessKey.",
                cmd.code
            )));
        };
        let tables = self.read().map_err(|e| Denied(e.to_string()))?;
        let Some(user) = tables.users.get(name) else {
            return Err(Denied(format!("User:{name} not found.")));
        };
        if user.user_type == UserType::Super {
            return Ok(());
        }
        let subject = user.subject();
        let acl = tables.acls.get(&subject);
        for need in needs {
            let why = match acl.and_then(|a| a.deciding_entry(&need.resource, &need.actions, peer)) {
                None => "no matched policies.",
                Some(e) if e.decision == Decision::Deny => "the decision is deny.",
                Some(_) => continue,
            };
            return Err(Denied(format!(
                "{subject} has no permission to access {} from {peer}, {why}",
                need.resource.key()
            )));
        }
        Ok(())
    }

    /// Whether the request's `AccessKey` is a Super user (no key: auth may be off — true, as
    /// 5.3 treats it).
    pub fn is_super_caller(&self, cmd: &RemotingCommand) -> Result<bool, AuthError> {
        let Some(name) = cmd.ext(ACCESS_KEY).filter(|s| !s.is_empty()) else {
            return Ok(true);
        };
        match self.read()?.users.get(name) {
            Some(u) => Ok(u.user_type == UserType::Super),
            None => Err(refused(format!("User:{name} is not found"))),
        }
    }

    pub fn user(&self, name: &str) -> Result<Option<User>, AuthError> {
        if name.trim().is_empty() {
            return Err(refused("username can not be blank"));
        }
        Ok(self.read()?.users.get(name).cloned())
    }

    /// Users whose name contains `filter` (all when blank), by name.
    pub fn users(&self, filter: &str) -> Result<Vec<User>, AuthError> {
        Ok(self
            .read()?
            .users
            .values()
            .filter(|u| filter.trim().is_empty() || u.username.contains(filter))
            .cloned()
            .collect())
    }

    fn store_user(&self, tables: &mut Tables, user: User) -> Result<(), AuthError> {
        self.meta.put_auth(AuthKind::User, &user.username, &user.info())?;
        tables.users.insert(user.username.clone(), user);
        Ok(())
    }

    /// AUTH_CREATE_USER. `caller_is_super`: whether the requester may make Super users.
    pub fn create_user(&self, edit: &UserEdit, caller_is_super: Option<bool>) -> Result<(), AuthError> {
        let user = User::create(edit)?;
        if user.user_type == UserType::Super && caller_is_super == Some(false) {
            return Err(refused("The super user can only be create by super user"));
        }
        let mut t = self.write()?;
        if t.users.contains_key(&user.username) {
            return Err(refused("The user is existed"));
        }
        self.store_user(&mut t, user)
    }

    /// AUTH_UPDATE_USER.
    pub fn update_user(&self, edit: &UserEdit, caller_is_super: bool) -> Result<(), AuthError> {
        if edit.username.trim().is_empty() {
            return Err(refused("username can not be blank"));
        }
        let mut t = self.write()?;
        let Some(mut user) = t.users.get(&edit.username).cloned() else {
            return Err(refused("The user is not exist"));
        };
        if !caller_is_super && (user.user_type == UserType::Super || edit.user_type == Some(UserType::Super))
        {
            return Err(refused("The super user can only be update by super user"));
        }
        user.apply(edit);
        self.store_user(&mut t, user)
    }

    /// AUTH_DELETE_USER: the user and its ACL; an absent user is not an error.
    pub fn delete_user(&self, name: &str, caller_is_super: bool) -> Result<(), AuthError> {
        let mut t = self.write()?;
        let Some(user) = t.users.get(name) else {
            return Ok(());
        };
        if user.user_type == UserType::Super && !caller_is_super {
            return Err(refused("The super user can only be update by super user"));
        }
        let subject = user.subject();
        self.meta.delete_auth(AuthKind::Acl, &subject)?;
        self.meta.delete_auth(AuthKind::User, name)?;
        t.acls.remove(&subject);
        t.users.remove(name);
        Ok(())
    }

    /// AUTH_CREATE_ACL / AUTH_UPDATE_ACL (5.3 treats both alike): merged into the subject's ACL.
    pub fn put_acl(&self, subject: &str, info: &AclInfo) -> Result<(), AuthError> {
        let acl = Acl::from_info(subject, info)?;
        let user = model::user_of_subject(&acl.subject)?;
        let mut t = self.write()?;
        if !t.users.contains_key(user) {
            return Err(refused(format!("The subject of {} is not exist.", acl.subject)));
        }
        let merged = match t.acls.get(&acl.subject) {
            Some(old) => {
                let mut m = old.clone();
                m.merge(acl);
                m
            }
            None => acl,
        };
        self.meta
            .put_auth(AuthKind::Acl, &merged.subject, &merged.info())?;
        t.acls.insert(merged.subject.clone(), merged);
        Ok(())
    }

    /// AUTH_DELETE_ACL: the whole ACL, or the entry for one resource of one policy type.
    pub fn delete_acl(
        &self,
        subject: &str,
        policy_type: Option<&str>,
        resource: Option<&str>,
    ) -> Result<(), AuthError> {
        let user = model::user_of_subject(subject)?;
        let subject = subject.trim();
        let mut t = self.write()?;
        if !t.users.contains_key(user) {
            return Err(refused("The subject is not exist."));
        }
        let Some(old) = t.acls.get(subject) else {
            return Err(refused("The acl is not exist."));
        };
        let resource = resource.filter(|r| !r.trim().is_empty());
        let remaining = match resource {
            None => None,
            Some(r) => {
                let r = Resource::parse(r).ok_or_else(|| refused(format!("The resource {r} is invalid.")))?;
                let mut a = old.clone();
                a.remove(PolicyType::parse_or_custom(policy_type), &r);
                (!a.policies.is_empty()).then_some(a)
            }
        };
        match remaining {
            Some(a) => {
                self.meta.put_auth(AuthKind::Acl, subject, &a.info())?;
                t.acls.insert(subject.to_owned(), a);
            }
            None => {
                self.meta.delete_auth(AuthKind::Acl, subject)?;
                t.acls.remove(subject);
            }
        }
        Ok(())
    }

    /// AUTH_GET_ACL: `None` when the subject has none.
    pub fn acl(&self, subject: &str) -> Result<Option<Acl>, AuthError> {
        let user = model::user_of_subject(subject)?;
        let t = self.read()?;
        if !t.users.contains_key(user) {
            return Err(refused("The subject is not exist."));
        }
        Ok(t.acls.get(subject.trim()).cloned())
    }

    /// AUTH_LIST_ACL: subjects containing `subject_filter`, entries filtered by `resource_filter`.
    pub fn acls(&self, subject_filter: &str, resource_filter: &str) -> Result<Vec<Acl>, AuthError> {
        Ok(self
            .read()?
            .acls
            .values()
            .filter(|a| subject_filter.trim().is_empty() || a.subject.contains(subject_filter))
            .filter_map(|a| a.filtered(resource_filter.trim()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_remoting::body::auth::{PolicyEntryInfo, PolicyInfo};

    fn settings() -> AuthSettings {
        AuthSettings {
            authentication: true,
            authorization: true,
            init_user: Some(("root".into(), "rootpw".into())),
            ..AuthSettings::default()
        }
    }

    fn open(dir: &std::path::Path) -> Auth {
        Auth::open(settings(), Arc::new(MetaStore::open(dir).unwrap())).unwrap()
    }

    fn signed(code: i32, ak: &str, sk: &str) -> RemotingCommand {
        let mut cmd = RemotingCommand::request(code).with_ext("b", "orders");
        sign::sign(&mut cmd, ak, sk);
        cmd
    }

    fn policy(resource: &str, actions: &[&str], decision: &str) -> AclInfo {
        AclInfo {
            subject: None,
            policies: Some(vec![PolicyInfo {
                policy_type: None,
                entries: Some(vec![PolicyEntryInfo {
                    resource: Some(resource.into()),
                    actions: Some(actions.iter().map(|s| s.to_string()).collect()),
                    source_ips: None,
                    decision: Some(decision.into()),
                }]),
            }]),
        }
    }

    fn edit(name: &str, pw: &str) -> UserEdit {
        UserEdit {
            username: name.into(),
            password: Some(pw.into()),
            ..UserEdit::default()
        }
    }

    #[test]
    fn authentication_as_5_3() {
        let dir = tempfile::tempdir().unwrap();
        let auth = open(dir.path());
        auth.create_user(&edit("alice", "secret"), Some(true)).unwrap();
        assert_eq!(auth.authenticate(&signed(310, "alice", "secret")), Ok(()));
        let e = |r: Result<(), Denied>| r.unwrap_err().0;
        assert_eq!(
            e(auth.authenticate(&signed(310, "alice", "wrong"))),
            "check signature failed."
        );
        assert_eq!(
            e(auth.authenticate(&signed(310, "bob", "x"))),
            "User:bob is not found."
        );
        assert_eq!(
            e(auth.authenticate(&RemotingCommand::request(310))),
            "username cannot be null."
        );
        auth.update_user(
            &UserEdit {
                username: "alice".into(),
                status: Some(UserStatus::Disable),
                ..UserEdit::default()
            },
            true,
        )
        .unwrap();
        assert_eq!(
            e(auth.authenticate(&signed(310, "alice", "secret"))),
            "User:alice is disabled."
        );
        assert_eq!(
            auth.authenticate(&signed(310, "root", "rootpw")),
            Ok(()),
            "the initial user"
        );
    }

    #[test]
    fn authorisation_and_persistence() {
        let dir = tempfile::tempdir().unwrap();
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        let send = Need::new(Resource::topic("orders"), &[Action::Pub]);
        {
            let auth = open(dir.path());
            auth.create_user(&edit("alice", "secret"), Some(true)).unwrap();
            let cmd = signed(310, "alice", "secret");
            assert_eq!(
                auth.authorize(peer, &cmd, std::slice::from_ref(&send))
                    .unwrap_err()
                    .0,
                "User:alice has no permission to access Topic:orders from 127.0.0.1, no matched policies."
            );
            auth.put_acl("User:alice", &policy("Topic:ord*", &["Pub"], "Allow"))
                .unwrap();
            assert_eq!(auth.authorize(peer, &cmd, std::slice::from_ref(&send)), Ok(()));
            auth.put_acl("User:alice", &policy("Topic:orders", &["Pub"], "Deny"))
                .unwrap();
            assert!(auth
                .authorize(peer, &cmd, std::slice::from_ref(&send))
                .unwrap_err()
                .0
                .ends_with("the decision is deny."));
            assert_eq!(
                auth.authorize(peer, &signed(310, "root", "rootpw"), std::slice::from_ref(&send)),
                Ok(()),
                "Super"
            );
            assert!(matches!(
                auth.put_acl("User:nobody", &policy("Topic:x", &["Pub"], "Allow")),
                Err(AuthError::Refused(m)) if m == "The subject of User:nobody is not exist."
            ));
            assert!(matches!(
                auth.create_user(
                    &UserEdit {
                        user_type: Some(UserType::Super),
                        ..edit("eve", "x")
                    },
                    Some(false)
                ),
                Err(AuthError::Refused(_))
            ));
        }
        // Reopened: the users and the merged ACL are back.
        let auth = open(dir.path());
        assert_eq!(auth.users("").unwrap().len(), 2);
        let acl = auth.acl("User:alice").unwrap().unwrap();
        assert_eq!(acl.policies[0].entries.len(), 2);
        assert_eq!(
            auth.acls("", "Topic:orders").unwrap()[0].policies[0]
                .entries
                .len(),
            1
        );
        auth.delete_acl("User:alice", None, Some("Topic:orders")).unwrap();
        assert_eq!(
            auth.acl("User:alice").unwrap().unwrap().policies[0].entries.len(),
            1
        );
        auth.delete_user("alice", true).unwrap();
        drop(auth);
        let auth = open(dir.path());
        assert!(auth.user("alice").unwrap().is_none());
        assert!(
            auth.acls("", "").unwrap().is_empty(),
            "a deleted user's ACL goes with it"
        );
    }
}
