//! The set of IndexFiles: which keys a message is indexed under, rolling to a new file when one
//! is full, queries across files newest first, and removal of files retention made useless.

use std::path::{Path, PathBuf};

use crate::clock;
use crate::error::{io_err, StoreError};
use crate::index_file::IndexFile;
use crate::properties::split_keys;

/// All index files of a store, oldest first.
#[derive(Debug)]
pub struct IndexService {
    dir: PathBuf,
    slots: u32,
    max_entries: u32,
    files: Vec<IndexFile>,
}

impl IndexService {
    /// Opens the index files in `dir` (named by creation time).
    pub fn open(dir: &Path, slots: u32, max_entries: u32) -> Result<IndexService, StoreError> {
        if slots == 0 || max_entries < 2 {
            return Err(StoreError::Config(
                "maxHashSlotNum must be positive and maxIndexNum at least 2".into(),
            ));
        }
        std::fs::create_dir_all(dir).map_err(io_err(format!("creating {}", dir.display())))?;
        let mut names = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io_err(format!("listing {}", dir.display())))? {
            let entry = entry.map_err(io_err(format!("listing {}", dir.display())))?;
            if let Some(n) = entry.file_name().to_str() {
                if n.len() == 17 && n.bytes().all(|b| b.is_ascii_digit()) {
                    names.push(n.to_owned());
                }
            }
        }
        names.sort();
        let files = names
            .iter()
            .map(|n| IndexFile::open(&dir.join(n), slots, max_entries))
            .collect::<Result<_, _>>()?;
        Ok(IndexService {
            dir: dir.to_path_buf(),
            slots,
            max_entries,
            files,
        })
    }

    /// CommitLog offset of the newest indexed message (0 when nothing is indexed).
    pub fn end_phy_offset(&self) -> i64 {
        self.files.last().map(|f| f.header().end_phy_offset).unwrap_or(0)
    }

    fn has_entries(&self) -> bool {
        self.files.last().is_some_and(|f| f.header().index_count > 1)
    }

    fn writable(&mut self) -> Result<&mut IndexFile, StoreError> {
        let need_new = self.files.last().is_none_or(IndexFile::is_full);
        if need_new {
            let start = match self.files.last() {
                Some(f) => {
                    f.flush()?;
                    Some((f.header().end_timestamp, f.header().end_phy_offset))
                }
                None => None,
            };
            let mut ms = clock::now_millis();
            let mut path = self.dir.join(clock::index_file_name(ms));
            while path.exists() {
                ms += 1;
                path = self.dir.join(clock::index_file_name(ms));
            }
            self.files
                .push(IndexFile::create(&path, self.slots, self.max_entries, start)?);
        }
        self.files.last_mut().ok_or(StoreError::Closed)
    }

    /// Indexes one message under `topic#uniq_key` and `topic#k` for each key in `keys`.
    /// Messages at or below the newest indexed offset were indexed already (replay) and skipped.
    pub fn put_message(
        &mut self,
        topic: &str,
        uniq_key: Option<&str>,
        keys: Option<&str>,
        phy_offset: i64,
        store_timestamp: i64,
    ) -> Result<(), StoreError> {
        if self.has_entries() && phy_offset <= self.end_phy_offset() {
            return Ok(());
        }
        let all = uniq_key
            .into_iter()
            .filter(|k| !k.is_empty())
            .chain(keys.into_iter().flat_map(split_keys));
        for key in all {
            loop {
                let f = self.writable()?;
                if f.put(topic, key, phy_offset, store_timestamp) {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Candidate offsets for `topic#key` stored within `[begin, end]`, newest first.
    pub fn query(&self, topic: &str, key: &str, max: usize, begin: i64, end: i64) -> Vec<u64> {
        let mut out = Vec::new();
        for f in self.files.iter().rev() {
            if out.len() >= max {
                break;
            }
            f.query(topic, key, max, begin, end, &mut out);
            if f.header().begin_timestamp < begin {
                break;
            }
        }
        out.dedup();
        out
    }

    /// Flushes every file with unflushed entries.
    pub fn flush(&self) -> Result<(), StoreError> {
        match self.files.last() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }

    /// Deletes files whose newest entry points below `commitlog_min` (never the newest file).
    pub fn remove_below(&mut self, commitlog_min: u64) -> Result<Vec<PathBuf>, StoreError> {
        let mut removed = Vec::new();
        while self.files.len() > 1 && (self.files[0].header().end_phy_offset as u64) < commitlog_min {
            let f = self.files.remove(0);
            let path = f.path().to_path_buf();
            drop(f);
            std::fs::remove_file(&path).map_err(io_err(format!("removing {}", path.display())))?;
            removed.push(path);
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolls_and_queries_across_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut idx = IndexService::open(dir.path(), 11, 4).unwrap();
        for i in 0..10i64 {
            idx.put_message("T", Some(&format!("U{i}")), Some("shared  k"), i * 100, 1_000 + i)
                .unwrap();
        }
        // Replays are ignored.
        idx.put_message("T", Some("U3"), None, 300, 1_003).unwrap();
        assert_eq!(idx.query("T", "U3", 10, 0, i64::MAX), [300]);
        assert_eq!(idx.query("T", "shared", 32, 0, i64::MAX).len(), 10);
        assert_eq!(idx.query("T", "shared", 4, 0, i64::MAX).len(), 4);
        assert!(idx.files.len() >= 10);
        drop(idx);
        let mut idx = IndexService::open(dir.path(), 11, 4).unwrap();
        assert_eq!(idx.end_phy_offset(), 900);
        let removed = idx.remove_below(500).unwrap();
        assert!(!removed.is_empty());
        assert_eq!(idx.query("T", "U2", 10, 0, i64::MAX), Vec::<u64>::new());
        assert_eq!(idx.query("T", "U7", 10, 0, i64::MAX), [700]);
    }
}
