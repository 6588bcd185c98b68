//! Broker requests decoded once, at the boundary, into typed values ([`Request`]), and the one
//! table of per-code facts ([`ROUTES`]): which codes the broker serves, which it answers on the
//! connection reader's turn, which read queue state (and so first wait for the dispatch of what
//! was acked before them), and how each is decoded. The handler of each variant lives in
//! [`super::processor`], one file per request family.

use sluice_remoting::body::admin::SubscriptionGroupConfig as WireGroup;
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
    HaStatus,
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
}

type Decode = fn(&RemotingCommand) -> Result<Request, BrokerError>;

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
}

const fn route(code: i32, decode: Decode) -> Route {
    Route {
        code,
        inline: false,
        reads_queue_state: false,
        decode,
    }
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

/// Every code the broker serves; anything else is answered REQUEST_CODE_NOT_SUPPORTED.
pub static ROUTES: &[Route] = &[
    inline(code::SEND_MESSAGE, send),
    inline(code::SEND_MESSAGE_V2, send),
    inline(code::SEND_BATCH_MESSAGE, send),
    route(code::PULL_MESSAGE, pull),
    route(code::LITE_PULL_MESSAGE, pull),
    route(code::HEART_BEAT, |c| {
        Ok(Request::Heartbeat(Box::new(body(c, "heartbeat")?)))
    }),
    route(code::UNREGISTER_CLIENT, |c| {
        Ok(Request::UnregisterClient(
            UnregisterClientRequestHeader::from_ext(&c.ext_fields)?,
        ))
    }),
    route(code::GET_CONSUMER_LIST_BY_GROUP, |c| {
        Ok(Request::ConsumerList(
            GetConsumerListByGroupRequestHeader::from_ext(&c.ext_fields)?,
        ))
    }),
    route(code::CHECK_CLIENT_CONFIG, |_| Ok(Request::CheckClientConfig)),
    route(code::QUERY_CONSUMER_OFFSET, |c| {
        Ok(Request::QueryConsumerOffset(
            QueryConsumerOffsetRequestHeader::from_ext(&c.ext_fields)?,
        ))
    }),
    route(code::UPDATE_CONSUMER_OFFSET, |c| {
        Ok(Request::UpdateConsumerOffset(
            UpdateConsumerOffsetRequestHeader::from_ext(&c.ext_fields)?,
        ))
    }),
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
    route(code::LOCK_BATCH_MQ, |c| Ok(Request::Lock(body(c, "lock")?))),
    route(code::UNLOCK_BATCH_MQ, |c| Ok(Request::Unlock(body(c, "unlock")?))),
    reads(code::QUERY_MESSAGE, |c| {
        Ok(Request::QueryMessage(QueryMessageRequestHeader::from_ext(
            &c.ext_fields,
        )?))
    }),
    route(code::VIEW_MESSAGE_BY_ID, |c| {
        Ok(Request::ViewMessage(ViewMessageRequestHeader::from_ext(
            &c.ext_fields,
        )?))
    }),
    route(code::UPDATE_AND_CREATE_TOPIC, |c| {
        Ok(Request::CreateTopic(Box::new(
            CreateTopicRequestHeader::from_ext(&c.ext_fields)?,
        )))
    }),
    route(code::DELETE_TOPIC_IN_BROKER, |c| {
        Ok(Request::DeleteTopic(TopicRequestHeader::from_ext(&c.ext_fields)?))
    }),
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
    }),
    route(code::CLONE_GROUP_OFFSET, |c| {
        Ok(Request::CloneGroupOffset(Box::new(
            CloneGroupOffsetRequestHeader::from_ext(&c.ext_fields)?,
        )))
    }),
    route(code::GET_BROKER_CONFIG, |_| Ok(Request::BrokerConfig)),
    route(code::UPDATE_BROKER_CONFIG, |_| Ok(Request::UpdateBrokerConfig)),
    route(code::QUERY_TOPIC_CONSUME_BY_WHO, |c| {
        Ok(Request::ConsumedBy(TopicRequestHeader::from_ext(&c.ext_fields)?))
    }),
    route(code::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, |c| {
        Ok(Request::UpdateGroup(Box::new(body(c, "subscription group")?)))
    }),
    route(code::GET_ALL_SUBSCRIPTIONGROUP_CONFIG, |_| Ok(Request::AllGroups)),
    route(code::GET_ALL_CONSUMER_OFFSET, |_| Ok(Request::AllConsumerOffsets)),
    route(code::GET_ALL_DELAY_OFFSET, |_| Ok(Request::AllDelayOffsets)),
    route(code::GET_BROKER_HA_STATUS, |_| Ok(Request::HaStatus)),
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
    }),
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
