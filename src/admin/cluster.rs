//! clusterList, brokerStatus.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use clap::Args;
use serde_json::json;
use sluice_remoting::body::controller::EpochEntryCache;
use sluice_remoting::body::{JsonBody, KvTable};
use sluice_remoting::codes::request;
use sluice_remoting::RemotingCommand;

use super::output::{key_values, Output, Table};
use super::Admin;

#[derive(Debug, Args)]
pub struct ClusterListArgs {
    /// More statistics (accepted; the table always has them).
    #[arg(short = 'm', long = "moreStats")]
    pub more_stats: bool,
    /// Only this cluster.
    #[arg(short = 'c', long = "clusterName")]
    pub cluster_name: Option<String>,
    /// Print the table again every this many seconds, until stopped (mqadmin's `-i`).
    #[arg(short = 'i', long = "interval", value_parser = clap::value_parser!(u64).range(1..))]
    pub interval: Option<u64>,
}

/// GET_BROKER_RUNTIME_INFO of one broker.
pub async fn runtime_info(admin: &Admin, addr: &str) -> Result<BTreeMap<String, String>> {
    let cmd = RemotingCommand::request(request::GET_BROKER_RUNTIME_INFO);
    let reply = admin.call_ok(addr, cmd, "broker runtime info").await?;
    Ok(KvTable::from_json(&reply.body)
        .context("reading the broker runtime info")?
        .table)
}

fn num(t: &BTreeMap<String, String>, k: &str) -> i64 {
    t.get(k).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

fn first_tps(t: &BTreeMap<String, String>, k: &str) -> String {
    t.get(k)
        .and_then(|v| v.split_whitespace().next())
        .unwrap_or("0.0")
        .to_owned()
}

pub async fn cluster_list(admin: &Admin, a: &ClusterListArgs) -> Result<Output> {
    let info = admin.cluster_info().await?;
    let mut t = Table::new(&[
        "#Cluster Name",
        "#Broker Name",
        "#BID",
        "#Addr",
        "#Version",
        "#InTPS",
        "#OutTPS",
        "#InTotalYest",
        "#OutTotalYest",
        "#InTotalToday",
        "#OutTotalToday",
        "#Epoch",
        "#Behind",
    ]);
    for (cluster, names) in &info.cluster_addr_table {
        if a.cluster_name.as_ref().is_some_and(|c| c != cluster) {
            continue;
        }
        for name in names {
            let Some(b) = info.broker_addr_table.get(name) else {
                continue;
            };
            // The master's log end, for the slaves' lag (brokerId 0 comes first).
            let mut master_end: Option<i64> = None;
            for (id, addr) in &b.broker_addrs {
                let mut row = vec![cluster.clone(), name.clone(), id.to_string(), addr.clone()];
                let rt = runtime_info(admin, addr).await;
                let end = rt.as_ref().ok().map(|rt| num(rt, "commitLogMaxOffset"));
                if *id == 0 {
                    master_end = end;
                }
                match rt {
                    Ok(rt) => row.extend([
                        rt.get("brokerVersionDesc").cloned().unwrap_or_default(),
                        first_tps(&rt, "putTps"),
                        first_tps(&rt, "getTransferedTps"),
                        (num(&rt, "msgPutTotalTodayMorning") - num(&rt, "msgPutTotalYesterdayMorning"))
                            .to_string(),
                        (num(&rt, "msgGetTotalTodayMorning") - num(&rt, "msgGetTotalYesterdayMorning"))
                            .to_string(),
                        (num(&rt, "msgPutTotalTodayNow") - num(&rt, "msgPutTotalTodayMorning")).to_string(),
                        (num(&rt, "msgGetTotalTodayNow") - num(&rt, "msgGetTotalTodayMorning")).to_string(),
                    ]),
                    Err(_) => row.extend(
                        ["unreachable".to_owned()]
                            .into_iter()
                            .chain(std::iter::repeat_n("-".to_owned(), 6)),
                    ),
                }
                // Controller mode: the newest master epoch in the broker's log; how many bytes
                // a slave is behind its master.
                row.push(
                    epoch_of(admin, addr)
                        .await
                        .map_or("-".to_owned(), |e| e.to_string()),
                );
                row.push(match (end, master_end) {
                    (Some(e), Some(m)) => (m - e).max(0).to_string(),
                    _ => "-".to_owned(),
                });
                t.row(row);
            }
        }
    }
    Ok(Output::table(
        t,
        &[
            "clusterName",
            "brokerName",
            "brokerId",
            "addr",
            "version",
            "inTps",
            "outTps",
            "inTotalYest",
            "outTotalYest",
            "inTotalToday",
            "outTotalToday",
            "epoch",
            "behindBytes",
        ],
    ))
}

/// The newest epoch of a broker's epoch file (GET_BROKER_EPOCH_CACHE), if it keeps one.
async fn epoch_of(admin: &Admin, addr: &str) -> Option<i32> {
    let cmd = RemotingCommand::request(request::GET_BROKER_EPOCH_CACHE);
    let reply = admin.call_ok(addr, cmd, "broker epoch").await.ok()?;
    let cache = EpochEntryCache::from_json(&reply.body).ok()?;
    cache.epoch_list.last().map(|e| e.epoch)
}

#[derive(Debug, Args)]
pub struct BrokerStatusArgs {
    #[arg(short = 'b', long = "brokerAddr")]
    pub broker_addr: Option<String>,
    #[arg(short = 'c', long = "clusterName")]
    pub cluster_name: Option<String>,
}

pub async fn broker_status(admin: &Admin, a: &BrokerStatusArgs) -> Result<Output> {
    let targets = admin
        .masters(a.broker_addr.as_deref(), a.cluster_name.as_deref(), false)
        .await?;
    let mut text = Vec::new();
    let mut all = serde_json::Map::new();
    for (_, addr) in &targets {
        let rt = runtime_info(admin, addr).await?;
        let pairs: Vec<(String, String)> = rt.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        if targets.len() > 1 {
            text.push(
                pairs
                    .iter()
                    .map(|(k, v)| format!("{addr:<22}  {k:<36}: {v}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
        } else {
            text.push(key_values(&pairs));
        }
        all.insert(addr.clone(), json!(rt));
    }
    let json = if targets.len() == 1 {
        all.into_iter().next().map(|(_, v)| v).unwrap_or_default()
    } else {
        serde_json::Value::Object(all)
    };
    Ok(Output::text(text.join("\n"), json))
}
