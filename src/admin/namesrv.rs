//! mqadmin's NameServer commands: wipeWritePerm / addWritePerm (a broker's topics read-only or
//! writable again in every NameServer's routes: the standard drain), updateKvConfig /
//! deleteKvConfig.

use anyhow::Result;
use clap::Args;
use serde_json::json;
use sluice_remoting::codes::request;
use sluice_remoting::header::route::{
    AddWritePermOfBrokerResponseHeader, BrokerNameRequestHeader, DeleteKvConfigRequestHeader,
    PutKvConfigRequestHeader, WipeWritePermOfBrokerResponseHeader,
};
use sluice_remoting::RemotingCommand;

use super::output::Output;
use super::{done, Admin};

#[derive(Debug, Args)]
pub struct BrokerNameArgs {
    #[arg(short = 'b', long = "brokerName")]
    pub broker_name: String,
}

#[derive(Debug, Args)]
pub struct KvArgs {
    #[arg(short = 's', long = "namespace")]
    pub namespace: String,
    #[arg(short = 'k', long = "key")]
    pub key: String,
    /// updateKvConfig only.
    #[arg(short = 'v', long = "value")]
    pub value: Option<String>,
}

/// wipeWritePerm (`writable` false) / addWritePerm (true), on every NameServer.
pub async fn write_perm(admin: &Admin, a: &BrokerNameArgs, writable: bool) -> Result<Output> {
    let (code, verb) = if writable {
        (request::ADD_WRITE_PERM_OF_BROKER, "add")
    } else {
        (request::WIPE_WRITE_PERM_OF_BROKER, "wipe")
    };
    let h = BrokerNameRequestHeader {
        broker_name: a.broker_name.clone(),
    };
    let mut lines = Vec::new();
    let mut counts = Vec::new();
    for addr in admin.namesrv_addrs() {
        let cmd = RemotingCommand::request(code).with_header(&h);
        let reply = admin.call_ok(&addr, cmd, &format!("{verb} write perm")).await?;
        let count = if writable {
            AddWritePermOfBrokerResponseHeader::from_ext(&reply.ext_fields).map(|h| h.add_topic_count)
        } else {
            WipeWritePermOfBrokerResponseHeader::from_ext(&reply.ext_fields).map(|h| h.wipe_topic_count)
        }
        .unwrap_or(0);
        lines.push(format!(
            "{verb} write perm of broker[{}] in name server[{addr}] OK, {count}",
            a.broker_name
        ));
        counts.push(json!({ "namesrv": addr, "topics": count }));
    }
    Ok(done(
        lines,
        json!({ "brokerName": a.broker_name, "namesrvs": counts }),
    ))
}

pub async fn update_kv_config(admin: &Admin, a: &KvArgs) -> Result<Output> {
    let Some(value) = &a.value else {
        anyhow::bail!("updateKvConfig needs -v value");
    };
    let h = PutKvConfigRequestHeader {
        namespace: a.namespace.clone(),
        key: a.key.clone(),
        value: value.clone(),
    };
    admin
        .every_namesrv(
            RemotingCommand::request(request::PUT_KV_CONFIG).with_header(&h),
            "update kv config",
        )
        .await?;
    Ok(done(
        vec!["create or update kv config to namespace success.".into()],
        json!({ "namespace": a.namespace, "key": a.key, "value": value }),
    ))
}

pub async fn delete_kv_config(admin: &Admin, a: &KvArgs) -> Result<Output> {
    let h = DeleteKvConfigRequestHeader {
        namespace: a.namespace.clone(),
        key: a.key.clone(),
    };
    admin
        .every_namesrv(
            RemotingCommand::request(request::DELETE_KV_CONFIG).with_header(&h),
            "delete kv config",
        )
        .await?;
    Ok(done(
        vec!["delete kv config from namespace success.".into()],
        json!({ "namespace": a.namespace, "key": a.key }),
    ))
}
