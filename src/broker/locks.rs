//! Queue locks for orderly consumption (protocol.md §7.4): LOCK_BATCH_MQ gives a client the
//! queues nobody else holds (or whose lock expired after 60 s); UNLOCK_BATCH_MQ releases them.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sluice_remoting::body::common::MessageQueue;

/// A lock not renewed for this long is free (`rebalanceLockMaxLiveTime`).
pub const LOCK_EXPIRY: Duration = Duration::from_secs(60);

/// (group, queue) → (client id, last renewal).
#[derive(Default)]
pub struct QueueLocks {
    locks: Mutex<HashMap<(String, MessageQueue), (String, Instant)>>,
}

impl QueueLocks {
    /// Locks (or renews) what `client` may hold of `mqs`; returns the queues it holds now.
    pub fn lock(&self, group: &str, client: &str, mqs: &BTreeSet<MessageQueue>) -> BTreeSet<MessageQueue> {
        let now = Instant::now();
        let Ok(mut locks) = self.locks.lock() else {
            return BTreeSet::new();
        };
        let mut ok = BTreeSet::new();
        for mq in mqs {
            let key = (group.to_owned(), mq.clone());
            let free = match locks.get(&key) {
                None => true,
                Some((holder, at)) => holder == client || now.duration_since(*at) > LOCK_EXPIRY,
            };
            if free {
                locks.insert(key, (client.to_owned(), now));
                ok.insert(mq.clone());
            }
        }
        ok
    }

    /// Releases the queues `client` holds among `mqs`.
    pub fn unlock(&self, group: &str, client: &str, mqs: &BTreeSet<MessageQueue>) {
        if let Ok(mut locks) = self.locks.lock() {
            for mq in mqs {
                let key = (group.to_owned(), mq.clone());
                if locks.get(&key).is_some_and(|(holder, _)| holder == client) {
                    locks.remove(&key);
                }
            }
        }
    }

    /// Releases every lock of a client (it went away).
    pub fn release_client(&self, client: &str) {
        if let Ok(mut locks) = self.locks.lock() {
            locks.retain(|_, (holder, _)| holder != client);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_per_group_and_renewable() {
        let l = QueueLocks::default();
        let mqs: BTreeSet<_> = (0..2).map(|q| MessageQueue::new("T", "b", q)).collect();
        assert_eq!(l.lock("g", "c1", &mqs).len(), 2);
        assert_eq!(l.lock("g", "c2", &mqs).len(), 0);
        assert_eq!(l.lock("g2", "c2", &mqs).len(), 2);
        assert_eq!(l.lock("g", "c1", &mqs).len(), 2);
        l.unlock("g", "c1", &mqs);
        assert_eq!(l.lock("g", "c2", &mqs).len(), 2);
        l.release_client("c2");
        assert_eq!(l.lock("g", "c3", &mqs).len(), 2);
    }
}
