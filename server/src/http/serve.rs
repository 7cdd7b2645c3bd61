//! The accept loop: a bounded number of connections, each with its TLS handshake timed, served
//! by hyper (HTTP/1.1 or HTTP/2, whichever the client speaks) under its own clock, and a
//! graceful shutdown that lets requests in flight finish for at most the hub's grace.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use super::conn::{ConnClock, ConnTimeouts, Watched};
use super::limits::RequestLimits;
use crate::config::HubConfig;

/// How long the loop pauses after an accept error such as "too many open files", so that it
/// does not spin while the cause lasts.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Largest read buffer of an HTTP/1 connection. A request head that does not fit is refused
/// (`431`), so an unfinished head holds at most this much; heads are under a kilobyte.
const HTTP1_MAX_BUFFER: usize = 64 * 1024;

/// HTTP/2 flow-control windows, per connection and per stream: what a client may send before
/// the hub reads it (hyper's default is 1 MiB), and so what a body sent to a request that is
/// refused unread can hold.
const HTTP2_WINDOW: u32 = 128 * 1024;

/// What every connection of one server shares.
struct Shared {
    router: Router,
    builder: auto::Builder<TokioExecutor>,
    limits: RequestLimits,
    timeouts: ConnTimeouts,
    tls: Option<TlsAcceptor>,
    tls_handshake_timeout: Duration,
}

/// A server ready to run: its listener, its connections' settings and its shutdown signal.
pub(super) struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
    max_connections: usize,
    grace: Duration,
    shutdown: watch::Receiver<bool>,
}

impl Server {
    /// A server of `router` on `listener` under the limits of `config`.
    pub fn new(
        listener: TcpListener,
        router: Router,
        config: &HubConfig,
        tls: Option<TlsAcceptor>,
        shutdown: watch::Receiver<bool>,
    ) -> Server {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        // The connection's clock times request headers; hyper's own timer would also end idle
        // keep-alive connections after the header timeout (see `conn`).
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(None)
            .max_buf_size(HTTP1_MAX_BUFFER)
            .keep_alive(true);
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_concurrent_streams(config.max_http2_streams)
            .initial_connection_window_size(HTTP2_WINDOW)
            .initial_stream_window_size(HTTP2_WINDOW);
        Server {
            listener,
            shared: Arc::new(Shared {
                router,
                builder,
                limits: RequestLimits::new(config),
                timeouts: ConnTimeouts {
                    header: config.header_timeout,
                    idle: config.idle_timeout,
                    answer: config.request_timeout,
                    rate: config.min_transfer_rate,
                },
                tls,
                tls_handshake_timeout: config.tls_handshake_timeout,
            }),
            max_connections: config.max_connections,
            grace: config.shutdown_grace,
            shutdown,
        }
    }

    /// Accepts connections until the shutdown signal, then waits for them for at most the
    /// grace and closes what is left.
    pub async fn run(self) -> io::Result<()> {
        let Server {
            listener,
            shared,
            max_connections,
            grace,
            mut shutdown,
        } = self;
        // Beyond the cap the loop stops accepting: a waiting connection costs the hub nothing
        // (it sits in the system's listen queue) and is served as soon as a slot frees, where
        // accepting and closing would cost an accept per attempt and give the client a reset.
        let slots = Arc::new(Semaphore::new(max_connections));
        let mut connections = JoinSet::new();
        loop {
            while connections.try_join_next().is_some() {}
            let slot = tokio::select! {
                slot = Arc::clone(&slots).acquire_owned() => match slot {
                    Ok(slot) => slot,
                    Err(_) => break,
                },
                () = shutdown_signal(&mut shutdown) => break,
            };
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = shutdown_signal(&mut shutdown) => break,
            };
            match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(connection(
                        stream,
                        peer,
                        Arc::clone(&shared),
                        shutdown.clone(),
                        slot,
                    ));
                }
                Err(e) if is_connection_error(&e) => {}
                Err(e) => {
                    tracing::warn!(target: crate::log_targets::HTTP, error = %e, "cannot accept a connection");
                    tokio::select! {
                        () = tokio::time::sleep(ACCEPT_ERROR_PAUSE) => {}
                        () = shutdown_signal(&mut shutdown) => break,
                    }
                }
            }
        }
        drop(listener);
        let drained = async { while connections.join_next().await.is_some() {} };
        if tokio::time::timeout(grace, drained).await.is_err() {
            tracing::warn!(
                target: crate::log_targets::HTTP, open = connections.len(),
                "closing connections whose requests did not finish within the shutdown grace"
            );
            connections.shutdown().await;
        }
        Ok(())
    }
}

/// Errors of one connection that `accept` reports; the listener itself is fine.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

/// Resolves once a shutdown was triggered; never if the trigger is gone without one.
async fn shutdown_signal(rx: &mut watch::Receiver<bool>) {
    while !*rx.borrow_and_update() {
        if rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// One connection, from its TLS handshake to its close; `_slot` is its place under the cap.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) {
    let _ = stream.set_nodelay(true);
    let Some(acceptor) = shared.tls.clone() else {
        return serve_connection(stream, peer, &shared, shutdown).await;
    };
    let handshake = tokio::time::timeout(shared.tls_handshake_timeout, acceptor.accept(stream));
    let stream = tokio::select! {
        done = handshake => match done {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                tracing::debug!(target: crate::log_targets::HTTP, peer = %peer.ip(), error = %e, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!(target: crate::log_targets::HTTP, peer = %peer.ip(), "TLS handshake timed out");
                return;
            }
        },
        () = shutdown_signal(&mut shutdown) => return,
    };
    serve_connection(stream, peer, &shared, shutdown).await;
}

/// Serves HTTP on an established stream until it closes, its clock expires, or a graceful
/// shutdown has let its requests finish.
async fn serve_connection<S>(
    stream: S,
    peer: SocketAddr,
    shared: &Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let clock = ConnClock::new();
    let io = TokioIo::new(Watched::new(stream, Arc::clone(&clock)));
    let service = {
        let shared = Arc::clone(shared);
        let clock = Arc::clone(&clock);
        hyper::service::service_fn(move |req: Request<Incoming>| {
            let shared = Arc::clone(&shared);
            let clock = Arc::clone(&clock);
            async move {
                let router = shared.router.clone();
                shared.limits.serve(router, &clock, peer, req).await
            }
        })
    };
    let conn = shared.builder.serve_connection(io, service);
    tokio::pin!(conn);
    let mut shutting_down = false;
    loop {
        tokio::select! {
            done = conn.as_mut() => {
                if let Err(e) = done {
                    tracing::debug!(target: crate::log_targets::HTTP, peer = %peer.ip(), error = %e, "connection ended with an error");
                }
                return;
            }
            why = clock.expired(&shared.timeouts) => {
                tracing::debug!(target: crate::log_targets::HTTP, peer = %peer.ip(), reason = why.as_str(), "connection closed");
                return;
            }
            () = shutdown_signal(&mut shutdown), if !shutting_down => {
                shutting_down = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}
