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
use crate::broker::stats::{
    BROKER_GET_NUMS, BROKER_PUT_NUMS, PULL_FOUND, PULL_MISS, PULL_TOTAL, TOPIC_PUT_SIZE,
};
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

/// Java's `humanReadableByteCount(bytes, false)`: `512 B`, `1.5 KiB`, `45.3 GiB`.
pub fn human_bytes(bytes: u64) -> String {
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let exp = ((bytes as f64).ln() / 1024f64.ln()).floor().min(6.0) as i32;
    let unit = ["K", "M", "G", "T", "P", "E"][(exp - 1) as usize];
    format!("{:.1} {unit}iB", bytes as f64 / 1024f64.powi(exp))
}

/// GET_BROKER_RUNTIME_INFO: every key mqadmin `brokerStatus` / `clusterList` and
/// apache/rocketmq-exporter read (protocol.md §2.3.20, §12.2), with sluice's values. sluice has
/// no request thread pools (handlers run on the connection's I/O task), so their queue sizes and
/// head waits are truly 0.
pub fn runtime_info(state: &Arc<BrokerState>, cmd: &RemotingCommand) -> Outbound {
    let table: BTreeMap<String, String> = runtime_table(state).into_iter().collect();
    super::ok_with(cmd, KvTable { table }.to_json())
}

/// The GET_BROKER_RUNTIME_INFO table (key, value).
pub fn runtime_table(state: &BrokerState) -> Vec<(String, String)> {
    let store = &state.store;
    let stats = &state.stats;
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
    let space = sluice_storage::retention::disk_space(store.root()).ok();
    let disk = space.map_or(0.0, |d| {
        if d.total == 0 {
            0.0
        } else {
            (d.total - d.free.min(d.total)) as f64 / d.total as f64
        }
    });
    let (put, get) = (
        stats.total(BROKER_PUT_NUMS, cluster),
        stats.total(BROKER_GET_NUMS, cluster),
    );
    let put_bytes = stats.sum(TOPIC_PUT_SIZE);
    let put_mornings = stats.mornings(BROKER_PUT_NUMS, cluster);
    let get_mornings = stats.mornings(BROKER_GET_NUMS, cluster);
    let (put_max_ms, get_max_ms) = stats.time_max_ms();
    let flushed = store.flusher().durable_offset();
    let runtime = (now - state.boot_timestamp).max(0) / 1000;
    let version = version::DEFAULT_SERVER_VERSION;
    let get_tps = stats.tps_triple(BROKER_GET_NUMS, cluster);
    let mut entries: Vec<(&str, String)> = vec![
        ("brokerVersionDesc", version::describe(version)),
        ("brokerVersion", version.to_string()),
        // Counted since boot: mornings before the boot are 0.
        ("msgPutTotalYesterdayMorning", put_mornings.1.to_string()),
        ("msgPutTotalTodayMorning", put_mornings.0.to_string()),
        ("msgPutTotalTodayNow", put.to_string()),
        ("msgGetTotalYesterdayMorning", get_mornings.1.to_string()),
        ("msgGetTotalTodayMorning", get_mornings.0.to_string()),
        ("msgGetTotalTodayNow", get.to_string()),
        ("putMessageTimesTotal", put.to_string()),
        ("putMessageSizeTotal", put_bytes.to_string()),
        (
            "putMessageAverageSize",
            format!(
                "{:.1}",
                if put == 0 {
                    0.0
                } else {
                    put_bytes as f64 / put as f64
                }
            ),
        ),
        ("putMessageDistributeTime", stats.put_distribution()),
        ("putMessageEntireTimeMax", put_max_ms.to_string()),
        ("getMessageEntireTimeMax", get_max_ms.to_string()),
        ("putTps", stats.tps_triple(BROKER_PUT_NUMS, cluster)),
        ("getTransferedTps", get_tps.clone()),
        // 5.x tools read the corrected spelling, the ack pool and whether the broker is active.
        ("getTransferredTps", get_tps),
        ("getFoundTps", stats.tps_triple(PULL_FOUND, cluster)),
        ("getMissTps", stats.tps_triple(PULL_MISS, cluster)),
        ("getTotalTps", stats.tps_triple(PULL_TOTAL, cluster)),
        ("ackThreadPoolQueueSize", "0".into()),
        ("ackThreadPoolQueueHeadWaitTimeMills", "0".into()),
        ("brokerActive", "true".into()),
        ("commitLogDiskRatio", format!("{disk:.4}")),
        ("consumeQueueDiskRatio", format!("{disk:.4}")),
        ("commitLogMinOffset", min.to_string()),
        ("commitLogMaxOffset", max.to_string()),
        ("earliestMessageTimeStamp", earliest.to_string()),
        // The CommitLog is never locked against readers in sluice.
        ("pageCacheLockTimeMills", "0".into()),
        (
            "dispatchBehindBytes",
            max.saturating_sub(store.dispatched_offset()).to_string(),
        ),
        // No dispatch buffer between the log and the queues: stage (C) reads the log itself.
        ("dispatchMaxBuffer", "0".into()),
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
        ("sendThreadPoolQueueHeadWaitTimeMills", "0".into()),
        ("pullThreadPoolQueueSize", "0".into()),
        ("pullThreadPoolQueueCapacity", "100000".into()),
        ("pullThreadPoolQueueHeadWaitTimeMills", "0".into()),
        ("queryThreadPoolQueueSize", "0".into()),
        ("queryThreadPoolQueueCapacity", "20000".into()),
        ("queryThreadPoolQueueHeadWaitTimeMills", "0".into()),
        ("startAcceptSendRequestTimeStamp", "0".into()),
        (
            "remainHowManyDataToFlush",
            human_bytes(max.saturating_sub(flushed)),
        ),
        ("remainHowManyDataToCommit", "0 B".into()),
        ("remainTransientStoreBufferNumbs", "0".into()),
        (
            "commitLogDirCapacity",
            match space {
                Some(d) => format!(
                    "Total : {}, Free : {}.",
                    human_bytes(d.total),
                    human_bytes(d.free)
                ),
                None => "Total : 0 B, Free : 0 B.".into(),
            },
        ),
        ("brokerRole", state.config.broker_role.as_str().to_owned()),
    ];
    let mut owned: Vec<(String, String)> = Vec::new();
    // Delay levels: the scheduler's next offset and the level queue's end.
    for (level, next) in crate::broker::schedule::delay::offsets(store) {
        let end = store.max_queue_offset(sluice_storage::system_topics::SCHEDULE_TOPIC, (level - 1) as u32);
        owned.push((format!("scheduleMessageOffset_{level}"), format!("{next},{end}")));
    }
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
    owned.extend(entries.into_iter().map(|(k, v)| (k.to_owned(), v)));
    owned
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

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn byte_counts_print_as_java_does() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes((45 << 30) + (300 << 20)), "45.3 GiB");
    }
}
