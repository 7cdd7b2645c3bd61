//! The callback interfaces implemented in Rust, through the exported API exactly as the apps
//! call it: an observer or a progress listener that fails or panics leaves the store and the
//! sync working, and a cancelled or dropped subscription stops the calls.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use outreach_core::sync::protocol::Role;
use outreach_ffi::{
    Activity, CallbackError, OutreachError, OutreachStore, PartOfDay, Setting, StoreChanges, StoreConfig,
    StoreObserver, SyncCancellation, SyncPhase, SyncProgress, SyncProgressListener, Theme, VisitDetails,
    VisitQuery,
};
use outreach_tests::harness::TestHub;
use outreach_tests::proxy::FaultProxy;

fn config() -> StoreConfig {
    StoreConfig {
        languages: vec!["fr".into()],
        retention_days: 30,
        storage_budget_bytes: 50 * 1024 * 1024,
        extra_ca_pem: None,
        fetch_files: false,
        request_timeout_seconds: 10,
        max_attempts: 2,
        brochure_dir: None,
        plaintext_header: false,
    }
}

async fn open(dir: &tempfile::TempDir) -> Arc<OutreachStore> {
    let path = dir.path().join("store.db").to_string_lossy().into_owned();
    OutreachStore::open(path, vec![7; 32], config())
        .await
        .expect("the store opens")
}

fn visit(note: &str) -> VisitDetails {
    VisitDetails {
        date: chrono::Local::now().date_naive(),
        part_of_day: PartOfDay::Evening,
        postcode: 1000,
        municipality: "Brussel".into(),
        setting: Setting::Shelter,
        activity: Activity::GroupSession,
        people_reached: 6,
        by_gender: vec![],
        by_age: vec![],
        languages: vec!["ar".into()],
        origins: vec![],
        themes: vec![Theme::Shelter],
        brochures: vec![],
        referrals: vec![],
        follow_up: false,
        note: note.into(),
    }
}

/// Counts the visits it is told about.
#[derive(Default)]
struct Counting(Mutex<Vec<String>>);

impl StoreObserver for Counting {
    fn on_change(&self, changes: StoreChanges) -> Result<(), CallbackError> {
        self.0.lock().unwrap().extend(changes.visits);
        Ok(())
    }
}

struct Failing(AtomicUsize);

impl StoreObserver for Failing {
    fn on_change(&self, _: StoreChanges) -> Result<(), CallbackError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Err(CallbackError::Failed {
            reason: "the app's observer failed".into(),
        })
    }
}

struct Panicking(AtomicUsize);

impl StoreObserver for Panicking {
    fn on_change(&self, _: StoreChanges) -> Result<(), CallbackError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        panic!("observer panicked");
    }
}

#[tokio::test]
async fn an_observer_that_fails_or_panics_does_not_break_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let failing = Arc::new(Failing(AtomicUsize::new(0)));
    let panicking = Arc::new(Panicking(AtomicUsize::new(0)));
    let counting = Arc::new(Counting::default());
    let _a = store.subscribe(failing.clone());
    let _b = store.subscribe(panicking.clone());
    let _c = store.subscribe(counting.clone());

    let mut logged = Vec::new();
    for i in 0..3 {
        logged.push(
            store
                .log_visit(visit(&format!("round {i}")))
                .await
                .expect("the visit is stored"),
        );
    }

    assert_eq!(failing.0.load(Ordering::SeqCst), 3);
    assert_eq!(panicking.0.load(Ordering::SeqCst), 3);
    let mut told = counting.0.lock().unwrap().clone();
    told.sort();
    logged.sort();
    assert_eq!(told, logged, "the well-behaved observer is told of every visit");
    let listed = store.visits(VisitQuery::default()).await.unwrap();
    assert_eq!(listed.len(), 3);
    // The store is still fully usable, including after reopening.
    drop(store);
    let store = open(&dir).await;
    assert_eq!(store.visits(VisitQuery::default()).await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_cancelled_or_dropped_subscription_stops_the_calls() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let cancelled = Arc::new(Counting::default());
    let dropped = Arc::new(Counting::default());
    let kept = Arc::new(Counting::default());
    let a = store.subscribe(cancelled.clone());
    let b = store.subscribe(dropped.clone());
    let _c = store.subscribe(kept.clone());
    store.log_visit(visit("first")).await.unwrap();
    assert!(a.is_active());
    a.cancel();
    a.cancel();
    assert!(!a.is_active());
    drop(b);
    store.log_visit(visit("second")).await.unwrap();
    assert_eq!(cancelled.0.lock().unwrap().len(), 1);
    assert_eq!(dropped.0.lock().unwrap().len(), 1);
    assert_eq!(kept.0.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_refused_note_reports_its_spans_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let counting = Arc::new(Counting::default());
    let _sub = store.subscribe(counting.clone());
    let note = "Très inquiet, rappeler au 0475 12 34 56 demain";
    match store.log_visit(visit(note)).await {
        Err(OutreachError::PersonalData { spans, reason }) => {
            assert_eq!(spans.len(), 1);
            let utf16: Vec<u16> = note.encode_utf16().collect();
            let found =
                String::from_utf16(&utf16[spans[0].start_utf16 as usize..spans[0].end_utf16 as usize]);
            assert_eq!(found.unwrap(), "0475 12 34 56");
            assert_eq!(
                &note[spans[0].start_utf8 as usize..spans[0].end_utf8 as usize],
                "0475 12 34 56"
            );
            assert!(
                !reason.contains("0475"),
                "the reason never repeats the data: {reason}"
            );
        }
        other => panic!("expected PersonalData, got {other:?}"),
    }
    assert!(store.visits(VisitQuery::default()).await.unwrap().is_empty());
    assert!(counting.0.lock().unwrap().is_empty(), "no change was announced");
}

struct Progress {
    phases: Mutex<Vec<SyncPhase>>,
    fail: bool,
    panic: bool,
}

impl SyncProgressListener for Progress {
    fn on_progress(&self, progress: SyncProgress) -> Result<(), CallbackError> {
        self.phases.lock().unwrap().push(progress.phase);
        if self.panic {
            panic!("progress listener panicked");
        }
        if self.fail {
            return Err(CallbackError::Failed {
                reason: "listener failed".into(),
            });
        }
        Ok(())
    }
}

fn progress(fail: bool, panic: bool) -> Arc<Progress> {
    Arc::new(Progress {
        phases: Mutex::new(Vec::new()),
        fail,
        panic,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_progress_listener_that_fails_or_panics_does_not_break_the_sync() {
    let hub = TestHub::start().await;
    let org = hub.org("Caritas International");
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let code = hub.code(&org, Role::Fieldworker);
    let enrollment = store
        .enroll(hub.url(), "phone 1".into(), Some(code), None)
        .await
        .expect("enrolled");
    assert_eq!(enrollment.org_name, "Caritas International");

    let first = store.log_visit(visit("first")).await.unwrap();
    let panicking = progress(false, true);
    let report = store
        .sync(Some(panicking.clone()), None)
        .await
        .expect("a panicking listener does not stop the sync");
    assert!(report.complete);
    assert!(report.changes_pushed >= 1);
    assert_eq!(panicking.phases.lock().unwrap().last(), Some(&SyncPhase::Done));

    let second = store.log_visit(visit("second")).await.unwrap();
    let failing = progress(true, false);
    let report = store
        .sync(Some(failing.clone()), None)
        .await
        .expect("a failing listener does not stop the sync");
    assert!(report.complete);
    assert!(report.changes_pushed >= 1);
    assert_eq!(failing.phases.lock().unwrap().last(), Some(&SyncPhase::Done));

    let held: Vec<String> = hub.visit_ids().iter().map(|v| v.to_string()).collect();
    assert!(
        held.contains(&first) && held.contains(&second),
        "the hub holds both visits"
    );
    assert_eq!(store.visits(VisitQuery::default()).await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_enrollment_or_sync_ends_cancelled_and_the_next_one_succeeds() {
    let hub = TestHub::start().await;
    let org = hub.org("Fedasil");
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let code = hub.code(&org, Role::Fieldworker);
    let cancel = SyncCancellation::new();
    cancel.cancel();
    match store
        .enroll(
            hub.url(),
            "phone 2".into(),
            Some(code.clone()),
            Some(cancel.clone()),
        )
        .await
    {
        Err(OutreachError::Cancelled { .. }) => {}
        other => panic!("expected Cancelled, got {other:?}"),
    }
    assert_eq!(
        store.enrollment().await.unwrap(),
        None,
        "a cancelled enrollment enrolls nothing"
    );
    store
        .enroll(hub.url(), "phone 2".into(), Some(code), None)
        .await
        .unwrap();
    store.log_visit(visit("before cancel")).await.unwrap();

    match store.sync(None, Some(cancel.clone())).await {
        Err(OutreachError::Cancelled { .. }) => {}
        other => panic!("expected Cancelled, got {other:?}"),
    }
    assert!(cancel.is_cancelled());
    assert!(hub.visit_ids().is_empty(), "nothing was sent");

    let report = store.sync(None, None).await.expect("the next sync succeeds");
    assert!(report.complete);
    assert_eq!(hub.visit_ids().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancellation_handle_is_reusable_until_cancelled_and_dropping_the_call_cancels_it() {
    let hub = TestHub::start().await;
    let org = hub.org("CAW Antwerpen");
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let code = hub.code(&org, Role::Fieldworker);
    let proxy = FaultProxy::start(hub.addr(), 1).await.unwrap();
    let handle = SyncCancellation::new();
    store
        .enroll(proxy.url(), "phone 3".into(), Some(code), Some(handle.clone()))
        .await
        .unwrap();
    store
        .sync(None, Some(handle.clone()))
        .await
        .expect("a first sync");
    assert!(
        !handle.is_cancelled(),
        "a finished call leaves the handle as it was"
    );
    store
        .sync(None, Some(handle.clone()))
        .await
        .expect("the handle serves again");

    // The app gives up on a call stuck on a hub that never answers (its coroutine is cancelled):
    // UniFFI drops the future, and the work behind it is told to stop.
    let black_hole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent = black_hole.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = black_hole.accept().await {
            held.push(socket);
        }
    });
    proxy.set_upstream(silent);
    store.log_visit(visit("while the hub is silent")).await.unwrap();
    let call = store.sync(None, Some(handle.clone()));
    let gave_up = tokio::time::timeout(Duration::from_millis(300), call).await;
    assert!(gave_up.is_err(), "the call was still waiting for the hub");
    assert!(handle.is_cancelled(), "dropping the call cancelled its work");

    // The store is unharmed: with the hub back, a new sync delivers the visit.
    proxy.set_upstream(hub.addr());
    store.sync(None, None).await.expect("the next sync succeeds");
    assert_eq!(hub.visit_ids().len(), 1);
}
