//! The archive's columns. One row per stored message; every field of the stored record is kept
//! (the body CRC and magic are recomputed from the body and topic), so a row re-encodes to the
//! record's exact bytes ([`crate::archived`]).
//!
//! | column | Arrow type | from the record |
//! |---|---|---|
//! | `msg_id` | utf8, null | property `UNIQ_KEY` |
//! | `offset_msg_id` | utf8 | store host + CommitLog offset (protocol.md §3.7) |
//! | `topic` | dictionary<int32, utf8> | TOPIC |
//! | `system_topic` | bool | the broker's own topic ([`crate::system`]) |
//! | `queue_id`, `queue_offset`, `commitlog_offset` | int32, int64, int64 | QUEUEID, QUEUEOFFSET, PHYSICALOFFSET |
//! | `born_timestamp`, `store_timestamp` | timestamp[ms, UTC] | BORNTIMESTAMP, STORETIMESTAMP |
//! | `born_host`, `store_host` | utf8 `ip:port` / `[ip6]:port` | BORNHOST, STOREHOSTADDRESS |
//! | `sys_flag`, `flag`, `reconsume_times` | int32 | SYSFLAG, FLAG, RECONSUMETIMES |
//! | `prepared_transaction_offset` | int64 | PREPARED TRANSACTION OFFSET |
//! | `tags`, `keys` | utf8, null | properties `TAGS`, `KEYS` |
//! | `properties` | map<utf8, utf8> | PROPERTIES, entries in stored order |
//! | `properties_raw` | utf8, null | PROPERTIES only when the map does not re-encode to it |
//! | `body` | binary | BODY as stored (compressed when SYSFLAG bit 0 is set) |

use std::sync::Arc;

use arrow_array::builder::{MapBuilder, StringBuilder};
use arrow_array::Array;
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

pub const MSG_ID: &str = "msg_id";
pub const OFFSET_MSG_ID: &str = "offset_msg_id";
pub const TOPIC: &str = "topic";
pub const SYSTEM_TOPIC: &str = "system_topic";
pub const QUEUE_ID: &str = "queue_id";
pub const QUEUE_OFFSET: &str = "queue_offset";
pub const COMMITLOG_OFFSET: &str = "commitlog_offset";
pub const BORN_TIMESTAMP: &str = "born_timestamp";
pub const STORE_TIMESTAMP: &str = "store_timestamp";
pub const BORN_HOST: &str = "born_host";
pub const STORE_HOST: &str = "store_host";
pub const SYS_FLAG: &str = "sys_flag";
pub const FLAG: &str = "flag";
pub const RECONSUME_TIMES: &str = "reconsume_times";
pub const PREPARED_TRANSACTION_OFFSET: &str = "prepared_transaction_offset";
pub const TAGS: &str = "tags";
pub const KEYS: &str = "keys";
pub const PROPERTIES: &str = "properties";
pub const PROPERTIES_RAW: &str = "properties_raw";
pub const BODY: &str = "body";

/// The time zone of the timestamp columns.
pub const TIME_ZONE: &str = "UTC";

/// The type of the `properties` column, exactly as [`MapBuilder`] produces it.
pub fn properties_type() -> DataType {
    MapBuilder::new(None, StringBuilder::new(), StringBuilder::new())
        .finish()
        .data_type()
        .clone()
}

/// The type of the timestamp columns.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some(TIME_ZONE.into()))
}

/// The archive's schema.
pub fn schema() -> SchemaRef {
    let utf8 = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
    Arc::new(Schema::new(vec![
        utf8(MSG_ID, true),
        utf8(OFFSET_MSG_ID, false),
        Field::new(
            TOPIC,
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            false,
        ),
        Field::new(SYSTEM_TOPIC, DataType::Boolean, false),
        Field::new(QUEUE_ID, DataType::Int32, false),
        Field::new(QUEUE_OFFSET, DataType::Int64, false),
        Field::new(COMMITLOG_OFFSET, DataType::Int64, false),
        Field::new(BORN_TIMESTAMP, timestamp_type(), false),
        Field::new(STORE_TIMESTAMP, timestamp_type(), false),
        utf8(BORN_HOST, false),
        utf8(STORE_HOST, false),
        Field::new(SYS_FLAG, DataType::Int32, false),
        Field::new(FLAG, DataType::Int32, false),
        Field::new(RECONSUME_TIMES, DataType::Int32, false),
        Field::new(PREPARED_TRANSACTION_OFFSET, DataType::Int64, false),
        utf8(TAGS, true),
        utf8(KEYS, true),
        Field::new(PROPERTIES, properties_type(), false),
        utf8(PROPERTIES_RAW, true),
        Field::new(BODY, DataType::Binary, false),
    ]))
}
