//! IndexFile: a hash index from `topic#key` (and `topic#UNIQ_KEY`) to CommitLog offsets with a
//! coarse time per entry (protocol.md §4.4). Files are named by their creation time.
//!
//! ```text
//!  header, 40 bytes: beginTimestamp i64 | endTimestamp i64 | beginPhyOffset i64 |
//!                    endPhyOffset i64 | hashSlotCount i32 | indexCount i32 (starts at 1)
//!  slots:   maxHashSlotNum × i32, the newest entry number hashed to the slot (0 = empty)
//!  entries: maxIndexNum × 20 bytes: keyHash i32 | phyOffset i64 | timeDiff i32 (seconds since
//!           beginTimestamp) | prevIndex i32 (previous entry in the slot's chain, 0 = end)
//! ```
//! Defaults: 5,000,000 slots and 20,000,000 entries, 420,000,040 bytes per file (sparse on disk).

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use memmap2::MmapMut;

use crate::error::{io_err, StoreError};
use crate::hash::index_key_hash;

pub const HEADER_LEN: usize = 40;
pub const SLOT_LEN: usize = 4;
pub const ENTRY_LEN: usize = 20;
pub const DEFAULT_MAX_HASH_SLOTS: u32 = 5_000_000;
pub const DEFAULT_MAX_INDEX_NUM: u32 = 20_000_000;

/// The 40-byte header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IndexHeader {
    pub begin_timestamp: i64,
    pub end_timestamp: i64,
    pub begin_phy_offset: i64,
    pub end_phy_offset: i64,
    pub hash_slot_count: i32,
    pub index_count: i32,
}

impl IndexHeader {
    fn read(b: &[u8]) -> IndexHeader {
        let i64_at = |o: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[o..o + 8]);
            i64::from_be_bytes(a)
        };
        let i32_at = |o: usize| {
            let mut a = [0u8; 4];
            a.copy_from_slice(&b[o..o + 4]);
            i32::from_be_bytes(a)
        };
        IndexHeader {
            begin_timestamp: i64_at(0),
            end_timestamp: i64_at(8),
            begin_phy_offset: i64_at(16),
            end_phy_offset: i64_at(24),
            hash_slot_count: i32_at(32),
            index_count: i32_at(36),
        }
    }

    fn write(&self, b: &mut [u8]) {
        b[0..8].copy_from_slice(&self.begin_timestamp.to_be_bytes());
        b[8..16].copy_from_slice(&self.end_timestamp.to_be_bytes());
        b[16..24].copy_from_slice(&self.begin_phy_offset.to_be_bytes());
        b[24..32].copy_from_slice(&self.end_phy_offset.to_be_bytes());
        b[32..36].copy_from_slice(&self.hash_slot_count.to_be_bytes());
        b[36..40].copy_from_slice(&self.index_count.to_be_bytes());
    }
}

/// Size of an index file with the given geometry.
pub fn file_len(slots: u32, entries: u32) -> usize {
    HEADER_LEN + slots as usize * SLOT_LEN + entries as usize * ENTRY_LEN
}

/// One index file.
#[derive(Debug)]
pub struct IndexFile {
    path: PathBuf,
    map: MmapMut,
    slots: u32,
    max_entries: u32,
    header: IndexHeader,
}

fn read_i32(b: &[u8], at: usize) -> i32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    i32::from_be_bytes(a)
}

fn read_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

impl IndexFile {
    /// Creates a file; `start` carries the previous file's end timestamp and offset.
    pub fn create(
        path: &Path,
        slots: u32,
        max_entries: u32,
        start: Option<(i64, i64)>,
    ) -> Result<IndexFile, StoreError> {
        let file = crate::segment::create_sized(path, file_len(slots, max_entries) as u64)?;
        let mut f = Self::map(path, file, slots, max_entries)?;
        f.header.index_count = 1;
        if let Some((ts, phy)) = start {
            f.header.begin_timestamp = ts;
            f.header.end_timestamp = ts;
            f.header.begin_phy_offset = phy;
            f.header.end_phy_offset = phy;
        }
        f.write_header();
        Ok(f)
    }

    /// Opens an existing file written with the same geometry.
    pub fn open(path: &Path, slots: u32, max_entries: u32) -> Result<IndexFile, StoreError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(io_err(format!("opening index file {}", path.display())))?;
        let len = file
            .metadata()
            .map_err(io_err(format!("reading {}", path.display())))?
            .len();
        if len != file_len(slots, max_entries) as u64 {
            return Err(StoreError::Layout(format!(
                "index file {} is {len} bytes; maxHashSlotNum/maxIndexNum say {}",
                path.display(),
                file_len(slots, max_entries)
            )));
        }
        let mut f = Self::map(path, file, slots, max_entries)?;
        f.header = IndexHeader::read(&f.map[..HEADER_LEN]);
        if f.header.index_count < 1 || f.header.index_count as u32 > max_entries {
            f.header.index_count = f.header.index_count.clamp(1, max_entries as i32);
        }
        Ok(f)
    }

    fn map(path: &Path, file: std::fs::File, slots: u32, max_entries: u32) -> Result<IndexFile, StoreError> {
        // SAFETY: index files are only written through this mapping by the single dispatcher
        // (callers serialise access with a lock); no other process maps them.
        let map =
            unsafe { MmapMut::map_mut(&file) }.map_err(io_err(format!("mapping {}", path.display())))?;
        Ok(IndexFile {
            path: path.to_path_buf(),
            map,
            slots,
            max_entries,
            header: IndexHeader::default(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn header(&self) -> &IndexHeader {
        &self.header
    }

    pub fn is_full(&self) -> bool {
        self.header.index_count as u32 >= self.max_entries
    }

    fn write_header(&mut self) {
        let h = self.header;
        h.write(&mut self.map[..HEADER_LEN]);
    }

    fn slot_pos(&self, hash: i32) -> usize {
        HEADER_LEN + (hash as u32 % self.slots) as usize * SLOT_LEN
    }

    fn entry_pos(&self, n: i32) -> usize {
        HEADER_LEN + self.slots as usize * SLOT_LEN + n as usize * ENTRY_LEN
    }

    /// Adds `topic#key` → `phy_offset`. Returns false when the file is full.
    pub fn put(&mut self, topic: &str, key: &str, phy_offset: i64, store_timestamp: i64) -> bool {
        if self.is_full() {
            return false;
        }
        let hash = index_key_hash(topic, key);
        let slot_pos = self.slot_pos(hash);
        let count = self.header.index_count;
        let mut prev = read_i32(&self.map, slot_pos);
        if prev <= 0 || prev > count {
            prev = 0;
        }
        let time_diff = if self.header.begin_timestamp <= 0 {
            0
        } else {
            ((store_timestamp - self.header.begin_timestamp) / 1000).clamp(0, i64::from(i32::MAX)) as i32
        };
        let at = self.entry_pos(count);
        let e = &mut self.map[at..at + ENTRY_LEN];
        e[0..4].copy_from_slice(&hash.to_be_bytes());
        e[4..12].copy_from_slice(&phy_offset.to_be_bytes());
        e[12..16].copy_from_slice(&time_diff.to_be_bytes());
        e[16..20].copy_from_slice(&prev.to_be_bytes());
        self.map[slot_pos..slot_pos + 4].copy_from_slice(&count.to_be_bytes());
        if count <= 1 {
            self.header.begin_phy_offset = phy_offset;
            self.header.begin_timestamp = store_timestamp;
        }
        if prev == 0 {
            self.header.hash_slot_count += 1;
        }
        self.header.index_count = count + 1;
        self.header.end_phy_offset = phy_offset;
        self.header.end_timestamp = store_timestamp;
        self.write_header();
        true
    }

    /// Offsets of entries for `topic#key` stored within `[begin, end]` (ms), newest first.
    /// Hash collisions are possible: callers check the messages' keys.
    pub fn query(&self, topic: &str, key: &str, max: usize, begin: i64, end: i64, out: &mut Vec<u64>) {
        let h = &self.header;
        if h.end_timestamp < begin || h.begin_timestamp > end {
            return;
        }
        let hash = index_key_hash(topic, key);
        let count = h.index_count;
        let mut n = read_i32(&self.map, self.slot_pos(hash));
        let mut steps = 0;
        while n > 0 && n < count && out.len() < max && steps < count {
            steps += 1;
            let at = self.entry_pos(n);
            let e_hash = read_i32(&self.map, at);
            let phy = read_i64(&self.map, at + 4);
            let diff = read_i32(&self.map, at + 12);
            let prev = read_i32(&self.map, at + 16);
            let ts = h.begin_timestamp + i64::from(diff) * 1000;
            if ts < begin && diff >= 0 {
                break;
            }
            if e_hash == hash && ts <= end && phy >= 0 {
                out.push(phy as u64);
            }
            if prev <= 0 || prev >= n {
                break;
            }
            n = prev;
        }
    }

    /// Flushes the mapping to disk.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.map
            .flush()
            .map_err(io_err(format!("flushing {}", self.path.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_chains() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("20240101000000000");
        let mut f = IndexFile::create(&path, 7, 10, None).unwrap();
        assert!(f.put("T", "k1", 100, 1_000_000));
        assert!(f.put("T", "k2", 200, 1_002_000));
        assert!(f.put("T", "k1", 300, 1_005_000));
        let mut out = Vec::new();
        f.query("T", "k1", 10, 0, i64::MAX, &mut out);
        assert_eq!(out, [300, 100]);
        out.clear();
        f.query("T", "k1", 10, 1_004_000, i64::MAX, &mut out);
        assert_eq!(out, [300]);
        out.clear();
        f.query("U", "k1", 10, 0, i64::MAX, &mut out);
        assert!(out.is_empty());
        // Golden header and entry bytes.
        let h = f.header();
        assert_eq!(
            (h.index_count, h.begin_phy_offset, h.end_phy_offset),
            (4, 100, 300)
        );
        let map = &f.map;
        assert_eq!(&map[0..8], &1_000_000i64.to_be_bytes());
        assert_eq!(&map[36..40], &4i32.to_be_bytes());
        let hash = index_key_hash("T", "k1");
        let slot = HEADER_LEN + (hash as u32 % 7) as usize * 4;
        assert_eq!(&map[slot..slot + 4], &3i32.to_be_bytes());
        let e3 = HEADER_LEN + 7 * 4 + 3 * 20;
        assert_eq!(&map[e3..e3 + 4], &hash.to_be_bytes());
        assert_eq!(&map[e3 + 4..e3 + 12], &300i64.to_be_bytes());
        assert_eq!(&map[e3 + 12..e3 + 16], &5i32.to_be_bytes());
        assert_eq!(&map[e3 + 16..e3 + 20], &1i32.to_be_bytes());
        f.flush().unwrap();
        drop(f);
        let f = IndexFile::open(&path, 7, 10).unwrap();
        assert_eq!(f.header().index_count, 4);
        assert!(IndexFile::open(&path, 8, 10).is_err());
    }

    #[test]
    fn fills_up() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = IndexFile::create(&dir.path().join("x"), 3, 4, Some((5, 6))).unwrap();
        assert_eq!(f.header().begin_timestamp, 5);
        assert!(f.put("T", "a", 1, 10));
        assert!(f.put("T", "b", 2, 10));
        assert!(f.put("T", "c", 3, 10));
        assert!(!f.put("T", "d", 4, 10));
        assert!(f.is_full());
    }
}
