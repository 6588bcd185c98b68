//! Lookups through the IndexFiles: messages by `topic#key`, checked against the records
//! themselves, and trimming index entries that point below the CommitLog's retained range.

use super::MessageStore;
use crate::error::StoreError;
use crate::properties::names;
use crate::record::{self, CrcCheck};
use crate::segment::SegmentSlice;

impl MessageStore {
    /// Candidate messages for `topic#key` (a KEYS token or the UNIQ_KEY) stored in
    /// `[begin, end]`, newest first, checked against the messages' real keys.
    pub fn query_by_key(
        &self,
        topic: &str,
        key: &str,
        max: usize,
        begin: i64,
        end: i64,
    ) -> Result<Vec<SegmentSlice>, StoreError> {
        let offsets = self.index.lock().map_err(|_| StoreError::Closed)?.query(
            topic,
            key,
            max.saturating_mul(2).max(max),
            begin,
            end,
        );
        let mut out = Vec::new();
        for off in offsets {
            if out.len() >= max {
                break;
            }
            let Ok(slice) = self.commitlog.read_record(off, CrcCheck::Skip) else {
                continue;
            };
            let Ok(r) = record::decode_message(&slice, CrcCheck::Skip) else {
                continue;
            };
            let matches = r.topic == topic
                && (r.property(names::UNIQ_KEY) == Some(key)
                    || r.property(names::KEYS)
                        .is_some_and(|ks| crate::properties::split_keys(ks).any(|k| k == key)));
            if matches {
                out.push(slice);
            }
        }
        Ok(out)
    }

    pub(crate) fn remove_index_below(&self, commitlog_min: u64) -> Result<usize, StoreError> {
        Ok(self
            .index
            .lock()
            .map_err(|_| StoreError::Closed)?
            .remove_below(commitlog_min)?
            .len())
    }
}
