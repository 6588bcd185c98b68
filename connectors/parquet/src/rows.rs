//! Stored records → Arrow record batches in the archive's [`schema`](crate::schema).

use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Int32Builder, Int64Builder, MapBuilder, StringBuilder,
    StringDictionaryBuilder, TimestampMillisecondBuilder,
};
use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use sluice_storage::msgid::offset_msg_id;
use sluice_storage::properties::{names, verbatim_entries};
use sluice_storage::record::Record;

use crate::error::ArchiveError;
use crate::schema::{self, TIME_ZONE};
use crate::system::is_system_topic;

/// Accumulates rows; [`finish`](Self::finish) turns them into a batch.
pub struct BatchBuilder {
    schema: SchemaRef,
    rows: usize,
    body_bytes: usize,
    msg_id: StringBuilder,
    offset_msg_id: StringBuilder,
    topic: StringDictionaryBuilder<Int32Type>,
    system_topic: BooleanBuilder,
    queue_id: Int32Builder,
    queue_offset: Int64Builder,
    commitlog_offset: Int64Builder,
    born_timestamp: TimestampMillisecondBuilder,
    store_timestamp: TimestampMillisecondBuilder,
    born_host: StringBuilder,
    store_host: StringBuilder,
    sys_flag: Int32Builder,
    flag: Int32Builder,
    reconsume_times: Int32Builder,
    prepared_transaction_offset: Int64Builder,
    tags: StringBuilder,
    keys: StringBuilder,
    properties: MapBuilder<StringBuilder, StringBuilder>,
    properties_raw: StringBuilder,
    body: BinaryBuilder,
}

impl Default for BatchBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl BatchBuilder {
    pub fn new() -> BatchBuilder {
        BatchBuilder {
            schema: schema::schema(),
            rows: 0,
            body_bytes: 0,
            msg_id: StringBuilder::new(),
            offset_msg_id: StringBuilder::new(),
            topic: StringDictionaryBuilder::new(),
            system_topic: BooleanBuilder::new(),
            queue_id: Int32Builder::new(),
            queue_offset: Int64Builder::new(),
            commitlog_offset: Int64Builder::new(),
            born_timestamp: TimestampMillisecondBuilder::new().with_timezone(TIME_ZONE),
            store_timestamp: TimestampMillisecondBuilder::new().with_timezone(TIME_ZONE),
            born_host: StringBuilder::new(),
            store_host: StringBuilder::new(),
            sys_flag: Int32Builder::new(),
            flag: Int32Builder::new(),
            reconsume_times: Int32Builder::new(),
            prepared_transaction_offset: Int64Builder::new(),
            tags: StringBuilder::new(),
            keys: StringBuilder::new(),
            properties: MapBuilder::new(None, StringBuilder::new(), StringBuilder::new()),
            properties_raw: StringBuilder::new(),
            body: BinaryBuilder::new(),
        }
    }

    /// Rows added since the last [`finish`](Self::finish).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Body bytes added since the last [`finish`](Self::finish).
    pub fn body_bytes(&self) -> usize {
        self.body_bytes
    }

    /// Adds the record stored at `offset`.
    pub fn push(&mut self, offset: u64, r: &Record<'_>) -> Result<(), ArchiveError> {
        self.msg_id.append_option(r.property(names::UNIQ_KEY));
        self.offset_msg_id
            .append_value(offset_msg_id(r.store_host, offset));
        self.topic.append(r.topic)?;
        self.system_topic.append_value(is_system_topic(r.topic));
        self.queue_id.append_value(r.queue_id);
        self.queue_offset.append_value(r.queue_offset);
        self.commitlog_offset.append_value(r.physical_offset);
        self.born_timestamp.append_value(r.born_timestamp);
        self.store_timestamp.append_value(r.store_timestamp);
        self.born_host.append_value(r.born_host.to_string());
        self.store_host.append_value(r.store_host.to_string());
        self.sys_flag.append_value(r.sys_flag);
        self.flag.append_value(r.flag);
        self.reconsume_times.append_value(r.reconsume_times);
        self.prepared_transaction_offset
            .append_value(r.prepared_transaction_offset);
        self.tags.append_option(r.property(names::TAGS));
        self.keys.append_option(r.property(names::KEYS));
        let (entries, exact) = verbatim_entries(r.properties);
        for (name, value) in entries {
            self.properties.keys().append_value(name);
            self.properties.values().append_value(value);
        }
        self.properties.append(true)?;
        self.properties_raw
            .append_option((!exact).then_some(r.properties));
        self.body.append_value(r.body);
        self.rows += 1;
        self.body_bytes += r.body.len();
        Ok(())
    }

    /// The rows added so far as one batch; the builder starts over empty.
    pub fn finish(&mut self) -> Result<RecordBatch, ArchiveError> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.msg_id.finish()),
            Arc::new(self.offset_msg_id.finish()),
            Arc::new(self.topic.finish()),
            Arc::new(self.system_topic.finish()),
            Arc::new(self.queue_id.finish()),
            Arc::new(self.queue_offset.finish()),
            Arc::new(self.commitlog_offset.finish()),
            Arc::new(self.born_timestamp.finish()),
            Arc::new(self.store_timestamp.finish()),
            Arc::new(self.born_host.finish()),
            Arc::new(self.store_host.finish()),
            Arc::new(self.sys_flag.finish()),
            Arc::new(self.flag.finish()),
            Arc::new(self.reconsume_times.finish()),
            Arc::new(self.prepared_transaction_offset.finish()),
            Arc::new(self.tags.finish()),
            Arc::new(self.keys.finish()),
            Arc::new(self.properties.finish()),
            Arc::new(self.properties_raw.finish()),
            Arc::new(self.body.finish()),
        ];
        self.rows = 0;
        self.body_bytes = 0;
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }
}
