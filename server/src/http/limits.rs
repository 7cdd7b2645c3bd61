//! What every request is given before the router sees it: its peer's address, a slot among the
//! hub's requests in flight (or `503` at once, never a queue), a deadline for its body (`408`,
//! answered by the handler reading it) and one for its answer (`503`), and the accounting of
//! its answer's sending for the connection's clock.

use std::convert::Infallible;
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::ConnectInfo;
use axum::http::{Request, Response, Version};
use axum::response::IntoResponse;
use axum::Router;
use hyper::body::{Frame, Incoming, SizeHint};
use outreach_core::sync::protocol::ErrorCode;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{sleep_until, Instant, Sleep};
use tower::ServiceExt;

use super::conn::{allowance, ConnClock, Ticket};
use super::respond::with_retry_after;
use crate::config::HubConfig;
use crate::error::ApiError;

/// How long a client told that the hub is busy is asked to wait.
const BUSY_RETRY_AFTER: Duration = Duration::from_secs(2);

/// A boxed error, as bodies carry them.
type BoxError = Box<dyn StdError + Send + Sync>;

/// The limits every request is served under, shared by all connections.
#[derive(Debug)]
pub(crate) struct RequestLimits {
    in_flight: Arc<Semaphore>,
    body_timeout: Duration,
    answer_timeout: Duration,
    rate: u64,
}

impl RequestLimits {
    /// The limits of `config`.
    pub fn new(config: &HubConfig) -> RequestLimits {
        RequestLimits {
            in_flight: Arc::new(Semaphore::new(config.max_in_flight)),
            body_timeout: config.body_timeout,
            answer_timeout: config.request_timeout,
            rate: config.min_transfer_rate,
        }
    }

    /// Serves one request through `router`.
    pub async fn serve(
        &self,
        router: Router,
        clock: &Arc<ConnClock>,
        peer: SocketAddr,
        req: Request<Incoming>,
    ) -> Result<Response<AnswerBody>, Infallible> {
        let start = Instant::now();
        let ticket = clock.request_started(req.version() == Version::HTTP_2);
        let Ok(permit) = Arc::clone(&self.in_flight).try_acquire_owned() else {
            tracing::debug!(target: crate::log_targets::HTTP, peer = %peer.ip(), "too many requests in flight: refused");
            let busy = busy("the hub is serving too many requests; try again shortly");
            return Ok(answer(busy, ticket, None));
        };
        let received = Arc::new(AtomicU64::new(0));
        let (mut parts, body) = req.into_parts();
        parts.extensions.insert(ConnectInfo(peer));
        let body = TimedBody {
            inner: body,
            start,
            base: self.body_timeout,
            rate: self.rate,
            received: Arc::clone(&received),
            sleep: Box::pin(sleep_until(start + self.body_timeout)),
        };
        let req = Request::from_parts(parts, Body::new(body));
        let response = tokio::select! {
            biased;
            response = router.oneshot(req) => match response {
                Ok(response) => response,
                Err(never) => match never {},
            },
            () = answer_deadline(start, self.answer_timeout, self.rate, &received) => {
                tracing::warn!(target: crate::log_targets::HTTP, peer = %peer.ip(), "a request was not answered in time");
                busy("the hub could not answer in time; try again later")
            }
        };
        Ok(answer(response, ticket, Some(permit)))
    }
}

/// A `503` with the hub's error body and `Retry-After`.
fn busy(reason: &str) -> axum::response::Response {
    with_retry_after(
        ApiError::new(ErrorCode::Busy, reason).into_response(),
        BUSY_RETRY_AFTER,
    )
}

/// Resolves once a request whose body has brought `received` bytes so far has had its time.
async fn answer_deadline(start: Instant, base: Duration, rate: u64, received: &AtomicU64) {
    loop {
        let deadline = start + allowance(base, received.load(Ordering::Relaxed), rate);
        if Instant::now() >= deadline {
            return;
        }
        sleep_until(deadline).await;
    }
}

fn answer(
    response: axum::response::Response,
    ticket: Ticket,
    permit: Option<OwnedSemaphorePermit>,
) -> Response<AnswerBody> {
    let sent = ticket.answering();
    response.map(|inner| AnswerBody {
        inner,
        sent,
        _ticket: ticket,
        _permit: permit,
    })
}

/// A request body did not arrive within its deadline.
#[derive(Debug)]
pub(crate) struct BodyTooSlow;

impl fmt::Display for BodyTooSlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the request body did not arrive in time")
    }
}

impl StdError for BodyTooSlow {}

/// A request body that fails with [`BodyTooSlow`] once it has taken longer than `base`, plus a
/// second per `rate` bytes received.
struct TimedBody {
    inner: Incoming,
    start: Instant,
    base: Duration,
    rate: u64,
    received: Arc<AtomicU64>,
    sleep: Pin<Box<Sleep>>,
}

impl HttpBody for TimedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received.fetch_add(data.len() as u64, Ordering::Relaxed);
                }
                return Poll::Ready(Some(Ok(frame)));
            }
            Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => {}
        }
        loop {
            let received = this.received.load(Ordering::Relaxed);
            let deadline = this.start + allowance(this.base, received, this.rate);
            if Instant::now() >= deadline {
                return Poll::Ready(Some(Err(Box::new(BodyTooSlow))));
            }
            if this.sleep.deadline() != deadline {
                this.sleep.as_mut().reset(deadline);
            }
            if this.sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// An answer's body: counts what is sent for the connection's clock, and holds the request's
/// place in flight until it is sent or dropped.
#[derive(Debug)]
pub(crate) struct AnswerBody {
    inner: Body,
    sent: Arc<AtomicU64>,
    _ticket: Ticket,
    _permit: Option<OwnedSemaphorePermit>,
}

impl HttpBody for AnswerBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                self.sent.fetch_add(data.len() as u64, Ordering::Relaxed);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
