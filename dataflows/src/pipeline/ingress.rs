//! Stage (A), "ingress": the core thread's door. Tokio handlers queue units here (SYNC_FLUSH)
//! or append them themselves and record how far the log reached (ASYNC_FLUSH, see
//! [`super::Submitter`]); each activation of the source drains what is queued into one epoch
//! — one group commit — and emits its number. The units themselves stay in a side table keyed
//! by epoch ([`Pending`]): reply callbacks never travel through timely.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::{Scope, StreamVec};
use timely::scheduling::SyncActivator;

use super::AppendRequest;

/// State shared between tokio handlers and the core thread.
pub(super) struct Ingress {
    /// Queued requests with the bytes each was counted for; `None` once the core thread has
    /// taken its last look (a request pushed after that would never be answered).
    pub(super) queue: Mutex<Option<VecDeque<(AppendRequest, usize)>>>,
    pub(super) queued_bytes: AtomicUsize,
    pub(super) max_bytes: usize,
    pub(super) armed: AtomicBool,
    pub(super) activator: Mutex<Option<SyncActivator>>,
    pub(super) stopping: AtomicBool,
    /// The end of the log after the last unit appended by its caller (ASYNC_FLUSH, see
    /// [`super::Submitter::append_here`]); stage (A) turns an advance of it into a dispatch-only epoch.
    pub(super) appended_end: AtomicU64,
    /// Set while a wake-up for `appended_end` is pending or deliberately deferred.
    pub(super) dispatch_armed: AtomicBool,
    /// SYNC_MASTER: every put waits for a slave, so every put takes the group commit.
    pub(super) sync_replication: bool,
    /// Set by [`super::Submitter::redispatch`]: the next activation runs a dispatch-only epoch
    /// even though no append moved the log.
    pub(super) redispatch: AtomicBool,
}

/// After a dispatch-only epoch, further appends by callers wait this long for the next one
/// instead of waking the core thread each: under load the core thread wakes on its own timer
/// a few thousand times a second rather than on a futex per few messages (what a reader sees
/// is at most this much later; a lone append after a quiet spell still wakes it at once).
pub(super) const DISPATCH_BATCH: Duration = Duration::from_micros(500);

impl Ingress {
    /// Called after an append by its caller: wakes stage (A) unless a wake is pending.
    pub(super) fn appended(&self, end: u64) {
        self.appended_end.fetch_max(end, Ordering::AcqRel);
        if !self.dispatch_armed.swap(true, Ordering::AcqRel) {
            self.activate();
        }
    }

    pub(super) fn wake(&self) {
        if !self.armed.swap(true, Ordering::AcqRel) {
            self.activate();
        }
    }

    pub(super) fn activate(&self) {
        if let Ok(a) = self.activator.lock() {
            if let Some(a) = a.as_ref() {
                let _ = a.activate();
            }
        }
    }
}

/// What stage (A) hands stage (B) for one epoch: units to append, and how far units appended
/// by their callers (ASYNC_FLUSH) reach, to be dispatched as well.
pub(super) struct EpochWork {
    pub(super) requests: Vec<AppendRequest>,
    pub(super) appended_end: u64,
}

/// Each epoch's work, between ingress and append (on the core thread).
pub(super) type Pending = Rc<RefCell<BTreeMap<u64, EpochWork>>>;

/// The ingress source: one epoch per activation that found queued units or an advance of the
/// log by callers; it drops its capability once the pipeline is stopping and the queue is
/// empty, which ends the dataflow.
pub(super) fn ingress<'scope>(
    scope: Scope<'scope, u64>,
    ing: Arc<Ingress>,
    pending: Pending,
) -> StreamVec<'scope, u64, u64> {
    source(scope, "ingress", move |cap, info| {
        let activator = scope.worker().sync_activator_for(info.address.to_vec());
        if let Ok(mut a) = ing.activator.lock() {
            *a = Some(activator);
        }
        let mut cap = Some(cap);
        let mut seen_appended_end = 0;
        let delayed = scope.activator_for(info.address.clone());
        move |output| {
            ing.armed.store(false, Ordering::Release);
            ing.dispatch_armed.store(false, Ordering::Release);
            let appended_end = ing.appended_end.load(Ordering::Acquire);
            let mut bytes = 0;
            let drained: Vec<AppendRequest> = match ing.queue.lock().as_deref_mut() {
                Ok(Some(q)) => q
                    .drain(..)
                    .map(|(r, b)| {
                        bytes += b;
                        r
                    })
                    .collect(),
                _ => Vec::new(),
            };
            ing.queued_bytes.fetch_sub(bytes, Ordering::AcqRel);
            if let Some(c) = cap.as_mut() {
                if appended_end > seen_appended_end {
                    // Hold further wake-ups for appends back; look again after a while.
                    ing.dispatch_armed.store(true, Ordering::Release);
                    delayed.activate_after(DISPATCH_BATCH);
                }
                let again = ing.redispatch.swap(false, Ordering::AcqRel);
                if !drained.is_empty() || appended_end > seen_appended_end || again {
                    seen_appended_end = appended_end;
                    let epoch = *c.time();
                    pending.borrow_mut().insert(
                        epoch,
                        EpochWork {
                            requests: drained,
                            appended_end,
                        },
                    );
                    output.session(c).give(epoch);
                    c.downgrade(&(epoch + 1));
                }
            }
            if ing.stopping.load(Ordering::Acquire)
                && ing
                    .queue
                    .lock()
                    .map(|q| q.as_ref().is_none_or(VecDeque::is_empty))
                    .unwrap_or(true)
            {
                cap = None;
            }
        }
    })
}
