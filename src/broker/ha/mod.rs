//! Master/slave replication on RocketMQ 4.9's HA protocol (protocol.md §9.0, §9.1): the
//! master's listener and links ([`master`]), the slave's link ([`slave`]); the two packets are
//! [`sluice_remoting::ha_stream`]. A SYNC_MASTER's sends wait for a slave's report in the
//! pipeline's append stage ([`sluice_dataflows::ReplicaAcks`], implemented by
//! [`master::HaMaster`]).

pub mod commits;
pub mod master;
pub mod slave;
pub mod sync;
mod waiters;

use std::sync::Arc;

pub use master::HaMaster;
pub use slave::HaSlave;

/// This broker's side of replication.
#[derive(Clone)]
pub enum Ha {
    Master(Arc<HaMaster>),
    Slave(Arc<HaSlave>),
}

impl Ha {
    pub fn stop(&self) {
        match self {
            Ha::Master(m) => m.stop(),
            Ha::Slave(s) => s.stop(),
        }
    }
}
