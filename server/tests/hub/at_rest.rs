//! The hub at rest: files only their owner may read, the seal key outside the database, an
//! encrypted `hub.db` and its keys checked without touching it, online backups.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use automerge::ChangeHash;
use outreach_core::doc::Document;
use outreach_core::model::{DocId, Region};
use outreach_core::sync::protocol::{from_wire, ErrorCode, Role};
use outreach_hub::{DbKey, Error, Hub, HubConfig, HubKeys, DATABASE_FILE, SEAL_KEY_FILE};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

use crate::common::{copy_dir, TestHub};

const BIN: &str = env!("CARGO_BIN_EXE_outreach-hub");

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Every file under `dir`, by path, with its bytes.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            out.extend(files(&entry.path()));
        } else {
            out.insert(entry.path(), std::fs::read(entry.path()).unwrap());
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The bytes of `hub.db` and of its -wal, if any.
fn database_bytes(dir: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(dir.join(DATABASE_FILE)).unwrap();
    bytes.extend(std::fs::read(dir.join("hub.db-wal")).unwrap_or_default());
    bytes
}

/// Uploads a brochure file as a coordinator.
async fn upload(hub: &TestHub, token: &str, file: &[u8]) -> String {
    let hash = hex::encode(Sha256::digest(file));
    let resp = hub
        .http
        .put(format!("{}/v1/blobs/{hash}", hub.url))
        .bearer_auth(token)
        .body(file.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    hash
}

#[tokio::test(flavor = "multi_thread")]
async fn files_are_the_owners_only_after_a_sync_and_an_upload() {
    let hub = TestHub::start().await;
    let mut coordinator = hub.device(&hub.org_a, Role::Coordinator).await;
    let mut worker = hub.device(&hub.org_a, Role::Fieldworker).await;
    coordinator.add_partner(Region::Limburg, "CAW Limburg");
    worker.log_visit("2026-11-02", "", &[]);
    coordinator.sync(&hub).await;
    worker.sync_all(&hub).await;
    let hash = upload(&hub, &coordinator.token, b"%PDF-1.7 brochure").await;

    let blobs = hub.dir.join("blobs");
    for dir in [hub.dir.clone(), blobs.clone(), blobs.join(".partial")] {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    }
    // The hub is serving: the write-ahead log and the shared memory file exist.
    for file in [DATABASE_FILE, "hub.db-wal", "hub.db-shm", SEAL_KEY_FILE] {
        assert_eq!(mode(&hub.dir.join(file)), 0o600, "{file}");
    }
    assert_eq!(mode(&blobs.join(&hash)), 0o600);
    assert!(hub.hub.tightened().is_empty(), "nothing to narrow in a new hub");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_older_hubs_wide_files_are_narrowed_on_open() {
    let mut hub = TestHub::start().await;
    let coordinator = hub.device(&hub.org_a, Role::Coordinator).await;
    let hash = upload(&hub, &coordinator.token, b"%PDF-1.7 brochure").await;
    hub.close().await;
    let blob = hub.dir.join("blobs").join(&hash);
    // As the hub before this version left them.
    for dir in [
        hub.dir.clone(),
        hub.dir.join("blobs"),
        hub.dir.join("blobs/.partial"),
    ] {
        chmod(&dir, 0o755);
    }
    chmod(&hub.dir.join(DATABASE_FILE), 0o644);
    chmod(&blob, 0o644);

    hub.restart().await;

    let mut narrowed = hub.hub.tightened().to_vec();
    narrowed.sort();
    let mut expected = vec![
        hub.dir.clone(),
        hub.dir.join(DATABASE_FILE),
        hub.dir.join("blobs"),
        hub.dir.join("blobs/.partial"),
        blob.clone(),
    ];
    expected.sort();
    assert_eq!(narrowed, expected);
    assert_eq!(mode(&hub.dir), 0o700);
    assert_eq!(mode(&hub.dir.join(DATABASE_FILE)), 0o600);
    assert_eq!(mode(&hub.dir.join("hub.db-wal")), 0o600);
    assert_eq!(mode(&blob), 0o600);
    hub.assert_still_serving().await;
}

/// Turns a stopped hub's data directory into one written by the hub before schema version 2:
/// the seal key in the `meta` table, no key file.
fn make_old(dir: &Path) -> String {
    let key_file = dir.join(SEAL_KEY_FILE);
    let key = std::fs::read_to_string(&key_file).unwrap().trim().to_string();
    std::fs::remove_file(&key_file).unwrap();
    let conn = rusqlite::Connection::open(dir.join(DATABASE_FILE)).unwrap();
    conn.execute("INSERT INTO meta (key, value) VALUES ('seal_key', ?1)", [&key])
        .unwrap();
    // What later versions added goes too, so that the file is version 1 through and through.
    conn.execute_batch(
        "ALTER TABLE devices DROP COLUMN retired_at;
         ALTER TABLE enrollment_codes DROP COLUMN label;
         ALTER TABLE enrollment_codes DROP COLUMN cancelled_at;
         DROP TABLE device_states;
         DROP TABLE audit_log;
         DROP TABLE stewards;
         DROP TABLE report_releases;",
    )
    .unwrap();
    conn.pragma_update(None, "user_version", 1).unwrap();
    key
}

fn meta_keys(dir: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(dir.join(DATABASE_FILE)).unwrap();
    let mut stmt = conn.prepare("SELECT key FROM meta ORDER BY key").unwrap();
    let keys = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<Vec<String>, _>>()
        .unwrap();
    keys
}

#[tokio::test(flavor = "multi_thread")]
async fn the_seal_key_is_not_in_the_database() {
    let mut hub = TestHub::start().await;
    let mut worker = hub.device(&hub.org_a, Role::Fieldworker).await;
    worker.log_visit("2026-11-02", "", &[]);
    worker.sync(&hub).await;
    let keys = meta_keys(&hub.dir);
    assert!(keys.contains(&"hub_id".to_string()), "{keys:?}");
    assert!(!keys.iter().any(|k| k.contains("seal")), "{keys:?}");
    hub.close().await;
    let key = std::fs::read_to_string(hub.dir.join(SEAL_KEY_FILE)).unwrap();
    assert_eq!(key.trim().len(), 64);
    assert!(!contains(&database_bytes(&hub.dir), key.trim().as_bytes()));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_old_hubs_seal_key_moves_out_and_its_seals_still_verify() {
    let mut hub = TestHub::start().await;
    let mut first = hub.device(&hub.org_a, Role::Coordinator).await;
    let mut second = hub.device(&hub.org_a, Role::Coordinator).await;
    let (section, _) = first.add_partner(Region::Limburg, "CAW Limburg");
    first.sync(&hub).await;

    // A backup of the hub as an older version kept it: the seal key in `meta`.
    let backup = hub.dir.with_extension("old-backup");
    hub.back_up(&backup).await;
    let old_key = make_old(&backup);
    assert!(contains(&database_bytes(&backup), old_key.as_bytes()), "control");

    // After the backup, another device's change reaches the first one with the hub's seal.
    second.sync(&hub).await;
    second.add_partner(Region::Limburg, "Partner of the second device");
    second.sync(&hub).await;
    first.sync(&hub).await;
    assert_eq!(first.doc(section).partners().unwrap().len(), 2);
    let (sealed_heads, seal) = first.seals[&section].clone();

    hub.restore(&backup).await;

    // The key left the database, tables and bytes, for the key file.
    assert!(!meta_keys(&hub.dir).iter().any(|k| k.contains("seal")));
    assert!(!contains(&database_bytes(&hub.dir), old_key.as_bytes()));
    let key_file = hub.dir.join(SEAL_KEY_FILE);
    assert_eq!(std::fs::read_to_string(&key_file).unwrap().trim(), old_key);
    assert_eq!(mode(&key_file), 0o600);

    // The restored hub lacks the second device's change and asks for the document whole.
    let resp = first.sync(&hub).await;
    assert_eq!(resp.resend, vec![section]);
    // Without the seal the first device may not bring back the second one's change...
    let unsealed = first.request();
    let before = hub.snapshot();
    let (status, code, _) = first
        .refused_doc(&hub, outreach_core::sync::protocol::encode(&unsealed), section)
        .await;
    assert_eq!((status, code), (StatusCode::FORBIDDEN, ErrorCode::Forbidden));
    assert_eq!(hub.snapshot(), before);
    // ...with the seal made by the old hub, under the key that was in its database, it may.
    let mut sealed = first.request();
    for push in &mut sealed.docs {
        if push.id == section {
            push.attested_heads = sealed_heads.clone();
            push.attestation = seal.clone();
        }
    }
    let resp = first.send(&hub, &sealed).await.unwrap();
    first.apply(&resp);
    assert!(first.in_step_with(&hub, section));
    let bytes = hub.hub.document_bytes(section).unwrap().unwrap();
    let stored = Document::load(section, &bytes, first.id).unwrap();
    assert_eq!(stored.partners().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn seal_key_files_open_to_others_or_not_a_key_are_refused() {
    let mut hub = TestHub::start().await;
    hub.close().await;
    let key_file = hub.dir.join(SEAL_KEY_FILE);
    chmod(&key_file, 0o644);
    let err = Hub::open(&hub.dir, HubConfig::default()).unwrap_err();
    assert!(
        matches!(err, Error::KeyFilePermissions { mode: 0o644, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("chmod 600"), "{err}");
    chmod(&key_file, 0o600);
    std::fs::write(&key_file, "not a key\n").unwrap();
    let err = Hub::open(&hub.dir, HubConfig::default()).unwrap_err();
    assert!(matches!(err, Error::KeyFile { .. }), "{err}");
    assert!(err.to_string().contains("64 hexadecimal characters"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_missing_and_needless_database_keys_are_refused_leaving_the_files_as_they_were() {
    let mut encrypted = TestHub::start_encrypted().await;
    let mut worker = encrypted.device(&encrypted.org_a, Role::Fieldworker).await;
    worker.log_visit("2026-11-02", "", &[]);
    worker.sync(&encrypted).await;
    encrypted.close().await;
    let before = files(&encrypted.dir);

    let wrong = HubKeys {
        db_key: Some(DbKey::random()),
        ..HubKeys::default()
    };
    let err = Hub::open_with(&encrypted.dir, HubConfig::default(), wrong.clone()).unwrap_err();
    assert!(matches!(err, Error::WrongDatabaseKey(_)), "{err}");
    let err = Hub::open(&encrypted.dir, HubConfig::default()).unwrap_err();
    assert!(matches!(err, Error::DatabaseKeyMissing(_)), "{err}");
    assert!(err.to_string().contains("--db-key-file"), "{err}");
    assert_eq!(files(&encrypted.dir), before, "byte-identical, nothing added");

    let mut plain = TestHub::start().await;
    plain.close().await;
    let before = files(&plain.dir);
    let err = Hub::open_with(&plain.dir, HubConfig::default(), wrong).unwrap_err();
    assert!(matches!(err, Error::DatabaseNotEncrypted(_)), "{err}");
    assert_eq!(files(&plain.dir), before);

    // The right key still opens it.
    encrypted.restart().await;
    let resp = worker.sync(&encrypted).await;
    assert!(resp.docs.iter().all(|d| d.changes.is_empty()));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_encrypted_database_holds_no_visit_or_partner_text_in_clear() {
    async fn fill(hub: &mut TestHub) -> Vec<u8> {
        let mut coordinator = hub.device(&hub.org_a, Role::Coordinator).await;
        let mut worker = hub.device(&hub.org_a, Role::Fieldworker).await;
        coordinator.add_partner(Region::Limburg, "Kringwinkel Hasselt-Zuid");
        worker.log_visit("2026-11-02", "met at the Grote Markt fountain", &[]);
        coordinator.sync(hub).await;
        worker.sync(hub).await;
        hub.close().await;
        database_bytes(&hub.dir)
    }
    let plain = fill(&mut TestHub::start().await).await;
    let encrypted = fill(&mut TestHub::start_encrypted().await).await;
    for text in ["Kringwinkel Hasselt-Zuid", "Grote Markt fountain", "Fedasil"] {
        assert!(
            contains(&plain, text.as_bytes()),
            "control: {text} in the plaintext hub"
        );
        assert!(
            !contains(&encrypted, text.as_bytes()),
            "{text} in the encrypted hub"
        );
    }
    assert!(plain.starts_with(b"SQLite format 3\0"));
    assert!(!encrypted.starts_with(b"SQLite format 3\0"));
}

/// What the devices' syncs acknowledged, in order: each document with the heads answered.
type Acks = Arc<Mutex<Vec<(DocId, Vec<ChangeHash>)>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_while_devices_sync_holds_everything_acknowledged_before_it() {
    let hub = Arc::new(TestHub::start_encrypted().await);
    let acked: Acks = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..4 {
        let role = if i == 0 {
            Role::Coordinator
        } else {
            Role::Fieldworker
        };
        let mut device = hub.device(&hub.org_a, role).await;
        let (hub, acked, stop) = (hub.clone(), acked.clone(), stop.clone());
        tasks.spawn(async move {
            let mut round = 0u32;
            while !stop.load(Ordering::Relaxed) {
                round += 1;
                if i == 0 {
                    device.add_partner(Region::Antwerp, &format!("Partner {round}"));
                } else {
                    device.log_visit(&format!("2026-{:02}-01", 1 + round % 12), "", &[]);
                }
                let resp = device.sync(&hub).await;
                let mut acked = acked.lock().unwrap();
                acked.extend(resp.docs.iter().map(|d| (d.id, from_wire(&d.heads))));
            }
        });
    }
    while acked.lock().unwrap().len() < 40 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let before: Vec<_> = acked.lock().unwrap().clone();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("hub-backup.db");
    let live = hub.hub.clone();
    let target = file.clone();
    let size = tokio::task::spawn_blocking(move || live.backup_to(&target))
        .await
        .unwrap()
        .unwrap();
    let during = acked.lock().unwrap().len();
    while acked.lock().unwrap().len() < during + 20 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::Relaxed);
    tasks.join_all().await;

    assert_eq!(std::fs::metadata(&file).unwrap().len(), size);
    assert_eq!(mode(&file), 0o600);
    let bytes = std::fs::read(&file).unwrap();
    assert!(!bytes.starts_with(b"SQLite format 3\0"), "encrypted like the hub");
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        1,
        "no temporary file left"
    );

    // Restored: the backup as hub.db beside the seal key, opened with the database key.
    let restored = tmp.path().join("restored");
    std::fs::create_dir(&restored).unwrap();
    std::fs::copy(&file, restored.join(DATABASE_FILE)).unwrap();
    std::fs::copy(hub.dir.join(SEAL_KEY_FILE), restored.join(SEAL_KEY_FILE)).unwrap();
    let restored = Hub::open_with(&restored, HubConfig::default(), hub.keys.clone()).unwrap();
    assert!(!before.is_empty());
    for (id, heads) in &before {
        let bytes = restored
            .document_bytes(*id)
            .unwrap()
            .unwrap_or_else(|| panic!("{id} acknowledged before the backup is in it"));
        let mut doc = Document::load(*id, &bytes, outreach_core::model::DeviceId::random()).unwrap();
        let am = doc.automerge_mut();
        for head in heads {
            assert!(
                am.get_change_by_hash(head).is_some(),
                "{id}: an acknowledged head is in the backup"
            );
        }
    }
}

fn run(args: &[&str], envs: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for (name, value) in envs {
        cmd.env(name, value);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn the_backup_and_encrypt_commands_work_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("hub");
    let key = tmp.path().join("db.key");
    std::fs::write(&key, format!("{}\n", DbKey::random().to_hex())).unwrap();
    chmod(&key, 0o600);
    let (d, k) = (data.to_str().unwrap(), key.to_str().unwrap());

    let (ok, out, err) = run(
        &["init", "--data", d, "--org", "Fedasil", "--db-key-file", k],
        &[],
    );
    assert!(ok, "{err}");
    assert!(out.contains("encrypted"), "{out}");
    let key_env = [("OUTREACH_HUB_DB_KEY_FILE", k)];
    assert!(run(&["orgs", "add", "--data", d, "CAW Limburg"], &key_env).0);

    let mut serving = Command::new(BIN)
        .args([
            "serve",
            "--data",
            d,
            "--db-key-file",
            k,
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(serving.stdout.take().unwrap()),
        &mut first,
    )
    .unwrap();
    assert!(first.starts_with("listening on"), "{first}");

    let file = tmp.path().join("backups").join("hub.db");
    std::fs::create_dir(file.parent().unwrap()).unwrap();
    let f = file.to_str().unwrap();
    let (ok, out, err) = run(&["backup", "--data", d, "--to", f, "--db-key-file", k], &[]);
    assert!(ok, "{err}");
    assert!(out.contains("rsync") && out.contains(SEAL_KEY_FILE), "{out}");
    assert_eq!(mode(&file), 0o600);
    assert!(!std::fs::read(&file).unwrap().starts_with(b"SQLite format 3\0"));
    // Over the live database: refused.
    let live = data.join(DATABASE_FILE);
    let (ok, _, err) = run(&["backup", "--data", d, "--to", live.to_str().unwrap()], &key_env);
    assert!(!ok && err.contains("live database"), "{err}");
    Command::new("kill")
        .args(["-TERM", &serving.id().to_string()])
        .status()
        .unwrap();
    assert!(serving.wait().unwrap().success());

    // Without the key: one clear line, and the database untouched.
    let before = files(&data);
    let (ok, _, err) = run(&["orgs", "list", "--data", d], &[]);
    assert!(!ok, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("is encrypted") && err.contains("--db-key-file"),
        "{err}"
    );
    assert_eq!(files(&data), before);
    // A key file others may read: refused.
    chmod(&key, 0o644);
    let (ok, _, err) = run(&["orgs", "list", "--data", d, "--db-key-file", k], &[]);
    assert!(!ok && err.contains("chmod 600"), "{err}");
    chmod(&key, 0o600);

    // Restore: the backup as hub.db, beside the seal key.
    let restored = tmp.path().join("restored");
    copy_dir(file.parent().unwrap(), &restored);
    std::fs::copy(data.join(SEAL_KEY_FILE), restored.join(SEAL_KEY_FILE)).unwrap();
    let (ok, out, err) = run(
        &[
            "orgs",
            "list",
            "--data",
            restored.to_str().unwrap(),
            "--db-key-file",
            k,
        ],
        &[],
    );
    assert!(ok, "{err}");
    assert!(out.contains("Fedasil") && out.contains("CAW Limburg"), "{out}");

    // The seal key may come from the environment: it must be the hub's own.
    let seal_key = std::fs::read_to_string(restored.join(SEAL_KEY_FILE)).unwrap();
    let r = restored.to_str().unwrap();
    let with_seal_key = [key_env[0], ("OUTREACH_HUB_SEAL_KEY", seal_key.trim())];
    assert!(run(&["orgs", "list", "--data", r], &with_seal_key).0);
    let bad_seal_key = [key_env[0], ("OUTREACH_HUB_SEAL_KEY", "0123")];
    let (ok, _, err) = run(&["orgs", "list", "--data", r], &bad_seal_key);
    assert!(!ok && err.contains("64 hexadecimal characters"), "{err}");

    // A plaintext hub, encrypted by the command.
    let plain = tmp.path().join("plain");
    let p = plain.to_str().unwrap();
    assert!(run(&["init", "--data", p, "--org", "Caritas International"], &[]).0);
    let (ok, out, err) = run(&["encrypt", "--data", p, "--db-key-file", k], &[]);
    assert!(ok, "{err}");
    assert!(out.contains("--db-key-file"), "{out}");
    assert!(!std::fs::read(plain.join(DATABASE_FILE))
        .unwrap()
        .starts_with(b"SQLite format 3\0"));
    let (ok, out, err) = run(&["orgs", "list", "--data", p], &key_env);
    assert!(ok && out.contains("Caritas International"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_plaintext_hub_is_encrypted_in_place() {
    let mut hub = TestHub::start().await;
    let mut worker = hub.device(&hub.org_a, Role::Fieldworker).await;
    let log = worker.log_visit("2026-11-02", "met at the Grote Markt fountain", &[]);
    worker.sync(&hub).await;
    let key = DbKey::random();
    let err = Hub::encrypt(&hub.dir, &key).unwrap_err();
    assert!(err.to_string().contains("stop the hub"), "{err}");

    hub.close().await;
    assert!(contains(&database_bytes(&hub.dir), b"Grote Markt"), "control");
    Hub::encrypt(&hub.dir, &key).unwrap();
    assert!(!contains(&database_bytes(&hub.dir), b"Grote Markt"));
    assert!(!hub.dir.join("hub.db-wal").exists() && !hub.dir.join("hub.db-shm").exists());
    assert_eq!(mode(&hub.dir.join(DATABASE_FILE)), 0o600);
    let err = Hub::encrypt(&hub.dir, &key).unwrap_err();
    assert!(err.to_string().contains("encrypted already"), "{err}");

    hub.keys.db_key = Some(key);
    hub.restart().await;
    let resp = worker.sync(&hub).await;
    assert!(
        resp.docs.iter().all(|d| d.changes.is_empty()),
        "the hub holds what it held"
    );
    assert!(worker.in_step_with(&hub, log));
}
