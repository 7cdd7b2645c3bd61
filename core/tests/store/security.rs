//! Keys, encryption at rest and schema migrations.

use std::path::Path;

use outreach_core::model::{Activity, PartOfDay, Setting, VisitDetails};
use outreach_core::store::schema;
use outreach_core::{Error, Store, StoreKey, StoreOptions};

use super::{open_at, open_new};

/// Each database file's name with the SHA-256 of its bytes (or `None` when absent).
fn snapshot(path: &Path) -> Vec<(String, Option<String>)> {
    use sha2::{Digest, Sha256};
    ["", "-wal", "-shm"]
        .iter()
        .map(|s| {
            let p = format!("{}{s}", path.display());
            let digest = std::fs::read(&p).ok().map(|b| hex::encode(Sha256::digest(&b)));
            (p, digest)
        })
        .collect()
}

#[test]
fn wrong_key_no_key_and_plain_sqlite_are_distinct_errors_and_leave_files_untouched() {
    let t = open_new();
    t.store
        .add_partner(&outreach_core::sample::conex_directory()[0])
        .unwrap();
    drop(t.store);
    let before = snapshot(&t.path);
    assert!(before[0].1.is_some());

    let wrong = StoreKey::random();
    let e = Store::open(&t.path, wrong.as_bytes(), StoreOptions::default()).unwrap_err();
    assert!(matches!(e, Error::WrongKey), "{e:?}");
    assert_eq!(snapshot(&t.path), before);

    let e = Store::open(&t.path, &[], StoreOptions::default()).unwrap_err();
    assert!(matches!(e, Error::KeyMissing), "{e:?}");
    let e = Store::open(&t.path, &[7; 16], StoreOptions::default()).unwrap_err();
    assert!(matches!(e, Error::KeyInvalid(16)), "{e:?}");
    assert_eq!(snapshot(&t.path), before);

    // A plain SQLite file, with the right-looking key: refused as unencrypted, unchanged.
    let plain = t.dir.path().join("plain.db");
    {
        let c = rusqlite::Connection::open(&plain).unwrap();
        c.execute_batch("CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('hello');")
            .unwrap();
    }
    let plain_before = snapshot(&plain);
    let e = Store::open(&plain, t.key.as_bytes(), StoreOptions::default()).unwrap_err();
    assert!(matches!(e, Error::NotEncrypted), "{e:?}");
    assert_eq!(snapshot(&plain), plain_before);

    // The right key still opens the untouched store.
    let store = open_at(&t.path, &t.key);
    assert_eq!(store.partner_count().unwrap(), 1);
}

#[test]
fn error_messages_do_not_leak_the_key() {
    let t = open_new();
    drop(t.store);
    let wrong = StoreKey::random();
    let msg = Store::open(&t.path, wrong.as_bytes(), StoreOptions::default())
        .unwrap_err()
        .to_string();
    assert!(!msg.contains(&hex::encode(wrong.as_bytes())));
    assert!(msg.starts_with("wrong key"), "{msg}");
}

#[test]
fn no_seeded_string_appears_in_plain_text_in_the_database_files() {
    let t = open_new();
    let mut seeds = Vec::new();
    for i in 0..1000 {
        // Distinctive strings of 14+ characters that would stand out in a dump.
        let s = format!("Qzxv{i:04}Wlkq");
        seeds.push(s.clone());
        let mut v = VisitDetails::new(
            "2026-11-19".parse().unwrap(),
            PartOfDay::Evening,
            1000,
            "Brussel",
            Setting::Shelter,
            Activity::IndividualContact,
            1,
        );
        v.note = format!("Info session {s}");
        if i % 10 == 0 {
            let mut p = outreach_core::model::Partner::new(
                outreach_core::model::Region::Brussels,
                "x",
                outreach_core::model::OrgKind::Ngo,
            );
            p.name = format!("Partner {s}");
            t.store.add_partner(&p).unwrap();
        } else {
            t.store.log_visit(&v).unwrap();
        }
    }
    // Check while the store is open (WAL and SHM present) and after it is closed.
    let check = |phase: &str| {
        let mut files = 0;
        for suffix in ["", "-wal", "-shm"] {
            let p = format!("{}{suffix}", t.path.display());
            let Ok(bytes) = std::fs::read(&p) else { continue };
            files += 1;
            // Every seed starts with "Qzxv": look at each place that prefix occurs, in any
            // case (the search index stores folded, lower-case text).
            for (i, _) in bytes
                .windows(4)
                .enumerate()
                .filter(|(_, w)| w.eq_ignore_ascii_case(b"qzxv"))
            {
                let found = bytes[i..(i + 12).min(bytes.len())].to_ascii_lowercase();
                assert!(
                    !seeds.iter().any(|s| s.to_ascii_lowercase().as_bytes() == found),
                    "a seeded string was found in plain text in {p} ({phase})"
                );
            }
        }
        files
    };
    assert_eq!(
        check("open"),
        3,
        "database, -wal and -shm are all checked while open"
    );
    drop(t.store);
    assert!(check("closed") >= 1);
}

#[test]
fn plaintext_header_option_opens_again_and_shows_only_the_sqlite_header() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ios.db");
    let key = StoreKey::random();
    let opts = StoreOptions {
        plaintext_header: true,
        ..Default::default()
    };
    let s = Store::open(&path, key.as_bytes(), opts.clone()).unwrap();
    s.add_partner(&outreach_core::sample::conex_directory()[1])
        .unwrap();
    drop(s);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..16], b"SQLite format 3\0");
    assert!(!bytes.windows(4).any(|w| w == b"Gent"));
    let s = Store::open(&path, key.as_bytes(), opts).unwrap();
    assert_eq!(s.partner_count().unwrap(), 1);
    drop(s);
    let e = Store::open(
        &path,
        StoreKey::random().as_bytes(),
        StoreOptions {
            plaintext_header: true,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(matches!(e, Error::WrongKey), "{e:?}");
}

/// Creates a database at schema `version` (the frozen SQL of steps 1 to `version`), holding one
/// directory section document written by the version-1 layout and an old read model version, as
/// a device that stopped upgrading at `version` would have.
fn make_old_database(path: &Path, key: &StoreKey, version: u32) -> outreach_core::model::Partner {
    let partner = outreach_core::sample::conex_directory()[5].clone();
    let device = outreach_core::model::DeviceId::random();
    let meta = outreach_core::doc::DocMeta::DirectorySection {
        region: partner.region,
    };
    let mut doc = outreach_core::doc::Document::create(meta, device).unwrap();
    doc.insert_partner(&partner).unwrap();
    doc.commit(chrono::Utc::now());
    let bytes = doc.automerge_mut().save();

    let c = rusqlite::Connection::open(path).unwrap();
    c.execute_batch(&format!(
        "PRAGMA key = \"x'{}'\"; {}",
        hex::encode(key.as_bytes()),
        outreach_core::store::CIPHER_SETTINGS
    ))
    .unwrap();
    outreach_core::migrate::build_at_version(&c, schema::STEPS, version).unwrap();
    c.execute(
        "INSERT INTO meta (key, value) VALUES ('device_id', ?1)",
        [device.to_string()],
    )
    .unwrap();
    c.execute(
        "INSERT INTO meta (key, value) VALUES ('read_model_version', '0')",
        [],
    )
    .unwrap();
    c.execute(
        "INSERT INTO documents (id, kind, region) VALUES (?1, 'directory_section', ?2)",
        rusqlite::params![doc.id().to_string(), partner.region.as_str()],
    )
    .unwrap();
    let doc_pk = c.last_insert_rowid();
    c.execute(
        "INSERT INTO chunks (next, snapshot, bytes) VALUES (NULL, 1, ?1)",
        rusqlite::params![bytes],
    )
    .unwrap();
    c.execute(
        "UPDATE documents SET first_chunk = ?1 WHERE pk = ?2",
        rusqlite::params![c.last_insert_rowid(), doc_pk],
    )
    .unwrap();
    partner
}

#[test]
fn every_older_schema_is_upgraded_and_its_documents_indexed() {
    for version in 1..=schema::END_VERSION {
        an_older_schema_is_upgraded_and_its_documents_indexed(version);
    }
}

fn an_older_schema_is_upgraded_and_its_documents_indexed(version: u32) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let key = StoreKey::random();
    let partner = make_old_database(&path, &key, version);

    let store = open_at(&path, &key);
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch(&format!(
        "PRAGMA key = \"x'{}'\"; {}",
        hex::encode(key.as_bytes()),
        outreach_core::store::CIPHER_SETTINGS
    ))
    .unwrap();
    let upgraded: u32 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(upgraded, schema::END_VERSION, "from {version}");
    let acks: i64 = c
        .query_row("SELECT count(*) FROM hub_acks", [], |r| r.get(0))
        .unwrap();
    assert_eq!(acks, 0, "the version-2 table exists");
    // The read model was rebuilt from the document.
    assert_eq!(store.partner(partner.id).unwrap(), partner);
    let q = outreach_core::store::PartnerQuery {
        text: Some("conex limb".into()),
        ..Default::default()
    };
    assert_eq!(store.search_partners(&q).unwrap()[0].id, partner.id);
}

#[test]
fn a_newer_schema_is_refused_and_left_untouched() {
    let t = open_new();
    drop(t.store);
    {
        let c = rusqlite::Connection::open(&t.path).unwrap();
        c.execute_batch(&format!(
            "PRAGMA key = \"x'{}'\"; {} PRAGMA user_version = 99;",
            hex::encode(t.key.as_bytes()),
            outreach_core::store::CIPHER_SETTINGS
        ))
        .unwrap();
    }
    let before = snapshot(&t.path);
    let e = Store::open(&t.path, t.key.as_bytes(), StoreOptions::default()).unwrap_err();
    assert!(
        matches!(
            e,
            Error::SchemaTooNew {
                found: 99,
                supported: schema::END_VERSION
            }
        ),
        "{e:?}"
    );
    assert_eq!(snapshot(&t.path), before);
}

#[test]
fn a_failed_creation_leaves_no_file_and_wipe_removes_everything() {
    let t = open_new();
    t.store
        .add_partner(&outreach_core::sample::conex_directory()[0])
        .unwrap();
    std::fs::create_dir_all(t.store.brochure_dir()).unwrap();
    std::fs::write(t.store.brochure_dir().join("x.pdf"), b"%PDF").unwrap();
    t.store.wipe().unwrap();
    for suffix in ["", "-wal", "-shm"] {
        assert!(!Path::new(&format!("{}{suffix}", t.path.display())).exists());
    }
    assert!(!t.store.brochure_dir().exists());
    assert!(matches!(t.store.partner_count(), Err(Error::Closed)));
    assert!(matches!(
        t.store.add_partner(&outreach_core::sample::conex_directory()[1]),
        Err(Error::Closed)
    ));
}
