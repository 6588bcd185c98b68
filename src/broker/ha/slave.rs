//! The slave side of the HA stream (protocol.md §9.0 items 1–2, §9.1): connect to the master's
//! HA address (`haMasterAddress`, else the one the NameServer returned at registration), report
//! this log's end at once (a 5.x slave does; 4.9.8 waits 5 s), append each transfer verbatim to
//! the CommitLog — after fdatasync under SYNC_FLUSH — report the new end, and let the pipeline
//! dispatch it (ConsumeQueues, IndexFiles, long polls) as it dispatches local appends. A report
//! goes out at least every `haSendHeartbeatInterval`; a master silent for
//! `haHousekeepingInterval` (counted from the last read, as 5.x does) is dropped and dialled
//! again. A restarted slave resumes from its own end; a transfer that does not start there is a
//! protocol error (reconnect).
//!
//! In controller mode ([`SlaveAuto`]) the link speaks 5.x's AutoSwitch packets: it opens with
//! its broker id, compares its epoch file with the master's list, and stops — asking the
//! supervisor to cut the log back — when its log holds bytes the master never had; each
//! transfer's epoch is recorded before its bytes are appended.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sluice_dataflows::Submitter;
use sluice_remoting::ha_auto as auto;
use sluice_remoting::ha_stream as wire;
use sluice_storage::epochs::EpochFile;
use sluice_storage::{FlushDiskType, MessageStore};

use crate::broker::config::HaConfig;

/// Between connection attempts.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);
/// Socket read timeout: how often the loop looks at the clock while waiting.
const TICK: Duration = Duration::from_millis(500);
/// The largest transfer accepted (a master sends `haTransferBatchSize`, 32 KiB by default).
const MAX_TRANSFER: usize = 16 << 20;

/// What `brokerStatus` / `haStatus` show of a slave's link.
#[derive(Debug, Clone, Default)]
pub struct LinkStatus {
    /// The master's HA address this slave is connected to.
    pub master: Option<String>,
    /// The last transfer or heartbeat's offset: how far the master was known to be.
    pub master_offset: u64,
    /// When the master was last heard from.
    pub last_read: Option<Instant>,
    /// Controller mode: the master's confirm offset (every in-sync replica has what is below).
    pub confirm_offset: u64,
}

/// Controller mode's side of a slave.
pub struct SlaveAuto {
    pub broker_id: i64,
    pub epochs: EpochFile,
    /// Called (once) when this log holds bytes past where it agrees with the master's: the
    /// link stops, and the supervisor cuts the log back to the offset given and starts again.
    pub on_diverged: Box<dyn Fn(u64) + Send + Sync>,
}

struct Shared {
    store: Arc<MessageStore>,
    submitter: Submitter,
    config: HaConfig,
    /// The master's HA address from the NameServer (REGISTER_BROKER's `haServerAddr`).
    from_namesrv: Mutex<Option<String>>,
    status: Mutex<LinkStatus>,
    stop: AtomicBool,
    auto: Option<Mutex<SlaveAuto>>,
}

/// A slave's replication link to its master.
pub struct HaSlave {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl HaSlave {
    pub fn start(
        store: Arc<MessageStore>,
        submitter: Submitter,
        config: HaConfig,
        auto: Option<SlaveAuto>,
    ) -> std::io::Result<Arc<HaSlave>> {
        let shared = Arc::new(Shared {
            store,
            submitter,
            config,
            from_namesrv: Mutex::new(None),
            status: Mutex::new(LinkStatus::default()),
            stop: AtomicBool::new(false),
            auto: auto.map(Mutex::new),
        });
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("sluice-ha-slave".into())
            .spawn(move || run(&s))?;
        Ok(Arc::new(HaSlave {
            shared,
            thread: Mutex::new(Some(thread)),
        }))
    }

    /// The master's HA address as the NameServer says (used unless `haMasterAddress` is set).
    pub fn set_master_from_namesrv(&self, addr: Option<String>) {
        let mut m = self.shared.from_namesrv.lock().unwrap_or_else(|e| e.into_inner());
        if *m != addr {
            tracing::info!(master = ?addr, "master HA address from the NameServer");
            *m = addr;
        }
    }

    pub fn status(&self) -> LinkStatus {
        self.shared
            .status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// This slave's end of the log.
    pub fn offset(&self) -> u64 {
        self.shared.store.commitlog().write_pos()
    }

    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = t.join();
        }
    }
}

fn master_addr(shared: &Shared) -> Option<String> {
    shared.config.master_address.clone().or_else(|| {
        shared
            .from_namesrv
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    })
}

fn run(shared: &Shared) {
    let mut last_error: Option<String> = None;
    while !shared.stop.load(Ordering::Acquire) {
        let Some(addr) = master_addr(shared) else {
            std::thread::sleep(TICK);
            continue;
        };
        match session(shared, &addr) {
            Ok(()) => last_error = None,
            Err(e) => {
                let e = e.to_string();
                // Say it once per kind of failure, not every second.
                if last_error.as_deref() != Some(e.as_str()) {
                    tracing::warn!(master = %addr, error = %e, "replication link down; retrying");
                }
                last_error = Some(e);
            }
        }
        if let Ok(mut s) = shared.status.lock() {
            s.master = None;
        }
        let until = Instant::now() + RECONNECT_DELAY;
        while Instant::now() < until && !shared.stop.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A connection whose reads wait in ticks, reporting on time in between.
struct Link<'a> {
    shared: &'a Shared,
    stream: TcpStream,
    last_read: Instant,
    last_report: Instant,
}

impl Link<'_> {
    fn report(&mut self) -> std::io::Result<()> {
        let end = self.shared.store.commitlog().write_pos();
        if self.shared.auto.is_some() {
            self.stream.write_all(&auto::ack(end))?;
        } else {
            self.stream.write_all(&wire::report(end))?;
        }
        self.last_report = Instant::now();
        Ok(())
    }

    /// Fills `buf` entirely; `Ok(false)` when stopping.
    fn fill(&mut self, buf: &mut [u8]) -> std::io::Result<bool> {
        let mut got = 0;
        while got < buf.len() {
            if self.shared.stop.load(Ordering::Acquire) {
                return Ok(false);
            }
            match self.stream.read(buf.get_mut(got..).unwrap_or_default()) {
                Ok(0) => return Err(std::io::Error::other("the master closed the connection")),
                Ok(n) => {
                    got += n;
                    self.last_read = Instant::now();
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    if self.last_read.elapsed() >= self.shared.config.housekeeping_interval {
                        return Err(std::io::Error::other(format!(
                            "nothing from the master for {:?}",
                            self.shared.config.housekeeping_interval
                        )));
                    }
                }
                Err(e) => return Err(e),
            }
            if self.last_report.elapsed() >= self.shared.config.heartbeat_interval {
                self.report()?;
            }
        }
        Ok(true)
    }
}

fn resolve(addr: &str) -> std::io::Result<SocketAddr> {
    addr.to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other(format!("cannot resolve {addr}")))
}

fn session(shared: &Shared, addr: &str) -> std::io::Result<()> {
    let stream = TcpStream::connect_timeout(&resolve(addr)?, Duration::from_secs(3))?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(TICK))?;
    stream.set_write_timeout(Some(shared.config.housekeeping_interval))?;
    let now = Instant::now();
    let mut link = Link {
        shared,
        stream,
        last_read: now,
        last_report: now,
    };
    if shared.auto.is_some() && !handshake(&mut link)? {
        // Diverged: the supervisor cuts the log back and starts again.
        shared.stop.store(true, Ordering::Release);
        return Ok(());
    }
    link.report()?;
    tracing::info!(
        master = addr,
        from = shared.store.commitlog().write_pos(),
        "replicating from the master"
    );
    if let Ok(mut s) = shared.status.lock() {
        s.master = Some(addr.to_owned());
    }
    let result = receive(&mut link);
    let _ = link.stream.shutdown(Shutdown::Both);
    result
}

/// Controller mode: sends the handshake, reads the master's epochs, and decides whether this
/// log can follow it as it is (true) or must first be cut back (false, after telling the
/// supervisor where).
fn handshake(link: &mut Link<'_>) -> std::io::Result<bool> {
    let shared = link.shared;
    let Some(auto_state) = &shared.auto else {
        return Ok(true);
    };
    let id = auto_state.lock().unwrap_or_else(|e| e.into_inner()).broker_id;
    let req = auto::HandshakeRequest {
        sync_from_last_file: true,
        async_learner: false,
        slave_broker_id: id,
    };
    link.stream.write_all(&req.encode())?;
    link.last_report = Instant::now();
    let mut head = [0u8; auto::HANDSHAKE_HEAD_LEN];
    if !link.fill(&mut head)? {
        return Ok(false);
    }
    let (len, master_max, master_epoch) =
        auto::HandshakeResponse::decode_head(&head, MAX_TRANSFER).map_err(std::io::Error::other)?;
    let mut body = vec![0u8; len];
    if !link.fill(&mut body)? {
        return Ok(false);
    }
    let answer =
        auto::HandshakeResponse::with_body(master_max, master_epoch, &body).map_err(std::io::Error::other)?;
    let mine = shared.store.commitlog().write_pos();
    let st = auto_state.lock().unwrap_or_else(|e| e.into_inner());
    let cut = if mine == 0 {
        None
    } else if st.epochs.entries().is_empty() {
        // A log from before controller mode: it agrees as far as the master reaches.
        (mine > master_max).then_some(master_max)
    } else {
        match auto::consistent_point(st.epochs.entries(), mine, &answer.epochs, master_max) {
            Some(p) if p >= mine => None,
            Some(p) => Some(p),
            // No epoch in common: nothing written under a known epoch can be kept.
            None => Some(
                st.epochs
                    .entries()
                    .first()
                    .map_or(0, |e| e.start_offset)
                    .min(master_max),
            ),
        }
    };
    tracing::info!(master_epoch, master_max, mine, ?cut, "handshake with the master");
    match cut {
        None => Ok(true),
        Some(at) => {
            tracing::warn!(
                mine,
                at,
                master_epoch,
                "this log holds bytes the new master never had: cutting it back before following"
            );
            (st.on_diverged)(at);
            Ok(false)
        }
    }
}

/// Controller mode: records the epoch a transfer names before its bytes land.
fn note_epoch(shared: &Shared, epoch: i32, start: u64) -> std::io::Result<()> {
    let Some(a) = &shared.auto else {
        return Ok(());
    };
    // A repeat of the newest entry writes nothing (`EpochFile::append`).
    a.lock()
        .unwrap_or_else(|e| e.into_inner())
        .epochs
        .append(epoch, start)
        .map_err(|e| std::io::Error::other(format!("recording epoch {epoch}: {e}")))
}

/// The next transfer's header, in either framing.
fn read_header(link: &mut Link<'_>) -> std::io::Result<Option<auto::TransferHeader>> {
    if link.shared.auto.is_some() {
        let mut head = [0u8; auto::TRANSFER_HEAD_LEN];
        if !link.fill(&mut head)? {
            return Ok(None);
        }
        return auto::TransferHeader::decode(&head, MAX_TRANSFER)
            .map(Some)
            .map_err(std::io::Error::other);
    }
    let mut head = [0u8; wire::HEADER_LEN];
    if !link.fill(&mut head)? {
        return Ok(None);
    }
    let h = wire::parse_header(&head, MAX_TRANSFER).map_err(std::io::Error::other)?;
    Ok(Some(auto::TransferHeader {
        size: h.size,
        offset: h.offset,
        epoch: 0,
        epoch_start_offset: 0,
        confirm_offset: 0,
    }))
}

fn receive(link: &mut Link<'_>) -> std::io::Result<()> {
    let shared = link.shared;
    let store = &shared.store;
    let sync_flush = store.config().flush_disk_type == FlushDiskType::SyncFlush;
    let mut data = Vec::new();
    loop {
        let Some(h) = read_header(link)? else {
            return Ok(());
        };
        // As on the master, readers here see only what every in-sync replica has: this slave
        // may yet be cut back past the rest (5.x's slaves reput to the confirm offset the
        // master sends, with each transfer and heartbeat).
        if shared.auto.is_some() && store.set_dispatch_bound(h.confirm_offset) {
            shared.submitter.redispatch();
        }
        let mine = store.commitlog().write_pos();
        if mine != 0 && h.offset != mine {
            return Err(std::io::Error::other(format!(
                "the master sent bytes from {} but this slave's log ends at {mine}",
                h.offset
            )));
        }
        if let Ok(mut s) = shared.status.lock() {
            s.master_offset = h.offset + h.size as u64;
            s.last_read = Some(Instant::now());
            s.confirm_offset = h.confirm_offset;
        }
        if h.size == 0 {
            continue; // heartbeat
        }
        data.resize(h.size, 0);
        if !link.fill(&mut data)? {
            return Ok(());
        }
        if shared.auto.is_some() {
            note_epoch(shared, h.epoch, h.epoch_start_offset)?;
        }
        let end = store
            .append_replicated(h.offset, &data)
            .map_err(|e| std::io::Error::other(format!("appending replicated bytes: {e}")))?;
        if sync_flush {
            store.flusher().request(end);
            store
                .flusher()
                .wait_durable(end, store.sync_flush_timeout())
                .map_err(|e| std::io::Error::other(format!("flushing replicated bytes: {e}")))?;
        }
        // The report first: a SYNC_MASTER's send waits for it, dispatch here does not.
        link.report()?;
        shared.submitter.replicated(end);
    }
}
