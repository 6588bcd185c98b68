//! haStatus: a master's slaves (acknowledged offset, lag in bytes, in sync) or a slave's link,
//! from GET_BROKER_HA_STATUS (907) as RocketMQ 5.x's mqadmin shows it.

use anyhow::{Context, Result};
use clap::Args;
use sluice_remoting::body::ha::HaRuntimeInfo;
use sluice_remoting::body::JsonBody;
use sluice_remoting::codes::request;
use sluice_remoting::RemotingCommand;

use super::output::{key_values, Output, Table};
use super::Admin;

#[derive(Debug, Args)]
pub struct HaStatusArgs {
    /// The broker to ask (a master lists its slaves; a slave shows its link).
    #[arg(short = 'b', long = "brokerAddr")]
    pub broker_addr: Option<String>,
    /// Every master of this cluster.
    #[arg(short = 'c', long = "clusterName")]
    pub cluster_name: Option<String>,
}

pub async fn ha_status(admin: &Admin, a: &HaStatusArgs) -> Result<Output> {
    let targets = admin
        .masters(a.broker_addr.as_deref(), a.cluster_name.as_deref(), false)
        .await?;
    let mut text = Vec::new();
    let mut json = Vec::new();
    for (_, addr) in targets {
        let cmd = RemotingCommand::request(request::GET_BROKER_HA_STATUS);
        let reply = admin.call_ok(&addr, cmd, "HA status").await?;
        let info = HaRuntimeInfo::from_json(&reply.body).context("reading the HA status")?;
        text.push(render(&addr, &info));
        json.push(serde_json::to_value(&info).unwrap_or_default());
    }
    Ok(Output::text(text.join("\n"), serde_json::Value::Array(json)))
}

fn render(addr: &str, info: &HaRuntimeInfo) -> String {
    if !info.master {
        let c = &info.ha_client_runtime_info;
        return key_values(&[
            ("#SlaveAddr".into(), addr.to_owned()),
            ("#MasterAddr".into(), c.master_addr.clone()),
            ("#Connected".into(), c.is_activated.to_string()),
            (
                "#MasterCommitLogMaxOffset".into(),
                info.master_commit_log_max_offset.to_string(),
            ),
            ("#SlaveCommitLogMaxOffset".into(), c.max_offset.to_string()),
            (
                "#Diff".into(),
                (info.master_commit_log_max_offset - c.max_offset)
                    .max(0)
                    .to_string(),
            ),
            ("#LastReadTimestamp".into(), c.last_read_timestamp.to_string()),
        ]);
    }
    let head = key_values(&[
        ("#MasterAddr".into(), addr.to_owned()),
        (
            "#MasterCommitLogMaxOffset".into(),
            info.master_commit_log_max_offset.to_string(),
        ),
        ("#SlaveNum".into(), info.ha_connection_info.len().to_string()),
        ("#InSyncSlaveNum".into(), info.in_sync_slave_nums.to_string()),
    ]);
    let mut t = Table::new(&[
        "#SlaveAddr",
        "#SlaveAckOffset",
        "#Diff",
        "#TransferSpeed(KB/s)",
        "#Status",
    ]);
    for c in &info.ha_connection_info {
        t.row(vec![
            c.addr.clone(),
            c.slave_ack_offset.to_string(),
            c.diff.to_string(),
            format!("{:.2}", c.transferred_byte_in_second as f64 / 1024.0),
            if c.in_sync { "OK" } else { "Fall Behind" }.to_owned(),
        ]);
    }
    format!("{head}\n{}", t.render())
}
