//! Column family `consumer_offsets`: the committed offset of each (group, topic, queue), keyed
//! `group \0 topic \0 queue-id(u32 BE)` so a group's offsets are one key range; values are u64 BE.

use rocksdb::{Direction, IteratorMode, WriteBatch};

use super::{u64_value, MetaStore};
use crate::error::StoreError;

pub const CF_CONSUMER_OFFSETS: &str = "consumer_offsets";

fn offset_key(group: &str, topic: &str, queue_id: u32) -> Vec<u8> {
    let mut k = Vec::with_capacity(group.len() + topic.len() + 6);
    k.extend_from_slice(group.as_bytes());
    k.push(0);
    k.extend_from_slice(topic.as_bytes());
    k.push(0);
    k.extend_from_slice(&queue_id.to_be_bytes());
    k
}

impl MetaStore {
    /// Commits `offset` (the next offset to consume) for (group, topic, queue).
    pub fn put_consumer_offset(
        &self,
        group: &str,
        topic: &str,
        queue_id: u32,
        offset: u64,
    ) -> Result<(), StoreError> {
        self.put_u64(CF_CONSUMER_OFFSETS, &offset_key(group, topic, queue_id), offset)
    }

    /// The committed offset of (group, topic, queue), if any.
    pub fn consumer_offset(
        &self,
        group: &str,
        topic: &str,
        queue_id: u32,
    ) -> Result<Option<u64>, StoreError> {
        self.get_u64(
            CF_CONSUMER_OFFSETS,
            &offset_key(group, topic, queue_id),
            "consumer offset",
        )
    }

    /// Every committed offset of `group`: (topic, queue id, offset).
    pub fn consumer_offsets_of_group(&self, group: &str) -> Result<Vec<(String, u32, u64)>, StoreError> {
        let mut prefix = group.as_bytes().to_vec();
        prefix.push(0);
        let mut out = Vec::new();
        let iter = self.db.iterator_cf(
            self.cf(CF_CONSUMER_OFFSETS)?,
            IteratorMode::From(&prefix, Direction::Forward),
        );
        for item in iter {
            let (k, v) = item?;
            let Some(rest) = k.strip_prefix(prefix.as_slice()) else {
                break;
            };
            if rest.len() < 5 || rest[rest.len() - 5] != 0 {
                continue;
            }
            let topic = String::from_utf8_lossy(&rest[..rest.len() - 5]).into_owned();
            let mut q = [0u8; 4];
            q.copy_from_slice(&rest[rest.len() - 4..]);
            out.push((topic, u32::from_be_bytes(q), u64_value("consumer offset", &v)?));
        }
        Ok(out)
    }

    /// Every committed offset: (group, topic, queue id, offset) — what a slave copies.
    pub fn all_consumer_offsets(&self) -> Result<Vec<(String, String, u32, u64)>, StoreError> {
        let mut out = Vec::new();
        for item in self
            .db
            .iterator_cf(self.cf(CF_CONSUMER_OFFSETS)?, IteratorMode::Start)
        {
            let (k, v) = item?;
            if k.len() < 6 || k[k.len() - 5] != 0 {
                continue;
            }
            let (names, q) = k.split_at(k.len() - 5);
            let Some(sep) = names.iter().position(|&b| b == 0) else {
                continue;
            };
            let group = String::from_utf8_lossy(&names[..sep]).into_owned();
            let topic = String::from_utf8_lossy(&names[sep + 1..]).into_owned();
            let mut qb = [0u8; 4];
            qb.copy_from_slice(&q[1..]);
            out.push((
                group,
                topic,
                u32::from_be_bytes(qb),
                u64_value("consumer offset", &v)?,
            ));
        }
        Ok(out)
    }

    /// Forgets every offset of `group` (optionally only for `topic`).
    pub fn delete_consumer_offsets(&self, group: &str, topic: Option<&str>) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        let cf = self.cf(CF_CONSUMER_OFFSETS)?;
        for (t, q, _) in self.consumer_offsets_of_group(group)? {
            if topic.is_none_or(|x| x == t) {
                batch.delete_cf(cf, offset_key(group, &t, q));
            }
        }
        self.db.write(batch)?;
        Ok(())
    }
}
