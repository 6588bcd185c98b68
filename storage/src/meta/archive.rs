//! Column family `archive_manifest`: one JSON [`ArchiveEntry`] per archived CommitLog segment,
//! keyed by the segment's start offset (u64 BE, so entries come out in log order), written with
//! a synced write.

use rocksdb::WriteOptions;
use serde::{Deserialize, Serialize};

use super::MetaStore;
use crate::error::StoreError;

pub const CF_ARCHIVE_MANIFEST: &str = "archive_manifest";

/// One archived CommitLog segment: where its Parquet file is and what it holds. Keyed by the
/// segment's start offset, so entries come out in log order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ArchiveEntry {
    /// Global offset of the segment's first byte (its file name).
    pub segment_start: u64,
    /// Global offset one past the segment's last byte.
    pub segment_end: u64,
    /// The Parquet file.
    pub file: String,
    pub rows: u64,
    /// Size of the Parquet file.
    pub bytes: u64,
    /// Smallest and largest STORETIMESTAMP among the rows (0 when there are none).
    pub min_store_timestamp: i64,
    pub max_store_timestamp: i64,
}

impl MetaStore {
    /// Records an archived segment with a synced write: once this returns, the entry survives a
    /// power loss, and retention may delete the segment.
    pub fn put_archive_entry(&self, entry: &ArchiveEntry) -> Result<(), StoreError> {
        let mut opts = WriteOptions::default();
        opts.set_sync(true);
        self.put_json_at(
            CF_ARCHIVE_MANIFEST,
            &entry.segment_start.to_be_bytes(),
            &format!("archive {}", entry.segment_start),
            entry,
            &opts,
        )
    }

    /// The manifest entry of the segment starting at `segment_start`.
    pub fn archive_entry(&self, segment_start: u64) -> Result<Option<ArchiveEntry>, StoreError> {
        self.get_json_at(
            CF_ARCHIVE_MANIFEST,
            &segment_start.to_be_bytes(),
            &format!("archive {segment_start}"),
        )
    }

    /// Every archived segment, oldest first.
    pub fn archive_entries(&self) -> Result<Vec<ArchiveEntry>, StoreError> {
        self.all_json(CF_ARCHIVE_MANIFEST)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_manifest_in_segment_order() {
        let dir = tempfile::tempdir().unwrap();
        let e = |start: u64| ArchiveEntry {
            segment_start: start,
            segment_end: start + 4096,
            file: format!("{start:020}.parquet"),
            rows: 3,
            bytes: 100,
            min_store_timestamp: 1,
            max_store_timestamp: 2,
        };
        {
            let m = MetaStore::open(dir.path()).unwrap();
            m.put_archive_entry(&e(8192)).unwrap();
            m.put_archive_entry(&e(4096)).unwrap();
        }
        let m = MetaStore::open(dir.path()).unwrap();
        assert_eq!(m.archive_entries().unwrap(), [e(4096), e(8192)]);
        assert_eq!(m.archive_entry(8192).unwrap(), Some(e(8192)));
        assert_eq!(m.archive_entry(0).unwrap(), None);
    }
}
