//! Remoting over TCP (protocol.md §1): one multiplexed [`Connection`] per address, kept in a
//! [`ConnectionPool`]; requests the server initiates go to a [`RequestHandler`].

mod connection;
mod pool;

pub use connection::{Connection, WIRE_TARGET};
pub use pool::{ConnectionPool, Credentials};

use sluice_remoting::RemotingCommand;

/// Requests a broker sends down a client's connection (CHECK_TRANSACTION_STATE,
/// NOTIFY_CONSUMER_IDS_CHANGED, …). Called on the connection's reader task: do not block;
/// spawn for anything slow. The returned command, if any, is sent back as the response
/// (ignored for oneway requests).
pub trait RequestHandler: Send + Sync + 'static {
    /// Handles one request that arrived on `conn`.
    fn handle(&self, conn: &Connection, request: RemotingCommand) -> Option<RemotingCommand>;
}

/// A handler that answers every non-oneway request with REQUEST_CODE_NOT_SUPPORTED.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoHandler;

impl RequestHandler for NoHandler {
    fn handle(&self, _conn: &Connection, request: RemotingCommand) -> Option<RemotingCommand> {
        Some(request.not_supported_response())
    }
}
