//! What fuzzing found in Automerge 0.12 and hexane, sent to a real hub in a process of its own
//! (inputs that abort, exhaust or panic the library, or that it accepts and cannot load back):
//! each is refused with a typed per-document outcome, the hub is the same process afterwards,
//! its peak memory grew by less than 64 MB, the stored documents are byte-identical and load,
//! and the report is still made. The committed corpus (`tests/fuzz_corpus/`, inputs of the
//! `hub_push` fuzz target: two bytes choosing the scenario, then the pushed bytes; see
//! `fuzz/README.md`) is replayed the same way.

use std::path::Path;
use std::process::Command;

use outreach_core::doc::{DocMeta, Document};
use outreach_core::model::{DeviceId, DocId, VisitId};
use outreach_core::sync::protocol::{Role, SyncResponse};
use outreach_hub::fuzzing::{self, Scenario};
use outreach_hub::{Hub, HubConfig};

use crate::common::process::HubProcess;
use crate::common::{answer, chunks, client};

const BIN: &str = env!("CARGO_BIN_EXE_outreach-hub");

/// The hub's process, its devices (the fuzz fixture's) and what it stores.
struct Boundary {
    process: HubProcess,
    http: reqwest::Client,
    worker: String,
    coordinator: String,
}

impl Boundary {
    async fn start() -> Boundary {
        let process = HubProcess::start();
        let http = client();
        let worker = process.enroll_as(&http, Role::Fieldworker, fuzzing::WORKER).await;
        let coordinator = process
            .enroll_as(&http, Role::Coordinator, fuzzing::COORDINATOR)
            .await;
        let b = Boundary {
            process,
            http,
            coordinator,
            worker,
        };
        let log = fuzzing::stored_log_doc().changes_since(&[]).unwrap();
        assert!(b
            .push(&b.worker.clone(), fuzzing::stored_log(), log)
            .await
            .refused
            .is_empty());
        let section = fuzzing::stored_section_doc().changes_since(&[]).unwrap();
        let coordinator = b.coordinator.clone();
        assert!(b
            .push(&coordinator, fuzzing::stored_section(), section)
            .await
            .refused
            .is_empty());
        b
    }

    async fn push(&self, token: &str, meta: DocMeta, changes: Vec<u8>) -> SyncResponse {
        let resp = self
            .http
            .post(format!("{}/v1/sync", self.process.url))
            .bearer_auth(token)
            .body(fuzzing::push_body(meta, changes))
            .send()
            .await
            .unwrap();
        answer(resp)
            .await
            .unwrap_or_else(|(status, body)| panic!("the request was refused whole: {status} {body:?}"))
    }

    /// Pushes a fuzz input (two scenario bytes, then the pushed bytes); returns the document.
    async fn push_input(&self, data: &[u8]) -> (DocId, SyncResponse) {
        let [selector, arg, bytes @ ..] = data else {
            panic!("an input of at least two bytes");
        };
        let scenario = Scenario::of(*selector, *arg);
        let token = if scenario.by_worker() {
            self.worker.clone()
        } else {
            self.coordinator.clone()
        };
        let meta = scenario.meta();
        (meta.id(), self.push(&token, meta, bytes.to_vec()).await)
    }

    fn stored(&self) -> Vec<(DocId, Vec<u8>)> {
        let hub = Hub::open_existing(self.process.data_dir(), HubConfig::default()).unwrap();
        hub.documents()
            .unwrap()
            .into_iter()
            .map(|d| (d.id, hub.document_bytes(d.id).unwrap().unwrap()))
            .collect()
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The inputs of each class, with the scenario they are pushed in.
fn crafted() -> Vec<(&'static str, Vec<u8>)> {
    // A bundle of the stored log's next visits whose op counters column declares a run of 2^32
    // values: Automerge collects them before any check (an allocation of 32 GB, an abort).
    let mut log = fuzzing::stored_log_doc();
    let base = log.heads();
    for day in 10..12 {
        log.put_visit(VisitId::random(), &fuzzing::visit(day)).unwrap();
        log.commit(fuzzing::at(i64::from(day)));
    }
    let bundle = log.changes_since(&base).unwrap();
    let huge = chunks::huge_run_bundle(&bundle, 1 << 32);
    let mut inputs = vec![("huge declared run length", [vec![0, 0], huge].concat())];
    // A 15-byte document chunk that panics in Automerge's author table.
    inputs.push((
        "15-byte document chunk",
        [vec![1, 3], hex("856f4a83d1ed895700050100000000")].concat(),
    ));
    inputs
}

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_corpus");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "bin"))
                .map(|e| {
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        std::fs::read(e.path()).unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn what_breaks_the_library_is_refused_and_the_hub_lives_on() {
    let mut b = Boundary::start().await;
    let pid = b.process.pid();
    let stored = b.stored();
    let peak = b.process.peak_rss();
    let mut inputs: Vec<(String, Vec<u8>)> = crafted().into_iter().map(|(n, d)| (n.to_string(), d)).collect();
    inputs.extend(corpus());
    assert!(inputs.len() >= 3, "the crafted inputs and the committed corpus");
    for (name, data) in &inputs {
        let (doc, resp) = b.push_input(data).await;
        let refusal = resp.refused.iter().find(|r| r.id == doc);
        eprintln!("{name}: {:?}", refusal.map(|r| (r.code, &r.reason)));
        // Every input of the corpus is one that breaks the library: none may be taken.
        let Some(r) = refusal else {
            panic!("{name} was taken: {resp:?}");
        };
        {
            assert!(
                outreach_hub::status_of(r.code).is_client_error(),
                "{name}: refused with {:?}: {}",
                r.code,
                r.reason
            );
        }
        assert!(b.process.running(), "{name}: the hub died");
    }
    for (name, data) in crafted() {
        let (doc, resp) = b.push_input(&data).await;
        assert!(
            resp.refused.iter().any(|r| r.id == doc),
            "{name} is refused, not taken: {resp:?}"
        );
    }
    assert!(b.process.running());
    assert_eq!(b.process.pid(), pid, "the same process");
    let growth = b.process.peak_rss().saturating_sub(peak);
    println!("hub peak resident memory grew by {} kB", growth / 1024);
    assert!(growth < 64 << 20, "the hub's peak memory grew by {growth} bytes");
    // Nothing was stored: the documents are byte-identical, and they load.
    let after = b.stored();
    assert_eq!(after, stored, "the stored documents changed");
    for (id, bytes) in &after {
        Document::load_stored(*id, bytes, DeviceId::random())
            .unwrap_or_else(|e| panic!("stored document {id} does not load: {e}"));
    }
    let report = Command::new(BIN)
        .args(["report", "--data", b.process.data_dir().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn crafted_inputs_leave_the_stored_documents_byte_identical() {
    let b = Boundary::start().await;
    let stored = b.stored();
    for (name, data) in crafted() {
        let (doc, resp) = b.push_input(&data).await;
        let r = resp.refused.iter().find(|r| r.id == doc);
        println!("{name}: {r:?}");
        assert!(r.is_some(), "{name}");
    }
    assert_eq!(b.stored(), stored);
}
