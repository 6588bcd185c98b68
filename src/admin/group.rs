//! updateSubGroup, consumerProgress, consumerConnection, resetOffsetByTime, deleteSubGroup,
//! cloneGroupOffset, producerConnection, consumerStatus.

use anyhow::{bail, Context, Result};
use clap::{ArgAction, Args};
use serde_json::json;
use sluice_remoting::body::admin::{
    ConsumeStats, ConsumerConnection, ProducerConnection, ResetOffsetBody, SubscriptionGroupConfig,
};
use sluice_remoting::body::JsonBody;
use sluice_remoting::codes::{request, response};
use sluice_remoting::header::admin::{
    CloneGroupOffsetRequestHeader, DeleteSubscriptionGroupRequestHeader, GetConsumeStatsRequestHeader,
    GetConsumerConnectionListRequestHeader, GetConsumerRunningInfoRequestHeader,
    GetProducerConnectionListRequestHeader, ResetOffsetRequestHeader,
};
use sluice_remoting::RemotingCommand;

use super::output::{Output, Table};
use super::{done, format_timestamp, master, parse_timestamp, Admin};

#[derive(Debug, Args)]
pub struct UpdateSubGroupArgs {
    #[arg(short = 'b', long = "brokerAddr")]
    pub broker_addr: Option<String>,
    #[arg(short = 'c', long = "clusterName")]
    pub cluster_name: Option<String>,
    #[arg(short = 'g', long = "groupName")]
    pub group_name: String,
    #[arg(short = 's', long = "consumeEnable", action = ArgAction::Set)]
    pub consume_enable: Option<bool>,
    #[arg(short = 'm', long = "consumeFromMinEnable", action = ArgAction::Set)]
    pub consume_from_min_enable: Option<bool>,
    #[arg(short = 'd', long = "consumeBroadcastEnable", action = ArgAction::Set)]
    pub consume_broadcast_enable: Option<bool>,
    #[arg(short = 'q', long = "retryQueueNums")]
    pub retry_queue_nums: Option<i32>,
    #[arg(short = 'r', long = "retryMaxTimes")]
    pub retry_max_times: Option<i32>,
    #[arg(short = 'i', long = "brokerId")]
    pub broker_id: Option<i64>,
    #[arg(short = 'w', long = "whichBrokerWhenConsumeSlowly")]
    pub which_broker_when_consume_slowly: Option<i64>,
    #[arg(short = 'a', long = "notifyConsumerIdsChanged", action = ArgAction::Set)]
    pub notify_consumer_ids_changed: Option<bool>,
}

pub async fn update_sub_group(admin: &Admin, a: &UpdateSubGroupArgs) -> Result<Output> {
    let targets = admin
        .masters(a.broker_addr.as_deref(), a.cluster_name.as_deref(), false)
        .await?;
    let mut g = SubscriptionGroupConfig::new(a.group_name.clone());
    g.consume_enable = a.consume_enable.unwrap_or(g.consume_enable);
    g.consume_from_min_enable = a.consume_from_min_enable.unwrap_or(g.consume_from_min_enable);
    g.consume_broadcast_enable = a.consume_broadcast_enable.unwrap_or(g.consume_broadcast_enable);
    g.retry_queue_nums = a.retry_queue_nums.unwrap_or(g.retry_queue_nums);
    g.retry_max_times = a.retry_max_times.unwrap_or(g.retry_max_times);
    g.broker_id = a.broker_id.unwrap_or(g.broker_id);
    g.which_broker_when_consume_slowly = a
        .which_broker_when_consume_slowly
        .unwrap_or(g.which_broker_when_consume_slowly);
    g.notify_consumer_ids_changed_enable = a
        .notify_consumer_ids_changed
        .unwrap_or(g.notify_consumer_ids_changed_enable);
    let body = g.to_json();
    let mut lines = Vec::new();
    for (_, addr) in &targets {
        let cmd =
            RemotingCommand::request(request::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP).with_body(body.clone());
        admin.call_ok(addr, cmd, "update subscription group").await?;
        lines.push(format!("create subscription group to {addr} success."));
    }
    lines.push(String::from_utf8_lossy(&body).into_owned());
    let brokers: Vec<&String> = targets.iter().map(|(_, a)| a).collect();
    let config: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    Ok(done(lines, json!({"brokers": brokers, "config": config})))
}

#[derive(Debug, Args)]
pub struct ConsumerProgressArgs {
    /// The group; without it, one summary line per group (as mqadmin prints).
    #[arg(short = 'g', long = "groupName")]
    pub group_name: Option<String>,
    #[arg(short = 't', long = "topicName")]
    pub topic_name: Option<String>,
    /// Show the client holding each queue.
    #[arg(short = 's', long = "showClientIP")]
    pub show_client_ip: bool,
}

/// Masters of the topic's route, or every master.
async fn brokers_for(admin: &Admin, topic: Option<&str>) -> Result<Vec<(String, String)>> {
    match topic {
        Some(t) => Ok(admin
            .route(t)
            .await?
            .broker_datas
            .iter()
            .filter_map(|b| master(b).map(|a| (b.broker_name.clone(), a)))
            .collect()),
        None => admin.masters(None, None, true).await,
    }
}

/// A group's consume stats summed over `brokers` (`topic`: one topic only).
async fn consume_stats(
    admin: &Admin,
    brokers: &[(String, String)],
    group: &str,
    topic: Option<&str>,
) -> Result<ConsumeStats> {
    let mut all = ConsumeStats::default();
    for (_, addr) in brokers {
        let h = GetConsumeStatsRequestHeader {
            consumer_group: group.to_owned(),
            topic: topic.map(str::to_owned),
            topic_list: None,
        };
        let cmd = RemotingCommand::request(request::GET_CONSUME_STATS).with_header(&h);
        let reply = admin.call_ok(addr, cmd, "consume stats").await?;
        let s = ConsumeStats::from_json(&reply.body).context("reading the consume stats")?;
        all.consume_tps += s.consume_tps;
        all.offset_table.extend(s.offset_table);
    }
    Ok(all)
}

/// The group's connections from the first broker that knows it online.
async fn connections(
    admin: &Admin,
    brokers: &[(String, String)],
    group: &str,
) -> Result<Option<ConsumerConnection>> {
    for (_, addr) in brokers {
        let h = GetConsumerConnectionListRequestHeader {
            consumer_group: group.to_owned(),
        };
        let cmd = RemotingCommand::request(request::GET_CONSUMER_CONNECTION_LIST).with_header(&h);
        let reply = admin.call(addr, cmd).await?;
        if reply.code == response::CONSUMER_NOT_ONLINE {
            continue;
        }
        let reply = super::ok(reply, "consumer connection")?;
        return Ok(Some(
            ConsumerConnection::from_json(&reply.body).context("reading the consumer connection")?,
        ));
    }
    Ok(None)
}

/// consumerProgress without `-g`: every group (each `%RETRY%<group>` topic the NameServer knows),
/// its online clients, consume type, model, TPS and total lag, as mqadmin prints them.
async fn all_groups_progress(admin: &Admin) -> Result<Output> {
    let reply = admin
        .namesrv(RemotingCommand::request(
            request::GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
        ))
        .await?;
    let reply = super::ok(reply, "topic list")?;
    let mut groups: Vec<String> = sluice_remoting::body::TopicList::from_json(&reply.body)
        .context("reading the topic list")?
        .topic_list
        .into_iter()
        .filter_map(|t| t.strip_prefix("%RETRY%").map(str::to_owned))
        .collect();
    groups.sort();
    let brokers = brokers_for(admin, None).await?;
    let mut t = Table::new(&[
        "#Group",
        "#Count",
        "#Version",
        "#Type",
        "#Model",
        "#TPS",
        "#Diff Total",
    ]);
    for g in &groups {
        let stats = consume_stats(admin, &brokers, g, None).await?;
        let diff: i64 = stats
            .offset_table
            .values()
            .map(|o| o.broker_offset - o.consumer_offset)
            .sum();
        let conn = connections(admin, &brokers, g).await?;
        let (count, version, kind, model) = match &conn {
            Some(c) => (
                c.connection_set.len(),
                c.connection_set
                    .iter()
                    .map(|x| x.version)
                    .max()
                    .map(sluice_remoting::codes::version::describe)
                    .unwrap_or_default(),
                match c.consume_type {
                    sluice_remoting::body::ConsumeType::ConsumeActively => "PULL",
                    sluice_remoting::body::ConsumeType::ConsumePassively => "PUSH",
                    sluice_remoting::body::ConsumeType::ConsumePop => "POP",
                }
                .to_owned(),
                format!("{:?}", c.message_model).to_uppercase(),
            ),
            None => (0, String::new(), String::new(), String::new()),
        };
        t.row(vec![
            g.clone(),
            count.to_string(),
            version,
            kind,
            model,
            format!("{:.0}", stats.consume_tps),
            diff.to_string(),
        ]);
    }
    Ok(Output::table(
        t,
        &["group", "count", "version", "type", "model", "tps", "diffTotal"],
    ))
}

pub async fn consumer_progress(admin: &Admin, a: &ConsumerProgressArgs) -> Result<Output> {
    let Some(group) = a.group_name.as_deref() else {
        return all_groups_progress(admin).await;
    };
    let brokers = brokers_for(admin, a.topic_name.as_deref()).await?;
    let all = consume_stats(admin, &brokers, group, a.topic_name.as_deref()).await?;
    if all.offset_table.is_empty() {
        bail!("consumer group {group} has no consume progress (no offsets committed, or no such group)");
    }
    let mut headers = vec![
        "#Topic",
        "#Broker Name",
        "#QID",
        "#Broker Offset",
        "#Consumer Offset",
    ];
    let mut keys = vec!["topic", "brokerName", "queueId", "brokerOffset", "consumerOffset"];
    if a.show_client_ip {
        headers.push("#Client IP");
        keys.push("clientIp");
    }
    headers.extend(["#Diff", "#LastTime"]);
    keys.extend(["diff", "lastTime"]);
    let mut t = Table::new(&headers);
    let mut diff_total = 0;
    for (mq, o) in &all.offset_table {
        let diff = o.broker_offset - o.consumer_offset;
        diff_total += diff;
        let mut row = vec![
            mq.topic.clone(),
            mq.broker_name.clone(),
            mq.queue_id.to_string(),
            o.broker_offset.to_string(),
            o.consumer_offset.to_string(),
        ];
        if a.show_client_ip {
            row.push("N/A".into());
        }
        row.extend([diff.to_string(), format_timestamp(o.last_timestamp)]);
        t.row(row);
    }
    let text = format!(
        "{}\n\nConsume TPS: {:.2}\nConsume Diff Total: {diff_total}",
        t.render(),
        all.consume_tps
    );
    let queues = super::output::table_json(&t, &keys);
    Ok(Output::text(
        text,
        json!({"group": a.group_name, "consumeTps": all.consume_tps, "diffTotal": diff_total, "queues": queues}),
    ))
}

#[derive(Debug, Args)]
pub struct ConsumerConnectionArgs {
    #[arg(short = 'g', long = "consumerGroup")]
    pub consumer_group: String,
    /// Ask this broker (default: each master until one knows the group).
    #[arg(short = 'b', long = "brokerAddr")]
    pub broker_addr: Option<String>,
}

pub async fn consumer_connection(admin: &Admin, a: &ConsumerConnectionArgs) -> Result<Output> {
    let brokers = admin.masters(a.broker_addr.as_deref(), None, true).await?;
    let Some(cc) = connections(admin, &brokers, &a.consumer_group).await? else {
        bail!("consumer group {} is not online", a.consumer_group);
    };
    let mut t = Table::new(&["#ClientId", "#ClientAddr", "#Language", "#Version"]);
    for c in &cc.connection_set {
        t.row(vec![
            c.client_id.clone(),
            c.client_addr.clone(),
            c.language.clone(),
            sluice_remoting::codes::version::describe(c.version),
        ]);
    }
    let mut s = Table::new(&["#Topic", "#SubExpression"]);
    for (topic, sub) in &cc.subscription_table {
        s.row(vec![topic.clone(), sub.sub_string.clone()]);
    }
    let text = format!(
        "{}\n\nBelow is subscription:\n{}\n\nConsumeType: {:?}\nMessageModel: {:?}\nConsumeFromWhere: {:?}",
        t.render(),
        s.render(),
        cc.consume_type,
        cc.message_model,
        cc.consume_from_where
    );
    let json = serde_json::from_slice(&cc.to_json()).unwrap_or_default();
    Ok(Output::text(text, json))
}

#[derive(Debug, Args)]
pub struct ResetOffsetByTimeArgs {
    #[arg(short = 'g', long = "group")]
    pub group: String,
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    /// now, milliseconds, or yyyy-MM-dd#HH:mm:ss:SSS (local time).
    #[arg(short = 's', long = "timestamp")]
    pub timestamp: String,
    /// Also move offsets forward (default true).
    #[arg(short = 'f', long = "force", default_value_t = true, action = ArgAction::Set)]
    pub force: bool,
    /// Accepted for compatibility (C++ clients are reset through the broker too).
    #[arg(short = 'c', long = "cplus")]
    pub cplus: bool,
    /// Only this queue (with -o: to this offset).
    #[arg(short = 'q', long = "queue")]
    pub queue: Option<i32>,
    #[arg(short = 'o', long = "offset")]
    pub offset: Option<i64>,
}

pub async fn reset_offset_by_time(admin: &Admin, a: &ResetOffsetByTimeArgs) -> Result<Output> {
    let timestamp = parse_timestamp(&a.timestamp)?;
    reset_offsets(admin, a, timestamp).await
}

/// Resets `a`'s group on its topic to `timestamp` (−1: the end of each queue).
async fn reset_offsets(admin: &Admin, a: &ResetOffsetByTimeArgs, timestamp: i64) -> Result<Output> {
    let brokers = brokers_for(admin, Some(&a.topic)).await?;
    let mut all = ResetOffsetBody::default();
    for (_, addr) in &brokers {
        let h = ResetOffsetRequestHeader {
            topic: a.topic.clone(),
            group: a.group.clone(),
            timestamp,
            is_force: a.force,
            queue_id: a.queue,
            offset: a.offset,
        };
        let cmd = RemotingCommand::request(request::INVOKE_BROKER_TO_RESET_OFFSET).with_header(&h);
        let reply = admin.call_ok(addr, cmd, "reset offset").await?;
        let body = ResetOffsetBody::from_json(&reply.body).context("reading the reset offsets")?;
        all.offset_table.extend(body.offset_table);
    }
    let mut t = Table::new(&["#brokerName", "#queueId", "#offset"]);
    for (mq, o) in &all.offset_table {
        t.row(vec![
            mq.broker_name.clone(),
            mq.queue_id.to_string(),
            o.to_string(),
        ]);
    }
    let text = format!(
        "rollback consumer offset by specified group[{}], topic[{}], force[{}], timestamp(string)[{}], timestamp(long)[{timestamp}]\n{}",
        a.group,
        a.topic,
        a.force,
        a.timestamp,
        t.render()
    );
    let queues = super::output::table_json(&t, &["brokerName", "queueId", "offset"]);
    Ok(Output::text(
        text,
        json!({"group": a.group, "topic": a.topic, "timestamp": timestamp, "offsets": queues}),
    ))
}

#[derive(Debug, Args)]
pub struct DeleteSubGroupArgs {
    #[arg(short = 'b', long = "brokerAddr")]
    pub broker_addr: Option<String>,
    #[arg(short = 'c', long = "clusterName")]
    pub cluster_name: Option<String>,
    #[arg(short = 'g', long = "groupName")]
    pub group_name: String,
    /// Also remove the group's committed offsets.
    #[arg(short = 'r', long = "removeOffset", default_value_t = false, action = ArgAction::Set)]
    pub remove_offset: bool,
}

/// deleteSubGroup (DELETE_SUBSCRIPTIONGROUP 207) on `-b` or every master of `-c`.
pub async fn delete_sub_group(admin: &Admin, a: &DeleteSubGroupArgs) -> Result<Output> {
    let targets = admin
        .masters(a.broker_addr.as_deref(), a.cluster_name.as_deref(), false)
        .await?;
    let h = DeleteSubscriptionGroupRequestHeader {
        group_name: a.group_name.clone(),
        clean_offset: a.remove_offset,
    };
    let mut lines = Vec::new();
    for (_, addr) in &targets {
        let cmd = RemotingCommand::request(request::DELETE_SUBSCRIPTIONGROUP).with_header(&h);
        admin.call_ok(addr, cmd, "delete subscription group").await?;
        lines.push(format!(
            "delete subscription group [{}] from broker [{addr}] success.",
            a.group_name
        ));
    }
    let brokers: Vec<&String> = targets.iter().map(|(_, a)| a).collect();
    Ok(done(lines, json!({"group": a.group_name, "brokers": brokers})))
}

#[derive(Debug, Args)]
pub struct CloneGroupOffsetArgs {
    #[arg(short = 's', long = "srcGroup")]
    pub src_group: String,
    #[arg(short = 'd', long = "destGroup")]
    pub dest_group: String,
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    /// The source group is offline (its offsets are read from the store, not its clients).
    #[arg(short = 'o', long = "offline", default_value_t = false, action = ArgAction::Set)]
    pub offline: bool,
}

/// cloneGroupOffset (CLONE_GROUP_OFFSET 314) on every master of the topic's route.
pub async fn clone_group_offset(admin: &Admin, a: &CloneGroupOffsetArgs) -> Result<Output> {
    let brokers = brokers_for(admin, Some(&a.topic)).await?;
    let h = CloneGroupOffsetRequestHeader {
        src_group: a.src_group.clone(),
        dest_group: a.dest_group.clone(),
        topic: Some(a.topic.clone()),
        offline: a.offline,
    };
    for (_, addr) in &brokers {
        let cmd = RemotingCommand::request(request::CLONE_GROUP_OFFSET).with_header(&h);
        admin.call_ok(addr, cmd, "clone group offset").await?;
    }
    Ok(done(
        vec![format!(
            "clone group offset success. srcGroup[{}], destGroup=[{}], topic[{}]",
            a.src_group, a.dest_group, a.topic
        )],
        json!({"srcGroup": a.src_group, "destGroup": a.dest_group, "topic": a.topic}),
    ))
}

#[derive(Debug, Args)]
pub struct ProducerConnectionArgs {
    #[arg(short = 'g', long = "producerGroup")]
    pub producer_group: String,
    /// A topic whose brokers are asked.
    #[arg(short = 't', long = "topic")]
    pub topic: String,
}

/// producerConnection (GET_PRODUCER_CONNECTION_LIST 204): the group's producers on the topic's
/// brokers.
pub async fn producer_connection(admin: &Admin, a: &ProducerConnectionArgs) -> Result<Output> {
    let brokers = brokers_for(admin, Some(&a.topic)).await?;
    let mut seen = std::collections::BTreeMap::new();
    for (_, addr) in &brokers {
        let h = GetProducerConnectionListRequestHeader {
            producer_group: a.producer_group.clone(),
        };
        let cmd = RemotingCommand::request(request::GET_PRODUCER_CONNECTION_LIST).with_header(&h);
        let reply = admin.call(addr, cmd).await?;
        if reply.code != response::SUCCESS {
            continue;
        }
        let pc = ProducerConnection::from_json(&reply.body).context("reading the producer connection")?;
        for c in pc.connection_set {
            seen.insert(c.client_id.clone(), c);
        }
    }
    if seen.is_empty() {
        bail!(
            "producer group {} has no connection on the brokers of {}",
            a.producer_group,
            a.topic
        );
    }
    let mut t = Table::new(&["#No", "#ClientId", "#ClientAddr", "#Language", "#Version"]);
    for (i, c) in seen.values().enumerate() {
        t.row(vec![
            format!("{:04}", i + 1),
            c.client_id.clone(),
            c.client_addr.clone(),
            c.language.clone(),
            sluice_remoting::codes::version::describe(c.version),
        ]);
    }
    Ok(Output::table(
        t,
        &["no", "clientId", "clientAddr", "language", "version"],
    ))
}

#[derive(Debug, Args)]
pub struct ConsumerStatusArgs {
    #[arg(short = 'g', long = "consumerGroup")]
    pub consumer_group: String,
    /// One client (default: every client of the group).
    #[arg(short = 'i', long = "clientId")]
    pub client_id: Option<String>,
    /// The broker to ask (default: the masters).
    #[arg(short = 'b', long = "brokerAddr")]
    pub broker_addr: Option<String>,
    /// Ask the client for its thread stacks too.
    #[arg(short = 's', long = "jstack")]
    pub jstack: bool,
}

/// consumerStatus (GET_CONSUMER_RUNNING_INFO 307, relayed by the broker to each client): each
/// client's running info as it reports it.
pub async fn consumer_status(admin: &Admin, a: &ConsumerStatusArgs) -> Result<Output> {
    let brokers = admin.masters(a.broker_addr.as_deref(), None, true).await?;
    let Some(cc) = connections(admin, &brokers, &a.consumer_group).await? else {
        bail!("consumer group {} is not online", a.consumer_group);
    };
    let Some((_, addr)) = brokers.first() else {
        bail!("no broker found");
    };
    let clients: Vec<String> = match &a.client_id {
        Some(id) => vec![id.clone()],
        None => cc.connection_set.iter().map(|c| c.client_id.clone()).collect(),
    };
    let mut text = Vec::new();
    let mut all = Vec::new();
    for (i, client) in clients.iter().enumerate() {
        let h = GetConsumerRunningInfoRequestHeader {
            consumer_group: a.consumer_group.clone(),
            client_id: client.clone(),
            jstack_enable: a.jstack,
        };
        let cmd = RemotingCommand::request(request::GET_CONSUMER_RUNNING_INFO).with_header(&h);
        let reply = admin.call_ok(addr, cmd, "consumer running info").await?;
        let info: serde_json::Value = sluice_remoting::body::fastjson::from_slice(&reply.body)
            .unwrap_or_else(|_| json!(String::from_utf8_lossy(&reply.body)));
        text.push(format!("{:<10} {:<40} {}", i + 1, client, addr));
        text.push(serde_json::to_string_pretty(&info).unwrap_or_default());
        all.push(json!({ "clientId": client, "runningInfo": info }));
    }
    Ok(Output::text(text.join("\n"), json!(all)))
}

#[derive(Debug, Args)]
pub struct SkipAccumulatedArgs {
    #[arg(short = 'g', long = "group")]
    pub group: String,
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    /// Also for offsets ahead of the end (default true).
    #[arg(short = 'f', long = "force", default_value_t = true, action = ArgAction::Set)]
    pub force: bool,
}

/// skipAccumulatedMessage: the group's offsets on the topic moved to the end of each queue
/// (the reset to timestamp −1 the brokers read as "the max offset").
pub async fn skip_accumulated(admin: &Admin, a: &SkipAccumulatedArgs) -> Result<Output> {
    let reset = ResetOffsetByTimeArgs {
        group: a.group.clone(),
        topic: a.topic.clone(),
        timestamp: "-1".into(),
        force: a.force,
        cplus: false,
        queue: None,
        offset: None,
    };
    reset_offsets(admin, &reset, -1).await
}
