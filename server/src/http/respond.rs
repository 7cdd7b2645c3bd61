//! What every handler shares: CBOR bodies in and out, error answers, bounded body reading,
//! bearer authentication, and running blocking work off the async threads.

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::time::Duration;

use http_body_util::BodyExt;
use outreach_core::sync::protocol::{self, ErrorCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::limits::BodyTooSlow;
use super::log::LogSlot;
use crate::auth::Caller;
use crate::db::{devices, now};
use crate::error::ApiError;
use crate::hub::Hub;

/// A device's `last_seen` is updated at most once per this many seconds, so that requests in
/// quick succession do not each write to the database.
const LAST_SEEN_GRANULARITY: i64 = 60;

/// A CBOR body.
#[derive(Debug)]
pub(crate) struct Cbor<T>(pub T);

impl<T: Serialize> IntoResponse for Cbor<T> {
    fn into_response(self) -> Response {
        let body = protocol::encode(&self.0);
        (
            StatusCode::OK,
            [(CONTENT_TYPE, HeaderValue::from_static(protocol::CONTENT_TYPE))],
            body,
        )
            .into_response()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            [(CONTENT_TYPE, HeaderValue::from_static(protocol::CONTENT_TYPE))],
            protocol::encode(&self.body),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The `Content-Length` of a request or response, if given and readable.
pub(crate) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

/// Longest time spent reading and discarding the body of a refused request.
const DRAIN_TIME: Duration = Duration::from_secs(30);

/// Reads and discards at most `max` bytes of what is left of a refused request's body, for at
/// most [`DRAIN_TIME`]. A server that answers before reading the body and then closes the
/// connection makes the client's kernel see a reset, and the client never reads the answer: a
/// revoked device would never learn that it must wipe its data. Beyond the bound the connection
/// is simply closed.
pub(crate) async fn drain(body: Body, max: u64) {
    let mut body = body;
    let mut read: u64 = 0;
    let discard = async {
        while let Some(Ok(frame)) = body.frame().await {
            if let Some(data) = frame.data_ref() {
                read += data.len() as u64;
                if read > max {
                    return;
                }
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIME, discard).await;
}

/// Adds `Retry-After`, in whole seconds (at least one), to an answer.
pub(crate) fn with_retry_after(mut response: Response, wait: Duration) -> Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(secs.max(1)));
    response
}

/// The refusal for a body that could not be read: `408` when it did not arrive in time.
pub(crate) fn body_error(e: axum::Error) -> ApiError {
    let inner = e.into_inner();
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(inner.as_ref());
    while let Some(e) = cause {
        if e.is::<BodyTooSlow>() {
            return ApiError::new(ErrorCode::Timeout, BodyTooSlow.to_string());
        }
        cause = e.source();
    }
    ApiError::bad_request("the body could not be read")
}

/// What to do with the rest of a body found too large.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnTooLarge {
    /// Read and discard a bounded amount more, so that the client reads the answer (a device
    /// that must learn its refusal).
    Drain,
    /// Answer at once without reading more; the connection is then closed (an unauthenticated
    /// caller is owed nothing more).
    Refuse,
}

/// Reads a whole body of at most `limit` bytes. A longer body is refused: with
/// [`OnTooLarge::Drain`] after draining at most `limit` more bytes of it (none when its
/// `Content-Length` is over twice the limit), with [`OnTooLarge::Refuse`] without reading
/// another byte (none at all when its `Content-Length` is over the limit).
pub(crate) async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    on_too_large: OnTooLarge,
) -> Result<Vec<u8>, ApiError> {
    let too_large = || ApiError::too_large(format!("the body is larger than {limit} bytes"));
    let limit_u64 = limit as u64;
    let drain_more = |body: Body| async move {
        if on_too_large == OnTooLarge::Drain {
            drain(body, limit_u64).await;
        }
    };
    match content_length(headers) {
        Some(n) if n > limit_u64.saturating_mul(2) => return Err(too_large()),
        Some(n) if n > limit_u64 => {
            drain_more(body).await;
            return Err(too_large());
        }
        _ => {}
    }
    let mut body = body;
    let mut out = Vec::with_capacity(content_length(headers).map_or(0, |n| n as usize));
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(body_error)?;
        if let Some(data) = frame.data_ref() {
            if out.len() + data.len() > limit {
                drain_more(body).await;
                return Err(too_large());
            }
            out.extend_from_slice(data);
        }
    }
    Ok(out)
}

/// Decodes a CBOR body.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    protocol::decode(bytes).map_err(|e| ApiError::bad_request(e.to_string()))
}

pub(crate) use crate::hub::blocking;

fn bearer(headers: &HeaderMap) -> Result<String, ApiError> {
    let missing = || ApiError::new(ErrorCode::Unauthorized, "missing bearer token");
    let value = headers.get(AUTHORIZATION).ok_or_else(missing)?;
    let value = value.to_str().map_err(|_| missing())?;
    let (scheme, token) = value.trim().split_once(' ').ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(missing());
    }
    Ok(token.trim().to_string())
}

impl Hub {
    /// The enrolled, unrevoked device a token belongs to; records that it was seen.
    pub(crate) fn authenticate(&self, token: &str) -> Result<Caller, ApiError> {
        let now = now();
        let (caller, last_seen) = self.inner.db.read(|tx| devices::authenticate(tx, token, now))?;
        if last_seen.is_none_or(|t| now - t >= LAST_SEEN_GRANULARITY) {
            self.inner
                .db
                .write_rows(|tx| devices::touch(tx, caller.device, now))
                .map_err(|e| ApiError::internal(&e))?;
        }
        Ok(caller)
    }
}

/// Authenticates a request from its `Authorization` header, and names the device in the log.
pub(crate) async fn authenticate(hub: &Hub, parts: &Parts) -> Result<Caller, ApiError> {
    let token = bearer(&parts.headers)?;
    let hub = hub.clone();
    let caller = blocking(move || hub.authenticate(&token)).await?;
    if let Some(slot) = parts.extensions.get::<LogSlot>() {
        slot.set(caller.device);
    }
    Ok(caller)
}

/// For requests without a body. Handlers that take a body authenticate with [`authenticate`]
/// themselves, to drain the body of a refused request.
impl FromRequestParts<Hub> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, hub: &Hub) -> Result<Caller, ApiError> {
        authenticate(hub, parts).await
    }
}
