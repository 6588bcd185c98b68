//! Round trip: every field of every exported record equals the CommitLog's. Segments are built
//! record by record with the store's own encoder (IPv4 and IPv6 hosts, v1 and v2 topics, empty
//! and binary bodies, odd property strings, the broker's own topics), exported, read back, and
//! each row re-encoded must give the record's exact bytes.

use std::net::SocketAddr;
use std::path::Path;

use proptest::prelude::*;
use sluice_parquet::archived::{read_file, ArchivedMessage};
use sluice_parquet::scan::SegmentFile;
use sluice_parquet::system::is_system_topic;
use sluice_parquet::{export_segment, ExportOptions, SystemTopics};
use sluice_storage::msgid::offset_msg_id;
use sluice_storage::properties::names;
use sluice_storage::record::{self, MessageFields, StoreStamp};
use sluice_storage::segment::segment_name;

#[derive(Debug, Clone)]
struct Msg {
    topic: String,
    queue_id: i32,
    flag: i32,
    sys_flag: i32,
    born_timestamp: i64,
    born_host: SocketAddr,
    store_timestamp: i64,
    reconsume_times: i32,
    prepared: i64,
    body: Vec<u8>,
    properties: String,
}

fn host() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>()).prop_map(|(ip, port)| SocketAddr::from((ip, port))),
        (any::<[u8; 16]>(), any::<u16>())
            .prop_filter("not IPv4-mapped", |(ip, _)| std::net::Ipv6Addr::from(*ip)
                .to_ipv4_mapped()
                .is_none())
            .prop_map(|(ip, port)| SocketAddr::from((ip, port))),
    ]
}

fn topic() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("orders".to_owned()),
        Just("TBW102".to_owned()),
        Just("%RETRY%group".to_owned()),
        Just("SCHEDULE_TOPIC_XXXX".to_owned()),
        "[a-zA-Z0-9_-]{1,20}",
        // Longer than 127 bytes: the v2 layout with a two-byte topic length.
        "[a-z]{128,200}",
    ]
}

fn properties() -> impl Strategy<Value = String> {
    let text = "[^\u{1}\u{2}]{0,12}";
    let entries = prop::collection::vec(("[A-Za-z_#.]{1,10}", text), 0..5);
    prop_oneof![
        4 => (
            prop::option::of("[0-9A-F]{32}"),
            prop::option::of("[a-zA-Z]{1,8}"),
            prop::option::of("[a-z0-9]{1,6}( [a-z0-9]{1,6}){0,3}"),
            entries,
        )
            .prop_map(|(uniq, tags, keys, rest)| {
                let mut pairs: Vec<(String, String)> = Vec::new();
                if let Some(u) = uniq {
                    pairs.push((names::UNIQ_KEY.into(), u));
                }
                if let Some(t) = tags {
                    pairs.push((names::TAGS.into(), t));
                }
                if let Some(k) = keys {
                    pairs.push((names::KEYS.into(), k));
                }
                pairs.extend(rest);
                pairs.iter().map(|(n, v)| format!("{n}\u{1}{v}\u{2}")).collect()
            }),
        // Property strings no Java client writes, kept as they are.
        1 => "[a-z\u{1}\u{2}]{0,20}",
    ]
}

fn message() -> impl Strategy<Value = Msg> {
    (
        topic(),
        (any::<i32>(), any::<i32>(), any::<i32>(), any::<i32>()),
        (any::<i64>(), any::<i64>(), any::<i64>()),
        host(),
        prop_oneof![Just(Vec::new()), prop::collection::vec(any::<u8>(), 0..400)],
        properties(),
    )
        .prop_map(
            |(
                topic,
                (queue_id, flag, sys_flag, reconsume_times),
                (born, stored, prepared),
                born_host,
                body,
                properties,
            )| Msg {
                topic,
                queue_id,
                flag,
                sys_flag,
                born_timestamp: born,
                born_host,
                store_timestamp: stored,
                reconsume_times,
                prepared,
                body,
                properties,
            },
        )
}

/// Writes `msgs` as a segment of `size` bytes starting at `base` (zeros after the last record,
/// or a BLANK filler when `blank`); returns each record's offset and bytes.
fn write_segment(
    dir: &Path,
    base: u64,
    size: usize,
    store_host: SocketAddr,
    msgs: &[Msg],
    blank: bool,
) -> Vec<(u64, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut out = Vec::new();
    for (i, m) in msgs.iter().enumerate() {
        let fields = MessageFields {
            topic: &m.topic,
            queue_id: m.queue_id,
            flag: m.flag,
            sys_flag: m.sys_flag,
            born_timestamp: m.born_timestamp,
            born_host: m.born_host,
            reconsume_times: m.reconsume_times,
            prepared_transaction_offset: m.prepared,
            body: &m.body,
            properties: &m.properties,
        };
        let offset = base + buf.len() as u64;
        let stamp = StoreStamp {
            queue_offset: i as i64,
            physical_offset: offset as i64,
            store_timestamp: m.store_timestamp,
            store_host,
        };
        let start = buf.len();
        record::encode(&mut buf, &fields, &stamp, None).unwrap();
        out.push((offset, buf[start..].to_vec()));
    }
    assert!(buf.len() + record::BLANK_LEN <= size);
    if blank {
        let remaining = size - buf.len();
        record::encode_blank(&mut buf, remaining);
    }
    buf.resize(size, 0);
    std::fs::write(dir.join(segment_name(base)), &buf).unwrap();
    out
}

fn check_row(row: &ArchivedMessage, offset: u64, bytes: &[u8]) {
    let r = record::decode_message(bytes, record::CrcCheck::Verify).unwrap();
    assert_eq!(row.encode().unwrap(), bytes, "re-encoded record at {offset}");
    assert_eq!(row.commitlog_offset, offset as i64);
    assert_eq!(row.topic, r.topic);
    assert_eq!(row.system_topic, is_system_topic(r.topic));
    assert_eq!(row.queue_id, r.queue_id);
    assert_eq!(row.queue_offset, r.queue_offset);
    assert_eq!(row.born_timestamp, r.born_timestamp);
    assert_eq!(row.store_timestamp, r.store_timestamp);
    assert_eq!(row.born_host, r.born_host);
    assert_eq!(row.store_host, r.store_host);
    assert_eq!(row.sys_flag, r.sys_flag);
    assert_eq!(row.flag, r.flag);
    assert_eq!(row.reconsume_times, r.reconsume_times);
    assert_eq!(row.prepared_transaction_offset, r.prepared_transaction_offset);
    assert_eq!(row.properties, r.properties);
    assert_eq!(row.body, r.body);
    assert_eq!(row.msg_id.as_deref(), r.property(names::UNIQ_KEY));
    assert_eq!(row.tags.as_deref(), r.property(names::TAGS));
    assert_eq!(row.keys.as_deref(), r.property(names::KEYS));
    assert_eq!(row.offset_msg_id, offset_msg_id(r.store_host, offset));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn every_field_of_every_record_survives(
        msgs in prop::collection::vec(message(), 0..40),
        store_host in host(),
        segment in 0u64..4,
        blank in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let size = 256 * 1024;
        let base = segment * size as u64;
        let written = write_segment(dir.path(), base, size, store_host, &msgs, blank);
        let out = dir.path().join("archive");
        let seg_path = dir.path().join(segment_name(base));
        let stats = export_segment(&seg_path, &out, &ExportOptions { keep_empty: true, ..Default::default() }, &mut |_| true).unwrap();
        prop_assert_eq!(stats.rows, msgs.len() as u64);
        let file = stats.file.unwrap();
        prop_assert_eq!(file.file_name().unwrap().to_str().unwrap(), format!("{}.parquet", segment_name(base)));
        let rows = read_file(&file).unwrap();
        prop_assert_eq!(rows.len(), written.len());
        for (row, (offset, bytes)) in rows.iter().zip(&written) {
            check_row(row, *offset, bytes);
        }
        // The scanner sees the same records.
        let seg = SegmentFile::open(&seg_path).unwrap();
        let scanned: Vec<u64> = seg.records().map(|r| r.unwrap().offset).collect();
        prop_assert_eq!(scanned, written.iter().map(|w| w.0).collect::<Vec<_>>());
        // Leaving the broker's own topics out.
        let stats = export_segment(&seg_path, &dir.path().join("user"), &ExportOptions { system_topics: SystemTopics::Exclude, ..Default::default() }, &mut |_| true).unwrap();
        let users = msgs.iter().filter(|m| !is_system_topic(&m.topic)).count() as u64;
        prop_assert_eq!(stats.rows, users);
        prop_assert_eq!(stats.file.is_some(), users > 0);
    }
}

#[test]
fn filters_by_topic_and_store_time_and_skips_empty_results() {
    let dir = tempfile::tempdir().unwrap();
    let msg = |topic: &str, t: i64| Msg {
        topic: topic.into(),
        queue_id: 0,
        flag: 0,
        sys_flag: 0,
        born_timestamp: t - 1,
        born_host: "10.0.0.1:1000".parse().unwrap(),
        store_timestamp: t,
        reconsume_times: 0,
        prepared: 0,
        body: b"x".to_vec(),
        properties: String::new(),
    };
    let msgs = [msg("a", 100), msg("b", 200), msg("a", 300), msg("a", 400)];
    write_segment(dir.path(), 0, 4096, "[::1]:10911".parse().unwrap(), &msgs, true);
    let seg = dir.path().join(segment_name(0));
    let opts = ExportOptions {
        topic: Some("a".into()),
        since: Some(200),
        until: Some(300),
        ..Default::default()
    };
    let stats = export_segment(&seg, &dir.path().join("o"), &opts, &mut |_| true).unwrap();
    assert_eq!((stats.rows, stats.records), (1, 4));
    assert_eq!((stats.min_store_timestamp, stats.max_store_timestamp), (300, 300));
    let rows = read_file(&stats.file.unwrap()).unwrap();
    assert_eq!(rows[0].store_timestamp, 300);
    let none = ExportOptions {
        topic: Some("zzz".into()),
        ..Default::default()
    };
    let stats = export_segment(&seg, &dir.path().join("o2"), &none, &mut |_| true).unwrap();
    assert_eq!(stats.file, None);
    assert!(std::fs::read_dir(dir.path().join("o2")).unwrap().next().is_none());
}
