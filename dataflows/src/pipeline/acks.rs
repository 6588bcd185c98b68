//! The ack table: each epoch's replies, filed by the append stage and sent once the "durable"
//! probe after it has passed the epoch — after fdatasync under SYNC_FLUSH, and in epoch order
//! always, so no producer hears "stored" before an earlier group is.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use super::{AppendReply, ReplyFn};

/// Replies by epoch, on the core thread.
pub type Acks = Rc<RefCell<BTreeMap<u64, Vec<(ReplyFn, AppendReply)>>>>;

/// Sends the replies of every epoch below `frontier` (all of them when the frontier is empty:
/// the dataflow is done); returns how many were sent.
pub fn release(acks: &Acks, frontier: Option<u64>) -> usize {
    let done: Vec<u64> = acks
        .borrow()
        .keys()
        .copied()
        .take_while(|e| frontier.is_none_or(|f| *e < f))
        .collect();
    let mut sent = 0;
    for epoch in done {
        let list = acks.borrow_mut().remove(&epoch);
        for (reply_to, reply) in list.into_iter().flatten() {
            reply_to(reply);
            sent += 1;
        }
    }
    sent
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    #[test]
    fn only_epochs_below_the_frontier_are_answered_in_order() {
        let acks: Acks = Rc::new(RefCell::new(BTreeMap::new()));
        let (tx, rx) = mpsc::channel();
        for epoch in [3u64, 1, 2] {
            let tx = tx.clone();
            let reply: ReplyFn = Box::new(move |_| {
                let _ = tx.send(epoch);
            });
            acks.borrow_mut()
                .insert(epoch, vec![(reply, AppendReply::Stored(Vec::new()))]);
        }
        assert_eq!(release(&acks, Some(1)), 0);
        assert_eq!(release(&acks, Some(3)), 2);
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2]);
        assert_eq!(release(&acks, None), 1);
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), [3]);
    }
}
