//! Crash test: a real child process appends in SYNC_FLUSH and prints every record once the flusher
//! reports it durable; the parent kills it with SIGKILL at random moments, reopens the store and
//! checks that every record ever reported durable is readable with its queue offset, then lets the
//! next child continue appending. The child is this test binary re-run with `crash_child`.

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use sluice_storage::record::{self, CrcCheck};
use sluice_storage::{FlushDiskType, MessageStore, MessageToStore, StoreConfig};

const KILLS: usize = 24;
const TOPICS: [&str; 2] = ["orders", "payments"];

fn config(dir: &std::path::Path) -> StoreConfig {
    let mut c = StoreConfig {
        store_path_root_dir: dir.to_path_buf(),
        flush_disk_type: FlushDiskType::SyncFlush,
        ..StoreConfig::default()
    };
    c.set("mappedFileSizeCommitLog", "65536").unwrap();
    c.set("mappedFileSizeConsumeQueue", "640").unwrap();
    c.set("maxHashSlotNum", "64").unwrap();
    c.set("maxIndexNum", "256").unwrap();
    c.set("flushIntervalConsumeQueue", "50").unwrap();
    c
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What the child printed for one durable record.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Durable {
    topic: String,
    queue: u32,
    queue_offset: u64,
    phys: u64,
    size: u32,
    seq: u64,
}

fn parse(line: &str) -> Option<Durable> {
    let mut it = line.strip_prefix("D ")?.split(' ');
    Some(Durable {
        topic: it.next()?.to_owned(),
        queue: it.next()?.parse().ok()?,
        queue_offset: it.next()?.parse().ok()?,
        phys: it.next()?.parse().ok()?,
        size: it.next()?.parse().ok()?,
        seq: it.next()?.parse().ok()?,
    })
}

/// The child: appends until killed. Does nothing unless started by the parent.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var("SLUICE_CRASH_DIR") else {
        return;
    };
    let mut seq: u64 = std::env::var("SLUICE_CRASH_SEQ").unwrap().parse().unwrap();
    let mut rng = Rng(seq.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let store = MessageStore::open(config(std::path::Path::new(&dir))).unwrap();
    let mut out = std::io::stdout().lock();
    let mut pending: VecDeque<(u64, Vec<String>)> = VecDeque::new();
    loop {
        let mut units = Vec::new();
        for _ in 0..1 + rng.below(24) {
            let topic = TOPICS[rng.below(2) as usize];
            let queue = rng.below(4) as u32;
            let n = if rng.below(5) == 0 { 2 + rng.below(3) } else { 1 };
            let unit: Vec<MessageToStore> = (0..n)
                .map(|_| {
                    seq += 1;
                    let mut body = format!("seq-{seq}-").into_bytes();
                    body.resize(body.len() + rng.below(1500) as usize, b'z');
                    MessageToStore {
                        topic: topic.into(),
                        queue_id: queue,
                        flag: 0,
                        sys_flag: 0,
                        born_timestamp: seq as i64,
                        born_host: "127.0.0.1:9".parse().unwrap(),
                        reconsume_times: 0,
                        prepared_transaction_offset: 0,
                        body: Bytes::from(body),
                        properties: format!("KEYS\u{1}key{seq}\u{2}UNIQ_KEY\u{1}seq{seq}\u{2}"),
                    }
                })
                .collect();
            units.push(unit);
        }
        let res = store.append(&units).unwrap();
        let mut lines = Vec::new();
        for (unit, r) in units.iter().zip(res.units) {
            for (m, a) in unit.iter().zip(r.unwrap()) {
                lines.push(format!(
                    "D {} {} {} {} {} {}",
                    m.topic, m.queue_id, a.queue_offset, a.phys_offset, a.size, m.born_timestamp
                ));
            }
        }
        store.dispatch_to(res.end_offset).unwrap();
        // Hand the group to the flusher and keep appending while it syncs.
        store.flusher().request(res.end_offset);
        pending.push_back((res.end_offset, lines));
        if pending.len() > 4 {
            let oldest = pending.front().map(|p| p.0).unwrap_or(0);
            store
                .flusher()
                .wait_durable(oldest, Duration::from_secs(10))
                .unwrap();
        }
        let durable = store.flusher().durable_offset();
        while pending.front().is_some_and(|p| p.0 <= durable) {
            for l in pending.pop_front().unwrap().1 {
                writeln!(out, "{l}").unwrap();
            }
            out.flush().unwrap();
        }
    }
}

fn verify(store: &MessageStore, all: &[Durable]) {
    for d in all {
        let cq = store
            .consume_queue(&d.topic, d.queue)
            .unwrap_or_else(|| panic!("queue {}/{} lost", d.topic, d.queue));
        let unit = cq
            .get(d.queue_offset)
            .unwrap_or_else(|| panic!("{d:?}: queue offset lost (max {})", cq.max_offset()));
        assert_eq!(
            (unit.phys_offset as u64, unit.size as u32),
            (d.phys, d.size),
            "{d:?}"
        );
        let slice = store.commitlog().read(d.phys, d.size as usize).unwrap();
        let r = record::decode_message(&slice, CrcCheck::Verify).unwrap();
        assert_eq!(
            (r.topic, r.queue_id as u32, r.queue_offset as u64),
            (d.topic.as_str(), d.queue, d.queue_offset)
        );
        assert!(r.body.starts_with(format!("seq-{}-", d.seq).as_bytes()), "{d:?}");
    }
}

#[test]
fn kill9_loses_no_durable_record() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut all: Vec<Durable> = Vec::new();
    let mut next_seq = 0u64;
    let mut rng = Rng(0xC0FF_EE12_3456_789B);
    let started = Instant::now();
    for round in 0..KILLS {
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env("SLUICE_CRASH_DIR", dir.path())
            .env("SLUICE_CRASH_SEQ", next_seq.to_string())
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            let mut got = Vec::new();
            let mut line = String::new();
            // Only complete lines count: a line cut by the kill was never fully reported.
            while r.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                if line.ends_with('\n') {
                    if let Some(d) = parse(line.trim_end()) {
                        got.push(d);
                    }
                }
                line.clear();
            }
            got
        });
        // Kill at a random moment: some rounds during start-up, most mid-stream.
        std::thread::sleep(Duration::from_millis(30 + rng.below(400)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let got = reader.join().unwrap();
        if let Some(max) = got.iter().map(|d| d.seq).max() {
            next_seq = next_seq.max(max);
        }
        // Sequence numbers printed but lost to the kill are skipped by the next child.
        next_seq += 10_000;
        all.extend(got);

        let store = MessageStore::open(config(dir.path())).unwrap();
        assert!(
            store.open_report().unclean,
            "round {round}: the kill must look like a crash"
        );
        verify(&store, &all);
        // Appends continue after recovery, past every durable queue offset.
        let mut per_queue: BTreeMap<(String, u32), u64> = BTreeMap::new();
        for d in &all {
            let e = per_queue.entry((d.topic.clone(), d.queue)).or_default();
            *e = (*e).max(d.queue_offset + 1);
        }
        for ((topic, queue), next) in per_queue {
            assert!(store.max_queue_offset(&topic, queue) >= next);
        }
        store.close().unwrap();
    }
    let store = MessageStore::open(config(dir.path())).unwrap();
    assert!(!store.open_report().unclean);
    verify(&store, &all);
    println!(
        "survived {KILLS} SIGKILLs; {} durable records verified; CommitLog end {} in {:?}",
        all.len(),
        store.commitlog().write_pos(),
        started.elapsed()
    );
    assert!(all.len() > 1000, "the children should have made progress");
}
