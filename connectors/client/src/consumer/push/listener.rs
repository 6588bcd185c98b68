//! What the application implements: concurrent and orderly message listeners, called on a
//! blocking thread (they may block) with one batch of messages of one queue.

use std::time::Duration;

use sluice_remoting::body::MessageQueue;

use crate::message::MessageExt;

/// The outcome of a concurrent consume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumeConcurrentlyStatus {
    /// Consumed (up to `ack_index`).
    ConsumeSuccess,
    /// Deliver the batch again later through `%RETRY%<group>`.
    ReconsumeLater,
}

/// Per-call context of a concurrent consume.
#[derive(Debug, Clone)]
pub struct ConsumeConcurrentlyContext {
    /// The queue the messages came from.
    pub queue: MessageQueue,
    /// For the messages sent back: 0 = the broker decides (3 + reconsumeTimes), −1 = straight
    /// to the DLQ, > 0 = that delay level (protocol.md §5.3).
    pub delay_level_when_next_consume: i32,
    /// On success, messages after this index are treated as failed.
    pub ack_index: usize,
}

/// A concurrent listener: batches of one queue may run in parallel and out of order.
pub trait MessageListenerConcurrently: Send + Sync + 'static {
    /// Consumes one batch.
    fn consume(&self, msgs: &[MessageExt], ctx: &mut ConsumeConcurrentlyContext)
        -> ConsumeConcurrentlyStatus;
}

impl<F> MessageListenerConcurrently for F
where
    F: Fn(&[MessageExt], &mut ConsumeConcurrentlyContext) -> ConsumeConcurrentlyStatus
        + Send
        + Sync
        + 'static,
{
    fn consume(
        &self,
        msgs: &[MessageExt],
        ctx: &mut ConsumeConcurrentlyContext,
    ) -> ConsumeConcurrentlyStatus {
        self(msgs, ctx)
    }
}

/// The outcome of an orderly consume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumeOrderlyStatus {
    /// Consumed; the offset moves past the batch.
    Success,
    /// Stop this queue for `suspend_current_queue_time`, then deliver the same batch again.
    SuspendCurrentQueueAMoment,
}

/// Per-call context of an orderly consume.
#[derive(Debug, Clone)]
pub struct ConsumeOrderlyContext {
    /// The queue the messages came from.
    pub queue: MessageQueue,
    /// How long the queue pauses after [`ConsumeOrderlyStatus::SuspendCurrentQueueAMoment`].
    pub suspend_current_queue_time: Duration,
}

/// An orderly listener: one batch at a time per queue, in queue order.
pub trait MessageListenerOrderly: Send + Sync + 'static {
    /// Consumes one batch.
    fn consume(&self, msgs: &[MessageExt], ctx: &mut ConsumeOrderlyContext) -> ConsumeOrderlyStatus;
}

impl<F> MessageListenerOrderly for F
where
    F: Fn(&[MessageExt], &mut ConsumeOrderlyContext) -> ConsumeOrderlyStatus + Send + Sync + 'static,
{
    fn consume(&self, msgs: &[MessageExt], ctx: &mut ConsumeOrderlyContext) -> ConsumeOrderlyStatus {
        self(msgs, ctx)
    }
}
