//! Topics the broker keeps for itself (protocol.md §5–§6). Producers may not send to them.

/// Delay-level messages wait here; queue = level − 1; the ConsumeQueue tags code is the
/// delivery time (ms).
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";
/// Timer messages (TIMER_DELIVER_MS, …) wait here, queue 0; tags code = delivery time (ms).
pub const TIMER_TOPIC: &str = "rmq_sys_wheel_timer";
/// Transactional half messages, queue 0.
pub const HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
/// Op records of ended transactions (body = half-queue offset, tag `d`).
pub const OP_HALF_TOPIC: &str = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
/// Half messages discarded after `transactionCheckMax` checks.
pub const TRANS_CHECK_MAX_TIME_TOPIC: &str = "TRANS_CHECK_MAX_TIME_TOPIC";
/// Tag of op records.
pub const OP_TAG: &str = "d";

/// Whether `topic` holds messages that wait for a time (delay levels, timers).
pub fn is_schedule_topic(topic: &str) -> bool {
    topic == SCHEDULE_TOPIC || topic == TIMER_TOPIC
}
