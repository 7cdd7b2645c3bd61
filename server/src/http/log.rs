//! One structured log line per request: method, route (the pattern, not the path), status,
//! duration, the client's address, the device when known, and body sizes. Never a body, a
//! note, a token or a code. The same request is counted for `/metrics` (route, status, bytes,
//! and the duration of syncs).

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::body::HttpBody;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use outreach_core::model::DeviceId;

use super::respond::content_length;
use crate::hub::Hub;

/// Where authentication leaves the device's id for the log line.
#[derive(Debug, Clone, Default)]
pub(crate) struct LogSlot(Arc<OnceLock<DeviceId>>);

impl LogSlot {
    /// Records the device making the request.
    pub fn set(&self, device: DeviceId) {
        let _ = self.0.set(device);
    }
}

/// The middleware.
pub(crate) async fn log_request(State(hub): State<Hub>, mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method: Method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "(unmatched)".to_string(), |p| p.as_str().to_string());
    let request_bytes = content_length(req.headers());
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "-".to_string(), |c| c.0.ip().to_string());
    let slot = LogSlot::default();
    req.extensions_mut().insert(slot.clone());

    let response = next.run(req).await;

    let status = response.status().as_u16();
    let response_bytes = content_length(response.headers()).or_else(|| response.body().size_hint().exact());
    let device = slot.0.get().map(ToString::to_string);
    let took = start.elapsed();
    hub.inner.counters.http.record(
        &route,
        status,
        request_bytes.unwrap_or(0),
        response_bytes.unwrap_or(0),
        took,
    );
    let duration_ms = took.as_micros() as f64 / 1000.0;
    tracing::info!(
        target: crate::log_targets::HTTP, method = %method,
        route = %route,
        status,
        duration_ms,
        peer = %peer,
        device = device.as_deref().unwrap_or("-"),
        request_bytes,
        response_bytes,
        "request"
    );
    response
}
