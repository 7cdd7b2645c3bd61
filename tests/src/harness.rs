//! A real hub on a loopback port and real devices (encrypted stores) enrolled through its HTTP
//! API, for multi-device and fault tests and the sync benchmark.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Local;
use outreach_core::model::{DocId, Visit, VisitId};
use outreach_core::store::PartnerQuery;
use outreach_core::sync::protocol::{EnrollLink, Role};
use outreach_core::{CancelToken, Store, StoreKey, StoreOptions, SyncOptions, SyncReport};
use outreach_hub::{Hub, HubConfig, ServerHandle};

/// How long an enrollment code is valid in tests.
const CODE_VALIDITY: Duration = Duration::from_secs(3600);

/// A hub served on a loopback port, that can be stopped, restarted and restored.
pub struct TestHub {
    /// The hub (admin functions).
    pub hub: Hub,
    server: Option<ServerHandle>,
    dir: tempfile::TempDir,
    config: HubConfig,
}

impl TestHub {
    /// A new, empty hub with default limits.
    pub async fn start() -> TestHub {
        TestHub::start_with(HubConfig::default()).await
    }

    /// A new, empty hub with `config`.
    pub async fn start_with(config: HubConfig) -> TestHub {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let hub = Hub::open(dir.path().join("hub"), config.clone()).expect("the hub opens");
        let mut t = TestHub {
            hub,
            server: None,
            dir,
            config,
        };
        t.serve().await;
        t
    }

    async fn serve(&mut self) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        self.server = Some(self.hub.serve(listener, None).expect("the hub serves"));
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("hub")
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server
            .as_ref()
            .map(ServerHandle::local_addr)
            .expect("the hub is serving")
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// Stops serving, gracefully.
    pub async fn stop(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await.expect("the hub stops");
        }
    }

    /// Opens the data directory again (after [`TestHub::stop`]) and serves on a new port.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.hub = Hub::open(self.data_dir(), self.config.clone()).expect("the hub reopens");
        self.serve().await;
    }

    /// Copies the (stopped) hub's data directory to `to`.
    pub fn copy_data(&self, to: &Path) {
        copy_dir(&self.data_dir(), to);
    }

    /// Stops the hub, replaces its data directory with the copy at `from` (an older backup),
    /// and serves again.
    pub async fn restore(&mut self, from: &Path) {
        self.stop().await;
        std::fs::remove_dir_all(self.data_dir()).expect("the data directory is removed");
        copy_dir(from, &self.data_dir());
        self.hub = Hub::open(self.data_dir(), self.config.clone()).expect("the restored hub opens");
        self.serve().await;
    }

    /// Creates an organisation; returns its id.
    pub fn org(&self, name: &str) -> String {
        self.hub.create_organisation(name).expect("an organisation").id
    }

    /// A one-time enrollment code.
    pub fn code(&self, org: &str, role: Role) -> String {
        self.hub
            .create_enrollment_code(org, role, CODE_VALIDITY)
            .expect("an enrollment code")
            .code
    }

    /// Ids of every visit in every visit log the hub holds, with repeats if a visit were held
    /// twice.
    pub fn visit_ids(&self) -> Vec<VisitId> {
        let mut out = Vec::new();
        for info in self.hub.documents().expect("the hub lists its documents") {
            if let Some(bytes) = self.hub.document_bytes(info.id).expect("a document's bytes") {
                let doc = outreach_core::doc::Document::load(
                    info.id,
                    &bytes,
                    outreach_core::model::DeviceId::random(),
                )
                .expect("a stored document loads");
                if let Ok(visits) = doc.visits() {
                    out.extend(visits.into_iter().map(|v: Visit| v.id));
                }
            }
        }
        out
    }

    /// Heads of a document on the hub.
    pub fn heads(&self, id: DocId) -> Option<Vec<automerge::ChangeHash>> {
        let bytes = self.hub.document_bytes(id).ok()??;
        let mut doc =
            outreach_core::doc::Document::load(id, &bytes, outreach_core::model::DeviceId::random()).ok()?;
        let mut heads = doc.heads();
        heads.sort();
        Some(heads)
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("a folder");
    for entry in std::fs::read_dir(from).expect("a readable folder") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("a copy");
        }
    }
}

/// Options for tests: short timeouts and back-off, no brochure files unless asked.
pub fn test_options() -> SyncOptions {
    SyncOptions {
        request_timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(2),
        retry_base_delay: Duration::from_millis(5),
        retry_max_delay: Duration::from_millis(50),
        fetch_files: false,
        ..SyncOptions::default()
    }
}

/// A device with its own encrypted store.
pub struct Device {
    /// The store.
    pub store: Store,
    /// A name for messages.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Sync options.
    pub options: SyncOptions,
    _dir: tempfile::TempDir,
}

impl Device {
    /// A new device enrolled at `hub_url` with `code`.
    pub async fn enroll(hub_url: &str, code: &str, name: &str, role: Role) -> Device {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let store = Store::open(
            dir.path().join("outreach.db"),
            StoreKey::random().as_bytes(),
            StoreOptions::default(),
        )
        .expect("the store opens");
        let options = test_options();
        let link = EnrollLink {
            hub: hub_url.to_string(),
            code: code.to_string(),
        };
        store
            .enroll(&link.to_string(), None, name, &options)
            .await
            .unwrap_or_else(|e| panic!("{name} enrolls: {e}"));
        Device {
            store,
            name: name.to_string(),
            role,
            options,
            _dir: dir,
        }
    }

    /// One sync.
    pub async fn sync(&self) -> outreach_core::Result<SyncReport> {
        self.store.sync(&self.options, None, &CancelToken::new()).await
    }

    /// Syncs until a sync succeeds (through a faulty network), at most `attempts` times.
    pub async fn sync_until_ok(&self, attempts: usize) -> SyncReport {
        let mut last = None;
        for _ in 0..attempts {
            match self.sync().await {
                Ok(report) => return report,
                Err(e) => last = Some(e),
            }
        }
        panic!("{} could not sync: {last:?}", self.name)
    }

    /// This device's visits, by id.
    pub fn own_visit_ids(&self) -> Vec<VisitId> {
        let mut ids: Vec<VisitId> = self
            .store
            .visits(&Default::default())
            .expect("the device lists its visits")
            .into_iter()
            .map(|v| v.id)
            .collect();
        ids.sort();
        ids
    }

    /// Sorted heads of a document this device holds.
    pub fn heads(&self, id: DocId) -> Option<Vec<automerge::ChangeHash>> {
        let mut heads = self.store.document_heads(id).ok()?;
        heads.sort();
        Some(heads)
    }

    /// Results of a few searches, for comparing replicas.
    pub fn query_results(&self) -> Vec<Vec<outreach_core::store::PartnerSummary>> {
        search_set()
            .iter()
            .map(|q| self.store.search_partners(q).expect("a search"))
            .collect()
    }
}

/// Searches whose results every replica must agree on.
pub fn search_set() -> Vec<PartnerQuery> {
    use outreach_core::model::{Lang, Theme};
    vec![
        PartnerQuery {
            include_closed: true,
            limit: Some(10_000),
            ..Default::default()
        },
        PartnerQuery {
            text: Some("centre".into()),
            include_closed: true,
            ..Default::default()
        },
        PartnerQuery {
            themes: vec![Theme::Legal, Theme::Medical],
            languages: vec![Lang::code("ar").unwrap_or_else(|| unreachable!())],
            ..Default::default()
        },
        PartnerQuery {
            open_at: Local::now().date_naive().and_hms_opt(10, 30, 0),
            near: Some((50.85, 4.35)),
            ..Default::default()
        },
    ]
}
