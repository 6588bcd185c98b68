//! GET_BROKER_HA_STATUS (907, RocketMQ 5.x; mqadmin `haStatus`): a master's view of its
//! slaves, or a slave's view of its link to the master.

use serde::{Deserialize, Serialize};

use super::fastjson::{self, JsonStyle};
use super::{BodyError, JsonBody};

/// One slave connection, as the master sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HaConnectionRuntimeInfo {
    pub addr: String,
    /// Bytes the slave is behind the master's end.
    #[serde(default)]
    pub diff: i64,
    #[serde(default)]
    pub in_sync: bool,
    /// The CommitLog offset the slave last reported having.
    #[serde(default)]
    pub slave_ack_offset: i64,
    #[serde(default)]
    pub transfer_from_where: i64,
    #[serde(default)]
    pub transferred_byte_in_second: i64,
}

/// A slave's link to its master.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HaClientRuntimeInfo {
    #[serde(default)]
    pub is_activated: bool,
    #[serde(default)]
    pub last_read_timestamp: i64,
    #[serde(default)]
    pub last_write_timestamp: i64,
    #[serde(default)]
    pub master_addr: String,
    #[serde(default)]
    pub master_flush_offset: i64,
    /// This slave's end of the log.
    #[serde(default)]
    pub max_offset: i64,
    #[serde(default)]
    pub transferred_byte_in_second: i64,
}

/// The whole answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HaRuntimeInfo {
    #[serde(default)]
    pub ha_client_runtime_info: HaClientRuntimeInfo,
    #[serde(default)]
    pub ha_connection_info: Vec<HaConnectionRuntimeInfo>,
    #[serde(default)]
    pub in_sync_slave_nums: i32,
    #[serde(default)]
    pub master: bool,
    #[serde(default)]
    pub master_commit_log_max_offset: i64,
}

impl JsonBody for HaRuntimeInfo {
    fn to_json(&self) -> Vec<u8> {
        fastjson::to_vec(self, JsonStyle::STANDARD)
    }
    fn from_json(bytes: &[u8]) -> Result<Self, BodyError> {
        fastjson::from_slice(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn master_view_round_trips_with_java_names() {
        let info = HaRuntimeInfo {
            master: true,
            master_commit_log_max_offset: 4096,
            in_sync_slave_nums: 1,
            ha_connection_info: vec![HaConnectionRuntimeInfo {
                addr: "127.0.0.1:50000".into(),
                slave_ack_offset: 4000,
                diff: 96,
                in_sync: true,
                ..Default::default()
            }],
            ..Default::default()
        };
        let json = String::from_utf8(info.to_json()).unwrap();
        assert!(json.contains("\"masterCommitLogMaxOffset\":4096"), "{json}");
        assert!(json.contains("\"slaveAckOffset\":4000"), "{json}");
        assert_eq!(HaRuntimeInfo::from_json(json.as_bytes()).unwrap(), info);
    }
}
