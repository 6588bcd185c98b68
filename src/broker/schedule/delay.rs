//! Delay levels (protocol.md §5.1): one stream per level over `SCHEDULE_TOPIC_XXXX` queue
//! level − 1. A level's messages all wait the same time, so its ConsumeQueue is in due order
//! and its tags codes are the due times: only the head of each level is ever looked at.
//! Progress (the next queue offset per level) is kept in RocksDB as `delay:<level>`.

use sluice_storage::system_topics::SCHEDULE_TOPIC;
use sluice_storage::MessageStore;

use super::{rebuild, with_record, Reentry, Step};

/// Messages delivered per level per step at most.
const STEP: usize = 256;

fn progress_name(level: i32) -> String {
    format!("delay:{level}")
}

/// Each level's next queue offset, as delayOffset.json holds it (level → offset): what a
/// master answers GET_ALL_DELAY_OFFSET with.
pub fn offsets(store: &MessageStore) -> Vec<(i32, u64)> {
    let levels = store.config().max_delay_level().max(0);
    (1..=levels)
        .map(|level| {
            let next = store
                .meta()
                .schedule_progress(&progress_name(level))
                .ok()
                .flatten();
            (level, next.unwrap_or(0))
        })
        .collect()
}

/// Records a master's delay offsets on a slave (a slave runs no scheduler; should it become
/// the master, delivery resumes from here).
pub fn set_offsets(store: &MessageStore, offsets: &[(i32, u64)]) {
    for (level, next) in offsets {
        let _ = store.meta().put_schedule_progress(&progress_name(*level), *next);
    }
}

/// The per-level cursors.
pub struct DelayLevels {
    /// Next queue offset to deliver, per level (index = level − 1).
    next: Vec<u64>,
}

impl DelayLevels {
    pub fn load(store: &MessageStore) -> DelayLevels {
        let levels = store.config().max_delay_level().max(0);
        let next = (1..=levels)
            .map(|level| {
                store
                    .meta()
                    .schedule_progress(&progress_name(level))
                    .ok()
                    .flatten()
                    .unwrap_or(0)
            })
            .collect();
        DelayLevels { next }
    }

    /// Persists every cursor (also done after each step).
    pub fn persist(&self, store: &MessageStore) {
        for (i, next) in self.next.iter().enumerate() {
            let _ = store
                .meta()
                .put_schedule_progress(&progress_name(i as i32 + 1), *next);
        }
    }

    /// Delivers what is due in every level.
    pub fn run(&mut self, store: &MessageStore, reentry: &Reentry, now: i64) -> Step {
        let mut step = Step::Idle;
        for i in 0..self.next.len() {
            step = step.min(self.run_level(store, reentry, i, now));
        }
        step
    }

    fn run_level(&mut self, store: &MessageStore, reentry: &Reentry, i: usize, now: i64) -> Step {
        let level = i as i32 + 1;
        let Some(cq) = store.consume_queue(SCHEDULE_TOPIC, i as u32) else {
            return Step::Idle;
        };
        let delay_ms = store
            .config()
            .delay_of_level(level)
            .unwrap_or_default()
            .as_millis() as i64;
        let start = self.next[i].max(cq.min_offset());
        let end = cq.max_offset();
        let mut offset = start;
        // (queue offset, the unit to re-enter or None to pass over)
        let mut due = Vec::new();
        let mut result = Step::Idle;
        while offset < end && due.len() < STEP {
            let Some(unit) = cq.get(offset) else {
                due.push((offset, None));
                offset += 1;
                continue;
            };
            // A due time further ahead than the level's delay means the clock went back.
            let at = if unit.tags_code > now + delay_ms {
                now
            } else {
                unit.tags_code
            };
            if at > now {
                result = Step::DueAt(at);
                break;
            }
            let msg = with_record(store, unit.phys_offset as u64, rebuild::delivered);
            match msg {
                Ok(Some(m)) => due.push((offset, Some(vec![m]))),
                Ok(None) => {
                    tracing::warn!(level, offset, "delayed message without REAL_TOPIC; passed over");
                    due.push((offset, None));
                }
                Err(e) => {
                    tracing::warn!(level, offset, error = %e, "delayed message unreadable; passed over");
                    due.push((offset, None));
                }
            }
            offset += 1;
        }
        if due.is_empty() {
            return result;
        }
        let capped = due.len() >= STEP;
        let (offsets, units): (Vec<u64>, Vec<Option<Vec<_>>>) = due.into_iter().unzip();
        let present: Vec<bool> = units.iter().map(Option::is_some).collect();
        let mut outcomes = reentry.put_all(units.into_iter().flatten().collect()).into_iter();
        let mut done = start;
        for (off, present) in offsets.into_iter().zip(present) {
            if present {
                match outcomes.next() {
                    Some(o) if o.is_settled() => {
                        if let super::Reentered::Refused(why) = o {
                            tracing::warn!(level, offset = off, why, "delayed message refused; passed over");
                        }
                    }
                    _ => {
                        self.save(store, i, done);
                        return Step::Retry;
                    }
                }
            }
            done = off + 1;
        }
        self.save(store, i, done);
        if capped {
            Step::More
        } else {
            result
        }
    }

    fn save(&mut self, store: &MessageStore, i: usize, next: u64) {
        if next != self.next[i] {
            self.next[i] = next;
            if let Err(e) = store
                .meta()
                .put_schedule_progress(&progress_name(i as i32 + 1), next)
            {
                tracing::error!(error = %e, "saving delay progress failed");
            }
        }
    }
}
