//! The long-polling pull of one owned queue (protocol.md §7.1): suspend 15 s at the broker,
//! piggy-back the committed offset, pause while the local cache is full, restore the topic of
//! retried messages (§5.4), hand messages to the consume side.

use std::sync::Arc;
use std::time::Duration;

use super::process_queue::ProcessQueue;
use super::rebalance::LOCK_MAX_AGE;
use super::{consume, retry_topic, Shared};
use crate::consumer::pull::{PullOptions, PullStatus};
use crate::message::{property, MessageExt};

/// Wait after a failed pull (`pullTimeDelayMillsWhenException`).
const AFTER_ERROR: Duration = Duration::from_secs(3);
/// Wait while the local cache is full.
const WHEN_FULL: Duration = Duration::from_millis(50);
/// Wait while an orderly queue is not locked.
const WHEN_UNLOCKED: Duration = Duration::from_millis(500);

/// Starts the pull loop (and, for orderly listeners, the queue's consume loop).
pub(crate) fn spawn(shared: Arc<Shared>, pq: Arc<ProcessQueue>, offset: i64, expression: String) {
    if shared.orderly() {
        let h = tokio::spawn(consume::orderly_loop(shared.clone(), pq.clone()));
        pq.own_task(h);
    }
    let h = tokio::spawn(run(shared, pq.clone(), offset, expression));
    pq.own_task(h);
}

/// Java and Go consumers show retried messages under their original topic.
pub(crate) fn restore_topic(group_retry_topic: &str, msg: &mut MessageExt) {
    if msg.topic == group_retry_topic {
        if let Some(t) = msg.property(property::RETRY_TOPIC) {
            msg.topic = t.to_owned();
        }
    }
}

/// Why pulling should wait, if it should.
fn must_wait(shared: &Shared, pq: &ProcessQueue) -> Option<Duration> {
    let c = &shared.config;
    if pq.count() > c.pull_threshold_for_queue || pq.bytes() > c.pull_threshold_size_for_queue {
        return Some(WHEN_FULL);
    }
    let orderly = shared.orderly();
    if !orderly && pq.span() > c.consume_concurrently_max_span {
        return Some(WHEN_FULL);
    }
    if orderly && shared.clustering() && !pq.holds_lock(LOCK_MAX_AGE) {
        return Some(WHEN_UNLOCKED);
    }
    None
}

async fn run(shared: Arc<Shared>, pq: Arc<ProcessQueue>, mut offset: i64, expression: String) {
    let retry = retry_topic(&shared.config.group);
    let mq = pq.mq.clone();
    while !pq.is_dropped() && !shared.is_stopped() {
        if let Some(wait) = must_wait(&shared, &pq) {
            tokio::time::sleep(wait).await;
            continue;
        }
        let commit_offset = if shared.clustering() {
            shared.offsets.read(&mq).unwrap_or(0)
        } else {
            0
        };
        let opts = PullOptions {
            expression: expression.clone(),
            max_msgs: shared.config.pull_batch_size,
            suspend: shared.config.suspend_time,
            commit_offset,
        };
        let result = match shared.puller.pull_with(&mq, offset, &opts).await {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(queue = ?mq, offset, error = %e, "pull failed");
                tokio::time::sleep(AFTER_ERROR).await;
                continue;
            }
        };
        if pq.is_dropped() {
            return;
        }
        match result.status {
            PullStatus::Found => {
                offset = result.next_begin_offset;
                let mut msgs = result.messages;
                if msgs.is_empty() {
                    advance_if_idle(&shared, &pq, offset);
                    continue;
                }
                for m in &mut msgs {
                    restore_topic(&retry, m);
                }
                pq.put(&msgs);
                if shared.orderly() {
                    pq.wake.notify_one();
                } else {
                    consume::submit_concurrently(&shared, &pq, msgs);
                }
            }
            PullStatus::NoNewMessage | PullStatus::NoMatchedMessage => {
                offset = result.next_begin_offset;
                advance_if_idle(&shared, &pq, offset);
            }
            PullStatus::OffsetIllegal => {
                tracing::warn!(queue = ?mq, offset, next = result.next_begin_offset, "offset moved");
                offset = result.next_begin_offset;
                shared.offsets.update(&mq, offset, false);
            }
        }
    }
}

/// With nothing cached, the consume offset follows the pull offset (filtered-out messages).
fn advance_if_idle(shared: &Shared, pq: &ProcessQueue, offset: i64) {
    if pq.count() == 0 {
        shared.offsets.update(&pq.mq, offset, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::decode_messages;

    #[test]
    fn retried_messages_get_their_topic_back() {
        let rec = crate::message::decode::tests::encode_record(
            "%RETRY%g",
            b"x",
            "RETRY_TOPIC\u{1}Orders\u{2}",
            0,
            0,
        );
        let mut m = decode_messages(&rec).remove(0);
        restore_topic("%RETRY%other", &mut m);
        assert_eq!(m.topic, "%RETRY%g");
        restore_topic("%RETRY%g", &mut m);
        assert_eq!(m.topic, "Orders");
    }
}
