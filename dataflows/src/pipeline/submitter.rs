//! The tokio-facing half of the pipeline: [`Submitter`] puts units by the writer path of the
//! store's flush mode (appended by the caller under ASYNC_FLUSH, queued for stage (A)'s group
//! commit under SYNC_FLUSH), and refuses with SYSTEM_BUSY when that path is over its bound.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_storage::{FlushDiskType, MessageStore, MessageToStore, StoreError};

use super::ingress::Ingress;
use super::{AppendReply, AppendRequest, PipelineError};

/// A handle that queues units into a running pipeline (the scheduler re-enters due messages
/// through it). Cloneable; refused with [`PipelineError::Stopped`] once the pipeline stops.
#[derive(Clone)]
pub struct Submitter {
    pub(super) ingress: Arc<Ingress>,
    pub(super) store: Arc<MessageStore>,
}

impl Submitter {
    /// Whether units are appended by their caller ([`Submitter::append_here`]): under
    /// ASYNC_FLUSH the ack needs nothing but the copy into the mapping, and a hop to the core
    /// thread and back would cost two wake-ups per request. Under SYNC_FLUSH, and on a
    /// SYNC_MASTER, units go through [`Submitter::submit`] to the core thread's group commit.
    pub fn appends_in_caller(&self) -> bool {
        self.store.config().flush_disk_type == FlushDiskType::AsyncFlush && !self.ingress.sync_replication
    }

    /// Appends a unit on the calling thread and wakes stage (A) to dispatch it (stages C–E run
    /// on the core thread as for any unit). Meant for ASYNC_FLUSH: nothing waits for a sync.
    /// Refused with [`PipelineError::DispatchBehind`] while dispatch lags the log by more than
    /// the ingress bound (the same bound SYNC_FLUSH's queue has).
    pub fn append_here(&self, unit: Vec<MessageToStore>) -> Result<AppendReply, PipelineError> {
        self.admit()?;
        self.append_admitted(unit)
    }

    /// Whether an append by its caller may go ahead: not while stopping, nor while dispatch
    /// lags the log by more than the ingress bound.
    fn admit(&self) -> Result<(), PipelineError> {
        if self.ingress.stopping.load(Ordering::Acquire) {
            return Err(PipelineError::Stopped);
        }
        let behind = self
            .store
            .commitlog()
            .write_pos()
            .saturating_sub(self.store.dispatched_offset());
        if behind > self.ingress.max_bytes as u64 {
            return Err(PipelineError::DispatchBehind { behind });
        }
        Ok(())
    }

    fn append_admitted(&self, unit: Vec<MessageToStore>) -> Result<AppendReply, PipelineError> {
        let ingress = &self.ingress;
        let reply = match self.store.append(std::slice::from_ref(&unit)) {
            Ok(outcome) => {
                ingress.appended(outcome.end_offset);
                match outcome.units.into_iter().next() {
                    Some(Ok(a)) => AppendReply::Stored(a),
                    Some(Err(e)) => AppendReply::Refused(e),
                    None => AppendReply::Stored(Vec::new()),
                }
            }
            Err(StoreError::Closed) => return Err(PipelineError::Stopped),
            Err(e) => {
                tracing::error!(error = %e, "appending a unit failed");
                AppendReply::Failed(e.to_string())
            }
        };
        Ok(reply)
    }

    /// Bytes replicated from a master (a slave's log) now reach `end`: dispatch them as stages
    /// C–E do local appends (queues, indexes, long polls).
    pub fn replicated(&self, end: u64) {
        self.ingress.appended(end);
    }

    /// Runs dispatch again though nothing new was appended: the store's dispatch bound moved
    /// (controller mode: the confirm offset advanced), so records held back can follow.
    pub fn redispatch(&self) {
        self.ingress.redispatch.store(true, Ordering::Release);
        // While a dispatch wake-up is pending (or deferred, under load) it takes this one too:
        // one core-thread activation per batch, not one per acknowledgement.
        if !self.ingress.dispatch_armed.swap(true, Ordering::AcqRel) {
            self.ingress.activate();
        }
    }

    /// Queues a unit; its reply callback runs once it is stored (or refused).
    pub fn submit(&self, req: AppendRequest) -> Result<(), (PipelineError, AppendRequest)> {
        let ingress = &self.ingress;
        if ingress.stopping.load(Ordering::Acquire) {
            return Err((PipelineError::Stopped, req));
        }
        let bytes = unit_bytes(&req.unit);
        let queued = ingress.queued_bytes.fetch_add(bytes, Ordering::AcqRel);
        if queued > 0 && queued + bytes > ingress.max_bytes {
            ingress.queued_bytes.fetch_sub(bytes, Ordering::AcqRel);
            return Err((PipelineError::Busy { queued }, req));
        }
        match ingress.queue.lock().as_deref_mut() {
            Ok(Some(q)) => q.push_back((req, bytes)),
            _ => {
                ingress.queued_bytes.fetch_sub(bytes, Ordering::AcqRel);
                return Err((PipelineError::Stopped, req));
            }
        }
        ingress.wake();
        Ok(())
    }

    /// Stores a unit by the writer path of the store's flush mode — appended right here under
    /// ASYNC_FLUSH ([`Submitter::append_here`], the callback runs before this returns), queued
    /// for the core thread's group commit under SYNC_FLUSH ([`Submitter::submit`]). Sends and
    /// the scheduler's re-entries both come through here, so each mode has one writer path.
    pub fn put(&self, req: AppendRequest) -> Result<(), (PipelineError, AppendRequest)> {
        if !self.appends_in_caller() {
            return self.submit(req);
        }
        if let Err(e) = self.admit() {
            return Err((e, req));
        }
        // Appended here, answered once appended: nothing further to wait for either way.
        let AppendRequest { unit, reply, .. } = req;
        match self.append_admitted(unit) {
            Ok(r) => reply(r),
            Err(e) => reply(AppendReply::Failed(e.to_string())),
        }
        Ok(())
    }

    /// Puts a unit ([`Submitter::put`]) and blocks until its reply (`None` if none came within
    /// `timeout`) and, once stored, until it is dispatched, so that a read after the call sees
    /// it (under ASYNC_FLUSH the ack precedes the dispatch). For threads outside tokio: tools
    /// and tests.
    pub fn store_wait(
        &self,
        unit: Vec<MessageToStore>,
        timeout: Duration,
    ) -> Result<Option<AppendReply>, PipelineError> {
        let (tx, rx) = std::sync::mpsc::channel();
        let req = AppendRequest {
            unit,
            reply: Box::new(move |r| {
                let _ = tx.send(r);
            }),
            wait: true,
        };
        let deadline = Instant::now() + timeout;
        self.put(req).map_err(|(e, _)| e)?;
        let reply = rx.recv_timeout(timeout).ok();
        if let Some(a) = reply.as_ref().and_then(AppendReply::appended) {
            if let Some(end) = a.iter().map(|m| m.phys_offset + u64::from(m.size)).max() {
                self.store
                    .wait_dispatched(end, deadline.saturating_duration_since(Instant::now()));
            }
        }
        Ok(reply)
    }
}

fn unit_bytes(unit: &[MessageToStore]) -> usize {
    unit.iter()
        .map(|m| m.body.len() + m.properties.len() + m.topic.len() + 64)
        .sum()
}
