//! The NameServer's request handler: request code → route table / KV config operation →
//! response (protocol.md §2.3.16–§2.3.18). Everything here is synchronous and short; no lock is
//! held across an await.
//!
//! One file per family: `kv`, `broker` (registration, write permission), `topics`
//! (routes, topic lists), `config`; the dispatch by code is [`NamesrvHandler::process`].
//!
//! Codes served: 100–106, 205, 206, 216, 219, 224, 304, 311–313, 318, 319, 322, 327. Anything
//! else gets REQUEST_CODE_NOT_SUPPORTED. A header that does not parse gets SYSTEM_ERROR with the
//! field named in the remark.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use sluice_remoting::body::register::{RegisterBrokerBody, TopicConfigSerializeWrapper};
use sluice_remoting::body::{DataVersion, JsonBody, KvTable, TopicList};
use sluice_remoting::codes::{describe_request, request, response, version};
use sluice_remoting::header::route::{
    AddWritePermOfBrokerResponseHeader, BrokerNameRequestHeader, DeleteKvConfigRequestHeader,
    DeleteTopicFromNamesrvRequestHeader, GetKvConfigRequestHeader, GetKvConfigResponseHeader,
    GetKvListByNamespaceRequestHeader, GetRouteInfoRequestHeader, GetTopicsByClusterRequestHeader,
    PutKvConfigRequestHeader, QueryDataVersionRequestHeader, QueryDataVersionResponseHeader,
    RegisterBrokerRequestHeader, RegisterBrokerResponseHeader, UnregisterBrokerRequestHeader,
    WipeWritePermOfBrokerResponseHeader,
};
use sluice_remoting::{CommandHeader, DecoderLimits, RemotingCommand};

use super::config::NamesrvConfig;
use super::kv::{KvConfig, NAMESPACE_ORDER_TOPIC_CONFIG};
use super::route_table::{BrokerRegistration, RemovedBroker, RouteTable};
use sluice_remoting::net::{Connection, Handler, Outbound};

mod broker;
mod config;
mod kv;
mod topics;

/// REGISTER_BROKER bodies grow with the topic count: accept frames and bodies up to 16 MiB.
const MAX_FRAME: usize = 16 << 20;

/// The NameServer: its route table, KV config and settings, and the request dispatch.
#[derive(Debug)]
pub struct NamesrvHandler {
    routes: RwLock<RouteTable>,
    kv: Mutex<KvConfig>,
    config: RwLock<NamesrvConfig>,
    /// `aclEnable=true`: write requests need an admin account.
    acl: Option<Arc<crate::acl::Acl>>,
}

/// The requests that change the NameServer's state; with `aclEnable=true` they need an admin
/// account (the others, route and config reads, stay open as clients need them).
const WRITE_CODES: &[i32] = &[
    request::PUT_KV_CONFIG,
    request::DELETE_KV_CONFIG,
    request::REGISTER_BROKER,
    request::UNREGISTER_BROKER,
    request::WIPE_WRITE_PERM_OF_BROKER,
    request::ADD_WRITE_PERM_OF_BROKER,
    request::DELETE_TOPIC_IN_NAMESRV,
    request::UPDATE_NAMESRV_CONFIG,
];

/// A response, or the error response that replaces it.
type Reply = Result<RemotingCommand, RemotingCommand>;

fn header<H: CommandHeader>(cmd: &RemotingCommand) -> Result<H, RemotingCommand> {
    cmd.decode_header::<H>()
        .map_err(|e| cmd.header_error_response(&e))
}

fn system_error(cmd: &RemotingCommand, remark: impl Into<String>) -> RemotingCommand {
    cmd.error_response(response::SYSTEM_ERROR, remark)
}

fn topic_list_body(topics: Vec<String>) -> Vec<u8> {
    TopicList {
        broker_addr: None,
        topic_list: topics,
    }
    .to_json()
}

impl NamesrvHandler {
    /// A NameServer with an empty route table.
    pub fn new(config: NamesrvConfig, kv: KvConfig) -> Self {
        NamesrvHandler {
            routes: RwLock::new(RouteTable::new()),
            kv: Mutex::new(kv),
            config: RwLock::new(config),
            acl: None,
        }
    }

    /// The same NameServer with ACL 1.0 on its write requests.
    pub fn with_acl(mut self, acl: Arc<crate::acl::Acl>) -> Self {
        self.acl = Some(acl);
        self
    }

    /// NO_PERMISSION when ACL is on, `cmd` writes, and its sender is not an admin account.
    fn refused(&self, peer: std::net::IpAddr, cmd: &RemotingCommand) -> Option<RemotingCommand> {
        let acl = self.acl.as_ref().filter(|_| WRITE_CODES.contains(&cmd.code))?;
        let denied = acl.check(peer, cmd, &crate::acl::perm::Rule::Admin).err()?;
        tracing::info!(%peer, code = cmd.code, reason = %denied, "ACL refused a NameServer write");
        Some(cmd.error_response(response::NO_PERMISSION, denied.0))
    }

    fn routes(&self) -> RwLockReadGuard<'_, RouteTable> {
        self.routes.read().unwrap_or_else(|e| e.into_inner())
    }

    fn routes_mut(&self) -> RwLockWriteGuard<'_, RouteTable> {
        self.routes.write().unwrap_or_else(|e| e.into_inner())
    }

    fn kv(&self) -> MutexGuard<'_, KvConfig> {
        self.kv.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A copy of the current settings.
    pub fn config(&self) -> NamesrvConfig {
        self.config.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Reads the route table.
    #[cfg(test)]
    pub fn with_routes<R>(&self, f: impl FnOnce(&RouteTable) -> R) -> R {
        f(&self.routes())
    }

    /// How long the expiry scanner sleeps between scans.
    pub fn scan_interval(&self) -> Duration {
        self.config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .scan_interval
    }

    /// One expiry scan: drops brokers silent for longer than their expiry.
    pub fn scan_expired(&self, now: Instant) -> Vec<RemovedBroker> {
        let expiry = self
            .config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .broker_expiry;
        let removed = self.routes_mut().scan_expired(now, expiry);
        for r in &removed {
            tracing::warn!(
                broker_addr = %r.broker_addr,
                removed_broker_names = ?r.removed_broker_names,
                "broker expired: no registration within its expiry"
            );
        }
        removed
    }

    /// A connection closed: drops the brokers that registered on it.
    pub fn on_connection_closed(&self, conn_id: u64) -> Vec<RemovedBroker> {
        let removed = self.routes_mut().on_connection_closed(conn_id);
        for r in &removed {
            tracing::info!(
                broker_addr = %r.broker_addr,
                removed_broker_names = ?r.removed_broker_names,
                "broker connection closed; broker removed"
            );
        }
        removed
    }

    /// Answers one request that arrived on connection `conn_id`; `None` for a request code the
    /// NameServer does not serve.
    pub fn process(&self, conn_id: Option<u64>, cmd: &RemotingCommand) -> Option<RemotingCommand> {
        let reply = match cmd.code {
            request::PUT_KV_CONFIG => self.put_kv_config(cmd),
            request::GET_KV_CONFIG => self.get_kv_config(cmd),
            request::DELETE_KV_CONFIG => self.delete_kv_config(cmd),
            request::GET_KVLIST_BY_NAMESPACE => self.get_kv_list(cmd),
            request::REGISTER_BROKER => self.register_broker(conn_id, cmd),
            request::UNREGISTER_BROKER => self.unregister_broker(cmd),
            request::QUERY_DATA_VERSION => self.query_data_version(cmd),
            request::GET_ROUTEINFO_BY_TOPIC => self.get_route(cmd),
            request::GET_BROKER_CLUSTER_INFO => Ok(cmd
                .success_response()
                .with_body(self.routes().cluster_info().to_json())),
            request::WIPE_WRITE_PERM_OF_BROKER => self.write_perm(cmd, false),
            request::ADD_WRITE_PERM_OF_BROKER => self.write_perm(cmd, true),
            request::GET_ALL_TOPIC_LIST_FROM_NAMESERVER => Ok(cmd
                .success_response()
                .with_body(topic_list_body(self.routes().all_topics()))),
            request::DELETE_TOPIC_IN_NAMESRV => self.delete_topic(cmd),
            request::GET_TOPICS_BY_CLUSTER => self.topics_by_cluster(cmd),
            request::GET_SYSTEM_TOPIC_LIST_FROM_NS => Ok(cmd
                .success_response()
                .with_body(self.routes().system_topics().to_json())),
            request::GET_UNIT_TOPIC_LIST => Ok(self.sys_flag_topics(cmd, true, false, false)),
            request::GET_HAS_UNIT_SUB_TOPIC_LIST => Ok(self.sys_flag_topics(cmd, false, true, false)),
            request::GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST => Ok(self.sys_flag_topics(cmd, false, true, true)),
            request::UPDATE_NAMESRV_CONFIG => self.update_config(cmd),
            request::GET_NAMESRV_CONFIG => Ok(cmd
                .success_response()
                .with_body(self.config().to_properties().into_bytes())),
            _ => return None,
        };
        Some(reply.unwrap_or_else(|e| e))
    }
}

impl Handler for NamesrvHandler {
    fn handle(
        &self,
        conn: &Arc<Connection>,
        cmd: RemotingCommand,
    ) -> impl Future<Output = Option<Outbound>> + Send {
        if let Some(no) = self.refused(conn.peer().ip(), &cmd) {
            return std::future::ready(Some(Outbound::from(no)));
        }
        let out = match self.process(Some(conn.id()), &cmd) {
            Some(resp) => Outbound::from(resp),
            None => {
                tracing::debug!(code = %describe_request(cmd.code), peer = %conn.peer(), "request code not supported");
                sluice_remoting::net::not_supported(&cmd)
            }
        };
        std::future::ready(Some(out))
    }

    fn on_close(&self, conn: &Arc<Connection>) {
        self.on_connection_closed(conn.id());
    }

    fn limits(&self) -> DecoderLimits {
        DecoderLimits {
            max_frame: MAX_FRAME,
            max_body: MAX_FRAME,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_remoting::body::register::TopicConfig;
    use sluice_remoting::body::route::TopicRouteData;

    fn handler() -> NamesrvHandler {
        NamesrvHandler::new(NamesrvConfig::default(), KvConfig::in_memory())
    }

    fn register_cmd(topics: &[&str]) -> RemotingCommand {
        let mut body = RegisterBrokerBody::default();
        for t in topics {
            body.topic_config_serialize_wrapper
                .topic_config_table
                .insert((*t).into(), TopicConfig::new(*t, 4));
        }
        let bytes = body.to_json();
        RemotingCommand::request(request::REGISTER_BROKER)
            .with_header(&RegisterBrokerRequestHeader {
                broker_name: "broker-a".into(),
                broker_addr: "127.0.0.1:10911".into(),
                cluster_name: "DefaultCluster".into(),
                ha_server_addr: "127.0.0.1:10912".into(),
                broker_id: 0,
                compressed: false,
                body_crc32: sluice_storage::record::body_crc(&bytes) as i32,
                heartbeat_timeout_millis: None,
                enable_acting_master: false,
            })
            .with_body(bytes)
    }

    fn route_cmd(topic: &str, version: i32) -> RemotingCommand {
        RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC)
            .with_ext("topic", topic)
            .with_version(version)
    }

    #[test]
    fn route_json_flavours_and_order_conf() {
        let h = handler();
        assert_eq!(h.process(Some(1), &register_cmd(&["T"])).map(|r| r.code), Some(0));
        let old = h.process(None, &route_cmd("T", 317)).unwrap();
        assert_eq!(old.code, 0);
        let text = String::from_utf8(old.body.to_vec()).unwrap();
        assert!(text.contains(r#""brokerAddrs":{0:"127.0.0.1:10911"}"#), "{text}");
        let new = h.process(None, &route_cmd("T", 409)).unwrap();
        let text = String::from_utf8(new.body.to_vec()).unwrap();
        assert!(
            text.contains(r#""brokerAddrs":{"0":"127.0.0.1:10911"}"#),
            "{text}"
        );
        assert!(!text.contains("orderTopicConf"));

        // ORDER_TOPIC_CONFIG is returned only with orderMessageEnable.
        let put = RemotingCommand::request(request::PUT_KV_CONFIG)
            .with_ext("namespace", NAMESPACE_ORDER_TOPIC_CONFIG)
            .with_ext("key", "T")
            .with_ext("value", "broker-a:4");
        assert_eq!(h.process(None, &put).unwrap().code, 0);
        let upd =
            RemotingCommand::request(request::UPDATE_NAMESRV_CONFIG).with_body("orderMessageEnable=true\n");
        assert_eq!(h.process(None, &upd).unwrap().code, 0);
        let r = h.process(None, &route_cmd("T", 409)).unwrap();
        let route = TopicRouteData::from_json(&r.body).unwrap();
        assert_eq!(route.order_topic_conf.as_deref(), Some("broker-a:4"));
        // …and the registering broker gets the namespace back.
        let r = h.process(Some(1), &register_cmd(&["T"])).unwrap();
        assert_eq!(KvTable::from_json(&r.body).unwrap().table["T"], "broker-a:4");
    }

    #[test]
    fn errors() {
        let h = handler();
        let r = h.process(None, &route_cmd("Nope", 409)).unwrap();
        assert_eq!(r.code, response::TOPIC_NOT_EXIST);
        assert_eq!(
            r.remark.as_deref(),
            Some("No topic route info in name server for the topic: Nope")
        );
        let r = h
            .process(None, &RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC))
            .unwrap();
        assert_eq!(r.code, response::SYSTEM_ERROR);
        assert!(r.remark.unwrap().contains("<topic>"));
        assert!(h.process(None, &RemotingCommand::request(999)).is_none());

        let mut bad_crc = register_cmd(&["T"]);
        bad_crc.ext_fields.insert("bodyCrc32".into(), "12345".into());
        let r = h.process(None, &bad_crc).unwrap();
        assert_eq!((r.code, r.remark.as_deref()), (1, Some("crc32 not match")));
        let mut garbage = register_cmd(&[]).with_body(&b"{\"topicConfigSerializeWrapper\":[1,2"[..]);
        garbage.ext_fields.remove("bodyCrc32");
        assert_eq!(h.process(None, &garbage).unwrap().code, response::SYSTEM_ERROR);
        let mut compressed = register_cmd(&["T"]);
        compressed.ext_fields.insert("compressed".into(), "true".into());
        let r = h.process(None, &compressed).unwrap();
        assert!(r.remark.unwrap().contains("compressedRegister=false"));
        assert_eq!(h.with_routes(|r| r.live_broker_count()), 0);

        let get = RemotingCommand::request(request::GET_KV_CONFIG)
            .with_ext("namespace", "NS")
            .with_ext("key", "k");
        let r = h.process(None, &get).unwrap();
        assert_eq!(r.code, response::QUERY_NOT_FOUND);
        assert_eq!(r.remark.as_deref(), Some("No config item, Namespace: NS Key: k"));
        let list = RemotingCommand::request(request::GET_KVLIST_BY_NAMESPACE).with_ext("namespace", "NS");
        assert_eq!(h.process(None, &list).unwrap().code, response::QUERY_NOT_FOUND);

        let upd = RemotingCommand::request(request::UPDATE_NAMESRV_CONFIG).with_body("kvConfigPath=/etc/x\n");
        assert_eq!(h.process(None, &upd).unwrap().code, response::NO_PERMISSION);
        let upd = RemotingCommand::request(request::UPDATE_NAMESRV_CONFIG).with_body("listenPort=x\n");
        let r = h.process(None, &upd).unwrap();
        assert_eq!(r.code, response::SYSTEM_ERROR);
        assert!(r.remark.unwrap().contains("listenPort"));
    }

    #[test]
    fn kv_and_admin_codes() {
        let h = handler();
        let put = RemotingCommand::request(request::PUT_KV_CONFIG)
            .with_ext("namespace", "NS")
            .with_ext("key", "k")
            .with_ext("value", "v");
        assert_eq!(h.process(None, &put).unwrap().code, 0);
        let get = RemotingCommand::request(request::GET_KV_CONFIG)
            .with_ext("namespace", "NS")
            .with_ext("key", "k");
        let r = h.process(None, &get).unwrap();
        assert_eq!((r.code, r.ext("value")), (0, Some("v")));
        let list = RemotingCommand::request(request::GET_KVLIST_BY_NAMESPACE).with_ext("namespace", "NS");
        assert_eq!(
            h.process(None, &list).unwrap().body.as_ref(),
            br#"{"table":{"k":"v"}}"#
        );
        let del = RemotingCommand::request(request::DELETE_KV_CONFIG)
            .with_ext("namespace", "NS")
            .with_ext("key", "k");
        assert_eq!(h.process(None, &del).unwrap().code, 0);
        assert_eq!(h.process(None, &get).unwrap().code, response::QUERY_NOT_FOUND);

        h.process(Some(1), &register_cmd(&["T", "U"]));
        let wipe =
            RemotingCommand::request(request::WIPE_WRITE_PERM_OF_BROKER).with_ext("brokerName", "broker-a");
        let r = h.process(None, &wipe).unwrap();
        assert_eq!(r.ext("wipeTopicCount"), Some("2"));
        let add =
            RemotingCommand::request(request::ADD_WRITE_PERM_OF_BROKER).with_ext("brokerName", "broker-a");
        assert_eq!(h.process(None, &add).unwrap().ext("addTopicCount"), Some("2"));

        let dv = RemotingCommand::request(request::QUERY_DATA_VERSION)
            .with_ext("brokerName", "broker-a")
            .with_ext("brokerAddr", "127.0.0.1:10911")
            .with_ext("clusterName", "DefaultCluster")
            .with_ext("brokerId", "0")
            .with_body(DataVersion::default().to_json());
        let r = h.process(None, &dv).unwrap();
        assert_eq!((r.code, r.ext("changed")), (0, Some("false")));
        assert_eq!(DataVersion::from_json(&r.body).unwrap(), DataVersion::default());

        let sys = h
            .process(
                None,
                &RemotingCommand::request(request::GET_SYSTEM_TOPIC_LIST_FROM_NS),
            )
            .unwrap();
        let list = TopicList::from_json(&sys.body).unwrap();
        assert_eq!(list.topic_list, ["DefaultCluster", "broker-a"]);
        assert_eq!(list.broker_addr.as_deref(), Some("127.0.0.1:10911"));
        let cfg = h
            .process(None, &RemotingCommand::request(request::GET_NAMESRV_CONFIG))
            .unwrap();
        assert!(String::from_utf8_lossy(&cfg.body).contains("listenPort=9876\n"));

        let del = RemotingCommand::request(request::DELETE_TOPIC_IN_NAMESRV).with_ext("topic", "T");
        assert_eq!(h.process(None, &del).unwrap().code, 0);
        let all = h
            .process(
                None,
                &RemotingCommand::request(request::GET_ALL_TOPIC_LIST_FROM_NAMESERVER),
            )
            .unwrap();
        assert_eq!(all.body.as_ref(), br#"{"topicList":["U"]}"#);
        let by_cluster =
            RemotingCommand::request(request::GET_TOPICS_BY_CLUSTER).with_ext("cluster", "DefaultCluster");
        assert_eq!(
            h.process(None, &by_cluster).unwrap().body.as_ref(),
            br#"{"topicList":["U"]}"#
        );
        assert_eq!(h.on_connection_closed(1).len(), 1);
        assert_eq!(h.process(None, &route_cmd("U", 409)).unwrap().code, 17);
    }
}
