//! `broker.conf`: RocketMQ's broker property names, the store's settings among them.
//!
//! Addresses: the broker listens on `bindAddress` (RocketMQ 5.x's key; default `0.0.0.0`, every
//! interface) — its main port `listenPort`, the VIP port `listenPort − 2` and the HA port
//! ([`BrokerConfig::ha_port`]) — and tells the NameServers it is reachable at
//! `brokerIP1:listenPort` (default: this host's first non-loopback IPv4 address,
//! [`crate::config::host::local_ipv4`]) with its HA listener at `brokerIP2:haPort` (default
//! `brokerIP2` = `brokerIP1`).

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
    /// `brokerIP1`: the address clients are told (routes, offsetMsgIds).
    pub broker_ip1: IpAddr,
    /// `brokerIP2`: the address slaves are told for the HA listener; `None` = `brokerIP1`.
    pub broker_ip2: Option<IpAddr>,
    /// `bindAddress`: the local address every listener binds (default `0.0.0.0`).
    pub bind_address: IpAddr,
    /// NameServer addresses (`namesrvAddr`, `;`-separated).
    pub namesrv_addr: Vec<String>,
    pub listen_port: u16,
    /// `haListenPort`: the HA (replication) listener; `None` = `listenPort + 1`.
    pub ha_listen_port: Option<u16>,
    pub auto_create_topic_enable: bool,
    pub auto_create_subscription_group: bool,
    pub default_topic_queue_nums: u32,
    pub broker_permission: i32,
    /// `brokerRole`.
    pub broker_role: BrokerRole,
    /// Replication (master/slave, protocol.md §9.1): `haMasterAddress`, `slaveTimeout`,
    /// `haSlaveFallbehindMax`, `haSendHeartbeatInterval`, `haHousekeepingInterval`,
    /// `haTransferBatchSize`.
    pub ha: HaConfig,
    pub long_polling_enable: bool,
    pub short_polling_time_mills: u64,
    /// `slaveReadEnable`: a master answers a pull whose consumer is further behind than
    /// `accessMessageInMemoryMaxRatio` of memory with the group's `whichBrokerWhenConsumeSlowly`
    /// (default 1) as `suggestWhichBrokerId`, as 4.9 does (sluice's slaves serve pulls either way).
    pub slave_read_enable: bool,
    /// `enablePropertyFilter`: SQL92 subscriptions are served (else refused, as 4.9 does).
    pub enable_property_filter: bool,
    /// `traceTopicEnable`: the broker creates the message-trace topic at start (clients with
    /// `enableMsgTrace` send their trace records there; else they need auto-creation).
    pub trace_topic_enable: bool,
    /// `msgTraceTopicName` (default `RMQ_SYS_TRACE_TOPIC`).
    pub msg_trace_topic_name: String,
    /// `filterSupportRetry`: a `%RETRY%` pull applies the group's SQL92 filter of the
    /// message's original topic (else retries are delivered unfiltered, as in 4.9).
    pub filter_support_retry: bool,
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
    /// `dashboardPort`: the web dashboard on `bindAddress:<port>` (off unless set; 0 = any).
    pub dashboard_port: Option<u16>,
    /// The broker.conf this config was read from: UPDATE_BROKER_CONFIG writes live changes back
    /// to it (as Java brokers rewrite theirs).
    pub config_file: Option<PathBuf>,
    /// ACL 1.0: `aclEnable`, `rocketmqHome`, and the broker's own `accessKey`/`secretKey`.
    pub acl: AclSettings,
    /// ACL 2.0: `authenticationEnabled`, `authorizationEnabled` and their keys.
    pub auth: crate::auth::AuthSettings,
    /// Values given for [`FIXED_PATHS`] keys, checked by [`BrokerConfig::check_placement`] once
    /// `storePathRootDir` is final.
    pub fixed_paths: Vec<(&'static str, PathBuf)>,
    /// `metricsExporterType`: DISABLE (default) or PROM; RocketMQ's other values are refused.
    pub metrics_exporter_type: crate::broker::metrics::ExporterType,
    /// `metricsPromExporterHost`: where `/metrics` listens (blank: `bindAddress`).
    pub metrics_prom_exporter_host: Option<IpAddr>,
    /// `metricsPromExporterPort` (5557; 0: any free port).
    pub metrics_prom_exporter_port: u16,
    /// Controller mode (`enableControllerMode`, RocketMQ 5.x): the role comes from the
    /// controllers, not `brokerRole` ([`crate::broker::controlled`]).
    pub controller: ControllerMode,
}

/// Controller mode's settings (5.x names and defaults), and what the supervisor sets for one
/// run of the broker in the role the controller gave it.
#[derive(Debug, Clone)]
pub struct ControllerMode {
    /// `enableControllerMode`.
    pub enable: bool,
    /// `controllerAddr` (`;`-separated).
    pub controller_addr: Vec<String>,
    /// `controllerHeartBeatTimeoutMills` (10 s): how long the controllers wait for a heartbeat.
    pub heartbeat_timeout: Duration,
    /// `brokerHeartbeatInterval` (1 s).
    pub heartbeat_interval: Duration,
    /// `syncBrokerMetadataPeriod` (5 s): how often the broker asks who the master is (the
    /// controller's NOTIFY_BROKER_ROLE_CHANGED usually tells it sooner).
    pub sync_broker_metadata_period: Duration,
    /// `checkSyncStateSetPeriod` (5 s): how often a master reconsiders its SyncStateSet (and at
    /// once when a slave connects, catches up or goes).
    pub check_sync_state_set_period: Duration,
    /// `haMaxTimeSlaveNotCatchup` (15 s): a slave not caught up this long leaves the set.
    pub max_time_slave_not_catchup: Duration,
    /// `brokerElectionPriority` (lower is preferred; 5.x default `Integer.MAX_VALUE`).
    pub election_priority: i32,
    /// `inSyncReplicas` / `minInSyncReplicas` (1): a put needs at least this many in-sync
    /// replicas (the master counts). Every member of the set acks each put (below).
    pub in_sync_replicas: usize,
    pub min_in_sync_replicas: usize,
    /// `allAckInSyncStateSet`: sluice always waits for every member of the SyncStateSet, the
    /// behaviour of `true`; `false` is accepted and made that strong (a stronger guarantee, said
    /// at start), because with one ack of several the controller, electing on offsets that
    /// heartbeats report a second late, may pick a replica without an acknowledged message.
    pub all_ack_in_sync_state_set: bool,
    /// Set by the supervisor for one run: this broker's controller id, the master epoch, and
    /// where the run reports what only the supervisor can act on.
    pub run: Option<crate::broker::controlled::RunContext>,
}

impl Default for ControllerMode {
    fn default() -> Self {
        ControllerMode {
            enable: false,
            controller_addr: Vec::new(),
            heartbeat_timeout: Duration::from_millis(10_000),
            heartbeat_interval: Duration::from_millis(1000),
            sync_broker_metadata_period: Duration::from_millis(5000),
            check_sync_state_set_period: Duration::from_millis(5000),
            max_time_slave_not_catchup: Duration::from_millis(15_000),
            election_priority: i32::MAX,
            in_sync_replicas: 1,
            min_in_sync_replicas: 1,
            all_ack_in_sync_state_set: false,
            run: None,
        }
    }
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
            broker_ip1: IpAddr::V4(crate::config::host::local_ipv4()),
            broker_ip2: None,
            bind_address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            namesrv_addr: Vec::new(),
            listen_port: 10911,
            ha_listen_port: None,
            auto_create_topic_enable: true,
            auto_create_subscription_group: true,
            default_topic_queue_nums: 8,
            broker_permission: 6,
            broker_role: BrokerRole::AsyncMaster,
            ha: HaConfig::default(),
            long_polling_enable: true,
            slave_read_enable: false,
            enable_property_filter: false,
            filter_support_retry: false,
            trace_topic_enable: false,
            msg_trace_topic_name: sluice_remoting::trace::DEFAULT_TOPIC.into(),
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
            dashboard_port: None,
            config_file: None,
            fixed_paths: Vec::new(),
            acl: AclSettings::default(),
            auth: crate::auth::AuthSettings::default(),
            metrics_exporter_type: crate::broker::metrics::ExporterType::Disable,
            metrics_prom_exporter_host: None,
            metrics_prom_exporter_port: 5557,
            controller: ControllerMode::default(),
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

/// Keys RocketMQ knows that sluice accepts without acting on them: each only tunes performance
/// or names things, so ignoring it weakens no guarantee (a warning says so).
const ACCEPTED_UNUSED: &[&str] = &[
    // Listeners and thread pools.
    "fastListenPort",
    "sendMessageThreadPoolNums",
    "pullMessageThreadPoolNums",
    "useReentrantLockWhenPutMessage",
    "waitTimeMillsInSendQueue",
    // Off-heap write buffer: sluice's appends are at least as durable without it.
    "transientStorePoolEnable",
    // 5.x: the group's size, informational (the SyncStateSet is what counts).
    "totalReplicas",
    // DLedger's own settings: inert unless enableDLegerCommitLog=true, which is refused.
    "dLegerGroup",
    "dLegerPeers",
    "dLegerSelfId",
    // Message trace topic (a client feature; the topic is auto-created like any other).
    "traceTopicEnable",
    "msgTraceTopicName",
    "enablePropertyFilter",
];

/// Keys that change a guarantee (security, durability, replication, placement) that sluice does
/// not implement: accepted only with the value that keeps RocketMQ's default behaviour, refused
/// at start otherwise, naming the key.
const REFUSED_UNLESS: &[(&str, &str, &str)] = &[
    (
        "enableDLegerCommitLog",
        "false",
        "DLedger (Raft) CommitLog replication is not implemented; use brokerRole master/slave replication",
    ),
    (
        "enableSlaveActingMaster",
        "false",
        "slave acting master (5.x) is not implemented",
    ),
    (
        "enableAutoInSyncReplicas",
        "false",
        "automatic in-sync replica sets (5.x) are not implemented",
    ),
    (
        "duplicationEnable",
        "false",
        "slave duplication mode is not implemented",
    ),
    ("enableLmq", "false", "light message queues are not implemented"),
    (
        "enableMultiDispatch",
        "false",
        "multi-dispatch into further queues is not implemented",
    ),
    (
        "migrateAuthFromV1Enabled",
        "false",
        "importing plain_acl.yml into ACL 2.0 is not implemented; create the users and ACLs with `sluice admin createUser/createAcl`",
    ),
];

/// Store paths RocketMQ lets point elsewhere that sluice keeps under `storePathRootDir`: a value
/// other than the default place is refused at start ([`BrokerConfig::check_placement`]).
/// (`storePathCommitLog` is implemented by the store.)
const FIXED_PATHS: &[(&str, &str)] = &[
    ("storePathConsumeQueue", "consumequeue"),
    ("storePathIndex", "index"),
    ("storeCheckpoint", "checkpoint"),
    ("abortFile", "abort"),
];

impl BrokerConfig {
    /// Applies one property. Unknown keys come back as warnings, bad values as errors.
    pub fn set(&mut self, key: &str, value: &str) -> Result<Option<String>, BrokerConfigError> {
        let v = value.trim();
        match key {
            "brokerClusterName" => self.broker_cluster_name = v.into(),
            "brokerName" => self.broker_name = v.into(),
            "brokerId" => self.broker_id = parse(key, v)?,
            "brokerIP1" => self.broker_ip1 = parse_ip(key, v)?,
            "brokerIP2" => self.broker_ip2 = Some(parse_ip(key, v)?),
            "bindAddress" => self.bind_address = parse_ip(key, v)?,
            "namesrvAddr" => self.namesrv_addr = split_addrs(v),
            "listenPort" => self.listen_port = parse(key, v)?,
            "haListenPort" => self.ha_listen_port = Some(parse(key, v)?),
            "slaveReadEnable" => self.slave_read_enable = parse_bool(key, v)?,
            "enableControllerMode" => self.controller.enable = parse_bool(key, v)?,
            "controllerAddr" => self.controller.controller_addr = split_addrs(v),
            "fetchControllerAddrByDnsLookup" => {
                if parse_bool(key, v)? {
                    return Err(bad(
                        key,
                        v,
                        "looking the controllers up in DNS is not implemented; list them in controllerAddr",
                    ));
                }
            }
            "controllerHeartBeatTimeoutMills" => {
                self.controller.heartbeat_timeout = Duration::from_millis(positive(key, v)?)
            }
            "brokerHeartbeatInterval" => {
                self.controller.heartbeat_interval = Duration::from_millis(positive(key, v)?)
            }
            "syncBrokerMetadataPeriod" => {
                self.controller.sync_broker_metadata_period = Duration::from_millis(positive(key, v)?)
            }
            "checkSyncStateSetPeriod" => {
                self.controller.check_sync_state_set_period = Duration::from_millis(positive(key, v)?)
            }
            "haMaxTimeSlaveNotCatchup" => {
                self.controller.max_time_slave_not_catchup = Duration::from_millis(positive(key, v)?)
            }
            "brokerElectionPriority" => self.controller.election_priority = parse(key, v)?,
            "inSyncReplicas" => self.controller.in_sync_replicas = replicas(key, v)?,
            "minInSyncReplicas" => self.controller.min_in_sync_replicas = replicas(key, v)?,
            "allAckInSyncStateSet" => self.controller.all_ack_in_sync_state_set = parse_bool(key, v)?,
            "aclEnable" => self.acl.enable = parse_bool(key, v)?,
            "authenticationEnabled" => self.auth.authentication = parse_bool(key, v)?,
            "authorizationEnabled" => self.auth.authorization = parse_bool(key, v)?,
            "authenticationWhitelist" => self.auth.authentication_whitelist = parse_codes(key, v)?,
            "authorizationWhitelist" => self.auth.authorization_whitelist = parse_codes(key, v)?,
            "initAuthenticationUser" => {
                self.auth.init_user = parse_credentials(key, v, "username", "password")?
            }
            "innerClientAuthenticationCredentials" => {
                self.auth.inner_credentials = parse_credentials(key, v, "accessKey", "secretKey")?
            }
            "authenticationProvider"
            | "authenticationMetadataProvider"
            | "authorizationProvider"
            | "authorizationMetadataProvider" => {
                // Java class names: only RocketMQ's defaults are what sluice implements.
                if !v.is_empty() && !AUTH_DEFAULT_CLASSES.contains(&v) {
                    return Err(bad(
                        key,
                        v,
                        "only RocketMQ's default (local) auth providers are implemented",
                    ));
                }
            }
            "authenticationStrategy" | "authorizationStrategy" => {
                // Stateless and stateful differ only in caching decisions per connection.
                if !v.is_empty() && !AUTH_STRATEGIES.iter().any(|s| v.ends_with(s)) {
                    return Err(bad(key, v, "expected the Stateless or Stateful strategy"));
                }
            }
            "rocketmqHome" => self.acl.rocketmq_home = (!v.is_empty()).then(|| PathBuf::from(v)),
            "accessKey" => self.acl.access_key = (!v.is_empty()).then(|| v.to_owned()),
            "secretKey" => self.acl.secret_key = (!v.is_empty()).then(|| v.to_owned()),
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
            "brokerRole" => {
                self.broker_role = match v {
                    "ASYNC_MASTER" => BrokerRole::AsyncMaster,
                    "SYNC_MASTER" => BrokerRole::SyncMaster,
                    "SLAVE" => BrokerRole::Slave,
                    _ => return Err(bad(key, v, "expected ASYNC_MASTER, SYNC_MASTER or SLAVE")),
                }
            }
            "haMasterAddress" => {
                // As 4.9: shorter than 6 characters means "not set".
                self.ha.master_address = (v.len() >= 6).then(|| v.to_owned());
            }
            "slaveTimeout" => self.ha.slave_timeout = Duration::from_millis(parse(key, v)?),
            "haSlaveFallbehindMax" => self.ha.slave_fallbehind_max = parse(key, v)?,
            "haSendHeartbeatInterval" => {
                self.ha.heartbeat_interval = Duration::from_millis(positive(key, v)?)
            }
            "haHousekeepingInterval" => {
                self.ha.housekeeping_interval = Duration::from_millis(positive(key, v)?)
            }
            "haTransferBatchSize" => {
                let n: usize = parse(key, v)?;
                if !(1024..=16 << 20).contains(&n) {
                    return Err(bad(key, v, "expected 1024–16777216"));
                }
                self.ha.transfer_batch_size = n;
            }
            "longPollingEnable" => self.long_polling_enable = parse_bool(key, v)?,
            "enablePropertyFilter" => self.enable_property_filter = parse_bool(key, v)?,
            "filterSupportRetry" => self.filter_support_retry = parse_bool(key, v)?,
            "traceTopicEnable" => self.trace_topic_enable = parse_bool(key, v)?,
            "msgTraceTopicName" => {
                if v.is_empty() {
                    return Err(bad(key, v, "expected a topic name"));
                }
                self.msg_trace_topic_name = v.to_owned();
            }
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
            "dashboardPort" => {
                self.dashboard_port = match v {
                    "" | "-1" => None,
                    _ => Some(parse(key, v)?),
                }
            }
            "metricsExporterType" => {
                self.metrics_exporter_type =
                    crate::broker::metrics::ExporterType::parse(v).map_err(|reason| bad(key, v, reason))?
            }
            "metricsPromExporterHost" => {
                self.metrics_prom_exporter_host = match v {
                    "" => None,
                    _ => Some(parse_ip(key, v)?),
                }
            }
            "metricsPromExporterPort" => self.metrics_prom_exporter_port = parse(key, v)?,
            other => {
                if self.store.set(other, v)? {
                    return Ok(None);
                }
                if let Some((_, accepted, why)) = REFUSED_UNLESS.iter().find(|(k, _, _)| *k == other) {
                    if !v.eq_ignore_ascii_case(accepted) {
                        return Err(bad(other, v, format!("{why}; only {accepted} is accepted")));
                    }
                    return Ok(None);
                }
                if let Some((key, _)) = FIXED_PATHS.iter().find(|(k, _)| *k == other) {
                    if !v.is_empty() {
                        self.fixed_paths.push((key, PathBuf::from(v)));
                    }
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

    /// Every setting [`BrokerConfig::set`] takes, as `key=value` pairs (GET_BROKER_CONFIG): the
    /// broker's, then the store's.
    pub fn properties(&self) -> Vec<(&'static str, String)> {
        let ms = |d: Duration| d.as_millis().to_string();
        let mut v = vec![
            ("brokerClusterName", self.broker_cluster_name.clone()),
            ("brokerName", self.broker_name.clone()),
            ("brokerId", self.broker_id.to_string()),
            ("brokerIP1", self.broker_ip1.to_string()),
            ("namesrvAddr", self.namesrv_addr.join(";")),
            ("listenPort", self.listen_port.to_string()),
            ("haListenPort", self.ha_port().to_string()),
            ("brokerIP2", self.broker_ip2().to_string()),
            ("autoCreateTopicEnable", self.auto_create_topic_enable.to_string()),
            (
                "autoCreateSubscriptionGroup",
                self.auto_create_subscription_group.to_string(),
            ),
            ("defaultTopicQueueNums", self.default_topic_queue_nums.to_string()),
            ("brokerPermission", self.broker_permission.to_string()),
            ("brokerRole", self.broker_role.as_str().to_owned()),
            (
                "haMasterAddress",
                self.ha.master_address.clone().unwrap_or_default(),
            ),
            ("slaveTimeout", ms(self.ha.slave_timeout)),
            ("haSlaveFallbehindMax", self.ha.slave_fallbehind_max.to_string()),
            ("haSendHeartbeatInterval", ms(self.ha.heartbeat_interval)),
            ("haHousekeepingInterval", ms(self.ha.housekeeping_interval)),
            ("haTransferBatchSize", self.ha.transfer_batch_size.to_string()),
            ("longPollingEnable", self.long_polling_enable.to_string()),
            ("slaveReadEnable", self.slave_read_enable.to_string()),
            ("enablePropertyFilter", self.enable_property_filter.to_string()),
            ("filterSupportRetry", self.filter_support_retry.to_string()),
            ("traceTopicEnable", self.trace_topic_enable.to_string()),
            ("msgTraceTopicName", self.msg_trace_topic_name.clone()),
            ("shortPollingTimeMills", self.short_polling_time_mills.to_string()),
            (
                "registerNameServerPeriod",
                self.register_name_server_period.to_string(),
            ),
            ("transactionTimeOut", ms(self.schedule.transaction_timeout)),
            (
                "transactionCheckInterval",
                ms(self.schedule.transaction_check_interval),
            ),
            (
                "transactionCheckMax",
                self.schedule.transaction_check_max.to_string(),
            ),
            (
                "rejectTransactionMessage",
                self.reject_transaction_message.to_string(),
            ),
            (
                "analyticsHttpPort",
                self.analytics_http_port.map_or("-1".into(), |p| p.to_string()),
            ),
            ("aclEnable", self.acl.enable.to_string()),
            ("authenticationEnabled", self.auth.authentication.to_string()),
            ("authorizationEnabled", self.auth.authorization.to_string()),
            (
                "metricsExporterType",
                self.metrics_exporter_type.as_str().to_owned(),
            ),
            (
                "metricsPromExporterHost",
                self.metrics_prom_exporter_host
                    .map_or(String::new(), |h| h.to_string()),
            ),
            (
                "metricsPromExporterPort",
                self.metrics_prom_exporter_port.to_string(),
            ),
        ];
        v.extend(self.store.properties());
        v
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

    /// Controller mode needs its controllers, and replica counts that fit together.
    pub fn check_controller_mode(&self) -> Result<(), BrokerConfigError> {
        let c = &self.controller;
        if !c.enable {
            // Replica counts only mean something under the controllers: asked for without them
            // they would be a guarantee silently missing.
            let asked = [
                ("inSyncReplicas", c.in_sync_replicas > 1),
                ("minInSyncReplicas", c.min_in_sync_replicas > 1),
                ("allAckInSyncStateSet", c.all_ack_in_sync_state_set),
            ];
            if let Some((key, _)) = asked.iter().find(|(_, set)| *set) {
                return Err(bad(
                    key,
                    "(set)",
                    "takes effect only with enableControllerMode=true; use brokerRole=SYNC_MASTER for a master that waits for its slave",
                ));
            }
            return Ok(());
        }
        if c.controller_addr.is_empty() {
            return Err(bad(
                "controllerAddr",
                "",
                "enableControllerMode=true needs the controllers' addresses",
            ));
        }
        if c.min_in_sync_replicas > c.in_sync_replicas {
            return Err(bad(
                "minInSyncReplicas",
                &c.min_in_sync_replicas.to_string(),
                format!("larger than inSyncReplicas={}", c.in_sync_replicas),
            ));
        }
        Ok(())
    }

    /// Refuses a [`FIXED_PATHS`] key that points anywhere but its default place under
    /// `storePathRootDir` (where sluice keeps it).
    pub fn check_placement(&self) -> Result<(), BrokerConfigError> {
        for (key, path) in &self.fixed_paths {
            let default = FIXED_PATHS
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, name)| self.store.store_path_root_dir.join(name));
            if default.as_deref() != Some(path.as_path()) {
                return Err(bad(
                    key,
                    &path.display().to_string(),
                    format!(
                        "sluice keeps it at {} (under storePathRootDir); another place is not supported",
                        default.unwrap_or_default().display()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Applies 4.9's rules between `brokerRole` and `brokerId`: a master registers as brokerId 0
    /// whatever the file says (returned as a warning); a slave needs a brokerId ≥ 1.
    pub fn check_role(&mut self) -> Result<Option<String>, BrokerConfigError> {
        match self.broker_role {
            BrokerRole::Slave if self.broker_id == 0 => Err(bad(
                "brokerId",
                "0",
                "a SLAVE needs a brokerId of 1 or more (0 is the master's)",
            )),
            BrokerRole::Slave => Ok(None),
            role if self.broker_id != 0 => {
                let was = self.broker_id;
                self.broker_id = 0;
                Ok(Some(format!(
                    "brokerId={was} ignored: a {} registers as brokerId 0",
                    role.as_str()
                )))
            }
            _ => Ok(None),
        }
    }

    /// The HA listener's port: `haListenPort`, else `listenPort + 1` (protocol.md §9.0 item 6).
    ///
    /// Brokers configured before replication existed may have put the analytics listener on
    /// `listenPort + 1`; then the default HA port is `listenPort + 2` (slaves learn it from the
    /// NameServer, so any port serves).
    pub fn ha_port(&self) -> u16 {
        self.ha_listen_port.unwrap_or_else(|| {
            let next = self.listen_port.wrapping_add(1);
            if self.analytics_http_port == Some(next) {
                self.listen_port.wrapping_add(2)
            } else {
                next
            }
        })
    }

    /// The address clients reach this broker at (`brokerIP1:listenPort`).
    pub fn broker_addr(&self) -> SocketAddr {
        SocketAddr::new(self.broker_ip1, self.listen_port)
    }

    /// `brokerIP2`, or `brokerIP1` when it is not set.
    pub fn broker_ip2(&self) -> IpAddr {
        self.broker_ip2.unwrap_or(self.broker_ip1)
    }

    /// The HA address slaves are told (REGISTER_BROKER's `haServerAddr`):
    /// `brokerIP2:haPort`.
    pub fn ha_server_addr(&self) -> SocketAddr {
        SocketAddr::new(self.broker_ip2(), self.ha_port())
    }

    /// Where a listener on `port` binds: `bindAddress:port`.
    pub fn bind_addr(&self, port: u16) -> SocketAddr {
        SocketAddr::new(self.bind_address, port)
    }

    /// A warning when the advertised addresses cannot reach the listeners: `bindAddress` is one
    /// address and `brokerIP1` (or `brokerIP2`) another.
    pub fn address_warning(&self) -> Option<String> {
        if self.bind_address.is_unspecified() {
            return None;
        }
        [("brokerIP1", self.broker_ip1), ("brokerIP2", self.broker_ip2())]
            .into_iter()
            .find(|(_, ip)| *ip != self.bind_address)
            .map(|(key, ip)| {
                format!(
                    "{key}={ip} but the broker listens on bindAddress={} only; \
                     clients told {ip} may not reach it",
                    self.bind_address
                )
            })
    }
}

/// An IP address (`brokerIP1`, `brokerIP2`, `bindAddress`), naming the key when it is not one.
fn parse_ip(key: &str, v: &str) -> Result<IpAddr, BrokerConfigError> {
    v.parse()
        .map_err(|_| bad(key, v, "expected an IP address (a host name is not resolved)"))
}

impl BrokerConfig {
    /// Signs a request the broker itself sends (to NameServers, its master): with
    /// `accessKey`/`secretKey` (ACL 1.0), else `innerClientAuthenticationCredentials` (ACL 2.0).
    pub fn sign_own(&self, cmd: &mut sluice_remoting::RemotingCommand) {
        let creds = self.acl.credentials().or_else(|| {
            self.auth
                .inner_credentials
                .as_ref()
                .map(|(a, s)| (a.as_str(), s.as_str()))
        });
        if let Some((ak, sk)) = creds {
            sluice_remoting::acl::sign(cmd, ak, sk);
        }
    }
}

/// The Java classes 5.3 uses for ACL 2.0 by default (what sluice implements).
const AUTH_DEFAULT_CLASSES: &[&str] = &[
    "org.apache.rocketmq.auth.authentication.provider.DefaultAuthenticationProvider",
    "org.apache.rocketmq.auth.authentication.provider.LocalAuthenticationMetadataProvider",
    "org.apache.rocketmq.auth.authorization.provider.DefaultAuthorizationProvider",
    "org.apache.rocketmq.auth.authorization.provider.LocalAuthorizationMetadataProvider",
];

const AUTH_STRATEGIES: &[&str] = &[
    "StatelessAuthenticationStrategy",
    "StatefulAuthenticationStrategy",
    "StatelessAuthorizationStrategy",
    "StatefulAuthorizationStrategy",
];

/// A comma-separated list of request codes (`authenticationWhitelist`).
fn parse_codes(key: &str, v: &str) -> Result<Vec<i32>, BrokerConfigError> {
    v.split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| {
            c.parse()
                .map_err(|_| bad(key, v, "expected request codes separated by commas"))
        })
        .collect()
}

/// A JSON object with two string fields (`{"username":…,"password":…}`); empty is unset.
fn parse_credentials(
    key: &str,
    v: &str,
    name: &str,
    secret: &str,
) -> Result<Option<(String, String)>, BrokerConfigError> {
    if v.is_empty() {
        return Ok(None);
    }
    let json: serde_json::Value = sluice_remoting::body::fastjson::from_slice(v.as_bytes())
        .map_err(|e| bad(key, v, format!("expected a JSON object: {e}")))?;
    let field = |f: &str| {
        json.get(f)
            .and_then(|x| x.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    match (field(name), field(secret)) {
        (Some(n), Some(s)) => Ok(Some((n, s))),
        _ => Err(bad(
            key,
            "(hidden)",
            format!("expected {{\"{name}\":…,\"{secret}\":…}}"),
        )),
    }
}

/// ACL 1.0 settings (protocol.md §8).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AclSettings {
    /// `aclEnable`: every request is authenticated and authorised against the ACL files.
    pub enable: bool,
    /// `rocketmqHome` (else `$ROCKETMQ_HOME`): the ACL files are `conf/plain_acl.yml` and
    /// `conf/acl/*.yml` under it.
    pub rocketmq_home: Option<PathBuf>,
    /// `accessKey` / `secretKey`: the account this broker signs its own requests with (to
    /// NameServers, and a slave's to its master), so that replication works with ACL on.
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
}

impl AclSettings {
    /// The ACL files' home: `rocketmqHome`, else `$ROCKETMQ_HOME`.
    pub fn home(&self) -> Option<PathBuf> {
        self.rocketmq_home
            .clone()
            .or_else(|| std::env::var_os("ROCKETMQ_HOME").map(PathBuf::from))
    }

    /// The credentials to sign outgoing requests with, when both are set.
    pub fn credentials(&self) -> Option<(&str, &str)> {
        Some((self.access_key.as_deref()?, self.secret_key.as_deref()?))
    }
}

/// `brokerRole`: what this broker is in its master/slave group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerRole {
    /// Acks once stored here; slaves catch up (lag measured, not waited for).
    AsyncMaster,
    /// Acks once a slave has the message too (SLAVE_NOT_AVAILABLE / FLUSH_SLAVE_TIMEOUT else).
    SyncMaster,
    /// Replicates a master's CommitLog; refuses sends.
    Slave,
}

impl BrokerRole {
    /// RocketMQ's name.
    pub fn as_str(self) -> &'static str {
        match self {
            BrokerRole::AsyncMaster => "ASYNC_MASTER",
            BrokerRole::SyncMaster => "SYNC_MASTER",
            BrokerRole::Slave => "SLAVE",
        }
    }

    pub fn is_slave(self) -> bool {
        self == BrokerRole::Slave
    }
}

/// Replication settings (RocketMQ 4.9's names and defaults).
#[derive(Debug, Clone)]
pub struct HaConfig {
    /// `haMasterAddress`: the master's HA address, instead of the one the NameServer returns.
    pub master_address: Option<String>,
    /// `slaveTimeout` (3000 ms): how long a SYNC_MASTER put waits for a slave.
    pub slave_timeout: Duration,
    /// `haSlaveFallbehindMax` (256 MiB): a slave further behind cannot take SYNC_MASTER puts.
    pub slave_fallbehind_max: u64,
    /// `haSendHeartbeatInterval` (5000 ms): idle master → heartbeat; slave → report.
    pub heartbeat_interval: Duration,
    /// `haHousekeepingInterval` (20000 ms): a connection silent this long is closed.
    pub housekeeping_interval: Duration,
    /// `haTransferBatchSize` (32 KiB): bytes per transfer.
    pub transfer_batch_size: usize,
}

impl Default for HaConfig {
    fn default() -> Self {
        HaConfig {
            master_address: None,
            slave_timeout: Duration::from_millis(3000),
            slave_fallbehind_max: 256 << 20,
            heartbeat_interval: Duration::from_millis(5000),
            housekeeping_interval: Duration::from_millis(20_000),
            transfer_batch_size: 32 * 1024,
        }
    }
}

fn replicas(key: &str, v: &str) -> Result<usize, BrokerConfigError> {
    let n: usize = parse(key, v)?;
    if !(1..=16).contains(&n) {
        return Err(bad(key, v, "expected 1–16 replicas"));
    }
    Ok(n)
}

fn positive(key: &str, v: &str) -> Result<u64, BrokerConfigError> {
    let n: u64 = parse(key, v)?;
    if n == 0 {
        return Err(bad(key, v, "must be positive"));
    }
    Ok(n)
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
        assert_eq!(w.len(), 1, "{w:?}");
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

    #[test]
    fn acl_2_keys() {
        let mut c = BrokerConfig::default();
        let w = c
            .apply_properties(
                "authenticationEnabled=true\nauthorizationEnabled=true\n\
                 authenticationProvider=org.apache.rocketmq.auth.authentication.provider.DefaultAuthenticationProvider\n\
                 authorizationStrategy=org.apache.rocketmq.auth.authorization.strategy.StatefulAuthorizationStrategy\n\
                 authenticationWhitelist=10, 310\n\
                 initAuthenticationUser={\"username\":\"rocketmq\",\"password\":\"12345678\"}\n\
                 innerClientAuthenticationCredentials={'accessKey':'inner','secretKey':'s3'}\n",
            )
            .unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert!(c.auth.authentication && c.auth.authorization);
        assert_eq!(c.auth.authentication_whitelist, [10, 310]);
        assert_eq!(c.auth.init_user, Some(("rocketmq".into(), "12345678".into())));
        assert_eq!(c.auth.inner_credentials, Some(("inner".into(), "s3".into())));
        let mut cmd = sluice_remoting::RemotingCommand::request(103);
        c.sign_own(&mut cmd);
        assert_eq!(
            cmd.ext("AccessKey"),
            Some("inner"),
            "the broker signs as its inner user"
        );
        assert!(c
            .apply_properties("initAuthenticationUser={\"username\":\"x\"}\n")
            .is_err());
        assert!(c.apply_properties("authenticationWhitelist=abc\n").is_err());
        let e = c
            .apply_properties("authorizationProvider=com.example.Mine\n")
            .unwrap_err();
        assert!(e.to_string().starts_with("authorizationProvider"), "{e}");
    }

    #[test]
    fn guarantee_keys_fail_closed() {
        // Refused unless they keep RocketMQ's default behaviour; the error names the key.
        for (key, value) in [
            ("enableDLegerCommitLog", "true"),
            ("enableSlaveActingMaster", "true"),
            ("duplicationEnable", "true"),
            ("enableLmq", "true"),
            ("enableMultiDispatch", "true"),
            ("migrateAuthFromV1Enabled", "true"),
            ("enableAutoInSyncReplicas", "true"),
        ] {
            let mut c = BrokerConfig::default();
            let err = c.apply_properties(&format!("{key}={value}\n")).unwrap_err();
            assert!(err.to_string().starts_with(key), "{key}: {err}");
            let w = c.apply_properties(&format!("{key}=false\n")).unwrap();
            assert!(w.is_empty(), "{key}=false is the default: {w:?}");
        }
        // Store paths: the CommitLog may move; the others must stay where sluice keeps them.
        let mut c = BrokerConfig::default();
        let w = c
            .apply_properties(
                "storePathRootDir=/data/s\nstorePathCommitLog=/fast/commitlog\n\
                 storePathConsumeQueue=/data/s/consumequeue\nstorePathIndex=/data/s/index\n\
                 storeCheckpoint=/data/s/checkpoint\nabortFile=/data/s/abort\n",
            )
            .unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(c.store.commit_log_dir(), PathBuf::from("/fast/commitlog"));
        c.check_placement().unwrap();
        for key in [
            "storePathConsumeQueue",
            "storePathIndex",
            "storeCheckpoint",
            "abortFile",
        ] {
            let mut c = BrokerConfig::default();
            c.apply_properties(&format!("{key}=/elsewhere/x\nstorePathRootDir=/data/s\n"))
                .unwrap();
            let err = c.check_placement().unwrap_err();
            assert!(err.to_string().starts_with(key), "{err}");
        }
        // The old spelling of the segment sizes, and the CRC check on recovery.
        let mut c = BrokerConfig::default();
        c.apply_properties(
            "mapedFileSizeCommitLog=2097152\nmapedFileSizeConsumeQueue=6000\ncheckCRCOnRecover=false\n",
        )
        .unwrap();
        assert_eq!(c.store.mapped_file_size_commit_log, 2 << 20);
        assert_eq!(c.store.mapped_file_size_consume_queue, 6000);
        assert!(!c.store.check_crc_on_recover);
        // Performance-only keys stay warnings.
        let w = c
            .apply_properties("sendMessageThreadPoolNums=4\ntransientStorePoolEnable=true\n")
            .unwrap();
        assert_eq!(w.len(), 2, "{w:?}");
    }

    #[test]
    fn metrics_keys_are_honoured_or_refused() {
        let mut c = BrokerConfig::default();
        assert_eq!(
            c.metrics_exporter_type,
            crate::broker::metrics::ExporterType::Disable
        );
        assert_eq!(c.metrics_prom_exporter_port, 5557);
        c.apply_properties(
            "metricsExporterType=PROM\nmetricsPromExporterHost=127.0.0.1\nmetricsPromExporterPort=0\n",
        )
        .unwrap();
        assert_eq!(
            c.metrics_exporter_type,
            crate::broker::metrics::ExporterType::Prom
        );
        assert_eq!(
            c.metrics_prom_exporter_host,
            Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
        );
        assert_eq!(c.metrics_prom_exporter_port, 0);
        let err = c
            .apply_properties("metricsExporterType=OTLP_GRPC")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("metricsExporterType") && err.contains("PROM"),
            "{err}"
        );
        assert!(c
            .properties()
            .contains(&("metricsExporterType", "PROM".to_owned())));
    }

    #[test]
    fn roles_and_broker_ids_follow_4_9() {
        let mut c = BrokerConfig::default();
        c.apply_properties("brokerRole=SLAVE\nbrokerId=0\n").unwrap();
        assert!(c.check_role().is_err(), "a slave needs brokerId >= 1");
        c.apply_properties("brokerId=2\nhaMasterAddress=10.0.0.1:10912\nslaveTimeout=500\n")
            .unwrap();
        assert_eq!(c.check_role().unwrap(), None);
        assert_eq!(c.broker_role, BrokerRole::Slave);
        assert_eq!(c.ha.master_address.as_deref(), Some("10.0.0.1:10912"));
        assert_eq!(c.ha.slave_timeout, Duration::from_millis(500));
        let mut m = BrokerConfig::default();
        m.apply_properties("brokerRole=SYNC_MASTER\nbrokerId=3\nhaMasterAddress=x\n")
            .unwrap();
        let warning = m.check_role().unwrap().unwrap();
        assert!(warning.contains("brokerId=3"), "{warning}");
        assert_eq!(m.broker_id, 0);
        assert_eq!(
            m.ha.master_address, None,
            "shorter than 6 characters is unset, as in 4.9"
        );
        assert!(m.apply_properties("brokerRole=MASTER").is_err());
        m.apply_properties("slaveReadEnable=true").unwrap();
        assert!(m.slave_read_enable);
        let mut c = BrokerConfig::default();
        c.apply_properties("enableControllerMode=true\n").unwrap();
        let err = c.check_controller_mode().unwrap_err();
        assert!(err.to_string().starts_with("controllerAddr"), "{err}");
        let w = c
            .apply_properties(
                "controllerAddr=127.0.0.1:9878;127.0.0.1:9868\ninSyncReplicas=2\nallAckInSyncStateSet=true\n",
            )
            .unwrap();
        assert!(w.is_empty(), "{w:?}");
        c.check_controller_mode().unwrap();
        assert_eq!(c.controller.controller_addr.len(), 2);
        assert!(c.apply_properties("inSyncReplicas=0").is_err());
        let mut plain = BrokerConfig::default();
        plain.apply_properties("inSyncReplicas=2\n").unwrap();
        let err = plain.check_controller_mode().unwrap_err();
        assert!(err.to_string().starts_with("inSyncReplicas"), "{err}");
        assert!(c.apply_properties("fetchControllerAddrByDnsLookup=true").is_err());
        m.apply_properties("slaveReadEnable=false\nlistenPort=10911\n")
            .unwrap();
        assert_eq!(m.ha_port(), 10912);
        m.apply_properties("analyticsHttpPort=10912\n").unwrap();
        assert_eq!(m.ha_port(), 10913, "the analytics listener keeps listenPort + 1");
        assert!(m.apply_properties("haSendHeartbeatInterval=0").is_err());
    }

    #[test]
    fn addresses() {
        let mut c = BrokerConfig::default();
        assert_eq!(c.bind_address, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert_eq!(c.broker_ip1, IpAddr::V4(crate::config::host::local_ipv4()));
        assert!(!c.broker_ip1.is_unspecified());
        assert_eq!(c.broker_ip2(), c.broker_ip1);
        assert_eq!(c.address_warning(), None);
        c.apply_properties("listenPort=20911").unwrap();
        assert_eq!(
            c.ha_server_addr(),
            SocketAddr::new(c.broker_ip1, 20912),
            "brokerIP2 defaults to brokerIP1, the HA port to listenPort + 1"
        );

        let w = c
            .apply_properties("brokerIP1=10.0.0.5\nbindAddress=10.0.0.5\nhaListenPort=30000\n")
            .unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(c.broker_addr().to_string(), "10.0.0.5:20911");
        assert_eq!(c.ha_server_addr().to_string(), "10.0.0.5:30000");
        assert_eq!(c.bind_addr(20909).to_string(), "10.0.0.5:20909");
        assert_eq!(c.address_warning(), None);

        c.apply_properties("brokerIP2=10.1.0.5").unwrap();
        assert_eq!(c.broker_addr().to_string(), "10.0.0.5:20911");
        assert_eq!(c.ha_server_addr().to_string(), "10.1.0.5:30000");
        let warning = c.address_warning().unwrap_or_default();
        assert!(warning.contains("brokerIP2=10.1.0.5"), "{warning}");

        c.apply_properties("bindAddress=::").unwrap();
        assert_eq!(c.address_warning(), None);
        assert_eq!(c.bind_addr(1).to_string(), "[::]:1");

        for (key, value) in [
            ("brokerIP1", "broker-a.example"),
            ("brokerIP2", "1.2.3"),
            ("bindAddress", "any"),
        ] {
            let err = c.apply_properties(&format!("{key}={value}")).unwrap_err();
            assert!(err.to_string().contains(key), "{err}");
        }
        assert_eq!(
            c.broker_addr().to_string(),
            "10.0.0.5:20911",
            "a bad value changes nothing"
        );
    }
}
