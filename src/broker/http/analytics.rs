//! The analytics routes (`analyticsHttpPort` binds them on 127.0.0.1; the dashboard port serves
//! them too): JSON in and out.
//!
//! | request | answer |
//! |---|---|
//! | `GET /jobs` | the attached jobs |
//! | `POST /jobs` with a job spec | attaches it (201), 409 if the name exists, 400 if invalid |
//! | `GET /jobs/<name>` | the job's results (rows, through offsets, rates) |
//! | `DELETE /jobs/<name>` | detaches it |
//!
//! A job spec: `{"name":"n","topic":"T","kind":"count","by":"tag","window_ms":60000,
//! "start":"earliest"}`; kinds `count` (by topic / tag / key, window_ms), `top_n` (by, n) and
//! `lag` (group, window_ms, keep); start `earliest` or `now`. Errors are `{"error": "…"}`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use sluice_dataflows::analytics::{AnalyticsError, AnalyticsRuntime, JobSpec};

/// The largest job spec accepted.
const MAX_BODY: usize = 64 * 1024;

fn status_of(e: &AnalyticsError) -> StatusCode {
    match e {
        AnalyticsError::Exists(_) => StatusCode::CONFLICT,
        AnalyticsError::NotFound(_) => StatusCode::NOT_FOUND,
        AnalyticsError::Invalid(_) => StatusCode::BAD_REQUEST,
        AnalyticsError::Stopped | AnalyticsError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The `/jobs` routes over `runtime`.
pub fn routes(runtime: Arc<AnalyticsRuntime>) -> Router {
    Router::new()
        .route("/jobs", get(list).post(attach))
        .route("/jobs/{name}", get(show).delete(detach))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(runtime)
}

async fn list(State(rt): State<Arc<AnalyticsRuntime>>) -> Response {
    Json(json!(rt.jobs())).into_response()
}

async fn attach(State(rt): State<Arc<AnalyticsRuntime>>, body: Bytes) -> Response {
    let spec: JobSpec = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return super::json_error(StatusCode::BAD_REQUEST, format!("bad job spec: {e}")),
    };
    match tokio::task::spawn_blocking(move || rt.attach(spec)).await {
        Ok(Ok(info)) => (StatusCode::CREATED, Json(json!(info))).into_response(),
        Ok(Err(e)) => super::json_error(status_of(&e), e.to_string()),
        Err(e) => super::json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn show(State(rt): State<Arc<AnalyticsRuntime>>, Path(name): Path<String>) -> Response {
    let shown: Option<Value> = rt.results().with(&name, |r| r.to_json());
    match shown {
        Some(v) => Json(v).into_response(),
        None if rt.jobs().iter().any(|j| j.name == name) => {
            Json(json!({ "name": name, "rows": [] })).into_response()
        }
        None => super::json_error(StatusCode::NOT_FOUND, format!("no job named {name}")),
    }
}

async fn detach(State(rt): State<Arc<AnalyticsRuntime>>, Path(name): Path<String>) -> Response {
    match tokio::task::spawn_blocking(move || rt.detach(&name)).await {
        Ok(Ok(())) => Json(json!({ "detached": true })).into_response(),
        Ok(Err(e)) => super::json_error(status_of(&e), e.to_string()),
        Err(e) => super::json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use bytes::Bytes;
    use serde_json::json;
    use sluice_storage::MessageToStore;
    use tokio::sync::watch;

    use crate::admin::analytics::{request, run, AnalyticsArgs, AnalyticsCommand, AttachArgs, Kind};
    use crate::broker::config::BrokerConfig;

    const T: Duration = Duration::from_secs(5);

    /// A broker with `analyticsHttpPort=0`: attach, show, list and detach through `sluice admin
    /// analytics`, errors as HTTP statuses, and the jobs file across a restart.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn admin_analytics_over_http() {
        let dir = tempfile::tempdir().unwrap();
        let start = || async {
            let (stop, rx) = watch::channel(false);
            let mut cfg = BrokerConfig {
                listen_port: 0,
                ..BrokerConfig::default()
            };
            cfg.store.store_path_root_dir = dir.path().join("store");
            cfg.apply_properties("mappedFileSizeCommitLog=1048576\nanalyticsHttpPort=0\n")
                .unwrap();
            let broker = crate::broker::start(cfg, rx).await.unwrap();
            (stop, broker)
        };
        let (stop, broker) = start().await;
        let http = broker.analytics_http_addr().unwrap().to_string();
        let state = broker.state.clone();
        tokio::task::spawn_blocking(move || {
            let submitter = state.submitter.clone();
            for i in 0..60u32 {
                let m = MessageToStore {
                    topic: "Orders".into(),
                    queue_id: i % 2,
                    flag: 0,
                    sys_flag: 0,
                    born_timestamp: 1,
                    born_host: "127.0.0.1:1".parse().unwrap(),
                    reconsume_times: 0,
                    prepared_transaction_offset: 0,
                    body: Bytes::from_static(b"x"),
                    properties: format!("TAGS\u{1}t{}\u{2}", i % 3),
                };
                submitter.store_wait(vec![m], T).unwrap().unwrap();
            }
        })
        .await
        .unwrap();
        let cmd = |command| AnalyticsArgs {
            http: http.clone(),
            command,
        };
        let attach = AttachArgs {
            name: "tags".into(),
            topic: "Orders".into(),
            kind: Kind::Count,
            by: "tag".into(),
            window_ms: 3_600_000,
            n: 10,
            group: None,
            keep: 60,
            start: "earliest".into(),
        };
        run(&cmd(AnalyticsCommand::Attach(attach)), T).await.unwrap();
        let deadline = Instant::now() + T;
        let shown = loop {
            let out = run(&cmd(AnalyticsCommand::Show { name: "tags".into() }), T)
                .await
                .unwrap();
            let v: serde_json::Value = serde_json::from_str(&out.render(true)).unwrap();
            let total: i64 = v["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["value"].as_i64().unwrap())
                .sum();
            if total == 60 {
                break v;
            }
            assert!(Instant::now() < deadline, "{v}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let keys: Vec<&str> = shown["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["key"].as_str().unwrap())
            .collect();
        assert_eq!(keys, ["t0", "t1", "t2"]);
        assert!(shown["rows"][0]["rate_per_s"].as_f64().is_some());
        let listed = run(&cmd(AnalyticsCommand::List), T).await.unwrap().render(false);
        assert!(listed.contains("tags") && listed.contains("count"), "{listed}");
        // Errors: a duplicate, a bad spec, an unknown job, an unknown route.
        let spec =
            json!({"name": "tags", "topic": "Orders", "kind": "count", "by": "tag", "window_ms": 1000});
        let e = request(&http, "POST", "/jobs", Some(&spec), T).await.unwrap_err();
        assert!(e.to_string().contains("already attached"), "{e}");
        let bad = json!({"name": "x", "topic": "Orders", "kind": "count", "by": "tag", "window_ms": 0});
        assert!(request(&http, "POST", "/jobs", Some(&bad), T).await.is_err());
        assert!(request(&http, "GET", "/jobs/nope", None, T).await.is_err());
        assert!(request(&http, "GET", "/else", None, T).await.is_err());
        // The job survives a restart (jobs file under the store root).
        let _ = stop.send(true);
        broker.join().await.unwrap();
        let (stop, broker) = start().await;
        let http = broker.analytics_http_addr().unwrap().to_string();
        let jobs = request(&http, "GET", "/jobs", None, T).await.unwrap();
        assert_eq!(jobs[0]["name"], "tags");
        request(&http, "DELETE", "/jobs/tags", None, T).await.unwrap();
        assert_eq!(request(&http, "GET", "/jobs", None, T).await.unwrap(), json!([]));
        let _ = stop.send(true);
        broker.join().await.unwrap();
    }
}
