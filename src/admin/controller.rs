//! Controller mode (RocketMQ 5.x): getControllerMetaData and getSyncStateSet, asked of a
//! controller (`-a`), with mqadmin's names and flags. getSyncStateSet goes to the leader the
//! named controller reports, as mqadmin does. getBrokerEpoch asks the brokers themselves
//! (GET_BROKER_EPOCH_CACHE) for their epoch lists.

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::json;
use sluice_remoting::body::controller::{BrokerNames, BrokerReplicasInfo, EpochEntryCache};
use sluice_remoting::body::JsonBody;
use sluice_remoting::codes::request;
use sluice_remoting::header::controller::GetMetaDataResponseHeader;
use sluice_remoting::RemotingCommand;

use super::output::{key_values, Output, Table};
use super::Admin;

#[derive(Debug, Args)]
pub struct ControllerMetaDataArgs {
    /// A controller's address (any of the group).
    #[arg(short = 'a', long = "controllerAddress")]
    pub controller_address: String,
}

#[derive(Debug, Args)]
pub struct SyncStateSetArgs {
    /// A controller's address (any of the group).
    #[arg(short = 'a', long = "controllerAddress")]
    pub controller_address: String,
    /// Broker group name(s), comma-separated.
    #[arg(short = 'b', long = "brokerName")]
    pub broker_name: String,
}

#[derive(Debug, Args)]
pub struct BrokerEpochArgs {
    /// Every broker (master and slaves) of this broker name.
    #[arg(short = 'b', long = "brokerName")]
    pub broker_name: Option<String>,
    /// Every broker of this cluster.
    #[arg(short = 'c', long = "clusterName")]
    pub cluster_name: Option<String>,
}

/// getBrokerEpoch: each broker's epochs (the last one ends at its max offset, as mqadmin shows).
pub async fn get_broker_epoch(admin: &Admin, a: &BrokerEpochArgs) -> Result<Output> {
    let info = admin.cluster_info().await?;
    let names: Vec<String> = match (&a.broker_name, &a.cluster_name) {
        (Some(b), _) => vec![b.clone()],
        (None, Some(c)) => info
            .cluster_addr_table
            .get(c)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default(),
        (None, None) => bail!("give a broker name (-b) or a cluster (-c)"),
    };
    let addrs: Vec<String> = names
        .iter()
        .filter_map(|n| info.broker_addr_table.get(n))
        .flat_map(|d| d.broker_addrs.values().cloned())
        .collect();
    if addrs.is_empty() {
        bail!("the NameServer knows no broker of {}", names.join(","));
    }
    let (mut text, mut json) = (Vec::new(), Vec::new());
    for addr in addrs {
        let cmd = RemotingCommand::request(request::GET_BROKER_EPOCH_CACHE);
        let reply = admin.call_ok(&addr, cmd, "broker epoch").await?;
        let mut cache = EpochEntryCache::from_json(&reply.body).context("reading the epoch list")?;
        if let Some(last) = cache.epoch_list.last_mut() {
            last.end_offset = cache.max_offset;
        }
        let mut rows = vec![
            ("#clusterName".to_owned(), cache.cluster_name.clone()),
            ("#brokerName".to_owned(), cache.broker_name.clone()),
            ("#brokerAddr".to_owned(), addr.clone()),
            ("#brokerId".to_owned(), cache.broker_id.to_string()),
        ];
        rows.extend(cache.epoch_list.iter().map(|e| {
            (
                "#Epoch".to_owned(),
                format!(
                    "epoch={}, startOffset={}, endOffset={}",
                    e.epoch, e.start_offset, e.end_offset
                ),
            )
        }));
        text.push(key_values(&rows));
        json.push(json!({ "brokerAddr": addr, "cache": cache }));
    }
    Ok(Output::text(text.join("\n"), serde_json::Value::Array(json)))
}

async fn metadata(admin: &Admin, addr: &str) -> Result<GetMetaDataResponseHeader> {
    let reply = admin
        .call_ok(
            addr,
            RemotingCommand::request(request::CONTROLLER_GET_METADATA_INFO),
            "controller metadata",
        )
        .await?;
    reply.decode_header().context("reading the controller metadata")
}

pub async fn get_controller_metadata(admin: &Admin, a: &ControllerMetaDataArgs) -> Result<Output> {
    let m = metadata(admin, &a.controller_address).await?;
    let peers: Vec<&str> = m
        .peers
        .as_deref()
        .unwrap_or("")
        .split(';')
        .filter(|p| !p.is_empty())
        .collect();
    let mut rows = vec![
        ("#ControllerGroup".to_owned(), m.group.clone().unwrap_or_default()),
        (
            "#ControllerLeaderId".to_owned(),
            m.controller_leader_id.clone().unwrap_or_default(),
        ),
        (
            "#ControllerLeaderAddress".to_owned(),
            m.controller_leader_address.clone().unwrap_or_default(),
        ),
    ];
    rows.extend(peers.iter().map(|p| ("#Peer".to_owned(), (*p).to_owned())));
    let json = json!({
        "group": m.group,
        "controllerLeaderId": m.controller_leader_id,
        "controllerLeaderAddress": m.controller_leader_address,
        "isLeader": m.is_leader,
        "peers": peers,
    });
    Ok(Output::text(key_values(&rows), json))
}

pub async fn get_sync_state_set(admin: &Admin, a: &SyncStateSetArgs) -> Result<Output> {
    let m = metadata(admin, &a.controller_address).await?;
    let leader = match (m.is_leader, m.controller_leader_address) {
        (true, _) => a.controller_address.clone(),
        (false, Some(l)) if !l.is_empty() => l,
        _ => bail!(
            "controller {} knows no leader of its group yet",
            a.controller_address
        ),
    };
    let names: Vec<String> = a
        .broker_name
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let cmd = RemotingCommand::request(request::CONTROLLER_GET_SYNC_STATE_DATA)
        .with_body(BrokerNames(names.clone()).to_json());
    let reply = admin.call_ok(&leader, cmd, "SyncStateSet").await?;
    let info = BrokerReplicasInfo::from_json(&reply.body).context("reading the SyncStateSet")?;
    let mut text = Vec::new();
    for name in &names {
        let Some(r) = info.replicas_info_table.get(name) else {
            text.push(format!("#brokerName {name}: not known to the controller"));
            continue;
        };
        let head = key_values(&[
            ("#brokerName".into(), name.clone()),
            (
                "#MasterBrokerId".into(),
                r.master_broker_id.map_or("-".into(), |m| m.to_string()),
            ),
            ("#MasterAddr".into(), r.master_address.clone().unwrap_or_default()),
            ("#MasterEpoch".into(), r.master_epoch.to_string()),
            ("#SyncStateSetEpoch".into(), r.sync_state_set_epoch.to_string()),
            ("#SyncStateSetNums".into(), r.in_sync_replicas.len().to_string()),
        ]);
        let mut t = Table::new(&["#Replica", "#BrokerId", "#BrokerAddr", "#Alive"]);
        for (kind, list) in [
            ("InSyncReplica", &r.in_sync_replicas),
            ("NotInSyncReplica", &r.not_in_sync_replicas),
        ] {
            for id in list {
                t.row(vec![
                    kind.to_owned(),
                    id.broker_id.to_string(),
                    id.broker_address.clone(),
                    id.alive.to_string(),
                ]);
            }
        }
        text.push(format!("{head}\n{}", t.render()));
    }
    let json = serde_json::to_value(&info).unwrap_or_default();
    Ok(Output::text(text.join("\n"), json))
}
