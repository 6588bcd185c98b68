//! Reads for consumers: a batch of messages from a queue offset with tag filtering and RocketMQ's
//! batch limits (protocol.md §4.11), queue offset by store time, earliest store time.

use crate::consume_queue::{CqUnit, UNIT_LEN};
use crate::error::StoreError;
use crate::record::{self, CrcCheck};
use crate::segment::SegmentSlice;
use crate::store::MessageStore;

/// RocketMQ's `GetMessageStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetMessageStatus {
    Found,
    NoMatchedMessage,
    MessageWasRemoving,
    OffsetFoundNull,
    OffsetOverflowBadly,
    OffsetOverflowOne,
    OffsetTooSmall,
    NoMatchedLogicQueue,
    NoMessageInQueue,
}

/// The answer to a read: stored records (zero-copy) and where the consumer goes next.
#[derive(Debug)]
pub struct GetMessageResult {
    pub status: GetMessageStatus,
    pub messages: Vec<SegmentSlice>,
    pub next_begin_offset: u64,
    pub min_offset: u64,
    pub max_offset: u64,
    /// The last message read was far behind the log's end (cold): read from a slave if any.
    pub suggest_pulling_from_slave: bool,
}

impl GetMessageResult {
    /// Total bytes of the records found.
    pub fn bytes(&self) -> usize {
        self.messages.iter().map(|m| m.len()).sum()
    }
}

impl MessageStore {
    /// Reads up to `max_msgs` messages of (topic, queue) from `offset`, keeping those whose tags
    /// code `filter` accepts.
    pub fn get_messages(
        &self,
        topic: &str,
        queue_id: u32,
        offset: u64,
        max_msgs: usize,
        filter: &dyn Fn(i64) -> bool,
    ) -> GetMessageResult {
        self.get_messages_matching(topic, queue_id, offset, max_msgs, filter, &|_| true)
    }

    /// [`get_messages`](Self::get_messages) with a second check on each stored record that
    /// passed `by_tags_code` (RocketMQ's `isMatchedByCommitLog`: SQL92 over its properties).
    /// Records it refuses are skipped and count against no limit.
    pub fn get_messages_matching(
        &self,
        topic: &str,
        queue_id: u32,
        offset: u64,
        max_msgs: usize,
        by_tags_code: &dyn Fn(i64) -> bool,
        by_record: &dyn Fn(&[u8]) -> bool,
    ) -> GetMessageResult {
        let mut res = GetMessageResult {
            status: GetMessageStatus::NoMatchedLogicQueue,
            messages: Vec::new(),
            next_begin_offset: 0,
            min_offset: 0,
            max_offset: 0,
            suggest_pulling_from_slave: false,
        };
        let Some(cq) = self.consume_queue(topic, queue_id) else {
            res.status = GetMessageStatus::NoMessageInQueue;
            return res;
        };
        let (min, max) = (cq.min_offset(), cq.max_offset());
        res.min_offset = min;
        res.max_offset = max;
        if max == 0 {
            res.status = GetMessageStatus::NoMessageInQueue;
            return res;
        }
        if offset < min {
            res.status = GetMessageStatus::OffsetTooSmall;
            res.next_begin_offset = min;
            return res;
        }
        if offset == max {
            res.status = GetMessageStatus::OffsetOverflowOne;
            res.next_begin_offset = offset;
            return res;
        }
        if offset > max {
            res.status = GetMessageStatus::OffsetOverflowBadly;
            res.next_begin_offset = max;
            return res;
        }
        let max_msgs = max_msgs.max(1);
        let scan_units = (16_000usize / UNIT_LEN as usize).max(max_msgs);
        let mut units: Vec<CqUnit> = Vec::new();
        cq.read(offset, scan_units, &mut units);
        if units.is_empty() {
            // The unit's file is gone: continue at the next file.
            let upf = self.config().consume_queue_units_per_file();
            res.status = GetMessageStatus::OffsetFoundNull;
            res.next_begin_offset = (offset / upf + 1) * upf;
            return res;
        }
        let log_end = self.commitlog().write_pos();
        let cfg = self.config();
        let mut status = GetMessageStatus::NoMatchedMessage;
        let mut bytes = 0usize;
        let mut scanned = 0u64;
        let mut last_phys = 0u64;
        for u in &units {
            let phys = u.phys_offset as u64;
            let hot = log_end.saturating_sub(phys) <= self.hot_bytes;
            let (max_bytes, max_count) = if hot {
                (
                    cfg.max_transfer_bytes_on_message_in_memory,
                    cfg.max_transfer_count_on_message_in_memory,
                )
            } else {
                (
                    cfg.max_transfer_bytes_on_message_in_disk,
                    cfg.max_transfer_count_on_message_in_disk,
                )
            };
            let n = res.messages.len();
            if n > 0 && (n >= max_msgs || bytes + u.size as usize > max_bytes || n >= max_count) {
                break;
            }
            scanned += 1;
            last_phys = phys;
            if u.is_blank() || !by_tags_code(u.tags_code) {
                continue;
            }
            match self.commitlog().read(phys, u.size as usize) {
                Ok(slice) if !by_record(&slice) => {}
                Ok(slice) => {
                    bytes += slice.len();
                    res.messages.push(slice);
                    status = GetMessageStatus::Found;
                }
                Err(_) => {
                    if res.messages.is_empty() {
                        status = GetMessageStatus::MessageWasRemoving;
                    }
                }
            }
        }
        res.status = status;
        res.next_begin_offset = offset + scanned;
        res.suggest_pulling_from_slave = log_end.saturating_sub(last_phys) > self.hot_bytes;
        res
    }

    fn store_time_of(&self, u: &CqUnit) -> Option<i64> {
        let slice = self
            .commitlog()
            .read(u.phys_offset as u64, u.size as usize)
            .ok()?;
        record::store_timestamp_at(&slice).ok()
    }

    /// The first queue offset whose message was stored at or after `timestamp` (ms); the max
    /// offset if every message is older, the min offset if every message is newer.
    pub fn search_offset_by_timestamp(&self, topic: &str, queue_id: u32, timestamp: i64) -> u64 {
        let Some(cq) = self.consume_queue(topic, queue_id) else {
            return 0;
        };
        let (mut lo, mut hi) = (cq.min_offset(), cq.max_offset());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let ts = cq.get(mid).and_then(|u| self.store_time_of(&u));
            match ts {
                Some(t) if t >= timestamp => hi = mid,
                Some(_) => lo = mid + 1,
                // A unit whose message is gone counts as older.
                None => lo = mid + 1,
            }
        }
        lo
    }

    /// Store time of the first readable message of (topic, queue).
    pub fn earliest_message_time(&self, topic: &str, queue_id: u32) -> Option<i64> {
        let cq = self.consume_queue(topic, queue_id)?;
        let u = cq.get(cq.min_offset())?;
        self.store_time_of(&u)
    }

    /// Store time of the message at a queue offset.
    pub fn message_store_time(&self, topic: &str, queue_id: u32, offset: u64) -> Option<i64> {
        let u = self.consume_queue(topic, queue_id)?.get(offset)?;
        self.store_time_of(&u)
    }

    /// The record at a CommitLog offset (VIEW_MESSAGE_BY_ID), CRC-checked.
    pub fn read_message_at(&self, phys_offset: u64) -> Result<SegmentSlice, StoreError> {
        self.commitlog().read_record(phys_offset, CrcCheck::Verify)
    }
}
