//! The validator processes: a validator that dies or never answers costs its own document a
//! typed refusal, the hub serves on, and the next document gets a fresh process. The validator
//! program here is a script that misbehaves on its first two starts and then runs the real
//! `outreach-hub validate-worker`.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use outreach_core::model::DocId;
use outreach_core::sync::protocol::{ErrorCode, Role, SyncRequest};
use outreach_hub::{HubConfig, Isolation, ValidatorLimits};

use crate::common::{refusal_of, TestDevice, TestHub};

const BIN: &str = env!("CARGO_BIN_EXE_outreach-hub");

/// A request of `device` for one of its documents.
fn only(device: &mut TestDevice, id: DocId) -> SyncRequest {
    let mut req = device.request();
    req.docs.retain(|d| d.id == id);
    req
}

#[tokio::test(flavor = "multi_thread")]
async fn a_validator_that_dies_or_hangs_costs_its_document_only() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("validator");
    let count = dir.path().join("starts");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             n=$(cat '{count}' 2>/dev/null || echo 0); n=$((n + 1)); echo $n > '{count}'\n\
             case $n in 1) exit 3 ;; 2) exec sleep 600 ;; esac\n\
             exec '{BIN}' \"$@\"\n",
            count = count.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
    let hub = TestHub::start_with(HubConfig {
        isolation: Isolation::Program(script),
        validator: ValidatorLimits {
            processes: 1,
            deadline: Duration::from_secs(2),
            ..ValidatorLimits::default()
        },
        ..HubConfig::default()
    })
    .await;
    let mut worker = hub.device(&hub.org_a, Role::Fieldworker).await;
    let died = worker.log_visit("2026-09-02", "Info", &[]);
    let hung = worker.log_visit("2026-10-02", "Info", &[]);
    let fine = worker.log_visit("2026-11-02", "Info", &[]);

    // The first validator exits before answering.
    let req = only(&mut worker, died);
    let resp = worker.send(&hub, &req).await.unwrap();
    let r = refusal_of(&resp, died).expect("refused");
    assert_eq!(r.code, ErrorCode::InvalidDocument);
    assert!(r.reason.contains("validat"), "{}", r.reason);
    assert!(hub.hub.document_bytes(died).unwrap().is_none());
    hub.assert_still_serving().await;

    // The second never answers: it is killed at the deadline, and its document refused.
    let req = only(&mut worker, hung);
    let started = Instant::now();
    let resp = worker.send(&hub, &req).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        refusal_of(&resp, hung).expect("refused").code,
        ErrorCode::InvalidDocument
    );
    assert!(hub.hub.document_bytes(hung).unwrap().is_none());

    // The third is a real validator: the document is stored, and so are the two refused ones
    // when the device sends them again.
    let req = only(&mut worker, fine);
    let resp = worker.send(&hub, &req).await.unwrap();
    assert!(resp.refused.is_empty(), "{:?}", resp.refused);
    worker.apply(&resp);
    assert!(worker.in_step_with(&hub, fine));
    let req = worker.request();
    let resp = worker.send(&hub, &req).await.unwrap();
    assert!(resp.refused.is_empty(), "{:?}", resp.refused);
    worker.apply(&resp);
    for id in [died, hung, fine] {
        assert!(worker.in_step_with(&hub, id));
    }
    assert_eq!(
        std::fs::read_to_string(&count).unwrap().trim(),
        "3",
        "one process for the rest"
    );
    let stats = hub.hub.metrics();
    assert!(stats.documents_validated >= 5, "{stats:?}");
}
