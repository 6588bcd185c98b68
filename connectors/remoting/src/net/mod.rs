//! Remoting over TCP with tokio (protocol.md §1): the one connection type that the broker's and
//! the NameServer's server side, the broker → NameServer client, `sluice-client` (and so
//! `sluice admin`) and the benchmark's load generator all use.
//!
//! * [`connection`] — a live connection: a reader that matches responses to requests by opaque
//!   and hands requests to a callback, a writer task that coalesces queued frames into one
//!   write (large bodies go to the socket without a copy); responses, oneways and requests
//!   from either side.
//! * [`server`] — the accept loop and the [`Handler`] trait (answer at once on the reader's
//!   turn, or on a task of its own when the answer waits).
//! * [`connect`] — outbound connections, whose peer may send requests too (a broker asking a
//!   client to check a transaction).

pub mod connect;
pub mod connection;
pub mod server;

pub use connect::connect;
pub use connection::{Connection, Outbound, RequestError};
pub use server::{not_supported, respond, serve, Handler};
