//! What ACL 2.0 requires of each broker request (RocketMQ 5.3's authorisation contexts,
//! protocol.md §8.4): the resources a decoded [`Request`] touches and the actions it performs on
//! them. Retry topics stand for their group. Where 5.3 derives nothing (no resource in the
//! header) the request needs only authentication; sluice is stricter than 5.3 for the requests
//! that change or dump broker-wide state without naming a resource (UPDATE_BROKER_CONFIG,
//! GET_BROKER_CONFIG, the GET_ALL_* dumps a slave fetches, subscription-group edits), which need
//! the cluster (`Cluster:<brokerClusterName>`) or the group.

use super::request::{AuthAdmin, Request};
use crate::auth::model::{is_retry_topic, Action, Resource};
use crate::auth::Need;

use Action::{Create, Delete, Get, Pub, Sub, Update};

fn topic(t: &str, actions: &[Action]) -> Need {
    Need::new(Resource::topic_or_retry_group(t), actions)
}

fn group(g: &str, actions: &[Action]) -> Need {
    Need::new(Resource::group(g), actions)
}

/// A topic's need unless it is a retry topic (whose group is checked anyway).
fn plain_topic(t: &str, actions: &[Action]) -> Option<Need> {
    (!is_retry_topic(t)).then(|| Need::new(Resource::topic(t), actions))
}

/// The resources `req` touches, with the actions on each.
pub fn needs(req: &Request, cluster: &str) -> Vec<Need> {
    let cluster_need = |actions: &[Action]| vec![Need::new(Resource::cluster(cluster), actions)];
    match req {
        Request::Send(h) if is_retry_topic(&h.topic) => {
            let g = if h.producer_group.trim().is_empty() {
                &h.topic
            } else {
                &h.producer_group
            };
            vec![group(g, &[Sub])]
        }
        Request::Send(h) => vec![Need::new(Resource::topic(&h.topic), &[Pub])],
        Request::EndTransaction(h) => h.topic.iter().map(|t| topic(t, &[Pub])).collect(),
        Request::SendBack(h) => vec![group(&h.group, &[Sub])],
        Request::Pull(h) => plain_topic(&h.topic, &[Sub])
            .into_iter()
            .chain([group(&h.consumer_group, &[Sub])])
            .collect(),
        Request::QueryMessage(h) => vec![topic(&h.topic, &[Sub, Get])],
        Request::ViewMessage(h) => h.topic.iter().map(|t| topic(t, &[Get])).collect(),
        Request::Heartbeat(d) => d
            .consumer_data_set
            .iter()
            .flat_map(|c| {
                std::iter::once(group(&c.group_name, &[Sub])).chain(
                    c.subscription_data_set
                        .iter()
                        .filter_map(|s| plain_topic(&s.topic, &[Sub])),
                )
            })
            .collect(),
        Request::UnregisterClient(h) => h
            .consumer_group
            .iter()
            .filter(|g| !g.trim().is_empty())
            .map(|g| group(g, &[Sub]))
            .collect(),
        Request::ConsumerList(h) => vec![group(&h.consumer_group, &[Sub, Get])],
        Request::QueryConsumerOffset(h) => plain_topic(&h.topic, &[Sub, Get])
            .into_iter()
            .chain([group(&h.consumer_group, &[Sub, Get])])
            .collect(),
        Request::UpdateConsumerOffset(h) => plain_topic(&h.topic, &[Sub, Update])
            .into_iter()
            .chain([group(&h.consumer_group, &[Sub, Update])])
            .collect(),
        Request::Lock(b) => lock_needs(&b.consumer_group, b.mq_set.iter().map(|q| q.topic.as_str())),
        Request::Unlock(b) => lock_needs(&b.consumer_group, b.mq_set.iter().map(|q| q.topic.as_str())),
        Request::MaxOffset(h) => vec![topic(&h.topic, &[Get])],
        Request::MinOffset(h) => vec![topic(&h.topic, &[Get])],
        Request::EarliestStoreTime(h) => vec![topic(&h.topic, &[Get])],
        Request::SearchOffset(h) => vec![topic(&h.topic, &[Get])],
        Request::CreateTopic(h) => vec![topic(&h.topic, &[Create])],
        Request::DeleteTopic(h) => vec![topic(&h.topic, &[Delete])],
        Request::TopicConfig(h) | Request::TopicStats(h) | Request::ConsumedBy(h) => {
            vec![topic(&h.topic, &[Get])]
        }
        Request::ConsumeStats(h) => std::iter::once(group(&h.consumer_group, &[Get]))
            .chain(h.topic.iter().filter(|t| !t.is_empty()).map(|t| topic(t, &[Get])))
            .collect(),
        Request::ConsumerConnections(h) => vec![group(&h.consumer_group, &[Get])],
        Request::ConsumerRunningInfo(h) => vec![group(&h.consumer_group, &[Get])],
        Request::ConsumeDirectly(h) => vec![group(&h.consumer_group, &[Sub])],
        Request::UpdateGroup(w) => vec![group(&w.group_name, &[Update])],
        Request::DeleteGroup(h) => vec![group(&h.group_name, &[Delete])],
        Request::CloneGroupOffset(h) => std::iter::once(group(&h.dest_group, &[Update]))
            .chain(h.topic.iter().map(|t| topic(t, &[Update])))
            .collect(),
        Request::ResetOffset(h) => vec![group(&h.group, &[Update]), topic(&h.topic, &[Update])],
        Request::UpdateBrokerConfig
        | Request::AclUpsert(_)
        | Request::AclDelete(_)
        | Request::AclGlobalWhite(_) => cluster_need(&[Update]),
        Request::Auth(a) => match **a {
            AuthAdmin::GetUser(_)
            | AuthAdmin::ListUsers(_)
            | AuthAdmin::GetAcl(_)
            | AuthAdmin::ListAcls { .. } => cluster_need(&[Get]),
            _ => cluster_need(&[Update]),
        },
        Request::BrokerConfig
        | Request::AclVersion
        | Request::AclConfig
        | Request::ViewStats(_)
        | Request::BrokerConsumeStats(_)
        | Request::ProducerConnections(_)
        | Request::AllProducers
        | Request::AllGroups
        | Request::AllConsumerOffsets
        | Request::AllDelayOffsets
        | Request::AllRequestModes
        | Request::HaStatus
        | Request::EpochCache => cluster_need(&[Get]),
        // Only makes the broker ask the controllers again, who are the authority.
        Request::RoleChanged => Vec::new(),
        // Signature only, as in 5.3: client config checks, runtime stats, the topic list.
        Request::CheckClientConfig | Request::RuntimeInfo | Request::AllTopicConfig => Vec::new(),
    }
}

fn lock_needs<'a>(g: &str, topics: impl Iterator<Item = &'a str>) -> Vec<Need> {
    std::iter::once(group(g, &[Sub]))
        .chain(topics.filter_map(|t| plain_topic(t, &[Sub])))
        .collect()
}
