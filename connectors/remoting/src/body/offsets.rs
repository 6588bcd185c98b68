//! The offset files a slave copies from its master (protocol.md §4.10, §9.1):
//! GET_ALL_CONSUMER_OFFSET (43) answers consumerOffset.json, GET_ALL_DELAY_OFFSET (45)
//! delayOffset.json. Read in either form Java writes (fastjson: integer keys unquoted) or
//! standard JSON; written as standard JSON with a `dataVersion`, as 5.x's wrappers carry one:
//! Java's fastjson reads quoted integer keys, and rocketmq-rust's slaves (serde_json) need
//! them, and the `dataVersion`, to take a sync at all.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::common::DataVersion;
use super::fastjson::{self, JsonStyle};
use super::{BodyError, JsonBody};

/// consumerOffset.json: the committed offset of each `topic@group` per queue id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerOffsetTable {
    #[serde(default)]
    pub offset_table: BTreeMap<String, BTreeMap<i32, i64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_version: Option<DataVersion>,
}

impl ConsumerOffsetTable {
    /// The `topic@group` key (a group name never holds `@`; a topic may not either).
    pub fn key(topic: &str, group: &str) -> String {
        format!("{topic}@{group}")
    }

    /// Splits a key into (topic, group).
    pub fn split_key(key: &str) -> Option<(&str, &str)> {
        key.split_once('@')
    }
}

/// delayOffset.json: how far each delay level has been delivered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DelayOffsetTable {
    #[serde(default)]
    pub offset_table: BTreeMap<i32, i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_version: Option<DataVersion>,
}

macro_rules! fastjson_body {
    ($($ty:ty),*) => {$(
        impl JsonBody for $ty {
            fn to_json(&self) -> Vec<u8> {
                fastjson::to_vec(self, JsonStyle::STANDARD)
            }
            fn from_json(bytes: &[u8]) -> Result<Self, BodyError> {
                fastjson::from_slice(bytes)
            }
        }
    )*};
}

/// messageRequestMode.json (5.x, GET_ALL_MESSAGE_REQUEST_MODE 402): which consumer groups a
/// topic serves by POP rather than PULL, per topic and group. 5.x slaves copy it with the
/// other metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageRequestModeTable {
    #[serde(default)]
    pub message_request_mode_map: BTreeMap<String, BTreeMap<String, MessageRequestModeEntry>>,
}

/// One group's mode on one topic (5.x's SetMessageRequestModeRequestBody).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageRequestModeEntry {
    #[serde(default)]
    pub topic: String,
    #[serde(default)]
    pub consumer_group: String,
    /// `PULL` or `POP`.
    #[serde(default)]
    pub mode: String,
    #[serde(default)]
    pub pop_share_queue_num: i32,
}

fastjson_body!(ConsumerOffsetTable, DelayOffsetTable, MessageRequestModeTable);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_as_java_writes_them_are_read_and_standard_json_written() {
        let java =
            br#"{"offsetTable":{"TopicTest@please_rename_unique_group_name_4":{0:250,1:248,2:251,3:251}}}"#;
        let mut t = ConsumerOffsetTable::from_json(java).unwrap();
        let per_queue = &t.offset_table["TopicTest@please_rename_unique_group_name_4"];
        assert_eq!(per_queue[&1], 248);
        assert_eq!(t.data_version, None);
        t.data_version = Some(DataVersion {
            counter: 3,
            state_version: 0,
            timestamp: 7,
        });
        let written = String::from_utf8(t.to_json()).unwrap();
        assert_eq!(
            written,
            r#"{"offsetTable":{"TopicTest@please_rename_unique_group_name_4":{"0":250,"1":248,"2":251,"3":251}},"dataVersion":{"counter":3,"stateVersion":0,"timestamp":7}}"#
        );
        assert_eq!(ConsumerOffsetTable::from_json(written.as_bytes()).unwrap(), t);
        assert_eq!(ConsumerOffsetTable::split_key("T@g"), Some(("T", "g")));
        let d = DelayOffsetTable::from_json(br#"{"offsetTable":{1:0,2:17}}"#).unwrap();
        assert_eq!(d.offset_table[&2], 17);
        assert_eq!(
            DelayOffsetTable::from_json(br#"{"offsetTable":{"3":5}}"#)
                .unwrap()
                .offset_table[&3],
            5
        );
    }

    #[test]
    fn request_modes_are_read_as_5x_writes_them() {
        let java = br#"{"messageRequestModeMap":{"orders":{"g":{"consumerGroup":"g","mode":"POP","popShareQueueNum":-1,"topic":"orders"}}}}"#;
        let t = MessageRequestModeTable::from_json(java).unwrap();
        assert_eq!(t.message_request_mode_map["orders"]["g"].mode, "POP");
        assert_eq!(
            MessageRequestModeTable::default().to_json(),
            br#"{"messageRequestModeMap":{}}"#.to_vec()
        );
    }
}
