//! What reaches a log line. Every `tracing` event of the process (the core's, the hub's and the
//! libraries' underneath, at every level down to TRACE) is captured while a device enrolls,
//! logs a visit with a note, is refused a note with personal data, syncs, is opened with a
//! wrong key and is revoked: no line holds the note, the refused text, the device token, the
//! store key or the enrollment code, and the core's events are there to be read.

use std::io::Write;
use std::sync::{Arc, Mutex};

use chrono::Local;
use outreach_core::model::{Activity, PartOfDay, Setting, VisitDetails};
use outreach_core::sync::protocol::{EnrollLink, Role};
use outreach_core::{CancelToken, Error, Store, StoreKey, StoreOptions};
use outreach_tests::harness::{test_options, TestHub};

/// A writer into a shared buffer.
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("the log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_log_line_holds_a_note_a_token_a_key_or_a_code() {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let writer = {
        let buffer = buffer.clone();
        move || Captured(buffer.clone())
    };
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(writer)
        .init();

    let hub = TestHub::start().await;
    let org = hub.org("Fedasil");
    let code = hub.code(&org, Role::Fieldworker);
    let dir = tempfile::tempdir().expect("a folder");
    let path = dir.path().join("outreach.db");
    let key = StoreKey::random();
    let store = Store::open(&path, key.as_bytes(), StoreOptions::default()).expect("the store opens");
    let link = EnrollLink {
        hub: hub.url(),
        code: code.clone(),
    };
    store
        .enroll(&link.to_string(), None, "phone", &test_options())
        .await
        .expect("enrolled");
    let token = store.device_token_for_tests().expect("the token");

    let note = "Afspraak gemaakt bij het onthaal voor donderdagochtend";
    let mut visit = VisitDetails::new(
        Local::now().date_naive(),
        PartOfDay::Evening,
        1000,
        "Brussel",
        Setting::Street,
        Activity::IndividualContact,
        3,
    );
    visit.note = note.into();
    store.log_visit(&visit).expect("a visit is logged");
    let refused = "Bel Mohammed terug op 0470 12 34 56";
    visit.note = refused.into();
    assert!(matches!(store.log_visit(&visit), Err(Error::PersonalData(_))));
    store
        .sync(&test_options(), None, &CancelToken::new())
        .await
        .expect("a sync");

    let wrong = StoreKey::random();
    assert!(Store::open(&path, wrong.as_bytes(), StoreOptions::default()).is_err());

    hub.hub.revoke_device(store.device_id()).expect("revoked");
    assert!(matches!(
        store.sync(&test_options(), None, &CancelToken::new()).await,
        Err(Error::RevokedAndWiped)
    ));

    let log = String::from_utf8_lossy(&buffer.lock().expect("the log buffer")).into_owned();
    for line in [
        "enrolled",
        "sync started",
        "round trip",
        "sync finished",
        "sync failed",
    ] {
        assert!(log.contains(line), "no {line:?} line in the log:\n{log}");
    }
    for target in [outreach_core::log_targets::SYNC, outreach_hub::log_targets::HTTP] {
        assert!(log.contains(target), "no event of {target} in the log");
    }
    let key_hex = hex::encode(key.as_bytes());
    let wrong_hex = hex::encode(wrong.as_bytes());
    let secrets = [
        ("the note", note),
        ("the refused note", refused),
        ("its phone number", "0470 12 34 56"),
        ("the device token", token.as_str()),
        ("the enrollment code", code.as_str()),
        ("the store key", key_hex.as_str()),
        ("the wrong key", wrong_hex.as_str()),
    ];
    for (what, secret) in secrets {
        assert!(!log.contains(secret), "{what} reached the log");
    }
    // The code travels without its dashes too; no part of it is logged.
    let bare: String = code.chars().filter(char::is_ascii_alphanumeric).collect();
    assert!(!log.contains(&bare), "the enrollment code reached the log");
}
