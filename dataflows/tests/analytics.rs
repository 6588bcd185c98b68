//! Analytics on a real store fed by the real core pipeline: every built-in job's result equals a
//! batch recomputation over the same stored messages — live, after detach/attach, for a job
//! attached "from now", and after a restart that re-attaches the jobs from the jobs file.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sluice_dataflows::analytics::builtin::window_start;
use sluice_dataflows::analytics::{
    AnalyticsConfig, AnalyticsRuntime, By, CustomJob, JobKind, JobSpec, Message, Row, StartAt,
};
use sluice_dataflows::{AppendReply, CorePipeline, StageHooks};
use sluice_storage::{MessageStore, MessageToStore, StoreConfig};

const TOPIC: &str = "Orders";

struct Broker {
    store: Arc<MessageStore>,
    pipeline: CorePipeline,
    analytics: AnalyticsRuntime,
}

fn start(dir: &std::path::Path) -> Broker {
    let mut cfg = StoreConfig {
        store_path_root_dir: dir.to_path_buf(),
        ..StoreConfig::default()
    };
    cfg.set("mappedFileSizeCommitLog", "1048576").unwrap();
    let store = MessageStore::open(cfg).unwrap();
    let analytics = AnalyticsRuntime::start(
        store.clone(),
        AnalyticsConfig {
            state_dir: Some(dir.join("analytics")),
            ..AnalyticsConfig::default()
        },
    )
    .unwrap();
    let waker = analytics.waker();
    let pipeline = CorePipeline::start(
        store.clone(),
        StageHooks {
            schedule: Arc::new(|_| {}),
            delivery: Arc::new(move |adv| waker.notify(adv)),
        },
        64 << 20,
    )
    .unwrap();
    Broker {
        store,
        pipeline,
        analytics,
    }
}

impl Broker {
    fn stop(mut self) {
        self.analytics.shutdown();
        self.pipeline.shutdown();
        self.store.close().unwrap();
    }

    /// Stores `n` messages numbered from `first`, spread over 4 queues, 5 tags and 13 keys.
    fn produce(&self, first: u64, n: u64) {
        for chunk in (first..first + n).collect::<Vec<_>>().chunks(50) {
            let unit: Vec<MessageToStore> = chunk.iter().map(|i| msg(*i)).collect();
            let reply = self
                .pipeline
                .submitter()
                .store_wait(unit, Duration::from_secs(10))
                .unwrap();
            assert!(matches!(reply, Some(AppendReply::Stored(_))), "{reply:?}");
        }
    }

    /// Every stored message of the topic, read back through the consumers' path.
    fn batch(&self) -> Vec<Message> {
        let mut out = Vec::new();
        for q in 0..4 {
            let mut off = self.store.min_queue_offset(TOPIC, q);
            let max = self.store.max_queue_offset(TOPIC, q);
            while off < max {
                let res = self.store.get_messages(TOPIC, q, off, 64, &|_| true);
                for s in &res.messages {
                    out.push(Message::from_record(s, false).unwrap());
                }
                off = res.next_begin_offset;
            }
        }
        out
    }

    fn max_offsets(&self) -> BTreeMap<u32, u64> {
        (0..4)
            .map(|q| (q, self.store.max_queue_offset(TOPIC, q)))
            .filter(|(_, m)| *m > 0)
            .collect()
    }

    /// Waits until `job`'s published result reflects every stored message; returns its rows.
    fn settled(&self, job: &str) -> Vec<Row> {
        let want = self.max_offsets();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(r) = self.analytics.results().get(job) {
                if want.iter().all(|(q, m)| r.through.get(q).is_some_and(|t| t >= m)) {
                    return r.rows;
                }
            }
            assert!(Instant::now() < deadline, "{job} did not catch up with {want:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn msg(i: u64) -> MessageToStore {
    let props = format!(
        "TAGS\u{1}tag{}\u{2}KEYS\u{1}k{} k{}\u{2}",
        i % 5,
        i % 13,
        (i * 7) % 13
    );
    MessageToStore {
        topic: TOPIC.into(),
        queue_id: (i % 4) as u32,
        flag: 0,
        sys_flag: 0,
        born_timestamp: sluice_storage::clock::now_millis(),
        born_host: "127.0.0.1:1".parse().unwrap(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::from(format!("body {i}")),
        properties: props,
    }
}

fn count_spec(name: &str, by: By, start: StartAt) -> JobSpec {
    JobSpec {
        name: name.into(),
        topic: TOPIC.into(),
        kind: JobKind::Count { by, window_ms: 50 },
        start,
        start_offsets: BTreeMap::new(),
    }
}

fn top_spec(name: &str) -> JobSpec {
    JobSpec {
        name: name.into(),
        topic: TOPIC.into(),
        kind: JobKind::TopN { by: By::Key, n: 4 },
        start: StartAt::Earliest,
        start_offsets: BTreeMap::new(),
    }
}

/// The batch answer of a count job.
fn batch_counts(msgs: &[Message], by: By, window_ms: u64) -> Vec<Row> {
    let mut m: BTreeMap<(i64, String), i64> = BTreeMap::new();
    for msg in msgs {
        for v in by.values(msg) {
            *m.entry((window_start(msg.store_timestamp, window_ms), v))
                .or_default() += 1;
        }
    }
    m.into_iter()
        .map(|((window, key), value)| Row { window, key, value })
        .collect()
}

/// The batch answer of a top-N job over keys.
fn batch_top(msgs: &[Message], n: usize) -> Vec<Row> {
    let mut m: BTreeMap<String, i64> = BTreeMap::new();
    for msg in msgs {
        for k in &msg.keys {
            *m.entry(k.clone()).or_default() += 1;
        }
    }
    let mut v: Vec<(String, i64)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut rows: Vec<Row> = v
        .into_iter()
        .take(n)
        .map(|(key, value)| Row {
            window: 0,
            key,
            value,
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn results_equal_batch_recomputation_through_detach_attach_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let b = start(dir.path());
    b.produce(0, 300);
    // Attached after the first messages: reads them from the earliest offset, then tails.
    for (name, by) in [("by-topic", By::Topic), ("by-tag", By::Tag), ("by-key", By::Key)] {
        b.analytics
            .attach(count_spec(name, by, StartAt::Earliest))
            .unwrap();
    }
    b.analytics.attach(top_spec("top")).unwrap();
    b.produce(300, 700);
    let all = b.batch();
    assert_eq!(all.len(), 1000);
    for (name, by) in [("by-topic", By::Topic), ("by-tag", By::Tag), ("by-key", By::Key)] {
        assert_eq!(b.settled(name), batch_counts(&all, by, 50), "{name}");
    }
    assert_eq!(b.settled("top"), batch_top(&all, 4));
    let rates = b.analytics.results().get("by-topic").unwrap().to_json();
    assert!(rates["rows"][0]["rate_per_s"].as_f64().unwrap() > 0.0);

    // A "now" job sees only what comes after it.
    b.analytics
        .attach(count_spec("since", By::Tag, StartAt::Now))
        .unwrap();
    let before = b.max_offsets();
    b.produce(1000, 200);
    let all = b.batch();
    let later: Vec<Message> = all
        .iter()
        .filter(|m| m.queue_offset >= before.get(&m.queue_id).copied().unwrap_or(0))
        .cloned()
        .collect();
    assert_eq!(later.len(), 200);
    assert_eq!(b.settled("since"), batch_counts(&later, By::Tag, 50));

    // Detach, produce, attach again: recomputed from the earliest offset.
    b.analytics.detach("by-key").unwrap();
    assert!(b.analytics.results().get("by-key").is_none());
    assert!(b.analytics.detach("by-key").is_err());
    b.produce(1200, 100);
    b.analytics
        .attach(count_spec("by-key", By::Key, StartAt::Earliest))
        .unwrap();
    assert!(b
        .analytics
        .attach(count_spec("by-key", By::Key, StartAt::Earliest))
        .is_err());
    let all = b.batch();
    assert_eq!(b.settled("by-key"), batch_counts(&all, By::Key, 50));
    assert_eq!(b.settled("top"), batch_top(&all, 4));
    let jobs: Vec<String> = b.analytics.jobs().into_iter().map(|j| j.name).collect();
    assert_eq!(jobs, ["by-key", "by-tag", "by-topic", "since", "top"]);
    b.stop();

    // Restart: the jobs come back from the jobs file and recompute over the same messages; the
    // "now" job keeps its recorded start.
    let b = start(dir.path());
    let jobs: Vec<String> = b.analytics.jobs().into_iter().map(|j| j.name).collect();
    assert_eq!(jobs, ["by-key", "by-tag", "by-topic", "since", "top"]);
    b.produce(1300, 150);
    let all = b.batch();
    assert_eq!(all.len(), 1450);
    for (name, by) in [("by-topic", By::Topic), ("by-tag", By::Tag), ("by-key", By::Key)] {
        assert_eq!(
            b.settled(name),
            batch_counts(&all, by, 50),
            "{name} after restart"
        );
    }
    assert_eq!(b.settled("top"), batch_top(&all, 4));
    let later: Vec<Message> = all
        .iter()
        .filter(|m| m.queue_offset >= before.get(&m.queue_id).copied().unwrap_or(0))
        .cloned()
        .collect();
    assert_eq!(later.len(), 450);
    assert_eq!(b.settled("since"), batch_counts(&later, By::Tag, 50));
    b.stop();
}

#[test]
fn lag_follows_committed_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let b = start(dir.path());
    b.produce(0, 100);
    b.store.meta().put_consumer_offset("G", TOPIC, 0, 10).unwrap();
    b.store.meta().put_consumer_offset("G", TOPIC, 1, 25).unwrap();
    b.analytics
        .attach(JobSpec {
            name: "lag".into(),
            topic: TOPIC.into(),
            kind: JobKind::Lag {
                group: "G".into(),
                window_ms: 100,
                keep: 3,
            },
            start: StartAt::Earliest,
            start_offsets: BTreeMap::new(),
        })
        .unwrap();
    let latest = |b: &Broker| -> Option<Vec<(String, i64)>> {
        let rows = b.analytics.results().get("lag")?.rows;
        let w = rows.iter().map(|r| r.window).max()?;
        Some(
            rows.into_iter()
                .filter(|r| r.window == w)
                .map(|r| (r.key, r.value))
                .collect(),
        )
    };
    let want = |c0: i64, c1: i64| {
        vec![
            ("0".into(), 25 - c0),
            ("1".into(), 25 - c1),
            ("2".into(), 25),
            ("3".into(), 25),
        ]
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while latest(&b) != Some(want(10, 25)) {
        assert!(Instant::now() < deadline, "{:?}", latest(&b));
        std::thread::sleep(Duration::from_millis(20));
    }
    // Queues 2 and 3 have no commit: they count from their min offset. Queue 0 moves on.
    b.store.meta().put_consumer_offset("G", TOPIC, 0, 20).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while latest(&b) != Some(want(20, 25)) {
        assert!(Instant::now() < deadline, "{:?}", latest(&b));
        std::thread::sleep(Duration::from_millis(20));
    }
    // Only the last 3 windows are kept.
    std::thread::sleep(Duration::from_millis(500));
    let windows: std::collections::BTreeSet<i64> = b
        .analytics
        .results()
        .get("lag")
        .unwrap()
        .rows
        .iter()
        .map(|r| r.window)
        .collect();
    assert!(windows.len() <= 3, "{windows:?}");
    b.stop();
}

/// A user-defined job through the documented API: body bytes per tag.
#[test]
fn custom_job_through_the_public_api() {
    use differential_dataflow::VecCollection;
    use sluice_dataflows::analytics::Analytic;

    struct BytesPerTag;
    impl Analytic for BytesPerTag {
        fn needs_body(&self) -> bool {
            true
        }
        fn build<'scope>(
            &self,
            messages: VecCollection<'scope, u64, Message, isize>,
        ) -> VecCollection<'scope, u64, Row, isize> {
            messages
                .map(|m| {
                    (
                        m.tags.unwrap_or_default(),
                        m.body.map(|b| b.len()).unwrap_or(0) as i64,
                    )
                })
                .reduce(|_, sizes, out: &mut Vec<(i64, isize)>| {
                    out.push((sizes.iter().map(|(s, n)| **s * *n as i64).sum(), 1))
                })
                .map(|(key, value)| Row {
                    window: 0,
                    key,
                    value,
                })
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let b = start(dir.path());
    b.produce(0, 200);
    b.analytics
        .attach_custom(CustomJob {
            name: "bytes".into(),
            topic: TOPIC.into(),
            start: StartAt::Earliest,
            analytic: Box::new(BytesPerTag),
        })
        .unwrap();
    let mut want: BTreeMap<String, i64> = BTreeMap::new();
    for i in 0..200u64 {
        *want.entry(format!("tag{}", i % 5)).or_default() += format!("body {i}").len() as i64;
    }
    let want: Vec<Row> = want
        .into_iter()
        .map(|(key, value)| Row {
            window: 0,
            key,
            value,
        })
        .collect();
    assert_eq!(b.settled("bytes"), want);
    b.stop();
}
