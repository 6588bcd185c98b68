//! Transactional messages (protocol.md §6): half messages wait in `RMQ_SYS_TRANS_HALF_TOPIC`
//! queue 0 until END_TRANSACTION commits or rolls them back. The op-state of each half message
//! (pending with its check count, or how it ended) lives in RocksDB (`transaction_state`, keyed
//! by half-queue offset); every end also appends an op record to `RMQ_SYS_TRANS_OP_HALF_TOPIC`
//! in the same unit as the committed message, so a crash between the two writes is repaired by
//! replaying op records. The [`Checker`] walks the half queue every `transactionCheckInterval`
//! and sends CHECK_TRANSACTION_STATE for half messages older than `transactionTimeOut`
//! (or `CHECK_IMMUNITY_TIME_IN_SECONDS`); after `transactionCheckMax` checks a half message is
//! copied to `TRANS_CHECK_MAX_TIME_TOPIC` and dropped. Check requests describe the original half
//! message (its half-queue offset and CommitLog offset), which END_TRANSACTION then names.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sluice_storage::meta::MetaStore;
use sluice_storage::properties::names;
use sluice_storage::record::{self, MessageFields, Record, StoreStamp};
use sluice_storage::system_topics::{HALF_TOPIC, OP_HALF_TOPIC, TRANS_CHECK_MAX_TIME_TOPIC};
use sluice_storage::{MessageStore, StoreError};

use super::{rebuild, with_record, Reentered, Reentry, ScheduleConfig};

/// The op-state of one half message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxState {
    /// Waiting for END_TRANSACTION; `checks` CHECK_TRANSACTION_STATE sent so far.
    Pending {
        checks: u32,
    },
    Committed,
    RolledBack,
    /// Ended, known from an op record only.
    Ended,
    /// Dropped after `transactionCheckMax` checks (or too old).
    Discarded,
}

impl TxState {
    fn encode(self) -> [u8; 5] {
        let (kind, checks) = match self {
            TxState::Pending { checks } => (0u8, checks),
            TxState::Committed => (8, 0),
            TxState::RolledBack => (12, 0),
            TxState::Ended => (2, 0),
            TxState::Discarded => (1, 0),
        };
        let mut out = [0u8; 5];
        out[0] = kind;
        out[1..].copy_from_slice(&checks.to_be_bytes());
        out
    }

    fn decode(b: &[u8]) -> TxState {
        let checks = b
            .get(1..5)
            .and_then(|c| c.try_into().ok())
            .map(u32::from_be_bytes)
            .unwrap_or(0);
        match b.first() {
            Some(8) => TxState::Committed,
            Some(12) => TxState::RolledBack,
            Some(2) => TxState::Ended,
            Some(1) => TxState::Discarded,
            _ => TxState::Pending { checks },
        }
    }

    pub fn is_ended(self) -> bool {
        !matches!(self, TxState::Pending { .. })
    }
}

/// Op-state of half messages, shared by the END_TRANSACTION handler and the checker.
pub struct TransactionLog {
    meta: Arc<MetaStore>,
    /// Every half message below this offset has ended (their states are deleted).
    settled_below: AtomicU64,
    /// Half offsets an END_TRANSACTION (or a discard) is working on right now.
    ending: Mutex<HashSet<u64>>,
}

/// Held while one half message is being ended; releases it on drop.
pub struct EndGuard<'a> {
    log: &'a TransactionLog,
    half_offset: u64,
}

impl Drop for EndGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut e) = self.log.ending.lock() {
            e.remove(&self.half_offset);
        }
    }
}

impl TransactionLog {
    pub fn new(meta: Arc<MetaStore>) -> TransactionLog {
        let settled = meta.schedule_progress(HALF_PROGRESS).ok().flatten().unwrap_or(0);
        TransactionLog {
            meta,
            settled_below: AtomicU64::new(settled),
            ending: Mutex::new(HashSet::new()),
        }
    }

    pub fn state(&self, half_offset: u64) -> Result<TxState, StoreError> {
        if half_offset < self.settled_below.load(Ordering::Acquire) {
            return Ok(TxState::Ended);
        }
        Ok(self
            .meta
            .transaction_state(half_offset)?
            .map(|b| TxState::decode(&b))
            .unwrap_or(TxState::Pending { checks: 0 }))
    }

    pub fn set(&self, half_offset: u64, state: TxState) -> Result<(), StoreError> {
        self.meta.put_transaction_state(half_offset, &state.encode())
    }

    /// Claims `half_offset` for ending; `None` while another request holds it.
    pub fn claim(&self, half_offset: u64) -> Option<EndGuard<'_>> {
        let mut e = self.ending.lock().ok()?;
        // Lazily: a guard built for a refused claim would be dropped here, locking `ending`
        // again while this guard of it is held (a deadlock), and release the holder's claim.
        e.insert(half_offset).then(|| EndGuard {
            log: self,
            half_offset,
        })
    }
}

/// A CHECK_TRANSACTION_STATE to send to a producer of `producer_group`.
#[derive(Debug, Clone)]
pub struct CheckRequest {
    pub producer_group: String,
    /// Half-queue offset (`tranStateTableOffset`).
    pub half_offset: u64,
    /// CommitLog offset of the half message (`commitLogOffset`).
    pub commit_log_offset: u64,
    /// UNIQ_KEY (`msgId`).
    pub msg_id: Option<String>,
    /// `transactionId` (`__transactionId__`, else UNIQ_KEY).
    pub transaction_id: Option<String>,
    pub real_topic: String,
    /// The half message re-encoded with its real topic and queue (§3.10).
    pub body: Vec<u8>,
}

/// Sends a check to a live producer of the group; false when none is connected.
pub type CheckBack = Arc<dyn Fn(CheckRequest) -> bool + Send + Sync>;

const HALF_PROGRESS: &str = "trans:half";
const OP_PROGRESS: &str = "trans:op";

/// The periodic half-queue walk.
pub struct Checker {
    config: ScheduleConfig,
    /// First half offset not known to be ended.
    half_next: u64,
    /// Next op record to replay.
    op_next: u64,
}

fn check_request(r: &Record<'_>, half_offset: u64, phys: u64) -> Option<CheckRequest> {
    let (topic, queue_id) = rebuild::real_destination(r)?;
    let mut fields: MessageFields<'_> = r.fields();
    fields.topic = &topic;
    fields.queue_id = queue_id as i32;
    let stamp = StoreStamp {
        queue_offset: half_offset as i64,
        physical_offset: phys as i64,
        store_timestamp: r.store_timestamp,
        store_host: r.store_host,
    };
    let mut body = Vec::new();
    record::encode(&mut body, &fields, &stamp, None).ok()?;
    let uniq = r.property(names::UNIQ_KEY).map(str::to_owned);
    Some(CheckRequest {
        producer_group: r.property(names::PGROUP).unwrap_or_default().to_owned(),
        half_offset,
        commit_log_offset: phys,
        transaction_id: r
            .property(names::TRANSACTION_ID)
            .map(str::to_owned)
            .or_else(|| uniq.clone()),
        msg_id: uniq,
        real_topic: topic,
        body,
    })
}

impl Checker {
    pub fn load(store: &MessageStore, config: ScheduleConfig) -> Checker {
        let get = |n| store.meta().schedule_progress(n).ok().flatten().unwrap_or(0);
        Checker {
            config,
            half_next: get(HALF_PROGRESS),
            op_next: get(OP_PROGRESS),
        }
    }

    /// Marks half messages ended by op records appended since the last round.
    fn replay_ops(&mut self, store: &MessageStore, log: &TransactionLog) {
        let Some(cq) = store.consume_queue(OP_HALF_TOPIC, 0) else {
            return;
        };
        let start = self.op_next.max(cq.min_offset());
        let end = cq.max_offset();
        for o in start..end {
            let Some(u) = cq.get(o) else { continue };
            let offsets: Vec<u64> = with_record(store, u.phys_offset as u64, |r| {
                rebuild::op_offsets(r.body).collect()
            })
            .unwrap_or_default();
            for half in offsets {
                if matches!(log.state(half), Ok(TxState::Pending { .. })) {
                    let _ = log.set(half, TxState::Ended);
                }
            }
        }
        if end > self.op_next {
            self.op_next = end;
            let _ = store.meta().put_schedule_progress(OP_PROGRESS, end);
        }
    }

    /// One walk of the half queue.
    pub fn round(
        &mut self,
        store: &MessageStore,
        reentry: &Reentry,
        log: &TransactionLog,
        check_back: &CheckBack,
        now: i64,
    ) {
        self.replay_ops(store, log);
        let Some(cq) = store.consume_queue(HALF_TOPIC, 0) else {
            return;
        };
        let start = self.half_next.max(cq.min_offset());
        let end = cq.max_offset();
        let timeout = self.config.transaction_timeout.as_millis() as i64;
        let reserved_ms = store.live().file_reserved_time_hours as i64 * 3_600_000;
        let mut prefix_ended = true;
        let mut next = start;
        for off in start..end {
            let state = match log.state(off) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "reading transaction state failed");
                    break;
                }
            };
            if state.is_ended() {
                if prefix_ended {
                    next = off + 1;
                }
                continue;
            }
            let TxState::Pending { checks } = state else {
                continue;
            };
            let Some(unit) = cq.get(off) else {
                if prefix_ended {
                    next = off + 1;
                }
                continue;
            };
            let phys = unit.phys_offset as u64;
            let Ok(Some((born, immunity_s, request, copy))) = with_record(store, phys, |r| {
                let immunity = r
                    .property(names::CHECK_IMMUNITY_TIME_IN_SECONDS)
                    .and_then(|v| v.trim().parse::<i64>().ok());
                let mut copy = rebuild::copy_of(r);
                copy.topic = TRANS_CHECK_MAX_TIME_TOPIC.into();
                copy.queue_id = 0;
                check_request(r, off, phys).map(|req| (r.born_timestamp, immunity, req, copy))
            }) else {
                // Unreadable (aged out) or malformed: nothing can ever end it.
                let _ = log.set(off, TxState::Discarded);
                if prefix_ended {
                    next = off + 1;
                }
                continue;
            };
            let age = now - born;
            let immunity = immunity_s.map_or(timeout, |s| s.saturating_mul(1000).max(timeout));
            if age <= immunity {
                prefix_ended = false;
                if immunity_s.is_some() {
                    continue;
                }
                break;
            }
            let Some(_guard) = log.claim(off) else {
                prefix_ended = false;
                continue;
            };
            if checks >= self.config.transaction_check_max || age > reserved_ms {
                match reentry.put(vec![copy]) {
                    Reentered::Retry => {
                        prefix_ended = false;
                        continue;
                    }
                    _ => {
                        tracing::info!(
                            half_offset = off,
                            checks,
                            "half message discarded after its last check"
                        );
                        let _ = log.set(off, TxState::Discarded);
                        if prefix_ended {
                            next = off + 1;
                        }
                        continue;
                    }
                }
            }
            prefix_ended = false;
            let _ = log.set(off, TxState::Pending { checks: checks + 1 });
            if !check_back(request) {
                tracing::debug!(
                    half_offset = off,
                    "no producer of the group is connected for a check"
                );
            }
        }
        if next > self.half_next {
            self.half_next = next;
            if store.meta().put_schedule_progress(HALF_PROGRESS, next).is_ok() {
                log.settled_below.store(next, Ordering::Release);
                let _ = store.meta().delete_transaction_states_below(next);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trip() {
        for s in [
            TxState::Pending { checks: 7 },
            TxState::Committed,
            TxState::RolledBack,
            TxState::Ended,
            TxState::Discarded,
        ] {
            assert_eq!(TxState::decode(&s.encode()), s);
        }
        assert_eq!(TxState::decode(&[]), TxState::Pending { checks: 0 });
    }

    /// A second claim of a half offset that is being ended is refused, without blocking and
    /// without releasing the first claim (it once deadlocked: the refused claim's guard was
    /// dropped while `ending` was locked).
    #[test]
    fn a_refused_claim_neither_blocks_nor_releases_the_holder() {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = Arc::new(TransactionLog::new(Arc::new(
            MetaStore::open(dir.path()).expect("meta store"),
        )));
        let (tx, rx) = std::sync::mpsc::channel();
        let l = log.clone();
        std::thread::spawn(move || {
            let first = l.claim(7);
            let second = l.claim(7).is_some();
            let third = l.claim(7).is_some();
            drop(first);
            let after = l.claim(7).is_some();
            let _ = tx.send((second, third, after));
        });
        let got = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("claim blocked (deadlock)");
        assert_eq!(got, (false, false, true));
    }
}
