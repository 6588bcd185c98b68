//! The NameServer's routing state (protocol.md §2.3.16–§2.3.18, §10.5): which brokers exist, in
//! which clusters, which topics have queues on them, and which brokers are still alive.
//!
//! * cluster → broker names;
//! * broker name → [`BrokerData`] (cluster, broker id → address);
//! * topic → broker name → [`QueueData`];
//! * broker address → liveness (last registration, data version, the connection it registered
//!   on, HA address, its own expiry if it sent one).
//!
//! Only a master (broker id 0) creates or updates queue data, and only when its topic-config
//! data version changed or it registers for the first time. A broker disappears on
//! UNREGISTER_BROKER, when the connection it registered on closes, or when it stays silent
//! longer than its expiry; a broker name whose last address goes takes its queue data (and
//! topics left without queues) and its cluster membership with it.
//!
//! Plain data: the caller provides locking and the clock (`now`), which keeps this testable.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use sluice_remoting::body::register::TopicConfigSerializeWrapper;
use sluice_remoting::body::route::{BrokerData, ClusterInfo, QueueData, TopicRouteData, MASTER_ID};
use sluice_remoting::body::{DataVersion, TopicList};
use sluice_remoting::perm;

/// TopicSysFlag bit 0: unit topic.
const FLAG_UNIT: i32 = 0x1;
/// TopicSysFlag bit 1: unit-sub topic.
const FLAG_UNIT_SUB: i32 = 0x2;

/// One REGISTER_BROKER request, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerRegistration {
    pub cluster_name: String,
    pub broker_name: String,
    /// `brokerIP1:listenPort`.
    pub broker_addr: String,
    /// `brokerIP2:haListenPort`.
    pub ha_server_addr: String,
    /// 0 = master.
    pub broker_id: i64,
    /// The broker's own expiry (5.x `heartbeatTimeoutMillis`); `None` = the NameServer's.
    pub heartbeat_timeout: Option<Duration>,
    /// 5.x `enableActingMaster`.
    pub enable_acting_master: bool,
    /// The connection the registration arrived on.
    pub conn_id: Option<u64>,
    /// The broker's topic configs and their data version.
    pub topic_config: TopicConfigSerializeWrapper,
}

/// What the REGISTER_BROKER response header carries: for a slave whose master is alive, the
/// master's address and HA address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegisterResult {
    pub master_addr: Option<String>,
    pub ha_server_addr: Option<String>,
    /// First registration of this address under this broker name.
    pub first: bool,
}

/// A broker dropped by [`RouteTable::scan_expired`] or [`RouteTable::on_connection_closed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovedBroker {
    pub broker_addr: String,
    pub conn_id: Option<u64>,
    /// Broker names that lost their last address with it.
    pub removed_broker_names: Vec<String>,
}

#[derive(Debug, Clone)]
struct LiveBroker {
    last_update: Instant,
    data_version: DataVersion,
    conn_id: Option<u64>,
    ha_server_addr: String,
    timeout: Option<Duration>,
}

/// The routing state.
#[derive(Debug, Default)]
pub struct RouteTable {
    clusters: BTreeMap<String, BTreeSet<String>>,
    brokers: BTreeMap<String, BrokerData>,
    topics: BTreeMap<String, BTreeMap<String, QueueData>>,
    live: BTreeMap<String, LiveBroker>,
}

impl RouteTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// REGISTER_BROKER (§2.3.17).
    pub fn register(&mut self, reg: BrokerRegistration, now: Instant) -> RegisterResult {
        self.clusters
            .entry(reg.cluster_name.clone())
            .or_default()
            .insert(reg.broker_name.clone());

        let mut first = !self.brokers.contains_key(&reg.broker_name);
        let data = self
            .brokers
            .entry(reg.broker_name.clone())
            .or_insert_with(|| BrokerData {
                broker_addrs: BTreeMap::new(),
                broker_name: reg.broker_name.clone(),
                cluster: reg.cluster_name.clone(),
                enable_acting_master: Some(false),
                zone_name: None,
            });
        data.cluster.clone_from(&reg.cluster_name);
        // Always written: 5.x clients (rocketmq-rust among them) require the field.
        data.enable_acting_master = Some(reg.enable_acting_master);
        // The same address under another id: the broker switched roles (slave → master).
        data.broker_addrs
            .retain(|id, addr| *id == reg.broker_id || *addr != reg.broker_addr);
        // Another address holds this id (controller mode: an old master that was paused or cut
        // off still registers as brokerId 0): the one with the larger dataVersion.stateVersion
        // (the master epoch) keeps it, as in RocketMQ 5.x (protocol.md §9.4).
        if let Some(holder) = data
            .broker_addrs
            .get(&reg.broker_id)
            .filter(|a| **a != reg.broker_addr)
        {
            let held = self.live.get(holder).map(|l| l.data_version.state_version);
            let offered = reg.topic_config.data_version.state_version;
            if held.is_some_and(|h| h > offered) {
                tracing::warn!(
                    broker_name = %reg.broker_name,
                    broker_id = reg.broker_id,
                    holder = %holder,
                    held = ?held,
                    refused = %reg.broker_addr,
                    offered,
                    "registration refused: another broker holds this id with a newer stateVersion"
                );
                self.live.remove(&reg.broker_addr);
                return RegisterResult::default();
            }
        }
        let old = data.broker_addrs.insert(reg.broker_id, reg.broker_addr.clone());
        first |= old.is_none();

        let wrapper = &reg.topic_config;
        if reg.broker_id == MASTER_ID
            && (first || self.data_version_changed(&reg.broker_addr, &wrapper.data_version))
        {
            for tc in wrapper.topic_config_table.values() {
                let qd = QueueData {
                    broker_name: reg.broker_name.clone(),
                    perm: tc.perm,
                    read_queue_nums: tc.read_queue_nums,
                    topic_sys_flag: tc.topic_sys_flag,
                    write_queue_nums: tc.write_queue_nums,
                };
                self.topics
                    .entry(tc.topic_name.clone())
                    .or_default()
                    .insert(reg.broker_name.clone(), qd);
            }
        }

        self.live.insert(
            reg.broker_addr.clone(),
            LiveBroker {
                last_update: now,
                data_version: wrapper.data_version,
                conn_id: reg.conn_id,
                ha_server_addr: reg.ha_server_addr.clone(),
                timeout: reg.heartbeat_timeout,
            },
        );

        let mut result = RegisterResult {
            first,
            ..Default::default()
        };
        if reg.broker_id != MASTER_ID {
            let master = self
                .brokers
                .get(&reg.broker_name)
                .and_then(|b| b.master_addr().map(str::to_owned));
            if let Some(master) = master {
                if let Some(info) = self.live.get(&master) {
                    result.ha_server_addr = Some(info.ha_server_addr.clone());
                    result.master_addr = Some(master);
                }
            }
        }
        result
    }

    /// Whether `dv` differs from the data version `broker_addr` last registered (true for an
    /// unknown broker).
    pub fn data_version_changed(&self, broker_addr: &str, dv: &DataVersion) -> bool {
        self.live.get(broker_addr).is_none_or(|l| l.data_version != *dv)
    }

    /// QUERY_DATA_VERSION (322): whether `dv` changed, and the version held for the broker. An
    /// unchanged broker counts as alive (its registration is skipped by the broker).
    pub fn query_data_version(
        &mut self,
        broker_addr: &str,
        dv: &DataVersion,
        now: Instant,
    ) -> (bool, Option<DataVersion>) {
        let changed = self.data_version_changed(broker_addr, dv);
        let held = self.live.get_mut(broker_addr).map(|l| {
            if !changed {
                l.last_update = now;
            }
            l.data_version
        });
        (changed, held)
    }

    /// UNREGISTER_BROKER (§2.3.17). True if the address was registered under that name.
    pub fn unregister(&mut self, broker_name: &str, broker_addr: &str) -> bool {
        self.live.remove(broker_addr);
        let Some(data) = self.brokers.get_mut(broker_name) else {
            return false;
        };
        let before = data.broker_addrs.len();
        // Matched by address, not id: an id another address has taken over since stays.
        data.broker_addrs.retain(|_, addr| addr != broker_addr);
        let removed = data.broker_addrs.len() != before;
        if data.broker_addrs.is_empty() {
            self.remove_broker_name(broker_name);
        }
        removed
    }

    /// Drops brokers whose last registration is older than their expiry (`default_expiry`
    /// unless they sent their own).
    pub fn scan_expired(&mut self, now: Instant, default_expiry: Duration) -> Vec<RemovedBroker> {
        let expired: Vec<String> = self
            .live
            .iter()
            .filter(|(_, l)| {
                now.saturating_duration_since(l.last_update) > l.timeout.unwrap_or(default_expiry)
            })
            .map(|(addr, _)| addr.clone())
            .collect();
        expired
            .into_iter()
            .filter_map(|a| self.remove_broker_addr(&a))
            .collect()
    }

    /// Drops every broker that registered on connection `conn_id` (it closed).
    pub fn on_connection_closed(&mut self, conn_id: u64) -> Vec<RemovedBroker> {
        let gone: Vec<String> = self
            .live
            .iter()
            .filter(|(_, l)| l.conn_id == Some(conn_id))
            .map(|(addr, _)| addr.clone())
            .collect();
        gone.into_iter()
            .filter_map(|a| self.remove_broker_addr(&a))
            .collect()
    }

    /// Removes a broker address everywhere (Java's channel-destroy cleanup).
    fn remove_broker_addr(&mut self, broker_addr: &str) -> Option<RemovedBroker> {
        let live = self.live.remove(broker_addr)?;
        let mut emptied = Vec::new();
        for (name, data) in self.brokers.iter_mut() {
            data.broker_addrs.retain(|_, addr| addr != broker_addr);
            if data.broker_addrs.is_empty() {
                emptied.push(name.clone());
            }
        }
        for name in &emptied {
            self.remove_broker_name(name);
        }
        Some(RemovedBroker {
            broker_addr: broker_addr.to_owned(),
            conn_id: live.conn_id,
            removed_broker_names: emptied,
        })
    }

    /// Removes a broker name that has no address left: its data, cluster membership (and
    /// clusters left empty), queue data (and topics left without queues).
    fn remove_broker_name(&mut self, broker_name: &str) {
        self.brokers.remove(broker_name);
        self.clusters.retain(|_, names| {
            names.remove(broker_name);
            !names.is_empty()
        });
        self.remove_queues_of(broker_name);
    }

    /// Removes a broker name's queue data from every topic, and topics left without queues.
    fn remove_queues_of(&mut self, broker_name: &str) {
        self.topics.retain(|_, queues| {
            queues.remove(broker_name);
            !queues.is_empty()
        });
    }

    /// GET_ROUTEINFO_BY_TOPIC (§2.3.16). `None` unless the topic has queue data **and** at
    /// least one of its brokers is known (§10.5). `orderTopicConf` is the caller's business.
    pub fn topic_route(&self, topic: &str) -> Option<TopicRouteData> {
        let queues = self.topics.get(topic)?;
        let broker_datas: Vec<BrokerData> = queues
            .keys()
            .filter_map(|n| self.brokers.get(n))
            .cloned()
            .collect();
        if queues.is_empty() || broker_datas.is_empty() {
            return None;
        }
        Some(TopicRouteData {
            broker_datas,
            filter_server_table: BTreeMap::new(),
            order_topic_conf: None,
            queue_datas: queues.values().cloned().collect(),
            topic_queue_mapping_by_broker: None,
        })
    }

    /// GET_BROKER_CLUSTER_INFO (106).
    pub fn cluster_info(&self) -> ClusterInfo {
        ClusterInfo {
            broker_addr_table: self.brokers.clone(),
            cluster_addr_table: self.clusters.clone(),
        }
    }

    /// GET_ALL_TOPIC_LIST_FROM_NAMESERVER (206).
    pub fn all_topics(&self) -> Vec<String> {
        self.topics.keys().cloned().collect()
    }

    /// GET_TOPICS_BY_CLUSTER (224): topics with queues on a broker of `cluster`.
    pub fn topics_by_cluster(&self, cluster: &str) -> Vec<String> {
        let Some(names) = self.clusters.get(cluster) else {
            return Vec::new();
        };
        self.topics
            .iter()
            .filter(|(_, queues)| queues.keys().any(|n| names.contains(n)))
            .map(|(t, _)| t.clone())
            .collect()
    }

    /// GET_SYSTEM_TOPIC_LIST_FROM_NS (304): cluster names and broker names (the topics every
    /// broker keeps for itself), plus one broker address to ask for more.
    pub fn system_topics(&self) -> TopicList {
        let mut names = BTreeSet::new();
        for (cluster, brokers) in &self.clusters {
            names.insert(cluster.clone());
            names.extend(brokers.iter().cloned());
        }
        TopicList {
            broker_addr: self
                .brokers
                .values()
                .find_map(|b| b.broker_addrs.values().next().cloned()),
            topic_list: names.into_iter().collect(),
        }
    }

    /// GET_UNIT_TOPIC_LIST (311) with `(true, false)`, GET_HAS_UNIT_SUB_TOPIC_LIST (312) with
    /// `(false, true)`, GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST (313) with `(false, true)` and
    /// `not_unit`: topics whose (first) queue data has the given sysflag bits.
    pub fn topics_by_sys_flag(&self, unit: bool, unit_sub: bool, not_unit: bool) -> Vec<String> {
        self.topics
            .iter()
            .filter(|(_, queues)| {
                let Some(flag) = queues.values().next().map(|q| q.topic_sys_flag) else {
                    return false;
                };
                (!unit || flag & FLAG_UNIT != 0)
                    && (!unit_sub || flag & FLAG_UNIT_SUB != 0)
                    && (!not_unit || flag & FLAG_UNIT == 0)
            })
            .map(|(t, _)| t.clone())
            .collect()
    }

    /// DELETE_TOPIC_IN_NAMESRV (216): the topic everywhere, or (5.x) only its queues on
    /// `cluster`'s brokers. True if anything was removed.
    pub fn delete_topic(&mut self, topic: &str, cluster: Option<&str>) -> bool {
        match cluster {
            None => self.topics.remove(topic).is_some(),
            Some(cluster) => {
                let (Some(names), Some(queues)) = (self.clusters.get(cluster), self.topics.get_mut(topic))
                else {
                    return false;
                };
                let before = queues.len();
                queues.retain(|n, _| !names.contains(n));
                let removed = queues.len() != before;
                if queues.is_empty() {
                    self.topics.remove(topic);
                }
                removed
            }
        }
    }

    /// WIPE_WRITE_PERM_OF_BROKER (205, `writable = false`: clear W) and ADD_WRITE_PERM_OF_BROKER
    /// (327, `writable = true`: R|W) for every queue data of `broker_name`. Returns how many
    /// topics were touched.
    pub fn set_write_perm(&mut self, broker_name: &str, writable: bool) -> i32 {
        let mut count = 0;
        for queues in self.topics.values_mut() {
            if let Some(q) = queues.get_mut(broker_name) {
                q.perm = if writable {
                    perm::READ_WRITE
                } else {
                    q.perm & !perm::WRITE
                };
                count += 1;
            }
        }
        count
    }

    /// Number of live broker addresses.
    #[cfg(test)]
    pub fn live_broker_count(&self) -> usize {
        self.live.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_remoting::body::register::TopicConfig;

    fn wrapper(counter: i64, topics: &[(&str, i32)]) -> TopicConfigSerializeWrapper {
        let mut w = TopicConfigSerializeWrapper {
            data_version: DataVersion {
                counter,
                state_version: 0,
                timestamp: 1_700_000_000_000,
            },
            ..Default::default()
        };
        for (t, q) in topics {
            w.topic_config_table.insert((*t).into(), TopicConfig::new(*t, *q));
        }
        w
    }

    fn reg(name: &str, addr: &str, id: i64, conn: u64, w: TopicConfigSerializeWrapper) -> BrokerRegistration {
        BrokerRegistration {
            cluster_name: "DefaultCluster".into(),
            broker_name: name.into(),
            broker_addr: addr.into(),
            ha_server_addr: format!("{addr}-ha"),
            broker_id: id,
            heartbeat_timeout: None,
            enable_acting_master: false,
            conn_id: Some(conn),
            topic_config: w,
        }
    }

    #[test]
    fn register_and_route() {
        let mut t = RouteTable::new();
        let now = Instant::now();
        let r = t.register(
            reg(
                "broker-a",
                "10.0.0.1:10911",
                0,
                1,
                wrapper(1, &[("T1", 4), ("T2", 8)]),
            ),
            now,
        );
        assert!(r.first);
        assert_eq!((r.master_addr, r.ha_server_addr), (None, None));
        let route = t.topic_route("T2").unwrap();
        assert_eq!(route.broker_datas.len(), 1);
        assert_eq!(route.broker_datas[0].master_addr(), Some("10.0.0.1:10911"));
        assert_eq!(route.queue_datas[0].read_queue_nums, 8);
        assert_eq!(route.queue_datas[0].perm, 6);
        assert!(t.topic_route("nope").is_none());

        // A slave: gets the master's address back, and its topic configs are ignored.
        let r = t.register(
            reg("broker-a", "10.0.0.2:10911", 1, 2, wrapper(9, &[("T3", 2)])),
            now,
        );
        assert_eq!(r.master_addr.as_deref(), Some("10.0.0.1:10911"));
        assert_eq!(r.ha_server_addr.as_deref(), Some("10.0.0.1:10911-ha"));
        assert!(t.topic_route("T3").is_none());
        assert_eq!(t.topic_route("T1").unwrap().broker_datas[0].broker_addrs.len(), 2);

        // Same data version: no update even if the table differs (Java compares versions).
        t.register(
            reg("broker-a", "10.0.0.1:10911", 0, 1, wrapper(1, &[("T4", 1)])),
            now,
        );
        assert!(t.topic_route("T4").is_none());
        // New version: upsert, old topics stay.
        t.register(
            reg(
                "broker-a",
                "10.0.0.1:10911",
                0,
                1,
                wrapper(2, &[("T4", 1), ("T1", 2)]),
            ),
            now,
        );
        assert_eq!(t.topic_route("T4").unwrap().queue_datas[0].write_queue_nums, 1);
        assert_eq!(t.topic_route("T1").unwrap().queue_datas[0].write_queue_nums, 2);
        assert_eq!(t.all_topics(), ["T1", "T2", "T4"]);

        // Second broker, other cluster.
        let mut b = reg(
            "broker-b",
            "10.0.0.3:10911",
            0,
            3,
            wrapper(1, &[("T1", 4), ("B", 1)]),
        );
        b.cluster_name = "Other".into();
        t.register(b, now);
        let route = t.topic_route("T1").unwrap();
        assert_eq!(route.broker_datas.len(), 2);
        assert_eq!(route.queue_datas.len(), 2);
        assert_eq!(t.topics_by_cluster("Other"), ["B", "T1"]);
        assert_eq!(t.topics_by_cluster("DefaultCluster"), ["T1", "T2", "T4"]);
        let ci = t.cluster_info();
        assert_eq!(ci.cluster_addr_table["Other"].len(), 1);
        assert_eq!(ci.broker_addr_table.len(), 2);
        let sys = t.system_topics();
        assert_eq!(
            sys.topic_list,
            ["DefaultCluster", "Other", "broker-a", "broker-b"]
        );
        assert!(sys.broker_addr.is_some());
    }

    #[test]
    fn role_switch_replaces_stale_id() {
        let mut t = RouteTable::new();
        let now = Instant::now();
        t.register(reg("a", "h:1", 1, 1, wrapper(1, &[])), now);
        t.register(reg("a", "h:1", 0, 1, wrapper(1, &[("T", 1)])), now);
        let route = t.topic_route("T").unwrap();
        assert_eq!(
            route.broker_datas[0].broker_addrs,
            BTreeMap::from([(0, "h:1".to_string())])
        );
    }

    #[test]
    fn the_newer_state_version_keeps_the_master_id() {
        let mut t = RouteTable::new();
        let now = Instant::now();
        let versioned = |sv: i64| {
            let mut w = wrapper(1, &[("T", 1)]);
            w.data_version.state_version = sv;
            w
        };
        t.register(reg("a", "h:2", 0, 2, versioned(2)), now);
        // The old master (epoch 1) comes back and still claims brokerId 0: refused.
        let r = t.register(reg("a", "h:1", 0, 1, versioned(1)), now);
        assert!(!r.first);
        let addrs = |t: &RouteTable| t.topic_route("T").unwrap().broker_datas[0].broker_addrs.clone();
        assert_eq!(addrs(&t), BTreeMap::from([(0, "h:2".to_string())]));
        assert_eq!(t.live_broker_count(), 1);
        // A newer epoch takes it over.
        t.register(reg("a", "h:1", 0, 1, versioned(3)), now);
        assert_eq!(addrs(&t), BTreeMap::from([(0, "h:1".to_string())]));
    }

    #[test]
    fn unregister_removes_what_the_broker_alone_provided() {
        let mut t = RouteTable::new();
        let now = Instant::now();
        t.register(reg("a", "h:1", 0, 1, wrapper(1, &[("T", 1), ("Shared", 1)])), now);
        t.register(reg("a", "h:2", 1, 2, wrapper(1, &[])), now);
        t.register(reg("b", "h:3", 0, 3, wrapper(1, &[("Shared", 1)])), now);
        // Master goes: slave keeps broker-a's name and queues.
        assert!(t.unregister("a", "h:1"));
        let route = t.topic_route("T").unwrap();
        assert_eq!(route.broker_datas[0].master_addr(), None);
        assert!(t.unregister("a", "h:2"));
        assert!(t.topic_route("T").is_none());
        assert!(t.all_topics() == ["Shared"]);
        assert_eq!(t.topic_route("Shared").unwrap().queue_datas.len(), 1);
        assert!(!t.unregister("a", "h:2"));
        assert!(t.unregister("b", "h:3"));
        assert!(t.cluster_info().cluster_addr_table.is_empty());
        assert!(t.all_topics().is_empty());
        assert_eq!(t.live_broker_count(), 0);
    }

    #[test]
    fn expiry_and_connection_close() {
        let mut t = RouteTable::new();
        let t0 = Instant::now();
        let expiry = Duration::from_secs(120);
        t.register(reg("a", "h:1", 0, 1, wrapper(1, &[("T", 1)])), t0);
        let mut b = reg("b", "h:2", 0, 2, wrapper(1, &[("U", 1)]));
        b.heartbeat_timeout = Some(Duration::from_secs(10));
        t.register(b, t0);
        assert!(t.scan_expired(t0 + Duration::from_secs(10), expiry).is_empty());
        let gone = t.scan_expired(t0 + Duration::from_secs(11), expiry);
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].broker_addr, "h:2");
        assert_eq!(gone[0].removed_broker_names, ["b"]);
        assert!(t.topic_route("U").is_none());
        // QUERY_DATA_VERSION with an unchanged version keeps a broker alive.
        let (changed, held) = t.query_data_version("h:1", &wrapper(1, &[]).data_version, t0 + expiry);
        assert!(!changed && held.is_some());
        assert!(t
            .scan_expired(t0 + expiry + Duration::from_secs(1), expiry)
            .is_empty());
        let (changed, _) = t.query_data_version("h:1", &wrapper(2, &[]).data_version, t0);
        assert!(changed);

        assert!(t.on_connection_closed(99).is_empty());
        let gone = t.on_connection_closed(1);
        assert_eq!(gone.len(), 1);
        assert!(t.topic_route("T").is_none());
        assert!(t.cluster_info().broker_addr_table.is_empty());
        assert!(t.cluster_info().cluster_addr_table.is_empty());
    }

    #[test]
    fn delete_topic_and_write_perm() {
        let mut t = RouteTable::new();
        let now = Instant::now();
        t.register(reg("a", "h:1", 0, 1, wrapper(1, &[("T", 1), ("U", 1)])), now);
        let mut b = reg("b", "h:2", 0, 2, wrapper(1, &[("T", 1)]));
        b.cluster_name = "Other".into();
        t.register(b, now);
        assert!(t.delete_topic("T", Some("Other")));
        assert_eq!(t.topic_route("T").unwrap().queue_datas.len(), 1);
        assert!(!t.delete_topic("T", Some("Nope")));
        assert!(t.delete_topic("T", None));
        assert!(!t.delete_topic("T", None));
        assert_eq!(t.set_write_perm("a", false), 1);
        assert_eq!(t.topic_route("U").unwrap().queue_datas[0].perm, 4);
        assert_eq!(t.set_write_perm("a", true), 1);
        assert_eq!(t.topic_route("U").unwrap().queue_datas[0].perm, 6);
        assert_eq!(t.set_write_perm("zzz", true), 0);
    }

    #[test]
    fn unit_topics() {
        let mut t = RouteTable::new();
        let mut w = wrapper(1, &[("Unit", 1), ("Sub", 1), ("Both", 1), ("Plain", 1)]);
        for (name, flag) in [("Unit", 1), ("Sub", 2), ("Both", 3)] {
            if let Some(tc) = w.topic_config_table.get_mut(name) {
                tc.topic_sys_flag = flag;
            }
        }
        t.register(reg("a", "h:1", 0, 1, w), Instant::now());
        assert_eq!(t.topics_by_sys_flag(true, false, false), ["Both", "Unit"]);
        assert_eq!(t.topics_by_sys_flag(false, true, false), ["Both", "Sub"]);
        assert_eq!(t.topics_by_sys_flag(false, true, true), ["Sub"]);
    }
}
