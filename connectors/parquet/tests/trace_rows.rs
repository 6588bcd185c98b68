//! Trace rows: a segment holding trace messages (one plain, one zlib-compressed as a client
//! compresses a large batch, one that is not trace text) and an ordinary message is exported
//! with the trace topic named; `trace/<segment>.parquet` holds one row per trace record, each
//! field as the record had it, and nothing when the trace topic is not named.

use std::io::Write;
use std::path::Path;

use sluice_parquet::trace::{read_file, TRACE_DIR};
use sluice_parquet::{export_segment, ExportOptions, SystemTopics};
use sluice_remoting::trace::TraceKind;
use sluice_storage::record::{self, MessageFields, StoreStamp};
use sluice_storage::segment::segment_name;

const TRACE: &str = "RMQ_SYS_TRACE_TOPIC";

fn write_segment(dir: &Path, msgs: &[(&str, i32, Vec<u8>)]) -> Vec<u64> {
    let mut buf = Vec::new();
    let mut offsets = Vec::new();
    for (i, (topic, sys_flag, body)) in msgs.iter().enumerate() {
        let fields = MessageFields {
            topic,
            queue_id: 0,
            flag: 0,
            sys_flag: *sys_flag,
            born_timestamp: 1_000,
            born_host: "10.0.0.7:4000".parse().unwrap(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body,
            properties: "",
        };
        let offset = buf.len() as u64;
        offsets.push(offset);
        let stamp = StoreStamp {
            queue_offset: i as i64,
            physical_offset: offset as i64,
            store_timestamp: 2_000 + i as i64,
            store_host: "127.0.0.1:10911".parse().unwrap(),
        };
        record::encode(&mut buf, &fields, &stamp, None).unwrap();
    }
    buf.resize(1 << 16, 0);
    std::fs::write(dir.join(segment_name(0)), &buf).unwrap();
    offsets
}

#[test]
fn trace_records_become_rows_of_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let plain = [
        "Pub\u{1}1700000000000\u{1}DefaultRegion\u{1}pg\u{1}Orders\u{1}ID1\u{1}TagA\u{1}k1\u{1}127.0.0.1:10911\u{1}12\u{1}3\u{1}0\u{1}OFF1\u{1}true\u{2}",
        "SubBefore\u{1}1700000000100\u{1}DefaultRegion\u{1}cg\u{1}req\u{1}ID1\u{1}1\u{1}k1\u{2}",
    ]
    .concat();
    let packed_text = "SubAfter\u{1}req\u{1}ID1\u{1}7\u{1}false\u{1}k1\u{1}1\u{1}1700000000107\u{1}cg\u{2}\
        EndTransaction\u{1}1700000000200\u{1}R\u{1}pg\u{1}Orders\u{1}ID2\u{1}\u{1}\u{1}h:1\u{1}2\u{1}tx1\u{1}COMMIT_MESSAGE\u{1}true\u{2}";
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(5));
    z.write_all(packed_text.as_bytes()).unwrap();
    let packed = z.finish().unwrap();
    let offsets = write_segment(
        dir.path(),
        &[
            ("Orders", 0, b"an order".to_vec()),
            (TRACE, 0, plain.into_bytes()),
            (TRACE, 0x1, packed),
            (TRACE, 0, vec![0xff, 0xfe, 0x00]),
        ],
    );
    let seg = dir.path().join(segment_name(0));
    let out = dir.path().join("out");
    let options = ExportOptions {
        trace_topic: Some(TRACE.into()),
        system_topics: SystemTopics::Exclude,
        ..Default::default()
    };
    let stats = export_segment(&seg, &out, &options, &mut |_| true).unwrap();
    // The message file leaves the trace topic out (system topics excluded); the rows are there.
    assert_eq!(stats.rows, 1);
    assert_eq!(stats.trace_rows, 4);
    let file = stats.trace_file.unwrap();
    assert_eq!(
        file,
        out.join(TRACE_DIR).join(format!("{}.parquet", segment_name(0)))
    );
    let rows = read_file(&file).unwrap();
    let kinds: Vec<TraceKind> = rows.iter().map(|r| r.record.kind).collect();
    use TraceKind::*;
    assert_eq!(kinds, [Pub, SubBefore, SubAfter, EndTransaction]);
    let publish = &rows[0];
    assert_eq!(publish.record.msg_id, "ID1");
    assert_eq!(publish.record.topic, "Orders");
    assert_eq!(
        (publish.record.cost_ms, publish.record.success),
        (Some(3), Some(true))
    );
    assert_eq!(publish.record.time, 1_700_000_000_000);
    assert_eq!(publish.client_host, "10.0.0.7:4000");
    assert_eq!(
        (publish.offset, publish.store_timestamp),
        (offsets[1] as i64, 2_001)
    );
    assert_eq!(rows[1].record.retry_times, Some(1));
    assert_eq!(rows[2].record.success, Some(false));
    assert_eq!(rows[2].record.group, "cg");
    assert_eq!(rows[2].offset, offsets[2] as i64);
    assert_eq!(rows[3].record.transaction_state, "COMMIT_MESSAGE");
    assert_eq!(rows[3].record.from_transaction_check, Some(true));
    assert_eq!(rows[3].record.tags, "", "an empty field reads back empty");

    // Not named, or another topic asked for: no trace rows, no trace directory.
    let other = dir.path().join("out2");
    for options in [
        ExportOptions::default(),
        ExportOptions {
            trace_topic: Some(TRACE.into()),
            topic: Some("Orders".into()),
            ..Default::default()
        },
    ] {
        let stats = export_segment(&seg, &other, &options, &mut |_| true).unwrap();
        assert_eq!((stats.trace_rows, stats.trace_file.as_ref()), (0, None));
        assert!(!other.join(TRACE_DIR).exists());
    }
}
