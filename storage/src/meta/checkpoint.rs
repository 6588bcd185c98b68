//! Column family `checkpoint`: one JSON [`Checkpoint`] under key `store`, where recovery
//! starts.

use serde::{Deserialize, Serialize};

use super::MetaStore;
use crate::error::StoreError;

pub const CF_CHECKPOINT: &str = "checkpoint";

/// Where the store's files were known to be consistent, for recovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Checkpoint {
    /// CommitLog bytes below this offset were `fdatasync`ed.
    pub commitlog_flushed_offset: u64,
    /// Store time of the last record below `commitlog_flushed_offset` (RocketMQ's physicMsgTimestamp).
    pub physic_msg_timestamp: i64,
    /// Records below this offset are in ConsumeQueues that were synced.
    pub consume_queue_offset: u64,
    /// Records below this offset are in IndexFiles that were flushed.
    pub index_offset: u64,
    /// Store time of the last record dispatched (RocketMQ's logicsMsgTimestamp).
    pub logics_msg_timestamp: i64,
}

impl MetaStore {
    pub fn put_checkpoint(&self, cp: &Checkpoint) -> Result<(), StoreError> {
        self.put_json(CF_CHECKPOINT, "store", cp)
    }

    pub fn checkpoint(&self) -> Result<Option<Checkpoint>, StoreError> {
        self.get_json(CF_CHECKPOINT, "store")
    }
}
