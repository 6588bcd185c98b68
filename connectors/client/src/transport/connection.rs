//! One remoting connection: a reader task matching responses to requests by opaque
//! (protocol.md §1.5) and dispatching server-initiated requests, a writer task draining a
//! queue of encoded frames.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use sluice_remoting::frame::{encode, DEFAULT_MAX_FRAME};
use sluice_remoting::{DecoderLimits, FrameDecoder, RemotingCommand};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

use super::RequestHandler;
use crate::error::{ClientError, Result};

/// The `tracing` target of one event per exchanged command (request code, response code, remark) at
/// DEBUG level: enough to compare a session with protocol.md without a packet capture.
pub const WIRE_TARGET: &str = "sluice_client::wire";

/// Process-wide opaque counter (Java starts at 0, §1.5).
static NEXT_OPAQUE: AtomicI32 = AtomicI32::new(1);

type Pending = Mutex<HashMap<i32, oneshot::Sender<RemotingCommand>>>;

struct Inner {
    addr: String,
    writer: mpsc::UnboundedSender<BytesMut>,
    pending: Pending,
    closed: AtomicBool,
}

/// A multiplexed connection to one NameServer or broker. Cheap to clone.
#[derive(Clone)]
pub struct Connection {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("addr", &self.inner.addr)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Connection {
    /// Connects to `addr` (`host:port`) within `timeout`.
    pub async fn connect(addr: &str, timeout: Duration, handler: Arc<dyn RequestHandler>) -> Result<Self> {
        let io_err = |source| ClientError::Io {
            addr: addr.to_owned(),
            source,
        };
        let stream = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(s) => s.map_err(io_err)?,
            Err(_) => {
                return Err(io_err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "connect timed out",
                )))
            }
        };
        let _ = stream.set_nodelay(true);
        let (rd, wr) = stream.into_split();
        let (tx, rx) = mpsc::unbounded_channel();
        let conn = Connection {
            inner: Arc::new(Inner {
                addr: addr.to_owned(),
                writer: tx,
                pending: Mutex::new(HashMap::new()),
                closed: AtomicBool::new(false),
            }),
        };
        tokio::spawn(write_loop(conn.clone(), wr, rx));
        tokio::spawn(read_loop(conn.clone(), rd, handler));
        tracing::debug!(addr, "connected");
        Ok(conn)
    }

    /// The remote address this connection was opened to.
    pub fn addr(&self) -> &str {
        &self.inner.addr
    }

    /// True once the connection broke or was closed.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    /// Closes the connection; outstanding requests fail with [`ClientError::Closed`].
    pub fn close(&self) {
        if !self.inner.closed.swap(true, Ordering::AcqRel) {
            tracing::debug!(addr = %self.inner.addr, "connection closed");
        }
        self.fail_pending();
    }

    fn fail_pending(&self) {
        let drained: Vec<_> = match self.inner.pending.lock() {
            Ok(mut p) => p.drain().collect(),
            Err(_) => Vec::new(),
        };
        drop(drained); // dropping the senders wakes the waiters with "closed"
    }

    fn send_frame(&self, cmd: &RemotingCommand) -> Result<()> {
        if self.is_closed() {
            return Err(self.closed_error());
        }
        let mut buf = BytesMut::with_capacity(256 + cmd.body.len());
        encode(cmd, &mut buf).map_err(|e| ClientError::InvalidArgument(e.to_string()))?;
        self.inner.writer.send(buf).map_err(|_| self.closed_error())
    }

    fn closed_error(&self) -> ClientError {
        ClientError::Closed {
            addr: self.inner.addr.clone(),
        }
    }

    /// Sends a request and waits for the response with the same opaque, at most `timeout`.
    /// The response is returned whatever its code.
    pub async fn invoke(&self, mut cmd: RemotingCommand, timeout: Duration) -> Result<RemotingCommand> {
        let opaque = NEXT_OPAQUE.fetch_add(1, Ordering::Relaxed);
        cmd.opaque = opaque;
        let (tx, rx) = oneshot::channel();
        if let Ok(mut p) = self.inner.pending.lock() {
            p.insert(opaque, tx);
        }
        if let Err(e) = self.send_frame(&cmd) {
            self.forget(opaque);
            return Err(e);
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(resp)) => {
                tracing::debug!(
                    target: WIRE_TARGET,
                    addr = %self.inner.addr,
                    request = cmd.code,
                    response = resp.code,
                    remark = resp.remark.as_deref().unwrap_or(""),
                    "invoke"
                );
                Ok(resp)
            }
            Ok(Err(_)) => {
                tracing::debug!(target: WIRE_TARGET, addr = %self.inner.addr, request = cmd.code, "closed");
                Err(self.closed_error())
            }
            Err(_) => {
                tracing::debug!(target: WIRE_TARGET, addr = %self.inner.addr, request = cmd.code, "timeout");
                self.forget(opaque);
                Err(ClientError::Timeout {
                    addr: self.inner.addr.clone(),
                    code: cmd.code,
                    millis: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
                })
            }
        }
    }

    /// Sends a request with the oneway flag; nothing is awaited (§1.5).
    pub fn oneway(&self, mut cmd: RemotingCommand) -> Result<()> {
        cmd.opaque = NEXT_OPAQUE.fetch_add(1, Ordering::Relaxed);
        cmd.mark_oneway();
        tracing::debug!(target: WIRE_TARGET, addr = %self.inner.addr, request = cmd.code, "oneway");
        self.send_frame(&cmd)
    }

    /// Sends a response (to a server-initiated request).
    pub fn respond(&self, resp: &RemotingCommand) -> Result<()> {
        self.send_frame(resp)
    }

    fn forget(&self, opaque: i32) {
        if let Ok(mut p) = self.inner.pending.lock() {
            p.remove(&opaque);
        }
    }

    fn complete(&self, resp: RemotingCommand) {
        let waiter = match self.inner.pending.lock() {
            Ok(mut p) => p.remove(&resp.opaque),
            Err(_) => None,
        };
        match waiter {
            Some(tx) => {
                let _ = tx.send(resp);
            }
            None => tracing::debug!(addr = %self.inner.addr, opaque = resp.opaque, "unmatched response"),
        }
    }
}

async fn write_loop(conn: Connection, mut wr: OwnedWriteHalf, mut rx: mpsc::UnboundedReceiver<BytesMut>) {
    while let Some(frame) = rx.recv().await {
        if let Err(e) = wr.write_all(&frame).await {
            tracing::debug!(addr = %conn.addr(), error = %e, "write failed");
            break;
        }
        if conn.is_closed() {
            break;
        }
    }
    conn.close();
    let _ = wr.shutdown().await;
}

async fn read_loop(conn: Connection, mut rd: OwnedReadHalf, handler: Arc<dyn RequestHandler>) {
    // Pull responses carry up to 32 messages: accept bodies up to the frame limit (§1.1).
    let mut decoder = FrameDecoder::new(DecoderLimits {
        max_frame: DEFAULT_MAX_FRAME,
        max_body: DEFAULT_MAX_FRAME,
    });
    let mut buf = BytesMut::with_capacity(64 * 1024);
    'outer: loop {
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(cmd)) => {
                    if cmd.is_response() {
                        conn.complete(cmd);
                    } else {
                        let oneway = cmd.is_oneway();
                        tracing::debug!(
                            target: WIRE_TARGET,
                            addr = %conn.addr(),
                            request = cmd.code,
                            oneway,
                            "from server"
                        );
                        if let Some(resp) = handler.handle(&conn, cmd) {
                            if !oneway {
                                let _ = conn.respond(&resp);
                            }
                        }
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(addr = %conn.addr(), error = %e, "bad frame, closing");
                    break 'outer;
                }
            }
        }
        match rd.read_buf(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if conn.is_closed() {
            break;
        }
    }
    conn.close();
}
