//! Broker statistics for the admin requests (GET_BROKER_RUNTIME_INFO, VIEW_BROKER_STATS_DATA):
//! cumulative counters per (statistic, key), sampled at most every 10 s when touched, so the
//! last minute / hour / day can be read back as differences of samples; the put latency
//! distribution and the longest put / get; and, with metrics on, each topic's and group's
//! Prometheus handles, cached beside their statistics under the same lock so that counting never
//! allocates after a topic's first message.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sluice_remoting::body::admin::{BrokerStatsData, BrokerStatsItem};

use super::metrics::{BrokerMetrics, GroupMetrics, TopicMetrics};

/// Messages stored per topic (key: topic).
pub const TOPIC_PUT_NUMS: &str = "TOPIC_PUT_NUMS";
/// Bytes stored per topic (stored record sizes; key: topic).
pub const TOPIC_PUT_SIZE: &str = "TOPIC_PUT_SIZE";
/// Messages pulled per topic and group (key: `topic@group`).
pub const GROUP_GET_NUMS: &str = "GROUP_GET_NUMS";
/// Bytes pulled per topic and group (key: `topic@group`).
pub const GROUP_GET_SIZE: &str = "GROUP_GET_SIZE";
/// Messages consumers sent back (key: `topic@group`, the original topic).
pub const SNDBCK_PUT_NUMS: &str = "SNDBCK_PUT_NUMS";
/// Messages stored by the broker (key: the broker's cluster name).
pub const BROKER_PUT_NUMS: &str = "BROKER_PUT_NUMS";
/// Messages pulled from the broker (key: the broker's cluster name).
pub const BROKER_GET_NUMS: &str = "BROKER_GET_NUMS";
/// Pulls that found messages / found none (key: the cluster name; `getFoundTps`, `getMissTps`).
pub const PULL_FOUND: &str = "PULL_FOUND";
pub const PULL_MISS: &str = "PULL_MISS";
/// Every pull (key: the cluster name; `getTotalTps`).
pub const PULL_TOTAL: &str = "PULL_TOTAL";

/// The bounds of Java's `putMessageDistributeTime` buckets (ms, upper bound inclusive) and
/// their names as GET_BROKER_RUNTIME_INFO prints them.
pub const PUT_LATENCY_BUCKETS: [(u64, &str); 13] = [
    (0, "<=0ms"),
    (10, "0~10ms"),
    (50, "10~50ms"),
    (100, "50~100ms"),
    (200, "100~200ms"),
    (500, "200~500ms"),
    (1000, "500ms~1s"),
    (2000, "1~2s"),
    (3000, "2~3s"),
    (4000, "3~4s"),
    (5000, "4~5s"),
    (10_000, "5~10s"),
    (u64::MAX, "10s~"),
];

const SAMPLE_EVERY: Duration = Duration::from_secs(10);
const DAY: Duration = Duration::from_secs(24 * 3600);
const HOUR: Duration = Duration::from_secs(3600);
const MINUTE: Duration = Duration::from_secs(60);

/// One sample: (when, cumulative value, cumulative number of events).
type Sample = (Instant, u64, u64);

const DAY_MS: i64 = 86_400_000;

/// A local calendar day.
type Day = (i32, u32, u32);

#[derive(Debug)]
struct Item {
    value: u64,
    times: u64,
    /// Oldest first; spans at most a day (one sample per 10 s → ≤ 8,641).
    samples: VecDeque<Sample>,
    /// The local day of the last sample, and when (ms since the epoch) it was taken.
    day: (Day, i64),
    /// The value at the last local midnight and at the one before (Java's "today morning",
    /// "yesterday morning"); 0 until the broker has run through them. Taken with the first
    /// sample of a new day, so up to [`SAMPLE_EVERY`] of the new day's events count to the old.
    today_morning: u64,
    yesterday_morning: u64,
}

/// The local day of `ms` and the milliseconds since its midnight.
fn local_day(ms: i64) -> (Day, i64) {
    let t = sluice_storage::clock::local_time(ms);
    let since = i64::from(t.hour) * 3_600_000
        + i64::from(t.minute) * 60_000
        + i64::from(t.second) * 1000
        + i64::from(t.millis);
    ((t.year, t.month, t.day), since)
}

impl Item {
    fn new(now: Instant) -> Item {
        let mut samples = VecDeque::new();
        samples.push_back((now, 0, 0));
        let ms = sluice_storage::clock::now_millis();
        Item {
            value: 0,
            times: 0,
            samples,
            day: (local_day(ms).0, ms),
            today_morning: 0,
            yesterday_morning: 0,
        }
    }

    fn sample(&mut self, now: Instant) {
        let due = self
            .samples
            .back()
            .is_none_or(|(at, _, _)| now.duration_since(*at) >= SAMPLE_EVERY);
        if due {
            self.samples.push_back((now, self.value, self.times));
            self.roll_day(sluice_storage::clock::now_millis());
        }
        while self
            .samples
            .front()
            .is_some_and(|(at, _, _)| now.duration_since(*at) > DAY + SAMPLE_EVERY)
        {
            self.samples.pop_front();
        }
    }

    /// At the first sample of a new local day, the mornings move on: nothing was added between
    /// the last sample and now but what the value already holds.
    fn roll_day(&mut self, ms: i64) {
        let (day, since_midnight) = local_day(ms);
        if day == self.day.0 {
            return;
        }
        // More than one midnight since the last sample: both mornings saw today's value.
        if ms - self.day.1 > since_midnight + DAY_MS {
            self.yesterday_morning = self.value;
        } else {
            self.yesterday_morning = self.today_morning;
        }
        self.today_morning = self.value;
        self.day = (day, ms);
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

/// Statistic name → key → counter, and the metrics handles cached beside them.
#[derive(Debug, Default)]
struct Items {
    items: HashMap<&'static str, HashMap<String, Item>>,
    /// Per topic (the TOPIC_PUT_NUMS key).
    topic_metrics: HashMap<String, TopicMetrics>,
    /// Per `topic@group` (the GROUP_GET_NUMS key).
    group_metrics: HashMap<String, GroupMetrics>,
    /// `topic@group` → queue id → the next offset the group's last pull asked for past.
    pulled: HashMap<String, Vec<u64>>,
}

impl Items {
    fn add(&mut self, name: &'static str, key: &str, value: u64, now: Instant) {
        let per_key = self.items.entry(name).or_default();
        let item = match per_key.get_mut(key) {
            Some(item) => item,
            None => per_key.entry(key.to_owned()).or_insert_with(|| Item::new(now)),
        };
        item.sample(now);
        item.value += value;
        item.times += 1;
    }
}

/// Every counter of the broker.
#[derive(Debug, Default)]
pub struct BrokerStats {
    /// Looked up by `&str`: no allocation per event once a key exists.
    items: Mutex<Items>,
    /// Puts per [`PUT_LATENCY_BUCKETS`] bucket (`putMessageDistributeTime`).
    put_latency: [AtomicU64; 13],
    put_time_max_ms: AtomicU64,
    get_time_max_ms: AtomicU64,
    /// The Prometheus families (`metricsExporterType=PROM`).
    metrics: Option<Arc<BrokerMetrics>>,
}

thread_local! {
    /// `topic@group` is built here for the lookups of each pull: no allocation per pull.
    static GROUP_KEY: RefCell<String> = const { RefCell::new(String::new()) };
}

fn with_group_key<R>(topic: &str, group: &str, f: impl FnOnce(&str) -> R) -> R {
    GROUP_KEY.with(|k| {
        let mut k = k.borrow_mut();
        k.clear();
        k.push_str(topic);
        k.push('@');
        k.push_str(group);
        f(&k)
    })
}

impl BrokerStats {
    /// Statistics, counting into `metrics` as well when given.
    pub fn new(metrics: Option<Arc<BrokerMetrics>>) -> BrokerStats {
        BrokerStats {
            metrics,
            ..BrokerStats::default()
        }
    }

    /// The Prometheus families, when metrics are on.
    pub fn metrics(&self) -> Option<&Arc<BrokerMetrics>> {
        self.metrics.as_ref()
    }

    /// Adds `value` (one event) to statistic `name` under `key`.
    pub fn add(&self, name: &'static str, key: &str, value: u64) {
        let now = Instant::now();
        if let Ok(mut items) = self.items.lock() {
            items.add(name, key, value, now);
        }
    }

    /// A send stored messages of these record sizes in `topic` (cluster `cluster`), taking
    /// `elapsed` from its arrival to its ack.
    pub fn record_put(
        &self,
        topic: &str,
        cluster: &str,
        sizes: impl Iterator<Item = u64> + Clone,
        elapsed: Duration,
    ) {
        let now = Instant::now();
        let (n, bytes) = sizes.clone().fold((0u64, 0u64), |(n, b), s| (n + 1, b + s));
        if let Ok(mut items) = self.items.lock() {
            items.add(TOPIC_PUT_NUMS, topic, n, now);
            items.add(TOPIC_PUT_SIZE, topic, bytes, now);
            items.add(BROKER_PUT_NUMS, cluster, n, now);
            if let Some(m) = &self.metrics {
                let handles = match items.topic_metrics.get(topic) {
                    Some(h) => h,
                    None => items
                        .topic_metrics
                        .entry(topic.to_owned())
                        .or_insert_with(|| m.topic(topic)),
                };
                for s in sizes {
                    handles.stored(s);
                }
            }
        }
        let ms = elapsed.as_millis() as u64;
        let bucket = PUT_LATENCY_BUCKETS
            .iter()
            .position(|(upper, _)| ms <= *upper)
            .unwrap_or(PUT_LATENCY_BUCKETS.len() - 1);
        self.put_latency[bucket].fetch_add(1, Ordering::Relaxed);
        self.put_time_max_ms.fetch_max(ms, Ordering::Relaxed);
    }

    /// A pull of `group` on `topic`/`queue` asked from `offset`, found `n` messages of `bytes`
    /// and reads on from `next`; the store read took `read`.
    #[allow(clippy::too_many_arguments)]
    pub fn record_get(
        &self,
        topic: &str,
        group: &str,
        cluster: &str,
        queue: u32,
        (n, bytes): (u64, u64),
        next: u64,
        read: Duration,
    ) {
        let now = Instant::now();
        self.get_time_max_ms
            .fetch_max(read.as_millis() as u64, Ordering::Relaxed);
        let Ok(mut items) = self.items.lock() else {
            return;
        };
        items.add(PULL_TOTAL, cluster, 1, now);
        if n == 0 {
            items.add(PULL_MISS, cluster, 1, now);
        } else {
            items.add(PULL_FOUND, cluster, 1, now);
            items.add(BROKER_GET_NUMS, cluster, n, now);
        }
        with_group_key(topic, group, |key| {
            let q = queue as usize;
            match items.pulled.get_mut(key) {
                Some(v) if v.len() > q => v[q] = next,
                Some(v) => {
                    v.resize(q + 1, 0);
                    v[q] = next;
                }
                None => {
                    let mut v = vec![0; q + 1];
                    v[q] = next;
                    items.pulled.insert(key.to_owned(), v);
                }
            }
            if n == 0 {
                return;
            }
            items.add(GROUP_GET_NUMS, key, n, now);
            items.add(GROUP_GET_SIZE, key, bytes, now);
            if let Some(m) = &self.metrics {
                let handles = match items.group_metrics.get(key) {
                    Some(h) => h,
                    None => items
                        .group_metrics
                        .entry(key.to_owned())
                        .or_insert_with(|| m.group(topic, group)),
                };
                handles.delivered(n, bytes);
            }
        });
    }

    /// The offset `group`'s last pull of `topic`/`queue` reads on from (`None`: never pulled).
    pub fn pulled_offset(&self, topic: &str, group: &str, queue: u32) -> Option<u64> {
        let items = self.items.lock().ok()?;
        with_group_key(topic, group, |key| {
            items.pulled.get(key)?.get(queue as usize).copied()
        })
    }

    /// `putMessageDistributeTime` as Java prints it: `[<=0ms]:3 [0~10ms]:0 …`.
    pub fn put_distribution(&self) -> String {
        PUT_LATENCY_BUCKETS
            .iter()
            .zip(&self.put_latency)
            .map(|((_, name), n)| format!("[{name}]:{}", n.load(Ordering::Relaxed)))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The longest put and pull read so far (ms).
    pub fn time_max_ms(&self) -> (u64, u64) {
        (
            self.put_time_max_ms.load(Ordering::Relaxed),
            self.get_time_max_ms.load(Ordering::Relaxed),
        )
    }

    /// The cumulative value of `name`/`key` (0 if never recorded).
    pub fn total(&self, name: &'static str, key: &str) -> u64 {
        self.items
            .lock()
            .ok()
            .and_then(|items| items.items.get(name)?.get(key).map(|i| i.value))
            .unwrap_or(0)
    }

    /// `name`/`key`'s value at the last local midnight and at the one before (0 before the
    /// broker ran through them).
    pub fn mornings(&self, name: &'static str, key: &str) -> (u64, u64) {
        let now = Instant::now();
        let Ok(mut items) = self.items.lock() else {
            return (0, 0);
        };
        match items.items.get_mut(name).and_then(|k| k.get_mut(key)) {
            Some(item) => {
                item.sample(now);
                (item.today_morning, item.yesterday_morning)
            }
            None => (0, 0),
        }
    }

    /// The cumulative value of `name` over all its keys.
    pub fn sum(&self, name: &'static str) -> u64 {
        self.items
            .lock()
            .ok()
            .and_then(|items| items.items.get(name).map(|k| k.values().map(|i| i.value).sum()))
            .unwrap_or(0)
    }

    /// The last minute, hour and day of `name`/`key`, or `None` if never recorded.
    pub fn view(&self, name: &str, key: &str) -> Option<BrokerStatsData> {
        let now = Instant::now();
        let mut items = self.items.lock().ok()?;
        let item = items.items.get_mut(name)?.get_mut(key)?;
        item.sample(now);
        Some(BrokerStatsData {
            stats_day: item.window(now, DAY),
            stats_hour: item.window(now, HOUR),
            stats_minute: item.window(now, MINUTE),
        })
    }

    /// Events per second over the last 10 s, minute and 10 minutes, as Java's `putTps`
    /// string (`"12.5 11.0 10.2"`).
    pub fn tps_triple(&self, name: &'static str, key: &str) -> String {
        let now = Instant::now();
        let Ok(mut items) = self.items.lock() else {
            return "0.0 0.0 0.0".into();
        };
        let Some(item) = items.items.get_mut(name).and_then(|k| k.get_mut(key)) else {
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
    fn mornings_move_at_local_midnight() {
        let mut item = Item::new(Instant::now());
        let now = sluice_storage::clock::now_millis();
        item.value = 10;
        item.roll_day(now);
        assert_eq!((item.today_morning, item.yesterday_morning), (0, 0));
        // The first sample of the next day, then of the day after.
        item.roll_day(now + DAY_MS);
        assert_eq!((item.today_morning, item.yesterday_morning), (10, 0));
        item.value = 25;
        item.roll_day(now + 2 * DAY_MS);
        assert_eq!((item.today_morning, item.yesterday_morning), (25, 10));
        // Idle for days: both mornings are the value.
        item.value = 30;
        item.roll_day(now + 5 * DAY_MS);
        assert_eq!((item.today_morning, item.yesterday_morning), (30, 30));
    }

    #[test]
    fn puts_and_gets_count_once_under_one_lock() {
        let s = BrokerStats::default();
        s.record_put("T", "C", [100u64, 50].into_iter(), Duration::from_millis(12));
        s.record_put("T", "C", [10u64].into_iter(), Duration::ZERO);
        assert_eq!(s.total(TOPIC_PUT_NUMS, "T"), 3);
        assert_eq!(s.total(TOPIC_PUT_SIZE, "T"), 160);
        assert_eq!(s.total(BROKER_PUT_NUMS, "C"), 3);
        assert!(s
            .put_distribution()
            .starts_with("[<=0ms]:1 [0~10ms]:0 [10~50ms]:1 "));
        assert!(s.put_distribution().ends_with("[10s~]:0"));
        assert_eq!(s.time_max_ms().0, 12);
        s.record_get("T", "G", "C", 2, (2, 150), 7, Duration::ZERO);
        s.record_get("T", "G", "C", 0, (0, 0), 3, Duration::ZERO);
        assert_eq!(s.total(GROUP_GET_NUMS, "T@G"), 2);
        assert_eq!(s.total(GROUP_GET_SIZE, "T@G"), 150);
        assert_eq!(s.total(PULL_MISS, "C"), 1);
        assert_eq!(s.total(PULL_TOTAL, "C"), 2);
        assert_eq!(s.pulled_offset("T", "G", 2), Some(7));
        assert_eq!(s.pulled_offset("T", "G", 0), Some(3));
        assert_eq!(s.pulled_offset("T", "H", 0), None);
    }

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
