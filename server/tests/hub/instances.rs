//! Several hub processes on one PostgreSQL database: any instance serves any device, and one
//! killed with SIGKILL in the middle of the traffic loses nothing it acknowledged.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use outreach_core::doc::Document;
use outreach_core::model::{DeviceId, DocId, Region, Theme};
use outreach_core::sync::protocol::Role;
use outreach_hub::{SealKeySource, Storage};
use rand::{Rng, SeedableRng};

use crate::common::process::DatabaseHubProcess;
use crate::common::{new_database, on, on_database, query_text, Backend, TestDevice, TestHub};

const INSTANCES: usize = 3;
const STEPS_PER_DEVICE: usize = 24;

/// What one device did: the visits it logged (by id) and the heads each successful sync
/// acknowledged.
struct Outcome {
    device: TestDevice,
    acknowledged: Vec<BTreeMap<DocId, Vec<automerge::ChangeHash>>>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_on_one_postgresql_lose_nothing_when_one_is_killed() {
    on(Backend::Postgres, async {
        let hub = TestHub::start().await;
        let (Storage::Postgres(url), SealKeySource::File(seal_key)) = (&hub.storage, &hub.keys.seal_key)
        else {
            unreachable!("a PostgreSQL test hub with a seal key file");
        };
        let mut processes: Vec<DatabaseHubProcess> = (0..INSTANCES)
            .map(|_| DatabaseHubProcess::start(url, seal_key))
            .collect();
        let live: Arc<Mutex<Vec<Option<String>>>> = Arc::new(Mutex::new(
            processes.iter().map(|p| Some(p.url.clone())).collect(),
        ));

        let mut devices = vec![
            hub.device(&hub.org_a, Role::Coordinator).await,
            hub.device(&hub.org_a, Role::Coordinator).await,
            hub.device(&hub.org_a, Role::Fieldworker).await,
            hub.device(&hub.org_a, Role::Fieldworker).await,
            hub.device(&hub.org_b, Role::Fieldworker).await,
        ];
        // Everyone starts from the same directory.
        devices[0].add_partner(Region::Brussels, "Seed Brussels");
        devices[0].add_partner(Region::Namur, "Seed Namur");
        devices[0].sync_via(&hub.http, &processes[0].url).await;

        let steps_done = Arc::new(AtomicUsize::new(0));
        let failed_syncs = Arc::new(AtomicUsize::new(0));
        let all_steps = STEPS_PER_DEVICE * devices.len();
        let mut tasks = tokio::task::JoinSet::new();
        for (n, mut device) in devices.into_iter().enumerate() {
            let (live, http) = (live.clone(), hub.http.clone());
            let (steps_done, failed_syncs) = (steps_done.clone(), failed_syncs.clone());
            tasks.spawn(async move {
                let mut rng = rand::rngs::StdRng::seed_from_u64(n as u64);
                let mut acknowledged = Vec::new();
                for step in 0..STEPS_PER_DEVICE {
                    // Offline work, some of the time.
                    if rng.random_bool(0.7) {
                        match device.role {
                            Role::Fieldworker => {
                                let day = format!("2026-11-{:02}", 1 + rng.random_range(0..28));
                                device.log_visit(&day, "", &[Theme::Medical]);
                            }
                            _ => {
                                let region = if rng.random_bool(0.5) {
                                    Region::Brussels
                                } else {
                                    Region::Namur
                                };
                                device.add_partner(region, &format!("Partner {n}-{step}"));
                            }
                        }
                    }
                    let urls: Vec<String> = live.lock().unwrap().iter().flatten().cloned().collect();
                    let url = &urls[rng.random_range(0..urls.len())];
                    match device.try_sync_via(&http, url).await {
                        Ok(_) => acknowledged.push(device.acknowledged().into_iter().collect()),
                        Err(_) => {
                            failed_syncs.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    steps_done.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(rng.random_range(5..40))).await;
                }
                Outcome { device, acknowledged }
            });
        }

        // In the middle of the traffic: one instance killed, then started again.
        while steps_done.load(Ordering::SeqCst) < all_steps / 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        processes[1].kill();
        live.lock().unwrap()[1] = None;
        let killed_at = steps_done.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(300)).await;
        processes[1].restart();
        live.lock().unwrap()[1] = Some(processes[1].url.clone());
        assert!(
            killed_at < all_steps,
            "killed while the devices were still syncing"
        );

        let mut outcomes = Vec::new();
        while let Some(outcome) = tasks.join_next().await {
            outcomes.push(outcome.unwrap());
        }
        eprintln!(
            "killed after {killed_at} of {all_steps} steps; {} syncs failed on the way",
            failed_syncs.load(Ordering::SeqCst)
        );

        // Every write a device had acknowledged, by any instance, before or after the kill, is
        // in the database.
        let stored = |id: DocId| -> Document {
            let bytes = hub
                .hub
                .document_bytes(id)
                .unwrap()
                .expect("an acknowledged document is stored");
            Document::load(id, &bytes, DeviceId::random()).unwrap()
        };
        for outcome in &outcomes {
            for acks in &outcome.acknowledged {
                for (id, heads) in acks {
                    let mut doc = stored(*id);
                    for head in heads {
                        assert!(
                            doc.automerge_mut().get_change_by_hash(head).is_some(),
                            "an acknowledged change of {id} is missing after the kill"
                        );
                    }
                }
            }
        }

        // Everyone syncs until nothing moves, through every instance in turn.
        let mut devices: Vec<TestDevice> = outcomes.into_iter().map(|o| o.device).collect();
        for _ in 0..3 {
            for (i, device) in devices.iter_mut().enumerate() {
                let url = processes[i % INSTANCES].url.clone();
                for _ in 0..10 {
                    let resp = device.sync_via(&hub.http, &url).await;
                    if !resp.more && resp.resend.is_empty() {
                        break;
                    }
                }
            }
        }

        // The same directory everywhere: on every device, and as each instance answers a new one.
        let sections = [Region::Brussels, Region::Namur]
            .map(|r| outreach_core::doc::DocMeta::DirectorySection { region: r }.id());
        let names = |doc: &Document| -> BTreeSet<String> {
            doc.partners().unwrap().into_iter().map(|p| p.name).collect()
        };
        for id in sections {
            let expected = names(&stored(id));
            assert!(expected.len() > 2, "the coordinators' partners reached the hub");
            for device in &mut devices {
                assert!(device.in_step_with(&hub, id));
                assert_eq!(names(device.doc(id)), expected);
            }
            for process in &processes {
                let mut newcomer = hub.device(&hub.org_b, Role::Fieldworker).await;
                for _ in 0..10 {
                    if !newcomer.sync_via(&hub.http, &process.url).await.more {
                        break;
                    }
                }
                assert_eq!(names(newcomer.doc(id)), expected, "as {} answers", process.url);
            }
        }

        // Every visit logged is stored once, by id: none lost, none twice.
        let mut logged: BTreeMap<DocId, BTreeSet<String>> = BTreeMap::new();
        for device in &mut devices {
            let ids: Vec<DocId> = device
                .docs
                .iter()
                .filter(|(_, doc)| doc.meta().kind() == outreach_core::doc::DocKind::VisitLog)
                .map(|(id, _)| *id)
                .collect();
            for id in ids {
                let visits = device.doc(id).visits().unwrap();
                logged
                    .entry(id)
                    .or_default()
                    .extend(visits.iter().map(|v| v.id.to_string()));
            }
        }
        let total: usize = logged.values().map(BTreeSet::len).sum();
        assert!(total > 10, "the field workers logged visits: {total}");
        for (id, ids) in &logged {
            let visits = stored(*id).visits().unwrap();
            let stored_ids: Vec<String> = visits.iter().map(|v| v.id.to_string()).collect();
            let unique: BTreeSet<String> = stored_ids.iter().cloned().collect();
            assert_eq!(unique.len(), stored_ids.len(), "a visit stored twice in {id}");
            assert_eq!(&unique, ids, "the visits of {id}");
        }
    })
    .await
}

/// Instances starting at once on a new database build its schema once and agree on the hub;
/// a database of a newer schema is refused by all, untouched.
#[tokio::test(flavor = "multi_thread")]
async fn instances_starting_together_migrate_once_and_a_newer_schema_is_refused() {
    let url = new_database();
    let keys = tempfile::tempdir().unwrap();
    let seal_key = keys.path().join("seal.key");
    std::fs::write(&seal_key, "5e".repeat(32)).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&seal_key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let open = |url: String, seal_key: std::path::PathBuf| {
        std::thread::spawn(move || {
            outreach_hub::Hub::open_storage(
                &Storage::Postgres(url),
                outreach_hub::HubConfig::default(),
                outreach_hub::HubKeys {
                    db_key: None,
                    seal_key: SealKeySource::File(seal_key),
                },
            )
        })
    };
    let hubs: Vec<_> = (0..4).map(|_| open(url.clone(), seal_key.clone())).collect();
    let hubs: Vec<outreach_hub::Hub> = hubs.into_iter().map(|h| h.join().unwrap().unwrap()).collect();
    hubs[0].create_organisation("Fedasil").unwrap();
    for hub in &hubs {
        assert_eq!(
            hub.organisations().unwrap().len(),
            1,
            "one hub, whichever instance"
        );
    }
    drop(hubs);

    on_database(&url, "UPDATE hub_schema SET version = version + 1000");
    let refused = open(url.clone(), seal_key.clone()).join().unwrap();
    assert!(
        matches!(refused, Err(outreach_hub::Error::SchemaTooNew { found, supported }) if found == supported + 1000),
        "{refused:?}"
    );
    on_database(&url, "UPDATE hub_schema SET version = version - 1000");
    let hub = open(url.clone(), seal_key).join().unwrap().unwrap();
    assert_eq!(hub.organisations().unwrap().len(), 1, "nothing changed");
    drop(hub);
    crate::common::on_test_server(&format!(
        "DROP DATABASE {} WITH (FORCE)",
        crate::common::database_name(&url)
    ));
}

/// The hub speaks TLS to PostgreSQL and verifies the server's certificate: against the root
/// given in the URL (`sslrootcert=`, as libpq names it), and a server whose certificate no root
/// vouches for is refused. The test server of `scripts/with-postgres.sh` has a CA of its own.
#[tokio::test(flavor = "multi_thread")]
async fn the_hub_speaks_tls_to_postgresql_and_verifies_the_server() {
    let ca = std::env::var("OUTREACH_TEST_DATABASE_CA").unwrap_or_else(|_| {
        panic!("the TLS test needs the test server's CA in OUTREACH_TEST_DATABASE_CA (scripts/with-postgres.sh sets it)")
    });
    let url = new_database();
    let db = crate::common::database_name(&url).to_string();
    let url = crate::common::database_url(&crate::common::test_server(), &db);
    let keys = tempfile::tempdir().unwrap();
    let hub_keys = || outreach_hub::HubKeys {
        db_key: None,
        seal_key: SealKeySource::File(keys.path().join("seal.key")),
    };
    let open = |url: String| {
        outreach_hub::Hub::open_storage(
            &Storage::Postgres(url),
            outreach_hub::HubConfig::default(),
            hub_keys(),
        )
    };
    let encrypted = |db: &str| {
        query_text(
            &crate::common::test_server(),
            &format!(
                "SELECT COALESCE(string_agg(s.ssl::text, ','), 'none') FROM pg_stat_ssl s
                 JOIN pg_stat_activity a USING (pid) WHERE a.datname = '{db}' AND a.application_name = 'outreach-hub'"
            ),
        )
    };

    let hub = open(format!("{url}?sslmode=verify-full&sslrootcert={ca}")).unwrap();
    hub.create_organisation("Fedasil").unwrap();
    assert_eq!(encrypted(&db), "true", "the hub's connection is encrypted");
    drop(hub);

    // The public roots do not vouch for this server: refused, not downgraded.
    let refused = open(format!("{url}?sslmode=require")).unwrap_err().to_string();
    assert!(refused.to_lowercase().contains("certificate"), "{refused}");

    // Without TLS when told so.
    let plain = open(format!("{url}?sslmode=disable")).unwrap();
    assert_eq!(plain.organisations().unwrap().len(), 1);
    assert_eq!(encrypted(&db), "false");
    drop(plain);
    crate::common::on_test_server(&format!("DROP DATABASE {db} WITH (FORCE)"));
}
