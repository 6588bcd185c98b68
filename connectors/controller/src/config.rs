//! Controller settings with RocketMQ 5.x's key names (ControllerConfig), from a standalone
//! `controller.conf` or from the controller keys of a NameServer's `namesrv.properties`
//! (`enableControllerInNamesrv=true`).
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `controllerDLegerGroup` | required | the controller group's name |
//! | `controllerDLegerPeers` | required | `n0-host:port;n1-host:port;…`: every controller and the address it serves on (Raft peers, brokers and admin alike, as RocketMQ's DLedger controller does) |
//! | `controllerDLegerSelfId` | required | this controller's id in the peers list |
//! | `controllerStorePath` | required | Raft log, vote and state snapshots (RocksDB) |
//! | `scanNotActiveBrokerInterval` | 5000 | ms between scans for brokers whose heartbeat expired |
//! | `enableElectUncleanMaster` | false | elect a replica outside the SyncStateSet when none inside is alive (may lose acknowledged messages) |
//! | `electMasterMaxRetryCount` | 3 | elections tried per expired master |
//! | `isProcessReadEvent` | false | true: reads confirm leadership with a quorum first (linearizable) |
//! | `notifyBrokerRoleChanged` | true | after an election, tell each live broker of the group at once (NOTIFY_BROKER_ROLE_CHANGED) rather than leave it to the broker's next poll |
//! | `listenPort` | the peer port | standalone only: one more port serving brokers and admin |
//! | `bindAddress` | `0.0.0.0` | standalone only: local address of the listeners |
//!
//! Keys RocketMQ has but that change nothing here (thread pools, metrics, `mappedFileSize`) are
//! accepted with a warning. `controllerType=jRaft` and unknown keys are refused: a controller
//! that runs with settings it does not understand could give weaker guarantees than asked.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

/// One controller of the group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// RocketMQ's peer id (`n0`).
    pub id: String,
    /// `host:port` it serves on.
    pub addr: String,
}

/// The controller's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerConfig {
    pub group: String,
    /// Sorted by id: a peer's Raft node id is its index here, the same on every controller.
    pub peers: Vec<Peer>,
    pub self_id: String,
    pub store_path: PathBuf,
    pub scan_interval: Duration,
    pub elect_unclean: bool,
    pub elect_max_retry: u32,
    pub linearizable_reads: bool,
    pub notify_role_changed: bool,
    pub listen_port: Option<u16>,
    pub bind_address: IpAddr,
}

/// Why a controller configuration cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("controller config, line {line}: `{key}` = {value:?}: {reason}")]
    BadValue {
        key: String,
        value: String,
        reason: String,
        line: usize,
    },
    #[error("controller config: `{0}` must be set")]
    Missing(&'static str),
    #[error("controller config: {0}")]
    Invalid(String),
}

/// RocketMQ ControllerConfig keys with no effect on what sluice's controller guarantees.
const IGNORED_KEYS: &[&str] = &[
    "rocketmqHome",
    "configStorePath",
    "configBlackList",
    "controllerThreadPoolNums",
    "controllerRequestThreadPoolQueueCapacity",
    "mappedFileSize",
    "scanInactiveMasterInterval",
    "metricsExporterType",
    "metricsGrpcExporterTarget",
    "metricsGrpcExporterHeader",
    "metricGrpcExporterTimeOutInMills",
    "metricGrpcExporterIntervalInMills",
    "metricLoggingExporterIntervalInMills",
    "metricsPromExporterPort",
    "metricsPromExporterHost",
    "metricsLabel",
    "metricsInDelta",
    "serverWorkerThreads",
    "serverCallbackExecutorThreads",
    "serverSelectorThreads",
];

/// Whether `key` is a controller setting (the NameServer forwards these to the embedded
/// controller).
pub fn is_controller_key(key: &str) -> bool {
    key.starts_with("controllerDLeger")
        || matches!(
            key,
            "controllerStorePath"
                | "controllerType"
                | "enableElectUncleanMaster"
                | "electMasterMaxRetryCount"
                | "isProcessReadEvent"
                | "controllerThreadPoolNums"
                | "controllerRequestThreadPoolQueueCapacity"
                | "mappedFileSize"
                | "notifyBrokerRoleChanged"
                | "scanInactiveMasterInterval"
        )
        || key.starts_with("jRaft")
}

fn bad(key: &str, value: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::BadValue {
        key: key.to_owned(),
        value: value.to_owned(),
        reason: reason.into(),
        line: 0,
    }
}

fn parse_bool(key: &str, v: &str) -> Result<bool, ConfigError> {
    match v.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(bad(key, v, "expected true or false")),
    }
}

fn parse_num<T: std::str::FromStr>(key: &str, v: &str) -> Result<T, ConfigError> {
    v.parse().map_err(|_| bad(key, v, "not a number in range"))
}

/// Parses `n0-127.0.0.1:9878;n1-127.0.0.1:9879`: ids unique, addresses `host:port`.
pub fn parse_peers(v: &str) -> Result<Vec<Peer>, String> {
    let mut peers = Vec::new();
    for part in v.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        let (id, addr) = part
            .split_once('-')
            .ok_or_else(|| format!("{part:?} is not id-host:port"))?;
        let (id, addr) = (id.trim(), addr.trim());
        let port = addr.rsplit_once(':').map(|(_, p)| p.parse::<u16>());
        if id.is_empty() || !matches!(port, Some(Ok(p)) if p > 0) {
            return Err(format!("{part:?} is not id-host:port"));
        }
        if peers.iter().any(|p: &Peer| p.id == id) {
            return Err(format!("peer id {id:?} appears twice"));
        }
        peers.push(Peer {
            id: id.to_owned(),
            addr: addr.to_owned(),
        });
    }
    if peers.is_empty() {
        return Err("no peers".into());
    }
    peers.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(peers)
}

/// A `controllerDLegerPeers` value naming the controllers at `addrs` `n0`, `n1`, … in order.
pub fn peers_value(addrs: &[String]) -> String {
    addrs
        .iter()
        .enumerate()
        .map(|(i, a)| format!("n{i}-{a}"))
        .collect::<Vec<_>>()
        .join(";")
}

#[derive(Default)]
struct Builder {
    group: Option<String>,
    peers: Option<Vec<Peer>>,
    self_id: Option<String>,
    store_path: Option<PathBuf>,
    scan_interval: Option<Duration>,
    elect_unclean: bool,
    elect_max_retry: Option<u32>,
    linearizable_reads: bool,
    notify_role_changed: Option<bool>,
    listen_port: Option<u16>,
    bind_address: Option<IpAddr>,
}

impl Builder {
    /// One key; `Ok(Some(warning))` for accepted keys that change nothing.
    fn set(&mut self, key: &str, v: &str) -> Result<Option<String>, ConfigError> {
        match key {
            "controllerDLegerGroup" => self.group = Some(v.to_owned()),
            "controllerDLegerPeers" => self.peers = Some(parse_peers(v).map_err(|r| bad(key, v, r))?),
            "controllerDLegerSelfId" => self.self_id = Some(v.to_owned()),
            "controllerStorePath" => self.store_path = Some(PathBuf::from(v)),
            "scanNotActiveBrokerInterval" => {
                let ms: u64 = parse_num(key, v)?;
                if ms == 0 {
                    return Err(bad(key, v, "must be positive"));
                }
                self.scan_interval = Some(Duration::from_millis(ms));
            }
            "enableElectUncleanMaster" => self.elect_unclean = parse_bool(key, v)?,
            "electMasterMaxRetryCount" => self.elect_max_retry = Some(parse_num(key, v)?),
            "isProcessReadEvent" => self.linearizable_reads = parse_bool(key, v)?,
            "notifyBrokerRoleChanged" => self.notify_role_changed = Some(parse_bool(key, v)?),
            "listenPort" => self.listen_port = Some(parse_num(key, v)?),
            "bindAddress" => self.bind_address = Some(parse_num(key, v)?),
            "controllerType" => {
                if !v.eq_ignore_ascii_case("DLedger") {
                    return Err(bad(
                        key,
                        v,
                        "sluice's controller is configured with the DLedger keys (controllerDLeger*); it runs on openraft",
                    ));
                }
                return Ok(Some(
                    "controllerType=DLedger: sluice's controller runs on openraft with the same keys".into(),
                ));
            }
            k if IGNORED_KEYS.contains(&k) => {
                return Ok(Some(format!("{k} is accepted but has no effect in sluice")))
            }
            k => {
                return Err(bad(
                    k,
                    v,
                    "unknown controller key: refused rather than ignored (it might change a guarantee)",
                ))
            }
        }
        Ok(None)
    }

    fn build(self) -> Result<ControllerConfig, ConfigError> {
        let group = self
            .group
            .filter(|g| !g.is_empty())
            .ok_or(ConfigError::Missing("controllerDLegerGroup"))?;
        let peers = self.peers.ok_or(ConfigError::Missing("controllerDLegerPeers"))?;
        let self_id = self
            .self_id
            .filter(|s| !s.is_empty())
            .ok_or(ConfigError::Missing("controllerDLegerSelfId"))?;
        if !peers.iter().any(|p| p.id == self_id) {
            return Err(ConfigError::Invalid(format!(
                "controllerDLegerSelfId {self_id:?} is not among controllerDLegerPeers"
            )));
        }
        let store_path = self
            .store_path
            .filter(|p| !p.as_os_str().is_empty())
            .ok_or(ConfigError::Missing("controllerStorePath"))?;
        Ok(ControllerConfig {
            group,
            peers,
            self_id,
            store_path,
            scan_interval: self.scan_interval.unwrap_or(Duration::from_secs(5)),
            elect_unclean: self.elect_unclean,
            elect_max_retry: self.elect_max_retry.unwrap_or(3),
            linearizable_reads: self.linearizable_reads,
            notify_role_changed: self.notify_role_changed.unwrap_or(true),
            listen_port: self.listen_port,
            bind_address: self.bind_address.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        })
    }
}

impl ControllerConfig {
    /// Builds the config from `(key, value, line)` entries (a parsed properties file). Returns
    /// the config and one warning per accepted key that has no effect.
    pub fn from_entries(
        entries: impl IntoIterator<Item = (String, String, usize)>,
    ) -> Result<(Self, Vec<String>), ConfigError> {
        let mut b = Builder::default();
        let mut warnings = Vec::new();
        for (key, value, line) in entries {
            match b.set(&key, value.trim()) {
                Ok(Some(w)) => warnings.push(format!("line {line}: {w}")),
                Ok(None) => {}
                Err(ConfigError::BadValue {
                    key, value, reason, ..
                }) => {
                    return Err(ConfigError::BadValue {
                        key,
                        value,
                        reason,
                        line,
                    })
                }
                Err(e) => return Err(e),
            }
        }
        Ok((b.build()?, warnings))
    }

    /// This controller's Raft node id (its index among the sorted peers).
    pub fn self_node(&self) -> u64 {
        self.node_of(&self.self_id).unwrap_or(0)
    }

    /// The Raft node id of peer `id`.
    pub fn node_of(&self, id: &str) -> Option<u64> {
        self.peers.iter().position(|p| p.id == id).map(|i| i as u64)
    }

    /// The peer behind a Raft node id.
    pub fn peer(&self, node: u64) -> Option<&Peer> {
        usize::try_from(node).ok().and_then(|i| self.peers.get(i))
    }

    /// This controller's own address (from the peers list).
    pub fn self_addr(&self) -> &str {
        self.peer(self.self_node()).map_or("", |p| p.addr.as_str())
    }

    /// `id:address;` per peer, as RocketMQ's GetMetaDataResponseHeader `peers` reads.
    pub fn peers_text(&self) -> String {
        self.peers
            .iter()
            .map(|p| format!("{}:{};", p.id, p.addr))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(text: &str) -> Vec<(String, String, usize)> {
        text.lines()
            .enumerate()
            .filter_map(|(i, l)| {
                l.split_once('=')
                    .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned(), i + 1))
            })
            .collect()
    }

    const BASE: &str = "controllerDLegerGroup=group1\n\
        controllerDLegerPeers=n1-127.0.0.1:9879;n0-127.0.0.1:9878;n2-127.0.0.1:9880\n\
        controllerDLegerSelfId=n1\ncontrollerStorePath=/tmp/c\n";

    #[test]
    fn rocketmq_keys() {
        let text = format!(
            "{BASE}enableElectUncleanMaster=true\nscanNotActiveBrokerInterval=1000\nmappedFileSize=1024\n"
        );
        let (c, w) = ControllerConfig::from_entries(entries(&text)).unwrap();
        assert_eq!(c.peers[0].id, "n0");
        assert_eq!(c.self_node(), 1);
        assert_eq!(c.self_addr(), "127.0.0.1:9879");
        assert!(c.elect_unclean);
        assert_eq!(c.scan_interval, Duration::from_secs(1));
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("mappedFileSize") && w[0].contains("line 7"));
        assert_eq!(
            c.peers_text(),
            "n0:127.0.0.1:9878;n1:127.0.0.1:9879;n2:127.0.0.1:9880;"
        );
        let (d, _) = ControllerConfig::from_entries(entries(BASE)).unwrap();
        assert!(!d.elect_unclean && d.scan_interval == Duration::from_secs(5));
    }

    #[test]
    fn refusals() {
        for (extra, what) in [
            ("fooBar=1", "fooBar"),
            ("controllerType=jRaft", "controllerType"),
            ("enableElectUncleanMaster=maybe", "enableElectUncleanMaster"),
            ("scanNotActiveBrokerInterval=0", "scanNotActiveBrokerInterval"),
        ] {
            let err = ControllerConfig::from_entries(entries(&format!("{BASE}{extra}\n"))).unwrap_err();
            assert!(err.to_string().contains(what), "{err}");
        }
        let err =
            ControllerConfig::from_entries(entries(&BASE.replace("SelfId=n1", "SelfId=n9"))).unwrap_err();
        assert!(err.to_string().contains("n9"), "{err}");
        let err = ControllerConfig::from_entries(entries(&BASE.replace("controllerStorePath=/tmp/c", "")))
            .unwrap_err();
        assert_eq!(err, ConfigError::Missing("controllerStorePath"));
        assert!(parse_peers("n0-127.0.0.1").is_err());
        assert!(parse_peers("n0-a:1;n0-b:2").is_err());
        assert!(parse_peers("").is_err());
        let addrs = ["127.0.0.1:1".to_owned(), "127.0.0.1:2".to_owned()];
        assert_eq!(parse_peers(&peers_value(&addrs)).unwrap()[1].addr, "127.0.0.1:2");
    }
}
