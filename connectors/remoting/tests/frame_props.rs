//! Property tests of the frame codec (protocol.md §1.2–§1.4): round trips, streams split at
//! every point, truncations, arbitrary and mutated bytes, limits.

use bytes::{Bytes, BytesMut};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use sluice_remoting::batch::decode_batch;
use sluice_remoting::body::heartbeat::HeartbeatData;
use sluice_remoting::body::JsonBody;
use sluice_remoting::frame::{encode, encode_rocketmq_binary, DecoderLimits, FrameDecoder, FrameError};
use sluice_remoting::header::pull::PullMessageRequestHeader;
use sluice_remoting::header::send::SendMessageRequestHeader;
use sluice_remoting::{LanguageCode, RemotingCommand};

const KNOWN: [&str; 14] = [
    "JAVA", "CPP", "DOTNET", "PYTHON", "DELPHI", "ERLANG", "RUBY", "OTHER", "HTTP", "GO", "PHP", "OMS",
    "RUST", "NODE_JS",
];

fn json_language() -> impl Strategy<Value = LanguageCode> {
    prop_oneof![
        (0..KNOWN.len()).prop_map(|i| LanguageCode::from_name(KNOWN[i])),
        "[a-z][a-z_]{0,8}".prop_map(LanguageCode::UnknownName),
    ]
}

fn binary_language() -> impl Strategy<Value = LanguageCode> {
    any::<u8>().prop_map(LanguageCode::from_byte)
}

fn ext() -> impl Strategy<Value = std::collections::BTreeMap<String, String>> {
    btree_map(".{0,12}", ".{0,24}", 0..6)
}

fn json_command() -> impl Strategy<Value = RemotingCommand> {
    (
        any::<i32>(),
        json_language(),
        any::<i32>(),
        any::<i32>(),
        any::<i32>(),
        proptest::option::of(".{0,40}"),
        ext(),
        vec(any::<u8>(), 0..300),
    )
        .prop_map(
            |(code, language, version, opaque, flag, remark, ext_fields, body)| RemotingCommand {
                code,
                language,
                version,
                opaque,
                flag,
                remark,
                ext_fields,
                body: Bytes::from(body),
            },
        )
}

fn binary_command() -> impl Strategy<Value = RemotingCommand> {
    (
        any::<i16>(),
        binary_language(),
        any::<i16>(),
        any::<i32>(),
        any::<i32>(),
        proptest::option::of(".{1,40}"),
        ext(),
        vec(any::<u8>(), 0..300),
    )
        .prop_map(
            |(code, language, version, opaque, flag, remark, ext_fields, body)| RemotingCommand {
                code: i32::from(code),
                language,
                version: i32::from(version),
                opaque,
                flag,
                remark,
                ext_fields,
                body: Bytes::from(body),
            },
        )
}

/// Either header flavour, as `(command, encoded frame)`.
fn framed() -> impl Strategy<Value = (RemotingCommand, Vec<u8>)> {
    prop_oneof![
        json_command().prop_map(|c| {
            let mut b = BytesMut::new();
            encode(&c, &mut b).unwrap();
            (c, b.to_vec())
        }),
        binary_command().prop_map(|c| {
            let mut b = BytesMut::new();
            encode_rocketmq_binary(&c, &mut b).unwrap();
            (c, b.to_vec())
        }),
    ]
}

/// Decodes everything in `buf`, returning the commands; panics on an error.
fn drain(dec: &mut FrameDecoder, buf: &mut BytesMut, out: &mut Vec<RemotingCommand>) {
    while let Some(c) = dec.decode(buf).unwrap() {
        out.push(c);
    }
}

/// Decodes until more input is needed or the connection would be closed; never panics.
fn drain_lossy(dec: &mut FrameDecoder, buf: &mut BytesMut) -> Vec<RemotingCommand> {
    let mut out = Vec::new();
    loop {
        match dec.decode(buf) {
            Ok(Some(c)) => out.push(c),
            Ok(None) => return out,
            Err(e) if e.must_close() => return out,
            Err(_) => {}
        }
    }
}

/// What a server does with a decoded frame: parse the headers and bodies it might expect.
fn exercise(cmd: &RemotingCommand) {
    let _ = SendMessageRequestHeader::from_ext(&cmd.ext_fields);
    let _ = PullMessageRequestHeader::from_ext(&cmd.ext_fields);
    let _ = HeartbeatData::from_json(&cmd.body);
    let _ = decode_batch(&cmd.body);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn json_round_trip(cmd in json_command()) {
        let mut buf = BytesMut::new();
        encode(&cmd, &mut buf).unwrap();
        // JSON header: type byte 0.
        prop_assert_eq!(buf[4], 0);
        let got = FrameDecoder::default().decode(&mut buf).unwrap().unwrap();
        prop_assert_eq!(got, cmd);
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn binary_round_trip(cmd in binary_command()) {
        let mut buf = BytesMut::new();
        encode_rocketmq_binary(&cmd, &mut buf).unwrap();
        prop_assert_eq!(buf[4], 1);
        let got = FrameDecoder::default().decode(&mut buf).unwrap().unwrap();
        prop_assert_eq!(got, cmd);
    }

    #[test]
    fn stream_fed_byte_by_byte(frames in vec(framed(), 1..5)) {
        let stream: Vec<u8> = frames.iter().flat_map(|(_, b)| b.clone()).collect();
        let mut dec = FrameDecoder::default();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for b in &stream {
            buf.extend_from_slice(&[*b]);
            drain(&mut dec, &mut buf, &mut got);
        }
        let want: Vec<RemotingCommand> = frames.into_iter().map(|(c, _)| c).collect();
        prop_assert_eq!(got, want);
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn stream_split_at_arbitrary_points(frames in vec(framed(), 1..5), cuts in vec(any::<prop::sample::Index>(), 0..8)) {
        let stream: Vec<u8> = frames.iter().flat_map(|(_, b)| b.clone()).collect();
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
        points.push(0);
        points.push(stream.len());
        points.sort_unstable();
        let mut dec = FrameDecoder::default();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for w in points.windows(2) {
            buf.extend_from_slice(&stream[w[0]..w[1]]);
            drain(&mut dec, &mut buf, &mut got);
        }
        let want: Vec<RemotingCommand> = frames.into_iter().map(|(c, _)| c).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn every_truncation_waits(frame in framed()) {
        let (_, bytes) = frame;
        for n in 0..bytes.len() {
            let mut buf = BytesMut::from(&bytes[..n]);
            let mut dec = FrameDecoder::default();
            prop_assert!(dec.decode(&mut buf).unwrap().is_none(), "prefix {} decoded", n);
            prop_assert_eq!(buf.len(), n, "a truncated frame consumed bytes");
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..2048), small in any::<bool>()) {
        let limits = if small {
            DecoderLimits { max_frame: 512, max_body: 64 }
        } else {
            DecoderLimits::default()
        };
        let mut dec = FrameDecoder::new(limits);
        let mut buf = BytesMut::from(&bytes[..]);
        for c in drain_lossy(&mut dec, &mut buf) {
            exercise(&c);
        }
    }

    #[test]
    fn plausible_prefix_then_garbage_never_panics(
        total in 0i32..600, ser in 0u8..3, hlen in 0u32..600, tail in vec(any::<u8>(), 0..600)
    ) {
        let mut bytes = total.to_be_bytes().to_vec();
        bytes.extend_from_slice(&((u32::from(ser) << 24) | hlen).to_be_bytes());
        bytes.extend_from_slice(&tail);
        let mut dec = FrameDecoder::new(DecoderLimits { max_frame: 4096, max_body: 128 });
        for chunk in bytes.chunks(5) {
            let mut buf = BytesMut::from(chunk);
            for c in drain_lossy(&mut dec, &mut buf) {
                exercise(&c);
            }
        }
    }

    #[test]
    fn mutated_frames_never_panic(frame in framed(), flips in vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)) {
        let (_, mut bytes) = frame;
        for (i, v) in flips {
            let at = i.index(bytes.len());
            bytes[at] = v;
        }
        let mut dec = FrameDecoder::new(DecoderLimits { max_frame: 1 << 16, max_body: 1 << 12 });
        let mut buf = BytesMut::new();
        for b in &bytes {
            buf.extend_from_slice(&[*b]);
            for c in drain_lossy(&mut dec, &mut buf) {
                exercise(&c);
            }
        }
    }

    #[test]
    fn oversized_frames_rejected_before_buffering(excess in 1usize..(1 << 30)) {
        let max = 16 << 20;
        let total = i32::try_from(max - 4 + excess).unwrap_or(i32::MAX);
        let mut buf = BytesMut::with_capacity(8);
        buf.extend_from_slice(&total.to_be_bytes());
        let cap = buf.capacity();
        let err = FrameDecoder::default().decode(&mut buf).unwrap_err();
        let is_too_large = matches!(err, FrameError::FrameTooLarge { .. });
        prop_assert!(is_too_large);
        prop_assert!(err.must_close());
        prop_assert_eq!(buf.capacity(), cap);
        prop_assert_eq!(buf.len(), 4);
    }

    #[test]
    fn oversized_bodies_are_reported_not_buffered(body_len in 65usize..5000, opaque in any::<i32>()) {
        let cmd = RemotingCommand::request(310).with_opaque(opaque).with_body(vec![0xAB; body_len]);
        let mut frame = BytesMut::new();
        encode(&cmd, &mut frame).unwrap();
        let head_len = frame.len() - body_len;
        let mut dec = FrameDecoder::new(DecoderLimits { max_frame: 1 << 20, max_body: 64 });
        // Only the head has arrived: the error comes before any body byte is buffered.
        let mut buf = BytesMut::from(&frame[..head_len]);
        let err = dec.decode(&mut buf).unwrap_err();
        prop_assert!(!err.must_close());
        match err {
            FrameError::BodyTooLarge { command, len, .. } => {
                prop_assert_eq!(command.opaque, opaque);
                prop_assert_eq!(len, body_len);
            }
            other => prop_assert!(false, "unexpected {:?}", other),
        }
        prop_assert!(dec.is_skipping());
        // The body is then discarded as it arrives.
        let mut rest = BytesMut::from(&frame[head_len..]);
        prop_assert!(dec.decode(&mut rest).unwrap().is_none());
        prop_assert!(rest.is_empty());
        prop_assert!(!dec.is_skipping());
    }
}
