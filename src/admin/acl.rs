//! mqadmin's ACL 1.0 commands: updateAclConfig, deleteAccessConfig, updateGlobalWhiteAddr (4.9
//! request codes 50, 51, 53), on one broker (`-b`) or every master of a cluster (`-c`). The
//! brokers need `aclEnable=true`, and these requests an admin account (`--access-key`).

use anyhow::Result;
use clap::Args;
use serde_json::json;
use sluice_remoting::codes::request;
use sluice_remoting::RemotingCommand;

use super::output::Output;
use super::{done, Admin};

/// Where an ACL edit goes: one broker (`-b`) or every master of a cluster (`-c`).
#[derive(Debug, Args)]
pub struct Target {
    #[arg(short = 'b', long = "brokerAddr")]
    pub broker_addr: Option<String>,
    #[arg(short = 'c', long = "clusterName")]
    pub cluster_name: Option<String>,
}

#[derive(Debug, Args)]
pub struct UpdateAclConfigArgs {
    #[command(flatten)]
    pub target: Target,
    /// The account's access key.
    #[arg(short = 'a', long = "accessKey")]
    pub access_key: String,
    #[arg(short = 's', long = "secretKey")]
    pub secret_key: Option<String>,
    #[arg(short = 'w', long = "whiteRemoteAddress")]
    pub white_remote_address: Option<String>,
    /// DENY, PUB, SUB or PUB|SUB.
    #[arg(short = 'i', long = "defaultTopicPerm")]
    pub default_topic_perm: Option<String>,
    #[arg(short = 'u', long = "defaultGroupPerm")]
    pub default_group_perm: Option<String>,
    /// `topicA=PUB,topicB=SUB`.
    #[arg(short = 't', long = "topicPerms")]
    pub topic_perms: Option<String>,
    /// `groupA=SUB,groupB=DENY`.
    #[arg(short = 'g', long = "groupPerms")]
    pub group_perms: Option<String>,
    #[arg(short = 'm', long = "admin")]
    pub admin: Option<bool>,
}

#[derive(Debug, Args)]
pub struct DeleteAccessConfigArgs {
    #[command(flatten)]
    pub target: Target,
    #[arg(short = 'a', long = "accessKey")]
    pub access_key: String,
}

#[derive(Debug, Args)]
pub struct UpdateGlobalWhiteAddrArgs {
    #[command(flatten)]
    pub target: Target,
    /// Comma-separated address patterns.
    #[arg(short = 'g', long = "globalWhiteRemoteAddresses")]
    pub addresses: String,
}

/// Sends `cmd` to `-b` or every master of `-c`.
async fn to_masters(admin: &Admin, target: &Target, cmd: RemotingCommand, what: &str) -> Result<Output> {
    let targets = admin
        .masters(
            target.broker_addr.as_deref(),
            target.cluster_name.as_deref(),
            false,
        )
        .await?;
    let mut lines = Vec::new();
    for (_, addr) in &targets {
        admin.call_ok(addr, cmd.clone(), what).await?;
        lines.push(format!("{what} to {addr} success."));
    }
    let brokers: Vec<&String> = targets.iter().map(|(_, a)| a).collect();
    Ok(done(lines, json!({ "brokers": brokers })))
}

pub async fn update_acl_config(admin: &Admin, a: &UpdateAclConfigArgs) -> Result<Output> {
    let mut cmd =
        RemotingCommand::request(request::UPDATE_AND_CREATE_ACL_CONFIG).with_ext("accessKey", &a.access_key);
    let optional = [
        ("secretKey", &a.secret_key),
        ("whiteRemoteAddress", &a.white_remote_address),
        ("defaultTopicPerm", &a.default_topic_perm),
        ("defaultGroupPerm", &a.default_group_perm),
        ("topicPerms", &a.topic_perms),
        ("groupPerms", &a.group_perms),
    ];
    for (k, v) in optional {
        if let Some(v) = v {
            cmd = cmd.with_ext(k, v);
        }
    }
    if let Some(admin_flag) = a.admin {
        cmd = cmd.with_ext("admin", admin_flag.to_string());
    }
    to_masters(admin, &a.target, cmd, "create or update plain access config").await
}

pub async fn delete_access_config(admin: &Admin, a: &DeleteAccessConfigArgs) -> Result<Output> {
    let cmd = RemotingCommand::request(request::DELETE_ACL_CONFIG).with_ext("accessKey", &a.access_key);
    to_masters(admin, &a.target, cmd, "delete plain access config").await
}

pub async fn update_global_white_addr(admin: &Admin, a: &UpdateGlobalWhiteAddrArgs) -> Result<Output> {
    let cmd = RemotingCommand::request(request::UPDATE_GLOBAL_WHITE_ADDRS_CONFIG)
        .with_ext("globalWhiteAddrs", &a.addresses);
    to_masters(admin, &a.target, cmd, "update global white remote addresses").await
}
