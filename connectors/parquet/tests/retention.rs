//! Retention with the archiver: a segment is deleted only after its Parquet file and manifest
//! entry exist; an export that stops half-way (or a crash that leaves a stray file) keeps the
//! segment, and the next round archives it. Archived messages are found again by key and offset.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use sluice_parquet::archived::read_file;
use sluice_parquet::export::file_name;
use sluice_parquet::lookup::{find_by_key, find_by_offset};
use sluice_parquet::scan::SegmentFile;
use sluice_parquet::{Archiver, ExportOptions};
use sluice_storage::{MessageStore, MessageToStore, StoreConfig};

mod common;

fn config(dir: &std::path::Path) -> StoreConfig {
    common::small_store(dir, &[("fileReservedTime", "0"), ("archiveEnable", "true")])
}

fn msg(i: usize, batch: bool) -> MessageToStore {
    MessageToStore {
        topic: match i % 7 {
            0 => "%RETRY%g".into(),
            _ => "orders".into(),
        },
        queue_id: (i % 3) as u32,
        flag: 0,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000 + i as i64,
        born_host: match i % 2 {
            0 => "10.1.2.3:4567".parse().unwrap(),
            _ => "[2001:db8::7]:4567".parse().unwrap(),
        },
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::from(vec![(i % 251) as u8; 300 + i % 50]),
        properties: format!(
            "KEYS\u{1}k{i} batch{}\u{2}UNIQ_KEY\u{1}U{i:030}\u{2}TAGS\u{1}t{}\u{2}{}",
            batch as u8,
            i % 4,
            if batch { "" } else { "WAIT\u{1}true\u{2}" }
        ),
    }
}

#[test]
fn segments_are_deleted_only_once_archived() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let archive_dir = cfg.archive_dir();
    let store = MessageStore::open(cfg).unwrap();
    // Singles and batches of 4 until there are four segments.
    let mut i = 0;
    while store.commitlog().segments().len() < 4 {
        let unit: Vec<_> = if i % 3 == 0 {
            (i..i + 4).map(|j| msg(j, true)).collect()
        } else {
            vec![msg(i, false)]
        };
        i += unit.len();
        store.put(&[unit]).unwrap();
    }
    // What the sealed segments hold, read straight from their files.
    let segments = store.commitlog().segments();
    let mut stored: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    for seg in &segments[..segments.len() - 1] {
        for r in SegmentFile::open(seg.path()).unwrap().records() {
            let r = r.unwrap();
            stored.insert(r.offset, r.bytes.to_vec());
        }
    }
    let first = segments[0].path().to_path_buf();

    // An export that stops at its very end (the file written, not yet renamed nor recorded).
    let allow = Arc::new(AtomicBool::new(false));
    let gate = allow.clone();
    let archiver = Arc::new(
        Archiver::new(
            store.meta().clone(),
            archive_dir.clone(),
            ExportOptions::default(),
        )
        .with_progress(Arc::new(move |seg, done| {
            gate.load(Ordering::SeqCst) || done < std::fs::metadata(&seg.path).map(|m| m.len()).unwrap_or(0)
        })),
    );
    store.set_segment_hold(archiver.clone());
    let report = store.run_retention_with(SystemTime::now(), true, 10.0).unwrap();
    assert!(report.deleted.is_empty(), "{report:?}");
    assert_eq!(report.held.as_deref(), Some(first.as_path()));
    assert!(first.exists());
    assert!(store.meta().archive_entries().unwrap().is_empty());
    assert!(!archive_dir.join(file_name(0)).exists());

    // A crash after the rename but before the manifest write leaves a file nobody recorded, and
    // one during the write a stray .tmp: both are written over.
    std::fs::write(archive_dir.join(file_name(0)), b"not parquet").unwrap();
    std::fs::write(archive_dir.join(format!("{}.tmp", file_name(0))), b"half").unwrap();
    let report = store.run_retention_with(SystemTime::now(), true, 10.0).unwrap();
    assert!(report.deleted.is_empty());
    assert!(first.exists());

    allow.store(true, Ordering::SeqCst);
    let report = store.run_retention_with(SystemTime::now(), true, 10.0).unwrap();
    assert_eq!(report.deleted.len(), segments.len() - 1, "{report:?}");
    assert!(!first.exists());
    let entries = store.meta().archive_entries().unwrap();
    assert_eq!(entries.len(), segments.len() - 1);
    let mut rows = 0;
    for (entry, seg) in entries.iter().zip(&segments) {
        assert_eq!((entry.segment_start, entry.segment_end), (seg.base(), seg.end()));
        let file = archive_dir.join(&entry.file);
        let archived = read_file(&file).unwrap();
        assert_eq!(archived.len() as u64, entry.rows);
        assert_eq!(std::fs::metadata(&file).unwrap().len(), entry.bytes);
        for m in &archived {
            let original = &stored[&(m.commitlog_offset as u64)];
            assert_eq!(&m.encode().unwrap(), original);
            assert!(m.store_timestamp >= entry.min_store_timestamp);
            assert!(m.store_timestamp <= entry.max_store_timestamp);
            assert_eq!(m.system_topic, m.topic == "%RETRY%g");
        }
        rows += archived.len();
    }
    assert_eq!(rows, stored.len());
    assert!(std::fs::read_dir(&archive_dir).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .ends_with(".tmp")));

    // Read back by key (a KEYS token and a UNIQ_KEY) and by offset.
    let (&offset, bytes) = stored.iter().nth(5).unwrap();
    let r = sluice_storage::record::decode_message(bytes, sluice_storage::record::CrcCheck::Verify).unwrap();
    let uniq = r.property("UNIQ_KEY").unwrap();
    let key = r.property("KEYS").unwrap().split(' ').next().unwrap();
    for k in [uniq, key] {
        let found = find_by_key(&archive_dir, &entries, r.topic, k, 32, 0, i64::MAX).unwrap();
        assert_eq!(found.len(), 1, "{k}");
        assert_eq!(&found[0].encode().unwrap(), bytes);
    }
    let batch_hits = find_by_key(&archive_dir, &entries, "orders", "batch1", 3, 0, i64::MAX).unwrap();
    assert_eq!(batch_hits.len(), 3);
    assert!(
        find_by_key(&archive_dir, &entries, r.topic, k_missing(), 32, 0, i64::MAX)
            .unwrap()
            .is_empty()
    );
    assert!(find_by_key(&archive_dir, &entries, r.topic, uniq, 32, 0, 1)
        .unwrap()
        .is_empty());
    let found = find_by_offset(&archive_dir, &entries, offset).unwrap().unwrap();
    assert_eq!(&found.encode().unwrap(), bytes);
    assert!(find_by_offset(&archive_dir, &entries, offset + 1)
        .unwrap()
        .is_none());
    assert!(find_by_offset(&archive_dir, &entries, u64::MAX / 2)
        .unwrap()
        .is_none());
    store.close().unwrap();
}

fn k_missing() -> &'static str {
    "no-such-key"
}
