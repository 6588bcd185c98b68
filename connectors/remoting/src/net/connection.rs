//! A live remoting connection, shared by its reader task, its writer task and the handlers.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, Notify};

use crate::frame::encode_head_with_body_len;
use crate::{DecoderLimits, FrameDecoder, RemotingCommand};

/// A frame to write: the command (its `body` is written first) plus further body chunks written
/// after it without copying (a pull response's records).
#[derive(Debug)]
pub struct Outbound {
    pub cmd: RemotingCommand,
    pub extra_body: Vec<Bytes>,
}

impl From<RemotingCommand> for Outbound {
    fn from(cmd: RemotingCommand) -> Self {
        Outbound {
            cmd,
            extra_body: Vec::new(),
        }
    }
}

/// Why a request sent over a connection got no reply.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("connection to {0} is closed")]
    Closed(SocketAddr),
    #[error("no reply from {0} within {1:?}")]
    Timeout(SocketAddr, Duration),
    #[error("request to {0} cannot be encoded: {1}")]
    Unencodable(SocketAddr, String),
}

type Waiter = oneshot::Sender<Result<RemotingCommand, RequestError>>;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// One TCP connection.
#[derive(Debug)]
pub struct Connection {
    id: u64,
    peer: SocketAddr,
    tx: mpsc::UnboundedSender<Outbound>,
    pending: Mutex<HashMap<i32, Waiter>>,
    next_opaque: AtomicI32,
    closed: AtomicBool,
    close_notify: Notify,
}

impl Connection {
    /// Wraps `stream`: spawns the writer task and returns the connection with its read half,
    /// which the caller drives with [`Connection::read_loop`].
    pub fn start(stream: TcpStream) -> std::io::Result<(Arc<Connection>, tokio::net::tcp::OwnedReadHalf)> {
        let peer = stream.peer_addr()?;
        stream.set_nodelay(true)?;
        let (read, write) = stream.into_split();
        let (tx, rx) = mpsc::unbounded_channel();
        let conn = Arc::new(Connection {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            peer,
            tx,
            pending: Mutex::new(HashMap::new()),
            next_opaque: AtomicI32::new(1),
            closed: AtomicBool::new(false),
            close_notify: Notify::new(),
        });
        tokio::spawn(write_loop(conn.clone(), write, rx));
        Ok((conn, read))
    }

    /// A process-unique id.
    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Queues a frame (a response or a oneway request). False once the connection is closed.
    pub fn send(&self, out: impl Into<Outbound>) -> bool {
        !self.is_closed() && self.tx.send(out.into()).is_ok()
    }

    /// Sends a oneway request (the peer must not answer).
    pub fn send_oneway(&self, mut cmd: RemotingCommand) -> bool {
        cmd.opaque = self.next_opaque.fetch_add(1, Ordering::Relaxed);
        cmd.mark_oneway();
        self.send(cmd)
    }

    /// Sends a request and waits for its reply.
    pub async fn request(
        &self,
        mut cmd: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, RequestError> {
        let opaque = self.next_opaque.fetch_add(1, Ordering::Relaxed);
        cmd.opaque = opaque;
        let (tx, rx) = oneshot::channel();
        if let Ok(mut p) = self.pending.lock() {
            p.insert(opaque, tx);
        }
        if !self.send(cmd) {
            self.forget(opaque);
            return Err(RequestError::Closed(self.peer));
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) => Err(RequestError::Closed(self.peer)),
            Err(_) => {
                self.forget(opaque);
                Err(RequestError::Timeout(self.peer, timeout))
            }
        }
    }

    fn forget(&self, opaque: i32) {
        if let Ok(mut p) = self.pending.lock() {
            p.remove(&opaque);
        }
    }

    /// Routes a response to the request waiting for it; false if nobody waits (dropped).
    pub fn complete(&self, reply: RemotingCommand) -> bool {
        let waiter = self.pending.lock().ok().and_then(|mut p| p.remove(&reply.opaque));
        match waiter {
            Some(w) => w.send(Ok(reply)).is_ok(),
            None => false,
        }
    }

    /// Fails the request waiting for `opaque` (its frame could not be written).
    fn fail(&self, opaque: i32, error: RequestError) {
        let waiter = self.pending.lock().ok().and_then(|mut p| p.remove(&opaque));
        if let Some(w) = waiter {
            let _ = w.send(Err(error));
        }
    }

    /// Closes the connection: the writer stops, the reader ends, waiters fail.
    pub fn close(&self) {
        if !self.closed.swap(true, Ordering::AcqRel) {
            self.close_notify.notify_waiters();
            if let Ok(mut p) = self.pending.lock() {
                p.clear();
            }
        }
    }

    /// Resolves once the connection is closed.
    pub async fn closed(&self) {
        let notified = self.close_notify.notified();
        if self.is_closed() {
            return;
        }
        notified.await;
    }

    /// Reads frames until the peer goes away or a frame is malformed, calling `on_frame` for
    /// each. Responses to our own requests are routed to their waiters first.
    pub async fn read_loop<F>(
        self: &Arc<Self>,
        mut read: tokio::net::tcp::OwnedReadHalf,
        limits: DecoderLimits,
        mut on_frame: F,
    ) where
        F: FnMut(RemotingCommand),
    {
        let mut decoder = FrameDecoder::new(limits);
        let mut buf = BytesMut::with_capacity(64 * 1024);
        loop {
            loop {
                match decoder.decode(&mut buf) {
                    Ok(Some(cmd)) => {
                        if cmd.is_response() {
                            self.complete(cmd);
                        } else {
                            on_frame(cmd);
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        let closing = e.must_close();
                        tracing::warn!(peer = %self.peer, error = %e, closing, "bad frame");
                        if let Some(reply) = error_reply(&e) {
                            self.send(reply);
                        }
                        if closing {
                            self.close();
                            return;
                        }
                    }
                }
            }
            if buf.capacity() - buf.len() < 4096 {
                buf.reserve(64 * 1024);
            }
            tokio::select! {
                n = read.read_buf(&mut buf) => match n {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                },
                _ = self.closed() => break,
            }
        }
        self.close();
    }
}

/// The answer to a frame that could not be used, when the peer can still be told: a request
/// (not oneway) whose opaque is known.
fn error_reply(e: &crate::FrameError) -> Option<RemotingCommand> {
    use crate::codes::response;
    use crate::FrameError;
    let (command, code, what) = match e {
        FrameError::BodyTooLarge { command, .. } => (
            command,
            response::MESSAGE_ILLEGAL,
            "the request body is too large",
        ),
        FrameError::Header {
            salvaged: Some(command),
            ..
        } => (
            command,
            response::SYSTEM_ERROR,
            "the request header cannot be decoded",
        ),
        _ => return None,
    };
    (!command.is_oneway() && !command.is_response())
        .then(|| command.error_response(code, format!("{what}: {e}")))
}

async fn write_loop(
    conn: Arc<Connection>,
    mut write: tokio::net::tcp::OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Outbound>,
) {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    loop {
        let first = tokio::select! {
            m = rx.recv() => m,
            _ = conn.closed() => None,
        };
        let Some(first) = first else { break };
        // Coalesce whatever else is queued into one write.
        let mut batch = vec![first];
        while batch.len() < 256 {
            match rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        let mut failed = false;
        for out in batch {
            let body_len = out.cmd.body.len() + out.extra_body.iter().map(Bytes::len).sum::<usize>();
            if let Err(e) = encode_head_with_body_len(&out.cmd, body_len, &mut buf) {
                tracing::warn!(peer = %conn.peer, error = %e, "cannot encode a frame");
                if !out.cmd.is_response() && !out.cmd.is_oneway() {
                    conn.fail(
                        out.cmd.opaque,
                        RequestError::Unencodable(conn.peer, e.to_string()),
                    );
                }
                continue;
            }
            let big = body_len >= 64 * 1024;
            if big {
                // Large bodies go straight to the socket after the buffered heads.
                if write.write_all(&buf).await.is_err() {
                    failed = true;
                    break;
                }
                buf.clear();
                let mut ok = write.write_all(&out.cmd.body).await.is_ok();
                for chunk in &out.extra_body {
                    ok = ok && write.write_all(chunk).await.is_ok();
                }
                if !ok {
                    failed = true;
                    break;
                }
            } else {
                buf.extend_from_slice(&out.cmd.body);
                for chunk in &out.extra_body {
                    buf.extend_from_slice(chunk);
                }
            }
        }
        if failed || (!buf.is_empty() && write.write_all(&buf).await.is_err()) {
            break;
        }
        buf.clear();
        if buf.capacity() > 4 << 20 {
            buf = BytesMut::with_capacity(64 * 1024);
        }
    }
    conn.close();
    let _ = write.shutdown().await;
}
