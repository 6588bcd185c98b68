//! The archiver retention consults before deleting a segment ([`SegmentHold`]): it exports the
//! segment to `archivePath`, records the manifest entry in RocksDB with a synced write, and only
//! then lets the segment go. If anything fails (or the process dies) before the entry is durable,
//! the segment is kept and the next retention round tries again; a file that was written but not
//! recorded is simply written again.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use sluice_storage::meta::{ArchiveEntry, MetaStore};
use sluice_storage::retention::{SegmentHold, SegmentInfo};

use crate::error::ArchiveError;
use crate::export::{export_segment, file_name, ExportOptions};

/// A progress hook: told the bytes of the segment exported so far; `false` cancels.
pub type ProgressHook = Arc<dyn Fn(&SegmentInfo, u64) -> bool + Send + Sync>;

/// Archives segments before retention deletes them.
pub struct Archiver {
    meta: Arc<MetaStore>,
    dir: PathBuf,
    options: ExportOptions,
    stopping: AtomicBool,
    progress: Option<ProgressHook>,
}

impl Archiver {
    /// An archiver writing into `dir` and recording entries in `meta` (the store's RocksDB).
    pub fn new(meta: Arc<MetaStore>, dir: PathBuf, options: ExportOptions) -> Archiver {
        Archiver {
            meta,
            dir,
            options: ExportOptions {
                keep_empty: true,
                ..options
            },
            stopping: AtomicBool::new(false),
            progress: None,
        }
    }

    /// Calls `hook` as each export progresses; `false` from it cancels the export (the segment
    /// stays).
    pub fn with_progress(mut self, hook: ProgressHook) -> Archiver {
        self.progress = Some(hook);
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Cancels an export in progress and refuses new ones (shutdown).
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Release);
    }

    /// Archives `segment` unless its manifest entry (and file) exist already; returns the entry.
    pub fn archive(&self, segment: &SegmentInfo) -> Result<ArchiveEntry, ArchiveError> {
        if let Some(entry) = self.meta.archive_entry(segment.base)? {
            if self.dir.join(&entry.file).exists() {
                return Ok(entry);
            }
        }
        let mut progress = |done: u64| {
            !self.stopping.load(Ordering::Acquire) && self.progress.as_ref().is_none_or(|p| p(segment, done))
        };
        if !progress(0) {
            return Err(ArchiveError::Cancelled(segment.path.clone()));
        }
        let stats = export_segment(&segment.path, &self.dir, &self.options, &mut progress)?;
        let entry = ArchiveEntry {
            segment_start: segment.base,
            segment_end: segment.end,
            file: file_name(segment.base),
            rows: stats.rows,
            bytes: stats.file_bytes,
            min_store_timestamp: stats.min_store_timestamp,
            max_store_timestamp: stats.max_store_timestamp,
        };
        self.meta.put_archive_entry(&entry)?;
        tracing::info!(
            segment = %segment.path.display(),
            rows = entry.rows,
            bytes = entry.bytes,
            "segment archived"
        );
        Ok(entry)
    }
}

impl SegmentHold for Archiver {
    fn hold(&self, segment: &SegmentInfo) -> bool {
        match self.archive(segment) {
            Ok(_) => false,
            Err(e) => {
                tracing::error!(segment = %segment.path.display(), error = %e, "archiving failed; the segment is kept");
                true
            }
        }
    }
}
