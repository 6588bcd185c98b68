//! Pulling a topic from offset 0 and tracking what was delivered of a stream of scheduled
//! messages: missing, duplicate, early, unexpected, and the lateness of each.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use serde::Serialize;
use sluice_remoting::codes::response;
use sluice_storage::record::{CrcCheck, Record};

use super::common::{code_name, fmt_opt, Dist, GROUP, ID_PROP};
use crate::latency::Latencies;
use crate::wire::{decode_records, Client, Subscription};

/// A delivered record earlier than its due time by more than this is "early" (both times are
/// whole milliseconds, so −1 can be truncation).
const EARLY_TOLERANCE_MS: i64 = 1;

/// Pulls every queue of `topic` from `offsets` (advanced in place) until caught up.
pub(super) async fn pull_topic(
    client: &Client,
    topic: &str,
    offsets: &mut [i64],
    visit: &mut impl FnMut(&Record<'_>),
) -> Result<u64> {
    let mut n = 0;
    for (q, off) in offsets.iter_mut().enumerate() {
        loop {
            let r = client
                .pull(GROUP, topic, q as i32, *off, 1024, Subscription::All)
                .await?;
            match r.code {
                response::SUCCESS => {
                    n += decode_records(&r.body, CrcCheck::Verify, visit)?;
                    if r.next_begin_offset <= *off {
                        bail!(
                            "pull {topic}/{q} at {off} returned SUCCESS without advancing (next {})",
                            r.next_begin_offset
                        );
                    }
                    *off = r.next_begin_offset;
                    if *off >= r.max_offset {
                        break;
                    }
                }
                response::PULL_NOT_FOUND => break,
                response::PULL_RETRY_IMMEDIATELY if r.next_begin_offset > *off => {
                    *off = r.next_begin_offset;
                }
                code => bail!(
                    "pull {topic}/{q} at offset {off}: {} ({}), nextBeginOffset {}, maxOffset {}",
                    code_name(code),
                    r.remark,
                    r.next_begin_offset,
                    r.max_offset
                ),
            }
        }
    }
    Ok(n)
}

/// What was delivered of a stream of scheduled messages.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Lateness {
    /// Messages the broker acknowledged.
    pub(super) sent: u64,
    /// Distinct acknowledged messages found in the target topic.
    pub(super) delivered: u64,
    pub(super) missing: u64,
    /// A few missing ids with their due times.
    pub(super) missing_sample: Vec<(u64, i64)>,
    pub(super) duplicates: u64,
    /// Records in the topic that no acknowledged send explains.
    pub(super) unexpected: u64,
    /// Lateness below −1 ms.
    pub(super) early: u64,
    /// STORETIMESTAMP of the delivered record − intended due time, ms.
    pub(super) lateness_ms: Option<Dist>,
    /// Whole pull passes it took (more than one = some arrived after the settle time).
    pub(super) pull_passes: u32,
}

/// Tracks a stream of scheduled messages by id: due time, and whether it was seen.
pub(super) struct Tracker {
    /// Due time of acknowledged id i, or i64::MIN if id i was never acknowledged.
    due: Vec<i64>,
    /// Group of id i (delay level, or 0) for the per-group breakdown.
    group: Vec<i32>,
    seen: Vec<bool>,
    /// Group → what of it was delivered.
    delivered: BTreeMap<i32, Delivered>,
    duplicates: u64,
    unexpected: u64,
}

/// The deliveries of one group.
#[derive(Default)]
struct Delivered {
    /// Lateness, µs.
    lateness: Latencies,
    /// Lateness below −`EARLY_TOLERANCE_MS`.
    early: u64,
}

impl Tracker {
    pub(super) fn new(acked: &[(u64, i64, i32)]) -> Tracker {
        let n = acked.iter().map(|a| a.0 + 1).max().unwrap_or(0) as usize;
        let mut due = vec![i64::MIN; n];
        let mut group = vec![0; n];
        for &(id, d, g) in acked {
            due[id as usize] = d;
            group[id as usize] = g;
        }
        Tracker {
            due,
            group,
            seen: vec![false; n],
            delivered: BTreeMap::new(),
            duplicates: 0,
            unexpected: 0,
        }
    }

    pub(super) fn visit(&mut self, r: &Record<'_>) {
        let id = r.property(ID_PROP).and_then(|v| v.parse::<usize>().ok());
        let Some(id) = id.filter(|&i| i < self.due.len() && self.due[i] != i64::MIN) else {
            self.unexpected += 1;
            return;
        };
        if std::mem::replace(&mut self.seen[id], true) {
            self.duplicates += 1;
            return;
        }
        let late = r.store_timestamp - self.due[id];
        let d = self.delivered.entry(self.group[id]).or_default();
        if late < -EARLY_TOLERANCE_MS {
            d.early += 1;
        }
        d.lateness.record_us(late.saturating_mul(1000));
    }

    fn missing(&self) -> Vec<(u64, i64)> {
        self.due
            .iter()
            .zip(&self.seen)
            .enumerate()
            .filter(|(_, (&d, &s))| d != i64::MIN && !s)
            .map(|(i, (&d, _))| (i as u64, d))
            .collect()
    }

    pub(super) fn result(&self, sent: u64, passes: u32, group: Option<i32>) -> Lateness {
        let mut late = Delivered::default();
        for (_, d) in self
            .delivered
            .iter()
            .filter(|(g, _)| group.is_none_or(|want| **g == want))
        {
            late.lateness.add(&d.lateness);
            late.early += d.early;
        }
        let missing: Vec<(u64, i64)> = self
            .missing()
            .into_iter()
            .filter(|(i, _)| group.is_none_or(|want| self.group[*i as usize] == want))
            .collect();
        let sent = match group {
            None => sent,
            Some(want) => self
                .due
                .iter()
                .zip(&self.group)
                .filter(|(d, g)| **d != i64::MIN && **g == want)
                .count() as u64,
        };
        Lateness {
            sent,
            delivered: late.lateness.len(),
            missing: missing.len() as u64,
            missing_sample: missing.iter().take(10).copied().collect(),
            duplicates: if group.is_none() { self.duplicates } else { 0 },
            unexpected: if group.is_none() { self.unexpected } else { 0 },
            early: late.early,
            lateness_ms: Dist::of(&late.lateness),
            pull_passes: passes,
        }
    }
}

/// Pulls `topic` until every tracked message was seen or `grace` ran out.
pub(super) async fn collect(
    client: &Client,
    topic: &str,
    queues: i32,
    tracker: &mut Tracker,
    grace: Duration,
) -> Result<u32> {
    let mut offsets = vec![0i64; queues as usize];
    let deadline = Instant::now() + grace;
    let mut passes = 0;
    loop {
        passes += 1;
        pull_topic(client, topic, &mut offsets, &mut |r| tracker.visit(r)).await?;
        let missing = tracker.missing().len();
        if missing == 0 || Instant::now() >= deadline {
            return Ok(passes);
        }
        eprintln!("  {topic}: {missing} not delivered yet; pulling again in 1 s");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

pub(super) fn lateness_row(name: &str, l: &Lateness) -> String {
    format!(
        "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        l.sent,
        l.delivered,
        l.missing,
        l.duplicates,
        l.early,
        fmt_opt(&l.lateness_ms, |d| d.min),
        fmt_opt(&l.lateness_ms, |d| d.p50),
        fmt_opt(&l.lateness_ms, |d| d.p99),
        fmt_opt(&l.lateness_ms, |d| d.max)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_storage::properties;

    #[test]
    fn tracker_counts_missing_duplicate_early_and_unexpected() {
        use sluice_storage::record::{encode, MessageFields, StoreStamp};
        let host: std::net::SocketAddr = "127.0.0.1:10911".parse().unwrap();
        let rec = |id: &str, store_ts: i64| {
            let props = properties::encode([(ID_PROP, id)]);
            let fields = MessageFields {
                topic: "T",
                queue_id: 0,
                flag: 0,
                sys_flag: 0,
                born_timestamp: 0,
                born_host: host,
                reconsume_times: 0,
                prepared_transaction_offset: 0,
                body: b"x",
                properties: &props,
            };
            let stamp = StoreStamp {
                queue_offset: 0,
                physical_offset: 0,
                store_timestamp: store_ts,
                store_host: host,
            };
            let mut out = Vec::new();
            encode(&mut out, &fields, &stamp, None).unwrap();
            out
        };
        let mut body = Vec::new();
        body.extend(rec("0", 1_005));
        body.extend(rec("0", 1_006));
        body.extend(rec("2", 1_990));
        body.extend(rec("9", 5));
        let mut t = Tracker::new(&[(0, 1_000, 1), (1, 1_500, 1), (2, 2_000, 2)]);
        assert_eq!(
            decode_records(&body, CrcCheck::Verify, &mut |r| t.visit(r)).unwrap(),
            4
        );
        let all = t.result(3, 1, None);
        assert_eq!(
            (
                all.delivered,
                all.missing,
                all.duplicates,
                all.early,
                all.unexpected
            ),
            (2, 1, 1, 1, 1)
        );
        assert_eq!(all.missing_sample, vec![(1, 1_500)]);
        let level2 = t.result(0, 1, Some(2));
        assert_eq!((level2.sent, level2.delivered, level2.missing), (1, 1, 0));
    }
}
