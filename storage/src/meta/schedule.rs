//! Column families `schedule_progress` and `timers`: how far each schedule stream (a delay
//! level, the timer wheel…) has read (u64 BE under the stream's name), and the pending timers
//! keyed `due-ms(u64 BE) phys-offset(u64 BE)` with the record size (u32 BE) as value. Adding
//! timers moves their stream's progress in the same write.

use rocksdb::{Direction, IteratorMode, WriteBatch};

use super::MetaStore;
use crate::error::StoreError;

pub const CF_SCHEDULE_PROGRESS: &str = "schedule_progress";
pub const CF_TIMERS: &str = "timers";

/// A pending timer: a record in the timer topic and when it is due. Keys sort by due time, so
/// the due ones are a prefix of the column family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimerEntry {
    pub due_ms: u64,
    pub phys_offset: u64,
    pub size: u32,
}

impl TimerEntry {
    fn key(&self) -> [u8; 16] {
        let mut k = [0u8; 16];
        k[..8].copy_from_slice(&self.due_ms.to_be_bytes());
        k[8..].copy_from_slice(&self.phys_offset.to_be_bytes());
        k
    }

    fn from_kv(k: &[u8], v: &[u8]) -> Result<TimerEntry, StoreError> {
        let bad = || StoreError::MetaValue {
            key: "timer".into(),
            reason: format!("key of {} bytes, value of {}", k.len(), v.len()),
        };
        let due: [u8; 8] = k.get(..8).and_then(|b| b.try_into().ok()).ok_or_else(bad)?;
        let phys: [u8; 8] = k.get(8..16).and_then(|b| b.try_into().ok()).ok_or_else(bad)?;
        let size: [u8; 4] = v.try_into().map_err(|_| bad())?;
        Ok(TimerEntry {
            due_ms: u64::from_be_bytes(due),
            phys_offset: u64::from_be_bytes(phys),
            size: u32::from_be_bytes(size),
        })
    }
}

impl MetaStore {
    /// Records progress of a schedule stream (a delay level, the timer wheel…).
    pub fn put_schedule_progress(&self, name: &str, offset: u64) -> Result<(), StoreError> {
        self.put_u64(CF_SCHEDULE_PROGRESS, name.as_bytes(), offset)
    }

    pub fn schedule_progress(&self, name: &str) -> Result<Option<u64>, StoreError> {
        self.get_u64(CF_SCHEDULE_PROGRESS, name.as_bytes(), name)
    }

    /// Adds timers and moves the progress named `progress` to `next` in one atomic write, so a
    /// crash leaves either both or neither.
    pub fn add_timers(&self, timers: &[TimerEntry], progress: &str, next: u64) -> Result<(), StoreError> {
        let cf = self.cf(CF_TIMERS)?;
        let mut batch = WriteBatch::default();
        for t in timers {
            batch.put_cf(cf, t.key(), t.size.to_be_bytes());
        }
        batch.put_cf(
            self.cf(CF_SCHEDULE_PROGRESS)?,
            progress.as_bytes(),
            next.to_be_bytes(),
        );
        self.db.write(batch)?;
        Ok(())
    }

    /// Up to `limit` timers due at or before `now_ms`, earliest first, starting the search at
    /// `from_ms` (every timer before it is known to be gone), and the first timer not yet due.
    pub fn due_timers(
        &self,
        from_ms: u64,
        now_ms: u64,
        limit: usize,
    ) -> Result<(Vec<TimerEntry>, Option<TimerEntry>), StoreError> {
        let mut due = Vec::new();
        let start = from_ms.to_be_bytes();
        let iter = self.db.iterator_cf(
            self.cf(CF_TIMERS)?,
            IteratorMode::From(&start, Direction::Forward),
        );
        for item in iter {
            let (k, v) = item?;
            let t = TimerEntry::from_kv(&k, &v)?;
            if t.due_ms > now_ms {
                return Ok((due, Some(t)));
            }
            due.push(t);
            if due.len() >= limit {
                break;
            }
        }
        Ok((due, None))
    }

    /// Removes delivered timers.
    pub fn remove_timers(&self, timers: &[TimerEntry]) -> Result<(), StoreError> {
        let cf = self.cf(CF_TIMERS)?;
        let mut batch = WriteBatch::default();
        for t in timers {
            batch.delete_cf(cf, t.key());
        }
        self.db.write(batch)?;
        Ok(())
    }

    /// RocksDB's estimate of the pending timers.
    pub fn timers_estimate(&self) -> u64 {
        self.cf(CF_TIMERS)
            .ok()
            .and_then(|cf| {
                self.db
                    .property_int_value_cf(cf, "rocksdb.estimate-num-keys")
                    .ok()
                    .flatten()
            })
            .unwrap_or(0)
    }
}
