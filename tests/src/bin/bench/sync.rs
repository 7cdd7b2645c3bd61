//! `bench sync`: a hub in its own process on loopback, and devices syncing with it.
//!
//! - A fresh device's first sync of a 2,000-partner directory (11 sections): time and bytes,
//!   against the same partners as JSON, gzip level 6.
//! - A device whose month of visits the hub already holds pushes 100 visits logged since: bytes,
//!   against the same visits as JSON, gzip level 6.
//! - The next sync, with nothing new: its round trips.
//! - 200 devices, already synced, pushing 20 visits each at once: sync latency and errors. They
//!   sync with a second hub holding the 8-partner sample directory, so that their 200 first
//!   syncs (not what this measures) do not take minutes; what they push is the same.
//!
//! Bytes are the request and response bodies of every round trip (headers aside).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use chrono::{Local, NaiveDate};
use outreach_core::model::{Partner, Visit, VisitDetails};
use outreach_core::store::VisitQuery;
use outreach_core::sync::protocol::{EnrollLink, Role};
use outreach_core::{CancelToken, Store, StoreKey, StoreOptions, SyncOptions, SyncReport};
use outreach_hub::{Hub, HubConfig};
use outreach_tests::gen::Gen;
use outreach_tests::stats::{percentile, print_figure};

use crate::Res;

const PARTNERS: usize = 2000;
const DEVICES: usize = 200;
const VISITS_EACH: usize = 20;

/// The hub process, killed when dropped.
struct HubProcess {
    child: Child,
    url: String,
}

impl HubProcess {
    fn start(dir: &Path) -> Res<HubProcess> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg("hub-serve")
            .arg(dir)
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .ok_or("the hub did not start")?;
        Ok(HubProcess {
            child,
            url: format!("http://{addr}"),
        })
    }

    /// Peak resident memory of the hub process, in MB.
    fn peak_rss_mb(&self) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
            .map_or(0.0, |kb| kb / 1024.0)
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The child process: serves the hub in `dir` on an ephemeral loopback port until killed.
pub fn serve_hub(dir: &Path) -> Res<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        // Pushed documents are validated in processes of their own, started from this program.
        let config = HubConfig {
            isolation: outreach_hub::Isolation::Program(std::env::current_exe()?),
            ..HubConfig::default()
        };
        let hub = Hub::open(dir, config)?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let server = hub.serve(listener, None)?;
        println!("listening on {}", server.local_addr());
        std::io::stdout().flush()?;
        server.stopped().await?;
        Ok(())
    })
}

fn options() -> SyncOptions {
    SyncOptions {
        fetch_files: false,
        request_timeout: Duration::from_secs(120),
        ..SyncOptions::default()
    }
}

fn new_store(dir: &Path, name: &str) -> Res<Store> {
    Ok(Store::open(
        dir.join(format!("{name}.db")),
        StoreKey::random().as_bytes(),
        StoreOptions::default(),
    )?)
}

async fn enrolled(dir: &Path, hub: &Hub, url: &str, org: &str, role: Role, name: &str) -> Res<Store> {
    let store = new_store(dir, name)?;
    let code = hub
        .create_enrollment_code(org, role, Duration::from_secs(3600))?
        .code;
    let link = EnrollLink {
        hub: url.to_string(),
        code,
    };
    store.enroll(&link.to_string(), None, name, &options()).await?;
    Ok(store)
}

async fn sync(store: &Store) -> Res<SyncReport> {
    Ok(store.sync(&options(), None, &CancelToken::new()).await?)
}

fn gzip(bytes: &[u8]) -> Res<usize> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    e.write_all(bytes)?;
    Ok(e.finish()?.len())
}

fn bytes(r: &SyncReport) -> u64 {
    r.bytes_up + r.bytes_down
}

pub fn run() -> Res<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run_async())
}

async fn run_async() -> Res<()> {
    let dir = tempfile::tempdir()?;
    let today = Local::now().date_naive();
    let mut gen = Gen::new(1);

    // The hub, its organisation, a coordinator who enters the directory.
    let hub_dir = dir.path().join("hub");
    let admin = Hub::open(&hub_dir, HubConfig::default())?;
    let org = admin.create_organisation("Fedasil")?.id;
    let hub = HubProcess::start(&hub_dir)?;
    let coordinator = enrolled(
        dir.path(),
        &admin,
        &hub.url,
        &org,
        Role::Coordinator,
        "coordinator",
    )
    .await?;
    let partners: Vec<Partner> = gen.directory(PARTNERS, 3, 2);
    for p in &partners {
        coordinator.add_partner(p)?;
    }
    sync(&coordinator).await?;

    // A fresh device's first sync of the directory.
    let fresh = enrolled(dir.path(), &admin, &hub.url, &org, Role::Fieldworker, "fresh").await?;
    let t = Instant::now();
    let first = sync(&fresh).await?;
    let first_ms = t.elapsed().as_secs_f64() * 1e3;
    if fresh.partner_count()? != PARTNERS as u64 {
        return Err("the fresh device did not get the whole directory".into());
    }
    let directory_json = gzip(&serde_json::to_vec(&partners)?)?;

    // A device whose month the hub holds pushes 100 visits logged since.
    let worker = enrolled(dir.path(), &admin, &hub.url, &org, Role::Fieldworker, "worker").await?;
    sync(&worker).await?;
    let ids: Vec<_> = partners.iter().map(|p| p.id).collect();
    let month_start = outreach_core::model::Month::of(today).first_day();
    let date = |gen: &mut Gen| -> NaiveDate {
        let d = gen.date_before(today, 28);
        if d < month_start {
            today
        } else {
            d
        }
    };
    for _ in 0..300 {
        let d = date(&mut gen);
        worker.log_visit(&gen.visit(d, &ids, &[]))?;
    }
    sync(&worker).await?;
    let mut logged: Vec<VisitDetails> = Vec::new();
    for _ in 0..100 {
        let d = date(&mut gen);
        let v = gen.visit(d, &ids, &[]);
        worker.log_visit(&v)?;
        logged.push(v);
    }
    let push = sync(&worker).await?;
    let newest: Vec<Visit> = worker
        .visits(&VisitQuery::default())?
        .into_iter()
        .filter(|v| logged.contains(&v.details))
        .collect();
    if newest.len() != logged.len() {
        return Err("the 100 visits were not all found again".into());
    }
    let visits_json = gzip(&serde_json::to_vec(&newest)?)?;
    // Nothing new either way, then one visit up and nothing down.
    let steady = sync(&worker).await?;
    worker.log_visit(&gen.visit(today, &ids, &[]))?;
    let one_visit = sync(&worker).await?;
    if one_visit.bytes_down == 0 || one_visit.bytes_up == 0 {
        return Err("the one-visit sync did not run".into());
    }

    let (p50, p99, errors, small_hub_rss) = two_hundred_devices(dir.path(), &mut gen).await?;

    print_figure("first_sync_directory_ms", first_ms, "ms");
    print_figure("first_sync_directory_bytes", bytes(&first) as f64, "bytes");
    print_figure("directory_json_gzip_bytes", directory_json as f64, "bytes");
    print_figure(
        "directory_bytes_ratio",
        bytes(&first) as f64 / directory_json as f64,
        "ratio",
    );
    print_figure("push_100_visits_bytes", bytes(&push) as f64, "bytes");
    print_figure("visits_json_gzip_bytes", visits_json as f64, "bytes");
    print_figure(
        "visits_bytes_ratio",
        bytes(&push) as f64 / visits_json as f64,
        "ratio",
    );
    print_figure(
        "steady_state_round_trips",
        f64::from(steady.round_trips),
        "round_trips",
    );
    print_figure("nothing_new_sync_bytes", bytes(&steady) as f64, "bytes");
    print_figure("one_visit_sync_bytes", bytes(&one_visit) as f64, "bytes");
    print_figure("hub_200_devices_p50_ms", p50, "ms");
    print_figure("hub_200_devices_p99_ms", p99, "ms");
    print_figure("hub_200_devices_errors", errors as f64, "errors");
    print_figure("hub_peak_rss_mb", hub.peak_rss_mb().max(small_hub_rss), "MB");
    Ok(())
}

/// 200 synced devices push 20 visits each at once, each from its own thread; returns p50 and
/// p99 sync latency in ms, the errors, and the hub's peak memory in MB.
async fn two_hundred_devices(dir: &Path, gen: &mut Gen) -> Res<(f64, f64, usize, f64)> {
    let hub_dir = dir.join("hub-200");
    let admin = Hub::open(&hub_dir, HubConfig::default())?;
    let org = admin.create_organisation("CAW")?.id;
    let hub = HubProcess::start(&hub_dir)?;
    let coordinator = enrolled(dir, &admin, &hub.url, &org, Role::Coordinator, "coordinator-200").await?;
    let sample = outreach_core::sample::conex_directory();
    for p in &sample {
        coordinator.add_partner(p)?;
    }
    sync(&coordinator).await?;
    let ids: Vec<_> = sample.iter().map(|p| p.id).collect();
    let today = Local::now().date_naive();
    let devices_dir = dir.join("devices");
    std::fs::create_dir_all(&devices_dir)?;
    let mut devices = Vec::with_capacity(DEVICES);
    for i in 0..DEVICES {
        let store = enrolled(
            &devices_dir,
            &admin,
            &hub.url,
            &org,
            Role::Fieldworker,
            &format!("device-{i}"),
        )
        .await?;
        sync(&store).await?;
        for _ in 0..VISITS_EACH {
            let d = gen.date_before(today, 1);
            store.log_visit(&gen.visit(d, &ids, &[]))?;
        }
        devices.push(store);
    }
    let barrier = Arc::new(Barrier::new(DEVICES));
    let handles: Vec<_> = devices
        .into_iter()
        .map(|store| {
            let barrier = barrier.clone();
            std::thread::spawn(move || -> Result<Duration, String> {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?;
                barrier.wait();
                let t = Instant::now();
                let report = rt
                    .block_on(store.sync(&options(), None, &CancelToken::new()))
                    .map_err(|e| e.to_string())?;
                // The month's log is new to the hub: its genesis change goes along.
                if (report.changes_pushed as usize) < VISITS_EACH {
                    return Err(format!("pushed only {} changes", report.changes_pushed));
                }
                Ok(t.elapsed())
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    for h in handles {
        match h.join() {
            Ok(Ok(d)) => latencies.push(d),
            Ok(Err(e)) => {
                errors += 1;
                first_error.get_or_insert(e);
            }
            Err(_) => {
                errors += 1;
                first_error.get_or_insert_with(|| "a device thread panicked".to_string());
            }
        }
    }
    if let Some(e) = first_error {
        eprintln!("first of {errors} failed syncs: {e}");
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    Ok((
        ms(percentile(&mut latencies, 0.5)),
        ms(percentile(&mut latencies, 0.99)),
        errors,
        hub.peak_rss_mb(),
    ))
}
