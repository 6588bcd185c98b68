//! sluice's store: RocketMQ's on-disk formats and the machinery around them.
//!
//! * [`record`], [`properties`], [`hash`], [`msgid`] — the stored-message layout, property
//!   strings, Java `String.hashCode` and offsetMsgId: wire format, so they live in
//!   `sluice-remoting` and are re-exported here under the paths the store's users know.
//! * [`commitlog`] — the append-only log in fixed-size [`segment`]s, group appends, recovery.
//! * [`flush`] — ASYNC_FLUSH and SYNC_FLUSH (group commit with hand-over).
//! * [`consume_queue`] — 20-byte units per (topic, queue).
//! * [`index_file`] / [`index`] — hash index by `topic#key`.
//! * [`epochs`] — the epoch file of controller mode (which master epoch wrote from where).
//! * [`meta`] — RocksDB, one module per column family: `offsets` (consumer
//!   offsets), `configs` (topic and subscription-group configs), `transactions` (op-state),
//!   `schedule` (delay/timer progress and pending timers), `checkpoint`, `archive` (the archive
//!   manifest); `meta/mod.rs` opens the database.
//! * [`store`] — [`MessageStore`], which ties them together: `store/mod.rs` is the facade,
//!   `append` and `dispatch` the two steps of the write path, `queues` the ConsumeQueue map,
//!   `query` lookups by key, `recovery` open/checkpoint/close, `background` its threads.
//!   [`pull`] reads for consumers; [`retention`] deletes aged segments; [`system_topics`] names
//!   the broker's own topics.
//!
//! No tokio and no timely here: the broker drives the store from its pipeline and runtime.

pub mod clock;
pub mod commitlog;
pub mod config;
pub mod consume_queue;
pub mod epochs;
pub mod error;
pub mod flush;
pub mod index;
pub mod index_file;
pub mod meta;
pub mod prefault;
pub mod pull;
pub mod retention;
pub mod segment;
pub mod store;
pub mod system_topics;

pub use sluice_remoting::message as record;
pub use sluice_remoting::{hash, msgid, properties};

pub use config::StoreConfig;
pub use error::StoreError;
pub use flush::FlushDiskType;
pub use store::{AppendOutcome, Appended, MessageStore, MessageToStore};
