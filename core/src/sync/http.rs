//! The HTTP side of sync: the hub's address, TLS with the public web roots and an optional
//! private CA (rustls with the ring provider), and requests with timeouts, bounded retries with
//! backoff on transient failures, and cancellation raced against every request and every wait.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, RequestBuilder, Response, Url};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use super::cancel::CancelToken;
use super::options::SyncOptions;
use super::retry::{classify_status, transport_is_transient, Backoff, Failure};
use crate::error::{Error, Result};
use crate::model::{Problem, ValidationError};
use crate::sync::protocol::CONTENT_TYPE as CBOR;

/// Slowest upload rate a request body is given time for, in bytes per second (weak mobile data).
const MIN_UPLOAD_RATE: u64 = 16 * 1024;

/// Largest error body read from the hub.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// How often a request waiting for the hub's answer says so.
const WAIT_TICK: Duration = Duration::from_secs(2);

/// The error of a hub that did not answer within the deadline.
fn silent(deadline: Duration) -> Error {
    Error::Network(format!("the hub did not answer within {} s", deadline.as_secs()))
}

/// The base URL of a hub: `https://`, or plain `http://` on a loopback address only (tests and
/// a hub on the same machine), since the device token must never cross a network in clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HubUrl {
    base: String,
    loopback: bool,
}

impl HubUrl {
    /// Checks and normalises a hub address (no trailing slash, no query, no credentials).
    pub fn parse(text: &str) -> Result<HubUrl> {
        let bad = |hint: &'static str| Error::Invalid(ValidationError::new("hub", Problem::Malformed(hint)));
        let url = Url::parse(text.trim()).map_err(|_| bad("an https:// address"))?;
        let host = url.host_str().ok_or_else(|| bad("an https:// address"))?;
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => return Err(bad("an https:// address (plain http only on this machine)")),
            _ => return Err(bad("an https:// address")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("an address without credentials"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("an address without query or fragment"));
        }
        Ok(HubUrl {
            base: url.as_str().trim_end_matches('/').to_string(),
            loopback,
        })
    }

    /// The address as stored and shown.
    pub fn as_str(&self) -> &str {
        &self.base
    }

    /// Whether the hub is on this machine.
    fn is_loopback(&self) -> bool {
        self.loopback
    }

    fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// A device token: sent as a bearer credential, kept in the encrypted store, never shown.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Token(String);

impl Token {
    /// Checks a token received from a hub or read from the store: printable ASCII that fits in
    /// a header.
    pub fn new(token: String) -> Option<Token> {
        let ok = (16..=512).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_graphic());
        ok.then_some(Token(token))
    }

    /// The secret, for storing it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(..)")
    }
}

/// The TLS configuration: the public web roots plus the app's extra CA, the ring provider.
pub(crate) fn tls_config(extra_ca_pem: Option<&str>) -> Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(pem) = extra_ca_pem {
        let bad = || {
            Error::Invalid(ValidationError::new(
                "extra_ca_pem",
                Problem::Malformed("a CA certificate in PEM"),
            ))
        };
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            roots.add(cert.map_err(|_| bad())?).map_err(|_| bad())?;
            added += 1;
        }
        if added == 0 {
            return Err(bad());
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Network(format!("cannot set up TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Requests to one hub, for one sync or enrollment: transport only. A revocation is
/// [`Error::RevokedAndWiped`], and the caller wipes the store (see
/// `Store::wiped_if_revoked`).
pub(crate) struct HubClient {
    http: reqwest::Client,
    hub: HubUrl,
    token: Option<Token>,
    backoff: Backoff,
    request_timeout: Duration,
    deadline: Duration,
    cancel: CancelToken,
}

impl HubClient {
    /// A client for `hub`, authenticated with `token` when given.
    pub fn new(
        hub: HubUrl,
        token: Option<Token>,
        options: &SyncOptions,
        cancel: &CancelToken,
    ) -> Result<HubClient> {
        let tls = tls_config(options.extra_ca_pem.as_deref())?;
        let mut builder = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(options.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("outreach-core/", env!("CARGO_PKG_VERSION")));
        if hub.is_loopback() {
            // No proxy can reach this machine's own loopback address.
            builder = builder.no_proxy();
        }
        let http = builder
            .build()
            .map_err(|e| Error::Network(format!("cannot set up the HTTP client: {e}")))?;
        Ok(HubClient {
            http,
            hub,
            token,
            backoff: Backoff {
                attempts: options.max_attempts.max(1),
                base: options.retry_base_delay,
                max: options.retry_max_delay,
            },
            request_timeout: options.request_timeout,
            deadline: options.deadline,
            cancel: cancel.clone(),
        })
    }

    /// The cancel token of this client's work.
    pub fn cancel(&self) -> &CancelToken {
        &self.cancel
    }

    /// A request to `path` (under the hub's address), with the token if there is one.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let req = self.http.request(method, self.hub.endpoint(path));
        match &self.token {
            // `bearer_auth` marks the header sensitive: it never shows in debug output.
            Some(t) => req.bearer_auth(t.expose()),
            None => req,
        }
    }

    /// POSTs a CBOR body and returns the CBOR answer of a success, retrying transient failures
    /// until the answer starts or the deadline passes (the options' `deadline`, plus the time
    /// the body takes to upload at a slow mobile rate): a hub that takes the connection and
    /// never answers ends the request in bounded time. `on_bytes` is told the bytes received so
    /// far and the expected total (0 if unknown); `waiting` how long the answer has been
    /// awaited, every few seconds while it is.
    pub async fn post_cbor(
        &self,
        path: &str,
        body: Vec<u8>,
        limit: usize,
        on_bytes: &mut (dyn FnMut(u64, u64) + Send),
        waiting: &(dyn Fn(Duration) + Send + Sync),
    ) -> Result<Vec<u8>> {
        let started = tokio::time::Instant::now();
        let deadline = started + self.deadline + Duration::from_secs(body.len() as u64 / MIN_UPLOAD_RATE);
        let body = bytes::Bytes::from(body);
        let mut retry = 0;
        loop {
            let req = self
                .request(Method::POST, path)
                .header(CONTENT_TYPE, CBOR)
                .body(body.clone());
            let attempt = async {
                let mut resp = self
                    .send_waiting(req, body.len() as u64, deadline, started, waiting)
                    .await?;
                self.read_body(&mut resp, limit, on_bytes).await
            };
            match self.attempt(attempt).await {
                Ok(v) => return Ok(v),
                Err(f) => self.after_failure_before(f, &mut retry, Some(deadline)).await?,
            }
        }
    }

    /// [`send`](HubClient::send), waiting at most until `deadline` for the answer to start and
    /// telling `waiting` how long it has waited since `started`.
    async fn send_waiting(
        &self,
        req: RequestBuilder,
        upload_len: u64,
        deadline: tokio::time::Instant,
        started: tokio::time::Instant,
        waiting: &(dyn Fn(Duration) + Send + Sync),
    ) -> Result<Response, Failure> {
        let send = self.send(req, upload_len);
        tokio::pin!(send);
        let mut tick = tokio::time::interval_at(started + WAIT_TICK, WAIT_TICK);
        loop {
            tokio::select! {
                result = &mut send => return result,
                () = tokio::time::sleep_until(deadline) => {
                    return Err(Failure::Fatal(silent(self.deadline)));
                }
                now = tick.tick() => waiting(now.duration_since(started)),
            }
        }
    }

    /// Races one attempt against cancellation.
    pub async fn attempt<T>(
        &self,
        work: impl std::future::Future<Output = Result<T, Failure>>,
    ) -> Result<T, Failure> {
        self.cancel.check()?;
        tokio::select! {
            biased;
            () = self.cancel.cancelled() => Err(Failure::Fatal(Error::Cancelled)),
            result = work => result,
        }
    }

    /// Decides what follows a failed attempt: `Ok` after waiting when another attempt is due,
    /// else the error to return.
    pub async fn after_failure(&self, failure: Failure, retry: &mut u32) -> Result<()> {
        self.after_failure_before(failure, retry, None).await
    }

    /// [`after_failure`](HubClient::after_failure), with no attempt due once `deadline` would
    /// pass before it starts.
    async fn after_failure_before(
        &self,
        failure: Failure,
        retry: &mut u32,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<()> {
        match failure {
            Failure::Fatal(e) => Err(e),
            Failure::Revoked => Err(Error::RevokedAndWiped),
            Failure::Transient { error, retry_after } => {
                if *retry + 1 >= self.backoff.attempts {
                    return Err(error);
                }
                let wait = self.backoff.random_delay(*retry, retry_after);
                if deadline.is_some_and(|d| tokio::time::Instant::now() + wait >= d) {
                    return Err(match error {
                        Error::Network(_) => silent(self.deadline),
                        other => other,
                    });
                }
                *retry += 1;
                self.cancel
                    .race(async {
                        tokio::time::sleep(wait).await;
                        Ok(())
                    })
                    .await
            }
        }
    }

    /// Sends a request whose body has `upload_len` bytes; a success status gives the response,
    /// anything else a classified failure.
    pub async fn send(&self, req: RequestBuilder, upload_len: u64) -> Result<Response, Failure> {
        let resp = self.send_raw(req, upload_len).await?;
        if resp.status().is_success() {
            Ok(resp)
        } else {
            Err(self.refusal(resp).await)
        }
    }

    /// Sends a request whose body has `upload_len` bytes and returns the response whatever
    /// its status; only the transport can fail.
    pub async fn send_raw(&self, req: RequestBuilder, upload_len: u64) -> Result<Response, Failure> {
        let allowed = self.request_timeout + Duration::from_secs(upload_len / MIN_UPLOAD_RATE);
        match tokio::time::timeout(allowed, req.send()).await {
            Err(_) => Err(Failure::transient(Error::Network(
                "the hub did not answer in time".into(),
            ))),
            Ok(Err(e)) => Err(transport_failure(&e)),
            Ok(Ok(r)) => Ok(r),
        }
    }

    /// Classifies an answer that is not a success, from its status, headers and error body.
    pub async fn refusal(&self, resp: Response) -> Failure {
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut resp = resp;
        // A cut or stalled error body still tells the status.
        let body = self
            .read_body(&mut resp, MAX_ERROR_BODY, &mut |_, _| {})
            .await
            .unwrap_or_default();
        classify_status(status.as_u16(), &body, retry_after.as_deref())
    }

    /// Reads the next piece of a body, failing when it stalls longer than the request timeout.
    pub async fn next_chunk(&self, resp: &mut Response) -> Result<Option<bytes::Bytes>, Failure> {
        match tokio::time::timeout(self.request_timeout, resp.chunk()).await {
            Err(_) => Err(Failure::transient(Error::Network(
                "the connection stalled while receiving".into(),
            ))),
            Ok(Err(e)) => Err(transport_failure(&e)),
            Ok(Ok(chunk)) => Ok(chunk),
        }
    }

    /// Reads a whole body of at most `limit` bytes.
    async fn read_body(
        &self,
        resp: &mut Response,
        limit: usize,
        on_bytes: &mut (dyn FnMut(u64, u64) + Send),
    ) -> Result<Vec<u8>, Failure> {
        let expected = resp.content_length().unwrap_or(0);
        if expected > limit as u64 {
            return Err(Failure::Fatal(too_large()));
        }
        let mut body = Vec::with_capacity(expected as usize);
        while let Some(chunk) = self.next_chunk(resp).await? {
            if body.len() + chunk.len() > limit {
                return Err(Failure::Fatal(too_large()));
            }
            body.extend_from_slice(&chunk);
            on_bytes(body.len() as u64, expected);
        }
        Ok(body)
    }
}

fn too_large() -> Error {
    Error::Protocol("the answer is larger than allowed".into())
}

/// Classifies a transport error: an untrusted certificate is final, anything else on the way
/// is worth another attempt.
fn transport_failure(e: &reqwest::Error) -> Failure {
    let cause = deepest_cause(e);
    if let Some(tls) = find_tls_error(e) {
        if matches!(tls, rustls::Error::InvalidCertificate(_)) {
            return Failure::Fatal(Error::Network(format!(
                "the hub's certificate is not trusted: {tls}"
            )));
        }
    }
    let what = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        format!("cannot connect to the hub: {cause}")
    } else {
        format!("the connection to the hub failed: {cause}")
    };
    if transport_is_transient(e) {
        Failure::transient(Error::Network(what))
    } else {
        Failure::Fatal(Error::Network(what))
    }
}

/// The innermost error message, which names the actual cause ("connection refused").
fn deepest_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut current = e;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

/// A rustls error somewhere in the chain; tokio-rustls reports it inside I/O errors, which
/// hyper may wrap in another I/O error, and whose `source` skips what they wrap.
fn find_tls_error<'e>(e: &'e (dyn std::error::Error + 'static)) -> Option<&'e rustls::Error> {
    let mut current = Some(e);
    while let Some(err) = current {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        current = match err.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_addresses_are_checked_and_normalised() {
        let ok = |s: &str| HubUrl::parse(s).unwrap().as_str().to_string();
        assert_eq!(ok("https://hub.example.org/"), "https://hub.example.org");
        assert_eq!(
            ok(" https://hub.example.org:8443/outreach/ "),
            "https://hub.example.org:8443/outreach"
        );
        assert_eq!(ok("http://127.0.0.1:8787"), "http://127.0.0.1:8787");
        assert_eq!(ok("http://localhost:8787/"), "http://localhost:8787");
        assert_eq!(ok("http://[::1]:8787"), "http://[::1]:8787");
        for bad in [
            "http://hub.example.org",
            "http://192.168.1.10:8787",
            "ftp://hub.example.org",
            "hub.example.org",
            "https://user:secret@hub.example.org",
            "https://hub.example.org/?token=x",
            "https://hub.example.org/#x",
            "",
        ] {
            let e = HubUrl::parse(bad).unwrap_err();
            assert!(matches!(e, Error::Invalid(_)), "{bad}: {e:?}");
            assert!(!e.to_string().contains("secret"));
        }
    }

    #[test]
    fn tokens_never_show_and_odd_ones_are_refused() {
        let t = Token::new("a".repeat(64)).unwrap();
        assert_eq!(format!("{t:?}"), "Token(..)");
        assert!(Token::new("short".into()).is_none());
        assert!(Token::new(format!("{}\n", "a".repeat(64))).is_none());
        assert!(Token::new(format!("{} x", "a".repeat(64))).is_none());
    }

    #[test]
    fn tls_takes_the_web_roots_and_an_extra_ca() {
        assert_eq!(
            tls_config(None).unwrap().alpn_protocols,
            vec![b"http/1.1".to_vec()]
        );
        for bad in [
            "",
            "not pem",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        ] {
            assert!(matches!(tls_config(Some(bad)), Err(Error::Invalid(_))), "{bad}");
        }
    }

    #[tokio::test]
    async fn requests_carry_the_token_and_the_endpoint() {
        let hub = HubUrl::parse("http://127.0.0.1:9/base/").unwrap();
        let token = Token::new("0123456789abcdef".repeat(4)).unwrap();
        let client = HubClient::new(hub, Some(token), &SyncOptions::default(), &CancelToken::new()).unwrap();
        let req = client.request(Method::POST, "/v1/sync").build().unwrap();
        assert_eq!(req.url().as_str(), "http://127.0.0.1:9/base/v1/sync");
        let auth = req.headers().get(reqwest::header::AUTHORIZATION).unwrap();
        assert!(auth.is_sensitive());
        assert_eq!(
            auth.to_str().unwrap(),
            format!("Bearer {}", "0123456789abcdef".repeat(4))
        );
        assert!(!format!("{req:?}").contains("0123456789abcdef"));
    }
}
