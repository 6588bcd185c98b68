//! RocketMQ remoting over TCP for the NameServer and the broker: one tokio task reads and
//! decodes frames, one writes; handlers answer requests; either side may send requests.
//!
//! * [`server`] — accept loop and the [`Handler`] trait.
//! * [`connection`] — a live connection: send responses/oneways, send requests and await replies.
//! * [`client`] — outbound connections (broker → NameServer), built on the same connection type.

pub mod client;
pub mod connection;
pub mod server;

pub use connection::{Connection, Outbound};
pub use server::{serve, Handler};
