//! mqadmin's ACL 2.0 commands (RocketMQ 5.3; request codes 3001–3010): createUser,
//! updateUser, deleteUser, getUser, listUser, createAcl, updateAcl, deleteAcl, getAcl, listAcl,
//! on one broker (`-b`) or every broker of a cluster (`-c`), with mqadmin's flags and tables.
//! Once authentication is on, sign with a Super user (`--access-key/--secret-key`).

use anyhow::Result;
use clap::Args;
use serde_json::json;
use sluice_remoting::body::auth::{
    AclInfo, AclInfoList, PolicyEntryInfo, PolicyInfo, UserInfo, UserInfoList,
};
use sluice_remoting::body::JsonBody;
use sluice_remoting::codes::request;
use sluice_remoting::RemotingCommand;

use super::acl::Target;
use super::output::{Output, Table};
use super::{done, Admin};

#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(flatten)]
    pub target: Target,
    #[arg(short = 'u', long = "username")]
    pub username: String,
    #[arg(short = 'p', long = "password")]
    pub password: Option<String>,
    /// Super or Normal.
    #[arg(short = 't', long = "userType")]
    pub user_type: Option<String>,
    /// enable or disable (updateUser).
    #[arg(short = 's', long = "userStatus")]
    pub user_status: Option<String>,
}

#[derive(Debug, Args)]
pub struct UsernameArgs {
    #[command(flatten)]
    pub target: Target,
    #[arg(short = 'u', long = "username")]
    pub username: String,
}

#[derive(Debug, Args)]
pub struct ListUserArgs {
    #[command(flatten)]
    pub target: Target,
    #[arg(short = 'f', long = "filter")]
    pub filter: Option<String>,
}

#[derive(Debug, Args)]
pub struct AclArgs {
    #[command(flatten)]
    pub target: Target,
    /// `User:<name>`.
    #[arg(short = 's', long = "subject")]
    pub subject: String,
    /// Comma-separated: `Topic:orders`, `Group:g-*`, `*` …
    #[arg(short = 'r', long = "resources")]
    pub resources: String,
    /// Comma-separated: Pub, Sub, Create, Update, Delete, Get, List, All.
    #[arg(short = 'a', long = "actions")]
    pub actions: String,
    /// Comma-separated IP addresses or CIDR blocks.
    #[arg(short = 'i', long = "sourceIp")]
    pub source_ip: Option<String>,
    /// Allow or Deny.
    #[arg(short = 'd', long = "decision")]
    pub decision: String,
}

#[derive(Debug, Args)]
pub struct DeleteAclArgs {
    #[command(flatten)]
    pub target: Target,
    #[arg(short = 's', long = "subject")]
    pub subject: String,
    /// Comma-separated resources to remove (none: the subject's whole ACL).
    #[arg(short = 'r', long = "resources")]
    pub resources: Option<String>,
}

#[derive(Debug, Args)]
pub struct SubjectArgs {
    #[command(flatten)]
    pub target: Target,
    #[arg(short = 's', long = "subject")]
    pub subject: String,
}

#[derive(Debug, Args)]
pub struct ListAclArgs {
    #[command(flatten)]
    pub target: Target,
    #[arg(short = 's', long = "subject")]
    pub subject: Option<String>,
    #[arg(short = 'r', long = "resource")]
    pub resource: Option<String>,
}

fn split(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The brokers a command goes to: `-b`, or every master of `-c` (a slave keeps its own users:
/// give it with `-b`).
async fn brokers(admin: &Admin, t: &Target) -> Result<Vec<String>> {
    Ok(admin
        .masters(t.broker_addr.as_deref(), t.cluster_name.as_deref(), false)
        .await?
        .into_iter()
        .map(|(_, a)| a)
        .collect())
}

/// Sends `cmd` to each target broker; `what` names it in the success lines.
async fn to_each(admin: &Admin, t: &Target, cmds: Vec<RemotingCommand>, what: &str) -> Result<Output> {
    let addrs = brokers(admin, t).await?;
    let mut lines = Vec::new();
    for addr in &addrs {
        for cmd in &cmds {
            admin.call_ok(addr, cmd.clone(), what).await?;
        }
        lines.push(format!("{what} to {addr} success."));
    }
    Ok(done(lines, json!({ "brokers": addrs })))
}

fn user_cmd(code: i32, a: &UserArgs) -> RemotingCommand {
    let info = UserInfo {
        username: Some(a.username.clone()),
        password: a.password.clone(),
        user_type: a.user_type.clone(),
        user_status: a.user_status.clone(),
    };
    RemotingCommand::request(code)
        .with_ext("username", &a.username)
        .with_body(info.to_json())
}

pub async fn create_user(admin: &Admin, a: &UserArgs) -> Result<Output> {
    to_each(
        admin,
        &a.target,
        vec![user_cmd(request::AUTH_CREATE_USER, a)],
        "create user",
    )
    .await
}

pub async fn update_user(admin: &Admin, a: &UserArgs) -> Result<Output> {
    to_each(
        admin,
        &a.target,
        vec![user_cmd(request::AUTH_UPDATE_USER, a)],
        "update user",
    )
    .await
}

pub async fn delete_user(admin: &Admin, a: &UsernameArgs) -> Result<Output> {
    let cmd = RemotingCommand::request(request::AUTH_DELETE_USER).with_ext("username", &a.username);
    to_each(admin, &a.target, vec![cmd], "delete user").await
}

fn user_table(users: &[UserInfo]) -> Output {
    let mut t = Table::new(&["#UserName", "#Password", "#UserType", "#UserStatus"]);
    for u in users {
        let cell = |v: &Option<String>| v.clone().unwrap_or_default();
        t.row(vec![
            cell(&u.username),
            cell(&u.password),
            cell(&u.user_type),
            cell(&u.user_status),
        ]);
    }
    Output::table(t, &["username", "password", "userType", "userStatus"])
}

/// A reply's body, `None` when the broker sent none (no such user or ACL, nothing listed).
fn body_of<B: JsonBody>(reply: &RemotingCommand) -> Result<Option<B>> {
    Ok(if reply.body.is_empty() {
        None
    } else {
        Some(B::from_json(&reply.body)?)
    })
}

/// getUser / listUser read the first target broker (mqadmin prints each; they hold the same
/// users when edited through `-c`).
async fn first(admin: &Admin, t: &Target, cmd: RemotingCommand, what: &str) -> Result<RemotingCommand> {
    let addrs = brokers(admin, t).await?;
    let addr = addrs.first().ok_or_else(|| anyhow::anyhow!("no broker found"))?;
    admin.call_ok(addr, cmd, what).await
}

pub async fn get_user(admin: &Admin, a: &UsernameArgs) -> Result<Output> {
    let cmd = RemotingCommand::request(request::AUTH_GET_USER).with_ext("username", &a.username);
    let reply = first(admin, &a.target, cmd, "get user").await?;
    let users: Vec<UserInfo> = body_of(&reply)?.into_iter().collect();
    Ok(user_table(&users))
}

pub async fn list_user(admin: &Admin, a: &ListUserArgs) -> Result<Output> {
    let mut cmd = RemotingCommand::request(request::AUTH_LIST_USER);
    if let Some(f) = &a.filter {
        cmd = cmd.with_ext("filter", f);
    }
    let reply = first(admin, &a.target, cmd, "list user").await?;
    let users = body_of::<UserInfoList>(&reply)?.unwrap_or_default().0;
    Ok(user_table(&users))
}

fn acl_cmd(code: i32, a: &AclArgs) -> RemotingCommand {
    let actions = split(&a.actions);
    let source_ips = a.source_ip.as_deref().map(split).filter(|v| !v.is_empty());
    let entries = split(&a.resources)
        .into_iter()
        .map(|r| PolicyEntryInfo {
            resource: Some(r),
            actions: Some(actions.clone()),
            source_ips: source_ips.clone(),
            decision: Some(a.decision.clone()),
        })
        .collect();
    let info = AclInfo {
        subject: Some(a.subject.clone()),
        policies: Some(vec![PolicyInfo {
            policy_type: None,
            entries: Some(entries),
        }]),
    };
    RemotingCommand::request(code)
        .with_ext("subject", &a.subject)
        .with_body(info.to_json())
}

pub async fn create_acl(admin: &Admin, a: &AclArgs) -> Result<Output> {
    to_each(
        admin,
        &a.target,
        vec![acl_cmd(request::AUTH_CREATE_ACL, a)],
        "create acl",
    )
    .await
}

pub async fn update_acl(admin: &Admin, a: &AclArgs) -> Result<Output> {
    to_each(
        admin,
        &a.target,
        vec![acl_cmd(request::AUTH_UPDATE_ACL, a)],
        "update acl",
    )
    .await
}

pub async fn delete_acl(admin: &Admin, a: &DeleteAclArgs) -> Result<Output> {
    let base = RemotingCommand::request(request::AUTH_DELETE_ACL).with_ext("subject", &a.subject);
    let resources = a.resources.as_deref().map(split).unwrap_or_default();
    let cmds = if resources.is_empty() {
        vec![base]
    } else {
        resources
            .iter()
            .map(|r| base.clone().with_ext("resource", r))
            .collect()
    };
    to_each(admin, &a.target, cmds, "delete acl").await
}

fn acl_table(acls: &[AclInfo]) -> Output {
    let mut t = Table::new(&[
        "#Subject",
        "#PolicyType",
        "#Resource",
        "#Actions",
        "#SourceIp",
        "#Decision",
    ]);
    for acl in acls {
        let subject = acl.subject.clone().unwrap_or_default();
        for p in acl.policies.iter().flatten() {
            for e in p.entries.iter().flatten() {
                t.row(vec![
                    subject.clone(),
                    p.policy_type.clone().unwrap_or_default(),
                    e.resource.clone().unwrap_or_default(),
                    e.actions.clone().unwrap_or_default().join(","),
                    e.source_ips.clone().unwrap_or_default().join(","),
                    e.decision.clone().unwrap_or_default(),
                ]);
            }
        }
    }
    Output::table(
        t,
        &[
            "subject",
            "policyType",
            "resource",
            "actions",
            "sourceIps",
            "decision",
        ],
    )
}

pub async fn get_acl(admin: &Admin, a: &SubjectArgs) -> Result<Output> {
    let cmd = RemotingCommand::request(request::AUTH_GET_ACL).with_ext("subject", &a.subject);
    let reply = first(admin, &a.target, cmd, "get acl").await?;
    let acls: Vec<AclInfo> = body_of(&reply)?.into_iter().collect();
    Ok(acl_table(&acls))
}

pub async fn list_acl(admin: &Admin, a: &ListAclArgs) -> Result<Output> {
    let mut cmd = RemotingCommand::request(request::AUTH_LIST_ACL);
    if let Some(s) = &a.subject {
        cmd = cmd.with_ext("subjectFilter", s);
    }
    if let Some(r) = &a.resource {
        cmd = cmd.with_ext("resourceFilter", r);
    }
    let reply = first(admin, &a.target, cmd, "list acl").await?;
    let acls = body_of::<AclInfoList>(&reply)?.unwrap_or_default().0;
    Ok(acl_table(&acls))
}
