//! `bench load`, the load generator of `bench sync`'s `hub_syncs_per_s`, run as a process of
//! its own so that its work is not the hub's: it enrolls one device per code, syncs each once
//! (the sample directory), then for a while every device syncs again and again with nothing
//! new, as a phone does in the steady state (its state digest, no document), each device with
//! one hub instance of those given, in turn. It prints `syncs N errors E seconds S`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use outreach_core::model::DeviceId;
use outreach_core::sync::protocol::{
    decode, encode, EnrollRequest, EnrollResponse, StateDigest, SyncRequest, SyncResponse, AUTOMERGE_FORMAT,
    CONTENT_TYPE, PROTOCOL_VERSION,
};

use crate::Res;

/// The arguments of `bench load`: how long to measure, the file of enrollment codes (one a
/// line) and the hub instances' base URLs.
pub fn run(args: &[String]) -> Res<()> {
    let [seconds, codes, urls @ ..] = args else {
        return Err("usage: bench load SECONDS CODES_FILE URL...".into());
    };
    if urls.is_empty() {
        return Err("bench load needs at least one hub URL".into());
    }
    let seconds: f64 = seconds.parse()?;
    let codes: Vec<String> = std::fs::read_to_string(codes)?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let (syncs, errors, elapsed) =
        runtime.block_on(generate(Duration::from_secs_f64(seconds), codes, urls))?;
    println!(
        "syncs {syncs} errors {errors} seconds {:.3}",
        elapsed.as_secs_f64()
    );
    Ok(())
}

/// A device of the load: its token, the instance it syncs with and the state it holds.
struct LoadDevice {
    token: String,
    url: String,
    state: Option<StateDigest>,
}

async fn post<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: Vec<u8>,
) -> Res<T> {
    let mut req = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
        .body(body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await?;
    let status = resp.status();
    let bytes = resp.bytes().await?;
    if !status.is_success() {
        return Err(format!("status {status}").into());
    }
    Ok(decode(&bytes)?)
}

fn steady_request(state: Option<StateDigest>) -> Vec<u8> {
    encode(&SyncRequest {
        protocol: PROTOCOL_VERSION,
        known: state,
        roster: None,
        report: None,
        format: AUTOMERGE_FORMAT.into(),
        docs: Vec::new(),
    })
}

impl LoadDevice {
    async fn sync(&mut self, http: &reqwest::Client) -> Res<SyncResponse> {
        let resp: SyncResponse = post(
            http,
            &format!("{}/v1/sync", self.url),
            Some(&self.token),
            steady_request(self.state),
        )
        .await?;
        if resp.state.is_some() {
            self.state = resp.state;
        }
        Ok(resp)
    }
}

async fn generate(length: Duration, codes: Vec<String>, urls: &[String]) -> Res<(u64, u64, Duration)> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(codes.len())
        .build()?;
    let mut devices = Vec::with_capacity(codes.len());
    for (i, code) in codes.into_iter().enumerate() {
        let url = urls[i % urls.len()].clone();
        let creds: EnrollResponse = post(
            &http,
            &format!("{url}/v1/enroll"),
            None,
            encode(&EnrollRequest {
                protocol: PROTOCOL_VERSION,
                code,
                device_id: DeviceId::random(),
                device_name: format!("load {i}"),
            }),
        )
        .await?;
        let mut device = LoadDevice {
            token: creds.token,
            url,
            state: None,
        };
        // The first sync gives the device the directory and the state it then names.
        for _ in 0..10 {
            if !device.sync(&http).await?.more {
                break;
            }
        }
        device.sync(&http).await?;
        devices.push(device);
    }
    let (syncs, errors) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let started = Instant::now();
    let warm_until = started + Duration::from_millis(500);
    let until = warm_until + length;
    let mut tasks = tokio::task::JoinSet::new();
    for mut device in devices {
        let (http, syncs, errors) = (http.clone(), syncs.clone(), errors.clone());
        tasks.spawn(async move {
            loop {
                let now = Instant::now();
                if now >= until {
                    break;
                }
                let ok = device.sync(&http).await.is_ok();
                let done = Instant::now();
                if done > warm_until && done <= until {
                    let counter = if ok { &syncs } else { &errors };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    Ok((
        syncs.load(Ordering::Relaxed),
        errors.load(Ordering::Relaxed),
        length,
    ))
}
