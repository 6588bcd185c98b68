//! [`ClientInstance`]: what producers and consumers share — the client id, connections, the
//! NameServer client, the route cache — and the two periodic jobs of §7.5: route refresh and
//! heartbeats to every broker, both every 30 s. It also routes broker-initiated requests
//! (CHECK_TRANSACTION_STATE to the transactional producer of the message's PGROUP,
//! NOTIFY_CONSUMER_IDS_CHANGED to the consumer of the group).

use std::collections::{BTreeSet, HashMap};
use std::net::{Ipv4Addr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sluice_remoting::body::heartbeat::{ConsumerData, HeartbeatData, ProducerData};
use sluice_remoting::codes::{request, response};
use sluice_remoting::header::heartbeat::{
    NotifyConsumerIdsChangedRequestHeader, UnregisterClientRequestHeader,
};
use sluice_remoting::header::transaction::CheckTransactionStateRequestHeader;
use sluice_remoting::RemotingCommand;
use tokio::sync::Notify;

use crate::error::{ClientError, Result};
use crate::message::{decode_messages, property, MessageExt, UniqKeyGenerator};
use crate::namesrv::NameServerClient;
use crate::route::{RouteCache, TopicRoute};
use crate::transport::{Connection, ConnectionPool, RequestHandler};

/// Client settings shared by producers and consumers.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// NameServer addresses (`host:port`); tried in turn on failure.
    pub namesrv_addrs: Vec<String>,
    /// Instance name; part of the client id. `DEFAULT` is replaced by `<pid>#<nanos>`.
    pub instance_name: String,
    /// Timeout of ordinary calls (3 s, §1.5).
    pub request_timeout: Duration,
    /// Heartbeat period (30 s, §7.5).
    pub heartbeat_interval: Duration,
    /// Route refresh period (30 s, §7.5).
    pub route_refresh_interval: Duration,
}

impl ClientConfig {
    /// Defaults for the given NameServers.
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(namesrv_addrs: I) -> Self {
        ClientConfig {
            namesrv_addrs: namesrv_addrs.into_iter().map(Into::into).collect(),
            instance_name: "DEFAULT".into(),
            request_timeout: Duration::from_secs(3),
            heartbeat_interval: Duration::from_secs(30),
            route_refresh_interval: Duration::from_secs(30),
        }
    }
}

/// Answers a broker's CHECK_TRANSACTION_STATE for one producer group.
pub(crate) trait TransactionCheckHandler: Send + Sync {
    fn check(&self, conn: Connection, header: CheckTransactionStateRequestHeader, msg: MessageExt);
}

struct ConsumerEntry {
    data: ConsumerData,
    notify: Arc<Notify>,
}

pub(crate) struct Inner {
    pub(crate) config: ClientConfig,
    pub(crate) client_id: String,
    pub(crate) pool: Arc<ConnectionPool>,
    pub(crate) namesrv: NameServerClient,
    pub(crate) routes: RouteCache,
    pub(crate) uniq: UniqKeyGenerator,
    producers: Mutex<BTreeSet<String>>,
    consumers: Mutex<HashMap<String, ConsumerEntry>>,
    checkers: Mutex<HashMap<String, Arc<dyn TransactionCheckHandler>>>,
    known_brokers: Mutex<BTreeSet<String>>,
    shutdown: AtomicBool,
    stop: Notify,
}

/// The shared client state. Cheap to clone; background jobs stop at [`ClientInstance::shutdown`].
#[derive(Clone)]
pub struct ClientInstance {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for ClientInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientInstance")
            .field("client_id", &self.inner.client_id)
            .finish_non_exhaustive()
    }
}

struct Dispatcher {
    target: OnceLock<Weak<Inner>>,
}

impl RequestHandler for Dispatcher {
    fn handle(&self, conn: &Connection, req: RemotingCommand) -> Option<RemotingCommand> {
        let inner = self.target.get().and_then(Weak::upgrade)?;
        match req.code {
            request::CHECK_TRANSACTION_STATE => {
                inner.on_check(conn, &req);
                None
            }
            request::NOTIFY_CONSUMER_IDS_CHANGED => {
                if let Ok(h) = req.decode_header::<NotifyConsumerIdsChangedRequestHeader>() {
                    tracing::debug!(group = %h.consumer_group, "consumer ids changed");
                    if let Ok(c) = inner.consumers.lock() {
                        if let Some(e) = c.get(&h.consumer_group) {
                            e.notify.notify_one();
                        }
                    }
                }
                None
            }
            _ => Some(req.not_supported_response()),
        }
    }
}

static INSTANCE_SEQ: AtomicU32 = AtomicU32::new(0);

/// This host's IPv4 address as routing would use it (no packet is sent), else loopback.
fn local_ip() -> Ipv4Addr {
    UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| {
            s.connect("192.0.2.1:9")?;
            s.local_addr()
        })
        .ok()
        .and_then(|a| match a.ip() {
            std::net::IpAddr::V4(ip) if !ip.is_unspecified() => Some(ip),
            _ => None,
        })
        .unwrap_or(Ipv4Addr::LOCALHOST)
}

impl ClientInstance {
    /// Creates the instance and starts its periodic jobs (needs a tokio runtime).
    pub fn new(config: ClientConfig) -> Result<Self> {
        let dispatcher = Arc::new(Dispatcher {
            target: OnceLock::new(),
        });
        let pool = Arc::new(ConnectionPool::new(dispatcher.clone()));
        let namesrv =
            NameServerClient::new(config.namesrv_addrs.clone(), pool.clone(), config.request_timeout)?;
        let ip = local_ip();
        let instance = if config.instance_name == "DEFAULT" {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            format!(
                "{}#{}{}",
                std::process::id(),
                nanos,
                INSTANCE_SEQ.fetch_add(1, Ordering::Relaxed)
            )
        } else {
            config.instance_name.clone()
        };
        let inner = Arc::new(Inner {
            client_id: format!("{ip}@{instance}"),
            pool,
            namesrv,
            routes: RouteCache::default(),
            uniq: UniqKeyGenerator::new(ip),
            producers: Mutex::new(BTreeSet::new()),
            consumers: Mutex::new(HashMap::new()),
            checkers: Mutex::new(HashMap::new()),
            known_brokers: Mutex::new(BTreeSet::new()),
            shutdown: AtomicBool::new(false),
            stop: Notify::new(),
            config,
        });
        let _ = dispatcher.target.set(Arc::downgrade(&inner));
        tokio::spawn(periodic(Arc::downgrade(&inner)));
        Ok(ClientInstance { inner })
    }

    /// `ip@instance`.
    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    /// The route cache.
    pub fn routes(&self) -> &RouteCache {
        &self.inner.routes
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// Asks the NameServer for `topic`'s route and caches it; `None` if the topic is unknown.
    /// Newly seen brokers get a heartbeat right away.
    pub async fn update_route(&self, topic: &str) -> Result<Option<Arc<TopicRoute>>> {
        self.inner.update_route(topic).await
    }

    /// The cached route of `topic`, fetched if not cached yet.
    pub async fn route(&self, topic: &str) -> Result<Arc<TopicRoute>> {
        if let Some(r) = self.inner.routes.get(topic) {
            return Ok(r);
        }
        self.update_route(topic)
            .await?
            .ok_or_else(|| ClientError::NoRoute(topic.to_owned()))
    }

    /// The master address of `broker_name`.
    pub fn master_addr(&self, broker_name: &str) -> Result<String> {
        self.inner
            .routes
            .master_addr(broker_name)
            .ok_or_else(|| ClientError::NoBroker(broker_name.to_owned()))
    }

    /// Request/response to a broker; an error code becomes [`ClientError::Response`] unless
    /// it is in `accept`.
    pub async fn invoke_broker(
        &self,
        addr: &str,
        cmd: RemotingCommand,
        timeout: Duration,
        accept: &[i32],
    ) -> Result<RemotingCommand> {
        let resp = self.inner.pool.invoke(addr, cmd, timeout).await?;
        if resp.code == response::SUCCESS || accept.contains(&resp.code) {
            Ok(resp)
        } else {
            Err(ClientError::Response {
                addr: addr.to_owned(),
                code: resp.code,
                remark: resp.remark,
            })
        }
    }

    /// Oneway request to a broker.
    pub async fn oneway_broker(&self, addr: &str, cmd: RemotingCommand) -> Result<()> {
        self.inner.pool.oneway(addr, cmd).await
    }

    /// Registers a producer group for heartbeats.
    pub(crate) fn register_producer(&self, group: &str) {
        if let Ok(mut p) = self.inner.producers.lock() {
            p.insert(group.to_owned());
        }
    }

    /// Registers the check-back handler of a transactional producer group.
    pub(crate) fn register_checker(&self, group: &str, checker: Arc<dyn TransactionCheckHandler>) {
        if let Ok(mut c) = self.inner.checkers.lock() {
            c.insert(group.to_owned(), checker);
        }
    }

    /// Registers (or replaces) a consumer group's heartbeat data; the returned [`Notify`] fires
    /// on NOTIFY_CONSUMER_IDS_CHANGED.
    pub(crate) fn register_consumer(&self, data: ConsumerData) -> Arc<Notify> {
        let Ok(mut c) = self.inner.consumers.lock() else {
            return Arc::new(Notify::new());
        };
        let notify = c
            .get(&data.group_name)
            .map(|e| e.notify.clone())
            .unwrap_or_else(|| Arc::new(Notify::new()));
        c.insert(
            data.group_name.clone(),
            ConsumerEntry {
                data,
                notify: notify.clone(),
            },
        );
        notify
    }

    /// Sends HEART_BEAT to every known broker now.
    pub async fn heartbeat_all(&self) {
        self.inner.heartbeat_all().await;
    }

    /// True after [`ClientInstance::shutdown`].
    pub fn is_shutdown(&self) -> bool {
        self.inner.shutdown.load(Ordering::Acquire)
    }

    /// Unregisters every group from every broker, stops the periodic jobs and closes the
    /// connections.
    pub async fn shutdown(&self) {
        if self.inner.shutdown.swap(true, Ordering::AcqRel) {
            return;
        }
        self.inner.stop.notify_waiters();
        let producers: Vec<String> = self
            .inner
            .producers
            .lock()
            .map(|p| p.iter().cloned().collect())
            .unwrap_or_default();
        let consumers: Vec<String> = self
            .inner
            .consumers
            .lock()
            .map(|c| c.keys().cloned().collect())
            .unwrap_or_default();
        for addr in self.inner.routes.all_broker_addrs() {
            let groups = producers
                .iter()
                .map(|g| (Some(g.clone()), None))
                .chain(consumers.iter().map(|g| (None, Some(g.clone()))));
            for (producer_group, consumer_group) in groups {
                let h = UnregisterClientRequestHeader {
                    client_id: self.inner.client_id.clone(),
                    producer_group,
                    consumer_group,
                };
                let cmd = RemotingCommand::request_with_header(request::UNREGISTER_CLIENT, &h);
                let _ = self
                    .inner
                    .pool
                    .invoke(&addr, cmd, self.inner.config.request_timeout)
                    .await;
            }
        }
        self.inner.pool.close_all().await;
    }
}

impl Inner {
    async fn update_route(&self, topic: &str) -> Result<Option<Arc<TopicRoute>>> {
        match self.namesrv.topic_route(topic).await? {
            Some(data) => {
                let route = self.routes.put(topic, data);
                let fresh: Vec<String> = {
                    let mut known = self.known_brokers.lock().map_err(|_| ClientError::Shutdown)?;
                    self.routes
                        .all_broker_addrs()
                        .into_iter()
                        .filter(|a| known.insert(a.clone()))
                        .collect()
                };
                for addr in fresh {
                    self.heartbeat(&addr).await;
                }
                Ok(Some(route))
            }
            None => {
                self.routes.remove(topic);
                Ok(None)
            }
        }
    }

    fn heartbeat_data(&self) -> HeartbeatData {
        let producers = self.producers.lock().map(|p| p.clone()).unwrap_or_default();
        let consumers = self
            .consumers
            .lock()
            .map(|c| c.values().map(|e| e.data.clone()).collect())
            .unwrap_or_default();
        HeartbeatData {
            client_id: self.client_id.clone(),
            consumer_data_set: consumers,
            heartbeat_fingerprint: None,
            producer_data_set: producers
                .into_iter()
                .map(|group_name| ProducerData { group_name })
                .collect(),
            without_sub: None,
        }
    }

    async fn heartbeat(&self, addr: &str) {
        let body = serde_json::to_vec(&self.heartbeat_data()).unwrap_or_default();
        let cmd = RemotingCommand::request(request::HEART_BEAT).with_body(body);
        match self.pool.invoke(addr, cmd, self.config.request_timeout).await {
            Ok(r) if r.code == response::SUCCESS => tracing::trace!(broker = addr, "heartbeat ok"),
            Ok(r) => tracing::warn!(broker = addr, code = r.code, remark = ?r.remark, "heartbeat refused"),
            Err(e) => tracing::warn!(broker = addr, error = %e, "heartbeat failed"),
        }
    }

    async fn heartbeat_all(&self) {
        for addr in self.routes.all_broker_addrs() {
            self.heartbeat(&addr).await;
        }
    }

    fn on_check(&self, conn: &Connection, req: &RemotingCommand) {
        let header = match req.decode_header::<CheckTransactionStateRequestHeader>() {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(error = %e, "bad CHECK_TRANSACTION_STATE header");
                return;
            }
        };
        let Some(msg) = decode_messages(&req.body).into_iter().next() else {
            tracing::warn!("CHECK_TRANSACTION_STATE without a decodable message");
            return;
        };
        let group = msg.property(property::PGROUP).unwrap_or_default().to_owned();
        let checker = self.checkers.lock().ok().and_then(|c| c.get(&group).cloned());
        match checker {
            Some(c) => c.check(conn.clone(), header, msg),
            None => tracing::warn!(group, "transaction check for a group without a listener"),
        }
    }
}

async fn periodic(inner: Weak<Inner>) {
    let (hb, rr) = match inner.upgrade() {
        Some(i) => (i.config.heartbeat_interval, i.config.route_refresh_interval),
        None => return,
    };
    let mut hb_tick = tokio::time::interval(hb);
    let mut rr_tick = tokio::time::interval(rr);
    hb_tick.tick().await;
    rr_tick.tick().await;
    loop {
        let Some(i) = inner.upgrade() else { return };
        if i.shutdown.load(Ordering::Acquire) {
            return;
        }
        tokio::select! {
            _ = hb_tick.tick() => i.heartbeat_all().await,
            _ = rr_tick.tick() => {
                for topic in i.routes.topics() {
                    if let Err(e) = i.update_route(&topic).await {
                        tracing::warn!(topic, error = %e, "route refresh failed");
                    }
                }
            }
            _ = i.stop.notified() => return,
        }
    }
}
