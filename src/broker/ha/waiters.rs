//! Sends that await replication (a SYNC_MASTER's, or a controller-mode master's, under
//! ASYNC_FLUSH): each waits for the acknowledged frontier to reach its end. They are kept in
//! order of their ends, so a frontier that moves completes exactly the sends it covers and
//! wakes no other task. (A watch channel would wake every waiting send on every report: with
//! 64 sends in flight, 64 task wake-ups per report for the one or two it completes.)
//!
//! A waiting send is either a task awaiting a oneshot ([`AckWaiters::register`]) or a
//! deferred answer ([`AckWaiters::defer`]): a callback run by whoever moves the frontier past
//! it, or by [`AckWaiters::expire`] once its deadline passes. The client's send then needs no
//! task, timer or wake-up of its own between its append and its answer.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use tokio::sync::oneshot;

/// A deferred answer: called with `true` once replicated, `false` when its deadline passed.
pub type Deferred = Box<dyn FnOnce(bool) + Send>;

/// The waiting sends, by (end offset, registration number).
#[derive(Default)]
pub struct AckWaiters {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    next: u64,
    waiting: BTreeMap<(u64, u64), Done>,
    /// How many of `waiting` are deferred answers (with deadlines to watch).
    deferred: usize,
}

enum Done {
    Wake(oneshot::Sender<()>),
    Call { deadline: Instant, answer: Deferred },
}

impl Done {
    fn complete(self, replicated: bool) {
        match self {
            Done::Wake(tx) => {
                if replicated {
                    let _ = tx.send(());
                }
            }
            Done::Call { answer, .. } => answer(replicated),
        }
    }
}

impl Inner {
    fn insert(&mut self, end: u64, done: Done) -> (u64, u64) {
        let key = (end, self.next);
        self.next = self.next.wrapping_add(1);
        if matches!(done, Done::Call { .. }) {
            self.deferred += 1;
        }
        self.waiting.insert(key, done);
        key
    }

    fn remove(&mut self, key: &(u64, u64)) -> Option<Done> {
        let done = self.waiting.remove(key)?;
        if matches!(done, Done::Call { .. }) {
            self.deferred -= 1;
        }
        Some(done)
    }
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
        let key = self.lock().insert(end, Done::Wake(tx));
        Waiter { key, done }
    }

    /// Forgets a send that stopped waiting (timed out, or found the frontier past it).
    pub fn cancel(&self, w: &Waiter) {
        self.lock().remove(&w.key);
    }

    /// Registers a deferred answer for a send ending at `end`, due by `deadline`; `acked` is
    /// read after the registration (as for [`Self::register`]), and a frontier already past
    /// `end` answers at once, on this thread. Each answer runs exactly once: whoever takes
    /// it out of the map runs it.
    pub fn defer(&self, end: u64, deadline: Instant, answer: Deferred, acked: impl FnOnce() -> u64) {
        let key = self.lock().insert(end, Done::Call { deadline, answer });
        if acked() >= end {
            let done = self.lock().remove(&key);
            if let Some(d) = done {
                d.complete(true);
            }
        }
    }

    /// The frontier reached `acked`: completes every send ending at or below it.
    pub fn release(&self, acked: u64) {
        let done = {
            let mut g = self.lock();
            let rest = g.waiting.split_off(&(acked.saturating_add(1), 0));
            let done = std::mem::replace(&mut g.waiting, rest);
            g.deferred -= done.values().filter(|d| matches!(d, Done::Call { .. })).count();
            done
        };
        for d in done.into_values() {
            d.complete(true);
        }
    }

    /// Answers every deferred send whose deadline is past `now` as not replicated.
    pub fn expire(&self, now: Instant) {
        let late: Vec<Done> = {
            let mut g = self.lock();
            if g.deferred == 0 {
                return;
            }
            let keys: Vec<(u64, u64)> = g
                .waiting
                .iter()
                .filter(|(_, d)| matches!(d, Done::Call { deadline, .. } if *deadline <= now))
                .map(|(k, _)| *k)
                .collect();
            keys.iter().filter_map(|k| g.remove(k)).collect()
        };
        for d in late {
            d.complete(false);
        }
    }

    /// Answers every waiting send as not replicated (the master stops: no report will come).
    pub fn fail_all(&self) {
        let all = {
            let mut g = self.lock();
            g.deferred = 0;
            std::mem::take(&mut g.waiting)
        };
        for d in all.into_values() {
            d.complete(false);
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
    fn a_deferred_answer_runs_once_replicated_or_once_late() {
        use std::sync::atomic::{AtomicI32, Ordering};
        use std::sync::Arc;
        use std::time::Duration;
        let w = AckWaiters::default();
        let seen = Arc::new(AtomicI32::new(0));
        let answer = |bit: i32| -> Deferred {
            let seen = seen.clone();
            Box::new(move |replicated| {
                seen.fetch_add(if replicated { bit } else { bit << 8 }, Ordering::SeqCst);
            })
        };
        let now = Instant::now();
        let later = now + Duration::from_secs(3);
        // Already covered when registered: answered at once, replicated.
        w.defer(10, later, answer(1), || 10);
        assert_eq!(seen.load(Ordering::SeqCst), 1);
        w.defer(20, later, answer(2), || 10);
        w.defer(30, now, answer(4), || 10);
        let mut task = w.register(30);
        assert_eq!(w.len(), 3);
        // Only the one past its deadline is answered, as not replicated; the task waits on.
        w.expire(now);
        assert_eq!(seen.load(Ordering::SeqCst), 1 | (4 << 8));
        assert!(task.done.try_recv().is_err());
        w.release(30);
        assert_eq!(seen.load(Ordering::SeqCst), 1 | 2 | (4 << 8));
        assert!(task.done.try_recv().is_ok());
        assert_eq!(w.len(), 0);
        assert_eq!(w.lock().deferred, 0);
        // Nothing is answered twice.
        w.expire(later + Duration::from_secs(1));
        w.release(u64::MAX);
        assert_eq!(seen.load(Ordering::SeqCst), 1 | 2 | (4 << 8));
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
