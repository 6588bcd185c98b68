//! The broker's own message-trace records (`traceTopicEnable=true`): beside what clients with
//! `enableMsgTrace` send, the broker writes into the trace topic, in the clients' own record
//! format (so Java's mqadmin and sluice's `queryMsgTraceById` read them alike), what it did
//! with each message:
//!
//! | event | record |
//! |---|---|
//! | a message stored (any topic but the trace topic: sends, half messages, a consumer's send-back into `%RETRY%G`, a move to `%DLQ%G`) | `Pub`, region `sluice-broker`, the stored topic, offsetMsgId, message type |
//! | messages delivered by a pull to group G | `SubBefore` for G, request id `broker-pull`, retry times |
//! | a transaction ended | `EndTransaction` with the commit / rollback state |
//!
//! Records are handed to a bounded queue (never waited for: a full queue drops, counted) and
//! written by one task, up to 64 records per trace message, its `KEYS` the message ids so the
//! index finds them. The trace message's born host is the broker: that is the "client" a trace
//! view shows for these records.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use sluice_remoting::message::sysflag;
use sluice_remoting::message::{decode_message, CrcCheck};
use sluice_remoting::properties::{self, names};
use sluice_storage::{Appended, MessageToStore};
use tokio::sync::{mpsc, watch};

use super::BrokerState;

/// What the trace view shows as the region of the broker's own records.
pub const REGION: &str = "sluice-broker";
/// Records per trace message.
const BATCH: usize = 64;
/// Records queued before new ones are dropped.
const QUEUE: usize = 16 * 1024;

/// One record, and the message id it is about (the trace message's key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub msg_id: String,
    pub line: String,
}

/// What a stored message's record needs, taken before the message is handed to the store.
#[derive(Debug, Clone)]
pub struct Captured {
    topic: String,
    msg_id: String,
    group: String,
    tags: String,
    keys: String,
    body_len: usize,
    sys_flag: i32,
    delayed: bool,
}

/// The broker's trace writer: records in, trace messages out.
#[derive(Debug)]
pub struct Tracer {
    topic: String,
    tx: mpsc::Sender<Record>,
    dropped: AtomicU64,
}

fn now_ms() -> i64 {
    sluice_storage::clock::now_millis()
}

impl Tracer {
    /// A tracer writing into `topic`, and the receiving end [`run`] drains.
    pub fn new(topic: &str) -> (Tracer, mpsc::Receiver<Record>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        (
            Tracer {
                topic: topic.to_owned(),
                tx,
                dropped: AtomicU64::new(0),
            },
            rx,
        )
    }

    /// Records dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn offer(&self, r: Record) {
        if self.tx.try_send(r).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The messages of a unit about to be stored (the trace topic's own are left out).
    pub fn capture(&self, unit: &[MessageToStore]) -> Vec<Captured> {
        unit.iter()
            .filter(|m| self.traces(&m.topic))
            .map(|m| {
                let p = m.properties.as_str();
                let get = |k| properties::get(p, k).unwrap_or_default().to_owned();
                Captured {
                    topic: m.topic.to_string(),
                    msg_id: get(names::UNIQ_KEY),
                    group: get(names::PGROUP),
                    tags: get(names::TAGS),
                    keys: get(names::KEYS),
                    body_len: m.body.len(),
                    sys_flag: m.sys_flag,
                    delayed: properties::get(p, names::REAL_TOPIC).is_some(),
                }
            })
            .collect()
    }

    /// `Pub` records for captured messages, now stored at `appended` on `store_host`.
    pub fn stored(&self, captured: &[Captured], appended: &[Appended], store_host: std::net::SocketAddr) {
        for (c, a) in captured.iter().zip(appended) {
            if c.msg_id.is_empty() {
                continue;
            }
            // The Java client's message types: 0 normal, 1 half, 3 delayed.
            let kind = if c.sys_flag & sysflag::TRANSACTION_MASK == sysflag::TRANSACTION_PREPARED {
                1
            } else if c.delayed {
                3
            } else {
                0
            };
            let offset_id = sluice_remoting::msgid::offset_msg_id(store_host, a.phys_offset);
            let line = [
                "Pub".to_owned(),
                a.store_timestamp.to_string(),
                REGION.to_owned(),
                c.group.clone(),
                c.topic.clone(),
                c.msg_id.clone(),
                c.tags.clone(),
                c.keys.clone(),
                store_host.to_string(),
                c.body_len.to_string(),
                "0".to_owned(),
                kind.to_string(),
                offset_id,
                "true".to_owned(),
            ]
            .join("\u{1}");
            self.offer(Record {
                msg_id: c.msg_id.clone(),
                line: line + "\u{2}",
            });
        }
    }

    /// Whether messages of `topic` are traced (the trace topic's own are not).
    pub fn traces(&self, topic: &str) -> bool {
        topic != self.topic
    }

    /// `SubBefore` records for stored records `messages` delivered to `group`.
    pub fn delivered<'a>(&self, group: &str, messages: impl Iterator<Item = &'a [u8]>) {
        let now = now_ms().to_string();
        for raw in messages {
            let Ok(m) = decode_message(raw, CrcCheck::Skip) else {
                continue;
            };
            let Some(id) = properties::get(m.properties, names::UNIQ_KEY) else {
                continue;
            };
            let keys = properties::get(m.properties, names::KEYS).unwrap_or_default();
            let line = [
                "SubBefore",
                &now,
                REGION,
                group,
                "broker-pull",
                id,
                &m.reconsume_times.to_string(),
                keys,
            ]
            .join("\u{1}");
            self.offer(Record {
                msg_id: id.to_owned(),
                line: line + "\u{2}",
            });
        }
    }

    /// An `EndTransaction` record: the half message `msg_id` of `topic` committed or rolled back.
    pub fn ended(
        &self,
        group: &str,
        topic: &str,
        msg_id: &str,
        transaction_id: &str,
        commit: bool,
        from_check: bool,
    ) {
        let line = [
            "EndTransaction",
            &now_ms().to_string(),
            REGION,
            group,
            topic,
            msg_id,
            "",
            "",
            "",
            "1",
            transaction_id,
            if commit {
                "COMMIT_MESSAGE"
            } else {
                "ROLLBACK_MESSAGE"
            },
            if from_check { "true" } else { "false" },
        ]
        .join("\u{1}");
        self.offer(Record {
            msg_id: msg_id.to_owned(),
            line: line + "\u{2}",
        });
    }
}

/// The trace message carrying `records`.
fn trace_message(topic: &str, records: &[Record], born_host: std::net::SocketAddr) -> MessageToStore {
    let mut ids: Vec<&str> = records.iter().map(|r| r.msg_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let body: String = records.iter().map(|r| r.line.as_str()).collect();
    MessageToStore {
        topic: topic.into(),
        queue_id: 0,
        flag: 0,
        sys_flag: 0,
        born_timestamp: now_ms(),
        born_host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::from(body.into_bytes()),
        properties: properties::encode([(names::KEYS, ids.join(" ").as_str())]),
    }
}

/// Writes queued records as trace messages until `shutdown` (then what is queued).
pub async fn run(
    state: Weak<BrokerState>,
    mut rx: mpsc::Receiver<Record>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let first = tokio::select! {
            r = rx.recv() => r,
            _ = shutdown.changed() => None,
        };
        let Some(first) = first else { break };
        batch.push(first);
        // Gather what comes within a short while, up to a batch.
        let deadline = tokio::time::Instant::now() + Duration::from_millis(50);
        while batch.len() < BATCH {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(r)) => batch.push(r),
                _ => break,
            }
        }
        let Some(state) = state.upgrade() else { break };
        write(&state, &mut batch).await;
    }
}

async fn write(state: &Arc<BrokerState>, batch: &mut Vec<Record>) {
    let Some(tracer) = &state.tracer else { return };
    let m = trace_message(&tracer.topic, batch, state.broker_addr());
    batch.clear();
    if let Err(e) = super::put::store(state, vec![m]).await {
        tracing::warn!(error = %e, "broker trace records not stored");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_back_as_the_clients_format() {
        let (t, mut rx) = Tracer::new("RMQ_SYS_TRACE_TOPIC");
        let host: std::net::SocketAddr = "127.0.0.1:10911".parse().unwrap();
        let m = MessageToStore {
            topic: "Orders".into(),
            queue_id: 0,
            flag: 0,
            sys_flag: 0,
            born_timestamp: 1,
            born_host: host,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: Bytes::from_static(b"abc"),
            properties: properties::encode([
                (names::UNIQ_KEY, "ID1"),
                (names::KEYS, "k"),
                (names::PGROUP, "pg"),
            ]),
        };
        let captured = t.capture(&[m]);
        let appended = Appended {
            phys_offset: 100,
            size: 10,
            queue_offset: 0,
            store_timestamp: 5,
        };
        t.stored(&captured, &[appended], host);
        t.ended("pg", "Orders", "ID1", "tx1", true, false);
        let a = rx.try_recv().unwrap();
        let b = rx.try_recv().unwrap();
        let msg = trace_message("RMQ_SYS_TRACE_TOPIC", &[a, b], host);
        assert_eq!(properties::get(&msg.properties, names::KEYS), Some("ID1"));
        let body = String::from_utf8(msg.body.to_vec()).unwrap();
        let rows = crate::admin::trace::decode(&body, "ID1", "127.0.0.1:10911");
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (
                rows[0].kind.as_str(),
                rows[0].topic.as_str(),
                rows[0].group.as_str()
            ),
            ("Pub", "Orders", "pg")
        );
        assert_eq!(rows[0].status, "success");
        assert_eq!(rows[1].kind, "EndTransaction");
        assert_eq!(rows[1].status, "COMMIT_MESSAGE");
        // The trace topic's own messages are not traced.
        let own = MessageToStore {
            topic: "RMQ_SYS_TRACE_TOPIC".into(),
            ..msg
        };
        assert!(t.capture(&[own]).is_empty());
    }
}
