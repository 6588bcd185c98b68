//! Request codes, protocol.md §2.1 (every entry that has a number of its own).
//!
//! Left out on purpose: 901–908 except the two numbered ones, 2001–2004 (cold data) and the 5.x
//! pop range
//! 200050–200151 (see [`is_pop`]). The broker answers all of them with
//! REQUEST_CODE_NOT_SUPPORTED anyway. The controller codes 1001–1013 (§9.4) are here, and so
//! are sluice's own controller ↔ controller Raft codes ([`is_raft`]).

super::code_table! {
    /// Send one message, long header names (Go, C++ fallback, old Java). §2.3.1
    SEND_MESSAGE = 10;
    /// Pull / long-poll messages from one queue. §2.3.2
    PULL_MESSAGE = 11;
    /// Query by key / unique key through the index. §2.3.3
    QUERY_MESSAGE = 12;
    /// Unused.
    QUERY_BROKER_OFFSET = 13;
    /// Read the committed offset of group/topic/queue. §2.3.13
    QUERY_CONSUMER_OFFSET = 14;
    /// Commit an offset (usually oneway). §2.3.13
    UPDATE_CONSUMER_OFFSET = 15;
    /// Create / update a topic config. §2.3.19
    UPDATE_AND_CREATE_TOPIC = 17;
    /// 5.x batch create.
    UPDATE_AND_CREATE_TOPIC_LIST = 18;
    /// Dump topics.json. §2.3.19
    GET_ALL_TOPIC_CONFIG = 21;
    /// Legacy.
    GET_TOPIC_CONFIG_LIST = 22;
    /// Legacy.
    GET_TOPIC_NAME_LIST = 23;
    /// Body = properties text.
    UPDATE_BROKER_CONFIG = 25;
    /// Body = properties text.
    GET_BROKER_CONFIG = 26;
    TRIGGER_DELETE_FILES = 27;
    /// KVTable of stats. §2.3.20
    GET_BROKER_RUNTIME_INFO = 28;
    /// Queue offset for a time. §2.3.14
    SEARCH_OFFSET_BY_TIMESTAMP = 29;
    /// Next offset to be written in a queue. §2.3.14
    GET_MAX_OFFSET = 30;
    /// First valid offset in a queue. §2.3.14
    GET_MIN_OFFSET = 31;
    /// Store time of the first message in a queue. §2.3.14
    GET_EARLIEST_MSG_STORETIME = 32;
    /// Read one message at a CommitLog offset. §2.3.4
    VIEW_MESSAGE_BY_ID = 33;
    /// Register producer/consumer groups and subscriptions. §2.3.5
    HEART_BEAT = 34;
    /// Remove a client from groups. §2.3.6
    UNREGISTER_CLIENT = 35;
    /// Failed message → retry / DLQ. §2.3.7
    CONSUMER_SEND_MSG_BACK = 36;
    /// Commit / rollback a half message (oneway in Java). §2.3.8
    END_TRANSACTION = 37;
    /// Client ids of a group (rebalance). §2.3.11
    GET_CONSUMER_LIST_BY_GROUP = 38;
    /// Broker → producer: re-decide a half message (oneway). §2.3.9
    CHECK_TRANSACTION_STATE = 39;
    /// Broker → consumer: rebalance now (oneway). §2.3.10
    NOTIFY_CONSUMER_IDS_CHANGED = 40;
    /// Acquire queue locks. §2.3.12
    LOCK_BATCH_MQ = 41;
    /// Release queue locks. §2.3.12
    UNLOCK_BATCH_MQ = 42;
    /// Slave → master: dump consumerOffset.json.
    GET_ALL_CONSUMER_OFFSET = 43;
    /// Slave → master: dump delayOffset.json.
    GET_ALL_DELAY_OFFSET = 45;
    /// Validate a filter expression (SQL92 subscriptions only). §2.3.15
    CHECK_CLIENT_CONFIG = 46;
    /// 4.9 ACL admin: create or update one account of plain_acl.yml (its fields in extFields;
    /// `topicPerms`/`groupPerms` comma-separated). §8
    UPDATE_AND_CREATE_ACL_CONFIG = 50;
    /// 4.9 ACL admin: delete the account `accessKey`. §8
    DELETE_ACL_CONFIG = 51;
    /// 4.9 ACL admin: the ACL files' versions (response header `version`, `allAclFileVersion`
    /// JSON, `brokerName`, `brokerAddr`, `clusterName`; mqadmin clusterAclConfigVersion). §8
    GET_BROKER_CLUSTER_ACL_INFO = 52;
    /// 4.9 ACL admin: replace `globalWhiteRemoteAddresses` (`globalWhiteAddrs`, comma-separated). §8
    UPDATE_GLOBAL_WHITE_ADDRS_CONFIG = 53;
    /// 5.0–5.2 ACL admin: the accounts and global whitelist in force (mqadmin getAclConfig). §8
    GET_BROKER_CLUSTER_ACL_CONFIG = 54;
    /// 5.x.
    GET_CLIENT_CONFIG = 47;
    /// 5.x timer sync.
    GET_TIMER_CHECK_POINT = 60;
    /// 5.x timer sync.
    GET_TIMER_METRICS = 61;
    /// §2.3.18
    PUT_KV_CONFIG = 100;
    /// Namespace/key lookup. §2.3.18
    GET_KV_CONFIG = 101;
    /// §2.3.18
    DELETE_KV_CONFIG = 102;
    /// Broker registration / keep-alive. §2.3.17
    REGISTER_BROKER = 103;
    /// Broker shutdown. §2.3.17
    UNREGISTER_BROKER = 104;
    /// Topic route. §2.3.16
    GET_ROUTEINFO_BY_TOPIC = 105;
    /// All brokers / clusters. §2.3.18
    GET_BROKER_CLUSTER_INFO = 106;
    UPDATE_AND_CREATE_SUBSCRIPTIONGROUP = 200;
    GET_ALL_SUBSCRIPTIONGROUP_CONFIG = 201;
    /// Per-queue min/max offsets. §2.3.20
    GET_TOPIC_STATS_INFO = 202;
    /// Online consumers of a group. §2.3.20
    GET_CONSUMER_CONNECTION_LIST = 203;
    GET_PRODUCER_CONNECTION_LIST = 204;
    WIPE_WRITE_PERM_OF_BROKER = 205;
    GET_ALL_TOPIC_LIST_FROM_NAMESERVER = 206;
    DELETE_SUBSCRIPTIONGROUP = 207;
    /// Lag per queue. §2.3.20
    GET_CONSUME_STATS = 208;
    /// Unused.
    SUSPEND_CONSUMER = 209;
    /// Unused.
    RESUME_CONSUMER = 210;
    RESET_CONSUMER_OFFSET_IN_CONSUMER = 211;
    RESET_CONSUMER_OFFSET_IN_BROKER = 212;
    ADJUST_CONSUMER_THREAD_POOL = 213;
    WHO_CONSUME_THE_MESSAGE = 214;
    DELETE_TOPIC_IN_BROKER = 215;
    DELETE_TOPIC_IN_NAMESRV = 216;
    /// 5.x.
    REGISTER_TOPIC_IN_NAMESRV = 217;
    GET_KVLIST_BY_NAMESPACE = 219;
    /// Broker → client: push new offsets. §2.3.21
    RESET_CONSUMER_CLIENT_OFFSET = 220;
    /// Broker → client.
    GET_CONSUMER_STATUS_FROM_CLIENT = 221;
    /// Reset offsets by time. §2.3.21
    INVOKE_BROKER_TO_RESET_OFFSET = 222;
    INVOKE_BROKER_TO_GET_CONSUMER_STATUS = 223;
    GET_TOPICS_BY_CLUSTER = 224;
    /// 5.x.
    UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST = 225;
    QUERY_TOPIC_CONSUME_BY_WHO = 300;
    /// Obsolete.
    REGISTER_FILTER_SERVER = 301;
    /// Obsolete.
    REGISTER_MESSAGE_FILTER_CLASS = 302;
    QUERY_CONSUME_TIME_SPAN = 303;
    GET_SYSTEM_TOPIC_LIST_FROM_NS = 304;
    GET_SYSTEM_TOPIC_LIST_FROM_BROKER = 305;
    CLEAN_EXPIRED_CONSUMEQUEUE = 306;
    /// Admin → broker → client forward. §2.3.21
    GET_CONSUMER_RUNNING_INFO = 307;
    QUERY_CORRECTION_OFFSET = 308;
    /// Admin → broker → client forward. §2.3.21
    CONSUME_MESSAGE_DIRECTLY = 309;
    /// Send one message, single-letter header names (Java default, ali-ons, C++). §2.3.1
    SEND_MESSAGE_V2 = 310;
    GET_UNIT_TOPIC_LIST = 311;
    GET_HAS_UNIT_SUB_TOPIC_LIST = 312;
    GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST = 313;
    CLONE_GROUP_OFFSET = 314;
    VIEW_BROKER_STATS_DATA = 315;
    CLEAN_UNUSED_TOPIC = 316;
    GET_BROKER_CONSUME_STATS = 317;
    UPDATE_NAMESRV_CONFIG = 318;
    GET_NAMESRV_CONFIG = 319;
    /// Batch send (V2 header). §2.3.1, §3.9
    SEND_BATCH_MESSAGE = 320;
    QUERY_CONSUME_QUEUE = 321;
    /// Broker → namesrv, only when `forceRegister=false`. §2.3.17
    QUERY_DATA_VERSION = 322;
    RESUME_CHECK_HALF_MESSAGE = 323;
    /// Request-reply.
    SEND_REPLY_MESSAGE = 324;
    /// Request-reply, V2 header names.
    SEND_REPLY_MESSAGE_V2 = 325;
    /// Broker → client.
    PUSH_REPLY_MESSAGE_TO_CLIENT = 326;
    ADD_WRITE_PERM_OF_BROKER = 327;
    GET_ALL_PRODUCER_INFO = 328;
    DELETE_EXPIRED_COMMITLOG = 329;
    /// 5.x.
    GET_TOPIC_CONFIG = 351;
    /// 5.x.
    GET_SUBSCRIPTIONGROUP_CONFIG = 352;
    /// 5.1+: a pull whose sysFlag has the lite bit. §2.3.2
    LITE_PULL_MESSAGE = 361;
    /// 5.3.
    RECALL_MESSAGE = 370;
    /// 5.x server-side rebalance.
    QUERY_ASSIGNMENT = 400;
    /// 5.x server-side rebalance.
    SET_MESSAGE_REQUEST_MODE = 401;
    /// 5.x server-side rebalance.
    GET_ALL_MESSAGE_REQUEST_MODE = 402;
    /// 5.x.
    UPDATE_AND_CREATE_STATIC_TOPIC = 513;
    /// 5.x broker container / HA.
    BROKER_HEARTBEAT = 904;
    /// 5.x broker container / HA.
    EXCHANGE_BROKER_HA_INFO = 906;
    /// 5.x: a broker's replication status (mqadmin `haStatus`).
    GET_BROKER_HA_STATUS = 907;
    /// Master → controller: the new in-sync set. §9.4
    CONTROLLER_ALTER_SYNC_STATE_SET = 1001;
    /// Broker → controller: elect a master for my group. §9.4
    CONTROLLER_ELECT_MASTER = 1002;
    /// Broker → controller: register (after its id is applied). §9.4
    CONTROLLER_REGISTER_BROKER = 1003;
    /// Broker → controller: master, epoch and in-sync set of a group. §9.4
    CONTROLLER_GET_REPLICA_INFO = 1004;
    /// Any → controller: the controller group's leader and peers (mqadmin `getControllerMetaData`).
    CONTROLLER_GET_METADATA_INFO = 1005;
    /// Admin → controller: replica info of broker groups (mqadmin `getSyncStateSet`).
    CONTROLLER_GET_SYNC_STATE_DATA = 1006;
    /// Admin → broker: its epoch entries (mqadmin `getBrokerEpoch`).
    GET_BROKER_EPOCH_CACHE = 1007;
    /// Controller → broker, oneway: the group's master changed. §9.4
    NOTIFY_BROKER_ROLE_CHANGED = 1008;
    /// Admin → controller.
    UPDATE_CONTROLLER_CONFIG = 1009;
    /// Admin → controller.
    GET_CONTROLLER_CONFIG = 1010;
    /// Admin → controller: forget a group's (or some ids') metadata.
    CLEAN_BROKER_DATA = 1011;
    /// Broker → controller: the id to apply for. §9.4
    CONTROLLER_GET_NEXT_BROKER_ID = 1012;
    /// Broker → controller: claim a broker id. §9.4
    CONTROLLER_APPLY_BROKER_ID = 1013;
    /// ACL 2.0 (5.3): create a user (`username`; body UserInfo). §8.4
    AUTH_CREATE_USER = 3001;
    /// ACL 2.0: update a user's password, type or status (`username`; body UserInfo). §8.4
    AUTH_UPDATE_USER = 3002;
    /// ACL 2.0: delete a user and its ACL (`username`). §8.4
    AUTH_DELETE_USER = 3003;
    /// ACL 2.0: one user (`username`); body UserInfo, none when absent. §8.4
    AUTH_GET_USER = 3004;
    /// ACL 2.0: users whose name contains `filter`; body `[UserInfo…]`. §8.4
    AUTH_LIST_USER = 3005;
    /// ACL 2.0: add policies to a subject's ACL (`subject`; body AclInfo). §8.4
    AUTH_CREATE_ACL = 3006;
    /// ACL 2.0: same merge as create (`subject`; body AclInfo). §8.4
    AUTH_UPDATE_ACL = 3007;
    /// ACL 2.0: delete a subject's ACL, or one resource of it (`subject`, `policyType`,
    /// `resource`). §8.4
    AUTH_DELETE_ACL = 3008;
    /// ACL 2.0: a subject's ACL (`subject`); body AclInfo. §8.4
    AUTH_GET_ACL = 3009;
    /// ACL 2.0: ACLs filtered by `subjectFilter` / `resourceFilter`; body `[AclInfo…]`. §8.4
    AUTH_LIST_ACL = 3010;
    /// sluice only, controller → controller: Raft AppendEntries (JSON body). Not a RocketMQ code.
    SLUICE_RAFT_APPEND_ENTRIES = 100_001;
    /// sluice only, controller → controller: Raft RequestVote (JSON body).
    SLUICE_RAFT_VOTE = 100_002;
    /// sluice only, controller → controller: one chunk of a Raft snapshot (JSON body).
    SLUICE_RAFT_INSTALL_SNAPSHOT = 100_003;
}

/// sluice's private controller ↔ controller Raft codes (100001–100003): outside every range
/// RocketMQ assigns, so a RocketMQ peer answers them REQUEST_CODE_NOT_SUPPORTED.
pub fn is_raft(code: i32) -> bool {
    (SLUICE_RAFT_APPEND_ENTRIES..=SLUICE_RAFT_INSTALL_SNAPSHOT).contains(&code)
}

/// The send family: single (10, 310), batch (320) and request-reply (324, 325). §2.3.1
pub fn is_send(code: i32) -> bool {
    matches!(
        code,
        SEND_MESSAGE | SEND_MESSAGE_V2 | SEND_BATCH_MESSAGE | SEND_REPLY_MESSAGE | SEND_REPLY_MESSAGE_V2
    )
}

/// Codes whose send header uses the single-letter V2 keys (`a`…`n`). §2.3.1
pub fn uses_send_v2_header(code: i32) -> bool {
    matches!(code, SEND_MESSAGE_V2 | SEND_BATCH_MESSAGE | SEND_REPLY_MESSAGE_V2)
}

/// The 5.x pop-consumption range (POP_MESSAGE … BATCH_ACK, 200050–200151, §2.1). These codes
/// do not fit the i16 code of the binary header.
pub fn is_pop(code: i32) -> bool {
    (200_050..=200_151).contains(&code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_uniqueness() {
        assert_eq!(name(310), Some("SEND_MESSAGE_V2"));
        assert_eq!(name(105), Some("GET_ROUTEINFO_BY_TOPIC"));
        assert_eq!(name(9999), None);
        let mut seen = std::collections::BTreeSet::new();
        for (code, _) in ALL {
            assert!(seen.insert(*code), "duplicate request code {code}");
        }
        assert!(is_send(320) && uses_send_v2_header(320) && !uses_send_v2_header(10));
        assert!(is_pop(200_050) && !is_pop(310));
        assert!(is_raft(SLUICE_RAFT_VOTE) && !is_raft(CONTROLLER_ELECT_MASTER));
        assert!(ALL.iter().all(|(c, _)| !is_raft(*c) || *c >= 100_000));
    }
}
