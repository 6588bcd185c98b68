//! Sends that await replication (a SYNC_MASTER's, or a controller-mode master's, under
//! ASYNC_FLUSH): each waits for the acknowledged frontier to reach its end. They are kept in
//! order of their ends, so a frontier that moves completes exactly the sends it covers and
//! wakes no other task. (A watch channel would wake every waiting send on every report: with
//! 64 sends in flight, 64 task wake-ups per report for the one or two it completes.)

use std::collections::BTreeMap;
use std::sync::Mutex;

use tokio::sync::oneshot;

/// The waiting sends, by (end offset, registration number).
#[derive(Default)]
pub struct AckWaiters {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    next: u64,
    waiting: BTreeMap<(u64, u64), oneshot::Sender<()>>,
}

/// One registered send: its key, and what completes when the frontier reaches its end.
pub struct Waiter {
    key: (u64, u64),
    pub done: oneshot::Receiver<()>,
}

impl AckWaiters {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a send whose bytes end at `end`. The caller checks the frontier after this
    /// (a frontier published before the registration released nobody).
    pub fn register(&self, end: u64) -> Waiter {
        let (tx, done) = oneshot::channel();
        let mut g = self.lock();
        let key = (end, g.next);
        g.next = g.next.wrapping_add(1);
        g.waiting.insert(key, tx);
        Waiter { key, done }
    }

    /// Forgets a send that stopped waiting (timed out, or found the frontier past it).
    pub fn cancel(&self, w: &Waiter) {
        self.lock().waiting.remove(&w.key);
    }

    /// The frontier reached `acked`: completes every send ending at or below it.
    pub fn release(&self, acked: u64) {
        let done = {
            let mut g = self.lock();
            let rest = g.waiting.split_off(&(acked.saturating_add(1), 0));
            std::mem::replace(&mut g.waiting, rest)
        };
        for tx in done.into_values() {
            let _ = tx.send(());
        }
    }

    /// How many sends wait.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().waiting.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frontier_completes_exactly_the_sends_it_covers() {
        let w = AckWaiters::default();
        let mut a = w.register(100);
        let mut b = w.register(200);
        let mut c = w.register(200);
        let mut d = w.register(300);
        w.release(99);
        assert!(a.done.try_recv().is_err());
        w.release(200);
        assert!(a.done.try_recv().is_ok());
        assert!(b.done.try_recv().is_ok());
        assert!(c.done.try_recv().is_ok());
        assert!(d.done.try_recv().is_err());
        assert_eq!(w.len(), 1);
        // A frontier that goes back (a controller-mode set that grew) releases nothing new.
        w.release(150);
        assert!(d.done.try_recv().is_err());
        w.release(u64::MAX);
        assert!(d.done.try_recv().is_ok());
        assert_eq!(w.len(), 0);
    }

    #[test]
    fn a_cancelled_send_is_forgotten() {
        let w = AckWaiters::default();
        let a = w.register(10);
        let mut b = w.register(10);
        w.cancel(&a);
        assert_eq!(w.len(), 1);
        w.release(10);
        assert!(b.done.try_recv().is_ok());
    }
}
