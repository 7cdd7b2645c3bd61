//! `POST /v1/enroll`, `POST /v1/sync`, `GET /v1/health`, and the answers to anything else.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use outreach_core::sync::protocol::{
    EnrollRequest, EnrollResponse, ErrorCode, SyncRequest, SyncResponse, PROTOCOL_VERSION,
};

use super::log::LogSlot;
use super::respond::{authenticate, blocking, decode, drain, read_body, Cbor};
use crate::db::{devices, now};
use crate::error::ApiError;
use crate::hub::Hub;

/// `POST /v1/enroll`.
pub(crate) async fn enroll(State(hub): State<Hub>, req: Request) -> Result<Cbor<EnrollResponse>, ApiError> {
    let (parts, body) = req.into_parts();
    let bytes = read_body(&parts.headers, body, hub.config().max_body_bytes).await?;
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
    let response = blocking(move || hub.inner.db.write(|tx| devices::enroll(tx, &req, &name, now()))).await?;
    Ok(Cbor(response))
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
    let bytes = read_body(&parts.headers, body, limit).await?;
    let req: SyncRequest = decode(&bytes)?;
    drop(bytes);
    let response = blocking(move || crate::sync::sync(&hub.inner, &caller, &req)).await?;
    Ok(Cbor(response))
}

/// `GET /v1/health`.
pub(crate) async fn health() -> &'static str {
    "ok"
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
