//! The client's error type.

use sluice_remoting::codes::describe_response;

/// Everything a client call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The TCP connection could not be opened or broke.
    #[error("connection to {addr}: {source}")]
    Io {
        /// Remote address.
        addr: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The peer sent bytes that are not a valid frame.
    #[error("bad frame from {addr}: {reason}")]
    Frame {
        /// Remote address.
        addr: String,
        /// What was wrong.
        reason: String,
    },
    /// A request got no response in time.
    #[error("request {code} to {addr} timed out after {millis} ms")]
    Timeout {
        /// Remote address.
        addr: String,
        /// Request code.
        code: i32,
        /// The timeout.
        millis: u64,
    },
    /// The connection closed while a request was outstanding.
    #[error("connection to {addr} closed")]
    Closed {
        /// Remote address.
        addr: String,
    },
    /// The peer answered with an error code.
    #[error("{} from {addr}: {}", describe_response(*code), remark.as_deref().unwrap_or(""))]
    Response {
        /// Remote address.
        addr: String,
        /// The response code.
        code: i32,
        /// The response remark.
        remark: Option<String>,
    },
    /// A response header or body could not be decoded.
    #[error("malformed response from {addr}: {reason}")]
    Malformed {
        /// Remote address.
        addr: String,
        /// What was wrong.
        reason: String,
    },
    /// No NameServer address is configured or none answered.
    #[error("no NameServer reachable ({0})")]
    NoNameServer(String),
    /// The topic has no route (or no writable / readable queue).
    #[error("no route for topic {0}")]
    NoRoute(String),
    /// The broker name is not in any known route.
    #[error("no address for broker {0}")]
    NoBroker(String),
    /// The message cannot be sent as given.
    #[error("invalid message: {0}")]
    InvalidMessage(String),
    /// Invalid configuration or call.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The client was shut down.
    #[error("client shut down")]
    Shutdown,
    /// A local file (BROADCASTING offsets) could not be read or written.
    #[error("offset file {path}: {source}")]
    OffsetFile {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl ClientError {
    /// The broker's response code, if this is an error response.
    pub fn response_code(&self) -> Option<i32> {
        match self {
            ClientError::Response { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// Shorthand.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;
