//! The epoch file of controller mode (`storePathRootDir/epochFileCheckpoint`, as 5.x names
//! it): which master epoch wrote the CommitLog from which offset on. A master appends its epoch
//! at its log's end when it takes office; a slave appends each epoch its master's transfers
//! name. Replicas compare lists to find where their logs stop agreeing
//! (`sluice_remoting::ha_auto::consistent_point`).
//!
//! Text, one `epoch startOffset` line per entry, oldest first; replaced whole (temporary file,
//! fsync, rename, directory fsync), so a crash leaves the old list or the new one.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use sluice_remoting::ha_auto::Epoch;

use crate::error::{io_err, StoreError};

/// The file's name under the store root.
pub const FILE_NAME: &str = "epochFileCheckpoint";

/// The epoch list of one store.
#[derive(Debug)]
pub struct EpochFile {
    path: PathBuf,
    entries: Vec<Epoch>,
}

impl EpochFile {
    /// Loads `root/epochFileCheckpoint` (an empty list when there is none).
    pub fn load(root: &Path) -> Result<EpochFile, StoreError> {
        let path = root.join(FILE_NAME);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(io_err(format!("reading {}", path.display()))(e)),
        };
        let mut entries = Vec::new();
        for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let mut parts = line.split_whitespace();
            let parsed = match (parts.next(), parts.next(), parts.next()) {
                (Some(e), Some(s), None) => e.parse().ok().zip(s.parse().ok()),
                _ => None,
            };
            let Some((epoch, start_offset)) = parsed else {
                return Err(StoreError::Layout(format!(
                    "{} line {}: expected `epoch startOffset`, found {line:?}",
                    path.display(),
                    n + 1
                )));
            };
            entries.push(Epoch { epoch, start_offset });
        }
        Ok(EpochFile { path, entries })
    }

    pub fn entries(&self) -> &[Epoch] {
        &self.entries
    }

    /// The newest epoch, if any.
    pub fn last(&self) -> Option<Epoch> {
        self.entries.last().copied()
    }

    /// Records that `epoch` writes from `start_offset` on: entries starting at or after it
    /// (an abandoned future) are dropped first. A repeat of the newest entry changes nothing.
    pub fn append(&mut self, epoch: i32, start_offset: u64) -> Result<(), StoreError> {
        if self.last() == Some(Epoch { epoch, start_offset }) {
            return Ok(());
        }
        self.entries
            .retain(|e| e.start_offset < start_offset && e.epoch < epoch);
        self.entries.push(Epoch { epoch, start_offset });
        self.save()
    }

    /// Forgets the epochs that start past `offset` (the log was cut there).
    pub fn truncate(&mut self, offset: u64) -> Result<(), StoreError> {
        let before = self.entries.len();
        self.entries.retain(|e| e.start_offset <= offset);
        if self.entries.len() != before {
            self.save()?;
        }
        Ok(())
    }

    /// The epoch that wrote `offset` and where that epoch starts (`None` before the first
    /// entry: bytes written before controller mode).
    pub fn epoch_at(&self, offset: u64) -> Option<Epoch> {
        self.entries
            .iter()
            .rev()
            .find(|e| e.start_offset <= offset)
            .copied()
    }

    /// Where the epoch holding `offset` ends: the next epoch's start (`None`: it is the last).
    pub fn next_start_after(&self, offset: u64) -> Option<u64> {
        sluice_remoting::ha_auto::epoch_end(&self.entries, offset)
    }

    fn save(&self) -> Result<(), StoreError> {
        let tmp = self.path.with_extension("tmp");
        let mut text = String::new();
        for e in &self.entries {
            text.push_str(&format!("{} {}\n", e.epoch, e.start_offset));
        }
        let write = || -> std::io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)?;
            if let Some(dir) = self.path.parent() {
                File::open(dir)?.sync_all()?;
            }
            Ok(())
        };
        write().map_err(io_err(format!("writing {}", self.path.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_survive_a_reload_and_a_new_epoch_drops_an_abandoned_future() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = EpochFile::load(dir.path()).unwrap();
        assert!(f.entries().is_empty());
        f.append(1, 0).unwrap();
        f.append(2, 500).unwrap();
        f.append(2, 500).unwrap();
        assert_eq!(
            f.epoch_at(499),
            Some(Epoch {
                epoch: 1,
                start_offset: 0
            })
        );
        assert_eq!(f.next_start_after(100), Some(500));
        assert_eq!(f.next_start_after(600), None);
        let mut g = EpochFile::load(dir.path()).unwrap();
        assert_eq!(g.entries(), f.entries());
        // Cut back to 400, then epoch 3 starts there: epoch 2 never happened here.
        g.truncate(400).unwrap();
        g.append(3, 400).unwrap();
        assert_eq!(
            EpochFile::load(dir.path()).unwrap().entries(),
            &[
                Epoch {
                    epoch: 1,
                    start_offset: 0
                },
                Epoch {
                    epoch: 3,
                    start_offset: 400
                }
            ]
        );
        std::fs::write(dir.path().join(FILE_NAME), "1 x\n").unwrap();
        assert!(EpochFile::load(dir.path()).is_err());
    }
}
