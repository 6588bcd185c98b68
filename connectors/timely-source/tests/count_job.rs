//! The example job against the real broker: one process and two processes in timely's cluster
//! mode count the same tags, equal to what was produced, and commit every queue to its end.

use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sluice_client::{ClientConfig, Message, Producer, ProducerConfig, PullConsumer};

const JOB: &str = env!("CARGO_BIN_EXE_sluice-timely-count");

/// A free loopback port (for timely's cluster mode).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// An in-process `sluice standalone` on free loopback ports, stopped when dropped.
fn start_broker() -> (sluice::standalone::Embedded, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut broker, mut namesrv) = sluice::standalone::defaults(dir.path());
    broker.listen_port = 0;
    namesrv.listen_port = 0;
    let embedded = sluice::standalone::Embedded::start(broker, namesrv).expect("broker starts");
    // Registration with the in-process NameServer.
    std::thread::sleep(Duration::from_millis(500));
    (embedded, dir)
}

fn spawn_job(namesrv: &str, topic: &str, group: &str, timely: &[String]) -> Child {
    Command::new(JOB)
        .args([
            "--namesrv",
            namesrv,
            "--topic",
            topic,
            "--group",
            group,
            "--idle",
            "2",
            "--",
        ])
        .args(timely)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn job")
}

/// Waits for the job (60 s at most) and returns the counts it printed.
fn finish(mut child: Child) -> Option<BTreeMap<String, u64>> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "job failed: {status}");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("job did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut out = String::new();
    child.stdout.take()?.read_to_string(&mut out).expect("stdout");
    let line = out.lines().find_map(|l| l.strip_prefix("counts "))?;
    Some(serde_json::from_str(line).expect("counts json"))
}

#[test]
fn count_per_tag_is_the_same_on_one_and_two_processes_and_offsets_are_committed() {
    let (broker, _dir) = start_broker();
    let namesrv = broker.namesrv_addr().to_string();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let topic = "TimelySourceTopic";
    let tags = ["A", "B", "C", "D", "E"];
    let n = 300usize;
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    let client = ClientConfig::new([namesrv.clone()]);
    let (consumer1, consumer2, queues) = rt.block_on(async {
        let producer = Producer::new(client.clone(), ProducerConfig::new("timely-pg")).expect("producer");
        for i in 0..n {
            let tag = tags[(i * 7 + i / 3) % tags.len()];
            let mut m = Message::new(topic, format!("m-{i}")).with_tags(tag);
            producer.send(&mut m).await.expect("send");
            *expected.entry(tag.to_owned()).or_default() += 1;
        }
        producer.shutdown().await;
        let c1 = PullConsumer::new(client.clone(), "timely-one").expect("consumer");
        let c2 = PullConsumer::new(client.clone(), "timely-two").expect("consumer");
        let queues = c1.queues(topic).await.expect("queues");
        (c1, c2, queues)
    });
    let maxes: Vec<i64> = rt.block_on(async {
        let mut v = Vec::new();
        for q in &queues {
            v.push(c1_max(&consumer1, q).await);
        }
        v
    });
    assert!(
        maxes.iter().filter(|m| **m > 0).count() >= 4,
        "messages over 4+ queues: {maxes:?}"
    );
    assert_eq!(maxes.iter().sum::<i64>(), n as i64);

    let one = finish(spawn_job(
        &namesrv,
        topic,
        "timely-one",
        &["-w".into(), "1".into()],
    ));

    let dir = tempfile::tempdir().expect("tempdir");
    let hosts = dir.path().join("hosts.txt");
    let (p0, mut p1) = (free_port(), free_port());
    while p1 == p0 {
        p1 = free_port();
    }
    std::fs::write(&hosts, format!("127.0.0.1:{p0}\n127.0.0.1:{p1}\n")).expect("hostfile");
    let cluster = |p: usize| -> Vec<String> {
        [
            "-w",
            "1",
            "-n",
            "2",
            "-p",
            &p.to_string(),
            "-h",
            &hosts.display().to_string(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let a = spawn_job(&namesrv, topic, "timely-two", &cluster(0));
    let b = spawn_job(&namesrv, topic, "timely-two", &cluster(1));
    let two = finish(a);
    let _ = finish(b);

    assert_eq!(one.as_ref(), Some(&expected), "1 process");
    assert_eq!(two.as_ref(), Some(&expected), "2 processes");

    rt.block_on(async {
        for (q, max) in queues.iter().zip(&maxes) {
            for c in [&consumer1, &consumer2] {
                let committed = c.fetch_offset(q).await.expect("fetch offset");
                if *max > 0 {
                    assert_eq!(committed, Some(*max), "{} queue {}", c.group(), q.queue_id);
                }
            }
        }
        consumer1.shutdown().await;
        consumer2.shutdown().await;
    });
}

async fn c1_max(c: &PullConsumer, q: &sluice_client::MessageQueue) -> i64 {
    c.max_offset(q).await.expect("max offset")
}
