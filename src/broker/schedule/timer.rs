//! Timers at any time (protocol.md §5.2): a timer message is appended to `rmq_sys_wheel_timer`
//! queue 0 with its due time as the tags code. This stream indexes that queue into the RocksDB
//! column family `timers`, keyed by (due ms, CommitLog offset) — a persisted, sorted wheel:
//! what is due is a prefix, found with one seek, however many timers wait. Indexing moves the
//! `timer:indexed` cursor in the same atomic write as the entries; delivered entries are deleted
//! after their messages are acknowledged, so a crash re-delivers at most one step.

use sluice_storage::meta::TimerEntry;
use sluice_storage::system_topics::TIMER_TOPIC;
use sluice_storage::MessageStore;

use super::{rebuild, with_record, Reentered, Reentry, Step};

const INDEXED: &str = "timer:indexed";
/// Units indexed per write.
const INDEX_STEP: usize = 4096;
/// Timers delivered per step at most.
const STEP: usize = 512;

pub struct Timers {
    /// Next timer-queue offset to index.
    indexed: u64,
    /// No pending timer is due before this (the seek start; delivered keys lie below it).
    floor: u64,
}

impl Timers {
    pub fn load(store: &MessageStore) -> Timers {
        let indexed = store
            .meta()
            .schedule_progress(INDEXED)
            .ok()
            .flatten()
            .unwrap_or(0);
        Timers { indexed, floor: 0 }
    }

    /// Pending timers (RocksDB's estimate).
    pub fn pending_estimate(store: &MessageStore) -> u64 {
        store.meta().timers_estimate()
    }

    /// Indexes new timer messages; true if more remain.
    fn index_new(&mut self, store: &MessageStore) -> bool {
        let Some(cq) = store.consume_queue(TIMER_TOPIC, 0) else {
            return false;
        };
        let start = self.indexed.max(cq.min_offset());
        let end = cq.max_offset().min(start + INDEX_STEP as u64);
        if start >= end {
            return false;
        }
        let entries: Vec<TimerEntry> = (start..end)
            .filter_map(|o| cq.get(o))
            .map(|u| TimerEntry {
                due_ms: u.tags_code.max(0) as u64,
                phys_offset: u.phys_offset as u64,
                size: u.size as u32,
            })
            .collect();
        match store.meta().add_timers(&entries, INDEXED, end) {
            Ok(()) => {
                if let Some(min) = entries.iter().map(|e| e.due_ms).min() {
                    self.floor = self.floor.min(min);
                }
                self.indexed = end;
                end < cq.max_offset()
            }
            Err(e) => {
                tracing::error!(error = %e, "indexing timers failed");
                false
            }
        }
    }

    /// Indexes new timers and delivers the due ones.
    pub fn run(&mut self, store: &MessageStore, reentry: &Reentry, now: i64) -> Step {
        let more_to_index = self.index_new(store);
        let now_ms = now.max(0) as u64;
        let (due, next) = match store.meta().due_timers(self.floor, now_ms, STEP) {
            Ok(x) => x,
            Err(e) => {
                tracing::error!(error = %e, "reading due timers failed");
                return Step::Retry;
            }
        };
        let after = match next {
            Some(t) => Step::DueAt(t.due_ms as i64),
            None => Step::Idle,
        };
        let after = if more_to_index { Step::More } else { after };
        if due.is_empty() {
            return after;
        }
        let mut units = Vec::new();
        let mut present = Vec::with_capacity(due.len());
        for t in &due {
            match with_record(store, t.phys_offset, rebuild::delivered) {
                Ok(Some(m)) => {
                    units.push(vec![m]);
                    present.push(true);
                }
                Ok(None) | Err(_) => {
                    tracing::warn!(
                        offset = t.phys_offset,
                        "timer message unreadable or without REAL_TOPIC; dropped"
                    );
                    present.push(false);
                }
            }
        }
        let mut outcomes = reentry.put_all(units).into_iter();
        let mut done = Vec::with_capacity(due.len());
        let mut stalled = false;
        for (t, present) in due.iter().zip(present) {
            if present {
                match outcomes.next() {
                    Some(Reentered::Retry) | None => {
                        stalled = true;
                        break;
                    }
                    Some(Reentered::Refused(why)) => {
                        tracing::warn!(offset = t.phys_offset, why, "timer message refused; dropped")
                    }
                    Some(Reentered::Stored(_)) => {}
                }
            }
            done.push(*t);
        }
        if let Err(e) = store.meta().remove_timers(&done) {
            tracing::error!(error = %e, "removing delivered timers failed");
            return Step::Retry;
        }
        if let Some(last) = done.last() {
            self.floor = self.floor.max(last.due_ms);
        }
        if stalled {
            Step::Retry
        } else if done.len() >= STEP {
            Step::More
        } else {
            after
        }
    }
}
