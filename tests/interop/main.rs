//! Interoperability tests: real third-party RocketMQ clients against `sluice standalone`.
//!
//! Clients (installed by `tests/interop/setup.sh`, run once per test binary):
//! * `js`   — npm `ali-ons` (pure JavaScript), driver `tests/interop/js/driver.js`;
//! * `py`   — PyPI `rocketmq` (bundles the Apache C++ client), driver `tests/interop/py/driver.py`;
//! * `rust` — crates.io `rocketmq-client-rust`, driver `tests/interop/rust-client`.
//!
//! Each test starts its own `sluice standalone` on free 127.0.0.1 ports with a fresh data
//! directory, drives the clients as child processes (JSON lines on stdout, see the drivers), and
//! kills everything it started when it ends or fails. Tests take a global lock so they run one at
//! a time (the machines have 2 cores). Every wait is bounded.
//!
//! Environment:
//! * `SLUICE_INTEROP=skip` — skip all of these tests (prints why);
//! * `SLUICE_INTEROP_KEEP=1` — keep each test's temporary directory (broker and driver logs);
//! * `INTEROP_LOG=info|debug` — more client logging on the drivers' stderr (kept in the temp dir).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

const SLUICE: &str = env!("CARGO_BIN_EXE_sluice");
/// The repository (read when the test runs: a test binary reused from a cache built in another
/// checkout must not look in that checkout).
fn root() -> PathBuf {
    PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned()),
    )
}

// ---------------------------------------------------------------------------------------------
// Set-up (once per test binary) and serialisation

struct Tools {
    node: String,
    js_driver: PathBuf,
    python: PathBuf,
    py_driver: PathBuf,
    rust_client: PathBuf,
}

static TOOLS: OnceLock<Result<Tools, String>> = OnceLock::new();
static SERIAL: Mutex<()> = Mutex::new(());
static SEQ: AtomicU32 = AtomicU32::new(0);

fn run_setup() -> Result<Tools, String> {
    let interop = root().join("tests/interop");
    let script = interop.join("setup.sh");
    eprintln!(
        "interop: running {} (installs the clients; slow only the first time)",
        script.display()
    );
    let t0 = Instant::now();
    let mut child = Command::new("bash")
        .arg(&script)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    let mut out = String::new();
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = thread::spawn(move || {
        let _ = stdout.read_to_string(&mut out);
        out
    });
    // A cold set-up compiles the Rust client (about 10-20 minutes on 2 cores).
    let status = wait_child(&mut child, Duration::from_secs(45 * 60));
    let out = reader.join().unwrap_or_default();
    match status {
        Some(s) if s.success() => {}
        Some(s) => return Err(format!("{} failed ({s}); its output:\n{out}", script.display())),
        None => return Err(format!("{} did not finish within 45 minutes", script.display())),
    }
    eprintln!("interop: set-up done in {:.1}s", t0.elapsed().as_secs_f64());
    let vars: HashMap<&str, &str> = out
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect();
    let get = |k: &str| -> Result<String, String> {
        vars.get(k)
            .map(|v| v.to_string())
            .ok_or_else(|| format!("setup.sh did not print {k}=...; output:\n{out}"))
    };
    let tools = Tools {
        node: get("INTEROP_NODE")?,
        js_driver: interop.join("js/driver.js"),
        python: PathBuf::from(get("INTEROP_PYTHON")?),
        py_driver: interop.join("py/driver.py"),
        rust_client: PathBuf::from(get("INTEROP_RUST_CLIENT")?),
    };
    for p in [
        &tools.js_driver,
        &tools.python,
        &tools.py_driver,
        &tools.rust_client,
    ] {
        if !p.exists() {
            return Err(format!("setup.sh reported {} but it does not exist", p.display()));
        }
    }
    Ok(tools)
}

/// The installed clients and the global test lock, or `None` when interop tests are skipped.
fn prepare(test: &str) -> Option<(MutexGuard<'static, ()>, &'static Tools)> {
    if std::env::var("SLUICE_INTEROP")
        .map(|v| v == "skip")
        .unwrap_or(false)
    {
        eprintln!("interop: {test} SKIPPED because SLUICE_INTEROP=skip");
        return None;
    }
    let guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    match TOOLS.get_or_init(run_setup) {
        Ok(t) => Some((guard, t)),
        Err(e) => {
            panic!("interop set-up failed (set SLUICE_INTEROP=skip to skip these tests on purpose):\n{e}")
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Processes

fn wait_child(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(s)) => return Some(s),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(50)),
            Err(_) => return None,
        }
    }
}

fn tail(path: &Path, bytes: u64) -> String {
    let Ok(mut f) = File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(bytes)));
    let mut s = String::new();
    let _ = f.read_to_string(&mut s);
    s
}

/// A client driver running as a child process; its stdout JSON lines are collected live.
struct Proc {
    name: String,
    child: Child,
    lines: Arc<Mutex<Vec<Value>>>,
    stderr: PathBuf,
    status: Option<ExitStatus>,
}

impl Proc {
    fn spawn(name: &str, mut cmd: Command, stderr: PathBuf) -> Proc {
        let errf = File::create(&stderr).expect("create driver log");
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(errf);
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        let out = child.stdout.take().expect("piped stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let errpath = stderr.clone();
        thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                match serde_json::from_str::<Value>(&line) {
                    Ok(v) => sink.lock().unwrap_or_else(|e| e.into_inner()).push(v),
                    Err(_) => {
                        // Not JSON: keep it with the stderr log for diagnostics.
                        if let Ok(mut f) = fs::OpenOptions::new().append(true).open(&errpath) {
                            use std::io::Write;
                            let _ = writeln!(f, "[stdout] {line}");
                        }
                    }
                }
            }
        });
        Proc {
            name: name.to_string(),
            child,
            lines,
            stderr,
            status: None,
        }
    }

    fn snapshot(&self) -> Vec<Value> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn events(&self, event: &str) -> Vec<Value> {
        self.snapshot()
            .into_iter()
            .filter(|v| v["event"] == event)
            .collect()
    }

    fn exited(&mut self) -> bool {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status.is_some()
    }

    /// Polls until `pred` holds on the lines so far; false on timeout or if the process exited
    /// without it holding.
    fn wait_for(&mut self, timeout: Duration, pred: impl Fn(&[Value]) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if pred(&self.snapshot()) {
                return true;
            }
            if self.exited() {
                thread::sleep(Duration::from_millis(200)); // let the reader drain
                return pred(&self.snapshot());
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits for exit; kills it after `timeout`. Returns the exit status (None: killed).
    fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = wait_child(&mut self.child, timeout);
        }
        thread::sleep(Duration::from_millis(100));
        self.status
    }

    fn kill(&mut self) {
        if !self.exited() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    fn describe(&self) -> String {
        format!(
            "--- {} (status {:?}) stderr tail ---\n{}",
            self.name,
            self.status,
            tail(&self.stderr, 3000)
        )
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

// ---------------------------------------------------------------------------------------------
// Broker

fn port_free(p: u16) -> bool {
    TcpListener::bind(("127.0.0.1", p)).is_ok()
}

/// A free port P such that P-2 (RocketMQ's VIP channel) and P+1 (HA) are free too.
fn free_port() -> u16 {
    for _ in 0..200 {
        let p = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or(0);
        if p > 1026 && p < 65534 && port_free(p - 2) && port_free(p + 1) {
            return p;
        }
    }
    panic!("no free port found");
}

fn accepts(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok()
}

struct Broker {
    child: Option<Child>,
    dir: PathBuf,
    conf: Option<PathBuf>,
    np: u16,
    bp: u16,
    starts: u32,
    logs: Vec<PathBuf>,
}

impl Broker {
    fn new(dir: &Path, conf: Option<PathBuf>) -> Broker {
        let np = free_port();
        let mut bp = free_port();
        while bp == np || bp.abs_diff(np) <= 2 {
            bp = free_port();
        }
        Broker {
            child: None,
            dir: dir.to_path_buf(),
            conf,
            np,
            bp,
            starts: 0,
            logs: vec![],
        }
    }

    fn namesrv(&self) -> String {
        format!("127.0.0.1:{}", self.np)
    }

    /// Starts the broker and waits until both ports accept connections. A restart (after a
    /// `kill -9`) that exits at once is retried for up to 75 s, in case the ports are still held
    /// (TIME_WAIT without SO_REUSEADDR) — each failed attempt stays in the logs.
    fn start(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(75);
        let restart = self.starts > 0;
        loop {
            self.starts += 1;
            let log = self.dir.join(format!("broker-{}.log", self.starts));
            let errf = File::create(&log).expect("broker log");
            let mut cmd = Command::new(SLUICE);
            cmd.arg("standalone")
                .arg("--data-dir")
                .arg(self.dir.join("data"))
                .arg("--namesrv-port")
                .arg(self.np.to_string())
                .arg("--broker-port")
                .arg(self.bp.to_string());
            if let Some(c) = &self.conf {
                cmd.arg("-c").arg(c);
            }
            cmd.env(
                "RUST_LOG",
                std::env::var("SLUICE_INTEROP_BROKER_LOG").unwrap_or_else(|_| "info".into()),
            );
            cmd.stdin(Stdio::null())
                .stdout(errf.try_clone().expect("dup"))
                .stderr(errf);
            let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {SLUICE}: {e}"));
            self.logs.push(log.clone());
            let up_by = Instant::now() + Duration::from_secs(30);
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    if !restart {
                        panic!(
                            "sluice standalone exited at start-up ({status}); log tail:\n{}",
                            tail(&log, 4000)
                        );
                    }
                    eprintln!(
                        "interop: broker restart #{} exited early ({status}); log tail:\n{}",
                        self.starts,
                        tail(&log, 2000)
                    );
                    break;
                }
                if accepts(self.np) && accepts(self.bp) {
                    self.child = Some(child);
                    // Give the broker a moment to register with the in-process NameServer.
                    thread::sleep(Duration::from_millis(500));
                    return;
                }
                if Instant::now() >= up_by {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "broker did not accept connections on {} and {} within 30 s; log tail:\n{}",
                        self.np,
                        self.bp,
                        tail(&log, 4000)
                    );
                }
                thread::sleep(Duration::from_millis(100));
            }
            if Instant::now() >= deadline {
                panic!("broker could not be started on ports {} / {}", self.np, self.bp);
            }
            thread::sleep(Duration::from_secs(2));
        }
    }

    /// SIGKILL, no clean shutdown.
    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn describe(&self) -> String {
        self.logs
            .iter()
            .map(|l| format!("--- broker log {} (tail) ---\n{}", l.display(), tail(l, 4000)))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill9();
    }
}

// ---------------------------------------------------------------------------------------------
// Test context

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Client {
    Js,
    Py,
    Rust,
}

impl Client {
    fn name(self) -> &'static str {
        match self {
            Client::Js => "js",
            Client::Py => "py",
            Client::Rust => "rust",
        }
    }
    /// How long to let freshly started consumers of one group settle their queue assignment.
    /// ali-ons rebalances every --poll-ms (2 s in the driver) and ignores
    /// NOTIFY_CONSUMER_IDS_CHANGED; the C++ client rebalances every ~10 s or on that notify; the
    /// Rust client every 2 s (driver setting) or on notify.
    fn settle(self) -> Duration {
        match self {
            Client::Js => Duration::from_secs(6),
            Client::Py => Duration::from_secs(12),
            Client::Rust => Duration::from_secs(6),
        }
    }
    fn orderly_consume(self) -> &'static str {
        match self {
            // ali-ons has no orderly listener; it consumes one message at a time, per queue in
            // offset order, which is what the ordering check needs.
            Client::Js => "consume",
            Client::Py | Client::Rust => "consume-orderly",
        }
    }
    fn ordered_produce(self) -> &'static str {
        match self {
            Client::Js => "produce-ordered",
            Client::Py => "produce-orderly",
            Client::Rust => "produce-ordered",
        }
    }
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        let p = std::env::temp_dir().join(format!("sluice-interop-{}-{}-{}", std::process::id(), n, test));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("SLUICE_INTEROP_KEEP").is_some() || thread::panicking() {
            eprintln!("interop: kept {}", self.0.display());
        } else {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

struct Ctx {
    test: String,
    tools: &'static Tools,
    procs: Vec<String>,
    broker: Broker,
    // Declared last: dropped after the broker and the processes are gone.
    tmp: TempDir,
}

impl Ctx {
    fn new(test: &str, tools: &'static Tools, broker_conf: Option<&str>) -> Ctx {
        let tmp = TempDir::new(test);
        let conf = broker_conf.map(|text| {
            let p = tmp.0.join("broker.conf");
            fs::write(&p, text).expect("write broker.conf");
            p
        });
        let mut broker = Broker::new(&tmp.0, conf);
        broker.start();
        eprintln!(
            "interop: {test}: broker up, namesrv {} broker {} dir {}",
            broker.namesrv(),
            broker.bp,
            tmp.0.display()
        );
        Ctx {
            test: test.to_string(),
            tools,
            procs: vec![],
            broker,
            tmp,
        }
    }

    fn namesrv(&self) -> String {
        self.broker.namesrv()
    }

    /// Starts a driver: `client scenario --namesrv ... args...`.
    fn spawn(&mut self, client: Client, scenario: &str, args: &[&str]) -> Proc {
        let n = self.procs.len();
        let name = format!("{}-{}-{}", n, client.name(), scenario);
        let mut cmd = match client {
            Client::Js => {
                let mut c = Command::new(&self.tools.node);
                c.arg(&self.tools.js_driver);
                c
            }
            Client::Py => {
                let mut c = Command::new(&self.tools.python);
                c.arg(&self.tools.py_driver);
                c
            }
            Client::Rust => Command::new(&self.tools.rust_client),
        };
        cmd.arg(scenario).arg("--namesrv").arg(self.namesrv()).args(args);
        if client == Client::Py {
            let home = self.tmp.0.join(format!("py-home-{n}"));
            cmd.arg("--home").arg(home);
        }
        // The Rust client keeps broadcasting offsets under $HOME; isolate every run.
        if client == Client::Rust {
            let home = self.tmp.0.join(format!("rust-home-{n}"));
            let _ = fs::create_dir_all(&home);
            cmd.env("HOME", home);
        }
        let log = self.tmp.0.join(format!("{name}.stderr"));
        self.procs.push(log.display().to_string());
        eprintln!("interop: {}: start {name} {:?}", self.test, args);
        Proc::spawn(&name, cmd, log)
    }

    /// Runs a driver to completion (bounded); fails the test if it does not exit 0.
    fn run_ok(&mut self, client: Client, scenario: &str, args: &[&str], timeout: Duration) -> Vec<Value> {
        let mut p = self.spawn(client, scenario, args);
        let status = p.wait(timeout);
        let lines = p.snapshot();
        if !status.is_some_and(|s| s.success()) {
            self.fail(&format!("{} did not succeed (status {status:?})", p.name), &[&p]);
        }
        lines
    }

    fn fail(&self, msg: &str, procs: &[&Proc]) -> ! {
        let mut s = format!("interop {}: {msg}\n", self.test);
        for p in procs {
            s.push_str(&p.describe());
            s.push('\n');
        }
        s.push_str(&self.broker.describe());
        panic!("{s}");
    }

    fn check(&self, cond: bool, msg: impl FnOnce() -> String, procs: &[&Proc]) {
        if !cond {
            self.fail(&msg(), procs);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Output helpers

fn of_event(lines: &[Value], event: &str) -> Vec<Value> {
    lines.iter().filter(|v| v["event"] == event).cloned().collect()
}

fn body(v: &Value) -> String {
    v["body"].as_str().unwrap_or_default().to_string()
}

/// body -> first line with that body.
fn by_body(lines: &[Value]) -> BTreeMap<String, Value> {
    let mut m = BTreeMap::new();
    for v in lines {
        m.entry(body(v)).or_insert_with(|| v.clone());
    }
    m
}

fn bodies(lines: &[Value]) -> BTreeSet<String> {
    lines.iter().map(body).collect()
}

/// A number that a client may have printed as a JSON number or as a string.
fn num(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

fn index_of(b: &str) -> u64 {
    b.rsplit('-')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(u64::MAX)
}

fn missing(expected: &BTreeSet<String>, got: &BTreeSet<String>) -> Vec<String> {
    expected.difference(got).take(20).cloned().collect()
}

const T_PRODUCE: Duration = Duration::from_secs(90);
const T_CONSUME: Duration = Duration::from_secs(100);

/// A first send by `client` so the topic exists (auto-created from TBW102) before consumers
/// subscribe: the C++ client refreshes routes only every 30 s.
fn create_topic(ctx: &mut Ctx, client: Client, topic: &str) {
    ctx.run_ok(
        client,
        "produce",
        &[
            "--topic",
            topic,
            "--count",
            "1",
            "--prefix",
            "warmup",
            "--timeout",
            "60",
        ],
        T_PRODUCE,
    );
}

fn produce(
    ctx: &mut Ctx,
    client: Client,
    scenario: &str,
    topic: &str,
    prefix: &str,
    n: u64,
    extra: &[&str],
) -> Vec<Value> {
    let n_s = n.to_string();
    let mut args = vec![
        "--topic",
        topic,
        "--prefix",
        prefix,
        "--count",
        &n_s,
        "--timeout",
        "80",
    ];
    args.extend_from_slice(extra);
    let lines = ctx.run_ok(client, scenario, &args, T_PRODUCE);
    let sent = of_event(&lines, "sent");
    if sent.len() as u64 != n {
        ctx.fail(
            &format!(
                "{} {scenario}: {} of {n} sends acknowledged",
                client.name(),
                sent.len()
            ),
            &[],
        );
    }
    sent
}

fn consume_args<'a>(topic: &'a str, group: &'a str, count: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "--topic",
        topic,
        "--group",
        group,
        "--count",
        count,
        "--timeout",
        "80",
    ];
    a.extend_from_slice(extra);
    a
}

/// Sent lines and received lines agree on tags, keys and (where both sides report them) queue
/// and offset.
fn check_fields(ctx: &Ctx, sent: &[Value], recv: &[Value]) {
    let sent = by_body(sent);
    for r in recv {
        let Some(s) = sent.get(&body(r)) else { continue };
        let b = body(r);
        ctx.check(
            r["tags"] == s["tags"],
            || format!("{b}: tags sent {} received {}", s["tags"], r["tags"]),
            &[],
        );
        ctx.check(
            r["keys"] == s["keys"],
            || format!("{b}: keys sent {} received {}", s["keys"], r["keys"]),
            &[],
        );
        // A redelivery through %RETRY%<group> (the client failed to consume it once) carries the
        // retry queue's position, not the original one.
        if num(&r["reconsumeTimes"]).unwrap_or(0) > 0 {
            continue;
        }
        if let (Some(sq), Some(rq)) = (num(&s["queueId"]), num(&r["queueId"])) {
            ctx.check(sq == rq, || format!("{b}: queueId sent {sq} received {rq}"), &[]);
        }
        if let (Some(so), Some(ro)) = (num(&s["queueOffset"]), num(&r["queueOffset"])) {
            ctx.check(
                so == ro,
                || format!("{b}: queueOffset sent {so} received {ro}"),
                &[],
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Scenarios (shared by the three clients)

/// Produce with tags and keys, consume everything with "*": nothing lost, fields intact.
fn scenario_produce_consume(client: Client) {
    let test = format!("{}_produce_consume", client.name());
    let Some((_g, tools)) = prepare(&test) else { return };
    let mut ctx = Ctx::new(&test, tools, None);
    let topic = "InteropBasic";
    let sent = produce(
        &mut ctx,
        client,
        "produce",
        topic,
        "basic",
        60,
        &["--tags", "TagA,TagB,TagC"],
    );
    let lines = ctx.run_ok(
        client,
        "consume",
        &consume_args(topic, "g_basic", "60", &[]),
        T_CONSUME,
    );
    let recv = of_event(&lines, "recv");
    let want = bodies(&sent);
    let got = bodies(&recv);
    ctx.check(
        missing(&want, &got).is_empty(),
        || format!("lost messages: {:?}", missing(&want, &got)),
        &[],
    );
    ctx.check(
        got.iter().all(|b| want.contains(b)),
        || "received bodies that were never sent".into(),
        &[],
    );
    check_fields(&ctx, &sent, &recv);
}

/// Tag and multi-tag subscriptions: three groups at once on the same 60 messages.
fn scenario_tag_filter(client: Client) {
    let test = format!("{}_tag_filter", client.name());
    let Some((_g, tools)) = prepare(&test) else { return };
    let mut ctx = Ctx::new(&test, tools, None);
    let topic = "InteropTags";
    let sent = produce(
        &mut ctx,
        client,
        "produce",
        topic,
        "tag",
        60,
        &["--tags", "TagA,TagB,TagC"],
    );
    let expect = |tags: &[&str]| -> BTreeSet<String> {
        sent.iter()
            .filter(|s| tags.contains(&s["tags"].as_str().unwrap_or("")))
            .map(body)
            .collect()
    };
    let cases: Vec<(&str, &str, BTreeSet<String>)> = vec![
        ("g_tag_a", "TagA", expect(&["TagA"])),
        ("g_tag_ab", "TagA || TagB", expect(&["TagA", "TagB"])),
        ("g_tag_all", "*", expect(&["TagA", "TagB", "TagC"])),
    ];
    let mut procs = Vec::new();
    for (group, expr, _) in &cases {
        // Stop on idle rather than on a count, so stray extra messages are seen.
        let args = consume_args(topic, group, "1000000", &["--expr", expr, "--idle", "6"]);
        procs.push(ctx.spawn(client, "consume", &args));
    }
    for (p, (group, expr, want)) in procs.iter_mut().zip(&cases) {
        let _ = p.wait(T_CONSUME);
        let p: &Proc = p;
        let got = bodies(&p.events("recv"));
        let extra: Vec<_> = got.difference(want).take(10).cloned().collect();
        ctx.check(
            missing(want, &got).is_empty(),
            || format!("{group} ({expr}): missing {:?}", missing(want, &got)),
            &[p],
        );
        ctx.check(
            extra.is_empty(),
            || format!("{group} ({expr}): got messages outside the filter: {extra:?}"),
            &[p],
        );
    }
}

/// Offsets resume: a consumer that stopped after batch 1 gets exactly batch 2 when restarted.
fn scenario_offsets_resume(client: Client) {
    let test = format!("{}_offsets_resume", client.name());
    let Some((_g, tools)) = prepare(&test) else { return };
    let mut ctx = Ctx::new(&test, tools, None);
    let topic = "InteropResume";
    let group = "g_resume";
    let first = produce(&mut ctx, client, "produce", topic, "one", 40, &[]);
    // The grace outlasts the clients' 5 s periodic offset commit, in addition to the commit on
    // shutdown.
    let lines = ctx.run_ok(
        client,
        "consume",
        &consume_args(topic, group, "40", &["--grace-ms", "6000"]),
        T_CONSUME,
    );
    let got1 = bodies(&of_event(&lines, "recv"));
    let want1 = bodies(&first);
    ctx.check(
        missing(&want1, &got1).is_empty(),
        || format!("run 1 missing {:?}", missing(&want1, &got1)),
        &[],
    );
    let second = produce(&mut ctx, client, "produce", topic, "two", 40, &[]);
    let mut p = ctx.spawn(
        client,
        "consume",
        &consume_args(topic, group, "1000000", &["--idle", "6"]),
    );
    let _ = p.wait(T_CONSUME);
    let got2 = bodies(&p.events("recv"));
    let want2 = bodies(&second);
    ctx.check(
        missing(&want2, &got2).is_empty(),
        || format!("run 2 missing {:?}", missing(&want2, &got2)),
        &[&p],
    );
    let again: Vec<_> = got2.intersection(&want1).take(10).cloned().collect();
    ctx.check(
        again.is_empty(),
        || {
            format!(
                "run 2 re-delivered {} messages of run 1 (offsets not resumed), e.g. {again:?}",
                got2.intersection(&want1).count()
            )
        },
        &[&p],
    );
}

/// Two consumers of one group split the topic's queues and together get everything.
fn scenario_two_consumers_split(client: Client) {
    let test = format!("{}_two_consumers_split", client.name());
    let Some((_g, tools)) = prepare(&test) else { return };
    let mut ctx = Ctx::new(&test, tools, None);
    let topic = "InteropSplit";
    create_topic(&mut ctx, client, topic);
    let args = consume_args(topic, "g_split", "1000000", &["--timeout", "150"]);
    let mut a = ctx.spawn(client, "consume", &args);
    let mut b = ctx.spawn(client, "consume", &args);
    let started = |l: &[Value]| l.iter().any(|v| v["event"] == "started");
    ctx.check(
        a.wait_for(Duration::from_secs(30), started),
        || "consumer A did not start".into(),
        &[&a],
    );
    ctx.check(
        b.wait_for(Duration::from_secs(30), started),
        || "consumer B did not start".into(),
        &[&b],
    );
    thread::sleep(client.settle());
    let sent = produce(&mut ctx, client, "produce", topic, "split", 80, &[]);
    let want = bodies(&sent);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut got = bodies(&a.events("recv"));
        got.extend(bodies(&b.events("recv")));
        if want.is_subset(&got) || Instant::now() >= deadline {
            break;
        }
        thread::sleep(Duration::from_millis(200));
    }
    thread::sleep(Duration::from_secs(1));
    a.kill();
    b.kill();
    let (ra, rb) = (a.events("recv"), b.events("recv"));
    let ga: BTreeSet<String> = bodies(&ra).intersection(&want).cloned().collect();
    let gb: BTreeSet<String> = bodies(&rb).intersection(&want).cloned().collect();
    let all: BTreeSet<String> = ga.union(&gb).cloned().collect();
    ctx.check(
        missing(&want, &all).is_empty(),
        || format!("together they missed {:?}", missing(&want, &all)),
        &[&a, &b],
    );
    let only = |r: &[Value]| -> BTreeSet<i64> {
        r.iter()
            .filter(|v| want.contains(&body(v)))
            .filter_map(|v| num(&v["queueId"]))
            .collect()
    };
    let (qa, qb) = (only(&ra), only(&rb));
    ctx.check(
        !ga.is_empty() && !gb.is_empty(),
        || format!("one consumer got nothing: A {} B {} messages", ga.len(), gb.len()),
        &[&a, &b],
    );
    ctx.check(
        qa.is_disjoint(&qb),
        || format!("both consumers pulled the same queue: A {qa:?} B {qb:?}"),
        &[&a, &b],
    );
}

/// Broadcasting: every consumer of the group gets every message.
fn scenario_broadcast(client: Client) {
    let test = format!("{}_broadcast", client.name());
    let Some((_g, tools)) = prepare(&test) else { return };
    let mut ctx = Ctx::new(&test, tools, None);
    let topic = "InteropBroadcast";
    create_topic(&mut ctx, client, topic);
    let args = consume_args(
        topic,
        "g_broadcast",
        "1000000",
        &["--model", "broadcasting", "--timeout", "150"],
    );
    let mut a = ctx.spawn(client, "consume", &args);
    let mut b = ctx.spawn(client, "consume", &args);
    let started = |l: &[Value]| l.iter().any(|v| v["event"] == "started");
    ctx.check(
        a.wait_for(Duration::from_secs(30), started),
        || "consumer A did not start".into(),
        &[&a],
    );
    ctx.check(
        b.wait_for(Duration::from_secs(30), started),
        || "consumer B did not start".into(),
        &[&b],
    );
    thread::sleep(client.settle());
    let sent = produce(&mut ctx, client, "produce", topic, "bcast", 40, &[]);
    let want = bodies(&sent);
    let has_all = |l: &[Value]| want.is_subset(&bodies(&of_event(l, "recv")));
    let ok_a = a.wait_for(Duration::from_secs(60), has_all);
    let ok_b = b.wait_for(Duration::from_secs(30), has_all);
    a.kill();
    b.kill();
    let (ga, gb) = (bodies(&a.events("recv")), bodies(&b.events("recv")));
    ctx.check(
        ok_a,
        || format!("broadcast consumer A missed {:?}", missing(&want, &ga)),
        &[&a],
    );
    ctx.check(
        ok_b,
        || format!("broadcast consumer B missed {:?}", missing(&want, &gb)),
        &[&b],
    );
}

/// Ordered messages: a queue selector keyed by order id, consumed orderly, keep per-key order.
fn scenario_ordered(client: Client) {
    let test = format!("{}_ordered", client.name());
    let Some((_g, tools)) = prepare(&test) else { return };
    let mut ctx = Ctx::new(&test, tools, None);
    let topic = "InteropOrdered";
    let shards = 4u64;
    let sent = produce(
        &mut ctx,
        client,
        client.ordered_produce(),
        topic,
        "ord",
        80,
        &["--shards", "4"],
    );
    // Every shard's messages went to one queue (where the producer reports the queue).
    let mut shard_queue: HashMap<u64, BTreeSet<i64>> = HashMap::new();
    for s in &sent {
        if let Some(q) = num(&s["queueId"]) {
            shard_queue
                .entry(index_of(&body(s)) % shards)
                .or_default()
                .insert(q);
        }
    }
    for (shard, qs) in &shard_queue {
        ctx.check(
            qs.len() == 1,
            || format!("shard {shard} was sent to several queues {qs:?}"),
            &[],
        );
    }
    let lines = ctx.run_ok(
        client,
        client.orderly_consume(),
        &consume_args(topic, "g_ordered", "80", &[]),
        T_CONSUME,
    );
    let recv = of_event(&lines, "recv");
    let want = bodies(&sent);
    let got = bodies(&recv);
    ctx.check(
        missing(&want, &got).is_empty(),
        || format!("lost ordered messages {:?}", missing(&want, &got)),
        &[],
    );
    // First deliveries, in arrival order, must be increasing within each shard.
    let mut seen = BTreeSet::new();
    let mut last: HashMap<u64, u64> = HashMap::new();
    for r in &recv {
        let b = body(r);
        if !want.contains(&b) || !seen.insert(b.clone()) {
            continue;
        }
        let i = index_of(&b);
        let shard = i % shards;
        if let Some(prev) = last.get(&shard) {
            ctx.check(
                i > *prev,
                || format!("shard {shard}: {b} arrived after index {prev}"),
                &[],
            );
        }
        last.insert(shard, i);
    }
}

// ---------------------------------------------------------------------------------------------
// ali-ons (js)

#[test]
fn js_produce_consume() {
    scenario_produce_consume(Client::Js);
}
#[test]
fn js_tag_filter() {
    scenario_tag_filter(Client::Js);
}
#[test]
fn js_offsets_resume() {
    scenario_offsets_resume(Client::Js);
}
#[test]
fn js_two_consumers_split() {
    scenario_two_consumers_split(Client::Js);
}
#[test]
fn js_broadcast() {
    scenario_broadcast(Client::Js);
}
#[test]
fn js_ordered() {
    scenario_ordered(Client::Js);
}

// ---------------------------------------------------------------------------------------------
// rocketmq / C++ client (py)

#[test]
fn py_produce_consume() {
    scenario_produce_consume(Client::Py);
}
#[test]
fn py_tag_filter() {
    scenario_tag_filter(Client::Py);
}
#[test]
fn py_offsets_resume() {
    scenario_offsets_resume(Client::Py);
}
#[test]
fn py_two_consumers_split() {
    scenario_two_consumers_split(Client::Py);
}
#[test]
fn py_broadcast() {
    scenario_broadcast(Client::Py);
}
#[test]
fn py_ordered() {
    scenario_ordered(Client::Py);
}

/// The C++ client's batch send (its own batch encoding) arrives complete.
#[test]
fn py_batch() {
    let test = "py_batch";
    let Some((_g, tools)) = prepare(test) else { return };
    let mut ctx = Ctx::new(test, tools, None);
    let topic = "InteropPyBatch";
    create_topic(&mut ctx, Client::Py, topic);
    let sent = produce(
        &mut ctx,
        Client::Py,
        "produce-batch",
        topic,
        "pybatch",
        40,
        &["--batch-size", "8", "--tags", "TagA,TagB"],
    );
    let lines = ctx.run_ok(
        Client::Py,
        "consume",
        &consume_args(topic, "g_pybatch", "40", &["--expr", "TagA || TagB"]),
        T_CONSUME,
    );
    let recv = of_event(&lines, "recv");
    let (want, got) = (bodies(&sent), bodies(&recv));
    ctx.check(
        missing(&want, &got).is_empty(),
        || format!("lost batch messages {:?}", missing(&want, &got)),
        &[],
    );
    // Tags and keys survive the C++ client's batch encoding (its batch result's offsets are not
    // compared: they are per batch, not per message).
    let tags_keys: Vec<Value> = sent
        .iter()
        .map(|s| {
            let mut s = s.clone();
            s["queueOffset"] = Value::Null;
            s
        })
        .collect();
    check_fields(&ctx, &tags_keys, &recv);
}

// ---------------------------------------------------------------------------------------------
// rocketmq-client-rust

#[test]
fn rust_produce_consume() {
    scenario_produce_consume(Client::Rust);
}
#[test]
fn rust_tag_filter() {
    scenario_tag_filter(Client::Rust);
}
#[test]
fn rust_offsets_resume() {
    scenario_offsets_resume(Client::Rust);
}
#[test]
fn rust_two_consumers_split() {
    scenario_two_consumers_split(Client::Rust);
}
#[test]
fn rust_broadcast() {
    scenario_broadcast(Client::Rust);
}
#[test]
fn rust_ordered() {
    scenario_ordered(Client::Rust);
}

/// send_batch (SEND_BATCH_MESSAGE) and async sends: everything arrives, offsets match.
#[test]
fn rust_batch_and_async() {
    let test = "rust_batch_and_async";
    let Some((_g, tools)) = prepare(test) else { return };
    let mut ctx = Ctx::new(test, tools, None);
    let topic = "InteropBatchAsync";
    let mut sent = produce(
        &mut ctx,
        Client::Rust,
        "produce-batch",
        topic,
        "batch",
        50,
        &["--batch-size", "10", "--tags", "TagA,TagB"],
    );
    sent.extend(produce(
        &mut ctx,
        Client::Rust,
        "produce-async",
        topic,
        "async",
        50,
        &["--tags", "TagA,TagB"],
    ));
    let lines = ctx.run_ok(
        Client::Rust,
        "consume",
        &consume_args(topic, "g_batch_async", "100", &[]),
        T_CONSUME,
    );
    let recv = of_event(&lines, "recv");
    let (want, got) = (bodies(&sent), bodies(&recv));
    ctx.check(
        missing(&want, &got).is_empty(),
        || format!("lost {:?}", missing(&want, &got)),
        &[],
    );
    check_fields(&ctx, &sent, &recv);
    // A batch lands contiguously in one queue.
    for chunk in of_event(&sent, "sent")
        .iter()
        .filter(|s| s["mode"] == "batch")
        .collect::<Vec<_>>()
        .chunks(10)
    {
        let qs: BTreeSet<i64> = chunk.iter().filter_map(|s| num(&s["queueId"])).collect();
        ctx.check(
            qs.len() <= 1,
            || format!("one batch spread over queues {qs:?}"),
            &[],
        );
    }
}

/// QUERY_MESSAGE by key and VIEW_MESSAGE_BY_ID (offset id and unique id) — for messages sent by
/// each of the three clients (the broker indexes KEYS and UNIQ_KEY whoever sent them).
#[test]
fn rust_query_by_key_and_id() {
    let test = "rust_query_by_key_and_id";
    let Some((_g, tools)) = prepare(test) else { return };
    let mut ctx = Ctx::new(test, tools, None);
    let topic = "InteropQuery";
    let mut sent = produce(&mut ctx, Client::Rust, "produce", topic, "qrust", 5, &[]);
    sent.extend(produce(&mut ctx, Client::Js, "produce", topic, "qjs", 3, &[]));
    sent.extend(produce(&mut ctx, Client::Py, "produce", topic, "qpy", 3, &[]));
    // The index is built asynchronously after the append: allow a few tries.
    let keys: Vec<String> = sent
        .iter()
        .map(|s| s["keys"].as_str().unwrap_or_default().to_string())
        .collect();
    let mut args: Vec<String> = vec!["--topic".into(), topic.into()];
    for k in &keys {
        args.push("--key".into());
        args.push(k.clone());
    }
    // (option, id field, query tag) per message looked up by id: the offset id (store address +
    // commit-log offset, VIEW_MESSAGE_BY_ID) and the unique id (UNIQ_KEY, QUERY_MESSAGE with the
    // unique-key flag). ali-ons reports only the offset id; the C++ client only the unique id.
    let mut by_id: Vec<(&'static str, String, Value)> = Vec::new();
    for s in &sent {
        let first_of_client = sent.iter().find(|x| x["client"] == s["client"]).map(body) == Some(body(s));
        if !first_of_client {
            continue;
        }
        let fields: &[(&str, &str, &str)] = match s["client"].as_str() {
            Some("rust") => &[
                ("--msg-id", "offsetMsgId", "msgId"),
                ("--uniq-id", "id", "uniqId"),
            ],
            Some("js") => &[("--msg-id", "offsetMsgId", "msgId")],
            _ => &[("--uniq-id", "id", "uniqId")],
        };
        for (opt, field, tag) in fields {
            if let Some(id) = s[*field].as_str() {
                args.push(opt.to_string());
                args.push(id.to_string());
                by_id.push((tag, id.to_string(), s.clone()));
            }
        }
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut last = Vec::new();
    for attempt in 0..5 {
        let mut p = ctx.spawn(Client::Rust, "query", &argv);
        let status = p.wait(Duration::from_secs(60));
        last = p.snapshot();
        if status.is_some_and(|s| s.success()) {
            break;
        }
        if attempt == 4 {
            ctx.fail("query by key / id did not find every message", &[&p]);
        }
        thread::sleep(Duration::from_secs(2));
    }
    let found = of_event(&last, "found");
    for s in &sent {
        let k = s["keys"].as_str().unwrap_or_default();
        let hit = found.iter().any(|f| f["query"]["key"] == k && body(f) == body(s));
        ctx.check(
            hit,
            || {
                format!(
                    "query by key {k} ({} sent it) did not return {}",
                    s["client"],
                    body(s)
                )
            },
            &[],
        );
    }
    for (tag, id, s) in &by_id {
        let hit = found
            .iter()
            .any(|f| f["query"][*tag] == id.as_str() && body(f) == body(s));
        ctx.check(
            hit,
            || {
                format!(
                    "lookup by {tag} {id} ({} sent it) did not return {}",
                    s["client"],
                    body(s)
                )
            },
            &[],
        );
    }
}

/// Not a pass/fail test: 16 concurrent sync senders of 1 KiB for 10 s; prints the summary.
/// `cargo test --test interop -- --ignored --nocapture rust_throughput`
#[test]
#[ignore]
fn rust_throughput() {
    let test = "rust_throughput";
    let Some((_g, tools)) = prepare(test) else { return };
    let mut ctx = Ctx::new(test, tools, None);
    let lines = ctx.run_ok(
        Client::Rust,
        "throughput",
        &[
            "--topic",
            "InteropBench",
            "--senders",
            "16",
            "--size",
            "1024",
            "--duration",
            "10",
            "--timeout",
            "30",
        ],
        Duration::from_secs(90),
    );
    for l in of_event(&lines, "throughput") {
        eprintln!("interop: throughput {l}");
        println!("{l}");
    }
}

// ---------------------------------------------------------------------------------------------
// Scheduled messages: delay levels, timers, retries and DLQ, transactions (issue #4)

/// A quick `messageDelayLevel` table: level 1 = 1 s, 2 = 2 s, 3 = 3 s, every other level 1 s.
const FAST_LEVELS: &str = "1s 2s 3s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s";
/// For retries: a failed delivery with reconsumeTimes n comes back after level 3 + n, here
/// 4 s for the first retry and 1 s for the second, so the two are told apart.
const RETRY_LEVELS: &str = "1s 2s 4s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s";

/// A scheduled message must be stored in its real topic at its time and within this after it.
const SCHEDULE_LATE_MS: i64 = 1000;
/// On top of that: timing noise on a loaded 2-core machine.
const SCHEDULE_SLACK_MS: i64 = 500;
/// From being stored in the real topic to a long-polling consumer's listener (client pull
/// scheduling; the broker itself should wake the parked pull at once).
const CONSUME_LATENCY_MS: i64 = 3000;
/// From a failed delivery to the client's CONSUMER_SEND_MSG_BACK reaching the broker.
const SEND_BACK_MS: i64 = 1500;
/// Tolerance when comparing clocks read by different processes (all read the same wall clock).
const CLOCK_MS: i64 = 50;

/// Milliseconds since the epoch, the clock the drivers print.
fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A `messageDelayLevel` value ("1s 2s 500ms 1m 2h 1d") as milliseconds, level 1 first.
fn delay_levels_ms(table: &str) -> Vec<i64> {
    table
        .split_whitespace()
        .map(|t| {
            let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
            let (n, unit) = t.split_at(split);
            let n: i64 = n.parse().unwrap_or_else(|_| panic!("bad delay level {t}"));
            n * match unit {
                "ms" => 1,
                "s" => 1000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                _ => panic!("bad delay level unit in {t}"),
            }
        })
        .collect()
}

fn level_ms(levels: &[i64], level: i64) -> i64 {
    let i = level.clamp(1, levels.len() as i64) - 1;
    levels[i as usize]
}

/// When a scheduled message (a driver's sent line with --delay) may be stored in its topic.
struct Due {
    what: String,
    /// Not before this (epoch ms).
    earliest: i64,
    /// At the latest this + SCHEDULE_LATE_MS (+ slack).
    latest: i64,
    /// Relative delays: storeTimestamp - bornTimestamp is at least this.
    relative: Option<i64>,
}

fn due_of(s: &Value, levels: &[i64]) -> Option<Due> {
    let send = num(&s["sendTs"])?;
    let ack = num(&s["ts"]).unwrap_or(send);
    let what = s["delay"].as_str()?.to_string();
    if let Some(at) = num(&s["deliverAt"]) {
        return Some(Due {
            what,
            earliest: at,
            latest: at.max(ack),
            relative: None,
        });
    }
    let d = match num(&s["delayLevel"]) {
        Some(l) => level_ms(levels, l),
        None => num(&s["delayMs"])?,
    };
    Some(Due {
        what,
        earliest: send + d,
        latest: ack + d,
        relative: Some(d),
    })
}

struct SchedCheck<'a> {
    levels: &'a [i64],
    /// After a restart: when the broker accepted connections again (overdue messages are due
    /// then), and whether duplicates are tolerated.
    restarted_at: Option<i64>,
    /// Check the consumer's receive time against the upper bound too.
    wall_upper: bool,
}

/// Every scheduled message among `sent` reached the consumer (`recv`) through its real topic,
/// stored not before its time and within SCHEDULE_LATE_MS after it (both by storeTimestamp and,
/// more loosely, by the consumer's wall clock), with body, tags, keys, unique id and born
/// timestamp kept.
fn check_schedule(ctx: &Ctx, sent: &[Value], recv: &[Value], how: &SchedCheck, procs: &[&Proc]) {
    let mut checked = 0;
    for s in sent {
        let Some(due) = due_of(s, how.levels) else {
            continue;
        };
        checked += 1;
        let b = body(s);
        let topic = s["topic"].as_str().unwrap_or_default();
        let copies: Vec<&Value> = recv
            .iter()
            .filter(|r| body(r) == b && r["topic"] == topic)
            .collect();
        ctx.check(
            !copies.is_empty(),
            || format!("{b} ({}) was never delivered to {topic}", due.what),
            procs,
        );
        let stored: BTreeSet<(i64, i64)> = copies
            .iter()
            .map(|r| {
                (
                    num(&r["queueId"]).unwrap_or(-1),
                    num(&r["queueOffset"]).unwrap_or(-1),
                )
            })
            .collect();
        if how.restarted_at.is_none() {
            ctx.check(
                stored.len() == 1,
                || {
                    format!(
                        "{b} ({}) was stored {} times in {topic}: {stored:?}",
                        due.what,
                        stored.len()
                    )
                },
                procs,
            );
        } else if stored.len() > 1 {
            eprintln!(
                "interop: {}: {b} stored {} times after the restart",
                ctx.test,
                stored.len()
            );
        }
        let Some(r) = copies
            .iter()
            .min_by_key(|r| num(&r["storeTimestamp"]).unwrap_or(i64::MAX))
            .copied()
        else {
            continue;
        };
        let (Some(store), Some(born), Some(at)) =
            (num(&r["storeTimestamp"]), num(&r["bornTimestamp"]), num(&r["ts"]))
        else {
            ctx.fail(
                &format!("{b}: the consumer did not report timestamps: {r}"),
                procs,
            );
        };
        let send = num(&s["sendTs"]).unwrap_or(0);
        let ack = num(&s["ts"]).unwrap_or(send);
        let latest = due.latest.max(how.restarted_at.unwrap_or(0));
        let recovery = if how.restarted_at.is_some() { 2000 } else { 0 };
        ctx.check(
            store >= due.earliest,
            || {
                format!(
                    "{b} ({}) was stored in {topic} at {store}, {} ms before its time {}",
                    due.what,
                    due.earliest - store,
                    due.earliest
                )
            },
            procs,
        );
        if let Some(d) = due.relative {
            ctx.check(
                store - born >= d,
                || {
                    format!(
                        "{b} ({}): storeTimestamp - bornTimestamp = {} ms, less than the delay {d} ms",
                        due.what,
                        store - born
                    )
                },
                procs,
            );
        }
        ctx.check(
            store <= latest + SCHEDULE_LATE_MS + SCHEDULE_SLACK_MS + recovery,
            || {
                format!(
                    "{b} ({}) was stored at {store}, {} ms after its time {latest} (allowed: {} ms)",
                    due.what,
                    store - latest,
                    SCHEDULE_LATE_MS + SCHEDULE_SLACK_MS + recovery
                )
            },
            procs,
        );
        ctx.check(
            born >= send - CLOCK_MS && born <= ack + CLOCK_MS,
            || {
                format!(
                    "{b} ({}): bornTimestamp {born} is not the producer's (sent between {send} and {ack})",
                    due.what
                )
            },
            procs,
        );
        ctx.check(
            at >= due.earliest,
            || {
                format!(
                    "{b} ({}) reached the consumer at {at}, {} ms before its time",
                    due.what,
                    due.earliest - at
                )
            },
            procs,
        );
        if how.wall_upper {
            let bound = latest + SCHEDULE_LATE_MS + SCHEDULE_SLACK_MS + CONSUME_LATENCY_MS;
            ctx.check(
                at <= bound,
                || {
                    format!(
                        "{b} ({}) reached the consumer at {at}, {} ms after its time {latest} \
                         (allowed {} ms; stored at {store})",
                        due.what,
                        at - latest,
                        bound - latest
                    )
                },
                procs,
            );
        }
        ctx.check(
            r["tags"] == s["tags"] && r["keys"] == s["keys"],
            || {
                format!(
                    "{b}: tags/keys sent {}/{} received {}/{}",
                    s["tags"], s["keys"], r["tags"], r["keys"]
                )
            },
            procs,
        );
        // A delay level keeps the queue the producer chose (REAL_QID); where a timer lands is
        // the broker's choice.
        if let (Some(_), Some(sq), Some(rq)) = (num(&s["delayLevel"]), num(&s["queueId"]), num(&r["queueId"]))
        {
            ctx.check(
                sq == rq,
                || {
                    format!(
                        "{b} ({}): sent to queue {sq}, delivered from queue {rq}",
                        due.what
                    )
                },
                procs,
            );
        }
        // ali-ons does not report the unique id of what it sent.
        if s["client"] != "js" {
            ctx.check(
                s["id"].is_string() && r["uniqKey"] == s["id"],
                || format!("{b}: UNIQ_KEY sent {} received {}", s["id"], r["uniqKey"]),
                procs,
            );
        }
    }
    ctx.check(
        checked > 0,
        || "no scheduled message among the sent lines".into(),
        procs,
    );
}

/// Scheduled messages (`delay`: the drivers' --delay specs) sent by `client` to a consumer of
/// the same client that is already long-polling; checked by `check_schedule`.
fn scenario_schedule(client: Client, test: &str, topic: &str, delay: &str, n: u64) {
    let Some((_g, tools)) = prepare(test) else { return };
    let conf = format!("messageDelayLevel={FAST_LEVELS}\n");
    let levels = delay_levels_ms(FAST_LEVELS);
    let mut ctx = Ctx::new(test, tools, Some(conf.as_str()));
    create_topic(&mut ctx, client, topic);
    let all = (n + 1).to_string(); // and the warm-up message
    let mut c = ctx.spawn(
        client,
        "consume",
        &consume_args(topic, "g_sched", &all, &["--timeout", "70", "--grace-ms", "500"]),
    );
    // Once it has the warm-up message the consumer owns the topic's queues and long-polls them.
    let ready = c.wait_for(Duration::from_secs(45), |l| {
        l.iter().any(|v| v["event"] == "recv" && body(v) == "warmup-0")
    });
    ctx.check(
        ready,
        || "the consumer did not get the warm-up message".into(),
        &[&c],
    );
    let sent = produce(
        &mut ctx,
        client,
        "produce",
        topic,
        "sched",
        n,
        &["--delay", delay, "--tags", "TagA,TagB"],
    );
    let _ = c.wait(T_CONSUME);
    let recv = c.events("recv");
    check_schedule(
        &ctx,
        &sent,
        &recv,
        &SchedCheck {
            levels: &levels,
            restarted_at: None,
            wall_upper: true,
        },
        &[&c],
    );
}

/// Delay levels (DELAY property) from each client, with a fast level table in broker.conf.
#[test]
fn rust_delay_level() {
    scenario_schedule(
        Client::Rust,
        "rust_delay_level",
        "InteropDelay",
        "level:1,level:2,level:3",
        6,
    );
}
#[test]
fn py_delay_level() {
    scenario_schedule(Client::Py, "py_delay_level", "InteropDelay", "level:2,level:3", 4);
}
#[test]
fn js_delay_level() {
    scenario_schedule(Client::Js, "js_delay_level", "InteropDelay", "level:2,level:3", 4);
}

/// Timers: TIMER_DELIVER_MS (absolute), TIMER_DELAY_SEC, TIMER_DELAY_MS and __STARTDELIVERTIME
/// (absolute) set through rocketmq-client-rust's message API.
#[test]
fn rust_timer_properties() {
    scenario_schedule(
        Client::Rust,
        "rust_timer_properties",
        "InteropTimer",
        "deliver:+3000,delay-sec:2,delay-ms:2500,start:+3000",
        8,
    );
}
/// ali-ons's own timer API: Message#setStartDeliverTime (property __STARTDELIVERTIME).
#[test]
fn js_timer_start_deliver_time() {
    scenario_schedule(
        Client::Js,
        "js_timer_start_deliver_time",
        "InteropTimer",
        "start:+3000,start:+2000",
        4,
    );
}
/// TIMER_DELIVER_MS as a user property of the C++ client (it has no timer API of its own).
#[test]
fn py_timer_deliver_ms() {
    scenario_schedule(
        Client::Py,
        "py_timer_deliver_ms",
        "InteropTimer",
        "deliver:+3000,deliver:+2000",
        4,
    );
}

/// A consumer that fails every delivery: the client sends each message back
/// (CONSUMER_SEND_MSG_BACK, delay level 0 = the broker's choice, maxReconsumeTimes 2); it comes
/// back through %RETRY%<group> after delay level 3 + reconsumeTimes with reconsumeTimes one
/// higher, and after the last allowed attempt it lands in %DLQ%<group>, where a consumer of
/// another group reads it.
fn scenario_retry_dlq(client: Client) {
    let test = format!("{}_retry_dlq", client.name());
    let Some((_g, tools)) = prepare(&test) else { return };
    let conf = format!("messageDelayLevel={RETRY_LEVELS}\n");
    let levels = delay_levels_ms(RETRY_LEVELS);
    let mut ctx = Ctx::new(&test, tools, Some(conf.as_str()));
    let topic = "InteropRetry";
    let group = "g_retry";
    let max_rt: i64 = 2;
    create_topic(&mut ctx, client, topic);
    let sent = produce(
        &mut ctx,
        client,
        "produce",
        topic,
        "retry",
        3,
        &["--tags", "TagA,TagB"],
    );
    let sent_by_body = by_body(&sent);
    let mut want = bodies(&sent);
    want.insert("warmup-0".to_string()); // the failing consumer gets (and fails) it too
    let all = want.len().to_string();
    let max_s = max_rt.to_string();
    let mut f = ctx.spawn(
        client,
        "consume",
        &consume_args(
            topic,
            group,
            &all,
            &[
                "--fail",
                "--max-reconsume",
                max_s.as_str(),
                "--stop-at-reconsume",
                max_s.as_str(),
                // After the last failure: time for its send-back (to the DLQ), and to see a
                // redelivery that should not come.
                "--grace-ms",
                "4000",
                "--timeout",
                "90",
            ],
        ),
    );
    let _ = f.wait(Duration::from_secs(120));
    let frecv: Vec<Value> = f.events("recv");
    for b in &want {
        let mine: Vec<&Value> = frecv.iter().filter(|r| &body(r) == b).collect();
        let rts: BTreeSet<i64> = mine.iter().filter_map(|r| num(&r["reconsumeTimes"])).collect();
        let expect: BTreeSet<i64> = (0..=max_rt).collect();
        ctx.check(
            rts == expect,
            || {
                format!(
                    "{b}: deliveries with reconsumeTimes {rts:?}, want {expect:?} \
                     (maxReconsumeTimes {max_rt}, then %DLQ%{group})"
                )
            },
            &[&f],
        );
        for r in &mine {
            // The clients restore the original topic from RETRY_TOPIC.
            ctx.check(
                r["topic"] == topic,
                || {
                    format!(
                        "{b}: delivery {} came with topic {}",
                        r["reconsumeTimes"], r["topic"]
                    )
                },
                &[&f],
            );
            if let Some(s) = sent_by_body.get(b) {
                ctx.check(
                    r["keys"] == s["keys"] && r["tags"] == s["tags"],
                    || format!("{b}: redelivery lost tags/keys: {r}"),
                    &[&f],
                );
            }
        }
        let of_rt = |k: i64| {
            mine.iter()
                .filter(|r| num(&r["reconsumeTimes"]) == Some(k))
                .copied()
                .collect::<Vec<&Value>>()
        };
        for k in 1..=max_rt {
            let (prev, cur) = (of_rt(k - 1), of_rt(k));
            let first_fail = prev.iter().filter_map(|r| num(&r["ts"])).min().unwrap_or(0);
            let last_fail = prev.iter().filter_map(|r| num(&r["ts"])).max().unwrap_or(0);
            let store = cur
                .iter()
                .filter_map(|r| num(&r["storeTimestamp"]))
                .min()
                .unwrap_or(0);
            let level = 3 + (k - 1);
            let d = level_ms(&levels, level);
            ctx.check(
                store >= first_fail + d,
                || {
                    format!(
                        "{b}: retry {k} was stored in %RETRY%{group} {} ms after the failed delivery \
                         {}, before delay level {level} ({d} ms)",
                        store - first_fail,
                        k - 1
                    )
                },
                &[&f],
            );
            let allowed = d + SCHEDULE_LATE_MS + SCHEDULE_SLACK_MS + SEND_BACK_MS;
            ctx.check(
                store <= last_fail + allowed,
                || {
                    format!(
                        "{b}: retry {k} was stored {} ms after the failed delivery {} \
                         (delay level {level} = {d} ms; allowed {allowed} ms)",
                        store - last_fail,
                        k - 1
                    )
                },
                &[&f],
            );
        }
    }
    let last_fail: HashMap<String, i64> = want
        .iter()
        .map(|b| {
            let t = frecv
                .iter()
                .filter(|r| &body(r) == b && num(&r["reconsumeTimes"]) == Some(max_rt))
                .filter_map(|r| num(&r["ts"]))
                .min()
                .unwrap_or(0);
            (b.clone(), t)
        })
        .collect();

    // The dead-letter queue: a 1-queue topic readable by a consumer that subscribes to it.
    let dlq = format!("%DLQ%{group}");
    let mut d = ctx.spawn(
        client,
        "consume",
        &consume_args(&dlq, "g_dlq_reader", &all, &["--timeout", "60"]),
    );
    let _ = d.wait(T_CONSUME);
    let drecv = d.events("recv");
    let got = bodies(&drecv);
    ctx.check(
        missing(&want, &got).is_empty(),
        || format!("not found in {dlq}: {:?}", missing(&want, &got)),
        &[&f, &d],
    );
    for r in &drecv {
        let b = body(r);
        if !want.contains(&b) {
            continue;
        }
        ctx.check(
            r["topic"] == dlq.as_str(),
            || format!("{b}: read from {dlq} with topic {}", r["topic"]),
            &[&d],
        );
        let store = num(&r["storeTimestamp"]).unwrap_or(0);
        let failed_at = last_fail.get(&b).copied().unwrap_or(0);
        ctx.check(
            store >= failed_at - CLOCK_MS,
            || format!("{b}: stored in {dlq} at {store}, before its last failed delivery at {failed_at}"),
            &[&d],
        );
        if let Some(s) = sent_by_body.get(&b) {
            ctx.check(
                r["keys"] == s["keys"] && r["tags"] == s["tags"],
                || format!("{b}: the DLQ copy lost tags/keys: {r}"),
                &[&d],
            );
        }
    }
    let queues: BTreeSet<i64> = drecv.iter().filter_map(|r| num(&r["queueId"])).collect();
    ctx.check(
        queues.len() <= 1,
        || format!("{dlq} should have one queue; messages came from queues {queues:?}"),
        &[&d],
    );
}

/// rocketmq-client-rust: ReconsumeLater, max_reconsume_times(2).
#[test]
fn rust_retry_dlq() {
    scenario_retry_dlq(Client::Rust);
}
/// ali-ons: the handler throws, maxReconsumeTimes 2.
#[test]
fn js_retry_dlq() {
    scenario_retry_dlq(Client::Js);
}

/// Transactional messages (rocketmq-client-rust): a committed half is delivered once; a
/// rolled-back one never; one left Unknown is checked back (CHECK_TRANSACTION_STATE) after
/// transactionTimeOut and the producer's answer (commit or rollback) is applied; one whose
/// check-backs keep answering Unknown is checked at most transactionCheckMax times and never
/// delivered. Halves decided by END_TRANSACTION are never checked.
#[test]
fn rust_transaction() {
    let test = "rust_transaction";
    let Some((_g, tools)) = prepare(test) else { return };
    let check_max = 3;
    let conf =
        format!("transactionTimeOut=1000\ntransactionCheckInterval=1000\ntransactionCheckMax={check_max}\n");
    let mut ctx = Ctx::new(test, tools, Some(conf.as_str()));
    let topic = "InteropTx";
    create_topic(&mut ctx, Client::Rust, topic);
    let mut p = ctx.spawn(
        Client::Rust,
        "produce-transaction",
        &[
            "--topic",
            topic,
            "--group",
            "g_tx_producer",
            "--prefix",
            "tx",
            "--count",
            "20",
            "--tags",
            "TagA,TagB",
            "--tx",
            "commit,rollback,unknown-commit,unknown-rollback,unknown",
            // After the Unknown ones are answered: long enough to see every check-back of the
            // ones that stay Unknown (one per second or so, at most transactionCheckMax).
            "--linger-ms",
            "6000",
            "--timeout",
            "60",
        ],
    );
    let status = p.wait(Duration::from_secs(90));
    let lines = p.snapshot();
    let sent = of_event(&lines, "sent");
    ctx.check(
        sent.len() == 20,
        || {
            format!(
                "{} of 20 transactional sends acknowledged (status {status:?})",
                sent.len()
            )
        },
        &[&p],
    );
    let checks = of_event(&lines, "check");
    fn plan_of(s: &Value) -> String {
        s["tx"].as_str().unwrap_or_default().to_string()
    }
    let with_plan = |plans: &[&str]| -> BTreeSet<String> {
        sent.iter()
            .filter(|s| plans.contains(&plan_of(s).as_str()))
            .map(body)
            .collect()
    };
    let committed = with_plan(&["commit", "unknown-commit"]);
    let not_committed = with_plan(&["rollback", "unknown-rollback", "unknown"]);
    for s in &sent {
        let b = body(s);
        let plan = plan_of(s);
        let mine: Vec<&Value> = checks.iter().filter(|c| body(c) == b).collect();
        match plan.as_str() {
            "commit" | "rollback" => ctx.check(
                mine.is_empty(),
                || format!("{b} was decided ({plan}) by END_TRANSACTION but checked back {} times", mine.len()),
                &[&p],
            ),
            "unknown-commit" | "unknown-rollback" => {
                let answer = if plan == "unknown-commit" { "commit" } else { "rollback" };
                ctx.check(
                    mine.iter().any(|c| c["answer"] == answer),
                    || format!("{b} was left Unknown but never checked back (checks: {mine:?})"),
                    &[&p],
                );
            }
            _ => ctx.check(
                !mine.is_empty() && mine.len() <= check_max,
                || {
                    format!(
                        "{b} stays Unknown: checked back {} times, want 1..={check_max} (transactionCheckMax)",
                        mine.len()
                    )
                },
                &[&p],
            ),
        }
        for c in mine {
            ctx.check(
                c["topic"] == topic && c["id"] == s["id"],
                || {
                    format!(
                        "{b}: check-back names topic {} and UNIQ_KEY {}, sent {topic} / {}",
                        c["topic"], c["id"], s["id"]
                    )
                },
                &[&p],
            );
        }
    }
    let mut c = ctx.spawn(
        Client::Rust,
        "consume",
        &consume_args(topic, "g_tx", "1000000", &["--idle", "8", "--timeout", "60"]),
    );
    let _ = c.wait(T_CONSUME);
    let recv = c.events("recv");
    let got = bodies(&recv);
    ctx.check(
        missing(&committed, &got).is_empty(),
        || format!("committed but not delivered: {:?}", missing(&committed, &got)),
        &[&p, &c],
    );
    let leaked: Vec<_> = got.intersection(&not_committed).cloned().collect();
    ctx.check(
        leaked.is_empty(),
        || format!("rolled back (or never committed) but delivered: {leaked:?}"),
        &[&p, &c],
    );
    let sent_by_body = by_body(&sent);
    for b in &committed {
        let copies: Vec<&Value> = recv.iter().filter(|r| &body(r) == b).collect();
        let stored: BTreeSet<(i64, i64)> = copies
            .iter()
            .map(|r| {
                (
                    num(&r["queueId"]).unwrap_or(-1),
                    num(&r["queueOffset"]).unwrap_or(-1),
                )
            })
            .collect();
        ctx.check(
            stored.len() == 1,
            || {
                format!(
                    "{b} was committed into the topic {} times: {stored:?}",
                    stored.len()
                )
            },
            &[&c],
        );
        let (Some(r), Some(s)) = (copies.first(), sent_by_body.get(b)) else {
            continue;
        };
        ctx.check(
            r["tags"] == s["tags"] && r["keys"] == s["keys"] && r["uniqKey"] == s["id"],
            || {
                format!(
                    "{b}: sent tags/keys/id {}/{}/{} received {}/{}/{}",
                    s["tags"], s["keys"], s["id"], r["tags"], r["keys"], r["uniqKey"]
                )
            },
            &[&c],
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Durability

/// SYNC_FLUSH: a producer sends in the background, the broker is killed with SIGKILL
/// mid-stream and restarted on the same data directory and ports; every message whose send the
/// producer saw acknowledged must be consumable afterwards.
#[test]
fn durability_sync_flush_kill9() {
    let test = "durability_sync_flush_kill9";
    let Some((_g, tools)) = prepare(test) else { return };
    let mut ctx = Ctx::new(test, tools, Some("flushDiskType=SYNC_FLUSH\n"));
    let topic = "InteropDurable";
    create_topic(&mut ctx, Client::Rust, topic);
    let mut producer = ctx.spawn(
        Client::Rust,
        "produce",
        &[
            "--topic",
            topic,
            "--prefix",
            "dur",
            "--count",
            "600",
            "--interval-ms",
            "20",
            "--continue-on-error",
            "--timeout",
            "100",
        ],
    );
    let acked = |n: usize| move |l: &[Value]| l.iter().filter(|v| v["event"] == "sent").count() >= n;
    ctx.check(
        producer.wait_for(Duration::from_secs(60), acked(150)),
        || "producer did not get 150 acks".into(),
        &[&producer],
    );
    let before_kill = producer.events("sent").len();
    ctx.broker.kill9();
    eprintln!("interop: {test}: broker killed with SIGKILL after {before_kill} acknowledged sends");
    thread::sleep(Duration::from_millis(500));
    ctx.broker.start();
    eprintln!("interop: {test}: broker restarted");
    let status = producer.wait(Duration::from_secs(120));
    let sent = producer.events("sent");
    let failed = producer.events("send_failed").len();
    eprintln!(
        "interop: {test}: producer {status:?}: {} acknowledged, {failed} failed",
        sent.len()
    );
    // Appends continue after the restart. The producer that lived through the kill may not
    // reconnect in time (rocketmq-client-rust opens a circuit breaker after failed connects), so
    // a fresh producer must get every send acknowledged.
    let mut after = ctx.spawn(
        Client::Rust,
        "produce",
        &[
            "--topic",
            topic,
            "--prefix",
            "after",
            "--count",
            "20",
            "--timeout",
            "60",
        ],
    );
    let _ = after.wait(Duration::from_secs(90));
    let sent_after = after.events("sent");
    ctx.check(
        sent_after.len() == 20,
        || {
            format!(
                "only {} of 20 sends acknowledged after the restart",
                sent_after.len()
            )
        },
        &[&after],
    );
    let mut want = bodies(&sent);
    want.extend(bodies(&sent_after));
    let mut c = ctx.spawn(
        Client::Rust,
        "consume",
        &consume_args(topic, "g_durable", "620", &["--idle", "10", "--timeout", "90"]),
    );
    let _ = c.wait(T_CONSUME);
    let got = bodies(&c.events("recv"));
    let lost = missing(&want, &got);
    ctx.check(
        lost.is_empty(),
        || {
            format!(
                "{} acknowledged messages lost after kill -9 (e.g. {lost:?})",
                want.difference(&got).count()
            )
        },
        &[&producer, &c],
    );
}

/// Scheduled work survives `kill -9`: delay-level and timer messages not yet due and half
/// messages not yet resolved when the broker is killed are all there after the restart on the
/// same data directory: every delayed/timer message is delivered (not before its time), every
/// half left Unknown is checked back and committed by a new producer of the same group, and the
/// halves committed or rolled back before the kill are neither checked again nor resurrected.
#[test]
fn durability_schedule_kill9() {
    let test = "durability_schedule_kill9";
    let Some((_g, tools)) = prepare(test) else { return };
    // Level 11 = 15 s: due well after the restart.
    let table = "1s 2s 3s 4s 5s 6s 7s 8s 9s 10s 15s 20s 30s 1m 2m 3m 4m 5m";
    let levels = delay_levels_ms(table);
    let conf = format!(
        "messageDelayLevel={table}\ntransactionTimeOut=1000\ntransactionCheckInterval=1000\n\
         transactionCheckMax=100\n"
    );
    let mut ctx = Ctx::new(test, tools, Some(conf.as_str()));
    let topic = "InteropSchedDurable";
    let tx_group = "g_tx_durable";
    create_topic(&mut ctx, Client::Rust, topic);
    // Halves: decided ones, and ones left Unknown by a producer that then goes away (its
    // check-back answer, should one come before it exits, is Unknown too).
    let tx = ctx.run_ok(
        Client::Rust,
        "produce-transaction",
        &[
            "--topic",
            topic,
            "--group",
            tx_group,
            "--prefix",
            "txd",
            "--count",
            "9",
            "--tx",
            "commit,rollback,unknown-commit",
            "--check-answer",
            "unknown",
            "--await-checks",
            "0",
            "--linger-ms",
            "0",
            "--timeout",
            "60",
        ],
        T_PRODUCE,
    );
    let tx_sent = of_event(&tx, "sent");
    ctx.check(
        tx_sent.len() == 9,
        || format!("{} of 9 transactional sends acknowledged", tx_sent.len()),
        &[],
    );
    let tx_with =
        |plan: &str| -> BTreeSet<String> { tx_sent.iter().filter(|s| s["tx"] == plan).map(body).collect() };
    let (tx_commit, tx_rollback, tx_open) =
        (tx_with("commit"), tx_with("rollback"), tx_with("unknown-commit"));
    // Timers through ali-ons (__STARTDELIVERTIME), then delay levels and timers through the Rust
    // client (the last sends, closest to the kill).
    let mut sched = produce(
        &mut ctx,
        Client::Js,
        "produce",
        topic,
        "startd",
        4,
        &["--delay", "start:+15000"],
    );
    sched.extend(produce(
        &mut ctx,
        Client::Rust,
        "produce",
        topic,
        "sched",
        8,
        &["--delay", "level:11,deliver:+15000,delay-sec:15,delay-ms:15000"],
    ));
    thread::sleep(Duration::from_secs(1));
    let kill_at = wall_ms();
    let pending = sched
        .iter()
        .filter(|s| due_of(s, &levels).is_some_and(|d| d.earliest > kill_at + 1000))
        .count();
    eprintln!(
        "interop: {test}: {pending} of {} scheduled messages and {} open halves pending at the kill",
        sched.len(),
        tx_open.len()
    );
    ctx.check(
        pending > 0,
        || {
            "every scheduled message was already due at the kill (the machine is too slow for this test)"
                .into()
        },
        &[],
    );
    ctx.broker.kill9();
    eprintln!("interop: {test}: broker killed with SIGKILL");
    thread::sleep(Duration::from_millis(500));
    ctx.broker.start();
    let up_at = wall_ms();
    eprintln!("interop: {test}: broker restarted");
    // A new transactional producer of the same group answers every check-back with commit.
    let open_n = tx_open.len().to_string();
    let mut txp = ctx.spawn(
        Client::Rust,
        "produce-transaction",
        &[
            "--topic",
            topic,
            "--group",
            tx_group,
            "--count",
            "0",
            "--check-answer",
            "commit",
            "--await-checks",
            open_n.as_str(),
            "--linger-ms",
            "3000",
            "--timeout",
            "60",
        ],
    );
    let mut want = bodies(&sched);
    want.extend(tx_commit.iter().cloned());
    want.extend(tx_open.iter().cloned());
    let all = (want.len() + 1).to_string(); // and the warm-up message
    let mut c = ctx.spawn(
        Client::Rust,
        "consume",
        &consume_args(
            topic,
            "g_sched_durable",
            &all,
            &["--grace-ms", "3000", "--timeout", "80"],
        ),
    );
    let _ = c.wait(T_CONSUME);
    let _ = txp.wait(Duration::from_secs(90));
    let recv = c.events("recv");
    let got = bodies(&recv);
    let leaked: Vec<_> = got.intersection(&tx_rollback).cloned().collect();
    ctx.check(
        leaked.is_empty(),
        || format!("rolled back before the kill but delivered after it: {leaked:?}"),
        &[&txp, &c],
    );
    ctx.check(
        missing(&want, &got).is_empty(),
        || format!("lost across kill -9: {:?}", missing(&want, &got)),
        &[&txp, &c],
    );
    check_schedule(
        &ctx,
        &sched,
        &recv,
        &SchedCheck {
            levels: &levels,
            restarted_at: Some(up_at),
            wall_upper: false,
        },
        &[&c],
    );
    let checks = txp.events("check");
    for b in &tx_open {
        ctx.check(
            checks.iter().any(|c| &body(c) == b),
            || format!("{b} was open at the kill but the new producer was never asked about it"),
            &[&txp],
        );
    }
    let decided: Vec<String> = checks
        .iter()
        .map(body)
        .filter(|b| tx_commit.contains(b) || tx_rollback.contains(b))
        .collect();
    ctx.check(
        decided.is_empty(),
        || format!("halves decided before the kill were checked back after it: {decided:?}"),
        &[&txp],
    );
}
