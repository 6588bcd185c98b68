//! The store's ConsumeQueues: the (topic, queue id) map, loaded from `consumequeue/` at open,
//! grown by dispatch, read by pulls and trimmed by topic deletion.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use super::MessageStore;
use crate::consume_queue::ConsumeQueue;
use crate::error::{io_err, StoreError};

pub(super) type QueueMap = HashMap<String, HashMap<u32, Arc<ConsumeQueue>>>;

/// Opens every ConsumeQueue found under `cq_root` (`<topic>/<queue id>/`); entries whose names
/// are not a topic and a queue id are passed over.
pub(super) fn load_queues(cq_root: &Path, units_per_file: u64) -> Result<QueueMap, StoreError> {
    let mut queues: QueueMap = HashMap::new();
    if let Ok(topics) = std::fs::read_dir(cq_root) {
        for t in topics.flatten() {
            let Some(topic) = t.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            let Ok(qs) = std::fs::read_dir(t.path()) else {
                continue;
            };
            for q in qs.flatten() {
                let Some(qid) = q.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                    continue;
                };
                let cq = ConsumeQueue::open(cq_root, &topic, qid, units_per_file)?;
                queues.entry(topic.clone()).or_default().insert(qid, Arc::new(cq));
            }
        }
    }
    Ok(queues)
}

impl MessageStore {
    /// The queue of (topic, queue id) if it exists.
    pub fn consume_queue(&self, topic: &str, queue_id: u32) -> Option<Arc<ConsumeQueue>> {
        self.queues.read().ok()?.get(topic)?.get(&queue_id).cloned()
    }

    /// Every (topic, queue id) with a ConsumeQueue.
    pub fn queue_ids(&self) -> Vec<(String, u32)> {
        let Ok(q) = self.queues.read() else {
            return Vec::new();
        };
        let mut out: Vec<_> = q
            .iter()
            .flat_map(|(t, m)| m.keys().map(move |qid| (t.clone(), *qid)))
            .collect();
        out.sort();
        out
    }

    pub(super) fn queue_or_create(
        &self,
        topic: &str,
        queue_id: u32,
    ) -> Result<Arc<ConsumeQueue>, StoreError> {
        if let Some(q) = self.consume_queue(topic, queue_id) {
            return Ok(q);
        }
        let mut queues = self.queues.write().map_err(|_| StoreError::Closed)?;
        Self::queue_in(
            &self.root.join("consumequeue"),
            self.config.consume_queue_units_per_file(),
            &mut queues,
            topic,
            queue_id,
        )
    }

    pub(super) fn queue_in(
        cq_root: &Path,
        units_per_file: u64,
        queues: &mut QueueMap,
        topic: &str,
        queue_id: u32,
    ) -> Result<Arc<ConsumeQueue>, StoreError> {
        if let Some(q) = queues.get(topic).and_then(|m| m.get(&queue_id)) {
            return Ok(q.clone());
        }
        let cq = Arc::new(ConsumeQueue::open(cq_root, topic, queue_id, units_per_file)?);
        queues
            .entry(topic.to_owned())
            .or_default()
            .insert(queue_id, cq.clone());
        Ok(cq)
    }

    /// The next queue offset of (topic, queue): its ConsumeQueue's max offset once dispatched.
    pub fn max_queue_offset(&self, topic: &str, queue_id: u32) -> u64 {
        self.consume_queue(topic, queue_id)
            .map(|q| q.max_offset())
            .unwrap_or(0)
    }

    /// The first queue offset still readable.
    pub fn min_queue_offset(&self, topic: &str, queue_id: u32) -> u64 {
        self.consume_queue(topic, queue_id)
            .map(|q| q.min_offset())
            .unwrap_or(0)
    }

    /// Deletes a topic's ConsumeQueues (its records stay in the CommitLog until retention).
    pub fn delete_topic(&self, topic: &str) -> Result<(), StoreError> {
        let mut offsets = self.queue_offsets.lock().map_err(|_| StoreError::Closed)?;
        let removed = self.queues.write().map_err(|_| StoreError::Closed)?.remove(topic);
        offsets.remove(topic);
        if let Some(qs) = removed {
            for q in qs.values() {
                q.destroy()?;
            }
        }
        let dir = self.root.join("consumequeue").join(topic);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(format!("removing {}", dir.display()))(e)),
        }
    }
}
