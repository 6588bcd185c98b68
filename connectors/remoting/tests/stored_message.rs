//! The stored-record layout: golden bytes, round trips against arbitrary messages, and garbage or
//! truncated input that must give errors, never panics.

use std::net::SocketAddr;

use proptest::prelude::*;
use sluice_remoting::message::{
    self as record, sysflag, CrcCheck, DecodeError, Decoded, MessageFields, StoreStamp,
};

fn hello() -> MessageFields<'static> {
    MessageFields {
        topic: "TopicTest",
        queue_id: 1,
        flag: 0,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: "127.0.0.1:54321".parse().unwrap(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: b"Hello",
        properties: "TAGS\u{1}TagA\u{2}",
    }
}

fn stamp(host: &str) -> StoreStamp {
    StoreStamp {
        queue_offset: 5,
        physical_offset: 4096,
        store_timestamp: 1_700_000_000_100,
        store_host: host.parse().unwrap(),
    }
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn golden_ipv4_record() {
    let mut out = Vec::new();
    let n = record::encode(&mut out, &hello(), &stamp("192.168.0.1:10911"), None).unwrap();
    let mut expected = hex("00000073 DAA320A7 77D18982 00000001 00000000
         0000000000000005 0000000000001000 00000000
         0000018BCFE56800 7F000001 0000D431
         0000018BCFE56864 C0A80001 00002A9F
         00000000 0000000000000000 00000005");
    expected.extend_from_slice(b"Hello");
    expected.push(9);
    expected.extend_from_slice(b"TopicTest");
    expected.extend_from_slice(&[0, 10]);
    expected.extend_from_slice(b"TAGS\x01TagA\x02");
    assert_eq!(n, 115);
    assert_eq!(out, expected);
    let Decoded::Message(r) = record::decode(&out, CrcCheck::Verify).unwrap() else {
        panic!("not a message")
    };
    assert_eq!(r.fields(), hello());
    assert_eq!(r.property("TAGS"), Some("TagA"));
    assert_eq!(record::store_timestamp_at(&out).unwrap(), 1_700_000_000_100);
}

#[test]
fn golden_ipv6_hosts_and_v2_topic() {
    let mut msg = hello();
    msg.born_host = "[2001:db8::1]:7".parse().unwrap();
    let mut out = Vec::new();
    record::encode(&mut out, &msg, &stamp("[::ffff:10.0.0.1]:10911"), None).unwrap();
    // Born host is v6 (+12 bytes), the v4-mapped store host is written as IPv4.
    assert_eq!(out.len(), 127);
    assert_eq!(&out[36..40], &sysflag::BORNHOST_V6.to_be_bytes());
    assert_eq!(
        &out[48..64],
        &"2001:db8::1".parse::<std::net::Ipv6Addr>().unwrap().octets()
    );
    assert_eq!(&out[64..68], &7i32.to_be_bytes());
    assert_eq!(record::store_timestamp_at(&out).unwrap(), 1_700_000_000_100);
    assert_eq!(&out[76..80], &[10, 0, 0, 1]);

    let long = "T".repeat(128);
    msg.topic = &long;
    out.clear();
    record::encode(&mut out, &msg, &stamp("[2001:db8::2]:10911"), None).unwrap();
    assert_eq!(&out[4..8], &record::MAGIC_V2.to_be_bytes());
    assert_eq!(out.len(), 91 + 5 + 128 + 10 + 12 + 12 + 1);
    let Decoded::Message(r) = record::decode(&out, CrcCheck::Verify).unwrap() else {
        panic!("not a message")
    };
    assert_eq!(r.topic, long);
    assert_eq!(r.sys_flag & sysflag::STOREHOST_V6, sysflag::STOREHOST_V6);
}

#[test]
fn golden_blank() {
    let mut out = Vec::new();
    record::encode_blank(&mut out, 300);
    assert_eq!(out, hex("0000012C CBD43194"));
    assert_eq!(record::decode(&out, CrcCheck::Verify).unwrap(), Decoded::Blank);
}

#[test]
fn limits_are_refused() {
    let mut msg = hello();
    let props = "K\u{1}".to_string() + &"v".repeat(40_000);
    msg.properties = &props;
    assert!(record::encode(&mut Vec::new(), &msg, &stamp("1.2.3.4:5"), None).is_err());
    let mut msg = hello();
    msg.topic = "";
    assert!(record::encode(&mut Vec::new(), &msg, &stamp("1.2.3.4:5"), None).is_err());
}

#[test]
fn corrupt_body_fails_crc_and_bad_fields_are_errors() {
    let mut out = Vec::new();
    record::encode(&mut out, &hello(), &stamp("1.2.3.4:5"), None).unwrap();
    let mut bad = out.clone();
    bad[88] ^= 0xFF;
    assert!(matches!(
        record::decode(&bad, CrcCheck::Verify),
        Err(DecodeError::BodyCrc { .. })
    ));
    assert!(record::decode(&bad, CrcCheck::Skip).is_ok());
    let mut bad = out.clone();
    bad[84..88].copy_from_slice(&(-1i32).to_be_bytes());
    assert!(record::decode(&bad, CrcCheck::Verify).is_err());
    let mut bad = out.clone();
    bad[84..88].copy_from_slice(&1000i32.to_be_bytes());
    assert!(record::decode(&bad, CrcCheck::Verify).is_err());
    let mut bad = out.clone();
    bad[0..4].copy_from_slice(&(out.len() as i32 + 1).to_be_bytes());
    bad.push(0);
    assert!(matches!(
        record::decode(&bad, CrcCheck::Verify),
        Err(DecodeError::SizeMismatch { .. })
    ));
    let mut bad = out;
    bad[4] = 0;
    assert!(matches!(
        record::decode(&bad, CrcCheck::Verify),
        Err(DecodeError::BadMagic(_))
    ));
}

fn arb_host() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>()).prop_map(|(ip, p)| SocketAddr::from((ip, p))),
        (any::<[u8; 16]>(), any::<u16>()).prop_map(|(ip, p)| SocketAddr::from((ip, p))),
    ]
}

prop_compose! {
    fn arb_message()(
        topic in "[A-Za-z0-9_%|-]{1,200}",
        queue_id in 0i32..1024,
        flag in any::<i32>(),
        sys_flag in (0i32..16).prop_map(|f| f & !0x30),
        born_timestamp in any::<i64>(),
        born_host in arb_host(),
        reconsume_times in 0i32..32,
        prepared_transaction_offset in any::<i64>(),
        body in proptest::collection::vec(any::<u8>(), 0..2048),
        properties in "([A-Z_]{1,8}\u{1}[a-z0-9 ]{1,12}\u{2}){0,6}",
    ) -> (String, i32, i32, i32, i64, SocketAddr, i32, i64, Vec<u8>, String) {
        (topic, queue_id, flag, sys_flag, born_timestamp, born_host, reconsume_times, prepared_transaction_offset, body, properties)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn round_trip((topic, queue_id, flag, sys_flag, born_timestamp, born_host, reconsume_times, pto, body, properties) in arb_message(),
                  store_host in arb_host(), qo in any::<i64>(), phys in any::<i64>(), sts in any::<i64>()) {
        let msg = MessageFields { topic: &topic, queue_id, flag, sys_flag, born_timestamp, born_host: record::canonical_host(born_host), reconsume_times, prepared_transaction_offset: pto, body: &body, properties: &properties };
        let st = StoreStamp { queue_offset: qo, physical_offset: phys, store_timestamp: sts, store_host: record::canonical_host(store_host) };
        let mut out = vec![0xEE; 3]; // encoding appends
        let n = record::encode(&mut out, &msg, &st, None).unwrap();
        prop_assert_eq!(n, out.len() - 3);
        prop_assert_eq!(n, record::encoded_len(&msg, st.store_host).unwrap());
        let r = record::decode_message(&out[3..], CrcCheck::Verify).unwrap();
        let mut expect = msg.clone();
        expect.sys_flag = r.sys_flag; // host-family bits are the encoder's
        prop_assert_eq!(r.sys_flag & !0x30, sys_flag);
        prop_assert_eq!(r.fields(), expect);
        prop_assert_eq!((r.queue_offset, r.physical_offset, r.store_timestamp, r.store_host), (qo, phys, sts, st.store_host));
        prop_assert_eq!(r.magic, if topic.len() > 127 { record::MAGIC_V2 } else { record::MAGIC_V1 });
        prop_assert_eq!(record::store_timestamp_at(&out[3..]).unwrap(), sts);
        // Every strict prefix is an error, not a panic.
        for cut in [0, 1, 4, 8, 30, n / 2, n - 1] {
            prop_assert!(record::decode(&out[3..3 + cut], CrcCheck::Verify).is_err());
        }
    }

    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = record::decode(&bytes, CrcCheck::Verify);
        let _ = record::decode_message(&bytes, CrcCheck::Skip);
        let _ = record::store_timestamp_at(&bytes);
    }

    #[test]
    fn mutated_records_never_panic(idx in 0usize..115, val in any::<u8>()) {
        let mut out = Vec::new();
        record::encode(&mut out, &hello(), &stamp("1.2.3.4:5"), None).unwrap();
        out[idx] = val;
        let _ = record::decode(&out, CrcCheck::Verify);
    }
}
