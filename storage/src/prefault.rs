//! The CommitLog's pages around its write position: populated ahead, unmapped far behind.
//!
//! A segment's blocks are reserved but never written, so the first touch of each page costs a
//! page fault in which the kernel zeroes a read-ahead window (measured: 12 % of the broker's CPU
//! under 16 synchronous senders, taken by whichever request held the append lock). The
//! `sluice-prefault` thread populates [`AHEAD`] bytes past the write position, so appends copy
//! into pages that are already there. Nothing is dirtied: the disk sees each byte once.
//!
//! Behind the write position, more than [`KEEP_BEHIND`] back, pages are unmapped from the
//! process ([`release_behind`], every 100 ms and each [`KEEP_BEHIND`] written): they stay in
//! the page cache, dirty ones are still written back by the flusher (unmapping hands the dirty
//! bit to the page), consumers reading there map them again — but the broker's RSS stops growing with every byte it ever
//! wrote: it counts the heap plus the hot end of the log.
//!
//! Further behind, more than `commitLogPageCacheBytes` below the durable offset, pages leave
//! the page cache too ([`evict_behind`]). Measured on the 2-core VM at 31,300 msg/s of 1 KiB
//! (`sluice-bench broker --mode producer --producers 16 --inflight 64 --rate 31300
//! --sluice-conf commitLogPageCacheBytes=33554432`, so that eviction starts within the 8 s run):
//! the prefault thread's CPU fell from 8.7 % to 1.3 % of a core and send p99 from 13.8 ms to
//! 3.6–8.8 ms, because appends then reuse recycled pages instead of first-touch memory. With the
//! 256 MiB default the same happens once that much has been written behind the durable offset.

use std::sync::Arc;

use crate::commitlog::CommitLog;
use crate::segment::Segment;

/// How far past the write position pages are kept populated: the thread tops it up every
/// 10 ms, so this covers 800 MB/s of appends. Measured (1 KiB sends, 16×1 and 1×64): 8 MiB
/// ahead and behind instead of 32 MiB each took the broker's peak RSS from 113–127 MiB to
/// 66–77 MiB with the same msgs/s and p99.
pub const AHEAD: u64 = 8 << 20;

/// How much of the log below the write position stays mapped (consumers at the head read it;
/// one further behind maps its pages again from the page cache, a minor fault each).
pub const KEEP_BEHIND: u64 = 8 << 20;

/// Populated in steps of this many bytes (one `madvise` each).
const STEP: u64 = 2 << 20;

/// Where the populated region ends; moved by [`Prefault::advance`].
#[derive(Debug, Default)]
pub struct Prefault {
    populated: u64,
}

/// Drops from the page cache what lies more than `keep` below the durable offset
/// (`commitLogPageCacheBytes`): freed pages are what the next appends' pages are taken from,
/// which on a VM whose fresh memory is slow to first touch costs a fraction of new pages
/// (measured below). Only durable bytes: the kernel would skip dirty pages anyway.
pub fn evict_behind(log: &Arc<CommitLog>, durable: u64, keep: u64) {
    for_each_below(log, durable.saturating_sub(keep), Segment::evict);
}

/// Calls `f(segment, 0, len)` with each segment's part below the global offset `below`.
fn for_each_below(log: &CommitLog, below: u64, f: impl Fn(&Segment, u64, u64)) {
    for seg in log.segments_in(0, below) {
        let end = below.min(seg.end());
        if end > seg.base() {
            f(&seg, 0, end - seg.base());
        }
    }
}

/// Unmaps the pages of every segment below `write position - KEEP_BEHIND` (whole pages only);
/// pages a lagging consumer mapped again since the last call are released again. Returns the
/// offset released up to.
pub fn release_behind(log: &Arc<CommitLog>) -> u64 {
    let below = log.write_pos().saturating_sub(KEEP_BEHIND);
    for_each_below(log, below, Segment::release);
    below
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
    fn resident(seg: &Segment, pages: usize) -> usize {
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
        let seg = Segment::create(dir.path(), 0, 8 << 20).unwrap();
        let pages = 2048;
        assert_eq!(resident(&seg, pages), 0);
        seg.populate(4096 * 3 + 100, 1 << 20);
        assert!(resident(&seg, pages) >= 256);
        assert!(seg.bytes(0, 8 << 20).iter().all(|b| *b == 0));
    }

    /// KiB of `seg`'s mapping resident in this process (its `Rss:` line in /proc/self/smaps;
    /// mincore would report page-cache residency, which unmapping does not change).
    fn mapped_kib(seg: &Segment) -> u64 {
        let name = seg.path().to_string_lossy().into_owned();
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut inside = false;
        for line in smaps.lines() {
            if line.contains(&name) {
                inside = true;
            } else if inside && line.starts_with("Rss:") {
                return line.split_whitespace().nth(1).unwrap().parse().unwrap();
            }
        }
        0
    }

    /// A log with `len` bytes of `byte` written into its first (128 MiB) segment.
    fn written_log(len: usize, byte: u8) -> (tempfile::TempDir, Arc<CommitLog>, Arc<Segment>) {
        let dir = tempfile::tempdir().unwrap();
        let (log, _) = CommitLog::open(dir.path(), 128 << 20, 0, 0, |_, _| {}).unwrap();
        let log = Arc::new(log);
        let mut session = log.begin().unwrap();
        session.reserve(len).unwrap();
        session.buffer().resize(len, byte);
        session.commit().unwrap();
        let seg = log.segments_in(0, 1).remove(0);
        (dir, log, seg)
    }

    #[test]
    fn release_unmaps_old_pages_and_keeps_their_bytes() {
        let len = 96usize << 20;
        let (_dir, log, seg) = written_log(len, 7);
        let before = mapped_kib(&seg);
        assert!(before >= (len as u64 >> 10), "{before} KiB mapped");
        assert_eq!(release_behind(&log), len as u64 - KEEP_BEHIND);
        let after = mapped_kib(&seg);
        assert!(
            after <= before - ((len as u64 - KEEP_BEHIND) >> 10) + 4,
            "{before} → {after} KiB"
        );
        // The bytes are still there, read back through the mapping.
        assert!(seg.bytes(0, len).iter().all(|b| *b == 7));
    }

    #[test]
    fn eviction_drops_old_durable_pages_from_the_page_cache_only() {
        let len = 96usize << 20;
        let (_dir, log, seg) = written_log(len, 9);
        seg.sync().unwrap();
        let old_pages = (len as u64 - KEEP_BEHIND) as usize / 4096;
        assert!(resident(&seg, old_pages) > old_pages / 2);
        release_behind(&log);
        evict_behind(&log, len as u64, KEEP_BEHIND);
        assert!(resident(&seg, old_pages) < old_pages / 10);
        // Read back from the disk, unchanged.
        assert!(seg.bytes(0, len).iter().all(|b| *b == 9));
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
