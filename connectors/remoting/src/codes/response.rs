//! Response codes, protocol.md §2.2.
//!
//! 209–211 were re-used with a different meaning in 5.x; the table names them by their 5.x
//! meaning and [`UPDATE_AND_CREATE_ACL_CONFIG_FAILED`] and friends are the 4.9 aliases.
//! The 5.x CONTROLLER_* codes 2000–2016 are RocketMQ 5.3's (protocol.md §9.4).

super::code_table! {
    SUCCESS = 0;
    /// Generic failure, also ACL denial in 4.9.
    SYSTEM_ERROR = 1;
    /// Flow control; producers retry.
    SYSTEM_BUSY = 2;
    REQUEST_CODE_NOT_SUPPORTED = 3;
    TRANSACTION_FAILED = 4;
    /// Stored, but the sync flush timed out — still a success for the client.
    FLUSH_DISK_TIMEOUT = 10;
    /// SYNC_MASTER with no usable slave — the client treats it as stored.
    SLAVE_NOT_AVAILABLE = 11;
    /// SYNC_MASTER slave ack timed out — the client treats it as stored.
    FLUSH_SLAVE_TIMEOUT = 12;
    /// Body/properties too large, bad topic length, bad timer.
    MESSAGE_ILLEGAL = 13;
    /// Disk full, slave, shutting down.
    SERVICE_NOT_AVAILABLE = 14;
    VERSION_NOT_SUPPORTED = 15;
    /// Perm bits / forbidden topic / ACL.
    NO_PERMISSION = 16;
    TOPIC_NOT_EXIST = 17;
    TOPIC_EXIST_ALREADY = 18;
    /// No new message (after long polling).
    PULL_NOT_FOUND = 19;
    /// Client re-pulls at nextBeginOffset immediately.
    PULL_RETRY_IMMEDIATELY = 20;
    /// Requested offset invalid; the client jumps to nextBeginOffset.
    PULL_OFFSET_MOVED = 21;
    /// Offset / KV / index query found nothing.
    QUERY_NOT_FOUND = 22;
    SUBSCRIPTION_PARSE_FAILED = 23;
    SUBSCRIPTION_NOT_EXIST = 24;
    SUBSCRIPTION_NOT_LATEST = 25;
    SUBSCRIPTION_GROUP_NOT_EXIST = 26;
    FILTER_DATA_NOT_EXIST = 27;
    FILTER_DATA_NOT_LATEST = 28;
    /// 5.x only.
    INVALID_PARAMETER = 29;
    TRANSACTION_SHOULD_COMMIT = 200;
    TRANSACTION_SHOULD_ROLLBACK = 201;
    /// (sic)
    TRANSACTION_STATE_UNKNOW = 202;
    TRANSACTION_STATE_GROUP_WRONG = 203;
    NO_BUYER_ID = 204;
    NOT_IN_CURRENT_UNIT = 205;
    /// Admin queries for offline groups.
    CONSUMER_NOT_ONLINE = 206;
    CONSUME_MSG_TIMEOUT = 207;
    NO_MESSAGE = 208;
    /// 5.x meaning; 4.9: [`UPDATE_AND_CREATE_ACL_CONFIG_FAILED`].
    POLLING_FULL = 209;
    /// 5.x meaning; 4.9: [`DELETE_ACL_CONFIG_FAILED`].
    POLLING_TIMEOUT = 210;
    /// 5.x meaning; 4.9: [`UPDATE_GLOBAL_WHITE_ADDRS_CONFIG_FAILED`].
    BROKER_NOT_EXIST = 211;
    /// 5.x.
    BROKER_DISPATCH_NOT_COMPLETE = 212;
    /// 5.x.
    BROADCAST_CONSUMPTION = 213;
    /// The client backs off 20 ms on pull.
    FLOW_CONTROL = 215;
    /// 5.x static topics.
    NOT_LEADER_FOR_QUEUE = 501;
    /// 5.x.
    ILLEGAL_OPERATION = 604;
    /// 5.x proxy graceful shutdown.
    GO_AWAY = 1500;
    /// Controller: the request's master epoch is not the current one.
    CONTROLLER_FENCED_MASTER_EPOCH = 2000;
    /// Controller: the request's SyncStateSet epoch is not the current one.
    CONTROLLER_FENCED_SYNC_STATE_SET_EPOCH = 2001;
    /// Controller: the sender is not the group's master.
    CONTROLLER_INVALID_MASTER = 2002;
    /// Controller: a replica in the new SyncStateSet is unknown.
    CONTROLLER_INVALID_REPLICAS = 2003;
    /// Controller: no master could be elected.
    CONTROLLER_MASTER_NOT_AVAILABLE = 2004;
    CONTROLLER_INVALID_REQUEST = 2005;
    /// Controller: a replica in the new SyncStateSet is not alive.
    CONTROLLER_BROKER_NOT_ALIVE = 2006;
    /// Controller: this controller is not the Raft leader (remark and ext name the leader).
    CONTROLLER_NOT_LEADER = 2007;
    CONTROLLER_BROKER_METADATA_NOT_EXIST = 2008;
    CONTROLLER_INVALID_CLEAN_BROKER_METADATA = 2009;
    /// Controller: apply for a broker id first.
    CONTROLLER_BROKER_NEED_TO_BE_REGISTERED = 2010;
    /// Controller: an election found the old master alive.
    CONTROLLER_MASTER_STILL_EXIST = 2011;
    CONTROLLER_ELECT_MASTER_FAILED = 2012;
    CONTROLLER_ALTER_SYNC_STATE_SET_FAILED = 2013;
    /// Controller: the broker id is taken by another broker.
    CONTROLLER_BROKER_ID_INVALID = 2014;
    /// Controller: the replicated log failed (RocketMQ: JRaft internal error).
    CONTROLLER_JRAFT_INTERNAL_ERROR = 2015;
    CONTROLLER_BROKER_LIVE_INFO_NOT_EXISTS = 2016;
    /// 5.3 auth.
    USER_NOT_EXIST = 3001;
    /// 5.3 auth.
    POLICY_NOT_EXIST = 3002;
    /// Client-local only, never on the wire.
    RPC_UNKNOWN = -1000;
    /// Client-local only, never on the wire.
    RPC_ADDR_IS_NULL = -1002;
    /// Client-local only, never on the wire.
    RPC_SEND_TO_CHANNEL_FAILED = -1004;
    /// Client-local only, never on the wire.
    RPC_TIME_OUT = -1006;
}

/// 4.9 meaning of 209 (same number as [`POLLING_FULL`]).
pub const UPDATE_AND_CREATE_ACL_CONFIG_FAILED: i32 = 209;
/// 4.9 meaning of 210 (same number as [`POLLING_TIMEOUT`]).
pub const DELETE_ACL_CONFIG_FAILED: i32 = 210;
/// 4.9 meaning of 211 (same number as [`BROKER_NOT_EXIST`]).
pub const UPDATE_GLOBAL_WHITE_ADDRS_CONFIG_FAILED: i32 = 211;

/// Send responses that mean "stored" to the client: SUCCESS and the three flush/slave
/// variants (§2.2, §2.3.1). All four carry the send response header.
pub fn send_stored(code: i32) -> bool {
    matches!(
        code,
        SUCCESS | FLUSH_DISK_TIMEOUT | SLAVE_NOT_AVAILABLE | FLUSH_SLAVE_TIMEOUT
    )
}

/// Codes on which Java producers retry on another broker (§2.2).
pub fn producer_retries(code: i32) -> bool {
    matches!(
        code,
        TOPIC_NOT_EXIST
            | SERVICE_NOT_AVAILABLE
            | SYSTEM_ERROR
            | SYSTEM_BUSY
            | NO_PERMISSION
            | NO_BUYER_ID
            | NOT_IN_CURRENT_UNIT
            | GO_AWAY
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_uniqueness() {
        assert_eq!(name(22), Some("QUERY_NOT_FOUND"));
        assert_eq!(name(209), Some("POLLING_FULL"));
        assert_eq!(name(-1006), Some("RPC_TIME_OUT"));
        assert_eq!(name(5), None);
        let mut seen = std::collections::BTreeSet::new();
        for (code, _) in ALL {
            assert!(seen.insert(*code), "duplicate response code {code}");
        }
        assert!(send_stored(11) && !send_stored(13));
        assert!(producer_retries(17) && !producer_retries(13));
    }
}
