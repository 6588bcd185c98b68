//! Choosing the queue of an ordered send.

use sluice_remoting::body::MessageQueue;

use crate::message::Message;

/// Picks one of `queues` (the topic's publish queues, never empty) for `msg`. Messages that
/// must stay in order go to the same queue, typically by hashing a business key.
pub trait MessageQueueSelector: Send + Sync {
    /// The index into `queues`.
    fn select(&self, queues: &[MessageQueue], msg: &Message) -> usize;
}

impl<F> MessageQueueSelector for F
where
    F: Fn(&[MessageQueue], &Message) -> usize + Send + Sync,
{
    fn select(&self, queues: &[MessageQueue], msg: &Message) -> usize {
        self(queues, msg)
    }
}

/// Selects by a hash of a sharding key (Java `String.hashCode`, absolute value modulo the
/// queue count), as the Java `SelectMessageQueueByHash` does with its argument.
#[derive(Debug, Clone)]
pub struct SelectByKey(pub String);

impl MessageQueueSelector for SelectByKey {
    fn select(&self, queues: &[MessageQueue], _msg: &Message) -> usize {
        let h = sluice_remoting::hash::java_string_hash(&self.0);
        (h.unsigned_abs() as usize) % queues.len().max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_selection_is_stable() {
        let qs: Vec<_> = (0..4).map(|i| MessageQueue::new("T", "b", i)).collect();
        let m = Message::new("T", "x");
        // "TagA".hashCode() = 2598919 → 2598919 % 4 = 3
        assert_eq!(SelectByKey("TagA".into()).select(&qs, &m), 3);
        let first = |_: &[MessageQueue], _: &Message| 0usize;
        assert_eq!(first.select(&qs, &m), 0);
    }
}
