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

/// ACL 1.0 credentials (protocol.md §8.1): every request sent through a pool that has them is
/// signed (`AccessKey`, `Signature` over all ext fields and the body, as Java ≥ 4.9.4).
#[derive(Clone)]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

/// One live [`Connection`] per remote address.
pub struct ConnectionPool {
    conns: Mutex<HashMap<String, Connection>>,
    handler: Arc<dyn RequestHandler>,
    credentials: Option<Credentials>,
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
            credentials: None,
        }
    }

    /// The same pool signing every request with `credentials`.
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    fn signed(&self, mut cmd: RemotingCommand) -> RemotingCommand {
        if let Some(c) = &self.credentials {
            sluice_remoting::acl::sign(&mut cmd, &c.access_key, &c.secret_key);
        }
        cmd
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
        let result = conn.invoke(self.signed(cmd), timeout).await;
        if matches!(result, Err(ClientError::Timeout { .. })) {
            conn.close();
        }
        result
    }

    /// Oneway request to `addr`.
    pub async fn oneway(&self, addr: &str, cmd: RemotingCommand) -> Result<()> {
        self.get(addr).await?.oneway(self.signed(cmd))
    }

    /// Closes every connection.
    pub async fn close_all(&self) {
        for (_, c) in self.conns.lock().await.drain() {
            c.close();
        }
    }
}
