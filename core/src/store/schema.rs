//! The device store's schema: its frozen steps, run by the shared helper in [`crate::migrate`]
//! (`PRAGMA user_version`, one IMMEDIATE transaction: a new database is built by running every
//! step from version 1, an older one is upgraded step by step, a newer one is refused), and the
//! device's identity read or created in the same transaction. The read model has its own version: when it changes, it is rebuilt from the
//! documents, which are the source of truth.

use rusqlite::{Connection, Transaction};

use crate::error::{Error, Result};
use crate::migrate::{self, Migrations, Outcome};
use crate::model::DeviceId;

/// Newest schema version this code knows.
pub const END_VERSION: u32 = migrate::end_version(STEPS);

/// Version of the read model's content (how documents are indexed). Bumping it makes every
/// store rebuild its read model on open.
pub const READ_MODEL_VERSION: u32 = 3;

/// The frozen SQL of each schema step, in order: a new version is one more line here.
pub const STEPS: &[&str] = &[
    include_str!("sql/v1.sql"),
    include_str!("sql/v2.sql"),
    include_str!("sql/v3.sql"),
    include_str!("sql/v4.sql"),
    include_str!("sql/v5.sql"),
];

/// Meta key of the epoch of this device's actor.
pub(crate) const ACTOR_EPOCH: &str = "actor_epoch";

/// What [`migrate`] found and did.
pub(crate) struct Migrated {
    /// This device's id.
    pub device: DeviceId,
    /// The epoch of its actor (see `doc/actor.rs`).
    pub epoch: u32,
    /// Whether the read model must be rebuilt (new read model version).
    pub rebuild: bool,
}

/// Brings the database to [`END_VERSION`] and returns the device id, creating one for a new
/// store. Nothing is written when the database is newer than this code.
pub(crate) fn migrate(conn: &mut Connection) -> Result<Migrated> {
    migrate::migrate(conn, DeviceStore)
}

/// The device store's schema for [`migrate::migrate`]: no step needs work outside SQL; after
/// the steps, the device's identity is read or created.
struct DeviceStore;

impl Migrations for DeviceStore {
    const STEPS: &'static [&'static str] = STEPS;
    type Error = Error;
    type Output = Migrated;

    fn finish(self, tx: &Transaction<'_>, _: Outcome) -> Result<Migrated> {
        let device = match get_meta(tx, "device_id")? {
            Some(d) => d
                .parse()
                .map_err(|_| Error::Corrupt("the device id is unreadable"))?,
            None => {
                let d = DeviceId::random();
                set_meta(tx, "device_id", &d.to_string())?;
                set_meta(tx, "created_at", &chrono::Utc::now().to_rfc3339())?;
                d
            }
        };
        let epoch = match get_meta(tx, ACTOR_EPOCH)? {
            Some(e) => e
                .parse()
                .map_err(|_| Error::Corrupt("the actor epoch is unreadable"))?,
            None => 0,
        };
        let rm: Option<u32> = get_meta(tx, "read_model_version")?.and_then(|v| v.parse().ok());
        let rebuild = rm != Some(READ_MODEL_VERSION);
        if rebuild {
            set_meta(tx, "read_model_version", &READ_MODEL_VERSION.to_string())?;
        }
        Ok(Migrated {
            device,
            epoch,
            rebuild,
        })
    }
}

/// Reads a setting.
pub(crate) fn get_meta(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(migrate::get_meta(conn, key)?)
}

/// Writes a setting.
pub(crate) fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<()> {
    Ok(migrate::set_meta(conn, key, value)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tables each version added, with a representative row, in the shape of that version.
    const ROWS: &[(u32, &str, &str)] = &[
        (
            1,
            "documents",
            "INSERT INTO documents (id, kind, region, first_chunk) \
             VALUES ('doc-1', 'directory_section', 'limburg', 1)",
        ),
        (
            1,
            "chunks",
            "INSERT INTO chunks (pk, next, snapshot, bytes) VALUES (1, NULL, 1, x'85')",
        ),
        (
            1,
            "partners",
            "INSERT INTO partners (id, doc_id, region, name, status, summary) \
             VALUES ('p-1', 'doc-1', 'limburg', 'CAW Limburg', 'active', '{}')",
        ),
        (
            1,
            "visits",
            "INSERT INTO visits VALUES ('v-1', 'doc-2', 'dev', '2026-01', '2026-01-05', 1, 2, '[]')",
        ),
        (
            1,
            "brochures",
            "INSERT INTO brochures VALUES ('b-1', 0, '2026-01-01', '{}')",
        ),
        (
            2,
            "hub_acks",
            "INSERT INTO hub_acks (doc_id, heads) VALUES ('doc-1', x'01')",
        ),
        (
            2,
            "brochure_files",
            "INSERT INTO brochure_files (sha256, size, media_type, stored_at) \
             VALUES ('ab', 4, 'application/pdf', '2026-01-01')",
        ),
        (
            3,
            "blob_uploads",
            "INSERT INTO blob_uploads VALUES ('ab', '2026-01-02')",
        ),
        (
            3,
            "retired_docs",
            "INSERT INTO retired_docs VALUES ('doc-3', x'02', '2026-01-03')",
        ),
        (
            4,
            "partner_contacts",
            "INSERT INTO partner_contacts VALUES ('e:info@caw.be', 1)",
        ),
        (
            5,
            "excepted_days",
            "INSERT INTO excepted_days VALUES (1, 'l-1', 739609)",
        ),
        (
            5,
            "dated_hours",
            "INSERT INTO dated_hours VALUES (1, 739609, 600, 720)",
        ),
    ];

    /// A database at exactly `version`, as the code of that version left it, with a row in
    /// every table it has and the identity of its device.
    fn database_at(version: u32, device: DeviceId) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        migrate::build_at_version(&conn, STEPS, version).unwrap();
        set_meta(&conn, "device_id", &device.to_string()).unwrap();
        set_meta(&conn, ACTOR_EPOCH, "2").unwrap();
        set_meta(&conn, "read_model_version", &READ_MODEL_VERSION.to_string()).unwrap();
        for (_, _, sql) in ROWS.iter().filter(|(v, _, _)| *v <= version) {
            conn.execute(sql, []).unwrap();
        }
        conn
    }

    fn count(conn: &Connection, table: &str) -> i64 {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn every_frozen_version_is_upgraded_and_keeps_its_rows() {
        for version in 1..=END_VERSION {
            let device = DeviceId::random();
            let mut conn = database_at(version, device);
            let migrated = migrate(&mut conn).unwrap();
            assert_eq!(
                migrate::user_version(&conn).unwrap(),
                END_VERSION,
                "from {version}"
            );
            assert_eq!(migrated.device, device, "from {version}");
            assert_eq!(migrated.epoch, 2, "from {version}");
            assert!(!migrated.rebuild, "from {version}");
            for (added, table, _) in ROWS {
                let expected = i64::from(*added <= version);
                assert_eq!(count(&conn, table), expected, "{table} from {version}");
            }
            // What later steps added is usable.
            conn.execute("UPDATE brochure_files SET verified_mtime_ns = 1", [])
                .unwrap();
            conn.execute(
                "UPDATE hub_acks SET attested_heads = x'01', attestation = x'02'",
                [],
            )
            .unwrap();
        }
    }

    #[test]
    fn a_new_store_gets_a_device_and_keeps_it() {
        let mut conn = Connection::open_in_memory().unwrap();
        let first = migrate(&mut conn).unwrap();
        assert!(first.rebuild);
        assert_eq!(first.epoch, 0);
        assert_eq!(migrate::user_version(&conn).unwrap(), END_VERSION);
        let again = migrate(&mut conn).unwrap();
        assert_eq!(again.device, first.device);
        assert!(!again.rebuild);
    }

    #[test]
    fn a_failing_step_leaves_the_older_database_as_it_was() {
        let device = DeviceId::random();
        let mut conn = database_at(2, device);
        // A table of version 3 already there (another program's): step 3 fails.
        conn.execute_batch("CREATE TABLE retired_docs (doc_id TEXT PRIMARY KEY);")
            .unwrap();
        assert!(matches!(migrate(&mut conn), Err(Error::Storage(_))));
        assert_eq!(migrate::user_version(&conn).unwrap(), 2);
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'blob_uploads'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 0, "step 3's first table was rolled back");
        let columns: i64 = conn
            .query_row(
                "SELECT count(*) FROM pragma_table_info('brochure_files') \
                 WHERE name = 'verified_mtime_ns'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(columns, 0);
        for (added, table, _) in ROWS.iter().filter(|(v, _, _)| *v <= 2) {
            assert_eq!(count(&conn, table), 1, "{table} (version {added})");
        }
        assert_eq!(get_meta(&conn, "device_id").unwrap(), Some(device.to_string()));
    }

    #[test]
    fn a_newer_database_is_refused_without_a_write() {
        let mut conn = database_at(END_VERSION, DeviceId::random());
        conn.pragma_update(None, "user_version", END_VERSION + 1).unwrap();
        conn.execute("DELETE FROM meta WHERE key = 'read_model_version'", [])
            .unwrap();
        let e = migrate(&mut conn).err().unwrap();
        assert!(matches!(
            e,
            Error::SchemaTooNew { found, supported: END_VERSION } if found == END_VERSION + 1
        ));
        assert_eq!(get_meta(&conn, "read_model_version").unwrap(), None);
    }
}
