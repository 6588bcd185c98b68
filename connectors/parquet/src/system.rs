//! The broker's own topics: the waiting topics of stage (D), the default topic producers
//! auto-create from, the self-test and benchmark topics, and per-group retry and dead-letter
//! topics. The archive flags them (column `system_topic`) or leaves them out.

use sluice_storage::system_topics;

/// Topics that are the broker's own by exact name.
const NAMED: &[&str] = &[
    system_topics::SCHEDULE_TOPIC,
    system_topics::TIMER_TOPIC,
    system_topics::HALF_TOPIC,
    system_topics::OP_HALF_TOPIC,
    system_topics::TRANS_CHECK_MAX_TIME_TOPIC,
    "TBW102",
    "SELF_TEST_TOPIC",
    "BenchmarkTest",
    "OFFSET_MOVED_EVENT",
    sluice_remoting::trace::DEFAULT_TOPIC,
];

/// Prefixes of the broker's per-group and internal topics.
const PREFIXES: &[&str] = &["%RETRY%", "%DLQ%", "rmq_sys_", "RMQ_SYS_", "rocketmq_sys_"];

/// Whether `topic` belongs to the broker rather than to an application.
pub fn is_system_topic(topic: &str) -> bool {
    NAMED.contains(&topic) || PREFIXES.iter().any(|p| topic.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_topics() {
        for t in [
            "SCHEDULE_TOPIC_XXXX",
            "rmq_sys_wheel_timer",
            "RMQ_SYS_TRANS_HALF_TOPIC",
            "TBW102",
            "SELF_TEST_TOPIC",
            "%RETRY%group",
            "%DLQ%group",
        ] {
            assert!(is_system_topic(t), "{t}");
        }
        for t in ["orders", "TBW1020", "RETRY", "my%RETRY%"] {
            assert!(!is_system_topic(t), "{t}");
        }
    }
}
