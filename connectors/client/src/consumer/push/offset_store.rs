//! Consume progress in memory (next offset to consume per queue), committed to the broker in
//! CLUSTERING or kept in a local JSON file in BROADCASTING (protocol.md §7.2–7.3).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sluice_remoting::body::MessageQueue;

use crate::error::{ClientError, Result};

/// Offsets by queue.
#[derive(Debug, Default)]
pub(crate) struct OffsetStore {
    table: Mutex<HashMap<MessageQueue, i64>>,
    /// BROADCASTING: where the offsets live.
    file: Option<PathBuf>,
}

/// One entry of the offset file.
#[derive(Debug, Serialize, Deserialize)]
struct FileEntry {
    topic: String,
    #[serde(rename = "brokerName")]
    broker_name: String,
    #[serde(rename = "queueId")]
    queue_id: i32,
    offset: i64,
}

/// The offset file: `{"offsetTable":[{"topic":…,"brokerName":…,"queueId":…,"offset":…}]}`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct OffsetFile {
    #[serde(rename = "offsetTable")]
    offset_table: Vec<FileEntry>,
}

fn file_error(path: &Path, source: std::io::Error) -> ClientError {
    ClientError::OffsetFile {
        path: path.display().to_string(),
        source,
    }
}

impl OffsetStore {
    /// A store kept only in memory (committed to the broker by the consumer).
    pub(crate) fn remote() -> Self {
        OffsetStore::default()
    }

    /// A store backed by `file`, loaded now if it exists.
    pub(crate) fn local(file: PathBuf) -> Result<Self> {
        let mut table = HashMap::new();
        match std::fs::read(&file) {
            Ok(bytes) => {
                let parsed: OffsetFile = serde_json::from_slice(&bytes).map_err(|e| {
                    file_error(&file, std::io::Error::new(std::io::ErrorKind::InvalidData, e))
                })?;
                for e in parsed.offset_table {
                    table.insert(MessageQueue::new(e.topic, e.broker_name, e.queue_id), e.offset);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(file_error(&file, e)),
        }
        Ok(OffsetStore {
            table: Mutex::new(table),
            file: Some(file),
        })
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<MessageQueue, i64>> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets `mq`'s offset; with `increase_only` a lower value is ignored.
    pub(crate) fn update(&self, mq: &MessageQueue, offset: i64, increase_only: bool) {
        let mut t = self.table();
        let e = t.entry(mq.clone()).or_insert(offset);
        if !increase_only || offset > *e {
            *e = offset;
        }
    }

    /// `mq`'s offset in memory.
    pub(crate) fn read(&self, mq: &MessageQueue) -> Option<i64> {
        self.table().get(mq).copied()
    }

    /// Forgets `mq` (after its last commit).
    pub(crate) fn remove(&self, mq: &MessageQueue) {
        if self.file.is_none() {
            self.table().remove(mq);
        }
    }

    /// BROADCASTING: writes every offset to the file (atomically, through a temporary file).
    pub(crate) fn persist_file(&self) -> Result<()> {
        let Some(file) = &self.file else { return Ok(()) };
        let mut entries: Vec<FileEntry> = self
            .table()
            .iter()
            .map(|(mq, o)| FileEntry {
                topic: mq.topic.clone(),
                broker_name: mq.broker_name.clone(),
                queue_id: mq.queue_id,
                offset: *o,
            })
            .collect();
        entries.sort_by(|a, b| {
            (&a.topic, &a.broker_name, a.queue_id).cmp(&(&b.topic, &b.broker_name, b.queue_id))
        });
        let json = serde_json::to_vec_pretty(&OffsetFile {
            offset_table: entries,
        })
        .map_err(|e| file_error(file, std::io::Error::other(e)))?;
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).map_err(|e| file_error(dir, e))?;
        }
        let tmp = file.with_extension("json.tmp");
        std::fs::write(&tmp, json).map_err(|e| file_error(&tmp, e))?;
        std::fs::rename(&tmp, file).map_err(|e| file_error(file, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn increase_only_and_remove() {
        let s = OffsetStore::remote();
        let mq = MessageQueue::new("T", "b", 1);
        s.update(&mq, 5, true);
        s.update(&mq, 3, true);
        assert_eq!(s.read(&mq), Some(5));
        s.update(&mq, 3, false);
        assert_eq!(s.read(&mq), Some(3));
        s.remove(&mq);
        assert_eq!(s.read(&mq), None);
    }

    #[test]
    fn local_file_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g/offsets.json");
        let s = OffsetStore::local(path.clone()).unwrap();
        let mq = MessageQueue::new("T", "b", 2);
        s.update(&mq, 42, false);
        s.remove(&mq);
        s.persist_file().unwrap();
        let back = OffsetStore::local(path.clone()).unwrap();
        assert_eq!(back.read(&mq), Some(42));
        std::fs::write(&path, b"{not json").unwrap();
        assert!(matches!(
            OffsetStore::local(path),
            Err(ClientError::OffsetFile { .. })
        ));
    }
}
