//! `POST /v1/enroll`, `POST /v1/sync`, `GET /v1/health`, `GET /v1/ready`, the operator's
//! `GET /metrics`, and the answers to anything else.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use outreach_core::sync::protocol::{
    EnrollRequest, EnrollResponse, ErrorCode, SyncRequest, SyncResponse, PROTOCOL_VERSION,
};

use super::log::LogSlot;
use super::rate::{AddressKey, EnrollLimiter};
use super::respond::{
    authenticate, blocking, content_length, decode, drain, read_body, with_retry_after, Cbor, OnTooLarge,
};
use crate::db::{devices, now};
use crate::error::ApiError;
use crate::hub::Hub;

/// `POST /v1/enroll`. Open to anyone, so it costs little before a code is checked: attempts
/// are limited per client address, and the small body is refused unread when it is too long.
pub(crate) async fn enroll(
    State(hub): State<Hub>,
    Extension(limiter): Extension<Arc<EnrollLimiter>>,
    req: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    let limit = hub.config().max_enroll_body_bytes;
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let key = AddressKey::of(peer);
    if let Err(wait) = limiter.try_acquire(key, Instant::now()) {
        // A body of the allowed size is read and dropped, so that a device behind a shared
        // address reads why it is refused.
        if content_length(&parts.headers).is_none_or(|n| n <= limit as u64) {
            drain(body, limit as u64).await;
        }
        let refusal = ApiError::new(
            ErrorCode::RateLimited,
            "too many enrollment attempts from this address; try again later",
        );
        return Ok(with_retry_after(refusal.into_response(), wait));
    }
    let response = enroll_device(&hub, &parts, body, limit, peer).await?;
    // An attempt that enrolled a device does not count against its address.
    limiter.refund(key, Instant::now());
    Ok(Cbor(response).into_response())
}

async fn enroll_device(
    hub: &Hub,
    parts: &Parts,
    body: Body,
    limit: usize,
    peer: Option<std::net::IpAddr>,
) -> Result<EnrollResponse, ApiError> {
    let bytes = read_body(&parts.headers, body, limit, OnTooLarge::Refuse).await?;
    let req: EnrollRequest = decode(&bytes)?;
    if let Some(slot) = parts.extensions.get::<LogSlot>() {
        slot.set(req.device_id);
    }
    if req.protocol != PROTOCOL_VERSION {
        return Err(ApiError::new(
            ErrorCode::Unsupported,
            format!(
                "protocol version {} is not supported; this hub speaks version {PROTOCOL_VERSION}",
                req.protocol
            ),
        ));
    }
    // The device id is the actor of all its changes: a random (version 4) UUID, never the nil
    // id that stands for the documents' genesis.
    if req.device_id.uuid().get_version() != Some(uuid::Version::Random) {
        return Err(ApiError::bad_request(
            "a device id must be a random (version 4) UUID",
        ));
    }
    let name = devices::clean_name("device name", &req.device_name)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let hub = hub.clone();
    let actor = crate::db::audit::Actor {
        who: format!("device {}", req.device_id),
        from: peer.map_or_else(|| "unknown address".into(), |ip| ip.to_string()),
    };
    blocking(move || {
        hub.inner.db.write(|tx| {
            let now = now();
            let enrolled = devices::enroll(tx, &req, &name, now)?;
            let detail = format!("role {}", enrolled.role.as_str());
            let what = crate::db::audit::Record {
                subject: Some(&enrolled.device_id.to_string()),
                org: Some(&enrolled.org_id),
                detail: Some(&detail),
            };
            crate::db::audit::record(tx, &actor, crate::db::audit::Action::DeviceEnrolled, what, now)?;
            Ok(enrolled)
        })
    })
    .await
}

/// `POST /v1/sync`.
pub(crate) async fn sync(State(hub): State<Hub>, req: Request) -> Result<Cbor<SyncResponse>, ApiError> {
    let (parts, body) = req.into_parts();
    let limit = hub.config().max_body_bytes;
    let caller = match authenticate(&hub, &parts).await {
        Ok(caller) => caller,
        Err(e) => {
            drain(body, limit as u64).await;
            return Err(e);
        }
    };
    let bytes = read_body(&parts.headers, body, limit, OnTooLarge::Drain).await?;
    let req: SyncRequest = decode(&bytes)?;
    drop(bytes);
    let response = blocking(move || crate::sync::sync(&hub.inner, &caller, &req)).await?;
    Ok(Cbor(response))
}

/// `GET /v1/health`.
pub(crate) async fn health() -> &'static str {
    "ok"
}

/// `GET /v1/ready`: 200 when the database answers a read, 503 otherwise (for a load balancer
/// or an orchestrator; `/v1/health` only says that the process answers).
pub(crate) async fn ready(State(hub): State<Hub>) -> Response {
    match blocking(move || hub.check_ready().map_err(|e| ApiError::internal(&e))).await {
        Ok(()) => "ready".into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response(),
    }
}

/// `GET /metrics`, on the operator's listener only (see `crate::metrics`).
pub(crate) async fn metrics(State(hub): State<Hub>) -> Result<Response, ApiError> {
    let counted = hub.clone();
    let active = blocking(move || counted.active_devices().map_err(|e| ApiError::internal(&e))).await?;
    let body = crate::metrics::render(&hub, active);
    let content_type = "text/plain; version=0.0.4; charset=utf-8";
    Ok(([(axum::http::header::CONTENT_TYPE, content_type)], body).into_response())
}

/// Any other path.
pub(crate) async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such endpoint")
}

/// A known path with another method.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::bad_request("this endpoint does not take this method")
        .with_status(StatusCode::METHOD_NOT_ALLOWED)
}
