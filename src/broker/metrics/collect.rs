//! The gauges `/metrics` derives from broker state at scrape time: topic and group numbers,
//! connections, each group's lag, storage, replication lag and analytics freshness. Nothing
//! here is maintained on the request path.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Weak;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;

use crate::broker::BrokerState;

/// Reads the broker at each scrape (a weak reference: the registry lives inside the state).
#[derive(Debug)]
pub struct StateCollector {
    state: Weak<BrokerState>,
}

impl StateCollector {
    pub fn new(state: Weak<BrokerState>) -> StateCollector {
        StateCollector { state }
    }
}

/// One gauge family: its name, help and labelled values.
struct GaugeFamily<L> {
    name: &'static str,
    help: &'static str,
    values: Vec<(L, f64)>,
}

impl<L: EncodeLabelSet> GaugeFamily<L> {
    fn new(name: &'static str, help: &'static str) -> Self {
        GaugeFamily {
            name,
            help,
            values: Vec::new(),
        }
    }

    fn push(&mut self, labels: L, value: f64) {
        self.values.push((labels, value));
    }

    fn encode(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut metric = encoder.encode_descriptor(self.name, self.help, None, MetricType::Gauge)?;
        for (labels, v) in &self.values {
            ConstGauge::new(*v).encode(metric.encode_family(labels)?)?;
        }
        Ok(())
    }
}

/// A gauge without labels of its own.
fn single(encoder: &mut DescriptorEncoder, name: &str, help: &str, v: f64) -> Result<(), std::fmt::Error> {
    ConstGauge::new(v).encode(encoder.encode_descriptor(name, help, None, MetricType::Gauge)?)
}

/// A lag gauge: name, help, and which figure of [`GroupLag`] it shows.
type LagFamily = (&'static str, &'static str, fn(&GroupLag) -> f64);

/// One group's position on one topic, summed over its queues.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct GroupLag {
    /// Messages stored and not yet committed by the group.
    pub lag: u64,
    /// Messages stored and not yet pulled (`rocketmq_consumer_ready_messages`).
    pub ready: u64,
    /// Messages pulled and not yet committed (`rocketmq_consumer_inflight_messages`).
    pub inflight: u64,
    /// Age of the oldest uncommitted message (ms; 0 without lag).
    pub latency_ms: i64,
}

/// Every group with committed offsets: `(topic, group) → lag` on this broker's topics.
pub fn group_lags(state: &BrokerState) -> BTreeMap<(String, String), GroupLag> {
    let mut out = BTreeMap::new();
    let meta = state.store.meta();
    let store = &state.store;
    let now = sluice_storage::clock::now_millis();
    let mut groups: BTreeSet<String> = meta
        .subscription_groups()
        .map(|g| g.into_iter().map(|g| g.group_name).collect())
        .unwrap_or_default();
    groups.extend(state.clients.groups());
    for group in groups {
        let Ok(offsets) = meta.consumer_offsets_of_group(&group) else {
            continue;
        };
        for (topic, queue, committed) in offsets {
            if state.topics.get(&topic).is_none() {
                continue;
            }
            let max = store.max_queue_offset(&topic, queue);
            let pulled = state
                .stats
                .pulled_offset(&topic, &group, queue)
                .unwrap_or(committed)
                .clamp(committed, max.max(committed));
            let e: &mut GroupLag = out.entry((topic.clone(), group.clone())).or_default();
            e.lag += max.saturating_sub(committed);
            e.ready += max.saturating_sub(pulled);
            e.inflight += pulled - committed;
            if max > committed {
                if let Some(t) = store.message_store_time(&topic, queue, committed) {
                    e.latency_ms = e.latency_ms.max(now - t);
                }
            }
        }
    }
    out
}

impl Collector for StateCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(state) = self.state.upgrade() else {
            return Ok(());
        };
        let store = &state.store;
        let now = sluice_storage::clock::now_millis();

        let topics = state.topics.all();
        single(
            &mut encoder,
            "rocketmq_topic_number",
            "Topics on this broker",
            topics.len() as f64,
        )?;
        let groups = store.meta().subscription_groups().map_or(0, |g| g.len());
        single(
            &mut encoder,
            "rocketmq_consumer_group_number",
            "Subscription groups on this broker",
            groups as f64,
        )?;
        single(
            &mut encoder,
            "rocketmq_broker_permission",
            "brokerPermission (2 read, 4 write, 6 both)",
            f64::from(state.permission()),
        )?;

        // Connections, by client language and version (and group and mode for consumers).
        let mut producers: BTreeMap<(String, i32), u64> = BTreeMap::new();
        for (_, clients) in state.clients.producer_groups() {
            for (_, c) in clients {
                *producers.entry((c.language.clone(), c.version)).or_default() += 1;
            }
        }
        let mut fam = GaugeFamily::new("rocketmq_producer_connections", "Producer connections");
        for ((language, version), n) in &producers {
            let version = version.to_string();
            fam.push(
                vec![("language", language.clone()), ("version", version)],
                *n as f64,
            );
        }
        fam.encode(&mut encoder)?;
        let mut consumers: BTreeMap<(String, String, i32, &'static str), u64> = BTreeMap::new();
        for (group, g) in state.clients.consumer_groups() {
            let mode = match g.consume_type {
                sluice_remoting::body::enums::ConsumeType::ConsumeActively => "pull",
                _ => "push",
            };
            for c in g.clients.values() {
                *consumers
                    .entry((group.clone(), c.language.clone(), c.version, mode))
                    .or_default() += 1;
            }
        }
        let mut fam = GaugeFamily::new("rocketmq_consumer_connections", "Consumer connections");
        for ((group, language, version, mode), n) in &consumers {
            fam.push(
                vec![
                    ("consumer_group", group.clone()),
                    ("language", language.clone()),
                    ("version", version.to_string()),
                    ("consume_mode", (*mode).to_owned()),
                ],
                *n as f64,
            );
        }
        fam.encode(&mut encoder)?;

        // Each group's lag per topic.
        let lags = group_lags(&state);
        let families: [LagFamily; 4] = [
            (
                "rocketmq_consumer_lag_messages",
                "Messages stored and not yet committed by the group",
                |l| l.lag as f64,
            ),
            (
                "rocketmq_consumer_lag_latency",
                "Age of the group's oldest uncommitted message (ms)",
                |l| l.latency_ms as f64,
            ),
            (
                "rocketmq_consumer_ready_messages",
                "Messages stored and not yet pulled by the group",
                |l| l.ready as f64,
            ),
            (
                "rocketmq_consumer_inflight_messages",
                "Messages pulled and not yet committed by the group",
                |l| l.inflight as f64,
            ),
        ];
        for (name, help, value) in families {
            let mut fam = GaugeFamily::new(name, help);
            for ((topic, group), lag) in &lags {
                fam.push(
                    vec![
                        ("topic", topic.clone()),
                        ("consumer_group", group.clone()),
                        ("is_retry", topic.starts_with("%RETRY%").to_string()),
                        ("is_system", super::is_system_topic(topic).to_string()),
                    ],
                    value(lag),
                );
            }
            fam.encode(&mut encoder)?;
        }

        // Storage.
        let log = store.commitlog();
        let end = log.write_pos();
        single(
            &mut encoder,
            "rocketmq_storage_size",
            "Bytes of the store's files (storePathRootDir)",
            sluice_storage::retention::dir_size(store.root()) as f64,
        )?;
        single(
            &mut encoder,
            "rocketmq_storage_flush_behind_bytes",
            "CommitLog bytes not yet flushed to disk",
            end.saturating_sub(store.flusher().durable_offset()) as f64,
        )?;
        single(
            &mut encoder,
            "rocketmq_storage_dispatch_behind_bytes",
            "CommitLog bytes not yet dispatched to consume queues and indexes",
            end.saturating_sub(store.dispatched_offset()) as f64,
        )?;
        let earliest = log
            .read_record(log.min_offset(), sluice_storage::record::CrcCheck::Skip)
            .ok()
            .and_then(|s| sluice_storage::record::store_timestamp_at(s.as_ref()).ok());
        single(
            &mut encoder,
            "rocketmq_storage_message_reserve_time",
            "Age of the oldest stored message (ms; 0 when empty)",
            earliest.map_or(0, |t| (now - t).max(0)) as f64,
        )?;

        // sluice's own: replication and analytics.
        let ha = crate::broker::processor::ha::runtime_info(&state);
        let mut fam = GaugeFamily::new(
            "sluice_replication_lag_bytes",
            "CommitLog bytes a slave lacks (per slave on a master; this slave's on a slave)",
        );
        if ha.master {
            for c in &ha.ha_connection_info {
                fam.push(vec![("peer", c.addr.clone())], c.diff as f64);
            }
        } else {
            let lag = (ha.master_commit_log_max_offset - ha.ha_client_runtime_info.max_offset).max(0);
            fam.push(
                vec![("peer", ha.ha_client_runtime_info.master_addr.clone())],
                lag as f64,
            );
        }
        fam.encode(&mut encoder)?;
        let mut behind = GaugeFamily::new(
            "sluice_analytics_job_behind_messages",
            "Messages of the job's topic its published result does not reflect yet",
        );
        let mut age = GaugeFamily::new(
            "sluice_analytics_job_result_age_seconds",
            "Seconds since the job's result last changed",
        );
        for job in state.analytics.jobs() {
            let Some(r) = state.analytics.results().get(&job.name) else {
                continue;
            };
            let queues = state.topics.get(&job.topic).map_or(0, |t| t.read_queue_nums);
            let lag: u64 = (0..queues)
                .map(|q| {
                    let through = r.through.get(&q).copied().unwrap_or(0);
                    store.max_queue_offset(&job.topic, q).saturating_sub(through)
                })
                .sum();
            let labels = vec![("job", job.name.clone()), ("topic", job.topic.clone())];
            behind.push(labels.clone(), lag as f64);
            age.push(labels, ((now - r.updated_ms).max(0) as f64) / 1000.0);
        }
        behind.encode(&mut encoder)?;
        age.encode(&mut encoder)?;
        Ok(())
    }
}
