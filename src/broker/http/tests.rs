//! Property tests of the HTTP servers as served (routes plus the 404 fallback), driven
//! in-process through tower's `oneshot`: arbitrary methods, paths, queries, headers and bodies
//! get an answer without a panic, with a status the routes mean to send: no 5xx but the
//! dashboard's 503 for an admin command on a broker that has no NameServer to ask.

use std::sync::{Arc, Weak};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use tower::ServiceExt;

use crate::broker::metrics::BrokerMetrics;

/// One request: method, URI, content type, body.
type Raw = (String, String, Option<&'static str>, Vec<u8>);

/// A job spec, valid or not.
fn spec_body() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(vec!["a", "b", ""]),
        prop::sample::select(vec!["count", "top_n", "lag", "x"]),
        prop::sample::select(vec!["tag", "topic", "key", "x"]),
        prop::sample::select(vec![60_000i64, 60_000, 0, -1]),
        prop::sample::select(vec!["earliest", "now", "earliest", "x"]),
    )
        .prop_map(|(name, kind, by, window, start)| {
            serde_json::json!({"name": name, "topic": "T", "kind": kind, "by": by, "window_ms": window,
                               "n": 3, "group": "g", "keep": 5, "start": start})
            .to_string()
            .into_bytes()
        })
}

/// Known and odd methods; paths near every route and anywhere; an optional query (the admin
/// commands read theirs as flags); a body that is a job spec (valid or not) or any bytes.
fn requests() -> impl Strategy<Value = Raw> {
    let method = prop_oneof![
        prop::sample::select(vec!["GET", "HEAD", "POST", "DELETE", "PUT", "OPTIONS"]).prop_map(String::from),
        "[A-Z]{1,10}",
        "[!-~]{1,12}",
    ];
    let path = prop_oneof![
        prop::sample::select(vec![
            "/metrics",
            "/metrics/",
            "/jobs",
            "/jobs/a",
            "/jobs/b",
            "/jobs/",
            "/",
            "/app.js",
            "/app.css",
            "/api/self",
            "/api/throughput",
            "/api/admin/topicList",
            "/api/admin/updateTopic",
            "/api/admin/",
        ])
        .prop_map(String::from),
        "/jobs/[!-~]{0,20}",
        "/api/admin/[!-~]{0,20}",
        "/[!-~]{0,40}",
        "[!-~]{0,40}",
    ];
    let query = proptest::option::of(prop_oneof!["t=[a-zA-Z%]{0,8}&c=[!-~]{0,8}", "[!-~]{0,30}"]);
    let body = prop_oneof![spec_body(), proptest::collection::vec(any::<u8>(), 0..200)];
    let content_type = proptest::option::of(prop::sample::select(vec!["application/json", "text/plain"]));
    let odd = (method, path, query, content_type, body).prop_map(|(m, p, q, ct, b)| {
        let uri = q.map_or(p.clone(), |q| format!("{p}?{q}"));
        (m, uri, ct, b)
    });
    // Requests a client of the routes would send, so that jobs come and go between the odd ones
    // and the admin commands are reached.
    let sane = (
        prop::sample::select(vec![
            ("POST", "/jobs"),
            ("POST", "/jobs"),
            ("POST", "/jobs"),
            ("GET", "/jobs"),
            ("GET", "/jobs/a"),
            ("DELETE", "/jobs/a"),
            ("DELETE", "/jobs/b"),
            ("GET", "/metrics"),
            ("GET", "/api/self"),
            ("GET", "/api/throughput"),
            ("GET", "/api/admin/topicList"),
            ("GET", "/api/admin/topicRoute?t=T"),
            ("POST", "/api/admin/updateTopic?t=T&c=DefaultCluster"),
            ("GET", "/api/admin/consumerProgress?-g=x"),
        ]),
        spec_body(),
    )
        .prop_map(|((m, p), b)| (m.to_owned(), p.to_owned(), Some("application/json"), b));
    prop_oneof![3 => odd, 2 => sane]
}

/// The request, when the HTTP layer can carry it at all (hyper refuses the rest before any
/// route sees them).
fn build((method, uri, content_type, body): &Raw) -> Option<Request<Body>> {
    let method = Method::from_bytes(method.as_bytes()).ok()?;
    let mut req = Request::builder().method(method).uri(uri.as_str());
    if let Some(ct) = content_type {
        req = req.header(header::CONTENT_TYPE, *ct);
    }
    req.body(Body::from(body.clone())).ok()
}

/// Sends every generated request to `app` and hands `check` the request and its answer.
fn drive(
    rt: &tokio::runtime::Runtime,
    app: Router,
    cases: u32,
    check: impl Fn(&Request<Body>, StatusCode, &[u8]) -> Result<(), String>,
) {
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&requests(), |raw| {
            let Some(req) = build(&raw) else {
                return Ok(());
            };
            let shown = format!("{} {}", req.method(), req.uri());
            let head = Request::builder()
                .method(req.method().clone())
                .uri(req.uri().clone())
                .body(Body::empty())
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let res = rt
                .block_on(app.clone().oneshot(req))
                .expect("routers are infallible");
            let status = res.status();
            let body = rt
                .block_on(axum::body::to_bytes(res.into_body(), 1 << 22))
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            check(&head, status, &body).map_err(|why| {
                TestCaseError::fail(format!(
                    "{shown}: {why}: {status} {:?}",
                    String::from_utf8_lossy(&body)
                ))
            })
        })
        .unwrap();
}

/// A JSON `{"error": …}` (an answer to HEAD has no body).
fn json_error(req: &Request<Body>, body: &[u8]) -> Result<(), String> {
    if req.method() == Method::HEAD {
        return body
            .is_empty()
            .then_some(())
            .ok_or_else(|| "a body for HEAD".to_owned());
    }
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|_| "not JSON".to_owned())?;
    v.get("error")
        .and_then(|e| e.as_str())
        .map(|_| ())
        .ok_or_else(|| "no \"error\"".to_owned())
}

/// The metrics port: the scrape for GET or HEAD `/metrics` (any query), 405 for another
/// method there, a JSON 404 anywhere else.
#[test]
fn metrics_port_answers_any_request() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let metrics = Arc::new(BrokerMetrics::new("c", "n", Weak::new()));
    let app = super::app(super::metrics::routes(metrics));
    drive(&rt, app, 300, |req, status, body| {
        let want = match (req.uri().path(), req.method()) {
            ("/metrics", &Method::GET | &Method::HEAD) => StatusCode::OK,
            ("/metrics", _) => StatusCode::METHOD_NOT_ALLOWED,
            _ => StatusCode::NOT_FOUND,
        };
        if status != want {
            return Err(format!("want {want}"));
        }
        match status {
            StatusCode::NOT_FOUND => json_error(req, body),
            StatusCode::OK if req.method() == Method::GET => {
                let page = std::str::from_utf8(body).map_err(|_| "page not UTF-8".to_owned())?;
                (page.contains("# TYPE ") && page.ends_with('\n'))
                    .then_some(())
                    .ok_or_else(|| "not a Prometheus page".to_owned())
            }
            _ => Ok(()),
        }
    });
}

/// The dashboard port of a broker started in-process (with the analytics routes and
/// `/metrics`): every answer is 2xx, 4xx, or the admin commands' 503 (no NameServer); jobs
/// come and go as the generated attaches and detaches say; a 404 is a JSON error.
#[test]
fn dashboard_port_answers_any_request() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (stop, rx) = tokio::sync::watch::channel(false);
    let mut cfg = crate::broker::config::BrokerConfig {
        listen_port: 0,
        ..Default::default()
    };
    cfg.store.store_path_root_dir = dir.path().join("store");
    cfg.apply_properties(
        "mappedFileSizeCommitLog=1048576\nmetricsExporterType=PROM\nmetricsPromExporterHost=127.0.0.1\nmetricsPromExporterPort=0\n",
    )
    .unwrap();
    let broker = rt.block_on(crate::broker::start(cfg, rx.clone())).unwrap();
    let (routes, sampler) = rt.block_on(async { super::dashboard::start(broker.state.clone(), rx) });
    drive(&rt, super::app(routes), 300, |req, status, body| {
        let admin = req.uri().path().starts_with("/api/admin/");
        match status.as_u16() {
            200..=299 | 400..=499 if status != StatusCode::NOT_FOUND => Ok(()),
            404 => json_error(req, body),
            503 if admin => json_error(req, body),
            _ => Err("unexpected status".into()),
        }
    });
    let _ = stop.send(true);
    rt.block_on(async {
        broker.join().await.unwrap();
        let _ = sampler.await;
    });
}
