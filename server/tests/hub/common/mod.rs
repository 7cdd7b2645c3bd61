//! A real hub on loopback, reached over HTTP with reqwest, and test devices that hold core
//! `Document`s and speak the wire protocol with core's types.

#![allow(dead_code)]

pub mod chunks;
pub mod process;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use automerge::ChangeHash;
use chrono::{NaiveDate, Utc};
use outreach_core::doc::{DocMeta, Document};
use outreach_core::model::{
    Activity, DeviceId, DocId, Month, OrgKind, PartOfDay, Partner, PartnerId, Region, Setting, Theme,
    VisitDetails, VisitId,
};
use outreach_core::sync::protocol::{
    decode, encode, from_wire, to_wire, DocPush, DocRefusal, EnrollRequest, EnrollResponse, ErrorBody,
    ErrorCode, Role, SyncRequest, SyncResponse, AUTOMERGE_FORMAT, CONTENT_TYPE, PROTOCOL_VERSION,
};
use outreach_hub::{
    DbKey, Hub, HubConfig, HubKeys, Organisation, SealKeySource, ServerHandle, Storage, TlsConfig,
};
use reqwest::StatusCode;

/// The backends a hub stores its data in: the tests written with [`on_both_backends!`] run on
/// each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

tokio::task_local! {
    static BACKEND: Backend;
}

/// The backend of the test running (SQLite outside [`on_both_backends!`]).
pub fn backend() -> Backend {
    BACKEND.try_with(|b| *b).unwrap_or(Backend::Sqlite)
}

/// Runs a test body with [`TestHub`]s on `backend`.
pub async fn on<F: std::future::Future>(backend: Backend, body: F) -> F::Output {
    BACKEND.scope(backend, body).await
}

/// Each test inside, once on the embedded SQLite backend and once on PostgreSQL
/// (`name::sqlite`, `name::postgres`): the same body, its `TestHub`s on either.
macro_rules! on_both_backends {
    ($($(#[$attr:meta])* async fn $name:ident() $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                $(#[$attr])*
                async fn sqlite() {
                    $crate::common::on($crate::common::Backend::Sqlite, async $body).await
                }

                $(#[$attr])*
                async fn postgres() {
                    $crate::common::on($crate::common::Backend::Postgres, async $body).await
                }
            }
        )*
    };
}
pub(crate) use on_both_backends;

/// The PostgreSQL server the tests make their databases on: `OUTREACH_TEST_DATABASE`, set by
/// `scripts/with-postgres.sh` (which starts a throwaway server when none is given).
pub fn test_server() -> String {
    std::env::var("OUTREACH_TEST_DATABASE").unwrap_or_else(|_| {
        panic!(
            "the PostgreSQL tests need a server: run them through scripts/with-postgres.sh \
             (as the README's test command does), or set OUTREACH_TEST_DATABASE"
        )
    })
}

/// `server` (a URL naming any database) with its database replaced by `db`.
pub fn database_url(server: &str, db: &str) -> String {
    let (base, _) = server
        .rsplit_once('/')
        .expect("a postgres:// URL with a database");
    format!("{base}/{db}")
}

/// Runs SQL on the test server's maintenance database, from any context (a thread and a
/// runtime of its own).
pub fn on_test_server(sql: &str) {
    on_database(&test_server(), sql);
}

/// Runs `work` with a plain connection to the PostgreSQL database at `url`, from any context
/// (a thread and a runtime of its own).
fn with_client<T: Send + 'static>(
    url: &str,
    work: impl FnOnce(tokio_postgres::Client) -> std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>
        + Send
        + 'static,
) -> T {
    let url = without_parameters(url).to_string();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL server: {e}"));
            tokio::spawn(connection);
            work(client).await
        })
    })
    .join()
    .unwrap()
}

/// The first column of the first row of `sql` on the database at `url`, as text.
pub fn query_text(url: &str, sql: &str) -> String {
    let sql = sql.to_string();
    with_client(url, move |client| {
        Box::pin(async move {
            let row = client
                .query_one(&sql, &[])
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            row.get::<_, String>(0)
        })
    })
}

/// Runs SQL on the PostgreSQL database at `url`, from any context.
pub fn on_database(url: &str, sql: &str) {
    let sql = sql.to_string();
    with_client(url, move |client| {
        Box::pin(async move {
            client
                .batch_execute(&sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        })
    })
}

/// A new, empty database on the test server; its URL, naming the server's CA
/// (`OUTREACH_TEST_DATABASE_CA`) when it has one, so that the hub verifies the server.
pub fn new_database() -> String {
    let name = format!("hub_{}", DeviceId::random().to_string().replace('-', ""));
    on_test_server(&format!("CREATE DATABASE {name}"));
    let url = database_url(&test_server(), &name);
    match std::env::var("OUTREACH_TEST_DATABASE_CA") {
        Ok(ca) => format!("{url}?sslrootcert={ca}"),
        Err(_) => url,
    }
}

/// `url` without its parameters, for the tests' own plain connections.
fn without_parameters(url: &str) -> &str {
    url.split_once('?').map_or(url, |(base, _)| base)
}

/// The name of the database of `url`.
pub fn database_name(url: &str) -> &str {
    without_parameters(url).rsplit_once('/').unwrap().1
}

/// A hub serving a temporary data directory (or a new PostgreSQL database) on 127.0.0.1, with
/// two organisations.
pub struct TestHub {
    _tmp: tempfile::TempDir,
    pub dir: PathBuf,
    /// Where the hub's data is: `dir`, or a database of its own on the test server.
    pub storage: Storage,
    pub config: HubConfig,
    /// The keys the hub is opened with (restarts too).
    pub keys: HubKeys,
    pub hub: Hub,
    server: Option<ServerHandle>,
    pub url: String,
    pub http: reqwest::Client,
    pub org_a: Organisation,
    pub org_b: Organisation,
}

impl Drop for TestHub {
    fn drop(&mut self) {
        if let Storage::Postgres(url) = &self.storage {
            let db = database_name(url);
            if !std::thread::panicking() {
                on_test_server(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
            }
        }
    }
}

/// Everything the hub stores about documents and files, to show that a refusal changed nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub docs: Vec<(outreach_hub::DocumentInfo, Vec<u8>)>,
    pub blobs: Vec<(String, Vec<u8>)>,
}

impl TestHub {
    pub async fn start() -> TestHub {
        TestHub::start_with(HubConfig::default()).await
    }

    pub async fn start_with(config: HubConfig) -> TestHub {
        TestHub::start_with_keys(config, HubKeys::default()).await
    }

    /// A hub whose `hub.db` is encrypted with a random database key (`keys.db_key`).
    pub async fn start_encrypted() -> TestHub {
        let keys = HubKeys {
            db_key: Some(DbKey::random()),
            ..HubKeys::default()
        };
        TestHub::start_with_keys(HubConfig::default(), keys).await
    }

    pub async fn start_with_keys(config: HubConfig, mut keys: HubKeys) -> TestHub {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("hub");
        let storage = match backend() {
            Backend::Sqlite => Storage::Embedded(dir.clone()),
            Backend::Postgres => {
                assert!(
                    keys.db_key.is_none(),
                    "a SQLCipher key is for the embedded backend only"
                );
                if matches!(keys.seal_key, SealKeySource::DataDir) {
                    keys.seal_key = SealKeySource::File(tmp.path().join("seal.key"));
                }
                Storage::Postgres(new_database())
            }
        };
        let hub = Hub::open_storage(&storage, config.clone(), keys.clone()).unwrap();
        let org_a = hub.create_organisation("Fedasil").unwrap();
        let org_b = hub.create_organisation("Caritas International").unwrap();
        let mut t = TestHub {
            _tmp: tmp,
            dir,
            storage,
            config,
            keys,
            hub,
            server: None,
            url: String::new(),
            http: client(),
            org_a,
            org_b,
        };
        t.serve().await;
        t
    }

    async fn serve(&mut self) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = self.hub.serve(listener, None).unwrap();
        self.url = server.url();
        self.server = Some(server);
    }

    /// Stops the server gracefully.
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await.unwrap();
        }
    }

    /// Stops, opens a new `Hub` on the same data directory (or database) and serves it on a
    /// new port.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.hub = Hub::open_storage(&self.storage, self.config.clone(), self.keys.clone()).unwrap();
        self.serve().await;
    }

    /// Stops and closes every connection to the data directory, so that its files can be
    /// copied or replaced; `restart` serves it again.
    pub async fn close(&mut self) {
        self.stop().await;
        let scratch = self._tmp.path().join(format!("scratch-{}", rand_suffix()));
        self.hub = Hub::open(scratch, self.config.clone()).unwrap();
    }

    /// Copies the data directory to `backup`, as an operator backs up a stopped hub; on
    /// PostgreSQL, dumps the database to `backup` with `outreach-hub backup` (pg_dump) while
    /// the hub serves.
    pub async fn back_up(&mut self, backup: &Path) {
        match self.storage.clone() {
            Storage::Embedded(dir) => {
                self.close().await;
                copy_dir(&dir, backup);
                self.restart().await;
            }
            Storage::Postgres(_) => {
                let hub = self.hub.clone();
                let target = backup.to_path_buf();
                tokio::task::spawn_blocking(move || hub.backup_to(target))
                    .await
                    .unwrap()
                    .unwrap();
            }
        }
    }

    /// Replaces the data directory with `backup` and serves it; on PostgreSQL, restores the
    /// dump into the emptied database with `pg_restore`, as the README says.
    pub async fn restore(&mut self, backup: &Path) {
        self.close().await;
        match &self.storage {
            Storage::Embedded(dir) => {
                std::fs::remove_dir_all(dir).unwrap();
                copy_dir(backup, dir);
            }
            Storage::Postgres(url) => {
                let db = database_name(url);
                on_test_server(&format!("DROP DATABASE {db} WITH (FORCE)"));
                on_test_server(&format!("CREATE DATABASE {db}"));
                let out = std::process::Command::new("pg_restore")
                    .args(["--exit-on-error", "--single-transaction", "--no-owner"])
                    .arg(format!("--dbname={url}"))
                    .arg(backup)
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "pg_restore: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        self.restart().await;
    }

    /// Starts a server with TLS on the test certificate for `localhost` (`tests/fixtures/`).
    pub async fn serve_fixture_tls(&mut self) -> ServerHandle {
        let tls =
            TlsConfig::from_pem_files(&fixture("localhost.cert.pem"), &fixture("localhost.key.pem")).unwrap();
        self.serve_tls(tls).await
    }

    /// Starts a server on an already opened data directory with TLS.
    pub async fn serve_tls(&mut self, tls: TlsConfig) -> ServerHandle {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        self.hub.serve(listener, Some(tls)).unwrap()
    }

    pub fn org(&self, which: char) -> &Organisation {
        if which == 'a' {
            &self.org_a
        } else {
            &self.org_b
        }
    }

    pub fn code(&self, org: &Organisation, role: Role) -> String {
        self.hub
            .create_enrollment_code(&org.id, role, std::time::Duration::from_secs(3600))
            .unwrap()
            .code
    }

    /// POSTs a CBOR body.
    pub async fn post(&self, path: &str, token: Option<&str>, body: Vec<u8>) -> reqwest::Response {
        let mut req = self
            .http
            .post(format!("{}{path}", self.url))
            .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
            .body(body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send().await.unwrap()
    }

    /// Enrolls with a code; the raw answer.
    pub async fn try_enroll(
        &self,
        code: &str,
        device: DeviceId,
    ) -> Result<EnrollResponse, (StatusCode, ErrorBody)> {
        let req = EnrollRequest {
            protocol: PROTOCOL_VERSION,
            code: code.to_string(),
            device_id: device,
            device_name: "Test phone".into(),
        };
        let resp = self.post("/v1/enroll", None, encode(&req)).await;
        answer(resp).await
    }

    /// A new device enrolled into `org` with `role`.
    pub async fn device(&self, org: &Organisation, role: Role) -> TestDevice {
        let id = DeviceId::random();
        let code = self.code(org, role);
        let creds = self.try_enroll(&code, id).await.unwrap();
        assert_eq!(creds.device_id, id);
        assert_eq!(creds.role, role);
        TestDevice {
            id,
            token: creds.token,
            role,
            docs: BTreeMap::new(),
            acked: HashMap::new(),
            whole: HashSet::new(),
            seals: HashMap::new(),
        }
    }

    pub async fn health(&self) -> String {
        let resp = self
            .http
            .get(format!("{}/v1/health", self.url))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        resp.text().await.unwrap()
    }

    /// Everything stored about documents and files.
    pub fn snapshot(&self) -> Snapshot {
        let docs = self
            .hub
            .documents()
            .unwrap()
            .into_iter()
            .map(|info| {
                let bytes = self.hub.document_bytes(info.id).unwrap().unwrap();
                (info, bytes)
            })
            .collect();
        Snapshot {
            docs,
            blobs: self.hub.brochure_files().unwrap(),
        }
    }

    /// Asserts the hub still serves: health is ok and a good sync of a fresh device works.
    pub async fn assert_still_serving(&self) {
        assert_eq!(self.health().await, "ok");
        let mut d = self.device(&self.org_a, Role::Fieldworker).await;
        d.sync(self).await;
    }
}

/// A file of `tests/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// An HTTP client; reqwest is built without a TLS provider of its own, so ring is installed.
pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

fn rand_suffix() -> String {
    DeviceId::random().to_string()
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Decodes a CBOR answer, or the error body with the status.
pub async fn answer<T: serde::de::DeserializeOwned>(
    resp: reqwest::Response,
) -> Result<T, (StatusCode, ErrorBody)> {
    let status = resp.status();
    let bytes = resp.bytes().await.unwrap();
    if status.is_success() {
        Ok(decode(&bytes).unwrap())
    } else {
        let body: ErrorBody =
            decode(&bytes).unwrap_or_else(|e| panic!("status {status}, body is not an ErrorBody: {e}"));
        assert!(!body.reason.is_empty(), "every refusal says why");
        Err((status, body))
    }
}

/// The hub's refusal of `doc` in an answer, if it refused it.
pub fn refusal_of(resp: &SyncResponse, doc: DocId) -> Option<&DocRefusal> {
    resp.refused.iter().find(|r| r.id == doc)
}

/// A device: documents built with core's `Document`, and the heads the hub acknowledged.
pub struct TestDevice {
    pub id: DeviceId,
    pub token: String,
    pub role: Role,
    pub docs: BTreeMap<DocId, Document>,
    pub acked: HashMap<DocId, Vec<ChangeHash>>,
    /// Documents the hub asked to be sent whole.
    pub whole: HashSet<DocId>,
    /// The hub's last seal for each document: the heads it answered and its attestation.
    pub seals: HashMap<DocId, (Vec<outreach_core::sync::protocol::Hash>, Vec<u8>)>,
}

pub fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

pub fn visit(day: &str, note: &str, themes: &[Theme]) -> VisitDetails {
    let mut v = VisitDetails::new(
        date(day),
        PartOfDay::Morning,
        1000,
        "Brussel",
        Setting::Street,
        Activity::IndividualContact,
        2,
    );
    v.note = note.into();
    v.themes = themes.iter().copied().collect();
    v
}

impl TestDevice {
    pub fn doc(&mut self, id: DocId) -> &mut Document {
        self.docs.get_mut(&id).unwrap()
    }

    /// This device's visit log of the month of `day`, created if needed.
    pub fn visit_log(&mut self, day: &str) -> DocId {
        let meta = DocMeta::VisitLog {
            owner: self.id,
            month: Month::of(date(day)),
        };
        let id = meta.id();
        let device = self.id;
        self.docs
            .entry(id)
            .or_insert_with(|| Document::create(meta, device).unwrap());
        id
    }

    /// Logs a visit (no validation: the hub is what is being tested).
    pub fn log_visit(&mut self, day: &str, note: &str, themes: &[Theme]) -> DocId {
        let id = self.visit_log(day);
        let doc = self.doc(id);
        doc.put_visit(VisitId::random(), &visit(day, note, themes))
            .unwrap();
        doc.commit(Utc::now());
        id
    }

    /// Logs a visit with these details in this device's log of its month.
    pub fn log_details(&mut self, details: &VisitDetails) -> DocId {
        let id = self.visit_log(&details.date.to_string());
        let doc = self.doc(id);
        doc.put_visit(VisitId::random(), details).unwrap();
        doc.commit(Utc::now());
        id
    }

    /// The directory section of `region`, created if needed.
    pub fn section(&mut self, region: Region) -> DocId {
        let meta = DocMeta::DirectorySection { region };
        let id = meta.id();
        let device = self.id;
        self.docs
            .entry(id)
            .or_insert_with(|| Document::create(meta, device).unwrap());
        id
    }

    /// Adds a partner to a section.
    pub fn add_partner(&mut self, region: Region, name: &str) -> (DocId, PartnerId) {
        let id = self.section(region);
        let p = Partner::new(region, name, OrgKind::Ngo);
        let doc = self.doc(id);
        doc.insert_partner(&p).unwrap();
        doc.commit(Utc::now());
        (id, p.id)
    }

    /// What this device sends for one document: its heads and its changes since the heads the
    /// hub acknowledged (everything when the hub asked for the whole document).
    pub fn push(&mut self, id: DocId) -> DocPush {
        let acked = self.acked.get(&id).cloned().unwrap_or_default();
        let whole = self.whole.contains(&id);
        let doc = self.docs.get_mut(&id).unwrap();
        let heads = doc.heads();
        let changes = if whole {
            doc.save_for_push()
        } else if heads == acked {
            Vec::new()
        } else {
            doc.changes_since(&acked).unwrap()
        };
        // While the hub may lack the document, the push says what it is.
        let meta = (acked.is_empty() || whole).then(|| *doc.meta());
        DocPush {
            meta,
            ..DocPush::new(id, to_wire(&heads), changes)
        }
    }

    pub fn request(&mut self) -> SyncRequest {
        let ids: Vec<DocId> = self.docs.keys().copied().collect();
        SyncRequest {
            protocol: PROTOCOL_VERSION,
            known: None,
            roster: None,
            report: None,
            format: AUTOMERGE_FORMAT.into(),
            docs: ids.into_iter().map(|id| self.push(id)).collect(),
        }
    }

    /// Sends a request as this device; the raw answer.
    pub async fn send(
        &self,
        hub: &TestHub,
        req: &SyncRequest,
    ) -> Result<SyncResponse, (StatusCode, ErrorBody)> {
        self.send_bytes(hub, encode(req)).await
    }

    pub async fn send_bytes(
        &self,
        hub: &TestHub,
        body: Vec<u8>,
    ) -> Result<SyncResponse, (StatusCode, ErrorBody)> {
        answer(hub.post("/v1/sync", Some(&self.token), body).await).await
    }

    /// Sends `body` and expects document `doc` refused, alone in the answer (or with the whole
    /// request, for what is refused before documents are read): the HTTP status that goes with
    /// the code, the code and the reason.
    pub async fn refused_doc(
        &self,
        hub: &TestHub,
        body: Vec<u8>,
        doc: DocId,
    ) -> (StatusCode, ErrorCode, String) {
        match self.send_bytes(hub, body).await {
            Ok(resp) => {
                let r = refusal_of(&resp, doc).unwrap_or_else(|| panic!("{doc} was not refused: {resp:?}"));
                assert!(!r.reason.is_empty(), "every refusal says why");
                assert!(
                    resp.docs.iter().all(|d| d.id != doc),
                    "a refused document is not acknowledged"
                );
                (outreach_hub::status_of(r.code), r.code, r.reason.clone())
            }
            Err((status, body)) => {
                assert_eq!(body.doc, Some(doc), "{body:?}");
                (status, body.code, body.reason)
            }
        }
    }

    /// Applies an answer as a device does.
    pub fn apply(&mut self, resp: &SyncResponse) {
        for pull in &resp.docs {
            if !pull.changes.is_empty() {
                match self.docs.get_mut(&pull.id) {
                    Some(doc) => {
                        doc.merge_bytes(&pull.changes).unwrap();
                    }
                    None => {
                        let doc = Document::load(pull.id, &pull.changes, self.id).unwrap();
                        self.docs.insert(pull.id, doc);
                    }
                }
            }
            self.acked.insert(pull.id, from_wire(&pull.heads));
            self.whole.remove(&pull.id);
            if !pull.attestation.is_empty() {
                self.seals
                    .insert(pull.id, (pull.heads.clone(), pull.attestation.clone()));
            }
        }
        for id in &resp.drop {
            self.docs.remove(id);
            self.acked.remove(id);
        }
        self.whole.extend(resp.resend.iter().copied());
    }

    /// One sync round, which must succeed.
    pub async fn sync(&mut self, hub: &TestHub) -> SyncResponse {
        let req = self.request();
        let resp = self
            .send(hub, &req)
            .await
            .unwrap_or_else(|(s, e)| panic!("sync refused: {s} {e:?}"));
        self.apply(&resp);
        resp
    }

    /// One sync round through any server (another hub instance, say), which must succeed.
    pub async fn sync_via(&mut self, http: &reqwest::Client, url: &str) -> SyncResponse {
        self.try_sync_via(http, url)
            .await
            .unwrap_or_else(|e| panic!("sync refused: {e}"))
    }

    /// One sync round through any server, which may fail (a server killed, say): the device
    /// then keeps what it holds, as a phone does, and nothing of the answer is applied.
    pub async fn try_sync_via(&mut self, http: &reqwest::Client, url: &str) -> Result<SyncResponse, String> {
        let req = self.request();
        let resp = http
            .post(format!("{url}/v1/sync"))
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
            .body(encode(&req))
            .send()
            .await
            .map_err(|e| format!("sending: {e}"))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| format!("receiving: {e}"))?;
        if !status.is_success() {
            let body: Result<ErrorBody, _> = decode(&bytes);
            return Err(format!("status {status}: {body:?}"));
        }
        let resp: SyncResponse = decode(&bytes).map_err(|e| format!("decoding: {e}"))?;
        self.apply(&resp);
        Ok(resp)
    }

    /// The heads the hub last acknowledged for each document.
    pub fn acknowledged(&self) -> HashMap<DocId, Vec<ChangeHash>> {
        self.acked.clone()
    }

    /// Syncs until the hub has nothing more and asks for nothing; returns the rounds.
    pub async fn sync_all(&mut self, hub: &TestHub) -> Vec<SyncResponse> {
        let mut rounds = Vec::new();
        for _ in 0..50 {
            let resp = self.sync(hub).await;
            let done = !resp.more && resp.resend.is_empty();
            rounds.push(resp);
            if done {
                return rounds;
            }
        }
        panic!("sync did not settle in 50 rounds");
    }

    /// Whether this device holds the same history of `id` as the hub.
    pub fn in_step_with(&mut self, hub: &TestHub, id: DocId) -> bool {
        let info = hub.hub.documents().unwrap().into_iter().find(|d| d.id == id);
        let Some(info) = info else { return false };
        let mut heads = to_wire(&self.doc(id).heads());
        heads.sort();
        heads == info.heads
    }
}
