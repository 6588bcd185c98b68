//! NameServer headers (the "route" family): GET_ROUTEINFO_BY_TOPIC (105) — protocol.md
//! §2.3.16; REGISTER_BROKER (103), UNREGISTER_BROKER (104), QUERY_DATA_VERSION (322) — §2.3.17;
//! KV config (100/101/102/219), DELETE_TOPIC_IN_NAMESRV (216), GET_TOPICS_BY_CLUSTER (224),
//! WIPE/ADD_WRITE_PERM_OF_BROKER (205/327) — §2.3.18. GET_BROKER_CLUSTER_INFO (106) and
//! GET_ALL_TOPIC_LIST_FROM_NAMESERVER (206) have no header.

use super::ext_header;
use crate::codes::version;

ext_header! {
    /// GET_ROUTEINFO_BY_TOPIC (105) request. Success body:
    /// [`TopicRouteData`](crate::body::route::TopicRouteData); unknown topic → TOPIC_NOT_EXIST.
    pub struct GetRouteInfoRequestHeader {
        topic: req String = "topic";
        /// Ask for standard JSON (quoted `brokerAddrs` keys) whatever the client version.
        accept_standard_json_only: def bool = "acceptStandardJsonOnly", default false;
    }
}

impl GetRouteInfoRequestHeader {
    /// Whether the route body must be standard JSON for a client of `client_version`:
    /// version ≥ 401 (4.9.4) or `acceptStandardJsonOnly` (§1.7, §2.3.16).
    pub fn wants_standard_json(&self, client_version: i32) -> bool {
        self.accept_standard_json_only || client_version >= version::V4_9_4
    }
}

ext_header! {
    /// REGISTER_BROKER (103) request. Body: [`RegisterBrokerBody`](crate::body::register::RegisterBrokerBody)
    /// JSON, or its zlib-compressed binary form when `compressed`.
    pub struct RegisterBrokerRequestHeader {
        broker_name: req String = "brokerName";
        /// `brokerIP1:listenPort`.
        broker_addr: req String = "brokerAddr";
        cluster_name: req String = "clusterName";
        /// `brokerIP2:haListenPort`.
        ha_server_addr: req String = "haServerAddr";
        /// 0 = master.
        broker_id: req i64 = "brokerId";
        /// Body is the compressed binary form.
        compressed: def bool = "compressed", default false;
        /// CRC32 of the body & 0x7FFFFFFF; 0 = don't check.
        body_crc32: def i32 = "bodyCrc32", default 0;
        /// 5.x; the namesrv's default expiry is 120000.
        heartbeat_timeout_millis: opt i64 = "heartbeatTimeoutMillis";
        /// 5.x.
        enable_acting_master: def bool = "enableActingMaster", default false;
    }
}

ext_header! {
    /// REGISTER_BROKER (103) response: filled only for slaves. Body: the
    /// `ORDER_TOPIC_CONFIG` namespace as a KVTable, or empty.
    pub struct RegisterBrokerResponseHeader {
        ha_server_addr: opt String = "haServerAddr";
        master_addr: opt String = "masterAddr";
    }
}

ext_header! {
    /// UNREGISTER_BROKER (104) request.
    pub struct UnregisterBrokerRequestHeader {
        broker_name: req String = "brokerName";
        broker_addr: req String = "brokerAddr";
        cluster_name: req String = "clusterName";
        broker_id: req i64 = "brokerId";
    }
}

ext_header! {
    /// QUERY_DATA_VERSION (322) request (body: DataVersion JSON).
    pub struct QueryDataVersionRequestHeader {
        broker_name: req String = "brokerName";
        broker_addr: req String = "brokerAddr";
        cluster_name: req String = "clusterName";
        broker_id: req i64 = "brokerId";
    }
}

ext_header! {
    /// QUERY_DATA_VERSION (322) response.
    pub struct QueryDataVersionResponseHeader {
        changed: req bool = "changed";
    }
}

ext_header! {
    /// PUT_KV_CONFIG (100) request.
    pub struct PutKvConfigRequestHeader {
        namespace: req String = "namespace";
        key: req String = "key";
        value: req String = "value";
    }
}

ext_header! {
    /// GET_KV_CONFIG (101) request. Absent → QUERY_NOT_FOUND.
    pub struct GetKvConfigRequestHeader {
        namespace: req String = "namespace";
        key: req String = "key";
    }
}

ext_header! {
    /// GET_KV_CONFIG (101) response.
    pub struct GetKvConfigResponseHeader {
        value: opt String = "value";
    }
}

ext_header! {
    /// DELETE_KV_CONFIG (102) request.
    pub struct DeleteKvConfigRequestHeader {
        namespace: req String = "namespace";
        key: req String = "key";
    }
}

ext_header! {
    /// GET_KVLIST_BY_NAMESPACE (219) request. Body: KVTable, or QUERY_NOT_FOUND.
    pub struct GetKvListByNamespaceRequestHeader {
        namespace: req String = "namespace";
    }
}

ext_header! {
    /// GET_TOPICS_BY_CLUSTER (224) request. Body: TopicList.
    pub struct GetTopicsByClusterRequestHeader {
        cluster: req String = "cluster";
    }
}

ext_header! {
    /// DELETE_TOPIC_IN_NAMESRV (216) request.
    pub struct DeleteTopicFromNamesrvRequestHeader {
        topic: req String = "topic";
        /// 5.x: only this cluster.
        cluster_name: opt String = "clusterName";
    }
}

ext_header! {
    /// WIPE_WRITE_PERM_OF_BROKER (205) and ADD_WRITE_PERM_OF_BROKER (327) request.
    pub struct BrokerNameRequestHeader {
        broker_name: req String = "brokerName";
    }
}

ext_header! {
    /// WIPE_WRITE_PERM_OF_BROKER (205) response.
    pub struct WipeWritePermOfBrokerResponseHeader {
        wipe_topic_count: req i32 = "wipeTopicCount";
    }
}

ext_header! {
    /// ADD_WRITE_PERM_OF_BROKER (327) response.
    pub struct AddWritePermOfBrokerResponseHeader {
        add_topic_count: req i32 = "addTopicCount";
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext::ExtFields;

    #[test]
    fn route_json_flavour() {
        let mut h = GetRouteInfoRequestHeader::from_ext(
            &[("topic".to_string(), "T".to_string())]
                .into_iter()
                .collect::<ExtFields>(),
        )
        .unwrap();
        assert!(!h.wants_standard_json(317));
        assert!(h.wants_standard_json(401));
        h.accept_standard_json_only = true;
        assert!(h.wants_standard_json(121));
    }

    #[test]
    fn register_round_trip() {
        let h = RegisterBrokerRequestHeader {
            broker_name: "broker-a".into(),
            broker_addr: "10.0.0.1:10911".into(),
            cluster_name: "DefaultCluster".into(),
            ha_server_addr: "10.0.0.1:10912".into(),
            broker_id: 0,
            compressed: false,
            body_crc32: 12345,
            heartbeat_timeout_millis: None,
            enable_acting_master: false,
        };
        assert_eq!(RegisterBrokerRequestHeader::from_ext(&h.to_ext()).unwrap(), h);
        let mut e = h.to_ext();
        e.remove("brokerId");
        assert_eq!(
            RegisterBrokerRequestHeader::from_ext(&e).unwrap_err().field(),
            "brokerId"
        );
    }
}
