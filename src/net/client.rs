//! Outbound connections (broker → NameServer): connect, then request/response over the same
//! [`Connection`] type the server uses. Requests the peer sends us are answered with
//! REQUEST_CODE_NOT_SUPPORTED.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sluice_remoting::{DecoderLimits, RemotingCommand};
use tokio::net::TcpStream;

use super::connection::{Connection, RequestError};

/// A connection we opened.
#[derive(Debug, Clone)]
pub struct Client {
    conn: Arc<Connection>,
}

impl Client {
    /// Connects to `addr` within `timeout`.
    pub async fn connect(addr: SocketAddr, timeout: Duration) -> std::io::Result<Client> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::TimedOut, format!("connecting to {addr}"))
            })??;
        let (conn, read) = Connection::start(stream)?;
        let c2 = conn.clone();
        let limits = DecoderLimits {
            max_frame: 16 << 20,
            max_body: 16 << 20,
        };
        tokio::spawn(async move {
            let c3 = c2.clone();
            c2.read_loop(read, limits, move |cmd| {
                if !cmd.is_oneway() {
                    c3.send(super::server::not_supported(&cmd));
                }
            })
            .await;
        });
        Ok(Client { conn })
    }

    pub fn is_closed(&self) -> bool {
        self.conn.is_closed()
    }

    /// Sends `cmd` and waits for the reply.
    pub async fn request(
        &self,
        cmd: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, RequestError> {
        self.conn.request(cmd, timeout).await
    }

    pub fn close(&self) {
        self.conn.close();
    }
}
