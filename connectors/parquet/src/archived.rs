//! Archive rows back as messages: an owned [`ArchivedMessage`] per row, and its stored record
//! re-encoded byte for byte (the answer to QUERY_MESSAGE / VIEW_MESSAGE_BY_ID for a message whose
//! segment is gone).

use std::fs::File;
use std::net::SocketAddr;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use arrow_array::{Array, ArrayAccessor, RecordBatch};
use parquet::arrow::arrow_reader::{ArrowPredicateFn, ParquetRecordBatchReaderBuilder, RowFilter};
use parquet::arrow::ProjectionMask;
use sluice_storage::properties::push_verbatim;
use sluice_storage::record::{self, MessageFields, StoreStamp};

use crate::columns::Columns;
use crate::error::{io_err, ArchiveError};
use crate::schema;

/// One archived message, every field of its stored record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedMessage {
    pub msg_id: Option<String>,
    pub offset_msg_id: String,
    pub topic: String,
    pub system_topic: bool,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub commitlog_offset: i64,
    pub born_timestamp: i64,
    pub store_timestamp: i64,
    pub born_host: SocketAddr,
    pub store_host: SocketAddr,
    pub sys_flag: i32,
    pub flag: i32,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
    pub tags: Option<String>,
    pub keys: Option<String>,
    /// The property string as stored.
    pub properties: String,
    pub body: Vec<u8>,
}

impl ArchivedMessage {
    /// The stored record, as it was in the CommitLog.
    pub fn encode(&self) -> Result<Vec<u8>, ArchiveError> {
        let fields = MessageFields {
            topic: &self.topic,
            queue_id: self.queue_id,
            flag: self.flag,
            sys_flag: self.sys_flag,
            born_timestamp: self.born_timestamp,
            born_host: self.born_host,
            reconsume_times: self.reconsume_times,
            prepared_transaction_offset: self.prepared_transaction_offset,
            body: &self.body,
            properties: &self.properties,
        };
        let stamp = StoreStamp {
            queue_offset: self.queue_offset,
            physical_offset: self.commitlog_offset,
            store_timestamp: self.store_timestamp,
            store_host: self.store_host,
        };
        let mut out = Vec::new();
        record::encode(&mut out, &fields, &stamp, None).map_err(sluice_storage::StoreError::from)?;
        Ok(out)
    }

    /// Whether `key` is this message's UNIQ_KEY or one of its KEYS.
    pub fn has_key(&self, key: &str) -> bool {
        self.msg_id.as_deref() == Some(key)
            || self
                .keys
                .as_deref()
                .is_some_and(|ks| sluice_storage::properties::split_keys(ks).any(|k| k == key))
    }
}

/// The messages of one batch read from `file`.
pub fn messages_of(batch: &RecordBatch, file: &Path) -> Result<Vec<ArchivedMessage>, ArchiveError> {
    let c = Columns::new(batch, file);
    let msg_id = c.utf8(schema::MSG_ID)?;
    let offset_msg_id = c.utf8(schema::OFFSET_MSG_ID)?;
    let topic = c
        .column(schema::TOPIC)?
        .as_dictionary_opt::<Int32Type>()
        .and_then(|d| d.downcast_dict::<arrow_array::StringArray>())
        .ok_or_else(|| c.bad("column topic is not dictionary<int32, utf8>"))?;
    let system_topic = c.bools(schema::SYSTEM_TOPIC)?;
    let queue_id = c.i32s(schema::QUEUE_ID)?;
    let queue_offset = c.i64s(schema::QUEUE_OFFSET)?;
    let commitlog_offset = c.i64s(schema::COMMITLOG_OFFSET)?;
    let born_timestamp = c.times(schema::BORN_TIMESTAMP)?;
    let store_timestamp = c.times(schema::STORE_TIMESTAMP)?;
    let born_host = c.utf8(schema::BORN_HOST)?;
    let store_host = c.utf8(schema::STORE_HOST)?;
    let sys_flag = c.i32s(schema::SYS_FLAG)?;
    let flag = c.i32s(schema::FLAG)?;
    let reconsume_times = c.i32s(schema::RECONSUME_TIMES)?;
    let prepared = c.i64s(schema::PREPARED_TRANSACTION_OFFSET)?;
    let tags = c.utf8(schema::TAGS)?;
    let keys = c.utf8(schema::KEYS)?;
    let properties = c
        .column(schema::PROPERTIES)?
        .as_map_opt()
        .ok_or_else(|| c.bad("column properties is not a map"))?;
    let properties_raw = c.utf8(schema::PROPERTIES_RAW)?;
    let body = c
        .column(schema::BODY)?
        .as_binary_opt::<i32>()
        .ok_or_else(|| c.bad("column body is not binary"))?;
    let opt = |a: &arrow_array::StringArray, i: usize| (!a.is_null(i)).then(|| a.value(i).to_owned());
    let host = |a: &arrow_array::StringArray, i: usize| {
        a.value(i)
            .parse::<SocketAddr>()
            .map_err(|_| c.bad(format!("bad host {:?}", a.value(i))))
    };
    let mut out = Vec::with_capacity(batch.num_rows());
    for i in 0..batch.num_rows() {
        let props = if properties_raw.is_null(i) {
            let entries = properties.value(i);
            let names = entries.column(0).as_string_opt::<i32>();
            let values = entries.column(1).as_string_opt::<i32>();
            let (Some(names), Some(values)) = (names, values) else {
                return Err(c.bad("properties entries are not utf8"));
            };
            let mut s = String::new();
            for j in 0..names.len() {
                push_verbatim(&mut s, names.value(j), values.value(j));
            }
            s
        } else {
            properties_raw.value(i).to_owned()
        };
        out.push(ArchivedMessage {
            msg_id: opt(msg_id, i),
            offset_msg_id: offset_msg_id.value(i).to_owned(),
            topic: topic.value(i).to_owned(),
            system_topic: system_topic.value(i),
            queue_id: queue_id.value(i),
            queue_offset: queue_offset.value(i),
            commitlog_offset: commitlog_offset.value(i),
            born_timestamp: born_timestamp.value(i),
            store_timestamp: store_timestamp.value(i),
            born_host: host(born_host, i)?,
            store_host: host(store_host, i)?,
            sys_flag: sys_flag.value(i),
            flag: flag.value(i),
            reconsume_times: reconsume_times.value(i),
            prepared_transaction_offset: prepared.value(i),
            tags: opt(tags, i),
            keys: opt(keys, i),
            properties: props,
            body: body.value(i).to_vec(),
        });
    }
    Ok(out)
}

/// Every message of the archive file `path`.
pub fn read_file(path: &Path) -> Result<Vec<ArchivedMessage>, ArchiveError> {
    read_where(path, &[], |_: &RecordBatch| Ok(Vec::new()), None)
}

/// The messages of `path` whose rows pass `keep`, evaluated on the columns named in `columns`
/// only (so bodies of rows that do not pass are never decoded); at most `limit`.
pub fn read_where<F>(
    path: &Path,
    columns: &[&str],
    keep: F,
    limit: Option<usize>,
) -> Result<Vec<ArchivedMessage>, ArchiveError>
where
    F: FnMut(&RecordBatch) -> Result<Vec<bool>, ArchiveError> + Send + 'static,
{
    let file = File::open(path).map_err(io_err(format!("opening {}", path.display())))?;
    let mut builder = ParquetRecordBatchReaderBuilder::try_new(file)?;
    if !columns.is_empty() {
        let mask = ProjectionMask::columns(builder.parquet_schema(), columns.iter().copied());
        let mut keep = keep;
        let predicate = ArrowPredicateFn::new(mask, move |batch: RecordBatch| {
            let flags = keep(&batch).map_err(|e| arrow_schema::ArrowError::ExternalError(Box::new(e)))?;
            Ok(arrow_array::BooleanArray::from(flags))
        });
        builder = builder.with_row_filter(RowFilter::new(vec![Box::new(predicate)]));
    }
    if let Some(limit) = limit {
        builder = builder.with_limit(limit);
    }
    let mut out = Vec::new();
    for batch in builder.build()? {
        out.extend(messages_of(&batch?, path)?);
    }
    Ok(out)
}
