//! A TCP proxy on loopback that cuts connections at random byte offsets, in the request or in
//! the response, to show that a connection lost at any byte costs nothing but a retry.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Where a connection is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// Forward everything.
    None,
    /// Close both sides once this many request bytes went through.
    Request(u64),
    /// Close both sides once this many response bytes went through.
    Response(u64),
}

struct State {
    upstream: Mutex<SocketAddr>,
    enabled: AtomicBool,
    /// Cut only responses, never requests.
    responses_only: AtomicBool,
    response_bytes: AtomicU64,
    /// Chance that a new connection is cut somewhere.
    probability: Mutex<f64>,
    rng: Mutex<StdRng>,
    requests_cut: AtomicU64,
    responses_cut: AtomicU64,
    connections: AtomicU64,
}

/// The proxy; it stops when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` on an ephemeral loopback port; faults are off until
    /// [`FaultProxy::inject`].
    pub async fn start(upstream: SocketAddr, seed: u64) -> std::io::Result<FaultProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            upstream: Mutex::new(upstream),
            enabled: AtomicBool::new(false),
            responses_only: AtomicBool::new(false),
            response_bytes: AtomicU64::new(0),
            probability: Mutex::new(0.0),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            requests_cut: AtomicU64::new(0),
            responses_cut: AtomicU64::new(0),
            connections: AtomicU64::new(0),
        });
        let s = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = relay(client, s).await;
                });
            }
        });
        Ok(FaultProxy { addr, state, task })
    }

    /// Base URL of the proxy (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Cuts each new connection with this probability, at a random offset of its request or
    /// of its response.
    pub fn inject(&self, probability: f64) {
        if let Ok(mut p) = self.state.probability.lock() {
            *p = probability;
        }
        self.state.enabled.store(true, Ordering::SeqCst);
    }

    /// Cuts each new connection with this probability, always in its response.
    pub fn inject_in_responses(&self, probability: f64) {
        self.state.responses_only.store(true, Ordering::SeqCst);
        self.inject(probability);
    }

    /// Response bytes relayed so far.
    pub fn response_bytes(&self) -> u64 {
        self.state.response_bytes.load(Ordering::SeqCst)
    }

    /// Relays new connections to `upstream` from now on (a hub restarted on another port).
    pub fn set_upstream(&self, upstream: SocketAddr) {
        if let Ok(mut u) = self.state.upstream.lock() {
            *u = upstream;
        }
    }

    /// Stops cutting.
    pub fn heal(&self) {
        self.state.enabled.store(false, Ordering::SeqCst);
    }

    /// Requests and responses cut so far.
    pub fn cuts(&self) -> (u64, u64) {
        (
            self.state.requests_cut.load(Ordering::SeqCst),
            self.state.responses_cut.load(Ordering::SeqCst),
        )
    }

    /// Connections relayed so far.
    pub fn connections(&self) -> u64 {
        self.state.connections.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn choose(state: &State) -> Cut {
    if !state.enabled.load(Ordering::SeqCst) {
        return Cut::None;
    }
    let p = state.probability.lock().map(|p| *p).unwrap_or(0.0);
    let Ok(mut rng) = state.rng.lock() else {
        return Cut::None;
    };
    if !rng.random_bool(p.clamp(0.0, 1.0)) {
        return Cut::None;
    }
    // Offsets spread from the first byte (headers) to deep into large bodies.
    let offset = (2f64.powf(rng.random_range(0.0..18.0)) as u64).saturating_sub(1);
    if !state.responses_only.load(Ordering::SeqCst) && rng.random_bool(0.5) {
        Cut::Request(offset)
    } else {
        Cut::Response(offset)
    }
}

async fn relay(client: TcpStream, state: Arc<State>) -> std::io::Result<()> {
    state.connections.fetch_add(1, Ordering::SeqCst);
    let upstream = *state
        .upstream
        .lock()
        .map_err(|_| std::io::Error::other("poisoned"))?;
    let server = TcpStream::connect(upstream).await?;
    let cut = choose(&state);
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let request_limit = match cut {
        Cut::Request(n) => Some(n),
        _ => None,
    };
    let response_limit = match cut {
        Cut::Response(n) => Some(n),
        _ => None,
    };
    let mut up = std::pin::pin!(pump(&mut cr, &mut sw, request_limit, None));
    let mut down = std::pin::pin!(pump(
        &mut sr,
        &mut cw,
        response_limit,
        Some(&state.response_bytes)
    ));
    let (mut up_done, mut down_done) = (false, false);
    // A cut in either direction ends the whole connection (both halves are dropped); otherwise
    // the relay ends when both directions have ended.
    while !(up_done && down_done) {
        tokio::select! {
            r = &mut up, if !up_done => match r {
                Ok(true) => {
                    state.requests_cut.fetch_add(1, Ordering::SeqCst);
                    break;
                }
                _ => up_done = true,
            },
            r = &mut down, if !down_done => match r {
                Ok(true) => {
                    state.responses_cut.fetch_add(1, Ordering::SeqCst);
                    break;
                }
                _ => down_done = true,
            },
        }
    }
    Ok(())
}

/// Copies until EOF (returns `false`) or until `limit` bytes went through (returns `true`).
async fn pump(
    from: &mut tokio::net::tcp::OwnedReadHalf,
    to: &mut tokio::net::tcp::OwnedWriteHalf,
    limit: Option<u64>,
    counter: Option<&AtomicU64>,
) -> std::io::Result<bool> {
    let mut buf = vec![0u8; 16 * 1024];
    let mut sent: u64 = 0;
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            let _ = to.shutdown().await;
            return Ok(false);
        }
        let n = match limit {
            Some(l) if sent + n as u64 >= l => {
                let keep = (l - sent) as usize;
                to.write_all(&buf[..keep]).await?;
                if let Some(c) = counter {
                    c.fetch_add(keep as u64, Ordering::SeqCst);
                }
                return Ok(true);
            }
            _ => n,
        };
        to.write_all(&buf[..n]).await?;
        if let Some(c) = counter {
            c.fetch_add(n as u64, Ordering::SeqCst);
        }
        sent += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        addr
    }

    async fn round_trip(proxy: &FaultProxy, payload: &[u8]) -> Vec<u8> {
        let mut s = TcpStream::connect(proxy.addr).await.unwrap();
        let _ = s.write_all(payload).await;
        let _ = s.shutdown().await;
        let mut back = Vec::new();
        let _ = s.read_to_end(&mut back).await;
        back
    }

    #[tokio::test]
    async fn relays_whole_streams_until_told_to_cut_them() {
        let proxy = FaultProxy::start(echo_server().await, 7).await.unwrap();
        let payload = vec![42u8; 300_000];
        assert_eq!(round_trip(&proxy, &payload).await, payload);
        proxy.inject(1.0);
        let mut short = 0;
        for _ in 0..20 {
            if round_trip(&proxy, &payload).await.len() < payload.len() {
                short += 1;
            }
        }
        let (req, resp) = proxy.cuts();
        assert_eq!(short, 20, "every connection was cut");
        assert_eq!(req + resp, 20);
        assert!(
            req > 0 && resp > 0,
            "both directions are cut: {req} requests, {resp} responses"
        );
        proxy.heal();
        assert_eq!(round_trip(&proxy, &payload).await, payload);
    }
}
