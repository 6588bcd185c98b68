//! Long polling (protocol.md §7.1): a PULL_MESSAGE that finds nothing waits here until the
//! pipeline's delivery stage reports that its queue grew past the requested offset, or until
//! the client's suspend timeout.

use std::collections::HashMap;
use std::sync::Mutex;

use sluice_storage::store::QueueAdvance;
use tokio::sync::{oneshot, Notify};

struct Waiter {
    offset: u64,
    wake: oneshot::Sender<()>,
}

/// Parked pulls by (topic, queue id).
#[derive(Default)]
pub struct LongPolls {
    waiters: Mutex<HashMap<(String, u32), Vec<Waiter>>>,
    /// Woken after every dispatch that advanced a queue ([`LongPolls::wait_dispatched`]).
    dispatched: Notify,
}

impl LongPolls {
    /// Parks a pull for `offset` of (topic, queue); the receiver fires when the queue's max
    /// offset passes it. The caller must re-check the queue after registering (no lost wake-ups).
    pub fn park(&self, topic: &str, queue_id: u32, offset: u64) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        if let Ok(mut w) = self.waiters.lock() {
            let list = w.entry((topic.to_owned(), queue_id)).or_default();
            list.retain(|w| !w.wake.is_closed());
            list.push(Waiter { offset, wake: tx });
        }
        rx
    }

    /// Waits until `reached()` holds, re-checking after each dispatch, for at most `timeout`.
    /// Appends are acked before stage (C) dispatches them, so a read right after an ack waits
    /// here (usually one core step, well under a millisecond) to see the message.
    pub async fn wait_dispatched(&self, reached: impl Fn() -> bool, timeout: std::time::Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.dispatched.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if reached() {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return;
            }
        }
    }

    /// Wakes the pulls the advanced queues can now serve.
    pub fn notify(&self, advances: &[QueueAdvance]) {
        self.dispatched.notify_waiters();
        let Ok(mut w) = self.waiters.lock() else { return };
        for a in advances {
            let key = (a.topic.clone(), a.queue_id);
            let Some(list) = w.get_mut(&key) else { continue };
            let mut i = 0;
            while i < list.len() {
                if list[i].offset < a.max_offset || list[i].wake.is_closed() {
                    let waiter = list.swap_remove(i);
                    let _ = waiter.wake.send(());
                } else {
                    i += 1;
                }
            }
            if list.is_empty() {
                w.remove(&key);
            }
        }
    }

    /// Number of parked pulls.
    #[cfg(test)]
    pub fn parked(&self) -> usize {
        self.waiters
            .lock()
            .map(|w| w.values().map(Vec::len).sum())
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wakes_only_when_the_offset_is_readable() {
        let lp = LongPolls::default();
        let mut early = lp.park("T", 0, 5);
        let other = lp.park("T", 1, 0);
        lp.notify(&[QueueAdvance {
            topic: "T".into(),
            queue_id: 0,
            max_offset: 5,
        }]);
        assert!(early.try_recv().is_err());
        lp.notify(&[QueueAdvance {
            topic: "T".into(),
            queue_id: 0,
            max_offset: 6,
        }]);
        assert!(early.await.is_ok());
        assert_eq!(lp.parked(), 1);
        drop(other);
    }
}
