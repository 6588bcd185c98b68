//! ACL 2.0's model (RocketMQ 5.3, protocol.md §8.4): users, resources, actions and the ACL of a
//! subject (policies of entries), read from and written as the admin bodies `UserInfo` /
//! `AclInfo`, with 5.3's validation messages and its merge rules (an entry is replaced when its
//! resource is the same, else added; a policy type is added when absent).

use std::net::IpAddr;

use sluice_remoting::body::auth::{AclInfo, PolicyEntryInfo, PolicyInfo, UserInfo};

use super::ip::IpRange;

/// The prefix of a user subject's key.
pub const USER_SUBJECT: &str = "User:";

/// A request or edit that the model refuses; the text is the remark.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

fn invalid(s: &str) -> Invalid {
    Invalid(s.to_owned())
}

/// Looks a name up case-insensitively among `(variant, name)` pairs.
fn by_name<T: Copy>(table: &[(T, &'static str)], name: &str) -> Option<T> {
    table
        .iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(name.trim()))
        .map(|(v, _)| *v)
}

fn name_of<T: Copy + PartialEq>(table: &[(T, &'static str)], v: T) -> &'static str {
    table.iter().find(|(x, _)| *x == v).map_or("Unknown", |(_, n)| n)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserType {
    Super,
    Normal,
}

const USER_TYPES: &[(UserType, &str)] = &[(UserType::Super, "Super"), (UserType::Normal, "Normal")];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStatus {
    Enable,
    Disable,
}

const USER_STATUSES: &[(UserStatus, &str)] =
    &[(UserStatus::Enable, "enable"), (UserStatus::Disable, "disable")];

/// A user: the username is the `AccessKey` clients send, the password their secret key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub username: String,
    pub password: String,
    pub user_type: UserType,
    pub status: UserStatus,
}

/// The fields of a user edit (AUTH_CREATE_USER / AUTH_UPDATE_USER): absent ones stay as they are.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserEdit {
    pub username: String,
    pub password: Option<String>,
    pub user_type: Option<UserType>,
    pub status: Option<UserStatus>,
}

impl UserEdit {
    /// The body's fields for `username` (the header's); unknown type or status names count as
    /// absent, as 5.3 reads them.
    pub fn from_info(username: &str, info: &UserInfo) -> UserEdit {
        UserEdit {
            username: username.to_owned(),
            password: info.password.clone().filter(|p| !p.trim().is_empty()),
            user_type: info.user_type.as_deref().and_then(|t| by_name(USER_TYPES, t)),
            status: info
                .user_status
                .as_deref()
                .and_then(|s| by_name(USER_STATUSES, s)),
        }
    }
}

impl User {
    /// A new user from an edit (password required; Normal and enabled unless said).
    pub fn create(edit: &UserEdit) -> Result<User, Invalid> {
        if edit.username.trim().is_empty() {
            return Err(invalid("username can not be blank"));
        }
        let Some(password) = edit.password.clone() else {
            return Err(invalid("password can not be blank"));
        };
        Ok(User {
            username: edit.username.clone(),
            password,
            user_type: edit.user_type.unwrap_or(UserType::Normal),
            status: edit.status.unwrap_or(UserStatus::Enable),
        })
    }

    /// Applies the fields an edit has.
    pub fn apply(&mut self, edit: &UserEdit) {
        if let Some(p) = &edit.password {
            self.password = p.clone();
        }
        if let Some(t) = edit.user_type {
            self.user_type = t;
        }
        if let Some(s) = edit.status {
            self.status = s;
        }
    }

    pub fn info(&self) -> UserInfo {
        UserInfo {
            username: Some(self.username.clone()),
            password: Some(self.password.clone()),
            user_type: Some(name_of(USER_TYPES, self.user_type).to_owned()),
            user_status: Some(name_of(USER_STATUSES, self.status).to_owned()),
        }
    }

    /// A stored user (written by [`User::info`]).
    pub fn from_stored(info: &UserInfo) -> Option<User> {
        let edit = UserEdit::from_info(info.username.as_deref()?, info);
        User::create(&edit).ok()
    }

    pub fn subject(&self) -> String {
        format!("{USER_SUBJECT}{}", self.username)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ResourceType {
    Any,
    Cluster,
    Namespace,
    Topic,
    Group,
}

const RESOURCE_TYPES: &[(ResourceType, &str)] = &[
    (ResourceType::Any, "Any"),
    (ResourceType::Cluster, "Cluster"),
    (ResourceType::Namespace, "Namespace"),
    (ResourceType::Topic, "Topic"),
    (ResourceType::Group, "Group"),
];

/// How a policy's resource name matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Pattern {
    /// `Topic:orders`: that name only.
    Literal,
    /// `Topic:orders-*`: names starting with it.
    Prefixed,
    /// `Topic:*` (or `*`, which is any type too).
    Any,
}

/// A resource: what a request touches (always literal), or what a policy entry names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub kind: ResourceType,
    pub name: String,
    pub pattern: Pattern,
}

/// The prefixes that make a topic name a group's retry or dead-letter topic.
const RETRY_PREFIX: &str = "%RETRY%";
const DLQ_PREFIX: &str = "%DLQ%";

impl Resource {
    fn literal(kind: ResourceType, name: &str) -> Resource {
        Resource {
            kind,
            name: name.to_owned(),
            pattern: Pattern::Literal,
        }
    }

    pub fn topic(name: &str) -> Resource {
        Resource::literal(ResourceType::Topic, name)
    }

    /// A group; a retry or dead-letter topic name stands for its group.
    pub fn group(name: &str) -> Resource {
        let name = name
            .strip_prefix(RETRY_PREFIX)
            .or_else(|| name.strip_prefix(DLQ_PREFIX))
            .unwrap_or(name);
        Resource::literal(ResourceType::Group, name)
    }

    pub fn cluster(name: &str) -> Resource {
        Resource::literal(ResourceType::Cluster, name)
    }

    /// A topic, or its group when it is a retry topic (5.3's rule for topic fields).
    pub fn topic_or_retry_group(name: &str) -> Resource {
        if is_retry_topic(name) {
            Resource::group(name)
        } else {
            Resource::topic(name)
        }
    }

    /// `*`, `Type:*`, `Type:prefix*`, `Type:name`; an unknown type is `None`.
    pub fn parse(key: &str) -> Option<Resource> {
        let key = key.trim();
        if key.is_empty() {
            return None;
        }
        if key == "*" {
            return Some(Resource {
                kind: ResourceType::Any,
                name: String::new(),
                pattern: Pattern::Any,
            });
        }
        let (kind, name) = key.split_once(':').unwrap_or((key, ""));
        let kind = by_name(RESOURCE_TYPES, kind)?;
        Some(if name == "*" {
            Resource {
                kind,
                name: String::new(),
                pattern: Pattern::Any,
            }
        } else if let Some(prefix) = name.strip_suffix('*') {
            Resource {
                kind,
                name: prefix.to_owned(),
                pattern: Pattern::Prefixed,
            }
        } else {
            Resource::literal(kind, name)
        })
    }

    /// The key form [`Resource::parse`] reads.
    pub fn key(&self) -> String {
        let kind = name_of(RESOURCE_TYPES, self.kind);
        match (self.kind, self.pattern) {
            (ResourceType::Any, _) => "*".to_owned(),
            (_, Pattern::Any) => format!("{kind}:*"),
            (_, Pattern::Literal) => format!("{kind}:{}", self.name),
            (_, Pattern::Prefixed) => format!("{kind}:{}*", self.name),
        }
    }

    /// Whether this (policy) resource covers `target`.
    pub fn covers(&self, target: &Resource) -> bool {
        if self.kind == ResourceType::Any {
            return true;
        }
        if self.kind != target.kind {
            return false;
        }
        match self.pattern {
            Pattern::Any => true,
            Pattern::Literal => self.name == target.name,
            Pattern::Prefixed => target.name.starts_with(&self.name),
        }
    }
}

pub fn is_retry_topic(topic: &str) -> bool {
    topic.starts_with(RETRY_PREFIX)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    All,
    Any,
    Pub,
    Sub,
    Create,
    Update,
    Delete,
    Get,
    List,
}

const ACTIONS: &[(Action, &str)] = &[
    (Action::All, "All"),
    (Action::Any, "Any"),
    (Action::Pub, "Pub"),
    (Action::Sub, "Sub"),
    (Action::Create, "Create"),
    (Action::Update, "Update"),
    (Action::Delete, "Delete"),
    (Action::Get, "Get"),
    (Action::List, "List"),
];

impl Action {
    pub fn name(self) -> &'static str {
        name_of(ACTIONS, self)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny,
}

const DECISIONS: &[(Decision, &str)] = &[(Decision::Allow, "Allow"), (Decision::Deny, "Deny")];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyType {
    Custom,
    Default,
}

const POLICY_TYPES: &[(PolicyType, &str)] =
    &[(PolicyType::Custom, "Custom"), (PolicyType::Default, "Default")];

impl PolicyType {
    /// A header's `policyType`: absent or unknown is Custom.
    pub fn parse_or_custom(name: Option<&str>) -> PolicyType {
        name.and_then(|n| by_name(POLICY_TYPES, n))
            .unwrap_or(PolicyType::Custom)
    }
}

/// One policy entry: a resource, the actions it is about, where from, and allow or deny.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub resource: Resource,
    pub actions: Vec<Action>,
    /// As written (listed back as written); `ranges` is their parsed form.
    pub source_ips: Vec<String>,
    ranges: Vec<IpRange>,
    pub decision: Decision,
}

impl Entry {
    fn from_info(info: &PolicyEntryInfo) -> Result<Entry, Invalid> {
        let resource = info
            .resource
            .as_deref()
            .and_then(Resource::parse)
            .ok_or_else(|| invalid("The resource is null."))?;
        let actions: Vec<Action> = info
            .actions
            .iter()
            .flatten()
            .filter_map(|a| by_name(ACTIONS, a))
            .collect();
        if actions.is_empty() {
            return Err(invalid("The actions is empty."));
        }
        if actions.contains(&Action::Any) {
            return Err(invalid("The actions can not be Any."));
        }
        let source_ips: Vec<String> = info.source_ips.clone().unwrap_or_default();
        let mut ranges = Vec::with_capacity(source_ips.len());
        for ip in &source_ips {
            if ip.trim().is_empty() {
                return Err(invalid("The source ip is empty."));
            }
            ranges.push(IpRange::parse(ip).ok_or_else(|| invalid("The source ip is invalid."))?);
        }
        let decision = info
            .decision
            .as_deref()
            .and_then(|d| by_name(DECISIONS, d))
            .ok_or_else(|| invalid("The decision is null or illegal."))?;
        Ok(Entry {
            resource,
            actions,
            source_ips,
            ranges,
            decision,
        })
    }

    fn info(&self) -> PolicyEntryInfo {
        PolicyEntryInfo {
            resource: Some(self.resource.key()),
            actions: Some(self.actions.iter().map(|a| a.name().to_owned()).collect()),
            source_ips: (!self.source_ips.is_empty()).then(|| self.source_ips.clone()),
            decision: Some(name_of(DECISIONS, self.decision).to_owned()),
        }
    }

    /// Whether this entry speaks about `target`, for one of `actions`, from `peer`.
    fn matches(&self, target: &Resource, actions: &[Action], peer: IpAddr) -> bool {
        self.resource.covers(target)
            && (actions.contains(&Action::Any)
                || actions
                    .iter()
                    .any(|a| self.actions.contains(a) || self.actions.contains(&Action::All)))
            && (self.ranges.is_empty() || self.ranges.iter().any(|r| r.contains(peer)))
    }

    /// 5.3's precedence among matching entries (smaller first): a typed resource before `*`;
    /// literal, then prefixed (longer prefix first), then any; deny before allow.
    fn precedence(&self) -> (bool, Pattern, std::cmp::Reverse<usize>, bool) {
        (
            self.resource.kind == ResourceType::Any,
            self.resource.pattern,
            std::cmp::Reverse(self.resource.name.len()),
            self.decision == Decision::Allow,
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub kind: PolicyType,
    pub entries: Vec<Entry>,
}

/// A subject's ACL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acl {
    /// `User:<name>`.
    pub subject: String,
    pub policies: Vec<Policy>,
}

/// The user name of a subject key (`User:<name>`); other subject types do not exist in 5.3.
pub fn user_of_subject(subject: &str) -> Result<&str, Invalid> {
    subject
        .trim()
        .strip_prefix(USER_SUBJECT)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Invalid(format!("The subject {subject:?} is not User:<name>.")))
}

impl Acl {
    /// An ACL body (its subject, else `subject` from the header), validated as 5.3 does.
    pub fn from_info(subject: &str, info: &AclInfo) -> Result<Acl, Invalid> {
        let subject = info
            .subject
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or(subject);
        user_of_subject(subject)?;
        let mut policies = Vec::new();
        for p in info.policies.iter().flatten() {
            let entries = p.entries.as_deref().unwrap_or_default();
            if entries.is_empty() {
                return Err(invalid("The policy entries is empty."));
            }
            policies.push(Policy {
                kind: PolicyType::parse_or_custom(p.policy_type.as_deref()),
                entries: entries.iter().map(Entry::from_info).collect::<Result<_, _>>()?,
            });
        }
        if policies.is_empty() {
            return Err(invalid("The policies is empty."));
        }
        Ok(Acl {
            subject: subject.trim().to_owned(),
            policies,
        })
    }

    pub fn info(&self) -> AclInfo {
        AclInfo {
            subject: Some(self.subject.clone()),
            policies: Some(
                self.policies
                    .iter()
                    .map(|p| PolicyInfo {
                        policy_type: Some(name_of(POLICY_TYPES, p.kind).to_owned()),
                        entries: Some(p.entries.iter().map(Entry::info).collect()),
                    })
                    .collect(),
            ),
        }
    }

    /// 5.3's merge: per policy type, an entry with the same resource is replaced, others added.
    pub fn merge(&mut self, other: Acl) {
        for new in other.policies {
            match self.policies.iter_mut().find(|p| p.kind == new.kind) {
                None => self.policies.push(new),
                Some(old) => {
                    for e in new.entries {
                        match old.entries.iter_mut().find(|o| o.resource == e.resource) {
                            Some(o) => *o = e,
                            None => old.entries.push(e),
                        }
                    }
                }
            }
        }
    }

    /// Removes the entry for `resource` from the policy of `kind`; a policy left empty goes.
    pub fn remove(&mut self, kind: PolicyType, resource: &Resource) {
        if let Some(p) = self.policies.iter_mut().find(|p| p.kind == kind) {
            p.entries.retain(|e| &e.resource != resource);
        }
        self.policies.retain(|p| !p.entries.is_empty());
    }

    /// The entry that decides `actions` on `target` from `peer`: among the custom policy's
    /// matching entries (else the default policy's), the first by [`Entry::precedence`].
    pub fn deciding_entry(&self, target: &Resource, actions: &[Action], peer: IpAddr) -> Option<&Entry> {
        [PolicyType::Custom, PolicyType::Default].iter().find_map(|kind| {
            self.policies
                .iter()
                .filter(|p| p.kind == *kind)
                .flat_map(|p| p.entries.iter())
                .filter(|e| e.matches(target, actions, peer))
                .min_by_key(|e| e.precedence())
        })
    }

    /// The ACL as `listAcl` filters it: entries whose resource key contains `resource_filter`
    /// (unless the subject itself does), empty policies dropped; `None` when nothing is left.
    pub fn filtered(&self, resource_filter: &str) -> Option<Acl> {
        let mut acl = self.clone();
        if !resource_filter.is_empty() && !self.subject.contains(resource_filter) {
            for p in &mut acl.policies {
                p.entries.retain(|e| e.resource.key().contains(resource_filter));
            }
            acl.policies.retain(|p| !p.entries.is_empty());
        }
        (!acl.policies.is_empty()).then_some(acl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(resource: &str, actions: &[&str], ips: &[&str], decision: &str) -> PolicyEntryInfo {
        PolicyEntryInfo {
            resource: Some(resource.to_owned()),
            actions: Some(actions.iter().map(|s| s.to_string()).collect()),
            source_ips: (!ips.is_empty()).then(|| ips.iter().map(|s| s.to_string()).collect()),
            decision: Some(decision.to_owned()),
        }
    }

    fn acl(entries: Vec<PolicyEntryInfo>) -> Acl {
        Acl::from_info(
            "User:u",
            &AclInfo {
                subject: None,
                policies: Some(vec![PolicyInfo {
                    policy_type: None,
                    entries: Some(entries),
                }]),
            },
        )
        .unwrap()
    }

    fn peer() -> IpAddr {
        "127.0.0.1".parse().unwrap()
    }

    #[test]
    fn resources_parse_and_print_as_5_3() {
        for k in [
            "*",
            "Topic:*",
            "Topic:orders",
            "Group:g-*",
            "Cluster:DefaultCluster",
        ] {
            assert_eq!(Resource::parse(k).unwrap().key(), k);
        }
        assert_eq!(
            Resource::parse("topic:x").unwrap().key(),
            "Topic:x",
            "type case-insensitive"
        );
        assert!(Resource::parse("Queue:x").is_none());
        assert_eq!(Resource::group("%RETRY%g"), Resource::group("g"));
        assert_eq!(Resource::topic_or_retry_group("%RETRY%g").key(), "Group:g");
        let p = Resource::parse("Topic:ord*").unwrap();
        assert!(p.covers(&Resource::topic("orders")));
        assert!(!p.covers(&Resource::group("orders")));
        assert!(Resource::parse("*").unwrap().covers(&Resource::group("x")));
    }

    #[test]
    fn validation_messages() {
        let bad = |e: PolicyEntryInfo| {
            Acl::from_info(
                "User:u",
                &AclInfo {
                    subject: None,
                    policies: Some(vec![PolicyInfo {
                        policy_type: None,
                        entries: Some(vec![e]),
                    }]),
                },
            )
            .unwrap_err()
            .0
        };
        assert_eq!(
            bad(entry("Queue:x", &["Pub"], &[], "Allow")),
            "The resource is null."
        );
        assert_eq!(
            bad(entry("Topic:x", &["Fly"], &[], "Allow")),
            "The actions is empty."
        );
        assert_eq!(
            bad(entry("Topic:x", &["Any"], &[], "Allow")),
            "The actions can not be Any."
        );
        assert_eq!(
            bad(entry("Topic:x", &["Pub"], &["10.0.0.300"], "Allow")),
            "The source ip is invalid."
        );
        assert_eq!(
            bad(entry("Topic:x", &["Pub"], &[], "Maybe")),
            "The decision is null or illegal."
        );
        assert!(Acl::from_info(
            "Group:g",
            &acl(vec![entry("Topic:x", &["Pub"], &[], "Allow")]).info()
        )
        .is_ok());
        assert!(Acl::from_info("nobody", &AclInfo::default()).is_err());
    }

    #[test]
    fn decisions_follow_5_3_precedence() {
        let a = acl(vec![
            entry("*", &["All"], &[], "Allow"),
            entry("Topic:*", &["Pub"], &[], "Deny"),
            entry("Topic:ord*", &["Pub"], &[], "Allow"),
            entry("Topic:orders-secret*", &["Pub"], &[], "Deny"),
            entry("Topic:orders-secret-ok", &["Pub"], &[], "Allow"),
            entry("Group:g", &["Sub"], &["10.0.0.0/8"], "Allow"),
        ]);
        let d = |t: Resource, act: &[Action]| a.deciding_entry(&t, act, peer()).map(|e| e.decision);
        assert_eq!(
            d(Resource::topic("orders"), &[Action::Pub]),
            Some(Decision::Allow),
            "longest prefix"
        );
        assert_eq!(
            d(Resource::topic("orders-secret-x"), &[Action::Pub]),
            Some(Decision::Deny)
        );
        assert_eq!(
            d(Resource::topic("orders-secret-ok"), &[Action::Pub]),
            Some(Decision::Allow),
            "literal first"
        );
        assert_eq!(
            d(Resource::topic("other"), &[Action::Pub]),
            Some(Decision::Deny),
            "Topic:* before *"
        );
        assert_eq!(
            d(Resource::topic("other"), &[Action::Sub]),
            Some(Decision::Allow),
            "only * speaks of Sub"
        );
        // The group entry is for 10/8 only: from loopback only `*` matches.
        let e = a
            .deciding_entry(&Resource::group("g"), &[Action::Sub], peer())
            .unwrap();
        assert_eq!(e.resource.kind, ResourceType::Any);
        let from10 = a.deciding_entry(&Resource::group("g"), &[Action::Sub], "10.1.2.3".parse().unwrap());
        assert_eq!(from10.unwrap().resource.kind, ResourceType::Group);
        // Deny wins a tie.
        let tie = acl(vec![
            entry("Topic:t", &["Pub"], &[], "Allow"),
            entry("Topic:t", &["Sub"], &[], "Deny"),
        ]);
        assert_eq!(
            tie.deciding_entry(&Resource::topic("t"), &[Action::Pub, Action::Sub], peer())
                .unwrap()
                .decision,
            Decision::Deny
        );
        assert!(tie
            .deciding_entry(&Resource::topic("t"), &[Action::Get], peer())
            .is_none());
        assert!(tie
            .deciding_entry(&Resource::topic("t"), &[Action::Any], peer())
            .is_some());
    }

    #[test]
    fn merge_replaces_same_resource_and_remove_drops_empty_policies() {
        let mut a = acl(vec![entry("Topic:t", &["Pub"], &[], "Allow")]);
        a.merge(acl(vec![
            entry("Topic:t", &["Sub"], &[], "Deny"),
            entry("Group:g", &["Sub"], &[], "Allow"),
        ]));
        assert_eq!(a.policies.len(), 1);
        assert_eq!(a.policies[0].entries.len(), 2);
        assert_eq!(a.policies[0].entries[0].decision, Decision::Deny);
        assert_eq!(a.filtered("Group").unwrap().policies[0].entries.len(), 1);
        assert!(a.filtered("Cluster").is_none());
        assert_eq!(
            a.filtered("User:u").unwrap(),
            a,
            "a filter matching the subject keeps all"
        );
        a.remove(PolicyType::Custom, &Resource::topic("t"));
        a.remove(PolicyType::Custom, &Resource::group("g"));
        assert!(a.policies.is_empty());
        let info = acl(vec![entry("Topic:t", &["Pub", "Sub"], &["10.0.0.0/8"], "Allow")]).info();
        assert_eq!(
            Acl::from_info("User:u", &info).unwrap().info(),
            info,
            "round trip"
        );
    }

    #[test]
    fn users_from_bodies() {
        let info = UserInfo {
            username: None,
            password: Some("pw".into()),
            user_type: Some("super".into()),
            user_status: None,
        };
        let u = User::create(&UserEdit::from_info("alice", &info)).unwrap();
        assert_eq!((u.user_type, u.status), (UserType::Super, UserStatus::Enable));
        assert_eq!(u.info().user_type.as_deref(), Some("Super"));
        assert_eq!(User::from_stored(&u.info()), Some(u.clone()));
        let no_pw = UserEdit {
            username: "bob".into(),
            ..UserEdit::default()
        };
        assert_eq!(User::create(&no_pw).unwrap_err().0, "password can not be blank");
        let mut v = u;
        v.apply(&UserEdit::from_info(
            "alice",
            &UserInfo {
                user_status: Some("DISABLE".into()),
                ..UserInfo::default()
            },
        ));
        assert_eq!((v.status, v.password.as_str()), (UserStatus::Disable, "pw"));
    }
}
