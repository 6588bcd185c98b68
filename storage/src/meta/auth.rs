//! Column families `auth_users` and `auth_acls`: ACL 2.0's users (keyed by username) and ACLs
//! (keyed by subject, `User:<name>`), one JSON document each in the admin protocol's shapes
//! (`UserInfo`, `AclInfo`, protocol.md §8.4). Every change is a synced write: a deleted user or
//! a revoked policy stays so after a power loss.

use rocksdb::{IteratorMode, WriteOptions};
use serde::{de::DeserializeOwned, Serialize};

use super::{from_json, MetaStore};
use crate::error::StoreError;

pub const CF_AUTH_USERS: &str = "auth_users";
pub const CF_AUTH_ACLS: &str = "auth_acls";

/// Which kind of ACL 2.0 record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    User,
    Acl,
}

impl AuthKind {
    fn cf(self) -> &'static str {
        match self {
            AuthKind::User => CF_AUTH_USERS,
            AuthKind::Acl => CF_AUTH_ACLS,
        }
    }
}

fn synced() -> WriteOptions {
    let mut opts = WriteOptions::default();
    opts.set_sync(true);
    opts
}

impl MetaStore {
    /// Stores `value` under `key` (a synced write).
    pub fn put_auth<T: Serialize>(&self, kind: AuthKind, key: &str, value: &T) -> Result<(), StoreError> {
        self.put_json_at(kind.cf(), key.as_bytes(), key, value, &synced())
    }

    /// Removes `key` (a synced write); absent is not an error.
    pub fn delete_auth(&self, kind: AuthKind, key: &str) -> Result<(), StoreError> {
        self.db
            .delete_cf_opt(self.cf(kind.cf())?, key.as_bytes(), &synced())?;
        Ok(())
    }

    /// Every record of `kind` with its key, in key order.
    pub fn all_auth<T: DeserializeOwned>(&self, kind: AuthKind) -> Result<Vec<(String, T)>, StoreError> {
        let mut out = Vec::new();
        for item in self.db.iterator_cf(self.cf(kind.cf())?, IteratorMode::Start) {
            let (k, v) = item?;
            let key = String::from_utf8_lossy(&k).into_owned();
            let value = from_json(&key, &v)?;
            out.push((key, value));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_reopen_and_deletes_stick() {
        let dir = tempfile::tempdir().unwrap();
        {
            let m = MetaStore::open(dir.path()).unwrap();
            m.put_auth(AuthKind::User, "alice", &serde_json::json!({"username": "alice"}))
                .unwrap();
            m.put_auth(AuthKind::User, "bob", &serde_json::json!({"username": "bob"}))
                .unwrap();
            m.put_auth(
                AuthKind::Acl,
                "User:alice",
                &serde_json::json!({"subject": "User:alice"}),
            )
            .unwrap();
            m.delete_auth(AuthKind::User, "bob").unwrap();
            m.delete_auth(AuthKind::User, "nobody").unwrap();
        }
        let m = MetaStore::open(dir.path()).unwrap();
        let users: Vec<(String, serde_json::Value)> = m.all_auth(AuthKind::User).unwrap();
        assert_eq!(users.len(), 1);
        assert_eq!(users[0].0, "alice");
        let acls: Vec<(String, serde_json::Value)> = m.all_auth(AuthKind::Acl).unwrap();
        assert_eq!(acls[0].1["subject"], "User:alice");
    }
}
