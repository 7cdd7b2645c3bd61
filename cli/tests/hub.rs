//! Devices syncing through a real hub (`outreach_hub`, served in-process on a loopback port):
//! the core's async API, then the `outreach` binary's network commands.

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use outreach_core::model::{
    Activity, Brochure, Lang, Month, OrgKind, PartOfDay, Partner, Region, Setting, VisitDetails,
};
use outreach_core::store::EditRight;
use outreach_core::sync::protocol::{EnrollLink, ErrorCode, Role};
use outreach_core::{
    CancelToken, Error, Store, StoreOptions, SyncOptions, SyncPhase, SyncProgressUpdate, SyncReport,
};
use outreach_hub::{Hub, HubConfig, ServerHandle, TlsConfig, BLOBS_DIR};
use tempfile::TempDir;

const DAY: Duration = Duration::from_secs(24 * 3600);

/// A hub on a loopback port, with one organisation.
struct TestHub {
    hub: Hub,
    server: Option<ServerHandle>,
    url: String,
    org: String,
    dir: TempDir,
}

impl TestHub {
    async fn start() -> TestHub {
        TestHub::start_with(None).await
    }

    async fn start_with(tls: Option<TlsConfig>) -> TestHub {
        let dir = tempfile::tempdir().unwrap();
        let hub = Hub::open(dir.path(), HubConfig::default()).unwrap();
        let org = hub.create_organisation("CAW Limburg").unwrap().id;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let https = tls.is_some();
        let server = hub.serve(listener, tls).unwrap();
        let url = if https {
            format!("https://localhost:{}", server.local_addr().port())
        } else {
            server.url()
        };
        TestHub {
            hub,
            server: Some(server),
            url,
            org,
            dir,
        }
    }

    fn code(&self, role: Role) -> String {
        self.hub
            .create_enrollment_code(&self.org, role, DAY)
            .unwrap()
            .code
    }

    async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await.unwrap();
        }
    }
}

/// A device's store in its own folder.
struct Device {
    store: Store,
    dir: TempDir,
}

impl Device {
    fn new() -> Device {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("outreach.db"), &[7; 32], StoreOptions::default()).unwrap();
        Device { store, dir }
    }

    async fn enrolled(hub: &TestHub, role: Role) -> Device {
        let d = Device::new();
        let link = EnrollLink {
            hub: hub.url.clone(),
            code: hub.code(role),
        };
        d.store
            .enroll(&link.to_string(), None, "test device", &options())
            .await
            .unwrap();
        d
    }

    async fn sync(&self) -> SyncReport {
        self.store
            .sync(&options(), None, &CancelToken::new())
            .await
            .unwrap()
    }
}

fn fr() -> Lang {
    Lang::code("fr").unwrap()
}

fn options() -> SyncOptions {
    SyncOptions {
        languages: vec![fr()],
        max_attempts: 2,
        retry_base_delay: Duration::from_millis(10),
        ..SyncOptions::default()
    }
}

fn visit(date: chrono::NaiveDate) -> VisitDetails {
    VisitDetails::new(
        date,
        PartOfDay::Evening,
        3600,
        "Genk",
        Setting::Shelter,
        Activity::GroupSession,
        7,
    )
}

fn today() -> chrono::NaiveDate {
    chrono::Local::now().date_naive()
}

/// A brochure with a French title, published by `device` with `file` as its French file.
fn publish(device: &Device, file: &[u8]) -> Brochure {
    let mut b = Brochure::new(today());
    b.title.insert(fr(), "Le retour volontaire".into());
    device.store.put_brochure(&b).unwrap();
    device
        .store
        .publish_brochure_file(b.id, fr(), file, "application/pdf", "retour.pdf")
        .unwrap();
    device.store.brochure(b.id).unwrap()
}

fn large_file() -> Vec<u8> {
    (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_directory_brochures_and_visits_flow_through_the_hub() {
    let hub = TestHub::start().await;
    let coordinator = Device::enrolled(&hub, Role::Coordinator).await;
    let worker = Device::new();
    let enrollment = worker
        .store
        .enroll(
            &hub.url,
            Some(&hub.code(Role::Fieldworker)),
            "Genk phone",
            &options(),
        )
        .await
        .unwrap();
    assert_eq!(enrollment.role, Role::Fieldworker);
    assert_eq!(enrollment.org_name, "CAW Limburg");
    assert_eq!(worker.store.enrollment().unwrap(), Some(enrollment));

    let partner = Partner::new(Region::Limburg, "CAW Limburg Genk", OrgKind::WelfareCentre);
    coordinator.store.add_partner(&partner).unwrap();
    let pdf = outreach_core::sample::sample_brochure_pdf();
    let brochure = publish(&coordinator, &pdf);
    let first = coordinator.sync().await;
    assert_eq!((first.round_trips, first.files_uploaded), (1, 1));
    assert_eq!(first.documents_pushed, 2);
    assert!(first.complete && first.changes_pushed >= 4);

    let visit_id = worker.store.log_visit(&visit(today())).unwrap();
    let seen: Arc<Mutex<Vec<SyncProgressUpdate>>> = Arc::default();
    let sink = seen.clone();
    let report = worker
        .store
        .sync(
            &options(),
            Some(Arc::new(move |u: &SyncProgressUpdate| {
                sink.lock().unwrap().push(*u)
            })),
            &CancelToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(report.round_trips, 1, "{report:?}");
    assert_eq!((report.documents_pushed, report.documents_pulled), (1, 2));
    assert_eq!((report.files.fetched, report.files.failed), (1, 0));
    assert!(report.bytes_down > pdf.len() as i64);
    assert_eq!(worker.store.partner(partner.id).unwrap(), partner);
    let file = worker.store.brochure_file(brochure.id, &[fr()]).unwrap().unwrap();
    assert_eq!(std::fs::read(&file.path).unwrap(), pdf);
    assert_eq!(
        (file.file_name.as_str(), file.size),
        ("retour.pdf", pdf.len() as i64)
    );
    let phases: Vec<SyncPhase> = seen.lock().unwrap().iter().map(|u| u.phase).collect();
    for phase in [
        SyncPhase::Connecting,
        SyncPhase::Uploading,
        SyncPhase::Downloading,
        SyncPhase::Applying,
        SyncPhase::BrochureFiles,
    ] {
        assert!(phases.contains(&phase), "{phase:?} missing from {phases:?}");
    }
    assert_eq!(phases.last(), Some(&SyncPhase::Done));

    // The steady state: one round trip, nothing to move.
    let quiet = worker.sync().await;
    assert_eq!(quiet.round_trips, 1);
    assert_eq!(
        (quiet.changes_pushed, quiet.changes_pulled, quiet.files.fetched),
        (0, 0, 0)
    );

    // The coordinator receives no colleague's raw visit log; the worker may not edit the directory.
    let pulled = coordinator.sync().await;
    assert_eq!(pulled.documents_pulled, 0);
    assert!(matches!(
        coordinator.store.visit(visit_id),
        Err(Error::NotFound { .. })
    ));
    let other = Partner::new(Region::Limburg, "Vluchtelingenwerk", OrgKind::Ngo);
    assert!(matches!(
        worker.store.add_partner(&other),
        Err(Error::NotAllowed(_))
    ));

    // An edit on one side reaches the other in one round trip each.
    coordinator
        .store
        .mark_verified(partner.id, today(), "phone call")
        .unwrap();
    assert_eq!(coordinator.sync().await.changes_pushed, 1);
    let update = worker.sync().await;
    assert_eq!((update.round_trips, update.changes_pulled), (1, 1));
    assert_eq!(
        worker.store.partner(partner.id).unwrap().verified_on,
        Some(today())
    );
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_made_before_enrolling_as_a_field_worker_do_not_block_sync() {
    let hub = TestHub::start().await;
    let coordinator = Device::enrolled(&hub, Role::Coordinator).await;
    let official = Partner::new(Region::Limburg, "CAW Limburg Genk", OrgKind::WelfareCentre);
    coordinator.store.add_partner(&official).unwrap();
    coordinator.sync().await;

    let worker = Device::new();
    let private = Partner::new(Region::Limburg, "My own notes", OrgKind::Ngo);
    worker.store.add_partner(&private).unwrap();
    worker
        .store
        .enroll(&hub.url, Some(&hub.code(Role::Fieldworker)), "phone", &options())
        .await
        .unwrap();
    let report = worker.sync().await;
    assert!(report.complete);
    assert_eq!(report.changes_pushed, 0, "the hub would refuse them");
    assert_eq!(worker.store.partner(official.id).unwrap(), official);
    assert!(worker.store.partner(private.id).is_ok(), "kept on the device");
    assert_eq!(worker.sync().await.round_trips, 1);
    coordinator.sync().await;
    assert!(coordinator.store.partner(private.id).is_err());
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_back_after_an_outage_is_reached_by_retrying() {
    let mut hub = TestHub::start().await;
    let d = Device::enrolled(&hub, Role::Fieldworker).await;
    d.store.log_visit(&visit(today())).unwrap();
    let server = hub.server.take().unwrap();
    let addr = server.local_addr();
    server.shutdown().await.unwrap();

    let patient = SyncOptions {
        max_attempts: 8,
        retry_base_delay: Duration::from_millis(100),
        retry_max_delay: Duration::from_millis(400),
        ..options()
    };
    let restart = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        hub.server = Some(hub.hub.serve(listener, None).unwrap());
    };
    let cancel = CancelToken::new();
    let (report, ()) = tokio::join!(d.store.sync(&patient, None, &cancel), restart);
    let report = report.unwrap();
    assert_eq!((report.round_trips, report.documents_pushed), (1, 1));
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrollment_refusals_are_typed() {
    let hub = TestHub::start().await;
    let d = Device::new();
    let e = d
        .store
        .enroll(&hub.url, Some("AAAA-BBBB-CCCC-DDDD"), "phone", &options())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Hub {
                code: ErrorCode::InvalidCode,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(d.store.enrollment().unwrap().is_none());
    d.store
        .enroll(&hub.url, Some(&hub.code(Role::Fieldworker)), "phone", &options())
        .await
        .unwrap();
    let again = d
        .store
        .enroll(&hub.url, Some(&hub.code(Role::Fieldworker)), "phone", &options())
        .await
        .unwrap_err();
    assert!(matches!(again, Error::NotAllowed(_)), "{again:?}");
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_device_wipes_its_store() {
    let hub = TestHub::start().await;
    let d = Device::enrolled(&hub, Role::Fieldworker).await;
    d.store.log_visit(&visit(today())).unwrap();
    d.sync().await;
    hub.hub.revoke_device(d.store.device_id()).unwrap();
    let e = d
        .store
        .sync(&options(), None, &CancelToken::new())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::RevokedAndWiped), "{e:?}");
    assert!(!d.dir.path().join("outreach.db").exists());
    assert!(matches!(d.store.visit_log_months(), Err(Error::Closed)));
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_months_leave_the_device_once_the_hub_holds_them_and_stay_away() {
    let hub = TestHub::start().await;
    let d = Device::enrolled(&hub, Role::Fieldworker).await;
    let old = today() - chrono::Days::new(70);
    d.store.log_visit(&visit(old)).unwrap();
    d.store.log_visit(&visit(today())).unwrap();
    let report = d.sync().await;
    assert_eq!(report.months_removed, vec![Month::of(old)]);
    assert_eq!(d.store.visit_log_months().unwrap(), vec![Month::of(today())]);
    // The hub keeps it, and does not send it back.
    let again = d.sync().await;
    assert_eq!((again.documents_pulled, again.round_trips), (0, 1));
    assert_eq!(d.store.visit_log_months().unwrap(), vec![Month::of(today())]);
    assert_eq!(hub.hub.documents().unwrap().len(), 2);
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_download_resumes_and_a_damaged_file_is_discarded() {
    let hub = TestHub::start().await;
    let coordinator = Device::enrolled(&hub, Role::Coordinator).await;
    let data = large_file();
    let brochure = publish(&coordinator, &data);
    coordinator.sync().await;
    let sha = brochure.files[&fr()].sha256.clone();

    // A download cut after 100 kB: the next fetch asks for the rest only.
    let worker = Device::enrolled(&hub, Role::Fieldworker).await;
    let without_files = SyncOptions {
        fetch_files: false,
        ..options()
    };
    worker
        .store
        .sync(&without_files, None, &CancelToken::new())
        .await
        .unwrap();
    let dir = worker.store.brochure_dir().to_path_buf();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{sha}.part")), &data[..100_000]).unwrap();
    let fetched = worker
        .store
        .fetch_brochure_files(&options(), &CancelToken::new())
        .await
        .unwrap();
    assert_eq!(
        (fetched.fetched, fetched.bytes),
        (1, (data.len() - 100_000) as i64)
    );
    let file = worker.store.brochure_file(brochure.id, &[fr()]).unwrap().unwrap();
    assert_eq!(std::fs::read(file.path).unwrap(), data);

    // The hub's copy damaged: a new device discards what it receives and reports it.
    let blob: PathBuf = hub.dir.path().join(BLOBS_DIR).join(&sha);
    let mut damaged = data.clone();
    damaged[1234] ^= 0xff;
    std::fs::write(&blob, &damaged).unwrap();
    let other = Device::enrolled(&hub, Role::Fieldworker).await;
    let report = other.sync().await;
    assert_eq!((report.files.failed, report.files.hash_mismatches), (1, 1));
    assert!(other.store.brochure_file(brochure.id, &[fr()]).unwrap().is_none());
    assert_eq!(std::fs::read_dir(other.store.brochure_dir()).unwrap().count(), 0);

    // A budget too small keeps nothing.
    let tight = SyncOptions {
        storage_budget_bytes: 1000,
        ..options()
    };
    let pruned = worker
        .store
        .fetch_brochure_files(&tight, &CancelToken::new())
        .await
        .unwrap();
    assert_eq!((pruned.skipped, pruned.removed), (1, 1));
    assert!(worker
        .store
        .brochure_file(brochure.id, &[fr()])
        .unwrap()
        .is_none());
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_cancelled_midway_leaves_a_store_that_syncs_again() {
    let hub = TestHub::start().await;
    let coordinator = Device::enrolled(&hub, Role::Coordinator).await;
    for name in ["CAW Limburg Genk", "CAW Limburg Hasselt", "Vluchtelingenwerk"] {
        coordinator
            .store
            .add_partner(&Partner::new(Region::Limburg, name, OrgKind::Ngo))
            .unwrap();
    }
    coordinator.sync().await;

    for stop_at in [SyncPhase::Uploading, SyncPhase::Downloading, SyncPhase::Applying] {
        let worker = Device::enrolled(&hub, Role::Fieldworker).await;
        worker.store.log_visit(&visit(today())).unwrap();
        let cancel = CancelToken::new();
        let trigger = cancel.clone();
        let progress = Arc::new(move |u: &SyncProgressUpdate| {
            if u.phase == stop_at {
                trigger.cancel();
            }
        });
        let e = worker
            .store
            .sync(&options(), Some(progress), &cancel)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Cancelled), "{stop_at:?}: {e:?}");
        let report = worker.sync().await;
        assert!(report.complete);
        assert_eq!(worker.store.partner_count().unwrap(), 3, "{stop_at:?}");
        assert_eq!(worker.sync().await.changes_pushed, 0, "{stop_at:?}");
    }
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_with_a_private_ca_is_trusted_only_with_that_ca() {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "CONEX partner test CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().unwrap()).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let tls = TlsConfig::from_pem(leaf.pem().as_bytes(), key.serialize_pem().as_bytes()).unwrap();
    let hub = TestHub::start_with(Some(tls)).await;
    assert!(hub.url.starts_with("https://"));

    let d = Device::new();
    let code = hub.code(Role::Fieldworker);
    let untrusted = d
        .store
        .enroll(&hub.url, Some(&code), "phone", &options())
        .await
        .unwrap_err();
    assert!(
        matches!(&untrusted, Error::Network(m) if m.contains("not trusted")),
        "{untrusted:?}"
    );
    let trusting = SyncOptions {
        extra_ca_pem: Some(ca.pem()),
        ..options()
    };
    d.store
        .enroll(&hub.url, Some(&code), "phone", &trusting)
        .await
        .unwrap();
    d.store.log_visit(&visit(today())).unwrap();
    let report = d.store.sync(&trusting, None, &CancelToken::new()).await.unwrap();
    assert_eq!((report.round_trips, report.documents_pushed), (1, 1));
    hub.stop().await;
}

/// Runs the `outreach` binary against the store in `dir`; returns its standard output.
fn outreach(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_outreach"))
        .args(args)
        .current_dir(dir)
        .env_remove("OUTREACH_STORE")
        .env_remove("OUTREACH_KEY_FILE")
        .env(
            "OUTREACH_KEY",
            "6f7574726561636820636c6920746573742073746f7265206b65792030303031",
        )
        .output()
        .expect("the binary runs")
}

fn ok(dir: &std::path::Path, args: &[&str]) -> String {
    let out = outreach(dir, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_enrolls_syncs_publishes_fetches_and_opens() {
    let hub = TestHub::start().await;
    let link = EnrollLink {
        hub: hub.url.clone(),
        code: hub.code(Role::Coordinator),
    }
    .to_string();
    let worker_code = hub.code(Role::Fieldworker);
    let url = hub.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let (a2, b2) = (a.clone(), b.clone());
    let done = tokio::task::spawn_blocking(move || {
        let (a, b) = (a2.as_path(), b2.as_path());
        ok(a, &["init"]);
        let enrolled = ok(a, &["enroll", &link, "--name", "Hasselt laptop"]);
        assert!(enrolled.contains("as coordinator of CAW Limburg"), "{enrolled}");
        assert!(ok(a, &["enrollment"]).contains("Hasselt laptop"));
        let store = Store::open(a.join("outreach.db"), &key(), StoreOptions::default()).unwrap();
        let brochure = outreach_core::sample::voluntary_return_brochure();
        let mut brochure = Brochure {
            files: Default::default(),
            ..brochure
        };
        brochure.updated_on = today();
        store.put_brochure(&brochure).unwrap();
        drop(store);
        std::fs::write(a.join("retour.pdf"), outreach_core::sample::sample_brochure_pdf()).unwrap();
        let id = brochure.id.to_string();
        let published = ok(a, &["brochures", "publish", &id, "--lang", "fr", "retour.pdf"]);
        assert!(published.contains("uploaded at the next sync"), "{published}");
        let synced = ok(a, &["sync", "--languages", "fr,nl"]);
        assert!(synced.contains("files uploaded  1"), "{synced}");

        ok(b, &["init"]);
        ok(b, &["enroll", "--hub", &url, "--code", &worker_code]);
        ok(b, &["sync", "--no-files"]);
        let missing = outreach(b, &["brochures", "open", &id]);
        assert_eq!(missing.status.code(), Some(1));
        let fetched = ok(b, &["brochures", "fetch", "--languages", "nl,fr"]);
        assert!(fetched.contains("1 fetched"), "{fetched}");
        let path = ok(b, &["brochures", "open", &id, "--lang", "fr"]);
        assert_eq!(
            std::fs::read(path.trim()).unwrap(),
            outreach_core::sample::sample_brochure_pdf()
        );
        let json: serde_json::Value =
            serde_json::from_str(&ok(b, &["sync", "--json"])).expect("a JSON report");
        assert_eq!(json["round_trips"], 1);

        std::fs::write(b.join("x.pdf"), b"%PDF-1.4 not mine").unwrap();
        let refused = outreach(b, &["brochures", "publish", &id, "--lang", "nl", "x.pdf"]);
        assert_eq!(refused.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&refused.stderr).contains("not allowed"));
    });
    done.await.unwrap();
    hub.stop().await;
}

/// Whether a file under `dir` holds exactly `bytes`.
fn holds_file(dir: &std::path::Path, bytes: &[u8]) -> bool {
    std::fs::read_dir(dir).unwrap().any(|e| {
        let path = e.unwrap().path();
        if path.is_dir() {
            holds_file(&path, bytes)
        } else {
            std::fs::metadata(&path).is_ok_and(|m| m.len() == bytes.len() as u64)
                && std::fs::read(&path).is_ok_and(|b| b == bytes)
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_brochure_made_published_replaced_and_retired_on_the_cli_leaves_the_field_device_only_its_current_file(
) {
    let hub = TestHub::start().await;
    let coordinator = hub.code(Role::Coordinator);
    let worker = hub.code(Role::Fieldworker);
    let url = hub.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let done = tokio::task::spawn_blocking(move || {
        let (a, b) = (a.as_path(), b.as_path());
        let edition = |n: u8, lang: &str| {
            let mut pdf = b"%PDF-1.7\n".to_vec();
            pdf.extend(format!("retour volontaire, edition {n}, {lang}\n%%EOF\n").bytes());
            pdf
        };
        let (fr1, nl1, fr2) = (edition(1, "fr"), edition(1, "nl"), edition(2, "fr"));
        std::fs::write(a.join("retour.pdf"), &fr1).unwrap();
        std::fs::write(a.join("terugkeer.pdf"), &nl1).unwrap();

        ok(a, &["init"]);
        ok(
            a,
            &[
                "enroll",
                "--hub",
                &url,
                "--code",
                &coordinator,
                "--name",
                "Laptop 2",
            ],
        );
        let no_title = outreach(a, &["brochures", "add", "--theme", "voluntary_return"]);
        assert_eq!(no_title.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&no_title.stderr).contains("title"));
        let id = ok(
            a,
            &[
                "brochures",
                "add",
                "--title",
                "fr=Retour volontaire",
                "--title",
                "nl=Vrijwillige terugkeer",
                "--summary",
                "fr=Ce que le retour volontaire offre",
                "--theme",
                "voluntary_return",
                "--audience",
                "migrants",
                "--audience",
                "frontline_staff",
            ],
        );
        let id = id.trim().to_string();
        ok(a, &["brochures", "publish", &id, "--lang", "fr", "retour.pdf"]);
        ok(a, &["brochures", "publish", &id, "--lang", "nl", "terugkeer.pdf"]);
        ok(a, &["sync", "--no-files"]);

        ok(b, &["init"]);
        ok(b, &["enroll", "--hub", &url, "--code", &worker]);
        ok(b, &["sync", "--languages", "fr"]);
        let listed = ok(b, &["brochures", "list", "--lang", "fr"]);
        assert!(
            listed.contains("Retour volontaire") && listed.contains(&id),
            "{listed}"
        );
        assert!(
            holds_file(b, &fr1) && !holds_file(b, &nl1),
            "only the file of its language"
        );

        // A new edition, then the brochure retired.
        ok(
            a,
            &[
                "brochures",
                "edit",
                &id,
                "--new-version",
                "--title",
                "fr=Le retour volontaire",
            ],
        );
        std::fs::write(a.join("retour.pdf"), &fr2).unwrap();
        ok(a, &["brochures", "publish", &id, "--lang", "fr", "retour.pdf"]);
        ok(a, &["sync", "--no-files"]);
        ok(b, &["sync", "--languages", "fr"]);
        let entry: serde_json::Value =
            serde_json::from_str(&ok(b, &["brochures", "list", "--json"])).unwrap();
        assert_eq!(entry[0]["version"], 2, "{entry}");
        let path = ok(b, &["brochures", "open", &id, "--lang", "fr"]);
        assert_eq!(std::fs::read(path.trim()).unwrap(), fr2);
        assert!(!holds_file(b, &fr1), "the old edition is dropped");

        ok(a, &["brochures", "retire", &id]);
        ok(a, &["sync", "--no-files"]);
        ok(b, &["sync", "--languages", "fr"]);
        assert!(ok(b, &["brochures", "list"]).contains("No brochure"));
        assert!(!holds_file(b, &fr2), "a retired brochure's file is dropped");

        // A field worker's device makes no catalog entry.
        let refused = outreach(b, &["brochures", "add", "--title", "fr=X"]);
        assert_eq!(refused.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&refused.stderr).contains("not allowed"));
    });
    done.await.unwrap();
    hub.stop().await;
}

/// Adds CAW Limburg, with an office in Hasselt open on weekdays, on the device in `dir`:
/// the partner's id and the office's.
fn caw_limburg_with_an_office(dir: &std::path::Path) -> (String, String) {
    let id = ok(
        dir,
        &[
            "partners",
            "add",
            "--region",
            "limburg",
            "--name",
            "CAW Limburg",
            "--postcode",
            "3500",
            "--municipality",
            "Hasselt",
            "--hours",
            "mon-fri 09:00-17:00",
        ],
    );
    let id = id.trim().to_string();
    let entry: serde_json::Value =
        serde_json::from_str(&ok(dir, &["partners", "show", &id, "--json"])).unwrap();
    let office = entry["locations"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    (id, office)
}

/// Whether `partners search --open-at AT` on the device in `dir` lists `id`.
fn open_at(dir: &std::path::Path, id: &str, at: &str) -> bool {
    ok(dir, &["partners", "search", "--open-at", at]).contains(id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_hours_from_one_coordinator_and_a_holiday_closure_from_another_reach_a_field_device() {
    let hub = TestHub::start().await;
    let fedasil = hub.hub.create_organisation("Fedasil").unwrap().id;
    let codes = [
        hub.code(Role::Coordinator),
        hub.hub
            .create_enrollment_code(&fedasil, Role::Coordinator, DAY)
            .unwrap()
            .code,
        hub.code(Role::Fieldworker),
        hub.hub
            .create_enrollment_code(&fedasil, Role::Fieldworker, DAY)
            .unwrap()
            .code,
    ];
    let url = hub.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let devices: Vec<std::path::PathBuf> = ["a", "b", "c", "d"].iter().map(|d| dir.path().join(d)).collect();
    for d in &devices {
        std::fs::create_dir_all(d).unwrap();
    }
    let done = tokio::task::spawn_blocking(move || {
        let (a, b, c, d) = (
            devices[0].as_path(),
            devices[1].as_path(),
            devices[2].as_path(),
            devices[3].as_path(),
        );
        let names = ["Laptop 1", "Laptop 2", "Phone", "Fedasil phone"];
        for (i, dev) in [a, b, c, d].into_iter().enumerate() {
            ok(dev, &["init"]);
            ok(
                dev,
                &["enroll", "--hub", &url, "--code", &codes[i], "--name", names[i]],
            );
        }
        let (id, office) = caw_limburg_with_an_office(a);
        ok(a, &["sync"]);
        ok(b, &["sync"]);
        // Offline, each coordinator changes something else of the same office.
        ok(
            a,
            &[
                "partners",
                "location",
                "edit",
                &id,
                &office,
                "--hours",
                "mon-fri 13:00-17:00",
            ],
        );
        ok(
            b,
            &[
                "partners",
                "location",
                "edit",
                &id,
                &office,
                "--closed",
                "2026-12-24..2027-01-01",
            ],
        );
        for dev in [a, b, a, c, d] {
            ok(dev, &["sync"]);
        }
        // 2026-12-23 is a Wednesday; 2026-12-30 too.
        for dev in [a, b, c] {
            assert!(
                !open_at(dev, &id, "2026-12-23 10:00"),
                "the new hours, mornings closed"
            );
            assert!(
                open_at(dev, &id, "2026-12-23 14:00"),
                "the new hours, afternoons open"
            );
            assert!(!open_at(dev, &id, "2026-12-30 14:00"), "the holiday closure");
            assert!(open_at(dev, &id, "2027-01-06 14:00"), "open again after it");
            let shown = ok(dev, &["partners", "show", &id]);
            assert!(
                shown.contains("mon-fri 13:00-17:00") && shown.contains("2026-12-24..2027-01-01 closed"),
                "{shown}"
            );
            assert!(ok(dev, &["partners", "conflicts"]).contains("No conflicting values"));
        }
        // Who changed what, in words, on the field device.
        let history = ok(c, &["partners", "history", &id]);
        assert!(
            history.contains("Laptop 1, coordinator, CAW Limburg")
                && history.contains("Laptop 2, coordinator, Fedasil"),
            "{history}"
        );
        let hours = ok(
            c,
            &["partners", "history", &id, &format!("locations.{office}.hours")],
        );
        assert!(hours.contains("Laptop 1, coordinator, CAW Limburg"), "{hours}");
        assert!(!hours.contains("Laptop 2"), "{hours}");
        // Each device knows the names it may: the coordinators, itself, and a coordinator its
        // organisation's devices; no field worker of another organisation.
        let known = |dev: &std::path::Path| -> Vec<String> {
            let store = Store::open(dev.join("outreach.db"), &key(), StoreOptions::default()).unwrap();
            let mut n: Vec<String> = store
                .device_names()
                .unwrap()
                .into_iter()
                .map(|d| d.name)
                .collect();
            n.sort();
            n
        };
        assert_eq!(known(c), ["Laptop 1", "Laptop 2", "Phone"]);
        assert_eq!(known(a), ["Laptop 1", "Laptop 2", "Phone"]);
        assert_eq!(known(d), ["Fedasil phone", "Laptop 1", "Laptop 2"]);
        assert_eq!(known(b), ["Fedasil phone", "Laptop 1", "Laptop 2"]);
        // The field device may not change the directory.
        let refused = outreach(
            c,
            &["partners", "location", "edit", &id, &office, "--hours", "closed"],
        );
        assert_eq!(refused.status.code(), Some(1));
        id
    });
    let id = done.await.unwrap();
    // A renamed device is named anew after the next sync.
    let laptop = hub
        .hub
        .devices()
        .unwrap()
        .into_iter()
        .find(|d| d.name == "Laptop 1")
        .unwrap()
        .id;
    hub.hub.rename_device(laptop, "Coordination desk").unwrap();
    let c = dir.path().join("c");
    let history = tokio::task::spawn_blocking(move || {
        ok(&c, &["sync"]);
        ok(&c, &["partners", "history", &id])
    })
    .await
    .unwrap();
    assert!(
        history.contains("Coordination desk, coordinator, CAW Limburg") && !history.contains("Laptop 1"),
        "{history}"
    );
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coordinator_outside_a_regions_stewards_is_told_to_suggest_and_edits_elsewhere() {
    let hub = TestHub::start().await;
    let fedasil = hub.hub.create_organisation("Fedasil").unwrap().id;
    hub.hub.set_steward(Region::Limburg, "CAW Limburg").unwrap();
    let steward = hub.code(Role::Coordinator);
    let other = hub
        .hub
        .create_enrollment_code(&fedasil, Role::Coordinator, DAY)
        .unwrap()
        .code;
    let url = hub.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    tokio::task::spawn_blocking(move || {
        let (a, b) = (a.as_path(), b.as_path());
        for (dev, code) in [(a, &steward), (b, &other)] {
            ok(dev, &["init"]);
            ok(dev, &["enroll", "--hub", &url, "--code", code]);
        }
        let id = ok(
            a,
            &["partners", "add", "--region", "limburg", "--name", "CAW Limburg"],
        );
        let id = id.trim().to_string();
        ok(a, &["sync"]);
        ok(a, &["partners", "edit", &id, "--email", "info@caw.example.org"]);
        ok(a, &["sync"]);
        ok(b, &["sync"]);
        let refused = outreach(b, &["partners", "edit", &id, "--name", "Renamed"]);
        assert_eq!(refused.status.code(), Some(1));
        let err = String::from_utf8_lossy(&refused.stderr);
        assert!(
            err.contains(
                "the limburg section of the directory is kept by CAW Limburg: suggest the change instead"
            ),
            "{err}"
        );
        assert!(ok(b, &["partners", "show", &id]).contains("kept by CAW Limburg"));
        assert!(!ok(a, &["partners", "show", &id]).contains("kept by"));
        let store = Store::open(b.join("outreach.db"), &key(), StoreOptions::default()).unwrap();
        assert_eq!(
            store.edit_right(Region::Limburg).unwrap(),
            EditRight::Suggest {
                stewards: vec!["CAW Limburg".into()]
            }
        );
        assert_eq!(store.edit_right(Region::Namur).unwrap(), EditRight::Edit);
        drop(store);
        // Elsewhere, as before.
        ok(
            b,
            &["partners", "add", "--region", "namur", "--name", "Espace social"],
        );
        assert!(ok(b, &["sync"]).contains("refused by hub  0"));
    })
    .await
    .unwrap();
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suggestion_made_offline_reaches_another_organisations_coordinator_is_accepted_and_its_author_sees_it(
) {
    let hub = TestHub::start().await;
    let fedasil = hub.hub.create_organisation("Fedasil").unwrap().id;
    let codes = [
        hub.code(Role::Coordinator),
        hub.code(Role::Fieldworker),
        hub.hub
            .create_enrollment_code(&fedasil, Role::Coordinator, DAY)
            .unwrap()
            .code,
    ];
    let url = hub.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let devices: Vec<PathBuf> = ["caw", "worker", "fedasil"]
        .iter()
        .map(|d| dir.path().join(d))
        .collect();
    for d in &devices {
        std::fs::create_dir_all(d).unwrap();
    }
    let ids = tokio::task::spawn_blocking(move || {
        let (caw, worker, fedasil) = (devices[0].as_path(), devices[1].as_path(), devices[2].as_path());
        let names = ["Laptop CAW", "Phone", "Laptop Fedasil"];
        for (i, dev) in [caw, worker, fedasil].into_iter().enumerate() {
            ok(dev, &["init"]);
            ok(
                dev,
                &["enroll", "--hub", &url, "--code", &codes[i], "--name", names[i]],
            );
        }
        let (id, office) = caw_limburg_with_an_office(caw);
        ok(caw, &["sync"]);
        ok(worker, &["sync"]);

        // Offline, the field worker sees new hours on the door, and suggests them.
        let hours = format!("locations.{office}.hours");
        let private = outreach(
            worker,
            &[
                "partners",
                "suggest",
                &id,
                "--field",
                &hours,
                "--value",
                "mon-fri 13:00-17:00",
                "--comment",
                "Call me on 0470 12 34 56",
            ],
        );
        assert_eq!(private.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&private.stderr).contains("personal data"));
        let bad = outreach(
            worker,
            &[
                "partners",
                "suggest",
                &id,
                "--field",
                "worker_notes",
                "--comment",
                "x",
            ],
        );
        assert_eq!(bad.status.code(), Some(1), "the field goes by its CLI name");
        let suggestion = ok(
            worker,
            &[
                "partners",
                "suggest",
                &id,
                "--field",
                &hours,
                "--value",
                "mon-fri 13:00-17:00",
                "--comment",
                "New hours on the door",
            ],
        );
        let suggestion = suggestion.trim().to_string();
        let flag = ok(
            worker,
            &[
                "partners",
                "suggest",
                &id,
                "--comment",
                "The office is being renovated",
            ],
        );
        let flag = flag.trim().to_string();
        assert!(ok(worker, &["suggestions", "list"]).contains("open"));
        ok(worker, &["sync"]);

        // A coordinator of another organisation receives both, accepts one and dismisses the other.
        ok(fedasil, &["sync"]);
        let listed = ok(fedasil, &["suggestions", "list", "--open"]);
        assert!(listed.contains(&suggestion) && listed.contains(&flag), "{listed}");
        ok(
            fedasil,
            &["suggestions", "accept", &suggestion, "--reason", "Thanks"],
        );
        ok(
            fedasil,
            &["suggestions", "dismiss", &flag, "--reason", "Still open as usual"],
        );
        let again = outreach(fedasil, &["suggestions", "accept", &suggestion]);
        assert_eq!(again.status.code(), Some(1), "answered once");
        ok(fedasil, &["sync"]);

        // The worker sees the outcome, and the hours, credited to the coordinator.
        ok(worker, &["sync"]);
        let mine = ok(worker, &["suggestions", "list"]);
        assert!(mine.contains("accepted") && mine.contains("Thanks"), "{mine}");
        assert!(
            mine.contains("dismissed") && mine.contains("Still open as usual"),
            "{mine}"
        );
        assert!(ok(worker, &["partners", "show", &id]).contains("mon-fri 13:00-17:00"));
        let history = ok(worker, &["partners", "history", &id, &hours]);
        assert!(
            history.contains("Laptop Fedasil, coordinator, Fedasil"),
            "{history}"
        );
        // A field worker answers nothing.
        let refused = outreach(worker, &["suggestions", "dismiss", &suggestion, "--reason", "no"]);
        assert_eq!(refused.status.code(), Some(1));
        (id, office)
    })
    .await
    .unwrap();

    // With CAW Limburg the steward of Limburg, Fedasil's coordinator suggests instead of
    // editing, and the steward accepts.
    hub.hub.set_steward(Region::Limburg, "CAW Limburg").unwrap();
    let (caw, fedasil) = (dir.path().join("caw"), dir.path().join("fedasil"));
    tokio::task::spawn_blocking(move || {
        let (id, _office) = ids;
        ok(&fedasil, &["sync"]);
        let refused = outreach(
            &fedasil,
            &["partners", "edit", &id, "--email", "info@caw.example.org"],
        );
        assert_eq!(refused.status.code(), Some(1));
        let suggestion = ok(
            &fedasil,
            &[
                "partners",
                "suggest",
                &id,
                "--field",
                "notes",
                "--value",
                "Ring twice at the side door",
                "--comment",
                "Front door closed",
            ],
        );
        let suggestion = suggestion.trim().to_string();
        ok(&fedasil, &["sync"]);
        ok(&caw, &["sync"]);
        ok(&caw, &["suggestions", "accept", &suggestion]);
        ok(&caw, &["sync"]);
        ok(&fedasil, &["sync"]);
        assert!(ok(&fedasil, &["partners", "show", &id]).contains("Ring twice at the side door"));
        assert!(ok(&fedasil, &["suggestions", "list"]).contains("accepted"));
        // A new e-mail address is no value a suggestion carries: the privacy guard cannot tell
        // an organisation's from a person's. The worker flags the entry instead.
        let contact = outreach(
            &fedasil,
            &[
                "partners",
                "suggest",
                &id,
                "--field",
                "email",
                "--value",
                "info@caw.example.org",
                "--comment",
                "New address",
            ],
        );
        assert_eq!(contact.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&contact.stderr).contains("personal data"));
    })
    .await
    .unwrap();
    hub.stop().await;
}

/// The CLI walk-through of README.md: the first `sh` block after "## The CLI".
fn readme_walkthrough() -> String {
    let readme = include_str!("../../README.md");
    let section = &readme[readme.find("## The CLI").expect("a CLI section")..];
    let start = section.find("```sh\n").expect("a shell block") + "```sh\n".len();
    let end = section[start..].find("```").expect("the block's end");
    section[start..start + end].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_walkthrough_runs_as_written_against_a_hub() {
    let hub = TestHub::start().await;
    let link = EnrollLink {
        hub: hub.url.clone(),
        code: hub.code(Role::Coordinator),
    }
    .to_string();
    let dir = tempfile::tempdir().unwrap();
    let script = readme_walkthrough();
    assert!(
        script.contains("partners location edit") && script.contains("outreach sync"),
        "{script}"
    );
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_outreach"))
        .parent()
        .unwrap()
        .to_path_buf();
    let cwd = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
        Command::new("bash")
            .args(["-euo", "pipefail", "-c", &script])
            .current_dir(&cwd)
            .env("PATH", path)
            .env("ENROLL_LINK", link)
            .env_remove("OUTREACH_KEY")
            .env_remove("OUTREACH_KEY_FILE")
            .env_remove("OUTREACH_STORE")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for expected in [
        "CAW Limburg",
        "2026-12-24..2027-01-01 closed",
        "2026-12-31 09:00-12:00",
        "By appointment",
        "The front door is closed for works",
        "Laptop 2, coordinator, CAW Limburg (this device)",
    ] {
        assert!(stdout.contains(expected), "{expected} missing from:\n{stdout}");
    }
    // The search for 31 December at 10:00 found the partner: its special hours that day.
    let search = stdout
        .lines()
        .skip_while(|l| !l.starts_with("ID "))
        .nth(1)
        .unwrap_or_default();
    assert!(search.contains("CAW Limburg"), "{stdout}");
    hub.stop().await;
}

fn key() -> Vec<u8> {
    let hex = "6f7574726561636820636c6920746573742073746f7265206b65792030303031";
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}
