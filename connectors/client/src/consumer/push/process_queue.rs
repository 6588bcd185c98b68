//! The local cache of one assigned queue: pulled but not yet consumed messages by queue
//! offset, their count and size (flow control), the orderly "consuming" set and lock state.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sluice_remoting::body::MessageQueue;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::message::MessageExt;

#[derive(Default)]
struct Cache {
    msgs: BTreeMap<i64, MessageExt>,
    /// Orderly: the batch handed to the listener.
    consuming: BTreeMap<i64, MessageExt>,
    bytes: usize,
    /// Highest queue offset ever cached.
    max_offset: i64,
}

/// One assigned queue's state.
pub(crate) struct ProcessQueue {
    pub(crate) mq: MessageQueue,
    cache: Mutex<Cache>,
    dropped: AtomicBool,
    locked: AtomicBool,
    last_lock: Mutex<Instant>,
    /// Orderly: held while a batch is with the listener.
    pub(crate) consume_lock: tokio::sync::Mutex<()>,
    /// Orderly: new messages arrived.
    pub(crate) wake: Notify,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl ProcessQueue {
    pub(crate) fn new(mq: MessageQueue) -> Self {
        ProcessQueue {
            mq,
            cache: Mutex::new(Cache {
                max_offset: -1,
                ..Default::default()
            }),
            dropped: AtomicBool::new(false),
            locked: AtomicBool::new(false),
            last_lock: Mutex::new(Instant::now()),
            consume_lock: tokio::sync::Mutex::new(()),
            wake: Notify::new(),
            tasks: Mutex::new(Vec::new()),
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Caches pulled messages (duplicates by offset are ignored).
    pub(crate) fn put(&self, msgs: &[MessageExt]) {
        let mut c = self.cache();
        for m in msgs {
            if c.msgs.contains_key(&m.queue_offset) || c.consuming.contains_key(&m.queue_offset) {
                continue;
            }
            c.bytes += m.body.len();
            c.max_offset = c.max_offset.max(m.queue_offset);
            c.msgs.insert(m.queue_offset, m.clone());
        }
    }

    /// Removes consumed messages; returns the offset to commit: the smallest still cached, or
    /// one past the highest ever cached when none is left. `None` if nothing was cached.
    pub(crate) fn remove(&self, offsets: &[i64]) -> Option<i64> {
        let mut c = self.cache();
        if c.msgs.is_empty() {
            return None;
        }
        for o in offsets {
            if let Some(m) = c.msgs.remove(o) {
                c.bytes = c.bytes.saturating_sub(m.body.len());
            }
        }
        Some(c.msgs.keys().next().copied().unwrap_or(c.max_offset + 1))
    }

    /// Cached messages (including an orderly batch in progress).
    pub(crate) fn count(&self) -> usize {
        let c = self.cache();
        c.msgs.len() + c.consuming.len()
    }

    /// Cached body bytes.
    pub(crate) fn bytes(&self) -> usize {
        self.cache().bytes
    }

    /// Highest minus lowest cached offset (concurrent flow control).
    pub(crate) fn span(&self) -> i64 {
        let c = self.cache();
        match (c.msgs.keys().next(), c.msgs.keys().next_back()) {
            (Some(lo), Some(hi)) => hi - lo,
            _ => 0,
        }
    }

    /// Orderly: moves the `n` lowest-offset messages to the consuming set and returns them.
    pub(crate) fn take_batch(&self, n: usize) -> Vec<MessageExt> {
        let mut c = self.cache();
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let Some((o, m)) = c.msgs.pop_first() else { break };
            c.consuming.insert(o, m.clone());
            out.push(m);
        }
        out
    }

    /// Orderly: the batch was consumed; returns the next offset to consume.
    pub(crate) fn commit(&self) -> Option<i64> {
        let mut c = self.cache();
        let last = c.consuming.keys().next_back().copied()?;
        let freed: usize = c.consuming.values().map(|m| m.body.len()).sum();
        c.bytes = c.bytes.saturating_sub(freed);
        c.consuming.clear();
        Some(last + 1)
    }

    /// Orderly: the batch goes back to be consumed again (with the given reconsume counts).
    pub(crate) fn rollback(&self, batch: Vec<MessageExt>) {
        let mut c = self.cache();
        c.consuming.clear();
        for m in batch {
            c.msgs.insert(m.queue_offset, m);
        }
    }

    pub(crate) fn is_dropped(&self) -> bool {
        self.dropped.load(Ordering::Acquire)
    }

    /// Marks the queue released and stops its pull loop.
    pub(crate) fn set_dropped(&self) {
        self.dropped.store(true, Ordering::Release);
        self.wake.notify_one();
        if let Ok(mut t) = self.tasks.lock() {
            for h in t.drain(..) {
                h.abort();
            }
        }
    }

    /// Keeps a task to abort when the queue is dropped.
    pub(crate) fn own_task(&self, h: JoinHandle<()>) {
        if let Ok(mut t) = self.tasks.lock() {
            t.push(h);
        }
    }

    pub(crate) fn set_locked(&self, locked: bool) {
        self.locked.store(locked, Ordering::Release);
        if locked {
            if let Ok(mut t) = self.last_lock.lock() {
                *t = Instant::now();
            }
            self.wake.notify_one();
        }
    }

    /// Locked at the broker, and re-locked within `max_age`.
    pub(crate) fn holds_lock(&self, max_age: Duration) -> bool {
        self.locked.load(Ordering::Acquire)
            && self
                .last_lock
                .lock()
                .map(|t| t.elapsed() <= max_age)
                .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::decode_messages;

    fn msg(offset: i64, body: &[u8]) -> MessageExt {
        let rec = crate::message::decode::tests::encode_record("T", body, "", 0, 0);
        let mut m = decode_messages(&rec).remove(0);
        m.queue_offset = offset;
        m
    }

    #[test]
    fn concurrent_offsets_follow_the_lowest_unconsumed() {
        let pq = ProcessQueue::new(MessageQueue::new("T", "b", 0));
        assert_eq!(pq.remove(&[1]), None);
        pq.put(&[msg(5, b"aa"), msg(6, b"bbb"), msg(7, b"c")]);
        pq.put(&[msg(6, b"bbb")]);
        assert_eq!((pq.count(), pq.bytes(), pq.span()), (3, 6, 2));
        assert_eq!(pq.remove(&[6]), Some(5));
        assert_eq!(pq.remove(&[5]), Some(7));
        assert_eq!(pq.remove(&[7]), Some(8));
        assert_eq!((pq.count(), pq.bytes()), (0, 0));
    }

    #[test]
    fn orderly_batches_commit_or_roll_back() {
        let pq = ProcessQueue::new(MessageQueue::new("T", "b", 0));
        pq.put(&[msg(0, b"a"), msg(1, b"b"), msg(2, b"c")]);
        let batch = pq.take_batch(2);
        assert_eq!(batch.iter().map(|m| m.queue_offset).collect::<Vec<_>>(), [0, 1]);
        assert_eq!(pq.count(), 3);
        pq.rollback(batch);
        let batch = pq.take_batch(2);
        assert_eq!(batch[0].queue_offset, 0);
        assert_eq!(pq.commit(), Some(2));
        assert_eq!((pq.count(), pq.bytes()), (1, 1));
        assert!(!pq.holds_lock(Duration::from_secs(30)));
        pq.set_locked(true);
        assert!(pq.holds_lock(Duration::from_secs(30)));
    }
}
