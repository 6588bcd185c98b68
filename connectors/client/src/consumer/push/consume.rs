//! Running the listeners: concurrent batches (bounded by `consume_threads`), the orderly
//! one-batch-at-a-time loop of a queue, and what happens to failed messages — CONSUMER_SEND_MSG_BACK,
//! else a resend to `%RETRY%<group>` (protocol.md §5.3), else a local retry.

use std::sync::Arc;
use std::time::Duration;

use sluice_remoting::codes::request;
use sluice_remoting::header::transaction::ConsumerSendMsgBackRequestHeader;
use sluice_remoting::RemotingCommand;

use super::listener::{
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, ConsumeOrderlyContext, ConsumeOrderlyStatus,
};
use super::process_queue::ProcessQueue;
use super::rebalance::LOCK_MAX_AGE;
use super::{retry_topic, Listener, Shared};
use crate::message::{property, Message, MessageExt};

/// A failed batch whose send-back failed is consumed again locally after this.
const LOCAL_RETRY_DELAY: Duration = Duration::from_secs(5);

/// Splits pulled messages into listener batches and runs them in the background.
pub(crate) fn submit_concurrently(shared: &Arc<Shared>, pq: &Arc<ProcessQueue>, msgs: Vec<MessageExt>) {
    for batch in msgs.chunks(shared.config.consume_batch_size.max(1)) {
        tokio::spawn(consume_concurrently(shared.clone(), pq.clone(), batch.to_vec()));
    }
}

async fn consume_concurrently(shared: Arc<Shared>, pq: Arc<ProcessQueue>, mut msgs: Vec<MessageExt>) {
    let Some(Listener::Concurrently(listener)) = shared.listener() else {
        return;
    };
    loop {
        let Ok(permit) = shared.permits.clone().acquire_owned().await else {
            return;
        };
        if pq.is_dropped() {
            return;
        }
        let mut ctx = ConsumeConcurrentlyContext {
            queue: pq.mq.clone(),
            delay_level_when_next_consume: 0,
            ack_index: msgs.len().saturating_sub(1),
        };
        let l = listener.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let status = l.consume(&msgs, &mut ctx);
            (msgs, ctx, status)
        })
        .await;
        drop(permit);
        let Ok((batch, ctx, status)) = outcome else {
            tracing::warn!(queue = ?pq.mq, "listener panicked; the batch is lost locally and redelivered after a rebalance");
            return;
        };
        let acked = match status {
            ConsumeConcurrentlyStatus::ConsumeSuccess => (ctx.ack_index + 1).min(batch.len()),
            ConsumeConcurrentlyStatus::ReconsumeLater => 0,
        };
        let mut again = Vec::new();
        for m in batch.iter().skip(acked) {
            if !shared.clustering() {
                tracing::warn!(msg_id = %m.msg_id(), "BROADCASTING: consume failed, message dropped");
                continue;
            }
            if !send_back(&shared, m, ctx.delay_level_when_next_consume).await {
                let mut m = m.clone();
                m.reconsume_times += 1;
                again.push(m);
            }
        }
        let done: Vec<i64> = batch
            .iter()
            .map(|m| m.queue_offset)
            .filter(|o| !again.iter().any(|a| a.queue_offset == *o))
            .collect();
        if let Some(offset) = pq.remove(&done) {
            if !pq.is_dropped() {
                shared.offsets.update(&pq.mq, offset, true);
            }
        }
        if again.is_empty() {
            return;
        }
        tokio::time::sleep(LOCAL_RETRY_DELAY).await;
        msgs = again;
    }
}

/// CONSUMER_SEND_MSG_BACK to the broker the message came from; if that fails, a resend to
/// `%RETRY%<group>`. True when the broker took it.
pub(crate) async fn send_back(shared: &Shared, msg: &MessageExt, delay_level: i32) -> bool {
    let h = ConsumerSendMsgBackRequestHeader {
        offset: msg.commit_log_offset,
        group: shared.config.group.clone(),
        delay_level,
        origin_msg_id: Some(msg.msg_id().to_owned()),
        origin_topic: Some(msg.topic.clone()),
        unit_mode: false,
        max_reconsume_times: Some(shared.max_reconsume_times()),
    };
    let cmd = RemotingCommand::request_with_header(request::CONSUMER_SEND_MSG_BACK, &h);
    let sent = match shared.instance().master_addr(&msg.broker_name) {
        Ok(addr) => {
            let timeout = shared.instance().config().request_timeout;
            shared.instance().invoke_broker(&addr, cmd, timeout, &[]).await
        }
        Err(e) => Err(e),
    };
    match sent {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(msg_id = %msg.msg_id(), error = %e, "send-back failed; resending to the retry topic");
            resend_to_retry(shared, msg).await
        }
    }
}

/// The client-side path into `%RETRY%<group>` (§5.3): a normal send with RETRY_TOPIC,
/// ORIGIN_MESSAGE_ID, DELAY = 3 + reconsumeTimes, and the reconsume counts for the header.
pub(crate) async fn resend_to_retry(shared: &Shared, msg: &MessageExt) -> bool {
    let mut m = retry_message(&shared.config.group, msg, shared.max_reconsume_times());
    match shared.producer.send(&mut m).await {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(msg_id = %msg.msg_id(), error = %e, "resend to the retry topic failed");
            false
        }
    }
}

/// The message the fallback sends for `msg`.
pub(crate) fn retry_message(group: &str, msg: &MessageExt, max_reconsume_times: i32) -> Message {
    let mut props = msg.properties.clone();
    props.remove(property::MIN_OFFSET);
    props.remove(property::MAX_OFFSET);
    props
        .entry(property::ORIGIN_MESSAGE_ID.to_owned())
        .or_insert_with(|| msg.msg_id().to_owned());
    props.insert(property::RETRY_TOPIC.into(), msg.topic.clone());
    props.insert(
        property::RECONSUME_TIME.into(),
        (msg.reconsume_times + 1).to_string(),
    );
    props.insert(
        property::MAX_RECONSUME_TIMES.into(),
        max_reconsume_times.to_string(),
    );
    props.insert(property::DELAY.into(), (3 + msg.reconsume_times).to_string());
    Message {
        topic: retry_topic(group),
        flag: msg.flag,
        properties: props,
        body: msg.body.clone(),
    }
}

/// The consume loop of one orderly queue: one batch at a time, in offset order, only while the
/// broker lock is held (CLUSTERING); a failed batch is retried locally after a pause.
pub(crate) async fn orderly_loop(shared: Arc<Shared>, pq: Arc<ProcessQueue>) {
    let Some(Listener::Orderly(listener)) = shared.listener() else {
        return;
    };
    let suspend = shared.config.suspend_current_queue_time;
    while !pq.is_dropped() && !shared.is_stopped() {
        let idle = pq.count() == 0 || (shared.clustering() && !pq.holds_lock(LOCK_MAX_AGE));
        if idle {
            let _ = tokio::time::timeout(Duration::from_millis(500), pq.wake.notified()).await;
            continue;
        }
        let guard = pq.consume_lock.lock().await;
        if pq.is_dropped() {
            return;
        }
        let batch = pq.take_batch(shared.config.consume_batch_size.max(1));
        if batch.is_empty() {
            continue;
        }
        let mut ctx = ConsumeOrderlyContext {
            queue: pq.mq.clone(),
            suspend_current_queue_time: suspend,
        };
        let l = listener.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let status = l.consume(&batch, &mut ctx);
            (batch, ctx, status)
        })
        .await;
        let Ok((batch, ctx, status)) = outcome else {
            tracing::warn!(queue = ?pq.mq, "orderly listener panicked; the batch is retried");
            drop(guard);
            tokio::time::sleep(suspend).await;
            continue;
        };
        let committed = match status {
            ConsumeOrderlyStatus::Success => true,
            ConsumeOrderlyStatus::SuspendCurrentQueueAMoment => give_up_or_retry(&shared, &pq, batch).await,
        };
        if committed {
            if let Some(offset) = pq.commit() {
                if !pq.is_dropped() {
                    shared.offsets.update(&pq.mq, offset, false);
                }
            }
        }
        drop(guard);
        if !committed {
            tokio::time::sleep(ctx.suspend_current_queue_time).await;
        }
    }
}

/// After a failed orderly batch: messages past `max_reconsume_times` go to `%RETRY%` (the
/// batch then counts as consumed if all of them went); otherwise the batch is put back with
/// its reconsume counts raised. Returns whether to commit.
async fn give_up_or_retry(shared: &Shared, pq: &ProcessQueue, mut batch: Vec<MessageExt>) -> bool {
    let max = shared.max_reconsume_times();
    let mut suspend = false;
    for m in &mut batch {
        if shared.clustering() && m.reconsume_times >= max {
            if !resend_to_retry(shared, m).await {
                suspend = true;
                m.reconsume_times += 1;
            }
        } else {
            suspend = true;
            m.reconsume_times += 1;
        }
    }
    if suspend {
        pq.rollback(batch);
    }
    !suspend
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::decode_messages;

    #[test]
    fn fallback_message_carries_the_retry_properties() {
        let rec = crate::message::decode::tests::encode_record(
            "Orders",
            b"x",
            "TAGS\u{1}A\u{2}MIN_OFFSET\u{1}0\u{2}",
            0,
            0,
        );
        let mut m = decode_messages(&rec).remove(0);
        m.reconsume_times = 2;
        let r = retry_message("g", &m, 16);
        assert_eq!(r.topic, "%RETRY%g");
        assert_eq!(r.property(property::RETRY_TOPIC), Some("Orders"));
        assert_eq!(r.property(property::RECONSUME_TIME), Some("3"));
        assert_eq!(r.property(property::MAX_RECONSUME_TIMES), Some("16"));
        assert_eq!(r.property(property::DELAY), Some("5"));
        assert_eq!(r.property(property::ORIGIN_MESSAGE_ID), Some(m.msg_id()));
        assert_eq!(r.property(property::MIN_OFFSET), None);
        assert_eq!(r.tags(), Some("A"));
    }
}
