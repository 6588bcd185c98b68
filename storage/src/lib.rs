//! sluice's store: RocketMQ's on-disk formats and the machinery around them.
//!
//! * [`record`] — the stored-message layout, encode and zero-copy decode (protocol.md §3).
//! * [`commitlog`] — the append-only log in fixed-size [`segment`]s, group appends, recovery.
//! * [`flush`] — ASYNC_FLUSH and SYNC_FLUSH (group commit with hand-over).
//! * [`consume_queue`] — 20-byte units per (topic, queue).
//! * [`index_file`] / [`index`] — hash index by `topic#key`.
//! * [`meta`] — RocksDB column families: offsets, configs, transaction and schedule state,
//!   checkpoints.
//! * [`store`] — [`MessageStore`], which ties them together; [`pull`] reads for consumers;
//!   [`retention`] deletes aged segments; [`system_topics`] names the broker's own topics.
//!
//! No tokio and no timely here: the broker drives the store from its pipeline and runtime.

pub mod clock;
pub mod commitlog;
pub mod config;
pub mod consume_queue;
pub mod error;
pub mod flush;
pub mod hash;
pub mod index;
pub mod index_file;
pub mod meta;
pub mod msgid;
pub mod prefault;
pub mod properties;
pub mod pull;
pub mod record;
pub mod retention;
pub mod segment;
pub mod store;
pub mod system_topics;

pub use config::StoreConfig;
pub use error::StoreError;
pub use flush::FlushDiskType;
pub use store::{AppendOutcome, Appended, MessageStore, MessageToStore};
