//! The store's background threads — checkpoints, CommitLog prefault/release, retention — and
//! the stop signal that ends them.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::MessageStore;
use crate::error::{io_err, StoreError};

/// The stop flag the background threads wait on.
pub(super) type StopSignal = (Mutex<bool>, Condvar);

impl MessageStore {
    pub(super) fn start_background(self: &Arc<Self>) -> Result<(), StoreError> {
        let mut threads = self.background.lock().map_err(|_| StoreError::Closed)?;
        threads.push(self.every(
            "checkpoint",
            |s| s.live().flush_interval_consume_queue,
            |store| {
                if let Err(e) = store.checkpoint_now() {
                    tracing::error!(error = %e, "checkpoint failed");
                }
            },
        )?);
        let log = self.commitlog.clone();
        let stop = self.stop.clone();
        let weak = Arc::downgrade(self);
        threads.push(spawn("prefault", move || {
            let mut ahead = crate::prefault::Prefault::default();
            let mut released_at = Instant::now();
            let mut released_pos = 0;
            while !wait_stop(&stop, Duration::from_millis(10)) {
                ahead.advance(&log);
                // Every 100 ms, and sooner when that much has been written since: a fast
                // writer (batches at hundreds of MB/s) would otherwise hold 100 ms of log.
                let written = log.write_pos().saturating_sub(released_pos);
                if released_at.elapsed() >= Duration::from_millis(100)
                    || written >= crate::prefault::KEEP_BEHIND
                {
                    released_at = Instant::now();
                    released_pos = log.write_pos();
                    crate::prefault::release_behind(&log);
                    let Some(store) = weak.upgrade() else { return };
                    let keep = store.config.commit_log_page_cache_bytes;
                    if keep > 0 {
                        crate::prefault::evict_behind(&log, store.flusher().durable_offset(), keep);
                    }
                }
            }
        })?);
        threads.push(self.every(
            "retention",
            |s| s.live().clean_resource_interval,
            |store| match store.run_retention(std::time::SystemTime::now(), false) {
                Ok(r) if !r.deleted.is_empty() => {
                    tracing::info!(deleted = r.deleted.len(), "retention deleted CommitLog segments")
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "retention failed"),
            },
        )?);
        Ok(())
    }

    /// Starts thread `sluice-{what}`, which runs `tick` while the store is open, waiting the
    /// `period` in force before each run.
    fn every(
        self: &Arc<Self>,
        what: &str,
        period: impl Fn(&MessageStore) -> Duration + Send + 'static,
        tick: impl Fn(&MessageStore) + Send + 'static,
    ) -> Result<JoinHandle<()>, StoreError> {
        let weak = Arc::downgrade(self);
        let stop = self.stop.clone();
        spawn(what, move || loop {
            let wait = match weak.upgrade() {
                Some(store) => period(&store),
                None => return,
            };
            if wait_stop(&stop, wait) {
                return;
            }
            let Some(store) = weak.upgrade() else { return };
            tick(&store);
        })
    }

    /// Marks the store closed and joins its background threads; false if it was closed already.
    pub(super) fn stop_background(&self) -> bool {
        if self.closed.swap(true, Ordering::AcqRel) {
            return false;
        }
        let (lock, cv) = &*self.stop;
        if let Ok(mut s) = lock.lock() {
            *s = true;
        }
        cv.notify_all();
        let threads: Vec<_> = self
            .background
            .lock()
            .map(|mut t| t.drain(..).collect())
            .unwrap_or_default();
        for t in threads {
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
        true
    }
}

/// Starts thread `sluice-{what}` running `body`.
fn spawn(what: &str, body: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>, StoreError> {
    std::thread::Builder::new()
        .name(format!("sluice-{what}"))
        .spawn(body)
        .map_err(io_err(format!("starting the {what} thread")))
}

/// Sleeps for `period` or until stop is signalled; returns whether to stop.
fn wait_stop(stop: &StopSignal, period: Duration) -> bool {
    let (lock, cv) = stop;
    let Ok(guard) = lock.lock() else { return true };
    if *guard {
        return true;
    }
    match cv.wait_timeout(guard, period) {
        Ok((g, _)) => *g,
        Err(_) => true,
    }
}
