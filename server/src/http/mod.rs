//! The HTTP face of the hub (axum on tokio; TLS optional), with the endpoints of
//! `outreach_core::sync::protocol`.

mod blobs;
mod log;
mod respond;
mod routes;
mod tls;

use std::any::Any;
use std::net::SocketAddr;

use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use tokio::task::JoinHandle;
use tower_http::catch_panic::CatchPanicLayer;

pub use self::tls::TlsConfig;
use crate::error::{ApiError, Error, Result};
use crate::hub::Hub;

/// The router of every endpoint, for serving or for in-process tests.
pub fn router(hub: Hub) -> Router {
    Router::new()
        .route("/v1/enroll", post(routes::enroll))
        .route("/v1/sync", post(routes::sync))
        .route("/v1/blobs/{sha256}", get(blobs::get_blob).put(blobs::put_blob))
        .route("/v1/health", get(routes::health))
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        // Bodies are bounded by the handlers themselves: by `max_body_bytes`, or by the largest
        // brochure file for uploads.
        .layer(DefaultBodyLimit::disable())
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn(log::log_request))
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
    handle: axum_server::Handle<SocketAddr>,
    task: JoinHandle<std::io::Result<()>>,
    grace: std::time::Duration,
}

/// Starts a graceful shutdown of a server from elsewhere (a signal handler).
#[derive(Debug, Clone)]
pub struct ShutdownTrigger {
    handle: axum_server::Handle<SocketAddr>,
    grace: std::time::Duration,
}

impl ShutdownTrigger {
    /// Stops accepting connections and lets requests in flight finish, for at most the hub's
    /// `shutdown_grace`.
    pub fn trigger(&self) {
        self.handle.graceful_shutdown(Some(self.grace));
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
            handle: self.handle.clone(),
            grace: self.grace,
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
    /// Serves the hub on `listener`, over TLS if `tls` is given, on the current tokio runtime
    /// (multi-threaded: documents are validated on its blocking pool). Returns once the server
    /// is accepting connections.
    pub fn serve(&self, listener: tokio::net::TcpListener, tls: Option<TlsConfig>) -> Result<ServerHandle> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::Server("serve must be called from within a tokio runtime".into()))?;
        let addr = listener.local_addr()?;
        let app = router(self.clone()).into_make_service();
        let handle = axum_server::Handle::new();
        let server = axum_server::Server::<SocketAddr>::from_listener(listener).handle(handle.clone());
        let with_tls = tls.is_some();
        let task = match tls {
            None => runtime.spawn(server.serve(app)),
            Some(tls) => {
                let acceptor = RustlsAcceptor::new(RustlsConfig::from_config(tls.config));
                runtime.spawn(server.acceptor(acceptor).serve(app))
            }
        };
        Ok(ServerHandle {
            addr,
            tls: with_tls,
            handle,
            task,
            grace: self.config().shutdown_grace,
        })
    }
}
