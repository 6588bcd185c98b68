//! `sluice-timely-source`: a timely source that reads a topic as a consumer group over the wire
//! (design.md §4, out of process).
//!
//! Every worker of the computation (threads `-w`, processes `-n`/`-p`/`-h`) builds the same
//! [`consumer_source`]; worker `i` of `n` owns the topic's queues whose index in the sorted queue
//! list is `i` modulo `n`. A worker pulls its queues from the group's committed offset (the queue's
//! min offset when the group has none), emits the messages at its current epoch and moves to the
//! next epoch. The offsets reached at epoch `e` are committed to the broker only once the probe
//! handed in has passed `e`, so a crash replays what was not fully processed (at-least-once).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sluice_client::consumer::PullOptions;
use sluice_client::{ClientConfig, ClientError, MessageExt, MessageQueue, PullConsumer, PullStatus};
use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::operators::probe::Handle as ProbeHandle;
use timely::dataflow::{Scope, StreamVec};

/// Why the source could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The client failed (route, connection, offsets).
    #[error("client: {0}")]
    Client(#[from] ClientError),
    /// The worker's tokio runtime could not start.
    #[error("tokio runtime: {0}")]
    Runtime(#[from] std::io::Error),
}

/// Where and how to consume.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// NameServer addresses.
    pub namesrv: Vec<String>,
    /// The topic.
    pub topic: String,
    /// The consumer group whose offsets are read and committed.
    pub group: String,
    /// Messages per pull.
    pub batch: i32,
    /// Length of an epoch: idle workers still advance their epoch this often, so that the others'
    /// epochs can pass the probe.
    pub epoch: Duration,
    /// Stop once no message arrived on this worker's queues for this long (`None`: run forever).
    pub idle: Option<Duration>,
}

impl SourceConfig {
    /// A config with a batch of 32, 50 ms epochs, running forever.
    pub fn new(namesrv: Vec<String>, topic: impl Into<String>, group: impl Into<String>) -> Self {
        SourceConfig {
            namesrv,
            topic: topic.into(),
            group: group.into(),
            batch: 32,
            epoch: Duration::from_millis(50),
            idle: None,
        }
    }
}

/// One message as the dataflow carries it (serializable, so it may cross processes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub topic: String,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub tags: Option<String>,
    pub keys: Vec<String>,
    pub born_timestamp: i64,
    pub store_timestamp: i64,
    pub body: Vec<u8>,
}

impl From<MessageExt> for Record {
    fn from(m: MessageExt) -> Self {
        Record {
            tags: m.tags().map(str::to_owned),
            keys: m.keys().into_iter().map(str::to_owned).collect(),
            topic: m.topic,
            queue_id: m.queue_id,
            queue_offset: m.queue_offset,
            born_timestamp: m.born_timestamp,
            store_timestamp: m.store_timestamp,
            body: m.body.to_vec(),
        }
    }
}

/// The queues worker `index` of `peers` owns: every `peers`-th of the sorted list, from `index`.
pub fn owned_queues(all: &[MessageQueue], index: usize, peers: usize) -> Vec<MessageQueue> {
    let mut sorted = all.to_vec();
    sorted.sort();
    sorted
        .into_iter()
        .enumerate()
        .filter(|(i, _)| *i % peers.max(1) == index)
        .map(|(_, q)| q)
        .collect()
}

struct Owned {
    mq: MessageQueue,
    next: i64,
}

/// What one worker's source keeps between activations.
struct State {
    rt: tokio::runtime::Runtime,
    consumer: PullConsumer,
    queues: Vec<Owned>,
    opts: PullOptions,
    /// Offsets reached by the messages emitted at each epoch, not yet committed.
    pending: BTreeMap<u64, BTreeMap<usize, i64>>,
    started: Instant,
    last_message: Instant,
}

impl State {
    /// Commits the offsets of every epoch the probe has passed; keeps them on failure.
    fn commit_passed(&mut self, probe: &ProbeHandle<u64>) {
        let frontier = probe.with_frontier(|f| f.first().copied());
        let passed: Vec<u64> = self
            .pending
            .keys()
            .copied()
            .filter(|e| frontier.is_none_or(|f| *e < f))
            .collect();
        if passed.is_empty() {
            return;
        }
        let mut latest: BTreeMap<usize, i64> = BTreeMap::new();
        for e in &passed {
            for (q, off) in self.pending.get(e).into_iter().flatten() {
                let slot = latest.entry(*q).or_insert(*off);
                *slot = (*slot).max(*off);
            }
        }
        let (consumer, queues) = (&self.consumer, &self.queues);
        let ok = self.rt.block_on(async {
            for (q, off) in &latest {
                if let Err(e) = consumer.commit_offset(&queues[*q].mq, *off).await {
                    eprintln!("sluice-timely-source: commit {:?}: {e}", queues[*q].mq);
                    return false;
                }
            }
            true
        });
        if ok {
            for e in passed {
                self.pending.remove(&e);
            }
        }
    }

    /// Pulls every owned queue once; the offsets reached per queue index.
    fn pull_round(&mut self, out: &mut Vec<Record>) -> BTreeMap<usize, i64> {
        let mut reached = BTreeMap::new();
        let (consumer, opts) = (&self.consumer, &self.opts);
        let queues = &mut self.queues;
        self.rt.block_on(async {
            for (i, q) in queues.iter_mut().enumerate() {
                let r = match consumer.pull_with(&q.mq, q.next, opts).await {
                    Ok(r) => r,
                    Err(e) => {
                        eprintln!("sluice-timely-source: pull {:?}: {e}", q.mq);
                        continue;
                    }
                };
                match r.status {
                    PullStatus::Found | PullStatus::NoMatchedMessage => {
                        out.extend(r.messages.into_iter().map(Record::from));
                        if r.next_begin_offset > q.next {
                            q.next = r.next_begin_offset;
                            reached.insert(i, q.next);
                        }
                    }
                    PullStatus::OffsetIllegal => q.next = r.next_begin_offset,
                    PullStatus::NoNewMessage => {}
                }
            }
        });
        reached
    }
}

/// Builds this worker's share of the consumer-group source of `config.topic` in `scope`.
///
/// `probe` must be attached (`probe_with`) where the messages count as processed; offsets are
/// committed only for epochs it has passed. Every worker must call this, in the same order
/// among its dataflows.
pub fn consumer_source<'scope>(
    scope: Scope<'scope, u64>,
    config: SourceConfig,
    probe: &ProbeHandle<u64>,
) -> Result<StreamVec<'scope, u64, Record>, SourceError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("sluice-source-io")
        .enable_all()
        .build()?;
    let consumer = {
        let _enter = rt.enter();
        PullConsumer::new(ClientConfig::new(config.namesrv.clone()), config.group.clone())?
    };
    let queues = rt.block_on(async {
        let all = consumer.queues(&config.topic).await?;
        let mut owned = Vec::new();
        for mq in owned_queues(&all, scope.index(), scope.peers()) {
            let next = match consumer.fetch_offset(&mq).await? {
                Some(o) if o >= 0 => o,
                _ => consumer.min_offset(&mq).await?,
            };
            owned.push(Owned { mq, next });
        }
        Ok::<_, ClientError>(owned)
    })?;
    let opts = PullOptions {
        max_msgs: config.batch.max(1),
        ..PullOptions::default()
    };
    let now = Instant::now();
    let mut state = State {
        rt,
        consumer,
        queues,
        opts,
        pending: BTreeMap::new(),
        started: now,
        last_message: now,
    };
    let probe = probe.clone();
    let epoch_len = config.epoch.max(Duration::from_millis(1));
    let idle = config.idle;
    let name = format!("consumer-source {}", config.topic);
    let stream = source(scope, &name, move |cap, info| {
        let activator = scope.activator_for(info.address.clone());
        let mut cap = Some(cap);
        move |output| {
            state.commit_passed(&probe);
            let Some(c) = cap.as_mut() else { return };
            let epoch = *c.time();
            let finishing = idle.is_some_and(|d| state.last_message.elapsed() >= d);
            let mut emitted = false;
            if !finishing {
                let mut batch = Vec::new();
                let reached = state.pull_round(&mut batch);
                if !batch.is_empty() {
                    state.last_message = Instant::now();
                    output.session(c).give_container(&mut batch);
                    emitted = true;
                }
                if !reached.is_empty() {
                    state.pending.entry(epoch).or_default().extend(reached);
                }
            }
            let by_clock = (state.started.elapsed().as_nanos() / epoch_len.as_nanos()) as u64;
            let next =
                by_clock.max(epoch + u64::from(emitted || finishing || state.pending.contains_key(&epoch)));
            if next > epoch {
                c.downgrade(&next);
            }
            if finishing && state.pending.is_empty() {
                cap = None;
                state.rt.block_on(state.consumer.shutdown());
                return;
            }
            if emitted {
                activator.activate();
            } else {
                activator.activate_after(epoch_len);
            }
        }
    });
    Ok(stream)
}
