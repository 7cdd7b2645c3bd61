//! The HTTP face of the hub (axum on tokio, served by its own accept loop over hyper; TLS
//! optional), with the endpoints of `outreach_core::sync::protocol`, under the connection and
//! request limits of [`HubConfig`](crate::HubConfig).

mod blobs;
mod conn;
mod limits;
mod log;
mod rate;
mod respond;
mod routes;
mod serve;
mod tls;

use std::any::Any;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower_http::catch_panic::CatchPanicLayer;

pub use self::tls::TlsConfig;
use crate::error::{ApiError, Error, Result};
use crate::hub::Hub;

/// The router of every endpoint, for serving or for in-process tests. Only [`Hub::serve`] adds
/// the connection and request limits and the client's address; in process, enrollment attempts
/// all count against one unknown address.
pub fn router(hub: Hub) -> Router {
    let counted = hub.clone();
    let limiter = Arc::new(rate::EnrollLimiter::new(hub.config()));
    Router::new()
        .route("/v1/enroll", post(routes::enroll))
        .route("/v1/sync", post(routes::sync))
        .route("/v1/blobs/{sha256}", get(blobs::get_blob).put(blobs::put_blob))
        .route("/v1/health", get(routes::health))
        .route("/v1/ready", get(routes::ready))
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        // Bodies are bounded by the handlers themselves: by `max_enroll_body_bytes`,
        // `max_body_bytes`, or by the largest brochure file for uploads.
        .layer(DefaultBodyLimit::disable())
        .layer(Extension(limiter))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn_with_state(counted, log::log_request))
        .with_state(hub)
}

/// The operator's router, for a listener of its own (`serve --metrics-listen`): `GET /metrics`
/// and `GET /v1/ready`. Never served beside the devices' endpoints, since the figures describe
/// the deployment.
pub fn operator_router(hub: Hub) -> Router {
    Router::new()
        .route("/metrics", get(routes::metrics))
        .route("/v1/ready", get(routes::ready))
        .fallback(routes::not_found)
        .layer(CatchPanicLayer::custom(panic_response))
        .with_state(hub)
}

/// A panic in a handler is a bug: the device gets a 500 like any internal error, and the
/// connection and the hub live on.
fn panic_response(_: Box<dyn Any + Send + 'static>) -> Response {
    ApiError::internal(&Error::Server("a request handler panicked".into())).into_response()
}

/// A running server: its address, and how to stop it.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    tls: bool,
    shutdown: Arc<watch::Sender<bool>>,
    task: JoinHandle<std::io::Result<()>>,
}

/// Starts a graceful shutdown of a server from elsewhere (a signal handler).
#[derive(Debug, Clone)]
pub struct ShutdownTrigger {
    shutdown: Arc<watch::Sender<bool>>,
}

impl ShutdownTrigger {
    /// Stops accepting connections and lets requests in flight finish, for at most the hub's
    /// `shutdown_grace`.
    pub fn trigger(&self) {
        self.shutdown.send_replace(true);
    }
}

impl ServerHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's base URL, `http://127.0.0.1:PORT` or `https://...`.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// A way to start the shutdown from another task.
    pub fn shutdown_trigger(&self) -> ShutdownTrigger {
        ShutdownTrigger {
            shutdown: Arc::clone(&self.shutdown),
        }
    }

    /// Waits until the server has stopped (after a shutdown was triggered, or a failure).
    pub async fn stopped(self) -> Result<()> {
        match self.task.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Error::Server(e.to_string())),
            Err(e) => Err(Error::Server(format!("the server task failed: {e}"))),
        }
    }

    /// Stops gracefully: no new connections, requests in flight finish (for at most the hub's
    /// `shutdown_grace`), then returns. Every write the hub answered is durable, and the data
    /// directory can be opened by a new hub right away.
    pub async fn shutdown(self) -> Result<()> {
        self.shutdown_trigger().trigger();
        self.stopped().await
    }
}

impl Hub {
    /// Serves [`operator_router`] on `listener` until `stop` resolves: plain HTTP, for a
    /// loopback or private address that only the operator's monitoring reaches.
    pub fn serve_operator(
        &self,
        listener: tokio::net::TcpListener,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> JoinHandle<std::io::Result<()>> {
        let app = operator_router(self.clone());
        tokio::spawn(async move { axum::serve(listener, app).with_graceful_shutdown(stop).await })
    }

    /// Serves the hub on `listener`, over TLS if `tls` is given, on the current tokio runtime
    /// (multi-threaded: documents are validated on its blocking pool), under the connection
    /// and request limits of its [`HubConfig`](crate::HubConfig). Returns once the server is
    /// accepting connections.
    pub fn serve(&self, listener: tokio::net::TcpListener, tls: Option<TlsConfig>) -> Result<ServerHandle> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::Server("serve must be called from within a tokio runtime".into()))?;
        self.config().check_connections()?;
        // A hub that could not isolate what it validates does not start.
        self.inner.validator.program()?;
        let addr = listener.local_addr()?;
        let with_tls = tls.is_some();
        let acceptor = tls.map(|tls| tokio_rustls::TlsAcceptor::from(tls.config));
        let (shutdown, signal) = watch::channel(false);
        let server = serve::Server::new(listener, router(self.clone()), self.config(), acceptor, signal);
        let task = runtime.spawn(server.run());
        Ok(ServerHandle {
            addr,
            tls: with_tls,
            shutdown: Arc::new(shutdown),
            task,
        })
    }
}
