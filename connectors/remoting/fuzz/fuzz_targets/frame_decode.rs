//! Fuzzes the frame decoder (protocol.md §1.2–§1.4): arbitrary bytes, fed whole and in small
//! pieces, must decode or fail with an error — never panic. Decoded frames go on through the
//! header parsers, the JSON bodies and the batch decoder, and must survive a re-encode.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use sluice_remoting::batch::decode_batch;
use sluice_remoting::body::heartbeat::HeartbeatData;
use sluice_remoting::body::lock::LockBatchRequestBody;
use sluice_remoting::body::register::{decode_inflated, RegisterBrokerBody};
use sluice_remoting::body::route::TopicRouteData;
use sluice_remoting::body::JsonBody;
use sluice_remoting::frame::{encode, DecoderLimits, FrameDecoder};
use sluice_remoting::header::offsets::QueryConsumerOffsetRequestHeader;
use sluice_remoting::header::pull::PullMessageRequestHeader;
use sluice_remoting::header::send::SendMessageRequestHeader;
use sluice_remoting::header::transaction::EndTransactionRequestHeader;
use sluice_remoting::RemotingCommand;

fn exercise(cmd: &RemotingCommand) {
    let _ = SendMessageRequestHeader::from_ext(&cmd.ext_fields);
    let _ = PullMessageRequestHeader::from_ext(&cmd.ext_fields);
    let _ = QueryConsumerOffsetRequestHeader::from_ext(&cmd.ext_fields);
    let _ = EndTransactionRequestHeader::from_ext(&cmd.ext_fields);
    let _ = HeartbeatData::from_json(&cmd.body);
    let _ = LockBatchRequestBody::from_json(&cmd.body);
    let _ = RegisterBrokerBody::from_json(&cmd.body);
    let _ = TopicRouteData::from_json(&cmd.body);
    let _ = decode_inflated(&cmd.body);
    if let Ok(records) = decode_batch(&cmd.body) {
        for r in records {
            assert!(r.body.len() <= cmd.body.len());
        }
    }
    // Whatever decodes re-encodes (as JSON) and decodes to the same header fields.
    let mut out = BytesMut::new();
    if encode(cmd, &mut out).is_ok() {
        let again = FrameDecoder::new(DecoderLimits {
            max_frame: usize::MAX,
            max_body: usize::MAX,
        })
        .decode(&mut out)
        .expect("re-encoded frame decodes")
        .expect("re-encoded frame is complete");
        assert_eq!(
            (again.code, again.opaque, again.flag),
            (cmd.code, cmd.opaque, cmd.flag)
        );
        assert_eq!(again.ext_fields, cmd.ext_fields);
        assert_eq!(again.body, cmd.body);
    }
}

fn run(data: &[u8], limits: DecoderLimits, piece: usize) {
    let mut dec = FrameDecoder::new(limits);
    let mut buf = BytesMut::new();
    for chunk in data.chunks(piece.max(1)) {
        buf.extend_from_slice(chunk);
        loop {
            match dec.decode(&mut buf) {
                Ok(Some(cmd)) => exercise(&cmd),
                Ok(None) => break,
                Err(e) if e.must_close() => return,
                Err(_) => {}
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    run(data, DecoderLimits::default(), data.len());
    run(
        data,
        DecoderLimits {
            max_frame: 4096,
            max_body: 256,
        },
        3,
    );
});
