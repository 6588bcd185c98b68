//! The store's settings, named and defaulted as RocketMQ's `MessageStoreConfig`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::consume_queue::{DEFAULT_UNITS_PER_FILE, UNIT_LEN};
use crate::error::StoreError;
use crate::flush::FlushDiskType;
use crate::index_file::{DEFAULT_MAX_HASH_SLOTS, DEFAULT_MAX_INDEX_NUM};

/// Store settings. Field names are RocketMQ's property names in snake case; [`StoreConfig::set`]
/// takes the property names themselves (`mappedFileSizeCommitLog`, `flushDiskType`, …).
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// `storePathRootDir`: CommitLog, ConsumeQueues, IndexFiles and the RocksDB live under it.
    pub store_path_root_dir: PathBuf,
    /// `storePathCommitLog`: where the CommitLog segments live; `None` =
    /// `<storePathRootDir>/commitlog` (see [`StoreConfig::commit_log_dir`]).
    pub store_path_commit_log: Option<PathBuf>,
    /// `mappedFileSizeCommitLog`, bytes per CommitLog segment (1 GiB).
    pub mapped_file_size_commit_log: u64,
    /// `mappedFileSizeConsumeQueue`, bytes per ConsumeQueue file (300,000 × 20).
    pub mapped_file_size_consume_queue: u64,
    /// `maxMessageSize`, the largest body (or whole encoded batch) accepted (4 MiB).
    pub max_message_size: usize,
    /// `flushDiskType`.
    pub flush_disk_type: FlushDiskType,
    /// `flushIntervalCommitLog` (500 ms), the ASYNC_FLUSH period.
    pub flush_interval_commit_log: Duration,
    /// `flushIntervalConsumeQueue` (1 s): ConsumeQueue/IndexFile flush and checkpoint period.
    pub flush_interval_consume_queue: Duration,
    /// `syncFlushTimeout` (5 s): how long a SYNC_FLUSH producer waits before FLUSH_DISK_TIMEOUT.
    pub sync_flush_timeout: Duration,
    /// `fileReservedTime`, hours a CommitLog segment is kept (72).
    pub file_reserved_time_hours: u64,
    /// `deleteWhen`, local hours at which expired segments are deleted ("04", or "01;04;23").
    pub delete_when: Vec<u32>,
    /// `diskMaxUsedSpaceRatio` (75 %): above it expired segments are deleted at any hour.
    pub disk_max_used_space_ratio: u32,
    /// `diskSpaceCleanForciblyRatio` (85 %): above it the oldest segment goes even if not expired.
    pub disk_space_clean_forcibly_ratio: u32,
    /// `cleanFileForciblyEnable` (true): above `diskSpaceCleanForciblyRatio` unexpired segments
    /// may go; false keeps every segment for its `fileReservedTime`.
    pub clean_file_forcibly_enable: bool,
    /// `cleanResourceInterval` (10 s), how often retention runs.
    pub clean_resource_interval: Duration,
    /// `deleteFileBatchMax` (10), segments deleted per retention round at most.
    pub delete_file_batch_max: usize,
    /// `messageIndexEnable` (true).
    pub message_index_enable: bool,
    /// `maxHashSlotNum` (5,000,000).
    pub max_hash_slot_num: u32,
    /// `maxIndexNum` (20,000,000).
    pub max_index_num: u32,
    /// `checkCRCOnRecover` (true): recovery checks each record's body CRC (a mismatch ends the
    /// log there, as any invalid record does); false trusts the bodies and checks the framing
    /// only.
    pub check_crc_on_recover: bool,
    /// `accessMessageInMemoryMaxRatio` (40 %): messages within this share of RAM from the
    /// CommitLog end are "hot" for pull batching.
    pub access_message_in_memory_max_ratio: u32,
    /// `maxTransferBytesOnMessageInMemory` (256 KiB).
    pub max_transfer_bytes_on_message_in_memory: usize,
    /// `maxTransferCountOnMessageInMemory` (32).
    pub max_transfer_count_on_message_in_memory: usize,
    /// `maxTransferBytesOnMessageInDisk` (64 KiB).
    pub max_transfer_bytes_on_message_in_disk: usize,
    /// `maxTransferCountOnMessageInDisk` (8).
    pub max_transfer_count_on_message_in_disk: usize,
    /// The broker's address as written into records (STOREHOSTADDRESS) and offsetMsgIds.
    pub store_host: SocketAddr,
    /// `messageDelayLevel`: the delay of each level, level 1 first
    /// (`1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h`).
    pub message_delay_level: Vec<Duration>,
    /// `timerWheelEnable` (true): timer messages (TIMER_DELIVER_MS, …) are held until their time.
    pub timer_wheel_enable: bool,
    /// `timerMaxDelaySec` (259,200 = 3 days): a timer further ahead is MESSAGE_ILLEGAL.
    pub timer_max_delay_sec: u64,
    /// `archiveEnable` (false): retention archives a segment as Parquet before deleting it.
    pub archive_enable: bool,
    /// `archivePath`: where archived segments go; `None` = `<storePathRootDir>/archive`.
    pub archive_path: Option<PathBuf>,
    /// `commitLogPageCacheBytes` (256 MiB; sluice's own): how much of the durable CommitLog below
    /// the write position stays in the page cache; older pages are dropped from it
    /// (`POSIX_FADV_DONTNEED`), so new appends reuse freed pages instead of taking fresh ones,
    /// and consumers further behind read from the disk. 0 = leave it all to the kernel.
    pub commit_log_page_cache_bytes: u64,
}

/// RocketMQ's default `messageDelayLevel`.
pub const DEFAULT_DELAY_LEVELS: &str = "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h";

/// Parses a `messageDelayLevel` value: space-separated durations with unit `ms`, `s`, `m`, `h`
/// or `d`.
pub fn parse_delay_levels(key: &str, value: &str) -> Result<Vec<Duration>, StoreError> {
    let bad = |why: String| StoreError::Config(format!("{key}={value:?}: {why}"));
    let levels = value
        .split_whitespace()
        .map(|item| {
            let split = item
                .find(|c: char| !c.is_ascii_digit())
                .ok_or_else(|| bad(format!("{item:?} has no unit (ms, s, m, h, d)")))?;
            let (n, unit) = item.split_at(split);
            let n: u64 = n.parse().map_err(|_| bad(format!("{item:?} is not a number")))?;
            let ms = match unit {
                "ms" => 1,
                "s" => 1000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                other => return Err(bad(format!("unknown unit {other:?}"))),
            };
            Ok(Duration::from_millis(n * ms))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if levels.is_empty() {
        return Err(bad("no levels".into()));
    }
    Ok(levels)
}

impl Default for StoreConfig {
    fn default() -> Self {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        StoreConfig {
            store_path_root_dir: home.join("store"),
            store_path_commit_log: None,
            mapped_file_size_commit_log: 1 << 30,
            mapped_file_size_consume_queue: DEFAULT_UNITS_PER_FILE * UNIT_LEN,
            max_message_size: 4 * 1024 * 1024,
            flush_disk_type: FlushDiskType::AsyncFlush,
            flush_interval_commit_log: Duration::from_millis(500),
            flush_interval_consume_queue: Duration::from_millis(1000),
            sync_flush_timeout: Duration::from_millis(5000),
            file_reserved_time_hours: 72,
            delete_when: vec![4],
            disk_max_used_space_ratio: 75,
            disk_space_clean_forcibly_ratio: 85,
            clean_file_forcibly_enable: true,
            clean_resource_interval: Duration::from_millis(10_000),
            delete_file_batch_max: 10,
            message_index_enable: true,
            max_hash_slot_num: DEFAULT_MAX_HASH_SLOTS,
            max_index_num: DEFAULT_MAX_INDEX_NUM,
            check_crc_on_recover: true,
            access_message_in_memory_max_ratio: 40,
            max_transfer_bytes_on_message_in_memory: 256 * 1024,
            max_transfer_count_on_message_in_memory: 32,
            max_transfer_bytes_on_message_in_disk: 64 * 1024,
            max_transfer_count_on_message_in_disk: 8,
            store_host: SocketAddr::from(([127, 0, 0, 1], 10911)),
            message_delay_level: parse_delay_levels("messageDelayLevel", DEFAULT_DELAY_LEVELS)
                .unwrap_or_default(),
            timer_wheel_enable: true,
            timer_max_delay_sec: 259_200,
            archive_enable: false,
            archive_path: None,
            commit_log_page_cache_bytes: 256 << 20,
        }
    }
}

/// Parses a property value, naming the key in the error (shared with the broker's settings).
pub fn parse<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    value
        .trim()
        .parse()
        .map_err(|e| StoreError::Config(format!("{key}={value:?}: {e}")))
}

/// Parses `true` / `false` (any case), naming the key in the error.
pub fn parse_bool(key: &str, value: &str) -> Result<bool, StoreError> {
    match value.trim() {
        v if v.eq_ignore_ascii_case("true") => Ok(true),
        v if v.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(StoreError::Config(format!(
            "{key}={value:?}: expected true or false"
        ))),
    }
}

fn parse_ratio(key: &str, value: &str) -> Result<u32, StoreError> {
    let v: u32 = parse(key, value)?;
    if !(1..=100).contains(&v) {
        return Err(StoreError::Config(format!(
            "{key}={value:?}: expected a percentage 1–100"
        )));
    }
    Ok(v)
}

fn parse_hours(key: &str, value: &str) -> Result<Vec<u32>, StoreError> {
    value
        .split(';')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(|h| match h.parse::<u32>() {
            Ok(v) if v < 24 => Ok(v),
            _ => Err(StoreError::Config(format!(
                "{key}={value:?}: {h:?} is not an hour 00–23"
            ))),
        })
        .collect()
}

/// A delay level as `messageDelayLevel` writes it: the largest whole unit of d, h, m, s.
fn delay_text(d: Duration) -> String {
    let (s, ms) = (d.as_secs(), d.as_millis());
    match s {
        _ if ms == 0 || ms % 1000 != 0 => format!("{ms}ms"),
        _ if s % 86_400 == 0 => format!("{}d", s / 86_400),
        _ if s % 3_600 == 0 => format!("{}h", s / 3_600),
        _ if s % 60 == 0 => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

fn millis(key: &str, value: &str) -> Result<Duration, StoreError> {
    Ok(Duration::from_millis(parse(key, value)?))
}

/// A background thread's period: at least 1 ms (0 would spin the thread).
fn period(key: &str, value: &str) -> Result<Duration, StoreError> {
    let d = millis(key, value)?;
    if d.is_zero() {
        return Err(StoreError::Config(format!(
            "{key} must be at least 1 (ms), not 0"
        )));
    }
    Ok(d)
}

impl StoreConfig {
    /// Where the CommitLog segments live: `storePathCommitLog`, else
    /// `<storePathRootDir>/commitlog`.
    pub fn commit_log_dir(&self) -> PathBuf {
        self.store_path_commit_log
            .clone()
            .unwrap_or_else(|| self.store_path_root_dir.join("commitlog"))
    }

    /// Applies one RocketMQ property. Returns `Ok(false)` when `key` is not a store setting, and
    /// an error when the value does not parse.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, StoreError> {
        match key {
            "storePathRootDir" => self.store_path_root_dir = PathBuf::from(value.trim()),
            "storePathCommitLog" => {
                let v = value.trim();
                self.store_path_commit_log = (!v.is_empty()).then(|| PathBuf::from(v));
            }
            // 4.0–4.2 spelled it `maped`; later 4.x still read the old name.
            "mappedFileSizeCommitLog" | "mapedFileSizeCommitLog" => {
                let v: u64 = parse(key, value)?;
                if v < 4096 {
                    return Err(StoreError::Config(format!("{key}={value}: at least 4096 bytes")));
                }
                self.mapped_file_size_commit_log = v;
            }
            "mappedFileSizeConsumeQueue" | "mapedFileSizeConsumeQueue" => {
                let v: u64 = parse(key, value)?;
                // RocketMQ rounds to a whole number of units.
                let units = (v / UNIT_LEN).max(1);
                self.mapped_file_size_consume_queue = units * UNIT_LEN;
            }
            "maxMessageSize" => {
                let v: usize = parse(key, value)?;
                if v == 0 {
                    return Err(StoreError::Config(format!("{key}={value}: must be positive")));
                }
                self.max_message_size = v;
            }
            "flushDiskType" => {
                self.flush_disk_type = value.parse().map_err(StoreError::Config)?;
            }
            "flushIntervalCommitLog" => self.flush_interval_commit_log = period(key, value)?,
            "flushIntervalConsumeQueue" => self.flush_interval_consume_queue = period(key, value)?,
            "syncFlushTimeout" => self.sync_flush_timeout = millis(key, value)?,
            "fileReservedTime" => self.file_reserved_time_hours = parse(key, value)?,
            "deleteWhen" => self.delete_when = parse_hours(key, value)?,
            "diskMaxUsedSpaceRatio" => self.disk_max_used_space_ratio = parse_ratio(key, value)?,
            "diskSpaceCleanForciblyRatio" => self.disk_space_clean_forcibly_ratio = parse_ratio(key, value)?,
            "cleanFileForciblyEnable" => self.clean_file_forcibly_enable = parse_bool(key, value)?,
            "cleanResourceInterval" => self.clean_resource_interval = period(key, value)?,
            "deleteFileBatchMax" => self.delete_file_batch_max = parse(key, value)?,
            "messageIndexEnable" => self.message_index_enable = parse_bool(key, value)?,
            "maxHashSlotNum" => self.max_hash_slot_num = parse(key, value)?,
            "maxIndexNum" => self.max_index_num = parse(key, value)?,
            "checkCRCOnRecover" => self.check_crc_on_recover = parse_bool(key, value)?,
            "accessMessageInMemoryMaxRatio" => {
                // 0 is allowed, as in RocketMQ: nothing counts as in memory.
                let v: u32 = parse(key, value)?;
                if v > 100 {
                    return Err(StoreError::Config(format!(
                        "{key}={value:?}: expected a percentage 0–100"
                    )));
                }
                self.access_message_in_memory_max_ratio = v;
            }
            "maxTransferBytesOnMessageInMemory" => {
                self.max_transfer_bytes_on_message_in_memory = parse(key, value)?
            }
            "maxTransferCountOnMessageInMemory" => {
                self.max_transfer_count_on_message_in_memory = parse(key, value)?
            }
            "maxTransferBytesOnMessageInDisk" => {
                self.max_transfer_bytes_on_message_in_disk = parse(key, value)?
            }
            "maxTransferCountOnMessageInDisk" => {
                self.max_transfer_count_on_message_in_disk = parse(key, value)?
            }
            "messageDelayLevel" => self.message_delay_level = parse_delay_levels(key, value)?,
            "timerWheelEnable" => self.timer_wheel_enable = parse_bool(key, value)?,
            "timerMaxDelaySec" => self.timer_max_delay_sec = parse(key, value)?,
            "archiveEnable" => self.archive_enable = parse_bool(key, value)?,
            "commitLogPageCacheBytes" => self.commit_log_page_cache_bytes = parse(key, value)?,
            "archivePath" => self.archive_path = Some(PathBuf::from(value.trim())),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The settings [`StoreConfig::set`] takes, as RocketMQ property names and values (what
    /// GET_BROKER_CONFIG reports); reading them back with `set` gives the same config.
    pub fn properties(&self) -> Vec<(&'static str, String)> {
        let ms = |d: Duration| d.as_millis().to_string();
        let hours: Vec<String> = self.delete_when.iter().map(|h| format!("{h:02}")).collect();
        let levels: Vec<String> = self.message_delay_level.iter().map(|d| delay_text(*d)).collect();
        let flush = match self.flush_disk_type {
            FlushDiskType::AsyncFlush => "ASYNC_FLUSH",
            FlushDiskType::SyncFlush => "SYNC_FLUSH",
        };
        let mut v = vec![
            ("storePathRootDir", self.store_path_root_dir.display().to_string()),
            ("storePathCommitLog", self.commit_log_dir().display().to_string()),
            (
                "mappedFileSizeCommitLog",
                self.mapped_file_size_commit_log.to_string(),
            ),
            (
                "mappedFileSizeConsumeQueue",
                self.mapped_file_size_consume_queue.to_string(),
            ),
            ("maxMessageSize", self.max_message_size.to_string()),
            ("flushDiskType", flush.to_owned()),
            ("flushIntervalCommitLog", ms(self.flush_interval_commit_log)),
            ("flushIntervalConsumeQueue", ms(self.flush_interval_consume_queue)),
            ("syncFlushTimeout", ms(self.sync_flush_timeout)),
            ("fileReservedTime", self.file_reserved_time_hours.to_string()),
            ("deleteWhen", hours.join(";")),
            (
                "diskMaxUsedSpaceRatio",
                self.disk_max_used_space_ratio.to_string(),
            ),
            (
                "diskSpaceCleanForciblyRatio",
                self.disk_space_clean_forcibly_ratio.to_string(),
            ),
            (
                "cleanFileForciblyEnable",
                self.clean_file_forcibly_enable.to_string(),
            ),
            ("cleanResourceInterval", ms(self.clean_resource_interval)),
            ("deleteFileBatchMax", self.delete_file_batch_max.to_string()),
            ("messageIndexEnable", self.message_index_enable.to_string()),
            ("maxHashSlotNum", self.max_hash_slot_num.to_string()),
            ("maxIndexNum", self.max_index_num.to_string()),
            ("checkCRCOnRecover", self.check_crc_on_recover.to_string()),
            (
                "accessMessageInMemoryMaxRatio",
                self.access_message_in_memory_max_ratio.to_string(),
            ),
            (
                "maxTransferBytesOnMessageInMemory",
                self.max_transfer_bytes_on_message_in_memory.to_string(),
            ),
            (
                "maxTransferCountOnMessageInMemory",
                self.max_transfer_count_on_message_in_memory.to_string(),
            ),
            (
                "maxTransferBytesOnMessageInDisk",
                self.max_transfer_bytes_on_message_in_disk.to_string(),
            ),
            (
                "maxTransferCountOnMessageInDisk",
                self.max_transfer_count_on_message_in_disk.to_string(),
            ),
            ("messageDelayLevel", levels.join(" ")),
            ("timerWheelEnable", self.timer_wheel_enable.to_string()),
            ("timerMaxDelaySec", self.timer_max_delay_sec.to_string()),
            ("archiveEnable", self.archive_enable.to_string()),
            (
                "commitLogPageCacheBytes",
                self.commit_log_page_cache_bytes.to_string(),
            ),
        ];
        if let Some(p) = &self.archive_path {
            v.push(("archivePath", p.display().to_string()));
        }
        v
    }

    /// The delay of `level` (1-based; above the highest level = the highest), `None` for ≤ 0.
    pub fn delay_of_level(&self, level: i32) -> Option<Duration> {
        let max = self.message_delay_level.len();
        if level <= 0 || max == 0 {
            return None;
        }
        let i = (level as usize).min(max) - 1;
        self.message_delay_level.get(i).copied()
    }

    /// The highest delay level.
    pub fn max_delay_level(&self) -> i32 {
        self.message_delay_level.len() as i32
    }

    /// The directory archived segments are written to (`archivePath`).
    pub fn archive_dir(&self) -> PathBuf {
        self.archive_path
            .clone()
            .unwrap_or_else(|| self.store_path_root_dir.join("archive"))
    }

    /// Units per ConsumeQueue file.
    pub fn consume_queue_units_per_file(&self) -> u64 {
        self.mapped_file_size_consume_queue / UNIT_LEN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_read_back_to_the_same_config() {
        let mut c = StoreConfig::default();
        for (k, v) in [
            ("deleteWhen", "01;04"),
            ("messageDelayLevel", "500ms 1s 2m 3h 1d"),
            ("archivePath", "/a/b"),
            ("flushDiskType", "SYNC_FLUSH"),
        ] {
            assert!(c.set(k, v).unwrap());
        }
        let props = c.properties();
        let get = |k: &str| props.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("deleteWhen"), Some("01;04"));
        assert_eq!(get("messageDelayLevel"), Some("500ms 1s 2m 3h 1d"));
        let mut back = StoreConfig::default();
        for (k, v) in &props {
            assert!(back.set(k, v).unwrap(), "{k} is not read back");
        }
        assert_eq!(back.properties(), props);
    }

    #[test]
    fn rocketmq_names_and_errors() {
        let mut c = StoreConfig::default();
        assert_eq!(c.mapped_file_size_commit_log, 1_073_741_824);
        assert_eq!(c.consume_queue_units_per_file(), 300_000);
        assert!(c.set("flushDiskType", "SYNC_FLUSH").unwrap());
        assert_eq!(c.flush_disk_type, FlushDiskType::SyncFlush);
        assert!(c.set("deleteWhen", "01;04;23").unwrap());
        assert_eq!(c.delete_when, [1, 4, 23]);
        assert!(c.set("mappedFileSizeConsumeQueue", "6000010").unwrap());
        assert_eq!(c.mapped_file_size_consume_queue, 6_000_000);
        assert!(!c.set("brokerName", "b").unwrap());
        assert!(c.set("flushDiskType", "SOMETIMES").is_err());
        assert!(c.set("deleteWhen", "25").is_err());
        assert!(c.set("maxMessageSize", "lots").is_err());
        assert!(c.set("diskMaxUsedSpaceRatio", "120").is_err());
        assert!(c.set("messageIndexEnable", "yes").is_err());
        assert!(!c.archive_enable);
        assert_eq!(c.archive_dir(), c.store_path_root_dir.join("archive"));
        assert!(c.set("archiveEnable", "true").unwrap());
        assert_eq!(c.commit_log_page_cache_bytes, 256 << 20);
        assert!(c.set("commitLogPageCacheBytes", "0").unwrap());
        assert_eq!(c.commit_log_page_cache_bytes, 0);
        assert!(c.set("commitLogPageCacheBytes", "-1").is_err());
        assert!(c.set("archivePath", "/a/b").unwrap());
        assert!(c.archive_enable);
        assert_eq!(c.archive_dir(), PathBuf::from("/a/b"));
    }

    #[test]
    fn delay_levels() {
        let mut c = StoreConfig::default();
        assert_eq!(c.max_delay_level(), 18);
        assert_eq!(c.delay_of_level(1), Some(Duration::from_secs(1)));
        assert_eq!(c.delay_of_level(5), Some(Duration::from_secs(60)));
        assert_eq!(c.delay_of_level(18), Some(Duration::from_secs(7200)));
        assert_eq!(c.delay_of_level(40), Some(Duration::from_secs(7200)));
        assert_eq!(c.delay_of_level(0), None);
        assert!(c.set("messageDelayLevel", "500ms 2s 1d").unwrap());
        assert_eq!(c.delay_of_level(1), Some(Duration::from_millis(500)));
        assert_eq!(c.delay_of_level(3), Some(Duration::from_secs(86_400)));
        assert!(c.set("messageDelayLevel", "1x").is_err());
        assert!(c.set("messageDelayLevel", "5").is_err());
        assert!(c.set("messageDelayLevel", "").is_err());
    }
}
