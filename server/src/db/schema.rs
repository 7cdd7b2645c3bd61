//! Schema migrations by `PRAGMA user_version`, in one IMMEDIATE transaction: a new database runs
//! every step from version 1, an older one is upgraded step by step, a newer one is refused
//! without being touched.
//!
//! Version 2 moves the seal key out of the `meta` table into its key file. A step may thus do
//! work outside SQL before its frozen SQL runs (see [`before_step`]).

use outreach_core::model::DeviceId;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};

use crate::error::{Error, Result};
use crate::seal::{self, KeyPlace};

/// Newest schema version this code knows.
pub(crate) const END_VERSION: u32 = 4;

/// The frozen SQL of each schema step, in order.
pub(crate) const STEPS: &[&str] = &[
    include_str!("sql/v1.sql"),
    include_str!("sql/v2.sql"),
    include_str!("sql/v3.sql"),
    include_str!("sql/v4.sql"),
];

/// What an upgrade did besides its SQL.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Upgrade {
    /// The seal key was found in the database and moved to its key file.
    pub moved_seal_key: bool,
}

/// Brings the database to [`END_VERSION`] and returns the hub's own id (the actor it would use
/// if it ever wrote a change; it never does), creating it for a new database. `seal_key` is
/// where a seal key found in an older database goes.
pub(crate) fn migrate(conn: &mut Connection, seal_key: &KeyPlace) -> Result<(DeviceId, Upgrade)> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: u32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > END_VERSION {
        return Err(Error::SchemaTooNew {
            found: version,
            supported: END_VERSION,
        });
    }
    let upgrade = upgrade_from(&tx, version, seal_key)?;
    let hub_id = match get_meta(&tx, "hub_id")? {
        Some(id) => id
            .parse()
            .map_err(|_| Error::Corrupt("the hub id is unreadable".into()))?,
        None => {
            let id = DeviceId::random();
            set_meta(&tx, "hub_id", &id.to_string())?;
            set_meta(&tx, "created_at", &chrono::Utc::now().to_rfc3339())?;
            id
        }
    };
    tx.commit()?;
    Ok((hub_id, upgrade))
}

/// Runs the steps after `version`.
fn upgrade_from(tx: &Transaction<'_>, version: u32, seal_key: &KeyPlace) -> Result<Upgrade> {
    let mut upgrade = Upgrade::default();
    for (i, sql) in STEPS.iter().enumerate().skip(version as usize) {
        let to = (i + 1) as u32;
        before_step(tx, to, seal_key, &mut upgrade)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", to)?;
    }
    Ok(upgrade)
}

/// What runs before the SQL of the step to version `to`.
fn before_step(tx: &Transaction<'_>, to: u32, seal_key: &KeyPlace, upgrade: &mut Upgrade) -> Result<()> {
    if to == 2 {
        upgrade.moved_seal_key = seal::take_key_out_of_database(tx, seal_key)?;
    }
    Ok(())
}

/// Reads a setting.
pub(crate) fn get_meta(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

/// Writes a setting.
pub(crate) fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
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
        conn.execute_batch(STEPS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        set_meta(&conn, "hub_id", &DeviceId::random().to_string()).unwrap();
        set_meta(&conn, "seal_key", key_hex).unwrap();
        conn
    }

    #[test]
    fn version_1_moves_its_seal_key_to_the_key_file() {
        let tmp = tempfile::tempdir().unwrap();
        let key_hex = "5e".repeat(32);
        let mut conn = version_1(&key_hex);
        let (_, upgrade) = migrate(&mut conn, &place(tmp.path())).unwrap();
        assert!(upgrade.moved_seal_key);
        assert_eq!(get_meta(&conn, "seal_key").unwrap(), None);
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
        assert!(get_meta(&other, "seal_key").unwrap().is_some());
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
