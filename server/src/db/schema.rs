//! Schema migrations by `PRAGMA user_version`, in one IMMEDIATE transaction: a new database runs
//! every step from version 1, an older one is upgraded step by step, a newer one is refused
//! without being touched.

use outreach_core::model::DeviceId;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};

use crate::error::{Error, Result};

/// Newest schema version this code knows.
pub(crate) const END_VERSION: u32 = 1;

/// The frozen SQL of each schema step, in order.
pub(crate) const STEPS: &[&str] = &[include_str!("sql/v1.sql")];

/// Brings the database to [`END_VERSION`] and returns the hub's own id (the actor it would use
/// if it ever wrote a change; it never does), creating it for a new database.
pub(crate) fn migrate(conn: &mut Connection) -> Result<DeviceId> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: u32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > END_VERSION {
        return Err(Error::SchemaTooNew {
            found: version,
            supported: END_VERSION,
        });
    }
    upgrade_from(&tx, version)?;
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
    Ok(hub_id)
}

/// Runs the steps after `version`.
fn upgrade_from(tx: &Transaction<'_>, version: u32) -> Result<()> {
    for (i, sql) in STEPS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as u32)?;
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

    #[test]
    fn a_new_database_is_built_and_reopened_with_the_same_hub_id() {
        let mut conn = Connection::open_in_memory().unwrap();
        let id = migrate(&mut conn).unwrap();
        let version: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, END_VERSION);
        assert_eq!(migrate(&mut conn).unwrap(), id);
    }

    #[test]
    fn a_newer_database_is_refused_untouched() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", END_VERSION + 1).unwrap();
        assert!(matches!(
            migrate(&mut conn),
            Err(Error::SchemaTooNew { found, .. }) if found == END_VERSION + 1
        ));
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .unwrap();
        assert_eq!(tables, 0);
    }
}
