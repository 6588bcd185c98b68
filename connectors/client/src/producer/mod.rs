//! Producers (protocol.md §2.3.1, §3.9, §10.2): sync, async, oneway, batch and ordered sends,
//! retry on another broker with latency-based fault avoidance; transactional sends in
//! [`transaction`].

mod fault;
mod selector;
pub mod transaction;

pub use fault::{avoidance_for, FaultTable};
pub use selector::{MessageQueueSelector, SelectByKey};
pub use transaction::{LocalTransactionState, TransactionListener, TransactionProducer};

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use sluice_remoting::batch::encode_record;
use sluice_remoting::body::MessageQueue;
use sluice_remoting::codes::{request, response};
use sluice_remoting::header::send::{SendMessageRequestHeader, DEFAULT_TOPIC};
use sluice_remoting::RemotingCommand;

use crate::error::{ClientError, Result};
use crate::instance::{ClientConfig, ClientInstance};
use crate::message::{encode_properties, property, sys_flag, Message};
use crate::route::TopicRoute;

/// Producer settings.
#[derive(Debug, Clone)]
pub struct ProducerConfig {
    /// Producer group.
    pub group: String,
    /// Extra attempts on another broker after a failed sync send (Java default 2).
    pub retry_times_when_send_failed: u32,
    /// Timeout of one send.
    pub send_timeout: Duration,
    /// Single messages with a body this large or larger are zlib-compressed (§3.4).
    pub compress_over: usize,
    /// Largest body (or encoded batch) accepted.
    pub max_message_size: usize,
    /// Skip brokers with recent failures or high latency.
    pub fault_avoidance: bool,
}

impl ProducerConfig {
    /// Defaults for `group`.
    pub fn new(group: impl Into<String>) -> Self {
        ProducerConfig {
            group: group.into(),
            retry_times_when_send_failed: 2,
            send_timeout: Duration::from_secs(3),
            compress_over: 4096,
            max_message_size: 4 * 1024 * 1024,
            fault_avoidance: true,
        }
    }
}

/// How the broker stored a sent message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendStatus {
    /// Stored.
    Ok,
    /// Stored, but the synchronous flush timed out.
    FlushDiskTimeout,
    /// Stored, but the slave did not acknowledge in time.
    FlushSlaveTimeout,
    /// Stored, but no slave is available.
    SlaveNotAvailable,
}

/// The outcome of a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendResult {
    /// Store status.
    pub status: SendStatus,
    /// The UNIQ_KEY (batches: comma-joined).
    pub msg_id: String,
    /// The broker's offsetMsgId (batches: comma-joined).
    pub offset_msg_id: String,
    /// The queue it went to.
    pub queue: MessageQueue,
    /// Its queue offset (batches: of the first message).
    pub queue_offset: i64,
    /// 5.x: transaction id.
    pub transaction_id: Option<String>,
}

/// A producer. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Producer {
    pub(crate) inner: Arc<ProducerInner>,
}

#[derive(Debug)]
pub(crate) struct ProducerInner {
    pub(crate) config: ProducerConfig,
    pub(crate) instance: ClientInstance,
    faults: FaultTable,
    next: AtomicUsize,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn valid_topic(topic: &str) -> bool {
    !topic.is_empty()
        && topic.len() <= 127
        && topic
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'%' | b'|' | b'_' | b'-'))
}

/// A message ready for the wire.
struct Prepared {
    body: Bytes,
    properties: String,
    sys_flag: i32,
    uniq: String,
}

impl Producer {
    /// Starts a producer with its own [`ClientInstance`].
    pub fn new(client: ClientConfig, config: ProducerConfig) -> Result<Self> {
        Ok(Self::with_instance(ClientInstance::new(client)?, config))
    }

    /// A producer on a shared instance.
    pub fn with_instance(instance: ClientInstance, config: ProducerConfig) -> Self {
        instance.register_producer(&config.group);
        Producer {
            inner: Arc::new(ProducerInner {
                config,
                instance,
                faults: FaultTable::default(),
                next: AtomicUsize::new(0),
            }),
        }
    }

    /// The client instance.
    pub fn instance(&self) -> &ClientInstance {
        &self.inner.instance
    }

    /// Sends and waits for the broker; on a retryable failure retries up to
    /// `retry_times_when_send_failed` times, preferring another broker.
    pub async fn send(&self, msg: &mut Message) -> Result<SendResult> {
        self.inner.send_with_retry(msg, 0).await
    }

    /// Starts a send in the background; await the handle for the result.
    pub fn send_async(&self, mut msg: Message) -> tokio::task::JoinHandle<Result<SendResult>> {
        let inner = self.inner.clone();
        tokio::spawn(async move { inner.send_with_retry(&mut msg, 0).await })
    }

    /// Sends without waiting for a response (no retry, no result).
    pub async fn send_oneway(&self, msg: &mut Message) -> Result<()> {
        let route = self.inner.publish_route(&msg.topic).await?;
        let mq = self.inner.pick_queue(&route, None)?;
        let (cmd, _) = self.inner.build_single(msg, &mq, 0)?;
        let addr = self.inner.instance.master_addr(&mq.broker_name)?;
        self.inner.instance.oneway_broker(&addr, cmd).await
    }

    /// Sends to the queue `selector` picks among the topic's publish queues (ordered
    /// messages: same key, same queue). No retry elsewhere, which would break the order.
    pub async fn send_ordered(
        &self,
        msg: &mut Message,
        selector: &dyn MessageQueueSelector,
    ) -> Result<SendResult> {
        let route = self.inner.publish_route(&msg.topic).await?;
        if route.publish.is_empty() {
            return Err(ClientError::NoRoute(msg.topic.clone()));
        }
        let i = selector.select(&route.publish, msg) % route.publish.len();
        let mq = route
            .publish
            .get(i)
            .cloned()
            .ok_or_else(|| ClientError::NoRoute(msg.topic.clone()))?;
        self.send_to_queue(msg, &mq).await
    }

    /// Sends to one given queue.
    pub async fn send_to_queue(&self, msg: &mut Message, mq: &MessageQueue) -> Result<SendResult> {
        self.inner.send_once(msg, mq, 0).await
    }

    /// Sends messages of one topic as one SEND_BATCH_MESSAGE (§3.9), with retries like
    /// [`Producer::send`].
    pub async fn send_batch(&self, msgs: &mut [Message]) -> Result<SendResult> {
        self.inner.send_batch(msgs).await
    }

    /// Unregisters from the brokers and closes the connections.
    pub async fn shutdown(&self) {
        self.inner.instance.shutdown().await;
    }
}

impl ProducerInner {
    fn validate(&self, msg: &Message) -> Result<()> {
        if !valid_topic(&msg.topic) {
            return Err(ClientError::InvalidMessage(format!(
                "topic {:?} is not valid",
                msg.topic
            )));
        }
        if msg.body.is_empty() {
            return Err(ClientError::InvalidMessage("empty body".into()));
        }
        if msg.body.len() > self.config.max_message_size {
            return Err(ClientError::InvalidMessage(format!(
                "body of {} bytes exceeds {}",
                msg.body.len(),
                self.config.max_message_size
            )));
        }
        Ok(())
    }

    /// Assigns the UNIQ_KEY (once) and compresses large bodies.
    fn prepare(&self, msg: &mut Message, compress: bool) -> Prepared {
        let uniq = match msg.uniq_key() {
            Some(k) => k.to_owned(),
            None => {
                let k = self.instance.inner.uniq.next_key();
                msg.properties.insert(property::UNIQ_KEY.into(), k.clone());
                k
            }
        };
        let mut body = msg.body.clone();
        let mut sys = 0;
        if compress && msg.body.len() >= self.config.compress_over {
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(5));
            if z.write_all(&msg.body).is_ok() {
                if let Ok(packed) = z.finish() {
                    body = Bytes::from(packed);
                    sys |= sys_flag::COMPRESSED;
                }
            }
        }
        Prepared {
            body,
            properties: encode_properties(&msg.properties),
            sys_flag: sys,
            uniq,
        }
    }

    fn header(
        &self,
        topic: &str,
        mq: &MessageQueue,
        prepared: &Prepared,
        flag: i32,
        batch: bool,
    ) -> SendMessageRequestHeader {
        SendMessageRequestHeader {
            producer_group: self.config.group.clone(),
            topic: topic.to_owned(),
            default_topic: DEFAULT_TOPIC.to_owned(),
            default_topic_queue_nums: 4,
            queue_id: mq.queue_id,
            sys_flag: prepared.sys_flag,
            born_timestamp: now_ms(),
            flag,
            properties: (!prepared.properties.is_empty()).then(|| prepared.properties.clone()),
            reconsume_times: Some(0),
            unit_mode: false,
            max_reconsume_times: None,
            batch,
            broker_name: Some(mq.broker_name.clone()),
        }
    }

    /// The SEND_MESSAGE_V2 request of a single message; `extra_sys_flag` adds e.g. PREPARED.
    pub(crate) fn build_single(
        &self,
        msg: &mut Message,
        mq: &MessageQueue,
        extra_sys_flag: i32,
    ) -> Result<(RemotingCommand, String)> {
        self.validate(msg)?;
        let mut p = self.prepare(msg, true);
        p.sys_flag |= extra_sys_flag;
        let mut h = self.header(&msg.topic, mq, &p, msg.flag, false);
        // The fallback resend of a consumer moves these into the header (§5.3).
        if let Some(r) = msg
            .property(property::RECONSUME_TIME)
            .and_then(|v| v.parse().ok())
        {
            h.reconsume_times = Some(r);
        }
        if let Some(m) = msg
            .property(property::MAX_RECONSUME_TIMES)
            .and_then(|v| v.parse().ok())
        {
            h.max_reconsume_times = Some(m);
        }
        let cmd = RemotingCommand {
            code: request::SEND_MESSAGE_V2,
            ext_fields: h.to_ext_v2(),
            body: p.body,
            ..Default::default()
        };
        Ok((cmd, p.uniq))
    }

    /// The route to publish `topic`: its own, or — for a topic the NameServer does not know
    /// yet — TBW102's queues (at most 4 per broker), letting the broker auto-create it (§10.2).
    pub(crate) async fn publish_route(&self, topic: &str) -> Result<Arc<TopicRoute>> {
        if let Some(r) = self.instance.routes().get(topic) {
            if !r.publish.is_empty() {
                return Ok(r);
            }
        }
        if let Some(r) = self.instance.update_route(topic).await? {
            if !r.publish.is_empty() {
                return Ok(r);
            }
        }
        let Some(default) = self.instance.update_route(DEFAULT_TOPIC).await? else {
            return Err(ClientError::NoRoute(topic.to_owned()));
        };
        let mut data = default.data.clone();
        for qd in &mut data.queue_datas {
            qd.read_queue_nums = qd.read_queue_nums.min(4);
            qd.write_queue_nums = qd.write_queue_nums.min(4);
        }
        let route = TopicRoute::new(topic, data);
        if route.publish.is_empty() {
            return Err(ClientError::NoRoute(topic.to_owned()));
        }
        Ok(Arc::new(route))
    }

    /// Round-robin over the publish queues, skipping avoided brokers and `last_failed`; falls
    /// back to plain round-robin when every broker is avoided.
    pub(crate) fn pick_queue(&self, route: &TopicRoute, last_failed: Option<&str>) -> Result<MessageQueue> {
        let n = route.publish.len();
        if n == 0 {
            return Err(ClientError::NoRoute(String::new()));
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let candidates = (0..n).filter_map(|k| route.publish.get((start + k) % n));
        let mut fallback = None;
        for mq in candidates {
            let avoided = self.config.fault_avoidance && !self.faults.is_available(&mq.broker_name);
            let same = last_failed == Some(mq.broker_name.as_str());
            if !avoided && !same {
                return Ok(mq.clone());
            }
            if fallback.is_none() && !same {
                fallback = Some(mq.clone());
            }
        }
        fallback
            .or_else(|| route.publish.get(start % n).cloned())
            .ok_or_else(|| ClientError::NoRoute(String::new()))
    }

    async fn invoke_send(&self, mq: &MessageQueue, cmd: RemotingCommand, uniq: String) -> Result<SendResult> {
        let addr = self.instance.master_addr(&mq.broker_name)?;
        let started = Instant::now();
        let result = self
            .instance
            .invoke_broker(&addr, cmd, self.config.send_timeout, &[])
            .await;
        let result = result.and_then(|resp| parse_send_response(&addr, mq, &resp, uniq));
        self.faults
            .record(&mq.broker_name, started.elapsed(), result.is_err());
        result
    }

    pub(crate) async fn send_once(
        &self,
        msg: &mut Message,
        mq: &MessageQueue,
        extra_sys_flag: i32,
    ) -> Result<SendResult> {
        let (cmd, uniq) = self.build_single(msg, mq, extra_sys_flag)?;
        self.invoke_send(mq, cmd, uniq).await
    }

    pub(crate) async fn send_with_retry(&self, msg: &mut Message, extra_sys_flag: i32) -> Result<SendResult> {
        self.validate(msg)?;
        let attempts = 1 + self.config.retry_times_when_send_failed;
        let mut last_failed: Option<String> = None;
        let mut last_err = None;
        for attempt in 0..attempts {
            let route = self.publish_route(&msg.topic).await?;
            let mq = self.pick_queue(&route, last_failed.as_deref())?;
            match self.send_once(msg, &mq, extra_sys_flag).await {
                Ok(r) => return Ok(r),
                Err(e) if retryable(&e) => {
                    tracing::warn!(attempt, broker = %mq.broker_name, error = %e, "send failed, retrying");
                    last_failed = Some(mq.broker_name.clone());
                    last_err = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap_or_else(|| ClientError::NoRoute(msg.topic.clone())))
    }

    async fn send_batch(&self, msgs: &mut [Message]) -> Result<SendResult> {
        let Some(topic) = msgs.first().map(|m| m.topic.clone()) else {
            return Err(ClientError::InvalidMessage("empty batch".into()));
        };
        let mut body = Vec::new();
        let mut uniqs = Vec::with_capacity(msgs.len());
        for m in msgs.iter_mut() {
            self.validate(m)?;
            if m.topic != topic {
                return Err(ClientError::InvalidMessage("a batch must have one topic".into()));
            }
            if m.property(property::DELAY).is_some() {
                return Err(ClientError::InvalidMessage(
                    "batched messages cannot have a delay level".into(),
                ));
            }
            let p = self.prepare(m, false);
            if !encode_record(&mut body, m.flag, &m.body, &p.properties) {
                return Err(ClientError::InvalidMessage("properties too large".into()));
            }
            uniqs.push(p.uniq);
        }
        if body.len() > self.config.max_message_size {
            return Err(ClientError::InvalidMessage(format!(
                "batch of {} bytes is too large",
                body.len()
            )));
        }
        let body = Bytes::from(body);
        let uniq = uniqs.join(",");
        let empty = Prepared {
            body: Bytes::new(),
            properties: String::new(),
            sys_flag: 0,
            uniq: String::new(),
        };
        let mut last_failed: Option<String> = None;
        let mut last_err = None;
        for attempt in 0..=self.config.retry_times_when_send_failed {
            let route = self.publish_route(&topic).await?;
            let mq = self.pick_queue(&route, last_failed.as_deref())?;
            let h = self.header(&topic, &mq, &empty, 0, true);
            let cmd = RemotingCommand {
                code: request::SEND_BATCH_MESSAGE,
                ext_fields: h.to_ext_v2(),
                body: body.clone(),
                ..Default::default()
            };
            match self.invoke_send(&mq, cmd, uniq.clone()).await {
                Ok(r) => return Ok(r),
                Err(e) if retryable(&e) => {
                    tracing::warn!(attempt, broker = %mq.broker_name, error = %e, "batch send failed, retrying");
                    last_failed = Some(mq.broker_name.clone());
                    last_err = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap_or(ClientError::NoRoute(topic)))
    }
}

/// Failures worth another attempt: transport errors and the codes Java retries on (§2.2).
fn retryable(e: &ClientError) -> bool {
    match e {
        ClientError::Io { .. } | ClientError::Timeout { .. } | ClientError::Closed { .. } => true,
        ClientError::NoBroker(_) => true,
        ClientError::Response { code, .. } => response::producer_retries(*code),
        _ => false,
    }
}

fn parse_send_response(
    addr: &str,
    mq: &MessageQueue,
    resp: &RemotingCommand,
    uniq: String,
) -> Result<SendResult> {
    let status = match resp.code {
        response::SUCCESS => SendStatus::Ok,
        response::FLUSH_DISK_TIMEOUT => SendStatus::FlushDiskTimeout,
        response::FLUSH_SLAVE_TIMEOUT => SendStatus::FlushSlaveTimeout,
        response::SLAVE_NOT_AVAILABLE => SendStatus::SlaveNotAvailable,
        code => {
            return Err(ClientError::Response {
                addr: addr.to_owned(),
                code,
                remark: resp.remark.clone(),
            })
        }
    };
    let malformed = |reason: String| ClientError::Malformed {
        addr: addr.to_owned(),
        reason,
    };
    let queue_id = resp
        .ext("queueId")
        .and_then(|v| v.parse().ok())
        .unwrap_or(mq.queue_id);
    let queue_offset = resp
        .ext("queueOffset")
        .ok_or_else(|| malformed("no queueOffset".into()))?
        .parse()
        .map_err(|_| malformed("bad queueOffset".into()))?;
    Ok(SendResult {
        status,
        msg_id: uniq,
        offset_msg_id: resp.ext("msgId").unwrap_or_default().to_owned(),
        queue: MessageQueue::new(mq.topic.clone(), mq.broker_name.clone(), queue_id),
        queue_offset,
        transaction_id: resp.ext("transactionId").map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names() {
        assert!(valid_topic("Topic_1-a") && valid_topic("%RETRY%g"));
        assert!(!valid_topic("") && !valid_topic("a b") && !valid_topic(&"x".repeat(128)));
    }

    #[test]
    fn retry_policy() {
        let resp = |code| ClientError::Response {
            addr: String::new(),
            code,
            remark: None,
        };
        assert!(retryable(&resp(response::SYSTEM_BUSY)));
        assert!(!retryable(&resp(response::MESSAGE_ILLEGAL)));
        assert!(retryable(&ClientError::Closed { addr: String::new() }));
        assert!(!retryable(&ClientError::InvalidMessage(String::new())));
    }

    #[test]
    fn send_response() {
        let mq = MessageQueue::new("T", "b", 0);
        let resp = RemotingCommand::response(0)
            .with_ext("queueId", "2")
            .with_ext("queueOffset", "17")
            .with_ext("msgId", "OFF");
        let r = parse_send_response("a", &mq, &resp, "U".into()).unwrap();
        assert_eq!(
            (r.status, r.queue.queue_id, r.queue_offset),
            (SendStatus::Ok, 2, 17)
        );
        assert_eq!((r.msg_id.as_str(), r.offset_msg_id.as_str()), ("U", "OFF"));
        let err = parse_send_response("a", &mq, &RemotingCommand::response(13), "U".into()).unwrap_err();
        assert_eq!(err.response_code(), Some(13));
    }
}
