//! The append step of the write path: [`MessageToStore`] in, [`Appended`] out. Encodes a group's
//! records into one CommitLog write and hands out queue offsets under the append lock.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::dispatch::dispatches_to_queue;
use super::MessageStore;
use crate::clock;
use crate::commitlog::AppendSession;
use crate::error::StoreError;
use crate::record::{self, MessageFields, StoreStamp};

/// A message to append: what the producer sent, plus routing the broker decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageToStore {
    pub topic: String,
    pub queue_id: u32,
    pub flag: i32,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: std::net::SocketAddr,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
    pub body: Bytes,
    pub properties: String,
}

impl MessageToStore {
    /// A plain message: `body` for `topic`/`queue_id`, no flags, properties or transaction,
    /// born 1 ms after the epoch at 127.0.0.1:1. Tools and tests fill in the rest.
    pub fn plain(topic: &str, queue_id: u32, body: &str) -> MessageToStore {
        MessageToStore {
            topic: topic.into(),
            queue_id,
            flag: 0,
            sys_flag: 0,
            born_timestamp: 1,
            born_host: std::net::SocketAddr::from(([127, 0, 0, 1], 1)),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: Bytes::from(body.to_owned()),
            properties: String::new(),
        }
    }

    fn fields(&self) -> MessageFields<'_> {
        MessageFields {
            topic: &self.topic,
            queue_id: self.queue_id as i32,
            flag: self.flag,
            sys_flag: self.sys_flag,
            born_timestamp: self.born_timestamp,
            born_host: self.born_host,
            reconsume_times: self.reconsume_times,
            prepared_transaction_offset: self.prepared_transaction_offset,
            body: &self.body,
            properties: &self.properties,
        }
    }

    /// Whether the record takes a queue offset (prepared and rolled-back transactions do not).
    pub fn takes_queue_offset(&self) -> bool {
        dispatches_to_queue(self.sys_flag)
    }
}

/// Where one message landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub phys_offset: u64,
    pub size: u32,
    pub queue_offset: u64,
    pub store_timestamp: i64,
}

/// The outcome of appending a group: per unit (a single message or a batch, written
/// contiguously) either where its messages landed or why it was refused.
#[derive(Debug)]
pub struct AppendOutcome {
    pub units: Vec<Result<Vec<Appended>, StoreError>>,
    /// The end of the log after this group: durable once the flusher passes it.
    pub end_offset: u64,
}

/// Next queue offset per (topic, queue): what the append lock guards.
pub(super) type NextQueueOffsets = HashMap<String, HashMap<u32, u64>>;

impl MessageStore {
    /// Appends a group of units (each a single message or a batch written contiguously) with one
    /// write. Units that are refused (too large, bad topic…) are reported in their slot and the
    /// rest still go in. An I/O failure fails the whole group, and nothing of it is published.
    pub fn append(&self, units: &[Vec<MessageToStore>]) -> Result<AppendOutcome, StoreError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::Closed);
        }
        let mut offsets = self.queue_offsets.lock().map_err(|_| StoreError::Closed)?;
        let mut session = self.commitlog.begin()?;
        let store_host = self.config.store_host;
        let now = clock::now_millis();
        let mut results = Vec::with_capacity(units.len());
        for unit in units {
            results.push(self.append_unit(&mut session, &mut offsets, unit, now, store_host));
        }
        match session.commit() {
            Ok(end) => Ok(AppendOutcome {
                units: results,
                end_offset: end,
            }),
            Err(e) => {
                // Nothing was published: give back the queue offsets this group took.
                for (unit, res) in units.iter().zip(&results) {
                    if res.is_err() {
                        continue;
                    }
                    for m in unit.iter().filter(|m| m.takes_queue_offset()) {
                        if let Some(next) = offsets
                            .get_mut(m.topic.as_str())
                            .and_then(|q| q.get_mut(&m.queue_id))
                        {
                            *next -= 1;
                        }
                    }
                }
                Err(e)
            }
        }
    }

    /// Appends bytes replicated from a master at `offset` (see [`CommitLog::append_raw`]):
    /// the slave's write path. They are dispatched like local appends, by
    /// [`MessageStore::dispatch_to`], once whole records are there. Returns the new end.
    ///
    /// [`CommitLog::append_raw`]: crate::commitlog::CommitLog::append_raw
    pub fn append_replicated(&self, offset: u64, data: &[u8]) -> Result<u64, StoreError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::Closed);
        }
        let mut offsets = self.queue_offsets.lock().map_err(|_| StoreError::Closed)?;
        let before = self.commitlog.write_pos();
        if before == offset {
            return self.commitlog.append_raw(offset, data);
        }
        // An empty log restarting at the master's segment: dispatch starts there too.
        let _dispatch = self.dispatch_lock.lock().map_err(|_| StoreError::Closed)?;
        let end = self.commitlog.append_raw(offset, data)?;
        offsets.clear();
        self.dispatched.store(offset, Ordering::Release);
        Ok(end)
    }

    fn append_unit(
        &self,
        session: &mut AppendSession<'_>,
        offsets: &mut NextQueueOffsets,
        unit: &[MessageToStore],
        now: i64,
        store_host: std::net::SocketAddr,
    ) -> Result<Vec<Appended>, StoreError> {
        let max = self.config.max_message_size;
        let mut lens = Vec::with_capacity(unit.len());
        for m in unit {
            if m.body.len() > max {
                return Err(StoreError::MessageTooLarge {
                    size: m.body.len(),
                    max,
                });
            }
            crate::consume_queue::check_topic_dir_name(&m.topic)?;
            lens.push(record::encoded_len(&m.fields(), store_host)?);
        }
        let total: usize = lens.iter().sum();
        if unit.len() > 1 && total > max {
            return Err(StoreError::MessageTooLarge { size: total, max });
        }
        let mut phys = session.reserve(total)?;
        let mut out = Vec::with_capacity(unit.len());
        for (m, len) in unit.iter().zip(lens) {
            let queue_offset = if m.takes_queue_offset() {
                let per_topic = match offsets.get_mut(m.topic.as_str()) {
                    Some(p) => p,
                    None => offsets.entry(m.topic.clone()).or_default(),
                };
                let next = match per_topic.get_mut(&m.queue_id) {
                    Some(n) => n,
                    None => per_topic
                        .entry(m.queue_id)
                        .or_insert_with(|| self.max_queue_offset(&m.topic, m.queue_id)),
                };
                let qo = *next;
                *next += 1;
                qo
            } else {
                0
            };
            let stamp = StoreStamp {
                queue_offset: queue_offset as i64,
                physical_offset: phys as i64,
                store_timestamp: now,
                store_host,
            };
            record::encode(session.buffer(), &m.fields(), &stamp, None)?;
            out.push(Appended {
                phys_offset: phys,
                size: len as u32,
                queue_offset,
                store_timestamp: now,
            });
            phys += len as u64;
        }
        Ok(out)
    }
}
