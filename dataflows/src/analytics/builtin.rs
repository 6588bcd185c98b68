//! The built-in jobs, described by a [`JobSpec`] (JSON over HTTP and in the jobs file):
//!
//! * `count` — messages per tumbling window (by store time) and per topic, tag or key; the HTTP
//!   answer adds the rate (per second of window).
//! * `top_n` — the `n` most frequent keys (or tags) over everything read; ties by smaller key.
//! * `lag` — a consumer group's lag per queue (max offset − committed offset in RocksDB),
//!   sampled once per window; the last `keep` windows are kept.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use differential_dataflow::{AsCollection, VecCollection};
use serde::{Deserialize, Serialize};
use sluice_storage::MessageStore;
use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::Scope;

use super::results::Row;
use super::source::{topic_queues, Message, SourceHandle};
use super::Analytic;

/// What a count or top-N job groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum By {
    Topic,
    Tag,
    Key,
}

impl By {
    /// The grouping values of a message: its topic, its tag (`""` when untagged) or each key.
    pub fn values(self, m: &Message) -> Vec<String> {
        match self {
            By::Topic => vec![m.topic.clone()],
            By::Tag => vec![m.tags.clone().unwrap_or_default()],
            By::Key => m.keys.clone(),
        }
    }
}

/// Where a job starts reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StartAt {
    /// Each queue's min offset: everything still stored.
    #[default]
    Earliest,
    /// Each queue's max offset when the job is attached (recorded in the spec).
    Now,
}

/// A built-in job kind and its parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JobKind {
    Count {
        by: By,
        window_ms: u64,
    },
    TopN {
        by: By,
        n: usize,
    },
    Lag {
        group: String,
        window_ms: u64,
        keep: usize,
    },
}

/// A built-in job as attached (and persisted, so a restarted broker attaches it again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSpec {
    pub name: String,
    pub topic: String,
    #[serde(flatten)]
    pub kind: JobKind,
    #[serde(default)]
    pub start: StartAt,
    /// Resolved when a `now` job is attached: queue id → first offset read.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub start_offsets: BTreeMap<u32, u64>,
}

impl JobSpec {
    /// Checks the parameters (names, windows).
    pub fn validate(&self) -> Result<(), String> {
        if self.name.is_empty() || self.name.len() > 128 || self.name.contains(['/', ' ', '?', '#']) {
            return Err(format!("bad job name {:?}", self.name));
        }
        if self.topic.is_empty() {
            return Err("the topic is empty".into());
        }
        match &self.kind {
            JobKind::Count { window_ms, .. } | JobKind::Lag { window_ms, .. } if *window_ms == 0 => {
                Err("window_ms must be > 0".into())
            }
            JobKind::TopN { n: 0, .. } => Err("n must be > 0".into()),
            JobKind::Lag { group, .. } if group.is_empty() => Err("the group is empty".into()),
            _ => Ok(()),
        }
    }

    /// The window length, for rates.
    pub fn window_ms(&self) -> Option<u64> {
        match &self.kind {
            JobKind::Count { window_ms, .. } => Some(*window_ms),
            _ => None,
        }
    }

    /// The message analytic of a count or top-N job (`None` for lag, which reads offsets).
    pub fn analytic(&self) -> Option<Box<dyn Analytic>> {
        match &self.kind {
            JobKind::Count { by, window_ms } => Some(Box::new(WindowCount {
                by: *by,
                window_ms: *window_ms,
            })),
            JobKind::TopN { by, n } => Some(Box::new(TopN { by: *by, n: *n })),
            JobKind::Lag { .. } => None,
        }
    }
}

/// Start of the tumbling window holding `ts`.
pub fn window_start(ts: i64, window_ms: u64) -> i64 {
    let w = window_ms.max(1) as i64;
    ts - ts.rem_euclid(w)
}

/// Messages per window and per topic / tag / key.
#[derive(Debug, Clone)]
pub struct WindowCount {
    pub by: By,
    pub window_ms: u64,
}

impl Analytic for WindowCount {
    fn build<'scope>(
        &self,
        messages: VecCollection<'scope, u64, Message, isize>,
    ) -> VecCollection<'scope, u64, Row, isize> {
        let (by, w) = (self.by, self.window_ms);
        messages
            .flat_map(move |m| {
                let win = window_start(m.store_timestamp, w);
                by.values(&m).into_iter().map(move |k| (win, k))
            })
            .count()
            .map(|((window, key), n)| Row {
                window,
                key,
                value: n as i64,
            })
    }
}

/// The `n` most frequent values (by count, then by smaller value).
#[derive(Debug, Clone)]
pub struct TopN {
    pub by: By,
    pub n: usize,
}

impl Analytic for TopN {
    fn build<'scope>(
        &self,
        messages: VecCollection<'scope, u64, Message, isize>,
    ) -> VecCollection<'scope, u64, Row, isize> {
        let (by, n) = (self.by, self.n);
        messages
            .flat_map(move |m| by.values(&m))
            .count()
            .map(|(k, c)| (0u8, (c as i64, k)))
            .reduce(move |_, input, output: &mut Vec<((i64, String), isize)>| {
                let mut all: Vec<&(i64, String)> =
                    input.iter().filter(|(_, r)| *r > 0).map(|(v, _)| *v).collect();
                all.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
                output.extend(all.into_iter().take(n).map(|v| (v.clone(), 1)));
            })
            .map(|(_, (value, key))| Row {
                window: 0,
                key,
                value,
            })
    }
}

/// The lag job's collection: one row per (sample window, queue) with `max − committed`, the
/// windows older than the last `keep` retracted. Its activator goes into `handle`.
pub fn lag_rows<'scope>(
    scope: Scope<'scope, u64>,
    store: Arc<MessageStore>,
    topic: String,
    group: String,
    window_ms: u64,
    keep: usize,
    handle: &SourceHandle,
) -> VecCollection<'scope, u64, Row, isize> {
    let slot = handle.activator.clone();
    source(scope, &format!("lag {group}@{topic}"), move |cap, info| {
        let activator = scope.activator_for(info.address.clone());
        *slot.borrow_mut() = Some(scope.activator_for(info.address.clone()));
        let mut cap = Some(cap);
        let mut kept: VecDeque<Vec<Row>> = VecDeque::new();
        let mut last_window: Option<i64> = None;
        move |output| {
            let Some(c) = cap.as_mut() else { return };
            let now = sluice_storage::clock::now_millis();
            let window = window_start(now, window_ms);
            if last_window != Some(window) {
                last_window = Some(window);
                let rows = lag_sample(&store, &topic, &group, window);
                let round = *c.time();
                let mut updates: Vec<(Row, u64, isize)> =
                    rows.iter().map(|r| (r.clone(), round, 1)).collect();
                kept.push_back(rows);
                while kept.len() > keep.max(1) {
                    if let Some(old) = kept.pop_front() {
                        updates.extend(old.into_iter().map(|r| (r, round, -1)));
                    }
                }
                output.session(c).give_container(&mut updates);
                c.downgrade(&(round + 1));
            }
            let next = window + window_ms as i64 - now;
            activator.activate_after(Duration::from_millis(next.max(1) as u64));
        }
    })
    .container::<Vec<(Row, u64, isize)>>()
    .as_collection()
}

/// `max − committed` of each queue of `topic` for `group` (an uncommitted queue counts from its
/// min offset), keyed by queue id.
pub fn lag_sample(store: &MessageStore, topic: &str, group: &str, window: i64) -> Vec<Row> {
    topic_queues(store, topic)
        .into_iter()
        .map(|q| {
            let max = store.max_queue_offset(topic, q);
            let committed = match store.meta().consumer_offset(group, topic, q) {
                Ok(Some(o)) => o,
                Ok(None) => store.min_queue_offset(topic, q),
                Err(e) => {
                    tracing::warn!(error = %e, group, topic, "reading a consumer offset");
                    store.min_queue_offset(topic, q)
                }
            };
            Row {
                window,
                key: q.to_string(),
                value: max.saturating_sub(committed) as i64,
            }
        })
        .collect()
}
