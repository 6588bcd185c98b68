//! Statistics for admin tools: GET_TOPIC_STATS_INFO (202), GET_BROKER_RUNTIME_INFO (28) —
//! protocol.md §2.3.20; VIEW_BROKER_STATS_DATA (315), which mqadmin `statsAll` reads.

use std::collections::BTreeMap;
use std::sync::Arc;

use sluice_remoting::body::admin::{TopicOffset, TopicStatsTable};
use sluice_remoting::body::{JsonBody, KvTable, MessageQueue};
use sluice_remoting::codes::{response, version};
use sluice_remoting::header::admin::{TopicRequestHeader, ViewBrokerStatsDataRequestHeader};
use sluice_remoting::RemotingCommand;

use crate::broker::error::BrokerError;
use crate::broker::stats::{BROKER_GET_NUMS, BROKER_PUT_NUMS};
use crate::broker::BrokerState;
use sluice_remoting::net::Outbound;

/// TOPIC_NOT_EXIST for a topic this broker does not have.
pub fn topic_not_exist(topic: &str) -> BrokerError {
    BrokerError::refused(response::TOPIC_NOT_EXIST, format!("topic[{topic}] not exist"))
}

pub fn topic_stats(
    state: &Arc<BrokerState>,
    cmd: &RemotingCommand,
    h: TopicRequestHeader,
) -> Result<Outbound, BrokerError> {
    let topic = state
        .topics
        .get(&h.topic)
        .ok_or_else(|| topic_not_exist(&h.topic))?;
    let store = &state.store;
    let mut table = TopicStatsTable::default();
    for q in 0..topic.write_queue_nums {
        let max = store.max_queue_offset(&h.topic, q);
        let last = max
            .checked_sub(1)
            .and_then(|o| store.message_store_time(&h.topic, q, o))
            .unwrap_or(0);
        table.offset_table.insert(
            MessageQueue::new(&h.topic, &state.config.broker_name, q as i32),
            TopicOffset {
                last_update_timestamp: last,
                max_offset: max as i64,
                min_offset: store.min_queue_offset(&h.topic, q) as i64,
            },
        );
    }
    Ok(super::ok_with(cmd, table.to_json()))
}

pub fn runtime_info(state: &Arc<BrokerState>, cmd: &RemotingCommand) -> Outbound {
    let store = &state.store;
    let cluster = &state.config.broker_cluster_name;
    let now = sluice_storage::clock::now_millis();
    let log = store.commitlog();
    let (min, max) = (log.min_offset(), log.write_pos());
    let earliest = store
        .commitlog()
        .read_record(min, sluice_storage::record::CrcCheck::Skip)
        .ok()
        .and_then(|s| sluice_storage::record::store_timestamp_at(s.as_ref()).ok())
        .unwrap_or(0);
    let disk = sluice_storage::retention::disk_used_percent(store.root()).unwrap_or(0.0) / 100.0;
    let (put, get) = (
        state.stats.total(BROKER_PUT_NUMS, cluster),
        state.stats.total(BROKER_GET_NUMS, cluster),
    );
    let runtime = (now - state.boot_timestamp).max(0) / 1000;
    let entries: Vec<(&str, String)> = vec![
        (
            "brokerVersionDesc",
            version::describe(version::DEFAULT_SERVER_VERSION),
        ),
        ("brokerVersion", version::DEFAULT_SERVER_VERSION.to_string()),
        // Counted since boot: "yesterday" and "this morning" start at the boot.
        ("msgPutTotalYesterdayMorning", "0".into()),
        ("msgPutTotalTodayMorning", "0".into()),
        ("msgPutTotalTodayNow", put.to_string()),
        ("msgGetTotalYesterdayMorning", "0".into()),
        ("msgGetTotalTodayMorning", "0".into()),
        ("msgGetTotalTodayNow", get.to_string()),
        ("putTps", state.stats.tps_triple(BROKER_PUT_NUMS, cluster)),
        (
            "getTransferedTps",
            state.stats.tps_triple(BROKER_GET_NUMS, cluster),
        ),
        // 5.x tools read the corrected spelling, the ack pool and whether the broker is active.
        (
            "getTransferredTps",
            state.stats.tps_triple(BROKER_GET_NUMS, cluster),
        ),
        ("ackThreadPoolQueueSize", "0".into()),
        ("ackThreadPoolQueueHeadWaitTimeMills", "0".into()),
        ("brokerActive", "true".into()),
        ("commitLogDiskRatio", format!("{disk:.4}")),
        ("consumeQueueDiskRatio", format!("{disk:.4}")),
        ("commitLogMinOffset", min.to_string()),
        ("commitLogMaxOffset", max.to_string()),
        ("earliestMessageTimeStamp", earliest.to_string()),
        ("pageCacheLockTimeMills", "0".into()),
        (
            "dispatchBehindBytes",
            max.saturating_sub(store.dispatched_offset()).to_string(),
        ),
        ("bootTimestamp", state.boot_timestamp.to_string()),
        (
            "runtime",
            format!(
                "[ {} days, {} hours, {} minutes, {} seconds ]",
                runtime / 86400,
                runtime / 3600 % 24,
                runtime / 60 % 60,
                runtime % 60
            ),
        ),
        ("sendThreadPoolQueueSize", "0".into()),
        ("sendThreadPoolQueueCapacity", "10000".into()),
        // clusterList prints these beside the queue sizes ("0,0ms"); sluice has no such queues.
        ("sendThreadPoolQueueHeadWaitTimeMills", "0".into()),
        ("pullThreadPoolQueueSize", "0".into()),
        ("pullThreadPoolQueueCapacity", "100000".into()),
        ("pullThreadPoolQueueHeadWaitTimeMills", "0".into()),
        ("startAcceptSendRequestTimeStamp", "0".into()),
        ("remainHowManyDataToFlush", "0 B".into()),
        ("remainHowManyDataToCommit", "0 B".into()),
        ("remainTransientStoreBufferNumbs", "0".into()),
        ("commitLogDirCapacity", format!("Used: {:.2}%", disk * 100.0)),
        ("brokerRole", state.config.broker_role.as_str().to_owned()),
    ];
    let mut entries = entries;
    // Replication: the slowest slave's lag (master), or this slave's lag and master.
    let ha = super::ha::runtime_info(state);
    if ha.master {
        let behind = ha.ha_connection_info.iter().map(|c| c.diff).max();
        entries.push(("haSlaveNums", ha.ha_connection_info.len().to_string()));
        entries.push(("haReplicationLagBytes", behind.unwrap_or(0).to_string()));
    } else {
        let lag = ha.master_commit_log_max_offset - ha.ha_client_runtime_info.max_offset;
        entries.push(("haMasterAddress", ha.ha_client_runtime_info.master_addr.clone()));
        entries.push(("haReplicationLagBytes", lag.max(0).to_string()));
    }
    let table: BTreeMap<String, String> = entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    super::ok_with(cmd, KvTable { table }.to_json())
}

pub fn view_stats(
    state: &Arc<BrokerState>,
    cmd: &RemotingCommand,
    h: ViewBrokerStatsDataRequestHeader,
) -> Result<Outbound, BrokerError> {
    match state.stats.view(&h.stats_name, &h.stats_key) {
        Some(data) => Ok(super::ok_with(cmd, data.to_json())),
        None => Err(BrokerError::system(format!(
            "The stats <{}> <{}> not exist",
            h.stats_name, h.stats_key
        ))),
    }
}
