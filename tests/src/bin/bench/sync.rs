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
//! - `hub_syncs_per_s`: steady-state syncs per second (a state digest, nothing new) from 200
//!   devices against one hub instance, by a load generator in a process of its own
//!   (`bench load`); with `--database`, also against two instances on one PostgreSQL
//!   (`hub_syncs_per_s_2`), in the same run.
//! - `report_ms`: the same 200 devices then log 50 visits each in the last closed month and
//!   sync; the hub publishes the full set of report tables over those 10,000 visits
//!   (`outreach_hub::standard_tables`: every table of one dimension and every pair that can be
//!   made), disclosure control and release ledger included.
//!
//! `bench sync --database URL` runs the same on PostgreSQL (URL: a server and a role that may
//! create databases; the bench makes its own and drops them). The directory, the visits and two
//! brochure files are then entered on an embedded hub first, which `migrate --from-sqlite`
//! moves to PostgreSQL: the devices that entered them sync on with nothing resent
//! (`after_migration_documents_resent`), and every figure after is measured on PostgreSQL.
//!
//! Bytes are the request and response bodies of every round trip (headers aside).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use chrono::{Datelike, Local, NaiveDate};
use outreach_core::model::{Brochure, Lang, Partner, PartnerId, Visit, VisitDetails};
use outreach_core::store::VisitQuery;
use outreach_core::sync::protocol::{EnrollLink, Role};
use outreach_core::{CancelToken, Store, StoreKey, StoreOptions, SyncOptions, SyncReport};
use outreach_hub::{Hub, HubConfig, HubKeys, SealKeySource, Storage};
use outreach_tests::gen::Gen;
use outreach_tests::stats::{percentile, print_figure};

use crate::Res;

const PARTNERS: usize = 2000;
const DEVICES: usize = 200;
const VISITS_EACH: usize = 20;
/// Visits of the last closed month each of the 200 devices logs for `report_ms` (10,000 in all).
const REPORT_VISITS_EACH: usize = 50;

/// How long the load generator measures, per figure.
const LOAD_SECONDS: f64 = 5.0;

/// Where a hub of the bench keeps its data.
#[derive(Debug, Clone)]
enum Place {
    Dir(PathBuf),
    Postgres { url: String, seal_key: PathBuf },
}

impl Place {
    /// The arguments of `bench hub-serve` for this place.
    fn args(&self) -> Vec<String> {
        match self {
            Place::Dir(dir) => vec![dir.display().to_string()],
            Place::Postgres { url, seal_key } => {
                vec![
                    "--database".into(),
                    url.clone(),
                    "--seal-key-file".into(),
                    seal_key.display().to_string(),
                ]
            }
        }
    }

    /// The hub, opened in this process for administration (codes, organisations).
    fn open(&self) -> Res<Hub> {
        self.open_with(HubConfig::default())
    }

    /// The hub, opened with `config`.
    fn open_with(&self, config: HubConfig) -> Res<Hub> {
        Ok(match self {
            Place::Dir(dir) => Hub::open(dir, config)?,
            Place::Postgres { url, seal_key } => Hub::open_storage(
                &Storage::Postgres(url.clone()),
                config,
                HubKeys {
                    db_key: None,
                    seal_key: SealKeySource::File(seal_key.clone()),
                },
            )?,
        })
    }
}

/// The PostgreSQL server of `--database`, and the databases the bench made on it (dropped
/// when it ends).
struct Server {
    /// The URL given, without its parameters: the bench's own connections, in plain text.
    url: String,
    /// Its parameters (`?sslmode=...&sslrootcert=...`), for the hubs' URLs.
    params: String,
    made: Vec<String>,
}

impl Server {
    fn new(url: &str) -> Server {
        let (url, params) = match url.split_once('?') {
            Some((url, params)) => (url.to_string(), format!("?{params}")),
            None => (url.to_string(), String::new()),
        };
        Server {
            url,
            params,
            made: Vec::new(),
        }
    }

    async fn run(&self, sql: &str) -> Res<()> {
        let (client, connection) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        client.batch_execute(sql).await?;
        Ok(())
    }

    /// A new database; its URL.
    async fn database(&mut self, name: &str) -> Res<String> {
        let name = format!("outreach_bench_{}_{name}", std::process::id());
        self.run(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await?;
        self.run(&format!("CREATE DATABASE {name}")).await?;
        self.made.push(name.clone());
        let (base, _) = self
            .url
            .rsplit_once('/')
            .ok_or("the database URL names no database")?;
        Ok(format!("{base}/{name}{}", self.params))
    }

    async fn drop_all(&self) {
        for name in &self.made {
            if let Err(e) = self
                .run(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await
            {
                eprintln!("could not drop the bench database {name}: {e}");
            }
        }
    }
}

/// The hub process, killed when dropped.
struct HubProcess {
    child: Child,
    url: String,
}

impl HubProcess {
    /// Serves the hub at `place`, on `port` (any free one if 0).
    fn start(place: &Place, port: u16) -> Res<HubProcess> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg("hub-serve")
            .args(place.args())
            .arg(format!("--port={port}"))
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

    /// The port it listens on.
    fn port(&self) -> Res<u16> {
        Ok(self.url.rsplit_once(':').ok_or("no port")?.1.parse()?)
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

/// The child process: serves a hub (`DIR`, or `--database URL --seal-key-file FILE`) on a
/// loopback port (`--port=N`, else any) until killed.
pub fn serve_hub(args: &[String]) -> Res<()> {
    let (port, args): (Vec<&String>, Vec<&String>) = args.iter().partition(|a| a.starts_with("--port="));
    let port: u16 = match port.first() {
        Some(p) => p.trim_start_matches("--port=").parse()?,
        None => 0,
    };
    let place = match args.as_slice() {
        [dir] => Place::Dir(PathBuf::from(dir)),
        [flag, url, key_flag, key] if *flag == "--database" && *key_flag == "--seal-key-file" => {
            Place::Postgres {
                url: url.to_string(),
                seal_key: PathBuf::from(key),
            }
        }
        _ => {
            return Err("usage: bench hub-serve DIR | --database URL --seal-key-file FILE [--port=N]".into())
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        // Pushed documents are validated in processes of their own, started from this program.
        let config = HubConfig {
            isolation: outreach_hub::Isolation::Program(std::env::current_exe()?),
            ..HubConfig::default()
        };
        let hub = place.open_with(config)?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
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

fn bytes(r: &SyncReport) -> i64 {
    r.bytes_up + r.bytes_down
}

/// `bench sync [--database URL]`.
pub fn run(args: &[String]) -> Res<()> {
    let server = match args {
        [] => None,
        [flag, url] if flag == "--database" => Some(Server::new(url)),
        _ => return Err("usage: bench sync [--database URL]".into()),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let mut server = server;
        let result = run_async(server.as_mut()).await;
        if let Some(server) = &server {
            server.drop_all().await;
        }
        result
    })
}

/// Two brochures, each with a file of its own, published by `coordinator`.
fn publish_brochures(coordinator: &Store, gen: &mut Gen) -> Res<()> {
    let fr = Lang::code("fr").ok_or("no French")?;
    for (i, size) in [300_000usize, 700_000].into_iter().enumerate() {
        let mut brochure = Brochure::new(Local::now().date_naive());
        brochure.title.insert(fr.clone(), format!("Brochure {i}"));
        coordinator.put_brochure(&brochure)?;
        let mut pdf = b"%PDF-1.4\n%".to_vec();
        pdf.extend((pdf.len()..size).map(|_| rand::Rng::random::<u8>(gen.rng())));
        coordinator.publish_brochure_file(
            brochure.id,
            fr.clone(),
            &pdf,
            "application/pdf",
            "brochure.pdf",
        )?;
    }
    Ok(())
}

async fn run_async(server: Option<&mut Server>) -> Res<()> {
    let dir = tempfile::tempdir()?;
    let today = Local::now().date_naive();
    let mut gen = Gen::new(1);

    // The hub, its organisation, a coordinator who enters the directory. With a database, the
    // hub is embedded until the directory and the visits are in, then moves to PostgreSQL.
    let hub_dir = dir.path().join("hub");
    let mut admin = Hub::open(&hub_dir, HubConfig::default())?;
    let org = admin.create_organisation("Fedasil")?.id;
    let mut hub = HubProcess::start(&Place::Dir(hub_dir.clone()), 0)?;
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
    publish_brochures(&coordinator, &mut gen)?;
    let entered = sync(&coordinator).await?;
    if entered.files_uploaded != 2 {
        return Err(format!("{} brochure files uploaded, not 2", entered.files_uploaded).into());
    }

    // A device whose month the hub holds, with 300 visits in it.
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
    sync(&coordinator).await?;

    let place_200 = if let Some(server) = server {
        // The embedded hub moves to PostgreSQL, on the same port: the devices know it there.
        let url = server.database("main").await?;
        let seal_key = dir.path().join("postgres-seal.key");
        let port = hub.port()?;
        drop(hub);
        let t = Instant::now();
        let migrated = Hub::migrate_to_postgres(
            &hub_dir,
            HubKeys::default(),
            &url,
            SealKeySource::File(seal_key.clone()),
        )?;
        print_figure("migrate_ms", t.elapsed().as_secs_f64() * 1e3, "ms");
        print_figure("migrated_brochure_files", migrated.files as f64, "files");
        let place = Place::Postgres {
            url,
            seal_key: seal_key.clone(),
        };
        hub = HubProcess::start(&place, port)?;
        admin = place.open()?;
        let mut resent = 0;
        let mut moved_bytes = 0;
        for device in [&coordinator, &worker] {
            let report = sync(device).await?;
            resent += report.documents_resent;
            moved_bytes += bytes(&report);
            if report.changes_pushed > 0 || report.changes_pulled > 0 {
                return Err("after the migration a device exchanged changes it had already".into());
            }
        }
        print_figure("after_migration_documents_resent", resent as f64, "documents");
        print_figure("after_migration_sync_bytes", moved_bytes as f64, "bytes");
        if resent > 0 {
            return Err(format!("after the migration, {resent} documents were resent in full").into());
        }
        Place::Postgres {
            url: server.database("devices200").await?,
            seal_key,
        }
    } else {
        Place::Dir(dir.path().join("hub-200"))
    };

    // A fresh device's first sync of the directory.
    let fresh = enrolled(dir.path(), &admin, &hub.url, &org, Role::Fieldworker, "fresh").await?;
    let t = Instant::now();
    let first = sync(&fresh).await?;
    let first_ms = t.elapsed().as_secs_f64() * 1e3;
    if fresh.partner_count()? != PARTNERS as u64 {
        return Err("the fresh device did not get the whole directory".into());
    }
    let directory_json = gzip(&serde_json::to_vec(&partners)?)?;

    // The device whose month the hub holds pushes 100 visits logged since.
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

    let (p50, p99, errors, small_hub_rss) = two_hundred_devices(dir.path(), &place_200, &mut gen).await?;

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

/// Runs `bench load` against `urls` with 200 new devices of `org`; the syncs per second.
async fn syncs_per_second(dir: &Path, admin: &Hub, org: &str, urls: &[String]) -> Res<f64> {
    let codes: Vec<String> = (0..DEVICES)
        .map(|_| {
            Ok(admin
                .create_enrollment_code(org, Role::Fieldworker, Duration::from_secs(3600))?
                .code)
        })
        .collect::<Res<_>>()?;
    let file = dir.join(format!("load-codes-{}", urls.len()));
    std::fs::write(&file, codes.join("\n"))?;
    let out = tokio::process::Command::new(std::env::current_exe()?)
        .arg("load")
        .arg(LOAD_SECONDS.to_string())
        .arg(&file)
        .args(urls)
        .stderr(Stdio::inherit())
        .output()
        .await?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("the load generator failed: {text}").into());
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    let [_, syncs, _, errors, _, seconds] = words.as_slice() else {
        return Err(format!("the load generator said {text:?}").into());
    };
    let (syncs, errors, seconds): (f64, u64, f64) = (syncs.parse()?, errors.parse()?, seconds.parse()?);
    if errors > 0 {
        return Err(format!("{errors} steady-state syncs of the load generator failed").into());
    }
    Ok(syncs / seconds)
}

/// 200 synced devices push 20 visits each at once, each from its own thread; returns p50 and
/// p99 sync latency in ms, the errors, and the hub's peak memory in MB.
/// Visits of the last closed month logged on every device (10,000 in all) and synced, then the
/// full set of report tables published over them: `report_ms`.
async fn report_figures(admin: &Hub, devices: &[Store], partners: &[PartnerId], gen: &mut Gen) -> Res<()> {
    let today = chrono::Utc::now().date_naive();
    let last_day = today
        .with_day(1)
        .and_then(|d| d.pred_opt())
        .ok_or("no last month")?;
    for store in devices {
        for _ in 0..REPORT_VISITS_EACH {
            let d = gen.date_before(last_day, 28);
            store.log_visit(&gen.visit(d, partners, &[]))?;
        }
        sync(store).await?;
    }
    let period = outreach_hub::Period::last_month(today);
    let tables = outreach_hub::standard_tables(period, outreach_hub::Protection::default());
    let t = Instant::now();
    let published = admin.reports(&tables)?;
    let report_ms = t.elapsed().as_secs_f64() * 1e3;
    let visits = published
        .iter()
        .find(|t| t.dims == [outreach_hub::Dim::Organisation]);
    let suppressed: usize = published
        .iter()
        .map(|t| t.cells.iter().flatten().filter(|c| c.value().is_none()).count())
        .sum();
    print_figure(
        "report_visits",
        (devices.len() * REPORT_VISITS_EACH) as f64,
        "visits",
    );
    print_figure("report_tables", published.len() as f64, "tables");
    print_figure("report_suppressed_cells", suppressed as f64, "cells");
    print_figure("report_ms", report_ms, "ms");
    if visits.is_none() {
        return Err("no organisation table".into());
    }
    Ok(())
}

async fn two_hundred_devices(dir: &Path, place: &Place, gen: &mut Gen) -> Res<(f64, f64, usize, f64)> {
    let admin = place.open()?;
    let org = admin.create_organisation("CAW")?.id;
    let hub = HubProcess::start(place, 0)?;
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
            std::thread::spawn(move || -> Result<(Duration, Store), String> {
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
                Ok((t.elapsed(), store))
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    let mut synced = Vec::new();
    for h in handles {
        match h.join() {
            Ok(Ok((d, store))) => {
                latencies.push(d);
                synced.push(store);
            }
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

    // Steady-state syncs per second from 200 devices of a load generator of its own, against
    // this instance; on PostgreSQL also against it and a second instance on the same database.
    let per_s = syncs_per_second(dir, &admin, &org, std::slice::from_ref(&hub.url)).await?;
    print_figure("hub_syncs_per_s", per_s, "syncs/s");
    if let Place::Postgres { .. } = place {
        let second = HubProcess::start(place, 0)?;
        let per_s = syncs_per_second(dir, &admin, &org, &[hub.url.clone(), second.url.clone()]).await?;
        print_figure("hub_syncs_per_s_2", per_s, "syncs/s");
    }
    // The hub's memory for 200 devices, before they sync the report phase's visits too.
    let peak_rss_mb = hub.peak_rss_mb();
    report_figures(&admin, &synced, &ids, gen).await?;
    print_figure("report_hub_peak_rss_mb", hub.peak_rss_mb(), "MB");
    Ok((
        ms(percentile(&mut latencies, 0.5)),
        ms(percentile(&mut latencies, 0.99)),
        errors,
        peak_rss_mb,
    ))
}
