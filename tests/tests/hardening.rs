//! A device's side of the hardened sync, against a real hub: a refused document stays on the
//! device and is reported while the others sync; a store restored from an older copy of its
//! files recovers by itself within one extra round, with no visit lost or held twice; a
//! retired device hands in its visits before it deletes its store, a lost one hands in nothing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use automerge::transaction::CommitOptions;
use chrono::{Datelike, Local, NaiveDate};
use outreach_core::doc::{DocMeta, Document};
use outreach_core::model::{Activity, Month, PartOfDay, Setting, VisitDetails, VisitId};
use outreach_core::sync::protocol::{EnrollLink, ErrorCode, Role};
use outreach_core::{CancelToken, Error, Store, StoreKey, StoreOptions};
use outreach_tests::harness::{test_options, TestHub};

fn visit(date: NaiveDate, people: u32) -> VisitDetails {
    VisitDetails::new(
        date,
        PartOfDay::Evening,
        1000,
        "Brussel",
        Setting::Shelter,
        Activity::GroupSession,
        people,
    )
}

fn today() -> NaiveDate {
    Local::now().date_naive()
}

/// The first day of the month `back` months before this one.
fn months_ago(back: u32) -> NaiveDate {
    let mut d = today().with_day(1).expect("a first day");
    for _ in 0..back {
        d = (d - chrono::Duration::days(1)).with_day(1).expect("a first day");
    }
    d
}

/// A store at a path of its own, with a key kept, so that its files can be copied, restored
/// and opened again.
struct Phone {
    dir: tempfile::TempDir,
    key: StoreKey,
    store: Option<Store>,
}

impl Phone {
    async fn enrolled(hub: &TestHub, org: &str, role: Role) -> Phone {
        let dir = tempfile::tempdir().expect("a folder");
        let key = StoreKey::random();
        let store = Store::open(
            dir.path().join("outreach.db"),
            key.as_bytes(),
            StoreOptions::default(),
        )
        .expect("the store opens");
        let link = EnrollLink {
            hub: hub.url(),
            code: hub.code(org, role),
        };
        store
            .enroll(&link.to_string(), None, "phone", &test_options())
            .await
            .expect("enrolled");
        Phone {
            dir,
            key,
            store: Some(store),
        }
    }

    fn store(&self) -> &Store {
        self.store.as_ref().expect("the store is open")
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("outreach.db")
    }

    async fn sync(&self) -> outreach_core::Result<outreach_core::SyncReport> {
        // Months stay on the phone, so that the test can count them.
        let options = outreach_core::SyncOptions {
            retention_days: 3650,
            ..test_options()
        };
        self.store().sync(&options, None, &CancelToken::new()).await
    }

    /// Closes the store, as the app does when it goes to the background.
    fn close(&mut self) {
        self.store = None;
    }

    fn open(&mut self) {
        self.store = Some(
            Store::open(self.path(), self.key.as_bytes(), StoreOptions::default())
                .expect("the store reopens"),
        );
    }

    /// Copies the store's files (database, write-ahead log, shared memory) to `to`.
    fn copy_files(&self, to: &Path) {
        std::fs::create_dir_all(to).expect("a folder");
        for suffix in ["", "-wal", "-shm"] {
            let from = PathBuf::from(format!("{}{suffix}", self.path().display()));
            let target = to.join(format!("outreach.db{suffix}"));
            let _ = std::fs::remove_file(&target);
            if from.exists() {
                std::fs::copy(&from, &target).expect("a copy");
            }
        }
    }

    /// Puts back the files copied to `from`, as a restore from a backup does.
    fn restore_files(&self, from: &Path) {
        for suffix in ["", "-wal", "-shm"] {
            let target = PathBuf::from(format!("{}{suffix}", self.path().display()));
            let _ = std::fs::remove_file(&target);
            let saved = from.join(format!("outreach.db{suffix}"));
            if saved.exists() {
                std::fs::copy(&saved, &target).expect("a copy back");
            }
        }
    }

    fn visit_ids(&self) -> BTreeSet<VisitId> {
        self.store()
            .visits(&Default::default())
            .expect("visits")
            .into_iter()
            .map(|v| v.id)
            .collect()
    }
}

/// Every visit the hub holds, and whether one is held twice.
fn hub_visits(hub: &TestHub) -> (BTreeSet<VisitId>, usize) {
    let all = hub.visit_ids();
    let set: BTreeSet<VisitId> = all.iter().copied().collect();
    (set.clone(), all.len() - set.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_restored_from_an_older_copy_recovers_within_one_extra_round() {
    let hub = TestHub::start().await;
    let org = hub.org("Fedasil");
    let mut phone = Phone::enrolled(&hub, &org, Role::Fieldworker).await;
    let day = today();
    let v1 = phone.store().log_visit(&visit(day, 3)).expect("logged");
    phone.sync().await.expect("synced");
    let backup = phone.dir.path().join("backup");
    phone.close();
    phone.copy_files(&backup);
    phone.open();

    let v2 = phone.store().log_visit(&visit(day, 4)).expect("logged");
    phone.sync().await.expect("synced");
    assert_eq!(hub_visits(&hub).0, BTreeSet::from([v1, v2]));

    // The phone is restored from the copy: it has lost v2, which the hub holds...
    phone.close();
    phone.restore_files(&backup);
    phone.open();
    assert_eq!(phone.visit_ids(), BTreeSet::from([v1]));
    // ...and logs again, numbering its change like the lost one.
    let v3 = phone.store().log_visit(&visit(day, 5)).expect("logged");
    let report = phone.sync().await.expect("the sync recovers");
    assert_eq!(report.histories_recovered, 1, "{report:?}");
    assert!(report.refused_by_hub.is_empty(), "{report:?}");
    assert_eq!(report.round_trips, 2, "one extra round: {report:?}");
    let (on_hub, twice) = hub_visits(&hub);
    assert_eq!(on_hub, BTreeSet::from([v1, v2, v3]));
    assert_eq!(twice, 0, "no visit held twice");
    assert_eq!(
        phone.visit_ids(),
        BTreeSet::from([v1, v2, v3]),
        "the lost visit came back"
    );

    // From now on syncs are plain: one round, nothing refused; and a reopened store keeps the
    // new epoch.
    phone.close();
    phone.open();
    let v4 = phone.store().log_visit(&visit(day, 6)).expect("logged");
    let report = phone.sync().await.expect("synced");
    assert_eq!(
        (report.round_trips, report.histories_recovered),
        (1, 0),
        "{report:?}"
    );
    assert_eq!(hub_visits(&hub), (BTreeSet::from([v1, v2, v3, v4]), 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_document_stays_on_the_device_and_the_others_sync() {
    let hub = TestHub::start().await;
    let org = hub.org("Fedasil");
    let phone = Phone::enrolled(&hub, &org, Role::Fieldworker).await;
    let device = phone.store().device_id();
    let months: Vec<NaiveDate> = (0..5).map(months_ago).collect();
    let mut ids = Vec::new();
    for m in &months {
        ids.push(phone.store().log_visit(&visit(*m, 2)).expect("logged"));
    }
    // The oldest month gets a change no honest app makes (a change message), as a damaged or
    // tampered app might write it: the hub refuses that document alone.
    let bad = DocMeta::VisitLog {
        owner: device,
        month: Month::of(months[4]),
    };
    let bytes = {
        let mut doc = Document::create(bad, device).expect("a log");
        let heads = phone.store().document_heads(bad.id()).expect("heads");
        doc.merge_bytes(
            &phone
                .store()
                .document_changes_since(bad.id(), &[])
                .expect("changes"),
        )
        .expect("merged");
        doc.put_visit(VisitId::random(), &visit(months[4], 7))
            .expect("a visit");
        doc.automerge_mut().commit_with(
            CommitOptions::default()
                .with_message("met Jan at 21:47")
                .with_time(0),
        );
        doc.automerge_mut().save_after(&heads)
    };
    phone.store().apply_remote(bad.id(), &bytes).expect("applied");
    let report = phone.sync().await.expect("synced");
    assert_eq!(report.refused_by_hub.len(), 1, "{report:?}");
    assert_eq!(report.refused_by_hub[0].doc, bad.id());
    assert_eq!(report.refused_by_hub[0].code, ErrorCode::ChangeMetadata);
    let (on_hub, _) = hub_visits(&hub);
    assert_eq!(on_hub, ids[..4].iter().copied().collect::<BTreeSet<_>>());
    // Kept on the device, with everything else it holds.
    assert_eq!(phone.visit_ids().len(), 6);
    assert!(phone.store().document_heads(bad.id()).is_ok());
    // Reported again next time, never blocking the rest.
    let v = phone.store().log_visit(&visit(months[0], 3)).expect("logged");
    let report = phone.sync().await.expect("synced");
    assert_eq!(report.refused_by_hub.len(), 1);
    assert!(hub_visits(&hub).0.contains(&v));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retired_device_hands_in_its_visits_and_a_lost_one_does_not() {
    let hub = TestHub::start().await;
    let org = hub.org("CAW Limburg");

    let leaving = Phone::enrolled(&hub, &org, Role::Fieldworker).await;
    let synced = leaving.store().log_visit(&visit(today(), 2)).expect("logged");
    leaving.sync().await.expect("synced");
    let pending: Vec<VisitId> = (0..3)
        .map(|i| leaving.store().log_visit(&visit(today(), 3 + i)).expect("logged"))
        .collect();
    hub.hub
        .retire_device(leaving.store().device_id())
        .expect("retired");
    let e = leaving.sync().await.unwrap_err();
    assert!(matches!(e, Error::RetiredAndWiped), "{e:?}");
    assert!(!leaving.path().exists(), "the store is deleted");
    let (on_hub, twice) = hub_visits(&hub);
    assert_eq!(twice, 0);
    for v in pending.iter().chain([&synced]) {
        assert!(
            on_hub.contains(v),
            "a pending visit reached the hub before the wipe"
        );
    }

    let lost = Phone::enrolled(&hub, &org, Role::Fieldworker).await;
    let unsent = lost.store().log_visit(&visit(today(), 9)).expect("logged");
    hub.hub.revoke_device(lost.store().device_id()).expect("revoked");
    let e = lost.sync().await.unwrap_err();
    assert!(matches!(e, Error::RevokedAndWiped), "{e:?}");
    assert!(!lost.path().exists());
    assert!(
        !hub_visits(&hub).0.contains(&unsent),
        "a lost phone hands in nothing"
    );
}

/// A change set that Automerge applies and then cannot load back (found by the `poison` fuzz
/// target, `server/tests/fuzz_corpus/`), pulled as if a hub had forwarded it: the device
/// refuses it, keeps its visits as they were, and opens again.
#[test]
fn a_device_refuses_pulled_changes_that_do_not_load_back() {
    use outreach_hub::fuzzing;
    let dir = tempfile::tempdir().expect("a folder");
    let key = StoreKey::random();
    let path = dir.path().join("outreach.db");
    let store = Store::open(&path, key.as_bytes(), StoreOptions::default()).expect("a store");
    let log = fuzzing::stored_log();
    store
        .apply_remote(
            log.id(),
            &fuzzing::stored_log_doc().changes_since(&[]).expect("changes"),
        )
        .expect("the hub's copy");
    let held = |store: &Store| {
        (
            store.document_heads(log.id()).expect("heads"),
            store.document_bytes(log.id()).expect("bytes"),
        )
    };
    let before = held(&store);
    assert_eq!(before.0.len(), 1, "the hub's copy, held");
    let input = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../server/tests/fuzz_corpus/poisoned-visit-log-mismatching-heads.bin"),
    )
    .expect("the corpus input");
    let poisoned = &input[2..];
    // It is a poisoned set: Automerge alone takes it, and its save does not load back.
    let mut am = fuzzing::stored_log_doc().automerge().clone();
    am.apply_changes(outreach_core::doc::wire::parse_changes(poisoned).expect("it parses"))
        .expect("Automerge applies it");
    assert!(automerge::AutoCommit::load(&am.save()).is_err());
    match store.apply_remote(log.id(), poisoned) {
        Err(Error::Document(outreach_core::doc::DocError::NotReloadable)) => {}
        other => panic!("not refused as not reloadable: {other:?}"),
    }
    assert_eq!(held(&store), before, "what the device held is unchanged");
    drop(store);
    let store = Store::open(&path, key.as_bytes(), StoreOptions::default()).expect("it reopens");
    assert_eq!(held(&store), before);
}
