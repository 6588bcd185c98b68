//! queryMsgTraceById: a message's life as its clients traced it (`enableMsgTrace`): the trace
//! messages in the trace topic (`RMQ_SYS_TRACE_TOPIC` unless `-t`) are indexed by the traced
//! message's id, and their bodies hold records of the clients' trace format
//! ([`sluice_remoting::trace`]). The client host of a record is the born host of the trace
//! message that carried it.

use anyhow::Result;
use clap::Args;
use serde_json::{json, Value};
use sluice_remoting::trace::{self, TraceKind};

use super::message::query_index;
use super::output::{Output, Table};
use super::Admin;

/// Where clients send their traces unless the broker says otherwise (`msgTraceTopicName`).
pub const DEFAULT_TRACE_TOPIC: &str = trace::DEFAULT_TOPIC;

#[derive(Debug, Args)]
pub struct QueryMsgTraceByIdArgs {
    /// The traced message's id (its UNIQ_KEY, what the client's send result calls msgId).
    #[arg(short = 'i', long = "msgId")]
    pub msg_id: String,
    /// The trace topic.
    #[arg(short = 't', long = "traceTopic", default_value = DEFAULT_TRACE_TOPIC)]
    pub trace_topic: String,
}

/// One trace record about the message.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceRow {
    pub kind: String,
    pub group: String,
    pub client_host: String,
    /// ms since the epoch (0 when the record has none).
    pub time: i64,
    pub cost_ms: i64,
    pub status: String,
    pub topic: String,
    pub tags: String,
    pub keys: String,
}

fn success(v: Option<bool>) -> String {
    if v == Some(true) {
        "success".into()
    } else {
        "failed".into()
    }
}

/// The records about `msg_id` in one trace message's body.
pub fn decode(body: &str, msg_id: &str, client_host: &str) -> Vec<TraceRow> {
    trace::parse(body)
        .into_iter()
        .filter(|r| r.msg_id == msg_id)
        .map(|r| TraceRow {
            kind: r.kind.name().to_owned(),
            status: match r.kind {
                TraceKind::Pub | TraceKind::SubAfter => success(r.success),
                TraceKind::SubBefore => format!("retry {}", r.retry_times.unwrap_or(0)),
                TraceKind::EndTransaction => r.transaction_state,
            },
            group: r.group,
            client_host: client_host.to_owned(),
            time: r.time,
            cost_ms: r.cost_ms.unwrap_or(0),
            topic: r.topic,
            tags: r.tags,
            keys: r.keys,
        })
        .collect()
}

pub async fn query_msg_trace_by_id(admin: &Admin, a: &QueryMsgTraceByIdArgs) -> Result<Output> {
    let traces = query_index(admin, &a.trace_topic, &a.msg_id, 64, 0, i64::MAX, false).await?;
    let mut rows: Vec<TraceRow> = traces
        .iter()
        .flat_map(|t| {
            let host = t.json["bornHost"].as_str().unwrap_or_default().to_owned();
            decode(&t.body, &a.msg_id, &host)
        })
        .collect();
    rows.sort_by_key(|r| r.time);
    rows.dedup();
    let mut t = Table::new(&[
        "#Type",
        "#Group",
        "#ClientHost",
        "#Time",
        "#CostTimes",
        "#Status",
        "#Topic",
        "#Tags",
        "#Keys",
    ]);
    let mut json_rows = Vec::new();
    for r in &rows {
        t.row(vec![
            r.kind.clone(),
            r.group.clone(),
            r.client_host.clone(),
            super::format_timestamp(r.time),
            format!("{}ms", r.cost_ms),
            r.status.clone(),
            r.topic.clone(),
            r.tags.clone(),
            r.keys.clone(),
        ]);
        json_rows.push(json!({
            "type": r.kind, "group": r.group, "clientHost": r.client_host, "time": r.time,
            "costMs": r.cost_ms, "status": r.status, "topic": r.topic, "tags": r.tags, "keys": r.keys,
        }));
    }
    Ok(Output::text(t.render(), Value::Array(json_rows)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_about_the_message_are_decoded_and_others_skipped() {
        let body = [
            "Pub\u{1}1700000000000\u{1}DefaultRegion\u{1}pg\u{1}T\u{1}ID1\u{1}TagA\u{1}k1\u{1}127.0.0.1:10911\u{1}12\u{1}3\u{1}0\u{1}OFF1\u{1}true\u{2}",
            "Pub\u{1}1700000000001\u{1}DefaultRegion\u{1}pg\u{1}T\u{1}ID2\u{1}TagA\u{1}k2\u{1}127.0.0.1:10911\u{1}12\u{1}3\u{1}0\u{1}OFF2\u{1}true\u{2}",
            "SubBefore\u{1}1700000000100\u{1}DefaultRegion\u{1}cg\u{1}req\u{1}ID1\u{1}0\u{1}k1\u{2}",
            "SubAfter\u{1}req\u{1}ID1\u{1}7\u{1}false\u{1}k1\u{1}1\u{1}1700000000107\u{1}cg\u{2}",
        ]
        .concat();
        let rows = decode(&body, "ID1", "10.0.0.1:5000");
        let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
        assert_eq!(kinds, ["Pub", "SubBefore", "SubAfter"]);
        assert_eq!(
            (rows[0].group.as_str(), rows[0].cost_ms, rows[0].status.as_str()),
            ("pg", 3, "success")
        );
        assert_eq!((rows[0].topic.as_str(), rows[0].tags.as_str()), ("T", "TagA"));
        assert_eq!(
            (rows[2].group.as_str(), rows[2].cost_ms, rows[2].status.as_str()),
            ("cg", 7, "failed")
        );
        assert_eq!(rows[2].time, 1_700_000_000_107);
        assert!(rows.iter().all(|r| r.client_host == "10.0.0.1:5000"));
        // Truncated or unknown records do not panic.
        assert!(decode("Pub\u{1}x\u{2}Other\u{1}ID1\u{2}", "ID1", "h").is_empty());
    }
}
