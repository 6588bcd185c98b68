//! The six queue-allocation strategies of the Java client (protocol.md §7.2), as pure
//! functions of (current client id, all queues, all client ids). Every consumer of a group
//! computes its own share from the same sorted inputs, so the shares are disjoint and cover
//! every queue.
//!
//! Inputs are expected as the rebalance prepares them: queues sorted by (topic, broker,
//! queue id), client ids sorted. A client that is not in `cid_all` gets nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use md5::{Digest, Md5};
use sluice_remoting::body::MessageQueue;

use crate::error::{ClientError, Result};

/// Tells which machine room a broker's queue and a consumer are in
/// ([`AllocateStrategy::MachineRoomNearby`]). `None` (or empty) is an error, as in Java.
pub trait MachineRoomResolver: Send + Sync {
    /// The room of the broker serving `mq`.
    fn broker_room(&self, mq: &MessageQueue) -> Option<String>;
    /// The room of the consumer `client_id`.
    fn consumer_room(&self, client_id: &str) -> Option<String>;
}

/// How a consumer group's queues are shared among its clients.
#[derive(Clone, Default)]
pub enum AllocateStrategy {
    /// Contiguous blocks, the first `q % n` clients one queue more ("AVG", the default).
    #[default]
    Averagely,
    /// Round-robin: client i gets queues i, i+n, i+2n, … ("AVG_BY_CIRCLE").
    AveragelyByCircle,
    /// A fixed list, whatever the inputs ("CONFIG").
    ByConfig(Vec<MessageQueue>),
    /// Only queues of brokers named `room@name` with `room` in the set, split in blocks
    /// ("MACHINE_ROOM").
    ByMachineRoom(BTreeSet<String>),
    /// A ring of MD5-hashed virtual nodes, `virtual_nodes` per client ("CONSISTENT_HASH",
    /// Java's default 10).
    ConsistentHash {
        /// Virtual nodes per client.
        virtual_nodes: usize,
    },
    /// Queues of a room with live consumers go to that room's consumers; queues of rooms
    /// without consumers are shared by all; `inner` splits each part
    /// (`MACHINE_ROOM_NEARBY-<inner>`).
    MachineRoomNearby {
        /// The strategy applied inside each part.
        inner: Box<AllocateStrategy>,
        /// Where brokers and consumers are.
        resolver: Arc<dyn MachineRoomResolver>,
    },
}

impl fmt::Debug for AllocateStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl AllocateStrategy {
    /// Java's consistent hash with its default 10 virtual nodes per client.
    pub fn consistent_hash() -> Self {
        AllocateStrategy::ConsistentHash { virtual_nodes: 10 }
    }

    /// The Java `getName()`.
    pub fn name(&self) -> String {
        match self {
            AllocateStrategy::Averagely => "AVG".into(),
            AllocateStrategy::AveragelyByCircle => "AVG_BY_CIRCLE".into(),
            AllocateStrategy::ByConfig(_) => "CONFIG".into(),
            AllocateStrategy::ByMachineRoom(_) => "MACHINE_ROOM".into(),
            AllocateStrategy::ConsistentHash { .. } => "CONSISTENT_HASH".into(),
            AllocateStrategy::MachineRoomNearby { inner, .. } => {
                format!("MACHINE_ROOM_NEARBY-{}", inner.name())
            }
        }
    }

    /// The queues of `mq_all` that `current` should consume.
    pub fn allocate(
        &self,
        current: &str,
        mq_all: &[MessageQueue],
        cid_all: &[String],
    ) -> Result<Vec<MessageQueue>> {
        if let AllocateStrategy::ByConfig(list) = self {
            return Ok(list.clone());
        }
        let Some(index) = cid_all.iter().position(|c| c == current) else {
            return Ok(Vec::new());
        };
        if mq_all.is_empty() {
            return Ok(Vec::new());
        }
        Ok(match self {
            AllocateStrategy::Averagely => averagely(index, mq_all, cid_all.len()),
            AllocateStrategy::AveragelyByCircle => by_circle(index, mq_all, cid_all.len()),
            AllocateStrategy::ByConfig(list) => list.clone(),
            AllocateStrategy::ByMachineRoom(rooms) => by_machine_room(index, mq_all, cid_all.len(), rooms),
            AllocateStrategy::ConsistentHash { virtual_nodes } => {
                consistent_hash(current, mq_all, cid_all, *virtual_nodes)
            }
            AllocateStrategy::MachineRoomNearby { inner, resolver } => {
                return machine_room_nearby(inner, resolver.as_ref(), current, mq_all, cid_all)
            }
        })
    }
}

/// Contiguous blocks: with `m = q % n`, client i < m gets `q/n + 1` queues from `i·size`,
/// the others `q/n` from `i·size + m`; with q ≤ n client i gets queue i.
pub fn averagely(index: usize, mq_all: &[MessageQueue], n: usize) -> Vec<MessageQueue> {
    let q = mq_all.len();
    if n == 0 || index >= n {
        return Vec::new();
    }
    let rem = q % n;
    let size = if q <= n {
        1
    } else if index < rem {
        q / n + 1
    } else {
        q / n
    };
    let start = if index < rem {
        index * size
    } else {
        index * size + rem
    };
    let range = size.min(q.saturating_sub(start));
    (0..range)
        .filter_map(|k| mq_all.get(start + k).cloned())
        .collect()
}

/// Round-robin: queues i, i+n, i+2n, ….
pub fn by_circle(index: usize, mq_all: &[MessageQueue], n: usize) -> Vec<MessageQueue> {
    if n == 0 {
        return Vec::new();
    }
    mq_all.iter().skip(index).step_by(n).cloned().collect()
}

/// Keeps queues whose broker name is exactly `room@name` with `room` in `rooms`; with
/// `m = kept / n`, client i takes kept[i·m .. i·m + m) and, if `kept % n > i`, kept[i + m·n].
pub fn by_machine_room(
    index: usize,
    mq_all: &[MessageQueue],
    n: usize,
    rooms: &BTreeSet<String>,
) -> Vec<MessageQueue> {
    if n == 0 {
        return Vec::new();
    }
    let kept: Vec<&MessageQueue> = mq_all
        .iter()
        .filter(|mq| {
            let parts: Vec<&str> = mq.broker_name.split('@').collect();
            // Java's String.split drops trailing empty strings: "room@" is one part.
            let parts: Vec<&str> = match parts.iter().rposition(|p| !p.is_empty()) {
                Some(last) => parts[..=last].to_vec(),
                None => Vec::new(),
            };
            parts.len() == 2 && rooms.contains(parts[0])
        })
        .collect();
    let m = kept.len() / n;
    let rem = kept.len() % n;
    let mut out: Vec<MessageQueue> = kept
        .iter()
        .skip(index * m)
        .take(m)
        .map(|q| (*q).clone())
        .collect();
    if rem > index {
        if let Some(q) = kept.get(index + m * n) {
            out.push((*q).clone());
        }
    }
    out
}

/// The ring hash: the first four MD5 bytes of the UTF-8 key, big-endian, unsigned.
pub fn ring_hash(key: &str) -> u32 {
    let d = Md5::digest(key.as_bytes());
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// Java's `MessageQueue.toString()`, the key a queue is hashed by.
pub fn queue_key(mq: &MessageQueue) -> String {
    format!(
        "MessageQueue [topic={}, brokerName={}, queueId={}]",
        mq.topic, mq.broker_name, mq.queue_id
    )
}

/// Consistent hash: virtual nodes `"<clientId>-<k>"` (later ones win a hash collision, as in a
/// Java TreeMap); a queue belongs to the first node with hash ≥ its own, wrapping around.
pub fn consistent_hash(
    current: &str,
    mq_all: &[MessageQueue],
    cid_all: &[String],
    virtual_nodes: usize,
) -> Vec<MessageQueue> {
    let mut ring: BTreeMap<u32, &str> = BTreeMap::new();
    for cid in cid_all {
        for k in 0..virtual_nodes {
            ring.insert(ring_hash(&format!("{cid}-{k}")), cid.as_str());
        }
    }
    mq_all
        .iter()
        .filter(|mq| {
            let h = ring_hash(&queue_key(mq));
            let owner = ring
                .range(h..)
                .next()
                .or_else(|| ring.iter().next())
                .map(|(_, c)| *c);
            owner == Some(current)
        })
        .cloned()
        .collect()
}

/// Machine room nearby: the current room's queues split by `inner` among that room's
/// consumers; then, room by room in name order, queues of rooms without any consumer split by
/// `inner` among all consumers.
pub fn machine_room_nearby(
    inner: &AllocateStrategy,
    resolver: &dyn MachineRoomResolver,
    current: &str,
    mq_all: &[MessageQueue],
    cid_all: &[String],
) -> Result<Vec<MessageQueue>> {
    let room_of = |r: Option<String>, what: &str| {
        r.filter(|s| !s.is_empty())
            .ok_or_else(|| ClientError::InvalidArgument(format!("machine room is unknown for {what}")))
    };
    let mut queues_by_room: BTreeMap<String, Vec<MessageQueue>> = BTreeMap::new();
    for mq in mq_all {
        let room = room_of(resolver.broker_room(mq), &queue_key(mq))?;
        queues_by_room.entry(room).or_default().push(mq.clone());
    }
    let mut clients_by_room: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for cid in cid_all {
        let room = room_of(resolver.consumer_room(cid), cid)?;
        clients_by_room.entry(room).or_default().push(cid.clone());
    }
    let mine = room_of(resolver.consumer_room(current), current)?;
    let mut out = Vec::new();
    if let Some(queues) = queues_by_room.remove(&mine) {
        let clients = clients_by_room.get(&mine).cloned().unwrap_or_default();
        out.extend(inner.allocate(current, &queues, &clients)?);
    }
    for (room, queues) in &queues_by_room {
        if !clients_by_room.contains_key(room) {
            out.extend(inner.allocate(current, queues, cid_all)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues(spec: &[(&str, i32)]) -> Vec<MessageQueue> {
        let mut v: Vec<MessageQueue> = spec
            .iter()
            .flat_map(|(b, n)| (0..*n).map(move |q| MessageQueue::new("T", *b, q)))
            .collect();
        v.sort();
        v
    }

    fn cids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("c{i}")).collect()
    }

    /// Each client's share as indexes into `mq_all`.
    fn table(s: &AllocateStrategy, mq_all: &[MessageQueue], cid_all: &[String]) -> Vec<Vec<usize>> {
        cid_all
            .iter()
            .map(|c| {
                s.allocate(c, mq_all, cid_all)
                    .unwrap()
                    .iter()
                    .map(|q| mq_all.iter().position(|x| x == q).unwrap())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn averagely_matches_java() {
        let s = AllocateStrategy::Averagely;
        let mq8 = queues(&[("b", 8)]);
        assert_eq!(
            table(&s, &mq8, &cids(3)),
            [vec![0, 1, 2], vec![3, 4, 5], vec![6, 7]]
        );
        assert_eq!(table(&s, &mq8, &cids(2)), [vec![0, 1, 2, 3], vec![4, 5, 6, 7]]);
        let mq10 = queues(&[("b", 10)]);
        assert_eq!(
            table(&s, &mq10, &cids(4)),
            [vec![0, 1, 2], vec![3, 4, 5], vec![6, 7], vec![8, 9]]
        );
        let mq3 = queues(&[("b", 3)]);
        assert_eq!(
            table(&s, &mq3, &cids(5)),
            [vec![0], vec![1], vec![2], vec![], vec![]]
        );
        assert!(s.allocate("stranger", &mq8, &cids(3)).unwrap().is_empty());
        assert!(s.allocate("c0", &[], &cids(3)).unwrap().is_empty());
    }

    #[test]
    fn by_circle_matches_java() {
        let s = AllocateStrategy::AveragelyByCircle;
        let mq8 = queues(&[("b", 8)]);
        assert_eq!(
            table(&s, &mq8, &cids(3)),
            [vec![0, 3, 6], vec![1, 4, 7], vec![2, 5]]
        );
        let mq2 = queues(&[("b", 2)]);
        assert_eq!(table(&s, &mq2, &cids(3)), [vec![0], vec![1], vec![]]);
    }

    #[test]
    fn by_config_ignores_inputs() {
        let fixed = vec![MessageQueue::new("X", "b", 7)];
        let s = AllocateStrategy::ByConfig(fixed.clone());
        assert_eq!(
            s.allocate("anyone", &queues(&[("b", 4)]), &cids(2)).unwrap(),
            fixed
        );
        assert_eq!(s.name(), "CONFIG");
    }

    #[test]
    fn by_machine_room_matches_java() {
        // Sorted: hz@a 0..3 (0-2), hz@b 0..2 (3-4), plain 0 (5), sh@c 0..2 (6-7).
        // Kept (hz only): indexes 0-4.
        let mq = queues(&[("hz@a", 3), ("hz@b", 2), ("sh@c", 2), ("plain", 1)]);
        let s = AllocateStrategy::ByMachineRoom(["hz".to_owned()].into());
        // m = 5 / 2 = 2, rem = 1: c0 → kept[0,1] + kept[4]; c1 → kept[2,3].
        assert_eq!(table(&s, &mq, &cids(2)), [vec![0, 1, 4], vec![2, 3]]);
        // m = 1, rem = 2: c0 → kept[0] + kept[3]; c1 → kept[1] + kept[4]; c2 → kept[2].
        assert_eq!(table(&s, &mq, &cids(3)), [vec![0, 3], vec![1, 4], vec![2]]);
        let both = AllocateStrategy::ByMachineRoom(["hz".to_owned(), "sh".to_owned()].into());
        // Kept (hz and sh): 0-4, 6, 7; one each for 7 clients.
        assert_eq!(table(&both, &mq, &cids(7))[5..], [vec![6], vec![7]]);
        assert_eq!(table(&both, &mq, &cids(1)), [vec![0, 1, 2, 3, 4, 6, 7]]);
    }

    /// Expected owners computed independently (Python hashlib) for 3 clients × 10 virtual
    /// nodes and queues T/broker-a/0..3, T/broker-b/0..3.
    #[test]
    fn consistent_hash_matches_java() {
        assert_eq!(ring_hash("10.0.0.1@a-0"), 395_373_794);
        assert_eq!(
            queue_key(&MessageQueue::new("T", "broker-a", 2)),
            "MessageQueue [topic=T, brokerName=broker-a, queueId=2]"
        );
        assert_eq!(
            ring_hash(&queue_key(&MessageQueue::new("T", "broker-a", 2))),
            5_127_707
        );
        let mq = queues(&[("broker-a", 4), ("broker-b", 4)]);
        let cid_all: Vec<String> = ["10.0.0.1@a", "10.0.0.2@b", "10.0.0.3@c"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let s = AllocateStrategy::consistent_hash();
        assert_eq!(
            table(&s, &mq, &cid_all),
            [vec![1, 5], vec![0, 2], vec![3, 4, 6, 7]]
        );
        assert_eq!(s.name(), "CONSISTENT_HASH");
    }

    struct Rooms;

    impl MachineRoomResolver for Rooms {
        fn broker_room(&self, mq: &MessageQueue) -> Option<String> {
            mq.broker_name.split('-').next().map(str::to_owned)
        }
        fn consumer_room(&self, client_id: &str) -> Option<String> {
            client_id.split('-').next().map(str::to_owned)
        }
    }

    #[test]
    fn machine_room_nearby_matches_java() {
        // Rooms: hz (2 queues, consumers hz-1, hz-2), sh (2 queues, consumer sh-1),
        // bj (3 queues, no consumer → shared by all three).
        let mq = queues(&[("bj-x", 3), ("hz-x", 2), ("sh-x", 2)]);
        let cid_all: Vec<String> = ["hz-1", "hz-2", "sh-1"].iter().map(|s| s.to_string()).collect();
        let s = AllocateStrategy::MachineRoomNearby {
            inner: Box::new(AllocateStrategy::Averagely),
            resolver: Arc::new(Rooms),
        };
        // sorted: bj-x 0,1,2 (0..3), hz-x 0,1 (3,4), sh-x 0,1 (5,6)
        assert_eq!(table(&s, &mq, &cid_all), [vec![3, 0], vec![4, 1], vec![5, 6, 2]]);
        assert_eq!(s.name(), "MACHINE_ROOM_NEARBY-AVG");
        let lost = AllocateStrategy::MachineRoomNearby {
            inner: Box::new(AllocateStrategy::Averagely),
            resolver: Arc::new(Rooms),
        };
        assert!(lost.allocate("hz-1", &mq, &["hz-1".into(), "".into()]).is_err());
    }

    #[test]
    fn shares_cover_every_queue_once() {
        let mq = queues(&[("a", 7), ("b", 5)]);
        for s in [
            AllocateStrategy::Averagely,
            AllocateStrategy::AveragelyByCircle,
            AllocateStrategy::consistent_hash(),
        ] {
            for n in 1..6 {
                let mut all: Vec<usize> = table(&s, &mq, &cids(n)).concat();
                all.sort();
                assert_eq!(all, (0..mq.len()).collect::<Vec<_>>(), "{} with {n}", s.name());
            }
        }
    }
}
