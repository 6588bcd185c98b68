//! Retention: delete CommitLog segments older than `fileReservedTime` at the `deleteWhen` hours,
//! or at any hour when the disk is fuller than `diskMaxUsedSpaceRatio` (and the oldest segment
//! even if young above `diskSpaceCleanForciblyRatio`). Never the active segment; never a segment
//! a [`SegmentHold`] (the archiver) still holds; always oldest first, so the log stays contiguous.
//! ConsumeQueue and IndexFiles that only point into deleted segments are deleted after them.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::clock;
use crate::error::StoreError;
use crate::store::MessageStore;

/// A sealed segment retention is about to delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentInfo {
    pub path: PathBuf,
    /// Global offset of its first byte.
    pub base: u64,
    /// Global offset one past its last byte.
    pub end: u64,
    pub modified: SystemTime,
}

/// Lets another component keep segments until it is done with them (the Parquet archiver holds
/// a segment until its archive entry is durable).
pub trait SegmentHold: Send + Sync {
    /// `true` keeps the segment (and every newer one) for now.
    fn hold(&self, segment: &SegmentInfo) -> bool;
}

/// What one retention round did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RetentionReport {
    pub deleted: Vec<PathBuf>,
    /// The segment a hold kept, if any.
    pub held: Option<PathBuf>,
    /// Disk use of the store's file system, in percent.
    pub disk_used_percent: f64,
    pub consume_queue_files_deleted: usize,
    pub index_files_deleted: usize,
}

/// Used share of the file system holding `path`, in percent.
pub fn disk_used_percent(path: &Path) -> Result<f64, StoreError> {
    let space = disk_space(path)?;
    if space.total == 0 {
        return Ok(0.0);
    }
    Ok((space.total - space.free.min(space.total)) as f64 / space.total as f64 * 100.0)
}

/// Size and free bytes of a file system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskSpace {
    pub total: u64,
    /// Free blocks, including those reserved for root (Java's `File.getFreeSpace`).
    pub free: u64,
}

/// The size and free space of the file system holding `path` (statvfs).
pub fn disk_space(path: &Path) -> Result<DiskSpace, StoreError> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| StoreError::Config(format!("path {} has a NUL byte", path.display())))?;
    // SAFETY: statvfs writes into the zeroed struct; `c` is a valid NUL-terminated path.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(crate::error::io_err(format!("statvfs {}", path.display()))(
            std::io::Error::last_os_error(),
        ));
    }
    let unit = st.f_frsize as u64;
    Ok(DiskSpace {
        total: st.f_blocks as u64 * unit,
        free: st.f_bfree as u64 * unit,
    })
}

/// Bytes of the regular files under `dir`, recursively (what a store takes on disk, by length).
pub fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}

impl MessageStore {
    /// Installs the hold consulted before each deletion.
    pub fn set_segment_hold(&self, hold: Arc<dyn SegmentHold>) {
        if let Ok(mut h) = self.hold.write() {
            *h = Some(hold);
        }
    }

    /// Runs one retention round as of `now`. `force` deletes expired segments whatever the hour
    /// (DELETE_EXPIRED_COMMITLOG).
    pub fn run_retention(&self, now: SystemTime, force: bool) -> Result<RetentionReport, StoreError> {
        let used = disk_used_percent(self.commitlog().dir())?;
        self.run_retention_with(now, force, used)
    }

    /// [`run_retention`](Self::run_retention) with the disk use given (tests).
    pub fn run_retention_with(
        &self,
        now: SystemTime,
        force: bool,
        disk_used: f64,
    ) -> Result<RetentionReport, StoreError> {
        let cfg = self.live();
        let mut report = RetentionReport {
            disk_used_percent: disk_used,
            ..Default::default()
        };
        let hour = clock::local_time(clock::millis_of(now)).hour;
        let delete_time = cfg.delete_when.contains(&hour);
        let pressure = disk_used > f64::from(cfg.disk_max_used_space_ratio);
        let forcibly =
            cfg.clean_file_forcibly_enable && disk_used > f64::from(cfg.disk_space_clean_forcibly_ratio);
        if !(delete_time || pressure || force) {
            return Ok(report);
        }
        let reserved = Duration::from_secs(cfg.file_reserved_time_hours * 3600);
        let hold = self.hold.read().ok().and_then(|h| h.clone());
        let write_pos = self.commitlog().write_pos();
        let mut forced_one = false;
        for seg in self.commitlog().segments() {
            if report.deleted.len() >= cfg.delete_file_batch_max.max(1) {
                break;
            }
            // The active segment, and any segment holding undispatched records, stay.
            if seg.end() > write_pos || seg.end() > self.dispatched_offset() {
                break;
            }
            let modified = seg.modified()?;
            let expired = modified + reserved <= now;
            if !expired {
                if forcibly && !forced_one {
                    forced_one = true;
                } else {
                    break;
                }
            }
            let info = SegmentInfo {
                path: seg.path().to_path_buf(),
                base: seg.base(),
                end: seg.end(),
                modified,
            };
            if hold.as_ref().is_some_and(|h| h.hold(&info)) {
                report.held = Some(info.path);
                break;
            }
            match self.commitlog().remove_oldest()? {
                Some(p) => report.deleted.push(p),
                None => break,
            }
        }
        if !report.deleted.is_empty() {
            let min = self.commitlog().min_offset();
            for (topic, qid) in self.queue_ids() {
                if let Some(cq) = self.consume_queue(&topic, qid) {
                    report.consume_queue_files_deleted += cq.correct_min(min)?.len();
                }
            }
            report.index_files_deleted = self.remove_index_below(min)?;
        }
        Ok(report)
    }
}
