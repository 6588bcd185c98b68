//! queryMsgTraceById: a message's life as its clients traced it (`enableMsgTrace`): the trace
//! messages in the trace topic (`RMQ_SYS_TRACE_TOPIC` unless `-t`) are indexed by the traced
//! message's id, and each carries records of the clients' trace format — records end with
//! `\x02`, fields are separated by `\x01`, the first field names the record:
//!
//! | record | fields after the type |
//! |---|---|
//! | `Pub` | time, region, producer group, topic, msgId, tags, keys, store host, body length, cost ms, message type, offsetMsgId, success |
//! | `SubBefore` | time, region, consumer group, request id, msgId, retry times, keys |
//! | `SubAfter` | request id, msgId, cost ms, success, keys, context code, time, consumer group |
//! | `EndTransaction` | time, region, producer group, topic, msgId, tags, keys, store host, message type, transaction id, state, from a check |
//!
//! The client host of a record is the born host of the trace message that carried it.

use anyhow::Result;
use clap::Args;
use serde_json::{json, Value};

use super::message::query_index;
use super::output::{Output, Table};
use super::Admin;

/// Where clients send their traces unless the broker says otherwise (`msgTraceTopicName`).
pub const DEFAULT_TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";

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

fn field(f: &[&str], i: usize) -> String {
    f.get(i).copied().unwrap_or_default().to_owned()
}

fn number(f: &[&str], i: usize) -> i64 {
    f.get(i).and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn success(v: &str) -> String {
    if v.eq_ignore_ascii_case("true") {
        "success".into()
    } else {
        "failed".into()
    }
}

/// The records about `msg_id` in one trace message's body.
pub fn decode(body: &str, msg_id: &str, client_host: &str) -> Vec<TraceRow> {
    let mut out = Vec::new();
    for record in body.split('\u{2}').filter(|r| !r.is_empty()) {
        let f: Vec<&str> = record.split('\u{1}').collect();
        let row = |kind: &str, group, time, cost_ms, status, topic, tags, keys| TraceRow {
            kind: kind.to_owned(),
            group,
            client_host: client_host.to_owned(),
            time,
            cost_ms,
            status,
            topic,
            tags,
            keys,
        };
        let (id, r) = match f.first().copied().unwrap_or_default() {
            "Pub" => (
                field(&f, 5),
                row(
                    "Pub",
                    field(&f, 3),
                    number(&f, 1),
                    number(&f, 10),
                    success(&field(&f, 13)),
                    field(&f, 4),
                    field(&f, 6),
                    field(&f, 7),
                ),
            ),
            "SubBefore" => (
                field(&f, 5),
                row(
                    "SubBefore",
                    field(&f, 3),
                    number(&f, 1),
                    0,
                    format!("retry {}", field(&f, 6)),
                    String::new(),
                    String::new(),
                    field(&f, 7),
                ),
            ),
            "SubAfter" => (
                field(&f, 2),
                row(
                    "SubAfter",
                    field(&f, 8),
                    number(&f, 7),
                    number(&f, 3),
                    success(&field(&f, 4)),
                    String::new(),
                    String::new(),
                    field(&f, 5),
                ),
            ),
            "EndTransaction" => (
                field(&f, 5),
                row(
                    "EndTransaction",
                    field(&f, 3),
                    number(&f, 1),
                    0,
                    field(&f, 11),
                    field(&f, 4),
                    field(&f, 6),
                    field(&f, 7),
                ),
            ),
            _ => continue,
        };
        if id == msg_id {
            out.push(r);
        }
    }
    out
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
