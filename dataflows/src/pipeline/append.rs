//! Stage (B), "append": each epoch's queued units are written to the CommitLog as one group;
//! the epoch's replies wait in the ack table until the "durable" probe after this stage passes
//! it. The stage holds a capability for the epoch until the group is as safe as the broker
//! promises: under SYNC_FLUSH until the flusher reports it durable (or `syncFlushTimeout`
//! passes: FLUSH_DISK_TIMEOUT), on a SYNC_MASTER until a slave reports having it (or
//! `slaveTimeout` passes: FLUSH_SLAVE_TIMEOUT; no slave able to take it: SLAVE_NOT_AVAILABLE at
//! once) — both when both apply — so one fdatasync and one slave report answer the whole group.
//! An epoch of units its callers appended themselves (ASYNC_FLUSH) passes straight through to
//! dispatch.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_storage::{FlushDiskType, MessageStore};
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::Capability;
use timely::dataflow::StreamVec;

use super::acks::Acks;
use super::ingress::Pending;
use super::replica::SyncReplication;
use super::{AppendReply, ReplyFn};

/// A group appended, waiting for its fdatasync and/or a slave's report.
struct Awaiting {
    end: u64,
    since: Instant,
    cap: Capability<u64>,
    /// SYNC_FLUSH: wait for the flusher.
    flush: bool,
    /// SYNC_MASTER with a slave able to take it: wait for the slave.
    replica: bool,
}

/// What a group still waits for, and how long it may.
struct Waits {
    sync_flush: Option<Duration>,
    replication: Option<SyncReplication>,
}

impl Waits {
    /// Whether `a` may be answered now; if not, how long until it times out.
    fn settled(&self, a: &Awaiting, durable: u64, replicated: u64) -> Result<(bool, bool), Duration> {
        let elapsed = a.since.elapsed();
        let mut wait = Duration::MAX;
        let flushed = !a.flush || durable >= a.end;
        if !flushed {
            let limit = self.sync_flush.unwrap_or_default();
            if elapsed < limit {
                wait = wait.min(limit - elapsed);
            }
        }
        let acked = !a.replica || replicated >= a.end;
        if !acked {
            let limit = self.replication.as_ref().map(|r| r.timeout).unwrap_or_default();
            if elapsed < limit {
                wait = wait.min(limit - elapsed);
            }
        }
        if wait == Duration::MAX {
            Ok((flushed, acked))
        } else {
            Err(wait)
        }
    }
}

/// Appends epochs of units.
pub(crate) trait Append<'scope> {
    /// For each epoch number, takes the epoch's work from `pending`, appends its units to
    /// `store`, files their replies in `acks`, and emits `(epoch, end of the log it reached)`
    /// once the group may be acknowledged (at once, or once durable under SYNC_FLUSH and
    /// replicated on a SYNC_MASTER).
    fn append(
        self,
        store: Arc<MessageStore>,
        replication: Option<SyncReplication>,
        pending: Pending,
        acks: Acks,
    ) -> StreamVec<'scope, u64, (u64, u64)>;
}

impl<'scope> Append<'scope> for StreamVec<'scope, u64, u64> {
    fn append(
        self,
        store: Arc<MessageStore>,
        replication: Option<SyncReplication>,
        pending: Pending,
        acks: Acks,
    ) -> StreamVec<'scope, u64, (u64, u64)> {
        let scope = self.scope();
        let sync = store.config().flush_disk_type == FlushDiskType::SyncFlush;
        let waits = Waits {
            sync_flush: sync.then_some(store.sync_flush_timeout()),
            replication,
        };
        self.unary_frontier(Pipeline, "append", move |_cap, info| {
            if sync {
                let activator = scope.worker().sync_activator_for(info.address.to_vec());
                store.flusher().on_durable(move |_| {
                    let _ = activator.activate();
                });
            }
            if let Some(r) = &waits.replication {
                let activator = scope.worker().sync_activator_for(info.address.to_vec());
                r.acks.on_advance(Box::new(move || {
                    let _ = activator.activate();
                }));
            }
            let timer = scope.activator_for(info.address.clone());
            let mut awaiting: VecDeque<Awaiting> = VecDeque::new();
            move |(input, _frontier), output| {
                input.for_each_time(|time, data| {
                    for epoch in data.flat_map(|d| d.drain(..)) {
                        let Some(work) = pending.borrow_mut().remove(&epoch) else {
                            continue;
                        };
                        if work.requests.is_empty() {
                            // Appended by their callers already: only dispatch.
                            output.session(&time).give((epoch, work.appended_end));
                            continue;
                        }
                        let mut units = Vec::with_capacity(work.requests.len());
                        let mut callbacks: Vec<(ReplyFn, bool)> = Vec::with_capacity(units.capacity());
                        for r in work.requests {
                            units.push(r.unit);
                            callbacks.push((r.reply, r.wait));
                        }
                        let replies: Vec<AppendReply> = match store.append(&units) {
                            Ok(outcome) => {
                                let end = outcome.end_offset;
                                let replica = match &waits.replication {
                                    Some(r) if r.acks.available(end) => {
                                        r.acks.offer(end);
                                        Some(true)
                                    }
                                    Some(_) => Some(false),
                                    None => None,
                                };
                                if sync {
                                    store.flusher().request(end);
                                }
                                if sync || replica == Some(true) {
                                    awaiting.push_back(Awaiting {
                                        end,
                                        since: Instant::now(),
                                        cap: time.retain(0),
                                        flush: sync,
                                        replica: replica == Some(true),
                                    });
                                } else {
                                    output.session(&time).give((epoch, end.max(work.appended_end)));
                                }
                                outcome
                                    .units
                                    .into_iter()
                                    .zip(&callbacks)
                                    .map(|(r, (_, wait))| match r {
                                        // A unit that does not wait skips the slave's verdict.
                                        Ok(a) if replica == Some(false) && *wait => {
                                            AppendReply::SlaveNotAvailable(a)
                                        }
                                        Ok(a) => AppendReply::Stored(a),
                                        Err(e) => AppendReply::Refused(e),
                                    })
                                    .collect()
                            }
                            Err(e) => {
                                tracing::error!(error = %e, "appending a group failed");
                                output.session(&time).give((epoch, work.appended_end));
                                units.iter().map(|_| AppendReply::Failed(e.to_string())).collect()
                            }
                        };
                        // Units whose producer does not wait are answered now, appended; the rest
                        // when their group is as safe as promised.
                        let mut filed = Vec::with_capacity(callbacks.len());
                        for ((reply_fn, wait), reply) in callbacks.into_iter().zip(replies) {
                            if wait || !matches!(reply, AppendReply::Stored(_)) {
                                filed.push((reply_fn, reply));
                            } else {
                                reply_fn(reply);
                            }
                        }
                        acks.borrow_mut().insert(epoch, filed);
                    }
                });
                // Release every group that is as safe as promised (or whose wait timed out), in
                // order: a later group never overtakes an earlier one.
                let durable = if sync { store.flusher().durable_offset() } else { 0 };
                let replicated = waits.replication.as_ref().map_or(0, |r| r.acks.acked_offset());
                while let Some(front) = awaiting.front() {
                    let (flushed, acked) = match waits.settled(front, durable, replicated) {
                        Ok(done) => done,
                        Err(wait) => {
                            timer.activate_after(wait);
                            break;
                        }
                    };
                    let Some(a) = awaiting.pop_front() else { break };
                    let epoch = *a.cap.time();
                    if !flushed || !acked {
                        if let Some(list) = acks.borrow_mut().get_mut(&epoch) {
                            for (_, reply) in list.iter_mut() {
                                if let AppendReply::Stored(v) = reply {
                                    let v = std::mem::take(v);
                                    // As 4.9: the slave's verdict is the one reported.
                                    *reply = if acked {
                                        AppendReply::FlushTimeout(v)
                                    } else {
                                        AppendReply::SlaveTimeout(v)
                                    };
                                }
                            }
                        }
                    }
                    output.session(&a.cap).give((epoch, a.end));
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::BTreeMap;
    use std::rc::Rc;
    use std::sync::mpsc;

    use timely::dataflow::operators::{Capture, ToStream};

    use super::*;
    use crate::pipeline::ingress::EpochWork;
    use crate::pipeline::tests::{captured, msg, open_store};
    use crate::pipeline::AppendRequest;

    /// Runs one epoch of `bodies` through the stage on a fresh store; returns what the stage
    /// emitted, the replies filed for the epoch, and the store.
    fn one_epoch(
        flush: FlushDiskType,
        bodies: &[&str],
    ) -> (Vec<(u64, u64)>, Vec<AppendReply>, Arc<MessageStore>) {
        one_epoch_replicated(flush, bodies, None)
    }

    fn one_epoch_replicated(
        flush: FlushDiskType,
        bodies: &[&str],
        replication: Option<SyncReplication>,
    ) -> (Vec<(u64, u64)>, Vec<AppendReply>, Arc<MessageStore>) {
        let units: Vec<(&str, bool)> = bodies.iter().map(|b| (*b, true)).collect();
        let run = one_epoch_with(flush, &units, replication);
        (run.emitted, run.filed, run.store)
    }

    /// What one epoch through the stage gave: the (epoch, end) pairs it emitted, the replies it
    /// filed for the epoch's acks, those it gave at once, and the store.
    struct EpochRun {
        emitted: Vec<(u64, u64)>,
        filed: Vec<AppendReply>,
        at_once: Vec<AppendReply>,
        store: Arc<MessageStore>,
    }

    /// [`one_epoch_replicated`] with a `wait` flag per unit; also returns the replies the stage
    /// gave at once (callbacks it ran instead of filing).
    fn one_epoch_with(
        flush: FlushDiskType,
        units: &[(&str, bool)],
        replication: Option<SyncReplication>,
    ) -> EpochRun {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path(), flush);
        let (tx, rx) = mpsc::channel();
        let requests: Vec<AppendRequest> = units
            .iter()
            .map(|(b, wait)| {
                let tx = tx.clone();
                AppendRequest {
                    unit: vec![msg("T", 0, b)],
                    reply: Box::new(move |r| {
                        let _ = tx.send(r);
                    }),
                    wait: *wait,
                }
            })
            .collect();
        // The work and the ack table are Rc (they live on the worker); build them there.
        let work = Arc::new(std::sync::Mutex::new(Some(requests)));
        let st = store.clone();
        let (out, filed) = timely::execute_directly(move |worker| {
            let pending: Pending = Rc::new(RefCell::new(BTreeMap::new()));
            let acks: Acks = Rc::new(RefCell::new(BTreeMap::new()));
            let requests = work.lock().unwrap().take().unwrap();
            pending.borrow_mut().insert(
                0,
                EpochWork {
                    requests,
                    appended_end: 0,
                },
            );
            let (p, a) = (pending.clone(), acks.clone());
            let out = worker.dataflow(move |scope| {
                vec![0u64]
                    .to_stream(scope)
                    .container::<Vec<_>>()
                    .append(st, replication, p, a)
                    .capture()
            });
            while worker.step_or_park(Some(Duration::from_millis(10))) {}
            let filed: Vec<AppendReply> = acks
                .borrow_mut()
                .remove(&0)
                .unwrap_or_default()
                .into_iter()
                .map(|(_, r)| r)
                .collect();
            (out, filed)
        });
        drop(tx);
        let at_once: Vec<AppendReply> = rx.try_iter().collect();
        let emitted = captured(out);
        EpochRun {
            emitted,
            filed,
            at_once,
            store,
        }
    }

    /// A slave whose acknowledgements a test moves by hand.
    #[derive(Default)]
    struct FakeSlave {
        connected: bool,
        acked: std::sync::atomic::AtomicU64,
        offered: std::sync::atomic::AtomicU64,
        wakes: std::sync::Mutex<Vec<Box<dyn Fn() + Send + Sync>>>,
    }

    impl crate::pipeline::ReplicaAcks for FakeSlave {
        fn acked_offset(&self) -> u64 {
            self.acked.load(std::sync::atomic::Ordering::Acquire)
        }
        fn available(&self, _end: u64) -> bool {
            self.connected
        }
        fn offer(&self, end: u64) {
            self.offered.fetch_max(end, std::sync::atomic::Ordering::AcqRel);
        }
        fn on_advance(&self, wake: Box<dyn Fn() + Send + Sync>) {
            self.wakes.lock().unwrap().push(wake);
        }
    }

    fn sync_master(slave: &Arc<FakeSlave>, timeout_ms: u64) -> Option<SyncReplication> {
        Some(SyncReplication {
            acks: slave.clone(),
            timeout: Duration::from_millis(timeout_ms),
        })
    }

    #[test]
    fn sync_master_without_a_slave_answers_slave_not_available_at_once() {
        let slave = Arc::new(FakeSlave::default());
        let (emitted, filed, _) = one_epoch_replicated(
            FlushDiskType::AsyncFlush,
            &["a", "b"],
            sync_master(&slave, 60_000),
        );
        assert_eq!(emitted.len(), 1);
        assert!(
            filed
                .iter()
                .all(|r| matches!(r, AppendReply::SlaveNotAvailable(_))),
            "{filed:?}"
        );
    }

    #[test]
    fn sync_master_acks_once_a_slave_reports_the_group() {
        let slave = Arc::new(FakeSlave {
            connected: true,
            ..FakeSlave::default()
        });
        let s2 = slave.clone();
        // The "slave" reports whatever was offered, a little later, and wakes the stage.
        let reporter = std::thread::spawn(move || {
            for _ in 0..500 {
                let offered = s2.offered.load(std::sync::atomic::Ordering::Acquire);
                if offered > 0 {
                    std::thread::sleep(Duration::from_millis(30));
                    s2.acked.store(offered, std::sync::atomic::Ordering::Release);
                    for w in s2.wakes.lock().unwrap().iter() {
                        w();
                    }
                    return;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        let started = Instant::now();
        let (emitted, filed, store) = one_epoch_replicated(
            FlushDiskType::SyncFlush,
            &["a", "b", "c"],
            sync_master(&slave, 60_000),
        );
        reporter.join().unwrap();
        assert!(started.elapsed() < Duration::from_secs(30));
        assert_eq!(emitted, [(0, store.commitlog().write_pos())]);
        assert!(
            filed.iter().all(|r| matches!(r, AppendReply::Stored(_))),
            "{filed:?}"
        );
    }

    #[test]
    fn sync_master_answers_flush_slave_timeout_when_no_report_comes() {
        let slave = Arc::new(FakeSlave {
            connected: true,
            ..FakeSlave::default()
        });
        let started = Instant::now();
        let (emitted, filed, _) =
            one_epoch_replicated(FlushDiskType::AsyncFlush, &["a"], sync_master(&slave, 200));
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert_eq!(emitted.len(), 1);
        assert!(
            filed.iter().all(|r| matches!(r, AppendReply::SlaveTimeout(_))),
            "{filed:?}"
        );
    }

    #[test]
    fn a_unit_that_does_not_wait_is_answered_once_appended() {
        // A slave that never reports: the waiting unit times out, the other does not wait.
        let slave = Arc::new(FakeSlave {
            connected: true,
            ..FakeSlave::default()
        });
        let EpochRun {
            emitted,
            filed,
            at_once,
            ..
        } = one_epoch_with(
            FlushDiskType::SyncFlush,
            &[("waits", true), ("does-not", false)],
            sync_master(&slave, 200),
        );
        assert_eq!(emitted.len(), 1);
        assert!(
            matches!(at_once.as_slice(), [AppendReply::Stored(a)] if a.len() == 1),
            "{at_once:?}"
        );
        assert!(
            matches!(filed.as_slice(), [AppendReply::SlaveTimeout(_)]),
            "{filed:?}"
        );
        // Without a slave the one that does not wait is still SEND_OK (4.9 skips the HA check).
        let gone = Arc::new(FakeSlave::default());
        let EpochRun { filed, at_once, .. } = one_epoch_with(
            FlushDiskType::SyncFlush,
            &[("waits", true), ("does-not", false)],
            sync_master(&gone, 60_000),
        );
        assert!(
            matches!(at_once.as_slice(), [AppendReply::Stored(_)]),
            "{at_once:?}"
        );
        assert!(
            matches!(filed.as_slice(), [AppendReply::SlaveNotAvailable(_)]),
            "{filed:?}"
        );
    }

    #[test]
    fn async_flush_appends_the_group_and_passes_its_end_at_once() {
        let (emitted, filed, store) = one_epoch(FlushDiskType::AsyncFlush, &["a", "b", "c"]);
        assert_eq!(emitted, [(0, store.commitlog().write_pos())]);
        assert_eq!(filed.len(), 3);
        assert!(filed.iter().all(|r| matches!(r, AppendReply::Stored(_))));
    }

    #[test]
    fn sync_flush_emits_the_epoch_only_once_it_is_durable() {
        let (emitted, filed, store) = one_epoch(FlushDiskType::SyncFlush, &["a", "b"]);
        let end = store.commitlog().write_pos();
        assert_eq!(emitted, [(0, end)]);
        assert!(store.flusher().durable_offset() >= end);
        assert!(
            filed.iter().all(|r| matches!(r, AppendReply::Stored(_))),
            "{filed:?}"
        );
    }
}
