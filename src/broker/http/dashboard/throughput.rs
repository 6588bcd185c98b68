//! The dashboard's throughput chart: once a second, the broker's messages in (stored) and out
//! (delivered by pulls) per second, the last ten minutes kept.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;

use crate::broker::stats::{BROKER_GET_NUMS, BROKER_PUT_NUMS};
use crate::broker::BrokerState;

/// How many one-second samples are kept.
const KEEP: usize = 600;

/// One second of traffic.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sample {
    /// End of the second, ms since the epoch.
    pub ts: i64,
    #[serde(rename = "inTps")]
    pub in_tps: f64,
    #[serde(rename = "outTps")]
    pub out_tps: f64,
}

/// The samples, oldest first.
#[derive(Debug, Default)]
pub struct Throughput {
    samples: Mutex<VecDeque<Sample>>,
}

impl Throughput {
    pub fn samples(&self) -> Vec<Sample> {
        self.samples
            .lock()
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    fn push(&self, s: Sample) {
        if let Ok(mut q) = self.samples.lock() {
            if q.len() == KEEP {
                q.pop_front();
            }
            q.push_back(s);
        }
    }
}

/// Samples `state`'s counters every second until `shutdown`.
pub async fn run(state: Arc<BrokerState>, into: Arc<Throughput>, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let totals = |s: &BrokerState| (s.stats.sum(BROKER_PUT_NUMS), s.stats.sum(BROKER_GET_NUMS));
    let mut last = (totals(&state), std::time::Instant::now());
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        let now = (totals(&state), std::time::Instant::now());
        let secs = now.1.duration_since(last.1).as_secs_f64().max(1e-3);
        let rate = |a: u64, b: u64| a.saturating_sub(b) as f64 / secs;
        into.push(Sample {
            ts: sluice_storage::clock::now_millis(),
            in_tps: rate(now.0 .0, last.0 .0),
            out_tps: rate(now.0 .1, last.0 .1),
        });
        last = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_ten_minutes() {
        let t = Throughput::default();
        for i in 0..(KEEP as i64 + 5) {
            t.push(Sample {
                ts: i,
                in_tps: 1.0,
                out_tps: 0.0,
            });
        }
        let s = t.samples();
        assert_eq!(s.len(), KEEP);
        assert_eq!(s[0].ts, 5);
    }
}
