//! Consumer offsets committed on a slave, for its master.
//!
//! While a master is gone, consumers read from its slave and commit their offsets there
//! (clients commit to the slave when the route has no master). RocketMQ 4.9's master never
//! learns them: when it returns, consumers resume from its older offsets and consume again
//! what they had consumed on the slave (RocketMQ issue #1094). A sluice slave remembers each
//! offset a client committed to it, and its metadata sync ([`super::sync`]) sends those above
//! the master's to the master (UPDATE_CONSUMER_OFFSET, as a client would), then forgets them.
//!
//! Only offsets clients committed on the slave are sent, never those the slave synced from its
//! master: an offset an operator moved back on the master (`resetOffsetByTime`) stays moved.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// (group, topic, queue) → the offset last committed on this slave, not yet on the master.
type Key = (String, String, u32);

#[derive(Default)]
pub struct SlaveCommits {
    pending: Mutex<BTreeMap<Key, u64>>,
}

impl SlaveCommits {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Key, u64>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A client committed `offset` on this slave.
    pub fn committed(&self, group: &str, topic: &str, queue: u32, offset: u64) {
        self.lock()
            .insert((group.to_owned(), topic.to_owned(), queue), offset);
    }

    /// What waits for the master.
    pub fn pending(&self) -> Vec<(Key, u64)> {
        self.lock().iter().map(|(k, v)| (k.clone(), *v)).collect()
    }

    /// The master has `key` at `offset` (sent, or it had it already): forgotten unless a
    /// client committed another offset meanwhile.
    pub fn settled(&self, key: &Key, offset: u64) {
        let mut g = self.lock();
        if g.get(key) == Some(&offset) {
            g.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commit_is_forgotten_once_the_master_has_it_unless_a_newer_one_came() {
        let c = SlaveCommits::default();
        c.committed("g", "t", 0, 10);
        c.committed("g", "t", 1, 5);
        let key = ("g".to_owned(), "t".to_owned(), 0);
        assert_eq!(c.pending().len(), 2);
        c.committed("g", "t", 0, 12);
        c.settled(&key, 10);
        assert_eq!(c.pending().len(), 2, "12 was committed after 10 was sent");
        c.settled(&key, 12);
        assert_eq!(c.pending(), vec![(("g".to_owned(), "t".to_owned(), 1), 5)]);
    }
}
