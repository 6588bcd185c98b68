//! Stage (B), "append": each epoch's queued units are written to the CommitLog as one group;
//! the epoch's replies wait in the ack table until the "durable" probe after this stage passes
//! it. Under SYNC_FLUSH the stage holds a capability for the epoch until the flusher reports
//! the group durable (or `syncFlushTimeout` passes: FLUSH_DISK_TIMEOUT), so one fdatasync
//! answers the whole group. An epoch of units its callers appended themselves (ASYNC_FLUSH)
//! passes straight through to dispatch.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_storage::{FlushDiskType, MessageStore, MessageToStore};
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::Capability;
use timely::dataflow::StreamVec;

use super::acks::Acks;
use super::ingress::Pending;
use super::{AppendReply, ReplyFn};

/// A group appended under SYNC_FLUSH, waiting for its fdatasync.
struct AwaitingFlush {
    end: u64,
    since: Instant,
    cap: Capability<u64>,
}

/// Appends epochs of units.
pub(crate) trait Append<'scope> {
    /// For each epoch number, takes the epoch's work from `pending`, appends its units to
    /// `store`, files their replies in `acks`, and emits `(epoch, end of the log it reached)`
    /// once the group may be acknowledged (at once, or once durable under SYNC_FLUSH).
    fn append(
        self,
        store: Arc<MessageStore>,
        pending: Pending,
        acks: Acks,
    ) -> StreamVec<'scope, u64, (u64, u64)>;
}

impl<'scope> Append<'scope> for StreamVec<'scope, u64, u64> {
    fn append(
        self,
        store: Arc<MessageStore>,
        pending: Pending,
        acks: Acks,
    ) -> StreamVec<'scope, u64, (u64, u64)> {
        let scope = self.scope();
        let sync = store.config().flush_disk_type == FlushDiskType::SyncFlush;
        let sync_timeout: Duration = store.config().sync_flush_timeout;
        self.unary_frontier(Pipeline, "append", move |_cap, info| {
            if sync {
                let activator = scope.worker().sync_activator_for(info.address.to_vec());
                store.flusher().on_durable(move |_| {
                    let _ = activator.activate();
                });
            }
            let timer = scope.activator_for(info.address.clone());
            let mut awaiting: VecDeque<AwaitingFlush> = VecDeque::new();
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
                        let (units, callbacks): (Vec<Vec<MessageToStore>>, Vec<ReplyFn>) =
                            work.requests.into_iter().map(|r| (r.unit, r.reply)).unzip();
                        let replies: Vec<AppendReply> = match store.append(&units) {
                            Ok(outcome) => {
                                if sync {
                                    store.flusher().request(outcome.end_offset);
                                    awaiting.push_back(AwaitingFlush {
                                        end: outcome.end_offset,
                                        since: Instant::now(),
                                        cap: time.retain(0),
                                    });
                                } else {
                                    let end = outcome.end_offset.max(work.appended_end);
                                    output.session(&time).give((epoch, end));
                                }
                                outcome
                                    .units
                                    .into_iter()
                                    .map(|r| match r {
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
                        acks.borrow_mut()
                            .insert(epoch, callbacks.into_iter().zip(replies).collect());
                    }
                });
                // Release every group the flusher has made durable (or that timed out).
                let durable = store.flusher().durable_offset();
                while let Some(front) = awaiting.front() {
                    let timed_out = front.since.elapsed() >= sync_timeout;
                    if front.end > durable && !timed_out {
                        timer.activate_after(sync_timeout.saturating_sub(front.since.elapsed()));
                        break;
                    }
                    let Some(a) = awaiting.pop_front() else { break };
                    let epoch = *a.cap.time();
                    if a.end > durable {
                        if let Some(list) = acks.borrow_mut().get_mut(&epoch) {
                            for (_, reply) in list.iter_mut() {
                                if let AppendReply::Stored(v) = reply {
                                    *reply = AppendReply::FlushTimeout(std::mem::take(v));
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
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path(), flush);
        let (tx, rx) = mpsc::channel();
        let requests: Vec<AppendRequest> = bodies
            .iter()
            .map(|b| {
                let tx = tx.clone();
                AppendRequest {
                    unit: vec![msg("T", 0, b)],
                    reply: Box::new(move |r| {
                        let _ = tx.send(r);
                    }),
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
                    .append(st, p, a)
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
        drop(rx);
        let emitted = captured(out);
        (emitted, filed, store)
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
