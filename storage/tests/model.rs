//! The store against an in-memory model: random groups of appends (single messages and batches,
//! several topics and queues, segment and ConsumeQueue-file roll-overs), clean reopens, crashes
//! with and without a torn tail, and retention — after each step every message the model holds
//! must be readable through its queue with the same offsets and bytes.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use proptest::prelude::*;
use sluice_storage::pull::GetMessageStatus;
use sluice_storage::record::{self, CrcCheck};
use sluice_storage::{FlushDiskType, MessageStore, MessageToStore, StoreConfig, StoreError};

const TOPICS: [&str; 3] = ["alpha", "beta", "%RETRY%group"];

fn config(dir: &std::path::Path, flush: FlushDiskType) -> StoreConfig {
    let mut c = StoreConfig {
        store_path_root_dir: dir.to_path_buf(),
        flush_disk_type: flush,
        ..StoreConfig::default()
    };
    c.set("mappedFileSizeCommitLog", "4096").unwrap();
    c.set("mappedFileSizeConsumeQueue", "160").unwrap(); // 8 units per file
    c.set("maxHashSlotNum", "16").unwrap();
    c.set("maxIndexNum", "64").unwrap();
    c.set("flushIntervalCommitLog", "5").unwrap();
    c.set("flushIntervalConsumeQueue", "20").unwrap();
    c
}

fn message(topic: &str, queue: u32, id: u64, len: usize) -> MessageToStore {
    let mut body = format!("msg-{id}-").into_bytes();
    body.resize(len.max(body.len()), b'x');
    MessageToStore {
        topic: topic.into(),
        queue_id: queue,
        flag: id as i32,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000 + id as i64,
        born_host: "10.1.2.3:4567".parse().unwrap(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::from(body),
        properties: format!(
            "KEYS\u{1}k{id} all\u{2}TAGS\u{1}tag{}\u{2}UNIQ_KEY\u{1}U{id}\u{2}",
            id % 3
        ),
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// Units of (topic, queue, body length); a unit of several messages is a batch.
    Append(Vec<Vec<(usize, u32, usize)>>),
    Reopen,
    Crash {
        torn_tail: bool,
    },
    Retention,
}

fn op() -> impl Strategy<Value = Op> {
    let msg = (0usize..3, 0u32..3, 0usize..700);
    prop_oneof![
        6 => proptest::collection::vec(proptest::collection::vec(msg, 1..4), 1..6).prop_map(Op::Append),
        1 => Just(Op::Reopen),
        1 => any::<bool>().prop_map(|torn_tail| Op::Crash { torn_tail }),
        1 => Just(Op::Retention),
    ]
}

/// (topic, queue) → (next queue offset, messages still stored by queue offset: (phys, id)).
type Model = BTreeMap<(String, u32), (u64, BTreeMap<u64, (u64, u64)>)>;

fn check(store: &MessageStore, model: &Model) {
    for ((topic, queue), (next, msgs)) in model {
        let cq_min = store.min_queue_offset(topic, *queue);
        let max = store.max_queue_offset(topic, *queue);
        assert_eq!(max, *next, "max offset of {topic}/{queue}");
        assert_eq!(
            cq_min,
            msgs.keys().next().copied().unwrap_or(*next),
            "min offset of {topic}/{queue}"
        );
        for (&qo, &(phys, id)) in msgs.range(cq_min..) {
            let cq = store.consume_queue(topic, *queue).expect("queue exists");
            let unit = cq.get(qo).expect("unit exists");
            assert_eq!(unit.phys_offset as u64, phys, "{topic}/{queue}@{qo}");
            let slice = store.commitlog().read(phys, unit.size as usize).unwrap();
            let r = record::decode_message(&slice, CrcCheck::Verify).unwrap();
            assert_eq!(
                (r.topic, r.queue_id as u32, r.queue_offset as u64),
                (topic.as_str(), *queue, qo)
            );
            assert!(r.body.starts_with(format!("msg-{id}-").as_bytes()));
        }
        if let Some((&qo, &(phys, _))) = msgs.range(cq_min..).next() {
            let res = store.get_messages(topic, *queue, qo, 4, &|_| true);
            assert_eq!(res.status, GetMessageStatus::Found);
            assert_eq!(res.messages[0].offset(), phys);
        }
    }
}

fn run(ops: Vec<Op>, flush: FlushDiskType) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = MessageStore::open(config(dir.path(), flush)).unwrap();
    let mut model: Model = BTreeMap::new();
    let mut next_id = 0u64;
    for op in ops {
        match op {
            Op::Append(units) => {
                let units: Vec<Vec<MessageToStore>> = units
                    .iter()
                    .map(|u| {
                        // A batch goes to one topic and queue, as clients send them.
                        let (t, q, _) = u[0];
                        u.iter()
                            .map(|&(_, _, len)| {
                                next_id += 1;
                                message(TOPICS[t], q, next_id, len)
                            })
                            .collect()
                    })
                    .collect();
                let out = store.put(&units).unwrap();
                for (unit, res) in units.iter().zip(out.units) {
                    let appended = res.unwrap();
                    for (m, a) in unit.iter().zip(appended) {
                        let (next, q) = model.entry((m.topic.clone(), m.queue_id)).or_default();
                        assert_eq!(a.queue_offset, *next);
                        *next += 1;
                        q.insert(a.queue_offset, (a.phys_offset, m.flag as u64));
                    }
                }
            }
            Op::Reopen => {
                store.close().unwrap();
                drop(store);
                store = MessageStore::open(config(dir.path(), flush)).unwrap();
                assert!(!store.open_report().unclean);
            }
            Op::Crash { torn_tail } => {
                let end = store.commitlog().write_pos();
                store.halt();
                drop(store);
                if torn_tail {
                    // A record cut short at the end of the log, as a kill mid-write leaves it.
                    let base = end - end % 4096;
                    let path = dir.path().join("commitlog").join(format!("{base:020}"));
                    let mut f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
                    use std::io::Seek;
                    f.seek(std::io::SeekFrom::Start(end - base)).unwrap();
                    let mut rec = Vec::new();
                    let m = message("alpha", 0, 999_999, 100);
                    let fields = record::MessageFields {
                        topic: &m.topic,
                        queue_id: 0,
                        flag: 0,
                        sys_flag: 0,
                        born_timestamp: 0,
                        born_host: m.born_host,
                        reconsume_times: 0,
                        prepared_transaction_offset: 0,
                        body: &m.body,
                        properties: &m.properties,
                    };
                    let stamp = record::StoreStamp {
                        queue_offset: 0,
                        physical_offset: end as i64,
                        store_timestamp: 1,
                        store_host: "127.0.0.1:10911".parse().unwrap(),
                    };
                    record::encode(&mut rec, &fields, &stamp, None).unwrap();
                    let room = (4096 - (end - base)) as usize;
                    f.write_all(&rec[..(rec.len() / 2).min(room)]).unwrap();
                }
                store = MessageStore::open(config(dir.path(), flush)).unwrap();
                assert!(store.open_report().unclean);
                assert_eq!(store.commitlog().write_pos(), end);
            }
            Op::Retention => {
                // Everything is "expired" a year from now; keep what retention leaves in the model.
                let later = SystemTime::now() + Duration::from_secs(365 * 24 * 3600);
                store.run_retention_with(later, true, 10.0).unwrap();
                let min = store.commitlog().min_offset();
                for (_, q) in model.values_mut() {
                    q.retain(|_, (phys, _)| *phys >= min);
                }
            }
        }
        check(&store, &model);
    }
    // Appends continue where the model says.
    let out = store.put(&[vec![message("alpha", 0, 0, 10)]]).unwrap();
    let expected = model.get(&("alpha".to_string(), 0)).map_or(0, |(next, _)| *next);
    assert_eq!(out.units[0].as_ref().unwrap()[0].queue_offset, expected);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn store_matches_model_async(ops in proptest::collection::vec(op(), 1..25)) {
        run(ops, FlushDiskType::AsyncFlush);
    }

    #[test]
    fn store_matches_model_sync(ops in proptest::collection::vec(op(), 1..25)) {
        run(ops, FlushDiskType::SyncFlush);
    }
}

#[test]
fn too_large_messages_are_refused_and_the_rest_of_the_group_goes_in() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path(), FlushDiskType::AsyncFlush);
    c.set("maxMessageSize", "1000").unwrap();
    let store = MessageStore::open(c).unwrap();
    let out = store
        .put(&[
            vec![message("alpha", 0, 1, 10)],
            vec![message("alpha", 0, 2, 1001)],
            vec![message("alpha", 0, 3, 10)],
        ])
        .unwrap();
    assert!(out.units[0].is_ok());
    assert!(matches!(
        out.units[1],
        Err(StoreError::MessageTooLarge {
            size: 1001,
            max: 1000
        })
    ));
    assert_eq!(out.units[2].as_ref().unwrap()[0].queue_offset, 1);
    let out = store.put(&[vec![message("../evil", 1, 5, 10)]]).unwrap();
    assert!(out.units[0].is_err());
    // A record that can never fit a 4 KiB segment.
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path(), FlushDiskType::AsyncFlush)).unwrap();
    let out = store.put(&[vec![message("alpha", 1, 4, 4000)]]).unwrap();
    assert!(matches!(out.units[0], Err(StoreError::LargerThanSegment { .. })));
}

#[test]
fn corruption_in_the_middle_is_reported_not_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path(), FlushDiskType::SyncFlush)).unwrap();
    for i in 0..20 {
        store.put(&[vec![message("alpha", 0, i, 300)]]).unwrap();
    }
    let end = store.commitlog().write_pos();
    store.halt();
    drop(store);
    // Flip a body byte of the second record of the first segment.
    let path = dir.path().join("commitlog").join(format!("{:020}", 0));
    let mut bytes = std::fs::read(&path).unwrap();
    let second = i32::from_be_bytes(bytes[0..4].try_into().unwrap()) as usize;
    bytes[second + 100] ^= 0x55;
    std::fs::write(&path, &bytes).unwrap();
    // Force recovery to scan from the start.
    let meta = sluice_storage::meta::MetaStore::open(&dir.path().join("rocksdb")).unwrap();
    let mut cp = meta.checkpoint().unwrap().unwrap();
    cp.consume_queue_offset = 0;
    meta.put_checkpoint(&cp).unwrap();
    drop(meta);
    match MessageStore::open(config(dir.path(), FlushDiskType::SyncFlush)) {
        Err(StoreError::Corrupted { offset, file, .. }) => {
            assert_eq!(offset, second as u64);
            assert!(file.ends_with("00000000000000000000"));
        }
        other => panic!("expected a corruption report, got {other:?}"),
    }
    // Nothing was truncated.
    assert_eq!(std::fs::read(&path).unwrap().len(), 4096);
    assert!(end > 4096);
}

#[test]
fn query_by_key_time_and_ids() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path(), FlushDiskType::AsyncFlush)).unwrap();
    let before = sluice_storage::clock::now_millis();
    let mut phys = Vec::new();
    for i in 0..30 {
        let out = store
            .put(&[vec![message(TOPICS[(i % 2) as usize], 0, i, 50)]])
            .unwrap();
        phys.push(out.units[0].as_ref().unwrap()[0].phys_offset);
    }
    let hits = store.query_by_key("alpha", "k4", 10, 0, i64::MAX).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].offset(), phys[4]);
    assert_eq!(
        store.query_by_key("beta", "k4", 10, 0, i64::MAX).unwrap().len(),
        0
    );
    assert_eq!(
        store.query_by_key("alpha", "U6", 10, 0, i64::MAX).unwrap()[0].offset(),
        phys[6]
    );
    assert_eq!(
        store.query_by_key("alpha", "all", 64, 0, i64::MAX).unwrap().len(),
        15
    );
    assert_eq!(
        store
            .query_by_key("alpha", "all", 64, 0, before - 10_000)
            .unwrap()
            .len(),
        0
    );
    let id = sluice_storage::msgid::offset_msg_id(store.config().store_host, phys[7]);
    let (_, off) = sluice_storage::msgid::parse_offset_msg_id(&id).unwrap();
    let r = store.read_message_at(off).unwrap();
    assert!(record::decode_message(&r, CrcCheck::Verify)
        .unwrap()
        .body
        .starts_with(b"msg-7-"));
    assert!(store.read_message_at(off + 1).is_err());
    // Time search and earliest time.
    assert_eq!(store.search_offset_by_timestamp("alpha", 0, 0), 0);
    assert_eq!(store.search_offset_by_timestamp("alpha", 0, i64::MAX), 15);
    assert!(store.earliest_message_time("alpha", 0).unwrap() >= before);
    // Tag filtering skips non-matching units and advances past them.
    let tag0 = sluice_storage::hash::tags_code(Some("tag0"));
    // A read stops at the end of the ConsumeQueue file (8 units here), as RocketMQ's does.
    let res = store.get_messages("alpha", 0, 0, 32, &|code| code == tag0);
    assert_eq!(res.status, GetMessageStatus::Found);
    assert_eq!((res.messages.len(), res.next_begin_offset), (3, 8));
    let res = store.get_messages("alpha", 0, 8, 32, &|code| code == tag0);
    assert_eq!((res.messages.len(), res.next_begin_offset), (2, 15));
    let res = store.get_messages("alpha", 0, 13, 32, &|code| code == tag0);
    assert_eq!(
        (res.status, res.next_begin_offset),
        (GetMessageStatus::NoMatchedMessage, 15)
    );
    let res = store.get_messages("alpha", 0, 15, 32, &|_| true);
    assert_eq!(res.status, GetMessageStatus::OffsetOverflowOne);
    let res = store.get_messages("alpha", 0, 99, 32, &|_| true);
    assert_eq!(
        (res.status, res.next_begin_offset),
        (GetMessageStatus::OffsetOverflowBadly, 15)
    );
    let res = store.get_messages("nothing", 0, 0, 32, &|_| true);
    assert_eq!(res.status, GetMessageStatus::NoMessageInQueue);
}

#[test]
fn retention_respects_hold_and_active_segment() {
    struct HoldFrom(u64);
    impl sluice_storage::retention::SegmentHold for HoldFrom {
        fn hold(&self, s: &sluice_storage::retention::SegmentInfo) -> bool {
            s.base >= self.0
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path(), FlushDiskType::AsyncFlush)).unwrap();
    for i in 0..60 {
        store.put(&[vec![message("alpha", 0, i, 500)]]).unwrap();
    }
    let segs = store.commitlog().segments().len();
    assert!(segs >= 8);
    let now = SystemTime::now();
    // Not expired, not the hour, disk fine: nothing happens.
    assert!(store
        .run_retention_with(now, false, 10.0)
        .unwrap()
        .deleted
        .is_empty());
    // Expired but held from the third segment on.
    store.set_segment_hold(std::sync::Arc::new(HoldFrom(2 * 4096)));
    let later = now + Duration::from_secs(73 * 3600);
    let r = store.run_retention_with(later, true, 10.0).unwrap();
    assert_eq!(r.deleted.len(), 2);
    assert!(r.held.is_some());
    assert_eq!(store.commitlog().min_offset(), 2 * 4096);
    let min = store.min_queue_offset("alpha", 0);
    assert!(min > 0);
    let res = store.get_messages("alpha", 0, 0, 1, &|_| true);
    assert_eq!(
        (res.status, res.next_begin_offset),
        (GetMessageStatus::OffsetTooSmall, min)
    );
    // Disk pressure deletes even young segments one by one, never the active one.
    store.set_segment_hold(std::sync::Arc::new(HoldFrom(u64::MAX)));
    for _ in 0..100 {
        store.run_retention_with(now, false, 90.0).unwrap();
    }
    assert_eq!(store.commitlog().segments().len(), 1);
    assert!(store.commitlog().segments()[0].contains(store.commitlog().write_pos()));
    assert_eq!(
        store.get_messages("alpha", 0, min, 1, &|_| true).status,
        GetMessageStatus::OffsetTooSmall
    );
}
