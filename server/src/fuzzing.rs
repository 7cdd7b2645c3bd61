//! The hub's boundary without HTTP, for fuzzing and for the tests that replay what fuzzing
//! found: what a request's body goes through once it has arrived, and the fixed hub (devices,
//! stored documents) that fuzz inputs are made against. Not for serving.
//!
//! An input of the push targets is two bytes choosing a [`Scenario`] (which document, pushed by
//! whom), then the pushed Automerge bytes.

use std::time::Duration;

use chrono::Utc;
use outreach_core::doc::{DocMeta, Document};
use outreach_core::model::{
    Activity, DeviceId, DocId, Month, OrgKind, PartOfDay, Partner, PartnerId, Region, Setting, VisitDetails,
    VisitId,
};
use outreach_core::sync::protocol::{
    self, encode, DocPush, EnrollRequest, EnrollResponse, Role, SyncRequest, SyncResponse, AUTOMERGE_FORMAT,
    PROTOCOL_VERSION,
};

use crate::config::HubConfig;
use crate::db::{devices, now};
use crate::error::ApiError;
use crate::hub::Hub;
use crate::validate::Isolation;

/// Enrolls `device` with a one-time `code`, as `POST /v1/enroll` does.
pub fn enroll(hub: &Hub, code: &str, device: DeviceId, name: &str) -> Result<EnrollResponse, ApiError> {
    let req = EnrollRequest {
        protocol: PROTOCOL_VERSION,
        code: code.to_string(),
        device_id: device,
        device_name: name.to_string(),
    };
    hub.inner.db.write(|tx| devices::enroll(tx, &req, name, now()))
}

/// Serves a sync request body from the device with `token`, as `POST /v1/sync` does once the
/// body is read: authentication, decoding, validation (in the validator processes the hub is
/// configured with), storage and the answer.
pub fn sync(hub: &Hub, token: &str, body: &[u8]) -> Result<SyncResponse, ApiError> {
    let caller = hub.authenticate(token)?;
    let req: SyncRequest = protocol::decode(body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    crate::sync::sync(&hub.inner, &caller, &req)
}

/// The field worker's device of fuzz inputs: fixed, so that inputs made apart build on what the
/// fixture stores.
pub const WORKER: DeviceId = DeviceId::from_uuid(uuid_v4(0x1001));

/// The coordinator's device of fuzz inputs.
pub const COORDINATOR: DeviceId = DeviceId::from_uuid(uuid_v4(0x2002));

/// A fixed version 4 UUID.
const fn uuid_v4(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(0x6f75_7472_6561_4000_8000_0000_0000_0000 | n)
}

/// A fixed instant, so that changes made apart are byte for byte the same.
pub fn at(step: i64) -> chrono::DateTime<Utc> {
    chrono::DateTime::from_timestamp(1_793_000_000 + step * 86_400, 0).unwrap_or_default()
}

/// A visit on a day of November 2026.
pub fn visit(day: u32) -> VisitDetails {
    VisitDetails::new(
        chrono::NaiveDate::from_ymd_opt(2026, 11, day.clamp(1, 28)).unwrap_or_default(),
        PartOfDay::Morning,
        1000,
        "Brussel",
        Setting::Street,
        Activity::IndividualContact,
        2,
    )
}

/// The stored visit log.
pub fn stored_log() -> DocMeta {
    DocMeta::VisitLog {
        owner: WORKER,
        month: month(10),
    }
}

/// The stored directory section.
pub fn stored_section() -> DocMeta {
    DocMeta::DirectorySection {
        region: Region::Namur,
    }
}

/// The month of a new visit log, from a selector byte (2026, `arg` modulo 12).
pub fn month(arg: u8) -> Month {
    let m = u32::from(arg % 12) + 1;
    Month::parse(&format!("2026-{m:02}")).unwrap_or_else(|| Month::of(Utc::now().date_naive()))
}

/// The visit log the fixture stores: three visits of the worker's, in November 2026.
pub fn stored_log_doc() -> Document {
    let mut log = Document::create(stored_log(), WORKER).unwrap_or_else(|e| panic!("{e}"));
    for day in 1..4u32 {
        log.put_visit(VisitId::from_uuid(uuid_v4(0x3000 + u128::from(day))), &visit(day))
            .unwrap_or_else(|e| panic!("{e}"));
        log.commit(at(i64::from(day)));
    }
    log
}

/// The directory section the fixture stores: two partners in Namur.
pub fn stored_section_doc() -> Document {
    let mut section = Document::create(stored_section(), COORDINATOR).unwrap_or_else(|e| panic!("{e}"));
    for (i, name) in ["Espace social", "Maison de l'emploi"].iter().enumerate() {
        let mut p = Partner::new(Region::Namur, *name, OrgKind::Ngo);
        p.id = PartnerId::from_uuid(uuid_v4(0x4000 + i as u128));
        section.insert_partner(&p).unwrap_or_else(|e| panic!("{e}"));
        section.commit(at(i as i64));
    }
    section
}

/// The body of a sync request pushing `changes` as document `meta`.
pub fn push_body(meta: DocMeta, changes: Vec<u8>) -> Vec<u8> {
    encode(&SyncRequest {
        protocol: PROTOCOL_VERSION,
        known: None,
        roster: None,
        report: None,
        format: AUTOMERGE_FORMAT.into(),
        docs: vec![DocPush {
            meta: Some(meta),
            ..DocPush::new(meta.id(), Vec::new(), changes)
        }],
    })
}

/// Which document a pushed input is tried as, and by whom.
#[derive(Debug, Clone, Copy)]
pub enum Scenario {
    /// A field worker's visit log the hub holds.
    StoredLog,
    /// A field worker's visit log new to the hub (its month from the selector).
    NewLog(u8),
    /// A directory section the hub holds, pushed by a coordinator.
    StoredSection,
    /// A directory section new to the hub, pushed by a coordinator.
    NewSection(u8),
    /// The brochure catalog, pushed by a coordinator.
    Catalog,
    /// A directory section pushed by a field worker (refused before it is read).
    WorkerSection,
}

impl Scenario {
    /// The document pushed.
    pub fn meta(self) -> DocMeta {
        match self {
            Scenario::StoredLog => stored_log(),
            Scenario::NewLog(arg) => DocMeta::VisitLog {
                owner: WORKER,
                month: month(arg),
            },
            Scenario::StoredSection | Scenario::WorkerSection => stored_section(),
            Scenario::NewSection(arg) => DocMeta::DirectorySection {
                region: Region::ALL[usize::from(arg) % Region::ALL.len()],
            },
            Scenario::Catalog => DocMeta::BrochureCatalog,
        }
    }

    /// Whether the field worker pushes it (else the coordinator).
    pub fn by_worker(self) -> bool {
        matches!(
            self,
            Scenario::StoredLog | Scenario::NewLog(_) | Scenario::WorkerSection
        )
    }

    /// The scenario of the first two bytes of an input.
    pub fn of(selector: u8, arg: u8) -> Scenario {
        match selector % 6 {
            0 => Scenario::StoredLog,
            1 => Scenario::NewLog(arg),
            2 => Scenario::StoredSection,
            3 => Scenario::NewSection(arg),
            4 => Scenario::Catalog,
            _ => Scenario::WorkerSection,
        }
    }
}

/// A hub with a field worker and a coordinator enrolled, a visit log and a directory section
/// stored.
pub struct Fixture {
    _dir: tempfile::TempDir,
    /// The hub.
    pub hub: Hub,
    /// The field worker's device and token.
    pub worker: (DeviceId, String),
    /// The coordinator's device and token.
    pub coordinator: (DeviceId, String),
}

impl Fixture {
    /// A hub in a temporary folder validating as `isolation` says, with the devices
    /// enrolled and the documents stored.
    pub fn new(isolation: Isolation) -> Fixture {
        let dir = tempfile::tempdir().expect("a folder");
        let config = HubConfig {
            isolation,
            ..HubConfig::default()
        };
        let hub = Hub::open(dir.path().join("hub"), config).expect("a hub");
        let org = hub.create_organisation("Fedasil").expect("an organisation").id;
        let enroll = |role: Role, device: DeviceId| {
            let code = hub
                .create_enrollment_code(&org, role, Duration::from_secs(3600))
                .expect("a code")
                .code;
            let creds = enroll(&hub, &code, device, "fuzz").expect("enrolled");
            (device, creds.token)
        };
        let worker = enroll(Role::Fieldworker, WORKER);
        let coordinator = enroll(Role::Coordinator, COORDINATOR);
        let f = Fixture {
            _dir: dir,
            hub,
            worker,
            coordinator,
        };
        // What the "stored" scenarios find on the hub.
        f.push(
            &f.worker.1,
            stored_log(),
            stored_log_doc().changes_since(&[]).expect("changes"),
        )
        .expect("the log is stored");
        f.push(
            &f.coordinator.1,
            stored_section(),
            stored_section_doc().changes_since(&[]).expect("changes"),
        )
        .expect("the section is stored");
        f
    }

    /// The document and the token of a scenario.
    pub fn target(&self, s: Scenario) -> (DocMeta, &str) {
        let token = if s.by_worker() {
            &self.worker.1
        } else {
            &self.coordinator.1
        };
        (s.meta(), token)
    }

    /// Pushes `changes` as one document of a sync, through the hub's whole boundary.
    pub fn push(&self, token: &str, meta: DocMeta, changes: Vec<u8>) -> Result<SyncResponse, ApiError> {
        sync(&self.hub, token, &push_body(meta, changes))
    }

    /// The stored document `id` loads (or is not stored).
    pub fn loads(&self, id: DocId) -> bool {
        match self.hub.document_bytes(id) {
            Ok(Some(bytes)) => Document::load_stored(id, &bytes, DeviceId::random()).is_ok(),
            Ok(None) => true,
            Err(_) => false,
        }
    }
}

/// Pushes `data` in the scenario its first two bytes choose, and checks the hub's answer: a
/// typed refusal (a 4xx) or an accepted document that loads back. Panics otherwise.
pub fn push_and_check(fixture: &Fixture, data: &[u8]) {
    let [selector, arg, changes @ ..] = data else {
        return;
    };
    let (meta, token) = fixture.target(Scenario::of(*selector, *arg));
    match fixture.push(token, meta, changes.to_vec()) {
        Ok(resp) => {
            if let Some(r) = resp.refused.iter().find(|r| r.id == meta.id()) {
                let status = crate::error::status_of(r.code);
                assert!(status.is_client_error(), "refused with {status}: {}", r.reason);
            }
            assert!(
                fixture.loads(meta.id()),
                "an accepted document does not load back"
            );
        }
        Err(e) => assert!(e.status.is_client_error(), "the hub failed: {e}"),
    }
}
