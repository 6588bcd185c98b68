//! The pull consumer (protocol.md §2.3.2, §2.3.13, §2.3.14): the application chooses the
//! queue and the offset; offsets can be read from and committed to the broker.

use std::time::Duration;

use sluice_remoting::body::heartbeat::ConsumerData;
use sluice_remoting::body::{ConsumeType, MessageModel, MessageQueue};
use sluice_remoting::codes::{request, response};
use sluice_remoting::header::offsets::{
    GetMaxOffsetRequestHeader, GetMinOffsetRequestHeader, QueryConsumerOffsetRequestHeader,
    SearchOffsetRequestHeader, UpdateConsumerOffsetRequestHeader,
};
use sluice_remoting::header::pull::{sys_flag, PullMessageRequestHeader, PullMessageResponseHeader};
use sluice_remoting::{CommandHeader, RemotingCommand};

use crate::error::{ClientError, Result};
use crate::instance::{ClientConfig, ClientInstance};
use crate::message::{decode_messages, property, MessageExt};

/// What a pull found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullStatus {
    /// Messages were returned.
    Found,
    /// Nothing new at this offset.
    NoNewMessage,
    /// Messages were scanned but none matched the subscription.
    NoMatchedMessage,
    /// The offset is out of range; continue from `next_begin_offset`.
    OffsetIllegal,
}

/// The result of one pull.
#[derive(Debug, Clone)]
pub struct PullResult {
    /// Status.
    pub status: PullStatus,
    /// Where the next pull should start.
    pub next_begin_offset: i64,
    /// The queue's min offset.
    pub min_offset: i64,
    /// The queue's max offset.
    pub max_offset: i64,
    /// The messages (tag-filtered again on the client, §7.7).
    pub messages: Vec<MessageExt>,
}

/// Pull options.
#[derive(Debug, Clone)]
pub struct PullOptions {
    /// TAG expression (`*` = all).
    pub expression: String,
    /// Batch size.
    pub max_msgs: i32,
    /// Long-poll hold time (0 = answer at once).
    pub suspend: Duration,
    /// Piggy-back this committed offset (COMMIT_OFFSET bit) when > 0.
    pub commit_offset: i64,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions {
            expression: "*".into(),
            max_msgs: 32,
            suspend: Duration::ZERO,
            commit_offset: 0,
        }
    }
}

/// Pulls and offsets for one consumer group; also the engine of the push consumer.
#[derive(Debug, Clone)]
pub struct PullConsumer {
    pub(crate) instance: ClientInstance,
    pub(crate) group: String,
}

fn tag_matches(expression: &str, msg: &MessageExt) -> bool {
    let tags = sluice_remoting::body::heartbeat::parse_tags(expression);
    tags.is_empty() || msg.tags().is_some_and(|t| tags.iter().any(|x| x == t))
}

impl PullConsumer {
    /// Starts a pull consumer of `group` with its own [`ClientInstance`].
    pub fn new(client: ClientConfig, group: impl Into<String>) -> Result<Self> {
        Ok(Self::with_instance(ClientInstance::new(client)?, group))
    }

    /// A pull consumer on a shared instance. It registers for heartbeats as CONSUME_ACTIVELY.
    pub fn with_instance(instance: ClientInstance, group: impl Into<String>) -> Self {
        let group = group.into();
        instance.register_consumer(ConsumerData {
            group_name: group.clone(),
            consume_type: ConsumeType::ConsumeActively,
            message_model: MessageModel::Clustering,
            ..Default::default()
        });
        PullConsumer { instance, group }
    }

    /// The client instance.
    pub fn instance(&self) -> &ClientInstance {
        &self.instance
    }

    /// The group.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// The readable queues of `topic`, sorted.
    pub async fn queues(&self, topic: &str) -> Result<Vec<MessageQueue>> {
        let route = match self.instance.update_route(topic).await? {
            Some(r) => r,
            None => return Err(ClientError::NoRoute(topic.to_owned())),
        };
        Ok(route.subscribe.clone())
    }

    pub(crate) async fn addr(&self, mq: &MessageQueue) -> Result<String> {
        if let Some(a) = self.instance.routes().any_addr(&mq.broker_name) {
            return Ok(a);
        }
        self.instance.update_route(&mq.topic).await?;
        self.instance
            .routes()
            .any_addr(&mq.broker_name)
            .ok_or_else(|| ClientError::NoBroker(mq.broker_name.clone()))
    }

    /// Pulls from `mq` at `offset` with the default options.
    pub async fn pull(&self, mq: &MessageQueue, offset: i64) -> Result<PullResult> {
        self.pull_with(mq, offset, &PullOptions::default()).await
    }

    /// Pulls from `mq` at `offset`.
    pub async fn pull_with(&self, mq: &MessageQueue, offset: i64, opts: &PullOptions) -> Result<PullResult> {
        let addr = self.addr(mq).await?;
        let suspend = !opts.suspend.is_zero();
        let header = PullMessageRequestHeader {
            consumer_group: self.group.clone(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            queue_offset: offset,
            max_msg_nums: opts.max_msgs,
            sys_flag: sys_flag::build(opts.commit_offset > 0, suspend, true, false),
            commit_offset: opts.commit_offset,
            suspend_timeout_millis: opts.suspend.as_millis() as i64,
            subscription: Some(opts.expression.clone()),
            sub_version: 0,
            expression_type: Some("TAG".into()),
            max_msg_bytes: None,
            request_source: None,
            proxy_forward_client_id: None,
        };
        let timeout = if suspend {
            opts.suspend + Duration::from_secs(15)
        } else {
            self.instance.config().request_timeout
        };
        let cmd = RemotingCommand::request_with_header(request::PULL_MESSAGE, &header);
        let accept = [
            response::PULL_NOT_FOUND,
            response::PULL_RETRY_IMMEDIATELY,
            response::PULL_OFFSET_MOVED,
        ];
        let resp = self.instance.invoke_broker(&addr, cmd, timeout, &accept).await?;
        let h = resp
            .decode_header::<PullMessageResponseHeader>()
            .map_err(|e| ClientError::Malformed {
                addr: addr.clone(),
                reason: e.to_string(),
            })?;
        let status = match resp.code {
            response::SUCCESS => PullStatus::Found,
            response::PULL_NOT_FOUND => PullStatus::NoNewMessage,
            response::PULL_RETRY_IMMEDIATELY => PullStatus::NoMatchedMessage,
            _ => PullStatus::OffsetIllegal,
        };
        let mut messages = Vec::new();
        if status == PullStatus::Found {
            for mut m in decode_messages(&resp.body) {
                if !tag_matches(&opts.expression, &m) {
                    continue;
                }
                m.broker_name = mq.broker_name.clone();
                m.properties
                    .insert(property::MIN_OFFSET.into(), h.min_offset.to_string());
                m.properties
                    .insert(property::MAX_OFFSET.into(), h.max_offset.to_string());
                messages.push(m);
            }
        }
        Ok(PullResult {
            status,
            next_begin_offset: h.next_begin_offset,
            min_offset: h.min_offset,
            max_offset: h.max_offset,
            messages,
        })
    }

    /// The group's committed offset of `mq`, `None` if the broker has none (§2.3.13).
    pub async fn fetch_offset(&self, mq: &MessageQueue) -> Result<Option<i64>> {
        let addr = self.addr(mq).await?;
        let h = QueryConsumerOffsetRequestHeader {
            consumer_group: self.group.clone(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            set_zero_if_not_found: None,
        };
        let cmd = RemotingCommand::request_with_header(request::QUERY_CONSUMER_OFFSET, &h);
        let timeout = self.instance.config().request_timeout;
        let resp = self
            .instance
            .invoke_broker(&addr, cmd, timeout, &[response::QUERY_NOT_FOUND])
            .await?;
        if resp.code == response::QUERY_NOT_FOUND {
            return Ok(None);
        }
        offset_of(&addr, &resp).map(Some)
    }

    /// Commits `offset` (the next offset to consume) for `mq`, waiting for the broker.
    pub async fn commit_offset(&self, mq: &MessageQueue, offset: i64) -> Result<()> {
        let addr = self.addr(mq).await?;
        let h = UpdateConsumerOffsetRequestHeader {
            consumer_group: self.group.clone(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            commit_offset: offset,
        };
        let cmd = RemotingCommand::request_with_header(request::UPDATE_CONSUMER_OFFSET, &h);
        self.instance
            .invoke_broker(&addr, cmd, Duration::from_secs(5), &[])
            .await
            .map(|_| ())
    }

    /// The queue's max offset (next offset to be written).
    pub async fn max_offset(&self, mq: &MessageQueue) -> Result<i64> {
        let h = GetMaxOffsetRequestHeader {
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            committed: true,
        };
        self.queue_offset(mq, request::GET_MAX_OFFSET, &h).await
    }

    /// The first offset of `mq` stored at or after `timestamp_ms` (SEARCH_OFFSET_BY_TIMESTAMP).
    pub async fn search_offset(&self, mq: &MessageQueue, timestamp_ms: i64) -> Result<i64> {
        let h = SearchOffsetRequestHeader {
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            timestamp: timestamp_ms,
            boundary_type: None,
        };
        self.queue_offset(mq, request::SEARCH_OFFSET_BY_TIMESTAMP, &h)
            .await
    }

    /// The queue's min offset.
    pub async fn min_offset(&self, mq: &MessageQueue) -> Result<i64> {
        let h = GetMinOffsetRequestHeader {
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
        };
        self.queue_offset(mq, request::GET_MIN_OFFSET, &h).await
    }

    async fn queue_offset<H: CommandHeader>(&self, mq: &MessageQueue, code: i32, header: &H) -> Result<i64> {
        let addr = self.addr(mq).await?;
        let cmd = RemotingCommand::request_with_header(code, header);
        let resp = self
            .instance
            .invoke_broker(&addr, cmd, self.instance.config().request_timeout, &[])
            .await?;
        offset_of(&addr, &resp)
    }

    /// Unregisters and closes the connections.
    pub async fn shutdown(&self) {
        self.instance.shutdown().await;
    }
}

fn offset_of(addr: &str, resp: &RemotingCommand) -> Result<i64> {
    resp.ext("offset")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| ClientError::Malformed {
            addr: addr.to_owned(),
            reason: "no offset in the response".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_side_tag_filter() {
        let rec = crate::message::decode::tests::encode_record("T", b"x", "TAGS\u{1}A\u{2}", 0, 0);
        let m = &decode_messages(&rec)[0];
        assert!(tag_matches("*", m) && tag_matches("A || B", m));
        assert!(!tag_matches("B", m));
    }
}
