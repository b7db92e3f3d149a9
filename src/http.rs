//! Telemetry layer: the HTTP server — `/healthz` (200 while the process runs), `/readyz` (200
//! while the replica serves and could take over: its watches listed, or with leader election its
//! last Lease round reached the API server — a standby is ready) and `/metrics` (OpenMetrics).

use crate::metrics::Metrics;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::net::TcpListener;

/// What the handlers read.
#[derive(Debug)]
pub struct HttpState {
    /// Set while the replica is able to act or take over.
    ready: AtomicBool,
    /// The registry `/metrics` encodes.
    metrics: Arc<Metrics>,
}

impl HttpState {
    /// Not ready yet.
    pub fn new(metrics: Arc<Metrics>) -> Self {
        HttpState {
            ready: AtomicBool::new(false),
            metrics,
        }
    }

    /// Marks the process ready (or not, e.g. while waiting for leadership again).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }

    /// Whether `/readyz` answers 200.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<Arc<HttpState>>) -> (StatusCode, &'static str) {
    if state.is_ready() {
        (StatusCode::OK, "ready\n")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: watches not listed yet, or the leader Lease unreachable\n",
        )
    }
}

async fn metrics(State(state): State<Arc<HttpState>>) -> Response {
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    (
        [(header::CONTENT_TYPE, content_type)],
        state.metrics.encode(),
    )
        .into_response()
}

/// The routes.
pub fn router(state: Arc<HttpState>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    state: Arc<HttpState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{to_bytes, Body};
    use axum::http::Request;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tower::ServiceExt;

    async fn get(state: &Arc<HttpState>, path: &str) -> (StatusCode, String) {
        let request = Request::builder().uri(path).body(Body::empty()).unwrap();
        let response = router(state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn healthz_is_always_ok_and_readyz_waits_for_the_watches() {
        let state = Arc::new(HttpState::new(Arc::new(Metrics::new())));
        assert_eq!(get(&state, "/healthz").await.0, StatusCode::OK);
        assert_eq!(
            get(&state, "/readyz").await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );
        state.set_ready(true);
        assert_eq!(get(&state, "/readyz").await.0, StatusCode::OK);
        assert_eq!(get(&state, "/healthz").await.0, StatusCode::OK);
        assert_eq!(get(&state, "/nope").await.0, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn metrics_are_served_as_openmetrics_text() {
        let metrics = Arc::new(Metrics::new());
        drop(metrics.reconcile_started("OrgRiskScan"));
        let state = Arc::new(HttpState::new(metrics));
        let (status, body) = get(&state, "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            body.contains("sgtightener_reconciles_total{kind=\"OrgRiskScan\"} 1"),
            "{body}"
        );
    }

    #[tokio::test]
    async fn the_server_answers_on_a_real_socket_and_stops_on_shutdown() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let state = Arc::new(HttpState::new(Arc::new(Metrics::new())));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, state, async move {
            let _ = stopped.await;
        }));
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        stop.send(()).unwrap();
        let finished = tokio::time::timeout(std::time::Duration::from_secs(5), server).await;
        assert!(finished.expect("server did not stop").unwrap().is_ok());
    }
}
