//! A hub served by the `outreach-hub` binary in a process of its own, for what only its own
//! process shows: its peak memory, that it is still the same process.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use outreach_core::model::DeviceId;
use outreach_core::sync::protocol::{encode, EnrollRequest, Role, PROTOCOL_VERSION};
use outreach_hub::{Hub, HubConfig};

use super::answer;

const BIN: &str = env!("CARGO_BIN_EXE_outreach-hub");

/// A hub served by the `outreach-hub` binary, for figures about its own process.
pub struct HubProcess {
    child: Child,
    /// Its base URL.
    pub url: String,
    dir: tempfile::TempDir,
}

impl HubProcess {
    /// Serves a new hub with one organisation.
    pub fn start() -> HubProcess {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("hub");
        Hub::open(&data, HubConfig::default())
            .unwrap()
            .initialise("Fedasil")
            .unwrap();
        let args = [
            "serve",
            "--data",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ]
        .map(String::from);
        let (child, url) = spawn_serving(&args);
        HubProcess { child, url, dir }
    }

    /// Peak resident memory of the hub's process, in bytes (`VmHWM`).
    pub fn peak_rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
        let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kb * 1024
    }

    /// A token for a new field worker's device.
    pub async fn enroll(&self, http: &reqwest::Client) -> (DeviceId, String) {
        let device = DeviceId::random();
        (device, self.enroll_as(http, Role::Fieldworker, device).await)
    }

    /// Enrolls `device` in the hub's organisation with `role`; its token.
    pub async fn enroll_as(&self, http: &reqwest::Client, role: Role, device: DeviceId) -> String {
        let hub = Hub::open_existing(self.dir.path().join("hub"), HubConfig::default()).unwrap();
        let org = hub.organisations().unwrap().remove(0);
        let code = hub
            .create_enrollment_code(&org.id, role, std::time::Duration::from_secs(600))
            .unwrap()
            .code;
        let req = EnrollRequest {
            protocol: PROTOCOL_VERSION,
            code,
            device_id: device,
            device_name: "test".into(),
        };
        let resp = http
            .post(format!("{}/v1/enroll", self.url))
            .body(encode(&req))
            .send()
            .await
            .unwrap();
        let creds: outreach_core::sync::protocol::EnrollResponse = answer(resp).await.unwrap();
        creds.token
    }
}

/// A hub process serving a PostgreSQL database that other processes may share.
pub struct DatabaseHubProcess {
    child: Child,
    /// Its base URL.
    pub url: String,
    args: Vec<String>,
}

impl DatabaseHubProcess {
    /// Serves the hub in the PostgreSQL database `url` with the seal key in `seal_key`.
    pub fn start(url: &str, seal_key: &std::path::Path) -> DatabaseHubProcess {
        let args = vec![
            "serve".into(),
            "--database".into(),
            url.into(),
            "--seal-key-file".into(),
            seal_key.display().to_string(),
            "--listen".into(),
            "127.0.0.1:0".into(),
        ];
        let (child, url) = spawn_serving(&args);
        DatabaseHubProcess { child, url, args }
    }

    /// Kills the process with SIGKILL: no request in flight is finished, nothing is flushed.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Starts the same hub again, on a new port.
    pub fn restart(&mut self) {
        let (child, url) = spawn_serving(&self.args);
        self.child = child;
        self.url = url;
    }
}

impl Drop for DatabaseHubProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `outreach-hub` with `args` and reads the address it listens on.
fn spawn_serving(args: &[String]) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("the hub did not start: {line:?}"))
        .to_string();
    (child, format!("http://{addr}"))
}

impl HubProcess {
    /// The process's id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The data directory.
    pub fn data_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("hub")
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
