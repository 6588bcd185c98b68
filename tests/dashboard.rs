//! The web dashboard (`dashboardPort`) in a real browser: a broker with data (a topic created
//! through the dashboard's API, messages with keys and tags, a consumer group with a committed
//! offset, an analytics job), each page loaded in headless Chromium (Debian's `chromium`, which
//! `scripts/setup.sh` installs) and its rendered text checked for what a person would see.
//! Screenshots go to `<target>/dashboard-screenshots/` (kept as the test's artifacts). With ACL
//! on, nothing is served without credentials, and the ones given are what the broker checks.

mod common;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use sluice_remoting::codes::{request, response};
use sluice_remoting::RemotingCommand;

const CHROMIUM: &str = "/usr/bin/chromium";

/// One HTTP/1.1 request; (status, body).
fn http(addr: SocketAddr, method: &str, path: &str, auth: Option<&str>, body: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let auth = auth
        .map(|a| format!("Authorization: Basic {a}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, body.to_owned())
}

fn screenshots() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("dashboard-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Loads `url` in headless Chromium: the rendered page's text, and a screenshot `<name>.png`.
fn browse(profile: &std::path::Path, url: &str, name: &str) -> String {
    let base = |extra: &[&str]| {
        let mut c = Command::new(CHROMIUM);
        c.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--virtual-time-budget=10000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url);
        c
    };
    let dom = base(&["--dump-dom"]).output().expect("running chromium");
    assert!(
        dom.status.success(),
        "chromium --dump-dom {url}: {}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let png = screenshots().join(format!("{name}.png"));
    let shot = base(&[
        "--window-size=1280,900",
        &format!("--screenshot={}", png.display()),
    ])
    .output()
    .expect("running chromium");
    assert!(shot.status.success() && png.exists(), "screenshot of {url}");
    eprintln!("dashboard: {url} -> {}", png.display());
    // The text a person sees: tags stripped, whitespace folded.
    let html = String::from_utf8_lossy(&dom.stdout).into_owned();
    let mut text = String::new();
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        html.contains("data-ready="),
        "{url} never finished drawing: {text}"
    );
    text
}

fn assert_shows(text: &str, page: &str, needles: &[&str]) {
    for n in needles {
        assert!(text.contains(n), "{page} does not show {n:?}:\n{text}");
    }
    assert!(
        !text.contains("Error") && !text.contains("failed"),
        "{page} shows an error:\n{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_in_headless_chromium() {
    assert!(
        std::path::Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium"
    );
    let cluster = common::cluster_with("dashboardPort=0\n").await;
    let dash = cluster.broker().dashboard_addr().expect("dashboard port");
    let broker = cluster.broker().advertised_addr().to_string();
    let c = &cluster.client;
    let profile = tempfile::tempdir().unwrap();

    // A topic created as the Topics page's form does.
    let (status, body) = tokio::task::spawn_blocking(move || {
        http(
            dash,
            "POST",
            &format!("/api/admin/updateTopic?b={broker}&t=DashOrders&r=2&w=2"),
            None,
            "",
        )
    })
    .await
    .unwrap();
    assert_eq!(status, 200, "{body}");
    // 20 messages with keys and tags into queue 0; a group that consumed 5 of them.
    for i in 0..20 {
        let props = format!(
            "KEYS\u{1}order-{i}\u{2}TAGS\u{1}{}\u{2}",
            if i % 2 == 0 { "TagA" } else { "TagB" }
        );
        let r = c
            .request(
                common::send_cmd("DashOrders", 0, &format!("body-{i}"), &props),
                common::T,
            )
            .await
            .unwrap();
        assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    }
    let sub = sluice_remoting::body::heartbeat::SubscriptionData::tag_expression("DashOrders", "*", 1);
    let r = c
        .request(
            common::consumer_heartbeat("dash-client", "dash_group", vec![sub]),
            common::T,
        )
        .await
        .unwrap();
    assert_eq!(r.code, response::SUCCESS);
    let commit = RemotingCommand::request(request::UPDATE_CONSUMER_OFFSET)
        .with_ext("consumerGroup", "dash_group")
        .with_ext("topic", "DashOrders")
        .with_ext("queueId", "0")
        .with_ext("commitOffset", "5");
    assert_eq!(
        c.request(commit, common::T).await.unwrap().code,
        response::SUCCESS
    );
    // An analytics job, attached as the Analytics page's form does.
    let spec = r#"{"name":"dash_tags","topic":"DashOrders","kind":"count","by":"tag","window_ms":3600000,"start":"earliest"}"#;
    let (status, body) = tokio::task::spawn_blocking(move || http(dash, "POST", "/jobs", None, spec))
        .await
        .unwrap();
    assert_eq!(status, 201, "{body}");
    // The throughput sampler has seen the sends, and the job has counted them.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (tp, job) = tokio::task::spawn_blocking(move || {
            (
                http(dash, "GET", "/api/throughput", None, "").1,
                http(dash, "GET", "/jobs/dash_tags", None, "").1,
            )
        })
        .await
        .unwrap();
        if tp.contains("\"inTps\":") && !tp.contains("[]") && job.contains("TagB") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no throughput sample or job rows: {tp} {job}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    let base = format!("http://{dash}/");
    let pages: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "cluster",
            "#/cluster".into(),
            vec![
                "broker-a",
                "DefaultCluster",
                "haStatus",
                "brokerStatus",
                "commitLogDirCapacity",
            ],
        ),
        (
            "topics",
            "#/topics".into(),
            vec!["DashOrders", "Create or update a topic"],
        ),
        (
            "topic",
            "#/topic/DashOrders".into(),
            vec!["Topic DashOrders", "maxOffset", "20", "Delete topic"],
        ),
        ("groups", "#/groups".into(), vec!["dash_group"]),
        (
            "group",
            "#/group/dash_group".into(),
            vec!["Consumer group dash_group", "DashOrders", "dash-client"],
        ),
        (
            "messages",
            "#/messages/t=DashOrders&k=order-7".into(),
            vec!["body-7", "order-7", "TagB", "Resend"],
        ),
        ("dlq", "#/dlq/g=dash_group".into(), vec!["%DLQ%dash_group"]),
        (
            "analytics",
            "#/analytics".into(),
            vec!["dash_tags", "count", "Detach"],
        ),
        ("job", "#/job/dash_tags".into(), vec!["TagA", "TagB", "10"]),
        (
            "throughput",
            "#/throughput".into(),
            vec!["Messages per second", "now: in", "stored in the window: 20"],
        ),
    ];
    for (name, hash, needles) in pages {
        let url = format!("{base}{hash}");
        let p = profile.path().to_path_buf();
        let text = tokio::task::spawn_blocking(move || browse(&p, &url, name))
            .await
            .unwrap();
        assert_shows(&text, name, &needles);
    }
    cluster.shutdown().await;
}

/// The Trace page in the browser: with `traceTopicEnable=true` and no client tracing, one
/// message's life as the broker recorded it — stored by its producer group, delivered to group
/// `cg` — with the broker as the host (`trace.png`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_page_in_headless_chromium() {
    let cluster = common::cluster_with("dashboardPort=0\ntraceTopicEnable=true\n").await;
    let dash = cluster.broker().dashboard_addr().expect("dashboard port");
    let broker = cluster.broker().advertised_addr().to_string();
    let c = &cluster.client;
    let id = "7F00000100002A9F00000000000000D1";
    let props = format!("UNIQ_KEY\u{1}{id}\u{2}KEYS\u{1}dash-k\u{2}PGROUP\u{1}dash_pg\u{2}");
    let r = c
        .request(common::send_cmd("TraceDash", 0, "traced", &props), common::T)
        .await
        .unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let pulled = c
        .request(common::pull_cmd("TraceDash", 0, 0, "*", 0), common::T)
        .await
        .unwrap();
    assert_eq!(common::bodies(&pulled), ["traced"]);
    // The broker writes its records in the background: wait until the API has both.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let path = format!("/api/admin/queryMsgTraceById?i={id}");
        let (_, rows) = tokio::task::spawn_blocking(move || http(dash, "GET", &path, None, ""))
            .await
            .unwrap();
        if rows.contains("SubBefore") && rows.contains("Pub") {
            break;
        }
        assert!(Instant::now() < deadline, "no trace rows for {id}: {rows}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let profile = tempfile::tempdir().unwrap();
    let url = format!("http://{dash}/#/trace/i={id}");
    let p = profile.path().to_path_buf();
    let text = tokio::task::spawn_blocking(move || browse(&p, &url, "trace"))
        .await
        .unwrap();
    assert_shows(
        &text,
        "trace",
        &[
            "Pub",
            "dash_pg",
            "TraceDash",
            "SubBefore",
            "cg",
            "retry 0",
            &broker,
            " UTC",
        ],
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_acl_on_the_dashboard_needs_credentials_and_the_broker_checks_them() {
    let cluster = common::cluster_with(
        "dashboardPort=0\nauthenticationEnabled=true\nauthorizationEnabled=true\n\
         initAuthenticationUser={\"username\":\"root\",\"password\":\"rootpw01\"}\n\
         innerClientAuthenticationCredentials={\"accessKey\":\"root\",\"secretKey\":\"rootpw01\"}\n",
    )
    .await;
    let dash = cluster.broker().dashboard_addr().unwrap();
    let b64 = |s: &str| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(s)
    };
    let root = b64("root:rootpw01");
    let (anon, good, page, repeat) = tokio::task::spawn_blocking(move || {
        (
            http(dash, "GET", "/api/admin/clusterList", None, ""),
            http(dash, "GET", "/api/admin/clusterList", Some(&root), ""),
            http(dash, "GET", "/", None, ""),
            // `-i` would repeat until stopped: refused, not a request that never ends.
            http(dash, "GET", "/api/admin/clusterList?i=1", Some(&root), ""),
        )
    })
    .await
    .unwrap();
    assert_eq!(repeat.0, 400, "{}", repeat.1);
    assert_eq!(anon.0, 401, "{}", anon.1);
    assert_eq!(page.0, 401, "not even the page without credentials");
    assert_eq!(good.0, 200, "{}", good.1);
    assert!(good.1.contains("broker-a"), "{}", good.1);
    let broker = cluster.broker().advertised_addr().to_string();
    let (status, body) = tokio::task::spawn_blocking(move || {
        http(
            dash,
            "GET",
            &format!("/api/admin/brokerStatus?b={broker}"),
            Some(&b64("root:nope")),
            "",
        )
    })
    .await
    .unwrap();
    assert_eq!(status, 502, "{body}");
    assert!(
        body.contains("check signature failed"),
        "the broker refused the wrong secret: {body}"
    );
    cluster.shutdown().await;
}
