//! Finding archived messages through the manifest: by `topic#key` in a store-time range
//! (QUERY_MESSAGE) or by CommitLog offset (VIEW_MESSAGE_BY_ID). Only the files whose manifest
//! entry can hold a match are opened, and in them only the rows that match decode their bodies.

use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type, TimestampMillisecondType};
use arrow_array::{Array, ArrayAccessor, RecordBatch};
use sluice_storage::meta::ArchiveEntry;

use crate::archived::{read_where, ArchivedMessage};
use crate::error::ArchiveError;
use crate::schema;

/// The archive file of `entry`: its `file` as recorded, relative to `archive_dir` unless absolute.
pub fn entry_path(archive_dir: &Path, entry: &ArchiveEntry) -> PathBuf {
    archive_dir.join(&entry.file)
}

fn missing(name: &str) -> ArchiveError {
    ArchiveError::BadArchive {
        file: PathBuf::from(name),
        reason: format!("column {name} is missing or of the wrong type"),
    }
}

/// Messages of `topic` whose UNIQ_KEY or one of whose KEYS is `key`, stored in `[begin, end]`,
/// newest segment first, at most `max`.
pub fn find_by_key(
    archive_dir: &Path,
    entries: &[ArchiveEntry],
    topic: &str,
    key: &str,
    max: usize,
    begin: i64,
    end: i64,
) -> Result<Vec<ArchivedMessage>, ArchiveError> {
    let mut out = Vec::new();
    for entry in entries.iter().rev() {
        if out.len() >= max {
            break;
        }
        if entry.rows == 0 || entry.max_store_timestamp < begin || entry.min_store_timestamp > end {
            continue;
        }
        let (topic_owned, key_owned) = (topic.to_owned(), key.to_owned());
        let keep = move |batch: &RecordBatch| -> Result<Vec<bool>, ArchiveError> {
            let topics = batch
                .column_by_name(schema::TOPIC)
                .and_then(|c| c.as_dictionary_opt::<Int32Type>())
                .and_then(|d| d.downcast_dict::<arrow_array::StringArray>())
                .ok_or_else(|| missing(schema::TOPIC))?;
            let ids = batch
                .column_by_name(schema::MSG_ID)
                .and_then(|c| c.as_string_opt::<i32>())
                .ok_or_else(|| missing(schema::MSG_ID))?;
            let keys = batch
                .column_by_name(schema::KEYS)
                .and_then(|c| c.as_string_opt::<i32>())
                .ok_or_else(|| missing(schema::KEYS))?;
            let times = batch
                .column_by_name(schema::STORE_TIMESTAMP)
                .and_then(|c| c.as_primitive_opt::<TimestampMillisecondType>())
                .ok_or_else(|| missing(schema::STORE_TIMESTAMP))?;
            Ok((0..batch.num_rows())
                .map(|i| {
                    let t = times.value(i);
                    topics.value(i) == topic_owned
                        && t >= begin
                        && t <= end
                        && ((!ids.is_null(i) && ids.value(i) == key_owned)
                            || (!keys.is_null(i)
                                && sluice_storage::properties::split_keys(keys.value(i))
                                    .any(|k| k == key_owned)))
                })
                .collect())
        };
        let path = entry_path(archive_dir, entry);
        let columns = [
            schema::TOPIC,
            schema::MSG_ID,
            schema::KEYS,
            schema::STORE_TIMESTAMP,
        ];
        let mut found = read_where(&path, &columns, keep, Some(max - out.len()))?;
        found.reverse();
        out.extend(found);
    }
    out.truncate(max);
    Ok(out)
}

/// The archived message stored at CommitLog offset `offset`, if its segment was archived.
pub fn find_by_offset(
    archive_dir: &Path,
    entries: &[ArchiveEntry],
    offset: u64,
) -> Result<Option<ArchivedMessage>, ArchiveError> {
    let Some(entry) = entries
        .iter()
        .find(|e| e.segment_start <= offset && offset < e.segment_end)
    else {
        return Ok(None);
    };
    if entry.rows == 0 {
        return Ok(None);
    }
    let want = offset as i64;
    let keep = move |batch: &RecordBatch| -> Result<Vec<bool>, ArchiveError> {
        let offsets = batch
            .column_by_name(schema::COMMITLOG_OFFSET)
            .and_then(|c| c.as_primitive_opt::<Int64Type>())
            .ok_or_else(|| missing(schema::COMMITLOG_OFFSET))?;
        Ok(offsets.values().iter().map(|&o| o == want).collect())
    };
    let path = entry_path(archive_dir, entry);
    let mut found = read_where(&path, &[schema::COMMITLOG_OFFSET], keep, Some(1))?;
    Ok(found.pop())
}
