//! A user-defined analytic on the in-process analytics runtime: body bytes per tag, over a
//! fresh store fed by the real core pipeline.
//!
//! `cargo run -p sluice-dataflows --example analytics_custom`

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use differential_dataflow::VecCollection;
use sluice_dataflows::analytics::{
    Analytic, AnalyticsConfig, AnalyticsRuntime, CustomJob, Message, Row, StartAt,
};
use sluice_dataflows::{CorePipeline, StageHooks};
use sluice_storage::{MessageStore, MessageToStore, StoreConfig};

/// Body bytes per tag: project (tag, size) first, then sum per tag.
struct BytesPerTag;

impl Analytic for BytesPerTag {
    fn build<'scope>(
        &self,
        messages: VecCollection<'scope, u64, Message, isize>,
    ) -> VecCollection<'scope, u64, Row, isize> {
        messages
            .map(|m| (m.tags.unwrap_or_default(), i64::from(m.body_len)))
            .reduce(|_tag, sizes, out: &mut Vec<(i64, isize)>| {
                out.push((sizes.iter().map(|(s, n)| **s * *n as i64).sum(), 1));
            })
            .map(|(key, value)| Row {
                window: 0,
                key,
                value,
            })
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let mut cfg = StoreConfig {
        store_path_root_dir: dir.path().to_path_buf(),
        ..StoreConfig::default()
    };
    cfg.set("mappedFileSizeCommitLog", "1048576")?;
    let store = MessageStore::open(cfg)?;
    let analytics = AnalyticsRuntime::start(store.clone(), AnalyticsConfig::default())?;
    let waker = analytics.waker();
    let mut pipeline = CorePipeline::start(
        store.clone(),
        StageHooks {
            schedule: Arc::new(|_| {}),
            delivery: Arc::new(move |adv| waker.notify(adv)),
        },
        64 << 20,
    )?;
    analytics.attach_custom(CustomJob {
        name: "bytes-per-tag".into(),
        topic: "orders".into(),
        start: StartAt::Earliest,
        analytic: Box::new(BytesPerTag),
    })?;
    for i in 0..1000u32 {
        let m = MessageToStore {
            topic: "orders".into(),
            queue_id: i % 4,
            flag: 0,
            sys_flag: 0,
            born_timestamp: sluice_storage::clock::now_millis(),
            born_host: "127.0.0.1:1".parse()?,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: Bytes::from(vec![b'x'; (i % 100) as usize]),
            properties: format!("TAGS\u{1}tag{}\u{2}", i % 3),
        };
        pipeline.submitter().store_wait(vec![m], Duration::from_secs(5))?;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = analytics.results().get("bytes-per-tag");
        let through: u64 = r.as_ref().map(|r| r.through.values().sum()).unwrap_or(0);
        if through >= 1000 || Instant::now() > deadline {
            for row in r.map(|r| r.rows).unwrap_or_default() {
                println!("{:<6} {:>8} bytes", row.key, row.value);
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    analytics.shutdown();
    pipeline.shutdown();
    store.close()?;
    Ok(())
}
