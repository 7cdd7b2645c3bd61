//! Connection hygiene: what a caller that never authenticates can hold of the hub. Idle, slow
//! and oversized requests are closed or refused within the configured limits (short ones here),
//! connections and requests in flight are capped, and enrollment attempts are rate limited per
//! address. Raw TCP where a well-behaved client library would not misbehave on purpose.

use std::net::SocketAddr;
use std::time::Duration;

use outreach_core::model::DeviceId;
use outreach_core::sync::protocol::{
    decode, encode, EnrollRequest, EnrollResponse, ErrorBody, ErrorCode, Role, PROTOCOL_VERSION,
};
use outreach_hub::HubConfig;
use reqwest::StatusCode;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::TestHub;

/// Slack on top of a configured timeout before a test calls it broken: generous, so that a
/// loaded machine does not fail a correct hub.
const SLACK: Duration = Duration::from_secs(10);

/// Timeouts short enough for tests; each test shortens or lengthens what it looks at.
fn quick() -> HubConfig {
    HubConfig {
        tls_handshake_timeout: Duration::from_secs(1),
        header_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(1),
        body_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(2),
        ..HubConfig::default()
    }
}

fn addr(hub: &TestHub) -> SocketAddr {
    hub.url.trim_start_matches("http://").parse().unwrap()
}

/// Whether the peer closes `stream` (end of stream or reset) within `within`; whatever it
/// sends before is read and dropped.
async fn closed_within(stream: &mut (impl AsyncRead + Unpin), within: Duration) -> bool {
    let read_to_end = async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(within, read_to_end).await.is_ok()
}

/// An HTTP/1.1 answer read off a socket.
#[derive(Debug)]
struct RawAnswer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl RawAnswer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn error(&self) -> ErrorBody {
        decode(&self.body).unwrap_or_else(|e| panic!("status {}: not an error body: {e}", self.status))
    }
}

/// Reads one answer (its head, then `Content-Length` bytes of body), within [`SLACK`] plus
/// `after`.
async fn read_answer(stream: &mut (impl AsyncRead + Unpin), after: Duration) -> RawAnswer {
    let read = async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = stream.read(&mut chunk).await.expect("the answer's head");
            assert!(
                n > 0,
                "closed before an answer: {:?}",
                String::from_utf8_lossy(&buf)
            );
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
            .collect();
        let mut answer = RawAnswer {
            status,
            headers,
            body: buf[head_end..].to_vec(),
        };
        let len: usize = answer.header("content-length").map_or(0, |v| v.parse().unwrap());
        while answer.body.len() < len {
            let n = stream.read(&mut chunk).await.expect("the answer's body");
            assert!(n > 0, "closed in the answer's body");
            answer.body.extend_from_slice(&chunk[..n]);
        }
        answer
    };
    tokio::time::timeout(after + SLACK, read)
        .await
        .expect("an answer in time")
}

fn health_request() -> &'static [u8] {
    b"GET /v1/health HTTP/1.1\r\nHost: hub\r\n\r\n"
}

fn enroll_body(code: &str) -> Vec<u8> {
    encode(&EnrollRequest {
        protocol: PROTOCOL_VERSION,
        code: code.to_string(),
        device_id: DeviceId::random(),
        device_name: "Test phone".into(),
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_connections_are_closed_while_health_keeps_answering() {
    let config = HubConfig {
        header_timeout: Duration::from_secs(2),
        ..quick()
    };
    let hub = TestHub::start_with(config.clone()).await;
    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push(TcpStream::connect(addr(&hub)).await.unwrap());
    }
    let mut watchers = tokio::task::JoinSet::new();
    for mut stream in idle {
        let within = config.header_timeout + SLACK;
        watchers.spawn(async move { closed_within(&mut stream, within).await });
    }
    // The hub answers others all the while the idle connections are held and closed.
    let mut answered = 0;
    while !watchers.is_empty() {
        assert_eq!(hub.health().await, "ok");
        answered += 1;
        while let Some(closed) = watchers.try_join_next() {
            assert!(closed.unwrap(), "an idle connection outlived the header timeout");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(answered > 1);
    hub.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_headers_are_cut_at_the_header_timeout() {
    // The idle timeout is long: only the header timeout can close these connections in time.
    let config = HubConfig {
        header_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(60),
        ..quick()
    };
    let hub = TestHub::start_with(config.clone()).await;

    // A new connection trickling its first request's headers.
    let (mut read, mut write) = TcpStream::connect(addr(&hub)).await.unwrap().into_split();
    let trickle = tokio::spawn(async move {
        let _ = write.write_all(b"GET /v1/health HTTP/1.1\r\n").await;
        for _ in 0..600 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if write.write_all(b"X-Slow: 1\r\n").await.is_err() {
                return;
            }
        }
    });
    let mut got = Vec::new();
    let closed = tokio::time::timeout(config.header_timeout + SLACK, read.read_to_end(&mut got)).await;
    assert!(closed.is_ok(), "a slow header outlived the header timeout");
    assert!(got.is_empty(), "a request whose headers never ended was answered");
    trickle.abort();

    // A kept-alive connection: a first request is answered, the next one trickles.
    let (mut read, mut write) = TcpStream::connect(addr(&hub)).await.unwrap().into_split();
    write.write_all(health_request()).await.unwrap();
    let first = read_answer(&mut read, Duration::ZERO).await;
    assert_eq!((first.status, first.body.as_slice()), (200, b"ok".as_slice()));
    let trickle = tokio::spawn(async move {
        let _ = write.write_all(b"GET /v1/health HTTP/1.1\r\n").await;
        for _ in 0..600 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if write.write_all(b"X-Slow: 1\r\n").await.is_err() {
                return;
            }
        }
    });
    assert!(
        closed_within(&mut read, config.header_timeout + SLACK).await,
        "slow headers on a kept-alive connection outlived the header timeout"
    );
    trickle.abort();
    hub.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    // The header timeout is long: only the idle timeout can close the connection in time.
    let config = HubConfig {
        header_timeout: Duration::from_secs(60),
        idle_timeout: Duration::from_secs(1),
        ..quick()
    };
    let hub = TestHub::start_with(config.clone()).await;
    let mut stream = TcpStream::connect(addr(&hub)).await.unwrap();
    for _ in 0..2 {
        stream.write_all(health_request()).await.unwrap();
        let answer = read_answer(&mut stream, Duration::ZERO).await;
        assert_eq!((answer.status, answer.body.as_slice()), (200, b"ok".as_slice()));
    }
    assert!(
        closed_within(&mut stream, config.idle_timeout + SLACK).await,
        "an idle keep-alive connection outlived the idle timeout"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_sync_body_is_cut_at_the_body_deadline() {
    let config = HubConfig {
        header_timeout: Duration::from_secs(60),
        idle_timeout: Duration::from_secs(60),
        body_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(60),
        ..quick()
    };
    let hub = TestHub::start_with(config.clone()).await;
    let device = hub.device(&hub.org_a, Role::Fieldworker).await;
    let before = hub.snapshot();

    let (mut read, mut write) = TcpStream::connect(addr(&hub)).await.unwrap().into_split();
    let head = format!(
        "POST /v1/sync HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/cbor\r\nContent-Length: 100000\r\n\r\n",
        device.token
    );
    write.write_all(head.as_bytes()).await.unwrap();
    let trickle = tokio::spawn(async move {
        for _ in 0..600 {
            if write.write_all(&[0u8; 10]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let answer = read_answer(&mut read, config.body_timeout).await;
    assert_eq!(answer.status, 408);
    assert_eq!(answer.error().code, ErrorCode::Timeout);
    assert!(
        closed_within(&mut read, SLACK).await,
        "the connection is closed after a 408"
    );
    trickle.abort();
    assert_eq!(hub.snapshot(), before);
    hub.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_enroll_is_refused_before_its_body_is_sent() {
    let hub = TestHub::start_with(quick()).await;
    for expect in ["", "Expect: 100-continue\r\n"] {
        let mut stream = TcpStream::connect(addr(&hub)).await.unwrap();
        let head = format!(
            "POST /v1/enroll HTTP/1.1\r\nHost: hub\r\nContent-Type: application/cbor\r\n\
             {expect}Content-Length: 15728640\r\n\r\n"
        );
        // Headers only: not one byte of the body is sent.
        stream.write_all(head.as_bytes()).await.unwrap();
        let answer = read_answer(&mut stream, Duration::ZERO).await;
        assert_eq!(answer.status, 413, "{expect:?}: no 100 Continue, a refusal");
        assert_eq!(answer.error().code, ErrorCode::TooLarge);
        assert!(closed_within(&mut stream, SLACK).await);
    }
    assert!(hub.hub.devices().unwrap().is_empty());
    hub.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chunked_enroll_is_refused_as_soon_as_it_passes_the_limit() {
    let hub = TestHub::start_with(quick()).await;
    let limit = hub.config.max_enroll_body_bytes;
    let chunked_head = "POST /v1/enroll HTTP/1.1\r\nHost: hub\r\nContent-Type: application/cbor\r\n\
                        Transfer-Encoding: chunked\r\n\r\n";

    // One chunk past the limit, and the body left unfinished: the answer comes anyway.
    let mut stream = TcpStream::connect(addr(&hub)).await.unwrap();
    stream.write_all(chunked_head.as_bytes()).await.unwrap();
    let chunk = vec![0x85u8; limit + 1000];
    stream
        .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
        .await
        .unwrap();
    stream.write_all(&chunk).await.unwrap();
    stream.write_all(b"\r\n").await.unwrap();
    let answer = read_answer(&mut stream, Duration::ZERO).await;
    assert_eq!(answer.status, 413);
    assert_eq!(answer.error().code, ErrorCode::TooLarge);

    // Chunked within the limit enrolls.
    let code = hub.code(&hub.org_a, Role::Fieldworker);
    let body = enroll_body(&code);
    let (first, second) = body.split_at(body.len() / 2);
    let mut stream = TcpStream::connect(addr(&hub)).await.unwrap();
    stream.write_all(chunked_head.as_bytes()).await.unwrap();
    for part in [first, second] {
        stream
            .write_all(format!("{:x}\r\n", part.len()).as_bytes())
            .await
            .unwrap();
        stream.write_all(part).await.unwrap();
        stream.write_all(b"\r\n").await.unwrap();
    }
    stream.write_all(b"0\r\n\r\n").await.unwrap();
    let answer = read_answer(&mut stream, Duration::ZERO).await;
    assert_eq!(answer.status, 200);
    let enrolled: EnrollResponse = decode(&answer.body).unwrap();
    assert_eq!(enrolled.org_id, hub.org_a.id);
    assert_eq!(hub.hub.devices().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn beyond_the_connection_cap_the_hub_stops_accepting_until_a_slot_frees() {
    let config = HubConfig {
        max_connections: 4,
        header_timeout: Duration::from_secs(60),
        idle_timeout: Duration::from_secs(60),
        ..quick()
    };
    let hub = TestHub::start_with(config).await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(addr(&hub)).await.unwrap());
    }
    // The system completes the fifth connection, but the hub does not take it up.
    let mut fifth = TcpStream::connect(addr(&hub)).await.unwrap();
    fifth.write_all(health_request()).await.unwrap();
    let mut byte = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(500), fifth.read(&mut byte)).await;
    assert!(
        early.is_err(),
        "a fifth connection was served past the cap: {early:?}"
    );
    // A slot frees: the waiting connection is served.
    drop(held.pop());
    let answer = read_answer(&mut fifth, Duration::ZERO).await;
    assert_eq!((answer.status, answer.body.as_slice()), (200, b"ok".as_slice()));
}

#[tokio::test(flavor = "multi_thread")]
async fn beyond_the_in_flight_cap_requests_are_refused_503_at_once() {
    let config = HubConfig {
        max_in_flight: 2,
        header_timeout: Duration::from_secs(60),
        idle_timeout: Duration::from_secs(60),
        body_timeout: Duration::from_secs(60),
        request_timeout: Duration::from_secs(60),
        ..quick()
    };
    let hub = TestHub::start_with(config).await;
    // Two enrollments whose bodies never finish hold both places.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(addr(&hub)).await.unwrap();
        stream
            .write_all(b"POST /v1/enroll HTTP/1.1\r\nHost: hub\r\nContent-Length: 100\r\n\r\n0123456789")
            .await
            .unwrap();
        held.push(stream);
    }
    let url = format!("{}/v1/health", hub.url);
    let refused = tokio::time::timeout(SLACK, async {
        loop {
            let resp = hub.http.get(&url).send().await.unwrap();
            if resp.status() == StatusCode::SERVICE_UNAVAILABLE {
                return resp;
            }
            assert_eq!(resp.status(), StatusCode::OK);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("a 503 once both places are held");
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    let body: ErrorBody = decode(&refused.bytes().await.unwrap()).unwrap();
    assert_eq!(body.code, ErrorCode::Busy);
    // Requests refused at the cap do not take a place; closing the held ones frees theirs.
    for _ in 0..5 {
        let status = hub.http.get(&url).send().await.unwrap().status();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    }
    drop(held);
    tokio::time::timeout(SLACK, async {
        while hub.http.get(&url).send().await.unwrap().status() != StatusCode::OK {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("served again once the held requests are gone");
    hub.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn enrollment_attempts_are_rate_limited_per_address() {
    let config = HubConfig {
        enroll_attempts_per_minute: 3,
        ..HubConfig::default()
    };
    let hub = TestHub::start_with(config.clone()).await;
    for code in ["AAAA-BBBB-CCCC-DDDD", "EEEE-FFFF-GGGG-HHHH", "not a code"] {
        let (status, err) = hub.try_enroll(code, DeviceId::random()).await.unwrap_err();
        assert_eq!(
            (status, err.code),
            (StatusCode::FORBIDDEN, ErrorCode::InvalidCode)
        );
    }
    // The allowance is used up: even a good code is refused, and stays usable.
    let code = hub.code(&hub.org_a, Role::Fieldworker);
    let resp = hub.post("/v1/enroll", None, enroll_body(&code)).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body: ErrorBody = decode(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(body.code, ErrorCode::RateLimited);
    assert!(hub.hub.devices().unwrap().is_empty());

    // A fresh limiter (another hub): enrollments that succeed do not use the allowance up, so a
    // training session enrolls more phones from one address than the limit.
    let fresh = TestHub::start_with(config).await;
    for _ in 0..5 {
        fresh.device(&fresh.org_b, Role::Fieldworker).await;
    }
    assert_eq!(fresh.hub.devices().unwrap().len(), 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_tls_handshake_is_closed() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = HubConfig {
        tls_handshake_timeout: Duration::from_secs(1),
        header_timeout: Duration::from_secs(60),
        ..quick()
    };
    let mut hub = TestHub::start_with(config.clone()).await;
    let server = hub.serve_fixture_tls().await;
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    // The first bytes of a ClientHello's record header, and then nothing.
    stream.write_all(&[0x16, 0x03, 0x01]).await.unwrap();
    assert!(
        closed_within(&mut stream, config.tls_handshake_timeout + SLACK).await,
        "a stalled TLS handshake outlived its timeout"
    );
    server.shutdown().await.unwrap();
    hub.stop().await;
}
