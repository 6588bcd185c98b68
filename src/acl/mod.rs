//! ACL 1.0 (`aclEnable=true`, protocol.md §8): the accounts of `plain_acl.yml`
//! ([`PlainAcl`]), the decision for one request ([`Acl::check`], 4.9's PlainAccessValidator
//! order), and reloading the files when they change ([`Acl::reload_if_changed`]).
//!
//! Files: `<rocketmqHome>/conf/plain_acl.yml` and every `*.yml` under `<rocketmqHome>/conf/acl/`
//! (as 4.9.3+ reads them), merged; `rocketmqHome` is the broker.conf key, else `$ROCKETMQ_HOME`.
//! What each request code needs is the `acl` column of the broker's route table
//! (`broker::request::ROUTES`). Signatures: `sluice_remoting::acl`.

pub mod address;
pub mod edit;
pub mod perm;

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::SystemTime;

use sluice_remoting::acl::{self as sign, ACCESS_KEY};
use sluice_remoting::RemotingCommand;
use yaml_rust2::{Yaml, YamlLoader};

use address::AddressPattern;
use perm::{Need, Rule, PUB, RETRY_PREFIX};

/// The topic message traces go to; a request that publishes to it is always allowed (4.9).
const TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";

/// An ACL file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AclError {
    #[error("reading {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("aclEnable=true but no ACL file was found at {0} (set rocketmqHome or ROCKETMQ_HOME)")]
    Missing(PathBuf),
}

/// A refused request: the remark names what was missing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Denied(pub String);

/// One account of `plain_acl.yml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub access_key: String,
    pub secret_key: String,
    pub admin: bool,
    pub white_remote_address: AddressPattern,
    pub default_topic_perm: u8,
    pub default_group_perm: u8,
    /// Explicit permissions: topics by name, groups as `%RETRY%<group>`.
    pub perms: HashMap<String, u8>,
}

/// The merged content of the ACL files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlainAcl {
    pub global_white: AddressPattern,
    pub accounts: HashMap<String, Account>,
}

/// A scalar's text (YAML numbers and booleans as written).
fn text(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A list of scalars, or one scalar, or nothing.
fn texts(y: &Yaml) -> Vec<String> {
    match y {
        Yaml::Array(items) => items.iter().filter_map(text).collect(),
        other => text(other).into_iter().collect(),
    }
}

impl PlainAcl {
    /// Parses one file's text (`path` only names it in errors).
    pub fn parse(path: &Path, yaml: &str) -> Result<PlainAcl, AclError> {
        let invalid = |reason: String| AclError::Invalid {
            path: path.to_path_buf(),
            reason,
        };
        let docs = YamlLoader::load_from_str(yaml).map_err(|e| invalid(e.to_string()))?;
        let mut acl = PlainAcl::default();
        let Some(doc) = docs.first() else {
            return Ok(acl);
        };
        let globals = texts(&doc["globalWhiteRemoteAddresses"]);
        acl.global_white = AddressPattern::parse_all(globals.iter().map(String::as_str)).map_err(invalid)?;
        let accounts = match &doc["accounts"] {
            Yaml::Array(a) => a.as_slice(),
            Yaml::BadValue | Yaml::Null => &[],
            _ => return Err(invalid("accounts is not a list".into())),
        };
        for (i, a) in accounts.iter().enumerate() {
            let field = |k: &str| text(&a[k]).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
            let access_key =
                field("accessKey").ok_or_else(|| invalid(format!("account {i} has no accessKey")))?;
            let secret_key = field("secretKey")
                .ok_or_else(|| invalid(format!("account {access_key} has no secretKey")))?;
            let white = texts(&a["whiteRemoteAddress"]);
            let mut perms = HashMap::new();
            for (key, prefix) in [("topicPerms", ""), ("groupPerms", RETRY_PREFIX)] {
                for entry in texts(&a[key]) {
                    let (name, p) = entry.split_once('=').ok_or_else(|| {
                        invalid(format!("{access_key}: {key} entry {entry:?} is not name=PERM"))
                    })?;
                    perms.insert(format!("{prefix}{}", name.trim()), perm::parse(p));
                }
            }
            let account = Account {
                admin: field("admin").is_some_and(|v| v.eq_ignore_ascii_case("true")),
                white_remote_address: AddressPattern::parse_all(white.iter().map(String::as_str))
                    .map_err(|e| invalid(format!("{access_key}: {e}")))?,
                default_topic_perm: field("defaultTopicPerm").map_or(perm::DENY, |p| perm::parse(&p)),
                default_group_perm: field("defaultGroupPerm").map_or(perm::DENY, |p| perm::parse(&p)),
                perms,
                secret_key,
                access_key: access_key.clone(),
            };
            if acl.accounts.insert(access_key.clone(), account).is_some() {
                return Err(invalid(format!("accessKey {access_key} is listed twice")));
            }
        }
        Ok(acl)
    }

    /// Adds `other`'s addresses and accounts (an accessKey in two files: the later one wins, as
    /// a warning).
    fn merge(&mut self, other: PlainAcl, from: &Path) {
        self.global_white =
            AddressPattern::merged(std::mem::take(&mut self.global_white), other.global_white);
        for (k, a) in other.accounts {
            if self.accounts.insert(k.clone(), a).is_some() {
                tracing::warn!(access_key = %k, file = %from.display(), "accessKey defined in more than one ACL file; this one wins");
            }
        }
    }

    /// 4.9's decision for `cmd` from `peer` needing `rule` (protocol.md §8.2 step 4).
    pub fn check(&self, peer: IpAddr, cmd: &RemotingCommand, rule: &Rule) -> Result<(), Denied> {
        if self.global_white.matches(peer) {
            return Ok(());
        }
        let Some(ak) = cmd.ext(ACCESS_KEY).filter(|s| !s.is_empty()) else {
            return Err(Denied(format!(
                "No accessKey is configured (request code {} from {peer})",
                cmd.code
            )));
        };
        let Some(account) = self.accounts.get(ak) else {
            return Err(Denied(format!("No acl config for {ak}")));
        };
        if account.white_remote_address.matches(peer) {
            return Ok(());
        }
        if !sign::verify(&account.secret_key, cmd) {
            return Err(Denied(format!("Check signature failed for accessKey={ak}")));
        }
        let needs = match rule {
            Rule::Signature => return Ok(()),
            Rule::Admin if account.admin => return Ok(()),
            Rule::Admin => {
                return Err(Denied(format!(
                    "accessKey={ak} is not an admin account; request code {} needs one",
                    cmd.code
                )))
            }
            Rule::Resources(needs) => needs,
        };
        if needs.iter().any(|n| n.resource == TRACE_TOPIC && n.perm == PUB) {
            return Ok(());
        }
        if account.admin && account.perms.is_empty() {
            return Ok(());
        }
        for need in needs {
            let owned = account
                .perms
                .get(&need.resource)
                .copied()
                .unwrap_or(if need.is_group() {
                    account.default_group_perm
                } else {
                    account.default_topic_perm
                });
            if !perm::allows(need.perm, owned) {
                return Err(Denied(format!(
                    "No {} permission for {} (accessKey={ak} has {})",
                    perm::name(need.perm),
                    need.describe(),
                    perm::name(owned)
                )));
            }
        }
        Ok(())
    }
}

/// The files read, each with its modification time and a hash of its content (file times can
/// be coarser than two quick edits: the content decides whether a file changed).
type Stamps = Vec<(PathBuf, Option<SystemTime>, u64)>;

fn content_hash(path: &Path) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    std::fs::read(path).unwrap_or_default().hash(&mut h);
    h.finish()
}

/// Where the ACL files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclFiles {
    /// `<home>/conf/plain_acl.yml`.
    pub main: PathBuf,
    /// `<home>/conf/acl`: every `*.yml` in it too.
    pub dir: PathBuf,
}

impl AclFiles {
    /// The files under a RocketMQ home (`rocketmqHome`, `$ROCKETMQ_HOME`).
    pub fn under(home: &Path) -> AclFiles {
        AclFiles {
            main: home.join("conf").join("plain_acl.yml"),
            dir: home.join("conf").join("acl"),
        }
    }

    /// The files that exist now, main first, the directory's in name order, with their mtimes.
    fn present(&self) -> Stamps {
        let mut out = Vec::new();
        if self.main.is_file() {
            out.push(self.main.clone());
        }
        if let Ok(rd) = std::fs::read_dir(&self.dir) {
            let mut more: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml") && p.is_file())
                .collect();
            more.sort();
            out.extend(more);
        }
        out.into_iter()
            .map(|p| {
                let m = std::fs::metadata(&p).and_then(|m| m.modified()).ok();
                let h = content_hash(&p);
                (p, m, h)
            })
            .collect()
    }

    /// Reads and merges every file; none at all is an error (fail closed).
    fn load(&self) -> Result<(PlainAcl, Stamps), AclError> {
        let present = self.present();
        if present.is_empty() {
            return Err(AclError::Missing(self.main.clone()));
        }
        let mut acl = PlainAcl::default();
        for (path, _, _) in &present {
            let yaml = std::fs::read_to_string(path).map_err(|source| AclError::Io {
                path: path.clone(),
                source,
            })?;
            acl.merge(PlainAcl::parse(path, &yaml)?, path);
        }
        Ok((acl, present))
    }
}

/// One ACL file's version, as 4.9 reports it (GET_BROKER_CLUSTER_ACL_INFO): how many times
/// its content was (re)loaded since the broker started, and when it was last modified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileVersion {
    pub counter: i64,
    /// Modification time, ms since the epoch.
    pub timestamp_ms: i64,
}

/// The versions after a load of `now`, given the previous ones: a new or changed file counts one
/// more; a file that is gone is forgotten.
fn next_versions(
    prev: &BTreeMap<PathBuf, FileVersion>,
    old: &Stamps,
    now: &Stamps,
) -> BTreeMap<PathBuf, FileVersion> {
    now.iter()
        .map(|(path, mtime, hash)| {
            let unchanged = old.iter().any(|(p, _, h)| p == path && h == hash);
            let counter = prev.get(path).map_or(0, |v| v.counter) + i64::from(!unchanged);
            let timestamp_ms = mtime
                .and_then(|m| m.duration_since(SystemTime::UNIX_EPOCH).ok())
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
            (
                path.clone(),
                FileVersion {
                    counter,
                    timestamp_ms,
                },
            )
        })
        .collect()
}

/// What is loaded now.
#[derive(Debug)]
struct Loaded {
    acl: PlainAcl,
    stamps: Stamps,
    versions: BTreeMap<PathBuf, FileVersion>,
}

/// The live ACL: the merged files, reloaded when they change.
#[derive(Debug)]
pub struct Acl {
    files: AclFiles,
    state: RwLock<Loaded>,
}

impl Acl {
    /// Loads the files; an error stops the server from starting.
    pub fn load(files: AclFiles) -> Result<Acl, AclError> {
        let (acl, stamps) = files.load()?;
        tracing::info!(accounts = acl.accounts.len(), files = stamps.len(), "ACL loaded");
        let versions = next_versions(&BTreeMap::new(), &Vec::new(), &stamps);
        Ok(Acl {
            files,
            state: RwLock::new(Loaded {
                acl,
                stamps,
                versions,
            }),
        })
    }

    /// Re-reads the files if any was added, removed or modified. A file that no longer parses
    /// keeps the previous rules (and is reported); `Ok(true)` when new rules took effect.
    pub fn reload_if_changed(&self) -> Result<bool, AclError> {
        let present = self.files.present();
        let same = self.state.read().map(|s| s.stamps == present).unwrap_or(false);
        if same {
            return Ok(false);
        }
        let (acl, stamps) = self.files.load()?;
        tracing::info!(
            accounts = acl.accounts.len(),
            files = stamps.len(),
            "ACL reloaded"
        );
        if let Ok(mut s) = self.state.write() {
            let versions = next_versions(&s.versions, &s.stamps, &stamps);
            *s = Loaded {
                acl,
                stamps,
                versions,
            };
        }
        Ok(true)
    }

    /// Polls the files every `period` until `shutdown` turns true.
    pub fn spawn_reloader(
        self: &std::sync::Arc<Self>,
        period: std::time::Duration,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let acl = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = shutdown.changed() => break,
                }
                let acl2 = acl.clone();
                match tokio::task::spawn_blocking(move || acl2.reload_if_changed()).await {
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "ACL file change not applied; the previous rules stay")
                    }
                    Err(e) => tracing::warn!(error = %e, "ACL reload task failed"),
                    Ok(Ok(_)) => {}
                }
            }
        });
    }

    /// Where the files are (remote edits, [`edit`]).
    pub fn files(&self) -> &AclFiles {
        &self.files
    }

    /// The decision for `cmd` from `peer` needing `rule`.
    pub fn check(&self, peer: IpAddr, cmd: &RemotingCommand, rule: &Rule) -> Result<(), Denied> {
        match self.state.read() {
            Ok(s) => s.acl.check(peer, cmd, rule),
            Err(_) => Err(Denied("ACL state unavailable".into())),
        }
    }

    /// Each file's version, and the main file's (4.9's "the" ACL config version).
    pub fn versions(&self) -> (Vec<(PathBuf, FileVersion)>, Option<FileVersion>) {
        let Ok(s) = self.state.read() else {
            return (Vec::new(), None);
        };
        let all: Vec<_> = s.versions.iter().map(|(p, v)| (p.clone(), *v)).collect();
        (all, s.versions.get(&self.files.main).copied())
    }

    /// The merged accounts and global whitelist now in force.
    pub fn snapshot(&self) -> PlainAcl {
        self.state.read().map(|s| s.acl.clone()).unwrap_or_default()
    }
}

/// Convenience for route tables: the resources of a request.
pub fn needs(items: impl IntoIterator<Item = Need>) -> Rule {
    Rule::Resources(items.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use perm::SUB;

    const YAML: &str = r"
globalWhiteRemoteAddresses:
  - 10.10.103.*
accounts:
  - accessKey: RocketMQ
    secretKey: 12345678
    whiteRemoteAddress:
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - topicA=DENY
      - topicB=PUB|SUB
      - topicC=SUB
    groupPerms:
      - groupA=DENY
      - groupB=PUB|SUB
  - accessKey: rocketmq2
    secretKey: 87654321
    whiteRemoteAddress: 192.168.1.*
    admin: true
";

    fn acl() -> PlainAcl {
        PlainAcl::parse(Path::new("plain_acl.yml"), YAML).unwrap()
    }

    fn signed(ak: &str, sk: &str) -> RemotingCommand {
        let mut cmd = RemotingCommand::request(310)
            .with_ext("b", "topicB")
            .with_body(&b"x"[..]);
        sign::sign(&mut cmd, ak, sk);
        cmd
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_section_8_3() {
        let a = acl();
        let rq = &a.accounts["RocketMQ"];
        assert_eq!(rq.secret_key, "12345678", "a YAML number is read as its text");
        assert!(!rq.admin);
        assert_eq!(rq.perms["topicB"], PUB | SUB);
        assert_eq!(rq.perms["%RETRY%groupA"], perm::DENY);
        assert_eq!(rq.default_group_perm, SUB);
        assert!(rq.white_remote_address.is_empty());
        assert!(a.accounts["rocketmq2"].admin);
        assert!(PlainAcl::parse(Path::new("x"), "accounts:\n  - secretKey: abc\n").is_err());
        assert!(PlainAcl::parse(
            Path::new("x"),
            "accounts:\n  - accessKey: a\n    secretKey: b\n    topicPerms:\n      - nope\n"
        )
        .is_err());
    }

    #[test]
    fn decisions_follow_4_9_order() {
        let a = acl();
        let peer = ip("127.0.0.1");
        let pub_b = Rule::Resources(vec![Need::topic("topicB", PUB)]);
        assert_eq!(a.check(peer, &signed("RocketMQ", "12345678"), &pub_b), Ok(()));
        // Global whitelist: no key needed.
        assert_eq!(
            a.check(ip("10.10.103.9"), &RemotingCommand::request(310), &pub_b),
            Ok(())
        );
        let err = |r: Result<(), Denied>| r.unwrap_err().0;
        assert!(err(a.check(peer, &RemotingCommand::request(310), &pub_b)).contains("No accessKey"));
        assert!(
            err(a.check(peer, &signed("nobody", "12345678"), &pub_b)).contains("No acl config for nobody")
        );
        assert!(err(a.check(peer, &signed("RocketMQ", "wrong"), &pub_b)).contains("Check signature failed"));
        // Per resource: explicit perms, then the defaults.
        let e = err(a.check(
            peer,
            &signed("RocketMQ", "12345678"),
            &Rule::Resources(vec![Need::topic("topicC", PUB)]),
        ));
        assert!(e.contains("No PUB permission for topic topicC"), "{e}");
        assert!(err(a.check(
            peer,
            &signed("RocketMQ", "12345678"),
            &Rule::Resources(vec![Need::topic("other", SUB)])
        ))
        .contains("topic other"));
        assert_eq!(
            a.check(
                peer,
                &signed("RocketMQ", "12345678"),
                &Rule::Resources(vec![Need::group("groupZ")])
            ),
            Ok(()),
            "defaultGroupPerm SUB"
        );
        assert!(err(a.check(
            peer,
            &signed("RocketMQ", "12345678"),
            &Rule::Resources(vec![Need::group("groupA")])
        ))
        .contains("group groupA"));
        // The trace topic is always writable.
        assert_eq!(
            a.check(
                peer,
                &signed("RocketMQ", "12345678"),
                &Rule::Resources(vec![Need::topic(TRACE_TOPIC, PUB)])
            ),
            Ok(())
        );
        // Admin codes.
        assert!(err(a.check(peer, &signed("RocketMQ", "12345678"), &Rule::Admin)).contains("not an admin"));
        assert_eq!(
            a.check(peer, &signed("rocketmq2", "87654321"), &Rule::Admin),
            Ok(())
        );
        assert_eq!(
            a.check(peer, &signed("rocketmq2", "87654321"), &pub_b),
            Ok(()),
            "admin without explicit perms"
        );
        // The account's whitelist skips the signature check.
        assert_eq!(
            a.check(ip("192.168.1.7"), &signed("rocketmq2", "bad"), &Rule::Admin),
            Ok(())
        );
    }

    #[test]
    fn files_merge_and_reload_on_change() {
        let dir = tempfile::tempdir().unwrap();
        let files = AclFiles::under(dir.path());
        assert!(
            matches!(Acl::load(files.clone()), Err(AclError::Missing(_))),
            "no file: fail closed"
        );
        std::fs::create_dir_all(&files.dir).unwrap();
        std::fs::write(&files.main, YAML).unwrap();
        std::fs::write(
            files.dir.join("extra.yml"),
            "accounts:\n  - accessKey: third\n    secretKey: 33333333\n    admin: true\n",
        )
        .unwrap();
        let acl = Acl::load(files.clone()).unwrap();
        let peer = ip("127.0.0.1");
        assert_eq!(
            acl.check(peer, &signed("third", "33333333"), &Rule::Admin),
            Ok(())
        );
        assert!(!acl.reload_if_changed().unwrap());
        let (all, main) = acl.versions();
        assert_eq!(all.len(), 2);
        assert_eq!(main.map(|v| v.counter), Some(1), "loaded once");
        std::fs::remove_file(files.dir.join("extra.yml")).unwrap();
        assert!(acl.reload_if_changed().unwrap());
        assert!(acl
            .check(peer, &signed("third", "33333333"), &Rule::Admin)
            .is_err());
        // A broken edit keeps the previous rules.
        std::fs::write(&files.main, "accounts: [").unwrap();
        assert!(acl.reload_if_changed().is_err());
        assert_eq!(
            acl.check(peer, &signed("rocketmq2", "87654321"), &Rule::Admin),
            Ok(())
        );
    }
}
