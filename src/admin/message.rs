//! queryMsgById, queryMsgByKey, queryMsgByOffset, sendMessage, consumeMessage, printMsg.

use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use clap::{ArgAction, Args};
use serde_json::{json, Value};
use sluice_remoting::body::route::TopicRouteData;
use sluice_remoting::codes::{request, response};
use sluice_remoting::header::offsets::{
    GetMaxOffsetRequestHeader, GetMinOffsetRequestHeader, OffsetResponseHeader, SearchOffsetRequestHeader,
};
use sluice_remoting::header::pull::{PullMessageRequestHeader, PullMessageResponseHeader};
use sluice_remoting::header::query::{QueryMessageRequestHeader, ViewMessageRequestHeader};
use sluice_remoting::header::send::{SendMessageRequestHeader, SendMessageResponseHeader};
use sluice_remoting::{perm, RemotingCommand};
use sluice_storage::properties::{self, names};
use sluice_storage::record::{self, CrcCheck, Decoded, Record};

use super::output::{key_values, Output, Table};
use super::{format_timestamp, master, time_or, Admin};

/// The group the tools pull with (never commits).
const TOOLS_CONSUMER_GROUP: &str = "TOOLS_CONSUMER";
const TOOLS_PRODUCER_GROUP: &str = "TOOLS_PRODUCER";

/// One message as the tools show it.
pub(super) struct Shown {
    fields: Vec<(String, String)>,
    pub(super) json: Value,
    msg_id: String,
    queue_id: i32,
    queue_offset: i64,
    pub(super) body: String,
}

fn show(m: &Record<'_>) -> Shown {
    let msg_id = sluice_storage::msgid::offset_msg_id(m.store_host, m.physical_offset as u64);
    let prop = |n| m.property(n).unwrap_or("").to_owned();
    let body = String::from_utf8_lossy(m.body).into_owned();
    let props: serde_json::Map<String, Value> = properties::iter(m.properties)
        .map(|(k, v)| (k.to_owned(), Value::from(v)))
        .collect();
    let fields = vec![
        ("OffsetID".to_owned(), msg_id.clone()),
        ("Topic".into(), m.topic.to_owned()),
        ("Tags".into(), format!("[{}]", prop(names::TAGS))),
        ("Keys".into(), format!("[{}]", prop(names::KEYS))),
        ("Queue ID".into(), m.queue_id.to_string()),
        ("Queue Offset".into(), m.queue_offset.to_string()),
        ("CommitLog Offset".into(), m.physical_offset.to_string()),
        ("Reconsume Times".into(), m.reconsume_times.to_string()),
        ("Born Timestamp".into(), format_timestamp(m.born_timestamp)),
        ("Store Timestamp".into(), format_timestamp(m.store_timestamp)),
        ("Born Host".into(), m.born_host.to_string()),
        ("Store Host".into(), m.store_host.to_string()),
        ("System Flag".into(), m.sys_flag.to_string()),
        ("Properties".into(), Value::Object(props.clone()).to_string()),
        ("Message Body".into(), body.clone()),
    ];
    let json = json!({
        "msgId": msg_id, "uniqKey": prop(names::UNIQ_KEY), "topic": m.topic, "tags": prop(names::TAGS),
        "keys": prop(names::KEYS), "queueId": m.queue_id, "queueOffset": m.queue_offset,
        "commitLogOffset": m.physical_offset, "reconsumeTimes": m.reconsume_times,
        "bornTimestamp": m.born_timestamp, "storeTimestamp": m.store_timestamp,
        "bornHost": m.born_host.to_string(), "storeHost": m.store_host.to_string(),
        "sysFlag": m.sys_flag, "properties": props, "body": body,
    });
    Shown {
        fields,
        json,
        msg_id,
        queue_id: m.queue_id,
        queue_offset: m.queue_offset,
        body,
    }
}

/// Every message of a pull / query / view body.
fn decode_all(body: &[u8]) -> Result<Vec<Shown>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < body.len() {
        match record::decode(&body[pos..], CrcCheck::Skip).map_err(|e| anyhow!("decoding a message: {e}"))? {
            Decoded::Message(m) => {
                pos += m.total_size;
                out.push(show(&m));
            }
            Decoded::Blank => break,
        }
    }
    Ok(out)
}

fn detail(msgs: Vec<Shown>) -> Output {
    let text = msgs
        .iter()
        .map(|m| key_values(&m.fields))
        .collect::<Vec<_>>()
        .join("\n\n");
    let json = if msgs.len() == 1 {
        msgs.into_iter().next().map(|m| m.json).unwrap_or_default()
    } else {
        Value::Array(msgs.into_iter().map(|m| m.json).collect())
    };
    Output::text(text, json)
}

#[derive(Debug, Args)]
pub struct QueryMsgByIdArgs {
    /// offsetMsgId(s), comma-separated; with -t a unique key (UNIQ_KEY) is accepted too.
    #[arg(short = 'i', long = "msgId")]
    pub msg_id: String,
    /// The topic, for unique keys.
    #[arg(short = 't', long = "topic")]
    pub topic: Option<String>,
}

pub async fn query_by_id(admin: &Admin, a: &QueryMsgByIdArgs) -> Result<Output> {
    let mut found = Vec::new();
    for id in a.msg_id.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if let Ok((addr, offset)) = sluice_storage::msgid::parse_offset_msg_id(id) {
            let h = ViewMessageRequestHeader {
                offset: offset as i64,
                topic: a.topic.clone(),
            };
            let cmd = RemotingCommand::request(request::VIEW_MESSAGE_BY_ID).with_header(&h);
            let reply = admin.call(&addr.to_string(), cmd).await?;
            let reply = super::ok(reply, &format!("message {id}"))?;
            found.extend(decode_all(&reply.body)?);
            continue;
        }
        let Some(topic) = &a.topic else {
            bail!("{id} is not an offsetMsgId; give the topic (-t) to look it up as a unique key");
        };
        let msgs = query_index(admin, topic, id, 32, 0, i64::MAX, true).await?;
        if msgs.is_empty() {
            bail!("message {id} not found in topic {topic}");
        }
        found.extend(msgs);
    }
    Ok(detail(found))
}

#[derive(Debug, Args)]
pub struct QueryMsgByUniqueKeyArgs {
    /// The message's unique key (UNIQ_KEY, the msgId the client printed).
    #[arg(short = 'i', long = "msgId")]
    pub msg_id: String,
    #[arg(short = 't', long = "topic")]
    pub topic: String,
}

/// queryMsgByUniqueKey: the message(s) stored under a UNIQ_KEY (QUERY_MESSAGE with
/// `_UNIQUE_KEY_QUERY=true`; a retried send may have stored it more than once).
pub async fn query_by_unique_key(admin: &Admin, a: &QueryMsgByUniqueKeyArgs) -> Result<Output> {
    let msgs = query_index(admin, &a.topic, a.msg_id.trim(), 32, 0, i64::MAX, true).await?;
    if msgs.is_empty() {
        bail!("message {} not found in topic {}", a.msg_id, a.topic);
    }
    Ok(detail(msgs))
}

/// QUERY_MESSAGE on every broker of the topic.
pub(super) async fn query_index(
    admin: &Admin,
    topic: &str,
    key: &str,
    max: i32,
    begin: i64,
    end: i64,
    unique: bool,
) -> Result<Vec<Shown>> {
    let route = admin.route(topic).await?;
    let mut out = Vec::new();
    for b in &route.broker_datas {
        let Some(addr) = master(b) else { continue };
        let h = QueryMessageRequestHeader {
            topic: topic.to_owned(),
            key: key.to_owned(),
            max_num: max,
            begin_timestamp: begin,
            end_timestamp: end,
            unique_key_query: unique,
        };
        let reply = admin
            .call(
                &addr,
                RemotingCommand::request(request::QUERY_MESSAGE).with_header(&h),
            )
            .await?;
        if reply.code == response::QUERY_NOT_FOUND {
            continue;
        }
        let reply = super::ok(reply, "query message")?;
        out.extend(decode_all(&reply.body)?);
    }
    Ok(out)
}

#[derive(Debug, Args)]
pub struct QueryMsgByKeyArgs {
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    #[arg(short = 'k', long = "msgKey")]
    pub msg_key: String,
    #[arg(short = 'b', long = "beginTimestamp")]
    pub begin_timestamp: Option<String>,
    #[arg(short = 'e', long = "endTimestamp")]
    pub end_timestamp: Option<String>,
    #[arg(short = 'c', long = "maxNum", default_value_t = 64)]
    pub max_num: i32,
}

pub async fn query_by_key(admin: &Admin, a: &QueryMsgByKeyArgs) -> Result<Output> {
    let begin = time_or(a.begin_timestamp.as_deref(), 0)?;
    let end = time_or(a.end_timestamp.as_deref(), i64::MAX)?;
    let msgs = query_index(admin, &a.topic, &a.msg_key, a.max_num, begin, end, false).await?;
    let mut t = Table::new(&["#Message ID", "#QID", "#Offset"]);
    for m in &msgs {
        t.row(vec![
            m.msg_id.clone(),
            m.queue_id.to_string(),
            m.queue_offset.to_string(),
        ]);
    }
    let json = Value::Array(msgs.into_iter().map(|m| m.json).collect());
    Ok(Output::text(t.render(), json))
}

#[derive(Debug, Args)]
pub struct QueryMsgByOffsetArgs {
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    #[arg(short = 'b', long = "brokerName")]
    pub broker_name: String,
    #[arg(short = 'i', long = "queueId")]
    pub queue_id: i32,
    #[arg(short = 'o', long = "offset")]
    pub offset: i64,
}

fn broker_addr(route: &TopicRouteData, name: &str) -> Result<String> {
    route
        .broker_datas
        .iter()
        .find(|b| b.broker_name == name)
        .and_then(master)
        .ok_or_else(|| anyhow!("broker {name} has no master in the topic's route"))
}

/// Where to read `name`'s queues: its master, else a slave (the master is gone).
fn read_addr(route: &TopicRouteData, name: &str) -> Result<String> {
    route
        .broker_datas
        .iter()
        .find(|b| b.broker_name == name)
        .and_then(|b| b.read_addr().map(str::to_owned))
        .ok_or_else(|| anyhow!("broker {name} is not in the topic's route"))
}

/// One pull without suspending or committing; (messages, next offset, found?).
async fn pull(
    admin: &Admin,
    addr: &str,
    topic: &str,
    queue_id: i32,
    offset: i64,
    max: i32,
    expr: &str,
) -> Result<(Vec<Shown>, i64, bool)> {
    let h = PullMessageRequestHeader {
        consumer_group: TOOLS_CONSUMER_GROUP.into(),
        topic: topic.into(),
        queue_id,
        queue_offset: offset,
        max_msg_nums: max,
        sys_flag: sluice_remoting::header::pull::sys_flag::SUBSCRIPTION,
        commit_offset: 0,
        suspend_timeout_millis: 0,
        subscription: Some(expr.into()),
        sub_version: 0,
        expression_type: Some("TAG".into()),
        max_msg_bytes: None,
        request_source: None,
        proxy_forward_client_id: None,
    };
    let reply = admin
        .call(
            addr,
            RemotingCommand::request(request::PULL_MESSAGE).with_header(&h),
        )
        .await?;
    let next = PullMessageResponseHeader::from_ext(&reply.ext_fields)
        .map(|r| r.next_begin_offset)
        .unwrap_or(offset + 1);
    match reply.code {
        response::SUCCESS => Ok((decode_all(&reply.body)?, next, true)),
        response::PULL_RETRY_IMMEDIATELY => Ok((Vec::new(), next, true)),
        response::PULL_NOT_FOUND | response::PULL_OFFSET_MOVED => Ok((Vec::new(), next, false)),
        _ => Err(super::ok(reply, "pull")
            .err()
            .unwrap_or_else(|| anyhow!("pull failed"))),
    }
}

pub async fn query_by_offset(admin: &Admin, a: &QueryMsgByOffsetArgs) -> Result<Output> {
    let route = admin.route(&a.topic).await?;
    let addr = read_addr(&route, &a.broker_name)?;
    let (msgs, _, _) = pull(admin, &addr, &a.topic, a.queue_id, a.offset, 1, "*").await?;
    let msgs: Vec<Shown> = msgs.into_iter().filter(|m| m.queue_offset == a.offset).collect();
    if msgs.is_empty() {
        bail!(
            "no message at offset {} of {}:{}:{}",
            a.offset,
            a.topic,
            a.broker_name,
            a.queue_id
        );
    }
    Ok(detail(msgs))
}

#[derive(Debug, Args)]
pub struct SendMessageArgs {
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    /// The body (UTF-8).
    #[arg(short = 'p', long = "body")]
    pub body: String,
    #[arg(short = 'k', long = "key")]
    pub key: Option<String>,
    #[arg(short = 'c', long = "tags")]
    pub tags: Option<String>,
    /// Broker name (default: the first writable one).
    #[arg(short = 'b', long = "broker")]
    pub broker: Option<String>,
    /// Queue id (needs -b; default 0).
    #[arg(short = 'i', long = "qid")]
    pub qid: Option<i32>,
}

pub async fn send_message(admin: &Admin, a: &SendMessageArgs) -> Result<Output> {
    if a.qid.is_some() && a.broker.is_none() {
        bail!("the broker name (-b) must be given with the queue (-i)");
    }
    // A topic the NameServer does not know is sent through TBW102's route, as the Java
    // producer does: a broker with autoCreateTopicEnable creates it.
    let route = match admin.route(&a.topic).await {
        Ok(r) => r,
        Err(e) => admin.route("TBW102").await.map_err(|_| {
            e.context("and no TBW102 route to create it through (autoCreateTopicEnable=false?)")
        })?,
    };
    let queue = route
        .queue_datas
        .iter()
        .filter(|q| q.perm & perm::WRITE != 0 && q.write_queue_nums > 0)
        .find(|q| a.broker.as_ref().is_none_or(|b| *b == q.broker_name))
        .ok_or_else(|| anyhow!("topic {} has no writable queue on that broker", a.topic))?;
    let addr = broker_addr(&route, &queue.broker_name)?;
    let queue_id = a.qid.unwrap_or(0);
    let mut props = Vec::new();
    if let Some(t) = &a.tags {
        props.push((names::TAGS, t.as_str()));
    }
    if let Some(k) = &a.key {
        props.push((names::KEYS, k.as_str()));
    }
    // The client's message id, as the Java producer sets it: what mqadmin prints as MsgId.
    let uniq_key = sluice_client::message::UniqKeyGenerator::new(std::net::Ipv4Addr::LOCALHOST).next_key();
    props.push((names::UNIQ_KEY, uniq_key.as_str()));
    props.push(("WAIT", "true"));
    let h = SendMessageRequestHeader {
        producer_group: TOOLS_PRODUCER_GROUP.into(),
        topic: a.topic.clone(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id,
        sys_flag: 0,
        born_timestamp: sluice_storage::clock::now_millis(),
        flag: 0,
        properties: Some(properties::encode(props)),
        reconsume_times: Some(0),
        unit_mode: false,
        max_reconsume_times: None,
        batch: false,
        broker_name: None,
    };
    let mut cmd = RemotingCommand::request(request::SEND_MESSAGE_V2).with_body(Bytes::from(a.body.clone()));
    cmd.ext_fields = h.to_ext_v2();
    let reply = admin.call(&addr, cmd).await?;
    if !response::send_stored(reply.code) {
        super::ok(reply, "send message")?;
        bail!("send message failed");
    }
    let r = SendMessageResponseHeader::from_ext(&reply.ext_fields).context("reading the send result")?;
    let status = match reply.code {
        response::SUCCESS => "SEND_OK",
        response::FLUSH_DISK_TIMEOUT => "FLUSH_DISK_TIMEOUT",
        response::FLUSH_SLAVE_TIMEOUT => "FLUSH_SLAVE_TIMEOUT",
        _ => "SLAVE_NOT_AVAILABLE",
    };
    let mut t = Table::new(&["#Broker Name", "#QID", "#Send Result", "#MsgId"]);
    t.row(vec![
        queue.broker_name.clone(),
        r.queue_id.to_string(),
        status.into(),
        uniq_key.clone(),
    ]);
    Ok(Output::text(
        t.render(),
        json!({"brokerName": queue.broker_name, "queueId": r.queue_id, "queueOffset": r.queue_offset,
               "sendStatus": status, "msgId": uniq_key, "offsetMsgId": r.msg_id}),
    ))
}

async fn offset_query(admin: &Admin, addr: &str, cmd: RemotingCommand) -> Result<i64> {
    let reply = admin.call_ok(addr, cmd, "offset query").await?;
    Ok(OffsetResponseHeader::from_ext(&reply.ext_fields)
        .context("reading an offset")?
        .offset)
}

/// Offsets `[min, max)` of a queue, narrowed by begin/end times.
async fn range(admin: &Admin, addr: &str, topic: &str, q: i32, begin: i64, end: i64) -> Result<(i64, i64)> {
    let max_h = GetMaxOffsetRequestHeader {
        topic: topic.into(),
        queue_id: q,
        committed: true,
    };
    let max = offset_query(
        admin,
        addr,
        RemotingCommand::request(request::GET_MAX_OFFSET).with_header(&max_h),
    )
    .await?;
    let min_h = GetMinOffsetRequestHeader {
        topic: topic.into(),
        queue_id: q,
    };
    let min_cmd = RemotingCommand::request(request::GET_MIN_OFFSET).with_header(&min_h);
    let mut min = offset_query(admin, addr, min_cmd).await?;
    let search = |ts: i64| SearchOffsetRequestHeader {
        topic: topic.into(),
        queue_id: q,
        timestamp: ts,
        boundary_type: None,
    };
    let mut max_out = max;
    if begin > 0 {
        let cmd = RemotingCommand::request(request::SEARCH_OFFSET_BY_TIMESTAMP).with_header(&search(begin));
        min = min.max(offset_query(admin, addr, cmd).await?);
    }
    if end > 0 && end < i64::MAX {
        let cmd = RemotingCommand::request(request::SEARCH_OFFSET_BY_TIMESTAMP).with_header(&search(end));
        max_out = max.min(offset_query(admin, addr, cmd).await? + 1);
    }
    Ok((min, max_out))
}

/// Reads `[min, max)` of each queue (at most `limit` messages in all).
#[allow(clippy::too_many_arguments)]
async fn read_queues(
    admin: &Admin,
    topic: &str,
    broker: Option<&str>,
    queue: Option<i32>,
    from: Option<i64>,
    begin: i64,
    end: i64,
    expr: &str,
    limit: usize,
) -> Result<Vec<Shown>> {
    let route = admin.route(topic).await?;
    let mut out = Vec::new();
    for qd in &route.queue_datas {
        if broker.is_some_and(|b| b != qd.broker_name) || qd.perm & perm::READ == 0 {
            continue;
        }
        let addr = read_addr(&route, &qd.broker_name)?;
        for q in 0..qd.read_queue_nums {
            if queue.is_some_and(|x| x != q) {
                continue;
            }
            let (min, max) = range(admin, &addr, topic, q, begin, end).await?;
            let mut offset = from.map_or(min, |f| f.max(min));
            while offset < max && out.len() < limit {
                let (msgs, next, more) = pull(admin, &addr, topic, q, offset, 32, expr).await?;
                out.extend(msgs.into_iter().filter(|m| m.queue_offset < max));
                if !more || next <= offset {
                    break;
                }
                offset = next;
            }
            out.truncate(limit);
        }
    }
    Ok(out)
}

fn listing(msgs: Vec<Shown>, print_body: bool) -> Output {
    let text = msgs
        .iter()
        .map(|m| {
            let body = if print_body {
                m.body.as_str()
            } else {
                "NOT PRINT BODY"
            };
            let brief: Vec<String> = m.fields[1..m.fields.len() - 1]
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            format!("MSGID: {} {} BODY: {body}", m.msg_id, brief.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n");
    Output::text(text, Value::Array(msgs.into_iter().map(|m| m.json).collect()))
}

#[derive(Debug, Args)]
pub struct ConsumeMessageArgs {
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    #[arg(short = 'b', long = "brokerName")]
    pub broker_name: Option<String>,
    #[arg(short = 'i', long = "queueId")]
    pub queue_id: Option<i32>,
    #[arg(short = 'o', long = "offset")]
    pub offset: Option<i64>,
    /// Accepted for compatibility; reads never commit offsets.
    #[arg(short = 'g', long = "consumerGroup")]
    pub consumer_group: Option<String>,
    #[arg(short = 's', long = "beginTimestamp")]
    pub begin_timestamp: Option<String>,
    #[arg(short = 'e', long = "endTimestamp")]
    pub end_timestamp: Option<String>,
    #[arg(short = 'c', long = "MessageNumber", default_value_t = 128)]
    pub message_number: usize,
}

pub async fn consume_message(admin: &Admin, a: &ConsumeMessageArgs) -> Result<Output> {
    if a.queue_id.is_some() && a.broker_name.is_none() {
        bail!("the broker name (-b) must be given with the queue (-i)");
    }
    if a.offset.is_some() && a.queue_id.is_none() {
        bail!("the queue (-i) must be given with the offset (-o)");
    }
    let begin = time_or(a.begin_timestamp.as_deref(), 0)?;
    let end = time_or(a.end_timestamp.as_deref(), 0)?;
    let msgs = read_queues(
        admin,
        &a.topic,
        a.broker_name.as_deref(),
        a.queue_id,
        a.offset,
        begin,
        end,
        "*",
        a.message_number,
    )
    .await?;
    Ok(listing(msgs, true))
}

#[derive(Debug, Args)]
pub struct PrintMsgArgs {
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    /// Only UTF-8 is supported.
    #[arg(short = 'c', long = "charsetName")]
    pub charset_name: Option<String>,
    /// Tag expression, e.g. `TagA || TagB`.
    #[arg(short = 's', long = "subExpression", default_value = "*")]
    pub sub_expression: String,
    #[arg(short = 'b', long = "beginTimestamp")]
    pub begin_timestamp: Option<String>,
    #[arg(short = 'e', long = "endTimestamp")]
    pub end_timestamp: Option<String>,
    #[arg(short = 'd', long = "printBody", default_value_t = true, action = ArgAction::Set)]
    pub print_body: bool,
}

/// printMsg's and printMsgByQueue's read: every message of the topic (or of one broker's queue)
/// stored between `-b` and `-e` that matches the tag expression, UTF-8 bodies only.
async fn print_range(
    admin: &Admin,
    topic: &str,
    queue: Option<(&str, i32)>,
    charset: Option<&str>,
    begin: Option<&str>,
    end: Option<&str>,
    expr: &str,
) -> Result<Vec<Shown>> {
    if let Some(c) = charset {
        if !c.eq_ignore_ascii_case("UTF-8") && !c.eq_ignore_ascii_case("UTF8") {
            bail!("charset {c} is not supported (UTF-8 only)");
        }
    }
    let begin = time_or(begin, 0)?;
    let end = time_or(end, 0)?;
    read_queues(
        admin,
        topic,
        queue.map(|(b, _)| b),
        queue.map(|(_, q)| q),
        None,
        begin,
        end,
        expr,
        usize::MAX,
    )
    .await
}

pub async fn print_msg(admin: &Admin, a: &PrintMsgArgs) -> Result<Output> {
    let msgs = print_range(
        admin,
        &a.topic,
        None,
        a.charset_name.as_deref(),
        a.begin_timestamp.as_deref(),
        a.end_timestamp.as_deref(),
        &a.sub_expression,
    )
    .await?;
    Ok(listing(msgs, a.print_body))
}

#[derive(Debug, Args)]
pub struct PrintMsgByQueueArgs {
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    #[arg(short = 'a', long = "brokerName")]
    pub broker_name: String,
    #[arg(short = 'i', long = "queueId")]
    pub queue_id: i32,
    /// Only UTF-8 is supported.
    #[arg(short = 'c', long = "charsetName")]
    pub charset_name: Option<String>,
    #[arg(short = 's', long = "subExpression", default_value = "*")]
    pub sub_expression: String,
    #[arg(short = 'b', long = "beginTimestamp")]
    pub begin_timestamp: Option<String>,
    #[arg(short = 'e', long = "endTimestamp")]
    pub end_timestamp: Option<String>,
    /// Print each message (default false: only the tag counts with -f).
    #[arg(short = 'p', long = "printMsg", default_value_t = false, action = ArgAction::Set)]
    pub print_msg: bool,
    #[arg(short = 'd', long = "printBody", default_value_t = false, action = ArgAction::Set)]
    pub print_body: bool,
    /// Count the messages per tag.
    #[arg(short = 'f', long = "calculate", default_value_t = false, action = ArgAction::Set)]
    pub calculate: bool,
}

/// printMsgByQueue: one queue's messages in a time range, each printed (-p) and/or counted per
/// tag (-f), as mqadmin prints them.
pub async fn print_msg_by_queue(admin: &Admin, a: &PrintMsgByQueueArgs) -> Result<Output> {
    let msgs = print_range(
        admin,
        &a.topic,
        Some((&a.broker_name, a.queue_id)),
        a.charset_name.as_deref(),
        a.begin_timestamp.as_deref(),
        a.end_timestamp.as_deref(),
        &a.sub_expression,
    )
    .await?;
    let mut counts = std::collections::BTreeMap::new();
    for m in &msgs {
        let tag = m.json["tags"].as_str().unwrap_or_default().to_owned();
        *counts.entry(tag).or_insert(0u64) += 1;
    }
    let mut text = Vec::new();
    if a.calculate {
        let mut by_count: Vec<(&String, &u64)> = counts.iter().collect();
        by_count.sort_by(|x, y| y.1.cmp(x.1).then(x.0.cmp(y.0)));
        for (tag, n) in by_count {
            text.push(format!("Tag: {tag:<30} Count: {n}"));
        }
    }
    let total = msgs.len();
    let json = json!({
        "topic": a.topic, "brokerName": a.broker_name, "queueId": a.queue_id, "count": total,
        "tags": counts, "messages": msgs.iter().map(|m| m.json.clone()).collect::<Vec<_>>(),
    });
    if a.print_msg {
        text.push(listing(msgs, a.print_body).text);
    }
    if text.is_empty() {
        text.push(format!("{total} messages"));
    }
    Ok(Output::text(text.join("\n"), json))
}
