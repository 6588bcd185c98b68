//! Routes: TopicRouteData → the queues a producer writes and a consumer reads
//! (protocol.md §2.3.16), and the cache of them refreshed every 30 s (§7.5).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use sluice_remoting::body::route::TopicRouteData;
use sluice_remoting::body::MessageQueue;
use sluice_remoting::perm;

/// What the client derives from one topic's route.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicRoute {
    /// The route as the NameServer sent it.
    pub data: TopicRouteData,
    /// Queues to publish to, in route order (broker by broker, queue ids ascending).
    pub publish: Vec<MessageQueue>,
    /// Queues to subscribe to, sorted by (topic, brokerName, queueId) (§7.2).
    pub subscribe: Vec<MessageQueue>,
    /// Whether `orderTopicConf` decided the publish queues.
    pub ordered: bool,
}

impl TopicRoute {
    /// Derives the publish and subscribe queue lists of `topic` (§2.3.16): publish = queues
    /// of QueueDatas with W perm whose broker has a master, or `orderTopicConf` when present;
    /// subscribe = queues of QueueDatas with R perm.
    pub fn new(topic: &str, data: TopicRouteData) -> Self {
        let has_master = |broker: &str| {
            data.broker_datas
                .iter()
                .any(|b| b.broker_name == broker && b.master_addr().is_some())
        };
        let mut publish = Vec::new();
        let mut ordered = false;
        if let Some(conf) = data.order_topic_conf.as_deref().filter(|c| !c.trim().is_empty()) {
            ordered = true;
            for entry in conf.split(';') {
                if let Some((broker, n)) = entry.split_once(':') {
                    let n: i32 = n.trim().parse().unwrap_or(0);
                    for q in 0..n {
                        publish.push(MessageQueue::new(topic, broker.trim(), q));
                    }
                }
            }
        } else {
            let mut qds: Vec<_> = data.queue_datas.iter().collect();
            qds.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
            for qd in qds {
                if qd.perm & perm::WRITE != 0 && has_master(&qd.broker_name) {
                    for q in 0..qd.write_queue_nums.max(0) {
                        publish.push(MessageQueue::new(topic, qd.broker_name.as_str(), q));
                    }
                }
            }
        }
        let mut subscribe: Vec<MessageQueue> = data
            .queue_datas
            .iter()
            .filter(|qd| qd.perm & perm::READ != 0)
            .flat_map(|qd| {
                (0..qd.read_queue_nums.max(0)).map(|q| MessageQueue::new(topic, qd.broker_name.as_str(), q))
            })
            .collect();
        subscribe.sort();
        TopicRoute {
            data,
            publish,
            subscribe,
            ordered,
        }
    }
}

/// Routes by topic and broker addresses by broker name, shared by a client's producers and
/// consumers.
#[derive(Debug, Default)]
pub struct RouteCache {
    routes: RwLock<HashMap<String, Arc<TopicRoute>>>,
    brokers: RwLock<HashMap<String, BTreeMap<i64, String>>>,
}

impl RouteCache {
    /// The cached route of `topic`.
    pub fn get(&self, topic: &str) -> Option<Arc<TopicRoute>> {
        self.routes.read().ok()?.get(topic).cloned()
    }

    /// Stores a fresh route; returns it. Broker addresses are updated from it.
    pub fn put(&self, topic: &str, data: TopicRouteData) -> Arc<TopicRoute> {
        if let Ok(mut brokers) = self.brokers.write() {
            for b in &data.broker_datas {
                brokers.insert(b.broker_name.clone(), b.broker_addrs.clone());
            }
        }
        let route = Arc::new(TopicRoute::new(topic, data));
        if let Ok(mut routes) = self.routes.write() {
            routes.insert(topic.to_owned(), route.clone());
        }
        route
    }

    /// Forgets `topic` (the NameServer no longer knows it).
    pub fn remove(&self, topic: &str) {
        if let Ok(mut routes) = self.routes.write() {
            routes.remove(topic);
        }
    }

    /// Every cached topic.
    pub fn topics(&self) -> Vec<String> {
        self.routes
            .read()
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The master address (broker id 0) of `broker_name`.
    pub fn master_addr(&self, broker_name: &str) -> Option<String> {
        self.brokers.read().ok()?.get(broker_name)?.get(&0).cloned()
    }

    /// The master address if there is one, else any replica (for reads when the master is down).
    pub fn any_addr(&self, broker_name: &str) -> Option<String> {
        let brokers = self.brokers.read().ok()?;
        let addrs = brokers.get(broker_name)?;
        addrs.get(&0).or_else(|| addrs.values().next()).cloned()
    }

    /// Every known broker address (masters and replicas), for heartbeats.
    pub fn all_broker_addrs(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .brokers
            .read()
            .map(|b| b.values().flat_map(|m| m.values().cloned()).collect())
            .unwrap_or_default();
        v.sort();
        v.dedup();
        v
    }
}

#[cfg(test)]
mod tests {
    use sluice_remoting::body::route::{BrokerData, QueueData};

    use super::*;

    fn route(order: Option<&str>) -> TopicRouteData {
        let qd = |name: &str, perm, r, w| QueueData {
            broker_name: name.into(),
            perm,
            read_queue_nums: r,
            topic_sys_flag: 0,
            write_queue_nums: w,
        };
        let bd = |name: &str, master: bool| BrokerData {
            broker_addrs: if master {
                [(0, format!("{name}:10911")), (1, format!("{name}:20911"))].into()
            } else {
                [(1, format!("{name}:20911"))].into()
            },
            broker_name: name.into(),
            cluster: "c".into(),
            enable_acting_master: None,
            zone_name: None,
        };
        TopicRouteData {
            broker_datas: vec![bd("b", true), bd("a", true), bd("c", false)],
            queue_datas: vec![qd("b", 6, 2, 3), qd("a", 4, 2, 2), qd("c", 6, 1, 1)],
            order_topic_conf: order.map(str::to_owned),
            ..Default::default()
        }
    }

    #[test]
    fn publish_needs_write_perm_and_a_master() {
        let r = TopicRoute::new("T", route(None));
        let ids: Vec<_> = r
            .publish
            .iter()
            .map(|q| (q.broker_name.as_str(), q.queue_id))
            .collect();
        assert_eq!(ids, [("b", 0), ("b", 1), ("b", 2)]);
        let ids: Vec<_> = r
            .subscribe
            .iter()
            .map(|q| (q.broker_name.as_str(), q.queue_id))
            .collect();
        assert_eq!(ids, [("a", 0), ("a", 1), ("b", 0), ("b", 1), ("c", 0)]);
        assert!(!r.ordered);
    }

    #[test]
    fn order_topic_conf_decides_publish_queues() {
        let r = TopicRoute::new("T", route(Some("a:2;b:1")));
        let ids: Vec<_> = r
            .publish
            .iter()
            .map(|q| (q.broker_name.as_str(), q.queue_id))
            .collect();
        assert_eq!(ids, [("a", 0), ("a", 1), ("b", 0)]);
        assert!(r.ordered);
    }

    #[test]
    fn cache_knows_broker_addresses() {
        let c = RouteCache::default();
        c.put("T", route(None));
        assert_eq!(c.master_addr("a").as_deref(), Some("a:10911"));
        assert_eq!(c.master_addr("c"), None);
        assert_eq!(c.any_addr("c").as_deref(), Some("c:20911"));
        assert_eq!(c.all_broker_addrs().len(), 5);
        assert_eq!(c.topics(), ["T"]);
    }
}
