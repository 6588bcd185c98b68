//! Connections by address, opened on first use and replaced when broken.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use sluice_remoting::RemotingCommand;
use tokio::sync::Mutex;

use super::{Connection, RequestHandler};
use crate::error::{ClientError, Result};

/// Default connect timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// One live [`Connection`] per remote address.
pub struct ConnectionPool {
    conns: Mutex<HashMap<String, Connection>>,
    handler: Arc<dyn RequestHandler>,
}

impl std::fmt::Debug for ConnectionPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionPool").finish_non_exhaustive()
    }
}

impl ConnectionPool {
    /// A pool whose connections hand server-initiated requests to `handler`.
    pub fn new(handler: Arc<dyn RequestHandler>) -> Self {
        ConnectionPool {
            conns: Mutex::new(HashMap::new()),
            handler,
        }
    }

    /// The live connection to `addr`, connecting if there is none.
    pub async fn get(&self, addr: &str) -> Result<Connection> {
        let mut conns = self.conns.lock().await;
        if let Some(c) = conns.get(addr) {
            if !c.is_closed() {
                return Ok(c.clone());
            }
        }
        let c = Connection::connect(addr, CONNECT_TIMEOUT, self.handler.clone()).await?;
        conns.insert(addr.to_owned(), c.clone());
        Ok(c)
    }

    /// Request/response to `addr`. A timeout closes the connection (as Java does by default,
    /// §1.5), so the next call reconnects.
    pub async fn invoke(
        &self,
        addr: &str,
        cmd: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand> {
        let conn = self.get(addr).await?;
        let result = conn.invoke(cmd, timeout).await;
        if matches!(result, Err(ClientError::Timeout { .. })) {
            conn.close();
        }
        result
    }

    /// Oneway request to `addr`.
    pub async fn oneway(&self, addr: &str, cmd: RemotingCommand) -> Result<()> {
        self.get(addr).await?.oneway(cmd)
    }

    /// Closes every connection.
    pub async fn close_all(&self) {
        for (_, c) in self.conns.lock().await.drain() {
            c.close();
        }
    }
}
