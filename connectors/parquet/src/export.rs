//! One sealed segment → one Parquet file `<20-digit start offset>.parquet`, written as
//! `….parquet.tmp`, fsync'ed, renamed, and the directory fsync'ed: a crash leaves either no
//! file, a stray `.tmp`, or the whole file, never a partial file under the final name.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use sluice_storage::segment::segment_name;

use crate::error::{io_err, ArchiveError};
use crate::rows::BatchBuilder;
use crate::scan::SegmentFile;
use crate::schema;
use crate::system::is_system_topic;

/// What happens to the broker's own topics ([`crate::system`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SystemTopics {
    /// Kept, with `system_topic = true`.
    #[default]
    Flag,
    /// Left out.
    Exclude,
}

/// Which rows go into the file.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// Only this topic.
    pub topic: Option<String>,
    /// Only messages stored at or after this time (ms).
    pub since: Option<i64>,
    /// Only messages stored at or before this time (ms).
    pub until: Option<i64>,
    pub system_topics: SystemTopics,
    /// Write a file even when no row matched (the archiver does, so every archived segment has
    /// one; on-demand exports do not).
    pub keep_empty: bool,
    /// Treat a record that does not decode as the end of the log instead of an error: the torn
    /// tail a crashed broker leaves in its newest segment (what recovery would discard).
    pub stop_at_invalid: bool,
}

impl ExportOptions {
    fn wants(&self, topic: &str, store_timestamp: i64) -> bool {
        self.topic.as_deref().is_none_or(|t| t == topic)
            && self.since.is_none_or(|s| store_timestamp >= s)
            && self.until.is_none_or(|u| store_timestamp <= u)
            && !(self.system_topics == SystemTopics::Exclude && is_system_topic(topic))
    }
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExportStats {
    /// The Parquet file, unless nothing matched and `keep_empty` was off.
    pub file: Option<PathBuf>,
    pub rows: u64,
    /// Records read from the segment (matching or not).
    pub records: u64,
    /// Bytes of the segment holding records.
    pub segment_bytes: u64,
    /// Size of the Parquet file.
    pub file_bytes: u64,
    pub min_store_timestamp: i64,
    pub max_store_timestamp: i64,
}

/// Rows per record batch (row groups hold several), and a bound on a batch's body bytes so that
/// binary offsets stay small and memory bounded.
const BATCH_ROWS: usize = 8192;
const BATCH_BODY_BYTES: usize = 32 << 20;

/// The file name of the segment starting at `base`.
pub fn file_name(base: u64) -> String {
    format!("{}.parquet", segment_name(base))
}

/// Exports the segment at `segment` into `out_dir`. `progress` is told the bytes of the segment
/// consumed so far after each batch; returning `false` cancels the export (nothing is left under
/// the final name).
pub fn export_segment(
    segment: &Path,
    out_dir: &Path,
    options: &ExportOptions,
    progress: &mut dyn FnMut(u64) -> bool,
) -> Result<ExportStats, ArchiveError> {
    let seg = SegmentFile::open(segment)?;
    std::fs::create_dir_all(out_dir).map_err(io_err(format!("creating {}", out_dir.display())))?;
    let final_path = out_dir.join(file_name(seg.base()));
    let tmp_path = out_dir.join(format!("{}.tmp", file_name(seg.base())));
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp_path)
        .map_err(io_err(format!("creating {}", tmp_path.display())))?;
    let result = write_rows(&seg, file, options, progress);
    let mut stats = match result {
        Ok(stats) => stats,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp_path);
            return Err(e);
        }
    };
    if stats.rows == 0 && !options.keep_empty {
        std::fs::remove_file(&tmp_path).map_err(io_err(format!("removing {}", tmp_path.display())))?;
        return Ok(stats);
    }
    std::fs::rename(&tmp_path, &final_path).map_err(io_err(format!("renaming {}", tmp_path.display())))?;
    sync_dir(out_dir)?;
    stats.file_bytes = std::fs::metadata(&final_path)
        .map_err(io_err(format!("reading metadata of {}", final_path.display())))?
        .len();
    stats.file = Some(final_path);
    Ok(stats)
}

fn write_rows(
    seg: &SegmentFile,
    file: File,
    options: &ExportOptions,
    progress: &mut dyn FnMut(u64) -> bool,
) -> Result<ExportStats, ArchiveError> {
    let mut props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_created_by(format!("sluice {}", env!("CARGO_PKG_VERSION")));
    // Columns that are (nearly) unique per row gain nothing from a dictionary but its cost.
    for column in [
        schema::MSG_ID,
        schema::OFFSET_MSG_ID,
        schema::QUEUE_OFFSET,
        schema::COMMITLOG_OFFSET,
        schema::BORN_TIMESTAMP,
        schema::STORE_TIMESTAMP,
        schema::KEYS,
        schema::BODY,
    ] {
        props = props.set_column_dictionary_enabled(ColumnPath::from(column), false);
    }
    // Min/max of bodies would compare every body and prune nothing.
    let props = props
        .set_column_statistics_enabled(ColumnPath::from(schema::BODY), EnabledStatistics::None)
        .build();
    let mut writer = ArrowWriter::try_new(file, schema::schema(), Some(props))?;
    let mut rows = BatchBuilder::new();
    let mut stats = ExportStats {
        min_store_timestamp: i64::MAX,
        max_store_timestamp: i64::MIN,
        ..Default::default()
    };
    let mut last_offset = seg.base();
    for item in seg.records() {
        let item = match item {
            Ok(item) => item,
            Err(e @ ArchiveError::Corrupt { .. }) if options.stop_at_invalid => {
                tracing::warn!(error = %e, "treating an undecodable record as the end of the log");
                break;
            }
            Err(e) => return Err(e),
        };
        stats.records += 1;
        last_offset = item.offset + item.bytes.len() as u64;
        let r = &item.record;
        if !options.wants(r.topic, r.store_timestamp) {
            continue;
        }
        rows.push(item.offset, r)?;
        stats.rows += 1;
        stats.min_store_timestamp = stats.min_store_timestamp.min(r.store_timestamp);
        stats.max_store_timestamp = stats.max_store_timestamp.max(r.store_timestamp);
        if rows.rows() >= BATCH_ROWS || rows.body_bytes() >= BATCH_BODY_BYTES {
            writer.write(&rows.finish()?)?;
            if !progress(last_offset - seg.base()) {
                return Err(ArchiveError::Cancelled(seg.path().to_path_buf()));
            }
        }
    }
    if rows.rows() > 0 {
        writer.write(&rows.finish()?)?;
    }
    let file = writer.into_inner()?;
    file.sync_all().map_err(io_err("syncing the Parquet file"))?;
    stats.segment_bytes = last_offset - seg.base();
    if stats.rows == 0 {
        stats.min_store_timestamp = 0;
        stats.max_store_timestamp = 0;
    }
    if !progress(seg.size()) {
        return Err(ArchiveError::Cancelled(seg.path().to_path_buf()));
    }
    Ok(stats)
}

/// fsyncs a directory so a rename in it is durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), ArchiveError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(format!("syncing {}", dir.display())))
}
