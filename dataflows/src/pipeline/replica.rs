//! What the append stage needs of replication (SYNC_MASTER, protocol.md §9.0 item 3, §9.1):
//! how far the slaves have acknowledged the log, whether one can take a group at all, and a
//! wake-up when their acknowledgements advance. The broker's HA service implements it; the
//! pipeline only waits on it, the way it waits on the flusher under SYNC_FLUSH.

use std::sync::Arc;
use std::time::Duration;

/// Slave acknowledgements, as the append stage sees them.
pub trait ReplicaAcks: Send + Sync + 'static {
    /// The highest CommitLog offset any slave has reported having (push2SlaveMaxOffset).
    fn acked_offset(&self) -> u64;

    /// Whether a group ending at `end` can wait for a slave: one is connected and not more than
    /// `haSlaveFallbehindMax` behind. When not, the group is answered SLAVE_NOT_AVAILABLE at
    /// once (stored, not replicated).
    fn available(&self, end: u64) -> bool;

    /// Data up to `end` is in the log and a producer waits for it: send it now.
    fn offer(&self, end: u64);

    /// Registers `wake`, called (from any thread) whenever [`ReplicaAcks::acked_offset`]
    /// advances.
    fn on_advance(&self, wake: Box<dyn Fn() + Send + Sync>);
}

/// SYNC_MASTER's wait: the slaves' acknowledgements and `slaveTimeout`.
#[derive(Clone)]
pub struct SyncReplication {
    pub acks: Arc<dyn ReplicaAcks>,
    /// `slaveTimeout` (3000 ms): after it a group is answered FLUSH_SLAVE_TIMEOUT.
    pub timeout: Duration,
}

impl std::fmt::Debug for SyncReplication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncReplication")
            .field("acked", &self.acks.acked_offset())
            .field("timeout", &self.timeout)
            .finish()
    }
}
