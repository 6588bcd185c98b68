//! The harness: set-up of the clients (once per test binary), the lock that runs the tests one at
//! a time, driver processes, the broker, the per-test context, and helpers over the drivers' JSON
//! lines.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The broker binary: `SLUICE_INTEROP_SLUICE` when set (a target directory shared by several
/// checkouts relinks `debug/sluice` to whichever built last), else the one cargo built with
/// this test.
pub fn sluice_bin() -> PathBuf {
    std::env::var_os("SLUICE_INTEROP_SLUICE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_sluice")))
}
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
    java: PathBuf,
    java_cp: String,
    go_driver: PathBuf,
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
        java: PathBuf::from(get("INTEROP_JAVA")?),
        java_cp: get("INTEROP_JAVA_CP")?,
        go_driver: PathBuf::from(get("INTEROP_GO_DRIVER")?),
    };
    for p in [
        &tools.js_driver,
        &tools.python,
        &tools.py_driver,
        &tools.rust_client,
        &tools.java,
        &tools.go_driver,
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

/// The global test lock alone, for tests that drive no client of `setup.sh` (mqadmin brings its
/// own); `None` when interop tests are skipped.
pub fn serial(test: &str) -> Option<MutexGuard<'static, ()>> {
    if std::env::var("SLUICE_INTEROP")
        .map(|v| v == "skip")
        .unwrap_or(false)
    {
        eprintln!("interop: {test} SKIPPED because SLUICE_INTEROP=skip");
        return None;
    }
    Some(SERIAL.lock().unwrap_or_else(|e| e.into_inner()))
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
pub struct Proc {
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

    pub fn snapshot(&self) -> Vec<Value> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn events(&self, event: &str) -> Vec<Value> {
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
    pub fn wait_for(&mut self, timeout: Duration, pred: impl Fn(&[Value]) -> bool) -> bool {
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
    pub fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = wait_child(&mut self.child, timeout);
        }
        thread::sleep(Duration::from_millis(100));
        self.status
    }

    pub fn kill(&mut self) {
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

#[path = "../common/ports.rs"]
mod ports;

pub use ports::free_port;

/// Writes `<dir>/controller<i>.conf` for controller `n<i>` of `group` (`peers`: the
/// `controllerDLegerPeers` value), its store in `<dir>/controller<i>`, scans every second.
pub fn controller_conf(dir: &Path, group: &str, peers: &str, i: usize) -> PathBuf {
    let conf = dir.join(format!("controller{i}.conf"));
    fs::write(
        &conf,
        format!(
            "controllerDLegerGroup={group}\ncontrollerDLegerPeers={peers}\ncontrollerDLegerSelfId=n{i}\n\
             controllerStorePath={}\nscanNotActiveBrokerInterval=1000\n",
            dir.join(format!("controller{i}")).display()
        ),
    )
    .expect("write controller conf");
    conf
}

fn accepts(ip: &str, port: u16) -> bool {
    let Ok(addr) = format!("{ip}:{port}").parse::<SocketAddr>() else {
        return false;
    };
    TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok()
}

pub struct Broker {
    child: Option<Child>,
    dir: PathBuf,
    conf: Option<PathBuf>,
    np: u16,
    bp: u16,
    starts: u32,
    logs: Vec<PathBuf>,
    /// `sluice <args>` instead of `sluice standalone` (a NameServer or broker of its own), and
    /// the ports it must accept on to be up.
    custom: Option<(String, Vec<String>, Vec<u16>)>,
    /// Another program than `sluice` (a Java broker), with its environment.
    program: Option<(PathBuf, Vec<(String, String)>)>,
    /// Run inside this network namespace, reached at its address (else on loopback).
    host: Option<crate::netns::Host>,
}

impl Broker {
    /// A broker (not started) with its data and logs under `dir` and `conf` as its broker.conf.
    pub fn new(dir: &Path, conf: Option<PathBuf>) -> Broker {
        // Blocks of ports never overlap (`free_port`): B − 2 and B + 1 are clear of N.
        let (np, bp) = (free_port(), free_port());
        Broker {
            child: None,
            dir: dir.to_path_buf(),
            conf,
            np,
            bp,
            starts: 0,
            logs: vec![],
            custom: None,
            program: None,
            host: None,
        }
    }

    /// A `sluice <args>` process (labelled `label` in logs) that is up once every port in
    /// `ports` accepts; `np` is the NameServer port clients are given.
    pub fn process(dir: &Path, label: &str, args: Vec<String>, ports: Vec<u16>, np: u16) -> Broker {
        let bp = ports.first().copied().unwrap_or(np);
        Broker {
            child: None,
            dir: dir.to_path_buf(),
            conf: None,
            np,
            bp,
            starts: 0,
            logs: vec![],
            custom: Some((label.to_owned(), args, ports)),
            program: None,
            host: None,
        }
    }

    /// [`Broker::process`] for another program (`exe args…` with `envs` added).
    pub fn program(
        dir: &Path,
        label: &str,
        exe: PathBuf,
        args: Vec<String>,
        envs: Vec<(String, String)>,
        ports: Vec<u16>,
        np: u16,
    ) -> Broker {
        let mut b = Broker::process(dir, label, args, ports, np);
        b.program = Some((exe, envs));
        b
    }

    pub fn namesrv(&self) -> String {
        format!("127.0.0.1:{}", self.np)
    }

    /// `<host>:<broker port>` (the host: 127.0.0.1, or the namespace's address).
    pub fn addr(&self) -> String {
        format!("{}:{}", self.ip(), self.bp)
    }

    fn ip(&self) -> &str {
        self.host.as_ref().map_or("127.0.0.1", |h| h.ip.as_str())
    }

    /// Starts the broker and waits until both ports accept connections. A restart (after a
    /// `kill -9`) that exits at once is retried for up to 75 s, in case the ports are still held
    /// (TIME_WAIT without SO_REUSEADDR) — each failed attempt stays in the logs.
    pub fn start(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(75);
        let restart = self.starts > 0;
        loop {
            self.starts += 1;
            let label = self.custom.as_ref().map_or("broker", |(l, _, _)| l.as_str());
            let log = self.dir.join(format!("{label}-{}.log", self.starts));
            let errf = File::create(&log).expect("broker log");
            let sluice = self.program.as_ref().map_or_else(sluice_bin, |(p, _)| p.clone());
            let mut cmd = match &self.host {
                // `ip netns exec` enters the namespace and execs the program: the child is it.
                Some(h) => {
                    let mut c = Command::new("ip");
                    c.args(["netns", "exec", &h.netns]).arg(&sluice);
                    c
                }
                None => Command::new(&sluice),
            };
            if let Some((_, envs)) = &self.program {
                cmd.envs(envs.iter().map(|(k, v)| (k, v)));
            }
            if let Some((_, args, _)) = &self.custom {
                cmd.args(args);
            } else {
                cmd.arg("standalone")
                    .arg("--data-dir")
                    .arg(self.dir.join("data"))
                    .arg("--namesrv-port")
                    .arg(self.np.to_string())
                    .arg("--broker-port")
                    .arg(self.bp.to_string());
            }
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
            let mut child = cmd
                .spawn()
                .unwrap_or_else(|e| panic!("spawn {}: {e}", sluice.display()));
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
                let ports = match &self.custom {
                    Some((_, _, ports)) => ports.clone(),
                    None => vec![self.np, self.bp],
                };
                if ports.iter().all(|&p| accepts(self.ip(), p)) {
                    self.child = Some(child);
                    // Give the broker a moment to register with the in-process NameServer.
                    thread::sleep(Duration::from_millis(500));
                    return;
                }
                if Instant::now() >= up_by {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "{label} did not accept connections on {ports:?} within 30 s; log tail:\n{}",
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

    /// SIGTERM and a wait for the clean exit (SIGKILL after 30 s).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
            if wait_child(&mut c, Duration::from_secs(30)).is_none() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }

    /// SIGKILL, no clean shutdown.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends `sig` (SIGSTOP, SIGCONT) to the running process; SIGSTOP waits until it is
    /// stopped.
    pub fn signal(&self, sig: i32) {
        let Some(c) = &self.child else { return };
        let pid = c.id();
        // SAFETY: kill(2) on our child's pid; no memory involved.
        unsafe {
            libc::kill(pid as i32, sig);
        }
        if sig != libc::SIGSTOP {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            if stat
                .rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('T'))
            {
                return;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn running(&self) -> bool {
        self.child.is_some()
    }

    pub fn describe(&self) -> String {
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
pub enum Client {
    Js,
    Py,
    Rust,
    Java,
    Go,
}

impl Client {
    pub fn name(self) -> &'static str {
        match self {
            Client::Js => "js",
            Client::Py => "py",
            Client::Rust => "rust",
            Client::Java => "java",
            Client::Go => "go",
        }
    }
    /// How long to let freshly started consumers of one group settle their queue assignment.
    /// ali-ons rebalances every --poll-ms (2 s in the driver) and ignores
    /// NOTIFY_CONSUMER_IDS_CHANGED; the C++ client rebalances every ~10 s or on that notify; the
    /// Rust client every 2 s (driver setting) or on notify; the Java client every 2 s (driver:
    /// rocketmq.client.rebalance.waitInterval) or on notify; the Go client every 20 s or on
    /// notify.
    pub fn settle(self) -> Duration {
        match self {
            Client::Js => Duration::from_secs(6),
            Client::Py => Duration::from_secs(12),
            Client::Rust | Client::Java => Duration::from_secs(6),
            Client::Go => Duration::from_secs(8),
        }
    }
    /// How long a queue that an orderly consumer lost in a rebalance may stay locked by it. The
    /// Go client (v2.1.2: "TODO orderly" in removeUnnecessaryMessageQueue) never sends
    /// UNLOCK_BATCH_MQ for it, so the new owner gets it once the broker's lock expires (60 s,
    /// rebalanceLockMaxLiveTime, as Apache RocketMQ) at its next lock attempt (every 20 s).
    pub fn lock_handover(self) -> Duration {
        match self {
            Client::Go => Duration::from_secs(90),
            _ => Duration::ZERO,
        }
    }
    pub fn orderly_consume(self) -> &'static str {
        match self {
            // ali-ons has no orderly listener; it consumes one message at a time, per queue in
            // offset order, which is what the ordering check needs.
            Client::Js => "consume",
            Client::Py | Client::Rust | Client::Java | Client::Go => "consume-orderly",
        }
    }
    pub fn ordered_produce(self) -> &'static str {
        match self {
            Client::Js => "produce-ordered",
            Client::Py => "produce-orderly",
            Client::Rust | Client::Java | Client::Go => "produce-ordered",
        }
    }
}

/// A test's temporary directory: removed when dropped, kept when the test fails (or with
/// `SLUICE_INTEROP_KEEP`).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(test: &str) -> TempDir {
        TempDir::under(&std::env::temp_dir(), test)
    }

    /// A fresh directory under `parent`, named after `test`.
    pub fn under(parent: &Path, test: &str) -> TempDir {
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        let p = parent.join(format!("sluice-interop-{}-{}-{}", std::process::id(), n, test));
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

pub struct Ctx {
    pub test: String,
    tools: &'static Tools,
    procs: Vec<String>,
    pub broker: Broker,
    /// Brokers started with [`Ctx::add_broker`] beside a NameServer of their own.
    pub nodes: Vec<Broker>,
    // Dropped after the broker and the processes are gone.
    tmp: TempDir,
    /// Stores kept outside `tmp` (rocketmq-rust's, on /dev/shm); dropped with it.
    more_dirs: Vec<TempDir>,
    // Declared last: the next test starts once all of the above is gone.
    _serial: MutexGuard<'static, ()>,
}

impl Ctx {
    /// Takes the global test lock, installs the clients (once) and starts a broker, with
    /// `broker_conf` as its broker.conf; `None` when interop tests are skipped.
    pub fn start(test: &str, broker_conf: Option<&str>) -> Option<Ctx> {
        let (serial, tools) = prepare(test)?;
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
        Some(Ctx::assemble(test, serial, tools, tmp, broker))
    }

    fn assemble(
        test: &str,
        serial: MutexGuard<'static, ()>,
        tools: &'static Tools,
        tmp: TempDir,
        broker: Broker,
    ) -> Ctx {
        Ctx {
            test: test.to_string(),
            tools,
            procs: vec![],
            broker,
            nodes: vec![],
            tmp,
            more_dirs: vec![],
            _serial: serial,
        }
    }

    /// Like [`Ctx::start`], but `ctx.broker` is a NameServer alone (`sluice namesrv`); brokers
    /// join it with [`Ctx::add_broker`], each a process of its own, so that one can be killed
    /// while the NameServer and the others run on.
    pub fn start_cluster(test: &str) -> Option<Ctx> {
        let (serial, tools) = prepare(test)?;
        let tmp = TempDir::new(test);
        let np = free_port();
        let args = vec!["namesrv".into(), "--listen-port".into(), np.to_string()];
        let mut broker = Broker::process(&tmp.0, "namesrv", args, vec![np], np);
        broker.start();
        eprintln!(
            "interop: {test}: namesrv {} dir {}",
            broker.namesrv(),
            tmp.0.display()
        );
        Some(Ctx::assemble(test, serial, tools, tmp, broker))
    }

    /// Starts Apache RocketMQ's broker (`scripts/rocketmq-reference.sh`'s 4.9.7) with `conf`
    /// plus a free listenPort (HA = listenPort + 1 as 4.9 forces), loopback addresses, a store of
    /// its own and this context's NameServer. Returns its index in `nodes`, or why it cannot.
    pub fn add_java_broker(&mut self, label: &str, conf: &str) -> Result<usize, String> {
        let home = crate::mqadmin::rocketmq_home()?;
        let port = free_port();
        let store = self.tmp.0.join(label);
        let text = format!(
            "{conf}\nlistenPort={port}\nbrokerIP1=127.0.0.1\nbrokerIP2=127.0.0.1\nnamesrvAddr={}\n\
             storePathRootDir={d}\nstorePathCommitLog={d}/commitlog\nmappedFileSizeCommitLog=67108864\n\
             maxHashSlotNum=50000\nmaxIndexNum=200000\ndiskMaxUsedSpaceRatio=95\n",
            self.namesrv(),
            d = store.display()
        );
        let path = self.tmp.0.join(format!("{label}.conf"));
        fs::write(&path, text).map_err(|e| e.to_string())?;
        let envs = vec![
            (
                "ROCKETMQ_LOG_DIR".into(),
                self.tmp.0.join(format!("{label}-logs")).display().to_string(),
            ),
            ("ROCKETMQ_USER_HOME".into(), self.tmp.0.display().to_string()),
            ("JAVA_OPTS_EXTRA".into(), crate::mqadmin::DISK_GUARD.into()),
        ];
        let args = vec!["-c".into(), path.display().to_string()];
        let exe = home.join("bin").join("broker");
        let mut b = Broker::program(&self.tmp.0, label, exe, args, envs, vec![port], self.broker.np);
        b.start();
        eprintln!("interop: {}: Java {label} up on {port}", self.test);
        self.nodes.push(b);
        Ok(self.nodes.len() - 1)
    }

    /// Starts rocketmq-rust 1.0's broker (`bench/reference/rocketmq-rust.sh` installs it) as
    /// broker `id` of `cluster`/`name` in `role` (SYNC_MASTER, ASYNC_MASTER or SLAVE), with a free
    /// listenPort, haListenPort = listenPort + 1, loopback addresses and this context's
    /// NameServer. Returns its index in `nodes`, or why it cannot.
    ///
    /// - `brokerIp2` is set, or it advertises its HA port on the host's first non-loopback
    ///   address.
    /// - A slave's role is set in both `[broker]` and `[store]`: 1.0.0 reads the store's for
    ///   its HA client but the broker's to learn its master from the NameServer.
    /// - Its store is on /dev/shm: 1.0.0 refuses to start (a bare "core.service.failed") while
    ///   the store's filesystem counts as 90 % used, space reserved for root included (its
    ///   `diskSpaceWarningLevelRatio` is capped at 0.90), which a shared build machine's
    ///   disk often is.
    pub fn add_rocketmq_rust_broker(
        &mut self,
        label: &str,
        (cluster, name, id): (&str, &str, i64),
        role: &str,
    ) -> Result<usize, String> {
        let bin = crate::mqadmin::rocketmq_rust_bin()?;
        let port = free_port();
        let probe = free_port();
        let d = self.tmp.0.join(label);
        fs::create_dir_all(d.join("home")).map_err(|e| e.to_string())?;
        let store = TempDir::under(Path::new("/dev/shm"), &format!("{}-{label}", self.test));
        let sd = store.0.display();
        // 1.0.0's slave refuses pulls (SLAVE_NOT_AVAILABLE) unless told it may serve them,
        // where a 4.9 slave serves them.
        let slave_role = if role == "SLAVE" {
            "brokerRole = \"SLAVE\"\nslaveReadEnable = true\n"
        } else {
            ""
        };
        let text = format!(
            "[broker]\nnamesrvAddr = \"{ns}\"\nbrokerIp1 = \"127.0.0.1\"\nbrokerIp2 = \"127.0.0.1\"\n\
             listenPort = {port}\nstorePathRootDir = \"{sd}\"\n{slave_role}\n\
             [broker.brokerServerConfig]\nbindAddress = \"127.0.0.1\"\n\n\
             [broker.brokerIdentity]\nbrokerName = \"{name}\"\nbrokerClusterName = \"{cluster}\"\n\
             brokerId = {id}\n\n[store]\nstoreType = \"LocalFile\"\nbrokerRole = \"{role}\"\n\
             flushDiskType = \"ASYNC_FLUSH\"\nstorePathRootDir = \"{sd}\"\n\
             mappedFileSizeCommitLog = 67108864\ntimerWheelEnable = false\n\
             haListenAddress = \"127.0.0.1\"\nhaListenPort = {ha}\n",
            ns = self.namesrv(),
            ha = port + 1,
        );
        self.more_dirs.push(store);
        let path = self.tmp.0.join(format!("{label}.toml"));
        fs::write(&path, text).map_err(|e| e.to_string())?;
        let envs = vec![
            ("ROCKETMQ_HOME".into(), d.join("home").display().to_string()),
            // It refuses a listener off loopback unless told this profile (ours is loopback).
            (
                "ROCKETMQ_SECURITY_PROFILE".into(),
                "development-insecure-loopback".into(),
            ),
            ("ROCKETMQ_HEALTH_BIND_ADDR".into(), format!("127.0.0.1:{probe}")),
            ("RUST_LOG".into(), "info".into()),
        ];
        let args = vec![
            "-c".into(),
            path.display().to_string(),
            "-n".into(),
            self.namesrv(),
        ];
        let exe = bin.join("rocketmq-broker-rust");
        let mut b = Broker::program(&self.tmp.0, label, exe, args, envs, vec![port], self.broker.np);
        b.start();
        eprintln!("interop: {}: rocketmq-rust {label} up on {port}", self.test);
        self.nodes.push(b);
        Ok(self.nodes.len() - 1)
    }

    /// Starts `sluice broker -c <conf>` registered with this context's NameServer: `conf` plus
    /// a free listenPort and haListenPort, brokerIP1=127.0.0.1 and a store of its own. Returns
    /// its index in `nodes`.
    pub fn add_broker(&mut self, label: &str, conf: &str) -> usize {
        self.add_broker_on(label, conf, None)
    }

    /// [`Ctx::add_broker`] inside `host`'s network namespace, advertising its address and
    /// reaching the NameServer through the bridge (`gateway`: this namespace's address there).
    pub fn add_broker_on(
        &mut self,
        label: &str,
        conf: &str,
        host: Option<(&crate::netns::Host, &str)>,
    ) -> usize {
        let port = free_port();
        let ha = free_port();
        let store = self.tmp.0.join(label);
        let ip = host.map_or("127.0.0.1", |(h, _)| h.ip.as_str());
        let text = format!(
            "{conf}\nlistenPort={port}\nhaListenPort={ha}\nbrokerIP1={ip}\nstorePathRootDir={}\n",
            store.display()
        );
        let path = self.tmp.0.join(format!("{label}.conf"));
        fs::write(&path, text).expect("write broker.conf");
        let args = vec![
            "broker".into(),
            "-c".into(),
            path.display().to_string(),
            "-n".into(),
            match host {
                Some((_, gateway)) => format!("{gateway}:{}", self.broker.np),
                None => self.namesrv(),
            },
        ];
        let mut b = Broker::process(&self.tmp.0, label, args, vec![port], self.broker.np);
        b.host = host.map(|(h, _)| h.clone());
        b.start();
        eprintln!("interop: {}: {label} up on {port} (HA {ha})", self.test);
        self.nodes.push(b);
        self.nodes.len() - 1
    }

    pub fn namesrv(&self) -> String {
        self.broker.namesrv()
    }

    /// This test's temporary directory (brokers added with [`Ctx::add_broker`] keep their
    /// stores in `<it>/<label>`).
    pub fn tmp_path(&self) -> &Path {
        &self.tmp.0
    }

    /// Starts a driver: `client scenario --namesrv ... args...`.
    pub fn spawn(&mut self, client: Client, scenario: &str, args: &[&str]) -> Proc {
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
            Client::Java => {
                // A small heap and the C1 compiler only: the drivers are short-lived, the
                // machine has 2 cores. user.home holds the client's logs and broadcasting
                // offsets: one per run.
                let home = self.tmp.0.join(format!("java-home-{n}"));
                let mut c = Command::new(&self.tools.java);
                c.args(["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"])
                    .arg(format!("-Duser.home={}", home.display()))
                    .arg("-cp")
                    .arg(&self.tools.java_cp)
                    .arg("sluice.interop.Driver");
                c
            }
            Client::Go => Command::new(&self.tools.go_driver),
        };
        cmd.arg(scenario).arg("--namesrv").arg(self.namesrv()).args(args);
        if client == Client::Py {
            let home = self.tmp.0.join(format!("py-home-{n}"));
            cmd.arg("--home").arg(home);
        }
        // The Rust and Go clients keep broadcasting offsets under $HOME; isolate every run.
        if matches!(client, Client::Rust | Client::Go) {
            let home = self.tmp.0.join(format!("{}-home-{n}", client.name()));
            let _ = fs::create_dir_all(&home);
            cmd.env("HOME", home);
        }
        let log = self.tmp.0.join(format!("{name}.stderr"));
        self.procs.push(log.display().to_string());
        eprintln!("interop: {}: start {name} {:?}", self.test, args);
        Proc::spawn(&name, cmd, log)
    }

    /// Runs a driver to completion (bounded); fails the test if it does not exit 0.
    pub fn run_ok(&mut self, client: Client, scenario: &str, args: &[&str], timeout: Duration) -> Vec<Value> {
        let mut p = self.spawn(client, scenario, args);
        let status = p.wait(timeout);
        let lines = p.snapshot();
        if !status.is_some_and(|s| s.success()) {
            self.fail(&format!("{} did not succeed (status {status:?})", p.name), &[&p]);
        }
        lines
    }

    pub fn fail(&self, msg: &str, procs: &[&Proc]) -> ! {
        let mut s = format!("interop {}: {msg}\n", self.test);
        for p in procs {
            s.push_str(&p.describe());
            s.push('\n');
        }
        s.push_str(&self.broker.describe());
        for n in &self.nodes {
            s.push('\n');
            s.push_str(&n.describe());
        }
        panic!("{s}");
    }

    pub fn check(&self, cond: bool, msg: impl FnOnce() -> String, procs: &[&Proc]) {
        if !cond {
            self.fail(&msg(), procs);
        }
    }

    /// Fails the test unless every body in `want` is in `got`; the message is `what` followed by
    /// (up to 20 of) the missing bodies.
    pub fn check_none_missing(
        &self,
        want: &BTreeSet<String>,
        got: &BTreeSet<String>,
        what: &str,
        procs: &[&Proc],
    ) {
        let lost = missing(want, got);
        self.check(lost.is_empty(), || format!("{what} {lost:?}"), procs);
    }
}

// ---------------------------------------------------------------------------------------------
// Output helpers

pub fn of_event(lines: &[Value], event: &str) -> Vec<Value> {
    lines.iter().filter(|v| v["event"] == event).cloned().collect()
}

pub fn body(v: &Value) -> String {
    v["body"].as_str().unwrap_or_default().to_string()
}

/// body -> first line with that body.
pub fn by_body(lines: &[Value]) -> BTreeMap<String, Value> {
    let mut m = BTreeMap::new();
    for v in lines {
        m.entry(body(v)).or_insert_with(|| v.clone());
    }
    m
}

pub fn bodies(lines: &[Value]) -> BTreeSet<String> {
    lines.iter().map(body).collect()
}

/// The (queueId, queueOffset) of each line, -1 where it is not reported.
pub fn positions(lines: &[&Value]) -> BTreeSet<(i64, i64)> {
    lines
        .iter()
        .map(|r| {
            (
                num(&r["queueId"]).unwrap_or(-1),
                num(&r["queueOffset"]).unwrap_or(-1),
            )
        })
        .collect()
}

/// A number that a client may have printed as a JSON number or as a string.
pub fn num(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

pub fn index_of(b: &str) -> u64 {
    b.rsplit('-')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(u64::MAX)
}

pub fn missing(expected: &BTreeSet<String>, got: &BTreeSet<String>) -> Vec<String> {
    expected.difference(got).take(20).cloned().collect()
}

pub const T_PRODUCE: Duration = Duration::from_secs(90);
pub const T_CONSUME: Duration = Duration::from_secs(100);

/// A first send by `client` so the topic exists (auto-created from TBW102) before consumers
/// subscribe: the C++ client refreshes routes only every 30 s.
pub fn create_topic(ctx: &mut Ctx, client: Client, topic: &str) {
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

pub fn produce(
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

pub fn consume_args<'a>(topic: &'a str, group: &'a str, count: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
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
pub fn check_fields(ctx: &Ctx, sent: &[Value], recv: &[Value]) {
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

/// The sent lines of `mode` "batch", in send order, came in batches of `size`: each batch
/// landed in one queue.
pub fn check_batches_one_queue(ctx: &Ctx, sent: &[Value], size: usize) {
    let batch: Vec<&Value> = sent.iter().filter(|s| s["mode"] == "batch").collect();
    for chunk in batch.chunks(size) {
        let qs: BTreeSet<i64> = chunk.iter().filter_map(|s| num(&s["queueId"])).collect();
        ctx.check(
            qs.len() <= 1,
            || format!("one batch spread over queues {qs:?}"),
            &[],
        );
    }
}

/// Runs a `query` driver until it exits 0 (the index is built after the append), at most five
/// times; its lines.
pub fn query_until_found(ctx: &mut Ctx, client: Client, argv: &[&str]) -> Vec<Value> {
    let mut last = Vec::new();
    for attempt in 0..5 {
        let mut p = ctx.spawn(client, "query", argv);
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
    last
}

/// A consumer restarted in a group with committed offsets (`p`, run to its end) got every
/// message of `new` and none of `old`.
pub fn check_resumed(ctx: &Ctx, p: &Proc, new: &[Value], old: &BTreeSet<String>, what: &str) {
    let got = bodies(&p.events("recv"));
    ctx.check_none_missing(&bodies(new), &got, &format!("{what} missed"), &[p]);
    let again: Vec<_> = got.intersection(old).take(10).cloned().collect();
    ctx.check(
        again.is_empty(),
        || format!("{what} re-delivered committed messages {again:?}"),
        &[p],
    );
}
