//! Shared by the archive's integration tests.

#![allow(dead_code)]

use std::path::Path;

use sluice_storage::StoreConfig;

/// A store in `dir` with tiny files (64 KiB CommitLog segments, 32-unit ConsumeQueue files, a
/// small IndexFile) so a few hundred messages seal several segments; `extra` settings on top.
pub fn small_store(dir: &Path, extra: &[(&str, &str)]) -> StoreConfig {
    let mut config = StoreConfig {
        store_path_root_dir: dir.to_path_buf(),
        ..StoreConfig::default()
    };
    let small = [
        ("mappedFileSizeCommitLog", "65536"),
        ("mappedFileSizeConsumeQueue", "640"),
        ("maxHashSlotNum", "64"),
        ("maxIndexNum", "4096"),
    ];
    for (k, v) in small.iter().chain(extra) {
        config.set(k, v).expect("store setting");
    }
    config
}
