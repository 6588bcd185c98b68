//! The accept loop: every connection gets a reader (this module) and a writer
//! ([`super::connection`]); a request is answered on the reader's turn when it can be at once,
//! else on its own task so a slow one (a long poll) never holds up the next.

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Waker};

use tokio::net::TcpListener;
use tokio::sync::watch;

use super::connection::{Connection, Outbound};
use crate::codes::response;
use crate::{DecoderLimits, RemotingCommand};

/// Answers requests. `None` means no reply (oneway requests, or a reply sent later by the
/// handler itself through the connection, e.g. after a long poll).
pub trait Handler: Send + Sync + 'static {
    fn handle(
        &self,
        conn: &Arc<Connection>,
        cmd: RemotingCommand,
    ) -> impl Future<Output = Option<Outbound>> + Send;

    /// Answers `cmd` at once on the reader's thread when that needs no waiting (`Ok`: the
    /// reply, `None` for none or for one the handler sends later with [`respond`]); `Err`
    /// hands it back to [`Handler::handle`].
    fn handle_now(
        &self,
        _conn: &Arc<Connection>,
        cmd: RemotingCommand,
    ) -> Result<Option<Outbound>, RemotingCommand> {
        Err(cmd)
    }

    /// Called once when a connection closes (client expiry, lock release…).
    fn on_close(&self, _conn: &Arc<Connection>) {}

    /// Frame limits for this server's connections.
    fn limits(&self) -> DecoderLimits {
        DecoderLimits::default()
    }
}

/// Serves `listener` until `shutdown` turns true.
pub async fn serve<H: Handler>(listener: TcpListener, handler: Arc<H>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => break,
        };
        let stream = match accepted {
            Ok((s, _)) => s,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let handler = handler.clone();
        let mut shutdown = shutdown.clone();
        tokio::spawn(async move {
            let (conn, read) = match Connection::start(stream) {
                Ok(c) => c,
                Err(e) => {
                    tracing::debug!(error = %e, "connection setup failed");
                    return;
                }
            };
            let c2 = conn.clone();
            let h2 = handler.clone();
            let reader = conn.read_loop(read, handler.limits(), move |cmd| {
                let oneway = cmd.is_oneway();
                let opaque = cmd.opaque;
                let cmd = match h2.handle_now(&c2, cmd) {
                    Ok(out) => return reply(&c2, out, oneway, opaque),
                    Err(cmd) => cmd,
                };
                let conn = c2.clone();
                let handler = h2.clone();
                let mut answering = Box::pin(async move {
                    let out = handler.handle(&conn, cmd).await;
                    reply(&conn, out, oneway, opaque);
                });
                // Most other requests (heartbeats, offsets, admin) complete without waiting too:
                // answer them on the reader's own turn. One that waits (a long poll, a
                // SYNC_FLUSH ack) moves to a task of its own, so it never holds up the next frame.
                let mut cx = Context::from_waker(Waker::noop());
                if answering.as_mut().poll(&mut cx).is_pending() {
                    tokio::spawn(answering);
                }
            });
            tokio::select! {
                _ = reader => {}
                _ = shutdown.changed() => conn.close(),
            }
            conn.close();
            handler.on_close(&conn);
        });
    }
}

/// Sends a handler's answer as the response to request `opaque` (never to a oneway request).
fn reply(conn: &Connection, out: Option<Outbound>, oneway: bool, opaque: i32) {
    if let Some(out) = out.filter(|_| !oneway) {
        respond(conn, out, opaque);
    }
}

/// Sends `out` as the response to request `opaque`: for a handler that answered
/// [`Handler::handle_now`] with nothing and answers later, from any thread.
pub fn respond(conn: &Connection, mut out: Outbound, opaque: i32) {
    out.cmd.opaque = opaque;
    out.cmd.mark_response();
    conn.send(out);
}

/// The reply to a request code nobody handles (protocol.md §1.5).
pub fn not_supported(cmd: &RemotingCommand) -> Outbound {
    cmd.error_response(
        response::REQUEST_CODE_NOT_SUPPORTED,
        format!(" request type {} not supported", cmd.code),
    )
    .into()
}
