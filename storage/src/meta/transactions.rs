//! Column family `transaction_state`: the op-state of each half message, keyed by its
//! half-queue offset (u64 BE, so key order is offset order); values are opaque bytes.

use rocksdb::IteratorMode;

use super::{u64_value, MetaStore};
use crate::error::StoreError;

pub const CF_TRANSACTION_STATE: &str = "transaction_state";

impl MetaStore {
    /// Records the op-state of the half message at half-queue offset `half_offset`.
    pub fn put_transaction_state(&self, half_offset: u64, state: &[u8]) -> Result<(), StoreError> {
        self.db
            .put_cf(self.cf(CF_TRANSACTION_STATE)?, half_offset.to_be_bytes(), state)?;
        Ok(())
    }

    pub fn transaction_state(&self, half_offset: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .db
            .get_cf(self.cf(CF_TRANSACTION_STATE)?, half_offset.to_be_bytes())?)
    }

    pub fn delete_transaction_state(&self, half_offset: u64) -> Result<(), StoreError> {
        self.delete(CF_TRANSACTION_STATE, &half_offset.to_be_bytes())
    }

    /// Forgets the op-state of every half message below `half_offset` (the checker moved past).
    pub fn delete_transaction_states_below(&self, half_offset: u64) -> Result<(), StoreError> {
        self.db.delete_range_cf(
            self.cf(CF_TRANSACTION_STATE)?,
            0u64.to_be_bytes(),
            half_offset.to_be_bytes(),
        )?;
        Ok(())
    }

    /// Every recorded transaction op-state, in half-message offset order.
    pub fn transaction_states(&self) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let mut out = Vec::new();
        for item in self
            .db
            .iterator_cf(self.cf(CF_TRANSACTION_STATE)?, IteratorMode::Start)
        {
            let (k, v) = item?;
            out.push((u64_value("transaction state key", &k)?, v.into_vec()));
        }
        Ok(out)
    }
}
