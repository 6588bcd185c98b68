//! NameServer settings, read from a Java `.properties` file (RocketMQ's `namesrv.properties`,
//! passed with `-c`). Keys are RocketMQ's NamesrvConfig / NettyServerConfig names.
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `listenPort` | 9876 | TCP port (0 = any free port) |
//! | `bindAddress` | `0.0.0.0` | local address to listen on (5.x NettyServerConfig) |
//! | `kvConfigPath` | none | KV config file (`{"configTable":{…}}`); unset = in memory only |
//! | `scanNotActiveBrokerInterval` | 5000 | ms between broker expiry scans (5.x) |
//! | `brokerChannelExpiredTime` | 120000 | ms of silence after which a broker is dropped (sluice; Java hard-codes 120 s) |
//! | `orderMessageEnable` | false | add `orderTopicConf` (KV namespace `ORDER_TOPIC_CONFIG`) to routes |
//! | `returnOrderTopicConfigToBroker` | true | answer REGISTER_BROKER with that namespace |
//! | `configBlackList` | `configBlackList;configStorePath;kvConfigPath` | keys UPDATE_NAMESRV_CONFIG may not change |
//! | `enableControllerInNamesrv` | false | also run a controller in this process (RocketMQ 5.x), configured by the controller keys of this file (`controllerDLeger*`, `controllerStorePath`, …; see `sluice_controller::config`) |
//!
//! Other RocketMQ settings (thread pools, socket buffers, …) are accepted with a warning that
//! they have no effect; unknown keys are accepted with a warning. A value that does not parse
//! is an error naming the key.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use crate::config::properties::{self, PropertiesError};

/// The NameServer's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamesrvConfig {
    /// `listenPort`.
    pub listen_port: u16,
    /// `bindAddress`.
    pub bind_address: IpAddr,
    /// `kvConfigPath`: where KV config is persisted; `None` keeps it in memory only.
    pub kv_config_path: Option<PathBuf>,
    /// `brokerChannelExpiredTime`: brokers silent for longer are dropped (unless their
    /// registration carried `heartbeatTimeoutMillis`).
    pub broker_expiry: Duration,
    /// `scanNotActiveBrokerInterval`.
    pub scan_interval: Duration,
    /// `orderMessageEnable`.
    pub order_message_enable: bool,
    /// `returnOrderTopicConfigToBroker`.
    pub return_order_topic_config_to_broker: bool,
    /// `configBlackList` (`;`-separated).
    pub config_black_list: Vec<String>,
    /// `enableControllerInNamesrv`.
    pub enable_controller: bool,
    /// The controller keys of the file (key, value, line), for the embedded controller.
    pub controller_entries: Vec<(String, String, usize)>,
    /// `aclEnable` (sluice's; RocketMQ's NameServer has no ACL): write requests (register and
    /// unregister broker, delete topic, KV config, write permission, config updates) need an
    /// admin account of the ACL files under `rocketmqHome` (signed, or from a whitelisted
    /// address).
    pub acl_enable: bool,
    /// `rocketmqHome` (else `$ROCKETMQ_HOME`): where `conf/plain_acl.yml` is.
    pub rocketmq_home: Option<PathBuf>,
}

impl Default for NamesrvConfig {
    fn default() -> Self {
        NamesrvConfig {
            listen_port: 9876,
            bind_address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            kv_config_path: None,
            broker_expiry: Duration::from_secs(120),
            scan_interval: Duration::from_secs(5),
            order_message_enable: false,
            return_order_topic_config_to_broker: true,
            config_black_list: ["configBlackList", "configStorePath", "kvConfigPath"]
                .map(String::from)
                .to_vec(),
            enable_controller: false,
            controller_entries: Vec::new(),
            acl_enable: false,
            rocketmq_home: None,
        }
    }
}

/// Why a NameServer configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum NamesrvConfigError {
    #[error("namesrv config: {0}")]
    Properties(#[from] PropertiesError),
    #[error("namesrv config, line {line}: `{key}` = {value:?} is not {expected}")]
    BadValue {
        key: String,
        value: String,
        expected: &'static str,
        line: usize,
    },
}

/// What [`NamesrvConfig::set`] did with a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// A sluice setting, now changed.
    Set,
    /// A RocketMQ setting sluice has no use for.
    Ignored,
    /// Not a NameServer setting at all.
    Unknown,
}

/// RocketMQ NameServer (NamesrvConfig, NettyServerConfig, NettyClientConfig) keys that have no
/// meaning here.
const IGNORED_KEYS: &[&str] = &[
    "configStorePath",
    "productEnvName",
    "clusterTest",
    "clientRequestThreadPoolNums",
    "defaultThreadPoolNums",
    "clientRequestThreadPoolQueueCapacity",
    "defaultThreadPoolQueueCapacity",
    "unRegisterBrokerQueueCapacity",
    "supportActingMaster",
    "enableAllTopicList",
    "enableTopicList",
    "notifyMinBrokerIdChanged",
    "needWaitForService",
    "waitSecondsForService",
    "deleteTopicWithBrokerRegistration",
    "serverWorkerThreads",
    "serverCallbackExecutorThreads",
    "serverSelectorThreads",
    "serverOnewaySemaphoreValue",
    "serverAsyncSemaphoreValue",
    "serverChannelMaxIdleTimeSeconds",
    "serverSocketSndBufSize",
    "serverSocketRcvBufSize",
    "serverSocketBacklog",
    "writeBufferHighWaterMark",
    "writeBufferLowWaterMark",
    "serverPooledByteBufAllocatorEnable",
    "useEpollNativeSelector",
    "enableShutdownGracefully",
    "shutdownWaitTimeSeconds",
    "clientWorkerThreads",
    "clientCallbackExecutorThreads",
    "clientOnewaySemaphoreValue",
    "clientAsyncSemaphoreValue",
    "connectTimeoutMillis",
    "channelNotActiveInterval",
    "clientChannelMaxIdleTimeSeconds",
    "clientSocketSndBufSize",
    "clientSocketRcvBufSize",
    "clientPooledByteBufAllocatorEnable",
    "clientCloseSocketIfTimeout",
    "useTLS",
];

fn bad(key: &str, value: &str, expected: &'static str) -> NamesrvConfigError {
    NamesrvConfigError::BadValue {
        key: key.to_owned(),
        value: value.to_owned(),
        expected,
        line: 0,
    }
}

fn parse_bool(key: &str, value: &str) -> Result<bool, NamesrvConfigError> {
    if value.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(bad(key, value, "true or false"))
    }
}

fn parse_millis(key: &str, value: &str) -> Result<Duration, NamesrvConfigError> {
    match value.parse::<u64>() {
        Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
        _ => Err(bad(key, value, "a positive number of milliseconds")),
    }
}

/// Escapes a value for a properties file (backslash, line breaks, leading blanks).
fn escape_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for (i, c) in v.chars().enumerate() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            ' ' if i == 0 => out.push_str("\\ "),
            c => out.push(c),
        }
    }
    out
}

impl NamesrvConfig {
    /// Reads a properties text over the defaults. Returns the config and one warning per key
    /// that was ignored.
    pub fn from_properties(text: &str) -> Result<(Self, Vec<String>), NamesrvConfigError> {
        let mut config = NamesrvConfig::default();
        let warnings = config.apply_properties(text)?;
        Ok((config, warnings))
    }

    /// Applies a properties text to this config (later keys win). Returns warnings for
    /// ignored keys; on error nothing is changed.
    pub fn apply_properties(&mut self, text: &str) -> Result<Vec<String>, NamesrvConfigError> {
        let mut next = self.clone();
        let mut warnings = Vec::new();
        for (key, value, line) in properties::parse(text)? {
            if sluice_controller::config::is_controller_key(&key) {
                next.controller_entries.retain(|(k, _, _)| *k != key);
                next.controller_entries.push((key, value, line));
                continue;
            }
            match next.set(&key, &value) {
                Ok(Applied::Set) => {}
                Ok(Applied::Ignored) => warnings.push(format!(
                    "line {line}: `{key}` is a RocketMQ NameServer setting that sluice does not use; ignored"
                )),
                Ok(Applied::Unknown) => warnings.push(format!("line {line}: unknown key `{key}` ignored")),
                Err(NamesrvConfigError::BadValue {
                    key, value, expected, ..
                }) => {
                    return Err(NamesrvConfigError::BadValue {
                        key,
                        value,
                        expected,
                        line,
                    })
                }
                Err(e) => return Err(e),
            }
        }
        *self = next;
        Ok(warnings)
    }

    /// Sets one key (value trimmed). Errors name the key; the reported line is 0.
    pub fn set(&mut self, key: &str, value: &str) -> Result<Applied, NamesrvConfigError> {
        let value = value.trim();
        match key {
            "listenPort" => {
                self.listen_port = value
                    .parse()
                    .map_err(|_| bad(key, value, "a port number (0-65535)"))?;
            }
            "bindAddress" => {
                self.bind_address = value.parse().map_err(|_| bad(key, value, "an IP address"))?;
            }
            "kvConfigPath" => {
                self.kv_config_path = (!value.is_empty()).then(|| PathBuf::from(value));
            }
            "scanNotActiveBrokerInterval" => self.scan_interval = parse_millis(key, value)?,
            "brokerChannelExpiredTime" => self.broker_expiry = parse_millis(key, value)?,
            "orderMessageEnable" => self.order_message_enable = parse_bool(key, value)?,
            "enableControllerInNamesrv" => self.enable_controller = parse_bool(key, value)?,
            "returnOrderTopicConfigToBroker" => {
                self.return_order_topic_config_to_broker = parse_bool(key, value)?;
            }
            "aclEnable" => self.acl_enable = parse_bool(key, value)?,
            "rocketmqHome" => self.rocketmq_home = (!value.is_empty()).then(|| PathBuf::from(value)),
            "configBlackList" => {
                self.config_black_list = value
                    .split(';')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect();
            }
            k if IGNORED_KEYS.contains(&k) => return Ok(Applied::Ignored),
            _ => return Ok(Applied::Unknown),
        }
        Ok(Applied::Set)
    }

    /// The effective settings as a properties text, one `key=value` line each, sorted by key
    /// (the GET_NAMESRV_CONFIG body).
    pub fn to_properties(&self) -> String {
        let mut entries = vec![
            ("bindAddress", self.bind_address.to_string()),
            (
                "brokerChannelExpiredTime",
                self.broker_expiry.as_millis().to_string(),
            ),
            ("configBlackList", self.config_black_list.join(";")),
            (
                "kvConfigPath",
                self.kv_config_path
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            ),
            ("enableControllerInNamesrv", self.enable_controller.to_string()),
            ("listenPort", self.listen_port.to_string()),
            ("orderMessageEnable", self.order_message_enable.to_string()),
            (
                "returnOrderTopicConfigToBroker",
                self.return_order_topic_config_to_broker.to_string(),
            ),
            (
                "scanNotActiveBrokerInterval",
                self.scan_interval.as_millis().to_string(),
            ),
        ];
        entries.extend(
            self.controller_entries
                .iter()
                .map(|(k, v, _)| (k.as_str(), v.clone())),
        );
        entries.sort();
        let mut out = String::new();
        for (k, v) in entries {
            let _ = writeln!(out, "{k}={}", escape_value(&v));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let (c, w) = NamesrvConfig::from_properties("").unwrap();
        assert!(w.is_empty());
        assert_eq!(c, NamesrvConfig::default());
        assert_eq!(c.listen_port, 9876);
        assert_eq!(c.broker_expiry, Duration::from_secs(120));
        assert_eq!(c.scan_interval, Duration::from_secs(5));
        assert_eq!(c.kv_config_path, None);
    }

    #[test]
    fn rocketmq_names() {
        let text = "# namesrv.properties\nlistenPort=9877\nbindAddress = 127.0.0.1\n\
                    kvConfigPath=/tmp/ns/kvConfig.json\nscanNotActiveBrokerInterval=10000\n\
                    orderMessageEnable=TRUE\nserverWorkerThreads=8\nfooBar=1\n";
        let (c, w) = NamesrvConfig::from_properties(text).unwrap();
        assert_eq!(c.listen_port, 9877);
        assert_eq!(c.bind_address, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(c.kv_config_path, Some(PathBuf::from("/tmp/ns/kvConfig.json")));
        assert_eq!(c.scan_interval, Duration::from_secs(10));
        assert!(c.order_message_enable);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].contains("serverWorkerThreads") && w[0].contains("line 7"));
        assert!(w[1].contains("unknown key `fooBar`"));
    }

    #[test]
    fn bad_values_name_the_key() {
        for (text, key) in [
            ("listenPort=70000", "listenPort"),
            ("\n\nlistenPort=abc", "listenPort"),
            ("bindAddress=localhost", "bindAddress"),
            ("scanNotActiveBrokerInterval=0", "scanNotActiveBrokerInterval"),
            ("orderMessageEnable=yes", "orderMessageEnable"),
        ] {
            let err = NamesrvConfig::from_properties(text).unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains(&format!("`{key}`")), "{msg}");
        }
        let err = NamesrvConfig::from_properties("\n\nlistenPort=abc").unwrap_err();
        assert!(err.to_string().contains("line 3"), "{err}");
        assert!(NamesrvConfig::from_properties("a=\\uZZZZ").is_err());
    }

    #[test]
    fn failed_apply_changes_nothing_and_round_trips() {
        let mut c = NamesrvConfig::default();
        assert!(c
            .apply_properties("listenPort=1\norderMessageEnable=maybe")
            .is_err());
        assert_eq!(c, NamesrvConfig::default());
        c.kv_config_path = Some(PathBuf::from("C:\\ns\\kv.json"));
        c.listen_port = 0;
        let (back, w) = NamesrvConfig::from_properties(&c.to_properties()).unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(back, c);
    }
}
