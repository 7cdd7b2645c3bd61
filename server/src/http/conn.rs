//! The clock of one connection: what it is doing (waiting for a first request, idle between
//! requests, reading a request's headers, sending answers) and when that must end. The server
//! closes the connection when [`ConnClock::expired`] resolves.
//!
//! hyper's own `header_read_timeout` is not used: in hyper 1.x it starts as soon as an HTTP/1
//! connection waits for a request head, so it also ends every idle keep-alive connection after
//! the header timeout, and it never covers the version sniffing of `hyper_util`'s auto builder
//! (a connection that sends nothing), nor HTTP/2.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

/// The time a transfer of `bytes` is given: `base`, plus a second per `rate` bytes.
pub(crate) fn allowance(base: Duration, bytes: u64, rate: u64) -> Duration {
    let extra = Duration::from_micros(bytes.saturating_mul(1_000_000) / rate.max(1));
    base.saturating_add(extra)
}

/// The timeouts a connection lives by.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnTimeouts {
    /// See [`crate::HubConfig::header_timeout`].
    pub header: Duration,
    /// See [`crate::HubConfig::idle_timeout`].
    pub idle: Duration,
    /// See [`crate::HubConfig::request_timeout`].
    pub answer: Duration,
    /// See [`crate::HubConfig::min_transfer_rate`].
    pub rate: u64,
}

/// Why a connection was closed by its clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expiry {
    /// No request arrived on a new connection within the header timeout.
    NoRequest,
    /// A request's headers took longer than the header timeout.
    SlowHeaders,
    /// The connection stayed idle for the idle timeout.
    Idle,
    /// An answer was not taken by the client in time.
    SlowAnswer,
}

impl Expiry {
    /// For the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Expiry::NoRequest => "no request",
            Expiry::SlowHeaders => "slow request headers",
            Expiry::Idle => "idle",
            Expiry::SlowAnswer => "answer not taken in time",
        }
    }
}

/// An answer being sent: since when, and how much of it so far.
#[derive(Debug)]
struct Answer {
    id: u64,
    since: Instant,
    sent: Arc<AtomicU64>,
}

#[derive(Debug)]
struct State {
    /// Requests (HTTP/2 streams) in flight.
    in_flight: usize,
    /// Whether any request arrived yet.
    served: bool,
    /// HTTP/2: bytes while idle are frames (pings, settings), not the start of a request.
    http2: bool,
    /// Since when no request has been in flight (or since the connection opened).
    idle_since: Instant,
    /// When the first byte arrived while no request was in flight.
    header_started: Option<Instant>,
    answers: Vec<Answer>,
    next_id: u64,
}

/// What one connection is doing, shared by its IO, its requests and its watchdog.
#[derive(Debug)]
pub(crate) struct ConnClock {
    state: Mutex<State>,
    changed: Notify,
}

impl ConnClock {
    /// The clock of a connection opened now.
    pub fn new() -> Arc<ConnClock> {
        Arc::new(ConnClock {
            state: Mutex::new(State {
                in_flight: 0,
                served: false,
                http2: false,
                idle_since: Instant::now(),
                header_started: None,
                answers: Vec::new(),
                next_id: 0,
            }),
            changed: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Bytes arrived: while no request is in flight on HTTP/1, a request's headers have begun.
    fn bytes_read(&self) {
        let mut state = self.lock();
        if state.in_flight == 0 && !state.http2 && state.header_started.is_none() {
            state.header_started = Some(Instant::now());
            drop(state);
            self.changed.notify_one();
        }
    }

    /// A request's headers were read; it is in flight until the ticket is dropped (after its
    /// answer was sent, or abandoned).
    pub fn request_started(self: &Arc<Self>, http2: bool) -> Ticket {
        let mut state = self.lock();
        state.in_flight += 1;
        state.served = true;
        state.http2 |= http2;
        state.header_started = None;
        let id = state.next_id;
        state.next_id += 1;
        drop(state);
        self.changed.notify_one();
        Ticket {
            clock: Arc::clone(self),
            id,
        }
    }

    /// Resolves when the connection must be closed, and says why.
    pub async fn expired(&self, t: &ConnTimeouts) -> Expiry {
        loop {
            let changed = self.changed.notified();
            let next = self.lock().deadline(t);
            match next {
                Some((deadline, why)) if deadline <= Instant::now() => return why,
                Some((deadline, _)) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(deadline) => {}
                        () = changed => {}
                    }
                }
                None => changed.await,
            }
        }
    }
}

impl State {
    /// The next moment the connection must have moved on, if any.
    fn deadline(&self, t: &ConnTimeouts) -> Option<(Instant, Expiry)> {
        if self.in_flight == 0 {
            let mut next = if self.served {
                (self.idle_since + t.idle, Expiry::Idle)
            } else {
                (self.idle_since + t.header, Expiry::NoRequest)
            };
            if let Some(started) = self.header_started {
                let headers = started + t.header;
                if headers < next.0 {
                    next = (headers, Expiry::SlowHeaders);
                }
            }
            return Some(next);
        }
        // Requests still being handled are bounded by their own deadline (answered 503).
        self.answers
            .iter()
            .map(|a| a.since + allowance(t.answer, a.sent.load(Ordering::Relaxed), t.rate))
            .min()
            .map(|d| (d, Expiry::SlowAnswer))
    }
}

/// One request in flight on a connection.
#[derive(Debug)]
pub(crate) struct Ticket {
    clock: Arc<ConnClock>,
    id: u64,
}

impl Ticket {
    /// The answer's head is ready: from now its sending is timed. Returns the counter of bytes
    /// sent, for the answer's body to add to.
    pub fn answering(&self) -> Arc<AtomicU64> {
        let sent = Arc::new(AtomicU64::new(0));
        let mut state = self.clock.lock();
        state.answers.push(Answer {
            id: self.id,
            since: Instant::now(),
            sent: Arc::clone(&sent),
        });
        drop(state);
        self.clock.changed.notify_one();
        sent
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut state = self.clock.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        state.answers.retain(|a| a.id != self.id);
        if state.in_flight == 0 {
            state.idle_since = Instant::now();
            state.header_started = None;
        }
        drop(state);
        self.clock.changed.notify_one();
    }
}

/// A connection's stream, telling its clock when bytes arrive.
#[derive(Debug)]
pub(crate) struct Watched<S> {
    inner: S,
    clock: Arc<ConnClock>,
}

impl<S> Watched<S> {
    /// Watches `inner` for `clock`.
    pub fn new(inner: S, clock: Arc<ConnClock>) -> Watched<S> {
        Watched { inner, clock }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.clock.bytes_read();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeouts() -> ConnTimeouts {
        ConnTimeouts {
            header: Duration::from_secs(10),
            idle: Duration::from_secs(60),
            answer: Duration::from_secs(120),
            rate: 1000,
        }
    }

    #[test]
    fn allowances_grow_with_the_bytes_moved() {
        let base = Duration::from_secs(30);
        assert_eq!(allowance(base, 0, 1000), base);
        assert_eq!(allowance(base, 1500, 1000), base + Duration::from_millis(1500));
        assert!(
            allowance(base, u64::MAX, 1) > base,
            "saturates instead of overflowing"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn each_phase_has_its_deadline() {
        let t = timeouts();
        let clock = ConnClock::new();
        let opened = Instant::now();
        assert_eq!(
            clock.lock().deadline(&t),
            Some((opened + t.header, Expiry::NoRequest))
        );

        let ticket = clock.request_started(false);
        assert_eq!(
            clock.lock().deadline(&t),
            None,
            "a request being handled has its own deadline"
        );
        let sent = ticket.answering();
        sent.store(2000, Ordering::Relaxed);
        let answering = Instant::now();
        assert_eq!(
            clock.lock().deadline(&t),
            Some((answering + t.answer + Duration::from_secs(2), Expiry::SlowAnswer))
        );

        tokio::time::advance(Duration::from_secs(1)).await;
        drop(ticket);
        let idle = Instant::now();
        assert_eq!(clock.lock().deadline(&t), Some((idle + t.idle, Expiry::Idle)));

        tokio::time::advance(Duration::from_secs(5)).await;
        clock.bytes_read();
        let headers = Instant::now();
        assert_eq!(
            clock.lock().deadline(&t),
            Some((headers + t.header, Expiry::SlowHeaders))
        );

        assert_eq!(clock.expired(&t).await, Expiry::SlowHeaders);
        assert_eq!(Instant::now(), headers + t.header);
    }

    #[tokio::test(start_paused = true)]
    async fn http2_frames_while_idle_are_not_headers() {
        let t = timeouts();
        let clock = ConnClock::new();
        drop(clock.request_started(true));
        let idle = Instant::now();
        clock.bytes_read();
        assert_eq!(clock.lock().deadline(&t), Some((idle + t.idle, Expiry::Idle)));
        assert_eq!(clock.expired(&t).await, Expiry::Idle);
    }
}
