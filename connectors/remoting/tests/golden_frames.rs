//! Golden bytes for frames, written by hand from protocol.md §1.2–§1.4.

use bytes::{Bytes, BytesMut};
use sluice_remoting::frame::{encode, encode_rocketmq_binary, FrameDecoder};
use sluice_remoting::header::route::GetRouteInfoRequestHeader;
use sluice_remoting::header::send::SendMessageResponseHeader;
use sluice_remoting::{LanguageCode, RemotingCommand};

/// GET_ROUTEINFO_BY_TOPIC request, opaque 1, JSON header of 131 bytes, no body.
fn route_request_bytes() -> Vec<u8> {
    let header = br#"{"code":105,"extFields":{"topic":"TopicTest"},"flag":0,"language":"JAVA","opaque":1,"serializeTypeCurrentRPC":"JSON","version":409}"#;
    assert_eq!(header.len(), 131);
    let mut v = vec![0x00, 0x00, 0x00, 0x87]; // total_len = 4 + 131 = 135
    v.extend_from_slice(&[0x00, 0x00, 0x00, 0x83]); // type 0 (JSON), header length 131
    v.extend_from_slice(header);
    v
}

/// The §1.3 example send response (extFields in sorted order), opaque 42, body "hello".
fn send_response_bytes() -> Vec<u8> {
    let header = br#"{"code":0,"extFields":{"MSG_REGION":"DefaultRegion","TRACE_ON":"true","msgId":"C0A8000100002A9F00000000000A1B2C","queueId":"1","queueOffset":"17"},"flag":1,"language":"JAVA","opaque":42,"serializeTypeCurrentRPC":"JSON","version":409}"#;
    assert_eq!(header.len(), 233);
    let mut v = vec![0x00, 0x00, 0x00, 0xF2]; // 4 + 233 + 5 = 242
    v.extend_from_slice(&[0x00, 0x00, 0x00, 0xE9]); // JSON, 233
    v.extend_from_slice(header);
    v.extend_from_slice(b"hello");
    v
}

#[test]
fn json_request_frame() {
    let header = GetRouteInfoRequestHeader {
        topic: "TopicTest".into(),
        accept_standard_json_only: false,
    };
    let cmd = RemotingCommand::request(105)
        .with_opaque(1)
        .with_ext("topic", "TopicTest");
    let mut buf = BytesMut::new();
    encode(&cmd, &mut buf).unwrap();
    assert_eq!(&buf[..], &route_request_bytes()[..]);

    let mut input = BytesMut::from(&route_request_bytes()[..]);
    let got = FrameDecoder::default().decode(&mut input).unwrap().unwrap();
    assert_eq!(got, cmd);
    assert_eq!(got.decode_header::<GetRouteInfoRequestHeader>().unwrap(), header);
    assert!(input.is_empty());
}

#[test]
fn json_response_frame() {
    let request = RemotingCommand::request(310).with_opaque(42);
    let header = SendMessageResponseHeader::new("C0A8000100002A9F00000000000A1B2C", 1, 17);
    let resp = request
        .success_response()
        .with_header(&header)
        .with_body(Bytes::from_static(b"hello"));
    let mut buf = BytesMut::new();
    encode(&resp, &mut buf).unwrap();
    assert_eq!(&buf[..], &send_response_bytes()[..]);

    let mut input = BytesMut::from(&send_response_bytes()[..]);
    let got = FrameDecoder::default().decode(&mut input).unwrap().unwrap();
    assert!(got.is_response());
    assert_eq!(&got.body[..], b"hello");
    assert_eq!(got.decode_header::<SendMessageResponseHeader>().unwrap(), header);
}

/// HEART_BEAT from a Go client in the ROCKETMQ binary form: code 34, GO (9), version 317,
/// opaque 7, no remark, ext {bname: broker-a}, body `{}`.
#[test]
fn rocketmq_binary_header_decode() {
    #[rustfmt::skip]
    let bytes: Vec<u8> = vec![
        0x00, 0x00, 0x00, 0x2E,             // total_len = 4 + 40 + 2 = 46
        0x01, 0x00, 0x00, 0x28,             // type 1 (ROCKETMQ), header length 40
        0x00, 0x22,                         // code 34
        0x09,                               // language GO
        0x01, 0x3D,                         // version 317
        0x00, 0x00, 0x00, 0x07,             // opaque 7
        0x00, 0x00, 0x00, 0x00,             // flag 0
        0x00, 0x00, 0x00, 0x00,             // remark length 0 (null)
        0x00, 0x00, 0x00, 0x13,             // ext map length 19
        0x00, 0x05, b'b', b'n', b'a', b'm', b'e',
        0x00, 0x00, 0x00, 0x08, b'b', b'r', b'o', b'k', b'e', b'r', b'-', b'a',
        b'{', b'}',                         // body
    ];
    let mut input = BytesMut::from(&bytes[..]);
    let got = FrameDecoder::default().decode(&mut input).unwrap().unwrap();
    assert_eq!(got.code, 34);
    assert_eq!(got.language, LanguageCode::Go);
    assert_eq!((got.version, got.opaque, got.flag), (317, 7, 0));
    assert_eq!(got.remark, None);
    assert_eq!(got.ext("bname"), Some("broker-a"));
    assert_eq!(&got.body[..], b"{}");
    assert!(input.is_empty());

    // And our binary encoder produces exactly these bytes.
    let mut out = BytesMut::new();
    encode_rocketmq_binary(&got, &mut out).unwrap();
    assert_eq!(&out[..], &bytes[..]);
}

#[test]
fn rocketmq_binary_response_with_remark() {
    #[rustfmt::skip]
    let bytes: Vec<u8> = vec![
        0x00, 0x00, 0x00, 0x1B,             // 4 + 23
        0x01, 0x00, 0x00, 0x17,             // ROCKETMQ, 23
        0x00, 0x11,                         // code 17 TOPIC_NOT_EXIST
        0x00,                               // JAVA
        0x01, 0x99,                         // version 409
        0xFF, 0xFF, 0xFF, 0xFE,             // opaque -2
        0x00, 0x00, 0x00, 0x01,             // flag: response
        0x00, 0x00, 0x00, 0x02, b'n', b'o', // remark "no"
        0x00, 0x00, 0x00, 0x00,             // no ext fields
    ];
    let got = FrameDecoder::default()
        .decode(&mut BytesMut::from(&bytes[..]))
        .unwrap()
        .unwrap();
    assert_eq!((got.code, got.opaque, got.version), (17, -2, 409));
    assert!(got.is_response() && got.remark.as_deref() == Some("no") && got.ext_fields.is_empty());
    assert!(got.body.is_empty());
}
