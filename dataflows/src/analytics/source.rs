//! The topic source: tails every ConsumeQueue of one topic by queue offset and emits each
//! message as a differential update `(Message, round, +1)`.
//!
//! The source reads only what stage (C) has dispatched (through [`MessageStore::get_messages`],
//! the consumers' read path), so it never touches the core thread. Each activation reads up to
//! [`READ_BUDGET`] messages, emits them at the current round and moves to the next round; when
//! the budget ran out it re-activates itself, so a backlog read from the earliest offset is
//! interleaved with attach/detach commands and with other jobs. The runtime activates it when
//! the core's delivery hook reported new messages ([`super::AnalyticsWaker`]).
//!
//! Rounds are per job. What a job computes depends only on the messages it read, never on how
//! they were cut into rounds, so a result equals a batch recomputation over the same messages.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

use bytes::Bytes;
use differential_dataflow::{AsCollection, VecCollection};
use sluice_storage::properties::{self, names};
use sluice_storage::pull::GetMessageStatus;
use sluice_storage::record::{self, CrcCheck};
use sluice_storage::MessageStore;
use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::Scope;
use timely::scheduling::Activator;

/// Messages read per activation of one source, over all its queues.
pub const READ_BUDGET: usize = 8192;

/// One stored message as analytics see it: metadata, and the body only if the job asked for it
/// (never arrange bodies: project keys, tags or sizes first).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Message {
    pub topic: String,
    pub queue_id: u32,
    pub queue_offset: u64,
    pub commitlog_offset: u64,
    pub store_timestamp: i64,
    pub born_timestamp: i64,
    /// The `TAGS` property.
    pub tags: Option<String>,
    /// The `KEYS` property, split on spaces.
    pub keys: Vec<String>,
    pub body_len: u32,
    /// Present when the job was attached with bodies ([`super::Analytic::needs_body`]).
    pub body: Option<Bytes>,
}

impl Message {
    /// Decodes a stored record (as read from the CommitLog); `None` for anything but a message.
    pub fn from_record(buf: &[u8], with_body: bool) -> Option<Message> {
        let r = record::decode_message(buf, CrcCheck::Skip).ok()?;
        Some(Message {
            topic: r.topic.to_owned(),
            queue_id: u32::try_from(r.queue_id).ok()?,
            queue_offset: u64::try_from(r.queue_offset).ok()?,
            commitlog_offset: u64::try_from(r.physical_offset).ok()?,
            store_timestamp: r.store_timestamp,
            born_timestamp: r.born_timestamp,
            tags: r.property(names::TAGS).map(str::to_owned),
            keys: r
                .property(names::KEYS)
                .map(|k| properties::split_keys(k).map(str::to_owned).collect())
                .unwrap_or_default(),
            body_len: r.body.len() as u32,
            body: with_body.then(|| Bytes::copy_from_slice(r.body)),
        })
    }
}

/// Where each queue of a job starts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StartOffsets {
    /// Queue id → first queue offset to read; queues not listed start at their min offset.
    pub queues: BTreeMap<u32, u64>,
}

/// Per-queue cursors of a source and the offsets each round reached (read by the runtime to say
/// how far a job's visible results go).
#[derive(Debug, Default)]
pub struct Progress {
    pub cursors: BTreeMap<u32, u64>,
    /// Round → cursors after it.
    pub rounds: BTreeMap<u64, BTreeMap<u32, u64>>,
    /// Messages the last activation read.
    pub last_read: usize,
}

/// The handles the runtime keeps for a source: how to wake it and how far it read.
#[derive(Clone)]
pub struct SourceHandle {
    pub activator: Rc<RefCell<Option<Activator>>>,
    pub progress: Rc<RefCell<Progress>>,
}

impl SourceHandle {
    pub fn new() -> SourceHandle {
        SourceHandle {
            activator: Rc::new(RefCell::new(None)),
            progress: Rc::new(RefCell::new(Progress::default())),
        }
    }

    /// Schedules the source (on the analytics thread).
    pub fn wake(&self) {
        if let Some(a) = self.activator.borrow().as_ref() {
            a.activate();
        }
    }
}

impl Default for SourceHandle {
    fn default() -> Self {
        SourceHandle::new()
    }
}

/// Builds the source of `topic` in `scope`: a collection of every message from `start` on.
pub fn topic_source<'scope>(
    scope: Scope<'scope, u64>,
    store: Arc<MessageStore>,
    topic: String,
    start: StartOffsets,
    with_body: bool,
    handle: &SourceHandle,
) -> VecCollection<'scope, u64, Message, isize> {
    let activator_slot = handle.activator.clone();
    let progress = handle.progress.clone();
    source(scope, &format!("topic-source {topic}"), move |cap, info| {
        let activator = scope.activator_for(info.address.clone());
        *activator_slot.borrow_mut() = Some(scope.activator_for(info.address.clone()));
        let mut cap = Some(cap);
        move |output| {
            let Some(c) = cap.as_mut() else { return };
            let round = *c.time();
            let mut batch: Vec<(Message, u64, isize)> = Vec::new();
            let mut prog = progress.borrow_mut();
            let exhausted = read_round(&store, &topic, &start, with_body, &mut prog.cursors, &mut batch);
            prog.last_read = batch.len();
            if !batch.is_empty() {
                let cursors = prog.cursors.clone();
                prog.rounds.insert(round, cursors);
                batch.iter_mut().for_each(|u| u.1 = round);
                output.session(c).give_container(&mut batch);
                c.downgrade(&(round + 1));
            }
            if exhausted {
                activator.activate();
            }
        }
    })
    .container::<Vec<(Message, u64, isize)>>()
    .as_collection()
}

/// Reads what is new in every queue of `topic` into `out` (time left 0); true when the budget ran
/// out before the queues' ends.
fn read_round(
    store: &MessageStore,
    topic: &str,
    start: &StartOffsets,
    with_body: bool,
    cursors: &mut BTreeMap<u32, u64>,
    out: &mut Vec<(Message, u64, isize)>,
) -> bool {
    for q in topic_queues(store, topic) {
        let cursor = cursors.entry(q).or_insert_with(|| {
            start
                .queues
                .get(&q)
                .copied()
                .unwrap_or_else(|| store.min_queue_offset(topic, q))
        });
        loop {
            if out.len() >= READ_BUDGET {
                return true;
            }
            let want = (READ_BUDGET - out.len()).min(256);
            let res = store.get_messages(topic, q, *cursor, want, &|_| true);
            match res.status {
                GetMessageStatus::Found | GetMessageStatus::NoMatchedMessage => {
                    for slice in &res.messages {
                        if let Some(m) = Message::from_record(slice, with_body) {
                            out.push((m, 0, 1));
                        }
                    }
                    if res.next_begin_offset <= *cursor {
                        break;
                    }
                    *cursor = res.next_begin_offset;
                }
                // Deleted by retention (a batch over the store would not see them either).
                GetMessageStatus::OffsetTooSmall | GetMessageStatus::OffsetFoundNull => {
                    if res.next_begin_offset <= *cursor {
                        break;
                    }
                    *cursor = res.next_begin_offset;
                }
                GetMessageStatus::MessageWasRemoving => {
                    *cursor += 1;
                }
                _ => break,
            }
        }
    }
    false
}

/// The queue ids of `topic` the store has, ascending.
pub fn topic_queues(store: &MessageStore, topic: &str) -> Vec<u32> {
    let mut queues: Vec<u32> = store
        .queue_ids()
        .into_iter()
        .filter(|(t, _)| t == topic)
        .map(|(_, q)| q)
        .collect();
    queues.sort_unstable();
    queues
}
