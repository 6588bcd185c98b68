//! Broker statistics for the admin requests (GET_BROKER_RUNTIME_INFO, VIEW_BROKER_STATS_DATA):
//! cumulative counters per (statistic, key), sampled at most every 10 s when touched, so the
//! last minute / hour / day can be read back as differences of samples.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sluice_remoting::body::admin::{BrokerStatsData, BrokerStatsItem};

/// Messages stored per topic (key: topic).
pub const TOPIC_PUT_NUMS: &str = "TOPIC_PUT_NUMS";
/// Messages pulled per topic and group (key: `topic@group`).
pub const GROUP_GET_NUMS: &str = "GROUP_GET_NUMS";
/// Messages stored by the broker (key: the broker's cluster name).
pub const BROKER_PUT_NUMS: &str = "BROKER_PUT_NUMS";
/// Messages pulled from the broker (key: the broker's cluster name).
pub const BROKER_GET_NUMS: &str = "BROKER_GET_NUMS";

const SAMPLE_EVERY: Duration = Duration::from_secs(10);
const DAY: Duration = Duration::from_secs(24 * 3600);
const HOUR: Duration = Duration::from_secs(3600);
const MINUTE: Duration = Duration::from_secs(60);

/// One sample: (when, cumulative value, cumulative number of events).
type Sample = (Instant, u64, u64);

#[derive(Debug)]
struct Item {
    value: u64,
    times: u64,
    /// Oldest first; spans at most a day (one sample per 10 s → ≤ 8,641).
    samples: VecDeque<Sample>,
}

impl Item {
    fn new(now: Instant) -> Item {
        let mut samples = VecDeque::new();
        samples.push_back((now, 0, 0));
        Item {
            value: 0,
            times: 0,
            samples,
        }
    }

    fn sample(&mut self, now: Instant) {
        let due = self
            .samples
            .back()
            .is_none_or(|(at, _, _)| now.duration_since(*at) >= SAMPLE_EVERY);
        if due {
            self.samples.push_back((now, self.value, self.times));
        }
        while self
            .samples
            .front()
            .is_some_and(|(at, _, _)| now.duration_since(*at) > DAY + SAMPLE_EVERY)
        {
            self.samples.pop_front();
        }
    }

    /// The window ending now and starting at the oldest sample not older than `span`.
    fn window(&self, now: Instant, span: Duration) -> BrokerStatsItem {
        let start = self
            .samples
            .iter()
            .find(|(at, _, _)| now.duration_since(*at) <= span)
            .copied()
            .unwrap_or((now, self.value, self.times));
        let sum = self.value - start.1;
        let times = self.times - start.2;
        let secs = now.duration_since(start.0).as_secs_f64().max(1.0);
        BrokerStatsItem {
            avgpt: if times == 0 {
                0.0
            } else {
                sum as f64 / times as f64
            },
            sum: sum as i64,
            tps: sum as f64 / secs,
        }
    }
}

/// Every counter of the broker.
#[derive(Debug, Default)]
pub struct BrokerStats {
    /// Statistic name → key → counter (looked up by `&str`: no allocation per event).
    items: Mutex<HashMap<&'static str, HashMap<String, Item>>>,
}

impl BrokerStats {
    /// Adds `value` (one event) to statistic `name` under `key`.
    pub fn add(&self, name: &'static str, key: &str, value: u64) {
        let now = Instant::now();
        let Ok(mut items) = self.items.lock() else {
            return;
        };
        let per_key = items.entry(name).or_default();
        let item = match per_key.get_mut(key) {
            Some(item) => item,
            None => per_key.entry(key.to_owned()).or_insert_with(|| Item::new(now)),
        };
        item.sample(now);
        item.value += value;
        item.times += 1;
    }

    /// The cumulative value of `name`/`key` (0 if never recorded).
    pub fn total(&self, name: &'static str, key: &str) -> u64 {
        self.items
            .lock()
            .ok()
            .and_then(|items| items.get(name)?.get(key).map(|i| i.value))
            .unwrap_or(0)
    }

    /// The last minute, hour and day of `name`/`key`, or `None` if never recorded.
    pub fn view(&self, name: &str, key: &str) -> Option<BrokerStatsData> {
        let now = Instant::now();
        let mut items = self.items.lock().ok()?;
        let item = items.get_mut(name)?.get_mut(key)?;
        item.sample(now);
        Some(BrokerStatsData {
            stats_day: item.window(now, DAY),
            stats_hour: item.window(now, HOUR),
            stats_minute: item.window(now, MINUTE),
        })
    }

    /// Messages per second over the last 10 s, minute and 10 minutes, as Java's `putTps`
    /// string (`"12.5 11.0 10.2"`).
    pub fn tps_triple(&self, name: &'static str, key: &str) -> String {
        let now = Instant::now();
        let Ok(mut items) = self.items.lock() else {
            return "0.0 0.0 0.0".into();
        };
        let Some(item) = items.get_mut(name).and_then(|k| k.get_mut(key)) else {
            return "0.0 0.0 0.0".into();
        };
        item.sample(now);
        let w = |span| item.window(now, span).tps;
        format!(
            "{:.1} {:.1} {:.1}",
            w(SAMPLE_EVERY),
            w(MINUTE),
            w(Duration::from_secs(600))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_count_what_was_added() {
        let s = BrokerStats::default();
        assert!(s.view(TOPIC_PUT_NUMS, "T").is_none());
        s.add(TOPIC_PUT_NUMS, "T", 3);
        s.add(TOPIC_PUT_NUMS, "T", 1);
        let v = s.view(TOPIC_PUT_NUMS, "T").unwrap();
        assert_eq!(v.stats_minute.sum, 4);
        assert_eq!(v.stats_day.sum, 4);
        assert!((v.stats_minute.avgpt - 2.0).abs() < 1e-9);
        assert_eq!(s.total(TOPIC_PUT_NUMS, "T"), 4);
        assert_eq!(s.tps_triple(BROKER_PUT_NUMS, "x"), "0.0 0.0 0.0");
    }
}
