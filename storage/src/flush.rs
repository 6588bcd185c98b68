//! Making the CommitLog durable: ASYNC_FLUSH (a background `fdatasync` every
//! `flushIntervalCommitLog`) and SYNC_FLUSH (group commit).
//!
//! Under SYNC_FLUSH the appender hands over a group by calling [`Flusher::request`] with the
//! group's end offset and goes on appending; the flush thread syncs everything written so far with
//! one `fdatasync` per segment touched (so one sync usually covers several groups), then publishes
//! the durable offset, wakes [`Flusher::wait_durable`] callers and calls the registered listeners
//! (the pipeline acks producers from there).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::commitlog::CommitLog;
use crate::error::StoreError;

/// RocketMQ's `flushDiskType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FlushDiskType {
    #[serde(rename = "ASYNC_FLUSH")]
    AsyncFlush,
    #[serde(rename = "SYNC_FLUSH")]
    SyncFlush,
}

impl std::str::FromStr for FlushDiskType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "ASYNC_FLUSH" => Ok(FlushDiskType::AsyncFlush),
            "SYNC_FLUSH" => Ok(FlushDiskType::SyncFlush),
            other => Err(format!(
                "flushDiskType must be ASYNC_FLUSH or SYNC_FLUSH, not {other:?}"
            )),
        }
    }
}

type Listener = Box<dyn Fn(u64) + Send + Sync>;

struct State {
    requested: u64,
    shutdown: bool,
    failed: Option<String>,
}

struct Shared {
    log: Arc<CommitLog>,
    mode: FlushDiskType,
    /// The ASYNC_FLUSH period (`flushIntervalCommitLog`), changeable while the thread runs.
    interval: crate::store::live::AtomicMillis,
    state: Mutex<State>,
    wake: Condvar,
    durable: AtomicU64,
    durable_changed: Condvar,
    listeners: Mutex<Vec<Listener>>,
    syncs: AtomicU64,
}

/// The CommitLog flush thread.
pub struct Flusher {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Flusher {
    /// Starts the flush thread; everything below `durable` is already on disk.
    pub fn start(
        log: Arc<CommitLog>,
        mode: FlushDiskType,
        interval: Duration,
        durable: u64,
    ) -> Result<Flusher, StoreError> {
        let shared = Arc::new(Shared {
            log,
            mode,
            interval: crate::store::live::AtomicMillis::new(interval),
            state: Mutex::new(State {
                requested: durable,
                shutdown: false,
                failed: None,
            }),
            wake: Condvar::new(),
            durable: AtomicU64::new(durable),
            durable_changed: Condvar::new(),
            listeners: Mutex::new(Vec::new()),
            syncs: AtomicU64::new(0),
        });
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("sluice-flush".into())
            .spawn(move || run(&s))
            .map_err(crate::error::io_err("starting the flush thread"))?;
        Ok(Flusher {
            shared,
            thread: Some(thread),
        })
    }

    pub fn mode(&self) -> FlushDiskType {
        self.shared.mode
    }

    /// The ASYNC_FLUSH period in force.
    pub fn interval(&self) -> Duration {
        self.shared.interval.get()
    }

    /// Changes the ASYNC_FLUSH period; the thread takes it before its next wait.
    pub fn set_interval(&self, interval: Duration) {
        self.shared.interval.set(interval);
    }

    /// Everything below this offset is durable.
    pub fn durable_offset(&self) -> u64 {
        self.shared.durable.load(Ordering::Acquire)
    }

    /// How many flush rounds have synced data (a group commit covers many appends).
    pub fn sync_rounds(&self) -> u64 {
        self.shared.syncs.load(Ordering::Relaxed)
    }

    /// Asks for everything below `offset` to become durable; returns at once.
    pub fn request(&self, offset: u64) {
        if let Ok(mut st) = self.shared.state.lock() {
            if offset > st.requested {
                st.requested = offset;
                self.shared.wake.notify_one();
            }
        }
    }

    /// Calls `f(durable_offset)` from the flush thread each time the durable offset advances.
    pub fn on_durable(&self, f: impl Fn(u64) + Send + Sync + 'static) {
        if let Ok(mut l) = self.shared.listeners.lock() {
            l.push(Box::new(f));
        }
    }

    /// Blocks until everything below `offset` is durable, requesting it first.
    pub fn wait_durable(&self, offset: u64, timeout: Duration) -> Result<(), StoreError> {
        self.request(offset);
        let deadline = Instant::now() + timeout;
        let mut st = self.shared.state.lock().map_err(|_| StoreError::Closed)?;
        loop {
            if self.durable_offset() >= offset {
                return Ok(());
            }
            if let Some(e) = &st.failed {
                return Err(StoreError::Io {
                    context: "flushing the CommitLog".into(),
                    source: std::io::Error::other(e.clone()),
                });
            }
            if st.shutdown {
                return Err(StoreError::Closed);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(StoreError::FlushTimeout(timeout));
            }
            st = self
                .shared
                .durable_changed
                .wait_timeout(st, deadline - now)
                .map_err(|_| StoreError::Closed)?
                .0;
        }
    }

    /// Flushes everything written and stops the thread.
    pub fn shutdown(&mut self) -> Result<(), StoreError> {
        let end = self.shared.log.write_pos();
        let res = self.wait_durable(end, Duration::from_secs(60));
        if let Ok(mut st) = self.shared.state.lock() {
            st.shutdown = true;
            self.shared.wake.notify_all();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        res
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        if self.thread.is_some() {
            let _ = self.shutdown();
        }
    }
}

fn run(s: &Shared) {
    loop {
        let target = {
            let Ok(mut st) = s.state.lock() else { return };
            loop {
                if st.shutdown {
                    return;
                }
                let durable = s.durable.load(Ordering::Acquire);
                if st.requested > durable {
                    break st.requested;
                }
                match s.mode {
                    FlushDiskType::SyncFlush => {
                        st = match s.wake.wait(st) {
                            Ok(g) => g,
                            Err(_) => return,
                        };
                    }
                    FlushDiskType::AsyncFlush => {
                        let (g, timeout) = match s.wake.wait_timeout(st, s.interval.get()) {
                            Ok(r) => r,
                            Err(_) => return,
                        };
                        st = g;
                        if timeout.timed_out() {
                            let end = s.log.write_pos();
                            if end > durable {
                                break end;
                            }
                        }
                    }
                }
            }
        };
        let from = s.durable.load(Ordering::Acquire);
        // Sync everything written so far: appends that landed after the request ride along.
        let target = target.max(s.log.write_pos());
        let mut result = Ok(());
        for seg in s.log.segments_in(from, target) {
            if let Err(e) = seg.sync() {
                result = Err(e);
                break;
            }
        }
        s.syncs.fetch_add(1, Ordering::Relaxed);
        let Ok(mut st) = s.state.lock() else { return };
        match result {
            Ok(()) => {
                s.durable.fetch_max(target, Ordering::AcqRel);
                drop(st);
                s.durable_changed.notify_all();
                if let Ok(listeners) = s.listeners.lock() {
                    for l in listeners.iter() {
                        l(target);
                    }
                }
            }
            Err(e) => {
                // After a failed fdatasync the kernel may have dropped the dirty pages: nothing
                // past `from` can be promised any more. Stop advancing and report to waiters.
                tracing::error!(error = %e, "CommitLog flush failed; the store no longer acknowledges writes");
                st.failed = Some(e.to_string());
                st.shutdown = true;
                drop(st);
                s.durable_changed.notify_all();
                return;
            }
        }
    }
}
