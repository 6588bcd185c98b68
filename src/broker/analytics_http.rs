//! The analytics HTTP/1.1 listener (`analyticsHttpPort`, on 127.0.0.1 only): JSON in and out,
//! one request per connection.
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
//! `lag` (group, window_ms, keep); start `earliest` or `now`.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use anyhow::Context;
use sluice_dataflows::analytics::{AnalyticsError, AnalyticsRuntime, JobSpec};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

const MAX_HEAD: usize = 16 * 1024;
const MAX_BODY: usize = 64 * 1024;

/// Binds 127.0.0.1:`port` (0 = any free port).
pub async fn bind(port: u16) -> anyhow::Result<TcpListener> {
    TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .await
        .with_context(|| format!("binding analyticsHttpPort {port}"))
}

/// Serves until shutdown.
pub async fn serve(
    listener: TcpListener,
    runtime: Arc<AnalyticsRuntime>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let rt = runtime.clone();
                    tokio::spawn(async move {
                        if let Err(e) = handle(stream, rt).await {
                            tracing::debug!(error = %e, "analytics http connection");
                        }
                    });
                }
                Err(e) => tracing::warn!(error = %e, "analytics http accept"),
            },
            _ = shutdown.changed() => return,
        }
    }
}

struct Request {
    method: String,
    path: String,
    body: Vec<u8>,
}

async fn read_request(stream: &mut TcpStream) -> Result<Request, (u16, String)> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    let mut head = 0usize;
    let bad = |m: &str| (400u16, m.to_owned());
    reader
        .read_line(&mut line)
        .await
        .map_err(|e| bad(&e.to_string()))?;
    let mut parts = line.split_whitespace();
    let method = parts.next().ok_or_else(|| bad("empty request"))?.to_owned();
    let path = parts.next().ok_or_else(|| bad("no path"))?.to_owned();
    let mut content_length = 0usize;
    loop {
        let mut h = String::new();
        let n = reader.read_line(&mut h).await.map_err(|e| bad(&e.to_string()))?;
        head += n;
        if n == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if head > MAX_HEAD {
            return Err((431, "request head too large".into()));
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.trim().eq_ignore_ascii_case("content-length") {
                content_length = v.trim().parse().map_err(|_| bad("bad Content-Length"))?;
            }
        }
    }
    if content_length > MAX_BODY {
        return Err((413, "body too large".into()));
    }
    let mut body = vec![0u8; content_length];
    reader
        .read_exact(&mut body)
        .await
        .map_err(|e| bad(&e.to_string()))?;
    Ok(Request { method, path, body })
}

async fn handle(mut stream: TcpStream, runtime: Arc<AnalyticsRuntime>) -> std::io::Result<()> {
    let (status, body) = match read_request(&mut stream).await {
        Ok(req) => route(req, runtime).await,
        Err((status, msg)) => (status, serde_json::json!({ "error": msg })),
    };
    let body = serde_json::to_vec(&body).unwrap_or_default();
    let reason = match status {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        _ => "Internal Server Error",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(&body).await?;
    stream.shutdown().await
}

fn error_status(e: &AnalyticsError) -> u16 {
    match e {
        AnalyticsError::Exists(_) => 409,
        AnalyticsError::NotFound(_) => 404,
        AnalyticsError::Invalid(_) => 400,
        AnalyticsError::Stopped | AnalyticsError::Io(_) => 500,
    }
}

async fn route(req: Request, runtime: Arc<AnalyticsRuntime>) -> (u16, serde_json::Value) {
    let path = req.path.split('?').next().unwrap_or("");
    let segments: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let err = |status: u16, msg: String| (status, serde_json::json!({ "error": msg }));
    match (req.method.as_str(), segments.as_slice()) {
        ("GET", ["jobs"]) => (200, serde_json::json!(runtime.jobs())),
        ("POST", ["jobs"]) => {
            let spec: JobSpec = match serde_json::from_slice(&req.body) {
                Ok(s) => s,
                Err(e) => return err(400, format!("bad job spec: {e}")),
            };
            let attached = tokio::task::spawn_blocking(move || runtime.attach(spec)).await;
            match attached {
                Ok(Ok(info)) => (201, serde_json::json!(info)),
                Ok(Err(e)) => err(error_status(&e), e.to_string()),
                Err(e) => err(500, e.to_string()),
            }
        }
        ("GET", ["jobs", name]) => match runtime.results().with(name, |r| r.to_json()) {
            Some(v) => (200, v),
            None if runtime.jobs().iter().any(|j| j.name == *name) => {
                (200, serde_json::json!({ "name": name, "rows": [] }))
            }
            None => err(404, format!("no job named {name}")),
        },
        ("DELETE", ["jobs", name]) => {
            let name = name.to_string();
            let detached = tokio::task::spawn_blocking(move || runtime.detach(&name)).await;
            match detached {
                Ok(Ok(())) => (200, serde_json::json!({ "detached": true })),
                Ok(Err(e)) => err(error_status(&e), e.to_string()),
                Err(e) => err(500, e.to_string()),
            }
        }
        (_, ["jobs"]) | (_, ["jobs", _]) => err(405, "method not allowed".into()),
        _ => err(404, format!("no route {path}")),
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
