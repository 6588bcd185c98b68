//! The dispatch step of the write path: records read back from the CommitLog become
//! ConsumeQueue units and index entries. [`MessageStore::dispatch_to`] runs it after appends;
//! recovery replays `dispatch_record` over the log's tail.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::MessageStore;
use crate::commitlog::{ScanError, ScanStep};
use crate::config::StoreConfig;
use crate::consume_queue::{ConsumeQueue, CqUnit};
use crate::error::StoreError;
use crate::hash::tags_code;
use crate::index::IndexService;
use crate::properties::names;
use crate::record::{self, sysflag, CrcCheck, DecodeError, Record};
use crate::system_topics;

/// A queue whose max offset moved during a dispatch (long polls on it can be woken).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueAdvance {
    pub topic: String,
    pub queue_id: u32,
    pub max_offset: u64,
}

/// Finds (creating) the ConsumeQueue of (topic, queue id) during a dispatch.
pub(super) type QueueLookup<'a> = dyn FnMut(&str, u32) -> Result<Arc<ConsumeQueue>, StoreError> + 'a;

/// CQ units gathered during one dispatch, per queue: (queue, first offset, units).
pub(super) type PendingUnits = Vec<(Arc<ConsumeQueue>, u64, Vec<CqUnit>)>;

/// Whether a record with this sys flag goes into its ConsumeQueue (and so takes a queue offset):
/// prepared and rolled-back transaction messages do not.
pub(super) fn dispatches_to_queue(sys_flag: i32) -> bool {
    matches!(
        sysflag::transaction_type(sys_flag),
        sysflag::TRANSACTION_NOT_TYPE | sysflag::TRANSACTION_COMMIT
    )
}

/// The ConsumeQueue tags code of a stored record: the tag hash, except in the topics where
/// messages wait for a time, where it is the delivery time in ms (protocol.md §5.1, §5.2).
fn cq_tags_code(config: &StoreConfig, r: &Record<'_>) -> i64 {
    if r.topic == system_topics::SCHEDULE_TOPIC {
        let delay = config
            .delay_of_level(r.queue_id + 1)
            .unwrap_or_default()
            .as_millis() as i64;
        return r.store_timestamp.saturating_add(delay);
    }
    if r.topic == system_topics::TIMER_TOPIC {
        return r
            .property(names::TIMER_OUT_MS)
            .and_then(|v| v.parse().ok())
            .unwrap_or(r.store_timestamp);
    }
    tags_code(r.property(names::TAGS))
}

impl MessageStore {
    /// Writes ConsumeQueue units and index entries for every record appended below `limit` (or
    /// below a higher limit an earlier call asked for) and below the
    /// [dispatch bound](Self::set_dispatch_bound), not yet dispatched. Returns the queues that
    /// advanced.
    pub fn dispatch_to(&self, limit: u64) -> Result<Vec<QueueAdvance>, StoreError> {
        let _guard = self.dispatch_lock.lock().map_err(|_| StoreError::Closed)?;
        let wanted = self.dispatch_wanted.fetch_max(limit, Ordering::AcqRel).max(limit);
        let limit = wanted
            .min(self.commitlog.write_pos())
            .min(self.dispatch_bound.load(Ordering::Acquire));
        let mut pos = self.dispatched.load(Ordering::Acquire);
        if pos >= limit {
            return Ok(Vec::new());
        }
        let corrupted = |offset: u64, reason: DecodeError| StoreError::Corrupted {
            offset,
            file: self.commitlog.dir().to_path_buf(),
            reason,
        };
        let mut pending: PendingUnits = Vec::new();
        let mut index = self.index.lock().map_err(|_| StoreError::Closed)?;
        let mut queue = |t: &str, q: u32| self.queue_or_create(t, q);
        let mut last_ts = None;
        while pos < limit {
            match self.commitlog.scan_at(pos, CrcCheck::Skip) {
                Ok(Some(ScanStep::SkipTo(next))) => pos = next,
                Ok(Some(ScanStep::Record { offset, slice })) => {
                    let r = record::decode_message(&slice, CrcCheck::Skip)
                        .map_err(|reason| corrupted(offset, reason))?;
                    if offset + r.total_size as u64 > limit {
                        break; // past the bound: the record waits whole
                    }
                    Self::dispatch_record(&mut queue, &mut pending, &mut index, &self.config, offset, &r)?;
                    last_ts = Some(r.store_timestamp);
                    pos = offset + r.total_size as u64;
                }
                Ok(None) => break,
                Err(ScanError::Zeros) => break,
                Err(ScanError::Decode(reason)) => return Err(corrupted(pos, reason)),
            }
        }
        drop(index);
        let advances = pending
            .iter()
            .map(|(cq, start, units)| QueueAdvance {
                topic: cq.topic().to_owned(),
                queue_id: cq.queue_id(),
                max_offset: start + units.len() as u64,
            })
            .collect();
        Self::write_pending(&mut pending)?;
        if let Some(ts) = last_ts {
            self.last_dispatched_timestamp.store(ts, Ordering::Release);
        }
        self.dispatched.store(pos, Ordering::Release);
        Ok(advances)
    }

    /// Gathers the ConsumeQueue unit of the record at `offset` into `pending` and puts its keys
    /// into the index.
    pub(super) fn dispatch_record(
        queue: &mut QueueLookup<'_>,
        pending: &mut PendingUnits,
        index: &mut IndexService,
        config: &StoreConfig,
        offset: u64,
        r: &Record<'_>,
    ) -> Result<(), StoreError> {
        let index_enabled = config.message_index_enable;
        if dispatches_to_queue(r.sys_flag) {
            let unit = CqUnit {
                phys_offset: offset as i64,
                size: r.total_size as i32,
                tags_code: cq_tags_code(config, r),
            };
            let qid = r.queue_id as u32;
            let qo = r.queue_offset as u64;
            let slot = pending.iter_mut().rev().find(|(cq, start, units)| {
                cq.queue_id() == qid && cq.topic() == r.topic && start + units.len() as u64 == qo
            });
            match slot {
                Some((_, _, units)) => units.push(unit),
                None => {
                    let cq = queue(r.topic, qid)?;
                    pending.push((cq, qo, vec![unit]));
                }
            }
        }
        if index_enabled && sysflag::transaction_type(r.sys_flag) != sysflag::TRANSACTION_ROLLBACK {
            index.put_message(
                r.topic,
                r.property(names::UNIQ_KEY),
                r.property(names::KEYS),
                offset as i64,
                r.store_timestamp,
            )?;
        }
        Ok(())
    }

    /// Writes the gathered units to their ConsumeQueues.
    pub(super) fn write_pending(pending: &mut PendingUnits) -> Result<(), StoreError> {
        for (cq, start, units) in pending.drain(..) {
            cq.put(start, &units)?;
        }
        Ok(())
    }

    /// Everything below this CommitLog offset has been dispatched to queues and indexes.
    /// Keeps dispatch (ConsumeQueues, indexes, and so every reader) below `bound` until it is
    /// moved again; `u64::MAX` lifts it. A record straddling the bound waits whole. Moving it
    /// dispatches nothing by itself: the caller's next [`dispatch_to`](Self::dispatch_to) does.
    /// Returns whether the bound changed.
    pub fn set_dispatch_bound(&self, bound: u64) -> bool {
        self.dispatch_bound.swap(bound, Ordering::AcqRel) != bound
    }

    pub fn dispatched_offset(&self) -> u64 {
        self.dispatched.load(Ordering::Acquire)
    }

    /// Waits up to `timeout` for `offset` to be dispatched (tests, tools).
    pub fn wait_dispatched(&self, offset: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.dispatched_offset() < offset {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use crate::{MessageStore, MessageToStore, StoreConfig};

    fn msg(body: &str) -> MessageToStore {
        MessageToStore::plain("T", 0, body)
    }

    #[test]
    fn dispatch_stops_at_the_bound_and_a_straddling_record_waits_whole() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = StoreConfig {
            store_path_root_dir: dir.path().to_path_buf(),
            ..StoreConfig::default()
        };
        c.set("maxHashSlotNum", "64").unwrap();
        c.set("maxIndexNum", "256").unwrap();
        let store = MessageStore::open(c).unwrap();
        let first = store.append(&[vec![msg("a")]]).unwrap().end_offset;
        let end = store
            .append(&[vec![msg("b")], vec![msg("c")]])
            .unwrap()
            .end_offset;
        // A bound inside the second record: only the first is dispatched.
        store.set_dispatch_bound(first + 10);
        store.dispatch_to(end).unwrap();
        assert_eq!(store.max_queue_offset("T", 0), 1);
        assert_eq!(store.dispatched_offset(), first);
        // Lifted: the rest follows on the next dispatch, whatever limit that one names.
        store.set_dispatch_bound(u64::MAX);
        store.dispatch_to(0).unwrap();
        assert_eq!(store.max_queue_offset("T", 0), 3);
        assert_eq!(store.dispatched_offset(), end);
    }
}
