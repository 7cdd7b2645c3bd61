//! `GET /v1/blobs/{sha256}` (any enrolled device, with `Range` so that an interrupted download
//! resumes) and `PUT /v1/blobs/{sha256}` (coordinators and admins; the body must hash to the
//! name).

use std::io::SeekFrom;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::header::{
    ACCEPT_RANGES, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, RANGE,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use outreach_core::model::MAX_FILE_BYTES;
use outreach_core::sync::protocol::ErrorCode;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use super::respond::{authenticate, blocking, body_error, content_length, drain};
use crate::auth::Caller;
use crate::blobs::{BlobDir, BlobName, BlobStore, DbUpload};
use crate::db;
use crate::error::{ApiError, Error};
use crate::hub::Hub;

/// What a `Range` header asks of a file of a known length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeRequest {
    /// The whole file: no header, or one this hub does not serve (several ranges, another unit,
    /// bad syntax), which HTTP lets a server ignore.
    Whole,
    /// Bytes `start..=end`.
    Part { start: u64, end: u64 },
    /// A range starting past the end of the file.
    Unsatisfiable,
}

/// Reads `bytes=N-`, `bytes=N-M` and `bytes=-N` (the last N bytes).
pub(crate) fn parse_range(header: Option<&str>, len: u64) -> RangeRequest {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeRequest::Whole;
    };
    if spec.contains(',') {
        return RangeRequest::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeRequest::Whole;
    };
    let number = |s: &str| -> Option<u64> {
        let s = s.trim();
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            None
        } else {
            s.parse().ok()
        }
    };
    match (first.trim().is_empty(), number(first), number(last)) {
        // bytes=-N: the last N bytes.
        (true, _, Some(suffix)) => {
            if suffix == 0 || len == 0 {
                RangeRequest::Unsatisfiable
            } else {
                RangeRequest::Part {
                    start: len.saturating_sub(suffix),
                    end: len - 1,
                }
            }
        }
        (false, Some(start), None) if last.trim().is_empty() => {
            if start >= len {
                RangeRequest::Unsatisfiable
            } else {
                RangeRequest::Part { start, end: len - 1 }
            }
        }
        (false, Some(start), Some(end)) if start <= end => {
            if start >= len {
                RangeRequest::Unsatisfiable
            } else {
                RangeRequest::Part {
                    start,
                    end: end.min(len - 1),
                }
            }
        }
        _ => RangeRequest::Whole,
    }
}

/// The file named in the path: a SHA-256 in hex.
fn blob_name(path: Result<Path<String>, PathRejection>) -> Result<BlobName, ApiError> {
    path.ok()
        .and_then(|Path(name)| BlobName::parse(&name))
        .ok_or_else(|| ApiError::bad_request("a brochure file is named by its SHA-256 in hex"))
}

fn io_error(e: std::io::Error) -> ApiError {
    ApiError::internal(&Error::Io(e))
}

fn header(value: String) -> Result<HeaderValue, ApiError> {
    HeaderValue::from_str(&value)
        .map_err(|_| ApiError::internal(&Error::Server("a header does not encode".into())))
}

/// `GET /v1/blobs/{sha256}`.
pub(crate) async fn get_blob(
    State(hub): State<Hub>,
    _caller: Caller,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let name = blob_name(path)?;
    let not_found = || ApiError::new(ErrorCode::NotFound, "no brochure file with this hash");
    let source = match &hub.inner.blobs {
        BlobStore::Files(dir) => match tokio::fs::File::open(dir.path(&name)).await {
            Ok(file) => {
                let len = file.metadata().await.map_err(io_error)?.len();
                Source::File(file, len)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_found()),
            Err(e) => return Err(io_error(e)),
        },
        BlobStore::Database => {
            let (db_hub, key) = (hub.clone(), name.as_str().to_string());
            let len = blocking(move || db_hub.inner.db.read(|tx| db::blobs::len(tx, &key))).await?;
            Source::Database(len.ok_or_else(not_found)?)
        }
    };
    let len = source.len();
    let range = parse_range(headers.get(RANGE).and_then(|v| v.to_str().ok()), len);
    let (status, start, count) = match range {
        RangeRequest::Whole => (StatusCode::OK, 0, len),
        RangeRequest::Part { start, end } => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        RangeRequest::Unsatisfiable => {
            let mut response =
                ApiError::bad_request(format!("the range starts past the end of the {len}-byte file"))
                    .with_status(StatusCode::RANGE_NOT_SATISFIABLE)
                    .into_response();
            response
                .headers_mut()
                .insert(CONTENT_RANGE, header(format!("bytes */{len}"))?);
            return Ok(response);
        }
    };
    let body = match source {
        Source::File(mut file, _) => {
            if start > 0 {
                file.seek(SeekFrom::Start(start)).await.map_err(io_error)?;
            }
            Body::from_stream(ReaderStream::new(file.take(count)))
        }
        Source::Database(_) => {
            Body::from_stream(database_chunks(hub.clone(), name.clone(), start, start + count))
        }
    };
    let mut response = (status, body).into_response();
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    h.insert(CONTENT_LENGTH, HeaderValue::from(count));
    h.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(ETAG, header(format!("\"{}\"", name.as_str()))?);
    h.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    if status == StatusCode::PARTIAL_CONTENT {
        h.insert(
            CONTENT_RANGE,
            header(format!("bytes {start}-{}/{len}", start + count - 1))?,
        );
    }
    Ok(response)
}

/// Where a file is read from.
enum Source {
    File(tokio::fs::File, u64),
    Database(u64),
}

impl Source {
    fn len(&self) -> u64 {
        match self {
            Source::File(_, len) | Source::Database(len) => *len,
        }
    }
}

/// Bytes `start..end` of a file stored in the database, read one chunk at a time.
fn database_chunks(
    hub: Hub,
    name: BlobName,
    start: u64,
    end: u64,
) -> impl futures_util::Stream<Item = std::io::Result<bytes::Bytes>> {
    let chunk_bytes = db::blobs::CHUNK_BYTES as u64;
    futures_util::stream::try_unfold(start, move |pos| {
        let (hub, name) = (hub.clone(), name.clone());
        async move {
            if pos >= end {
                return Ok(None);
            }
            let seq = pos / chunk_bytes;
            let key = name.as_str().to_string();
            let chunk =
                tokio::task::spawn_blocking(move || hub.inner.db.read(|tx| db::blobs::chunk(tx, &key, seq)))
                    .await
                    .map_err(std::io::Error::other)?
                    .map_err(std::io::Error::other)?
                    .ok_or_else(|| std::io::Error::other("a stored brochure file lacks a chunk"))?;
            let base = seq * chunk_bytes;
            let from = usize::try_from(pos - base).unwrap_or(usize::MAX);
            let to = usize::try_from((end - base).min(chunk.len() as u64)).unwrap_or(0);
            if from >= to {
                return Err(std::io::Error::other(
                    "a stored brochure file is shorter than its length",
                ));
            }
            Ok(Some((
                bytes::Bytes::copy_from_slice(&chunk[from..to]),
                base + to as u64,
            )))
        }
    })
}

/// `PUT /v1/blobs/{sha256}`: `201 Created`, or `200 OK` when the hub held the file already.
pub(crate) async fn put_blob(
    State(hub): State<Hub>,
    path: Result<Path<String>, PathRejection>,
    req: Request,
) -> Result<StatusCode, ApiError> {
    let (parts, body) = req.into_parts();
    if content_length(&parts.headers).is_some_and(|n| n > MAX_FILE_BYTES) {
        return Err(too_large());
    }
    let checked = match authenticate(&hub, &parts).await {
        Ok(caller) if !caller.role.edits_directory() => Err(ApiError::forbidden(
            "only coordinators and admins publish brochure files",
        )),
        Ok(_) => blob_name(path),
        Err(e) => Err(e),
    };
    let name = match checked {
        Ok(name) => name,
        Err(e) => {
            drain(body, MAX_FILE_BYTES).await;
            return Err(e);
        }
    };
    match &hub.inner.blobs {
        BlobStore::Files(dir) => receive_file(dir, &name, body).await,
        BlobStore::Database => receive_into_database(&hub, &name, body).await,
    }
}

fn too_large() -> ApiError {
    ApiError::too_large(format!("a brochure file has at most {MAX_FILE_BYTES} bytes"))
}

fn hash_mismatch() -> ApiError {
    ApiError::new(
        ErrorCode::HashMismatch,
        "the file's SHA-256 does not match the name it was sent under",
    )
}

async fn receive_file(dir: &BlobDir, name: &BlobName, mut body: Body) -> Result<StatusCode, ApiError> {
    let mut partial = dir.create_partial().await.map_err(io_error)?;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(body_error)?;
        if let Ok(data) = frame.into_data() {
            if partial.len() + data.len() as u64 > MAX_FILE_BYTES {
                return Err(too_large());
            }
            partial.write(&data).await.map_err(io_error)?;
        }
    }
    if partial.digest() != name.as_str() {
        return Err(hash_mismatch());
    }
    let existed = tokio::fs::try_exists(dir.path(name)).await.map_err(io_error)?;
    if existed {
        // Content-addressed: the same name is the same bytes. The partial copy is dropped.
        return Ok(StatusCode::OK);
    }
    partial.commit(dir, name).await.map_err(io_error)?;
    Ok(StatusCode::CREATED)
}

async fn receive_into_database(hub: &Hub, name: &BlobName, mut body: Body) -> Result<StatusCode, ApiError> {
    let mut upload = DbUpload::new(hub.clone());
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(body_error)?;
        if let Ok(data) = frame.into_data() {
            if upload.len() + data.len() as u64 > MAX_FILE_BYTES {
                return Err(too_large());
            }
            upload.write(&data).await?;
        }
    }
    if upload.digest() != name.as_str() {
        return Err(hash_mismatch());
    }
    let created = upload.commit(name).await?;
    Ok(if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(start: u64, end: u64) -> RangeRequest {
        RangeRequest::Part { start, end }
    }

    #[test]
    fn ranges_follow_rfc_9110() {
        let r = |h: &str| parse_range(Some(h), 100);
        assert_eq!(parse_range(None, 100), RangeRequest::Whole);
        assert_eq!(r("bytes=0-"), part(0, 99));
        assert_eq!(r("bytes=10-"), part(10, 99));
        assert_eq!(r("bytes=10-19"), part(10, 19));
        assert_eq!(r("bytes=10-1000"), part(10, 99));
        assert_eq!(r("bytes=99-99"), part(99, 99));
        assert_eq!(r("bytes=-10"), part(90, 99));
        assert_eq!(r("bytes=-1000"), part(0, 99));
        assert_eq!(r("bytes=100-"), RangeRequest::Unsatisfiable);
        assert_eq!(r("bytes=100-200"), RangeRequest::Unsatisfiable);
        assert_eq!(r("bytes=-0"), RangeRequest::Unsatisfiable);
        assert_eq!(r("bytes=20-10"), RangeRequest::Whole, "invalid: ignored");
        assert_eq!(r("bytes=0-1,5-6"), RangeRequest::Whole, "several ranges: ignored");
        assert_eq!(r("items=0-1"), RangeRequest::Whole);
        assert_eq!(r("bytes=a-b"), RangeRequest::Whole);
        assert_eq!(r("bytes=+1-2"), RangeRequest::Whole);
        assert_eq!(parse_range(Some("bytes=0-"), 0), RangeRequest::Unsatisfiable);
    }
}
