//! The hub database's schema: its frozen steps, run by the helper it shares with the device
//! store ([`outreach_core::migrate`]: `PRAGMA user_version`, one IMMEDIATE transaction, a newer
//! database refused without being touched), and the hub's identity read or created in the same
//! transaction.
//!
//! Version 2 moves the seal key out of the `meta` table into its key file. A step may thus do
//! work outside SQL before its frozen SQL runs (see [`HubSchema::before_step`]).

use outreach_core::migrate::{self, MigrationError, Migrations, Outcome};
use outreach_core::model::DeviceId;
use rusqlite::{Connection, Transaction};

use super::{params, Tx};
use crate::error::{Error, Result};
use crate::seal::{self, KeyPlace};

/// Newest schema version this code knows (the migration takes it from [`STEPS`]).
#[cfg(test)]
pub(crate) const END_VERSION: u32 = migrate::end_version(STEPS);

/// The frozen SQL of each schema step, in order: a new version is one more line here.
pub(crate) const STEPS: &[&str] = &[
    include_str!("sql/v1.sql"),
    include_str!("sql/v2.sql"),
    include_str!("sql/v3.sql"),
    include_str!("sql/v4.sql"),
    include_str!("sql/v5.sql"),
    include_str!("sql/v6.sql"),
    include_str!("sql/v7.sql"),
    include_str!("sql/v8.sql"),
    include_str!("sql/v9.sql"),
];

/// What an upgrade did besides its SQL.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Upgrade {
    /// The seal key was found in the database and moved to its key file.
    pub moved_seal_key: bool,
}

/// Brings the database to the last version of [`STEPS`] and returns the hub's own id (the actor it would use
/// if it ever wrote a change; it never does), creating it for a new database. `seal_key` is
/// where a seal key found in an older database goes.
pub(crate) fn migrate(conn: &mut Connection, seal_key: &KeyPlace) -> Result<(DeviceId, Upgrade)> {
    let schema = HubSchema {
        seal_key,
        upgrade: Upgrade::default(),
    };
    migrate::migrate(conn, schema)
}

/// The hub's schema for [`migrate::migrate`], with where a seal key found in the database goes.
struct HubSchema<'a> {
    seal_key: &'a KeyPlace,
    upgrade: Upgrade,
}

impl Migrations for HubSchema<'_> {
    const STEPS: &'static [&'static str] = STEPS;
    type Error = Error;
    type Output = (DeviceId, Upgrade);

    /// Before version 2's SQL deletes the seal key from `meta`, the key goes to its key file.
    fn before_step(&mut self, tx: &Transaction<'_>, to: u32) -> Result<()> {
        if to == 2 {
            self.upgrade.moved_seal_key = seal::take_key_out_of_database(tx, self.seal_key)?;
        }
        Ok(())
    }

    fn finish(self, tx: &Transaction<'_>, _: Outcome) -> Result<(DeviceId, Upgrade)> {
        Ok((hub_id(&Tx::sqlite(tx))?, self.upgrade))
    }
}

impl From<MigrationError> for Error {
    /// A step's SQL failing is a database error, as it was before the steps were shared.
    fn from(e: MigrationError) -> Error {
        match e {
            MigrationError::SchemaTooNew { found, supported } => Error::SchemaTooNew { found, supported },
            MigrationError::Step { source, .. } | MigrationError::Sql(source) => Error::Database(source),
        }
    }
}

/// The hub's own id, read, or made with its creation time for a new database (either backend,
/// in the migration's transaction).
pub(crate) fn hub_id(tx: &Tx<'_>) -> Result<DeviceId> {
    match get_meta(tx, "hub_id")? {
        Some(id) => id
            .parse()
            .map_err(|_| Error::Corrupt("the hub id is unreadable".into())),
        None => {
            let id = DeviceId::random();
            set_meta(tx, "hub_id", &id.to_string())?;
            set_meta(tx, "created_at", &chrono::Utc::now().to_rfc3339())?;
            Ok(id)
        }
    }
}

/// Reads a setting.
pub(crate) fn get_meta(conn: &Tx<'_>, key: &str) -> Result<Option<String>> {
    conn.query_opt("SELECT value FROM meta WHERE key = ?1", params![key])?
        .map(|r| r.get(0))
        .transpose()
}

/// Writes a setting.
pub(crate) fn set_meta(conn: &Tx<'_>, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::seal::SealKeySource;

    fn place(dir: &std::path::Path) -> KeyPlace {
        KeyPlace::resolve(&SealKeySource::DataDir, dir)
    }

    #[test]
    fn a_new_database_is_built_and_reopened_with_the_same_hub_id() {
        let tmp = tempfile::tempdir().unwrap();
        let mut conn = Connection::open_in_memory().unwrap();
        let (id, upgrade) = migrate(&mut conn, &place(tmp.path())).unwrap();
        assert!(!upgrade.moved_seal_key);
        let version: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, END_VERSION);
        assert_eq!(migrate(&mut conn, &place(tmp.path())).unwrap().0, id);
    }

    /// A version 1 database as the hub of that version left it: the seal key in `meta`.
    fn version_1(key_hex: &str) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        migrate::build_at_version(&conn, STEPS, 1).unwrap();
        set_meta(&Tx::sqlite(&conn), "hub_id", &DeviceId::random().to_string()).unwrap();
        set_meta(&Tx::sqlite(&conn), "seal_key", key_hex).unwrap();
        conn
    }

    #[test]
    fn version_1_moves_its_seal_key_to_the_key_file() {
        let tmp = tempfile::tempdir().unwrap();
        let key_hex = "5e".repeat(32);
        let mut conn = version_1(&key_hex);
        let (_, upgrade) = migrate(&mut conn, &place(tmp.path())).unwrap();
        assert!(upgrade.moved_seal_key);
        assert_eq!(get_meta(&Tx::sqlite(&conn), "seal_key").unwrap(), None);
        let file = std::fs::read_to_string(tmp.path().join(crate::seal::SEAL_KEY_FILE)).unwrap();
        assert_eq!(file.trim(), key_hex);
        let version: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, END_VERSION);

        // The same old database again (a restored backup) with the key file in place: it moves
        // out again; a different key in the file is refused and the database left at version 1.
        let mut again = version_1(&key_hex);
        assert!(migrate(&mut again, &place(tmp.path())).unwrap().1.moved_seal_key);
        let mut other = version_1(&"77".repeat(32));
        assert!(matches!(
            migrate(&mut other, &place(tmp.path())),
            Err(Error::SealKeyConflict(_))
        ));
        let version: u32 = other.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, 1);
        assert!(get_meta(&Tx::sqlite(&other), "seal_key").unwrap().is_some());
    }

    /// Tables of version 1 with a representative row each; later versions only add columns.
    const ROWS: &[(&str, &str)] = &[
        (
            "organisations",
            "INSERT INTO organisations VALUES ('org-1', 'CAW Limburg', 1)",
        ),
        (
            "devices",
            "INSERT INTO devices (id, org_id, role, name, token_hash, enrolled_at) \
             VALUES ('dev-1', 'org-1', 'fieldworker', 'phone', x'01', 2)",
        ),
        (
            "enrollment_codes",
            "INSERT INTO enrollment_codes (code_hash, org_id, role, created_at, expires_at) \
             VALUES (x'02', 'org-1', 'coordinator', 3, 4)",
        ),
        (
            "documents",
            "INSERT INTO documents VALUES (1, 'doc-1', 'visit_log', NULL, 'dev-1', 'org-1', \
             '2026-01', x'03', 1, 10, 0, 0, 5, 6)",
        ),
        ("chunks", "INSERT INTO chunks VALUES (1, 0, 1, x'85')"),
    ];

    fn count(conn: &Connection, table: &str) -> i64 {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn every_frozen_version_is_upgraded_and_keeps_its_rows() {
        for version in 1..=END_VERSION {
            let tmp = tempfile::tempdir().unwrap();
            let mut conn = Connection::open_in_memory().unwrap();
            migrate::build_at_version(&conn, STEPS, version).unwrap();
            let hub_id = DeviceId::random();
            set_meta(&Tx::sqlite(&conn), "hub_id", &hub_id.to_string()).unwrap();
            let key_hex = "a1".repeat(32);
            if version < 2 {
                set_meta(&Tx::sqlite(&conn), "seal_key", &key_hex).unwrap();
            }
            for (_, sql) in ROWS {
                conn.execute(sql, []).unwrap();
            }

            let (id, upgrade) = migrate(&mut conn, &place(tmp.path())).unwrap();
            assert_eq!(
                migrate::user_version(&conn).unwrap(),
                END_VERSION,
                "from {version}"
            );
            assert_eq!(id, hub_id, "from {version}");
            assert_eq!(upgrade.moved_seal_key, version < 2, "from {version}");
            assert_eq!(
                get_meta(&Tx::sqlite(&conn), "seal_key").unwrap(),
                None,
                "from {version}"
            );
            for (table, _) in ROWS {
                assert_eq!(count(&conn, table), 1, "{table} from {version}");
            }
            // What version 3 added is usable on the old rows.
            conn.execute("UPDATE devices SET retired_at = 7", []).unwrap();
            conn.execute(
                "UPDATE enrollment_codes SET label = 'tablet', cancelled_at = 8",
                [],
            )
            .unwrap();
            // And what version 4 added: a device's last answered state.
            conn.execute("INSERT INTO device_states VALUES ('dev-1', x'04', x'', 9)", [])
                .unwrap();
        }
    }

    #[test]
    fn a_failing_step_leaves_the_older_database_as_it_was() {
        let tmp = tempfile::tempdir().unwrap();
        let mut conn = Connection::open_in_memory().unwrap();
        migrate::build_at_version(&conn, STEPS, 2).unwrap();
        for (_, sql) in ROWS {
            conn.execute(sql, []).unwrap();
        }
        // A column of version 3 already there: step 3 fails at its first statement.
        conn.execute_batch("ALTER TABLE devices ADD COLUMN retired_at INTEGER;")
            .unwrap();
        assert!(matches!(
            migrate(&mut conn, &place(tmp.path())),
            Err(Error::Database(_))
        ));
        assert_eq!(migrate::user_version(&conn).unwrap(), 2);
        let columns: i64 = conn
            .query_row(
                "SELECT count(*) FROM pragma_table_info('enrollment_codes') WHERE name = 'label'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(columns, 0);
        assert_eq!(
            get_meta(&Tx::sqlite(&conn), "hub_id").unwrap(),
            None,
            "no identity was created"
        );
        for (table, _) in ROWS {
            assert_eq!(count(&conn, table), 1, "{table}");
        }
    }

    #[test]
    fn a_newer_database_file_is_refused_byte_for_byte_untouched() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("hub.db");
        {
            let conn = Connection::open(&path).unwrap();
            migrate::build_at_version(&conn, STEPS, END_VERSION).unwrap();
            for (_, sql) in ROWS {
                conn.execute(sql, []).unwrap();
            }
            conn.pragma_update(None, "user_version", END_VERSION + 1).unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        let mut conn = Connection::open(&path).unwrap();
        assert!(matches!(
            migrate(&mut conn, &place(tmp.path())),
            Err(Error::SchemaTooNew { found, supported: END_VERSION }) if found == END_VERSION + 1
        ));
        drop(conn);
        assert_eq!(std::fs::read(&path).unwrap(), before);
        assert!(!tmp.path().join(crate::seal::SEAL_KEY_FILE).exists());
    }

    #[test]
    fn a_newer_database_is_refused_untouched() {
        let tmp = tempfile::tempdir().unwrap();
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", END_VERSION + 1).unwrap();
        assert!(matches!(
            migrate(&mut conn, &place(tmp.path())),
            Err(Error::SchemaTooNew { found, .. }) if found == END_VERSION + 1
        ));
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .unwrap();
        assert_eq!(tables, 0);
    }
}
