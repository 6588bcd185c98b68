//! mqadmin's ACL 1.0 commands: updateAclConfig, deleteAccessConfig, updateGlobalWhiteAddr (4.9
//! request codes 50, 51, 53), clusterAclConfigVersion (52) and getAclConfig (54), on one broker
//! (`-b`) or every master of a cluster (`-c`). The brokers need `aclEnable=true`, and the edits
//! and getAclConfig an admin account (`--access-key`).

use anyhow::Result;
use clap::Args;
use serde_json::json;
use sluice_remoting::body::acl::BrokerClusterAclConfig;
use sluice_remoting::body::{DataVersion, JsonBody};
use sluice_remoting::codes::request;
use sluice_remoting::RemotingCommand;

use super::output::{Output, Table};
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

/// clusterAclConfigVersion: each ACL file's version on each broker.
pub async fn cluster_acl_config_version(admin: &Admin, t: &Target) -> Result<Output> {
    let targets = admin
        .masters(t.broker_addr.as_deref(), t.cluster_name.as_deref(), false)
        .await?;
    let mut table = Table::new(&[
        "#Cluster Name",
        "#Broker Name",
        "#Broker Addr",
        "#AclFilePath",
        "#AclConfigVersionNum",
        "#AclLastUpdateTime",
    ]);
    for (_, addr) in &targets {
        let cmd = RemotingCommand::request(request::GET_BROKER_CLUSTER_ACL_INFO);
        let reply = admin
            .call_ok(addr, cmd, "get broker's plain access config version")
            .await?;
        let all = reply.ext("allAclFileVersion").unwrap_or("{}");
        let files: std::collections::BTreeMap<String, DataVersion> =
            sluice_remoting::body::fastjson::from_slice(all.as_bytes())?;
        for (path, v) in files {
            table.row(vec![
                reply.ext("clusterName").unwrap_or_default().to_owned(),
                reply.ext("brokerName").unwrap_or_default().to_owned(),
                reply.ext("brokerAddr").unwrap_or(addr).to_owned(),
                path,
                v.counter.to_string(),
                crate::time::format_timestamp(v.timestamp),
            ]);
        }
    }
    Ok(Output::table(
        table,
        &[
            "clusterName",
            "brokerName",
            "brokerAddr",
            "aclFilePath",
            "aclConfigVersionNum",
            "aclLastUpdateTime",
        ],
    ))
}

/// getAclConfig: the accounts and global whitelist each broker enforces (secret keys included,
/// as mqadmin shows them).
pub async fn get_acl_config(admin: &Admin, t: &Target) -> Result<Output> {
    let targets = admin
        .masters(t.broker_addr.as_deref(), t.cluster_name.as_deref(), false)
        .await?;
    let mut text = Vec::new();
    let mut json = Vec::new();
    for (_, addr) in &targets {
        let cmd = RemotingCommand::request(request::GET_BROKER_CLUSTER_ACL_CONFIG);
        let reply = admin
            .call_ok(addr, cmd, "get broker's plain access config")
            .await?;
        let body = BrokerClusterAclConfig::from_json(&reply.body)?;
        text.push(format!("broker {addr}"));
        text.push(format!(
            "{:<20}: [{}]",
            "globalWhiteRemoteAddresses",
            body.global_white_addrs.join(", ")
        ));
        text.push(String::new());
        text.push("accounts:".to_owned());
        for a in &body.plain_access_configs {
            let opt = |v: &Option<String>| v.clone().unwrap_or_default();
            for (k, v) in [
                ("accessKey", a.access_key.clone()),
                ("secretKey", a.secret_key.clone()),
                ("whiteRemoteAddress", opt(&a.white_remote_address)),
                ("admin", a.admin.to_string()),
                ("defaultTopicPerm", opt(&a.default_topic_perm)),
                ("defaultGroupPerm", opt(&a.default_group_perm)),
                ("topicPerms", format!("[{}]", a.topic_perms.join(", "))),
                ("groupPerms", format!("[{}]", a.group_perms.join(", "))),
            ] {
                text.push(format!("  {k:<18}: {v}"));
            }
            text.push(String::new());
        }
        json.push(json!({ "broker": addr, "config": serde_json::to_value(&body)? }));
    }
    Ok(Output::text(text.join("\n"), serde_json::Value::Array(json)))
}
