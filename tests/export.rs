//! `sluice export` on a temp data dir: stopped (every segment, a torn tail ignored) and running
//! (locked: sealed segments only), filters, and the accepted time forms.

use bytes::Bytes;
use sluice_parquet::archived::read_file;
use sluice_storage::{MessageStore, MessageToStore, StoreConfig};

use sluice::export_cmd::{export, ExportArgs};
use sluice::time::parse_time;

fn config(dir: &std::path::Path) -> StoreConfig {
    let mut c = StoreConfig {
        store_path_root_dir: dir.to_path_buf(),
        ..StoreConfig::default()
    };
    for (k, v) in [
        ("mappedFileSizeCommitLog", "32768"),
        ("mappedFileSizeConsumeQueue", "640"),
        ("maxHashSlotNum", "64"),
        ("maxIndexNum", "4096"),
    ] {
        c.set(k, v).unwrap();
    }
    c
}

fn msg(i: usize) -> MessageToStore {
    MessageToStore {
        topic: if i % 5 == 0 {
            "TBW102".into()
        } else {
            format!("t{}", i % 2)
        },
        queue_id: 0,
        flag: 0,
        sys_flag: 0,
        born_timestamp: i as i64,
        born_host: "127.0.0.1:5000".parse().unwrap(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::from(vec![b'x'; 500]),
        properties: format!("KEYS\u{1}k{i}\u{2}"),
    }
}

fn args(data: &std::path::Path, out: &std::path::Path) -> ExportArgs {
    ExportArgs {
        data_dir: data.to_path_buf(),
        out: out.to_path_buf(),
        topic: None,
        since: None,
        until: None,
        exclude_system_topics: false,
        trace_topic: sluice_remoting::trace::DEFAULT_TOPIC.into(),
    }
}

#[test]
fn exports_a_stopped_and_a_running_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store = MessageStore::open(config(&data)).unwrap();
    let n = 200;
    for i in 0..n {
        store.put(&[vec![msg(i)]]).unwrap();
    }
    let segments = store.commitlog().segments().len();
    assert!(segments >= 3);
    let last_base = store.commitlog().segments().last().unwrap().base();

    // Running: the lock is held; the newest segment is left out.
    let out = dir.path().join("live");
    let live = export(&args(&data, &out)).unwrap();
    assert!(live.live);
    assert_eq!(live.segments, segments - 1);
    let rows: usize = live.files.iter().map(|f| read_file(f).unwrap().len()).sum();
    assert_eq!(rows as u64, live.rows);
    assert!(live.files.iter().all(|f| read_file(f)
        .unwrap()
        .iter()
        .all(|m| (m.commitlog_offset as u64) < last_base)));
    assert!(live.rows > 0 && live.rows < n as u64);
    let end = store.commitlog().write_pos();
    store.close().unwrap();
    drop(store);
    // A torn record after the end, as a crash mid-write leaves it.
    {
        use std::os::unix::fs::FileExt;
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(
                data.join("commitlog")
                    .join(sluice_storage::segment::segment_name(last_base)),
            )
            .unwrap();
        f.write_all_at(&[0, 0, 1, 0, 0xDA, 0xA3, 0x20, 0xA7, 9, 9], end - last_base)
            .unwrap();
    }

    // Stopped: every message, up to the torn tail.
    let out = dir.path().join("all");
    let all = export(&args(&data, &out)).unwrap();
    assert!(!all.live);
    assert_eq!(all.segments, segments);
    assert_eq!(all.rows, n as u64);
    let mut offsets: Vec<i64> = all
        .files
        .iter()
        .flat_map(|f| read_file(f).unwrap())
        .map(|m| m.commitlog_offset)
        .collect();
    let sorted = {
        let mut s = offsets.clone();
        s.sort();
        s
    };
    assert_eq!(offsets, sorted);
    offsets.dedup();
    assert_eq!(offsets.len(), n);

    // Filters: one topic, a store-time window, system topics left out.
    let mut a = args(&data, &dir.path().join("t1"));
    a.topic = Some("t1".into());
    let t1 = export(&a).unwrap();
    assert_eq!(
        t1.rows,
        (0..n).filter(|i| i % 5 != 0 && i % 2 == 1).count() as u64
    );
    let mut a = args(&data, &dir.path().join("user"));
    a.exclude_system_topics = true;
    assert_eq!(
        export(&a).unwrap().rows,
        (0..n).filter(|i| i % 5 != 0).count() as u64
    );
    let mut a = args(&data, &dir.path().join("none"));
    a.until = Some("1000".into());
    let none = export(&a).unwrap();
    assert_eq!((none.rows, none.files.len()), (0, 0));
    let mut a = args(&data, &dir.path().join("since"));
    a.since = Some("2000-01-01T00:00:00Z".into());
    assert_eq!(export(&a).unwrap().rows, n as u64);
}

#[test]
fn time_forms() {
    assert_eq!(parse_time("1700000000123").unwrap(), 1_700_000_000_123);
    assert_eq!(parse_time("1970-01-01T00:00:00Z").unwrap(), 0);
    assert_eq!(parse_time("2023-11-14T22:13:20.123Z").unwrap(), 1_700_000_000_123);
    assert_eq!(
        parse_time("2023-11-15T00:13:20.5+02:00").unwrap(),
        1_700_000_000_500
    );
    assert_eq!(parse_time("2000-02-29T00:00:00-01:30").unwrap(), 951_787_800_000);
    assert!(parse_time("2023-13-01T00:00:00Z").is_err());
    assert!(parse_time("2023-01-01T00:00:00").is_err());
    // mqadmin's local form goes through the admin parser.
    let local = parse_time("2023-11-14#22:13:20:123").unwrap();
    assert!((local - 1_700_000_000_123).abs() <= 14 * 3_600_000);
}
