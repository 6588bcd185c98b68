//! `/metrics`: the Prometheus text page (`metricsExporterType=PROM`).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::broker::metrics::BrokerMetrics;

pub fn routes(metrics: Arc<BrokerMetrics>) -> Router {
    Router::new().route("/metrics", get(scrape)).with_state(metrics)
}

async fn scrape(State(metrics): State<Arc<BrokerMetrics>>) -> Response {
    // Gauges read the store and the metadata (RocksDB): off the I/O threads.
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
