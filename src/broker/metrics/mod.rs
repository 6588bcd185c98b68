//! Prometheus metrics under RocketMQ 5.x's names and labels (protocol.md §12.1), served on
//! `/metrics` when `metricsExporterType=PROM` ([`crate::broker::http`]).
//!
//! Two kinds, kept apart on purpose:
//! * **counters and histograms** counted where the event happens (sends, pulls, DLQ moves,
//!   requests): [`BrokerMetrics`] owns their families; the per-topic and per-group handles are
//!   created once and cached beside the topic's statistics entry ([`crate::broker::stats`]), so
//!   counting a send or a pull is a few atomic adds and never allocates;
//! * **gauges derived from broker state** (lag, storage, connections, topic numbers, replication
//!   and analytics freshness) are computed at scrape time by [`collect::StateCollector`], never
//!   maintained on the hot path.

pub mod collect;

use std::sync::Weak;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::BrokerState;

/// `metricsExporterType`: how metrics leave the broker. sluice serves Prometheus only; the
/// other RocketMQ values are refused at start rather than silently ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExporterType {
    #[default]
    Disable,
    Prom,
}

impl ExporterType {
    /// Parses RocketMQ's value; `Err` says why sluice cannot honour it.
    pub fn parse(v: &str) -> Result<ExporterType, String> {
        match v.trim().to_ascii_uppercase().as_str() {
            "" | "DISABLE" => Ok(ExporterType::Disable),
            "PROM" => Ok(ExporterType::Prom),
            "OTLP_GRPC" | "LOG" => Err(format!(
                "sluice exports metrics only as Prometheus (metricsExporterType=PROM); {v} is not supported"
            )),
            _ => Err("expected DISABLE or PROM".into()),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ExporterType::Disable => "DISABLE",
            ExporterType::Prom => "PROM",
        }
    }
}

/// Labels of the per-topic counters (the broker's own labels are on the registry).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TopicLabels {
    pub topic: String,
    pub is_system: bool,
}

/// Labels of the per-group counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GroupLabels {
    pub topic: String,
    pub consumer_group: String,
    pub is_retry: bool,
    pub is_system: bool,
}

/// Labels of `rocketmq_send_to_dlq_messages_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DlqLabels {
    pub consumer_group: String,
}

/// Labels of `rocketmq_rpc_latency` (all `Copy`: recording a request never allocates).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RpcLabels {
    pub protocol_type: &'static str,
    pub request_code: i32,
    pub response_code: i32,
    pub is_long_polling: bool,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// RocketMQ 5.x's message size buckets (bytes).
fn message_size_histogram() -> Histogram {
    Histogram::new([
        1024.0,
        4096.0,
        512.0 * 1024.0,
        1024.0 * 1024.0,
        2.0 * 1024.0 * 1024.0,
        4.0 * 1024.0 * 1024.0,
    ])
}

/// Request latency buckets (ms), as RocketMQ 5.x's rpc latency view.
fn rpc_latency_histogram() -> Histogram {
    Histogram::new([1.0, 3.0, 5.0, 10.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 3000.0])
}

/// The families counted where events happen, and the registry that also encodes the gauges.
#[derive(Debug)]
pub struct BrokerMetrics {
    registry: Registry,
    messages_in: Family<TopicLabels, Counter>,
    throughput_in: Family<TopicLabels, Counter>,
    message_size: HistogramFamily<TopicLabels>,
    messages_out: Family<GroupLabels, Counter>,
    throughput_out: Family<GroupLabels, Counter>,
    send_to_dlq: Family<DlqLabels, Counter>,
    commit_messages: Counter,
    rollback_messages: Counter,
    rpc_latency: HistogramFamily<RpcLabels>,
}

/// A topic's send counters (cached; cloning shares the same atomics).
#[derive(Debug, Clone)]
pub struct TopicMetrics {
    messages_in: Counter,
    throughput_in: Counter,
    message_size: Histogram,
}

impl TopicMetrics {
    /// One stored message of `size` bytes (its stored record).
    pub fn stored(&self, size: u64) {
        self.messages_in.inc();
        self.throughput_in.inc_by(size);
        self.message_size.observe(size as f64);
    }
}

/// A (topic, group)'s pull counters (cached).
#[derive(Debug, Clone)]
pub struct GroupMetrics {
    messages_out: Counter,
    throughput_out: Counter,
}

impl GroupMetrics {
    pub fn delivered(&self, messages: u64, bytes: u64) {
        self.messages_out.inc_by(messages);
        self.throughput_out.inc_by(bytes);
    }
}

/// Whether a topic is one of the broker's own (RocketMQ's `is_system` label).
pub fn is_system_topic(topic: &str) -> bool {
    crate::broker::topics::is_system_topic(topic)
        || topic.starts_with("rmq_sys_")
        || topic.starts_with("RMQ_SYS_")
}

impl BrokerMetrics {
    /// The families, registered under the broker's labels (`cluster`, `node_type`, `node_id`),
    /// and the scrape-time collector reading `state`.
    pub fn new(cluster: &str, node_id: &str, state: Weak<BrokerState>) -> BrokerMetrics {
        let mut registry = Registry::with_labels(
            [
                ("cluster".into(), cluster.to_owned().into()),
                ("node_type".into(), "broker".into()),
                ("node_id".into(), node_id.to_owned().into()),
            ]
            .into_iter(),
        );
        let m = BrokerMetrics {
            messages_in: Family::default(),
            throughput_in: Family::default(),
            message_size: Family::new_with_constructor(message_size_histogram),
            messages_out: Family::default(),
            throughput_out: Family::default(),
            send_to_dlq: Family::default(),
            commit_messages: Counter::default(),
            rollback_messages: Counter::default(),
            rpc_latency: Family::new_with_constructor(rpc_latency_histogram),
            registry: Registry::default(),
        };
        // `_total` is appended to counters by the encoder.
        registry.register(
            "rocketmq_messages_in",
            "Messages stored by sends",
            m.messages_in.clone(),
        );
        registry.register(
            "rocketmq_throughput_in",
            "Bytes stored by sends (stored record sizes)",
            m.throughput_in.clone(),
        );
        registry.register(
            "rocketmq_message_size",
            "Stored record size of each sent message (bytes)",
            m.message_size.clone(),
        );
        registry.register(
            "rocketmq_messages_out",
            "Messages delivered by pulls",
            m.messages_out.clone(),
        );
        registry.register(
            "rocketmq_throughput_out",
            "Bytes delivered by pulls (stored record sizes)",
            m.throughput_out.clone(),
        );
        registry.register(
            "rocketmq_send_to_dlq_messages",
            "Messages moved to a group's %DLQ% topic",
            m.send_to_dlq.clone(),
        );
        registry.register(
            "rocketmq_commit_messages",
            "Half messages committed (END_TRANSACTION)",
            m.commit_messages.clone(),
        );
        registry.register(
            "rocketmq_rollback_messages",
            "Half messages rolled back (END_TRANSACTION)",
            m.rollback_messages.clone(),
        );
        registry.register(
            "rocketmq_rpc_latency",
            "Request handling time (ms; long polls include the hold)",
            m.rpc_latency.clone(),
        );
        registry.register_collector(Box::new(collect::StateCollector::new(state)));
        BrokerMetrics { registry, ..m }
    }

    /// The counters of `topic` (allocates; callers cache the result).
    pub fn topic(&self, topic: &str) -> TopicMetrics {
        let labels = TopicLabels {
            topic: topic.to_owned(),
            is_system: is_system_topic(topic),
        };
        TopicMetrics {
            messages_in: self.messages_in.get_or_create_owned(&labels),
            throughput_in: self.throughput_in.get_or_create_owned(&labels),
            message_size: self.message_size.get_or_create_owned(&labels),
        }
    }

    /// The counters of `group` pulling `topic` (allocates; callers cache the result).
    pub fn group(&self, topic: &str, group: &str) -> GroupMetrics {
        let labels = GroupLabels {
            topic: topic.to_owned(),
            consumer_group: group.to_owned(),
            is_retry: topic.starts_with("%RETRY%"),
            is_system: is_system_topic(topic),
        };
        GroupMetrics {
            messages_out: self.messages_out.get_or_create_owned(&labels),
            throughput_out: self.throughput_out.get_or_create_owned(&labels),
        }
    }

    /// `n` messages of `group` moved to its DLQ (rare: allocates the label).
    pub fn sent_to_dlq(&self, group: &str, n: u64) {
        self.send_to_dlq
            .get_or_create(&DlqLabels {
                consumer_group: group.to_owned(),
            })
            .inc_by(n);
    }

    /// A transaction's end: committed or rolled back.
    pub fn transaction_ended(&self, committed: bool) {
        if committed {
            self.commit_messages.inc();
        } else {
            self.rollback_messages.inc();
        }
    }

    /// One request handled in `ms` milliseconds.
    pub fn rpc(&self, request_code: i32, response_code: i32, is_long_polling: bool, ms: f64) {
        let labels = RpcLabels {
            protocol_type: "remoting",
            request_code,
            response_code,
            is_long_polling,
        };
        self.rpc_latency.get_or_create(&labels).observe(ms);
    }

    /// The `/metrics` page (Prometheus text format 0.0.4).
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::with_capacity(16 * 1024);
        prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_encode_under_rocketmq_names_and_labels() {
        let m = BrokerMetrics::new("C", "broker-a", Weak::new());
        let t = m.topic("T");
        t.stored(100);
        t.stored(3000);
        m.group("T", "G").delivered(2, 3100);
        m.sent_to_dlq("G", 1);
        m.rpc(10, 0, false, 0.5);
        let page = m.encode().unwrap();
        assert!(
            page.contains(r#"rocketmq_messages_in_total{cluster="C",node_type="broker",node_id="broker-a",topic="T",is_system="false"} 2"#),
            "{page}"
        );
        assert!(page.contains(r#"topic="T",is_system="false"} 3100"#), "{page}");
        assert!(page.contains(r#"rocketmq_messages_out_total{cluster="C",node_type="broker",node_id="broker-a",topic="T",consumer_group="G",is_retry="false",is_system="false"} 2"#), "{page}");
        assert!(page.contains("rocketmq_message_size_bucket{"), "{page}");
        assert!(page.contains(r#"consumer_group="G"} 1"#), "{page}");
        assert!(page.contains(r#"rocketmq_rpc_latency_count{cluster="C",node_type="broker",node_id="broker-a",protocol_type="remoting",request_code="10",response_code="0",is_long_polling="false"} 1"#), "{page}");
    }

    #[test]
    fn exporter_types_sluice_cannot_honour_are_refused() {
        assert_eq!(ExporterType::parse("PROM"), Ok(ExporterType::Prom));
        assert_eq!(ExporterType::parse("disable"), Ok(ExporterType::Disable));
        assert!(ExporterType::parse("OTLP_GRPC").unwrap_err().contains("PROM"));
        assert!(ExporterType::parse("x").is_err());
    }
}
