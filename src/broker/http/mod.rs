//! The broker's HTTP server (axum), one per configured port, each with its routes:
//!
//! | port | routes |
//! |---|---|
//! | `metricsPromExporterHost:metricsPromExporterPort` (`metricsExporterType=PROM`) | [`metrics`]: `/metrics` |
//! | `127.0.0.1:analyticsHttpPort` | [`analytics`]: `/jobs…` |
//! | `bindAddress:dashboardPort` | [`dashboard`]: the web UI, `/api/…`, and `/jobs…` (and `/metrics` when on) |
//!
//! Unknown paths are answered 404 with a JSON `{"error": …}`.

pub mod analytics;
pub mod dashboard;
pub mod metrics;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;

use anyhow::Context;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// `{"error": msg}` with `status`: how every route answers a refusal.
pub fn json_error(status: StatusCode, msg: impl Into<String>) -> Response {
    use axum::response::IntoResponse;
    (status, axum::Json(serde_json::json!({ "error": msg.into() }))).into_response()
}

async fn not_found(uri: Uri) -> Response {
    json_error(StatusCode::NOT_FOUND, format!("no route {}", uri.path()))
}

/// Binds `addr`; `what` names the key in the error (a broker that cannot serve what it was told
/// to does not start).
pub async fn bind(addr: SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr} ({what})"))
}

/// `routes` as served: what no route takes is answered by [`not_found`].
fn app(routes: Router) -> Router {
    routes.fallback(not_found)
}

/// Serves `routes` on `listener` until `shutdown` turns true.
pub async fn serve(listener: TcpListener, routes: Router, mut shutdown: watch::Receiver<bool>) {
    let app = app(routes);
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        })
        .await;
    if let Err(e) = served {
        tracing::warn!(error = %e, "an HTTP server stopped");
    }
}
