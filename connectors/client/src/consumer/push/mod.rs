//! The push consumer (protocol.md §7): subscriptions with TAG expressions, rebalance every
//! 20 s and on NOTIFY_CONSUMER_IDS_CHANGED with an [`AllocateStrategy`], one long-polling pull
//! loop per assigned queue, flow control, concurrent or orderly listeners, send-back of failed
//! messages, offsets committed to the broker (CLUSTERING) or kept in a local file
//! (BROADCASTING).
//!
//! | module | concept |
//! |---|---|
//! | [`listener`] | the listener traits, statuses and contexts |
//! | `process_queue` | the local cache of one assigned queue |
//! | `offset_store` | consume progress in memory / in the BROADCASTING file |
//! | `rebalance` | who owns which queue, where a new queue starts, orderly locks |
//! | `pull_loop` | the long-polling pull of one queue and its flow control |
//! | `consume` | running listeners, send-back and the `%RETRY%` fallback |

mod consume;
pub mod listener;
mod offset_store;
mod process_queue;
mod pull_loop;
mod rebalance;

pub use listener::{
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, ConsumeOrderlyContext, ConsumeOrderlyStatus,
    MessageListenerConcurrently, MessageListenerOrderly,
};

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sluice_remoting::body::heartbeat::{ConsumerData, SubscriptionData};
use sluice_remoting::body::{ConsumeFromWhere, ConsumeType, MessageModel, MessageQueue};
use tokio::sync::{Notify, Semaphore};

use self::offset_store::OffsetStore;
use self::process_queue::ProcessQueue;
use crate::consumer::allocate::AllocateStrategy;
use crate::consumer::pull::PullConsumer;
use crate::error::{ClientError, Result};
use crate::instance::{ClientConfig, ClientInstance};
use crate::producer::{Producer, ProducerConfig};

/// Prefix of a group's retry topic.
pub const RETRY_PREFIX: &str = "%RETRY%";

/// The retry topic of `group`.
pub fn retry_topic(group: &str) -> String {
    format!("{RETRY_PREFIX}{group}")
}

/// Where a consumer starts on a queue the group has no committed offset for (§7.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConsumeFrom {
    /// The queue's max offset (retry topics: 0).
    #[default]
    LastOffset,
    /// Offset 0 (the broker moves it to the min offset).
    FirstOffset,
    /// The first message stored at or after this time (ms since the epoch; retry topics: the
    /// max offset).
    Timestamp(i64),
}

impl ConsumeFrom {
    /// Java's default for TIMESTAMP: half an hour ago.
    pub fn half_an_hour_ago() -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        ConsumeFrom::Timestamp(now - 30 * 60 * 1000)
    }

    fn wire(self) -> ConsumeFromWhere {
        match self {
            ConsumeFrom::LastOffset => ConsumeFromWhere::ConsumeFromLastOffset,
            ConsumeFrom::FirstOffset => ConsumeFromWhere::ConsumeFromFirstOffset,
            ConsumeFrom::Timestamp(_) => ConsumeFromWhere::ConsumeFromTimestamp,
        }
    }
}

/// Push consumer settings (Java defaults).
#[derive(Debug, Clone)]
pub struct PushConfig {
    /// Consumer group.
    pub group: String,
    /// CLUSTERING (queues shared, broker offsets) or BROADCASTING (all queues, local offsets).
    pub message_model: MessageModel,
    /// Where a new consumer starts.
    pub consume_from: ConsumeFrom,
    /// Queue allocation among the group's clients.
    pub strategy: AllocateStrategy,
    /// Messages per pull (32).
    pub pull_batch_size: i32,
    /// Messages per listener call (1).
    pub consume_batch_size: usize,
    /// Concurrent listener calls at most (20).
    pub consume_threads: usize,
    /// Pause pulling a queue caching more messages than this (1000).
    pub pull_threshold_for_queue: usize,
    /// Pause pulling a queue caching more body bytes than this (100 MiB).
    pub pull_threshold_size_for_queue: usize,
    /// Concurrent: pause pulling when cached offsets span more than this (2000).
    pub consume_concurrently_max_span: i64,
    /// Long-poll hold time asked of the broker (15 s).
    pub suspend_time: Duration,
    /// Send-back limit before the DLQ (concurrent 16; orderly local retries: unlimited).
    pub max_reconsume_times: Option<i32>,
    /// Orderly: pause after a failed batch (1 s).
    pub suspend_current_queue_time: Duration,
    /// Rebalance period (20 s).
    pub rebalance_interval: Duration,
    /// Offset persistence period (5 s).
    pub persist_interval: Duration,
    /// Orderly re-lock period (20 s).
    pub lock_interval: Duration,
    /// BROADCASTING offset folder; default `~/.rocketmq_offsets`; the file is
    /// `<dir>/<clientId>/<group>/offsets.json`.
    pub offset_store_dir: Option<PathBuf>,
}

impl PushConfig {
    /// Defaults for `group`.
    pub fn new(group: impl Into<String>) -> Self {
        PushConfig {
            group: group.into(),
            message_model: MessageModel::Clustering,
            consume_from: ConsumeFrom::LastOffset,
            strategy: AllocateStrategy::Averagely,
            pull_batch_size: 32,
            consume_batch_size: 1,
            consume_threads: 20,
            pull_threshold_for_queue: 1000,
            pull_threshold_size_for_queue: 100 * 1024 * 1024,
            consume_concurrently_max_span: 2000,
            suspend_time: Duration::from_secs(15),
            max_reconsume_times: None,
            suspend_current_queue_time: Duration::from_secs(1),
            rebalance_interval: Duration::from_secs(20),
            persist_interval: Duration::from_secs(5),
            lock_interval: Duration::from_secs(20),
            offset_store_dir: None,
        }
    }
}

/// The application's listener.
#[derive(Clone)]
pub(crate) enum Listener {
    Concurrently(Arc<dyn MessageListenerConcurrently>),
    Orderly(Arc<dyn MessageListenerOrderly>),
}

/// State shared by the consumer's tasks.
pub(crate) struct Shared {
    pub(crate) config: PushConfig,
    pub(crate) puller: PullConsumer,
    /// `CLIENT_INNER_PRODUCER` for the `%RETRY%` fallback.
    pub(crate) producer: Producer,
    /// topic → TAG expression.
    pub(crate) subscriptions: Mutex<BTreeMap<String, String>>,
    pub(crate) listener: Mutex<Option<Listener>>,
    pub(crate) table: Mutex<HashMap<MessageQueue, Arc<ProcessQueue>>>,
    pub(crate) offsets: OffsetStore,
    pub(crate) permits: Arc<Semaphore>,
    pub(crate) rebalance_now: Arc<Notify>,
    pub(crate) stopped: AtomicBool,
    pub(crate) stop: Notify,
}

impl Shared {
    pub(crate) fn instance(&self) -> &ClientInstance {
        &self.puller.instance
    }

    pub(crate) fn clustering(&self) -> bool {
        self.config.message_model == MessageModel::Clustering
    }

    pub(crate) fn orderly(&self) -> bool {
        matches!(self.listener(), Some(Listener::Orderly(_)))
    }

    pub(crate) fn listener(&self) -> Option<Listener> {
        self.listener.lock().ok().and_then(|l| l.clone())
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    pub(crate) fn max_reconsume_times(&self) -> i32 {
        self.config
            .max_reconsume_times
            .unwrap_or(if self.orderly() { i32::MAX } else { 16 })
    }

    pub(crate) fn queues(&self) -> Vec<Arc<ProcessQueue>> {
        self.table
            .lock()
            .map(|t| t.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The heartbeat data of this group.
    fn consumer_data(&self) -> ConsumerData {
        let subs = self.subscriptions.lock().map(|s| s.clone()).unwrap_or_default();
        let version = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        ConsumerData {
            consume_from_where: self.config.consume_from.wire(),
            consume_type: ConsumeType::ConsumePassively,
            group_name: self.config.group.clone(),
            message_model: self.config.message_model,
            subscription_data_set: subs
                .iter()
                .map(|(t, e)| SubscriptionData::tag_expression(t.clone(), e, version))
                .collect(),
            unit_mode: false,
        }
    }
}

/// A push consumer. Subscribe, then start with a concurrent or an orderly listener.
pub struct PushConsumer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for PushConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushConsumer")
            .field("group", &self.shared.config.group)
            .finish_non_exhaustive()
    }
}

impl PushConsumer {
    /// A push consumer with its own [`ClientInstance`].
    pub fn new(client: ClientConfig, config: PushConfig) -> Result<Self> {
        Self::with_instance(ClientInstance::new(client)?, config)
    }

    /// A push consumer on a shared instance.
    pub fn with_instance(instance: ClientInstance, config: PushConfig) -> Result<Self> {
        if config.group.is_empty() {
            return Err(ClientError::InvalidArgument("empty consumer group".into()));
        }
        let offsets = match config.message_model {
            MessageModel::Clustering => OffsetStore::remote(),
            MessageModel::Broadcasting => {
                let dir = match &config.offset_store_dir {
                    Some(d) => d.clone(),
                    None => std::env::var_os("HOME")
                        .map(PathBuf::from)
                        .unwrap_or_else(std::env::temp_dir)
                        .join(".rocketmq_offsets"),
                };
                let client_dir = instance.client_id().replace(['/', '\\', ':'], "_");
                OffsetStore::local(dir.join(client_dir).join(&config.group).join("offsets.json"))?
            }
        };
        let producer =
            Producer::with_instance(instance.clone(), ProducerConfig::new("CLIENT_INNER_PRODUCER"));
        let puller = PullConsumer {
            instance,
            group: config.group.clone(),
        };
        let mut subscriptions = BTreeMap::new();
        if config.message_model == MessageModel::Clustering {
            subscriptions.insert(retry_topic(&config.group), "*".to_owned());
        }
        Ok(PushConsumer {
            shared: Arc::new(Shared {
                permits: Arc::new(Semaphore::new(config.consume_threads.max(1))),
                config,
                puller,
                producer,
                subscriptions: Mutex::new(subscriptions),
                listener: Mutex::new(None),
                table: Mutex::new(HashMap::new()),
                offsets,
                rebalance_now: Arc::new(Notify::new()),
                stopped: AtomicBool::new(false),
                stop: Notify::new(),
            }),
        })
    }

    /// The client instance.
    pub fn instance(&self) -> &ClientInstance {
        self.shared.instance()
    }

    /// Subscribes to `topic` with a TAG expression (`*`, `A || B`). CLUSTERING consumers are
    /// subscribed to `%RETRY%<group>` already. After start, the next rebalance picks it up.
    pub fn subscribe(&self, topic: impl Into<String>, expression: impl Into<String>) {
        if let Ok(mut s) = self.shared.subscriptions.lock() {
            s.insert(topic.into(), expression.into());
        }
        if self.shared.listener().is_some() {
            self.shared
                .instance()
                .register_consumer(self.shared.consumer_data());
            self.shared.rebalance_now.notify_one();
        }
    }

    /// Starts consuming with a concurrent listener.
    pub async fn start_concurrently(&self, listener: impl MessageListenerConcurrently) -> Result<()> {
        self.start(Listener::Concurrently(Arc::new(listener))).await
    }

    /// Starts consuming with an orderly listener (CLUSTERING: broker queue locks).
    pub async fn start_orderly(&self, listener: impl MessageListenerOrderly) -> Result<()> {
        self.start(Listener::Orderly(Arc::new(listener))).await
    }

    async fn start(&self, listener: Listener) -> Result<()> {
        {
            let mut l = self.shared.listener.lock().map_err(|_| ClientError::Shutdown)?;
            if l.is_some() {
                return Err(ClientError::InvalidArgument("consumer already started".into()));
            }
            *l = Some(listener);
        }
        let notify = self
            .shared
            .instance()
            .register_consumer(self.shared.consumer_data());
        rebalance::start(self.shared.clone(), notify).await;
        Ok(())
    }

    /// The queues this consumer currently owns, sorted.
    pub fn assigned_queues(&self) -> Vec<MessageQueue> {
        let mut v: Vec<MessageQueue> = self.shared.queues().iter().map(|pq| pq.mq.clone()).collect();
        v.sort();
        v
    }

    /// The in-memory consume offset (next to consume) of `mq`.
    pub fn consume_offset(&self, mq: &MessageQueue) -> Option<i64> {
        self.shared.offsets.read(mq)
    }

    /// Stops pulling, commits the offsets (or writes the offset file), unlocks orderly queues,
    /// unregisters and closes the instance.
    pub async fn shutdown(&self) {
        if self.shared.stopped.swap(true, Ordering::AcqRel) {
            return;
        }
        self.shared.stop.notify_waiters();
        rebalance::release_all(&self.shared).await;
        self.shared.instance().shutdown().await;
    }
}
