//! statsAll: per topic and consumer group, in/out TPS over the last minute, messages over the
//! last day and the accumulation (lag). brokerConsumeStats: one broker's consume progress, every group.

use anyhow::{Context, Result};
use clap::Args;
use sluice_remoting::body::admin::{BrokerStatsData, ConsumeStats};
use sluice_remoting::body::{GroupList, JsonBody, TopicList};
use sluice_remoting::codes::request;
use sluice_remoting::header::admin::{
    GetConsumeStatsRequestHeader, TopicRequestHeader, ViewBrokerStatsDataRequestHeader,
};
use sluice_remoting::RemotingCommand;

use super::output::{Output, Table};
use super::{master, Admin};

#[derive(Debug, Args)]
pub struct StatsAllArgs {
    /// Only topics with traffic in the last day.
    #[arg(short = 'a', long = "activeTopic")]
    pub active_topic: bool,
    /// Only this topic.
    #[arg(short = 't', long = "topic")]
    pub topic: Option<String>,
}

/// VIEW_BROKER_STATS_DATA; a statistic the broker never recorded counts as zero.
async fn view(admin: &Admin, addr: &str, name: &str, key: &str) -> Result<BrokerStatsData> {
    let h = ViewBrokerStatsDataRequestHeader {
        stats_name: name.into(),
        stats_key: key.into(),
    };
    let reply = admin
        .call(
            addr,
            RemotingCommand::request(request::VIEW_BROKER_STATS_DATA).with_header(&h),
        )
        .await?;
    if reply.code != 0 {
        return Ok(BrokerStatsData::default());
    }
    BrokerStatsData::from_json(&reply.body).context("reading broker stats")
}

pub async fn stats_all(admin: &Admin, a: &StatsAllArgs) -> Result<Output> {
    let topics = match &a.topic {
        Some(t) => vec![t.clone()],
        None => {
            let reply = admin
                .namesrv(RemotingCommand::request(
                    request::GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
                ))
                .await?;
            let reply = super::ok(reply, "topic list")?;
            let mut t = TopicList::from_json(&reply.body)?.topic_list;
            t.retain(|t| !t.starts_with("%RETRY%") && !t.starts_with("%DLQ%"));
            t.sort();
            t
        }
    };
    let mut t = Table::new(&[
        "#Topic",
        "#Consumer Group",
        "#Accumulation",
        "#InTPS",
        "#OutTPS",
        "#InMsg24Hour",
        "#OutMsg24Hour",
    ]);
    for topic in &topics {
        let route = admin.route(topic).await?;
        let brokers: Vec<String> = route.broker_datas.iter().filter_map(master).collect();
        let (mut in_tps, mut in_day) = (0.0, 0);
        let mut groups = std::collections::BTreeSet::new();
        for addr in &brokers {
            let s = view(admin, addr, "TOPIC_PUT_NUMS", topic).await?;
            in_tps += s.stats_minute.tps;
            in_day += s.stats_day.sum;
            let h = TopicRequestHeader { topic: topic.clone() };
            let cmd = RemotingCommand::request(request::QUERY_TOPIC_CONSUME_BY_WHO).with_header(&h);
            if let Ok(reply) = admin.call_ok(addr, cmd, "consumer groups").await {
                groups.extend(GroupList::from_json(&reply.body)?.group_list);
            }
        }
        let mut rows = Vec::new();
        for group in &groups {
            let (mut diff, mut out_tps, mut out_day) = (0, 0.0, 0);
            for addr in &brokers {
                let h = GetConsumeStatsRequestHeader {
                    consumer_group: group.clone(),
                    topic: Some(topic.clone()),
                    topic_list: None,
                };
                let cmd = RemotingCommand::request(request::GET_CONSUME_STATS).with_header(&h);
                let reply = admin.call_ok(addr, cmd, "consume stats").await?;
                let cs = ConsumeStats::from_json(&reply.body)?;
                diff += cs
                    .offset_table
                    .values()
                    .map(|o| o.broker_offset - o.consumer_offset)
                    .sum::<i64>();
                let s = view(admin, addr, "GROUP_GET_NUMS", &format!("{topic}@{group}")).await?;
                out_tps += s.stats_minute.tps;
                out_day += s.stats_day.sum;
            }
            rows.push(vec![
                topic.clone(),
                group.clone(),
                diff.to_string(),
                format!("{in_tps:.2}"),
                format!("{out_tps:.2}"),
                in_day.to_string(),
                out_day.to_string(),
            ]);
        }
        if rows.is_empty() {
            rows.push(vec![
                topic.clone(),
                String::new(),
                "0".into(),
                format!("{in_tps:.2}"),
                "0.00".into(),
                in_day.to_string(),
                "0".into(),
            ]);
        }
        for r in rows {
            let active = r[5] != "0" || r[6] != "0";
            if !a.active_topic || active {
                t.row(r);
            }
        }
    }
    Ok(Output::table(
        t,
        &[
            "topic",
            "consumerGroup",
            "accumulation",
            "inTps",
            "outTps",
            "inMsg24Hour",
            "outMsg24Hour",
        ],
    ))
}

#[derive(Debug, clap::Args)]
pub struct BrokerConsumeStatsArgs {
    #[arg(short = 'b', long = "brokerAddr")]
    pub broker_addr: String,
    /// Only queues at least this far behind.
    #[arg(short = 'l', long = "level", default_value_t = 0)]
    pub level: i64,
    /// Only ordered topics.
    #[arg(short = 'o', long = "order", default_value_t = false, action = clap::ArgAction::Set)]
    pub order: bool,
}

/// brokerConsumeStats (GET_BROKER_CONSUME_STATS 317): every group's progress on one broker, one
/// line per queue at least `-l` behind, and the broker's total lag.
pub async fn broker_consume_stats(admin: &Admin, a: &BrokerConsumeStatsArgs) -> Result<Output> {
    use sluice_remoting::body::admin::ConsumeStatsList;
    let h = sluice_remoting::header::admin::GetConsumeStatsInBrokerHeader { is_order: a.order };
    let cmd = RemotingCommand::request(request::GET_BROKER_CONSUME_STATS).with_header(&h);
    let reply = admin.call_ok(&a.broker_addr, cmd, "broker consume stats").await?;
    let list = ConsumeStatsList::from_json(&reply.body)?;
    let mut t = Table::new(&[
        "#Topic",
        "#Group",
        "#Broker Name",
        "#QID",
        "#Broker Offset",
        "#Consumer Offset",
        "#Diff",
        "#LastTime",
    ]);
    for groups in &list.consume_stats_list {
        for (group, stats) in groups {
            for s in stats {
                for (mq, o) in &s.offset_table {
                    let diff = o.broker_offset - o.consumer_offset;
                    if diff < a.level {
                        continue;
                    }
                    t.row(vec![
                        mq.topic.clone(),
                        group.clone(),
                        mq.broker_name.clone(),
                        mq.queue_id.to_string(),
                        o.broker_offset.to_string(),
                        o.consumer_offset.to_string(),
                        diff.to_string(),
                        super::format_timestamp(o.last_timestamp),
                    ]);
                }
            }
        }
    }
    let json = serde_json::json!({
        "rows": super::output::table_json(&t, &["topic", "group", "brokerName", "queueId", "brokerOffset", "consumerOffset", "diff", "lastTime"]),
        "totalDiff": list.total_diff,
    });
    Ok(Output::text(
        format!("{}\n\nDiff Total: {}", t.render(), list.total_diff),
        json,
    ))
}
