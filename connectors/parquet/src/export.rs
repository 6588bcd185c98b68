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
use crate::trace::{TraceRows, TRACE_DIR};

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
    /// The trace topic (`msgTraceTopicName`): its messages' records also become trace rows
    /// ([`crate::trace`]) in `trace/<segment>.parquet`, whatever `system_topics` says, when
    /// `topic` is unset or names it. `None`: no trace rows.
    pub trace_topic: Option<String>,
    /// Treat a record that does not decode as the end of the log instead of an error: the torn
    /// tail a crashed broker leaves in its newest segment (what recovery would discard).
    pub stop_at_invalid: bool,
}

impl ExportOptions {
    fn wants(&self, topic: &str, store_timestamp: i64) -> bool {
        self.topic.as_deref().is_none_or(|t| t == topic)
            && self.in_time(store_timestamp)
            && !(self.system_topics == SystemTopics::Exclude && is_system_topic(topic))
    }

    fn in_time(&self, store_timestamp: i64) -> bool {
        self.since.is_none_or(|s| store_timestamp >= s) && self.until.is_none_or(|u| store_timestamp <= u)
    }

    /// Whether the record's trace records become trace rows.
    fn traces(&self, topic: &str, store_timestamp: i64) -> bool {
        self.trace_topic.as_deref() == Some(topic)
            && self.topic.as_deref().is_none_or(|t| t == topic)
            && self.in_time(store_timestamp)
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
    /// The trace rows' file (`trace/<segment>.parquet`), if the segment held trace records.
    pub trace_file: Option<PathBuf>,
    pub trace_rows: u64,
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
    let result = write_rows(&seg, file, out_dir, options, progress);
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
    out_dir: &Path,
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
    let mut traces = TraceFile::new(out_dir, seg.base());
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
        if options.traces(r.topic, r.store_timestamp) {
            traces.push(item.offset, r)?;
        }
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
    // The trace rows are in place before the segment's own file, so an archived segment
    // (manifest entry, message file) always has them.
    (stats.trace_file, stats.trace_rows) = traces.close()?;
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

/// The segment's trace rows, written as they come and renamed into place at the end.
struct TraceFile {
    dir: PathBuf,
    base: u64,
    rows: TraceRows,
    written: u64,
    writer: Option<ArrowWriter<File>>,
}

impl TraceFile {
    fn new(out_dir: &Path, base: u64) -> TraceFile {
        TraceFile {
            dir: out_dir.join(TRACE_DIR),
            base,
            rows: TraceRows::default(),
            written: 0,
            writer: None,
        }
    }

    fn tmp_path(&self) -> PathBuf {
        self.dir.join(format!("{}.tmp", file_name(self.base)))
    }

    fn push(&mut self, offset: u64, r: &sluice_storage::record::Record<'_>) -> Result<(), ArchiveError> {
        self.rows.push(offset, r);
        if self.rows.rows() >= BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ArchiveError> {
        if self.rows.rows() == 0 {
            return Ok(());
        }
        if self.writer.is_none() {
            std::fs::create_dir_all(&self.dir).map_err(io_err(format!("creating {}", self.dir.display())))?;
            let tmp = self.tmp_path();
            let file = File::create(&tmp).map_err(io_err(format!("creating {}", tmp.display())))?;
            let props = WriterProperties::builder()
                .set_compression(Compression::SNAPPY)
                .set_created_by(format!("sluice {}", env!("CARGO_PKG_VERSION")))
                .build();
            self.writer = Some(ArrowWriter::try_new(file, crate::trace::schema(), Some(props))?);
        }
        let n = self.rows.rows() as u64;
        let batch = self.rows.finish()?;
        if let Some(w) = self.writer.as_mut() {
            w.write(&batch)?;
        }
        self.written += n;
        Ok(())
    }

    /// Writes what is left and renames the file into place; the file and its row count, or
    /// nothing when the segment held no trace records.
    fn close(mut self) -> Result<(Option<PathBuf>, u64), ArchiveError> {
        self.flush()?;
        let Some(writer) = self.writer.take() else {
            return Ok((None, 0));
        };
        let file = writer.into_inner()?;
        file.sync_all()
            .map_err(io_err("syncing the trace Parquet file"))?;
        let tmp = self.tmp_path();
        let done = self.dir.join(file_name(self.base));
        std::fs::rename(&tmp, &done).map_err(io_err(format!("renaming {}", tmp.display())))?;
        sync_dir(&self.dir)?;
        Ok((Some(done), self.written))
    }
}

impl Drop for TraceFile {
    /// An export that failed or was cancelled leaves no partial trace file.
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            let _ = std::fs::remove_file(self.tmp_path());
        }
    }
}

/// fsyncs a directory so a rename in it is durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), ArchiveError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(format!("syncing {}", dir.display())))
}
