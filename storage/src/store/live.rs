//! Settings that change while the store runs: retention and flush periods, as RocketMQ's broker
//! lets `updateBrokerConfig` change them. [`MessageStore::retune`] takes a whole new
//! [`StoreConfig`] and refuses it when it differs from the settings in force in any key not in
//! [`LIVE_KEYS`]; the layout, the flush mode and the paths stay as the store was opened.
//!
//! Each reader takes the value in force when it next looks: a retention round reads its policy
//! at its start, the flush and checkpoint threads their period before each wait.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::MessageStore;
use crate::config::StoreConfig;
use crate::error::StoreError;

/// The store keys that may change while the store runs.
pub const LIVE_KEYS: &[&str] = &[
    "fileReservedTime",
    "deleteWhen",
    "diskMaxUsedSpaceRatio",
    "diskSpaceCleanForciblyRatio",
    "cleanFileForciblyEnable",
    "deleteFileBatchMax",
    "cleanResourceInterval",
    "flushIntervalCommitLog",
    "flushIntervalConsumeQueue",
    "syncFlushTimeout",
];

/// The retention policy and background periods in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSettings {
    pub file_reserved_time_hours: u64,
    pub delete_when: Vec<u32>,
    pub disk_max_used_space_ratio: u32,
    pub disk_space_clean_forcibly_ratio: u32,
    pub clean_file_forcibly_enable: bool,
    pub delete_file_batch_max: usize,
    pub clean_resource_interval: Duration,
    pub flush_interval_consume_queue: Duration,
}

impl LiveSettings {
    pub fn of(c: &StoreConfig) -> LiveSettings {
        LiveSettings {
            file_reserved_time_hours: c.file_reserved_time_hours,
            delete_when: c.delete_when.clone(),
            disk_max_used_space_ratio: c.disk_max_used_space_ratio,
            disk_space_clean_forcibly_ratio: c.disk_space_clean_forcibly_ratio,
            clean_file_forcibly_enable: c.clean_file_forcibly_enable,
            delete_file_batch_max: c.delete_file_batch_max,
            clean_resource_interval: c.clean_resource_interval,
            flush_interval_consume_queue: c.flush_interval_consume_queue,
        }
    }

    fn write_into(&self, c: &mut StoreConfig) {
        c.file_reserved_time_hours = self.file_reserved_time_hours;
        c.delete_when.clone_from(&self.delete_when);
        c.disk_max_used_space_ratio = self.disk_max_used_space_ratio;
        c.disk_space_clean_forcibly_ratio = self.disk_space_clean_forcibly_ratio;
        c.clean_file_forcibly_enable = self.clean_file_forcibly_enable;
        c.delete_file_batch_max = self.delete_file_batch_max;
        c.clean_resource_interval = self.clean_resource_interval;
        c.flush_interval_consume_queue = self.flush_interval_consume_queue;
    }
}

/// A duration as whole milliseconds in an atomic (the hot path reads `syncFlushTimeout`).
pub(crate) struct AtomicMillis(AtomicU64);

impl AtomicMillis {
    pub(crate) fn new(d: Duration) -> AtomicMillis {
        AtomicMillis(AtomicU64::new(millis(d)))
    }

    pub(crate) fn get(&self) -> Duration {
        Duration::from_millis(self.0.load(Ordering::Relaxed))
    }

    pub(crate) fn set(&self, d: Duration) {
        self.0.store(millis(d), Ordering::Relaxed);
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl MessageStore {
    /// The retention policy and background periods in force.
    pub fn live(&self) -> LiveSettings {
        match self.live.read() {
            Ok(l) => l.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// How long a SYNC_FLUSH put waits for the disk before FLUSH_DISK_TIMEOUT (in force now).
    pub fn sync_flush_timeout(&self) -> Duration {
        self.sync_flush_timeout.get()
    }

    /// The store's settings in force: those it was opened with, the live ones as changed since.
    pub fn settings(&self) -> StoreConfig {
        let mut c = self.config.clone();
        self.live().write_into(&mut c);
        c.flush_interval_commit_log = self.flusher.interval();
        c.sync_flush_timeout = self.sync_flush_timeout();
        c
    }

    /// Puts `new`'s live settings in force. Refused, with nothing changed, when `new` differs
    /// from [`settings`](Self::settings) in a key outside [`LIVE_KEYS`]. Returns the keys whose
    /// values changed.
    pub fn retune(&self, new: &StoreConfig) -> Result<Vec<&'static str>, StoreError> {
        let now = self.settings().properties();
        let wanted = new.properties();
        let changed: Vec<&'static str> = wanted
            .iter()
            .filter(|kv| !now.contains(kv))
            .map(|(k, _)| *k)
            .collect();
        if let Some(fixed) = changed.iter().find(|k| !LIVE_KEYS.contains(k)) {
            return Err(StoreError::Config(format!(
                "{fixed} is read when the store opens and cannot change while it runs"
            )));
        }
        if changed.is_empty() {
            return Ok(changed);
        }
        let settings = LiveSettings::of(new);
        match self.live.write() {
            Ok(mut l) => *l = settings,
            Err(poisoned) => *poisoned.into_inner() = settings,
        }
        self.flusher.set_interval(new.flush_interval_commit_log);
        self.sync_flush_timeout.set(new.sync_flush_timeout);
        tracing::info!(keys = ?changed, "store settings changed");
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &std::path::Path) -> std::sync::Arc<MessageStore> {
        let c = StoreConfig {
            store_path_root_dir: dir.to_path_buf(),
            mapped_file_size_commit_log: 1 << 20,
            max_hash_slot_num: 64,
            max_index_num: 256,
            ..StoreConfig::default()
        };
        MessageStore::open(c).unwrap()
    }

    #[test]
    fn live_keys_change_and_show_in_the_settings() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let mut new = store.settings();
        new.set("fileReservedTime", "1").unwrap();
        new.set("deleteWhen", "02;14").unwrap();
        new.set("flushIntervalCommitLog", "200").unwrap();
        new.set("syncFlushTimeout", "900").unwrap();
        let mut changed = store.retune(&new).unwrap();
        changed.sort_unstable();
        assert_eq!(
            changed,
            [
                "deleteWhen",
                "fileReservedTime",
                "flushIntervalCommitLog",
                "syncFlushTimeout"
            ]
        );
        let now = store.settings();
        assert_eq!(now.file_reserved_time_hours, 1);
        assert_eq!(now.delete_when, [2, 14]);
        assert_eq!(now.flush_interval_commit_log, Duration::from_millis(200));
        assert_eq!(store.sync_flush_timeout(), Duration::from_millis(900));
        assert_eq!(store.live().delete_when, [2, 14]);
        // The opening config is kept as it was.
        assert_eq!(store.config().file_reserved_time_hours, 72);
        assert!(store.retune(&now).unwrap().is_empty());
    }

    #[test]
    fn a_fixed_key_is_refused_and_nothing_changes() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let mut new = store.settings();
        new.set("fileReservedTime", "1").unwrap();
        new.set("flushDiskType", "SYNC_FLUSH").unwrap();
        let e = store.retune(&new).unwrap_err().to_string();
        assert!(e.contains("flushDiskType"), "{e}");
        assert_eq!(store.live().file_reserved_time_hours, 72);
    }

    #[test]
    fn a_period_of_zero_is_refused() {
        let mut c = StoreConfig::default();
        for key in [
            "flushIntervalCommitLog",
            "flushIntervalConsumeQueue",
            "cleanResourceInterval",
        ] {
            let e = c.set(key, "0").unwrap_err().to_string();
            assert!(e.contains("at least 1"), "{key}: {e}");
            c.set(key, "1").unwrap();
        }
    }
}
