//! The master side of the HA stream (protocol.md §9.0 items 1, 7 and §9.1): a listener on
//! `haListenPort`; per slave, a reader thread taking its 8-byte reports (the newest of each
//! read counts; silence for `haHousekeepingInterval` closes the link; an offset this master
//! does not have is refused) and a writer thread sending raw CommitLog bytes from where the
//! slave stands — at most `haTransferBatchSize` per transfer and never across a segment end —
//! with a heartbeat after `haSendHeartbeatInterval` of idleness. An empty slave (report 0) is
//! fed from the start of the master's last segment.
//!
//! Plain threads with blocking sockets: a group has a handful of slaves, and each link's two
//! loops read best as straight-line code with socket timeouts.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sluice_dataflows::ReplicaAcks;
use sluice_remoting::ha_stream as wire;
use sluice_storage::MessageStore;

use crate::broker::config::HaConfig;

/// How long a writer with nothing to send sleeps before looking again, unless woken.
const IDLE_POLL: Duration = Duration::from_millis(100);

/// One connected slave, as `haStatus` shows it.
#[derive(Debug, Clone)]
pub struct SlaveStatus {
    pub addr: SocketAddr,
    /// The CommitLog offset the slave last reported having.
    pub acked_offset: u64,
    /// When that report came.
    pub last_report: Instant,
    /// Whether it has reported at all (a 4.9 slave first reports ~5 s after connecting).
    pub reported: bool,
    pub connected_at: Instant,
}

struct Shared {
    store: Arc<MessageStore>,
    config: HaConfig,
    slaves: Mutex<BTreeMap<u64, SlaveStatus>>,
    next_id: AtomicU64,
    /// push2SlaveMaxOffset: the highest offset any slave has reported.
    acked: AtomicU64,
    wakes: Mutex<Vec<Box<dyn Fn() + Send + Sync>>>,
    /// `acked`, for tasks that await it (a SYNC_MASTER's sends under ASYNC_FLUSH).
    acked_watch: tokio::sync::watch::Sender<u64>,
    /// Bumped when new data waits for the slaves; writers sleep on it.
    offered: Mutex<u64>,
    data: Condvar,
    stop: AtomicBool,
    /// Connected slaves (their writers are what `offer` wakes).
    links: std::sync::atomic::AtomicUsize,
}

impl Shared {
    fn lock_slaves(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, SlaveStatus>> {
        self.slaves.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn generation(&self) -> u64 {
        *self.offered.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wake_writers(&self) {
        let mut g = self.offered.lock().unwrap_or_else(|e| e.into_inner());
        *g = g.wrapping_add(1);
        self.data.notify_all();
    }

    fn reported(&self, id: u64, offset: u64) {
        if let Some(s) = self.lock_slaves().get_mut(&id) {
            s.acked_offset = offset;
            s.last_report = Instant::now();
            s.reported = true;
        }
        if self.acked.fetch_max(offset, Ordering::AcqRel) < offset {
            self.acked_watch.send_if_modified(|v| {
                let moved = *v < offset;
                *v = (*v).max(offset);
                moved
            });
            for wake in self.wakes.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                wake();
            }
        }
    }
}

/// The HA listener of a master and its slave links.
pub struct HaMaster {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    accept: Mutex<Option<JoinHandle<()>>>,
}

impl HaMaster {
    /// Binds `addr` (the HA port) and starts accepting slaves.
    pub fn start(
        store: Arc<MessageStore>,
        config: HaConfig,
        addr: SocketAddr,
    ) -> std::io::Result<Arc<HaMaster>> {
        let listener = TcpListener::bind(addr)?;
        let local_addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let shared = Arc::new(Shared {
            store,
            config,
            slaves: Mutex::new(BTreeMap::new()),
            next_id: AtomicU64::new(1),
            acked: AtomicU64::new(0),
            wakes: Mutex::new(Vec::new()),
            acked_watch: tokio::sync::watch::Sender::new(0),
            offered: Mutex::new(0),
            data: Condvar::new(),
            stop: AtomicBool::new(false),
            links: std::sync::atomic::AtomicUsize::new(0),
        });
        let s = shared.clone();
        let accept = std::thread::Builder::new()
            .name("sluice-ha-accept".into())
            .spawn(move || accept_loop(&s, &listener))?;
        tracing::info!(addr = %local_addr, "HA listening");
        Ok(Arc::new(HaMaster {
            shared,
            local_addr,
            accept: Mutex::new(Some(accept)),
        }))
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The connected slaves.
    pub fn slaves(&self) -> Vec<SlaveStatus> {
        self.shared.lock_slaves().values().cloned().collect()
    }

    /// The master's end of the log (what slaves are measured against).
    pub fn master_offset(&self) -> u64 {
        self.shared.store.commitlog().write_pos()
    }

    /// Waits until a slave has reported `end` (true), at most `timeout` (false). For the
    /// caller-append path of a SYNC_MASTER under ASYNC_FLUSH (`broker/put.rs`).
    pub async fn wait_acked(&self, end: u64, timeout: Duration) -> bool {
        let mut rx = self.shared.acked_watch.subscribe();
        let acked = tokio::time::timeout(timeout, rx.wait_for(|acked| *acked >= end))
            .await
            .is_ok_and(|r| r.is_ok());
        acked
    }

    /// Stops accepting and closes every link.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.wake_writers();
        if let Some(t) = self.accept.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = t.join();
        }
    }
}

impl ReplicaAcks for HaMaster {
    fn acked_offset(&self) -> u64 {
        self.shared.acked.load(Ordering::Acquire)
    }

    fn available(&self, end: u64) -> bool {
        // A slave that has not reported yet cannot acknowledge anything soon: answering
        // SLAVE_NOT_AVAILABLE beats stalling the send for `slaveTimeout`.
        let best = self
            .shared
            .lock_slaves()
            .values()
            .filter(|s| s.reported)
            .map(|s| s.acked_offset)
            .max();
        best.is_some_and(|b| end.saturating_sub(b) < self.shared.config.slave_fallbehind_max)
    }

    fn offer(&self, _end: u64) {
        // Called on every dispatch of an ASYNC_MASTER: nothing to wake without slaves.
        if self.shared.links.load(Ordering::Acquire) > 0 {
            self.shared.wake_writers();
        }
    }

    fn on_advance(&self, wake: Box<dyn Fn() + Send + Sync>) {
        self.shared
            .wakes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(wake);
    }
}

fn accept_loop(shared: &Arc<Shared>, listener: &TcpListener) {
    while !shared.stop.load(Ordering::Acquire) {
        match listener.accept() {
            Ok((stream, peer)) => {
                if let Err(e) = start_link(shared, stream, peer) {
                    tracing::warn!(%peer, error = %e, "cannot serve a slave");
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(e) => {
                tracing::warn!(error = %e, "HA accept failed");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// One slave's link: its reader and writer share `closed`.
struct Link {
    id: u64,
    peer: SocketAddr,
    closed: AtomicBool,
    /// The slave's first report (where to start), once it came.
    first: Mutex<Option<u64>>,
}

fn start_link(shared: &Arc<Shared>, stream: TcpStream, peer: SocketAddr) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(shared.config.housekeeping_interval))?;
    stream.set_write_timeout(Some(shared.config.housekeeping_interval))?;
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let now = Instant::now();
    shared.lock_slaves().insert(
        id,
        SlaveStatus {
            addr: peer,
            acked_offset: 0,
            last_report: now,
            connected_at: now,
            reported: false,
        },
    );
    shared.links.fetch_add(1, Ordering::AcqRel);
    tracing::info!(%peer, "slave connected");
    let link = Arc::new(Link {
        id,
        peer,
        closed: AtomicBool::new(false),
        first: Mutex::new(None),
    });
    let reader_stream = stream.try_clone()?;
    let (s, l) = (shared.clone(), link.clone());
    std::thread::Builder::new()
        .name("sluice-ha-read".into())
        .spawn(move || {
            read_reports(&s, &l, reader_stream);
            close(&s, &l);
        })?;
    let (s, l) = (shared.clone(), link);
    std::thread::Builder::new()
        .name("sluice-ha-write".into())
        .spawn(move || {
            if let Err(e) = transfer(&s, &l, &stream) {
                if !l.closed.load(Ordering::Acquire) {
                    tracing::warn!(peer = %l.peer, error = %e, "HA transfer stopped");
                }
            }
            let _ = stream.shutdown(Shutdown::Both);
            close(&s, &l);
        })?;
    Ok(())
}

fn close(shared: &Shared, link: &Link) {
    if !link.closed.swap(true, Ordering::AcqRel) {
        shared.links.fetch_sub(1, Ordering::AcqRel);
        shared.lock_slaves().remove(&link.id);
        shared.wake_writers();
        tracing::info!(peer = %link.peer, "slave disconnected");
    }
}

fn read_reports(shared: &Shared, link: &Link, mut stream: TcpStream) {
    let mut buf = Vec::with_capacity(64);
    let mut chunk = [0u8; 1024];
    while !link.closed.load(Ordering::Acquire) && !shared.stop.load(Ordering::Acquire) {
        let n = match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                tracing::warn!(peer = %link.peer, silent = ?shared.config.housekeeping_interval, "no report from the slave: closing");
                break;
            }
            Err(_) => break,
        };
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        let Some((offset, whole)) = wire::last_report(&buf) else {
            continue;
        };
        buf.drain(..whole);
        let max = shared.store.commitlog().write_pos();
        if offset < 0 || offset as u64 > max {
            tracing::warn!(
                peer = %link.peer,
                reported = offset,
                master_end = max,
                "the slave reports a CommitLog offset this master does not have: refused (a slave of another master, or one ahead after this master lost data)"
            );
            break;
        }
        let offset = offset as u64;
        {
            let mut first = link.first.lock().unwrap_or_else(|e| e.into_inner());
            if first.is_none() {
                *first = Some(offset);
                shared.wake_writers();
            }
        }
        shared.reported(link.id, offset);
    }
    let _ = stream.shutdown(Shutdown::Both);
}

fn transfer(shared: &Shared, link: &Link, mut stream: &TcpStream) -> std::io::Result<()> {
    let log = shared.store.commitlog().clone();
    let segment = log.segment_size();
    // Nothing is sent before the slave says where it stands.
    let first = loop {
        if link.closed.load(Ordering::Acquire) || shared.stop.load(Ordering::Acquire) {
            return Ok(());
        }
        let seen = shared.generation();
        if let Some(f) = *link.first.lock().unwrap_or_else(|e| e.into_inner()) {
            break f;
        }
        wait_for_data(shared, seen, IDLE_POLL);
    };
    let mut pos = if first == 0 {
        let end = log.write_pos();
        end - end % segment
    } else {
        first
    };
    if pos < log.min_offset() {
        return Err(std::io::Error::other(format!(
            "the slave stands at {pos}, before this master's oldest byte {}: it must be rebuilt from an empty store",
            log.min_offset()
        )));
    }
    tracing::info!(peer = %link.peer, from = pos, "replicating to the slave");
    let batch = shared.config.transfer_batch_size as u64;
    let mut last_write = Instant::now();
    while !link.closed.load(Ordering::Acquire) && !shared.stop.load(Ordering::Acquire) {
        // Read the generation before the log's end, so an offer in between is not slept past.
        let seen = shared.generation();
        let end = log.write_pos();
        if pos < end {
            let segment_end = pos - pos % segment + segment;
            let n = batch.min(end - pos).min(segment_end - pos);
            let bytes = log
                .read(pos, n as usize)
                .map_err(|e| std::io::Error::other(format!("reading CommitLog at {pos}: {e}")))?;
            stream.write_all(&wire::header(pos, n as u32))?;
            stream.write_all(&bytes)?;
            pos += n;
            last_write = Instant::now();
            continue;
        }
        if last_write.elapsed() >= shared.config.heartbeat_interval {
            stream.write_all(&wire::header(pos, 0))?;
            last_write = Instant::now();
        }
        wait_for_data(shared, seen, IDLE_POLL);
    }
    Ok(())
}

/// Sleeps until the generation moves past `seen` (new data offered, a link closed, stop) or
/// `timeout` passes.
fn wait_for_data(shared: &Shared, seen: u64, timeout: Duration) {
    let g = shared.offered.lock().unwrap_or_else(|e| e.into_inner());
    let _ = shared.data.wait_timeout_while(g, timeout, |now| {
        *now == seen && !shared.stop.load(Ordering::Acquire)
    });
}
