//! Controller-mode headers (RocketMQ 5.x, protocol.md §9.4): broker ↔ controller and
//! admin ↔ controller. Bodies: [`crate::body::controller`].

use super::ext_header;

ext_header! {
    /// BROKER_HEARTBEAT (904), broker → every controller, every `brokerHeartbeatInterval`.
    pub struct BrokerHeartbeatRequestHeader {
        cluster_name: req String = "clusterName";
        broker_addr: req String = "brokerAddr";
        broker_name: req String = "brokerName";
        broker_id: opt i64 = "brokerId";
        epoch: opt i32 = "epoch";
        max_offset: opt i64 = "maxOffset";
        confirm_offset: opt i64 = "confirmOffset";
        /// How long the controller may wait for the next heartbeat (5.x default 10 s).
        heartbeat_timeout_mills: opt i64 = "heartbeatTimeoutMills";
        election_priority: opt i32 = "electionPriority";
    }
}

ext_header! {
    /// CONTROLLER_ALTER_SYNC_STATE_SET (1001) request; body [`SyncStateSet`](crate::body::controller::SyncStateSet).
    pub struct AlterSyncStateSetRequestHeader {
        broker_name: req String = "brokerName";
        master_broker_id: req i64 = "masterBrokerId";
        master_epoch: req i32 = "masterEpoch";
        invoke_time: def i64 = "invokeTime", default 0;
    }
}

ext_header! {
    /// CONTROLLER_ALTER_SYNC_STATE_SET (1001) response.
    pub struct AlterSyncStateSetResponseHeader {
        new_sync_state_set_epoch: req i32 = "newSyncStateSetEpoch";
    }
}

ext_header! {
    /// CONTROLLER_ELECT_MASTER (1002) request. `brokerId` -1 (or absent): elect by policy.
    pub struct ElectMasterRequestHeader {
        cluster_name: def String = "clusterName", default String::new();
        broker_name: req String = "brokerName";
        broker_id: def i64 = "brokerId", default -1;
        designate_elect: def bool = "designateElect", default false;
        invoke_time: def i64 = "invokeTime", default 0;
    }
}

ext_header! {
    /// The master of a group as CONTROLLER_ELECT_MASTER (1002) answers it (the 1003 answer
    /// adds cluster and broker name: [`RegisterBrokerToControllerResponseHeader`]).
    pub struct ElectMasterResponseHeader {
        master_broker_id: opt i64 = "masterBrokerId";
        master_address: opt String = "masterAddress";
        master_epoch: opt i32 = "masterEpoch";
        sync_state_set_epoch: opt i32 = "syncStateSetEpoch";
    }
}

ext_header! {
    /// CONTROLLER_REGISTER_BROKER (1003) request.
    pub struct RegisterBrokerToControllerRequestHeader {
        cluster_name: req String = "clusterName";
        broker_name: req String = "brokerName";
        broker_id: req i64 = "brokerId";
        broker_address: req String = "brokerAddress";
        invoke_time: def i64 = "invokeTime", default 0;
    }
}

ext_header! {
    /// CONTROLLER_REGISTER_BROKER (1003) response; body [`SyncStateSet`](crate::body::controller::SyncStateSet).
    /// The master fields are absent while the group has no live master.
    pub struct RegisterBrokerToControllerResponseHeader {
        cluster_name: opt String = "clusterName";
        broker_name: opt String = "brokerName";
        master_broker_id: opt i64 = "masterBrokerId";
        master_address: opt String = "masterAddress";
        master_epoch: opt i32 = "masterEpoch";
        sync_state_set_epoch: opt i32 = "syncStateSetEpoch";
    }
}

ext_header! {
    /// CONTROLLER_GET_REPLICA_INFO (1004) request.
    pub struct GetReplicaInfoRequestHeader {
        broker_name: req String = "brokerName";
    }
}

ext_header! {
    /// CONTROLLER_GET_REPLICA_INFO (1004) response; body [`SyncStateSet`](crate::body::controller::SyncStateSet).
    pub struct GetReplicaInfoResponseHeader {
        master_broker_id: opt i64 = "masterBrokerId";
        master_address: opt String = "masterAddress";
        master_epoch: opt i32 = "masterEpoch";
    }
}

ext_header! {
    /// CONTROLLER_GET_METADATA_INFO (1005) response (no request header). `peers` is
    /// `id:address;` per controller.
    pub struct GetMetaDataResponseHeader {
        group: opt String = "group";
        controller_leader_id: opt String = "controllerLeaderId";
        controller_leader_address: opt String = "controllerLeaderAddress";
        is_leader: def bool = "isLeader", default false;
        peers: opt String = "peers";
    }
}

ext_header! {
    /// CONTROLLER_GET_NEXT_BROKER_ID (1012) request.
    pub struct GetNextBrokerIdRequestHeader {
        cluster_name: req String = "clusterName";
        broker_name: req String = "brokerName";
    }
}

ext_header! {
    /// CONTROLLER_GET_NEXT_BROKER_ID (1012) response.
    pub struct GetNextBrokerIdResponseHeader {
        cluster_name: opt String = "clusterName";
        broker_name: opt String = "brokerName";
        next_broker_id: req i64 = "nextBrokerId";
    }
}

ext_header! {
    /// CONTROLLER_APPLY_BROKER_ID (1013) request. `registerCheckCode` is
    /// `brokerAddress;timestamp`: a broker re-applying with the same code gets its id back.
    pub struct ApplyBrokerIdRequestHeader {
        cluster_name: req String = "clusterName";
        broker_name: req String = "brokerName";
        applied_broker_id: req i64 = "appliedBrokerId";
        register_check_code: req String = "registerCheckCode";
    }
}

ext_header! {
    /// CONTROLLER_APPLY_BROKER_ID (1013) response.
    pub struct ApplyBrokerIdResponseHeader {
        cluster_name: opt String = "clusterName";
        broker_name: opt String = "brokerName";
    }
}

ext_header! {
    /// NOTIFY_BROKER_ROLE_CHANGED (1008), controller → each live broker of a group, oneway,
    /// after an election; body [`SyncStateSet`](crate::body::controller::SyncStateSet).
    pub struct NotifyBrokerRoleChangedRequestHeader {
        master_address: opt String = "masterAddress";
        master_epoch: opt i32 = "masterEpoch";
        sync_state_set_epoch: opt i32 = "syncStateSetEpoch";
        master_broker_id: opt i64 = "masterBrokerId";
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext::from_pairs as ext;

    #[test]
    fn java_field_names_round_trip() {
        let e = ext(&[
            ("clusterName", "c"),
            ("brokerAddr", "127.0.0.1:10911"),
            ("brokerName", "broker-a"),
            ("brokerId", "2"),
            ("epoch", "3"),
            ("maxOffset", "100"),
            ("confirmOffset", "90"),
            ("heartbeatTimeoutMills", "10000"),
            ("electionPriority", "0"),
        ]);
        let h = BrokerHeartbeatRequestHeader::from_ext(&e).unwrap();
        assert_eq!(h.broker_id, Some(2));
        assert_eq!(h.heartbeat_timeout_mills, Some(10_000));
        assert_eq!(h.to_ext(), e);
        let m = GetMetaDataResponseHeader::from_ext(&ext(&[("isLeader", "true")])).unwrap();
        assert!(m.is_leader && m.controller_leader_address.is_none());
        let el = ElectMasterRequestHeader::from_ext(&ext(&[("brokerName", "b")])).unwrap();
        assert_eq!((el.broker_id, el.designate_elect), (-1, false));
        assert_eq!(
            AlterSyncStateSetRequestHeader::from_ext(&ext(&[("brokerName", "b")]))
                .unwrap_err()
                .field(),
            "masterBrokerId"
        );
    }
}
