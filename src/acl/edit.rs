//! Remote edits of the ACL files (4.9's ACL admin requests 50, 51, 53; mqadmin's
//! updateAclConfig, deleteAccessConfig, updateGlobalWhiteAddr): an account is changed in the
//! file that holds it (a new one goes to `plain_acl.yml`), the global whitelist in
//! `plain_acl.yml`. Each edit is checked to parse before it replaces the file (write to a
//! temporary file, then rename), so a bad edit changes nothing.

use std::path::{Path, PathBuf};

use yaml_rust2::yaml::Hash;
use yaml_rust2::{Yaml, YamlEmitter, YamlLoader};

use super::{AclError, AclFiles, PlainAcl};

/// One account as the admin request carries it; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessConfig {
    pub access_key: String,
    pub secret_key: Option<String>,
    pub white_remote_address: Option<String>,
    pub admin: Option<bool>,
    pub default_topic_perm: Option<String>,
    pub default_group_perm: Option<String>,
    pub topic_perms: Option<Vec<String>>,
    pub group_perms: Option<Vec<String>>,
}

fn key(k: &str) -> Yaml {
    Yaml::String(k.to_owned())
}

fn read_doc(path: &Path) -> Result<Yaml, AclError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(AclError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let docs = YamlLoader::load_from_str(&text).map_err(|e| AclError::Invalid {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    Ok(match docs.into_iter().next() {
        Some(Yaml::Hash(h)) => Yaml::Hash(h),
        _ => Yaml::Hash(Hash::new()),
    })
}

/// Writes `doc` to `path` if it parses as an ACL file.
fn write_doc(path: &Path, doc: &Yaml) -> Result<(), AclError> {
    let mut text = String::new();
    YamlEmitter::new(&mut text)
        .dump(doc)
        .map_err(|e| AclError::Invalid {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    text.push('\n');
    PlainAcl::parse(path, &text)?;
    let tmp = path.with_extension("yml.tmp");
    let io = |source| AclError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

fn accounts_mut(doc: &mut Yaml) -> Option<&mut Vec<Yaml>> {
    let Yaml::Hash(h) = doc else { return None };
    let entry = h
        .entry(key("accounts"))
        .or_insert_with(|| Yaml::Array(Vec::new()));
    if !matches!(entry, Yaml::Array(_)) {
        *entry = Yaml::Array(Vec::new());
    }
    match entry {
        Yaml::Array(a) => Some(a),
        _ => None,
    }
}

fn is_account(y: &Yaml, access_key: &str) -> bool {
    super::text(&y["accessKey"]).is_some_and(|k| k.trim() == access_key)
}

impl AclFiles {
    /// The file holding `access_key`, else `plain_acl.yml`.
    fn file_of(&self, access_key: &str) -> PathBuf {
        self.present()
            .into_iter()
            .map(|(p, _, _)| p)
            .find(|p| {
                read_doc(p).is_ok_and(|mut d| {
                    accounts_mut(&mut d).is_some_and(|a| a.iter().any(|y| is_account(y, access_key)))
                })
            })
            .unwrap_or_else(|| self.main.clone())
    }

    /// Creates or updates an account.
    pub fn upsert_account(&self, cfg: &AccessConfig) -> Result<(), AclError> {
        let path = self.file_of(&cfg.access_key);
        let mut doc = read_doc(&path)?;
        let Some(accounts) = accounts_mut(&mut doc) else {
            return Err(AclError::Invalid {
                path,
                reason: "not a mapping".into(),
            });
        };
        let at = accounts.iter().position(|y| is_account(y, &cfg.access_key));
        let mut h = match at.map(|i| accounts[i].clone()) {
            Some(Yaml::Hash(h)) => h,
            _ => {
                let mut h = Hash::new();
                h.insert(key("accessKey"), key(&cfg.access_key));
                h
            }
        };
        let mut set = |k: &str, v: Option<Yaml>| {
            if let Some(v) = v {
                h.insert(key(k), v);
            }
        };
        set("secretKey", cfg.secret_key.as_deref().map(key));
        set("whiteRemoteAddress", cfg.white_remote_address.as_deref().map(key));
        set("admin", cfg.admin.map(Yaml::Boolean));
        set("defaultTopicPerm", cfg.default_topic_perm.as_deref().map(key));
        set("defaultGroupPerm", cfg.default_group_perm.as_deref().map(key));
        let list = |v: &Option<Vec<String>>| {
            v.as_ref()
                .map(|l| Yaml::Array(l.iter().map(|s| key(s)).collect()))
        };
        set("topicPerms", list(&cfg.topic_perms));
        set("groupPerms", list(&cfg.group_perms));
        match at {
            Some(i) => accounts[i] = Yaml::Hash(h),
            None => accounts.push(Yaml::Hash(h)),
        }
        write_doc(&path, &doc)
    }

    /// Deletes an account; false when no file holds it.
    pub fn delete_account(&self, access_key: &str) -> Result<bool, AclError> {
        let path = self.file_of(access_key);
        let mut doc = read_doc(&path)?;
        let Some(accounts) = accounts_mut(&mut doc) else {
            return Ok(false);
        };
        let before = accounts.len();
        accounts.retain(|y| !is_account(y, access_key));
        if accounts.len() == before {
            return Ok(false);
        }
        write_doc(&path, &doc)?;
        Ok(true)
    }

    /// Replaces `globalWhiteRemoteAddresses` in `plain_acl.yml`.
    pub fn set_global_white(&self, addresses: &[String]) -> Result<(), AclError> {
        let mut doc = read_doc(&self.main)?;
        if let Yaml::Hash(h) = &mut doc {
            h.insert(
                key("globalWhiteRemoteAddresses"),
                Yaml::Array(addresses.iter().map(|a| key(a)).collect()),
            );
        }
        write_doc(&self.main, &doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_round_trip_through_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let files = AclFiles::under(dir.path());
        std::fs::create_dir_all(&files.dir).unwrap();
        std::fs::write(
            &files.main,
            "accounts:\n  - accessKey: first01\n    secretKey: s1s1s1s1\n",
        )
        .unwrap();
        std::fs::write(
            files.dir.join("more.yml"),
            "accounts:\n  - accessKey: other01\n    secretKey: o1o1o1o1\n",
        )
        .unwrap();
        let acl = super::super::Acl::load(files.clone()).unwrap();
        files
            .upsert_account(&AccessConfig {
                access_key: "newUser01".into(),
                secret_key: Some("n1n1n1n1".into()),
                admin: Some(false),
                default_topic_perm: Some("DENY".into()),
                topic_perms: Some(vec!["T=PUB".into()]),
                ..AccessConfig::default()
            })
            .unwrap();
        files
            .upsert_account(&AccessConfig {
                access_key: "other01".into(),
                admin: Some(true),
                ..AccessConfig::default()
            })
            .unwrap();
        files.set_global_white(&["10.1.*.*".into()]).unwrap();
        acl.reload_if_changed().unwrap();
        let state = acl.state.read().unwrap();
        let a = &state.acl;
        assert_eq!(a.accounts["newUser01"].perms["T"], super::super::perm::PUB);
        assert!(a.accounts["other01"].admin, "updated in the file that holds it");
        assert_eq!(
            a.accounts["other01"].secret_key, "o1o1o1o1",
            "fields not given are kept"
        );
        assert!(a.global_white.matches("10.1.2.3".parse().unwrap()));
        let more = std::fs::read_to_string(files.dir.join("more.yml")).unwrap();
        assert!(
            more.contains("admin: true") && !more.contains("newUser01"),
            "{more}"
        );
        drop(state);
        assert!(files.delete_account("newUser01").unwrap());
        assert!(!files.delete_account("newUser01").unwrap());
        acl.reload_if_changed().unwrap();
        assert!(!acl.state.read().unwrap().acl.accounts.contains_key("newUser01"));
        // A bad edit is refused and leaves the file alone.
        let before = std::fs::read_to_string(&files.main).unwrap();
        assert!(files
            .upsert_account(&AccessConfig {
                access_key: "bad0001".into(),
                secret_key: Some("x".into()),
                topic_perms: Some(vec!["no-equals-sign".into()]),
                ..AccessConfig::default()
            })
            .is_err());
        assert_eq!(std::fs::read_to_string(&files.main).unwrap(), before);
    }
}
