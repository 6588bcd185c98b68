//! Latency-based fault avoidance: a broker whose last send was slow or failed is skipped for
//! a while, the longer the slower (the step table of the Java client's defaults).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// (latency at least, ms → broker avoided for, ms). A failure counts as 30 s of latency.
const STEPS: [(u64, u64); 7] = [
    (15_000, 600_000),
    (3_000, 180_000),
    (2_000, 120_000),
    (1_000, 60_000),
    (550, 30_000),
    (100, 0),
    (50, 0),
];

/// Latency charged for a failed send.
pub const FAILURE_LATENCY: Duration = Duration::from_secs(30);

/// How long a broker is avoided after a send that took `latency`.
pub fn avoidance_for(latency: Duration) -> Duration {
    let ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
    STEPS
        .iter()
        .find(|(at_least, _)| ms >= *at_least)
        .map(|(_, avoid)| Duration::from_millis(*avoid))
        .unwrap_or(Duration::ZERO)
}

/// Per broker name: until when it is avoided.
#[derive(Debug, Default)]
pub struct FaultTable {
    avoid_until: Mutex<HashMap<String, Instant>>,
}

impl FaultTable {
    /// Records the outcome of a send to `broker`.
    pub fn record(&self, broker: &str, latency: Duration, failed: bool) {
        let latency = if failed { FAILURE_LATENCY } else { latency };
        let avoid = avoidance_for(latency);
        if let Ok(mut t) = self.avoid_until.lock() {
            if avoid.is_zero() {
                t.remove(broker);
            } else {
                t.insert(broker.to_owned(), Instant::now() + avoid);
            }
        }
    }

    /// Whether `broker` may be used now.
    pub fn is_available(&self, broker: &str) -> bool {
        self.avoid_until
            .lock()
            .map(|t| t.get(broker).is_none_or(|until| Instant::now() >= *until))
            .unwrap_or(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps() {
        assert_eq!(avoidance_for(Duration::from_millis(10)), Duration::ZERO);
        assert_eq!(avoidance_for(Duration::from_millis(549)), Duration::ZERO);
        assert_eq!(avoidance_for(Duration::from_millis(550)), Duration::from_secs(30));
        assert_eq!(
            avoidance_for(Duration::from_millis(2500)),
            Duration::from_secs(120)
        );
        assert_eq!(avoidance_for(FAILURE_LATENCY), Duration::from_secs(600));
    }

    #[test]
    fn failed_broker_is_avoided_until_a_fast_send() {
        let t = FaultTable::default();
        assert!(t.is_available("a"));
        t.record("a", Duration::from_millis(1), true);
        assert!(!t.is_available("a"));
        assert!(t.is_available("b"));
        t.record("a", Duration::from_millis(1), false);
        assert!(t.is_available("a"));
    }
}
