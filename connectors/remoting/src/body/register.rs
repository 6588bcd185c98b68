//! REGISTER_BROKER (103) body — protocol.md §2.3.17; TopicConfigSerializeWrapper, also the
//! GET_ALL_TOPIC_CONFIG (21) body — §2.3.19; TopicConfig — §2.5.
//!
//! The compressed form (`compressed=true`) is a zlib stream; this crate has no zlib, so the
//! caller inflates it and hands the inflated bytes to [`decode_inflated`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::common::DataVersion;
use super::enums::TopicFilterType;
use super::fastjson::{self, JsonStyle};
use super::{serde_body, BodyError};
use crate::lenient;
use crate::reader::Reader;

/// `{"attributes":{},"order":false,"perm":6,"readQueueNums":8,"topicFilterType":"SINGLE_TAG","topicName":"T","topicSysFlag":0,"writeQueueNums":8}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicConfig {
    /// 5.x.
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub attributes: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub order: bool,
    #[serde(default, deserialize_with = "lenient::i32")]
    pub perm: i32,
    #[serde(rename = "readQueueNums", default, deserialize_with = "lenient::i32")]
    pub read_queue_nums: i32,
    #[serde(rename = "topicFilterType", default)]
    pub topic_filter_type: TopicFilterType,
    #[serde(rename = "topicName", default, deserialize_with = "lenient::string")]
    pub topic_name: String,
    #[serde(rename = "topicSysFlag", default, deserialize_with = "lenient::i32")]
    pub topic_sys_flag: i32,
    #[serde(rename = "writeQueueNums", default, deserialize_with = "lenient::i32")]
    pub write_queue_nums: i32,
}

impl TopicConfig {
    /// A plain topic: `queues` read and write queues, perm 6 (R|W), SINGLE_TAG.
    pub fn new(topic_name: impl Into<String>, queues: i32) -> Self {
        TopicConfig {
            attributes: BTreeMap::new(),
            order: false,
            perm: 6,
            read_queue_nums: queues,
            topic_filter_type: TopicFilterType::SingleTag,
            topic_name: topic_name.into(),
            topic_sys_flag: 0,
            write_queue_nums: queues,
        }
    }

    /// The compressed-register "encode" string: `name readQ writeQ perm filterType [attrsJSON]`
    /// (loses `topicSysFlag` and `order`).
    pub fn encode_line(&self) -> String {
        let mut s = format!(
            "{} {} {} {} {}",
            self.topic_name,
            self.read_queue_nums,
            self.write_queue_nums,
            self.perm,
            self.topic_filter_type.name()
        );
        s.push(' ');
        s.push_str(&String::from_utf8_lossy(&fastjson::to_vec(
            &self.attributes,
            JsonStyle::STANDARD,
        )));
        s
    }

    /// Parses an [`encode_line`](Self::encode_line) string.
    pub fn decode_line(line: &str) -> Result<Self, BodyError> {
        let bad = |what: &str| BodyError::Invalid(format!("topic config line {line:?}: bad {what}"));
        let mut parts = line.splitn(6, ' ');
        let mut next = |what: &'static str| parts.next().ok_or_else(|| bad(what));
        let topic_name = next("topic name")?.to_owned();
        let read_queue_nums = next("readQueueNums")?.parse().map_err(|_| bad("readQueueNums"))?;
        let write_queue_nums = next("writeQueueNums")?
            .parse()
            .map_err(|_| bad("writeQueueNums"))?;
        let perm = next("perm")?.parse().map_err(|_| bad("perm"))?;
        let topic_filter_type =
            TopicFilterType::from_name(next("topicFilterType")?).ok_or_else(|| bad("topicFilterType"))?;
        let attributes = match parts.next() {
            Some(json) if !json.trim().is_empty() => fastjson::from_slice(json.as_bytes())?,
            _ => BTreeMap::new(),
        };
        Ok(TopicConfig {
            attributes,
            order: false,
            perm,
            read_queue_nums,
            topic_filter_type,
            topic_name,
            topic_sys_flag: 0,
            write_queue_nums,
        })
    }
}

/// Topic configs of a broker with their data version; also the GET_ALL_TOPIC_CONFIG body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TopicConfigSerializeWrapper {
    #[serde(rename = "dataVersion", default, deserialize_with = "lenient::null_default")]
    pub data_version: DataVersion,
    /// 5.x.
    #[serde(
        rename = "mappingDataVersion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub mapping_data_version: Option<DataVersion>,
    #[serde(
        rename = "topicConfigTable",
        default,
        deserialize_with = "lenient::null_default"
    )]
    pub topic_config_table: BTreeMap<String, TopicConfig>,
    /// 5.x static topics, passed through.
    #[serde(
        rename = "topicQueueMappingDetailMap",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub topic_queue_mapping_detail_map: Option<serde_json::Value>,
    /// 5.x static topics, passed through.
    #[serde(
        rename = "topicQueueMappingInfoMap",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub topic_queue_mapping_info_map: Option<serde_json::Value>,
}

/// The uncompressed REGISTER_BROKER body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RegisterBrokerBody {
    #[serde(
        rename = "filterServerList",
        default,
        deserialize_with = "lenient::vec_string"
    )]
    pub filter_server_list: Vec<String>,
    #[serde(
        rename = "topicConfigSerializeWrapper",
        default,
        deserialize_with = "lenient::null_default"
    )]
    pub topic_config_serialize_wrapper: TopicConfigSerializeWrapper,
}

serde_body!(TopicConfig, TopicConfigSerializeWrapper, RegisterBrokerBody);

/// The inflated compressed REGISTER_BROKER body: the register body, plus the 5.x
/// TopicQueueMappingInfo entries (raw JSON) when present.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InflatedRegisterBody {
    pub body: RegisterBrokerBody,
    pub topic_queue_mapping_infos: Vec<serde_json::Value>,
}

fn short(s: crate::reader::Short) -> BodyError {
    BodyError::Invalid(format!("compressed register body truncated at {}", s.what))
}

fn chunk<'a>(r: &mut Reader<'a>, what: &'static str) -> Result<&'a [u8], BodyError> {
    let len = r.i32(what).map_err(short)?;
    let len = usize::try_from(len).map_err(|_| BodyError::Invalid(format!("negative length for {what}")))?;
    r.bytes(len, what).map_err(short)
}

fn count(r: &mut Reader<'_>, what: &'static str) -> Result<usize, BodyError> {
    let n = r.i32(what).map_err(short)?;
    usize::try_from(n).map_err(|_| BodyError::Invalid(format!("negative {what}")))
}

/// Decodes an inflated compressed REGISTER_BROKER body (§2.3.17): i32-length-prefixed
/// DataVersion JSON; i32 topic count and per topic an i32-length-prefixed
/// [`TopicConfig::encode_line`]; i32-length-prefixed filterServerList JSON; then, from brokers
/// ≥ 5.0.0, i32 count and per entry an i32-length-prefixed TopicQueueMappingInfo JSON.
pub fn decode_inflated(bytes: &[u8]) -> Result<InflatedRegisterBody, BodyError> {
    let mut r = Reader::new(bytes);
    let data_version: DataVersion = fastjson::from_slice(chunk(&mut r, "dataVersion")?)?;
    let topics = count(&mut r, "topic count")?;
    let mut table = BTreeMap::new();
    for _ in 0..topics {
        let raw = chunk(&mut r, "topic config")?;
        let line =
            std::str::from_utf8(raw).map_err(|_| BodyError::Invalid("topic config is not UTF-8".into()))?;
        let tc = TopicConfig::decode_line(line)?;
        table.insert(tc.topic_name.clone(), tc);
    }
    let filter_server_list: Vec<String> = fastjson::from_slice(chunk(&mut r, "filterServerList")?)?;
    let mut infos = Vec::new();
    if r.remaining() > 0 {
        let n = count(&mut r, "mapping count")?;
        for _ in 0..n {
            infos.push(fastjson::from_slice(chunk(&mut r, "mapping info")?)?);
        }
    }
    if r.remaining() > 0 {
        return Err(BodyError::Invalid(format!(
            "{} trailing bytes in compressed register body",
            r.remaining()
        )));
    }
    Ok(InflatedRegisterBody {
        body: RegisterBrokerBody {
            filter_server_list,
            topic_config_serialize_wrapper: TopicConfigSerializeWrapper {
                data_version,
                topic_config_table: table,
                ..Default::default()
            },
        },
        topic_queue_mapping_infos: infos,
    })
}

/// Encodes the inflated compressed form (the caller deflates it); the mapping section is
/// written when `with_mapping_section` (brokers ≥ 5.0.0).
pub fn encode_inflated(body: &InflatedRegisterBody, with_mapping_section: bool) -> Vec<u8> {
    fn put_chunk(out: &mut Vec<u8>, data: &[u8]) {
        out.extend_from_slice(&(data.len() as i32).to_be_bytes());
        out.extend_from_slice(data);
    }
    let wrapper = &body.body.topic_config_serialize_wrapper;
    let mut out = Vec::new();
    put_chunk(
        &mut out,
        &fastjson::to_vec(&wrapper.data_version, JsonStyle::STANDARD),
    );
    out.extend_from_slice(&(wrapper.topic_config_table.len() as i32).to_be_bytes());
    for tc in wrapper.topic_config_table.values() {
        put_chunk(&mut out, tc.encode_line().as_bytes());
    }
    put_chunk(
        &mut out,
        &fastjson::to_vec(&body.body.filter_server_list, JsonStyle::STANDARD),
    );
    if with_mapping_section {
        out.extend_from_slice(&(body.topic_queue_mapping_infos.len() as i32).to_be_bytes());
        for info in &body.topic_queue_mapping_infos {
            put_chunk(&mut out, &fastjson::to_vec(info, JsonStyle::STANDARD));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::JsonBody;

    #[test]
    fn golden_register_body() {
        let mut w = TopicConfigSerializeWrapper {
            data_version: DataVersion {
                counter: 12,
                state_version: 0,
                timestamp: 1_700_000_000_000,
            },
            ..Default::default()
        };
        w.topic_config_table
            .insert("TopicTest".into(), TopicConfig::new("TopicTest", 4));
        let body = RegisterBrokerBody {
            filter_server_list: vec![],
            topic_config_serialize_wrapper: w,
        };
        let json = String::from_utf8(body.to_json()).unwrap();
        assert_eq!(
            json,
            concat!(
                r#"{"filterServerList":[],"topicConfigSerializeWrapper":{"#,
                r#""dataVersion":{"counter":12,"stateVersion":0,"timestamp":1700000000000},"#,
                r#""topicConfigTable":{"TopicTest":{"attributes":{},"order":false,"perm":6,"readQueueNums":4,"#,
                r#""topicFilterType":"SINGLE_TAG","topicName":"TopicTest","topicSysFlag":0,"writeQueueNums":4}}}}"#
            )
        );
        assert_eq!(RegisterBrokerBody::from_json(json.as_bytes()).unwrap(), body);
    }

    #[test]
    fn inflated_round_trip_and_garbage() {
        let mut body = InflatedRegisterBody::default();
        let mut tc = TopicConfig::new("T1", 8);
        tc.attributes.insert("+k".into(), "v w".into());
        body.body
            .topic_config_serialize_wrapper
            .topic_config_table
            .insert("T1".into(), tc);
        body.body.filter_server_list.push("1.2.3.4:1".into());
        body.topic_queue_mapping_infos
            .push(serde_json::json!({"topic":"T1"}));
        let bytes = encode_inflated(&body, true);
        assert_eq!(decode_inflated(&bytes).unwrap(), body);
        for n in 0..bytes.len() {
            let _ = decode_inflated(&bytes[..n]);
        }
        let mut no_mapping = body.clone();
        no_mapping.topic_queue_mapping_infos.clear();
        assert_eq!(
            decode_inflated(&encode_inflated(&no_mapping, false)).unwrap(),
            no_mapping
        );
        assert!(decode_inflated(&[0xFF, 0xFF, 0xFF, 0xFF]).is_err());
        assert!(TopicConfig::decode_line("T x 1 6 SINGLE_TAG").is_err());
    }
}
