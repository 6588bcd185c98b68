//! Trace rows: the records inside the trace topic's messages (what clients with
//! `enableMsgTrace` and a broker with `traceTopicEnable` write, [`sluice_remoting::trace`]),
//! one row per record, so "what happened to message X" is a query over the archive:
//!
//! ```sql
//! SELECT kind, "group", client_host, time, cost_ms, success
//! FROM 'archive/trace/*.parquet' WHERE msg_id = '…' ORDER BY time;
//! ```
//!
//! A segment's trace rows go to `trace/<20-digit start offset>.parquet` beside the segment's
//! message file, written only when the segment holds trace records.
//!
//! | column | Arrow type | from |
//! |---|---|---|
//! | `msg_id` | utf8 | the traced message's id (UNIQ_KEY) |
//! | `kind` | utf8 | `Pub`, `SubBefore`, `SubAfter`, `EndTransaction` |
//! | `time` | timestamp[ms, UTC], null | the record's time |
//! | `region`, `group`, `topic`, `tags`, `keys`, `store_host`, `message_type`, `offset_msg_id`, `request_id`, `transaction_id`, `transaction_state` | utf8, null when empty | the record's fields |
//! | `body_length`, `cost_ms` | int64, null | the record's fields |
//! | `success`, `from_transaction_check` | bool, null | the record's fields |
//! | `retry_times`, `context_code` | int32, null | the record's fields |
//! | `client_host` | utf8 | the born host of the trace message (who wrote the record) |
//! | `trace_topic`, `trace_commitlog_offset`, `trace_store_timestamp` | utf8, int64, timestamp[ms, UTC] | the trace message that carried it |

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use arrow_array::Array;
use arrow_array::{
    ArrayRef, BooleanArray, Int32Array, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sluice_remoting::message::sysflag;
use sluice_remoting::trace::{self, TraceKind, TraceRecord};
use sluice_storage::record::Record;

use crate::columns::Columns;
use crate::error::{io_err, ArchiveError};
use crate::schema::{timestamp_type, TIME_ZONE};

/// The subdirectory of the archive that holds trace rows.
pub const TRACE_DIR: &str = "trace";

/// The trace rows' schema.
pub fn schema() -> SchemaRef {
    let text = |name: &str| Field::new(name, DataType::Utf8, true);
    Arc::new(Schema::new(vec![
        Field::new("msg_id", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("time", timestamp_type(), true),
        text("region"),
        text("group"),
        text("topic"),
        text("tags"),
        text("keys"),
        text("store_host"),
        Field::new("body_length", DataType::Int64, true),
        Field::new("cost_ms", DataType::Int64, true),
        text("message_type"),
        text("offset_msg_id"),
        Field::new("success", DataType::Boolean, true),
        text("request_id"),
        Field::new("retry_times", DataType::Int32, true),
        Field::new("context_code", DataType::Int32, true),
        text("transaction_id"),
        text("transaction_state"),
        Field::new("from_transaction_check", DataType::Boolean, true),
        Field::new("client_host", DataType::Utf8, false),
        Field::new("trace_topic", DataType::Utf8, false),
        Field::new("trace_commitlog_offset", DataType::Int64, false),
        Field::new("trace_store_timestamp", timestamp_type(), false),
    ]))
}

/// One record and the trace message it came in (a row of the trace file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub record: TraceRecord,
    /// The trace message's born host: who wrote the record.
    pub client_host: String,
    pub trace_topic: String,
    /// The trace message's CommitLog offset.
    pub offset: i64,
    /// The trace message's store time (ms).
    pub store_timestamp: i64,
}

/// Accumulates trace rows; [`finish`](Self::finish) turns them into a batch.
#[derive(Default)]
pub struct TraceRows {
    rows: Vec<Row>,
}

impl TraceRows {
    pub fn rows(&self) -> usize {
        self.rows.len()
    }

    /// Adds the records of the trace message `r`, stored at `offset`. A body that is not
    /// UTF-8 (or does not inflate) yields no rows: a trace topic may hold anything a client
    /// sent there.
    pub fn push(&mut self, offset: u64, r: &Record<'_>) {
        let inflated;
        let body = if r.sys_flag & sysflag::COMPRESSED != 0 {
            let mut out = Vec::new();
            if flate2::read::ZlibDecoder::new(r.body)
                .read_to_end(&mut out)
                .is_err()
            {
                tracing::warn!(offset, "a trace message's compressed body does not inflate");
                return;
            }
            inflated = out;
            &inflated[..]
        } else {
            r.body
        };
        let Ok(text) = std::str::from_utf8(body) else {
            return;
        };
        for record in trace::parse(text) {
            self.rows.push(Row {
                record,
                client_host: r.born_host.to_string(),
                trace_topic: r.topic.to_owned(),
                offset: i64::try_from(offset).unwrap_or(i64::MAX),
                store_timestamp: r.store_timestamp,
            });
        }
    }

    /// The rows added so far as one batch; the builder starts over empty.
    pub fn finish(&mut self) -> Result<RecordBatch, ArchiveError> {
        let rows = std::mem::take(&mut self.rows);
        let text = |f: fn(&TraceRecord) -> &str| -> ArrayRef {
            Arc::new(
                rows.iter()
                    .map(|r| Some(f(&r.record)).filter(|v| !v.is_empty()))
                    .collect::<StringArray>(),
            )
        };
        let required = |f: fn(&Row) -> &str| -> ArrayRef {
            Arc::new(rows.iter().map(|r| Some(f(r))).collect::<StringArray>())
        };
        let time = |f: fn(&Row) -> Option<i64>| -> ArrayRef {
            Arc::new(
                rows.iter()
                    .map(f)
                    .collect::<TimestampMillisecondArray>()
                    .with_timezone(TIME_ZONE),
            )
        };
        let columns: Vec<ArrayRef> = vec![
            required(|r| &r.record.msg_id),
            required(|r| r.record.kind.name()),
            time(|r| Some(r.record.time).filter(|t| *t > 0)),
            text(|r| &r.region),
            text(|r| &r.group),
            text(|r| &r.topic),
            text(|r| &r.tags),
            text(|r| &r.keys),
            text(|r| &r.store_host),
            Arc::new(rows.iter().map(|r| r.record.body_length).collect::<Int64Array>()),
            Arc::new(rows.iter().map(|r| r.record.cost_ms).collect::<Int64Array>()),
            text(|r| &r.message_type),
            text(|r| &r.offset_msg_id),
            Arc::new(rows.iter().map(|r| r.record.success).collect::<BooleanArray>()),
            text(|r| &r.request_id),
            Arc::new(rows.iter().map(|r| r.record.retry_times).collect::<Int32Array>()),
            Arc::new(rows.iter().map(|r| r.record.context_code).collect::<Int32Array>()),
            text(|r| &r.transaction_id),
            text(|r| &r.transaction_state),
            Arc::new(
                rows.iter()
                    .map(|r| r.record.from_transaction_check)
                    .collect::<BooleanArray>(),
            ),
            required(|r| &r.client_host),
            required(|r| &r.trace_topic),
            Arc::new(rows.iter().map(|r| Some(r.offset)).collect::<Int64Array>()),
            time(|r| Some(r.store_timestamp)),
        ];
        Ok(RecordBatch::try_new(schema(), columns)?)
    }
}

/// The rows of a trace file, in file order.
pub fn read_file(path: &Path) -> Result<Vec<Row>, ArchiveError> {
    let file = File::open(path).map_err(io_err(format!("opening {}", path.display())))?;
    let mut out = Vec::new();
    for batch in ParquetRecordBatchReaderBuilder::try_new(file)?.build()? {
        out.extend(rows_of(&batch?, path)?);
    }
    Ok(out)
}

fn rows_of(batch: &RecordBatch, file: &Path) -> Result<Vec<Row>, ArchiveError> {
    let c = Columns::new(batch, file);
    let (text, times) = (|name: &str| c.utf8(name), |name: &str| c.times(name));
    let (i64s, i32s, bools) = (
        |name: &str| c.i64s(name),
        |name: &str| c.i32s(name),
        |name: &str| c.bools(name),
    );
    let (msg_id, kind, time) = (text("msg_id")?, text("kind")?, times("time")?);
    let strings = [
        "region",
        "group",
        "topic",
        "tags",
        "keys",
        "store_host",
        "message_type",
        "offset_msg_id",
        "request_id",
        "transaction_id",
        "transaction_state",
        "client_host",
        "trace_topic",
    ]
    .map(text);
    let [region, group, topic, tags, keys, store_host, message_type, offset_msg_id, request_id, transaction_id, transaction_state, client_host, trace_topic] =
        strings;
    let (region, group, topic, tags, keys) = (region?, group?, topic?, tags?, keys?);
    let (store_host, message_type, offset_msg_id, request_id) =
        (store_host?, message_type?, offset_msg_id?, request_id?);
    let (transaction_id, transaction_state, client_host, trace_topic) =
        (transaction_id?, transaction_state?, client_host?, trace_topic?);
    let (body_length, cost_ms, offset) = (
        i64s("body_length")?,
        i64s("cost_ms")?,
        i64s("trace_commitlog_offset")?,
    );
    let (retry_times, context_code) = (i32s("retry_times")?, i32s("context_code")?);
    let (success, from_check) = (bools("success")?, bools("from_transaction_check")?);
    let stored = times("trace_store_timestamp")?;
    let s = |a: &arrow_array::StringArray, i: usize| {
        if a.is_null(i) {
            String::new()
        } else {
            a.value(i).to_owned()
        }
    };
    let mut out = Vec::with_capacity(batch.num_rows());
    for i in 0..batch.num_rows() {
        let Some(kind) = TraceKind::from_name(kind.value(i)) else {
            return Err(c.bad(format!("row {i}: unknown kind {:?}", kind.value(i))));
        };
        let opt64 = |a: &arrow_array::Int64Array| (!a.is_null(i)).then(|| a.value(i));
        let opt32 = |a: &arrow_array::Int32Array| (!a.is_null(i)).then(|| a.value(i));
        let optb = |a: &BooleanArray| (!a.is_null(i)).then(|| a.value(i));
        out.push(Row {
            record: TraceRecord {
                kind,
                msg_id: s(msg_id, i),
                time: if time.is_null(i) { 0 } else { time.value(i) },
                region: s(region, i),
                group: s(group, i),
                topic: s(topic, i),
                tags: s(tags, i),
                keys: s(keys, i),
                store_host: s(store_host, i),
                body_length: opt64(body_length),
                cost_ms: opt64(cost_ms),
                message_type: s(message_type, i),
                offset_msg_id: s(offset_msg_id, i),
                success: optb(success),
                request_id: s(request_id, i),
                retry_times: opt32(retry_times),
                context_code: opt32(context_code),
                transaction_id: s(transaction_id, i),
                transaction_state: s(transaction_state, i),
                from_transaction_check: optb(from_check),
            },
            client_host: s(client_host, i),
            trace_topic: s(trace_topic, i),
            offset: offset.value(i),
            store_timestamp: stored.value(i),
        });
    }
    Ok(out)
}
