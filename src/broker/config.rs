//! `broker.conf`: RocketMQ's broker property names, the store's settings among them.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::broker::schedule::ScheduleConfig;
use sluice_storage::config::{parse, parse_bool};
use sluice_storage::StoreConfig;

/// Why a broker configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum BrokerConfigError {
    #[error("{key}={value:?}: {reason}")]
    BadValue {
        key: String,
        value: String,
        reason: String,
    },
    #[error(transparent)]
    Store(#[from] sluice_storage::StoreError),
    #[error(transparent)]
    Properties(#[from] crate::config::properties::PropertiesError),
}

/// Broker settings.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    pub broker_cluster_name: String,
    pub broker_name: String,
    pub broker_id: u64,
    pub broker_ip1: IpAddr,
    /// NameServer addresses (`namesrvAddr`, `;`-separated).
    pub namesrv_addr: Vec<String>,
    pub listen_port: u16,
    /// `haListenPort`: the HA (replication) listener; `None` = `listenPort + 1`.
    pub ha_listen_port: Option<u16>,
    pub auto_create_topic_enable: bool,
    pub auto_create_subscription_group: bool,
    pub default_topic_queue_nums: u32,
    pub broker_permission: i32,
    /// `brokerRole`: only ASYNC_MASTER / SYNC_MASTER run today.
    pub broker_role: String,
    pub long_polling_enable: bool,
    pub short_polling_time_mills: u64,
    /// How often the broker re-registers with every NameServer (ms).
    pub register_name_server_period: u64,
    /// Bytes that may wait in the ingress queue before sends get SYSTEM_BUSY.
    pub max_ingress_bytes: usize,
    pub store: StoreConfig,
    /// `transactionTimeOut`, `transactionCheckInterval`, `transactionCheckMax`.
    pub schedule: ScheduleConfig,
    /// `rejectTransactionMessage` (false): half messages get NO_PERMISSION.
    pub reject_transaction_message: bool,
    /// `analyticsHttpPort`: the analytics HTTP listener on 127.0.0.1 (absent or -1: off; 0: any
    /// free port).
    pub analytics_http_port: Option<u16>,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        BrokerConfig {
            broker_cluster_name: "DefaultCluster".into(),
            broker_name: "broker-a".into(),
            broker_id: 0,
            broker_ip1: IpAddr::V4(Ipv4Addr::LOCALHOST),
            namesrv_addr: Vec::new(),
            listen_port: 10911,
            ha_listen_port: None,
            auto_create_topic_enable: true,
            auto_create_subscription_group: true,
            default_topic_queue_nums: 8,
            broker_permission: 6,
            broker_role: "ASYNC_MASTER".into(),
            long_polling_enable: true,
            short_polling_time_mills: 1000,
            register_name_server_period: 30_000,
            max_ingress_bytes: 256 << 20,
            store: StoreConfig {
                store_path_root_dir: home.join("store"),
                ..StoreConfig::default()
            },
            schedule: ScheduleConfig::default(),
            reject_transaction_message: false,
            analytics_http_port: None,
        }
    }
}

fn bad(key: &str, value: &str, reason: impl Into<String>) -> BrokerConfigError {
    BrokerConfigError::BadValue {
        key: key.into(),
        value: value.into(),
        reason: reason.into(),
    }
}

/// Keys RocketMQ knows that sluice accepts without acting on them (yet).
const ACCEPTED_UNUSED: &[&str] = &[
    "brokerIP2",
    "fastListenPort",
    "enablePropertyFilter",
    "traceTopicEnable",
    "msgTraceTopicName",
    "aclEnable",
    "sendMessageThreadPoolNums",
    "pullMessageThreadPoolNums",
    "useReentrantLockWhenPutMessage",
    "transientStorePoolEnable",
    "slaveReadEnable",
    "waitTimeMillsInSendQueue",
    "storePathCommitLog",
    "storePathConsumeQueue",
    "storePathIndex",
    "storeCheckpoint",
    "abortFile",
];

impl BrokerConfig {
    /// Applies one property. Unknown keys come back as warnings, bad values as errors.
    pub fn set(&mut self, key: &str, value: &str) -> Result<Option<String>, BrokerConfigError> {
        let v = value.trim();
        match key {
            "brokerClusterName" => self.broker_cluster_name = v.into(),
            "brokerName" => self.broker_name = v.into(),
            "brokerId" => self.broker_id = parse(key, v)?,
            "brokerIP1" => self.broker_ip1 = parse(key, v)?,
            "namesrvAddr" => self.namesrv_addr = split_addrs(v),
            "listenPort" => self.listen_port = parse(key, v)?,
            "haListenPort" => self.ha_listen_port = Some(parse(key, v)?),
            "autoCreateTopicEnable" => self.auto_create_topic_enable = parse_bool(key, v)?,
            "autoCreateSubscriptionGroup" => self.auto_create_subscription_group = parse_bool(key, v)?,
            "defaultTopicQueueNums" => {
                let n: u32 = parse(key, v)?;
                if n == 0 || n > 1024 {
                    return Err(bad(key, v, "expected 1–1024"));
                }
                self.default_topic_queue_nums = n;
            }
            "brokerPermission" => self.broker_permission = parse(key, v)?,
            "brokerRole" => match v {
                "ASYNC_MASTER" | "SYNC_MASTER" => self.broker_role = v.into(),
                "SLAVE" => return Err(bad(key, v, "slaves are not supported yet")),
                _ => return Err(bad(key, v, "expected ASYNC_MASTER, SYNC_MASTER or SLAVE")),
            },
            "longPollingEnable" => self.long_polling_enable = parse_bool(key, v)?,
            "shortPollingTimeMills" => self.short_polling_time_mills = parse(key, v)?,
            "registerNameServerPeriod" => self.register_name_server_period = parse(key, v)?,
            "transactionTimeOut" => self.schedule.transaction_timeout = Duration::from_millis(parse(key, v)?),
            "transactionCheckInterval" => {
                let ms: u64 = parse(key, v)?;
                if ms == 0 {
                    return Err(bad(key, v, "must be positive"));
                }
                self.schedule.transaction_check_interval = Duration::from_millis(ms);
            }
            "transactionCheckMax" => self.schedule.transaction_check_max = parse(key, v)?,
            "rejectTransactionMessage" => self.reject_transaction_message = parse_bool(key, v)?,
            "analyticsHttpPort" => {
                self.analytics_http_port = match v {
                    "" | "-1" => None,
                    _ => Some(parse(key, v)?),
                }
            }
            other => {
                if self.store.set(other, v)? {
                    return Ok(None);
                }
                if ACCEPTED_UNUSED.contains(&other) {
                    return Ok(Some(format!(
                        "{other} is accepted but has no effect in sluice yet"
                    )));
                }
                return Ok(Some(format!("unknown broker.conf key {other:?} ignored")));
            }
        }
        Ok(None)
    }

    /// Reads a broker.conf text on top of `self`; returns the warnings.
    pub fn apply_properties(&mut self, text: &str) -> Result<Vec<String>, BrokerConfigError> {
        let mut warnings = Vec::new();
        for (k, v, line) in crate::config::properties::parse(text)? {
            if let Some(w) = self.set(&k, &v)? {
                warnings.push(format!("line {line}: {w}"));
            }
        }
        Ok(warnings)
    }

    /// The HA listener's port: `haListenPort`, else `listenPort + 1` (protocol.md §9.0 item 6).
    pub fn ha_port(&self) -> u16 {
        self.ha_listen_port
            .unwrap_or_else(|| self.listen_port.wrapping_add(1))
    }

    /// The address clients reach this broker at (`brokerIP1:listenPort`).
    pub fn broker_addr(&self) -> SocketAddr {
        SocketAddr::new(self.broker_ip1, self.listen_port)
    }
}

/// Splits `a;b` NameServer lists.
pub fn split_addrs(s: &str) -> Vec<String> {
    s.split(';')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_conf() {
        let mut c = BrokerConfig::default();
        let w = c
            .apply_properties(
                "brokerClusterName=C\nbrokerName=b\nbrokerId=0\nlistenPort=20911\nnamesrvAddr=127.0.0.1:9876;127.0.0.2:9876\n\
                 flushDiskType=SYNC_FLUSH\nmappedFileSizeCommitLog=1048576\nfooBar=1\naclEnable=false\n",
            )
            .unwrap();
        assert_eq!(c.listen_port, 20911);
        assert_eq!(c.namesrv_addr.len(), 2);
        assert_eq!(c.store.flush_disk_type, sluice_storage::FlushDiskType::SyncFlush);
        assert_eq!(c.store.mapped_file_size_commit_log, 1 << 20);
        assert_eq!(w.len(), 2);
        assert!(w[0].contains("fooBar"));
        assert!(c.apply_properties("listenPort=many").is_err());
        assert!(c.apply_properties("flushDiskType=NEVER").is_err());
        c.apply_properties("transactionTimeOut=1000\ntransactionCheckInterval=2000\ntransactionCheckMax=3\nmessageDelayLevel=1s 2s")
            .unwrap();
        assert_eq!(c.schedule.transaction_timeout, Duration::from_secs(1));
        assert_eq!(c.schedule.transaction_check_interval, Duration::from_secs(2));
        assert_eq!(c.schedule.transaction_check_max, 3);
        assert_eq!(c.store.max_delay_level(), 2);
        assert!(c.apply_properties("transactionCheckInterval=0").is_err());
    }
}
