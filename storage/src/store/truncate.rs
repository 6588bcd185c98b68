//! Cutting a closed store's CommitLog back to an offset (controller mode: a replica that
//! returns with bytes its new master never had, protocol.md §9.4). The segment holding the
//! offset is zeroed from there, later segments are deleted, the epoch file forgets what starts
//! past it, and the checkpoint is lowered so that the next [`MessageStore::open`] replays the
//! log up to the cut: ConsumeQueue units past it are dropped there
//! (`ConsumeQueue::truncate_beyond`); index entries past it stay but never match, because a
//! lookup checks the record it finds.

use super::recovery::lock_dir;
use super::MessageStore;
use crate::config::StoreConfig;
use crate::epochs::EpochFile;
use crate::error::{io_err, StoreError};
use crate::meta::MetaStore;
use crate::segment::{list_segment_files, Segment};

impl MessageStore {
    /// Cuts the CommitLog of the closed store under `config` at `offset`, a record boundary
    /// (a log that ends there or before is left as it is). The store must not be open (its
    /// directory lock is taken).
    pub fn truncate_closed(config: &StoreConfig, offset: u64) -> Result<(), StoreError> {
        let root = &config.store_path_root_dir;
        let _lock = lock_dir(root)?;
        let dir = config.commit_log_dir();
        let size = config.mapped_file_size_commit_log;
        let files = list_segment_files(&dir)?;
        let first = files.first().map(|(b, _)| *b);
        for (base, path) in &files {
            if *base >= offset && Some(*base) != first {
                std::fs::remove_file(path).map_err(io_err(format!("removing {}", path.display())))?;
            } else if *base + size > offset {
                let seg = Segment::open(path, *base, size)?;
                let seg = seg.zero_from(offset.max(*base) - base)?;
                seg.sync()?;
            }
        }
        let mut epochs = EpochFile::load(root)?;
        epochs.truncate(offset)?;
        let meta = MetaStore::open(&root.join("rocksdb"))?;
        if let Some(mut cp) = meta.checkpoint()? {
            cp.commitlog_flushed_offset = cp.commitlog_flushed_offset.min(offset);
            cp.consume_queue_offset = cp.consume_queue_offset.min(offset);
            cp.index_offset = cp.index_offset.min(offset);
            meta.put_checkpoint(&cp)?;
            meta.flush()?;
        }
        tracing::warn!(at = offset, dir = %dir.display(), "CommitLog cut back");
        Ok(())
    }
}
