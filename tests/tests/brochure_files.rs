//! Brochure files through a real hub: a download cut again and again resumes where it stopped
//! and ends with the right SHA-256; a file damaged on the hub is refused and never shown.

use outreach_core::model::{Brochure, Lang};
use outreach_core::sync::protocol::Role;
use outreach_core::{CancelToken, SyncOptions};
use outreach_hub::BLOBS_DIR;
use outreach_tests::harness::{test_options, Device, TestHub};
use outreach_tests::proxy::FaultProxy;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};

const FILE_BYTES: usize = 1_500_000;

/// A PDF-looking file of `FILE_BYTES` bytes, incompressible.
fn brochure_pdf(seed: u64) -> Vec<u8> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut pdf = b"%PDF-1.4\n%".to_vec();
    pdf.extend((pdf.len()..FILE_BYTES).map(|_| rng.random::<u8>()));
    pdf
}

fn fr() -> Lang {
    Lang::code("fr").unwrap_or_else(|| unreachable!())
}

fn options() -> SyncOptions {
    SyncOptions {
        languages: vec![fr()],
        fetch_files: true,
        max_attempts: 1,
        ..test_options()
    }
}

/// A hub holding one brochure whose French file a coordinator published; and a proxy to it.
async fn setup() -> (TestHub, FaultProxy, String, Brochure, Vec<u8>) {
    let hub = TestHub::start().await;
    let org = hub.org("Caritas International");
    let coordinator = Device::enroll(
        &hub.url(),
        &hub.code(&org, Role::Coordinator),
        "coordinator",
        Role::Coordinator,
    )
    .await;
    let mut brochure = Brochure::new(chrono::Local::now().date_naive());
    brochure.title.insert(fr(), "Le retour volontaire".into());
    coordinator.store.put_brochure(&brochure).expect("a brochure");
    let pdf = brochure_pdf(5);
    coordinator
        .store
        .publish_brochure_file(brochure.id, fr(), &pdf, "application/pdf", "retour.pdf")
        .expect("the file is published");
    let report = coordinator.sync_until_ok(2).await;
    assert_eq!(report.files_uploaded, 1);
    let proxy = FaultProxy::start(hub.addr(), 11).await.expect("a proxy");
    (hub, proxy, org, brochure, pdf)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_cut_twenty_times_resumes_and_ends_with_the_right_hash() {
    let (hub, proxy, org, brochure, pdf) = setup().await;
    // A worker that syncs without fetching files yet, then fetches through a network that cuts
    // every response somewhere.
    let mut worker2 = Device::enroll(
        &proxy.url(),
        &hub.code(&org, Role::Fieldworker),
        "worker 2",
        Role::Fieldworker,
    )
    .await;
    worker2.options = SyncOptions {
        fetch_files: false,
        ..options()
    };
    worker2.sync_until_ok(3).await;
    assert!(worker2
        .store
        .brochure_file(brochure.id, &[fr()])
        .expect("a lookup")
        .is_none());

    proxy.inject_in_responses(1.0);
    let mut attempts = 0;
    while proxy.cuts().1 < 20 {
        let report = worker2
            .store
            .fetch_brochure_files(&worker2.options, &CancelToken::new())
            .await;
        attempts += 1;
        assert!(attempts < 200, "the proxy kept letting the download through");
        if let Ok(r) = report {
            assert_eq!(
                r.hash_mismatches, 0,
                "a cut download is never taken for a damaged one"
            );
        }
        assert!(
            worker2
                .store
                .brochure_file(brochure.id, &[fr()])
                .expect("a lookup")
                .is_none(),
            "nothing is shown before the whole file is verified"
        );
    }
    proxy.heal();
    let before = proxy.response_bytes();
    let report = worker2
        .store
        .fetch_brochure_files(&worker2.options, &CancelToken::new())
        .await
        .expect("the download completes");
    let after_heal = proxy.response_bytes() - before;
    assert_eq!(report.fetched, 1, "{report:?}");
    assert!(
        (after_heal as usize) < pdf.len(),
        "the last attempt resumed ({after_heal} bytes) instead of starting over ({} bytes)",
        pdf.len()
    );
    let local = worker2
        .store
        .brochure_file(brochure.id, &[fr()])
        .expect("a lookup")
        .expect("the file");
    let bytes = std::fs::read(&local.path).expect("the local file");
    assert_eq!(
        hex::encode(Sha256::digest(&bytes)),
        hex::encode(Sha256::digest(&pdf))
    );
    assert_eq!(bytes, pdf);
    // Another worker, whose sync fetches files through the healed network, has it too.
    let mut worker = Device::enroll(
        &proxy.url(),
        &hub.code(&org, Role::Fieldworker),
        "worker",
        Role::Fieldworker,
    )
    .await;
    worker.options = options();
    let report = worker.sync_until_ok(2).await;
    assert_eq!(report.files.fetched, 1);
    assert!(worker
        .store
        .brochure_file(brochure.id, &[fr()])
        .expect("a lookup")
        .is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_damaged_on_the_hub_is_refused_and_not_shown() {
    let (hub, _proxy, org, brochure, pdf) = setup().await;
    let sha = hex::encode(Sha256::digest(&pdf));
    let stored = hub.data_dir().join(BLOBS_DIR).join(&sha);
    let mut damaged = std::fs::read(&stored).expect("the stored blob");
    assert_eq!(damaged, pdf);
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0xff;
    std::fs::write(&stored, &damaged).expect("the blob is damaged");

    let mut worker = Device::enroll(
        &hub.url(),
        &hub.code(&org, Role::Fieldworker),
        "worker",
        Role::Fieldworker,
    )
    .await;
    worker.options = options();
    let report = worker.sync_until_ok(2).await;
    assert_eq!(report.files.hash_mismatches, 1, "{:?}", report.files);
    assert_eq!(report.files.fetched, 0);
    assert!(worker
        .store
        .brochure_file(brochure.id, &[fr()])
        .expect("a lookup")
        .is_none());
    let dir = worker.store.brochure_dir();
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        leftovers
            .iter()
            .all(|n| !n.to_string_lossy().starts_with(&sha) || n.to_string_lossy().ends_with(".part")),
        "no damaged file is kept under its hash: {leftovers:?}"
    );
}
