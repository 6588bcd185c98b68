//! mqadmin's getBrokerConfig and updateBrokerConfig (GET_BROKER_CONFIG 26 / UPDATE_BROKER_CONFIG
//! 25), on one broker (`-b`) or every broker of a cluster (`-c`).

use anyhow::Result;
use clap::Args;
use serde_json::json;
use sluice_remoting::codes::request;
use sluice_remoting::RemotingCommand;

use super::acl::Target;
use super::output::Output;
use super::{done, Admin};

#[derive(Debug, Args)]
pub struct UpdateBrokerConfigArgs {
    #[command(flatten)]
    pub target: Target,
    #[arg(short = 'k', long = "key")]
    pub key: String,
    #[arg(short = 'v', long = "value")]
    pub value: String,
}

/// Java-properties text as (key, value) pairs, in order.
fn pairs(text: &str) -> Vec<(String, String)> {
    crate::config::properties::parse(text)
        .map(|p| p.into_iter().map(|(k, v, _)| (k, v)).collect())
        .unwrap_or_default()
}

pub async fn get_broker_config(admin: &Admin, t: &Target) -> Result<Output> {
    let targets = admin
        .masters(t.broker_addr.as_deref(), t.cluster_name.as_deref(), false)
        .await?;
    let mut text = Vec::new();
    let mut all = serde_json::Map::new();
    for (name, addr) in &targets {
        let reply = admin
            .call_ok(
                addr,
                RemotingCommand::request(request::GET_BROKER_CONFIG),
                "get broker config",
            )
            .await?;
        let config = pairs(&String::from_utf8_lossy(&reply.body));
        text.push(format!("============{addr}============"));
        if config.is_empty() {
            text.push(format!("Broker[{addr}] has no config property!"));
        }
        for (k, v) in &config {
            text.push(format!("{k:<50}=  {v}"));
        }
        text.push(String::new());
        all.insert(
            addr.clone(),
            json!({ "brokerName": name, "config": config.into_iter().map(|(k, v)| (k, serde_json::Value::String(v))).collect::<serde_json::Map<_, _>>() }),
        );
    }
    Ok(Output::text(text.join("\n"), serde_json::Value::Object(all)))
}

pub async fn update_broker_config(admin: &Admin, a: &UpdateBrokerConfigArgs) -> Result<Output> {
    let targets = admin
        .masters(
            a.target.broker_addr.as_deref(),
            a.target.cluster_name.as_deref(),
            false,
        )
        .await?;
    let mut lines = Vec::new();
    for (_, addr) in &targets {
        let cmd = RemotingCommand::request(request::UPDATE_BROKER_CONFIG)
            .with_body(format!("{}={}\n", a.key, a.value).into_bytes());
        admin.call_ok(addr, cmd, "update broker config").await?;
        lines.push(format!("update broker config success, {addr}"));
    }
    let brokers: Vec<&String> = targets.iter().map(|(_, a)| a).collect();
    Ok(done(
        lines,
        json!({ "brokers": brokers, "key": a.key, "value": a.value }),
    ))
}
