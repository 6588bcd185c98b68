//! The web dashboard (`dashboardPort`; standalone `--dashboard-port`): a page and its script
//! embedded in the binary (no CDN), over a JSON API that runs `sluice admin`'s commands — the
//! dashboard is one more client of the admin layer, as the CLI is, so each view shows what the
//! matching mqadmin command shows.
//!
//! | route | what |
//! |---|---|
//! | `GET /`, `/app.js`, `/app.css` | the page |
//! | `GET /api/self` | this broker: name, cluster, address, NameServers, whether ACL is on |
//! | `GET /api/throughput` | messages in/out per second, the last ten minutes |
//! | `GET /api/admin/<command>?<flag>=<value>…` | a read-only admin command's `--json` output |
//! | `POST /api/admin/<command>?<flag>=<value>…` | a changing one (create/delete topic, reset offset, send, update group) |
//! | `/jobs…` | the analytics routes |
//!
//! Flags are mqadmin's (`t=Orders` is `-t Orders`). With ACL on (`aclEnable`, or ACL 2.0),
//! every route needs HTTP Basic credentials — an access key and secret key (2.0: a user and
//! password) — and the admin requests are signed with them, so the broker's ACL decides what
//! the dashboard may show or change.

pub mod throughput;

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::analytics;
use crate::broker::BrokerState;
use throughput::Throughput;

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

/// Commands a `GET` may run: they only read.
const READS: &[&str] = &[
    "clusterList",
    "brokerStatus",
    "haStatus",
    "topicList",
    "topicRoute",
    "topicStatus",
    "consumerProgress",
    "consumerConnection",
    "queryMsgById",
    "queryMsgByKey",
    "queryMsgByOffset",
    "printMsg",
    "queryMsgTraceById",
    "queryMsgByUniqueKey",
    "statsAll",
    "getBrokerConfig",
    "brokerConsumeStats",
    "producerConnection",
    "consumerStatus",
    "topicClusterList",
    "printMsgByQueue",
];

/// Commands a `POST` may run: they change the cluster.
const WRITES: &[&str] = &[
    "updateTopic",
    "deleteTopic",
    "updateSubGroup",
    "resetOffsetByTime",
    "sendMessage",
    "updateTopicPerm",
    "deleteSubGroup",
    "cloneGroupOffset",
    "skipAccumulatedMessage",
    "wipeWritePerm",
    "addWritePerm",
];

#[derive(Clone)]
struct Dashboard {
    state: Arc<BrokerState>,
    throughput: Arc<Throughput>,
}

impl Dashboard {
    fn acl_on(&self) -> bool {
        self.state.config.acl.enable || self.state.auth.settings().enabled()
    }
}

/// The dashboard's routes, and its throughput sampler (running until `shutdown`).
pub fn start(state: Arc<BrokerState>, shutdown: watch::Receiver<bool>) -> (Router, JoinHandle<()>) {
    let throughput = Arc::new(Throughput::default());
    let sampler = tokio::spawn(throughput::run(state.clone(), throughput.clone(), shutdown));
    let dash = Dashboard {
        state: state.clone(),
        throughput,
    };
    let mut routes = Router::new()
        .route(
            "/",
            get(|| async { page("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/app.js",
            get(|| async { page("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/app.css",
            get(|| async { page("text/css; charset=utf-8", APP_CSS) }),
        )
        .route("/api/self", get(this_broker))
        .route("/api/throughput", get(throughput_samples))
        .route("/api/admin/{command}", get(admin).post(admin))
        .with_state(dash.clone())
        .merge(analytics::routes(state.analytics.clone()));
    if let Some(m) = state.stats.metrics() {
        routes = routes.merge(super::metrics::routes(m.clone()));
    }
    let routes = routes.layer(middleware::from_fn_with_state(dash, require_credentials));
    (routes, sampler)
}

fn page(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// HTTP Basic credentials: (access key, secret key).
fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (ak, sk) = text.split_once(':')?;
    (!ak.is_empty() && !sk.is_empty()).then(|| (ak.to_owned(), sk.to_owned()))
}

/// With ACL on, nothing is served without credentials (which the broker then checks on every
/// admin request the dashboard makes for them).
async fn require_credentials(
    State(d): State<Dashboard>,
    request: axum::extract::Request,
    next: Next,
) -> Response {
    if d.acl_on() && basic(request.headers()).is_none() {
        return (
            StatusCode::UNAUTHORIZED,
            [(
                header::WWW_AUTHENTICATE,
                "Basic realm=\"sluice\", charset=\"UTF-8\"",
            )],
            Json(json!({ "error": "ACL is on: give an access key and secret key (HTTP Basic)" })),
        )
            .into_response();
    }
    next.run(request).await
}

async fn this_broker(State(d): State<Dashboard>) -> Response {
    let c = &d.state.config;
    Json(json!({
        "brokerName": c.broker_name,
        "brokerId": c.broker_id,
        "cluster": c.broker_cluster_name,
        "brokerAddr": d.state.broker_addr().to_string(),
        "role": format!("{:?}", c.broker_role),
        "namesrvAddr": c.namesrv_addr.join(";"),
        "acl": d.acl_on(),
        "version": env!("CARGO_PKG_VERSION"),
    }))
    .into_response()
}

async fn throughput_samples(State(d): State<Dashboard>) -> Response {
    Json(json!(d.throughput.samples())).into_response()
}

#[derive(clap::Parser)]
struct AdminCli {
    #[command(flatten)]
    admin: crate::admin::AdminArgs,
}

/// The global flags the dashboard sets itself: a request may not name another NameServer (the
/// broker would connect wherever it is told), other credentials or the output format.
const GLOBAL_FLAGS: &[&str] = &[
    "n",
    "namesrvAddr",
    "access-key",
    "secret-key",
    "json",
    "timeoutMillis",
    "h",
    "help",
];

/// Whether `k` may be given as a command's own flag.
fn command_flag(k: &str) -> bool {
    !k.is_empty()
        && !k.starts_with('-')
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !GLOBAL_FLAGS.contains(&k)
}

/// The admin command line for `command` with `params` as its flags.
fn admin_argv(
    namesrv: &str,
    credentials: Option<(String, String)>,
    command: &str,
    params: &[(String, String)],
) -> Vec<String> {
    let mut argv: Vec<String> = ["admin", "-n", namesrv, "--json"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    if let Some((ak, sk)) = credentials {
        argv.extend(["--access-key".into(), ak, "--secret-key".into(), sk]);
    }
    argv.push(command.to_owned());
    for (k, v) in params {
        argv.push(if k.chars().count() == 1 {
            format!("-{k}")
        } else {
            format!("--{k}")
        });
        if !v.is_empty() {
            argv.push(v.clone());
        }
    }
    argv
}

async fn admin(
    State(d): State<Dashboard>,
    method: Method,
    Path(command): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let allowed = match method {
        Method::GET => READS.contains(&command.as_str()),
        Method::POST => WRITES.contains(&command.as_str()),
        _ => false,
    };
    if !allowed {
        let why = if READS.contains(&command.as_str()) || WRITES.contains(&command.as_str()) {
            (
                StatusCode::METHOD_NOT_ALLOWED,
                format!("{command} does not take {method}"),
            )
        } else {
            (StatusCode::NOT_FOUND, format!("no admin command {command} here"))
        };
        return super::json_error(why.0, why.1);
    }
    if params.iter().any(|(k, _)| !command_flag(k)) {
        return super::json_error(StatusCode::BAD_REQUEST, "bad flag name");
    }
    let namesrv = d.state.config.namesrv_addr.join(";");
    if namesrv.is_empty() {
        return super::json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the broker has no namesrvAddr: the dashboard reads the cluster through it",
        );
    }
    let argv = admin_argv(&namesrv, basic(&headers), &command, &params);
    let cli = match <AdminCli as clap::Parser>::try_parse_from(&argv) {
        Ok(c) => c,
        Err(e) => return super::json_error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    if cli.admin.repeat_every().is_some() {
        return super::json_error(
            StatusCode::BAD_REQUEST,
            "-i repeats until stopped: the dashboard asks again on its own",
        );
    }
    match crate::admin::execute(&cli.admin).await {
        Ok(out) => ([(header::CONTENT_TYPE, "application/json")], out).into_response(),
        Err(e) => super::json_error(StatusCode::BAD_GATEWAY, format!("{e:#}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_credentials() {
        let argv = admin_argv(
            "127.0.0.1:9876",
            Some(("ak".into(), "sk".into())),
            "topicStatus",
            &[("t".into(), "Orders".into()), ("json".into(), String::new())],
        );
        assert_eq!(
            argv.join(" "),
            "admin -n 127.0.0.1:9876 --json --access-key ak --secret-key sk topicStatus -t Orders --json"
        );
        for (k, ok) in [
            ("t", true),
            ("topic", true),
            ("n", false),
            ("namesrvAddr", false),
            ("access-key", false),
            ("json", false),
            ("-x", false),
            ("a b", false),
            ("", false),
        ] {
            assert_eq!(command_flag(k), ok, "{k}");
        }
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, "Basic YWs6c2s=".parse().unwrap());
        assert_eq!(basic(&h), Some(("ak".into(), "sk".into())));
        h.insert(header::AUTHORIZATION, "Basic !!".parse().unwrap());
        assert_eq!(basic(&h), None);
        for c in READS.iter().chain(WRITES) {
            let argv = admin_argv("x:1", None, c, &[]);
            // Every allowed command exists (its flags may be missing, never the command).
            match <AdminCli as clap::Parser>::try_parse_from(&argv) {
                Ok(_) => {}
                Err(e) => assert!(
                    e.kind() == clap::error::ErrorKind::MissingRequiredArgument,
                    "{c}: {e}"
                ),
            }
        }
    }
}
