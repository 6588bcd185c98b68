//! updateTopic, deleteTopic, topicList, topicRoute, topicStatus, updateTopicPerm, topicClusterList.

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::json;
use sluice_remoting::body::admin::TopicStatsTable;
use sluice_remoting::body::{JsonBody, TopicList};
use sluice_remoting::codes::request;
use sluice_remoting::header::admin::{CreateTopicRequestHeader, TopicRequestHeader, SINGLE_TAG};
use sluice_remoting::header::route::DeleteTopicFromNamesrvRequestHeader;
use sluice_remoting::{perm, RemotingCommand};

use super::output::{Output, Table};
use super::{done, format_timestamp, master, Admin};

#[derive(Debug, Args)]
pub struct UpdateTopicArgs {
    /// Create the topic on this broker (`ip:port`).
    #[arg(short = 'b', long = "brokerAddr")]
    pub broker_addr: Option<String>,
    /// Create the topic on every master of this cluster.
    #[arg(short = 'c', long = "clusterName")]
    pub cluster_name: Option<String>,
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    #[arg(short = 'r', long = "readQueueNums", default_value_t = 8)]
    pub read_queue_nums: i32,
    #[arg(short = 'w', long = "writeQueueNums", default_value_t = 8)]
    pub write_queue_nums: i32,
    /// Permission bits: 2 write, 4 read, 6 both.
    #[arg(short = 'p', long = "perm", default_value_t = 6)]
    pub perm: i32,
    /// Ordered topic.
    #[arg(short = 'o', long = "order", default_value_t = false, action = clap::ArgAction::Set)]
    pub order: bool,
}

pub async fn update_topic(admin: &Admin, a: &UpdateTopicArgs) -> Result<Output> {
    let targets = admin
        .masters(a.broker_addr.as_deref(), a.cluster_name.as_deref(), false)
        .await?;
    let h = CreateTopicRequestHeader {
        topic: a.topic.clone(),
        default_topic: Some("TBW102".into()),
        read_queue_nums: a.read_queue_nums,
        write_queue_nums: a.write_queue_nums,
        perm: a.perm,
        topic_filter_type: SINGLE_TAG.into(),
        topic_sys_flag: 0,
        order: a.order,
        attributes: None,
        force: false,
    };
    let mut lines = Vec::new();
    for (_, addr) in &targets {
        let cmd = RemotingCommand::request(request::UPDATE_AND_CREATE_TOPIC).with_header(&h);
        admin.call_ok(addr, cmd, "create topic").await?;
        lines.push(format!("create topic to {addr} success."));
    }
    lines.push(format!(
        "TopicConfig [topicName={}, readQueueNums={}, writeQueueNums={}, perm={}, order={}]",
        a.topic,
        a.read_queue_nums,
        a.write_queue_nums,
        perm::name(a.perm),
        a.order
    ));
    let brokers: Vec<&String> = targets.iter().map(|(_, a)| a).collect();
    Ok(done(
        lines,
        json!({"topic": a.topic, "brokers": brokers, "readQueueNums": a.read_queue_nums,
               "writeQueueNums": a.write_queue_nums, "perm": a.perm, "order": a.order}),
    ))
}

#[derive(Debug, Args)]
pub struct DeleteTopicArgs {
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    /// Only from this cluster's masters (default: every broker of the topic's route).
    #[arg(short = 'c', long = "clusterName")]
    pub cluster_name: Option<String>,
}

pub async fn delete_topic(admin: &Admin, a: &DeleteTopicArgs) -> Result<Output> {
    let targets: Vec<String> = match &a.cluster_name {
        Some(c) => admin
            .masters(None, Some(c), false)
            .await?
            .into_iter()
            .map(|(_, addr)| addr)
            .collect(),
        None => admin
            .route(&a.topic)
            .await?
            .broker_datas
            .iter()
            .filter_map(master)
            .collect(),
    };
    let mut lines = Vec::new();
    for addr in &targets {
        let h = TopicRequestHeader {
            topic: a.topic.clone(),
        };
        let cmd = RemotingCommand::request(request::DELETE_TOPIC_IN_BROKER).with_header(&h);
        admin.call_ok(addr, cmd, "delete topic in broker").await?;
        lines.push(format!("delete topic [{}] from broker {addr} success.", a.topic));
    }
    let h = DeleteTopicFromNamesrvRequestHeader {
        topic: a.topic.clone(),
        cluster_name: a.cluster_name.clone(),
    };
    admin
        .every_namesrv(
            RemotingCommand::request(request::DELETE_TOPIC_IN_NAMESRV).with_header(&h),
            "delete topic in NameServer",
        )
        .await?;
    lines.push(format!("delete topic [{}] from NameServer success.", a.topic));
    Ok(done(lines, json!({"topic": a.topic, "brokers": targets})))
}

#[derive(Debug, Args)]
pub struct TopicListArgs {
    /// Also print each topic's cluster.
    #[arg(short = 'c', long = "clusterModel")]
    pub cluster_model: bool,
}

pub async fn topic_list(admin: &Admin, a: &TopicListArgs) -> Result<Output> {
    let reply = admin
        .namesrv(RemotingCommand::request(
            request::GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
        ))
        .await?;
    let reply = super::ok(reply, "topic list")?;
    let mut topics = TopicList::from_json(&reply.body)
        .context("reading the topic list")?
        .topic_list;
    topics.sort();
    if !a.cluster_model {
        return Ok(Output::text(topics.join("\n"), json!(topics)));
    }
    let mut t = Table::new(&["#Cluster Name", "#Topic"]);
    for topic in &topics {
        let clusters = match admin.route(topic).await {
            Ok(r) => r
                .broker_datas
                .iter()
                .map(|b| b.cluster.clone())
                .collect::<Vec<_>>()
                .join(","),
            Err(_) => String::new(),
        };
        t.row(vec![clusters, topic.clone()]);
    }
    Ok(Output::table(t, &["clusterName", "topic"]))
}

#[derive(Debug, Args)]
pub struct TopicRouteArgs {
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    /// List format (the default here).
    #[arg(short = 'l', long = "list")]
    pub list: bool,
}

pub async fn topic_route(admin: &Admin, a: &TopicRouteArgs) -> Result<Output> {
    let route = admin.route(&a.topic).await?;
    let mut t = Table::new(&[
        "#ClusterName",
        "#BrokerName",
        "#BrokerAddrs",
        "#ReadQueue",
        "#WriteQueue",
        "#Perm",
    ]);
    for q in &route.queue_datas {
        let b = route.broker_datas.iter().find(|b| b.broker_name == q.broker_name);
        let addrs = b
            .map(|b| {
                b.broker_addrs
                    .iter()
                    .map(|(id, a)| format!("{id}:{a}"))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default();
        t.row(vec![
            b.map(|b| b.cluster.clone()).unwrap_or_default(),
            q.broker_name.clone(),
            addrs,
            q.read_queue_nums.to_string(),
            q.write_queue_nums.to_string(),
            perm::name(q.perm),
        ]);
    }
    let json = serde_json::from_slice(&route.to_json()).unwrap_or(serde_json::Value::Null);
    Ok(Output::text(t.render(), json))
}

#[derive(Debug, Args)]
pub struct TopicStatusArgs {
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    /// Only the brokers of this cluster.
    #[arg(short = 'c', long = "cluster")]
    pub cluster: Option<String>,
}

pub async fn topic_status(admin: &Admin, a: &TopicStatusArgs) -> Result<Output> {
    let route = admin.route(&a.topic).await?;
    let mut t = Table::new(&[
        "#Broker Name",
        "#QID",
        "#Min Offset",
        "#Max Offset",
        "#Last Updated",
    ]);
    let mut found = false;
    for b in &route.broker_datas {
        if a.cluster.as_ref().is_some_and(|c| *c != b.cluster) {
            continue;
        }
        let Some(addr) = master(b) else { continue };
        let h = TopicRequestHeader {
            topic: a.topic.clone(),
        };
        let cmd = RemotingCommand::request(request::GET_TOPIC_STATS_INFO).with_header(&h);
        let reply = admin.call_ok(&addr, cmd, "topic stats").await?;
        let stats = TopicStatsTable::from_json(&reply.body).context("reading the topic stats")?;
        for (mq, o) in &stats.offset_table {
            found = true;
            t.row(vec![
                mq.broker_name.clone(),
                mq.queue_id.to_string(),
                o.min_offset.to_string(),
                o.max_offset.to_string(),
                format_timestamp(o.last_update_timestamp),
            ]);
        }
    }
    if !found {
        bail!("topic {} has no queues on any broker", a.topic);
    }
    Ok(Output::table(
        t,
        &["brokerName", "queueId", "minOffset", "maxOffset", "lastUpdated"],
    ))
}

#[derive(Debug, Args)]
pub struct UpdateTopicPermArgs {
    /// The topic's queues on this broker only.
    #[arg(short = 'b', long = "brokerAddr")]
    pub broker_addr: Option<String>,
    /// On every master of this cluster.
    #[arg(short = 'c', long = "clusterName")]
    pub cluster_name: Option<String>,
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    /// 2 write only, 4 read only, 6 both.
    #[arg(short = 'p', long = "perm")]
    pub perm: i32,
}

/// updateTopicPerm: the topic's permission on its masters, queue counts kept from its route.
pub async fn update_topic_perm(admin: &Admin, a: &UpdateTopicPermArgs) -> Result<Output> {
    if ![2, 4, 6].contains(&a.perm) {
        bail!("perm must be 2 (write), 4 (read) or 6 (both), not {}", a.perm);
    }
    let route = admin.route(&a.topic).await?;
    let mut lines = Vec::new();
    let mut changed = Vec::new();
    for b in &route.broker_datas {
        let Some(addr) = master(b) else { continue };
        let wanted = match (&a.broker_addr, &a.cluster_name) {
            (Some(x), _) => *x == addr,
            (None, Some(c)) => *c == b.cluster,
            (None, None) => bail!("give a broker (-b addr) or a cluster (-c name)"),
        };
        if !wanted {
            continue;
        }
        let Some(q) = route.queue_datas.iter().find(|q| q.broker_name == b.broker_name) else {
            continue;
        };
        if q.perm == a.perm {
            lines.push(format!("new perm equals to the old one! ({addr})"));
            continue;
        }
        let h = CreateTopicRequestHeader {
            topic: a.topic.clone(),
            default_topic: Some("TBW102".into()),
            read_queue_nums: q.read_queue_nums,
            write_queue_nums: q.write_queue_nums,
            perm: a.perm,
            topic_filter_type: SINGLE_TAG.into(),
            topic_sys_flag: q.topic_sys_flag,
            order: false,
            attributes: None,
            force: false,
        };
        let cmd = RemotingCommand::request(request::UPDATE_AND_CREATE_TOPIC).with_header(&h);
        admin.call_ok(&addr, cmd, "update topic perm").await?;
        lines.push(format!(
            "update topic perm from {} to {} in {addr} success.",
            q.perm, a.perm
        ));
        changed.push(addr);
    }
    if lines.is_empty() {
        bail!("updateTopicPerm error broker not exit or broker is not master!");
    }
    Ok(done(
        lines,
        json!({"topic": a.topic, "perm": a.perm, "brokers": changed}),
    ))
}

#[derive(Debug, Args)]
pub struct TopicClusterListArgs {
    #[arg(short = 't', long = "topic")]
    pub topic: String,
}

/// topicClusterList: the clusters the topic's brokers belong to.
pub async fn topic_cluster_list(admin: &Admin, a: &TopicClusterListArgs) -> Result<Output> {
    let route = admin.route(&a.topic).await?;
    let mut clusters: Vec<String> = route.broker_datas.iter().map(|b| b.cluster.clone()).collect();
    clusters.sort();
    clusters.dedup();
    Ok(Output::text(clusters.join("\n"), json!(clusters)))
}
