//! The master side of the HA stream (protocol.md §9.0 items 1, 7 and §9.1): a listener on
//! `haListenPort`; per slave, a reader thread taking its 8-byte reports (the newest of each
//! read counts; silence for `haHousekeepingInterval` closes the link; an offset this master
//! does not have is refused) and a writer thread sending raw CommitLog bytes from where the
//! slave stands — at most `haTransferBatchSize` per transfer and never across a segment end —
//! with a heartbeat after `haSendHeartbeatInterval` of idleness. An empty slave (report 0) is
//! fed from the start of the master's last segment.
//!
//! In controller mode ([`AutoSwitch`]) the same links speak 5.x's AutoSwitch packets
//! (`sluice_remoting::ha_auto`): the slave's handshake names its broker id, the master answers
//! with its epoch list, transfers carry their epoch and never span two, and a put counts as
//! replicated once every slave of the SyncStateSet has it.
//!
//! Plain threads with blocking sockets: a group has a handful of slaves, and each link's two
//! loops read best as straight-line code with socket timeouts.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sluice_dataflows::ReplicaAcks;
use sluice_remoting::ha_auto::{self as auto, Epoch};
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
    /// Controller mode: the broker id its handshake named.
    pub broker_id: Option<i64>,
    /// Controller mode: when its report last reached this master's end.
    pub caught_up_at: Option<Instant>,
}

/// Controller mode's side of a master: its epochs and whom a put waits for.
#[derive(Debug, Clone)]
pub struct AutoSwitch {
    /// This master's epoch and its log's epoch list (the last entry is this epoch's start).
    pub master_epoch: i32,
    pub epochs: Vec<Epoch>,
    /// Slaves of the SyncStateSet (this master excluded): a put waits for each of them.
    pub required: BTreeSet<i64>,
    /// `max(inSyncReplicas, minInSyncReplicas)`: a put needs at least this many in-sync
    /// replicas, this master counted.
    pub min_replicas: usize,
}

struct Shared {
    store: Arc<MessageStore>,
    config: HaConfig,
    slaves: Mutex<BTreeMap<u64, SlaveStatus>>,
    next_id: AtomicU64,
    /// push2SlaveMaxOffset: the highest offset any slave has reported.
    acked: AtomicU64,
    wakes: Mutex<Vec<Box<dyn Fn() + Send + Sync>>>,
    /// Sends that await `acked` (a SYNC_MASTER's under ASYNC_FLUSH).
    waiters: super::waiters::AckWaiters,
    /// Bumped when new data waits for the slaves; writers sleep on it.
    offered: AtomicU64,
    /// Writers asleep on `data` (under `sleep`): an offer takes the lock and notifies only
    /// when one is, so a send made while the writers are busy costs no system call.
    sleepers: std::sync::atomic::AtomicUsize,
    sleep: Mutex<()>,
    data: Condvar,
    stop: AtomicBool,
    /// Connected slaves (their writers are what `offer` wakes).
    links: std::sync::atomic::AtomicUsize,
    /// Controller mode.
    auto: Option<Mutex<AutoSwitch>>,
    /// Called when a slave connects, goes, or catches up (the SyncStateSet may change).
    on_change: Mutex<Option<Box<dyn Fn() + Send + Sync>>>,
}

impl Shared {
    fn lock_slaves(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, SlaveStatus>> {
        self.slaves.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn generation(&self) -> u64 {
        self.offered.load(Ordering::SeqCst)
    }

    fn wake_writers(&self) {
        // SeqCst on both sides (here: bump, then look for sleepers; in `wait_for_data`: count
        // in, then look at the generation): either this sees the sleeper, or the sleeper sees
        // the new generation and does not sleep.
        self.offered.fetch_add(1, Ordering::SeqCst);
        if self.sleepers.load(Ordering::SeqCst) > 0 {
            let _g = self.sleep.lock().unwrap_or_else(|e| e.into_inner());
            self.data.notify_all();
        }
    }

    fn reported(&self, id: u64, offset: u64) {
        let mut caught_up_now = false;
        if let Some(s) = self.lock_slaves().get_mut(&id) {
            s.acked_offset = offset;
            s.last_report = Instant::now();
            s.reported = true;
            if self.auto.is_some() && offset >= self.store.commitlog().write_pos() {
                caught_up_now = s.caught_up_at.is_none();
                s.caught_up_at = Some(Instant::now());
            }
        }
        self.publish_acked();
        if caught_up_now {
            self.changed();
        }
    }

    /// The offset every put below which is replicated as the mode says: the best slave's
    /// report (4.9), or the lowest report among the SyncStateSet's slaves (controller mode;
    /// everything while the set is this master alone).
    fn compute_acked(&self, slaves: &BTreeMap<u64, SlaveStatus>) -> u64 {
        let Some(auto) = &self.auto else {
            return slaves.values().map(|s| s.acked_offset).max().unwrap_or(0);
        };
        let auto = auto.lock().unwrap_or_else(|e| e.into_inner());
        auto.required
            .iter()
            .map(|id| {
                slaves
                    .values()
                    .filter(|s| s.broker_id == Some(*id))
                    .map(|s| s.acked_offset)
                    .max()
                    .unwrap_or(0)
            })
            .min()
            .unwrap_or(u64::MAX)
    }

    fn publish_acked(&self) {
        // Computed and published under the slaves' lock: two links reporting at once must not
        // publish out of order, or the older (lower) frontier would stay until the next report
        // (a slave's heartbeat, seconds later) and a put would wait for it.
        let moved = {
            let slaves = self.lock_slaves();
            let acked = self.compute_acked(&slaves);
            let moved = if self.auto.is_some() {
                // What readers may see: dispatch (ConsumeQueues, so pulls) stops at the confirm
                // offset, so no consumer reads — and commits an offset past — a message that a
                // master elected next might not have (5.x's reput up to the confirm offset).
                self.store.set_dispatch_bound(acked);
                // The set may have grown: the frontier follows the set in force, down as well.
                self.acked.swap(acked, Ordering::AcqRel) != acked
            } else {
                self.acked.fetch_max(acked, Ordering::AcqRel) < acked
            };
            if moved {
                self.waiters.release(acked);
            }
            moved
        };
        if moved {
            for wake in self.wakes.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                wake();
            }
        }
    }

    /// What every replica a put waits for has (the log's end while it waits for none).
    fn confirmed(&self) -> u64 {
        self.acked
            .load(Ordering::Acquire)
            .min(self.store.commitlog().write_pos())
    }

    fn changed(&self) {
        if let Some(f) = self.on_change.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            f();
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
    /// Starts accepting slaves on `listener` (the HA port; bound with SO_REUSEADDR by the
    /// caller, so that a broker restarted in a new role rebinds it at once).
    pub fn start(
        store: Arc<MessageStore>,
        config: HaConfig,
        listener: TcpListener,
        auto: Option<AutoSwitch>,
    ) -> std::io::Result<Arc<HaMaster>> {
        let local_addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let shared = Arc::new(Shared {
            store,
            config,
            slaves: Mutex::new(BTreeMap::new()),
            next_id: AtomicU64::new(1),
            acked: AtomicU64::new(0),
            wakes: Mutex::new(Vec::new()),
            waiters: super::waiters::AckWaiters::default(),
            offered: AtomicU64::new(0),
            sleepers: std::sync::atomic::AtomicUsize::new(0),
            sleep: Mutex::new(()),
            data: Condvar::new(),
            stop: AtomicBool::new(false),
            links: std::sync::atomic::AtomicUsize::new(0),
            auto: auto.map(Mutex::new),
            on_change: Mutex::new(None),
        });
        shared.publish_acked();
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
        let waiters = &self.shared.waiters;
        let mut w = waiters.register(end);
        // After registering: a frontier published before it released nobody, and one
        // published after it finds this send registered.
        if self.shared.acked.load(Ordering::Acquire) >= end {
            waiters.cancel(&w);
            return true;
        }
        match tokio::time::timeout(timeout, &mut w.done).await {
            Ok(r) => r.is_ok(),
            Err(_) => {
                waiters.cancel(&w);
                false
            }
        }
    }

    /// Answers a send whose bytes end at `end` once a slave has reported them (`answer(true)`),
    /// or with `answer(false)` once `timeout` has passed ([`Self::expire_waiters`]). For a
    /// SYNC_MASTER's inline sends under ASYNC_FLUSH (`processor/send.rs`): no task waits.
    pub fn defer_ack(&self, end: u64, timeout: Duration, answer: super::waiters::Deferred) {
        let acked = &self.shared.acked;
        self.shared
            .waiters
            .defer(end, Instant::now() + timeout, answer, || {
                acked.load(Ordering::Acquire)
            });
    }

    /// Offers a put ending at `end` to the slaves, unless none can take it (false: the put is
    /// answered SLAVE_NOT_AVAILABLE at once, as 4.9 does, instead of waiting `slaveTimeout`).
    pub fn offer_put(&self, end: u64) -> bool {
        if !self.available(end) {
            return false;
        }
        self.offer(end);
        true
    }

    /// Answers the deferred sends whose `slaveTimeout` has passed (called every few ms).
    pub fn expire_waiters(&self) {
        self.shared.waiters.expire(Instant::now());
    }

    /// Whether this master runs in controller mode (its confirm offset bounds dispatch).
    pub fn is_auto(&self) -> bool {
        self.shared.auto.is_some()
    }

    /// Controller mode: the SyncStateSet's slaves a put now waits for (a set that grows is
    /// required at once; one that shrinks only once the controller has committed it).
    pub fn set_required(&self, required: BTreeSet<i64>) {
        if let Some(auto) = &self.shared.auto {
            auto.lock().unwrap_or_else(|e| e.into_inner()).required = required;
            self.shared.publish_acked();
        }
    }

    /// Controller mode: the slaves a put waits for.
    pub fn required(&self) -> BTreeSet<i64> {
        self.shared
            .auto
            .as_ref()
            .map(|a| a.lock().unwrap_or_else(|e| e.into_inner()).required.clone())
            .unwrap_or_default()
    }

    /// Controller mode: whether the SyncStateSet is large enough to take a put.
    pub fn enough_in_sync(&self) -> bool {
        self.shared.auto.as_ref().is_none_or(|a| {
            let a = a.lock().unwrap_or_else(|e| e.into_inner());
            a.required.len() + 1 >= a.min_replicas
        })
    }

    /// Controller mode: the in-sync replicas a put needs (1 otherwise).
    pub fn min_replicas(&self) -> usize {
        self.shared
            .auto
            .as_ref()
            .map_or(1, |a| a.lock().unwrap_or_else(|e| e.into_inner()).min_replicas)
    }

    /// Calls `f` whenever a slave connects, goes or first catches up.
    pub fn on_change(&self, f: Box<dyn Fn() + Send + Sync>) {
        *self.shared.on_change.lock().unwrap_or_else(|e| e.into_inner()) = Some(f);
    }

    /// What every replica a put waits for has (this master's end while it waits for none).
    pub fn confirmed(&self) -> u64 {
        self.shared.confirmed()
    }

    /// Stops accepting and closes every link.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.wake_writers();
        // Deferred answers hold their connections (and the broker's state): answer them now.
        self.shared.waiters.fail_all();
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
        if let Some(auto) = &self.shared.auto {
            let auto = auto.lock().unwrap_or_else(|e| e.into_inner());
            return auto.required.len() + 1 >= auto.min_replicas;
        }
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
    /// Controller mode: the slave's handshake, once it came.
    handshake: Mutex<Option<auto::HandshakeRequest>>,
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
            broker_id: None,
            caught_up_at: None,
        },
    );
    shared.links.fetch_add(1, Ordering::AcqRel);
    tracing::info!(%peer, "slave connected");
    let link = Arc::new(Link {
        id,
        peer,
        closed: AtomicBool::new(false),
        first: Mutex::new(None),
        handshake: Mutex::new(None),
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
        shared.publish_acked();
        shared.changed();
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
        let offset = if shared.auto.is_some() {
            match take_auto(shared, link, &mut buf) {
                Ok(Some(offset)) => offset,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(peer = %link.peer, error = %e, "bad packet from the slave: closing");
                    break;
                }
            }
        } else {
            let Some((offset, whole)) = wire::last_report(&buf) else {
                continue;
            };
            buf.drain(..whole);
            offset
        };
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

/// Controller mode: the handshake (once), then the newest whole ACK in `buf`; whole packets
/// are taken out of `buf`.
fn take_auto(shared: &Shared, link: &Link, buf: &mut Vec<u8>) -> Result<Option<i64>, auto::AutoError> {
    let mut at = 0;
    let mut handshake = link.handshake.lock().unwrap_or_else(|e| e.into_inner());
    if handshake.is_none() {
        let Some(head) = buf.get(..auto::HANDSHAKE_REQUEST_LEN) else {
            return Ok(None);
        };
        let mut b = [0u8; auto::HANDSHAKE_REQUEST_LEN];
        b.copy_from_slice(head);
        let req = auto::HandshakeRequest::decode(&b)?;
        tracing::info!(peer = %link.peer, slave_broker_id = req.slave_broker_id, "slave handshake");
        *handshake = Some(req);
        if let Some(s) = shared.lock_slaves().get_mut(&link.id) {
            s.broker_id = Some(req.slave_broker_id);
        }
        at = auto::HANDSHAKE_REQUEST_LEN;
        shared.wake_writers();
        shared.changed();
    }
    drop(handshake);
    let rest = buf.get(at..).unwrap_or_default();
    let whole = rest.len() - rest.len() % auto::ACK_LEN;
    let mut last = None;
    for c in rest.get(..whole).unwrap_or_default().chunks_exact(auto::ACK_LEN) {
        let mut b = [0u8; auto::ACK_LEN];
        b.copy_from_slice(c);
        last = Some(auto::decode_ack(&b)? as i64);
    }
    buf.drain(..at + whole);
    Ok(last)
}

/// Controller mode: answers the slave's handshake with this master's max offset, epoch and
/// epoch list, once the handshake came (false: stopping first).
fn answer_handshake(shared: &Shared, link: &Link, mut stream: &TcpStream) -> std::io::Result<bool> {
    let Some(auto) = &shared.auto else {
        return Ok(true);
    };
    loop {
        if link.closed.load(Ordering::Acquire) || shared.stop.load(Ordering::Acquire) {
            return Ok(false);
        }
        let seen = shared.generation();
        if link.handshake.lock().unwrap_or_else(|e| e.into_inner()).is_some() {
            break;
        }
        wait_for_data(shared, seen, IDLE_POLL);
    }
    let (master_epoch, epochs) = {
        let a = auto.lock().unwrap_or_else(|e| e.into_inner());
        (a.master_epoch, a.epochs.clone())
    };
    let answer = auto::HandshakeResponse {
        master_max_offset: shared.store.commitlog().write_pos(),
        master_epoch,
        epochs,
    };
    stream.write_all(&answer.encode())?;
    Ok(true)
}

/// The header of a transfer of `n` bytes from `pos`: 4.9's, or 5.x's with the epoch holding
/// `pos` and the confirm offset.
fn transfer_header(shared: &Shared, epochs: &[Epoch], pos: u64, n: u64) -> Vec<u8> {
    if shared.auto.is_none() {
        return wire::header(pos, n as u32).to_vec();
    }
    // Before the first entry: epoch 0 from offset 0, bytes written before controller mode.
    let e = auto::epoch_at(epochs, pos).unwrap_or(Epoch {
        epoch: 0,
        start_offset: 0,
    });
    auto::TransferHeader {
        size: n as usize,
        offset: pos,
        epoch: e.epoch,
        epoch_start_offset: e.start_offset,
        confirm_offset: shared.confirmed(),
    }
    .encode()
    .to_vec()
}

fn transfer(shared: &Shared, link: &Link, mut stream: &TcpStream) -> std::io::Result<()> {
    if !answer_handshake(shared, link, stream)? {
        return Ok(());
    }
    let epochs = shared
        .auto
        .as_ref()
        .map(|a| a.lock().unwrap_or_else(|e| e.into_inner()).epochs.clone())
        .unwrap_or_default();
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
            // A batch never spans two epochs (5.x's rule; the slave records each epoch's start).
            let epoch_end = auto::epoch_end(&epochs, pos).unwrap_or(u64::MAX);
            let n = batch.min(end - pos).min(segment_end - pos).min(epoch_end - pos);
            let bytes = log
                .read(pos, n as usize)
                .map_err(|e| std::io::Error::other(format!("reading CommitLog at {pos}: {e}")))?;
            write_both(stream, &transfer_header(shared, &epochs, pos, n), &bytes)?;
            pos += n;
            last_write = Instant::now();
            continue;
        }
        if last_write.elapsed() >= shared.config.heartbeat_interval {
            stream.write_all(&transfer_header(shared, &epochs, pos, 0))?;
            last_write = Instant::now();
        }
        wait_for_data(shared, seen, IDLE_POLL);
    }
    Ok(())
}

/// Writes `head` then `body` with as few calls as the socket takes (usually one): one segment
/// on the wire and one wake-up of the slave per transfer, with no copy of the body.
fn write_both(mut stream: &TcpStream, head: &[u8], body: &[u8]) -> std::io::Result<()> {
    let mut bufs = [std::io::IoSlice::new(head), std::io::IoSlice::new(body)];
    let mut left = &mut bufs[..];
    while !left.is_empty() {
        match stream.write_vectored(left) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => std::io::IoSlice::advance_slices(&mut left, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Sleeps until the generation moves past `seen` (new data offered, a link closed, stop) or
/// `timeout` passes.
fn wait_for_data(shared: &Shared, seen: u64, timeout: Duration) {
    let g = shared.sleep.lock().unwrap_or_else(|e| e.into_inner());
    shared.sleepers.fetch_add(1, Ordering::SeqCst);
    let _ = shared.data.wait_timeout_while(g, timeout, |_| {
        shared.offered.load(Ordering::SeqCst) == seen && !shared.stop.load(Ordering::Acquire)
    });
    shared.sleepers.fetch_sub(1, Ordering::SeqCst);
}
