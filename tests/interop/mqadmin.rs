//! Apache RocketMQ's admin tool, `mqadmin` (`org.apache.rocketmq:rocketmq-tools` 4.9.8,
//! `MQAdminStartup`, installed with the Java broker by `scripts/rocketmq-reference.sh`), runs one
//! operator session of ~40 commands against `sluice standalone`, then the same session against
//! Apache RocketMQ's own NameServer and broker (4.9.7) for comparison. Every command's output is
//! checked for what it must show (a table row, a value, a success line); the table of both runs
//! is printed (and written to `$SLUICE_MQADMIN_TABLE` when set). `tests/interop/mqadmin.md`
//! holds that table and what cannot work yet.
//!
//! mqadmin 4.9.8 exits 0 even when a command fails (it prints the exception), so exit codes say
//! little; the checks read the output.
//!
//! `SLUICE_MQADMIN_JAVA=skip` leaves out the Java broker's run.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use sluice_remoting::body::enums::{ConsumeFromWhere, ConsumeType, MessageModel};
use sluice_remoting::body::heartbeat::{ConsumerData, HeartbeatData, ProducerData, SubscriptionData};
use sluice_remoting::body::JsonBody;
use sluice_remoting::codes::{request, response};
use sluice_remoting::net::connect::refuse_requests;
use sluice_remoting::net::{connect, Connection};
use sluice_remoting::{DecoderLimits, RemotingCommand};

use crate::harness::{self, Broker};

const TOPIC: &str = "MqAdminT";
const GROUP: &str = "MqAdminG";
const GROUP2: &str = "MqAdminG2";
const PGROUP: &str = "MqAdminPG";
const CLIENT_ID: &str = "127.0.0.1@mqadmin-interop";
const CLUSTER: &str = "DefaultCluster";
const BROKER_NAME: &str = "broker-a";
const T: Duration = Duration::from_secs(10);
/// Java brokers refuse sends once the store's disk is 90 % full (a system property, not a
/// broker.conf key); build machines run fuller than that at times.
pub const DISK_GUARD: &str = "-Drocketmq.broker.diskSpaceWarningLevelRatio=0.98 \
                          -Drocketmq.broker.diskSpaceCleanForciblyRatio=0.97";

// ---------------------------------------------------------------------------------------------
// The tool and the Java broker

/// The folder `scripts/rocketmq-reference.sh 4` installs (bin/mqadmin, bin/namesrv, bin/broker).
pub fn rocketmq_home() -> Result<PathBuf, String> {
    static HOME: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    HOME.get_or_init(|| reference_home("4")).clone()
}

/// The folder `scripts/rocketmq-reference.sh 5` installs (the 5.3 line: controller mode).
pub fn rocketmq5_home() -> Result<PathBuf, String> {
    static HOME: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    HOME.get_or_init(|| reference_home("5")).clone()
}

/// The folder with rocketmq-rust 1.0's `rocketmq-namesrv-rust` and `rocketmq-broker-rust`
/// (`bench/reference/rocketmq-rust.sh` builds them on first use: ~20 CPU-minutes cold).
pub fn rocketmq_rust_bin() -> Result<PathBuf, String> {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BIN.get_or_init(|| {
        let (_, out) = run_script("bench/reference/rocketmq-rust.sh", &[])?;
        let dir = PathBuf::from(out.trim());
        if dir.join("rocketmq-broker-rust").is_file() {
            Ok(dir)
        } else {
            Err(format!(
                "rocketmq-rust.sh printed {dir:?}, which has no rocketmq-broker-rust"
            ))
        }
    })
    .clone()
}

/// Runs the repository's script `rel` with `args` (its stderr passed through); returns its
/// path and standard output, or why it failed.
fn run_script(rel: &str, args: &[&str]) -> Result<(PathBuf, String), String> {
    let root = PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
    );
    let script = root.join(rel);
    let out = Command::new("bash")
        .arg(&script)
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("running {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!("{} failed ({})", script.display(), out.status));
    }
    Ok((script, String::from_utf8_lossy(&out.stdout).into_owned()))
}

fn reference_home(line: &str) -> Result<PathBuf, String> {
    let (script, out) = run_script("scripts/rocketmq-reference.sh", &[line])?;
    let key = format!("ROCKETMQ_JAVA_{line}=");
    out.lines()
        .find_map(|l| l.strip_prefix(key.as_str()))
        .map(|d| PathBuf::from(d.trim()))
        .ok_or_else(|| format!("{} printed no {key}", script.display()))
}

/// What one mqadmin run printed (stdout and stderr together) and how it ended.
pub struct Out {
    pub text: String,
    /// The exit code; `None` when it was stopped at the time limit.
    pub code: Option<i32>,
}

pub fn run_bounded(mut cmd: Command, log: &Path, limit: Duration) -> Out {
    let spawned =
        File::create(log).and_then(|f| cmd.stdin(Stdio::null()).stdout(f.try_clone()?).stderr(f).spawn());
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            return Out {
                text: format!("cannot start {cmd:?}: {e}"),
                code: Some(-1),
            }
        }
    };
    let deadline = Instant::now() + limit;
    let code = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s.code(),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    Out {
        text: fs::read_to_string(log).unwrap_or_default(),
        code,
    }
}

/// Apache RocketMQ's NameServer and broker on free loopback ports, killed on drop.
struct JavaBroker {
    children: Vec<Child>,
    namesrv: String,
    addr: String,
    dir: PathBuf,
}

impl JavaBroker {
    fn start(home: &Path, dir: &Path) -> Result<JavaBroker, String> {
        let (np, bp) = (harness::free_port(), harness::free_port());
        fs::create_dir_all(dir.join("store")).map_err(|e| e.to_string())?;
        let d = dir.display();
        let write = |name: &str, text: String| fs::write(dir.join(name), text).map_err(|e| e.to_string());
        write(
            "namesrv.properties",
            format!("listenPort={np}\nkvConfigPath={d}/namesrv/kvConfig.json\n"),
        )?;
        write(
            "broker.conf",
            format!(
                "brokerClusterName={CLUSTER}\nbrokerName={BROKER_NAME}\nbrokerId=0\nbrokerIP1=127.0.0.1\n\
                 namesrvAddr=127.0.0.1:{np}\nlistenPort={bp}\nhaListenPort={}\nstorePathRootDir={d}/store\n\
                 storePathCommitLog={d}/store/commitlog\nautoCreateTopicEnable=true\n\
                 mappedFileSizeCommitLog=67108864\nmaxHashSlotNum=50000\nmaxIndexNum=200000\n\
                 diskMaxUsedSpaceRatio=95\n",
                bp + 1
            ),
        )?;
        let mut jb = JavaBroker {
            children: Vec::new(),
            namesrv: format!("127.0.0.1:{np}"),
            addr: format!("127.0.0.1:{bp}"),
            dir: dir.to_owned(),
        };
        for (exe, conf, port) in [
            ("namesrv", "namesrv.properties", np),
            ("broker", "broker.conf", bp),
        ] {
            let log = dir.join(format!("{exe}.out"));
            let child = File::create(&log)
                .and_then(|f| {
                    Command::new(home.join("bin").join(exe))
                        .arg("-c")
                        .arg(dir.join(conf))
                        .current_dir(dir)
                        .env("ROCKETMQ_LOG_DIR", dir.join("logs"))
                        .env("ROCKETMQ_USER_HOME", dir)
                        .env("JAVA_OPTS_EXTRA", DISK_GUARD)
                        .stdin(Stdio::null())
                        .stdout(f.try_clone()?)
                        .stderr(f)
                        .spawn()
                })
                .map_err(|e| format!("starting the Java {exe}: {e}"))?;
            jb.children.push(child);
            let deadline = Instant::now() + Duration::from_secs(90);
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
                if Instant::now() >= deadline {
                    return Err(format!(
                        "the Java {exe} did not open port {port}; its log:\n{}",
                        fs::read_to_string(&log).unwrap_or_default()
                    ));
                }
                thread::sleep(Duration::from_millis(100));
            }
        }
        // The broker registers with the NameServer right after opening its port.
        thread::sleep(Duration::from_secs(2));
        Ok(jb)
    }
}

impl Drop for JavaBroker {
    fn drop(&mut self) {
        for c in self.children.iter_mut().rev() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A client of our own: an online consumer group and producer group for the connection,
// progress and reset commands (mqadmin shows those only for groups with live clients).

struct Live {
    rt: tokio::runtime::Runtime,
    client: std::sync::Arc<Connection>,
}

impl Live {
    fn connect(addr: &str) -> Result<Live, String> {
        // A worker of its own keeps reading the connection between the test's requests.
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let client = rt
            .block_on(connect(addr, T, DecoderLimits::default(), refuse_requests))
            .map_err(|e| format!("connecting to {addr}: {e}"))?;
        Ok(Live { rt, client })
    }

    fn request(&self, cmd: RemotingCommand) -> Result<RemotingCommand, String> {
        let code = cmd.code;
        self.rt
            .block_on(self.client.request(cmd, T))
            .map_err(|e| format!("request {code}: {e}"))
    }

    /// HEART_BEAT: consumer group [`GROUP`] (clustering, subscribed to [`TOPIC`] and its retry
    /// topic) and producer group [`PGROUP`].
    fn heartbeat(&self) -> Result<(), String> {
        let hb = HeartbeatData {
            client_id: CLIENT_ID.into(),
            producer_data_set: vec![ProducerData {
                group_name: PGROUP.into(),
            }],
            consumer_data_set: vec![ConsumerData {
                group_name: GROUP.into(),
                consume_type: ConsumeType::ConsumePassively,
                message_model: MessageModel::Clustering,
                consume_from_where: ConsumeFromWhere::ConsumeFromFirstOffset,
                subscription_data_set: vec![
                    SubscriptionData::tag_expression(TOPIC, "*", 1),
                    SubscriptionData::tag_expression(format!("%RETRY%{GROUP}"), "*", 1),
                ],
                ..Default::default()
            }],
            ..Default::default()
        };
        let r = self.request(RemotingCommand::request(request::HEART_BEAT).with_body(hb.to_json()))?;
        expect_success("HEART_BEAT", &r)
    }

    fn commit(&self, group: &str, queue: u32, offset: u64) -> Result<(), String> {
        let mut q = RemotingCommand::request(request::UPDATE_CONSUMER_OFFSET);
        for (k, v) in [
            ("consumerGroup", group.to_owned()),
            ("topic", TOPIC.to_owned()),
            ("queueId", queue.to_string()),
            ("commitOffset", offset.to_string()),
        ] {
            q.ext_fields.insert(k.into(), v);
        }
        let r = self.request(q)?;
        expect_success("UPDATE_CONSUMER_OFFSET", &r)
    }

    fn committed(&self, group: &str, queue: u32) -> Result<i64, String> {
        let mut q = RemotingCommand::request(request::QUERY_CONSUMER_OFFSET);
        for (k, v) in [
            ("consumerGroup", group.to_owned()),
            ("topic", TOPIC.to_owned()),
            ("queueId", queue.to_string()),
        ] {
            q.ext_fields.insert(k.into(), v);
        }
        let r = self.request(q)?;
        expect_success("QUERY_CONSUMER_OFFSET", &r)?;
        r.ext_fields
            .get("offset")
            .and_then(|o| o.parse().ok())
            .ok_or_else(|| format!("QUERY_CONSUMER_OFFSET answered no offset: {:?}", r.ext_fields))
    }
}

fn expect_success(what: &str, r: &RemotingCommand) -> Result<(), String> {
    if r.code == response::SUCCESS {
        Ok(())
    } else {
        Err(format!("{what}: code {} {:?}", r.code, r.remark))
    }
}

// ---------------------------------------------------------------------------------------------
// The session

/// Which broker a session runs against.
struct Target {
    label: &'static str,
    namesrv: String,
    addr: String,
}

/// One command's result in a session.
struct Row {
    command: String,
    /// `Ok(summary)` or `Err(why the check failed)`.
    result: Result<String, String>,
    pub code: Option<i32>,
}

struct Session<'a> {
    home: &'a Path,
    target: &'a Target,
    logs: PathBuf,
    rows: Vec<Row>,
    vars: BTreeMap<&'static str, String>,
    n: usize,
}

type Check<'c> = Box<dyn FnOnce(&str, &mut BTreeMap<&'static str, String>) -> Result<String, String> + 'c>;

fn has(out: &str, needles: &[&str]) -> Result<(), String> {
    for n in needles {
        if !out.contains(n) {
            return Err(format!("no {n:?} in the output"));
        }
    }
    Ok(())
}

/// A check that the output contains each of `needles`; `summary` is its result.
fn expect(needles: Vec<String>, summary: &'static str) -> Check<'static> {
    Box::new(move |o, _| {
        let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
        has(o, &needles)?;
        Ok(summary.to_owned())
    })
}

/// The lines of `out` whose whitespace-separated words start with `words`.
fn rows_starting<'o>(out: &'o str, words: &[&str]) -> Vec<Vec<&'o str>> {
    out.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|w| w.len() >= words.len() && w.iter().zip(words).all(|(a, b)| a == b))
        .collect()
}

/// `key = value` of mqadmin's config listings (getBrokerConfig, getNamesrvConfig).
fn config_value<'o>(out: &'o str, key: &str) -> Option<&'o str> {
    out.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == key).then(|| v.trim())
    })
}

impl Session<'_> {
    fn run(&mut self, args: &[String], limit: Duration) -> Out {
        self.n += 1;
        let log = self.logs.join(format!("{:02}-{}.txt", self.n, args[0]));
        let mut cmd = Command::new(self.home.join("bin/mqadmin"));
        cmd.args(args)
            .arg("-n")
            .arg(&self.target.namesrv)
            .current_dir(&self.logs)
            .env("ROCKETMQ_LOG_DIR", self.logs.join("logs"))
            .env("ROCKETMQ_USER_HOME", &self.logs);
        run_bounded(cmd, &log, limit)
    }

    /// Runs `mqadmin args… -n <namesrv>` and records what `check` says of its output.
    fn step(&mut self, args: &[&str], check: Check<'_>) {
        self.step_limited(args, Duration::from_secs(60), check);
    }

    fn step_limited(&mut self, args: &[&str], limit: Duration, check: Check<'_>) {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let out = self.run(&args, limit);
        let result = check(&out.text, &mut self.vars).map_err(|why| {
            let tail: String = out.text.lines().take(12).collect::<Vec<_>>().join("\n    ");
            format!("{why}; output:\n    {tail}")
        });
        eprintln!(
            "mqadmin[{}] {}: {}",
            self.target.label,
            args.join(" "),
            match &result {
                Ok(s) => format!("ok ({s})"),
                Err(e) => format!("FAILED: {e}"),
            }
        );
        self.rows.push(Row {
            command: args.join(" "),
            result,
            code: out.code,
        });
    }

    fn var(&self, k: &str) -> String {
        self.vars.get(k).cloned().unwrap_or_else(|| format!("<no {k}>"))
    }

    fn note(&mut self, command: &str, result: Result<String, String>) {
        eprintln!("mqadmin[{}] {command}: {result:?}", self.target.label);
        self.rows.push(Row {
            command: command.into(),
            result,
            code: None,
        });
    }
}

/// The session: every command in order, on one broker.
fn session(home: &Path, target: &Target, logs: PathBuf) -> Vec<Row> {
    let _ = fs::create_dir_all(&logs);
    let mut s = Session {
        home,
        target,
        logs,
        rows: Vec::new(),
        vars: BTreeMap::new(),
        n: 0,
    };
    let addr = target.addr.clone();
    let ns = target.namesrv.clone();
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
        - 60_000;

    let a = addr.clone();
    s.step(
        &["clusterList"],
        Box::new(move |o, _| {
            let rows = rows_starting(o, &[CLUSTER, BROKER_NAME, "0", &a]);
            let row = rows.first().ok_or("no row for the broker")?;
            if !row
                .get(4)
                .is_some_and(|v| v.starts_with("V4_9_") || v.starts_with("V5_"))
            {
                return Err(format!("version column {:?}", row.get(4)));
            }
            if o.contains("null") {
                return Err("a column shows null".into());
            }
            Ok(format!("row {}", row.join(" ")))
        }),
    );
    let a = addr.clone();
    s.step(
        &["updateTopic", "-c", CLUSTER, "-t", TOPIC, "-r", "4", "-w", "4"],
        expect(
            vec![
                format!("create topic to {a} success."),
                format!("topicName={TOPIC}, readQueueNums=4, writeQueueNums=4, perm=RW-"),
            ],
            "created, 4/4 queues",
        ),
    );
    s.step(
        &["topicList"],
        Box::new(|o, _| {
            o.lines()
                .any(|l| l.trim() == TOPIC)
                .then(|| "lists it".to_owned())
                .ok_or_else(|| format!("{TOPIC} not listed"))
        }),
    );
    let a = addr.clone();
    s.step(
        &["topicRoute", "-t", TOPIC],
        expect(
            vec![
                format!("\"{a}\""),
                "\"readQueueNums\":4".into(),
                "\"writeQueueNums\":4".into(),
                "\"perm\":6".into(),
            ],
            "broker address, 4/4 queues, perm 6",
        ),
    );
    s.step(
        &["topicStatus", "-t", TOPIC],
        Box::new(|o, _| {
            has(o, &["#Min Offset", "#Max Offset", "#Last Updated"])?;
            let n = rows_starting(o, &[BROKER_NAME]).len();
            (n == 4)
                .then(|| "4 queue rows".to_owned())
                .ok_or_else(|| format!("{n} queue rows"))
        }),
    );
    s.step(
        &["topicClusterList", "-t", TOPIC],
        Box::new(|o, _| {
            o.lines()
                .any(|l| l.trim() == CLUSTER)
                .then(|| CLUSTER.to_owned())
                .ok_or_else(|| "no cluster line".into())
        }),
    );
    for (body, key, tag, queue) in [
        ("hello-mqadmin", "mqkey", "mqtag", "1"),
        ("second-mqadmin", "mqkey2", "mqtag2", "2"),
    ] {
        s.step(
            &[
                "sendMessage",
                "-t",
                TOPIC,
                "-p",
                body,
                "-k",
                key,
                "-c",
                tag,
                "-b",
                BROKER_NAME,
                "-i",
                queue,
            ],
            Box::new(move |o, vars| {
                let rows = rows_starting(o, &[BROKER_NAME, queue, "SEND_OK"]);
                let id = rows
                    .first()
                    .and_then(|r| r.get(3))
                    .filter(|id| id.len() == 32)
                    .ok_or("no SEND_OK row with a message id")?;
                vars.entry("uniq").or_insert_with(|| id.to_string());
                Ok(format!("SEND_OK to queue {queue}"))
            }),
        );
    }
    s.step(
        &["printMsg", "-t", TOPIC],
        expect(
            vec![
                "BODY: hello-mqadmin".into(),
                "BODY: second-mqadmin".into(),
                "KEYS=mqkey".into(),
                "TAGS=mqtag".into(),
            ],
            "both bodies with keys and tags",
        ),
    );
    s.step(
        &["queryMsgByKey", "-t", TOPIC, "-k", "mqkey"],
        Box::new(|o, vars| {
            let uniq = vars.get("uniq").cloned().unwrap_or_default();
            let rows = rows_starting(o, &[&uniq, "1", "0"]);
            (!rows.is_empty() && !uniq.is_empty())
                .then(|| "the message at queue 1 offset 0".to_owned())
                .ok_or_else(|| format!("no row `{uniq} 1 0`"))
        }),
    );
    let uniq = s.var("uniq");
    s.step(
        &["queryMsgByUniqueKey", "-t", TOPIC, "-i", &uniq],
        expect(first_message_fields(), "topic, keys and tags"),
    );
    let a = addr.clone();
    s.step(
        &[
            "queryMsgByOffset",
            "-t",
            TOPIC,
            "-b",
            BROKER_NAME,
            "-i",
            "1",
            "-o",
            "0",
        ],
        Box::new(move |o, vars| {
            has(
                o,
                &[
                    "Keys:",
                    "[mqkey]",
                    "Queue ID:",
                    "Queue Offset:",
                    "Store Host:",
                    &a,
                ],
            )?;
            let id = o
                .lines()
                .find_map(|l| l.strip_prefix("OffsetID:"))
                .map(|v| v.trim().to_owned())
                .filter(|v| v.len() == 32)
                .ok_or("no OffsetID")?;
            vars.insert("offset_id", id);
            Ok("the message, its OffsetID".into())
        }),
    );
    let offset_id = s.var("offset_id");
    s.step(
        &["queryMsgById", "-i", &offset_id],
        expect(first_message_fields(), "the message by its offset id"),
    );
    let a = addr.clone();
    s.step(
        &["updateSubGroup", "-c", CLUSTER, "-g", GROUP],
        expect(
            vec![
                format!("create subscription group to {a} success."),
                format!("groupName={GROUP}"),
            ],
            "created",
        ),
    );
    s.step(
        &["getConsumerConfig", "-g", GROUP],
        Box::new(|o, _| match config_value(o, "groupName") {
            Some(GROUP) => Ok("groupName, retry settings".into()),
            v => Err(format!("groupName = {v:?}")),
        }),
    );
    s.step(
        &["consumeMessage", "-t", TOPIC, "-g", GROUP, "-c", "2"],
        expect(vec!["BODY: hello-mqadmin".into()], "pulled the messages"),
    );

    // Live consumer and producer groups, with offsets 1 (queue 1) and 0 (queues 0, 2, 3):
    // one message left to consume, in queue 2.
    let live = Live::connect(&addr).and_then(|l| {
        l.heartbeat()?;
        for q in 0..4 {
            l.commit(GROUP, q, u64::from(q == 1))?;
        }
        Ok(l)
    });
    let live = match live {
        Ok(l) => {
            s.note(
                "(HEART_BEAT + UPDATE_CONSUMER_OFFSET from the test)",
                Ok("group online".into()),
            );
            Some(l)
        }
        Err(e) => {
            s.note("(HEART_BEAT + UPDATE_CONSUMER_OFFSET from the test)", Err(e));
            None
        }
    };
    // The group's retry topic reaches the NameServer with the broker's next registration.
    wait_for_route(&mut s, &format!("%RETRY%{GROUP}"));
    s.step(
        &["consumerConnection", "-g", GROUP],
        expect(
            vec![
                CLIENT_ID.to_string(),
                TOPIC.to_string(),
                "CLUSTERING".into(),
                "CONSUME_FROM_FIRST_OFFSET".into(),
            ],
            "the client, its subscription and model",
        ),
    );
    s.step(
        &["producerConnection", "-g", PGROUP, "-t", TOPIC],
        expect(vec![CLIENT_ID.to_string(), "JAVA".into()], "the producer client"),
    );
    s.step(
        &["consumerProgress", "-g", GROUP],
        Box::new(|o, _| {
            let rows = rows_starting(o, &[TOPIC, BROKER_NAME]);
            let q1 = rows.iter().find(|r| r.get(2) == Some(&"1"));
            let q2 = rows.iter().find(|r| r.get(2) == Some(&"2"));
            match (q1, q2) {
                (Some(a), Some(b))
                    if a.get(3..5) == Some(&["1", "1"]) && b.get(3..5) == Some(&["1", "0"]) => {}
                _ => return Err(format!("queue rows {rows:?}")),
            }
            has(o, &["Diff Total: 1"])?;
            Ok("broker/consumer offsets per queue, Diff Total 1".into())
        }),
    );
    s.step(
        &["consumerProgress"],
        Box::new(|o, _| {
            rows_starting(o, &[GROUP])
                .first()
                .map(|r| format!("row {}", r.join(" ")))
                .ok_or_else(|| format!("no row for {GROUP}"))
        }),
    );
    s.step(
        &["cloneGroupOffset", "-s", GROUP, "-d", GROUP2, "-t", TOPIC],
        expect(vec!["clone group offset success".into()], "success line"),
    );
    if let Some(l) = &live {
        let cloned = l.committed(GROUP2, 1);
        s.note(
            "(QUERY_CONSUMER_OFFSET of the clone, queue 1)",
            match cloned {
                Ok(1) => Ok("1, as the source group".into()),
                Ok(v) => Err(format!("{v}, not 1")),
                Err(e) => Err(e),
            },
        );
    }
    let since_s = since.to_string();
    s.step(
        &["resetOffsetByTime", "-g", GROUP, "-t", TOPIC, "-s", &since_s],
        Box::new(|o, _| {
            let rows = rows_starting(o, &[BROKER_NAME]);
            let q1 = rows.iter().find(|r| r.get(1) == Some(&"1"));
            match q1 {
                Some(r) if r.get(2) == Some(&"0") && rows.len() == 4 => {
                    Ok("4 queues, queue 1 back to 0".into())
                }
                _ => Err(format!("queue rows {rows:?}")),
            }
        }),
    );
    let a = addr.clone();
    s.step(
        &["brokerStatus", "-b", &a],
        Box::new(|o, _| {
            let put: u64 = config_value_colon(o, "msgPutTotalTodayNow")
                .and_then(|v| v.parse().ok())
                .ok_or("no msgPutTotalTodayNow")?;
            has(o, &["brokerVersionDesc", "commitLogMaxOffset", "bootTimestamp"])?;
            (put >= 2)
                .then(|| format!("msgPutTotalTodayNow {put}"))
                .ok_or_else(|| format!("msgPutTotalTodayNow {put} < 2"))
        }),
    );
    let banner = format!("============{a}============");
    s.step(
        &["getBrokerConfig", "-b", &a],
        Box::new(move |o, vars| {
            has(o, &[&banner])?;
            if config_value(o, "brokerName") != Some(BROKER_NAME) {
                return Err(format!("brokerName = {:?}", config_value(o, "brokerName")));
            }
            let flush = config_value(o, "flushIntervalCommitLog").ok_or("no flushIntervalCommitLog")?;
            vars.insert("flush_interval", flush.to_owned());
            Ok(format!("brokerName, flushIntervalCommitLog = {flush}"))
        }),
    );
    // The value in force is accepted, and a change is in force at once and shown, by both
    // brokers (flushIntervalCommitLog is one of sluice's live keys).
    let flush = s.var("flush_interval");
    for value in [flush.clone(), "600".to_owned()] {
        let same = value == flush;
        let args = [
            "updateBrokerConfig",
            "-b",
            &a,
            "-k",
            "flushIntervalCommitLog",
            "-v",
            &value,
        ];
        s.step(
            &args,
            Box::new(move |o, _| {
                let said = if same {
                    "the value in force: accepted"
                } else {
                    "changed"
                };
                has(o, &["update broker config success"]).map(|_| said.into())
            }),
        );
    }
    s.step(
        &["getBrokerConfig", "-b", &a],
        Box::new(|o, _| match config_value(o, "flushIntervalCommitLog") {
            Some("600") => Ok("flushIntervalCommitLog = 600 after the change".into()),
            v => Err(format!("flushIntervalCommitLog = {v:?} after setting 600")),
        }),
    );
    s.step(
        &["statsAll", "-t", TOPIC],
        Box::new(|o, _| {
            has(o, &["#Topic", "#Accumulation", "#InTPS"])?;
            rows_starting(o, &[TOPIC])
                .first()
                .map(|r| format!("row {}", r.join(" ")))
                .ok_or_else(|| format!("no row for {TOPIC}"))
        }),
    );
    let port = ns.rsplit(':').next().unwrap_or_default().to_owned();
    s.step(
        &["getNamesrvConfig"],
        Box::new(move |o, _| match config_value(o, "listenPort") {
            Some(p) if p == port => Ok(format!("listenPort = {p}")),
            v => Err(format!("listenPort = {v:?}, want {port}")),
        }),
    );
    s.step(
        &["updateNamesrvConfig", "-k", "orderMessageEnable", "-v", "true"],
        expect(vec!["update name server config success".into()], "success line"),
    );
    s.step(
        &["getNamesrvConfig"],
        Box::new(|o, _| match config_value(o, "orderMessageEnable") {
            Some("true") => Ok("orderMessageEnable = true".into()),
            v => Err(format!("orderMessageEnable = {v:?}")),
        }),
    );
    // Write permission off, then on again: the route's perm follows (6 = RW, 4 = R).
    for (command, verb, perm) in [("wipeWritePerm", "wipe", "4"), ("addWritePerm", "add", "6")] {
        let line = format!("{verb} write perm of broker[{BROKER_NAME}] in name server[{ns}] OK");
        s.step(&[command, "-b", BROKER_NAME], expect(vec![line], "OK line"));
        s.step(
            &["topicRoute", "-t", TOPIC],
            Box::new(move |o, _| {
                has(o, &[&format!("\"perm\":{perm}")])?;
                Ok(format!("perm {perm}"))
            }),
        );
    }
    s.step(
        &["allocateMQ", "-t", TOPIC, "-i", "127.0.0.1@1,127.0.0.1@2"],
        Box::new(|o, _| {
            let json = o.lines().find(|l| l.starts_with('{')).ok_or("no JSON line")?;
            let v: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
            let n = |k: &str| v["result"][k].as_array().map_or(0, Vec::len);
            (n("127.0.0.1@1") == 2 && n("127.0.0.1@2") == 2)
                .then(|| "2 + 2 queues".to_owned())
                .ok_or_else(|| format!("allocation {}", v["result"]))
        }),
    );
    s.step(
        &["checkMsgSendRT", "-t", TOPIC, "-a", "3", "-s", "64"],
        Box::new(|o, _| {
            let ok = rows_starting(o, &[BROKER_NAME])
                .iter()
                .filter(|r| r.get(2) == Some(&"true"))
                .count();
            has(o, &["Avg RT:"])?;
            (ok == 3)
                .then(|| "3 sends true, Avg RT".to_owned())
                .ok_or_else(|| format!("{ok} of 3 sends true"))
        }),
    );
    // clusterRT repeats until stopped: 12 s, then it is killed.
    s.step_limited(
        &["clusterRT", "-a", "2", "-i", "1"],
        Duration::from_secs(12),
        Box::new(|o, _| {
            let rows = rows_starting(o, &[CLUSTER, BROKER_NAME]);
            let good = rows
                .iter()
                .filter(|r| r.get(3) == Some(&"2") && r.get(4) == Some(&"0"));
            (good.count() >= 1)
                .then(|| format!("{} rounds, all sent", rows.len()))
                .ok_or_else(|| format!("rows {rows:?}"))
        }),
    );
    let a = addr.clone();
    s.step(
        &["brokerConsumeStats", "-b", &a],
        expect(
            vec!["#Topic".into(), "#Group".into(), "Diff Total:".into()],
            "table and Diff Total",
        ),
    );
    let a = addr.clone();
    s.step(
        &["deleteSubGroup", "-c", CLUSTER, "-g", GROUP2],
        expect(
            vec![format!(
                "delete subscription group [{GROUP2}] from broker [{a}] in cluster [{CLUSTER}] success."
            )],
            "success line",
        ),
    );
    s.step(
        &["topicList", "-c"],
        Box::new(|o, _| {
            has(o, &["#Cluster Name", "#Topic", "#Consumer Group"])?;
            rows_starting(o, &[CLUSTER, TOPIC])
                .first()
                .map(|r| format!("row {}", r.join(" ")))
                .ok_or_else(|| format!("no row for {TOPIC}"))
        }),
    );
    s.step(
        &["deleteTopic", "-c", CLUSTER, "-t", TOPIC],
        expect(
            vec![
                format!("delete topic [{TOPIC}] from cluster [{CLUSTER}] success."),
                format!("delete topic [{TOPIC}] from NameServer success."),
            ],
            "deleted from broker and NameServer",
        ),
    );
    s.step(
        &["topicList"],
        Box::new(|o, _| {
            (!o.lines().any(|l| l.trim() == TOPIC) && o.lines().any(|l| l.trim() == "TBW102"))
                .then(|| "no longer lists it".to_owned())
                .ok_or_else(|| format!("{TOPIC} still listed (or nothing listed)"))
        }),
    );
    drop(live);
    s.rows
}

/// What mqadmin's message view shows of the first message sent.
fn first_message_fields() -> Vec<String> {
    [
        "Topic:",
        TOPIC,
        "Keys:",
        "[mqkey]",
        "Tags:",
        "[mqtag]",
        "Queue ID:",
        "Queue Offset:",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// `key : value` of brokerStatus.
fn config_value_colon<'o>(out: &'o str, key: &str) -> Option<&'o str> {
    out.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == key).then(|| v.trim())
    })
}

/// Polls `topicRoute` until the NameServer has a route for `topic` (up to 40 s: Java brokers
/// register every 30 s, and at once after creating a topic).
fn wait_for_route(s: &mut Session<'_>, topic: &str) {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let out = s.run(
            &["topicRoute".into(), "-t".into(), topic.into()],
            Duration::from_secs(30),
        );
        if out.text.contains("\"brokerDatas\"") || Instant::now() >= deadline {
            return;
        }
        thread::sleep(Duration::from_secs(2));
    }
}

/// The markdown table of both sessions, row by row.
fn table(runs: &[(&str, &[Row])]) -> String {
    let mut t = String::from("| # | command |");
    for (label, _) in runs {
        t += &format!(" {label} |");
    }
    t += "\n|---|---|";
    for _ in runs {
        t += "---|";
    }
    t.push('\n');
    let n = runs.iter().map(|(_, r)| r.len()).max().unwrap_or(0);
    for i in 0..n {
        let command = runs
            .iter()
            .find_map(|(_, r)| r.get(i).map(|r| r.command.clone()))
            .unwrap_or_default();
        t += &format!("| {} | `{}` |", i + 1, command.replace('|', "\\|"));
        for (_, rows) in runs {
            let cell = match rows.get(i) {
                Some(Row {
                    result: Ok(s), code, ..
                }) => format!("ok: {s}{}", exit(*code)),
                Some(Row {
                    result: Err(e), code, ..
                }) => {
                    let first = e.lines().next().unwrap_or_default();
                    format!("**FAILED**: {first}{}", exit(*code))
                }
                None => "-".into(),
            };
            t += &format!(" {} |", cell.replace('|', "\\|"));
        }
        t.push('\n');
    }
    t
}

fn exit(code: Option<i32>) -> String {
    match code {
        Some(0) | None => String::new(),
        Some(c) => format!(" (exit {c})"),
    }
}

#[test]
fn mqadmin_against_sluice_and_java() {
    let Some(_serial) = harness::serial("mqadmin::mqadmin_against_sluice_and_java") else {
        return;
    };
    let home = rocketmq_home().unwrap_or_else(|e| {
        panic!("installing Apache RocketMQ's mqadmin failed (SLUICE_INTEROP=skip skips this test): {e}")
    });
    let tmp = tempfile::Builder::new()
        .prefix("sluice-interop-mqadmin-")
        .tempdir()
        .expect("temp dir");
    let keep = std::env::var_os("SLUICE_INTEROP_KEEP").is_some();

    let sdir = tmp.path().join("sluice");
    fs::create_dir_all(&sdir).expect("sluice dir");
    let conf = sdir.join("broker.conf");
    fs::write(
        &conf,
        // 64 MiB CommitLog segments: the default 1 GiB is disk this test does not need.
        format!(
            "brokerClusterName={CLUSTER}\nbrokerName={BROKER_NAME}\nbrokerIP1=127.0.0.1\n\
             mappedFileSizeCommitLog=67108864\n"
        ),
    )
    .expect("broker.conf");
    let mut broker = Broker::new(&sdir, Some(conf));
    broker.start();
    let target = Target {
        label: "sluice",
        namesrv: broker.namesrv(),
        addr: broker.addr(),
    };
    let sluice_rows = session(&home, &target, sdir.join("mqadmin"));
    let sluice_log = broker.describe();
    drop(broker);

    let mut runs: Vec<(&str, Vec<Row>)> = vec![("sluice", sluice_rows)];
    let skip_java = std::env::var("SLUICE_MQADMIN_JAVA").is_ok_and(|v| v == "skip");
    if !skip_java {
        let jdir = tmp.path().join("java");
        let java = JavaBroker::start(&home, &jdir)
            .unwrap_or_else(|e| panic!("Apache RocketMQ's broker did not start: {e}"));
        let target = Target {
            label: "Apache RocketMQ 4.9.7",
            namesrv: java.namesrv.clone(),
            addr: java.addr.clone(),
        };
        let rows = session(&home, &target, java.dir.join("mqadmin"));
        runs.push(("Apache RocketMQ 4.9.7", rows));
    }
    let refs: Vec<(&str, &[Row])> = runs.iter().map(|(l, r)| (*l, r.as_slice())).collect();
    let table = table(&refs);
    eprintln!("\n{table}");
    if let Ok(path) = std::env::var("SLUICE_MQADMIN_TABLE") {
        let _ = fs::write(path, &table);
    }
    let failed: Vec<String> = runs
        .iter()
        .flat_map(|(label, rows)| {
            rows.iter().filter_map(move |r| {
                r.result
                    .as_ref()
                    .err()
                    .map(|e| format!("[{label}] mqadmin {}: {e}", r.command))
            })
        })
        .collect();
    if keep || !failed.is_empty() {
        let kept = tmp.keep();
        eprintln!("interop: kept {}", kept.display());
    }
    assert!(
        failed.is_empty(),
        "{} mqadmin command(s) did not show what they should:\n{}\n{sluice_log}",
        failed.len(),
        failed.join("\n")
    );
}
