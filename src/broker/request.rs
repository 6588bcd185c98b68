//! Broker requests decoded once, at the boundary, into typed values ([`Request`]), and the one
//! table of per-code facts ([`ROUTES`]): which codes the broker serves, which it answers on the
//! connection reader's turn, which read queue state (and so first wait for the dispatch of what
//! was acked before them), how each is decoded, and what ACL 1.0 requires of it (`acl`: the
//! resources and permissions 4.9's PlainAccessValidator derives, protocol.md §8.2). The handler of each variant lives in
//! [`super::processor`], one file per request family.

use sluice_remoting::body::admin::SubscriptionGroupConfig as WireGroup;
use sluice_remoting::body::auth::{AclInfo, UserInfo};
use sluice_remoting::body::heartbeat::HeartbeatData;
use sluice_remoting::body::lock::{LockBatchRequestBody, UnlockBatchRequestBody};
use sluice_remoting::body::JsonBody;
use sluice_remoting::codes::request as code;
use sluice_remoting::header::admin::{
    CloneGroupOffsetRequestHeader, ConsumeMessageDirectlyRequestHeader, CreateTopicRequestHeader,
    DeleteSubscriptionGroupRequestHeader, GetConsumeStatsInBrokerHeader, GetConsumeStatsRequestHeader,
    GetConsumerConnectionListRequestHeader, GetConsumerRunningInfoRequestHeader,
    GetProducerConnectionListRequestHeader, ResetOffsetRequestHeader, TopicRequestHeader,
    ViewBrokerStatsDataRequestHeader,
};
use sluice_remoting::header::heartbeat::{
    GetConsumerListByGroupRequestHeader, UnregisterClientRequestHeader,
};
use sluice_remoting::header::offsets::{
    GetEarliestMsgStoretimeRequestHeader, GetMaxOffsetRequestHeader, GetMinOffsetRequestHeader,
    QueryConsumerOffsetRequestHeader, SearchOffsetRequestHeader, UpdateConsumerOffsetRequestHeader,
};
use sluice_remoting::header::pull::PullMessageRequestHeader;
use sluice_remoting::header::query::{QueryMessageRequestHeader, ViewMessageRequestHeader};
use sluice_remoting::header::send::SendMessageRequestHeader;
use sluice_remoting::header::transaction::{ConsumerSendMsgBackRequestHeader, EndTransactionRequestHeader};
use sluice_remoting::RemotingCommand;

use super::error::BrokerError;
use crate::acl::perm::{Need, Rule, PUB, RETRY_PREFIX, SUB};

/// A request the broker serves, with its header (and body, where the body is JSON) decoded.
/// Raw bytes that are stored or inspected as they are (send bodies, CHECK_CLIENT_CONFIG) stay
/// in the command.
#[derive(Debug)]
pub enum Request {
    /// SEND_MESSAGE, SEND_MESSAGE_V2, SEND_BATCH_MESSAGE.
    Send(Box<SendMessageRequestHeader>),
    /// PULL_MESSAGE, LITE_PULL_MESSAGE.
    Pull(Box<PullMessageRequestHeader>),
    Heartbeat(Box<HeartbeatData>),
    UnregisterClient(UnregisterClientRequestHeader),
    ConsumerList(GetConsumerListByGroupRequestHeader),
    CheckClientConfig,
    QueryConsumerOffset(QueryConsumerOffsetRequestHeader),
    UpdateConsumerOffset(UpdateConsumerOffsetRequestHeader),
    MaxOffset(GetMaxOffsetRequestHeader),
    MinOffset(GetMinOffsetRequestHeader),
    EarliestStoreTime(GetEarliestMsgStoretimeRequestHeader),
    SearchOffset(SearchOffsetRequestHeader),
    Lock(LockBatchRequestBody),
    Unlock(UnlockBatchRequestBody),
    QueryMessage(QueryMessageRequestHeader),
    ViewMessage(ViewMessageRequestHeader),
    CreateTopic(Box<CreateTopicRequestHeader>),
    DeleteTopic(TopicRequestHeader),
    AllTopicConfig,
    TopicStats(TopicRequestHeader),
    /// GET_TOPIC_CONFIG (5.x).
    TopicConfig(TopicRequestHeader),
    RuntimeInfo,
    ViewStats(ViewBrokerStatsDataRequestHeader),
    ConsumeStats(GetConsumeStatsRequestHeader),
    BrokerConsumeStats(GetConsumeStatsInBrokerHeader),
    ConsumerConnections(GetConsumerConnectionListRequestHeader),
    ProducerConnections(GetProducerConnectionListRequestHeader),
    ConsumedBy(TopicRequestHeader),
    UpdateGroup(Box<WireGroup>),
    AllGroups,
    AllConsumerOffsets,
    AllDelayOffsets,
    /// GET_ALL_MESSAGE_REQUEST_MODE (402).
    AllRequestModes,
    HaStatus,
    /// GET_BROKER_EPOCH_CACHE (1007, mqadmin getBrokerEpoch).
    EpochCache,
    /// NOTIFY_BROKER_ROLE_CHANGED (1008, from a controller).
    RoleChanged,
    DeleteGroup(DeleteSubscriptionGroupRequestHeader),
    CloneGroupOffset(Box<CloneGroupOffsetRequestHeader>),
    /// GET_BROKER_CONFIG.
    BrokerConfig,
    /// UPDATE_BROKER_CONFIG: the properties text stays in the command's body.
    UpdateBrokerConfig,
    ResetOffset(Box<ResetOffsetRequestHeader>),
    /// GET_ALL_PRODUCER_INFO.
    AllProducers,
    /// GET_CONSUMER_RUNNING_INFO: forwarded to the client.
    ConsumerRunningInfo(Box<GetConsumerRunningInfoRequestHeader>),
    /// CONSUME_MESSAGE_DIRECTLY: the message looked up, then forwarded to the client.
    ConsumeDirectly(Box<ConsumeMessageDirectlyRequestHeader>),
    SendBack(Box<ConsumerSendMsgBackRequestHeader>),
    EndTransaction(Box<EndTransactionRequestHeader>),
    /// UPDATE_AND_CREATE_ACL_CONFIG (4.9 ACL admin).
    AclUpsert(Box<crate::acl::edit::AccessConfig>),
    /// DELETE_ACL_CONFIG: the `accessKey`.
    AclDelete(String),
    /// UPDATE_GLOBAL_WHITE_ADDRS_CONFIG.
    AclGlobalWhite(Vec<String>),
    /// GET_BROKER_CLUSTER_ACL_INFO: the ACL files' versions.
    AclVersion,
    /// GET_BROKER_CLUSTER_ACL_CONFIG: the accounts and whitelist in force.
    AclConfig,
    /// ACL 2.0 admin (AUTH_CREATE_USER … AUTH_LIST_ACL, 3001–3010).
    Auth(Box<AuthAdmin>),
}

/// An ACL 2.0 admin request (protocol.md §8.4), header fields and body decoded.
#[derive(Debug)]
pub enum AuthAdmin {
    CreateUser(String, UserInfo),
    UpdateUser(String, UserInfo),
    DeleteUser(String),
    GetUser(String),
    /// `filter` (blank: all).
    ListUsers(String),
    /// AUTH_CREATE_ACL and AUTH_UPDATE_ACL (merged alike): the header's `subject`, the body.
    PutAcl(String, AclInfo),
    DeleteAcl {
        subject: String,
        policy_type: Option<String>,
        resource: Option<String>,
    },
    GetAcl(String),
    ListAcls {
        subject_filter: String,
        resource_filter: String,
    },
}

/// A header field as text, `""` when absent.
fn field(c: &RemotingCommand, k: &str) -> String {
    c.ext(k).map(str::trim).unwrap_or_default().to_owned()
}

/// The body of an ACL 2.0 edit; an empty one is refused as 5.3 refuses it.
fn auth_body<B: JsonBody>(c: &RemotingCommand, what: &'static str) -> Result<B, BrokerError> {
    if c.body.is_empty() {
        return Err(BrokerError::refused(
            sluice_remoting::codes::response::NO_PERMISSION,
            format!("The body of {what} is null"),
        ));
    }
    body(c, what)
}

fn auth_admin(c: &RemotingCommand) -> Result<Request, BrokerError> {
    let a = match c.code {
        code::AUTH_CREATE_USER => AuthAdmin::CreateUser(field(c, "username"), auth_body(c, "user")?),
        code::AUTH_UPDATE_USER => AuthAdmin::UpdateUser(field(c, "username"), auth_body(c, "user")?),
        code::AUTH_DELETE_USER => AuthAdmin::DeleteUser(field(c, "username")),
        code::AUTH_GET_USER => AuthAdmin::GetUser(field(c, "username")),
        code::AUTH_LIST_USER => AuthAdmin::ListUsers(field(c, "filter")),
        code::AUTH_CREATE_ACL | code::AUTH_UPDATE_ACL => {
            AuthAdmin::PutAcl(field(c, "subject"), auth_body(c, "acl")?)
        }
        code::AUTH_DELETE_ACL => AuthAdmin::DeleteAcl {
            subject: field(c, "subject"),
            policy_type: c.ext("policyType").map(str::to_owned),
            resource: c.ext("resource").map(str::to_owned),
        },
        code::AUTH_GET_ACL => AuthAdmin::GetAcl(field(c, "subject")),
        _ => AuthAdmin::ListAcls {
            subject_filter: field(c, "subjectFilter"),
            resource_filter: field(c, "resourceFilter"),
        },
    };
    Ok(Request::Auth(Box::new(a)))
}

type Decode = fn(&RemotingCommand) -> Result<Request, BrokerError>;

/// What ACL 1.0 requires of a decoded request.
pub type AclOf = fn(&RemotingCommand, &Request) -> Rule;

/// The facts about one request code.
pub struct Route {
    pub code: i32,
    /// Answered on the connection reader's turn, without a task, when nothing needs waiting
    /// for: sends whose units their caller appends (ASYNC_FLUSH).
    pub inline: bool,
    /// Its answer depends on ConsumeQueues or indexes: it first waits until everything acked
    /// before it is dispatched (pulls do so themselves, only when they find nothing).
    pub reads_queue_state: bool,
    pub decode: Decode,
    /// With `aclEnable=true`: the account and resources it needs (default: a valid signature).
    pub acl: AclOf,
}

const fn route(code: i32, decode: Decode) -> Route {
    Route {
        code,
        inline: false,
        reads_queue_state: false,
        decode,
        acl: signature_only,
    }
}

impl Route {
    /// The same route with ACL rule `acl`.
    const fn acl(self, acl: AclOf) -> Route {
        Route { acl, ..self }
    }
}

fn signature_only(_: &RemotingCommand, _: &Request) -> Rule {
    Rule::Signature
}

/// 4.9's admin-only codes (create/delete topic and group, update the broker config).
fn admin_only(_: &RemotingCommand, _: &Request) -> Rule {
    Rule::Admin
}

/// Sends: PUB on the topic; a retry topic needs SUB on the (producer) group instead. 4.9 checks
/// only V1 and V2 sends; batches are held to the same rule here (5.x does so too).
fn send_acl(_: &RemotingCommand, r: &Request) -> Rule {
    match r {
        Request::Send(h) if h.topic.starts_with(RETRY_PREFIX) => {
            Rule::Resources(vec![Need::group(&h.producer_group)])
        }
        Request::Send(h) => Rule::Resources(vec![Need::topic(&h.topic, PUB)]),
        _ => Rule::Signature,
    }
}

/// The groups and topics a request reads: SUB on each.
fn reads_acl(_: &RemotingCommand, r: &Request) -> Rule {
    let (groups, topics): (Vec<&str>, Vec<&str>) = match r {
        Request::Pull(h) => (vec![&h.consumer_group], vec![&h.topic]),
        Request::Heartbeat(d) => (
            d.consumer_data_set
                .iter()
                .map(|c| c.group_name.as_str())
                .collect(),
            d.consumer_data_set
                .iter()
                .flat_map(|c| c.subscription_data_set.iter().map(|s| s.topic.as_str()))
                .collect(),
        ),
        Request::UnregisterClient(h) => (h.consumer_group.iter().map(String::as_str).collect(), vec![]),
        Request::ConsumerList(h) => (vec![&h.consumer_group], vec![]),
        Request::QueryConsumerOffset(h) => (vec![&h.consumer_group], vec![&h.topic]),
        Request::UpdateConsumerOffset(h) => (vec![&h.consumer_group], vec![&h.topic]),
        Request::SendBack(h) => (vec![&h.group], vec![]),
        Request::QueryMessage(h) => (vec![], vec![&h.topic]),
        Request::Lock(b) => (vec![&b.consumer_group], vec![]),
        Request::Unlock(b) => (vec![&b.consumer_group], vec![]),
        _ => return Rule::Signature,
    };
    Rule::Resources(
        groups
            .into_iter()
            .map(Need::group)
            .chain(topics.into_iter().map(|t| Need::topic(t, SUB)))
            .collect(),
    )
}

const fn inline(code: i32, decode: Decode) -> Route {
    Route {
        inline: true,
        ..route(code, decode)
    }
}

const fn reads(code: i32, decode: Decode) -> Route {
    Route {
        reads_queue_state: true,
        ..route(code, decode)
    }
}

fn body<B: JsonBody>(cmd: &RemotingCommand, what: &'static str) -> Result<B, BrokerError> {
    B::from_json(&cmd.body).map_err(|e| BrokerError::body(what, e))
}

/// The three send codes share one header (v1 and v2 field names are both read).
fn send(c: &RemotingCommand) -> Result<Request, BrokerError> {
    Ok(Request::Send(Box::new(SendMessageRequestHeader::from_ext(
        &c.ext_fields,
    )?)))
}

fn pull(c: &RemotingCommand) -> Result<Request, BrokerError> {
    Ok(Request::Pull(Box::new(PullMessageRequestHeader::from_ext(
        &c.ext_fields,
    )?)))
}

/// A comma-separated ext field as a list (`None` when absent).
fn list(c: &RemotingCommand, k: &str) -> Option<Vec<String>> {
    c.ext(k).map(|v| {
        v.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    })
}

fn access_key(c: &RemotingCommand) -> Result<String, BrokerError> {
    c.ext("accessKey")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or(BrokerError::Header(sluice_remoting::HeaderError::Missing {
            field: "accessKey",
        }))
}

fn acl_upsert(c: &RemotingCommand) -> Result<Request, BrokerError> {
    let text = |k: &str| c.ext(k).map(str::to_owned);
    Ok(Request::AclUpsert(Box::new(crate::acl::edit::AccessConfig {
        access_key: access_key(c)?,
        secret_key: text("secretKey"),
        white_remote_address: text("whiteRemoteAddress"),
        admin: c.ext("admin").map(|v| v.eq_ignore_ascii_case("true")),
        default_topic_perm: text("defaultTopicPerm"),
        default_group_perm: text("defaultGroupPerm"),
        topic_perms: list(c, "topicPerms"),
        group_perms: list(c, "groupPerms"),
    })))
}

/// Every code the broker serves; anything else is answered REQUEST_CODE_NOT_SUPPORTED.
pub static ROUTES: &[Route] = &[
    inline(code::SEND_MESSAGE, send).acl(send_acl),
    inline(code::SEND_MESSAGE_V2, send).acl(send_acl),
    inline(code::SEND_BATCH_MESSAGE, send).acl(send_acl),
    route(code::PULL_MESSAGE, pull).acl(reads_acl),
    route(code::LITE_PULL_MESSAGE, pull).acl(reads_acl),
    route(code::HEART_BEAT, |c| {
        Ok(Request::Heartbeat(Box::new(body(c, "heartbeat")?)))
    })
    .acl(reads_acl),
    route(code::UNREGISTER_CLIENT, |c| {
        Ok(Request::UnregisterClient(
            UnregisterClientRequestHeader::from_ext(&c.ext_fields)?,
        ))
    })
    .acl(reads_acl),
    route(code::GET_CONSUMER_LIST_BY_GROUP, |c| {
        Ok(Request::ConsumerList(
            GetConsumerListByGroupRequestHeader::from_ext(&c.ext_fields)?,
        ))
    })
    .acl(reads_acl),
    route(code::CHECK_CLIENT_CONFIG, |_| Ok(Request::CheckClientConfig)),
    route(code::QUERY_CONSUMER_OFFSET, |c| {
        Ok(Request::QueryConsumerOffset(
            QueryConsumerOffsetRequestHeader::from_ext(&c.ext_fields)?,
        ))
    })
    .acl(reads_acl),
    route(code::UPDATE_CONSUMER_OFFSET, |c| {
        Ok(Request::UpdateConsumerOffset(
            UpdateConsumerOffsetRequestHeader::from_ext(&c.ext_fields)?,
        ))
    })
    .acl(reads_acl),
    reads(code::GET_MAX_OFFSET, |c| {
        Ok(Request::MaxOffset(GetMaxOffsetRequestHeader::from_ext(
            &c.ext_fields,
        )?))
    }),
    reads(code::GET_MIN_OFFSET, |c| {
        Ok(Request::MinOffset(GetMinOffsetRequestHeader::from_ext(
            &c.ext_fields,
        )?))
    }),
    reads(code::GET_EARLIEST_MSG_STORETIME, |c| {
        Ok(Request::EarliestStoreTime(
            GetEarliestMsgStoretimeRequestHeader::from_ext(&c.ext_fields)?,
        ))
    }),
    reads(code::SEARCH_OFFSET_BY_TIMESTAMP, |c| {
        Ok(Request::SearchOffset(SearchOffsetRequestHeader::from_ext(
            &c.ext_fields,
        )?))
    }),
    route(code::LOCK_BATCH_MQ, |c| Ok(Request::Lock(body(c, "lock")?))).acl(reads_acl),
    route(code::UNLOCK_BATCH_MQ, |c| Ok(Request::Unlock(body(c, "unlock")?))).acl(reads_acl),
    reads(code::QUERY_MESSAGE, |c| {
        Ok(Request::QueryMessage(QueryMessageRequestHeader::from_ext(
            &c.ext_fields,
        )?))
    })
    .acl(reads_acl),
    route(code::VIEW_MESSAGE_BY_ID, |c| {
        Ok(Request::ViewMessage(ViewMessageRequestHeader::from_ext(
            &c.ext_fields,
        )?))
    }),
    route(code::UPDATE_AND_CREATE_TOPIC, |c| {
        Ok(Request::CreateTopic(Box::new(
            CreateTopicRequestHeader::from_ext(&c.ext_fields)?,
        )))
    })
    .acl(admin_only),
    route(code::DELETE_TOPIC_IN_BROKER, |c| {
        Ok(Request::DeleteTopic(TopicRequestHeader::from_ext(&c.ext_fields)?))
    })
    .acl(admin_only),
    route(code::GET_ALL_TOPIC_CONFIG, |_| Ok(Request::AllTopicConfig)),
    route(code::GET_TOPIC_CONFIG, |c| {
        Ok(Request::TopicConfig(TopicRequestHeader::from_ext(&c.ext_fields)?))
    }),
    reads(code::GET_TOPIC_STATS_INFO, |c| {
        Ok(Request::TopicStats(TopicRequestHeader::from_ext(&c.ext_fields)?))
    }),
    route(code::GET_BROKER_RUNTIME_INFO, |_| Ok(Request::RuntimeInfo)),
    route(code::VIEW_BROKER_STATS_DATA, |c| {
        Ok(Request::ViewStats(ViewBrokerStatsDataRequestHeader::from_ext(
            &c.ext_fields,
        )?))
    }),
    reads(code::GET_CONSUME_STATS, |c| {
        Ok(Request::ConsumeStats(GetConsumeStatsRequestHeader::from_ext(
            &c.ext_fields,
        )?))
    }),
    reads(code::GET_BROKER_CONSUME_STATS, |c| {
        Ok(Request::BrokerConsumeStats(
            GetConsumeStatsInBrokerHeader::from_ext(&c.ext_fields)?,
        ))
    }),
    route(code::GET_CONSUMER_CONNECTION_LIST, |c| {
        Ok(Request::ConsumerConnections(
            GetConsumerConnectionListRequestHeader::from_ext(&c.ext_fields)?,
        ))
    }),
    route(code::GET_PRODUCER_CONNECTION_LIST, |c| {
        Ok(Request::ProducerConnections(
            GetProducerConnectionListRequestHeader::from_ext(&c.ext_fields)?,
        ))
    }),
    route(code::DELETE_SUBSCRIPTIONGROUP, |c| {
        Ok(Request::DeleteGroup(
            DeleteSubscriptionGroupRequestHeader::from_ext(&c.ext_fields)?,
        ))
    })
    .acl(admin_only),
    route(code::CLONE_GROUP_OFFSET, |c| {
        Ok(Request::CloneGroupOffset(Box::new(
            CloneGroupOffsetRequestHeader::from_ext(&c.ext_fields)?,
        )))
    }),
    route(code::GET_BROKER_CONFIG, |_| Ok(Request::BrokerConfig)),
    route(code::UPDATE_BROKER_CONFIG, |_| Ok(Request::UpdateBrokerConfig)).acl(admin_only),
    route(code::QUERY_TOPIC_CONSUME_BY_WHO, |c| {
        Ok(Request::ConsumedBy(TopicRequestHeader::from_ext(&c.ext_fields)?))
    }),
    route(code::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, |c| {
        Ok(Request::UpdateGroup(Box::new(body(c, "subscription group")?)))
    })
    .acl(admin_only),
    route(code::GET_ALL_SUBSCRIPTIONGROUP_CONFIG, |_| Ok(Request::AllGroups)),
    route(code::GET_ALL_CONSUMER_OFFSET, |_| Ok(Request::AllConsumerOffsets)),
    route(code::GET_ALL_DELAY_OFFSET, |_| Ok(Request::AllDelayOffsets)),
    route(code::GET_ALL_MESSAGE_REQUEST_MODE, |_| {
        Ok(Request::AllRequestModes)
    }),
    route(code::GET_BROKER_HA_STATUS, |_| Ok(Request::HaStatus)),
    route(code::GET_BROKER_EPOCH_CACHE, |_| Ok(Request::EpochCache)),
    route(code::NOTIFY_BROKER_ROLE_CHANGED, |_| Ok(Request::RoleChanged)),
    reads(code::INVOKE_BROKER_TO_RESET_OFFSET, |c| {
        Ok(Request::ResetOffset(Box::new(
            ResetOffsetRequestHeader::from_ext(&c.ext_fields)?,
        )))
    }),
    route(code::GET_ALL_PRODUCER_INFO, |_| Ok(Request::AllProducers)),
    route(code::GET_CONSUMER_RUNNING_INFO, |c| {
        Ok(Request::ConsumerRunningInfo(Box::new(
            GetConsumerRunningInfoRequestHeader::from_ext(&c.ext_fields)?,
        )))
    }),
    route(code::CONSUME_MESSAGE_DIRECTLY, |c| {
        Ok(Request::ConsumeDirectly(Box::new(
            ConsumeMessageDirectlyRequestHeader::from_ext(&c.ext_fields)?,
        )))
    }),
    route(code::CONSUMER_SEND_MSG_BACK, |c| {
        Ok(Request::SendBack(Box::new(
            ConsumerSendMsgBackRequestHeader::from_ext(&c.ext_fields)?,
        )))
    })
    .acl(reads_acl),
    route(code::UPDATE_AND_CREATE_ACL_CONFIG, acl_upsert).acl(admin_only),
    route(code::DELETE_ACL_CONFIG, |c| {
        Ok(Request::AclDelete(access_key(c)?))
    })
    .acl(admin_only),
    route(code::UPDATE_GLOBAL_WHITE_ADDRS_CONFIG, |c| {
        Ok(Request::AclGlobalWhite(
            list(c, "globalWhiteAddrs").unwrap_or_default(),
        ))
    })
    .acl(admin_only),
    route(code::GET_BROKER_CLUSTER_ACL_INFO, |_| Ok(Request::AclVersion)),
    // The accounts' secret keys: admin accounts only (5.x asks only for a signature).
    route(code::GET_BROKER_CLUSTER_ACL_CONFIG, |_| Ok(Request::AclConfig)).acl(admin_only),
    route(code::AUTH_CREATE_USER, auth_admin).acl(admin_only),
    route(code::AUTH_UPDATE_USER, auth_admin).acl(admin_only),
    route(code::AUTH_DELETE_USER, auth_admin).acl(admin_only),
    route(code::AUTH_GET_USER, auth_admin).acl(admin_only),
    route(code::AUTH_LIST_USER, auth_admin).acl(admin_only),
    route(code::AUTH_CREATE_ACL, auth_admin).acl(admin_only),
    route(code::AUTH_UPDATE_ACL, auth_admin).acl(admin_only),
    route(code::AUTH_DELETE_ACL, auth_admin).acl(admin_only),
    route(code::AUTH_GET_ACL, auth_admin).acl(admin_only),
    route(code::AUTH_LIST_ACL, auth_admin).acl(admin_only),
    route(code::END_TRANSACTION, |c| {
        Ok(Request::EndTransaction(Box::new(
            EndTransactionRequestHeader::from_ext(&c.ext_fields)?,
        )))
    }),
];

/// The route of `code`, if the broker serves it.
pub fn route_of(code: i32) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.code == code)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use sluice_remoting::codes::request;

    #[test]
    fn every_route_is_a_known_code_listed_once() {
        let mut seen = BTreeSet::new();
        for r in ROUTES {
            assert!(
                request::name(r.code).is_some(),
                "code {} is not in protocol.md §2.1",
                r.code
            );
            assert!(seen.insert(r.code), "code {} is listed twice", r.code);
        }
        assert!(route_of(request::SEND_MESSAGE_V2).is_some_and(|r| r.inline));
        assert!(route_of(request::GET_MAX_OFFSET).is_some_and(|r| r.reads_queue_state));
        assert!(route_of(9999).is_none());
    }

    fn rule_of(cmd: &RemotingCommand) -> Rule {
        let route = route_of(cmd.code).unwrap();
        let req = (route.decode)(cmd).unwrap();
        (route.acl)(cmd, &req)
    }

    #[test]
    fn acl_resources_per_code_follow_4_9() {
        let send = RemotingCommand::request(request::SEND_MESSAGE_V2)
            .with_ext("a", "pg")
            .with_ext("b", "T")
            .with_ext("c", "TBW102")
            .with_ext("d", "4")
            .with_ext("e", "0")
            .with_ext("f", "0")
            .with_ext("g", "0")
            .with_ext("h", "0");
        assert_eq!(rule_of(&send), Rule::Resources(vec![Need::topic("T", PUB)]));
        let mut retry = send.clone();
        retry.ext_fields.insert("b".into(), "%RETRY%cg".into());
        assert_eq!(rule_of(&retry), Rule::Resources(vec![Need::group("pg")]));
        let pull = RemotingCommand::request(request::PULL_MESSAGE)
            .with_ext("consumerGroup", "cg")
            .with_ext("topic", "T")
            .with_ext("queueId", "0")
            .with_ext("queueOffset", "0")
            .with_ext("maxMsgNums", "32")
            .with_ext("sysFlag", "0")
            .with_ext("commitOffset", "0")
            .with_ext("suspendTimeoutMillis", "0");
        assert_eq!(
            rule_of(&pull),
            Rule::Resources(vec![Need::group("cg"), Need::topic("T", SUB)])
        );
        let hb = RemotingCommand::request(request::HEART_BEAT).with_body(
            &br#"{"clientID":"c","consumerDataSet":[{"groupName":"cg","subscriptionDataSet":[{"topic":"T","subString":"*"},{"topic":"%RETRY%cg","subString":"*"}]}]}"#[..],
        );
        assert_eq!(
            rule_of(&hb),
            Rule::Resources(vec![Need::group("cg"), Need::topic("T", SUB), Need::group("cg")])
        );
        let update = RemotingCommand::request(request::UPDATE_CONSUMER_OFFSET)
            .with_ext("consumerGroup", "cg")
            .with_ext("topic", "T")
            .with_ext("queueId", "1")
            .with_ext("commitOffset", "5");
        assert_eq!(
            rule_of(&update),
            Rule::Resources(vec![Need::group("cg"), Need::topic("T", SUB)])
        );
        let create = RemotingCommand::request(request::UPDATE_AND_CREATE_TOPIC)
            .with_ext("topic", "T")
            .with_ext("defaultTopic", "TBW102")
            .with_ext("readQueueNums", "4")
            .with_ext("writeQueueNums", "4")
            .with_ext("perm", "6")
            .with_ext("topicFilterType", "SINGLE_TAG");
        assert_eq!(rule_of(&create), Rule::Admin);
        assert_eq!(
            rule_of(&RemotingCommand::request(request::UPDATE_BROKER_CONFIG)),
            Rule::Admin
        );
        assert_eq!(
            rule_of(&RemotingCommand::request(request::GET_ALL_TOPIC_CONFIG)),
            Rule::Signature
        );
    }

    #[test]
    fn decoding_names_the_missing_field() {
        let cmd = RemotingCommand::request(request::GET_MAX_OFFSET);
        let err = route_of(cmd.code).map(|r| (r.decode)(&cmd)).and_then(Result::err);
        assert!(err.is_some_and(|e| e.to_string().contains("topic")));
        let mut cmd = RemotingCommand::request(request::LOCK_BATCH_MQ);
        cmd.body = bytes::Bytes::from_static(b"not json");
        let err = route_of(cmd.code).map(|r| (r.decode)(&cmd)).and_then(Result::err);
        assert!(matches!(err, Some(BrokerError::Body { what: "lock", .. })));
    }
}
