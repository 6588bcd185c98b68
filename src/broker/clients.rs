//! Who is connected: consumer groups with their clients and subscriptions (from HEART_BEAT),
//! producer groups (for transaction check-back), expiry after 120 s without a heartbeat, and
//! NOTIFY_CONSUMER_IDS_CHANGED when a group's membership changes.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use sluice_remoting::body::enums::{ConsumeFromWhere, ConsumeType, MessageModel};
use sluice_remoting::body::heartbeat::{ConsumerData, SubscriptionData};
use sluice_remoting::codes::request;
use sluice_remoting::header::heartbeat::NotifyConsumerIdsChangedRequestHeader;
use sluice_remoting::RemotingCommand;

use sluice_remoting::net::Connection;

/// Clients silent for longer than this are dropped (`channelExpiredTimeout`).
pub const CLIENT_EXPIRY: Duration = Duration::from_secs(120);

/// One client of a group (consumer or producer), as its last heartbeat described it.
#[derive(Debug, Clone)]
pub struct GroupClient {
    pub conn: Arc<Connection>,
    pub last_heartbeat: Instant,
    /// The client's LanguageCode name and version, from its last heartbeat.
    pub language: String,
    pub version: i32,
}

/// A consumer group as its clients describe it.
#[derive(Debug, Clone)]
pub struct ConsumerGroup {
    pub clients: BTreeMap<String, GroupClient>,
    pub subscriptions: HashMap<String, SubscriptionData>,
    pub message_model: MessageModel,
    pub consume_type: ConsumeType,
    pub consume_from_where: ConsumeFromWhere,
}

/// A producer group's clients by client id.
type ProducerGroup = BTreeMap<String, GroupClient>;

/// Producer and consumer registrations.
#[derive(Default)]
pub struct ClientManager {
    consumers: RwLock<HashMap<String, ConsumerGroup>>,
    producers: RwLock<HashMap<String, ProducerGroup>>,
    /// Round-robin counter for picking a producer to check a transaction with.
    next_producer: std::sync::atomic::AtomicUsize,
}

impl ClientManager {
    /// Records a consumer's heartbeat; returns true when the group's membership changed.
    pub fn register_consumer(
        &self,
        data: &ConsumerData,
        client_id: &str,
        conn: &Arc<Connection>,
        (language, version): (&str, i32),
    ) -> bool {
        let Ok(mut groups) = self.consumers.write() else {
            return false;
        };
        let group = groups
            .entry(data.group_name.clone())
            .or_insert_with(|| ConsumerGroup {
                clients: BTreeMap::new(),
                subscriptions: HashMap::new(),
                message_model: data.message_model,
                consume_type: data.consume_type,
                consume_from_where: data.consume_from_where,
            });
        group.message_model = data.message_model;
        group.consume_type = data.consume_type;
        group.consume_from_where = data.consume_from_where;
        let changed = match group.clients.get(client_id) {
            Some(c) => c.conn.id() != conn.id(),
            None => true,
        };
        group.clients.insert(
            client_id.to_owned(),
            GroupClient {
                conn: conn.clone(),
                last_heartbeat: Instant::now(),
                language: language.to_owned(),
                version,
            },
        );
        for s in &data.subscription_data_set {
            let newer = group
                .subscriptions
                .get(&s.topic)
                .is_none_or(|old| old.sub_version <= s.sub_version);
            if newer {
                group.subscriptions.insert(s.topic.clone(), s.clone());
            }
        }
        changed
    }

    pub fn register_producer(
        &self,
        group: &str,
        client_id: &str,
        conn: &Arc<Connection>,
        (language, version): (&str, i32),
    ) {
        if let Ok(mut p) = self.producers.write() {
            let client = GroupClient {
                conn: conn.clone(),
                last_heartbeat: Instant::now(),
                language: language.to_owned(),
                version,
            };
            p.entry(group.to_owned())
                .or_default()
                .insert(client_id.to_owned(), client);
        }
    }

    /// The live clients of producer group `group` (GET_PRODUCER_CONNECTION_LIST).
    pub fn producers(&self, group: &str) -> Vec<(String, GroupClient)> {
        let Ok(p) = self.producers.read() else {
            return Vec::new();
        };
        p.get(group)
            .map(|g| {
                g.iter()
                    .filter(|(_, c)| !c.conn.is_closed())
                    .map(|(id, c)| (id.clone(), c.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Removes a client from a group (UNREGISTER_CLIENT); true if it was there.
    pub fn unregister_consumer(&self, group: &str, client_id: &str) -> bool {
        let Ok(mut groups) = self.consumers.write() else {
            return false;
        };
        let removed = groups
            .get_mut(group)
            .is_some_and(|g| g.clients.remove(client_id).is_some());
        if groups.get(group).is_some_and(|g| g.clients.is_empty()) {
            groups.remove(group);
        }
        removed
    }

    /// A live connection of a producer of `group`, taken round-robin (transaction check-back).
    pub fn producer_connection(&self, group: &str) -> Option<Arc<Connection>> {
        let p = self.producers.read().ok()?;
        let live: Vec<&Arc<Connection>> = p
            .get(group)?
            .values()
            .map(|c| &c.conn)
            .filter(|c| !c.is_closed())
            .collect();
        if live.is_empty() {
            return None;
        }
        let i = self
            .next_producer
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Some(live[i % live.len()].clone())
    }

    pub fn unregister_producer(&self, group: &str, client_id: &str) {
        if let Ok(mut p) = self.producers.write() {
            if let Some(g) = p.get_mut(group) {
                g.remove(client_id);
            }
        }
    }

    /// Every consumer group with its clients (scrape time, admin; clones).
    pub fn consumer_groups(&self) -> Vec<(String, ConsumerGroup)> {
        self.consumers
            .read()
            .map(|g| g.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }

    /// Every producer group with its live clients by client id (GET_ALL_PRODUCER_INFO, metrics).
    pub fn producer_groups(&self) -> Vec<(String, Vec<(String, GroupClient)>)> {
        let Ok(p) = self.producers.read() else {
            return Vec::new();
        };
        p.iter()
            .map(|(group, clients)| {
                let live = clients
                    .iter()
                    .filter(|(_, c)| !c.conn.is_closed())
                    .map(|(id, c)| (id.clone(), c.clone()))
                    .collect();
                (group.clone(), live)
            })
            .collect()
    }

    pub fn group(&self, group: &str) -> Option<ConsumerGroup> {
        self.consumers.read().ok()?.get(group).cloned()
    }

    pub fn consumer_ids(&self, group: &str) -> Vec<String> {
        self.group(group)
            .map(|g| g.clients.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The subscription `group` registered for `topic`.
    pub fn subscription(&self, group: &str, topic: &str) -> Option<SubscriptionData> {
        self.consumers
            .read()
            .ok()?
            .get(group)?
            .subscriptions
            .get(topic)
            .cloned()
    }

    pub fn groups(&self) -> Vec<String> {
        self.consumers
            .read()
            .map(|g| g.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Drops the clients of a closed connection; returns the groups that changed.
    pub fn connection_closed(&self, conn_id: u64) -> Vec<String> {
        self.remove_where(|c| c.conn.id() == conn_id)
    }

    /// Drops clients whose last heartbeat is older than [`CLIENT_EXPIRY`]; returns changed groups.
    pub fn expire(&self, now: Instant) -> Vec<String> {
        self.remove_where(|c| now.duration_since(c.last_heartbeat) > CLIENT_EXPIRY || c.conn.is_closed())
    }

    fn remove_where(&self, gone: impl Fn(&GroupClient) -> bool) -> Vec<String> {
        let mut changed = Vec::new();
        if let Ok(mut groups) = self.consumers.write() {
            for (name, g) in groups.iter_mut() {
                let before = g.clients.len();
                g.clients.retain(|_, c| !gone(c));
                if g.clients.len() != before {
                    changed.push(name.clone());
                }
            }
            groups.retain(|_, g| !g.clients.is_empty());
        }
        if let Ok(mut p) = self.producers.write() {
            for g in p.values_mut() {
                g.retain(|_, c| !gone(c));
            }
            p.retain(|_, g| !g.is_empty());
        }
        changed
    }

    /// Tells every client of `group` to rebalance now (oneway; never waits for them).
    pub fn notify_ids_changed(&self, group: &str) {
        let Some(g) = self.group(group) else { return };
        let header = NotifyConsumerIdsChangedRequestHeader {
            consumer_group: group.to_owned(),
        };
        for c in g.clients.values() {
            let cmd = RemotingCommand::request(request::NOTIFY_CONSUMER_IDS_CHANGED).with_header(&header);
            c.conn.send_oneway(cmd);
        }
    }
}
