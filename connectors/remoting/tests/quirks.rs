//! Client quirks end to end: raw frames as third-party clients write them (protocol.md §1.3,
//! §2.3.1, §2.3.5), through the frame decoder into typed headers and bodies.

use bytes::BytesMut;
use sluice_remoting::body::enums::{ConsumeFromWhere, ConsumeType, MessageModel};
use sluice_remoting::body::heartbeat::HeartbeatData;
use sluice_remoting::body::JsonBody;
use sluice_remoting::header::send::SendMessageRequestHeader;
use sluice_remoting::header::CommandHeader;
use sluice_remoting::{FrameDecoder, LanguageCode, RemotingCommand};

fn frame(header: &str, body: &[u8]) -> BytesMut {
    let mut v = BytesMut::new();
    v.extend_from_slice(&((4 + header.len() + body.len()) as i32).to_be_bytes());
    v.extend_from_slice(&(header.len() as u32).to_be_bytes());
    v.extend_from_slice(header.as_bytes());
    v.extend_from_slice(body);
    v
}

fn decode(mut buf: BytesMut) -> RemotingCommand {
    FrameDecoder::default().decode(&mut buf).unwrap().unwrap()
}

#[test]
fn ali_ons_send_with_numbers_and_booleans() {
    let header = r#"{"code":310,"language":"JAVA","version":121,"opaque":3,"flag":0,"extFields":{"a":"pg","b":"T","c":"TBW102","d":4,"e":0,"f":0,"g":1700000000000,"h":0,"i":"KEYS\u0001k1\u0002","j":0,"k":false,"l":16,"AccessKey":"ak","OnsChannel":"ALIYUN"}}"#;
    let cmd = decode(frame(header, b"payload"));
    assert_eq!(cmd.language, LanguageCode::Java);
    assert_eq!(cmd.ext("d"), Some("4"));
    assert_eq!(cmd.ext("k"), Some("false"));
    let h = SendMessageRequestHeader::from_ext(&cmd.ext_fields).unwrap();
    assert_eq!(
        (h.producer_group.as_str(), h.topic.as_str(), h.queue_id),
        ("pg", "T", 0)
    );
    assert_eq!(h.born_timestamp, 1_700_000_000_000);
    assert_eq!(h.properties.as_deref(), Some("KEYS\u{1}k1\u{2}"));
    assert!(!h.unit_mode && !h.batch);
    assert_eq!(h.max_reconsume_times, Some(16));
    assert_eq!(&cmd.body[..], b"payload");
}

#[test]
fn cpp_send_with_empty_acl_fields_and_empty_remark() {
    let header = r#"{"code":310,"language":"CPP","version":333,"opaque":9,"flag":0,"remark":"","extFields":{"Signature":"","AccessKey":"","OnsChannel":"","a":"pg","b":"T","c":"TBW102","d":"4","e":2,"f":0,"g":"1700000000000","h":0,"i":"","j":"0","k":"false","m":"true"}}"#;
    let cmd = decode(frame(header, b"x"));
    assert_eq!(cmd.language, LanguageCode::Cpp);
    assert_eq!(cmd.remark.as_deref(), Some(""));
    assert_eq!(cmd.ext("Signature"), Some(""));
    let h = SendMessageRequestHeader::from_ext(&cmd.ext_fields).unwrap();
    assert_eq!(h.queue_id, 2);
    assert!(h.batch); // C++ batches are code 310 with m=true (§10.4)
    assert_eq!(h.properties.as_deref(), Some(""));
}

#[test]
fn go_send_with_long_names() {
    let header = r#"{"code":10,"language":"GO","version":317,"opaque":1,"flag":0,"remark":null,"extFields":{"producerGroup":"pg","topic":"T","defaultTopic":"TBW102","defaultTopicQueueNums":"4","queueId":"1","sysFlag":"0","bornTimestamp":"1700000000000","flag":"0","properties":"UNIQ_KEY\u0001AB\u0002","reconsumeTimes":"0","unitMode":"false","maxReconsumeTimes":"0","batch":"false","bname":"broker-a"}}"#;
    let cmd = decode(frame(header, b""));
    let h: SendMessageRequestHeader = CommandHeader::from_ext(&cmd.ext_fields).unwrap();
    assert_eq!(h.broker_name.as_deref(), Some("broker-a"));
    assert_eq!(h.queue_id, 1);
    assert_eq!(h, SendMessageRequestHeader::from_ext(&h.to_ext_v2()).unwrap());
}

#[test]
fn malformed_int_header_names_the_field() {
    let header = r#"{"code":310,"extFields":{"a":"pg","b":"T","e":"one"}}"#;
    let cmd = decode(frame(header, b""));
    let err = SendMessageRequestHeader::from_ext(&cmd.ext_fields).unwrap_err();
    assert_eq!(err.field(), "e");
    let resp = cmd.header_error_response(&err);
    assert_eq!(resp.code, 1);
    assert!(resp.remark.unwrap().contains("<e>"));
}

#[test]
fn heartbeat_with_ordinal_enums_and_missing_expression_type() {
    // C++ style ordinals; ali-ons style subscription without expressionType; Go style codeSet
    // strings.
    let body = br#"{"clientID":"10.0.0.1@DEFAULT","producerDataSet":[{"groupName":"CLIENT_INNER_PRODUCER"}],
      "consumerDataSet":[
        {"groupName":"g1","consumeType":1,"messageModel":0,"consumeFromWhere":5,"unitMode":false,
         "subscriptionDataSet":[{"topic":"T","subString":"TagA || TagB","tagsSet":["TagA","TagB"],"codeSet":["2598919","2598920"],"subVersion":1700000000000,"classFilterMode":false}]},
        {"groupName":"g2","consumeType":"CONSUME_ACTIVELY","messageModel":"CLUSTERING","consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET",
         "subscriptionDataSet":[{"topic":"%RETRY%g2","subString":"*","tagsSet":[],"codeSet":[],"subVersion":1,"expressionType":null}]}
      ]}"#;
    let header = r#"{"code":34,"language":"CPP","version":333,"opaque":5,"flag":0}"#;
    let cmd = decode(frame(header, body));
    let hb = HeartbeatData::from_json(&cmd.body).unwrap();
    assert_eq!(hb.client_id, "10.0.0.1@DEFAULT");
    assert_eq!(hb.producer_data_set[0].group_name, "CLIENT_INNER_PRODUCER");
    let g1 = &hb.consumer_data_set[0];
    assert_eq!(g1.consume_type, ConsumeType::ConsumePassively);
    assert_eq!(g1.message_model, MessageModel::Broadcasting);
    assert_eq!(g1.consume_from_where, ConsumeFromWhere::ConsumeFromTimestamp);
    let sub = &g1.subscription_data_set[0];
    assert_eq!(sub.expression_type, "TAG");
    assert_eq!(sub.code_set, vec![2_598_919, 2_598_920]);
    assert_eq!(sub.java_codes(), sub.code_set);
    let g2 = &hb.consumer_data_set[1];
    assert_eq!(g2.consume_type, ConsumeType::ConsumeActively);
    assert_eq!(g2.consume_from_where, ConsumeFromWhere::ConsumeFromFirstOffset);
    assert!(g2.subscription_data_set[0].is_subscribe_all());
    assert_eq!(g2.subscription_data_set[0].expression_type, "TAG");
    assert!(!g2.unit_mode);
    assert_eq!(hb.heartbeat_fingerprint, None);

    // Written back with names, alphabetical keys, 5.x fields omitted when unset.
    let out = String::from_utf8(hb.to_json()).unwrap();
    assert!(out.starts_with(r#"{"clientID":"10.0.0.1@DEFAULT","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_TIMESTAMP","consumeType":"CONSUME_PASSIVELY","groupName":"g1","messageModel":"BROADCASTING","subscriptionDataSet":[{"classFilterMode":false,"codeSet":[2598919,2598920],"expressionType":"TAG","subString":"TagA || TagB","subVersion":1700000000000,"tagsSet":["TagA","TagB"],"topic":"T"}],"unitMode":false}"#), "{out}");
    assert!(
        out.ends_with(r#""producerDataSet":[{"groupName":"CLIENT_INNER_PRODUCER"}]}"#),
        "{out}"
    );
    assert_eq!(HeartbeatData::from_json(out.as_bytes()).unwrap(), hb);
}

#[test]
fn java_5x_heartbeat_with_fingerprint() {
    let body = br#"{"clientID":"c","consumerDataSet":[],"heartbeatFingerprint":123,"producerDataSet":[{"groupName":"p"}],"withoutSub":false}"#;
    let hb = HeartbeatData::from_json(body).unwrap();
    assert_eq!(hb.heartbeat_fingerprint, Some(123));
    assert_eq!(hb.without_sub, Some(false));
    assert_eq!(hb.to_json(), body.to_vec());
}
