//! A connection to one NameServer or broker: `sluice-remoting`'s [`net::Connection`] (the one
//! every side of sluice uses: opaque matching, coalesced writes, oneway, requests from the
//! peer; protocol.md §1.5) with the client's error type and one `tracing` event per exchange.

use std::sync::Arc;
use std::time::Duration;

use sluice_remoting::frame::DEFAULT_MAX_FRAME;
use sluice_remoting::net::{self, RequestError};
use sluice_remoting::{DecoderLimits, RemotingCommand};

use super::RequestHandler;
use crate::error::{ClientError, Result};

/// The `tracing` target of one event per exchanged command (request code, response code, remark) at
/// DEBUG level: enough to compare a session with protocol.md without a packet capture.
pub const WIRE_TARGET: &str = "sluice_client::wire";

/// A multiplexed connection to one NameServer or broker. Cheap to clone.
#[derive(Clone)]
pub struct Connection {
    addr: Arc<str>,
    inner: Arc<net::Connection>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("addr", &self.addr)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Connection {
    /// Connects to `addr` (`host:port`) within `timeout`; requests the peer sends go to
    /// `handler`, and its answer (if any) goes back as the response.
    pub async fn connect(addr: &str, timeout: Duration, handler: Arc<dyn RequestHandler>) -> Result<Self> {
        let label: Arc<str> = Arc::from(addr);
        // Pull responses carry up to 32 messages: accept bodies up to the frame limit (§1.1).
        let limits = DecoderLimits {
            max_frame: DEFAULT_MAX_FRAME,
            max_body: DEFAULT_MAX_FRAME,
        };
        let peer_label = label.clone();
        let inner = net::connect(addr, timeout, limits, move |conn, cmd| {
            let conn = Connection {
                addr: peer_label.clone(),
                inner: conn.clone(),
            };
            let oneway = cmd.is_oneway();
            tracing::debug!(target: WIRE_TARGET, addr = %conn.addr, request = cmd.code, oneway, "from server");
            if let Some(resp) = handler.handle(&conn, cmd) {
                if !oneway {
                    let _ = conn.respond(resp);
                }
            }
        })
        .await
        .map_err(|source| ClientError::Io {
            addr: addr.to_owned(),
            source,
        })?;
        Ok(Connection { addr: label, inner })
    }

    /// The remote address this connection was opened to.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// True once the connection broke or was closed.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Closes the connection; outstanding requests fail with [`ClientError::Closed`].
    pub fn close(&self) {
        if !self.inner.is_closed() {
            tracing::debug!(addr = %self.addr, "connection closed");
        }
        self.inner.close();
    }

    fn closed_error(&self) -> ClientError {
        ClientError::Closed {
            addr: self.addr.to_string(),
        }
    }

    /// Sends a request and waits for the response with the same opaque, at most `timeout`.
    /// The response is returned whatever its code.
    pub async fn invoke(&self, cmd: RemotingCommand, timeout: Duration) -> Result<RemotingCommand> {
        let code = cmd.code;
        match self.inner.request(cmd, timeout).await {
            Ok(resp) => {
                tracing::debug!(
                    target: WIRE_TARGET,
                    addr = %self.addr,
                    request = code,
                    response = resp.code,
                    remark = resp.remark.as_deref().unwrap_or(""),
                    "invoke"
                );
                Ok(resp)
            }
            Err(RequestError::Timeout(..)) => {
                tracing::debug!(target: WIRE_TARGET, addr = %self.addr, request = code, "timeout");
                Err(ClientError::Timeout {
                    addr: self.addr.to_string(),
                    code,
                    millis: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
                })
            }
            Err(RequestError::Unencodable(_, reason)) => Err(ClientError::InvalidArgument(reason)),
            Err(RequestError::Closed(_)) => {
                tracing::debug!(target: WIRE_TARGET, addr = %self.addr, request = code, "closed");
                Err(self.closed_error())
            }
        }
    }

    /// Sends a request with the oneway flag; nothing is awaited (§1.5).
    pub fn oneway(&self, cmd: RemotingCommand) -> Result<()> {
        tracing::debug!(target: WIRE_TARGET, addr = %self.addr, request = cmd.code, "oneway");
        if self.inner.send_oneway(cmd) {
            Ok(())
        } else {
            Err(self.closed_error())
        }
    }

    /// Sends a response (to a request the peer sent), keeping its opaque.
    pub fn respond(&self, resp: RemotingCommand) -> Result<()> {
        if self.inner.send(resp) {
            Ok(())
        } else {
            Err(self.closed_error())
        }
    }
}
