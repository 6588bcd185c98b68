//! ConsumeQueue: per (topic, queue) an array of 20-byte units — CommitLog offset, record size,
//! tags code — indexed by queue offset (protocol.md §4.3), in files of 300,000 units named by the
//! byte offset of their first unit.
//!
//! ```text
//!  off size field
//!  0   8    CommitLog physical offset   i64
//!  8   4    record size (TOTALSIZE)     i32
//!  12  8    tags code                   i64
//! ```
//! Units are appended by the dispatcher (one `pwrite` per file touched per batch) and read through
//! the files' mmaps below the published max offset.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crate::error::{io_err, StoreError};
use crate::segment::{list_segment_files, Segment};

/// Bytes per unit.
pub const UNIT_LEN: u64 = 20;
/// RocketMQ's default units per file (`mappedFileSizeConsumeQueue` = 300,000 × 20).
pub const DEFAULT_UNITS_PER_FILE: u64 = 300_000;

/// One ConsumeQueue entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CqUnit {
    pub phys_offset: i64,
    pub size: i32,
    pub tags_code: i64,
}

impl CqUnit {
    /// The filler written before the first unit of a queue that starts at a non-zero offset.
    pub const BLANK: CqUnit = CqUnit {
        phys_offset: 0,
        size: i32::MAX,
        tags_code: 0,
    };

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.phys_offset.to_be_bytes());
        out.extend_from_slice(&self.size.to_be_bytes());
        out.extend_from_slice(&self.tags_code.to_be_bytes());
    }

    /// Decodes a unit from exactly 20 bytes.
    pub fn decode(b: &[u8]) -> Option<CqUnit> {
        let b: &[u8; 20] = b.try_into().ok()?;
        let mut phys = [0u8; 8];
        phys.copy_from_slice(&b[0..8]);
        let mut size = [0u8; 4];
        size.copy_from_slice(&b[8..12]);
        let mut tags = [0u8; 8];
        tags.copy_from_slice(&b[12..20]);
        Some(CqUnit {
            phys_offset: i64::from_be_bytes(phys),
            size: i32::from_be_bytes(size),
            tags_code: i64::from_be_bytes(tags),
        })
    }

    /// A unit recovery accepts (zeros mark the end of written data).
    pub fn is_valid(&self) -> bool {
        self.phys_offset >= 0 && self.size > 0
    }

    pub fn is_blank(&self) -> bool {
        *self == CqUnit::BLANK
    }
}

/// Rejects topic names that cannot be a directory name.
pub fn check_topic_dir_name(topic: &str) -> Result<(), StoreError> {
    if topic.is_empty() || topic == "." || topic == ".." || topic.contains(['/', '\0']) {
        return Err(StoreError::Config(format!(
            "topic {topic:?} cannot name a ConsumeQueue directory"
        )));
    }
    Ok(())
}

/// The queue of one (topic, queue id).
#[derive(Debug)]
pub struct ConsumeQueue {
    topic: String,
    queue_id: u32,
    dir: PathBuf,
    units_per_file: u64,
    files: RwLock<Vec<Arc<Segment>>>,
    /// The next queue offset to be written (= units ever written).
    max: AtomicU64,
    /// The first queue offset whose message is still stored.
    min: AtomicU64,
    /// Units below this are on disk (`fdatasync`ed).
    synced: AtomicU64,
    write_lock: Mutex<Vec<u8>>,
}

impl ConsumeQueue {
    /// Opens (creating if needed) the queue under `root/<topic>/<queue_id>` and recovers its end:
    /// the last file is read up to its first invalid unit and the rest is discarded.
    pub fn open(
        root: &Path,
        topic: &str,
        queue_id: u32,
        units_per_file: u64,
    ) -> Result<ConsumeQueue, StoreError> {
        check_topic_dir_name(topic)?;
        let dir = root.join(topic).join(queue_id.to_string());
        std::fs::create_dir_all(&dir).map_err(io_err(format!("creating {}", dir.display())))?;
        let file_size = units_per_file * UNIT_LEN;
        let mut files = Vec::new();
        for (base, path) in list_segment_files(&dir)? {
            if base % file_size != 0 {
                return Err(StoreError::Layout(format!(
                    "ConsumeQueue file {} is not at a multiple of {file_size}",
                    path.display()
                )));
            }
            if let Some(prev) = files.last().map(|f: &Segment| f.end()) {
                if prev != base {
                    return Err(StoreError::Layout(format!(
                        "ConsumeQueue gap before {}",
                        path.display()
                    )));
                }
            }
            files.push(Segment::open(&path, base, file_size)?);
        }
        let mut max = 0;
        let mut min = 0;
        if let Some(first) = files.first() {
            min = first.base() / UNIT_LEN;
        }
        if let Some(last) = files.pop() {
            let mut valid = 0u64;
            while valid < units_per_file {
                let b = last.bytes((valid * UNIT_LEN) as usize, UNIT_LEN as usize);
                match CqUnit::decode(b) {
                    Some(u) if u.is_valid() => valid += 1,
                    _ => break,
                }
            }
            max = last.base() / UNIT_LEN + valid;
            let tail = last.bytes((valid * UNIT_LEN) as usize, UNIT_LEN as usize);
            let last = if tail.iter().any(|&b| b != 0) {
                tracing::warn!(
                    topic,
                    queue_id,
                    offset = max,
                    "discarding a torn ConsumeQueue tail"
                );
                last.zero_from(valid * UNIT_LEN)?
            } else {
                last
            };
            files.push(last);
        }
        Ok(ConsumeQueue {
            topic: topic.to_owned(),
            queue_id,
            dir,
            units_per_file,
            files: RwLock::new(files.into_iter().map(Arc::new).collect()),
            max: AtomicU64::new(max),
            min: AtomicU64::new(min),
            synced: AtomicU64::new(max),
            write_lock: Mutex::new(Vec::new()),
        })
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    pub fn queue_id(&self) -> u32 {
        self.queue_id
    }

    /// The next offset to be written; also the number of units ever written.
    pub fn max_offset(&self) -> u64 {
        self.max.load(Ordering::Acquire)
    }

    /// The first offset whose message is still stored.
    pub fn min_offset(&self) -> u64 {
        self.min.load(Ordering::Acquire).min(self.max_offset())
    }

    fn file_for(&self, offset: u64) -> Option<Arc<Segment>> {
        let byte = offset * UNIT_LEN;
        let files = self.files.read().ok()?;
        let idx = files.partition_point(|f| f.end() <= byte);
        files.get(idx).filter(|f| f.contains(byte)).cloned()
    }

    /// The unit at `offset`, if it is written and not deleted.
    pub fn get(&self, offset: u64) -> Option<CqUnit> {
        if offset >= self.max_offset() {
            return None;
        }
        let f = self.file_for(offset)?;
        CqUnit::decode(f.bytes((offset * UNIT_LEN - f.base()) as usize, UNIT_LEN as usize))
    }

    /// Up to `max_count` units from `offset` on, stopping at the end of the file holding `offset`
    /// (as RocketMQ's reads do) or at the max offset.
    pub fn read(&self, offset: u64, max_count: usize, out: &mut Vec<CqUnit>) {
        let max = self.max_offset();
        if offset >= max {
            return;
        }
        let Some(f) = self.file_for(offset) else { return };
        let file_end_unit = f.end() / UNIT_LEN;
        let end = max.min(file_end_unit).min(offset + max_count as u64);
        let bytes = f.bytes(
            (offset * UNIT_LEN - f.base()) as usize,
            ((end - offset) * UNIT_LEN) as usize,
        );
        out.extend(bytes.chunks_exact(UNIT_LEN as usize).filter_map(CqUnit::decode));
    }

    /// Writes units at consecutive offsets starting at `start`. Units below the max offset are
    /// already there and skipped (dispatch is idempotent); a gap before `start` is filled with
    /// blank units.
    pub fn put(&self, start: u64, units: &[CqUnit]) -> Result<(), StoreError> {
        let mut buf = self.write_lock.lock().map_err(|_| StoreError::Closed)?;
        let max = self.max_offset();
        let end = start + units.len() as u64;
        if end <= max {
            return Ok(());
        }
        let skip = max.saturating_sub(start) as usize;
        // An empty queue starting late begins at the file holding `start`, not at offset 0.
        let empty = self.files.read().map_err(|_| StoreError::Closed)?.is_empty();
        let mut pos = if empty && start > max {
            start - start % self.units_per_file
        } else {
            max
        };
        let first = pos;
        if start > max {
            tracing::warn!(topic = %self.topic, queue_id = self.queue_id, from = max, to = start, "filling a ConsumeQueue gap with blank units");
        }
        let blanks = start.saturating_sub(first);
        let all = std::iter::repeat_n(CqUnit::BLANK, blanks as usize).chain(units[skip..].iter().copied());
        buf.clear();
        for u in all {
            u.encode(&mut buf);
        }
        // Write file by file.
        let mut written = 0usize;
        while written < buf.len() {
            let f = self.file_or_create(pos)?;
            let in_file = (f.end() - pos * UNIT_LEN) as usize;
            let n = in_file.min(buf.len() - written);
            f.write_at(pos * UNIT_LEN - f.base(), &buf[written..written + n])?;
            written += n;
            pos += n as u64 / UNIT_LEN;
        }
        self.max.store(pos, Ordering::Release);
        Ok(())
    }

    fn file_or_create(&self, offset: u64) -> Result<Arc<Segment>, StoreError> {
        if let Some(f) = self.file_for(offset) {
            return Ok(f);
        }
        let file_size = self.units_per_file * UNIT_LEN;
        let base = offset * UNIT_LEN / file_size * file_size;
        let seg = Arc::new(Segment::create(&self.dir, base, file_size)?);
        let mut files = self.files.write().map_err(|_| StoreError::Closed)?;
        files.push(seg.clone());
        if files.len() == 1 {
            self.min.store(base / UNIT_LEN, Ordering::Release);
        }
        Ok(seg)
    }

    /// Drops units at and after `offset` (recovery, when the CommitLog ended earlier).
    pub fn truncate(&self, offset: u64) -> Result<(), StoreError> {
        let _w = self.write_lock.lock().map_err(|_| StoreError::Closed)?;
        if offset >= self.max_offset() {
            return Ok(());
        }
        let byte = offset * UNIT_LEN;
        let mut files = self.files.write().map_err(|_| StoreError::Closed)?;
        while let Some(last) = files.last() {
            if last.base() >= byte && files.len() > 1 {
                let f = files.pop().ok_or(StoreError::Closed)?;
                std::fs::remove_file(f.path()).map_err(io_err(format!("removing {}", f.path().display())))?;
                continue;
            }
            break;
        }
        if let Some(last) = files.pop() {
            let rel = byte.saturating_sub(last.base());
            let f = Arc::try_unwrap(last)
                .map_err(|_| StoreError::Layout("ConsumeQueue file in use during truncation".into()))?;
            files.push(Arc::new(f.zero_from(rel)?));
        }
        self.max.store(offset, Ordering::Release);
        self.synced.fetch_min(offset, Ordering::AcqRel);
        Ok(())
    }

    /// Removes trailing units that point at or past `commitlog_end`.
    pub fn truncate_beyond(&self, commitlog_end: u64) -> Result<(), StoreError> {
        let mut keep = self.max_offset();
        while keep > self.min_offset() {
            match self.get(keep - 1) {
                Some(u) if !u.is_blank() && (u.phys_offset as u64 + u.size as u64) > commitlog_end => {
                    keep -= 1
                }
                _ => break,
            }
        }
        self.truncate(keep)
    }

    /// Moves the min offset past units whose message lies below `commitlog_min` and deletes files
    /// that hold only such units. Returns the deleted files.
    pub fn correct_min(&self, commitlog_min: u64) -> Result<Vec<PathBuf>, StoreError> {
        let max = self.max_offset();
        let (mut lo, mut hi) = (self.min_offset(), max);
        // First unit that is not blank and whose message is at or after commitlog_min.
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.get(mid) {
                Some(u) if u.is_blank() || (u.phys_offset as u64) < commitlog_min => lo = mid + 1,
                _ => hi = mid,
            }
        }
        self.min.fetch_max(lo, Ordering::AcqRel);
        let mut removed = Vec::new();
        let mut files = self.files.write().map_err(|_| StoreError::Closed)?;
        while files.len() > 1 && files[0].end() <= lo * UNIT_LEN {
            let f = files.remove(0);
            std::fs::remove_file(f.path()).map_err(io_err(format!("removing {}", f.path().display())))?;
            removed.push(f.path().to_path_buf());
        }
        Ok(removed)
    }

    /// Makes written units durable; returns whether anything was synced.
    pub fn sync(&self) -> Result<bool, StoreError> {
        let max = self.max_offset();
        let from = self.synced.load(Ordering::Acquire);
        if max <= from {
            return Ok(false);
        }
        let files: Vec<Arc<Segment>> = self
            .files
            .read()
            .map_err(|_| StoreError::Closed)?
            .iter()
            .filter(|f| f.end() > from * UNIT_LEN && f.base() < max * UNIT_LEN)
            .cloned()
            .collect();
        for f in files {
            f.sync()?;
        }
        self.synced.fetch_max(max, Ordering::AcqRel);
        Ok(true)
    }

    /// Removes the queue's files (topic deletion).
    pub fn destroy(&self) -> Result<(), StoreError> {
        let mut files = self.files.write().map_err(|_| StoreError::Closed)?;
        files.clear();
        self.max.store(0, Ordering::Release);
        self.min.store(0, Ordering::Release);
        match std::fs::remove_dir_all(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(format!("removing {}", self.dir.display()))(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(i: u64) -> CqUnit {
        CqUnit {
            phys_offset: (i * 100) as i64,
            size: 100,
            tags_code: i as i64,
        }
    }

    #[test]
    fn golden_unit_bytes() {
        let mut b = Vec::new();
        CqUnit {
            phys_offset: 0x0102,
            size: 0x30,
            tags_code: -1,
        }
        .encode(&mut b);
        assert_eq!(
            b,
            [0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0x30, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        );
    }

    #[test]
    fn put_read_roll_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let cq = ConsumeQueue::open(dir.path(), "T", 3, 4).unwrap();
        let units: Vec<CqUnit> = (0..10).map(unit).collect();
        cq.put(0, &units[..3]).unwrap();
        cq.put(3, &units[3..]).unwrap();
        cq.put(2, &units[2..5]).unwrap(); // idempotent
        assert_eq!(cq.max_offset(), 10);
        assert_eq!(cq.get(7), Some(units[7]));
        let mut out = Vec::new();
        cq.read(5, 100, &mut out);
        assert_eq!(out, units[5..8]); // stops at the file end
        assert!(dir.path().join("T/3/00000000000000000080").exists());
        drop(cq);
        let cq = ConsumeQueue::open(dir.path(), "T", 3, 4).unwrap();
        assert_eq!(cq.max_offset(), 10);
        cq.truncate_beyond(650).unwrap();
        assert_eq!(cq.max_offset(), 6);
        cq.correct_min(450).unwrap();
        assert_eq!(cq.min_offset(), 5);
        assert!(!dir.path().join("T/3/00000000000000000000").exists());
        assert!(ConsumeQueue::open(dir.path(), "../x", 0, 4).is_err());
    }

    #[test]
    fn gap_is_filled_with_blanks() {
        let dir = tempfile::tempdir().unwrap();
        let cq = ConsumeQueue::open(dir.path(), "T", 0, 4).unwrap();
        cq.put(6, &[unit(6)]).unwrap();
        assert_eq!(cq.max_offset(), 7);
        assert_eq!(cq.min_offset(), 4);
        assert_eq!(cq.get(5), Some(CqUnit::BLANK));
        cq.correct_min(0).unwrap();
        assert_eq!(cq.min_offset(), 6);
    }
}
