//! The broker's HTTP server (axum): `/metrics` in the Prometheus text format when
//! `metricsExporterType=PROM`, on `metricsPromExporterHost:metricsPromExporterPort`. The
//! dashboard and the analytics routes are to move onto this server.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::metrics::BrokerMetrics;

/// What the routes share.
#[derive(Clone)]
struct AppState {
    metrics: Arc<BrokerMetrics>,
}

/// The routes: `/metrics`.
fn router(metrics: Arc<BrokerMetrics>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(AppState { metrics })
}

async fn scrape(State(app): State<AppState>) -> Response {
    // Gauges read the store and the metadata (RocksDB): off the I/O threads.
    let metrics = app.metrics.clone();
    match tokio::task::spawn_blocking(move || metrics.encode()).await {
        Ok(Ok(page)) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
            page,
        )
            .into_response(),
        Ok(Err(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("encoding metrics: {e}\n"),
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("metrics task: {e}\n")).into_response(),
    }
}

/// Binds `addr` (a broker that cannot serve the metrics it was told to does not start).
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.with_context(|| {
        format!("binding the metrics port {addr} (metricsPromExporterHost:metricsPromExporterPort)")
    })
}

/// Serves until `shutdown` turns true.
pub async fn serve(listener: TcpListener, metrics: Arc<BrokerMetrics>, mut shutdown: watch::Receiver<bool>) {
    let served = axum::serve(listener, router(metrics))
        .with_graceful_shutdown(async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        })
        .await;
    if let Err(e) = served {
        tracing::warn!(error = %e, "the HTTP server stopped");
    }
}
