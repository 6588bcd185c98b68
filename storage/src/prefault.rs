//! Keeping the pages just ahead of the CommitLog's write position in the page cache.
//!
//! A segment's blocks are reserved but never written, so the first touch of each page costs a
//! page fault in which the kernel zeroes a read-ahead window (measured: 12 % of the broker's CPU
//! under 16 synchronous senders, taken by whichever request held the append lock). The
//! `sluice-prefault` thread populates [`AHEAD`] bytes past the write position, so appends copy
//! into pages that are already there. Nothing is dirtied: the disk sees each byte once.

use std::sync::Arc;

use crate::commitlog::CommitLog;

/// How far past the write position pages are kept populated.
pub const AHEAD: u64 = 32 << 20;

/// Populated in steps of this many bytes (one `madvise` each).
const STEP: u64 = 2 << 20;

/// Where the populated region ends; moved by [`Prefault::advance`].
#[derive(Debug, Default)]
pub struct Prefault {
    populated: u64,
}

impl Prefault {
    /// Populates `[max(write position, populated), write position + AHEAD)` within the
    /// segments that exist (the next one is created on the roll and caught up with then).
    /// Returns how many bytes were populated.
    pub fn advance(&mut self, log: &Arc<CommitLog>) -> u64 {
        let pos = log.write_pos();
        let target = pos.saturating_add(AHEAD);
        self.populated = self.populated.max(pos);
        let mut done = 0;
        while self.populated < target {
            let Some(seg) = log
                .segments_in(self.populated, self.populated + 1)
                .into_iter()
                .next()
            else {
                break;
            };
            let end = target.min(seg.end()).min(self.populated + STEP);
            seg.populate(self.populated - seg.base(), end - self.populated);
            done += end - self.populated;
            self.populated = end;
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many of the first `pages` pages of the segment's file are in the page cache.
    fn resident(seg: &crate::segment::Segment, pages: usize) -> usize {
        let file = std::fs::File::open(seg.path()).unwrap();
        let len = pages * 4096;
        // SAFETY: a fresh read-only mapping of `len` bytes of the file, unmapped below; mincore
        // fills one byte per page into `vec`, which has room for them.
        unsafe {
            use std::os::unix::io::AsRawFd;
            let addr = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            );
            assert_ne!(addr, libc::MAP_FAILED);
            let mut vec = vec![0u8; pages];
            assert_eq!(libc::mincore(addr, len, vec.as_mut_ptr()), 0);
            libc::munmap(addr, len);
            vec.iter().filter(|b| **b & 1 == 1).count()
        }
    }

    #[test]
    fn populate_brings_never_written_pages_in_as_zeros() {
        let dir = tempfile::tempdir().unwrap();
        let seg = crate::segment::Segment::create(dir.path(), 0, 8 << 20).unwrap();
        let pages = 2048;
        assert_eq!(resident(&seg, pages), 0);
        seg.populate(4096 * 3 + 100, 1 << 20);
        assert!(resident(&seg, pages) >= 256);
        assert!(seg.bytes(0, 8 << 20).iter().all(|b| *b == 0));
    }

    #[test]
    fn stays_ahead_of_the_write_position_within_existing_segments() {
        let dir = tempfile::tempdir().unwrap();
        let seg = 8 << 20;
        let (log, _) = CommitLog::open(dir.path(), seg, 0, 0, |_, _| {}).unwrap();
        let log = Arc::new(log);
        let mut p = Prefault::default();
        // Only the first segment exists: populated up to its end, not past it.
        assert_eq!(p.advance(&log), seg);
        assert_eq!(p.advance(&log), 0);
        assert_eq!(log.write_pos(), 0);
        // Once the log rolls into a second segment, the region past the write position follows.
        let mut session = log.begin().unwrap();
        let filled = seg as usize - 100;
        session.reserve(filled).unwrap();
        session.buffer().resize(filled, 1);
        session.reserve(1000).unwrap();
        session.commit().unwrap();
        let pos = log.write_pos();
        assert_eq!(pos, seg);
        assert_eq!(p.advance(&log), seg);
        assert_eq!(p.advance(&log), 0);
    }
}
