//! The `outreach` binary killed at random moments while it logs visits and syncs, and a hub
//! that takes connections and never answers: every visit the CLI acknowledged (printed its id)
//! ends up on the hub exactly once, and a silent hub ends a sync with a clear error in bounded
//! time, the data left on the device.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use outreach_core::doc::Document;
use outreach_core::model::{DeviceId, VisitId};
use outreach_core::sync::protocol::{EnrollLink, Role};
use outreach_hub::{Hub, HubConfig};
use rand::Rng;

const KEY: &str = "6f7574726561636820636c692063726173682074657374206b65792030303031";

fn outreach(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_outreach"));
    c.args(args)
        .current_dir(dir)
        .env_remove("OUTREACH_STORE")
        .env_remove("OUTREACH_KEY_FILE")
        .env("OUTREACH_KEY", KEY)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    outreach(dir, args).output().expect("the binary runs")
}

fn today() -> String {
    chrono::Local::now().date_naive().to_string()
}

fn log_args(people: u32) -> Vec<String> {
    [
        "visits",
        "log",
        "--date",
        &today(),
        "--part",
        "evening",
        "--postcode",
        "1000",
        "--municipality",
        "Brussel",
        "--setting",
        "shelter",
        "--activity",
        "group_session",
        "--people",
        &people.to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Every visit id the hub holds, with how many are held twice.
fn hub_visits(hub: &Hub) -> (BTreeSet<VisitId>, usize) {
    let mut all = Vec::new();
    for info in hub.documents().unwrap() {
        let bytes = hub.document_bytes(info.id).unwrap().unwrap();
        let doc = Document::load(info.id, &bytes, DeviceId::random()).unwrap();
        if let Ok(visits) = doc.visits() {
            all.extend(visits.into_iter().map(|v| v.id));
        }
    }
    let set: BTreeSet<VisitId> = all.iter().copied().collect();
    let twice = all.len() - set.len();
    (set, twice)
}

/// Waits for a child until `ms` milliseconds after `started`, then kills it with SIGKILL;
/// returns its standard output if it finished by itself.
fn finish_or_kill(mut child: Child, started: Instant, ms: u64) -> Option<String> {
    let until = started + Duration::from_millis(ms);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            return status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).into_owned());
        }
        if Instant::now() >= until {
            child.kill().unwrap(); // SIGKILL
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_visit_reaches_the_hub_through_kills() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::open(tmp.path().join("hub"), HubConfig::default()).unwrap();
    let org = hub.create_organisation("Fedasil").unwrap().id;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = hub.serve(listener, None).unwrap();
    let link = EnrollLink {
        hub: server.url(),
        code: hub
            .create_enrollment_code(&org, Role::Fieldworker, Duration::from_secs(3600))
            .unwrap()
            .code,
    }
    .to_string();
    let dir = tmp.path().join("phone");
    std::fs::create_dir_all(&dir).unwrap();

    let hub2 = hub.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        assert!(run(&dir, &["init"]).status.success());
        assert!(run(&dir, &["enroll", &link, "--name", "Phone 7"])
            .status
            .success());
        let mut rng = rand::rng();
        let mut acknowledged = BTreeSet::new();
        let mut kills = 0;
        let mut round = 0u32;
        while round < 40 || kills < 25 {
            assert!(round < 400, "the processes never got killed");
            round += 1;
            // A visit and a sync at once, each killed at a random moment of its short life (or
            // let finish).
            let started = Instant::now();
            let log = outreach(
                &dir,
                &log_args(1 + round % 9)
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
            )
            .spawn()
            .unwrap();
            let sync = outreach(&dir, &["sync", "--no-files", "--timeout", "5"])
                .spawn()
                .unwrap();
            let (log_ms, sync_ms) = (rng.random_range(0..25), rng.random_range(0..60));
            match finish_or_kill(log, started, log_ms) {
                Some(out) => {
                    acknowledged.insert(out.trim().parse::<VisitId>().expect("the printed id"));
                }
                None => kills += 1,
            }
            if finish_or_kill(sync, started, sync_ms).is_none() {
                kills += 1;
            }
        }
        // Back to calm: sync until it goes through.
        let mut last = String::new();
        for _ in 0..5 {
            let out = run(&dir, &["sync", "--no-files"]);
            if out.status.success() {
                let mine: BTreeSet<VisitId> = {
                    let list = run(&dir, &["visits", "list", "--json"]);
                    let json: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
                    json.as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v["id"].as_str().unwrap().parse().unwrap())
                        .collect()
                };
                return (acknowledged, kills, mine);
            }
            last = String::from_utf8_lossy(&out.stderr).into_owned();
        }
        panic!("the last sync failed: {last}");
    });
    let (acknowledged, kills, on_phone) = outcome.await.unwrap();
    println!(
        "{} visits acknowledged, {kills} processes killed, {} visits on the phone",
        acknowledged.len(),
        on_phone.len()
    );
    assert!(kills >= 20, "only {kills} kills");
    let (on_hub, twice) = hub_visits(&hub2);
    assert_eq!(twice, 0, "no visit held twice");
    for v in &acknowledged {
        assert!(on_hub.contains(v), "an acknowledged visit is missing on the hub");
    }
    assert_eq!(on_hub, on_phone, "the hub holds exactly what the phone holds");
    server.shutdown().await.unwrap();
}

#[test]
fn a_silent_hub_ends_the_sync_with_a_clear_error() {
    // A listener that takes connections and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let held = std::thread::spawn(move || {
        let mut open = Vec::new();
        for conn in listener.incoming().take(8) {
            open.push(conn);
        }
        std::thread::sleep(Duration::from_secs(60));
    });
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    assert!(run(dir, &["init"]).status.success());
    // Enrolling needs a hub that answers: write the enrollment as one would have been made,
    // then point it at the silent listener.
    let store = outreach_core::Store::open(
        dir.join("outreach.db"),
        &hex_key(),
        outreach_core::StoreOptions::default(),
    )
    .unwrap();
    outreach_core::store::testing::save_enrollment(&store, &format!("http://{addr}"), Role::Fieldworker)
        .unwrap();
    let visit = store
        .log_visit(&outreach_core::model::VisitDetails::new(
            chrono::Local::now().date_naive(),
            outreach_core::model::PartOfDay::Morning,
            1000,
            "Brussel",
            outreach_core::model::Setting::Street,
            outreach_core::model::Activity::IndividualContact,
            1,
        ))
        .unwrap();
    drop(store);

    let started = Instant::now();
    let child = outreach(dir, &["sync", "--timeout", "2", "--deadline", "4", "--verbose"])
        .spawn()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let waited = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("did not answer"), "{stderr}");
    assert!(stderr.contains("stays on this device"), "{stderr}");
    assert!(
        stderr.contains("waiting for the hub"),
        "a progress line while it waits: {stderr}"
    );
    // Bounded: the deadline, not the minutes of retries of a long timeout (a generous bound:
    // this is a guard against hanging, not a measurement).
    assert!(waited < Duration::from_secs(30), "{waited:?}");
    let list = run(dir, &["visits", "list", "--json"]);
    assert!(String::from_utf8_lossy(&list.stdout).contains(&visit.to_string()));
    drop(held);
}

fn hex_key() -> Vec<u8> {
    (0..KEY.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&KEY[i..i + 2], 16).unwrap())
        .collect()
}
